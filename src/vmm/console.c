/* console.c: the host terminal as the guest's serial console: raw mode, input, escape key. */
#include "vmm/console.h"
#include "util/bytes.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_termios;
static int saved_fd = -1;

void console_restore(void)
{
	/* tcsetattr is async-signal-safe, so this may run from a fatal-signal handler. */
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSAFLUSH, &saved_termios);
}

static void fatal_signal(int sig)
{
	console_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

int console_init(struct console *c, int in_fd)
{
	static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	struct termios raw;

	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	if (!isatty(in_fd))
		return 0;
	if (tcgetattr(in_fd, &saved_termios))
		return -errno;
	saved_fd = in_fd;
	atexit(console_restore);
	for (size_t i = 0; i < ARRAY_SIZE(fatal); i++)
		signal(fatal[i], fatal_signal);
	raw = saved_termios;
	cfmakeraw(&raw);
	/* Keep output post-processing so bulwark's own log lines still start at column 0. */
	raw.c_oflag |= OPOST;
	if (tcsetattr(in_fd, TCSAFLUSH, &raw))
		return -errno;
	c->interactive = true;
	return 0;
}

size_t console_filter(struct console *c, const uint8_t *in, size_t n, uint8_t *out, bool *quit)
{
	size_t o = 0;

	*quit = false;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = in[i];

		if (c->escape) {
			c->escape = false;
			if (b == CONSOLE_QUIT_KEY || b == (CONSOLE_QUIT_KEY & 0x1f)) {
				*quit = true;
				return o;
			}
			out[o++] = b; /* Ctrl-A Ctrl-A gives one Ctrl-A; Ctrl-A c gives c */
			continue;
		}
		if (b == CONSOLE_ESCAPE) {
			c->escape = true;
			continue;
		}
		out[o++] = b;
	}
	return o;
}
