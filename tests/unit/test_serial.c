/* test_serial.c: the 16550A UART and its bounded FIFO, the i8042 reset, ACPI poweroff and the console escape key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/acpi_pm.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "util/bytes.h"
#include "vmm/console.h"

#define RBR 0 /* receive buffer / transmit holding; DLL with DLAB */
#define IER 1 /* DLM with DLAB */
#define IIR 2 /* FCR when written */
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

/* A UART whose output goes through the console's ring to a pipe, with an eventfd for "FIFO
 * drained" and an IRQ recorder. */
struct fixture {
	struct serial s;
	struct console_out con;
	int out[2];
	int drained;
	int irq_calls;
	int irq_level;
};

static void record_irq(void *opaque, int level)
{
	struct fixture *f = opaque;

	f->irq_calls++;
	f->irq_level = level;
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	if (pipe2(f.out, O_NONBLOCK | O_CLOEXEC))
		return -1;
	f.drained = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f.drained < 0)
		return -1;
	if (console_out_init(&f.con, f.out[1], false, false, -1, -1))
		return -1;
	serial_init(&f.s, &f.con, f.drained, record_irq, &f);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	serial_destroy(&f->s);
	console_out_close(&f->con);
	close(f->out[0]);
	if (f->out[1] >= 0)
		close(f->out[1]);
	close(f->drained);
	return 0;
}

static void wr(struct fixture *f, uint64_t reg, uint8_t v)
{
	serial_io(&f->s, reg, &v, 1, true);
}

static uint8_t rd(struct fixture *f, uint64_t reg)
{
	uint8_t v = 0xaa;

	serial_io(&f->s, reg, &v, 1, false);
	return v;
}

/* How many times the drained eventfd was written since the last call. */
static uint64_t drained_count(struct fixture *f)
{
	uint64_t n = 0;

	if (read(f->drained, &n, sizeof(n)) != sizeof(n)) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return n;
}

static void fill(struct fixture *f, size_t n, uint8_t first)
{
	uint8_t buf[SERIAL_RX_FIFO];

	assert_true(n <= sizeof(buf));
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(first + i);
	assert_int_equal(serial_rx_push(&f->s, buf, n), n);
}

static void output_goes_to_fd(void **state)
{
	struct fixture *f = *state;
	const char msg[] = "Linux version\r\n";
	char got[sizeof(msg)];

	for (size_t i = 0; i < sizeof(msg) - 1; i++)
		wr(f, RBR, (uint8_t)msg[i]);
	assert_int_equal(console_out_drain(&f->con), CONSOLE_WAIT_DATA);
	assert_int_equal(read(f->out[0], got, sizeof(got)), sizeof(msg) - 1);
	assert_memory_equal(got, msg, sizeof(msg) - 1);
	assert_int_equal(f->con.dropped[CONSOLE_DROP_STALLED], 0);
	/* Output never loops back into the guest's receive side. */
	assert_int_equal(rd(f, LSR) & 0x01, 0);
}

