/* fuzz_net.c: libFuzzer target: fuzzer bytes as guest RAM (rings, chains, headers, frames) and as
 * frames arriving on the "tap", served by virtio-net through the virtio-mmio transport. */
#include "devices/virtio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "policy/policy.h"
#include "util/bytes.h"
#include "util/log.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RAM (256U << 10)
#define HDR 12
#define BIG (HDR + VIRTIO_NET_FRAME_MAX)
#define SCRIPT_MAX 64
#define JUNK (BIG + 8) /* longer than any frame the device sends: the tap filling up */

/*
 * Input: [0] features (bit 0 CSUM, 1 GUEST_CSUM + GUEST_TSO4, 2 HOST_TSO4, 3 HOST_TSO6,
 * 4 HOST_ECN, 5 MRG_RXBUF, 6 EVENT_IDX, 7 INDIRECT_DESC), [1] and [2] the receive and transmit
 * queues (low 4 bits: log2 of the size, mod 9; bit 7: left not ready), [3] script length n (at
 * most SCRIPT_MAX), then n script bytes, then a little-endian u16 L and L bytes of frames for the
 * tap (each a u16 length and its bytes; length 0xffff sends one byte over the maximum), then guest
 * RAM from address 0. Bit 6 of [1] puts the NIC behind the frame filter of segment web (10.0.1.5),
 * with bit 6 of [2] of segment db (10.0.2.5, VLAN 102) instead. Rings sit at fixed pages: the virtqueue target fuzzes geometry, this one
 * what the device makes of chains and frames. Script ops (low 4 bits, A = the high 4 bits): 0/1
 * kick receive/transmit, 2 a frame arrives on the tap, 3 one round of the device thread, 4 the
 * host drains the tap, 5 the tap fills up, 6 the driver resets and starts over, 7/8 the guest
 * moves the receive/transmit avail index by A, 9 a config-space read at A, others a round too.
 */
static const uint64_t ring[2][3] = {{0x0000, 0x1000, 0x2000}, {0x3000, 0x4000, 0x5000}};
static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const char policy[] = "limits: {vcpus_max: 1, memory_max: 1GiB}\n"
			     "network:\n  segments:\n"
			     "    - {name: web, ranges: [10.0.1.0/24], reach: [db]}\n"
			     "    - {name: db, ranges: [10.0.2.0/24], vlan: 102}\n";
static struct policy pol;
static struct guest_mem mem;
static uint8_t buf[JUNK];

static void wr(struct virtio_mmio *t, uint64_t reg, uint32_t v)
{
	virtio_mmio_io(t, reg, (uint8_t *)&v, 4, true);
}

static uint64_t features(uint8_t c)
{
	static const unsigned bit[8] = {
	    0, 1, 11, 12, 13, 15, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC};
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(5); /* MAC */

	for (unsigned i = 0; i < 8; i++)
		if (c & (1U << i))
			f |= VIRTIO_BIT(bit[i]);
	if (c & 2)
		f |= VIRTIO_BIT(7); /* GUEST_TSO4 */
	return f;
}

/* What a driver does at probe: status handshake, features, both queues, DRIVER_OK. */
static void driver_start(struct virtio_mmio *t, const uint8_t *ctl)
{
	uint64_t f = features(ctl[0]);

	wr(t, VIRTIO_MMIO_STATUS, 0);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	for (uint32_t sel = 0; sel < 2; sel++) {
		wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
		wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> (32 * sel)));
	}
	wr(t, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	for (uint32_t q = 0; q < 2; q++) {
		wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(t, VIRTIO_MMIO_QUEUE_NUM, 1U << ((ctl[1 + q] & 15) % 9));
		wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ring[q][0]);
		wr(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)ring[q][1]);
		wr(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)ring[q][2]);
		wr(t, VIRTIO_MMIO_QUEUE_READY, !(ctl[1 + q] & 0x80));
	}
	wr(t, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
	       VIRTIO_STATUS_DRIVER_OK);
}

/* Whatever the guest wrote, what reaches the tap is sane: checked again here, independently.
 * SEG: the NIC's filter (0: none, 1: web, 2: db, which tags with VLAN 102). */
