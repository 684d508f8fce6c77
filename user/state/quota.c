// SPDX-License-Identifier: GPL-2.0-only
/*
 * quota.c - the volume each customer with a quota has used this period, in the state
 * database's quota table (one row per customer id), with the reading of the data plane's
 * counters it was taken at (index and bytes), so a restarted daemon counts what passed
 * while it was down. tollgated writes it behind its counting (user/daemon/quota.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>

#include "state.h"

static const char quota_schema[] = "CREATE TABLE IF NOT EXISTS quota ("
				   "  customer TEXT PRIMARY KEY,"
				   "  period_start INTEGER NOT NULL," /* unix ms, UTC */
				   "  up_bytes INTEGER NOT NULL,"
				   "  down_bytes INTEGER NOT NULL,"
				   "  idx INTEGER NOT NULL,"
				   "  base_up INTEGER NOT NULL,"
				   "  base_down INTEGER NOT NULL,"
				   "  updated INTEGER NOT NULL,"
				   "  plan TEXT NOT NULL DEFAULT '');"
				   /* the applied plans' quotas, so a reader without the
				    * configuration (tollgate customer show) shows the quota */
				   "CREATE TABLE IF NOT EXISTS quota_plan ("
				   "  plan TEXT PRIMARY KEY,"
				   "  up_bytes INTEGER NOT NULL,"
				   "  down_bytes INTEGER NOT NULL,"
				   "  period INTEGER NOT NULL,"
				   "  reset INTEGER NOT NULL);";

