/* blk_driver.h: a minimal virtio-blk driver for the unit tests: guest RAM, one split queue, an
 * image. */
#ifndef BULWARK_TEST_BLK_DRIVER_H
#define BULWARK_TEST_BLK_DRIVER_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio.h"
#include "devices/virtio_blk.h"
#include "devices/virtqueue.h"
#include "kvm/memory.h"

/* Guest-physical layout: rings first, then per-request headers and status bytes, then data. */
#define RAM_SIZE (1U << 20)
#define DESC_GPA 0x1000ULL
#define AVAIL_GPA 0x5000ULL
#define USED_GPA 0x6000ULL
#define INDIRECT_GPA 0x9000ULL
#define HDR_GPA 0xa000ULL    /* slot k's header at HDR_GPA + 16 k */
#define STATUS_GPA 0xe000ULL /* slot k's status at STATUS_GPA + k */
#define DATA_GPA 0x10000ULL
#define IMG_SECTORS 64ULL
#define IMG_BYTES (IMG_SECTORS * VIRTIO_BLK_SECTOR)

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

struct drv {
	struct guest_mem mem;
	struct virtio_mmio t;
	struct virtio_blk *blk;
	int img; /* another descriptor on the image, to check it from the host */
	uint16_t qsize, avail_idx, next_desc;
	uint64_t features;
	unsigned interrupts, fails; /* what the stand-in transport saw */
	const char *why;
};

/* Until the virtio-mmio transport lands, these stand in for it: the device calls them. */
static struct drv *cur;

void virtio_mmio_used(struct virtio_mmio *t, unsigned q)
{
	if (vq_needs_interrupt(&t->vq[q]))
		cur->interrupts++;
}

void virtio_mmio_fail(struct virtio_mmio *t, unsigned q, const char *why)
{
	(void)t;
	(void)q;
	cur->fails++;
	cur->why = why;
}

static inline uint8_t *gpa(struct drv *d, uint64_t a)
{
	return d->mem.host + a;
}

/* Byte I of the image as created: a pattern that differs from sector to sector. */
static inline uint8_t img_byte(uint64_t i)
{
	return (uint8_t)(i * 7 + i / VIRTIO_BLK_SECTOR);
}

