/* fuzz_net_filter.c: libFuzzer target: fuzzer bytes as frames through the frame filter of three
 * NICs, both directions, every drop formatted as its audit line. */
#include "devices/net_filter.h"
#include "policy/policy.h"
#include "util/bytes.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/*
 * Input: [0] control (bits 0-1: the NIC, 0 web, 1 db with VLAN 102, DHCP and LLDP, 2 web without
 * addresses, 3 web; bit 2: the header asks for a checksum; bit 3: the frame comes from the tap;
 * bit 4: at csum_offset 16 (TCP's), else 6 (UDP's), and with bit 2 TCP segmentation; bits 5-7:
 * csum_start, one of starts[]), then the frame from its Ethernet header on.
 */
static const uint16_t starts[8] = {34, 54, 62, 38, 42, 14, 0, 70};
static const char policy[] = "limits: {vcpus_max: 1, memory_max: 1GiB}\n"
			     "network:\n  segments:\n"
			     "    - name: web\n      ranges: [10.0.1.0/24, \"fd00:1::/64\"]\n"
			     "      reach: [db]\n"
			     "      egress:\n"
			     "        - {to: 0.0.0.0/0, proto: tcp, ports: 443}\n"
			     "        - {to: 192.0.2.53, proto: udp, ports: 53}\n"
			     "        - {to: 198.51.100.0/24, proto: icmp}\n"
			     "        - {to: \"2001:db8::/32\", proto: tcp, ports: 8000-8100}\n"
			     "        - {to: 203.0.113.0/24}\n"
			     "    - name: db\n      ranges: [10.0.2.0/24, \"fd00:2::/64\"]\n"
			     "      vlan: 102\n      dhcp: true\n      ethertypes: [0x88cc]\n";
static const uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x05};
static struct net_filter nics[4];

static void nic(struct net_filter *f, const struct policy_network *net, const char *seg,
		const char *v4, const char *v6)
{
	struct config_nic c;

	memset(&c, 0, sizeof(c));
	snprintf(c.segment, sizeof(c.segment), "%s", seg);
	memcpy(c.mac, mac, 6);
	if (v4 && inet_pton(AF_INET, v4, c.ipv4) == 1)
		c.loc_ipv4.line = 1;
	if (v6 && inet_pton(AF_INET6, v6, c.ipv6) == 1)
		c.loc_ipv6.line = 1;
	if (net_filter_init(f, &c, net))
		abort();
}

static void init(void)
{
	static struct policy pol;
	struct bw_error err;

	log_set_level(LOG_ERROR);
	if (policy_parse("p.yaml", policy, strlen(policy), &pol, &err))
		abort();
	nic(&nics[0], &pol.network, "web", "10.0.1.5", "fd00:1::5");
	nic(&nics[1], &pol.network, "db", "10.0.2.5", "fd00:2::5");
	nic(&nics[2], &pol.network, "web", NULL, NULL);
	nic(&nics[3], &pol.network, "web", "10.0.1.6", "fd00:1::6");
}

/* What passed must hold, checked again here independently of the filter's own code. */
/* A checksum asked for by OFF is the TCP or UDP one of an unfragmented IPv4 packet (its place
 * recomputed here), or lies past an IPv6 header (where the extension headers end is the
 * filter's walk, not re-done here). */
static void check_offload(const uint8_t *p, size_t len, const struct net_offload *off)
{
	uint16_t type = load_be16(p + 12);
	size_t want = 6;

	if (!off->csum)
		return;
	if ((type != 0x0800 && type != 0x86dd) ||
	    (off->gso && off->gso != (type == 0x0800 ? 4 : 6)))
		abort();
	if (off->csum_start + off->csum_offset + 2 > len || (off->gso && off->csum_offset != 16))
		abort();
	if (type == 0x86dd) {
		if (off->csum_start < 54 || (off->csum_offset != 6 && off->csum_offset != 16))
			abort();
		return;
	}
	if (p[23] == 6)
		want = 16;
	else if (p[23] != 17)
		abort();
	if ((load_be16(p + 20) & 0x3fff) != 0 || off->csum_start != 14 + (size_t)(p[14] & 15) * 4 ||
	    off->csum_offset != want)
		abort();
}

