/* test_stop_requests.c: the ways a VM is asked to stop: the i8042 reset, ACPI poweroff and the
 * console's escape key (Ctrl-A x). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "devices/acpi_pm.h"
#include "devices/i8042.h"
#include "vmm/console.h"

/* i8042 */
static int resets;
static void count_reset(void *opaque)
{
	(void)opaque;
	resets++;
}

static void i8042_reset_command(void **state)
{
	struct i8042 k = {count_reset, NULL};
	uint8_t v = I8042_CMD_RESET;

	(void)state;
	resets = 0;
	i8042_cmd_io(&k, 0, &v, 1, true);
	assert_int_equal(resets, 1);
}

static void i8042_other_commands_ignored(void **state)
{
	struct i8042 k = {count_reset, NULL};
	static const uint8_t cmds[] = {0x00, 0x20, 0x60, 0xaa, 0xad, 0xd1, 0xf0, 0xfd, 0xff};
	uint8_t v;

	(void)state;
	resets = 0;
	for (size_t i = 0; i < sizeof(cmds); i++) {
		v = cmds[i];
		i8042_cmd_io(&k, 0, &v, 1, true);
	}
	assert_int_equal(resets, 0);
	/* 0xfe on the data port is a keyboard byte, not a controller command. */
	v = I8042_CMD_RESET;
	i8042_data_io(&k, 0, &v, 1, true);
	assert_int_equal(resets, 0);
}

static void i8042_status_and_data_read_zero(void **state)
{
	struct i8042 k = {count_reset, NULL};
	uint8_t v[4];

	(void)state;
	memset(v, 0xff, sizeof(v));
	i8042_cmd_io(&k, 0, v, 4, false);
	assert_memory_equal(v, "\0\0\0\0", 4);
	memset(v, 0xff, sizeof(v));
	i8042_data_io(&k, 0, v, 1, false);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], 0xff);
}

static void i8042_reset_without_callback(void **state)
{
	struct i8042 k = {NULL, NULL};
	uint8_t v = I8042_CMD_RESET;

	(void)state;
	i8042_cmd_io(&k, 0, &v, 1, true); /* must not crash */
}

/* ACPI sleep control */
static int poweroffs;
static void count_poweroff(void *opaque)
{
	(void)opaque;
	poweroffs++;
}

static void acpi_s5_with_slp_en_powers_off(void **state)
{
	struct acpi_pm pm = {count_poweroff, NULL, 0};
	uint8_t v = (5 << 2) | 0x20;

	(void)state;
	poweroffs = 0;
	acpi_pm_io(&pm, 0, &v, 1, true);
	assert_int_equal(poweroffs, 1);
	assert_int_equal(pm.ignored, 0);
}

static void acpi_without_slp_en_ignored(void **state)
{
	struct acpi_pm pm = {count_poweroff, NULL, 0};
	uint8_t v = 5 << 2;

	(void)state;
	poweroffs = 0;
	acpi_pm_io(&pm, 0, &v, 1, true);
	assert_int_equal(poweroffs, 0);
	v = 0x20; /* S0 */
	acpi_pm_io(&pm, 0, &v, 1, true);
	assert_int_equal(poweroffs, 0);
}

static void acpi_other_sleep_types_ignored(void **state)
{
	struct acpi_pm pm = {count_poweroff, NULL, 0};

	(void)state;
	poweroffs = 0;
	for (uint8_t t = 0; t < 8; t++) {
		uint8_t v = (uint8_t)((t << 2) | 0x20);

		if (t != 5)
			acpi_pm_io(&pm, 0, &v, 1, true);
	}
	assert_int_equal(poweroffs, 0);
	assert_int_equal(pm.ignored, 7);
}

static void acpi_status_port_writes_ignored(void **state)
{
	struct acpi_pm pm = {count_poweroff, NULL, 0};
	uint8_t v = (5 << 2) | 0x20;

	(void)state;
	poweroffs = 0;
	acpi_pm_io(&pm, 1, &v, 1, true);
	assert_int_equal(poweroffs, 0);
	assert_int_equal(pm.ignored, 0);
}

static void acpi_reads_zero(void **state)
{
	struct acpi_pm pm = {count_poweroff, NULL, 0};
	uint8_t v[2] = {0xff, 0xff};

	(void)state;
	poweroffs = 0;
	acpi_pm_io(&pm, 0, v, 2, false);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], 0);
	v[0] = (5 << 2) | 0x20; /* a read of a value that looks like S5 is still a read */
	acpi_pm_io(&pm, 1, v, 1, false);
	assert_int_equal(v[0], 0);
	assert_int_equal(poweroffs, 0);
}

