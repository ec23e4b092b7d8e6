/* host_check.c: `bulwark host check`: KVM, tun and taps, privileges and cgroups, line by line. */
#include "host/host_check.h"

#include "kvm/kvm.h"
#include "kvm/kvm_probe.h"
#include "net/net_mark.h"
#include "sandbox/cgroup_delegate.h"
#include "sandbox/cgroup_scope.h"
#include "sandbox/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

const struct host_env host_env_default = {
    .kvm = "/dev/kvm",
    .sys_module = "/sys/module",
    .tun = "/dev/net/tun",
    .cgroup = &cgroup_host_paths_default,
    .euid = 0,
    .kvm_bound_ms = KVM_PROBE_BOUND_MS,
    .systemd_bus = cgroup_scope_reachable,
};

/* Opens the KVM device read-write, or says why not. Returns the fd or -1. */
static int open_kvm(struct host_report *r, const struct host_env *env, const char *modules)
{
	const struct group *gr;
	char fix[256];
	struct stat st;
	int fd;

	if (stat(env->kvm, &st)) {
		int e = errno;

		host_add(r, "kvm.device", HOST_FAIL, kvm_device_fix(modules, e), "%s: %s%s%s%s",
			 env->kvm, strerror(e), *modules ? " (" : "", modules,
			 *modules ? " is loaded, but serves no device here)" : "");
		return -1;
	}
	if (!S_ISCHR(st.st_mode)) {
		host_add(r, "kvm.device", HOST_FAIL, kvm_device_fix(modules, ENODEV),
			 "%s is not a character device", env->kvm);
		return -1;
	}
	fd = open(env->kvm, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		/* The device's own group, as this host has it (Debian: kvm). */
		gr = getgrgid(st.st_gid);
		if (e == EACCES && gr && st.st_gid != 0)
			snprintf(fix, sizeof(fix),
				 "run bulwark as root, or as a member of group %s (usermod -aG %s "
				 "USER, then log in again)",
				 gr->gr_name, gr->gr_name);
		else if (e == EACCES)
			snprintf(
			    fix, sizeof(fix),
			    "run bulwark as root, or give %s to a group of the user's (Debian's "
			    "udev rules make it root:kvm 0660)",
			    env->kvm);
		else
			snprintf(fix, sizeof(fix), "%s", kvm_device_fix(modules, e));
		host_add(r, "kvm.device", HOST_FAIL, fix, "cannot open %s read-write as uid %u: %s",
			 env->kvm, (unsigned)env->euid, strerror(e));
		return -1;
	}
	host_add(r, "kvm.device", HOST_PASS, NULL, "%s opens read-write%s%s", env->kvm,
		 *modules ? "; loaded: " : "", modules);
	return fd;
}

void host_check_kvm(struct host_report *r, const struct vm_config *cfg, const struct policy *pol,
		    const struct host_env *env)
{
	char modules[64], missing[256], line[512];
	struct kvm_probe probe;
	unsigned max, want;
	int fd, api;

	kvm_vendor_modules(env->sys_module, modules, sizeof(modules));
	fd = open_kvm(r, env, modules);
	if (fd < 0)
		return;
	/* Which module answers matters most on kvm_pvm: named on these lines' failures too. */
	snprintf(line, sizeof(line), "%s%s%s", *modules ? " (loaded: " : "", modules,
		 *modules ? ")" : "");
	api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		host_add(r, "kvm.api", HOST_FAIL,
			 kvm_is_pvm(modules) ? kvm_pvm_fix
					     : "a Linux kernel whose KVM speaks API 12",
			 "KVM_GET_API_VERSION answered %d, bulwark needs %d%s", api,
			 KVM_API_VERSION, line);
		close(fd);
		return;
	}
	host_add(r, "kvm.api", HOST_PASS, NULL, "KVM API version %d", api);
	if (kvm_missing_caps(fd, missing, sizeof(missing)))
		host_add(r, "kvm.capabilities", HOST_FAIL,
			 kvm_is_pvm(modules) ? kvm_pvm_fix
					     : "a newer kernel, or a KVM module that offers them",
			 "KVM lacks %s%s", missing, line);
	else
		host_add(r, "kvm.capabilities", HOST_PASS, NULL, "all %u capabilities bulwark uses",
			 kvm_required_caps());
	max = kvm_max_vcpus(fd);
	want = cfg ? cfg->vcpus : pol->limits.vcpus_max;
	if (want <= max)
		host_add(r, "kvm.vcpus", HOST_PASS, NULL, "%s %u vCPUs, KVM allows %u",
			 cfg ? "the config asks for" : "the policy allows", want, max);
	else
		host_add(r, "kvm.vcpus", cfg ? HOST_FAIL : HOST_WARN,
			 cfg ? "ask for fewer vCPUs in the config"
			     : "lower limits.vcpus_max in the policy",
			 "%s %u vCPUs, KVM allows %u per VM",
			 cfg ? "the config asks for" : "the policy allows", want, max);
	kvm_probe_run(fd, env->kvm_bound_ms, &probe);
	kvm_probe_describe(&probe, modules, env->kvm_bound_ms, line, sizeof(line));
	host_add(r, "kvm.runs-guests", probe.verdict == KVM_PROBE_RAN ? HOST_PASS : HOST_FAIL,
		 kvm_probe_fix(&probe, modules), "%s", line);
	close(fd);
}

