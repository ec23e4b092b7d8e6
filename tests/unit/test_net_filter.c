/* test_net_filter.c: the frame filter on crafted frames: Ethernet, ARP, IPv4, egress rules,
 * reach, DHCP, fragments and the receive side (IPv6 in test_net_filter_ip6.c). */
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

/* The filter F says WANT about fr[0, flen); a drop says so in D too. */
#define TX(f, want) tx_is(f, NULL, want, __LINE__)
/* TCP segmentation of an IPv4 frame without options, as Linux asks for it. */
#define TX_GSO(f, want) tx_is(f, &(struct net_offload){true, 34, 16, 4}, want, __LINE__)

static void tx_is(const struct net_filter *f, const struct net_offload *off,
		  enum net_drop_reason want, int line)
{
	enum net_drop_reason r = net_filter_tx(f, fr, flen, off, &d);

	if (r != want)
		fail_msg("line %d: got %s, want %s", line, net_drop_name(r), net_drop_name(want));
	if (r != NET_PASS && d.reason != r)
		fail_msg("line %d: reason %s in D", line, net_drop_name(d.reason));
}

static void test_names(void **state)
{
	static const char *const want[] = {
	    "pass",	  "runt",	   "oversize",	   "src-mac",	   "vlan-tagged",
	    "ethertype",  "arp-malformed", "arp-spoof",	   "ip-malformed", "src-ip",
	    "dst-denied", "ipv6-ext",	   "fragment",	   "dhcp",	   "rogue-server",
	    "rx-dst-mac", "rx-vlan",	   "rx-malformed", "offload",	   "source-route",
	    "ip-options"};

	(void)state;
	assert_int_equal(ARRAY_SIZE(want), NET_DROP_REASONS);
	for (unsigned i = 0; i < NET_DROP_REASONS; i++)
		assert_string_equal(net_drop_name(i), want[i]);
	assert_string_equal(net_drop_name(NET_DROP_REASONS), "?");
	/* What the filter copied out of the policy. */
	assert_int_equal(web.nnets, 4); /* web's two ranges and db's two */
	assert_int_equal(web.negress, 5);
	assert_int_equal(db.vlan, 102);
	assert_true(db.dhcp && !web.dhcp);
	assert_false(bare.has_ipv4 || bare.has_ipv6);
	assert_int_equal(web.ll6[8], 0x00); /* 02 with the universal/local bit flipped */
	assert_int_equal(web.ll6[11], 0xff);
	assert_int_equal(web.ll6[15], 0x05);
	/* A segment the policy does not have. */
	{
		struct config_nic nic = make_nic("nosuch", NULL, NULL);
		struct net_filter f;

		assert_int_equal(net_filter_init(&f, &nic, &pol.network), -1);
		assert_int_equal(net_filter_init(&f, &nic, NULL), -1);
	}
}

static void test_ethernet(void **state)
{
	uint8_t spoof[6] = {0x02, 0, 0, 0, 0x01, 0x07};

	(void)state;
	tcp4("10.0.1.5", "10.0.1.6", 80);
	TX(&web, NET_PASS);
	assert_int_equal(d.reason, NET_PASS);
	memcpy(fr + 6, spoof, 6); /* spoofed source MAC */
	TX(&web, NET_DROP_SRC_MAC);
	assert_true(d.has_eth);
	assert_memory_equal(d.src_mac, spoof, 6);
	assert_memory_equal(d.dst_mac, peer_mac, 6);
	/* Tagged by the guest, in every flavour. */
	eth(peer_mac, nic_mac, 0x8100);
	flen = 60;
	TX(&web, NET_DROP_VLAN_TAGGED);
	store_be16(fr + 12, 0x88a8);
	TX(&db, NET_DROP_VLAN_TAGGED);
	store_be16(fr + 12, 0x9100);
	TX(&web, NET_DROP_VLAN_TAGGED);
	/* LLDP: only where the segment lists it. 802.3 lengths are no ethertype. */
	store_be16(fr + 12, 0x88cc);
	TX(&web, NET_DROP_ETHERTYPE);
	assert_int_equal(d.ethertype, 0x88cc);
	TX(&db, NET_PASS);
	store_be16(fr + 12, 0x0040);
	TX(&db, NET_DROP_ETHERTYPE);
	store_be16(fr + 12, 0x86dd + 1);
	TX(&db, NET_DROP_ETHERTYPE);
}

