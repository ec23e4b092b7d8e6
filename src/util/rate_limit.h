/* rate_limit.h: a token bucket: units (lines, bytes) earned by elapsed time, up to a burst. */
#ifndef BULWARK_RATE_LIMIT_H
#define BULWARK_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATE_LIMIT_MAX (UINT64_MAX / 1000000000ULL) /* the largest rate or burst */

/*
 * Credit is kept in unit-nanoseconds (units * 10^9), so no fraction of a unit is lost at any
 * rate. No allocation and no clock of its own: the caller brings the time (CLOCK_MONOTONIC, or
 * counted timer ticks), which suits threads whose allowlists have no clock syscall.
 */
struct rate_limit {
	uint64_t rate;	 /* units a second; 0 until rate_limit_init() */
	uint64_t cap;	 /* the burst, in unit-nanoseconds */
	uint64_t credit; /* earned and not yet spent, in unit-nanoseconds */
	uint64_t last_ns;
	bool started; /* the first refill only starts the clock: the bucket starts full */
};

/* RATE units a second, at most BURST at once (both from 1 to RATE_LIMIT_MAX); starts full. */
void rate_limit_init(struct rate_limit *r, uint64_t rate, uint64_t burst);

/* Brings the credit up to NOW_NS; a clock that goes back earns nothing. */
void rate_limit_refill(struct rate_limit *r, uint64_t now_ns);

/* The whole units that may be spent now. */
uint64_t rate_limit_avail(const struct rate_limit *r);

/* Spends UNITS (never more than are available). */
void rate_limit_take(struct rate_limit *r, uint64_t units);

#endif
