// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_yaml.c - the YAML reader every section of tollgate.yaml is parsed with
 * (config_int.h), with libyaml's document API (the whole file is small; a node tree gives
 * every value its line and column and resolves aliases). Every key is known: map_keys makes
 * an unknown or repeated key an error, so a typo never silently falls back to a default.
 * Errors are "FILE:LINE:COL: what is wrong" (1-based), all of them are collected and put in
 * file order. The typed values (bool, rate, burst, packet rate, count, flood limit, path)
 * are read here so that every section words their errors alike.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config_int.h"

#define YAML_FILE_MAX (16u << 20) /* bytes; tollgate.yaml is a few KiB, this is a sanity bound */

static void add_verr(struct ctx *c, size_t line, size_t col, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* line and col are 1-based */
static void add_verr(struct ctx *c, size_t line, size_t col, const char *fmt, va_list ap)
{
	struct yerr_ent *e;
	char buf[512];

	if (c->nye == c->capye) {
		size_t cap = c->capye ? c->capye * 2 : 16;

		e = realloc(c->ye, cap * sizeof(*e));
		if (!e) {
			c->oom = 1;
			return;
		}
		c->ye = e;
		c->capye = cap;
	}
	e = &c->ye[c->nye];
	e->line = line;
	e->col = col;
	e->seq = c->nye;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (asprintf(&e->msg, "%s:%zu:%zu: %s", c->file, line, col, buf) < 0) {
		c->oom = 1;
		return;
	}
	c->nye++;
}

void add_err(struct ctx *c, size_t line, size_t col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_verr(c, line, col, fmt, ap);
	va_end(ap);
}

/* The length of the line break at u[i] as libyaml reads breaks (CR LF, CR, LF, NEL, LS, PS). */
static size_t line_break(const unsigned char *u, size_t len, size_t i)
{
	if (u[i] == '\r')
		return i + 1 < len && u[i + 1] == '\n' ? 2 : 1;
	if (u[i] == '\n')
		return 1;
	if (u[i] == 0xc2 && i + 1 < len && u[i + 1] == 0x85)
		return 2;
	if (u[i] == 0xe2 && i + 2 < len && u[i + 1] == 0x80 &&
	    (u[i + 2] == 0xa8 || u[i + 2] == 0xa9))
		return 3;
	return 0;
}

/* Where libyaml's marks at the end of the text must be moved to (see struct ctx). */
void find_end(struct ctx *c, const char *buf, size_t len)
{
	const unsigned char *u = (const unsigned char *)buf;
	size_t i = len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3) ? 3 : 0; /* libyaml skips a BOM */
	bool at_break = true; /* an empty text gets no line break either */

	/* mark indexes count characters: UTF-8 lead bytes. UTF-16 (it has a BOM) is left alone. */
	c->end_index = 0;
	c->end_line = c->end_col = 1;
	while (i < len) {
		size_t n = line_break(u, len, i);

		at_break = n;
		if (n) {
			c->end_line++;
			c->end_col = 1;
		} else {
			n = 1;
			c->end_col += (u[i] & 0xc0) != 0x80;
		}
		for (; n; n--, i++)
			c->end_index += (u[i] & 0xc0) != 0x80;
	}
	if (at_break || (len >= 2 && (!memcmp(buf, "\xff\xfe", 2) || !memcmp(buf, "\xfe\xff", 2))))
		c->end_index = SIZE_MAX;
}

/* A libyaml mark as a 1-based line and column. */
void mark_pos(const struct ctx *c, const yaml_mark_t *m, size_t *line, size_t *col)
{
	if (m->index == c->end_index && !m->column) {
		*line = c->end_line;
		*col = c->end_col;
		return;
	}
	*line = m->line + 1;
	*col = m->column + 1;
	/* UTF-16 text (its marks are not corrected above): libyaml's implicit line break at
	 * the end must not name a line the file does not have */
	if (*line > c->end_line) {
		*line = c->end_line;
		*col = c->end_col;
	}
}

/* An error about node n, at its position. */
void yerr(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	size_t line, col;
	va_list ap;

	mark_pos(c, &n->start_mark, &line, &col);
	va_start(ap, fmt);
	add_verr(c, line, col, fmt, ap);
	va_end(ap);
}

static int cmp_yerr(const void *a, const void *b)
{
	const struct yerr_ent *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Move the collected errors to c->errs, in file order. */
void flush_errors(struct ctx *c)
{
	if (c->nye)
		qsort(c->ye, c->nye, sizeof(*c->ye), cmp_yerr);
	for (size_t i = 0; i < c->nye; i++) {
		tg_errs_add(c->errs, "%s", c->ye[i].msg);
		free(c->ye[i].msg);
	}
	free(c->ye);
	c->ye = NULL;
	c->nye = c->capye = 0;
}

char *xstrdup(struct ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		c->oom = 1;
	return d;
}

yaml_node_t *node(struct ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *type_name(yaml_node_type_t t)
{
	switch (t) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a single value";
	}
}

const char *kind(const yaml_node_t *n)
{
	return type_name(n->type);
}

/* A plain empty value, "~" or "null": the key is there with nothing under it. */
bool is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcasecmp(v, "null");
}

