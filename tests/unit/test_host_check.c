/* test_host_check.c: `bulwark host check`'s verdicts on pretend hosts (a fake KVM, fake cgroup2,
 * missing devices), every WARN and FAIL with its fix, and the JSON as a tool reads it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake_files.h"
#include "fake_kvm.h"
#include "host/host_check.h"
#include "kvm/kvm_probe.h"

#include <json-c/json.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>

static char root[64], modules[96], cg2[96], fs[96], mountinfo[128], systemd[128], netns[128],
    self_cgroup[128], parent[128];
static struct cgroup_host_paths cg_paths;
static struct host_env env;
static struct policy pol;
static struct vm_config cfg;
static struct host_report report;

/* systemd's bus as the test wants it: up, or not to be reached. */
static bool fake_bus_up;

static int fake_bus(struct cgroup_problem *pb)
{
	if (fake_bus_up)
		return 0;
	snprintf(pb->why, sizeof(pb->why), "cannot reach systemd's bus (fake)");
	snprintf(pb->fix, sizeof(pb->fix), "start bulwark from a unit with Delegate=yes");
	return -1;
}

static int setup(void **state)
{
	char mi[256], sub[160];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/bulwark-hc.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(modules, sizeof(modules), "%s/module", root);
	snprintf(cg2, sizeof(cg2), "%s/cgroup2", root);
	snprintf(fs, sizeof(fs), "%s/no-sys-fs-cgroup", root);
	snprintf(mountinfo, sizeof(mountinfo), "%s/mountinfo", root);
	snprintf(systemd, sizeof(systemd), "%s/systemd", root);
	snprintf(self_cgroup, sizeof(self_cgroup), "%s/self-cgroup", root);
	snprintf(netns, sizeof(netns), "%s/netns", root);
	snprintf(parent, sizeof(parent), "%s/bulwark", fs);
	mkdir(modules, 0755);
	snprintf(sub, sizeof(sub), "%s/kvm_amd", modules);
	mkdir(sub, 0755);
	mkdir(cg2, 0755);
	fake_write(cg2, "cgroup.controllers", "cpuset cpu io memory pids\n");
	fake_write(cg2, "cgroup.subtree_control", "memory\n");
	fake_write(cg2, "cgroup.procs", "1\n");
	/* cgroup2 where mountinfo says, not at the policies' /sys/fs/cgroup (which is missing). */
	snprintf(mi, sizeof(mi), "40 22 0:40 / %s rw - cgroup2 none rw\n", cg2);
	fake_write(root, "mountinfo", mi);
	fake_write(root, "netns", "");
	cg_paths = (struct cgroup_host_paths){fs, mountinfo, systemd, netns, netns, self_cgroup};
	env = (struct host_env){"/dev/null", modules, "/dev/null", &cg_paths, 0, 100, fake_bus};
	fake_bus_up = false;
	memset(&pol, 0, sizeof(pol));
	pol.path = "p.yaml";
	pol.limits.vcpus_max = 2;
	memset(&cfg, 0, sizeof(cfg));
	cfg.vcpus = 2;
	memset(&report, 0, sizeof(report));
	report.policy = "p.yaml";
	fake_kvm_mode = FAKE_RAN;
	fake_kvm_missing_cap = -1;
	fake_kvm_api = KVM_API_VERSION;
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) ? -1 : 0;
}

/* The line of ID, or NULL. */
static const struct host_item *item(const char *id)
{
	for (unsigned i = 0; i < report.n; i++)
		if (!strcmp(report.items[i].id, id))
			return &report.items[i];
	return NULL;
}

static void assert_line(const char *id, enum host_verdict v, const char *detail_part)
{
	const struct host_item *it = item(id);

	if (!it) {
		for (unsigned i = 0; i < report.n; i++)
			print_message("%s: %s\n", report.items[i].id, report.items[i].detail);
		fail_msg("no %s line", id);
	}
	assert_int_equal(it->verdict, v);
	if (!strstr(it->detail, detail_part))
		fail_msg("%s: \"%s\" lacks \"%s\"", id, it->detail, detail_part);
	/* Every WARN and FAIL says what to do. */
	if (v != HOST_PASS && strlen(it->fix) < 10)
		fail_msg("%s: no fix", id);
}

