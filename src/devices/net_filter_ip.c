/* net_filter_ip.c: the frame filter's IPv4 and IPv6 checks: source, destination, ports,
 * fragments, IPv6 extension headers and neighbor discovery. Every read is bounded by the frame. */
#include "devices/net_filter.h"
#include "util/bytes.h"

#include <string.h>

#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define P_HOPOPTS 0
#define P_ICMP 1
#define P_TCP 6
#define P_UDP 17
#define P_ROUTING 43
#define P_FRAGMENT 44
#define P_ICMPV6 58
#define P_DSTOPTS 60
#define TCP_HLEN 20
#define UDP_HLEN 8
#define EXT_MAX 8 /* IPv6 extension headers walked at most */
#define DHCP_CLIENT 68
#define DHCP_SERVER 67
#define DHCP6_SERVER 547
#define ICMPV6_RA 134
#define ICMPV6_REDIRECT 137
#define IPOPT_END 0
#define IPOPT_NOP 1
#define IPOPT_LSRR 131
#define IPOPT_SSRR 137
#define IPOPT_RA 148 /* router alert (RFC 2113): IGMP and MLD reports carry it */

static enum net_drop_reason drop(struct net_drop *d, enum net_drop_reason r)
{
	d->reason = r;
	return r;
}

/*
 * The upper-layer header at L4 (LEN bytes of it in this packet) of protocol D->proto: reads the
 * ports of TCP and UDP into D->dport and *SPORT. MORE: this is the first fragment of several.
 */
static enum net_drop_reason ports(const uint8_t *l4, size_t len, bool more, struct net_drop *d,
				  int *sport)
{
	size_t need = d->proto == P_TCP ? TCP_HLEN : d->proto == P_UDP ? UDP_HLEN : 0;

	*sport = -1;
	if (!need)
		return NET_PASS;
	if (len < need)
		return drop(d, more ? NET_DROP_FRAGMENT : NET_DROP_IP_MALFORMED);
	*sport = load_be16(l4);
	d->dport = load_be16(l4 + 2);
	return NET_PASS;
}

/* The destination check both families share. NONFIRST: a fragment after the first, whose
 * ports are elsewhere: only destinations allowed without a port condition. */
static enum net_drop_reason dest(const struct net_filter *f, bool nonfirst, struct net_drop *d)
{
	if (net_dst_allowed(f, d->family, d->dst, d->proto, nonfirst ? -1 : d->dport))
		return NET_PASS;
	if (nonfirst && (d->proto == P_TCP || d->proto == P_UDP))
		return drop(d, NET_DROP_FRAGMENT);
	return drop(d, NET_DROP_DST_DENIED);
}

/*
 * The options of the IPv4 header at IP (IHL bytes, checked to be within the packet). A source
 * route (RFC 791's loose and strict) names a first hop the rules allow and carries the real
 * destination in the option, where no rule looks; no guest needs the others (RFC 7126) but the
 * router alert of its multicast reports.
 */
static enum net_drop_reason options(const uint8_t *ip, size_t ihl, struct net_drop *d)
{
	size_t o = IPV4_HLEN, olen;

	/* Each round moves on by one byte at least: at most 40 rounds. */
	while (o < ihl && ip[o] != IPOPT_END) {
		if (ip[o] == IPOPT_NOP) {
			o++;
			continue;
		}
		olen = o + 1 < ihl ? ip[o + 1] : 0;
		if (olen < 2 || olen > ihl - o)
			return drop(d, NET_DROP_IP_MALFORMED);
		if (ip[o] == IPOPT_LSRR || ip[o] == IPOPT_SSRR)
			return drop(d, NET_DROP_SOURCE_ROUTE);
		if (ip[o] != IPOPT_RA || olen != 4)
			return drop(d, NET_DROP_IP_OPTIONS);
		o += olen;
	}
	return NET_PASS;
}

enum net_drop_reason net_filter_ipv4(const struct net_filter *f, const uint8_t *frame, size_t len,
				     struct net_drop *d)
{
	static const uint8_t any[4], bcast[4] = {255, 255, 255, 255};
	const uint8_t *ip = frame + NET_ETH_HLEN;
	size_t avail = len - NET_ETH_HLEN, ihl, tot;
	unsigned offset;
	bool more, dhcp;
	int sport = -1;
	enum net_drop_reason r;

