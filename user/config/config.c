// SPDX-License-Identifier: GPL-2.0-only
/*
 * config.c - tollgate.yaml into struct tg_cfg, with libyaml's document API (the whole file
 * is small; a node tree gives every value its line and column and resolves aliases).
 * Every key is known: an unknown or repeated key is an error, so a typo never silently
 * falls back to a default. Errors are "FILE:LINE:COL: what is wrong" (1-based), all of
 * them are collected, and the customers CSV is read even when the YAML has errors so that
 * one run of check-config shows everything.
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"

#define YAML_FILE_MAX (16u << 20) /* bytes; tollgate.yaml is a few KiB, this is a sanity bound */

void tg_errs_add(struct tg_errs *e, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		char **p = realloc(e->msg, cap * sizeof(*p));

		if (!p)
			return;
		e->msg = p;
		e->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (m)
		e->msg[e->n++] = m;
}

void tg_errs_free(struct tg_errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	e->msg = NULL;
	e->n = e->cap = 0;
}

/* An error waiting to be put in file order (sections are not checked in file order). */
struct yerr_ent {
	size_t line, col, seq;
	char *msg;
};

struct ctx {
	const char *file;
	/*
	 * If the file does not end in a line break, libyaml ends the stream with one of its
	 * own: a mark at that end (character index end_index, column 0) is on a line the file
	 * does not have. Such marks are put at the end of the last line instead, at 1-based
	 * line end_line and column end_col. end_index is SIZE_MAX if the file ends in a break.
	 */
	size_t end_index, end_line, end_col;
	yaml_document_t *doc;
	struct tg_errs *errs;
	struct tg_cfg *cfg;
	struct yerr_ent *ye;
	size_t nye, capye;
	int oom;
};

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

