/* policy_test.h: what the policy parser's unit tests share: one parse, its refusal, cleanup. */
#ifndef BULWARK_POLICY_TEST_H
#define BULWARK_POLICY_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"

/* A valid limits section, for tests about the other sections. */
#define LIMITS "limits:\n  vcpus_max: 4\n  memory_max: 1GiB\n"

static struct policy pol;
static struct bw_error err;

static inline int parse_policy(const char *text)
{
	memset(&err, 0, sizeof(err));
	return policy_parse("p.yaml", text, strlen(text), &pol, &err);
}

static inline void parse_ok(const char *text)
{
	if (parse_policy(text) != 0)
		fail_msg("refused %s: %s", text, err.msg);
}

/* Refused with exactly MSG, and nothing left behind. */
static inline void refused(const char *text, const char *msg)
{
	static const struct policy zero;

	if (parse_policy(text) != -1)
		fail_msg("accepted %s", text);
	if (strcmp(err.msg, msg) != 0)
		fail_msg("for %s\n got: %s\nwant: %s", text, err.msg, msg);
	assert_memory_equal(&pol, &zero, sizeof(pol));
}

/* Refused with a message that starts with PREFIX. */
static inline void refused_with(const char *text, const char *prefix)
{
	if (parse_policy(text) != -1)
		fail_msg("accepted %s", text);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
		fail_msg("for %s\n got: %s\nwant: %s...", text, err.msg, prefix);
}

static inline int teardown(void **state)
{
	(void)state;
	policy_free(&pol);
	return 0;
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

#endif