/* /dev/net/tun, and each NIC's tap (which `bulwark net up` makes). */
static void check_net(struct host_report *r, const struct vm_config *cfg,
		      const struct host_env *env)
{
	char absent[CONFIG_NICS_MAX * 20] = "", mark[NL_ALIAS_MAX + 1], why[2 * NL_ALIAS_MAX + 256];
	size_t len = 0;
	bool marked;
	int fd;

	if (!cfg || !cfg->nnics)
		return;
	fd = open(env->tun, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		host_add(r, "net.tun", HOST_FAIL,
			 e == EACCES ? "run bulwark as root, or let its user open /dev/net/tun"
				     : "load the tun module (modprobe tun)",
			 "cannot open %s read-write: %s", env->tun, strerror(e));
		return;
	}
	close(fd);
	host_add(r, "net.tun", HOST_PASS, NULL, "%s opens read-write", env->tun);
	for (unsigned i = 0; i < cfg->nnics; i++)
		if (!if_nametoindex(cfg->nics[i].tap) && len < sizeof(absent))
			len += (size_t)snprintf(absent + len, sizeof(absent) - len, "%s%s",
						len ? ", " : "", cfg->nics[i].tap);
	/* run refuses another VM's tap (exit 2): so does the check, with run's reason. The
	 * VM's mark is one for all its NICs. */
	marked = !len && net_mark(cfg, mark, why, sizeof(why)) == 0;
	for (unsigned i = 0; i < cfg->nnics && marked; i++) {
		if (net_mark_check_tap(cfg->nics[i].tap, mark, why, sizeof(why)) == 1) {
			host_add(r, "net.taps", HOST_FAIL, "give this VM a tap of its own",
				 "tap %s %s", cfg->nics[i].tap, why);
			return;
		}
	}
	if (len)
		host_add(
		    r, "net.taps", HOST_WARN,
		    "create them, as root: bulwark net up CONFIG (or ip tuntap add dev TAP mode "
		    "tap user USER)",
		    "not there yet: %s", absent);
	else
		host_add(r, "net.taps", HOST_PASS, NULL, "every NIC's tap exists");
}

/* The controllers NEED names, as a cgroup.controllers line's PASS begins. */
static const char *needed_words(unsigned need, char *buf, size_t size)
{
	return need ? cgroup_controller_names(need, buf, size) : "no controller needed,";
}

/* In a cgroup systemd delegated to bulwark: whether it offers what the policy needs. */
static void check_delegated(struct host_report *r, const struct cgroup_host *h, unsigned need)
{
	struct cgroup_problem pb;
	char names[64];

	if (cgroup_delegate_check(h->own, need, &pb)) {
		host_add(r, "cgroup.controllers", HOST_FAIL, pb.fix, "%s", pb.why);
		return;
	}
	host_add(r, "cgroup.controllers", HOST_PASS, NULL,
		 "%s offered in %s, which systemd delegated to bulwark: it will move into "
		 "%s/" CGROUP_DELEGATE_SUPERVISOR " and make the VM's cgroup %s/" CGROUP_DELEGATE_VM
		 " (the policy's parent is not used)",
		 needed_words(need, names, sizeof(names)), h->own, h->own, h->own);
}

