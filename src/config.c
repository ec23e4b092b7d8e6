/* config.c: the VM config (YAML) into struct vm_config, refusing what it does not expect. */
/* config.h uses size_t without including stddef.h. */
#include <stddef.h>

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define STR_(x) #x
#define STR(x) STR_(x)

#define CONFIG_FILE_MAX (1 << 20) /* bounds what libyaml allocates for one config */
#define CONFIG_DEPTH_MAX 8	  /* far above any key we define; bounds libyaml's stacks */
#define ECHO_MAX 40		  /* bytes of untrusted text quoted back in a message */

struct parser {
	const char *file;
	const char *text;
	size_t len;
	struct config_error *err;
	yaml_document_t *doc;
};

struct key {
	const char *name;
	const char *expect; /* also the start of every refusal of its value */
	int (*parse)(struct parser *p, const struct key *k, yaml_node_t *n, void *dst);
	size_t off; /* the value in struct vm_config */
	size_t loc; /* its struct config_loc; line 0 means not seen yet */
	bool required;
};

static void vformat(struct config_error *err, const char *file, struct config_loc loc,
		    const char *field, const char *fmt, va_list ap)
{
	size_t cap = sizeof(err->msg), n;
	int r;

	if (!err)
		return;
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

void config_errorf(struct config_error *err, const char *file, struct config_loc loc,
		   const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat(err, file, loc, field, fmt, ap);
	va_end(ap);
}

/* libyaml counts from 0, people from 1. */
static struct config_loc loc_of(yaml_mark_t m)
{
	return (struct config_loc){(unsigned)m.line + 1, (unsigned)m.column + 1};
}

__attribute__((format(printf, 4, 5))) static int perr(struct parser *p, yaml_mark_t m,
						      const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat(p->err, p->file, loc_of(m), field, fmt, ap);
	va_end(ap);
	return -1;
}

struct echo {
	char s[ECHO_MAX * 4 + 8];
};

/* Untrusted text for a message: printable ASCII as is, the rest as \xNN, cut at ECHO_MAX. */
static const char *echo(struct echo *e, const char *s, size_t len, bool quote)
{
	char *o = e->s;

	if (quote)
		*o++ = '"';
	for (size_t i = 0; i < len && i < ECHO_MAX; i++) {
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
	memcpy(o, len > ECHO_MAX ? "..." : "", len > ECHO_MAX ? 4 : 1);
	return e->s;
}

static bool is_one_of(const char *s, size_t len, const char *const *words)
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

/* A scalar value, refusing YAML nulls so no field silently becomes empty. For TEXT, also the
 * plain yes/no/on/off that YAML 1.1 readers take as booleans. */
static int scalar(struct parser *p, const struct key *k, yaml_node_t *n, bool text, const char **s,
		  size_t *len)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const bools[] = {"y",    "Y",     "yes",   "Yes",   "YES",  "n",
					    "N",    "no",    "No",    "NO",    "true", "True",
					    "TRUE", "false", "False", "FALSE", "on",   "On",
					    "ON",   "off",   "Off",   "OFF",   NULL};
	struct echo e = {0};

	*s = ""; /* callers never see an unset string, even on a refusal */
	*len = 0;
	if (n->type != YAML_SCALAR_NODE)
		return perr(p, n->start_mark, k->name, "%s, got a %s", k->expect,
			    n->type == YAML_SEQUENCE_NODE ? "sequence" : "mapping");
	if (!n->data.scalar.value) /* libyaml always sets it; a NULL would be its bug, not ours */
		return perr(p, n->start_mark, k->name, "%s, got nothing", k->expect);
	*s = (const char *)n->data.scalar.value;
	*len = n->data.scalar.length;
	if (plain(n) && is_one_of(*s, *len, nulls))
		return perr(p, n->start_mark, k->name, "%s, got null", k->expect);
	if (*len == 0)
		return perr(p, n->start_mark, k->name, "%s, got an empty string", k->expect);
	if (text && plain(n) && is_one_of(*s, *len, bools))
		return perr(p, n->start_mark, k->name, "%s, got the YAML boolean %s (quote it)",
			    k->expect, echo(&e, *s, *len, false));
	return 0;
}

static int bad(struct parser *p, const struct key *k, yaml_node_t *n, const char *s, size_t len)
{
	struct echo e = {0};

	return perr(p, n->start_mark, k->name, "%s, got %s", k->expect, echo(&e, s, len, true));
}

/* Leading digits, saturating; none when a leading zero could mean octal to YAML 1.1. */
static size_t decimal(const char *s, size_t len, uint64_t *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		if (__builtin_mul_overflow(*v, 10, v) || __builtin_add_overflow(*v, s[i] - '0', v))
			*v = UINT64_MAX;
	return i > 1 && s[0] == '0' ? 0 : i;
}

static int parse_name(struct parser *p, const struct key *k, yaml_node_t *n, void *dst)
{
	const char *s = NULL;
	size_t len = 0;
	bool ok;

	if (scalar(p, k, n, true, &s, &len))
		return -1;
	/* The name ends up in paths and cgroup names: no dots, no slashes. */
	ok = len <= CONFIG_NAME_MAX;
	for (size_t i = 0; i < len && ok; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-';
	if (!ok)
		return bad(p, k, n, s, len);
	memcpy(dst, s, len);
	((char *)dst)[len] = '\0';
	return 0;
}

static int parse_vcpus(struct parser *p, const struct key *k, yaml_node_t *n, void *dst)
{
	const char *s = NULL;
	size_t len = 0;
	uint64_t v = 0;
	struct echo e = {0};

	if (scalar(p, k, n, false, &s, &len))
		return -1;
	if (!plain(n))
		return perr(p, n->start_mark, k->name, "%s, got the quoted string %s", k->expect,
			    echo(&e, s, len, true));
	if (decimal(s, len, &v) != len)
		return bad(p, k, n, s, len);
	if (v < 1 || v > CONFIG_VCPUS_MAX)
		return perr(p, n->start_mark, k->name, "%s, got %s", k->expect,
			    echo(&e, s, len, false));
	*(unsigned *)dst = (unsigned)v;
	return 0;
}

static int parse_memory(struct parser *p, const struct key *k, yaml_node_t *n, void *dst)
{
	static const struct {
		char suffix[4];
		uint64_t mult;
	} units[] = {{"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}};
	const char *s = NULL;
	size_t len = 0, digits;
	uint64_t v = 0, bytes;
	struct echo e = {0};

	if (scalar(p, k, n, false, &s, &len))
		return -1;
	digits = decimal(s, len, &v);
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (digits == 0 || len - digits != 3 || memcmp(s + digits, units[i].suffix, 3) != 0)
			continue;
		if (__builtin_mul_overflow(v, units[i].mult, &bytes) || bytes < CONFIG_MEMORY_MIN ||
		    bytes > CONFIG_MEMORY_MAX)
			return perr(p, n->start_mark, k->name,
				    "expected a size from %lluMiB to %lluGiB, got %s",
				    (unsigned long long)(CONFIG_MEMORY_MIN >> 20),
				    (unsigned long long)(CONFIG_MEMORY_MAX >> 30),
				    echo(&e, s, len, true));
		if (bytes % 4096 != 0)
			return perr(p, n->start_mark, k->name,
				    "expected a multiple of 4KiB, got %s", echo(&e, s, len, true));
		*(uint64_t *)dst = bytes;
		return 0;
	}
	return bad(p, k, n, s, len);
}

/* Relative paths follow the config file, not the cwd, so a VM folder can move as a whole. */
static int parse_path(struct parser *p, const struct key *k, yaml_node_t *n, void *dst)
{
	const char *s = NULL, *slash = strrchr(p->file, '/');
	size_t len = 0, dirlen;
	struct echo e = {0};
	char *out;

	if (scalar(p, k, n, true, &s, &len))
		return -1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return perr(p, n->start_mark, k->name,
				    "%s without control characters, got %s", k->expect,
				    echo(&e, s, len, true));
	dirlen = s[0] == '/' || !slash ? 0 : (size_t)(slash - p->file) + 1;
	if (dirlen + len > PATH_MAX - 1)
		return perr(p, n->start_mark, k->name, "%s of at most %d bytes once resolved",
			    k->expect, PATH_MAX - 1);
	out = malloc(dirlen + len + 1);
	if (!out)
		return perr(p, n->start_mark, k->name, "out of memory");
	memcpy(out, p->file, dirlen);
	memcpy(out + dirlen, s, len);
	out[dirlen + len] = '\0';
	*(char **)dst = out;
	return 0;
}

static int parse_cmdline(struct parser *p, const struct key *k, yaml_node_t *n, void *dst)
{
	const char *s = NULL;
	size_t len = 0;
	struct echo e = {0};

	if (scalar(p, k, n, true, &s, &len))
		return -1;
	if (len > CONFIG_CMDLINE_MAX)
		return perr(p, n->start_mark, k->name, "%s, got %zu bytes", k->expect, len);
	/* The guest kernel parses these bytes; ASCII alone keeps them unambiguous. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return perr(p, n->start_mark, k->name, "%s, got %s at byte %zu", k->expect,
				    echo(&e, s + i, 1, false), i);
	*(char **)dst = strndup(s, len);
	if (!*(char **)dst)
		return perr(p, n->start_mark, k->name, "out of memory");
	return 0;
}

/* Adding a key: a field and its loc_ in struct vm_config, a parse function, a line here. */
// clang-format off
#define KEY(field, req, fn, what) \
	{#field, what, fn, offsetof(struct vm_config, field), offsetof(struct vm_config, loc_##field), req}
// clang-format on

static const struct key keys[] = {
    KEY(name, true, parse_name,
	"expected 1 to " STR(CONFIG_NAME_MAX) " characters from a-z, 0-9 and -"),
    KEY(vcpus, false, parse_vcpus, "expected an integer from 1 to " STR(CONFIG_VCPUS_MAX)),
    KEY(memory, false, parse_memory, "expected an integer with a KiB, MiB or GiB suffix"),
    KEY(kernel, true, parse_path, "expected a path"),
    KEY(initrd, false, parse_path, "expected a path"),
    KEY(cmdline, false, parse_cmdline,
	"expected 1 to " STR(CONFIG_CMDLINE_MAX) " printable ASCII characters"),
};

static const char *key_list(char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(keys) && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", keys[i].name);
	return buf;
}

static const struct key *find_key(const yaml_node_t *kn)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (is_one_of((const char *)kn->data.scalar.value, kn->data.scalar.length,
			      (const char *const[]){keys[i].name, NULL}))
			return &keys[i];
	return NULL;
}

static struct config_loc *loc_in(struct vm_config *cfg, const struct key *k)
{
	return (struct config_loc *)((char *)cfg + k->loc);
}

static int parse_root(struct parser *p, yaml_node_t *root, struct vm_config *cfg)
{
	char list[128];
	struct echo e = {0};

	if (root->type != YAML_MAPPING_NODE)
		return perr(p, root->start_mark, "yaml", "expected a mapping at the top level");
	for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
	     pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(p->doc, pair->value);
		const struct key *k;

		if (!kn || !vn || kn->type != YAML_SCALAR_NODE)
			return perr(p, kn ? kn->start_mark : root->start_mark, "yaml",
				    "expected a key name, got a collection");
		if (!(k = find_key(kn)))
			return perr(p, kn->start_mark,
				    echo(&e, (const char *)kn->data.scalar.value,
					 kn->data.scalar.length, false),
				    "unknown key (expected one of %s)",
				    key_list(list, sizeof(list)));
		if (loc_in(cfg, k)->line)
			return perr(p, kn->start_mark, k->name,
				    "duplicate key (first given on line %u)", loc_in(cfg, k)->line);
		if (k->parse(p, k, vn, (char *)cfg + k->off))
			return -1;
		*loc_in(cfg, k) = loc_of(vn->start_mark);
	}
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].required && !loc_in(cfg, &keys[i])->line)
			return perr(p, root->start_mark, keys[i].name, "required field is missing");
	if (!cfg->loc_vcpus.line)
		cfg->vcpus = CONFIG_DEFAULT_VCPUS;
	if (!cfg->loc_memory.line)
		cfg->memory = CONFIG_DEFAULT_MEMORY;
	if (!cfg->cmdline && !(cfg->cmdline = strdup(CONFIG_DEFAULT_CMDLINE)))
		return perr(p, root->start_mark, "cmdline", "out of memory");
	return 0;
}

static int syntax_error(struct parser *p, yaml_parser_t *yp)
{
	yaml_mark_t m = yp->problem_mark;
	const char *problem = yp->problem ? yp->problem : "syntax error";

	/* Reader errors carry a byte offset but no mark. */
	if (yp->error == YAML_READER_ERROR) {
		m = (yaml_mark_t){0};
		for (size_t i = 0; i < yp->problem_offset && i < p->len; i++) {
			if (p->text[i] == '\n')
				m.line++, m.column = 0;
			else if (((unsigned char)p->text[i] & 0xc0) != 0x80)
				m.column++;
		}
	}
	if (yp->error == YAML_MEMORY_ERROR)
		problem = "out of memory";
	return perr(p, m, "yaml", "%s%s%s", yp->context ? yp->context : "", yp->context ? ", " : "",
		    problem);
}

/* UTF-8 only, so messages and reader-error offsets mean what they say. */
static int yaml_init(struct parser *p, yaml_parser_t *yp)
{
	if (!yaml_parser_initialize(yp))
		return perr(p, (yaml_mark_t){0}, "yaml", "out of memory");
	yaml_parser_set_input_string(yp, (const unsigned char *)p->text, p->len);
	yaml_parser_set_encoding(yp, YAML_UTF8_ENCODING);
	return 0;
}

/* A first pass over events, since the document loader silently resolves what we refuse. */
static int prescan(struct parser *p)
{
	yaml_parser_t yp;
	yaml_event_t ev;
	int docs = 0, depth = 0, rc = 0;
	bool end = false;

	if (yaml_init(p, &yp))
		return -1;
	while (rc == 0 && !end) {
		if (!yaml_parser_parse(&yp, &ev)) {
			rc = syntax_error(p, &yp);
			break;
		}
		bool open =
		    ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT;
		/* anchor and tag lead the scalar, sequence and mapping structs alike. */
		bool node = open || ev.type == YAML_SCALAR_EVENT;

		depth += open;
		depth -= ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT;
		docs += ev.type == YAML_DOCUMENT_START_EVENT;
		end = ev.type == YAML_STREAM_END_EVENT;
		if (ev.type == YAML_ALIAS_EVENT || (node && ev.data.scalar.anchor))
			rc =
			    perr(p, ev.start_mark, "yaml", "anchors and aliases are not supported");
		else if (node && ev.data.scalar.tag)
			rc = perr(p, ev.start_mark, "yaml", "tags are not supported");
		else if (docs > 1)
			rc = perr(p, ev.start_mark, "yaml", "expected a single document");
		else if (depth > CONFIG_DEPTH_MAX)
			rc = perr(p, ev.start_mark, "yaml", "expected at most %d levels of nesting",
				  CONFIG_DEPTH_MAX);
		yaml_event_delete(&ev);
	}
	if (rc == 0 && docs == 0)
		rc = perr(p, (yaml_mark_t){0}, "yaml", "the file is empty, expected a mapping");
	yaml_parser_delete(&yp);
	return rc;
}

int config_parse(const char *path, const char *text, size_t len, struct vm_config *cfg,
		 struct config_error *err)
{
	struct parser p = {.file = path ? path : "<config>", .text = text ? text : "", .err = err};
	struct vm_config c = {0};
	yaml_parser_t yp;
	yaml_document_t doc;
	yaml_node_t *root;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	p.len = text ? len : 0;
	if (p.len > CONFIG_FILE_MAX) {
		config_errorf(err, p.file, (struct config_loc){0}, NULL,
			      "too large (more than %d bytes)", CONFIG_FILE_MAX);
		return -1;
	}
	if (prescan(&p) || yaml_init(&p, &yp))
		return -1;
	if (!yaml_parser_load(&yp, &doc)) {
		rc = syntax_error(&p, &yp);
		yaml_parser_delete(&yp);
		return rc;
	}
	p.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	rc = root ? parse_root(&p, root, &c)
		  : perr(&p, (yaml_mark_t){0}, "yaml", "the file is empty, expected a mapping");
	if (rc == 0 && !(c.path = strdup(p.file)))
		rc = perr(&p, (yaml_mark_t){0}, "file", "out of memory");
	yaml_document_delete(&doc);
	yaml_parser_delete(&yp);
	if (rc) {
		config_free(&c);
		return -1;
	}
	*cfg = c;
	return 0;
}

int config_load(const char *path, struct vm_config *cfg, struct config_error *err)
{
	FILE *f = path ? fopen(path, "re") : NULL;
	int rc, e = !path ? EINVAL : !f ? errno : 0;
	char *buf = f ? malloc(CONFIG_FILE_MAX + 1) : NULL;
	char eb[128];
	size_t len = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (f && !buf)
		e = ENOMEM;
	/* One byte past the limit tells "too large" from "exactly at the limit". */
	if (buf && (len = fread(buf, 1, CONFIG_FILE_MAX + 1, f)) == 0 && ferror(f))
		e = errno ? errno : EIO;
	if (f)
		fclose(f);
	if (e) {
		config_errorf(err, path, (struct config_loc){0}, NULL, "cannot read: %s",
			      strerror_r(e, eb, sizeof(eb)));
		free(buf);
		return -1;
	}
	rc = config_parse(path, buf, len, cfg, err);
	free(buf);
	return rc;
}

void config_free(struct vm_config *cfg)
{
	free(cfg->path);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	memset(cfg, 0, sizeof(*cfg));
}
