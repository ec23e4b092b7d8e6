/* cgroup_host.h: the host's cgroups as bulwark meets them: layout, cgroup2's mount, who may write.
 */
#ifndef BULWARK_CGROUP_HOST_H
#define BULWARK_CGROUP_HOST_H

#include "policy/policy.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* Told apart by statfs as crun and runc do. */
enum cgroup_layout {
	CGROUP_LAYOUT_UNIFIED, /* cgroup2 at /sys/fs/cgroup */
	CGROUP_LAYOUT_HYBRID,  /* v1 hierarchies in a tmpfs, cgroup2 at /sys/fs/cgroup/unified */
	CGROUP_LAYOUT_LEGACY,  /* v1 hierarchies only */
	CGROUP_LAYOUT_NONE,    /* no cgroup file system at /sys/fs/cgroup */
};

/* The controllers a policy's keys need (bit set). */
enum cgroup_controller {
	CGROUP_CPUSET = 1 << 0,
	CGROUP_CPU = 1 << 1,
	CGROUP_MEMORY = 1 << 2,
	CGROUP_PIDS = 1 << 3,
};

/* Where the host's cgroup facts are read from; tests point these at a fake tree. */
struct cgroup_host_paths {
	const char *fs_cgroup;	 /* "/sys/fs/cgroup": where policies name their parents */
	const char *mountinfo;	 /* "/proc/self/mountinfo" */
	const char *systemd;	 /* "/run/systemd/system": exists when systemd is the manager */
	const char *self_netns;	 /* "/proc/self/ns/net" */
	const char *init_netns;	 /* "/proc/1/ns/net" */
	const char *self_cgroup; /* "/proc/self/cgroup": its "0::/PATH" line is bulwark's cgroup */
};

extern const struct cgroup_host_paths cgroup_host_paths_default;

struct cgroup_host {
	const struct cgroup_host_paths *paths;
	enum cgroup_layout layout;
	char cgroup2[PATH_MAX]; /* cgroup2's mount point; "" when none is mounted */
	bool fresh_sysfs;	/* /sys/fs/cgroup is a plain sysfs directory (sysfs mounted anew) */
	bool own_netns;		/* not in pid 1's network namespace */
	bool systemd;		/* systemd manages the tree: its single-writer rule holds */
	char own[PATH_MAX];	/* bulwark's own cgroup2 directory; "" when not to be found */
	bool delegated;		/* OWN carries trusted.delegate or user.delegate = "1" */
};

/* Where the VM's cgroup goes, as the host decides. */
enum cgroup_mode {
	CGROUP_MODE_PARENT,    /* no systemd: under the policy's parent, which bulwark manages */
	CGROUP_MODE_DELEGATED, /* in OWN, which systemd delegated: OWN/supervisor and OWN/vm */
	CGROUP_MODE_SCOPE,     /* systemd, OWN not delegated: a transient scope first, then as in
				* a delegated one */
};

/* What stands in the way, and what to do about it: for `host check` and run's refusals. */
struct cgroup_problem {
	char why[512];
	char fix[512];
};

/* Reads the layout, cgroup2's mount point (/proc/self/mountinfo), the manager and bulwark's own
 * cgroup (/proc/self/cgroup) with whether it was delegated. */
void cgroup_host_probe(struct cgroup_host *h, const struct cgroup_host_paths *paths);

const char *cgroup_layout_name(enum cgroup_layout layout);

/* Which mode H calls for: a cgroup delegated to bulwark wins (systemd's rules say the delegated
 * subtree is the delegatee's to manage), then systemd (which bulwark asks for a delegated scope),
 * else the policy's parent. */
enum cgroup_mode cgroup_host_mode(const struct cgroup_host *h);

/* The controllers PC's keys need; their names, joined by spaces, into BUF. */
unsigned cgroup_controllers_needed(const struct policy_cgroup *pc);
const char *cgroup_controller_names(unsigned set, char *buf, size_t size);
/* The policy keys that need the one controller BIT: "cpu.max and cpu.weight". */
const char *cgroup_controller_keys(unsigned bit);

/*
 * The policy's PARENT ("/sys/fs/cgroup/..." as the file says) as a path in this host's cgroup2
 * (mounted elsewhere, it moves along) into OUT. Returns 0, or -1 with PB saying why not: a
 * hybrid or legacy layout, no cgroup2 at all, sysfs remounted by `ip netns exec`.
 */
int cgroup_host_resolve(const struct cgroup_host *h, const char *parent, char *out, size_t size,
			struct cgroup_problem *pb);

/*
 * Makes NEED available to the children of PARENT (a resolved path): each controller must be in
 * the cgroup.subtree_control of every cgroup from cgroup2's root down to PARENT's own parent
 * (PARENT's own is cgroup_create()'s to write). Where one is missing, it is enabled when bulwark
 * may write there: anywhere on a host without systemd, and within a subtree systemd delegated
 * (the trusted.delegate or user.delegate xattr) on one with it; never in a cgroup holding
 * processes. APPLY false only checks. A missing PARENT is fine when its own parent exists.
 * Returns 0 (DONE, when not NULL, lists what was or would be enabled), or -1 with PB filled.
 */
int cgroup_host_prepare(const struct cgroup_host *h, const char *parent, unsigned need, bool apply,
			char *done, size_t done_size, struct cgroup_problem *pb);

#endif