static void output_to_broken_pipe_is_lost_not_fatal(void **state)
{
	struct fixture *f = *state;

	signal(SIGPIPE, SIG_IGN);
	close(f->out[0]);
	f->out[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	wr(f, RBR, 'a');
	wr(f, RBR, 'b');
	assert_int_equal(console_out_drain(&f->con), CONSOLE_WAIT_DATA);
	assert_int_equal(f->con.dropped[CONSOLE_DROP_STALLED], 2);
	/* The transmitter still reports empty: the guest is never stalled. */
	assert_int_equal(rd(f, LSR) & 0x60, 0x60);
}

static void output_discarded_without_fd(void **state)
{
	struct fixture *f = *state;
	char c;

	f->s.out = NULL;
	wr(f, RBR, 'z');
	assert_int_equal(console_out_drain(&f->con), CONSOLE_WAIT_DATA);
	assert_int_equal(f->con.dropped[CONSOLE_DROP_STALLED], 0);
	assert_int_equal(read(f->out[0], &c, 1), -1);
	assert_int_equal(errno, EAGAIN);
}

/* The finding: stdout a blocking pipe whose reader stopped. Before, the 200000 bytes below hung
 * the vCPU in write(2) under the UART's lock; now the pipe and the ring fill, the rest is counted,
 * and the guest never waits (SIGALRM fails the test instead of hanging the suite). */
static void stalled_reader_never_blocks_the_vcpu(void **state)
{
	struct serial s;
	struct console_out con;
	int p[2], in_pipe = 0;
	const int total = 200000;
	uint8_t b = 'y', lsr = 0;

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(console_out_open(&con, p[1]), 0);
	serial_init(&s, &con, -1, NULL, NULL);
	alarm(20);
	for (int i = 0; i < total; i++) {
		serial_io(&s, RBR, &b, 1, true);
		if (i % 4096 == 0)
			(void)console_out_drain(&con); /* the main thread's part */
	}
	alarm(0);
	assert_int_equal(ioctl(p[0], FIONREAD, &in_pipe), 0);
	assert_int_equal(con.dropped[CONSOLE_DROP_STALLED], total - in_pipe - CONSOLE_OUT_RING);
	serial_io(&s, LSR, &lsr, 1, false);
	assert_int_equal(lsr & 0x60, 0x60); /* the transmitter still reports empty */
	serial_destroy(&s);
	console_out_close(&con);
	close(p[0]);
	close(p[1]);
}

static void lsr_transmitter_always_empty(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, LSR), 0x60);
	wr(f, RBR, 'x');
	assert_int_equal(rd(f, LSR), 0x60);
	fill(f, 1, 'q');
	assert_int_equal(rd(f, LSR), 0x61);
}

static void dlab_switches_to_divisor(void **state)
{
	struct fixture *f = *state;
	char c;

	wr(f, IER, 0x05);
	fill(f, 1, 'r');
	wr(f, LCR, 0x83);		  /* DLAB, 8N1 */
	assert_int_equal(rd(f, RBR), 12); /* 9600 baud, as firmware leaves it */
	assert_int_equal(rd(f, IER), 0);
	wr(f, RBR, 0x01); /* 115200 */
	wr(f, IER, 0x00);
	assert_int_equal(rd(f, RBR), 0x01);
	assert_int_equal(rd(f, IER), 0x00);
	/* Nothing was transmitted and the FIFO was not read. */
	assert_int_equal(read(f->out[0], &c, 1), -1);
	assert_int_equal(rd(f, LSR) & 0x01, 0x01);
	wr(f, LCR, 0x03);
	assert_int_equal(rd(f, IER), 0x05);
	assert_int_equal(rd(f, RBR), 'r');
	/* The divisor survives leaving DLAB. */
	wr(f, LCR, 0x83);
	assert_int_equal(rd(f, RBR), 0x01);
}

static void ier_keeps_low_nibble(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0xf0);
	assert_int_equal(rd(f, IER), 0);
	wr(f, IER, 0xff);
	assert_int_equal(rd(f, IER), 0x0f);
}

static void scratch_and_lcr_round_trip(void **state)
{
	struct fixture *f = *state;

	wr(f, SCR, 0x5a);
	wr(f, LCR, 0x1b);
	assert_int_equal(rd(f, SCR), 0x5a);
	assert_int_equal(rd(f, LCR), 0x1b);
}

