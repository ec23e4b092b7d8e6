/* test_config.c: the VM config parser, its refusals and their exact FILE:LINE:COLUMN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static struct vm_config cfg;
static struct config_error err;

static int parse_as(const char *path, const char *text)
{
	memset(&err, 0, sizeof(err));
	return config_parse(path, text, strlen(text), &cfg, &err);
}

static void parse_ok(const char *text)
{
	if (parse_as("vm.yaml", text) != 0)
		fail_msg("refused %s: %s", text, err.msg);
}

static void assert_cfg_empty(void)
{
	static const struct vm_config zero;

	assert_memory_equal(&cfg, &zero, sizeof(cfg));
}

/* Refused with exactly MSG, and nothing left behind. */
static void refused(const char *text, const char *msg)
{
	if (parse_as("vm.yaml", text) != -1)
		fail_msg("accepted %s", text);
	assert_string_equal(err.msg, msg);
	assert_cfg_empty();
}

/* Refused with a message that starts with PREFIX. */
static void refused_with(const char *text, const char *prefix)
{
	if (parse_as("vm.yaml", text) != -1)
		fail_msg("accepted %s", text);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
		fail_msg("for %s\n got: %s\nwant: %s...", text, err.msg, prefix);
	assert_cfg_empty();
}

static int teardown(void **state)
{
	(void)state;
	config_free(&cfg);
	return 0;
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_minimal_uses_defaults(void **state)
{
	(void)state;
	parse_ok("name: demo\nkernel: bzImage\n");
	assert_string_equal(cfg.path, "vm.yaml");
	assert_string_equal(cfg.name, "demo");
	assert_int_equal(cfg.vcpus, CONFIG_DEFAULT_VCPUS);
	assert_int_equal(cfg.memory, CONFIG_DEFAULT_MEMORY);
	assert_string_equal(cfg.kernel, "bzImage");
	assert_null(cfg.initrd);
	assert_string_equal(cfg.cmdline, CONFIG_DEFAULT_CMDLINE);
	assert_int_equal(cfg.loc_name.line, 1);
	assert_int_equal(cfg.loc_name.column, 7);
	assert_int_equal(cfg.loc_vcpus.line, 0);
	assert_int_equal(cfg.loc_memory.line, 0);
	assert_int_equal(cfg.loc_cmdline.line, 0);
}

static void test_all_fields_and_locations(void **state)
{
	(void)state;
	parse_ok("# a VM\n"
		 "name: web-01\n"
		 "vcpus: 4\n"
		 "memory: 1GiB\n"
		 "kernel: /boot/bzImage\n"
		 "initrd:   /boot/initrd\n"
		 "cmdline: \"console=ttyS0 quiet\"\n");
	assert_string_equal(cfg.name, "web-01");
	assert_int_equal(cfg.vcpus, 4);
	assert_int_equal(cfg.memory, 1ULL << 30);
	assert_string_equal(cfg.kernel, "/boot/bzImage");
	assert_string_equal(cfg.initrd, "/boot/initrd");
	assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
	assert_int_equal(cfg.loc_vcpus.line, 3);
	assert_int_equal(cfg.loc_vcpus.column, 8);
	assert_int_equal(cfg.loc_memory.line, 4);
	assert_int_equal(cfg.loc_memory.column, 9);
	assert_int_equal(cfg.loc_initrd.line, 6);
	assert_int_equal(cfg.loc_initrd.column, 11);
	assert_int_equal(cfg.loc_cmdline.line, 7);
}

static void test_memory_units_and_bounds(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} good[] = {
	    {"256MiB", 256ULL << 20},	  {"1GiB", 1ULL << 30},		{"524288KiB", 512ULL << 20},
	    {"16MiB", 16ULL << 20},	  {"16388KiB", 16388ULL << 10}, {"1024GiB", 1ULL << 40},
	    {"\"512MiB\"", 512ULL << 20},
	};
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "name: a\nkernel: k\nmemory: %s\n", good[i].text);
		parse_ok(text);
		assert_int_equal(cfg.memory, good[i].bytes);
		config_free(&cfg);
	}
}

