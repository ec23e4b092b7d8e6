/* caps.c: what privileges each thread holds: capabilities (libcap-ng), no_new_privs, inherited fds.
 */
#include "sandbox/caps.h"

#include "util/log.h"

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Closes fds above 2 one by one, for kernels without close_range (before 5.9). */
static int close_listed_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int self;

	if (!d)
		return -errno;
	self = dirfd(d);
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end == 0 && fd > 2 && fd != self)
			close((int)fd);
	}
	closedir(d);
	return 0;
}

int caps_close_inherited_fds(void)
{
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	return close_listed_fds();
}

int caps_open_std_fds(void)
{
	for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		int r;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* The lowest free number: FD, since every lower one is open by now. */
		r = open("/dev/null", O_RDWR); /* inherited as 0-2 are */
		if (r != fd) {
			if (r >= 0)
				close(r);
			return -EBADF;
		}
	}
	return 0;
}

int caps_empty_bounding_set(struct bw_error *err)
{
	capng_get_caps_process();
	if (!capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP)) {
		log_info(
		    "sandbox: running unprivileged (no CAP_SETPCAP), so the capability bounding "
		    "set stays as inherited; no_new_privs keeps every thread from gaining "
		    "capabilities");
		return 0;
	}
	capng_clear(CAPNG_SELECT_BOUNDS);
	if (capng_apply(CAPNG_SELECT_BOUNDS)) {
		bw_errorf(err, BW_ERR_RUNTIME, "sandbox: cannot empty the capability bounding set");
		return -EPERM;
	}
	return 0;
}

int caps_drop_thread(int keep)
{
	bool kept = false;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (keep >= 0) {
		capng_get_caps_process();
		kept = capng_have_capability(CAPNG_EFFECTIVE, (unsigned)keep);
	}
	/* capset(2) acts on the calling thread alone: the others keep what they hold until they
	 * drop it themselves. Emptying permitted empties the ambient set too. */
	capng_clear(CAPNG_SELECT_CAPS);
	if (kept && capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, (unsigned)keep))
		return -EINVAL;
	if (capng_apply(CAPNG_SELECT_CAPS))
		return -EPERM;
	return 0;
}
