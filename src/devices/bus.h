/* bus.h: dispatch of guest port-I/O and MMIO accesses to the device that claims the range. */
#ifndef BULWARK_BUS_H
#define BULWARK_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_RANGES 64

/*
 * OFFSET is relative to the range's base. DATA holds LEN (1, 2, 4 or 8) bytes: the value written,
 * or the place to store the value read. Handlers run on vCPU threads, possibly several at once.
 */
typedef void (*bus_handler)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			    bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_handler fn;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name; /* "pio" or "mmio", for logs */
	unsigned n;
	struct bus_range r[BUS_MAX_RANGES]; /* sorted by base, never overlapping */
	unsigned long unclaimed;	    /* accesses nobody claimed; updated atomically */
};

void bus_init(struct bus *b, const char *name);

/* Claims [base, base + len). Returns 0, -EEXIST on overlap, -ENOSPC when full, -EINVAL for len 0. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_handler fn, void *opaque,
		 const char *name);

/*
 * Delivers one access. An unclaimed access is ignored (reads see all ones) and counted, and the
 * first few are logged. Returns true when a device claimed it.
 */
bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

#endif
