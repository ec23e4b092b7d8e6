/* config_yaml.c: libyaml helpers shared by the YAML parsers: messages, scalars, mappings. */
#include "config/config_yaml.h"
#include "util/bytes.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void vformat(struct bw_error *err, const char *file, struct config_loc loc,
		    const char *field, const char *fmt, va_list ap)
{
	/* 512 bytes, as config messages have always been cut */
	size_t cap = sizeof(err->msg) < 512 ? sizeof(err->msg) : 512, n;
	int r;

	if (!err)
		return;
	err->kind = BW_ERR_CONFIG;
	err->key = NULL;
	if (!file)
		file = "<config>";
	if (loc.line)
		r = snprintf(err->msg, cap, "%s:%u:%u: %s%s", file, loc.line, loc.column,
			     field ? field : "", field ? ": " : "");
	else
		r = snprintf(err->msg, cap, "%s: %s%s", file, field ? field : "",
			     field ? ": " : "");
	n = r < 0 ? 0 : (size_t)r;
	if (n < cap)
		vsnprintf(err->msg + n, cap - n, fmt, ap);
	/* Last line of defence: a message must never drive the terminal it is printed on. */
	for (char *c = err->msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

void config_errorf(struct bw_error *err, const char *file, struct config_loc loc, const char *field,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat(err, file, loc, field, fmt, ap);
	va_end(ap);
}

struct config_loc cy_loc(yaml_mark_t m)
{
	return (struct config_loc){(unsigned)m.line + 1, (unsigned)m.column + 1};
}

int cy_err(struct cy_parser *p, yaml_mark_t m, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat(p->err, p->file, cy_loc(m), field, fmt, ap);
	va_end(ap);
	return -1;
}

const char *cy_echo(struct cy_echo *e, const char *s, size_t len, bool quote)
{
	char *o = e->s;

	if (quote)
		*o++ = '"';
	for (size_t i = 0; i < len && i < CY_ECHO_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			o += sprintf(o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += sprintf(o, "\\x%02x", c);
		else
			*o++ = (char)c;
	}
	if (quote)
		*o++ = '"';
	memcpy(o, len > CY_ECHO_MAX ? "..." : "", len > CY_ECHO_MAX ? 4 : 1);
	return e->s;
}

size_t cy_decimal(const char *s, size_t len, uint64_t *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		if (__builtin_mul_overflow(*v, 10, v) || __builtin_add_overflow(*v, s[i] - '0', v))
			*v = UINT64_MAX;
	return i > 1 && s[0] == '0' ? 0 : i;
}

int cy_size(const char *s, size_t len, uint64_t *bytes)
{
	static const struct {
		char suffix[4];
		unsigned shift;
	} units[] = {{"KiB", 10}, {"MiB", 20}, {"GiB", 30}};
	uint64_t v = 0;
	size_t digits = cy_decimal(s, len, &v);

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (digits == 0 || len - digits != 3 || memcmp(s + digits, units[i].suffix, 3) != 0)
			continue;
		if (v > UINT64_MAX >> units[i].shift)
			return -ERANGE;
		*bytes = v << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

bool cy_is_one_of(const char *s, size_t len, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == len && memcmp(*words, s, len) == 0)
			return true;
	return false;
}

static bool plain(const yaml_node_t *n)
{
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool null(const yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};

	return n->type == YAML_SCALAR_NODE && plain(n) &&
	       cy_is_one_of((const char *)n->data.scalar.value, n->data.scalar.length, nulls);
}

/* What N is, for "got ..." when a collection was expected. */
static const char *what_node(const yaml_node_t *n, struct cy_echo *e)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return "a sequence";
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (null(n))
		return "null";
	return cy_echo(e, (const char *)n->data.scalar.value, n->data.scalar.length, true);
}

int cy_scalar(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect, bool text,
	      const char **s, size_t *len)
{
	static const char *const bools[] = {"y",    "Y",     "yes",   "Yes",   "YES",  "n",
					    "N",    "no",    "No",    "NO",    "true", "True",
					    "TRUE", "false", "False", "FALSE", "on",   "On",
					    "ON",   "off",   "Off",   "OFF",   NULL};
	struct cy_echo e = {0};

	*s = ""; /* callers never see an unset string, even on a refusal */
	*len = 0;
	if (n->type != YAML_SCALAR_NODE)
		return cy_err(p, n->start_mark, field, "%s, got %s", expect, what_node(n, &e));
	if (!n->data.scalar.value) /* libyaml always sets it; a NULL would be its bug, not ours */
		return cy_err(p, n->start_mark, field, "%s, got nothing", expect);
	*s = (const char *)n->data.scalar.value;
	*len = n->data.scalar.length;
	if (null(n))
		return cy_err(p, n->start_mark, field, "%s, got null", expect);
	if (*len == 0)
		return cy_err(p, n->start_mark, field, "%s, got an empty string", expect);
	if (text && plain(n) && cy_is_one_of(*s, *len, bools))
		return cy_err(p, n->start_mark, field, "%s, got the YAML boolean %s (quote it)",
			      expect, cy_echo(&e, *s, *len, false));
	return 0;
}

int cy_bad(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect,
	   const char *s, size_t len)
{
	struct cy_echo e = {0};

	return cy_err(p, n->start_mark, field, "%s, got %s", expect, cy_echo(&e, s, len, true));
}

int cy_bool(struct cy_parser *p, yaml_node_t *n, const char *field, bool *out)
{
	static const char expect[] = "expected true or false";
	const char *s = NULL;
	size_t len = 0;
	struct cy_echo e = {0};

	if (cy_scalar(p, n, field, expect, false, &s, &len))
		return -1;
	if (!plain(n))
		return cy_err(p, n->start_mark, field, "%s, got the quoted string %s", expect,
			      cy_echo(&e, s, len, true));
	/* Only the spellings YAML 1.1 and 1.2 agree on: yes/on/y are strings to a 1.2 reader. */
	if (!cy_is_one_of(s, len, (const char *const[]){"true", "false", NULL}))
		return cy_bad(p, n, field, expect, s, len);
	*out = s[0] == 't';
	return 0;
}

/* Relative paths follow the file, not the cwd, so a VM folder can move as a whole. */
int cy_path(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect, char **out)
{
	const char *s = NULL, *slash = strrchr(p->file, '/');
	size_t len = 0, dirlen;
	struct cy_echo e = {0};

	if (cy_scalar(p, n, field, expect, true, &s, &len))
		return -1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return cy_err(p, n->start_mark, field,
				      "%s without control characters, got %s", expect,
				      cy_echo(&e, s, len, true));
	dirlen = s[0] == '/' || !slash ? 0 : (size_t)(slash - p->file) + 1;
	if (dirlen + len > PATH_MAX - 1)
		return cy_err(p, n->start_mark, field, "%s of at most %d bytes once resolved",
			      expect, PATH_MAX - 1);
	*out = malloc(dirlen + len + 1);
	if (!*out)
		return cy_err(p, n->start_mark, field, "out of memory");
	memcpy(*out, p->file, dirlen);
	memcpy(*out + dirlen, s, len);
	(*out)[dirlen + len] = '\0';
	return 0;
}

int cy_key_bool(struct cy_parser *p, const struct cy_key *k, const char *field, yaml_node_t *n,
		void *base)
{
	return cy_bool(p, n, field, cy_field(base, k));
}

int cy_key_path(struct cy_parser *p, const struct cy_key *k, const char *field, yaml_node_t *n,
		void *base)
{
	return cy_path(p, n, field, k->expect, cy_field(base, k));
}

/* Copies S (LEN bytes, checked) into OUT as a string. */
static int copy_out(const char *s, size_t len, char *out)
{
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

int cy_name(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect, size_t max,
	    char *out)
{
	const char *s = NULL;
	size_t len = 0;
	bool ok;

	if (cy_scalar(p, n, field, expect, true, &s, &len))
		return -1;
	ok = len <= max;
	for (size_t i = 0; i < len && ok; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-';
	return ok ? copy_out(s, len, out) : cy_bad(p, n, field, expect, s, len);
}

int cy_key_ifname(struct cy_parser *p, const struct cy_key *k, const char *field, yaml_node_t *n,
		  void *base)
{
	const char *s = NULL;
	size_t len = 0;
	bool ok;

	if (cy_scalar(p, n, field, k->expect, true, &s, &len))
		return -1;
	ok = len <= CONFIG_TAP_MAX && !cy_is_one_of(s, len, (const char *const[]){".", "..", NULL});
	for (size_t i = 0; i < len && ok; i++)
		ok = s[i] > 0x20 && s[i] < 0x7f && !strchr("/:%", s[i]);
	return ok ? copy_out(s, len, cy_field(base, k)) : cy_bad(p, n, field, k->expect, s, len);
}

static const char *key_list(const struct cy_table *t, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < t->nkeys && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", t->keys[i].name);
	return buf;
}

static const struct cy_key *find_key(const struct cy_table *t, const yaml_node_t *kn)
{
	for (size_t i = 0; i < t->nkeys; i++)
		if (cy_is_one_of((const char *)kn->data.scalar.value, kn->data.scalar.length,
				 (const char *const[]){t->keys[i].name, NULL}))
			return &t->keys[i];
	return NULL;
}

/* "PREFIX.NAME", or NAME at the top level. */
static const char *field_name(char *buf, const char *prefix, const char *name)
{
	snprintf(buf, CY_FIELD_MAX, "%s%s%s", prefix ? prefix : "", prefix ? "." : "", name);
	return buf;
}

static struct config_loc *loc_at(void *base, size_t off)
{
	return (struct config_loc *)((char *)base + off);
}

int cy_mapping(struct cy_parser *p, yaml_node_t *n, const char *field, const struct cy_table *t,
	       void *base)
{
	char list[160], name[CY_FIELD_MAX];
	struct cy_echo e = {0};

	if (n->type != YAML_MAPPING_NODE && !field)
		return cy_err(p, n->start_mark, "yaml", "expected a mapping at the top level");
	if (n->type != YAML_MAPPING_NODE)
		return cy_err(p, n->start_mark, field, "expected a mapping with %s, got %s",
			      key_list(t, list, sizeof(list)), what_node(n, &e));
	for (yaml_node_pair_t *pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top;
	     pair++) {
		yaml_node_t *kn = yaml_document_get_node(&p->doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(&p->doc, pair->value);
		const struct cy_key *k;
		struct config_loc *loc;

		if (!kn || !vn || kn->type != YAML_SCALAR_NODE)
			return cy_err(p, kn ? kn->start_mark : n->start_mark, "yaml",
				      "expected a key name, got a collection");
		if (!(k = find_key(t, kn)))
			return cy_err(p, kn->start_mark,
				      field_name(name, field,
						 cy_echo(&e, (const char *)kn->data.scalar.value,
							 kn->data.scalar.length, false)),
				      "unknown key (expected one of %s)",
				      key_list(t, list, sizeof(list)));
		loc = loc_at(base, k->loc);
		field_name(name, field, k->name);
		if (loc->line)
			return cy_err(p, kn->start_mark, name,
				      "duplicate key (first given on line %u)", loc->line);
		if (k->parse(p, k, name, vn, base))
			return -1;
		*loc = cy_loc(vn->start_mark);
	}
	for (size_t i = 0; i < t->nkeys; i++)
		if (t->keys[i].required && !loc_at(base, t->keys[i].loc)->line)
			return cy_err(p, n->start_mark, field_name(name, field, t->keys[i].name),
				      "required field is missing");
	return 0;
}

int cy_sequence(struct cy_parser *p, yaml_node_t *n, const char *field, const char *what,
		unsigned max, const struct cy_table *t, void *items)
{
	char name[CY_FIELD_MAX];
	struct cy_echo e = {0};
	size_t count;

	if (n->type != YAML_SEQUENCE_NODE)
		return cy_err(p, n->start_mark, field, "expected a sequence of %s, got %s", what,
			      what_node(n, &e));
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > max)
		return cy_err(p, n->start_mark, field, "expected at most %u %s, got %zu", max, what,
			      count);
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *item =
		    yaml_document_get_node(&p->doc, n->data.sequence.items.start[i]);
		char *base = (char *)items + i * t->size;

		snprintf(name, sizeof(name), "%s[%zu]", field, i);
		if (!item) /* libyaml links every item; a NULL would be its bug, not ours */
			return cy_err(p, n->start_mark, name, "missing from the document");
		if (cy_mapping(p, item, name, t, base))
			return -1;
		*loc_at(base, t->loc) = cy_loc(item->start_mark);
	}
	return (int)count;
}
