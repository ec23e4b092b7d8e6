/* fuzz_policy.c: libFuzzer target: fuzzer bytes as a policy file and a VM config, parsed, checked
 * against each other and printed. */
#include "config/config.h"
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Input: a policy file, optionally followed by a NUL byte and a VM config. The policy is parsed;
 * when it is accepted, its invariants are checked (abort on a broken one), it is printed, and
 * the config, when there is one and it parses, is checked against it: limits, then every NIC's
 * segment and addresses. Both parsers run on untrusted text a VM owner may write.
 */
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static FILE *sink;

static void check_invariants(const struct policy *p)
{
	const struct policy_sandbox *sb = &p->sandbox;

	if (p->limits.vcpus_max < 1 || p->limits.vcpus_max > CONFIG_VCPUS_MAX ||
	    p->limits.memory_max < CONFIG_MEMORY_MIN || p->limits.memory_max > CONFIG_MEMORY_MAX)
		abort();
	if (p->cgroup.loc.line &&
	    (!p->cgroup.parent || strncmp(p->cgroup.parent, "/sys/fs/cgroup", 14)))
		abort();
	if (p->cgroup.cpu_max_set && (p->cgroup.cpu_period_us < POLICY_CPU_PERIOD_MIN_US ||
				      p->cgroup.cpu_period_us > POLICY_CPU_PERIOD_MAX_US))
		abort();
	if (p->cgroup.cpuset_cpus_set && strlen(p->cgroup.cpuset_cpus) > POLICY_CPUSET_MAX)
		abort();
	if ((sb->jail || sb->jail_tmpfs) && !(sb->namespaces & POLICY_NS_MOUNT))
		abort();
	if ((sb->jail && (sb->jail[0] != '/' || strstr(sb->jail, "/../") || sb->jail_tmpfs)) ||
	    sb->namespaces >> 5 || sb->ids_set != (sb->loc_uid.line != 0))
		abort();
	if (p->network.nsegments > POLICY_SEGMENTS_MAX)
		abort();
	for (unsigned i = 0; i < p->network.nsegments; i++) {
		const struct policy_segment *sg = &p->network.segments[i];

		if (sg->nranges > POLICY_RANGES_MAX || sg->negress > POLICY_EGRESS_MAX ||
		    sg->reach >> p->network.nsegments || sg->reach & (1u << i) ||
		    sg->vlan > POLICY_VLAN_MAX || !sg->name[0])
			abort();
		for (unsigned r = 0; r < sg->nranges; r++)
			if (sg->ranges[r].prefix > (sg->ranges[r].family == 4 ? 32 : 128))
				abort();
		for (unsigned e = 0; e < sg->negress; e++)
			if (sg->egress[e].port_min > sg->egress[e].port_max)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, '\0', size);
	size_t plen = nul ? (size_t)(nul - text) : size;
	struct policy pol;
	struct vm_config cfg;
	struct bw_error err;

	if (!sink && !(sink = fopen("/dev/null", "we")))
		abort();
	if (policy_parse("fuzz.yaml", text, plen, &pol, &err)) {
		/* A refusal leaves nothing behind and always says where. */
		if (strncmp(err.msg, "fuzz.yaml", 9) != 0 || pol.path)
			abort();
		return 0;
	}
	check_invariants(&pol);
	policy_print(&pol, sink);
	if (nul && config_parse("vm/fuzz.yaml", nul + 1, size - plen - 1, &cfg, &err) == 0) {
		if (policy_check_vm(&pol, &cfg, &err) == 0 &&
		    (cfg.vcpus > pol.limits.vcpus_max || cfg.memory > pol.limits.memory_max))
			abort();
		config_free(&cfg);
	}
	policy_free(&pol);
	return 0;
}