static void add_err(struct ctx *c, size_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_err(struct ctx *c, size_t line, size_t col, const char *fmt, ...)
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
static void find_end(struct ctx *c, const char *buf, size_t len)
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
static void mark_pos(const struct ctx *c, const yaml_mark_t *m, size_t *line, size_t *col)
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
static void yerr(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void yerr(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
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
static void flush_errors(struct ctx *c)
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

static char *xstrdup(struct ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		c->oom = 1;
	return d;
}

static yaml_node_t *node(struct ctx *c, int id)
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

static const char *kind(const yaml_node_t *n)
{
	return type_name(n->type);
}

/* A plain empty value, "~" or "null": the key is there with nothing under it. */
static bool is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcasecmp(v, "null");
}

/* The text of a scalar, or NULL (and an error) for a mapping or a list. */
static const char *scalar(struct ctx *c, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		yerr(c, n, "%s must be a single value, not %s", what, kind(n));
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

/* A scalar with something in it. */
static const char *nonempty(struct ctx *c, const yaml_node_t *n, const char *what)
{
	const char *v = scalar(c, n, what);

	if (v && (!*v || is_null(n))) {
		yerr(c, n, "%s is empty", what);
		return NULL;
	}
	return v;
}

static bool want(struct ctx *c, const yaml_node_t *n, yaml_node_type_t type, const char *what)
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
static void map_keys(struct ctx *c, const yaml_node_t *n, const char *where,
		     const char *const *keys, size_t nkeys, yaml_node_t **vals, yaml_node_t **keyn)
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

static int parse_bool(struct ctx *c, const yaml_node_t *n, const char *what, bool *out)
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

static void parse_rate(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t *out)
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

static void parse_burst(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t *out)
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
static void check_burst(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t rate,
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

static void parse_pps(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t *out)
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

static int parse_count(struct ctx *c, const yaml_node_t *n, const char *what, uint32_t max,
		       uint32_t *out);

/* A flood limit: a packet rate ("200pps"), or { rate: 200pps, burst: 400 } (packets). */
enum { FV_RATE, FV_BURST, FV_NR };
static const char *const fv_keys[FV_NR] = {"rate", "burst"};

static void parse_flood_value(struct ctx *c, yaml_node_t *n, const char *what, uint64_t *pps,
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
static int parse_count(struct ctx *c, const yaml_node_t *n, const char *what, uint32_t max,
		       uint32_t *out)
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

/* ---- interfaces ---- */

enum {
	IF_NAME,
	IF_ROLE,
	IF_MODE,
	IF_ANTISPOOF,
	IF_MONITOR,
	IF_EXC,
	IF_VLAN_PROTO,
	IF_FORCE,
	IF_NR
};
static const char *const if_keys[IF_NR] = {"name",    "role",	    "mode",	     "antispoof",
					   "monitor", "exceptions", "vlan_protocol", "force"};

/* What the kernel accepts as a netdev name (dev_valid_name()). */
static const char *ifname_problem(const char *s)
{
	if (!*s)
		return "is empty";
	if (strlen(s) >= IFNAMSIZ)
		return "is longer than 15 characters (IFNAMSIZ)";
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return "is not a valid interface name";
	for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
		if (*u == '/' || *u == ':' || *u <= ' ' || *u == 0x7f)
			return "is not a valid interface name (no '/', ':' or white space)";
	}
	return NULL;
}

static void parse_iface(struct ctx *c, yaml_node_t *n)
{
	struct tg_cfg *cfg = c->cfg;
	struct tg_iface_cfg ic = {.mode = TG_MODE_NATIVE, .antispoof = TG_AS_STRICT};
	yaml_node_t *v[IF_NR];
	const char *s, *name = NULL;
	const char *bad;

	if (!want(c, n, YAML_MAPPING_NODE, "an entry of interfaces"))
		return;
	ic.line = (int)n->start_mark.line + 1;
	map_keys(c, n, "an interface", if_keys, IF_NR, v, NULL);

	if (!v[IF_NAME]) {
		yerr(c, n, "interface without a name");
	} else if ((s = scalar(c, v[IF_NAME], "interface name"))) {
		if ((bad = ifname_problem(s)))
			yerr(c, v[IF_NAME], "interface name '%s' %s", s, bad);
		else
			name = s;
	}
	if (name) {
		const struct tg_iface_cfg *dup = tg_config_iface(cfg, name);

		if (dup) {
			yerr(c, v[IF_NAME], "interface '%s' is listed twice (first on line %d)",
			     name, dup->line);
			name = NULL;
		}
	}

	if (!v[IF_ROLE]) {
		yerr(c, n, "interface%s%s%s: role is required (customer or upstream)",
		     name ? " '" : "", name ? name : "", name ? "'" : "");
	} else if ((s = scalar(c, v[IF_ROLE], "role"))) {
		if (!strcmp(s, "customer"))
			ic.role = TG_ROLE_CUSTOMER;
		else if (!strcmp(s, "upstream"))
			ic.role = TG_ROLE_UPSTREAM;
		else
			yerr(c, v[IF_ROLE], "role '%s': want customer or upstream", s);
	}
	if (v[IF_MODE] && (s = scalar(c, v[IF_MODE], "mode"))) {
		if (!strcmp(s, "native"))
			ic.mode = TG_MODE_NATIVE;
		else if (!strcmp(s, "generic"))
			ic.mode = TG_MODE_GENERIC;
		else
			yerr(c, v[IF_MODE], "mode '%s': want native or generic", s);
	}
	if (v[IF_ANTISPOOF] && (s = scalar(c, v[IF_ANTISPOOF], "antispoof"))) {
		if (!strcmp(s, "strict"))
			ic.antispoof = TG_AS_STRICT;
		else if (!strcmp(s, "loose"))
			ic.antispoof = TG_AS_LOOSE;
		else if (!strcmp(s, "off"))
			ic.antispoof = TG_AS_OFF;
		else
			yerr(c, v[IF_ANTISPOOF], "antispoof '%s': want strict, loose or off", s);
		if (ic.role == TG_ROLE_UPSTREAM)
			yerr(c, v[IF_ANTISPOOF], "antispoof applies to the customer role only");
	}
	if (ic.role == TG_ROLE_UPSTREAM)
		ic.antispoof = TG_AS_OFF;
	if (v[IF_MONITOR])
		parse_bool(c, v[IF_MONITOR], "monitor", &ic.monitor);
	if (ic.role == TG_ROLE_CUSTOMER)
		ic.exc_pps = TG_EXC_PPS_DEFAULT;
	if (v[IF_EXC]) {
		s = v[IF_EXC]->type == YAML_SCALAR_NODE ? (const char *)v[IF_EXC]->data.scalar.value
							: NULL;
		if (ic.role != TG_ROLE_CUSTOMER)
			yerr(c, v[IF_EXC], "exceptions applies to the customer role only");
		else if (s && !strcmp(s, "off"))
			ic.exc_pps = 0;
		else {
			char what[IFNAMSIZ + 32];

			snprintf(what, sizeof(what), "interface '%s': exceptions",
				 name ? name : "?");
			parse_flood_value(c, v[IF_EXC], what, &ic.exc_pps, &ic.exc_burst);
		}
	}
	if (v[IF_VLAN_PROTO] && (s = scalar(c, v[IF_VLAN_PROTO], "vlan_protocol"))) {
		if (!strcmp(s, "802.1q"))
			ic.vlan_proto = TG_IFF_VLAN_Q;
		else if (!strcmp(s, "802.1ad"))
			ic.vlan_proto = TG_IFF_VLAN_AD;
		else if (strcmp(s, "any"))
			yerr(c, v[IF_VLAN_PROTO], "vlan_protocol '%s': want 802.1q, 802.1ad or any",
			     s);
		if (ic.role == TG_ROLE_UPSTREAM)
			yerr(c, v[IF_VLAN_PROTO],
			     "vlan_protocol applies to the customer role only");
	}
	if (v[IF_FORCE])
		parse_bool(c, v[IF_FORCE], "force", &ic.force);

	if (!name)
		return;
	snprintf(ic.name, sizeof(ic.name), "%s", name);
	cfg->ifaces[cfg->nifaces++] = ic;
}

static void parse_ifaces(struct ctx *c, yaml_node_t *n)
{
	size_t cnt;

	if (is_null(n) || !want(c, n, YAML_SEQUENCE_NODE, "interfaces"))
		return;
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt > TG_MAX_IFACES) {
		yerr(c, n, "%zu interfaces: at most %u can be attached", cnt, TG_MAX_IFACES);
		return;
	}
	c->cfg->ifaces = calloc(cnt ? cnt : 1, sizeof(*c->cfg->ifaces));
	if (!c->cfg->ifaces) {
		c->oom = 1;
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++)
		parse_iface(c, node(c, *it));
}

/* ---- plans ---- */

enum { RT_RATE, RT_BURST, RT_PEAK_RATE, RT_PEAK_BURST, RT_NR };
static const char *const rt_keys[RT_NR] = {"rate", "burst", "peak_rate", "peak_burst"};
enum { PL_UPLOAD, PL_DOWNLOAD, PL_FLOOD, PL_SMTP, PL_YELLOW, PL_NR };
static const char *const pl_keys[PL_NR] = {"upload", "download", "flood", "smtp", "yellow_dscp"};
enum { FL_SYN, FL_UDP, FL_ICMP, FL_FRAG, FL_REFL, FL_SRC, FL_BLOCK, FL_NR };
static const char *const fl_keys[FL_NR] = {"syn",	 "udp",	       "icmp",	    "frag",
					   "reflection", "per_source", "block_time"};

static void parse_direction(struct ctx *c, yaml_node_t *n, const char *plan, const char *dir,
			    struct tg_rate_cfg *r)
{
	yaml_node_t *v[RT_NR];
	char what[TG_NAME_MAX + 64];

	snprintf(what, sizeof(what), "plan '%s': %s", plan, dir);
	if (!want(c, n, YAML_MAPPING_NODE, what))
		return;
	map_keys(c, n, what, rt_keys, RT_NR, v, NULL);

	if (!v[RT_RATE] || !v[RT_BURST]) {
		yerr(c, n,
		     "%s: rate and burst are both required (e.g. { rate: 100mbit, burst: 1m })",
		     what);
	}
	snprintf(what, sizeof(what), "plan '%s': %s.rate", plan, dir);
	if (v[RT_RATE])
		parse_rate(c, v[RT_RATE], what, &r->rate_bps);
	snprintf(what, sizeof(what), "plan '%s': %s.burst", plan, dir);
	if (v[RT_BURST]) {
		parse_burst(c, v[RT_BURST], what, &r->burst_bytes);
		check_burst(c, v[RT_BURST], what, r->rate_bps, r->burst_bytes);
	}

	if (!v[RT_PEAK_RATE] != !v[RT_PEAK_BURST]) {
		yerr(c, v[RT_PEAK_RATE] ? v[RT_PEAK_RATE] : v[RT_PEAK_BURST],
		     "plan '%s': %s: peak_rate and peak_burst go together (two-rate policer)", plan,
		     dir);
	}
	snprintf(what, sizeof(what), "plan '%s': %s.peak_rate", plan, dir);
	if (v[RT_PEAK_RATE]) {
		parse_rate(c, v[RT_PEAK_RATE], what, &r->peak_rate_bps);
		if (r->peak_rate_bps && r->peak_rate_bps < r->rate_bps)
			yerr(c, v[RT_PEAK_RATE], "%s: below rate (RFC 2698: peak rate >= rate)",
			     what);
	}
	snprintf(what, sizeof(what), "plan '%s': %s.peak_burst", plan, dir);
	if (v[RT_PEAK_BURST]) {
		parse_burst(c, v[RT_PEAK_BURST], what, &r->peak_burst_bytes);
		check_burst(c, v[RT_PEAK_BURST], what, r->peak_rate_bps, r->peak_burst_bytes);
	}
}

static void parse_smtp(struct ctx *c, yaml_node_t *n, struct tg_plan *p)
{
	const char *s = scalar(c, n, "smtp");
	unsigned long x;
	char *end;

	if (!s)
		return;
	if (!strcmp(s, "allow")) {
		p->smtp = TG_SMTP_ALLOW;
		return;
	}
	if (!strcmp(s, "block")) {
		p->smtp = TG_SMTP_BLOCK;
		return;
	}
	errno = 0;
	x = *s >= '0' && *s <= '9' ? strtoul(s, &end, 10) : 0;
	if (x > TG_PPS_MAX && !errno && !strcmp(end, "/s")) {
		yerr(c, n, "plan '%s': smtp '%s': above %llu/s, the highest rate a limit holds",
		     p->name, s, TG_PPS_MAX);
		return;
	}
	if (!x || errno || strcmp(end, "/s") || x > UINT32_MAX) {
		yerr(c, n, "plan '%s': smtp '%s': want allow, block, or connections/s as 10/s",
		     p->name, s);
		return;
	}
	p->smtp = TG_SMTP_LIMIT;
	p->smtp_limit = (uint32_t)x;
}

/* DSCP names: the class selectors, assured forwarding (RFC 2597), EF, VOICE-ADMIT, LE. */
static const struct {
	const char *name;
	uint8_t dscp;
} dscp_names[] = {
	{"cs0", 0},   {"cs1", 8},   {"cs2", 16},  {"cs3", 24},	{"cs4", 32},  {"cs5", 40},
	{"cs6", 48},  {"cs7", 56},  {"af11", 10}, {"af12", 12}, {"af13", 14}, {"af21", 18},
	{"af22", 20}, {"af23", 22}, {"af31", 26}, {"af32", 28}, {"af33", 30}, {"af41", 34},
	{"af42", 36}, {"af43", 38}, {"ef", 46},	  {"va", 44},	{"le", 1},    {"be", 0},
};

/*
 * yellow_dscp: what a packet over the rate but within the peak is marked with, a DSCP name
 * or 0..63; only in a plan with a peak_rate (else nothing is ever yellow).
 */
static void parse_yellow_dscp(struct ctx *c, yaml_node_t *n, struct tg_plan *p)
{
	const char *s = nonempty(c, n, "yellow_dscp");
	unsigned long x;
	char *end;

	if (!s)
		return;
	if (!p->dir[TG_DIR_UP].peak_rate_bps && !p->dir[TG_DIR_DOWN].peak_rate_bps) {
		yerr(c, n,
		     "plan '%s': yellow_dscp without a peak_rate: nothing is yellow (add "
		     "peak_rate and peak_burst to upload or download)",
		     p->name);
		return;
	}
	for (size_t i = 0; i < sizeof(dscp_names) / sizeof(dscp_names[0]); i++) {
		if (!strcasecmp(s, dscp_names[i].name)) {
			p->yellow_dscp = dscp_names[i].dscp;
			return;
		}
	}
	errno = 0;
	end = NULL;
	x = *s >= '0' && *s <= '9' ? strtoul(s, &end, 10) : 64;
	if (errno || x > 63 || !end || *end) {
		yerr(c, n,
		     "plan '%s': yellow_dscp '%s': want a DSCP from 0 to 63 or a name (af13, cs1, "
		     "le, ...)",
		     p->name, s);
		return;
	}
	p->yellow_dscp = (uint8_t)x;
}

/* flood.block_time: a duration, only beside per_source; 60 s if per_source alone. */
static void parse_block_time(struct ctx *c, yaml_node_t *n, yaml_node_t *src, const char *plan,
			     struct tg_flood_cfg *f)
{
	const char *s;
	uint64_t ns;

	if (src && f->src_pps)
		f->block_ns = TG_BLOCK_TIME_DEFAULT_NS;
	if (!n)
		return;
	if (!src) {
		yerr(c, n, "plan '%s': flood.block_time without flood.per_source: nothing to block",
		     plan);
		return;
	}
	s = nonempty(c, n, "flood.block_time");
	if (!s)
		return;
	if (tg_parse_duration_ns(s, &ns) || !ns || ns > TG_BLOCK_TIME_MAX_NS) {
		yerr(c, n,
		     "plan '%s': flood.block_time '%s': want a duration from 1s to 1d (e.g. 60s, "
		     "10m)",
		     plan, s);
		return;
	}
	f->block_ns = ns;
}

static void parse_plan(struct ctx *c, yaml_node_t *k, yaml_node_t *n)
{
	struct tg_plan *p = &c->cfg->plans[c->cfg->nplans];
	const char *name = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : NULL;
	yaml_node_t *v[PL_NR], *f[FL_NR];
	uint64_t *pps[FL_BLOCK] = {&p->flood.syn_pps,  &p->flood.udp_pps,  &p->flood.icmp_pps,
				   &p->flood.frag_pps, &p->flood.refl_pps, &p->flood.src_pps};
	char what[TG_NAME_MAX + 32];

	if (!name) {
		yerr(c, k, "a plan name must be a single value, not %s", kind(k));
		return;
	}
	if (!*name || strlen(name) >= TG_NAME_MAX) {
		yerr(c, k, "plan name '%s' must be 1 to %d characters", name, TG_NAME_MAX - 1);
		return;
	}
	for (size_t i = 0; i < c->cfg->nplans; i++) {
		if (!strcmp(c->cfg->plans[i].name, name)) {
			yerr(c, k, "plan '%s' is defined twice (first on line %d)", name,
			     c->cfg->plans[i].line);
			return;
		}
	}
	/* kept even if a value below is wrong, so customers of this plan are not errors too */
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->line = (int)k->start_mark.line + 1;
	c->cfg->nplans++;

	if (is_null(n))
		return; /* a plan without limits */
	snprintf(what, sizeof(what), "plan '%s'", name);
	if (!want(c, n, YAML_MAPPING_NODE, what))
		return;
	map_keys(c, n, what, pl_keys, PL_NR, v, NULL);
	if (v[PL_UPLOAD])
		parse_direction(c, v[PL_UPLOAD], name, "upload", &p->dir[TG_DIR_UP]);
	if (v[PL_DOWNLOAD])
		parse_direction(c, v[PL_DOWNLOAD], name, "download", &p->dir[TG_DIR_DOWN]);
	if (v[PL_FLOOD]) {
		snprintf(what, sizeof(what), "plan '%s': flood", name);
		if (want(c, v[PL_FLOOD], YAML_MAPPING_NODE, what)) {
			map_keys(c, v[PL_FLOOD], what, fl_keys, FL_NR, f, NULL);
			for (int i = 0; i < FL_BLOCK; i++) {
				snprintf(what, sizeof(what), "plan '%s': flood.%s", name,
					 fl_keys[i]);
				if (f[i])
					parse_flood_value(c, f[i], what, pps[i],
							  &p->flood.burst[i]);
			}
			parse_block_time(c, f[FL_BLOCK], f[FL_SRC], name, &p->flood);
		}
	}
	if (v[PL_SMTP])
		parse_smtp(c, v[PL_SMTP], p);
	if (p->dir[TG_DIR_UP].peak_rate_bps || p->dir[TG_DIR_DOWN].peak_rate_bps)
		p->yellow_dscp = TG_YELLOW_DSCP_DEFAULT;
	if (v[PL_YELLOW])
		parse_yellow_dscp(c, v[PL_YELLOW], p);
}

static void parse_plans(struct ctx *c, yaml_node_t *n)
{
	size_t cnt;

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "plans"))
		return;
	cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (cnt > UINT16_MAX) {
		yerr(c, n, "%zu plans: at most %u", cnt, UINT16_MAX);
		return;
	}
	c->cfg->plans = calloc(cnt ? cnt : 1, sizeof(*c->cfg->plans));
	if (!c->cfg->plans) {
		c->oom = 1;
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
		parse_plan(c, node(c, p->key), node(c, p->value));
}

/* ---- the rest ---- */

/* A list of prefixes under key (walled_garden, per_source_exempt) into *out, *nout. */
static void parse_prefixes(struct ctx *c, yaml_node_t *n, const char *key, struct tg_prefix **out,
			   size_t *nout)
{
	char what[64];
	size_t cnt;

	if (is_null(n) || !want(c, n, YAML_SEQUENCE_NODE, key))
		return;
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	*out = calloc(cnt ? cnt : 1, sizeof(**out));
	if (!*out) {
		c->oom = 1;
		return;
	}
	snprintf(what, sizeof(what), "a %s entry", key);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = node(c, *it);
		const char *s = nonempty(c, e, what);
		struct tg_prefix p;
		char err[256];
		size_t i;

		if (!s)
			continue;
		if (tg_parse_prefix(s, &p, err, sizeof(err))) {
			yerr(c, e, "%s: %s", key, err);
			continue;
		}
		for (i = 0; i < *nout && memcmp(&(*out)[i], &p, sizeof(p)); i++)
			;
		if (i < *nout) {
			yerr(c, e, "%s: '%s' is listed twice", key, s);
			continue;
		}
		if (*nout == TG_WALLED_MAX) {
			yerr(c, e, "%s: more than %u prefixes", key, TG_WALLED_MAX);
			break;
		}
		(*out)[(*nout)++] = p;
	}
}

/* walled_garden and per_source_exempt share one trie of TG_WALLED_MAX prefixes. */
static void check_prefix_lists(struct ctx *c, yaml_node_t *exempt)
{
	struct tg_cfg *cfg = c->cfg;
	size_t total = cfg->nwalled, i, j;

	for (i = 0; i < cfg->nsrc_exempt; i++) {
		for (j = 0; j < cfg->nwalled; j++)
			if (!memcmp(&cfg->src_exempt[i], &cfg->walled_garden[j],
				    sizeof(cfg->src_exempt[i])))
				break;
		total += j == cfg->nwalled;
	}
	if (total > TG_WALLED_MAX)
		yerr(c, exempt,
		     "per_source_exempt: with walled_garden, %zu prefixes; the two lists hold at "
		     "most %u together: merge prefixes",
		     total, TG_WALLED_MAX);
}

enum { CAP_CUSTOMERS, CAP_PREFIXES, CAP_NR };
static const char *const cap_keys[CAP_NR] = {"max_customers", "max_prefixes"};

static void parse_capacity(struct ctx *c, yaml_node_t *n)
{
	yaml_node_t *v[CAP_NR];

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "capacity"))
		return;
	map_keys(c, n, "capacity", cap_keys, CAP_NR, v, NULL);
	if (v[CAP_CUSTOMERS])
		parse_count(c, v[CAP_CUSTOMERS], "capacity.max_customers", TG_CAP_CUSTOMERS_MAX,
			    &c->cfg->max_customers);
	c->cfg->max_prefixes = 2 * c->cfg->max_customers;
	if (v[CAP_PREFIXES])
		parse_count(c, v[CAP_PREFIXES], "capacity.max_prefixes", TG_CAP_PREFIXES_MAX,
			    &c->cfg->max_prefixes);
}

