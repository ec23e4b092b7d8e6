/* policy_cgroup.c: the policy's cgroup: section, checked as the kernel's cgroup v2 files take it.
 */
#include "policy/policy_parse.h"

#include <string.h>

#define CG_SIZE_EXPECT                                                                             \
	"expected a size (an integer with KiB, MiB or GiB, or 0) up to 1048576GiB, or max"

static int parse_parent(struct cy_parser *p, const struct cy_key *k, const char *field,
			yaml_node_t *n, void *base)
{
	return pol_abs_path(p, n, field, k->expect, "/sys/fs/cgroup", cy_field(base, k));
}

static int parse_cg_size(struct cy_parser *p, const struct cy_key *k, const char *field,
			 yaml_node_t *n, void *base)
{
	return pol_size(p, n, field, k->expect, 0, POLICY_SIZE_MAX, true, cy_field(base, k));
}

static int parse_pids(struct cy_parser *p, const struct cy_key *k, const char *field,
		      yaml_node_t *n, void *base)
{
	return pol_number(p, n, field, k->expect, 1, POLICY_PIDS_MAX, true, cy_field(base, k));
}

static int parse_weight(struct cy_parser *p, const struct cy_key *k, const char *field,
			yaml_node_t *n, void *base)
{
	uint64_t v = 0;

	if (pol_number(p, n, field, k->expect, 1, 10000, false, &v))
		return -1;
	*(unsigned *)cy_field(base, k) = (unsigned)v;
	return 0;
}

/* Whole of S[0..LEN) a decimal from MIN to MAX (or max when MAX_OK): cpu.max's two words. */
static bool number_in(const char *s, size_t len, uint64_t min, uint64_t max, bool max_ok,
		      uint64_t *v)
{
	if (max_ok && len == 3 && !memcmp(s, "max", 3)) {
		*v = POLICY_UNLIMITED;
		return true;
	}
	return len && cy_decimal(s, len, v) == len && *v >= min && *v <= max;
}

/* "QUOTA PERIOD" as cpu.max takes it; QUOTA alone keeps the kernel's period of 100 ms. */
static int parse_cpu_max(struct cy_parser *p, const struct cy_key *k, const char *field,
			 yaml_node_t *n, void *base)
{
	struct policy_cgroup *cg = base;
	const char *s = NULL, *sp;
	size_t len = 0, qlen;
	uint64_t period = 100000;

	if (cy_scalar(p, n, field, k->expect, false, &s, &len))
		return -1;
	sp = memchr(s, ' ', len);
	qlen = sp ? (size_t)(sp - s) : len;
	if (!number_in(s, qlen, POLICY_CPU_PERIOD_MIN_US, POLICY_CPU_QUOTA_MAX_US, true,
		       &cg->cpu_quota_us) ||
	    (sp && !number_in(sp + 1, len - qlen - 1, POLICY_CPU_PERIOD_MIN_US,
			      POLICY_CPU_PERIOD_MAX_US, false, &period)))
		return cy_bad(p, n, field, k->expect, s, len);
	cg->cpu_period_us = period;
	return 0;
}

/* cpuset.cpus: "N" or "N-M" items joined by commas, N <= M, below POLICY_CPU_NR_MAX. */
static int parse_cpuset(struct cy_parser *p, const struct cy_key *k, const char *field,
			yaml_node_t *n, void *base)
{
	const char *s = NULL;
	size_t len = 0, i = 0;
	bool ok;

	if (cy_scalar(p, n, field, k->expect, false, &s, &len))
		return -1;
	ok = len <= POLICY_CPUSET_MAX;
	while (ok && i < len) {
		uint64_t lo = 0, hi = 0;
		size_t d = cy_decimal(s + i, len - i, &lo);

		hi = lo;
		i += d;
		if (d && i < len && s[i] == '-') {
			d = cy_decimal(s + i + 1, len - i - 1, &hi);
			i += d + 1;
		}
		ok = d && lo <= hi && hi < POLICY_CPU_NR_MAX &&
		     (i == len || (s[i] == ',' && ++i < len));
	}
	if (!ok)
		return cy_bad(p, n, field, k->expect, s, len);
	memcpy(cy_field(base, k), s, len);
	((char *)cy_field(base, k))[len] = '\0';
	return 0;
}

