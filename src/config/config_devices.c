/* config_devices.c: the disks and nics items of the VM config, their checks and defaults. */
#include "config/config_devices.h"
#include "util/bytes.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static bool printable(char c)
{
	return c >= 0x20 && c <= 0x7e;
}

static int parse_serial(struct cy_parser *p, const struct cy_key *k, const char *field,
			yaml_node_t *n, void *base)
{
	const char *s = NULL;
	size_t len = 0;

	if (cy_scalar(p, n, field, k->expect, true, &s, &len))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!printable(s[i]))
			return cy_bad(p, n, field, k->expect, s, len);
	if (len > CONFIG_SERIAL_MAX)
		return cy_bad(p, n, field, k->expect, s, len);
	memcpy(cy_field(base, k), s, len);
	((char *)cy_field(base, k))[len] = '\0';
	return 0;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Any scalar style: a YAML 1.1 reader would take the plain form as a base-60 integer, but
 * libyaml hands us its text unchanged. */
static int parse_mac(struct cy_parser *p, const struct cy_key *k, const char *field, yaml_node_t *n,
		     void *base)
{
	const char *s = NULL;
	size_t len = 0;
	uint8_t mac[6];
	struct cy_echo e = {0};

	if (cy_scalar(p, n, field, k->expect, false, &s, &len))
		return -1;
	if (len != 17)
		return cy_bad(p, n, field, k->expect, s, len);
	for (size_t i = 0; i < 6; i++) {
		int hi = hex(s[3 * i]), lo = hex(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return cy_bad(p, n, field, k->expect, s, len);
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if (mac[0] & 1)
		return cy_err(p, n->start_mark, field,
			      "expected a unicast MAC address (first octet even), got %s",
			      cy_echo(&e, s, len, true));
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return cy_err(p, n->start_mark, field,
			      "expected a MAC address other than all zeros, got %s",
			      cy_echo(&e, s, len, true));
	memcpy(cy_field(base, k), mac, sizeof(mac));
	return 0;
}

static int parse_segment(struct cy_parser *p, const struct cy_key *k, const char *field,
			 yaml_node_t *n, void *base)
{
	return cy_name(p, n, field, k->expect, CONFIG_SEGMENT_MAX, cy_field(base, k));
}

/*
 * The NIC's own unicast address: the one its guest may send from. Written without a prefix; the
 * segment's ranges say the rest. Its IPv6 link-local address must be in fe80::/64.
 */
static int parse_ip(struct cy_parser *p, const struct cy_key *k, const char *field, yaml_node_t *n,
		    void *base)
{
	bool ll = k->off == offsetof(struct config_nic, ipv6_link_local);
	bool v6 = ll || k->off == offsetof(struct config_nic, ipv6);
	static const uint8_t ll_prefix[8] = {0xfe, 0x80};
	const char *s = NULL;
	size_t len = 0;
	char buf[INET6_ADDRSTRLEN];
	static const uint8_t zero[16], loop6[16] = {[15] = 1};
	uint8_t a[16] = {0};
	struct cy_echo e = {0};
	bool unicast;

	if (cy_scalar(p, n, field, k->expect, true, &s, &len))
		return -1;
	if (len >= sizeof(buf))
		return cy_bad(p, n, field, k->expect, s, len);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, a) != 1)
		return cy_bad(p, n, field, k->expect, s, len);
	/* 224/4 is multicast, 240/4 reserved (with the broadcast address), ff00::/8 multicast. */
	if (v6)
		unicast = memcmp(a, zero, 16) != 0 && memcmp(a, loop6, 16) != 0 && a[0] != 0xff;
	else
		unicast = memcmp(a, zero, 4) != 0 && a[0] != 127 && a[0] < 224;
	if (!unicast)
		return cy_err(p, n->start_mark, field,
			      "expected a unicast address (not unspecified, loopback, multicast or "
			      "broadcast), got %s",
			      cy_echo(&e, s, len, true));
	if (ll && memcmp(a, ll_prefix, sizeof(ll_prefix)) != 0)
		return cy_err(p, n->start_mark, field,
			      "expected a link-local address in fe80::/64, got %s",
			      cy_echo(&e, s, len, true));
	memcpy(cy_field(base, k), a, v6 ? 16 : 4);
	return 0;
}

#define DISK_KEY(...) CY_KEY(struct config_disk, __VA_ARGS__)
#define NIC_KEY(...) CY_KEY(struct config_nic, __VA_ARGS__)

static const char tap_expect[] = "expected an interface name: 1 to " CY_STR(
    CONFIG_TAP_MAX) " printable ASCII characters but space, /, : and %, not . or ..";

static const struct cy_key disk_keys[] = {
    DISK_KEY(path, true, cy_key_path, "expected a path"),
    DISK_KEY(read_only, false, cy_key_bool, "expected true or false"),
    DISK_KEY(serial, false, parse_serial,
	     "expected 1 to " CY_STR(CONFIG_SERIAL_MAX) " printable ASCII characters"),
};

