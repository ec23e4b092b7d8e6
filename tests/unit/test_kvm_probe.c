/* test_kvm_probe.c: the KVM probe against a pretend KVM: each way a KVM can fail to run a guest,
 * the timer's kick, the SIGKILL after it, and what the messages say. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake_kvm.h"
#include "kvm/kvm_probe.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#define BOUND_MS 100

static int dev = -1;

static int setup(void **state)
{
	(void)state;
	dev = open("/dev/null", O_RDWR | O_CLOEXEC);
	fake_kvm_mode = FAKE_RAN;
	return dev < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	close(dev);
	return 0;
}

static unsigned ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* A KVM that runs guests: the probe passes, with the guest's answer checked. */
static void test_ran(void **state)
{
	struct kvm_probe p;
	char line[512];

	(void)state;
	assert_int_equal(kvm_probe_run(dev, BOUND_MS, &p), 0);
	assert_int_equal(p.verdict, KVM_PROBE_RAN);
	assert_true(p.total_us >= p.run_us);
	kvm_probe_describe(&p, "kvm_amd", BOUND_MS, line, sizeof(line));
	assert_non_null(strstr(line, "/dev/kvm (kvm_amd) ran a test guest to its I/O exit"));
	assert_string_equal(kvm_probe_fix(&p, "kvm_amd"), "");
}

/* The guest runs from where the probe put it: real mode at 0:0x1000, where its code is. A
 * reset-state CS (base 0xffff0000) would run off into nothing and fail the probe. */
static void test_setup_as_expected(void **state)
{
	struct kvm_probe p;

	(void)state;
	fake_kvm_mode = FAKE_RAN;
	assert_int_equal(kvm_probe_run(dev, BOUND_MS, &p), 0);
	/* All of it happened in the child: the caller made no KVM call and holds no VM. */
	assert_null(fake_kvm_ram);
	assert_null(fake_kvm_run);
}

/* Another value at the port: the guest did not compute what it was given (the add was lost). */
static void test_wrong_value(void **state)
{
	struct kvm_probe p;
	char line[512];

	(void)state;
	fake_kvm_mode = FAKE_WRONG_VALUE;
	assert_int_equal(kvm_probe_run(dev, BOUND_MS, &p), -1);
	assert_int_equal(p.verdict, KVM_PROBE_WRONG_EXIT);
	assert_int_equal(p.io_value, 0x1234);
	assert_int_equal(p.io_port, 0xe9);
	kvm_probe_describe(&p, "kvm_intel", BOUND_MS, line, sizeof(line));
	assert_non_null(strstr(line, "wrote 0x1234 to port 0xe9, expected 0x2345"));
}

/* A triple fault instead of the I/O exit: named. */
static void test_shutdown(void **state)
{
	struct kvm_probe p;
	char line[512];

	(void)state;
	fake_kvm_mode = FAKE_SHUTDOWN;
	assert_int_equal(kvm_probe_run(dev, BOUND_MS, &p), -1);
	assert_int_equal(p.verdict, KVM_PROBE_WRONG_EXIT);
	assert_int_equal(p.exit_reason, KVM_EXIT_SHUTDOWN);
	kvm_probe_describe(&p, "", BOUND_MS, line, sizeof(line));
	assert_non_null(strstr(line, "stopped with KVM_EXIT_SHUTDOWN"));
}

/* kvm_pvm's behaviour: KVM_RUN makes no progress. The timer kicks it out at the bound. */
static void test_spin_kicked(void **state)
{
	struct timespec t0;
	struct kvm_probe p;
	char line[512];

	(void)state;
	fake_kvm_mode = FAKE_SPIN;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(kvm_probe_run(dev, BOUND_MS, &p), -1);
	assert_int_equal(p.verdict, KVM_PROBE_STUCK);
	assert_false(p.unkillable);
	assert_true(p.run_us >= BOUND_MS * 1000);
	/* The child answered itself: no grace period, no SIGKILL. */
	assert_true(ms_since(&t0) < BOUND_MS + 900);
	kvm_probe_describe(&p, "kvm_pvm", BOUND_MS, line, sizeof(line));
	assert_string_equal(line, "/dev/kvm is served by kvm_pvm, which runs only guest kernels "
				  "built for PVM: a test guest made no progress in 100 ms");
	assert_non_null(strstr(kvm_probe_fix(&p, "kvm_pvm"), "kvm_intel or kvm_amd"));
	kvm_probe_describe(&p, "kvm_intel", BOUND_MS, line, sizeof(line));
	assert_non_null(strstr(line, "/dev/kvm (kvm_intel) cannot run guests"));
	assert_non_null(strstr(kvm_probe_fix(&p, "kvm_intel"), "nested"));
}

