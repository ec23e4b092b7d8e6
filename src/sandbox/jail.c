/* jail.c: confining the VMM per the policy: rlimits, its cgroup, namespaces, pivot_root, ids. */
#include "sandbox/jail.h"

#include "sandbox/cgroup.h"
#include "sandbox/cgroup_delegate.h"
#include "sandbox/cgroup_host.h"
#include "sandbox/jail_supervisor.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Where the fresh jail is mounted before pivot_root moves it to "/": nothing is hidden from the
 * host, as the mount lives in our own, private, mount namespace (bubblewrap does the same). */
#define JAIL_TMPFS_AT "/tmp"
/* Room for nothing: every file the VM needs is open before the jail. */
#define JAIL_TMPFS_OPTS "size=4k,nr_inodes=4,mode=0555"

static const struct {
	int resource;
	const char *name;
} rlimits[POLICY_RLIMITS] = {
    [POLICY_RLIMIT_NOFILE] = {RLIMIT_NOFILE, "nofile"},
    [POLICY_RLIMIT_FSIZE] = {RLIMIT_FSIZE, "fsize"},
    [POLICY_RLIMIT_MEMLOCK] = {RLIMIT_MEMLOCK, "memlock"},
    [POLICY_RLIMIT_CORE] = {RLIMIT_CORE, "core"},
};

const struct jail_ns jail_namespaces[JAIL_NAMESPACES] = {
    {POLICY_NS_MOUNT, CLONE_NEWNS, "mount"}, {POLICY_NS_IPC, CLONE_NEWIPC, "ipc"},
    {POLICY_NS_UTS, CLONE_NEWUTS, "uts"},    {POLICY_NS_NET, CLONE_NEWNET, "net"},
    {POLICY_NS_PID, CLONE_NEWPID, "pid"},
};

int jail_check(const struct policy *p, struct bw_error *err)
{
	const struct policy_sandbox *sb = &p->sandbox;

	if ((sb->jail || sb->jail_tmpfs) && !(sb->namespaces & POLICY_NS_MOUNT)) {
		config_errorf(
		    err, p->path, sb->loc, "sandbox",
		    "jail %s needs the mount namespace: add mount to namespaces (pivot_root "
		    "in the host's mount namespace would move every process's root)",
		    sb->jail ? sb->jail : "tmpfs");
		return -1;
	}
	if (sb->jail && sb->jail[0] != '/') {
		config_errorf(err, p->path, sb->loc, "sandbox",
			      "jail %s: expected an absolute directory", sb->jail);
		return -1;
	}
	return 0;
}

/*
 * Under systemd: in the cgroup it delegated to bulwark, or in a scope it makes for bulwark. With
 * APPLY, P's parent becomes that cgroup and *NAME the VM's leaf in it; the policy's own parent is
 * systemd's to place, not bulwark's, so it goes unused.
 */
static int prepare_delegated(struct policy *p, struct cgroup_host *h, const char **name, bool apply,
			     struct bw_error *err)
{
	unsigned need = cgroup_controllers_needed(&p->cgroup);
	struct cgroup_problem pb;
	char path[PATH_MAX], *d;

	/* The layout first: a hybrid host is refused as without systemd. */
	if (cgroup_host_resolve(h, p->cgroup.parent, path, sizeof(path), &pb) ||
	    cgroup_delegate_prepare(h, *name, need, apply, path, sizeof(path), &pb))
		return bw_errorf(err, BW_ERR_HOST, "cgroup: %s; %s", pb.why, pb.fix);
	if (!apply)
		return 0;
	d = strdup(path);
	if (!d)
		return bw_errorf(err, BW_ERR_RUNTIME, "cgroup: out of memory");
	log_info("cgroup: %s is delegated to bulwark: it moved into %s/" CGROUP_DELEGATE_SUPERVISOR
		 ", the VM's cgroup is %s/" CGROUP_DELEGATE_VM
		 " (the policy's parent %s applies only without systemd)",
		 d, d, d, p->cgroup.parent);
	free(p->cgroup.parent);
	p->cgroup.parent = d;
	*name = CGROUP_DELEGATE_VM;
	return 0;
}