static void test_runt_and_jumbo(void **state)
{
	(void)state;
	/* Shorter than an Ethernet header, or than what its ethertype needs. */
	flen = 13;
	TX(&web, NET_DROP_RUNT);
	assert_false(d.has_eth);
	eth(peer_mac, nic_mac, 0x0800);
	flen = 14 + 19;
	TX(&web, NET_DROP_RUNT);
	arp(1, nic_mac, "10.0.1.5", "10.0.1.1");
	flen = 14 + 27;
	TX(&web, NET_DROP_RUNT);
	ip6("fd00:1::5", "fd00:1::6", NULL, 0, 0, 6, 20);
	flen = 14 + 39;
	TX(&web, NET_DROP_RUNT);
	/* 1514 bytes is the most without GSO. */
	tcp4("10.0.1.5", "10.0.1.6", 80);
	store_be16(fr + 16, 1500);
	flen = 1514;
	TX(&web, NET_PASS);
	store_be16(fr + 16, 1501);
	flen = 1515;
	TX(&web, NET_DROP_OVERSIZE);
	/* With GSO, a large frame whose IP header counts all of it passes, and is still checked. */
	store_be16(fr + 16, 20000 - 14);
	flen = 20000;
	TX_GSO(&web, NET_PASS);
	store_be16(fr + 16, 20000 - 13);
	TX_GSO(&web, NET_DROP_IP_MALFORMED);
	store_be16(fr + 16, 20000 - 14);
	addr(4, "10.0.3.9", fr + 30);
	TX_GSO(&web, NET_DROP_DST_DENIED);
	addr(4, "10.0.1.9", fr + 26);
	TX_GSO(&web, NET_DROP_SRC_IP);
	/* Padding after the IP packet is fine; a packet longer than the frame is not. */
	tcp4("10.0.1.5", "10.0.1.6", 80);
	flen = 60 + 14;
	TX(&web, NET_PASS);
	store_be16(fr + 16, 61);
	flen = 14 + 60;
	TX(&web, NET_DROP_IP_MALFORMED);
	/* Header length, version and total length below the header. */
	tcp4("10.0.1.5", "10.0.1.6", 80);
	fr[14] = 0x44;
	TX(&web, NET_DROP_IP_MALFORMED);
	fr[14] = 0x55;
	TX(&web, NET_DROP_IP_MALFORMED);
	fr[14] = 0x4f; /* 60 bytes of header in a 40-byte packet */
	TX(&web, NET_DROP_IP_MALFORMED);
	fr[14] = 0x45;
	store_be16(fr + 16, 19);
	TX(&web, NET_DROP_IP_MALFORMED);
	/* TCP shorter than its header, UDP shorter than its. */
	ip4("10.0.1.5", "10.0.1.6", 6, 1, 80, 19, 0);
	TX(&web, NET_DROP_IP_MALFORMED);
	ip4("10.0.1.5", "10.0.1.6", 17, 1, 80, 7, 0);
	TX(&web, NET_DROP_IP_MALFORMED);
	ip4("10.0.1.5", "10.0.1.6", 17, 1, 80, 8, 0);
	TX(&web, NET_PASS);
	/* With options: the ports come after them. */
	ip4("10.0.1.5", "8.8.8.8", 6, 1, 1, 24 + 20, 0);
	fr[14] = 0x46;
	store_be16(fr + 14 + 24 + 2, 443);
	TX(&web, NET_PASS);
	assert_int_equal(d.dport, 443);
}

