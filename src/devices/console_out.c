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
	c->lines = log_journal_stream(fd);
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
	wake = c->count == c->held;
	if (c->count < CONSOLE_OUT_RING) {
		c->ring[(c->head + c->count) % CONSOLE_OUT_RING] = b;
		c->count++;
	} else {
		c->dropped[c->why]++;
	}
	pthread_mutex_unlock(&c->lock);
	/* Only the first byte after a drain (that emptied the ring, or left only a partial line
	 * on the journal) wakes the main thread; it takes the rest in bulk. */
	if (wake && c->wake_fd >= 0)
		(void)!write(c->wake_fd, &one, sizeof(one));
}

/* Takes N bytes off the ring, written or (DROPPED) charged to why they could not be. */
static void consume(struct console_out *c, size_t n, bool dropped)
{
	pthread_mutex_lock(&c->lock);
	c->head = (c->head + n) % CONSOLE_OUT_RING;
	c->count -= n;
	c->held = 0;
	if (dropped)
		c->dropped[c->why] += n;
	pthread_mutex_unlock(&c->lock);
	c->holding = false;
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

/*
 * The journal reads a "<N>" at the start of any line on its stream as the entry's priority, and
 * the guest's lines share bulwark's: a guest printing "<0>" would log an emergency on the host
 * (which journald broadcasts to every terminal). So each console line gets "<6>" (information)
 * in front, and whatever the guest put there stays part of its message.
 */
static const char GUEST_PRIORITY[] = "<6>";
#define PRIORITY_LEN (sizeof(GUEST_PRIORITY) - 1)
/* The most a line may hold before its '\n', so that with its priority it fits one write. */
#define LINE_ROOM (CONSOLE_OUT_LINE - 1 - PRIORITY_LEN)

/* How many ring bytes the first DONE bytes of a prefixed write (prefix_lines) carried: every
 * line starts with the prefix, but the first when it continues a line (CONT). */
static size_t ring_bytes(const uint8_t *buf, size_t done, bool cont)
{
	size_t ring = 0, i = 0;
	bool start = !cont;

	while (i < done) {
		if (start) {
			i += PRIORITY_LEN; /* a prefix cut short carried no ring byte either */
			start = false;
			continue;
		}
		start = buf[i++] == '\n';
		ring++;
	}
	return ring;
}

/*
 * Copies the whole lines of IN (N bytes, each line ending in '\n') to OUT (CAP bytes), each with
 * the priority in front (not the first when it continues a line: CONT), up to the last line that
 * fits. Returns the bytes in OUT; *TAKEN says how many of IN's went.
 */
static size_t prefix_lines(const uint8_t *in, size_t n, bool cont, uint8_t *out, size_t cap,
			   size_t *taken)
{
	size_t o = 0, i = 0;

	while (i < n) {
		const uint8_t *nl = memchr(in + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (in + i)) + 1 : n - i;
		size_t pre = (i == 0 && cont) ? 0 : PRIORITY_LEN;

		if (pre + len > cap - o)
			break;
		memcpy(out + o, GUEST_PRIORITY, pre);
		memcpy(out + o + pre, in + i, len);
		o += pre + len;
		i += len;
	}
	*taken = i;
	return o;
}

/* Writes BUF (N bytes; the first RING_N of them are the ring's from its head on) if the output
 * takes it now: 1 when it went (or is worth another try), 0 with *W what to wait for. */
static int emit(struct console_out *c, const uint8_t *buf, size_t n, size_t ring_n,
		enum console_wait *w)
{
	ssize_t done;
	size_t taken;

	if (c->blocking && !writable(c->fd)) {
		*w = hold(c, CONSOLE_DROP_STALLED, CONSOLE_WAIT_FD);
		return 0;
	}
	done = write(c->fd, buf, n);
	if (done > 0) {
		rate_limit_take(&c->rate, (uint64_t)done);
		taken = c->lines ? ring_bytes(buf, (size_t)done, c->midline) : (size_t)done;
		consume(c, taken < ring_n ? taken : ring_n, false);
		c->midline = c->lines && (size_t)done < n && buf[done - 1] != '\n';
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

/* One write of what the ring holds from HEAD on (N bytes, not wrapping); 1 when it went. */
static int write_some(struct console_out *c, size_t head, size_t n, enum console_wait *w)
{
	if (c->blocking && n > CHUNK_BLOCKING)
		n = CHUNK_BLOCKING;
	n = allowed(c, n);
	if (n == 0) {
		*w = hold(c, CONSOLE_DROP_RATE, CONSOLE_WAIT_TICK);
		return 0;
	}
	/* Only this thread takes bytes off and vCPUs only add past head + count, so these bytes
	 * stay put while they are written without the lock. */
	return emit(c, c->ring + head, n, n, w);
}

/* Copies N ring bytes (at most CONSOLE_OUT_LINE) from HEAD on, across the wrap, to BUF: stable
 * without the lock, as in write_some(). */
static void peek(const struct console_out *c, size_t head, size_t n, uint8_t *buf)
{
	size_t first = CONSOLE_OUT_RING - head < n ? CONSOLE_OUT_RING - head : n;

	memcpy(buf, c->ring + head, first);
	memcpy(buf + first, c->ring, n - first);
}

/*
 * How many of BUF's N ring bytes (N <= CONSOLE_OUT_LINE) make whole lines: up to the last '\n'.
 * A first line longer than a write takes with its priority (LINE_ROOM bytes before its '\n') is
 * cut there, and so is a partial line with FORCE: a '\n' is added in BUF (*CUT). Else 0: a
 * partial line to hold.
 */
static size_t whole_lines(uint8_t *buf, size_t n, bool force, bool *cut)
{
	const uint8_t *nl = memchr(buf, '\n', n < LINE_ROOM + 1 ? n : LINE_ROOM + 1);

	*cut = false;
	if (nl)
		return (size_t)((const uint8_t *)memrchr(buf, '\n', n) - buf) + 1;
	if (n > LINE_ROOM)
		n = LINE_ROOM;
	else if (!force)
		return 0;
	buf[n] = '\n';
	*cut = true;
	return n;
}

/* Whether the partial line the ring ends with has waited CONSOLE_OUT_HOLD_TICKS for its '\n'
 * (never, without a tick); the first call for a line starts its wait. */
static bool held_long(struct console_out *c)
{
	uint64_t ticks;

	if (c->tick_fd < 0)
		return false;
	if (read(c->tick_fd, &ticks, sizeof(ticks)) == sizeof(ticks))
		c->ticks += ticks;
	if (!c->holding) {
		c->holding = true;
		c->held_since = c->ticks;
	}
	return c->ticks - c->held_since >= CONSOLE_OUT_HOLD_TICKS;
}

/* Leaves the SEEN bytes, a partial line, in the ring: 0 with *W, or 1 if more came meanwhile
 * (their put found count != held and woke no one: look again). */
static int hold_partial(struct console_out *c, size_t seen, enum console_wait *w)
{
	bool same;

	pthread_mutex_lock(&c->lock);
	same = c->count == seen;
	if (same)
		c->held = seen;
	pthread_mutex_unlock(&c->lock);
	/* The tick tells when the line has waited long enough; without one, only data can. */
	*w = c->tick_fd >= 0 ? CONSOLE_WAIT_TICK : CONSOLE_WAIT_DATA;
	return !same;
}

/*
 * The journal's write: whole lines from the ring's COUNT bytes at HEAD, in one write(2) of at
 * most CONSOLE_OUT_LINE bytes. Copied out (a line may wrap, and a cut one needs its '\n'): one
 * write, because journald would join another writer's line to a partial one. Why not
 * CHUNK_BLOCKING: a unix stream socket (the journal's) polls writable while less than a quarter
 * of its send buffer is in flight, and sends a write in pieces of up to half that buffer
 * (about 2.5 KiB at its smallest), the first without waiting: 2048 bytes go as one piece, whole,
 * without waiting and without another writer's line in between. The rate limit takes whole lines.
 */
static int write_lines(struct console_out *c, size_t head, size_t count, bool force,
		       enum console_wait *w)
{
	uint8_t buf[CONSOLE_OUT_LINE], pre[CONSOLE_OUT_LINE];
	size_t n = count < CONSOLE_OUT_LINE ? count : CONSOLE_OUT_LINE, out, may, len, taken;
	const uint8_t *nl;
	bool cut;

	peek(c, head, n, buf);
	n = whole_lines(buf, n, force || c->midline, &cut);
	if (n == 0) { /* then COUNT is under LINE_ROOM: all of it is in BUF */
		if (!held_long(c))
			return hold_partial(c, count, w);
		n = whole_lines(buf, count, true, &cut);
	}
	out = n + cut;
	/* With their priorities the lines may no longer all fit one write: the rest waits. */
	len = prefix_lines(buf, out, c->midline, pre, sizeof(pre), &taken);
	may = allowed(c, len);
	if (may < len) {
		nl = memrchr(pre, '\n', may);
		if (!nl) {
			*w = hold(c, CONSOLE_DROP_RATE, CONSOLE_WAIT_TICK);
			return 0;
		}
		len = (size_t)(nl - pre) + 1;
		taken = ring_bytes(pre, len, c->midline);
	}
	/* A cut line's added '\n' is no ring byte. */
	return emit(c, pre, len, taken < n ? taken : n, w);
}

static enum console_wait drain(struct console_out *c, bool force)
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
		if (c->lines) {
			if (!write_lines(c, head, n, force, &w))
				return w;
			continue;
		}
		if (n > CONSOLE_OUT_RING - head)
			n = CONSOLE_OUT_RING - head;
		if (!write_some(c, head, n, &w))
			return w;
	}
	return w;
}

enum console_wait console_out_drain(struct console_out *c)
{
	return drain(c, false);
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
		if (drain(c, true) != CONSOLE_WAIT_FD)
			break;
		left = pending(c);
	} while (left && left < before);
	pthread_mutex_lock(&c->lock);
	c->dropped[c->why] += c->count;
	c->count = 0;
	c->held = 0;
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
