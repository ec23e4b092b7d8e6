/* netlink.c: the rtnetlink requests `bulwark net` makes (libmnl): links, bridges, port VLANs. */
#include "net/netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

_Static_assert(NL_BUF_SIZE >= 8192, "libmnl's MNL_SOCKET_BUFFER_SIZE is at most 8192");

int nl_open(struct nl *nl)
{
	int err;

	memset(nl, 0, sizeof(*nl));
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return err;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned)time(NULL);
	return 0;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

/* A request header with an ifinfomsg of FAMILY for link INDEX (0: by name). */
static struct nlmsghdr *link_msg(void *buf, unsigned seq, uint16_t type, uint16_t flags,
				 uint8_t family, unsigned index)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	memset(buf, 0, NL_BUF_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = family;
	ifi->ifi_index = (int)index;
	return nlh;
}

struct nlmsghdr *nl_msg_getlink(void *buf, unsigned seq, const char *name)
{
	struct nlmsghdr *nlh = link_msg(buf, seq, RTM_GETLINK, 0, AF_UNSPEC, 0);

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

struct nlmsghdr *nl_msg_newbridge(void *buf, unsigned seq, const char *name)
{
	struct nlmsghdr *nlh =
	    link_msg(buf, seq, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0);
	struct nlattr *info;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

struct nlmsghdr *nl_msg_vlan_filtering(void *buf, unsigned seq, unsigned index)
{
	/* As `ip link set BR type bridge vlan_filtering 1`: a NEWLINK without CREATE changes the
	 * existing link's kind-specific settings. */
	struct nlmsghdr *nlh = link_msg(buf, seq, RTM_NEWLINK, 0, AF_UNSPEC, index);
	struct nlattr *info, *data;

	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u8(nlh, IFLA_BR_VLAN_FILTERING, 1);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

struct nlmsghdr *nl_msg_setlink(void *buf, unsigned seq, unsigned index, unsigned master, bool up)
{
	struct nlmsghdr *nlh = link_msg(buf, seq, RTM_SETLINK, 0, AF_UNSPEC, index);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	ifi->ifi_flags = up ? IFF_UP : 0;
	ifi->ifi_change = up ? IFF_UP : 0;
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, master);
	return nlh;
}

struct nlmsghdr *nl_msg_setalias(void *buf, unsigned seq, unsigned index, const char *alias)
{
	struct nlmsghdr *nlh = link_msg(buf, seq, RTM_SETLINK, 0, AF_UNSPEC, index);

