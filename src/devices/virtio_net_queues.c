/* virtio_net_queues.c: virtio-net's data path: transmit chains copied once, checked and written
 * to the tap; frames read from the tap copied into receive chains (5.1.6). */
#include "devices/virtio_net_priv.h"
#include "util/bytes.h"

#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* Completes chain HEAD with WRITTEN bytes; the driver sees it at finish(). */
static void complete(struct virtio_net *n, struct virtqueue *q, uint16_t head, uint32_t written)
{
	vq_add_used(q, head, written);
	n->completed = true;
}

/* Publishes what was completed on queue QI, and interrupts the driver if it wants; nothing at
 * all when nothing was completed (no interrupt for an empty kick). */
static void finish(struct virtio_net *n, struct virtio_mmio *t, unsigned qi)
{
	if (!n->completed)
		return;
	n->completed = false;
	vq_publish(&t->vq[qi]);
	virtio_mmio_used(t, qi);
}

/* Checks the header H of the frame of FRAME bytes copied into tx_buf. Returns NULL or why the
 * tap must not see it (5.1.6.2.1, and the checks DPDK missed in CVE-2024-11614). */
static const char *tx_header_error(const struct virtio_net *n, const uint8_t *h, uint32_t frame)
{
	uint8_t flags = h[HDR_FLAGS], gso = h[HDR_GSO_TYPE];
	uint32_t csum_end =
	    (uint32_t)load_le16(h + HDR_CSUM_START) + load_le16(h + HDR_CSUM_OFFSET) + 2;
	uint16_t gso_size = load_le16(h + HDR_GSO_SIZE);

	if (flags & ~HDR_F_NEEDS_CSUM)
		return "unknown header flags";
	if (flags & HDR_F_NEEDS_CSUM) {
		if (!net_has(n, VIRTIO_NET_F_CSUM))
			return "checksum offload without VIRTIO_NET_F_CSUM";
		if (csum_end > frame)
			return "checksum position beyond the frame";
	}
	if (load_le16(h + HDR_HDR_LEN) > frame)
		return "hdr_len beyond the frame";
	if (gso == GSO_NONE)
		return NULL;
	if ((gso & GSO_ECN) && !net_has(n, VIRTIO_NET_F_HOST_ECN))
		return "ECN segmentation without VIRTIO_NET_F_HOST_ECN";
	gso &= (uint8_t)~GSO_ECN;
	if (!((gso == GSO_TCPV4 && net_has(n, VIRTIO_NET_F_HOST_TSO4)) ||
	      (gso == GSO_TCPV6 && net_has(n, VIRTIO_NET_F_HOST_TSO6))))
		return "segmentation type unknown or not negotiated";
	if (!(flags & HDR_F_NEEDS_CSUM))
		return "segmentation without checksum offload";
	if (gso_size == 0 || gso_size > frame)
		return "gso_size zero or larger than the frame";
	return NULL;
}

/*
 * Inserts an 802.1Q tag with VID after the MACs of the frame whose header starts at
 * BUF + NET_VLAN_HLEN: afterwards header and frame start at BUF, NET_VLAN_HLEN bytes longer (only
 * header and MACs move, the payload stays). The header's offsets from the frame start move with
 * them. Returns false when they would overflow.
 */
static bool vlan_push(uint8_t *buf, unsigned vid)
{
	uint8_t *h = buf + NET_VLAN_HLEN;
	uint16_t csum_start = load_le16(h + HDR_CSUM_START), hdr_len = load_le16(h + HDR_HDR_LEN);

	if (((h[HDR_FLAGS] & HDR_F_NEEDS_CSUM) && csum_start > UINT16_MAX - NET_VLAN_HLEN) ||
	    hdr_len > UINT16_MAX - NET_VLAN_HLEN)
		return false;
	if (h[HDR_FLAGS] & HDR_F_NEEDS_CSUM)
		store_le16(h + HDR_CSUM_START, (uint16_t)(csum_start + NET_VLAN_HLEN));
	if (hdr_len)
		store_le16(h + HDR_HDR_LEN, (uint16_t)(hdr_len + NET_VLAN_HLEN));
	memmove(buf, h, HDR_LEN + 12);
	buf[HDR_LEN + 12] = 0x81;
	buf[HDR_LEN + 13] = 0x00;
	buf[HDR_LEN + 14] = (uint8_t)(vid >> 8 & 0x0f);
	buf[HDR_LEN + 15] = (uint8_t)vid;
	return true;
}

