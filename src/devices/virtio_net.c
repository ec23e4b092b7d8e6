/* virtio_net.c: virtio-net (virtio 1.2, 5.1) over a tap; every frame is copied once into host
 * memory. */
#include "devices/virtio_net_priv.h"

#include "devices/tap.h"
#include "net/net_mark.h"
#include "sandbox/thread_kind.h"
#include "util/log.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const count_names[NET_COUNTS] = {
    [TX_SHORT] = "tx too short",
    [TX_LONG] = "tx too long",
    [TX_BAD_HDR] = "tx bad header",
    [TX_TAP_ERR] = "tx tap errors",
    [RX_NO_BUF] = "rx no buffers",
    [RX_TOO_BIG] = "rx too big",
    [RX_TAP_BAD] = "rx bad frames from the tap",
};

void net_guest_fault(struct virtio_net *n, enum net_count c, const char *why)
{
	n->count[c]++;
	if (!n->guest_warned)
		log_warn("%s: dropping a transmitted frame: %s (later drops are only counted)",
			 n->name, why);
	n->guest_warned = true;
}

void net_filter_drop(struct virtio_net *n, const struct net_drop *d)
{
	struct net_guard *g = n->guard;
	struct timespec ts = {0};
	unsigned long suppressed = 0;
	char line[512];
	size_t len;

	g->drops[d->reason < NET_DROP_REASONS ? d->reason : NET_PASS]++;
	/* Audit lines count as warnings: the fuzzers silence them with the rest. */
	if (!log_wants(LOG_WARN))
		return;
	/* vDSO, normally; only drops pay for it. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!net_audit_admit(&g->audit, (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec,
			     &suppressed))
		return;
	len = net_audit_format(line, sizeof(line), g->vm, g->tap, d, suppressed);
	log_write_line(LOG_PRIORITY_NOTICE, line, len);
}

void net_tap_fault(struct virtio_net *n, enum net_count c, const char *what, int err)
{
	n->count[c]++;
	if (!n->tap_warned)
		log_warn("%s: %s: %s (later errors are only counted)", n->name, what,
			 strerror(err));
	n->tap_warned = true;
}

static uint64_t net_features(void *dev)
{
	(void)dev;
	return VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
	       VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
	       VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) |
	       VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
	       VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
}

static void net_queue_limits(void *dev, unsigned q, uint16_t *size_max, uint32_t *len_max)
{
	(void)dev;
	(void)q;
	*size_max = QUEUE_SIZE;
	/* The default cap: a transmit chain over the frame maximum is dropped and counted here,
	 * not treated as a broken queue. */
	*len_max = 0;
}

/* struct virtio_net_config (5.1.4): mac, status, max_virtqueue_pairs. */
#define CONFIG_SIZE 10

static void net_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	const struct virtio_net *n = dev;
	uint8_t cfg[CONFIG_SIZE] = {0};

	memcpy(cfg, n->mac, sizeof(n->mac));
	cfg[6] = 1; /* VIRTIO_NET_S_LINK_UP, though we do not offer VIRTIO_NET_F_STATUS */
	cfg[8] = 1; /* one queue pair */
	if (off <= CONFIG_SIZE && len <= CONFIG_SIZE - off)
		memcpy(data, cfg + off, len);
}

/* The offloads the tap may use towards the guest: what the guest negotiated, where the
 * dependencies the spec demands (5.1.3.1) hold; the tap refuses TSO without checksum offload. */
