/* config_yaml_doc.c: a YAML file into a libyaml document, refusing what the loader would resolve. */
#include "config/config_yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int syntax_error(struct cy_parser *p)
{
	yaml_mark_t m = p->yp.problem_mark;
	const char *problem = p->yp.problem ? p->yp.problem : "syntax error";

	/* Reader errors carry a byte offset but no mark. */
	if (p->yp.error == YAML_READER_ERROR) {
		m = (yaml_mark_t){0};
		for (size_t i = 0; i < p->yp.problem_offset && i < p->len; i++) {
			if (p->text[i] == '\n')
				m.line++, m.column = 0;
			else if (((unsigned char)p->text[i] & 0xc0) != 0x80)
				m.column++;
		}
	}
	if (p->yp.error == YAML_MEMORY_ERROR)
		problem = "out of memory";
	return cy_err(p, m, "yaml", "%s%s%s", p->yp.context ? p->yp.context : "",
		      p->yp.context ? ", " : "", problem);
}

/* UTF-8 only, so messages and reader-error offsets mean what they say. */
static int start(struct cy_parser *p)
{
	if (!yaml_parser_initialize(&p->yp))
		return cy_err(p, (yaml_mark_t){0}, "yaml", "out of memory");
	p->parsing = true;
	yaml_parser_set_input_string(&p->yp, (const unsigned char *)p->text, p->len);
	yaml_parser_set_encoding(&p->yp, YAML_UTF8_ENCODING);
	return 0;
}

/* A first pass over events, since the document loader silently resolves what we refuse. */
static int prescan(struct cy_parser *p)
{
	yaml_event_t ev;
	int docs = 0, depth = 0, rc = 0;
	bool end = false;

	if (start(p))
		return -1;
	while (rc == 0 && !end) {
		if (!yaml_parser_parse(&p->yp, &ev)) {
			rc = syntax_error(p);
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
			rc = cy_err(p, ev.start_mark, "yaml",
				    "anchors and aliases are not supported");
		else if (node && ev.data.scalar.tag)
			rc = cy_err(p, ev.start_mark, "yaml", "tags are not supported");
		else if (docs > 1)
			rc = cy_err(p, ev.start_mark, "yaml", "expected a single document");
		else if (depth > CY_DEPTH_MAX)
			rc = cy_err(p, ev.start_mark, "yaml",
				    "expected at most %d levels of nesting", CY_DEPTH_MAX);
		yaml_event_delete(&ev);
	}
	if (rc == 0 && docs == 0)
		rc = cy_err(p, (yaml_mark_t){0}, "yaml", "the file is empty, expected a mapping");
	yaml_parser_delete(&p->yp);
	p->parsing = false;
	return rc;
}

yaml_node_t *cy_open(struct cy_parser *p, const char *file, const char *text, size_t len,
		     struct bw_error *err)
{
	yaml_node_t *root;

	memset(p, 0, sizeof(*p));
	p->file = file ? file : "<config>";
	p->text = text ? text : "";
	p->len = text ? len : 0;
	p->err = err;
	if (p->len > CY_FILE_MAX) {
		config_errorf(err, p->file, (struct config_loc){0}, NULL,
			      "too large (more than %d bytes)", CY_FILE_MAX);
		return NULL;
	}
	if (prescan(p) || start(p))
		return NULL;
	if (!yaml_parser_load(&p->yp, &p->doc)) {
		syntax_error(p);
		return NULL;
	}
	p->loaded = true;
	root = yaml_document_get_root_node(&p->doc);
	if (!root)
		cy_err(p, (yaml_mark_t){0}, "yaml", "the file is empty, expected a mapping");
	else if (root->type != YAML_MAPPING_NODE)
		cy_err(p, root->start_mark, "yaml", "expected a mapping at the top level");
	return root && root->type == YAML_MAPPING_NODE ? root : NULL;
}

void cy_close(struct cy_parser *p)
{
	if (p->loaded)
		yaml_document_delete(&p->doc);
	if (p->parsing)
		yaml_parser_delete(&p->yp);
	p->loaded = p->parsing = false;
}

int cy_read_file(const char *path, char **buf, size_t *len, struct bw_error *err)
{
	FILE *f = path ? fopen(path, "re") : NULL;
	int e = !path ? EINVAL : !f ? errno : 0;
	char eb[128];

	*buf = f ? malloc(CY_FILE_MAX + 1) : NULL;
	*len = 0;
	if (f && !*buf)
		e = ENOMEM;
	/* One byte past the limit tells "too large" from "exactly at the limit". */
	if (*buf && (*len = fread(*buf, 1, CY_FILE_MAX + 1, f)) == 0 && ferror(f))
		e = errno ? errno : EIO;
	if (f)
		fclose(f);
	if (!e)
		return 0;
	config_errorf(err, path, (struct config_loc){0}, NULL, "cannot read: %s",
		      strerror_r(e, eb, sizeof(eb)));
	free(*buf);
	*buf = NULL;
	return -1;
}
