/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * config_int.h - inside the config room only: the YAML reader (cfg_yaml.c) as the files of
 * the sections use it, and the sections' parsers as the file's top level (config.c) calls
 * them. The context of one load (struct ctx) goes through every one of them.
 *
 * The reader's helpers keep the short names the parsers call them by (yerr, scalar,
 * map_keys, ...); in the library they are tg_y_* (the macros below), so no other room's
 * symbol can meet them.
 *
 * Included by: the YAML files of user/config/ (config.c, cfg_*.c). Never by another room
 * (they use config.h), nor by customers.c (the CSV reader knows no YAML).
 */
#ifndef TG_CONFIG_INT_H
#define TG_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "config.h"

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
	int mit_rule_line; /* the first rule with a flowspec or blackhole action */
};

#define add_err(...) tg_y_add_err(__VA_ARGS__)
#define mark_pos(...) tg_y_mark_pos(__VA_ARGS__)
#define yerr(...) tg_y_yerr(__VA_ARGS__)
#define flush_errors(...) tg_y_flush_errors(__VA_ARGS__)
#define xstrdup(...) tg_y_xstrdup(__VA_ARGS__)
#define node(...) tg_y_node(__VA_ARGS__)
#define kind(...) tg_y_kind(__VA_ARGS__)
#define is_null(...) tg_y_is_null(__VA_ARGS__)
#define scalar(...) tg_y_scalar(__VA_ARGS__)
#define nonempty(...) tg_y_nonempty(__VA_ARGS__)
#define want(...) tg_y_want(__VA_ARGS__)
#define map_keys(...) tg_y_map_keys(__VA_ARGS__)
#define parse_bool(...) tg_y_parse_bool(__VA_ARGS__)
#define parse_rate(...) tg_y_parse_rate(__VA_ARGS__)
#define parse_burst(...) tg_y_parse_burst(__VA_ARGS__)
#define check_burst(...) tg_y_check_burst(__VA_ARGS__)
#define parse_pps(...) tg_y_parse_pps(__VA_ARGS__)
#define parse_count(...) tg_y_parse_count(__VA_ARGS__)
#define parse_flood_value(...) tg_y_parse_flood_value(__VA_ARGS__)
#define resolve(...) tg_y_resolve(__VA_ARGS__)
#define parse_path(...) tg_y_parse_path(__VA_ARGS__)
#define find_end(...) tg_y_find_end(__VA_ARGS__)
#define read_file(...) tg_y_read_file(__VA_ARGS__)
#define yaml_error(...) tg_y_yaml_error(__VA_ARGS__)
#define parse_ifaces(...) tg_y_parse_ifaces(__VA_ARGS__)
#define parse_plans(...) tg_y_parse_plans(__VA_ARGS__)
#define parse_metrics(...) tg_y_parse_metrics(__VA_ARGS__)
#define parse_enforcement(...) tg_y_parse_enforcement(__VA_ARGS__)
#define parse_notify(...) tg_y_parse_notify(__VA_ARGS__)
#define parse_mitigation(...) tg_y_parse_mitigation(__VA_ARGS__)
#define parse_cluster(...) tg_y_parse_cluster(__VA_ARGS__)
#define parse_capture(...) tg_y_parse_capture(__VA_ARGS__)
#define parse_ms(...) tg_y_parse_ms(__VA_ARGS__)
#define webhook_problem(...) tg_y_webhook_problem(__VA_ARGS__)
#define parse_dur(...) tg_y_parse_dur(__VA_ARGS__)

/* ---- errors, at a node's line and column (cfg_yaml.c) ---- */