static unsigned tap_offloads(const struct virtio_net *n)
{
	unsigned o = 0;

	if (!net_has(n, VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	o |= TUN_F_CSUM;
	if (net_has(n, VIRTIO_NET_F_GUEST_TSO4))
		o |= TUN_F_TSO4;
	if (net_has(n, VIRTIO_NET_F_GUEST_TSO6))
		o |= TUN_F_TSO6;
	if ((o & (TUN_F_TSO4 | TUN_F_TSO6)) && net_has(n, VIRTIO_NET_F_GUEST_ECN))
		o |= TUN_F_TSO_ECN;
	return o;
}

static void clear_state(struct virtio_net *n)
{
	n->active = false;
	n->tx_pending = n->tx_more = false;
	n->tx_retries = 0;
	n->rx_len = 0;
	n->rx_stalled = false;
	n->completed = false;
	n->offloads_pending = false;
}

static int net_activate(void *dev, struct virtio_mmio *t, uint64_t features)
{
	struct virtio_net *n = dev;

	clear_state(n);
	n->features = features;
	n->rx_live = t->vq[RXQ].live;
	n->tx_live = t->vq[TXQ].live;
	snprintf(n->name, sizeof(n->name), "%s", t->name);
	/* Not here: activate runs on the vCPU thread that wrote DRIVER_OK, and only the device
	 * thread touches the tap. */
	n->offloads_pending = n->is_tap;
	n->active = true;
#ifdef BULWARK_TEST_FORBIDDEN_SYSCALL
	/* Test builds only: what a guest that took over this vCPU would try, a raw frame straight
	 * to the tap past the segment's filter; the vCPU's list must not allow it. */
	if (n->is_tap && getenv("BULWARK_TEST_VCPU_WRITES_TAP"))
		(void)!write(n->fd, "\xff\xff\xff\xff\xff\xff", 6);
#endif
	return 0;
}

/* Sets the tap's offloads for the features just negotiated, once per activation, on the device
 * thread before it reads a frame. Returns false when the device cannot serve. */
static bool apply_offloads(struct virtio_net *n, struct virtio_mmio *t)
{
	int r;

	if (!n->offloads_pending)
		return true;
	n->offloads_pending = false;
	r = tap_set_offload(n->fd, tap_offloads(n));
	if (r < 0) {
		log_err("%s: cannot set the tap's offloads: %s", n->name, strerror(-r));
		net_fail(n, t, VIRTIO_MMIO_QUEUES_MAX, "the tap refused its offloads");
		return false;
	}
	return true;
}

void net_fail(struct virtio_net *n, struct virtio_mmio *t, unsigned q, const char *why)
{
	clear_state(n);
	virtio_mmio_fail(t, q, why);
}

static void net_notify(void *dev, struct virtio_mmio *t, unsigned q)
{
	struct virtio_net *n = dev;

	if (!n->active || !apply_offloads(n, t))
		return;
	/* A frame waiting for the tap goes on when the tap is writable (fd_ready), not on kicks. */
	if (q == TXQ && !n->tx_pending)
		net_tx_process(n, t);
	else if (q == RXQ)
		net_rx_process(n, t);
}

static int net_wait_fd(void *dev, short *events)
{
	struct virtio_net *n = dev;
	short ev = 0;

	if (!n->active || n->tap_gone)
		return -1;
	if (n->rx_live && !n->rx_len)
		ev |= POLLIN;
	if (n->tx_pending || n->tx_more)
		ev |= POLLOUT;
	if (!ev)
		return -1;
	*events = ev;
	return n->fd;
}

static void net_fd_ready(void *dev, struct virtio_mmio *t, short revents)
{
	struct virtio_net *n = dev;

	if (n->active && !apply_offloads(n, t))
		return;
	if (n->active && (revents & (POLLOUT | POLLERR | POLLHUP)) && (n->tx_pending || n->tx_more))
		net_tx_process(n, t);
	if (n->active && (revents & (POLLIN | POLLERR | POLLHUP)) && !n->rx_len)
		net_rx_process(n, t);
	/* An error or hang-up that reading did not explain (a tap deleted under us, a test's peer
	 * gone while we were not reading): stop polling it, or the thread would spin. */
	if (n->active && !n->tap_gone &&
	    ((revents & (POLLERR | POLLNVAL)) || (revents & (POLLHUP | POLLIN)) == POLLHUP)) {
		net_tap_fault(n, RX_TAP_BAD, "the tap failed, no more receiving", EIO);
		n->tap_gone = true;
	}
}

static void net_reset(void *dev)
{
	clear_state(dev);
}

/* The filter's drops, one line per NIC at stop: "nic TAP: dropped N frames: src-mac 3, ...". */
static void log_drops(const struct net_guard *g)
{
	char line[512];
	size_t used = 0;
	unsigned long total = 0;

	for (unsigned i = NET_PASS + 1; i < NET_DROP_REASONS; i++) {
		if (!g->drops[i] || used >= sizeof(line))
			continue;
		total += g->drops[i];
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s %lu",
					 used ? ", " : "", net_drop_name(i), g->drops[i]);
	}
	if (total)
		log_info("nic %s: dropped %lu frames: %s", g->tap, total, line);
}

/* The thread reads and writes its tap, besides the transport's eventfds. */
static void net_sandbox_fds(void *dev, struct sandbox_fds *fds)
{
	const struct virtio_net *d = dev;

	sandbox_fds_add(fds, SANDBOX_FD_TAP, d->fd);
}

static void net_destroy(void *dev)
{
	struct virtio_net *n = dev;
	char line[256];
	size_t used = 0;

	if (!n)
		return;
	for (unsigned i = 0; i < NET_COUNTS; i++)
		if (n->count[i] && used < sizeof(line))
			used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s %lu",
						 used ? ", " : "", count_names[i], n->count[i]);
	if (used)
		log_info("%s: %s", n->name, line);
	if (n->guard)
		log_drops(n->guard);
	free(n->guard);
	close(n->fd);
	free(n);
}