/* ADDRESS:PORT with a literal address: "127.0.0.1:9477", "[::1]:9477", "0.0.0.0:9477". */
static bool valid_listen(const char *s)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	unsigned char a[16];
	size_t hl;
	unsigned long port;
	char *end;

	if (!colon || colon == s)
		return false;
	hl = (size_t)(colon - s);
	if (hl >= sizeof(host))
		return false;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return false;
	port = strtoul(colon + 1, &end, 10);
	if (!port || port > 65535)
		return false;
	if (host[0] == '[') {
		if (hl < 3 || host[hl - 1] != ']')
			return false;
		host[hl - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, a) == 1;
	}
	return inet_pton(AF_INET, host, a) == 1;
}

static bool valid_per_customer(const char *s)
{
	const char *d;

	if (!strcmp(s, "all") || !strcmp(s, "off"))
		return true;
	if (strncmp(s, "top ", 4))
		return false;
	d = s + 4;
	return *d && *d != '0' && strlen(d) <= 9 && strspn(d, "0123456789") == strlen(d);
}

enum { MT_LISTEN, MT_PER_CUSTOMER, MT_HOSTS, MT_TOKEN_FILE, MT_NR };
static const char *const mt_keys[MT_NR] = {"listen", "per_customer", "hosts", "token_file"};

static char *resolve(struct ctx *c, const char *p);

/*
 * metrics.hosts: the names (or addresses) HTTP clients reach the exporter by, beyond its
 * listen address; any other Host header is refused (DNS rebinding). metrics.token_file:
 * a file holding a bearer token that /metrics and /api/v1/ then require.
 */
static void parse_metrics_access(struct ctx *c, yaml_node_t *hosts, yaml_node_t *token)
{
	const char *s;

	if (hosts && !is_null(hosts) && want(c, hosts, YAML_SEQUENCE_NODE, "metrics.hosts")) {
		size_t cnt =
			(size_t)(hosts->data.sequence.items.top - hosts->data.sequence.items.start);

		c->cfg->metrics_hosts = calloc(cnt ? cnt : 1, sizeof(char *));
		if (!c->cfg->metrics_hosts) {
			c->oom = 1;
			return;
		}
		for (yaml_node_item_t *it = hosts->data.sequence.items.start;
		     it < hosts->data.sequence.items.top; it++) {
			yaml_node_t *h = node(c, *it);

			s = h ? nonempty(c, h, "a metrics.hosts entry") : NULL;
			if (!s)
				continue;
			if (strlen(s) > 253 || (strchr(s, ':') && s[0] != '[') ||
			    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567"
				      "89.-:[]") != strlen(s)) {
				yerr(c, h,
				     "metrics.hosts '%s': want a host name or address (letters, "
				     "digits, '.', '-', ':', '[', ']'), without a port",
				     s);
				continue;
			}
			c->cfg->metrics_hosts[c->cfg->nmetrics_hosts++] = xstrdup(c, s);
		}
	}
	if (token && (s = nonempty(c, token, "metrics.token_file"))) {
		free(c->cfg->metrics_token_file);
		c->cfg->metrics_token_file = resolve(c, s);
	}
}

static void parse_metrics(struct ctx *c, yaml_node_t *n)
{
	yaml_node_t *v[MT_NR];
	const char *s;

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "metrics"))
		return;
	map_keys(c, n, "metrics", mt_keys, MT_NR, v, NULL);
	if (v[MT_LISTEN] && (s = nonempty(c, v[MT_LISTEN], "metrics.listen"))) {
		if (!valid_listen(s)) {
			yerr(c, v[MT_LISTEN],
			     "metrics.listen '%s': want ADDRESS:PORT (127.0.0.1:9477, [::1]:9477)",
			     s);
		} else {
			free(c->cfg->metrics_listen);
			c->cfg->metrics_listen = xstrdup(c, s);
		}
	}
	if (v[MT_PER_CUSTOMER] && (s = nonempty(c, v[MT_PER_CUSTOMER], "metrics.per_customer"))) {
		if (!valid_per_customer(s)) {
			yerr(c, v[MT_PER_CUSTOMER],
			     "metrics.per_customer '%s': want all, off, or top N (N >= 1)", s);
		} else {
			free(c->cfg->metrics_per_customer);
			c->cfg->metrics_per_customer = xstrdup(c, s);
		}
	}
	parse_metrics_access(c, v[MT_HOSTS], v[MT_TOKEN_FILE]);
}

/* A relative path names a file next to tollgate.yaml, wherever the daemon was started. */
static char *resolve(struct ctx *c, const char *p)
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

