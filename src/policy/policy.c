/* policy.c: a policy file (YAML) into struct policy, and a VM config checked against it. */
#include "policy/policy.h"
#include "policy/policy_parse.h"

#include <stdlib.h>
#include <string.h>

static int parse_vcpus_max(struct cy_parser *p, const struct cy_key *k, const char *field,
			   yaml_node_t *n, void *base)
{
	uint64_t v = 0;

	if (pol_number(p, n, field, k->expect, 1, CONFIG_VCPUS_MAX, false, &v))
		return -1;
	*(unsigned *)cy_field(base, k) = (unsigned)v;
	return 0;
}

static int parse_memory_max(struct cy_parser *p, const struct cy_key *k, const char *field,
			    yaml_node_t *n, void *base)
{
	return pol_size(p, n, field, k->expect, CONFIG_MEMORY_MIN, CONFIG_MEMORY_MAX, false,
			cy_field(base, k));
}

#define LIMIT_KEY(...) CY_KEY(struct policy_limits, __VA_ARGS__)

static const struct cy_key limit_keys[] = {
    LIMIT_KEY(vcpus_max, true, parse_vcpus_max,
	      "expected an integer from 1 to " CY_STR(CONFIG_VCPUS_MAX)),
    LIMIT_KEY(memory_max, true, parse_memory_max,
	      "expected a size from 16MiB to 1024GiB (an integer with KiB, MiB or GiB)"),
};

static const struct cy_table limit_table = {limit_keys, ARRAY_SIZE(limit_keys), 0, 0};

static int parse_limits(struct cy_parser *p, const struct cy_key *k, const char *field,
			yaml_node_t *n, void *base)
{
	return cy_mapping(p, n, field, &limit_table, cy_field(base, k));
}

/* A section: its struct is the value of key K; its loc is the section's own. */
#define SECTION(name, req, fn, what)                                                               \
	{                                                                                          \
#name, what, fn, offsetof(struct policy, name),                                    \
		    offsetof(struct policy, loc_##name), req                                       \
	}

static const struct cy_key keys[] = {
    SECTION(limits, true, parse_limits, "expected a mapping"),
    SECTION(cgroup, false, policy_parse_cgroup, "expected a mapping"),
    SECTION(sandbox, false, policy_parse_sandbox, "expected a mapping"),
    SECTION(network, false, policy_parse_network, "expected a mapping"),
};

static const struct cy_table root_table = {keys, ARRAY_SIZE(keys), 0, 0};

int policy_parse(const char *path, const char *text, size_t len, struct policy *pol,
		 struct bw_error *err)
{
	struct cy_parser p;
	struct policy c = {0};
	yaml_node_t *root = cy_open(&p, path, text, len, err);
	int rc = root ? cy_mapping(&p, root, NULL, &root_table, &c) : -1;

	if (rc == 0 && !(c.path = strdup(p.file)))
		rc = cy_err(&p, (yaml_mark_t){0}, "file", "out of memory");
	cy_close(&p);
	memset(pol, 0, sizeof(*pol));
	if (rc) {
		policy_free(&c);
		return -1;
	}
	*pol = c;
	return 0;
}

int policy_load(const char *path, struct policy *pol, struct bw_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(pol, 0, sizeof(*pol));
	if (cy_read_file(path, &buf, &len, err))
		return -1;
	rc = policy_parse(path, buf, len, pol, err);
	free(buf);
	return rc;
}

/* "(FILE:LINE:COLUMN)" of the policy's value, for a refusal written at the config's position. */
static const char *policy_at(char *buf, size_t cap, const struct policy *pol, struct config_loc l)
{
	snprintf(buf, cap, "%s:%u:%u", pol->path ? pol->path : POLICY_BUILTIN_NAME, l.line,
		 l.column);
	return buf;
}

/*
 * pids.max counts threads: one that cannot hold the VM's fails pthread_create() mid-setup. The
 * count is a floor (main thread, one per vCPU, one per device), so a refusal here is certain.
 */
static int check_threads(const struct policy *pol, const struct vm_config *cfg,
			 struct bw_error *err)
{
	const struct policy_cgroup *cg = &pol->cgroup;
	unsigned devices = cfg->ndisks + cfg->nnics + (cfg->rng ? 1 : 0);
	uint64_t need = 1 + (uint64_t)cfg->vcpus + devices;

	if (!cg->parent || !cg->pids_max_set || cg->pids_max >= need)
		return 0;
	config_errorf(err, pol->path, cg->loc_pids_max, "cgroup.pids.max",
		      "%llu is below the %llu threads %s needs (the main thread, %u vCPUs, %u "
		      "devices)",
		      (unsigned long long)cg->pids_max, (unsigned long long)need, cfg->path,
		      cfg->vcpus, devices);
	return -1;
}

int policy_check_vm(const struct policy *pol, const struct vm_config *cfg, struct bw_error *err)
{
	const struct policy_limits *l = &pol->limits;
	char at[320], want[32], max[32], over[32];

	if (cfg->vcpus > l->vcpus_max) {
		config_errorf(err, cfg->path, cfg->loc_vcpus, "vcpus",
			      "%u exceeds the policy's limits.vcpus_max (%u) by %u (%s)",
			      cfg->vcpus, l->vcpus_max, cfg->vcpus - l->vcpus_max,
			      policy_at(at, sizeof(at), pol, l->loc_vcpus_max));
		return -1;
	}
	if (cfg->memory > l->memory_max) {
		config_errorf(err, cfg->path, cfg->loc_memory, "memory",
			      "%s exceeds the policy's limits.memory_max (%s) by %s (%s)",
			      policy_size_str(want, cfg->memory),
			      policy_size_str(max, l->memory_max),
			      policy_size_str(over, cfg->memory - l->memory_max),
			      policy_at(at, sizeof(at), pol, l->loc_memory_max));
		return -1;
	}
	if (check_threads(pol, cfg, err))
		return -1;
	return policy_check_nics(&pol->network, pol->path ? pol->path : POLICY_BUILTIN_NAME, cfg,
				 err);
}

void policy_free(struct policy *pol)
{
	free(pol->path);
	free(pol->cgroup.parent);
	policy_sandbox_free(&pol->sandbox);
	memset(pol, 0, sizeof(*pol));
}
