/* net_cmd.c: `bulwark net up|down CONFIG`: a VM's taps, owned by its uid, on its bridges. */
#include "net/net_cmd.h"
#include "net/net_mark.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_bridge.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* A uid or gid from sudo's environment: decimal, and not (uid_t)-1. */
static int parse_id(const char *s, unsigned long *id)
{
	char *end = NULL;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*id = strtoul(s, &end, 10);
	return errno || *end || *id > POLICY_ID_MAX ? -1 : 0;
}

int net_owner(const struct policy *pol, const char *sudo_uid, const char *sudo_gid, uid_t ruid,
	      gid_t rgid, struct net_owner *o, char *why, size_t size)
{
	unsigned long id = 0;

	if (pol->sandbox.ids_set) {
		o->uid = pol->sandbox.uid;
		o->gid = pol->sandbox.gid;
		return 0;
	}
	o->uid = ruid;
	o->gid = rgid;
	if (sudo_uid) {
		if (parse_id(sudo_uid, &id)) {
			snprintf(why, size, "SUDO_UID=%s is not a uid", sudo_uid);
			return -1;
		}
		o->uid = (uid_t)id;
	}
	if (sudo_gid) {
		if (parse_id(sudo_gid, &id)) {
			snprintf(why, size, "SUDO_GID=%s is not a gid", sudo_gid);
			return -1;
		}
		o->gid = (gid_t)id;
	}
	return 0;
}

unsigned net_plan(const struct vm_config *cfg, const struct policy *pol,
		  struct net_tap_plan plans[CONFIG_NICS_MAX])
{
	unsigned n = cfg->nnics < CONFIG_NICS_MAX ? cfg->nnics : CONFIG_NICS_MAX;

	for (unsigned i = 0; i < n; i++) {
		const struct config_nic *nic = &cfg->nics[i];
		const struct policy_segment *sg =
		    nic->segment[0] ? policy_segment_find(&pol->network, nic->segment) : NULL;

		plans[i].tap = nic->tap;
		plans[i].bridge = sg && sg->bridge[0] ? sg->bridge : NULL;
		plans[i].vlan = sg ? sg->vlan : 0;
	}
	return n;
}

void net_up_line(char *buf, size_t size, const struct net_tap_plan *p, const struct net_owner *o,
		 const char *kept)
{
	char more[IFNAMSIZ + 2 * IFNAMSIZ + 96] = "";

	if (p->bridge && p->vlan)
		snprintf(more, sizeof(more), " vlan %u", p->vlan);
	else if (!p->bridge && kept)
		/* Its segment names no bridge, so the host side is the administrator's: an earlier
		 * master stays, but the line says so. */
		snprintf(more, sizeof(more),
			 " in its segment, still on %s as before (ip link set %s nomaster detaches "
			 "it)",
			 kept, p->tap);
	snprintf(buf, size, "bulwark: net up: %s (owner %u:%u)%s%s%s", p->tap, (unsigned)o->uid,
		 (unsigned)o->gid, p->bridge ? " on " : ", no bridge", p->bridge ? p->bridge : "",
		 more);
}

const char *net_tap_refusal(const struct nl_link *l, const struct net_owner *o, char *buf,
			    size_t size)
{
	if (strcmp(l->kind, "tun") != 0) {
		if (l->kind[0])
			snprintf(buf, size, "is a %s device, not a tap", l->kind);
		else
			snprintf(buf, size, "is not a tap (a device with no link kind)");
	} else if (!l->tun_data)
		snprintf(buf, size,
			 "is a tun/tap device the kernel does not describe (no "
			 "IFLA_TUN_* attributes: Linux 4.15 or later needed)");
	else if (l->tun_type != IFF_TAP)
		snprintf(buf, size, "is a tun (layer 3) device, not a tap");
	else if (l->tun_multi_queue)
		snprintf(buf, size, "is a multi-queue tap; bulwark opens single-queue ones");
	else if (!l->tun_persist)
		snprintf(buf, size, "is not persistent: another program's tap, in use");
	else if (!l->has_owner)
		snprintf(buf, size, "has no owner, not uid %u", (unsigned)o->uid);
	else if (l->owner != o->uid)
		snprintf(buf, size, "belongs to uid %u, not uid %u", l->owner, (unsigned)o->uid);
	else if (!l->has_group)
		snprintf(buf, size, "has no group, not gid %u", (unsigned)o->gid);
	else if (l->group != o->gid)
		snprintf(buf, size, "has group %u, not gid %u", l->group, (unsigned)o->gid);
	else
		return NULL;
	return buf;
}

