/* test_config_yaml.c: the YAML layer under the config parser: documents, syntax, files, messages.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_yaml.h"
#include "config_test.h"

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
static void test_untrusted_text_escaped(void **state)
{
	char text[256], *junk = repeat('j', 100);

	(void)state;
	refused("name: a\n\"\\e[2Jx\": 1\n",
		"vm.yaml:2:1: \\x1b[2Jx: unknown key (expected one of name, vcpus, memory, kernel, "
		"initrd, cmdline, disks, nics, rng, virtio_cmdline, policy, shutdown_timeout)");
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

/* Another file format on the same helpers, as the policy parser will have. */
struct rule {
	char *path;
	bool allow;
	struct config_loc loc, loc_path, loc_allow;
};

struct rules {
	struct rule rule[2];
	bool strict;
	struct config_loc loc_rules, loc_strict;
};

static int parse_rules(struct cy_parser *p, const struct cy_key *k, const char *field,
		       yaml_node_t *n, void *base)
{
	static const struct cy_key keys[] = {
	    CY_KEY(struct rule, path, true, cy_key_path, "expected a path"),
	    CY_KEY(struct rule, allow, false, cy_key_bool, NULL),
	};
	static const struct cy_table t = {keys, 2, sizeof(struct rule), offsetof(struct rule, loc)};

	return cy_sequence(p, n, field, "rules", 2, &t, cy_field(base, k)) < 0 ? -1 : 0;
}

static int parse_other(const char *text, struct rules *r)
{
	static const struct cy_key keys[] = {
	    {"rules", NULL, parse_rules, offsetof(struct rules, rule),
	     offsetof(struct rules, loc_rules), true},
	    CY_KEY(struct rules, strict, false, cy_key_bool, NULL),
	};
	static const struct cy_table t = {.keys = keys, .nkeys = 2};
	struct cy_parser p;
	yaml_node_t *root = cy_open(&p, "dir/policy.yaml", text, strlen(text), &err);
	int rc = root ? cy_mapping(&p, root, NULL, &t, r) : -1;

	cy_close(&p);
	return rc;
}

static void test_helpers_serve_other_formats(void **state)
{
	struct rules r = {0};

	(void)state;
	assert_int_equal(
	    parse_other("strict: true\nrules:\n- path: a\n- {allow: true, path: /b}\n", &r), 0);
	assert_true(r.strict);
	assert_string_equal(r.rule[0].path, "dir/a");
	assert_false(r.rule[0].allow);
	assert_string_equal(r.rule[1].path, "/b");
	assert_true(r.rule[1].allow);
	assert_int_equal(r.rule[1].loc.line, 4);
	assert_int_equal(r.rule[1].loc_allow.column, 11);
	free(r.rule[0].path);
	free(r.rule[1].path);
	memset(&r, 0, sizeof(r));
	assert_int_equal(parse_other("rules:\n- path: a\n- path: b\n  allow: on\n", &r), -1);
	assert_string_equal(
	    err.msg, "dir/policy.yaml:4:10: rules[1].allow: expected true or false, got \"on\"");
	free(r.rule[0].path);
	free(r.rule[1].path);
	memset(&r, 0, sizeof(r));
	assert_int_equal(parse_other("rules: [{path: a}, {path: b}, {path: c}]\n", &r), -1);
	assert_string_equal(err.msg, "dir/policy.yaml:1:8: rules: expected at most 2 rules, got 3");
	assert_int_equal(parse_other("strict: false\n", &r), -1);
	assert_string_equal(err.msg, "dir/policy.yaml:1:1: rules: required field is missing");
	assert_int_equal(parse_other("*a\n", &r), -1);
	assert_string_equal(err.msg,
			    "dir/policy.yaml:1:1: yaml: anchors and aliases are not supported");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_top_level_not_mapping),
	    T(test_empty_file),
	    T(test_multiple_documents),
	    T(test_anchors_aliases_tags),
	    T(test_syntax_errors),
	    T(test_reader_errors),
	    T(test_nesting_and_complex_keys),
	    T(test_untrusted_text_escaped),
	    T(test_too_large),
	    T(test_load_resolves_against_file),
	    T(test_load_reports_file_errors),
	    T(test_load_size_limit),
	    T(test_errorf),
	    T(test_helpers_serve_other_formats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
