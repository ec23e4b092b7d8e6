/* test_seccomp_pins.c: each thread's reads and writes pinned to its own fds; the supervisor signals
 * its VMM alone and opens nothing for writing. */
#include "seccomp_child.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/uio.h>

static pid_t victim;  /* a process the supervisor must not signal, or its VMM */
static char path[64]; /* a file the supervisor must not create */

static pid_t start_victim(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

/* The victim's end: SIG if it was signalled, 0 if it was still there for us to kill. */
static int end_victim(pid_t pid)
{
	int status = 0;

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL ? WTERMSIG(status) : 0;
}

/* A regression test: kill(2) once took any pid, and the supervisor keeps CAP_KILL as uid 0. */
static void supervisor_kills_a_stranger(void)
{
	struct sandbox_fds fds = {0};

	if (sandbox_confine_thread(SANDBOX_SUPERVISOR, &fds))
		_exit(90);
	kill(victim, SIGTERM);
	syscall(SYS_exit_group, 7);
}

static void supervisor_cannot_signal_another_process(void **state)
{
	(void)state;
	prepare();
	victim = start_victim();
	assert_killed_saying(in_child(supervisor_kills_a_stranger),
			     "supervisor thread made forbidden syscall kill (62)");
	assert_int_equal(end_victim(victim), 0);
}

/* What it may still do: signal its VMM, found by its pidfd. */
static void supervisor_signals_through_the_pidfd(void)
{
	struct sandbox_fds fds = {0};
	int pidfd = (int)syscall(SYS_pidfd_open, victim, 0U);

	if (pidfd < 0)
		_exit(91);
	sandbox_fds_add(&fds, SANDBOX_FD_PIDFD, pidfd);
	if (sandbox_confine_thread(SANDBOX_SUPERVISOR, &fds))
		_exit(90);
	syscall(SYS_exit_group, syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0U) ? 8 : 7);
}

static void supervisor_signals_its_vmm_by_pidfd(void **state)
{
	(void)state;
	prepare();
	victim = start_victim();
	assert_exited(in_child(supervisor_signals_through_the_pidfd), 7);
	assert_int_equal(end_victim(victim), SIGTERM);
}

/* A regression test: once only openat's access mode was checked, so O_CREAT and O_TRUNC
 * went through. */
static void supervisor_creates_a_file(void)
{
	struct sandbox_fds fds = {0};

	if (sandbox_confine_thread(SANDBOX_SUPERVISOR, &fds))
		_exit(90);
	open(path, O_RDONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	syscall(SYS_exit_group, 7);
}

static void supervisor_cannot_create_or_truncate(void **state)
{
	(void)state;
	prepare();
	snprintf(path, sizeof(path), "/tmp/bulwark-test-supervisor-%d", (int)getpid());
	unlink(path);
	assert_killed_saying(in_child(supervisor_creates_a_file),
			     "supervisor thread made forbidden syscall openat (257)");
	assert_int_equal(access(path, F_OK), -1);
	unlink(path);
}

/* A vCPU taken over by its guest must not reach a tap (a pipe stands for it): the eventfds it
 * writes to are its list's, the tap is not. */
static void vcpu_writes_to_a_tap(void)
{
	struct sandbox_fds fds = {0};
	int tap[2], stop = eventfd(0, EFD_CLOEXEC);
	uint64_t one = 1;

	if (pipe(tap) || stop < 0)
		_exit(91);
	sandbox_fds_add(&fds, SANDBOX_FD_STOP, stop);
	if (sandbox_confine_thread(SANDBOX_VCPU, &fds))
		_exit(90);
	if (write(stop, &one, sizeof(one)) != sizeof(one) || write(STDOUT_FILENO, "", 0))
		leave(8);
	(void)!write(tap[1], "frame", 5);
	leave(7);
}

static void vcpu_cannot_write_to_a_tap(void **state)
{
	(void)state;
	prepare();
	assert_killed_saying(in_child(vcpu_writes_to_a_tap),
			     "vcpu thread made forbidden syscall write (1)");
}

/* A NIC's thread writes frames to its own tap, its interrupt and the log; not to another tap. */
static void net_writes_to_another_tap(void)
{
	struct sandbox_fds fds = {0};
	int tap[2], other[2], irq = eventfd(0, EFD_CLOEXEC);
	uint64_t one = 1;

	if (pipe(tap) || pipe(other) || irq < 0)
		_exit(91);
	sandbox_fds_add(&fds, SANDBOX_FD_TAP, tap[1]);
	sandbox_fds_add(&fds, SANDBOX_FD_IRQ, irq);
	if (sandbox_confine_thread(SANDBOX_VIRTIO_NET, &fds))
		_exit(90);
	if (write(tap[1], "frame", 5) != 5 || write(irq, &one, sizeof(one)) != sizeof(one) ||
	    write(STDERR_FILENO, "", 0))
		leave(8);
	(void)!write(other[1], "frame", 5);
	leave(7);
}

static void net_thread_writes_its_own_tap_only(void **state)
{
	(void)state;
	prepare();
	assert_killed_saying(in_child(net_writes_to_another_tap),
			     "virtio-net thread made forbidden syscall write (1)");
}

/* A disk's thread reads its own image; not another file it could find open. */
static void blk_reads_another_file(void)
{
	struct sandbox_fds fds = {0};
	int image = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	int other = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	char buf[16];
	struct iovec iov = {buf, sizeof(buf)};

	if (image < 0 || other < 0)
		_exit(91);
	sandbox_fds_add(&fds, SANDBOX_FD_IMAGE, image);
	if (sandbox_confine_thread(SANDBOX_VIRTIO_BLK, &fds))
		_exit(90);
	if (preadv(image, &iov, 1, 0) <= 0)
		leave(8);
	(void)!preadv(other, &iov, 1, 0);
	leave(7);
}

static void blk_thread_reads_its_own_image_only(void **state)
{
	(void)state;
	prepare();
	assert_killed_saying(in_child(blk_reads_another_file),
			     "virtio-blk thread made forbidden syscall preadv (295)");
}

/* The jail sets the policy's rlimits before threads build their filters: even fsize 0 (a VM
 * with no writable disk needs no more) must not stop them. */
static void builds_under_fsize_0(void)
{
	struct rlimit none = {0, 0};
	struct sandbox_filter f;

	signal(SIGXFSZ, SIG_IGN); /* as bulwark does: a write past the limit fails with EFBIG */
	if (setrlimit(RLIMIT_FSIZE, &none))
		_exit(91);
	_exit(sandbox_filter_build(&f, SANDBOX_VCPU, NULL) || !f.prog.len ? 8 : 7);
}

static void filters_build_under_a_zero_fsize_rlimit(void **state)
{
	(void)state;
	prepare();
	assert_exited(in_child(builds_under_fsize_0), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(supervisor_cannot_signal_another_process, release),
	    cmocka_unit_test_teardown(supervisor_signals_its_vmm_by_pidfd, release),
	    cmocka_unit_test_teardown(supervisor_cannot_create_or_truncate, release),
	    cmocka_unit_test_teardown(vcpu_cannot_write_to_a_tap, release),
	    cmocka_unit_test_teardown(net_thread_writes_its_own_tap_only, release),
	    cmocka_unit_test_teardown(blk_thread_reads_its_own_image_only, release),
	    cmocka_unit_test_teardown(filters_build_under_a_zero_fsize_rlimit, release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