	if (len < NET_ETH_HLEN + IPV4_HLEN)
		return drop(d, NET_DROP_RUNT);
	d->family = 4;
	memcpy(d->src, ip + 12, 4);
	memcpy(d->dst, ip + 16, 4);
	d->proto = ip[9];
	ihl = (size_t)(ip[0] & 15) * 4;
	/* The total length may be less than the frame (padding); with GSO it counts the whole
	 * packet to segment, which is the frame too. */
	tot = load_be16(ip + 2);
	if (ip[0] >> 4 != 4 || ihl < IPV4_HLEN || tot < ihl || tot > avail)
		return drop(d, NET_DROP_IP_MALFORMED);
	r = ihl > IPV4_HLEN ? options(ip, ihl, d) : NET_PASS;
	if (r)
		return r;
	offset = load_be16(ip + 6) & 0x1fff;
	more = load_be16(ip + 6) & 0x2000;
	if (!offset) {
		r = ports(ip + ihl, tot - ihl, more, d, &sport);
		if (r)
			return r;
		if (!more && sport >= 0)
			d->l4 = (uint16_t)(NET_ETH_HLEN + ihl);
	}
	dhcp = d->proto == P_UDP && !offset && !more && sport == DHCP_CLIENT &&
	       d->dport == DHCP_SERVER && !memcmp(d->dst, bcast, 4);
	if (!memcmp(d->src, any, 4)) {
		/* Only a client without an address yet: DHCP discover or request, if allowed. */
		if (!dhcp)
			return drop(d, NET_DROP_SRC_IP);
		return f->dhcp ? NET_PASS : drop(d, NET_DROP_DHCP);
	}
	if (!f->has_ipv4 || memcmp(d->src, f->ipv4, 4) != 0)
		return drop(d, NET_DROP_SRC_IP);
	if (dhcp && f->dhcp)
		return NET_PASS; /* a lease being rebound, broadcast from the address it holds */
	/* A guest is a client of its segment, never its DHCP server: a rogue one would hand its
	 * neighbours a gateway of its choosing. */
	if (d->proto == P_UDP && sport == DHCP_SERVER)
		return drop(d, NET_DROP_ROGUE_SERVER);
	return dest(f, offset != 0, d);
}

static bool is_nd_or_mld(uint8_t type)
{
	return (type >= 133 && type <= 136) || (type >= 130 && type <= 132) || type == 143;
}

/* Neighbor discovery: NA's target and the link-layer address options must be the NIC's own
 * (RFC 4861 4.1-4.4), or one guest poisons the others' neighbor caches. */
static enum net_drop_reason nd(const struct net_filter *f, const uint8_t *l4, size_t len,
			       struct net_drop *d)
{
	size_t o;

	switch (l4[0]) {
	case 133: /* router solicitation */
		o = 8;
		break;
	case 134: /* router advertisement */
		o = 16;
		break;
	case 135: /* neighbor solicitation */
	case 136: /* neighbor advertisement */
		o = 24;
		break;
	default:
		return NET_PASS; /* MLD */
	}
	if (len < o)
		return drop(d, NET_DROP_IP_MALFORMED);
	if (l4[0] == 136 && memcmp(l4 + 8, f->ll6, 16) != 0 &&
	    (!f->has_ipv6 || memcmp(l4 + 8, f->ipv6, 16) != 0))
		return drop(d, NET_DROP_SRC_IP);
	/* Each option is at least 8 bytes: at most len / 8 rounds. */
	while (o + 2 <= len) {
		size_t olen = (size_t)l4[o + 1] * 8;

		if (!olen || olen > len - o)
			return drop(d, NET_DROP_IP_MALFORMED);
		if ((l4[o] == 1 || l4[o] == 2) && (olen < 8 || memcmp(l4 + o + 2, f->mac, 6) != 0))
			return drop(d, NET_DROP_SRC_MAC);
		o += olen;
	}
	return NET_PASS;
}

