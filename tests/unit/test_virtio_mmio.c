/* test_virtio_mmio.c: the virtio-mmio transport and its device thread against a hostile driver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio.h"
#include "devices/virtio_mmio.h"
#include "util/bytes.h"

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

static uint64_t fake_features(void *dev)
{
	(void)dev;
	return VIRTIO_BIT(DEV_FEATURE_LO) | VIRTIO_BIT(DEV_FEATURE_HI);
}

static void fake_queue_limits(void *dev, unsigned q, uint16_t *size_max, uint32_t *len_max)
{
	(void)dev;
	*size_max = q == 0 ? 64 : 32;
	*len_max = 0;
}

static void fake_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct fake *f = dev;

	memcpy(data, f->config + off, len);
}

static void fake_config_write(void *dev, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct fake *f = dev;

	memcpy(f->config + off, data, len);
	f->writes++;
	f->last_write_off = off;
	f->last_write_len = len;
}

static int fake_activate(void *dev, struct virtio_mmio *t, uint64_t features)
{
	struct fake *f = dev;

	(void)t;
	f->activations++;
	f->activated_features = features;
	return f->activate_result;
}

static void fake_notify(void *dev, struct virtio_mmio *t, unsigned q)
{
	struct fake *f = dev;
	sigset_t cur;

	(void)t;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	f->notify_saw_sigterm_blocked = sigismember(&cur, SIGTERM) == 1;
	__atomic_add_fetch(&f->notified[q], 1, __ATOMIC_SEQ_CST);
}

static int fake_wait_fd(void *dev, short *events)
{
	struct fake *f = dev;

	*events = POLLIN;
	return f->wait_fd;
}

static void fake_fd_ready(void *dev, struct virtio_mmio *t, short revents)
{
	struct fake *f = dev;

	(void)t;
	if (revents & POLLIN)
		eventfd_read(f->wait_fd, &(eventfd_t){0});
	f->fd_ready_calls++;
}

static void fake_reset(void *dev)
{
	((struct fake *)dev)->resets++;
}

static int destroyed_total;

static void fake_destroy(void *dev)
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

static int setup(void **state)
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

static int teardown(void **state)
{
	(void)state;
	virtio_mmio_destroy(&t);
	gmem_free(&mem);
	if (fk.wait_fd >= 0)
		close(fk.wait_fd);
	return 0;
}

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_io(&t, off, (uint8_t *)&v, 4, true);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_io(&t, off, (uint8_t *)&v, 4, false);
	return v;
}

static unsigned long ignored(void)
{
	return __atomic_load_n(&t.ignored, __ATOMIC_SEQ_CST);
}

/* How many times FD was written since last asked (0 when not at all). */
static uint64_t fd_count(int fd)
{
	eventfd_t n = 0;

	if (eventfd_read(fd, &n))
		return 0;
	return n;
}

static void write_features(uint64_t f)
{
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK: what Linux's virtio core does. */
static void negotiate(uint64_t f)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	write_features(f);
	wr(VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void setup_queue(unsigned q, uint32_t size, uint64_t desc)
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
static void bring_up(void)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), STATUS_FEATURES_OK);
	setup_queue(0, QSIZE, RING(0));
	setup_queue(1, QSIZE, RING(1));
	wr(VIRTIO_MMIO_STATUS, STATUS_LIVE);
}

