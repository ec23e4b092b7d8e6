/* cgroup_scope.h: a transient scope with Delegate=yes, asked of systemd over D-Bus (sd-bus). */
#ifndef BULWARK_CGROUP_SCOPE_H
#define BULWARK_CGROUP_SCOPE_H

#include "sandbox/cgroup_host.h"

#include <stdint.h>
#include <sys/types.h>

/* How long systemd gets to start the scope (its job to finish), as systemd-run waits too. */
#define CGROUP_SCOPE_TIMEOUT_MS 10000

/* What bulwark asks systemd for: `systemd-run --scope -p Delegate=yes` over D-Bus. */
struct cgroup_scope_request {
	char unit[256];	       /* "bulwark-NAME.scope", NAME escaped where unit names need it */
	char description[160]; /* "bulwark VM NAME" */
	uint32_t pid;	       /* the one process the scope starts with */
};

/* Fills REQ for the VM NAME and the process PID. Returns 0, or -1 when NAME makes the unit's name
 * too long for systemd. Bytes outside [a-zA-Z0-9:_.-] are written \xHH, as systemd escapes them. */
int cgroup_scope_request(const char *name, pid_t pid, struct cgroup_scope_request *req);

/*
 * Asks systemd to start REQ's scope (StartTransientUnit, mode "fail", with Description, PIDs,
 * Delegate=true and CollectMode inactive-or-failed, so that nothing is left when bulwark exits)
 * and waits up to TIMEOUT_MS for its job to finish. Connects to systemd's private socket as root,
 * else to the system bus. Returns 0 once the scope runs with REQ->pid in its cgroup, or -1 with PB
 * saying why (no bus, systemd refused, the job failed or timed out) and the fix.
 */
int cgroup_scope_start(const struct cgroup_scope_request *req, unsigned timeout_ms,
		       struct cgroup_problem *pb);

/* Whether systemd answers on its bus (a Ping; nothing is asked of it): for `host check`. Returns
 * 0, or -1 with PB as cgroup_scope_start() would say it. */
int cgroup_scope_reachable(struct cgroup_problem *pb);

#endif
