/* config_yaml.h: libyaml helpers (cy_*) shared by the VM config and policy parsers. */
#ifndef BULWARK_CONFIG_YAML_H
#define BULWARK_CONFIG_YAML_H

#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#define CY_FILE_MAX (1 << 20) /* bounds what libyaml allocates for one file */
#define CY_DEPTH_MAX 8	      /* far above any key we define; bounds libyaml's stacks */
#define CY_ECHO_MAX 40	      /* bytes of untrusted text quoted back in a message */
#define CY_FIELD_MAX 256      /* a field name such as disks[3].path, with an echoed key */

#define CY_STR_(x) #x
#define CY_STR(x) CY_STR_(x)

/* One file being parsed: cy_open() fills it, cy_close() releases it. */
struct cy_parser {
	const char *file; /* names the file in messages and anchors relative paths */
	const char *text;
	size_t len;
	struct bw_error *err;
	yaml_parser_t yp;
	yaml_document_t doc;
	bool parsing, loaded; /* whether yp, doc hold something to delete */
};

/*
 * Prescans TEXT (refusing anchors, aliases, tags, several documents, deep nesting, more than
 * CY_FILE_MAX bytes), then loads it. Returns the root node, a mapping, or NULL with ERR filled;
 * call cy_close() either way.
 */
yaml_node_t *cy_open(struct cy_parser *p, const char *file, const char *text, size_t len,
		     struct bw_error *err);
void cy_close(struct cy_parser *p);

/* Reads PATH whole, at most CY_FILE_MAX bytes, into *BUF (malloc'ed). Returns 0 or -1 with ERR. */
int cy_read_file(const char *path, char **buf, size_t *len, struct bw_error *err);

/* libyaml counts from 0, people from 1. */
struct config_loc cy_loc(yaml_mark_t m);

/* Fills the parser's error with "FILE:LINE:COLUMN: FIELD: ..." at M; returns -1. */
int cy_err(struct cy_parser *p, yaml_mark_t m, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

struct cy_echo {
	char s[CY_ECHO_MAX * 4 + 8];
};

/* Untrusted text for a message: printable ASCII as is, the rest as \xNN, cut at CY_ECHO_MAX. */
const char *cy_echo(struct cy_echo *e, const char *s, size_t len, bool quote);

/*
 * Leading decimal digits of S as *V, saturating at UINT64_MAX. Returns how many there were, or 0
 * for a leading zero followed by more digits (octal to a YAML 1.1 reader).
 */
size_t cy_decimal(const char *s, size_t len, uint64_t *v);

/*
 * An integer with a KiB, MiB or GiB suffix, as *BYTES. Returns 0, -EINVAL for another form (no
 * digits, another unit, no unit) or -ERANGE when the bytes do not fit 64 bits.
 */
int cy_size(const char *s, size_t len, uint64_t *bytes);

/* Whether S (LEN bytes) is one of the NULL-terminated WORDS. */
bool cy_is_one_of(const char *s, size_t len, const char *const *words);

/*
 * The scalar at N as *S, *LEN (never unset), refusing collections, nulls and empty strings with
 * "FIELD: EXPECT, got ...". For TEXT, also the plain yes/no/on/off YAML 1.1 takes as booleans.
 */
int cy_scalar(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect, bool text,
	      const char **s, size_t *len);

/* Refuses N: "FIELD: EXPECT, got "S"". Returns -1. */
int cy_bad(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect,
	   const char *s, size_t len);

/* A plain true or false; the YAML 1.1 spellings (yes, on, ...) are refused as ambiguous. */
int cy_bool(struct cy_parser *p, yaml_node_t *n, const char *field, bool *out);

/* A path without control characters, resolved against the folder of the file being parsed. */
int cy_path(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect, char **out);

/*
 * A mapping key and how to parse its value into the struct at BASE: the value at OFF, where it
 * stood (a struct config_loc) at LOC. EXPECT starts every refusal of the value.
 */
struct cy_key {
	const char *name;
	const char *expect;
	int (*parse)(struct cy_parser *p, const struct cy_key *k, const char *field, yaml_node_t *n,
		     void *base);
	size_t off;
	size_t loc;
	bool required;
};

/* A key of TYPE whose value is TYPE.FIELD, and its position TYPE.loc_FIELD. */
// clang-format off
#define CY_KEY(type, field, req, fn, what) \
	{#field, what, fn, offsetof(type, field), offsetof(type, loc_##field), req}
// clang-format on

/* Where key K's value goes in the struct at BASE. */
static inline void *cy_field(void *base, const struct cy_key *k)
{
	return (char *)base + k->off;
}

/* A name of 1 to MAX characters from a-z, 0-9 and - (safe in paths, cgroup and segment names),
 * copied into OUT (MAX + 1 bytes). */
int cy_name(struct cy_parser *p, yaml_node_t *n, const char *field, const char *expect, size_t max,
	    char *out);

/*
 * A network interface name as the kernel's dev_valid_name() takes it, less '%' (TUNSETIFF would
 * make "tap%d" a new device rather than open ours) and bytes outside printable ASCII (they would
 * end up in messages), copied into the char[CONFIG_TAP_MAX + 1] value of K.
 */
int cy_key_ifname(struct cy_parser *p, const struct cy_key *k, const char *field, yaml_node_t *n,
		  void *base);

/* Ready-made parse functions: cy_bool() (its own EXPECT) or cy_path() into the value of K. */
int cy_key_bool(struct cy_parser *p, const struct cy_key *k, const char *field, yaml_node_t *n,
		void *base);
int cy_key_path(struct cy_parser *p, const struct cy_key *k, const char *field, yaml_node_t *n,
		void *base);

/* The keys of one mapping; for sequences of it, the size of an item and where its loc is. */
struct cy_table {
	const struct cy_key *keys;
	size_t nkeys;
	size_t size;
	size_t loc;
};

/*
 * Parses mapping N into BASE, refusing unknown, duplicate and missing required keys. FIELD names
 * the mapping ("disks[1]", fields become "disks[1].path"), or is NULL for the top level. Keys
 * whose loc is still line 0 afterwards were absent.
 */
int cy_mapping(struct cy_parser *p, yaml_node_t *n, const char *field, const struct cy_table *t,
	       void *base);

/*
 * Parses sequence N of at most MAX mappings into the array ITEMS, item i as "FIELD[i]"; WHAT
 * names the items in the refusal of too many. Returns how many there were, or -1.
 */
int cy_sequence(struct cy_parser *p, yaml_node_t *n, const char *field, const char *what,
		unsigned max, const struct cy_table *t, void *items);

#endif
