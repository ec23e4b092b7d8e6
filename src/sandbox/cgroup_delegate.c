/* cgroup_delegate.c: bulwark inside a cgroup systemd delegated to it: supervisor/ and vm/ leaves. */
#include "sandbox/cgroup_delegate.h"

#include "sandbox/cgroup.h"
#include "sandbox/cgroup_scope.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cgroup_delegate_check(const char *d, unsigned need, struct cgroup_problem *pb)
{
	char have[512], name[16];
	int r = cgroup_read(d, "cgroup.controllers", have, sizeof(have));

	if (r) {
		snprintf(pb->why, sizeof(pb->why), "cannot read %.256s/cgroup.controllers: %s", d,
			 strerror(-r));
		snprintf(pb->fix, sizeof(pb->fix), "is %.256s a cgroup2 directory?", d);
		return -1;
	}
	have[strcspn(have, "\n")] = '\0';
	for (unsigned bit = CGROUP_CPUSET; bit <= CGROUP_PIDS; bit <<= 1) {
		if (!(need & bit) ||
		    cgroup_has_word(have, cgroup_controller_names(bit, name, sizeof(name))))
			continue;
		snprintf(pb->why, sizeof(pb->why),
			 "the %s controller, which the policy's %s need, is not offered in "
			 "%.256s/cgroup.controllers (\"%.100s\")",
			 name, cgroup_controller_keys(bit), d, have);
		snprintf(
		    pb->fix, sizeof(pb->fix),
		    "delegate it to the unit that starts bulwark (Delegate=yes delegates every "
		    "controller; a Delegate= list must name %s), or drop %s from the policy",
		    name, cgroup_controller_keys(bit));
		return -1;
	}
	return 0;
}

/* Moves the calling process into D/supervisor, which it makes when missing. */
static int enter_supervisor(const char *d, struct cgroup_problem *pb)
{
	char leaf[PATH_MAX];
	int r;

	if ((size_t)snprintf(leaf, sizeof(leaf), "%s/%s", d, CGROUP_DELEGATE_SUPERVISOR) >=
	    sizeof(leaf)) {
		snprintf(pb->why, sizeof(pb->why), "bulwark's cgroup %.256s... is too long", d);
		snprintf(pb->fix, sizeof(pb->fix), "start bulwark from a unit with a shorter name");
		return -1;
	}
	if (mkdir(leaf, 0755) && errno != EEXIST) {
		snprintf(pb->why, sizeof(pb->why), "cannot create %.256s: %s", leaf,
			 strerror(errno));
		snprintf(pb->fix, sizeof(pb->fix),
			 "is %.256s delegated to bulwark (Delegate=yes in its unit)?", d);
		return -1;
	}
	/* "0" is the writer itself, whatever its pid looks like from the cgroup's namespace. */
	r = cgroup_write(leaf, "cgroup.procs", "0");
	if (r) {
		snprintf(pb->why, sizeof(pb->why),
			 "cannot move bulwark into %.256s/cgroup.procs: %s", leaf, strerror(-r));
		snprintf(pb->fix, sizeof(pb->fix),
			 "is %.256s delegated to bulwark (Delegate=yes in its unit)?", d);
		return -1;
	}
	return 0;
}

int cgroup_delegate_enter(const char *d, unsigned need, struct cgroup_problem *pb)
{
	char procs[64];

	if (cgroup_delegate_check(d, need, pb) || enter_supervisor(d, pb))
		return -1;
	/* Anyone else left in D would keep it from handing controllers down: name them. */
	if (cgroup_read(d, "cgroup.procs", procs, sizeof(procs)) == 0 && procs[0]) {
		for (char *p = procs; (p = strchr(p, '\n')) != NULL;)
			*p = p[1] ? ' ' : '\0';
		snprintf(pb->why, sizeof(pb->why),
			 "other processes are left in bulwark's cgroup %.256s (pids %s), so cgroup "
			 "v2 does not let it enable controllers for the VM's cgroup",
			 d, procs);
		snprintf(pb->fix, sizeof(pb->fix),
			 "make bulwark the unit's only process (ExecStart=bulwark run ..., or exec "
			 "bulwark from a wrapper script)");
		return -1;
	}
	return 0;
}

/* Asks systemd for bulwark-NAME.scope with this process in it, then reads H again: bulwark's own
 * cgroup is now the scope's. */
static int start_scope(struct cgroup_host *h, const char *name, struct cgroup_problem *pb)
{
	const struct cgroup_host_paths *paths = h->paths;
	struct cgroup_scope_request req = {.pid = 0};
	size_t len, ulen;

	if (cgroup_scope_request(name, getpid(), &req)) {
		snprintf(pb->why, sizeof(pb->why), "the VM's name %.64s makes too long a unit name",
			 name);
		snprintf(pb->fix, sizeof(pb->fix), "give the VM a shorter name");
		return -1;
	}
	if (cgroup_scope_start(&req, CGROUP_SCOPE_TIMEOUT_MS, pb))
		return -1;
	cgroup_host_probe(h, paths);
	len = strlen(h->own);
	ulen = strlen(req.unit);
	if (len <= ulen || h->own[len - ulen - 1] != '/' ||
	    strcmp(h->own + len - ulen, req.unit) != 0) {
		snprintf(
		    pb->why, sizeof(pb->why),
		    "systemd started the transient scope %.80s, but bulwark's cgroup is \"%.256s\"",
		    req.unit, h->own);
		snprintf(pb->fix, sizeof(pb->fix),
			 "does bulwark see the host's cgroups (no cgroup namespace of its own)?");
		return -1;
	}
	log_info("cgroup: systemd started the transient scope %s (Delegate=yes): %s", req.unit,
		 h->own);
	return 0;
}

int cgroup_delegate_prepare(struct cgroup_host *h, const char *name, unsigned need, bool apply,
			    char *d, size_t size, struct cgroup_problem *pb)
{
	bool scope = cgroup_host_mode(h) == CGROUP_MODE_SCOPE;

	if (!apply)
		return scope ? 0 : cgroup_delegate_check(h->own, need, pb);
	if (scope && start_scope(h, name, pb))
		return -1;
	if ((size_t)snprintf(d, size, "%s", h->own) >= size) {
		snprintf(pb->why, sizeof(pb->why), "bulwark's cgroup %.256s... is too long",
			 h->own);
		snprintf(pb->fix, sizeof(pb->fix), "start bulwark from a unit with a shorter name");
		return -1;
	}
	return cgroup_delegate_enter(d, need, pb);
}
