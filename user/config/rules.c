// SPDX-License-Identifier: GPL-2.0-only
/*
 * rules.c - the metrics an enforcement rule can test and the parser of its `when`
 * ("spoof_pps > 50 for 30s" into metric, operator, threshold and hold time). The values
 * are written in the units of the metric (bit/s, packets/s, percent) and read with the
 * same parsers as the rest of tollgate.yaml, so "95mbit" means the same everywhere.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rules.h"

static const char *const metric_names[TG_M_NR] = {[TG_M_UPLOAD_BPS] = "upload_bps",
						  [TG_M_DOWNLOAD_BPS] = "download_bps",
						  [TG_M_UPLOAD_PPS] = "upload_pps",
						  [TG_M_DOWNLOAD_PPS] = "download_pps",
						  [TG_M_UPLOAD_UTIL] = "upload_util",
						  [TG_M_DOWNLOAD_UTIL] = "download_util",
						  [TG_M_DROP_PPS] = "drop_pps",
						  [TG_M_FLOOD_PPS] = "flood_pps",
						  [TG_M_DOWNLOAD_DROP_PPS] = "download_drop_pps",
						  [TG_M_DOWNLOAD_FLOOD_PPS] = "download_flood_pps",
						  [TG_M_FANOUT_HOSTS] = "fanout_hosts",
						  [TG_M_FANOUT_PORTS] = "fanout_ports",
						  [TG_M_SMTP_CONNS] = "smtp_conns",
						  [TG_M_SMTP_HOSTS] = "smtp_hosts",
						  [TG_M_TCP_SYNS] = "tcp_syns",
						  [TG_M_UNANSWERED_SYNS] = "unanswered_syns",
#define METRIC_UP(N, s) [TG_M_REASON_UP + TG_R_##N] = s "_pps",
#define METRIC_DOWN(N, s) [TG_M_REASON_DOWN + TG_R_##N] = "download_" s "_pps",
						  TG_REASONS(METRIC_UP) TG_REASONS(METRIC_DOWN)};

/* the volume quota's (quota.h), TG_M_QUOTA_USED_PCT on */
static const char *const quota_names[] = {"quota_used_pct", "upload_quota_used_pct",
					  "download_quota_used_pct"};

/* What an unknown metric's error lists: the families, not all 30 names; then the reasons
 * (&REASONS_VALID[2]: without the first ", "). */
#define METRICS_VALID                                                                              \
	"upload_bps, download_bps, upload_pps, download_pps, upload_util, download_util, "         \
	"drop_pps, flood_pps, download_drop_pps, download_flood_pps, quota_used_pct, "             \
	"upload_quota_used_pct, download_quota_used_pct, fanout_hosts, fanout_ports, "             \
	"smtp_conns, smtp_hosts, tcp_syns, unanswered_syns, REASON_pps, "                          \
	"download_REASON_pps; REASON: "
#define REASON_SEP(N, s) ", " s
#define REASONS_VALID TG_REASONS(REASON_SEP)

const char *tg_metric_name(int metric)
{
	if (metric >= TG_M_QUOTA_USED_PCT && metric <= TG_M_DOWNLOAD_QUOTA_USED_PCT)
		return quota_names[metric - TG_M_QUOTA_USED_PCT];
	return metric >= 0 && metric < TG_M_NR ? metric_names[metric] : "?";
}

int tg_metric_unit(int metric)
{
	switch (metric) {
	case TG_M_UPLOAD_BPS:
	case TG_M_DOWNLOAD_BPS:
		return TG_MU_RATE;
	case TG_M_UPLOAD_UTIL:
	case TG_M_DOWNLOAD_UTIL:
	case TG_M_QUOTA_USED_PCT:
	case TG_M_UPLOAD_QUOTA_USED_PCT:
	case TG_M_DOWNLOAD_QUOTA_USED_PCT:
		return TG_MU_PERCENT;
	case TG_M_FANOUT_HOSTS:
	case TG_M_FANOUT_PORTS:
	case TG_M_SMTP_CONNS:
	case TG_M_SMTP_HOSTS:
	case TG_M_TCP_SYNS:
	case TG_M_UNANSWERED_SYNS:
		return TG_MU_COUNT;
	default:
		return TG_MU_PPS;
	}
}

int tg_metric_lookup(const char *name)
{
	for (int m = 0; m < TG_M_NR; m++) {
		if (!strcmp(name, tg_metric_name(m)))
			return m;
	}
	/* the explicit spelling of the upload drop metrics: upload_spoof_pps, upload_flood_pps */
	if (!strncmp(name, "upload_", 7)) {
		int m = tg_metric_lookup(name + 7);

		if (m == TG_M_DROP_PPS || m == TG_M_FLOOD_PPS ||
		    (m >= TG_M_REASON_UP && m < TG_M_REASON_DOWN))
			return m;
	}
	return -1;
}

