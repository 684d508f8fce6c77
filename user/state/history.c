// SPDX-License-Identifier: GPL-2.0-only
/*
 * history.c - who held an address: the history of the prefix -> customer assignment
 * (issue 22 item 5). Every configuration applied (tollgated's first sync and its reloads,
 * `tollgate attach` and `tollgate reload` without the daemon) is compared with the rows
 * still open (until_ms NULL), in one transaction: a prefix that appeared gets a row, one
 * that disappeared or moved to another customer has its row closed at the time of the
 * apply (and, if it moved, a new row opened at that same time). A prefix is held at t
 * when from_ms <= t < until_ms. A full comparison stores a digest of the assignment it
 * left (meta 'history_digest'); the same assignment applied again (an attach after a
 * reboot, a reload that changed nothing) then reads nothing back, and every delta that
 * writes drops the digest. Retention purges the rows that ended before the window,
 * with the audit rows (tg_state_purge).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <jansson.h>
#include <sqlite3.h>

#include "config/config.h"
#include "lib/lib.h"
#include "state.h"

static const char history_schema[] =
	"CREATE TABLE IF NOT EXISTS prefix_history ("
	"  prefix TEXT NOT NULL," /* "10.0.0.0/24", "2001:db8::/48" */
	"  customer TEXT NOT NULL,"
	"  from_ms INTEGER NOT NULL,"
	"  until_ms INTEGER," /* NULL: held now */
	"  family INTEGER NOT NULL CHECK (family IN (4, 6)),"
	"  plen INTEGER NOT NULL,"
	"  net BLOB NOT NULL);" /* 16 bytes, network order, host bits zero */
	"CREATE INDEX IF NOT EXISTS prefix_history_net ON prefix_history (family, plen, net, "
	"from_ms);"
	"CREATE UNIQUE INDEX IF NOT EXISTS prefix_history_open ON prefix_history (family, plen, "
	"net) WHERE until_ms IS NULL;"
	"CREATE INDEX IF NOT EXISTS prefix_history_until ON prefix_history (until_ms) WHERE "
	"until_ms IS NOT NULL;";

static int ensure_schema(sqlite3 *db)
{
	return sqlite3_exec(db, history_schema, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int cmp_key(const struct tg_holder *a, const struct tg_holder *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	return memcmp(a->addr, b->addr, 16);
}

static int cmp_holder(const void *a, const void *b)
{
	return cmp_key(a, b);
}

static int valid(const struct tg_holder *h)
{
	return (h->family == 4 && h->plen <= 32) || (h->family == 6 && h->plen <= 128);
}

void tg_holder_format(const struct tg_holder *h, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(h->family == 4 ? AF_INET : AF_INET6, h->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, h->plen);
}

/* The open rows, sorted as cmp_key sorts; customer strings malloc'd. */
struct open_row {
	struct tg_holder h;
	int64_t rowid;
};

static void free_open(struct open_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)v[i].h.customer);
	free(v);
}

static int read_open(sqlite3 *db, struct open_row **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	struct open_row *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT rowid, family, plen, net, customer FROM prefix_history "
			       "WHERE until_ms IS NULL ORDER BY family, plen, net",
			       -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct open_row *r;
		const void *net = sqlite3_column_blob(q, 3);

		if (cnt == cap) {
			struct open_row *nv;

			cap = cap ? 2 * cap : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
		}
		r = &v[cnt];
		memset(r, 0, sizeof(*r));
		r->rowid = sqlite3_column_int64(q, 0);
		r->h.family = (uint8_t)sqlite3_column_int(q, 1);
		r->h.plen = (uint8_t)sqlite3_column_int(q, 2);
		if (net && sqlite3_column_bytes(q, 3) == 16)
			memcpy(r->h.addr, net, 16);
		r->h.customer = strdup((const char *)sqlite3_column_text(q, 4) ?: "");
		if (!r->h.customer) {
			rc = SQLITE_NOMEM;
			break;
		}
		cnt++;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		free_open(v, cnt);
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	/* SQLite orders blobs by memcmp, as cmp_key does; sorted again all the same, cheaply */
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_holder);
	*out = v;
	*n = cnt;
	return 0;
}

/* A sorted copy (cmp_holder) of n holders in *out (NULL for none, free()), each checked:
 * 0, -EINVAL (a bad prefix or no customer: nothing copied) or -ENOMEM. */
