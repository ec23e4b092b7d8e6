/* test_virtio_net_tx.c: virtio-net's transmit side over a socketpair "tap": round trips, header
 * checks, a full or vanished tap, and the hostile-buffer classes (docs/hostile-input.md 5, 6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "net_driver.h"
#include "util/bytes.h"

static void test_tx_round_trip(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;
	uint16_t head;

	start(f, F_TX, 256);
	/* Nothing to do, nothing published: no interrupt for an empty kick. */
	kick(f, TXQ);
	kick(f, RXQ);
	assert_int_equal(interrupts(f), 0);
	make_frame(1500, 1);
	set_hdr(1, 0, 0, 0, 34, 16); /* NEEDS_CSUM: TCP checksum of an IPv4 frame */
	head = tx(f, HDR + 1500, 1, NULL);
	kick(f, TXQ);
	expect_sent(f, HDR + 1500);
	assert_int_equal(used_idx(f, TXQ), 1);
	used_elem(f, TXQ, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	assert_true(interrupts(f) > 0);

	/* A TSO frame in several buffers, header apart, as one write. */
	make_frame(20000, 2);
	set_hdr(1, 1, 54, 1448, 34, 16);
	tx(f, HDR + 20000, 5, NULL);
	kick(f, TXQ);
	expect_sent(f, HDR + 20000);
	make_frame(VIRTIO_NET_FRAME_MAX, 3); /* the largest frame passes */
	tx(f, BIG, 3, NULL);
	kick(f, TXQ);
	expect_sent(f, BIG);
	assert_int_equal(used_idx(f, TXQ), 3);
	assert_false(needs_reset(f));
}

static void test_tx_short_and_long(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;

	start(f, F_TX, 256);
	make_frame(VIRTIO_NET_FRAME_MAX + 1, 13);
	tx(f, 8, 1, NULL);	    /* shorter than the header */
	tx(f, HDR + 13, 2, NULL);   /* shorter than an Ethernet header */
	tx(f, BIG + 1, 4, NULL);    /* over the maximum */
	tx(f, HDR + 1000, 1, NULL); /* fine */
	kick(f, TXQ);
	expect_sent(f, HDR + 1000);
	assert_int_equal(peer_recv(f), -1);
	assert_int_equal(stats(f).tx_short, 2);
	assert_int_equal(stats(f).tx_long, 1);
	/* Dropped chains still complete, with nothing written. */
	assert_int_equal(used_idx(f, TXQ), 4);
	for (uint16_t i = 0; i < 4; i++) {
		used_elem(f, TXQ, i, &id, &len);
		assert_int_equal(len, 0);
	}
	assert_false(needs_reset(f));
}

/* One header to check: fields, whether the tap may see it. */
struct hdr_case {
	uint8_t flags, gso;
	uint16_t hdr_len, gso_size, csum_start, csum_off;
	bool ok;
};

static void run_hdr_cases(struct fixture *f, const struct hdr_case *c, unsigned n)
{
	unsigned long bad = stats(f).tx_bad_hdr;
	unsigned refused = 0;

	for (unsigned i = 0; i < n; i++) {
		make_frame(1000, (uint8_t)i);
		set_hdr(c[i].flags, c[i].gso, c[i].hdr_len, c[i].gso_size, c[i].csum_start,
			c[i].csum_off);
		tx(f, HDR + 1000, 1 + i % 3, NULL);
		kick(f, TXQ);
		if (c[i].ok) {
			expect_sent(f, HDR + 1000);
		} else {
			if (peer_recv(f) != -1)
				fail_msg("header case %u reached the tap", i);
			refused++;
		}
	}
	assert_int_equal(stats(f).tx_bad_hdr, bad + refused);
	assert_false(needs_reset(f));
}

