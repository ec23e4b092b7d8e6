/* test_cgroup_delegate.c: bulwark in a cgroup systemd delegated, on a fake cgroupfs: the move into
 * supervisor/, the controllers enabled in the delegated cgroup alone, vm/ beside it, refusals
 * that name the controller and the fix, nothing written outside; the scope's unit name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake_cgroupfs.h"
#include "sandbox/cgroup.h"
#include "sandbox/cgroup_delegate.h"
#include "sandbox/cgroup_scope.h"

/* PARENT stands for the slice above, D for the unit's delegated cgroup. */
static char parent[96], d[128], sup[160], vm[160];
static struct cgroup_problem pb;
static struct cgroup_host h;

static int setup(void **state)
{
	(void)state;
	if (fake_setup(parent, sizeof(parent)))
		return -1;
	snprintf(d, sizeof(d), "%s/vm.service", parent);
	snprintf(sup, sizeof(sup), "%s/supervisor", d);
	snprintf(vm, sizeof(vm), "%s/vm", d);
	mkdir(d, 0755); /* a fake cgroup: its files as the kernel makes them */
	fake_write(d, "cgroup.controllers", "cpu memory pids\n");
	/* The slice above: every file says untouched, and must still say so at the end. */
	for (size_t i = 0; i < ARRAY_SIZE(fake_files); i++)
		fake_write(parent, fake_files[i], FAKE_UNTOUCHED);
	memset(&h, 0, sizeof(h));
	memset(&pb, 0, sizeof(pb));
	snprintf(h.cgroup2, sizeof(h.cgroup2), "%s", fake_root);
	snprintf(h.own, sizeof(h.own), "%s", d);
	h.systemd = h.delegated = true;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_teardown();
	return 0;
}

/* Nothing above D was written, and of D's own files at most cgroup.subtree_control. */
static void assert_only_d_subtree(void)
{
	static const char *const d_files[] = {"memory.max", "cpu.max", "pids.max", "cpu.weight"};

	for (size_t i = 0; i < ARRAY_SIZE(fake_files); i++)
		assert_string_equal(fake_read(parent, fake_files[i]), FAKE_UNTOUCHED);
	for (size_t i = 0; i < ARRAY_SIZE(d_files); i++)
		assert_string_equal(fake_read(d, d_files[i]), FAKE_UNTOUCHED);
	assert_string_equal(fake_read(d, "cgroup.procs"), "");
	assert_string_equal(fake_read(d, "cgroup.controllers"), "cpu memory pids\n");
}

/* The whole layout: bulwark into supervisor/, then the VM's cgroup vm/ beside it, the controllers
 * on in D for it, with the policy's values. */
static void test_layout(void **state)
{
	struct policy_cgroup pc = {.pids_max = 32, .pids_max_set = true};
	struct cgroup cg;
	struct bw_error err;
	char out[256];

	(void)state;
	fake_write(d, "cgroup.subtree_control", "cpu\n"); /* on already: not written again */
	assert_int_equal(cgroup_delegate_prepare(&h, "web", CGROUP_CPU | CGROUP_PIDS, true, out,
						 sizeof(out), &pb),
			 0);
	assert_string_equal(out, d);
	assert_true(fake_exists(sup));
	assert_string_equal(fake_read(sup, "cgroup.procs"), "0"); /* the writer itself */
	pc.parent = out;
	assert_int_equal(cgroup_create(&cg, &pc, CGROUP_DELEGATE_VM, &err), 0);
	assert_string_equal(fake_read(d, "cgroup.subtree_control"), "+pids");
	assert_string_equal(cg.path, vm);
	assert_string_equal(fake_read(vm, "pids.max"), "32");
	assert_only_d_subtree();
	assert_int_equal(cgroup_remove(&cg), 0);
	assert_false(fake_exists(vm));
}

/* A check (APPLY false) writes nothing, and a scope has nothing to check before it exists. */
static void test_check_writes_nothing(void **state)
{
	char out[256] = "";

	(void)state;
	assert_int_equal(cgroup_delegate_prepare(&h, "web", CGROUP_CPU | CGROUP_MEMORY, false, out,
						 sizeof(out), &pb),
			 0);
	assert_false(fake_exists(sup));
	assert_string_equal(fake_read(d, "cgroup.subtree_control"), "");
	h.delegated = false;
	assert_int_equal(
	    cgroup_delegate_prepare(&h, "web", CGROUP_CPUSET, false, out, sizeof(out), &pb), 0);
	assert_false(fake_exists(sup));
}

/* A controller D does not offer: refused naming it, its keys, D and the fix; nothing moved. */
static void test_missing_controller(void **state)
{
	char out[256], want[512];

	(void)state;
	assert_int_equal(cgroup_delegate_prepare(&h, "web", CGROUP_CPUSET | CGROUP_PIDS, true, out,
						 sizeof(out), &pb),
			 -1);
	snprintf(want, sizeof(want),
		 "the cpuset controller, which the policy's cpuset.cpus need, is not offered in "
		 "%s/cgroup.controllers (\"cpu memory pids\")",
		 d);
	assert_string_equal(pb.why, want);
	assert_non_null(strstr(pb.fix, "Delegate=yes"));
	assert_non_null(strstr(pb.fix, "drop cpuset.cpus from the policy"));
	assert_false(fake_exists(sup));
	assert_string_equal(fake_read(d, "cgroup.subtree_control"), "");
	assert_only_d_subtree();
}

/* Another process left in D (a shell that did not exec bulwark): named, nothing enabled. */
static void test_other_process(void **state)
{
	(void)state;
	fake_write(d, "cgroup.procs", "4242\n4243\n");
	assert_int_equal(cgroup_delegate_enter(d, CGROUP_PIDS, &pb), -1);
	assert_non_null(strstr(pb.why, "(pids 4242 4243)"));
	assert_non_null(strstr(pb.fix, "exec"));
	assert_string_equal(fake_read(d, "cgroup.subtree_control"), "");
}

/* The scope's unit: the VM's name as it is where systemd takes it, escaped where not. */
static void test_scope_request(void **state)
{
	struct cgroup_scope_request req;
	char longname[300];

	(void)state;
	assert_int_equal(cgroup_scope_request("web-1", 4242, &req), 0);
	assert_string_equal(req.unit, "bulwark-web-1.scope");
	assert_string_equal(req.description, "bulwark VM web-1");
	assert_int_equal(req.pid, 4242);
	assert_int_equal(cgroup_scope_request("a b/c\\", 1, &req), 0);
	assert_string_equal(req.unit, "bulwark-a\\x20b\\x2fc\\x5c.scope");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(cgroup_scope_request(longname, 1, &req), -1);
	/* The longest that fits: systemd's 255 characters, ".scope" included. */
	longname[255 - strlen("bulwark-.scope")] = '\0';
	assert_int_equal(cgroup_scope_request(longname, 1, &req), 0);
	assert_int_equal(strlen(req.unit), 255);
	longname[255 - strlen("bulwark-.scope")] = 'a';
	longname[256 - strlen("bulwark-.scope")] = '\0';
	assert_int_equal(cgroup_scope_request(longname, 1, &req), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_writes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_controller, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_process, setup, teardown),
	    cmocka_unit_test(test_scope_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
