/* test_notify.c: the service manager's notify socket: connecting, messages, the watchdog period. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/notify.h"

static char dir[] = "/tmp/bulwark-test-notify.XXXXXX";
static char path[128];
static int listener = -1;

/* A datagram socket at PATH ("@..." for the abstract namespace) playing systemd's part. */
static int listen_at(const char *where)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(where);

	memcpy(sa.sun_path, where, len);
	if (where[0] == '@')
		sa.sun_path[0] = '\0';
	listener = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sa,
				 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)))
		return -1;
	return 0;
}

/* The next message, or "" when none waits. */
static const char *received(void)
{
	static char msg[600];
	ssize_t n = recv(listener, msg, sizeof(msg) - 1, MSG_DONTWAIT);

	msg[n > 0 ? n : 0] = '\0';
	return msg;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/notify", dir);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	notify_close();
	if (listener >= 0)
		close(listener);
	listener = -1;
	unlink(path);
	rmdir(dir);
	strcpy(dir + strlen(dir) - 6, "XXXXXX");
	return 0;
}

/* Not started by systemd: nothing to connect, nothing sent, no watchdog, no error. */
static void test_no_socket(void **state)
{
	struct bw_error err;

	(void)state;
	setenv("WATCHDOG_USEC", "2000000", 1);
	assert_int_equal(notify_open(&err), 0);
	assert_int_equal(notify_fd(), -1);
	assert_int_equal(notify_watchdog_every_usec(), 0);
	notify_send("READY=1"); /* does nothing */
	assert_null(getenv("WATCHDOG_USEC"));
}

/* Messages arrive whole, one datagram each; the variables are gone from the environment (the
 * guest-facing processes of a VMM have no business with them). */
static void test_messages(void **state)
{
	struct bw_error err;

	(void)state;
	assert_int_equal(listen_at(path), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "3000000", 1);
	assert_int_equal(notify_open(&err), 0);
	assert_true(notify_fd() > 2);
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_int_equal(notify_watchdog_every_usec(), 1500000);
	notify_send("READY=1\nSTATUS=running, %u vCPUs", 2u);
	notify_send("WATCHDOG=1");
	assert_string_equal(received(), "READY=1\nSTATUS=running, 2 vCPUs");
	assert_string_equal(received(), "WATCHDOG=1");
	assert_string_equal(received(), "");
	/* The listener went away (systemd restarted): sending fails quietly. */
	close(listener);
	listener = -1;
	notify_send("STOPPING=1");
}

static void test_abstract_and_watchdog_pid(void **state)
{
	struct bw_error err;
	char name[64], pid[24];

	(void)state;
	snprintf(name, sizeof(name), "@bulwark-test-notify-%d", (int)getpid());
	assert_int_equal(listen_at(name), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	setenv("WATCHDOG_USEC", "1000000", 1);
	setenv("WATCHDOG_PID", "1", 1); /* meant for another process */
	assert_int_equal(notify_open(&err), 0);
	assert_int_equal(notify_watchdog_every_usec(), 0);
	notify_send("STATUS=x");
	assert_string_equal(received(), "STATUS=x");
	notify_close();

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("NOTIFY_SOCKET", name, 1);
	setenv("WATCHDOG_USEC", "1000000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(notify_open(&err), 0);
	assert_int_equal(notify_watchdog_every_usec(), 500000);
}

/* A socket that is not there, or a value that names no socket: the host's fault, said. */
static void test_bad_socket(void **state)
{
	struct bw_error err;

	(void)state;
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(notify_open(&err), -1);
	assert_int_equal(err.kind, BW_ERR_HOST);
	assert_non_null(strstr(err.msg, "/notify: cannot connect: No such file or directory"));
	assert_int_equal(notify_fd(), -1);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(notify_open(&err), -1);
	assert_non_null(strstr(err.msg, "expected an absolute path or an abstract name"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_no_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_messages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abstract_and_watchdog_pid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_socket, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
