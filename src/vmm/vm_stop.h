/* vm_stop.h: how a VM stops: the power button on a first signal, a hard stop after, and why. */
#ifndef BULWARK_VM_STOP_H
#define BULWARK_VM_STOP_H

#include "vmm/vm.h"

#include <stddef.h>

/*
 * The grace period's timerfd (vm->shutdown_fd), when the config gives one (shutdown_timeout >
 * 0); made before the vmm thread is confined, which may then only arm and read it. Returns 0 or
 * -errno.
 */
int vm_stop_open(struct vm *vm);
void vm_stop_close(struct vm *vm);

/*
 * A termination signal SIG reached the main loop. The first one presses the guest's ACPI power
 * button and arms the grace period; without one (shutdown_timeout 0), or on a second signal,
 * the VM stops at once.
 */
void vm_stop_on_signal(struct vm *vm, int sig);

/* The grace period's timerfd fired: the guest ignored its power button. */
void vm_stop_on_timer(struct vm *vm);

/* Why the VM stopped, as the log line and systemd's STATUS= say it: "stopped by SIGTERM". */
void vm_stop_words(const struct vm *vm, char *buf, size_t size);

/* Logs the one line saying why the VM ended, with the strays it ignored; returns the reason. */
enum vm_stop_reason vm_stop_report(const struct vm *vm);

#endif
