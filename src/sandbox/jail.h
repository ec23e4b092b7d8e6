/* jail.h: confining the VMM per the policy: rlimits, its cgroup, namespaces, pivot_root, ids. */
#ifndef BULWARK_JAIL_H
#define BULWARK_JAIL_H

#include "config/config.h"
#include "policy/policy.h"

#include <stdbool.h>

/* The namespaces a policy may name, in the order the jail unshares them (pid last: it takes a
 * fork to enter). FLAG is unshare(2)'s. */
#define JAIL_NAMESPACES 5
struct jail_ns {
	unsigned bit; /* enum policy_ns */
	int flag;
	const char *name;
};
extern const struct jail_ns jail_namespaces[JAIL_NAMESPACES];

/* Whether P's cgroup and sandbox sections hang together (a jail directory needs the mount
 * namespace, say). Returns 0, or -1 with ERR naming the policy's field (exit 2). */
int jail_check(const struct policy *p, struct bw_error *err);

/*
 * As root with a cgroup section, where the VM's cgroup goes (cgroup_host_mode()). APPLY false,
 * before anything is opened, writes nothing: without systemd it finds P's cgroup parent in this
 * host's cgroup2 (through /proc/self/mountinfo; P's parent becomes that path) and checks that the
 * controllers its keys need can be had there; in a cgroup systemd delegated to bulwark, that it
 * offers them. APPLY true, just before the jail: without systemd it enables them along the path
 * where bulwark may write. Under systemd it first asks for a transient scope bulwark-NAME.scope
 * with Delegate=yes when bulwark's cgroup is not delegated, then moves this process into the
 * delegated cgroup's supervisor/ and enables the controllers there: P's parent becomes the
 * delegated cgroup and *NAME (the VM's name coming in) "vm", the VM's cgroup in it. A host it
 * cannot use (hybrid or legacy cgroups, no cgroup2, a controller not to be had, no answer from
 * systemd) is refused: -1 with ERR (BW_ERR_HOST) saying the cause and the fix. Returns 0
 * otherwise, and for another user or a policy without cgroup.
 */
int jail_prepare_cgroup(struct policy *p, const char **name, bool apply, struct bw_error *err);

/* Whether P asks for anything only root can do: a cgroup, namespaces, a jail, ids. */
bool jail_confines(const struct policy *p);

/* Applies the rlimits SB sets, soft and hard alike. Returns 0, or -errno with ERR naming which. */
int jail_set_rlimits(const struct policy_sandbox *sb, struct bw_error *err);

/* Makes DIR, or with DIR NULL a fresh empty tmpfs, the root of this process's own mount
 * namespace: pivot_root, the host's root unmounted, the jail read-only. Returns 0, or -errno with
 * STEP naming what failed. Logs nothing (`host check` tries it in a throw-away child). */
int jail_pivot(const char *dir, const char **step);

/* setgroups(0), setresgid(GID), setresuid(UID), then checked. Returns 0 or -errno with STEP. */
int jail_drop_ids(uid_t uid, gid_t gid, const char **step);

/*
 * Confines this process per P, between opening every host resource and creating the VM (KVM
 * binds a VM to the process that creates it, and the jail may fork). As root with a sandbox or
 * cgroup section: rlimits, the VM's cgroup NAME under the policy's parent, the namespaces (a
 * supervisor stays outside: it forwards SIGTERM/SIGINT/SIGHUP, reports how the VMM ended and
 * removes the cgroup), pivot_root into the jail, then the policy's gid and uid. As another user:
 * the rlimits only, and one log line saying so. The supervisor calls RELEASE(ARG) first thing,
 * to drop its copies of the VM's resources.
 *
 * Returns JAIL_VMM in the process that goes on to create and run the VM; JAIL_SUPERVISOR in the
 * supervisor once the VMM ended, with *VERDICT its exit status (1 when a signal or the OOM
 * killer ended it); JAIL_FAILED after a failed step, ERR naming the step and the path. A VMM
 * whose step failed after the fork returns JAIL_FAILED too: its exit is its supervisor's verdict.
 */
enum jail_side { JAIL_FAILED = -1, JAIL_VMM = 0, JAIL_SUPERVISOR = 1 };
int jail_enter(const struct policy *p, const char *name, void (*release)(void *), void *arg,
	       int *verdict, struct bw_error *err);

#endif