static void test_identity(void **state)
{
	uint64_t offered;

	(void)state;
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), 42);
	assert_int_equal(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	assert_true(offered & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_true(offered & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	assert_true(offered & VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(offered & VIRTIO_BIT(DEV_FEATURE_LO));
	assert_true(offered & VIRTIO_BIT(DEV_FEATURE_HI));
	/* Selector 0xffffffff is no half at all. */
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	assert_int_equal(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(ignored(), 0);
}

static void test_handshake_activates_and_notifies(void **state)
{
	(void)state;
	bring_up();
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), STATUS_LIVE);
	assert_int_equal(fk.activations, 1);
	assert_int_equal(fk.activated_features, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_true(t.vq[0].live && t.vq[1].live);
	assert_int_equal(t.vq[1].size, QSIZE);
	assert_int_equal(t.vq[1].avail_gpa, RING(1) + 0x800);
	assert_true(virtio_mmio_live(&t));
	/* DRIVER_OK woke the device thread: one round notifies every queue, once. */
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.notified[0], 1);
	assert_int_equal(fk.notified[1], 1);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.notified[0], 1);
	assert_int_equal(fk.notified[1], 1);
	assert_int_equal(ignored(), 0);
	assert_int_equal(t.failures, 0);
}

/* Class 12: FEATURES_OK without VIRTIO_F_VERSION_1 fails, visibly, and nothing goes live. */
static void test_features_ok_needs_version_1(void **state)
{
	(void)state;
	negotiate(VIRTIO_BIT(DEV_FEATURE_LO));
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	assert_int_equal(ignored(), 1);
	/* Nor can the driver go on to queues or DRIVER_OK. */
	setup_queue(0, QSIZE, RING(0));
	wr(VIRTIO_MMIO_STATUS, STATUS_LIVE);
	assert_int_equal(fk.activations, 0);
	assert_false(t.vq[0].ready);
	assert_false(virtio_mmio_live(&t));
}

/* Class 12: bits never offered are dropped; the ones offered stand. */
static void test_features_masked_to_offered(void **state)
{
	(void)state;
	negotiate(~0ULL);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), STATUS_FEATURES_OK);
	assert_int_equal(t.driver_features, t.offered);
	assert_int_equal(ignored(), 2); /* one per half that held bits never offered */
	setup_queue(0, QSIZE, RING(0));
	wr(VIRTIO_MMIO_STATUS, STATUS_LIVE);
	assert_int_equal(fk.activated_features, t.offered);
}

/* Features can change only between DRIVER and FEATURES_OK; selector 2 and up name nothing. */
static void test_feature_writes_out_of_order(void **state)
{
	(void)state;
	write_features(VIRTIO_BIT(VIRTIO_F_VERSION_1)); /* before DRIVER */
	assert_int_equal(t.driver_features, 0);
	assert_int_equal(ignored(), 2);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	write_features(t.offered); /* after FEATURES_OK */
	assert_int_equal(t.driver_features, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(ignored(), 4);
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0xffffffff);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	assert_int_equal(t.driver_features, 0);
	assert_int_equal(ignored(), 5);
}

/* Class 10: queue registers before FEATURES_OK and after DRIVER_OK are ignored and counted;
 * in particular a live queue's size cannot be rewritten (CVE-2026-5747). */
static void test_queue_writes_out_of_order(void **state)
{
	(void)state;
	wr(VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(t.vq[0].size, 64); /* reads back the maximum until set */
	assert_false(t.vq[0].ready);
	assert_int_equal(ignored(), 2);

	bring_up();
	assert_int_equal(ignored(), 2);
	for (unsigned q = 0; q < 2; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		wr(VIRTIO_MMIO_QUEUE_NUM, 32);
		wr(VIRTIO_MMIO_QUEUE_NUM, 0xffff);
		wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0xfffff000);
		wr(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 1);
		wr(VIRTIO_MMIO_QUEUE_USED_LOW, 0);
		wr(VIRTIO_MMIO_QUEUE_READY, 0);
		assert_int_equal(t.vq[q].size, QSIZE);
		assert_int_equal(t.vq[q].desc_gpa, RING(q));
		assert_int_equal(t.vq[q].avail_gpa, RING(q) + 0x800);
		assert_int_equal(t.vq[q].used_gpa, RING(q) + 0x1000);
		assert_true(t.vq[q].ready && t.vq[q].live);
		assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM), QSIZE);
	}
	assert_int_equal(ignored(), 2 + 2 * 6);
	assert_true(virtio_mmio_live(&t));
}

