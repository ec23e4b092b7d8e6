/* test_net_filter_offload.c: what a frame's virtio-net header may ask of the host after the
 * filter passed it (a checksum written, TCP segmentation), and IPv4 options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "net_frames.h"
#include "util/bytes.h"

static struct net_drop d;

static enum net_drop_reason tx(const struct net_filter *f, bool csum, uint16_t start,
			       uint16_t offset, uint8_t gso)
{
	struct net_offload off = {csum, start, offset, gso};

	return net_filter_tx(f, fr, flen, &off, &d);
}

/*
 * The frame in fr passes without offload; with a checksum asked for, only at WANT_START +
 * WANT_OFFSET (the checksum of its TCP or UDP header): every other place in the frame, from
 * the MACs to the payload, and beyond it, is refused.
 */
static void only_at(const struct net_filter *f, uint16_t want_start, uint16_t want_offset)
{
	assert_int_equal(net_filter_tx(f, fr, flen, NULL, &d), NET_PASS);
	for (uint16_t start = 0; start <= flen + 2; start++)
		for (uint16_t offset = 0; offset <= flen + 2; offset++) {
			enum net_drop_reason r = tx(f, true, start, offset, 0);
			bool want = start == want_start && offset == want_offset;

			if (r != (want ? NET_PASS : NET_DROP_OFFLOAD))
				fail_msg("csum_start %u csum_offset %u: %s", start, offset,
					 net_drop_name(r));
		}
}

/* IPv4 with OPTS (N bytes, a multiple of 4) before PROTO's L4LEN bytes; returns the L4 header. */
static uint8_t *ip4_opts(const char *dst, const uint8_t *opts, size_t n, uint8_t proto,
			 uint16_t dport, size_t l4len)
{
	uint8_t *l4 = ip4("10.0.1.5", dst, proto, 0, 0, n + l4len, 0);

	fr[14] = (uint8_t)(0x40 | (5 + n / 4));
	if (n)
		memcpy(l4, opts, n);
	store_be16(l4 + n, 40000);
	store_be16(l4 + n + 2, dport);
	return l4 + n;
}

/* The review's cases: a rule for udp 53 to 192.0.2.53 and a same-segment source, each kept
 * from being rewritten into what the filter refuses. */
static void test_checksum_only_where_it_belongs(void **state)
{
	static const uint8_t hop_by_hop[] = {0}, ra[] = {148, 4, 0, 0};

	(void)state;
	ip4("10.0.1.5", "192.0.2.53", 17, 5353, 53, 8 + 12, 0);
	assert_int_equal(tx(&web, true, 34, 2, 0), NET_DROP_OFFLOAD); /* the port, 53 to 161 */
	assert_int_equal(d.dport, 53);
	only_at(&web, 34, 6);
	ip4("10.0.1.5", "10.0.1.7", 17, 5353, 53, 8 + 12, 0);
	assert_int_equal(tx(&web, true, 26, 0, 0), NET_DROP_OFFLOAD); /* the source address */
	only_at(&web, 34, 6);
	tcp4("10.0.1.5", "10.0.1.6", 80);
	only_at(&web, 34, 16);
	ip6("fd00:1::5", "fd00:1::6", NULL, 0, 0, 17, 8 + 4);
	only_at(&web, 54, 6);
	ip6("fd00:1::5", "fd00:1::6", hop_by_hop, 1, 0, 6, 20);
	only_at(&web, 62, 16);
	ip4_opts("10.0.1.6", ra, sizeof(ra), 6, 80, 20);
	only_at(&web, 38, 16);
	/* No checksum asked for: the offsets mean nothing and the frame passes. */
	assert_int_equal(tx(&web, false, 0, 0, 0), NET_PASS);
}

/* Frames without a TCP or UDP header of their own have no checksum to complete. */
static void test_checksum_refused_without_l4(void **state)
{
	(void)state;
	arp(1, nic_mac, "10.0.1.5", "10.0.1.1");
	assert_int_equal(tx(&web, true, 14, 14, 0), NET_DROP_OFFLOAD);
	assert_int_equal(tx(&web, false, 14, 14, 0), NET_PASS);
	eth(bcast_mac, nic_mac, 0x88cc); /* LLDP, allowed on db */
	flen = 60;
	assert_int_equal(tx(&db, true, 14, 6, 0), NET_DROP_OFFLOAD);
	assert_int_equal(tx(&db, false, 14, 6, 0), NET_PASS);
	ip4("10.0.1.5", "198.51.100.7", 1, 0, 0, 8, 0); /* ICMP */
	assert_int_equal(tx(&web, true, 34, 2, 0), NET_DROP_OFFLOAD);
	/* The first of several fragments: the checksum covers data not in this frame. */
	ip4("10.0.1.5", "10.0.1.6", 17, 5353, 53, 8 + 12, 0x2000);
	assert_int_equal(net_filter_tx(&web, fr, flen, NULL, &d), NET_PASS);
	assert_int_equal(tx(&web, true, 34, 6, 0), NET_DROP_OFFLOAD);
	/* Denied anyway: the filter's own reason comes first. */
	ip4("10.0.1.5", "10.0.3.6", 17, 5353, 53, 8 + 12, 0);
	assert_int_equal(tx(&web, true, 26, 0, 0), NET_DROP_DST_DENIED);
}

