// SPDX-License-Identifier: GPL-2.0-only
/*
 * cluster.c - this node's part of a Tollgate cluster on etcd (cluster.h, docs/cluster.md):
 * the first full read before the node is ready, the watch on the prefix (other nodes'
 * actions, handed to the caller), the writer thread (this node's queued actions to etcd,
 * compare-and-swap on the customer's key under the conflict rule) and the heartbeat (the
 * registration under a lease).
 *
 * The conflict rule: of two actions on one customer's state, the one taken later (its
 * origin's wall clock, ms; ties by event id) wins, whatever order they reach etcd in. A
 * write compares the key's mod_revision with the one it read, so two writers never both
 * win; one that finds a newer state leaves it (its action is still recorded everywhere,
 * as an event). So an operator's unsuspend newer than a rule's suspend wins, also when the
 * suspend was queued on a partitioned node and arrives later.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "cluster.h"
#include "lib/lib.h"

#ifndef TG_VERSION
#define TG_VERSION "0.1.0"
#endif

#define TG_CL_BATCH 32	       /* queued actions written per round */
#define TG_CL_CAS_TRIES 16     /* compare-and-swap rounds against concurrent writers */
#define TG_CL_SWEEP_MS 3600000 /* the retention sweep in etcd: hourly */

struct tg_cluster {
	char *node, *prefix;
	char **endpoints;
	size_t nendpoints;
	char *ca, *cert, *key;
	struct tg_etcd_cfg ecfg;
	uint32_t heartbeat_ms, start_timeout_ms;
	struct tg_etcd *etcd; /* the main thread's until tg_cluster_start, then the writer's */
	struct tg_etcd_watch *w;
	struct tg_statedb *wst; /* the writer's connection to state.db */
	int64_t started_ms, lease;
	int64_t start_rev; /* what tg_cluster_start read up to */

	pthread_t thr;
	bool thr_started;
	pthread_mutex_t mu; /* the fields below */
	pthread_cond_t cv;
	bool kicked, stop;
	char *info;	      /* tg_cluster_set_info's JSON text */
	bool etcd_ok;	      /* the last call to etcd succeeded */
	int64_t last_ok_ms;   /* wall clock of that call */
	long pending;	      /* actions queued for etcd */
	char last_err[256];   /* the last failure */
	bool reread;	      /* an apply failed: read everything again */
	char conflict[320];   /* another live node registers under our name: why, or "" */
	int64_t retention_ms; /* shared events and members older than this go (sweep) */
	char uid[17];	      /* this node's instance: its state database's, in cluster_meta */
};

static const char cl_schema[] =
	/* this node's actions not yet in etcd, in order */
	"CREATE TABLE IF NOT EXISTS cluster_out ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  audit_id INTEGER NOT NULL,"
	"  payload TEXT NOT NULL);"
	/* the action that set each customer's state here, for the conflict rule */
	"CREATE TABLE IF NOT EXISTS cluster_applied ("
	"  customer TEXT PRIMARY KEY,"
	"  ts INTEGER NOT NULL,"
	"  uid TEXT NOT NULL,"
	"  origin TEXT NOT NULL);"
	/* 'rev': the etcd revision read up to (a node that has one read the cluster once) */
	"CREATE TABLE IF NOT EXISTS cluster_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

const char *tg_cluster_node(const struct tg_cluster *cl)
{
	return cl->node;
}

static void set_err(struct tg_cluster *cl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_err(struct tg_cluster *cl, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&cl->mu);
	va_start(ap, fmt);
	vsnprintf(cl->last_err, sizeof(cl->last_err), fmt, ap);
	va_end(ap);
	cl->etcd_ok = false;
	pthread_mutex_unlock(&cl->mu);
}

static void set_ok(struct tg_cluster *cl)
{
	pthread_mutex_lock(&cl->mu);
	cl->etcd_ok = true;
	cl->last_ok_ms = tg_now_ms();
	pthread_mutex_unlock(&cl->mu);
}

/*
 * This node's instance id (16 hex digits): made once per state database and kept in its
 * cluster_meta, so the same node restarted (its registration's lease not yet expired) is
 * itself, and another node given the same name is not.
 */
