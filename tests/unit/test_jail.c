/* test_jail.c: policy contradictions, rlimits, the supervisor's verdicts and its fork, on a fake
 * cgroupfs (namespaces, pivot_root and the id drop are the integration suite's: jail-cases). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include "fake_cgroupfs.h"
#include "sandbox/jail.h"
#include "sandbox/jail_supervisor.h"

static char parent[96], vmdir[128];
static char policy_path[] = "policies/test.yaml";
static char jail_dir[] = "/srv/jail";
static struct policy pol;
static int released;
static struct bw_error err;
static char logged[8192];
static int saved_stderr = -1;

static int setup(void **state)
{
	(void)state;
	if (fake_setup(parent, sizeof(parent)))
		return -1;
	snprintf(vmdir, sizeof(vmdir), "%s/vm1", parent);
	memset(&pol, 0, sizeof(pol));
	pol.path = policy_path;
	pol.sandbox.loc = (struct config_loc){.line = 12, .column = 1};
	released = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_teardown();
	return 0;
}

/* Log lines go to a file from here until log_end(), which reads them into LOGGED. */
static void log_begin(void)
{
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/log", fake_root);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static void log_end(void)
{
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	snprintf(logged, sizeof(logged), "%s", fake_read(fake_root, "log"));
}

static void test_check_contradictions(void **state)
{
	(void)state;
	assert_int_equal(jail_check(&pol, &err), 0); /* nothing asked, nothing contradicts */
	pol.sandbox.jail = jail_dir;
	assert_int_equal(jail_check(&pol, &err), -1);
	assert_non_null(strstr(err.msg, "policies/test.yaml:12:1: sandbox: jail /srv/jail needs "
					"the mount namespace"));
	pol.sandbox.namespaces = POLICY_NS_MOUNT | POLICY_NS_PID;
	assert_int_equal(jail_check(&pol, &err), 0);
	jail_dir[0] = 's'; /* "srv/jail": relative */
	assert_int_equal(jail_check(&pol, &err), -1);
	jail_dir[0] = '/';
	assert_non_null(strstr(err.msg, "expected an absolute directory"));
	pol.sandbox.jail = NULL;
	pol.sandbox.jail_tmpfs = true;
	assert_int_equal(jail_check(&pol, &err), 0);
	pol.sandbox.namespaces = POLICY_NS_PID;
	assert_int_equal(jail_check(&pol, &err), -1);
	assert_non_null(strstr(err.msg, "sandbox: jail tmpfs needs the mount namespace"));
}

static void test_rlimits(void **state)
{
	struct rlimit nofile, core, fsize_before, fsize;
	struct sigaction sa;

	(void)state;
	getrlimit(RLIMIT_FSIZE, &fsize_before);
	pol.sandbox.rlimit[POLICY_RLIMIT_NOFILE] = 200;
	pol.sandbox.rlimit_set[POLICY_RLIMIT_NOFILE] = true;
	pol.sandbox.rlimit[POLICY_RLIMIT_CORE] = 0;
	pol.sandbox.rlimit_set[POLICY_RLIMIT_CORE] = true;
	pol.sandbox.rlimit[POLICY_RLIMIT_FSIZE] = 12345; /* given but not set: not applied */
	assert_int_equal(jail_set_rlimits(&pol.sandbox, &err), 0);
	getrlimit(RLIMIT_NOFILE, &nofile);
	getrlimit(RLIMIT_CORE, &core);
	getrlimit(RLIMIT_FSIZE, &fsize);
	assert_int_equal(nofile.rlim_cur, 200);
	assert_int_equal(nofile.rlim_max, 200);
	assert_int_equal(core.rlim_cur, 0);
	assert_int_equal(core.rlim_max, 0);
	assert_int_equal(fsize.rlim_cur, fsize_before.rlim_cur);

	/* fsize: the limit, and SIGXFSZ ignored so a write past it fails instead of killing. */
	pol.sandbox.rlimit[POLICY_RLIMIT_FSIZE] = POLICY_UNLIMITED;
	pol.sandbox.rlimit_set[POLICY_RLIMIT_FSIZE] = true;
	assert_int_equal(jail_set_rlimits(&pol.sandbox, &err), 0);
	getrlimit(RLIMIT_FSIZE, &fsize);
	assert_true(fsize.rlim_cur == RLIM_INFINITY);
	sigaction(SIGXFSZ, NULL, &sa);
	assert_true(sa.sa_handler == SIG_IGN);

	/* Above what anyone may have (fs.nr_open; and above our new hard limit): an error. */
	pol.sandbox.rlimit[POLICY_RLIMIT_NOFILE] = 1ULL << 40;
	assert_int_equal(jail_set_rlimits(&pol.sandbox, &err), -EPERM);
	assert_int_equal(err.kind, BW_ERR_HOST);
	assert_non_null(strstr(err.msg, "rlimits: cannot set nofile to 1099511627776: "));
	assert_non_null(strstr(err.msg, "(above the hard limit, or nofile above fs.nr_open)"));
	getrlimit(RLIMIT_NOFILE, &nofile);
	assert_int_equal(nofile.rlim_cur, 200);
}

static void test_verdicts(void **state)
{
	(void)state;
	log_begin();
	assert_int_equal(supervisor_verdict(42, 0, 0, "max"), 0);
	assert_int_equal(supervisor_verdict(42, 2 << 8, 0, "max"), 2);
	assert_int_equal(supervisor_verdict(42, SIGKILL, 1, "134217728"), 1);
	assert_int_equal(supervisor_verdict(42, SIGKILL, 0, "134217728"), 1);
	assert_int_equal(supervisor_verdict(42, SIGSYS, 0, "max"), 1);
	log_end();
	assert_non_null(strstr(logged, "the VMM (pid 42) exited with status 0\n"));
	assert_non_null(
	    strstr(logged, "error: supervisor: the VMM (pid 42) exited with status 2\n"));
	assert_non_null(strstr(logged,
			       "killed by the OOM killer: its cgroup reached memory.max "
			       "(134217728), or a limit above it did (a unit's MemoryMax=)\n"));
	assert_non_null(strstr(logged, "the VMM (pid 42) was killed by SIGKILL\n"));
	assert_non_null(
	    strstr(logged, "killed by SIGSYS: a syscall outside its seccomp allowlist"));
}

static void release(void *arg)
{
	*(int *)arg += 1;
}

/* The VMM's side of the fork tests: CODE says how it ends. Never returns. */
static void vmm_child(int code)
{
	sigset_t term;
	int sig;

	/* In its cgroup already, and the supervisor's to clean: the fake kernel lets go of it. */
	if (strcmp(fake_read(vmdir, "cgroup.procs"), "0") != 0)
		_exit(90);
	fake_write(vmdir, "cgroup.procs", "");
	if (code == SIGTERM) {
		/* The stop signals arrive blocked, for vm_run's signalfd: wait for the forward. */
		sigemptyset(&term);
		sigaddset(&term, SIGTERM);
		kill(getppid(), SIGTERM);
		sig = sigwaitinfo(&term, NULL);
		_exit(sig == SIGTERM ? 15 : 91);
	}
	if (code == SIGKILL) {
		fake_write(vmdir, "memory.events", "oom 1\noom_kill 1\n");
		raise(SIGKILL);
	}
	_exit(code);
}

/* jail_enter as root with a cgroup: fork, the VMM in the cgroup, the verdict, the cleanup. */
static void run_supervised(int code, int want_status)
{
	pid_t self = getpid();
	int status = -1;

	pol.cgroup.parent = parent;
	pol.cgroup.memory_max = 64ULL << 20;
	pol.cgroup.memory_max_set = true;
	log_begin();
	if (jail_enter(&pol, "vm1", release, &released, &status, &err) == JAIL_VMM) {
		log_end();
		vmm_child(code);
	}
	if (getpid() != self)
		_exit(92); /* a VMM whose confinement failed: never run the tests twice */
	log_end();
	assert_int_equal(status, want_status);
	assert_int_equal(released, 1);	  /* the supervisor dropped the VM's resources */
	assert_false(fake_exists(vmdir)); /* and removed the cgroup after the VMM was gone */
	assert_non_null(strstr(logged, "cgroup: created "));
	assert_non_null(strstr(logged, " memory.max=67108864"));
	assert_non_null(strstr(logged, "cgroup: removed "));
}

static void test_supervisor_exit_status(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	run_supervised(7, 7);
	assert_non_null(strstr(logged, "exited with status 7"));
}

static void test_supervisor_oom(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	run_supervised(SIGKILL, 1);
	assert_non_null(strstr(logged, "killed by the OOM killer"));
	assert_non_null(strstr(logged, "memory.max (67108864)"));
}

static void test_supervisor_forwards(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	run_supervised(SIGTERM, 15);
	assert_non_null(strstr(logged, "supervisor: forwarding SIGTERM to the VMM"));
}

/* Whether this process may make namespaces (root, and not in a container that forbids it). */
static bool can_unshare(void)
{
	pid_t pid;
	int st;

	if (geteuid() != 0)
		return false;
	pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) ? 1 : 0);
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The VMM's own confinement without a supervisor (no cgroup, no pid namespace): in a child, a
 * mount namespace with a tmpfs jail, then the policy's ids. What it sees afterwards is checked
 * from inside, each failure its own exit code. */