/* The segment's filter on the copy of LEN bytes (header included) at tx_buf + NET_VLAN_HLEN;
 * tags what passes for the segment's VLAN. Returns false when the frame is dropped. */
static bool tx_guard(struct virtio_net *n, uint32_t *len)
{
	struct net_guard *g = n->guard;
	const uint8_t *h = n->tx_buf + NET_VLAN_HLEN;
	uint8_t gso = h[HDR_GSO_TYPE] & (uint8_t)~GSO_ECN; /* checked by tx_header_error() */
	struct net_offload off = {.csum = h[HDR_FLAGS] & HDR_F_NEEDS_CSUM,
				  .csum_start = load_le16(h + HDR_CSUM_START),
				  .csum_offset = load_le16(h + HDR_CSUM_OFFSET),
				  .gso = gso == GSO_TCPV4   ? 4
					 : gso == GSO_TCPV6 ? 6
							    : 0};

	if (net_filter_tx(&g->f, h + HDR_LEN, *len - HDR_LEN, &off, &g->d)) {
		net_filter_drop(n, &g->d);
		return false;
	}
	if (!g->f.vlan)
		return true;
	if (!vlan_push(n->tx_buf, g->f.vlan)) {
		net_guest_fault(n, TX_BAD_HDR, "header offsets too large to add a VLAN tag");
		return false;
	}
	n->tx_off = 0;
	*len += NET_VLAN_HLEN;
	return true;
}

/* Copies the chain in n->req into tx_buf and checks the copy: the guest can change its buffers
 * at any time, but not what the tap will see. Completes a refused chain at once; leaves an
 * accepted one pending for tx_flush(). */
static void tx_take(struct virtio_net *n, struct virtqueue *q)
{
	const struct vq_req *req = &n->req;
	uint32_t len = req->out_len;
	uint8_t *buf = n->tx_buf + NET_VLAN_HLEN;
	const char *why;

	if (req->n_in) {
		net_guest_fault(n, TX_BAD_HDR, "device-writable buffer in a transmit chain");
	} else if (len < HDR_LEN + ETH_HEADER) {
		net_guest_fault(n, TX_SHORT, "shorter than the virtio-net and Ethernet headers");
	} else if (len > BUF_LEN) {
		net_guest_fault(n, TX_LONG, "longer than the maximum frame");
	} else {
		(void)vq_req_read(req, 0, buf, len); /* cannot fail: len is out_len */
		n->tx_off = NET_VLAN_HLEN;
		why = tx_header_error(n, buf, len - HDR_LEN);
		if (!why && n->guard && !tx_guard(n, &len))
			goto done; /* counted and logged there */
		if (!why) {
			n->tx_pending = true;
			n->tx_head = req->head;
			n->tx_len = len;
			n->tx_retries = 0;
			return;
		}
		net_guest_fault(n, TX_BAD_HDR, why);
	}
done:
	complete(n, q, req->head, 0);
}

/* Writes the pending frame to the tap in one write(). Returns 0 when it is done with it (sent,
 * or dropped on an error), -EAGAIN when it is still pending until the tap is writable. */
static int tx_flush(struct virtio_net *n, struct virtqueue *q)
{
	ssize_t r;

	do
		r = write(n->fd, n->tx_buf + n->tx_off, n->tx_len);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !n->tap_gone &&
	    ++n->tx_retries <= TX_RETRIES)
		return -EAGAIN;
	if (r < 0)
		net_tap_fault(n, TX_TAP_ERR, "cannot write to the tap, dropping frames", errno);
	n->tx_pending = false;
	complete(n, q, n->tx_head, 0);
	return 0;
}

