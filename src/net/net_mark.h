/* net_mark.h: the mark (ifalias) `bulwark net up` puts on a tap: which VM's tap it is. */
#ifndef BULWARK_NET_MARK_H
#define BULWARK_NET_MARK_H

#include "config/config.h"
#include "net/netlink.h"

#include <stdbool.h>
#include <stddef.h>

/* Every mark starts so; an alias without it is another tool's, not bulwark's. */
#define NET_MARK_PREFIX "bulwark:"

/*
 * The mark of the VM called NAME whose config file's real path is CONFIG:
 * "bulwark:NAME:CONFIG" into MARK. The name alone does not tell VMs apart (every config chooses
 * its own, and the default policy gives every VM the same uid and gid); the config's path does,
 * since a config cannot stand at another's path. Returns 0, or -ENAMETOOLONG when it would not
 * fit an alias (NL_ALIAS_MAX).
 */
int net_mark_make(char mark[NL_ALIAS_MAX + 1], const char *name, const char *config);

/* The mark of CFG: net_mark_make() of its name and realpath(cfg->path). Returns 0, or -1 with
 * WHY (a path that cannot be resolved or is too long for a mark). */
int net_mark(const struct vm_config *cfg, char mark[NL_ALIAS_MAX + 1], char *why, size_t size);

/* For `net up` (UP) and `net down`: why L, the link TAP, otherwise ours, is not the tap of the
 * VM whose mark is MARK ("has no bulwark mark ...", "is marked ..."), the fix included; NULL
 * when L carries exactly MARK. */
const char *net_mark_refusal(const struct nl_link *l, const char *tap, const char *mark, bool up,
			     char *buf, size_t size);

/* For `bulwark run`: why L may not be opened by the VM whose mark is MARK ("" when it has none):
 * it carries bulwark's mark for another VM. NULL when it may: its own mark, none at all, or
 * another tool's alias (taps made by hand stay usable). */
const char *net_mark_run_refusal(const struct nl_link *l, const char *mark, char *buf, size_t size);

/* Reads the link TAP over rtnetlink and applies net_mark_run_refusal(). Returns 0, 1 with WHY
 * when refused, or -errno when the link cannot be read. */
int net_mark_check_tap(const char *tap, const char *mark, char *why, size_t size);

#endif
