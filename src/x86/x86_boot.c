/* x86_boot.c: loads a bzImage and initrd and builds what the 64-bit boot protocol expects to find. */
#include "x86/x86_boot.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <string.h>

#define HDR_OFFSET 0x1f1     /* struct setup_header within the zero page and the bzImage */
#define HDR_MAGIC 0x53726448 /* "HdrS" */
#define BOOT_FLAG_MAGIC 0xaa55
#define MIN_PROTOCOL 0x20a /* 2.10: pref_address, init_size, 64-bit entry */
#define E820_RAM 1
#define E820_RESERVED 2
#define PAGE_SIZE 4096ULL
#define PTE_PRESENT 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

/* Copies the setup header out of KERNEL (it sits at an unaligned offset in the mapped file)
 * and refuses what is not a 64-bit bzImage this code can boot. */
static int read_header(const uint8_t *kernel, size_t kernel_len, struct setup_header *h,
		       const char **why)
{
	if (kernel_len < HDR_OFFSET + sizeof(*h)) {
		*why = "not a bzImage: too short to hold a Linux boot header";
		return -EINVAL;
	}
	memcpy(h, kernel + HDR_OFFSET, sizeof(*h));
	if (h->boot_flag != BOOT_FLAG_MAGIC || h->header != HDR_MAGIC) {
		*why = "not a bzImage: no Linux boot header (missing 0xaa55 and \"HdrS\")";
		return -EINVAL;
	}
	if (h->version < MIN_PROTOCOL) {
		*why = "boot protocol older than 2.10";
		return -EINVAL;
	}
	if (!(h->loadflags & LOADED_HIGH)) {
		*why = "a zImage, not a bzImage (it does not load high)";
		return -EINVAL;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		*why = "has no 64-bit entry point (XLF_KERNEL_64 is clear)";
		return -EINVAL;
	}
	return 0;
}

/* Where the protected-mode image goes: its preferred address, or for a relocatable kernel the
 * first aligned address above 1 MiB; either way below LOW_RAM with room to decompress. */
static int place_kernel(const struct setup_header *h, uint64_t low_ram, struct boot_plan *plan,
			const char **why)
{
	/* The kernel needs init_size bytes from its load address for decompression. */
	uint64_t need = h->init_size > plan->kernel_size ? h->init_size : plan->kernel_size;
	uint64_t align = h->kernel_alignment;

	if (align < PAGE_SIZE || (align & (align - 1)))
		align = 0x200000;
	plan->kernel_addr = h->pref_address;
	if (plan->kernel_addr < BOOT_HIMEM_START || plan->kernel_addr > low_ram ||
	    need > low_ram - plan->kernel_addr) {
		/* A relocatable kernel may go lower, at the first aligned address above 1 MiB. */
		plan->kernel_addr = align_up(BOOT_HIMEM_START, align);
		if (!h->relocatable_kernel || plan->kernel_addr > low_ram ||
		    need > low_ram - plan->kernel_addr) {
			*why = "the kernel does not fit in guest memory";
			return -ENOSPC;
		}
	}
	plan->kernel_end = plan->kernel_addr + need;
	plan->entry = plan->kernel_addr + 0x200;
	return 0;
}

/* The initrd goes as high as the kernel allows (initrd_addr_max) below LOW_RAM, page-aligned,
 * above the kernel's end. */
static int place_initrd(const struct setup_header *h, uint64_t low_ram, uint64_t initrd_size,
			struct boot_plan *plan, const char **why)
{
	uint64_t top = low_ram;

	if ((uint64_t)h->initrd_addr_max + 1 < top)
		top = (uint64_t)h->initrd_addr_max + 1;
	if (initrd_size > top || align_down(top - initrd_size, PAGE_SIZE) < plan->kernel_end) {
		*why = "the kernel and initrd together do not fit in guest memory";
		return -ENOSPC;
	}
	plan->initrd_addr = align_down(top - initrd_size, PAGE_SIZE);
	plan->initrd_size = initrd_size;
	return 0;
}

int x86_boot_plan(const uint8_t *kernel, size_t kernel_len, uint64_t initrd_size, uint64_t mem_size,
		  size_t cmdline_len, struct boot_plan *plan, const char **why)
{
	struct setup_header h;
	uint64_t setup_sects, low_ram;
	int r;

	memset(plan, 0, sizeof(*plan));
	r = read_header(kernel, kernel_len, &h, why);
	if (r)
		return r;
	setup_sects = h.setup_sects ? h.setup_sects : 4;
	plan->protocol = h.version;
	plan->setup_size = (setup_sects + 1) * 512;
	if (plan->setup_size >= kernel_len ||
	    (uint64_t)h.syssize * 16 > kernel_len - plan->setup_size) {
		*why = "truncated: the file is shorter than its boot header says";
		return -EINVAL;
	}
	plan->kernel_size = kernel_len - plan->setup_size;
	plan->cmdline_max = h.cmdline_size;
	if (cmdline_len > h.cmdline_size) {
		*why = "the command line is longer than this kernel accepts (cmdline_size)";
		return -E2BIG;
	}
	low_ram = mem_size < GMEM_HOLE_START ? mem_size : GMEM_HOLE_START;
	r = place_kernel(&h, low_ram, plan, why);
	if (r || !initrd_size)
		return r;
	return place_initrd(&h, low_ram, initrd_size, plan, why);
}

