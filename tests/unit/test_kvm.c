/* test_kvm.c: /dev/kvm and the VM fd against a scripted KVM (fake_kvm_core.h): the capability
 * checks, CPUID's growing buffer, the VM's creation and memory slots, and each step's failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake_kvm_core.h"
#include "kvm/kvm.h"

#include <stdio.h>

static struct kvm k;

static int setup(void **state)
{
	(void)state;
	fk_reset();
	memset(&k, 0, sizeof(k));
	k.dev_fd = k.vm_fd = -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kvm_close(&k);
	fk_reset();
	return 0;
}

/* ERR says KIND and, after PREFIX, WHAT, then errno E's text. */
static void assert_err(const struct bw_error *err, enum bw_error_kind kind, const char *prefix,
		       const char *what, int e)
{
	char want[sizeof(err->msg)];

	snprintf(want, sizeof(want), "%s%s: %s", prefix, what, strerror(e));
	assert_int_equal(err->kind, kind);
	assert_string_equal(err->msg, want);
}

/* Opens /dev/null as the KVM device: the fake answers for it. */
static int open_kvm(struct bw_error *err)
{
	return kvm_open(&k, "/dev/null", err);
}

/* Everything present: the answers land in struct kvm, CPUID's buffer grown past 64 entries. */
static void test_open(void **state)
{
	struct bw_error err = {0};

	(void)state;
	fk.cpuid_nent = 100;
	assert_int_equal(open_kvm(&err), 0);
	assert_true(fk_fd_open(k.dev_fd));
	assert_int_equal(k.vm_fd, -1);
	assert_int_equal(k.max_vcpus, 64);
	assert_true(k.tsc_deadline);
	assert_int_equal(k.run_size, FK_RUN_SIZE);
	assert_non_null(k.supported);
	assert_int_equal(k.supported->nent, 100);
	assert_int_equal(fk.cpuid_tries, 2); /* 64 (E2BIG), then 128 */
	assert_int_equal(fk_count(KVM_CHECK_EXTENSION), kvm_required_caps() + 2);
}

/* Without the TSC-deadline timer KVM still serves; the CPUID table then leaves it out. */
static void test_open_no_tsc_deadline(void **state)
{
	struct bw_error err = {0};

	(void)state;
	fk.tsc_deadline = 0;
	assert_int_equal(open_kvm(&err), 0);
	assert_false(k.tsc_deadline);
}

/* A device that is not there: its errno, and nothing asked of KVM. */
static void test_open_no_device(void **state)
{
	struct bw_error err = {0};

	(void)state;
	assert_int_equal(kvm_open(&k, "/nonexistent/kvm", &err), -ENOENT);
	assert_err(&err, BW_ERR_HOST, "/nonexistent/kvm: ", "cannot open the KVM device", ENOENT);
	assert_int_equal(k.dev_fd, -1);
	assert_int_equal(fk.ncalls, 0);
}

/* An API other than 12 is refused before any capability is asked for; the fd is closed. */
static void test_open_bad_api(void **state)
{
	struct bw_error err = {0};

	(void)state;
	fk.api = 11;
	assert_int_equal(open_kvm(&err), -ENOTSUP);
	assert_err(&err, BW_ERR_HOST, "/dev/null: ", "KVM API version is not 12", ENOTSUP);
	assert_int_equal(k.dev_fd, -1);
	assert_int_equal(fk_count(KVM_CHECK_EXTENSION), 0);
}

