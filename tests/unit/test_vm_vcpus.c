/* test_vm_vcpus.c: the VM's side of its vCPUs against a scripted KVM (fake_kvm_core.h): exits
 * reaching the buses and devices, a vCPU's stop request reaching the VM, CPUID and boot
 * registers at creation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake_kvm_core.h"
#include "vmm/vm_vcpus.h"
#include "x86/x86_boot.h"

#include <fcntl.h>
#include <sys/eventfd.h>

#define DATA_OFFSET 3072
#define ENTRY 0x1000200ULL

static struct vm vm;

/* A device on each bus that records its last access and answers reads with 0x5a. */
static struct {
	uint64_t offset;
	uint32_t len;
	bool is_write;
	uint8_t data[8];
	unsigned n;
} dev_pio, dev_mmio;

static void device(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	typeof(dev_pio) *d = opaque;

	if (!is_write)
		memset(data, 0x5a, len);
	d->offset = offset;
	d->len = len;
	d->is_write = is_write;
	memcpy(d->data, data, len);
	d->n++;
}

/* KVM_RUN's script: exits in order; past its end the main thread asks the VM to stop (as on a
 * console quit) and KVM_RUN returns EINTR, as after the kick. */
static struct kvm_run script[8];
static int script_err[8];
static unsigned nscript;
static enum vm_stop_reason stop_during_run; /* requested by "the main thread" inside KVM_RUN */

static int scripted(struct kvm_run *run, unsigned n)
{
	if (stop_during_run)
		vm_request_stop(&vm, stop_during_run);
	if (n >= nscript) {
		vm_request_stop(&vm, VM_STOP_CONSOLE_QUIT);
		errno = EINTR;
		return -1;
	}
	if (script_err[n]) {
		errno = script_err[n];
		return -1;
	}
	memcpy(run, &script[n], sizeof(*run));
	return 0;
}

static struct kvm_run *add_exit(uint32_t reason)
{
	assert_in_range(nscript, 0, 7);
	script[nscript] = (struct kvm_run){.exit_reason = reason};
	return &script[nscript++];
}

static struct kvm_run *add_io(uint8_t dir, uint8_t size, uint16_t port)
{
	struct kvm_run *r = add_exit(KVM_EXIT_IO);

	r->io.direction = dir;
	r->io.size = size;
	r->io.port = port;
	r->io.count = 1;
	r->io.data_offset = DATA_OFFSET;
	return r;
}

static struct kvm_run *add_mmio(uint64_t addr, uint32_t len, bool is_write)
{
	struct kvm_run *r = add_exit(KVM_EXIT_MMIO);

	r->mmio.phys_addr = addr;
	r->mmio.len = len;
	r->mmio.is_write = is_write;
	return r;
}

/* What stop_fd says: how many wakeups the main thread would see (0 when none). */
static uint64_t stop_events(void)
{
	uint64_t n = 0;

	return read(vm.stop_fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

static void reset_run(void)
{
	nscript = 0;
	memset(script_err, 0, sizeof(script_err));
	stop_during_run = VM_RUNNING;
	fk.runs = 0;
	vm.stop_reason = VM_RUNNING;
	(void)stop_events();
}

static int setup(void **state)
{
	const char *why = NULL;

	(void)state;
	fk_reset();
	fk.run_fn = scripted;
	memset(&vm, 0, sizeof(vm));
	memset(&dev_pio, 0, sizeof(dev_pio));
	memset(&dev_mmio, 0, sizeof(dev_mmio));
	reset_run();
	vm.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm.kvm.dev_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	vm.kvm.vm_fd = dup(vm.kvm.dev_fd);
	vm.kvm.run_size = FK_RUN_SIZE;
	vm.kvm.supported =
	    calloc(1, sizeof(*vm.kvm.supported) + 2 * sizeof(struct kvm_cpuid_entry2));
	vm.nvcpus = 2;
	vm.vcpus = calloc(2, sizeof(*vm.vcpus));
	if (vm.stop_fd < 0 || vm.kvm.vm_fd < 0 || !vm.kvm.supported || !vm.vcpus)
		return -1;
	vm.vcpus[0].fd = vm.vcpus[1].fd = -1;
	vm.kvm.supported->nent = 2;
	vm.kvm.supported->entries[1].function = 1;
	vm.files.plan.entry = ENTRY;
	bus_init(&vm.pio, "pio");
	bus_init(&vm.mmio, "mmio");
	if (bus_register(&vm.pio, 0x3f8, 8, device, &dev_pio, "uart") ||
	    bus_register(&vm.mmio, 0xd0000000ULL, 0x200, device, &dev_mmio, "virtio"))
		return -1;
	return vm_vcpu_create(&vm, 0, &why);
}

static int teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < vm.nvcpus; i++)
		vcpu_destroy(&vm.vcpus[i]);
	free(vm.vcpus);
	kvm_close(&vm.kvm);
	close(vm.stop_fd);
	fk_reset();
	return 0;
}

