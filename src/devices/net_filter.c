/* net_filter.c: a NIC's frame filter: Ethernet, ARP, the receive side and the destination rules;
 * IPv4 and IPv6 are in net_filter_ip.c. Works on bulwark's copy of a frame, never guest memory. */
#include "devices/net_filter.h"
#include "util/bytes.h"

#include <string.h>

#define ETH_P_IPV4 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ_OLD 0x9100
#define ARP_LEN 28
/* ARP's target is checked against ranges and rules' destinations only, whatever their protocol. */
#define PROTO_ARP (-2)

static const char *const names[NET_DROP_REASONS] = {
    [NET_PASS] = "pass",
    [NET_DROP_RUNT] = "runt",
    [NET_DROP_OVERSIZE] = "oversize",
    [NET_DROP_SRC_MAC] = "src-mac",
    [NET_DROP_VLAN_TAGGED] = "vlan-tagged",
    [NET_DROP_ETHERTYPE] = "ethertype",
    [NET_DROP_ARP_MALFORMED] = "arp-malformed",
    [NET_DROP_ARP_SPOOF] = "arp-spoof",
    [NET_DROP_IP_MALFORMED] = "ip-malformed",
    [NET_DROP_SRC_IP] = "src-ip",
    [NET_DROP_DST_DENIED] = "dst-denied",
    [NET_DROP_IPV6_EXT] = "ipv6-ext",
    [NET_DROP_FRAGMENT] = "fragment",
    [NET_DROP_DHCP] = "dhcp",
    [NET_DROP_ROGUE_SERVER] = "rogue-server",
    [NET_DROP_RX_DST_MAC] = "rx-dst-mac",
    [NET_DROP_RX_VLAN] = "rx-vlan",
    [NET_DROP_RX_MALFORMED] = "rx-malformed",
    [NET_DROP_OFFLOAD] = "offload",
    [NET_DROP_SOURCE_ROUTE] = "source-route",
    [NET_DROP_IP_OPTIONS] = "ip-options",
};

const char *net_drop_name(enum net_drop_reason r)
{
	return (unsigned)r < NET_DROP_REASONS ? names[r] : "?";
}

static void add_ranges(struct net_filter *f, const struct policy_segment *sg)
{
	for (unsigned i = 0; i < sg->nranges && f->nnets < POLICY_SEGMENTS_MAX * POLICY_RANGES_MAX;
	     i++)
		f->nets[f->nnets++] = sg->ranges[i];
}

int net_filter_init(struct net_filter *f, const struct config_nic *nic,
		    const struct policy_network *net)
{
	const struct policy_segment *sg = net ? policy_segment_find(net, nic->segment) : NULL;

	memset(f, 0, sizeof(*f));
	if (!sg)
		return -1;
	memcpy(f->mac, nic->mac, sizeof(f->mac));
	f->has_ipv4 = nic->loc_ipv4.line != 0;
	f->has_ipv6 = nic->loc_ipv6.line != 0;
	memcpy(f->ipv4, nic->ipv4, sizeof(f->ipv4));
	memcpy(f->ipv6, nic->ipv6, sizeof(f->ipv6));
	if (nic->loc_ipv6_link_local.line) {
		/* Guests with stable-privacy or random link-local addresses need it named. */
		memcpy(f->ll6, nic->ipv6_link_local, sizeof(f->ll6));
	} else {
		/* RFC 4291 appendix A: the modified EUI-64 of the MAC, as Linux makes it by default. */
		f->ll6[0] = 0xfe;
		f->ll6[1] = 0x80;
		f->ll6[8] = nic->mac[0] ^ 0x02;
		f->ll6[9] = nic->mac[1];
		f->ll6[10] = nic->mac[2];
		f->ll6[11] = 0xff;
		f->ll6[12] = 0xfe;
		memcpy(f->ll6 + 13, nic->mac + 3, 3);
	}
	f->vlan = sg->vlan;
	f->dhcp = sg->dhcp;
	memcpy(f->ethertypes, sg->ethertypes, sizeof(f->ethertypes));
	f->nethertypes = sg->nethertypes;
	add_ranges(f, sg);
	for (unsigned j = 0; j < net->nsegments && j < POLICY_SEGMENTS_MAX; j++)
		if (sg->reach & (1u << j))
			add_ranges(f, &net->segments[j]);
	for (unsigned i = 0; i < sg->negress && i < POLICY_EGRESS_MAX; i++)
		f->egress[f->negress++] = (struct net_rule){.to = sg->egress[i].to,
							    .proto = sg->egress[i].proto,
							    .port_min = sg->egress[i].port_min,
							    .port_max = sg->egress[i].port_max};
	return 0;
}