/* Walks IP's extension headers from *OFF to END: hop-by-hop (first only), destination options
 * and one fragment header, at most EXT_MAX. Leaves D->proto at the upper layer. */
static enum net_drop_reason walk(const uint8_t *ip, size_t *off, size_t end, struct net_drop *d,
				 unsigned *frag_off, bool *fragmented, bool *more)
{
	unsigned n;

	for (n = 0; n <= EXT_MAX; n++) {
		int nh = d->proto;
		size_t hl;

		if (nh != P_HOPOPTS && nh != P_DSTOPTS && nh != P_FRAGMENT)
			return nh == P_ROUTING ? drop(d, NET_DROP_IPV6_EXT) : NET_PASS;
		if (n == EXT_MAX || (nh == P_HOPOPTS && n) || (nh == P_FRAGMENT && *fragmented) ||
		    end - *off < 8)
			break;
		hl = nh == P_FRAGMENT ? 8 : ((size_t)ip[*off + 1] + 1) * 8;
		if (hl > end - *off)
			break;
		d->proto = ip[*off];
		if (nh == P_FRAGMENT) {
			*fragmented = true;
			*frag_off = load_be16(ip + *off + 2) >> 3;
			*more = ip[*off + 3] & 1;
		}
		*off += hl;
		if (*frag_off)
			return NET_PASS; /* a later fragment: what follows is not in this packet */
	}
	return drop(d, NET_DROP_IPV6_EXT);
}

static bool link_scope(const uint8_t *a)
{
	return (a[0] == 0xff && a[1] == 0x02) || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

enum net_drop_reason net_filter_ipv6(const struct net_filter *f, const uint8_t *frame, size_t len,
				     struct net_drop *d)
{
	static const uint8_t any[16];
	const uint8_t *ip = frame + NET_ETH_HLEN;
	size_t avail = len - NET_ETH_HLEN, end, off = IPV6_HLEN;
	unsigned frag_off = 0;
	bool fragmented = false, more = false, ndp = false;
	int sport = -1;
	enum net_drop_reason r;

	if (len < NET_ETH_HLEN + IPV6_HLEN)
		return drop(d, NET_DROP_RUNT);
	d->family = 6;
	memcpy(d->src, ip + 8, 16);
	memcpy(d->dst, ip + 24, 16);
	d->proto = ip[6];
	end = IPV6_HLEN + (size_t)load_be16(ip + 4);
	if (ip[0] >> 4 != 6 || end > avail)
		return drop(d, NET_DROP_IP_MALFORMED);
	r = walk(ip, &off, end, d, &frag_off, &fragmented, &more);
	if (r)
		return r;
	if (!frag_off) {
		r = ports(ip + off, end - off, more, d, &sport);
		if (r)
			return r;
		if (!fragmented && sport >= 0)
			d->l4 = (uint16_t)(NET_ETH_HLEN + off);
		/* RFC 6980: neighbor discovery is never fragmented. */
		ndp =
		    d->proto == P_ICMPV6 && !fragmented && end - off >= 4 && is_nd_or_mld(ip[off]);
	}
	/* Router advertisements, redirects and DHCPv6 answers steer the neighbours' routes: no
	 * guest is the segment's router or server (RFC 6105's RA guard, done at the port). */
	if (!frag_off && ((d->proto == P_ICMPV6 && end - off >= 1 &&
			   (ip[off] == ICMPV6_RA || ip[off] == ICMPV6_REDIRECT)) ||
			  (d->proto == P_UDP && sport == DHCP6_SERVER)))
		return drop(d, NET_DROP_ROGUE_SERVER);
	if (memcmp(d->src, f->ll6, 16) == 0 || memcmp(d->src, any, 16) == 0) {
		/* Link-local and unspecified sources: address configuration only. */
		if (!ndp)
			return drop(d, NET_DROP_SRC_IP);
	} else if (!f->has_ipv6 || memcmp(d->src, f->ipv6, 16) != 0) {
		return drop(d, NET_DROP_SRC_IP);
	}
	if (ndp) {
		r = nd(f, ip + off, end - off, d);
		if (r || link_scope(d->dst))
			return r;
	}
	return dest(f, frag_off != 0, d);
}
