/* net_mark.c: the mark (ifalias) `bulwark net up` puts on a tap: which VM's tap it is. */
#include "net/net_mark.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int net_mark_make(char mark[NL_ALIAS_MAX + 1], const char *name, const char *config)
{
	int n = snprintf(mark, NL_ALIAS_MAX + 1, NET_MARK_PREFIX "%s:%s", name, config);

	if (n < 0 || n > NL_ALIAS_MAX) {
		mark[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

int net_mark(const struct vm_config *cfg, char mark[NL_ALIAS_MAX + 1], char *why, size_t size)
{
	char *real = realpath(cfg->path, NULL);
	int r;

	mark[0] = '\0';
	if (!real) {
		snprintf(why, size, "%s: cannot resolve the config's path for the taps' mark: %s",
			 cfg->path, strerror(errno));
		return -1;
	}
	r = net_mark_make(mark, cfg->name, real);
	if (r)
		snprintf(why, size,
			 "%s: the config's path is too long for the taps' mark (\"" NET_MARK_PREFIX
			 "%s:PATH\" has at most %d characters): move it higher up",
			 real, cfg->name, NL_ALIAS_MAX);
	free(real);
	return r ? -1 : 0;
}

/* S with its control characters as '?', for a message line: an alias is anyone's text. */
static const char *printable(char *dst, size_t size, const char *s)
{
	size_t i = 0;

	for (; s[i] && i + 1 < size; i++)
		dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	dst[i] = '\0';
	return dst;
}

const char *net_mark_refusal(const struct nl_link *l, const char *tap, const char *mark, bool up,
			     char *buf, size_t size)
{
	char alias[NL_ALIAS_MAX + 1];

	if (!strcmp(l->alias, mark))
		return NULL;
	if (!l->alias[0])
		snprintf(buf, size,
			 "has no bulwark mark, not \"%s\" (made by hand or by a bulwark before "
			 "marks: if it is this VM's, ip link del %s%s)",
			 mark, tap, up ? " and run net up again" : "");
	else
		snprintf(buf, size,
			 "is marked \"%s\", not \"%s\" (another VM's tap: %s; if this VM's config "
			 "was moved from there, ip link del %s%s)",
			 printable(alias, sizeof(alias), l->alias), mark,
			 up ? "give this VM a tap of its own in nics[].tap" : "left in place", tap,
			 up ? " and run net up again" : "");
	return buf;
}

const char *net_mark_run_refusal(const struct nl_link *l, const char *mark, char *buf, size_t size)
{
	char alias[NL_ALIAS_MAX + 1];

	if (strncmp(l->alias, NET_MARK_PREFIX, strlen(NET_MARK_PREFIX)) != 0 ||
	    (mark[0] && !strcmp(l->alias, mark)))
		return NULL;
	snprintf(buf, size,
		 "is marked \"%s\", another VM's tap, not this one's \"%s\" (give this VM a tap "
		 "of its own: bulwark net up CONFIG makes it; if this config was moved from there, "
		 "ip link del the tap and run net up again)",
		 printable(alias, sizeof(alias), l->alias), mark);
	return buf;
}

int net_mark_check_tap(const char *tap, const char *mark, char *why, size_t size)
{
	struct nl_link l;
	struct nl *nl = malloc(sizeof(*nl)); /* its buffer is 32 KiB: not on the stack */
	int r;

	if (!nl)
		return -ENOMEM;
	r = nl_open(nl);
	if (r == 0) {
		r = nl_link_get(nl, tap, &l);
		nl_close(nl);
	}
	free(nl);
	if (r)
		return r;
	return net_mark_run_refusal(&l, mark, why, size) ? 1 : 0;
}
