/* virtio_net_priv.h: the virtio-net device's state, shared by its two files (virtio_net.c: the
 * device and its setup; virtio_net_queues.c: the transmit and receive data path). */
#ifndef BULWARK_VIRTIO_NET_PRIV_H
#define BULWARK_VIRTIO_NET_PRIV_H

#include "devices/net_filter.h"
#include "devices/virtio.h"
#include "devices/virtio_net.h"
#include "devices/virtqueue.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_MRG_RXBUF 15

/* struct virtio_net_hdr (5.1.6): with VIRTIO_F_VERSION_1 it always carries num_buffers. */
#define HDR_FLAGS 0
#define HDR_GSO_TYPE 1
#define HDR_HDR_LEN 2
#define HDR_GSO_SIZE 4
#define HDR_CSUM_START 6
#define HDR_CSUM_OFFSET 8
#define HDR_NUM_BUFFERS 10
#define HDR_LEN 12
#define HDR_F_NEEDS_CSUM 1
#define GSO_NONE 0
#define GSO_TCPV4 1
#define GSO_TCPV6 4
#define GSO_ECN 0x80

#define RXQ 0
#define TXQ 1
#define QUEUE_SIZE 256
#define ETH_HEADER 14 /* a frame without even an Ethernet header is refused by the tap anyway */
#define BUF_LEN (HDR_LEN + VIRTIO_NET_FRAME_MAX)
/* Work per wake-up, so one direction cannot starve the other: each stops after its budget and
 * comes back on the next round of the device thread (wait_fd). */
#define TX_BUDGET 128
#define RX_BUDGET 64
/* Writes refused with EAGAIN although the tap said it was writable, before the frame is dropped. */
#define TX_RETRIES 16

/* Why frames were dropped (or receiving stalled), logged once at destroy. */
enum net_count {
	TX_SHORT,
	TX_LONG,
	TX_BAD_HDR,
	TX_TAP_ERR,
	RX_NO_BUF,
	RX_TOO_BIG,
	RX_TAP_BAD,
	NET_COUNTS
};

/* The segment's frame filter of a NIC that names one; absent otherwise. */
struct net_guard {
	struct net_filter f;
	struct net_audit audit;
	unsigned long drops[NET_DROP_REASONS];
	char vm[CONFIG_NAME_MAX + 1]; /* for the audit line */
	char tap[CONFIG_TAP_MAX + 1];
	struct net_drop d; /* scratch for the device thread */
};

struct virtio_net {
	int fd;
	bool is_tap; /* a real tap, which takes TUNSETOFFLOAD; tests use a socketpair */
	uint8_t mac[6];
	char name[16];

	bool active;	       /* between activate and reset (or a broken queue) */
	bool rx_live, tx_live; /* the driver made the queue ready before DRIVER_OK */
	uint64_t features;
	bool offloads_pending; /* TUNSETOFFLOAD still to do for this activation */
	bool tap_gone;	       /* the tap failed for good: no more polling it */
	bool guest_warned;     /* one log line per device about a misbehaving guest */
	bool tap_warned;       /* and one about the tap */

	/* Transmit: the frame in tx_buf waits for the tap while tx_pending (it said EAGAIN). */
	bool tx_pending;
	bool tx_more; /* the budget ran out with chains left: come back when the tap is writable */
	uint16_t tx_head;
	unsigned tx_retries;
	size_t tx_len;
	size_t tx_off; /* where the frame starts in tx_buf: NET_VLAN_HLEN, or 0 once tagged */

	/* Receive: rx_len bytes (header included) of one frame read from the tap, not yet delivered
	 * because the guest has posted too few buffers; 0 when there is none. */
	size_t rx_len;
	size_t rx_off; /* where it starts in rx_buf: NET_VLAN_HLEN once its tag is removed */
	bool rx_stalled;

	bool completed; /* chains completed on the queue being served, not yet published */
	unsigned long count[NET_COUNTS];
	struct net_guard *guard; /* NULL: the NIC is in no segment, nothing is filtered */

	/* Scratch for the device thread; nothing here outlives one call (no chain survives a
	 * reset). */
	struct vq_req req, req2;
	uint16_t rx_heads[QUEUE_SIZE];
	uint32_t rx_lens[QUEUE_SIZE];
	uint8_t tx_buf[NET_VLAN_HLEN + BUF_LEN]; /* room in front for a VLAN tag */
	uint8_t rx_buf[BUF_LEN + 1];		 /* one more byte tells a frame over the maximum */
};

static inline bool net_has(const struct virtio_net *n, unsigned bit)
{
	return n->features & VIRTIO_BIT(bit);
}

/* Counts a frame the guest got wrong; logs the first one of the device. */
void net_guest_fault(struct virtio_net *n, enum net_count c, const char *why);

/* Counts a frame the segment's filter dropped (D says why) and logs it, rate-limited. */
void net_filter_drop(struct virtio_net *n, const struct net_drop *d);

/* Counts a tap error; logs the first one of the device. */
void net_tap_fault(struct virtio_net *n, enum net_count c, const char *what, int err);

/* The guest broke queue Q: stop serving until it resets the device. */
void net_fail(struct virtio_net *n, struct virtio_mmio *t, unsigned q, const char *why);

/* Transmits what the guest queued, up to a budget (virtio_net_queues.c). */
void net_tx_process(struct virtio_net *n, struct virtio_mmio *t);

/* Delivers frames from the tap into the guest's receive buffers, up to a budget. */
void net_rx_process(struct virtio_net *n, struct virtio_mmio *t);

#endif