static void test_tx_bad_headers(void **state)
{
	struct fixture *f = *state;
	static const struct hdr_case with_tso[] = {
	    {.flags = 1, .csum_start = 990, .csum_off = 8, .ok = true}, /* ends at the frame end */
	    {.flags = 1, .csum_start = 990, .csum_off = 9},		/* one byte past */
	    {.flags = 1, .csum_start = 0xffff, .csum_off = 0xffff},	/* no overflow */
	    {.flags = 2},						/* DATA_VALID: rx only */
	    {.flags = 0x80},
	    {.hdr_len = 1000, .ok = true},
	    {.hdr_len = 1001},
	    {.flags = 1, .gso = 1, .gso_size = 1000, .csum_start = 34, .csum_off = 16, .ok = true},
	    {.flags = 1, .gso = 4, .gso_size = 900, .hdr_len = 74, .ok = true},
	    {.flags = 1, .gso = 1, .gso_size = 0},    /* GSO with gso_size 0 */
	    {.flags = 1, .gso = 1, .gso_size = 1001}, /* larger than the frame */
	    {.gso = 1, .gso_size = 500},	      /* GSO without NEEDS_CSUM */
	    {.flags = 1, .gso = 3, .gso_size = 500},  /* UDP: not offered */
	    {.flags = 1, .gso = 5, .gso_size = 500},
	    {.flags = 1, .gso = 0x81, .gso_size = 500}, /* ECN without HOST_ECN */
	    {.flags = 1, .gso = 0x80, .gso_size = 500},
	    {.flags = 1, .gso = 0xff, .gso_size = 500},
	};
	static const struct hdr_case with_ecn[] = {
	    {.flags = 1, .gso = 0x81, .gso_size = 500, .ok = true},
	    {.flags = 1, .gso = 0x80, .gso_size = 500},
	};
	static const struct hdr_case bare[] = {
	    {.ok = true},
	    {.flags = 1, .csum_start = 34, .csum_off = 16}, /* checksum offload not negotiated */
	    {.flags = 1, .gso = 1, .gso_size = 500},	    /* TSO not negotiated */
	};

	start(f, F_TX, 256);
	run_hdr_cases(f, with_tso, ARRAY_SIZE(with_tso));
	reset(f);
	start(f, F_TX | F_HOST_ECN, 256);
	run_hdr_cases(f, with_ecn, ARRAY_SIZE(with_ecn));
	reset(f);
	start(f, F_BASE, 256);
	run_hdr_cases(f, bare, ARRAY_SIZE(bare));
}

static void test_tx_writable_buffer(void **state)
{
	struct fixture *f = *state;
	struct seg s[2] = {{.gpa = BUFS, .len = 100},
			   {.gpa = BUFS + 100, .len = 100, .write = true}};

	start(f, F_TX, 256);
	offer(f, TXQ, s, 2);
	kick(f, TXQ);
	assert_int_equal(peer_recv(f), -1);
	assert_int_equal(stats(f).tx_bad_hdr, 1);
	assert_int_equal(used_idx(f, TXQ), 1);
}

