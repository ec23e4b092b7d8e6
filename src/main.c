/* main.c: the bulwark command line: run or validate a VM config, check a policy. */
#include "config/config.h"
#include "host/host_check.h"
#include "host/machine.h"
#include "net/net_cmd.h"
#include "policy/policy.h"
#include "sandbox/caps.h"
#include "sandbox/cgroup_host.h"
#include "sandbox/jail.h"
#include "sandbox/seccomp.h"
#include "util/error.h"
#include "util/log.h"
#include "util/notify.h"
#include "vmm/vm.h"
#include "vmm/vm_devices.h"
#include "x86/boot_files.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: bulwark [--verbose] run FILE     boot the VM that FILE describes\n"
    "       bulwark validate FILE            check FILE and the files it names, start nothing\n"
    "       bulwark policy check FILE        check the policy FILE and show what it allows\n"
    "       bulwark net up FILE              as root: create FILE's taps (owned by its policy's\n"
    "                                        sandbox uid/gid, else the invoking user) and attach\n"
    "                                        them to their segments' bridges, VLANs set\n"
    "       bulwark net down FILE            as root: delete FILE's taps (bridges stay)\n"
    "       bulwark host check [--json] [FILE]\n"
    "                                        whether this host can run FILE (else the built-in\n"
    "                                        default policy): KVM, cgroups, sandbox, one line\n"
    "                                        per check, what to do about each failure\n"
    "       bulwark --help | --version\n"
    "\n"
    "Exit status: 0 when the guest powered off or rebooted, 1 on a runtime failure,\n"
    "2 for a bad config or bad arguments; net: 0 when every tap is as FILE says; host\n"
    "check: 0 when this host can run it, 1 when it cannot. On an interactive console,\n"
    "Ctrl-A x quits.\n";

/*
 * The one place an error is printed: a config's refusal as its bare FILE:LINE:COLUMN line, the
 * rest as a log line (unless it was logged where it happened). Returns the exit status it calls
 * for: 2 for the config's or policy's fault, 1 for the host's or a runtime failure.
 */
