// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_plans.c - the `plans` section of tollgate.yaml: each plan's policers (upload,
 * download: rate, burst, peak_rate, peak_burst), flood limits (syn, udp, icmp, frag,
 * reflection, per_source, block_time), SMTP policy, yellow_dscp and the volume quota.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"

enum { RT_RATE, RT_BURST, RT_PEAK_RATE, RT_PEAK_BURST, RT_NR };
static const char *const rt_keys[RT_NR] = {"rate", "burst", "peak_rate", "peak_burst"};
enum { PL_UPLOAD, PL_DOWNLOAD, PL_FLOOD, PL_SMTP, PL_YELLOW, PL_QUOTA, PL_NR };
static const char *const pl_keys[PL_NR] = {"upload", "download",    "flood",
					   "smtp",   "yellow_dscp", "quota"};
enum { QU_UPLOAD, QU_DOWNLOAD, QU_PERIOD, QU_RESET, QU_NR };
static const char *const qu_keys[QU_NR] = {"upload", "download", "period", "reset"};
/* flood: a key per class of TG_FC_PLAN_LIST, in its order (tg_fclass_plan), then block_time */
#define FL_POS(N, k, r) FL_##N,
#define FL_KEY(N, k, r) k,
enum { TG_FC_PLAN_LIST(FL_POS) FL_BLOCK, FL_NR };
static const char *const fl_keys[FL_NR] = {TG_FC_PLAN_LIST(FL_KEY) "block_time"};

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

	if (src && f->pps[TG_FC_SRC])
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

/*
 * quota: { upload: 2TB, download: 2TB, period: month, reset: 1 }: the volume a customer of
 * the plan may pass per period (either direction may be left out, not both); period day,
 * week or month (default), in UTC; reset the day of the month (1..31, default 1) or of the
 * week (monday..sunday, default monday) it starts on; a day starts at 00:00 UTC.
 */
static void parse_quota(struct ctx *c, yaml_node_t *n, struct tg_plan *p)
{
	static const char *const dn[TG_DIR_NR] = {"upload", "download"};
	struct tg_quota_cfg q = {.period = TG_QP_MONTH, .reset = 1};
	yaml_node_t *v[QU_NR];
	char what[TG_NAME_MAX + 32];
	const char *s;
	bool bad = false;

	snprintf(what, sizeof(what), "plan '%s': quota", p->name);
	if (!want(c, n, YAML_MAPPING_NODE, what))
		return;
	map_keys(c, n, what, qu_keys, QU_NR, v, NULL);
	if (!v[QU_UPLOAD] && !v[QU_DOWNLOAD]) {
		yerr(c, n,
		     "%s: upload or download is required (e.g. { download: 2TB, period: "
		     "month, reset: 1 })",
		     what);
		bad = true;
	}
	for (int d = 0; d < TG_DIR_NR; d++) {
		yaml_node_t *x = v[d == TG_DIR_UP ? QU_UPLOAD : QU_DOWNLOAD];

		if (!x || !(s = nonempty(c, x, what)))
			continue;
		if (tg_parse_volume_bytes(s, &q.bytes[d])) {
			yerr(c, x,
			     "%s.%s: '%s' is not a volume (bytes: 500GB, 2TB, 1.5TB, 100GiB; "
			     "above zero)",
			     what, dn[d], s);
			bad = true;
		}
	}
	if (v[QU_PERIOD] && (s = nonempty(c, v[QU_PERIOD], what))) {
		int per = tg_quota_parse_period(s);

		if (per < 0) {
			yerr(c, v[QU_PERIOD], "%s.period: '%s': want day, week or month", what, s);
			bad = true;
		} else {
			q.period = per;
			q.reset = per == TG_QP_MONTH ? 1 : 0;
		}
	}
	if (v[QU_RESET] && (s = nonempty(c, v[QU_RESET], what))) {
		int r = tg_quota_parse_reset(q.period, s);

		if (r < 0) {
			if (q.period == TG_QP_DAY)
				yerr(c, v[QU_RESET],
				     "%s.reset: a daily quota resets at 00:00 UTC: leave reset out",
				     what);
			else if (q.period == TG_QP_WEEK)
				yerr(c, v[QU_RESET],
				     "%s.reset: '%s': want a weekday (monday..sunday, or mon..sun)",
				     what, s);
			else
				yerr(c, v[QU_RESET],
				     "%s.reset: '%s': want a day of the month from 1 to 31 (a "
				     "month "
				     "without it resets on its last day)",
				     what, s);
			bad = true;
		} else {
			q.reset = r;
		}
	}
	if (!bad)
		p->quota = q;
}

static void parse_plan(struct ctx *c, yaml_node_t *k, yaml_node_t *n)
{
	struct tg_plan *p = &c->cfg->plans[c->cfg->nplans];
	const char *name = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : NULL;
	yaml_node_t *v[PL_NR], *f[FL_NR];
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
					parse_flood_value(c, f[i], what,
							  &p->flood.pps[tg_fclass_plan[i]],
							  &p->flood.burst[tg_fclass_plan[i]]);
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
	if (v[PL_QUOTA])
		parse_quota(c, v[PL_QUOTA], p);
}

void parse_plans(struct ctx *c, yaml_node_t *n)
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