/* Sends from the device's end until the socket refuses: the "tap" is full. */
static unsigned fill_tap(struct fixture *f)
{
	static const uint8_t junk[4096];
	unsigned n = 0;

	while (send(f->dev_fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		n++;
	assert_int_equal(errno, EAGAIN);
	return n;
}

static void drain_tap(struct fixture *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(peer_recv(f), 4096);
}

static void test_tx_full_tap_and_toctou(void **state)
{
	struct fixture *f = *state;
	unsigned junk;
	uint64_t gpa;
	uint8_t sent[HDR + 200];

	start(f, F_TX, 256);
	junk = fill_tap(f);
	make_frame(200, 14);
	set_hdr(1, 0, 0, 0, 34, 16);
	memcpy(sent, frame, sizeof(sent));
	tx(f, HDR + 200, 2, &gpa);
	for (int i = 0; i < 10; i++) {
		make_frame(300, (uint8_t)(20 + i));
		tx(f, HDR + 300, 1, NULL);
	}
	kick(f, TXQ);
	/* The first frame is copied and waits for the tap; nothing else was taken. */
	assert_int_equal(used_idx(f, TXQ), 0);
	assert_int_equal(f->t.vq[TXQ].last_avail, 1);
	/* Kicks meanwhile neither take more chains nor give up on the frame. */
	for (int i = 0; i < 50; i++)
		kick(f, TXQ);
	assert_int_equal(f->t.vq[TXQ].last_avail, 1);
	/* The guest rewrites the frame after the check: an absurd header, other bytes. */
	memset(at(gpa), 0xee, HDR + 200);
	assert_int_equal(serve(f), POLLIN | POLLOUT);
	drain_tap(f, junk);
	serve(f);
	assert_int_equal(peer_recv(f), HDR + 200);
	assert_memory_equal(got, sent, HDR + 200);
	assert_int_equal(used_idx(f, TXQ), 11);
	for (int i = 0; i < 10; i++) {
		make_frame(300, (uint8_t)(20 + i));
		expect_sent(f, HDR + 300);
	}
	assert_int_equal(stats(f).tx_bad_hdr, 0);
}

static void test_tx_budget(void **state)
{
	struct fixture *f = *state;
	unsigned n = 0;

	/* More chains than one round serves: the rest goes on in the next round. */
	start(f, F_TX, 256);
	make_frame(50, 15);
	for (int i = 0; i < 200; i++)
		tx(f, HDR + 50, 1, NULL);
	kick(f, TXQ);
	assert_true(used_idx(f, TXQ) < 200);
	while (peer_recv(f) == HDR + 50)
		n++;
	assert_int_equal(serve(f), POLLIN | POLLOUT);
	while (peer_recv(f) == HDR + 50)
		n++;
	assert_int_equal(n, 200);
	assert_int_equal(used_idx(f, TXQ), 200);
	assert_int_equal(serve(f), POLLIN);
}

static void test_guest_ram_classes(void **state)
{
	struct fixture *f = *state;
	struct seg outside = {.gpa = RAM - 100, .len = 200};
	struct seg huge[2] = {{.gpa = BUFS, .len = 0x80000000U}, {.gpa = BUFS, .len = 0x80000000U}};

	/* Class 5: a buffer leaving guest RAM stops the queue; the device survives a reset. */
	start(f, F_TX, 256);
	offer(f, TXQ, &outside, 1);
	kick(f, TXQ);
	assert_true(needs_reset(f));
	assert_int_equal(serve(f), 0);
	kick(f, TXQ);
	assert_int_equal(f->t.failures, 1);
	reset(f);

	/* Class 6: lengths whose sum overflows 32 bits. */
	start(f, F_TX, 256);
	offer(f, TXQ, huge, 2);
	kick(f, TXQ);
	assert_int_equal(f->t.failures, 2);
	assert_int_equal(peer_recv(f), -1);
	reset(f);

	start(f, F_TX, 256);
	make_frame(100, 16);
	tx(f, HDR + 100, 1, NULL);
	kick(f, TXQ);
	expect_sent(f, HDR + 100);
}

static void test_tap_gone(void **state)
{
	struct fixture *f = *state;

	start(f, F_TX, 256);
	close(f->peer);
	f->peer = -1;
	serve(f);
	assert_int_equal(stats(f).rx_tap_bad, 1);
	assert_int_equal(serve(f), 0);
	make_frame(100, 20);
	tx(f, HDR + 100, 1, NULL);
	kick(f, TXQ);
	assert_int_equal(stats(f).tx_tap_err, 1);
	assert_int_equal(used_idx(f, TXQ), 1);
}

static void test_open_errors(void **state)
{
	struct vm_config cfg = {.path = "vm.yaml", .nnics = 2};
	struct bw_error err = {0};

	(void)state;
	snprintf(cfg.nics[1].tap, sizeof(cfg.nics[1].tap), "bwnosuch%d", (int)getpid() % 1000);
	cfg.nics[1].loc_tap = (struct config_loc){.line = 7, .column = 10};
	assert_null(virtio_net_open(&cfg.nics[1], 1, cfg.name, "", NULL, &err));
	config_nic_error(&cfg, 1, &err);
	if (!strstr(err.msg, "vm.yaml:7:10: nics[1].tap: cannot open tap bwnosuch") ||
	    !strstr(err.msg, "ip tuntap add"))
		fail_msg("message: %s", err.msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tx_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_short_and_long, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_bad_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_writable_buffer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_full_tap_and_toctou, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_ram_classes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tap_gone, setup, teardown),
	    cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
