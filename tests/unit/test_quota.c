// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_quota.c - volume quotas and rule exemptions: the calendar arithmetic of a quota's
 * period (month boundaries, a reset on day 31 in short months, leap years, weeks, days),
 * the volumes, the plan's quota: and the rule's exempt: sections (every error with its
 * line), tollgated's accounting (deltas of the passed counters, a counter reset, an index
 * taken over, a period rolling over, the wall clock stepped back, a restart mid-period
 * through the state database), and the engine leaving an exempt customer alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/engine.h"
#include "daemon/quota.h"
#include "state/state.h"
#include "view/view.h"
#include "testlib.h"

static char dir[64] = "/tmp/test_quota.XXXXXX";
static char yaml_path[128], csv_path[128], db_path[128];

/* Unix ms of a UTC date and time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s};

	return (int64_t)timegm(&tm) * 1000;
}

static void check_period(const struct tg_quota_cfg *q, int64_t t, int64_t start, int64_t end)
{
	int64_t s = tg_quota_period_start(q, t), e = tg_quota_period_end(q, t);

	if (s != start || e != end) {
		fprintf(stderr, "FAIL %s: at %lld: period [%lld, %lld), want [%lld, %lld)\n",
			tl_case, (long long)t, (long long)s, (long long)e, (long long)start,
			(long long)end);
		tl_case_failed = 1;
	}
}

static void test_periods(void)
{
	struct tg_quota_cfg m1 = {.period = TG_QP_MONTH, .reset = 1};
	struct tg_quota_cfg m31 = {.period = TG_QP_MONTH, .reset = 31};
	struct tg_quota_cfg m15 = {.period = TG_QP_MONTH, .reset = 15};
	struct tg_quota_cfg wk = {.period = TG_QP_WEEK, .reset = 0}; /* Monday */
	struct tg_quota_cfg su = {.period = TG_QP_WEEK, .reset = 6}; /* Sunday */
	struct tg_quota_cfg dy = {.period = TG_QP_DAY};

	TEST_BEGIN("month, reset on the 1st: boundaries to the millisecond");
	check_period(&m1, utc(2026, 12, 7, 23, 0, 0), utc(2026, 12, 1, 0, 0, 0),
		     utc(2027, 1, 1, 0, 0, 0));
	check_period(&m1, utc(2026, 12, 1, 0, 0, 0), utc(2026, 12, 1, 0, 0, 0),
		     utc(2027, 1, 1, 0, 0, 0));
	check_period(&m1, utc(2026, 12, 1, 0, 0, 0) - 1, utc(2026, 11, 1, 0, 0, 0),
		     utc(2026, 12, 1, 0, 0, 0));
	check_period(&m1, utc(2027, 1, 1, 0, 0, 0) - 1, utc(2026, 12, 1, 0, 0, 0),
		     utc(2027, 1, 1, 0, 0, 0)); /* across the year */
	check_period(&m1, utc(1969, 12, 31, 12, 0, 0), utc(1969, 12, 1, 0, 0, 0),
		     utc(1970, 1, 1, 0, 0, 0)); /* before the epoch: floor, not truncation */

	TEST_BEGIN("month, reset on the 31st: the last day of shorter months");
	/* February 2026 has 28 days: its period starts on the 28th, March's on the 31st */
	check_period(&m31, utc(2026, 3, 1, 12, 0, 0), utc(2026, 2, 28, 0, 0, 0),
		     utc(2026, 3, 31, 0, 0, 0));
	check_period(&m31, utc(2026, 2, 27, 23, 59, 59), utc(2026, 1, 31, 0, 0, 0),
		     utc(2026, 2, 28, 0, 0, 0));
	check_period(&m31, utc(2026, 3, 31, 0, 0, 0), utc(2026, 3, 31, 0, 0, 0),
		     utc(2026, 4, 30, 0, 0, 0));
	check_period(&m31, utc(2026, 4, 30, 8, 0, 0), utc(2026, 4, 30, 0, 0, 0),
		     utc(2026, 5, 31, 0, 0, 0));
	/* 2028 is a leap year (29 February), 2100 is not */
	check_period(&m31, utc(2028, 3, 1, 0, 0, 0), utc(2028, 2, 29, 0, 0, 0),
		     utc(2028, 3, 31, 0, 0, 0));
	check_period(&m31, utc(2100, 3, 1, 0, 0, 0), utc(2100, 2, 28, 0, 0, 0),
		     utc(2100, 3, 31, 0, 0, 0));
	check_period(&m31, utc(2026, 12, 31, 0, 0, 0), utc(2026, 12, 31, 0, 0, 0),
		     utc(2027, 1, 31, 0, 0, 0));

	TEST_BEGIN("month, reset on the 15th: before and after it");
	check_period(&m15, utc(2026, 12, 14, 23, 59, 59), utc(2026, 11, 15, 0, 0, 0),
		     utc(2026, 12, 15, 0, 0, 0));
	check_period(&m15, utc(2026, 12, 15, 0, 0, 0), utc(2026, 12, 15, 0, 0, 0),
		     utc(2027, 1, 15, 0, 0, 0));
	check_period(&m15, utc(2027, 1, 10, 0, 0, 0), utc(2026, 12, 15, 0, 0, 0),
		     utc(2027, 1, 15, 0, 0, 0));

	TEST_BEGIN("week from Monday or Sunday, day from 00:00 UTC");
	/* 2026-12-07 is a Monday */
	check_period(&wk, utc(2026, 12, 7, 0, 0, 0), utc(2026, 12, 7, 0, 0, 0),
		     utc(2026, 12, 14, 0, 0, 0));
	check_period(&wk, utc(2026, 12, 13, 23, 59, 59), utc(2026, 12, 7, 0, 0, 0),
		     utc(2026, 12, 14, 0, 0, 0));
	check_period(&wk, utc(2026, 12, 7, 0, 0, 0) - 1, utc(2026, 11, 30, 0, 0, 0),
		     utc(2026, 12, 7, 0, 0, 0));
	check_period(&su, utc(2026, 12, 7, 10, 0, 0), utc(2026, 12, 6, 0, 0, 0),
		     utc(2026, 12, 13, 0, 0, 0));
	check_period(&su, utc(2026, 12, 6, 0, 0, 0), utc(2026, 12, 6, 0, 0, 0),
		     utc(2026, 12, 13, 0, 0, 0));
	check_period(&wk, utc(1970, 1, 1, 0, 0, 0), utc(1969, 12, 29, 0, 0, 0),
		     utc(1970, 1, 5, 0, 0, 0)); /* a Thursday */
	check_period(&dy, utc(2026, 12, 7, 23, 59, 59), utc(2026, 12, 7, 0, 0, 0),
		     utc(2026, 12, 8, 0, 0, 0));
	check_period(&dy, utc(2026, 12, 8, 0, 0, 0), utc(2026, 12, 8, 0, 0, 0),
		     utc(2026, 12, 9, 0, 0, 0));
}

