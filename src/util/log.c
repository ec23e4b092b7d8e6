/* log.c: one-line diagnostics on stderr, written with a single write(2) so threads never interleave. */
#include "util/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_BYTES 1024
#define PREFIX_BYTES 3 /* "<N>" */

/* A copy: the config that named the VM may be freed while lines are still written. */
static char vm_name[72];
static enum log_level max_level = LOG_INFO;
static bool journal;

void log_set_vm_name(const char *name)
{
	snprintf(vm_name, sizeof(vm_name), "%s", name ? name : "");
}

void log_set_level(enum log_level max)
{
	max_level = max;
}

int log_wants(enum log_level level)
{
	return level <= max_level;
}

bool log_journal_stream(int fd)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (!e || *e < '0' || *e > '9')
		return false;
	dev = strtoull(e, &end, 10);
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return false;
	ino = strtoull(end + 1, &end, 10);
	if (*end != '\0')
		return false;
	/* A service may redirect FD to a file and keep the variable: then it is no journal. */
	return fstat(fd, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_detect_journal(void)
{
	journal = log_journal_stream(STDERR_FILENO);
}

/* Writes BUF, whose first PREFIX_BYTES are room for the priority, with or without it. */
static void write_prefixed(int priority, char *buf, size_t len)
{
	size_t skip = PREFIX_BYTES;

	if (journal) {
		buf[0] = '<';
		buf[1] = (char)('0' + (priority & 7));
		buf[2] = '>';
		skip = 0;
	}
	/* One write per line: lines from different threads stay whole. */
	(void)!write(STDERR_FILENO, buf + skip, len + PREFIX_BYTES - skip);
}

void log_write_line(int priority, const char *line, size_t len)
{
	char buf[PREFIX_BYTES + LINE_MAX_BYTES];

	if (len > LINE_MAX_BYTES)
		len = LINE_MAX_BYTES;
	memcpy(buf + PREFIX_BYTES, line, len);
	write_prefixed(priority, buf, len);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tags[] = {"error: ", "warning: ", "", "debug: "};
	static const int priorities[] = {LOG_PRIORITY_ERROR, 4, 6, 7}; /* warning, info, debug */
	char buf[PREFIX_BYTES + LINE_MAX_BYTES];
	char *line = buf + PREFIX_BYTES;
	const size_t size = LINE_MAX_BYTES;
	int n;
	va_list ap;

	if (level > max_level)
		return;
	if (vm_name[0])
		n = snprintf(line, size, "bulwark: %s: %s", vm_name, tags[level]);
	else
		n = snprintf(line, size, "bulwark: %s", tags[level]);
	if (n < 0 || (size_t)n >= size)
		n = 0;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, size - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > size - 2)
		n = (int)size - 2;
	line[n++] = '\n';
	write_prefixed(priorities[level], buf, (size_t)n);
}

const char *log_signal_name(int sig)
{
	const char *n = sig ? sigabbrev_np(sig) : NULL;

	return n ? n : "?";
}
