/* vm_devices.h: the VM's virtio devices: one table from the config, wired to KVM and ACPI. */
#ifndef BULWARK_VM_DEVICES_H
#define BULWARK_VM_DEVICES_H

#include "config/config.h"
#include "devices/bus.h"
#include "devices/virtio_mmio.h"
#include "kvm/kvm.h"
#include "policy/policy_network.h"
#include "x86/acpi.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Windows sit in the 32-bit hole, one page apart, below KVM's TSS and the IOAPIC. */
#define VM_VIRTIO_BASE 0xd0000000ULL
#define VM_VIRTIO_STRIDE 0x1000ULL
#define VM_VIRTIO_MAX (CONFIG_DISKS_MAX + CONFIG_NICS_MAX + 1)

struct vm_virtio {
	const struct virtio_dev_ops *ops;
	void *dev;     /* owned here until attached, then by t */
	bool attached; /* virtio_mmio_init() ran: t owns dev */
	char name[16]; /* "blk0", "net1", "rng" */
	uint64_t base;
	unsigned gsi;
	struct virtio_mmio t;
};

struct vm_devices {
	unsigned n;
	struct vm_virtio d[VM_VIRTIO_MAX];
	/* The guest's command line: the config's, plus virtio_mmio.device= entries if asked. */
	char cmdline[CONFIG_CMDLINE_MAX + 1];
};

/*
 * Opens every device CFG names (images, taps, the entropy source) and places each at its window
 * and interrupt; runs before /dev/kvm is touched. NET: the policy's network section, whose
 * segments the NICs' frame filters enforce (NULL: none). CMDLINE_MAX is the kernel's limit.
 * Returns 0, or -1 with ERR filled: a config refusal (FILE:LINE:COLUMN) or a runtime failure.
 * VD holds what was opened either way: vm_devices_destroy() frees it.
 */
int vm_devices_open(struct vm_devices *vd, const struct vm_config *cfg,
		    const struct policy_network *net, size_t cmdline_max, struct bw_error *err);

/* Puts each device's window on MMIO, its QueueNotify on ioeventfds and its interrupt on an irqfd.
 * Returns 0, or -errno with ERR naming the device and the step. */
int vm_devices_attach(struct vm_devices *vd, const struct kvm *kvm, struct bus *mmio,
		      const struct guest_mem *mem, struct bw_error *err);

/* Adds the devices to the ACPI DSDT description in P. */
void vm_devices_describe(const struct vm_devices *vd, struct acpi_platform *p);

/* Adds every device's fds (eventfds, images, taps, timers) to FDS: a vCPU's or the vmm thread's
 * filter pins its calls to the ones its list names. */
void vm_devices_fds(const struct vm_devices *vd, struct sandbox_fds *fds);

/* Starts every device thread. Returns 0 or -errno (the ones started keep running). */
int vm_devices_start(struct vm_devices *vd);

/* Stops every device thread; call after the vCPUs are joined. */
void vm_devices_stop(struct vm_devices *vd);

void vm_devices_destroy(struct vm_devices *vd);

#endif
