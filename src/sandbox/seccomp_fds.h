/* seccomp_fds.h: an allowlist entry's "fds:" as libseccomp rules, one per fd of the thread's. */
#ifndef BULWARK_SECCOMP_FDS_H
#define BULWARK_SECCOMP_FDS_H

#include "sandbox/seccomp.h"

#include <seccomp.h>

/*
 * Adds R to CTX with its conditions C (R->ncond of them, room for one more), once per fd of FDS
 * (NULL: none but stdin, stdout and stderr) in R's roles, with arg0 equal to it. No fd in those
 * roles, no rule: the call stays forbidden. Returns 0 or libseccomp's -errno.
 */
int seccomp_add_pinned(scmp_filter_ctx ctx, const struct seccomp_rule *r, struct scmp_arg_cmp *c,
		       const struct sandbox_fds *fds);

/* "fd in {stderr, tap}" for R's roles, as the listing shows them; "" for an entry without. */
void seccomp_fd_roles_text(const struct seccomp_rule *r, char *buf, size_t size);

#endif
