/* test_netlink.c: the rtnetlink requests of `bulwark net`, built into buffers and read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "net/netlink.h"

static uint64_t buf[NL_BUF_SIZE / sizeof(uint64_t)];

/* Up to 8 attributes of one level, by type. */
struct attrs {
	const struct nlattr *a[IFLA_MAX + 1];
	unsigned n;
};

static int collect(const struct nlattr *a, void *data)
{
	struct attrs *t = data;
	uint16_t type = mnl_attr_get_type(a);

	assert_true(type <= IFLA_MAX);
	assert_null(t->a[type]); /* no attribute twice */
	t->a[type] = a;
	t->n++;
	return MNL_CB_OK;
}

static const struct ifinfomsg *header(const struct nlmsghdr *nlh, uint16_t type, uint16_t flags,
				      struct attrs *t)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	assert_int_equal(nlh->nlmsg_type, type);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | flags);
	assert_int_equal(nlh->nlmsg_seq, 77);
	assert_true(mnl_nlmsg_get_payload_len(nlh) >= sizeof(*ifi));
	memset(t, 0, sizeof(*t));
	assert_int_equal(mnl_attr_parse(nlh, sizeof(*ifi), collect, t), MNL_CB_OK);
	return ifi;
}

static void nested(const struct nlattr *a, struct attrs *t)
{
	assert_non_null(a);
	memset(t, 0, sizeof(*t));
	assert_int_equal(mnl_attr_parse_nested(a, collect, t), MNL_CB_OK);
}

static void test_getlink(void **state)
{
	struct attrs t;
	const struct ifinfomsg *ifi = header(nl_msg_getlink(buf, 77, "tap0"), RTM_GETLINK, 0, &t);

	(void)state;
	assert_int_equal(ifi->ifi_family, AF_UNSPEC);
	assert_int_equal(ifi->ifi_index, 0);
	assert_int_equal(t.n, 1);
	assert_string_equal(mnl_attr_get_str(t.a[IFLA_IFNAME]), "tap0");
}

static void test_newbridge(void **state)
{
	struct attrs t, info;
	const struct ifinfomsg *ifi =
	    header(nl_msg_newbridge(buf, 77, "br-web"), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &t);

	(void)state;
	assert_int_equal(ifi->ifi_index, 0);
	assert_int_equal(t.n, 2);
	assert_string_equal(mnl_attr_get_str(t.a[IFLA_IFNAME]), "br-web");
	nested(t.a[IFLA_LINKINFO], &info);
	assert_int_equal(info.n, 1);
	assert_string_equal(mnl_attr_get_str(info.a[IFLA_INFO_KIND]), "bridge");
}

static void test_vlan_filtering(void **state)
{
	struct attrs t, info, data;
	const struct ifinfomsg *ifi = header(nl_msg_vlan_filtering(buf, 77, 9), RTM_NEWLINK, 0, &t);

	(void)state;
	assert_int_equal(ifi->ifi_index, 9);
	assert_int_equal(t.n, 1);
	nested(t.a[IFLA_LINKINFO], &info);
	assert_int_equal(info.n, 2);
	assert_string_equal(mnl_attr_get_str(info.a[IFLA_INFO_KIND]), "bridge");
	nested(info.a[IFLA_INFO_DATA], &data);
	assert_int_equal(data.n, 1);
	assert_int_equal(mnl_attr_validate(data.a[IFLA_BR_VLAN_FILTERING], MNL_TYPE_U8), 0);
	assert_int_equal(mnl_attr_get_u8(data.a[IFLA_BR_VLAN_FILTERING]), 1);
}

