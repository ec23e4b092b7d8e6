/* rate_limit.c: a token bucket: units (lines, bytes) earned by elapsed time, up to a burst. */
#include "util/rate_limit.h"

#define NS_PER_S 1000000000ULL

static uint64_t clamp(uint64_t v)
{
	return v < 1 ? 1 : v > RATE_LIMIT_MAX ? RATE_LIMIT_MAX : v;
}

void rate_limit_init(struct rate_limit *r, uint64_t rate, uint64_t burst)
{
	*r = (struct rate_limit){.rate = clamp(rate), .cap = clamp(burst) * NS_PER_S};
	r->credit = r->cap;
}

void rate_limit_refill(struct rate_limit *r, uint64_t now_ns)
{
	uint64_t elapsed;

	if (!r->started) {
		r->started = true;
		r->last_ns = now_ns;
		return;
	}
	if (now_ns <= r->last_ns)
		return;
	elapsed = now_ns - r->last_ns;
	r->last_ns = now_ns;
	/* elapsed * rate is only computed when it fits in cap - credit: no overflow. */
	if (elapsed > (r->cap - r->credit) / r->rate)
		r->credit = r->cap;
	else
		r->credit += elapsed * r->rate;
}

uint64_t rate_limit_avail(const struct rate_limit *r)
{
	return r->credit / NS_PER_S;
}

void rate_limit_take(struct rate_limit *r, uint64_t units)
{
	uint64_t avail = rate_limit_avail(r);

	r->credit -= (units < avail ? units : avail) * NS_PER_S;
}