static void parse_path(struct ctx *c, yaml_node_t *n, const char *what, bool absolute, char **out)
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

/* ---- enforcement ---- */

/* A duration ("30s", "1h30m") in ns; -EINVAL after an error. zero_ok: "0s" is allowed. */
static int parse_dur(struct ctx *c, const yaml_node_t *n, const char *what, bool zero_ok,
		     uint64_t *out)
{
	const char *v = nonempty(c, n, what);

	if (!v)
		return -EINVAL;
	if (tg_parse_duration_ns(v, out)) {
		yerr(c, n, "%s: '%s' is not a duration (e.g. 30s, 10m, 1h, 7d)", what, v);
		return -EINVAL;
	}
	if (!zero_ok && !*out) {
		yerr(c, n, "%s: must be above zero", what);
		return -EINVAL;
	}
	return 0;
}

/*
 * An error in `when` at the token it is about: the scalar's column plus the offset, when
 * the scalar is on one line and written as itself (plain, or quoted without escapes).
 */
static void when_err(struct ctx *c, const yaml_node_t *n, size_t off, const char *name,
		     const char *msg)
{
	size_t line, col;
	const char *v = (const char *)n->data.scalar.value;
	int style = n->data.scalar.style;

	mark_pos(c, &n->start_mark, &line, &col);
	if (n->start_mark.line == n->end_mark.line &&
	    (style == YAML_PLAIN_SCALAR_STYLE ||
	     (style == YAML_SINGLE_QUOTED_SCALAR_STYLE && !strchr(v, '\'')) ||
	     (style == YAML_DOUBLE_QUOTED_SCALAR_STYLE && !strpbrk(v, "\\\""))))
		col += off + (style != YAML_PLAIN_SCALAR_STYLE);
	add_err(c, line, col, "rule '%s': when: %s", name, msg);
}

/* Letters, digits, '-', '_', '.': a name the CLI and the audit log show as it is. */
static bool valid_rule_name(const char *s)
{
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
	       strlen(s);
}

enum { ES_COUNT, ES_WITHIN, ES_NR };
static const char *const es_keys[ES_NR] = {"count", "within"};

static void parse_escalate(struct ctx *c, yaml_node_t *n, struct tg_rule *r)
{
	yaml_node_t *v[ES_NR];
	const char *s;
	uint64_t within;

	if (!want(c, n, YAML_MAPPING_NODE, "escalate"))
		return;
	map_keys(c, n, "escalate", es_keys, ES_NR, v, NULL);
	if (!v[ES_COUNT] || !v[ES_WITHIN])
		yerr(c, n,
		     "rule '%s': escalate needs count and within (e.g. { count: 3, within: 7d })",
		     r->name);
	if (v[ES_COUNT] && (s = nonempty(c, v[ES_COUNT], "escalate.count"))) {
		unsigned long x = strtoul(s, NULL, 10);

		if (strspn(s, "0123456789") != strlen(s) || strlen(s) > 3 || x < 2 ||
		    x > TG_ESCALATE_COUNT_MAX)
			yerr(c, v[ES_COUNT],
			     "escalate.count: '%s': want a whole number from 2 to %u (the firing "
			     "that takes the next action)",
			     s, TG_ESCALATE_COUNT_MAX);
		else
			r->escalate_count = (uint32_t)x;
	}
	if (v[ES_WITHIN] && !parse_dur(c, v[ES_WITHIN], "escalate.within", false, &within))
		r->escalate_within_ns = within;
	if (!r->escalate_count || !r->escalate_within_ns) {
		r->escalate_count = 0;
		r->escalate_within_ns = 0;
	}
}

enum {
	RU_NAME,
	RU_WHEN,
	RU_ACTION,
	RU_DURATION,
	RU_REASON,
	RU_ESCALATE,
	RU_THROTTLE_RATE,
	RU_CLEAR_AFTER,
	RU_MONITOR,
	RU_NR
};
static const char *const ru_keys[RU_NR] = {"name",	    "when",	   "action",
					   "duration",	    "reason",	   "escalate",
					   "throttle_rate", "clear_after", "monitor"};

static void parse_rule(struct ctx *c, yaml_node_t *n)
{
	struct tg_enforce_cfg *ec = &c->cfg->enforcement;
	struct tg_rule r = {.action = -1};
	yaml_node_t *v[RU_NR];
	const char *s, *rn = "?";

	if (!want(c, n, YAML_MAPPING_NODE, "an entry of enforcement.rules"))
		return;
	r.line = (int)n->start_mark.line + 1;
	map_keys(c, n, "a rule", ru_keys, RU_NR, v, NULL);

	if (!v[RU_NAME]) {
		yerr(c, n, "rule without a name");
	} else if ((s = nonempty(c, v[RU_NAME], "rule name"))) {
		rn = s; /* the rule's other errors name it even if the name is wrong */
		if (strlen(s) >= TG_RULE_NAME_MAX)
			yerr(c, v[RU_NAME], "rule name '%s' is longer than %u characters", s,
			     TG_RULE_NAME_MAX - 1);
		else if (!valid_rule_name(s))
			yerr(c, v[RU_NAME],
			     "rule name '%s': use letters, digits, '-', '_' and '.' only", s);
		else
			snprintf(r.name, sizeof(r.name), "%s", s);
	}
	for (size_t i = 0; r.name[0] && i < ec->nrules; i++) {
		if (!strcmp(ec->rules[i].name, r.name)) {
			yerr(c, v[RU_NAME], "rule '%s' is defined twice (first on line %d)", r.name,
			     ec->rules[i].line);
			r.name[0] = '\0';
			break;
		}
	}
	if (!v[RU_WHEN]) {
		yerr(c, n, "rule '%s': 'when' is required (e.g. when: \"spoof_pps > 50 for 30s\")",
		     rn);
	} else if ((s = nonempty(c, v[RU_WHEN], "when"))) {
		char msg[400];
		size_t off = 0;

		if (strlen(s) >= TG_RULE_TEXT_MAX)
			yerr(c, v[RU_WHEN], "rule '%s': when is longer than %u characters", rn,
			     TG_RULE_TEXT_MAX - 1);
		else if (tg_cond_parse(s, &r.cond, msg, sizeof(msg), &off))
			when_err(c, v[RU_WHEN], off, rn, msg);
		else
			snprintf(r.when, sizeof(r.when), "%s", s);
	}
	if (!v[RU_ACTION]) {
		yerr(c, n, "rule '%s': 'action' is required (notify, throttle or suspend)", rn);
	} else if ((s = scalar(c, v[RU_ACTION], "action"))) {
		if (!strcmp(s, "notify"))
			r.action = TG_ACT_NOTIFY;
		else if (!strcmp(s, "throttle"))
			r.action = TG_ACT_THROTTLE;
		else if (!strcmp(s, "suspend"))
			r.action = TG_ACT_SUSPEND;
		else
			yerr(c, v[RU_ACTION],
			     "rule '%s': unknown action '%s' (want notify, throttle or suspend)",
			     rn, s);
	}
	if (v[RU_DURATION])
		parse_dur(c, v[RU_DURATION], "duration", false, &r.duration_ns);
	if (v[RU_CLEAR_AFTER] &&
	    !parse_dur(c, v[RU_CLEAR_AFTER], "clear_after", true, &r.clear_after_ns))
		r.has_clear_after = true;
	if (v[RU_REASON] && (s = nonempty(c, v[RU_REASON], "reason"))) {
		if (strlen(s) >= TG_RULE_TEXT_MAX)
			yerr(c, v[RU_REASON], "rule '%s': reason is longer than %u characters", rn,
			     TG_RULE_TEXT_MAX - 1);
		else
			snprintf(r.reason, sizeof(r.reason), "%s", s);
	}
	if (!r.reason[0])
		snprintf(r.reason, sizeof(r.reason), "%s", r.when);
	if (v[RU_THROTTLE_RATE])
		parse_rate(c, v[RU_THROTTLE_RATE], "throttle_rate", &r.throttle_bps);
	if (v[RU_MONITOR])
		parse_bool(c, v[RU_MONITOR], "monitor", &r.monitor);
	if (v[RU_ESCALATE]) {
		parse_escalate(c, v[RU_ESCALATE], &r);
		if (r.action == TG_ACT_SUSPEND)
			yerr(c, v[RU_ESCALATE],
			     "rule '%s': escalate on a suspend rule: there is no action above "
			     "suspend",
			     rn);
	}
	/* a throttle_rate that did not parse has been reported already */
	if (!r.throttle_bps && !v[RU_THROTTLE_RATE]) {
		if (r.action == TG_ACT_THROTTLE)
			yerr(c, n, "rule '%s': action throttle needs throttle_rate (e.g. 10mbit)",
			     rn);
		else if (r.action == TG_ACT_NOTIFY && r.escalate_count)
			yerr(c, n,
			     "rule '%s': escalation reaches throttle: throttle_rate is required "
			     "(e.g. 10mbit)",
			     rn);
	}
	if (ec->nrules < TG_RULES_MAX && r.name[0])
		ec->rules[ec->nrules++] = r;
}

enum { EN_INTERVAL, EN_MONITOR, EN_RETENTION, EN_RULES, EN_NR };
static const char *const en_keys[EN_NR] = {"interval", "monitor", "retention", "rules"};

