/* policy_sandbox.c: the policy's sandbox: section: ids, jail, namespaces, rlimits, seccomp mode. */
#include "policy/policy_parse.h"

#include <stdlib.h>
#include <string.h>

const char *const policy_ns_names[] = {"mount", "pid", "ipc", "uts", "net", NULL};
const char *const policy_rlimit_names[] = {"nofile", "fsize", "memlock", "core", NULL};

_Static_assert(sizeof(uid_t) == sizeof(uint32_t) && sizeof(gid_t) == sizeof(uint32_t),
	       "ids are stored as 32-bit values");

static int parse_id(struct cy_parser *p, const struct cy_key *k, const char *field, yaml_node_t *n,
		    void *base)
{
	uint64_t v = 0;

	if (pol_number(p, n, field, k->expect, 0, POLICY_ID_MAX, false, &v))
		return -1;
	*(uint32_t *)cy_field(base, k) = (uint32_t)v;
	return 0;
}

static int parse_jail(struct cy_parser *p, const struct cy_key *k, const char *field,
		      yaml_node_t *n, void *base)
{
	struct policy_sandbox *sb = base;

	if (n->type == YAML_SCALAR_NODE &&
	    cy_is_one_of((const char *)n->data.scalar.value, n->data.scalar.length,
			 (const char *const[]){"tmpfs", NULL})) {
		sb->jail_tmpfs = true;
		return 0;
	}
	return pol_abs_path(p, n, field, k->expect, "", &sb->jail);
}

static int one_namespace(struct cy_parser *p, yaml_node_t *n, const char *field, unsigned i,
			 void *ctx)
{
	static const char expect[] = "expected one of mount, pid, ipc, uts, net";
	struct policy_sandbox *sb = ctx;
	const char *s = NULL;
	size_t len = 0;

	(void)i;
	if (cy_scalar(p, n, field, expect, true, &s, &len))
		return -1;
	for (unsigned b = 0; policy_ns_names[b]; b++) {
		if (!cy_is_one_of(s, len, (const char *const[]){policy_ns_names[b], NULL}))
			continue;
		if (sb->namespaces & (1u << b))
			return cy_err(p, n->start_mark, field,
				      "expected each namespace once, got %s again",
				      policy_ns_names[b]);
		sb->namespaces |= 1u << b;
		return 0;
	}
	return cy_bad(p, n, field, expect, s, len);
}

static int parse_namespaces(struct cy_parser *p, const struct cy_key *k, const char *field,
			    yaml_node_t *n, void *base)
{
	return pol_list(p, n, field, k->expect, 5, one_namespace, base);
}

static int parse_seccomp(struct cy_parser *p, const struct cy_key *k, const char *field,
			 yaml_node_t *n, void *base)
{
	const char *s = NULL;
	size_t len = 0;

	if (cy_scalar(p, n, field, k->expect, true, &s, &len))
		return -1;
	if (!cy_is_one_of(s, len, (const char *const[]){"kill", "log", NULL}))
		return cy_bad(p, n, field, k->expect, s, len);
	*(enum policy_seccomp_mode *)cy_field(base, k) =
	    s[0] == 'k' ? POLICY_SECCOMP_KILL : POLICY_SECCOMP_LOG;
	return 0;
}

/* RLIMIT_NOFILE above fs.nr_open fails with EPERM, so it has no max. */
static int parse_nofile(struct cy_parser *p, const struct cy_key *k, const char *field,
			yaml_node_t *n, void *base)
{
	return pol_number(p, n, field, k->expect, 1, POLICY_NOFILE_MAX, false, cy_field(base, k));
}

static int parse_rlimit_size(struct cy_parser *p, const struct cy_key *k, const char *field,
			     yaml_node_t *n, void *base)
{
	return pol_size(p, n, field, k->expect, 0, POLICY_SIZE_MAX, true, cy_field(base, k));
}

