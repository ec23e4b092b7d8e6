/* frame_build.h: crafted Ethernet frames (ARP, IPv4, IPv6 with extension headers) in one
 * buffer, for the frame filter's unit tests and bench/filter_cost. */
#ifndef BULWARK_FRAME_BUILD_H
#define BULWARK_FRAME_BUILD_H

#include "util/bytes.h"
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t nic_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x05};
static const uint8_t peer_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x06};
static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint8_t fr[70000];
static size_t flen;

static inline void addr(int family, const char *s, uint8_t *out)
{
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, s, out) != 1)
		abort();
}

static inline void eth(const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memset(fr, 0, 64);
	memcpy(fr, dst, 6);
	memcpy(fr + 6, src, 6);
	store_be16(fr + 12, type);
	flen = 14;
}

/* ARP OP from sender MAC SHA and IP SPA to target IP TPA. */
static inline void arp(uint16_t op, const uint8_t *sha, const char *spa, const char *tpa)
{
	uint8_t *p = fr + 14;

	eth(bcast_mac, nic_mac, 0x0806);
	memset(p, 0, 28);
	store_be16(p, 1);
	store_be16(p + 2, 0x0800);
	p[4] = 6;
	p[5] = 4;
	store_be16(p + 6, op);
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
	store_be16(ip + 2, (uint16_t)(20 + l4len));
	store_be16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	addr(4, src, ip + 12);
	addr(4, dst, ip + 16);
	if (l4len >= 4) {
		store_be16(ip + 20, sport);
		store_be16(ip + 22, dport);
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
	store_be16(ip + 4, (uint16_t)(8 * n + l4len));
	ip[6] = n ? ext[0] : proto;
	ip[7] = 64;
	addr(6, src, ip + 8);
	addr(6, dst, ip + 24);
	for (unsigned i = 0; i < n; i++, p += 8) {
		p[0] = i + 1 < n ? ext[i + 1] : proto;
		if (ext[i] == 44)
			store_be16(p + 2, frag);
	}
	flen = 14 + 40 + 8 * n + l4len;
	return p;
}

#endif
