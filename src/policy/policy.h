/* policy.h: a VM's security policy (YAML, see policies/) as bulwark enforces it, and its parser. */
#ifndef BULWARK_POLICY_H
#define BULWARK_POLICY_H

#include "config/config.h"
#include "policy/policy_network.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define POLICY_UNLIMITED UINT64_MAX /* "max" in a cgroup file or an rlimit */
#define POLICY_CPUSET_MAX 128
#define POLICY_CPU_NR_MAX 8192	      /* CONFIG_NR_CPUS at most: the largest cpu number + 1 */
#define POLICY_SIZE_MAX (1ULL << 50)  /* 1 PiB: a cgroup or rlimit size above is a typo */
#define POLICY_CPU_PERIOD_MIN_US 1000 /* the kernel's cpu.max bounds (1 ms .. 1 s) */
#define POLICY_CPU_PERIOD_MAX_US 1000000
#define POLICY_CPU_QUOTA_MAX_US ((1ULL << 44) - 1)
#define POLICY_NOFILE_MAX 1048576 /* fs.nr_open's default; RLIMIT_NOFILE cannot be unlimited */
#define POLICY_PIDS_MAX 4194304	  /* PID_MAX_LIMIT */
#define POLICY_ID_MAX 4294967294  /* (uid_t)-1 means "unchanged" to setresuid */

/* limits: what a VM config may ask for at most. */
struct policy_limits {
	unsigned vcpus_max;
	uint64_t memory_max; /* bytes of guest RAM */
	struct config_loc loc_vcpus_max, loc_memory_max;
};

/* cgroup: the VM's own cgroup v2, created under PARENT and removed on exit. A value left out of
 * the file is not written (the kernel's default stays); *_set says which were given. */
struct policy_cgroup {
	char *parent; /* absolute, under /sys/fs/cgroup; NULL: no cgroup */
	uint64_t memory_max, memory_high, memory_swap_max; /* bytes or POLICY_UNLIMITED */
	uint64_t cpu_quota_us, cpu_period_us;	 /* cpu.max "QUOTA PERIOD"; quota may be max */
	unsigned cpu_weight;			 /* 1..10000 */
	char cpuset_cpus[POLICY_CPUSET_MAX + 1]; /* cpuset.cpus as written, checked syntax */
	uint64_t pids_max;			 /* or POLICY_UNLIMITED */
	bool memory_max_set, memory_high_set, memory_swap_max_set, cpu_max_set, cpu_weight_set,
	    cpuset_cpus_set, pids_max_set;
	struct config_loc loc; /* the cgroup: section's value; line 0: no cgroup section */
	/* Where each value stood (line 0: absent), for the parser and messages. */
	struct config_loc loc_parent, loc_memory_max, loc_memory_high, loc_memory_swap_max,
	    loc_cpu_max, loc_cpu_weight, loc_cpuset_cpus, loc_pids_max;
};

enum policy_seccomp_mode {
	POLICY_SECCOMP_KILL, /* a syscall off the allowlist kills the process (default) */
	POLICY_SECCOMP_LOG,  /* it is reported and allowed: for writing allowlists */
};

/* Namespaces to unshare (bit set). */
enum policy_ns {
	POLICY_NS_MOUNT = 1 << 0,
	POLICY_NS_PID = 1 << 1,
	POLICY_NS_IPC = 1 << 2,
	POLICY_NS_UTS = 1 << 3,
	POLICY_NS_NET = 1 << 4,
};

enum policy_rlimit {
	POLICY_RLIMIT_NOFILE,
	POLICY_RLIMIT_FSIZE,
	POLICY_RLIMIT_MEMLOCK,
	POLICY_RLIMIT_CORE,
	POLICY_RLIMITS
};

/*
 * sandbox: how the process confines itself when started as root. loc.line 0: no sandbox section
 * (no jail, no namespaces, no rlimits, no uid change; seccomp stays kill).
 *
 * jail: "tmpfs" in the file sets jail_tmpfs (jail stays NULL): a fresh empty tmpfs mounted in
 * the new mount namespace, pivot_root'ed into; everything the VM needs is opened before. Any
 * other value is an absolute directory. A jail of either kind requires the mount namespace (the
 * parser refuses one without it), so pivot_root never touches the host's mount table.
 */
struct policy_sandbox {
	bool ids_set; /* uid and gid given (both or neither) */
	uid_t uid;
	gid_t gid;
	char *jail;			 /* absolute directory to pivot_root into; NULL: no jail */
	bool jail_tmpfs;		 /* jail: tmpfs, a fresh empty tmpfs; jail is NULL then */
	unsigned namespaces;		 /* enum policy_ns bits */
	uint64_t rlimit[POLICY_RLIMITS]; /* POLICY_UNLIMITED or a value; applied when *_set */
	bool rlimit_set[POLICY_RLIMITS]; /* nofile is a count, the others bytes */
	enum policy_seccomp_mode seccomp;
	struct config_loc loc;
	struct config_loc loc_uid, loc_gid, loc_jail, loc_namespaces, loc_rlimits, loc_seccomp;
	struct config_loc loc_rlimit[POLICY_RLIMITS];
};

/* Names as the file spells them, indexed by bit number / enum value (for messages, printing). */
extern const char *const policy_ns_names[];
extern const char *const policy_rlimit_names[];

struct policy {
	char *path; /* the file as named, or "<built-in default>" */
	struct policy_limits limits;
	struct policy_cgroup cgroup;
	struct policy_sandbox sandbox;
	struct policy_network network;
	struct config_loc loc_limits, loc_cgroup, loc_sandbox, loc_network;
};

/* Parses the policy file PATH into P. Returns 0, or -1 with ERR "FILE:LINE:COLUMN: field: ...". */
int policy_load(const char *path, struct policy *p, struct bw_error *err);

/* Same, from a buffer; PATH names it in messages and anchors relative paths. */
int policy_parse(const char *path, const char *text, size_t len, struct policy *p,
		 struct bw_error *err);

#define POLICY_BUILTIN_NAME "<built-in default>" /* the default's path in messages */

/*
 * The built-in strict default (policies/default.yaml, compiled in), for a config naming none.
 * In policy_builtin.c, alone with the generated text: linking the parser does not need it.
 */
int policy_load_default(struct policy *p, struct bw_error *err);

/*
 * Whether CFG stays within P's limits. Returns 0, or -1 with ERR naming the config's field (at
 * its file:line:column), the limit and by how much it is exceeded. Also refused: a pids.max
 * below the VM's threads (at the policy's value), a NIC outside the policy's segments.
 */
int policy_check_vm(const struct policy *p, const struct vm_config *cfg, struct bw_error *err);

void policy_free(struct policy *p);

/* Writes P as `bulwark policy check` shows it: one line per setting, absent ones said so. */
void policy_print(const struct policy *p, FILE *out);

/* BYTES as "N GiB", "N MiB", "N KiB" (the largest exact unit) or "N bytes", into BUF. */
const char *policy_size_str(char buf[32], uint64_t bytes);

#endif
