/* test_seccomp.c: the embedded allowlists compile and stay small; bad lists are refused with a
 * place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "devices/virtio_blk.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "policy/seccomp_policy.h"
#include "sandbox/seccomp.h"
#include "util/bytes.h"

static struct seccomp_list list;
static char err[SECCOMP_ERR_MAX];
static struct bw_error prep_err;

static int parse(const char *text)
{
	return seccomp_list_parse("t.yaml", text, strlen(text), &list, err);
}

/* Whether the last error starts with PLACE and mentions WHAT. */
static void assert_error(const char *place, const char *what)
{
	if (strncmp(err, place, strlen(place)) != 0 || !strstr(err, what))
		fail_msg("error '%s': expected it at %s, mentioning '%s'", err, place, what);
}

static void every_kind_compiles_in_both_modes(void **state)
{
	(void)state;
	assert_int_equal(seccomp_prepare(POLICY_SECCOMP_KILL, &prep_err), 0);
	assert_true(seccomp_prepared());
	assert_int_equal(seccomp_prepare(POLICY_SECCOMP_LOG, &prep_err), 0);
	seccomp_free_filters();
	assert_false(seccomp_prepared());
}

/* Counts per kind from seccomp_print_allowlists' header lines. */
static unsigned count_of(const char *listing, const char *kind)
{
	char head[64];
	const char *at;

	snprintf(head, sizeof(head), "seccomp %s: ", kind);
	at = strstr(listing, head);
	if (!at) {
		fail_msg("no '%s' in the listing", head);
		return 0;
	}
	return (unsigned)strtoul(at + strlen(head), NULL, 10);
}

static void listing_names_every_kind_and_beats_firecracker(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(seccomp_print_allowlists(f), 0);
	fclose(f);
	for (int k = 0; k < SANDBOX_KINDS; k++)
		assert_true(count_of(buf, sandbox_kind_name((enum sandbox_kind)k)) > 0);
	/* Firecracker allows its vmm thread 50 syscalls and its vCPU threads 27. */
	assert_true(count_of(buf, "vmm") < 50);
	assert_true(count_of(buf, "vcpu") < 27);
	/* The ioctl on vCPU threads is narrowed to a request, compared on 32 bits. */
	assert_non_null(strstr(buf, "ioctl if arg1 & 0xffffffff == KVM_RUN"));
	/* The listing says which fds a call is pinned to, conditions first: a vCPU writes no
	 * tap, image or stdout. */
	assert_non_null(strstr(buf, "  write if fd in {stderr, stop, uart-drained, wake, notify, "
				    "irq, console-wake}  # "));
	assert_non_null(strstr(buf, "  pidfd_send_signal if arg1 == SIGTERM && fd in {pidfd}  # "));
	free(buf);
}

static void device_kinds_map(void **state)
{
	(void)state;
	assert_int_equal(virtio_blk_ops.kind, SANDBOX_VIRTIO_BLK);
	assert_int_equal(virtio_net_ops.kind, SANDBOX_VIRTIO_NET);
	assert_int_equal(virtio_rng_ops.kind, SANDBOX_VIRTIO_RNG);
	assert_string_equal(sandbox_kind_name(SANDBOX_VIRTIO_RNG), "virtio-rng");
	assert_string_equal(sandbox_kind_name(SANDBOX_KINDS), "unknown");
}

static void good_list_parses(void **state)
{
	(void)state;
	assert_int_equal(
	    parse("# a comment\n"
		  "syscalls:\n"
		  "  - name: ioctl\n"
		  "    why: run\n"
		  "    args:\n"
		  "      - {arg: 1, op: masked_eq, mask: 0xffffffff, value: KVM_RUN}\n"
		  "  - {name: ioctl, why: irq, args: [{arg: 1, op: eq, value: 44660}]}\n"
		  "  - {name: futex, why: locks, args: [{arg: 1, op: eq, value: "
		  "FUTEX_WAIT|FUTEX_PRIVATE_FLAG}]}\n"
		  "  - {name: write, why: out}\n"),
	    0);
	assert_int_equal(list.n, 4);
	assert_int_equal(list.nsyscalls, 3);
	assert_int_equal(list.rule[0].nr, SYS_ioctl);
	assert_int_equal(list.rule[0].cond[0].value, KVM_RUN);
	assert_int_equal(list.rule[0].cond[0].mask, 0xffffffffULL);
	assert_int_equal(list.rule[1].cond[0].value, 44660);
	assert_int_equal(list.rule[2].cond[0].value, 128);
	assert_string_equal(list.rule[0].cond[0].shown, "arg1 & 0xffffffff == KVM_RUN");
	assert_int_equal(list.rule[3].ncond, 0);
}

