/* seccomp.c: compiles each thread kind's allowlist to BPF up front; threads load their own; SIGSYS
 * reports. */
#include "sandbox/seccomp.h"
#include "util/bytes.h"

#include "policy/seccomp_policy.h"
#include "sandbox/caps.h"
#include "sandbox/seccomp_fds.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define SYSCALL_NAMES 512 /* x86_64 numbers stay below this; others are reported by number */

static const char *const kind_names[SANDBOX_KINDS] = {
    [SANDBOX_VMM] = "vmm",
    [SANDBOX_VCPU] = "vcpu",
    [SANDBOX_VIRTIO_BLK] = "virtio-blk",
    [SANDBOX_VIRTIO_NET] = "virtio-net",
    [SANDBOX_VIRTIO_RNG] = "virtio-rng",
    [SANDBOX_SUPERVISOR] = "supervisor",
};

static struct {
	bool prepared;
	enum policy_seccomp_mode mode;
} sc;

/* For the SIGSYS reporter, which may only read memory prepared in advance. */
static char syscall_names[SYSCALL_NAMES][32];
static __thread int thread_kind = -1;
static volatile sig_atomic_t log_mode;
static char reported[SANDBOX_KINDS + 1][SYSCALL_NAMES]; /* log mode: once per kind and call */

/*
 * Log mode makes the trapped call on the thread's behalf from here: the one place a filter built
 * for log mode lets through (see add_log_prologue). raw_syscall(nr, a0..a5) returns -errno or the
 * result, as the kernel does.
 */
long raw_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
extern const char raw_syscall_return[];
__asm__(".text\n"
	".globl raw_syscall\n"
	".type raw_syscall, @function\n"
	"raw_syscall:\n"
	"\tmov %rdi, %rax\n"
	"\tmov %rsi, %rdi\n"
	"\tmov %rdx, %rsi\n"
	"\tmov %rcx, %rdx\n"
	"\tmov %r8, %r10\n"
	"\tmov %r9, %r8\n"
	"\tmov 8(%rsp), %r9\n"
	"\tsyscall\n"
	".globl raw_syscall_return\n"
	"raw_syscall_return:\n"
	"\tret\n"
	".size raw_syscall, . - raw_syscall\n");

const char *sandbox_kind_name(enum sandbox_kind kind)
{
	return (unsigned)kind < SANDBOX_KINDS ? kind_names[kind] : "unknown";
}

static const struct seccomp_text *text_of(enum sandbox_kind kind)
{
	for (unsigned i = 0; i < seccomp_ntexts; i++)
		if (!strcmp(seccomp_texts[i].kind, kind_names[kind]))
			return &seccomp_texts[i];
	return NULL;
}

/* Parses KIND's embedded list into L. Returns 0 or -1 with ERR. */
static int load_list(enum sandbox_kind kind, struct seccomp_list *l, struct bw_error *err)
{
	const struct seccomp_text *t = text_of(kind);
	char why[SECCOMP_ERR_MAX];

	if (!t) {
		bw_errorf(err, BW_ERR_RUNTIME, "policies/seccomp/%s.yaml: not built in",
			  kind_names[kind]);
		return -1;
	}
	if (seccomp_list_parse(t->path, t->text, strlen(t->text), l, why)) {
		bw_errorf(err, BW_ERR_RUNTIME, "%s", why);
		return -1;
	}
	return 0;
}

