/* serial_fixture.h: a 16550A UART for its unit tests, its output going through the console's ring
 * to a pipe, with an eventfd for "FIFO drained" and an IRQ recorder. Include after cmocka.h. */
#ifndef BULWARK_TEST_SERIAL_FIXTURE_H
#define BULWARK_TEST_SERIAL_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/serial.h"
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

static inline void record_irq(void *opaque, int level)
{
	struct fixture *f = opaque;

	f->irq_calls++;
	f->irq_level = level;
}

static inline int setup(void **state)
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

static inline int teardown(void **state)
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

static inline void wr(struct fixture *f, uint64_t reg, uint8_t v)
{
	serial_io(&f->s, reg, &v, 1, true);
}

static inline uint8_t rd(struct fixture *f, uint64_t reg)
{
	uint8_t v = 0xaa;

	serial_io(&f->s, reg, &v, 1, false);
	return v;
}

/* How many times the drained eventfd was written since the last call. */
static inline uint64_t drained_count(struct fixture *f)
{
	uint64_t n = 0;

	if (read(f->drained, &n, sizeof(n)) != sizeof(n)) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return n;
}

static inline void fill(struct fixture *f, size_t n, uint8_t first)
{
	uint8_t buf[SERIAL_RX_FIFO];

	assert_true(n <= sizeof(buf));
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(first + i);
	assert_int_equal(serial_rx_push(&f->s, buf, n), n);
}

#endif
