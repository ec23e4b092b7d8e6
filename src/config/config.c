/* config.c: the VM config (YAML) into struct vm_config, refusing what it does not expect. */
#include "config/config.h"
#include "config/config_devices.h"
#include "config/config_yaml.h"
#include "util/bytes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The name ends up in paths and cgroup names: no dots, no slashes. */
static int parse_name(struct cy_parser *p, const struct cy_key *k, const char *field,
		      yaml_node_t *n, void *base)
{
	return cy_name(p, n, field, k->expect, CONFIG_NAME_MAX, cy_field(base, k));
}

/* A plain (unquoted) decimal from MIN to MAX into *OUT. */
static int parse_uint(struct cy_parser *p, const struct cy_key *k, const char *field,
		      yaml_node_t *n, uint64_t min, uint64_t max, unsigned *out)
{
	const char *s = NULL;
	size_t len = 0;
	uint64_t v = 0;
	struct cy_echo e = {0};

	if (cy_scalar(p, n, field, k->expect, false, &s, &len))
		return -1;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return cy_err(p, n->start_mark, field, "%s, got the quoted string %s", k->expect,
			      cy_echo(&e, s, len, true));
	if (cy_decimal(s, len, &v) != len)
		return cy_bad(p, n, field, k->expect, s, len);
	if (v < min || v > max)
		return cy_err(p, n->start_mark, field, "%s, got %s", k->expect,
			      cy_echo(&e, s, len, false));
	*out = (unsigned)v;
	return 0;
}

static int parse_vcpus(struct cy_parser *p, const struct cy_key *k, const char *field,
		       yaml_node_t *n, void *base)
{
	return parse_uint(p, k, field, n, 1, CONFIG_VCPUS_MAX, cy_field(base, k));
}

static int parse_shutdown_timeout(struct cy_parser *p, const struct cy_key *k, const char *field,
				  yaml_node_t *n, void *base)
{
	return parse_uint(p, k, field, n, 0, CONFIG_SHUTDOWN_TIMEOUT_MAX, cy_field(base, k));
}

static int parse_memory(struct cy_parser *p, const struct cy_key *k, const char *field,
			yaml_node_t *n, void *base)
{
	const char *s = NULL;
	size_t len = 0;
	uint64_t bytes = 0;
	struct cy_echo e = {0};
	int r;

	if (cy_scalar(p, n, field, k->expect, false, &s, &len))
		return -1;
	r = cy_size(s, len, &bytes);
	if (r == -EINVAL)
		return cy_bad(p, n, field, k->expect, s, len);
	if (r || bytes < CONFIG_MEMORY_MIN || bytes > CONFIG_MEMORY_MAX)
		return cy_err(
		    p, n->start_mark, field, "expected a size from %lluMiB to %lluGiB, got %s",
		    (unsigned long long)(CONFIG_MEMORY_MIN >> 20),
		    (unsigned long long)(CONFIG_MEMORY_MAX >> 30), cy_echo(&e, s, len, true));
	if (bytes % 4096 != 0)
		return cy_err(p, n->start_mark, field, "expected a multiple of 4KiB, got %s",
			      cy_echo(&e, s, len, true));
	*(uint64_t *)cy_field(base, k) = bytes;
	return 0;
}

static int parse_cmdline(struct cy_parser *p, const struct cy_key *k, const char *field,
			 yaml_node_t *n, void *base)
{
	const char *s = NULL;
	size_t len = 0;
	struct cy_echo e = {0};
	char **dst = cy_field(base, k);

	if (cy_scalar(p, n, field, k->expect, true, &s, &len))
		return -1;
	if (len > CONFIG_CMDLINE_MAX)
		return cy_err(p, n->start_mark, field, "%s, got %zu bytes", k->expect, len);
	/* The guest kernel parses these bytes; ASCII alone keeps them unambiguous. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return cy_err(p, n->start_mark, field, "%s, got %s at byte %zu", k->expect,
				      cy_echo(&e, s + i, 1, false), i);
	*dst = strndup(s, len);
	if (!*dst)
		return cy_err(p, n->start_mark, field, "out of memory");
	return 0;
}

/* Adding a key: a field and its loc_ in struct vm_config, a parse function, a line here. */
#define KEY(...) CY_KEY(struct vm_config, __VA_ARGS__)

static const struct cy_key keys[] = {
    KEY(name, true, parse_name,
	"expected 1 to " CY_STR(CONFIG_NAME_MAX) " characters from a-z, 0-9 and -"),
    KEY(vcpus, false, parse_vcpus, "expected an integer from 1 to " CY_STR(CONFIG_VCPUS_MAX)),
    KEY(memory, false, parse_memory, "expected an integer with a KiB, MiB or GiB suffix"),
    KEY(kernel, true, cy_key_path, "expected a path"),
    KEY(initrd, false, cy_key_path, "expected a path"),
    KEY(cmdline, false, parse_cmdline,
	"expected 1 to " CY_STR(CONFIG_CMDLINE_MAX) " printable ASCII characters"),
    KEY(disks, false, config_parse_disks, "expected a sequence of disks"),
    KEY(nics, false, config_parse_nics, "expected a sequence of nics"),
    KEY(rng, false, cy_key_bool, "expected true or false"),
    KEY(virtio_cmdline, false, cy_key_bool, "expected true or false"),
    KEY(policy, false, cy_key_path, "expected a path"),
    KEY(shutdown_timeout, false, parse_shutdown_timeout,
	"expected whole seconds from 0 to " CY_STR(CONFIG_SHUTDOWN_TIMEOUT_MAX)),
};

static const struct cy_table root_table = {.keys = keys, .nkeys = ARRAY_SIZE(keys)};

static int parse_root(struct cy_parser *p, yaml_node_t *root, struct vm_config *cfg)
{
	if (cy_mapping(p, root, NULL, &root_table, cfg))
		return -1;
	if (!cfg->loc_vcpus.line)
		cfg->vcpus = CONFIG_DEFAULT_VCPUS;
	if (!cfg->loc_memory.line)
		cfg->memory = CONFIG_DEFAULT_MEMORY;
	if (!cfg->loc_shutdown_timeout.line)
		cfg->shutdown_timeout = CONFIG_DEFAULT_SHUTDOWN_TIMEOUT;
	if (!cfg->cmdline && !(cfg->cmdline = strdup(CONFIG_DEFAULT_CMDLINE)))
		return cy_err(p, root->start_mark, "cmdline", "out of memory");
	config_devices_defaults(cfg);
	if (!(cfg->path = strdup(p->file)))
		return cy_err(p, (yaml_mark_t){0}, "file", "out of memory");
	return 0;
}

int config_parse(const char *path, const char *text, size_t len, struct vm_config *cfg,
		 struct bw_error *err)
{
	struct cy_parser p;
	struct vm_config c = {0};
	yaml_node_t *root = cy_open(&p, path, text, len, err);
	int rc = root ? parse_root(&p, root, &c) : -1;

	cy_close(&p);
	memset(cfg, 0, sizeof(*cfg));
	if (rc) {
		config_free(&c);
		return -1;
	}
	*cfg = c;
	return 0;
}

int config_load(const char *path, struct vm_config *cfg, struct bw_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (cy_read_file(path, &buf, &len, err))
		return -1;
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
	free(cfg->policy);
	/* Every slot, not just ndisks: a refused item may already own its path. */
	for (size_t i = 0; i < ARRAY_SIZE(cfg->disks); i++)
		free(cfg->disks[i].path);
	memset(cfg, 0, sizeof(*cfg));
}
