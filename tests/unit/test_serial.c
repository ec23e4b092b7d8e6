/* test_serial.c: the 16550A UART: output that never blocks the guest, its registers, the bounded
 * receive FIFO, and accesses out of range or of odd widths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "serial_fixture.h"
#include "util/bytes.h"

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
	    T(out_of_range_offsets_ignored),
	    T(wide_access_uses_first_byte),
	    T(lsr_msr_read_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
