/* virtio_net.h: virtio-net over a tap device, every frame copied once into host memory. */
#ifndef BULWARK_VIRTIO_NET_H
#define BULWARK_VIRTIO_NET_H

#include "config/config.h"
#include "devices/net_filter.h"
#include "devices/virtio_mmio.h"
#include "policy/policy_network.h"

#include <stdint.h>

/* Largest frame either way, without the virtio-net header: 64 KiB of TSO payload plus
 * Ethernet and VLAN headers, as Firecracker allows. */
#define VIRTIO_NET_FRAME_MAX 65550

struct virtio_net;

extern const struct virtio_dev_ops virtio_net_ops;

/*
 * Opens the tap of NIC, nics[I] of the VM named VM whose taps carry MARK ("" for none: see
 * net/net_mark.h), as IFF_TAP | IFF_NO_PI | IFF_VNET_HDR; a NIC naming a segment of NET (the
 * policy's network section, checked against the config already) gets its frame filter. Returns
 * the device, or NULL with ERR about NIC's "tap" or "segment" ("cannot open tap tap0: ...");
 * config_nic_error() places it.
 */
struct virtio_net *virtio_net_open(const struct config_nic *nic, unsigned i, const char *vm,
				   const char *mark, const struct policy_network *net,
				   struct bw_error *err);

/* A device on an already open, non-blocking FD that behaves as such a tap (taken over), for tests
 * and fuzzers: a socketpair(AF_UNIX, SOCK_SEQPACKET) carrying a virtio-net header per frame.
 * (Writing to a socket whose peer is gone raises SIGPIPE: callers using one ignore it.) */
struct virtio_net *virtio_net_new(int fd, const uint8_t mac[6]);

/* Frames dropped, by reason; logged once at destroy. */
struct virtio_net_stats {
	unsigned long tx_short;	  /* chain shorter than the virtio-net and Ethernet headers */
	unsigned long tx_long;	  /* frame over VIRTIO_NET_FRAME_MAX */
	unsigned long tx_bad_hdr; /* absurd header (flags, gso, csum, hdr_len) or writable buffer */
	unsigned long tx_tap_err; /* the tap refused the write */
	unsigned long rx_no_buf;  /* times receiving stalled for lack of guest buffers */
	unsigned long rx_too_big; /* frame larger than the guest's buffers could ever hold */
	unsigned long rx_tap_bad; /* malformed frame or error from the tap */
};

void virtio_net_get_stats(const struct virtio_net *n, struct virtio_net_stats *s);

/*
 * Puts N behind the frame filter of NIC's segment in NET, VM naming it in the audit
 * lines; before the device starts. Returns 0, -ENOENT when NET has no such segment, -ENOMEM.
 */
int virtio_net_set_filter(struct virtio_net *n, const char *vm, const struct config_nic *nic,
			  const struct policy_network *net);

/* Frames the filter dropped for reason R (0 without a filter); logged once at destroy. */
unsigned long virtio_net_drops(const struct virtio_net *n, enum net_drop_reason r);

#endif