static double dir_sum(const struct tg_sample *s, int dir)
{
	double v = 0;

	for (int r = 0; r < TG_R_NR; r++)
		v += s->drop_pps[dir][r];
	return v;
}

/* flood_pps: the drops of the classes both directions have (TG_FC_OWN_LIST: syn, udp,
 * icmp, frag); reflection and per_source drops are counted as one of them. */
static double flood_sum(const struct tg_sample *s, int dir)
{
#define FLOOD_REASON(N, k, r) +s->drop_pps[dir][r]
	return 0 TG_FC_OWN_LIST(FLOOD_REASON);
}

double tg_metric_value(int metric, const struct tg_sample *s)
{
	switch (metric) {
	case TG_M_UPLOAD_BPS:
		return s->bps[TG_DIR_UP];
	case TG_M_DOWNLOAD_BPS:
		return s->bps[TG_DIR_DOWN];
	case TG_M_UPLOAD_PPS:
		return s->pps[TG_DIR_UP];
	case TG_M_DOWNLOAD_PPS:
		return s->pps[TG_DIR_DOWN];
	case TG_M_UPLOAD_UTIL:
		return s->util[TG_DIR_UP];
	case TG_M_DOWNLOAD_UTIL:
		return s->util[TG_DIR_DOWN];
	case TG_M_DROP_PPS:
		return dir_sum(s, TG_DIR_UP);
	case TG_M_FLOOD_PPS:
		return flood_sum(s, TG_DIR_UP);
	case TG_M_DOWNLOAD_DROP_PPS:
		return dir_sum(s, TG_DIR_DOWN);
	case TG_M_DOWNLOAD_FLOOD_PPS:
		return flood_sum(s, TG_DIR_DOWN);
	case TG_M_QUOTA_USED_PCT: /* the larger direction's */
		return s->quota_pct[0] > s->quota_pct[1] ? s->quota_pct[0] : s->quota_pct[1];
	case TG_M_UPLOAD_QUOTA_USED_PCT:
		return s->quota_pct[TG_DIR_UP];
	case TG_M_DOWNLOAD_QUOTA_USED_PCT:
		return s->quota_pct[TG_DIR_DOWN];
	case TG_M_FANOUT_HOSTS:
		return s->fanout_hosts;
	case TG_M_FANOUT_PORTS:
		return s->fanout_ports;
	case TG_M_SMTP_CONNS:
		return s->smtp_conns;
	case TG_M_SMTP_HOSTS:
		return s->smtp_hosts;
	case TG_M_TCP_SYNS:
		return s->tcp_syns;
	case TG_M_UNANSWERED_SYNS:
		return s->unanswered_syns;
	default:
		if (metric >= TG_M_REASON_UP && metric < TG_M_REASON_DOWN)
			return s->drop_pps[TG_DIR_UP][metric - TG_M_REASON_UP];
		if (metric >= TG_M_REASON_DOWN && metric < TG_M_REASON_DOWN + TG_R_NR)
			return s->drop_pps[TG_DIR_DOWN][metric - TG_M_REASON_DOWN];
		return 0;
	}
}

static const char *const op_names[] = {
	[TG_OP_GT] = ">", [TG_OP_GE] = ">=", [TG_OP_LT] = "<", [TG_OP_LE] = "<="};

const char *tg_op_name(int op)
{
	return op >= 0 && op <= TG_OP_LE ? op_names[op] : "?";
}

const char *tg_action_name(int action)
{
	switch (action) {
	case TG_ACT_NOTIFY:
		return "notify";
	case TG_ACT_THROTTLE:
		return "throttle";
	case TG_ACT_SUSPEND:
		return "suspend";
	case TG_ACT_FLOWSPEC:
		return "flowspec";
	case TG_ACT_BLACKHOLE:
		return "blackhole";
	default:
		return "?";
	}
}

bool tg_cond_true(const struct tg_cond *c, const struct tg_sample *s, double *value)
{
	double v = tg_metric_value(c->metric, s);

	*value = v;
	switch (c->op) {
	case TG_OP_GT:
		return v > c->threshold;
	case TG_OP_GE:
		return v >= c->threshold;
	case TG_OP_LT:
		return v < c->threshold;
	default:
		return v <= c->threshold;
	}
}