static void parse_enforcement(struct ctx *c, yaml_node_t *n)
{
	struct tg_enforce_cfg *ec = &c->cfg->enforcement;
	yaml_node_t *v[EN_NR];
	uint64_t ns;
	size_t cnt;

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "enforcement"))
		return;
	map_keys(c, n, "enforcement", en_keys, EN_NR, v, NULL);
	if (v[EN_INTERVAL] && !parse_dur(c, v[EN_INTERVAL], "enforcement.interval", true, &ns)) {
		if (ns < TG_INTERVAL_MIN_NS || ns > TG_INTERVAL_MAX_NS)
			yerr(c, v[EN_INTERVAL],
			     "enforcement.interval: %s is out of range (100ms..60s)",
			     (const char *)v[EN_INTERVAL]->data.scalar.value);
		else
			ec->interval_ns = ns;
	}
	if (v[EN_RETENTION] && !parse_dur(c, v[EN_RETENTION], "enforcement.retention", true, &ns)) {
		if (ns < TG_RETENTION_MIN_NS)
			yerr(c, v[EN_RETENTION],
			     "enforcement.retention: %s is below the minimum of 1h",
			     (const char *)v[EN_RETENTION]->data.scalar.value);
		else
			ec->retention_ns = ns;
	}
	if (v[EN_MONITOR])
		parse_bool(c, v[EN_MONITOR], "enforcement.monitor", &ec->monitor);
	if (!v[EN_RULES] || is_null(v[EN_RULES]) ||
	    !want(c, v[EN_RULES], YAML_SEQUENCE_NODE, "enforcement.rules"))
		return;
	cnt = (size_t)(v[EN_RULES]->data.sequence.items.top -
		       v[EN_RULES]->data.sequence.items.start);
	if (cnt > TG_RULES_MAX)
		yerr(c, v[EN_RULES], "enforcement.rules: %zu rules, at most %u", cnt, TG_RULES_MAX);
	ec->rules = calloc(TG_RULES_MAX, sizeof(*ec->rules));
	if (!ec->rules) {
		c->oom = 1;
		return;
	}
	for (yaml_node_item_t *it = v[EN_RULES]->data.sequence.items.start;
	     it < v[EN_RULES]->data.sequence.items.top; it++) {
		yaml_node_t *e = node(c, *it);

		if (e)
			parse_rule(c, e);
	}
}

/* ---- notify ---- */

/*
 * A webhook URL: http:// or https://, a host (name, IPv4 or [IPv6]), an optional port
 * 1..65535, then an optional path and query. Checked by hand rather than with libcurl's
 * URL API so that config.c stays free of libcurl (the fuzz targets link it with libyaml
 * only). NULL if it is good, else what is wrong.
 */
static const char *webhook_problem(const char *s)
{
	const char *p, *host, *end;
	size_t hl;

	if (!strncasecmp(s, "http://", 7))
		p = s + 7;
	else if (!strncasecmp(s, "https://", 8))
		p = s + 8;
	else
		return "want an http:// or https:// URL (e.g. http://127.0.0.1:9000/hook)";
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)))
		return "user:password@ in the URL is not supported (it would show in logs)";
	host = p;
	if (*p == '[') {
		char a6[INET6_ADDRSTRLEN];
		unsigned char bin[16];
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (!rb || (size_t)(rb - p - 1) >= sizeof(a6))
			return "an IPv6 address must be in brackets, e.g. http://[::1]:9000/hook";
		memcpy(a6, p + 1, (size_t)(rb - p - 1));
		a6[rb - p - 1] = '\0';
		if (inet_pton(AF_INET6, a6, bin) != 1)
			return "the IPv6 address in brackets is not valid";
		p = rb + 1;
	} else {
		while (p < end &&
		       (isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == '_'))
			p++;
		hl = (size_t)(p - host);
		if (!hl)
			return "no host name";
		if (hl > 253 || *host == '-' || *host == '.')
			return "the host is not a valid name or address";
	}
	if (p < end && *p == ':') {
		unsigned long port = 0;

		p++;
		if (p == end || (size_t)(end - p) > 5)
			return "the port must be a number from 1 to 65535";
		for (; p < end; p++) {
			if (!isdigit((unsigned char)*p))
				return "the port must be a number from 1 to 65535";
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (!port || port > 65535)
			return "the port must be a number from 1 to 65535";
	}
	if (p != end)
		return "the host is not a valid name or address";
	for (; *p; p++) {
		unsigned char u = (unsigned char)*p;

		if (u == '#')
			return "a #fragment is never sent: leave it out";
		if (u <= ' ' || u >= 0x7f)
			return "spaces, control and non-ASCII characters must be percent-encoded";
	}
	return NULL;
}

/* A duration in [lo_ms, hi_ms], in whole milliseconds. */
static void parse_ms(struct ctx *c, const yaml_node_t *n, const char *what, uint32_t lo_ms,
		     uint32_t hi_ms, const char *range, uint32_t *out)
{
	const char *s = nonempty(c, n, what);
	uint64_t ns;

	if (!s)
		return;
	if (tg_parse_duration_ns(s, &ns)) {
		yerr(c, n, "%s '%s': not a duration (e.g. 500ms, 5s, 5m)", what, s);
		return;
	}
	if (ns < (uint64_t)lo_ms * 1000000u || ns > (uint64_t)hi_ms * 1000000u) {
		yerr(c, n, "%s '%s': out of range (%s)", what, s, range);
		return;
	}
	*out = (uint32_t)(ns / 1000000u);
}

enum { NT_EXEC, NT_WEBHOOK, NT_TIMEOUT, NT_RETRY, NT_EXEC_USER, NT_NR };
static const char *const nt_keys[NT_NR] = {"exec", "webhook", "timeout", "retry", "exec_user"};

/*
 * notify.exec_user: the user the exec hook runs as (default "nobody": a hook needs no
 * privilege to pass an event on, and one that has none cannot be turned against the box).
 * Looked up now, so check-config says when it does not exist. "root" keeps the daemon's
 * user (the hook still gets no_new_privs).
 */
static void parse_exec_user(struct ctx *c, yaml_node_t *user, yaml_node_t *exec)
{
	struct tg_notify_cfg *nc = &c->cfg->notify;
	const char *s = user ? nonempty(c, user, "notify.exec_user") : NULL;
	struct passwd *pw;

	if (s) {
		free(nc->exec_user);
		nc->exec_user = xstrdup(c, s);
	}
	if (!nc->exec || !nc->exec_user)
		return;
	errno = 0;
	pw = getpwnam(nc->exec_user);
	if (!pw) {
		yerr(c, user ? user : exec,
		     "notify.exec_user '%s': no such user (create it, or name another: the hook "
		     "runs as it)",
		     nc->exec_user);
		return;
	}
	nc->exec_uid = (uint32_t)pw->pw_uid;
	nc->exec_gid = (uint32_t)pw->pw_gid;
}
enum { RY_MIN, RY_MAX, RY_NR };
static const char *const ry_keys[RY_NR] = {"min", "max"};

static void parse_notify(struct ctx *c, yaml_node_t *n)
{
	struct tg_notify_cfg *nc = &c->cfg->notify;
	yaml_node_t *v[NT_NR], *r[RY_NR] = {NULL, NULL};
	const char *s, *why;
	struct stat st;

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "notify"))
		return;
	map_keys(c, n, "notify", nt_keys, NT_NR, v, NULL);
	if (v[NT_EXEC] && (s = nonempty(c, v[NT_EXEC], "notify.exec"))) {
		/* the daemon runs it from any directory, with a minimal environment: no PATH
		 * search, no relative path */
		if (s[0] != '/')
			yerr(c, v[NT_EXEC], "notify.exec '%s' must be an absolute path", s);
		else if (stat(s, &st))
			yerr(c, v[NT_EXEC], "notify.exec '%s': %s", s, strerror(errno));
		else if (!S_ISREG(st.st_mode))
			yerr(c, v[NT_EXEC], "notify.exec '%s' is not a regular file", s);
		else if (access(s, X_OK))
			yerr(c, v[NT_EXEC], "notify.exec '%s' is not executable (chmod +x it)", s);
		else
			nc->exec = xstrdup(c, s);
	}
	if (v[NT_WEBHOOK] && (s = nonempty(c, v[NT_WEBHOOK], "notify.webhook"))) {
		if ((why = webhook_problem(s)))
			yerr(c, v[NT_WEBHOOK], "notify.webhook '%s': %s", s, why);
		else
			nc->webhook = xstrdup(c, s);
	}
	if (v[NT_TIMEOUT])
		parse_ms(c, v[NT_TIMEOUT], "notify.timeout", TG_NOTIFY_TIMEOUT_MIN_MS,
			 TG_NOTIFY_TIMEOUT_MAX_MS, "1s to 60s", &nc->timeout_ms);
	if (v[NT_RETRY] && !is_null(v[NT_RETRY]) &&
	    want(c, v[NT_RETRY], YAML_MAPPING_NODE, "notify.retry")) {
		uint32_t lo = nc->retry_min_ms, hi = nc->retry_max_ms;
		int nerr = (int)c->nye;

		map_keys(c, v[NT_RETRY], "notify.retry", ry_keys, RY_NR, r, NULL);
		if (r[RY_MIN])
			parse_ms(c, r[RY_MIN], "notify.retry.min", TG_NOTIFY_RETRY_FLOOR_MS,
				 TG_NOTIFY_RETRY_CEIL_MS, "100ms to 1d", &lo);
		if (r[RY_MAX])
			parse_ms(c, r[RY_MAX], "notify.retry.max", TG_NOTIFY_RETRY_FLOOR_MS,
				 TG_NOTIFY_RETRY_CEIL_MS, "100ms to 1d", &hi);
		/* only when both read well: a bad value is its own error, not also this one */
		if ((int)c->nye == nerr && lo > hi)
			yerr(c, r[RY_MIN] ? r[RY_MIN] : v[NT_RETRY],
			     "notify.retry: min (%u ms) is above max (%u ms)", lo, hi);
		nc->retry_min_ms = lo;
		nc->retry_max_ms = hi;
	}
	parse_exec_user(c, v[NT_EXEC_USER], v[NT_EXEC]);
}