static void add_e820(struct boot_params *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	if (size == 0 || bp->e820_entries >= E820_MAX_ENTRIES_ZEROPAGE)
		return;
	bp->e820_table[bp->e820_entries++] = (struct boot_e820_entry){addr, size, type};
}

static int build_zero_page(const struct guest_mem *m, const struct boot_plan *plan,
			   const uint8_t *kernel, uint64_t rsdp_addr)
{
	struct boot_params bp;
	size_t hdr_len;

	memset(&bp, 0, sizeof(bp));
	/* The header runs from 0x1f1 to the end its own jump instruction at 0x200 announces. */
	hdr_len = 0x202 + kernel[0x201] - HDR_OFFSET;
	if (hdr_len > sizeof(bp.hdr))
		hdr_len = sizeof(bp.hdr);
	memcpy(&bp.hdr, kernel + HDR_OFFSET, hdr_len);
	bp.hdr.type_of_loader = 0xff; /* undefined loader */
	bp.hdr.vid_mode = 0xffff;     /* "normal" */
	bp.hdr.loadflags |= CAN_USE_HEAP;
	bp.hdr.heap_end_ptr = 0xfe00;
	bp.hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	bp.hdr.ramdisk_image = (uint32_t)plan->initrd_addr;
	bp.hdr.ramdisk_size = (uint32_t)plan->initrd_size;
	bp.acpi_rsdp_addr = rsdp_addr;

	add_e820(&bp, 0, BOOT_EBDA_START, E820_RAM);
	add_e820(&bp, BOOT_ACPI_ADDR, BOOT_ACPI_SIZE, E820_RESERVED);
	add_e820(&bp, BOOT_HIMEM_START, m->low_size - BOOT_HIMEM_START, E820_RAM);
	add_e820(&bp, GMEM_HIGH_START, m->size - m->low_size, E820_RAM);
	return gmem_write(m, BOOT_ZERO_PAGE_ADDR, &bp, sizeof(bp));
}

/* Identity-maps the first 4 GiB with 2 MiB pages: enough for the kernel to find itself. */
static int build_page_tables(const struct guest_mem *m)
{
	uint64_t pml4[512] = {0}, pdpt[512] = {0}, pd[512];
	unsigned i, j;

	pml4[0] = BOOT_PDPT_ADDR | PTE_PRESENT | PTE_RW;
	for (i = 0; i < 4; i++) {
		pdpt[i] = (BOOT_PD_ADDR + i * PAGE_SIZE) | PTE_PRESENT | PTE_RW;
		for (j = 0; j < 512; j++)
			pd[j] = (((uint64_t)i << 30) + ((uint64_t)j << 21)) | PTE_PRESENT | PTE_RW |
				PTE_PS;
		if (gmem_write(m, BOOT_PD_ADDR + i * PAGE_SIZE, pd, sizeof(pd)))
			return -EFAULT;
	}
	if (gmem_write(m, BOOT_PML4_ADDR, pml4, sizeof(pml4)) ||
	    gmem_write(m, BOOT_PDPT_ADDR, pdpt, sizeof(pdpt)))
		return -EFAULT;
	return 0;
}

static int build_gdt(const struct guest_mem *m)
{
	const uint64_t gdt[] = {
	    0,
	    0,
	    0x00af9b000000ffffULL, /* BOOT_CS: 64-bit code, present, DPL 0 */
	    0x00cf93000000ffffULL, /* BOOT_DS: flat data, read/write */
	    0x008f8b000000ffffULL, /* BOOT_TSS: busy 32-bit TSS, for VMX's entry checks */
	};
	return gmem_write(m, BOOT_GDT_ADDR, gdt, sizeof(gdt));
}

int x86_boot_load(const struct guest_mem *m, const struct boot_plan *plan, const uint8_t *kernel,
		  const uint8_t *initrd, const char *cmdline, uint64_t rsdp_addr)
{
	size_t cmdline_len = strlen(cmdline);

	if (gmem_write(m, plan->kernel_addr, kernel + plan->setup_size, plan->kernel_size))
		return -EFAULT;
	if (plan->initrd_size && gmem_write(m, plan->initrd_addr, initrd, plan->initrd_size))
		return -EFAULT;
	if (gmem_write(m, BOOT_CMDLINE_ADDR, cmdline, cmdline_len + 1))
		return -EFAULT;
	if (build_zero_page(m, plan, kernel, rsdp_addr) || build_page_tables(m) || build_gdt(m))
		return -EFAULT;
	return 0;
}
