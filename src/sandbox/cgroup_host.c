/* cgroup_host.c: the host's cgroups as bulwark meets them: layout, cgroup2's mount, who may write.
 */
#include "sandbox/cgroup_host.h"
#include "util/bytes.h"

#include "sandbox/cgroup.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

const struct cgroup_host_paths cgroup_host_paths_default = {
    .fs_cgroup = "/sys/fs/cgroup",
    .mountinfo = "/proc/self/mountinfo",
    .systemd = "/run/systemd/system",
    .self_netns = "/proc/self/ns/net",
    .init_netns = "/proc/1/ns/net",
    .self_cgroup = "/proc/self/cgroup",
};

static const struct {
	unsigned bit;
	const char *name, *keys, *systemd;
} controllers[] = {
    {CGROUP_CPUSET, "cpuset", "cpuset.cpus", NULL},
    {CGROUP_CPU, "cpu", "cpu.max and cpu.weight", "DefaultCPUAccounting=yes"},
    {CGROUP_MEMORY, "memory", "memory.max, memory.high and memory.swap.max",
     "DefaultMemoryAccounting=yes"},
    {CGROUP_PIDS, "pids", "pids.max", "DefaultTasksAccounting=yes"},
};
#define NCONTROLLERS (ARRAY_SIZE(controllers))

const char *cgroup_layout_name(enum cgroup_layout layout)
{
	switch (layout) {
	case CGROUP_LAYOUT_UNIFIED:
		return "unified";
	case CGROUP_LAYOUT_HYBRID:
		return "hybrid";
	case CGROUP_LAYOUT_LEGACY:
		return "legacy";
	case CGROUP_LAYOUT_NONE:
		break;
	}
	return "none";
}

unsigned cgroup_controllers_needed(const struct policy_cgroup *pc)
{
	return (pc->cpuset_cpus_set ? CGROUP_CPUSET : 0) |
	       (pc->cpu_max_set || pc->cpu_weight_set ? CGROUP_CPU : 0) |
	       (pc->memory_max_set || pc->memory_high_set || pc->memory_swap_max_set ? CGROUP_MEMORY
										     : 0) |
	       (pc->pids_max_set ? CGROUP_PIDS : 0);
}

const char *cgroup_controller_names(unsigned set, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NCONTROLLERS; i++)
		if ((set & controllers[i].bit) && len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? " " : "",
						controllers[i].name);
	return buf;
}

const char *cgroup_controller_keys(unsigned bit)
{
	for (size_t i = 0; i < NCONTROLLERS; i++)
		if (controllers[i].bit == bit)
			return controllers[i].keys;
	return "?";
}

/* statfs's f_type of PATH, or 0 when it cannot be read. */
static long fs_type(const char *path)
{
	struct statfs st;

	return statfs(path, &st) ? 0 : (long)st.f_type;
}

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/*
 * The first cgroup2 mount point in MOUNTINFO, into OUT ("" if none). A line reads
 * "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS".
 */
static void find_cgroup2(const char *mountinfo, char *out, size_t size)
{
	char line[4096];
	FILE *f = fopen(mountinfo, "re");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char point[PATH_MAX], type[64];
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(dash, " - %63s", type) != 1 || strcmp(type, "cgroup2") != 0 ||
		    sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
			continue;
		unescape(point);
		snprintf(out, size, "%s", point);
		break;
	}
	fclose(f);
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Whether DIR itself carries systemd's delegation mark: trusted.delegate (what systemd writes as
 * root) or user.delegate (its user manager's, and the newer systemd's too) = "1". */
static bool delegate_mark(const char *dir)
{
	char v[8];
	ssize_t n = getxattr(dir, "trusted.delegate", v, sizeof(v) - 1);

	if (n < 0)
		n = getxattr(dir, "user.delegate", v, sizeof(v) - 1);
	return n == 1 && v[0] == '1';
}

/*
 * Bulwark's own cgroup2 directory into H->own: the "0::/PATH" line of SELF_CGROUP (the unified
 * hierarchy's; v1 hierarchies have numbered lines) under cgroup2's mount point. Left "" without
 * cgroup2, or when the line is missing or says the cgroup is gone ("(deleted)").
 */