/* Each required capability, missing alone, refuses KVM with its own name in the message. */
static void test_open_missing_cap(void **state)
{
	static const struct {
		int cap;
		const char *why;
	} caps[] = {
	    {KVM_CAP_IRQCHIP, "KVM lacks KVM_CAP_IRQCHIP (in-kernel IOAPIC and LAPIC)"},
	    {KVM_CAP_USER_MEMORY, "KVM lacks KVM_CAP_USER_MEMORY"},
	    {KVM_CAP_PIT2, "KVM lacks KVM_CAP_PIT2"},
	    {KVM_CAP_EXT_CPUID, "KVM lacks KVM_CAP_EXT_CPUID"},
	    {KVM_CAP_SET_TSS_ADDR, "KVM lacks KVM_CAP_SET_TSS_ADDR"},
	    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM lacks KVM_CAP_SET_IDENTITY_MAP_ADDR"},
	    {KVM_CAP_IMMEDIATE_EXIT, "KVM lacks KVM_CAP_IMMEDIATE_EXIT"},
	    {KVM_CAP_IRQ_ROUTING, "KVM lacks KVM_CAP_IRQ_ROUTING"},
	    {KVM_CAP_IOEVENTFD, "KVM lacks KVM_CAP_IOEVENTFD"},
	    {KVM_CAP_IRQFD, "KVM lacks KVM_CAP_IRQFD"},
	};

	(void)state;
	assert_int_equal(kvm_required_caps(), sizeof(caps) / sizeof(caps[0]));
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct bw_error err = {0};

		fk_reset();
		fk.missing_cap = caps[i].cap;
		assert_int_equal(open_kvm(&err), -ENOTSUP);
		assert_err(&err, BW_ERR_HOST, "/dev/null: ", caps[i].why, ENOTSUP);
		assert_int_equal(k.dev_fd, -1);
		assert_null(k.supported);
		assert_int_equal(fk_count(KVM_GET_VCPU_MMAP_SIZE), 0);
	}
}

/* KVM_GET_VCPU_MMAP_SIZE failing or answering 0 refuses KVM: no kvm_run could be mapped. */
static void test_open_bad_mmap_size(void **state)
{
	const int answers[] = {0, -1};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct bw_error err = {0};

		fk_reset();
		fk.mmap_size = answers[i];
		assert_int_equal(open_kvm(&err), -ENOTSUP);
		assert_err(&err, BW_ERR_HOST, "/dev/null: ", "KVM_GET_VCPU_MMAP_SIZE failed",
			   ENOTSUP);
		assert_int_equal(k.dev_fd, -1);
	}
}

/* KVM_GET_SUPPORTED_CPUID failing (other than E2BIG), or wanting more than 4096 entries. */
static void test_open_cpuid_fails(void **state)
{
	struct bw_error err = {0};

	(void)state;
	fk.fail_req = KVM_GET_SUPPORTED_CPUID;
	fk.fail_errno = EFAULT;
	assert_int_equal(open_kvm(&err), -ENOTSUP);
	assert_err(&err, BW_ERR_HOST, "/dev/null: ", "KVM_GET_SUPPORTED_CPUID failed", ENOTSUP);
	assert_int_equal(k.dev_fd, -1);
	assert_null(k.supported);

	fk_reset();
	fk.cpuid_nent = 5000;
	err = (struct bw_error){0};
	assert_int_equal(open_kvm(&err), -ENOTSUP);
	assert_err(&err, BW_ERR_HOST, "/dev/null: ", "KVM_GET_SUPPORTED_CPUID failed", ENOTSUP);
	assert_int_equal(fk.cpuid_tries, 7); /* 64, 128, ... 4096 */
}