static void test_vcpus_bounds(void **state)
{
	(void)state;
	parse_ok("name: a\nkernel: k\nvcpus: 1\n");
	assert_int_equal(cfg.vcpus, 1);
	config_free(&cfg);
	parse_ok("name: a\nkernel: k\nvcpus: 254\n");
	assert_int_equal(cfg.vcpus, CONFIG_VCPUS_MAX);
}

static void test_name_forms(void **state)
{
	char text[128], *longest = repeat('z', CONFIG_NAME_MAX);

	(void)state;
	snprintf(text, sizeof(text), "name: %s\nkernel: k\n", longest);
	parse_ok(text);
	assert_string_equal(cfg.name, longest);
	config_free(&cfg);
	/* Quoted, a YAML boolean is just text. */
	parse_ok("name: 'no'\nkernel: \"yes\"\n");
	assert_string_equal(cfg.name, "no");
	assert_string_equal(cfg.kernel, "yes");
	config_free(&cfg);
	parse_ok("name: 0-a-9\nkernel: k\n");
	assert_string_equal(cfg.name, "0-a-9");
	free(longest);
}

static void test_other_yaml_forms(void **state)
{
	(void)state;
	parse_ok("{\"name\": a, 'kernel': k, vcpus: 2}");
	assert_string_equal(cfg.name, "a");
	assert_int_equal(cfg.vcpus, 2);
	config_free(&cfg);
	parse_ok("%YAML 1.1\n---\nname: a # comment\nkernel: k\n...\n");
	config_free(&cfg);
	parse_ok("name: a\nkernel: k\ncmdline: >-\n  console=ttyS0\n  quiet\n");
	assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
}

static void test_missing_required(void **state)
{
	(void)state;
	refused("kernel: k\n", "vm.yaml:1:1: name: required field is missing");
	refused("# header\n\nname: a\n", "vm.yaml:3:1: kernel: required field is missing");
	refused("{}", "vm.yaml:1:1: name: required field is missing");
}

static void test_unknown_key(void **state)
{
	(void)state;
	refused("name: a\nkernel: k\n\n\n\n\nfrobnicate: 1\n",
		"vm.yaml:7:1: frobnicate: unknown key (expected one of name, vcpus, memory, "
		"kernel, initrd, cmdline)");
	/* Keys are case-sensitive. */
	refused_with("Name: a\n", "vm.yaml:1:1: Name: unknown key");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	refused("name: a\nkernel: k\nname: b\n",
		"vm.yaml:3:1: name: duplicate key (first given on line 1)");
}

static void test_top_level_not_mapping(void **state)
{
	(void)state;
	refused("just text\n", "vm.yaml:1:1: yaml: expected a mapping at the top level");
	refused("- name: a\n", "vm.yaml:1:1: yaml: expected a mapping at the top level");
	refused("---\n", "vm.yaml:2:1: yaml: expected a mapping at the top level");
}

static void test_empty_file(void **state)
{
	(void)state;
	refused("", "vm.yaml:1:1: yaml: the file is empty, expected a mapping");
	refused("# only a comment\n\n", "vm.yaml:1:1: yaml: the file is empty, expected a mapping");
	assert_int_equal(config_parse("vm.yaml", NULL, 0, &cfg, &err), -1);
	assert_string_equal(err.msg, "vm.yaml:1:1: yaml: the file is empty, expected a mapping");
}

static void test_multiple_documents(void **state)
{
	(void)state;
	refused("name: a\nkernel: k\n---\nname: b\n",
		"vm.yaml:3:1: yaml: expected a single document");
}