static int ensure(sqlite3 *db)
{
	return sqlite3_exec(db, quota_schema, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static void row_of(sqlite3_stmt *q, struct tg_quota_row *r)
{
	const unsigned char *t = sqlite3_column_text(q, 0);

	memset(r, 0, sizeof(*r));
	snprintf(r->customer, sizeof(r->customer), "%s", t ? (const char *)t : "");
	r->period_start_ms = sqlite3_column_int64(q, 1);
	r->used[TG_DIR_UP] = (uint64_t)sqlite3_column_int64(q, 2);
	r->used[TG_DIR_DOWN] = (uint64_t)sqlite3_column_int64(q, 3);
	r->idx = (uint32_t)sqlite3_column_int64(q, 4);
	r->base[TG_DIR_UP] = (uint64_t)sqlite3_column_int64(q, 5);
	r->base[TG_DIR_DOWN] = (uint64_t)sqlite3_column_int64(q, 6);
	r->updated_ms = sqlite3_column_int64(q, 7);
	t = sqlite3_column_text(q, 8);
	snprintf(r->plan, sizeof(r->plan), "%s", t ? (const char *)t : "");
}

#define COLS "customer, period_start, up_bytes, down_bytes, idx, base_up, base_down, updated, plan"

int tg_state_quota_load(struct tg_statedb *st, tg_quota_row_fn fn, void *ctx)
{
	sqlite3 *db = tg_state_sqlite(st);
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	if (ensure(db) ||
	    sqlite3_prepare_v2(db, "SELECT " COLS " FROM quota", -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct tg_quota_row r;

		row_of(q, &r);
		err = fn(ctx, &r);
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(q);
	return err;
}

int tg_state_quota_get(struct tg_statedb *st, const char *customer, struct tg_quota_row *out)
{
	sqlite3 *db = tg_state_sqlite(st);
	sqlite3_stmt *q = NULL;
	int rc;

	if (ensure(db) || sqlite3_prepare_v2(db, "SELECT " COLS " FROM quota WHERE customer = ?1",
					     -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(q, 1, customer, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		row_of(q, out);
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int tg_state_quota_put(struct tg_statedb *st, const struct tg_quota_row *rows, size_t n)
{
	sqlite3 *db = tg_state_sqlite(st);
	sqlite3_stmt *q = NULL;
	int err = 0;

	if (!n)
		return 0;
	if (ensure(db) || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO quota (" COLS
			       ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			       -1, &q, NULL) != SQLITE_OK)
		err = -EIO;
	for (size_t i = 0; !err && i < n; i++) {
		const struct tg_quota_row *r = &rows[i];

		sqlite3_bind_text(q, 1, r->customer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, r->period_start_ms);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)r->used[TG_DIR_UP]);
		sqlite3_bind_int64(q, 4, (sqlite3_int64)r->used[TG_DIR_DOWN]);
		sqlite3_bind_int64(q, 5, r->idx);
		sqlite3_bind_int64(q, 6, (sqlite3_int64)r->base[TG_DIR_UP]);
		sqlite3_bind_int64(q, 7, (sqlite3_int64)r->base[TG_DIR_DOWN]);
		sqlite3_bind_int64(q, 8, r->updated_ms);
		sqlite3_bind_text(q, 9, r->plan, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE)
			err = -EIO;
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	if (sqlite3_exec(db, err ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && !err) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		err = -EIO;
	}
	return err;
}

long tg_state_quota_purge(struct tg_statedb *st, int64_t before_ms)
{
	sqlite3 *db = tg_state_sqlite(st);

	if (ensure(db))
		return -EIO;
	return tg_state_delete(db, "DELETE FROM quota WHERE updated < ?1", before_ms);
}

int tg_state_quota_plans_set(struct tg_statedb *st, const struct tg_quota_plan_row *p, size_t n)
{
	sqlite3 *db = tg_state_sqlite(st);
	sqlite3_stmt *q = NULL;
	int err = 0;

	if (ensure(db) || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_exec(db, "DELETE FROM quota_plan", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO quota_plan (plan, up_bytes, down_bytes, period, reset) "
			       "VALUES (?1, ?2, ?3, ?4, ?5)",
			       -1, &q, NULL) != SQLITE_OK)
		err = -EIO;
	for (size_t i = 0; !err && i < n; i++) {
		sqlite3_bind_text(q, 1, p[i].plan, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)p[i].bytes[TG_DIR_UP]);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)p[i].bytes[TG_DIR_DOWN]);
		sqlite3_bind_int(q, 4, p[i].period);
		sqlite3_bind_int(q, 5, p[i].reset);
		if (sqlite3_step(q) != SQLITE_DONE)
			err = -EIO;
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	if (sqlite3_exec(db, err ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && !err) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		err = -EIO;
	}
	return err;
}

int tg_state_quota_view(struct tg_statedb *st, const char *customer, struct tg_quota_row *r,
			struct tg_quota_plan_row *p)
{
	sqlite3 *db = tg_state_sqlite(st);
	sqlite3_stmt *q = NULL;
	int rc;

	/* a reader creates nothing: no table yet (no quota ever counted) is no row */
	if (sqlite3_prepare_v2(
		    db,
		    "SELECT q.customer, q.period_start, q.up_bytes, q.down_bytes, q.idx, "
		    "q.base_up, q.base_down, q.updated, q.plan, p.up_bytes, p.down_bytes, "
		    "p.period, p.reset FROM quota q JOIN quota_plan p ON p.plan = q.plan "
		    "WHERE q.customer = ?1",
		    -1, &q, NULL) != SQLITE_OK)
		return strstr(sqlite3_errmsg(db), "no such table") ? -ENOENT : -EIO;
	sqlite3_bind_text(q, 1, customer, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		row_of(q, r);
		memset(p, 0, sizeof(*p));
		snprintf(p->plan, sizeof(p->plan), "%s", r->plan);
		p->bytes[TG_DIR_UP] = (uint64_t)sqlite3_column_int64(q, 9);
		p->bytes[TG_DIR_DOWN] = (uint64_t)sqlite3_column_int64(q, 10);
		p->period = sqlite3_column_int(q, 11);
		p->reset = sqlite3_column_int(q, 12);
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}
