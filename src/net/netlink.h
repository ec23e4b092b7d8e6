/* netlink.h: the rtnetlink requests `bulwark net` makes (libmnl): links, bridges, port VLANs. */
#ifndef BULWARK_NETLINK_H
#define BULWARK_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

struct nlmsghdr;
struct mnl_socket;

/* Room for any one request or reply (libmnl's MNL_SOCKET_DUMP_SIZE: a dump's messages fit). */
#define NL_BUF_SIZE 32768
#define NL_KIND_MAX 16
#define NL_ALIAS_MAX 255 /* IFALIASZ - 1: the longest IFLA_IFALIAS the kernel keeps */

/* What `bulwark net` needs to know about one link, from an RTM_NEWLINK message. */
struct nl_link {
	unsigned index;
	unsigned flags;		/* ifi_flags (IFF_UP, ...) */
	unsigned master;	/* IFLA_MASTER: the bridge's index, 0 when none */
	char kind[NL_KIND_MAX]; /* IFLA_INFO_KIND ("tun", "bridge", ...); "" when none */
	bool tun_data;		/* IFLA_INFO_DATA of a tun device was there */
	uint8_t tun_type;	/* IFF_TUN or IFF_TAP */
	bool tun_persist, tun_multi_queue;
	bool has_owner, has_group; /* an owner or group was set (TUNSETOWNER / TUNSETGROUP) */
	uint32_t owner, group;
	bool has_vlan_filtering; /* a bridge's IFLA_BR_VLAN_FILTERING was there */
	bool vlan_filtering;
	char alias[NL_ALIAS_MAX + 1]; /* IFLA_IFALIAS (`ip link set DEV alias`); "" when none */
};

#define NL_VID_MAX 4095 /* VIDs are 1..4094 */

/* The VLANs of one bridge port, from an AF_BRIDGE dump (RTEXT_FILTER_BRVLAN_COMPRESSED). */
struct nl_port_vlans {
	unsigned index;				   /* the port asked about */
	uint64_t vids[(NL_VID_MAX + 64) / 64];	   /* bit v: VID v is on the port */
	uint64_t untagged[(NL_VID_MAX + 64) / 64]; /* bit v: VID v egresses untagged */
	uint16_t pvid;				   /* 0: none */
};

/* Whether bit VID is set in SET (vids or untagged above). */
bool nl_vid_in(const uint64_t *set, unsigned vid);

/* One rtnetlink socket and its request sequence. */
struct nl {
	struct mnl_socket *sock;
	unsigned portid;
	unsigned seq;
	uint64_t buf[NL_BUF_SIZE / sizeof(uint64_t)]; /* aligned for the headers */
};

/* Opens NL. Returns 0 or -errno. */
int nl_open(struct nl *nl);
void nl_close(struct nl *nl);

/*
 * Request builders: each writes one message into BUF (NL_BUF_SIZE bytes) with sequence SEQ and
 * NLM_F_ACK, and returns its header. Kept apart from the socket so tests can read them back.
 */
/* RTM_GETLINK for the link called NAME. */
struct nlmsghdr *nl_msg_getlink(void *buf, unsigned seq, const char *name);
/* RTM_NEWLINK creating bridge NAME (fails with EEXIST when there is a link of that name). */
struct nlmsghdr *nl_msg_newbridge(void *buf, unsigned seq, const char *name);
/* RTM_NEWLINK setting IFLA_BR_VLAN_FILTERING to 1 on the existing bridge INDEX. */
struct nlmsghdr *nl_msg_vlan_filtering(void *buf, unsigned seq, unsigned index);
/* RTM_SETLINK on INDEX: IFLA_MASTER = MASTER when MASTER is not 0, and IFF_UP set when UP. */
struct nlmsghdr *nl_msg_setlink(void *buf, unsigned seq, unsigned index, unsigned master, bool up);
/* RTM_SETLINK on INDEX: IFLA_IFALIAS = ALIAS (at most NL_ALIAS_MAX characters). */
struct nlmsghdr *nl_msg_setalias(void *buf, unsigned seq, unsigned index, const char *alias);
/* AF_BRIDGE RTM_SETLINK (or RTM_DELLINK when DEL) of VLAN VID with FLAGS (BRIDGE_VLAN_INFO_*) on
 * the bridge port INDEX. */
struct nlmsghdr *nl_msg_port_vlan(void *buf, unsigned seq, unsigned index, uint16_t vid,
				  uint16_t flags, bool del);
/* AF_BRIDGE RTM_GETLINK: a dump of every bridge port with its VLANs, ranges compressed. */
struct nlmsghdr *nl_msg_getvlans(void *buf, unsigned seq);
/* RTM_DELLINK of INDEX. */
struct nlmsghdr *nl_msg_dellink(void *buf, unsigned seq, unsigned index);

/* Reads an RTM_NEWLINK message (the kernel's, checked as untrusted) into L. Returns 0, or
 * -EBADMSG when it is not one or is malformed. */
int nl_link_parse(const struct nlmsghdr *nlh, struct nl_link *l);

/* Adds what the AF_BRIDGE RTM_NEWLINK NLH says of port V->index to V; other ports' messages are
 * skipped. Returns 0, or -EBADMSG when NLH is malformed. */
int nl_port_vlans_parse(const struct nlmsghdr *nlh, struct nl_port_vlans *v);

/* Sends NLH (built in nl->buf) and waits for its acknowledgement (or a dump's end); a link in
 * the reply goes to REPLY when not NULL. Returns 0 or the kernel's -errno. */
int nl_talk(struct nl *nl, struct nlmsghdr *nlh, struct nl_link *reply);

/* The link called NAME into L. Returns 0, -ENODEV when there is none, or -errno. */
int nl_link_get(struct nl *nl, const char *name, struct nl_link *l);

/* The requests above, sent. Each returns 0 or -errno. */
int nl_bridge_add(struct nl *nl, const char *name);
int nl_bridge_vlan_filtering(struct nl *nl, unsigned index);
int nl_link_set(struct nl *nl, unsigned index, unsigned master, bool up);
int nl_link_set_alias(struct nl *nl, unsigned index, const char *alias);
int nl_port_vlan(struct nl *nl, unsigned index, uint16_t vid, uint16_t flags, bool del);
int nl_link_del(struct nl *nl, unsigned index);
/* The VLANs of bridge port INDEX into V. */
int nl_port_vlans_get(struct nl *nl, unsigned index, struct nl_port_vlans *v);

#endif
