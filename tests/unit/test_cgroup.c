/* test_cgroup.c: the VM's cgroup on a fake cgroupfs: which file gets which value, and cleanup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake_cgroupfs.h"
#include "sandbox/cgroup.h"

static char parent[96], vmdir[128];
static struct policy_cgroup pc;
static struct cgroup cg;
static struct bw_error err; /* what a failed step says, for main.c to print */

static int setup(void **state)
{
	(void)state;
	if (fake_setup(parent, sizeof(parent)))
		return -1;
	snprintf(vmdir, sizeof(vmdir), "%s/vm1", parent);
	memset(&pc, 0, sizeof(pc));
	memset(&cg, 0, sizeof(cg));
	pc.parent = parent;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_teardown();
	return 0;
}

/* Every value the policy gives lands in its file, in the kernel's syntax. */
static void test_values_written(void **state)
{
	(void)state;
	pc.memory_max = 256ULL << 20, pc.memory_max_set = true;
	pc.memory_high = 192ULL << 20, pc.memory_high_set = true;
	pc.memory_swap_max = 0, pc.memory_swap_max_set = true;
	pc.cpu_quota_us = 50000, pc.cpu_period_us = 100000, pc.cpu_max_set = true;
	pc.cpu_weight = 50, pc.cpu_weight_set = true;
	snprintf(pc.cpuset_cpus, sizeof(pc.cpuset_cpus), "0-1");
	pc.cpuset_cpus_set = true;
	pc.pids_max = 64, pc.pids_max_set = true;

	assert_int_equal(cgroup_create(&cg, &pc, "vm1", &err), 0);
	assert_true(cg.created);
	assert_string_equal(cg.path, vmdir);
	assert_string_equal(fake_read(vmdir, "memory.max"), "268435456");
	assert_string_equal(fake_read(vmdir, "memory.high"), "201326592");
	assert_string_equal(fake_read(vmdir, "memory.swap.max"), "0");
	assert_string_equal(fake_read(vmdir, "cpu.max"), "50000 100000");
	assert_string_equal(fake_read(vmdir, "cpu.weight"), "50");
	assert_string_equal(fake_read(vmdir, "cpuset.cpus"), "0-1");
	assert_string_equal(fake_read(vmdir, "pids.max"), "64");
	/* Nothing moved in yet: that is cgroup_enter's, in the VMM. */
	assert_string_equal(fake_read(vmdir, "cgroup.procs"), "");
}

/* A value left out keeps the kernel's default: its file is not written at all. */
static void test_unset_values_untouched(void **state)
{
	(void)state;
	pc.pids_max = 10, pc.pids_max_set = true;
	pc.memory_max = 1 << 20; /* given, but not marked set */
	assert_int_equal(cgroup_create(&cg, &pc, "vm1", &err), 0);
	assert_string_equal(fake_read(vmdir, "pids.max"), "10");
	assert_string_equal(fake_read(vmdir, "memory.max"), FAKE_UNTOUCHED);
	assert_string_equal(fake_read(vmdir, "cpu.max"), FAKE_UNTOUCHED);
	assert_string_equal(fake_read(vmdir, "cpuset.cpus"), FAKE_UNTOUCHED);
	/* Only the controller a set value needs was enabled. */
	assert_string_equal(fake_read(parent, "cgroup.subtree_control"), "+pids");
}

static void test_unlimited_is_max(void **state)
{
	(void)state;
	pc.memory_max = POLICY_UNLIMITED, pc.memory_max_set = true;
	pc.cpu_quota_us = POLICY_UNLIMITED, pc.cpu_period_us = 100000, pc.cpu_max_set = true;
	pc.pids_max = POLICY_UNLIMITED, pc.pids_max_set = true;
	assert_int_equal(cgroup_create(&cg, &pc, "vm1", &err), 0);
	assert_string_equal(fake_read(vmdir, "memory.max"), "max");
	assert_string_equal(fake_read(vmdir, "cpu.max"), "max 100000");
	assert_string_equal(fake_read(vmdir, "pids.max"), "max");
}

/* Controllers already enabled in the parent are not written again (no needless privilege). */
static void test_enabled_controllers_kept(void **state)
{
	(void)state;
	fake_write(parent, "cgroup.subtree_control", "cpuset cpu memory pids\n");
	pc.memory_max = 1 << 30, pc.memory_max_set = true;
	pc.pids_max = 8, pc.pids_max_set = true;
	assert_int_equal(cgroup_create(&cg, &pc, "vm1", &err), 0);
	assert_string_equal(fake_read(parent, "cgroup.subtree_control"),
			    "cpuset cpu memory pids\n");

	/* memory there, pids missing: only pids is added. */
	assert_int_equal(cgroup_remove(&cg), 0);
	fake_write(parent, "cgroup.subtree_control", "memory\n");
	assert_int_equal(cgroup_create(&cg, &pc, "vm1", &err), 0);
	assert_string_equal(fake_read(parent, "cgroup.subtree_control"), "+pids");
}