static int node_uid(struct tg_statedb *st, char uid[17])
{
	sqlite3 *db = tg_state_sqlite(st);
	sqlite3_stmt *q = NULL;
	uint64_t r;
	int rc = -EIO;

	if (sqlite3_prepare_v2(db, "SELECT value FROM cluster_meta WHERE key = 'uid'", -1, &q,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW && sqlite3_column_bytes(q, 0) == 16) {
		memcpy(uid, sqlite3_column_text(q, 0), 16);
		uid[16] = '\0';
		sqlite3_finalize(q);
		return 0;
	}
	sqlite3_finalize(q);
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		return -EIO;
	snprintf(uid, 17, "%016llx", (unsigned long long)r);
	q = NULL;
	if (sqlite3_prepare_v2(
		    db, "INSERT OR REPLACE INTO cluster_meta (key, value) VALUES ('uid', ?1)", -1,
		    &q, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(q, 1, uid, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(q);
	return rc;
}

/*
 * Whether nodes/<node> is another live node's (a registration under a live lease with
 * another instance id): 1 with who in why, 0 if free or ours (or a node too old to say),
 * -errno if etcd cannot be read.
 */
static int name_taken(struct tg_cluster *cl, struct tg_etcd *e, char *why, size_t len)
{
	struct tg_etcd_kvs kvs = {};
	char key[512];
	int rc;

	snprintf(key, sizeof(key), "%snodes/%s", cl->prefix, cl->node);
	rc = tg_etcd_range(e, key, false, 0, &kvs);
	if (rc)
		return rc;
	rc = 0;
	if (kvs.n) {
		json_t *r = json_loads(kvs.kv[0].value, 0, NULL);
		const char *uid = json_string_value(json_object_get(r, "uid"));

		if (uid && strcmp(uid, cl->uid)) {
			json_t *t =
				tg_json_time(json_integer_value(json_object_get(r, "started_ms")));

			snprintf(
				why, len,
				"cluster.node '%s' is registered in etcd by another live node "
				"(instance %.16s, started %s): two nodes with one name would share "
				"their event ids and registration; give each node its own name",
				cl->node, uid, json_string_value(t) ?: "?");
			json_decref(t);
			rc = 1;
		}
		json_decref(r);
	}
	tg_etcd_kvs_free(&kvs);
	return rc;
}

int tg_cluster_open(const struct tg_cluster_cfg *cc, const char *state_path,
		    struct tg_cluster **out, char *err, size_t len)
{
	struct tg_cluster *cl = calloc(1, sizeof(*cl));
	char *msg = NULL;
	int rc = -ENOMEM;

	*out = NULL;
	if (!cl)
		return -ENOMEM;
	pthread_mutex_init(&cl->mu, NULL);
	pthread_cond_init(&cl->cv, NULL);
	cl->node = strdup(cc->node);
	cl->prefix = strdup(cc->prefix);
	cl->endpoints = calloc(cc->nendpoints, sizeof(*cl->endpoints));
	if (!cl->node || !cl->prefix || !cl->endpoints)
		goto fail;
	for (size_t i = 0; i < cc->nendpoints; i++)
		if (!(cl->endpoints[cl->nendpoints++] = strdup(cc->endpoints[i])))
			goto fail;
	cl->ecfg.endpoints = (const char *const *)cl->endpoints;
	cl->ecfg.nendpoints = cl->nendpoints;
	/* copies: the configuration goes at the next reload, the reads here may come later */
	if ((cc->ca && !(cl->ca = strdup(cc->ca))) ||
	    (cc->cert && !(cl->cert = strdup(cc->cert))) ||
	    (cc->key && !(cl->key = strdup(cc->key))))
		goto fail;
	cl->ecfg.ca = cl->ca;
	cl->ecfg.cert = cl->cert;
	cl->ecfg.key = cl->key;
	cl->ecfg.timeout_ms = cc->timeout_ms;
	cl->heartbeat_ms = cc->heartbeat_ms;
	cl->start_timeout_ms = cc->start_timeout_ms;
	cl->started_ms = tg_now_ms();
	rc = tg_etcd_open(&cl->ecfg, &cl->etcd, err, len);
	if (rc)
		goto fail;
	rc = tg_state_open(state_path, &cl->wst, err, len);
	if (rc)
		goto fail;
	if (sqlite3_exec(tg_state_sqlite(cl->wst), cl_schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, len, "%s: %s", state_path,
			 msg ? msg : "cannot add the cluster tables");
		sqlite3_free(msg);
		rc = -EIO;
		goto fail;
	}
	rc = node_uid(cl->wst, cl->uid);
	if (rc) {
		snprintf(err, len, "%s: cannot read or make this node's instance id", state_path);
		goto fail;
	}
	*out = cl;
	return 0;
fail:
	tg_cluster_close(cl);
	return rc;
}

void tg_cluster_close(struct tg_cluster *cl)
{
	if (!cl)
		return;
	if (cl->thr_started) {
		pthread_mutex_lock(&cl->mu);
		cl->stop = true;
		pthread_cond_signal(&cl->cv);
		pthread_mutex_unlock(&cl->mu);
		pthread_join(cl->thr, NULL);
	}
	tg_etcd_watch_stop(cl->w);
	if (cl->lease && cl->etcd)
		tg_etcd_lease_revoke(cl->etcd, cl->lease); /* gone from the registry at once */
	tg_etcd_close(cl->etcd);
	tg_state_close(cl->wst);
	for (size_t i = 0; cl->endpoints && i < cl->nendpoints; i++)
		free(cl->endpoints[i]);
	free(cl->endpoints);
	free(cl->ca);
	free(cl->cert);
	free(cl->key);
	free(cl->node);
	free(cl->prefix);
	free(cl->info);
	pthread_mutex_destroy(&cl->mu);
	pthread_cond_destroy(&cl->cv);
	free(cl);
}

/* ---- the conflict rule --------------------------------------------------------------- */

/* Whether action a (time, event id) is newer than b. */
static bool newer(int64_t a_ts, const char *a_id, int64_t b_ts, const char *b_id)
{
	if (a_ts != b_ts)
		return a_ts > b_ts;
	return strcmp(a_id ? a_id : "", b_id ? b_id : "") > 0;
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int64_t jint(const json_t *o, const char *k)
{
	return (int64_t)json_integer_value(json_object_get(o, k));
}

/*
 * The event id of an action as etcd holds it: its "id", the id its origin recorded it
 * under, which every node records it under too. A record of an older node has none (its
 * "id" null, its "uid" "<node>:<audit id>"): its id is made from what it has - its time,
 * its origin's node part and its audit id - the same on every node. NULL: neither.
 */
static const char *event_id(const json_t *j, char out[TG_EVID_LEN])
{
	const char *id = jstr(j, "id"), *uid = jstr(j, "uid"), *origin = jstr(j, "origin"), *c;
	unsigned long long seq;
	char *end;

	if (id && !tg_evid_parse(id, NULL, NULL, NULL))
		return id;
	if (!uid || !origin || !(c = strrchr(uid, ':')))
		return NULL;
	errno = 0;
	seq = strtoull(c + 1, &end, 10);
	if (errno || end == c + 1 || *end || jint(j, "ts_ms") <= 0)
		return NULL;
	tg_evid_format(jint(j, "ts_ms"), (uint32_t)(seq & 0xfff), (uint16_t)((seq >> 12) & 0x3fff),
		       tg_evid_node(origin), out);
	return out;
}

/* ---- this node's actions, queued ------------------------------------------------------- */

static const char *state_str(int st)
{
	return st == TG_ST_SUSPENDED ? "suspended" : st == TG_ST_THROTTLED ? "throttled" : "active";
}

int tg_cluster_enqueue(struct tg_cluster *cl, sqlite3 *db, int64_t audit_id,
		       const struct tg_event *ev, int state, const struct tg_enf_entry *next)
{
	json_t *j;
	sqlite3_stmt *q = NULL;
	char *payload = NULL;
	int err = 0;

	if (!ev->id) /* every node records it under this id */
		return -EINVAL;
	j = tg_event_json(audit_id, ev);
	if (!j)
		return -ENOMEM;
	json_object_set_new(j, "origin", json_string(cl->node));
	json_object_set_new(j, "ts_ms", json_integer(ev->ts_ms));
	json_object_set_new(j, "until_ms", json_integer(ev->until_ms));
	if (state >= 0) {
		json_t *s = json_pack("{ss sI}", "state", state_str(state), "since_ms",
				      (json_int_t)ev->ts_ms);

		if (s && next && state != TG_ST_ACTIVE) {
			json_object_set_new(s, "until_ms", json_integer(next->until_ms));
			json_object_set_new(s, "throttle_bps",
					    json_integer((json_int_t)next->throttle_bps));
			json_object_set_new(s, "rule", json_string(next->rule));
			json_object_set_new(s, "actor", json_string(next->actor));
			json_object_set_new(s, "reason", json_string(next->reason));
		}
		json_object_set_new(j, "state", s);
	}
	payload = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!payload)
		return -ENOMEM;
	if (sqlite3_prepare_v2(db, "INSERT INTO cluster_out (audit_id, payload) VALUES (?1, ?2)",
			       -1, &q, NULL) != SQLITE_OK) {
		err = -EIO;
		goto out;
	}
	sqlite3_bind_int64(q, 1, audit_id);
	sqlite3_bind_text(q, 2, payload, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(q);
	q = NULL;
	if (!err && state >= 0) {
		if (sqlite3_prepare_v2(db,
				       "INSERT OR REPLACE INTO cluster_applied (customer, ts, uid, "
				       "origin) VALUES (?1, ?2, ?3, ?4)",
				       -1, &q, NULL) != SQLITE_OK) {
			err = -EIO;
			goto out;
		}
		sqlite3_bind_text(q, 1, ev->customer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, ev->ts_ms);
		sqlite3_bind_text(q, 3, ev->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, cl->node, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE)
			err = -EIO;
	}
out:
	sqlite3_finalize(q);
	free(payload);
	return err;
}

int tg_cluster_applied(struct tg_cluster *cl, sqlite3 *db, const struct tg_cluster_change *ch)
{
	sqlite3_stmt *q = NULL;
	int err = 0;

	(void)cl;
	if (ch->op == TG_ENF_KEEP)
		return 0;
	if (sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO cluster_applied (customer, ts, uid, origin) "
			       "VALUES (?1, ?2, ?3, ?4)",
			       -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(q, 1, ch->ev.customer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, ch->ev.ts_ms);
	sqlite3_bind_text(q, 3, ch->ev.id ? ch->ev.id : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, ch->ev.origin, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(q);
	return err;
}

/* The action that set the customer's state here: 1 (filled), 0 (none) or -errno. */
static int applied_of(sqlite3 *db, const char *customer, int64_t *ts, char *uid, size_t ulen,
		      char *origin, size_t olen)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT ts, uid, origin FROM cluster_applied WHERE customer = ?1",
			       -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(q, 1, customer, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*ts = sqlite3_column_int64(q, 0);
		snprintf(uid, ulen, "%s", (const char *)sqlite3_column_text(q, 1));
		snprintf(origin, olen, "%s", (const char *)sqlite3_column_text(q, 2));
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

bool tg_cluster_owns(struct tg_cluster *cl, sqlite3 *db, const char *customer)
{
	char uid[160], origin[TG_CLUSTER_NODE_MAX + 1];
	int64_t ts;

	if (applied_of(db, customer, &ts, uid, sizeof(uid), origin, sizeof(origin)) != 1)
		return true;
	return !strcmp(origin, cl->node);
}

void tg_cluster_kick(struct tg_cluster *cl)
{
	if (!cl)
		return;
	pthread_mutex_lock(&cl->mu);
	cl->kicked = true;
	pthread_cond_signal(&cl->cv);
	pthread_mutex_unlock(&cl->mu);
}

/* ---- the writer thread ----------------------------------------------------------------- */

/* One queued action to etcd: the customer's state (conflict rule), then the event. */
static int publish(struct tg_cluster *cl, int64_t audit_id, const char *payload)
{
	json_t *j = json_loads(payload, 0, NULL);
	const char *cust = jstr(j, "customer"), *origin = jstr(j, "origin");
	char key[1024], idb[TG_EVID_LEN], cidb[TG_EVID_LEN];
	const char *id = event_id(j, idb);
	int64_t ts = jint(j, "ts_ms");
	int rc = 0;

	(void)audit_id;
	if (!j || !cust || !id || !origin) {
		json_decref(j);
		return 0; /* cannot be anything but dropped */
	}
	if (json_object_get(j, "state")) {
		snprintf(key, sizeof(key), "%sshared/state/%s", cl->prefix, cust);
		for (int t = 0; t < TG_CL_CAS_TRIES; t++) {
			struct tg_etcd_kvs cur = {};
			int64_t want = 0;
			bool lost = false;

			rc = tg_etcd_range(cl->etcd, key, false, 0, &cur);
			if (rc)
				break;
			if (cur.n) {
				json_t *c = json_loads(cur.kv[0].value, 0, NULL);

				want = cur.kv[0].mod_rev;
				lost = c && newer(jint(c, "ts_ms"), event_id(c, cidb), ts, id);
				json_decref(c);
			}
			tg_etcd_kvs_free(&cur);
			if (lost) {
				tg_info("cluster: %s: %s of %s not written: a newer action is in "
					"force "
					"(conflict rule)",
					cust, jstr(j, "action"), origin);
				break;
			}
			rc = tg_etcd_cas(cl->etcd, key, payload, strlen(payload), want, 0, NULL);
			if (rc != 0)
				break; /* written, or an error */
		}
		if (rc < 0)
			goto out;
	}
	snprintf(key, sizeof(key), "%sshared/events/%s/%s", cl->prefix, origin, id);
	rc = tg_etcd_put(cl->etcd, key, payload, strlen(payload), 0, NULL);
out:
	json_decref(j);
	return rc < 0 ? rc : 0;
}

/* Write what is queued, in order; stop at the first failure (tried again later). */
static int drain(struct tg_cluster *cl)
{
	sqlite3 *db = tg_state_sqlite(cl->wst);
	sqlite3_stmt *q = NULL, *del = NULL;
	int rc = 0, n = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT id, audit_id, payload FROM cluster_out ORDER BY id LIMIT ?1",
			       -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "DELETE FROM cluster_out WHERE id = ?1", -1, &del, NULL) !=
		    SQLITE_OK) {
		rc = -EIO;
		goto out;
	}
	for (;;) {
		int64_t ids[TG_CL_BATCH], aids[TG_CL_BATCH];
		char *pl[TG_CL_BATCH];
		int cnt = 0, i;

		sqlite3_bind_int(q, 1, TG_CL_BATCH);
		while (cnt < TG_CL_BATCH && sqlite3_step(q) == SQLITE_ROW) {
			ids[cnt] = sqlite3_column_int64(q, 0);
			aids[cnt] = sqlite3_column_int64(q, 1);
			pl[cnt] = strdup((const char *)sqlite3_column_text(q, 2));
			if (!pl[cnt])
				break;
			cnt++;
		}
		sqlite3_reset(q);
		for (i = 0; i < cnt && !rc; i++) {
			rc = publish(cl, aids[i], pl[i]);
			if (!rc) {
				sqlite3_bind_int64(del, 1, ids[i]);
				sqlite3_step(del);
				sqlite3_reset(del);
				n++;
			}
		}
		for (i = 0; i < cnt; i++)
			free(pl[i]);
		if (rc || cnt < TG_CL_BATCH)
			break;
	}
out:
	sqlite3_finalize(q);
	sqlite3_finalize(del);
	if (rc)
		set_err(cl, "cannot write to etcd (%s): %s; actions stay queued in state.db",
			tg_etcd_endpoint(cl->etcd), tg_etcd_error(cl->etcd));
	else if (n)
		set_ok(cl);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM cluster_out", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		pthread_mutex_lock(&cl->mu);
		cl->pending = (long)sqlite3_column_int64(q, 0);
		pthread_mutex_unlock(&cl->mu);
	}
	sqlite3_finalize(q);
	return rc;
}

/* The registration: nodes/<node> under the lease, members/<node> without. */
static int heartbeat(struct tg_cluster *cl)
{
	int64_t ttl_s = (3 * (int64_t)cl->heartbeat_ms + 999) / 1000, left = 0;
	json_t *reg = NULL;
	char key[512], *txt = NULL;
	int rc = 0;

	if (ttl_s < 5)
		ttl_s = 5;
	if (cl->lease) {
		rc = tg_etcd_lease_keepalive(cl->etcd, cl->lease, &left);
		if (rc == -ENOENT || (!rc && left <= 0)) {
			cl->lease = 0;
			rc = 0;
		}
		if (rc)
			goto out;
	}
	if (!cl->lease && (rc = tg_etcd_lease_grant(cl->etcd, ttl_s, &cl->lease)))
		goto out;
	{
		char why[sizeof(cl->conflict)] = "";
		int taken = name_taken(cl, cl->etcd, why, sizeof(why));

		if (taken < 0) {
			rc = taken;
			goto out;
		}
		pthread_mutex_lock(&cl->mu);
		if (taken && !cl->conflict[0])
			tg_err("cluster: %s; this node keeps enforcing and sharing its actions, "
			       "but is not registered until the name is its own",
			       why);
		else if (!taken && cl->conflict[0])
			tg_info("cluster: node name %s is this node's again: registered", cl->node);
		snprintf(cl->conflict, sizeof(cl->conflict), "%s", why);
		pthread_mutex_unlock(&cl->mu);
		if (taken) /* never over another node's registration */
			goto out;
	}
	pthread_mutex_lock(&cl->mu);
	reg = cl->info ? json_loads(cl->info, 0, NULL) : NULL;
	if (!reg)
		reg = json_object();
	json_object_set_new(reg, "pending", json_integer(cl->pending));
	pthread_mutex_unlock(&cl->mu);
	json_object_set_new(reg, "node", json_string(cl->node));
	json_object_set_new(reg, "uid", json_string(cl->uid));
	json_object_set_new(reg, "version", json_string(TG_VERSION));
	json_object_set_new(reg, "started_ms", json_integer(cl->started_ms));
	json_object_set_new(reg, "seen_ms", json_integer(tg_now_ms()));
	json_object_set_new(reg, "heartbeat_ms", json_integer(cl->heartbeat_ms));
	txt = json_dumps(reg, JSON_COMPACT);
	json_decref(reg);
	if (!txt)
		return -ENOMEM;
	snprintf(key, sizeof(key), "%snodes/%s", cl->prefix, cl->node);
	rc = tg_etcd_put(cl->etcd, key, txt, strlen(txt), cl->lease, NULL);
	if (!rc) {
		snprintf(key, sizeof(key), "%smembers/%s", cl->prefix, cl->node);
		rc = tg_etcd_put(cl->etcd, key, txt, strlen(txt), 0, NULL);
	}
	free(txt);
out:
	if (rc)
		set_err(cl, "heartbeat to etcd (%s): %s", tg_etcd_endpoint(cl->etcd),
			tg_etcd_error(cl->etcd));
	else
		set_ok(cl);
	return rc;
}

void tg_cluster_set_retention(struct tg_cluster *cl, int64_t ms)
{
	if (!cl)
		return;
	pthread_mutex_lock(&cl->mu);
	cl->retention_ms = ms;
	pthread_mutex_unlock(&cl->mu);
}

/*
 * Retention in etcd (docs/cluster.md): for every member (members/<name>, the nodes ever
 * registered), its shared events older than the retention go in one range delete (event
 * ids sort by time: [events/<name>/, events/<name>/<id of the cutoff>)); a member not seen
 * for longer than the retention goes too. Every node sweeps every member: a node gone for
 * good leaves nothing behind, and deletes are idempotent. 0, -EAGAIN before the retention
 * is known, or -errno.
 */
static int sweep(struct tg_cluster *cl)
{
	struct tg_etcd_kvs mem = {};
	char key[512], end[600], cut[TG_EVID_LEN];
	int64_t keep_ms, cutoff, n, events = 0, members = 0;
	size_t plen;
	int rc;

	pthread_mutex_lock(&cl->mu);
	keep_ms = cl->retention_ms;
	pthread_mutex_unlock(&cl->mu);
	if (keep_ms <= 0)
		return -EAGAIN; /* the configuration is not applied yet */
	cutoff = tg_now_ms() - keep_ms;
	tg_evid_format(cutoff, 0, 0, 0, cut);
	snprintf(key, sizeof(key), "%smembers/", cl->prefix);
	plen = strlen(key);
	rc = tg_etcd_range(cl->etcd, key, true, 0, &mem);
	for (size_t i = 0; !rc && i < mem.n; i++) {
		const char *name = mem.kv[i].key + plen;
		json_t *r;

		if (strlen(mem.kv[i].key) <= plen || strchr(name, '/'))
			continue;
		snprintf(key, sizeof(key), "%sshared/events/%s/", cl->prefix, name);
		snprintf(end, sizeof(end), "%s%s", key, cut);
		rc = tg_etcd_delete_range(cl->etcd, key, end, &n);
		if (rc)
			break;
		events += n;
		r = json_loads(mem.kv[i].value, 0, NULL);
		if (strcmp(name, cl->node) &&
		    json_integer_value(json_object_get(r, "seen_ms")) < cutoff) {
			rc = tg_etcd_delete(cl->etcd, mem.kv[i].key, false, NULL);
			members += !rc;
		}
		json_decref(r);
	}
	tg_etcd_kvs_free(&mem);
	if (rc)
		set_err(cl, "retention sweep in etcd (%s): %s", tg_etcd_endpoint(cl->etcd),
			tg_etcd_error(cl->etcd));
	else if (events || members)
		tg_info("cluster: retention: %lld shared events and %lld members older than %lld h "
			"removed from etcd",
			(long long)events, (long long)members, (long long)(keep_ms / 3600000));
	return rc;
}

static void *writer(void *arg)
{
	struct tg_cluster *cl = arg;
	int64_t next_hb = 0, backoff = 0, next_sweep = 0;
	bool was_ok = true;

	for (;;) {
		int64_t now = tg_mono_ms(), wait_ms;
		struct timespec ts;
		bool stop;
		int rc = 0;

		if (now >= next_hb) {
			rc = heartbeat(cl);
			next_hb = now + (rc ? 1000 : cl->heartbeat_ms);
		}
		if (!rc)
			rc = drain(cl);
		if (!rc && now >= next_sweep) { /* soon after the start, then hourly */
			int sw = sweep(cl);

			next_sweep = now + (sw == -EAGAIN ? 0 : sw ? 60000 : TG_CL_SWEEP_MS);
		}
		if (rc && was_ok)
			tg_warn("cluster: %s (fail-static: this node goes on enforcing what it "
				"knows)",
				cl->last_err);
		else if (!rc && !was_ok)
			tg_info("cluster: etcd reachable again (%s): queued actions written",
				tg_etcd_endpoint(cl->etcd));
		was_ok = !rc;
		backoff = rc ? (backoff ? backoff * 2 : 250) : 0;
		if (backoff > 2000)
			backoff = 2000;
		wait_ms = rc ? backoff : next_hb - tg_mono_ms();
		if (wait_ms < 1)
			wait_ms = 1;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&cl->mu);
		while (!cl->kicked && !cl->stop &&
		       pthread_cond_timedwait(&cl->cv, &cl->mu, &ts) != ETIMEDOUT)
			;
		/* a kick retries at once: each try is bounded by the timeout */
		cl->kicked = false;
		stop = cl->stop;
		pthread_mutex_unlock(&cl->mu);
		if (stop)
			break;
	}
	return NULL;
}

/* ---- other nodes' actions --------------------------------------------------------------- */

static void change_free(struct tg_cluster_change *ch)
{
	json_decref(ch->doc);
	memset(ch, 0, sizeof(*ch));
}

/* The audit row of an action as etcd holds it (the strings stay in j): its id the
 * origin's; uid set only for an older node's record (event_id). */
static int change_from(json_t *j, struct tg_cluster_change *ch)
{
	json_t *evid = json_object_get(j, "evidence");
	char idb[TG_EVID_LEN];
	const char *id = event_id(j, idb);

	memset(ch, 0, sizeof(*ch));
	ch->ev.customer = jstr(j, "customer");
	ch->ev.action = jstr(j, "action");
	ch->ev.actor = jstr(j, "actor");
	ch->ev.reason = jstr(j, "reason");
	ch->ev.origin = jstr(j, "origin");
	if (!ch->ev.customer || !ch->ev.action || !ch->ev.actor || !ch->ev.reason ||
	    !ch->ev.origin || !id || strlen(ch->ev.customer) >= TG_ID_LEN)
		return -EINVAL;
	if (id == idb) { /* kept with the document: freed with it */
		json_object_set_new(j, "_id", json_string(idb));
		ch->ev.uid = jstr(j, "uid");
	}
	ch->ev.id = id == idb ? jstr(j, "_id") : id;
	ch->ev.rule = jstr(j, "rule");
	ch->ev.ts_ms = jint(j, "ts_ms");
	ch->ev.until_ms = jint(j, "until_ms");
	ch->ev.monitor = json_is_true(json_object_get(j, "monitor"));
	ch->ev.throttle_bps = (uint64_t)jint(j, "throttle_bps");
	if (evid && json_object_size(evid)) {
		char *t = json_dumps(evid, JSON_COMPACT);

		/* kept with the document: freed with it */
		json_object_set_new(j, "_evidence_text", json_string(t ? t : "{}"));
		free(t);
		ch->ev.evidence = jstr(j, "_evidence_text");
	}
	ch->doc = json_incref(j);
	return 0;
}

static int handle_state(struct tg_cluster *cl, struct tg_statedb *st, json_t *j,
			tg_cluster_apply_fn apply, void *ctx)
{
	struct tg_cluster_change ch;
	const json_t *s = json_object_get(j, "state");
	const char *sv = jstr(s, "state");
	char id[160], origin[TG_CLUSTER_NODE_MAX + 1];
	int64_t ts;
	int rc;

	if (!sv || change_from(j, &ch))
		return 0; /* not ours to understand: ignored */
	/* this node's own write, back from the watch, or read again: its event is in the
	 * audit log (or it is an older version's record, without an id). Not there (the state
	 * database was lost): applied like another node's, or a customer this node suspended
	 * would pass here after its restart. */
	if (!strcmp(ch.ev.origin, cl->node) && (!ch.ev.id || tg_state_has_event(st, ch.ev.id))) {
		change_free(&ch);
		return 0;
	}
	rc = applied_of(tg_state_sqlite(st), ch.ev.customer, &ts, id, sizeof(id), origin,
			sizeof(origin));
	if (rc < 0 || (rc == 1 && !newer(ch.ev.ts_ms, ch.ev.id, ts, id))) {
		change_free(&ch);
		return rc < 0 ? rc : 0; /* this node has it, or something newer */
	}
	if (!strcmp(sv, "active")) {
		ch.op = TG_ENF_CLEAR;
	} else {
		ch.op = TG_ENF_SET;
		snprintf(ch.next.id, sizeof(ch.next.id), "%s", ch.ev.customer);
		ch.next.state = !strcmp(sv, "suspended") ? TG_ST_SUSPENDED : TG_ST_THROTTLED;
		ch.next.throttle_bps = (uint64_t)jint(s, "throttle_bps");
		ch.next.since_ms = jint(s, "since_ms");
		ch.next.until_ms = jint(s, "until_ms");
		snprintf(ch.next.rule, sizeof(ch.next.rule), "%s", jstr(s, "rule") ?: "");
		snprintf(ch.next.actor, sizeof(ch.next.actor), "%s", jstr(s, "actor") ?: "");
		snprintf(ch.next.reason, sizeof(ch.next.reason), "%s", jstr(s, "reason") ?: "");
	}
	/* its event recorded already (it came first): tg_state_act applies the state citing
	 * that row; an older node's recorded before this node carried ids: recorded again */
	if (ch.ev.uid && tg_state_has_uid(st, ch.ev.uid)) {
		ch.ev.uid = NULL;
		ch.ev.id = NULL;
	}
	rc = apply(ctx, &ch);
	change_free(&ch);
	return rc;
}

static int handle_event(struct tg_cluster *cl, struct tg_statedb *st, json_t *j,
			tg_cluster_apply_fn apply, void *ctx)
{
	struct tg_cluster_change ch;
	int rc;

	if (change_from(j, &ch))
		return 0;
	/* this node's own events too, when its audit log lost them (state database lost) */
	if ((ch.ev.id && tg_state_has_event(st, ch.ev.id)) ||
	    (ch.ev.uid && tg_state_has_uid(st, ch.ev.uid)) ||
	    (!ch.ev.id && !ch.ev.uid && !strcmp(ch.ev.origin, cl->node))) {
		change_free(&ch);
		return 0;
	}
	ch.op = TG_ENF_KEEP;
	rc = apply(ctx, &ch);
	change_free(&ch);
	return rc;
}

static int handle_kv(struct tg_cluster *cl, struct tg_statedb *st, const char *key, const char *val,
		     tg_cluster_apply_fn apply, void *ctx)
{
	size_t pl = strlen(cl->prefix);
	json_t *j;
	int rc = 0;

	if (strncmp(key, cl->prefix, pl))
		return 0;
	key += pl;
	if (strncmp(key, "shared/", 7))
		return 0;
	key += 7;
	if (strncmp(key, "state/", 6) && strncmp(key, "events/", 7))
		return 0;
	j = val ? json_loads(val, 0, NULL) : NULL;
	if (!j)
		return 0;
	rc = key[0] == 's' ? handle_state(cl, st, j, apply, ctx)
			   : handle_event(cl, st, j, apply, ctx);
	json_decref(j);
	return rc;
}

static void save_rev(struct tg_statedb *st, int64_t rev)
{
	sqlite3_stmt *q = NULL;

	if (sqlite3_prepare_v2(
		    tg_state_sqlite(st),
		    "INSERT OR REPLACE INTO cluster_meta (key, value) VALUES ('rev', ?1)", -1, &q,
		    NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, rev);
		sqlite3_step(q);
	}
	sqlite3_finalize(q);
}

static int64_t saved_rev(struct tg_statedb *st)
{
	sqlite3_stmt *q = NULL;
	int64_t rev = 0;

	if (sqlite3_prepare_v2(tg_state_sqlite(st),
			       "SELECT value FROM cluster_meta WHERE key = 'rev'", -1, &q,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		rev = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return rev;
}

/* Every customer's state, then every action, at one revision: *rev. */
static int full_read(struct tg_cluster *cl, struct tg_etcd *etcd, struct tg_statedb *st,
		     tg_cluster_apply_fn apply, void *ctx, int64_t *rev)
{
	static const char *const parts[] = {"shared/state/", "shared/events/"};
	int64_t at = 0;
	char key[512];
	int rc = 0;

	for (size_t p = 0; p < 2 && !rc; p++) {
		struct tg_etcd_kvs k = {};

		snprintf(key, sizeof(key), "%s%s", cl->prefix, parts[p]);
		rc = tg_etcd_range(etcd, key, true, at, &k);
		if (rc)
			break;
		at = k.rev;
		for (size_t i = 0; i < k.n; i++) {
			int e = handle_kv(cl, st, k.kv[i].key, k.kv[i].value, apply, ctx);

			if (e) {
				tg_warn("cluster: %s: not applied (%s): read again later",
					k.kv[i].key, strerror(-e));
				cl->reread = true;
			}
		}
		tg_etcd_kvs_free(&k);
	}
	if (!rc)
		*rev = at;
	return rc;
}

int tg_cluster_start(struct tg_cluster *cl, struct tg_statedb *st, tg_cluster_apply_fn apply,
		     void *ctx, char *err, size_t len)
{
	int64_t deadline = tg_mono_ms() + cl->start_timeout_ms, rev = 0;
	char *msg = NULL;
	bool warned = false;
	int rc;

	if (sqlite3_exec(tg_state_sqlite(st), cl_schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, len, "state database: %s",
			 msg ? msg : "cannot add the cluster tables");
		sqlite3_free(msg);
		return -EIO;
	}
	for (;;) {
		rc = full_read(cl, cl->etcd, st, apply, ctx, &rev);
		if (!rc)
			break;
		if (!warned)
			tg_warn("cluster: cannot read the cluster state from etcd (%s): %s; trying "
				"for %u s before starting",
				tg_etcd_endpoint(cl->etcd), tg_etcd_error(cl->etcd),
				cl->start_timeout_ms / 1000);
		warned = true;
		if (tg_mono_ms() >= deadline) {
			rev = saved_rev(st);
			if (!rev) {
				snprintf(err, len,
					 "cannot read the cluster state from etcd (%s: %s) within "
					 "cluster.start_timeout, and this node never has: it does "
					 "not "
					 "start (it could let a customer suspended elsewhere "
					 "through); "
					 "bring etcd back or check cluster.endpoints",
					 tg_etcd_endpoint(cl->etcd), tg_etcd_error(cl->etcd));
				return -ETIMEDOUT;
			}
			tg_warn("cluster: etcd unreachable: starting with the state this node knew "
				"(revision %lld, fail-static); the rest follows when etcd is back",
				(long long)rev);
			break;
		}
		usleep(500000);
	}
	if (!rc) {
		char why[sizeof(cl->conflict)];

		/* taken: by another node, or by this one's own last run (killed, its state
		 * database lost) whose lease has not run out yet. The lease lives 3 heartbeats
		 * (at least 5 s): wait that long for it to go before refusing. */
		int64_t until = tg_mono_ms() + 3 * (int64_t)cl->heartbeat_ms + 6000;
		bool said = false;
		int taken;

		while ((taken = name_taken(cl, cl->etcd, why, sizeof(why))) == 1 &&
		       tg_mono_ms() < until) {
			if (!said)
				tg_warn("cluster: %s; waiting up to %lld s for that registration's "
					"lease to run out",
					why, (long long)(until - tg_mono_ms()) / 1000);
			said = true;
			usleep(500000);
		}
		if (taken == 1) {
			snprintf(err, len, "%s: this node does not start", why);
			return -EEXIST;
		}
		set_ok(cl);
		save_rev(st, rev);
		tg_info("cluster: node %s read the cluster state at revision %lld", cl->node,
			(long long)rev);
	}
	cl->start_rev = rev;
	return 0;
}

int tg_cluster_run(struct tg_cluster *cl, char *err, size_t len)
{
	char key[512];
	int rc;

	/* the shared state only: not the registrations, which change every heartbeat */
	snprintf(key, sizeof(key), "%sshared/", cl->prefix);
	rc = tg_etcd_watch_start(&cl->ecfg, key, true, cl->start_rev + 1, &cl->w);
	if (rc) {
		snprintf(err, len, "cluster: cannot watch %s: %s", key, strerror(-rc));
		return rc;
	}
	rc = pthread_create(&cl->thr, NULL, writer, cl);
	if (rc) {
		snprintf(err, len, "cluster: cannot start its thread: %s", strerror(rc));
		return -rc;
	}
	cl->thr_started = true;
	return 0;
}

int tg_cluster_fd(const struct tg_cluster *cl)
{
	return cl && cl->w ? tg_etcd_watch_fd(cl->w) : -1;
}

void tg_cluster_read(struct tg_cluster *cl, struct tg_statedb *st, tg_cluster_apply_fn apply,
		     void *ctx)
{
	struct tg_etcd_event ev;
	int64_t last = 0;

	if (!cl || !cl->w)
		return;
	while (tg_etcd_watch_next(cl->w, &ev) == 1) {
		if (ev.type == TG_ETCD_RESYNC) {
			cl->reread = true;
		} else if (ev.type == TG_ETCD_PUT) {
			int e = handle_kv(cl, st, ev.kv.key, ev.kv.value, apply, ctx);

			if (e) {
				tg_warn("cluster: %s: not applied (%s): read again later",
					ev.kv.key, strerror(-e));
				cl->reread = true;
			}
		}
		if (ev.rev > last)
			last = ev.rev;
		tg_etcd_event_free(&ev);
	}
	if (cl->reread && tg_etcd_watch_up(cl->w)) {
		/* history compacted past the watch, or an apply failed: everything again, with
		 * a connection of this thread's own (the writer's is the writer's); only while
		 * the watch is up, so the event loop does not wait on an etcd that is away */
		struct tg_etcd *e = NULL;
		char err[256];
		int64_t rev;

		if (!tg_etcd_open(&cl->ecfg, &e, err, sizeof(err))) {
			cl->reread = false; /* full_read sets it again if an apply fails */
			if (full_read(cl, e, st, apply, ctx, &rev))
				cl->reread = true; /* etcd away: at the next interval */
			else if (rev > last)
				last = rev;
			tg_etcd_close(e);
		}
	}
	if (last)
		save_rev(st, last);
}

void tg_cluster_set_info(struct tg_cluster *cl, const json_t *info)
{
	char *t = info ? json_dumps(info, JSON_COMPACT) : NULL;

	if (!cl) {
		free(t);
		return;
	}
	pthread_mutex_lock(&cl->mu);
	free(cl->info);
	cl->info = t;
	pthread_mutex_unlock(&cl->mu);
}

json_t *tg_cluster_health(struct tg_cluster *cl)
{
	json_t *o;

	pthread_mutex_lock(&cl->mu);
	o = json_pack("{ss sb sI sI sb}", "node", cl->node, "etcd_ok", cl->etcd_ok, "pending",
		      (json_int_t)cl->pending, "last_contact_ms", (json_int_t)cl->last_ok_ms,
		      "watch_up", cl->w && tg_etcd_watch_up(cl->w));
	if (o && !cl->etcd_ok && cl->last_err[0])
		json_object_set_new(o, "error", json_string(cl->last_err));
	if (o && cl->conflict[0])
		json_object_set_new(o, "name_conflict", json_string(cl->conflict));
	pthread_mutex_unlock(&cl->mu);
	return o;
}

/* ---- the members, for `tollgate cluster status` -------------------------------------- */

json_t *tg_cluster_members(const struct tg_cluster_cfg *cc, char *err, size_t len)
{
	struct tg_etcd_cfg ecfg = {.endpoints = (const char *const *)cc->endpoints,
				   .nendpoints = cc->nendpoints,
				   .ca = cc->ca,
				   .cert = cc->cert,
				   .key = cc->key,
				   .timeout_ms = cc->timeout_ms};
	struct tg_etcd_kvs mem = {}, up = {};
	struct tg_etcd *e = NULL;
	json_t *arr = NULL, *m;
	const char *newest_gen = NULL;
	int64_t newest_at = -1;
	char key[512];
	size_t i;

	if (tg_etcd_open(&ecfg, &e, err, len))
		return NULL;
	snprintf(key, sizeof(key), "%smembers/", cc->prefix);
	if (tg_etcd_range(e, key, true, 0, &mem)) {
		snprintf(err, len, "cannot read %s from etcd (%s): %s", key, tg_etcd_endpoint(e),
			 tg_etcd_error(e));
		goto out;
	}
	snprintf(key, sizeof(key), "%snodes/", cc->prefix);
	if (tg_etcd_range(e, key, true, 0, &up)) {
		snprintf(err, len, "cannot read %s from etcd (%s): %s", key, tg_etcd_endpoint(e),
			 tg_etcd_error(e));
		goto out;
	}
	arr = json_array();
	for (i = 0; arr && i < mem.n; i++) {
		json_t *r = json_loads(mem.kv[i].value, 0, NULL);
		const char *name = jstr(r, "node");
		bool alive = false;

		if (!r || !name) {
			json_decref(r);
			continue;
		}
		for (size_t k = 0; k < up.n; k++) {
			json_t *u = json_loads(up.kv[k].value, 0, NULL);

			if (u && jstr(u, "node") && !strcmp(jstr(u, "node"), name)) {
				/* the live registration is the newer; name was r's and goes
				 * with it: stop here */
				json_decref(r);
				r = u;
				alive = true;
				break;
			}
			json_decref(u);
		}
		json_object_set_new(r, "health", json_string(alive ? "up" : "down"));
		json_object_set_new(r, "seen", tg_json_time(jint(r, "seen_ms")));
		if (alive && jstr(r, "config_generation") &&
		    jint(r, "config_applied_ms") > newest_at) {
			newest_at = jint(r, "config_applied_ms");
			newest_gen = jstr(r, "config_generation");
		}
		json_array_append_new(arr, r);
	}
	json_array_foreach (arr, i, m) {
		const char *g = jstr(m, "config_generation");

		json_object_set_new(m, "drift",
				    json_boolean(newest_gen && g && strcmp(g, newest_gen)));
	}
out:
	tg_etcd_kvs_free(&mem);
	tg_etcd_kvs_free(&up);
	tg_etcd_close(e);
	return arr;
}
