// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_evid.c - event ids (user/state/evid.c, state.c; issue 18 item 7): globally unique,
 * time-ordered, never reused, even after a crash or a restore that lost the newest rows.
 *   - the layout: a UUIDv7 (version 7, variant 10) with the node part as its last group;
 *   - the generator: strictly increasing as strings at one ms (4096 and more), when the
 *     wall clock steps back, seeded above an id it is given;
 *   - node names: 100000 names, 100000 different node parts; two nodes at the same ms and
 *     count never make the same id;
 *   - the state database: ids strictly increase across a restart (close, open) after the
 *     last audit row was deleted, also at the same ms; after a restore of an older copy
 *     of the file (the row and its sequence lost, as AUTOINCREMENT alone would reuse the
 *     integer id), the next id is still new; two connections of one node (CLI, daemon)
 *     interleave in order; an event another node decided keeps its id and is recorded
 *     once; a database from before ids gets one for every row (also rows an older version
 *     added after a downgrade); the JSON has "id" and "seq".
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <sqlite3.h>

#include "lib/util.h"
#include "state/state.h"
#include "testlib.h"

static char dir[] = "/tmp/tg-evid-XXXXXX";
static char path[256];

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_layout(void)
{
	struct tg_evid_gen g = {.node = 0xa1b2c3d4e5f6ull};
	char id[TG_EVID_LEN];
	int64_t ms;
	uint32_t seq;
	uint64_t node;

	TEST_BEGIN("layout: UUIDv7, 36 characters, time, count and node read back");
	tg_evid_next(&g, 1764424800123, id);
	CHECK(strlen(id) == 36);
	CHECK(id[14] == '7' && strchr("89ab", id[19]));
	CHECK(!strncmp(id, "019acfe9-d77b-7000-", 19));
	CHECK(!strcmp(id + 24, "a1b2c3d4e5f6"));
	CHECK(tg_evid_parse(id, &ms, &seq, &node) == 0);
	CHECK(ms == 1764424800123 && seq == 0 && node == 0xa1b2c3d4e5f6ull);

	TEST_BEGIN("layout: malformed ids are refused");
	CHECK(tg_evid_parse("", NULL, NULL, NULL) == -EINVAL);
	CHECK(tg_evid_parse("019ace2f-907b-6000-8000-a1b2c3d4e5f6", NULL, NULL, NULL) == -EINVAL);
	CHECK(tg_evid_parse("019ace2f-907b-7000-c000-a1b2c3d4e5f6", NULL, NULL, NULL) == -EINVAL);
	CHECK(tg_evid_parse("019ACE2F-907b-7000-8000-a1b2c3d4e5f6", NULL, NULL, NULL) == -EINVAL);
	CHECK(tg_evid_parse("019ace2f-907b-7000-8000-a1b2c3d4e5f", NULL, NULL, NULL) == -EINVAL);
	CHECK(tg_evid_parse("12", NULL, NULL, NULL) == -EINVAL);
}

static void test_generator(void)
{
	struct tg_evid_gen g = {.node = tg_evid_node("edge-1")}, h;
	char prev[TG_EVID_LEN], id[TG_EVID_LEN];
	int64_t ms;
	bool ok = true;
	int i;

	TEST_BEGIN(
		"generator: 10000 ids in one ms strictly increase (the count borrows the next ms)");
	tg_evid_next(&g, 1000000, prev);
	for (i = 0; i < 10000; i++) {
		tg_evid_next(&g, 1000000, id);
		ok &= strcmp(prev, id) < 0;
		memcpy(prev, id, sizeof(id));
	}
	CHECK(ok);
	CHECK(tg_evid_parse(id, &ms, NULL, NULL) == 0 && ms == 1000002);

	TEST_BEGIN("generator: the wall clock stepped an hour back: still increasing");
	tg_evid_next(&g, 1000000 - 3600000, id);
	CHECK(strcmp(prev, id) < 0);
	memcpy(prev, id, sizeof(id));
	tg_evid_next(&g, 1000003, id); /* the clock catches up: on from there */
	CHECK(strcmp(prev, id) < 0);
	CHECK(tg_evid_parse(id, &ms, NULL, NULL) == 0 && ms == 1000003);

	TEST_BEGIN("generator: seeded with a later id, it goes on above it; an earlier or bad one "
		   "changes nothing");
	h = (struct tg_evid_gen){.node = g.node};
	tg_evid_seed(&h, id);
	tg_evid_seed(&h, "019ace2f-907b-7000-8000-a1b2c3d4e5f6"); /* a later one raises it */
	tg_evid_seed(&h, "junk");
	tg_evid_next(&h, 1000003, prev);
	CHECK(strcmp(prev, "019ace2f-907b-7000-8000-a1b2c3d4e5f6") > 0);
	h = (struct tg_evid_gen){.node = g.node};
	tg_evid_seed(&h, id);
	tg_evid_seed(&h, "00000000-0001-7000-8000-000000000000");
	tg_evid_next(&h, 5, prev);
	CHECK(strcmp(prev, id) > 0);
}

