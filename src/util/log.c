/* log.c: one-line diagnostics on stderr, written with a single write(2) so threads never interleave. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static const char *vm_name;
static enum log_level max_level = LOG_INFO;

void log_set_vm_name(const char *name)
{
	vm_name = name;
}

void log_set_level(enum log_level max)
{
	max_level = max;
}

int log_wants(enum log_level level)
{
	return level <= max_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tags[] = {"error: ", "warning: ", "", "debug: "};
	char line[1024];
	int n;
	va_list ap;

	if (level > max_level)
		return;
	if (vm_name)
		n = snprintf(line, sizeof(line), "bulwark: %s: %s", vm_name, tags[level]);
	else
		n = snprintf(line, sizeof(line), "bulwark: %s", tags[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line: lines from different threads stay whole. */
	(void)!write(STDERR_FILENO, line, (size_t)n);
}
