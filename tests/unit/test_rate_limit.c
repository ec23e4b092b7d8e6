/* test_rate_limit.c: the token bucket: starts full, earns by elapsed time exactly, stops at its
 * burst, and survives clocks that go back or leap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/rate_limit.h"

#define MS 1000000ULL

static void starts_full_and_earns_by_time(void **state)
{
	struct rate_limit r;

	(void)state;
	rate_limit_init(&r, 32768, 1000);
	rate_limit_refill(&r, 5000 * MS); /* the first refill only starts the clock */
	assert_int_equal(rate_limit_avail(&r), 1000);
	rate_limit_take(&r, 1000);
	assert_int_equal(rate_limit_avail(&r), 0);
	/* 32768/s is 32.768 a millisecond: the fraction carries over to the next... */
	rate_limit_refill(&r, 5001 * MS);
	assert_int_equal(rate_limit_avail(&r), 32);
	rate_limit_refill(&r, 5002 * MS);
	assert_int_equal(rate_limit_avail(&r), 65);
	/* ...but never more than the burst. */
	rate_limit_refill(&r, 6000 * MS);
	assert_int_equal(rate_limit_avail(&r), 1000);
}

static void takes_no_more_than_there_is(void **state)
{
	struct rate_limit r;

	(void)state;
	rate_limit_init(&r, 10, 20);
	rate_limit_take(&r, 25);
	assert_int_equal(rate_limit_avail(&r), 0);
	rate_limit_refill(&r, 0);
	rate_limit_refill(&r, 100 * MS);
	assert_int_equal(rate_limit_avail(&r), 1);
}

static void odd_clocks_and_limits(void **state)
{
	struct rate_limit r;

	(void)state;
	rate_limit_init(&r, 1, 1);
	rate_limit_refill(&r, 9000 * MS);
	rate_limit_take(&r, 1);
	/* Back in time: nothing earned, nothing broken. */
	rate_limit_refill(&r, 1000 * MS);
	assert_int_equal(rate_limit_avail(&r), 0);
	rate_limit_refill(&r, 9999 * MS);
	assert_int_equal(rate_limit_avail(&r), 0);
	rate_limit_refill(&r, 10000 * MS);
	assert_int_equal(rate_limit_avail(&r), 1);
	/* Centuries at the largest rate: no overflow, just a full bucket. */
	rate_limit_init(&r, RATE_LIMIT_MAX, RATE_LIMIT_MAX);
	rate_limit_refill(&r, 0);
	rate_limit_take(&r, RATE_LIMIT_MAX);
	rate_limit_refill(&r, UINT64_MAX);
	assert_int_equal(rate_limit_avail(&r), RATE_LIMIT_MAX);
	/* Zero is taken as one, not a division by zero. */
	rate_limit_init(&r, 0, 0);
	assert_int_equal(rate_limit_avail(&r), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(starts_full_and_earns_by_time),
	    cmocka_unit_test(takes_no_more_than_there_is),
	    cmocka_unit_test(odd_clocks_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
