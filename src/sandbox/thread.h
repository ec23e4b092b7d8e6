/* thread.h: spawning a thread that confines itself (seccomp, capabilities) before anything else. */
#ifndef BULWARK_SANDBOX_THREAD_H
#define BULWARK_SANDBOX_THREAD_H

#include "sandbox/seccomp.h"

#include <pthread.h>

/*
 * Builds KIND's filter pinned to FDS (the thread's own: its tap, image, eventfds...), starts
 * FN(ARG) on a new thread whose first act is to load it (sandbox_confine_filter), and waits for
 * that to finish: returns 0 with *T once the thread runs confined, or -errno when the filter
 * could not be built or the thread could not confine itself (it has then ended without calling
 * FN), so the caller stops the VM.
 */
int sandbox_thread_spawn(pthread_t *t, enum sandbox_kind kind, const struct sandbox_fds *fds,
			 void *(*fn)(void *), void *arg);

#endif
