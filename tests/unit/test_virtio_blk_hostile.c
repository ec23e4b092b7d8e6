/* test_virtio_blk_hostile.c: virtio-blk against a hostile driver (docs/hostile-input.md classes 5,
 * 6, 8, 9, 14). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <malloc.h>
#include <pthread.h>
#include <sys/stat.h>

#include "blk_driver.h"
#include "util/bytes.h"

#ifdef __SANITIZE_ADDRESS__
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_bytes(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
static size_t heap_bytes(void)
{
	return mallinfo2().uordblks;
}
#endif

/* Sends one request of TYPE at SECTOR with LEN data bytes at DATA_GPA (pre-filled with 0xee)
 * and returns its status; the device must still be serving afterwards. */
static uint8_t one(struct drv *d, uint32_t type, uint64_t sector, uint32_t len, bool write)
{
	uint16_t before = drv_used_idx(d);

	memset(gpa(d, DATA_GPA), 0xee, len);
	drv_req(d, 0, type, sector, DATA_GPA, len, write);
	drv_kick(d);
	assert_false(drv_failed(d));
	assert_int_equal(drv_used_idx(d), (uint16_t)(before + 1));
	return drv_status(d, 0);
}

/* Asserts the guest's data buffer was left alone. */
static void assert_untouched(struct drv *d, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		assert_int_equal(gpa(d, DATA_GPA)[i], 0xee);
}

/* Class 14: sector + length past the capacity, including sums that wrap 64 bits. */
static void past_capacity_is_io_error(void **state)
{
	static const struct {
		uint64_t sector;
		uint32_t len;
	} bad[] = {
	    {IMG_SECTORS, 512},
	    {IMG_SECTORS - 1, 1024},
	    {0, IMG_BYTES + 512},
	    {IMG_SECTORS + 1, 0},
	    {UINT64_MAX, 512},
	    {UINT64_MAX - 1, 1024},
	    {1ULL << 55, 512},		   /* sector * 512 wraps to 0 */
	    {(UINT64_MAX / 512) + 1, 512}, /* likewise, to a small offset */
	    {UINT64_MAX - 100, 65536},	   /* sector + nsec wraps below capacity */
	};
	struct drv *d = *state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(one(d, VIRTIO_BLK_T_IN, bad[i].sector, bad[i].len, true),
				 VIRTIO_BLK_S_IOERR);
		assert_untouched(d, bad[i].len);
		assert_int_equal(one(d, VIRTIO_BLK_T_OUT, bad[i].sector, bad[i].len, false),
				 VIRTIO_BLK_S_IOERR);
	}
	assert_true(img_pristine(d));
}

static void unaligned_length_is_io_error(void **state)
{
	static const uint32_t bad[] = {1, 511, 513, 1000, 4095};
	struct drv *d = *state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(one(d, VIRTIO_BLK_T_IN, 0, bad[i], true), VIRTIO_BLK_S_IOERR);
		assert_untouched(d, bad[i]);
		assert_int_equal(one(d, VIRTIO_BLK_T_OUT, 0, bad[i], false), VIRTIO_BLK_S_IOERR);
	}
	assert_true(img_pristine(d));
}

/* Sends the chain S and checks the device stopped without answering and without touching the
 * image; then a reset brings it back. */
