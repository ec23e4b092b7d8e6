/* test_bus.c: PIO/MMIO range registration, lookup, straddling and unclaimed accesses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "devices/bus.h"
#include "util/bytes.h"

/* What a handler saw on its last call. */
struct dev {
	int calls;
	uint64_t offset;
	uint32_t len;
	bool is_write;
	uint8_t written[8];
	uint8_t reply; /* reads are answered with REPLY, REPLY + 1, ... */
};

static void handler(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct dev *d = opaque;

	d->calls++;
	d->offset = offset;
	d->len = len;
	d->is_write = is_write;
	if (is_write)
		memcpy(d->written, data, len);
	else
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(d->reply + i);
}

static struct bus b;

static int setup(void **state)
{
	(void)state;
	bus_init(&b, "test");
	return 0;
}

static int reg(uint64_t base, uint64_t len, struct dev *d)
{
	return bus_register(&b, base, len, handler, d, "dev");
}

/* Reads one byte at ADDR: the device that got it, or NULL. */
static struct dev *owner(uint64_t addr, struct dev **all, int n)
{
	uint8_t v;
	int before[16];

	for (int i = 0; i < n; i++)
		before[i] = all[i]->calls;
	if (!bus_access(&b, addr, &v, 1, false))
		return NULL;
	for (int i = 0; i < n; i++)
		if (all[i]->calls != before[i])
			return all[i];
	fail_msg("claimed by no known device");
	return NULL;
}

static void init_empty(void **state)
{
	(void)state;
	assert_int_equal(b.n, 0);
	assert_int_equal(b.unclaimed, 0);
	assert_string_equal(b.name, "test");
}

static void register_and_lookup(void **state)
{
	struct dev d = {.reply = 0x40};
	uint8_t v[2] = {0};

	(void)state;
	assert_int_equal(reg(0x3f8, 8, &d), 0);
	assert_int_equal(b.n, 1);
	assert_true(bus_access(&b, 0x3f8, v, 1, false));
	assert_int_equal(d.calls, 1);
	assert_int_equal(v[0], 0x40);
	assert_true(bus_access(&b, 0x3ff, v, 1, false));
	assert_int_equal(d.calls, 2);
	assert_false(bus_access(&b, 0x3f7, v, 1, false));
	assert_false(bus_access(&b, 0x400, v, 1, false));
	assert_int_equal(d.calls, 2);
}

static void handler_gets_offset_len_direction(void **state)
{
	struct dev d = {.reply = 0x10};
	uint8_t w[4] = {0xde, 0xad, 0xbe, 0xef}, r[8];

	(void)state;
	assert_int_equal(reg(0xfeb00000, 0x1000, &d), 0);
	assert_true(bus_access(&b, 0xfeb00104, w, 4, true));
	assert_int_equal(d.offset, 0x104);
	assert_int_equal(d.len, 4);
	assert_true(d.is_write);
	assert_memory_equal(d.written, w, 4);
	memset(r, 0, sizeof(r));
	assert_true(bus_access(&b, 0xfeb00ff8, r, 8, false));
	assert_int_equal(d.offset, 0xff8);
	assert_int_equal(d.len, 8);
	assert_false(d.is_write);
	for (int i = 0; i < 8; i++)
		assert_int_equal(r[i], 0x10 + i);
	assert_int_equal(b.unclaimed, 0);
}

static void insertion_order_does_not_matter(void **state)
{
	static const int orders[][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1, 3, 0, 2}};
	static const uint64_t base[] = {0x100, 0x200, 0x300, 0x400};

	(void)state;
	for (size_t o = 0; o < ARRAY_SIZE(orders); o++) {
		struct dev d[4] = {{0}};
		struct dev *all[4] = {&d[0], &d[1], &d[2], &d[3]};

		bus_init(&b, "test");
		for (int i = 0; i < 4; i++)
			assert_int_equal(reg(base[orders[o][i]], 0x10, &d[orders[o][i]]), 0);
		/* Kept sorted by base, whatever the order of registration. */
		for (unsigned i = 0; i < b.n; i++)
			assert_int_equal(b.r[i].base, base[i]);
		for (int i = 0; i < 4; i++) {
			assert_ptr_equal(owner(base[i], all, 4), &d[i]);
			assert_ptr_equal(owner(base[i] + 0xf, all, 4), &d[i]);
			assert_null(owner(base[i] + 0x10, all, 4));
			assert_null(owner(base[i] - 1, all, 4));
		}
	}
}

