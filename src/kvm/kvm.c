/* kvm.c: /dev/kvm and the VM file descriptor: capabilities, irqchip, PIT, memory slots. */
#include "kvm/kvm.h"
#include "util/bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Every capability bulwark relies on, with the name an error message gives it. */
#define CAP(c, what)                                                                               \
	{                                                                                          \
		c, #c, "KVM lacks " #c what                                                        \
	}
static const struct {
	int cap;
	const char *name, *why;
} required_caps[] = {
    CAP(KVM_CAP_IRQCHIP, " (in-kernel IOAPIC and LAPIC)"),
    CAP(KVM_CAP_USER_MEMORY, ""),
    CAP(KVM_CAP_PIT2, ""),
    CAP(KVM_CAP_EXT_CPUID, ""),
    CAP(KVM_CAP_SET_TSS_ADDR, ""),
    CAP(KVM_CAP_SET_IDENTITY_MAP_ADDR, ""),
    CAP(KVM_CAP_IMMEDIATE_EXIT, ""),
    CAP(KVM_CAP_IRQ_ROUTING, ""),
    CAP(KVM_CAP_IOEVENTFD, ""),
    CAP(KVM_CAP_IRQFD, ""),
};
#undef CAP

unsigned kvm_required_caps(void)
{
	return ARRAY_SIZE(required_caps);
}

/* The index of the first required capability from FROM on that DEV_FD lacks, or the table's
 * size when it has them all. */
static size_t next_missing_cap(int dev_fd, size_t from)
{
	size_t i = from;

	while (i < kvm_required_caps() &&
	       ioctl(dev_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) > 0)
		i++;
	return i;
}

unsigned kvm_missing_caps(int dev_fd, char *buf, size_t size)
{
	size_t len = 0;
	unsigned n = 0;

	buf[0] = '\0';
	for (size_t i = next_missing_cap(dev_fd, 0); i < kvm_required_caps();
	     i = next_missing_cap(dev_fd, i + 1)) {
		n++;
		if (len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
						required_caps[i].name);
	}
	return n;
}

unsigned kvm_max_vcpus(int dev_fd)
{
	int r = ioctl(dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (r <= 0)
		r = ioctl(dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	return r > 0 ? (unsigned)r : 4; /* KVM's documented floor */
}

/* Grows the buffer until KVM_GET_SUPPORTED_CPUID stops answering E2BIG. */
static struct kvm_cpuid2 *get_supported_cpuid(int dev_fd)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(dev_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

int kvm_open(struct kvm *k, const char *dev, struct bw_error *err)
{
	const char *why;
	int r;

	memset(k, 0, sizeof(*k));
	k->vm_fd = -1;
	k->dev_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (k->dev_fd < 0) {
		r = -errno;
		bw_errorf(err, BW_ERR_HOST, "%s: cannot open the KVM device: %s", dev,
			  strerror(-r));
		return r;
	}
	if (ioctl(k->dev_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		why = "KVM API version is not 12";
		goto fail;
	}
	r = (int)next_missing_cap(k->dev_fd, 0);
	if ((size_t)r < kvm_required_caps()) {
		why = required_caps[r].why;
		goto fail;
	}
	k->max_vcpus = kvm_max_vcpus(k->dev_fd);
	k->tsc_deadline = ioctl(k->dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	r = ioctl(k->dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0) {
		why = "KVM_GET_VCPU_MMAP_SIZE failed";
		goto fail;
	}
	k->run_size = (size_t)r;
	k->supported = get_supported_cpuid(k->dev_fd);
	if (!k->supported) {
		why = "KVM_GET_SUPPORTED_CPUID failed";
		goto fail;
	}
	return 0;
fail:
	close(k->dev_fd);
	k->dev_fd = -1;
	bw_errorf(err, BW_ERR_HOST, "%s: %s: %s", dev, why, strerror(ENOTSUP));
	return -ENOTSUP;
}

static int set_memslot(struct kvm *k, unsigned slot, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
	    .slot = slot,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)host,
	};
	return ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) ? -errno : 0;
}

/* Fills ERR for the step WHAT, failed with errno E; returns -E. */
static int step_failed(struct bw_error *err, const char *what, int e)
{
	bw_errorf(err, BW_ERR_RUNTIME, "%s: %s", what, strerror(e));
	return -e;
}

int kvm_create_vm(struct kvm *k, const struct guest_mem *m, struct bw_error *err)
{
	struct kvm_pit_config pit = {.flags = 0};
	int r;

	k->vm_fd = ioctl(k->dev_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0)
		return step_failed(err, "KVM_CREATE_VM failed", errno);
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) ||
	    ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){KVM_IDENTITY_MAP_ADDR}))
		return step_failed(err, "KVM_SET_TSS_ADDR or KVM_SET_IDENTITY_MAP_ADDR failed",
				   errno);
	if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0))
		return step_failed(err, "KVM_CREATE_IRQCHIP failed", errno);
	if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit))
		return step_failed(err, "KVM_CREATE_PIT2 failed", errno);
	r = set_memslot(k, 0, 0, m->low_size, m->host);
	if (!r && m->size > m->low_size)
		r = set_memslot(k, 1, GMEM_HIGH_START, m->size - m->low_size,
				m->host + m->low_size);
	if (r)
		return step_failed(err, "KVM_SET_USER_MEMORY_REGION failed", -r);
	return 0;
}

int kvm_irq_line(const struct kvm *k, unsigned gsi, int level)
{
	struct kvm_irq_level irq = {.irq = gsi, .level = (uint32_t)level};

	return ioctl(k->vm_fd, KVM_IRQ_LINE, &irq) ? -errno : 0;
}

int kvm_add_ioeventfd(const struct kvm *k, uint64_t addr, uint32_t len, uint64_t datamatch, int fd)
{
	struct kvm_ioeventfd io = {
	    .datamatch = datamatch,
	    .addr = addr,
	    .len = len,
	    .fd = fd,
	    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH, /* MMIO: no FLAG_PIO */
	};

	return ioctl(k->vm_fd, KVM_IOEVENTFD, &io) ? -errno : 0;
}

int kvm_add_irqfd(const struct kvm *k, unsigned gsi, int fd)
{
	struct kvm_irqfd irq = {.fd = (uint32_t)fd, .gsi = gsi};

	return ioctl(k->vm_fd, KVM_IRQFD, &irq) ? -errno : 0;
}

void kvm_close(struct kvm *k)
{
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->dev_fd >= 0)
		close(k->dev_fd);
	free(k->supported);
	k->supported = NULL;
	k->vm_fd = k->dev_fd = -1;
}