/* Segmentation: TCP of the IP version the header names, its checksum asked for. */
static void test_segmentation_only_of_tcp(void **state)
{
	(void)state;
	tcp4("10.0.1.5", "10.0.1.6", 80);
	store_be16(fr + 16, 3000 - 14);
	flen = 3000;
	assert_int_equal(tx(&web, true, 34, 16, 4), NET_PASS);
	assert_int_equal(tx(&web, true, 34, 16, 6), NET_DROP_OFFLOAD);
	assert_int_equal(tx(&web, false, 34, 16, 4), NET_DROP_OFFLOAD);
	assert_int_equal(tx(&web, true, 26, 16, 4), NET_DROP_OFFLOAD);
	assert_int_equal(tx(&web, true, 34, 16, 0), NET_DROP_OVERSIZE);
	ip4("10.0.1.5", "10.0.1.6", 17, 5353, 53, 3000 - 34, 0);
	assert_int_equal(tx(&web, true, 34, 6, 4), NET_DROP_OFFLOAD);
	ip6("fd00:1::5", "fd00:1::6", NULL, 0, 0, 6, 3000 - 54);
	assert_int_equal(tx(&web, true, 54, 16, 6), NET_PASS);
	assert_int_equal(tx(&web, true, 54, 16, 4), NET_DROP_OFFLOAD);
}

/* A source route's first hop is allowed, its last is not: sent straight, the same packet is
 * dst-denied. Only padding and the router alert pass. */
static void test_ipv4_options(void **state)
{
#define OPT(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})
	const struct {
		const uint8_t *opts;
		size_t n;
		enum net_drop_reason want;
	} cases[] = {
	    {OPT(1, 131, 11, 4, 10, 0, 1, 1, 8, 8, 8, 8), NET_DROP_SOURCE_ROUTE}, /* loose */
	    {OPT(137, 7, 4, 8, 8, 8, 8, 0), NET_DROP_SOURCE_ROUTE},		  /* strict */
	    {OPT(1, 1, 1, 0), NET_PASS},
	    {OPT(148, 4, 0, 0), NET_PASS},			  /* router alert */
	    {OPT(0, 131, 0, 0), NET_PASS},			  /* after the end: padding */
	    {OPT(7, 7, 4, 0, 0, 0, 0, 0), NET_DROP_IP_OPTIONS},	  /* record route */
	    {OPT(68, 4, 5, 0), NET_DROP_IP_OPTIONS},		  /* timestamp */
	    {OPT(130, 4, 0, 0), NET_DROP_IP_OPTIONS},		  /* security */
	    {OPT(148, 6, 0, 0, 0, 0, 1, 0), NET_DROP_IP_OPTIONS}, /* a router alert too long */
	    {OPT(1, 1, 7, 0), NET_DROP_IP_MALFORMED},		  /* length 0 */
	    {OPT(7, 1, 0, 0), NET_DROP_IP_MALFORMED},		  /* length 1 */
	    {OPT(7, 9, 4, 0, 0, 0, 0, 0), NET_DROP_IP_MALFORMED}, /* past the header */
	    {OPT(1, 1, 1, 7), NET_DROP_IP_MALFORMED},		  /* no length byte */
	};
#undef OPT

	(void)state;
	ip4_opts("8.8.8.8", NULL, 0, 6, 80, 20);
	assert_int_equal(tx(&web, false, 0, 0, 0), NET_DROP_DST_DENIED);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ip4_opts("10.0.1.1", cases[i].opts, cases[i].n, 6, 80, 20);
		if (tx(&web, false, 0, 0, 0) != cases[i].want)
			fail_msg("case %zu: %s", i, net_drop_name(d.reason));
	}
	ip4_opts("10.0.1.1", cases[0].opts, cases[0].n, 17, 53, 8);
	assert_int_equal(tx(&web, false, 0, 0, 0), NET_DROP_SOURCE_ROUTE);
	assert_string_equal(net_drop_name(d.reason), "source-route");
	assert_memory_equal(d.dst, ((uint8_t[]){10, 0, 1, 1}), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_checksum_only_where_it_belongs),
	    cmocka_unit_test(test_checksum_refused_without_l4),
	    cmocka_unit_test(test_segmentation_only_of_tcp),
	    cmocka_unit_test(test_ipv4_options),
	};

	return cmocka_run_group_tests(tests, net_setup, net_teardown);
}
