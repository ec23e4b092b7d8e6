/* seccomp_child.h: runs a test body in a forked child that confines itself; checks how it died. */
#ifndef BULWARK_TEST_SECCOMP_CHILD_H
#define BULWARK_TEST_SECCOMP_CHILD_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/seccomp.h"

static char out[4096]; /* the child's stderr */
static pid_t parent;

/* Runs FN in a forked child whose stderr is captured in OUT; returns its wait status. */
static inline int in_child(void (*fn)(void))
{
	struct rlimit no_core = {0, 0};
	int p[2], status = 0;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	parent = getpid();
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core); /* a SIGSYS death would dump core */
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		fn();
		_exit(99);
	}
	close(p[1]);
	while (got < sizeof(out) - 1 && (n = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = 0;
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static inline void assert_killed_saying(int status, const char *msg)
{
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail_msg("status 0x%x, expected death by SIGSYS; stderr: %s", status, out);
	if (!strstr(out, msg))
		fail_msg("stderr '%s' does not say '%s'", out, msg);
}

static inline void assert_exited(int status, int code)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != code)
		fail_msg("status 0x%x, expected exit %d; stderr: %s", status, code, out);
}

/* The only way out a thread whose list has exit alone: exit(2) of its one thread ends the child. */
static inline void leave(int code)
{
	syscall(SYS_exit, code);
}

/* Called by each test itself, not as a cmocka setup: cmocka puts back its own SIGSYS handler
 * after a setup function, which would hide the reporter. */
static inline void prepare(void)
{
	struct bw_error err;

	if (seccomp_prepare(POLICY_SECCOMP_KILL, &err))
		fail_msg("%s", err.msg);
}

static inline int release(void **state)
{
	(void)state;
	seccomp_free_filters();
	return 0;
}

#endif