/* QueueNum above 16 bits must not truncate into a valid size; QueueReady is 0 or 1. */
static void test_queue_values_out_of_range(void **state)
{
	(void)state;
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(VIRTIO_MMIO_QUEUE_NUM, 0x10010);
	assert_int_equal(t.vq[0].size, 64);
	wr(VIRTIO_MMIO_QUEUE_READY, 2);
	assert_false(t.vq[0].ready);
	assert_int_equal(ignored(), 2);
}

/* Class 11: QueueSel and QueueNotify past the last queue, including 0xffffffff (-1). */
static void test_bad_selectors(void **state)
{
	static const uint32_t bad[] = {2, 3, 0x7fffffff, 0x80000000, 0xffffffff};

	(void)state;
	bring_up();
	assert_true(virtio_mmio_serve(&t, 0)); /* the activation round */
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, bad[i]);
		assert_int_equal(t.queue_sel, 1);
		assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 32);
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, bad[i]);
	}
	assert_int_equal(ignored(), 10);
	assert_int_equal(fd_count(t.notify_fd[0]), 0);
	assert_int_equal(fd_count(t.notify_fd[1]), 0);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.notified[0] + fk.notified[1], 2);
}

/* Status only grows in the spec's order; clearing bits, unknown bits and NEEDS_RESET are refused.
 */
static void test_status_machine(void **state)
{
	(void)state;
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER); /* DRIVER before ACKNOWLEDGE */
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	wr(VIRTIO_MMIO_STATUS, 0x10); /* no such bit */
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(ignored(), 4);

	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	write_features(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				   VIRTIO_STATUS_DRIVER_OK); /* DRIVER_OK without FEATURES_OK */
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE); /* clearing DRIVER */
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	assert_int_equal(ignored(), 6);
	assert_int_equal(fk.activations, 0);

	/* FAILED: the driver gave up; nothing is activated. */
	wr(VIRTIO_MMIO_STATUS, STATUS_FEATURES_OK);
	wr(VIRTIO_MMIO_STATUS, STATUS_LIVE | VIRTIO_STATUS_FAILED);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), STATUS_LIVE | VIRTIO_STATUS_FAILED);
	assert_int_equal(fk.activations, 0);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.notified[0], 0);
}

/* Status 0 resets the queues, the device, the features and the interrupt status. */
static void test_reset(void **state)
{
	(void)state;
	bring_up();
	virtio_mmio_interrupt(&t, VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(fk.resets, 1);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(t.driver_features, 0);
	for (unsigned q = 0; q < 2; q++) {
		assert_false(t.vq[q].live);
		assert_false(t.vq[q].ready);
		assert_int_equal(t.vq[q].desc_gpa, 0);
	}
	assert_false(virtio_mmio_live(&t));
	/* The activation wake-up is void now: nothing is notified on a reset device. */
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.notified[0] + fk.notified[1], 0);
	/* And the device comes back up. */
	bring_up();
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.notified[0], 1);
	assert_int_equal(fk.activations, 2);
}

