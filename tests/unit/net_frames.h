/* net_frames.h: a segmented policy and its NICs' filters, for the frame filter's unit tests
 * (the frames come from frame_build.h). */
#ifndef BULWARK_NET_FRAMES_H
#define BULWARK_NET_FRAMES_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/net_filter.h"
#include "frame_build.h"
#include "policy/policy.h"

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

static struct policy pol;
static struct net_filter web, db, bare; /* 10.0.1.5 and fd00:1::5, 10.0.2.5 and fd00:2::5, none */

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
	struct bw_error err;
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

#endif
