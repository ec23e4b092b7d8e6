/* test_console_out.c: the console's output ring: order, wake-ups, a stalled or vanished reader,
 * sockets, files, the rate limit on a log, and the line at stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/console_out.h"

/* A test that blocks fails by SIGALRM instead of hanging the suite (the bug being guarded). */
#define NO_HANG_SECONDS 20

static void put_n(struct console_out *c, size_t n, uint8_t first)
{
	for (size_t i = 0; i < n; i++)
		console_out_put(c, (uint8_t)(first + i));
}

/* TOTAL bytes from a vCPU in steps of STEP, the main thread draining after each. */
static void flood(struct console_out *c, size_t total, size_t step)
{
	for (size_t done = 0; done < total; done += step) {
		put_n(c, step, 0);
		(void)console_out_drain(c);
	}
}

static int fifo_bytes(int fd)
{
	int n = -1;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

static uint64_t eventfd_take(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static void bytes_reach_the_output_in_order(void **state)
{
	struct console_out c;
	int p[2];
	char got[8] = {0};

	(void)state;
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(console_out_init(&c, p[1], false, false, -1, -1), 0);
	assert_int_equal(console_out_drain(&c), CONSOLE_WAIT_DATA);
	for (const char *s = "hello"; *s; s++)
		console_out_put(&c, (uint8_t)*s);
	assert_int_equal(console_out_drain(&c), CONSOLE_WAIT_DATA);
	assert_int_equal(read(p[0], got, sizeof(got)), 5);
	assert_string_equal(got, "hello");
	console_out_close(&c);
	close(p[0]);
	close(p[1]);
}

/* Only the first byte after a drain costs the vCPU a syscall (the eventfd's write). */
static void wakes_only_when_the_ring_was_empty(void **state)
{
	struct console_out c;
	int p[2], wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	(void)state;
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(console_out_init(&c, p[1], false, false, wake, -1), 0);
	put_n(&c, 3, 'a');
	assert_int_equal(eventfd_take(wake), 1);
	assert_int_equal(console_out_drain(&c), CONSOLE_WAIT_DATA);
	put_n(&c, 1, 'd');
	assert_int_equal(eventfd_take(wake), 1);
	console_out_close(&c);
	close(p[0]);
	close(p[1]);
}

/*
 * The finding: stdout is a blocking pipe (as a shell or ssh hands it over) whose reader stopped.
 * Before, the vCPU's write(2) waited for the reader under the UART's lock. Now the pipe is
 * reopened non-blocking for us alone: the pipe fills, then the ring, then bytes are counted.
 */
static void stalled_reader_costs_bytes_not_the_caller(void **state)
{
	struct console_out c;
	const size_t total = 3 * CONSOLE_OUT_RING;
	int p[2], in_pipe;

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	alarm(NO_HANG_SECONDS);
	assert_int_equal(console_out_open(&c, p[1]), 0);
	assert_true(c.private_fd);
	assert_false(c.blocking);
	/* The description the parent shares stays blocking: only ours is not. */
	assert_int_equal(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
	flood(&c, total, 4096);
	assert_int_equal(console_out_drain(&c), CONSOLE_WAIT_FD);
	in_pipe = fifo_bytes(p[0]);
	assert_true(in_pipe > 0);
	assert_int_equal(c.count, CONSOLE_OUT_RING);
	assert_int_equal(c.dropped[CONSOLE_DROP_STALLED],
			 total - (size_t)in_pipe - CONSOLE_OUT_RING);
	assert_int_equal(c.dropped[CONSOLE_DROP_RATE], 0);
	/* At stop, what the ring still holds cannot go out either: it counts as dropped. */
	console_out_finish(&c);
	assert_int_equal(c.dropped[CONSOLE_DROP_STALLED], total - (size_t)in_pipe);
	alarm(0);
	console_out_close(&c);
	close(p[0]);
	close(p[1]);
}

/* A socket (systemd's journal stream) cannot be reopened: it is written only when it polls
 * writable, in chunks it then takes whole, and its shared flags are left alone. */
static void socket_is_written_only_when_it_takes_more(void **state)
{
	struct console_out c;
	int sv[2], sndbuf = 4096;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	alarm(NO_HANG_SECONDS);
	assert_int_equal(console_out_open(&c, sv[1]), 0);
	assert_false(c.private_fd);
	assert_true(c.blocking);
	flood(&c, 2 * CONSOLE_OUT_RING, 1024);
	assert_int_equal(console_out_drain(&c), CONSOLE_WAIT_FD);
	assert_true(c.dropped[CONSOLE_DROP_STALLED] > 0);
	assert_int_equal(fcntl(sv[1], F_GETFL) & O_NONBLOCK, 0);
	alarm(0);
	console_out_close(&c);
	close(sv[0]);
	close(sv[1]);
}

/* A regular file keeps its description, so its offset (or O_APPEND) holds. */
static void file_keeps_its_offset(void **state)
{
	struct console_out c;
	FILE *f = tmpfile();
	char got[4] = {0};

	(void)state;
	assert_non_null(f);
	assert_int_equal(write(fileno(f), "x", 1), 1);
	assert_int_equal(console_out_open(&c, fileno(f)), 0);
	assert_false(c.private_fd);
	assert_false(c.blocking);
	assert_true(c.limited);
	put_n(&c, 1, 'y');
	assert_int_equal(console_out_drain(&c), CONSOLE_WAIT_DATA);
	assert_int_equal(pread(fileno(f), got, sizeof(got), 0), 2);
	assert_string_equal(got, "xy");
	console_out_close(&c);
	fclose(f);
}

/* What is not a terminal may be a log: a burst, then CONSOLE_OUT_RATE a second of the tick
 * clock (an eventfd stands in for the timerfd, so the test sets the time). */
static void log_gets_its_burst_then_its_rate(void **state)
{
	struct console_out c;
	FILE *f = tmpfile();
	int tick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t second = 1000000000ULL / CONSOLE_OUT_TICK_NS;
	size_t written = 0;
	enum console_wait w = CONSOLE_WAIT_DATA;

	(void)state;
	assert_non_null(f);
	assert_int_equal(console_out_init(&c, fileno(f), false, true, -1, tick), 0);
	while (written <= CONSOLE_OUT_BURST && w != CONSOLE_WAIT_TICK) {
		put_n(&c, 16384, 0);
		written += 16384;
		while ((w = console_out_drain(&c)) == CONSOLE_WAIT_FD)
			;
	}
	assert_int_equal(w, CONSOLE_WAIT_TICK);
	assert_int_equal(lseek(fileno(f), 0, SEEK_CUR), CONSOLE_OUT_BURST);
	/* Held back, not lost, until the ring is full; then dropped and charged to the rate. */
	put_n(&c, CONSOLE_OUT_RING - c.count + 5, 0);
	assert_int_equal(console_out_drain(&c), CONSOLE_WAIT_TICK);
	assert_int_equal(c.dropped[CONSOLE_DROP_RATE], 5);
	assert_int_equal(c.dropped[CONSOLE_DROP_STALLED], 0);
	/* One second later, one second's worth. */
	assert_int_equal(write(tick, &second, sizeof(second)), sizeof(second));
	while ((w = console_out_drain(&c)) == CONSOLE_WAIT_FD)
		;
	assert_int_equal(w, CONSOLE_WAIT_TICK);
	assert_int_equal(lseek(fileno(f), 0, SEEK_CUR), CONSOLE_OUT_BURST + CONSOLE_OUT_RATE);
	console_out_close(&c);
	fclose(f);
}

/* A reader that went away (EPIPE) is said once; what follows is dropped, never retried. */
static void vanished_reader_drops_from_then_on(void **state)
{
	struct console_out c;
	int p[2];

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	close(p[0]);
	assert_int_equal(console_out_init(&c, p[1], false, false, -1, -1), 0);
	put_n(&c, 10, 0);
	assert_int_equal(console_out_drain(&c), CONSOLE_WAIT_DATA);
	assert_true(c.gone);
	put_n(&c, 10, 0);
	assert_int_equal(console_out_drain(&c), CONSOLE_WAIT_DATA);
	assert_int_equal(c.dropped[CONSOLE_DROP_STALLED], 20);
	console_out_close(&c);
	close(p[1]);
}

/* The line at stop: one, with the count; none when nothing was dropped. */
static void finish_says_what_was_dropped(void **state)
{
	struct console_out c;
	int p[2], err[2], saved = dup(STDERR_FILENO);
	char line[256] = {0};

	(void)state;
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(console_out_init(&c, p[1], false, false, -1, -1), 0);
	dup2(err[1], STDERR_FILENO);
	console_out_finish(&c);
	assert_int_equal(read(err[0], line, sizeof(line)), -1);
	c.dropped[CONSOLE_DROP_STALLED] = 7;
	console_out_finish(&c);
	dup2(saved, STDERR_FILENO);
	assert_true(read(err[0], line, sizeof(line) - 1) > 0);
	assert_string_equal(line, "bulwark: console: 7 bytes dropped, reader stalled\n");
	console_out_close(&c);
	close(saved);
	close(p[0]);
	close(p[1]);
	close(err[0]);
	close(err[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bytes_reach_the_output_in_order),
	    cmocka_unit_test(wakes_only_when_the_ring_was_empty),
	    cmocka_unit_test(stalled_reader_costs_bytes_not_the_caller),
	    cmocka_unit_test(socket_is_written_only_when_it_takes_more),
	    cmocka_unit_test(file_keeps_its_offset),
	    cmocka_unit_test(log_gets_its_burst_then_its_rate),
	    cmocka_unit_test(vanished_reader_drops_from_then_on),
	    cmocka_unit_test(finish_says_what_was_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