static void find_own(struct cgroup_host *h, const char *self_cgroup)
{
	char line[PATH_MAX + 8];
	FILE *f = self_cgroup && h->cgroup2[0] ? fopen(self_cgroup, "re") : NULL;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "0::/", 4) != 0 || strstr(line, " (deleted)"))
			continue;
		/* The root is "0::/": no trailing slash on the mount point. */
		if ((size_t)snprintf(h->own, sizeof(h->own), "%s%s", h->cgroup2,
				     line[4] ? line + 3 : "") >= sizeof(h->own))
			h->own[0] = '\0';
		break;
	}
	fclose(f);
	h->delegated = h->own[0] && strcmp(h->own, h->cgroup2) != 0 && delegate_mark(h->own);
}

enum cgroup_mode cgroup_host_mode(const struct cgroup_host *h)
{
	if (h->delegated)
		return CGROUP_MODE_DELEGATED;
	return h->systemd ? CGROUP_MODE_SCOPE : CGROUP_MODE_PARENT;
}

void cgroup_host_probe(struct cgroup_host *h, const struct cgroup_host_paths *paths)
{
	char unified[PATH_MAX];
	long type = fs_type(paths->fs_cgroup);

	memset(h, 0, sizeof(*h));
	h->paths = paths;
	find_cgroup2(paths->mountinfo, h->cgroup2, sizeof(h->cgroup2));
	h->systemd = access(paths->systemd, F_OK) == 0;
	h->own_netns = !same_file(paths->self_netns, paths->init_netns);
	snprintf(unified, sizeof(unified), "%s/unified", paths->fs_cgroup);
	if (type == CGROUP2_SUPER_MAGIC) {
		h->layout = CGROUP_LAYOUT_UNIFIED;
		snprintf(h->cgroup2, sizeof(h->cgroup2), "%s", paths->fs_cgroup);
	} else if (type == TMPFS_MAGIC) {
		h->layout = fs_type(unified) == CGROUP2_SUPER_MAGIC ? CGROUP_LAYOUT_HYBRID
								    : CGROUP_LAYOUT_LEGACY;
	} else if (type == CGROUP_SUPER_MAGIC) {
		h->layout = CGROUP_LAYOUT_LEGACY;
	} else {
		h->layout = CGROUP_LAYOUT_NONE;
		h->fresh_sysfs = type == SYSFS_MAGIC;
	}
	if (h->layout == CGROUP_LAYOUT_UNIFIED || h->layout == CGROUP_LAYOUT_NONE)
		find_own(h, paths->self_cgroup);
}

/* How to get the unified hierarchy, with systemd and without it. */
static const char *const v2_fix_systemd =
    "bulwark needs the unified cgroup v2 hierarchy: boot the host with "
    "systemd.unified_cgroup_hierarchy=1, or use a policy without a cgroup: section";
static const char *const v2_fix_plain =
    "bulwark needs the unified cgroup v2 hierarchy: mount cgroup2 at /sys/fs/cgroup in place of "
    "the v1 hierarchies (cgroup_no_v1=all on the kernel command line keeps v1 from holding the "
    "controllers), or use a policy without a cgroup: section";

/* Why a hybrid or legacy host cannot hold the VM's cgroup, and the fix, into PB. */
static void layout_problem(const struct cgroup_host *h, struct cgroup_problem *pb)
{
	const char *fs = h->paths->fs_cgroup;
	char have[256] = "";

	if (h->layout == CGROUP_LAYOUT_HYBRID && h->cgroup2[0])
		cgroup_read(h->cgroup2, "cgroup.controllers", have, sizeof(have));
	have[strcspn(have, "\n")] = '\0';
	if (h->layout == CGROUP_LAYOUT_HYBRID)
		snprintf(pb->why, sizeof(pb->why),
			 "this host's cgroups are in the hybrid layout: cgroup v1 "
			 "hierarchies in a tmpfs at %s, cgroup2 at %s/unified offering "
			 "only \"%s\"",
			 fs, fs, have);
	else
		snprintf(pb->why, sizeof(pb->why),
			 "this host's cgroups are in the legacy layout: cgroup v1 "
			 "hierarchies only, at %s",
			 fs);
	snprintf(pb->fix, sizeof(pb->fix), "%s", h->systemd ? v2_fix_systemd : v2_fix_plain);
}