int jail_prepare_cgroup(struct policy *p, const char **name, bool apply, struct bw_error *err)
{
	unsigned need = cgroup_controllers_needed(&p->cgroup);
	struct cgroup_host h;
	struct cgroup_problem pb;
	char path[PATH_MAX], done[512];
	char *moved;

	if (!p->cgroup.parent || geteuid() != 0)
		return 0;
	cgroup_host_probe(&h, &cgroup_host_paths_default);
	if (cgroup_host_mode(&h) != CGROUP_MODE_PARENT)
		return prepare_delegated(p, &h, name, apply, err);
	if (apply) {
		/* The parent was resolved by the check; the host may have changed since. */
		if (cgroup_host_prepare(&h, p->cgroup.parent, need, true, done, sizeof(done), &pb))
			return bw_errorf(err, BW_ERR_HOST, "cgroup: %s; %s", pb.why, pb.fix);
		if (done[0])
			log_info("cgroup: enabled for the parent's path: %s", done);
		return 0;
	}
	if (cgroup_host_resolve(&h, p->cgroup.parent, path, sizeof(path), &pb) ||
	    cgroup_host_prepare(&h, path, need, false, NULL, 0, &pb))
		return bw_errorf(err, BW_ERR_HOST, "cgroup: %s; %s", pb.why, pb.fix);
	if (!strcmp(path, p->cgroup.parent))
		return 0;
	moved = strdup(path);
	if (!moved)
		return bw_errorf(err, BW_ERR_RUNTIME, "cgroup: out of memory");
	log_info("cgroup: cgroup2 is mounted at %s: the policy's parent %s is %s", h.cgroup2,
		 p->cgroup.parent, moved);
	free(p->cgroup.parent);
	p->cgroup.parent = moved;
	return 0;
}

bool jail_confines(const struct policy *p)
{
	const struct policy_sandbox *sb = &p->sandbox;

	return p->cgroup.parent || sb->namespaces || sb->jail || sb->jail_tmpfs || sb->ids_set;
}

int jail_set_rlimits(const struct policy_sandbox *sb, struct bw_error *err)
{
	char buf[24], summary[160];
	size_t len = 0;

	summary[0] = '\0';
	for (unsigned i = 0; i < POLICY_RLIMITS; i++) {
		rlim_t v =
		    sb->rlimit[i] == POLICY_UNLIMITED ? RLIM_INFINITY : (rlim_t)sb->rlimit[i];
		struct rlimit rl = {.rlim_cur = v, .rlim_max = v};

		if (!sb->rlimit_set[i])
			continue;
		if (setrlimit(rlimits[i].resource, &rl)) {
			int e = errno;

			cgroup_format(sb->rlimit[i], buf, sizeof(buf));
			return bw_errnof(err, e, "rlimits: cannot set %s to %s: %s%s",
					 rlimits[i].name, buf, strerror(e),
					 e == EPERM
					     ? " (above the hard limit, or nofile above fs.nr_open)"
					     : "");
		}
		cgroup_format(sb->rlimit[i], buf, sizeof(buf));
		if (len < sizeof(summary))
			len += (size_t)snprintf(summary + len, sizeof(summary) - len, " %s=%s",
						rlimits[i].name, buf);
	}
	/* A write past fsize then fails with EFBIG (an I/O error for the guest) instead of
	 * killing the VMM with SIGXFSZ. */
	if (sb->rlimit_set[POLICY_RLIMIT_FSIZE])
		signal(SIGXFSZ, SIG_IGN);
	if (len)
		log_info("rlimits: set%s", summary);
	return 0;
}

/* Unshares the namespaces other than pid (which the fork took care of); logs them all. */
static int unshare_namespaces(unsigned bits, struct bw_error *err)
{
	char names[64];
	size_t len = 0;
	int flags = 0;

	names[0] = '\0';
	for (size_t i = 0; i < JAIL_NAMESPACES; i++) {
		if (!(bits & jail_namespaces[i].bit))
			continue;
		if (jail_namespaces[i].flag != CLONE_NEWPID)
			flags |= jail_namespaces[i].flag;
		len += (size_t)snprintf(names + len, sizeof(names) - len, " %s",
					jail_namespaces[i].name);
	}
	if (flags && unshare(flags))
		return bw_errnof(err, errno, "namespaces: cannot unshare%s: %s", names,
				 strerror(errno));
	if (len)
		log_info("namespaces: unshared%s%s", names,
			 bits & POLICY_NS_PID ? " (the VMM is pid 1 of its own pid namespace)"
					      : "");
	return 0;
}

