/* fuzz_virtio_mmio.c: libFuzzer target: a hostile driver's register accesses, in any order, and
 * guest RAM, served by virtio-rng through the virtio-mmio transport. */
#include "devices/virtio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_rng.h"
#include "util/bytes.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

#define RAM (64U << 10)
#define HDR 10
#define OP 12
#define SCRIPT_MAX 128
#define NSEC_PER_SEC 1000000000ULL

/*
 * Input: HDR header bytes, n script records of OP bytes, then guest RAM from address 0 (the rest
 * of RAM is zero). Header: [0] bit 0 set: the rng is virtio_rng_new_rate(rate, burst) with rate
 * the little-endian u32 at [1] shifted left by [0] >> 1 (mod 64) and burst the u32 at [5], or
 * virtio_rng_new() when those are out of range; clear: virtio_rng_new(). [9] n, mod SCRIPT_MAX + 1.
 * A record: [0] kind, [1] width (1 << ([1] & 3) bytes), [2..3] offset, [4..11] value, all
 * little-endian. Kinds (mod 8): 0 a register or config-space write at offset mod the window,
 * 1 a read there, 2 a store of the value into guest RAM at offset (the guest moving its rings
 * under the device), 3 the driver's whole probe (reset, handshake, value as the features, a queue
 * of 1 << (width mod 8) at 0x1000/0x2000/0x3000, DRIVER_OK) through the same checked accesses,
 * others one round of the device thread. The device is new for every input, guest RAM is not.
 */
static struct guest_mem mem;
static struct virtio_mmio tr;

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* What holds between any two accesses, whatever the driver did. */
static void check(const struct virtio_mmio *t)
{
	uint32_t st = t->status;

	if (t->queue_sel >= t->ops->nqueues)
		abort();
	if ((st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_FEATURES_OK))
		abort();
	if ((st & VIRTIO_STATUS_FEATURES_OK) && (t->driver_features & ~t->offered))
		abort();
	if (__atomic_load_n(&t->int_status, __ATOMIC_RELAXED) &
	    ~(uint32_t)(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG))
		abort();
	for (unsigned q = 0; q < t->ops->nqueues; q++) {
		const struct virtqueue *vq = &t->vq[q];

		/* Only DRIVER_OK makes a queue live, only a ready one, and only with a geometry
		 * vq_start() accepted. */
		if (vq->live && (!(st & VIRTIO_STATUS_DRIVER_OK) || !vq->ready || !vq->size ||
				 vq->size > vq->size_max || (vq->size & (vq->size - 1))))
			abort();
		/* A ready queue of a device that started without trouble is live. */
		if (vq->ready && virtio_mmio_live(t) && !(st & VIRTIO_STATUS_FAILED) && !vq->live)
			abort();
		if (vq->broken && vq->live && !(st & VIRTIO_STATUS_NEEDS_RESET))
			abort();
	}
}

/* Every field of a queue, padding aside. */
static bool same_queue(const struct virtqueue *a, const struct virtqueue *b)
{
	return a->size_max == b->size_max && a->len_max == b->len_max && a->size == b->size &&
	       a->desc_gpa == b->desc_gpa && a->avail_gpa == b->avail_gpa &&
	       a->used_gpa == b->used_gpa && a->ready == b->ready && a->live == b->live &&
	       a->indirect == b->indirect && a->event_idx == b->event_idx && a->mem == b->mem &&
	       a->desc == b->desc && a->avail == b->avail && a->used == b->used &&
	       a->last_avail == b->last_avail && a->used_idx == b->used_idx &&
	       a->published_idx == b->published_idx && a->signalled_idx == b->signalled_idx &&
	       a->signalled_valid == b->signalled_valid && a->broken == b->broken &&
	       a->why == b->why;
}

/* One access as a vCPU's MMIO exit delivers it (the bus keeps it inside the window). */
static void mmio(struct virtio_mmio *t, uint64_t off, uint32_t len, uint64_t v, bool write)
{
	struct virtqueue before[VIRTIO_MMIO_QUEUES_MAX];
	uint8_t data[8];
	bool started = t->status & VIRTIO_STATUS_DRIVER_OK;

	memcpy(before, t->vq, sizeof(before));
	memcpy(data, &v, sizeof(data));
	virtio_mmio_io(t, off, data, len, write);
	/* After DRIVER_OK (live or stopped by NEEDS_RESET) the queues are the device's: no access
	 * changes any of their fields, only a reset gives them back to the driver. */
	for (unsigned q = 0; started && t->status != 0 && q < t->ops->nqueues; q++)
		if (!same_queue(&before[q], &t->vq[q]))
			abort();
	if (!write && off == VIRTIO_MMIO_INTERRUPT_STATUS && len == 4 &&
	    (data[0] & ~3 || data[1] || data[2] || data[3]))
		abort();
	if (!write && off == VIRTIO_MMIO_STATUS && len == 4 && get_le(data, 4) != t->status)
		abort();
	if (!write)
		for (uint32_t i = len; i < sizeof(data); i++)
			if (data[i] != (uint8_t)(v >> (8 * i)))
				abort(); /* a read wrote past the access */
	check(t);
}