static void test_arp(void **state)
{
	static const struct {
		unsigned off;
		uint8_t val;
	} bad[] = {{1, 6}, {2, 0x86}, {4, 8}, {5, 16}, {7, 0}};
	uint8_t other[6] = {0x02, 0, 0, 0, 0x01, 0x09};

	(void)state;
	arp(1, nic_mac, "10.0.1.5", "10.0.1.1");
	TX(&web, NET_PASS);
	arp(2, nic_mac, "10.0.1.5", "10.0.1.1");
	TX(&web, NET_PASS);
	/* Gratuitous ARP for its own address; an RFC 5227 probe from 0.0.0.0. */
	arp(1, nic_mac, "10.0.1.5", "10.0.1.5");
	TX(&web, NET_PASS);
	arp(1, nic_mac, "0.0.0.0", "10.0.1.5");
	TX(&web, NET_PASS);
	arp(2, nic_mac, "0.0.0.0", "10.0.1.5"); /* a reply claiming no address */
	TX(&web, NET_DROP_ARP_SPOOF);
	/* Gratuitous ARP for another address; another sender MAC inside the packet. */
	arp(1, nic_mac, "10.0.1.6", "10.0.1.6");
	TX(&web, NET_DROP_ARP_SPOOF);
	assert_int_equal(d.family, 4);
	assert_int_equal(d.src[3], 6);
	arp(2, other, "10.0.1.5", "10.0.1.1");
	TX(&web, NET_DROP_ARP_SPOOF);
	arp(1, nic_mac, "10.0.1.5", "10.0.1.1");
	memcpy(fr + 6, other, 6);
	TX(&web, NET_DROP_SRC_MAC);
	/* Malformed: hardware type, protocol type, address lengths, opcode. */
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		arp(1, nic_mac, "10.0.1.5", "10.0.1.1");
		fr[14 + bad[i].off] = bad[i].val;
		TX(&web, NET_DROP_ARP_MALFORMED);
	}
	arp(3, nic_mac, "10.0.1.5", "10.0.1.1");
	TX(&web, NET_DROP_ARP_MALFORMED);
	/* Targets: reached segment, an egress rule's destination (whatever its ports), and not. */
	arp(1, nic_mac, "10.0.1.5", "10.0.2.9");
	TX(&web, NET_PASS);
	arp(1, nic_mac, "10.0.1.5", "192.0.2.53");
	TX(&web, NET_PASS);
	arp(1, nic_mac, "10.0.1.5", "10.0.3.9");
	TX(&web, NET_PASS); /* 0.0.0.0/0 tcp 443 covers it */
	arp(1, nic_mac, "10.0.2.5", "10.0.3.9");
	TX(&db, NET_DROP_DST_DENIED);
	arp(1, nic_mac, "10.0.2.5", "10.0.1.9");
	TX(&db, NET_DROP_DST_DENIED); /* db does not reach web */
	/* A NIC without an IPv4 address may only probe. */
	arp(1, nic_mac, "10.0.1.5", "10.0.1.1");
	TX(&bare, NET_DROP_ARP_SPOOF);
	arp(1, nic_mac, "0.0.0.0", "10.0.1.7");
	TX(&bare, NET_PASS);
}

static void test_ipv4_source(void **state)
{
	(void)state;
	tcp4("10.0.1.6", "10.0.1.7", 80);
	TX(&web, NET_DROP_SRC_IP);
	assert_int_equal(d.family, 4);
	assert_int_equal(d.proto, 6);
	assert_int_equal(d.dport, 80);
	tcp4("10.0.2.5", "10.0.2.7", 80); /* db's address, from web */
	TX(&web, NET_DROP_SRC_IP);
	tcp4("10.0.1.5", "10.0.1.7", 80);
	TX(&bare, NET_DROP_SRC_IP);
	tcp4("0.0.0.0", "10.0.1.7", 80);
	TX(&web, NET_DROP_SRC_IP);
}

