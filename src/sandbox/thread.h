/* thread.h: spawning a thread that confines itself (seccomp, capabilities) before anything else. */
#ifndef BULWARK_SANDBOX_THREAD_H
#define BULWARK_SANDBOX_THREAD_H

#include "sandbox/seccomp.h"

#include <pthread.h>

/*
 * Starts FN(ARG) on a new thread whose first act is sandbox_confine_thread(KIND), and waits for
 * that to finish: returns 0 with *T once the thread runs confined, or -errno when it could not
 * confine itself (the thread has then ended without calling FN), so the caller stops the VM.
 */
int sandbox_thread_spawn(pthread_t *t, enum sandbox_kind kind, void *(*fn)(void *), void *arg);

#endif
