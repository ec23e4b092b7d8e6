/* test_net_filter_ip6.c: the frame filter's IPv6 side on crafted frames: sources, destinations,
 * neighbor discovery, extension header chains and fragments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net_frames.h"

static struct net_drop d;

#define TX(f, want) tx_is(f, want, __LINE__)

static void tx_is(const struct net_filter *f, enum net_drop_reason want, int line)
{
	enum net_drop_reason r = net_filter_tx(f, fr, flen, NULL, &d);

	if (r != want)
		fail_msg("line %d: got %s, want %s", line, net_drop_name(r), net_drop_name(want));
}

static const uint8_t hbh[] = {0}, dst[] = {60}, rt[] = {43}, frag[] = {44};

static uint8_t *tcp6(const char *src, const char *to, uint16_t port)
{
	uint8_t *p = ip6(src, to, NULL, 0, 0, 6, 20);

	store_be16(p + 2, port);
	return p;
}

/* ICMPv6 of TYPE with LEN bytes; for NS and NA, TARGET. */
static uint8_t *icmp6(const char *src, const char *to, uint8_t type, size_t len, const char *target)
{
	uint8_t *p = ip6(src, to, NULL, 0, 0, 58, len);

	p[0] = type;
	if (target)
		addr(6, target, p + 8);
	return p;
}

static void test_source_and_destination(void **state)
{
	(void)state;
	tcp6("fd00:1::5", "fd00:1::6", 80);
	TX(&web, NET_PASS);
	assert_int_equal(d.family, 6);
	assert_int_equal(d.dport, 80);
	tcp6("fd00:1::7", "fd00:1::6", 80);
	TX(&web, NET_DROP_SRC_IP);
	tcp6("fd00:2::5", "fd00:1::6", 80);
	TX(&web, NET_DROP_SRC_IP);
	tcp6("fd00:1::5", "fd00:1::6", 80);
	TX(&bare, NET_DROP_SRC_IP);
	/* Reach one way, egress by protocol and port range. */
	tcp6("fd00:1::5", "fd00:2::9", 5432);
	TX(&web, NET_PASS);
	tcp6("fd00:2::5", "fd00:1::9", 80);
	TX(&db, NET_DROP_DST_DENIED);
	tcp6("fd00:1::5", "2001:db8::1", 8000);
	TX(&web, NET_PASS);
	tcp6("fd00:1::5", "2001:db8:ffff::1", 8100);
	TX(&web, NET_PASS);
	tcp6("fd00:1::5", "2001:db8::1", 8101);
	TX(&web, NET_DROP_DST_DENIED);
	tcp6("fd00:1::5", "2001:db8::1", 7999);
	TX(&web, NET_DROP_DST_DENIED);
	tcp6("fd00:1::5", "2001:db9::1", 8050);
	TX(&web, NET_DROP_DST_DENIED);
	ip6("fd00:1::5", "2001:db8::1", NULL, 0, 0, 17, 8)[3] = 0x50;
	TX(&web, NET_DROP_DST_DENIED);
	/* IPv4 rules say nothing about IPv6: 0.0.0.0/0 tcp 443 is not ::/0. */
	tcp6("fd00:1::5", "2001:db9::1", 443);
	TX(&web, NET_DROP_DST_DENIED);
	/* Link-local and unspecified sources, and link-scope destinations: address
	 * configuration only. */
	tcp6("fe80::ff:fe00:105", "fd00:1::6", 80);
	TX(&web, NET_DROP_SRC_IP);
	icmp6("fe80::ff:fe00:105", "fe80::1", 128, 8, NULL);
	TX(&web, NET_DROP_SRC_IP);
	tcp6("::", "fd00:1::6", 80);
	TX(&web, NET_DROP_SRC_IP);
	icmp6("fd00:1::5", "ff02::1", 128, 8, NULL);
	TX(&web, NET_DROP_DST_DENIED);
	tcp6("fd00:1::5", "fe80::1", 80);
	TX(&web, NET_DROP_DST_DENIED);
	/* Malformed: version, payload length past the frame. */
	tcp6("fd00:1::5", "fd00:1::6", 80);
	fr[14] = 0x40;
	TX(&web, NET_DROP_IP_MALFORMED);
	tcp6("fd00:1::5", "fd00:1::6", 80);
	flen--;
	TX(&web, NET_DROP_IP_MALFORMED);
	ip6("fd00:1::5", "fd00:1::6", NULL, 0, 0, 6, 19);
	TX(&web, NET_DROP_IP_MALFORMED);
}