/* A controller the parent cannot offer is an error naming it, before any directory is made. */
static void test_unavailable_controller(void **state)
{
	(void)state;
	fake_write(parent, "cgroup.controllers", "cpu memory pids\n");
	snprintf(pc.cpuset_cpus, sizeof(pc.cpuset_cpus), "0");
	pc.cpuset_cpus_set = true;
	assert_int_equal(cgroup_create(&cg, &pc, "vm1", &err), -ENOTSUP);
	assert_int_equal(err.kind, BW_ERR_HOST);
	assert_non_null(strstr(err.msg, "cgroup: the cpuset controller is not available in "));
	assert_non_null(strstr(err.msg, "(its cgroup.controllers: cpu memory pids): enable it"));
	assert_false(cg.created);
	assert_false(fake_exists(vmdir));
}

/* A write the kernel refuses (a kernel without swap accounting has no memory.swap.max) fails
 * the step; what was made is still removed. */
static void test_write_failure(void **state)
{
	(void)state;
	fake_omit = "memory.swap.max";
	pc.memory_max = 1 << 30, pc.memory_max_set = true;
	pc.memory_swap_max = 0, pc.memory_swap_max_set = true;
	assert_int_equal(cgroup_create(&cg, &pc, "vm1", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cgroup: cannot write \"0\" to "));
	assert_non_null(strstr(err.msg, "/vm1/memory.swap.max: No such file or directory"));
	assert_true(cg.created);
	assert_string_equal(fake_read(vmdir, "memory.max"), "1073741824");
	assert_int_equal(cgroup_remove(&cg), 0);
	assert_false(fake_exists(vmdir));
}

/* An empty leftover of an earlier run is replaced; one holding processes is refused and kept. */
static void test_leftovers(void **state)
{
	(void)state;
	pc.pids_max = 5, pc.pids_max_set = true;
	assert_int_equal(mkdir(vmdir, 0755), 0);
	assert_int_equal(cgroup_create(&cg, &pc, "vm1", &err), 0);
	assert_string_equal(fake_read(vmdir, "pids.max"), "5");
	assert_int_equal(cgroup_remove(&cg), 0);

	assert_int_equal(mkdir(vmdir, 0755), 0);
	fake_write(vmdir, "cgroup.procs", "4242\n");
	assert_int_equal(cgroup_create(&cg, &pc, "vm1", &err), -EBUSY);
	assert_non_null(strstr(err.msg, "already exists and cannot be replaced"));
	assert_non_null(strstr(err.msg, "is another VM named vm1 running?"));
	assert_false(cg.created);
	assert_int_equal(cgroup_remove(&cg), 0); /* not ours: left alone */
	assert_true(fake_exists(vmdir));
	assert_string_equal(fake_read(vmdir, "cgroup.procs"), "4242\n");
}

static void test_enter_and_remove(void **state)
{
	(void)state;
	assert_int_equal(cgroup_create(&cg, &pc, "vm1", &err), 0);
	assert_int_equal(cgroup_enter(&cg, &err), 0);
	assert_string_equal(fake_read(vmdir, "cgroup.procs"), "0");
	/* Still "populated": removal waits, then gives up with EBUSY and keeps the directory. */
	assert_int_equal(cgroup_remove(&cg), -EBUSY);
	assert_true(fake_exists(vmdir));
	fake_write(vmdir, "cgroup.procs", "");
	assert_int_equal(cgroup_remove(&cg), 0);
	assert_false(fake_exists(vmdir));
	assert_false(cg.created);
	assert_int_equal(cgroup_remove(&cg), 0); /* twice is harmless */
}

static void test_oom_kills(void **state)
{
	(void)state;
	assert_int_equal(cgroup_create(&cg, &pc, "vm1", &err), 0);
	assert_int_equal(cgroup_oom_kills(&cg), 0);
	fake_write(vmdir, "memory.events", "low 0\nhigh 12\nmax 40\noom 2\noom_kill 3\n");
	assert_int_equal(cgroup_oom_kills(&cg), 3);
	fake_write(vmdir, "memory.events", "low 0\n");
	assert_int_equal(cgroup_oom_kills(&cg), -ENOENT);
	assert_int_equal(cgroup_remove(&cg), 0);
	assert_int_equal(cgroup_oom_kills(&cg), -ENOENT); /* the file went with the cgroup */
}

/* A missing parent is made (and left for the next VM); a bad name never makes a path. */
static void test_parent_and_name(void **state)
{
	(void)state;
	snprintf(parent, sizeof(parent), "%s/new-parent", fake_root);
	assert_int_equal(cgroup_create(&cg, &pc, "vm1", &err), 0);
	assert_true(fake_exists(parent));
	assert_int_equal(cgroup_remove(&cg), 0);
	assert_true(fake_exists(parent));
	assert_int_equal(cgroup_create(&cg, &pc, "../x", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "cgroup: no usable path for the VM's cgroup under "));
	assert_int_equal(cgroup_create(&cg, &pc, "", &err), -EINVAL);
	pc.parent = NULL;
	assert_int_equal(cgroup_create(&cg, &pc, "vm1", &err), -EINVAL);
	assert_false(cg.created);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_values_written, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unset_values_untouched, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unlimited_is_max, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enabled_controllers_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unavailable_controller, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_leftovers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enter_and_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oom_kills, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parent_and_name, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