static const enum scmp_compare scmp_ops[] = {
    [SECCOMP_EQ] = SCMP_CMP_EQ,
    [SECCOMP_NE] = SCMP_CMP_NE,
    [SECCOMP_LT] = SCMP_CMP_LT,
    [SECCOMP_LE] = SCMP_CMP_LE,
    [SECCOMP_GT] = SCMP_CMP_GT,
    [SECCOMP_GE] = SCMP_CMP_GE,
    [SECCOMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

/* Adds L's rules to CTX, "fds:" ones pinned to FDS. Returns 0 or -1 with ERR naming the rule
 * libseccomp refused. */
static int add_rules(scmp_filter_ctx ctx, const struct seccomp_list *l,
		     const struct sandbox_fds *fds, const char *path, struct bw_error *err)
{
	for (unsigned i = 0; i < l->n; i++) {
		const struct seccomp_rule *r = &l->rule[i];
		struct scmp_arg_cmp c[SECCOMP_CONDS_MAX + 1]; /* + the pinned fd */
		int e;

		for (unsigned j = 0; j < r->ncond; j++) {
			const struct seccomp_cond *d = &r->cond[j];

			c[j] = (struct scmp_arg_cmp){.arg = d->arg, .op = scmp_ops[d->op]};
			c[j].datum_a = d->op == SECCOMP_MASKED_EQ ? d->mask : d->value;
			c[j].datum_b = d->op == SECCOMP_MASKED_EQ ? d->value : 0;
		}
		e = r->fd_roles ? seccomp_add_pinned(ctx, r, c, fds)
				: seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, r->nr, r->ncond, c);
		if (e) {
			bw_errorf(err, BW_ERR_RUNTIME,
				  "%s: syscalls[%u] (%s): libseccomp refuses the rule: %s", path, i,
				  r->name, strerror(-e));
			return -1;
		}
	}
	return 0;
}

/*
 * Reads the BPF that libseccomp exports (it can only write to a file descriptor). Through a pipe,
 * not a file: threads build their filters after the jail set the policy's rlimits, and fsize (0
 * for a VM without a writable disk) limits files only. The pipe holds the largest program the
 * kernel takes, so libseccomp's write is whole or fails (non-blocking, never a hang).
 */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	const int max = BPF_MAXINSNS * (int)sizeof(struct sock_filter);
	struct sock_filter *buf = malloc((size_t)max);
	ssize_t size = -1;
	int p[2], r;

	if (!buf || pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		r = buf ? -errno : -ENOMEM;
		free(buf);
		return r;
	}
	r = fcntl(p[1], F_SETPIPE_SZ, max) < max ? -ENOSPC : seccomp_export_bpf(ctx, p[1]);
	if (!r)
		size = read(p[0], buf, (size_t)max);
	close(p[0]);
	close(p[1]);
	if (!r && (size <= 0 || size >= max || size % (ssize_t)sizeof(struct sock_filter)))
		r = size >= max ? -E2BIG : -EIO;
	if (r) {
		free(buf);
		return r;
	}
	prog->filter = buf;
	prog->len = (unsigned short)(size / (ssize_t)sizeof(struct sock_filter));
	return 0;
}

/*
 * Log mode only, ahead of libseccomp's program: x86_64 calls made from raw_syscall (the
 * reporter's) and rt_sigreturn (the reporter returning) are allowed; the rest goes on to the
 * allowlist, whose default action traps into the reporter.
 */
static int add_log_prologue(struct sock_fprog *prog)
{
	const uint64_t ip = (uint64_t)(uintptr_t)raw_syscall_return;
	const unsigned ip_off = offsetof(struct seccomp_data, instruction_pointer);
	const struct sock_filter pro[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 7),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigreturn, 4, 0),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ip_off),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)ip, 0, 3),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ip_off + 4),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(ip >> 32), 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	size_t n = ARRAY_SIZE(pro);
	struct sock_filter *f;

	if (prog->len + n > BPF_MAXINSNS)
		return -E2BIG;
	f = malloc((prog->len + n) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	memcpy(f, pro, sizeof(pro));
	memcpy(f + n, prog->filter, prog->len * sizeof(*f));
	free(prog->filter);
	prog->filter = f;
	prog->len = (unsigned short)(prog->len + n);
	return 0;
}

/* Compiles KIND's list for a thread with FDS. Returns 0 with PROG, or -1 with ERR. */
static int build_filter(enum sandbox_kind kind, enum policy_seccomp_mode mode,
			const struct sandbox_fds *fds, struct sock_fprog *prog,
			struct bw_error *err)
{
	struct seccomp_list *l = malloc(sizeof(*l));
	scmp_filter_ctx ctx = NULL;
	int r = -1, e;

	if (!l) {
		bw_errorf(err, BW_ERR_RUNTIME, "out of memory");
		return -1;
	}
	if (load_list(kind, l, err))
		goto out;
	/* Trap rather than kill, so the reporter can name the thread and the syscall first; in log
	 * mode it then makes the call itself. */
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx || seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) {
		bw_errorf(err, BW_ERR_RUNTIME, "%s: cannot set up a libseccomp filter",
			  kind_names[kind]);
		goto out;
	}
	if (add_rules(ctx, l, fds, text_of(kind)->path, err))
		goto out;
	e = export_bpf(ctx, prog);
	if (!e && mode == POLICY_SECCOMP_LOG)
		e = add_log_prologue(prog);
	if (e) {
		bw_errorf(err, BW_ERR_RUNTIME, "%s: cannot export the filter: %s", kind_names[kind],
			  strerror(-e));
		goto out;
	}
	r = 0;
