// SPDX-License-Identifier: GPL-2.0-only
/*
 * state.c - the SQLite state database: customer index assignments (see state.h).
 * WAL mode and synchronous=FULL: a committed transaction survives a crash and a power
 * loss; every write is one transaction. The files are 0600 (or 0640) whatever the umask.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>
#include <sqlite3.h>

#include "state.h"
#include "lib/lib.h"

struct tg_statedb {
	sqlite3 *db;
	char **ids; /* strings of the last tg_state_assignments */
	size_t nids;
	struct tg_evid_gen gen;	     /* this node's event ids */
	char node_key[64];	     /* meta key of its last id: "event_id_last/NODE" */
	char last_evid[TG_EVID_LEN]; /* of the last tg_state_act */
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
	"  until INTEGER,"
	"  event_id TEXT);" /* globally unique (evid.c); NULL only before migrate_evid */
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
	"CREATE INDEX IF NOT EXISTS outbox_due ON outbox (delivered_at, next_at);"
	/* announcements upstream (user/mitigation/) that should be in force: the speaker is
	 * reconciled to these after a restart of tollgated or of the BGP daemon */
	"CREATE TABLE IF NOT EXISTS mitigation ("
	"  key TEXT PRIMARY KEY,"
	"  customer TEXT NOT NULL,"
	"  rule TEXT,"
	"  kind TEXT NOT NULL CHECK (kind IN ('blackhole', 'flowspec')),"
	"  prefix TEXT NOT NULL,"
	"  proto INTEGER NOT NULL DEFAULT 0,"
	"  sports TEXT NOT NULL DEFAULT '',"
	"  rate_bps INTEGER NOT NULL DEFAULT 0,"
	"  started INTEGER NOT NULL,"
	"  until INTEGER NOT NULL,"
	"  with_episode INTEGER NOT NULL DEFAULT 0,"
	"  audit_id INTEGER);";

/* The text sql (one ?1 parameter) selects into g, if it is an id above g's. 1: there was
 * one (not NULL), 0: none, or -EIO. */
static int seed_from(sqlite3 *db, struct tg_evid_gen *g, const char *sql, const char *arg)
{
	sqlite3_stmt *q = NULL;
	int rc, found = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
		tg_evid_seed(g, (const char *)sqlite3_column_text(q, 0));
		found = 1;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -EIO;
}

/*
 * A database from before event ids: the audit table gets its event_id column, and every
 * row one, made here in row order from the row's time with this machine's node part (the
 * rows were this node's), above the last id the node issued here if there is one (a
 * downgrade and an upgrade again), which they then are. Then ids are unique by index.
 * One transaction; a no-op after.
 */