static void test_anchors_aliases_tags(void **state)
{
	(void)state;
	refused("name: &n a\nkernel: k\n",
		"vm.yaml:1:7: yaml: anchors and aliases are not supported");
	refused("name: a\nkernel: k\ninitrd: *x\n",
		"vm.yaml:3:9: yaml: anchors and aliases are not supported");
	refused("name: a\nkernel: !!str k\n", "vm.yaml:2:9: yaml: tags are not supported");
	refused("!mytag {name: a}\n", "vm.yaml:1:1: yaml: tags are not supported");
}

static void test_syntax_errors(void **state)
{
	(void)state;
	refused(
	    "name: [a\n",
	    "vm.yaml:2:1: yaml: while parsing a flow sequence, did not find expected ',' or ']'");
	refused("name: a\n  kernel: k\n",
		"vm.yaml:2:9: yaml: mapping values are not allowed in this context");
	refused_with("name: a\nkernel: \"k\n", "vm.yaml:3:1: yaml: while scanning a quoted scalar");
	refused_with("name: a\n\tkernel: k\n", "vm.yaml:2:1: yaml: ");
}

static void test_reader_errors(void **state)
{
	static const char nul[] = "name: a\0b\nkernel: k\n";

	(void)state;
	refused("name: a\nkernel: k\xff\n", "vm.yaml:2:10: yaml: invalid leading UTF-8 octet");
	refused("name: a\n\x1b[2J: 1\n", "vm.yaml:2:1: yaml: control characters are not allowed");
	assert_int_equal(config_parse("vm.yaml", nul, sizeof(nul) - 1, &cfg, &err), -1);
	assert_string_equal(err.msg, "vm.yaml:1:8: yaml: control characters are not allowed");
}

static void test_nesting_and_complex_keys(void **state)
{
	(void)state;
	refused("name: [[[[[[[[[a]]]]]]]]]\n",
		"vm.yaml:1:14: yaml: expected at most 8 levels of nesting");
	refused("? [a]\n: 1\n", "vm.yaml:1:3: yaml: expected a key name, got a collection");
}

static void test_vcpus_refused(void **state)
{
	static const char *const bad[] = {"255", "1000", "99999999999999999999",
					  "two", "2.5",	 "-1",
					  "+1",	 "0x2",	 "02",
					  "1e2", "2 2",	 "true",
					  "0o2", "1_0"};
	char text[128];

	(void)state;
	refused("name: a\nvcpus: 0\n",
		"vm.yaml:2:8: vcpus: expected an integer from 1 to 254, got 0");
	refused("name: a\nvcpus: two\n",
		"vm.yaml:2:8: vcpus: expected an integer from 1 to 254, got \"two\"");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "name: a\nkernel: k\nvcpus: %s\n", bad[i]);
		refused_with(text, "vm.yaml:3:8: vcpus: expected an integer from 1 to 254, got ");
	}
}

static void test_vcpus_wrong_type(void **state)
{
	(void)state;
	refused(
	    "name: a\nvcpus: \"2\"\n",
	    "vm.yaml:2:8: vcpus: expected an integer from 1 to 254, got the quoted string \"2\"");
	refused("name: a\nvcpus: [2]\n",
		"vm.yaml:2:8: vcpus: expected an integer from 1 to 254, got a sequence");
	refused("name: a\nvcpus:\n  n: 2\n",
		"vm.yaml:3:3: vcpus: expected an integer from 1 to 254, got a mapping");
	refused("name: a\nvcpus: ~\n",
		"vm.yaml:2:8: vcpus: expected an integer from 1 to 254, got null");
}

static void test_memory_format_refused(void **state)
{
	static const char *const bad[] = {
	    "256M",    "256mb",	  "256MB",   "256mib",	  "1.5GiB",  "256",
	    "+256MiB", "-256MiB", "256 MiB", "0x10MiB",	  "MiB",     "256MiBs",
	    "0256MiB", "1TiB",	  "1e3MiB",  "' 256MiB'", "256KiB2", "256\\u00b5iB"};
	char text[128];

	(void)state;
	refused("name: a\nkernel: k\nmemory: 256M\n",
		"vm.yaml:3:9: memory: expected an integer with a KiB, MiB or GiB suffix, got "
		"\"256M\"");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "name: a\nkernel: k\nmemory: %s\n", bad[i]);
		refused_with(text,
			     "vm.yaml:3:9: memory: expected an integer with a KiB, MiB or GiB "
			     "suffix, got ");
	}
}