static void test_interrupt_status_and_ack(void **state)
{
	(void)state;
	virtio_mmio_interrupt(&t, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(fd_count(t.irq_fd), 1);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	virtio_mmio_interrupt(&t, VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(t.interrupts, 2);
}

struct holder {
	pthread_mutex_t m;
	pthread_cond_t c;
	bool held, done;
};

static void *hold_lock(void *arg)
{
	struct holder *h = arg;
	struct timespec until;

	pthread_mutex_lock(&t.lock);
	pthread_mutex_lock(&h->m);
	h->held = true;
	pthread_cond_broadcast(&h->c);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2; /* if the reader waits on t.lock, it waits this long */
	while (!h->done && pthread_cond_timedwait(&h->c, &h->m, &until) == 0)
		;
	pthread_mutex_unlock(&h->m);
	pthread_mutex_unlock(&t.lock);
	return NULL;
}

/* The guest's interrupt handler (status read, ack) never waits behind a busy device thread. */
static void test_interrupt_status_never_takes_the_lock(void **state)
{
	struct holder h = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};
	struct timespec a, b;
	pthread_t th;

	(void)state;
	virtio_mmio_interrupt(&t, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(pthread_create(&th, NULL, hold_lock, &h), 0);
	pthread_mutex_lock(&h.m);
	while (!h.held)
		pthread_cond_wait(&h.c, &h.m);
	pthread_mutex_unlock(&h.m);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_mutex_lock(&h.m);
	h.done = true;
	pthread_cond_broadcast(&h.c);
	pthread_mutex_unlock(&h.m);
	pthread_join(th, NULL);
	assert_true(b.tv_sec - a.tv_sec < 1);
	assert_int_equal(t.int_status, 0);
	assert_int_equal(fd_count(t.notify_fd[0]), 1);
}

/* A broken queue: NEEDS_RESET, one config interrupt, no more notifications; counted each time. */
static void test_fail_needs_reset(void **state)
{
	(void)state;
	bring_up();
	assert_true(virtio_mmio_serve(&t, 0));
	virtio_mmio_fail(&t, 1, "test breakage");
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(fd_count(t.irq_fd), 1);
	virtio_mmio_fail(&t, 1, "test breakage");
	assert_int_equal(t.failures, 2);
	assert_int_equal(fd_count(t.irq_fd), 0);
	assert_false(virtio_mmio_live(&t));
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.notified[0], 1);
	/* The driver cannot clear NEEDS_RESET by writing the status back; only reset does. */
	wr(VIRTIO_MMIO_STATUS, STATUS_LIVE);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	wr(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
}

/* Class 4 through the transport: a bad ring at DRIVER_OK stops the device, not bulwark. */
static void test_bad_geometry_at_driver_ok(void **state)
{
	static const struct {
		uint32_t size;
		uint64_t desc;
	} bad[] = {{3, RING(0)}, {0, RING(0)}, {QSIZE, RING(0) + 8}, {QSIZE, RAM - 0x100}};

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
		setup_queue(0, bad[i].size, bad[i].desc);
		wr(VIRTIO_MMIO_STATUS, STATUS_LIVE);
		assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
		assert_false(t.vq[0].live);
		assert_int_equal(fk.activations, 0);
		assert_true(virtio_mmio_serve(&t, 0));
		assert_int_equal(fk.notified[0], 0);
		wr(VIRTIO_MMIO_STATUS, 0);
	}
	assert_int_equal(t.failures, 4);
}

static void test_activate_failure_needs_reset(void **state)
{
	(void)state;
	fk.activate_result = -ENOMEM;
	bring_up();
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.notified[0], 0);
}

/* Class 13: config space in bounds at every width; past the end, odd widths and unaligned
 * accesses read 0 and write nothing. */
