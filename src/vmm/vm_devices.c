/* vm_devices.c: the VM's virtio devices: one table from the config, wired to KVM and ACPI. */
#include "vmm/vm_devices.h"

#include "devices/virtio.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "net/net_mark.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * One edge-triggered interrupt per device: IOAPIC pins 16-23 first, which no ISA device can claim,
 * then the ISA lines nothing here raises. Left alone: 0 and 2 (the PIT), 1 (the keyboard line;
 * our i8042 is only a reset stub and raises nothing, so 12 is free too), 3 and 4 (the serial
 * lines, COM1 being acpi.c's serial_irq), 8 (the RTC's) and 9 (the SCI's by convention, which
 * a hardware-reduced FADT has none of: vm.h's VM_POWER_BUTTON_GSI, the power button's GED).
 */
static const uint8_t virtio_gsis[] = {16, 17, 18, 19, 20, 21, 22, 23, 5,
				      6,  7,  10, 11, 12, 13, 14, 15};

_Static_assert(sizeof(virtio_gsis) >= VM_VIRTIO_MAX, "one interrupt per device");
_Static_assert(VM_VIRTIO_MAX <= ACPI_MAX_MMIO_DEVS, "every device fits the DSDT");
_Static_assert(VM_VIRTIO_BASE + VM_VIRTIO_MAX * VM_VIRTIO_STRIDE <= 0xfec00000ULL,
	       "windows stay below the IOAPIC");
_Static_assert(VIRTIO_MMIO_WINDOW <= VM_VIRTIO_STRIDE, "windows do not overlap");

/* Adds a device to the table at the next window and interrupt. */
static void add(struct vm_devices *vd, const struct virtio_dev_ops *ops, void *dev,
		const char *kind, int index)
{
	struct vm_virtio *d = &vd->d[vd->n];

	d->ops = ops;
	d->dev = dev;
	if (index < 0)
		snprintf(d->name, sizeof(d->name), "%s", kind);
	else
		snprintf(d->name, sizeof(d->name), "%s%d", kind, index);
	d->base = VM_VIRTIO_BASE + vd->n * VM_VIRTIO_STRIDE;
	d->gsi = virtio_gsis[vd->n];
	vd->n++;
}

/* The config's command line plus " virtio_mmio.device=<size>@<base>:<gsi>" per device, for
 * kernels built with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES (Debian's is not: it reads the DSDT). */
static int build_cmdline(struct vm_devices *vd, const struct vm_config *cfg, size_t cmdline_max,
			 struct bw_error *err)
{
	size_t len = (size_t)snprintf(vd->cmdline, sizeof(vd->cmdline), "%s", cfg->cmdline);
	size_t limit = cmdline_max < CONFIG_CMDLINE_MAX ? cmdline_max : CONFIG_CMDLINE_MAX;

	for (unsigned i = 0; cfg->virtio_cmdline && i < vd->n && len < sizeof(vd->cmdline); i++)
		len += (size_t)snprintf(vd->cmdline + len, sizeof(vd->cmdline) - len,
					" virtio_mmio.device=0x%x@0x%llx:%u", VIRTIO_MMIO_WINDOW,
					(unsigned long long)vd->d[i].base, vd->d[i].gsi);
	if (len > limit) {
		config_errorf(err, cfg->path, cfg->loc_virtio_cmdline, "virtio_cmdline",
			      "with a virtio_mmio.device= entry for each of the %u devices the "
			      "command line would be %zu bytes; the kernel takes %zu",
			      vd->n, len, limit);
		return -1;
	}
	return 0;
}

