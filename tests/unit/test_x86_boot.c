/* test_x86_boot.c: planning a bzImage boot: header checks, where the kernel goes, and where the
 * initrd goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>

#include "boot_image.h"
#include "kvm/memory.h"
#include "x86/x86_boot.h"

/* Plans H as a whole image in MEM bytes of RAM; returns the result and keeps WHY non-NULL on error. */
static int plan_hdr(const struct setup_header *h, size_t len, uint64_t initrd, uint64_t mem,
		    size_t cmdline_len, struct boot_plan *p)
{
	struct image im = make_image(h, len);
	const char *why = NULL;
	int r = x86_boot_plan(im.buf, im.len, initrd, mem, cmdline_len, p, &why);

	if (r)
		assert_non_null(why);
	free(im.buf);
	return r;
}

static void plan_accepts_good_image(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 20, &p), 0);
	assert_int_equal(p.protocol, 0x20f);
	assert_int_equal(p.setup_size, SETUP_SIZE);
	assert_int_equal(p.kernel_size, PAYLOAD);
	assert_int_equal(p.kernel_addr, 16 * MiB);
	assert_int_equal(p.kernel_end, 16 * MiB + 4 * MiB); /* init_size > kernel size */
	assert_int_equal(p.entry, 16 * MiB + 0x200);
	assert_int_equal(p.initrd_addr, 0);
	assert_int_equal(p.initrd_size, 0);
	assert_int_equal(p.cmdline_max, CMDLINE_SIZE);
}

static void plan_kernel_end_uses_larger_of_sizes(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	h.init_size = 4096; /* smaller than what is copied */
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), 0);
	assert_int_equal(p.kernel_end, p.kernel_addr + PAYLOAD);
}

static void plan_setup_sects_zero_means_four(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	h.setup_sects = 0;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), 0);
	assert_int_equal(p.setup_size, 5 * 512);
}

static void plan_refuses_too_short(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	assert_int_equal(plan_hdr(&h, HDR_OFFSET + sizeof(h) - 1, 0, 64 * MiB, 0, &p), -EINVAL);
	assert_int_equal(plan_hdr(&h, 0x200, 0, 64 * MiB, 0, &p), -EINVAL);
	assert_int_equal(plan_hdr(&h, 1, 0, 64 * MiB, 0, &p), -EINVAL);
}

static void plan_refuses_missing_magic(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	h.boot_flag = 0x55aa;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), -EINVAL);
	h = good_hdr();
	h.header = 0x48647253; /* "HdrS" the wrong way round */
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), -EINVAL);
}

static void plan_refuses_old_protocol(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	h.version = 0x209;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), -EINVAL);
	h.version = 0x20a; /* the oldest one accepted */
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), 0);
	assert_int_equal(p.protocol, 0x20a);
}

static void plan_refuses_not_loaded_high(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	h.loadflags = CAN_USE_HEAP;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), -EINVAL);
}

static void plan_refuses_no_64bit_entry(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	h.xloadflags = 0x2; /* XLF_CAN_BE_LOADED_ABOVE_4G alone */
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), -EINVAL);
}

static void plan_refuses_truncated(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	/* syssize says 16 bytes more than the file holds. */
	h.syssize = PAYLOAD / 16 + 1;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), -EINVAL);
	/* Huge syssize: syssize * 16 must not wrap in 32 bits. */
	h.syssize = 0x10000000;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), -EINVAL);
	h.syssize = UINT32_MAX;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), -EINVAL);
	/* The setup code alone is longer than the file. */
	h = good_hdr();
	h.setup_sects = 255;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), -EINVAL);
	/* Setup exactly as long as the file: no kernel at all. */
	h = good_hdr();
	h.syssize = 0;
	assert_int_equal(plan_hdr(&h, SETUP_SIZE, 0, 64 * MiB, 0, &p), -EINVAL);
}

static void plan_syssize_exactly_fits(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	assert_int_equal(plan_hdr(&h, SETUP_SIZE + PAYLOAD, 0, 64 * MiB, 0, &p), 0);
	assert_int_equal(plan_hdr(&h, SETUP_SIZE + PAYLOAD - 1, 0, 64 * MiB, 0, &p), -EINVAL);
}

static void plan_refuses_long_cmdline(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, CMDLINE_SIZE, &p), 0);
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, CMDLINE_SIZE + 1, &p), -E2BIG);
	h.cmdline_size = 0;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 1, &p), -E2BIG);
}

static void plan_refuses_kernel_not_fitting(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	h.init_size = 64 * MiB;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 32 * MiB, 0, &p), -ENOSPC);
	/* Exactly fits at the 2 MiB fallback: RAM = 2 MiB + init_size. */
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 66 * MiB, 0, &p), 0);
	assert_int_equal(p.kernel_addr, 2 * MiB);
	assert_int_equal(p.kernel_end, 66 * MiB);
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 66 * MiB - 4096, 0, &p), -ENOSPC);
	/* RAM smaller than the 2 MiB fallback address itself. */
	h = good_hdr();
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 1 * MiB, 0, &p), -ENOSPC);
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 0, 0, &p), -ENOSPC);
}