static void acpi_poweroff_without_callback(void **state)
{
	struct acpi_pm pm = {NULL, NULL, 0};
	uint8_t v = (5 << 2) | 0x20;

	(void)state;
	acpi_pm_io(&pm, 0, &v, 1, true); /* must not crash */
	assert_int_equal(pm.ignored, 0);
}

/* Console escape key */
static size_t filter(struct console *c, const char *in, size_t n, uint8_t *out, bool *quit)
{
	size_t o = console_filter(c, (const uint8_t *)in, n, out, quit);

	assert_true(o <= n);
	return o;
}

static void console_plain_bytes_pass(void **state)
{
	struct console c = {0};
	uint8_t out[16];
	bool quit = true;

	(void)state;
	assert_int_equal(filter(&c, "ls -l\r\x03\x18", 8, out, &quit), 8);
	assert_memory_equal(out, "ls -l\r\x03\x18", 8);
	assert_false(quit);
	assert_int_equal(filter(&c, "", 0, out, &quit), 0);
	assert_false(quit);
}

static void console_ctrl_a_x_quits(void **state)
{
	struct console c = {0};
	uint8_t out[16];
	bool quit = false;

	(void)state;
	assert_int_equal(filter(&c, "ab\x01xcd", 6, out, &quit), 2);
	assert_true(quit);
	assert_memory_equal(out, "ab", 2);
	/* Ctrl-A Ctrl-X works too, for fingers still on Ctrl. */
	quit = false;
	assert_int_equal(filter(&c, "\x01\x18", 2, out, &quit), 0);
	assert_true(quit);
}

static void console_ctrl_a_twice_sends_one(void **state)
{
	struct console c = {0};
	uint8_t out[16];
	bool quit = true;

	(void)state;
	assert_int_equal(filter(&c, "\x01\x01x", 3, out, &quit), 2);
	assert_false(quit);
	assert_memory_equal(out, "\x01x", 2);
	/* Ctrl-A followed by anything else passes that byte on. */
	assert_int_equal(filter(&c,
				"\x01"
				"c",
				2, out, &quit),
			 1);
	assert_int_equal(out[0], 'c');
	assert_false(quit);
}

static void console_escape_split_across_reads(void **state)
{
	struct console c = {0};
	uint8_t out[16];
	bool quit = true;

	(void)state;
	assert_int_equal(filter(&c, "hi\x01", 3, out, &quit), 2);
	assert_false(quit);
	assert_int_equal(filter(&c, "x", 1, out, &quit), 0);
	assert_true(quit);
	/* Split Ctrl-A Ctrl-A. */
	assert_int_equal(filter(&c, "\x01", 1, out, &quit), 0);
	assert_false(quit);
	assert_int_equal(filter(&c, "\x01", 1, out, &quit), 1);
	assert_int_equal(out[0], 0x01);
	assert_false(quit);
	/* The escape was consumed: a later 'x' is just an 'x'. */
	assert_int_equal(filter(&c, "x", 1, out, &quit), 1);
	assert_int_equal(out[0], 'x');
	assert_false(quit);
}

static void console_init_leaves_non_tty_alone(void **state)
{
	struct console c;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	memset(&c, 0xff, sizeof(c));
	assert_int_equal(console_init(&c, p[0]), 0);
	assert_int_equal(c.in_fd, p[0]);
	assert_false(c.interactive);
	assert_false(c.escape);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(i8042_reset_command),
	    cmocka_unit_test(i8042_other_commands_ignored),
	    cmocka_unit_test(i8042_status_and_data_read_zero),
	    cmocka_unit_test(i8042_reset_without_callback),
	    cmocka_unit_test(acpi_s5_with_slp_en_powers_off),
	    cmocka_unit_test(acpi_without_slp_en_ignored),
	    cmocka_unit_test(acpi_other_sleep_types_ignored),
	    cmocka_unit_test(acpi_status_port_writes_ignored),
	    cmocka_unit_test(acpi_reads_zero),
	    cmocka_unit_test(acpi_poweroff_without_callback),
	    cmocka_unit_test(console_plain_bytes_pass),
	    cmocka_unit_test(console_ctrl_a_x_quits),
	    cmocka_unit_test(console_ctrl_a_twice_sends_one),
	    cmocka_unit_test(console_escape_split_across_reads),
	    cmocka_unit_test(console_init_leaves_non_tty_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
