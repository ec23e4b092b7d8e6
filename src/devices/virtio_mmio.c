/* virtio_mmio.c: the virtio-mmio transport (version 2): its registers and status machine. */
#include "devices/virtio_mmio.h"

#include "devices/virtio.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* What the transport offers on top of the device's own bits; virtqueue.c handles all three. */
#define TRANSPORT_FEATURES                                                                         \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |                     \
	 VIRTIO_BIT(VIRTIO_F_EVENT_IDX))

#define STATUS_KNOWN                                                                               \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK |              \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)

/* Read back from the shared-memory registers: "no such region" (4.2.2). */
#define SHM_NONE 0xffffffffU

static void ignore(struct virtio_mmio *t)
{
	__atomic_add_fetch(&t->ignored, 1, __ATOMIC_RELAXED);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
		     const char *name, const struct guest_mem *mem, uint64_t base, unsigned gsi)
{
	memset(t, 0, sizeof(*t));
	t->irq_fd = t->ctl_fd = -1;
	for (unsigned q = 0; q < VIRTIO_MMIO_QUEUES_MAX; q++)
		t->notify_fd[q] = -1;
	/* From here on T owns DEV, so virtio_mmio_destroy() frees it even if we fail below. */
	t->ops = ops;
	t->dev = dev;
	pthread_mutex_init(&t->lock, NULL);
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->mem = mem;
	t->base = base;
	t->gsi = gsi;
	if (!ops)
		return -EINVAL;
	if (!dev || !ops->features || !ops->queue_limits || !ops->config_read || !ops->activate ||
	    !ops->notify || !ops->reset || !ops->destroy || ops->nqueues == 0 ||
	    ops->nqueues > VIRTIO_MMIO_QUEUES_MAX || ops->config_size > VIRTIO_MMIO_CONFIG_MAX)
		return -EINVAL;

	pthread_mutex_lock(&t->lock);
	for (unsigned q = 0; q < ops->nqueues; q++) {
		struct virtqueue *vq = &t->vq[q];

		ops->queue_limits(dev, q, &vq->size_max, &vq->len_max);
		vq_reset(vq);
	}
	t->offered = TRANSPORT_FEATURES | ops->features(dev);
	pthread_mutex_unlock(&t->lock);
	for (unsigned q = 0; q < ops->nqueues; q++) {
		uint16_t n = t->vq[q].size_max;

		if (n == 0 || n > VQ_SIZE_MAX || (n & (n - 1)))
			return -EINVAL;
	}

	for (unsigned q = 0; q < ops->nqueues; q++) {
		t->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->notify_fd[q] < 0)
			return -errno;
	}
	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0)
		return -errno;
	t->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->ctl_fd < 0)
		return -errno;
	return 0;
}

bool virtio_mmio_live(const struct virtio_mmio *t)
{
	return (t->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) ==
	       VIRTIO_STATUS_DRIVER_OK;
}

void virtio_mmio_interrupt(struct virtio_mmio *t, uint32_t bits)
{
	/* The bit first: the guest's handler reads InterruptStatus when the edge arrives. */
	__atomic_fetch_or(&t->int_status, bits, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&t->interrupts, 1, __ATOMIC_RELAXED);
	eventfd_write(t->irq_fd, 1); /* cannot fail short of 2^64 - 1 pending */
}