/* Why no cgroup2 is to be found, and the fix, into PB. */
static void no_cgroup2_problem(const struct cgroup_host *h, struct cgroup_problem *pb)
{
	const char *fs = h->paths->fs_cgroup;

	if (h->fresh_sysfs && h->own_netns) {
		snprintf(pb->why, sizeof(pb->why),
			 "no cgroup2 is mounted here: %s is an empty directory of a sysfs "
			 "mounted anew in another network namespace, as `ip netns exec` "
			 "leaves it",
			 fs);
		snprintf(pb->fix, sizeof(pb->fix),
			 "enter the namespace with `nsenter --net=/run/netns/NAME bulwark "
			 "...` instead, which keeps the host's mounts, or run bulwark in the "
			 "host's namespaces and let the policy's sandbox.namespaces [net] "
			 "give the VMM one of its own");
	} else {
		snprintf(pb->why, sizeof(pb->why), "no cgroup2 is mounted (%s is %s)", fs,
			 h->fresh_sysfs ? "an empty sysfs directory" : "not a cgroup file system");
		snprintf(pb->fix, sizeof(pb->fix),
			 "mount it (mount -t cgroup2 cgroup2 %s), or use a policy without a "
			 "cgroup: section",
			 fs);
	}
}

int cgroup_host_resolve(const struct cgroup_host *h, const char *parent, char *out, size_t size,
			struct cgroup_problem *pb)
{
	const char *fs = h->paths->fs_cgroup, *rel;
	size_t fs_len = strlen(fs);

	if (strncmp(parent, fs, fs_len) != 0 || (parent[fs_len] != '/' && parent[fs_len] != '\0')) {
		snprintf(pb->why, sizeof(pb->why), "the cgroup parent %s is not under %s", parent,
			 fs);
		snprintf(pb->fix, sizeof(pb->fix), "name a parent under %s in the policy", fs);
		return -1;
	}
	rel = parent + fs_len;
	if (h->layout == CGROUP_LAYOUT_HYBRID || h->layout == CGROUP_LAYOUT_LEGACY) {
		layout_problem(h, pb);
		return -1;
	}
	if (!h->cgroup2[0]) {
		no_cgroup2_problem(h, pb);
		return -1;
	}
	if ((size_t)snprintf(out, size, "%s%s", h->cgroup2, rel) >= size) {
		snprintf(pb->why, sizeof(pb->why), "the cgroup parent %.200s%.200s is too long",
			 h->cgroup2, rel);
		snprintf(pb->fix, sizeof(pb->fix), "name a shorter parent in the policy");
		return -1;
	}
	return 0;
}

/* Whether systemd delegated DIR, or a cgroup above it below ROOT, to whoever runs in it. */
static bool delegated(const char *root, const char *dir)
{
	char path[PATH_MAX];
	size_t root_len = strlen(root);

	snprintf(path, sizeof(path), "%s", dir);
	while (strlen(path) > root_len) {
		if (delegate_mark(path))
			return true;
		*strrchr(path, '/') = '\0';
	}
	return false;
}

/* Whether DIR's cgroup.procs lists a process (cgroup v2 then refuses domain controllers). */
static bool has_processes(const char *dir)
{
	char procs[16];

	return cgroup_read(dir, "cgroup.procs", procs, sizeof(procs)) == 0 && procs[0] != '\0';
}

/* Fills PB for controller I missing from DIR/cgroup.subtree_control, for reason WHY. */
static int missing(struct cgroup_problem *pb, size_t i, const char *dir, const char *why)
{
	snprintf(pb->why, sizeof(pb->why),
		 "the %s controller, which the policy's %s need, is not enabled in "
		 "%.200s/cgroup.subtree_control: %s",
		 controllers[i].name, controllers[i].keys, dir, why);
	return -1;
}

/* Writes "+NAME" into DIR's cgroup.subtree_control; on failure says why into PB. */
static int enable(const char *dir, const char *name, struct cgroup_problem *pb)
{
	char plus[16];
	int r;

	snprintf(plus, sizeof(plus), "+%s", name);
	r = cgroup_write(dir, "cgroup.subtree_control", plus);
	if (r) {
		snprintf(pb->why, sizeof(pb->why),
			 "cannot enable the %s controller in %.256s/cgroup.subtree_control: %s",
			 name, dir, strerror(-r));
		snprintf(pb->fix, sizeof(pb->fix), "enable it there by hand");
		return -1;
	}
	return 0;
}

