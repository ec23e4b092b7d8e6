/* test_serial_irq.c: the 16550A UART's interrupts, loopback, FIFO control and the "FIFO drained"
 * wake-up of the input side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "serial_fixture.h"

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

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(irq_rdi_follows_data),
	    T(irq_rdi_lowered_by_disabling),
	    T(irq_thri_on_enable_cleared_by_iir),
	    T(irq_rdi_before_thri),
	    T(loopback_routes_thr_to_rx),
	    T(loopback_msr_mirrors_mcr),
	    T(fcr_clears_rx_and_sets_iir_fifo_bits),
	    T(fcr_clear_of_full_fifo_wakes_input),
	    T(drained_eventfd_on_full_to_not_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
