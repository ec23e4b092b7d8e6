/* test_x86_boot_load.c: loading a bzImage into guest RAM: the kernel and initrd, the zero page,
 * e820, page tables and GDT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>

#include "boot_image.h"
#include "config/config.h"
#include "kvm/memory.h"
#include "x86/x86_boot.h"

/* x86_boot_load into a real 64 MiB guest. */
struct load {
	struct guest_mem m;
	struct image im;
	uint8_t initrd[8192 + 100];
	struct boot_plan plan;
	struct boot_params bp;
};

#define CMDLINE "console=ttyS0 reboot=k panic=-1"
#define RSDP 0xe0000ULL

static int load_setup_size(void **state, uint64_t mem)
{
	struct load *l = calloc(1, sizeof(*l));
	struct setup_header h = good_hdr();
	const char *why = NULL;

	if (!l)
		return -1;
	if (gmem_init(&l->m, mem)) {
		free(l);
		return -1;
	}
	l->im = make_image(&h, IMAGE_LEN);
	for (size_t i = 0; i < sizeof(l->initrd); i++)
		l->initrd[i] = (uint8_t)(i ^ 0xa5);
	if (x86_boot_plan(l->im.buf, l->im.len, sizeof(l->initrd), mem, strlen(CMDLINE), &l->plan,
			  &why) ||
	    x86_boot_load(&l->m, &l->plan, l->im.buf, l->initrd, CMDLINE, RSDP) ||
	    gmem_read(&l->m, BOOT_ZERO_PAGE_ADDR, &l->bp, sizeof(l->bp))) {
		gmem_free(&l->m);
		free(l->im.buf);
		free(l);
		return -1;
	}
	*state = l;
	return 0;
}

static int load_setup(void **state)
{
	return load_setup_size(state, 64 * MiB);
}

static int load_teardown(void **state)
{
	struct load *l = *state;

	gmem_free(&l->m);
	free(l->im.buf);
	free(l);
	return 0;
}

static void load_copies_kernel_and_initrd(void **state)
{
	struct load *l = *state;
	const uint8_t *k = gmem_ptr(&l->m, l->plan.kernel_addr, PAYLOAD);
	const uint8_t *i = gmem_ptr(&l->m, l->plan.initrd_addr, sizeof(l->initrd));

	assert_non_null(k);
	assert_memory_equal(k, l->im.buf + SETUP_SIZE, PAYLOAD);
	assert_non_null(i);
	assert_memory_equal(i, l->initrd, sizeof(l->initrd));
	/* Nothing of the real-mode setup lands at the load address. */
	assert_int_equal(l->plan.kernel_addr, 16 * MiB);
}

static void load_zero_page_header(void **state)
{
	struct load *l = *state;
	const struct setup_header *h = &l->bp.hdr;

	assert_int_equal(h->boot_flag, 0xaa55);
	assert_int_equal(h->header, 0x53726448);
	assert_int_equal(h->version, 0x20f);
	assert_int_equal(h->setup_sects, SETUP_SECTS);
	assert_int_equal(h->pref_address, 16 * MiB);
	assert_int_equal(h->init_size, 4 * MiB);
	assert_int_equal(h->type_of_loader, 0xff);
	assert_true(h->loadflags & LOADED_HIGH);
	assert_true(h->loadflags & CAN_USE_HEAP);
	assert_int_equal(h->ramdisk_image, l->plan.initrd_addr);
	assert_int_equal(h->ramdisk_size, sizeof(l->initrd));
	assert_int_equal(l->bp.acpi_rsdp_addr, RSDP);
}

static void load_cmdline(void **state)
{
	struct load *l = *state;
	char buf[sizeof(CMDLINE)];

	assert_int_equal(l->bp.hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_int_equal(gmem_read(&l->m, l->bp.hdr.cmd_line_ptr, buf, sizeof(buf)), 0);
	/* Including the terminating NUL. */
	assert_memory_equal(buf, CMDLINE, sizeof(CMDLINE));
}

static void assert_e820(const struct boot_e820_entry *e, uint64_t addr, uint64_t size,
			uint32_t type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, size);
	assert_int_equal(e->type, type);
}

