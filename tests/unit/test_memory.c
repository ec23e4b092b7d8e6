/* test_memory.c: guest RAM allocation and gmem_ptr, the one checked guest-physical accessor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "kvm/memory.h"
#include "util/bytes.h"

#define SMALL (64 * 1024ULL)

static int small_setup(void **state)
{
	static struct guest_mem m;

	if (gmem_init(&m, SMALL))
		return -1;
	*state = &m;
	return 0;
}

static int small_teardown(void **state)
{
	gmem_free(*state);
	return 0;
}

/*
 * A guest of 3 GiB low RAM plus 8 KiB above 4 GiB, over a fake host address: gmem_ptr only does
 * arithmetic, so these tests compare the pointers it returns and never dereference them.
 */
#define FAKE_HOST ((uint8_t *)(uintptr_t)0x100000000000ULL)
#define HIGH_SIZE 8192ULL

static struct guest_mem big(void)
{
	return (struct guest_mem){
	    .host = FAKE_HOST,
	    .size = GMEM_HOLE_START + HIGH_SIZE,
	    .low_size = GMEM_HOLE_START,
	};
}

static void init_refuses_zero(void **state)
{
	struct guest_mem m = {0};

	(void)state;
	assert_int_equal(gmem_init(&m, 0), -EINVAL);
	assert_null(m.host);
}

static void init_refuses_unaligned_sizes(void **state)
{
	static const uint64_t bad[] = {1, 4095, 4097, 8191, SMALL + 512};
	struct guest_mem m = {0};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(gmem_init(&m, bad[i]), -EINVAL);
		assert_null(m.host);
	}
}

static void init_small_layout(void **state)
{
	struct guest_mem *m = *state;
	uint8_t *p = gmem_ptr(m, 0, SMALL);

	assert_non_null(m->host);
	assert_int_equal(m->size, SMALL);
	assert_int_equal(m->low_size, SMALL);
	assert_ptr_equal(p, m->host);
	/* Anonymous memory starts zeroed. */
	for (uint64_t i = 0; i < SMALL; i += 4096)
		assert_int_equal(p[i], 0);
}

static void free_clears(void **state)
{
	struct guest_mem m;

	(void)state;
	assert_int_equal(gmem_init(&m, 4096), 0);
	gmem_free(&m);
	assert_null(m.host);
	assert_int_equal(m.size, 0);
	assert_int_equal(m.low_size, 0);
	assert_null(gmem_ptr(&m, 0, 1));
	gmem_free(&m); /* idempotent */
}

static void ptr_first_and_last_byte(void **state)
{
	struct guest_mem *m = *state;

	assert_ptr_equal(gmem_ptr(m, 0, 1), m->host);
	assert_ptr_equal(gmem_ptr(m, SMALL - 1, 1), m->host + SMALL - 1);
}

static void ptr_range_ending_exactly_at_end(void **state)
{
	struct guest_mem *m = *state;

	assert_ptr_equal(gmem_ptr(m, SMALL - 8, 8), m->host + SMALL - 8);
	assert_ptr_equal(gmem_ptr(m, 4096, SMALL - 4096), m->host + 4096);
}

static void ptr_one_past_end(void **state)
{
	struct guest_mem *m = *state;

	assert_null(gmem_ptr(m, SMALL, 1));
	assert_null(gmem_ptr(m, SMALL - 8, 9));
	assert_null(gmem_ptr(m, 0, SMALL + 1));
}

static void ptr_len_zero_refused(void **state)
{
	struct guest_mem *m = *state;

	assert_null(gmem_ptr(m, 0, 0));
	assert_null(gmem_ptr(m, 100, 0));
}

static void ptr_overflow_refused(void **state)
{
	struct guest_mem *m = *state;

	/* gpa + len wraps to a small number: a naive "gpa + len <= size" would pass. */
	assert_null(gmem_ptr(m, 1, UINT64_MAX));
	assert_null(gmem_ptr(m, 16, UINT64_MAX - 15));
	assert_null(gmem_ptr(m, 0, UINT64_MAX));
	assert_null(gmem_ptr(m, UINT64_MAX, 1));
	assert_null(gmem_ptr(m, UINT64_MAX, UINT64_MAX));
	assert_null(gmem_ptr(m, UINT64_MAX - 7, 16));
	assert_null(gmem_ptr(m, UINT64_MAX - SMALL + 1, SMALL));
}