static void many_ranges_bisect(void **state)
{
	struct dev d[BUS_MAX_RANGES];
	struct dev *all[16];

	(void)state;
	memset(d, 0, sizeof(d));
	/* Interleaved registration order; every range must still be found. */
	for (unsigned i = 0; i < BUS_MAX_RANGES; i++) {
		unsigned k = (i * 37) % BUS_MAX_RANGES; /* 37 is coprime with 64: a permutation */

		assert_int_equal(reg(0x1000 + k * 0x100, 0x80, &d[k]), 0);
	}
	for (unsigned k = 0; k < BUS_MAX_RANGES; k++) {
		uint8_t v;

		all[0] = &d[k];
		assert_ptr_equal(owner(0x1000 + k * 0x100 + 0x7f, all, 1), &d[k]);
		assert_false(bus_access(&b, 0x1000 + k * 0x100 + 0x80, &v, 1, false));
	}
}

static void overlap_refused(void **state)
{
	struct dev d = {0}, e = {0};
	struct dev *all[2] = {&d, &e};

	(void)state;
	assert_int_equal(reg(0x100, 0x10, &d), 0);
	assert_int_equal(reg(0x100, 0x10, &e), -EEXIST);     /* identical */
	assert_int_equal(reg(0x108, 0x10, &e), -EEXIST);     /* tail */
	assert_int_equal(reg(0xf8, 0x10, &e), -EEXIST);	     /* head */
	assert_int_equal(reg(0x104, 2, &e), -EEXIST);	     /* inside */
	assert_int_equal(reg(0x0, 0x1000, &e), -EEXIST);     /* around */
	assert_int_equal(reg(0x0, UINT64_MAX, &e), -EEXIST); /* everything */
	assert_int_equal(reg(0x10f, 1, &e), -EEXIST);	     /* last byte */
	assert_int_equal(reg(0xff, 2, &e), -EEXIST);	     /* first byte from below */
	assert_int_equal(b.n, 1);
	/* The refusals changed nothing: the original still owns its range. */
	assert_ptr_equal(owner(0x108, all, 2), &d);
	assert_int_equal(e.calls, 0);
}

static void adjacent_ranges_allowed(void **state)
{
	struct dev d = {0}, lo = {0}, hi = {0};
	struct dev *all[3] = {&d, &lo, &hi};

	(void)state;
	assert_int_equal(reg(0x100, 0x10, &d), 0);
	assert_int_equal(reg(0xf0, 0x10, &lo), 0);  /* ends right where d starts */
	assert_int_equal(reg(0x110, 0x10, &hi), 0); /* starts right where d ends */
	assert_int_equal(b.n, 3);
	assert_ptr_equal(owner(0xff, all, 3), &lo);
	assert_ptr_equal(owner(0x100, all, 3), &d);
	assert_ptr_equal(owner(0x10f, all, 3), &d);
	assert_ptr_equal(owner(0x110, all, 3), &hi);
}

static void len_zero_and_null_handler_refused(void **state)
{
	struct dev d = {0};

	(void)state;
	assert_int_equal(reg(0x100, 0, &d), -EINVAL);
	assert_int_equal(bus_register(&b, 0x100, 1, NULL, &d, "null"), -EINVAL);
	assert_int_equal(b.n, 0);
}

static void wrapping_range_refused(void **state)
{
	struct dev d = {0};

	(void)state;
	assert_int_equal(reg(UINT64_MAX, 2, &d), -EINVAL);
	assert_int_equal(reg(UINT64_MAX - 3, 5, &d), -EINVAL);
	assert_int_equal(reg(2, UINT64_MAX, &d), -EINVAL);
	assert_int_equal(reg(0x1000, UINT64_MAX, &d), -EINVAL);
	assert_int_equal(b.n, 0);
	/* [1, 2^64) is exactly 2^64 - 1 bytes: it fits. */
	assert_int_equal(reg(1, UINT64_MAX, &d), 0);
}

static void range_ending_at_top_allowed(void **state)
{
	struct dev d = {.reply = 7};
	struct dev *all[1] = {&d};
	uint8_t v[8];

	(void)state;
	assert_int_equal(reg(UINT64_MAX - 3, 4, &d), 0);
	assert_ptr_equal(owner(UINT64_MAX, all, 1), &d);
	assert_true(bus_access(&b, UINT64_MAX - 3, v, 4, false));
	assert_int_equal(d.offset, 0);
	/* An access running past 2^64 is nobody's. */
	assert_false(bus_access(&b, UINT64_MAX - 1, v, 4, false));
	assert_false(bus_access(&b, UINT64_MAX, v, 8, false));
	/* And nothing else can overlap the top. */
	assert_int_equal(reg(UINT64_MAX, 1, &d), -EEXIST);
	/* The whole address space as one range. */
	bus_init(&b, "test");
	assert_int_equal(reg(0, UINT64_MAX, &d), 0);
	assert_int_equal(reg(UINT64_MAX, 1, &d), 0);
}