/* The missing capabilities by name, joined; a short buffer keeps the count right. */
static void test_missing_caps(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(kvm_missing_caps(-1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	fk.missing_cap = KVM_CAP_PIT2;
	assert_int_equal(kvm_missing_caps(-1, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "KVM_CAP_PIT2");
	fk.missing_cap2 = KVM_CAP_IRQFD;
	assert_int_equal(kvm_missing_caps(-1, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "KVM_CAP_PIT2, KVM_CAP_IRQFD");
	assert_int_equal(kvm_missing_caps(-1, buf, 8), 2);
	assert_string_equal(buf, "KVM_CAP");
}

/* KVM's vCPU limit: MAX_VCPUS, else NR_VCPUS, else the documented 4. */
static void test_max_vcpus(void **state)
{
	(void)state;
	assert_int_equal(kvm_max_vcpus(-1), 64);
	fk.max_vcpus = 0;
	assert_int_equal(kvm_max_vcpus(-1), 16);
	fk.nr_vcpus = -1;
	assert_int_equal(kvm_max_vcpus(-1), 4);
}

/* Guest RAM as kvm_create_vm sees it; the host address is only recorded, never touched. */
static const struct guest_mem low_only = {
    .host = (uint8_t *)0x7f0000000000, .size = 256ULL << 20, .low_size = 256ULL << 20};
static const struct guest_mem with_high = {
    .host = (uint8_t *)0x7f0000000000, .size = 4ULL << 30, .low_size = GMEM_HOLE_START};

static int open_ok(void)
{
	struct bw_error err = {0};

	return open_kvm(&err);
}

/* The VM: TSS and identity map where KVM wants them, irqchip before the PIT, one slot for RAM
 * below the hole. */
static void test_create_vm(void **state)
{
	struct bw_error err = {0};

	(void)state;
	assert_int_equal(open_ok(), 0);
	fk.ncalls = 0;
	assert_int_equal(kvm_create_vm(&k, &low_only, &err), 0);
	assert_true(fk_fd_open(k.vm_fd));
	assert_int_not_equal(k.vm_fd, k.dev_fd);
	assert_int_equal(fk.tss_addr, KVM_TSS_ADDR);
	assert_int_equal(fk.identity_map_addr, KVM_IDENTITY_MAP_ADDR);
	assert_true(fk_index(KVM_CREATE_IRQCHIP) < fk_index(KVM_CREATE_PIT2));
	assert_true(fk_index(KVM_CREATE_PIT2) < fk_index(KVM_SET_USER_MEMORY_REGION));
	assert_int_equal(fk.nslots, 1);
	assert_int_equal(fk.slots[0].slot, 0);
	assert_int_equal(fk.slots[0].guest_phys_addr, 0);
	assert_int_equal(fk.slots[0].memory_size, 256ULL << 20);
	assert_int_equal(fk.slots[0].userspace_addr, 0x7f0000000000ULL);
}

/* RAM above the hole: a second slot at 4 GiB for the rest, from where the first one ends. */
static void test_create_vm_high_ram(void **state)
{
	struct bw_error err = {0};

	(void)state;
	assert_int_equal(open_ok(), 0);
	assert_int_equal(kvm_create_vm(&k, &with_high, &err), 0);
	assert_int_equal(fk.nslots, 2);
	assert_int_equal(fk.slots[0].memory_size, GMEM_HOLE_START);
	assert_int_equal(fk.slots[1].slot, 1);
	assert_int_equal(fk.slots[1].guest_phys_addr, GMEM_HIGH_START);
	assert_int_equal(fk.slots[1].memory_size, (4ULL << 30) - GMEM_HOLE_START);
	assert_int_equal(fk.slots[1].userspace_addr, 0x7f0000000000ULL + GMEM_HOLE_START);
}

/* Each step of the VM's creation failing: its errno and what failed; nothing after it is done. */
static void test_create_vm_fails(void **state)
{
	static const struct {
		unsigned long req;
		unsigned skip; /* calls of it that succeed first */
		int err;
		const char *why;
	} steps[] = {
	    {KVM_CREATE_VM, 0, EMFILE, "KVM_CREATE_VM failed"},
	    {KVM_SET_TSS_ADDR, 0, EINVAL, "KVM_SET_TSS_ADDR or KVM_SET_IDENTITY_MAP_ADDR failed"},
	    {KVM_SET_IDENTITY_MAP_ADDR, 0, EEXIST,
	     "KVM_SET_TSS_ADDR or KVM_SET_IDENTITY_MAP_ADDR failed"},
	    {KVM_CREATE_IRQCHIP, 0, EEXIST, "KVM_CREATE_IRQCHIP failed"},
	    {KVM_CREATE_PIT2, 0, ENOMEM, "KVM_CREATE_PIT2 failed"},
	    {KVM_SET_USER_MEMORY_REGION, 0, EFAULT, "KVM_SET_USER_MEMORY_REGION failed"},
	    {KVM_SET_USER_MEMORY_REGION, 1, ENOSPC, "KVM_SET_USER_MEMORY_REGION failed"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct bw_error err = {0};

		kvm_close(&k);
		fk_reset();
		assert_int_equal(open_ok(), 0);
		fk.fail_req = steps[i].req;
		fk.fail_skip = steps[i].skip;
		fk.fail_errno = steps[i].err;
		assert_int_equal(kvm_create_vm(&k, &with_high, &err), -steps[i].err);
		assert_err(&err, BW_ERR_RUNTIME, "", steps[i].why, steps[i].err);
		assert_int_equal(fk.nslots, steps[i].skip);
		assert_int_equal(fk.calls[fk.ncalls - 1], steps[i].req); /* and nothing after it */
	}
}

/* The VM fd's other requests: their arguments as given, their errors as -errno. */
static void test_irq_and_eventfds(void **state)
{
	struct bw_error err = {0};

	(void)state;
	assert_int_equal(open_ok(), 0);
	assert_int_equal(kvm_create_vm(&k, &low_only, &err), 0);
	assert_int_equal(kvm_irq_line(&k, 4, 1), 0);
	assert_int_equal(fk.irq.irq, 4);
	assert_int_equal(fk.irq.level, 1);
	assert_int_equal(kvm_add_ioeventfd(&k, 0xd0000050, 4, 2, 9), 0);
	assert_int_equal(fk.ioeventfd.addr, 0xd0000050);
	assert_int_equal(fk.ioeventfd.len, 4);
	assert_int_equal(fk.ioeventfd.datamatch, 2);
	assert_int_equal(fk.ioeventfd.fd, 9);
	assert_int_equal(fk.ioeventfd.flags, KVM_IOEVENTFD_FLAG_DATAMATCH); /* MMIO, not PIO */
	assert_int_equal(kvm_add_irqfd(&k, 5, 10), 0);
	assert_int_equal(fk.irqfd.gsi, 5);
	assert_int_equal(fk.irqfd.fd, 10);
	fk.fail_errno = EINVAL;
	fk.fail_req = KVM_IRQ_LINE;
	assert_int_equal(kvm_irq_line(&k, 4, 0), -EINVAL);
	fk.fail_req = KVM_IOEVENTFD;
	assert_int_equal(kvm_add_ioeventfd(&k, 0xd0000050, 4, 2, 9), -EINVAL);
	fk.fail_req = KVM_IRQFD;
	assert_int_equal(kvm_add_irqfd(&k, 5, 10), -EINVAL);
}

/* kvm_close closes both fds and frees the CPUID table (ASan's leak check); twice is harmless. */
static void test_close(void **state)
{
	struct bw_error err = {0};
	int dev_fd, vm_fd;

	(void)state;
	assert_int_equal(open_ok(), 0);
	assert_int_equal(kvm_create_vm(&k, &low_only, &err), 0);
	dev_fd = k.dev_fd;
	vm_fd = k.vm_fd;
	kvm_close(&k);
	assert_false(fk_fd_open(dev_fd));
	assert_false(fk_fd_open(vm_fd));
	assert_int_equal(k.dev_fd, -1);
	assert_int_equal(k.vm_fd, -1);
	assert_null(k.supported);
	kvm_close(&k);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_open),
	    T(test_open_no_tsc_deadline),
	    T(test_open_no_device),
	    T(test_open_bad_api),
	    T(test_open_missing_cap),
	    T(test_open_bad_mmap_size),
	    T(test_open_cpuid_fails),
	    T(test_missing_caps),
	    T(test_max_vcpus),
	    T(test_create_vm),
	    T(test_create_vm_high_ram),
	    T(test_create_vm_fails),
	    T(test_irq_and_eventfds),
	    T(test_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