static void ptr_no_host_refused(void **state)
{
	struct guest_mem m = {.host = NULL, .size = SMALL, .low_size = SMALL};

	(void)state;
	assert_null(gmem_ptr(&m, 0, 1));
}

static void big_low_ram_end(void **state)
{
	struct guest_mem m = big();

	(void)state;
	assert_ptr_equal(gmem_ptr(&m, GMEM_HOLE_START - 1, 1), FAKE_HOST + GMEM_HOLE_START - 1);
	assert_ptr_equal(gmem_ptr(&m, 0, GMEM_HOLE_START), FAKE_HOST);
}

static void big_hole_refused(void **state)
{
	struct guest_mem m = big();

	(void)state;
	assert_null(gmem_ptr(&m, GMEM_HOLE_START, 1));
	assert_null(gmem_ptr(&m, GMEM_HOLE_START + 0x1000, 4));
	assert_null(gmem_ptr(&m, 0xfee00000, 4)); /* the local APIC */
	assert_null(gmem_ptr(&m, GMEM_HIGH_START - 1, 1));
	/* Ending in high RAM does not make a range that starts in the hole valid. */
	assert_null(gmem_ptr(&m, GMEM_HIGH_START - 1, 2));
}

static void big_high_ram_follows_low_ram(void **state)
{
	struct guest_mem m = big();

	(void)state;
	assert_ptr_equal(gmem_ptr(&m, GMEM_HIGH_START, 1), FAKE_HOST + GMEM_HOLE_START);
	assert_ptr_equal(gmem_ptr(&m, GMEM_HIGH_START + 100, 4), FAKE_HOST + GMEM_HOLE_START + 100);
	assert_ptr_equal(gmem_ptr(&m, GMEM_HIGH_START, HIGH_SIZE), FAKE_HOST + GMEM_HOLE_START);
	assert_ptr_equal(gmem_ptr(&m, GMEM_HIGH_START + HIGH_SIZE - 1, 1),
			 FAKE_HOST + GMEM_HOLE_START + HIGH_SIZE - 1);
}

static void big_high_ram_end(void **state)
{
	struct guest_mem m = big();

	(void)state;
	assert_null(gmem_ptr(&m, GMEM_HIGH_START + HIGH_SIZE, 1));
	assert_null(gmem_ptr(&m, GMEM_HIGH_START, HIGH_SIZE + 1));
	assert_null(gmem_ptr(&m, GMEM_HIGH_START + HIGH_SIZE - 1, 2));
	assert_null(gmem_ptr(&m, GMEM_HIGH_START + 1, UINT64_MAX));
	assert_null(gmem_ptr(&m, UINT64_MAX - 3, 4));
}

static void big_straddle_low_end_refused(void **state)
{
	struct guest_mem m = big();

	(void)state;
	/* Low RAM and high RAM are adjacent in the host mapping but not in the guest's. */
	assert_null(gmem_ptr(&m, GMEM_HOLE_START - 1, 2));
	assert_null(gmem_ptr(&m, GMEM_HOLE_START - 4, 8));
	assert_null(gmem_ptr(&m, 0, GMEM_HOLE_START + 1));
	assert_null(gmem_ptr(&m, GMEM_HOLE_START - 4096, GMEM_HIGH_START - GMEM_HOLE_START + 8192));
}

/* The same layout through a real mapping: MAP_NORESERVE makes 4 GiB cheap when the host allows. */
static void init_above_hole(void **state)
{
	struct guest_mem m;
	const uint64_t size = GMEM_HIGH_START + HIGH_SIZE;
	uint32_t v = 0xdeadbeef, back = 0;
	int r = gmem_init(&m, size);

	(void)state;
	if (r == -ENOMEM)
		skip();
	assert_int_equal(r, 0);
	assert_int_equal(m.low_size, GMEM_HOLE_START);
	assert_int_equal(m.size, size);
	assert_ptr_equal(gmem_ptr(&m, GMEM_HIGH_START, 4), m.host + GMEM_HOLE_START);
	assert_null(gmem_ptr(&m, GMEM_HOLE_START, 4));
	/* High RAM ends at 4 GiB + (size - 3 GiB). */
	assert_non_null(gmem_ptr(&m, GMEM_HIGH_START + size - GMEM_HOLE_START - 4, 4));
	assert_null(gmem_ptr(&m, GMEM_HIGH_START + size - GMEM_HOLE_START - 3, 4));
	assert_int_equal(gmem_write(&m, GMEM_HIGH_START + 8, &v, sizeof(v)), 0);
	assert_memory_equal(m.host + GMEM_HOLE_START + 8, &v, sizeof(v));
	assert_int_equal(gmem_read(&m, GMEM_HIGH_START + 8, &back, sizeof(back)), 0);
	assert_int_equal(back, v);
	gmem_free(&m);
}