/* Keys are the lower-case names of RLIMIT_*, values go to rlimit[POLICY_RLIMIT_*]. */
#define RL_KEY(name, NAME, fn, what)                                                               \
	{                                                                                          \
#name, what, fn, offsetof(struct policy_sandbox, rlimit[POLICY_RLIMIT_##NAME]),    \
		    offsetof(struct policy_sandbox, loc_rlimit[POLICY_RLIMIT_##NAME]), false       \
	}
#define RL_SIZE "expected a size (an integer with KiB, MiB or GiB, or 0) up to 1048576GiB, or max"

static const struct cy_key rlimit_keys[] = {
    RL_KEY(nofile, NOFILE, parse_nofile,
	   "expected an integer from 1 to " CY_STR(POLICY_NOFILE_MAX)),
    RL_KEY(fsize, FSIZE, parse_rlimit_size, RL_SIZE),
    RL_KEY(memlock, MEMLOCK, parse_rlimit_size, RL_SIZE),
    RL_KEY(core, CORE, parse_rlimit_size, RL_SIZE),
};

static const struct cy_table rlimit_table = {rlimit_keys, ARRAY_SIZE(rlimit_keys), 0, 0};

static int parse_rlimits(struct cy_parser *p, const struct cy_key *k, const char *field,
			 yaml_node_t *n, void *base)
{
	struct policy_sandbox *sb = base;

	(void)k;
	if (cy_mapping(p, n, field, &rlimit_table, sb))
		return -1;
	for (unsigned i = 0; i < POLICY_RLIMITS; i++)
		sb->rlimit_set[i] = sb->loc_rlimit[i].line != 0;
	return 0;
}

#define SB_KEY(...) CY_KEY(struct policy_sandbox, __VA_ARGS__)

static const struct cy_key sandbox_keys[] = {
    SB_KEY(uid, false, parse_id, "expected an integer from 0 to " CY_STR(POLICY_ID_MAX)),
    SB_KEY(gid, false, parse_id, "expected an integer from 0 to " CY_STR(POLICY_ID_MAX)),
    SB_KEY(jail, false, parse_jail,
	   "expected tmpfs or an absolute directory other than / (printable ASCII, no spaces, no "
	   ". or .. components)"),
    SB_KEY(namespaces, false, parse_namespaces,
	   "expected a sequence of namespaces from mount, pid, ipc, uts, net"),
    /* Fills rlimit[] and rlimit_set[] itself. */
    {"rlimits", "expected a mapping", parse_rlimits, offsetof(struct policy_sandbox, rlimit),
     offsetof(struct policy_sandbox, loc_rlimits), false},
    SB_KEY(seccomp, false, parse_seccomp, "expected kill or log"),
};

static const struct cy_table sandbox_table = {sandbox_keys, ARRAY_SIZE(sandbox_keys), 0, 0};

int policy_parse_sandbox(struct cy_parser *p, const struct cy_key *k, const char *field,
			 yaml_node_t *n, void *base)
{
	struct policy_sandbox *sb = cy_field(base, k);

	if (cy_mapping(p, n, field, &sandbox_table, sb))
		return -1;
	sb->loc = cy_loc(n->start_mark);
	/* Half an identity would leave the other at root's: both or neither. */
	if (!sb->loc_uid.line != !sb->loc_gid.line)
		return pol_err_at(p, sb->loc_uid.line ? sb->loc_uid : sb->loc_gid,
				  sb->loc_uid.line ? "sandbox.uid" : "sandbox.gid",
				  "expected uid and gid together (both or neither), got only %s",
				  sb->loc_uid.line ? "uid" : "gid");
	sb->ids_set = sb->loc_uid.line != 0;
	if ((sb->jail || sb->jail_tmpfs) && !(sb->namespaces & POLICY_NS_MOUNT))
		return pol_err_at(
		    p, sb->loc_jail, "sandbox.jail",
		    "a jail needs the mount namespace: add mount to sandbox.namespaces");
	return 0;
}

void policy_sandbox_free(struct policy_sandbox *s)
{
	free(s->jail);
	s->jail = NULL;
}
