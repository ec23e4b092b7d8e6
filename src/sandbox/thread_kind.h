/* thread_kind.h: the kinds of thread, each with its own allowlist, and the fds a thread is given.
 */
#ifndef BULWARK_THREAD_KIND_H
#define BULWARK_THREAD_KIND_H

#include "policy/seccomp_policy.h"

#include <stdbool.h>

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

/* The most fds one thread's filter pins its calls to: a vCPU's are every device's eventfds. */
#define SANDBOX_FDS_MAX 96

/* A thread's own fds, by role, for the entries of its list that say "fds:" (seccomp_policy.h);
 * stdin, stdout and stderr are implied. Zero-initialise, then sandbox_fds_add. */
struct sandbox_fds {
	unsigned n;
	bool overflow; /* an fd did not fit: building a filter from this set fails */
	struct sandbox_fd {
		enum sandbox_fd_role role;
		int fd;
	} fd[SANDBOX_FDS_MAX];
};

/* Adds FD in ROLE to F; a negative FD (none open) is skipped. A full F remembers it overflowed,
 * so the thread fails to start rather than die on its first call to a left-out fd. */
void sandbox_fds_add(struct sandbox_fds *f, enum sandbox_fd_role role, int fd);

#endif
