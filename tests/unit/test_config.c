/* test_config.c: the VM config parser, its refusals and their exact FILE:LINE:COLUMN. */
#include "config_test.h"
#include "util/bytes.h"

static void test_minimal_uses_defaults(void **state)
{
	(void)state;
	parse_ok("name: demo\nkernel: bzImage\n");
	assert_string_equal(cfg.path, "vm.yaml");
	assert_string_equal(cfg.name, "demo");
	assert_int_equal(cfg.vcpus, CONFIG_DEFAULT_VCPUS);
	assert_int_equal(cfg.memory, CONFIG_DEFAULT_MEMORY);
	assert_int_equal(cfg.shutdown_timeout, CONFIG_DEFAULT_SHUTDOWN_TIMEOUT);
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
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
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
	refused(
	    "name: a\nkernel: k\n\n\n\n\nfrobnicate: 1\n",
	    "vm.yaml:7:1: frobnicate: unknown key (expected one of name, vcpus, memory, "
	    "kernel, initrd, cmdline, disks, nics, rng, virtio_cmdline, policy, shutdown_timeout)");
	/* Keys are case-sensitive. */
	refused_with("Name: a\n", "vm.yaml:1:1: Name: unknown key");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	refused("name: a\nkernel: k\nname: b\n",
		"vm.yaml:3:1: name: duplicate key (first given on line 1)");
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
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "name: a\nkernel: k\nvcpus: %s\n", bad[i]);
		refused_with(text, "vm.yaml:3:8: vcpus: expected an integer from 1 to 254, got ");
	}
}

/* 0 turns the power button off; seconds only, as a plain integer. */
static void test_shutdown_timeout(void **state)
{
	(void)state;
	parse_ok("name: a\nkernel: k\nshutdown_timeout: 0\n");
	assert_int_equal(cfg.shutdown_timeout, 0);
	assert_int_equal(cfg.loc_shutdown_timeout.line, 3);
	config_free(&cfg);
	parse_ok("name: a\nkernel: k\nshutdown_timeout: 3600\n");
	assert_int_equal(cfg.shutdown_timeout, 3600);
	config_free(&cfg);
	refused("name: a\nshutdown_timeout: 3601\n",
		"vm.yaml:2:19: shutdown_timeout: expected whole seconds from 0 to 3600, got 3601");
	refused(
	    "name: a\nshutdown_timeout: 30s\n",
	    "vm.yaml:2:19: shutdown_timeout: expected whole seconds from 0 to 3600, got \"30s\"");
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
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
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
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
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
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
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
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++) {
		snprintf(text, sizeof(text), "name: a\nkernel: k\ninitrd: %s\n", nulls[i]);
		refused_with(text, "vm.yaml:3:");
		assert_non_null(strstr(err.msg, ": initrd: expected a path, got null"));
	}
	for (size_t i = 0; i < ARRAY_SIZE(bools); i++) {
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
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
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
	    T(test_vcpus_refused),
	    T(test_vcpus_wrong_type),
	    T(test_shutdown_timeout),
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
	    T(test_free_is_idempotent),
	    T(test_failure_late_frees_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