/* The IP protocol number a rule's PROTO means towards FAMILY. */
static int rule_proto(enum policy_proto p, int family)
{
	switch (p) {
	case POLICY_PROTO_TCP:
		return 6;
	case POLICY_PROTO_UDP:
		return 17;
	case POLICY_PROTO_ICMP:
		return family == 4 ? 1 : 58;
	default:
		return -1;
	}
}

bool net_dst_allowed(const struct net_filter *f, int family, const uint8_t *addr, int proto,
		     int port)
{
	for (unsigned i = 0; i < f->nnets; i++)
		if (policy_cidr_contains(&f->nets[i], family, addr))
			return true;
	for (unsigned i = 0; i < f->negress; i++) {
		const struct net_rule *r = &f->egress[i];

		if (!policy_cidr_contains(&r->to, family, addr))
			continue;
		if (proto == PROTO_ARP)
			return true;
		if (r->proto != POLICY_PROTO_ANY && rule_proto(r->proto, family) != proto)
			continue;
		if (r->port_min == 0 && r->port_max == 65535)
			return true; /* no port condition */
		if (port >= r->port_min && port <= r->port_max)
			return true;
	}
	return false;
}

static enum net_drop_reason drop(struct net_drop *d, enum net_drop_reason r)
{
	d->reason = r;
	return r;
}

/* P: the ARP packet (RFC 826) of LEN bytes after the Ethernet header. */
static enum net_drop_reason arp(const struct net_filter *f, const uint8_t *p, size_t len,
				struct net_drop *d)
{
	static const uint8_t zero[4];
	uint16_t op;

	if (len < ARP_LEN)
		return drop(d, NET_DROP_RUNT);
	op = load_be16(p + 6);
	d->family = 4;
	memcpy(d->src, p + 14, 4);
	memcpy(d->dst, p + 24, 4);
	if (load_be16(p) != 1 || load_be16(p + 2) != ETH_P_IPV4 || p[4] != 6 || p[5] != 4 ||
	    (op != 1 && op != 2))
		return drop(d, NET_DROP_ARP_MALFORMED);
	if (memcmp(p + 8, f->mac, 6) != 0)
		return drop(d, NET_DROP_ARP_SPOOF);
	/* Sender 0.0.0.0: an RFC 5227 probe, which is a request. */
	if (!memcmp(p + 14, zero, 4) ? op != 1 : !f->has_ipv4 || memcmp(p + 14, f->ipv4, 4) != 0)
		return drop(d, NET_DROP_ARP_SPOOF);
	if (!net_dst_allowed(f, 4, p + 24, PROTO_ARP, -1))
		return drop(d, NET_DROP_DST_DENIED);
	return NET_PASS;
}

static void parse_eth(const uint8_t *frame, struct net_drop *d)
{
	d->has_eth = true;
	memcpy(d->dst_mac, frame, 6);
	memcpy(d->src_mac, frame + 6, 6);
	d->ethertype = load_be16(frame + 12);
}

static bool is_vlan(uint16_t type)
{
	return type == ETH_P_8021Q || type == ETH_P_8021AD || type == ETH_P_QINQ_OLD;
}