static void test_egress_and_reach(void **state)
{
	(void)state;
	tcp4("10.0.1.5", "10.0.1.200", 22); /* own segment, any port */
	TX(&web, NET_PASS);
	tcp4("10.0.1.5", "10.0.2.9", 5432); /* reached */
	TX(&web, NET_PASS);
	tcp4("10.0.1.5", "10.0.3.9", 22); /* another segment */
	TX(&web, NET_DROP_DST_DENIED);
	/* Reach is one way: db may not open to web. */
	tcp4("10.0.2.5", "10.0.1.5", 80);
	TX(&db, NET_DROP_DST_DENIED);
	tcp4("10.0.2.5", "10.0.2.1", 80);
	TX(&db, NET_PASS);
	/* tcp 443 anywhere, but no other port and not udp. */
	tcp4("10.0.1.5", "8.8.8.8", 443);
	TX(&web, NET_PASS);
	tcp4("10.0.1.5", "8.8.8.8", 444);
	TX(&web, NET_DROP_DST_DENIED);
	tcp4("10.0.1.5", "8.8.8.8", 442);
	TX(&web, NET_DROP_DST_DENIED);
	ip4("10.0.1.5", "8.8.8.8", 17, 5000, 443, 8, 0);
	TX(&web, NET_DROP_DST_DENIED);
	/* udp 53 to one host. */
	ip4("10.0.1.5", "192.0.2.53", 17, 5000, 53, 8, 0);
	TX(&web, NET_PASS);
	ip4("10.0.1.5", "192.0.2.54", 17, 5000, 53, 8, 0);
	TX(&web, NET_DROP_DST_DENIED);
	ip4("10.0.1.5", "192.0.2.53", 6, 5000, 53, 20, 0);
	TX(&web, NET_DROP_DST_DENIED);
	/* icmp to a range: ICMP only. */
	ip4("10.0.1.5", "198.51.100.7", 1, 0x0800, 0, 8, 0);
	TX(&web, NET_PASS);
	ip4("10.0.1.5", "198.51.100.7", 17, 1, 1, 8, 0);
	TX(&web, NET_DROP_DST_DENIED);
	/* any: every protocol, every port. */
	ip4("10.0.1.5", "203.0.113.9", 47, 0, 0, 24, 0); /* GRE */
	TX(&web, NET_PASS);
	ip4("10.0.1.5", "203.0.113.9", 17, 1, 9, 8, 0);
	TX(&web, NET_PASS);
	/* Broadcast and multicast are destinations like any other. */
	ip4("10.0.1.5", "10.0.1.255", 17, 1, 9, 8, 0);
	TX(&web, NET_PASS);
	ip4("10.0.1.5", "255.255.255.255", 17, 1, 9, 8, 0);
	TX(&web, NET_DROP_DST_DENIED);
	ip4("10.0.1.5", "224.0.0.251", 17, 5353, 5353, 8, 0);
	TX(&web, NET_DROP_DST_DENIED);
}

static void test_dhcp(void **state)
{
	(void)state;
	/* Discover from 0.0.0.0: only where the segment allows DHCP. */
	ip4("0.0.0.0", "255.255.255.255", 17, 68, 67, 300, 0);
	TX(&web, NET_DROP_DHCP);
	TX(&db, NET_PASS);
	TX(&bare, NET_DROP_DHCP);
	/* Anything else from 0.0.0.0 is a spoofed source. */
	ip4("0.0.0.0", "255.255.255.255", 17, 68, 68, 300, 0);
	TX(&db, NET_DROP_SRC_IP);
	ip4("0.0.0.0", "255.255.255.255", 17, 67, 67, 300, 0);
	TX(&db, NET_DROP_SRC_IP);
	ip4("0.0.0.0", "10.0.2.1", 17, 68, 67, 300, 0);
	TX(&db, NET_DROP_SRC_IP);
	ip4("0.0.0.0", "255.255.255.255", 6, 68, 67, 300, 0);
	TX(&db, NET_DROP_SRC_IP);
	ip4("0.0.0.0", "255.255.255.255", 17, 68, 67, 300, 0x2000); /* fragmented */
	TX(&db, NET_DROP_SRC_IP);
	/* A guest never answers as its segment's DHCP server, wherever the answer goes. */
	ip4("10.0.2.5", "10.0.2.6", 17, 67, 68, 300, 0);
	TX(&db, NET_DROP_ROGUE_SERVER);
	ip4("10.0.2.5", "255.255.255.255", 17, 67, 68, 300, 0);
	TX(&db, NET_DROP_ROGUE_SERVER);
	/* Rebinding: broadcast from the address held, where DHCP is allowed. */
	ip4("10.0.2.5", "255.255.255.255", 17, 68, 67, 300, 0);
	TX(&db, NET_PASS);
	ip4("10.0.1.5", "255.255.255.255", 17, 68, 67, 300, 0);
	TX(&web, NET_DROP_DST_DENIED);
}

