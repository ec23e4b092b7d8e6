/* test_net_filter_dev.c: the frame filter inside virtio-net, driven through the transport over a
 * socketpair "tap": what the guest sends that the filter refuses never reaches the tap, VLAN tags
 * go on and come off with the header's offsets, drops are counted, audited and summed at stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio.h"
#include "devices/virtio_net.h"
#include "devices/virtqueue.h"
#include "kvm/memory.h"
#include "net_frames.h"

#define RAM (1U << 20)
#define HDR 12
#define RXQ 0
#define TXQ 1
#define QSIZE 64
#define BUFS 0x40000ULL
#define F_BASE VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define F_TX (F_BASE | VIRTIO_BIT(0) | VIRTIO_BIT(1) | VIRTIO_BIT(11))

static struct guest_mem mem;
static struct virtio_mmio t;
static struct virtio_net *n;
static int peer, err_pipe[2], saved_err = -1;
static bool destroyed;
static uint16_t avail[2], next_desc[2];
static uint64_t next_buf;
static uint8_t pkt[HDR + 70000], got[HDR + 70000];

static void wr(uint64_t reg, uint32_t v)
{
	virtio_mmio_io(&t, reg, (uint8_t *)&v, 4, true);
}

static uint64_t q_desc(unsigned q)
{
	return 0x10000ULL * (q + 1);
}

/* A device for NIC of SEG (NULL: no filter), its driver started with FEATURES. */
static void start(const char *seg, const char *v4, uint64_t features)
{
	struct config_nic nic = make_nic(seg ? seg : "web", v4, NULL);
	int sv[2];
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	peer = sv[1];
	n = virtio_net_new(sv[0], nic_mac);
	assert_non_null(n);
	if (seg)
		assert_int_equal(virtio_net_set_filter(n, "vm1", &nic, &pol.network), 0);
	assert_int_equal(virtio_mmio_init(&t, &virtio_net_ops, n, "net0", &mem, 0xd0000000, 5), 0);
	destroyed = false;
	memset(mem.host, 0, RAM);
	avail[0] = avail[1] = next_desc[0] = next_desc[1] = 0;
	next_buf = BUFS;
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, st);
	for (uint32_t sel = 0; sel < 2; sel++) {
		wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
		wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> (32 * sel)));
	}
	st |= VIRTIO_STATUS_FEATURES_OK;
	wr(VIRTIO_MMIO_STATUS, st);
	for (uint32_t q = 0; q < 2; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q_desc(q));
		wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(q_desc(q) + 0x4000));
		wr(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(q_desc(q) + 0x8000));
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	virtio_mmio_serve(&t, 0);
}

static void stop(void)
{
	if (!destroyed)
		virtio_mmio_destroy(&t);
	destroyed = true;
	close(peer);
}