/* Under systemd, not delegated: whether systemd answers, for the scope bulwark would ask for, and
 * whether the kernel has the controllers for it to delegate. */
static void check_scope(struct host_report *r, const struct cgroup_host *h, unsigned need,
			const struct host_env *env, const char *name)
{
	struct cgroup_problem pb;
	char names[64];

	if (env->systemd_bus(&pb)) {
		host_add(r, "cgroup.controllers", HOST_FAIL, pb.fix, "%s", pb.why);
		return;
	}
	if (cgroup_delegate_check(h->cgroup2, need, &pb)) {
		host_add(
		    r, "cgroup.controllers", HOST_FAIL,
		    "free it for cgroup v2 (it may be bound to a v1 hierarchy), or drop its keys "
		    "from the policy",
		    "%s", pb.why);
		return;
	}
	host_add(
	    r, "cgroup.controllers", HOST_PASS, NULL,
	    "%s offered by the kernel; bulwark's cgroup %s is not delegated to it, so it "
	    "will ask systemd for a transient scope bulwark-%s.scope with Delegate=yes and make "
	    "the VM's cgroup " CGROUP_DELEGATE_VM " in it (the policy's parent is not used)",
	    needed_words(need, names, sizeof(names)), h->own[0] ? h->own : "(unknown)", name);
}

/* The layout, then whether the VM's cgroup can get every controller the policy needs, where
 * this host puts it (cgroup_host_mode()). */
static void check_cgroup(struct host_report *r, const struct policy *pol,
			 const struct host_env *env, const char *name)
{
	unsigned need = cgroup_controllers_needed(&pol->cgroup);
	struct cgroup_problem pb;
	struct cgroup_host h;
	char path[4096], done[512], names[64];

	cgroup_host_probe(&h, env->cgroup);
	if (!pol->cgroup.parent) {
		host_add(r, "cgroup.layout", HOST_PASS, NULL, "%s (the policy asks for no cgroup)",
			 cgroup_layout_name(h.layout));
		return;
	}
	if (cgroup_host_resolve(&h, pol->cgroup.parent, path, sizeof(path), &pb)) {
		host_add(r, "cgroup.layout", HOST_FAIL, pb.fix, "%s", pb.why);
		return;
	}
	host_add(r, "cgroup.layout", HOST_PASS, NULL, "%s: cgroup2 at %s%s",
		 cgroup_layout_name(h.layout), h.cgroup2,
		 h.systemd ? ", managed by systemd" : ", no manager (bulwark may write to it)");
	if (cgroup_host_mode(&h) == CGROUP_MODE_DELEGATED) {
		check_delegated(r, &h, need);
		return;
	}
	if (cgroup_host_mode(&h) == CGROUP_MODE_SCOPE) {
		check_scope(r, &h, need, env, name);
		return;
	}
	if (cgroup_host_prepare(&h, path, need, false, done, sizeof(done), &pb)) {
		host_add(r, "cgroup.controllers", HOST_FAIL, pb.fix, "%s", pb.why);
		return;
	}
	host_add(r, "cgroup.controllers", HOST_PASS, NULL,
		 "%s available under %s%s%s (no systemd: the policy's parent is bulwark's own)",
		 needed_words(need, names, sizeof(names)), path,
		 done[0] ? "; bulwark will enable " : "", done);
}

void host_check(struct host_report *r, const struct vm_config *cfg, const struct policy *pol,
		const struct host_env *env)
{
	host_check_kvm(r, cfg, pol, env);
	check_net(r, cfg, env);
	if (!jail_confines(pol)) {
		host_add(r, "privileges", HOST_PASS, NULL,
			 "the policy asks for no cgroup, namespaces, jail or ids");
	} else if (env->euid != 0) {
		host_add(r, "privileges", HOST_WARN,
			 "start bulwark as root for the policy's cgroup and sandbox",
			 "running as uid %u: bulwark run would apply the rlimits only, no cgroup, "
			 "namespaces, jail or id change",
			 (unsigned)env->euid);
	} else {
		host_add(r, "privileges", HOST_PASS, NULL,
			 "root: the policy's cgroup and sandbox apply");
		check_cgroup(r, pol, env, cfg ? cfg->name : "NAME");
	}
	host_check_sandbox(r, pol, env->euid == 0);
}