void net_tx_process(struct virtio_net *n, struct virtio_mmio *t)
{
	struct virtqueue *q = &t->vq[TXQ];
	unsigned budget = TX_BUDGET;
	int r;

	n->tx_more = false;
	if (!n->tx_live)
		return;
	vq_disable_notify(q);
	if (n->tx_pending && tx_flush(n, q) < 0)
		goto out;
	for (;;) {
		if (budget-- == 0) {
			n->tx_more = true;
			break;
		}
		r = vq_pop(q, &n->req);
		if (r < 0) {
			finish(n, t, TXQ);
			net_fail(n, t, TXQ, q->why);
			return;
		}
		if (r == 0) {
			if (vq_enable_notify(q)) {
				vq_disable_notify(q);
				continue;
			}
			break;
		}
		tx_take(n, q);
		if (n->tx_pending && tx_flush(n, q) < 0)
			break;
	}
out:
	finish(n, t, TXQ);
}

/* Whether the header the tap wrote asks only for what the driver negotiated. Frames the tap
 * queued under an earlier driver's offloads can still arrive after a reset. */
static bool rx_header_ok(const struct virtio_net *n)
{
	uint8_t flags = n->rx_buf[HDR_FLAGS], gso = n->rx_buf[HDR_GSO_TYPE];

	if ((flags & HDR_F_NEEDS_CSUM) && !net_has(n, VIRTIO_NET_F_GUEST_CSUM))
		return false;
	if ((gso & GSO_ECN) && !net_has(n, VIRTIO_NET_F_GUEST_ECN))
		return false;
	gso &= (uint8_t)~GSO_ECN;
	return gso == GSO_NONE || (gso == GSO_TCPV4 && net_has(n, VIRTIO_NET_F_GUEST_TSO4)) ||
	       (gso == GSO_TCPV6 && net_has(n, VIRTIO_NET_F_GUEST_TSO6));
}

/* Removes the VLAN tag of the frame in rx_buf (LEN bytes with the header, checked to be tagged):
 * header and MACs move up by NET_VLAN_HLEN, their offsets with them. Returns false when they do
 * not fit the untagged frame. */
static bool vlan_pop(uint8_t *buf)
{
	uint16_t csum_start = load_le16(buf + HDR_CSUM_START),
		 hdr_len = load_le16(buf + HDR_HDR_LEN);

	if (buf[HDR_FLAGS] & HDR_F_NEEDS_CSUM) {
		if (csum_start < NET_ETH_HLEN + NET_VLAN_HLEN)
			return false;
		store_le16(buf + HDR_CSUM_START, (uint16_t)(csum_start - NET_VLAN_HLEN));
	}
	/* A hint, which the tap may give without the tag counted: kept within the frame. */
	store_le16(buf + HDR_HDR_LEN,
		   hdr_len > NET_VLAN_HLEN ? (uint16_t)(hdr_len - NET_VLAN_HLEN) : 0);
	memmove(buf + NET_VLAN_HLEN, buf, HDR_LEN + 12);
	return true;
}

/* The segment's filter on the frame of LEN bytes (header included) just read into rx_buf;
 * removes the segment's VLAN tag. Returns false when the frame is dropped. */
static bool rx_guard(struct virtio_net *n, size_t len)
{
	struct net_guard *g = n->guard;

	if (!net_filter_rx(&g->f, n->rx_buf + HDR_LEN, len - HDR_LEN, &g->d)) {
		if (!g->f.vlan)
			return true;
		if (vlan_pop(n->rx_buf)) {
			n->rx_off = NET_VLAN_HLEN;
			return true;
		}
		g->d.reason = NET_DROP_RX_MALFORMED;
	}
	net_filter_drop(n, &g->d);
	return false;
}

/* Reads one frame from the tap into rx_buf. Returns 1 when there is one to deliver, 0 when the
 * tap has nothing (or is gone), -1 when a bad frame was dropped. */