/* ---- cluster ---- */

/*
 * An etcd endpoint: http:// or https://, a host, a port, nothing after. Plain http only to
 * a loopback address (127.0.0.0/8, ::1, localhost): the enforcement state and the
 * operators' reasons would otherwise cross the network in clear and unauthenticated.
 * NULL if it is good, else what is wrong.
 */
static const char *endpoint_problem(const char *s)
{
	bool plain = !strncasecmp(s, "http://", 7);
	const char *p = plain ? s + 7 : s + 8, *why;
	char host[256];
	size_t hl;

	if (!plain && strncasecmp(s, "https://", 8))
		return "want http://HOST:PORT (loopback only) or https://HOST:PORT";
	why = webhook_problem(s);
	if (why)
		return why;
	hl = strcspn(p, "/?#");
	if (p[hl] && strcmp(p + hl, "/"))
		return "an endpoint is scheme://host:port, with no path";
	if (*p == '[') {
		hl = strcspn(p, "]");
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 1), p + 1);
	} else {
		hl = strcspn(p, ":/");
		snprintf(host, sizeof(host), "%.*s", (int)hl, p);
	}
	if (plain) {
		struct in_addr a4;

		if (!strcmp(host, "localhost") || !strcmp(host, "::1"))
			return NULL;
		if (inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127)
			return NULL;
		return "plain http is allowed only to loopback (127.0.0.0/8, ::1, localhost): "
		       "use https:// with cluster.ca (and cert and key if etcd asks for them)";
	}
	return NULL;
}

/* A PEM file the daemon reads (relative to the YAML file): a readable regular file. */
static void parse_pem(struct ctx *c, yaml_node_t *n, const char *what, char **out)
{
	struct stat sb;

	parse_path(c, n, what, false, out);
	if (!*out)
		return;
	if (stat(*out, &sb) || access(*out, R_OK))
		yerr(c, n, "%s '%s': %s", what, *out, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		yerr(c, n, "%s '%s': not a regular file", what, *out);
}

enum {
	CL_ENDPOINTS,
	CL_NODE,
	CL_PREFIX,
	CL_CA,
	CL_CERT,
	CL_KEY,
	CL_TIMEOUT,
	CL_HEARTBEAT,
	CL_START,
	CL_NR
};
static const char *const cl_keys[CL_NR] = {"endpoints", "node",	     "prefix",
					   "ca",	"cert",	     "key",
					   "timeout",	"heartbeat", "start_timeout"};

static void parse_cluster(struct ctx *c, yaml_node_t *n)
{
	struct tg_cluster_cfg *cc = &c->cfg->cluster;
	yaml_node_t *v[CL_NR];
	const char *s, *env;

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "cluster"))
		return;
	map_keys(c, n, "cluster", cl_keys, CL_NR, v, NULL);
	cc->enabled = true;
	if (!v[CL_ENDPOINTS]) {
		yerr(c, n,
		     "cluster: 'endpoints' is required (etcd's client URLs, e.g. "
		     "[\"https://10.0.0.1:2379\"])");
	} else if (want(c, v[CL_ENDPOINTS], YAML_SEQUENCE_NODE, "cluster.endpoints")) {
		yaml_node_t *l = v[CL_ENDPOINTS];
		size_t cnt = (size_t)(l->data.sequence.items.top - l->data.sequence.items.start);

		if (!cnt || cnt > TG_CLUSTER_ENDPOINTS_MAX)
			yerr(c, l, "cluster.endpoints: 1 to %d URLs, not %zu",
			     TG_CLUSTER_ENDPOINTS_MAX, cnt);
		cc->endpoints = cnt ? calloc(cnt, sizeof(*cc->endpoints)) : NULL;
		if (cnt && !cc->endpoints)
			c->oom = 1;
		for (yaml_node_item_t *it = l->data.sequence.items.start;
		     cc->endpoints && it < l->data.sequence.items.top &&
		     cc->nendpoints < TG_CLUSTER_ENDPOINTS_MAX;
		     it++) {
			yaml_node_t *e = node(c, *it);
			const char *why;

			if (!e || !(s = nonempty(c, e, "cluster.endpoints: an endpoint")))
				continue;
			if ((why = endpoint_problem(s))) {
				yerr(c, e, "cluster.endpoints: '%s': %s", s, why);
				continue;
			}
			cc->endpoints[cc->nendpoints++] = xstrdup(c, s);
		}
	}
	if (v[CL_NODE] && (s = nonempty(c, v[CL_NODE], "cluster.node"))) {
		size_t l = strlen(s), ok = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
						     "TUVWXYZ0123456789._-");

		if (l > TG_CLUSTER_NODE_MAX || ok != l)
			yerr(c, v[CL_NODE],
			     "cluster.node '%s': 1 to %d letters, digits, '.', '_' or '-'", s,
			     TG_CLUSTER_NODE_MAX);
		else
			cc->node = xstrdup(c, s);
	}
	if (v[CL_PREFIX] && (s = nonempty(c, v[CL_PREFIX], "cluster.prefix"))) {
		size_t l = strlen(s);

		if (s[0] != '/' || l > 200 || strpbrk(s, " \t\r\n") || strstr(s, "//"))
			yerr(c, v[CL_PREFIX],
			     "cluster.prefix '%s': a key path like /tollgate/ (starts with '/', no "
			     "spaces, at most 200 characters)",
			     s);
		else {
			free(cc->prefix);
			if (asprintf(&cc->prefix, "%s%s", s, s[l - 1] == '/' ? "" : "/") < 0) {
				cc->prefix = NULL;
				c->oom = 1;
			}
		}
	}
	if (v[CL_CA])
		parse_pem(c, v[CL_CA], "cluster.ca", &cc->ca);
	if (v[CL_CERT])
		parse_pem(c, v[CL_CERT], "cluster.cert", &cc->cert);
	if (v[CL_KEY])
		parse_pem(c, v[CL_KEY], "cluster.key", &cc->key);
	if (!v[CL_CERT] != !v[CL_KEY])
		yerr(c, n,
		     "cluster: 'cert' and 'key' go together (the client certificate and "
		     "its private key)");
	if (v[CL_TIMEOUT])
		parse_ms(c, v[CL_TIMEOUT], "cluster.timeout", 100, 60000, "100ms to 60s",
			 &cc->timeout_ms);
	if (v[CL_HEARTBEAT])
		parse_ms(c, v[CL_HEARTBEAT], "cluster.heartbeat", 500, 60000, "500ms to 60s",
			 &cc->heartbeat_ms);
	if (v[CL_START])
		parse_ms(c, v[CL_START], "cluster.start_timeout", 1000, 3600000, "1s to 1h",
			 &cc->start_timeout_ms);
	env = getenv("TOLLGATE_NODE");
	if (!cc->node && env) { /* the unit's environment may name it */
		size_t l = strlen(env);

		if (!l || l > TG_CLUSTER_NODE_MAX ||
		    strspn(env,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
			    l)
			yerr(c, n,
			     "cluster: TOLLGATE_NODE '%.80s' is not a node name (1 to %d "
			     "letters, digits, '.', '_' or '-')",
			     env, TG_CLUSTER_NODE_MAX);
		else
			cc->node = xstrdup(c, env);
	}
	if (!cc->node) {
		char h[256] = "";

		if (gethostname(h, sizeof(h) - 1) || !h[0] || strlen(h) > TG_CLUSTER_NODE_MAX)
			yerr(c, n,
			     "cluster: no 'node' and the host name cannot be one: name this "
			     "node (cluster.node)");
		else
			cc->node = xstrdup(c, h);
	}
}

/* ---- the file ---- */

enum {
	TOP_INTERFACES,
	TOP_PLANS,
	TOP_CUSTOMERS,
	TOP_WALLED,
	TOP_CAPACITY,
	TOP_METRICS,
	TOP_STATE,
	TOP_PIN_DIR,
	TOP_ENFORCEMENT,
	TOP_NOTIFY,
	TOP_REFL_PORTS,
	TOP_CONTROL,
	TOP_SRC_EXEMPT,
	TOP_SHORT_PREFIXES,
	TOP_CLUSTER,
	TOP_NR
};
/* a row of keys per line: an added key is one added line */
/* clang-format off */
static const char *const top_keys[TOP_NR] = {
	"interfaces",	    "plans",   "customers",	    "walled_garden", "capacity",
	"metrics",	    "state",   "pin_dir",	    "enforcement",   "notify",
	"reflection_ports", "control", "per_source_exempt", "allow_short_prefixes",
	"cluster",
};
/* clang-format on */

/*
 * UDP source ports of reflection/amplification attacks: the services CISA's alert TA14-017A
 * lists (QOTD, CharGEN, DNS, TFTP, portmap, NTP, NetBIOS, SNMP, CLDAP, SLP, RIPv1, SSDP,
 * ARMS, WS-Discovery, mDNS, CoAP, memcached, Quake, Steam, Jenkins) and Ubiquiti discovery
 * and DVR DHCPDiscover from later reports.
 */
static const uint16_t refl_default[] = {17,    19,    53,    69,    111,   123,	 137,  161,
					389,   427,   520,   1900,  3283,  3702, 5353, 5683,
					10001, 11211, 26000, 27015, 33848, 37810};

