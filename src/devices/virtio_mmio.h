/* virtio_mmio.h: the virtio-mmio transport (version 2), its status machine, and the device contract. */
#ifndef BULWARK_VIRTIO_MMIO_H
#define BULWARK_VIRTIO_MMIO_H

#include "devices/virtqueue.h"
#include "kvm/memory.h"
#include "sandbox/thread_kind.h"

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_MMIO_WINDOW 0x200 /* registers 0x000-0x0ff, config space 0x100-0x1ff */
#define VIRTIO_MMIO_QUEUES_MAX 2 /* net: receive and transmit */
#define VIRTIO_MMIO_CONFIG_MAX 0x100

struct virtio_mmio;

/*
 * What a device implements; the transport does everything else. Every call except destroy runs
 * with the transport's lock held, so a device never sees a register write, a reset and its own
 * queue work at once. Calls marked "device thread" run only there; none may block on the guest.
 */
struct virtio_dev_ops {
	enum sandbox_kind kind; /* which allowlist the device's thread runs under */
	uint32_t device_id;	/* VIRTIO_ID_* */
	unsigned nqueues;	/* at most VIRTIO_MMIO_QUEUES_MAX */
	uint32_t config_size;	/* bytes of device config space, at most VIRTIO_MMIO_CONFIG_MAX */

	/* Device-specific feature bits offered. The transport adds VIRTIO_F_VERSION_1,
	 * VIRTIO_F_INDIRECT_DESC and VIRTIO_F_EVENT_IDX, which the virtqueue code handles. */
	uint64_t (*features)(void *dev);

	/* Called once per queue at init: QueueNumMax and the length cap for queue Q. */
	void (*queue_limits)(void *dev, unsigned q, uint16_t *size_max, uint32_t *len_max);

	/* Config space access; the transport has checked off + len <= config_size. */
	void (*config_read)(void *dev, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(void *dev, uint32_t off, const uint8_t *data,
			     uint32_t len); /* or NULL */

	/* DRIVER_OK: the queues the driver made ready are live and FEATURES are final. Returns 0, or
	 * -errno and the device then needs a reset. Any thread. */
	int (*activate)(void *dev, struct virtio_mmio *t, uint64_t features);

	/* The driver notified queue Q, or the device was just activated (called for each queue).
	 * Only called while the device is live and queue Q is live. Device thread. */
	void (*notify)(void *dev, struct virtio_mmio *t, unsigned q);

	/* Optional: a file descriptor the device thread also waits on while the device is live,
	 * with the poll EVENTS wanted; returns -1 when there is none to wait on right now (net stops
	 * reading its tap while the guest posts no receive buffers). Device thread. */
	int (*wait_fd)(void *dev, short *events);
	/* The fd wait_fd gave is ready; only called while the device is live, and may be spurious
	 * (a reset came between the poll and this call). The fd stays open until destroy. */
	void (*fd_ready)(void *dev, struct virtio_mmio *t, short revents); /* device thread */

	/* The driver reset the device: drop in-flight state. The device thread is not inside any
	 * other call. */
	void (*reset)(void *dev);

	/* Optional: adds the files the device works on (its image, tap, timer) to FDS, which its
	 * thread's seccomp filter pins reads and writes to. Before the thread starts. */
	void (*sandbox_fds)(void *dev, struct sandbox_fds *fds);

	/* Frees DEV and closes its files; the device thread has ended. May log the device's
	 * counters (frames dropped, requests refused). */
	void (*destroy)(void *dev);
};

struct virtio_mmio {
	const struct virtio_dev_ops *ops;
	void *dev;
	char name[16]; /* "blk0", "net1", "rng": the prefix of every log line about this device */
	const struct guest_mem *mem;
	uint64_t base; /* guest-physical address of the register window */
	unsigned gsi;  /* the interrupt, edge-triggered */

	pthread_mutex_t lock;
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint64_t offered;	  /* the transport's bits | ops->features() */
	uint64_t driver_features; /* as written; masked to offered at FEATURES_OK */
	uint32_t config_generation;
	struct virtqueue vq[VIRTIO_MMIO_QUEUES_MAX];

