/* vm_stop.c: how a VM stops: the power button on a first signal, a hard stop after, and why. */
#include "vmm/vm_stop.h"

#include "util/bytes.h"
#include "util/log.h"
#include "util/notify.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Why the VM stopped, for reasons that need no more words than these. */
static const char *const stop_text[] = {
    [VM_RUNNING] = "running",
    [VM_STOP_POWEROFF] = "guest powered off",
    [VM_STOP_REBOOT] = "guest rebooted",
    [VM_STOP_TRIPLE_FAULT] = "guest triple-faulted (treated as a reboot)",
    [VM_STOP_CONSOLE_QUIT] = "quit from the console (Ctrl-A x)",
    [VM_STOP_ERROR] = "stopped on an error",
};

int vm_stop_open(struct vm *vm)
{
	vm->shutdown_fd = -1;
	if (!vm->cfg->shutdown_timeout)
		return 0;
	/* Made here, before the vmm thread's filter: from then on it may only arm and read it. */
	vm->shutdown_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	return vm->shutdown_fd < 0 ? -errno : 0;
}

void vm_stop_close(struct vm *vm)
{
	if (vm->shutdown_fd >= 0)
		close(vm->shutdown_fd);
	vm->shutdown_fd = -1;
}

/* One press: the GED's interrupt, pulsed as an edge. */
static int press_power_button(struct vm *vm)
{
	if (kvm_irq_line(&vm->kvm, VM_POWER_BUTTON_GSI, 1) ||
	    kvm_irq_line(&vm->kvm, VM_POWER_BUTTON_GSI, 0))
		return -errno;
	return 0;
}

/*
 * Whether the button was pressed less than a second ago. One request often comes twice: a
 * signal to bulwark's process group (pkill, systemctl kill, a terminal's hangup) reaches the VMM
 * directly and again as the supervisor forwards it; only a later one means "stop it now".
 */
static bool just_pressed(const struct vm *vm)
{
	struct itimerspec left;
	int64_t left_ns, total_ns = (int64_t)vm->cfg->shutdown_timeout * 1000000000;

	if (timerfd_gettime(vm->shutdown_fd, &left))
		return false;
	left_ns = (int64_t)left.it_value.tv_sec * 1000000000 + left.it_value.tv_nsec;
	return total_ns - left_ns < 1000000000;
}

void vm_stop_on_signal(struct vm *vm, int sig)
{
	unsigned secs = vm->cfg->shutdown_timeout;
	struct itimerspec when = {.it_value = {.tv_sec = (time_t)secs}};
	int r;

	if (vm->button_signal) {
		if (just_pressed(vm)) {
			log_debug("SIG%s within a second of the power button: the same request",
				  log_signal_name(sig));
			return;
		}
		vm->stop_signal = sig;
		vm_request_stop(vm, VM_STOP_SECOND_SIGNAL);
		return;
	}
	vm->stop_signal = sig;
	if (vm->shutdown_fd < 0) {
		vm_request_stop(vm, VM_STOP_SIGNAL);
		return;
	}
	r = press_power_button(vm);
	if (!r && timerfd_settime(vm->shutdown_fd, 0, &when, NULL))
		r = -errno;
	if (r) {
		log_warn("SIG%s: cannot press the guest's power button (%s); stopping it hard",
			 log_signal_name(sig), strerror(-r));
		vm_request_stop(vm, VM_STOP_SIGNAL);
		return;
	}
	vm->button_signal = sig;
	log_info("SIG%s: pressed the guest's power button; it is stopped hard if it has not "
		 "powered off in %u s, or on a second signal",
		 log_signal_name(sig), secs);
	notify_send("STOPPING=1\nSTATUS=stopping: pressed the power button (SIG%s), waiting %u s "
		    "for the guest to power off",
		    log_signal_name(sig), secs);
}

void vm_stop_on_timer(struct vm *vm)
{
	uint64_t expirations;

	if (read(vm->shutdown_fd, &expirations, sizeof(expirations)) == sizeof(expirations))
		vm_request_stop(vm, VM_STOP_BUTTON_TIMEOUT);
}

void vm_stop_words(const struct vm *vm, char *buf, size_t size)
{
	enum vm_stop_reason why = vm_stop_reason(vm);
	const char *text = (unsigned)why < ARRAY_SIZE(stop_text) ? stop_text[why] : NULL;

	switch (why) {
	case VM_STOP_SIGNAL:
		snprintf(buf, size, "stopped by SIG%s", log_signal_name(vm->stop_signal));
		break;
	case VM_STOP_SECOND_SIGNAL:
		snprintf(buf, size,
			 "stopped hard by a second signal (SIG%s) before the guest powered off",
			 log_signal_name(vm->stop_signal));
		break;
	case VM_STOP_BUTTON_TIMEOUT:
		snprintf(
		    buf, size,
		    "stopped hard: the guest did not power off within %u s of its power button "
		    "(SIG%s)",
		    vm->cfg->shutdown_timeout, log_signal_name(vm->button_signal));
		break;
	default:
		snprintf(buf, size, "%s", text ? text : "stopped");
		if (vm->button_signal && why != VM_STOP_ERROR)
			snprintf(buf + strlen(buf), size - strlen(buf),
				 " after its power button (SIG%s)",
				 log_signal_name(vm->button_signal));
	}
}

enum vm_stop_reason vm_stop_report(const struct vm *vm)
{
	enum vm_stop_reason why = vm_stop_reason(vm);
	enum log_level level = LOG_INFO;
	char words[128];

	if (why == VM_STOP_ERROR)
		level = LOG_ERROR;
	else if (why == VM_STOP_BUTTON_TIMEOUT || why == VM_STOP_SECOND_SIGNAL)
		level = LOG_WARN;
	vm_stop_words(vm, words, sizeof(words));
	log_msg(level, "%s (%lu port and %lu MMIO accesses went to no device)", words,
		vm->pio.unclaimed, vm->mmio.unclaimed);
	return why;
}
