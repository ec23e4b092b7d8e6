/* net_filter.h: a NIC's frame filter for its segment: anti-spoofing, reach, egress rules, audit. */
#ifndef BULWARK_NET_FILTER_H
#define BULWARK_NET_FILTER_H

#include "config/config.h"
#include "policy/policy_network.h"
#include "util/rate_limit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_ETH_HLEN 14
#define NET_VLAN_HLEN 4
#define NET_FRAME_PLAIN_MAX 1514 /* a frame without GSO: Ethernet header and a 1500-byte MTU */

/* Why a frame was dropped; the order of the stop-time line, names in net_drop_name(). */
enum net_drop_reason {
	NET_PASS,
	NET_DROP_RUNT,
	NET_DROP_OVERSIZE,
	NET_DROP_SRC_MAC,
	NET_DROP_VLAN_TAGGED,
	NET_DROP_ETHERTYPE,
	NET_DROP_ARP_MALFORMED,
	NET_DROP_ARP_SPOOF,
	NET_DROP_IP_MALFORMED,
	NET_DROP_SRC_IP,
	NET_DROP_DST_DENIED,
	NET_DROP_IPV6_EXT,
	NET_DROP_FRAGMENT,
	NET_DROP_DHCP,
	NET_DROP_ROGUE_SERVER,
	NET_DROP_RX_DST_MAC,
	NET_DROP_RX_VLAN,
	NET_DROP_RX_MALFORMED,
	NET_DROP_OFFLOAD,
	NET_DROP_SOURCE_ROUTE,
	NET_DROP_IP_OPTIONS,
	NET_DROP_REASONS
};

/* What the filter saw of a frame, for the audit line: fields it did not reach stay absent. */
struct net_drop {
	enum net_drop_reason reason;
	bool rx;
	bool has_eth; /* the MACs and the ethertype */
	uint8_t src_mac[6], dst_mac[6];
	uint16_t ethertype;
	uint8_t family; /* of src and dst: 4 or 6 (ARP gives 4), 0 when not reached */
	uint16_t l4; /* where a whole TCP or UDP header starts in an unfragmented packet, else 0 */
	uint8_t src[16], dst[16];
	int proto; /* IP protocol number, -1 when not reached */
	int dport; /* TCP or UDP destination port, -1 when not reached */
};

/*
 * What a frame's virtio-net header asks of whoever passes it on (5.1.6.2): write a checksum at
 * csum_start + csum_offset, or cut the frame into TCP segments along its headers. Both change
 * the frame after the filter saw it, so they pass only where they change what they claim to.
 */
struct net_offload {
	bool csum; /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
	uint16_t csum_start, csum_offset;
	uint8_t gso; /* 0: none; 4 or 6: TCP segmentation over IPv4 or IPv6 */
};

/* An egress rule of the NIC's segment (policy_egress without its locations). */
struct net_rule {
	struct policy_cidr to;
	enum policy_proto proto;
	uint16_t port_min, port_max;
};

/* The NIC's own addresses and what its segment may reach, copied out of the policy once. */
struct net_filter {
	uint8_t mac[6];
	bool has_ipv4, has_ipv6;
	uint8_t ipv4[4], ipv6[16];
	uint8_t
	    ll6[16];   /* the guest's link-local address: the config's, or fe80:: + EUI-64 of mac */
	unsigned vlan; /* 0: untagged */
	bool dhcp;
	uint16_t ethertypes[POLICY_ETHERTYPES_MAX];
	unsigned nethertypes;
	/* Own and reached segments' ranges: any protocol, any port. */
	struct policy_cidr nets[POLICY_SEGMENTS_MAX * POLICY_RANGES_MAX];
	unsigned nnets;
	struct net_rule egress[POLICY_EGRESS_MAX];
	unsigned negress;
};

/* The stable name of R ("src-ip"), as in the counters and the audit line. */
const char *net_drop_name(enum net_drop_reason r);

/* Builds F for NIC (which names a segment of NET). Returns 0, or -1 when NET has no such
 * segment (policy_check_vm() refuses that config long before). */
int net_filter_init(struct net_filter *f, const struct config_nic *nic,
		    const struct policy_network *net);

/*
 * Checks a frame the guest sent, LEN bytes from the Ethernet header on (bulwark's private copy:
 * nothing can change it after the check). OFF: what its virtio-net header asks (NULL: nothing);
 * with segmentation the frame may exceed NET_FRAME_PLAIN_MAX, and a checksum to complete must
 * be exactly the TCP or UDP checksum of the header checked. Returns NET_PASS or why it must be
 * dropped; D gets what was parsed on the way.
 */
enum net_drop_reason net_filter_tx(const struct net_filter *f, const uint8_t *frame, size_t len,
				   const struct net_offload *off, struct net_drop *d);

/* Checks a frame from the tap, before its VLAN tag (if F has a VLAN) is removed. */
enum net_drop_reason net_filter_rx(const struct net_filter *f, const uint8_t *frame, size_t len,
				   struct net_drop *d);

/* Whether a frame with destination ADDR (FAMILY 4 or 6), protocol PROTO and port PORT (-1 for
 * none known: a non-first fragment) may leave; net_filter_ip.c's and ARP's shared verdict. */
bool net_dst_allowed(const struct net_filter *f, int family, const uint8_t *addr, int proto,
		     int port);

/* IPv4 and IPv6 (net_filter_ip.c); FRAME and LEN from the Ethernet header on, D filled. */
enum net_drop_reason net_filter_ipv4(const struct net_filter *f, const uint8_t *frame, size_t len,
				     struct net_drop *d);
enum net_drop_reason net_filter_ipv6(const struct net_filter *f, const uint8_t *frame, size_t len,
				     struct net_drop *d);

/* The audit line's rate limit: a token bucket of NET_AUDIT_BURST lines refilled at
 * NET_AUDIT_RATE per second, per NIC. */
#define NET_AUDIT_RATE 10
#define NET_AUDIT_BURST 20

struct net_audit {
	struct rate_limit bucket; /* set up on first use: a zeroed net_audit is ready */
	unsigned long suppressed; /* lines not logged since the last one that was */
};

/* Whether a drop at NOW_NS (CLOCK_MONOTONIC) may be logged: if so *SUPPRESSED gets the number of
 * lines held back since the last one (and starts over), if not this one is counted. */
bool net_audit_admit(struct net_audit *a, uint64_t now_ns, unsigned long *suppressed);

/* Formats D as the audit JSON line (with its newline) into BUF; SUPPRESSED lines were not logged
 * before it. Returns its length, at most CAP - 1 (the line is cut but still ends in a newline). */
size_t net_audit_format(char *buf, size_t cap, const char *vm, const char *nic,
			const struct net_drop *d, unsigned long suppressed);

#endif
