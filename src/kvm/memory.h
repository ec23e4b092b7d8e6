/* memory.h: guest RAM and the one checked accessor that turns guest addresses into host pointers. */
#ifndef BULWARK_MEMORY_H
#define BULWARK_MEMORY_H

#include <stddef.h>
#include <stdint.h>

/* RAM stops below the 32-bit MMIO hole and resumes at 4 GiB. */
#define GMEM_HOLE_START 0xC0000000ULL
#define GMEM_HIGH_START 0x100000000ULL

struct guest_mem {
	uint8_t *host;	   /* one mapping: low RAM first, then high RAM */
	uint64_t size;	   /* total RAM in bytes */
	uint64_t low_size; /* gpa [0, low_size) maps to host[0, low_size) */
	/* gpa [GMEM_HIGH_START, GMEM_HIGH_START + size - low_size) maps to host[low_size, size) */
};

/* Maps SIZE bytes of anonymous, zeroed RAM. Returns 0 or -errno. */
int gmem_init(struct guest_mem *m, uint64_t size);
void gmem_free(struct guest_mem *m);

/*
 * The only door from a guest-physical range to host memory: returns a host pointer to
 * [gpa, gpa + len) when that range lies wholly inside one RAM region, else NULL. len 0 is
 * refused. Overflow-safe for any gpa and len.
 */
void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copies between guest RAM and host buffers through gmem_ptr. Return 0 or -EFAULT. */
int gmem_read(const struct guest_mem *m, uint64_t gpa, void *dst, size_t len);
int gmem_write(const struct guest_mem *m, uint64_t gpa, const void *src, size_t len);

#endif
