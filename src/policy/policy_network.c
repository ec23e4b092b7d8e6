/* policy_network.c: the policy's network: section, parsed and cross-checked. */
#include "policy/policy_parse.h"

#include <arpa/inet.h>
#include <string.h>

#define NAME_EXPECT                                                                                \
	"expected 1 to " CY_STR(POLICY_SEGMENT_NAME_MAX) " characters from a-z, 0-9 and -"
#define CIDR_EXPECT "expected an IPv4 or IPv6 address or range such as 10.0.1.0/24 or fd00:1::/64"

static int parse_cidr(struct cy_parser *p, yaml_node_t *n, const char *field, struct policy_cidr *c)
{
	const char *s = NULL, *slash;
	size_t len = 0, alen;
	char addr[INET6_ADDRSTRLEN] = "";
	uint64_t prefix = 0;
	unsigned bits;

	if (cy_scalar(p, n, field, CIDR_EXPECT, true, &s, &len))
		return -1;
	slash = memchr(s, '/', len);
	alen = slash ? (size_t)(slash - s) : len;
	memset(c, 0, sizeof(*c));
	c->family = memchr(s, ':', alen) ? 6 : 4;
	bits = c->family == 4 ? 32 : 128;
	if (alen >= sizeof(addr))
		return cy_bad(p, n, field, CIDR_EXPECT, s, len);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(c->family == 4 ? AF_INET : AF_INET6, addr, c->addr) != 1)
		return cy_bad(p, n, field, CIDR_EXPECT, s, len);
	if (!slash)
		prefix = bits;
	else if (cy_decimal(slash + 1, len - alen - 1, &prefix) != len - alen - 1 ||
		 alen + 1 == len || prefix > bits)
		return cy_bad(p, n, field, CIDR_EXPECT, s, len);
	c->prefix = (uint8_t)prefix;
	c->loc = cy_loc(n->start_mark);
	for (unsigned b = c->prefix; b < bits; b++)
		if (c->addr[b / 8] & (0x80 >> (b % 8)))
			return cy_bad(
			    p, n, field,
			    "expected a range with its host bits zero (such as 10.0.1.0/24)", s,
			    len);
	return 0;
}

bool policy_cidr_contains(const struct policy_cidr *c, int family, const uint8_t *addr)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (c->family != family || memcmp(c->addr, addr, full) != 0)
		return false;
	return !rest || !((c->addr[full] ^ addr[full]) & (0xff00 >> rest));
}

static bool overlap(const struct policy_cidr *a, const struct policy_cidr *b)
{
	return policy_cidr_contains(a, b->family, b->addr) ||
	       policy_cidr_contains(b, a->family, a->addr);
}

static int one_range(struct cy_parser *p, yaml_node_t *n, const char *field, unsigned i, void *ctx)
{
	struct policy_segment *sg = ctx;

	sg->nranges = i + 1;
	return parse_cidr(p, n, field, &sg->ranges[i]);
}

static int parse_ranges(struct cy_parser *p, const struct cy_key *k, const char *field,
			yaml_node_t *n, void *base)
{
	return pol_list(p, n, field, k->expect, POLICY_RANGES_MAX, one_range, base);
}

static int one_reach(struct cy_parser *p, yaml_node_t *n, const char *field, unsigned i, void *ctx)
{
	struct policy_segment *sg = ctx;

	sg->nreach = i + 1;
	sg->loc_reach_item[i] = cy_loc(n->start_mark);
	return cy_name(p, n, field, NAME_EXPECT, POLICY_SEGMENT_NAME_MAX, sg->reach_names[i]);
}

static int parse_reach(struct cy_parser *p, const struct cy_key *k, const char *field,
		       yaml_node_t *n, void *base)
{
	return pol_list(p, n, field, k->expect, POLICY_SEGMENTS_MAX, one_reach, base);
}

static int parse_seg_name(struct cy_parser *p, const struct cy_key *k, const char *field,
			  yaml_node_t *n, void *base)
{
	return cy_name(p, n, field, k->expect, POLICY_SEGMENT_NAME_MAX, cy_field(base, k));
}

static int parse_vlan(struct cy_parser *p, const struct cy_key *k, const char *field,
		      yaml_node_t *n, void *base)
{
	uint64_t v = 0;

	if (pol_number(p, n, field, k->expect, 1, POLICY_VLAN_MAX, false, &v))
		return -1;
	*(unsigned *)cy_field(base, k) = (unsigned)v;
	return 0;
}