void virtio_mmio_used(struct virtio_mmio *t, unsigned q)
{
	if (q < t->ops->nqueues && vq_needs_interrupt(&t->vq[q]))
		virtio_mmio_interrupt(t, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	t->config_generation++;
	virtio_mmio_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}

/* DEVICE_NEEDS_RESET: logged once per device, counted always. Q < 0: not about one queue. */
static void needs_reset(struct virtio_mmio *t, int q, const char *why)
{
	if (t->failures++ == 0) {
		if (q >= 0)
			log_warn("%s: queue %d: %s; device stopped until the driver resets it",
				 t->name, q, why);
		else
			log_warn("%s: %s; device stopped until the driver resets it", t->name, why);
	}
	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	virtio_mmio_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_fail(struct virtio_mmio *t, unsigned q, const char *why)
{
	needs_reset(t, q < VIRTIO_MMIO_QUEUES_MAX ? (int)q : -1, why ? why : "queue broken");
}

/* Status 0: everything back to how virtio_mmio_init() left it. Config generation survives. */
static void reset(struct virtio_mmio *t)
{
	for (unsigned q = 0; q < t->ops->nqueues; q++)
		vq_reset(&t->vq[q]);
	t->ops->reset(t->dev);
	__atomic_store_n(&t->int_status, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->woken, false, __ATOMIC_SEQ_CST);
	t->status = 0;
	t->driver_features = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
}

/* DRIVER_OK: make the ready queues live, start the device, and have its thread look at them. */
static void activate(struct virtio_mmio *t)
{
	const char *why;
	int r;

	for (unsigned q = 0; q < t->ops->nqueues; q++) {
		if (!t->vq[q].ready)
			continue;
		if (vq_start(&t->vq[q], t->mem, t->driver_features, &why)) {
			needs_reset(t, (int)q, why);
			return;
		}
	}
	r = t->ops->activate(t->dev, t, t->driver_features);
	if (r) {
		needs_reset(t, -1,
			    r == -ENOMEM ? "out of memory starting the device"
					 : "the device could not start");
		return;
	}
	__atomic_store_n(&t->woken, true, __ATOMIC_SEQ_CST);
	eventfd_write(t->ctl_fd, 1);
}

/*
 * The driver only adds bits in the spec's order (ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK) or
 * FAILED; 0 resets. NEEDS_RESET is the device's: a write can neither set nor clear it.
 */
static void write_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t old = t->status, added;

	if (v == 0) {
		reset(t);
		return;
	}
	if ((v & ~STATUS_KNOWN) || (old & ~v & ~VIRTIO_STATUS_NEEDS_RESET) ||
	    ((v & VIRTIO_STATUS_NEEDS_RESET) && !(old & VIRTIO_STATUS_NEEDS_RESET))) {
		ignore(t);
		return;
	}
	added = v & ~old;
	if (((added & VIRTIO_STATUS_DRIVER) && !(v & VIRTIO_STATUS_ACKNOWLEDGE)) ||
	    ((added & VIRTIO_STATUS_FEATURES_OK) && !(v & VIRTIO_STATUS_DRIVER))) {
		ignore(t);
		return;
	}
	/* Refused features leave FEATURES_OK clear: reading it back is how the driver learns. */
	if ((added & VIRTIO_STATUS_FEATURES_OK) &&
	    !(t->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		ignore(t);
		v &= ~VIRTIO_STATUS_FEATURES_OK;
		added &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK)) {
		ignore(t);
		return;
	}
	t->status = v | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((added & VIRTIO_STATUS_DRIVER_OK) &&
	    !(t->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)))
		activate(t);
}

static void write_driver_features(struct virtio_mmio *t, uint32_t v)
{
	unsigned shift = 32 * t->drv_features_sel;
	uint64_t bits;

	/* Features are negotiated after DRIVER and final once FEATURES_OK is set. */
	if (!(t->status & VIRTIO_STATUS_DRIVER) || (t->status & VIRTIO_STATUS_FEATURES_OK) ||
	    t->drv_features_sel > 1) {
		ignore(t);
		return;
	}
	bits = (uint64_t)v << shift;
	if (bits & ~t->offered)
		ignore(t); /* the part never offered is dropped; the rest stands */
	t->driver_features &= ~(0xffffffffULL << shift);
	t->driver_features |= bits & t->offered;
}

static void set_half(uint64_t *field, uint32_t v, bool high)
{
	if (high)
		*field = (*field & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*field = (*field & ~0xffffffffULL) | v;
}

/* QueueNum, QueueReady and the ring addresses: only between FEATURES_OK and DRIVER_OK, which is
 * also the only time the queue is not live (CVE-2026-5747 rewrote a live queue's size). */
static void write_queue(struct virtio_mmio *t, uint64_t reg, uint32_t v)
{
	struct virtqueue *q = &t->vq[t->queue_sel];

	if ((t->status & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)) !=
	    VIRTIO_STATUS_FEATURES_OK) {
		ignore(t);
		return;
	}
	switch (reg) {
	case VIRTIO_MMIO_QUEUE_NUM:
		if (v > UINT16_MAX) /* never truncate into a size that looks valid */
			ignore(t);
		else
			q->size = (uint16_t)v;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (v > 1)
			ignore(t);
		else
			q->ready = v;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_half(&q->desc_gpa, v, reg == VIRTIO_MMIO_QUEUE_DESC_HIGH);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_half(&q->avail_gpa, v, reg == VIRTIO_MMIO_QUEUE_AVAIL_HIGH);
		break;
	default: /* VIRTIO_MMIO_QUEUE_USED_LOW / _HIGH */
		set_half(&q->used_gpa, v, reg == VIRTIO_MMIO_QUEUE_USED_HIGH);
		break;
	}
}