static void parse_refl_ports(struct ctx *c, yaml_node_t *n)
{
	struct tg_cfg *cfg = c->cfg;
	size_t cnt, i;

	cfg->nrefl_ports = 0;
	if (is_null(n))
		return; /* an empty list: no reflection profile */
	if (!want(c, n, YAML_SEQUENCE_NODE, "reflection_ports"))
		return;
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	free(cfg->refl_ports);
	cfg->refl_ports = calloc(cnt ? cnt : 1, sizeof(*cfg->refl_ports));
	if (!cfg->refl_ports) {
		c->oom = 1;
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = node(c, *it);
		uint32_t port;

		if (!e || parse_count(c, e, "reflection_ports: a port", 65535, &port))
			continue;
		for (i = 0; i < cfg->nrefl_ports && cfg->refl_ports[i] != port; i++)
			;
		if (i < cfg->nrefl_ports) {
			yerr(c, e, "reflection_ports: %u is listed twice", port);
			continue;
		}
		cfg->refl_ports[cfg->nrefl_ports++] = (uint16_t)port;
	}
}

/* The whole file (a FIFO or device refused at once: *kind says what it is). */
static int read_file(const char *path, char **buf, size_t *len, const char **kind)
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
static void yaml_error(struct ctx *c, const yaml_parser_t *ps, const char *buf, size_t len)
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

/* control: { group: NAME }: the group whose members may use the control socket. */
static void parse_control(struct ctx *c, yaml_node_t *n)
{
	static const char *const keys[] = {"group"};
	yaml_node_t *v[1];
	const char *g;
	struct group gr, *res = NULL;
	char buf[4096];

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "control"))
		return;
	map_keys(c, n, "control", keys, 1, v, NULL);
	if (!v[0])
		return;
	g = nonempty(c, v[0], "control.group");
	if (!g)
		return;
	if (getgrnam_r(g, &gr, buf, sizeof(buf), &res) || !res) {
		yerr(c, v[0], "control.group: no group '%s' on this host", g);
		return;
	}
	free(c->cfg->control_group);
	c->cfg->control_group = xstrdup(c, g);
}

static void parse_root(struct ctx *c, yaml_node_t *root)
{
	struct tg_cfg *cfg = c->cfg;
	yaml_node_t *v[TOP_NR];

	if (!want(c, root, YAML_MAPPING_NODE, "the configuration"))
		return;
	map_keys(c, root, "the configuration", top_keys, TOP_NR, v, NULL);

	if (v[TOP_INTERFACES])
		parse_ifaces(c, v[TOP_INTERFACES]);
	if (v[TOP_PLANS])
		parse_plans(c, v[TOP_PLANS]);
	if (v[TOP_WALLED])
		parse_prefixes(c, v[TOP_WALLED], "walled_garden", &c->cfg->walled_garden,
			       &c->cfg->nwalled);
	if (v[TOP_SRC_EXEMPT]) {
		parse_prefixes(c, v[TOP_SRC_EXEMPT], "per_source_exempt", &c->cfg->src_exempt,
			       &c->cfg->nsrc_exempt);
		check_prefix_lists(c, v[TOP_SRC_EXEMPT]);
	}
	if (v[TOP_REFL_PORTS])
		parse_refl_ports(c, v[TOP_REFL_PORTS]);
	if (v[TOP_CAPACITY])
		parse_capacity(c, v[TOP_CAPACITY]);
	if (v[TOP_METRICS])
		parse_metrics(c, v[TOP_METRICS]);
	if (v[TOP_STATE])
		parse_path(c, v[TOP_STATE], "state", false, &cfg->state_path);
	if (v[TOP_PIN_DIR])
		parse_path(c, v[TOP_PIN_DIR], "pin_dir", true, &cfg->pin_dir);
	if (v[TOP_ENFORCEMENT])
		parse_enforcement(c, v[TOP_ENFORCEMENT]);
	if (v[TOP_NOTIFY])
		parse_notify(c, v[TOP_NOTIFY]);
	if (v[TOP_CONTROL])
		parse_control(c, v[TOP_CONTROL]);
	if (v[TOP_CLUSTER])
		parse_cluster(c, v[TOP_CLUSTER]);
	if (v[TOP_SHORT_PREFIXES])
		parse_bool(c, v[TOP_SHORT_PREFIXES], "allow_short_prefixes",
			   &cfg->allow_short_prefixes);

	if (!v[TOP_CUSTOMERS])
		yerr(c, root, "'customers' is required: the path of the customers CSV");
	else
		parse_path(c, v[TOP_CUSTOMERS], "customers", false, &cfg->customers_path);
	if (v[TOP_CUSTOMERS])
		cfg->customers_line = (int)v[TOP_CUSTOMERS]->start_mark.line + 1;
}

static int set_defaults(struct tg_cfg *cfg)
{
	cfg->max_customers = TG_MAX_CUSTOMERS_DEFAULT;
	cfg->max_prefixes = 2 * TG_MAX_CUSTOMERS_DEFAULT;
	cfg->metrics_listen = strdup(TG_METRICS_LISTEN_DEFAULT);
	cfg->metrics_per_customer = strdup(TG_METRICS_PER_CUSTOMER_DEFAULT);
	cfg->state_path = strdup(TG_STATE_DEFAULT);
	cfg->pin_dir = strdup(TG_PIN_DIR_DEFAULT);
	cfg->enforcement.interval_ns = TG_INTERVAL_DEFAULT_NS;
	cfg->enforcement.retention_ns = TG_RETENTION_DEFAULT_NS;
	cfg->refl_ports = malloc(sizeof(refl_default));
	cfg->notify.exec_user = strdup(TG_NOTIFY_EXEC_USER_DEFAULT);
	if (!cfg->metrics_listen || !cfg->metrics_per_customer || !cfg->state_path ||
	    !cfg->pin_dir || !cfg->refl_ports || !cfg->notify.exec_user)
		return -ENOMEM;
	memcpy(cfg->refl_ports, refl_default, sizeof(refl_default));
	cfg->nrefl_ports = sizeof(refl_default) / sizeof(refl_default[0]);
	cfg->notify.timeout_ms = TG_NOTIFY_TIMEOUT_DEFAULT_MS;
	cfg->notify.retry_min_ms = TG_NOTIFY_RETRY_MIN_DEFAULT_MS;
	cfg->notify.retry_max_ms = TG_NOTIFY_RETRY_MAX_DEFAULT_MS;
	cfg->cluster.prefix = strdup(TG_CLUSTER_PREFIX_DEFAULT);
	cfg->cluster.timeout_ms = TG_CLUSTER_TIMEOUT_DEFAULT_MS;
	cfg->cluster.heartbeat_ms = TG_CLUSTER_HEARTBEAT_DEFAULT_MS;
	cfg->cluster.start_timeout_ms = TG_CLUSTER_START_DEFAULT_MS;
	return cfg->cluster.prefix ? 0 : -ENOMEM;
}

int tg_config_load(const char *path, struct tg_cfg **out, struct tg_errs *errs)
{
	return tg_config_load_from(path, NULL, 0, out, errs);
}

int tg_config_load_from(const char *path, const struct tg_cfg *prev, unsigned int flags,
			struct tg_cfg **out, struct tg_errs *errs)
{
	struct ctx c = {.file = path, .errs = errs};
	yaml_parser_t parser;
	yaml_document_t doc, doc2;
	struct tg_cfg *cfg;
	char *buf = NULL;
	const char *kind = NULL;
	size_t len = 0;
	int err;

	*out = NULL;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	c.cfg = cfg;
	cfg->keep_raw = flags & TG_LOAD_KEEP_RAW;
	cfg->path = strdup(path);
	err = set_defaults(cfg);
	if (err || !cfg->path) {
		err = -ENOMEM;
		goto out_cfg;
	}

	err = read_file(path, &buf, &len, &kind);
	if (err && kind) {
		tg_errs_add(errs, "%s: cannot read: it is %s, not a regular file", path, kind);
		goto out_cfg;
	}
	if (err) {
		tg_errs_add(errs, "%s: cannot read: %s", path, strerror(-err));
		goto out_cfg;
	}
	if (!yaml_parser_initialize(&parser)) {
		err = -ENOMEM;
		goto out_buf;
	}
	find_end(&c, buf, len);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_error(&c, &parser, buf, len);
	} else {
		yaml_node_t *root = yaml_document_get_root_node(&doc);

		c.doc = &doc;
		if (!root) {
			add_err(&c, 1, 1, "the file is empty (it needs at least 'customers')");
		} else {
			parse_root(&c, root);
			/* a second document would be ignored: say so instead */
			if (!yaml_parser_load(&parser, &doc2)) {
				yaml_error(&c, &parser, buf, len);
			} else {
				yaml_node_t *r2 = yaml_document_get_root_node(&doc2);

				if (r2)
					yerr(&c, r2, "a second YAML document: only one is read");
				yaml_document_delete(&doc2);
			}
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	err = c.nye ? -EINVAL : 0;
	flush_errors(&c);

	/* rows can be reused only if nothing they depend on (plans, interfaces, capacity,
	 * paths) may have changed: the same YAML bytes at the same path */
	if (prev && (!prev->yaml_raw || prev->yaml_len != len || memcmp(prev->yaml_raw, buf, len) ||
		     strcmp(prev->path, path)))
		prev = NULL;
	/* the CSV is checked even if the YAML had errors: one run shows every problem */
	if (cfg->customers_path && !c.oom) {
		int e = tg_customers_load(cfg, cfg->customers_path, prev, errs);

		if (e && (e != -EINVAL || !err))
			err = e;
	}
	if (c.oom)
		err = -ENOMEM;
out_buf:
	if (cfg->keep_raw && !err) {
		cfg->yaml_raw = buf;
		cfg->yaml_len = len;
		buf = NULL;
	}
	free(buf);
out_cfg:
	if (err) {
		tg_config_free(cfg);
		return err;
	}
	*out = cfg;
	return 0;
}

void tg_config_free(struct tg_cfg *cfg)
{
	if (!cfg)
		return;
	free(cfg->customers);
	free(cfg->pfx_pool);
	free(cfg->name_pool);
	tg_hset_free(&cfg->ids);
	tg_hset_free(&cfg->raw_ix);
	tg_hset_free(&cfg->pks);
	free(cfg->pk);
	free(cfg->yaml_raw);
	free(cfg->csv_raw);
	free(cfg->path);
	free(cfg->ifaces);
	free(cfg->plans);
	free(cfg->customers_path);
	free(cfg->walled_garden);
	free(cfg->src_exempt);
	free(cfg->control_group);
	free(cfg->refl_ports);
	free(cfg->metrics_listen);
	free(cfg->metrics_per_customer);
	for (size_t h = 0; h < cfg->nmetrics_hosts; h++)
		free(cfg->metrics_hosts[h]);
	free(cfg->metrics_hosts);
	free(cfg->metrics_token_file);
	free(cfg->state_path);
	free(cfg->pin_dir);
	free(cfg->enforcement.rules);
	free(cfg->notify.exec);
	free(cfg->notify.exec_user);
	free(cfg->notify.webhook);
	for (size_t i = 0; i < cfg->cluster.nendpoints; i++)
		free(cfg->cluster.endpoints[i]);
	free(cfg->cluster.endpoints);
	free(cfg->cluster.node);
	free(cfg->cluster.prefix);
	free(cfg->cluster.ca);
	free(cfg->cluster.cert);
	free(cfg->cluster.key);
	free(cfg);
}

const struct tg_iface_cfg *tg_config_iface(const struct tg_cfg *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nifaces; i++) {
		if (!strcmp(cfg->ifaces[i].name, name))
			return &cfg->ifaces[i];
	}
	return NULL;
}