/* The text of a scalar, or NULL (and an error) for a mapping or a list. */
const char *scalar(struct ctx *c, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		yerr(c, n, "%s must be a single value, not %s", what, kind(n));
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

/* A scalar with something in it. */
const char *nonempty(struct ctx *c, const yaml_node_t *n, const char *what)
{
	const char *v = scalar(c, n, what);

	if (v && (!*v || is_null(n))) {
		yerr(c, n, "%s is empty", what);
		return NULL;
	}
	return v;
}

bool want(struct ctx *c, const yaml_node_t *n, yaml_node_type_t type, const char *what)
{
	if (n->type == type)
		return true;
	yerr(c, n, "%s must be %s, not %s", what, type_name(type), kind(n));
	return false;
}

/*
 * Sort the pairs of mapping n into vals[] by the index of their key in keys[] (NULL for a
 * key that is absent). Unknown and repeated keys are errors; keyn[] (optional) gets the
 * key nodes, for errors about a value as a whole.
 */
void map_keys(struct ctx *c, const yaml_node_t *n, const char *where, const char *const *keys,
	      size_t nkeys, yaml_node_t **vals, yaml_node_t **keyn)
{
	for (size_t i = 0; i < nkeys; i++) {
		vals[i] = NULL;
		if (keyn)
			keyn[i] = NULL;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		const char *name =
			k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : NULL;
		size_t i;

		if (!name) {
			yerr(c, k, "a key in %s must be a single value, not %s", where, kind(k));
			continue;
		}
		for (i = 0; i < nkeys && strcmp(name, keys[i]); i++)
			;
		if (i == nkeys) {
			char known[256] = "";

			for (size_t j = 0; j < nkeys; j++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known),
					 "%s%s", j ? ", " : "", keys[j]);
			yerr(c, k, "unknown key '%s' in %s (known: %s)", name, where, known);
			continue;
		}
		if (vals[i]) {
			yerr(c, k, "key '%s' repeated in %s", name, where);
			continue;
		}
		vals[i] = v;
		if (keyn)
			keyn[i] = k;
	}
}

int parse_bool(struct ctx *c, const yaml_node_t *n, const char *what, bool *out)
{
	const char *v = scalar(c, n, what);

	if (!v)
		return -EINVAL;
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off")) {
		*out = false;
		return 0;
	}
	yerr(c, n, "%s: '%s' is not true or false", what, v);
	return -EINVAL;
}

/* Is s written as zero ("0", "0mbit", "0.0k")? To say "must be above zero", not "garbage". */
static bool written_as_zero(const char *s)
{
	size_t n = strspn(s, "0.");

	return n && s[0] == '0' && !strpbrk(s + n, "0123456789");
}

void parse_rate(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t *out)
{
	const char *v = nonempty(c, n, what);
	char why[256];

	if (v && !tg_parse_rate_bps(v, out)) {
		/* what a policer holds exactly (config.h); outside it an error, never clamped */
		if (tg_check_rate(v, *out, why, sizeof(why)))
			yerr(c, n, "%s: %s", what, why);
		return;
	}
	if (!v)
		return;
	if (written_as_zero(v))
		yerr(c, n, "%s: a rate must be above zero (leave the direction out for no limit)",
		     what);
	else
		yerr(c, n, "%s: '%s' is not a rate (bit/s, e.g. 100mbit, 2.5g, 64kbit)", what, v);
}

void parse_burst(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t *out)
{
	const char *v = nonempty(c, n, what);

	if (!v)
		return;
	if (tg_parse_size_bytes(v, out)) {
		yerr(c, n, "%s: '%s' is not a size (bytes, e.g. 256k, 1m, 1500)", what, v);
		return;
	}
	if (*out < TG_BURST_MIN_BYTES)
		yerr(c, n,
		     "%s: %s bytes is below one MTU (%u bytes): no full-size frame could pass",
		     what, v, TG_BURST_MIN_BYTES);
}

/* A burst the policer at rate cannot hold (its tolerance would pass TG_GCRA_TOL_MAX_FNS). */
void check_burst(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t rate,
		 uint64_t burst)
{
	char r[32];

	if (!rate || burst <= tg_burst_max_bytes(rate))
		return;
	tg_format_rate(rate, r, sizeof(r));
	yerr(c, n,
	     "%s: %llu bytes at %s is more than a policer holds: at most %llu bytes (208 days "
	     "of the rate; the tolerance is at most 2^62 x 2^-8 ns)",
	     what, (unsigned long long)burst, r, (unsigned long long)tg_burst_max_bytes(rate));
}