/* Port and MMIO exits reach the device that claims them, at their offset in its range; the
 * answer goes back where KVM reads it. Nobody's port or address reads all ones, is counted, and
 * the VM runs on. */
static void test_exits_reach_devices(void **state)
{
	struct vcpu *v = &vm.vcpus[0];
	uint8_t *io = (uint8_t *)fk.run + DATA_OFFSET;

	(void)state;
	add_io(KVM_EXIT_IO_OUT, 1, 0x3fb);
	add_io(KVM_EXIT_IO_IN, 1, 0x3fd);
	add_io(KVM_EXIT_IO_IN, 2, 0x2f8); /* COM2: nobody */
	add_mmio(0xd0000070ULL, 4, true)->mmio.data[0] = 0xf;
	add_mmio(0xd0000100ULL, 8, false);
	add_mmio(0xfeb00000ULL, 4, false); /* nobody */
	io[0] = 0x83;
	vcpu_run(v);
	/* The main thread's stop, not the vCPU's: it never asked for one. */
	assert_int_equal(vm_stop_reason(&vm), VM_STOP_CONSOLE_QUIT);
	assert_int_equal(fk.runs, 7);
	assert_int_equal(dev_pio.n, 2);
	assert_int_equal(dev_mmio.n, 2);
	assert_int_equal(vm.pio.unclaimed, 1);
	assert_int_equal(vm.mmio.unclaimed, 1);
	/* The last exits' data is what is left in the page: the stray read's all ones. */
	assert_int_equal(io[0], 0xff);
	assert_int_equal(io[1], 0xff);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(fk.run->mmio.data[i], 0xff);
	/* The device's last access: the MMIO read at offset 0x100 of its window. */
	assert_int_equal(dev_mmio.offset, 0x100);
	assert_int_equal(dev_mmio.len, 8);
	assert_false(dev_mmio.is_write);
	assert_int_equal(dev_pio.offset, 5);
	assert_false(dev_pio.is_write);
}

/* One exit at a time: the UART sees the byte written at its offset 3. */
static void test_pio_write_offset(void **state)
{
	(void)state;
	add_io(KVM_EXIT_IO_OUT, 1, 0x3fb);
	((uint8_t *)fk.run)[DATA_OFFSET] = 0x83;
	vcpu_run(&vm.vcpus[0]);
	assert_int_equal(dev_pio.n, 1);
	assert_int_equal(dev_pio.offset, 3);
	assert_true(dev_pio.is_write);
	assert_int_equal(dev_pio.data[0], 0x83);
	assert_int_equal(vm.pio.unclaimed, 0);
}

/* An MMIO write reaches the window at its offset with the bytes KVM gave. */
static void test_mmio_write_offset(void **state)
{
	static const uint8_t bytes[] = {1, 2, 3, 4};
	struct kvm_run *r;

	(void)state;
	r = add_mmio(0xd0000070ULL, 4, true);
	memcpy(r->mmio.data, bytes, 4);
	vcpu_run(&vm.vcpus[0]);
	assert_int_equal(dev_mmio.n, 1);
	assert_int_equal(dev_mmio.offset, 0x70);
	assert_true(dev_mmio.is_write);
	assert_memory_equal(dev_mmio.data, bytes, 4);
}

/* Each way a vCPU stops the VM reaches it as the reason the VM reports, and wakes the main
 * thread once. */
static void test_stop_reasons(void **state)
{
	static const struct {
		uint32_t exit;	/* 0: KVM_RUN fails with EIO */
		uint32_t event; /* for KVM_EXIT_SYSTEM_EVENT */
		enum vm_stop_reason why;
	} cases[] = {
	    {KVM_EXIT_SHUTDOWN, 0, VM_STOP_TRIPLE_FAULT},
	    {KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_SHUTDOWN, VM_STOP_POWEROFF},
	    {KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_RESET, VM_STOP_REBOOT},
	    {KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_CRASH, VM_STOP_ERROR},
	    {KVM_EXIT_FAIL_ENTRY, 0, VM_STOP_ERROR},
	    {KVM_EXIT_INTERNAL_ERROR, 0, VM_STOP_ERROR},
	    {0xdead, 0, VM_STOP_ERROR},
	    {0, 0, VM_STOP_ERROR},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reset_run();
		if (cases[i].exit)
			add_exit(cases[i].exit)->system_event.type = cases[i].event;
		else
			script_err[nscript++] = EIO;
		vcpu_run(&vm.vcpus[0]);
		assert_int_equal(vm_stop_reason(&vm), cases[i].why);
		assert_int_equal(stop_events(), 1);
		assert_int_equal(fk.runs, 1);
	}
}

