/* test_virtqueue_used.c: the device's side of a split ring: the used ring and unpop, interrupt
 * suppression and EVENT_IDX, notification flags, and reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "vq_driver.h"

static void test_used_ring_and_unpop(void **state)
{
	(void)state;
	start_size(16, 0);
	desc(DESC, 3, DATA, 16, VRING_DESC_F_WRITE, 0);
	desc(DESC, 4, DATA, 16, VRING_DESC_F_WRITE, 0);
	offer(3);
	offer(4);
	assert_int_equal(vq_pop(&q, &req), 1);
	assert_int_equal(vq_pop(&q, &req), 1);
	vq_unpop(&q, 1);
	assert_int_equal(vq_pop(&q, &req), 1);
	assert_int_equal(req.head, 4);
	vq_add_used(&q, 3, 7);
	vq_add_used(&q, 4, 9);
	assert_int_equal(get16(USED + 2), 0); /* not visible before vq_publish */
	vq_publish(&q);
	assert_int_equal(get16(USED + 2), 2);
	{
		uint32_t e[4];

		memcpy(e, at(USED + 4), sizeof(e));
		assert_int_equal(e[0], 3);
		assert_int_equal(e[1], 7);
		assert_int_equal(e[2], 4);
		assert_int_equal(e[3], 9);
	}
}

static void test_interrupt_suppression(void **state)
{
	(void)state;
	start_size(16, 0);
	desc(DESC, 0, DATA, 16, 0, 0);
	offer(0);
	assert_int_equal(vq_pop(&q, &req), 1);
	vq_push(&q, &req, 0);
	assert_true(vq_needs_interrupt(&q));
	put16(AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
	assert_false(vq_needs_interrupt(&q));
}

static void test_event_idx(void **state)
{
	(void)state;
	start_size(16, VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	desc(DESC, 0, DATA, 16, 0, 0);
	put16(AVAIL + 4 + 2 * 16, 1); /* used_event: interrupt when used passes index 1 */
	for (int i = 0; i < 3; i++) {
		offer(0);
		assert_int_equal(vq_pop(&q, &req), 1);
	}
	vq_push(&q, &req, 0);		     /* used idx 1 */
	assert_true(vq_needs_interrupt(&q)); /* first one always */
	vq_push(&q, &req, 0);		     /* used idx 2: crosses used_event 1 */
	assert_true(vq_needs_interrupt(&q));
	vq_push(&q, &req, 0); /* used idx 3: the driver did not ask */
	assert_false(vq_needs_interrupt(&q));
	/* enable_notify writes avail_event and sees buffers added meanwhile. */
	assert_false(vq_enable_notify(&q));
	assert_int_equal(get16(USED + 4 + 8 * 16), 3);
	offer(0);
	assert_true(vq_enable_notify(&q));
}

static void test_notify_flags(void **state)
{
	(void)state;
	start_size(16, 0);
	vq_disable_notify(&q);
	assert_int_equal(get16(USED), VRING_USED_F_NO_NOTIFY);
	assert_false(vq_enable_notify(&q));
	assert_int_equal(get16(USED), 0);
}

static void test_reset_restores(void **state)
{
	(void)state;
	start_size(16, 0);
	offer(99);
	expect_broken("head index");
	vq_reset(&q);
	assert_false(q.broken);
	assert_false(q.live);
	assert_false(q.ready);
	assert_int_equal(q.size, 256);
	memset(at(AVAIL), 0, 64);
	start_size(16, 0);
	assert_int_equal(vq_pop(&q, &req), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_used_ring_and_unpop), T(test_interrupt_suppression), T(test_event_idx),
	    T(test_notify_flags),	 T(test_reset_restores),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
