/* seccomp.h: one seccomp filter per thread kind, built before the guest runs, loaded by each
 * thread. */
#ifndef BULWARK_SECCOMP_H
#define BULWARK_SECCOMP_H

#include "policy/policy.h"
#include "policy/seccomp_policy.h"
#include "sandbox/thread_kind.h"
#include "util/error.h"

#include <linux/filter.h>
#include <stdbool.h>
#include <stdio.h>

/* One thread's filter, built by its creator for the thread's own fds; the thread loads it. */
struct sandbox_filter {
	enum sandbox_kind kind;
	struct sock_fprog prog; /* empty when seccomp_prepare() was not called */
};

/*
 * Parses every embedded allowlist and compiles it with libseccomp, so a bad one stops bulwark
 * before anything runs (each thread's own filter is compiled later, for its fds, by
 * sandbox_filter_build), and installs the SIGSYS reporter, which a
 * syscall off a thread's list traps into. MODE kill: it writes on stderr "bulwark: seccomp:
 * <kind> thread made forbidden syscall <name> (<nr>)" and the process dies by SIGSYS. MODE log:
 * it writes "... made syscall <name> (<nr>), off its allowlist: allowed (log mode)" once per kind
 * and call, and makes the call. Returns 0, or -1 with ERR (BW_ERR_RUNTIME) saying which file,
 * where and why.
 */
int seccomp_prepare(enum policy_seccomp_mode mode, struct bw_error *err);

/* Whether seccomp_prepare() succeeded: bulwark run always prepares; unit tests and fuzzers that
 * start device threads do not, and their threads stay unconfined. */
bool seccomp_prepared(void);

/* Undoes seccomp_prepare: threads started from here are not confined (loaded filters stay). */
void seccomp_free_filters(void);

/*
 * Compiles KIND's allowlist into F, its "fds:" entries pinned to FDS (NULL: stdin, stdout and
 * stderr only). Nothing to do, and 0, when nothing was prepared. Returns 0, or -errno after
 * logging why (an FDS that overflowed among them).
 */
int sandbox_filter_build(struct sandbox_filter *f, enum sandbox_kind kind,
			 const struct sandbox_fds *fds);
void sandbox_filter_free(struct sandbox_filter *f);

/*
 * Confines the calling thread with F: no_new_privs, no capabilities (the supervisor keeps
 * CAP_KILL, to signal a VMM running under another uid), SIGSYS unblocked for the reporter, then
 * F's filter (no TSYNC: other threads keep theirs). A thread calls this as its first act; the main
 * thread after it has spawned every other thread, which would otherwise inherit its filter.
 * Returns 0 (also when nothing was prepared) or -errno.
 */
int sandbox_confine_filter(const struct sandbox_filter *f);

/* sandbox_filter_build, sandbox_confine_filter and sandbox_filter_free in one, for a thread that
 * builds its own filter (the vmm thread, the supervisor). Returns 0 or -errno. */
int sandbox_confine_thread(enum sandbox_kind kind, const struct sandbox_fds *fds);

/* Prints, per thread kind, the syscalls allowed (with their conditions and why) and how many;
 * parses the embedded lists itself. Returns 0, or -1 after printing what is wrong. */
int seccomp_print_allowlists(FILE *out);

#endif