/* A hint after strerror() for what usually causes ERR here. */
static const char *hint(int err)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
		return " (needs root: CAP_NET_ADMIN)";
	case -EOPNOTSUPP:
		return " (is the bridge module loaded, with VLAN filtering built in?)";
	case -ENOENT:
		return " (/dev/net/tun is missing: is the tun module loaded?)";
	default:
		return "";
	}
}

/* Says on stderr that DOING WHAT failed with ERR (-errno), and the fix if there is one; -1. */
static int fail(const char *verb, const char *what, const char *doing, int err)
{
	fprintf(stderr, "bulwark: net %s: %s: %s: %s%s\n", verb, what, doing, strerror(-err),
		hint(err));
	return -1;
}

/* Marks the tap NAME, which FD holds, with MARK. */
static int tap_mark(struct nl *nl, const char *name, const char *mark)
{
	struct nl_link l;
	int r = nl_link_get(nl, name, &l);

	return r ? r : nl_link_set_alias(nl, l.index, mark);
}

/* Creates tap NAME as `bulwark run` opens it (tap_open's flags), owned by O, marked with MARK and
 * persistent. Returns 0, or -errno with DOING saying which step failed. */
static int tap_create(struct nl *nl, const char *name, const struct net_owner *o, const char *mark,
		      const char **doing)
{
	size_t len = strlen(name);
	struct ifreq ifr;
	int fd, err = 0;

	*doing = "cannot create the tap";
	if (len == 0 || len >= IFNAMSIZ)
		return -EINVAL;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, len);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	/* Until TUNSETPERSIST the tap lives only as long as FD: a failure leaves nothing behind,
	 * and no tap of ours is ever without its mark. */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETOWNER, (unsigned long)o->uid) < 0 ||
	    ioctl(fd, TUNSETGROUP, (unsigned long)o->gid) < 0)
		err = -errno;
	if (!err && (err = tap_mark(nl, name, mark)) != 0)
		*doing = "cannot mark the new tap (ifalias)";
	if (!err && ioctl(fd, TUNSETPERSIST, 1UL) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* The tap of P: made when missing, refused when a link of its name is not ours or not marked
 * with MARK. L gets it. */
static int up_tap(struct nl *nl, const struct net_tap_plan *p, const struct net_owner *o,
		  const char *mark, struct nl_link *l)
{
	char why[2 * NL_ALIAS_MAX + 256];
	const char *doing;
	int r = nl_link_get(nl, p->tap, l);

	if (r == -ENODEV) {
		r = tap_create(nl, p->tap, o, mark, &doing);
		if (r)
			return fail("up", p->tap, doing, r);
		r = nl_link_get(nl, p->tap, l);
	}
	if (r)
		return fail("up", p->tap, "cannot read the link", r);
	/* Checked after creating too: a link of that name made meanwhile by someone else, and the
	 * mark as the kernel kept it. */
	if (net_tap_refusal(l, o, why, sizeof(why))) {
		fprintf(stderr,
			"bulwark: net up: %s: refused: it %s (remove it first: ip link del %s)\n",
			p->tap, why, p->tap);
		return -1;
	}
	if (net_mark_refusal(l, p->tap, mark, true, why, sizeof(why))) {
		fprintf(stderr, "bulwark: net up: %s: refused: it %s\n", p->tap, why);
		return -1;
	}
	return 0;
}

/* The bridge of P: made when missing, with VLAN filtering when P has a VLAN, and up. */
static int up_bridge(struct nl *nl, const struct net_tap_plan *p, struct nl_link *br)
{
	int r = nl_link_get(nl, p->bridge, br);

	if (r == -ENODEV) {
		r = nl_bridge_add(nl, p->bridge);
		if (r && r != -EEXIST)
			return fail("up", p->bridge, "cannot create the bridge", r);
		r = nl_link_get(nl, p->bridge, br);
	}
	if (r)
		return fail("up", p->bridge, "cannot read the link", r);
	if (strcmp(br->kind, "bridge") != 0) {
		fprintf(stderr,
			"bulwark: net up: %s: refused: the segment's bridge is a%s%s device, "
			"not a bridge\n",
			p->bridge, br->kind[0] ? " " : "n ordinary", br->kind);
		return -1;
	}
	if (p->vlan && !(br->has_vlan_filtering && br->vlan_filtering)) {
		r = nl_bridge_vlan_filtering(nl, br->index);
		if (r)
			return fail("up", p->bridge, "cannot turn on VLAN filtering", r);
	}
	r = nl_link_set(nl, br->index, 0, true);
	return r ? fail("up", p->bridge, "cannot bring it up", r) : 0;
}

/*
 * The port's VLANs: P's VLAN tagged (neither PVID nor untagged) and no other, so neither the
 * bridge's default untagged VID 1 nor a VLAN left from an earlier config lets frames in.
 */
static int up_port_vlan(struct nl *nl, const struct net_tap_plan *p, unsigned index)
{
	struct nl_port_vlans v;
	char what[64];
	int r = nl_port_vlan(nl, index, (uint16_t)p->vlan, 0, false);

	snprintf(what, sizeof(what), "%s vlan %u", p->tap, p->vlan);
	if (r)
		return fail("up", what, "cannot add the VLAN to the bridge port", r);
	r = nl_port_vlans_get(nl, index, &v);
	if (r)
		return fail("up", what, "cannot read the bridge port's VLANs", r);
	for (unsigned vid = 1; vid < NL_VID_MAX; vid++) {
		if (vid == p->vlan || !nl_vid_in(v.vids, vid))
			continue;
		r = nl_port_vlan(nl, index, (uint16_t)vid, 0, true);
		if (r && r != -ENOENT) {
			snprintf(what, sizeof(what), "%s vlan %u", p->tap, vid);
			return fail("up", what, "cannot remove the VLAN from the bridge port", r);
		}
	}
	if (!nl_vid_in(v.vids, p->vlan) || nl_vid_in(v.untagged, p->vlan) || v.pvid == p->vlan) {
		fprintf(stderr,
			"bulwark: net up: %s: the bridge port did not take VLAN %u tagged\n",
			p->tap, p->vlan);
		return -1;
	}
	return 0;
}

static int up_one(struct nl *nl, const struct net_tap_plan *p, const struct net_owner *o,
		  const char *mark)
{
	struct nl_link tap, br;
	char line[256], kept[IF_NAMESIZE];
	int r = up_tap(nl, p, o, mark, &tap);

	if (!r && p->bridge)
		r = up_bridge(nl, p, &br);
	if (r)
		return r;
	/* Attached first and up last: a running VM's frames never pass a port whose VLANs are
	 * not yet set. */
	if (p->bridge && (r = nl_link_set(nl, tap.index, br.index, false)) != 0)
		return fail("up", p->tap, "cannot attach it to the bridge", r);
	if (p->bridge && p->vlan && (r = up_port_vlan(nl, p, tap.index)))
		return r;
	r = nl_link_set(nl, tap.index, 0, true);
	if (r)
		return fail("up", p->tap, "cannot bring it up", r);
	if (!p->bridge && tap.master && if_indextoname(tap.master, kept))
		net_up_line(line, sizeof(line), p, o, kept);
	else
		net_up_line(line, sizeof(line), p, o, NULL);
	printf("%s\n", line);
	fflush(stdout);
	return 0;
}

/* Root's shortcut: a clear line before any netlink request says so less clearly. */
static int need_net_admin(const char *verb)
{
	capng_get_caps_process();
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN))
		return 0;
	fprintf(stderr, "bulwark: net %s: needs root (CAP_NET_ADMIN) to %s taps%s\n", verb,
		!strcmp(verb, "up") ? "create" : "delete",
		!strcmp(verb, "up") ? " and bridges" : "");
	return -1;
}

