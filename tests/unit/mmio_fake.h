/* mmio_fake.h: a fake device behind the virtio-mmio transport for its unit tests, recording every
 * call the transport makes, and a driver's side of the handshake. Include after cmocka.h. */
#ifndef BULWARK_TEST_MMIO_FAKE_H
#define BULWARK_TEST_MMIO_FAKE_H

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio.h"
#include "devices/virtio_mmio.h"

#define RAM (1U << 20)
#define CONFIG_SIZE 12
#define DEV_FEATURE_LO 5  /* a device-specific bit in the low half */
#define DEV_FEATURE_HI 40 /* and one in the high half */
#define QSIZE 16
#define RING(q) (0x1000ULL + 0x2000ULL * (q)) /* desc; avail at +0x800, used at +0x1000 */

/* A fake device that records every call the transport makes. */
struct fake {
	uint8_t config[CONFIG_SIZE];
	int activate_result;
	int activations, resets, destroyed;
	uint64_t activated_features;
	int notified[VIRTIO_MMIO_QUEUES_MAX];
	int wait_fd; /* -1: none */
	int fd_ready_calls;
	bool notify_saw_sigterm_blocked;
	int writes;
	uint32_t last_write_off, last_write_len;
};

static inline uint64_t fake_features(void *dev)
{
	(void)dev;
	return VIRTIO_BIT(DEV_FEATURE_LO) | VIRTIO_BIT(DEV_FEATURE_HI);
}

static inline void fake_queue_limits(void *dev, unsigned q, uint16_t *size_max, uint32_t *len_max)
{
	(void)dev;
	*size_max = q == 0 ? 64 : 32;
	*len_max = 0;
}

static inline void fake_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct fake *f = dev;

	memcpy(data, f->config + off, len);
}

static inline void fake_config_write(void *dev, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct fake *f = dev;

	memcpy(f->config + off, data, len);
	f->writes++;
	f->last_write_off = off;
	f->last_write_len = len;
}

static inline int fake_activate(void *dev, struct virtio_mmio *t, uint64_t features)
{
	struct fake *f = dev;

	(void)t;
	f->activations++;
	f->activated_features = features;
	return f->activate_result;
}

static inline void fake_notify(void *dev, struct virtio_mmio *t, unsigned q)
{
	struct fake *f = dev;
	sigset_t cur;

	(void)t;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	f->notify_saw_sigterm_blocked = sigismember(&cur, SIGTERM) == 1;
	__atomic_add_fetch(&f->notified[q], 1, __ATOMIC_SEQ_CST);
}

static inline int fake_wait_fd(void *dev, short *events)
{
	struct fake *f = dev;

	*events = POLLIN;
	return f->wait_fd;
}

static inline void fake_fd_ready(void *dev, struct virtio_mmio *t, short revents)
{
	struct fake *f = dev;

	(void)t;
	if (revents & POLLIN)
		eventfd_read(f->wait_fd, &(eventfd_t){0});
	f->fd_ready_calls++;
}

static inline void fake_reset(void *dev)
{
	((struct fake *)dev)->resets++;
}

static int destroyed_total;

static inline void fake_destroy(void *dev)
{
	destroyed_total++;
	((struct fake *)dev)->destroyed++;
}

static const struct virtio_dev_ops fake_ops = {
    .kind = SANDBOX_VIRTIO_BLK, /* no filters are prepared here: any kind runs unconfined */
    .device_id = 42,
    .nqueues = 2,
    .config_size = CONFIG_SIZE,
    .features = fake_features,
    .queue_limits = fake_queue_limits,
    .config_read = fake_config_read,
    .config_write = fake_config_write,
    .activate = fake_activate,
    .notify = fake_notify,
    .wait_fd = fake_wait_fd,
    .fd_ready = fake_fd_ready,
    .reset = fake_reset,
    .destroy = fake_destroy,
};

static struct guest_mem mem;
static struct virtio_mmio t;
static struct fake fk;

static inline int setup(void **state)
{
	(void)state;
	if (gmem_init(&mem, RAM))
		return -1;
	memset(&fk, 0, sizeof(fk));
	for (unsigned i = 0; i < CONFIG_SIZE; i++)
		fk.config[i] = (uint8_t)(0xa0 + i);
	fk.wait_fd = -1;
	return virtio_mmio_init(&t, &fake_ops, &fk, "fake0", &mem, 0xd0000000, 16);
}

static inline int teardown(void **state)
{
	(void)state;
	virtio_mmio_destroy(&t);
	gmem_free(&mem);
	if (fk.wait_fd >= 0)
		close(fk.wait_fd);
	return 0;
}

static inline void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_io(&t, off, (uint8_t *)&v, 4, true);
}

static inline uint32_t rd(uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_io(&t, off, (uint8_t *)&v, 4, false);
	return v;
}

static inline unsigned long ignored(void)
{
	return __atomic_load_n(&t.ignored, __ATOMIC_SEQ_CST);
}

/* How many times FD was written since last asked (0 when not at all). */
static inline uint64_t fd_count(int fd)
{
	eventfd_t n = 0;

	if (eventfd_read(fd, &n))
		return 0;
	return n;
}

static inline void write_features(uint64_t f)
{
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK: what Linux's virtio core does. */
static inline void negotiate(uint64_t f)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	write_features(f);
	wr(VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static inline void setup_queue(unsigned q, uint32_t size, uint64_t desc)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	wr(VIRTIO_MMIO_QUEUE_NUM, size);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(desc + 0x800));
	wr(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(desc + 0x1000));
	wr(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

static const uint32_t STATUS_FEATURES_OK =
    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
static const uint32_t STATUS_LIVE = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;

/* The whole handshake with both queues ready, then DRIVER_OK. */
static inline void bring_up(void)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), STATUS_FEATURES_OK);
	setup_queue(0, QSIZE, RING(0));
	setup_queue(1, QSIZE, RING(1));
	wr(VIRTIO_MMIO_STATUS, STATUS_LIVE);
}

#endif
