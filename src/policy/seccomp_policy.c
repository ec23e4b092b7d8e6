/* seccomp_policy.c: parses an embedded allowlist (YAML) into rules, resolving names and constants.
 */
#include "policy/seccomp_policy.h"
#include "util/bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <yaml.h>

/* clang-format off */
#define K(name) {#name, (uint64_t)(name)}

/* The constants an allowlist may name. A name missing here is refused, never guessed. */
static const struct {
	const char *name;
	uint64_t value;
} constants[] = {
	K(KVM_RUN), K(KVM_IRQ_LINE), K(TUNSETOFFLOAD), K(TCGETS), K(TCSETS), K(TCSETSW), K(TCSETSF),
	K(FUTEX_WAIT), K(FUTEX_WAKE), K(FUTEX_WAIT_BITSET), K(FUTEX_WAKE_BITSET),
	K(FUTEX_PRIVATE_FLAG), K(FUTEX_CLOCK_REALTIME), K(FUTEX_WAIT_PRIVATE), K(FUTEX_WAKE_PRIVATE),
	K(MADV_DONTNEED), K(PROT_NONE), K(PROT_READ), K(PROT_WRITE),
	K(SIG_BLOCK), K(SIG_UNBLOCK), K(SIG_SETMASK), K(SIGUSR1), K(SIGTERM), K(SIGINT), K(SIGHUP),
	K(SIGKILL), K(O_RDONLY), K(O_WRONLY), K(O_RDWR), K(O_CLOEXEC), K(O_DIRECTORY),
	K(CLOCK_MONOTONIC), K(CLOCK_REALTIME),
};
/* clang-format on */

int seccomp_constant(const char *name, uint64_t *value)
{
	for (size_t i = 0; i < ARRAY_SIZE(constants); i++) {
		if (!strcmp(constants[i].name, name)) {
			*value = constants[i].value;
			return 0;
		}
	}
	return -1;
}

static const char *const fd_role_names[SANDBOX_FD_ROLES] = {
    [SANDBOX_FD_STDIN] = "stdin",
    [SANDBOX_FD_STDOUT] = "stdout",
    [SANDBOX_FD_STDERR] = "stderr",
    [SANDBOX_FD_STOP] = "stop",
    [SANDBOX_FD_UART_DRAINED] = "uart-drained",
    [SANDBOX_FD_WAKE] = "wake",
    [SANDBOX_FD_NOTIFY] = "notify",
    [SANDBOX_FD_IRQ] = "irq",
    [SANDBOX_FD_TAP] = "tap",
    [SANDBOX_FD_IMAGE] = "image",
    [SANDBOX_FD_TIMER] = "timer",
    [SANDBOX_FD_SIGNALFD] = "signalfd",
    [SANDBOX_FD_PIDFD] = "pidfd",
    [SANDBOX_FD_CONSOLE] = "console",
    [SANDBOX_FD_CONSOLE_WAKE] = "console-wake",
    [SANDBOX_FD_CONSOLE_TICK] = "console-tick",
    [SANDBOX_FD_SERVICE] = "service",
    [SANDBOX_FD_WATCHDOG] = "watchdog",
    [SANDBOX_FD_SHUTDOWN] = "shutdown",
};

const char *sandbox_fd_role_name(enum sandbox_fd_role role)
{
	return (unsigned)role < SANDBOX_FD_ROLES ? fd_role_names[role] : NULL;
}

static const char *const op_names[] = {
    [SECCOMP_EQ] = "eq",
    [SECCOMP_NE] = "ne",
    [SECCOMP_LT] = "lt",
    [SECCOMP_LE] = "le",
    [SECCOMP_GT] = "gt",
    [SECCOMP_GE] = "ge",
    [SECCOMP_MASKED_EQ] = "masked_eq",
};
static const char *const op_shown[] = {
    [SECCOMP_EQ] = "==", [SECCOMP_NE] = "!=", [SECCOMP_LT] = "<",	  [SECCOMP_LE] = "<=",
    [SECCOMP_GT] = ">",	 [SECCOMP_GE] = ">=", [SECCOMP_MASKED_EQ] = "==",
};

struct parse {
	const char *path;
	yaml_document_t doc;
	char *err;
};