/* The owner, the VM's mark and an open socket; -1 when it cannot have them (said on stderr). */
static int prepare(const char *verb, const struct vm_config *cfg, const struct policy *pol,
		   struct net_owner *o, char mark[NL_ALIAS_MAX + 1], struct nl *nl)
{
	char why[PATH_MAX + 256];
	int r;

	if (net_owner(pol, getenv("SUDO_UID"), getenv("SUDO_GID"), getuid(), getgid(), o, why,
		      sizeof(why)) ||
	    net_mark(cfg, mark, why, sizeof(why))) {
		fprintf(stderr, "bulwark: net %s: %s\n", verb, why);
		return -1;
	}
	if (need_net_admin(verb))
		return -1;
	r = nl_open(nl);
	return r ? fail(verb, "rtnetlink", "cannot open a socket", r) : 0;
}

int net_up(const struct vm_config *cfg, const struct policy *pol)
{
	struct net_tap_plan plans[CONFIG_NICS_MAX];
	unsigned n = net_plan(cfg, pol, plans);
	char mark[NL_ALIAS_MAX + 1];
	struct net_owner o;
	struct nl nl;
	int r;

	if (n == 0) {
		printf("bulwark: net up: %s has no nics: nothing to do\n", cfg->path);
		return 0;
	}
	r = prepare("up", cfg, pol, &o, mark, &nl);
	if (r)
		return r;
	/* The first failure stops: what was done stays, and a second run takes it from there. */
	for (unsigned i = 0; i < n && !r; i++)
		r = up_one(&nl, &plans[i], &o, mark);
	nl_close(&nl);
	return r;
}

