/* test_virtio_mmio.c: the virtio-mmio transport's registers against a hostile driver: identity,
 * features, queue setup, the status machine, reset, config space and access widths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "mmio_fake.h"
#include "util/bytes.h"

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
	    T(test_bad_geometry_at_driver_ok),
	    T(test_activate_failure_needs_reset),
	    T(test_config_space),
	    T(test_register_widths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