static void test_setlink(void **state)
{
	struct attrs t;
	const struct ifinfomsg *ifi =
	    header(nl_msg_setlink(buf, 77, 4, 9, true), RTM_SETLINK, 0, &t);

	(void)state;
	assert_int_equal(ifi->ifi_index, 4);
	assert_int_equal(ifi->ifi_flags, IFF_UP);
	assert_int_equal(ifi->ifi_change, IFF_UP);
	assert_int_equal(t.n, 1);
	assert_int_equal(mnl_attr_get_u32(t.a[IFLA_MASTER]), 9);
	/* Without a bridge, no IFLA_MASTER at all: an existing master stays. */
	ifi = header(nl_msg_setlink(buf, 77, 4, 0, true), RTM_SETLINK, 0, &t);
	assert_int_equal(t.n, 0);
	assert_int_equal(ifi->ifi_flags, IFF_UP);
	/* Attached, its flags left as they are. */
	ifi = header(nl_msg_setlink(buf, 77, 4, 9, false), RTM_SETLINK, 0, &t);
	assert_int_equal(ifi->ifi_flags, 0);
	assert_int_equal(ifi->ifi_change, 0);
	assert_int_equal(mnl_attr_get_u32(t.a[IFLA_MASTER]), 9);
}

static void test_setalias(void **state)
{
	struct attrs t;
	char longer[300];
	const struct ifinfomsg *ifi =
	    header(nl_msg_setalias(buf, 77, 4, "bulwark:a:/etc/a.yaml"), RTM_SETLINK, 0, &t);

	(void)state;
	assert_int_equal(ifi->ifi_index, 4);
	assert_int_equal(ifi->ifi_change, 0); /* flags left as they are */
	assert_int_equal(t.n, 1);
	/* As ip(8) sends it: no NUL, which the kernel would count in the alias. */
	assert_int_equal(mnl_attr_get_payload_len(t.a[IFLA_IFALIAS]), 21);
	assert_memory_equal(mnl_attr_get_payload(t.a[IFLA_IFALIAS]), "bulwark:a:/etc/a.yaml", 21);
	/* Never more than the kernel keeps (IFALIASZ - 1). */
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	header(nl_msg_setalias(buf, 77, 4, longer), RTM_SETLINK, 0, &t);
	assert_int_equal(mnl_attr_get_payload_len(t.a[IFLA_IFALIAS]), NL_ALIAS_MAX);
}

static void check_port_vlan(bool del, uint16_t vid, uint16_t flags)
{
	struct attrs t, spec;
	const struct bridge_vlan_info *v;
	const struct ifinfomsg *ifi = header(nl_msg_port_vlan(buf, 77, 4, vid, flags, del),
					     del ? RTM_DELLINK : RTM_SETLINK, 0, &t);

	assert_int_equal(ifi->ifi_family, AF_BRIDGE);
	assert_int_equal(ifi->ifi_index, 4);
	assert_int_equal(t.n, 1);
	nested(t.a[IFLA_AF_SPEC], &spec);
	/* No IFLA_BRIDGE_FLAGS: the port, not the bridge device ("self"). */
	assert_int_equal(spec.n, 1);
	assert_int_equal(mnl_attr_get_payload_len(spec.a[IFLA_BRIDGE_VLAN_INFO]), sizeof(*v));
	v = mnl_attr_get_payload(spec.a[IFLA_BRIDGE_VLAN_INFO]);
	assert_int_equal(v->vid, vid);
	assert_int_equal(v->flags, flags);
}

static void test_port_vlan(void **state)
{
	(void)state;
	check_port_vlan(false, 101, 0); /* tagged: neither PVID nor untagged */
	check_port_vlan(true, 1, 0);
	check_port_vlan(false, 4094, BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED);
}

static void test_dellink(void **state)
{
	struct attrs t;
	const struct ifinfomsg *ifi = header(nl_msg_dellink(buf, 77, 12), RTM_DELLINK, 0, &t);

	(void)state;
	assert_int_equal(ifi->ifi_family, AF_UNSPEC);
	assert_int_equal(ifi->ifi_index, 12);
	assert_int_equal(t.n, 0);
}

/* An RTM_NEWLINK for link 7 with no attributes yet, in buf; IFI gets its header. */
static struct nlmsghdr *newlink(struct ifinfomsg **ifi)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	*ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(**ifi));
	(*ifi)->ifi_index = 7;
	return nlh;
}

