/* notify.h: telling the service manager how the VM is doing (sd_notify(3)'s protocol). */
#ifndef BULWARK_NOTIFY_H
#define BULWARK_NOTIFY_H

#include "util/error.h"

#include <stdint.h>

/*
 * Connects to the socket NOTIFY_SOCKET names (a path, or "@" for the abstract namespace) and
 * takes the watchdog's period from WATCHDOG_USEC when WATCHDOG_PID is unset or this process.
 * Called before the jail: afterwards the socket's path is out of reach, but a connected socket
 * still sends. Removes both variables from the environment. Without NOTIFY_SOCKET (not started
 * by systemd as Type=notify) every notify_send() does nothing. Returns 0, or -1 with ERR.
 */
int notify_open(struct bw_error *err);

/* The connected socket's fd, or -1: the vmm thread's allowlist pins its writes to it. */
int notify_fd(void);

/* Half the watchdog's period in microseconds (how often WATCHDOG=1 is due), or 0 for none. */
uint64_t notify_watchdog_every_usec(void);

/* Sends one message of "KEY=VALUE" lines in one write(2); a failure is logged once, at debug
 * level (the service manager going away must not stop the VM). */
void notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void notify_close(void);

#endif