static int rx_fill(struct virtio_net *n)
{
	ssize_t r;

	if (n->rx_len)
		return 1;
	if (n->tap_gone)
		return 0;
	do
		r = read(n->fd, n->rx_buf, sizeof(n->rx_buf));
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (r <= 0) {
		/* A tap fails like this only when it is gone; polling it again would spin. */
		net_tap_fault(n, RX_TAP_BAD, "the tap failed, no more receiving",
			      r ? errno : EPIPE);
		n->tap_gone = true;
		return 0;
	}
	if (r < HDR_LEN || r > BUF_LEN || !rx_header_ok(n)) {
		n->count[RX_TAP_BAD]++;
		return -1;
	}
	n->rx_off = 0;
	if (n->guard && !rx_guard(n, (size_t)r))
		return -1;
	n->rx_len = (size_t)r - n->rx_off;
	return 1;
}

/*
 * Copies the frame in rx_buf into receive chains: one chain, or with MRG_RXBUF as many as it
 * takes, num_buffers set in the first header and every used element added at once. Returns 1
 * when the frame is gone (delivered, or dropped as too big for the guest's buffers), 0 when the
 * guest has not posted enough buffers yet (nothing taken, notification asked for), -1 when the
 * guest broke the queue (*WHY says how).
 */
static int rx_deliver(struct virtio_net *n, struct virtqueue *q, const char **why)
{
	size_t off = 0, len = n->rx_len;
	unsigned nbufs = 0, empty = 0;
	uint8_t num[2];

	while (off < len) {
		struct vq_req *req = nbufs ? &n->req2 : &n->req;
		size_t chunk;
		int r;

		if (nbufs == q->size || (nbufs == 1 && !net_has(n, VIRTIO_NET_F_MRG_RXBUF))) {
			/* More than the guest could ever post: give its buffers back. */
			vq_unpop(q, (uint16_t)nbufs);
			n->count[RX_TOO_BIG]++;
			n->rx_len = 0;
			return 1;
		}
		r = vq_pop(q, req);
		if (r < 0) {
			*why = q->why;
			return -1;
		}
		if (r == 0) {
			/* Ask for a notification while the chains seen are still taken, so that
			 * with EVENT_IDX it comes for the next buffer, not one already seen. A
			 * guest moving its index back and forth only stalls itself (bounded). */
			bool more = vq_enable_notify(q) && ++empty < QUEUE_SIZE;

			if (more)
				continue;
			vq_unpop(q, (uint16_t)nbufs);
			return 0;
		}
		nbufs++;
		if (req->n_out || req->in_len < HDR_LEN) {
			*why = "receive chain device-readable, or without room for the header";
			return -1;
		}
		chunk = len - off < req->in_len ? len - off : req->in_len;
		(void)vq_req_write(req, 0, n->rx_buf + n->rx_off + off, chunk);
		n->rx_heads[nbufs - 1] = req->head;
		n->rx_lens[nbufs - 1] = (uint32_t)chunk;
		off += chunk;
	}
	store_le16(num, (uint16_t)nbufs);
	(void)vq_req_write(&n->req, HDR_NUM_BUFFERS, num, sizeof(num));
	for (unsigned i = 0; i < nbufs; i++)
		complete(n, q, n->rx_heads[i], n->rx_lens[i]);
	n->rx_len = 0;
	return 1;
}

void net_rx_process(struct virtio_net *n, struct virtio_mmio *t)
{
	struct virtqueue *q = &t->vq[RXQ];
	unsigned budget = RX_BUDGET;
	const char *why = NULL;
	int r;

	if (!n->rx_live)
		return;
	while (budget--) {
		r = rx_fill(n);
		if (r == 0)
			break;
		if (r < 0)
			continue;
		r = rx_deliver(n, q, &why);
		if (r < 0) {
			finish(n, t, RXQ);
			net_fail(n, t, RXQ, why);
			return;
		}
		if (r == 0) {
			/* Keep the frame; stop reading the tap until the guest notifies. */
			if (!n->rx_stalled)
				n->count[RX_NO_BUF]++;
			n->rx_stalled = true;
			break;
		}
		n->rx_stalled = false;
	}
	/* While the guest has buffers we need no notification when it adds more. */
	if (!n->rx_stalled)
		vq_disable_notify(q);
	finish(n, t, RXQ);
}