static void test_jail_and_ids(void **state)
{
	struct statvfs vfs;
	struct dirent *e;
	pid_t pid;
	int st;

	(void)state;
	if (!can_unshare())
		skip();
	pol.sandbox.namespaces = POLICY_NS_MOUNT | POLICY_NS_IPC | POLICY_NS_UTS;
	pol.sandbox.jail_tmpfs = true;
	pol.sandbox.ids_set = true;
	pol.sandbox.uid = 65534;
	pol.sandbox.gid = 65533;
	log_begin();
	pid = fork();
	if (pid == 0) {
		int status = -1, entries = 0;
		gid_t groups[4];
		DIR *d;

		if (jail_enter(&pol, "vm1", release, &released, &status, &err) != JAIL_VMM)
			_exit(70);
		if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65533 ||
		    getgroups(4, groups) != 0)
			_exit(71);
		d = opendir("/");
		if (!d)
			_exit(72);
		while ((e = readdir(d)) != NULL)
			entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
		closedir(d);
		if (entries)
			_exit(73); /* the host's files are visible */
		if (statvfs("/", &vfs) || !(vfs.f_flag & ST_RDONLY))
			_exit(74);
		if (access(fake_root, F_OK) == 0)
			_exit(75);
		_exit(released ? 76 : 0); /* no supervisor: nothing released */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	log_end();
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(logged, "namespaces: unshared mount ipc uts\n"));
	assert_non_null(strstr(logged, "jail: pivot_root into an empty read-only tmpfs"));
	assert_non_null(
	    strstr(logged, "ids: running as uid 65534 gid 65533, no supplementary groups"));
	assert_null(strstr(logged, "supervisor"));
	/* This process kept its root and ids. */
	assert_int_equal(geteuid(), 0);
	assert_true(fake_exists(fake_root));
}

