/* host_report.c: the host check's lines, as text for people and as JSON (json-c) for tools. */
#include "host/host_check.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <string.h>

static const char *const verdict_names[] = {
    [HOST_PASS] = "PASS",
    [HOST_WARN] = "WARN",
    [HOST_FAIL] = "FAIL",
};

void host_add(struct host_report *r, const char *id, enum host_verdict v, const char *fix,
	      const char *fmt, ...)
{
	struct host_item *it;
	va_list ap;

	if (r->n >= HOST_ITEMS_MAX)
		return;
	it = &r->items[r->n++];
	memset(it, 0, sizeof(*it));
	snprintf(it->id, sizeof(it->id), "%s", id);
	it->verdict = v;
	va_start(ap, fmt);
	vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
	va_end(ap);
	/* A WARN or FAIL without a way out would leave the reader stuck: say so at least. */
	snprintf(it->fix, sizeof(it->fix), "%s",
		 fix && *fix	  ? fix
		 : v == HOST_PASS ? ""
				  : "(no known fix: please report it)");
}

bool host_report_ok(const struct host_report *r)
{
	for (unsigned i = 0; i < r->n; i++)
		if (r->items[i].verdict == HOST_FAIL)
			return false;
	return true;
}

void host_report_print(const struct host_report *r, FILE *out)
{
	unsigned count[3] = {0, 0, 0};

	for (unsigned i = 0; i < r->n; i++) {
		const struct host_item *it = &r->items[i];

		count[it->verdict]++;
		fprintf(out, "%s %s: %s\n", verdict_names[it->verdict], it->id, it->detail);
		if (it->verdict != HOST_PASS)
			fprintf(out, "     fix: %s\n", it->fix);
	}
	fprintf(out,
		"host check: this host %s %s under policy %s (%u passed, %u warned, %u failed)\n",
		host_report_ok(r) ? "can run" : "cannot run", r->config ? r->config : "a VM",
		r->policy, count[HOST_PASS], count[HOST_WARN], count[HOST_FAIL]);
}

int host_report_json(const struct host_report *r, FILE *out)
{
	json_object *root = json_object_new_object(), *checks = json_object_new_array();
	const char *text;

	if (!root || !checks) {
		json_object_put(root);
		json_object_put(checks);
		return -1;
	}
	/* json-c takes a NULL value as null: the config is null when only a policy was checked. */
	json_object_object_add(root, "config",
			       r->config ? json_object_new_string(r->config) : NULL);
	json_object_object_add(root, "policy", json_object_new_string(r->policy));
	json_object_object_add(root, "ok", json_object_new_boolean(host_report_ok(r)));
	json_object_object_add(root, "checks", checks);
	for (unsigned i = 0; i < r->n; i++) {
		const struct host_item *it = &r->items[i];
		json_object *c = json_object_new_object();

		if (!c || json_object_array_add(checks, c)) {
			json_object_put(c);
			json_object_put(root);
			return -1;
		}
		json_object_object_add(c, "id", json_object_new_string(it->id));
		json_object_object_add(c, "verdict",
				       json_object_new_string(verdict_names[it->verdict]));
		json_object_object_add(c, "detail", json_object_new_string(it->detail));
		if (it->verdict != HOST_PASS)
			json_object_object_add(c, "fix", json_object_new_string(it->fix));
	}
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text)
		fprintf(out, "%s\n", text);
	json_object_put(root);
	return text ? 0 : -1;
}