	uint32_t
	    int_status; /* InterruptStatus; atomic, so the guest's ISR never waits for the lock */
	int notify_fd[VIRTIO_MMIO_QUEUES_MAX]; /* eventfds: KVM ioeventfds on QueueNotify */
	int irq_fd;			       /* eventfd: a KVM irqfd on gsi */
	int ctl_fd;			       /* eventfd: wakes the device thread */
	pthread_t thread;
	bool thread_started;
	bool stopping; /* atomic */
	bool woken;    /* atomic: ctl_fd was written for activation, so notify every queue */

	unsigned long ignored;	/* register accesses refused (order, selector, width); atomic */
	unsigned long failures; /* times the device stopped serving (NEEDS_RESET) */
	/* What the guest costs in exits to userspace, logged at destroy (atomic): every register
	 * access that reached virtio_mmio_io, the QueueNotify writes among them (KVM's ioeventfd
	 * takes those when it is registered, so these stay near 0), and interrupts raised. */
	unsigned long accesses, notify_exits, interrupts;
};

/*
 * Prepares T to serve DEV through OPS at guest-physical BASE with interrupt GSI: eventfds, queue
 * limits, registers at reset. NAME is copied. Returns 0 or -errno; either way T owns DEV from now
 * on, and virtio_mmio_destroy() frees it. Registering the window on the
 * MMIO bus and the eventfds with KVM is the caller's job (notify_fd[q] as an ioeventfd on
 * BASE + VIRTIO_MMIO_QUEUE_NOTIFY matching q, irq_fd as an irqfd on GSI).
 */
int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
		     const char *name, const struct guest_mem *mem, uint64_t base, unsigned gsi);

/* The MMIO bus handler for the window; OPAQUE is the struct virtio_mmio. vCPU threads. */
void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* Adds T's fds to FDS: its eventfds (wake, notify, irq) and the device's own (ops->sandbox_fds). */
void virtio_mmio_fds(const struct virtio_mmio *t, struct sandbox_fds *fds);

/* Starts the device thread, confined to T's fds, which serves the queues until
 * virtio_mmio_stop(). Returns 0 or -errno. */
int virtio_mmio_start(struct virtio_mmio *t);

/*
 * One round of the device thread's work: waits up to TIMEOUT_MS (-1: forever, 0: not at all) for
 * a queue notification, a wake-up or the device's own fd, then serves what arrived. Returns false
 * once T is stopping. The thread loops on this; unit tests and fuzzers call it directly.
 */
bool virtio_mmio_serve(struct virtio_mmio *t, int timeout_ms);

/* Stops and joins the device thread (if started). */
void virtio_mmio_stop(struct virtio_mmio *t);

/* Stops the thread, calls ops->destroy and closes the eventfds. Safe on a zeroed or failed T. */
void virtio_mmio_destroy(struct virtio_mmio *t);

/* For devices, on the device thread. */

/* Sets BITS (VIRTIO_MMIO_INT_*) in InterruptStatus and raises the interrupt. */
void virtio_mmio_interrupt(struct virtio_mmio *t, uint32_t bits);

/* After vq_publish() on queue Q: interrupts the driver if it asked for it. */
void virtio_mmio_used(struct virtio_mmio *t, unsigned q);

/* Queue Q has work left after a round the device ended early (its budget, so that one guest
 * cannot hold the thread): the thread calls notify for Q again after its next wait, which sees
 * a stop request first. Returns false when it could not be scheduled. */
bool virtio_mmio_requeue(struct virtio_mmio *t, unsigned q);

/* The device changed its config space (under the lock): bumps ConfigGeneration and raises a
 * config interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio *t);

/*
 * The guest broke queue Q (or sent a request the device cannot even answer): the device stops
 * serving (DEVICE_NEEDS_RESET, a config interrupt) until the driver resets it. WHY is logged once
 * per device, with the queue; later failures are only counted.
 */
void virtio_mmio_fail(struct virtio_mmio *t, unsigned q, const char *why);

/* Whether the device is live: DRIVER_OK set, NEEDS_RESET not. Holds under the lock. */
bool virtio_mmio_live(const struct virtio_mmio *t);

#endif
