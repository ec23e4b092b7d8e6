/* seccomp_fds.c: pins an allowlist entry's fd argument to the fds its thread was given. */
#include "sandbox/seccomp_fds.h"
#include "util/bytes.h"

#include <stdio.h>
#include <unistd.h>

void sandbox_fds_add(struct sandbox_fds *f, enum sandbox_fd_role role, int fd)
{
	if (fd < 0)
		return;
	if (f->n == SANDBOX_FDS_MAX) {
		f->overflow = true;
		return;
	}
	f->fd[f->n++] = (struct sandbox_fd){.role = role, .fd = fd};
}

/* The implied ones, then the thread's own. */
static const struct sandbox_fd std_fds[] = {
    {SANDBOX_FD_STDIN, STDIN_FILENO},
    {SANDBOX_FD_STDOUT, STDOUT_FILENO},
    {SANDBOX_FD_STDERR, STDERR_FILENO},
};
#define NSTD (ARRAY_SIZE(std_fds))

static const struct sandbox_fd *fd_at(const struct sandbox_fds *fds, unsigned i)
{
	return i < NSTD ? &std_fds[i] : &fds->fd[i - NSTD];
}

/* Whether the I-th fd is in R's roles and no earlier one in them had the same number. */
static bool first_in_roles(const struct seccomp_rule *r, const struct sandbox_fds *fds, unsigned i)
{
	const struct sandbox_fd *d = fd_at(fds, i);

	if (!(r->fd_roles & (1U << d->role)))
		return false;
	for (unsigned j = 0; j < i; j++)
		if ((r->fd_roles & (1U << fd_at(fds, j)->role)) && fd_at(fds, j)->fd == d->fd)
			return false;
	return true;
}

int seccomp_add_pinned(scmp_filter_ctx ctx, const struct seccomp_rule *r, struct scmp_arg_cmp *c,
		       const struct sandbox_fds *fds)
{
	unsigned n = NSTD + (fds ? fds->n : 0);

	for (unsigned i = 0; i < n; i++) {
		int e;

		if (!first_in_roles(r, fds, i))
			continue;
		/* The kernel reads an fd as an int: only the low 32 bits count. */
		c[r->ncond] = (struct scmp_arg_cmp){.arg = 0,
						    .op = SCMP_CMP_MASKED_EQ,
						    .datum_a = 0xffffffff,
						    .datum_b = (uint32_t)fd_at(fds, i)->fd};
		e = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, r->nr, r->ncond + 1, c);
		if (e)
			return e;
	}
	return 0;
}

void seccomp_fd_roles_text(const struct seccomp_rule *r, char *buf, size_t size)
{
	const char *sep = "fd in {";
	size_t at = 0;

	buf[0] = 0;
	if (!r->fd_roles)
		return;
	for (unsigned k = 0; k < SANDBOX_FD_ROLES && at < size; k++) {
		if (r->fd_roles & (1U << k)) {
			int w = snprintf(buf + at, size - at, "%s%s", sep,
					 sandbox_fd_role_name((enum sandbox_fd_role)k));

			at += w > 0 ? (size_t)w : 0;
			sep = ", ";
		}
	}
	if (at < size)
		snprintf(buf + at, size - at, "}");
}