/* Checks, and with APPLY makes, controller I enabled in DIR's subtree_control. */
static int prepare_one(const struct cgroup_host *h, const char *dir, size_t i, bool apply,
		       char *done, size_t done_size, struct cgroup_problem *pb)
{
	const char *name = controllers[i].name;
	char have[512];
	size_t len;
	int r = cgroup_read(dir, "cgroup.subtree_control", have, sizeof(have));

	if (r) {
		snprintf(pb->why, sizeof(pb->why), "cannot read %.256s/cgroup.subtree_control: %s",
			 dir, strerror(-r));
		snprintf(pb->fix, sizeof(pb->fix), "is %.256s a cgroup2 directory?", dir);
		return -1;
	}
	if (cgroup_has_word(have, name))
		return 0;
	r = cgroup_read(dir, "cgroup.controllers", have, sizeof(have));
	if (r || !cgroup_has_word(have, name)) {
		have[r ? 0 : strcspn(have, "\n")] = '\0';
		snprintf(
		    pb->fix, sizeof(pb->fix),
		    "free it for cgroup v2 (it may be bound to a v1 hierarchy: cgroup_no_v1=%s "
		    "on the kernel command line), or drop %s from the policy",
		    name, controllers[i].keys);
		return missing(pb, i, dir,
			       r ? "its cgroup.controllers is unreadable"
				 : "its cgroup.controllers does not offer it");
	}
	if (h->systemd && (!strcmp(dir, h->cgroup2) || !delegated(h->cgroup2, dir))) {
		snprintf(
		    pb->fix, sizeof(pb->fix),
		    "let systemd enable it (%s%s in /etc/systemd/system.conf, then systemctl "
		    "daemon-reexec), run bulwark in a unit with Delegate=yes and a parent "
		    "inside that unit's cgroup, or drop %s from the policy",
		    controllers[i].systemd ? controllers[i].systemd : "a unit with AllowedCPUs=",
		    controllers[i].systemd ? "" : " for each slice above", controllers[i].keys);
		return missing(pb, i, dir,
			       "systemd manages that cgroup and has not delegated it to bulwark "
			       "(systemd's single-writer rule)");
	}
	if (strcmp(dir, h->cgroup2) != 0 && has_processes(dir)) {
		snprintf(pb->fix, sizeof(pb->fix),
			 "move them into a leaf cgroup, or name a parent elsewhere in the policy");
		return missing(
		    pb, i, dir,
		    "it holds processes, so cgroup v2 does not let it enable controllers "
		    "for its children");
	}
	if (apply && enable(dir, name, pb))
		return -1;
	len = done ? strlen(done) : 0;
	if (done && len < done_size)
		snprintf(done + len, done_size - len, "%s%s in %s", len ? ", " : "", name, dir);
	return 0;
}

int cgroup_host_prepare(const struct cgroup_host *h, const char *parent, unsigned need, bool apply,
			char *done, size_t done_size, struct cgroup_problem *pb)
{
	size_t root_len = strlen(h->cgroup2);
	char dir[PATH_MAX], above[PATH_MAX];
	struct stat st;

	if (done && done_size)
		done[0] = '\0';
	snprintf(above, sizeof(above), "%s", parent);
	if (strrchr(above, '/'))
		*strrchr(above, '/') = '\0';
	if (strlen(parent) <= root_len) {
		if (!h->systemd)
			return 0; /* the root itself: cgroup_create() enables what it needs */
		snprintf(pb->why, sizeof(pb->why),
			 "the policy's cgroup parent is cgroup2's root %s, which systemd manages",
			 h->cgroup2);
		snprintf(pb->fix, sizeof(pb->fix), "name a parent below it in the policy");
		return -1;
	}
	if (stat(parent, &st) && stat(above, &st)) {
		snprintf(
		    pb->why, sizeof(pb->why),
		    "neither the cgroup parent %s nor the cgroup above it exists (bulwark makes "
		    "only the last one)",
		    parent);
		snprintf(pb->fix, sizeof(pb->fix), "create %.256s, or name another parent", above);
		return -1;
	}
	/* Top down: a controller reaches a cgroup only through every subtree_control above. */
	for (size_t i = 0; i < NCONTROLLERS; i++) {
		if (!(need & controllers[i].bit))
			continue;
		snprintf(dir, sizeof(dir), "%s", h->cgroup2);
		for (;;) {
			const char *next;

			if (prepare_one(h, dir, i, apply, done, done_size, pb))
				return -1;
			if (!strcmp(dir, above))
				break;
			next = strchr(above + strlen(dir) + 1, '/');
			snprintf(dir, sizeof(dir), "%.*s",
				 (int)(next ? next - above : (long)strlen(above)), above);
		}
	}
	return 0;
}