static int print_error(const struct bw_error *err)
{
	if (err->kind == BW_ERR_CONFIG) {
		char line[sizeof(err->msg) + 1];
		int n = snprintf(line, sizeof(line), "%s\n", err->msg);

		log_write_line(LOG_PRIORITY_ERROR, line,
			       (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	} else if (err->msg[0])
		log_err("%s", err->msg);
	return err->kind == BW_ERR_CONFIG ? EXIT_USAGE : EXIT_RUNTIME;
}

/* The policy CFG names, else the built-in default; refused unless CFG stays within its limits. */
static int load_policy(const struct vm_config *cfg, struct policy *pol, struct bw_error *err)
{
	if (cfg->policy ? policy_load(cfg->policy, pol, err) : policy_load_default(pol, err))
		return -1;
	if (policy_check_vm(pol, cfg, err)) {
		policy_free(pol);
		return -1;
	}
	return 0;
}

/*
 * Loads the config and its policy, checks one against the other, then opens the boot files:
 * nothing is opened for a VM its policy refuses. Prints the refusal and returns its exit status.
 */
static int load(const char *path, struct vm_config *cfg, struct policy *pol,
		struct boot_files *files)
{
	struct bw_error err;

	if (config_load(path, cfg, &err))
		return print_error(&err);
	if (load_policy(cfg, pol, &err)) {
		config_free(cfg);
		return print_error(&err);
	}
	if (files && boot_files_open(cfg, files, &err)) {
		policy_free(pol);
		config_free(cfg);
		return print_error(&err);
	}
	return 0;
}

static int cmd_validate(const char *path)
{
	struct vm_config cfg;
	struct policy pol;
	struct boot_files files;
	struct vm_devices devs;
	struct bw_error err;
	int r = load(path, &cfg, &pol, &files);

	if (r)
		return r;
	/* Images and taps too, as run would open them (and close them again): a missing image, a
	 * locked one or a tap that will not open fails here, not at the next boot. */
	r = vm_devices_open(&devs, &cfg, &pol.network, files.plan.cmdline_max, &err);
	if (r)
		r = print_error(&err);
	vm_devices_destroy(&devs);
	if (r) {
		boot_files_close(&files);
		policy_free(&pol);
		config_free(&cfg);
		return r;
	}
	printf("%s: ok: %s, %u vCPUs, %llu MiB, kernel protocol %u.%u%s, policy %s\n", path,
	       cfg.name, cfg.vcpus, (unsigned long long)(cfg.memory >> 20),
	       (unsigned)files.plan.protocol >> 8, (unsigned)files.plan.protocol & 0xff,
	       cfg.initrd ? ", with initrd" : "", pol.path);
	boot_files_close(&files);
	policy_free(&pol);
	config_free(&cfg);
	return 0;
}

/* The supervisor's copies of the VM's host resources: it holds none of them while it waits. */
static void release_vm(void *vm)
{
	vm_destroy(vm);
}

/* Builds every seccomp filter and empties the capability bounding set. Returns 0, or the exit
 * status after saying why it cannot. */
static int sandbox_prepare(enum policy_seccomp_mode mode)
{
	struct bw_error err;

	if (seccomp_prepare(mode, &err)) {
		log_err("seccomp: %s", err.msg);
		return EXIT_RUNTIME;
	}
	if (mode == POLICY_SECCOMP_LOG)
		log_warn("seccomp in log mode: a syscall off a thread's allowlist is reported "
			 "here and allowed");
	return caps_empty_bounding_set(&err) ? print_error(&err) : 0;
}

/* Creates and runs the VM in its jail, its cgroup CGROUP_NAME under the policy's parent; the
 * supervisor, where there is one, returns its verdict on the VMM. Returns the exit status. */
static int jail_and_run(const struct policy *pol, const char *cgroup_name, struct vm *vm)
{
	struct bw_error err;
	int verdict, why;

	switch (jail_enter(pol, cgroup_name, release_vm, vm, &verdict, &err)) {
	case JAIL_SUPERVISOR:
		return verdict;
	case JAIL_VMM:
		break;
	default:
		return print_error(&err);
	}
	if (vm_create(vm, &err))
		return print_error(&err);
	why = vm_run(vm, &err);
	if (why < 0)
		return print_error(&err);
	if (why == VM_STOP_ERROR)
		return EXIT_RUNTIME;
	if (why == VM_STOP_BUTTON_TIMEOUT || why == VM_STOP_SECOND_SIGNAL)
		return EXIT_STOPPED_HARD;
	return 0;
}

/* Where machined runs, the VM becomes a machine of class vm (`machinectl list`), led by this
 * process: the supervisor-to-be, in the cgroup systemd knows as the VM's unit. Refused, it is a
 * warning: the VM runs either way. */
static void register_machine(const struct vm_config *cfg)
{
	const char *taps[CONFIG_NICS_MAX];
	struct bw_error err = {.kind = BW_ERR_NONE};
	struct machine_info mi;
	int r;

	for (unsigned i = 0; i < cfg->nnics; i++)
		taps[i] = cfg->nics[i].tap;
	machine_info_init(&mi, cfg->name, getpid(), taps, cfg->nnics);
	r = machine_register(&mi, cgroup_host_paths_default.systemd, &err);
	if (r < 0)
		log_warn("%s", err.msg);
	else if (r == MACHINE_REGISTERED)
		log_info("machined: registered as machine %s (class vm)", cfg->name);
}

static int cmd_run(const char *path)
{
	struct vm_config cfg;
	struct policy pol;
	struct bw_error err;
	struct vm vm;
	const char *cgroup_name; /* the VM's cgroup under the parent: its name, or "vm" in a
				  * cgroup systemd delegated */
	int r = load(path, &cfg, &pol, NULL);

	if (r)
		return r;
	cgroup_name = cfg.name;
	log_set_vm_name(cfg.name);
	/* systemd's notify socket, connected while its path is still in reach (before the jail). */
	if (notify_open(&err) || jail_check(&pol, &err)) {
		r = print_error(&err);
		policy_free(&pol);
		config_free(&cfg);
		return r;
	}
	/* The config's own files first: a bad kernel, image or tap is the config's fault (exit
	 * 2) whatever the host. All of it privileged and outside any jail. */
	notify_send("STATUS=starting: opening the VM's files, checking the host");
	r = vm_open(&vm, &cfg, &pol.network, &err) ? print_error(&err) : 0;
	/* Then the host, before anything is written or created: its cgroups (a host that cannot
	 * give the policy its cgroup is refused as it was found)... */
	if (r == 0 && jail_prepare_cgroup(&pol, &cgroup_name, false, &err))
		r = print_error(&err);
	/* ...every thread kind's filter, compiled before any guest code runs, and the bounding set
	 * emptied while we still hold CAP_SETPCAP (the jail's id drop takes it away)... */
	if (r == 0)
		r = sandbox_prepare(pol.sandbox.seccomp);
	/* ...and KVM, which must run a test guest before any vCPU of ours exists. */
	if (r == 0 && vm_open_kvm(&vm, &err))
		r = print_error(&err);
	/* Only then the cgroup's place (under systemd: a transient scope asked for over D-Bus
	 * unless bulwark's cgroup was delegated to it, and this process moved into its
	 * supervisor/ leaf) and the controllers it needs; still outside any namespace, and before
	 * any thread applies its filter. Then the jail (which may fork: the supervisor returns
	 * here with its verdict), and the VM itself, in the process that runs it. */
	if (r == 0 && jail_prepare_cgroup(&pol, &cgroup_name, true, &err))
		r = print_error(&err);
	if (r == 0)
		register_machine(&cfg);
	if (r == 0)
		r = jail_and_run(&pol, cgroup_name, &vm);
	vm_destroy(&vm);
	policy_free(&pol);
	config_free(&cfg);
	return r;
}

/* `net up|down`: the config and its policy loaded and checked as run loads them; no boot files. */
static int cmd_net(bool up, const char *path)
{
	struct vm_config cfg;
	struct policy pol;
	int r = load(path, &cfg, &pol, NULL);

	if (r)
		return r;
	/* Their failures are on stderr already, one line per tap. */
	r = (up ? net_up(&cfg, &pol) : net_down(&cfg, &pol)) ? EXIT_RUNTIME : 0;
	policy_free(&pol);
	config_free(&cfg);
	return r;
}

/* `host check [--json] [FILE]`: FILE and its policy, else the built-in default policy. */
static int cmd_host_check(const char *path, bool json)
{
	struct host_env env = host_env_default;
	struct host_report report = {.config = path};
	struct vm_config cfg;
	struct policy pol;
	struct bw_error err;
	int r;

	if (path) {
		r = load(path, &cfg, &pol, NULL);
		if (r)
			return r;
	} else if (policy_load_default(&pol, &err)) {
		/* The built-in policy is the binary's, not the user's: refusing it is no bad
		 * config. */
		print_error(&err);
		return EXIT_RUNTIME;
	}
	env.euid = geteuid();
	report.policy = pol.path;
	host_check(&report, path ? &cfg : NULL, &pol, &env);
	r = host_report_ok(&report) ? 0 : EXIT_RUNTIME;
	if (json ? host_report_json(&report, stdout) : (host_report_print(&report, stdout), 0))
		r = EXIT_RUNTIME;
	policy_free(&pol);
	if (path)
		config_free(&cfg);
	return r;
}

/* `host check`'s own arguments, ARGV[0 .. ARGC): [--json] [FILE], in any order. */
static int cmd_host_check_args(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false, bad = false;

	for (int a = 0; a < argc && !bad; a++) {
		if (!strcmp(argv[a], "--json"))
			json = true;
		else if (argv[a][0] == '-')
			bad = fprintf(stderr, "bulwark: host check: unknown option %s\n", argv[a]) >
			      0;
		else if (path)
			bad = fprintf(stderr,
				      "bulwark: host check: one config at most, got %s and %s\n",
				      path, argv[a]) > 0;
		else
			path = argv[a];
	}
	if (!bad)
		return cmd_host_check(path, json);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

static int cmd_policy_check(const char *path)
{
	struct policy pol;
	struct bw_error err;

	if (policy_load(path, &pol, &err))
		return print_error(&err);
	policy_print(&pol, stdout);
	policy_free(&pol);
	/* The allowlists are built in; a broken one fails the build, so this is belt and braces. */
	return seccomp_print_allowlists(stdout) ? EXIT_RUNTIME : 0;
}

int main(int argc, char **argv)
{
	int i = 1;

	/* Nothing a parent left open (fds above 2) may reach the VM's threads, and 0-2 are never
	 * free for a tap or an image to take. */
	if (caps_open_std_fds())
		return EXIT_RUNTIME; /* no stderr to say so */
	if (caps_close_inherited_fds()) {
		fprintf(stderr, "bulwark: cannot close inherited file descriptors\n");
		return EXIT_RUNTIME;
	}
	/* A closed reader of our output must not kill the VMM mid-guest. */
	signal(SIGPIPE, SIG_IGN);
	log_detect_journal();
	if (i < argc && !strcmp(argv[i], "--verbose")) {
		log_set_level(LOG_DEBUG);
		i++;
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[i], "--version")) {
		printf("bulwark %s\n", BULWARK_VERSION);
		return 0;
	}
	if (i + 2 == argc && !strcmp(argv[i], "run"))
		return cmd_run(argv[i + 1]);
	if (i + 2 == argc && !strcmp(argv[i], "validate"))
		return cmd_validate(argv[i + 1]);
	if (i + 2 <= argc && !strcmp(argv[i], "host") && !strcmp(argv[i + 1], "check"))
		return cmd_host_check_args(argc - i - 2, argv + i + 2);
	if (i + 3 == argc && !strcmp(argv[i], "policy") && !strcmp(argv[i + 1], "check"))
		return cmd_policy_check(argv[i + 2]);
	if (i + 3 == argc && !strcmp(argv[i], "net") &&
	    (!strcmp(argv[i + 1], "up") || !strcmp(argv[i + 1], "down")))
		return cmd_net(!strcmp(argv[i + 1], "up"), argv[i + 2]);
	fprintf(stderr, "bulwark: bad arguments\n%s", usage);
	return EXIT_USAGE;
}