/* The kernel's names: the file each value is written to. */
#define CG_KEY(file, member, fn, what)                                                             \
	{                                                                                          \
		file, what, fn, offsetof(struct policy_cgroup, member),                            \
		    offsetof(struct policy_cgroup, loc_##member), false                            \
	}

static const struct cy_key cgroup_keys[] = {
    {"parent",
     "expected an absolute path under /sys/fs/cgroup (printable ASCII, no spaces, "
     "no . or .. components)",
     parse_parent, offsetof(struct policy_cgroup, parent),
     offsetof(struct policy_cgroup, loc_parent), true},
    CG_KEY("memory.max", memory_max, parse_cg_size, CG_SIZE_EXPECT),
    CG_KEY("memory.high", memory_high, parse_cg_size, CG_SIZE_EXPECT),
    CG_KEY("memory.swap.max", memory_swap_max, parse_cg_size, CG_SIZE_EXPECT),
    /* Fills cpu_quota_us and cpu_period_us itself. */
    {"cpu.max",
     "expected \"QUOTA PERIOD\" in microseconds: QUOTA from 1000 or max, PERIOD from 1000 "
     "to 1000000",
     parse_cpu_max, offsetof(struct policy_cgroup, cpu_quota_us),
     offsetof(struct policy_cgroup, loc_cpu_max), false},
    CG_KEY("cpu.weight", cpu_weight, parse_weight, "expected an integer from 1 to 10000"),
    CG_KEY("cpuset.cpus", cpuset_cpus, parse_cpuset,
	   "expected CPU numbers and ranges such as 0-3,6 (below " CY_STR(
	       POLICY_CPU_NR_MAX) ", at most " CY_STR(POLICY_CPUSET_MAX) " characters)"),
    CG_KEY("pids.max", pids_max, parse_pids,
	   "expected an integer from 1 to " CY_STR(POLICY_PIDS_MAX) ", or max"),
};

static const struct cy_table cgroup_table = {cgroup_keys, ARRAY_SIZE(cgroup_keys), 0, 0};

int policy_parse_cgroup(struct cy_parser *p, const struct cy_key *k, const char *field,
			yaml_node_t *n, void *base)
{
	struct policy_cgroup *cg = cy_field(base, k);

	if (cy_mapping(p, n, field, &cgroup_table, cg))
		return -1;
	cg->loc = cy_loc(n->start_mark);
	cg->memory_max_set = cg->loc_memory_max.line != 0;
	cg->memory_high_set = cg->loc_memory_high.line != 0;
	cg->memory_swap_max_set = cg->loc_memory_swap_max.line != 0;
	cg->cpu_max_set = cg->loc_cpu_max.line != 0;
	cg->cpu_weight_set = cg->loc_cpu_weight.line != 0;
	cg->cpuset_cpus_set = cg->loc_cpuset_cpus.line != 0;
	cg->pids_max_set = cg->loc_pids_max.line != 0;
	/* Above memory.max, memory.high would never throttle: a slip worth a refusal. Its max is
	 * the kernel's default (no throttling), not a number. */
	if (cg->memory_max_set && cg->memory_high_set && cg->memory_high != POLICY_UNLIMITED &&
	    cg->memory_high > cg->memory_max) {
		char high[32], max[32];

		return pol_err_at(p, cg->loc_memory_high, "cgroup.memory.high",
				  "expected at most memory.max (%s), got %s",
				  policy_size_str(max, cg->memory_max),
				  policy_size_str(high, cg->memory_high));
	}
	return 0;
}
