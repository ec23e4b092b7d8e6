/* cgroup_delegate.h: bulwark inside a cgroup systemd delegated to it: supervisor/ and vm/ leaves. */
#ifndef BULWARK_CGROUP_DELEGATE_H
#define BULWARK_CGROUP_DELEGATE_H

#include "sandbox/cgroup_host.h"

#include <stdbool.h>
#include <stddef.h>

/* The two leaves bulwark makes in a delegated cgroup. Fixed names: no VM name can collide with
 * the supervisor's, and a test or an operator knows where to look. */
#define CGROUP_DELEGATE_SUPERVISOR "supervisor"
#define CGROUP_DELEGATE_VM "vm"

/*
 * Whether the delegated cgroup D offers (its cgroup.controllers) every controller in NEED, writing
 * nothing. Returns 0, or -1 with PB naming the first missing controller, D and the fix.
 */
int cgroup_delegate_check(const char *d, unsigned need, struct cgroup_problem *pb);

/*
 * Makes D ready for the VM's cgroup D/vm: checks that D offers NEED, then moves the calling
 * process into D/supervisor (made when missing), since cgroup v2 lets a cgroup hand controllers
 * to its children only while it holds no process itself. D's cgroup.subtree_control is then
 * cgroup_create()'s to write, as for any parent. Writes nothing else of D's and nothing above
 * it. Returns 0, or -1 with PB saying which step failed and the fix (another process left in D,
 * say).
 */
int cgroup_delegate_enter(const char *d, unsigned need, struct cgroup_problem *pb);

/*
 * For H's CGROUP_MODE_DELEGATED and CGROUP_MODE_SCOPE. APPLY false checks, writing nothing: that
 * the delegated cgroup offers NEED (a scope does not exist yet: systemd's answer and the scope's
 * controllers are checked when it does). APPLY true, for a scope, first asks systemd for
 * bulwark-NAME.scope with this process in it and reads H again; then cgroup_delegate_enter().
 * The delegated cgroup's path goes into D. Returns 0, or -1 with PB saying why and the fix.
 */
int cgroup_delegate_prepare(struct cgroup_host *h, const char *name, unsigned need, bool apply,
			    char *d, size_t size, struct cgroup_problem *pb);

#endif