static void test_ipv4_fragments(void **state)
{
	(void)state;
	/* A first fragment with its ports is checked as a whole packet. */
	ip4("10.0.1.5", "8.8.8.8", 6, 1, 443, 20, 0x2000);
	TX(&web, NET_PASS);
	ip4("10.0.1.5", "8.8.8.8", 6, 1, 80, 20, 0x2000);
	TX(&web, NET_DROP_DST_DENIED);
	/* Too small to hold the transport header: a tiny fragment. */
	ip4("10.0.1.5", "8.8.8.8", 6, 1, 443, 8, 0x2000);
	TX(&web, NET_DROP_FRAGMENT);
	ip4("10.0.1.5", "10.0.1.7", 17, 1, 53, 4, 0x2000);
	TX(&web, NET_DROP_FRAGMENT);
	/* Later fragments: only where no port decides. */
	ip4("10.0.1.5", "8.8.8.8", 6, 0, 0, 64, 0x2000 | 3);
	TX(&web, NET_DROP_FRAGMENT);
	assert_int_equal(d.dport, -1);
	ip4("10.0.1.5", "8.8.8.8", 6, 0, 0, 64, 3); /* the last one */
	TX(&web, NET_DROP_FRAGMENT);
	ip4("10.0.1.5", "192.0.2.53", 17, 0, 0, 64, 3);
	TX(&web, NET_DROP_FRAGMENT);
	ip4("10.0.1.5", "10.0.1.7", 6, 0, 0, 64, 3);
	TX(&web, NET_PASS);
	ip4("10.0.1.5", "10.0.2.7", 17, 0, 0, 64, 0x2000 | 100);
	TX(&web, NET_PASS);
	ip4("10.0.1.5", "203.0.113.1", 6, 0, 0, 64, 3);
	TX(&web, NET_PASS);
	ip4("10.0.1.5", "198.51.100.7", 1, 0, 0, 64, 3);
	TX(&web, NET_PASS);
	ip4("10.0.1.5", "10.0.3.7", 1, 0, 0, 64, 3);
	TX(&web, NET_DROP_DST_DENIED);
	/* DF alone is no fragment. */
	ip4("10.0.1.5", "8.8.8.8", 6, 1, 443, 20, 0x4000);
	TX(&web, NET_PASS);
}

#define RX(f, want) rx_is(f, want, __LINE__)

static void rx_is(const struct net_filter *f, enum net_drop_reason want, int line)
{
	enum net_drop_reason r = net_filter_rx(f, fr, flen, &d);

	if (r != want)
		fail_msg("line %d: got %s, want %s", line, net_drop_name(r), net_drop_name(want));
	assert_true(d.rx);
}

static void test_rx(void **state)
{
	static const uint8_t mcast[6] = {0x33, 0x33, 0, 0, 0, 1};
	static const uint8_t tag102[4] = {0x81, 0x00, 0x00, 102};

	(void)state;
	eth(nic_mac, peer_mac, 0x0800);
	flen = 60;
	RX(&web, NET_PASS);
	memcpy(fr, bcast_mac, 6);
	RX(&web, NET_PASS);
	memcpy(fr, mcast, 6);
	RX(&web, NET_PASS);
	memcpy(fr, peer_mac, 6);
	RX(&web, NET_DROP_RX_DST_MAC);
	assert_memory_equal(d.dst_mac, peer_mac, 6);
	flen = 13;
	RX(&web, NET_DROP_RX_MALFORMED);
	/* Without a VLAN, tagged frames are another segment's. */
	eth(nic_mac, peer_mac, 0x8100);
	flen = 60;
	RX(&web, NET_DROP_RX_VLAN);
	store_be16(fr + 12, 0x88a8);
	RX(&web, NET_DROP_RX_VLAN);
	/* With one, only its own tag. */
	eth(nic_mac, peer_mac, 0x0800);
	RX(&db, NET_DROP_RX_VLAN);
	memmove(fr + 16, fr + 12, 44);
	memcpy(fr + 12, tag102, 4);
	flen = 64;
	RX(&db, NET_PASS);
	assert_int_equal(d.ethertype, 0x0800);
	fr[14] = 0xe0; /* a priority does not matter */
	RX(&db, NET_PASS);
	fr[15] = 101;
	RX(&db, NET_DROP_RX_VLAN);
	fr[15] = 102;
	store_be16(fr + 12, 0x88a8);
	RX(&db, NET_DROP_RX_VLAN);
	store_be16(fr + 12, 0x8100);
	store_be16(fr + 16, 0x8100); /* double tagged */
	RX(&db, NET_DROP_RX_VLAN);
	flen = 17;
	RX(&db, NET_DROP_RX_VLAN);
	store_be16(fr + 16, 0x0800);
	memcpy(fr, peer_mac, 6);
	flen = 64;
	RX(&db, NET_DROP_RX_DST_MAC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_ethernet),
	    cmocka_unit_test(test_runt_and_jumbo),
	    cmocka_unit_test(test_arp),
	    cmocka_unit_test(test_ipv4_source),
	    cmocka_unit_test(test_egress_and_reach),
	    cmocka_unit_test(test_dhcp),
	    cmocka_unit_test(test_ipv4_fragments),
	    cmocka_unit_test(test_rx),
	};

	return cmocka_run_group_tests(tests, net_setup, net_teardown);
}
