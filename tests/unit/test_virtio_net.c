/* test_virtio_net.c: virtio-net over a socketpair "tap": round trips, MRG_RXBUF, stalls without
 * receive buffers, and the hostile-frame classes (docs/hostile-input.md 5, 6, 8, 9, 15). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio.h"
#include "devices/virtio_net.h"
#include "devices/virtio_net_priv.h" /* is_tap, to see a tap refuse its offloads */
#include "devices/virtqueue.h"
#include "util/bytes.h"

#define RAM (4U << 20)
#define BUFS 0x100000ULL /* receive and transmit buffers are carved from here up */
#define HDR 12
#define RXQ 0
#define TXQ 1
#define BIG (HDR + VIRTIO_NET_FRAME_MAX)

#define F_CSUM VIRTIO_BIT(0)
#define F_GUEST_CSUM VIRTIO_BIT(1)
#define F_MAC VIRTIO_BIT(5)
#define F_GUEST_TSO4 VIRTIO_BIT(7)
#define F_HOST_TSO4 VIRTIO_BIT(11)
#define F_HOST_TSO6 VIRTIO_BIT(12)
#define F_HOST_ECN VIRTIO_BIT(13)
#define F_MRG VIRTIO_BIT(15)
#define F_BASE VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define F_TX (F_BASE | F_CSUM | F_HOST_TSO4 | F_HOST_TSO6)

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* One descriptor of a chain the test offers, as a driver would write it. */
struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* The driver's side of one queue. */
struct drvq {
	uint16_t size, avail_idx, next_desc;
	uint64_t desc, avail, used;
};

struct fixture {
	struct guest_mem mem;
	struct virtio_mmio t; /* the transport, driven through its registers as a driver would */
	struct virtio_net *n;
	int dev_fd, peer; /* the device's end of the "tap" and the host's */
	struct drvq q[2];
	uint64_t next_buf;
	uint64_t irqs; /* interrupts raised so far */
};

static struct fixture *cur;
static uint8_t frame[2 * BIG], got[2 * BIG];

static uint8_t *at(uint64_t gpa)
{
	return cur->mem.host + gpa;
}

static uint16_t get16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, at(gpa), 2);
	return v;
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, at(gpa), 4);
	return v;
}

static void put16(uint64_t gpa, uint16_t v)
{
	memcpy(at(gpa), &v, 2);
}

static void wr(struct fixture *f, uint64_t reg, uint32_t v)
{
	virtio_mmio_io(&f->t, reg, (uint8_t *)&v, 4, true);
}

static uint32_t rd(struct fixture *f, uint64_t reg)
{
	uint32_t v;

	virtio_mmio_io(&f->t, reg, (uint8_t *)&v, 4, false);
	return v;
}

/* Interrupts the device raised so far (its irqfd, which KVM would consume). */
static uint64_t interrupts(struct fixture *f)
{
	eventfd_t v;

	if (eventfd_read(f->t.irq_fd, &v) == 0)
		f->irqs += v;
	return f->irqs;
}

static bool needs_reset(struct fixture *f)
{
	return rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET;
}

static int setup(void **state)
{
	static struct fixture f;
	int sv[2];

	memset(&f, 0, sizeof(f));
	cur = &f;
	signal(SIGPIPE, SIG_IGN);
	if (gmem_init(&f.mem, RAM) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return -1;
	f.dev_fd = sv[0];
	f.peer = sv[1];
	f.n = virtio_net_new(f.dev_fd, mac);
	if (!f.n || virtio_mmio_init(&f.t, &virtio_net_ops, f.n, "net0", &f.mem, 0xd0000000, 5))
		return -1;
	f.next_buf = BUFS;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	virtio_mmio_destroy(&f->t);
	if (f->peer >= 0)
		close(f->peer);
	gmem_free(&f->mem);
	return 0;
}

/* The driver negotiates FEATURES, sets up the queues in READY (bit q) with SIZE entries, sets
 * DRIVER_OK, and the device thread takes its first round. */
static void start_queues(struct fixture *f, uint64_t features, uint16_t size, unsigned ready)
{
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	wr(f, VIRTIO_MMIO_STATUS, 0);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(f, VIRTIO_MMIO_STATUS, st);
	for (uint32_t sel = 0; sel < 2; sel++) {
		wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
		wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> (32 * sel)));
	}
	st |= VIRTIO_STATUS_FEATURES_OK;
	wr(f, VIRTIO_MMIO_STATUS, st);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), st);
	for (uint32_t i = 0; i < 2; i++) {
		struct drvq *d = &f->q[i];

		*d = (struct drvq){.size = size,
				   .desc = 0x10000ULL * (i + 1),
				   .avail = 0x10000ULL * (i + 1) + 0x4000,
				   .used = 0x10000ULL * (i + 1) + 0x8000};
		memset(at(d->desc), 0, 0x10000);
		if (!(ready & (1U << i)))
			continue;
		wr(f, VIRTIO_MMIO_QUEUE_SEL, i);
		assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
		wr(f, VIRTIO_MMIO_QUEUE_NUM, size);
		wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)d->desc);
		wr(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)d->avail);
		wr(f, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)d->used);
		wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(f, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	assert_false(needs_reset(f));
	virtio_mmio_serve(&f->t, 0);
}

