/* policy_values.c: the value forms of a policy file: integers, sizes, max, lists, names, paths. */
#include "policy/policy_parse.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static bool is_max(const char *s, size_t len)
{
	return cy_is_one_of(s, len, (const char *const[]){"max", NULL});
}

int pol_number(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect,
	       uint64_t min, uint64_t max, bool max_ok, uint64_t *out)
{
	const char *s = NULL;
	size_t len = 0;
	uint64_t v = 0;
	struct cy_echo e = {0};

	if (cy_scalar(p, n, field, expect, false, &s, &len))
		return -1;
	if (max_ok && is_max(s, len)) {
		*out = POLICY_UNLIMITED;
		return 0;
	}
	/* "8" quoted is a string to every YAML reader: refused, as the VM config's vcpus does. */
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return cy_err(p, n->start_mark, field, "%s, got the quoted string %s", expect,
			      cy_echo(&e, s, len, true));
	if (cy_decimal(s, len, &v) != len || v < min || v > max)
		return cy_bad(p, n, field, expect, s, len);
	*out = v;
	return 0;
}

int pol_size(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect,
	     uint64_t min, uint64_t max, bool max_ok, uint64_t *out)
{
	const char *s = NULL;
	size_t len = 0;
	uint64_t v = 0;

	if (cy_scalar(p, n, field, expect, false, &s, &len))
		return -1;
	if (max_ok && is_max(s, len)) {
		*out = POLICY_UNLIMITED;
		return 0;
	}
	/* Zero needs no unit; anything else does, so 512 is never bytes by accident. */
	if (!(len == 1 && s[0] == '0') && cy_size(s, len, &v))
		return cy_bad(p, n, field, expect, s, len);
	if (v < min || v > max)
		return cy_bad(p, n, field, expect, s, len);
	*out = v;
	return 0;
}

int pol_list(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect,
	     unsigned max,
	     int (*item)(struct cy_parser *p, yaml_node_t *n, const char *field, unsigned i,
			 void *ctx),
	     void *ctx)
{
	char name[CY_FIELD_MAX];
	size_t count;

	if (n->type != YAML_SEQUENCE_NODE) {
		const char *s = NULL;
		size_t len = 0;

		/* cy_scalar words a collection or null; a scalar it accepts is refused here. */
		if (cy_scalar(p, n, field, expect, false, &s, &len))
			return -1;
		return cy_bad(p, n, field, expect, s, len);
	}
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > max)
		return cy_err(p, n->start_mark, field, "expected at most %u items, got %zu", max,
			      count);
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *it = yaml_document_get_node(&p->doc, n->data.sequence.items.start[i]);

		snprintf(name, sizeof(name), "%s[%zu]", field, i);
		if (!it) /* libyaml links every item; a NULL would be its bug, not ours */
			return cy_err(p, n->start_mark, name, "missing from the document");
		if (item(p, it, name, (unsigned)i, ctx))
			return -1;
	}
	return 0;
}

/* Whether the component S[0..LEN) of a path is empty, . or .. */
static bool bad_component(const char *s, size_t len)
{
	return len == 0 || cy_is_one_of(s, len, (const char *const[]){".", "..", NULL});
}

int pol_abs_path(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect,
		 const char *prefix, char **out)
{
	const char *s = NULL;
	size_t len = 0, plen = strlen(prefix), start = 1;
	bool ok;

	if (cy_scalar(p, n, field, expect, true, &s, &len))
		return -1;
	/* Under PREFIX: equal to it, or it followed by '/'. */
	ok =
	    len > 1 && len < 4096 && s[0] == '/' && s[len - 1] != '/' &&
	    (!plen || (len >= plen && !memcmp(s, prefix, plen) && (len == plen || s[plen] == '/')));
	for (size_t i = 1; i <= len && ok; i++) {
		if (i < len && (s[i] < 0x21 || s[i] > 0x7e))
			ok = false;
		else if (i == len || s[i] == '/') {
			ok = !bad_component(s + start, i - start);
			start = i + 1;
		}
	}
	if (!ok)
		return cy_bad(p, n, field, expect, s, len);
	if (!(*out = strndup(s, len)))
		return cy_err(p, n->start_mark, field, "out of memory");
	return 0;
}

int pol_err_at(struct cy_parser *p, struct config_loc l, const char *field, const char *fmt, ...)
{
	char msg[sizeof(p->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	config_errorf(p->err, p->file, l, field, "%s", msg);
	return -1;
}

const char *policy_size_str(char buf[32], uint64_t bytes)
{
	static const char *const units[] = {"bytes", "KiB", "MiB", "GiB"};
	unsigned u = 0;

	if (bytes == POLICY_UNLIMITED || bytes == 0) {
		snprintf(buf, 32, "%s", bytes ? "max" : "0");
		return buf;
	}
	while (bytes && u + 1 < ARRAY_SIZE(units) && bytes % 1024 == 0)
		bytes /= 1024, u++;
	snprintf(buf, 32, "%" PRIu64 " %s", bytes, units[u]);
	return buf;
}
