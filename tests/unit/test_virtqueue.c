/* test_virtqueue.c: split-ring parsing against a hostile driver: geometry, chains, indirect tables,
 * descriptors fetched once, requests copied in and out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "vq_driver.h"

static void start_refused(uint16_t size, uint64_t d, uint64_t a, uint64_t u, const char *what)
{
	const char *why = NULL;

	q.size = size;
	q.desc_gpa = d;
	q.avail_gpa = a;
	q.used_gpa = u;
	q.ready = true;
	assert_int_equal(vq_start(&q, &mem, 0, &why), -EINVAL);
	assert_false(q.live);
	if (!strstr(why, what))
		fail_msg("refused for \"%s\", expected \"%s\"", why, what);
}

/* Class 4: queue geometry. */
static void test_geometry_refused(void **state)
{
	(void)state;
	start_refused(0, DESC, AVAIL, USED, "power of two");
	start_refused(3, DESC, AVAIL, USED, "power of two");
	start_refused(512, DESC, AVAIL, USED, "power of two"); /* above size_max 256 */
	start_refused(16, DESC + 8, AVAIL, USED, "misaligned");
	start_refused(16, DESC, AVAIL + 1, USED, "misaligned");
	start_refused(16, DESC, AVAIL, USED + 2, "misaligned");
	start_refused(16, RAM - 16 * 8, AVAIL, USED, "descriptor table");
	start_refused(16, DESC, RAM - 8, USED, "avail ring");
	start_refused(16, DESC, AVAIL, RAM - 64, "used ring");
	start_refused(16, DESC, AVAIL, 0xfffffffffffffff0ULL, "used ring");
	q.ready = false;
	{
		const char *why = NULL;

		q.size = 16;
		assert_int_equal(vq_start(&q, &mem, 0, &why), -EINVAL);
	}
}

static void test_pop_empty_and_simple(void **state)
{
	(void)state;
	start_size(16, 0);
	assert_int_equal(vq_pop(&q, &req), 0);
	desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	desc(DESC, 1, DATA + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	desc(DESC, 2, DATA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	offer(0);
	assert_int_equal(vq_pop(&q, &req), 1);
	assert_int_equal(req.head, 0);
	assert_int_equal(req.n_out, 1);
	assert_int_equal(req.n_in, 2);
	assert_int_equal(req.out_len, 16);
	assert_int_equal(req.in_len, 513);
	assert_ptr_equal(req.buf[0].host, at(DATA));
	assert_ptr_equal(req.buf[2].host, at(DATA + 0x400));
	assert_int_equal(vq_pop(&q, &req), 0);
}

/* Class 1: a chain whose next points back into itself ends as an error, not a hang. */
static void test_chain_loop(void **state)
{
	(void)state;
	start_size(16, 0);
	desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	desc(DESC, 1, DATA, 16, VRING_DESC_F_NEXT, 0);
	offer(0);
	expect_broken("loops");
}

static void test_self_loop(void **state)
{
	(void)state;
	start_size(1, 0);
	desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 0);
	offer(0);
	expect_broken("loops");
}

/* Class 2: head and next indexes past the queue size, including 0xffff. */
static void test_head_out_of_range(void **state)
{
	(void)state;
	start_size(16, 0);
	offer(16);
	expect_broken("head index");
}

static void test_next_out_of_range(void **state)
{
	(void)state;
	start_size(16, 0);
	desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 0xffff);
	offer(0);
	expect_broken("next index");
}

/* Class 3: avail.idx jumping more than the queue size is refused, nothing is served
 * twice. */
static void test_avail_jump(void **state)
{
	(void)state;
	start_size(16, 0);
	desc(DESC, 0, DATA, 16, 0, 0);
	offer(0);
	assert_int_equal(vq_pop(&q, &req), 1);
	put16(AVAIL + 2, (uint16_t)(1 + 17));
	expect_broken("jumped");
}

static void test_avail_wraps(void **state)
{
	(void)state;
	start_size(4, 0);
	desc(DESC, 0, DATA, 16, 0, 0);
	/* Around the 16-bit wrap, indexes are compared modulo 2^16. */
	for (unsigned i = 0; i < 70000; i++) {
		offer(0);
		assert_int_equal(vq_pop(&q, &req), 1);
		vq_push(&q, &req, 0);
	}
	assert_int_equal(get16(USED + 2), (uint16_t)70000);
}

