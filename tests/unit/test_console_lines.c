/* test_console_lines.c: the console's output on the journal: whole lines with bulwark's priority
 * only, a partial line held for its '\n' within bounds; anything else gets a partial line at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/console_out.h"
#include "util/log.h"

/* A seqpacket socket stands in for the journal's stream: each recv is one write(2), so the
 * tests see where every write ends. */
struct journal {
	struct console_out c;
	int sv[2];
	int wake, tick;
};

static int setup(void **state)
{
	struct journal *j = calloc(1, sizeof(*j));

	if (!j || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, j->sv))
		return -1;
	j->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	j->tick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (console_out_init(&j->c, j->sv[1], false, false, j->wake, j->tick))
		return -1;
	j->c.lines = true;
	*state = j;
	return 0;
}

static int teardown(void **state)
{
	struct journal *j = *state;

	console_out_close(&j->c); /* closes wake and tick */
	close(j->sv[0]);
	close(j->sv[1]);
	free(j);
	return 0;
}

static void put_str(struct console_out *c, const char *s)
{
	for (; *s; s++)
		console_out_put(c, (uint8_t)*s);
}

/* The next write that reached the journal, as a string; "" when there is none. */
static const char *next_write(struct journal *j)
{
	static char got[2 * CONSOLE_OUT_LINE];
	ssize_t n = recv(j->sv[0], got, sizeof(got) - 1, 0);

	got[n > 0 ? n : 0] = '\0';
	return got;
}

