/* test_virtio_mmio_thread.c: the virtio-mmio transport's interrupts, failures and notifications,
 * and its device thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mmio_fake.h"

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
	    T(test_interrupt_status_and_ack),  T(test_interrupt_status_never_takes_the_lock),
	    T(test_fail_needs_reset),	       T(test_config_changed),
	    T(test_notify_reaches_device),     T(test_requeue),
	    T(test_wait_fd_reaches_device),    T(test_device_thread),
	    T(test_init_refusals_and_destroy), T(test_used_interrupt_suppression),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
