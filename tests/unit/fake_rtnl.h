/* fake_rtnl.h: a pretend rtnetlink and /dev/net/tun for `bulwark net`'s tests. Link with
 * -Wl,--wrap= for the mnl_socket_* calls, capng_get_caps_process, capng_have_capability, open64
 * and ioctl: requests are answered from fake_links as a kernel would, in crafted replies that the
 * real mnl_cb_run() and nl_link_parse() read; every other file and ioctl goes to the real one. */
#ifndef BULWARK_FAKE_RTNL_H
#define BULWARK_FAKE_RTNL_H

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAKE_LINKS 4
#define FAKE_PORTID 4242

/* One link of the pretend kernel: a tap when kind is "tun". */
struct fake_link {
	bool present;
	char name[IFNAMSIZ];
	const char *kind;
	bool persist;
	uint32_t owner, group;
	unsigned master;
	bool up;
	char alias[256];
};

static struct fake_link fake_links[FAKE_LINKS];
static bool fake_rtnl_drops_alias;   /* acknowledge IFLA_IFALIAS and keep nothing */
static unsigned fake_rtnl_changes;   /* requests that changed a link: SETLINK, DELLINK, NEWLINK */
static bool fake_rtnl_alias_persist; /* the tap had its alias when TUNSETPERSIST came */
static uint64_t fake_rtnl_reply[1024];
static size_t fake_rtnl_reply_len;
static int fake_tun_fd = -1;
static struct fake_link *fake_tun_link;
static char fake_sock; /* what mnl_socket_open2 "returns": never dereferenced */

static void fake_rtnl_reset(void)
{
	memset(fake_links, 0, sizeof(fake_links));
	fake_rtnl_drops_alias = false;
	fake_rtnl_changes = 0;
	fake_rtnl_alias_persist = false;
	fake_tun_link = NULL;
}

/* A persistent tap NAME of OWNER:GROUP with ALIAS ("" for none), as net up or ip(8) leave one. */
static struct fake_link *fake_tap(const char *name, uint32_t owner, uint32_t group,
				  const char *alias)
{
	for (unsigned i = 0; i < FAKE_LINKS; i++) {
		struct fake_link *l = &fake_links[i];

		if (l->present)
			continue;
		*l = (struct fake_link){.present = true,
					.kind = "tun",
					.persist = true,
					.owner = owner,
					.group = group};
		snprintf(l->name, sizeof(l->name), "%s", name);
		snprintf(l->alias, sizeof(l->alias), "%s", alias);
		return l;
	}
	return NULL;
}

static struct fake_link *fake_find(const char *name, unsigned index)
{
	for (unsigned i = 0; i < FAKE_LINKS; i++)
		if (fake_links[i].present &&
		    (index ? index == i + 1 : name && !strcmp(fake_links[i].name, name)))
			return &fake_links[i];
	return NULL;
}

static struct nlmsghdr *fake_put(uint16_t type, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header((char *)fake_rtnl_reply + fake_rtnl_reply_len);

	nlh->nlmsg_type = type;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = FAKE_PORTID;
	return nlh;
}

/* The acknowledgement (ERR 0) or error that ends every answer. */
static void fake_ack(uint32_t seq, int error)
{
	struct nlmsghdr *nlh = fake_put(NLMSG_ERROR, seq);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

	e->error = error;
	fake_rtnl_reply_len += nlh->nlmsg_len;
}

/* RTM_NEWLINK for L, as the kernel describes a tap (IFLA_TUN_*) or a bridge. */
static void fake_newlink(uint32_t seq, const struct fake_link *l)
{
	struct nlmsghdr *nlh = fake_put(RTM_NEWLINK, seq);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct nlattr *info, *data;

	ifi->ifi_index = (int)(l - fake_links) + 1;
	ifi->ifi_flags = l->up ? IFF_UP : 0;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, l->name);
	if (l->master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, l->master);
	if (l->alias[0])
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, l->alias);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, l->kind);
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	if (!strcmp(l->kind, "tun")) {
		mnl_attr_put_u8(nlh, IFLA_TUN_TYPE, IFF_TAP);
		mnl_attr_put_u8(nlh, IFLA_TUN_PERSIST, l->persist);
		mnl_attr_put_u8(nlh, IFLA_TUN_MULTI_QUEUE, 0);
		mnl_attr_put_u32(nlh, IFLA_TUN_OWNER, l->owner);
		mnl_attr_put_u32(nlh, IFLA_TUN_GROUP, l->group);
	}
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	fake_rtnl_reply_len += nlh->nlmsg_len;
}

/* The attributes of a request this fake reads. */
struct fake_req {
	const char *name, *alias;
	size_t alias_len;
	unsigned master;
};

