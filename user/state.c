// SPDX-License-Identifier: GPL-2.0-only
/*
 * state.c - the SQLite state database: customer index assignments (see state.h).
 * WAL mode and synchronous=NORMAL: a crash loses at most the last transaction, never the
 * file; every write is one transaction.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include "state.h"
#include "util.h"

struct tg_statedb {
	sqlite3 *db;
	char **ids; /* strings of the last tg_state_assignments */
	size_t nids;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"INSERT OR IGNORE INTO meta VALUES ('schema_version', '1');"
	"CREATE TABLE IF NOT EXISTS customer_index ("
	"  id TEXT PRIMARY KEY,"
	"  idx INTEGER NOT NULL UNIQUE CHECK (idx > 0),"
	"  assigned_at INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
	/* enforcement state of the customers that are not active; times in unix ms */
	"CREATE TABLE IF NOT EXISTS enforcement ("
	"  customer TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL CHECK (state IN ('throttled', 'suspended')),"
	"  since INTEGER NOT NULL,"
	"  until INTEGER," /* NULL: until lifted (by hand, or by the rule's clear_after) */
	"  rule TEXT,"	   /* NULL: set by hand */
	"  actor TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  throttle_bps INTEGER,"
	"  audit_id INTEGER NOT NULL);"
	/* every action, committed before it takes effect */
	"CREATE TABLE IF NOT EXISTS audit ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  ts INTEGER NOT NULL,"
	"  customer TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  rule TEXT,"
	"  reason TEXT NOT NULL,"
	"  evidence TEXT," /* JSON aggregates */
	"  monitor INTEGER NOT NULL DEFAULT 0,"
	"  until INTEGER);"
	"CREATE INDEX IF NOT EXISTS audit_customer ON audit (customer, ts);"
	"CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);"
	/* a rule's open episode for a customer: fired, condition not yet cleared; a restart
	 * that finds one does not fire (and notify) the rule again */
	"CREATE TABLE IF NOT EXISTS episode ("
	"  customer TEXT NOT NULL,"
	"  rule TEXT NOT NULL,"
	"  fired_at INTEGER NOT NULL,"
	"  PRIMARY KEY (customer, rule));"
	/* notifications to deliver: one row per event and target */
	"CREATE TABLE IF NOT EXISTS outbox ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  audit_id INTEGER NOT NULL,"
	"  target TEXT NOT NULL CHECK (target IN ('exec', 'webhook')),"
	"  payload TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_at INTEGER NOT NULL,"
	"  delivered_at INTEGER,"
	"  last_error TEXT);"
	"CREATE INDEX IF NOT EXISTS outbox_due ON outbox (delivered_at, next_at);";

int tg_state_open(const char *path, struct tg_statedb **out, char *err, size_t errlen)
{
	struct tg_statedb *st = calloc(1, sizeof(*st));
	char *msg = NULL;
	int rc;

	*out = NULL;
	if (!st)
		return -ENOMEM;
	rc = tg_mkdir_parent(path, 0750);
	if (rc) {
		snprintf(err, errlen, "%s: cannot create its directory: %s", path, strerror(-rc));
		free(st);
		return rc;
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 st->db ? sqlite3_errmsg(st->db) : "no memory");
		sqlite3_close(st->db);
		free(st);
		return -EIO;
	}
	sqlite3_busy_timeout(st->db, 10000);
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
			 &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "cannot set up the schema");
		sqlite3_free(msg);
		sqlite3_close(st->db);
		free(st);
		return -EIO;
	}
	*out = st;
	return 0;
}

static void free_ids(struct tg_statedb *st)
{
	size_t i;

	for (i = 0; i < st->nids; i++)
		free(st->ids[i]);
	free(st->ids);
	st->ids = NULL;
	st->nids = 0;
}

sqlite3 *tg_state_sqlite(struct tg_statedb *st)
{
	return st->db;
}

void tg_state_close(struct tg_statedb *st)
{
	if (!st)
		return;
	free_ids(st);
	sqlite3_close(st->db);
	free(st);
}

int tg_state_assignments(struct tg_statedb *st, struct tg_assign **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	struct tg_assign *a = NULL;
	size_t cap = 0, cnt = 0;
	int rc, err = 0;

	free_ids(st);
	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT id, idx FROM customer_index ORDER BY id", -1, &q,
			       NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(q, 0);

		if (cnt == cap) {
			size_t ncap = cap ? 2 * cap : 1024;
			struct tg_assign *na = realloc(a, ncap * sizeof(*a));
			char **ni = realloc(st->ids, ncap * sizeof(*ni));

			if (na)
				a = na;
			if (ni)
				st->ids = ni;
			if (!na || !ni) {
				err = -ENOMEM;
				break;
			}
			cap = ncap;
		}
		st->ids[cnt] = strdup(id ? id : "");
		if (!st->ids[cnt]) {
			err = -ENOMEM;
			break;
		}
		a[cnt].id = st->ids[cnt];
		a[cnt].idx = (uint32_t)sqlite3_column_int64(q, 1);
		st->nids = ++cnt;
	}
	if (!err && rc != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(q);
	if (err) {
		free(a);
		free_ids(st);
		return err;
	}
	*out = a;
	*n = cnt;
	return 0;
}

int tg_state_record(struct tg_statedb *st, const struct tg_assign *set, size_t nset,
		    const char *const *drop, size_t ndrop)
{
	sqlite3_stmt *del = NULL, *put = NULL;
	size_t i;
	int err = 0;

	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	/* a freed index may be given to a new customer in this very transaction */
	if (sqlite3_prepare_v2(st->db, "DELETE FROM customer_index WHERE id = ?1 OR idx = ?2", -1,
			       &del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db,
			       "INSERT INTO customer_index (id, idx) VALUES (?1, ?2) "
			       "ON CONFLICT(id) DO UPDATE SET idx = excluded.idx "
			       "WHERE idx != excluded.idx",
			       -1, &put, NULL) != SQLITE_OK) {
		err = -EIO;
		goto out;
	}
	for (i = 0; i < ndrop && !err; i++) {
		sqlite3_bind_text(del, 1, drop[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(del, 2, 0);
		if (sqlite3_step(del) != SQLITE_DONE)
			err = -EIO;
		sqlite3_reset(del);
	}
	for (i = 0; i < nset && !err; i++) {
		sqlite3_bind_text(put, 1, set[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(put, 2, set[i].idx);
		if (sqlite3_step(put) != SQLITE_DONE) {
			/* the index belongs to a stale row (an id that left without a record):
			 * the maps are the truth, so the stale row goes */
			sqlite3_reset(put);
			sqlite3_bind_null(del, 1);
			sqlite3_bind_int64(del, 2, set[i].idx);
			if (sqlite3_step(del) != SQLITE_DONE || sqlite3_reset(del) != SQLITE_OK ||
			    sqlite3_step(put) != SQLITE_DONE)
				err = -EIO;
			sqlite3_reset(del);
		}
		sqlite3_reset(put);
	}
out:
	sqlite3_finalize(del);
	sqlite3_finalize(put);
	if (sqlite3_exec(st->db, err ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK &&
	    !err)
		err = -EIO;
	return err;
}
