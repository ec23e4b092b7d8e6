/* test_cgroup_host.c: the host's cgroups on a fake tree: the layout told by statfs, cgroup2 found
 * in mountinfo, refusals that name the layout and the fix, controllers enabled top down only
 * where bulwark may write. statfs and getxattr are wrapped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake_files.h"
#include "sandbox/cgroup_host.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

static char root[64], fs[96], unified[128], mountinfo[128], systemd[128], self_cgroup[128],
    netns_a[128], netns_b[128];
static struct cgroup_host_paths paths;
/* statfs answers: these paths have these types, everything else ext4. */
static long type_fs, type_unified;
static char delegated_dir[160]; /* getxattr says trusted.delegate=1 here */
static char user_dir[160];	/* and user.delegate=1 here (systemd's user manager) */
static const char *user_value = "1";

int __real_statfs(const char *path, struct statfs *st);
int __real_statfs64(const char *path, struct statfs *st);

static int fake_statfs(const char *path, struct statfs *st)
{
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, fs))
		st->f_type = type_fs;
	else if (!strcmp(path, unified))
		st->f_type = type_unified;
	else
		st->f_type = EXT4_SUPER_MAGIC;
	if (!st->f_type) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int __wrap_statfs(const char *path, struct statfs *st)
{
	return fake_statfs(path, st);
}

int __wrap_statfs64(const char *path, struct statfs *st)
{
	return fake_statfs(path, st);
}

ssize_t __wrap_getxattr(const char *path, const char *name, void *value, size_t size)
{
	if (delegated_dir[0] && !strcmp(path, delegated_dir) && !strcmp(name, "trusted.delegate") &&
	    size >= 1) {
		*(char *)value = '1';
		return 1;
	}
	if (user_dir[0] && !strcmp(path, user_dir) && !strcmp(name, "user.delegate") &&
	    size >= strlen(user_value)) {
		memcpy(value, user_value, strlen(user_value));
		return (ssize_t)strlen(user_value);
	}
	errno = ENODATA;
	return -1;
}

/* A cgroup directory as the kernel shows one. */
static void cgroup_dir(const char *dir, const char *controllers, const char *subtree)
{
	mkdir(dir, 0755);
	fake_write(dir, "cgroup.controllers", controllers);
	fake_write(dir, "cgroup.subtree_control", subtree);
	fake_write(dir, "cgroup.procs", "");
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/bulwark-cgh.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(fs, sizeof(fs), "%s/cg", root);
	snprintf(unified, sizeof(unified), "%s/unified", fs);
	snprintf(mountinfo, sizeof(mountinfo), "%s/mountinfo", root);
	snprintf(systemd, sizeof(systemd), "%s/systemd-system", root);
	snprintf(self_cgroup, sizeof(self_cgroup), "%s/self-cgroup", root);
	snprintf(netns_a, sizeof(netns_a), "%s/netns-a", root);
	snprintf(netns_b, sizeof(netns_b), "%s/netns-b", root);
	fake_write(root, "netns-a", "");
	fake_write(root, "netns-b", "");
	paths = (struct cgroup_host_paths){fs, mountinfo, systemd, netns_a, netns_a, self_cgroup};
	cgroup_dir(fs, "cpuset cpu io memory pids\n", "");
	type_fs = CGROUP2_SUPER_MAGIC;
	type_unified = 0;
	delegated_dir[0] = '\0';
	user_dir[0] = '\0';
	user_value = "1";
	fake_write(root, "mountinfo", "");
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) ? -1 : 0;
}

static void test_unified(void **state)
{
	struct cgroup_host h;
	struct cgroup_problem pb;
	char out[256], parent[128];

	(void)state;
	cgroup_host_probe(&h, &paths);
	assert_int_equal(h.layout, CGROUP_LAYOUT_UNIFIED);
	assert_string_equal(cgroup_layout_name(h.layout), "unified");
	assert_string_equal(h.cgroup2, fs);
	assert_false(h.systemd);
	assert_false(h.own_netns);
	snprintf(parent, sizeof(parent), "%s/bulwark", fs);
	assert_int_equal(cgroup_host_resolve(&h, parent, out, sizeof(out), &pb), 0);
	assert_string_equal(out, parent);
}

