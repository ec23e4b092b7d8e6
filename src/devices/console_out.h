/* console_out.h: the guest's console output: a bounded ring vCPUs fill, the main thread drains. */
#ifndef BULWARK_CONSOLE_OUT_H
#define BULWARK_CONSOLE_OUT_H

#include "util/rate_limit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_OUT_RING 65536 /* what a slow reader may fall behind (64 KiB); then bytes drop */
/* What the guest may write to anything but a terminal (a file, a pipe, the journal): about
 * three 115200-baud lines, after a burst that a boot's kernel messages fit in. */
#define CONSOLE_OUT_RATE 32768		 /* bytes a second */
#define CONSOLE_OUT_BURST 262144	 /* 256 KiB */
#define CONSOLE_OUT_TICK_NS 100000000ULL /* the rate limit's clock: a 100 ms timerfd */
/*
 * When stdout is the journal's stream, which stderr's log lines share, it gets whole lines
 * only: journald splits entries at '\n', and a log line written after part of a guest's line
 * would join it, its "<N>" priority lost mid-entry. A partial line waits in the ring for its
 * '\n', but no longer than this, and no longer than the VM runs; then it goes out with a '\n'
 * added. Each write then ends a line and is at most CONSOLE_OUT_LINE bytes (see console_out.c).
 */
#define CONSOLE_OUT_LINE 2048	  /* the longest line written, its "<6>" and '\n' included */
#define CONSOLE_OUT_HOLD_TICKS 10 /* 1 s of ticks: a prompt shows up, if with a line break */

/* Why bytes were dropped: each drop is charged to why the ring could not be drained. */
enum console_drop { CONSOLE_DROP_STALLED, CONSOLE_DROP_RATE, CONSOLE_DROPS };

/* What the main thread should wait for before it drains again. */
enum console_wait {
	CONSOLE_WAIT_DATA, /* the ring is empty: wake_fd says when it is not */
	CONSOLE_WAIT_FD,   /* the output takes no more now: poll fd for POLLOUT */
	CONSOLE_WAIT_TICK, /* out of rate credit: poll tick_fd for POLLIN */
};

struct console_out {
	pthread_mutex_t lock; /* ring, counts, why: a vCPU's put against the main thread's drain */
	uint8_t *ring;	      /* CONSOLE_OUT_RING bytes */
	size_t head, count;
	enum console_drop why; /* what the bytes the full ring refuses are charged to */
	unsigned long dropped[CONSOLE_DROPS];
	size_t held; /* a partial line the drain left for its '\n': the next put wakes it again */
	/* The main thread's alone: */
	bool inited;	 /* console_out_close() has something to release */
	int fd;		 /* where output goes */
	bool private_fd; /* fd is our own non-blocking description, closed with the rest */
	bool blocking;	 /* fd may wait for a reader: written only after poll says so, in small
			  * chunks */
	bool limited;	 /* not a terminal: CONSOLE_OUT_RATE applies */
	bool gone;	 /* a write failed for good (no reader, hung up): output is dropped */
	bool lines;	 /* fd is the journal: whole lines only (console_out_open sets it; tests
			  * may, after console_out_init) */
	bool holding;	 /* lines: the ring ends in a partial line, waiting since held_since */
	bool midline;	 /* lines: a short write left the journal a partial line: end it now */
	uint64_t held_since;
	int wake_fd;	/* eventfd: the ring was empty and is not */
	int tick_fd;	/* counts CONSOLE_OUT_TICK_NS ticks (a timerfd; tests use an eventfd) */
	uint64_t ticks; /* ticks read so far: the rate limit's time */
	struct rate_limit rate;
};

/*
 * Sets up the console's output to FD (stdout), before any thread is confined: the private
 * description, the wake eventfd and the tick timer. Returns 0 or -errno; console_out_close()
 * releases what it made either way.
 */
int console_out_open(struct console_out *c, int fd);

/* The same on descriptors the caller made (tests): FD stays the caller's; WAKE_FD and TICK_FD
 * (-1 for none) are closed by console_out_close(). */
int console_out_init(struct console_out *c, int fd, bool blocking, bool limited, int wake_fd,
		     int tick_fd);

/* One byte of guest output (a vCPU, under the UART's lock): queued, or dropped and counted.
 * Never waits for the output; the only syscall is the wake eventfd's write. */
void console_out_put(struct console_out *c, uint8_t b);

/* The main thread: writes what the output takes now, within the rate; says what to wait for. */
enum console_wait console_out_drain(struct console_out *c);

/* The main thread, when poll reports an error on fd: nothing more will be written there. */
void console_out_hangup(struct console_out *c);

/* At stop, vCPUs joined: one last drain, a partial line ended with '\n' on the journal; what
 * is left counts as dropped; one log line if any. */
void console_out_finish(struct console_out *c);

void console_out_close(struct console_out *c);

#endif