int net_down(const struct vm_config *cfg, const struct policy *pol)
{
	struct net_tap_plan plans[CONFIG_NICS_MAX];
	unsigned n = net_plan(cfg, pol, plans);
	char mark[NL_ALIAS_MAX + 1], why[2 * NL_ALIAS_MAX + 256];
	struct net_owner o;
	struct nl_link l;
	struct nl nl;
	int r, status = 0;

	if (n == 0) {
		printf("bulwark: net down: %s has no nics: nothing to do\n", cfg->path);
		return 0;
	}
	r = prepare("down", cfg, pol, &o, mark, &nl);
	if (r)
		return r;
	/* Every tap is tried: one that is not ours does not keep the others in place. Bridges stay,
	 * since other VMs may share them. */
	for (unsigned i = 0; i < n; i++) {
		const char *tap = plans[i].tap;

		r = nl_link_get(&nl, tap, &l);
		if (r == -ENODEV) {
			printf("bulwark: net down: %s already gone\n", tap);
		} else if (r) {
			status = fail("down", tap, "cannot read the link", r);
		} else if (net_tap_refusal(&l, &o, why, sizeof(why)) ||
			   net_mark_refusal(&l, tap, mark, false, why, sizeof(why))) {
			fprintf(stderr, "bulwark: net down: %s: refused: it %s\n", tap, why);
			status = -1;
		} else if ((r = nl_link_del(&nl, l.index)) != 0 && r != -ENODEV) {
			status = fail("down", tap, "cannot delete it", r);
		} else {
			printf("bulwark: net down: %s deleted\n", tap);
		}
		fflush(stdout);
	}
	nl_close(&nl);
	return status;
}
