/* test_virtio_net.c: virtio-net's config and receive side over a socketpair "tap": round trips,
 * MRG_RXBUF, stalls without receive buffers, bad receive chains (docs/hostile-input.md 8, 15). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <sys/ioctl.h>
#include <time.h>

#include "devices/virtio_net_priv.h" /* is_tap, to see a tap refuse its offloads */
#include "net_driver.h"

static void test_ops_and_config(void **state)
{
	struct fixture *f = *state;
	uint64_t feat;
	uint8_t b[8];

	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	feat = (uint64_t)rd(f, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	feat |= rd(f, VIRTIO_MMIO_DEVICE_FEATURES);
	/* Offloads the tap can do, and nothing else (no UFO, no control queue, no multiqueue). */
	assert_int_equal(feat & ~(F_CSUM | F_GUEST_CSUM | F_MAC | F_GUEST_TSO4 | VIRTIO_BIT(8) |
				  VIRTIO_BIT(9) | F_HOST_TSO4 | F_HOST_TSO6 | F_HOST_ECN | F_MRG |
				  VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
				  VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | F_BASE),
			 0);
	assert_true(feat & F_MAC && feat & F_MRG && feat & F_CSUM && feat & F_GUEST_TSO4);
	/* The MAC in config space, byte by byte and in wider reads. */
	for (uint32_t i = 0; i < 6; i++) {
		virtio_mmio_io(&f->t, VIRTIO_MMIO_CONFIG + i, b, 1, false);
		assert_int_equal(b[0], mac[i]);
	}
	virtio_mmio_io(&f->t, VIRTIO_MMIO_CONFIG, b, 4, false);
	virtio_mmio_io(&f->t, VIRTIO_MMIO_CONFIG + 4, b + 4, 2, false);
	assert_memory_equal(b, mac, 6);
	/* Past the end: the transport refuses, nothing is read. */
	memset(b, 0xaa, sizeof(b));
	virtio_mmio_io(&f->t, VIRTIO_MMIO_CONFIG + 8, b, 8, false);
	assert_int_equal(b[0], 0);
}

static void test_rx_round_trip(void **state)
{
	struct fixture *f = *state;
	uint64_t buf;
	uint32_t id, len;

	start(f, F_BASE | F_GUEST_CSUM, 256);
	assert_int_equal(serve(f), POLLIN); /* reading the tap while the guest has not posted */
	buf = post_rx(f, HDR + 1514);
	make_frame(1000, 4);
	frame[0] = 2;	  /* DATA_VALID, passed through */
	frame[10] = 0xee; /* num_buffers from the tap: overwritten */
	assert_int_equal(send(f->peer, frame, HDR + 1000, 0), HDR + 1000);
	assert_int_equal(serve(f), POLLIN);
	assert_int_equal(used_idx(f, RXQ), 1);
	used_elem(f, RXQ, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, HDR + 1000);
	frame[10] = 1;
	assert_memory_equal(at(buf), frame, HDR + 1000);
	assert_true(interrupts(f) > 0);
	/* Buffers are there: the device asks the driver not to notify when it adds more. */
	assert_int_equal(get16(f->q[RXQ].used), VRING_USED_F_NO_NOTIFY);
}

static void test_rx_mrg_spans_buffers(void **state)
{
	struct fixture *f = *state;
	uint64_t b[5];
	uint32_t id, len, total = 0;
	static uint8_t joined[4000];

	start(f, F_BASE | F_MRG, 256);
	for (unsigned i = 0; i < 5; i++)
		b[i] = post_rx(f, 1000);
	arrive(f, 3500, 5);
	serve(f);
	/* Four chains, published at once, the fifth untouched. */
	assert_int_equal(used_idx(f, RXQ), 4);
	for (uint16_t i = 0; i < 4; i++) {
		used_elem(f, RXQ, i, &id, &len);
		assert_int_equal(id, i);
		assert_int_equal(len, i < 3 ? 1000 : HDR + 3500 - 3000);
		memcpy(joined + total, at(b[i]), len);
		total += len;
	}
	assert_int_equal(total, HDR + 3500);
	frame[10] = 4; /* num_buffers */
	assert_memory_equal(joined, frame, total);
	assert_int_equal(at(b[4])[0], 0);
}

static void test_rx_mrg_waits_for_enough(void **state)
{
	struct fixture *f = *state;
	uint64_t b0;
	uint32_t id, len;
	struct drvq *d = &f->q[RXQ];

	start(f, F_BASE | F_MRG | VIRTIO_BIT(VIRTIO_F_EVENT_IDX), 256);
	b0 = post_rx(f, 1000);
	post_rx(f, 1000);
	arrive(f, 3000, 6);
	serve(f);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(serve(f), 0); /* holding the frame: not reading the tap */
	/* avail_event past the two buffers seen: the next one the driver adds notifies. */
	assert_int_equal(get16(d->used + 4 + 8ULL * d->size), 2);
	post_rx(f, 1000);
	post_rx(f, 1000);
	kick(f, RXQ);
	assert_int_equal(used_idx(f, RXQ), 4);
	used_elem(f, RXQ, 3, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, HDR + 3000 - 3000);
	assert_int_equal(get16(b0 + 10), 4);
	assert_int_equal(stats(f).rx_no_buf, 1);
}

/* How long one round of the device thread waited, given TIMEOUT_MS. */
static long slept_ms(struct fixture *f, int timeout_ms)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	virtio_mmio_serve(&f->t, timeout_ms);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

static void test_rx_no_buffers(void **state)
{
	struct fixture *f = *state;
	uint64_t b[3];
	int queued;

	start(f, F_BASE, 256);
	for (uint8_t i = 0; i < 3; i++) {
		arrive(f, 100 + i, i);
	}
	serve(f);
	/* One frame held, the tap no longer polled, notifications asked for. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(serve(f), 0);
	/* No busy loop: with frames waiting on the tap, the thread sleeps its whole timeout. */
	assert_true(slept_ms(f, 200) >= 190);
	assert_int_equal(stats(f).rx_no_buf, 1);
	assert_int_equal(get16(f->q[RXQ].used), 0);
	/* The other two wait in the socket, not in bulwark. */
	assert_int_equal(ioctl(f->dev_fd, FIONREAD, &queued), 0);
	assert_int_equal(queued, 2 * HDR + 203);
	for (unsigned i = 0; i < 3; i++)
		b[i] = post_rx(f, 2048);
	kick(f, RXQ);
	assert_int_equal(used_idx(f, RXQ), 3);
	assert_int_equal(serve(f), POLLIN);
	for (uint8_t i = 0; i < 3; i++) {
		make_frame(100 + i, i);
		frame[10] = 1;
		assert_memory_equal(at(b[i]), frame, HDR + 100 + i);
	}
	assert_int_equal(get16(f->q[RXQ].used), VRING_USED_F_NO_NOTIFY);
}

/* Posts N buffers of BUFLEN; a frame of BIG bytes then arrives, dropped, and one of FITS bytes,
 * delivered in EXPECT chains: the dropped frame took none of them. */
static void too_big_then_fits(struct fixture *f, unsigned n, uint32_t buflen, size_t big,
			      size_t fits, uint16_t expect)
{
	unsigned long before = stats(f).rx_too_big;
	uint32_t id, len;

	for (unsigned i = 0; i < n; i++)
		post_rx(f, buflen);
	arrive(f, big, 7);
	arrive(f, fits, 8);
	serve(f);
	assert_int_equal(stats(f).rx_too_big, before + 1);
	assert_int_equal(used_idx(f, RXQ), expect);
	used_elem(f, RXQ, (uint16_t)(expect - 1), &id, &len);
	assert_int_equal(id, expect - 1);
	assert_int_equal(len, HDR + fits - (expect - 1) * buflen);
	assert_false(needs_reset(f));
}

static void test_rx_too_big(void **state)
{
	struct fixture *f = *state;

	/* Without MRG_RXBUF a frame larger than the chain is dropped; the chain stays posted. */
	start(f, F_BASE, 256);
	too_big_then_fits(f, 1, HDR + 500, 501, 500, 1);
	/* With MRG_RXBUF, a frame more than the whole ring can hold is dropped too. */
	reset(f);
	start(f, F_BASE | F_MRG, 4);
	too_big_then_fits(f, 4, 100, 1000, 300, 4);
	/* Frames over the maximum from the tap itself are dropped as well. */
	post_rx(f, 100);
	make_frame(VIRTIO_NET_FRAME_MAX + 1, 11);
	assert_int_equal(send(f->peer, frame, BIG + 1, 0), BIG + 1);
	serve(f);
	assert_int_equal(stats(f).rx_tap_bad, 1);
}

static void test_rx_bad_chains(void **state)
{
	struct fixture *f = *state;
	struct seg s[2] = {{.gpa = BUFS, .len = 64}, {.gpa = BUFS + 64, .len = 64, .write = true}};

	start(f, F_BASE, 256);
	offer(f, RXQ, s, 2); /* a device-readable buffer in a receive chain */
	arrive(f, 60, 12);
	serve(f);
	assert_true(needs_reset(f));
	assert_int_equal(serve(f), 0);

	reset(f);
	start(f, F_BASE | F_MRG, 256);
	post_rx(f, 8); /* no room for the header */
	assert_int_equal(send(f->peer, frame, HDR + 60, 0), HDR + 60);
	serve(f);
	assert_true(needs_reset(f));
	assert_int_equal(f->t.failures, 2);
}

static void test_rx_budget(void **state)
{
	struct fixture *f = *state;
	uint16_t first;

	/* A tap that always has more to read does not keep the thread from the transmit queue. */
	start(f, F_BASE, 256);
	for (unsigned i = 0; i < 200; i++)
		post_rx(f, 256);
	make_frame(50, 21);
	for (unsigned i = 0; i < 200; i++)
		assert_int_equal(send(f->peer, frame, HDR + 50, 0), HDR + 50);
	assert_int_equal(serve(f), POLLIN);
	first = used_idx(f, RXQ);
	assert_true(first > 0 && first < 200);
	while (used_idx(f, RXQ) < 200 && used_idx(f, RXQ) >= first) {
		first = used_idx(f, RXQ) + 1;
		serve(f);
	}
	assert_int_equal(used_idx(f, RXQ), 200);
}

static void test_reset_drops_held_frames(void **state)
{
	struct fixture *f = *state;
	uint64_t b;

	start(f, F_BASE, 256);
	arrive(f, 100, 17);
	arrive(f, 100, 18);
	serve(f);
	assert_int_equal(serve(f), 0);
	reset(f);
	assert_int_equal(serve(f), 0);
	/* Nothing of the old rings survives: the new ones get the next frame from the tap. */
	start(f, F_BASE, 256);
	b = post_rx(f, 2048);
	kick(f, RXQ);
	assert_int_equal(used_idx(f, RXQ), 1);
	frame[10] = 1;
	assert_memory_equal(at(b), frame, HDR + 100);
}

static void test_rx_queue_not_ready(void **state)
{
	struct fixture *f = *state;

	start_queues(f, F_BASE, 256, 1U << TXQ);
	arrive(f, 100, 19);
	/* No receive queue: the tap is not polled at all, so the thread cannot spin on it. */
	assert_int_equal(serve(f), 0);
	kick(f, RXQ);
	assert_false(needs_reset(f));
	make_frame(100, 20);
	tx(f, HDR + 100, 1, NULL);
	kick(f, TXQ);
	expect_sent(f, HDR + 100);
}

static void test_rx_offloads_not_negotiated(void **state)
{
	struct fixture *f = *state;
	uint64_t b;

	/* Frames the tap made for an earlier driver's offloads never reach one without them. */
	start(f, F_BASE | F_MRG, 256);
	b = post_rx(f, 4096);
	make_frame(3000, 22);
	set_hdr(1, 1, 54, 1448, 34, 16); /* partial checksum, TSO */
	assert_int_equal(send(f->peer, frame, HDR + 3000, 0), HDR + 3000);
	set_hdr(1, 0, 0, 0, 34, 16); /* partial checksum alone */
	assert_int_equal(send(f->peer, frame, HDR + 3000, 0), HDR + 3000);
	set_hdr(0, 0x81, 54, 1448, 0, 0);
	assert_int_equal(send(f->peer, frame, HDR + 3000, 0), HDR + 3000);
	serve(f);
	assert_int_equal(stats(f).rx_tap_bad, 3);
	assert_int_equal(used_idx(f, RXQ), 0);

	reset(f);
	start(f, F_BASE | F_MRG | F_GUEST_CSUM | F_GUEST_TSO4, 256);
	b = post_rx(f, 4096);
	set_hdr(1, 1, 54, 1448, 34, 16);
	assert_int_equal(send(f->peer, frame, HDR + 3000, 0), HDR + 3000);
	serve(f);
	assert_int_equal(used_idx(f, RXQ), 1);
	frame[10] = 1;
	assert_memory_equal(at(b), frame, HDR + 3000);
}

static void test_tap_refuses_offloads(void **state)
{
	struct fixture *f = *state;

	/* A socket answers TUNSETOFFLOAD with ENOTTY: the device stops, the tap is left alone. */
	f->n->is_tap = true;
	arrive(f, 100, 23);
	start_queues(f, F_BASE | F_GUEST_CSUM, 256, 3);
	assert_true(needs_reset(f));
	assert_int_equal(serve(f), 0);
	assert_int_equal(stats(f).rx_tap_bad + stats(f).rx_no_buf, 0);
	f->n->is_tap = false;
	reset(f);
	start(f, F_BASE, 256);
	post_rx(f, 2048);
	kick(f, RXQ);
	assert_int_equal(used_idx(f, RXQ), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ops_and_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_mrg_spans_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_mrg_waits_for_enough, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_no_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_too_big, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_bad_chains, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_drops_held_frames, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_queue_not_ready, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_offloads_not_negotiated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tap_refuses_offloads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
