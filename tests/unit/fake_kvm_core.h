/* fake_kvm_core.h: a scripted KVM for the KVM core's tests (kvm.c, vcpu.c, vm_vcpus.c). Link with
 * -Wl,--wrap=ioctl,--wrap=mmap64: every KVM request is answered here and its argument recorded,
 * any one request (or the kvm_run mmap) can be made to fail, and KVM_RUN's exits come from the
 * test's fk_run function, which fills the kvm_run page as KVM would. */
#ifndef BULWARK_FAKE_KVM_CORE_H
#define BULWARK_FAKE_KVM_CORE_H

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FK_RUN_SIZE 4096
#define FK_MAX_CALLS 64
#define FK_MAX_SLOTS 4

/* The test's KVM_RUN: fills RUN for call number N (from 0); returns 0, or -1 with errno. */
typedef int (*fk_run_fn)(struct kvm_run *run, unsigned n);

static struct {
	unsigned long fail_req; /* this request fails with fail_errno... */
	int fail_errno;
	unsigned fail_skip;		       /* ...after this many calls of it succeeded */
	int mmap_errno;			       /* non-zero: mmap of a vCPU fd fails with it */
	int api;			       /* KVM_GET_API_VERSION's answer */
	int missing_cap, missing_cap2;	       /* capabilities KVM_CHECK_EXTENSION denies, or -1 */
	int max_vcpus, nr_vcpus, tsc_deadline; /* answers for those capabilities */
	int mmap_size;			       /* KVM_GET_VCPU_MMAP_SIZE's answer */
	unsigned cpuid_nent; /* entries KVM_GET_SUPPORTED_CPUID has; E2BIG below */
	fk_run_fn run_fn;

	/* What the code under test asked for. */
	unsigned long calls[FK_MAX_CALLS];
	unsigned ncalls;
	unsigned cpuid_tries;		  /* KVM_GET_SUPPORTED_CPUID calls */
	unsigned long vcpu_id;		  /* KVM_CREATE_VCPU's argument */
	int vcpu_vm_fd;			  /* the fd it was made on */
	struct kvm_run *run;		  /* the fake's own view of the last vCPU's kvm_run page */
	size_t mmap_len;		  /* the length the code under test mapped it with */
	struct kvm_cpuid_entry2 cpuid[8]; /* the first entries of KVM_SET_CPUID2 */
	unsigned cpuid_set_nent;
	struct kvm_lapic_state lapic; /* what KVM_GET_LAPIC answers and KVM_SET_LAPIC stored */
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	struct kvm_userspace_memory_region slots[FK_MAX_SLOTS];
	unsigned nslots;
	struct kvm_irq_level irq;
	struct kvm_ioeventfd ioeventfd;
	struct kvm_irqfd irqfd;
	unsigned long tss_addr;
	uint64_t identity_map_addr;
	unsigned runs; /* KVM_RUN calls */
} fk;

int __real_ioctl(int fd, unsigned long request, ...);
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);

/* A KVM with everything, LAPIC LVT0/LVT1 at their reset value (masked, fixed mode). */
static void fk_reset(void)
{
	if (fk.run)
		munmap(fk.run, FK_RUN_SIZE);
	memset(&fk, 0, sizeof(fk));
	fk.missing_cap = fk.missing_cap2 = -1;
	fk.api = KVM_API_VERSION;
	fk.max_vcpus = 64;
	fk.nr_vcpus = 16;
	fk.tsc_deadline = 1;
	fk.mmap_size = FK_RUN_SIZE;
	fk.cpuid_nent = 40;
	fk.vcpu_vm_fd = -1;
	for (unsigned off = 0x350; off <= 0x360; off += 0x10)
		memcpy(&fk.lapic.regs[off], &(uint32_t){0x10000}, 4);
}

/* How many times REQUEST was made, and the position of its first call (or -1). */
static inline unsigned fk_count(unsigned long request)
{
	unsigned n = 0;

	for (unsigned i = 0; i < fk.ncalls; i++)
		n += fk.calls[i] == request;
	return n;
}

static inline int fk_index(unsigned long request)
{
	for (unsigned i = 0; i < fk.ncalls; i++)
		if (fk.calls[i] == request)
			return (int)i;
	return -1;
}

static inline bool fk_fd_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

/* A vCPU fd is a memfd, so the code under test maps a real page the fake sees too. */
static int fk_create_vcpu(int vm_fd, unsigned long id)
{
	int fd = memfd_create("fake-kvm-run", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, FK_RUN_SIZE))
		return -1;
	if (fk.run)
		munmap(fk.run, FK_RUN_SIZE);
	fk.run = __real_mmap64(NULL, FK_RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fk.run == MAP_FAILED) {
		fk.run = NULL;
		close(fd);
		return -1;
	}
	fk.vcpu_id = id;
	fk.vcpu_vm_fd = vm_fd;
	return fd;
}

