/* jail_supervisor.h: the process that stays outside the jail: waits, forwards, reports, cleans up.
 */
#ifndef BULWARK_JAIL_SUPERVISOR_H
#define BULWARK_JAIL_SUPERVISOR_H

#include "policy/policy.h"
#include "sandbox/cgroup.h"

#include <signal.h>
#include <sys/types.h>

/* The signals the supervisor waits for: the ones it forwards, and SIGCHLD. */
void supervisor_signals(sigset_t *set);

/* Waits for CHILD (the VMM) with SIGNALS blocked, forwarding SIGTERM, SIGINT and SIGHUP to it;
 * reports how it ended, removes CG (PC gave its values) and returns bulwark's exit status: the
 * VMM's own, or EXIT_RUNTIME when a signal or the OOM killer ended it. */
int supervise(pid_t child, struct cgroup *cg, const struct policy_cgroup *pc,
	      const sigset_t *signals);

/* The verdict on a wait status: logs one line and returns the exit status. OOM_KILLS is the
 * cgroup's count (negative when unknown), MEMORY_MAX the limit to name. Split out for tests. */
int supervisor_verdict(pid_t child, int status, long long oom_kills, const char *memory_max);

#endif
