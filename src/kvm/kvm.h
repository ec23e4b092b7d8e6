/* kvm.h: /dev/kvm and the VM file descriptor: capabilities, irqchip, PIT, memory slots. */
#ifndef BULWARK_KVM_H
#define BULWARK_KVM_H

#include "kvm/memory.h"
#include "util/error.h"

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>

/* Addresses KVM needs for its own use on Intel; kept out of RAM and the MMIO windows. */
#define KVM_TSS_ADDR 0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define KVM_IOAPIC_ADDR 0xfec00000ULL
#define KVM_LAPIC_ADDR 0xfee00000ULL

struct kvm {
	int dev_fd; /* /dev/kvm */
	int vm_fd;
	size_t run_size;	      /* bytes of each vCPU's shared kvm_run area */
	unsigned max_vcpus;	      /* KVM_CAP_MAX_VCPUS */
	bool tsc_deadline;	      /* KVM_CAP_TSC_DEADLINE_TIMER */
	struct kvm_cpuid2 *supported; /* KVM_GET_SUPPORTED_CPUID */
};

/*
 * Opens DEV (normally "/dev/kvm"), requires API version 12 and every capability bulwark uses.
 * On failure returns -errno (kvm_device_fix() picks the fix by it) with ERR (BW_ERR_HOST) saying
 * "DEV: <the missing piece>: <errno's text>".
 */
int kvm_open(struct kvm *k, const char *dev, struct bw_error *err);

/* How many capabilities kvm_open() requires; how many of them DEV_FD lacks, their KVM_CAP_*
 * names joined by ", " into BUF. */
unsigned kvm_required_caps(void);
unsigned kvm_missing_caps(int dev_fd, char *buf, size_t size);

/* KVM's vCPU limit per VM (KVM_CAP_MAX_VCPUS, else KVM_CAP_NR_VCPUS, else 4). */
unsigned kvm_max_vcpus(int dev_fd);

/* Creates the VM: in-kernel IOAPIC + LAPIC, PIT, and RAM from M as memory slots. Returns 0, or
 * -errno with ERR (BW_ERR_RUNTIME) naming the ioctl that failed. */
int kvm_create_vm(struct kvm *k, const struct guest_mem *m, struct bw_error *err);

/* Raises or lowers an interrupt line on the in-kernel irqchip. */
int kvm_irq_line(const struct kvm *k, unsigned gsi, int level);

/* A write of LEN bytes equal to DATAMATCH at guest-physical ADDR signals eventfd FD inside KVM,
 * without an exit to userspace. Returns 0 or -errno. */
int kvm_add_ioeventfd(const struct kvm *k, uint64_t addr, uint32_t len, uint64_t datamatch, int fd);

/* Each write to eventfd FD pulses GSI on the in-kernel irqchip (an edge). Returns 0 or -errno. */
int kvm_add_irqfd(const struct kvm *k, unsigned gsi, int fd);

void kvm_close(struct kvm *k);

#endif