static void test_nodes(void)
{
	enum { N = 100000 };
	uint64_t *v = calloc(N, sizeof(*v));
	struct tg_evid_gen a = {.node = tg_evid_node("edge-a")},
			   b = {.node = tg_evid_node("edge-b")};
	char ia[TG_EVID_LEN], ib[TG_EVID_LEN], name[32];
	size_t i, dup = 0;
	uint64_t node;

	TEST_BEGIN("nodes: 100000 node names, 100000 different node parts");
	if (!v) {
		CHECK(v);
		return;
	}
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "node-%zu", i);
		v[i] = tg_evid_node(name);
	}
	qsort(v, N, sizeof(*v), cmp_u64);
	for (i = 1; i < N; i++)
		dup += v[i] == v[i - 1];
	CHECK_EQ_U64(dup, 0);
	free(v);

	TEST_BEGIN("nodes: two nodes at the same ms and count make different ids, each with its "
		   "node part");
	for (i = 0; i < 1000; i++) {
		tg_evid_next(&a, 777, ia);
		tg_evid_next(&b, 777, ib);
		if (!strcmp(ia, ib))
			dup++;
	}
	CHECK_EQ_U64(dup, 0);
	CHECK(tg_evid_parse(ia, NULL, NULL, &node) == 0 && node == tg_evid_node("edge-a"));
	CHECK(tg_evid_parse(ib, NULL, NULL, &node) == 0 && node == tg_evid_node("edge-b"));

	TEST_BEGIN("nodes: no name: this machine's (/etc/machine-id), stable");
	CHECK(tg_evid_node(NULL) == tg_evid_node(""));
	CHECK(tg_evid_node(NULL) != tg_evid_node("edge-a"));
}

/* One manual suspend at ts_ms; its audit id, the event id in id. */
static int64_t act(struct tg_statedb *st, int64_t ts_ms, char id[TG_EVID_LEN])
{
	struct tg_event ev = {.ts_ms = ts_ms,
			      .customer = "cust-1",
			      .action = "notify",
			      .actor = "user:test",
			      .reason = "r"};
	int64_t n = tg_state_act(st, &ev, TG_ENF_KEEP, NULL, TG_EP_KEEP, NULL, NULL);

	snprintf(id, TG_EVID_LEN, "%s", tg_state_last_evid(st));
	return n;
}

static struct tg_statedb *open_db(const char *node)
{
	struct tg_statedb *st = NULL;
	char err[256];

	if (tg_state_open(path, &st, err, sizeof(err))) {
		fprintf(stderr, "    %s\n", err);
		return NULL;
	}
	if (node && tg_state_set_node(st, node)) {
		tg_state_close(st);
		return NULL;
	}
	return st;
}

static int copy_file(const char *from, const char *to)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "cp -f '%s' '%s'", from, to);
	return system(cmd);
}

