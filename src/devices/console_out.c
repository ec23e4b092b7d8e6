/* console_out.c: the guest's console output: a bounded ring vCPUs fill, the main thread drains. */
#include "devices/console_out.h"

#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define CHUNK_BLOCKING 512 /* what a socket that polls writable takes whole (see private_fd) */
#define DRAIN_ROUNDS 16	   /* writes per drain, so the main loop gets back to its signals */

/*
 * Why a private description. O_NONBLOCK belongs to the open file description, which stdout
 * shares with whoever started us (the shell's pipe, the terminal, a FIFO's other writers):
 * setting it there would make their writes fail with EAGAIN too, and it could not be undone at
 * exit (fcntl is on no confined thread's allowlist). Opening /proc/self/fd/N again gives a
 * description of our own for a pipe, a FIFO or a character device (a terminal, /dev/null).
 * Kept as inherited: a regular file or block device (a new description would start at offset 0
 * without O_APPEND; their writes never wait for a reader), and a socket, which cannot be opened
 * that way (ENXIO; systemd's journal stream is one) and whose send(MSG_DONTWAIT) would put
 * sendto on the vmm thread's allowlist. Those are written only after poll says POLLOUT, at most
 * CHUNK_BLOCKING bytes at once: a unix or TCP socket that polls writable has that much room, so
 * the write does not wait unless another process sharing the socket fills it in between.
 */
static int private_fd(int fd, bool *may_block)
{
	struct stat st;
	char path[32];
	int r;

	*may_block = true;
	if (fstat(fd, &st))
		return -1;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		*may_block = false;
	if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (r < 0)
		log_debug("console: cannot open stdout again, non-blocking: %s; it is written only "
			  "when poll says it takes more",
			  strerror(errno));
	return r;
}

int console_out_init(struct console_out *c, int fd, bool blocking, bool limited, int wake_fd,
		     int tick_fd)
{
	*c = (struct console_out){.inited = true,
				  .fd = fd,
				  .blocking = blocking,
				  .limited = limited,
				  .wake_fd = wake_fd,
				  .tick_fd = tick_fd};
	pthread_mutex_init(&c->lock, NULL);
	rate_limit_init(&c->rate, CONSOLE_OUT_RATE, CONSOLE_OUT_BURST);
	c->ring = malloc(CONSOLE_OUT_RING);
	return c->ring ? 0 : -ENOMEM;
}

int console_out_open(struct console_out *c, int fd)
{
	const struct itimerspec every = {.it_interval = {.tv_nsec = CONSOLE_OUT_TICK_NS},
					 .it_value = {.tv_nsec = CONSOLE_OUT_TICK_NS}};
	bool may_block;
	int own = private_fd(fd, &may_block);
	/* A person at a terminal reads what they asked for; anything else may be a log. */
	bool limited = !isatty(fd);
	int r = console_out_init(c, own >= 0 ? own : fd, own < 0 && may_block, limited, -1, -1);

	c->private_fd = own >= 0;
	if (r)
		return r;
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0)
		return -errno;
	if (!limited)
		return 0;
	/* Armed here, once, periodic: no thread needs timerfd_settime or a clock later on. */
	c->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->tick_fd < 0 || timerfd_settime(c->tick_fd, 0, &every, NULL))
		return -errno;
	return 0;
}

void console_out_put(struct console_out *c, uint8_t b)
{
	uint64_t one = 1;
	bool wake;

	pthread_mutex_lock(&c->lock);
	wake = c->count == 0;
	if (c->count < CONSOLE_OUT_RING) {
		c->ring[(c->head + c->count) % CONSOLE_OUT_RING] = b;
		c->count++;
	} else {
		c->dropped[c->why]++;
	}
	pthread_mutex_unlock(&c->lock);
	/* Only the first byte after a drain wakes the main thread; it takes the rest in bulk. */
	if (wake && c->wake_fd >= 0)
		(void)!write(c->wake_fd, &one, sizeof(one));
}

/* Takes N bytes off the ring, written or (DROPPED) charged to why they could not be. */
static void consume(struct console_out *c, size_t n, bool dropped)
{
	pthread_mutex_lock(&c->lock);
	c->head = (c->head + n) % CONSOLE_OUT_RING;
	c->count -= n;
	if (dropped)
		c->dropped[c->why] += n;
	pthread_mutex_unlock(&c->lock);
}

/* Records why the drain stopped short (what a full ring's drops are charged to). */
static enum console_wait hold(struct console_out *c, enum console_drop why, enum console_wait w)
{
	pthread_mutex_lock(&c->lock);
	c->why = why;
	pthread_mutex_unlock(&c->lock);
	return w;
}

