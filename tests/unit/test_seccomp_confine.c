/* test_seccomp_confine.c: confined children die on a forbidden syscall, named; spawned threads
 * confine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox/caps.h"
#include "sandbox/thread.h"
#include "seccomp_child.h"

static void vcpu_calls_getppid(void)
{
	if (sandbox_confine_thread(SANDBOX_VCPU, NULL))
		_exit(90);
	syscall(SYS_getppid);
	_exit(91);
}

static void forbidden_syscall_kills_and_names_kind_and_call(void **state)
{
	(void)state;
	prepare();
	assert_killed_saying(in_child(vcpu_calls_getppid),
			     "seccomp: vcpu thread made forbidden syscall getppid (110)\n");
}

static void vcpu_ioctl_tcgets(void)
{
	int fd = open("/dev/null", O_RDONLY);

	if (sandbox_confine_thread(SANDBOX_VCPU, NULL))
		_exit(90);
	ioctl(fd, TCGETS, NULL);
	_exit(91);
}

static void ioctl_outside_its_requests_kills(void **state)
{
	(void)state;
	prepare();
	assert_killed_saying(
	    in_child(vcpu_ioctl_tcgets),
	    "seccomp: vcpu thread made forbidden syscall ioctl (16, request 0x5401)\n");
}

static void rng_opens_a_file(void)
{
	if (sandbox_confine_thread(SANDBOX_VIRTIO_RNG, NULL))
		_exit(90);
	open("/etc/passwd", O_RDONLY);
	_exit(91);
}

static void device_kind_is_named_too(void **state)
{
	(void)state;
	prepare();
	assert_killed_saying(in_child(rng_opens_a_file),
			     "seccomp: virtio-rng thread made forbidden syscall openat (257)");
}

static void vcpu_allowed_calls(void)
{
	int fd = open("/dev/null", O_RDONLY);
	long r;

	if (sandbox_confine_thread(SANDBOX_VCPU, NULL))
		_exit(90);
	/* Allowed by the filter, refused by the file: the kernel answers, the process lives. */
	r = ioctl(fd, KVM_RUN, 0);
	if (r != -1 || errno != ENOTTY)
		leave(92);
	if (write(STDERR_FILENO, "alive\n", 6) != 6)
		leave(93);
	leave(7);
}

static void allowed_syscalls_work(void **state)
{
	(void)state;
	prepare();
	assert_exited(in_child(vcpu_allowed_calls), 7);
	assert_string_equal(out, "alive\n");
}

/* The vmm thread gives an interactive terminal its mode back at teardown (console_restore). */
static void vmm_restores_a_terminal(void)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY), tty;
	struct termios saved;

	if (master < 0 || grantpt(master) || unlockpt(master))
		_exit(90);
	tty = open(ptsname(master), O_RDWR | O_NOCTTY);
	if (tty < 0 || tcgetattr(tty, &saved) || sandbox_confine_thread(SANDBOX_VMM, NULL))
		_exit(91);
	/* exit_group is on the vmm list; not _exit, which ASan wraps with calls of its own. */
	syscall(SYS_exit_group, tcsetattr(tty, TCSAFLUSH, &saved) ? 8 : 7);
}

static void vmm_thread_may_restore_the_terminal(void **state)
{
	(void)state;
	prepare();
	assert_exited(in_child(vmm_restores_a_terminal), 7);
}

/* This process's effective capabilities, read with open, read and close only; ~0 on failure. */
static unsigned long long cap_eff(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	const char *at;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return ~0ULL;
	buf[n] = 0;
	at = strstr(buf, "CapEff:\t");
	return at ? strtoull(at + 8, NULL, 16) : ~0ULL;
}

/* The jail's supervisor keeps CAP_KILL alone, and may read a file (memory.events) on its list. */
static void supervisor_reads_its_status(void)
{
	unsigned long long kill_bit = 1ULL << CAP_KILL, had = cap_eff() & kill_bit;

	if (sandbox_confine_thread(SANDBOX_SUPERVISOR, NULL))
		_exit(90);
	syscall(SYS_exit_group, cap_eff() == had ? 7 : 8);
}

static void supervisor_keeps_only_cap_kill(void **state)
{
	(void)state;
	prepare();
	assert_exited(in_child(supervisor_reads_its_status), 7);
}

static void log_mode_child(void)
{
	long first, second;

	if (sandbox_confine_thread(SANDBOX_VCPU, NULL))
		_exit(90);
	/* Off the list twice: both calls are made and answered, the report comes once. */
	first = syscall(SYS_getppid);
	second = syscall(SYS_getppid);
	/* An error travels back as the kernel's: -1 with errno. */
	if (syscall(SYS_close, 12345) != -1 || errno != EBADF)
		leave(9);
	leave(first == parent && second == parent ? 7 : 8);
}

