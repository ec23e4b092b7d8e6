/* net_driver.h: a virtio-net driver for the unit tests: guest RAM, both queues set up through the
 * virtio-mmio transport's registers, and a socketpair posing as the tap. Include after cmocka.h. */
#ifndef BULWARK_TEST_NET_DRIVER_H
#define BULWARK_TEST_NET_DRIVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio.h"
#include "devices/virtio_net.h"
#include "devices/virtqueue.h"

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

static inline uint8_t *at(uint64_t gpa)
{
	return cur->mem.host + gpa;
}

static inline uint16_t get16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, at(gpa), 2);
	return v;
}

static inline uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, at(gpa), 4);
	return v;
}

static inline void put16(uint64_t gpa, uint16_t v)
{
	memcpy(at(gpa), &v, 2);
}

static inline void wr(struct fixture *f, uint64_t reg, uint32_t v)
{
	virtio_mmio_io(&f->t, reg, (uint8_t *)&v, 4, true);
}

static inline uint32_t rd(struct fixture *f, uint64_t reg)
{
	uint32_t v;

	virtio_mmio_io(&f->t, reg, (uint8_t *)&v, 4, false);
	return v;
}

/* Interrupts the device raised so far (its irqfd, which KVM would consume). */
static inline uint64_t interrupts(struct fixture *f)
{
	eventfd_t v;

	if (eventfd_read(f->t.irq_fd, &v) == 0)
		f->irqs += v;
	return f->irqs;
}

static inline bool needs_reset(struct fixture *f)
{
	return rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET;
}

static inline int setup(void **state)
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

static inline int teardown(void **state)
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
static inline void start_queues(struct fixture *f, uint64_t features, uint16_t size, unsigned ready)
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

static inline void start(struct fixture *f, uint64_t features, uint16_t size)
{
	start_queues(f, features, size, 3);
}

static inline void reset(struct fixture *f)
{
	wr(f, VIRTIO_MMIO_STATUS, 0);
}

/* The driver notifies queue Q; the device thread takes its round. */
static inline void kick(struct fixture *f, unsigned q)
{
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	virtio_mmio_serve(&f->t, 0);
}

/* One round of the device thread, not waiting. Returns the events it waited for on the tap (0:
 * none, so the thread would sleep until the driver notifies). */
static inline short serve(struct fixture *f)
{
	short ev = 0;

	if (virtio_net_ops.wait_fd(f->n, &ev) < 0)
		ev = 0;
	virtio_mmio_serve(&f->t, 0);
	return ev;
}

static inline uint64_t alloc(struct fixture *f, uint32_t len)
{
	uint64_t gpa = f->next_buf;

	f->next_buf = (f->next_buf + len + 15) & ~15ULL;
	assert_true(f->next_buf < RAM);
	return gpa;
}

/* Offers a chain of N segments on queue Q; returns its head. */
static inline uint16_t offer(struct fixture *f, unsigned q, const struct seg *s, unsigned n)
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

static inline uint16_t used_idx(struct fixture *f, unsigned q)
{
	return get16(f->q[q].used + 2);
}

static inline void used_elem(struct fixture *f, unsigned q, uint16_t i, uint32_t *id, uint32_t *len)
{
	uint64_t e = f->q[q].used + 4 + 8ULL * (i % f->q[q].size);

	*id = get32(e);
	*len = get32(e + 4);
}

/* A receive chain of one writable buffer of LEN bytes; returns its guest address. */
static inline uint64_t post_rx(struct fixture *f, uint32_t len)
{
	struct seg s = {.gpa = alloc(f, len), .len = len, .write = true};

	offer(f, RXQ, &s, 1);
	return s.gpa;
}

/* Fills frame[] with a header and LEN bytes of frame, distinct for each SEED. */
static inline void make_frame(size_t len, uint8_t seed)
{
	memset(frame, 0, HDR);
	for (size_t i = 0; i < len; i++)
		frame[HDR + i] = (uint8_t)(i * 7 + seed);
}

static inline void set_hdr(uint8_t flags, uint8_t gso, uint16_t hdr_len, uint16_t gso_size,
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
static inline uint16_t tx(struct fixture *f, size_t len, unsigned pieces, uint64_t *gpa)
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
static inline void arrive(struct fixture *f, size_t len, uint8_t seed)
{
	make_frame(len, seed);
	assert_int_equal(send(f->peer, frame, HDR + len, 0), HDR + len);
}

static inline ssize_t peer_recv(struct fixture *f)
{
	return recv(f->peer, got, sizeof(got), MSG_DONTWAIT);
}

static inline struct virtio_net_stats stats(struct fixture *f)
{
	struct virtio_net_stats s;

	virtio_net_get_stats(f->n, &s);
	return s;
}

static inline void expect_sent(struct fixture *f, size_t len)
{
	assert_int_equal(peer_recv(f), len);
	assert_memory_equal(got, frame, len);
}

#endif