/* 0x followed by four hex digits, an Ethernet II type; VLAN tags stay bulwark's to add. */
static int one_ethertype(struct cy_parser *p, yaml_node_t *n, const char *field, unsigned i,
			 void *ctx)
{
	static const char expect[] = "expected an ethertype from 0x0600 to 0xffff such as 0x88cc, "
				     "not a VLAN tag (0x8100, 0x88a8, 0x9100)";
	struct policy_segment *sg = ctx;
	const char *s = NULL;
	size_t len = 0;
	unsigned v = 0;

	if (cy_scalar(p, n, field, expect, false, &s, &len))
		return -1;
	if (len != 6 || s[0] != '0' || s[1] != 'x' || strspn(s + 2, "0123456789abcdefABCDEF") < 4)
		return cy_bad(p, n, field, expect, s, len);
	for (size_t j = 2; j < len; j++)
		v = v << 4 | (unsigned)(s[j] <= '9' ? s[j] - '0' : (s[j] | 0x20) - 'a' + 10);
	if (v < 0x600 || v == 0x8100 || v == 0x88a8 || v == 0x9100)
		return cy_bad(p, n, field, expect, s, len);
	sg->ethertypes[i] = (uint16_t)v;
	sg->nethertypes = i + 1;
	return 0;
}

static int parse_ethertypes(struct cy_parser *p, const struct cy_key *k, const char *field,
			    yaml_node_t *n, void *base)
{
	return pol_list(p, n, field, k->expect, POLICY_ETHERTYPES_MAX, one_ethertype, base);
}

static int parse_to(struct cy_parser *p, const struct cy_key *k, const char *field, yaml_node_t *n,
		    void *base)
{
	return parse_cidr(p, n, field, cy_field(base, k));
}

static int parse_proto(struct cy_parser *p, const struct cy_key *k, const char *field,
		       yaml_node_t *n, void *base)
{
	static const char *const names[] = {"any", "tcp", "udp", "icmp", NULL};
	const char *s = NULL;
	size_t len = 0;

	if (cy_scalar(p, n, field, k->expect, true, &s, &len))
		return -1;
	for (unsigned i = 0; names[i]; i++)
		if (cy_is_one_of(s, len, (const char *const[]){names[i], NULL})) {
			*(enum policy_proto *)cy_field(base, k) = (enum policy_proto)i;
			return 0;
		}
	return cy_bad(p, n, field, k->expect, s, len);
}

/* PORT or FIRST-LAST, 1 to 65535. */
static int parse_ports(struct cy_parser *p, const struct cy_key *k, const char *field,
		       yaml_node_t *n, void *base)
{
	struct policy_egress *eg = base;
	const char *s = NULL;
	size_t len = 0, d;
	uint64_t lo = 0, hi = 0;

	if (cy_scalar(p, n, field, k->expect, false, &s, &len))
		return -1;
	d = cy_decimal(s, len, &lo);
	hi = lo;
	if (d && d < len && s[d] == '-' && cy_decimal(s + d + 1, len - d - 1, &hi) == len - d - 1)
		d = len;
	if (d != len || lo < 1 || hi > 65535 || lo > hi)
		return cy_bad(p, n, field, k->expect, s, len);
	eg->port_min = (uint16_t)lo;
	eg->port_max = (uint16_t)hi;
	return 0;
}

#define EG_KEY(...) CY_KEY(struct policy_egress, __VA_ARGS__)
#define SEG_KEY(...) CY_KEY(struct policy_segment, __VA_ARGS__)

static const struct cy_key egress_keys[] = {
    EG_KEY(to, true, parse_to, CIDR_EXPECT),
    EG_KEY(proto, false, parse_proto, "expected any, tcp, udp or icmp"),
    /* Fills port_min and port_max itself. */
    {"ports", "expected a port or a range such as 8000-8100 (1 to 65535)", parse_ports,
     offsetof(struct policy_egress, port_min), offsetof(struct policy_egress, loc_ports), false},
};

static const struct cy_table egress_table = {egress_keys, ARRAY_SIZE(egress_keys),
					     sizeof(struct policy_egress),
					     offsetof(struct policy_egress, loc)};

static int parse_egress(struct cy_parser *p, const struct cy_key *k, const char *field,
			yaml_node_t *n, void *base)
{
	struct policy_segment *sg = base;
	int count =
	    cy_sequence(p, n, field, "egress rules", POLICY_EGRESS_MAX, &egress_table, sg->egress);

	(void)k;
	if (count < 0)
		return -1;
	sg->negress = (unsigned)count;
	for (unsigned i = 0; i < sg->negress; i++) {
		struct policy_egress *eg = &sg->egress[i];
		char name[CY_FIELD_MAX];

		snprintf(name, sizeof(name), "%s[%u].ports", field, i);
		if (eg->loc_ports.line && eg->proto != POLICY_PROTO_TCP &&
		    eg->proto != POLICY_PROTO_UDP)
			return pol_err_at(p, eg->loc_ports, name, "ports need proto tcp or udp");
		if (!eg->loc_ports.line)
			eg->port_max = 65535;
	}
	return 0;
}

