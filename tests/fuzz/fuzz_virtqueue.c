/* fuzz_virtqueue.c: libFuzzer target: fuzzer bytes as guest RAM and ring geometry, driven through
 * the virtqueue API. */
#include "devices/virtio.h"
#include "devices/virtqueue.h"

#include <stdlib.h>
#include <string.h>

#define RAM (64U << 10)

/*
 * Input: 8 control bytes, then guest RAM. Control: [0] log2 of the queue size, [1] features
 * (bit 0 indirect, bit 1 event idx), [2..3] descriptor table page, avail and used rings at fixed
 * pages derived from [4..5], [6..7] a length cap. The rest of the input is copied to RAM offset 0.
 */
static struct guest_mem mem;

static void check_req(const struct vq_req *r)
{
	uint32_t out = 0, in = 0;

	if (r->n_out + r->n_in > VQ_CHAIN_MAX)
		abort();
	for (unsigned i = 0; i < (unsigned)r->n_out + r->n_in; i++) {
		const struct vq_buf *b = &r->buf[i];

		/* Every buffer lies inside guest RAM: the whole point of the checked accessor. */
		if (b->len == 0 || b->host < mem.host || b->host + b->len > mem.host + mem.size)
			abort();
		if (i < r->n_out)
			out += b->len;
		else
			in += b->len;
	}
	if (out != r->out_len || in != r->in_len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vq_req req;
	struct virtqueue q = {.size_max = 256};
	const char *why;
	uint8_t scratch[64];

	if (size < 8)
		return 0;
	if (!mem.host && gmem_init(&mem, RAM))
		abort();
	memset(mem.host, 0, RAM);
	memcpy(mem.host, data + 8, size - 8 < RAM ? size - 8 : RAM);

	vq_reset(&q);
	q.len_max = (uint32_t)(data[6] | data[7] << 8) << 4;
	q.size = (uint16_t)(1U << (data[0] % 10)); /* up to 512: above size_max is refused too */
	q.desc_gpa = (uint64_t)(data[2] | data[3] << 8) << 4;
	q.avail_gpa = (uint64_t)data[4] << 8;
	q.used_gpa = (uint64_t)data[5] << 8;
	q.ready = true;
	if (vq_start(&q, &mem,
		     ((data[1] & 1) ? VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) : 0) |
			 ((data[1] & 2) ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0),
		     &why))
		return 0;
	/* More rounds than the queue holds: popping must end on its own, by 0 or by an error. */
	for (unsigned round = 0; round < 3U * q.size + 4; round++) {
		int r = vq_pop(&q, &req);

		if (r <= 0) {
			if (r < 0 && (!q.broken || !q.why))
				abort();
			if (r == 0 && vq_enable_notify(&q))
				continue;
			break;
		}
		check_req(&req);
		(void)vq_req_read(&req, round % 7, scratch, sizeof(scratch));
		(void)vq_req_write(&req, round % 5, scratch, sizeof(scratch) / 2);
		if (round % 3 == 2) {
			vq_unpop(&q, 1);
			continue;
		}
		vq_add_used(&q, req.head, req.in_len);
		if (round & 1)
			vq_publish(&q);
		(void)vq_needs_interrupt(&q);
		vq_disable_notify(&q);
	}
	vq_publish(&q);
	return 0;
}