static void rx_fifo_is_bounded(void **state)
{
	struct fixture *f = *state;
	uint8_t big[SERIAL_RX_FIFO * 4];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	assert_int_equal(serial_rx_space(&f->s), SERIAL_RX_FIFO);
	assert_int_equal(serial_rx_push(&f->s, big, sizeof(big)), SERIAL_RX_FIFO);
	assert_int_equal(serial_rx_space(&f->s), 0);
	assert_int_equal(f->s.rx_count, SERIAL_RX_FIFO);
	/* More input is refused, never buffered. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(serial_rx_push(&f->s, big, sizeof(big)), 0);
	assert_int_equal(f->s.rx_count, SERIAL_RX_FIFO);
	/* Loopback bytes cannot overfill it either. */
	wr(f, MCR, 0x10);
	wr(f, RBR, 0xee);
	assert_int_equal(f->s.rx_count, SERIAL_RX_FIFO);
	wr(f, MCR, 0x08);
	/* What is in it is the first SERIAL_RX_FIFO bytes, in order. */
	for (int i = 0; i < SERIAL_RX_FIFO; i++)
		assert_int_equal(rd(f, RBR), (uint8_t)i);
	assert_int_equal(serial_rx_space(&f->s), SERIAL_RX_FIFO);
}

static void rx_push_partial(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[20];

	memset(buf, 'k', sizeof(buf));
	fill(f, SERIAL_RX_FIFO - 5, 0);
	assert_int_equal(serial_rx_push(&f->s, buf, sizeof(buf)), 5);
	assert_int_equal(serial_rx_space(&f->s), 0);
	assert_int_equal(serial_rx_push(&f->s, buf, 0), 0);
}

static void rx_drains_in_order_with_dr(void **state)
{
	struct fixture *f = *state;

	fill(f, 3, 'a');
	assert_int_equal(rd(f, LSR) & 0x01, 0x01);
	assert_int_equal(rd(f, RBR), 'a');
	assert_int_equal(rd(f, RBR), 'b');
	assert_int_equal(rd(f, LSR) & 0x01, 0x01);
	assert_int_equal(rd(f, RBR), 'c');
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	/* An empty FIFO reads as 0 and stays empty. */
	assert_int_equal(rd(f, RBR), 0);
	assert_int_equal(serial_rx_space(&f->s), SERIAL_RX_FIFO);
}

static void rx_ring_wraps(void **state)
{
	struct fixture *f = *state;

	fill(f, 40, 0);
	for (int i = 0; i < 30; i++)
		assert_int_equal(rd(f, RBR), i);
	/* 10 left; 54 more wrap around the end of the ring. */
	fill(f, 54, 40);
	assert_int_equal(serial_rx_space(&f->s), 0);
	for (int i = 30; i < 94; i++)
		assert_int_equal(rd(f, RBR), i);
	assert_int_equal(rd(f, LSR) & 0x01, 0);
}

static void irq_rdi_follows_data(void **state)
{
	struct fixture *f = *state;

	fill(f, 2, 'x');
	assert_int_equal(f->irq_calls, 0); /* RDI not enabled */
	assert_int_equal(rd(f, IIR) & 0x0f, 0x01);
	wr(f, IER, 0x01);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(rd(f, IIR) & 0x0f, 0x04);
	rd(f, RBR);
	assert_int_equal(f->irq_level, 1); /* one byte still there */
	rd(f, RBR);
	assert_int_equal(f->irq_level, 0);
	assert_int_equal(rd(f, IIR) & 0x0f, 0x01);
	/* New data raises it again, straight from the host side. */
	fill(f, 1, 'y');
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(f->irq_calls, 3);
}

static void irq_rdi_lowered_by_disabling(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x01);
	fill(f, 1, 'x');
	assert_int_equal(f->irq_level, 1);
	wr(f, IER, 0x00);
	assert_int_equal(f->irq_level, 0);
}

static void irq_thri_on_enable_cleared_by_iir(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x02);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(rd(f, IIR) & 0x0f, 0x02);
	assert_int_equal(f->irq_level, 0);
	assert_int_equal(rd(f, IIR) & 0x0f, 0x01);
	/* Writing IER again with THRI still set does not re-raise it. */
	wr(f, IER, 0x02);
	assert_int_equal(f->irq_level, 0);
	/* Sending a byte empties the holding register again: THRE fires. */
	wr(f, RBR, 'o');
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(rd(f, IIR) & 0x0f, 0x02);
	assert_int_equal(f->irq_level, 0);
}

