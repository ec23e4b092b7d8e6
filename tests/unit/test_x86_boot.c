/* test_x86_boot.c: bzImage checks and placement, the zero page, page tables and GDT, and per-vCPU CPUID. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <asm/bootparam.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "kvm/memory.h"
#include "util/bytes.h"
#include "x86/cpuid.h"
#include "x86/x86_boot.h"

#define MiB (1024ULL * 1024)
#define GiB (1024 * MiB)
#define HDR_OFFSET 0x1f1
#define SETUP_SECTS 4
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512)
#define PAYLOAD (64 * 1024)
#define IMAGE_LEN (SETUP_SIZE + PAYLOAD)
#define CMDLINE_SIZE 2047

/* A synthetic bzImage: a boot header and a recognisable protected-mode payload. */
struct image {
	uint8_t *buf;
	size_t len;
};

static struct setup_header good_hdr(void)
{
	struct setup_header h;

	memset(&h, 0, sizeof(h));
	h.setup_sects = SETUP_SECTS;
	h.syssize = PAYLOAD / 16;
	h.boot_flag = 0xaa55;
	h.jump = 0x6aeb; /* "jmp 0x26c": the header runs to the end of struct setup_header */
	h.header = 0x53726448;
	h.version = 0x20f;
	h.loadflags = LOADED_HIGH;
	h.xloadflags = XLF_KERNEL_64;
	h.pref_address = 16 * MiB;
	h.init_size = 4 * MiB;
	h.kernel_alignment = 2 * MiB;
	h.relocatable_kernel = 1;
	h.initrd_addr_max = 0x7fffffff;
	h.cmdline_size = CMDLINE_SIZE;
	return h;
}

static struct image make_image(const struct setup_header *h, size_t len)
{
	struct image im = {calloc(1, len), len};

	assert_non_null(im.buf);
	for (size_t i = SETUP_SIZE; i < len; i++)
		im.buf[i] = (uint8_t)(i * 31 + 7);
	if (len >= HDR_OFFSET + sizeof(*h))
		memcpy(im.buf + HDR_OFFSET, h, sizeof(*h));
	return im;
}

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

/* CPUID: a synthetic KVM_GET_SUPPORTED_CPUID table. */
enum { L1, LB0, LB1, LB2, L4_L1D, L4_L3, L4_NONE, L80000008, L8000001E, L0, NLEAVES };

static struct kvm_cpuid2 *supported(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + NLEAVES * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = NLEAVES;
	c->entries[L1] = (struct kvm_cpuid_entry2){
	    .function = 1, .eax = 0x906ea, .ebx = 0x77880800, .ecx = 0x7ffafbff, .edx = 0xbfebfbff};
	c->entries[L1].ecx &=
	    ~(1U << 24 | 1U << 31); /* as KVM reports: no TSC deadline, no HV bit */
	c->entries[LB0] = (struct kvm_cpuid_entry2){
	    .function = 0xb, .index = 0, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 99};
	c->entries[LB1] = (struct kvm_cpuid_entry2){
	    .function = 0xb, .index = 1, .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 99};
	c->entries[LB2] = (struct kvm_cpuid_entry2){
	    .function = 0xb, .index = 2, .eax = 7, .ebx = 7, .ecx = 0x302, .edx = 99};
	/* Leaf 4: L1 data cache (type 1, level 1), L3 unified (type 3, level 3), and the end. */
	c->entries[L4_L1D] = (struct kvm_cpuid_entry2){
	    .function = 4, .index = 0, .eax = 0xfc004121, .ebx = 0x01c0003f};
	c->entries[L4_L3] = (struct kvm_cpuid_entry2){
	    .function = 4, .index = 3, .eax = 0xfc03c163, .ebx = 0x03c0003f};
	c->entries[L4_NONE] =
	    (struct kvm_cpuid_entry2){.function = 4, .index = 4, .eax = 0xfc000000};
	c->entries[L80000008] =
	    (struct kvm_cpuid_entry2){.function = 0x80000008, .eax = 0x3027, .ecx = 0xabcd70ff};
	c->entries[L8000001E] = (struct kvm_cpuid_entry2){
	    .function = 0x8000001e, .eax = 7, .ebx = 0x0107, .ecx = 0x0303};
	c->entries[L0] = (struct kvm_cpuid_entry2){
	    .function = 0, .eax = 0x16, .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69};
	return c;
}

