/* cgroup.c: the VM's own cgroup v2: created with the policy's values, entered, watched, removed. */
#include "sandbox/cgroup.h"
#include "util/bytes.h"

#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long cgroup_remove() waits for a just-reaped process to leave the cgroup. */
#define REMOVE_TRIES 100
#define REMOVE_PAUSE_NS 10000000L /* 10 ms */

void cgroup_format(uint64_t v, char *buf, size_t size)
{
	if (v == POLICY_UNLIMITED)
		snprintf(buf, size, "max");
	else
		snprintf(buf, size, "%" PRIu64, v);
}

int cgroup_write(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX];
	size_t len = strlen(value);
	ssize_t n;
	int fd, r = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	close(fd);
	return r;
}

int cgroup_read(const char *dir, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

bool cgroup_has_word(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p += len)
		if ((p == list || p[-1] == ' ') &&
		    (p[len] == '\0' || p[len] == ' ' || p[len] == '\n'))
			return true;
	return false;
}

/* Enables CONTROLLER for the parent's children unless it already is. */
static int enable_controller(const char *parent, const char *controller, struct bw_error *err)
{
	char have[512], plus[32];
	int r = cgroup_read(parent, "cgroup.subtree_control", have, sizeof(have));

	if (r)
		return bw_errnof(err, -r, "cgroup: cannot read %s/cgroup.subtree_control: %s",
				 parent, strerror(-r));
	if (cgroup_has_word(have, controller))
		return 0;
	r = cgroup_read(parent, "cgroup.controllers", have, sizeof(have));
	if (!r && !cgroup_has_word(have, controller))
		return bw_errnof(err, ENOTSUP,
				 "cgroup: the %s controller is not available in %s (its "
				 "cgroup.controllers: %.*s): enable it in the subtree_control of "
				 "the cgroup above",
				 controller, parent, (int)strcspn(have, "\n"), have);
	snprintf(plus, sizeof(plus), "+%s", controller);
	r = cgroup_write(parent, "cgroup.subtree_control", plus);
	if (r)
		return bw_errnof(err, -r,
				 "cgroup: cannot enable the %s controller in "
				 "%s/cgroup.subtree_control: %s",
				 controller, parent, strerror(-r));
	return 0;
}

/* Makes the VM's directory; an empty leftover of a run that could not clean up is replaced. */
static int make_dir(struct cgroup *cg, const char *name, struct bw_error *err)
{
	const char *path = cg->path;
	int e;

	if (mkdir(path, 0755) == 0) {
		cg->created = true;
		return 0;
	}
	e = errno;
	if (e == EEXIST) {
		if (rmdir(path)) {
			e = errno;
			return bw_errnof(
			    err, e,
			    "cgroup: %s already exists and cannot be replaced (%s): is "
			    "another VM named %s running?",
			    path, strerror(e), name);
		}
		log_warn("cgroup: replacing %s, left empty by an earlier run", path);
		if (mkdir(path, 0755) == 0) {
			cg->created = true;
			return 0;
		}
		e = errno;
	}
	return bw_errnof(err, e, "cgroup: cannot create %s: %s", path, strerror(e));
}

/* Makes the policy's parent if it is missing: one level, shared by every VM, left in place. */
static int make_parent(const char *parent, struct bw_error *err)
{
	struct stat st;

	if (stat(parent, &st) == 0 || errno != ENOENT)
		return 0; /* reading its files reports anything else */
	if (mkdir(parent, 0755) && errno != EEXIST)
		return bw_errnof(err, errno, "cgroup: cannot create the parent %s: %s", parent,
				 strerror(errno));
	log_info("cgroup: created the parent %s", parent);
	return 0;
}

/* One file of the VM's cgroup the policy may set, with its controller and its text. */
struct quota_file {
	bool set;
	const char *file, *controller, *value;
};

/* The text of every quota value; quota_files() points into it. */
struct quota_text {
	char cpu_max[48], v[7][24];
};

#define NQUOTA_FILES 7

