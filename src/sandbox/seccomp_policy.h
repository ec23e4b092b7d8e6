/* seccomp_policy.h: the per-thread-kind allowlists (policies/seccomp/<kind>.yaml) as rules. */
#ifndef BULWARK_SECCOMP_POLICY_H
#define BULWARK_SECCOMP_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define SECCOMP_CONDS_MAX 3   /* argument conditions per rule, all of which must hold */
#define SECCOMP_RULES_MAX 128 /* rules per allowlist: a bound on what a file may ask for */
#define SECCOMP_ERR_MAX 256

/* One allowlist as the build embedded it (scripts/seccomp-embed writes the table). */
struct seccomp_text {
	const char *kind; /* the file's name without .yaml: "vmm", "vcpu", "virtio-blk", ... */
	const char *path; /* "policies/seccomp/<kind>.yaml", for messages */
	const char *text;
};

extern const struct seccomp_text seccomp_texts[];
extern const unsigned seccomp_ntexts;

enum seccomp_op {
	SECCOMP_EQ,
	SECCOMP_NE,
	SECCOMP_LT,
	SECCOMP_LE,
	SECCOMP_GT,
	SECCOMP_GE,
	SECCOMP_MASKED_EQ
};

struct seccomp_cond {
	unsigned arg; /* 0..5 */
	enum seccomp_op op;
	uint64_t value, mask; /* mask: SECCOMP_MASKED_EQ only */
	char shown[80];	      /* "arg1 & 0xffffffff == KVM_RUN", as the file wrote it */
};

/* A syscall allowed when all its conditions hold; a syscall listed twice is allowed when either
 * entry's conditions hold. */
struct seccomp_rule {
	int nr;
	char name[32];
	char why[160];
	unsigned ncond;
	struct seccomp_cond cond[SECCOMP_CONDS_MAX];
};

struct seccomp_list {
	struct seccomp_rule rule[SECCOMP_RULES_MAX];
	unsigned n;
	unsigned nsyscalls; /* distinct syscalls among the rules */
};

/*
 * Parses one allowlist: a mapping with the key "syscalls", a sequence of entries
 * {name, why, args: [{arg, op, value, mask}]}. Syscall names are resolved for x86_64, values may
 * be numbers or known constants joined by "|". Returns 0, or -1 with ERR
 * "PATH:LINE:COLUMN: what is wrong".
 */
int seccomp_list_parse(const char *path, const char *text, size_t len, struct seccomp_list *l,
		       char err[SECCOMP_ERR_MAX]);

/* The value of a constant an allowlist may name (KVM_RUN, FUTEX_WAKE_PRIVATE, ...): 0 or -1. */
int seccomp_constant(const char *name, uint64_t *value);

#endif