static void test_config_space(void **state)
{
	static const struct {
		uint32_t off, len;
	} bad[] = {{12, 1}, {11, 2}, {10, 4}, {8, 8}, {0xfc, 4}, {0, 3}, {1, 2}, {2, 4}, {4, 8}};
	uint8_t buf[8];
	uint64_t v8 = 0;
	uint32_t v4 = 0;

	(void)state;
	virtio_mmio_io(&t, VIRTIO_MMIO_CONFIG + 11, buf, 1, false);
	assert_int_equal(buf[0], 0xab);
	virtio_mmio_io(&t, VIRTIO_MMIO_CONFIG + 8, (uint8_t *)&v4, 4, false);
	assert_int_equal(v4, 0xabaaa9a8);
	virtio_mmio_io(&t, VIRTIO_MMIO_CONFIG, (uint8_t *)&v8, 8, false);
	assert_int_equal(v8, 0xa7a6a5a4a3a2a1a0ULL);
	assert_int_equal(ignored(), 0);

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(buf, 0x55, sizeof(buf));
		virtio_mmio_io(&t, VIRTIO_MMIO_CONFIG + bad[i].off, buf, bad[i].len, false);
		for (unsigned j = 0; j < bad[i].len; j++)
			assert_int_equal(buf[j], 0);
		memset(buf, 0x55, sizeof(buf));
		virtio_mmio_io(&t, VIRTIO_MMIO_CONFIG + bad[i].off, buf, bad[i].len, true);
	}
	assert_int_equal(fk.writes, 0);
	assert_int_equal(ignored(), 2 * ARRAY_SIZE(bad));

	v4 = 0x01020304;
	virtio_mmio_io(&t, VIRTIO_MMIO_CONFIG + 4, (uint8_t *)&v4, 4, true);
	assert_int_equal(fk.writes, 1);
	assert_int_equal(fk.last_write_off, 4);
	assert_int_equal(fk.last_write_len, 4);
	assert_int_equal(fk.config[4], 0x04);
}

/* Registers are 32-bit only: narrower, wider and unaligned accesses are ignored, reads see 0. */
static void test_register_widths(void **state)
{
	uint8_t buf[8];

	(void)state;
	memset(buf, 0x55, sizeof(buf));
	virtio_mmio_io(&t, VIRTIO_MMIO_MAGIC_VALUE, buf, 2, false);
	assert_int_equal(buf[0] | buf[1], 0);
	memset(buf, 0x55, sizeof(buf));
	virtio_mmio_io(&t, VIRTIO_MMIO_MAGIC_VALUE, buf, 8, false);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(buf[i], 0);
	virtio_mmio_io(&t, VIRTIO_MMIO_VERSION + 1, buf, 4, false);
	assert_int_equal(buf[0], 0);
	buf[0] = VIRTIO_STATUS_ACKNOWLEDGE;
	virtio_mmio_io(&t, VIRTIO_MMIO_STATUS, buf, 1, true);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	/* Read-only registers and holes do not take writes. */
	wr(VIRTIO_MMIO_MAGIC_VALUE, 0);
	wr(0x0f0, 1);
	wr(VIRTIO_MMIO_QUEUE_RESET, 1);
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(ignored(), 7);
}

static void test_config_changed(void **state)
{
	(void)state;
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	pthread_mutex_lock(&t.lock);
	virtio_mmio_config_changed(&t);
	pthread_mutex_unlock(&t.lock);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(fd_count(t.irq_fd), 1);
}

/* QueueNotify (as an MMIO exit, without ioeventfd) reaches the queue's eventfd, and serve()
 * hands it to the device, only while the device is live. */
static void test_notify_reaches_device(void **state)
{
	(void)state;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1); /* before the device is up: drained, not delivered */
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.notified[1], 0);
	bring_up();
	assert_true(virtio_mmio_serve(&t, 0));
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(t.notify_exits, 2);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.notified[0], 1);
	assert_int_equal(fk.notified[1], 2);
	/* Nothing pending: serve() waits out its timeout and notifies nobody. */
	assert_true(virtio_mmio_serve(&t, 10));
	assert_int_equal(fk.notified[1], 2);
}

/* A device that ended its round early gets notify for that queue again on the next round, and
 * only for that queue; a queue the device does not have is refused. */
static void test_requeue(void **state)
{
	(void)state;
	bring_up();
	assert_true(virtio_mmio_serve(&t, 0)); /* the activation round */
	assert_true(virtio_mmio_requeue(&t, 1));
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.notified[0], 1);
	assert_int_equal(fk.notified[1], 2);
	assert_false(virtio_mmio_requeue(&t, 2));
	assert_true(virtio_mmio_serve(&t, 10));
	assert_int_equal(fk.notified[0] + fk.notified[1], 3);
}