/* line and col are 1-based */
void add_err(struct ctx *c, size_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* An error about node n, at its position. */
void yerr(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A libyaml mark as a 1-based line and column. */
void mark_pos(const struct ctx *c, const yaml_mark_t *m, size_t *line, size_t *col);
/* Move the collected errors to c->errs, in file order. */
void flush_errors(struct ctx *c);

/* ---- the file and the document ---- */

/* The whole file (a FIFO or device refused at once: *kind says what it is). */
int read_file(const char *path, char **buf, size_t *len, const char **kind);
/* Where libyaml's marks at the end of the text must be moved to (see struct ctx). */
void find_end(struct ctx *c, const char *buf, size_t len);
/* libyaml's syntax error, at the mark it gives (a reader error has only a byte offset). */
void yaml_error(struct ctx *c, const yaml_parser_t *ps, const char *buf, size_t len);
yaml_node_t *node(struct ctx *c, int id);
/* "a mapping", "a list" or "a single value" */
const char *kind(const yaml_node_t *n);
/* A plain empty value, "~" or "null": the key is there with nothing under it. */
bool is_null(const yaml_node_t *n);
/* n is of this type, or an error naming what. */
bool want(struct ctx *c, const yaml_node_t *n, yaml_node_type_t type, const char *what);
/*
 * Sort the pairs of mapping n into vals[] by the index of their key in keys[] (NULL for a
 * key that is absent). Unknown and repeated keys are errors; keyn[] (optional) gets the
 * key nodes, for errors about a value as a whole.
 */
void map_keys(struct ctx *c, const yaml_node_t *n, const char *where, const char *const *keys,
	      size_t nkeys, yaml_node_t **vals, yaml_node_t **keyn);

/* ---- values: each an error at its node when it is not what it must be ---- */

char *xstrdup(struct ctx *c, const char *s); /* c->oom on failure */
/* The text of a scalar, or NULL (and an error) for a mapping or a list. */
const char *scalar(struct ctx *c, const yaml_node_t *n, const char *what);
/* A scalar with something in it. */
const char *nonempty(struct ctx *c, const yaml_node_t *n, const char *what);
int parse_bool(struct ctx *c, const yaml_node_t *n, const char *what, bool *out);
void parse_rate(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t *out);
void parse_burst(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t *out);
/* A burst the policer at rate cannot hold (its tolerance would pass TG_GCRA_TOL_MAX_FNS). */
void check_burst(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t rate,
		 uint64_t burst);
void parse_pps(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t *out);
/* A positive decimal integer no larger than max. */
int parse_count(struct ctx *c, const yaml_node_t *n, const char *what, uint32_t max, uint32_t *out);
/* A flood limit: a packet rate ("200pps"), or { rate: 200pps, burst: 400 } (packets). */
void parse_flood_value(struct ctx *c, yaml_node_t *n, const char *what, uint64_t *pps,
		       uint64_t *burst);
/* A relative path names a file next to tollgate.yaml, wherever the daemon was started. */
char *resolve(struct ctx *c, const char *p);
void parse_path(struct ctx *c, yaml_node_t *n, const char *what, bool absolute, char **out);

/* ---- the sections with a file of their own, called by config.c's parse_root ---- */

void parse_ifaces(struct ctx *c, yaml_node_t *n);      /* cfg_ifaces.c */
void parse_plans(struct ctx *c, yaml_node_t *n);       /* cfg_plans.c */
void parse_metrics(struct ctx *c, yaml_node_t *n);     /* cfg_metrics.c */
void parse_enforcement(struct ctx *c, yaml_node_t *n); /* cfg_enforce.c */
void parse_notify(struct ctx *c, yaml_node_t *n);      /* cfg_notify.c */
void parse_mitigation(struct ctx *c, yaml_node_t *n);  /* cfg_mitigation.c */
void parse_cluster(struct ctx *c, yaml_node_t *n);     /* cfg_cluster.c */
void parse_capture(struct ctx *c, yaml_node_t *n);     /* cfg_capture.c */
/* An http(s) URL's problem, or NULL if it is good (cfg_notify.c; cluster endpoints too). */
const char *webhook_problem(const char *s);
/* A duration in [lo_ms, hi_ms], whole milliseconds, into *out (cfg_notify.c). */
void parse_ms(struct ctx *c, const yaml_node_t *n, const char *what, uint32_t lo_ms, uint32_t hi_ms,
	      const char *range, uint32_t *out);
/* A duration (30s, 1h); zero_ok: 0 allowed. 0 or -EINVAL (reported). cfg_enforce.c */
int parse_dur(struct ctx *c, const yaml_node_t *n, const char *what, bool zero_ok, uint64_t *out);

#endif /* TG_CONFIG_INT_H */