static int fail(struct parse *p, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parse *p, const yaml_node_t *at, const char *fmt, ...)
{
	int n = snprintf(p->err, SECCOMP_ERR_MAX, "%s:%zu:%zu: ", p->path,
			 at ? at->start_mark.line + 1 : 1, at ? at->start_mark.column + 1 : 1);
	va_list ap;

	if (n < 0 || n >= SECCOMP_ERR_MAX)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(p->err + n, SECCOMP_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A number or NAME|NAME|...; every part known. */
static int parse_value(struct parse *p, const yaml_node_t *n, const char *field, uint64_t *out)
{
	const char *s = scalar(n);
	char buf[128], *save = NULL;

	if (!s || !*s || strlen(s) >= sizeof(buf))
		return fail(p, n, "%s: expected a number or constant names joined by |", field);
	snprintf(buf, sizeof(buf), "%s", s);
	*out = 0;
	for (char *t = strtok_r(buf, "| ", &save); t; t = strtok_r(NULL, "| ", &save)) {
		uint64_t v;
		char *end;

		errno = 0;
		v = strtoull(t, &end, 0);
		if ((t[0] >= '0' && t[0] <= '9') ? (errno || *end) : seccomp_constant(t, &v))
			return fail(p, n, "%s: unknown constant or bad number '%s'", field, t);
		*out |= v;
	}
	return 0;
}

static int parse_cond(struct parse *p, const yaml_node_t *n, struct seccomp_cond *c)
{
	const char *op = NULL, *value_text = "";
	bool have_arg = false, have_value = false, have_mask = false;
	const yaml_node_t *at = n;

	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n, "args: expected a mapping {arg, op, value[, mask]}");
	for (yaml_node_pair_t *i = n->data.mapping.pairs.start; i < n->data.mapping.pairs.top;
	     i++) {
		yaml_node_t *k = yaml_document_get_node(&p->doc, i->key);
		yaml_node_t *v = yaml_document_get_node(&p->doc, i->value);
		const char *key = scalar(k), *vs = scalar(v);

		if (key && !strcmp(key, "arg")) {
			if (!vs || vs[0] < '0' || vs[0] > '5' || vs[1])
				return fail(p, v, "arg: expected 0 to 5");
			c->arg = (unsigned)(vs[0] - '0');
			have_arg = true;
		} else if (key && !strcmp(key, "op")) {
			for (size_t o = 0; vs && o < ARRAY_SIZE(op_names); o++)
				if (!strcmp(vs, op_names[o])) {
					c->op = (enum seccomp_op)o;
					op = vs;
				}
			if (!op)
				return fail(p, v,
					    "op: expected eq, ne, lt, le, gt, ge or masked_eq");
		} else if (key && !strcmp(key, "value")) {
			if (parse_value(p, v, "value", &c->value))
				return -1;
			value_text = vs;
			have_value = true;
		} else if (key && !strcmp(key, "mask")) {
			if (parse_value(p, v, "mask", &c->mask))
				return -1;
			have_mask = true;
		} else {
			return fail(p, k, "unknown key '%s' in a condition", key ? key : "?");
		}
	}
	if (!have_arg || !op || !have_value)
		return fail(p, at, "a condition needs arg, op and value");
	if (have_mask != (c->op == SECCOMP_MASKED_EQ))
		return fail(p, at, "mask goes with op masked_eq, and only with it");
	if (c->op == SECCOMP_MASKED_EQ)
		snprintf(c->shown, sizeof(c->shown), "arg%u & 0x%llx == %s", c->arg,
			 (unsigned long long)c->mask, value_text);
	else
		snprintf(c->shown, sizeof(c->shown), "arg%u %s %s", c->arg, op_shown[c->op],
			 value_text);
	return 0;
}

static int parse_args(struct parse *p, const yaml_node_t *n, struct seccomp_rule *r)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(p, n, "args: expected a list of conditions");
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
	     i++) {
		if (r->ncond == SECCOMP_CONDS_MAX)
			return fail(p, n, "args: at most %d conditions", SECCOMP_CONDS_MAX);
		if (parse_cond(p, yaml_document_get_node(&p->doc, *i), &r->cond[r->ncond]))
			return -1;
		r->ncond++;
	}
	return 0;
}

/* fds: [role, ...], each a known role, into R's mask. */
static int parse_fds(struct parse *p, const yaml_node_t *n, struct seccomp_rule *r)
{
	if (n->type != YAML_SEQUENCE_NODE ||
	    n->data.sequence.items.start == n->data.sequence.items.top)
		return fail(p, n, "fds: expected a list of fd roles");
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
	     i++) {
		const yaml_node_t *v = yaml_document_get_node(&p->doc, *i);
		const char *role = scalar(v);
		unsigned k = 0;

		while (role && k < SANDBOX_FD_ROLES && strcmp(role, fd_role_names[k]) != 0)
			k++;
		if (!role || k == SANDBOX_FD_ROLES)
			return fail(p, v, "fds: unknown fd role '%s'", role ? role : "?");
		r->fd_roles |= 1U << k;
	}
	return 0;
}

