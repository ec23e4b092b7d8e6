/* config_test.h: what the config parser's unit tests share: one parse, its refusal, cleanup. */
#ifndef BULWARK_CONFIG_TEST_H
#define BULWARK_CONFIG_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static struct vm_config cfg;
static struct bw_error err;

static inline int parse_as(const char *path, const char *text)
{
	memset(&err, 0, sizeof(err));
	return config_parse(path, text, strlen(text), &cfg, &err);
}

static inline void parse_ok(const char *text)
{
	if (parse_as("vm.yaml", text) != 0)
		fail_msg("refused %s: %s", text, err.msg);
}

static inline void assert_cfg_empty(void)
{
	static const struct vm_config zero;

	assert_memory_equal(&cfg, &zero, sizeof(cfg));
}

/* Refused with exactly MSG, and nothing left behind. */
static inline void refused(const char *text, const char *msg)
{
	if (parse_as("vm.yaml", text) != -1)
		fail_msg("accepted %s", text);
	assert_string_equal(err.msg, msg);
	assert_cfg_empty();
}

/* Refused with a message that starts with PREFIX. */
static inline void refused_with(const char *text, const char *prefix)
{
	if (parse_as("vm.yaml", text) != -1)
		fail_msg("accepted %s", text);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
		fail_msg("for %s\n got: %s\nwant: %s...", text, err.msg, prefix);
	assert_cfg_empty();
}

static inline int teardown(void **state)
{
	(void)state;
	config_free(&cfg);
	return 0;
}

static inline char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

#endif
