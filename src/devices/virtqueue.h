/* virtqueue.h: split virtqueues, the only code that parses guest rings and descriptor chains. */
#ifndef BULWARK_VIRTQUEUE_H
#define BULWARK_VIRTQUEUE_H

#include "kvm/memory.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest queue any device offers; also bounds every loop over a ring. */
#define VQ_SIZE_MAX 1024
/* Buffers one request may hold, direct or through one indirect table. Fixes struct vq_req's size,
 * so a request never allocates, whatever the guest writes. */
#define VQ_CHAIN_MAX 256
/* Default cap on a chain's total bytes in each direction; devices may lower it (q->len_max). */
#define VQ_LEN_MAX (64U << 20)

/* One guest buffer, already checked: host points into guest RAM for len bytes. */
struct vq_buf {
	uint8_t *host;
	uint32_t len;
};

/*
 * One request: a descriptor chain taken from the avail ring, as host buffers. Device-readable
 * buffers come first (buf[0 .. n_out)), device-writable ones after (buf[n_out .. n_out + n_in));
 * a chain that mixes them in any other order is refused, as the spec requires that order.
 * The buffers still point into guest RAM, which the guest can change at any time: devices copy
 * headers out once with vq_req_read() and check the copy.
 */
struct vq_req {
	uint16_t head; /* the chain's head index: what goes back in the used ring */
	uint16_t n_out, n_in;
	uint32_t out_len, in_len; /* sum of each part's lengths, each at most the queue's len_max */
	struct vq_buf buf[VQ_CHAIN_MAX];
};

/*
 * One queue. The transport fills the fields under "driver's choice" from register writes while
 * the queue is not live, then calls vq_start(); from then on only the device thread touches it.
 */
struct virtqueue {
	/* Set by the device at creation. */
	uint16_t size_max; /* QueueNumMax: a power of two, at most VQ_SIZE_MAX */
	uint32_t len_max;  /* cap on out_len and in_len of one chain; 0 means VQ_LEN_MAX */

	/* The driver's choice, written through the transport's registers. */
	uint16_t size; /* QueueNum */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready; /* QueueReady */

	/* Set by vq_start(), private to virtqueue.c after that. */
	bool live;
	bool indirect;	/* VIRTIO_F_INDIRECT_DESC negotiated */
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	const struct guest_mem *mem;
	uint8_t *desc, *avail, *used; /* host pointers, each ring part checked wholly inside RAM */
	uint16_t last_avail;	      /* next avail ring entry to take */
	uint16_t used_idx;	      /* next used ring entry to fill (published or not) */
	uint16_t published_idx;	      /* used->idx as the driver last saw it from us */
	uint16_t signalled_idx;	      /* used index at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
	bool broken;	 /* the guest broke the queue; nothing is served until reset */
	const char *why; /* why it broke (a static string), for the one log line */
};

/* Puts Q back to its reset state: not ready, not live, the driver's fields cleared. */
void vq_reset(struct virtqueue *q);

/*
 * Checks the driver's geometry (size a power of two, 1..size_max; desc 16-, avail 2- and used
 * 4-byte aligned; each part wholly inside guest RAM) and makes Q live with the negotiated
 * FEATURES. Returns 0, or -EINVAL with *WHY saying what was wrong.
 */
int vq_start(struct virtqueue *q, const struct guest_mem *mem, uint64_t features, const char **why);

/*
 * Takes the next available chain into REQ. Returns 1 when it did, 0 when the avail ring holds
 * nothing new, and -EINVAL when the guest broke the queue (bad index, loop, bad indirect table,
 * buffer outside RAM, lengths over the cap, avail index jump, readable after writable): Q is then
 * marked broken with q->why set, and every later call returns -EINVAL until vq_reset(). The
 * avail index is read once per call with a single 16-bit load; each descriptor is copied once.
 */
int vq_pop(struct virtqueue *q, struct vq_req *req);

/* Gives back the last N chains taken by vq_pop() and not yet used (a device that found too few
 * buffers for what it has to deliver); they will be popped again. */
void vq_unpop(struct virtqueue *q, uint16_t n);

/* Writes a used element for HEAD with WRITTEN bytes; the driver sees it after vq_publish(). */
void vq_add_used(struct virtqueue *q, uint16_t head, uint32_t written);

/* Makes every element added since the last call visible to the driver (one used->idx store). */
void vq_publish(struct virtqueue *q);

/* vq_add_used() then vq_publish(). */
void vq_push(struct virtqueue *q, const struct vq_req *req, uint32_t written);

/* After vq_publish(): whether the driver asked to be interrupted for what was published since the
 * last interrupt (VRING_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX). */
bool vq_needs_interrupt(struct virtqueue *q);

/* Before a device sleeps on an empty queue: asks the driver for a notification when it adds
 * buffers. Returns true if buffers arrived meanwhile, in which case the caller pops again. */
bool vq_enable_notify(struct virtqueue *q);

/* While a device is busy draining the queue: asks the driver not to notify. */
void vq_disable_notify(struct virtqueue *q);

/* Copies LEN bytes from REQ's device-readable part, starting OFF bytes in, into DST.
 * Returns 0, or -EFAULT when that part holds fewer than OFF + LEN bytes. */
int vq_req_read(const struct vq_req *req, size_t off, void *dst, size_t len);

/* Copies LEN bytes from SRC into REQ's device-writable part, starting OFF bytes in.
 * Returns 0, or -EFAULT when that part holds fewer than OFF + LEN bytes. */
int vq_req_write(const struct vq_req *req, size_t off, const void *src, size_t len);

#endif
