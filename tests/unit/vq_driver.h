/* vq_driver.h: a driver's side of one split virtqueue for the virtqueue's unit tests: it writes
 * descriptors and rings straight into guest RAM. Include after cmocka.h. */
#ifndef BULWARK_TEST_VQ_DRIVER_H
#define BULWARK_TEST_VQ_DRIVER_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "devices/virtio.h"
#include "devices/virtqueue.h"

#define RAM (1U << 20)
#define DESC 0x1000ULL
#define AVAIL 0x5000ULL
#define USED 0x6000ULL
#define DATA 0x10000ULL
#define FEAT_ALL (VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_VERSION_1))

static struct guest_mem mem;
static struct virtqueue q;
static struct vq_req req;

/* The test plays the driver: it writes rings straight into guest RAM. */
static inline uint8_t *at(uint64_t gpa)
{
	return mem.host + gpa;
}

static inline void desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	uint8_t *d = at(table + 16ULL * i);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static inline uint16_t get16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, at(gpa), 2);
	return v;
}

static inline void put16(uint64_t gpa, uint16_t v)
{
	memcpy(at(gpa), &v, 2);
}

/* Offers chain HEAD in the next avail slot. */
static inline void offer(uint16_t head)
{
	uint16_t idx = get16(AVAIL + 2);

	put16(AVAIL + 4 + 2ULL * (idx % q.size), head);
	put16(AVAIL + 2, (uint16_t)(idx + 1));
}

static inline void start_size(uint16_t size, uint64_t features)
{
	const char *why = NULL;

	q.size = size;
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	q.ready = true;
	assert_int_equal(vq_start(&q, &mem, features, &why), 0);
}

static inline int setup(void **state)
{
	(void)state;
	assert_int_equal(gmem_init(&mem, RAM), 0);
	memset(&q, 0, sizeof(q));
	q.size_max = 256;
	vq_reset(&q);
	memset(&req, 0, sizeof(req));
	return 0;
}

static inline int teardown(void **state)
{
	(void)state;
	gmem_free(&mem);
	return 0;
}

/* Pops and expects the queue to break with a reason containing WHAT. */
static inline void expect_broken(const char *what)
{
	assert_int_equal(vq_pop(&q, &req), -EINVAL);
	assert_true(q.broken);
	assert_non_null(q.why);
	if (!strstr(q.why, what))
		fail_msg("broke for \"%s\", expected \"%s\"", q.why, what);
	/* Broken stays broken: nothing is served until the driver resets the device. */
	assert_int_equal(vq_pop(&q, &req), -EINVAL);
	assert_false(vq_enable_notify(&q));
}

#endif