static int sorted_holders(const struct tg_holder *h, size_t n, struct tg_holder **out)
{
	*out = NULL;
	for (size_t k = 0; k < n; k++)
		if (!valid(&h[k]) || !h[k].customer || !*h[k].customer)
			return -EINVAL;
	if (!n)
		return 0;
	*out = malloc(n * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, h, n * sizeof(**out));
	qsort(*out, n, sizeof(**out), cmp_holder);
	return 0;
}

/*
 * The digest of an assignment, as 16 hex digits: the sum of a hash of every holder (its
 * prefix and customer), so it needs no sorting and takes the holders in any order. Stored
 * by a full comparison (the open rows are then exactly this assignment); any other write
 * of the open rows drops it.
 */
static void digest_of(const struct tg_holder *v, size_t n, char out[17])
{
	uint64_t d = 0x9e3779b97f4a7c15ull * (n + 1);

	for (size_t k = 0; k < n; k++) {
		uint8_t key[18 + TG_ID_LEN];
		size_t len = strnlen(v[k].customer, TG_ID_LEN);

		key[0] = v[k].family;
		key[1] = v[k].plen;
		memcpy(key + 2, v[k].addr, 16);
		memcpy(key + 18, v[k].customer, len);
		d += tg_hash(key, 18 + len);
	}
	snprintf(out, 17, "%016llx", (unsigned long long)d);
}

/*
 * What the open rows are now, beside the digest: "<digest>:<max rowid>:<open rows>". Any
 * write to the rows (also by a Tollgate that knows no digest: a downgrade and back) moves
 * the largest rowid (an insert) or the count of open rows (a close), so a digest stored
 * before it no longer matches.
 */
static int rows_mark(sqlite3 *db, const char *digest, long long open, char *out, size_t len)
{
	sqlite3_stmt *q = NULL;
	int rc = -EIO;

	/* open < 0: count them (a full comparison knows: it just wrote them) */
	if (sqlite3_prepare_v2(
		    db,
		    open < 0 ? "SELECT coalesce(max(rowid), 0), (SELECT count(*) FROM "
			       "prefix_history WHERE until_ms IS NULL) FROM prefix_history"
			     : "SELECT coalesce(max(rowid), 0), 0 FROM prefix_history",
		    -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		snprintf(out, len, "%s:%lld:%lld", digest, (long long)sqlite3_column_int64(q, 0),
			 open < 0 ? (long long)sqlite3_column_int64(q, 1) : open);
		rc = 0;
	}
	sqlite3_finalize(q);
	return rc;
}

/* The stored mark into out (""), or set it (value) or drop it (NULL). 0 or -EIO. */
static int digest_get(sqlite3 *db, char *out, size_t len)
{
	sqlite3_stmt *q = NULL;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'history_digest'", -1, &q,
			       NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(q) == SQLITE_ROW)
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(q, 0) ?: "");
	sqlite3_finalize(q);
	return 0;
}