static void test_volumes(void)
{
	static const struct {
		const char *s;
		uint64_t want; /* 0: refused */
	} v[] = {
		{"2TB", 2000000000000ull},
		{"2tb", 2000000000000ull},
		{"2T", 2000000000000ull},
		{"500GB", 500000000000ull},
		{"1.5TB", 1500000000000ull},
		{"100GiB", 100ull << 30},
		{"1TiB", 1ull << 40},
		{"64k", 64000},
		{"1000", 1000},
		{"1000b", 1000},
		{"0", 0},
		{"0TB", 0},
		{"-1GB", 0},
		{"1.5", 0},
		{"1.GB", 0},
		{"GB", 0},
		{"2 TB", 0},
		{"2XB", 0},
		{"99999999999PB", 0},
		{"", 0},
		{"18446744073709551616", 0},
	};

	TEST_BEGIN("volumes: decimal units as ISPs bill, binary with i, the rest refused");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t b = 0;
		int rc = tg_parse_volume_bytes(v[i].s, &b);

		if (v[i].want ? rc || b != v[i].want : !rc) {
			fprintf(stderr, "FAIL %s: '%s': rc %d, %llu bytes\n", tl_case, v[i].s, rc,
				(unsigned long long)b);
			tl_case_failed = 1;
		}
	}
}