/* A vCPU failing after the VM was asked to stop (a signal, say) leaves the first reason. */
static void test_first_stop_wins(void **state)
{
	(void)state;
	script_err[nscript++] = EIO;
	stop_during_run = VM_STOP_SIGNAL;
	vcpu_run(&vm.vcpus[0]);
	assert_int_equal(vm_stop_reason(&vm), VM_STOP_SIGNAL);
	assert_int_equal(stop_events(), 1);
}

/* A VM asked to stop before its vCPUs start runs none of them, and stopping them is harmless. */
static void test_start_when_stopping(void **state)
{
	(void)state;
	vm_request_stop(&vm, VM_STOP_ERROR);
	vm_vcpus_start(&vm, NULL);
	assert_false(vm.vcpus[0].started);
	assert_false(vm.vcpus[1].started);
	vm_vcpus_stop(&vm);
	assert_int_equal(fk.runs, 0);
}

/* vCPU 0: its CPUID names it (APIC id 0 of 2 CPUs) and it starts in long mode at the kernel's
 * entry with RSI at the zero page, after its CPUID is set. */
static void test_boot_vcpu(void **state)
{
	(void)state;
	assert_int_equal(fk.vcpu_id, 0);
	assert_int_equal(fk.vcpu_vm_fd, vm.kvm.vm_fd);
	assert_int_equal(fk.cpuid_set_nent, 2);
	assert_int_equal(fk.cpuid[1].function, 1);
	assert_int_equal(fk.cpuid[1].ebx >> 24, 0);
	assert_int_equal((fk.cpuid[1].ebx >> 16) & 0xff, 2);
	assert_int_equal(fk.regs.rip, ENTRY);
	assert_int_equal(fk.regs.rsi, BOOT_ZERO_PAGE_ADDR);
	assert_int_equal(fk.sregs.cr3, BOOT_PML4_ADDR);
	assert_int_equal(fk.sregs.efer & 0x500, 0x500);		   /* LME and LMA */
	assert_int_equal(fk.sregs.cr0 & 0x80000001U, 0x80000001U); /* PG and PE */
	assert_int_equal(fk.sregs.cs.selector, BOOT_CS);
	assert_int_equal(fk.sregs.cs.l, 1);
	assert_int_equal(fk.sregs.gdt.base, BOOT_GDT_ADDR);
	assert_int_equal(fk.fpu.fcw, 0x37f);
	assert_true(fk_index(KVM_SET_CPUID2) < fk_index(KVM_SET_SREGS));
}

/* An application processor: its own APIC id, and its registers left at reset for INIT/SIPI. */
static void test_ap_vcpu(void **state)
{
	const char *why = NULL;

	(void)state;
	fk.ncalls = 0;
	assert_int_equal(vm_vcpu_create(&vm, 1, &why), 0);
	assert_int_equal(fk.vcpu_id, 1);
	assert_int_equal(fk.cpuid[1].ebx >> 24, 1);
	assert_int_equal(fk_count(KVM_SET_CPUID2), 1);
	assert_int_equal(fk_count(KVM_GET_SREGS) + fk_count(KVM_SET_SREGS), 0);
	assert_int_equal(fk_count(KVM_SET_REGS) + fk_count(KVM_SET_FPU), 0);
}

/* The boot registers or the vCPU itself failing: the step named, its errno returned. */
static void test_create_fails(void **state)
{
	static const struct {
		unsigned long req;
		int err;
		const char *why;
	} steps[] = {
	    {KVM_GET_SREGS, EIO, "cannot set the boot vCPU's registers"},
	    {KVM_SET_SREGS, EINVAL, "cannot set the boot vCPU's registers"},
	    {KVM_SET_REGS, EFAULT, "cannot set the boot vCPU's registers"},
	    {KVM_SET_FPU, EINVAL, "cannot set the boot vCPU's registers"},
	    {KVM_CREATE_VCPU, EEXIST, "KVM_CREATE_VCPU failed"},
	    {KVM_SET_CPUID2, E2BIG, "KVM_SET_CPUID2 failed"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const char *why = NULL;

		vcpu_destroy(&vm.vcpus[0]);
		fk.fail_req = steps[i].req;
		fk.fail_errno = steps[i].err;
		assert_int_equal(vm_vcpu_create(&vm, 0, &why), -steps[i].err);
		assert_string_equal(why, steps[i].why);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_exits_reach_devices), T(test_pio_write_offset), T(test_mmio_write_offset),
	    T(test_stop_reasons),	 T(test_first_stop_wins),  T(test_start_when_stopping),
	    T(test_boot_vcpu),		 T(test_ap_vcpu),	   T(test_create_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