static void read_write_round_trip(void **state)
{
	struct guest_mem *m = *state;
	uint8_t in[300], out[300];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(gmem_write(m, 0x1234, in, sizeof(in)), 0);
	assert_memory_equal(m->host + 0x1234, in, sizeof(in));
	memset(out, 0, sizeof(out));
	assert_int_equal(gmem_read(m, 0x1234, out, sizeof(out)), 0);
	assert_memory_equal(out, in, sizeof(in));
	/* The very last bytes of RAM. */
	assert_int_equal(gmem_write(m, SMALL - sizeof(in), in, sizeof(in)), 0);
	assert_int_equal(gmem_read(m, SMALL - sizeof(in), out, sizeof(out)), 0);
	assert_memory_equal(out, in, sizeof(in));
}

static void write_out_of_range_efault_untouched(void **state)
{
	struct guest_mem *m = *state;
	uint8_t src[16];

	memset(src, 0xab, sizeof(src));
	memset(m->host + SMALL - 8, 0, 8);
	/* Half in, half out: nothing at all is written. */
	assert_int_equal(gmem_write(m, SMALL - 8, src, sizeof(src)), -EFAULT);
	for (int i = 0; i < 8; i++)
		assert_int_equal(m->host[SMALL - 8 + i], 0);
	assert_int_equal(gmem_write(m, SMALL, src, 1), -EFAULT);
	assert_int_equal(gmem_write(m, UINT64_MAX, src, 1), -EFAULT);
	assert_int_equal(gmem_write(m, 0, src, 0), -EFAULT);
}

static void read_out_of_range_efault_untouched(void **state)
{
	struct guest_mem *m = *state;
	uint8_t dst[16];

	memset(dst, 0x5a, sizeof(dst));
	assert_int_equal(gmem_read(m, SMALL - 8, dst, sizeof(dst)), -EFAULT);
	assert_int_equal(gmem_read(m, SMALL, dst, 1), -EFAULT);
	assert_int_equal(gmem_read(m, UINT64_MAX - 1, dst, 4), -EFAULT);
	assert_int_equal(gmem_read(m, 0, dst, 0), -EFAULT);
	for (size_t i = 0; i < sizeof(dst); i++)
		assert_int_equal(dst[i], 0x5a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(init_refuses_zero),
	    cmocka_unit_test(init_refuses_unaligned_sizes),
	    cmocka_unit_test_setup_teardown(init_small_layout, small_setup, small_teardown),
	    cmocka_unit_test(free_clears),
	    cmocka_unit_test_setup_teardown(ptr_first_and_last_byte, small_setup, small_teardown),
	    cmocka_unit_test_setup_teardown(ptr_range_ending_exactly_at_end, small_setup,
					    small_teardown),
	    cmocka_unit_test_setup_teardown(ptr_one_past_end, small_setup, small_teardown),
	    cmocka_unit_test_setup_teardown(ptr_len_zero_refused, small_setup, small_teardown),
	    cmocka_unit_test_setup_teardown(ptr_overflow_refused, small_setup, small_teardown),
	    cmocka_unit_test(ptr_no_host_refused),
	    cmocka_unit_test(big_low_ram_end),
	    cmocka_unit_test(big_hole_refused),
	    cmocka_unit_test(big_high_ram_follows_low_ram),
	    cmocka_unit_test(big_high_ram_end),
	    cmocka_unit_test(big_straddle_low_end_refused),
	    cmocka_unit_test(init_above_hole),
	    cmocka_unit_test_setup_teardown(read_write_round_trip, small_setup, small_teardown),
	    cmocka_unit_test_setup_teardown(write_out_of_range_efault_untouched, small_setup,
					    small_teardown),
	    cmocka_unit_test_setup_teardown(read_out_of_range_efault_untouched, small_setup,
					    small_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