static int parse_rule(struct parse *p, const yaml_node_t *n, struct seccomp_rule *r)
{
	const yaml_node_t *name_node = NULL;

	memset(r, 0, sizeof(*r));
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n, "syscalls: expected entries {name, why[, args]}");
	for (yaml_node_pair_t *i = n->data.mapping.pairs.start; i < n->data.mapping.pairs.top;
	     i++) {
		yaml_node_t *k = yaml_document_get_node(&p->doc, i->key);
		yaml_node_t *v = yaml_document_get_node(&p->doc, i->value);
		const char *key = scalar(k), *vs = scalar(v);

		if (key && !strcmp(key, "name") && vs && strlen(vs) < sizeof(r->name)) {
			snprintf(r->name, sizeof(r->name), "%s", vs);
			name_node = v;
		} else if (key && !strcmp(key, "why") && vs && strlen(vs) < sizeof(r->why)) {
			snprintf(r->why, sizeof(r->why), "%s", vs);
		} else if (key && !strcmp(key, "args")) {
			if (parse_args(p, v, r))
				return -1;
		} else if (key && !strcmp(key, "fds")) {
			if (parse_fds(p, v, r))
				return -1;
		} else if (key && (!strcmp(key, "name") || !strcmp(key, "why"))) {
			return fail(p, v, "%s: expected a string of at most %zu bytes", key,
				    (!strcmp(key, "name") ? sizeof(r->name) : sizeof(r->why)) - 1);
		} else {
			return fail(p, k, "unknown key '%s' in a syscall entry", key ? key : "?");
		}
	}
	if (!name_node)
		return fail(p, n, "a syscall entry needs a name");
	if (!r->why[0])
		return fail(p, n, "%s: every syscall says why it is allowed (why:)", r->name);
	for (unsigned j = 0; r->fd_roles && j < r->ncond; j++)
		if (r->cond[j].arg == 0)
			return fail(p, n, "%s: fds: pins arg0 already; no condition on arg0 too",
				    r->name);
	r->nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, r->name);
	if (r->nr < 0)
		return fail(p, name_node, "unknown syscall '%s' (on x86_64)", r->name);
	return 0;
}

static void count_syscalls(struct seccomp_list *l)
{
	l->nsyscalls = 0;
	for (unsigned i = 0; i < l->n; i++) {
		unsigned j = 0;

		while (j < i && l->rule[j].nr != l->rule[i].nr)
			j++;
		l->nsyscalls += j == i;
	}
}

static int parse_root(struct parse *p, struct seccomp_list *l)
{
	yaml_node_t *root = yaml_document_get_root_node(&p->doc);
	yaml_node_t *list = NULL;

	if (!root || root->type != YAML_MAPPING_NODE)
		return fail(p, root, "expected a mapping with the key 'syscalls'");
	for (yaml_node_pair_t *i = root->data.mapping.pairs.start; i < root->data.mapping.pairs.top;
	     i++) {
		yaml_node_t *k = yaml_document_get_node(&p->doc, i->key);
		const char *key = scalar(k);

		if (!key || strcmp(key, "syscalls") != 0)
			return fail(p, k, "unknown key '%s'", key ? key : "?");
		list = yaml_document_get_node(&p->doc, i->value);
	}
	if (!list || list->type != YAML_SEQUENCE_NODE)
		return fail(p, list ? list : root, "syscalls: expected a list");
	for (yaml_node_item_t *i = list->data.sequence.items.start;
	     i < list->data.sequence.items.top; i++) {
		if (l->n == SECCOMP_RULES_MAX)
			return fail(p, list, "syscalls: at most %d entries", SECCOMP_RULES_MAX);
		if (parse_rule(p, yaml_document_get_node(&p->doc, *i), &l->rule[l->n]))
			return -1;
		l->n++;
	}
	count_syscalls(l);
	return 0;
}

int seccomp_list_parse(const char *path, const char *text, size_t len, struct seccomp_list *l,
		       char err[SECCOMP_ERR_MAX])
{
	struct parse p = {.path = path, .err = err};
	yaml_parser_t parser;
	int r;

	memset(l, 0, sizeof(*l));
	err[0] = 0;
	if (!yaml_parser_initialize(&parser))
		return fail(&p, NULL, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &p.doc)) {
		snprintf(err, SECCOMP_ERR_MAX, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "bad YAML");
		yaml_parser_delete(&parser);
		return -1;
	}
	r = parse_root(&p, l);
	yaml_document_delete(&p.doc);
	yaml_parser_delete(&parser);
	return r;
}
