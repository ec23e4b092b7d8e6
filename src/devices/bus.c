/* bus.c: dispatch of guest port-I/O and MMIO accesses to the device that claims the range. */
#include "devices/bus.h"

#include "util/log.h"

#include <errno.h>
#include <string.h>

/* Enough to see what a guest probes without letting it flood the log. */
#define BUS_LOG_UNCLAIMED_MAX 8

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_handler fn, void *opaque,
		 const char *name)
{
	unsigned i;

	if (len == 0 || !fn || base + len - 1 < base)
		return -EINVAL;
	if (b->n == BUS_MAX_RANGES)
		return -ENOSPC;
	for (i = 0; i < b->n; i++) {
		const struct bus_range *r = &b->r[i];

		if (base <= r->base + r->len - 1 && r->base <= base + len - 1)
			return -EEXIST;
	}
	/* Keep the array sorted so lookups can bisect. */
	for (i = b->n; i > 0 && b->r[i - 1].base > base; i--)
		b->r[i] = b->r[i - 1];
	b->r[i] = (struct bus_range){base, len, fn, opaque, name};
	b->n++;
	return 0;
}

static const struct bus_range *bus_find(const struct bus *b, uint64_t addr, uint32_t len)
{
	unsigned lo = 0, hi = b->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &b->r[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else /* The whole access must fit: a straddling access is nobody's. */
			return len <= r->len - (addr - r->base) ? r : NULL;
	}
	return NULL;
}

bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	const struct bus_range *r;
	unsigned long n;

	if (len == 0 || len > 8)
		return false;
	r = bus_find(b, addr, len);
	if (r) {
		r->fn(r->opaque, addr - r->base, data, len, is_write);
		return true;
	}
	if (!is_write)
		memset(data, 0xff, len);
	n = __atomic_add_fetch(&b->unclaimed, 1, __ATOMIC_RELAXED);
	if (n <= BUS_LOG_UNCLAIMED_MAX)
		log_debug("%s: unclaimed %s of %u bytes at 0x%llx%s", b->name,
			  is_write ? "write" : "read", len, (unsigned long long)addr,
			  n == BUS_LOG_UNCLAIMED_MAX ? " (further ones only counted)" : "");
	return false;
}
