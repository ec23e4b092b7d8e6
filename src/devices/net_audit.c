/* net_audit.c: the frame filter's audit line (one JSON object per dropped frame) and its
 * per-NIC rate limit. No allocation: it runs on the device thread. */
#include "devices/net_filter.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>

bool net_audit_admit(struct net_audit *a, uint64_t now_ns, unsigned long *suppressed)
{
	if (!a->bucket.rate)
		rate_limit_init(&a->bucket, NET_AUDIT_RATE, NET_AUDIT_BURST);
	rate_limit_refill(&a->bucket, now_ns);
	if (!rate_limit_avail(&a->bucket)) {
		a->suppressed++;
		return false;
	}
	rate_limit_take(&a->bucket, 1);
	*suppressed = a->suppressed;
	a->suppressed = 0;
	return true;
}

/* Appends to BUF[*N, CAP) like snprintf; *N never passes CAP - 1. */
__attribute__((format(printf, 4, 5))) static void add(char *buf, size_t cap, size_t *n,
						      const char *fmt, ...)
{
	va_list ap;
	int r;

	if (*n + 1 >= cap)
		return;
	va_start(ap, fmt);
	r = vsnprintf(buf + *n, cap - *n, fmt, ap);
	va_end(ap);
	if (r > 0)
		*n = *n + (size_t)r < cap - 1 ? *n + (size_t)r : cap - 1;
}

/* S as a JSON string's contents: the config allows " and \ in a tap name. */
static void add_string(char *buf, size_t cap, size_t *n, const char *key, const char *s)
{
	add(buf, cap, n, ",\"%s\":\"", key);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			add(buf, cap, n, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			add(buf, cap, n, "\\u%04x", c);
		else
			add(buf, cap, n, "%c", c);
	}
	add(buf, cap, n, "\"");
}

static void add_mac(char *buf, size_t cap, size_t *n, const char *key, const uint8_t *m)
{
	add(buf, cap, n, ",\"%s\":\"%02x:%02x:%02x:%02x:%02x:%02x\"", key, m[0], m[1], m[2], m[3],
	    m[4], m[5]);
}

static void add_ip(char *buf, size_t cap, size_t *n, const char *key, int family, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, s, sizeof(s));
	add(buf, cap, n, ",\"%s\":\"%s\"", key, s);
}

size_t net_audit_format(char *buf, size_t cap, const char *vm, const char *nic,
			const struct net_drop *d, unsigned long suppressed)
{
	size_t n = 0;

	if (cap < 4)
		return 0;
	buf[0] = '\0';
	add(buf, cap, &n, "{\"event\":\"net-drop\"");
	add_string(buf, cap, &n, "vm", vm);
	add_string(buf, cap, &n, "nic", nic);
	add(buf, cap, &n, ",\"dir\":\"%s\",\"reason\":\"%s\"", d->rx ? "rx" : "tx",
	    net_drop_name(d->reason));
	if (d->has_eth) {
		add_mac(buf, cap, &n, "src_mac", d->src_mac);
		add_mac(buf, cap, &n, "dst_mac", d->dst_mac);
		add(buf, cap, &n, ",\"ethertype\":\"0x%04x\"", d->ethertype);
	}
	if (d->family == 4 || d->family == 6) {
		add_ip(buf, cap, &n, "src", d->family, d->src);
		add_ip(buf, cap, &n, "dst", d->family, d->dst);
	}
	if (d->proto == 6 || d->proto == 17 || d->proto == 1 || d->proto == 58)
		add(buf, cap, &n, ",\"proto\":\"%s\"",
		    d->proto == 6    ? "tcp"
		    : d->proto == 17 ? "udp"
		    : d->proto == 1  ? "icmp"
				     : "icmpv6");
	else if (d->proto >= 0)
		add(buf, cap, &n, ",\"proto\":\"%d\"", d->proto);
	if (d->dport >= 0)
		add(buf, cap, &n, ",\"dport\":%d", d->dport);
	if (suppressed)
		add(buf, cap, &n, ",\"suppressed\":%lu", suppressed);
	/* Room for the closing brace and newline even when cut short. */
	if (n > cap - 3)
		n = cap - 3;
	buf[n++] = '}';
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}
