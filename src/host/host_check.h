/* host_check.h: `bulwark host check`: whether this host can run a VM config under its policy. */
#ifndef BULWARK_HOST_CHECK_H
#define BULWARK_HOST_CHECK_H

#include "config/config.h"
#include "policy/policy.h"
#include "sandbox/cgroup_host.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

enum host_verdict { HOST_PASS, HOST_WARN, HOST_FAIL };

/* One line of the report. A WARN or FAIL always says what to do about it. */
struct host_item {
	char id[32]; /* "kvm.runs-guests", "cgroup.layout", ... */
	enum host_verdict verdict;
	char detail[512];
	char fix[512];
};

#define HOST_ITEMS_MAX 24

struct host_report {
	const char *config; /* the config checked, or NULL for the policy alone */
	const char *policy; /* its policy's path, or "<built-in default>" */
	struct host_item items[HOST_ITEMS_MAX];
	unsigned n;
};

/* What the checks look at: the real host's by default, a fake one in tests. */
struct host_env {
	const char *kvm;	/* "/dev/kvm" */
	const char *sys_module; /* "/sys/module" */
	const char *tun;	/* "/dev/net/tun" */
	const struct cgroup_host_paths *cgroup;
	uid_t euid;
	unsigned kvm_bound_ms; /* how long the test guest may take */
	/* Whether systemd answers on its bus: 0, or -1 with PB (cgroup_scope_reachable()). */
	int (*systemd_bus)(struct cgroup_problem *pb);
};

extern const struct host_env host_env_default; /* its euid is 0: set it from geteuid() */

/* Adds a line; FIX is required for WARN and FAIL (NULL or "" for PASS). */
void host_add(struct host_report *r, const char *id, enum host_verdict v, const char *fix,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Runs every check for CFG (NULL: the policy alone) under POL, in order: KVM (device, API,
 * capabilities, vCPUs, whether it runs a test guest), tun and taps when CFG has NICs, privileges,
 * then, as root, the cgroup layout and controllers, namespaces, the jail, the ids and seccomp.
 * Changes nothing on the host: the sandbox is tried in a throw-away child.
 */
void host_check(struct host_report *r, const struct vm_config *cfg, const struct policy *pol,
		const struct host_env *env);

/* The KVM lines alone (host_check()'s first). */
void host_check_kvm(struct host_report *r, const struct vm_config *cfg, const struct policy *pol,
		    const struct host_env *env);

/* The sandbox lines alone: as ROOT, the namespaces, jail and ids, tried in a throw-away child;
 * then seccomp (the allowlists compile, the kernel has the actions they use). */
void host_check_sandbox(struct host_report *r, const struct policy *pol, bool root);

/* No line is a FAIL: the host can run what was checked. */
bool host_report_ok(const struct host_report *r);

/* One line per check ("PASS kvm.device: ..."), a "fix:" line under each WARN and FAIL, and a
 * summary line. */
void host_report_print(const struct host_report *r, FILE *out);

/* The same as one JSON object: {"config", "policy", "ok", "checks": [{"id", "verdict",
 * "detail", "fix"}]}. Returns 0, or -1 when out of memory. */
int host_report_json(const struct host_report *r, FILE *out);

#endif
