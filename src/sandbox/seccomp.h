/* seccomp.h: one seccomp filter per thread kind, built before the guest runs, loaded by each
 * thread. */
#ifndef BULWARK_SECCOMP_H
#define BULWARK_SECCOMP_H

#include "sandbox/policy.h"

#include <stdio.h>

/* What a thread does decides what it may call; policies/seccomp/<name>.yaml says it. */
enum sandbox_kind {
	SANDBOX_VMM,	    /* the main thread once every other thread runs: waits, tears down */
	SANDBOX_VCPU,	    /* KVM_RUN and the exits it emulates (serial, i8042, PM, virtio MMIO) */
	SANDBOX_VIRTIO_BLK, /* a disk image: read, write, flush */
	SANDBOX_VIRTIO_NET, /* a tap: read and write frames */
	SANDBOX_VIRTIO_RNG, /* getrandom */
	SANDBOX_SUPERVISOR, /* the jail's parent process: waits, forwards signals, removes the
			       cgroup */
	SANDBOX_KINDS
};

/* "vmm", "vcpu", "virtio-blk", ...: the allowlist's file name and what reports say. */
const char *sandbox_kind_name(enum sandbox_kind kind);

/* The kind of a virtio device's thread from its ops->kind ("blk", "net", "rng"); SANDBOX_KINDS
 * for an unknown device, which then cannot start a thread once filters are prepared. */
enum sandbox_kind sandbox_kind_for_device(const char *dev_kind);

/*
 * Parses every embedded allowlist and compiles one BPF filter per thread kind with libseccomp,
 * to be loaded later by the threads themselves, and installs the SIGSYS reporter, which a
 * syscall off a thread's list traps into. MODE kill: it writes on stderr "bulwark: seccomp:
 * <kind> thread made forbidden syscall <name> (<nr>)" and the process dies by SIGSYS. MODE log:
 * it writes "... made syscall <name> (<nr>), off its allowlist: allowed (log mode)" once per kind
 * and call, and makes the call. Returns 0, or -1 with ERR saying which file, where and why.
 */
int seccomp_prepare(enum policy_seccomp_mode mode, char *err, size_t errlen);

/* Whether seccomp_prepare() succeeded: bulwark run always prepares; unit tests and fuzzers that
 * start device threads do not, and their threads stay unconfined. */
bool seccomp_prepared(void);

/* Frees the compiled filters (the loaded ones stay in the kernel). */
void seccomp_free_filters(void);

/*
 * Confines the calling thread as KIND: no_new_privs, no capabilities (the supervisor keeps
 * CAP_KILL, to signal a VMM running under another uid), SIGSYS unblocked for the
 * reporter, then its own filter (no TSYNC: other threads keep theirs). A thread calls this as its
 * first act; the main thread after it has spawned every other thread, which would otherwise
 * inherit its filter. Returns 0 (also when nothing was prepared) or -errno.
 */
int sandbox_confine_thread(enum sandbox_kind kind);

/* Loads KIND's filter only (sandbox_confine_thread's last step); for tests. Returns 0 or -errno. */
int seccomp_load_filter(enum sandbox_kind kind);

/* Prints, per thread kind, the syscalls allowed (with their conditions and why) and how many;
 * parses the embedded lists itself. Returns 0, or -1 after printing what is wrong. */
int seccomp_print_allowlists(FILE *out);

#endif
