/* test_machine.c: what machined is told, and when bulwark does not tell it at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "host/machine.h"

/* The VM's taps by ifindex; one that does not exist is left out, not refused. */
static void taps_become_ifindexes(void **state)
{
	const char *const taps[] = {"lo", "no-such-tap0", "lo"};
	struct machine_info mi;

	(void)state;
	assert_int_equal(machine_info_init(&mi, "web-01", 42, taps, 3), 0);
	assert_string_equal(mi.name, "web-01");
	assert_int_equal(mi.leader, 42);
	assert_int_equal(mi.n_ifindex, 2);
	assert_int_equal(mi.ifindex[0], 1); /* lo is always 1 */
	assert_int_equal(mi.ifindex[1], 1);
}

/* No systemd (its runtime folder missing): nothing to register with, and no bus is touched. */
static void no_systemd_no_registration(void **state)
{
	struct bw_error err = {.kind = BW_ERR_NONE};
	struct machine_info mi;

	(void)state;
	machine_info_init(&mi, "a", 1, NULL, 0);
	setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus", 1);
	assert_int_equal(machine_register(&mi, "/nonexistent/run/systemd/system", &err),
			 MACHINE_NO_MACHINED);
	assert_int_equal(err.kind, BW_ERR_NONE);
}

/* systemd here but no bus to reach machined by: a warning's worth, naming what is lost. */
static void unreachable_bus_is_an_error(void **state)
{
	struct bw_error err = {.kind = BW_ERR_NONE};
	struct machine_info mi;
	int r;

	(void)state;
	machine_info_init(&mi, "a", 1, NULL, 0);
	setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus", 1);
	r = machine_register(&mi, "/", &err);
	if (r == MACHINE_NO_MACHINED) /* not root: never asks */
		skip();
	assert_int_equal(r, -1);
	assert_int_equal(err.kind, BW_ERR_HOST);
	assert_non_null(strstr(err.msg, "machined: cannot reach the system bus"));
	assert_non_null(strstr(err.msg, "not listed by machinectl"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(taps_become_ifindexes),
	    cmocka_unit_test(no_systemd_no_registration),
	    cmocka_unit_test(unreachable_bus_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