/* A KVM that runs guests: every KVM line passes, naming the module. */
static void test_kvm_passes(void **state)
{
	(void)state;
	host_check_kvm(&report, &cfg, &pol, &env);
	assert_int_equal(report.n, 5);
	assert_line("kvm.device", HOST_PASS, "loaded: kvm_amd");
	assert_line("kvm.api", HOST_PASS, "version 12");
	assert_line("kvm.capabilities", HOST_PASS, "all 10 capabilities");
	assert_line("kvm.vcpus", HOST_PASS, "the config asks for 2 vCPUs, KVM allows 64");
	assert_line("kvm.runs-guests", HOST_PASS, "/dev/kvm (kvm_amd) ran a test guest");
	assert_true(host_report_ok(&report));
}

/* These machines: kvm_pvm behind /dev/kvm, a guest that never gets anywhere. */
static void test_kvm_pvm(void **state)
{
	char sub[160];

	(void)state;
	snprintf(sub, sizeof(sub), "%s/kvm_amd", modules);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/kvm_pvm", modules);
	mkdir(sub, 0755);
	fake_kvm_mode = FAKE_SPIN;
	host_check_kvm(&report, &cfg, &pol, &env);
	assert_line("kvm.device", HOST_PASS, "loaded: kvm_pvm");
	assert_line("kvm.runs-guests", HOST_FAIL,
		    "/dev/kvm is served by kvm_pvm, which runs only guest kernels built for PVM: "
		    "a test guest made no progress in 100 ms");
	assert_non_null(strstr(item("kvm.runs-guests")->fix, "kvm_intel or kvm_amd"));
	assert_false(host_report_ok(&report));
}

/* No /dev/kvm: one line, naming the module that is loaded, and no KVM line after it. */
static void test_kvm_missing(void **state)
{
	char sub[160];

	(void)state;
	snprintf(sub, sizeof(sub), "%s/kvm_pvm", modules);
	mkdir(sub, 0755);
	env.kvm = "/nonexistent/kvm";
	host_check_kvm(&report, &cfg, &pol, &env);
	assert_int_equal(report.n, 1);
	assert_line("kvm.device", HOST_FAIL,
		    "No such file or directory (kvm_amd or kvm_pvm is loaded");
	env.kvm = mountinfo; /* a regular file */
	report.n = 0;
	host_check_kvm(&report, &cfg, &pol, &env);
	assert_line("kvm.device", HOST_FAIL, "is not a character device");
}

static void test_kvm_api_caps_vcpus(void **state)
{
	(void)state;
	fake_kvm_api = 11;
	host_check_kvm(&report, &cfg, &pol, &env);
	assert_line("kvm.api", HOST_FAIL, "answered 11, bulwark needs 12");
	assert_null(item("kvm.runs-guests"));
	fake_kvm_api = KVM_API_VERSION;
	fake_kvm_missing_cap = KVM_CAP_IRQFD;
	cfg.vcpus = 65;
	report.n = 0;
	host_check_kvm(&report, &cfg, &pol, &env);
	assert_line("kvm.capabilities", HOST_FAIL, "KVM lacks KVM_CAP_IRQFD");
	assert_line("kvm.vcpus", HOST_FAIL, "the config asks for 65 vCPUs, KVM allows 64");
	/* Without a config the policy's limit is weighed: a warning, no config is refused. */
	pol.limits.vcpus_max = 100;
	report.n = 0;
	host_check_kvm(&report, NULL, &pol, &env);
	assert_line("kvm.vcpus", HOST_WARN, "the policy allows 100 vCPUs");
}

/* NICs: /dev/net/tun, and taps that `net up` has not made yet (a warning with its command). */
static void test_net(void **state)
{
	(void)state;
	cfg.nnics = 1;
	snprintf(cfg.nics[0].tap, sizeof(cfg.nics[0].tap), "bw-no-such0");
	host_check(&report, &cfg, &pol, &env);
	assert_line("net.tun", HOST_PASS, "/dev/null opens read-write");
	assert_line("net.taps", HOST_WARN, "not there yet: bw-no-such0");
	assert_non_null(strstr(item("net.taps")->fix, "bulwark net up CONFIG"));
	assert_true(host_report_ok(&report));
	env.tun = "/nonexistent/tun";
	report.n = 0;
	host_check(&report, &cfg, &pol, &env);
	assert_line("net.tun", HOST_FAIL, "cannot open /nonexistent/tun");
	assert_null(item("net.taps"));
	/* No NICs, no net lines. */
	cfg.nnics = 0;
	report.n = 0;
	host_check(&report, &cfg, &pol, &env);
	assert_null(item("net.tun"));
}

