// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_rules.c - enforcement rules: the `enforcement:` section of tollgate.yaml (every
 * error with the line and column it must name), the `when` parser, the metrics, and the
 * state machine of engine.c on a fake clock (int64 milliseconds the test advances).
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/engine.h"
#include "testlib.h"

static char tmpdir[64];
static char yaml_path[128], csv_path[128];

static int load(const char *yaml, struct tg_cfg **cfg, struct tg_errs *errs)
{
	tl_write_file(yaml_path, yaml);
	tl_write_file(csv_path, "id,name,plan,prefixes,interface,vlan\n");
	memset(errs, 0, sizeof(*errs));
	return tg_config_load(yaml_path, cfg, errs);
}

static void dump_errs(const struct tg_errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "    | %s\n", e->msg[i]);
}

/*
 * The error at line `line` and the column where `tok` starts on that line of yaml (the
 * n-th occurrence, 1-based), which must say `what`.
 */
static void check_err_at(const struct tg_errs *errs, const char *yaml, int line, const char *tok,
			 int nth, const char *what)
{
	const char *l = yaml, *p;
	char where[256], text[512];
	int col = 0;
	size_t len;

	for (int i = 1; i < line && l; i++) {
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	if (!l) {
		CHECK(!"line in the YAML");
		return;
	}
	len = strcspn(l, "\n");
	snprintf(text, sizeof(text), "%.*s", (int)len, l);
	for (p = text; nth > 0 && p; nth--) {
		p = strstr(p, tok);
		if (p && nth > 1)
			p++;
	}
	if (!p) {
		CHECK(!"token on the line");
		return;
	}
	col = (int)(p - text) + 1;
	snprintf(where, sizeof(where), "tollgate.yaml:%d:%d: ", line, col);
	for (size_t i = 0; i < errs->n; i++) {
		if (strstr(errs->msg[i], where) && strstr(errs->msg[i], what))
			return;
	}
	fprintf(stderr, "FAIL %s: no error at %s saying \"%s\"\n", tl_case, where, what);
	dump_errs(errs);
	tl_case_failed = 1;
}

/* ---- config ---- */

static void test_config_errors(void)
{
	static const char *const y =
		/* 1 */
		"customers: customers.csv\n"
		/* 2 */ "enforcement:\n"
		/* 3 */ "  interval: 50ms\n"
		/* 4 */ "  retention: 30m\n"
		/* 5 */ "  colour: red\n"
		/* 6 */ "  rules:\n"
		/* 7 */ "    - { name: a, when: \"spof_pps > 50\", action: suspend }\n"
		/* 8 */ "    - { name: b, when: \"spoof_pps == 50\", action: suspend }\n"
		/* 9 */ "    - { name: c, when: \"upload_bps > 95q\", action: notify }\n"
		/* 10 */ "    - { name: d, when: \"spoof_pps > 50 for\", action: suspend }\n"
		/* 11 */ "    - { name: e, when: \"spoof_pps > 50 for 30x\", action: suspend }\n"
		/* 12 */ "    - { name: f, when: \"spoof_pps > 50\", action: ban }\n"
		/* 13 */ "    - { name: a, when: \"spoof_pps > 50\", action: notify }\n"
		/* 14 */ "    - { name: \"\", when: \"spoof_pps > 50\", action: notify }\n"
		/* 15 */ "    - { name: g, when: \"spoof_pps > 50\", action: throttle }\n"
		/* 16 */
		"    - { name: h, when: \"spoof_pps > 50\", action: notify, escalate: { count: 2, "
		"within: 1d } }\n"
		/* 17 */
		"    - { name: i, when: \"spoof_pps > 50\", action: throttle, throttle_rate: fast "
		"}\n"
		/* 18 */
		"    - { name: j, when: \"spoof_pps > 50\", action: notify, throttle_rate: 1m, "
		"escalate: { count: 1, within: 1d } }\n"
		/* 19 */
		"    - { name: k, when: \"spoof_pps > 50\", action: notify, throttle_rate: 1m, "
		"escalate: { count: 3 } }\n"
		/* 20 */
		"    - { name: l, when: \"spoof_pps > 50\", action: suspend, escalate: { count: 3, "
		"within: 1d } }\n"
		/* 21 */ "    - { name: m, when: \"upload_util > 120%\", action: notify, colour: x "
		"}\n"
		/* 22 */ "    - { name: n, when: \"spoof_pps > 50 for 30s extra\", action: notify "
		"}\n"
		/* 23 */ "    - { name: o, when: upload_bps 5, action: notify }\n"
		/* 24 */ "    - { name: p, when: \"spoof_pps > 5\", action: notify, duration: 0s "
		"}\n"
		/* 25 */ "    - { name: q, when: \"spoof_pps > 5\", action: notify, clear_after: "
		"soon }\n"
		/* 26 */ "    - { when: \"spoof_pps > 5\", action: notify }\n"
		/* 27 */ "    - { name: r, action: notify }\n"
		/* 28 */ "    - { name: \"s t\", when: \"spoof_pps > 5\" }\n";
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	int rc;

	TEST_BEGIN("enforcement errors: every one with FILE:LINE:COL, all collected");
	rc = load(y, &cfg, &errs);
	CHECK_EQ_U64(rc, (uint64_t)-EINVAL);
	CHECK(cfg == NULL);
	check_err_at(&errs, y, 3, "50ms", 1,
		     "enforcement.interval: 50ms is out of range (100ms..60s)");
	check_err_at(&errs, y, 4, "30m", 1,
		     "enforcement.retention: 30m is below the minimum of 1h");
	check_err_at(&errs, y, 5, "colour", 1, "unknown key 'colour' in enforcement");
	check_err_at(&errs, y, 7, "spof_pps", 1,
		     "rule 'a': when: unknown metric 'spof_pps' (valid: upload_bps, download_bps");
	check_err_at(&errs, y, 7, "spof_pps", 1, "REASON: rate, spoof, bogon");
	check_err_at(&errs, y, 8, "==", 1,
		     "rule 'b': when: bad operator '==' (want >, >=, < or <=)");
	check_err_at(&errs, y, 9, "95q", 1,
		     "rule 'c': when: '95q' is not a value for upload_bps (a rate in bit/s");
	check_err_at(&errs, y, 10, "\", action", 1,
		     "rule 'd': when: 'for' needs a duration (e.g. for 30s)");
	check_err_at(&errs, y, 11, "30x", 1, "rule 'e': when: for '30x' is not a duration");
	check_err_at(&errs, y, 12, "ban", 1,
		     "rule 'f': unknown action 'ban' (want notify, throttle, suspend, flowspec or "
		     "blackhole)");
	check_err_at(&errs, y, 13, "a,", 1, "rule 'a' is defined twice (first on line 7)");
	check_err_at(&errs, y, 14, "\"\"", 1, "rule name is empty");
	check_err_at(&errs, y, 15, "{", 1,
		     "rule 'g': action throttle needs throttle_rate (e.g. 10mbit)");
	check_err_at(&errs, y, 16, "{", 1,
		     "rule 'h': escalation reaches throttle: throttle_rate is required");
	check_err_at(&errs, y, 17, "fast", 1, "throttle_rate: 'fast' is not a rate");
	check_err_at(&errs, y, 18, "1, within", 1,
		     "escalate.count: '1': want a whole number from 2 to 16");
	check_err_at(&errs, y, 19, "{ count", 1,
		     "rule 'k': escalate needs count and within (e.g. { count: 3, within: 7d })");
	check_err_at(&errs, y, 20, "{ count", 1,
		     "rule 'l': escalate on a suspend rule: there is no action above suspend");
	check_err_at(&errs, y, 21, "120%", 1,
		     "rule 'm': when: '120%' is not a value for upload_util (a percentage from 0 "
		     "to 100");
	check_err_at(&errs, y, 21, "colour", 1, "unknown key 'colour' in a rule");
	check_err_at(&errs, y, 22, "extra", 1,
		     "rule 'n': when: unexpected 'extra' after the duration");
	check_err_at(&errs, y, 23, "5,", 1,
		     "rule 'o': when: expected an operator (>, >=, <, <=) after 'upload_bps', not "
		     "'5'");
	check_err_at(&errs, y, 24, "0s", 1, "duration: must be above zero");
	check_err_at(&errs, y, 25, "soon", 1, "clear_after: 'soon' is not a duration");
	check_err_at(&errs, y, 26, "{", 1, "rule without a name");
	check_err_at(&errs, y, 27, "{", 1, "rule 'r': 'when' is required");
	check_err_at(&errs, y, 28, "\"s t\"", 1,
		     "rule name 's t': use letters, digits, '-', '_' and '.' only");
	check_err_at(&errs, y, 28, "{", 1, "rule 's t': 'action' is required");
	CHECK_EQ_U64(errs.n, 27);
	if (errs.n != 27)
		dump_errs(&errs);
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

static void test_config_more_errors(void)
{
	char *y = malloc(70 * 80 + 200), *p;
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	const char *y2 = "customers: customers.csv\n"
			 "enforcement:\n"
			 "  interval: 2m\n"
			 "  retention: forever\n"
			 "  monitor: maybe\n"
			 "  rules: { name: a }\n";
	int rc;

	TEST_BEGIN("enforcement errors: more than 64 rules");
	p = y + sprintf(y, "customers: customers.csv\nenforcement:\n  rules:\n");
	for (int i = 0; i < 65; i++)
		p += sprintf(p, "    - { name: r%d, when: \"spoof_pps > 5\", action: notify }\n",
			     i);
	rc = load(y, &cfg, &errs);
	CHECK_EQ_U64(rc, (uint64_t)-EINVAL);
	check_err_at(&errs, y, 4, "-", 1, "enforcement.rules: 65 rules, at most 64");
	CHECK_EQ_U64(errs.n, 1);
	tg_errs_free(&errs);
	free(y);

	TEST_BEGIN("enforcement errors: interval above 60s, retention, monitor, rules shape");
	rc = load(y2, &cfg, &errs);
	CHECK_EQ_U64(rc, (uint64_t)-EINVAL);
	check_err_at(&errs, y2, 3, "2m", 1,
		     "enforcement.interval: 2m is out of range (100ms..60s)");
	check_err_at(&errs, y2, 4, "forever", 1,
		     "enforcement.retention: 'forever' is not a duration");
	check_err_at(&errs, y2, 5, "maybe", 1, "enforcement.monitor: 'maybe' is not true or false");
	check_err_at(&errs, y2, 6, "{", 1, "enforcement.rules must be a list, not a mapping");
	CHECK_EQ_U64(errs.n, 4);
	tg_errs_free(&errs);
}

static void test_config_good(void)
{
	static const char *const y =
		"customers: customers.csv\n"
		"enforcement:\n"
		"  interval: 500ms\n"
		"  monitor: false\n"
		"  retention: 30d\n"
		"  rules:\n"
		"    - name: spoofing\n"
		"      when: \"spoof_pps > 50 for 30s\"\n"
		"      action: suspend\n"
		"      duration: 1h\n"
		"      reason: \"source address spoofing (AUP 3.1)\"\n"
		"    - name: outbound-flood\n"
		"      when: \"flood_pps > 10000 for 10s\"\n"
		"      action: suspend\n"
		"    - name: fair-use\n"
		"      when: \"upload_util > 95% for 1h\"\n"
		"      action: notify\n"
		"      escalate: { count: 3, within: 7d }\n"
		"      throttle_rate: 10mbit\n"
		"      clear_after: 10m\n"
		"      monitor: true\n"
		"    - { name: dl, when: \"download_bps <= 1g\", action: throttle, throttle_rate: "
		"2.5m, clear_after: 0s }\n";
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	const struct tg_rule *r;
	int rc;

	TEST_BEGIN("enforcement: the documented example parses, field for field");
	rc = load(y, &cfg, &errs);
	CHECK_EQ_U64(rc, 0);
	if (rc || !cfg) {
		dump_errs(&errs);
		tg_errs_free(&errs);
		return;
	}
	CHECK_EQ_U64(cfg->enforcement.interval_ns, 500000000ull);
	CHECK_EQ_U64(cfg->enforcement.retention_ns, 30ull * 86400 * TG_NS_PER_S);
	CHECK(!cfg->enforcement.monitor);
	CHECK_EQ_U64(cfg->enforcement.nrules, 4);
	r = &cfg->enforcement.rules[0];
	CHECK(!strcmp(r->name, "spoofing"));
	CHECK_EQ_U64(r->cond.metric, TG_M_REASON_UP + TG_R_SPOOF);
	CHECK_EQ_U64(r->cond.op, TG_OP_GT);
	CHECK(r->cond.threshold == 50);
	CHECK_EQ_U64(r->cond.for_ns, 30 * TG_NS_PER_S);
	CHECK_EQ_U64(r->action, TG_ACT_SUSPEND);
	CHECK_EQ_U64(r->duration_ns, 3600 * TG_NS_PER_S);
	CHECK(!strcmp(r->reason, "source address spoofing (AUP 3.1)"));
	CHECK(!r->has_clear_after && !r->escalate_count && !r->monitor);
	CHECK_EQ_U64(r->line, 7);
	r = &cfg->enforcement.rules[1];
	CHECK_EQ_U64(r->cond.metric, TG_M_FLOOD_PPS);
	CHECK(r->cond.threshold == 10000);
	CHECK(!strcmp(r->reason, "flood_pps > 10000 for 10s")); /* default: the when */
	CHECK_EQ_U64(r->duration_ns, 0);
	r = &cfg->enforcement.rules[2];
	CHECK_EQ_U64(r->cond.metric, TG_M_UPLOAD_UTIL);
	CHECK(r->cond.threshold == 95);
	CHECK_EQ_U64(r->cond.for_ns, 3600 * TG_NS_PER_S);
	CHECK_EQ_U64(r->action, TG_ACT_NOTIFY);
	CHECK_EQ_U64(r->escalate_count, 3);
	CHECK_EQ_U64(r->escalate_within_ns, 7ull * 86400 * TG_NS_PER_S);
	CHECK_EQ_U64(r->throttle_bps, 10000000ull);
	CHECK(r->has_clear_after);
	CHECK_EQ_U64(r->clear_after_ns, 600 * TG_NS_PER_S);
	CHECK(r->monitor);
	r = &cfg->enforcement.rules[3];
	CHECK_EQ_U64(r->cond.metric, TG_M_DOWNLOAD_BPS);
	CHECK_EQ_U64(r->cond.op, TG_OP_LE);
	CHECK(r->cond.threshold == 1e9);
	CHECK_EQ_U64(r->throttle_bps, 2500000ull);
	CHECK(r->has_clear_after && r->clear_after_ns == 0);
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("enforcement: defaults (interval 1s, retention 90d, no rules)");
	rc = load("customers: customers.csv\nenforcement:\n", &cfg, &errs);
	CHECK_EQ_U64(rc, 0);
	if (cfg) {
		CHECK_EQ_U64(cfg->enforcement.interval_ns, TG_NS_PER_S);
		CHECK_EQ_U64(cfg->enforcement.retention_ns, 90ull * 86400 * TG_NS_PER_S);
		CHECK_EQ_U64(cfg->enforcement.nrules, 0);
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

/* ---- when, metrics ---- */

static void test_cond_parse(void)
{
	static const struct {
		const char *s;
		int metric, op;
		double thr;
		uint64_t for_ns;
	} good[] = {
		{"spoof_pps > 50 for 30s", TG_M_REASON_UP + TG_R_SPOOF, TG_OP_GT, 50,
		 30 * TG_NS_PER_S},
		{"upload_spoof_pps>=5", TG_M_REASON_UP + TG_R_SPOOF, TG_OP_GE, 5, 0},
		{"download_spoof_pps < 1k", TG_M_REASON_DOWN + TG_R_SPOOF, TG_OP_LT, 1000, 0},
		{"upload_util > 95%", TG_M_UPLOAD_UTIL, TG_OP_GT, 95, 0},
		{"download_util <= 99.5", TG_M_DOWNLOAD_UTIL, TG_OP_LE, 99.5, 0},
		{"upload_bps > 95mbit for 1h30m", TG_M_UPLOAD_BPS, TG_OP_GT, 95e6,
		 5400 * TG_NS_PER_S},
		{"download_bps > 1g", TG_M_DOWNLOAD_BPS, TG_OP_GT, 1e9, 0},
		{"upload_pps > 20kpps", TG_M_UPLOAD_PPS, TG_OP_GT, 20000, 0},
		{"  drop_pps > 0  for 500ms ", TG_M_DROP_PPS, TG_OP_GT, 0, 500 * TG_NS_PER_MS},
		{"upload_flood_pps > 10", TG_M_FLOOD_PPS, TG_OP_GT, 10, 0},
		{"download_flood_pps > 10", TG_M_DOWNLOAD_FLOOD_PPS, TG_OP_GT, 10, 0},
		{"smtp_pps > 3", TG_M_REASON_UP + TG_R_SMTP, TG_OP_GT, 3, 0},
	};
	static const struct {
		const char *s;
		size_t off;
		const char *msg;
	} bad[] = {
		{"", 0, "expected a metric"},
		{"> 5", 0, "expected a metric"},
		{"upload_download_pps > 5", 0, "unknown metric 'upload_download_pps'"},
		{"upload_upload_bps > 5", 0, "unknown metric"},
		{"spoof_pps => 5", 10, "bad operator '=>'"},
		{"spoof_pps >", 11, "spoof_pps >: a value is missing (a packet rate"},
		{"upload_util > -5", 14, "'-5' is not a value for upload_util"},
		{"spoof_pps > 5 during 30s", 14,
		 "expected 'for <duration>' or the end, not 'during'"},
		{"spoof_pps > 5 for 30", 18, "for '30' is not a duration"},
		{"download_bps > 10pps", 15, "'10pps' is not a value for download_bps"},
	};
	struct tg_cond c;
	char err[512];
	size_t off;

	TEST_BEGIN("when: good conditions compile to metric, op, threshold, for");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = tg_cond_parse(good[i].s, &c, err, sizeof(err), &off);

		CHECK_EQ_U64(rc, 0);
		if (rc)
			fprintf(stderr, "    | %s: %s\n", good[i].s, err);
		CHECK_EQ_U64(c.metric, good[i].metric);
		CHECK_EQ_U64(c.op, good[i].op);
		CHECK(c.threshold == good[i].thr);
		CHECK_EQ_U64(c.for_ns, good[i].for_ns);
	}

	TEST_BEGIN("when: bad conditions say what and where");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = tg_cond_parse(bad[i].s, &c, err, sizeof(err), &off);

		CHECK_EQ_U64(rc, (uint64_t)-EINVAL);
		CHECK_STR_CONTAINS(err, bad[i].msg);
		CHECK_EQ_U64(off, bad[i].off);
	}
}

static void test_metrics(void)
{
	struct tg_sample s = {0};
	int m;

	s.bps[TG_DIR_UP] = 1e6;
	s.bps[TG_DIR_DOWN] = 2e6;
	s.pps[TG_DIR_UP] = 100;
	s.pps[TG_DIR_DOWN] = 200;
	s.util[TG_DIR_UP] = 50;
	s.util[TG_DIR_DOWN] = 75;
	for (int r = 0; r < TG_R_NR; r++) {
		s.drop_pps[TG_DIR_UP][r] = 1 << r;	     /* 1, 2, 4, ... */
		s.drop_pps[TG_DIR_DOWN][r] = 1000 * (r + 1); /* 1000, 2000, ... */
	}

	TEST_BEGIN("metrics: traffic, utilisation, drops by reason, sums, both directions");
	CHECK(tg_metric_value(TG_M_UPLOAD_BPS, &s) == 1e6);
	CHECK(tg_metric_value(TG_M_DOWNLOAD_BPS, &s) == 2e6);
	CHECK(tg_metric_value(TG_M_UPLOAD_PPS, &s) == 100);
	CHECK(tg_metric_value(TG_M_DOWNLOAD_PPS, &s) == 200);
	CHECK(tg_metric_value(TG_M_UPLOAD_UTIL, &s) == 50);
	CHECK(tg_metric_value(TG_M_DOWNLOAD_UTIL, &s) == 75);
	CHECK(tg_metric_value(tg_metric_lookup("spoof_pps"), &s) == 2);
	CHECK(tg_metric_value(tg_metric_lookup("upload_suspended_pps"), &s) == 512);
	CHECK(tg_metric_value(tg_metric_lookup("download_spoof_pps"), &s) == 2000);
	CHECK(tg_metric_value(tg_metric_lookup("download_smtp_pps"), &s) == 9000);
	/* flood_syn..flood_frag = reasons 4..7 */
	CHECK(tg_metric_value(TG_M_FLOOD_PPS, &s) == 16 + 32 + 64 + 128);
	CHECK(tg_metric_value(TG_M_DOWNLOAD_FLOOD_PPS, &s) == 5000 + 6000 + 7000 + 8000);
	CHECK(tg_metric_value(TG_M_DROP_PPS, &s) == (1 << TG_R_NR) - 1);
	CHECK(tg_metric_value(TG_M_DOWNLOAD_DROP_PPS, &s) == 500 * TG_R_NR * (TG_R_NR + 1));
	for (m = 0; m < TG_M_NR; m++)
		CHECK_EQ_U64(tg_metric_lookup(tg_metric_name(m)), m);
	CHECK_EQ_U64(tg_metric_lookup("flood_syn_pps"), TG_M_REASON_UP + TG_R_FLOOD_SYN);
	CHECK_EQ_U64(tg_metric_lookup("upload_flood_syn_pps"), TG_M_REASON_UP + TG_R_FLOOD_SYN);
	CHECK_EQ_U64(tg_metric_lookup("upload_drop_pps"), TG_M_DROP_PPS);
	CHECK_EQ_U64(tg_metric_lookup("upload_upload_pps"), (uint64_t)-1);
	CHECK_EQ_U64(tg_metric_lookup("upload_download_spoof_pps"), (uint64_t)-1);
}

/* ---- the engine ---- */

#define T0 1700000000000ll /* ms */
#define SEC 1000ll
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

struct evlog {
	struct tg_eng_event ev[512];
	int n;
};

static void on_event(void *ctx, const struct tg_eng_event *ev)
{
	struct evlog *l = ctx;

	if (l->n < (int)(sizeof(l->ev) / sizeof(l->ev[0])))
		l->ev[l->n] = *ev;
	l->n++;
}

/* A rule from its `when` (which must parse). */
static struct tg_rule rule(const char *name, const char *when, int action)
{
	struct tg_rule r = {.action = action};
	char err[256];
	size_t off;

	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.when, sizeof(r.when), "%s", when);
	if (tg_cond_parse(when, &r.cond, err, sizeof(err), &off)) {
		fprintf(stderr, "bad when in a test: %s: %s\n", when, err);
		abort();
	}
	return r;
}

static struct tg_sample spoof(double pps)
{
	struct tg_sample s = {0};

	s.drop_pps[TG_DIR_UP][TG_R_SPOOF] = pps;
	return s;
}

static struct tg_engine *engine(struct tg_rule *rules, size_t n, bool monitor, struct evlog *l)
{
	struct tg_enforce_cfg cfg = {
		.interval_ns = TG_NS_PER_S, .monitor = monitor, .rules = rules, .nrules = n};

	memset(l, 0, sizeof(*l));
	return tg_engine_new(&cfg, on_event, l);
}

/* Samples every second from *t for n seconds, all of pps spoofing. */
static void run(struct tg_engine *e, uint32_t cust, int64_t *t, int n, double pps)
{
	struct tg_sample s = spoof(pps);

	for (int i = 0; i < n; i++, *t += SEC)
		tg_engine_eval(e, cust, &s, *t);
}

static void test_engine_for(void)
{
	struct tg_rule r = rule("spoofing", "spoof_pps > 50 for 30s", TG_ACT_NOTIFY);
	struct evlog l;
	struct tg_engine *e = engine(&r, 1, false, &l);
	int64_t t = T0;

	TEST_BEGIN("engine: 'for 30s' fires at the 30th true sample, not the 29th");
	run(e, 7, &t, 29, 100);
	CHECK_EQ_U64(l.n, 0);
	CHECK_EQ_U64(tg_engine_tracked(e), 1); /* a condition true now is state */
	run(e, 7, &t, 1, 100);
	CHECK_EQ_U64(l.n, 1);
	CHECK_EQ_U64(l.ev[0].kind, TG_EV_NOTIFY);
	CHECK_EQ_U64(l.ev[0].cust, 7);
	CHECK_EQ_U64(l.ev[0].rule, 0);
	CHECK_EQ_U64(l.ev[0].at_ms, T0 + 29 * SEC);
	CHECK_EQ_U64(l.ev[0].held_ms, 30 * SEC);
	CHECK(l.ev[0].value == 100 && l.ev[0].threshold == 50);
	CHECK(!l.ev[0].monitor && !l.ev[0].applied && !l.ev[0].escalated);

	TEST_BEGIN("engine: one firing per episode");
	run(e, 7, &t, 100, 100);
	CHECK_EQ_U64(l.n, 1);
	run(e, 7, &t, 1, 0); /* no clear_after: the first false sample ends it */
	CHECK_EQ_U64(l.n, 2);
	CHECK_EQ_U64(l.ev[1].kind, TG_EV_EPISODE_CLOSE);
	CHECK_EQ_U64(l.ev[1].fired_at_ms, T0 + 29 * SEC);
	CHECK_EQ_U64(tg_engine_tracked(e), 0);
	tg_engine_free(e);

	TEST_BEGIN("engine: an interruption resets the 'for' run");
	e = engine(&r, 1, false, &l);
	t = T0;
	run(e, 7, &t, 20, 100);
	run(e, 7, &t, 1, 50); /* not > 50 */
	run(e, 7, &t, 29, 100);
	CHECK_EQ_U64(l.n, 0);
	CHECK_EQ_U64(tg_engine_tracked(e), 1);
	run(e, 7, &t, 1, 100);
	CHECK_EQ_U64(l.n, 1);
	CHECK_EQ_U64(l.ev[0].at_ms, T0 + 50 * SEC);
	tg_engine_free(e);

	TEST_BEGIN("engine: 'for' 0 fires at the first true sample");
	r = rule("spoofing", "spoof_pps >= 50", TG_ACT_NOTIFY);
	e = engine(&r, 1, false, &l);
	t = T0;
	run(e, 3, &t, 1, 50);
	CHECK_EQ_U64(l.n, 1);
	CHECK_EQ_U64(l.ev[0].held_ms, SEC);
	tg_engine_free(e);
}

static void test_engine_clear_after(void)
{
	struct tg_rule r = rule("spoofing", "spoof_pps > 50", TG_ACT_NOTIFY);
	struct evlog l;
	struct tg_engine *e;
	int64_t t = T0;

	r.has_clear_after = true;
	r.clear_after_ns = 10 * TG_NS_PER_S;
	e = engine(&r, 1, false, &l);

	TEST_BEGIN("engine: clear_after: a short false gap does not end the episode");
	run(e, 1, &t, 3, 100);
	run(e, 1, &t, 9, 0);
	run(e, 1, &t, 3, 100);
	CHECK_EQ_U64(l.n, 1); /* the one firing, no close, no second firing */

	TEST_BEGIN("engine: clear_after: false for 10s ends it at the 10th false sample");
	run(e, 1, &t, 9, 0);
	CHECK_EQ_U64(l.n, 1);
	run(e, 1, &t, 1, 0);
	CHECK_EQ_U64(l.n, 2);
	CHECK_EQ_U64(l.ev[1].kind, TG_EV_EPISODE_CLOSE);
	CHECK_EQ_U64(l.ev[1].held_ms, 10 * SEC);
	CHECK_EQ_U64(l.ev[1].at_ms, T0 + 24 * SEC);
	run(e, 1, &t, 1, 100);
	CHECK_EQ_U64(l.n, 3);
	CHECK_EQ_U64(l.ev[2].kind, TG_EV_NOTIFY);
	tg_engine_free(e);
}

/* One episode: a true sample at t (fires with for 0), a false one a second later. */
static void episode(struct tg_engine *e, uint32_t cust, int64_t t)
{
	run(e, cust, &t, 1, 100);
	run(e, cust, &t, 1, 0);
}

static void test_engine_escalate(void)
{
	struct tg_rule r = rule("fair-use", "spoof_pps > 50", TG_ACT_NOTIFY);
	struct tg_cust_state st;
	struct evlog l;
	struct tg_engine *e;

	r.escalate_count = 3;
	r.escalate_within_ns = 7ull * 86400 * TG_NS_PER_S;
	r.throttle_bps = 10000000;
	e = engine(&r, 1, false, &l);

	TEST_BEGIN("engine: escalate: the 3rd firing within 7d takes the next action");
	episode(e, 5, T0);
	episode(e, 5, T0 + DAY);
	CHECK_EQ_U64(l.n, 4);
	CHECK_EQ_U64(l.ev[0].kind, TG_EV_NOTIFY);
	CHECK_EQ_U64(l.ev[2].kind, TG_EV_NOTIFY);
	CHECK_EQ_U64(tg_engine_tracked(e), 1); /* the firings are remembered */
	episode(e, 5, T0 + 2 * DAY);
	CHECK_EQ_U64(l.n, 6);
	CHECK_EQ_U64(l.ev[4].kind, TG_EV_THROTTLE);
	CHECK(l.ev[4].escalated && l.ev[4].applied);
	CHECK_EQ_U64(l.ev[4].throttle_bps, 10000000);
	tg_engine_state(e, 5, &st);
	CHECK_EQ_U64(st.state, TG_CS_THROTTLED);
	CHECK_EQ_U64(st.throttle_bps, 10000000);
	CHECK_EQ_U64(st.rule, 0);
	CHECK_EQ_U64(st.since_ms, T0 + 2 * DAY);
	CHECK_EQ_U64(st.until_ms, 0);

	TEST_BEGIN("engine: escalate: firings outside the window do not count");
	episode(e, 6, T0);
	episode(e, 6, T0 + 4 * DAY);
	episode(e, 6, T0 + 8 * DAY); /* T0 is 8 days back */
	CHECK_EQ_U64(l.n, 12);
	CHECK_EQ_U64(l.ev[10].kind, TG_EV_NOTIFY);
	CHECK(!l.ev[10].escalated);
	episode(e, 6, T0 + 11 * DAY - 1); /* T0+4d is 7d - 1 ms back: inside */
	CHECK_EQ_U64(l.ev[12].kind, TG_EV_THROTTLE);
	CHECK(l.ev[12].escalated);

	TEST_BEGIN("engine: escalate: a firing exactly 'within' ago is outside");
	episode(e, 8, T0);
	episode(e, 8, T0 + 6 * DAY);
	episode(e, 8, T0 + 7 * DAY);
	CHECK_EQ_U64(l.ev[18].kind, TG_EV_NOTIFY);
	tg_engine_free(e);

	TEST_BEGIN("engine: escalate: throttle escalates to suspend");
	r.action = TG_ACT_THROTTLE;
	r.escalate_count = 2;
	e = engine(&r, 1, false, &l);
	episode(e, 5, T0);
	episode(e, 5, T0 + HOUR);
	CHECK_EQ_U64(l.ev[0].kind, TG_EV_THROTTLE);
	CHECK_EQ_U64(l.ev[2].kind, TG_EV_SUSPEND);
	tg_engine_state(e, 5, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	tg_engine_free(e);
}

static void test_engine_lifts(void)
{
	struct tg_rule r = rule("spoofing", "spoof_pps > 50", TG_ACT_SUSPEND);
	struct tg_cust_state st;
	struct evlog l;
	struct tg_engine *e;
	int64_t t = T0;

	r.duration_ns = 3600 * TG_NS_PER_S;
	e = engine(&r, 1, false, &l);

	TEST_BEGIN("engine: duration: suspended at the firing, lifted exactly at until");
	run(e, 9, &t, 5, 100); /* fires at T0, episode ends at T0+5s */
	CHECK_EQ_U64(l.n, 1);
	CHECK_EQ_U64(l.ev[0].kind, TG_EV_SUSPEND);
	CHECK(l.ev[0].applied);
	CHECK_EQ_U64(l.ev[0].until_ms, T0 + HOUR);
	run(e, 9, &t, 1, 0);
	tg_engine_expire(e, T0 + HOUR - 1);
	tg_engine_state(e, 9, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	CHECK_EQ_U64(st.until_ms, T0 + HOUR);
	CHECK_EQ_U64(l.n, 2);
	tg_engine_expire(e, T0 + HOUR);
	CHECK_EQ_U64(l.n, 3);
	CHECK_EQ_U64(l.ev[2].kind, TG_EV_LIFT);
	CHECK_EQ_U64(l.ev[2].rule, 0);
	CHECK_EQ_U64(l.ev[2].at_ms, T0 + HOUR);
	tg_engine_state(e, 9, &st);
	CHECK_EQ_U64(st.state, TG_CS_ACTIVE);
	CHECK_EQ_U64(tg_engine_tracked(e), 0);

	TEST_BEGIN("engine: duration by eval: the sample at until lifts, the one before not");
	t = T0;
	run(e, 10, &t, 1, 100);
	t = T0 + HOUR - SEC;
	run(e, 10, &t, 1, 0);
	tg_engine_state(e, 10, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	run(e, 10, &t, 1, 0);
	tg_engine_state(e, 10, &st);
	CHECK_EQ_U64(st.state, TG_CS_ACTIVE);
	tg_engine_free(e);

	TEST_BEGIN("engine: duration + clear_after: held while the episode is open");
	r.duration_ns = 10 * TG_NS_PER_S;
	r.has_clear_after = true;
	r.clear_after_ns = 5 * TG_NS_PER_S;
	e = engine(&r, 1, false, &l);
	t = T0;
	run(e, 9, &t, 30, 100); /* past until, still spoofing */
	tg_engine_state(e, 9, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	tg_engine_expire(e, t);
	tg_engine_state(e, 9, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	run(e, 9, &t, 4, 0);
	CHECK_EQ_U64(l.n, 1);
	run(e, 9, &t, 1, 0); /* 5th false sample: the episode ends and the state lifts */
	CHECK_EQ_U64(l.n, 3);
	CHECK_EQ_U64(l.ev[1].kind, TG_EV_EPISODE_CLOSE);
	CHECK_EQ_U64(l.ev[2].kind, TG_EV_LIFT);
	CHECK_EQ_U64(l.ev[2].at_ms, T0 + 34 * SEC);
	tg_engine_free(e);

	TEST_BEGIN("engine: no duration, clear_after: lifts when the episode ends");
	r.duration_ns = 0;
	e = engine(&r, 1, false, &l);
	t = T0;
	run(e, 9, &t, 3, 100);
	run(e, 9, &t, 4, 0);
	tg_engine_state(e, 9, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	CHECK_EQ_U64(st.until_ms, 0);
	run(e, 9, &t, 1, 0);
	tg_engine_state(e, 9, &st);
	CHECK_EQ_U64(st.state, TG_CS_ACTIVE);
	CHECK_EQ_U64(l.ev[l.n - 1].kind, TG_EV_LIFT);
	tg_engine_free(e);

	TEST_BEGIN("engine: neither duration nor clear_after: stays until lifted by hand");
	r.has_clear_after = false;
	e = engine(&r, 1, false, &l);
	t = T0;
	run(e, 9, &t, 3, 100);
	run(e, 9, &t, 10, 0);
	tg_engine_expire(e, T0 + 365 * DAY);
	tg_engine_state(e, 9, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	CHECK_EQ_U64(l.n, 2); /* the firing and the episode end */
	tg_engine_free(e);
}

static void test_engine_levels(void)
{
	struct tg_rule r[2] = {rule("spoofing", "spoof_pps > 50", TG_ACT_SUSPEND),
			       rule("flood", "flood_pps > 10", TG_ACT_THROTTLE)};
	struct tg_sample s = spoof(100);
	struct tg_cust_state st;
	struct evlog l;
	struct tg_engine *e;

	r[1].throttle_bps = 1000000;
	e = engine(r, 2, false, &l);

	TEST_BEGIN("engine: a throttle firing does not downgrade a suspension");
	tg_engine_eval(e, 4, &s, T0);
	s.drop_pps[TG_DIR_UP][TG_R_FLOOD_UDP] = 20;
	tg_engine_eval(e, 4, &s, T0 + SEC);
	CHECK_EQ_U64(l.n, 2);
	CHECK_EQ_U64(l.ev[1].kind, TG_EV_THROTTLE);
	CHECK_EQ_U64(l.ev[1].rule, 1);
	CHECK(!l.ev[1].applied);
	tg_engine_state(e, 4, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	CHECK_EQ_U64(st.rule, 0);
	CHECK_EQ_U64(st.throttle_bps, 0);

	TEST_BEGIN("engine: a suspend firing raises a throttle");
	s = spoof(0);
	s.drop_pps[TG_DIR_UP][TG_R_FLOOD_SYN] = 20;
	tg_engine_eval(e, 5, &s, T0);
	tg_engine_state(e, 5, &st);
	CHECK_EQ_U64(st.state, TG_CS_THROTTLED);
	CHECK_EQ_U64(st.throttle_bps, 1000000);
	s.drop_pps[TG_DIR_UP][TG_R_SPOOF] = 60;
	tg_engine_eval(e, 5, &s, T0 + SEC);
	tg_engine_state(e, 5, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	CHECK_EQ_U64(st.rule, 0);
	CHECK_EQ_U64(st.since_ms, T0 + SEC);
	tg_engine_free(e);
}

static void test_engine_manual(void)
{
	struct tg_rule r = rule("spoofing", "spoof_pps > 50", TG_ACT_SUSPEND);
	struct tg_cust_state st;
	struct evlog l;
	struct tg_engine *e = engine(&r, 1, false, &l);
	int64_t t = T0;

	TEST_BEGIN("engine: manual suspend without until stays");
	CHECK_EQ_U64(tg_engine_manual(e, 11, TG_CS_SUSPENDED, 0, 0, T0), 0);
	CHECK_EQ_U64(l.n, 1);
	CHECK_EQ_U64(l.ev[0].kind, TG_EV_SUSPEND);
	CHECK_EQ_U64(l.ev[0].rule, (uint64_t)-1);
	tg_engine_expire(e, T0 + 365 * DAY);
	run(e, 11, &t, 3, 0);
	tg_engine_state(e, 11, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	CHECK_EQ_U64(st.rule, (uint64_t)-1);
	CHECK_EQ_U64(l.n, 1);

	TEST_BEGIN("engine: manual suspend with until lifts at until");
	CHECK_EQ_U64(tg_engine_manual(e, 12, TG_CS_SUSPENDED, 0, T0 + HOUR, T0), 0);
	tg_engine_expire(e, T0 + HOUR - 1);
	tg_engine_state(e, 12, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	tg_engine_expire(e, T0 + HOUR);
	tg_engine_state(e, 12, &st);
	CHECK_EQ_U64(st.state, TG_CS_ACTIVE);
	CHECK_EQ_U64(l.ev[l.n - 1].kind, TG_EV_LIFT);
	CHECK_EQ_U64(l.ev[l.n - 1].rule, (uint64_t)-1);

	TEST_BEGIN("engine: manual unsuspend lifts a rule's suspension; no second firing");
	l.n = 0;
	t = T0;
	run(e, 13, &t, 1, 100);
	tg_engine_state(e, 13, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	CHECK_EQ_U64(tg_engine_manual(e, 13, TG_CS_ACTIVE, 0, 0, t), 0);
	tg_engine_state(e, 13, &st);
	CHECK_EQ_U64(st.state, TG_CS_ACTIVE);
	CHECK_EQ_U64(l.ev[1].kind, TG_EV_LIFT);
	run(e, 13, &t, 10, 100); /* still spoofing: the same episode */
	tg_engine_state(e, 13, &st);
	CHECK_EQ_U64(st.state, TG_CS_ACTIVE);
	CHECK_EQ_U64(l.n, 2);

	TEST_BEGIN("engine: manual throttle replaces a rule's suspension; bad arguments");
	run(e, 14, &t, 1, 100);
	CHECK_EQ_U64(tg_engine_manual(e, 14, TG_CS_THROTTLED, 5000000, 0, t), 0);
	tg_engine_state(e, 14, &st);
	CHECK_EQ_U64(st.state, TG_CS_THROTTLED);
	CHECK_EQ_U64(st.throttle_bps, 5000000);
	CHECK_EQ_U64(st.rule, (uint64_t)-1);
	CHECK_EQ_U64(tg_engine_manual(e, 14, TG_CS_THROTTLED, 0, 0, t), (uint64_t)-EINVAL);
	CHECK_EQ_U64(tg_engine_manual(e, 14, 7, 0, 0, t), (uint64_t)-EINVAL);
	tg_engine_free(e);
}

static void test_engine_monitor(void)
{
	struct tg_rule r[2] = {rule("spoofing", "spoof_pps > 50", TG_ACT_SUSPEND),
			       rule("flood", "flood_pps > 10", TG_ACT_THROTTLE)};
	struct tg_sample s = spoof(100);
	struct tg_cust_state st;
	struct evlog l;
	struct tg_engine *e;
	int64_t t = T0;

	r[0].duration_ns = 10 * TG_NS_PER_S;
	r[1].throttle_bps = 1000000;
	e = engine(r, 2, true, &l);

	TEST_BEGIN("engine: global monitor: would-fire and would-lift events, state unchanged");
	run(e, 2, &t, 20, 100);
	/* would suspend at T0 for 10 s; the lift ends the episode; still spoofing, it would
	 * suspend again at the next sample */
	CHECK_EQ_U64(l.n, 4);
	CHECK_EQ_U64(l.ev[0].kind, TG_EV_SUSPEND);
	CHECK(l.ev[0].monitor && !l.ev[0].applied);
	CHECK_EQ_U64(l.ev[0].until_ms, T0 + 10 * SEC);
	CHECK_EQ_U64(l.ev[1].kind, TG_EV_LIFT);
	CHECK(l.ev[1].monitor);
	CHECK_EQ_U64(l.ev[1].at_ms, T0 + 10 * SEC);
	CHECK_EQ_U64(l.ev[2].kind, TG_EV_EPISODE_CLOSE);
	CHECK(l.ev[2].monitor);
	CHECK_EQ_U64(l.ev[2].at_ms, T0 + 10 * SEC);
	CHECK_EQ_U64(l.ev[3].kind, TG_EV_SUSPEND);
	CHECK(l.ev[3].monitor && !l.ev[3].applied);
	CHECK_EQ_U64(l.ev[3].at_ms, T0 + 11 * SEC);
	tg_engine_state(e, 2, &st);
	CHECK_EQ_U64(st.state, TG_CS_ACTIVE);
	run(e, 2, &t, 1, 0);
	CHECK_EQ_U64(l.n, 5);
	CHECK_EQ_U64(l.ev[4].kind, TG_EV_EPISODE_CLOSE);
	CHECK(l.ev[4].monitor);
	run(e, 2, &t, 1, 0); /* T0 + 21 s: the second would-be suspension lifts */
	CHECK_EQ_U64(l.n, 6);
	CHECK_EQ_U64(l.ev[5].kind, TG_EV_LIFT);
	CHECK_EQ_U64(tg_engine_tracked(e), 0);
	tg_engine_free(e);

	TEST_BEGIN("engine: a suspension that runs out while the condition holds fires again after "
		   "for");
	r[0].cond.for_ns = 3 * TG_NS_PER_S;
	e = engine(r, 1, false, &l);
	t = T0;
	run(e, 5, &t, 3, 100); /* holds at T0 + 2 s (3 samples) */
	CHECK_EQ_U64(l.n, 1);
	CHECK_EQ_U64(l.ev[0].kind, TG_EV_SUSPEND);
	CHECK(l.ev[0].applied);
	CHECK_EQ_U64(l.ev[0].until_ms, T0 + 12 * SEC);
	run(e, 5, &t, 10, 100); /* T0 + 3 .. 12 s: lifts at 12 s, the episode with it */
	CHECK_EQ_U64(l.n, 3);
	CHECK_EQ_U64(l.ev[1].kind, TG_EV_LIFT);
	CHECK_EQ_U64(l.ev[1].at_ms, T0 + 12 * SEC);
	CHECK_EQ_U64(l.ev[2].kind, TG_EV_EPISODE_CLOSE);
	run(e, 5, &t, 2, 100); /* 13, 14 s: the new run has held 2 s of 3 */
	CHECK_EQ_U64(l.n, 3);
	run(e, 5, &t, 1, 100); /* 15 s: held 3 s: suspended again */
	CHECK_EQ_U64(l.n, 4);
	CHECK_EQ_U64(l.ev[3].kind, TG_EV_SUSPEND);
	CHECK_EQ_U64(l.ev[3].at_ms, T0 + 15 * SEC);
	CHECK(l.ev[3].applied);
	tg_engine_state(e, 5, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	tg_engine_free(e);
	r[0].cond.for_ns = 0;

	TEST_BEGIN("engine: per-rule monitor: only that rule changes nothing");
	r[0].monitor = true;
	e = engine(r, 2, false, &l);
	s.drop_pps[TG_DIR_UP][TG_R_FLOOD_ICMP] = 50;
	tg_engine_eval(e, 2, &s, T0);
	CHECK_EQ_U64(l.n, 2);
	CHECK(l.ev[0].monitor && l.ev[0].kind == TG_EV_SUSPEND && !l.ev[0].applied);
	CHECK(!l.ev[1].monitor && l.ev[1].kind == TG_EV_THROTTLE && l.ev[1].applied);
	tg_engine_state(e, 2, &st);
	CHECK_EQ_U64(st.state, TG_CS_THROTTLED);
	CHECK_EQ_U64(st.rule, 1);
	tg_engine_eval(e, 2, &s, T0 + SEC);
	CHECK_EQ_U64(l.n, 2); /* once per episode, monitor or not */
	tg_engine_free(e);
}

struct persisted {
	struct tg_cust_state st;
	int64_t episode_at; /* 0: none */
	int64_t firings[8];
	int nfirings;
};

static void test_engine_restore(void)
{
	struct tg_rule r = rule("spoofing", "spoof_pps > 50", TG_ACT_SUSPEND);
	struct tg_cust_state st;
	struct evlog l;
	struct tg_engine *e;
	int64_t t = T0;
	int ri;

	r.duration_ns = 3600 * TG_NS_PER_S;
	r.has_clear_after = true;
	r.clear_after_ns = 0;
	e = engine(&r, 1, false, &l);

	TEST_BEGIN("engine: restore after a restart: no second firing, suspension expires");
	run(e, 21, &t, 10, 100);
	CHECK_EQ_U64(l.n, 1);
	tg_engine_state(e, 21, &st); /* what the daemon wrote to the database */
	tg_engine_free(e);	     /* kill -9 */

	e = engine(&r, 1, false, &l);
	ri = tg_engine_rule_index(e, "spoofing");
	CHECK_EQ_U64(ri, 0);
	CHECK_EQ_U64(tg_engine_restore_state(e, 21, &st), 0);
	CHECK_EQ_U64(tg_engine_restore_episode(e, 21, ri, T0), 0);
	run(e, 21, &t, 30, 100); /* still spoofing */
	CHECK_EQ_U64(l.n, 0);
	tg_engine_state(e, 21, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	CHECK_EQ_U64(st.until_ms, T0 + HOUR);
	CHECK_EQ_U64(st.since_ms, T0);
	run(e, 21, &t, 1, 0); /* the episode ends; until has not come */
	CHECK_EQ_U64(l.n, 1);
	CHECK_EQ_U64(l.ev[0].kind, TG_EV_EPISODE_CLOSE);
	CHECK_EQ_U64(l.ev[0].fired_at_ms, T0);
	tg_engine_expire(e, T0 + HOUR - 1);
	tg_engine_state(e, 21, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	tg_engine_expire(e, T0 + HOUR);
	tg_engine_state(e, 21, &st);
	CHECK_EQ_U64(st.state, TG_CS_ACTIVE);
	CHECK_EQ_U64(l.n, 2);
	CHECK_EQ_U64(l.ev[1].kind, TG_EV_LIFT);
	CHECK_EQ_U64(tg_engine_restore_episode(e, 21, 5, T0), (uint64_t)-EINVAL);
	tg_engine_free(e);

	TEST_BEGIN("engine: restored firings count for escalation");
	r = rule("fair-use", "spoof_pps > 50", TG_ACT_NOTIFY);
	r.escalate_count = 3;
	r.escalate_within_ns = 7ull * 86400 * TG_NS_PER_S;
	r.throttle_bps = 1000000;
	e = engine(&r, 1, false, &l);
	CHECK_EQ_U64(tg_engine_restore_firing(e, 22, 0, T0 - 2 * DAY), 0);
	CHECK_EQ_U64(tg_engine_restore_firing(e, 22, 0, T0 - 1 * DAY), 0);
	episode(e, 22, T0);
	CHECK_EQ_U64(l.ev[0].kind, TG_EV_THROTTLE);
	CHECK(l.ev[0].escalated);
	CHECK_EQ_U64(tg_engine_restore_firing(e, 23, 0, T0 - 8 * DAY), 0);
	CHECK_EQ_U64(tg_engine_restore_firing(e, 23, 0, T0 - 1 * DAY), 0);
	episode(e, 23, T0);
	CHECK_EQ_U64(l.ev[2].kind, TG_EV_NOTIFY);
	tg_engine_free(e);
}

static void test_engine_set_rules(void)
{
	struct tg_rule r[2] = {rule("a", "flood_pps > 10", TG_ACT_NOTIFY),
			       rule("spoofing", "spoof_pps > 50", TG_ACT_SUSPEND)};
	struct tg_rule r2[2] = {rule("spoofing", "spoof_pps > 60", TG_ACT_SUSPEND),
				rule("c", "drop_pps > 1000", TG_ACT_NOTIFY)};
	struct tg_enforce_cfg cfg = {.interval_ns = TG_NS_PER_S, .rules = r2, .nrules = 2};
	struct tg_sample s = spoof(100);
	struct tg_cust_state st;
	struct evlog l;
	struct tg_engine *e = engine(r, 2, false, &l);

	TEST_BEGIN("engine: set_rules keeps state by name, drops the removed rule's");
	s.drop_pps[TG_DIR_UP][TG_R_FLOOD_SYN] = 50;
	tg_engine_eval(e, 31, &s, T0);
	CHECK_EQ_U64(l.n, 2);
	tg_engine_state(e, 31, &st);
	CHECK_EQ_U64(st.rule, 1);
	CHECK_EQ_U64(tg_engine_set_rules(e, &cfg), 0);
	CHECK_EQ_U64(tg_engine_nrules(e), 2);
	CHECK_EQ_U64(tg_engine_rule_index(e, "spoofing"), 0);
	CHECK_EQ_U64(tg_engine_rule_index(e, "a"), (uint64_t)-1);
	tg_engine_state(e, 31, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	CHECK_EQ_U64(st.rule, 0);
	/* spoofing's episode is still open under its new index: no second firing; drop_pps is
	 * 150, below c's 1000 */
	tg_engine_eval(e, 31, &s, T0 + SEC);
	CHECK_EQ_U64(l.n, 2);
	s = spoof(0);
	tg_engine_eval(e, 31, &s, T0 + 2 * SEC);
	CHECK_EQ_U64(l.n, 3);
	CHECK_EQ_U64(l.ev[2].kind, TG_EV_EPISODE_CLOSE);
	CHECK_EQ_U64(l.ev[2].rule, 0);

	TEST_BEGIN("engine: set_rules: a removed rule's state stays, as if set by hand");
	cfg.rules = &r2[1];
	cfg.nrules = 1;
	CHECK_EQ_U64(tg_engine_set_rules(e, &cfg), 0);
	tg_engine_state(e, 31, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	CHECK_EQ_U64(st.rule, (uint64_t)-1);
	CHECK_EQ_U64(tg_engine_tracked(e), 1);

	TEST_BEGIN("engine: forget drops a customer's state without events");
	tg_engine_forget(e, 31);
	CHECK_EQ_U64(tg_engine_tracked(e), 0);
	tg_engine_state(e, 31, &st);
	CHECK_EQ_U64(st.state, TG_CS_ACTIVE);
	CHECK_EQ_U64(l.n, 3);
	tg_engine_free(e);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_engine_scale(void)
{
	struct tg_rule r[3] = {rule("spoofing", "spoof_pps > 50 for 30s", TG_ACT_SUSPEND),
			       rule("flood", "flood_pps > 10000 for 10s", TG_ACT_SUSPEND),
			       rule("fair-use", "upload_util > 95% for 1h", TG_ACT_NOTIFY)};
	struct tg_sample *s = calloc(1024, sizeof(*s));
	struct evlog l;
	struct tg_engine *e = engine(r, 3, false, &l);
	const uint32_t n = 1000000;
	double t0, dt;

	TEST_BEGIN("engine: 1M customers x 3 rules, all false: no state, well under 100 ms");
	if (!s || !e) {
		CHECK(!"allocation");
		free(s);
		tg_engine_free(e);
		return;
	}
	for (int i = 0; i < 1024; i++) { /* traffic below every threshold */
		s[i].util[TG_DIR_UP] = i % 90;
		s[i].drop_pps[TG_DIR_UP][TG_R_SPOOF] = i % 50;
		s[i].drop_pps[TG_DIR_UP][TG_R_FLOOD_UDP] = i;
	}
	t0 = now_s();
	for (uint32_t c = 0; c < n; c++)
		tg_engine_eval(e, c, &s[c & 1023], T0);
	dt = now_s() - t0;
	printf("  1M customers x 3 rules evaluated in %.1f ms\n", dt * 1e3);
	CHECK(dt < 2.0);
	CHECK_EQ_U64(tg_engine_tracked(e), 0);
	CHECK_EQ_U64(l.n, 0);

	TEST_BEGIN("engine: 10k customers with a true condition are tracked, then released");
	s[0].drop_pps[TG_DIR_UP][TG_R_SPOOF] = 100;
	for (uint32_t c = 0; c < n; c += 100)
		tg_engine_eval(e, c, &s[0], T0 + SEC);
	CHECK_EQ_U64(tg_engine_tracked(e), 10000);
	s[0].drop_pps[TG_DIR_UP][TG_R_SPOOF] = 0;
	for (uint32_t c = 0; c < n; c += 100)
		tg_engine_eval(e, c, &s[0], T0 + 2 * SEC);
	CHECK_EQ_U64(tg_engine_tracked(e), 0);
	CHECK_EQ_U64(l.n, 0);
	free(s);
	tg_engine_free(e);
}

/* ---- h9: a refused event is undone and comes again ---- */

struct refuser {
	struct tg_engine *e;
	int refuse;   /* refuse the next this many events */
	int accepted; /* events accepted */
	struct tg_eng_event last;
};

static void on_event_refuse(void *ctx, const struct tg_eng_event *ev)
{
	struct refuser *x = ctx;

	if (x->refuse > 0) {
		x->refuse--;
		tg_engine_refuse(x->e);
		return;
	}
	x->accepted++;
	x->last = *ev;
}

static void test_engine_refuse(void)
{
	struct tg_rule r = rule("spoofing", "spoof_pps > 50 for 3s", TG_ACT_SUSPEND);
	struct tg_enforce_cfg cfg = {.interval_ns = TG_NS_PER_S, .rules = &r, .nrules = 1};
	struct refuser x = {0};
	struct tg_sample hot = spoof(100);
	struct tg_cust_state st;
	int64_t t = T0;

	r.duration_ns = 60 * TG_NS_PER_S;
	x.e = tg_engine_new(&cfg, on_event_refuse, &x);
	TEST_BEGIN("engine: a refused firing changes nothing and fires at the next sample");
	for (int i = 0; i < 2; i++, t += SEC)
		tg_engine_eval(x.e, 5, &hot, t);
	x.refuse = 1;
	tg_engine_eval(x.e, 5, &hot, t); /* holds 3 s: fires, refused */
	tg_engine_state(x.e, 5, &st);
	CHECK_EQ_U64(st.state, TG_CS_ACTIVE);
	CHECK_EQ_U64(x.accepted, 0);
	t += SEC;
	tg_engine_eval(x.e, 5, &hot, t); /* fires again: the episode was not opened */
	tg_engine_state(x.e, 5, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	CHECK_EQ_U64(x.accepted, 1);
	CHECK_EQ_U64(x.last.kind, TG_EV_SUSPEND);
	CHECK(st.until_ms == t + 60 * SEC);

	TEST_BEGIN("engine: a refused expiry is tried again, never forgotten");
	x.refuse = 1;
	tg_engine_expire(x.e, t + 60 * SEC);
	tg_engine_state(x.e, 5, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	CHECK_EQ_U64(x.accepted, 1);
	tg_engine_expire(x.e, t + 61 * SEC);
	tg_engine_state(x.e, 5, &st);
	CHECK_EQ_U64(st.state, TG_CS_ACTIVE);
	CHECK(x.accepted >= 2); /* the lift, and the end of the rule's episode */

	TEST_BEGIN("engine: a refused manual action returns -ECANCELED and changes nothing");
	x.refuse = 1;
	CHECK(tg_engine_manual(x.e, 9, TG_CS_SUSPENDED, 0, 0, t) == -ECANCELED);
	tg_engine_state(x.e, 9, &st);
	CHECK_EQ_U64(st.state, TG_CS_ACTIVE);
	CHECK_EQ_U64(tg_engine_manual(x.e, 9, TG_CS_SUSPENDED, 0, 0, t), 0);
	x.refuse = 1;
	CHECK(tg_engine_manual(x.e, 9, TG_CS_ACTIVE, 0, 0, t) == -ECANCELED);
	tg_engine_state(x.e, 9, &st);
	CHECK_EQ_U64(st.state, TG_CS_SUSPENDED);
	tg_engine_free(x.e);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tg-test-rules.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(yaml_path, sizeof(yaml_path), "%s/tollgate.yaml", tmpdir);
	snprintf(csv_path, sizeof(csv_path), "%s/customers.csv", tmpdir);

	test_config_errors();
	test_config_more_errors();
	test_config_good();
	test_cond_parse();
	test_metrics();
	test_engine_for();
	test_engine_clear_after();
	test_engine_escalate();
	test_engine_lifts();
	test_engine_levels();
	test_engine_manual();
	test_engine_monitor();
	test_engine_restore();
	test_engine_set_rules();
	test_engine_scale();
	test_engine_refuse();

	tl_rmtree(tmpdir);
	return test_summary();
}
