/* test_vm_stop.c: a stop signal presses the power button; the grace period, a second signal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vmm/vm_stop.h"

/* KVM_IRQ_LINE, recorded: each press is a pulse, 1 then 0, on the power button's GSI. */
static int levels[8], nlevels, irq_errno;
int __wrap_kvm_irq_line(const struct kvm *k, unsigned gsi, int level);
int __wrap_kvm_irq_line(const struct kvm *k, unsigned gsi, int level)
{
	(void)k;
	assert_int_equal(gsi, VM_POWER_BUTTON_GSI);
	if (irq_errno) {
		errno = irq_errno;
		return -1;
	}
	if (nlevels < 8)
		levels[nlevels++] = level;
	return 0;
}

static struct vm_config cfg;
static struct vm vm;
static char words[160];

static int setup(void **state)
{
	(void)state;
	memset(&vm, 0, sizeof(vm));
	memset(&cfg, 0, sizeof(cfg));
	nlevels = irq_errno = 0;
	vm.cfg = &cfg;
	vm.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(vm.stop_fd >= 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vm_stop_close(&vm);
	close(vm.stop_fd);
	return 0;
}

static const char *stop_words(void)
{
	vm_stop_words(&vm, words, sizeof(words));
	return words;
}

static void no_grace_period_stops_at_once(void **state)
{
	(void)state;
	cfg.shutdown_timeout = 0;
	assert_int_equal(vm_stop_open(&vm), 0);
	assert_int_equal(vm.shutdown_fd, -1);
	vm_stop_on_signal(&vm, SIGTERM);
	assert_int_equal(vm_stop_reason(&vm), VM_STOP_SIGNAL);
	assert_int_equal(nlevels, 0);
	assert_string_equal(stop_words(), "stopped by SIGTERM");
}

static void first_signal_presses_the_button(void **state)
{
	struct itimerspec left;

	(void)state;
	cfg.shutdown_timeout = 30;
	assert_int_equal(vm_stop_open(&vm), 0);
	vm_stop_on_signal(&vm, SIGTERM);
	assert_int_equal(vm_stop_reason(&vm), VM_RUNNING);
	assert_int_equal(nlevels, 2);
	assert_int_equal(levels[0], 1);
	assert_int_equal(levels[1], 0);
	assert_int_equal(timerfd_gettime(vm.shutdown_fd, &left), 0);
	assert_true(left.it_value.tv_sec >= 29 && left.it_value.tv_sec <= 30);
	/* The guest's init heard it and powered off. */
	vm_request_stop(&vm, VM_STOP_POWEROFF);
	assert_string_equal(stop_words(), "guest powered off after its power button (SIGTERM)");
}

static void second_signal_stops_hard(void **state)
{
	/* Two seconds of the grace period gone, as if the press were that old. */
	const struct itimerspec later = {.it_value = {.tv_sec = 28}};

	(void)state;
	cfg.shutdown_timeout = 30;
	assert_int_equal(vm_stop_open(&vm), 0);
	vm_stop_on_signal(&vm, SIGTERM);
	/* The same request again at once (the process group's copy, the supervisor's forward). */
	vm_stop_on_signal(&vm, SIGTERM);
	assert_int_equal(vm_stop_reason(&vm), VM_RUNNING);
	assert_int_equal(timerfd_settime(vm.shutdown_fd, 0, &later, NULL), 0);
	vm_stop_on_signal(&vm, SIGINT);
	assert_int_equal(vm_stop_reason(&vm), VM_STOP_SECOND_SIGNAL);
	assert_int_equal(nlevels, 2); /* pressed once only */
	assert_string_equal(
	    stop_words(), "stopped hard by a second signal (SIGINT) before the guest powered off");
}

static void ignored_button_stops_after_the_timeout(void **state)
{
	struct pollfd p;

	(void)state;
	cfg.shutdown_timeout = 1;
	assert_int_equal(vm_stop_open(&vm), 0);
	vm_stop_on_signal(&vm, SIGHUP);
	p = (struct pollfd){.fd = vm.shutdown_fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 5000), 1);
	vm_stop_on_timer(&vm);
	assert_int_equal(vm_stop_reason(&vm), VM_STOP_BUTTON_TIMEOUT);
	assert_string_equal(
	    stop_words(),
	    "stopped hard: the guest did not power off within 1 s of its power button (SIGHUP)");
}

/* A button that cannot be pressed leaves nothing to wait for. */
static void failed_press_stops_at_once(void **state)
{
	(void)state;
	cfg.shutdown_timeout = 30;
	irq_errno = EIO;
	assert_int_equal(vm_stop_open(&vm), 0);
	vm_stop_on_signal(&vm, SIGTERM);
	assert_int_equal(vm_stop_reason(&vm), VM_STOP_SIGNAL);
	assert_int_equal(vm.button_signal, 0);
	assert_string_equal(stop_words(), "stopped by SIGTERM");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(no_grace_period_stops_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(first_signal_presses_the_button, setup, teardown),
	    cmocka_unit_test_setup_teardown(second_signal_stops_hard, setup, teardown),
	    cmocka_unit_test_setup_teardown(ignored_button_stops_after_the_timeout, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(failed_press_stops_at_once, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
