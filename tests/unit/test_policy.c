/* test_policy.c: the policy file's top level and limits, the built-in default, policy_check_vm. */
#include "policy_test.h"
#include "util/bytes.h"

static void test_limits_only(void **state)
{
	(void)state;
	parse_ok("# a policy\nlimits:\n  vcpus_max: 4\n  memory_max: 2GiB\n");
	assert_string_equal(pol.path, "p.yaml");
	assert_int_equal(pol.limits.vcpus_max, 4);
	assert_int_equal(pol.limits.memory_max, 2ULL << 30);
	assert_int_equal(pol.limits.loc_vcpus_max.line, 3);
	assert_int_equal(pol.limits.loc_vcpus_max.column, 14);
	assert_int_equal(pol.limits.loc_memory_max.line, 4);
	assert_int_equal(pol.limits.loc_memory_max.column, 15);
	/* Absent sections: no cgroup, no sandbox (seccomp stays kill), no network. */
	assert_null(pol.cgroup.parent);
	assert_int_equal(pol.cgroup.loc.line, 0);
	assert_false(pol.cgroup.memory_max_set);
	assert_int_equal(pol.sandbox.loc.line, 0);
	assert_null(pol.sandbox.jail);
	assert_false(pol.sandbox.jail_tmpfs);
	assert_int_equal(pol.sandbox.namespaces, 0);
	assert_int_equal(pol.sandbox.seccomp, POLICY_SECCOMP_KILL);
	assert_int_equal(pol.network.nsegments, 0);
}

static void test_limit_bounds(void **state)
{
	(void)state;
	parse_ok("limits: {vcpus_max: 1, memory_max: 16MiB}");
	assert_int_equal(pol.limits.vcpus_max, 1);
	assert_int_equal(pol.limits.memory_max, 16ULL << 20);
	policy_free(&pol);
	parse_ok("limits: {vcpus_max: 254, memory_max: 1024GiB}");
	assert_int_equal(pol.limits.vcpus_max, CONFIG_VCPUS_MAX);
	assert_int_equal(pol.limits.memory_max, CONFIG_MEMORY_MAX);
	policy_free(&pol);
	parse_ok("limits: {vcpus_max: 8, memory_max: 1048576KiB}");
	assert_int_equal(pol.limits.memory_max, 1ULL << 30);
}

static void test_limits_refused(void **state)
{
	static const char vexp[] = "expected an integer from 1 to 254, got ";
	static const char *const bad_vcpus[] = {"0", "255", "-1", "two", "2.0", "02", "0x4", "1e1"};
	static const char *const bad_mem[] = {"1GB",
					      "1G",
					      "1gib",
					      "1024",
					      "1.5GiB",
					      "1 GiB",
					      "1TiB",
					      "15MiB",
					      "0",
					      "1025GiB",
					      "-1GiB",
					      "max",
					      "01GiB",
					      "GiB",
					      "16383KiB",
					      "99999999999999999999GiB",
					      "18014398509481984GiB"};
	char text[160], want[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_vcpus); i++) {
		snprintf(text, sizeof(text), "limits:\n  memory_max: 1GiB\n  vcpus_max: %s\n",
			 bad_vcpus[i]);
		snprintf(want, sizeof(want), "p.yaml:3:14: limits.vcpus_max: %s\"%s\"", vexp,
			 bad_vcpus[i]);
		refused(text, want);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_mem); i++) {
		snprintf(text, sizeof(text), "limits:\n  vcpus_max: 1\n  memory_max: %s\n",
			 bad_mem[i]);
		snprintf(
		    want, sizeof(want),
		    "p.yaml:3:15: limits.memory_max: expected a size from 16MiB to 1024GiB (an "
		    "integer with KiB, MiB or GiB), got \"%s\"",
		    bad_mem[i]);
		refused(text, want);
	}
	refused("limits:\n  vcpus_max: \"4\"\n  memory_max: 1GiB\n",
		"p.yaml:2:14: limits.vcpus_max: expected an integer from 1 to 254, got the quoted "
		"string \"4\"");
	refused("limits:\n  vcpus_max: [4]\n",
		"p.yaml:2:14: limits.vcpus_max: expected an integer from 1 to 254, got a sequence");
}