static int migrate_evid(struct tg_statedb *st)
{
	struct tg_evid_gen g = {.node = tg_evid_node(NULL)};
	sqlite3_stmt *q = NULL, *u = NULL;
	char id[TG_EVID_LEN] = "", key[64];
	int rc, err = 0;

	snprintf(key, sizeof(key), "event_id_last/%012llx", (unsigned long long)g.node);

	/* the usual case, without taking the write lock: nothing to do */
	if (sqlite3_prepare_v2(st->db,
			       "SELECT (SELECT count(*) FROM sqlite_master WHERE name = "
			       "'audit_event_id') + (SELECT count(*) FROM (SELECT 1 FROM audit "
			       "WHERE event_id IS NULL LIMIT 1))",
			       -1, &q, NULL) == SQLITE_OK) {
		rc = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
		sqlite3_finalize(q);
		q = NULL;
		if (rc == 1)
			return 0; /* the index, no row without an id */
	}
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_prepare_v2(st->db, "SELECT event_id FROM audit LIMIT 0", -1, &q, NULL) !=
		    SQLITE_OK &&
	    sqlite3_exec(st->db, "ALTER TABLE audit ADD COLUMN event_id TEXT", NULL, NULL, NULL) !=
		    SQLITE_OK) {
		err = -EIO;
		goto out;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (seed_from(st->db, &g, "SELECT value FROM meta WHERE key = ?1", key) < 0) {
		err = -EIO;
		goto out;
	}
	if (sqlite3_prepare_v2(st->db,
			       "SELECT id, ts FROM audit WHERE event_id IS NULL ORDER BY id", -1,
			       &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "UPDATE audit SET event_id = ?1 WHERE id = ?2", -1, &u,
			       NULL) != SQLITE_OK) {
		err = -EIO;
		goto out;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		tg_evid_next(&g, sqlite3_column_int64(q, 1), id);
		sqlite3_bind_text(u, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(u, 2, sqlite3_column_int64(q, 0));
		if (sqlite3_step(u) != SQLITE_DONE) {
			err = -EIO;
			break;
		}
		sqlite3_reset(u);
	}
	if (!err && rc != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(u);
	u = NULL;
	if (!err && id[0]) { /* the last one made is the node's last */
		if (sqlite3_prepare_v2(st->db,
				       "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
				       -1, &u, NULL) != SQLITE_OK) {
			err = -EIO;
			goto out;
		}
		sqlite3_bind_text(u, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(u, 2, id, -1, SQLITE_STATIC);
		if (sqlite3_step(u) != SQLITE_DONE)
			err = -EIO;
	}
	if (!err &&
	    sqlite3_exec(st->db,
			 "CREATE UNIQUE INDEX IF NOT EXISTS audit_event_id ON audit (event_id)",
			 NULL, NULL, NULL) != SQLITE_OK)
		err = -EIO;
out:
	sqlite3_finalize(q);
	sqlite3_finalize(u);
	if (sqlite3_exec(st->db, err ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK &&
	    !err)
		err = -EIO;
	return err;
}

int tg_state_set_node(struct tg_statedb *st, const char *node_name)
{
	struct tg_evid_gen g = {.node = tg_evid_node(node_name)};
	char hex[16];
	int err;

	snprintf(hex, sizeof(hex), "%012llx", (unsigned long long)g.node);
	snprintf(st->node_key, sizeof(st->node_key), "event_id_last/%s", hex);
	/* the last id this node issued: its meta row (kept even if the row itself is gone);
	 * without one (the node's first event here, or migrated rows), its newest audit row
	 * (a scan: once) */
	err = seed_from(st->db, &g, "SELECT value FROM meta WHERE key = ?1", st->node_key);
	if (!err)
		err = seed_from(st->db, &g,
				"SELECT max(event_id) FROM audit WHERE substr(event_id, 25) = ?1",
				hex);
	if (err < 0)
		return err;
	st->gen = g;
	return 0;
}

const char *tg_state_last_evid(const struct tg_statedb *st)
{
	return st->last_evid;
}

/*
 * The audit log's cluster columns (docs/cluster.md), added to a database made before them:
 * origin, the node that decided the action (NULL: this node, alone; the event_id is the
 * decider's on every node), and uid, only on rows recorded from an older node's record
 * ("<node>:<its audit id>", before the event id was carried), unique so such an action is
 * recorded once.
 */
static int add_cluster_columns(sqlite3 *db, char **msg)
{
	static const char *const alter[] = {"ALTER TABLE audit ADD COLUMN origin TEXT",
					    "ALTER TABLE audit ADD COLUMN uid TEXT"};

	for (size_t i = 0; i < sizeof(alter) / sizeof(alter[0]); i++) {
		if (sqlite3_exec(db, alter[i], NULL, NULL, msg) == SQLITE_OK)
			continue;
		if (!*msg || !strstr(*msg, "duplicate column"))
			return -EIO;
		sqlite3_free(*msg);
		*msg = NULL;
	}
	return sqlite3_exec(db,
			    "CREATE UNIQUE INDEX IF NOT EXISTS audit_uid ON audit (uid) WHERE "
			    "uid IS NOT NULL",
			    NULL, NULL, msg) == SQLITE_OK
		       ? 0
		       : -EIO;
}

static bool has_row(struct tg_statedb *st, const char *sql, const char *arg)
{
	sqlite3_stmt *q = NULL;
	bool has = false;

	if (arg && sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
		has = sqlite3_step(q) == SQLITE_ROW;
	}
	sqlite3_finalize(q);
	return has;
}

bool tg_state_has_uid(struct tg_statedb *st, const char *uid)
{
	return has_row(st, "SELECT 1 FROM audit WHERE uid = ?1", uid);
}

bool tg_state_has_event(struct tg_statedb *st, const char *id)
{
	return has_row(st, "SELECT 1 FROM audit WHERE event_id = ?1", id);
}

/*
 * The database and its WAL and shared-memory files hold personal data (who was suspended,
 * why): owner read-write, at most group read, whatever the umask. Files that exist are
 * narrowed to that (a group-read file stays group-read); a new database is created here
 * 0600 before SQLite opens it (not by changing the umask, which is the whole process's),
 * and SQLite gives the -wal and -shm files the database's own mode. A symlink in
 * their place is refused rather than followed. Never open()ed here: closing any descriptor
 * of a file drops every POSIX lock this process holds on it, and another connection of
 * this process (the exporter's, the enforcer's) may hold SQLite's locks on these files.
 */
static int narrow_mode(const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (lstat(path, &sb)) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: %s", path,
			 S_ISLNK(sb.st_mode) ? "a symlink: refused" : "not a regular file");
		return -EINVAL;
	}
	if ((sb.st_mode & 07777 & ~0640u) &&
	    fchmodat(AT_FDCWD, path, sb.st_mode & 0640u, AT_SYMLINK_NOFOLLOW)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

int tg_state_open(const char *path, struct tg_statedb **out, char *err, size_t errlen)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	struct tg_statedb *st = calloc(1, sizeof(*st));
	char *msg = NULL, p[PATH_MAX];
	size_t i;
	int rc, fd;

	*out = NULL;
	if (!st)
		return -ENOMEM;
	rc = tg_mkdir_parent(path, 0750);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot create its directory: %s", path, strerror(-rc));
		free(st);
		return rc;
	}
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		rc = narrow_mode(p, err, errlen);
		if (rc) {
			free(st);
			return rc;
		}
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd); /* new: no connection of this process can hold a lock on it yet */
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 st->db ? sqlite3_errmsg(st->db) : "no memory");
		sqlite3_close(st->db);
		free(st);
		return -EIO;
	}
	sqlite3_busy_timeout(st->db, 10000);
	/*
	 * synchronous=FULL: every commit reaches the disk before the action it records is
	 * applied or its notification leaves, so a power loss cannot lose an audit row of an
	 * action already in force, nor free an event id (AUTOINCREMENT never reuses one) that
	 * a receiver has seen. Actions are rare; a reload's index assignments are one
	 * transaction. It costs one fsync of the WAL per commit.
	 */
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
			 &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, schema, NULL, NULL, &msg) != SQLITE_OK ||
	    add_cluster_columns(st->db, &msg)) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "cannot set up the schema");
		sqlite3_free(msg);
		sqlite3_close(st->db);
		free(st);
		return -EIO;
	}
	rc = migrate_evid(st);
	if (!rc)
		rc = tg_state_set_node(st, NULL);
	if (rc) {
		snprintf(err, errlen, "%s: cannot set up event ids: %s", path,
			 sqlite3_errmsg(st->db));
		sqlite3_close(st->db);
		free(st);
		return rc;
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

/* ---- enforcement ------------------------------------------------------------------- */

static int cmp_enf_id(const void *key, const void *ent)
{
	return strcmp(key, ((const struct tg_enf_entry *)ent)->id);
}

/* The position of id in t, or where it would go (*found false). */
static size_t enf_pos(const struct tg_enf_table *t, const char *id, bool *found)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_enf_id(id, &t->e[mid]);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = false;
	return lo;
}

