/* fake_cgroupfs.h: a temporary directory posing as cgroupfs, for the cgroup and jail tests.
 * Link with -Wl,--wrap=mkdir,--wrap=rmdir: a directory made under the fake root gets the
 * interface files a real cgroup has, and removing one takes them away as the kernel would
 * (refusing with EBUSY while its cgroup.procs lists a process). */
#ifndef BULWARK_FAKE_CGROUPFS_H
#define BULWARK_FAKE_CGROUPFS_H

#include "fake_files.h"
#include "util/bytes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FAKE_UNTOUCHED "untouched\n"

static char fake_root[64];
static const char *fake_omit; /* an interface file new directories lack, as old kernels' do */

static const char *const fake_files[] = {
    "cgroup.procs",	  "cgroup.subtree_control",
    "cgroup.controllers", "memory.max",
    "memory.high",	  "memory.swap.max",
    "memory.events",	  "cpu.max",
    "cpu.weight",	  "cpuset.cpus",
    "pids.max",
};

int __real_mkdir(const char *path, mode_t mode);
int __real_rmdir(const char *path);

int __wrap_mkdir(const char *path, mode_t mode)
{
	int r = __real_mkdir(path, mode);

	if (r == 0 && fake_root[0] && !strncmp(path, fake_root, strlen(fake_root))) {
		for (size_t i = 0; i < ARRAY_SIZE(fake_files); i++)
			if (!fake_omit || strcmp(fake_omit, fake_files[i]))
				fake_write(path, fake_files[i], FAKE_UNTOUCHED);
		fake_write(path, "cgroup.procs", "");
		fake_write(path, "cgroup.subtree_control", "");
		fake_write(path, "cgroup.controllers", "cpuset cpu io memory pids\n");
		fake_write(path, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
	}
	return r;
}

int __wrap_rmdir(const char *path)
{
	char p[512];

	if (fake_root[0] && !strncmp(path, fake_root, strlen(fake_root))) {
		if (fake_read(path, "cgroup.procs")[0]) {
			errno = EBUSY;
			return -1;
		}
		for (size_t i = 0; i < ARRAY_SIZE(fake_files); i++) {
			snprintf(p, sizeof(p), "%s/%s", path, fake_files[i]);
			unlink(p);
		}
	}
	return __real_rmdir(path);
}

/* A fresh fake root holding one cgroup, ROOT/parent, as the policy's parent. */
static int fake_setup(char *parent, size_t size)
{
	snprintf(fake_root, sizeof(fake_root), "/tmp/bulwark-cg.XXXXXX");
	if (!mkdtemp(fake_root))
		return -1;
	snprintf(parent, size, "%s/parent", fake_root);
	return mkdir(parent, 0755);
}

static void fake_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake_root);
	if (fake_root[0] && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", fake_root);
	fake_root[0] = '\0';
	fake_omit = NULL;
}

#endif
