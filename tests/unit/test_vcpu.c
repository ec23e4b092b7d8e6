/* test_vcpu.c: a vCPU against a scripted KVM (fake_kvm_core.h, vcpu_driver.h): its creation, and
 * the port I/O and MMIO exits it hands the VM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vcpu_driver.h"

/* The vCPU is made on the VM's fd with its id, its kvm_run mapped at the VM's size, the CPUID
 * table given, and LINT0/LINT1 as ExtINT/NMI with their other bits kept; no boot registers. */
static void test_create(void **state)
{
	struct vcpu_host h = host();
	struct vcpu w;
	const char *why = NULL;
	uint32_t lvt0, lvt1;

	(void)state;
	fk_reset();
	memcpy(&fk.lapic.regs[0x350], &(uint32_t){0x10500}, 4); /* masked, SMI */
	memcpy(&fk.lapic.regs[0x360], &(uint32_t){0x18200}, 4); /* masked, level, SMI */
	assert_int_equal(vcpu_create(&w, &h, 3, table, &why), 0);
	assert_int_equal(w.id, 3);
	assert_int_equal(fk.vcpu_id, 3);
	assert_int_equal(fk.vcpu_vm_fd, dev);
	assert_true(fk_fd_open(w.fd));
	assert_non_null(w.run);
	assert_int_equal(fk.mmap_len, FK_RUN_SIZE);
	assert_int_equal(fk.cpuid_set_nent, 3);
	assert_int_equal(fk.cpuid[1].function, 0xb);
	memcpy(&lvt0, &fk.lapic.regs[0x350], 4);
	memcpy(&lvt1, &fk.lapic.regs[0x360], 4);
	assert_int_equal(lvt0, 0x10700);
	assert_int_equal(lvt1, 0x18400);
	assert_true(fk_index(KVM_CREATE_VCPU) < fk_index(KVM_SET_CPUID2));
	assert_true(fk_index(KVM_SET_CPUID2) < fk_index(KVM_SET_LAPIC));
	assert_int_equal(fk_count(KVM_SET_REGS) + fk_count(KVM_SET_SREGS), 0);
	vcpu_destroy(&w);
}

/* Each step that fails is named, its errno returned, and vcpu_destroy releases what was made. */
static void test_create_fails(void **state)
{
	static const struct {
		unsigned long req;
		int err;
		const char *why;
	} steps[] = {
	    {KVM_CREATE_VCPU, EMFILE, "KVM_CREATE_VCPU failed"},
	    {0, ENOMEM, "cannot map the vCPU's kvm_run area"},
	    {KVM_SET_CPUID2, E2BIG, "KVM_SET_CPUID2 failed"},
	    {KVM_GET_LAPIC, ENXIO, "cannot program the local APIC's LINT pins"},
	    {KVM_SET_LAPIC, EINVAL, "cannot program the local APIC's LINT pins"},
	};
	struct vcpu_host h = host();

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct vcpu w;
		const char *why = NULL;
		int fd;

		fk_reset();
		fk.fail_req = steps[i].req;
		fk.fail_errno = steps[i].req ? steps[i].err : 0;
		fk.mmap_errno = steps[i].req ? 0 : steps[i].err;
		assert_int_equal(vcpu_create(&w, &h, 1, table, &why), -steps[i].err);
		assert_string_equal(why, steps[i].why);
		fd = w.fd;
		assert_true(steps[i].req == KVM_CREATE_VCPU ? fd < 0 : fk_fd_open(fd));
		vcpu_destroy(&w);
		assert_int_equal(w.fd, -1);
		assert_null(w.run);
		assert_false(fk_fd_open(fd));
	}
}

/* OUT of 1, 2 and 4 bytes: the port and the bytes KVM left at data_offset reach the VM. */
static void test_pio_out_sizes(void **state)
{
	const uint8_t bytes[] = {0x11, 0x22, 0x33, 0x44};

	(void)state;
	add_io(KVM_EXIT_IO_OUT, 1, 0x3f8, 1, bytes);
	add_io(KVM_EXIT_IO_OUT, 2, 0x64, 1, bytes);
	add_io(KVM_EXIT_IO_OUT, 4, 0x600, 1, bytes);
	run_script();
	assert_no_stop();
	assert_int_equal(vm.npio, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_true(vm.pio[i].is_write);
		assert_int_equal(vm.pio[i].len, 1U << i);
		assert_memory_equal(vm.pio[i].data, bytes, 1U << i);
	}
	assert_int_equal(vm.pio[0].addr, 0x3f8);
	assert_int_equal(vm.pio[1].addr, 0x64);
	assert_int_equal(vm.pio[2].addr, 0x600);
	assert_int_equal(vm.nmmio, 0);
}

/* IN of 1, 2 and 4 bytes: what the VM answers lands at data_offset, where KVM reads it. */
static void test_pio_in_sizes(void **state)
{
	(void)state;
	for (unsigned size = 1; size <= 4; size *= 2) {
		memset(&vm, 0, sizeof(vm));
		nscript = 0;
		fk.runs = 0;
		add_io(KVM_EXIT_IO_IN, (uint8_t)size, 0x3fd, 1, NULL);
		memset((uint8_t *)v.run + DATA_OFFSET, 0, 8);
		run_script();
		assert_no_stop();
		assert_int_equal(vm.npio, 1);
		assert_false(vm.pio[0].is_write);
		assert_int_equal(vm.pio[0].addr, 0x3fd);
		assert_int_equal(vm.pio[0].len, size);
		assert_memory_equal((uint8_t *)v.run + DATA_OFFSET, vm.pio[0].data, size);
		assert_int_equal(((uint8_t *)v.run)[DATA_OFFSET + size], 0); /* nothing beyond */
	}
}