out:
	seccomp_release(ctx);
	free(l);
	return r;
}

static size_t put_str(char *buf, size_t at, size_t size, const char *s)
{
	while (*s && at < size)
		buf[at++] = *s++;
	return at;
}

static size_t put_uint(char *buf, size_t at, size_t size, unsigned long v, unsigned base)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n && at < size)
		buf[at++] = digits[--n];
	return at;
}

/* Writes "bulwark: seccomp: <kind> thread made <what> <name> (<nr><tail>" with write(2) only;
 * an ioctl's request goes in the parentheses too, since an allowlist names requests. */
static void report(int nr, unsigned long arg1, const char *what, const char *tail)
{
	char msg[200];
	size_t n = 0;

	n = put_str(msg, n, sizeof(msg), "bulwark: seccomp: ");
	n = put_str(msg, n, sizeof(msg),
		    thread_kind >= 0 ? sandbox_kind_name((enum sandbox_kind)thread_kind)
				     : "unknown");
	n = put_str(msg, n, sizeof(msg), what);
	n = put_str(msg, n, sizeof(msg),
		    nr >= 0 && nr < SYSCALL_NAMES && syscall_names[nr][0] ? syscall_names[nr]
									  : "?");
	n = put_str(msg, n, sizeof(msg), " (");
	n = put_uint(msg, n, sizeof(msg), (unsigned long)(unsigned)nr, 10);
	if (nr == SYS_ioctl) {
		n = put_str(msg, n, sizeof(msg), ", request 0x");
		n = put_uint(msg, n, sizeof(msg), arg1 & 0xffffffffUL, 16);
	}
	n = put_str(msg, n, sizeof(msg), tail);
	(void)!write(STDERR_FILENO, msg, n);
}

/*
 * SIGSYS from a filter: a syscall off the thread's list. Kill mode: name the thread kind and the
 * call, then make the very same call again. SIGSYS is blocked inside this handler, and the kernel
 * answers a trap whose signal is blocked by resetting it to the default action: the process dies
 * by SIGSYS, as SCMP_ACT_KILL_PROCESS would have killed it, but named. Log mode: name it once per
 * thread kind, make the call from raw_syscall (which the filter lets through) and return its
 * result as the kernel would have. Calls that change this thread's signal mask or stack do not
 * behave faithfully from here, which is fine for a mode meant for writing allowlists.
 */
static void report_sigsys(int sig, siginfo_t *si, void *ctx)
{
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	int nr = si->si_syscall;
	unsigned k = thread_kind >= 0 ? (unsigned)thread_kind : SANDBOX_KINDS;

	(void)sig;
	if (!log_mode) {
		report(nr, (unsigned long)g[REG_RSI], " thread made forbidden syscall ", ")\n");
		syscall(nr, g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]);
		syscall(SYS_exit_group, 128 + SIGSYS); /* not reached; if it were, still die */
		return;
	}
	if (nr < 0 || nr >= SYSCALL_NAMES ||
	    !__atomic_exchange_n(&reported[k][nr], 1, __ATOMIC_RELAXED))
		report(nr, (unsigned long)g[REG_RSI], " thread made syscall ",
		       "), off its allowlist: allowed (log mode)\n");
	g[REG_RAX] =
	    raw_syscall(nr, g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]);
}

static void fill_syscall_names(void)
{
	for (int nr = 0; nr < SYSCALL_NAMES; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);

		syscall_names[nr][0] = 0;
		if (name)
			snprintf(syscall_names[nr], sizeof(syscall_names[nr]), "%s", name);
		free(name);
	}
}