static void test_db(void)
{
	char a[TG_EVID_LEN], b[TG_EVID_LEN], c[TG_EVID_LEN], lost[TG_EVID_LEN], bak[300];
	struct tg_statedb *st, *st2;
	int64_t n, now = tg_now_ms(), ms;
	uint64_t node;
	json_t *evs;
	int err;

	TEST_BEGIN("db: three events, ids increasing with this machine's node part");
	snprintf(path, sizeof(path), "%s/state.db", dir);
	st = open_db(NULL);
	CHECK(st);
	if (!st)
		return;
	CHECK(act(st, now, a) == 1);
	CHECK(act(st, now, b) == 2);
	CHECK(act(st, now, lost) == 3);
	CHECK(strcmp(a, b) < 0 && strcmp(b, lost) < 0);
	CHECK(tg_evid_parse(lost, &ms, NULL, &node) == 0 && ms == now &&
	      node == tg_evid_node(NULL));

	TEST_BEGIN("db: the last row lost (deleted), a restart, an event at the same ms: a new, "
		   "greater id");
	CHECK(sqlite3_exec(tg_state_sqlite(st), "DELETE FROM audit WHERE id = 3", NULL, NULL,
			   NULL) == SQLITE_OK);
	tg_state_close(st);
	st = open_db(NULL);
	CHECK(st);
	if (!st)
		return;
	n = act(st, now, c);
	CHECK(n > 3);
	CHECK(strcmp(c, lost) > 0);

	TEST_BEGIN("db: restored from an older copy (row and sequence lost): the integer id comes "
		   "again, the event id does not");
	tg_state_close(st);
	snprintf(bak, sizeof(bak), "%s.bak", path);
	CHECK(copy_file(path, bak) == 0); /* closed: checkpointed, no WAL */
	st = open_db(NULL);
	CHECK(st && (n = act(st, tg_now_ms(), lost)) > 0);
	tg_state_close(st);
	usleep(2000);
	CHECK(copy_file(bak, path) == 0);
	st = open_db(NULL);
	CHECK(st);
	if (!st)
		return;
	CHECK(act(st, tg_now_ms(), c) == n); /* what a receiver deduping on seq would drop */
	CHECK(strcmp(c, lost) > 0);

	TEST_BEGIN(
		"db: two connections of one node (CLI and daemon) interleave strictly increasing");
	st2 = open_db(NULL);
	CHECK(st2);
	if (!st2) {
		tg_state_close(st);
		return;
	}
	memcpy(a, c, sizeof(a));
	for (int i = 0; i < 20; i++) {
		CHECK(act(i % 2 ? st : st2, now - 1000, b) >
		      0); /* an earlier ms: the clock stepped */
		CHECK(strcmp(a, b) < 0);
		memcpy(a, b, sizeof(a));
	}
	tg_state_close(st2);

	TEST_BEGIN(
		"db: set_node: ids carry the node name's part and go on above that node's last id");
	CHECK(tg_state_set_node(st, "edge-a") == 0);
	CHECK(act(st, now, a) > 0);
	CHECK(tg_evid_parse(a, NULL, NULL, &node) == 0 && node == tg_evid_node("edge-a"));
	CHECK(act(st, now, b) > 0 && strcmp(a, b) < 0);
	tg_state_close(st);
	st = open_db("edge-a");
	CHECK(st && act(st, now, c) > 0 && strcmp(b, c) < 0);
	if (!st)
		return;

	TEST_BEGIN("db: another node's event keeps its id, once; a malformed id is refused");
	{
		struct tg_event ev = {.id = "019ace2f-907b-7000-8000-a1b2c3d4e5f6",
				      .ts_ms = 1764424800123,
				      .customer = "cust-2",
				      .action = "suspend",
				      .actor = "user:x",
				      .reason = "r"};

		CHECK(tg_state_act(st, &ev, TG_ENF_KEEP, NULL, TG_EP_KEEP, NULL, NULL) > 0);
		CHECK(!strcmp(tg_state_last_evid(st), ev.id));
		CHECK(tg_state_act(st, &ev, TG_ENF_KEEP, NULL, TG_EP_KEEP, NULL, NULL) == -EEXIST);
		ev.id = "not-an-id";
		CHECK(tg_state_act(st, &ev, TG_ENF_KEEP, NULL, TG_EP_KEEP, NULL, NULL) == -EINVAL);
	}

	TEST_BEGIN("db: events as JSON carry \"id\" (the event id) and \"seq\" (the audit row)");
	evs = tg_state_events(st, "cust-2", 0, 10, &err);
	CHECK(evs && json_array_size(evs) == 1);
	if (evs && json_array_size(evs) == 1) {
		json_t *e = json_array_get(evs, 0);

		CHECK(!strcmp(json_string_value(json_object_get(e, "id")),
			      "019ace2f-907b-7000-8000-a1b2c3d4e5f6"));
		CHECK(json_integer_value(json_object_get(e, "seq")) > 0);
	}
	json_decref(evs);

	/* a cluster: the event of another node's action can reach this one before its state
	 * (docs/cluster.md); both are one action: one row, the origin's id */
	TEST_BEGIN("db: another node's state after its event cites that row: one row, one id");
	{
		struct tg_event ev = {.id = "019ace2f-907b-7000-8000-a1b2c3d4e5f7",
				      .ts_ms = 1764424800456,
				      .customer = "cust-3",
				      .action = "suspend",
				      .actor = "user:x",
				      .reason = "r",
				      .origin = "edge-b"};
		struct tg_enf_entry n = {.id = "cust-3",
					 .state = TG_ST_SUSPENDED,
					 .since_ms = 1764424800456,
					 .actor = "user:x",
					 .reason = "r"};
		struct tg_enf_table t = {};
		const struct tg_enf_entry *x;
		int64_t a1, a2;

		a1 = tg_state_act(st, &ev, TG_ENF_KEEP, NULL, TG_EP_KEEP, NULL, NULL);
		a2 = tg_state_act(st, &ev, TG_ENF_SET, &n, TG_EP_KEEP, NULL, NULL);
		CHECK(a1 > 0 && a2 == a1);
		CHECK(tg_state_has_event(st, ev.id) && !tg_state_has_event(st, "x"));
		evs = tg_state_events(st, "cust-3", 0, 10, &err);
		CHECK(evs && json_array_size(evs) == 1);
		if (evs && json_array_size(evs) == 1) {
			json_t *e = json_array_get(evs, 0);

			CHECK(!strcmp(json_string_value(json_object_get(e, "id")), ev.id));
			CHECK(!strcmp(json_string_value(json_object_get(e, "origin")), "edge-b"));
			CHECK(!json_object_get(e, "uid"));
		}
		json_decref(evs);
		CHECK(tg_state_enf_load(st, &t) == 0);
		x = tg_enf_find(&t, "cust-3");
		CHECK(x && x->state == TG_ST_SUSPENDED && x->audit_id == a1);
		tg_enf_free(&t);
		/* the event alone again: still refused */
		CHECK(tg_state_act(st, &ev, TG_ENF_KEEP, NULL, TG_EP_KEEP, NULL, NULL) == -EEXIST);
	}
	tg_state_close(st);
}