/* String I/O (rep outsw): COUNT accesses to the same port, each the next SIZE bytes. */
static void test_pio_string_out(void **state)
{
	const uint8_t bytes[] = {1, 2, 3, 4, 5, 6};

	(void)state;
	add_io(KVM_EXIT_IO_OUT, 2, 0x1f0, 3, bytes);
	run_script();
	assert_no_stop();
	assert_int_equal(vm.npio, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(vm.pio[i].addr, 0x1f0);
		assert_int_equal(vm.pio[i].len, 2);
		assert_true(vm.pio[i].is_write);
		assert_memory_equal(vm.pio[i].data, bytes + 2 * i, 2);
	}
}

/* String input (rep insb, insl): each answer goes to its own slot, in order. */
static void test_pio_string_in(void **state)
{
	const uint8_t *data = (const uint8_t *)v.run + DATA_OFFSET;

	(void)state;
	add_io(KVM_EXIT_IO_IN, 4, 0x1f0, 2, NULL);
	add_io(KVM_EXIT_IO_IN, 1, 0x60, 3, NULL);
	run_script();
	assert_no_stop();
	assert_int_equal(vm.npio, 5);
	/* The second exit's three bytes overwrote the first's; its answers are calls 2, 3, 4. */
	assert_int_equal(data[0], 0xc0);
	assert_int_equal(data[1], 0xd0);
	assert_int_equal(data[2], 0xe0);
	for (unsigned i = 0; i < 2; i++)
		for (unsigned b = 0; b < 4; b++)
			assert_int_equal(vm.pio[i].data[b], 0xa0 + 0x10 * i + b);
	assert_false(vm.pio[4].is_write);
}

/* A port I/O exit KVM could not have made: no access reaches the VM, which is stopped on error. */
static void test_pio_malformed(void **state)
{
	static const struct {
		uint8_t size;
		uint32_t count, offset;
	} bad[] = {
	    {0, 1, DATA_OFFSET},	  /* no size */
	    {8, 1, DATA_OFFSET},	  /* bigger than any port access */
	    {1, 1, FK_RUN_SIZE + 1},	  /* data outside the page */
	    {4, 2, FK_RUN_SIZE - 4},	  /* the second access past its end */
	    {4, 0x40000001, DATA_OFFSET}, /* size * count past the page */
	    {4, 0xffffffff, 0xffffffff},  /* both at their limits */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&vm, 0, sizeof(vm));
		nscript = 0;
		fk.runs = 0;
		add_io(KVM_EXIT_IO_OUT, bad[i].size, 0x3f8, bad[i].count, NULL);
		script[0].run.io.data_offset = bad[i].offset;
		vcpu_run(&v);
		assert_stopped(VCPU_STOP_ERROR, 1);
		assert_int_equal(vm.npio, 0);
	}
}

/* The largest string I/O that fits the page is served whole. */
static void test_pio_fills_page(void **state)
{
	(void)state;
	add_io(KVM_EXIT_IO_IN, 4, 0x1f0, 2, NULL);
	script[0].run.io.data_offset = FK_RUN_SIZE - 8;
	run_script();
	assert_no_stop();
	assert_int_equal(vm.npio, 2);
}

/* MMIO of every length from 1 to 8, written and read, at the address KVM gave. */
static void test_mmio_lengths(void **state)
{
	const uint8_t bytes[8] = {0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8};

	(void)state;
	for (uint32_t len = 1; len <= 8; len++) {
		memset(&vm, 0, sizeof(vm));
		nscript = 0;
		fk.runs = 0;
		add_mmio(0xd0000000ULL + len, len, true, bytes);
		add_mmio(0xd0001000ULL, len, false, NULL);
		run_script();
		assert_no_stop();
		assert_int_equal(vm.nmmio, 2);
		assert_int_equal(vm.mmio[0].addr, 0xd0000000ULL + len);
		assert_int_equal(vm.mmio[0].len, len);
		assert_true(vm.mmio[0].is_write);
		assert_memory_equal(vm.mmio[0].data, bytes, len);
		assert_int_equal(vm.mmio[1].addr, 0xd0001000ULL);
		assert_int_equal(vm.mmio[1].len, len);
		assert_false(vm.mmio[1].is_write);
		/* The answer is in kvm_run's mmio.data, where KVM completes the guest's load. */
		assert_memory_equal(v.run->mmio.data, vm.mmio[1].data, len);
		assert_int_equal(vm.npio, 0);
	}
}

/* MMIO of 0 or more than 8 bytes: nothing reaches the VM, which is stopped on error. */
static void test_mmio_bad_lengths(void **state)
{
	const uint32_t bad[] = {0, 9, 16, 0xffffffff};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&vm, 0, sizeof(vm));
		nscript = 0;
		fk.runs = 0;
		add_mmio(0xd0000000ULL, 1, i % 2, NULL);
		script[0].run.mmio.len = bad[i];
		vcpu_run(&v);
		assert_stopped(VCPU_STOP_ERROR, 1);
		assert_int_equal(vm.nmmio, 0);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_create),	      T(test_create_fails),   T(test_pio_out_sizes),
	    T(test_pio_in_sizes),     T(test_pio_string_out), T(test_pio_string_in),
	    T(test_pio_malformed),    T(test_pio_fills_page), T(test_mmio_lengths),
	    T(test_mmio_bad_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
