// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_whois.c - who held an address (user/state/history.c; issue 22 item 5): the
 * prefix -> customer history in the state database.
 *   - applying assignments over time records what appeared, moved and disappeared (and
 *     nothing when the same assignment is applied again);
 *   - whois answers from a table of (address, time): the longest prefix held then, IPv4
 *     and IPv6, at the boundaries (from_ms held, until_ms no longer), nobody before the
 *     first apply or outside every prefix;
 *   - the JSON of `tollgate whois -j` and /api/v1/whois; bad input is refused and changes
 *     nothing;
 *   - retention: rows that ended before the window go (also through tg_state_purge), the
 *     open ones stay; a reopened database answers the same;
 *   - the delta a reload passes (only the rows that differ) gives the same history;
 *   - real configurations: the first applied in full, a reload that reused rows by its
 *     delta (a prefix moves, a customer goes), a load that reused nothing in full.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <sqlite3.h>

#include "config/config.h"
#include "state/state.h"
#include "testlib.h"

static char dir[] = "/tmp/tg-whois-XXXXXX";
static char path[256];

struct asg {
	const char *prefix; /* "10.0.0.0/16" */
	const char *customer;
};

static struct tg_holder holder(const struct asg *a)
{
	struct tg_holder h = {.customer = a->customer};
	char buf[64], *slash;

	snprintf(buf, sizeof(buf), "%s", a->prefix);
	slash = strchr(buf, '/');
	*slash = 0;
	h.family = strchr(buf, ':') ? 6 : 4;
	inet_pton(h.family == 4 ? AF_INET : AF_INET6, buf, h.addr);
	h.plen = (uint8_t)atoi(slash + 1);
	return h;
}

static int apply(struct tg_statedb *st, const struct asg *v, int64_t at, struct tg_history_stats *s)
{
	struct tg_holder h[16];
	size_t n = 0;

	for (; v[n].prefix; n++)
		h[n] = holder(&v[n]);
	return tg_state_history_apply(st, h, n, at, s);
}

