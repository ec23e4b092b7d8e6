/* fuzz_blk.c: libFuzzer target: fuzzer bytes as guest RAM (rings, descriptors, headers, data)
 * served by virtio-blk on a small in-memory image. */
#include "devices/virtio.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"

#include <stdlib.h>
#include <string.h>
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
 * [4..5] a config-space read (offset, width). The device is driven through the virtio-mmio
 * transport's registers and its device-thread loop, as a guest and bulwark would. Rings sit at
 * fixed addresses: the virtqueue's own target fuzzes geometry; this one fuzzes what the device
 * makes of the chains. The image starts as a copy of the first 32 KiB of RAM, so reads can bring
 * guest-chosen bytes back into RAM (a guest rewriting its rings and headers while the device
 * works).
 */
static struct guest_mem mem;
static struct virtio_mmio tr[2]; /* a read-write and a read-only disk on one image */
static int img_fd;

static void setup(void)
{
	/* Heap, not mmap: ASan's redzones around it catch any access past the end of RAM. */
	mem.host = malloc(RAM);
	mem.size = mem.low_size = RAM;
	img_fd = memfd_create("fuzz-blk", MFD_CLOEXEC);
	if (!mem.host || img_fd < 0)
		abort();
	for (int ro = 0; ro < 2; ro++) {
		struct virtio_blk *b = virtio_blk_new(dup(img_fd), IMG_BYTES, ro, "fuzz");

		if (!b || virtio_mmio_init(&tr[ro], &virtio_blk_ops, b, ro ? "blk1" : "blk0", &mem,
					   0xd0000000, 5))
			abort();
	}
}

static void reg_write(struct virtio_mmio *t, uint32_t reg, uint32_t v)
{
	virtio_mmio_io(t, reg, (uint8_t *)&v, 4, true);
}

static bool stopped(const struct virtio_mmio *t)
{
	return t->status & VIRTIO_STATUS_NEEDS_RESET;
}

/* One round of the device thread; checks what the device did in it. */
static void serve(struct virtio_mmio *t)
{
	struct virtqueue *q = &t->vq[0];
	uint16_t avail0 = q->last_avail, used0 = q->used_idx, popped, added;
	bool was_stopped = stopped(t);

	virtio_mmio_serve(t, 0);
	popped = (uint16_t)(q->last_avail - avail0);
	added = (uint16_t)(q->used_idx - used0);
	/* One round serves at most a queue's worth, and answers each chain it took at most once. */
	if (popped > q->size || added > popped)
		abort();
	/* Everything answered was published: nothing lingers unseen by the driver. */
	if (q->published_idx != q->used_idx)
		abort();
	/* A device that stopped serves nothing more until reset; a broken queue stops it. */
	if ((was_stopped && popped) || (q->broken && !stopped(t)))
		abort();
}

/* The driver's initialization (3.1.1) with the queue at the fixed rings. */
static void start(struct virtio_mmio *t, uint16_t size, uint64_t features)
{
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	reg_write(t, VIRTIO_MMIO_STATUS, 0);
	reg_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	reg_write(t, VIRTIO_MMIO_STATUS, st);
	reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	reg_write(t, VIRTIO_MMIO_STATUS, st |= VIRTIO_STATUS_FEATURES_OK);
	reg_write(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	reg_write(t, VIRTIO_MMIO_QUEUE_NUM, size);
	reg_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);
	reg_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL_GPA);
	reg_write(t, VIRTIO_MMIO_QUEUE_USED_LOW, USED_GPA);
	reg_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
	reg_write(t, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	if (!t->vq[0].live || stopped(t))
		abort(); /* fixed, valid geometry and features */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	struct virtio_mmio *t;
	uint8_t cfg[4];
	uint32_t w;

	if (size < CTL)
		return 0;
	if (!mem.host)
		setup();
	t = &tr[(data[1] >> 2) & 1];
	if (data[1] & 1)
		features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (data[1] & 2)
		features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	memset(mem.host, 0, RAM);
	memcpy(mem.host, data + CTL, size - CTL < RAM ? size - CTL : RAM);
	if (pwrite(img_fd, mem.host, IMG_BYTES, 0) != IMG_BYTES)
		abort();

	start(t, (uint16_t)(1U << (data[0] % 9)), features);
	serve(t); /* DRIVER_OK wakes the device thread, which looks at the queue */
	for (unsigned r = data[2] % 4; r > 0; r--) {
		/* The guest posts more (or re-posts old entries) and notifies again. */
		uint16_t idx;

		memcpy(&idx, mem.host + AVAIL_GPA + 2, 2);
		idx = (uint16_t)(idx + data[3]);
		memcpy(mem.host + AVAIL_GPA + 2, &idx, 2);
		reg_write(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		serve(t);
	}
	/* Config space through the window, any offset and width the guest may use. */
	w = 1U << (data[5] % 3);
	virtio_mmio_io(
	    t, VIRTIO_MMIO_CONFIG + data[4] % (VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG - w + 1),
	    cfg, w, false);
	return 0;
}