static void test_wait_fd_reaches_device(void **state)
{
	(void)state;
	fk.wait_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(fk.wait_fd >= 0);
	eventfd_write(fk.wait_fd, 1);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.fd_ready_calls, 0); /* not live: not even polled */
	bring_up();
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.fd_ready_calls, 1);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(fk.fd_ready_calls, 1);
}

static void wait_notified(unsigned q, int want)
{
	for (int i = 0; i < 2000 && __atomic_load_n(&fk.notified[q], __ATOMIC_SEQ_CST) < want; i++)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&fk.notified[q], __ATOMIC_SEQ_CST), want);
}

/* The real thread: serves notifications with every signal blocked, and stops on request. */
static void test_device_thread(void **state)
{
	(void)state;
	assert_int_equal(virtio_mmio_start(&t), 0);
	assert_int_equal(virtio_mmio_start(&t), -EBUSY);
	bring_up();
	wait_notified(0, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	wait_notified(0, 2);
	assert_true(fk.notify_saw_sigterm_blocked);
	virtio_mmio_stop(&t);
	assert_false(t.thread_started);
	assert_false(virtio_mmio_serve(&t, 0));
}

/* Init refuses a bad device contract, and destroy still frees the device; a zeroed T is fine. */
static void test_init_refusals_and_destroy(void **state)
{
	struct virtio_dev_ops bad = fake_ops;
	struct virtio_mmio t2;
	struct fake f2 = {.wait_fd = -1};
	int before = destroyed_total;

	(void)state;
	memset(&t2, 0, sizeof(t2));
	virtio_mmio_destroy(&t2);
	bad.nqueues = VIRTIO_MMIO_QUEUES_MAX + 1;
	assert_int_equal(virtio_mmio_init(&t2, &bad, &f2, "bad", &mem, 0, 5), -EINVAL);
	virtio_mmio_destroy(&t2);
	assert_int_equal(f2.destroyed, 1);
	bad = fake_ops;
	bad.config_size = VIRTIO_MMIO_CONFIG_MAX + 1;
	assert_int_equal(virtio_mmio_init(&t2, &bad, &f2, "bad", &mem, 0, 5), -EINVAL);
	virtio_mmio_destroy(&t2);
	virtio_mmio_destroy(&t2); /* twice is harmless */
	assert_int_equal(f2.destroyed, 2);
	assert_int_equal(destroyed_total, before + 2);
}

/* virtio_mmio_used interrupts only when the driver asked for it. */
static void test_used_interrupt_suppression(void **state)
{
	uint16_t flags = VRING_AVAIL_F_NO_INTERRUPT;

	(void)state;
	bring_up();
	virtio_mmio_used(&t, 0);
	assert_int_equal(fd_count(t.irq_fd), 1);
	memcpy(mem.host + RING(0) + 0x800, &flags, 2);
	virtio_mmio_used(&t, 0);
	assert_int_equal(fd_count(t.irq_fd), 0);
	virtio_mmio_used(&t, 7); /* no such queue */
	assert_int_equal(fd_count(t.irq_fd), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_identity),
	    T(test_handshake_activates_and_notifies),
	    T(test_features_ok_needs_version_1),
	    T(test_features_masked_to_offered),
	    T(test_feature_writes_out_of_order),
	    T(test_queue_writes_out_of_order),
	    T(test_queue_values_out_of_range),
	    T(test_bad_selectors),
	    T(test_status_machine),
	    T(test_reset),
	    T(test_interrupt_status_and_ack),
	    T(test_interrupt_status_never_takes_the_lock),
	    T(test_fail_needs_reset),
	    T(test_bad_geometry_at_driver_ok),
	    T(test_activate_failure_needs_reset),
	    T(test_config_space),
	    T(test_register_widths),
	    T(test_config_changed),
	    T(test_notify_reaches_device),
	    T(test_requeue),
	    T(test_wait_fd_reaches_device),
	    T(test_device_thread),
	    T(test_init_refusals_and_destroy),
	    T(test_used_interrupt_suppression),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
