/* virtqueue.c: split virtqueues, the only code that parses guest rings and descriptor chains. */
#include "devices/virtqueue.h"

#include "devices/virtio.h"

#include <errno.h>
#include <string.h>

/* A descriptor as the guest wrote it; always copied out of guest RAM before use. */
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

_Static_assert(sizeof(struct vq_desc) == 16, "a split-ring descriptor is 16 bytes");
_Static_assert((VQ_SIZE_MAX & (VQ_SIZE_MAX - 1)) == 0, "queue sizes are powers of two");

/* Ring layout (2.7): avail = flags, idx, ring[size], used_event; used = flags, idx,
 * {id, len}[size], avail_event. */
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_IDX 2
#define USED_RING 4
#define USED_ELEM 8

static size_t desc_bytes(uint16_t size)
{
	return (size_t)size * sizeof(struct vq_desc);
}

static size_t avail_bytes(uint16_t size)
{
	return AVAIL_RING + 2 * (size_t)size + 2;
}

static size_t used_bytes(uint16_t size)
{
	return USED_RING + USED_ELEM * (size_t)size + 2;
}

/* One 16-bit load or store: the guest may change these at any time, and it must see ours whole.
 * Every ring part was checked to be aligned, and guest RAM is mapped page-aligned. */
static uint16_t load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED);
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, v, __ATOMIC_RELAXED);
}

static void store32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, v, __ATOMIC_RELAXED);
}

void vq_reset(struct virtqueue *q)
{
	uint16_t size_max = q->size_max;
	uint32_t len_max = q->len_max;

	memset(q, 0, sizeof(*q));
	q->size_max = size_max;
	q->len_max = len_max;
	q->size = size_max; /* QueueNum reads back the maximum until the driver picks one */
}

int vq_start(struct virtqueue *q, const struct guest_mem *mem, uint64_t features, const char **why)
{
	uint16_t n = q->size;

	*why = "";
	if (!q->ready)
		*why = "queue started before the driver made it ready";
	else if (n == 0 || (n & (n - 1)) != 0 || n > q->size_max || q->size_max > VQ_SIZE_MAX)
		*why = "queue size is not a power of two from 1 to the maximum offered";
	else if (q->desc_gpa % VRING_DESC_ALIGN || q->avail_gpa % VRING_AVAIL_ALIGN ||
		 q->used_gpa % VRING_USED_ALIGN)
		*why = "ring misaligned (descriptors 16, avail 2, used 4 bytes)";
	else if (!(q->desc = gmem_ptr(mem, q->desc_gpa, desc_bytes(n))))
		*why = "descriptor table not wholly inside guest RAM";
	else if (!(q->avail = gmem_ptr(mem, q->avail_gpa, avail_bytes(n))))
		*why = "avail ring not wholly inside guest RAM";
	else if (!(q->used = gmem_ptr(mem, q->used_gpa, used_bytes(n))))
		*why = "used ring not wholly inside guest RAM";
	if (**why) {
		q->desc = q->avail = q->used = NULL;
		return -EINVAL;
	}
	q->mem = mem;
	q->indirect = features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	q->event_idx = features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	/* A fresh queue starts at index 0 on both sides (2.7.13.1), whatever the rings hold. */
	q->last_avail = q->used_idx = q->published_idx = 0;
	q->signalled_valid = false;
	q->broken = false;
	q->why = NULL;
	q->live = true;
	return 0;
}

static int broken(struct virtqueue *q, const char *why)
{
	q->broken = true;
	q->why = why;
	return -EINVAL;
}

/* Where a chain's descriptors come from: the queue's table, or one indirect table. */
struct desc_table {
	const uint8_t *base;
	uint16_t n;
};

/* Adds one buffer to REQ, or returns why it cannot be. */
static const char *add_buf(const struct virtqueue *q, struct vq_req *req, const struct vq_desc *d)
{
	uint32_t cap = q->len_max ? q->len_max : VQ_LEN_MAX;
	bool write = d->flags & VRING_DESC_F_WRITE;
	uint32_t *total = write ? &req->in_len : &req->out_len;
	unsigned i = req->n_out + req->n_in;
	uint8_t *host;

	if (i >= VQ_CHAIN_MAX)
		return "descriptor chain longer than bulwark serves";
	if (d->len == 0)
		return "zero-length buffer";
	if (!write && req->n_in)
		return "device-readable buffer after a device-writable one";
	if (d->len > cap || *total > cap - d->len)
		return "chain's total length over the device's cap";
	if (!(host = gmem_ptr(q->mem, d->addr, d->len)))
		return "buffer not wholly inside guest RAM";
	*total += d->len;
	req->buf[i] = (struct vq_buf){.host = host, .len = d->len};
	if (write)
		req->n_in++;
	else
		req->n_out++;
	return NULL;
}

/* Switches T to the indirect table D points at, or returns why it cannot. */
static const char *enter_indirect(const struct virtqueue *q, const struct vq_desc *d,
				  struct desc_table *t)
{
	if (!q->indirect)
		return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
	if (d->flags & VRING_DESC_F_NEXT)
		return "indirect descriptor with NEXT set";
	if (d->len == 0 || d->len % sizeof(struct vq_desc))
		return "indirect table length not a multiple of 16";
	if (d->len / sizeof(struct vq_desc) > VQ_CHAIN_MAX)
		return "indirect table longer than bulwark serves";
	if (!(t->base = gmem_ptr(q->mem, d->addr, d->len)))
		return "indirect table not wholly inside guest RAM";
	t->n = (uint16_t)(d->len / sizeof(struct vq_desc));
	return NULL;
}

