/* virtio_rng.c: virtio-rng (entropy) from getrandom(2), capped per request and in rate. */
#include "devices/virtio_rng.h"

#include "devices/virtio.h"
#include "sandbox/thread_kind.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC 1000000000ULL
#define RNG_QUEUE_SIZE 64

struct virtio_rng {
	int timer_fd;	 /* armed while the bucket is empty: the device thread waits on it */
	uint64_t rate;	 /* bytes per second */
	uint64_t burst;	 /* bucket size in bytes */
	uint64_t credit; /* in byte-nanoseconds (bytes * NSEC_PER_SEC), so no fraction is lost */
	uint64_t last_ns;
	bool waiting; /* the timer is armed; requests wait for it */
	bool logged;  /* a host-side failure (getrandom, timerfd) was logged */
	unsigned long requests, bytes, deferrals;
	struct vq_req req; /* one request at a time; never allocated per request */
	uint8_t buf[VIRTIO_RNG_REQ_MAX];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Credit grows with time at RATE, up to BURST; an elapsed time that would overflow fills it. */
static void refill(struct virtio_rng *r)
{
	uint64_t now = now_ns(), cap = r->burst * NSEC_PER_SEC;
	uint64_t elapsed = now - r->last_ns;

	r->last_ns = now;
	/* credit <= cap, so elapsed * rate stays below cap + rate: no overflow. */
	if (elapsed > (cap - r->credit) / r->rate)
		r->credit = cap;
	else
		r->credit += elapsed * r->rate;
	if (r->credit > cap)
		r->credit = cap;
}

struct virtio_rng *virtio_rng_new_rate(uint64_t rate, uint32_t burst)
{
	struct virtio_rng *r;

	/* The bucket must hold one whole request, or a full-size request would wait forever. */
	if (rate == 0 || burst < VIRTIO_RNG_REQ_MAX || rate > UINT64_MAX / NSEC_PER_SEC)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r->timer_fd < 0) {
		free(r);
		return NULL;
	}
	r->rate = rate;
	r->burst = burst;
	r->credit = r->burst * NSEC_PER_SEC;
	r->last_ns = now_ns();
	return r;
}

struct virtio_rng *virtio_rng_new(void)
{
	return virtio_rng_new_rate(VIRTIO_RNG_RATE_DEFAULT, VIRTIO_RNG_BURST_DEFAULT);
}

static uint64_t rng_features(void *dev)
{
	(void)dev;
	return 0;
}

static void rng_queue_limits(void *dev, unsigned q, uint16_t *size_max, uint32_t *len_max)
{
	(void)dev;
	(void)q;
	*size_max = RNG_QUEUE_SIZE;
	*len_max = 0; /* any buffer size is fine: we fill at most VIRTIO_RNG_REQ_MAX of it */
}

static void rng_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	(void)dev;
	(void)off;
	(void)len;
	(void)data; /* no config space: the transport never calls this */
}

static int rng_activate(void *dev, struct virtio_mmio *t, uint64_t features)
{
	(void)dev;
	(void)t;
	(void)features;
	return 0;
}

/* Sleeps until the bucket holds WANT bytes, without ever blocking the thread. */
static void defer(struct virtio_rng *r, struct virtqueue *q, uint64_t want)
{
	uint64_t ns = (want * NSEC_PER_SEC - r->credit + r->rate - 1) / r->rate;
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(ns / NSEC_PER_SEC),
					      .tv_nsec = (long)(ns % NSEC_PER_SEC)}};

	if (ns == 0)
		its.it_value.tv_nsec = 1; /* zero would disarm the timer */
	if (timerfd_settime(r->timer_fd, 0, &its, NULL)) {
		if (!r->logged)
			log_err("rng: timerfd_settime: %s", strerror(errno));
		r->logged = true;
		return; /* the next notification tries again */
	}
	r->waiting = true;
	r->deferrals++;
	vq_disable_notify(
	    q); /* the timer wakes us; notifications meanwhile would only wake us early */
}