static void check_sent(const uint8_t *f, size_t n, uint64_t feat, int seg)
{
	size_t frame = n - HDR;
	uint8_t gso = f[1] & 0x7f;

	if (n < HDR + 14 || n > BIG + (seg == 2 ? 4 : 0) || (f[0] & ~1))
		abort();
	if (seg && memcmp(f + HDR + 6, mac, 6) != 0)
		abort();
	if (seg == 2 && (n < HDR + 18 || load_le16(f + HDR + 12) != 0x81 || f[HDR + 14] != 0 ||
			 f[HDR + 15] != 102))
		abort();
	if (seg == 1 && (load_le16(f + HDR + 12) == 0x81 || load_le16(f + HDR + 12) == 0xa888 ||
			 load_le16(f + HDR + 12) == 0x91))
		abort();
	if ((f[0] & 1) &&
	    (!(feat & VIRTIO_BIT(0)) || (size_t)load_le16(f + 6) + load_le16(f + 8) + 2 > frame))
		abort();
	if (load_le16(f + 2) > frame)
		abort();
	if (f[1] == 0)
		return;
	if (!(f[0] & 1) || load_le16(f + 4) == 0 || load_le16(f + 4) > frame)
		abort();
	if ((f[1] & 0x80) && !(feat & VIRTIO_BIT(13)))
		abort();
	if (!(gso == 1 && (feat & VIRTIO_BIT(11))) && !(gso == 4 && (feat & VIRTIO_BIT(12))))
		abort();
}

static void drain(int peer, uint64_t feat, int seg)
{
	ssize_t n;

	while ((n = recv(peer, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		if (n != JUNK)
			check_sent(buf, (size_t)n, feat, seg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_mmio t;
	const uint8_t *script, *frames;
	size_t n, nframes, off = 0;
	struct virtio_net *dev;
	uint64_t feat;
	int sv[2], seg;

	if (size < 4 || size < 4 + (size_t)(data[3] % SCRIPT_MAX) + 2)
		return 0;
	if (!mem.host) {
		/* Heap, not mmap: ASan's redzones around it catch any access past guest RAM. */
		mem.host = malloc(RAM);
		mem.size = mem.low_size = RAM;
		if (!mem.host)
			abort();
		signal(SIGPIPE, SIG_IGN);
		log_set_level(LOG_ERROR);
		if (policy_parse("p.yaml", policy, strlen(policy), &pol, &(struct bw_error){0}))
			abort();
	}
	n = data[3] % SCRIPT_MAX;
	script = data + 4;
	nframes = load_le16(script + n);
	frames = script + n + 2;
	if (nframes > size - (size_t)(frames - data))
		nframes = size - (size_t)(frames - data);
	memset(mem.host, 0, RAM);
	size -= (size_t)(frames + nframes - data);
	memcpy(mem.host, frames + nframes, size < RAM ? size : RAM);
	feat = features(data[0]);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		abort();
	dev = virtio_net_new(sv[0], mac);
	seg = data[1] & 0x40 ? (data[2] & 0x40 ? 2 : 1) : 0;
	if (dev && seg) {
		struct config_nic nic = {.segment = "web", .loc_ipv4 = {.line = 1}};

		memcpy(nic.mac, mac, 6);
		nic.ipv4[0] = 10;
		nic.ipv4[2] = (uint8_t)seg;
		nic.ipv4[3] = 5;
		if (seg == 2)
			memcpy(nic.segment, "db", 3);
		if (virtio_net_set_filter(dev, "fuzz", &nic, &pol.network))
			abort();
	}
	if (!dev || virtio_mmio_init(&t, &virtio_net_ops, dev, "net0", &mem, 0xd0000000, 5))
		abort();
	driver_start(&t, data);
	for (size_t i = 0; i < n; i++) {
		uint8_t op = script[i];

		switch (op & 15) {
		case 0:
		case 1:
			wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, op & 1);
			break;
		case 2:
			if (off + 2 <= nframes) {
				size_t len = load_le16(frames + off), have = nframes - off - 2;

				memset(buf, 0, sizeof(buf));
				memcpy(buf, frames + off + 2, len < have ? len : have);
				off += 2 + (len < have ? len : have);
				(void)send(sv[1], buf, len == 0xffff ? BIG + 1 : len, MSG_DONTWAIT);
			}
			break;
		case 4:
			drain(sv[1], feat, seg);
			break;
		case 5:
			memset(buf, 0, JUNK);
			for (int j = 0; j < 256 && send(sv[0], buf, JUNK, MSG_DONTWAIT) > 0; j++)
				;
			break;
		case 6:
			driver_start(&t, data);
			break;
		case 7:
		case 8:
			mem.host[ring[(op & 15) - 7][1] + 2] += op >> 4;
			break;
		case 9: {
			uint64_t v;

			virtio_mmio_io(&t, VIRTIO_MMIO_CONFIG + (op >> 4), (uint8_t *)&v,
				       1U << (op >> 6), false);
			break;
		}
		default:
			virtio_mmio_serve(&t, 0);
			break;
		}
	}
	/* The device ends where it stands: rounds with nothing new must find nothing to do. */
	for (int i = 0; i < 4; i++) {
		drain(sv[1], feat, seg);
		virtio_mmio_serve(&t, 0);
	}
	drain(sv[1], feat, seg);
	virtio_mmio_destroy(&t);
	close(sv[1]);
	return 0;
}
