/* test_seccomp_pins.c: each thread's reads and writes pinned to its own fds. */
#include "seccomp_child.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/uio.h>

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
	    cmocka_unit_test_teardown(vcpu_cannot_write_to_a_tap, release),
	    cmocka_unit_test_teardown(net_thread_writes_its_own_tap_only, release),
	    cmocka_unit_test_teardown(blk_thread_reads_its_own_image_only, release),
	    cmocka_unit_test_teardown(filters_build_under_a_zero_fsize_rlimit, release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
