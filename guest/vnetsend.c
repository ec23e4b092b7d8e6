/* vnetsend.c: the test guest's hostile sender (segment-cases): frames with virtio-net headers of
 * its choosing, through an AF_PACKET socket with PACKET_VNET_HDR, which hands the header to the
 * device as written. Built static by scripts/build-guest; the guest image has no libc. */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define IHL_MAX 60

struct frame {
	const char *marker; /* in the payload: what the host looks for */
	uint8_t proto;	    /* 6 or 17 */
	const uint8_t *opts;
	size_t nopts; /* IPv4 options, a multiple of 4 */
	uint16_t csum_start, csum_offset;
	uint8_t flags; /* VIRTIO_NET_HDR_F_NEEDS_CSUM or 0 */
};

static uint8_t mac_src[6], mac_dst[6];
static struct in_addr ip_src, ip_dst;

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The IPv4 header checksum (RFC 1071) over N bytes. */
static uint16_t ip_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Builds F after a virtio-net header into BUF; returns the bytes to send. */
static size_t build(uint8_t *buf, const struct frame *f)
{
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)buf;
	uint8_t *eth = buf + sizeof(*h), *ip = eth + 14, *l4;
	size_t ihl = 20 + f->nopts, l4len = (f->proto == 6 ? 20 : 8) + strlen(f->marker);

	memset(buf, 0, sizeof(*h) + 14 + IHL_MAX + l4len);
	h->flags = f->flags;
	h->csum_start = f->csum_start;
	h->csum_offset = f->csum_offset;
	memcpy(eth, mac_dst, 6);
	memcpy(eth + 6, mac_src, 6);
	put16(eth + 12, 0x0800);
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	put16(ip + 2, (uint16_t)(ihl + l4len));
	ip[8] = 64;
	ip[9] = f->proto;
	memcpy(ip + 12, &ip_src, 4);
	memcpy(ip + 16, &ip_dst, 4);
	if (f->nopts)
		memcpy(ip + 20, f->opts, f->nopts);
	put16(ip + 10, ip_csum(ip, ihl));
	l4 = ip + ihl;
	put16(l4, 40000);
	put16(l4 + 2, f->proto == 6 ? 7000 : 53);
	if (f->proto == 6) {
		l4[12] = 5 << 4;
		l4[13] = 0x02; /* SYN */
		put16(l4 + 14, 1024);
	} else {
		put16(l4 + 4, (uint16_t)l4len);
	}
	memcpy(l4 + (f->proto == 6 ? 20 : 8), f->marker, strlen(f->marker));
	return sizeof(*h) + 14 + ihl + l4len;
}

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

int main(int argc, char **argv)
{
	/* A loose source route through the allowed destination to 8.8.8.8, after one NOP. */
	static const uint8_t lsrr[] = {1, 131, 7, 4, 8, 8, 8, 8};
	const uint8_t csum = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	const struct frame frames[] = {
	    {"BWVNET-GOOD-UDP", 17, NULL, 0, 34, 6, csum},
	    {"BWVNET-GOOD-TCP", 6, NULL, 0, 34, 16, csum},
	    {"BWVNET-EVIL-PORT", 17, NULL, 0, 34, 2, csum}, /* the destination port */
	    {"BWVNET-EVIL-SRC", 17, NULL, 0, 26, 0, csum},  /* the source address */
	    {"BWVNET-EVIL-MAC", 6, NULL, 0, 0, 0, csum},    /* the destination MAC */
	    {"BWVNET-EVIL-SRR", 17, lsrr, sizeof(lsrr), 0, 0, 0},
	};
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP)};
	struct ifreq ifr;
	uint8_t buf[256];
	int one = 1, fd, sent = 0;

	if (argc != 6 || inet_pton(AF_INET, argv[2], &ip_src) != 1 ||
	    inet_pton(AF_INET, argv[3], &ip_dst) != 1 || parse_mac(argv[4], mac_dst) ||
	    (to.sll_ifindex = (int)if_nametoindex(argv[1])) == 0) {
		fprintf(stderr, "usage: vnetsend IFACE SRC-IP DST-IP DST-MAC ROUNDS\n");
		return 2;
	}
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
	    ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		perror("vnetsend: socket");
		return 1;
	}
	memcpy(mac_src, ifr.ifr_hwaddr.sa_data, 6);
	to.sll_halen = 6;
	memcpy(to.sll_addr, mac_dst, 6);
	for (int round = 0; round < atoi(argv[5]); round++)
		for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
			size_t n = build(buf, &frames[i]);

			if (sendto(fd, buf, n, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)n)
				sent++;
			else
				fprintf(stderr, "vnetsend: %s: %m\n", frames[i].marker);
			usleep(100000);
		}
	printf("%d\n", sent);
	return 0;
}