static void test_memory_range_refused(void **state)
{
	static const char *const bad[] = {"99999999999999999999GiB",
					  "18446744073709551615KiB",
					  "17179869184GiB",
					  "1025GiB",
					  "0MiB",
					  "16383KiB"};
	char text[128];

	(void)state;
	refused("name: a\nmemory: 15MiB\n",
		"vm.yaml:2:9: memory: expected a size from 16MiB to 1024GiB, got \"15MiB\"");
	refused("name: a\nmemory: 16385KiB\n",
		"vm.yaml:2:9: memory: expected a multiple of 4KiB, got \"16385KiB\"");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "name: a\nkernel: k\nmemory: %s\n", bad[i]);
		refused_with(text,
			     "vm.yaml:3:9: memory: expected a size from 16MiB to 1024GiB, got ");
	}
}

static void test_name_refused(void **state)
{
	static const char *const bad[] = {"Demo", "de_mo", "de.mo", "a/b", "'a b'", "caf\\u00e9"};
	char text[256], *toolong = repeat('a', CONFIG_NAME_MAX + 1);

	(void)state;
	refused("name: Demo\n",
		"vm.yaml:1:7: name: expected 1 to 64 characters from a-z, 0-9 and -, got \"Demo\"");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "kernel: k\nname: \"%s\"\n", bad[i]);
		refused_with(text, "vm.yaml:2:7: name: expected 1 to 64 characters from a-z, 0-9");
	}
	snprintf(text, sizeof(text), "name: %s\n", toolong);
	refused_with(text, "vm.yaml:1:7: name: expected 1 to 64 characters");
	free(toolong);
}

static void test_null_and_boolean_refused(void **state)
{
	static const char *const nulls[] = {"null", "~", "NULL", "Null", ""};
	static const char *const bools[] = {"yes", "no", "on", "off", "true", "False", "y", "N"};
	char text[128];

	(void)state;
	refused("name: a\nkernel: null\n", "vm.yaml:2:9: kernel: expected a path, got null");
	refused("name: on\nkernel: k\n", "vm.yaml:1:7: name: expected 1 to 64 characters from "
					 "a-z, 0-9 and -, got the YAML boolean on (quote it)");
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		snprintf(text, sizeof(text), "name: a\nkernel: k\ninitrd: %s\n", nulls[i]);
		refused_with(text, "vm.yaml:3:");
		assert_non_null(strstr(err.msg, ": initrd: expected a path, got null"));
	}
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(text, sizeof(text), "name: a\nkernel: %s\n", bools[i]);
		refused_with(text, "vm.yaml:2:9: kernel: expected a path, got the YAML boolean ");
	}
}

static void test_empty_strings_refused(void **state)
{
	(void)state;
	refused("name: \"\"\n",
		"vm.yaml:1:7: name: expected 1 to 64 characters from a-z, 0-9 and -, "
		"got an empty string");
	refused("name: a\nkernel: ''\n",
		"vm.yaml:2:9: kernel: expected a path, got an empty string");
	refused_with("name: a\nkernel: k\ninitrd: \"\"\n",
		     "vm.yaml:3:9: initrd: expected a path, got an empty string");
	refused_with("name: a\nkernel: k\ncmdline: ''\n",
		     "vm.yaml:3:10: cmdline: expected 1 to 4095 printable ASCII characters, got an "
		     "empty string");
	refused_with("name: a\nkernel: k\nmemory: ''\n",
		     "vm.yaml:3:9: memory: expected an integer");
}

