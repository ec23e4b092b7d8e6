/* policy_nics.c: a VM config's NICs against the policy's network segments. */
#include "policy/policy_parse.h"

#include <arpa/inet.h>
#include <string.h>

const char *policy_cidr_str(char buf[64], const struct policy_cidr *c)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
	snprintf(buf, 64, "%s/%u", a, c->prefix);
	return buf;
}

/* The names of NET's segments, "web, db", into BUF. */
static const char *segment_list(const struct policy_network *net, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < net->nsegments && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "",
				      net->segments[i].name);
	return buf;
}

/* Whether ADDR (FAMILY) lies in one of SG's ranges. */
static bool in_segment(const struct policy_segment *sg, int family, const uint8_t *addr)
{
	for (unsigned i = 0; i < sg->nranges; i++)
		if (policy_cidr_contains(&sg->ranges[i], family, addr))
			return true;
	return false;
}

/* Refuses nics[I].ADDR (FAMILY) unless it lies in SG's ranges. */
static int check_addr(const struct policy_segment *sg, const struct vm_config *cfg, unsigned i,
		      int family, struct bw_error *err)
{
	const struct config_nic *nic = &cfg->nics[i];
	const uint8_t *addr = family == 4 ? nic->ipv4 : nic->ipv6;
	struct config_loc loc = family == 4 ? nic->loc_ipv4 : nic->loc_ipv6;
	char field[CY_FIELD_MAX], a[INET6_ADDRSTRLEN] = "?", ranges[256] = "", c[64];
	size_t n = 0;

	if (!loc.line || in_segment(sg, family, addr))
		return 0;
	for (unsigned r = 0; r < sg->nranges && n < sizeof(ranges); r++)
		if (sg->ranges[r].family == family)
			n += (size_t)snprintf(ranges + n, sizeof(ranges) - n, "%s%s", n ? ", " : "",
					      policy_cidr_str(c, &sg->ranges[r]));
	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
	snprintf(field, sizeof(field), "nics[%u].ipv%d", i, family);
	config_errorf(err, cfg->path, loc, field, "%s is outside segment %s's IPv%d ranges (%s)", a,
		      sg->name, family, n ? ranges : "it has none");
	return -1;
}

int policy_check_nics(const struct policy_network *net, const char *policy,
		      const struct vm_config *cfg, struct bw_error *err)
{
	char field[CY_FIELD_MAX], list[256];

	for (unsigned i = 0; i < cfg->nnics; i++) {
		const struct config_nic *nic = &cfg->nics[i];
		const struct policy_segment *sg = NULL;

		if (nic->loc_segment.line && !(sg = policy_segment_find(net, nic->segment))) {
			snprintf(field, sizeof(field), "nics[%u].segment", i);
			config_errorf(err, cfg->path, nic->loc_segment, field,
				      "the policy %s has no segment %s (%s%s)", policy,
				      nic->segment,
				      net->nsegments ? "it has " : "no network section",
				      segment_list(net, list, sizeof(list)));
			return -1;
		}
		if (!sg && net->nsegments) {
			snprintf(field, sizeof(field), "nics[%u]", i);
			config_errorf(
			    err, cfg->path, nic->loc, field,
			    "expected a segment: the policy %s puts every NIC in one of %s", policy,
			    segment_list(net, list, sizeof(list)));
			return -1;
		}
		if (sg && (check_addr(sg, cfg, i, 4, err) || check_addr(sg, cfg, i, 6, err)))
			return -1;
	}
	return 0;
}