static long rows(struct tg_statedb *st, const char *where)
{
	char sql[256];
	sqlite3_stmt *q = NULL;
	long n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM prefix_history %s", where);
	if (sqlite3_prepare_v2(tg_state_sqlite(st), sql, -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

/* The assignments over time. */
static const struct asg at1000[] = {
	{"10.0.0.0/16", "isp-a"},    {"10.0.5.0/24", "cust-a"}, {"2001:db8::/32", "isp6"},
	{"2001:db8:1::/48", "c6-a"}, {"192.0.2.7/32", "host"},	{NULL, NULL},
};
static const struct asg at2000[] = {
	/* 10.0.5.0/24 moves to cust-b, 192.0.2.7 goes, 198.51.100.0/24 comes */
	{"10.0.0.0/16", "isp-a"},    {"10.0.5.0/24", "cust-b"},	    {"2001:db8::/32", "isp6"},
	{"2001:db8:1::/48", "c6-a"}, {"198.51.100.0/24", "cust-c"}, {NULL, NULL},
};
static const struct asg at3000[] = {
	/* 10.0.5.0/24 goes (its addresses fall back to the /16), the /48 moves to c6-b */
	{"2001:db8:1::/48", "c6-b"},
	{"10.0.0.0/16", "isp-a"},
	{"2001:db8::/32", "isp6"},
	{"198.51.100.0/24", "cust-c"},
	{NULL, NULL},
};

struct query {
	const char *addr;
	int64_t at;
	const char *customer; /* NULL: nobody */
	const char *prefix;
	int64_t from, until;
};

static const struct query queries[] = {
	{"10.0.5.9", 999, NULL, NULL, 0, 0},
	{"10.0.5.9", 1000, "cust-a", "10.0.5.0/24", 1000, 2000},
	{"10.0.5.9", 1999, "cust-a", "10.0.5.0/24", 1000, 2000},
	{"10.0.5.9", 2000, "cust-b", "10.0.5.0/24", 2000, 3000},
	{"10.0.5.9", 2999, "cust-b", "10.0.5.0/24", 2000, 3000},
	{"10.0.5.9", 3000, "isp-a", "10.0.0.0/16", 1000, 0},
	{"10.0.5.9", 99999, "isp-a", "10.0.0.0/16", 1000, 0},
	{"10.0.6.1", 1500, "isp-a", "10.0.0.0/16", 1000, 0},
	{"10.0.255.255", 1500, "isp-a", "10.0.0.0/16", 1000, 0},
	{"10.1.0.0", 1500, NULL, NULL, 0, 0},
	{"192.0.2.7", 1500, "host", "192.0.2.7/32", 1000, 2000},
	{"192.0.2.7", 2000, NULL, NULL, 0, 0},
	{"192.0.2.6", 1500, NULL, NULL, 0, 0},
	{"198.51.100.200", 1999, NULL, NULL, 0, 0},
	{"198.51.100.200", 2000, "cust-c", "198.51.100.0/24", 2000, 0},
	{"2001:db8:1::5", 1500, "c6-a", "2001:db8:1::/48", 1000, 3000},
	{"2001:db8:1:ffff::1", 2999, "c6-a", "2001:db8:1::/48", 1000, 3000},
	{"2001:db8:1::5", 3000, "c6-b", "2001:db8:1::/48", 3000, 0},
	{"2001:db8:2::1", 3000, "isp6", "2001:db8::/32", 1000, 0},
	{"2001:db9::1", 3000, NULL, NULL, 0, 0},
	{"::ffff:10.0.5.9", 1500, NULL, NULL, 0, 0}, /* a v4-mapped IPv6 address is IPv6 */
};

static void run_queries(struct tg_statedb *st, const char *when)
{
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		const struct query *q = &queries[i];
		struct tg_holder a;
		struct tg_whois w;
		int rc;

		CHECK(tg_holder_parse_addr(q->addr, &a) == 0);
		rc = tg_state_whois(st, &a, q->at, &w);
		if (!q->customer) {
			if (rc != -ENOENT)
				fprintf(stderr, "  %s %s at %lld: rc %d (%s), want nobody\n", when,
					q->addr, (long long)q->at, rc, w.customer);
			CHECK(rc == -ENOENT);
			continue;
		}
		if (rc || strcmp(w.customer, q->customer) || strcmp(w.prefix, q->prefix) ||
		    w.from_ms != q->from || w.until_ms != q->until)
			fprintf(stderr, "  %s %s at %lld: rc %d %s %s [%lld, %lld), want %s %s\n",
				when, q->addr, (long long)q->at, rc, w.customer, w.prefix,
				(long long)w.from_ms, (long long)w.until_ms, q->customer,
				q->prefix);
		CHECK(rc == 0);
		CHECK(!strcmp(w.customer, q->customer));
		CHECK(!strcmp(w.prefix, q->prefix));
		CHECK(w.from_ms == q->from && w.until_ms == q->until);
	}
}

static void test_history(void)
{
	struct tg_statedb *st = NULL;
	struct tg_history_stats s;
	char err[256];

	TEST_BEGIN("apply: assignments over time record what appeared, moved and went");
	CHECK(tg_state_open(path, &st, err, sizeof(err)) == 0);
	if (!st)
		return;
	CHECK(apply(st, at1000, 1000, &s) == 0);
	CHECK(s.appeared == 5 && s.moved == 0 && s.gone == 0);
	CHECK(apply(st, at2000, 2000, &s) == 0);
	CHECK(s.appeared == 1 && s.moved == 1 && s.gone == 1);
	CHECK(apply(st, at3000, 3000, &s) == 0);
	CHECK(s.appeared == 0 && s.moved == 1 && s.gone == 1);
	CHECK(rows(st, "") == 8);
	CHECK(rows(st, "WHERE until_ms IS NULL") == 4);

	TEST_BEGIN("apply: the same assignment again writes nothing, and reads nothing back (its "
		   "digest is the last comparison's)");
	CHECK(apply(st, at3000, 4000, &s) == 0);
	CHECK(s.appeared == 0 && s.moved == 0 && s.gone == 0);
	CHECK_EQ_U64(s.read, 0);
	CHECK(rows(st, "") == 8);

	TEST_BEGIN("apply: a bad entry is refused and changes nothing");
	{
		static const struct asg bad[] = {{"10.0.0.0/16", "isp-a"}, {NULL, NULL}};
		struct tg_holder h[2] = {holder(&bad[0]), holder(&bad[0])};

		h[1].plen = 33;
		CHECK(tg_state_history_apply(st, h, 2, 5000, &s) == -EINVAL);
		h[1].plen = 8;
		h[1].customer = "";
		CHECK(tg_state_history_apply(st, h, 2, 5000, &s) == -EINVAL);
		CHECK(rows(st, "") == 8 && rows(st, "WHERE until_ms IS NULL") == 4);
	}

	TEST_BEGIN("whois: longest prefix held at the time, IPv4 and IPv6, at the boundaries");
	run_queries(st, "open");

	TEST_BEGIN("whois: the answers survive closing and reopening the database");
	tg_state_close(st);
	st = NULL;
	CHECK(tg_state_open(path, &st, err, sizeof(err)) == 0);
	if (!st)
		return;
	run_queries(st, "reopened");

	TEST_BEGIN("whois: addresses that are not one are refused");
	{
		struct tg_holder a;

		CHECK(tg_holder_parse_addr("10.0.0", &a) == -EINVAL);
		CHECK(tg_holder_parse_addr("10.0.0.0/24", &a) == -EINVAL);
		CHECK(tg_holder_parse_addr("2001:db8:::1", &a) == -EINVAL);
		CHECK(tg_holder_parse_addr("", &a) == -EINVAL);
		CHECK(tg_holder_parse_addr("example.net", &a) == -EINVAL);
	}

	TEST_BEGIN("json: the doc of `whois -j` and /api/v1/whois");
	{
		json_t *d;
		int e = 0;

		d = tg_state_whois_json(st, "10.0.5.9", 1500, &e);
		CHECK(d && !e);
		CHECK(!strcmp(json_string_value(json_object_get(d, "customer")) ?: "", "cust-a"));
		CHECK(!strcmp(json_string_value(json_object_get(d, "prefix")) ?: "",
			      "10.0.5.0/24"));
		CHECK(!strcmp(json_string_value(json_object_get(d, "address")) ?: "", "10.0.5.9"));
		CHECK(!strcmp(json_string_value(json_object_get(d, "since")) ?: "",
			      "1970-01-01T00:00:01Z"));
		CHECK(json_is_string(json_object_get(d, "until")));
		CHECK(json_is_string(json_object_get(d, "at")));
		json_decref(d);
		d = tg_state_whois_json(st, "2001:db8:1::5", 3500, &e);
		CHECK(d && json_is_null(json_object_get(d, "until")));
		CHECK(!strcmp(json_string_value(json_object_get(d, "customer")) ?: "", "c6-b"));
		json_decref(d);
		d = tg_state_whois_json(st, "203.0.113.1", 3500, &e);
		CHECK(d && json_is_null(json_object_get(d, "customer")));
		json_decref(d);
		CHECK(tg_state_whois_json(st, "not-an-address", 3500, &e) == NULL && e == -EINVAL);
	}

	TEST_BEGIN("retention: rows that ended before the window go, the open ones stay");
	CHECK(tg_state_history_purge(st, 2500) == 2); /* cust-a's /24 and host, ended at 2000 */
	CHECK(rows(st, "") == 6 && rows(st, "WHERE until_ms IS NULL") == 4);
	{
		struct tg_holder a;
		struct tg_whois w;

		tg_holder_parse_addr("10.0.5.9", &a);
		CHECK(tg_state_whois(st, &a, 1500, &w) == 0 && !strcmp(w.customer, "isp-a"));
		tg_holder_parse_addr("10.0.5.9", &a);
		CHECK(tg_state_whois(st, &a, 2500, &w) == 0 && !strcmp(w.customer, "cust-b"));
	}
	TEST_BEGIN("retention: tg_state_purge (the audit log's) purges the history too");
	CHECK(tg_state_purge(st, 3001) >= 0);
	CHECK(rows(st, "") == 4 && rows(st, "WHERE until_ms IS NOT NULL") == 0);
	tg_state_close(st);
}

static int delta(struct tg_statedb *st, const struct asg *was, const struct asg *now, int64_t at,
		 struct tg_history_stats *s)
{
	struct tg_holder w[16], h[16];
	size_t nw = 0, n = 0;

	for (; was[nw].prefix; nw++)
		w[nw] = holder(&was[nw]);
	for (; now[n].prefix; n++)
		h[n] = holder(&now[n]);
	return tg_state_history_delta(st, w, nw, h, n, at, s);
}

/* The digest of the last full comparison is trusted only while the rows are as it left
 * them: a row closed behind its back (a Tollgate that keeps none) is seen. */
static void test_digest(void)
{
	struct tg_statedb *st = NULL;
	struct tg_history_stats s;
	char err[256];

	TEST_BEGIN("apply: a row closed behind the digest's back (a Tollgate that keeps none) is "
		   "seen: compared in full and opened again");
	snprintf(path, sizeof(path), "%s/digest.db", dir);
	CHECK(tg_state_open(path, &st, err, sizeof(err)) == 0);
	if (!st)
		return;
	CHECK(apply(st, at1000, 1000, &s) == 0 && s.appeared == 5 && s.read == 0);
	CHECK(apply(st, at1000, 2000, &s) == 0 && s.read == 0 && s.appeared == 0);
	CHECK(sqlite3_exec(tg_state_sqlite(st),
			   "UPDATE prefix_history SET until_ms = 2500 WHERE rowid = (SELECT "
			   "max(rowid) FROM prefix_history WHERE until_ms IS NULL)",
			   NULL, NULL, NULL) == SQLITE_OK);
	CHECK(apply(st, at1000, 3000, &s) == 0);
	CHECK(s.read == 4 && s.appeared == 1 && s.moved == 0 && s.gone == 0);
	CHECK(rows(st, "WHERE until_ms IS NULL") == 5 && rows(st, "") == 6);
	CHECK(apply(st, at1000, 4000, &s) == 0 && s.read == 0);
	tg_state_close(st);
}

/* A reload with the previous configuration in hand passes only the rows that differ: the
 * same history as the full comparison. */
static void test_delta(void)
{
	static const struct asg was2000[] = {
		{"10.0.5.0/24", "cust-a"}, {"192.0.2.7/32", "host"}, {NULL, NULL}};
	static const struct asg now2000[] = {
		{"198.51.100.0/24", "cust-c"}, {"10.0.5.0/24", "cust-b"}, {NULL, NULL}};
	static const struct asg was3000[] = {
		{"10.0.5.0/24", "cust-b"}, {"2001:db8:1::/48", "c6-a"}, {NULL, NULL}};
	static const struct asg now3000[] = {{"2001:db8:1::/48", "c6-b"}, {NULL, NULL}};
	static const struct asg none[] = {{NULL, NULL}};
	struct tg_statedb *st = NULL;
	struct tg_history_stats s;
	char err[256];

	TEST_BEGIN("delta: only the rows that differ, the same history as a full comparison");
	snprintf(path, sizeof(path), "%s/delta.db", dir);
	CHECK(tg_state_open(path, &st, err, sizeof(err)) == 0);
	if (!st)
		return;
	CHECK(apply(st, at1000, 1000, &s) == 0 && s.appeared == 5);
	CHECK(delta(st, was2000, now2000, 2000, &s) == 0);
	CHECK(s.appeared == 1 && s.moved == 1 && s.gone == 1);
	CHECK(delta(st, was3000, now3000, 3000, &s) == 0);
	CHECK(s.appeared == 0 && s.moved == 1 && s.gone == 1);
	CHECK(rows(st, "") == 8 && rows(st, "WHERE until_ms IS NULL") == 4);
	run_queries(st, "delta");

	TEST_BEGIN("delta: a row rewritten with the same prefixes and customer changes nothing");
	CHECK(delta(st, now3000, now3000, 4000, &s) == 0);
	CHECK(s.appeared == 0 && s.moved == 0 && s.gone == 0 && rows(st, "") == 8);
	CHECK(delta(st, none, none, 4000, &s) == 0 && rows(st, "") == 8);

	TEST_BEGIN("delta: then a full comparison finds nothing to change (it reads the open rows "
		   "back: the deltas dropped the digest), and the next one reads nothing");
	CHECK(apply(st, at3000, 5000, &s) == 0);
	CHECK(s.appeared == 0 && s.moved == 0 && s.gone == 0 && rows(st, "") == 8);
	CHECK_EQ_U64(s.read, 4);
	CHECK(apply(st, at3000, 6000, &s) == 0);
	CHECK_EQ_U64(s.read, 0);

	TEST_BEGIN("delta: a change after the digest was stored drops it: the full comparison "
		   "that follows sees the change");
	CHECK(delta(st, now3000, was3000, 7000, &s) == 0 && s.moved == 1);
	CHECK(apply(st, at3000, 8000, &s) == 0);
	CHECK(s.read == 5 && s.moved == 1 && s.gone == 1); /* the /24 the delta added goes */
	tg_state_close(st);
}

static void write_file(const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The configurations as tollgated applies them: the first in full, a reload (rows reused
 * from the previous load) by its delta; a load that reused nothing in full. */
static void test_record_cfg(void)
{
	static const char yaml[] = "plans:\n"
				   "  p10:\n"
				   "    upload: { rate: 10mbit, burst: 64k }\n"
				   "    download: { rate: 20mbit, burst: 64k }\n"
				   "customers: customers.csv\n"
				   "state: cfg.db\n";
	struct tg_cfg *c1 = NULL, *c2 = NULL, *c3 = NULL;
	struct tg_load_cache *l1 = NULL, *l2 = NULL, *l3 = NULL;
	struct tg_errs errs = {};
	struct tg_statedb *st = NULL;
	struct tg_history_stats s;
	struct tg_holder a;
	struct tg_whois w;
	char cfgpath[512], err[256];

	TEST_BEGIN("record: a configuration in full, then a reload by its delta");
	write_file("tollgate.yaml", yaml);
	write_file("customers.csv", "id,name,plan,prefixes\n"
				    "c1,One,p10,198.51.100.10 2001:db8:1::/64\n"
				    "c2,Two,p10,198.51.100.0/24\n"
				    "c3,Three,p10,203.0.113.0/24\n");
	snprintf(cfgpath, sizeof(cfgpath), "%s/tollgate.yaml", dir);
	snprintf(path, sizeof(path), "%s/cfg.db", dir);
	CHECK(tg_config_load_from(cfgpath, NULL, &l1, &c1, &errs) == 0);
	CHECK(tg_state_open(path, &st, err, sizeof(err)) == 0);
	if (!c1 || !st)
		goto out;
	CHECK(tg_config_index_rows(c1, l1) == 0);
	CHECK(tg_state_history_record_since(st, NULL, c1, l1, 1000, &s) == 0);
	CHECK(s.appeared == 4 && s.moved == 0 && s.gone == 0);
	/* the /24 moves from c2 to c5, c3 goes; c1's row is reused */
	write_file("customers.csv", "id,name,plan,prefixes\n"
				    "c1,One,p10,198.51.100.10 2001:db8:1::/64\n"
				    "c2,Two,p10,192.0.2.0/24\n"
				    "c5,Five,p10,198.51.100.0/24\n");
	CHECK(tg_config_load_from(cfgpath, l1, &l2, &c2, &errs) == 0);
	if (!c2)
		goto out;
	CHECK(l2 && l2->reused_from == c1 && l2->rows_reused == 1);
	CHECK(tg_state_history_record_since(st, c1, c2, l2, 2000, &s) == 0);
	CHECK(s.appeared == 1 && s.moved == 1 && s.gone == 1);
	tg_holder_parse_addr("198.51.100.20", &a);
	CHECK(tg_state_whois(st, &a, 1999, &w) == 0 && !strcmp(w.customer, "c2"));
	CHECK(tg_state_whois(st, &a, 2000, &w) == 0 && !strcmp(w.customer, "c5"));
	tg_holder_parse_addr("198.51.100.10", &a);
	CHECK(tg_state_whois(st, &a, 2000, &w) == 0 && !strcmp(w.customer, "c1") &&
	      w.from_ms == 1000);
	tg_holder_parse_addr("203.0.113.1", &a);
	CHECK(tg_state_whois(st, &a, 2000, &w) == -ENOENT);

	TEST_BEGIN("record: a load that did not reuse the previous one is compared in full");
	CHECK(tg_config_load_from(cfgpath, NULL, &l3, &c3, &errs) == 0);
	if (!c3)
		goto out;
	CHECK(tg_state_history_record_since(st, c1, c3, l3, 3000, &s) == 0);
	CHECK(s.appeared == 0 && s.moved == 0 && s.gone == 0);
	CHECK(rows(st, "") == 6 && rows(st, "WHERE until_ms IS NULL") == 4);
out:
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "  config: %s\n", errs.msg[i]);
	tg_errs_free(&errs);
	tg_config_free(c1);
	tg_config_free(c2);
	tg_config_free(c3);
	tg_load_cache_free(l1);
	tg_load_cache_free(l2);
	tg_load_cache_free(l3);
	tg_state_close(st);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/state.db", dir);
	test_history();
	test_delta();
	test_digest();
	test_record_cfg();
	tl_rmtree(dir);
	return test_summary();
}