/* Not root: the policy's cgroup and sandbox would not apply, said once; none of them checked. */
static void test_not_root(void **state)
{
	(void)state;
	pol.cgroup.parent = parent;
	pol.sandbox.namespaces = POLICY_NS_NET;
	env.euid = 1000;
	host_check(&report, &cfg, &pol, &env);
	assert_line("privileges", HOST_WARN, "running as uid 1000");
	assert_null(item("cgroup.layout"));
	assert_null(item("sandbox.namespaces"));
	assert_line("sandbox.seccomp", HOST_PASS, "allowlists compile");
	assert_true(host_report_ok(&report));
}

/* As root: the layout from mountinfo (cgroup2 elsewhere), the controllers the policy needs and
 * where bulwark would enable them; nothing written by a check. */
static void test_cgroup_lines(void **state)
{
	char want[512];

	(void)state;
	pol.cgroup.parent = parent;
	pol.cgroup.cpu_max_set = pol.cgroup.pids_max_set = true;
	host_check(&report, &cfg, &pol, &env);
	assert_line("privileges", HOST_PASS, "root");
	snprintf(want, sizeof(want), "none: cgroup2 at %s, no manager", cg2);
	assert_line("cgroup.layout", HOST_PASS, want);
	snprintf(want, sizeof(want),
		 "cpu pids available under %s/bulwark; bulwark will enable cpu in %s, pids in %s",
		 cg2, cg2, cg2);
	assert_line("cgroup.controllers", HOST_PASS, want);
	assert_true(host_report_ok(&report));
	/* Under systemd, not delegated: a scope, which needs systemd's bus to answer. */
	fake_write(root, "systemd", "");
	report.n = 0;
	host_check(&report, &cfg, &pol, &env);
	assert_line("cgroup.layout", HOST_PASS, "managed by systemd");
	assert_line("cgroup.controllers", HOST_FAIL, "cannot reach systemd's bus");
	assert_false(host_report_ok(&report));
	fake_bus_up = true;
	report.n = 0;
	snprintf(cfg.name, sizeof(cfg.name), "web-1");
	host_check(&report, &cfg, &pol, &env);
	assert_line(
	    "cgroup.controllers", HOST_PASS,
	    "cpu pids offered by the kernel; bulwark's cgroup (unknown) is not delegated to "
	    "it, so it will ask systemd for a transient scope bulwark-web-1.scope with "
	    "Delegate=yes");
	/* The kernel lacks one: named. */
	fake_write(cg2, "cgroup.controllers", "memory pids\n");
	report.n = 0;
	host_check(&report, &cfg, &pol, &env);
	assert_line("cgroup.controllers", HOST_FAIL, "the cpu controller");
	fake_write(cg2, "cgroup.controllers", "cpuset cpu io memory pids\n");
	/* A sandbox without cgroup: the layout is said, nothing is needed. (The sandbox's own
	 * line is not looked at: it needs root, which these tests do not.) */
	pol.cgroup.parent = NULL;
	pol.sandbox.namespaces = POLICY_NS_UTS;
	report.n = 0;
	host_check(&report, &cfg, &pol, &env);
	assert_line("cgroup.layout", HOST_PASS, "(the policy asks for no cgroup)");
	assert_null(item("cgroup.controllers"));
}

/* In a cgroup systemd delegated (user.delegate, as a real xattr on the test's file system): the
 * controllers it offers, where bulwark will put itself and the VM; with or without systemd. */
