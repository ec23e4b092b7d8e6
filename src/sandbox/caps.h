/* caps.h: capabilities (libcap-ng), no_new_privs and inherited file descriptors. */
#ifndef BULWARK_CAPS_H
#define BULWARK_CAPS_H

#include "util/error.h"

/* Closes every file descriptor above 2 that bulwark inherited: first thing in main, so nothing a
 * parent left open (a socket, a privileged file) reaches the guest's threads. Returns 0 or -errno.
 */
int caps_close_inherited_fds(void);

/* Opens /dev/null on whichever of stdin, stdout and stderr is closed: otherwise the VM's
 * eventfds, its images or its taps would take those numbers, and log lines (which every
 * thread may write to fd 2) and console output would go into them. Returns 0 or -EBADF. */
int caps_open_std_fds(void);

/*
 * Empties the capability bounding set of the calling thread, before it spawns any other (they
 * inherit it), so no thread can regain a capability even through a setuid binary. Needs
 * CAP_SETPCAP: as an ordinary user it logs that it cannot and returns 0 (no_new_privs covers
 * that case). Returns 0, or -errno with ERR (BW_ERR_RUNTIME).
 */
int caps_empty_bounding_set(struct bw_error *err);

/* Drops every capability (effective, permitted, inheritable; ambient follows) of the calling
 * thread only, but KEEP (a CAP_* number, or -1 for none) if held, and sets no_new_privs on it.
 * Returns 0 or -errno. */
int caps_drop_thread(int keep);

#endif