static void test_migrate(void)
{
	sqlite3 *db = NULL;
	struct tg_statedb *st;
	sqlite3_stmt *q = NULL;
	char prev[TG_EVID_LEN] = "", c[TG_EVID_LEN];
	int rows = 0, ok = 1;

	TEST_BEGIN("migrate: a database from before event ids: every row gets one, in row order");
	snprintf(path, sizeof(path), "%s/old.db", dir);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
			   "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER "
			   "NOT NULL, customer TEXT NOT NULL, action TEXT NOT NULL, actor TEXT NOT "
			   "NULL, rule TEXT, reason TEXT NOT NULL, evidence TEXT, monitor INTEGER "
			   "NOT NULL DEFAULT 0, until INTEGER);"
			   "INSERT INTO audit (ts, customer, action, actor, reason) VALUES "
			   "(5000, 'c', 'suspend', 'x', 'r'), (5000, 'c', 'unsuspend', 'x', 'r'), "
			   "(4000, 'c', 'suspend', 'x', 'r');",
			   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	st = open_db(NULL);
	CHECK(st);
	if (!st)
		return;
	CHECK(sqlite3_prepare_v2(tg_state_sqlite(st), "SELECT event_id FROM audit ORDER BY id", -1,
				 &q, NULL) == SQLITE_OK);
	while (q && sqlite3_step(q) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(q, 0);

		ok &= id && !tg_evid_parse(id, NULL, NULL, NULL) && strcmp(prev, id) < 0;
		snprintf(prev, sizeof(prev), "%s", id ? id : "");
		rows++;
	}
	sqlite3_finalize(q);
	CHECK(ok && rows == 3);
	CHECK(act(st, 4000, c) > 0 && strcmp(prev, c) < 0);

	TEST_BEGIN("migrate: rows an older version added after (a downgrade): ids above the node's "
		   "last");
	CHECK(sqlite3_exec(tg_state_sqlite(st),
			   "INSERT INTO audit (ts, customer, action, actor, reason) VALUES "
			   "(3000, 'c', 'suspend', 'old', 'r')",
			   NULL, NULL, NULL) == SQLITE_OK);
	tg_state_close(st);
	st = open_db(NULL);
	CHECK(st);
	if (!st)
		return;
	q = NULL;
	CHECK(sqlite3_prepare_v2(tg_state_sqlite(st),
				 "SELECT event_id FROM audit WHERE actor = 'old'", -1, &q,
				 NULL) == SQLITE_OK);
	if (q && sqlite3_step(q) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(q, 0);

		CHECK(id && strcmp(id, c) > 0);
		snprintf(prev, sizeof(prev), "%s", id ? id : "");
	} else {
		CHECK(!"the old row is there");
	}
	sqlite3_finalize(q);
	CHECK(act(st, 4000, c) > 0 && strcmp(prev, c) < 0);
	tg_state_close(st);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_layout();
	test_generator();
	test_nodes();
	test_db();
	test_migrate();
	tl_rmtree(dir);
	return test_summary();
}