/* Registers that need the lock; QueueNotify and InterruptACK never take it. */
static void write_locked(struct virtio_mmio *t, uint64_t reg, uint32_t v)
{
	switch (reg) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->dev_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->drv_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		write_driver_features(t, v);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		if (v < t->ops->nqueues)
			t->queue_sel = v;
		else
			ignore(t);
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		write_queue(t, reg, v);
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(t, v);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		break; /* there are no regions; every selector reads back "none" */
	default: /* read-only registers, QueueReset (VIRTIO_F_RING_RESET is not offered), holes */
		ignore(t);
		break;
	}
}

static void write_reg(struct virtio_mmio *t, uint64_t reg, uint32_t v)
{
	if (reg == VIRTIO_MMIO_QUEUE_NOTIFY) {
		/* Reached only without KVM's ioeventfd. The device thread checks liveness. */
		__atomic_add_fetch(&t->notify_exits, 1, __ATOMIC_RELAXED);
		if (v < t->ops->nqueues)
			eventfd_write(t->notify_fd[v], 1);
		else
			ignore(t);
		return;
	}
	if (reg == VIRTIO_MMIO_INTERRUPT_ACK) {
		__atomic_fetch_and(&t->int_status, ~v, __ATOMIC_SEQ_CST);
		return;
	}
	pthread_mutex_lock(&t->lock);
	write_locked(t, reg, v);
	pthread_mutex_unlock(&t->lock);
}

static uint32_t read_locked(struct virtio_mmio *t, uint64_t reg)
{
	const struct virtqueue *q = &t->vq[t->queue_sel];

	switch (reg) {
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->dev_features_sel > 1
			   ? 0
			   : (uint32_t)(t->offered >> (32 * t->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q->size_max;
	case VIRTIO_MMIO_QUEUE_NUM:
		return q->size;
	case VIRTIO_MMIO_QUEUE_READY:
		return q->ready;
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_generation;
	default: /* write-only registers and holes */
		return 0;
	}
}

static uint32_t read_reg(struct virtio_mmio *t, uint64_t reg)
{
	uint32_t v;

	switch (reg) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		/* The guest's interrupt handler must never wait behind a busy device thread. */
		return __atomic_load_n(&t->int_status, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return SHM_NONE;
	default:
		break;
	}
	pthread_mutex_lock(&t->lock);
	v = read_locked(t, reg);
	pthread_mutex_unlock(&t->lock);
	return v;
}

/* Config space: 1, 2, 4 or 8 bytes, naturally aligned, wholly inside the device's config. */
static void config_io(struct virtio_mmio *t, uint32_t off, uint8_t *data, uint32_t len,
		      bool is_write)
{
	bool ok = (len == 1 || len == 2 || len == 4 || len == 8) && off % len == 0 &&
		  off <= t->ops->config_size && len <= t->ops->config_size - off;

	if (!ok || (is_write && !t->ops->config_write)) {
		ignore(t);
		return;
	}
	pthread_mutex_lock(&t->lock);
	if (is_write)
		t->ops->config_write(t->dev, off, data, len);
	else
		t->ops->config_read(t->dev, off, data, len);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_mmio *t = opaque;
	uint32_t v;

	__atomic_add_fetch(&t->accesses, 1, __ATOMIC_RELAXED);
	if (!is_write)
		memset(data, 0, len);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		if (offset - VIRTIO_MMIO_CONFIG < VIRTIO_MMIO_CONFIG_MAX)
			config_io(t, (uint32_t)(offset - VIRTIO_MMIO_CONFIG), data, len, is_write);
		else
			ignore(t);
		return;
	}
	/* Registers are 32 bits wide and must be accessed as such (4.2.2.2). */
	if (len != 4 || offset % 4) {
		ignore(t);
		return;
	}
	if (is_write) {
		memcpy(&v, data, 4);
		write_reg(t, offset, v);
	} else {
		v = read_reg(t, offset);
		memcpy(data, &v, 4);
	}
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (!t->ops)
		return;
	virtio_mmio_stop(t);
	log_debug("%s: %lu register accesses (%lu QueueNotify), %lu interrupts, %lu ignored, "
		  "%lu failures",
		  t->name, t->accesses, t->notify_exits, t->interrupts, t->ignored, t->failures);
	if (t->dev && t->ops->destroy)
		t->ops->destroy(t->dev);
	for (unsigned q = 0; q < VIRTIO_MMIO_QUEUES_MAX; q++)
		close_fd(&t->notify_fd[q]);
	close_fd(&t->irq_fd);
	close_fd(&t->ctl_fd);
	pthread_mutex_destroy(&t->lock);
	t->ops = NULL;
	t->dev = NULL;
}