static void irq_rdi_before_thri(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x03);
	fill(f, 1, 'x');
	assert_int_equal(rd(f, IIR) & 0x0f, 0x04);
	/* The IIR read that reported RDI did not acknowledge THRE. */
	rd(f, RBR);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(rd(f, IIR) & 0x0f, 0x02);
	assert_int_equal(f->irq_level, 0);
}

static void loopback_routes_thr_to_rx(void **state)
{
	struct fixture *f = *state;
	char c;

	wr(f, MCR, 0x10 | 0x08);
	wr(f, RBR, 'L');
	console_out_drain(&f->con);
	assert_int_equal(read(f->out[0], &c, 1), -1); /* nothing left the UART */
	assert_int_equal(rd(f, LSR) & 0x01, 0x01);
	assert_int_equal(rd(f, RBR), 'L');
	wr(f, MCR, 0x08);
	wr(f, RBR, 'M');
	console_out_drain(&f->con);
	assert_int_equal(read(f->out[0], &c, 1), 1);
	assert_int_equal(c, 'M');
	assert_int_equal(rd(f, LSR) & 0x01, 0);
}

static void loopback_msr_mirrors_mcr(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, MSR), 0xb0); /* DCD, DSR, CTS: a cable is attached */
	wr(f, MCR, 0x10);
	assert_int_equal(rd(f, MSR), 0x00);
	wr(f, MCR, 0x10 | 0x01); /* DTR -> DSR */
	assert_int_equal(rd(f, MSR), 0x20);
	wr(f, MCR, 0x10 | 0x02); /* RTS -> CTS */
	assert_int_equal(rd(f, MSR), 0x10);
	wr(f, MCR, 0x10 | 0x04); /* OUT1 -> RI */
	assert_int_equal(rd(f, MSR), 0x40);
	wr(f, MCR, 0x10 | 0x08); /* OUT2 -> DCD */
	assert_int_equal(rd(f, MSR), 0x80);
	wr(f, MCR, 0xff);
	assert_int_equal(rd(f, MCR), 0x1f);
	assert_int_equal(rd(f, MSR), 0xf0);
}

static void fcr_clears_rx_and_sets_iir_fifo_bits(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, IIR), 0x01);
	wr(f, IIR, 0x01); /* FIFO enable */
	assert_int_equal(rd(f, IIR), 0xc1);
	fill(f, 10, 'a');
	wr(f, IER, 0x01);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(rd(f, IIR), 0xc4);
	wr(f, IIR, 0x03); /* enable + clear RX */
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(serial_rx_space(&f->s), SERIAL_RX_FIFO);
	assert_int_equal(f->irq_level, 0);
	assert_int_equal(rd(f, IIR), 0xc1);
	assert_int_equal(rd(f, RBR), 0);
	/* FIFO off again. */
	wr(f, IIR, 0x00);
	assert_int_equal(rd(f, IIR), 0x01);
}

static void fcr_clear_of_full_fifo_wakes_input(void **state)
{
	struct fixture *f = *state;

	fill(f, SERIAL_RX_FIFO, 0);
	assert_int_equal(drained_count(f), 0);
	/* The input side waits on the eventfd while the FIFO is full: clearing must wake it. */
	wr(f, IIR, 0x03);
	assert_int_equal(drained_count(f), 1);
	assert_int_equal(serial_rx_space(&f->s), SERIAL_RX_FIFO);
	/* Clearing a FIFO that was not full needs no wake-up. */
	fill(f, 5, 0);
	wr(f, IIR, 0x03);
	assert_int_equal(drained_count(f), 0);
}