static void cpuid_copy_leaves_input_alone(void **state)
{
	struct kvm_cpuid2 *s = supported(), *orig = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 3, 4, true);

	(void)state;
	assert_non_null(c);
	assert_ptr_not_equal(c, s);
	assert_int_equal(c->nent, NLEAVES);
	assert_memory_equal(s, orig, sizeof(*s) + NLEAVES * sizeof(s->entries[0]));
	for (int i = 0; i < NLEAVES; i++) {
		assert_int_equal(c->entries[i].function, s->entries[i].function);
		assert_int_equal(c->entries[i].index, s->entries[i].index);
	}
	/* Leaves bulwark does not adjust pass through untouched. */
	assert_memory_equal(&c->entries[L0], &s->entries[L0], sizeof(c->entries[L0]));
	free(c);
	free(orig);
	free(s);
}

static void cpuid_leaf1_apic_id_and_count(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 3, 4, false);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->entries[L1].ebx >> 24, 3);
	assert_int_equal((c->entries[L1].ebx >> 16) & 0xff, 4);
	assert_int_equal(c->entries[L1].ebx & 0xffff, 0x0800); /* CLFLUSH size etc. kept */
	assert_int_equal(c->entries[L1].eax, s->entries[L1].eax);
	free(c);
	c = cpuid_for_vcpu(s, 253, 254, false);
	assert_non_null(c);
	assert_int_equal(c->entries[L1].ebx >> 24, 253);
	assert_int_equal((c->entries[L1].ebx >> 16) & 0xff, 254);
	free(c);
	free(s);
}

static void cpuid_leaf1_hypervisor_bit(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 0, 1, false);

	(void)state;
	assert_non_null(c);
	assert_true(c->entries[L1].ecx & (1U << 31));
	/* Every other feature bit is what KVM offered. */
	assert_int_equal(c->entries[L1].ecx & ~(1U << 31), s->entries[L1].ecx);
	free(c);
	free(s);
}

static void cpuid_leaf1_tsc_deadline_only_when_asked(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *off = cpuid_for_vcpu(s, 0, 2, false);
	struct kvm_cpuid2 *on = cpuid_for_vcpu(s, 0, 2, true);

	(void)state;
	assert_non_null(off);
	assert_non_null(on);
	assert_false(off->entries[L1].ecx & (1U << 24));
	assert_true(on->entries[L1].ecx & (1U << 24));
	free(off);
	free(on);
	free(s);
}

static void cpuid_leaf1_htt(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *one, *two;

	(void)state;
	s->entries[L1].edx |= 1U << 28;
	one = cpuid_for_vcpu(s, 0, 1, false);
	s->entries[L1].edx &= ~(1U << 28);
	two = cpuid_for_vcpu(s, 1, 2, false);
	assert_non_null(one);
	assert_non_null(two);
	assert_false(one->entries[L1].edx & (1U << 28));
	assert_true(two->entries[L1].edx & (1U << 28));
	free(one);
	free(two);
	free(s);
}

static void cpuid_leaf_b_topology(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 5, 6, false);
	const struct kvm_cpuid_entry2 *smt, *core, *end;

	(void)state;
	assert_non_null(c);
	smt = &c->entries[LB0];
	core = &c->entries[LB1];
	end = &c->entries[LB2];
	/* SMT level: one thread per core, no id bits. */
	assert_int_equal(smt->eax, 0);
	assert_int_equal(smt->ebx, 1);
	assert_int_equal(smt->ecx, 0x100);
	assert_int_equal(smt->edx, 5);
	/* Core level: six cores, three bits of x2APIC id to number them. */
	assert_int_equal(core->eax, 3);
	assert_int_equal(core->ebx, 6);
	assert_int_equal(core->ecx, 0x201);
	assert_int_equal(core->edx, 5);
	/* Past the last level: type 0 ends the enumeration. */
	assert_int_equal(end->eax, 0);
	assert_int_equal(end->ebx, 0);
	assert_int_equal(end->ecx, 2);
	assert_int_equal(end->edx, 5);
	free(c);
	free(s);
}