int vm_devices_open(struct vm_devices *vd, const struct vm_config *cfg,
		    const struct policy_network *net, size_t cmdline_max, struct bw_error *err)
{
	char mark[NL_ALIAS_MAX + 1] = "", why[256];

	memset(vd, 0, sizeof(*vd));
	for (unsigned i = 0; i < cfg->ndisks && i < CONFIG_DISKS_MAX; i++) {
		struct virtio_blk *b = virtio_blk_open(&cfg->disks[i], err);

		if (!b) {
			config_disk_error(cfg, i, err);
			return -1;
		}
		add(vd, &virtio_blk_ops, b, "blk", (int)i);
	}
	/* A config whose path makes no mark has no tap marked for it: any mark is another's. */
	if (cfg->nnics && net_mark(cfg, mark, why, sizeof(why)))
		mark[0] = '\0';
	for (unsigned i = 0; i < cfg->nnics && i < CONFIG_NICS_MAX; i++) {
		struct virtio_net *n = virtio_net_open(&cfg->nics[i], i, cfg->name, mark, net, err);

		if (!n) {
			config_nic_error(cfg, i, err);
			return -1;
		}
		add(vd, &virtio_net_ops, n, "net", (int)i);
	}
	if (cfg->rng) {
		struct virtio_rng *r = virtio_rng_new();

		if (!r)
			return bw_errorf(err, BW_ERR_RUNTIME, "rng: out of memory");
		add(vd, &virtio_rng_ops, r, "rng", -1);
	}
	return build_cmdline(vd, cfg, cmdline_max, err);
}

static int attach_one(struct vm_virtio *d, const struct kvm *kvm, struct bus *mmio,
		      const struct guest_mem *mem, const char **why)
{
	int r;

	d->attached = true; /* from here on d->t owns the device, whatever happens */
	r = virtio_mmio_init(&d->t, d->ops, d->dev, d->name, mem, d->base, d->gsi);
	if (r) {
		*why = "cannot set up the transport";
		return r;
	}
	r = bus_register(mmio, d->base, VIRTIO_MMIO_WINDOW, virtio_mmio_io, &d->t, d->name);
	if (r) {
		*why = "cannot claim its MMIO window";
		return r;
	}
	/* QueueNotify with the queue's index wakes the device thread inside KVM: no exit to us. */
	for (unsigned q = 0; q < d->ops->nqueues; q++) {
		r = kvm_add_ioeventfd(kvm, d->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, q,
				      d->t.notify_fd[q]);
		if (r) {
			*why = "KVM_IOEVENTFD failed";
			return r;
		}
	}
	r = kvm_add_irqfd(kvm, d->gsi, d->t.irq_fd);
	if (r)
		*why = "KVM_IRQFD failed";
	return r;
}

int vm_devices_attach(struct vm_devices *vd, const struct kvm *kvm, struct bus *mmio,
		      const struct guest_mem *mem, struct bw_error *err)
{
	for (unsigned i = 0; i < vd->n; i++) {
		const char *why = "";
		int r = attach_one(&vd->d[i], kvm, mmio, mem, &why);

		if (r) {
			bw_errorf(err, BW_ERR_RUNTIME, "%s: %s: %s", vd->d[i].name, why,
				  strerror(-r));
			return r;
		}
	}
	return 0;
}

void vm_devices_describe(const struct vm_devices *vd, struct acpi_platform *p)
{
	for (unsigned i = 0; i < vd->n && p->n_mmio < ACPI_MAX_MMIO_DEVS; i++)
		p->mmio[p->n_mmio++] = (struct acpi_mmio_dev){
		    .base = vd->d[i].base, .size = VIRTIO_MMIO_WINDOW, .gsi = vd->d[i].gsi};
}

void vm_devices_fds(const struct vm_devices *vd, struct sandbox_fds *fds)
{
	for (unsigned i = 0; i < vd->n; i++)
		virtio_mmio_fds(&vd->d[i].t, fds);
}

int vm_devices_start(struct vm_devices *vd)
{
	for (unsigned i = 0; i < vd->n; i++) {
		int r = virtio_mmio_start(&vd->d[i].t);

		if (r) {
			log_err("%s: cannot start its thread: %s", vd->d[i].name, strerror(-r));
			return r;
		}
	}
	return 0;
}

void vm_devices_stop(struct vm_devices *vd)
{
	for (unsigned i = 0; i < vd->n; i++)
		if (vd->d[i].attached)
			virtio_mmio_stop(&vd->d[i].t);
}

void vm_devices_destroy(struct vm_devices *vd)
{
	for (unsigned i = 0; i < vd->n; i++) {
		struct vm_virtio *d = &vd->d[i];

		if (d->attached)
			virtio_mmio_destroy(&d->t);
		else if (d->dev)
			d->ops->destroy(d->dev);
		d->dev = NULL;
		d->attached = false;
	}
	vd->n = 0;
}