int jail_pivot(const char *dir, const char **step)
{
	const char *root = dir ? dir : JAIL_TMPFS_AT;

	/* Nothing we mount from here on may propagate back to the host's namespace. */
	*step = "cannot make / private (mount MS_REC|MS_PRIVATE)";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -errno;
	if (dir) {
		*step = "cannot bind-mount the jail directory onto itself";
		if (mount(dir, dir, NULL, MS_BIND, NULL))
			return -errno;
	} else {
		*step = "cannot mount a tmpfs for the jail";
		if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  JAIL_TMPFS_OPTS))
			return -errno;
	}
	/* pivot_root(".", ".") stacks the old root on the new one; unmounting "." drops it. */
	*step = "cannot enter the jail (chdir)";
	if (chdir(root))
		return -errno;
	*step = "pivot_root failed";
	if (syscall(SYS_pivot_root, ".", "."))
		return -errno;
	*step = "cannot unmount the host's root after pivot_root";
	if (umount2(".", MNT_DETACH))
		return -errno;
	*step = "cannot chdir to the jail's root";
	if (chdir("/"))
		return -errno;
	*step = "cannot make the jail read-only";
	if (mount(NULL, "/", NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return -errno;
	return 0;
}

/* jail_pivot(), its success logged, its failure in ERR. */
static int pivot(const char *dir, struct bw_error *err)
{
	const char *step = "";
	int r = jail_pivot(dir, &step);

	if (r)
		return bw_errnof(err, -r, "jail: %s: %s: %s", dir ? dir : JAIL_TMPFS_AT, step,
				 strerror(-r));
	if (dir)
		log_info("jail: pivot_root into %s (read-only); the host's root is unmounted", dir);
	else
		log_info(
		    "jail: pivot_root into an empty read-only tmpfs; the host's root is unmounted");
	return 0;
}

int jail_drop_ids(uid_t uid, gid_t gid, const char **step)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	/* Groups first: once the uid is not 0 we could no longer change them. */
	*step = "setgroups(0)";
	if (setgroups(0, NULL))
		return -errno;
	*step = "setresgid";
	if (setresgid(gid, gid, gid))
		return -errno;
	*step = "setresuid";
	if (setresuid(uid, uid, uid))
		return -errno;
	*step = "getresuid";
	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg))
		return -errno;
	*step = "ids not as asked after setresuid";
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
		return -EPERM;
	return 0;
}

/* jail_drop_ids(), its success logged, its failure in ERR. */
static int drop_ids(uid_t uid, gid_t gid, struct bw_error *err)
{
	const char *step = "";
	int r = jail_drop_ids(uid, gid, &step);

	if (r)
		return bw_errnof(err, -r, "ids: %s to uid %u gid %u: %s", step, uid, gid,
				 strerror(-r));
	log_info("ids: running as uid %u gid %u, no supplementary groups", uid, gid);
	return 0;
}

/* What the VMM does to itself after the fork (or without one): namespaces, jail, ids. */
static int confine(const struct policy_sandbox *sb, struct bw_error *err)
{
	int r = unshare_namespaces(sb->namespaces, err);

	if (!r && (sb->jail || sb->jail_tmpfs))
		r = pivot(sb->jail, err);
	else if (!r)
		log_info("jail: none (the policy names no jail): the host's files stay visible");
	/* CAPS: the seccomp helper's capability work that needs CAP_SETPCAP (emptying the
	 * bounding set) must run before this point: setresuid to a non-zero uid drops it. */
	if (!r && sb->ids_set)
		r = drop_ids(sb->uid, sb->gid, err);
	else if (!r)
		log_warn("ids: the policy names no uid and gid: the VMM stays root");
	return r;
}

/*
 * Makes the VMM die with its supervisor, which alone can clean up after it. Set after the id
 * drop, which clears the parent-death signal; ALIVE (the pipe the supervisor holds open) tells
 * whether the supervisor died before that.
 */
static int vmm_bound(int alive, struct bw_error *err)
{
	struct pollfd p = {.fd = alive, .events = POLLIN};

	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		return bw_errorf(
		    err, BW_ERR_RUNTIME,
		    "jail: cannot tie the VMM to its supervisor (PR_SET_PDEATHSIG): %s",
		    strerror(errno));
	if (poll(&p, 1, 0) != 0)
		return bw_errorf(err, BW_ERR_RUNTIME,
				 "jail: the supervisor is gone; stopping before the VM starts");
	return 0;
}

