/* vcpu.h: one virtual CPU: its creation, its thread and its exit dispatch. */
#ifndef BULWARK_VCPU_H
#define BULWARK_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sandbox_fds;

/* Why a vCPU asks its VM to stop. */
enum vcpu_stop {
	VCPU_STOP_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN */
	VCPU_STOP_POWEROFF,	/* a system event: shutdown */
	VCPU_STOP_RESET,	/* a system event: reset */
	VCPU_STOP_ERROR,	/* an exit or KVM_RUN error the vCPU cannot handle */
};

/*
 * What a vCPU needs of the VM it belongs to, and all it sees of it: the VM fd and kvm_run size
 * (struct kvm), where its exits go, and the VM's stop request. The callbacks run on the vCPU's
 * thread, several vCPUs at once, with OPAQUE as their first argument; the VM fills this in, so
 * the vCPU knows neither buses nor devices nor why the VM keeps running.
 */
struct vcpu_host {
	int vm_fd;
	size_t run_size; /* bytes of the kvm_run area (KVM_GET_VCPU_MMAP_SIZE) */
	void *opaque;
	/* One access of LEN (1, 2 or 4; 1 to 8 for MMIO) bytes at a port or a guest-physical
	 * address: DATA holds the value written, or receives the value read. */
	void (*pio)(void *opaque, uint16_t port, uint8_t *data, uint32_t len, bool is_write);
	void (*mmio)(void *opaque, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);
	/* Asks the VM to stop; the vCPU then ends its loop without waiting for it. */
	void (*stop)(void *opaque, enum vcpu_stop why);
	/* True once the VM was asked to stop, by anyone: the vCPU leaves its loop. */
	bool (*stopping)(void *opaque);
};

struct vcpu {
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	struct vcpu_host host; /* a copy: each vCPU holds what it needs */
};

/*
 * Creates vCPU ID of HOST's VM with the CPUID table CPUID and the local APIC's LINT pins wired
 * as on a PC. Its registers stay at reset: the caller sets the boot vCPU's. On failure returns
 * -errno with WHY saying which step failed; vcpu_destroy() releases what was made either way.
 */
int vcpu_create(struct vcpu *v, const struct vcpu_host *host, unsigned id,
		const struct kvm_cpuid2 *cpuid, const char **why);

/* Starts the vCPU's thread, which runs until the VM is asked to stop, its reads and writes pinned
 * to FDS (the VM's eventfds, the devices'). */
int vcpu_start(struct vcpu *v, const struct sandbox_fds *fds);

/* The thread's loop, on the calling thread: KVM_RUN and exits until the host is stopping or an
 * error, which it reports to the host as VCPU_STOP_ERROR. */
void vcpu_run(struct vcpu *v);

/* Makes a running vCPU leave KVM_RUN so it sees the stop request. */
void vcpu_kick(struct vcpu *v);

void vcpu_join(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);

/* Installs the signal handler used by vcpu_kick; call once before any vCPU starts. */
int vcpu_init_signals(void);

#endif