static int digest_set(sqlite3 *db, const char *value)
{
	sqlite3_stmt *q = NULL;
	int rc = -EIO;

	if (sqlite3_prepare_v2(db,
			       value ? "INSERT OR REPLACE INTO meta (key, value) VALUES "
				       "('history_digest', ?1)"
				     : "DELETE FROM meta WHERE key = 'history_digest'",
			       -1, &q, NULL) == SQLITE_OK &&
	    (!value || sqlite3_bind_text(q, 1, value, -1, SQLITE_STATIC) == SQLITE_OK) &&
	    sqlite3_step(q) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(q);
	return rc;
}

int tg_state_history_apply(struct tg_statedb *st, const struct tg_holder *cur, size_t n,
			   int64_t now_ms, struct tg_history_stats *stats)
{
	char digest[17], stored[80], mark[80];
	sqlite3 *db = tg_state_sqlite(st);
	struct tg_history_stats s = {};
	struct tg_holder *sorted = NULL;
	struct open_row *prev = NULL;
	sqlite3_stmt *ins = NULL, *end = NULL;
	size_t nprev = 0, i = 0, j = 0;
	int err;

	for (size_t k = 0; k < n; k++)
		if (!valid(&cur[k]) || !cur[k].customer || !*cur[k].customer)
			return -EINVAL;
	digest_of(cur, n, digest);
	err = ensure_schema(db);
	if (err)
		return err;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	/* the open rows are what the last full comparison left and this is that assignment:
	 * nothing to sort or compare (at 2M prefixes, 2 s of every attach or direct reload
	 * whose assignment did not change) */
	if (!digest_get(db, stored, sizeof(stored)) &&
	    !rows_mark(db, digest, -1, mark, sizeof(mark)) && !strcmp(stored, mark)) {
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -EIO;
		}
		if (stats)
			*stats = s;
		return 0;
	}
	err = sorted_holders(cur, n, &sorted);
	if (err) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return err;
	}
	if (n) {
		/* the same prefix twice (the config refuses it): one of them counts */
		for (size_t k = 1, w = 1; k <= n; k++) {
			if (k == n) {
				n = w;
				break;
			}
			if (cmp_key(&sorted[w - 1], &sorted[k]))
				sorted[w++] = sorted[k];
		}
	}
	err = read_open(db, &prev, &nprev);
	s.read = nprev;
	if (!err &&
	    (sqlite3_prepare_v2(db,
				"INSERT INTO prefix_history (prefix, customer, from_ms, until_ms, "
				"family, plen, net) VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6)",
				-1, &ins, NULL) != SQLITE_OK ||
	     sqlite3_prepare_v2(db, "UPDATE prefix_history SET until_ms = ?2 WHERE rowid = ?1", -1,
				&end, NULL) != SQLITE_OK))
		err = -EIO;
	while (!err && (i < nprev || j < n)) {
		int c = i == nprev ? 1 : j == n ? -1 : cmp_key(&prev[i].h, &sorted[j]);
		bool close_it = (c < 0), open_it = (c > 0);

		if (c == 0 && strcmp(prev[i].h.customer, sorted[j].customer)) {
			close_it = open_it = true;
			s.moved++;
		} else if (c < 0) {
			s.gone++;
		} else if (c > 0) {
			s.appeared++;
		}
		if (close_it) {
			sqlite3_reset(end);
			sqlite3_bind_int64(end, 1, prev[i].rowid);
			sqlite3_bind_int64(end, 2, now_ms);
			if (sqlite3_step(end) != SQLITE_DONE)
				err = -EIO;
		}
		if (open_it && !err) {
			char pfx[64];

			tg_holder_format(&sorted[j], pfx, sizeof(pfx));
			sqlite3_reset(ins);
			sqlite3_bind_text(ins, 1, pfx, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(ins, 2, sorted[j].customer, -1, SQLITE_STATIC);
			sqlite3_bind_int64(ins, 3, now_ms);
			sqlite3_bind_int(ins, 4, sorted[j].family);
			sqlite3_bind_int(ins, 5, sorted[j].plen);
			sqlite3_bind_blob(ins, 6, sorted[j].addr, 16, SQLITE_STATIC);
			if (sqlite3_step(ins) != SQLITE_DONE)
				err = -EIO;
		}
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(end);
	if (!err)
		err = rows_mark(db, digest, (long long)n, mark, sizeof(mark))
			      ?: digest_set(db, mark);
	if (sqlite3_exec(db, err ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && !err) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		err = -EIO;
	}
	free_open(prev, nprev);
	free(sorted);
	if (!err && stats)
		*stats = s;
	return err;
}

int tg_holder_parse_addr(const char *s, struct tg_holder *h)
{
	memset(h, 0, sizeof(*h));
	if (inet_pton(AF_INET, s, h->addr) == 1) {
		h->family = 4;
		h->plen = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, h->addr) == 1) {
		h->family = 6;
		h->plen = 128;
		return 0;
	}
	return -EINVAL;
}

int tg_state_whois(struct tg_statedb *st, const struct tg_holder *addr, int64_t at_ms,
		   struct tg_whois *out)
{
	sqlite3 *db = tg_state_sqlite(st);
	sqlite3_stmt *q = NULL;
	int plen, rc = SQLITE_DONE;