static void drained_eventfd_on_full_to_not_full(void **state)
{
	struct fixture *f = *state;

	fill(f, SERIAL_RX_FIFO - 1, 0);
	rd(f, RBR);
	assert_int_equal(drained_count(f), 0); /* never full: nobody waits */
	fill(f, 2, 0);
	assert_int_equal(serial_rx_space(&f->s), 0);
	rd(f, RBR);
	assert_int_equal(drained_count(f), 1);
	rd(f, RBR);
	rd(f, RBR);
	assert_int_equal(drained_count(f), 0); /* only the transition */
	/* Without an eventfd nothing is written and nothing breaks. */
	f->s.drained_fd = -1;
	fill(f, 3, 0);
	assert_int_equal(serial_rx_space(&f->s), 0);
	rd(f, RBR);
	assert_int_equal(drained_count(f), 0);
}

static void out_of_range_offsets_ignored(void **state)
{
	struct fixture *f = *state;
	static const uint64_t bad[] = {SERIAL_NPORTS, SERIAL_NPORTS + 1, 0x100, UINT64_MAX};
	uint8_t v;
	char c;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 0xff;
		serial_io(&f->s, bad[i], &v, 1, true);
		v = 0x77;
		serial_io(&f->s, bad[i], &v, 1, false);
		assert_int_equal(v, 0x77);
	}
	assert_int_equal(rd(f, IER), 0);
	assert_int_equal(rd(f, LCR), 0);
	assert_int_equal(rd(f, MCR), 0x08);
	assert_int_equal(rd(f, SCR), 0);
	assert_int_equal(f->irq_calls, 0);
	assert_int_equal(read(f->out[0], &c, 1), -1);
	/* len 0 touches nothing either. */
	v = 0x77;
	serial_io(&f->s, LSR, &v, 0, false);
	assert_int_equal(v, 0x77);
}

static void wide_access_uses_first_byte(void **state)
{
	struct fixture *f = *state;
	uint8_t v[4] = {0xaa, 0xbb, 0xcc, 0xdd};
	uint8_t w[4] = {0x42, 0x43, 0x44, 0x45};

	serial_io(&f->s, LSR, v, 4, false);
	assert_int_equal(v[0], 0x60);
	assert_int_equal(v[1], 0);
	assert_int_equal(v[2], 0);
	assert_int_equal(v[3], 0);
	serial_io(&f->s, SCR, w, 4, true);
	assert_int_equal(rd(f, SCR), 0x42);
}

static void lsr_msr_read_only(void **state)
{
	struct fixture *f = *state;

	wr(f, LSR, 0x00);
	wr(f, MSR, 0x00);
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(rd(f, MSR), 0xb0);
}

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

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(output_goes_to_fd),
	    T(output_to_broken_pipe_is_lost_not_fatal),
	    T(output_discarded_without_fd),
	    cmocka_unit_test(stalled_reader_never_blocks_the_vcpu),
	    T(lsr_transmitter_always_empty),
	    T(dlab_switches_to_divisor),
	    T(ier_keeps_low_nibble),
	    T(scratch_and_lcr_round_trip),
	    T(rx_fifo_is_bounded),
	    T(rx_push_partial),
	    T(rx_drains_in_order_with_dr),
	    T(rx_ring_wraps),
	    T(irq_rdi_follows_data),
	    T(irq_rdi_lowered_by_disabling),
	    T(irq_thri_on_enable_cleared_by_iir),
	    T(irq_rdi_before_thri),
	    T(loopback_routes_thr_to_rx),
	    T(loopback_msr_mirrors_mcr),
	    T(fcr_clears_rx_and_sets_iir_fifo_bits),
	    T(fcr_clear_of_full_fifo_wakes_input),
	    T(drained_eventfd_on_full_to_not_full),
	    T(out_of_range_offsets_ignored),
	    T(wide_access_uses_first_byte),
	    T(lsr_msr_read_only),
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