static const struct cy_key segment_keys[] = {
    SEG_KEY(name, true, parse_seg_name, NAME_EXPECT),
    SEG_KEY(ranges, true, parse_ranges, "expected a sequence of address ranges"),
    SEG_KEY(vlan, false, parse_vlan, "expected a VLAN id from 1 to " CY_STR(POLICY_VLAN_MAX)),
    SEG_KEY(bridge, false, cy_key_ifname,
	    "expected an interface name: 1 to 15 printable ASCII characters but space, /, : and %, "
	    "not . or .."),
    SEG_KEY(reach, false, parse_reach, "expected a sequence of segment names"),
    SEG_KEY(dhcp, false, cy_key_bool, "expected true or false"),
    SEG_KEY(ethertypes, false, parse_ethertypes, "expected a sequence of ethertypes"),
    SEG_KEY(egress, false, parse_egress, "expected a sequence of egress rules"),
};

static const struct cy_table segment_table = {segment_keys, ARRAY_SIZE(segment_keys),
					      sizeof(struct policy_segment),
					      offsetof(struct policy_segment, loc)};

const struct policy_segment *policy_segment_find(const struct policy_network *net, const char *name)
{
	for (unsigned i = 0; i < net->nsegments; i++)
		if (!strcmp(net->segments[i].name, name))
			return &net->segments[i];
	return NULL;
}

/* Refuses network.segments[I].WHAT at L. */
static int seg_err(struct cy_parser *p, struct config_loc l, unsigned i, const char *what,
		   const char *msg)
{
	char f[CY_FIELD_MAX];

	snprintf(f, sizeof(f), "network.segments[%u].%s", i, what);
	return pol_err_at(p, l, f, "%s", msg);
}

/* Two segments must differ in name, VLAN and addresses, or isolation means nothing. */
static int against(struct cy_parser *p, const struct policy_segment *sg, unsigned i,
		   const struct policy_segment *o, unsigned j)
{
	char msg[256], what[32];

	if (!strcmp(sg->name, o->name)) {
		snprintf(msg, sizeof(msg), "expected each name once, got %s again (segments[%u])",
			 sg->name, j);
		return seg_err(p, sg->loc_name, i, "name", msg);
	}
	if (sg->vlan && sg->vlan == o->vlan) {
		snprintf(msg, sizeof(msg),
			 "expected a VLAN of its own, got %u again (segments[%u])", sg->vlan, j);
		return seg_err(p, sg->loc_vlan, i, "vlan", msg);
	}
	for (unsigned a = 0; a < sg->nranges; a++)
		for (unsigned b = 0; b < o->nranges; b++) {
			if (!overlap(&sg->ranges[a], &o->ranges[b]))
				continue;
			snprintf(
			    msg, sizeof(msg),
			    "overlaps segments[%u].ranges[%u] (line %u): a segment's addresses "
			    "are its own",
			    j, b, o->ranges[b].loc.line);
			snprintf(what, sizeof(what), "ranges[%u]", a);
			return seg_err(p, sg->ranges[a].loc, i, what, msg);
		}
	return 0;
}

/* Unique segments, and reach by name resolved to a bit set. */
static int cross_check(struct cy_parser *p, struct policy_network *net)
{
	char msg[256], what[32];

	for (unsigned i = 0; i < net->nsegments; i++) {
		struct policy_segment *sg = &net->segments[i];

		for (unsigned j = 0; j < i; j++)
			if (against(p, sg, i, &net->segments[j], j))
				return -1;
		for (unsigned r = 0; r < sg->nreach; r++) {
			const struct policy_segment *t =
			    policy_segment_find(net, sg->reach_names[r]);

			snprintf(what, sizeof(what), "reach[%u]", r);
			if (!t || t == sg) {
				snprintf(msg, sizeof(msg), "%s, got %s",
					 t ? "expected another segment (a segment always reaches "
					     "itself)"
					   : "expected the name of a segment",
					 sg->reach_names[r]);
				return seg_err(p, sg->loc_reach_item[r], i, what, msg);
			}
			sg->reach |= 1u << (unsigned)(t - net->segments);
		}
	}
	return 0;
}

#define NET_KEY(...) CY_KEY(struct policy_network, __VA_ARGS__)

static int parse_segments(struct cy_parser *p, const struct cy_key *k, const char *field,
			  yaml_node_t *n, void *base)
{
	struct policy_network *net = base;
	int count = cy_sequence(p, n, field, "segments", POLICY_SEGMENTS_MAX, &segment_table,
				net->segments);

	(void)k;
	if (count < 0)
		return -1;
	net->nsegments = (unsigned)count;
	return cross_check(p, net);
}

static const struct cy_key network_keys[] = {
    NET_KEY(segments, true, parse_segments, "expected a sequence of segments"),
};

static const struct cy_table network_table = {network_keys, ARRAY_SIZE(network_keys), 0, 0};

int policy_parse_network(struct cy_parser *p, const struct cy_key *k, const char *field,
			 yaml_node_t *n, void *base)
{
	struct policy_network *net = cy_field(base, k);

	if (cy_mapping(p, n, field, &network_table, net))
		return -1;
	net->loc = cy_loc(n->start_mark);
	return 0;
}