const struct tg_enf_entry *tg_enf_find(const struct tg_enf_table *t, const char *id)
{
	bool found;
	size_t i;

	if (!t || !t->n)
		return NULL;
	i = enf_pos(t, id, &found);
	return found ? &t->e[i] : NULL;
}

int tg_enf_put(struct tg_enf_table *t, const struct tg_enf_entry *e)
{
	bool found;
	size_t i = enf_pos(t, e->id, &found);

	if (!found) {
		if (t->n == t->cap) {
			size_t cap = t->cap ? 2 * t->cap : 64;
			struct tg_enf_entry *ne = realloc(t->e, cap * sizeof(*ne));

			if (!ne)
				return -ENOMEM;
			t->e = ne;
			t->cap = cap;
		}
		memmove(&t->e[i + 1], &t->e[i], (t->n - i) * sizeof(*t->e));
		t->n++;
	}
	t->e[i] = *e;
	return 0;
}

void tg_enf_del(struct tg_enf_table *t, const char *id)
{
	bool found;
	size_t i = enf_pos(t, id, &found);

	if (!found)
		return;
	memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof(*t->e));
	t->n--;
}

void tg_enf_free(struct tg_enf_table *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}

static void copy_col(char *dst, size_t len, sqlite3_stmt *q, int col)
{
	const unsigned char *s = sqlite3_column_text(q, col);

	snprintf(dst, len, "%s", s ? (const char *)s : "");
}