static void reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	mmio(t, off, 4, v, true);
}

/* What a driver does at probe (3.1.1), each step through mmio() and its checks. */
static void probe(struct virtio_mmio *t, uint64_t features, uint32_t size)
{
	const uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	const uint32_t seq[][2] = {
	    {VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE},
	    {VIRTIO_MMIO_STATUS, st},
	    {VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0},
	    {VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features},
	    {VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1},
	    {VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32)},
	    {VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_FEATURES_OK},
	    {VIRTIO_MMIO_QUEUE_SEL, 0},
	    {VIRTIO_MMIO_QUEUE_NUM, size},
	    {VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000},
	    {VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x2000},
	    {VIRTIO_MMIO_QUEUE_USED_LOW, 0x3000},
	    {VIRTIO_MMIO_QUEUE_READY, 1},
	    {VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK},
	};

	reg(t, VIRTIO_MMIO_STATUS, 0);
	if (t->status || t->queue_sel || t->vq[0].live || t->vq[0].ready || t->int_status)
		abort(); /* a reset puts everything back */
	for (size_t i = 0; i < ARRAY_SIZE(seq); i++)
		reg(t, seq[i][0], seq[i][1]);
}

/* One round of the device thread; checks what the device did in it. */
static void serve(struct virtio_mmio *t)
{
	struct virtqueue *q = &t->vq[0];
	uint16_t avail0 = q->last_avail, used0 = q->used_idx, popped, added;
	bool was_live = virtio_mmio_live(t);

	if (!virtio_mmio_serve(t, 0))
		abort();
	popped = (uint16_t)(q->last_avail - avail0);
	added = (uint16_t)(q->used_idx - used0);
	/* A round takes at most a queue's worth, answers each chain at most once and publishes
	 * everything it answered; a device that was not live does nothing at all. */
	if (popped > q->size || added > popped || q->published_idx != q->used_idx)
		abort();
	if (!was_live && popped)
		abort();
	check(t);
}

/* The rng the header asks for; virtio_rng_new_rate() refuses exactly what it documents. */
static struct virtio_rng *new_rng(const uint8_t *h)
{
	uint64_t rate = get_le(h + 1, 4) << (h[0] >> 1 & 63);
	uint32_t burst = (uint32_t)get_le(h + 5, 4);
	struct virtio_rng *r;
	bool bad = rate == 0 || burst < VIRTIO_RNG_REQ_MAX || rate > UINT64_MAX / NSEC_PER_SEC;

	if (!(h[0] & 1))
		return virtio_rng_new();
	r = virtio_rng_new_rate(rate, burst);
	if (!r != bad)
		abort();
	return r ? r : virtio_rng_new();
}

/* Guest RAM once for all inputs. Heap, not mmap: ASan's redzones catch any access past it. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mem.host = malloc(RAM);
	mem.size = mem.low_size = RAM;
	if (!mem.host)
		abort();
	log_set_level(LOG_ERROR); /* one warning per broken device, and each input has a new one */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_mmio *t = &tr;
	const uint8_t *op;
	size_t n;
	struct virtio_rng *r;

	if (size < HDR)
		return 0;
	n = data[9] % (SCRIPT_MAX + 1);
	if (n > (size - HDR) / OP)
		n = (size - HDR) / OP;
	memset(mem.host, 0, RAM);
	if (size - HDR - n * OP)
		memcpy(mem.host, data + HDR + n * OP,
		       size - HDR - n * OP < RAM ? size - HDR - n * OP : RAM);

	r = new_rng(data);
	if (!r || virtio_mmio_init(t, &virtio_rng_ops, r, "rng", &mem, 0xd0000000, 5))
		abort();
	check(t);
	for (op = data + HDR; op < data + HDR + n * OP; op += OP) {
		uint32_t w = 1U << (op[1] & 3);
		uint64_t off = get_le(op + 2, 2), v = get_le(op + 4, 8);

		switch (op[0] & 7) {
		case 0:
		case 1:
			mmio(t, off % (VIRTIO_MMIO_WINDOW - w + 1), w, v, !(op[0] & 1));
			break;
		case 2:
			off %= RAM - w + 1;
			memcpy(mem.host + off, &v, w);
			break;
		case 3:
			probe(t, v, 1U << (op[1] & 7));
			break;
		default:
			serve(t);
			break;
		}
	}
	/* Rounds with nothing new find nothing to do; a reset then stops the device for good. */
	serve(t);
	reg(t, VIRTIO_MMIO_STATUS, 0);
	if (t->status || t->vq[0].live || t->int_status)
		abort();
	for (int i = 0; i < 2; i++) {
		uint16_t used = t->vq[0].used_idx;

		serve(t);
		if (t->vq[0].used_idx != used)
			abort();
	}
	virtio_mmio_destroy(t);
	return 0;
}