/* Not root: rlimits only, no cgroup, no fork, one line saying so. Run as nobody in a child. */
static void test_not_root(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0)
		skip(); /* needs root to become someone else */
	pol.cgroup.parent = parent;
	pol.cgroup.pids_max = 3, pol.cgroup.pids_max_set = true;
	pol.sandbox.namespaces = POLICY_NS_MOUNT | POLICY_NS_PID | POLICY_NS_NET;
	pol.sandbox.ids_set = true;
	pol.sandbox.rlimit[POLICY_RLIMIT_CORE] = 0;
	pol.sandbox.rlimit_set[POLICY_RLIMIT_CORE] = true;
	log_begin();
	pid = fork();
	if (pid == 0) {
		int status = -1;
		struct rlimit core;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(80);
		if (jail_enter(&pol, "vm1", release, &released, &status, &err) != JAIL_VMM)
			_exit(81);
		getrlimit(RLIMIT_CORE, &core);
		_exit(released == 0 && getppid() > 1 && core.rlim_max == 0 ? 0 : 82);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	log_end();
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_false(fake_exists(vmdir));
	assert_non_null(strstr(logged,
			       "running as uid 65534, not root: no cgroup, namespaces, jail "
			       "or id change\n"));
	assert_non_null(strstr(logged, "rlimits: set core=0\n"));
	assert_null(strstr(logged, "supervisor"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_check_contradictions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verdicts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_supervisor_exit_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_supervisor_oom, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_supervisor_forwards, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_root, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_jail_and_ids, setup, teardown),
	    /* Last: it lowers this process's own limits. */
	    cmocka_unit_test_setup_teardown(test_rlimits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
