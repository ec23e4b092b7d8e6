/* cgroup.h: the VM's own cgroup v2: created with the policy's values, entered, watched, removed. */
#ifndef BULWARK_CGROUP_H
#define BULWARK_CGROUP_H

#include "policy/policy.h"
#include "util/error.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cgroup {
	bool created;	     /* we made the directory: cgroup_remove() takes it away */
	char path[PATH_MAX]; /* PARENT/NAME; "" when there is none */
};

/* Writes VALUE to DIR/FILE in one write(2), as the kernel wants cgroup files written. Returns 0
 * or -errno. */
int cgroup_write(const char *dir, const char *file, const char *value);

/* Reads DIR/FILE (at most SIZE - 1 bytes) into BUF as a string. Returns 0 or -errno. */
int cgroup_read(const char *dir, const char *file, char *buf, size_t size);

/* Whether the space-separated LIST (a cgroup.controllers or subtree_control) names WORD. */
bool cgroup_has_word(const char *list, const char *word);

/* Formats V as a cgroup file wants it: "max" for POLICY_UNLIMITED, else the number. */
void cgroup_format(uint64_t v, char *buf, size_t size);

/*
 * Creates PC->parent/NAME for the VM: enables in the parent's cgroup.subtree_control the
 * controllers PC's values need, makes the directory (an empty one left by an earlier run is
 * replaced) and writes each value PC gives. Returns 0, or -errno with ERR naming the step and
 * the path that failed; CG then holds what was made, for cgroup_remove().
 */
int cgroup_create(struct cgroup *cg, const struct policy_cgroup *pc, const char *name,
		  struct bw_error *err);

/* Moves the calling process into CG. Returns 0, or -errno with ERR saying why. */
int cgroup_enter(const struct cgroup *cg, struct bw_error *err);

/* How many processes of CG the OOM killer killed (memory.events oom_kill), or -errno. */
long long cgroup_oom_kills(const struct cgroup *cg);

/* Removes CG once its processes are gone, waiting up to a second for the kernel to let go of a
 * process that just exited. Returns 0 or -errno, logged: it runs after the VM, in the supervisor,
 * whose verdict it changes. */
int cgroup_remove(struct cgroup *cg);

#endif
