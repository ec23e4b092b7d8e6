/* net_frames.h: crafted Ethernet frames (ARP, IPv4, IPv6 with extension headers) and a segmented
 * policy, for the frame filter's unit tests. */
#ifndef BULWARK_NET_FRAMES_H
#define BULWARK_NET_FRAMES_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/net_filter.h"
#include "sandbox/policy.h"

/*
 * web reaches db, not the other way; db has a VLAN, DHCP and LLDP; egress rules of every kind.
 */
#define NET_POLICY                                                                                 \
	"limits:\n  vcpus_max: 4\n  memory_max: 1GiB\n"                                            \
	"network:\n  segments:\n"                                                                  \
	"    - name: web\n      ranges: [10.0.1.0/24, \"fd00:1::/64\"]\n      reach: [db]\n"       \
	"      egress:\n"                                                                          \
	"        - {to: 0.0.0.0/0, proto: tcp, ports: 443}\n"                                      \
	"        - {to: 192.0.2.53, proto: udp, ports: 53}\n"                                      \
	"        - {to: 198.51.100.0/24, proto: icmp}\n"                                           \
	"        - {to: 203.0.113.0/24}\n"                                                         \
	"        - {to: \"2001:db8::/32\", proto: tcp, ports: 8000-8100}\n"                        \
	"    - name: db\n      ranges: [10.0.2.0/24, \"fd00:2::/64\"]\n      vlan: 102\n"          \
	"      dhcp: true\n      ethertypes: [0x88cc]\n"                                           \
	"    - name: other\n      ranges: [10.0.3.0/24]\n"

static const uint8_t nic_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x05};
static const uint8_t peer_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x06};
static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static struct policy pol;
static struct net_filter web, db, bare; /* 10.0.1.5 and fd00:1::5, 10.0.2.5 and fd00:2::5, none */
static uint8_t fr[70000];
static size_t flen;

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void addr(int family, const char *s, uint8_t *out)
{
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, s, out) != 1)
		abort();
}

/* A NIC of segment SEG with MAC nic_mac and addresses V4 and V6 (NULL: none). */
static inline struct config_nic make_nic(const char *seg, const char *v4, const char *v6)
{
	struct config_nic nic;

	memset(&nic, 0, sizeof(nic));
	snprintf(nic.tap, sizeof(nic.tap), "tap-%s", seg);
	snprintf(nic.segment, sizeof(nic.segment), "%s", seg);
	memcpy(nic.mac, nic_mac, 6);
	if (v4) {
		addr(4, v4, nic.ipv4);
		nic.loc_ipv4.line = 1;
	}
	if (v6) {
		addr(6, v6, nic.ipv6);
		nic.loc_ipv6.line = 1;
	}
	return nic;
}

/* Parses NET_POLICY into pol and builds web, db and bare. */
static inline int net_setup(void **state)
{
	struct config_error err;
	struct config_nic nic;

	(void)state;
	if (policy_parse("p.yaml", NET_POLICY, strlen(NET_POLICY), &pol, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	nic = make_nic("web", "10.0.1.5", "fd00:1::5");
	if (net_filter_init(&web, &nic, &pol.network))
		return -1;
	nic = make_nic("db", "10.0.2.5", "fd00:2::5");
	if (net_filter_init(&db, &nic, &pol.network))
		return -1;
	nic = make_nic("web", NULL, NULL);
	return net_filter_init(&bare, &nic, &pol.network);
}

static inline int net_teardown(void **state)
{
	(void)state;
	policy_free(&pol);
	return 0;
}

static inline void eth(const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memset(fr, 0, 64);
	memcpy(fr, dst, 6);
	memcpy(fr + 6, src, 6);
	put_be16(fr + 12, type);
	flen = 14;
}

/* ARP OP from sender MAC SHA and IP SPA to target IP TPA. */
static inline void arp(uint16_t op, const uint8_t *sha, const char *spa, const char *tpa)
{
	uint8_t *p = fr + 14;

	eth(bcast_mac, nic_mac, 0x0806);
	memset(p, 0, 28);
	put_be16(p, 1);
	put_be16(p + 2, 0x0800);
	p[4] = 6;
	p[5] = 4;
	put_be16(p + 6, op);
	memcpy(p + 8, sha, 6);
	addr(4, spa, p + 14);
	addr(4, tpa, p + 24);
	flen = 42;
}

/* IPv4 from SRC to DST of PROTO with L4LEN bytes after the header, the first four being ports
 * SPORT and DPORT; FRAG the flags and fragment offset field. Returns the upper layer. */
static inline uint8_t *ip4(const char *src, const char *dst, uint8_t proto, uint16_t sport,
			   uint16_t dport, size_t l4len, uint16_t frag)
{
	uint8_t *ip = fr + 14;

	eth(peer_mac, nic_mac, 0x0800);
	memset(ip, 0, 20 + l4len);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)(20 + l4len));
	put_be16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	addr(4, src, ip + 12);
	addr(4, dst, ip + 16);
	if (l4len >= 4) {
		put_be16(ip + 20, sport);
		put_be16(ip + 22, dport);
	}
	flen = 14 + 20 + l4len;
	return ip + 20;
}

static inline uint8_t *tcp4(const char *src, const char *dst, uint16_t dport)
{
	return ip4(src, dst, 6, 40000, dport, 20, 0);
}

/* IPv6 from SRC to DST through the extension headers EXT (N of them: 0, 60 and 43 take 8
 * bytes, 44 a fragment header with FRAG as its offset and M field), then PROTO with L4LEN
 * bytes. Returns the upper layer. */
static inline uint8_t *ip6(const char *src, const char *dst, const uint8_t *ext, unsigned n,
			   uint16_t frag, uint8_t proto, size_t l4len)
{
	uint8_t *ip = fr + 14, *p = ip + 40;

	eth(peer_mac, nic_mac, 0x86dd);
	memset(ip, 0, 40 + 8 * n + l4len);
	ip[0] = 0x60;
	put_be16(ip + 4, (uint16_t)(8 * n + l4len));
	ip[6] = n ? ext[0] : proto;
	ip[7] = 64;
	addr(6, src, ip + 8);
	addr(6, dst, ip + 24);
	for (unsigned i = 0; i < n; i++, p += 8) {
		p[0] = i + 1 < n ? ext[i + 1] : proto;
		if (ext[i] == 44)
			put_be16(p + 2, frag);
	}
	flen = 14 + 40 + 8 * n + l4len;
	return p;
}

#endif