void parse_pps(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t *out)
{
	const char *v = nonempty(c, n, what);

	if (v && !tg_parse_pps(v, out)) {
		if (*out > TG_PPS_MAX)
			yerr(c, n,
			     "%s: '%s' is above %llupps, the highest packet rate a limit holds "
			     "exactly",
			     what, v, TG_PPS_MAX);
		return;
	}
	if (!v)
		return;
	if (written_as_zero(v))
		yerr(c, n, "%s: must be above zero (leave it out for no limit)", what);
	else
		yerr(c, n, "%s: '%s' is not a packet rate (e.g. 500pps, 20kpps)", what, v);
}

/* A flood limit: a packet rate ("200pps"), or { rate: 200pps, burst: 400 } (packets). */
enum { FV_RATE, FV_BURST, FV_NR };
static const char *const fv_keys[FV_NR] = {"rate", "burst"};

void parse_flood_value(struct ctx *c, yaml_node_t *n, const char *what, uint64_t *pps,
		       uint64_t *burst)
{
	yaml_node_t *v[FV_NR];
	uint32_t b;

	if (n->type != YAML_MAPPING_NODE) {
		parse_pps(c, n, what, pps);
		return;
	}
	map_keys(c, n, what, fv_keys, FV_NR, v, NULL);
	if (!v[FV_RATE]) {
		yerr(c, n,
		     "%s: a rate is required beside the burst (e.g. { rate: 200pps, burst: "
		     "400 })",
		     what);
		return;
	}
	parse_pps(c, v[FV_RATE], what, pps);
	if (v[FV_BURST] && !parse_count(c, v[FV_BURST], what, 1000000000u, &b)) {
		*burst = b;
		if (*pps && *pps <= TG_PPS_MAX && b > tg_pkt_burst_max(*pps))
			yerr(c, v[FV_BURST],
			     "%s: a burst of %u packets at %llupps is more than a limit holds: at "
			     "most %llu (208 days of the rate)",
			     what, b, (unsigned long long)*pps,
			     (unsigned long long)tg_pkt_burst_max(*pps));
	}
}

/* A positive decimal integer no larger than max. */
int parse_count(struct ctx *c, const yaml_node_t *n, const char *what, uint32_t max, uint32_t *out)
{
	const char *v = nonempty(c, n, what);
	unsigned long long x = 0;

	if (!v)
		return -EINVAL;
	if (strspn(v, "0123456789") != strlen(v) || strlen(v) > 10) {
		yerr(c, n, "%s: '%s' is not a whole number", what, v);
		return -EINVAL;
	}
	x = strtoull(v, NULL, 10);
	if (!x || x > max) {
		yerr(c, n, "%s: %s out of range (1..%u)", what, v, max);
		return -EINVAL;
	}
	*out = (uint32_t)x;
	return 0;
}

/* A relative path names a file next to tollgate.yaml, wherever the daemon was started. */
char *resolve(struct ctx *c, const char *p)
{
	const char *slash = strrchr(c->file, '/');
	char *r;

	if (p[0] == '/' || !slash)
		return xstrdup(c, p);
	if (asprintf(&r, "%.*s/%s", (int)(slash - c->file), c->file, p) < 0) {
		c->oom = 1;
		return NULL;
	}
	return r;
}

void parse_path(struct ctx *c, yaml_node_t *n, const char *what, bool absolute, char **out)
{
	const char *s = nonempty(c, n, what);

	if (!s)
		return;
	if (absolute && s[0] != '/') {
		yerr(c, n, "%s '%s' must be an absolute path", what, s);
		return;
	}
	free(*out);
	*out = resolve(c, s);
}

/* The whole file (a FIFO or device refused at once: *kind says what it is). */
int read_file(const char *path, char **buf, size_t *len, const char **kind)
{
	size_t size, got = 0;
	int fd, err;

	err = tg_open_regular(path, &fd, &size, kind);
	if (err)
		return err;
	if ((uint64_t)size > YAML_FILE_MAX) {
		err = -EFBIG;
		goto out;
	}
	*buf = malloc(size + 1);
	if (!*buf) {
		err = -ENOMEM;
		goto out;
	}
	while (got < size) {
		ssize_t n = read(fd, *buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			free(*buf);
			*buf = NULL;
			goto out;
		}
		if (!n) /* shorter than fstat said: being rewritten; read what is there */
			break;
		got += (size_t)n;
	}
	*len = got;
out:
	close(fd);
	return err;
}

/* libyaml's syntax error, at the mark it gives (a reader error has only a byte offset). */
void yaml_error(struct ctx *c, const yaml_parser_t *ps, const char *buf, size_t len)
{
	size_t line, col;

	if (ps->error == YAML_MEMORY_ERROR) {
		c->oom = 1;
		return;
	}
	if (ps->error == YAML_READER_ERROR) {
		line = col = 0;
		for (size_t i = 0; i < ps->problem_offset && i < len; i++, col++) {
			if (buf[i] == '\n') {
				line++;
				col = (size_t)-1;
			}
		}
		line++;
		col++;
	} else {
		mark_pos(c, &ps->problem_mark, &line, &col);
	}
	add_err(c, line, col, "YAML: %s%s%s", ps->problem ? ps->problem : "syntax error",
		ps->context ? " " : "", ps->context ? ps->context : "");
}