/* A kernel-like RTM_NEWLINK for link 7: IFNAME, MASTER 3 (when given), LINKINFO of KIND. */
static struct nlmsghdr *reply(const char *kind, unsigned master)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = newlink(&ifi);

	ifi->ifi_flags = IFF_UP | IFF_BROADCAST;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "tap0");
	mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, master);
	if (kind) {
		struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		struct nlattr *data;

		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		if (!strcmp(kind, "tun")) {
			mnl_attr_put_u8(nlh, IFLA_TUN_TYPE, IFF_TAP);
			mnl_attr_put_u8(nlh, IFLA_TUN_PI, 0);
			mnl_attr_put_u8(nlh, IFLA_TUN_VNET_HDR, 1);
			mnl_attr_put_u8(nlh, IFLA_TUN_PERSIST, 1);
			mnl_attr_put_u8(nlh, IFLA_TUN_MULTI_QUEUE, 0);
			mnl_attr_put_u32(nlh, IFLA_TUN_OWNER, 65534);
			mnl_attr_put_u32(nlh, IFLA_TUN_GROUP, 100);
		} else if (!strcmp(kind, "bridge")) {
			mnl_attr_put_u32(nlh, IFLA_BR_FORWARD_DELAY, 1500);
			mnl_attr_put_u8(nlh, IFLA_BR_VLAN_FILTERING, 1);
		}
		mnl_attr_nest_end(nlh, data);
		mnl_attr_nest_end(nlh, info);
	}
	return nlh;
}

static void test_parse_tap(void **state)
{
	struct nl_link l;

	(void)state;
	assert_int_equal(nl_link_parse(reply("tun", 3), &l), 0);
	assert_int_equal(l.index, 7);
	assert_true(l.flags & IFF_UP);
	assert_int_equal(l.master, 3);
	assert_string_equal(l.kind, "tun");
	assert_true(l.tun_data);
	assert_int_equal(l.tun_type, IFF_TAP);
	assert_true(l.tun_persist);
	assert_false(l.tun_multi_queue);
	assert_true(l.has_owner && l.has_group);
	assert_int_equal(l.owner, 65534);
	assert_int_equal(l.group, 100);
	assert_false(l.has_vlan_filtering);
}

/* RTM_NEWLINK for link 7 with IFLA_IFALIAS of LEN bytes of S, as sent (no NUL added). */
static struct nlmsghdr *alias_reply(const void *s, size_t len)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = newlink(&ifi);

	mnl_attr_put(nlh, IFLA_IFALIAS, len, s);
	return nlh;
}

static void test_parse_alias(void **state)
{
	char longest[NL_ALIAS_MAX + 2];
	struct nl_link l;

	(void)state;
	assert_int_equal(nl_link_parse(reply("tun", 0), &l), 0);
	assert_string_equal(l.alias, ""); /* none */
	assert_int_equal(nl_link_parse(alias_reply("bulwark:a:/a.yaml", 18), &l), 0);
	assert_string_equal(l.alias, "bulwark:a:/a.yaml");
	/* Up to the first NUL, as the kernel keeps it. */
	assert_int_equal(nl_link_parse(alias_reply("bulwark:b\0:/x", 14), &l), 0);
	assert_string_equal(l.alias, "bulwark:b");
	memset(longest, 'x', sizeof(longest));
	longest[NL_ALIAS_MAX] = '\0';
	assert_int_equal(nl_link_parse(alias_reply(longest, NL_ALIAS_MAX + 1), &l), 0);
	assert_int_equal(strlen(l.alias), NL_ALIAS_MAX);
	/* Hostile: no NUL at its end, an empty one, one longer than any kernel keeps. */
	assert_int_equal(nl_link_parse(alias_reply("bulwark:a", 9), &l), -EBADMSG);
	assert_int_equal(nl_link_parse(alias_reply("", 0), &l), -EBADMSG);
	longest[NL_ALIAS_MAX] = 'x';
	longest[NL_ALIAS_MAX + 1] = '\0';
	assert_int_equal(nl_link_parse(alias_reply(longest, NL_ALIAS_MAX + 2), &l), -EBADMSG);
	assert_string_equal(l.alias, ""); /* nothing half-filled */
}

static void test_parse_bridge_and_plain(void **state)
{
	struct nl_link l;

	(void)state;
	assert_int_equal(nl_link_parse(reply("bridge", 0), &l), 0);
	assert_string_equal(l.kind, "bridge");
	assert_int_equal(l.master, 0);
	assert_true(l.has_vlan_filtering && l.vlan_filtering);
	assert_false(l.tun_data);
	/* A physical NIC: no IFLA_LINKINFO, no kind. */
	assert_int_equal(nl_link_parse(reply(NULL, 0), &l), 0);
	assert_string_equal(l.kind, "");
	assert_false(l.tun_data || l.has_owner);
}