/*
 * Only the pin directory: what the read-only commands need to find the pins. It reads the
 * YAML's top level and nothing else (no customers CSV, no validation), so `tollgate -c FILE
 * status` works in seconds at 1M customers, and while the customers file has an error -
 * exactly when an operator checks that a rejected reload changed nothing.
 */
/* The value of a top-level scalar key of a tollgate.yaml, without loading the rest: buf
 * keeps its contents if the key is absent. */
static int top_scalar(const char *path, const char *key, char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	yaml_node_pair_t *pair;
	const char *kind;
	size_t size;
	FILE *f;
	int fd, err;

	/* a FIFO or device is refused, not waited on (-EINVAL) */
	err = tg_open_regular(path, &fd, &size, &kind);
	if (err)
		return err;
	f = fdopen(fd, "rb");
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		err = -EINVAL;
		goto out;
	}
	root = yaml_document_get_root_node(&doc);
	if (root && root->type == YAML_MAPPING_NODE) {
		for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top;
		     pair++) {
			yaml_node_t *k = yaml_document_get_node(&doc, pair->key);
			yaml_node_t *v = yaml_document_get_node(&doc, pair->value);

			if (k && v && k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)k->data.scalar.value, key) == 0)
				snprintf(buf, len, "%s", (const char *)v->data.scalar.value);
		}
	}
	yaml_document_delete(&doc);
out:
	yaml_parser_delete(&parser);
	fclose(f);
	return err;
}

int tg_config_pin_dir(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%s", TG_PIN_DIR_DEFAULT);
	return top_scalar(path, "pin_dir", buf, len);
}

int tg_config_state_path(const char *path, char *buf, size_t len)
{
	char v[4096] = TG_STATE_DEFAULT;
	const char *slash = strrchr(path, '/');
	int err = top_scalar(path, "state", v, sizeof(v));

	if (v[0] == '/' || !slash) /* relative: to the YAML file's directory, like the loader */
		snprintf(buf, len, "%s", v);
	else
		snprintf(buf, len, "%.*s/%s", (int)(slash - path), path, v);
	return err;
}

/*
 * Bursts too small for TCP: below rate x TG_TCP_BURST_MS a TCP flow falls back to its
 * retransmission timer after a policer drop and gets well under the rate (docs/policy.md,
 * "Burst sizing": 25-50 % measured). Advice, not an error: the configuration stays valid.
 */
#define TG_TCP_BURST_MS 200u

static bool burst_small(const struct tg_rate_cfg *r, uint64_t *want)
{
	*want = r->rate_bps / 8 * TG_TCP_BURST_MS / 1000;
	return r->rate_bps && r->burst_bytes < *want;
}

static bool iface_strict(const struct tg_iface_cfg *ic)
{
	return ic && ic->role == TG_ROLE_CUSTOMER && ic->antispoof == TG_AS_STRICT;
}

/*
 * Bindings (docs/policy.md, Bindings): unbound customers where an interface is strict, and
 * the upgrade notes for a customers file written when an empty vlan meant any VLAN and a
 * single tag any inner tag (layout 8 and before). The notes count only customers bound
 * to a strict interface: elsewhere the binding is not checked.
 */
static size_t binding_advice(const struct tg_cfg *cfg, char **msgs, size_t n, size_t max)
{
	const struct tg_iface_cfg *strict = NULL;
	size_t i, nstrict = 0, unbound = 0, untagged = 0, single = 0;
	uint16_t single_vid = 0;

	for (i = 0; i < cfg->nifaces; i++) {
		if (iface_strict(&cfg->ifaces[i])) {
			strict = strict ? strict : &cfg->ifaces[i];
			nstrict++;
		}
	}
	if (!strict)
		return n;
	for (i = 0; i < cfg->ncustomers; i++) {
		const struct tg_customer *cu = &cfg->customers[i];

		if (!cu->iface[0]) {
			unbound++;
		} else if (iface_strict(tg_config_iface(cfg, cu->iface))) {
			untagged += cu->vlan == TG_VLAN_UNTAGGED;
			if (cu->vlan != TG_VLAN_UNTAGGED && cu->vlan != TG_VLAN_ANY &&
			    cu->ivlan == TG_VLAN_UNTAGGED) {
				single_vid = single ? single_vid : cu->vlan;
				single++;
			}
		}
	}
	if (unbound && n < max &&
	    asprintf(&msgs[n],
		     "%s: %zu customers have no interface: strict anti-spoofing on %s%s drops "
		     "their traffic as spoof; bind them (interface and vlan columns) or set "
		     "antispoof: loose on the interfaces they send on",
		     cfg->customers_path, unbound, strict->name,
		     nstrict > 1 ? " and the other strict interfaces" : "") > 0)
		n++;
	if (untagged && n < max &&
	    asprintf(&msgs[n],
		     "%s: upgrade note: %zu customers bound to a strict interface have an empty "
		     "vlan, which now means untagged frames only (before layout 9: any VLAN, "
		     "tagged or not); write * in the vlan column for any VLAN",
		     cfg->customers_path, untagged) > 0)
		n++;
	if (single && n < max &&
	    asprintf(&msgs[n],
		     "%s: upgrade note: %zu customers bound to a strict interface have one VLAN "
		     "(e.g. %u), which now means exactly that one tag (before layout 9: any inner "
		     "tag too); write %u.* for any inner tag",
		     cfg->customers_path, single, single_vid, single_vid) > 0)
		n++;
	return n;
}

/* An exporter that listens beyond loopback without a token: anyone who reaches it reads
 * every customer's traffic. */
static size_t metrics_advice(const struct tg_cfg *cfg, char **msgs, size_t max)
{
	const char *l = cfg->metrics_listen;

	if (!max || !l || cfg->metrics_token_file || !strncmp(l, "127.", 4) ||
	    !strncmp(l, "[::1]:", 6))
		return 0;
	return asprintf(&msgs[0],
			"%s: metrics.listen %s is not loopback and metrics.token_file is not "
			"set: anyone who reaches it reads every customer's counters "
			"(docs/metrics.md, Metrics and API access)",
			cfg->path, l) > 0
		       ? 1
		       : 0;
}

size_t tg_config_advice(const struct tg_cfg *cfg, char **msgs, size_t max)
{
	static const char *const dirs[TG_DIR_NR] = {"upload", "download"};
	size_t n = 0, p, c, small_overrides = 0;
	uint64_t want;
	int d;

	for (p = 0; p < cfg->nplans; p++) {
		for (d = 0; d < TG_DIR_NR; d++) {
			const struct tg_rate_cfg *r = &cfg->plans[p].dir[d];

			if (n < max && burst_small(r, &want) &&
			    asprintf(&msgs[n],
				     "%s:%d: plan %s %s: burst %llu bytes is below rate x %u ms "
				     "(%llu bytes): TCP will get well under the rate "
				     "(docs/policy.md, Burst sizing)",
				     cfg->path, cfg->plans[p].line, cfg->plans[p].name, dirs[d],
				     (unsigned long long)r->burst_bytes, TG_TCP_BURST_MS,
				     (unsigned long long)want) > 0)
				n++;
		}
	}
	for (c = 0; c < cfg->ncustomers; c++) {
		const struct tg_customer *cu = &cfg->customers[c];
		const struct tg_plan *pl = cu->plan >= 0 ? &cfg->plans[cu->plan] : NULL;

		for (d = 0; d < TG_DIR_NR; d++) {
			/* the plan's own advice covers customers that do not override it */
			if (pl && memcmp(&cu->dir[d], &pl->dir[d], sizeof(cu->dir[d])) == 0)
				continue;
			if (burst_small(&cu->dir[d], &want)) {
				small_overrides++;
				break;
			}
		}
	}
	if (small_overrides && n < max &&
	    asprintf(&msgs[n], "%s: %zu customers override a rate with a burst below rate x %u ms",
		     cfg->customers_path, small_overrides, TG_TCP_BURST_MS) > 0)
		n++;
	n = binding_advice(cfg, msgs, n, max);
	n += metrics_advice(cfg, msgs + n, max - n);
	return n;
}
