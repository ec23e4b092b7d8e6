/* cgroup_scope.c: a transient scope with Delegate=yes, asked of systemd over D-Bus (sd-bus). */
#include "sandbox/cgroup_scope.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
/* systemd's own socket, which it serves as root even without a D-Bus broker (systemctl uses it). */
#define SD_PRIVATE "unix:path=/run/systemd/private"

/* What to do when systemd cannot be asked: bulwark never writes its cgroups behind its back. */
static const char *const scope_fix =
    "start bulwark from a unit with Delegate=yes (systemd-run -p Delegate=yes bulwark run "
    "CONFIG, or a service file), or make systemd's bus reachable (systemctl status dbus)";

int cgroup_scope_request(const char *name, pid_t pid, struct cgroup_scope_request *req)
{
	static const char ok[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.-";
	size_t len = (size_t)snprintf(req->unit, sizeof(req->unit), "bulwark-");

	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		if (len + 4 >= sizeof(req->unit))
			return -1;
		len += (size_t)snprintf(req->unit + len, sizeof(req->unit) - len,
					strchr(ok, *c) ? "%c" : "\\x%02x", *c);
	}
	/* systemd's limit is 255 characters, the suffix included. */
	if (len + strlen(".scope") >= sizeof(req->unit))
		return -1;
	snprintf(req->unit + len, sizeof(req->unit) - len, ".scope");
	snprintf(req->description, sizeof(req->description), "bulwark VM %.64s", name);
	req->pid = (uint32_t)pid;
	return 0;
}

/* systemd's private socket as root, else the system bus. Returns sd-bus's result. */
static int open_bus(sd_bus **bus)
{
	if (geteuid() == 0 && sd_bus_new(bus) >= 0) {
		if (sd_bus_set_address(*bus, SD_PRIVATE) >= 0 && sd_bus_start(*bus) >= 0)
			return 0;
		*bus = sd_bus_unref(*bus);
	}
	return sd_bus_open_system(bus);
}

/* What JobRemoved said about the job bulwark waits for. */
struct job_wait {
	const char *job; /* the job's object path; NULL until StartTransientUnit answered */
	char result[32]; /* "done" on success; "" while the job runs */
};

/* JobRemoved(u id, o job, s unit, s result): the answer when it names our job. */
static int job_removed(sd_bus_message *m, void *data, sd_bus_error *e)
{
	struct job_wait *w = data;
	const char *job, *unit, *result;
	uint32_t id;

	(void)e;
	if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0 && w->job &&
	    !strcmp(job, w->job))
		snprintf(w->result, sizeof(w->result), "%s", result);
	return 0;
}

/* The StartTransientUnit call for REQ, its properties as systemd-run --scope sends them. */
static int build_call(sd_bus *bus, const struct cgroup_scope_request *req, sd_bus_message **m)
{
	int r = sd_bus_message_new_method_call(bus, m, SD_DEST, SD_PATH, SD_MANAGER,
					       "StartTransientUnit");

	if (r >= 0)
		r = sd_bus_message_append(*m, "ss", req->unit, "fail");
	if (r >= 0)
		r = sd_bus_message_open_container(*m, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_append(*m, "(sv)(sv)(sv)(sv)", "Description", "s",
					  req->description, "PIDs", "au", 1, req->pid, "Delegate",
					  "b", 1, "CollectMode", "s", "inactive-or-failed");
	if (r >= 0)
		r = sd_bus_message_close_container(*m);
	if (r >= 0)
		r = sd_bus_message_append(*m, "a(sa(sv))", 0); /* no auxiliary units */
	return r;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Processes the bus until W has its result or TIMEOUT_MS passed. Returns 0, or a negative errno
 * (-ETIMEDOUT). */
static int wait_job(sd_bus *bus, struct job_wait *w, unsigned timeout_ms)
{
	uint64_t deadline = now_usec() + (uint64_t)timeout_ms * 1000u;

	while (!w->result[0]) {
		uint64_t now;
		int r = sd_bus_process(bus, NULL);

		if (r < 0)
			return r;
		if (r > 0)
			continue;
		now = now_usec();
		if (now >= deadline)
			return -ETIMEDOUT;
		r = sd_bus_wait(bus, deadline - now);
		if (r < 0 && r != -EINTR)
			return r;
	}
	return 0;
}

/* Says into PB why REQ's scope did not come, from the bus error E or errno R. Returns -1. */
static int refused(struct cgroup_problem *pb, const struct cgroup_scope_request *req,
		   const char *what, const sd_bus_error *e, int r)
{
	snprintf(pb->why, sizeof(pb->why), "%s the transient scope %s (Delegate=yes): %s%s%s", what,
		 req->unit, e && e->message ? e->message : strerror(r < 0 ? -r : r),
		 e && e->name ? ", " : "", e && e->name ? e->name : "");
	snprintf(pb->fix, sizeof(pb->fix), "%s%s", scope_fix,
		 e && e->name && strstr(e->name, "UnitExists")
		     ? "; or is a VM of this name running already (systemctl status it)?"
		     : "");
	return -1;
}

int cgroup_scope_start(const struct cgroup_scope_request *req, unsigned timeout_ms,
		       struct cgroup_problem *pb)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	struct job_wait w = {.job = NULL};
	sd_bus *bus = NULL;
	int r = open_bus(&bus), ret = -1;

	if (r < 0)
		return refused(pb, req, "cannot reach systemd's bus to ask for", NULL, r);
	/* Matched before the call: the job may end before its reply is read. */
	r = sd_bus_match_signal(bus, NULL, NULL, SD_PATH, SD_MANAGER, "JobRemoved", job_removed,
				&w);
	/* On the system bus systemd sends job signals to subscribers only (its private socket
	 * gets them all); a refusal here shows as the job's timeout below. */
	if (r >= 0)
		(void)sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL,
					 "");
	if (r >= 0)
		r = build_call(bus, req, &m);
	if (r < 0) {
		refused(pb, req, "cannot ask systemd for", NULL, r);
		goto out;
	}
	r = sd_bus_call(bus, m, (uint64_t)timeout_ms * 1000u, &e, &reply);
	if (r < 0) {
		refused(pb, req, "systemd refused", &e, r);
		goto out;
	}
	r = sd_bus_message_read(reply, "o", &w.job);
	if (r >= 0)
		r = wait_job(bus, &w, timeout_ms);
	if (r < 0) {
		refused(pb, req, "systemd did not start", NULL, r);
	} else if (strcmp(w.result, "done") != 0) {
		snprintf(pb->why, sizeof(pb->why),
			 "systemd's job to start the transient scope %s ended \"%s\", not \"done\"",
			 req->unit, w.result);
		snprintf(pb->fix, sizeof(pb->fix), "see journalctl -u %s; or %s", req->unit,
			 scope_fix);
	} else {
		ret = 0;
	}
out:
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	sd_bus_flush_close_unref(bus);
	return ret;
}

int cgroup_scope_reachable(struct cgroup_problem *pb)
{
	static const struct cgroup_scope_request none = {.unit = "bulwark-NAME.scope"};
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus *bus = NULL;
	int r = open_bus(&bus);

	if (r >= 0)
		r = sd_bus_call_method(bus, SD_DEST, SD_PATH, "org.freedesktop.DBus.Peer", "Ping",
				       &e, NULL, "");
	if (r < 0)
		refused(pb, &none, "cannot reach systemd's bus to ask for", &e, r);
	sd_bus_error_free(&e);
	sd_bus_flush_close_unref(bus);
	return r < 0 ? -1 : 0;
}
