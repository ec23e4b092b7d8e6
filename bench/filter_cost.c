/* filter_cost.c: nanoseconds the segment's frame filter spends per frame, next to the copy
 * virtio-net makes of every frame anyway, and its share of a 10 Gbit/s per-frame budget. */
#include "devices/net_filter.h"
#include "frame_build.h"
#include "policy/policy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A segment as an operator would write it: two ranges, one reached segment, five egress rules
 * (the frame to the last rule's range scans them all). */
#define POLICY                                                                                     \
	"limits:\n  vcpus_max: 2\n  memory_max: 1GiB\n"                                            \
	"network:\n  segments:\n"                                                                  \
	"    - name: web\n      ranges: [10.0.1.0/24, \"fd00:1::/64\"]\n      reach: [db]\n"       \
	"      egress:\n"                                                                          \
	"        - {to: 192.0.2.53, proto: udp, ports: 53}\n"                                      \
	"        - {to: 198.51.100.0/24, proto: icmp}\n"                                           \
	"        - {to: \"2001:db8::/32\", proto: tcp, ports: 8000-8100}\n"                        \
	"        - {to: 203.0.113.0/24, proto: udp}\n"                                             \
	"        - {to: 0.0.0.0/0, proto: tcp, ports: 443}\n"                                      \
	"    - name: db\n      ranges: [10.0.2.0/24, \"fd00:2::/64\"]\n"

#define TSO_LEN 65536

static uint8_t copy[TSO_LEN];
static volatile unsigned sink; /* keeps the measured calls from being optimised away */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* An IPv4 TCP frame of LEN bytes from 10.0.1.5 to DST, port DPORT, in fr. */
static size_t tcp4_len(const char *dst, uint16_t dport, size_t len)
{
	ip4("10.0.1.5", dst, 6, 40000, dport, len - 34, 0);
	return flen;
}

/* An IPv6 TCP frame of LEN bytes from fd00:1::5 to DST through a hop-by-hop header, in fr. */
static size_t tcp6_len(const char *dst, size_t len)
{
	static const uint8_t hop_by_hop[] = {0};
	uint8_t *tcp = ip6("fd00:1::5", dst, hop_by_hop, 1, 0, 6, len - 62);

	store_be16(tcp, 40000);
	store_be16(tcp + 2, 80);
	return flen;
}

/* Runs WHAT ITER times on the LEN-byte frame; returns ns per call. */
static double time_tx(const struct net_filter *f, size_t len, const struct net_offload *off,
		      long iter, bool rx)
{
	struct net_drop d;
	uint64_t t0 = now_ns();

	for (long i = 0; i < iter; i++) {
		memset(&d, 0, sizeof(d));
		sink += rx ? net_filter_rx(f, fr, len, &d) : net_filter_tx(f, fr, len, off, &d);
	}
	return (double)(now_ns() - t0) / (double)iter;
}

static double time_copy(size_t len, long iter)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < iter; i++) {
		fr[i & 63] = (uint8_t)i; /* a new frame each time, as the guest's would be */
		memcpy(copy, fr, len);
		sink += copy[len - 1];
	}
	return (double)(now_ns() - t0) / (double)iter;
}

static void row(const char *what, double ns, double copy_ns, size_t len)
{
	/* At 10 Gbit/s a frame of LEN bytes (plus 20 of preamble and gap) arrives this often. */
	double budget_ns = (double)(len + 20) * 8 / 10.0;

	printf("%-44s %8.1f ns  %5.1f%% of the copy  %6.2f%% of 10 Gbit/s budget\n", what, ns,
	       100 * ns / copy_ns, 100 * ns / budget_ns);
}

int main(int argc, char **argv)
{
	long iter = argc > 1 ? atol(argv[1]) : 2000000;
	struct bw_error err;
	struct config_nic nic;
	struct policy pol;
	struct net_filter f;
	double c1514, c64k;
	/* What Linux asks with checksum offload, and with TCP segmentation too. */
	struct net_offload csum = {true, 34, 16, 0}, tso = {true, 34, 16, 4};

	if (iter <= 0 || policy_parse("bench.yaml", POLICY, strlen(POLICY), &pol, &err)) {
		fprintf(stderr, "usage: filter_cost [ITERATIONS]\n");
		return 2;
	}
	memset(&nic, 0, sizeof(nic));
	strcpy(nic.tap, "tap0");
	strcpy(nic.segment, "web");
	memcpy(nic.mac, nic_mac, 6);
	inet_pton(AF_INET, "10.0.1.5", nic.ipv4);
	inet_pton(AF_INET6, "fd00:1::5", nic.ipv6);
	nic.loc_ipv4.line = nic.loc_ipv6.line = 1;
	if (net_filter_init(&f, &nic, &pol.network))
		return 1;

	c1514 = time_copy(1514, iter);
	c64k = time_copy(TSO_LEN, iter / 16);
	printf("copy of a 1514-byte frame %.1f ns, of a 64 KiB TSO frame %.1f ns (%ld calls)\n",
	       c1514, c64k, iter);
	row("tx tcp4 1514 B, own segment",
	    time_tx(&f, tcp4_len("10.0.1.6", 80, 1514), NULL, iter, 0), c1514, 1514);
	row("tx tcp4 1514 B, own segment, checksum offload",
	    time_tx(&f, tcp4_len("10.0.1.6", 80, 1514), &csum, iter, 0), c1514, 1514);
	row("tx tcp4 1514 B, reached segment",
	    time_tx(&f, tcp4_len("10.0.2.6", 80, 1514), NULL, iter, 0), c1514, 1514);
	row("tx tcp4 1514 B, last egress rule",
	    time_tx(&f, tcp4_len("8.8.8.8", 443, 1514), NULL, iter, 0), c1514, 1514);
	row("tx tcp4 1514 B, denied (all rules scanned)",
	    time_tx(&f, tcp4_len("8.8.8.8", 444, 1514), NULL, iter, 0), c1514, 1514);
	row("tx tcp6 hop-by-hop 1514 B, own segment",
	    time_tx(&f, tcp6_len("fd00:1::6", 1514), NULL, iter, 0), c1514, 1514);
	row("tx tcp4 64 KiB TSO, own segment",
	    time_tx(&f, tcp4_len("10.0.1.6", 80, TSO_LEN), &tso, iter, 0), c64k, TSO_LEN);
	tcp4_len("10.0.1.5", 80, 1514);
	memcpy(fr, nic_mac, 6); /* to the NIC */
	row("rx 1514 B to the NIC's MAC", time_tx(&f, 1514, NULL, iter, true), c1514, 1514);
	printf("(sink %u)\n", sink & 1);
	policy_free(&pol);
	return 0;
}