/* The image: a memfd of IMG_BYTES filled with img_byte(). Returns the fd or -1. */
static inline int img_create(void)
{
	static uint8_t buf[IMG_BYTES];
	int fd = memfd_create("blk-image", MFD_CLOEXEC);

	for (uint64_t i = 0; i < IMG_BYTES; i++)
		buf[i] = img_byte(i);
	if (fd < 0 || pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		return -1;
	return fd;
}

/* Makes the queue live and activates the device, as a driver's DRIVER_OK would. */
static inline int drv_start(struct drv *d)
{
	struct virtqueue *q = &d->t.vq[0];
	const char *why;

	vq_reset(q);
	q->size = d->qsize;
	q->desc_gpa = DESC_GPA;
	q->avail_gpa = AVAIL_GPA;
	q->used_gpa = USED_GPA;
	q->ready = true;
	memset(gpa(d, DESC_GPA), 0, INDIRECT_GPA - DESC_GPA);
	d->avail_idx = d->next_desc = 0;
	if (vq_start(q, &d->mem, d->features, &why))
		return -1;
	return virtio_blk_ops.activate(d->blk, &d->t, d->features);
}

static inline int drv_setup(struct drv *d, bool read_only, uint16_t qsize, uint64_t features)
{
	int fd = img_create();
	uint16_t size_max;
	uint32_t len_max;

	memset(d, 0, sizeof(*d));
	cur = d;
	d->qsize = qsize;
	d->features = features | VIRTIO_BIT(VIRTIO_F_VERSION_1);
	if (fd < 0 || gmem_init(&d->mem, RAM_SIZE))
		return -1;
	d->img = dup(fd);
	d->blk = virtio_blk_new(fd, IMG_BYTES, read_only, "bulwark-disk");
	if (!d->blk || d->img < 0)
		return -1;
	d->t.ops = &virtio_blk_ops;
	d->t.dev = d->blk;
	d->t.mem = &d->mem;
	memcpy(d->t.name, "blk0", 5);
	d->t.notify_fd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	virtio_blk_ops.queue_limits(d->blk, 0, &size_max, &len_max);
	d->t.vq[0].size_max = size_max;
	d->t.vq[0].len_max = len_max;
	return d->t.notify_fd[0] < 0 ? -1 : drv_start(d);
}

static inline void drv_teardown(struct drv *d)
{
	if (d->blk)
		virtio_blk_ops.destroy(d->blk);
	close(d->t.notify_fd[0]);
	close(d->img);
	gmem_free(&d->mem);
	cur = NULL;
}

/* cmocka fixtures: a driver with a queue of 16 on a read-write or read-only disk. */
static inline int setup_rw(void **state)
{
	static struct drv d;

	*state = &d;
	return drv_setup(&d, false, 16, 0);
}

static inline int setup_ro(void **state)
{
	static struct drv d;

	*state = &d;
	return drv_setup(&d, true, 16, 0);
}

static inline int setup_indirect(void **state)
{
	static struct drv d;

	*state = &d;
	return drv_setup(&d, false, 16, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
}

static inline int teardown(void **state)
{
	drv_teardown(*state);
	return 0;
}

/* The driver reset the device after a failure, and starts it again. */
static inline int drv_reset(struct drv *d)
{
	virtio_blk_ops.reset(d->blk);
	d->fails = 0;
	return drv_start(d);
}

static inline void put_desc(uint8_t *p, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

/* Makes HEAD available to the device. */
static inline void drv_avail(struct drv *d, uint16_t head)
{
	uint8_t *avail = gpa(d, AVAIL_GPA);

	memcpy(avail + 4 + 2 * (d->avail_idx % d->qsize), &head, 2);
	d->avail_idx++;
	memcpy(avail + 2, &d->avail_idx, 2);
}

/* Writes N segments as a chain of descriptors from the next free one, and makes it available. */
static inline uint16_t drv_post(struct drv *d, const struct seg *s, unsigned n)
{
	uint16_t head = d->next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % d->qsize);
		uint16_t next = (uint16_t)((idx + 1) % d->qsize);
		uint16_t flags =
		    (s[i].write ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0);

		put_desc(gpa(d, DESC_GPA) + 16 * idx, s[i].gpa, s[i].len, flags, next);
	}
	d->next_desc = (uint16_t)((head + n) % d->qsize);
	drv_avail(d, head);
	return head;
}

/* The same chain through one indirect table at INDIRECT_GPA. */
static inline uint16_t drv_post_indirect(struct drv *d, const struct seg *s, unsigned n)
{
	uint16_t head = d->next_desc;

	for (unsigned i = 0; i < n; i++)
		put_desc(gpa(d, INDIRECT_GPA) + 16 * i, s[i].gpa, s[i].len,
			 (s[i].write ? VRING_DESC_F_WRITE : 0) |
			     (i + 1 < n ? VRING_DESC_F_NEXT : 0),
			 (uint16_t)(i + 1));
	put_desc(gpa(d, DESC_GPA) + 16 * head, INDIRECT_GPA, 16 * n, VRING_DESC_F_INDIRECT, 0);
	d->next_desc = (uint16_t)((head + 1) % d->qsize);
	drv_avail(d, head);
	return head;
}

static inline void drv_hdr(struct drv *d, unsigned slot, uint32_t type, uint64_t sector)
{
	uint8_t *h = gpa(d, HDR_GPA + 16 * slot);

	memcpy(h, &type, 4);
	memset(h + 4, 0, 4);
	memcpy(h + 8, &sector, 8);
}

/* A request in SLOT: header, LEN data bytes at DATA (device-writable when WRITE), status. */
static inline uint16_t drv_req(struct drv *d, unsigned slot, uint32_t type, uint64_t sector,
			       uint64_t data, uint32_t len, bool write)
{
	struct seg s[3] = {{HDR_GPA + 16 * slot, 16, false}, {data, len, write}, {0, 1, true}};

	drv_hdr(d, slot, type, sector);
	*gpa(d, STATUS_GPA + slot) = 0xff;
	if (!len) {
		s[1] = (struct seg){STATUS_GPA + slot, 1, true};
		return drv_post(d, s, 2);
	}
	s[2].gpa = STATUS_GPA + slot;
	return drv_post(d, s, 3);
}

static inline uint8_t drv_status(struct drv *d, unsigned slot)
{
	return *gpa(d, STATUS_GPA + slot);
}

/* The driver notifies queue 0 and the device serves it. */
static inline void drv_kick(struct drv *d)
{
	virtio_blk_ops.notify(d->blk, &d->t, 0);
}

static inline uint16_t drv_used_idx(struct drv *d)
{
	uint16_t v;

	memcpy(&v, gpa(d, USED_GPA + 2), 2);
	return v;
}

/* Used element I: the head it names and the bytes written. */
static inline void drv_used(struct drv *d, uint16_t i, uint32_t *id, uint32_t *len)
{
	const uint8_t *e = gpa(d, USED_GPA + 4 + 8 * (i % d->qsize));

	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

/* Whether the device stopped serving (DEVICE_NEEDS_RESET). */
static inline bool drv_failed(struct drv *d)
{
	return d->fails > 0;
}

/* Whether the image still holds exactly what img_create() wrote. */
static inline bool img_pristine(struct drv *d)
{
	static uint8_t buf[IMG_BYTES + 1];

	if (pread(d->img, buf, sizeof(buf), 0) != (ssize_t)IMG_BYTES)
		return false;
	for (uint64_t i = 0; i < IMG_BYTES; i++)
		if (buf[i] != img_byte(i))
			return false;
	return true;
}

#endif