static uint64_t take(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static void add_ticks(struct journal *j, uint64_t n)
{
	assert_int_equal(write(j->tick, &n, sizeof(n)), sizeof(n));
}

static void whole_lines_go_through(void **state)
{
	struct journal *j = *state;

	put_str(&j->c, "one\ntwo\n");
	assert_int_equal(console_out_drain(&j->c), CONSOLE_WAIT_DATA);
	assert_string_equal(next_write(j), "<6>one\n<6>two\n");
	assert_string_equal(next_write(j), "");
}

/* The finding: part of a guest's line, then a log line on the same stream, made one entry. */
static void partial_line_waits_for_its_end(void **state)
{
	struct journal *j = *state;
	int saved = dup(STDERR_FILENO);

	put_str(&j->c, "boot\n[    3.615398] Key typ");
	assert_int_equal(take(j->wake), 1);
	assert_int_equal(console_out_drain(&j->c), CONSOLE_WAIT_TICK);
	assert_string_equal(next_write(j), "<6>boot\n");
	assert_string_equal(next_write(j), "");
	dup2(j->sv[1], STDERR_FILENO);
	log_warn("stopped by SIGTERM");
	dup2(saved, STDERR_FILENO);
	close(saved);
	/* The rest of the line wakes the main thread though the ring was not empty. */
	put_str(&j->c, "e\n");
	assert_int_equal(take(j->wake), 1);
	assert_int_equal(console_out_drain(&j->c), CONSOLE_WAIT_DATA);
	assert_string_equal(next_write(j), "bulwark: warning: stopped by SIGTERM\n");
	assert_string_equal(next_write(j), "<6>[    3.615398] Key type\n");
	assert_int_equal(j->c.dropped[CONSOLE_DROP_STALLED] + j->c.dropped[CONSOLE_DROP_RATE], 0);
}

/* A guest that never ends its line gets it cut: no write longer than CONSOLE_OUT_LINE. */
static void overlong_line_is_cut(void **state)
{
	struct journal *j = *state;
	char cut[CONSOLE_OUT_LINE + 1] = "<6>";
	const size_t room = CONSOLE_OUT_LINE - 4; /* the priority and the '\n' take the rest */
	const size_t total = 2 * room + 100;

	for (size_t i = 0; i < total; i++)
		console_out_put(&j->c, 'x');
	memset(cut + 3, 'x', room);
	cut[CONSOLE_OUT_LINE - 1] = '\n';
	cut[CONSOLE_OUT_LINE] = '\0';
	assert_int_equal(console_out_drain(&j->c), CONSOLE_WAIT_TICK);
	assert_string_equal(next_write(j), cut);
	assert_string_equal(next_write(j), cut);
	assert_string_equal(next_write(j), "");
	assert_int_equal(j->c.count, 100);
}

/* A line that wraps round the ring's end still goes in one write. */
static void wrapped_line_is_one_write(void **state)
{
	struct journal *j = *state;

	j->c.head = CONSOLE_OUT_RING - 3;
	put_str(&j->c, "abcdef\n");
	assert_int_equal(console_out_drain(&j->c), CONSOLE_WAIT_DATA);
	assert_string_equal(next_write(j), "<6>abcdef\n");
}

/* A prompt shows up about a second later, as a line of its own. */
static void held_line_goes_out_after_a_while(void **state)
{
	struct journal *j = *state;

	put_str(&j->c, "login: ");
	assert_int_equal(console_out_drain(&j->c), CONSOLE_WAIT_TICK);
	add_ticks(j, CONSOLE_OUT_HOLD_TICKS - 1);
	assert_int_equal(console_out_drain(&j->c), CONSOLE_WAIT_TICK);
	assert_string_equal(next_write(j), "");
	add_ticks(j, 1);
	assert_int_equal(console_out_drain(&j->c), CONSOLE_WAIT_DATA);
	assert_string_equal(next_write(j), "<6>login: \n");
	/* The next partial line waits its own second. */
	put_str(&j->c, "x");
	assert_int_equal(console_out_drain(&j->c), CONSOLE_WAIT_TICK);
	add_ticks(j, CONSOLE_OUT_HOLD_TICKS - 1);
	assert_int_equal(console_out_drain(&j->c), CONSOLE_WAIT_TICK);
	assert_string_equal(next_write(j), "");
}

/* At stop, what the guest left unfinished goes out, ended; nothing is counted as dropped. */
static void finish_ends_the_held_line(void **state)
{
	struct journal *j = *state;

	put_str(&j->c, "a\nreboot: Power dow");
	assert_int_equal(console_out_drain(&j->c), CONSOLE_WAIT_TICK);
	assert_string_equal(next_write(j), "<6>a\n");
	console_out_finish(&j->c);
	assert_string_equal(next_write(j), "<6>reboot: Power dow\n");
	assert_int_equal(j->c.count, 0);
	assert_int_equal(j->c.dropped[CONSOLE_DROP_STALLED] + j->c.dropped[CONSOLE_DROP_RATE], 0);
}

/* Out of rate credit, the journal gets the whole lines the credit covers, never part of one. */
static void rate_limit_takes_whole_lines(void **state)
{
	struct journal *j = *state;
	char line[101];
	enum console_wait w = CONSOLE_WAIT_DATA;
	size_t got = 0;
	const char *s;

	j->c.limited = true;
	memset(line, 'r', 99);
	line[99] = '\n';
	line[100] = '\0';
	for (int i = 0; i < 2 * CONSOLE_OUT_BURST / 100 && w != CONSOLE_WAIT_TICK; i++) {
		put_str(&j->c, line);
		while ((w = console_out_drain(&j->c)) == CONSOLE_WAIT_FD)
			;
		while (*(s = next_write(j))) {
			assert_int_equal(strlen(s) % 103, 0); /* "<6>" and a line of 100 */
			assert_int_equal(s[strlen(s) - 1], '\n');
		}
	}
	assert_int_equal(w, CONSOLE_WAIT_TICK);
	for (int i = 0; i < 40; i++)
		put_str(&j->c, line);
	add_ticks(j, 1);
	while ((w = console_out_drain(&j->c)) == CONSOLE_WAIT_FD)
		;
	assert_int_equal(w, CONSOLE_WAIT_TICK);
	while (*(s = next_write(j))) {
		assert_int_equal(s[strlen(s) - 1], '\n');
		got += strlen(s);
	}
	assert_int_equal(got % 103, 0);
	/* One tick of credit, and what the last line before it could not spend. */
	assert_true(got > 0 && got < CONSOLE_OUT_RATE / 10 + 103);
}

/* Lines about as long as a write takes, '\n' included: each goes out, whole or cut, never as an
 * empty write the main loop would spin on. */
static void lines_at_the_limit_go_out(void **state)
{
	struct journal *j = *state;

	for (size_t len = CONSOLE_OUT_LINE - 6; len <= CONSOLE_OUT_LINE + 1; len++) {
		size_t got = 0;
		const char *s;

		for (size_t i = 0; i < len; i++)
			console_out_put(&j->c, 'y');
		console_out_put(&j->c, '\n');
		for (int round = 0; round < 4 && j->c.count; round++)
			console_out_drain(&j->c);
		assert_int_equal(j->c.count, 0);
		while (*(s = next_write(j))) {
			assert_true(strlen(s) <= CONSOLE_OUT_LINE);
			assert_memory_equal(s, "<6>", 3);
			assert_int_equal(s[strlen(s) - 1], '\n');
			got += strlen(s) - 4;
		}
		assert_int_equal(got, len); /* every 'y' came out */
	}
}

/* A guest cannot choose its lines' priority: "<0>" (an emergency, broadcast to every terminal)
 * stays in its message, behind bulwark's "<6>". */
static void guest_priority_stays_text(void **state)
{
	struct journal *j = *state;

	put_str(&j->c, "<0>panic!\n<3>x\n");
	assert_int_equal(console_out_drain(&j->c), CONSOLE_WAIT_DATA);
	assert_string_equal(next_write(j), "<6><0>panic!\n<6><3>x\n");
}

/* Not the journal (a terminal, a file, a pipe): a partial line goes out at once, as before. */
static void elsewhere_partial_line_at_once(void **state)
{
	struct journal *j = *state;

	j->c.lines = false;
	put_str(&j->c, "login: ");
	assert_int_equal(console_out_drain(&j->c), CONSOLE_WAIT_DATA);
	assert_string_equal(next_write(j), "login: ");
}

/* console_out_open() knows the journal by JOURNAL_STREAM, as the log does for stderr. */
static void open_detects_the_journal(void **state)
{
	struct console_out c;
	struct stat st;
	char v[64];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	unsetenv("JOURNAL_STREAM");
	assert_int_equal(console_out_open(&c, sv[1]), 0);
	assert_false(c.lines);
	console_out_close(&c);
	assert_int_equal(fstat(sv[1], &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	assert_int_equal(console_out_open(&c, sv[1]), 0);
	assert_true(c.lines);
	console_out_close(&c);
	/* Another stream named (stderr's journal while stdout went to a file): no. */
	assert_int_equal(console_out_open(&c, sv[0]), 0);
	assert_false(c.lines);
	console_out_close(&c);
	unsetenv("JOURNAL_STREAM");
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(whole_lines_go_through, setup, teardown),
	    cmocka_unit_test_setup_teardown(partial_line_waits_for_its_end, setup, teardown),
	    cmocka_unit_test_setup_teardown(overlong_line_is_cut, setup, teardown),
	    cmocka_unit_test_setup_teardown(wrapped_line_is_one_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(held_line_goes_out_after_a_while, setup, teardown),
	    cmocka_unit_test_setup_teardown(finish_ends_the_held_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(rate_limit_takes_whole_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(guest_priority_stays_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(lines_at_the_limit_go_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(elsewhere_partial_line_at_once, setup, teardown),
	    cmocka_unit_test(open_detects_the_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
