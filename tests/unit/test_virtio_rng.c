/* test_virtio_rng.c: virtio-rng through the real transport: bytes, caps, broken requests, rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "devices/virtio.h"
#include "devices/virtio_rng.h"
#include "util/bytes.h"

#define RAM (1U << 20)
#define QSIZE 16
#define DESC 0x1000ULL
#define AVAIL 0x2000ULL
#define USED 0x3000ULL
#define DATA 0x10000ULL
#define FILL 0x5a

static struct guest_mem mem;
static struct virtio_mmio t;
static struct virtio_rng *rng;
static uint16_t next_desc, avail_idx;

static void reg(uint64_t off, uint32_t v)
{
	virtio_mmio_io(&t, off, (uint8_t *)&v, 4, true);
}

static uint32_t status(void)
{
	uint32_t v;

	virtio_mmio_io(&t, VIRTIO_MMIO_STATUS, (uint8_t *)&v, 4, false);
	return v;
}

/* The driver's side of the handshake for the one queue, as Linux does it. */
static void driver_up(void)
{
	static const uint32_t seq[][2] = {
	    {VIRTIO_MMIO_STATUS, 1},
	    {VIRTIO_MMIO_STATUS, 3},
	    {VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1},
	    {VIRTIO_MMIO_DRIVER_FEATURES, 1}, /* VIRTIO_F_VERSION_1 */
	    {VIRTIO_MMIO_STATUS, 11},
	    {VIRTIO_MMIO_QUEUE_SEL, 0},
	    {VIRTIO_MMIO_QUEUE_NUM, QSIZE},
	    {VIRTIO_MMIO_QUEUE_DESC_LOW, DESC},
	    {VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL},
	    {VIRTIO_MMIO_QUEUE_USED_LOW, USED},
	    {VIRTIO_MMIO_QUEUE_READY, 1},
	    {VIRTIO_MMIO_STATUS, 15},
	};

	memset(mem.host, 0, 0x4000);
	next_desc = avail_idx = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(seq); i++)
		reg(seq[i][0], seq[i][1]);
	assert_int_equal(status(), 15);
}

static int start(uint64_t rate, uint32_t burst)
{
	if (gmem_init(&mem, RAM))
		return -1;
	rng = rate ? virtio_rng_new_rate(rate, burst) : virtio_rng_new();
	if (!rng || virtio_mmio_init(&t, &virtio_rng_ops, rng, "rng", &mem, 0xd0000000, 16))
		return -1;
	driver_up();
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return start(0, 0);
}

/* 40 KiB/s with a one-request bucket: a 4 KiB request every 100 ms. */
static int setup_slow(void **state)
{
	(void)state;
	return start(40960, VIRTIO_RNG_REQ_MAX);
}

static int teardown(void **state)
{
	(void)state;
	virtio_mmio_destroy(&t);
	gmem_free(&mem);
	return 0;
}

/* Posts one chain of N buffers of LEN[i] bytes at successive DATA offsets; WRITABLE[i] says which
 * the device may write. Buffers start filled with FILL. Returns the head. */
static uint16_t post(unsigned n, const uint32_t *len, const bool *writable, uint64_t data)
{
	uint16_t head = next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint8_t *d = mem.host + DESC + 16ULL * next_desc;
		uint16_t flags =
		    (writable[i] ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		uint16_t next = (uint16_t)(next_desc + 1);

		memset(mem.host + data, FILL, len[i]);
		memcpy(d, &data, 8);
		memcpy(d + 8, &len[i], 4);
		memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
		data += len[i];
		next_desc++;
	}
	memcpy(mem.host + AVAIL + 4 + 2 * (avail_idx % QSIZE), &head, 2);
	avail_idx++;
	memcpy(mem.host + AVAIL + 2, &avail_idx, 2);
	return head;
}

static uint16_t used_idx(void)
{
	uint16_t v;

	memcpy(&v, mem.host + USED + 2, 2);
	return v;
}

static void used_elem(unsigned i, uint32_t *id, uint32_t *len)
{
	memcpy(id, mem.host + USED + 4 + 8 * i, 4);
	memcpy(len, mem.host + USED + 8 + 8 * i, 4);
}

/* How many of LEN bytes at GPA differ from FILL: random bytes rarely all equal it. */
static unsigned changed(uint64_t gpa, uint32_t len)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < len; i++)
		n += mem.host[gpa + i] != FILL;
	return n;
}

static uint64_t irqs(void)
{
	eventfd_t n = 0;

	return eventfd_read(t.irq_fd, &n) ? 0 : n;
}

static void test_fills_request(void **state)
{
	uint16_t head = post(1, (uint32_t[]){64}, (bool[]){true}, DATA);
	uint32_t id, len;

	(void)state;
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(used_idx(), 1);
	used_elem(0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 64);
	assert_true(changed(DATA, 64) > 32);
	assert_int_equal(irqs(), 1);
	assert_int_equal(status(), 15);
}

/* A readable header first and two writable buffers: both writable ones are filled, in order. */
static void test_fills_every_writable_buffer(void **state)
{
	uint32_t id, len;

	(void)state;
	post(3, (uint32_t[]){8, 16, 48}, (bool[]){false, true, true}, DATA);
	assert_true(virtio_mmio_serve(&t, 0));
	used_elem(0, &id, &len);
	assert_int_equal(len, 64);
	assert_int_equal(changed(DATA, 8), 0);
	assert_true(changed(DATA + 8, 16) > 8);
	assert_true(changed(DATA + 24, 48) > 24);
}