static void log_mode_reports_once_and_allows(void **state)
{
	struct bw_error err;
	const char *msg = "bulwark: seccomp: vcpu thread made syscall getppid (110), off its "
			  "allowlist: allowed (log mode)\n";
	const char *at;

	(void)state;
	assert_int_equal(seccomp_prepare(POLICY_SECCOMP_LOG, &err), 0);
	assert_exited(in_child(log_mode_child), 7);
	at = strstr(out, msg);
	assert_non_null(at);
	assert_null(strstr(at + strlen(msg), "getppid"));
	assert_non_null(strstr(out, "made syscall close (3)"));
	assert_null(strstr(out, "forbidden"));
}

/* Whether /proc/self/task/TID/status has every line in WANT (NULL-terminated). */
static bool status_has(long tid, const char *const *want)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/status", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (; *want; want++)
		if (!strstr(buf, *want))
			return false;
	return true;
}

static int hold_fd[2];

static void *waits_on_pipe(void *arg)
{
	char c;

	(void)arg;
	(void)!read(hold_fd[0], &c, 1); /* read of its own fds is on virtio-rng's list */
	return NULL;
}

/* A spawned thread is confined, its creator is not (no TSYNC); checked from the child's side. */
static void spawn_and_inspect(void)
{
	static const char *const confined[] = {"Seccomp:\t2", "NoNewPrivs:\t1",
					       "CapEff:\t0000000000000000", NULL};
	static const char *const creator[] = {"Seccomp:\t0", NULL};
	struct sandbox_fds fds = {0};
	pthread_t t;
	long tid = 0;
	DIR *d;
	struct dirent *e;

	if (pipe(hold_fd))
		_exit(90);
	sandbox_fds_add(&fds, SANDBOX_FD_WAKE, hold_fd[0]); /* stands for the device's eventfd */
	if (sandbox_thread_spawn(&t, SANDBOX_VIRTIO_RNG, &fds, waits_on_pipe, NULL))
		_exit(90);
	d = opendir("/proc/self/task");
	while (d && (e = readdir(d))) {
		long n = strtol(e->d_name, NULL, 10);

		if (n > 0 && n != getpid())
			tid = n;
	}
	if (d)
		closedir(d);
	if (!tid)
		_exit(91);
	if (!status_has(tid, confined))
		_exit(92);
	if (!status_has(getpid(), creator))
		_exit(93);
	_exit(0); /* the confined thread dies with the process */
}

static void spawned_thread_is_confined_creator_is_not(void **state)
{
	(void)state;
	prepare();
	assert_exited(in_child(spawn_and_inspect), 0);
}

static bool ran;

static void *mark_ran(void *arg)
{
	(void)arg;
	ran = true;
	return NULL;
}

static void spawn_fails_when_thread_cannot_confine(void **state)
{
	pthread_t t;

	(void)state;
	prepare();
	ran = false;
	assert_int_equal(sandbox_thread_spawn(&t, SANDBOX_KINDS, NULL, mark_ran, NULL), -EINVAL);
	assert_false(ran);
}

static void close_fds_child(void)
{
	if (dup2(STDIN_FILENO, 40) != 40 || caps_close_inherited_fds())
		_exit(90);
	if (fcntl(40, F_GETFD) != -1 || errno != EBADF)
		_exit(91);
	if (fcntl(STDERR_FILENO, F_GETFD) < 0 || fcntl(STDIN_FILENO, F_GETFD) < 0)
		_exit(92);
	_exit(0);
}

static void inherited_fds_above_2_closed(void **state)
{
	(void)state;
	assert_exited(in_child(close_fds_child), 0);
}

static void bounding_child(void)
{
	static const char *const empty[] = {"CapBnd:\t0000000000000000", NULL};
	unsigned long long eff = cap_eff();
	struct bw_error err;

	if (eff == ~0ULL)
		_exit(90);
	if (caps_empty_bounding_set(&err))
		_exit(91);
	/* CAP_SETPCAP decides: with it the set is emptied, without it the log says why not. */
	if (eff & (1ULL << CAP_SETPCAP))
		_exit(status_has(getpid(), empty) ? 0 : 92);
	_exit(0);
}

static void bounding_set_emptied_when_privileged(void **state)
{
	(void)state;
	assert_exited(in_child(bounding_child), 0);
	if (geteuid() != 0)
		assert_non_null(strstr(out, "running unprivileged"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(forbidden_syscall_kills_and_names_kind_and_call, release),
	    cmocka_unit_test_teardown(ioctl_outside_its_requests_kills, release),
	    cmocka_unit_test_teardown(device_kind_is_named_too, release),
	    cmocka_unit_test_teardown(allowed_syscalls_work, release),
	    cmocka_unit_test_teardown(vmm_thread_may_restore_the_terminal, release),
	    cmocka_unit_test_teardown(supervisor_keeps_only_cap_kill, release),
	    cmocka_unit_test_teardown(log_mode_reports_once_and_allows, release),
	    cmocka_unit_test_teardown(spawned_thread_is_confined_creator_is_not, release),
	    cmocka_unit_test_teardown(spawn_fails_when_thread_cannot_confine, release),
	    cmocka_unit_test(inherited_fds_above_2_closed),
	    cmocka_unit_test(bounding_set_emptied_when_privileged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