/* Whether bulwark applies only the rlimits here: not root, or a policy without cgroup and
 * sandbox sections. Says which: a policy that leaves both out chose it (the built-in default does
 * not), so that is said at debug level only, and a plain run still logs just how the VM ended. */
static bool rlimits_only(const struct policy *p)
{
	if (geteuid() != 0) {
		log_info("running as uid %u, not root: no cgroup, namespaces, jail or id change",
			 geteuid());
		return true;
	}
	if (!jail_confines(p)) {
		log_debug(
		    "policy %s has no cgroup, namespaces, jail or ids: no confinement as root",
		    p->path);
		return true;
	}
	return false;
}

/* The VMM's side of the fork: keeps the stop signals blocked for vm_run's signalfd, enters the
 * cgroup (the supervisor removes it), confines itself and ties its life to the supervisor's
 * through ALIVE_RD. */
static int vmm_side(const struct policy_sandbox *sb, struct cgroup *cg, sigset_t *old,
		    const sigset_t *stop, int alive_rd, struct bw_error *err)
{
	bool ok;

	sigdelset(old, SIGCHLD);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(stop, sig) && sig != SIGCHLD)
			sigaddset(old, sig);
	sigprocmask(SIG_SETMASK, old, NULL);
	cg->created = false; /* the supervisor's to remove */
	ok = !(cg->path[0] && cgroup_enter(cg, err)) && !confine(sb, err) &&
	     !vmm_bound(alive_rd, err);
	close(alive_rd);
	return ok ? JAIL_VMM : JAIL_FAILED;
}

int jail_enter(const struct policy *p, const char *name, void (*release)(void *), void *arg,
	       int *verdict, struct bw_error *err)
{
	const struct policy_sandbox *sb = &p->sandbox;
	struct cgroup cg = {.created = false};
	sigset_t stop, old;
	int alive[2] = {-1, -1};
	pid_t child;

	*verdict = 0;
	if (jail_set_rlimits(sb, err))
		return JAIL_FAILED;
	if (rlimits_only(p))
		return JAIL_VMM;
	/* Without a cgroup to remove or a pid namespace to enter, no one needs to stay outside. */
	if (!p->cgroup.parent && !(sb->namespaces & POLICY_NS_PID))
		return confine(sb, err) ? JAIL_FAILED : JAIL_VMM;

	if (p->cgroup.parent && cgroup_create(&cg, &p->cgroup, name, err)) {
		cgroup_remove(&cg);
		return JAIL_FAILED;
	}
	/* Blocked before the fork so none is lost: the supervisor waits for them with
	 * sigwaitinfo, and the VMM (pid 1 of its namespace, which drops unhandled signals) reads
	 * the stop signals from vm_run's signalfd once it gets there. */
	supervisor_signals(&stop);
	sigprocmask(SIG_BLOCK, &stop, &old);
	if ((sb->namespaces & POLICY_NS_PID) && unshare(CLONE_NEWPID)) {
		bw_errnof(err, errno, "namespaces: cannot unshare pid: %s", strerror(errno));
		goto fail;
	}
	/* The supervisor holds the write end for as long as it lives: see vmm_bound(). */
	if (pipe2(alive, O_CLOEXEC)) {
		bw_errorf(err, BW_ERR_RUNTIME, "jail: cannot make the supervisor's pipe: %s",
			  strerror(errno));
		goto fail;
	}
	child = fork();
	if (child < 0) {
		bw_errorf(err, BW_ERR_RUNTIME, "jail: cannot fork the VMM off its supervisor: %s",
			  strerror(errno));
		goto fail;
	}
	if (child > 0) {
		close(alive[0]);
		release(arg);
		*verdict = supervise(child, &cg, &p->cgroup, &stop);
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(alive[1]);
		return JAIL_SUPERVISOR;
	}
	close(alive[1]);
	return vmm_side(sb, &cg, &old, &stop, alive[0], err);
fail:
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (alive[0] >= 0) {
		close(alive[0]);
		close(alive[1]);
	}
	cgroup_remove(&cg);
	return JAIL_FAILED;
}