static void full_table_refused(void **state)
{
	struct dev d = {0};
	struct dev *all[1] = {&d};

	(void)state;
	for (unsigned i = 0; i < BUS_MAX_RANGES; i++)
		assert_int_equal(reg(i * 0x10, 0x10, &d), 0);
	assert_int_equal(b.n, BUS_MAX_RANGES);
	assert_int_equal(reg(0x10000, 0x10, &d), -ENOSPC);
	assert_int_equal(b.n, BUS_MAX_RANGES);
	assert_null(owner(0x10000, all, 1));
	assert_ptr_equal(owner(BUS_MAX_RANGES * 0x10 - 1, all, 1), &d);
}

static void straddling_access_goes_to_nobody(void **state)
{
	struct dev d = {.reply = 1}, e = {.reply = 2};
	uint8_t v[4];
	uint8_t w[4] = {1, 2, 3, 4};

	(void)state;
	assert_int_equal(reg(0x60, 1, &d), 0);
	assert_int_equal(reg(0x61, 4, &e), 0);
	/* Two bytes at 0x60 would cover the end of d and the start of e. */
	assert_false(bus_access(&b, 0x60, v, 2, false));
	assert_int_equal(v[0], 0xff);
	assert_int_equal(v[1], 0xff);
	/* The last byte of e and one past it. */
	assert_false(bus_access(&b, 0x64, v, 2, true));
	assert_false(bus_access(&b, 0x63, w, 4, true));
	assert_int_equal(d.calls, 0);
	assert_int_equal(e.calls, 0);
	assert_int_equal(b.unclaimed, 3);
	/* While an access ending exactly at the end is delivered. */
	assert_true(bus_access(&b, 0x63, v, 2, false));
	assert_int_equal(e.offset, 2);
	assert_int_equal(e.len, 2);
}

static void unclaimed_read_all_ones_and_counted(void **state)
{
	uint8_t v[8];

	(void)state;
	memset(v, 0, sizeof(v));
	assert_false(bus_access(&b, 0x80, v, 8, false));
	for (int i = 0; i < 8; i++)
		assert_int_equal(v[i], 0xff);
	assert_int_equal(b.unclaimed, 1);
	/* Only LEN bytes are touched. */
	memset(v, 0, sizeof(v));
	assert_false(bus_access(&b, 0x80, v, 2, false));
	assert_int_equal(v[0], 0xff);
	assert_int_equal(v[1], 0xff);
	assert_int_equal(v[2], 0);
	assert_int_equal(b.unclaimed, 2);
}

static void unclaimed_writes_counted_untouched(void **state)
{
	uint8_t w[4] = {1, 2, 3, 4};

	(void)state;
	for (int i = 0; i < 20; i++)
		assert_false(bus_access(&b, 0x80 + i, w, 4, true));
	assert_int_equal(b.unclaimed, 20); /* counting goes on after logging stops */
	assert_int_equal(w[0], 1);
	assert_int_equal(w[3], 4);
}

static void bad_access_len_refused(void **state)
{
	struct dev d = {0};
	uint8_t v[16];

	(void)state;
	assert_int_equal(reg(0, 0x100, &d), 0);
	memset(v, 0x33, sizeof(v));
	assert_false(bus_access(&b, 0x10, v, 0, false));
	assert_false(bus_access(&b, 0x10, v, 9, false));
	assert_false(bus_access(&b, 0x10, v, 16, true));
	assert_false(bus_access(&b, 0x10, v, UINT32_MAX, false));
	assert_int_equal(d.calls, 0);
	/* Nothing was written through DATA for a refused length. */
	for (size_t i = 0; i < sizeof(v); i++)
		assert_int_equal(v[i], 0x33);
	/* Every length from 1 to 8 is delivered. */
	for (uint32_t len = 1; len <= 8; len++) {
		assert_true(bus_access(&b, 0x10, v, len, false));
		assert_int_equal(d.len, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(init_empty, setup),
	    cmocka_unit_test_setup(register_and_lookup, setup),
	    cmocka_unit_test_setup(handler_gets_offset_len_direction, setup),
	    cmocka_unit_test_setup(insertion_order_does_not_matter, setup),
	    cmocka_unit_test_setup(many_ranges_bisect, setup),
	    cmocka_unit_test_setup(overlap_refused, setup),
	    cmocka_unit_test_setup(adjacent_ranges_allowed, setup),
	    cmocka_unit_test_setup(len_zero_and_null_handler_refused, setup),
	    cmocka_unit_test_setup(wrapping_range_refused, setup),
	    cmocka_unit_test_setup(range_ending_at_top_allowed, setup),
	    cmocka_unit_test_setup(full_table_refused, setup),
	    cmocka_unit_test_setup(straddling_access_goes_to_nobody, setup),
	    cmocka_unit_test_setup(unclaimed_read_all_ones_and_counted, setup),
	    cmocka_unit_test_setup(unclaimed_writes_counted_untouched, setup),
	    cmocka_unit_test_setup(bad_access_len_refused, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