static const struct cy_key nic_keys[] = {
    NIC_KEY(tap, true, cy_key_ifname, tap_expect),
    NIC_KEY(mac, false, parse_mac, "expected a MAC address such as \"52:54:00:12:34:56\""),
    NIC_KEY(segment, false, parse_segment,
	    "expected a segment name: 1 to " CY_STR(CONFIG_SEGMENT_MAX) " characters from a-z, "
									"0-9 and -"),
    NIC_KEY(ipv4, false, parse_ip, "expected an IPv4 address such as 10.0.1.5"),
    NIC_KEY(ipv6, false, parse_ip, "expected an IPv6 address such as \"fd00:1::5\""),
    NIC_KEY(ipv6_link_local, false, parse_ip,
	    "expected an IPv6 link-local address such as \"fe80::5\""),
};

static const struct cy_table disk_table = {disk_keys, ARRAY_SIZE(disk_keys),
					   sizeof(struct config_disk),
					   offsetof(struct config_disk, loc)};
static const struct cy_table nic_table = {nic_keys, ARRAY_SIZE(nic_keys), sizeof(struct config_nic),
					  offsetof(struct config_nic, loc)};

/* Refuses LIST[I].KEY, equal to LIST[J].KEY: one image or tap is one device. */
static int repeated(struct cy_parser *p, const char *list, const char *key, const char *what,
		    unsigned i, unsigned j, const char *value, struct config_loc loc,
		    struct config_loc prev)
{
	char field[CY_FIELD_MAX];
	struct cy_echo e = {0};

	snprintf(field, sizeof(field), "%s[%u].%s", list, i, key);
	config_errorf(p->err, p->file, loc, field,
		      "expected each %s once, got %s again (%s[%u], line %u)", what,
		      cy_echo(&e, value, strlen(value), true), list, j, prev.line);
	return -1;
}

int config_parse_disks(struct cy_parser *p, const struct cy_key *k, const char *field,
		       yaml_node_t *n, void *base)
{
	struct vm_config *cfg = base;
	int count = cy_sequence(p, n, field, "disks", CONFIG_DISKS_MAX, &disk_table, cfg->disks);

	(void)k;
	if (count < 0)
		return -1;
	cfg->ndisks = (unsigned)count;
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		struct config_disk *d = &cfg->disks[i], *prev = cfg->disks;

		if (!d->loc_serial.line)
			snprintf(d->serial, sizeof(d->serial), "disk%u", i);
		/* Resolved strings only: a.img and ./a.img pass, the device helper opens both. */
		for (unsigned j = 0; j < i; j++, prev++)
			if (!strcmp(d->path, prev->path))
				return repeated(p, field, "path", "image", i, j, d->path,
						d->loc_path, prev->loc_path);
	}
	return 0;
}

int config_parse_nics(struct cy_parser *p, const struct cy_key *k, const char *field,
		      yaml_node_t *n, void *base)
{
	struct vm_config *cfg = base;
	int count = cy_sequence(p, n, field, "nics", CONFIG_NICS_MAX, &nic_table, cfg->nics);

	(void)k;
	if (count < 0)
		return -1;
	cfg->nnics = (unsigned)count;
	for (unsigned i = 0; i < cfg->nnics; i++) {
		struct config_nic *c = &cfg->nics[i], *prev = cfg->nics;

		for (unsigned j = 0; j < i; j++, prev++)
			if (!strcmp(c->tap, prev->tap))
				return repeated(p, field, "tap", "tap", i, j, c->tap, c->loc_tap,
						prev->loc_tap);
	}
	return 0;
}

/* FNV-1a: stable across builds and hosts, so a VM keeps its MACs (and its guest's leases). */
static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

void config_devices_defaults(struct vm_config *cfg)
{
	uint32_t h = fnv1a(cfg->name);

	/* 02: locally administered unicast; the last octet keeps one VM's nics apart. */
	for (unsigned i = 0; i < cfg->nnics; i++)
		if (!cfg->nics[i].loc_mac.line)
			memcpy(cfg->nics[i].mac,
			       (uint8_t[6]){0x02, (uint8_t)(h >> 24), (uint8_t)(h >> 16),
					    (uint8_t)(h >> 8), (uint8_t)h, (uint8_t)i},
			       6);
}

/* ERR's text again, as "FILE:LINE:COLUMN: ITEMS[I].KEY: text" at LOC. */
static void item_error(const struct vm_config *cfg, const char *items, unsigned i,
		       struct config_loc loc, struct bw_error *err)
{
	char field[48], msg[sizeof(err->msg)];

	snprintf(field, sizeof(field), "%s[%u].%s", items, i, err->key);
	memcpy(msg, err->msg, sizeof(msg));
	config_errorf(err, cfg->path, loc, field, "%s", msg);
}

void config_disk_error(const struct vm_config *cfg, unsigned i, struct bw_error *err)
{
	/* A disk's constructor refuses only its image: the path is the one key it can fault. */
	if (!err->key)
		err->key = "path";
	item_error(cfg, "disks", i, cfg->disks[i].loc_path, err);
}

void config_nic_error(const struct vm_config *cfg, unsigned i, struct bw_error *err)
{
	const struct config_nic *nic = &cfg->nics[i];

	/* Its tap, or the segment whose frame filter it could not set up. */
	if (!err->key)
		err->key = "tap";
	item_error(cfg, "nics", i, strcmp(err->key, "segment") ? nic->loc_tap : nic->loc_segment,
		   err);
}
