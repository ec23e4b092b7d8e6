/* policy.h: a VM's security policy (YAML, see policies/) as bulwark enforces it, and its parser. */
#ifndef BULWARK_POLICY_H
#define BULWARK_POLICY_H

#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define POLICY_UNLIMITED UINT64_MAX /* "max" in a cgroup file or an rlimit */
#define POLICY_CPUSET_MAX 128

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
	struct config_loc loc; /* the cgroup: key, for messages */
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

/* sandbox: how the process confines itself when started as root. */
struct policy_sandbox {
	bool ids_set; /* uid and gid given (both or neither) */
	uid_t uid;
	gid_t gid;
	char *jail;			 /* absolute directory to pivot_root into; NULL: no jail */
	unsigned namespaces;		 /* enum policy_ns bits */
	uint64_t rlimit[POLICY_RLIMITS]; /* POLICY_UNLIMITED or a value; applied when *_set */
	bool rlimit_set[POLICY_RLIMITS];
	enum policy_seccomp_mode seccomp;
	struct config_loc loc;
};

struct policy {
	char *path; /* the file as named, or "<built-in default>" */
	struct policy_limits limits;
	struct policy_cgroup cgroup;
	struct policy_sandbox sandbox;
	/* network: parsed by policy_network.c once the segmentation issue lands. */
};

/* Parses the policy file PATH into P. Returns 0, or -1 with ERR "FILE:LINE:COLUMN: field: ...". */
int policy_load(const char *path, struct policy *p, struct config_error *err);

/* Same, from a buffer; PATH names it in messages and anchors relative paths. */
int policy_parse(const char *path, const char *text, size_t len, struct policy *p,
		 struct config_error *err);

/* The built-in strict default (policies/default.yaml, compiled in), for a config naming none. */
int policy_load_default(struct policy *p, struct config_error *err);

/* Whether CFG stays within P's limits. Returns 0, or -1 with ERR naming the config's field (at
 * its file:line:column), the limit and by how much it is exceeded. */
int policy_check_vm(const struct policy *p, const struct vm_config *cfg, struct config_error *err);

void policy_free(struct policy *p);

#endif