static void test_required_and_unknown(void **state)
{
	(void)state;
	refused("cgroup:\n  parent: /sys/fs/cgroup/x\n",
		"p.yaml:1:1: limits: required field is missing");
	refused("limits:\n  vcpus_max: 2\n",
		"p.yaml:2:3: limits.memory_max: required field is missing");
	refused(
	    LIMITS "\n# the rest\nlimit:\n  vcpus: 3\n",
	    "p.yaml:6:1: limit: unknown key (expected one of limits, cgroup, sandbox, network)");
	refused("limits:\n  vcpus_max: 2\n  memory_max: 1GiB\n  disks_max: 3\n",
		"p.yaml:4:3: limits.disks_max: unknown key (expected one of vcpus_max, "
		"memory_max)");
	refused(LIMITS "limits:\n  vcpus_max: 2\n",
		"p.yaml:4:1: limits: duplicate key (first given on line 2)");
	refused("limits: 4\n",
		"p.yaml:1:9: limits: expected a mapping with vcpus_max, memory_max, got \"4\"");
	refused("- limits\n", "p.yaml:1:1: yaml: expected a mapping at the top level");
	refused("", "p.yaml:1:1: yaml: the file is empty, expected a mapping");
	refused("limits: &a {vcpus_max: 1}\n",
		"p.yaml:1:9: yaml: anchors and aliases are not supported");
}

static void test_builtin_default(void **state)
{
	(void)state;
	memset(&err, 0, sizeof(err));
	if (policy_load_default(&pol, &err))
		fail_msg("the built-in default is refused: %s", err.msg);
	assert_string_equal(pol.path, "<built-in default>");
	/* Strict: small limits, a cgroup, the whole sandbox. */
	assert_int_equal(pol.limits.vcpus_max, 2);
	assert_int_equal(pol.limits.memory_max, 1ULL << 30);
	assert_string_equal(pol.cgroup.parent, "/sys/fs/cgroup/bulwark");
	assert_true(pol.cgroup.memory_max_set && pol.cgroup.memory_max > pol.limits.memory_max);
	assert_true(pol.cgroup.memory_swap_max_set);
	assert_int_equal(pol.cgroup.memory_swap_max, 0);
	assert_true(pol.cgroup.pids_max_set && pol.cgroup.pids_max != POLICY_UNLIMITED);
	assert_true(pol.sandbox.ids_set);
	assert_int_not_equal(pol.sandbox.uid, 0);
	assert_int_not_equal(pol.sandbox.gid, 0);
	assert_true(pol.sandbox.jail_tmpfs);
	assert_int_equal(pol.sandbox.namespaces, POLICY_NS_MOUNT | POLICY_NS_PID | POLICY_NS_IPC |
						     POLICY_NS_UTS | POLICY_NS_NET);
	assert_true(pol.sandbox.rlimit_set[POLICY_RLIMIT_CORE]);
	assert_int_equal(pol.sandbox.rlimit[POLICY_RLIMIT_CORE], 0);
	assert_true(pol.sandbox.rlimit_set[POLICY_RLIMIT_NOFILE]);
	assert_int_equal(pol.sandbox.seccomp, POLICY_SECCOMP_KILL);
}

static struct vm_config vm(unsigned vcpus, uint64_t memory, unsigned vline, unsigned mline)
{
	return (struct vm_config){.path = "vm.yaml",
				  .vcpus = vcpus,
				  .memory = memory,
				  .loc_vcpus = {vline, vline ? 8 : 0},
				  .loc_memory = {mline, mline ? 9 : 0}};
}