	/* As `ip link set DEV alias A`: without the NUL, which the kernel would keep as part of
	 * the alias's length. */
	mnl_attr_put(nlh, IFLA_IFALIAS, strnlen(alias, NL_ALIAS_MAX), alias);
	return nlh;
}

struct nlmsghdr *nl_msg_port_vlan(void *buf, unsigned seq, unsigned index, uint16_t vid,
				  uint16_t flags, bool del)
{
	/* As `bridge vlan add|del dev PORT vid VID`: no IFLA_BRIDGE_FLAGS, so the kernel applies
	 * it to the port (BRIDGE_FLAGS_MASTER), not to the bridge device itself. */
	struct nlmsghdr *nlh =
	    link_msg(buf, seq, del ? RTM_DELLINK : RTM_SETLINK, 0, AF_BRIDGE, index);
	struct bridge_vlan_info vinfo = {.flags = flags, .vid = vid};
	struct nlattr *spec;

	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	mnl_attr_put(nlh, IFLA_BRIDGE_VLAN_INFO, sizeof(vinfo), &vinfo);
	mnl_attr_nest_end(nlh, spec);
	return nlh;
}

struct nlmsghdr *nl_msg_getvlans(void *buf, unsigned seq)
{
	/* The kernel answers AF_BRIDGE GETLINK only as a dump (and a dump is never acknowledged:
	 * NLMSG_DONE ends it). */
	struct nlmsghdr *nlh = link_msg(buf, seq, RTM_GETLINK, NLM_F_DUMP, AF_BRIDGE, 0);

	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN_COMPRESSED);
	return nlh;
}

struct nlmsghdr *nl_msg_dellink(void *buf, unsigned seq, unsigned index)
{
	return link_msg(buf, seq, RTM_DELLINK, 0, AF_UNSPEC, index);
}

/* IFLA_INFO_DATA of a tun device. */
static int tun_attr(const struct nlattr *a, void *data)
{
	struct nl_link *l = data;
	uint16_t type = mnl_attr_get_type(a);

	switch (type) {
	case IFLA_TUN_OWNER:
	case IFLA_TUN_GROUP:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		if (type == IFLA_TUN_OWNER) {
			l->has_owner = true;
			l->owner = mnl_attr_get_u32(a);
		} else {
			l->has_group = true;
			l->group = mnl_attr_get_u32(a);
		}
		break;
	case IFLA_TUN_TYPE:
	case IFLA_TUN_PERSIST:
	case IFLA_TUN_MULTI_QUEUE:
		if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
			return MNL_CB_ERROR;
		if (type == IFLA_TUN_TYPE)
			l->tun_type = mnl_attr_get_u8(a);
		else if (type == IFLA_TUN_PERSIST)
			l->tun_persist = mnl_attr_get_u8(a) != 0;
		else
			l->tun_multi_queue = mnl_attr_get_u8(a) != 0;
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/* IFLA_INFO_DATA of a bridge. */
static int bridge_attr(const struct nlattr *a, void *data)
{
	struct nl_link *l = data;

	if (mnl_attr_get_type(a) == IFLA_BR_VLAN_FILTERING) {
		if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
			return MNL_CB_ERROR;
		l->has_vlan_filtering = true;
		l->vlan_filtering = mnl_attr_get_u8(a) != 0;
	}
	return MNL_CB_OK;
}

/* IFLA_LINKINFO: the kind first (the kernel puts it first), then the kind's data. */
static int linkinfo_attr(const struct nlattr *a, void *data)
{
	struct nl_link *l = data;
	const char *kind;
	size_t len;

	switch (mnl_attr_get_type(a)) {
	case IFLA_INFO_KIND:
		if (mnl_attr_validate(a, MNL_TYPE_STRING) < 0)
			return MNL_CB_ERROR;
		kind = mnl_attr_get_str(a);
		len = strnlen(kind, mnl_attr_get_payload_len(a));
		if (len >= sizeof(l->kind))
			return MNL_CB_ERROR;
		memcpy(l->kind, kind, len);
		l->kind[len] = '\0';
		break;
	case IFLA_INFO_DATA:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
		if (!strcmp(l->kind, "tun")) {
			l->tun_data = true;
			return mnl_attr_parse_nested(a, tun_attr, l);
		}
		if (!strcmp(l->kind, "bridge"))
			return mnl_attr_parse_nested(a, bridge_attr, l);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/* IFLA_IFALIAS: NUL-terminated, and no longer than the kernel keeps one. */
static int alias_attr(const struct nlattr *a, struct nl_link *l)
{
	size_t len;

	if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_ERROR;
	len = strlen(mnl_attr_get_str(a));
	if (len > NL_ALIAS_MAX)
		return MNL_CB_ERROR;
	memcpy(l->alias, mnl_attr_get_str(a), len + 1);
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *a, void *data)
{
	struct nl_link *l = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFALIAS:
		return alias_attr(a, l);
	case IFLA_MASTER:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		l->master = mnl_attr_get_u32(a);
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
		return mnl_attr_parse_nested(a, linkinfo_attr, l);
	default:
		break;
	}
	return MNL_CB_OK;
}

int nl_link_parse(const struct nlmsghdr *nlh, struct nl_link *l)
{
	const struct ifinfomsg *ifi;

	memset(l, 0, sizeof(*l));
	if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return -EBADMSG;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (ifi->ifi_index <= 0)
		return -EBADMSG;
	l->index = (unsigned)ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	if (mnl_attr_parse(nlh, sizeof(*ifi), link_attr, l) < 0) {
		memset(l, 0, sizeof(*l));
		return -EBADMSG;
	}
	return 0;
}

bool nl_vid_in(const uint64_t *set, unsigned vid)
{
	return vid < NL_VID_MAX && (set[vid / 64] >> (vid % 64) & 1);
}

static void vid_add(uint64_t *set, unsigned vid)
{
	set[vid / 64] |= 1ULL << (vid % 64);
}

/* IFLA_AF_SPEC of a port: one IFLA_BRIDGE_VLAN_INFO per VID, or a RANGE_BEGIN / RANGE_END pair
 * (asked for: a port with many VLANs still fits a message). */
struct vlan_walk {
	struct nl_port_vlans *v;
	unsigned range_begin; /* 0: not inside a range */
};

static int vlan_attr(const struct nlattr *a, void *data)
{
	struct vlan_walk *w = data;
	const struct bridge_vlan_info *vi;
	unsigned first;

	if (mnl_attr_get_type(a) != IFLA_BRIDGE_VLAN_INFO)
		return MNL_CB_OK;
	if (mnl_attr_validate2(a, MNL_TYPE_BINARY, sizeof(*vi)) < 0)
		return MNL_CB_ERROR;
	vi = mnl_attr_get_payload(a);
	if (vi->vid == 0 || vi->vid >= NL_VID_MAX)
		return MNL_CB_ERROR;
	if (vi->flags & BRIDGE_VLAN_INFO_RANGE_BEGIN) {
		if (w->range_begin)
			return MNL_CB_ERROR;
		w->range_begin = vi->vid;
		return MNL_CB_OK;
	}
	first = vi->vid;
	if (vi->flags & BRIDGE_VLAN_INFO_RANGE_END) {
		if (!w->range_begin || w->range_begin > vi->vid)
			return MNL_CB_ERROR;
		first = w->range_begin;
		w->range_begin = 0;
	} else if (w->range_begin) {
		return MNL_CB_ERROR;
	}
	for (unsigned vid = first; vid <= vi->vid; vid++) {
		vid_add(w->v->vids, vid);
		if (vi->flags & BRIDGE_VLAN_INFO_UNTAGGED)
			vid_add(w->v->untagged, vid);
	}
	if (vi->flags & BRIDGE_VLAN_INFO_PVID)
		w->v->pvid = vi->vid;
	return MNL_CB_OK;
}

static int port_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) != IFLA_AF_SPEC)
		return MNL_CB_OK;
	if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
		return MNL_CB_ERROR;
	return mnl_attr_parse_nested(a, vlan_attr, data);
}

int nl_port_vlans_parse(const struct nlmsghdr *nlh, struct nl_port_vlans *v)
{
	const struct ifinfomsg *ifi;
	struct vlan_walk w = {v, 0};

	if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return -EBADMSG;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (ifi->ifi_index <= 0 || (unsigned)ifi->ifi_index != v->index)
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*ifi), port_attr, &w) < 0 || w.range_begin)
		return -EBADMSG;
	return 0;
}