static void test_path_refused(void **state)
{
	(void)state;
	refused("name: a\nkernel: [k]\n", "vm.yaml:2:9: kernel: expected a path, got a sequence");
	refused("name: a\nkernel: k\ninitrd: {a: b}\n",
		"vm.yaml:3:9: initrd: expected a path, got a mapping");
	refused("name: a\nkernel: \"bz\\nImage\"\n",
		"vm.yaml:2:9: kernel: expected a path without control characters, got "
		"\"bz\\x0aImage\"");
	refused_with("name: a\nkernel: \"bz\\0Image\"\n",
		     "vm.yaml:2:9: kernel: expected a path without control characters");
}

static void test_path_resolution(void **state)
{
	static const struct {
		const char *file, *value, *want;
	} cases[] = {
	    {"vm.yaml", "bzImage", "bzImage"},
	    {"vm.yaml", "./bzImage", "./bzImage"},
	    {"vms/demo/vm.yaml", "bzImage", "vms/demo/bzImage"},
	    {"vms/demo/vm.yaml", "../k/bzImage", "vms/demo/../k/bzImage"},
	    {"./vm.yaml", "bzImage", "./bzImage"},
	    {"/etc/bulwark/vm.yaml", "bzImage", "/etc/bulwark/bzImage"},
	    {"/vm.yaml", "bzImage", "/bzImage"},
	    {"vms/vm.yaml", "/boot/vmlinuz", "/boot/vmlinuz"},
	    {"vms/vm.yaml", "~/bzImage", "vms/~/bzImage"},
	};
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "name: a\nkernel: %s\ninitrd: %s\n", cases[i].value,
			 cases[i].value);
		if (parse_as(cases[i].file, text) != 0)
			fail_msg("refused: %s", err.msg);
		assert_string_equal(cfg.path, cases[i].file);
		assert_string_equal(cfg.kernel, cases[i].want);
		assert_string_equal(cfg.initrd, cases[i].want);
		config_free(&cfg);
	}
}

static void test_path_length_limit(void **state)
{
	/* "d/" plus the value must stay within PATH_MAX - 1 = 4095 bytes. */
	char *fits = repeat('k', 4093), *over = repeat('k', 4094), *text = malloc(4200);

	(void)state;
	assert_non_null(text);
	snprintf(text, 4200, "name: a\nkernel: %s\n", fits);
	if (parse_as("d/vm.yaml", text) != 0)
		fail_msg("refused: %s", err.msg);
	assert_int_equal(strlen(cfg.kernel), 4095);
	config_free(&cfg);
	snprintf(text, 4200, "name: a\nkernel: %s\n", over);
	assert_int_equal(parse_as("d/vm.yaml", text), -1);
	assert_string_equal(err.msg, "d/vm.yaml:2:9: kernel: expected a path of at most 4095 bytes "
				     "once resolved");
	free(fits);
	free(over);
	free(text);
}

static void test_cmdline_length_boundary(void **state)
{
	char *max = repeat('x', CONFIG_CMDLINE_MAX), *over = repeat('x', CONFIG_CMDLINE_MAX + 1);
	char *text = malloc(CONFIG_CMDLINE_MAX + 64);

	(void)state;
	assert_non_null(text);
	snprintf(text, CONFIG_CMDLINE_MAX + 64, "name: a\ncmdline: %s\nkernel: k\n", max);
	parse_ok(text);
	assert_int_equal(strlen(cfg.cmdline), CONFIG_CMDLINE_MAX);
	config_free(&cfg);
	snprintf(text, CONFIG_CMDLINE_MAX + 64, "name: a\ncmdline: %s\nkernel: k\n", over);
	refused(text, "vm.yaml:2:10: cmdline: expected 1 to 4095 printable ASCII characters, got "
		      "4096 bytes");
	free(max);
	free(over);
	free(text);
}