static void assert_unanswerable(struct drv *d, const struct seg *s, unsigned n)
{
	drv_post(d, s, n);
	drv_req(d, 1, VIRTIO_BLK_T_IN, 0, DATA_GPA + 4096, 512, true); /* never served */
	drv_kick(d);
	assert_true(drv_failed(d));
	assert_int_equal(drv_used_idx(d), 0);
	assert_int_equal(drv_status(d, 1), 0xff);
	drv_kick(d); /* a failed device stays quiet until reset */
	assert_int_equal(drv_status(d, 1), 0xff);
	assert_true(img_pristine(d));
	assert_int_equal(drv_reset(d), 0);
	assert_int_equal(one(d, VIRTIO_BLK_T_IN, 2, 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(drv_reset(d), 0);
}

static void missing_header_or_status_stops_the_device(void **state)
{
	struct drv *d = *state;
	struct seg only_status[] = {{STATUS_GPA, 1, true}};
	struct seg short_hdr[] = {{HDR_GPA, 15, false}, {STATUS_GPA, 1, true}};
	struct seg no_status[] = {{HDR_GPA, 16, false}, {DATA_GPA, 512, false}};
	struct seg hdr_only[] = {{HDR_GPA, 16, false}};

	drv_hdr(d, 0, VIRTIO_BLK_T_OUT, 0);
	assert_unanswerable(d, only_status, 1);
	assert_unanswerable(d, short_hdr, 2);
	assert_unanswerable(d, no_status, 2);
	assert_unanswerable(d, hdr_only, 1);
}

/* Data buffers in the direction the type does not use: an I/O error, nothing moved. */
static void wrong_direction_is_io_error(void **state)
{
	struct drv *d = *state;
	struct seg read_readable[] = {
	    {HDR_GPA, 16, false}, {DATA_GPA, 512, false}, {STATUS_GPA, 1, true}};
	struct seg write_writable[] = {
	    {HDR_GPA, 16, false}, {DATA_GPA, 512, true}, {STATUS_GPA, 1, true}};
	struct {
		uint32_t type;
		const struct seg *s;
	} bad[] = {
	    {VIRTIO_BLK_T_IN, read_readable},	  {VIRTIO_BLK_T_OUT, write_writable},
	    {VIRTIO_BLK_T_GET_ID, read_readable}, {VIRTIO_BLK_T_FLUSH, read_readable},
	    {VIRTIO_BLK_T_FLUSH, write_writable},
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(gpa(d, DATA_GPA), 0xee, 512);
		drv_hdr(d, 0, bad[i].type, 0);
		*gpa(d, STATUS_GPA) = 0xff;
		drv_post(d, bad[i].s, 3);
		drv_kick(d);
		assert_int_equal(drv_status(d, 0), VIRTIO_BLK_S_IOERR);
		assert_untouched(d, 512);
	}
	assert_int_equal(drv_used_idx(d), ARRAY_SIZE(bad));
	assert_false(drv_failed(d));
	assert_true(img_pristine(d));
}

static void read_only_write_leaves_image_identical(void **state)
{
	struct drv *d = *state;

	assert_int_equal(one(d, VIRTIO_BLK_T_OUT, 0, 512, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(one(d, VIRTIO_BLK_T_OUT, 0, IMG_BYTES, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(one(d, VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
	assert_true(img_pristine(d));
}

static void unknown_type_is_unsupp(void **state)
{
	static const uint32_t types[] = {2, 3, 5, 10, 11, 13, 14, 0x80000000, UINT32_MAX};
	struct drv *d = *state;
	uint32_t id, len;

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		assert_int_equal(one(d, types[i], 0, 512, true), VIRTIO_BLK_S_UNSUPP);
		assert_untouched(d, 512);
		drv_used(d, (uint16_t)(drv_used_idx(d) - 1), &id, &len);
		assert_int_equal(len, 1);
	}
	assert_true(img_pristine(d));
}

/* Class 5: buffers that leave guest RAM or wrap: the queue is broken, nothing is served. */
static void buffers_outside_ram_stop_the_device(void **state)
{
	struct drv *d = *state;
	struct seg straddle[] = {
	    {HDR_GPA, 16, false}, {RAM_SIZE - 256, 512, true}, {STATUS_GPA, 1, true}};
	struct seg wrap[] = {
	    {HDR_GPA, 16, false}, {UINT64_MAX - 255, 512, false}, {STATUS_GPA, 1, true}};
	struct seg status_out[] = {{HDR_GPA, 16, false}, {RAM_SIZE, 1, true}};
	struct seg hdr_out[] = {{UINT64_MAX - 7, 16, false}, {STATUS_GPA, 1, true}};

	drv_hdr(d, 0, VIRTIO_BLK_T_IN, 0);
	assert_unanswerable(d, straddle, 3);
	drv_hdr(d, 0, VIRTIO_BLK_T_OUT, 0);
	assert_unanswerable(d, wrap, 3);
	assert_unanswerable(d, status_out, 2);
	assert_unanswerable(d, hdr_out, 2);
}

/* Class 6: lengths near and past 32 bits, and requests larger than the disk. */
static void huge_lengths(void **state)
{
	struct drv *d = *state;
	struct seg huge[] = {
	    {HDR_GPA, 16, false}, {DATA_GPA, UINT32_MAX, true}, {STATUS_GPA, 1, true}};
	struct seg wraps[] = {{HDR_GPA, 16, false},
			      {DATA_GPA, 0x80000000U, true},
			      {DATA_GPA, 0x80000000U, true},
			      {STATUS_GPA, 1, true}};

	drv_hdr(d, 0, VIRTIO_BLK_T_IN, 0);
	assert_unanswerable(d, huge, 3);
	assert_unanswerable(d, wraps, 4);
	/* Inside RAM but eight times the disk. */
	assert_int_equal(one(d, VIRTIO_BLK_T_IN, 0, 8 * IMG_BYTES, true), VIRTIO_BLK_S_IOERR);
	assert_untouched(d, 8 * IMG_BYTES);
}

/* Class 8: a guest that never reaps completions: every request is answered in place, and the
 * device's host memory stays what it was, across used-index wrap-around. */
static void never_reaping_allocates_nothing(void **state)
{
	struct drv *d = *state;
	size_t before = 0;

	for (unsigned round = 0; round < 14000; round++) {
		if (round == 1)
			before = heap_bytes();
		for (unsigned k = 0; k < 5; k++)
			drv_req(d, k, k % 2 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, k, DATA_GPA, 512,
				k % 2 == 0);
		drv_kick(d);
		assert_int_equal(drv_used_idx(d), (uint16_t)(5 * (round + 1)));
	}
	assert_int_equal(heap_bytes(), before);
	assert_false(drv_failed(d));
}

/*
 * A guest that re-posts chains faster than the device completes them (here: each read rewrites
 * the avail ring and its own header, so one notification would never end). The device serves a
 * queue's worth, then hands the rest to the next round of its thread through the notify eventfd.
 */
static void reposting_guest_gets_rounds(void **state)
{
	struct drv *d = *state;
	uint8_t sector[512] = {0};
	uint64_t kicks = 0;
	struct seg s[] = {
	    {AVAIL_GPA + 64, 16, false}, {AVAIL_GPA, 512, true}, {STATUS_GPA, 1, true}};

	for (uint64_t k = 0; k < IMG_SECTORS; k++) {
		uint16_t idx = (uint16_t)(k + 2);
		uint32_t type = VIRTIO_BLK_T_IN;
		uint64_t next = k + 1;

		memcpy(sector + 2, &idx, 2); /* avail.idx; every ring entry names head 0 */
		memcpy(sector + 64, &type, 4);
		memcpy(sector + 72, &next, 8);
		assert_int_equal(pwrite(d->img, sector, 512, (off_t)(k * 512)), 512);
	}
	memcpy(gpa(d, AVAIL_GPA + 64), sector + 64, 4);
	memset(gpa(d, AVAIL_GPA + 72), 0, 8);
	drv_post(d, s, 3);
	drv_kick(d);
	assert_int_equal(drv_used_idx(d), 16);
	assert_int_equal(read(d->t.notify_fd[0], &kicks, 8), 8);
	assert_int_equal(kicks, 1);
	drv_kick(d);
	assert_int_equal(drv_used_idx(d), 32);
	assert_false(drv_failed(d));
}

/* Class 9: a read that overwrites its own header is answered as the header first said. */
static void header_overwritten_by_its_read(void **state)
{
	struct drv *d = *state;
	uint8_t evil[16] = {VIRTIO_BLK_T_OUT};
	struct seg s[] = {{DATA_GPA, 16, false}, {DATA_GPA, 1024, true}, {STATUS_GPA, 1, true}};
	uint32_t id, len;

	memset(evil + 8, 0xff, 8);
	assert_int_equal(pwrite(d->img, evil, 16, 5 * 512), 16);
	memcpy(gpa(d, DATA_GPA), (uint32_t[]){VIRTIO_BLK_T_IN}, 4);
	memset(gpa(d, DATA_GPA + 4), 0, 4);
	memcpy(gpa(d, DATA_GPA + 8), (uint64_t[]){5}, 8);
	drv_post(d, s, 3);
	drv_kick(d);
	assert_int_equal(*gpa(d, STATUS_GPA), VIRTIO_BLK_S_OK);
	drv_used(d, 0, &id, &len);
	assert_int_equal(len, 1025);
	assert_memory_equal(gpa(d, DATA_GPA), evil, 16);
}

/* Class 9: another vCPU flips a write's sector between valid and past the end while the device
 * works. A device that read it twice would write past the capacity and grow the image. */
struct flipper {
	uint8_t *sector;
	volatile bool stop;
};

static void *flip(void *arg)
{
	struct flipper *f = arg;

	for (uint64_t i = 0; !f->stop; i++)
		__atomic_store_n((uint64_t *)(void *)f->sector, i % 2 ? IMG_SECTORS : 0,
				 __ATOMIC_RELAXED);
	return NULL;
}

static void header_flipped_while_served(void **state)
{
	struct drv *d = *state;
	struct flipper f = {.sector = gpa(d, HDR_GPA + 8)};
	unsigned ok = 0, ioerr = 0;
	struct stat st;
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, flip, &f), 0);
	for (unsigned round = 0; round < 20000; round++) {
		for (unsigned k = 0; k < 5; k++) {
			struct seg s[] = {{HDR_GPA, 16, false},
					  {DATA_GPA, 4096, false},
					  {STATUS_GPA + k, 1, true}};

			memcpy(gpa(d, HDR_GPA), (uint32_t[]){VIRTIO_BLK_T_OUT}, 4);
			*gpa(d, STATUS_GPA + k) = 0xff;
			drv_post(d, s, 3);
		}
		drv_kick(d);
		for (unsigned k = 0; k < 5; k++) {
			ok += drv_status(d, k) == VIRTIO_BLK_S_OK;
			ioerr += drv_status(d, k) == VIRTIO_BLK_S_IOERR;
		}
	}
	f.stop = true;
	pthread_join(th, NULL);
	assert_int_equal(ok + ioerr, 20000 * 5);
	assert_int_equal(fstat(d->img, &st), 0);
	assert_int_equal(st.st_size, IMG_BYTES);
	assert_false(drv_failed(d));
}

/* The guest's part in a race the device cannot win: the avail index reads empty in vq_pop, then
 * one ahead when notifications are enabled, and back again (linked with --wrap). */
static struct {
	struct drv *d;
	unsigned calls;
} flip_idx;

bool __real_vq_enable_notify(struct virtqueue *q);
bool __wrap_vq_enable_notify(struct virtqueue *q);
bool __wrap_vq_enable_notify(struct virtqueue *q)
{
	uint8_t *idx;
	bool r;

	if (!flip_idx.d)
		return __real_vq_enable_notify(q);
	/* Long past any budget: the device spins; fail rather than hang. */
	if (++flip_idx.calls > 1000000)
		fail_msg("the device keeps looking at a flipping avail index");
	idx = gpa(flip_idx.d, AVAIL_GPA + 2);
	memcpy(idx, &(uint16_t){(uint16_t)(q->last_avail + 1)}, 2);
	r = __real_vq_enable_notify(q);
	memcpy(idx, &q->last_avail, 2);
	return r;
}

/* Class 8: the device thread gets back to its loop however the index moves, and the queue still
 * serves an honest request afterwards. */
static void flipping_avail_index_is_bounded(void **state)
{
	struct drv *d = *state;

	flip_idx.d = d;
	flip_idx.calls = 0;
	drv_kick(d);
	flip_idx.d = NULL;
	assert_in_range(flip_idx.calls, 1, d->qsize);
	assert_false(drv_failed(d));
	assert_int_equal(one(d, VIRTIO_BLK_T_IN, 0, 512, true), VIRTIO_BLK_S_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(past_capacity_is_io_error, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(unaligned_length_is_io_error, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(missing_header_or_status_stops_the_device, setup_rw,
					    teardown),
	    cmocka_unit_test_setup_teardown(wrong_direction_is_io_error, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(read_only_write_leaves_image_identical, setup_ro,
					    teardown),
	    cmocka_unit_test_setup_teardown(unknown_type_is_unsupp, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(buffers_outside_ram_stop_the_device, setup_rw,
					    teardown),
	    cmocka_unit_test_setup_teardown(huge_lengths, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(never_reaping_allocates_nothing, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(reposting_guest_gets_rounds, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(header_overwritten_by_its_read, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(header_flipped_while_served, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(flipping_avail_index_is_bounded, setup_rw, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