static void plan_relocates_when_pref_does_not_fit(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	/* 16 MiB + 4 MiB does not fit in 12 MiB; a relocatable kernel moves to 2 MiB. */
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 12 * MiB, 0, &p), 0);
	assert_int_equal(p.kernel_addr, 2 * MiB);
	assert_int_equal(p.kernel_end, 6 * MiB);
	assert_int_equal(p.entry, 2 * MiB + 0x200);
	/* The same kernel, not relocatable, does not fit. */
	h.relocatable_kernel = 0;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 12 * MiB, 0, &p), -ENOSPC);
}

static void plan_relocates_pref_below_1mib(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	h.pref_address = 0x10000; /* over the zero page and page tables */
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), 0);
	assert_int_equal(p.kernel_addr, 2 * MiB);
	h.relocatable_kernel = 0;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), -ENOSPC);
	/* Beyond the end of RAM, and far beyond. */
	h = good_hdr();
	h.pref_address = UINT64_MAX - 4096;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), 0);
	assert_int_equal(p.kernel_addr, 2 * MiB);
}

static void plan_relocation_honours_alignment(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	h.pref_address = 0;
	h.kernel_alignment = 16 * MiB;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), 0);
	assert_int_equal(p.kernel_addr, 16 * MiB);
	/* Nonsense alignments fall back to 2 MiB rather than misplacing the kernel. */
	h.kernel_alignment = 3 * MiB;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), 0);
	assert_int_equal(p.kernel_addr, 2 * MiB);
	h.kernel_alignment = 0;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 0, 64 * MiB, 0, &p), 0);
	assert_int_equal(p.kernel_addr, 2 * MiB);
}

static void assert_initrd_placed(const struct boot_plan *p, uint64_t size, uint64_t top)
{
	assert_int_equal(p->initrd_size, size);
	assert_int_equal(p->initrd_addr % 4096, 0);
	assert_true(p->initrd_addr >= p->kernel_end);
	assert_true(p->initrd_addr + size <= top);
	/* As high as it can go: less than a page left above it. */
	assert_true(top - (p->initrd_addr + size) < 4096);
}

static void plan_initrd_at_top_of_ram(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;
	const uint64_t size = 1 * MiB + 123;

	(void)state;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, size, 64 * MiB, 0, &p), 0);
	assert_initrd_placed(&p, size, 64 * MiB);
}

static void plan_initrd_below_initrd_addr_max(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;
	const uint64_t size = 3 * MiB + 5;

	(void)state;
	h.initrd_addr_max = 32 * MiB - 1;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, size, 64 * MiB, 0, &p), 0);
	assert_initrd_placed(&p, size, 32 * MiB);
}

static void plan_initrd_below_hole(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;
	const uint64_t size = 10 * MiB;

	(void)state;
	/* 8 GiB of RAM and a kernel that takes any 32-bit address: the initrd still ends below 3 GiB. */
	h.initrd_addr_max = 0xffffffff;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, size, 8 * GiB, 0, &p), 0);
	assert_initrd_placed(&p, size, GMEM_HOLE_START);
}

static void plan_refuses_initrd_not_fitting(void **state)
{
	struct setup_header h = good_hdr();
	struct boot_plan p;

	(void)state;
	/* The kernel ends at 20 MiB; 64 MiB leaves 44 MiB. */
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 44 * MiB, 64 * MiB, 0, &p), 0);
	assert_int_equal(p.initrd_addr, p.kernel_end);
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 44 * MiB + 1, 64 * MiB, 0, &p), -ENOSPC);
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 100 * MiB, 64 * MiB, 0, &p), -ENOSPC);
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, UINT64_MAX, 64 * MiB, 0, &p), -ENOSPC);
	/* initrd_addr_max below the kernel's end. */
	h.initrd_addr_max = 8 * MiB - 1;
	assert_int_equal(plan_hdr(&h, IMAGE_LEN, 4096, 64 * MiB, 0, &p), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plan_accepts_good_image),
	    cmocka_unit_test(plan_kernel_end_uses_larger_of_sizes),
	    cmocka_unit_test(plan_setup_sects_zero_means_four),
	    cmocka_unit_test(plan_refuses_too_short),
	    cmocka_unit_test(plan_refuses_missing_magic),
	    cmocka_unit_test(plan_refuses_old_protocol),
	    cmocka_unit_test(plan_refuses_not_loaded_high),
	    cmocka_unit_test(plan_refuses_no_64bit_entry),
	    cmocka_unit_test(plan_refuses_truncated),
	    cmocka_unit_test(plan_syssize_exactly_fits),
	    cmocka_unit_test(plan_refuses_long_cmdline),
	    cmocka_unit_test(plan_refuses_kernel_not_fitting),
	    cmocka_unit_test(plan_relocates_when_pref_does_not_fit),
	    cmocka_unit_test(plan_relocates_pref_below_1mib),
	    cmocka_unit_test(plan_relocation_honours_alignment),
	    cmocka_unit_test(plan_initrd_at_top_of_ram),
	    cmocka_unit_test(plan_initrd_below_initrd_addr_max),
	    cmocka_unit_test(plan_initrd_below_hole),
	    cmocka_unit_test(plan_refuses_initrd_not_fitting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