static void test_cgroup_delegated(void **state)
{
	char unit[160], want[1024];

	(void)state;
	snprintf(unit, sizeof(unit), "%s/app.service", cg2);
	mkdir(unit, 0755);
	fake_write(unit, "cgroup.controllers", "cpu memory pids\n");
	fake_write(root, "self-cgroup", "0::/app.service\n");
	fake_write(root, "systemd", "");
	if (setxattr(unit, "user.delegate", "1", 1, 0))
		skip(); /* a file system without user xattrs */
	pol.cgroup.parent = parent;
	pol.cgroup.cpu_max_set = pol.cgroup.pids_max_set = true;
	host_check(&report, &cfg, &pol, &env);
	snprintf(want, sizeof(want),
		 "cpu pids offered in %s, which systemd delegated to bulwark: it will move into "
		 "%s/supervisor and make the VM's cgroup %s/vm (the policy's parent is not used)",
		 unit, unit, unit);
	assert_line("cgroup.controllers", HOST_PASS, want);
	/* A controller the unit was not given: named with the fix. */
	pol.cgroup.cpuset_cpus_set = true;
	report.n = 0;
	host_check(&report, &cfg, &pol, &env);
	snprintf(want, sizeof(want),
		 "the cpuset controller, which the policy's cpuset.cpus need, is not offered in "
		 "%s/cgroup.controllers",
		 unit);
	assert_line("cgroup.controllers", HOST_FAIL, want);
	assert_non_null(strstr(item("cgroup.controllers")->fix, "Delegate=yes"));
}

/* cgroup2 nowhere: the layout line fails with the fix, no controller line follows. */
static void test_no_cgroup2(void **state)
{
	(void)state;
	fake_write(root, "mountinfo", "22 1 8:1 / / rw - ext4 /dev/vda rw\n");
	pol.cgroup.parent = parent;
	host_check(&report, &cfg, &pol, &env);
	assert_line("cgroup.layout", HOST_FAIL, "no cgroup2 is mounted");
	assert_null(item("cgroup.controllers"));
}

/* The text form: a line per check, a fix under each WARN and FAIL, a summary. */
static void test_text(void **state)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	(void)state;
	report.config = "vm.yaml";
	host_add(&report, "a.one", HOST_PASS, NULL, "fine %d", 1);
	host_add(&report, "b.two", HOST_WARN, NULL, "meh");
	host_add(&report, "c.three", HOST_FAIL, "do this", "broken");
	host_report_print(&report, out);
	fclose(out);
	assert_string_equal(
	    text, "PASS a.one: fine 1\n"
		  "WARN b.two: meh\n"
		  "     fix: (no known fix: please report it)\n"
		  "FAIL c.three: broken\n"
		  "     fix: do this\n"
		  "host check: this host cannot run vm.yaml under policy p.yaml (1 passed, "
		  "1 warned, 1 failed)\n");
	free(text);
}

/* The JSON form, read back as a tool would: same checks, same verdicts, fix only off PASS. */
static void test_json(void **state)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	json_object *root_obj, *checks, *v;

	(void)state;
	fake_kvm_mode = FAKE_SHUTDOWN;
	host_check(&report, NULL, &pol, &env);
	assert_int_equal(host_report_json(&report, out), 0);
	fclose(out);
	root_obj = json_tokener_parse(text);
	assert_non_null(root_obj);
	assert_true(json_object_object_get_ex(root_obj, "config", &v));
	assert_null(v); /* null: no config was checked */
	assert_true(json_object_object_get_ex(root_obj, "policy", &v));
	assert_string_equal(json_object_get_string(v), "p.yaml");
	assert_true(json_object_object_get_ex(root_obj, "ok", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(root_obj, "checks", &checks));
	assert_int_equal(json_object_array_length(checks), report.n);
	for (unsigned i = 0; i < report.n; i++) {
		json_object *c = json_object_array_get_idx(checks, i);
		static const char *const names[] = {"PASS", "WARN", "FAIL"};

		assert_true(json_object_object_get_ex(c, "id", &v));
		assert_string_equal(json_object_get_string(v), report.items[i].id);
		assert_true(json_object_object_get_ex(c, "verdict", &v));
		assert_string_equal(json_object_get_string(v), names[report.items[i].verdict]);
		assert_true(json_object_object_get_ex(c, "detail", &v));
		assert_string_equal(json_object_get_string(v), report.items[i].detail);
		assert_int_equal(json_object_object_get_ex(c, "fix", &v),
				 report.items[i].verdict != HOST_PASS);
	}
	assert_line("kvm.runs-guests", HOST_FAIL, "stopped with KVM_EXIT_SHUTDOWN");
	json_object_put(root_obj);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_kvm_passes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kvm_pvm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kvm_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kvm_api_caps_vcpus, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_net, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_root, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cgroup_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cgroup_delegated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_cgroup2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
