/* test_vcpu_exits.c: a vCPU against a scripted KVM (fake_kvm_core.h, vcpu_driver.h): the exits
 * that stop the VM or not, KVM_RUN's errors, the kick, and its teardown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vcpu_driver.h"

#include <pthread.h>

/* A triple fault stops the VM as one, and the vCPU enters the guest no more. */
static void test_shutdown(void **state)
{
	(void)state;
	add_exit(KVM_EXIT_SHUTDOWN);
	add_exit(KVM_EXIT_INTR);
	vcpu_run(&v);
	assert_stopped(VCPU_STOP_TRIPLE_FAULT, 1);
}

/* PSCI-style system events: shutdown is a poweroff, reset a reset, anything else an error. */
static void test_system_events(void **state)
{
	static const struct {
		uint32_t type;
		enum vcpu_stop why;
	} events[] = {
	    {KVM_SYSTEM_EVENT_SHUTDOWN, VCPU_STOP_POWEROFF},
	    {KVM_SYSTEM_EVENT_RESET, VCPU_STOP_RESET},
	    {KVM_SYSTEM_EVENT_CRASH, VCPU_STOP_ERROR},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		memset(&vm, 0, sizeof(vm));
		nscript = 0;
		fk.runs = 0;
		add_exit(KVM_EXIT_SYSTEM_EVENT)->system_event.type = events[i].type;
		add_exit(KVM_EXIT_INTR);
		vcpu_run(&v);
		assert_stopped(events[i].why, 1);
	}
}

/* KVM_EXIT_INTR (a signal came while in the guest) only re-enters it. */
static void test_intr(void **state)
{
	(void)state;
	add_exit(KVM_EXIT_INTR);
	add_exit(KVM_EXIT_INTR);
	run_script();
	assert_no_stop();
}

/* Exits bulwark does not handle stop the VM on error at once: HLT (the in-kernel LAPIC
 * handles it, so it never reaches us), entry failures, internal errors, unknown reasons. */
static void test_unhandled_exits(void **state)
{
	const uint32_t reasons[] = {
	    KVM_EXIT_HLT,   KVM_EXIT_FAIL_ENTRY, KVM_EXIT_INTERNAL_ERROR,  KVM_EXIT_UNKNOWN,
	    KVM_EXIT_DEBUG, KVM_EXIT_EXCEPTION,	 KVM_EXIT_IRQ_WINDOW_OPEN, 0xdead};

	(void)state;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		memset(&vm, 0, sizeof(vm));
		nscript = 0;
		fk.runs = 0;
		add_exit(reasons[i]);
		add_exit(KVM_EXIT_INTR);
		vcpu_run(&v);
		assert_stopped(VCPU_STOP_ERROR, 1);
	}
}

/* KVM_RUN interrupted (EINTR: a kick or another signal) or asked to retry (EAGAIN) goes on. */
static void test_run_eintr_eagain(void **state)
{
	const uint8_t b = 0x5a;

	(void)state;
	add_errno(EINTR);
	add_errno(EAGAIN);
	add_io(KVM_EXIT_IO_OUT, 1, 0x80, 1, &b);
	run_script();
	assert_no_stop();
	assert_int_equal(vm.npio, 1); /* the exit after them was still served */
}

/* Any other KVM_RUN error stops the VM on error, without a second try. */
static void test_run_fails(void **state)
{
	const int errs[] = {EFAULT, ENOEXEC, EINVAL, EIO};

	(void)state;
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		memset(&vm, 0, sizeof(vm));
		nscript = 0;
		fk.runs = 0;
		add_errno(errs[i]);
		add_exit(KVM_EXIT_INTR);
		vcpu_run(&v);
		assert_stopped(VCPU_STOP_ERROR, 1);
	}
}

/* A VM already stopping (another vCPU failed, a signal) is not entered at all. */
static void test_stopping_first(void **state)
{
	(void)state;
	add_exit(KVM_EXIT_INTR);
	vm.stopping = true;
	vcpu_run(&v);
	assert_int_equal(fk.runs, 0);
	assert_int_equal(vm.nstops, 0);
}

/* KVM_RUN as a guest that never exits: it returns EINTR only once immediate_exit is set, as
 * KVM does for a vCPU kicked before or during KVM_RUN; gives up after two seconds. */
static bool kicked;

static int spin_until_kicked(struct kvm_run *run, unsigned n)
{
	(void)n;
	for (int i = 0; i < 2000 && !__atomic_load_n(&run->immediate_exit, __ATOMIC_ACQUIRE); i++)
		usleep(1000); /* the kick's signal cuts this short */
	kicked = __atomic_load_n(&run->immediate_exit, __ATOMIC_ACQUIRE);
	errno = EINTR;
	return -1;
}

static void *run_thread(void *arg)
{
	vcpu_run(arg);
	return NULL;
}

/* vcpu_kick gets a vCPU out of KVM_RUN once the VM is stopping, and vcpu_join waits for it.
 * The thread is started here, not by vcpu_start: its seccomp confinement is the sandbox tests'. */
static void test_kick(void **state)
{
	(void)state;
	assert_int_equal(vcpu_init_signals(), 0);
	kicked = false;
	fk.run_fn = spin_until_kicked;
	assert_int_equal(pthread_create(&v.thread, NULL, run_thread, &v), 0);
	v.started = true;
	while (__atomic_load_n(&fk.runs, __ATOMIC_ACQUIRE) == 0)
		usleep(1000);
	__atomic_store_n(&vm.stopping, true, __ATOMIC_RELEASE); /* as vm_request_stop does first */
	vcpu_kick(&v);
	vcpu_join(&v);
	assert_true(kicked);
	assert_false(v.started);
	assert_int_equal(fk.runs, 1);
	assert_int_equal(vm.nstops, 0);
}

/* A vCPU whose thread never started: kicking and joining it do nothing. */
static void test_kick_unstarted(void **state)
{
	(void)state;
	vcpu_kick(&v);
	vcpu_join(&v);
	assert_int_equal(v.run->immediate_exit, 0);
	assert_false(v.started);
}

/* vcpu_destroy unmaps and closes, and a second call finds nothing left to release. */
static void test_destroy(void **state)
{
	int fd = v.fd;

	(void)state;
	vcpu_destroy(&v);
	assert_false(fk_fd_open(fd));
	assert_int_equal(v.fd, -1);
	assert_null(v.run);
	vcpu_destroy(&v);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_shutdown),
	    T(test_system_events),
	    T(test_intr),
	    T(test_unhandled_exits),
	    T(test_run_eintr_eagain),
	    T(test_run_fails),
	    T(test_stopping_first),
	    T(test_kick),
	    T(test_kick_unstarted),
	    T(test_destroy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
