/* host_sandbox.c: `host check`'s sandbox lines: the policy's namespaces, jail and ids tried in a
 * throw-away child, and seccomp. */
#include "host/host_check.h"

#include "sandbox/jail.h"
#include "sandbox/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the child got through, step by step; an err of 0 with its done flag set is a pass. */
struct trial {
	bool ns_done, pid1, jail_done, ids_done;
	int ns_err, jail_err, ids_err;
	char ns_name[8];
	char jail_step[80], ids_step[48];
};

/* In a fresh pid namespace, the first child is pid 1: that is what the VMM will be. */
static bool pid1_in_new_namespace(void)
{
	int status = 0;
	pid_t c = fork();

	if (c == 0)
		_exit(getpid() == 1 ? 0 : 1);
	return c > 0 && waitpid(c, &status, 0) == c && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/* The child: the jail's steps in jail_enter's order, as far as they go. */
static void trial_child(const struct policy_sandbox *sb, int out)
{
	struct trial t = {.ns_done = false};
	const char *step = "";

	for (size_t i = 0; i < JAIL_NAMESPACES; i++) {
		if (!(sb->namespaces & jail_namespaces[i].bit))
			continue;
		if (unshare(jail_namespaces[i].flag)) {
			t.ns_err = errno;
			snprintf(t.ns_name, sizeof(t.ns_name), "%s", jail_namespaces[i].name);
			goto done;
		}
		if (jail_namespaces[i].flag == CLONE_NEWPID)
			t.pid1 = pid1_in_new_namespace();
	}
	t.ns_done = true;
	if (sb->jail || sb->jail_tmpfs) {
		t.jail_err = -jail_pivot(sb->jail, &step);
		snprintf(t.jail_step, sizeof(t.jail_step), "%s", step);
		if (t.jail_err)
			goto done;
		t.jail_done = true;
	}
	if (sb->ids_set) {
		t.ids_err = -jail_drop_ids(sb->uid, sb->gid, &step);
		snprintf(t.ids_step, sizeof(t.ids_step), "%s", step);
		t.ids_done = t.ids_err == 0;
	}
done:
	(void)!write(out, &t, sizeof(t));
	_exit(0);
}

/* Runs trial_child() and reads what it got through. Returns 0, or -1 when it could not. */
static int trial_run(const struct policy_sandbox *sb, struct trial *t)
{
	int fds[2], status;
	ssize_t n;
	pid_t c;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	c = fork();
	if (c == 0) {
		close(fds[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		trial_child(sb, fds[1]);
	}
	close(fds[1]);
	n = c > 0 ? read(fds[0], t, sizeof(*t)) : -1;
	close(fds[0]);
	if (c > 0)
		waitpid(c, &status, 0);
	return n == (ssize_t)sizeof(*t) ? 0 : -1;
}

static const char *ns_fix(int err)
{
	switch (err) {
	case EPERM:
		return "bulwark needs CAP_SYS_ADMIN in the host's user namespace: in a container, "
		       "run it on the host or in a privileged container (seccomp or an LSM may "
		       "also "
		       "deny unshare), or drop it from the policy's sandbox.namespaces";
	case ENOSPC:
		return "raise the limit in /proc/sys/user/max_*_namespaces";
	default:
		return "this kernel lacks that namespace: enable it, or drop it from the policy's "
		       "sandbox.namespaces";
	}
}

static void ns_names(unsigned bits, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < JAIL_NAMESPACES; i++)
		if ((bits & jail_namespaces[i].bit) && len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
						jail_namespaces[i].name);
}

/* The lines for namespaces, jail and ids, from what the child got through. */
static void report_trial(struct host_report *r, const struct policy_sandbox *sb,
			 const struct trial *t)
{
	char names[64];

	ns_names(sb->namespaces, names, sizeof(names));
	if (sb->namespaces && !t->ns_done)
		host_add(r, "sandbox.namespaces", HOST_FAIL, ns_fix(t->ns_err),
			 "cannot unshare the %s namespace: %s", t->ns_name, strerror(t->ns_err));
	else if ((sb->namespaces & POLICY_NS_PID) && !t->pid1)
		host_add(r, "sandbox.namespaces", HOST_FAIL, ns_fix(0),
			 "unshared %s, but the pid namespace's first process is not pid 1", names);
	else if (sb->namespaces)
		host_add(r, "sandbox.namespaces", HOST_PASS, NULL,
			 "unshared %s in a throw-away child", names);
	if ((sb->jail || sb->jail_tmpfs) && t->ns_done) {
		if (t->jail_done)
			host_add(r, "sandbox.jail", HOST_PASS, NULL,
				 "pivot_root into %s works (tried in that child)",
				 sb->jail ? sb->jail : "a fresh tmpfs");
		else
			host_add(
			    r, "sandbox.jail", HOST_FAIL,
			    t->jail_err == EINVAL
				? "pivot_root cannot leave an initramfs root (rootfs): boot with a "
				  "real root file system, or use a policy without a jail"
				: "check the policy's sandbox.jail (an existing directory), or use "
				  "jail: tmpfs",
			    "jail %s: %s: %s", sb->jail ? sb->jail : "tmpfs", t->jail_step,
			    strerror(t->jail_err));
	}
	if (sb->ids_set && t->ns_done && (t->jail_done || !(sb->jail || sb->jail_tmpfs))) {
		const struct passwd *pw = getpwuid(sb->uid);
		const struct group *gr = getgrgid(sb->gid);

		if (!t->ids_done)
			host_add(r, "sandbox.ids", HOST_FAIL,
				 "check the policy's sandbox uid and gid",
				 "cannot run as uid %u gid %u: %s: %s", (unsigned)sb->uid,
				 (unsigned)sb->gid, t->ids_step, strerror(t->ids_err));
		else if (sb->uid == 0 || sb->gid == 0)
			host_add(r, "sandbox.ids", HOST_WARN,
				 "give the policy an unprivileged uid and gid (65534 is nobody on "
				 "Debian)",
				 "uid %u gid %u: the VMM keeps root's files within reach",
				 (unsigned)sb->uid, (unsigned)sb->gid);
		else
			host_add(r, "sandbox.ids", HOST_PASS, NULL,
				 "runs as uid %u (%s) gid %u (%s)", (unsigned)sb->uid,
				 pw ? pw->pw_name : "no user of that id", (unsigned)sb->gid,
				 gr ? gr->gr_name : "no group of that id");
	}
}

/* Whether the kernel has the seccomp action ACTION (SECCOMP_GET_ACTION_AVAIL). */
static bool seccomp_action(unsigned action)
{
	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

static void check_seccomp(struct host_report *r, const struct policy *pol)
{
	struct bw_error err;

	if (prctl(PR_GET_SECCOMP) < 0 || !seccomp_action(SECCOMP_RET_TRAP) ||
	    !seccomp_action(SECCOMP_RET_KILL_PROCESS)) {
		host_add(r, "sandbox.seccomp", HOST_FAIL,
			 "a kernel with CONFIG_SECCOMP_FILTER, Linux 4.14 or later",
			 "the kernel lacks seccomp filters or their TRAP and KILL_PROCESS actions");
		return;
	}
	if (seccomp_prepare(pol->sandbox.seccomp, &err)) {
		host_add(r, "sandbox.seccomp", HOST_FAIL, "rebuild bulwark from a clean tree",
			 "the built-in allowlists do not compile: %s", err.msg);
		return;
	}
	seccomp_free_filters();
	if (pol->sandbox.seccomp == POLICY_SECCOMP_LOG)
		host_add(r, "sandbox.seccomp", HOST_WARN,
			 "set sandbox.seccomp: kill in the policy once its allowlists are written",
			 "log mode: a syscall off a thread's allowlist is reported and allowed");
	else
		host_add(r, "sandbox.seccomp", HOST_PASS, NULL,
			 "%u thread kinds' allowlists compile; the kernel has the actions they use",
			 (unsigned)SANDBOX_KINDS);
}

void host_check_sandbox(struct host_report *r, const struct policy *pol, bool root)
{
	const struct policy_sandbox *sb = &pol->sandbox;
	struct trial t;

	if (root && (sb->namespaces || sb->jail || sb->jail_tmpfs || sb->ids_set)) {
		if (trial_run(sb, &t))
			host_add(r, "sandbox.namespaces", HOST_FAIL,
				 "look at the kernel log: a fork that cannot run is a host problem",
				 "the throw-away child that tries the sandbox did not answer");
		else
			report_trial(r, sb, &t);
	}
	if (root && !sb->ids_set && (pol->cgroup.parent || sb->namespaces))
		host_add(r, "sandbox.ids", HOST_WARN,
			 "set sandbox.uid and sandbox.gid (65534 is nobody on Debian)",
			 "the policy names no uid and gid: the VMM stays root");
	check_seccomp(r, pol);
}
