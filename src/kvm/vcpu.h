/* vcpu.h: one virtual CPU: its registers at reset, its thread and its exit dispatch. */
#ifndef BULWARK_VCPU_H
#define BULWARK_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct sandbox_fds;

struct vcpu {
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	struct vm *vm;
};

/* Creates vCPU ID with its CPUID; the boot vCPU (0) also gets the 64-bit entry state. */
int vcpu_create(struct vcpu *v, struct vm *vm, unsigned id, uint64_t entry, uint64_t zero_page,
		const char **why);

/* Starts the vCPU's thread, which runs until the VM is asked to stop, its reads and writes pinned
 * to FDS (the VM's eventfds, the devices'). */
int vcpu_start(struct vcpu *v, const struct sandbox_fds *fds);

/* Makes a running vCPU leave KVM_RUN so it sees the stop request. */
void vcpu_kick(struct vcpu *v);

void vcpu_join(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);

/* Installs the signal handler used by vcpu_kick; call once before any vCPU starts. */
int vcpu_init_signals(void);

#endif