/* The policy's quotas as the files' text into F, in the order they are written. */
static void quota_files(const struct policy_cgroup *pc, struct quota_text *q,
			struct quota_file f[NQUOTA_FILES])
{
	cgroup_format(pc->cpu_quota_us, q->v[5], sizeof(q->v[5]));
	cgroup_format(pc->cpu_period_us, q->v[6], sizeof(q->v[6]));
	snprintf(q->cpu_max, sizeof(q->cpu_max), "%s %s", q->v[5], q->v[6]);
	snprintf(q->v[0], sizeof(q->v[0]), "%u", pc->cpu_weight);
	cgroup_format(pc->memory_max, q->v[1], sizeof(q->v[1]));
	cgroup_format(pc->memory_high, q->v[2], sizeof(q->v[2]));
	cgroup_format(pc->memory_swap_max, q->v[3], sizeof(q->v[3]));
	cgroup_format(pc->pids_max, q->v[4], sizeof(q->v[4]));
	f[0] = (struct quota_file){pc->cpuset_cpus_set, "cpuset.cpus", "cpuset", pc->cpuset_cpus};
	f[1] = (struct quota_file){pc->cpu_max_set, "cpu.max", "cpu", q->cpu_max};
	f[2] = (struct quota_file){pc->cpu_weight_set, "cpu.weight", "cpu", q->v[0]};
	f[3] = (struct quota_file){pc->memory_max_set, "memory.max", "memory", q->v[1]};
	f[4] = (struct quota_file){pc->memory_high_set, "memory.high", "memory", q->v[2]};
	f[5] = (struct quota_file){pc->memory_swap_max_set, "memory.swap.max", "memory", q->v[3]};
	f[6] = (struct quota_file){pc->pids_max_set, "pids.max", "pids", q->v[4]};
}

/* Enables in PARENT each controller that a set file of F needs, once per controller. */
static int enable_controllers(const char *parent, const struct quota_file f[NQUOTA_FILES],
			      struct bw_error *err)
{
	for (size_t i = 0; i < NQUOTA_FILES; i++) {
		bool seen = false;
		int r;

		for (size_t j = 0; j < i; j++)
			seen |= f[j].set && !strcmp(f[j].controller, f[i].controller);
		if (f[i].set && !seen && (r = enable_controller(parent, f[i].controller, err)))
			return r;
	}
	return 0;
}

/* Writes the set files of F into CG and logs, in one line, what it set. */
static int write_quotas(const struct cgroup *cg, const struct quota_file f[NQUOTA_FILES],
			struct bw_error *err)
{
	char summary[256];
	size_t len = 0;

	summary[0] = '\0';
	for (size_t i = 0; i < NQUOTA_FILES; i++) {
		int r;

		if (!f[i].set)
			continue;
		r = cgroup_write(cg->path, f[i].file, f[i].value);
		if (r)
			return bw_errnof(err, -r, "cgroup: cannot write \"%s\" to %s/%s: %s",
					 f[i].value, cg->path, f[i].file, strerror(-r));
		if (len < sizeof(summary))
			len += (size_t)snprintf(summary + len, sizeof(summary) - len, " %s=%s",
						f[i].file, f[i].value);
	}
	log_info("cgroup: created %s,%s", cg->path, len ? summary : " no limits set");
	return 0;
}

int cgroup_create(struct cgroup *cg, const struct policy_cgroup *pc, const char *name,
		  struct bw_error *err)
{
	struct quota_text text = {0};
	struct quota_file files[NQUOTA_FILES];
	int r;

	memset(cg, 0, sizeof(*cg));
	quota_files(pc, &text, files);
	if (!pc->parent || !*name || strchr(name, '/') ||
	    (size_t)snprintf(cg->path, sizeof(cg->path), "%s/%s", pc->parent, name) >=
		sizeof(cg->path)) {
		cg->path[0] = '\0';
		return bw_errnof(err, EINVAL, "cgroup: no usable path for the VM's cgroup under %s",
				 pc->parent ? pc->parent : "(no parent)");
	}
	r = make_parent(pc->parent, err);
	if (!r)
		r = enable_controllers(pc->parent, files, err);
	if (!r)
		r = make_dir(cg, name, err);
	if (!r)
		r = write_quotas(cg, files, err);
	return r;
}

int cgroup_enter(const struct cgroup *cg, struct bw_error *err)
{
	/* "0" is the writer itself, whatever its pid looks like from the cgroup's namespace. */
	int r = cgroup_write(cg->path, "cgroup.procs", "0");

	if (r)
		return bw_errnof(err, -r, "cgroup: cannot move into %s/cgroup.procs: %s", cg->path,
				 strerror(-r));
	log_info("cgroup: moved into %s", cg->path);
	return 0;
}

long long cgroup_oom_kills(const struct cgroup *cg)
{
	char events[1024];
	const char *p;
	int r = cgroup_read(cg->path, "memory.events", events, sizeof(events));

	if (r)
		return r;
	for (p = events; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, "oom_kill ", 9))
			return strtoll(p + 9, NULL, 10);
	return -ENOENT;
}

int cgroup_remove(struct cgroup *cg)
{
	const struct timespec pause = {.tv_nsec = REMOVE_PAUSE_NS};
	int r = 0;

	if (!cg->created)
		return 0;
	for (int i = 0; i < REMOVE_TRIES; i++) {
		r = rmdir(cg->path) ? -errno : 0;
		if (r != -EBUSY)
			break;
		nanosleep(&pause, NULL);
	}
	if (r) {
		log_err("cgroup: cannot remove %s: %s", cg->path, strerror(-r));
		return r;
	}
	log_info("cgroup: removed %s", cg->path);
	cg->created = false;
	return 0;
}