static void cpuid_leaf_b_shift_boundaries(void **state)
{
	static const unsigned n[] = {1, 2, 3, 4, 5, 8, 9, 254};
	static const unsigned shift[] = {0, 1, 2, 2, 3, 3, 4, 8};
	struct kvm_cpuid2 *s = supported();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(n); i++) {
		struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 0, n[i], false);

		assert_non_null(c);
		assert_int_equal(c->entries[LB1].eax, shift[i]);
		assert_int_equal(c->entries[LB1].ebx, n[i]);
		/* Every id below n fits in the shift. */
		assert_true(n[i] - 1 < (1U << shift[i]) || n[i] == 1);
		free(c);
	}
	free(s);
}

static void cpuid_leaf4_cores_per_package(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 1, 4, false);

	(void)state;
	assert_non_null(c);
	/* EAX[31:26] = cores - 1 for every cache; L3 is shared by all, L1 by one thread. */
	assert_int_equal(c->entries[L4_L1D].eax >> 26, 3);
	assert_int_equal((c->entries[L4_L1D].eax >> 14) & 0xfff, 0);
	assert_int_equal(c->entries[L4_L1D].eax & 0x3ff, 0x121);
	assert_int_equal(c->entries[L4_L3].eax >> 26, 3);
	assert_int_equal((c->entries[L4_L3].eax >> 14) & 0xfff, 3);
	assert_int_equal(c->entries[L4_L3].eax & 0x3ff, 0x163);
	/* Cache geometry in EBX is untouched; the end marker too. */
	assert_int_equal(c->entries[L4_L3].ebx, s->entries[L4_L3].ebx);
	assert_int_equal(c->entries[L4_NONE].eax, s->entries[L4_NONE].eax);
	free(c);
	free(s);
}

static void cpuid_leaf4_many_cores_saturate(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 0, 254, false);

	(void)state;
	assert_non_null(c);
	/* The six-bit field cannot say 253: it must not wrap to a small count or spill. */
	assert_int_equal(c->entries[L4_L3].eax >> 26, 63);
	assert_int_equal((c->entries[L4_L3].eax >> 14) & 0xfff, 253);
	assert_int_equal(c->entries[L4_L3].eax & 0x3ff, 0x163);
	free(c);
	c = cpuid_for_vcpu(s, 0, 65, false);
	assert_non_null(c);
	assert_int_equal(c->entries[L4_L3].eax >> 26, 63);
	free(c);
	free(s);
}

static void cpuid_amd_leaves(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 6, 8, false);

	(void)state;
	assert_non_null(c);
	/* 0x80000008 ECX: NC = 7 in [7:0], ApicIdSize = 3 in [15:12], the rest kept. */
	assert_int_equal(c->entries[L80000008].ecx & 0xff, 7);
	assert_int_equal((c->entries[L80000008].ecx >> 12) & 0xf, 3);
	assert_int_equal(c->entries[L80000008].ecx & ~0xf0ffU,
			 s->entries[L80000008].ecx & ~0xf0ffU);
	assert_int_equal(c->entries[L80000008].eax, s->entries[L80000008].eax);
	/* 0x8000001e: extended APIC id and one thread per compute unit. */
	assert_int_equal(c->entries[L8000001E].eax, 6);
	assert_int_equal(c->entries[L8000001E].ebx, 6);
	assert_int_equal(c->entries[L8000001E].ecx, 0);
	free(c);
	free(s);
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
	    cmocka_unit_test(cpuid_copy_leaves_input_alone),
	    cmocka_unit_test(cpuid_leaf1_apic_id_and_count),
	    cmocka_unit_test(cpuid_leaf1_hypervisor_bit),
	    cmocka_unit_test(cpuid_leaf1_tsc_deadline_only_when_asked),
	    cmocka_unit_test(cpuid_leaf1_htt),
	    cmocka_unit_test(cpuid_leaf_b_topology),
	    cmocka_unit_test(cpuid_leaf_b_shift_boundaries),
	    cmocka_unit_test(cpuid_leaf4_cores_per_package),
	    cmocka_unit_test(cpuid_leaf4_many_cores_saturate),
	    cmocka_unit_test(cpuid_amd_leaves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