static void test_neighbor_discovery(void **state)
{
	uint8_t *p;
	const char *ll = "fe80::ff:fe00:105";

	(void)state;
	icmp6(ll, "ff02::1:ff00:6", 135, 24, "fd00:1::6");
	TX(&web, NET_PASS);
	TX(&bare, NET_PASS);
	icmp6("::", "ff02::1:ff00:5", 135, 24, "fd00:1::5"); /* duplicate address detection */
	TX(&web, NET_PASS);
	icmp6("fd00:1::5", "fe80::1", 135, 24, "fe80::1");
	TX(&web, NET_PASS);
	icmp6(ll, "ff02::2", 133, 8, NULL);
	TX(&web, NET_PASS);
	/* Advertisements only for its own addresses. */
	icmp6(ll, "fe80::1", 136, 24, "fd00:1::5");
	TX(&web, NET_PASS);
	icmp6(ll, "ff02::1", 136, 24, ll);
	TX(&bare, NET_PASS);
	icmp6(ll, "fe80::1", 136, 24, "fd00:1::6");
	TX(&web, NET_DROP_SRC_IP);
	icmp6("fd00:1::5", "fd00:1::1", 136, 24, "fd00:1::1");
	TX(&web, NET_DROP_SRC_IP);
	icmp6(ll, "fe80::1", 136, 20, NULL);
	TX(&web, NET_DROP_IP_MALFORMED);
	/* Link-layer address options: the NIC's MAC or nothing. */
	p = icmp6(ll, "ff02::1:ff00:6", 135, 32, "fd00:1::6");
	p[24] = 1;
	p[25] = 1;
	memcpy(p + 26, nic_mac, 6);
	TX(&web, NET_PASS);
	p[31] ^= 1;
	TX(&web, NET_DROP_SRC_MAC);
	p = icmp6(ll, "fe80::1", 136, 40, "fd00:1::5");
	p[24] = 14; /* an option nobody checks */
	p[25] = 1;
	p[32] = 2;
	p[33] = 1;
	memcpy(p + 34, peer_mac, 6);
	TX(&web, NET_DROP_SRC_MAC);
	p[33] = 0; /* a zero length would loop forever */
	TX(&web, NET_DROP_IP_MALFORMED);
	p[33] = 2; /* past the end */
	TX(&web, NET_DROP_IP_MALFORMED);
	p = icmp6(ll, "ff02::2", 133, 16, NULL);
	p[8] = 1;
	p[9] = 1;
	memcpy(p + 10, peer_mac, 6);
	TX(&web, NET_DROP_SRC_MAC);
	/* MLDv2 reports carry a hop-by-hop header (router alert). */
	p = ip6(ll, "ff02::16", hbh, 1, 0, 58, 28);
	p[0] = 143;
	TX(&web, NET_PASS);
	p = ip6("::", "ff02::16", hbh, 1, 0, 58, 28);
	p[0] = 143;
	TX(&web, NET_PASS);
	/* No guest is its segment's router: advertisements and redirects, from any source. */
	icmp6(ll, "ff02::1", 134, 16, NULL);
	TX(&web, NET_DROP_ROGUE_SERVER);
	TX(&bare, NET_DROP_ROGUE_SERVER);
	icmp6("fd00:1::5", "fd00:1::6", 137, 40, "fd00:1::1");
	TX(&web, NET_DROP_ROGUE_SERVER);
	/* Nor its DHCPv6 server (UDP from port 547); a DHCPv6 client (546) is traffic as any. */
	p = ip6("fd00:1::5", "fd00:1::6", NULL, 0, 0, 17, 8);
	p[0] = 547 >> 8;
	p[1] = 547 & 0xff;
	TX(&web, NET_DROP_ROGUE_SERVER);
	p[1] = 546 & 0xff;
	p[0] = 546 >> 8;
	TX(&web, NET_PASS);
}

/* A NIC whose config names its link-local address: that one, and no longer the EUI-64. */
static void test_configured_link_local(void **state)
{
	struct config_nic nic = make_nic("web", "10.0.1.5", "fd00:1::5");
	struct net_filter own;
	const char *ll = "fe80::1c2d:3e4f:5a6b:7c8d", *eui = "fe80::ff:fe00:105";

	(void)state;
	addr(6, ll, nic.ipv6_link_local);
	nic.loc_ipv6_link_local.line = 1;
	assert_int_equal(net_filter_init(&own, &nic, &pol.network), 0);
	icmp6(ll, "ff02::2", 133, 8, NULL); /* router solicitation */
	TX(&own, NET_PASS);
	TX(&web, NET_DROP_SRC_IP);
	icmp6(ll, "ff02::16", 143, 8, NULL); /* MLDv2 report */
	TX(&own, NET_PASS);
	icmp6(ll, "fe80::1", 136, 24, ll);
	TX(&own, NET_PASS);
	TX(&web, NET_DROP_SRC_IP);
	icmp6(eui, "ff02::2", 133, 8, NULL);
	TX(&own, NET_DROP_SRC_IP);
	TX(&web, NET_PASS);
	/* Still address configuration only. */
	tcp6(ll, "fd00:1::6", 80);
	TX(&own, NET_DROP_SRC_IP);
}