/* ---- configuration ---- */

static const char csv[] = "id,name,plan,prefixes,interface,vlan\n"
			  "c1,One,home,192.0.2.1,,\n"
			  "c2,Two,home,192.0.2.2,,\n"
			  "speed,Speedtest,lab,192.0.2.3,,\n";

static int load(const char *yaml, struct tg_cfg **cfg, struct tg_errs *errs)
{
	tl_write_file(yaml_path, yaml);
	tl_write_file(csv_path, csv);
	memset(errs, 0, sizeof(*errs));
	*cfg = NULL;
	return tg_config_load(yaml_path, cfg, errs);
}

/* Some error names tollgate.yaml:line and says what. */
static void check_err(const struct tg_errs *e, int line, const char *what)
{
	char where[64];

	snprintf(where, sizeof(where), "tollgate.yaml:%d:", line);
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msg[i], where) && strstr(e->msg[i], what))
			return;
	fprintf(stderr, "FAIL %s: no error at line %d saying \"%s\"\n", tl_case, line, what);
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "    | %s\n", e->msg[i]);
	tl_case_failed = 1;
}

static void test_config(void)
{
	struct tg_cfg *cfg;
	struct tg_errs errs;
	char *adv[8];
	size_t na;
	const char *good =
		"customers: customers.csv\n"
		"plans:\n"
		"  home:\n"
		"    quota: { upload: 500GB, download: 2TB, period: month, reset: 31 }\n"
		"  lab:\n"
		"    quota: { download: 1GiB, period: week, reset: sun }\n"
		"  daily: { quota: { upload: 10g, period: day } }\n"
		"  none: {}\n"
		"enforcement:\n"
		"  rules:\n"
		"    - name: fair-use\n"
		"      when: \"quota_used_pct >= 100\"\n"
		"      action: throttle\n"
		"      throttle_rate: 1mbit\n"
		"      exempt: { customers: [speed, gone-1], plans: [lab] }\n"
		"    - { name: up, when: \"upload_quota_used_pct > 90\", action: notify }\n";

	TEST_BEGIN("config: quota and exempt read as written");
	CHECK(load(good, &cfg, &errs) == 0);
	if (cfg) {
		const struct tg_quota_cfg *h = &cfg->plans[0].quota, *l = &cfg->plans[1].quota,
					  *d = &cfg->plans[2].quota, *n = &cfg->plans[3].quota;
		const struct tg_rule *r = &cfg->enforcement.rules[0];

		CHECK_EQ_U64(h->bytes[TG_DIR_UP], 500000000000ull);
		CHECK_EQ_U64(h->bytes[TG_DIR_DOWN], 2000000000000ull);
		CHECK(h->period == TG_QP_MONTH && h->reset == 31);
		CHECK(l->bytes[TG_DIR_UP] == 0 && l->bytes[TG_DIR_DOWN] == 1ull << 30);
		CHECK(l->period == TG_QP_WEEK && l->reset == 6);
		CHECK(d->period == TG_QP_DAY && d->bytes[TG_DIR_UP] == 10000000000ull);
		CHECK(!TG_QUOTA_ON(n));
		CHECK(r->cond.metric == TG_M_QUOTA_USED_PCT && r->cond.threshold == 100);
		CHECK(cfg->enforcement.rules[1].cond.metric == TG_M_UPLOAD_QUOTA_USED_PCT);
		CHECK_EQ_U64(r->nexempt_ids, 2);
		CHECK(!strcmp(r->exempt_ids[0], "speed") && !strcmp(r->exempt_ids[1], "gone-1"));
		CHECK(r->nexempt_plans == 1 && r->exempt_plans[0] == 1);
		CHECK_EQ_U64(r->exempt_line, 15);
		CHECK_EQ_U64(cfg->enforcement.rules[1].nexempt_ids, 0);
		/* an id not in the CSV: advice (it exempts nobody), not an error */
		na = tg_config_advice(cfg, adv, 8);
		CHECK_EQ_U64(na, 1);
		if (na) {
			CHECK_STR_CONTAINS(adv[0], "tollgate.yaml:15: rule fair-use");
			CHECK_STR_CONTAINS(adv[0], "'gone-1' is not in");
		}
		for (size_t i = 0; i < na; i++)
			free(adv[i]);
		CHECK(!strcmp(tg_metric_name(TG_M_QUOTA_USED_PCT), "quota_used_pct"));
		CHECK(tg_metric_lookup("download_quota_used_pct") == TG_M_DOWNLOAD_QUOTA_USED_PCT);
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("config: every bad quota and exempt is an error naming its line");
	CHECK(load("customers: customers.csv\n"
		   "plans:\n"
		   "  home:\n"
		   "    quota: { period: month }\n" /* 4 */
		   "  lab:\n"
		   "    quota: { download: 2TX, upload: 0 }\n"			       /* 6 */
		   "  a: { quota: { download: 1TB, period: year } }\n"		       /* 7 */
		   "  b: { quota: { download: 1TB, reset: 32 } }\n"		       /* 8 */
		   "  c: { quota: { download: 1TB, period: week, reset: someday } }\n" /* 9 */
		   "  d: { quota: { download: 1TB, period: day, reset: 1 } }\n"	       /* 10 */
		   "  e: { quota: { download: 1TB, total: 2TB } }\n"		       /* 11 */
		   "  f: { quota: 2TB }\n"					       /* 12 */
		   "enforcement:\n"
		   "  rules:\n"
		   "    - { name: r1, when: \"quota_used_pct > 100\", action: notify,\n"
		   "        exempt: { plans: [nosuch] } }\n" /* 16 */
		   "    - { name: r2, when: \"quota_used_pct > 50\", action: notify,\n"
		   "        exempt: {} }\n" /* 18 */
		   "    - { name: r3, when: \"drop_pps > 5\", action: notify,\n"
		   "        exempt: { customers: speed } }\n" /* 20 */
		   "    - { name: r4, when: \"drop_pps > 5\", action: notify,\n"
		   "        exempt: { hosts: [a] } }\n" /* 22 */
		   "    - { name: r5, when: \"quota_used_pct > 101\", action: notify }\n",
		   &cfg, &errs) == -EINVAL);
	CHECK(cfg == NULL);
	check_err(&errs, 4, "upload or download is required");
	check_err(&errs, 6, "download: '2TX' is not a volume");
	check_err(&errs, 6, "upload: '0' is not a volume");
	check_err(&errs, 7, "period: 'year': want day, week or month");
	check_err(&errs, 8, "'32': want a day of the month from 1 to 31");
	check_err(&errs, 9, "'someday': want a weekday");
	check_err(&errs, 10, "a daily quota resets at 00:00 UTC");
	check_err(&errs, 11, "total");
	check_err(&errs, 12, "quota");
	check_err(&errs, 16, "exempt.plans: no plan 'nosuch'");
	check_err(&errs, 18, "exempt needs customers or plans");
	check_err(&errs, 20, "exempt.customers");
	check_err(&errs, 22, "hosts");
	check_err(&errs, 23, "'101' is not a value for quota_used_pct");
	tg_errs_free(&errs);
}

/* ---- tollgated's accounting ---- */

/* A two-customer config (c1 at index 1, c2 at 2) with a monthly 1000/2000-byte quota. */
static int load_acct(struct tg_cfg **cfg, const char *reset)
{
	char y[512];
	struct tg_errs errs;
	int rc;

	snprintf(y, sizeof(y),
		 "customers: customers.csv\n"
		 "plans:\n"
		 "  home: { quota: { upload: 1000, download: 2000, period: month, reset: %s } }\n"
		 "  lab: {}\n",
		 reset);
	rc = load(y, cfg, &errs);
	tg_errs_free(&errs);
	return rc;
}

static void test_accounting(void)
{
	struct tg_cstat pass[8] = {};
	uint32_t idx[3] = {1, 2, 3};
	struct tg_statedb *st = NULL;
	struct tg_quota *q = tg_quota_new();
	struct tg_quota_now qn;
	struct tg_cfg *cfg = NULL;
	char err[256];
	double pct[2];
	int64_t t = utc(2026, 12, 7, 12, 0, 0);

	TEST_BEGIN("accounting: deltas of the passed counters from the first reading");
	CHECK(tg_state_open(db_path, &st, err, sizeof(err)) == 0);
	CHECK(load_acct(&cfg, "1") == 0);
	if (!st || !cfg || !q)
		return;
	pass[1].bytes[TG_DIR_UP] = 5000; /* traffic from before the quota: not counted */
	CHECK(tg_quota_configure(q, st, cfg, idx, 8, t) == 0);
	CHECK(tg_quota_active(q));
	tg_quota_account(q, pass, t);
	CHECK(tg_quota_get(q, 1, &qn) == 0 && qn.used[TG_DIR_UP] == 0);
	pass[1].bytes[TG_DIR_UP] += 250;
	pass[1].bytes[TG_DIR_DOWN] += 500;
	tg_quota_account(q, pass, t + 1000);
	tg_quota_pct(q, 0, pct);
	CHECK(pct[TG_DIR_UP] == 25.0 && pct[TG_DIR_DOWN] == 25.0);
	CHECK(tg_quota_get(q, 1, &qn) == 0);
	CHECK(qn.used[TG_DIR_UP] == 250 && qn.used[TG_DIR_DOWN] == 500);
	CHECK(qn.period_start_ms == utc(2026, 12, 1, 0, 0, 0));
	CHECK(qn.period_end_ms == utc(2027, 1, 1, 0, 0, 0));
	CHECK(tg_quota_get(q, 3, &qn) == -ENOENT); /* plan lab: no quota */

	TEST_BEGIN("accounting: a counter that went back restarted from 0");
	pass[1].bytes[TG_DIR_UP] = 100; /* maps recreated: 100 bytes since */
	tg_quota_account(q, pass, t + 2000);
	tg_quota_pct(q, 0, pct);
	CHECK(pct[TG_DIR_UP] == 35.0);

	TEST_BEGIN("accounting: the wall clock stepped back into November changes nothing");
	pass[1].bytes[TG_DIR_UP] += 50;
	tg_quota_account(q, pass, utc(2026, 11, 20, 0, 0, 0));
	CHECK(tg_quota_get(q, 1, &qn) == 0 && qn.used[TG_DIR_UP] == 400);
	CHECK(qn.period_start_ms == utc(2026, 12, 1, 0, 0, 0));

	TEST_BEGIN("restart mid-period: the usage comes back, with what passed meanwhile");
	CHECK(tg_quota_flush(q, st, t + 3000, false) == 0); /* the first write */
	pass[1].bytes[TG_DIR_UP] += 10;			    /* not written: < 60 s */
	tg_quota_account(q, pass, t + 4000);
	CHECK(tg_quota_flush(q, st, t + 5000, false) == 0);
	tg_quota_free(q, NULL);		/* kill -9: nothing written at exit */
	pass[1].bytes[TG_DIR_UP] += 90; /* while the daemon was down (XDP stayed) */
	q = tg_quota_new();
	CHECK(tg_quota_configure(q, st, cfg, idx, 8, t + 9000) == 0);
	tg_quota_account(q, pass, t + 10000);
	CHECK(tg_quota_get(q, 1, &qn) == 0);
	CHECK_EQ_U64(qn.used[TG_DIR_UP], 500); /* 400 written, 10 + 90 since that reading */
	CHECK_EQ_U64(qn.used[TG_DIR_DOWN], 500);

	TEST_BEGIN("the customer view: the row written plus the counters since its reading");
	{
		json_t *c = json_object();
		uint64_t p1[TG_DIR_NR] = {pass[1].bytes[TG_DIR_UP], pass[1].bytes[TG_DIR_DOWN]};
		json_t *u;

		CHECK(tg_view_customer_quota(c, st, "c1", 1, p1, t + 10000) == 0);
		u = json_object_get(json_object_get(c, "quota"), "upload");
		CHECK_EQ_U64(json_integer_value(json_object_get(u, "used_bytes")), 500);
		CHECK_EQ_U64(json_integer_value(json_object_get(u, "quota_bytes")), 1000);
		/* the same row in a later month: what passed since the reading, no more */
		CHECK(tg_view_customer_quota(c, st, "c1", 1, p1, utc(2027, 1, 5, 0, 0, 0)) == 0);
		u = json_object_get(json_object_get(c, "quota"), "upload");
		CHECK_EQ_U64(json_integer_value(json_object_get(u, "used_bytes")), 100);
		CHECK_STR_CONTAINS(json_string_value(json_object_get(json_object_get(c, "quota"),
								     "period_start")),
				   "2027-01-01T00:00:00Z");
		/* a customer without a row: null */
		CHECK(tg_view_customer_quota(c, st, "c9", 9, p1, t) == 0);
		CHECK(json_is_null(json_object_get(c, "quota")));
		{ /* a database no tollgated with quotas has written: no table, no quota */
			char p2[160];
			struct tg_statedb *st2 = NULL;

			snprintf(p2, sizeof(p2), "%s/fresh.db", dir);
			CHECK(tg_state_open(p2, &st2, err, sizeof(err)) == 0);
			json_object_set_new(c, "quota", json_true());
			CHECK(st2 && tg_view_customer_quota(c, st2, "c1", 1, p1, t) == 0);
			CHECK(json_is_null(json_object_get(c, "quota")));
			tg_state_close(st2);
		}
		json_decref(c);
	}

	TEST_BEGIN("restart: a clean stop writes everything");
	pass[1].bytes[TG_DIR_DOWN] += 1500;
	tg_quota_account(q, pass, t + 11000);
	tg_quota_free(q, st);
	q = tg_quota_new();
	pass[1].bytes[TG_DIR_DOWN] = 0; /* and the maps were recreated (a reboot) */
	CHECK(tg_quota_configure(q, st, cfg, idx, 8, t + 12000) == 0);
	tg_quota_account(q, pass, t + 13000);
	CHECK(tg_quota_get(q, 1, &qn) == 0 && qn.used[TG_DIR_DOWN] == 2000);
	CHECK(qn.pct_max == 100.0);

	TEST_BEGIN("index taken over: the new customer starts at the cleared counters");
	/* c2 leaves index 2 (its counters cleared by the sync), c1 stays; a new config puts
	 * c2 at index 4 where the counters start at 0 and pass 70 before the next reading */
	idx[1] = 4;
	pass[2].bytes[TG_DIR_UP] = 0;
	pass[4].bytes[TG_DIR_UP] = 70;
	CHECK(tg_quota_configure(q, st, cfg, idx, 8, t + 14000) == 0);
	tg_quota_account(q, pass, t + 15000);
	CHECK(tg_quota_get(q, 4, &qn) == 0 && qn.used[TG_DIR_UP] == 70);
	CHECK(tg_quota_get(q, 2, &qn) == -ENOENT);
	CHECK(tg_quota_get(q, 1, &qn) == 0 && qn.used[TG_DIR_UP] == 500);

	TEST_BEGIN("the most used first (/api/v1/quotas)");
	{
		struct tg_quota_top top[3];
		size_t n = tg_quota_top(q, top, 3);

		CHECK_EQ_U64(n, 2);
		CHECK(n == 2 && !strcmp(top[0].id, "c1") && top[0].idx == 1);
		CHECK(n == 2 && top[0].now.pct_max == 100.0 && !strcmp(top[1].id, "c2"));
		CHECK(n == 2 && top[1].now.pct[TG_DIR_UP] == 7.0);
		CHECK_EQ_U64(tg_quota_top(q, top, 1), 1);
		CHECK(!strcmp(top[0].id, "c1"));
	}

	TEST_BEGIN("a new period starts at 0: January, then the next reset day");
	pass[1].bytes[TG_DIR_UP] += 30;
	tg_quota_account(q, pass, utc(2027, 1, 1, 0, 0, 0));
	CHECK(tg_quota_get(q, 1, &qn) == 0);
	CHECK(qn.used[TG_DIR_UP] == 30 && qn.used[TG_DIR_DOWN] == 0);
	CHECK(qn.period_start_ms == utc(2027, 1, 1, 0, 0, 0));
	tg_quota_free(q, st);
	tg_config_free(cfg);

	TEST_BEGIN("a restart in a later period does not bring back the old usage");
	CHECK(load_acct(&cfg, "31") == 0);
	q = tg_quota_new();
	idx[1] = 2;
	if (cfg && q) {
		CHECK(tg_quota_configure(q, st, cfg, idx, 8, utc(2027, 2, 10, 0, 0, 0)) == 0);
		tg_quota_account(q, pass, utc(2027, 2, 28, 0, 0, 1)); /* February's "31st" */
		CHECK(tg_quota_get(q, 1, &qn) == 0 && qn.used[TG_DIR_UP] == 0);
		CHECK(qn.period_start_ms == utc(2027, 2, 28, 0, 0, 0));
		CHECK(qn.period_end_ms == utc(2027, 3, 31, 0, 0, 0));
	}
	tg_quota_free(q, st);
	tg_config_free(cfg);
	tg_state_close(st);
}

/* ---- the engine ---- */

static int nfired[4], nclosed[4];
static void on_ev(void *ctx, const struct tg_eng_event *ev)
{
	(void)ctx;
	if (ev->kind == TG_EV_THROTTLE && ev->cust < 4)
		nfired[ev->cust]++;
	if (ev->kind == TG_EV_EPISODE_CLOSE && ev->cust < 4)
		nclosed[ev->cust]++;
}

static void test_engine_exempt(void)
{
	struct tg_rule r = {.name = "fair-use", .action = TG_ACT_THROTTLE, .throttle_bps = 1000000};
	struct tg_enforce_cfg ec = {.interval_ns = TG_NS_PER_S, .rules = &r, .nrules = 1};
	struct tg_engine *e;
	struct tg_sample s = {.quota_pct = {120, 40}};

	TEST_BEGIN("engine: an exempt customer over the threshold is not acted on");
	r.cond.metric = TG_M_QUOTA_USED_PCT;
	r.cond.op = TG_OP_GE;
	r.cond.threshold = 100;
	e = tg_engine_new(&ec, on_ev, NULL);
	if (!e)
		return;
	for (int64_t now = 1000; now <= 5000; now += 1000) {
		tg_engine_eval(e, 1, &s, now); /* not exempt */
		s.exempt = 1;
		tg_engine_eval(e, 2, &s, now);
		s.exempt = 0;
	}
	CHECK_EQ_U64(nfired[1], 1);
	CHECK_EQ_U64(nfired[2], 0);
	CHECK_EQ_U64(tg_engine_tracked(e), 1);

	TEST_BEGIN("engine: exempting a customer ends its open episode, as a false sample");
	CHECK_EQ_U64(nclosed[1], 0);
	s.exempt = 1;
	tg_engine_eval(e, 1, &s, 6000);
	CHECK_EQ_U64(nclosed[1], 1);
	CHECK_EQ_U64(nfired[1], 1);
	tg_engine_free(e);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(yaml_path, sizeof(yaml_path), "%s/tollgate.yaml", dir);
	snprintf(csv_path, sizeof(csv_path), "%s/customers.csv", dir);
	snprintf(db_path, sizeof(db_path), "%s/state.db", dir);
	test_periods();
	test_volumes();
	test_config();
	test_accounting();
	test_engine_exempt();
	tl_rmtree(dir);
	return test_summary();
}