int seccomp_prepare(enum policy_seccomp_mode mode, struct bw_error *err)
{
	struct sigaction sa = {.sa_sigaction = report_sigsys, .sa_flags = SA_SIGINFO};

	seccomp_free_filters();
	for (int k = 0; k < SANDBOX_KINDS; k++) {
		struct sock_fprog prog = {0};

		/* Every list compiles before anything runs; each thread then gets its own build,
		 * pinned to its fds (sandbox_filter_build). */
		if (build_filter((enum sandbox_kind)k, mode, NULL, &prog, err))
			return -1;
		free(prog.filter);
	}
	fill_syscall_names();
	memset(reported, 0, sizeof(reported));
	log_mode = mode == POLICY_SECCOMP_LOG;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL)) {
		bw_errorf(err, BW_ERR_RUNTIME, "cannot install the SIGSYS reporter: %s",
			  strerror(errno));
		seccomp_free_filters();
		return -1;
	}
	sc.mode = mode;
	sc.prepared = true;
	return 0;
}

bool seccomp_prepared(void)
{
	return sc.prepared;
}

void seccomp_free_filters(void)
{
	sc.prepared = false;
}

int sandbox_filter_build(struct sandbox_filter *f, enum sandbox_kind kind,
			 const struct sandbox_fds *fds)
{
	struct bw_error err;

	*f = (struct sandbox_filter){.kind = kind};
	if (!sc.prepared)
		return 0;
	if ((unsigned)kind >= SANDBOX_KINDS)
		return -EINVAL;
	if (fds && fds->overflow)
		bw_errorf(&err, BW_ERR_RUNTIME, "%s: more than %d fds to pin", kind_names[kind],
			  SANDBOX_FDS_MAX);
	if ((fds && fds->overflow) || build_filter(kind, sc.mode, fds, &f->prog, &err)) {
		log_err("seccomp: %s", err.msg);
		return -EINVAL;
	}
	return 0;
}

void sandbox_filter_free(struct sandbox_filter *f)
{
	free(f->prog.filter);
	f->prog = (struct sock_fprog){0};
}

int sandbox_confine_filter(const struct sandbox_filter *f)
{
	sigset_t sys;
	int r;

	if (!sc.prepared)
		return 0;
	if ((unsigned)f->kind >= SANDBOX_KINDS)
		return -EINVAL;
	/* The jail's supervisor runs as root and signals a VMM that runs as the policy's uid. */
	r = caps_drop_thread(f->kind == SANDBOX_SUPERVISOR ? CAP_KILL : -1);
	if (r)
		return r;
	/* Device threads are born with every signal blocked; a blocked SIGSYS would kill without
	 * the report. */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	r = pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	if (r)
		return -r;
	if (!f->prog.filter)
		return -EINVAL;
	thread_kind = (int)f->kind;
	/* Flags 0: no TSYNC, this thread alone. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &f->prog))
		return -errno;
	return 0;
}

int sandbox_confine_thread(enum sandbox_kind kind, const struct sandbox_fds *fds)
{
	struct sandbox_filter f;
	int r = sandbox_filter_build(&f, kind, fds);

	if (!r)
		r = sandbox_confine_filter(&f);
	sandbox_filter_free(&f);
	return r;
}

int seccomp_print_allowlists(FILE *out)
{
	struct seccomp_list *l = malloc(sizeof(*l));
	struct bw_error err;
	int r = 0;

	if (!l) {
		fprintf(out, "seccomp: out of memory\n");
		return -1;
	}
	for (int k = 0; k < SANDBOX_KINDS; k++) {
		struct sock_fprog prog = {0};

		/* Compiling catches what parsing alone would not (a rule libseccomp refuses). */
		if (load_list((enum sandbox_kind)k, l, &err) ||
		    build_filter((enum sandbox_kind)k, POLICY_SECCOMP_KILL, NULL, &prog, &err)) {
			fprintf(out, "seccomp: %s\n", err.msg);
			r = -1;
			continue;
		}
		free(prog.filter);
		fprintf(out, "seccomp %s: %u syscalls (%s, %u BPF instructions)\n", kind_names[k],
			l->nsyscalls, text_of((enum sandbox_kind)k)->path, prog.len);
		for (unsigned i = 0; i < l->n; i++) {
			const struct seccomp_rule *rule = &l->rule[i];
			char fds[160];

			fprintf(out, "  %s", rule->name);
			for (unsigned j = 0; j < rule->ncond; j++)
				fprintf(out, "%s%s", j ? " && " : " if ", rule->cond[j].shown);
			seccomp_fd_roles_text(rule, fds, sizeof(fds));
			if (fds[0])
				fprintf(out, "%s%s", rule->ncond ? " && " : " if ", fds);
			fprintf(out, "  # %s\n", rule->why);
		}
	}
	free(l);
	return r;
}