static int fake_req_attr(const struct nlattr *a, void *data)
{
	struct fake_req *q = data;

	if (mnl_attr_get_type(a) == IFLA_IFNAME)
		q->name = mnl_attr_get_str(a);
	else if (mnl_attr_get_type(a) == IFLA_IFALIAS) {
		q->alias = mnl_attr_get_payload(a);
		q->alias_len = mnl_attr_get_payload_len(a);
	} else if (mnl_attr_get_type(a) == IFLA_MASTER)
		q->master = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

/* Answers the request NLH into fake_rtnl_reply. */
static void fake_answer(const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct fake_req q = {0};
	struct fake_link *l;

	fake_rtnl_reply_len = 0;
	mnl_attr_parse(nlh, sizeof(*ifi), fake_req_attr, &q);
	l = fake_find(q.name, (unsigned)ifi->ifi_index);
	if (nlh->nlmsg_type != RTM_GETLINK)
		fake_rtnl_changes++;
	if (ifi->ifi_family != AF_UNSPEC || nlh->nlmsg_type == RTM_NEWLINK) {
		fake_ack(nlh->nlmsg_seq, -EOPNOTSUPP); /* bridges are not this fake's */
	} else if (!l) {
		fake_ack(nlh->nlmsg_seq, -ENODEV);
	} else if (nlh->nlmsg_type == RTM_GETLINK) {
		fake_newlink(nlh->nlmsg_seq, l);
		fake_ack(nlh->nlmsg_seq, 0);
	} else if (nlh->nlmsg_type == RTM_DELLINK) {
		l->present = false;
		fake_ack(nlh->nlmsg_seq, 0);
	} else {
		if (q.alias && !fake_rtnl_drops_alias && q.alias_len < sizeof(l->alias)) {
			memcpy(l->alias, q.alias, q.alias_len);
			l->alias[q.alias_len] = '\0';
		}
		l->master = q.master ? q.master : l->master;
		l->up = l->up || (ifi->ifi_change & IFF_UP);
		fake_ack(nlh->nlmsg_seq, 0);
	}
}

struct mnl_socket *__wrap_mnl_socket_open2(int bus, int flags)
{
	(void)bus;
	(void)flags;
	return (struct mnl_socket *)&fake_sock;
}

int __wrap_mnl_socket_bind(struct mnl_socket *nl, unsigned groups, pid_t pid)
{
	(void)nl;
	(void)groups;
	(void)pid;
	return 0;
}

unsigned __wrap_mnl_socket_get_portid(const struct mnl_socket *nl)
{
	(void)nl;
	return FAKE_PORTID;
}

int __wrap_mnl_socket_close(struct mnl_socket *nl)
{
	(void)nl;
	return 0;
}

ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len)
{
	(void)nl;
	fake_answer(buf);
	return (ssize_t)len;
}

ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t size)
{
	(void)nl;
	if (fake_rtnl_reply_len > size)
		return -1;
	memcpy(buf, fake_rtnl_reply, fake_rtnl_reply_len);
	return (ssize_t)fake_rtnl_reply_len;
}

int __wrap_capng_get_caps_process(void)
{
	return 0;
}

int __wrap_capng_have_capability(int which, unsigned capability)
{
	(void)which;
	(void)capability;
	return 1;
}

int __real_open64(const char *path, int flags, ...);
int __real_ioctl(int fd, unsigned long request, ...);

/* /dev/net/tun: a descriptor of /dev/null that the ioctls below recognise. */
int __wrap_open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	if (!strcmp(path, "/dev/net/tun")) {
		fake_tun_fd = __real_open64("/dev/null", O_RDWR | O_CLOEXEC);
		return fake_tun_fd;
	}
	va_start(ap, flags);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	return __real_open64(path, flags, mode);
}

int __wrap_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != fake_tun_fd || fd < 0)
		return __real_ioctl(fd, request, arg);
	if (request == TUNSETIFF) {
		/* A new tap, alive only while FD is open (until TUNSETPERSIST). */
		fake_tun_link = fake_tap(((struct ifreq *)arg)->ifr_name, 0, 0, "");
		fake_tun_link->persist = false;
	} else if (request == TUNSETOWNER) {
		fake_tun_link->owner = (uint32_t)(uintptr_t)arg;
	} else if (request == TUNSETGROUP) {
		fake_tun_link->group = (uint32_t)(uintptr_t)arg;
	} else if (request == TUNSETPERSIST) {
		fake_tun_link->persist = true;
		fake_rtnl_alias_persist = fake_tun_link->alias[0] != '\0';
	}
	return 0;
}

#endif