static void test_extension_headers(void **state)
{
	uint8_t chain[10] = {0, 60, 60, 60, 60, 60, 60, 60, 60, 60};
	uint8_t *p;

	(void)state;
	p = ip6("fd00:1::5", "2001:db8::1", hbh, 1, 0, 6, 20);
	store_be16(p + 2, 8050);
	TX(&web, NET_PASS);
	assert_int_equal(d.proto, 6);
	assert_int_equal(d.dport, 8050);
	store_be16(p + 2, 80);
	TX(&web, NET_DROP_DST_DENIED);
	ip6("fd00:1::5", "fd00:1::6", dst, 1, 0, 17, 8);
	TX(&web, NET_PASS);
	/* Eight headers at most. */
	ip6("fd00:1::5", "fd00:1::6", chain, 8, 0, 6, 20);
	TX(&web, NET_PASS);
	ip6("fd00:1::5", "fd00:1::6", chain, 9, 0, 6, 20);
	TX(&web, NET_DROP_IPV6_EXT);
	ip6("fd00:1::5", "fd00:1::6", chain + 1, 9, 0, 6, 20);
	TX(&web, NET_DROP_IPV6_EXT);
	/* Routing headers, wherever they sit; hop-by-hop after the first place. */
	ip6("fd00:1::5", "fd00:1::6", rt, 1, 0, 6, 20);
	TX(&web, NET_DROP_IPV6_EXT);
	chain[2] = 43;
	ip6("fd00:1::5", "fd00:1::6", chain, 3, 0, 6, 20);
	TX(&web, NET_DROP_IPV6_EXT);
	chain[2] = 0;
	ip6("fd00:1::5", "fd00:1::6", chain + 1, 2, 0, 6, 20);
	TX(&web, NET_DROP_IPV6_EXT);
	/* A header longer than the packet; a chain cut short. */
	p = ip6("fd00:1::5", "fd00:1::6", dst, 1, 0, 6, 20);
	p[-7] = 3;
	TX(&web, NET_DROP_IPV6_EXT);
	ip6("fd00:1::5", "fd00:1::6", dst, 1, 0, 6, 0);
	store_be16(fr + 18, 4);
	flen = 14 + 44;
	TX(&web, NET_DROP_IPV6_EXT);
}

static void test_fragments(void **state)
{
	static const uint8_t two[] = {44, 44}, frag_rt[] = {44, 43}, hbh_frag[] = {0, 44};
	uint8_t *p;

	(void)state;
	/* First fragment: checked with its ports. */
	p = ip6("fd00:1::5", "2001:db8::1", frag, 1, 1, 6, 20);
	store_be16(p + 2, 8050);
	TX(&web, NET_PASS);
	store_be16(p + 2, 9000);
	TX(&web, NET_DROP_DST_DENIED);
	ip6("fd00:1::5", "2001:db8::1", hbh_frag, 2, 1, 6, 20)[3] = 8050 & 0xff;
	fr[14 + 40 + 8 + 8 + 2] = 8050 >> 8;
	TX(&web, NET_PASS);
	ip6("fd00:1::5", "fd00:1::6", frag, 1, 1, 6, 4);
	TX(&web, NET_DROP_FRAGMENT);
	/* An atomic fragment is a whole packet. */
	ip6("fd00:1::5", "fd00:1::6", frag, 1, 0, 6, 20);
	TX(&web, NET_PASS);
	ip6("fd00:1::5", "fd00:1::6", frag, 1, 0, 6, 4);
	TX(&web, NET_DROP_IP_MALFORMED);
	/* Later fragments: only where no port decides. */
	ip6("fd00:1::5", "fd00:1::6", frag, 1, 100 << 3 | 1, 6, 64);
	TX(&web, NET_PASS);
	assert_int_equal(d.dport, -1);
	ip6("fd00:1::5", "2001:db8::1", frag, 1, 100 << 3, 6, 64);
	TX(&web, NET_DROP_FRAGMENT);
	ip6("fd00:1::5", "fd00:3::1", frag, 1, 100 << 3, 58, 64);
	TX(&web, NET_DROP_DST_DENIED);
	/* Two fragment headers; a routing header behind one. */
	ip6("fd00:1::5", "fd00:1::6", two, 2, 1, 6, 20);
	TX(&web, NET_DROP_IPV6_EXT);
	ip6("fd00:1::5", "fd00:1::6", frag_rt, 2, 1, 6, 20);
	TX(&web, NET_DROP_IPV6_EXT);
	/* Neighbor discovery is never fragmented (RFC 6980). */
	p = ip6("fe80::ff:fe00:105", "ff02::1:ff00:6", frag, 1, 0, 58, 24);
	p[0] = 135;
	TX(&web, NET_DROP_SRC_IP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_source_and_destination),
	    cmocka_unit_test(test_neighbor_discovery),
	    cmocka_unit_test(test_configured_link_local),
	    cmocka_unit_test(test_extension_headers),
	    cmocka_unit_test(test_fragments),
	};

	return cmocka_run_group_tests(tests, net_setup, net_teardown);
}
