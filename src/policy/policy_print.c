/* policy_print.c: a parsed policy in readable form, for `bulwark policy check`. */
#include "policy/policy_parse.h"

#include <inttypes.h>

#define ROW "  %-17s "

static const char *number_str(char buf[32], uint64_t v)
{
	if (v == POLICY_UNLIMITED)
		return "max";
	snprintf(buf, 32, "%" PRIu64, v);
	return buf;
}

static void print_cgroup(const struct policy_cgroup *cg, FILE *out)
{
	static const char unset[] = "(not written: the kernel's default)";
	char b[32];

	if (!cg->parent) {
		fputs("cgroup: none (the VM stays in the cgroup it was started in)\n", out);
		return;
	}
	fprintf(out, "cgroup: the VM's own, under %s\n", cg->parent);
	fprintf(out, ROW "%s\n", "memory.max",
		cg->memory_max_set ? policy_size_str(b, cg->memory_max) : unset);
	fprintf(out, ROW "%s\n", "memory.high",
		cg->memory_high_set ? policy_size_str(b, cg->memory_high) : unset);
	fprintf(out, ROW "%s\n", "memory.swap.max",
		cg->memory_swap_max_set ? policy_size_str(b, cg->memory_swap_max) : unset);
	if (cg->cpu_max_set && cg->cpu_quota_us != POLICY_UNLIMITED)
		fprintf(out, ROW "%" PRIu64 " %" PRIu64 " (%.2f CPUs)\n", "cpu.max",
			cg->cpu_quota_us, cg->cpu_period_us,
			(double)cg->cpu_quota_us / (double)cg->cpu_period_us);
	else if (cg->cpu_max_set)
		fprintf(out, ROW "max %" PRIu64 "\n", "cpu.max", cg->cpu_period_us);
	else
		fprintf(out, ROW "%s\n", "cpu.max", unset);
	if (cg->cpu_weight_set)
		fprintf(out, ROW "%u\n", "cpu.weight", cg->cpu_weight);
	else
		fprintf(out, ROW "%s\n", "cpu.weight", unset);
	fprintf(out, ROW "%s\n", "cpuset.cpus", cg->cpuset_cpus_set ? cg->cpuset_cpus : unset);
	fprintf(out, ROW "%s\n", "pids.max",
		cg->pids_max_set ? number_str(b, cg->pids_max) : unset);
}

static void print_sandbox(const struct policy_sandbox *sb, FILE *out)
{
	static const char *const modes[] = {"kill (a syscall off the allowlist kills bulwark)",
					    "log (reported and allowed: for writing allowlists)"};
	char b[32];

	fprintf(out, "sandbox: %s\n",
		sb->loc.line ? "applied when started as root"
			     : "none (no jail, namespaces or uid change)");
	if (sb->ids_set)
		fprintf(out, ROW "%u, gid %u\n", "uid", (unsigned)sb->uid, (unsigned)sb->gid);
	else
		fprintf(out, ROW "unchanged\n", "uid");
	fprintf(out, ROW "%s\n", "jail",
		sb->jail_tmpfs ? "a fresh empty tmpfs"
		: sb->jail     ? sb->jail
			       : "none");
	fprintf(out, ROW "%s", "namespaces", sb->namespaces ? "" : "none");
	for (unsigned ns = 0, n = 0; policy_ns_names[ns]; ns++)
		if (sb->namespaces & (1u << ns))
			fprintf(out, "%s%s", n++ ? " " : "", policy_ns_names[ns]);
	fputc('\n', out);
	for (unsigned i = 0; i < POLICY_RLIMITS; i++) {
		char key[24];

		snprintf(key, sizeof(key), "rlimit %s", policy_rlimit_names[i]);
		if (!sb->rlimit_set[i])
			fprintf(out, ROW "%s\n", key, "(inherited)");
		else if (i == POLICY_RLIMIT_NOFILE)
			fprintf(out, ROW "%s\n", key, number_str(b, sb->rlimit[i]));
		else
			fprintf(out, ROW "%s\n", key, policy_size_str(b, sb->rlimit[i]));
	}
	fprintf(out, ROW "%s\n", "seccomp", modes[sb->seccomp == POLICY_SECCOMP_LOG]);
}

static void print_cidr(const struct policy_cidr *c, FILE *out)
{
	char b[64];

	fprintf(out, " %s", policy_cidr_str(b, c));
}

static void print_segment(const struct policy_segment *sg, FILE *out)
{
	static const char *const protos[] = {"any", "tcp", "udp", "icmp"};

	fprintf(out, "  segment %s:", sg->name);
	for (unsigned i = 0; i < sg->nranges; i++)
		print_cidr(&sg->ranges[i], out);
	if (sg->vlan)
		fprintf(out, "\n    vlan %u", sg->vlan);
	else
		fputs("\n    untagged", out);
	fprintf(out, ", bridge %s, dhcp %s, reaches", sg->bridge[0] ? sg->bridge : "none",
		sg->dhcp ? "allowed" : "refused");
	for (unsigned i = 0; i < sg->nreach; i++)
		fprintf(out, " %s", sg->reach_names[i]);
	fprintf(out, "%s, ethertypes ARP IPv4 IPv6", sg->nreach ? "" : " no other segment");
	for (unsigned i = 0; i < sg->nethertypes; i++)
		fprintf(out, " 0x%04x", sg->ethertypes[i]);
	fputc('\n', out);
	for (unsigned i = 0; i < sg->negress; i++) {
		const struct policy_egress *eg = &sg->egress[i];

		fprintf(out, "    egress %s to", protos[eg->proto]);
		print_cidr(&eg->to, out);
		if (eg->port_min == eg->port_max)
			fprintf(out, " port %u", eg->port_min);
		else if (eg->port_min != 0 || eg->port_max != 65535)
			fprintf(out, " ports %u-%u", eg->port_min, eg->port_max);
		fputc('\n', out);
	}
}

void policy_print(const struct policy *pol, FILE *out)
{
	char b[32];

	fprintf(out, "policy %s\n", pol->path ? pol->path : "?");
	fprintf(out, "limits: what a VM config may ask for\n");
	fprintf(out, ROW "%u\n", "vcpus_max", pol->limits.vcpus_max);
	fprintf(out, ROW "%s\n", "memory_max", policy_size_str(b, pol->limits.memory_max));
	print_cgroup(&pol->cgroup, out);
	print_sandbox(&pol->sandbox, out);
	if (!pol->network.loc.line) {
		fputs("network: no segments\n", out);
		return;
	}
	fprintf(out, "network: %u segment%s\n", pol->network.nsegments,
		pol->network.nsegments == 1 ? "" : "s");
	for (unsigned i = 0; i < pol->network.nsegments; i++)
		print_segment(&pol->network.segments[i], out);
}
