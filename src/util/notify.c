/* notify.c: telling the service manager how the VM is doing (sd_notify(3)'s protocol). */
#include "util/notify.h"

#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fd = -1;
static uint64_t watchdog_usec;

/* WATCHDOG_USEC when it is meant for this process (WATCHDOG_PID unset or ours), else 0. */
static uint64_t watchdog_period(void)
{
	const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	unsigned long long v;

	if (!us || *us < '1' || *us > '9')
		return 0;
	if (pid && strtoll(pid, &end, 10) != (long long)getpid())
		return 0;
	v = strtoull(us, &end, 10);
	return *end == '\0' ? v : 0;
}

int notify_open(struct bw_error *err)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;

	watchdog_usec = watchdog_period();
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (!path || !*path) {
		watchdog_usec = 0;
		return 0;
	}
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
		return bw_errorf(err, BW_ERR_HOST,
				 "NOTIFY_SOCKET: expected an absolute path or an abstract name "
				 "(\"@...\") of at most %zu bytes, got \"%s\"",
				 sizeof(sa.sun_path) - 1, path);
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len))) {
		int e = errno;

		notify_close();
		return bw_errorf(err, BW_ERR_HOST, "NOTIFY_SOCKET %s: cannot connect: %s", path,
				 strerror(e));
	}
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

int notify_fd(void)
{
	return fd;
}

uint64_t notify_watchdog_every_usec(void)
{
	return fd >= 0 ? watchdog_usec / 2 : 0;
}

void notify_send(const char *fmt, ...)
{
	static bool warned;
	char msg[512];
	va_list ap;
	int n;

	if (fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = (int)strnlen(msg, sizeof(msg));
	/* A datagram: the message arrives whole or not at all. */
	if (write(fd, msg, (size_t)n) != n && !warned) {
		warned = true;
		log_debug("notify: cannot tell the service manager: %s", strerror(errno));
	}
}

void notify_close(void)
{
	if (fd >= 0)
		close(fd);
	fd = -1;
}
