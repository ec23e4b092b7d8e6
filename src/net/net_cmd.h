/* net_cmd.h: `bulwark net up|down CONFIG`: a VM's taps, owned by its uid, on its bridges. */
#ifndef BULWARK_NET_CMD_H
#define BULWARK_NET_CMD_H

#include "config/config.h"
#include "net/netlink.h"
#include "policy/policy.h"

#include <stddef.h>
#include <sys/types.h>

/* Who the taps belong to (TUNSETOWNER, TUNSETGROUP). */
struct net_owner {
	uid_t uid;
	gid_t gid;
};

/*
 * The owner of a VM's taps: the policy's sandbox uid and gid (what the VMM runs as when started
 * as root); without them, the invoking user: SUDO_UID and SUDO_GID when sudo set them (each
 * given separately, NULL when unset), else RUID and RGID. Returns 0, or -1 with WHY (a malformed
 * SUDO_UID or SUDO_GID).
 */
int net_owner(const struct policy *pol, const char *sudo_uid, const char *sudo_gid, uid_t ruid,
	      gid_t rgid, struct net_owner *o, char *why, size_t size);

/* What `net up` does for one NIC. */
struct net_tap_plan {
	const char *tap;
	const char *bridge; /* the segment's bridge, NULL when none */
	unsigned vlan;	    /* the segment's VLAN, 0 when none */
};

/* One plan per NIC of CFG (segments looked up in POL). Returns how many (cfg->nnics). */
unsigned net_plan(const struct vm_config *cfg, const struct policy *pol,
		  struct net_tap_plan plans[CONFIG_NICS_MAX]);

/* The line `net up` prints for P once done, without a newline:
 * "bulwark: net up: tap0 (owner 65534:65534) on br-web vlan 101". KEPT: the bridge a tap whose
 * segment names none is still on (NULL: none). */
void net_up_line(char *buf, size_t size, const struct net_tap_plan *p, const struct net_owner *o,
		 const char *kept);

/* Why the existing link L may not serve as a tap of owner O ("is a bridge, not a tap", ...), or
 * NULL when it may: a persistent single-queue tap with exactly O's owner and group. */
const char *net_tap_refusal(const struct nl_link *l, const struct net_owner *o, char *buf,
			    size_t size);

/* `bulwark net up` and `net down` for the loaded CFG and its POL. Their report is their output:
 * a line per tap on stdout, each failure on stderr. Returns 0 when every tap is as CFG says, -1
 * after a runtime failure or on a tap that is not ours. */
int net_up(const struct vm_config *cfg, const struct policy *pol);
int net_down(const struct vm_config *cfg, const struct policy *pol);

#endif