static void test_cmdline_control_refused(void **state)
{
	(void)state;
	refused("name: a\nkernel: k\ncmdline: \"console=ttyS0\\nroot=x\"\n",
		"vm.yaml:3:10: cmdline: expected 1 to 4095 printable ASCII characters, got \\x0a "
		"at byte 13");
	refused_with(
	    "name: a\nkernel: k\ncmdline: \"a\\tb\"\n",
	    "vm.yaml:3:10: cmdline: expected 1 to 4095 printable ASCII characters, got \\x09");
	refused_with(
	    "name: a\nkernel: k\ncmdline: \"a\\0b\"\n",
	    "vm.yaml:3:10: cmdline: expected 1 to 4095 printable ASCII characters, got \\x00");
	/* A literal block keeps its final newline. */
	refused_with(
	    "name: a\nkernel: k\ncmdline: |\n  quiet\n",
	    "vm.yaml:3:10: cmdline: expected 1 to 4095 printable ASCII characters, got \\x0a");
	refused_with(
	    "name: a\nkernel: k\ncmdline: caf\xc3\xa9\n",
	    "vm.yaml:3:10: cmdline: expected 1 to 4095 printable ASCII characters, got \\xc3");
}

static void test_untrusted_text_escaped(void **state)
{
	char text[256], *junk = repeat('j', 100);

	(void)state;
	refused("name: a\n\"\\e[2Jx\": 1\n",
		"vm.yaml:2:1: \\x1b[2Jx: unknown key (expected one of name, vcpus, memory, kernel, "
		"initrd, cmdline)");
	refused("name: \"A\\\"\\\\\"\n",
		"vm.yaml:1:7: name: expected 1 to 64 characters from a-z, 0-9 and -, got "
		"\"A\\\"\\\\\"");
	snprintf(text, sizeof(text), "name: a\nmemory: %s\n", junk);
	refused(text, "vm.yaml:2:9: memory: expected an integer with a KiB, MiB or GiB suffix, got "
		      "\"jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj\"...");
	free(junk);
}

static void test_too_large(void **state)
{
	size_t n = (1 << 20) + 1;
	char *text = repeat(' ', n);

	(void)state;
	assert_int_equal(config_parse("vm.yaml", text, n, &cfg, &err), -1);
	assert_string_equal(err.msg, "vm.yaml: too large (more than 1048576 bytes)");
	assert_cfg_empty();
	free(text);
}

struct tmp {
	char dir[64];
	char file[128];
};