static void load_e820(void **state)
{
	struct load *l = *state;

	assert_int_equal(l->bp.e820_entries, 3);
	assert_e820(&l->bp.e820_table[0], 0, BOOT_EBDA_START, 1);
	assert_e820(&l->bp.e820_table[1], BOOT_ACPI_ADDR, BOOT_ACPI_SIZE, 2);
	assert_e820(&l->bp.e820_table[2], BOOT_HIMEM_START, 64 * MiB - BOOT_HIMEM_START, 1);
	/* The RSDP lies inside the reserved region, not in RAM the kernel may reuse. */
	assert_true(RSDP >= BOOT_ACPI_ADDR && RSDP < BOOT_ACPI_ADDR + BOOT_ACPI_SIZE);
}

static void load_e820_above_hole(void **state)
{
	struct load *l;
	const uint64_t mem = GMEM_HIGH_START + 8192;

	(void)state;
	if (load_setup_size((void **)&l, mem)) {
		skip(); /* the host would not map 4 GiB, even unreserved */
		return;
	}
	assert_int_equal(l->bp.e820_entries, 4);
	assert_e820(&l->bp.e820_table[2], BOOT_HIMEM_START, GMEM_HOLE_START - BOOT_HIMEM_START, 1);
	assert_e820(&l->bp.e820_table[3], GMEM_HIGH_START, mem - GMEM_HOLE_START, 1);
	/* The initrd stays below the 2 GiB the kernel announced. */
	assert_true(l->plan.initrd_addr + l->plan.initrd_size <= 0x80000000ULL);
	load_teardown((void **)&l);
}

static void load_page_tables(void **state)
{
	struct load *l = *state;
	uint64_t pml4[512], pdpt[512], pd[512];

	assert_int_equal(gmem_read(&l->m, BOOT_PML4_ADDR, pml4, sizeof(pml4)), 0);
	assert_int_equal(gmem_read(&l->m, BOOT_PDPT_ADDR, pdpt, sizeof(pdpt)), 0);
	assert_int_equal(pml4[0], BOOT_PDPT_ADDR | 0x3);
	for (int i = 1; i < 512; i++)
		assert_int_equal(pml4[i], 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pdpt[i], (BOOT_PD_ADDR + i * 4096ULL) | 0x3);
	for (int i = 4; i < 512; i++)
		assert_int_equal(pdpt[i], 0);
	for (uint64_t i = 0; i < 4; i++) {
		assert_int_equal(gmem_read(&l->m, BOOT_PD_ADDR + i * 4096, pd, sizeof(pd)), 0);
		for (uint64_t j = 0; j < 512; j++) /* present, writable, 2 MiB page, identity */
			assert_int_equal(pd[j], (i << 30 | j << 21) | 0x83);
	}
}

/* Each structure bulwark writes below 1 MiB has its own room, and all lie in e820 RAM. */
static void layout_does_not_overlap(void **state)
{
	(void)state;
	assert_true(BOOT_GDT_ADDR + 5 * 8 <= BOOT_ZERO_PAGE_ADDR);
	assert_true(BOOT_ZERO_PAGE_ADDR + sizeof(struct boot_params) <= BOOT_PML4_ADDR);
	assert_true(BOOT_PML4_ADDR + 4096 <= BOOT_PDPT_ADDR);
	assert_true(BOOT_PDPT_ADDR + 4096 <= BOOT_PD_ADDR);
	assert_true(BOOT_PD_ADDR + 4 * 4096 <= BOOT_CMDLINE_ADDR);
	/* The longest command line the config accepts, with its NUL. */
	assert_true(BOOT_CMDLINE_ADDR + CONFIG_CMDLINE_MAX + 1 <= BOOT_EBDA_START);
}