static void lose(struct console_out *c, int err)
{
	if (!c->gone)
		log_warn("console: stdout %s%s; the guest's output is dropped from now on",
			 err ? "failed: " : "reports an error", err ? strerror(err) : "");
	c->gone = true;
	(void)hold(c, CONSOLE_DROP_STALLED, CONSOLE_WAIT_FD);
}

void console_out_hangup(struct console_out *c)
{
	lose(c, 0);
}

/* The bytes the rate allows now, at most N: the timer's ticks since last time are its clock. */
static size_t allowed(struct console_out *c, size_t n)
{
	uint64_t ticks, avail;

	if (!c->limited)
		return n;
	if (rate_limit_avail(&c->rate) < n && c->tick_fd >= 0 &&
	    read(c->tick_fd, &ticks, sizeof(ticks)) == sizeof(ticks))
		c->ticks += ticks;
	rate_limit_refill(&c->rate, c->ticks * CONSOLE_OUT_TICK_NS);
	avail = rate_limit_avail(&c->rate);
	return avail < n ? (size_t)avail : n;
}

static bool writable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

/* One write of what the ring holds from HEAD on (N bytes, not wrapping); 1 when it went. */
static int write_some(struct console_out *c, size_t head, size_t n, enum console_wait *w)
{
	ssize_t done;

	if (c->blocking && n > CHUNK_BLOCKING)
		n = CHUNK_BLOCKING;
	n = allowed(c, n);
	if (n == 0) {
		*w = hold(c, CONSOLE_DROP_RATE, CONSOLE_WAIT_TICK);
		return 0;
	}
	if (c->blocking && !writable(c->fd)) {
		*w = hold(c, CONSOLE_DROP_STALLED, CONSOLE_WAIT_FD);
		return 0;
	}
	/* Only this thread takes bytes off and vCPUs only add past head + count, so these bytes
	 * stay put while they are written without the lock. */
	done = write(c->fd, c->ring + head, n);
	if (done > 0) {
		rate_limit_take(&c->rate, (uint64_t)done);
		consume(c, (size_t)done, false);
		return 1;
	}
	if (done < 0 && errno == EINTR)
		return 1;
	if (done == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
		*w = hold(c, CONSOLE_DROP_STALLED, CONSOLE_WAIT_FD);
		return 0;
	}
	lose(c, errno); /* EPIPE: the reader is gone; EIO: the terminal hung up */
	return 1;
}

enum console_wait console_out_drain(struct console_out *c)
{
	enum console_wait w = CONSOLE_WAIT_FD; /* more to write: poll returns at once */

	for (int round = 0; round < DRAIN_ROUNDS; round++) {
		size_t head, n;

		pthread_mutex_lock(&c->lock);
		head = c->head;
		n = c->count;
		pthread_mutex_unlock(&c->lock);
		if (n == 0)
			return CONSOLE_WAIT_DATA;
		if (c->gone) {
			consume(c, n, true);
			continue;
		}
		if (n > CONSOLE_OUT_RING - head)
			n = CONSOLE_OUT_RING - head;
		if (!write_some(c, head, n, &w))
			return w;
	}
	return w;
}

static size_t pending(struct console_out *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}

void console_out_finish(struct console_out *c)
{
	unsigned long stalled, rate;
	size_t left = pending(c), before;

	/* Drain while it gets somewhere: a slow output loses what is left, never stalls the stop.
	 */
	do {
		before = left;
		if (console_out_drain(c) != CONSOLE_WAIT_FD)
			break;
		left = pending(c);
	} while (left && left < before);
	pthread_mutex_lock(&c->lock);
	c->dropped[c->why] += c->count;
	c->count = 0;
	stalled = c->dropped[CONSOLE_DROP_STALLED];
	rate = c->dropped[CONSOLE_DROP_RATE];
	pthread_mutex_unlock(&c->lock);
	if (stalled && rate)
		log_info("console: %lu bytes dropped, reader stalled; %lu over the rate limit "
			 "(%d KiB/s)",
			 stalled, rate, CONSOLE_OUT_RATE / 1024);
	else if (stalled)
		log_info("console: %lu bytes dropped, reader stalled", stalled);
	else if (rate)
		log_info("console: %lu bytes dropped over the rate limit (%d KiB/s)", rate,
			 CONSOLE_OUT_RATE / 1024);
}

void console_out_close(struct console_out *c)
{
	if (!c->inited)
		return;
	if (c->private_fd)
		close(c->fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	if (c->tick_fd >= 0)
		close(c->tick_fd);
	pthread_mutex_destroy(&c->lock);
	free(c->ring);
	c->ring = NULL;
	c->inited = false;
}
