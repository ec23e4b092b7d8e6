/* serial.h: a 16550A UART: guest output into the console's ring, input through a bounded FIFO. */
#ifndef BULWARK_SERIAL_H
#define BULWARK_SERIAL_H

#include "devices/console_out.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_PORT_COM1 0x3f8
#define SERIAL_IRQ_COM1 4
#define SERIAL_NPORTS 8
#define SERIAL_RX_FIFO 64 /* a 16550A has 16; a little more smooths pasted input, and it is fixed */

typedef void (*serial_irq_fn)(void *opaque, int level);

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thr_int; /* a "transmitter empty" interrupt is pending */
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned rx_head, rx_count;
	struct console_out *out; /* guest output goes here (never waits); NULL discards it */
	int drained_fd;		 /* eventfd written when the guest frees FIFO room; -1 for none */
	serial_irq_fn set_irq;
	void *irq_opaque;
	int irq_level;
};

void serial_init(struct serial *s, struct console_out *out, int drained_fd, serial_irq_fn set_irq,
		 void *irq_opaque);
void serial_destroy(struct serial *s);

/* The bus handler for the UART's eight ports. */
void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* Room left in the receive FIFO. */
size_t serial_rx_space(struct serial *s);

/* Queues host input for the guest; returns how many bytes fitted (never more than the room). */
size_t serial_rx_push(struct serial *s, const uint8_t *buf, size_t n);

#endif
