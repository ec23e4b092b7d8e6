/* policy_network.h: the policy's network: section: segments, addresses, VLANs, egress. */
#ifndef BULWARK_POLICY_NETWORK_H
#define BULWARK_POLICY_NETWORK_H

#include "config/config.h"

#include <stdbool.h>
#include <stdint.h>

#define POLICY_SEGMENTS_MAX 16 /* fits the reach bit set */
#define POLICY_SEGMENT_NAME_MAX CONFIG_SEGMENT_MAX
#define POLICY_RANGES_MAX 8 /* address ranges per segment, IPv4 and IPv6 together */
#define POLICY_EGRESS_MAX 16
#define POLICY_ETHERTYPES_MAX 4
#define POLICY_VLAN_MAX 4094

/* An address range: ADDR/PREFIX, host bits zero. A bare address is /32 or /128. */
struct policy_cidr {
	uint8_t family;	  /* 4 or 6 */
	uint8_t prefix;	  /* 0..32 or 0..128 */
	uint8_t addr[16]; /* network byte order; IPv4 in the first 4 bytes, the rest zero */
	struct config_loc loc;
};

enum policy_proto {
	POLICY_PROTO_ANY,
	POLICY_PROTO_TCP,
	POLICY_PROTO_UDP,
	POLICY_PROTO_ICMP, /* ICMP to an IPv4 range, ICMPv6 to an IPv6 one */
};

/* egress[i]: traffic to TO, of PROTO, to ports PORT_MIN..PORT_MAX (tcp and udp only). */
struct policy_egress {
	struct policy_cidr to;
	enum policy_proto proto;     /* default any */
	uint16_t port_min, port_max; /* 0..65535 when not given */
	struct config_loc loc, loc_to, loc_proto, loc_ports;
};

/*
 * segments[i]: a named set of VMs. A NIC in segment S may send from its own addresses (which
 * must lie in S's ranges) to S's ranges, to the ranges of the segments S reaches, and to what
 * an egress rule of S matches; everything else is dropped.
 */
struct policy_segment {
	char name[POLICY_SEGMENT_NAME_MAX + 1]; /* a-z, 0-9 and -, unique */
	struct policy_cidr ranges[POLICY_RANGES_MAX];
	unsigned nranges;
	unsigned vlan;			 /* 1..4094, bulwark tags and untags; 0: untagged */
	char bridge[CONFIG_TAP_MAX + 1]; /* `bulwark net up` attaches taps here; "": none given */
	uint32_t reach; /* bit j: may reach segments[j] (one way; give both to talk both ways) */
	char reach_names[POLICY_SEGMENTS_MAX][POLICY_SEGMENT_NAME_MAX + 1]; /* as written */
	struct config_loc loc_reach_item[POLICY_SEGMENTS_MAX];
	unsigned nreach;
	bool dhcp; /* the guest may send DHCP discover/request from 0.0.0.0 */
	uint16_t ethertypes[POLICY_ETHERTYPES_MAX]; /* allowed besides ARP, IPv4 and IPv6 */
	unsigned nethertypes;
	struct policy_egress egress[POLICY_EGRESS_MAX];
	unsigned negress;
	struct config_loc loc, loc_name, loc_ranges, loc_vlan, loc_bridge, loc_reach, loc_dhcp,
	    loc_ethertypes, loc_egress;
};

/* network: parsed and checked here; enforced by virtio-net's frame filter. */
struct policy_network {
	struct policy_segment segments[POLICY_SEGMENTS_MAX];
	unsigned nsegments;
	struct config_loc loc, loc_segments;
};

/* The segment named NAME, or NULL. */
const struct policy_segment *policy_segment_find(const struct policy_network *net,
						 const char *name);

/* C as "ADDR/PREFIX" into BUF. */
const char *policy_cidr_str(char buf[64], const struct policy_cidr *c);

/*
 * Whether each NIC of CFG fits NET: with segments, every NIC names one of them and its ipv4 and
 * ipv6 lie in that segment's ranges; without, no NIC names a segment. Returns 0, or -1 with ERR
 * at the config's nics[i] field; POLICY names the policy file in the message.
 */
int policy_check_nics(const struct policy_network *net, const char *policy,
		      const struct vm_config *cfg, struct bw_error *err);

/* Whether address ADDR (FAMILY 4 or 6, network byte order) lies in C. */
bool policy_cidr_contains(const struct policy_cidr *c, int family, const uint8_t *addr);

#endif
