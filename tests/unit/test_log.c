/* test_log.c: log lines on stderr, with their syslog priority when stderr is the journal's stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

static char path[] = "/tmp/bulwark-test-log.XXXXXX";
static int saved_stderr = -1;
static char got[4096];

/* stderr goes to a fresh temporary file; JOURNAL_STREAM is unset. */
static int setup(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	if (fd < 0)
		return -1;
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	unsetenv("JOURNAL_STREAM");
	log_detect_journal();
	log_set_vm_name(NULL);
	log_set_level(LOG_INFO);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	unlink(path);
	strcpy(path + strlen(path) - 6, "XXXXXX");
	return 0;
}

/* What was written to stderr so far, as a string. */
static const char *written(void)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, got, sizeof(got) - 1);

	if (fd >= 0)
		close(fd);
	got[n > 0 ? n : 0] = '\0';
	return got;
}

/* Sets JOURNAL_STREAM to "DEV:INO" of stderr (plus SUFFIX), then detects. */
static void journal_is_stderr(const char *suffix)
{
	struct stat st;
	char v[64];

	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu%s", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino, suffix);
	setenv("JOURNAL_STREAM", v, 1);
	log_detect_journal();
}

static void emit_all(void)
{
	char name[] = "web";

	log_set_vm_name(name);
	name[0] = 'X'; /* the caller's string may change or be freed: the name is a copy */
	log_err("e %d", 1);
	log_warn("w");
	log_info("i");
	log_debug("d (not shown)");
	log_write_line(LOG_PRIORITY_NOTICE, "{\"event\":\"net-drop\"}\n", 21);
}

static void test_plain_stderr(void **state)
{
	(void)state;
	log_detect_journal();
	emit_all();
	assert_string_equal(written(), "bulwark: web: error: e 1\n"
				       "bulwark: web: warning: w\n"
				       "bulwark: web: i\n"
				       "{\"event\":\"net-drop\"}\n");
}

static void test_journal_gets_priorities(void **state)
{
	(void)state;
	journal_is_stderr("");
	emit_all();
	assert_string_equal(written(), "<3>bulwark: web: error: e 1\n"
				       "<4>bulwark: web: warning: w\n"
				       "<6>bulwark: web: i\n"
				       "<5>{\"event\":\"net-drop\"}\n");
	log_set_level(LOG_DEBUG);
	log_debug("d");
	assert_non_null(strstr(written(), "\n<7>bulwark: web: debug: d\n"));
}

/* A stream that is not stderr (a unit that sent stderr to a file), or a malformed variable:
 * no prefix, which would otherwise land in the file as text. */
static void test_not_the_journal(void **state)
{
	(void)state;
	setenv("JOURNAL_STREAM", "8:1234567", 1);
	log_detect_journal();
	log_err("a");
	journal_is_stderr("x");
	log_err("b");
	setenv("JOURNAL_STREAM", ":", 1);
	log_detect_journal();
	log_err("c");
	assert_string_equal(written(), "bulwark: error: a\nbulwark: error: b\nbulwark: error: c\n");
}

/* An overlong line is cut, still one line, still with its priority. */
static void test_long_line(void **state)
{
	char big[3000];
	const char *w;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	journal_is_stderr("");
	log_err("%s", big);
	w = written();
	assert_int_equal(strncmp(w, "<3>bulwark: error: xxx", 22), 0);
	assert_int_equal(strlen(w), 3 + 1023);
	assert_ptr_equal(strchr(w, '\n'), w + strlen(w) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_plain_stderr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_gets_priorities, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_the_journal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
