/* blk_driver.h: a minimal virtio-blk driver for the unit tests: guest RAM, one split queue and an
 * image, driven through the virtio-mmio transport's registers as a guest would. */
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
#include "devices/virtio_mmio.h"
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
	struct virtio_blk *blk; /* owned by t */
	int img;		/* another descriptor on the image, to check it from the host */
	uint16_t qsize, avail_idx, next_desc;
	uint64_t features;
	unsigned interrupts; /* raised on the irqfd, summed by drv_interrupts() */
};

#define MMIO_BASE 0xd0000000ULL

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

/* Register accesses, as a vCPU's MMIO exits deliver them. */
static inline void reg_write(struct drv *d, uint32_t reg, uint32_t v)
{
	virtio_mmio_io(&d->t, reg, (uint8_t *)&v, 4, true);
}

static inline uint32_t reg_read(struct drv *d, uint32_t reg)
{
	uint32_t v = 0;

	virtio_mmio_io(&d->t, reg, (uint8_t *)&v, 4, false);
	return v;
}

/* LEN bytes of config space from OFF, through the register window. */
static inline uint64_t drv_config(struct drv *d, uint32_t off, uint32_t len)
{
	uint64_t v = 0;

	virtio_mmio_io(&d->t, VIRTIO_MMIO_CONFIG + off, (uint8_t *)&v, len, false);
	return v;
}

static inline uint64_t drv_device_features(struct drv *d)
{
	reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	uint64_t hi = reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES);

	reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return hi << 32 | reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
}

/* The device thread's work, done here: whatever notifications are pending. */
static inline void drv_serve(struct drv *d)
{
	virtio_mmio_serve(&d->t, 0);
}

/* The driver's side of initialization (3.1.1): reset, features, queue 0, DRIVER_OK. */
static inline int drv_start(struct drv *d)
{
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	reg_write(d, VIRTIO_MMIO_STATUS, 0);
	memset(gpa(d, DESC_GPA), 0, INDIRECT_GPA - DESC_GPA);
	d->avail_idx = d->next_desc = 0;
	reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	reg_write(d, VIRTIO_MMIO_STATUS, st);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	reg_write(d, VIRTIO_MMIO_STATUS, st |= VIRTIO_STATUS_FEATURES_OK);
	if (!(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		return -1;
	reg_write(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	reg_write(d, VIRTIO_MMIO_QUEUE_NUM, d->qsize);
	reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
	reg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)AVAIL_GPA);
	reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	reg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)USED_GPA);
	reg_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	reg_write(d, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	drv_serve(d);
	return virtio_mmio_live(&d->t) ? 0 : -1;
}

/* Serves BLK through a fresh transport (the old one and its device are destroyed). */
static inline int drv_attach(struct drv *d, struct virtio_blk *blk)
{
	virtio_mmio_destroy(&d->t);
	d->blk = blk;
	if (!blk || virtio_mmio_init(&d->t, &virtio_blk_ops, blk, "blk0", &d->mem, MMIO_BASE, 5))
		return -1;
	return drv_start(d);
}

static inline int drv_setup(struct drv *d, bool read_only, uint16_t qsize, uint64_t features)
{
	int fd = img_create();

	memset(d, 0, sizeof(*d));
	d->qsize = qsize;
	d->features = features | VIRTIO_BIT(VIRTIO_F_VERSION_1);
	d->img = fd < 0 ? -1 : dup(fd);
	if (d->img < 0 || gmem_init(&d->mem, RAM_SIZE))
		return -1;
	return drv_attach(d, virtio_blk_new(fd, IMG_BYTES, read_only, "bulwark-disk"));
}

static inline void drv_teardown(struct drv *d)
{
	virtio_mmio_destroy(&d->t);
	close(d->img);
	gmem_free(&d->mem);
}

/* The driver resets the device (after a failure) and starts it again. */
static inline int drv_reset(struct drv *d)
{
	return drv_start(d);
}

/* Interrupts raised so far, as the irqfd counts them. */
static inline unsigned drv_interrupts(struct drv *d)
{
	uint64_t n;

	if (read(d->t.irq_fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		d->interrupts += (unsigned)n;
	return d->interrupts;
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

/* The driver notifies queue 0 (QueueNotify), and the device thread serves it. */
static inline void drv_kick(struct drv *d)
{
	reg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	drv_serve(d);
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
	return reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET;
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
