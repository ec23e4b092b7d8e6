/* seccomp_policy.h: the per-thread-kind allowlists (policies/seccomp/<kind>.yaml) as rules. */
#ifndef BULWARK_SECCOMP_POLICY_H
#define BULWARK_SECCOMP_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define SECCOMP_CONDS_MAX 3   /* argument conditions per rule, all of which must hold */
#define SECCOMP_RULES_MAX 128 /* rules per allowlist: a bound on what a file may ask for */
#define SECCOMP_ERR_MAX 256

/* One allowlist as the build embedded it (scripts/seccomp-embed writes the table). */
struct seccomp_text {
	const char *kind; /* the file's name without .yaml: "vmm", "vcpu", "virtio-blk", ... */
	const char *path; /* "policies/seccomp/<kind>.yaml", for messages */
	const char *text;
};

extern const struct seccomp_text seccomp_texts[];
extern const unsigned seccomp_ntexts;

/*
 * The file descriptors an entry may pin a call's first argument (the fd) to ("fds:" in a list):
 * stdin, stdout and stderr are 0, 1 and 2 in every thread; the others are the ones the thread's
 * spawner names when it builds the thread's filter (struct sandbox_fds in seccomp.h).
 */
enum sandbox_fd_role {
	SANDBOX_FD_STDIN,	 /* "stdin": console input */
	SANDBOX_FD_STDOUT,	 /* "stdout": the guest's serial output */
	SANDBOX_FD_STDERR,	 /* "stderr": log lines */
	SANDBOX_FD_STOP,	 /* "stop": the VM's stop eventfd */
	SANDBOX_FD_UART_DRAINED, /* "uart-drained": the serial port's FIFO-room eventfd */
	SANDBOX_FD_WAKE,	 /* "wake": a device thread's wake-up eventfd */
	SANDBOX_FD_NOTIFY,	 /* "notify": a device's queue eventfds (KVM ioeventfds) */
	SANDBOX_FD_IRQ,		 /* "irq": a device's interrupt eventfd (a KVM irqfd) */
	SANDBOX_FD_TAP,		 /* "tap": a NIC's tap */
	SANDBOX_FD_IMAGE,	 /* "image": a disk's image */
	SANDBOX_FD_TIMER,	 /* "timer": virtio-rng's rate timerfd */
	SANDBOX_FD_SIGNALFD,	 /* "signalfd": the vmm thread's termination signals */
	SANDBOX_FD_PIDFD,	 /* "pidfd": the supervisor's VMM */
	SANDBOX_FD_CONSOLE, /* "console": where the guest's output goes (stdout's own description) */
	SANDBOX_FD_CONSOLE_WAKE, /* "console-wake": the console ring's eventfd (vCPUs to vmm thread) */
	SANDBOX_FD_CONSOLE_TICK, /* "console-tick": the console's rate-limit timerfd */
	SANDBOX_FD_SERVICE,	 /* "service": the service manager's notify socket (systemd) */
	SANDBOX_FD_WATCHDOG,	 /* "watchdog": the timerfd that says WATCHDOG=1 is due */
	SANDBOX_FD_SHUTDOWN,	 /* "shutdown": the timerfd that ends the power button's grace */
	SANDBOX_FD_ROLES
};

/* "stdin", "tap", ...: as a list names the role; NULL when out of range. */
const char *sandbox_fd_role_name(enum sandbox_fd_role role);

enum seccomp_op {
	SECCOMP_EQ,
	SECCOMP_NE,
	SECCOMP_LT,
	SECCOMP_LE,
	SECCOMP_GT,
	SECCOMP_GE,
	SECCOMP_MASKED_EQ
};

struct seccomp_cond {
	unsigned arg; /* 0..5 */
	enum seccomp_op op;
	uint64_t value, mask; /* mask: SECCOMP_MASKED_EQ only */
	char shown[80];	      /* "arg1 & 0xffffffff == KVM_RUN", as the file wrote it */
};

/* A syscall allowed when all its conditions hold; a syscall listed twice is allowed when either
 * entry's conditions hold. */
struct seccomp_rule {
	int nr;
	char name[32];
	char why[160];
	unsigned ncond;
	struct seccomp_cond cond[SECCOMP_CONDS_MAX];
	unsigned fd_roles; /* bit 1 << role: arg0 must be one of the thread's fds in these roles */
};

struct seccomp_list {
	struct seccomp_rule rule[SECCOMP_RULES_MAX];
	unsigned n;
	unsigned nsyscalls; /* distinct syscalls among the rules */
};

/*
 * Parses one allowlist: a mapping with the key "syscalls", a sequence of entries
 * {name, why, args: [{arg, op, value, mask}], fds: [role, ...]}. Syscall names are resolved for
 * x86_64, values may be numbers or known constants joined by "|"; fds: pins arg0 to the thread's
 * fds in those roles (sandbox_fd_role_name), and excludes any other condition on arg0. Returns 0,
 * or -1 with ERR "PATH:LINE:COLUMN: what is wrong".
 */
int seccomp_list_parse(const char *path, const char *text, size_t len, struct seccomp_list *l,
		       char err[SECCOMP_ERR_MAX]);

/* The value of a constant an allowlist may name (KVM_RUN, FUTEX_WAKE_PRIVATE, ...): 0 or -1. */
int seccomp_constant(const char *name, uint64_t *value);

#endif