/* However big the buffer, one request gets VIRTIO_RNG_REQ_MAX bytes; the rest is untouched. */
static void test_cap_per_request(void **state)
{
	uint32_t id, len;

	(void)state;
	post(1, (uint32_t[]){3 * VIRTIO_RNG_REQ_MAX}, (bool[]){true}, DATA);
	assert_true(virtio_mmio_serve(&t, 0));
	used_elem(0, &id, &len);
	assert_int_equal(len, VIRTIO_RNG_REQ_MAX);
	assert_true(changed(DATA, VIRTIO_RNG_REQ_MAX) > VIRTIO_RNG_REQ_MAX / 2);
	assert_int_equal(changed(DATA + VIRTIO_RNG_REQ_MAX, 2 * VIRTIO_RNG_REQ_MAX), 0);
}

/* A request the device cannot answer (nothing writable) breaks the queue: NEEDS_RESET, and a
 * request behind it is not served. */
static void test_no_writable_buffer_needs_reset(void **state)
{
	(void)state;
	post(1, (uint32_t[]){64}, (bool[]){false}, DATA);
	post(1, (uint32_t[]){64}, (bool[]){true}, DATA + 64);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_true(status() & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(used_idx(), 0);
	assert_int_equal(changed(DATA + 64, 64), 0);
	assert_int_equal(t.failures, 1);
	/* After a reset the device serves again. */
	reg(VIRTIO_MMIO_STATUS, 0);
	driver_up();
	post(1, (uint32_t[]){64}, (bool[]){true}, DATA);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(used_idx(), 1);
}

/* A chain the virtqueue code refuses (here a head past the queue size) stops the device too. */
static void test_broken_chain_needs_reset(void **state)
{
	uint16_t bad = QSIZE + 3;

	(void)state;
	memcpy(mem.host + AVAIL + 4, &bad, 2);
	avail_idx = 1;
	memcpy(mem.host + AVAIL + 2, &avail_idx, 2);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_true(status() & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(used_idx(), 0);
}

static long elapsed_ms(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

/* Past the bucket, requests wait for the timer: no spinning, no early answers. */
static void test_rate_limit_defers(void **state)
{
	struct timespec t0;
	short events;

	(void)state;
	for (unsigned i = 0; i < 3; i++)
		post(1, (uint32_t[]){VIRTIO_RNG_REQ_MAX}, (bool[]){true},
		     DATA + i * VIRTIO_RNG_REQ_MAX);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(used_idx(), 1);
	assert_int_equal(changed(DATA + VIRTIO_RNG_REQ_MAX, VIRTIO_RNG_REQ_MAX), 0);
	assert_true(virtio_rng_ops.wait_fd(rng, &events) >= 0);
	/* A notification while waiting serves nothing early. */
	reg(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(used_idx(), 1);
	/* The timer: about 100 ms for the next 4 KiB. */
	while (used_idx() < 2 && elapsed_ms(&t0) < 2000)
		assert_true(virtio_mmio_serve(&t, 500));
	assert_int_equal(used_idx(), 2);
	assert_true(elapsed_ms(&t0) >= 90);
	while (used_idx() < 3 && elapsed_ms(&t0) < 2000)
		assert_true(virtio_mmio_serve(&t, 500));
	assert_int_equal(used_idx(), 3);
	assert_true(elapsed_ms(&t0) >= 190);
	assert_true(changed(DATA + 2 * VIRTIO_RNG_REQ_MAX, VIRTIO_RNG_REQ_MAX) > 0);
	assert_true(virtio_rng_ops.wait_fd(rng, &events) < 0);
}

/* A reset stops the wait but does not refill the bucket. */
static void test_reset_keeps_the_rate(void **state)
{
	struct timespec t0;
	short events;

	(void)state;
	post(1, (uint32_t[]){VIRTIO_RNG_REQ_MAX}, (bool[]){true}, DATA);
	post(1, (uint32_t[]){VIRTIO_RNG_REQ_MAX}, (bool[]){true}, DATA + VIRTIO_RNG_REQ_MAX);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(virtio_mmio_serve(&t, 0));
	assert_int_equal(used_idx(), 1);
	reg(VIRTIO_MMIO_STATUS, 0);
	assert_true(virtio_rng_ops.wait_fd(rng, &events) < 0);
	driver_up();
	post(1, (uint32_t[]){VIRTIO_RNG_REQ_MAX}, (bool[]){true}, DATA);
	assert_true(virtio_mmio_serve(&t, 0));
	if (elapsed_ms(&t0) < 50)
		assert_int_equal(used_idx(), 0);
	while (used_idx() < 1 && elapsed_ms(&t0) < 2000)
		assert_true(virtio_mmio_serve(&t, 500));
	assert_int_equal(used_idx(), 1);
	assert_true(elapsed_ms(&t0) >= 90);
}

/* Out-of-range rates are refused rather than turned into a bucket that can never fill. */
static void test_rate_refusals(void **state)
{
	(void)state;
	assert_null(virtio_rng_new_rate(0, VIRTIO_RNG_REQ_MAX));
	assert_null(virtio_rng_new_rate(1 << 20, VIRTIO_RNG_REQ_MAX - 1));
	assert_null(virtio_rng_new_rate(UINT64_MAX, VIRTIO_RNG_REQ_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fills_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fills_every_writable_buffer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cap_per_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_writable_buffer_needs_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_broken_chain_needs_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limit_defers, setup_slow, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_keeps_the_rate, setup_slow, teardown),
	    cmocka_unit_test(test_rate_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