static void start(struct fixture *f, uint64_t features, uint16_t size)
{
	start_queues(f, features, size, 3);
}

static void reset(struct fixture *f)
{
	wr(f, VIRTIO_MMIO_STATUS, 0);
}

/* The driver notifies queue Q; the device thread takes its round. */
static void kick(struct fixture *f, unsigned q)
{
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	virtio_mmio_serve(&f->t, 0);
}

/* One round of the device thread, not waiting. Returns the events it waited for on the tap (0:
 * none, so the thread would sleep until the driver notifies). */
static short serve(struct fixture *f)
{
	short ev = 0;

	if (virtio_net_ops.wait_fd(f->n, &ev) < 0)
		ev = 0;
	virtio_mmio_serve(&f->t, 0);
	return ev;
}

static uint64_t alloc(struct fixture *f, uint32_t len)
{
	uint64_t gpa = f->next_buf;

	f->next_buf = (f->next_buf + len + 15) & ~15ULL;
	assert_true(f->next_buf < RAM);
	return gpa;
}

/* Offers a chain of N segments on queue Q; returns its head. */
static uint16_t offer(struct fixture *f, unsigned q, const struct seg *s, unsigned n)
{
	struct drvq *d = &f->q[q];
	uint16_t head = d->next_desc % d->size;

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)(d->next_desc++ % d->size);
		uint16_t flags =
		    (s[i].write ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		uint16_t next = (uint16_t)(d->next_desc % d->size);
		uint8_t *p = at(d->desc + 16ULL * idx);

		memcpy(p, &s[i].gpa, 8);
		memcpy(p + 8, &s[i].len, 4);
		memcpy(p + 12, &flags, 2);
		memcpy(p + 14, &next, 2);
	}
	put16(d->avail + 4 + 2ULL * (d->avail_idx % d->size), head);
	put16(d->avail + 2, ++d->avail_idx);
	return head;
}

static uint16_t used_idx(struct fixture *f, unsigned q)
{
	return get16(f->q[q].used + 2);
}

static void used_elem(struct fixture *f, unsigned q, uint16_t i, uint32_t *id, uint32_t *len)
{
	uint64_t e = f->q[q].used + 4 + 8ULL * (i % f->q[q].size);

	*id = get32(e);
	*len = get32(e + 4);
}

/* A receive chain of one writable buffer of LEN bytes; returns its guest address. */
static uint64_t post_rx(struct fixture *f, uint32_t len)
{
	struct seg s = {.gpa = alloc(f, len), .len = len, .write = true};

	offer(f, RXQ, &s, 1);
	return s.gpa;
}

/* Fills frame[] with a header and LEN bytes of frame, distinct for each SEED. */
static void make_frame(size_t len, uint8_t seed)
{
	memset(frame, 0, HDR);
	for (size_t i = 0; i < len; i++)
		frame[HDR + i] = (uint8_t)(i * 7 + seed);
}

static void set_hdr(uint8_t flags, uint8_t gso, uint16_t hdr_len, uint16_t gso_size,
		    uint16_t csum_start, uint16_t csum_off)
{
	frame[0] = flags;
	frame[1] = gso;
	memcpy(frame + 2, &hdr_len, 2);
	memcpy(frame + 4, &gso_size, 2);
	memcpy(frame + 6, &csum_start, 2);
	memcpy(frame + 8, &csum_off, 2);
}

/* Copies frame[0, LEN) into guest RAM as a transmit chain cut into PIECES; returns the head. */
static uint16_t tx(struct fixture *f, size_t len, unsigned pieces, uint64_t *gpa)
{
	struct seg s[8];
	uint64_t base = alloc(f, (uint32_t)len);
	size_t off = 0;

	memcpy(at(base), frame, len);
	for (unsigned i = 0; i < pieces; i++) {
		size_t n = i + 1 < pieces ? len / pieces : len - off;

		s[i] = (struct seg){.gpa = base + off, .len = (uint32_t)n};
		off += n;
	}
	if (gpa)
		*gpa = base;
	return offer(f, TXQ, s, pieces);
}

/* A frame of LEN bytes (and a header) arrives on the tap, made by make_frame(LEN, SEED). */
static void arrive(struct fixture *f, size_t len, uint8_t seed)
{
	make_frame(len, seed);
	assert_int_equal(send(f->peer, frame, HDR + len, 0), HDR + len);
}

static ssize_t peer_recv(struct fixture *f)
{
	return recv(f->peer, got, sizeof(got), MSG_DONTWAIT);
}

static struct virtio_net_stats stats(struct fixture *f)
{
	struct virtio_net_stats s;

	virtio_net_get_stats(f->n, &s);
	return s;
}

static void expect_sent(struct fixture *f, size_t len)
{
	assert_int_equal(peer_recv(f), len);
	assert_memory_equal(got, frame, len);
}

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
	    cmocka_unit_test_setup_teardown(test_ops_and_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_mrg_spans_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_mrg_waits_for_enough, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_no_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_too_big, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_bad_chains, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_short_and_long, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_bad_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_writable_buffer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_full_tap_and_toctou, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_ram_classes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_drops_held_frames, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_queue_not_ready, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_offloads_not_negotiated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tap_refuses_offloads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tap_gone, setup, teardown),
	    cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