/* Hybrid: refused, naming the layout, what cgroup2 offers there, and the boot option. */
static void test_hybrid(void **state)
{
	struct cgroup_host h;
	struct cgroup_problem pb;
	char out[256], parent[128];

	(void)state;
	type_fs = TMPFS_MAGIC;
	type_unified = CGROUP2_SUPER_MAGIC;
	mkdir(unified, 0755);
	fake_write(unified, "cgroup.controllers", "hugetlb\n");
	fake_write(root, "mountinfo",
		   "30 25 0:26 / /sys rw - sysfs sysfs rw\n"
		   "35 30 0:30 / /x/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
	cgroup_host_probe(&h, &paths);
	assert_int_equal(h.layout, CGROUP_LAYOUT_HYBRID);
	assert_string_equal(h.cgroup2, "/x/unified");
	/* The message reads the controllers where cgroup2 is: point it at the fake. */
	snprintf(h.cgroup2, sizeof(h.cgroup2), "%s", unified);
	snprintf(parent, sizeof(parent), "%s/bulwark", fs);
	assert_int_equal(cgroup_host_resolve(&h, parent, out, sizeof(out), &pb), -1);
	assert_non_null(strstr(pb.why, "hybrid layout"));
	assert_non_null(strstr(pb.why, "offering only \"hugetlb\""));
	/* No systemd here: the fix is the kernel's own. */
	assert_non_null(strstr(pb.fix, "mount cgroup2 at"));
	assert_non_null(strstr(pb.fix, "cgroup_no_v1=all"));
	assert_non_null(strstr(pb.fix, "a policy without a cgroup: section"));
	/* Under systemd, systemd's switch. */
	fake_write(root, "systemd-system", "");
	cgroup_host_probe(&h, &paths);
	snprintf(h.cgroup2, sizeof(h.cgroup2), "%s", unified);
	assert_int_equal(cgroup_host_resolve(&h, parent, out, sizeof(out), &pb), -1);
	assert_non_null(strstr(pb.fix, "systemd.unified_cgroup_hierarchy=1"));
}

static void test_legacy(void **state)
{
	struct cgroup_host h;
	struct cgroup_problem pb;
	char out[256], parent[128];

	(void)state;
	type_fs = TMPFS_MAGIC;
	cgroup_host_probe(&h, &paths);
	assert_int_equal(h.layout, CGROUP_LAYOUT_LEGACY);
	snprintf(parent, sizeof(parent), "%s/bulwark", fs);
	assert_int_equal(cgroup_host_resolve(&h, parent, out, sizeof(out), &pb), -1);
	assert_non_null(strstr(pb.why, "legacy layout"));
	type_fs = CGROUP_SUPER_MAGIC; /* one v1 hierarchy mounted right there */
	cgroup_host_probe(&h, &paths);
	assert_int_equal(h.layout, CGROUP_LAYOUT_LEGACY);
}

/* `ip netns exec`: a fresh sysfs hides cgroup2, in another network namespace. The hint says how
 * to run instead. Without the namespace, the hint is to mount cgroup2. */
static void test_fresh_sysfs(void **state)
{
	struct cgroup_host h;
	struct cgroup_problem pb;
	char out[256], parent[128];

	(void)state;
	type_fs = SYSFS_MAGIC;
	paths.init_netns = netns_b;
	cgroup_host_probe(&h, &paths);
	assert_int_equal(h.layout, CGROUP_LAYOUT_NONE);
	assert_true(h.fresh_sysfs);
	assert_true(h.own_netns);
	snprintf(parent, sizeof(parent), "%s/bulwark", fs);
	assert_int_equal(cgroup_host_resolve(&h, parent, out, sizeof(out), &pb), -1);
	assert_non_null(strstr(pb.why, "`ip netns exec`"));
	assert_non_null(strstr(pb.fix, "nsenter --net=/run/netns/NAME"));
	paths.init_netns = netns_a;
	cgroup_host_probe(&h, &paths);
	assert_int_equal(cgroup_host_resolve(&h, parent, out, sizeof(out), &pb), -1);
	assert_null(strstr(pb.why, "ip netns"));
	assert_non_null(strstr(pb.fix, "mount -t cgroup2"));
}

/* cgroup2 mounted somewhere else (mountinfo, with its octal escapes): the parent moves along. */
static void test_mounted_elsewhere(void **state)
{
	struct cgroup_host h;
	struct cgroup_problem pb;
	char out[256], parent[128];

	(void)state;
	type_fs = 0; /* no /sys/fs/cgroup at all */
	fake_write(root, "mountinfo",
		   "22 1 8:1 / / rw - ext4 /dev/vda rw\n"
		   "40 22 0:40 / /run/my\\040cgroup rw shared:9 - cgroup2 none rw\n");
	cgroup_host_probe(&h, &paths);
	assert_int_equal(h.layout, CGROUP_LAYOUT_NONE);
	assert_string_equal(h.cgroup2, "/run/my cgroup");
	snprintf(parent, sizeof(parent), "%s/bulwark/vms", fs);
	assert_int_equal(cgroup_host_resolve(&h, parent, out, sizeof(out), &pb), 0);
	assert_string_equal(out, "/run/my cgroup/bulwark/vms");
	snprintf(parent, sizeof(parent), "/elsewhere");
	assert_int_equal(cgroup_host_resolve(&h, parent, out, sizeof(out), &pb), -1);
}

static unsigned need_of(bool cpu, bool memory, bool pids, bool cpuset)
{
	struct policy_cgroup pc = {.cpu_weight_set = cpu,
				   .memory_high_set = memory,
				   .pids_max_set = pids,
				   .cpuset_cpus_set = cpuset};

	return cgroup_controllers_needed(&pc);
}

static void test_needed(void **state)
{
	char names[64];

	(void)state;
	assert_int_equal(need_of(false, false, false, false), 0);
	assert_string_equal(
	    cgroup_controller_names(need_of(true, true, true, true), names, sizeof(names)),
	    "cpuset cpu memory pids");
	assert_string_equal(
	    cgroup_controller_names(need_of(true, false, true, false), names, sizeof(names)),
	    "cpu pids");
}

/* No systemd: each controller is enabled top down, from the root to the parent's own parent;
 * a check alone (apply false) writes nothing. */
static void test_enable_along_path(void **state)
{
	struct cgroup_host h;
	struct cgroup_problem pb;
	char a[128], parent[160], done[512], want[512];

	(void)state;
	snprintf(a, sizeof(a), "%s/a", fs);
	snprintf(parent, sizeof(parent), "%s/vms", a); /* missing: cgroup_create() makes it */
	cgroup_dir(a, "cpuset cpu io memory pids\n", "");
	cgroup_host_probe(&h, &paths);
	assert_int_equal(cgroup_host_prepare(&h, parent, CGROUP_CPU | CGROUP_PIDS, false, done,
					     sizeof(done), &pb),
			 0);
	snprintf(want, sizeof(want), "cpu in %s, cpu in %s, pids in %s, pids in %s", fs, a, fs, a);
	assert_string_equal(done, want);
	assert_string_equal(fake_read(fs, "cgroup.subtree_control"), "");
	assert_string_equal(fake_read(a, "cgroup.subtree_control"), "");
	/* Applied (one controller: the fake's files keep only the last write). */
	assert_int_equal(
	    cgroup_host_prepare(&h, parent, CGROUP_PIDS, true, done, sizeof(done), &pb), 0);
	assert_string_equal(fake_read(fs, "cgroup.subtree_control"), "+pids");
	assert_string_equal(fake_read(a, "cgroup.subtree_control"), "+pids");
	/* Where a controller is on already, nothing is written. */
	fake_write(fs, "cgroup.subtree_control", "cpu memory pids\n");
	fake_write(a, "cgroup.subtree_control", "memory\n");
	assert_int_equal(cgroup_host_prepare(&h, parent, CGROUP_PIDS | CGROUP_MEMORY, true, done,
					     sizeof(done), &pb),
			 0);
	snprintf(want, sizeof(want), "pids in %s", a);
	assert_string_equal(done, want);
	assert_string_equal(fake_read(fs, "cgroup.subtree_control"), "cpu memory pids\n");
}

/* systemd manages the tree: its root is never written; a delegated subtree is bulwark's. */
static void test_systemd_single_writer(void **state)
{
	struct cgroup_host h;
	struct cgroup_problem pb;
	char a[128], parent[160], want[512];

	(void)state;
	fake_write(root, "systemd-system", "");
	snprintf(a, sizeof(a), "%s/a", fs);
	snprintf(parent, sizeof(parent), "%s/vms", a);
	cgroup_dir(a, "memory pids\n", "");
	fake_write(fs, "cgroup.subtree_control", "memory pids\n"); /* Debian 12's systemd 252 */
	cgroup_host_probe(&h, &paths);
	assert_true(h.systemd);
	assert_int_equal(cgroup_host_prepare(&h, parent, CGROUP_CPU, true, NULL, 0, &pb), -1);
	snprintf(want, sizeof(want),
		 "the cpu controller, which the policy's cpu.max and cpu.weight need, is not "
		 "enabled in %s/cgroup.subtree_control: systemd manages that cgroup",
		 fs);
	assert_memory_equal(pb.why, want, strlen(want));
	assert_non_null(strstr(pb.fix, "DefaultCPUAccounting=yes"));
	assert_non_null(strstr(pb.fix, "Delegate=yes"));
	assert_string_equal(fake_read(fs, "cgroup.subtree_control"), "memory pids\n");
	/* Not delegated below the root either. */
	assert_int_equal(cgroup_host_prepare(&h, parent, CGROUP_PIDS, true, NULL, 0, &pb), -1);
	assert_non_null(strstr(pb.why, "/a/cgroup.subtree_control"));
	assert_string_equal(fake_read(a, "cgroup.subtree_control"), "");
	/* Delegated: a's subtree is bulwark's to write. */
	snprintf(delegated_dir, sizeof(delegated_dir), "%s", a);
	assert_int_equal(cgroup_host_prepare(&h, parent, CGROUP_PIDS, true, NULL, 0, &pb), 0);
	assert_string_equal(fake_read(a, "cgroup.subtree_control"), "+pids");
	/* The root itself as the parent, under systemd: refused. */
	assert_int_equal(cgroup_host_prepare(&h, fs, CGROUP_PIDS, false, NULL, 0, &pb), -1);
	assert_non_null(strstr(pb.why, "which systemd manages"));
}

/* A controller the root does not offer (bound to v1, or not built): named, with its keys. */
static void test_not_offered(void **state)
{
	struct cgroup_host h;
	struct cgroup_problem pb;
	char parent[128];

	(void)state;
	fake_write(fs, "cgroup.controllers", "memory pids\n");
	snprintf(parent, sizeof(parent), "%s/bulwark", fs);
	cgroup_host_probe(&h, &paths);
	assert_int_equal(cgroup_host_prepare(&h, parent, CGROUP_CPUSET, true, NULL, 0, &pb), -1);
	assert_non_null(strstr(pb.why, "the cpuset controller, which the policy's cpuset.cpus"));
	assert_non_null(strstr(pb.why, "does not offer it"));
	assert_non_null(strstr(pb.fix, "cgroup_no_v1=cpuset"));
	assert_string_equal(fake_read(fs, "cgroup.subtree_control"), "");
}

/* A cgroup on the path holding processes cannot enable controllers for its children. */
static void test_internal_processes(void **state)
{
	struct cgroup_host h;
	struct cgroup_problem pb;
	char a[128], parent[160];

	(void)state;
	snprintf(a, sizeof(a), "%s/a", fs);
	snprintf(parent, sizeof(parent), "%s/vms", a);
	cgroup_dir(a, "cpu memory pids\n", "");
	fake_write(a, "cgroup.procs", "4242\n");
	fake_write(fs, "cgroup.subtree_control", "cpu\n");
	cgroup_host_probe(&h, &paths);
	assert_int_equal(cgroup_host_prepare(&h, parent, CGROUP_CPU, true, NULL, 0, &pb), -1);
	assert_non_null(strstr(pb.why, "it holds processes"));
	assert_string_equal(fake_read(a, "cgroup.subtree_control"), "");
}

/* bulwark makes only the parent itself: a missing cgroup above it is refused. */
static void test_missing_above(void **state)
{
	struct cgroup_host h;
	struct cgroup_problem pb;
	char parent[160];

	(void)state;
	snprintf(parent, sizeof(parent), "%s/no/such", fs);
	cgroup_host_probe(&h, &paths);
	assert_int_equal(cgroup_host_prepare(&h, parent, CGROUP_CPU, false, NULL, 0, &pb), -1);
	assert_non_null(strstr(pb.why, "bulwark makes only the last one"));
}

/* Bulwark's own cgroup from /proc/self/cgroup's "0::" line, under cgroup2's mount; delegated
 * when systemd marked that very directory; the mode follows. */
static void test_own_cgroup(void **state)
{
	struct cgroup_host h;
	char unit[160];

	(void)state;
	snprintf(unit, sizeof(unit), "%s/system.slice/vm.service", fs);
	/* A hybrid host's v1 lines come first; only the unified one counts. */
	fake_write(root, "self-cgroup", "4:memory:/system.slice\n0::/system.slice/vm.service\n");
	cgroup_host_probe(&h, &paths);
	assert_string_equal(h.own, unit);
	assert_false(h.delegated); /* no xattr at all */
	assert_int_equal(cgroup_host_mode(&h), CGROUP_MODE_PARENT);
	fake_write(root, "systemd-system", "");
	cgroup_host_probe(&h, &paths);
	assert_int_equal(cgroup_host_mode(&h), CGROUP_MODE_SCOPE);
	/* trusted.delegate on the unit's cgroup: delegated. */
	snprintf(delegated_dir, sizeof(delegated_dir), "%s", unit);
	cgroup_host_probe(&h, &paths);
	assert_true(h.delegated);
	assert_int_equal(cgroup_host_mode(&h), CGROUP_MODE_DELEGATED);
	/* On the slice above only: the unit itself is not delegated. */
	snprintf(delegated_dir, sizeof(delegated_dir), "%s/system.slice", fs);
	cgroup_host_probe(&h, &paths);
	assert_false(h.delegated);
	/* user.delegate does as well; any value but "1" does not. */
	snprintf(user_dir, sizeof(user_dir), "%s", unit);
	cgroup_host_probe(&h, &paths);
	assert_true(h.delegated);
	user_value = "0";
	cgroup_host_probe(&h, &paths);
	assert_false(h.delegated);
	user_value = "11";
	cgroup_host_probe(&h, &paths);
	assert_false(h.delegated);
}

/* The root, a missing line, a hybrid host: no own cgroup to use, never "delegated". */
static void test_own_cgroup_none(void **state)
{
	struct cgroup_host h;

	(void)state;
	snprintf(delegated_dir, sizeof(delegated_dir), "%s", fs);
	fake_write(root, "self-cgroup", "0::/\n");
	cgroup_host_probe(&h, &paths);
	assert_string_equal(h.own, fs);
	assert_false(h.delegated);
	fake_write(root, "self-cgroup", "1:name=systemd:/\n");
	cgroup_host_probe(&h, &paths);
	assert_string_equal(h.own, "");
	assert_false(h.delegated);
	type_fs = TMPFS_MAGIC;
	type_unified = CGROUP2_SUPER_MAGIC;
	fake_write(root, "self-cgroup", "0::/a\n");
	snprintf(delegated_dir, sizeof(delegated_dir), "%s/a", fs);
	cgroup_host_probe(&h, &paths);
	assert_int_equal(h.layout, CGROUP_LAYOUT_HYBRID);
	assert_string_equal(h.own, "");
	assert_false(h.delegated);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unified, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hybrid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_legacy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fresh_sysfs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mounted_elsewhere, setup, teardown),
	    cmocka_unit_test(test_needed),
	    cmocka_unit_test_setup_teardown(test_enable_along_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_systemd_single_writer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_offered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_internal_processes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_above, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_own_cgroup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_own_cgroup_none, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