static void load_gdt(void **state)
{
	struct load *l = *state;
	uint64_t cs, ds, tss, null;

	assert_int_equal(gmem_read(&l->m, BOOT_GDT_ADDR, &null, 8), 0);
	assert_int_equal(gmem_read(&l->m, BOOT_GDT_ADDR + BOOT_CS, &cs, 8), 0);
	assert_int_equal(gmem_read(&l->m, BOOT_GDT_ADDR + BOOT_DS, &ds, 8), 0);
	assert_int_equal(gmem_read(&l->m, BOOT_GDT_ADDR + BOOT_TSS, &tss, 8), 0);
	assert_int_equal(null, 0);
	/* Code: present, DPL 0, code segment executable+readable, L=1 and D=0 (64-bit), G=1. */
	assert_int_equal((cs >> 40) & 0xff, 0x9b);
	assert_int_equal((cs >> 52) & 0xf, 0xa);
	/* Data: present, DPL 0, read/write, D=1, G=1, limit 4 GiB. */
	assert_int_equal((ds >> 40) & 0xff, 0x93);
	assert_int_equal((ds >> 52) & 0xf, 0xc);
	assert_int_equal(ds & 0xffff, 0xffff);
	assert_int_equal((ds >> 48) & 0xf, 0xf);
	/* TSS: present, system segment, busy 32-bit TSS. */
	assert_int_equal((tss >> 40) & 0xff, 0x8b);
}

static void load_refuses_plan_beyond_ram(void **state)
{
	struct load *l = *state;
	struct guest_mem small;
	struct boot_plan p = l->plan;

	/* A plan made for 64 MiB loaded into 8 MiB: the kernel's address is outside RAM. */
	assert_int_equal(gmem_init(&small, 8 * MiB), 0);
	assert_int_equal(x86_boot_load(&small, &p, l->im.buf, l->initrd, CMDLINE, RSDP), -EFAULT);
	/* An initrd that would run off the end. */
	p.kernel_addr = 2 * MiB;
	p.initrd_addr = 8 * MiB - 4096;
	assert_int_equal(x86_boot_load(&small, &p, l->im.buf, l->initrd, CMDLINE, RSDP), -EFAULT);
	gmem_free(&small);
}

/* The header the zero page gets stops where the image's own jump instruction says. */
static void load_header_length_from_jump(void **state)
{
	struct setup_header h = good_hdr();
	struct image im;
	struct guest_mem m;
	struct boot_plan p;
	struct boot_params bp;
	const char *why;

	(void)state;
	h.jump = 0x36eb; /* header ends at 0x238, before cmdline_size */
	h.kernel_info_offset = 0x1234;
	im = make_image(&h, IMAGE_LEN);
	assert_int_equal(gmem_init(&m, 64 * MiB), 0);
	assert_int_equal(x86_boot_plan(im.buf, im.len, 0, 64 * MiB, 0, &p, &why), 0);
	assert_int_equal(x86_boot_load(&m, &p, im.buf, NULL, "", 0), 0);
	assert_int_equal(gmem_read(&m, BOOT_ZERO_PAGE_ADDR, &bp, sizeof(bp)), 0);
	assert_int_equal(bp.hdr.xloadflags, XLF_KERNEL_64); /* at 0x236: inside */
	assert_int_equal(bp.hdr.cmdline_size, 0);	    /* at 0x238: outside */
	assert_int_equal(bp.hdr.kernel_info_offset, 0);
	assert_int_equal(bp.hdr.ramdisk_image, 0);
	assert_int_equal(bp.hdr.ramdisk_size, 0);
	assert_int_equal(bp.acpi_rsdp_addr, 0);
	gmem_free(&m);
	free(im.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(load_copies_kernel_and_initrd, load_setup,
					    load_teardown),
	    cmocka_unit_test_setup_teardown(load_zero_page_header, load_setup, load_teardown),
	    cmocka_unit_test_setup_teardown(load_cmdline, load_setup, load_teardown),
	    cmocka_unit_test_setup_teardown(load_e820, load_setup, load_teardown),
	    cmocka_unit_test(load_e820_above_hole),
	    cmocka_unit_test_setup_teardown(load_page_tables, load_setup, load_teardown),
	    cmocka_unit_test(layout_does_not_overlap),
	    cmocka_unit_test_setup_teardown(load_gdt, load_setup, load_teardown),
	    cmocka_unit_test_setup_teardown(load_refuses_plan_beyond_ram, load_setup,
					    load_teardown),
	    cmocka_unit_test(load_header_length_from_jump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