static void test_check_vm(void **state)
{
	struct vm_config c;

	(void)state;
	parse_ok("limits:\n  vcpus_max: 4\n  memory_max: 1GiB\n");
	c = vm(4, 1ULL << 30, 2, 3); /* at the limits */
	assert_int_equal(policy_check_vm(&pol, &c, &err), 0);
	c = vm(6, 256ULL << 20, 2, 3);
	assert_int_equal(policy_check_vm(&pol, &c, &err), -1);
	assert_string_equal(err.msg, "vm.yaml:2:8: vcpus: 6 exceeds the policy's limits.vcpus_max "
				     "(4) by 2 (p.yaml:2:14)");
	c = vm(5, 256ULL << 20, 2, 3);
	assert_int_equal(policy_check_vm(&pol, &c, &err), -1);
	assert_string_equal(err.msg, "vm.yaml:2:8: vcpus: 5 exceeds the policy's limits.vcpus_max "
				     "(4) by 1 (p.yaml:2:14)");
	c = vm(1, (1ULL << 30) + 4096, 0, 4);
	assert_int_equal(policy_check_vm(&pol, &c, &err), -1);
	assert_string_equal(err.msg, "vm.yaml:4:9: memory: 1048580 KiB exceeds the policy's "
				     "limits.memory_max (1 GiB) by 4 KiB (p.yaml:3:15)");
	c = vm(2, 3ULL << 30, 0, 4);
	assert_int_equal(policy_check_vm(&pol, &c, &err), -1);
	assert_string_equal(err.msg, "vm.yaml:4:9: memory: 3 GiB exceeds the policy's "
				     "limits.memory_max (1 GiB) by 2 GiB (p.yaml:3:15)");
}

static void test_check_vm_defaults(void **state)
{
	struct vm_config c;

	(void)state;
	parse_ok("limits:\n  vcpus_max: 1\n  memory_max: 128MiB\n");
	/* The config's defaults (1 vCPU, 256 MiB) were never written: no line to point at. */
	assert_int_equal(config_parse("vm.yaml", "name: a\nkernel: k\n", 18, &c, &err), 0);
	assert_int_equal(policy_check_vm(&pol, &c, &err), -1);
	assert_string_equal(err.msg, "vm.yaml: memory: 256 MiB exceeds the policy's "
				     "limits.memory_max (128 MiB) by 128 MiB (p.yaml:3:15)");
	config_free(&c);
}

static void test_check_vm_threads(void **state)
{
	struct vm_config c = vm(2, 256ULL << 20, 2, 3);

	(void)state;
	c.ndisks = 1;
	c.rng = true;
	/* Needs 5: the main thread, 2 vCPUs, a disk and the rng. */
	parse_ok(LIMITS "cgroup:\n  parent: /sys/fs/cgroup/b\n  pids.max: 5\n");
	assert_int_equal(policy_check_vm(&pol, &c, &err), 0);
	policy_free(&pol);
	parse_ok(LIMITS "cgroup:\n  parent: /sys/fs/cgroup/b\n  pids.max: 4\n");
	assert_int_equal(policy_check_vm(&pol, &c, &err), -1);
	assert_string_equal(err.msg,
			    "p.yaml:6:13: cgroup.pids.max: 4 is below the 5 threads vm.yaml "
			    "needs (the main thread, 2 vCPUs, 2 devices)");
	policy_free(&pol);
	parse_ok(LIMITS "cgroup:\n  parent: /sys/fs/cgroup/b\n  pids.max: max\n");
	assert_int_equal(policy_check_vm(&pol, &c, &err), 0);
}