static void write_file(struct tmp *t, const char *name, const char *text, size_t len)
{
	FILE *f;

	snprintf(t->dir, sizeof(t->dir), "/tmp/test_config.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->file, sizeof(t->file), "%s/%s", t->dir, name);
	f = fopen(t->file, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void remove_file(struct tmp *t)
{
	unlink(t->file);
	rmdir(t->dir);
}

static void test_load_resolves_against_file(void **state)
{
	static const char text[] = "name: t\nkernel: bzImage\ninitrd: /abs/initrd\n";
	struct tmp t;
	char want[256];

	(void)state;
	write_file(&t, "vm.yaml", text, strlen(text));
	assert_int_equal(config_load(t.file, &cfg, &err), 0);
	snprintf(want, sizeof(want), "%s/bzImage", t.dir);
	assert_string_equal(cfg.path, t.file);
	assert_string_equal(cfg.kernel, want);
	assert_string_equal(cfg.initrd, "/abs/initrd");
	remove_file(&t);
}

static void test_load_reports_file_errors(void **state)
{
	static const char text[] = "name: t\nvcpus: 300\nkernel: k\n";
	struct tmp t;
	char want[512];

	(void)state;
	write_file(&t, "vm.yaml", text, strlen(text));
	assert_int_equal(config_load(t.file, &cfg, &err), -1);
	snprintf(want, sizeof(want), "%s:2:8: vcpus: expected an integer from 1 to 254, got 300",
		 t.file);
	assert_string_equal(err.msg, want);
	assert_cfg_empty();
	assert_int_equal(config_load(t.dir, &cfg, &err), -1);
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory", t.dir);
	assert_string_equal(err.msg, want);
	remove_file(&t);
	assert_int_equal(config_load(t.file, &cfg, &err), -1);
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", t.file);
	assert_string_equal(err.msg, want);
	assert_cfg_empty();
}

static void test_load_size_limit(void **state)
{
	size_t n = 1 << 20;
	char *text = repeat('\n', n + 1);
	struct tmp t;
	char want[512];

	(void)state;
	/* Exactly at the limit is read (and found empty); one byte more is refused. */
	text[0] = '#';
	write_file(&t, "at.yaml", text, n);
	assert_int_equal(config_load(t.file, &cfg, &err), -1);
	snprintf(want, sizeof(want), "%s:1:1: yaml: the file is empty, expected a mapping", t.file);
	assert_string_equal(err.msg, want);
	remove_file(&t);
	write_file(&t, "over.yaml", text, n + 1);
	assert_int_equal(config_load(t.file, &cfg, &err), -1);
	snprintf(want, sizeof(want), "%s: too large (more than 1048576 bytes)", t.file);
	assert_string_equal(err.msg, want);
	remove_file(&t);
	free(text);
}

static void test_free_is_idempotent(void **state)
{
	struct vm_config zeroed = {0};

	(void)state;
	config_free(&zeroed);
	parse_ok("name: a\nkernel: k\ninitrd: i\n");
	config_free(&cfg);
	assert_cfg_empty();
	config_free(&cfg);
}

static void test_failure_late_frees_everything(void **state)
{
	(void)state;
	/* Strings were already allocated when the last line is refused; ASan checks the leak. */
	refused(
	    "name: a\nkernel: k\ninitrd: i\ncmdline: c\nmemory: 1\n",
	    "vm.yaml:5:9: memory: expected an integer with a KiB, MiB or GiB suffix, got \"1\"");
}

static void test_errorf(void **state)
{
	(void)state;
	config_errorf(&err, "vm.yaml", (struct config_loc){3, 9}, "vcpus",
		      "expected at most %d (this host's KVM limit)", 8);
	assert_string_equal(err.msg,
			    "vm.yaml:3:9: vcpus: expected at most 8 (this host's KVM limit)");
	config_errorf(&err, "vm.yaml", (struct config_loc){0, 0}, "memory", "default too large");
	assert_string_equal(err.msg, "vm.yaml: memory: default too large");
	config_errorf(&err, "vm.yaml", (struct config_loc){0, 0}, NULL, "cannot read: %s", "x");
	assert_string_equal(err.msg, "vm.yaml: cannot read: x");
	config_errorf(&err, "vm.yaml", (struct config_loc){1, 1}, "kernel", "bad %s", "a\nb\x1b");
	assert_string_equal(err.msg, "vm.yaml:1:1: kernel: bad a?b?");
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_minimal_uses_defaults),
	    T(test_all_fields_and_locations),
	    T(test_memory_units_and_bounds),
	    T(test_vcpus_bounds),
	    T(test_name_forms),
	    T(test_other_yaml_forms),
	    T(test_missing_required),
	    T(test_unknown_key),
	    T(test_duplicate_key),
	    T(test_top_level_not_mapping),
	    T(test_empty_file),
	    T(test_multiple_documents),
	    T(test_anchors_aliases_tags),
	    T(test_syntax_errors),
	    T(test_reader_errors),
	    T(test_nesting_and_complex_keys),
	    T(test_vcpus_refused),
	    T(test_vcpus_wrong_type),
	    T(test_memory_format_refused),
	    T(test_memory_range_refused),
	    T(test_name_refused),
	    T(test_null_and_boolean_refused),
	    T(test_empty_strings_refused),
	    T(test_path_refused),
	    T(test_path_resolution),
	    T(test_path_length_limit),
	    T(test_cmdline_length_boundary),
	    T(test_cmdline_control_refused),
	    T(test_untrusted_text_escaped),
	    T(test_too_large),
	    T(test_load_resolves_against_file),
	    T(test_load_reports_file_errors),
	    T(test_load_size_limit),
	    T(test_free_is_idempotent),
	    T(test_failure_late_frees_everything),
	    T(test_errorf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