static void clear(struct net_drop *d, bool rx)
{
	d->reason = NET_PASS;
	d->rx = rx;
	d->has_eth = false;
	d->family = 0;
	d->proto = d->dport = -1;
	d->l4 = 0;
}

/* Where the TCP (6) or UDP (17) checksum sits in its header. */
static size_t csum_field(int proto)
{
	return proto == 6 ? 16 : proto == 17 ? 6 : 0;
}

/*
 * A checksum completed downstream is written at csum_start + csum_offset: anywhere but the
 * checksum of the TCP or UDP header the filter checked, it rewrites an address, a port or a MAC
 * after the check. Segmentation cuts along the header at csum_start, which must be TCP of the
 * IP version it names.
 */
static enum net_drop_reason offload(const struct net_offload *off, struct net_drop *d)
{
	if (!off->csum || !d->l4 || off->csum_start != d->l4 ||
	    off->csum_offset != csum_field(d->proto) ||
	    (off->gso && (d->proto != 6 || off->gso != d->family)))
		return drop(d, NET_DROP_OFFLOAD);
	return NET_PASS;
}

static enum net_drop_reason frame_tx(const struct net_filter *f, const uint8_t *frame, size_t len,
				     struct net_drop *d)
{
	switch (d->ethertype) {
	case ETH_P_ARP:
		return arp(f, frame + NET_ETH_HLEN, len - NET_ETH_HLEN, d);
	case ETH_P_IPV4:
		return net_filter_ipv4(f, frame, len, d);
	case ETH_P_IPV6:
		return net_filter_ipv6(f, frame, len, d);
	default:
		break;
	}
	if (is_vlan(d->ethertype))
		return drop(d, NET_DROP_VLAN_TAGGED);
	for (unsigned i = 0; i < f->nethertypes; i++)
		if (d->ethertype == f->ethertypes[i])
			return NET_PASS;
	return drop(d, NET_DROP_ETHERTYPE);
}

enum net_drop_reason net_filter_tx(const struct net_filter *f, const uint8_t *frame, size_t len,
				   const struct net_offload *off, struct net_drop *d)
{
	enum net_drop_reason r;

	clear(d, false);
	if (len < NET_ETH_HLEN)
		return drop(d, NET_DROP_RUNT);
	parse_eth(frame, d);
	if (len > NET_FRAME_PLAIN_MAX && !(off && off->gso))
		return drop(d, NET_DROP_OVERSIZE);
	if (memcmp(frame + 6, f->mac, 6) != 0)
		return drop(d, NET_DROP_SRC_MAC);
	if (!off || (!off->csum && !off->gso))
		return frame_tx(f, frame, len, d);
	r = frame_tx(f, frame, len, d);
	return r ? r : offload(off, d);
}

enum net_drop_reason net_filter_rx(const struct net_filter *f, const uint8_t *frame, size_t len,
				   struct net_drop *d)
{
	clear(d, true);
	if (len < NET_ETH_HLEN)
		return drop(d, NET_DROP_RX_MALFORMED);
	parse_eth(frame, d);
	/* Bit 0 of the first byte: broadcast and multicast. */
	if (!(frame[0] & 1) && memcmp(frame, f->mac, 6) != 0)
		return drop(d, NET_DROP_RX_DST_MAC);
	if (!f->vlan)
		/* The guest never sees a tag: with no VLAN of its own, a tagged frame is another
		 * segment's. */
		return is_vlan(d->ethertype) ? drop(d, NET_DROP_RX_VLAN) : NET_PASS;
	if (d->ethertype != ETH_P_8021Q || len < NET_ETH_HLEN + NET_VLAN_HLEN ||
	    (load_be16(frame + 14) & 0xfff) != f->vlan || is_vlan(load_be16(frame + 16)))
		return drop(d, NET_DROP_RX_VLAN);
	d->ethertype = load_be16(frame + 16);
	return NET_PASS;
}
