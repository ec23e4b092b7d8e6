/* policy_parse.h: what the policy_*.c parsers share: value forms and the sections' entry points. */
#ifndef BULWARK_POLICY_PARSE_H
#define BULWARK_POLICY_PARSE_H

#include "config/config_yaml.h"
#include "policy/policy.h"
#include "util/bytes.h"

/*
 * A plain decimal integer from MIN to MAX, or, when MAX_OK, the word max (POLICY_UNLIMITED).
 * Any other form or value: "FIELD: EXPECT, got ...".
 */
int pol_number(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect,
	       uint64_t min, uint64_t max, bool max_ok, uint64_t *out);

/* A size as the VM config writes memory (N KiB/MiB/GiB), or 0, from MIN to MAX bytes; or max. */
int pol_size(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect,
	     uint64_t min, uint64_t max, bool max_ok, uint64_t *out);

/* Calls ITEM for each scalar of sequence N (at most MAX, "FIELD[i]" in messages). */
int pol_list(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect,
	     unsigned max,
	     int (*item)(struct cy_parser *p, yaml_node_t *n, const char *field, unsigned i,
			 void *ctx),
	     void *ctx);

/* An absolute path with printable ASCII, no empty, . or .. components, not /; malloc'ed. */
int pol_abs_path(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect,
		 const char *prefix, char **out);

/* Refusal at loc L of the file being parsed ("FILE:L: FIELD: ..."); returns -1. */
int pol_err_at(struct cy_parser *p, struct config_loc l, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The sections: cy_key parse functions on the struct policy at BASE. */
int policy_parse_cgroup(struct cy_parser *p, const struct cy_key *k, const char *field,
			yaml_node_t *n, void *base);
int policy_parse_sandbox(struct cy_parser *p, const struct cy_key *k, const char *field,
			 yaml_node_t *n, void *base);
int policy_parse_network(struct cy_parser *p, const struct cy_key *k, const char *field,
			 yaml_node_t *n, void *base);

void policy_sandbox_free(struct policy_sandbox *s);

#endif