/* Walks the chain at HEAD into REQ. Every step is bounded: a table of n descriptors is walked
 * at most n times, so a loop ends as an error rather than a hang. */
static const char *walk_chain(const struct virtqueue *q, uint16_t head, struct vq_req *req)
{
	struct desc_table t = {.base = q->desc, .n = q->size};
	bool indirect = false;
	uint16_t i = head;
	unsigned steps = 0;
	struct vq_desc d;
	const char *why;

	if (head >= q->size)
		return "avail ring names a head index past the queue size";
	req->head = head;
	req->n_out = req->n_in = 0;
	req->out_len = req->in_len = 0;
	for (;;) {
		if (++steps > t.n)
			return "descriptor chain loops";
		memcpy(&d, t.base + (size_t)i * sizeof(d), sizeof(d)); /* the one fetch */
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect)
				return "nested indirect table";
			if (req->n_out + req->n_in)
				return "indirect descriptor inside a chain";
			if ((why = enter_indirect(q, &d, &t)))
				return why;
			indirect = true;
			i = 0;
			steps = 0;
			continue;
		}
		if ((why = add_buf(q, req, &d)))
			return why;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return NULL;
		i = d.next;
		if (i >= t.n)
			return "next index past the end of its table";
	}
}

int vq_pop(struct virtqueue *q, struct vq_req *req)
{
	uint16_t avail_idx, pending, head;
	const char *why;

	if (!q->live || q->broken)
		return -EINVAL;
	avail_idx = load16(q->avail + AVAIL_IDX);
	pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return broken(q, "avail index jumped by more than the queue size");
	/* Read the ring entry and descriptors only after the index that published them. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = load16(q->avail + AVAIL_RING + 2 * (size_t)(q->last_avail & (q->size - 1)));
	if ((why = walk_chain(q, head, req)))
		return broken(q, why);
	q->last_avail++;
	return 1;
}

void vq_unpop(struct virtqueue *q, uint16_t n)
{
	q->last_avail = (uint16_t)(q->last_avail - n);
}

void vq_add_used(struct virtqueue *q, uint16_t head, uint32_t written)
{
	uint8_t *e;

	if (!q->live)
		return;
	e = q->used + USED_RING + USED_ELEM * (size_t)(q->used_idx & (q->size - 1));
	store32(e, head);
	store32(e + 4, written);
	q->used_idx++;
}

void vq_publish(struct virtqueue *q)
{
	if (!q->live || q->published_idx == q->used_idx)
		return;
	/* The elements must be visible before the index that announces them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	store16(q->used + USED_IDX, q->used_idx);
	q->published_idx = q->used_idx;
}

void vq_push(struct virtqueue *q, const struct vq_req *req, uint32_t written)
{
	vq_add_used(q, req->head, written);
	vq_publish(q);
}

/* vring_need_event() of the spec: did the index move past the driver's used_event? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool vq_needs_interrupt(struct virtqueue *q)
{
	uint16_t old = q->signalled_idx, now = q->published_idx;
	bool valid = q->signalled_valid;

	if (!q->live)
		return false;
	/* Our used->idx store must be visible before we read what the driver wants. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(load16(q->avail) & VRING_AVAIL_F_NO_INTERRUPT);
	q->signalled_idx = now;
	q->signalled_valid = true;
	return !valid || need_event(load16(q->avail + AVAIL_RING + 2 * (size_t)q->size), now, old);
}

bool vq_enable_notify(struct virtqueue *q)
{
	if (!q->live || q->broken)
		return false;
	if (q->event_idx)
		store16(q->used + USED_RING + USED_ELEM * (size_t)q->size, q->last_avail);
	else
		store16(q->used, 0);
	/* Publish the request before looking again, or a buffer added meanwhile is never seen. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16(q->avail + AVAIL_IDX) != q->last_avail;
}

void vq_disable_notify(struct virtqueue *q)
{
	/* With EVENT_IDX the driver stops notifying by itself once it passes avail_event. */
	if (q->live && !q->event_idx)
		store16(q->used, VRING_USED_F_NO_NOTIFY);
}

/* Copies between HOST and the buffers [first, first + n) of REQ, starting OFF bytes in. */
static int copy_chain(const struct vq_req *req, unsigned first, unsigned n, size_t off,
		      uint8_t *host, size_t len, bool to_guest)
{
	for (unsigned i = first; i < first + n && len; i++) {
		const struct vq_buf *b = &req->buf[i];
		size_t chunk;

		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		chunk = b->len - off < len ? b->len - off : len;
		if (to_guest)
			memcpy(b->host + off, host, chunk);
		else
			memcpy(host, b->host + off, chunk);
		host += chunk;
		len -= chunk;
		off = 0;
	}
	return len ? -EFAULT : 0;
}

int vq_req_read(const struct vq_req *req, size_t off, void *dst, size_t len)
{
	return copy_chain(req, 0, req->n_out, off, dst, len, false);
}

int vq_req_write(const struct vq_req *req, size_t off, const void *src, size_t len)
{
	/* copy_chain only reads HOST when copying to the guest. */
	union {
		const void *in;
		uint8_t *out;
	} host = {.in = src};

	return copy_chain(req, req->n_out, req->n_in, off, host.out, len, true);
}