int tg_state_enf_load(struct tg_statedb *st, struct tg_enf_table *out)
{
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	out->n = 0;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT customer, state, throttle_bps, since, until, rule, actor, "
			       "reason, audit_id FROM enforcement ORDER BY customer",
			       -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct tg_enf_entry e = {};
		const unsigned char *state = sqlite3_column_text(q, 1);
		int st = TG_ST_THROTTLED;

		copy_col(e.id, sizeof(e.id), q, 0);
		if (state)
			tg_state_parse((const char *)state, &st);
		e.state = st == TG_ST_SUSPENDED ? TG_ST_SUSPENDED : TG_ST_THROTTLED;
		e.throttle_bps = (uint64_t)sqlite3_column_int64(q, 2);
		e.since_ms = sqlite3_column_int64(q, 3);
		e.until_ms = sqlite3_column_int64(q, 4);
		copy_col(e.rule, sizeof(e.rule), q, 5);
		copy_col(e.actor, sizeof(e.actor), q, 6);
		copy_col(e.reason, sizeof(e.reason), q, 7);
		e.audit_id = sqlite3_column_int64(q, 8);
		err = tg_enf_put(out, &e);
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(q);
	return err;
}

static void iso_time(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *enf_state_name(uint8_t s)
{
	return tg_state_name(s == TG_ST_SUSPENDED ? TG_ST_SUSPENDED : TG_ST_THROTTLED);
}

json_t *tg_json_time(int64_t ms)
{
	char buf[32];

	if (!ms)
		return json_null();
	iso_time(ms, buf, sizeof(buf));
	return json_string(buf);
}

json_t *tg_enf_json(const struct tg_enf_entry *e)
{
	json_t *o = json_pack("{ss ss so so ss ss}", "customer", e->id, "state",
			      enf_state_name(e->state), "since", tg_json_time(e->since_ms), "until",
			      tg_json_time(e->until_ms), "actor", e->actor, "reason", e->reason);

	if (!o)
		return NULL;
	json_object_set_new(o, "rule", e->rule[0] ? json_string(e->rule) : json_null());
	if (e->state == TG_ST_THROTTLED)
		json_object_set_new(o, "throttle_bps", json_integer((json_int_t)e->throttle_bps));
	return o;
}

json_t *tg_event_json(int64_t audit_id, const struct tg_event *ev)
{
	json_t *o = json_object(), *evid = NULL;
	char t[32];

	if (!o)
		return NULL;
	iso_time(ev->ts_ms, t, sizeof(t));
	json_object_set_new(o, "id", ev->id ? json_string(ev->id) : json_null());
	json_object_set_new(o, "seq", json_integer(audit_id));
	json_object_set_new(o, "time", json_string(t));
	json_object_set_new(o, "customer", json_string(ev->customer));
	json_object_set_new(o, "action", json_string(ev->action));
	json_object_set_new(o, "actor", json_string(ev->actor));
	json_object_set_new(o, "rule", ev->rule ? json_string(ev->rule) : json_null());
	json_object_set_new(o, "reason", json_string(ev->reason));
	json_object_set_new(o, "monitor", json_boolean(ev->monitor));
	if (ev->until_ms) {
		iso_time(ev->until_ms, t, sizeof(t));
		json_object_set_new(o, "until", json_string(t));
	} else {
		json_object_set_new(o, "until", json_null());
	}
	if (ev->throttle_bps)
		json_object_set_new(o, "throttle_bps", json_integer((json_int_t)ev->throttle_bps));
	if (ev->evidence)
		evid = json_loads(ev->evidence, 0, NULL);
	json_object_set_new(o, "evidence", evid ? evid : json_object());
	/* in a cluster: the node that decided it ("id" is its id on every node) */
	if (ev->origin)
		json_object_set_new(o, "origin", json_string(ev->origin));
	return o;
}

/* The audit row of event id: its row id, 0 (none) or -EIO. */
static int64_t audit_row_of(sqlite3 *db, const char *evid)
{
	sqlite3_stmt *q = NULL;
	int64_t id = -EIO;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT id FROM audit WHERE event_id = ?1", -1, &q, NULL) !=
	    SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(q, 1, evid, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(q, 0);
	else if (rc == SQLITE_DONE)
		id = 0;
	sqlite3_finalize(q);
	return id;
}

int64_t tg_state_act(struct tg_statedb *st, const struct tg_event *ev, enum tg_enf_op op,
		     const struct tg_enf_entry *enf, enum tg_ep_op ep, tg_queue_fn queue, void *ctx)
{
	sqlite3_stmt *q = NULL;
	struct tg_event e = *ev;
	char evid[TG_EVID_LEN];
	int64_t id = 0;
	char *payload = NULL;
	json_t *j;
	int err = 0, rc;

	if (ev->id && tg_evid_parse(ev->id, NULL, NULL, NULL))
		return -EINVAL;
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	if (!ev->id) {
		/* under the write lock: above the last id this node issued through any
		 * connection (the CLI's, the daemon's); an id burnt by a rollback is never
		 * issued again: gaps, never reuse */
		err = seed_from(st->db, &st->gen, "SELECT value FROM meta WHERE key = ?1",
				st->node_key);
		if (err < 0)
			goto out;
		err = 0;
		tg_evid_next(&st->gen, ev->ts_ms, evid);
		e.id = evid;
		ev = &e;
		if (sqlite3_prepare_v2(st->db,
				       "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
				       -1, &q, NULL) != SQLITE_OK) {
			err = -EIO;
			goto out;
		}
		sqlite3_bind_text(q, 1, st->node_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, evid, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE) {
			err = -EIO;
			goto out;
		}
		sqlite3_finalize(q);
		q = NULL;
	}
	if (sqlite3_prepare_v2(
		    st->db,
		    "INSERT INTO audit (ts, customer, action, actor, rule, reason, "
		    "evidence, monitor, until, event_id, origin, uid) VALUES (?1, ?2, ?3, ?4, ?5, "
		    "?6, ?7, ?8, ?9, ?10, ?11, ?12)",
		    -1, &q, NULL) != SQLITE_OK) {
		err = -EIO;
		goto out;
	}
	sqlite3_bind_int64(q, 1, ev->ts_ms);
	sqlite3_bind_text(q, 2, ev->customer, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, ev->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, ev->actor, -1, SQLITE_STATIC);
	if (ev->rule)
		sqlite3_bind_text(q, 5, ev->rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, ev->reason, -1, SQLITE_STATIC);
	if (ev->evidence)
		sqlite3_bind_text(q, 7, ev->evidence, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 8, ev->monitor ? 1 : 0);
	if (ev->until_ms)
		sqlite3_bind_int64(q, 9, ev->until_ms);
	sqlite3_bind_text(q, 10, ev->id, -1, SQLITE_STATIC);
	if (ev->origin)
		sqlite3_bind_text(q, 11, ev->origin, -1, SQLITE_STATIC);
	if (ev->uid)
		sqlite3_bind_text(q, 12, ev->uid, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	q = NULL;
	if (rc != SQLITE_DONE && (rc & 0xff) == SQLITE_CONSTRAINT && ev != &e &&
	    op != TG_ENF_KEEP) {
		/* another node's action recorded already (its event came before its state):
		 * the state it sets is applied, citing that row - one row, one id */
		id = audit_row_of(st->db, ev->id);
		if (id > 0)
			rc = SQLITE_DONE;
	} else if (rc == SQLITE_DONE) {
		id = sqlite3_last_insert_rowid(st->db);
	}
	if (rc != SQLITE_DONE) {
		err = (rc & 0xff) == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
		goto out;
	}

	if (op == TG_ENF_SET) {
		if (sqlite3_prepare_v2(
			    st->db,
			    "INSERT OR REPLACE INTO enforcement (customer, state, since, "
			    "until, rule, actor, reason, throttle_bps, audit_id) VALUES "
			    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			    -1, &q, NULL) != SQLITE_OK) {
			err = -EIO;
			goto out;
		}
		sqlite3_bind_text(q, 1, enf->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, enf_state_name(enf->state), -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, enf->since_ms);
		if (enf->until_ms)
			sqlite3_bind_int64(q, 4, enf->until_ms);
		if (enf->rule[0])
			sqlite3_bind_text(q, 5, enf->rule, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 6, enf->actor, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 7, enf->reason, -1, SQLITE_STATIC);
		if (enf->state == TG_ST_THROTTLED)
			sqlite3_bind_int64(q, 8, (sqlite3_int64)enf->throttle_bps);
		sqlite3_bind_int64(q, 9, id);
	} else if (op == TG_ENF_CLEAR) {
		if (sqlite3_prepare_v2(st->db, "DELETE FROM enforcement WHERE customer = ?1", -1,
				       &q, NULL) != SQLITE_OK) {
			err = -EIO;
			goto out;
		}
		sqlite3_bind_text(q, 1, ev->customer, -1, SQLITE_STATIC);
	}
	if (q) {
		if (sqlite3_step(q) != SQLITE_DONE) {
			err = -EIO;
			goto out;
		}
		sqlite3_finalize(q);
		q = NULL;
	}
	if (ep != TG_EP_KEEP && ev->rule) {
		const char *sql = ep == TG_EP_OPEN ? "INSERT OR REPLACE INTO episode (customer, "
						     "rule, fired_at) VALUES (?1, ?2, ?3)"
						   : "DELETE FROM episode WHERE customer = ?1 AND "
						     "rule = ?2 AND ?3 IS NOT NULL";

		if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
			err = -EIO;
			goto out;
		}
		sqlite3_bind_text(q, 1, ev->customer, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, ev->rule, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, ev->ts_ms);
		if (sqlite3_step(q) != SQLITE_DONE) {
			err = -EIO;
			goto out;
		}
		sqlite3_finalize(q);
		q = NULL;
	}
	if (queue) {
		j = tg_event_json(id, ev);
		payload = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		err = payload ? queue(st->db, id, payload, ctx) : -ENOMEM;
	}
out:
	sqlite3_finalize(q);
	free(payload);
	if (sqlite3_exec(st->db, err ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK &&
	    !err)
		err = -EIO;
	if (!err)
		snprintf(st->last_evid, sizeof(st->last_evid), "%s", ev->id);
	return err ? err : id;
}

json_t *tg_state_events(struct tg_statedb *st, const char *customer, int64_t since_ms, size_t limit,
			int *err)
{
	sqlite3_stmt *q = NULL;
	json_t *arr = json_array();
	int rc;

	*err = 0;
	/* the newest `limit`, shown oldest first */
	if (!arr ||
	    sqlite3_prepare_v2(
		    st->db,
		    "SELECT * FROM (SELECT id, ts, customer, action, actor, rule, reason, "
		    "evidence, monitor, until, event_id, origin, uid FROM audit WHERE ts >= ?1 AND "
		    "(?2 IS NULL OR customer = ?2) ORDER BY id DESC LIMIT ?3) ORDER BY id",
		    -1, &q, NULL) != SQLITE_OK) {
		json_decref(arr);
		*err = arr ? -EIO : -ENOMEM;
		return NULL;
	}
	sqlite3_bind_int64(q, 1, since_ms);
	if (customer)
		sqlite3_bind_text(q, 2, customer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct tg_event ev = {
			.ts_ms = sqlite3_column_int64(q, 1),
			.customer = (const char *)sqlite3_column_text(q, 2),
			.action = (const char *)sqlite3_column_text(q, 3),
			.actor = (const char *)sqlite3_column_text(q, 4),
			.rule = (const char *)sqlite3_column_text(q, 5),
			.reason = (const char *)sqlite3_column_text(q, 6),
			.evidence = (const char *)sqlite3_column_text(q, 7),
			.monitor = sqlite3_column_int(q, 8),
			.until_ms = sqlite3_column_int64(q, 9),
			.id = (const char *)sqlite3_column_text(q, 10),
			.origin = (const char *)sqlite3_column_text(q, 11),
			.uid = (const char *)sqlite3_column_text(q, 12),
		};
		json_t *o = tg_event_json(sqlite3_column_int64(q, 0), &ev);

		if (!o || json_array_append_new(arr, o)) {
			*err = -ENOMEM;
			break;
		}
	}
	if (!*err && rc != SQLITE_DONE)
		*err = -EIO;
	sqlite3_finalize(q);
	if (*err) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static int read_episodes(struct tg_statedb *st, const char *sql, int64_t since_ms,
			 struct tg_episode **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	struct tg_episode *a = NULL;
	size_t cnt = 0, cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(q, 1, since_ms);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct tg_episode *na = realloc(a, ncap * sizeof(*na));

			if (!na) {
				err = -ENOMEM;
				break;
			}
			a = na;
			cap = ncap;
		}
		copy_col(a[cnt].customer, sizeof(a[cnt].customer), q, 0);
		copy_col(a[cnt].rule, sizeof(a[cnt].rule), q, 1);
		a[cnt++].ts_ms = sqlite3_column_int64(q, 2);
	}
	if (!err && rc != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(q);
	if (err) {
		free(a);
		return err;
	}
	*out = a;
	*n = cnt;
	return 0;
}

int tg_state_episodes(struct tg_statedb *st, struct tg_episode **out, size_t *n)
{
	return read_episodes(
		st, "SELECT customer, rule, fired_at FROM episode WHERE ?1 IS NOT NULL", 0, out, n);
}

int tg_state_firings(struct tg_statedb *st, int64_t since_ms, struct tg_episode **out, size_t *n)
{
	return read_episodes(st,
			     "SELECT customer, rule, ts FROM audit WHERE rule IS NOT NULL AND "
			     "monitor = 0 AND action IN ('notify', 'throttle', 'suspend') AND "
			     "ts >= ?1 ORDER BY id",
			     since_ms, out, n);
}

long tg_state_delete(sqlite3 *db, const char *sql, int64_t arg)
{
	sqlite3_stmt *q = NULL;
	long n;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(q, 1, arg);
	n = sqlite3_step(q) == SQLITE_DONE ? (long)sqlite3_changes(db) : -EIO;
	sqlite3_finalize(q);
	return n;
}

long tg_state_purge(struct tg_statedb *st, int64_t before_ms)
{
	long n = tg_state_delete(st->db,
				 "DELETE FROM audit WHERE ts < ?1 AND id NOT IN "
				 "(SELECT audit_id FROM enforcement) AND id NOT IN "
				 "(SELECT audit_id FROM outbox WHERE delivered_at IS NULL)",
				 before_ms);

	/* who held an address: the assignments that ended before the window go too */
	if (n >= 0 && tg_state_history_purge(st, before_ms) < 0)
		n = -EIO;
	/* the evidence samples of the events purged, and any older than the window */
	if (n >= 0 && tg_state_capture_purge(st, before_ms) < 0)
		n = -EIO;
	return n;
}

int tg_state_mit_put(sqlite3 *db, const struct tg_mit_row *r)
{
	sqlite3_stmt *q = NULL;
	int err = 0;

	if (sqlite3_prepare_v2(
		    db,
		    "INSERT OR REPLACE INTO mitigation (key, customer, rule, kind, prefix, "
		    "proto, sports, rate_bps, started, until, with_episode, audit_id) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
		    -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(q, 1, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, r->customer, -1, SQLITE_STATIC);
	if (r->rule[0])
		sqlite3_bind_text(q, 3, r->rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, r->prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 6, r->proto);
	sqlite3_bind_text(q, 7, r->sports, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)r->rate_bps);
	sqlite3_bind_int64(q, 9, r->started_ms);
	sqlite3_bind_int64(q, 10, r->until_ms);
	sqlite3_bind_int(q, 11, r->with_episode);
	if (r->audit_id > 0)
		sqlite3_bind_int64(q, 12, r->audit_id);
	if (sqlite3_step(q) != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(q);
	return err;
}

int tg_state_mit_del(sqlite3 *db, const char *key)
{
	sqlite3_stmt *q = NULL;
	int err = 0;

	if (sqlite3_prepare_v2(db, "DELETE FROM mitigation WHERE key = ?1", -1, &q, NULL) !=
	    SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(q);
	return err;
}

static void col_text(sqlite3_stmt *q, int i, char *out, size_t n)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	snprintf(out, n, "%s", t ? (const char *)t : "");
}

int tg_state_mit_load(struct tg_statedb *st, struct tg_mit_row **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	struct tg_mit_row *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT key, customer, rule, kind, prefix, proto, sports, rate_bps, "
			       "started, until, with_episode, audit_id FROM mitigation ORDER BY "
			       "started",
			       -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct tg_mit_row *r;

		if (cnt == cap) {
			struct tg_mit_row *nv;

			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				sqlite3_finalize(q);
				return -ENOMEM;
			}
			v = nv;
		}
		r = &v[cnt++];
		memset(r, 0, sizeof(*r));
		col_text(q, 0, r->key, sizeof(r->key));
		col_text(q, 1, r->customer, sizeof(r->customer));
		col_text(q, 2, r->rule, sizeof(r->rule));
		col_text(q, 3, r->kind, sizeof(r->kind));
		col_text(q, 4, r->prefix, sizeof(r->prefix));
		r->proto = sqlite3_column_int(q, 5);
		col_text(q, 6, r->sports, sizeof(r->sports));
		r->rate_bps = (uint64_t)sqlite3_column_int64(q, 7);
		r->started_ms = sqlite3_column_int64(q, 8);
		r->until_ms = sqlite3_column_int64(q, 9);
		r->with_episode = sqlite3_column_int(q, 10);
		r->audit_id = sqlite3_column_int64(q, 11);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		free(v);
		return -EIO;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int tg_state_episode_close(struct tg_statedb *st, const char *customer, const char *rule)
{
	sqlite3_stmt *q = NULL;
	int err = 0;

	if (sqlite3_prepare_v2(st->db, "DELETE FROM episode WHERE customer = ?1 AND rule = ?2", -1,
			       &q, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(q, 1, customer, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, rule, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(q);
	return err;
}