static void test_parse_refused(void **state)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nl_link l;
	struct nlattr *info;

	(void)state;
	/* Not a NEWLINK. */
	nlh = reply("tun", 0);
	nlh->nlmsg_type = RTM_DELLINK;
	assert_int_equal(nl_link_parse(nlh, &l), -EBADMSG);
	/* No room for the ifinfomsg. */
	nlh = reply("tun", 0);
	nlh->nlmsg_len = NLMSG_HDRLEN + 4;
	assert_int_equal(nl_link_parse(nlh, &l), -EBADMSG);
	/* Index 0 or negative. */
	nlh = reply("tun", 0);
	ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_index = -1;
	assert_int_equal(nl_link_parse(nlh, &l), -EBADMSG);
	/* An owner of the wrong size. */
	nlh = newlink(&ifi);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "tun");
	{
		struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);

		mnl_attr_put_u8(nlh, IFLA_TUN_OWNER, 0);
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, info);
	assert_int_equal(nl_link_parse(nlh, &l), -EBADMSG);
	assert_int_equal(l.index, 0); /* nothing half-filled */
	/* A kind too long for any kernel's. */
	nlh = reply("a-kind-of-thirty-two-characters", 0);
	assert_int_equal(nl_link_parse(nlh, &l), -EBADMSG);
	/* A master of the wrong size. */
	nlh = newlink(&ifi);
	mnl_attr_put_u16(nlh, IFLA_MASTER, 3);
	assert_int_equal(nl_link_parse(nlh, &l), -EBADMSG);
}

/* An attribute whose length runs past the message: iteration stops at the message's end. */
static void test_parse_truncated(void **state)
{
	struct nlmsghdr *nlh = reply("tun", 3);
	struct nlattr *last = NULL, *a;
	struct nl_link l;

	(void)state;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg)) last = a;
	assert_non_null(last);
	last->nla_len = 0xfff0; /* the LINKINFO nest now claims far more than there is */
	assert_int_equal(nl_link_parse(nlh, &l), 0);
	assert_string_equal(l.kind, ""); /* never read */
	assert_int_equal(l.master, 3);
}

static void test_getvlans(void **state)
{
	struct attrs t;
	const struct nlmsghdr *nlh = nl_msg_getvlans(buf, 77);
	const struct ifinfomsg *ifi = header(nlh, RTM_GETLINK, NLM_F_DUMP, &t);

	(void)state;
	assert_int_equal(ifi->ifi_family, AF_BRIDGE);
	assert_int_equal(t.n, 1);
	assert_int_equal(mnl_attr_get_u32(t.a[IFLA_EXT_MASK]), RTEXT_FILTER_BRVLAN_COMPRESSED);
}

/* A kernel-like AF_BRIDGE RTM_NEWLINK for port INDEX with N VLAN infos. */
static struct nlmsghdr *port_msg(int index, const struct bridge_vlan_info *vi, unsigned n)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *spec;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_MULTI;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_BRIDGE;
	ifi->ifi_index = index;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "tap0");
	mnl_attr_put_u32(nlh, IFLA_MASTER, 3);
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	for (unsigned i = 0; i < n; i++)
		mnl_attr_put(nlh, IFLA_BRIDGE_VLAN_INFO, sizeof(vi[i]), &vi[i]);
	mnl_attr_nest_end(nlh, spec);
	return nlh;
}

