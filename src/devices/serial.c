/* serial.c: a 16550A UART: guest output into the console's ring, input through a bounded FIFO. */
#include "devices/serial.h"

#include <string.h>
#include <unistd.h>

/* Register offsets (DLAB clear unless noted) and the bits bulwark models. */
#define UART_RX 0  /* read: receive buffer; write: transmit holding */
#define UART_IER 1 /* DLAB: divisor latch high */
#define UART_IIR 2 /* read: interrupt identification; write: FIFO control */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI 0x01  /* receive data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO_ON 0xc0
#define FCR_FIFO_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

void serial_init(struct serial *s, struct console_out *out, int drained_fd, serial_irq_fn set_irq,
		 void *irq_opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out = out;
	s->drained_fd = drained_fd;
	s->set_irq = set_irq;
	s->irq_opaque = irq_opaque;
	s->mcr = MCR_OUT2;
	s->dll = 12; /* 9600 baud, what a PC's firmware leaves */
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_ON : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_int)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

/* Called with the lock held after every change: the line follows "an interrupt is pending". */
static void serial_update_irq(struct serial *s)
{
	int level = !(serial_iir(s) & IIR_NO_INT);

	if (level != s->irq_level && s->set_irq) {
		s->irq_level = level;
		s->set_irq(s->irq_opaque, level);
	}
}

static void rx_put(struct serial *s, uint8_t c)
{
	if (s->rx_count < SERIAL_RX_FIFO) {
		s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = c;
		s->rx_count++;
	}
}

/* The input side waits only on a full FIFO, so only a full-to-not-full change needs a wake-up. */
static void rx_drained(struct serial *s, unsigned old_count)
{
	uint64_t one = 1;

	if (old_count == SERIAL_RX_FIFO && s->rx_count < SERIAL_RX_FIFO && s->drained_fd >= 0)
		(void)!write(s->drained_fd, &one, sizeof(one));
}

static uint8_t rx_get(struct serial *s)
{
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
	s->rx_count--;
	rx_drained(s, s->rx_count + 1);
	return c;
}

static void transmit(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		rx_put(s, c); /* loopback, as the driver's self-test expects */
		return;
	}
	/* Into the console's ring: a reader that stalls costs bytes (counted), never the vCPU,
	 * which holds the lock here that the main thread needs for console input. */
	if (s->out)
		console_out_put(s->out, c);
}

static uint8_t serial_msr(const struct serial *s)
{
	if (s->mcr & MCR_LOOP) /* modem outputs wired back to the inputs */
		return (uint8_t)(((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
				 ((s->mcr & MCR_RTS) ? MSR_CTS : 0) |
				 ((s->mcr & MCR_OUT1) ? MSR_RI : 0) |
				 ((s->mcr & MCR_OUT2) ? MSR_DCD : 0));
	return MSR_DCD | MSR_DSR | MSR_CTS;
}

static void serial_write(struct serial *s, unsigned reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case UART_RX:
		if (dlab) {
			s->dll = v;
			break;
		}
		transmit(s, v);
		s->thr_int = true; /* the byte left at once: the holding register is empty again */
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI with an empty transmitter raises the interrupt right away. */
		if (!(s->ier & IER_THRI) && (v & IER_THRI))
			s->thr_int = true;
		s->ier = v & 0x0f;
		break;
	case UART_IIR:
		s->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RX) {
			unsigned old_count = s->rx_count;

			s->rx_count = 0;
			rx_drained(s, old_count);
		}
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static uint8_t serial_read(struct serial *s, unsigned reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t iir;

	switch (reg) {
	case UART_RX:
		return dlab ? s->dll : rx_get(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		iir = serial_iir(s);
		/* Reading IIR acknowledges a THRE interrupt when that is what it reports. */
		if ((iir & 0x0f) == IIR_THRI)
			s->thr_int = false;
		return iir;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return (uint8_t)(LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0));
	case UART_MSR:
		return serial_msr(s);
	default:
		return s->scr;
	}
}

void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;

	/* The UART's registers are bytes; wider accesses touch only the first. */
	if (offset >= SERIAL_NPORTS || len == 0)
		return;
	pthread_mutex_lock(&s->lock);
	if (is_write)
		serial_write(s, (unsigned)offset, data[0]);
	else {
		memset(data, 0, len);
		data[0] = serial_read(s, (unsigned)offset);
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_rx_space(struct serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = SERIAL_RX_FIFO - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_rx_push(struct serial *s, const uint8_t *buf, size_t n)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < n && s->rx_count < SERIAL_RX_FIFO; i++)
		rx_put(s, buf[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return i;
}