/* Class 5: addr + len overflowing or leaving guest RAM. */
static void test_buffer_outside_ram(void **state)
{
	(void)state;
	start_size(16, 0);
	desc(DESC, 0, 0xfffffffffffffff0ULL, 0x20, 0, 0);
	offer(0);
	expect_broken("inside guest RAM");
}

static void test_buffer_straddles_end(void **state)
{
	(void)state;
	start_size(16, 0);
	desc(DESC, 0, RAM - 8, 16, 0, 0);
	offer(0);
	expect_broken("inside guest RAM");
}

/* Class 6: one huge length, and a sum that would overflow 32 bits. */
static void test_huge_length(void **state)
{
	(void)state;
	start_size(16, 0);
	desc(DESC, 0, DATA, 0xffffffffU, 0, 0);
	offer(0);
	expect_broken("cap");
}

static void test_sum_over_cap(void **state)
{
	(void)state;
	q.len_max = 0x1000;
	start_size(16, 0);
	desc(DESC, 0, DATA, 0x800, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	desc(DESC, 1, DATA, 0x800, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	desc(DESC, 2, DATA, 1, VRING_DESC_F_WRITE, 0);
	offer(0);
	expect_broken("cap");
}

static void test_zero_length(void **state)
{
	(void)state;
	start_size(16, 0);
	desc(DESC, 0, DATA, 0, 0, 0);
	offer(0);
	expect_broken("zero-length");
}

static void test_readable_after_writable(void **state)
{
	(void)state;
	start_size(16, 0);
	desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	desc(DESC, 1, DATA, 16, 0, 0);
	offer(0);
	expect_broken("readable buffer after");
}

static void test_chain_longer_than_served(void **state)
{
	(void)state;
	q.size_max = 1024;
	vq_reset(&q);
	start_size(1024, 0);
	for (uint16_t i = 0; i < VQ_CHAIN_MAX + 1; i++)
		desc(DESC, i, DATA, 1, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	desc(DESC, VQ_CHAIN_MAX + 1, DATA, 1, 0, 0);
	offer(0);
	expect_broken("longer than");
}

#define TABLE 0x8000ULL

/* Class 7: indirect tables. */
static void test_indirect_ok(void **state)
{
	(void)state;
	start_size(16, FEAT_ALL);
	desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	desc(TABLE, 1, DATA + 0x100, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	desc(TABLE, 2, DATA + 0x2000, 1, VRING_DESC_F_WRITE, 0);
	desc(DESC, 5, TABLE, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(5);
	assert_int_equal(vq_pop(&q, &req), 1);
	assert_int_equal(req.head, 5);
	assert_int_equal(req.n_out, 1);
	assert_int_equal(req.n_in, 2);
	assert_int_equal(req.in_len, 4097);
}

static void test_indirect_not_negotiated(void **state)
{
	(void)state;
	start_size(16, 0);
	desc(TABLE, 0, DATA, 16, 0, 0);
	desc(DESC, 0, TABLE, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("without VIRTIO_F_INDIRECT_DESC");
}

static void test_indirect_bad_length(void **state)
{
	(void)state;
	start_size(16, FEAT_ALL);
	desc(DESC, 0, TABLE, 24, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("multiple of 16");
}

static void test_indirect_nested(void **state)
{
	(void)state;
	start_size(16, FEAT_ALL);
	desc(TABLE, 0, TABLE + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	desc(DESC, 0, TABLE, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("nested");
}

static void test_indirect_outside_ram(void **state)
{
	(void)state;
	start_size(16, FEAT_ALL);
	desc(DESC, 0, RAM - 16, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("inside guest RAM");
}

static void test_indirect_too_long(void **state)
{
	(void)state;
	start_size(16, FEAT_ALL);
	desc(DESC, 0, TABLE, 16 * (VQ_CHAIN_MAX + 1), VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("longer than");
}

static void test_indirect_loop(void **state)
{
	(void)state;
	start_size(16, FEAT_ALL);
	desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	desc(TABLE, 1, DATA, 16, VRING_DESC_F_NEXT, 0);
	desc(DESC, 0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("loops");
}

static void test_indirect_inside_chain(void **state)
{
	(void)state;
	start_size(16, FEAT_ALL);
	desc(TABLE, 0, DATA, 16, 0, 0);
	desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	desc(DESC, 1, TABLE, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("inside a chain");
}

static void test_indirect_with_next(void **state)
{
	(void)state;
	start_size(16, FEAT_ALL);
	desc(TABLE, 0, DATA, 16, 0, 0);
	desc(DESC, 0, TABLE, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	offer(0);
	expect_broken("NEXT");
}

/* Class 9: descriptors are copied once; changing them after the pop changes nothing. */
static void test_no_double_fetch(void **state)
{
	(void)state;
	start_size(16, 0);
	desc(DESC, 0, DATA, 64, 0, 0);
	offer(0);
	assert_int_equal(vq_pop(&q, &req), 1);
	desc(DESC, 0, RAM - 1, 0xffffffffU, VRING_DESC_F_WRITE, 0);
	assert_ptr_equal(req.buf[0].host, at(DATA));
	assert_int_equal(req.buf[0].len, 64);
	assert_int_equal(req.n_out, 1);
}

/* Class 8: a driver that never reaps: the queue holds at most size chains, nothing
 * grows, and further offers past the size are refused as a jump. */
static void test_never_reaped(void **state)
{
	(void)state;
	start_size(8, 0);
	desc(DESC, 0, DATA, 16, 0, 0);
	for (int i = 0; i < 8; i++) {
		offer(0);
		assert_int_equal(vq_pop(&q, &req), 1);
		vq_push(&q, &req, 0);
	}
	assert_int_equal(vq_pop(&q, &req), 0);
	put16(AVAIL + 2, (uint16_t)(get16(AVAIL + 2) + 9));
	expect_broken("jumped");
}

static void test_req_copy(void **state)
{
	uint8_t buf[32];

	(void)state;
	start_size(16, 0);
	memcpy(at(DATA), "0123", 4);
	memcpy(at(DATA + 0x100), "456789", 6);
	desc(DESC, 0, DATA, 4, VRING_DESC_F_NEXT, 1);
	desc(DESC, 1, DATA + 0x100, 6, VRING_DESC_F_NEXT, 2);
	desc(DESC, 2, DATA + 0x200, 3, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	desc(DESC, 3, DATA + 0x300, 5, VRING_DESC_F_WRITE, 0);
	offer(0);
	assert_int_equal(vq_pop(&q, &req), 1);
	assert_int_equal(vq_req_read(&req, 2, buf, 6), 0);
	assert_memory_equal(buf, "234567", 6);
	assert_int_equal(vq_req_read(&req, 5, buf, 6), -EFAULT); /* only 10 readable bytes */
	assert_int_equal(vq_req_write(&req, 1, "abcdefg", 7), 0);
	assert_memory_equal(at(DATA + 0x201), "ab", 2);
	assert_memory_equal(at(DATA + 0x300), "cdefg", 5);
	assert_int_equal(vq_req_write(&req, 2, "abcdefg", 7), -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_geometry_refused),
	    T(test_pop_empty_and_simple),
	    T(test_chain_loop),
	    T(test_self_loop),
	    T(test_head_out_of_range),
	    T(test_next_out_of_range),
	    T(test_avail_jump),
	    T(test_avail_wraps),
	    T(test_buffer_outside_ram),
	    T(test_buffer_straddles_end),
	    T(test_huge_length),
	    T(test_sum_over_cap),
	    T(test_zero_length),
	    T(test_readable_after_writable),
	    T(test_chain_longer_than_served),
	    T(test_indirect_ok),
	    T(test_indirect_not_negotiated),
	    T(test_indirect_bad_length),
	    T(test_indirect_nested),
	    T(test_indirect_outside_ram),
	    T(test_indirect_too_long),
	    T(test_indirect_loop),
	    T(test_indirect_inside_chain),
	    T(test_indirect_with_next),
	    T(test_no_double_fetch),
	    T(test_never_reaped),
	    T(test_req_copy),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