const struct virtio_dev_ops virtio_net_ops = {
    .kind = SANDBOX_VIRTIO_NET,
    .device_id = VIRTIO_ID_NET,
    .nqueues = 2,
    .config_size = CONFIG_SIZE,
    .features = net_features,
    .queue_limits = net_queue_limits,
    .config_read = net_config_read,
    .activate = net_activate,
    .notify = net_notify,
    .wait_fd = net_wait_fd,
    .fd_ready = net_fd_ready,
    .reset = net_reset,
    .sandbox_fds = net_sandbox_fds,
    .destroy = net_destroy,
};

void virtio_net_get_stats(const struct virtio_net *n, struct virtio_net_stats *s)
{
	*s = (struct virtio_net_stats){
	    .tx_short = n->count[TX_SHORT],
	    .tx_long = n->count[TX_LONG],
	    .tx_bad_hdr = n->count[TX_BAD_HDR],
	    .tx_tap_err = n->count[TX_TAP_ERR],
	    .rx_no_buf = n->count[RX_NO_BUF],
	    .rx_too_big = n->count[RX_TOO_BIG],
	    .rx_tap_bad = n->count[RX_TAP_BAD],
	};
}

unsigned long virtio_net_drops(const struct virtio_net *n, enum net_drop_reason r)
{
	return n->guard && (unsigned)r < NET_DROP_REASONS ? n->guard->drops[r] : 0;
}

int virtio_net_set_filter(struct virtio_net *n, const char *vm, const struct config_nic *nic,
			  const struct policy_network *net)
{
	struct net_guard *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	if (net_filter_init(&g->f, nic, net)) {
		free(g);
		return -ENOENT;
	}
	snprintf(g->vm, sizeof(g->vm), "%s", vm);
	snprintf(g->tap, sizeof(g->tap), "%s", nic->tap);
	free(n->guard);
	n->guard = g;
	return 0;
}

struct virtio_net *virtio_net_new(int fd, const uint8_t mac[6])
{
	struct virtio_net *n = calloc(1, sizeof(*n));

	if (!n) {
		close(fd);
		return NULL;
	}
	n->fd = fd;
	memcpy(n->mac, mac, sizeof(n->mac));
	snprintf(n->name, sizeof(n->name), "net");
	return n;
}

/*
 * Closes FD and fills ERR when NIC's tap, just opened, carries `bulwark net up`'s mark for
 * another VM than the one whose mark is MARK (net/net_mark.h). Read over rtnetlink on the main
 * thread before any filter or jail: no thread's allowlist sees it.
 */
static int tap_check_mark(const struct config_nic *nic, const char *mark, int fd,
			  struct bw_error *err)
{
	char why[2 * NL_ALIAS_MAX + 256];
	int r = net_mark_check_tap(nic->tap, mark, why, sizeof(why));

	if (r == 0)
		return 0;
	close(fd);
	if (r < 0)
		return bw_item_errorf(err, "tap", "cannot read tap %s's mark over rtnetlink: %s",
				      nic->tap, strerror(-r));
	return bw_item_errorf(err, "tap", "tap %s %s", nic->tap, why);
}

struct virtio_net *virtio_net_open(const struct config_nic *nic, unsigned i, const char *vm,
				   const char *mark, const struct policy_network *net,
				   struct bw_error *err)
{
	struct virtio_net *n;
	char hint[160];
	int fd;

	fd = tap_open(nic->tap, HDR_LEN);
	if (fd < 0) {
		tap_error_hint(fd, nic->tap, hint, sizeof(hint));
		bw_item_errorf(err, "tap", "cannot open tap %s: %s%s", nic->tap, strerror(-fd),
			       hint);
		return NULL;
	}
	if (tap_check_mark(nic, mark, fd, err))
		return NULL;
	n = virtio_net_new(fd, nic->mac);
	if (!n) {
		bw_item_errorf(err, "tap", "cannot open tap %s: %s", nic->tap, strerror(ENOMEM));
		return NULL;
	}
	n->is_tap = true;
	snprintf(n->name, sizeof(n->name), "net%u", i);
	if (nic->segment[0] && virtio_net_set_filter(n, vm, nic, net)) {
		/* policy_check_vm() refused such a config already; out of memory, more likely. */
		bw_item_errorf(err, "segment", "cannot set up the frame filter of segment %s",
			       nic->segment);
		net_destroy(n);
		return NULL;
	}
	return n;
}