static int perr(char *err, size_t errlen, size_t *off, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int perr(char *err, size_t errlen, size_t *off, size_t at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	*off = at;
	return -EINVAL;
}

/* "95", "95%", "99.5%": 0..100. */
static int parse_percent(const char *v, double *out)
{
	size_t n = strspn(v, "0123456789"), len = strlen(v);
	char *end;

	if (!n)
		return -EINVAL;
	if (v[n] == '.') {
		size_t f = strspn(v + n + 1, "0123456789");

		if (!f)
			return -EINVAL;
		n += 1 + f;
	}
	if (!(n == len || (n + 1 == len && v[n] == '%')))
		return -EINVAL;
	*out = strtod(v, &end);
	return *out >= 0 && *out <= 100 ? 0 : -ERANGE;
}

static int parse_value(int metric, const char *v, double *out)
{
	uint64_t x;
	int err;

	if (!strcmp(v, "0")) { /* "drop_pps > 0": any at all (the unit parsers refuse zero) */
		*out = 0;
		return 0;
	}
	switch (tg_metric_unit(metric)) {
	case TG_MU_COUNT: {
		char *end;

		if (!*v || strspn(v, "0123456789") != strlen(v))
			return -EINVAL;
		errno = 0;
		*out = (double)strtoull(v, &end, 10);
		return errno ? -ERANGE : 0;
	}
	case TG_MU_RATE:
		err = tg_parse_rate_bps(v, &x);
		break;
	case TG_MU_PPS:
		err = tg_parse_pps(v, &x);
		break;
	default:
		return parse_percent(v, out);
	}
	if (!err)
		*out = (double)x;
	return err;
}

static const char *const unit_hint[] = {
	[TG_MU_RATE] = "a rate in bit/s, e.g. 95mbit, 1g",
	[TG_MU_PPS] = "a packet rate, e.g. 50, 20kpps",
	[TG_MU_PERCENT] = "a percentage from 0 to 100, e.g. 95%",
	[TG_MU_COUNT] = "a number, e.g. 500",
};

/* The token at s + *i: the run of characters for which in() holds. */
static size_t token(const char *s, size_t i, const char *set, bool in)
{
	return in ? strspn(s + i, set) : strcspn(s + i, set);
}

#define SPACE " \t"
#define NAMECH "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

int tg_cond_parse(const char *s, struct tg_cond *c, char *err, size_t errlen, size_t *off)
{
	char tok[TG_RULE_TEXT_MAX];
	size_t i = 0, n;
	int m;

	memset(c, 0, sizeof(*c));
	i += token(s, i, SPACE, true);
	n = token(s, i, NAMECH, true);
	if (!n)
		return perr(err, errlen, off, i,
			    "expected a metric at the start (\"<metric> <op> <value> [for "
			    "<duration>]\", e.g. \"spoof_pps > 50 for 30s\")");
	snprintf(tok, sizeof(tok), "%.*s", (int)n, s + i);
	m = tg_metric_lookup(tok);
	if (m < 0)
		return perr(err, errlen, off, i, "unknown metric '%s' (valid: %s%s)", tok,
			    METRICS_VALID, &REASONS_VALID[2]);
	c->metric = m;
	i += n;
	i += token(s, i, SPACE, true);

	n = token(s, i, "<>=!", true);
	if (!n) {
		n = token(s, i, SPACE, false);
		return perr(err, errlen, off, i,
			    "expected an operator (>, >=, <, <=) after '%s'%s%.*s%s", tok,
			    n ? ", not '" : "", (int)n, s + i, n ? "'" : "");
	}
	if (n == 1 && s[i] == '>')
		c->op = TG_OP_GT;
	else if (n == 2 && !strncmp(s + i, ">=", 2))
		c->op = TG_OP_GE;
	else if (n == 1 && s[i] == '<')
		c->op = TG_OP_LT;
	else if (n == 2 && !strncmp(s + i, "<=", 2))
		c->op = TG_OP_LE;
	else
		return perr(err, errlen, off, i, "bad operator '%.*s' (want >, >=, < or <=)",
			    (int)n, s + i);
	i += n;
	i += token(s, i, SPACE, true);

	n = token(s, i, SPACE, false);
	if (!n)
		return perr(err, errlen, off, i, "%s %s: a value is missing (%s)", tok,
			    tg_op_name(c->op), unit_hint[tg_metric_unit(m)]);
	snprintf(tok, sizeof(tok), "%.*s", (int)n, s + i);
	if (parse_value(m, tok, &c->threshold))
		return perr(err, errlen, off, i, "'%s' is not a value for %s (%s)", tok,
			    tg_metric_name(m), unit_hint[tg_metric_unit(m)]);
	i += n;
	i += token(s, i, SPACE, true);
	if (!s[i])
		return 0;

	n = token(s, i, SPACE, false);
	if (n != 3 || strncmp(s + i, "for", 3))
		return perr(err, errlen, off, i, "expected 'for <duration>' or the end, not '%.*s'",
			    (int)n, s + i);
	i += n;
	i += token(s, i, SPACE, true);
	n = token(s, i, SPACE, false);
	if (!n)
		return perr(err, errlen, off, i, "'for' needs a duration (e.g. for 30s)");
	snprintf(tok, sizeof(tok), "%.*s", (int)n, s + i);
	if (tg_parse_duration_ns(tok, &c->for_ns))
		return perr(err, errlen, off, i,
			    "for '%s' is not a duration (e.g. 30s, 10m, 1h30m)", tok);
	i += n;
	i += token(s, i, SPACE, true);
	if (s[i])
		return perr(err, errlen, off, i, "unexpected '%s' after the duration", s + i);
	return 0;
}