static int fk_supported_cpuid(struct kvm_cpuid2 *c)
{
	fk.cpuid_tries++;
	if (c->nent < fk.cpuid_nent) {
		errno = E2BIG;
		return -1;
	}
	c->nent = fk.cpuid_nent;
	for (unsigned i = 0; i < c->nent; i++)
		c->entries[i] = (struct kvm_cpuid_entry2){.function = i < 2 ? i : 0x80000000 + i};
	return 0;
}

static int fk_check_extension(long cap)
{
	if (cap == fk.missing_cap || cap == fk.missing_cap2)
		return 0;
	if (cap == KVM_CAP_MAX_VCPUS)
		return fk.max_vcpus;
	if (cap == KVM_CAP_NR_VCPUS)
		return fk.nr_vcpus;
	if (cap == KVM_CAP_TSC_DEADLINE_TIMER)
		return fk.tsc_deadline;
	return 1;
}

static int fk_vcpu_request(int fd, unsigned long request, void *arg)
{
	switch (request) {
	case KVM_SET_CPUID2: {
		const struct kvm_cpuid2 *c = arg;

		fk.cpuid_set_nent = c->nent;
		memcpy(fk.cpuid, c->entries, sizeof(fk.cpuid[0]) * (c->nent < 8 ? c->nent : 8));
		return 0;
	}
	case KVM_GET_LAPIC:
		*(struct kvm_lapic_state *)arg = fk.lapic;
		return 0;
	case KVM_SET_LAPIC:
		fk.lapic = *(struct kvm_lapic_state *)arg;
		return 0;
	case KVM_GET_SREGS:
		*(struct kvm_sregs *)arg =
		    (struct kvm_sregs){.cs.base = 0xffff0000, .cr0 = 0x60000010};
		return 0;
	case KVM_SET_SREGS:
		fk.sregs = *(struct kvm_sregs *)arg;
		return 0;
	case KVM_SET_REGS:
		fk.regs = *(struct kvm_regs *)arg;
		return 0;
	case KVM_SET_FPU:
		fk.fpu = *(struct kvm_fpu *)arg;
		return 0;
	case KVM_RUN:
		fk.runs++;
		if (!fk.run_fn || fk.runs > 100) { /* a loop that never ends: the test fails */
			errno = ENOSYS;
			return -1;
		}
		return fk.run_fn(fk.run, fk.runs - 1);
	default:
		return __real_ioctl(fd, request, arg);
	}
}

static int fk_vm_request(int fd, unsigned long request, void *arg)
{
	switch (request) {
	case KVM_GET_API_VERSION:
		return fk.api;
	case KVM_CHECK_EXTENSION:
		return fk_check_extension((long)(uintptr_t)arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		return fk.mmap_size;
	case KVM_GET_SUPPORTED_CPUID:
		return fk_supported_cpuid(arg);
	case KVM_CREATE_VM:
		return dup(fd);
	case KVM_SET_TSS_ADDR:
		fk.tss_addr = (unsigned long)(uintptr_t)arg;
		return 0;
	case KVM_SET_IDENTITY_MAP_ADDR:
		fk.identity_map_addr = *(uint64_t *)arg;
		return 0;
	case KVM_CREATE_IRQCHIP:
	case KVM_CREATE_PIT2:
		return 0;
	case KVM_SET_USER_MEMORY_REGION:
		if (fk.nslots < FK_MAX_SLOTS)
			fk.slots[fk.nslots++] = *(struct kvm_userspace_memory_region *)arg;
		return 0;
	case KVM_IRQ_LINE:
		fk.irq = *(struct kvm_irq_level *)arg;
		return 0;
	case KVM_IOEVENTFD:
		fk.ioeventfd = *(struct kvm_ioeventfd *)arg;
		return 0;
	case KVM_IRQFD:
		fk.irqfd = *(struct kvm_irqfd *)arg;
		return 0;
	case KVM_CREATE_VCPU:
		return fk_create_vcpu(fd, (unsigned long)(uintptr_t)arg);
	default:
		return fk_vcpu_request(fd, request, arg);
	}
}

int __wrap_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fk.ncalls < FK_MAX_CALLS)
		fk.calls[fk.ncalls++] = request;
	if (request == fk.fail_req && fk.fail_errno) {
		if (fk.fail_skip == 0) {
			errno = fk.fail_errno;
			return -1;
		}
		fk.fail_skip--;
	}
	return fk_vm_request(fd, request, arg);
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (fk.run && fd >= 0) {
		if (fk.mmap_errno) {
			errno = fk.mmap_errno;
			return MAP_FAILED;
		}
		fk.mmap_len = len;
	}
	return __real_mmap64(addr, len, prot, flags, fd, off);
}

#endif