static int vlans_cb(const struct nlmsghdr *nlh, void *data)
{
	return nl_port_vlans_parse(nlh, data) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

/* mnl_cb_run's data callback: the link the kernel answered with, if the caller wants it. */
static int reply_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_link *l = data;

	if (l && nl_link_parse(nlh, l) < 0)
		return MNL_CB_ERROR;
	return MNL_CB_OK;
}

/* Sends NLH and runs CB on each reply until the acknowledgement or a dump's NLMSG_DONE. */
static int talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	unsigned seq = nlh->nlmsg_seq;
	ssize_t n;
	int r;

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* The reply (for a GETLINK) and then the acknowledgement, which ends the exchange. A
	 * kernel that never acknowledges would leave us here, as it would `ip`. */
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0)
			return errno == EINTR ? -EINTR : -errno;
		errno = 0;
		r = mnl_cb_run(nl->buf, (size_t)n, seq, nl->portid, cb, data);
		if (r == MNL_CB_STOP)
			return 0;
		if (r < 0)
			return errno ? -errno : -EBADMSG;
	}
}

int nl_talk(struct nl *nl, struct nlmsghdr *nlh, struct nl_link *reply)
{
	return talk(nl, nlh, reply_cb, reply);
}

int nl_link_get(struct nl *nl, const char *name, struct nl_link *l)
{
	int r;

	memset(l, 0, sizeof(*l));
	r = nl_talk(nl, nl_msg_getlink(nl->buf, ++nl->seq, name), l);

	if (r == 0 && l->index == 0)
		return -EBADMSG; /* acknowledged without a link: not what a kernel does */
	return r;
}

int nl_bridge_add(struct nl *nl, const char *name)
{
	return nl_talk(nl, nl_msg_newbridge(nl->buf, ++nl->seq, name), NULL);
}

int nl_bridge_vlan_filtering(struct nl *nl, unsigned index)
{
	return nl_talk(nl, nl_msg_vlan_filtering(nl->buf, ++nl->seq, index), NULL);
}

int nl_link_set(struct nl *nl, unsigned index, unsigned master, bool up)
{
	return nl_talk(nl, nl_msg_setlink(nl->buf, ++nl->seq, index, master, up), NULL);
}

int nl_link_set_alias(struct nl *nl, unsigned index, const char *alias)
{
	return nl_talk(nl, nl_msg_setalias(nl->buf, ++nl->seq, index, alias), NULL);
}

int nl_port_vlan(struct nl *nl, unsigned index, uint16_t vid, uint16_t flags, bool del)
{
	return nl_talk(nl, nl_msg_port_vlan(nl->buf, ++nl->seq, index, vid, flags, del), NULL);
}

int nl_link_del(struct nl *nl, unsigned index)
{
	return nl_talk(nl, nl_msg_dellink(nl->buf, ++nl->seq, index), NULL);
}

int nl_port_vlans_get(struct nl *nl, unsigned index, struct nl_port_vlans *v)
{
	memset(v, 0, sizeof(*v));
	v->index = index;
	return talk(nl, nl_msg_getvlans(nl->buf, ++nl->seq), vlans_cb, v);
}