static void unknown_syscall_refused_with_place(void **state)
{
	(void)state;
	assert_int_equal(
	    parse("syscalls:\n  - {name: write, why: a}\n  - {name: no_such_call, why: b}\n"), -1);
	assert_error("t.yaml:3:12:", "unknown syscall 'no_such_call'");
	/* socketcall exists on i386 only: libseccomp's pseudo-number is refused too. */
	assert_int_equal(parse("syscalls:\n  - {name: socketcall, why: a}\n"), -1);
	assert_error("t.yaml:2:", "unknown syscall 'socketcall'");
}

static void bad_conditions_refused(void **state)
{
	static const struct {
		const char *text, *place, *what;
	} bad[] = {
	    {"syscalls:\n  - {name: ioctl, why: a, args: [{arg: 6, op: eq, value: 1}]}\n",
	     "t.yaml:2:", "arg: expected 0 to 5"},
	    {"syscalls:\n  - {name: ioctl, why: a, args: [{arg: 1, op: like, value: 1}]}\n",
	     "t.yaml:2:", "op: expected"},
	    {"syscalls:\n  - {name: ioctl, why: a, args: [{arg: 1, op: eq, value: KVM_NOPE}]}\n",
	     "t.yaml:2:", "unknown constant or bad number 'KVM_NOPE'"},
	    {"syscalls:\n  - {name: ioctl, why: a, args: [{arg: 1, op: eq, value: 12x}]}\n",
	     "t.yaml:2:", "bad number '12x'"},
	    {"syscalls:\n  - {name: ioctl, why: a, args: [{arg: 1, op: eq, value: 1, mask: 3}]}\n",
	     "t.yaml:2:", "mask goes with op masked_eq"},
	    {"syscalls:\n  - {name: ioctl, why: a, args: [{arg: 1, op: masked_eq, value: 1}]}\n",
	     "t.yaml:2:", "mask goes with op masked_eq"},
	    {"syscalls:\n  - {name: ioctl, why: a, args: [{arg: 1, value: 1}]}\n",
	     "t.yaml:2:", "needs arg, op and value"},
	    {"syscalls:\n  - {name: ioctl, why: a, args: [{arg: 1, op: eq, value: 1, size: 4}]}\n",
	     "t.yaml:2:", "unknown key 'size'"},
	    {"syscalls:\n  - {name: ioctl, why: a, args: [{arg: 1, op: eq, value: 1}, {arg: 1, op: "
	     "eq, value: 1}, {arg: 1, op: eq, value: 1}, {arg: 1, op: eq, value: 1}]}\n",
	     "t.yaml:2:", "at most 3 conditions"},
	    {"syscalls:\n  - {name: write}\n", "t.yaml:2:", "says why"},
	    {"syscalls:\n  - {why: a}\n", "t.yaml:2:", "needs a name"},
	    {"syscalls:\n  - {name: write, why: a, allow: yes}\n",
	     "t.yaml:2:", "unknown key 'allow'"},
	    {"syscall:\n  - {name: write, why: a}\n", "t.yaml:1:1:", "unknown key 'syscall'"},
	    {"syscalls: write\n", "t.yaml:1:11:", "expected a list"},
	    {"syscalls: [\n", "t.yaml:", "did not find expected node content"},
	    {"syscalls:\n  - {name: write, why: a, fds: [stderr, socket]}\n",
	     "t.yaml:2:", "unknown fd role 'socket'"},
	    {"syscalls:\n  - {name: write, why: a, fds: []}\n",
	     "t.yaml:2:", "expected a list of fd roles"},
	    {"syscalls:\n  - {name: write, why: a, fds: [tap], args: [{arg: 0, op: eq, value: "
	     "3}]}\n",
	     "t.yaml:2:", "fds: pins arg0 already"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (parse(bad[i].text) != -1)
			fail_msg("accepted: %s", bad[i].text);
		assert_error(bad[i].place, bad[i].what);
	}
}

static void constants_are_known_by_name(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(seccomp_constant("KVM_RUN", &v), 0);
	assert_int_equal(v, KVM_RUN);
	assert_int_equal(seccomp_constant("KVM_RUNX", &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_kind_compiles_in_both_modes),
	    cmocka_unit_test(listing_names_every_kind_and_beats_firecracker),
	    cmocka_unit_test(device_kinds_map),
	    cmocka_unit_test(good_list_parses),
	    cmocka_unit_test(unknown_syscall_refused_with_place),
	    cmocka_unit_test(bad_conditions_refused),
	    cmocka_unit_test(constants_are_known_by_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