/* A KVM_RUN that no kick gets out of: the caller kills the child and still answers. */
static void test_deaf_killed(void **state)
{
	struct timespec t0;
	struct kvm_probe p;

	(void)state;
	fake_kvm_mode = FAKE_DEAF;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(kvm_probe_run(dev, BOUND_MS, &p), -1);
	assert_int_equal(p.verdict, KVM_PROBE_STUCK);
	assert_false(p.unkillable);
	assert_true(ms_since(&t0) >= BOUND_MS);
	assert_true(ms_since(&t0) < BOUND_MS + 3000);
}

/* The probe's process dies without an answer: a failure, not a hang or a pass. */
static void test_child_dies(void **state)
{
	struct kvm_probe p;
	char line[512];

	(void)state;
	fake_kvm_mode = FAKE_DIES;
	assert_int_equal(kvm_probe_run(dev, BOUND_MS, &p), -1);
	assert_int_equal(p.verdict, KVM_PROBE_FAILED);
	kvm_probe_describe(&p, "kvm_amd", BOUND_MS, line, sizeof(line));
	assert_non_null(strstr(line, "the probe's process (status 0x300) failed"));
}

/* A KVM call the probe needs fails: named, with errno. */
static void test_create_vm_fails(void **state)
{
	struct kvm_probe p;
	char line[512];

	(void)state;
	fake_kvm_mode = FAKE_NO_VM;
	assert_int_equal(kvm_probe_run(dev, BOUND_MS, &p), -1);
	assert_int_equal(p.verdict, KVM_PROBE_FAILED);
	assert_string_equal(p.step, "KVM_CREATE_VM");
	assert_int_equal(p.err, EINVAL);
	kvm_probe_describe(&p, "kvm_amd", BOUND_MS, line, sizeof(line));
	assert_string_equal(line, "/dev/kvm (kvm_amd) cannot run guests: KVM_CREATE_VM failed: "
				  "Invalid argument");
}

/* The vendor modules, as /sys/module lists them. */
static void test_vendor_modules(void **state)
{
	char dir[] = "/tmp/bulwark-mod.XXXXXX", path[64], buf[64], cmd[96];

	(void)state;
	assert_non_null(mkdtemp(dir));
	kvm_vendor_modules(dir, buf, sizeof(buf));
	assert_string_equal(buf, "");
	snprintf(path, sizeof(path), "%s/kvm_pvm", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	kvm_vendor_modules(dir, buf, sizeof(buf));
	assert_string_equal(buf, "kvm_pvm");
	snprintf(path, sizeof(path), "%s/kvm_intel", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	kvm_vendor_modules(dir, buf, sizeof(buf));
	assert_string_equal(buf, "kvm_intel or kvm_pvm");
	/* With both, the PVM advice still applies. */
	assert_non_null(strstr(kvm_probe_fix(&(struct kvm_probe){.verdict = KVM_PROBE_STUCK}, buf),
			       "kvm_intel or kvm_amd serves"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_exit_names(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(kvm_exit_name(KVM_EXIT_FAIL_ENTRY, buf, sizeof(buf)),
			    "KVM_EXIT_FAIL_ENTRY");
	assert_string_equal(kvm_exit_name(999, buf, sizeof(buf)), "KVM exit 999");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ran, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_setup_as_expected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_value, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spin_kicked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deaf_killed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_child_dies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_vm_fails, setup, teardown),
	    cmocka_unit_test(test_vendor_modules),
	    cmocka_unit_test(test_exit_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