/* Fills LEN bytes of the request's writable part; returns what was written. */
static uint32_t fill(struct virtio_rng *r, uint32_t len)
{
	uint32_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(r->buf + done, len - done, 0);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (!r->logged)
				log_err("rng: getrandom: %s; requests get short answers",
					strerror(errno));
			r->logged = true;
			break;
		}
		done += (uint32_t)n;
	}
	if (vq_req_write(&r->req, 0, r->buf, done))
		return 0; /* cannot happen: len is at most in_len */
	return done;
}

/* Serves requests until the queue is empty, the queue breaks or the bucket runs dry. */
static void serve(struct virtio_rng *r, struct virtio_mmio *t)
{
	struct virtqueue *q = &t->vq[0];
	bool used = false;

	if (r->waiting)
		return;
	/* At most a ring's worth per call, however fast the driver refills it; the rest waits
	 * behind whatever else the thread has to do. */
	for (unsigned i = 0;; i++) {
		if (i == q->size) {
			(void)virtio_mmio_requeue(t, 0);
			break;
		}
		uint32_t want, got;
		int p = vq_pop(q, &r->req);

		if (p < 0) {
			virtio_mmio_fail(t, 0, q->why);
			break;
		}
		if (p == 0) {
			if (vq_enable_notify(q))
				continue;
			break;
		}
		if (r->req.n_in == 0) {
			virtio_mmio_fail(t, 0, "request without a device-writable buffer");
			break;
		}
		want = r->req.in_len < VIRTIO_RNG_REQ_MAX ? r->req.in_len : VIRTIO_RNG_REQ_MAX;
		refill(r);
		if (r->credit < (uint64_t)want * NSEC_PER_SEC) {
			vq_unpop(q, 1);
			defer(r, q, want);
			break;
		}
		got = fill(r, want);
		/* Charged in full even if getrandom came up short: a failing host is no way around
		 * the rate limit. */
		r->credit -= (uint64_t)want * NSEC_PER_SEC;
		r->requests++;
		r->bytes += got;
		vq_add_used(q, r->req.head, got);
		used = true;
	}
	if (used) {
		vq_publish(q);
		virtio_mmio_used(t, 0);
	}
}

static void rng_notify(void *dev, struct virtio_mmio *t, unsigned q)
{
	(void)q; /* the only queue */
	serve(dev, t);
}

static int rng_wait_fd(void *dev, short *events)
{
	struct virtio_rng *r = dev;

	*events = POLLIN;
	return r->waiting ? r->timer_fd : -1;
}

static void rng_fd_ready(void *dev, struct virtio_mmio *t, short revents)
{
	struct virtio_rng *r = dev;
	uint64_t expirations;

	(void)revents;
	if (read(r->timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return; /* spurious: the timer has not fired (or was disarmed by a reset) */
	r->waiting = false;
	serve(r, t);
}

static void rng_reset(void *dev)
{
	struct virtio_rng *r = dev;
	struct itimerspec off = {0};

	/* Credit is kept: resetting the device must not buy the guest a fresh bucket. */
	timerfd_settime(r->timer_fd, 0, &off, NULL);
	r->waiting = false;
}

/* The thread reads and writes its rate timer, besides the transport's eventfds. */
static void rng_sandbox_fds(void *dev, struct sandbox_fds *fds)
{
	const struct virtio_rng *d = dev;

	sandbox_fds_add(fds, SANDBOX_FD_TIMER, d->timer_fd);
}

static void rng_destroy(void *dev)
{
	struct virtio_rng *r = dev;

	log_debug("rng: %lu requests, %lu bytes, %lu waits for the rate limit", r->requests,
		  r->bytes, r->deferrals);
	close(r->timer_fd);
	free(r);
}

const struct virtio_dev_ops virtio_rng_ops = {
    .kind = SANDBOX_VIRTIO_RNG,
    .device_id = VIRTIO_ID_RNG,
    .nqueues = 1,
    .config_size = 0,
    .features = rng_features,
    .queue_limits = rng_queue_limits,
    .config_read = rng_config_read,
    .config_write = NULL,
    .activate = rng_activate,
    .notify = rng_notify,
    .wait_fd = rng_wait_fd,
    .fd_ready = rng_fd_ready,
    .reset = rng_reset,
    .sandbox_fds = rng_sandbox_fds,
    .destroy = rng_destroy,
};