/* Offers one buffer of LEN bytes at GPA on queue Q. */
static void offer(unsigned q, uint64_t gpa, uint32_t len, bool write)
{
	uint16_t idx = next_desc[q]++ % QSIZE, flags = write ? VRING_DESC_F_WRITE : 0;
	uint8_t *p = mem.host + q_desc(q) + 16ULL * idx;

	memcpy(p, &gpa, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(mem.host + q_desc(q) + 0x4000 + 4 + 2ULL * (avail[q] % QSIZE), &idx, 2);
	avail[q]++;
	memcpy(mem.host + q_desc(q) + 0x4000 + 2, &avail[q], 2);
}

static uint16_t used(unsigned q)
{
	uint16_t v;

	memcpy(&v, mem.host + q_desc(q) + 0x8000 + 2, 2);
	return v;
}

static uint32_t used_len(unsigned q, uint16_t i)
{
	uint32_t v;

	memcpy(&v, mem.host + q_desc(q) + 0x8000 + 4 + 8ULL * (i % QSIZE) + 4, 4);
	return v;
}

static uint64_t alloc(size_t len)
{
	uint64_t gpa = next_buf;

	next_buf += (len + 15) & ~15ULL;
	assert_true(next_buf < RAM);
	return gpa;
}

/* The virtio-net header in front of fr: FLAGS, GSO type, hdr_len, csum_start. */
static void header(uint8_t flags, uint8_t gso, uint16_t hdr_len, uint16_t csum_start)
{
	memset(pkt, 0, HDR);
	pkt[0] = flags;
	pkt[1] = gso;
	memcpy(pkt + 2, &hdr_len, 2);
	if (gso)
		memcpy(pkt + 4, &(uint16_t){1448}, 2);
	memcpy(pkt + 6, &csum_start, 2);
	memcpy(pkt + 8, &(uint16_t){16}, 2);
	memcpy(pkt + HDR, fr, flen);
}

/* The guest sends pkt (the header and fr); returns what reached the tap (-1: nothing). */
static ssize_t send_frame(void)
{
	uint64_t gpa = alloc(HDR + flen);
	uint16_t before = used(TXQ);

	memcpy(mem.host + gpa, pkt, HDR + flen);
	offer(TXQ, gpa, (uint32_t)(HDR + flen), false);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	virtio_mmio_serve(&t, 0);
	assert_int_equal(used(TXQ), (uint16_t)(before + 1)); /* answered either way */
	return recv(peer, got, sizeof(got), MSG_DONTWAIT);
}

/* The tap delivers pkt; returns the guest buffer it landed in, or 0 when it did not. */
static uint64_t receive_frame(size_t *len)
{
	uint64_t gpa = alloc(HDR + 2000);
	uint16_t before = used(RXQ);

	offer(RXQ, gpa, HDR + 2000, true);
	assert_int_equal(send(peer, pkt, HDR + flen, 0), (ssize_t)(HDR + flen));
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	virtio_mmio_serve(&t, 0);
	if (used(RXQ) == before)
		return 0;
	*len = used_len(RXQ, before);
	return gpa;
}

/* stderr into a pipe while a test looks at the audit lines. */
static void capture(void)
{
	assert_int_equal(pipe2(err_pipe, O_NONBLOCK), 0);
	saved_err = dup(STDERR_FILENO);
	dup2(err_pipe[1], STDERR_FILENO);
}

static char *captured(void)
{
	static char text[65536];
	ssize_t r;

	dup2(saved_err, STDERR_FILENO);
	close(saved_err);
	r = read(err_pipe[0], text, sizeof(text) - 1);
	text[r > 0 ? r : 0] = '\0';
	close(err_pipe[0]);
	close(err_pipe[1]);
	return text;
}

static unsigned count_lines(const char *s, const char *prefix)
{
	unsigned c = 0;

	for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		c += !strncmp(p, prefix, strlen(prefix));
	return c;
}

static void test_spoofed_never_reach_the_tap(void **state)
{
	char *text;

	(void)state;
	start("web", "10.0.1.5", F_BASE);
	capture();
	tcp4("10.0.1.5", "10.0.1.6", 80);
	header(0, 0, 0, 0);
	assert_int_equal(send_frame(), HDR + flen);
	assert_memory_equal(got, pkt, HDR + flen);
	fr[11] ^= 1; /* another source MAC */
	header(0, 0, 0, 0);
	assert_int_equal(send_frame(), -1);
	assert_int_equal(used_len(TXQ, 1), 0);
	tcp4("10.0.1.6", "10.0.1.7", 80); /* another source IP */
	header(0, 0, 0, 0);
	assert_int_equal(send_frame(), -1);
	tcp4("10.0.1.5", "10.0.3.7", 80); /* another segment */
	header(0, 0, 0, 0);
	assert_int_equal(send_frame(), -1);
	arp(1, nic_mac, "10.0.1.5", "10.0.1.1");
	header(0, 0, 0, 0);
	assert_int_equal(send_frame(), HDR + flen);
	text = captured();
	assert_int_equal(virtio_net_drops(n, NET_DROP_SRC_MAC), 1);
	assert_int_equal(virtio_net_drops(n, NET_DROP_SRC_IP), 1);
	assert_int_equal(virtio_net_drops(n, NET_DROP_DST_DENIED), 1);
	assert_int_equal(
	    count_lines(text, "{\"event\":\"net-drop\",\"vm\":\"vm1\",\"nic\":\"tap-web\""), 3);
	assert_non_null(strstr(text, "\"reason\":\"src-ip\",\"src_mac\":\"02:00:00:00:01:05\","
				     "\"dst_mac\":\"02:00:00:00:01:06\",\"ethertype\":\"0x0800\","
				     "\"src\":\"10.0.1.6\",\"dst\":\"10.0.1.7\",\"proto\":\"tcp\","
				     "\"dport\":80}\n"));
	/* At stop, one line with every reason in order. */
	capture();
	virtio_mmio_destroy(&t);
	destroyed = true;
	text = captured();
	assert_non_null(
	    strstr(text, "nic tap-web: dropped 3 frames: src-mac 1, src-ip 1, dst-denied 1\n"));
	stop();
}

/* A checksum the host would complete over the UDP port (53 to 161, say) never reaches the tap;
 * one at the UDP checksum does, header unchanged. */
static void test_checksum_offload_only_at_the_checksum(void **state)
{
	char *text;

	(void)state;
	start("web", "10.0.1.5", F_TX);
	capture();
	ip4("10.0.1.5", "192.0.2.53", 17, 5353, 53, 8 + 12, 0);
	header(1, 0, 0, 34);
	memcpy(pkt + 8, &(uint16_t){2}, 2);
	assert_int_equal(send_frame(), -1);
	header(1, 0, 0, 34);
	memcpy(pkt + 8, &(uint16_t){6}, 2);
	assert_int_equal(send_frame(), HDR + flen);
	assert_memory_equal(got, pkt, HDR + flen);
	text = captured();
	assert_int_equal(virtio_net_drops(n, NET_DROP_OFFLOAD), 1);
	assert_non_null(strstr(text, "\"reason\":\"offload\""));
	stop();
}

static void test_audit_is_rate_limited(void **state)
{
	char *text;

	(void)state;
	start("web", "10.0.1.5", F_BASE);
	capture();
	tcp4("10.0.1.9", "10.0.1.6", 80);
	header(0, 0, 0, 0);
	for (unsigned i = 0; i < 30; i++)
		assert_int_equal(send_frame(), -1);
	text = captured();
	assert_int_equal(virtio_net_drops(n, NET_DROP_SRC_IP), 30);
	/* The burst, unless the machine is slow enough to earn a few more. */
	assert_in_range(count_lines(text, "{\"event\":\"net-drop\""), NET_AUDIT_BURST,
			NET_AUDIT_BURST + 3);
	stop();
}

static void test_vlan_tag_on_transmit(void **state)
{
	static const uint8_t tag[4] = {0x81, 0x00, 0x00, 102};

	(void)state;
	start("db", "10.0.2.5", F_TX);
	/* Checksum offload: csum_start moves with the frame. */
	ip4("10.0.2.5", "10.0.2.9", 6, 1, 5432, 200, 0);
	header(1, 0, 0, 34);
	assert_int_equal(send_frame(), HDR + flen + 4);
	assert_int_equal(got[6] | got[7] << 8, 38);
	assert_int_equal(got[8], 16);
	assert_int_equal(got[2] | got[3] << 8, 0);
	assert_memory_equal(got + HDR, fr, 12);
	assert_memory_equal(got + HDR + 12, tag, 4);
	assert_memory_equal(got + HDR + 16, fr + 12, flen - 12);
	/* TSO: hdr_len too; the IP header counts the whole packet. */
	ip4("10.0.2.5", "10.0.2.9", 6, 1, 5432, 3000, 0x4000);
	header(1, 1, 54, 34);
	assert_int_equal(send_frame(), HDR + flen + 4);
	assert_int_equal(got[2] | got[3] << 8, 58);
	assert_int_equal(got[6] | got[7] << 8, 38);
	assert_memory_equal(got + HDR + 12, tag, 4);
	assert_memory_equal(got + HDR + 16, fr + 12, flen - 12);
	/* Still filtered: db does not reach web. */
	ip4("10.0.2.5", "10.0.1.9", 6, 1, 80, 20, 0);
	header(0, 0, 0, 0);
	assert_int_equal(send_frame(), -1);
	/* The guest cannot tag for itself. */
	eth(peer_mac, nic_mac, 0x8100);
	flen = 60;
	header(0, 0, 0, 0);
	assert_int_equal(send_frame(), -1);
	assert_int_equal(virtio_net_drops(n, NET_DROP_VLAN_TAGGED), 1);
	assert_int_equal(virtio_net_drops(n, NET_DROP_DST_DENIED), 1);
	stop();
}

/* fr as it comes from the tap for db: tagged with VID. */
static void tagged(uint16_t vid, const uint8_t *to)
{
	ip4("10.0.2.9", "10.0.2.5", 6, 5432, 1, 100, 0);
	memcpy(fr, to, 6);
	memcpy(fr + 6, peer_mac, 6);
	memmove(fr + 16, fr + 12, flen - 12);
	store_be16(fr + 12, 0x8100);
	store_be16(fr + 14, vid);
	flen += 4;
}

static void test_vlan_untag_on_receive(void **state)
{
	uint64_t gpa;
	size_t len = 0;
	uint8_t *g;

	(void)state;
	start("db", "10.0.2.5", F_BASE | VIRTIO_BIT(1));
	tagged(102, nic_mac);
	header(1, 0, 58, 38);
	gpa = receive_frame(&len);
	assert_true(gpa != 0);
	assert_int_equal(len, HDR + flen - 4);
	g = mem.host + gpa;
	assert_int_equal(g[0], 1);
	assert_int_equal(g[6] | g[7] << 8, 34);
	assert_int_equal(g[2] | g[3] << 8, 54);
	assert_int_equal(g[10], 1); /* num_buffers */
	assert_memory_equal(g + HDR, fr, 12);
	assert_memory_equal(g + HDR + 12, fr + 16, flen - 16);
	/* Untagged, another VLAN, another MAC: never seen by the guest. */
	ip4("10.0.2.9", "10.0.2.5", 6, 5432, 1, 100, 0);
	memcpy(fr, nic_mac, 6);
	header(0, 0, 0, 0);
	assert_int_equal(receive_frame(&len), 0);
	tagged(101, nic_mac);
	header(0, 0, 0, 0);
	assert_int_equal(receive_frame(&len), 0);
	tagged(102, peer_mac);
	header(0, 0, 0, 0);
	assert_int_equal(receive_frame(&len), 0);
	/* A checksum start inside the tag cannot be moved: malformed. */
	tagged(102, nic_mac);
	header(1, 0, 0, 16);
	assert_int_equal(receive_frame(&len), 0);
	assert_int_equal(virtio_net_drops(n, NET_DROP_RX_VLAN), 2);
	assert_int_equal(virtio_net_drops(n, NET_DROP_RX_DST_MAC), 1);
	assert_int_equal(virtio_net_drops(n, NET_DROP_RX_MALFORMED), 1);
	/* The buffers the dropped frames did not take serve the next good one. */
	tagged(102, bcast_mac);
	header(0, 0, 0, 0);
	assert_true(receive_frame(&len) != 0);
	assert_int_equal(used(RXQ), 2);
	stop();
}

static void test_no_segment_no_filter(void **state)
{
	size_t len = 0;

	(void)state;
	start(NULL, NULL, F_BASE);
	tcp4("10.9.9.9", "10.0.3.7", 80);
	fr[11] ^= 1;
	header(0, 0, 0, 0);
	assert_int_equal(send_frame(), HDR + flen);
	eth(peer_mac, peer_mac, 0x8100);
	flen = 60;
	header(0, 0, 0, 0);
	assert_true(receive_frame(&len) != 0);
	assert_int_equal(virtio_net_drops(n, NET_DROP_SRC_MAC), 0);
	stop();
	/* A segment the policy lacks is refused. */
	{
		struct config_nic nic = make_nic("nosuch", NULL, NULL);
		struct virtio_net *m = virtio_net_new(dup(STDIN_FILENO), nic_mac);

		assert_int_equal(virtio_net_set_filter(m, "vm", &nic, &pol.network), -ENOENT);
		virtio_net_ops.destroy(m);
	}
}

static int setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	if (gmem_init(&mem, RAM))
		return -1;
	return net_setup(state);
}

static int teardown(void **state)
{
	gmem_free(&mem);
	return net_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spoofed_never_reach_the_tap),
	    cmocka_unit_test(test_checksum_offload_only_at_the_checksum),
	    cmocka_unit_test(test_audit_is_rate_limited),
	    cmocka_unit_test(test_vlan_tag_on_transmit),
	    cmocka_unit_test(test_vlan_untag_on_receive),
	    cmocka_unit_test(test_no_segment_no_filter),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