	memset(out, 0, sizeof(*out));
	if (!valid(addr))
		return -EINVAL;
	if (ensure_schema(db) ||
	    sqlite3_prepare_v2(db,
			       "SELECT customer, prefix, from_ms, until_ms FROM prefix_history "
			       "WHERE family = ?1 AND plen = ?2 AND net = ?3 AND from_ms <= ?4 AND "
			       "(until_ms IS NULL OR until_ms > ?4) ORDER BY from_ms DESC LIMIT 1",
			       -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	/* the longest prefix first: one indexed lookup per length */
	for (plen = addr->family == 4 ? 32 : 128; plen >= 0; plen--) {
		uint8_t net[16] = {};
		int full = plen / 8, rest = plen % 8;

		memcpy(net, addr->addr, (size_t)full);
		if (rest)
			net[full] = addr->addr[full] & (uint8_t)(0xff00 >> rest);
		sqlite3_reset(q);
		sqlite3_bind_int(q, 1, addr->family);
		sqlite3_bind_int(q, 2, plen);
		sqlite3_bind_blob(q, 3, net, 16, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 4, at_ms);
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			snprintf(out->customer, sizeof(out->customer), "%s",
				 (const char *)sqlite3_column_text(q, 0) ?: "");
			snprintf(out->prefix, sizeof(out->prefix), "%s",
				 (const char *)sqlite3_column_text(q, 1) ?: "");
			out->from_ms = sqlite3_column_int64(q, 2);
			out->until_ms = sqlite3_column_int64(q, 3); /* NULL reads 0 */
			break;
		}
		if (rc != SQLITE_DONE)
			break;
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : -EIO;
}

json_t *tg_state_whois_json(struct tg_statedb *st, const char *address, int64_t at_ms, int *err)
{
	struct tg_holder a;
	struct tg_whois w;
	json_t *doc;
	int rc;

	*err = tg_holder_parse_addr(address, &a);
	if (*err)
		return NULL;
	rc = tg_state_whois(st, &a, at_ms, &w);
	if (rc && rc != -ENOENT) {
		*err = rc;
		return NULL;
	}
	doc = json_pack("{si ss so}", "version", TG_JSON_VERSION, "address", address, "at",
			tg_json_time(at_ms));
	if (!doc) {
		*err = -ENOMEM;
		return NULL;
	}
	if (rc == -ENOENT) {
		json_object_set_new(doc, "customer", json_null());
		return doc;
	}
	json_object_set_new(doc, "customer", json_string(w.customer));
	json_object_set_new(doc, "prefix", json_string(w.prefix));
	json_object_set_new(doc, "since", tg_json_time(w.from_ms));
	json_object_set_new(doc, "until", tg_json_time(w.until_ms));
	return doc;
}

long tg_state_history_purge(struct tg_statedb *st, int64_t before_ms)
{
	sqlite3 *db = tg_state_sqlite(st);

	if (ensure_schema(db))
		return -EIO;
	return tg_state_delete(db,
			       "DELETE FROM prefix_history WHERE until_ms IS NOT NULL AND "
			       "until_ms < ?1",
			       before_ms);
}

/* The open row of h's prefix: 1 (its rowid and whether its customer is h's), 0 (none), or
 * -EIO. */
static int open_row_of(sqlite3_stmt *q, const struct tg_holder *h, int64_t *rowid, bool *same)
{
	int rc;

	sqlite3_reset(q);
	sqlite3_bind_int(q, 1, h->family);
	sqlite3_bind_int(q, 2, h->plen);
	sqlite3_bind_blob(q, 3, h->addr, 16, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return -EIO;
	*rowid = sqlite3_column_int64(q, 0);
	*same = !strcmp((const char *)sqlite3_column_text(q, 1) ?: "", h->customer);
	return 1;
}

int tg_state_history_delta(struct tg_statedb *st, const struct tg_holder *was, size_t nwas,
			   const struct tg_holder *now, size_t nnow, int64_t now_ms,
			   struct tg_history_stats *stats)
{
	sqlite3 *db = tg_state_sqlite(st);
	struct tg_history_stats s = {};
	struct tg_holder *sorted = NULL;
	sqlite3_stmt *find = NULL, *ins = NULL, *end = NULL;
	int err;

	err = sorted_holders(now, nnow, &sorted);
	if (err)
		return err;
	err = ensure_schema(db);
	if (err)
		goto out;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		err = -EIO;
		goto out;
	}
	if (sqlite3_prepare_v2(db,
			       "SELECT rowid, customer FROM prefix_history WHERE family = ?1 AND "
			       "plen = ?2 AND net = ?3 AND until_ms IS NULL",
			       -1, &find, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO prefix_history (prefix, customer, from_ms, until_ms, "
			       "family, plen, net) VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6)",
			       -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE prefix_history SET until_ms = ?2 WHERE rowid = ?1", -1,
			       &end, NULL) != SQLITE_OK)
		err = -EIO;
	/* gone: a prefix of was that now does not list (else now's loop sees it) */
	for (size_t i = 0; !err && i < nwas; i++) {
		int64_t rowid;
		bool same;
		int rc;

		if (!valid(&was[i]) ||
		    (nnow && bsearch(&was[i], sorted, nnow, sizeof(*sorted), cmp_holder)))
			continue;
		rc = open_row_of(find, &was[i], &rowid, &same);
		if (rc < 0) {
			err = rc;
		} else if (rc) {
			sqlite3_reset(end);
			sqlite3_bind_int64(end, 1, rowid);
			sqlite3_bind_int64(end, 2, now_ms);
			if (sqlite3_step(end) != SQLITE_DONE)
				err = -EIO;
			s.gone++;
		}
	}
	/* appeared or moved: as the open rows say */
	for (size_t j = 0; !err && j < nnow; j++) {
		int64_t rowid = 0;
		bool same = false;
		int rc = open_row_of(find, &sorted[j], &rowid, &same);
		char pfx[64];

		if (rc < 0) {
			err = rc;
			break;
		}
		if (rc && same)
			continue;
		if (rc) {
			sqlite3_reset(end);
			sqlite3_bind_int64(end, 1, rowid);
			sqlite3_bind_int64(end, 2, now_ms);
			if (sqlite3_step(end) != SQLITE_DONE) {
				err = -EIO;
				break;
			}
			s.moved++;
		} else {
			s.appeared++;
		}
		tg_holder_format(&sorted[j], pfx, sizeof(pfx));
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, pfx, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 2, sorted[j].customer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, now_ms);
		sqlite3_bind_int(ins, 4, sorted[j].family);
		sqlite3_bind_int(ins, 5, sorted[j].plen);
		sqlite3_bind_blob(ins, 6, sorted[j].addr, 16, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE)
			err = -EIO;
	}
	sqlite3_finalize(find);
	sqlite3_finalize(ins);
	sqlite3_finalize(end);
	/* the open rows changed: the digest of the last full comparison no longer says them */
	if (!err && (s.appeared || s.moved || s.gone))
		err = digest_set(db, NULL);
	if (sqlite3_exec(db, err ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && !err) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		err = -EIO;
	}
out:
	free(sorted);
	if (!err && stats)
		*stats = s;
	return err;
}

static void put_rows(const struct tg_customer *c, struct tg_holder *v, size_t *n)
{
	for (size_t k = 0; k < c->npfx; k++, (*n)++) {
		v[*n].family = c->pfx[k].family == AF_INET ? 4 : 6;
		v[*n].plen = c->pfx[k].plen;
		memcpy(v[*n].addr, c->pfx[k].addr, 16);
		v[*n].customer = c->id;
	}
}

int tg_state_history_record_since(struct tg_statedb *st, const struct tg_cfg *old,
				  const struct tg_cfg *cfg, const struct tg_load_cache *lc,
				  int64_t now_ms, struct tg_history_stats *stats)
{
	struct tg_holder *was = NULL, *now = NULL;
	size_t nwas = 0, nnow = 0, i;
	bool *kept = NULL;
	int err = -ENOMEM;

	if (!old || !lc || lc->cfg != cfg || !lc->row || lc->reused_from != old)
		return tg_state_history_record(st, cfg, now_ms, stats);
	/* a row copied from old (lc->row[].prev) has old's bytes: the same id and prefixes. The
	 * rest of cfg's rows may have appeared or moved; old's rows not copied, gone or
	 * moved. */
	kept = calloc(old->ncustomers + 1, sizeof(*kept));
	if (!kept)
		goto out;
	for (i = 0; i < cfg->ncustomers; i++) {
		uint32_t r = lc->row[i].prev;

		if (r < old->ncustomers)
			kept[r] = true;
		else
			nnow += cfg->customers[i].npfx;
	}
	for (i = 0; i < old->ncustomers; i++)
		if (!kept[i])
			nwas += old->customers[i].npfx;
	was = calloc(nwas + 1, sizeof(*was));
	now = calloc(nnow + 1, sizeof(*now));
	if (!was || !now)
		goto out;
	nwas = nnow = 0;
	for (i = 0; i < cfg->ncustomers; i++)
		if (lc->row[i].prev >= old->ncustomers)
			put_rows(&cfg->customers[i], now, &nnow);
	for (i = 0; i < old->ncustomers; i++)
		if (!kept[i])
			put_rows(&old->customers[i], was, &nwas);
	err = tg_state_history_delta(st, was, nwas, now, nnow, now_ms, stats);
out:
	free(kept);
	free(was);
	free(now);
	return err;
}

int tg_state_history_record(struct tg_statedb *st, const struct tg_cfg *cfg, int64_t now_ms,
			    struct tg_history_stats *stats)
{
	struct tg_holder *v;
	size_t n = 0;
	int err;

	for (size_t i = 0; i < cfg->ncustomers; i++)
		n += cfg->customers[i].npfx;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < cfg->ncustomers; i++) {
		put_rows(&cfg->customers[i], v, &n);
	}
	err = tg_state_history_apply(st, v, n, now_ms, stats);
	free(v);
	return err;
}