static void test_load_files(void **state)
{
	char path[] = "/tmp/policy-test-XXXXXX";
	int fd = mkstemp(path);
	static const char text[] = "limits:\n  vcpus_max: 3\n  memory_max: 512MiB\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
	close(fd);
	assert_int_equal(policy_load(path, &pol, &err), 0);
	assert_string_equal(pol.path, path);
	assert_int_equal(pol.limits.vcpus_max, 3);
	policy_free(&pol);
	unlink(path);
	assert_int_equal(policy_load(path, &pol, &err), -1);
	assert_non_null(strstr(err.msg, "cannot read: No such file or directory"));
}

/* What policy_print() writes for the policy parsed last. */
static char *printed(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	policy_print(&pol, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void assert_has(const char *text, const char *line)
{
	if (!text || !strstr(text, line))
		fail_msg("no \"%s\" in:\n%s", line, text ? text : "(nothing)");
}

static void test_print(void **state)
{
	char *out;

	(void)state;
	assert_int_equal(policy_load_default(&pol, &err), 0);
	out = printed();
	assert_has(out, "policy <built-in default>\n");
	assert_has(out, "  vcpus_max         2\n  memory_max        1 GiB\n");
	assert_has(out, "cgroup: the VM's own, under /sys/fs/cgroup/bulwark\n");
	assert_has(out, "  memory.swap.max   0\n");
	assert_has(out, "  cpu.max           200000 100000 (2.00 CPUs)\n");
	assert_has(out, "  cpuset.cpus       (not written: the kernel's default)\n");
	assert_has(out, "  uid               65534, gid 65534\n");
	assert_has(out, "  jail              a fresh empty tmpfs\n");
	assert_has(out, "  namespaces        mount pid ipc uts net\n");
	assert_has(out, "  rlimit fsize      max\n  rlimit memlock    0\n");
	assert_has(out, "  seccomp           kill");
	assert_has(out, "network: no segments\n");
	free(out);
	policy_free(&pol);
	parse_ok(LIMITS "sandbox:\n  seccomp: log\n  rlimits: {nofile: 9}\nnetwork:\n  segments:\n"
			"    - name: a\n      ranges: [10.0.0.0/8, \"fd00::/8\"]\n      egress:\n"
			"        - {to: 192.0.2.0/24, proto: tcp, ports: 80-90}\n"
			"        - {to: \"2001:db8::1\"}\n");
	out = printed();
	assert_has(out, "cgroup: none");
	assert_has(out, "  uid               unchanged\n");
	assert_has(out, "  namespaces        none\n");
	assert_has(out, "  rlimit nofile     9\n  rlimit fsize      (inherited)\n");
	assert_has(out, "  seccomp           log");
	assert_has(out, "network: 1 segment\n  segment a: 10.0.0.0/8 fd00::/8\n");
	assert_has(out, "    egress tcp to 192.0.2.0/24 ports 80-90\n");
	assert_has(out, "    egress any to 2001:db8::1/128\n");
	free(out);
}

static void test_size_str(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(policy_size_str(b, 0), "0");
	assert_string_equal(policy_size_str(b, 1000), "1000 bytes");
	assert_string_equal(policy_size_str(b, 4096), "4 KiB");
	assert_string_equal(policy_size_str(b, 1536ULL << 20), "1536 MiB");
	assert_string_equal(policy_size_str(b, 2048ULL << 30), "2048 GiB");
	assert_string_equal(policy_size_str(b, POLICY_UNLIMITED), "max");
}

static void test_free_is_idempotent(void **state)
{
	struct policy zero = {0};

	(void)state;
	policy_free(&zero);
	parse_ok(LIMITS "sandbox:\n  jail: /srv/jail\n  namespaces: [mount]\n");
	policy_free(&pol);
	policy_free(&pol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_limits_only),       T(test_limit_bounds),
	    T(test_limits_refused),    T(test_required_and_unknown),
	    T(test_builtin_default),   T(test_check_vm),
	    T(test_check_vm_defaults), T(test_check_vm_threads),
	    T(test_load_files),	       T(test_print),
	    T(test_size_str),	       T(test_free_is_idempotent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