static void test_port_vlans_parse(void **state)
{
	const struct bridge_vlan_info vi[] = {
	    {BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED, 1},
	    {0, 101},
	    {BRIDGE_VLAN_INFO_RANGE_BEGIN, 200},
	    {BRIDGE_VLAN_INFO_RANGE_END, 203},
	    {BRIDGE_VLAN_INFO_UNTAGGED, 4094},
	};
	struct nl_port_vlans v = {.index = 7};
	unsigned count = 0;

	(void)state;
	assert_int_equal(nl_port_vlans_parse(port_msg(7, vi, 5), &v), 0);
	for (unsigned vid = 0; vid < NL_VID_MAX + 10; vid++)
		count += nl_vid_in(v.vids, vid);
	assert_int_equal(count, 7);
	assert_true(nl_vid_in(v.vids, 1) && nl_vid_in(v.vids, 101) && nl_vid_in(v.vids, 200) &&
		    nl_vid_in(v.vids, 203) && nl_vid_in(v.vids, 4094));
	assert_false(nl_vid_in(v.vids, 204) || nl_vid_in(v.vids, 199));
	assert_true(nl_vid_in(v.untagged, 1) && nl_vid_in(v.untagged, 4094));
	assert_false(nl_vid_in(v.untagged, 101));
	assert_int_equal(v.pvid, 1);
	/* Another port's message changes nothing. */
	memset(&v, 0, sizeof(v));
	v.index = 8;
	assert_int_equal(nl_port_vlans_parse(port_msg(7, vi, 5), &v), 0);
	assert_false(nl_vid_in(v.vids, 1) || nl_vid_in(v.vids, 101));
}

static void vlans_refused(const struct bridge_vlan_info *vi, unsigned n)
{
	struct nl_port_vlans v = {.index = 7};

	assert_int_equal(nl_port_vlans_parse(port_msg(7, vi, n), &v), -EBADMSG);
}

static void test_port_vlans_refused(void **state)
{
	const struct bridge_vlan_info vid0[] = {{0, 0}};
	const struct bridge_vlan_info vid4095[] = {{0, 4095}};
	const struct bridge_vlan_info end_alone[] = {{BRIDGE_VLAN_INFO_RANGE_END, 20}};
	const struct bridge_vlan_info begin_twice[] = {{BRIDGE_VLAN_INFO_RANGE_BEGIN, 10},
						       {BRIDGE_VLAN_INFO_RANGE_BEGIN, 11}};
	const struct bridge_vlan_info backwards[] = {{BRIDGE_VLAN_INFO_RANGE_BEGIN, 30},
						     {BRIDGE_VLAN_INFO_RANGE_END, 20}};
	const struct bridge_vlan_info unended[] = {{BRIDGE_VLAN_INFO_RANGE_BEGIN, 30}};
	const struct bridge_vlan_info interrupted[] = {
	    {BRIDGE_VLAN_INFO_RANGE_BEGIN, 30}, {0, 31}, {BRIDGE_VLAN_INFO_RANGE_END, 40}};
	struct nlmsghdr *nlh;
	struct nlattr *a;
	struct nl_port_vlans v = {.index = 7};

	(void)state;
	vlans_refused(vid0, 1);
	vlans_refused(vid4095, 1);
	vlans_refused(end_alone, 1);
	vlans_refused(begin_twice, 2);
	vlans_refused(backwards, 2);
	vlans_refused(unended, 1);
	vlans_refused(interrupted, 3);
	/* An info of the wrong size. */
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	((struct ifinfomsg *)mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg)))->ifi_index =
	    7;
	a = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	mnl_attr_put_u16(nlh, IFLA_BRIDGE_VLAN_INFO, 101);
	mnl_attr_nest_end(nlh, a);
	assert_int_equal(nl_port_vlans_parse(nlh, &v), -EBADMSG);
	/* Not a NEWLINK. */
	nlh->nlmsg_type = RTM_DELLINK;
	assert_int_equal(nl_port_vlans_parse(nlh, &v), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_getlink),
	    cmocka_unit_test(test_newbridge),
	    cmocka_unit_test(test_vlan_filtering),
	    cmocka_unit_test(test_setlink),
	    cmocka_unit_test(test_port_vlan),
	    cmocka_unit_test(test_dellink),
	    cmocka_unit_test(test_setalias),
	    cmocka_unit_test(test_parse_alias),
	    cmocka_unit_test(test_parse_tap),
	    cmocka_unit_test(test_parse_bridge_and_plain),
	    cmocka_unit_test(test_parse_refused),
	    cmocka_unit_test(test_parse_truncated),
	    cmocka_unit_test(test_getvlans),
	    cmocka_unit_test(test_port_vlans_parse),
	    cmocka_unit_test(test_port_vlans_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