static void check_tx_pass(const struct net_filter *f, const uint8_t *p, size_t len,
			  const struct net_offload *off)
{
	static const uint8_t zero[16];
	uint16_t type;
	bool ok = false;

	if (len < 14 || memcmp(p + 6, f->mac, 6) != 0 || (!off->gso && len > 1514))
		abort();
	check_offload(p, len, off);
	type = load_be16(p + 12);
	if (type == 0x0800) {
		if (len < 34 || (memcmp(p + 26, f->ipv4, 4) != 0 && memcmp(p + 26, zero, 4) != 0))
			abort();
		if (!memcmp(p + 26, zero, 4) && !f->dhcp)
			abort();
		if (!f->has_ipv4 && memcmp(p + 26, zero, 4) != 0)
			abort();
	} else if (type == 0x86dd) {
		if (len < 54 || (memcmp(p + 22, f->ll6, 16) != 0 && memcmp(p + 22, zero, 16) != 0 &&
				 (!f->has_ipv6 || memcmp(p + 22, f->ipv6, 16) != 0)))
			abort();
	} else if (type == 0x0806) {
		if (len < 42 || memcmp(p + 22, f->mac, 6) != 0)
			abort();
	} else {
		for (unsigned i = 0; i < f->nethertypes; i++)
			ok |= f->ethertypes[i] == type;
		if (!ok)
			abort();
	}
}

static void check_rx_pass(const struct net_filter *f, const uint8_t *p, size_t len)
{
	uint16_t type;

	if (len < 14 || (!(p[0] & 1) && memcmp(p, f->mac, 6) != 0))
		abort();
	type = load_be16(p + 12);
	if (f->vlan && (type != 0x8100 || len < 18 || (load_be16(p + 14) & 0xfff) != f->vlan))
		abort();
	if (!f->vlan && (type == 0x8100 || type == 0x88a8 || type == 0x9100))
		abort();
}

static void check_line(const struct net_drop *d)
{
	char line[512];
	size_t n = net_audit_format(line, sizeof(line), "vm-1", "tap\"0", d, 3);

	if (n < 3 || n >= sizeof(line) || line[n] || line[n - 1] != '\n' || line[n - 2] != '}' ||
	    strncmp(line, "{\"event\":\"net-drop\",", 20) != 0 || strlen(line) != n)
		abort();
	for (size_t i = 0; i + 1 < n; i++)
		if ((unsigned char)line[i] < 0x20)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	const struct net_filter *f;
	struct net_drop d;
	enum net_drop_reason r;
	uint8_t *frame;
	size_t len;
	struct net_offload off;

	if (!ready) {
		init();
		ready = true;
	}
	if (size < 1)
		return 0;
	f = &nics[data[0] & 3];
	off = (struct net_offload){.csum = data[0] & 4,
				   .csum_start = starts[data[0] >> 5],
				   .csum_offset = data[0] & 16 ? 16 : 6,
				   .gso = (data[0] & 20) == 20 ? (data[0] & 32 ? 6 : 4) : 0};
	/* A heap copy of exactly the frame: ASan catches a read past it. */
	len = size - 1;
	frame = malloc(len ? len : 1);
	if (!frame)
		abort();
	memcpy(frame, data + 1, len);
	if (data[0] & 8)
		r = net_filter_rx(f, frame, len, &d);
	else
		r = net_filter_tx(f, frame, len, &off, &d);
	if (r >= NET_DROP_REASONS || (r != NET_PASS && d.reason != r) ||
	    ((data[0] & 8) != 0) != d.rx)
		abort();
	if (r == NET_PASS && (data[0] & 8))
		check_rx_pass(f, frame, len);
	else if (r == NET_PASS)
		check_tx_pass(f, frame, len, &off);
	else
		check_line(&d);
	free(frame);
	return 0;
}
