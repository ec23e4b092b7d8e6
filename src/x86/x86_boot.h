/* x86_boot.h: the Linux x86-64 boot protocol without firmware: bzImage, initrd, zero page, e820, page tables. */
#ifndef BULWARK_X86_BOOT_H
#define BULWARK_X86_BOOT_H

#include "kvm/memory.h"

#include <stddef.h>
#include <stdint.h>

/* The guest-physical layout of everything bulwark places below the kernel. */
#define BOOT_GDT_ADDR 0x500ULL
#define BOOT_ZERO_PAGE_ADDR 0x7000ULL
#define BOOT_PML4_ADDR 0x9000ULL
#define BOOT_PDPT_ADDR 0xa000ULL
#define BOOT_PD_ADDR 0xb000ULL /* four pages: 0..4 GiB in 2 MiB pages */
#define BOOT_CMDLINE_ADDR 0x20000ULL
#define BOOT_EBDA_START 0x9fc00ULL
#define BOOT_ACPI_ADDR 0xe0000ULL
#define BOOT_ACPI_SIZE 0x20000ULL
#define BOOT_HIMEM_START 0x100000ULL

/* Selectors the 64-bit boot protocol asks for (__BOOT_CS, __BOOT_DS) and a TSS. */
#define BOOT_CS 0x10
#define BOOT_DS 0x18
#define BOOT_TSS 0x20

/* What a checked bzImage and its initrd will occupy; computed without touching guest memory. */
struct boot_plan {
	uint16_t protocol;    /* e.g. 0x20f */
	uint64_t setup_size;  /* bytes of real-mode setup before the protected-mode image */
	uint64_t kernel_addr; /* where the protected-mode image goes */
	uint64_t kernel_size; /* bytes copied there */
	uint64_t kernel_end;  /* kernel_addr + the larger of init_size and kernel_size */
	uint64_t entry;	      /* 64-bit entry point */
	uint64_t initrd_addr; /* 0 without initrd */
	uint64_t initrd_size;
	uint32_t cmdline_max; /* the kernel's cmdline_size */
};

/*
 * Checks KERNEL (a whole bzImage) and plans where it and an initrd of INITRD_SIZE bytes go in
 * MEM_SIZE bytes of RAM with a command line of CMDLINE_LEN bytes. Returns 0, or -EINVAL / -E2BIG
 * / -ENOSPC with WHY set to a reason fit for "FILE: WHY".
 */
int x86_boot_plan(const uint8_t *kernel, size_t kernel_len, uint64_t initrd_size, uint64_t mem_size,
		  size_t cmdline_len, struct boot_plan *plan, const char **why);

/*
 * Copies kernel and initrd, and writes the command line, zero page (with the e820 map and
 * RSDP_ADDR), GDT and identity-mapped page tables into guest RAM. Returns 0 or -EFAULT.
 */
int x86_boot_load(const struct guest_mem *m, const struct boot_plan *plan, const uint8_t *kernel,
		  const uint8_t *initrd, const char *cmdline, uint64_t rsdp_addr);

#endif
