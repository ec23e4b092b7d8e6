/* fuzz_blk.c: libFuzzer target: fuzzer bytes as guest RAM (rings, descriptors, headers, data)
 * served by virtio-blk on a small in-memory image. */
#include "devices/virtio.h"
#include "devices/virtio_blk.h"
#include "devices/virtqueue.h"

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM (64U << 10)
#define DESC_GPA 0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA 0x3000
#define IMG_BYTES (32U << 10)
#define CTL 8

/*
 * Input: CTL control bytes, then guest RAM from address 0 (the rest of RAM is zero). Control:
 * [0] log2 of the queue size (1..256), [1] bit 0 indirect, bit 1 event idx, bit 2 read-only disk,
 * [2] extra notifications (0..3), [3] how far the "guest" moves avail.idx before each of them,
 * [4..5] a config-space read (offset, length). Rings sit at fixed addresses: the virtqueue's own
 * target fuzzes geometry; this one fuzzes what the device makes of the chains. The image starts
 * as a copy of the first 32 KiB of RAM, so reads can bring guest-chosen bytes back into RAM (a
 * guest rewriting its rings and headers while the device works).
 */
static struct guest_mem mem;
static struct virtio_blk *dev[2];
static int img_fd;
static struct virtio_mmio t;
static unsigned fails;

/* Until the virtio-mmio transport lands: the device's calls into it. Weak, so the real transport
 * wins once it is linked in; this target then has to drive it through its registers. */
__attribute__((weak)) void virtio_mmio_used(struct virtio_mmio *tr, unsigned q)
{
	(void)vq_needs_interrupt(&tr->vq[q]);
}

__attribute__((weak)) void virtio_mmio_fail(struct virtio_mmio *tr, unsigned q, const char *why)
{
	(void)tr;
	(void)q;
	if (!why || !*why)
		abort(); /* a failure must say why: that is the one log line */
	fails++;
}

static void setup(void)
{
	/* Heap, not mmap: ASan's redzones around it catch any access past the end of RAM. */
	mem.host = malloc(RAM);
	mem.size = mem.low_size = RAM;
	img_fd = memfd_create("fuzz-blk", MFD_CLOEXEC);
	t.notify_fd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!mem.host || img_fd < 0 || t.notify_fd[0] < 0)
		abort();
	dev[0] = virtio_blk_new(dup(img_fd), IMG_BYTES, false, "fuzz-rw");
	dev[1] = virtio_blk_new(dup(img_fd), IMG_BYTES, true, "fuzz-ro");
	if (!dev[0] || !dev[1])
		abort();
	t.ops = &virtio_blk_ops;
	t.mem = &mem;
	memcpy(t.name, "blk0", 5);
}

/* One notification; checks what the device did with it. */
static void notify(struct virtio_blk *blk, struct virtqueue *q)
{
	uint16_t avail0 = q->last_avail, used0 = q->used_idx, popped, added;
	unsigned fails0 = fails;
	bool was_failed = fails0 || q->broken;

	virtio_blk_ops.notify(blk, &t, 0);
	popped = (uint16_t)(q->last_avail - avail0);
	added = (uint16_t)(q->used_idx - used0);
	/* One round serves at most a queue's worth, and answers each chain it took at most once. */
	if (popped > q->size || added > popped)
		abort();
	/* Everything added was published: nothing lingers unseen by the driver. */
	if (q->published_idx != q->used_idx)
		abort();
	/* A device that stopped serves nothing more until reset. */
	if (was_failed && (popped || fails != fails0))
		abort();
	if (q->broken && fails == fails0 && !was_failed)
		abort(); /* broken but nobody was told */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtqueue *q = &t.vq[0];
	struct virtio_blk *blk;
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1), kicks;
	uint8_t cfg[8];
	const char *why;
	unsigned rounds;

	if (size < CTL)
		return 0;
	if (!mem.host)
		setup();
	blk = dev[(data[1] >> 2) & 1];
	if (data[1] & 1)
		features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (data[1] & 2)
		features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	memset(mem.host, 0, RAM);
	memcpy(mem.host, data + CTL, size - CTL < RAM ? size - CTL : RAM);
	if (pwrite(img_fd, mem.host, IMG_BYTES, 0) != IMG_BYTES)
		abort();

	/* What a driver does: reset, set up queue 0, DRIVER_OK. */
	virtio_blk_ops.reset(blk);
	fails = 0;
	t.dev = blk;
	virtio_blk_ops.queue_limits(blk, 0, &q->size_max, &q->len_max);
	vq_reset(q);
	q->size = (uint16_t)(1U << (data[0] % 9));
	q->desc_gpa = DESC_GPA;
	q->avail_gpa = AVAIL_GPA;
	q->used_gpa = USED_GPA;
	q->ready = true;
	if (vq_start(q, &mem, features, &why) || virtio_blk_ops.activate(blk, &t, features))
		abort(); /* fixed, valid geometry */

	rounds = 1 + data[2] % 4;
	for (unsigned r = 0; r < rounds; r++) {
		if (r) {
			/* The guest posts more (or re-posts old entries) and notifies again. */
			uint16_t idx;

			memcpy(&idx, mem.host + AVAIL_GPA + 2, 2);
			idx = (uint16_t)(idx + data[3]);
			memcpy(mem.host + AVAIL_GPA + 2, &idx, 2);
		}
		notify(blk, q);
	}
	if (read(t.notify_fd[0], &kicks, sizeof(kicks)) < 0)
		kicks = 0; /* none pending: the eventfd is non-blocking */

	/* Config space, within the size the transport enforces. */
	{
		uint32_t off = data[4] % VIRTIO_BLK_CFG_SIZE;
		uint32_t len = 1 + data[5] % 8;

		if (len > VIRTIO_BLK_CFG_SIZE - off)
			len = VIRTIO_BLK_CFG_SIZE - off;
		virtio_blk_ops.config_read(blk, off, cfg, len);
	}
	return 0;
}
