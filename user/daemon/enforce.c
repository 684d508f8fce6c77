// SPDX-License-Identifier: GPL-2.0-only
/*
 * enforce.c - tollgated's enforcement: rates to the rule engine, its events (and the
 * control socket's requests) to the audit log, the data plane and the notifications.
 * See enforce.h for the order every action follows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/cluster.h"
#include "config/config.h"
#include "enforce.h"
#include "capture.h"
#include "engine.h"
#include "exporter.h"
#include "lib/lib.h"
#include "mitigate.h"
#include "notify.h"
#include "quota.h"

#define TG_PURGE_EVERY_MS (3600 * 1000ll) /* the retention purge runs hourly */

struct tg_enforcer {
	struct tg_statedb *st;
	char *state_path;
	struct tg_enf_table table; /* the customers that are not active, by id */
	struct tg_enf_view view;   /* of table, for the syncs */
	struct tg_engine *eng;
	struct tg_notifier *notifier;
	struct tg_exporter *exporter; /* counts the actions; not owned */
	/*
	 * The cluster (docs/cluster.md), or NULL: a node alone. Around one act(): the event
	 * and the state it sets (queued for etcd in its transaction), another node's action
	 * being applied (remote: recorded, not notified, not queued), or a lift of a state
	 * another node set (quiet: its owner notifies and writes it).
	 */
	struct tg_cluster *cluster; /* not owned */
	const struct tg_event *cur_ev;
	const struct tg_enf_entry *cur_next;
	int cur_state;
	const struct tg_cluster_change *remote;
	bool quiet;
	struct tg_notify_cfg notify; /* what the notifier was started with (strings owned) */
	int64_t interval_ms, retention_ms, last_purge_ms;
	/*
	 * The engine runs on tg_mono_ms (it never steps); records are dated on the wall
	 * clock. wall_off = wall - mono, read at the start of every tick and request,
	 * converts the engine's times to the wall clock's for the records (since, until:
	 * the deadline a restart reads back) and the database's to the engine's (restore).
	 */
	int64_t wall_off;

	/* the applied configuration's customers, by index */
	const struct tg_cfg *cfg;
	const uint32_t *idx; /* idx[c]: the index of cfg->customers[c] */
	uint32_t max_cust;   /* entries of the arrays below */
	uint32_t *pos;	     /* pos[idx]: c + 1, 0: no customer */
	uint64_t *id_hash;   /* id_hash[idx]: of the id the engine knows there (0: none) */
	bool restored;	     /* the engine was rebuilt from the database */
	bool need_pass;	     /* a rule reads passed traffic */
	bool need_fanout;    /* a rule reads the fan-out sketches (tg_fanout) */
	bool fanout_warned;  /* tg_fanout_advance failed once: said so */
	/* the (direction, reason) drop counters the rules read, nd of them */
	uint8_t dd[TG_DIR_NR * TG_R_NR], dr[TG_DIR_NR * TG_R_NR];
	unsigned int nd;

	/* counters at the last interval: passed traffic (per customer index), and the drop
	 * counters the rules read (nd per customer index; of the mmapped tg_cdrop) */
	struct tg_cstat *pass, *pass_prev;
	uint64_t *drops_prev;
	unsigned int nd_prev;	 /* nd when drops_prev was filled */
	struct tg_pendset *pend; /* the drops still in the CPUs' slots, read each interval */
	int64_t prev_ms;
	struct tg_quota *quota; /* volume quotas (quota.h) */
	uint64_t *exempt;	/* exempt[c]: the rules cfg->customers[c] is exempt from; NULL */

	/* the context of the engine's callback */
	struct tg_maps *m;
	struct tg_applied *app;
	bool *resync;
	const struct tg_sample *sample;
	double sample_dt_s;			  /* the interval the sample's rates are over */
	int64_t sample_ms;			  /* when its counters were read (wall clock, ms) */
	const char *manual_actor, *manual_reason; /* a request by hand is being carried out */
	const char *manual_evidence;		  /* its evidence (JSON object text), or NULL */
	int64_t last_audit;			  /* audit id of the last event recorded */
	char last_err[64];			  /* why the last record failed */
	/* upstream mitigation: the desired set and its speaker's thread; the row an action
	 * being recorded puts into (or deletes from) the mitigation table, in its transaction */
	struct tg_mitigator *mit;
	bool mit_restored;
	const struct tg_mit_row *mit_put;
	const char *mit_del;
	struct tg_capturer *capturer; /* the evidence samples (capture.h), or NULL; not owned */
	/* what the intervals cost, logged every TG_TICK_REPORT of them with -v */
	double tick_sum_ms, tick_max_ms, tick_last_ms;
	unsigned int nticks;
};

#define TG_TICK_REPORT 10

/* The attacked hosts of a customer (tg_top_dests) as the evidence lists them. */
static json_t *tg_top_dests_json(const struct tg_maps *m, uint32_t cust, int max)
{
	struct tg_dest_count d[8];
	json_t *arr = json_array();
	int n = tg_top_dests(m, cust, d, max < 8 ? max : 8);

	for (int i = 0; i < n; i++) {
		char a[INET6_ADDRSTRLEN] = "?";
		json_t *ports = json_array();

		inet_ntop(d[i].v6 ? AF_INET6 : AF_INET, d[i].addr, a, sizeof(a));
		for (int k = 0; k < d[i].nsport; k++)
			json_array_append_new(ports, json_integer(d[i].sport[k]));
		json_array_append_new(arr, json_pack("{ss si so si si}", "address", a, "proto",
						     d[i].proto, "source_ports", ports,
						     "drops_sampled", (int)d[i].drops,
						     "passes_sampled", (int)d[i].passes));
	}
	return arr;
}

static int queue(sqlite3 *db, int64_t audit_id, const char *json, void *ctx)
{
	struct tg_enforcer *e = ctx;
	int rc;

	if (e->remote) /* another node's action: its origin notifies */
		return tg_cluster_applied(e->cluster, db, e->remote);
	if (e->quiet)
		return 0;
	rc = tg_outbox_enqueue(db, &e->notify, audit_id, json, tg_now_ms());
	if (!rc && e->cluster && e->cur_ev) {
		/* with the id tg_state_act gave it (in json): every node records it under it */
		json_t *j = json_loads(json, 0, NULL);
		struct tg_event ev = *e->cur_ev;

		ev.id = json_string_value(json_object_get(j, "id"));
		rc = tg_cluster_enqueue(e->cluster, db, audit_id, &ev, e->cur_state, e->cur_next);
		json_decref(j);
	}
	if (!rc && e->mit_put) {
		struct tg_mit_row row = *e->mit_put;

		row.audit_id = audit_id;
		rc = tg_state_mit_put(db, &row);
	}
	if (!rc && e->mit_del)
		rc = tg_state_mit_del(db, e->mit_del);
	return rc;
}

int tg_enforcer_open(const char *state_path, struct tg_enforcer **out, char *err, size_t len)
{
	struct tg_enforcer *e = calloc(1, sizeof(*e));
	int rc;

	*out = NULL;
	if (!e || !(e->state_path = strdup(state_path))) {
		free(e);
		return -ENOMEM;
	}
	e->interval_ms = 1000;
	tg_enf_view_init(&e->view, &e->table);
	e->quota = tg_quota_new();
	if (!e->quota) {
		free(e->state_path);
		free(e);
		return -ENOMEM;
	}
	rc = tg_mitigator_new(&e->mit);
	if (rc) {
		free(e->state_path);
		free(e);
		return rc;
	}
	rc = tg_state_open(state_path, &e->st, err, len);
	if (!rc) {
		rc = tg_state_enf_load(e->st, &e->table);
		if (rc)
			snprintf(err, len, "%s: cannot read the enforcement state", state_path);
	}
	if (rc) {
		tg_enforcer_close(e);
		return rc;
	}
	*out = e;
	return 0;
}

static void free_notify(struct tg_notify_cfg *n)
{
	free(n->exec);
	free(n->webhook);
	memset(n, 0, sizeof(*n));
}

void tg_enforcer_close(struct tg_enforcer *e)
{
	if (!e)
		return;
	tg_notifier_stop(e->notifier);
	tg_mitigator_free(e->mit);
	free_notify(&e->notify);
	tg_engine_free(e->eng);
	tg_enf_free(&e->table);
	tg_quota_free(e->quota, e->st); /* writes the usage not written yet */
	free(e->exempt);
	tg_state_close(e->st);
	free(e->pos);
	free(e->id_hash);
	free(e->pass);
	free(e->pass_prev);
	free(e->drops_prev);
	free(e->pend);
	free(e->state_path);
	free(e);
}

const struct tg_enf_table *tg_enforcer_table(const struct tg_enforcer *e)
{
	return &e->table;
}

const struct tg_enf_view *tg_enforcer_view(const struct tg_enforcer *e)
{
	return &e->view;
}

int64_t tg_enforcer_interval_ms(const struct tg_enforcer *e)
{
	return e->interval_ms;
}

/* The id of customer index idx in the applied configuration, or NULL. */
static const char *id_of(const struct tg_enforcer *e, uint32_t idx)
{
	if (!e->cfg || idx >= e->max_cust || !e->pos[idx])
		return NULL;
	return e->cfg->customers[e->pos[idx] - 1].id;
}

/* The index of a loaded customer, or 0. */
static uint32_t idx_of(const struct tg_enforcer *e, const char *id)
{
	long c = e->cfg ? tg_config_customer(e->cfg, id) : -1;

	return c < 0 ? 0 : e->idx[c];
}

/* ---- events to the audit log, the data plane and the mirror ----------------------- */

/*
 * Commit ev with the customer's new state (op; next for TG_ENF_SET) and the rule's
 * episode (ep), then write the data plane and the mirror. The audit id, or -errno:
 * nothing changed.
 */
static int64_t act(struct tg_enforcer *e, const struct tg_event *ev0, enum tg_enf_op op,
		   const struct tg_enf_entry *next, enum tg_ep_op ep)
{
	struct tg_event evc = *ev0, *ev = &evc;
	int64_t id;
	int err = 0, lock;

	if (e->cluster && !e->remote) /* this node decided it */
		evc.origin = tg_cluster_node(e->cluster);
	e->cur_ev = ev;
	e->cur_next = op == TG_ENF_SET ? next : NULL;
	e->cur_state = op == TG_ENF_SET ? next->state : op == TG_ENF_CLEAR ? TG_ST_ACTIVE : -1;

	/*
	 * Under the writers' lock from the commit to the record: `tollgate customer show`
	 * (which reads both under it) never sees one without the other, and no other writer
	 * can move the customer's index between our check and our write.
	 */
	lock = e->m ? tg_maps_lock(e->m) : -1;
	id = tg_state_act(e->st, ev, op, next, ep, queue, e);
	e->cur_ev = NULL;
	if (id < 0) {
		tg_maps_unlock(lock);
		snprintf(e->last_err, sizeof(e->last_err), "%s", strerror((int)-id));
		tg_err("%s: %s not recorded (state database: %s): nothing changed", ev->customer,
		       ev->action, strerror((int)-id));
		return id;
	}
	e->last_audit = id;
	tg_notifier_kick(e->notifier);
	if (!e->remote && !e->quiet)
		tg_cluster_kick(e->cluster);
	if (op == TG_ENF_KEEP) {
		tg_maps_unlock(lock);
		return id;
	}
	if (op == TG_ENF_SET) {
		struct tg_enf_entry n = *next;

		n.audit_id = id;
		err = tg_enf_put(&e->table, &n);
	} else {
		tg_enf_del(&e->table, ev->customer);
	}
	if (!err && e->m)
		err = tg_applied_enforce(e->m, e->app, ev->customer, &e->view);
	tg_maps_unlock(lock);
	if (err == -ENOENT) /* not loaded now: the state applies when it is again */
		err = 0;
	if (err == -ESTALE) { /* another writer synced: written where the customer is now */
		if (e->resync)
			*e->resync = true;
	} else if (err) {
		tg_warn("%s: %s recorded; the data plane follows with a full sync (%s)",
			ev->customer, ev->action, strerror(-err));
		if (e->resync)
			*e->resync = true;
	}
	return id;
}

int64_t tg_enforcer_audit_iface(struct tg_enforcer *e, const char *action, const char *reason,
				const char *evidence)
{
	struct tg_event ev = {.ts_ms = tg_now_ms(),
			      .customer = "",
			      .action = action,
			      .actor = "tollgated",
			      .reason = reason,
			      .evidence = evidence};
	int64_t id = tg_state_act(e->st, &ev, TG_ENF_KEEP, NULL, TG_EP_KEEP, queue, e);

	if (id < 0)
		tg_err("%s not recorded (state database: %s): %s", action, strerror((int)-id),
		       reason);
	else
		tg_notifier_kick(e->notifier);
	return id;
}

/* The evidence of a firing: the condition and the customer's rates of the interval. */
static char *evidence(const struct tg_enforcer *e, const struct tg_eng_event *ev,
		      const struct tg_rule *r)
{
	static const char *const dn[TG_DIR_NR] = {"upload", "download"};
	const struct tg_sample *s = e->sample;
	json_t *o = json_object(), *rates, *drops;
	char *out;

	if (!o)
		return NULL;
	json_object_set_new(o, "when", json_string(r->when));
	json_object_set_new(o, "metric", json_string(tg_metric_name(r->cond.metric)));
	json_object_set_new(o, "value", json_real(ev->value));
	json_object_set_new(o, "threshold", json_real(ev->threshold));
	json_object_set_new(o, "held_s", json_real((double)ev->held_ms / 1000.0));
	if (s) { /* the rates below are over (sampled_ms - interval_s, sampled_ms] */
		json_object_set_new(o, "interval_s", json_real(e->sample_dt_s));
		json_object_set_new(o, "sampled_ms", json_integer(e->sample_ms));
	}
	json_object_set_new(o, "escalated", json_boolean(ev->escalated));
	if (s) {
		rates = json_object();
		for (int d = 0; d < TG_DIR_NR; d++) {
			char k[32];

			drops = json_object();
			for (int x = 0; x < TG_R_NR; x++)
				if (s->drop_pps[d][x] > 0)
					json_object_set_new(drops, tg_reason_name(x),
							    json_real(s->drop_pps[d][x]));
			snprintf(k, sizeof(k), "%s_bps", dn[d]);
			json_object_set_new(rates, k, json_real(s->bps[d]));
			snprintf(k, sizeof(k), "%s_pps", dn[d]);
			json_object_set_new(rates, k, json_real(s->pps[d]));
			snprintf(k, sizeof(k), "%s_util", dn[d]);
			json_object_set_new(rates, k, json_real(s->util[d]));
			snprintf(k, sizeof(k), "%s_drops_pps", dn[d]);
			json_object_set_new(rates, k, drops);
		}
		if (s->quota_pct[TG_DIR_UP] > 0 || s->quota_pct[TG_DIR_DOWN] > 0) {
			json_object_set_new(rates, "upload_quota_used_pct",
					    json_real(s->quota_pct[TG_DIR_UP]));
			json_object_set_new(rates, "download_quota_used_pct",
					    json_real(s->quota_pct[TG_DIR_DOWN]));
		}
		json_object_set_new(o, "rates", rates);
		if (s->fanout_hosts > 0 || s->fanout_ports > 0 || s->smtp_conns > 0 ||
		    s->tcp_syns > 0) {
			json_t *fo = json_object(); /* the interval's, upload */

			json_object_set_new(fo, "fanout_hosts", json_real(s->fanout_hosts));
			json_object_set_new(fo, "fanout_ports", json_real(s->fanout_ports));
			json_object_set_new(fo, "smtp_conns", json_real(s->smtp_conns));
			json_object_set_new(fo, "smtp_hosts", json_real(s->smtp_hosts));
			json_object_set_new(fo, "tcp_syns", json_real(s->tcp_syns));
			json_object_set_new(fo, "unanswered_syns", json_real(s->unanswered_syns));
			json_object_set_new(o, "contacted", fo);
		}
	}
	if (e->m) { /* where its dropped packets were going */
		struct tg_port_count top[5];
		int n = tg_top_ports(e->m, ev->cust, top, 5);
		json_t *arr = json_array();

		for (int i = 0; i < n; i++) {
			const char *pn = top[i].proto == IPPROTO_TCP	? "tcp"
					 : top[i].proto == IPPROTO_UDP	? "udp"
					 : top[i].proto == IPPROTO_ICMP ? "icmp"
					 : top[i].proto == 58		? "icmpv6"
									: "other";

			json_array_append_new(arr, json_pack("{ss si ss si}", "proto", pn, "port",
							     top[i].port, "direction",
							     dn[top[i].dir & 1], "packets",
							     (int)top[i].count));
		}
		json_object_set_new(o, "top_dst_ports", arr);
		json_object_set_new(o, "top_destinations", tg_top_dests_json(e->m, ev->cust, 5));
	}
	out = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(o);
	return out;
}

static const char *state_word(int st, bool lift)
{
	if (st == TG_ST_SUSPENDED)
		return lift ? "unsuspend" : "suspend";
	return lift ? "unthrottle" : "throttle";
}

/* ---- upstream mitigation (mitigate.h) ----------------------------------------------- */

/* Is m inside one of customer cu's own prefixes (tg_mit_check's inside)? */
static bool cust_owns(void *ctx, const struct tg_mit *m)
{
	const struct tg_customer *cu = ctx;

	for (size_t i = 0; cu && i < cu->npfx; i++) {
		const struct tg_prefix *p = &cu->pfx[i];
		unsigned full = p->plen / 8, rest = p->plen % 8;

		if (p->family != m->family || p->plen > m->plen)
			continue;
		if (memcmp(p->addr, m->addr, full))
			continue;
		if (rest && ((p->addr[full] ^ m->addr[full]) & (uint8_t)(0xff << (8 - rest))))
			continue;
		return true;
	}
	return false;
}

/* The customer whose own space holds m (a linear scan: requests by hand are rare). */
static const struct tg_customer *owner_of(const struct tg_cfg *cfg, const struct tg_mit *m)
{
	for (size_t c = 0; cfg && c < cfg->ncustomers; c++)
		if (cust_owns((void *)&cfg->customers[c], m))
			return &cfg->customers[c];
	return NULL;
}

static void mit_row(const struct tg_mit_entry *en, struct tg_mit_row *r)
{
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	snprintf(r->key, sizeof(r->key), "%s", en->key);
	snprintf(r->customer, sizeof(r->customer), "%s", en->customer);
	snprintf(r->rule, sizeof(r->rule), "%s", en->rule);
	snprintf(r->kind, sizeof(r->kind), "%s", tg_mit_kind_name(en->m.kind));
	tg_mit_prefix(&en->m, r->prefix);
	r->proto = en->m.proto;
	for (unsigned i = 0; i < en->m.nsport && n < sizeof(r->sports) - 7; i++)
		n += (size_t)snprintf(r->sports + n, sizeof(r->sports) - n, "%s%u", i ? "," : "",
				      en->m.sport[i]);
	r->rate_bps = en->m.rate_bps;
	r->started_ms = en->started_ms;
	r->until_ms = en->until_ms;
	r->with_episode = en->with_episode ? (en->timed ? 2 : 1) : 0;
	r->audit_id = en->audit_id;
}

/*
 * Record an announcement (put) or its withdrawal, then change the desired set: the audit
 * row, its notifications and the mitigation table's row commit in one transaction (act()
 * and queue()); the speaker follows on the mitigator's thread. The audit id or -errno.
 */
static int64_t mit_act(struct tg_enforcer *e, const struct tg_event *a, enum tg_ep_op ep,
		       const struct tg_mit_entry *en, bool put)
{
	struct tg_mit_row row;
	int64_t id;

	mit_row(en, &row);
	e->mit_put = put ? &row : NULL;
	e->mit_del = put ? NULL : en->key;
	id = act(e, a, TG_ENF_KEEP, NULL, ep);
	e->mit_put = NULL;
	e->mit_del = NULL;
	if (id < 0)
		return id;
	if (put) {
		struct tg_mit_entry n = *en;

		n.audit_id = id;
		if (tg_mitigator_add(e->mit, &n))
			tg_err("%s: %s recorded but not kept in memory (out of memory): announced "
			       "at the next restart",
			       en->customer, en->key);
	} else {
		tg_mitigator_remove(e->mit, en->key);
	}
	return id;
}

/* evidence's JSON text with "announcement": key (or the reason it was refused) added. */
static char *with_announcement(char *evid, const char *key, const char *refused)
{
	json_t *o = evid ? json_loads(evid, 0, NULL) : json_object();
	char *out;

	if (!o)
		return evid;
	if (key)
		json_object_set_new(o, "announcement", json_string(key));
	if (refused)
		json_object_set_new(o, "refused", json_string(refused));
	out = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (!out)
		return evid;
	free(evid);
	return out;
}

/*
 * Fill en for customer cu: an announcement of kind (TG_MIT_*) toward m (parsed) on behalf
 * of rule (NULL: by hand) at now (mono), until until_mono (0: the policy's longest). 0 or
 * -EPERM / -ENOSPC / -EINVAL with the reason in why (refusal metric in *metric).
 */
static int mit_plan(struct tg_enforcer *e, const struct tg_customer *cu, struct tg_mit_entry *en,
		    const struct tg_rule *r, int64_t now, int64_t until_mono, char *why,
		    size_t whylen, const char **metric)
{
	const struct tg_mit_policy *pol = tg_mitigator_policy(e->mit);
	int rc;

	*metric = "policy";
	rc = tg_mit_check(&en->m, pol, cust_owns, (void *)cu, why, whylen);
	if (rc)
		return rc;
	tg_mit_key(&en->m, en->key);
	snprintf(en->customer, sizeof(en->customer), "%s", cu->id);
	snprintf(en->rule, sizeof(en->rule), "%s", r ? r->name : "");
	if (!until_mono || until_mono - now > pol->max_duration_ms)
		until_mono = now + pol->max_duration_ms;
	en->until_mono = until_mono;
	en->started_ms = now + e->wall_off;
	en->until_ms = until_mono + e->wall_off;
	/* a rule with clear_after (or without a duration) keeps it up while the flood goes on */
	en->with_episode = r && (r->has_clear_after || !r->duration_ns);
	en->timed = !r || r->duration_ns;
	en->episode_open = r != NULL;
	if (!pol->monitor && !tg_mitigator_get(e->mit, en->key, &(struct tg_mit_entry){0}) &&
	    tg_mitigator_count(e->mit) >= pol->max_active) {
		*metric = "cap";
		snprintf(why, whylen,
			 "%u announcements are in force (mitigation.max_active): %s not announced",
			 pol->max_active, en->key);
		return -ENOSPC;
	}
	return 0;
}

/* A rule's flowspec or blackhole firing: toward the host its download samples name. */
static void on_mitigate(struct tg_enforcer *e, const struct tg_eng_event *ev,
			const struct tg_rule *r, const char *id, struct tg_event *a, char *reason,
			size_t rlen)
{
	const struct tg_customer *cu =
		e->pos && e->pos[ev->cust] ? &e->cfg->customers[e->pos[ev->cust] - 1] : NULL;
	const struct tg_mit_policy *pol = tg_mitigator_policy(e->mit);
	struct tg_mit_entry en = {0};
	struct tg_dest_count d;
	char why[300] = "", *evid;
	const char *metric = NULL;
	int n = e->m ? tg_top_dests(e->m, ev->cust, &d, 1) : 0;
	bool refused = true, put;
	int64_t now = ev->at_ms;

	a->action = tg_action_name(ev->action);
	if (!tg_mitigator_enabled(e->mit) || !cu) {
		snprintf(why, sizeof(why), "no mitigation: section in the configuration");
		metric = "policy";
	} else if (n <= 0) {
		snprintf(why, sizeof(why), "no host of the customer's was sampled as the target");
		metric = "no_host";
	} else {
		char addr[INET6_ADDRSTRLEN] = "", proto[8] = "", ports[64] = "";
		size_t k = 0;

		inet_ntop(d.v6 ? AF_INET6 : AF_INET, d.addr, addr, sizeof(addr));
		if (ev->action == TG_ACT_FLOWSPEC && d.proto) {
			snprintf(proto, sizeof(proto), "%u", d.proto);
			for (unsigned i = 0; (d.proto == IPPROTO_UDP || d.proto == IPPROTO_TCP) &&
					     i < d.nsport && k < sizeof(ports) - 7;
			     i++)
				k += (size_t)snprintf(ports + k, sizeof(ports) - k, "%s%u",
						      i ? "," : "", d.sport[i]);
		}
		if (tg_mit_parse(&en.m, tg_action_name(ev->action), addr, *proto ? proto : NULL,
				 *ports ? ports : NULL,
				 ev->action == TG_ACT_FLOWSPEC ? r->flowspec_bps : 0, pol, why,
				 sizeof(why)) == 0 &&
		    mit_plan(e, cu, &en, r, now, ev->until_ms, why, sizeof(why), &metric) == 0)
			refused = false;
	}
	put = !refused && !ev->monitor && !pol->monitor;
	if (refused) {
		size_t l = strlen(reason);

		snprintf(reason + l, rlen - l, " (refused: %s)", why);
		tg_mitigator_count_refusal(e->mit, metric);
	} else if (!put) {
		size_t l = strlen(reason);

		snprintf(reason + l, rlen - l, " (monitor: %s not announced)", en.key);
	}
	a->monitor = !put;
	a->until_ms = put ? en.until_ms : 0;
	evid = with_announcement(evidence(e, ev, r), refused ? NULL : en.key, refused ? why : NULL);
	a->evidence = evid;
	if (mit_act(e, a, TG_EP_OPEN, &en, put) < 0) {
		tg_engine_refuse(e->eng);
		free(evid);
		return;
	}
	free(evid);
	if (put)
		tg_exporter_count_action(e->exporter, r->name, a->action);
	tg_info("%s%s %s for %s by rule:%s: %s", put ? "" : "not done: ", a->action,
		refused ? "" : en.key, id, r->name, reason);
}

/* Withdraw what is due: the duration ran out (and the episode ended, with clear_after),
 * or mitigation.max_duration passed. A failed record is tried again next interval. */
static void mit_expire(struct tg_enforcer *e, int64_t now)
{
	struct tg_mit_entry due[32];
	size_t n = tg_mitigator_due(e->mit, now, due, 32);

	for (size_t i = 0; i < n; i++) {
		char reason[TG_ENF_REASON_LEN], actor[TG_ENF_ACTOR_LEN], *evid;
		struct tg_event a = {.ts_ms = now + e->wall_off,
				     .customer = due[i].customer,
				     .action = "withdraw",
				     .rule = due[i].rule[0] ? due[i].rule : NULL};
		bool ended = due[i].with_episode && !due[i].episode_open && now < due[i].until_mono;

		snprintf(actor, sizeof(actor), "%s%s",
			 due[i].rule[0] ? "rule:" : "tollgated:expiry", due[i].rule);
		snprintf(reason, sizeof(reason), "%s: %s", due[i].key,
			 ended ? "the flood ended (the rule's episode closed)" : "expired");
		a.actor = actor;
		a.reason = reason;
		evid = with_announcement(NULL, due[i].key, NULL);
		a.evidence = evid;
		if (mit_act(e, &a, TG_EP_KEEP, &due[i], false) >= 0) {
			tg_exporter_count_action(e->exporter, due[i].rule, "withdraw");
			tg_info("withdraw %s (%s) by %s: %s", due[i].key, due[i].customer, actor,
				reason);
		}
		free(evid);
	}
}

/* After a restart: the mitigation table into the desired set (the speaker is reconciled
 * to it by the mitigator's thread: re-announced if gobgpd lost it, and nothing else). */
static void mit_restore(struct tg_enforcer *e, int64_t now)
{
	struct tg_mit_row *rows = NULL;
	struct tg_episode *eps = NULL;
	size_t n = 0, neps = 0;

	if (tg_state_mit_load(e->st, &rows, &n)) {
		tg_err("mitigation: cannot read the mitigation table of %s", e->state_path);
		return;
	}
	tg_state_episodes(e->st, &eps, &neps);
	for (size_t i = 0; i < n; i++) {
		struct tg_mit_entry en = {0};
		char err[256], proto[8] = "";

		if (rows[i].proto)
			snprintf(proto, sizeof(proto), "%d", rows[i].proto);
		if (tg_mit_parse(&en.m, rows[i].kind, rows[i].prefix, *proto ? proto : NULL,
				 *rows[i].sports ? rows[i].sports : NULL, rows[i].rate_bps, NULL,
				 err, sizeof(err))) {
			tg_warn("mitigation: %s in %s: %s (ignored)", rows[i].key, e->state_path,
				err);
			continue;
		}
		snprintf(en.key, sizeof(en.key), "%s", rows[i].key);
		snprintf(en.customer, sizeof(en.customer), "%s", rows[i].customer);
		snprintf(en.rule, sizeof(en.rule), "%s", rows[i].rule);
		en.started_ms = rows[i].started_ms;
		en.until_ms = rows[i].until_ms;
		en.until_mono = rows[i].until_ms - e->wall_off;
		en.with_episode = rows[i].with_episode != 0;
		en.timed = rows[i].with_episode != 1;
		en.audit_id = rows[i].audit_id;
		for (size_t k = 0; k < neps; k++)
			if (!strcmp(eps[k].customer, en.customer) && !strcmp(eps[k].rule, en.rule))
				en.episode_open = true;
		tg_mitigator_add(e->mit, &en);
	}
	if (n)
		tg_info("mitigation: %zu announcements from %s to keep in force", n, e->state_path);
	(void)now;
	free(rows);
	free(eps);
}

/* The engine's callback: one event, carried out (enforce.h's order). */
static void on_event(void *ctx, const struct tg_eng_event *ev)
{
	struct tg_enforcer *e = ctx;
	const char *id = id_of(e, ev->cust);
	const struct tg_rule *r = ev->rule >= 0 ? tg_engine_rule(e->eng, ev->rule) : NULL;
	const struct tg_enf_entry *cur;
	struct tg_enf_entry next = {};
	struct tg_event a = {};
	char actor[TG_ENF_ACTOR_LEN], reason[TG_ENF_REASON_LEN], *evid = NULL;
	enum tg_enf_op op = TG_ENF_KEEP;
	enum tg_ep_op ep = TG_EP_KEEP;
	bool manual = e->manual_actor && ev->rule < 0;

	if (!id)
		return;
	if (ev->kind == TG_EV_EPISODE_CLOSE) {
		if (r && tg_state_episode_close(e->st, id, r->name)) {
			tg_warn("%s: rule %s: cannot record the end of its episode: tried again "
				"at the next interval",
				id, r->name);
			tg_engine_refuse(e->eng);
		} else if (r) {
			tg_mitigator_episode_closed(e->mit, id, r->name);
		}
		return;
	}
	cur = tg_enf_find(&e->table, id);
	a.ts_ms = ev->at_ms + e->wall_off;
	a.customer = id;
	a.monitor = ev->monitor;
	a.rule = r ? r->name : NULL;
	if (manual) {
		snprintf(actor, sizeof(actor), "%s", e->manual_actor);
		snprintf(reason, sizeof(reason), "%s", e->manual_reason);
	} else if (r) {
		snprintf(actor, sizeof(actor), "rule:%s", r->name);
		snprintf(reason, sizeof(reason), "%s%s", r->reason,
			 ev->escalated ? " (escalated: repeated)" : "");
	} else {
		snprintf(actor, sizeof(actor), "tollgated:expiry");
		snprintf(reason, sizeof(reason), "expired%s%.480s", cur ? ": " : "",
			 cur ? cur->reason : "");
	}
	a.actor = actor;
	a.reason = reason;
	if (ev->kind == TG_EV_MITIGATE) {
		if (r)
			on_mitigate(e, ev, r, id, &a, reason, sizeof(reason));
		return;
	}
	switch (ev->kind) {
	case TG_EV_NOTIFY:
		a.action = "notify";
		ep = TG_EP_OPEN;
		break;
	case TG_EV_THROTTLE:
	case TG_EV_SUSPEND:
		next.state = ev->kind == TG_EV_SUSPEND ? TG_ST_SUSPENDED : TG_ST_THROTTLED;
		a.action = state_word(next.state, false);
		a.until_ms = ev->until_ms ? ev->until_ms + e->wall_off : 0;
		a.throttle_bps = ev->throttle_bps;
		if (r)
			ep = TG_EP_OPEN;
		if (ev->applied && !ev->monitor) {
			op = TG_ENF_SET;
			snprintf(next.id, sizeof(next.id), "%s", id);
			next.throttle_bps = ev->throttle_bps;
			next.since_ms = a.ts_ms;
			next.until_ms = a.until_ms;
			snprintf(next.rule, sizeof(next.rule), "%s", r ? r->name : "");
			snprintf(next.actor, sizeof(next.actor), "%s", actor);
			snprintf(next.reason, sizeof(next.reason), "%s", reason);
		} else if (!ev->monitor && cur) {
			/* recorded, but the customer is already at this level or above */
			size_t l = strlen(reason);

			snprintf(reason + l, sizeof(reason) - l, " (no change: already %s)",
				 tg_state_name(cur->state));
		}
		break;
	case TG_EV_LIFT:
		a.action = state_word(cur ? cur->state : TG_ST_SUSPENDED, true);
		if (r && !manual) { /* a rule's state lifting with its episode or duration */
			snprintf(reason, sizeof(reason), "%s: %.480s",
				 cur && cur->until_ms && a.ts_ms >= cur->until_ms
					 ? "expired"
					 : "condition cleared",
				 cur ? cur->reason : r->reason);
			snprintf(actor, sizeof(actor), "rule:%s", r->name);
		}
		if (!ev->monitor)
			op = TG_ENF_CLEAR;
		if (!cur && !ev->monitor)
			op = TG_ENF_KEEP; /* nothing recorded to lift: only the event */
		break;
	default:
		return;
	}
	if (r && ev->kind != TG_EV_LIFT)
		a.evidence = evid = evidence(e, ev, r);
	else if (manual)
		a.evidence = e->manual_evidence;
	/* a lift of a state another node set: this node lifts it too (its deadline or its
	 * rule), records it, and leaves notifying and writing it to that node */
	e->quiet = e->cluster && ev->kind == TG_EV_LIFT && !manual && cur &&
		   !tg_cluster_owns(e->cluster, tg_state_sqlite(e->st), id);
	if (act(e, &a, op, op == TG_ENF_SET ? &next : NULL, ep) < 0) {
		/* the record comes first: not recorded, not done; the engine undoes the
		 * customer's step, so the rule fires (or the state lifts) again next time */
		e->quiet = false;
		tg_engine_refuse(e->eng);
		free(evid);
		return;
	}
	e->quiet = false;
	if (!ev->monitor)
		tg_exporter_count_action(e->exporter, r ? r->name : "", a.action);
	/* a throttle or suspension in force: the customer's next packets as its evidence */
	if (op == TG_ENF_SET && e->capturer && e->cfg && e->cfg->capture.enabled) {
		int n = tg_capturer_arm(e->capturer, &e->cfg->capture, ev->cust,
					tg_state_last_evid(e->st), 0);

		if (n < 0)
			tg_warn("%s: %s: no packet capture (%s)", id, a.action,
				n == -EDQUOT ? "capture.per_day is used up today" : strerror(-n));
	}
	free(evid);
	if (!manual)
		tg_info("%s%s %s by %s: %s", ev->monitor ? "monitor (not done): " : "", a.action,
			id, actor, reason);
}

/* ---- configuration ------------------------------------------------------------------ */

static int copy_notify(struct tg_notify_cfg *dst, const struct tg_notify_cfg *src)
{
	*dst = *src;
	dst->exec = src->exec ? strdup(src->exec) : NULL;
	dst->webhook = src->webhook ? strdup(src->webhook) : NULL;
	if ((src->exec && !dst->exec) || (src->webhook && !dst->webhook)) {
		free_notify(dst);
		return -ENOMEM;
	}
	return 0;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_notify(const struct tg_notify_cfg *a, const struct tg_notify_cfg *b)
{
	return same_str(a->exec, b->exec) && same_str(a->webhook, b->webhook) &&
	       a->timeout_ms == b->timeout_ms && a->retry_min_ms == b->retry_min_ms &&
	       a->retry_max_ms == b->retry_max_ms;
}

/* Which counters the rules read: passed traffic, and which drop counters. */
static void rule_needs(struct tg_enforcer *e, const struct tg_enforce_cfg *ec)
{
	bool want[TG_DIR_NR][TG_R_NR] = {};

	e->need_pass = false;
	e->need_fanout = false;
	for (size_t i = 0; i < ec->nrules; i++) {
		int mt = ec->rules[i].cond.metric;

		if (mt <= TG_M_DOWNLOAD_UTIL)
			e->need_pass = true;
		else if (mt == TG_M_DROP_PPS || mt == TG_M_DOWNLOAD_DROP_PPS)
			for (int r = 0; r < TG_R_NR; r++)
				want[mt == TG_M_DROP_PPS ? TG_DIR_UP : TG_DIR_DOWN][r] = true;
		else if (mt == TG_M_FLOOD_PPS || mt == TG_M_DOWNLOAD_FLOOD_PPS)
			for (int fc = 0; fc < TG_FC_OWN_NR; fc++) /* what flood_pps sums */
				want[mt == TG_M_FLOOD_PPS ? TG_DIR_UP : TG_DIR_DOWN]
				    [tg_fclass_reasons[fc]] = true;
		else if (mt >= TG_M_REASON_UP && mt < TG_M_REASON_DOWN)
			want[TG_DIR_UP][mt - TG_M_REASON_UP] = true;
		else if (mt >= TG_M_REASON_DOWN && mt < TG_M_REASON_DOWN + TG_R_NR)
			want[TG_DIR_DOWN][mt - TG_M_REASON_DOWN] = true;
		else if (TG_M_IS_FANOUT(mt))
			e->need_fanout = true;
	}
	e->nd = 0;
	for (int d = 0; d < TG_DIR_NR; d++)
		for (int r = 0; r < TG_R_NR; r++)
			if (want[d][r]) {
				e->dd[e->nd] = (uint8_t)d;
				e->dr[e->nd++] = (uint8_t)r;
			}
}

/*
 * The rules each customer is exempt from (exempt: customers by id, plans), by position in
 * cfg->customers; NULL when no rule exempts anyone. An id not loaded is logged: it exempts
 * nobody (check-config says so too).
 */
static int exempt_masks(struct tg_enforcer *e, const struct tg_cfg *cfg)
{
	const struct tg_enforce_cfg *ec = &cfg->enforcement;
	uint64_t *plan_mask;
	bool any = false;

	free(e->exempt);
	e->exempt = NULL;
	for (size_t i = 0; i < ec->nrules; i++)
		any = any || ec->rules[i].nexempt_ids || ec->rules[i].nexempt_plans;
	if (!any)
		return 0;
	e->exempt = calloc(cfg->ncustomers ? cfg->ncustomers : 1, sizeof(*e->exempt));
	plan_mask = calloc(cfg->nplans ? cfg->nplans : 1, sizeof(*plan_mask));
	if (!e->exempt || !plan_mask) {
		free(plan_mask);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ec->nrules; i++)
		for (size_t k = 0; k < ec->rules[i].nexempt_plans; k++)
			plan_mask[ec->rules[i].exempt_plans[k]] |= 1ull << i;
	for (size_t c = 0; c < cfg->ncustomers; c++)
		e->exempt[c] = cfg->customers[c].plan >= 0 ? plan_mask[cfg->customers[c].plan] : 0;
	free(plan_mask);
	for (size_t i = 0; i < ec->nrules; i++) {
		const struct tg_rule *r = &ec->rules[i];

		for (size_t k = 0; k < r->nexempt_ids; k++) {
			long c = tg_config_customer(cfg, r->exempt_ids[k]);

			if (c < 0)
				tg_warn("%s:%d: rule %s: exempt.customers: '%s' is not loaded: it "
					"exempts nobody",
					cfg->path, r->exempt_line, r->name, r->exempt_ids[k]);
			else
				e->exempt[c] |= 1ull << i;
		}
	}
	return 0;
}

/* Tell the engine a customer's recorded state. */
/* A wall-clock time of the database on the engine's clock (remaining = t - wall now). A
 * deadline already past comes out at or before now: due at once. */
static int64_t to_mono(const struct tg_enforcer *e, int64_t wall_ms)
{
	int64_t m = wall_ms - e->wall_off;

	return m > 0 ? m : 1;
}

static int restore_one(struct tg_enforcer *e, uint32_t idx, const struct tg_enf_entry *x)
{
	struct tg_cust_state cs = {
		.state = x->state == TG_ST_SUSPENDED ? TG_CS_SUSPENDED : TG_CS_THROTTLED,
		.since_ms = to_mono(e, x->since_ms),
		.until_ms = x->until_ms ? to_mono(e, x->until_ms) : 0,
		.rule = x->rule[0] ? tg_engine_rule_index(e->eng, x->rule) : -1,
		.throttle_bps = x->throttle_bps,
	};

	return tg_engine_restore_state(e->eng, idx, &cs);
}

/* Rebuild the engine from the database: states, open episodes, past firings (now: on the
 * engine's clock; the database's wall-clock times are converted with wall_off). */
static void restore(struct tg_enforcer *e, int64_t now)
{
	struct tg_episode *ep = NULL;
	uint64_t window = 0;
	size_t n = 0, i, nst = 0, nep = 0, nfi = 0;

	for (i = 0; i < e->table.n; i++) {
		const struct tg_enf_entry *x = &e->table.e[i];
		uint32_t idx = idx_of(e, x->id);

		if (idx && !restore_one(e, idx, x))
			nst++;
	}
	if (!tg_state_episodes(e->st, &ep, &n)) {
		for (i = 0; i < n; i++) {
			uint32_t idx = idx_of(e, ep[i].customer);
			int r = tg_engine_rule_index(e->eng, ep[i].rule);

			if (idx && r >= 0 &&
			    !tg_engine_restore_episode(e->eng, idx, r, to_mono(e, ep[i].ts_ms)))
				nep++;
		}
		free(ep);
	}
	for (i = 0; i < tg_engine_nrules(e->eng); i++) {
		const struct tg_rule *r = tg_engine_rule(e->eng, (int)i);

		if (r->escalate_within_ns > window)
			window = r->escalate_within_ns;
	}
	if (window &&
	    !tg_state_firings(e->st, now + e->wall_off - (int64_t)(window / 1000000), &ep, &n)) {
		for (i = 0; i < n; i++) {
			uint32_t idx = idx_of(e, ep[i].customer);
			int r = tg_engine_rule_index(e->eng, ep[i].rule);

			if (idx && r >= 0 &&
			    !tg_engine_restore_firing(e->eng, idx, r, to_mono(e, ep[i].ts_ms)))
				nfi++;
		}
		free(ep);
	}
	if (nst || nep || nfi)
		tg_info("enforcement restored from %s: %zu states, %zu open episodes, %zu firings",
			e->state_path, nst, nep, nfi);
}

int tg_enforcer_configure(struct tg_enforcer *e, const struct tg_maps *m,
			  const struct tg_applied *app, char *err, size_t len)
{
	const struct tg_cfg *cfg = tg_applied_cfg(app);
	const struct tg_enforce_cfg *ec;
	uint32_t n = m->max_cust;
	int rc;

	if (!cfg) {
		snprintf(err, len, "no configuration applied");
		return -EINVAL;
	}
	ec = &cfg->enforcement;
	if (!e->eng) {
		e->eng = tg_engine_new(ec, on_event, e);
		if (!e->eng)
			return -ENOMEM;
	} else if ((rc = tg_engine_set_rules(e->eng, ec))) {
		snprintf(err, len, "enforcement rules: %s", strerror(-rc));
		return rc;
	}
	e->interval_ms = (int64_t)(ec->interval_ns / 1000000);
	e->retention_ms = (int64_t)(ec->retention_ns / 1000000);
	rule_needs(e, ec);
	free(e->exempt); /* by position in the configuration being replaced */
	e->exempt = NULL;

	e->wall_off = tg_now_ms() - tg_mono_ms(); /* restore_one converts with it */
	/* the customers by index; an index whose id changed (or left) is forgotten */
	if (n != e->max_cust) {
		free(e->pos);
		free(e->id_hash);
		e->pos = calloc(n, sizeof(*e->pos));
		e->id_hash = calloc(n, sizeof(*e->id_hash));
		e->max_cust = n;
		if (!e->pos || !e->id_hash) {
			e->max_cust = 0;
			return -ENOMEM;
		}
	}
	memset(e->pos, 0, n * sizeof(*e->pos));
	e->cfg = cfg;
	e->idx = tg_applied_idx(app);
	for (size_t c = 0; c < cfg->ncustomers; c++)
		if (e->idx[c] < n)
			e->pos[e->idx[c]] = (uint32_t)c + 1;
	for (uint32_t i = 1; i < n; i++) {
		const char *id = id_of(e, i);
		uint64_t h = id ? tg_hash(id, strlen(id)) | 1 : 0;
		const struct tg_enf_entry *x;

		if (e->id_hash[i] == h)
			continue;
		if (e->id_hash[i])
			tg_engine_forget(e->eng, i);
		e->id_hash[i] = h;
		/* a customer (back) in the configuration with a state of its own: the engine
		 * learns it (at the first call, restore() does this for everyone) */
		x = id && e->restored ? tg_enf_find(&e->table, id) : NULL;
		if (x)
			restore_one(e, i, x);
	}
	e->prev_ms = 0; /* the counters of indexes that changed hands are not comparable */
	rc = tg_quota_configure(e->quota, e->st, cfg, e->idx, n, tg_now_ms());
	if (rc) {
		snprintf(err, len, "volume quotas: %s", strerror(-rc));
		return rc;
	}
	if (tg_quota_active(e->quota)) /* the usage is counted whatever the rules read */
		e->need_pass = true;
	rc = exempt_masks(e, cfg);
	if (rc) {
		snprintf(err, len, "rule exemptions: %s (no customer is exempt)", strerror(-rc));
		return rc;
	}
	if (!e->restored) {
		restore(e, tg_mono_ms());
		e->restored = true;
	}
	rc = tg_mitigator_configure(e->mit, &cfg->mitigation, err, len);
	if (rc)
		return rc;
	if (!e->mit_restored) {
		mit_restore(e, tg_mono_ms());
		e->mit_restored = true;
	}

	if (!e->notifier || !same_notify(&e->notify, &cfg->notify)) {
		struct tg_notify_cfg copy;

		tg_notifier_stop(e->notifier);
		e->notifier = NULL;
		free_notify(&e->notify);
		rc = copy_notify(&copy, &cfg->notify);
		if (rc)
			return rc;
		e->notify = copy;
		rc = tg_notifier_start(e->state_path, &e->notify, &e->notifier, err, len);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- requests by hand ----------------------------------------------------------------- */

static void actor_of(const struct ucred *cred, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(cred->uid, &pw, tmp, sizeof(tmp), &res) || !res)
		snprintf(buf, len, "user:uid %u", (unsigned)cred->uid);
	else
		snprintf(buf, len, "user:%s (uid %u)", res->pw_name, (unsigned)cred->uid);
}

static json_t *error_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *error_reply(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{sb ss}", "ok", 0, "error", msg);
}

/*
 * mitigation_list, mitigation_announce {kind, address, proto?, source_ports?, rate?, for?,
 * reason} and mitigation_withdraw {key | kind + address..., reason}: by hand, through the
 * same policy, cap, record and speaker as a rule's.
 */
static json_t *mit_request(struct tg_enforcer *e, const char *cmd, const json_t *req,
			   const struct ucred *cred)
{
	const struct tg_mit_policy *pol = tg_mitigator_policy(e->mit);
	const char *reason = json_string_value(json_object_get(req, "reason"));
	const char *kind = json_string_value(json_object_get(req, "kind"));
	const char *addr = json_string_value(json_object_get(req, "address"));
	const char *proto = json_string_value(json_object_get(req, "proto"));
	const char *ports = json_string_value(json_object_get(req, "source_ports"));
	const char *rate = json_string_value(json_object_get(req, "rate"));
	const char *jfor = json_string_value(json_object_get(req, "for"));
	const char *key = json_string_value(json_object_get(req, "key"));
	char actor[TG_ENF_ACTOR_LEN], why[300], r[TG_ENF_REASON_LEN], *evid;
	const struct tg_customer *cu;
	struct tg_mit_entry en = {0};
	uint64_t rate_bps = 0, for_ns = 0;
	int64_t now = tg_mono_ms(), id;
	struct tg_event a = {0};
	const char *metric;
	bool put;

	if (!strcmp(cmd, "mitigation_list"))
		return json_pack("{sb so}", "ok", 1, "mitigation", tg_mitigator_json(e->mit));
	if (!tg_mitigator_enabled(e->mit))
		return error_reply("%s: mitigation is off: add a mitigation: section to the "
				   "configuration (the BGP speaker to announce through)",
				   cmd);
	if (!reason || !*reason)
		return error_reply("%s: \"reason\" (text for the audit log) is required", cmd);
	if (strlen(reason) > TG_REASON_MAX)
		return error_reply("%s: the reason is longer than %d bytes", cmd, TG_REASON_MAX);
	if (!e->cfg)
		return error_reply("the configuration is not loaded");
	actor_of(cred, actor, sizeof(actor));
	e->wall_off = tg_now_ms() - now;
	if (key && (kind || addr))
		return error_reply("%s: give the key, or the kind and address, not both", cmd);
	if (key) {
		if (strlen(key) >= TG_MIT_KEY_LEN)
			return error_reply("%s: no announcement '%.64s...'", cmd, key);
	} else {
		if (rate && (tg_parse_rate_bps(rate, &rate_bps) || !rate_bps))
			return error_reply("%s: rate '%.64s': a bit rate (10mbit, 1g)", cmd, rate);
		if (tg_mit_parse(&en.m, kind, addr, proto, ports, rate_bps, pol, why, sizeof(why)))
			return error_reply("%s: %s", cmd, why);
		tg_mit_key(&en.m, en.key);
		key = en.key;
	}
	if (!strcmp(cmd, "mitigation_withdraw")) {
		if (!tg_mitigator_get(e->mit, key, &en))
			return error_reply(
				"mitigation_withdraw: no announcement '%s' in force (see "
				"tollgate mitigation list)",
				key);
		snprintf(r, sizeof(r), "%s: %s", en.key, reason);
		a = (struct tg_event){.ts_ms = now + e->wall_off,
				      .customer = en.customer,
				      .action = "withdraw",
				      .actor = actor,
				      .reason = r};
		evid = with_announcement(NULL, en.key, NULL);
		a.evidence = evid;
		id = mit_act(e, &a, TG_EP_KEEP, &en, false);
		free(evid);
		if (id < 0)
			return error_reply("mitigation_withdraw: the state database refused the "
					   "record (%s): nothing changed",
					   e->last_err);
		tg_info("withdraw %s by %s: %s", en.key, actor, reason);
		return json_pack("{sb ss sI}", "ok", 1, "withdrawn", en.key, "audit_id",
				 (json_int_t)id);
	}
	if (strcmp(cmd, "mitigation_announce"))
		return error_reply("unknown command '%s'", cmd);
	if (json_object_get(req, "key"))
		return error_reply("mitigation_announce: give kind and address (and for flowspec "
				   "proto, source_ports, rate), not a key");
	if (jfor && (tg_parse_duration_ns(jfor, &for_ns) || !for_ns))
		return error_reply("mitigation_announce: bad duration '%.64s' (e.g. 30m, 2h)",
				   jfor);
	if ((int64_t)(for_ns / 1000000) > pol->max_duration_ms)
		return error_reply("mitigation_announce: for %s is longer than "
				   "mitigation.max_duration (%lld s)",
				   jfor, (long long)(pol->max_duration_ms / 1000));
	cu = owner_of(e->cfg, &en.m);
	if (!cu) {
		char p[64];

		tg_mitigator_count_refusal(e->mit, "policy");
		return error_reply("mitigation_announce: %s is outside the customers' own space: "
				   "refused",
				   tg_mit_prefix(&en.m, p));
	}
	if (mit_plan(e, cu, &en, NULL, now, for_ns ? now + (int64_t)(for_ns / 1000000) : 0, why,
		     sizeof(why), &metric)) {
		tg_mitigator_count_refusal(e->mit, metric);
		return error_reply("mitigation_announce: %s", why);
	}
	put = !pol->monitor;
	snprintf(r, sizeof(r), "%s%s", reason, put ? "" : " (monitor: not announced)");
	a = (struct tg_event){.ts_ms = now + e->wall_off,
			      .customer = cu->id,
			      .action = tg_mit_kind_name(en.m.kind),
			      .actor = actor,
			      .reason = r,
			      .monitor = !put,
			      .until_ms = put ? en.until_ms : 0};
	evid = with_announcement(NULL, en.key, NULL);
	a.evidence = evid;
	id = mit_act(e, &a, TG_EP_KEEP, &en, put);
	free(evid);
	if (id < 0)
		return error_reply("mitigation_announce: the state database refused the record "
				   "(%s): nothing announced",
				   e->last_err);
	if (put)
		tg_exporter_count_action(e->exporter, "", a.action);
	tg_info("%s %s for %s by %s: %s", a.action, en.key, cu->id, actor, r);
	return json_pack("{sb ss ss sb sI so}", "ok", 1, "announced", en.key, "customer", cu->id,
			 "monitor", !put, "audit_id", (json_int_t)id, "until",
			 tg_json_time(put ? en.until_ms : 0));
}

json_t *tg_enforcer_request(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
			    const char *cmd, const json_t *req, const struct ucred *cred,
			    bool *resync)
{
	const char *id = json_string_value(json_object_get(req, "customer"));
	const char *reason = json_string_value(json_object_get(req, "reason"));
	const json_t *jfor = json_object_get(req, "for");
	const bool suspend = !strcmp(cmd, "suspend");
	char actor[TG_ENF_ACTOR_LEN];
	uint64_t for_ns = 0;

	if (!strncmp(cmd, "mitigation_", 11)) {
		e->m = m;
		e->app = app;
		e->resync = resync;
		return mit_request(e, cmd, req, cred);
	}
	if (jfor && (!json_is_string(jfor) || !suspend))
		return error_reply("%s: \"for\" is a duration (\"30m\", \"1d\") of a suspension",
				   cmd);
	if (jfor && (tg_parse_duration_ns(json_string_value(jfor), &for_ns) || !for_ns))
		return error_reply("suspend: bad duration '%.64s' (e.g. 30m, 12h, 7d)",
				   json_string_value(jfor));
	actor_of(cred, actor, sizeof(actor));
	return tg_enforcer_manual(e, m, app, suspend, id, reason, for_ns, actor, NULL, resync);
}

static json_t *manual(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app, int state,
		      uint64_t bps, const char *id, const char *reason, uint64_t for_ns,
		      const char *actor, const char *evidence, bool *resync);

json_t *tg_enforcer_manual(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
			   bool suspend, const char *id, const char *reason, uint64_t for_ns,
			   const char *actor, const char *evidence, bool *resync)
{
	return manual(e, m, app, suspend ? TG_CS_SUSPENDED : TG_CS_ACTIVE, 0, id, reason, for_ns,
		      actor, evidence, resync);
}

json_t *tg_enforcer_manual_throttle(struct tg_enforcer *e, struct tg_maps *m,
				    struct tg_applied *app, uint64_t bps, const char *id,
				    const char *reason, uint64_t for_ns, const char *actor,
				    const char *evidence, bool *resync)
{
	if (!bps)
		return error_reply("throttle: a rate above 0 is required");
	return manual(e, m, app, TG_CS_THROTTLED, bps, id, reason, for_ns, actor, evidence, resync);
}

static json_t *manual(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app, int state,
		      uint64_t bps, const char *id, const char *reason, uint64_t for_ns,
		      const char *actor, const char *evidence, bool *resync)
{
	const bool suspend = state != TG_CS_ACTIVE;
	const char *cmd = state == TG_CS_SUSPENDED   ? "suspend"
			  : state == TG_CS_THROTTLED ? "throttle"
						     : "unsuspend";
	int64_t now = tg_mono_ms(); /* the engine's clock; --for runs on it */
	uint32_t idx;
	json_t *evs, *reply;
	int rc, err;

	if (!id || !*id)
		return error_reply("%s: \"customer\" (an id) is required", cmd);
	if (strlen(id) >= TG_ID_LEN)
		return error_reply("%s: customer id longer than %d bytes", cmd, TG_ID_LEN - 1);
	if (!reason || !*reason)
		return error_reply("%s: \"reason\" (text for the audit log) is required", cmd);
	if (strlen(reason) > TG_REASON_MAX)
		return error_reply("%s: the reason is longer than %d bytes", cmd, TG_REASON_MAX);
	if (!actor || !*actor || strlen(actor) >= TG_ENF_ACTOR_LEN)
		return error_reply("%s: an actor (who asks) of 1 to %d bytes is required", cmd,
				   TG_ENF_ACTOR_LEN - 1);
	if (evidence) {
		json_t *ej = json_loads(evidence, 0, NULL);
		bool obj = json_is_object(ej);

		json_decref(ej);
		if (!obj)
			return error_reply("%s: the evidence must be a JSON object", cmd);
	}
	if (!e->eng || !e->cfg)
		return error_reply("the configuration is not loaded");
	idx = idx_of(e, id);
	if (!idx)
		return error_reply("no customer '%s' in %s", id, e->cfg->customers_path);
	if (!suspend && !tg_enf_find(&e->table, id))
		return error_reply("unsuspend: customer '%s' is active: nothing to lift", id);

	e->m = m;
	e->app = app;
	e->resync = resync;
	e->manual_actor = actor;
	e->manual_reason = reason;
	e->manual_evidence = evidence;
	e->last_audit = 0;
	e->wall_off = tg_now_ms() - now;
	rc = tg_engine_manual(e->eng, idx, state, bps,
			      for_ns ? now + (int64_t)(for_ns / 1000000) : 0, now);
	e->manual_actor = e->manual_reason = e->manual_evidence = NULL;
	if (rc == -ECANCELED)
		return error_reply("%s: the state database refused the record (%s): nothing "
				   "changed; free space or the lock on %s and try again",
				   cmd, e->last_err, e->state_path);
	if (rc)
		return error_reply("%s: %s", cmd, strerror(-rc));
	if (!e->last_audit)
		return error_reply("%s: the state database refused the record: nothing changed",
				   cmd);
	tg_info("%s %s by %s: %s", cmd, id, actor, reason);
	evs = tg_state_events(e->st, id, now + e->wall_off, 1, &err);
	reply = json_pack("{sb so}", "ok", 1, "event",
			  json_array_size(evs) ? json_incref(json_array_get(evs, 0)) : json_null());
	json_decref(evs);
	return reply;
}

json_t *tg_enforcer_notify(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
			   const char *id, const char *reason, const char *actor,
			   const char *evidence)
{
	struct tg_event a = {.ts_ms = tg_now_ms(),
			     .customer = id,
			     .action = "notify",
			     .actor = actor,
			     .reason = reason,
			     .evidence = evidence};
	json_t *evs, *reply;
	int64_t rc;
	int err;

	if (!id || !*id || strlen(id) >= TG_ID_LEN)
		return error_reply("notify: a customer id of 1 to %d bytes is required",
				   TG_ID_LEN - 1);
	if (!reason || !*reason || strlen(reason) > TG_REASON_MAX)
		return error_reply("notify: a reason of 1 to %d bytes is required", TG_REASON_MAX);
	if (!actor || !*actor || strlen(actor) >= TG_ENF_ACTOR_LEN)
		return error_reply("notify: an actor of 1 to %d bytes is required",
				   TG_ENF_ACTOR_LEN - 1);
	if (!e->cfg)
		return error_reply("the configuration is not loaded");
	if (!idx_of(e, id))
		return error_reply("no customer '%.64s' in %s", id, e->cfg->customers_path);
	e->m = m;
	e->app = app;
	rc = act(e, &a, TG_ENF_KEEP, NULL, TG_EP_KEEP); /* recorded, notified, shared */
	if (rc < 0)
		return error_reply("notify: the state database refused the record (%s): nothing "
				   "changed",
				   e->last_err);
	tg_info("notify %s by %s: %s", id, actor, reason);
	evs = tg_state_events(e->st, id, a.ts_ms, 1, &err);
	reply = json_pack("{sb so}", "ok", 1, "event",
			  json_array_size(evs) ? json_incref(json_array_get(evs, 0)) : json_null());
	json_decref(evs);
	return reply;
}

/* ---- evidence samples by hand -------------------------------------------------------- */

void tg_enforcer_set_capturer(struct tg_enforcer *e, struct tg_capturer *c)
{
	e->capturer = c;
}

json_t *tg_enforcer_capture(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
			    const json_t *req, const struct ucred *cred)
{
	const char *id = json_string_value(json_object_get(req, "customer"));
	const char *count = json_string_value(json_object_get(req, "count"));
	const char *reason = json_string_value(json_object_get(req, "reason"));
	char actor[TG_ENF_ACTOR_LEN], evidence[64], evid[TG_EVID_LEN], *end;
	struct tg_event a = {};
	unsigned long n = 0;
	long room;
	int64_t now = tg_now_ms();
	uint32_t idx;
	json_t *evs, *reply;
	int64_t rc;
	int armed, err;

	if (!e->cfg)
		return error_reply("the configuration is not loaded");
	if (!e->cfg->capture.enabled)
		return error_reply("capture: capture.enabled is false in %s: packet captures are "
				   "switched off",
				   e->cfg->path);
	if (!e->capturer)
		return error_reply("capture: tollgated could not open the capture ring buffer "
				   "(see its log at start)");
	if (!id || !*id)
		return error_reply("capture: \"customer\" (an id) is required");
	if (count) {
		errno = 0;
		n = strtoul(count, &end, 10);
		if (errno || *end || !n || n > TG_CAP_MAX_PACKETS || count[0] == '-')
			return error_reply("capture: count '%.32s': a number of packets, 1..%u",
					   count, TG_CAP_MAX_PACKETS);
	}
	idx = idx_of(e, id);
	if (!idx)
		return error_reply("no customer '%.64s' in %s", id, e->cfg->customers_path);
	room = tg_capturer_room(e->capturer, &e->cfg->capture);
	if (room == -EDQUOT)
		return error_reply("capture: capture.per_day (%u packets) is used up today (UTC): "
				   "nothing armed",
				   e->cfg->capture.per_day);
	if (room < 0)
		return error_reply("capture: %s: nothing armed", strerror((int)-room));
	if (!n)
		n = e->cfg->capture.packets;
	if ((long)n > room)
		n = (unsigned long)room;
	actor_of(cred, actor, sizeof(actor));
	snprintf(evidence, sizeof(evidence), "{\"packets\": %lu}", n);
	a.ts_ms = now;
	a.customer = id;
	a.action = "capture";
	a.actor = actor;
	a.reason = reason && *reason ? reason : "packet capture by hand";
	a.evidence = evidence;
	e->m = m;
	e->app = app;
	/* recorded, not notified (nor shared): a capture is evidence for an investigation,
	 * which a notification to the customer's contacts would give away */
	e->quiet = true;
	rc = act(e, &a, TG_ENF_KEEP, NULL, TG_EP_KEEP);
	e->quiet = false;
	if (rc < 0)
		return error_reply("capture: the state database refused the record (%s): "
				   "nothing armed",
				   e->last_err);
	snprintf(evid, sizeof(evid), "%s", tg_state_last_evid(e->st));
	armed = tg_capturer_arm(e->capturer, &e->cfg->capture, idx, evid, (uint32_t)n);
	if (armed < 0)
		return error_reply("capture: recorded as event %s, but not armed: %s", evid,
				   strerror(-armed));
	tg_info("capture of %s (%d packets) by %s: event %s", id, armed, actor, evid);
	evs = tg_state_events(e->st, id, now, 1, &err);
	reply = json_pack("{sb so si}", "ok", 1, "event",
			  json_array_size(evs) ? json_incref(json_array_get(evs, 0)) : json_null(),
			  "packets", armed);
	json_decref(evs);
	return reply;
}

/* ---- the cluster ------------------------------------------------------------------------ */

void tg_enforcer_set_cluster(struct tg_enforcer *e, struct tg_cluster *cl)
{
	e->cluster = cl;
}

struct tg_statedb *tg_enforcer_statedb(struct tg_enforcer *e)
{
	return e->st;
}

int tg_enforcer_apply(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
		      const struct tg_cluster_change *ch, bool *resync)
{
	const char *id = ch->ev.customer;
	uint32_t idx;
	int64_t aid;

	e->m = m;
	e->app = app;
	e->resync = resync;
	e->wall_off = tg_now_ms() - tg_mono_ms();
	e->remote = ch;
	aid = act(e, &ch->ev, ch->op, ch->op == TG_ENF_SET ? &ch->next : NULL, TG_EP_KEEP);
	e->remote = NULL;
	if (aid < 0)
		return (int)aid;
	idx = e->eng ? idx_of(e, id) : 0;
	if (idx && ch->op == TG_ENF_SET) { /* the engine lifts it at its deadline */
		const struct tg_enf_entry *x = tg_enf_find(&e->table, id);

		if (x)
			restore_one(e, idx, x);
	} else if (idx && ch->op == TG_ENF_CLEAR) {
		struct tg_cust_state act0 = {.state = TG_CS_ACTIVE, .rule = -1};

		tg_engine_restore_state(e->eng, idx, &act0);
	} else if (idx && ch->ev.rule && !ch->ev.monitor &&
		   (!strcmp(ch->ev.action, "notify") || !strcmp(ch->ev.action, "throttle") ||
		    !strcmp(ch->ev.action, "suspend"))) {
		/* another node's firing counts for escalation here too */
		int r = tg_engine_rule_index(e->eng, ch->ev.rule);

		if (r >= 0)
			tg_engine_restore_firing(e->eng, idx, r, to_mono(e, ch->ev.ts_ms));
	}
	/* the time from the decision on its node to here (the nodes' clocks agree to NTP's
	 * accuracy; in the lab they are one clock): the propagation README states */
	if (ch->op != TG_ENF_KEEP)
		tg_info("cluster: %s %s by %s on %s, applied %lld ms after it was decided: %s",
			ch->ev.action, id, ch->ev.actor, ch->ev.origin,
			(long long)(tg_now_ms() - ch->ev.ts_ms), ch->ev.reason);
	return 0;
}

/* ---- every interval ------------------------------------------------------------------ */

static double delta(uint64_t now, uint64_t before)
{
	return now >= before ? (double)(now - before) : 0.0; /* a cleared index restarts */
}

/*
 * Read the counters the rules need and give every loaded customer's rates to the engine.
 * Passed traffic comes from the per-CPU tg_cstat summed by the CPUs in the kernel
 * (tg_read_cust_all: 32 bytes a customer to copy; else in batches, 32 bytes x CPUs);
 * drops from the mmapped tg_cdrop plus the CPUs' coalescing slots (tg_pend_count, the one
 * reader the CLI, the API and /metrics use too: a low drop rate must not move in steps of
 * TG_DCACHE_FLUSH_PKTS), only the counters the rules read. A sample holds only what the
 * rules read: the other rates are 0.
 */
static void evaluate(struct tg_enforcer *e, struct tg_maps *m, int64_t now)
{
	uint32_t n = e->max_cust;
	bool have_prev;
	double dt;

	uint32_t fo_epoch = 0;

	if (!e->cfg || !n || (!e->need_pass && !e->nd && !e->need_fanout))
		return;
	if (e->need_fanout && (tg_maps_map_fanout(m) || tg_fanout_epoch(m, &fo_epoch))) {
		tg_warn("enforcement: cannot read tg_fanout: %s", strerror(errno));
		return;
	}
	if (e->nd && tg_maps_map_cdrop(m)) {
		tg_warn("enforcement: cannot mmap tg_cdrop: %s", strerror(errno));
		return;
	}
	if (e->need_pass && !e->pass) {
		e->pass = calloc(n, sizeof(*e->pass));
		e->pass_prev = calloc(n, sizeof(*e->pass_prev));
	}
	if (e->nd != e->nd_prev) { /* other rules: the drop counters are not comparable */
		free(e->drops_prev);
		e->drops_prev = e->nd ? calloc((size_t)n * e->nd, sizeof(uint64_t)) : NULL;
		e->nd_prev = e->nd;
		e->prev_ms = 0;
	}
	if (e->nd && !e->pend)
		e->pend = malloc(sizeof(*e->pend));
	if ((e->need_pass && (!e->pass || !e->pass_prev)) ||
	    (e->nd && (!e->drops_prev || !e->pend))) {
		tg_err("enforcement: out of memory for the counters of %u customers", n);
		e->nd_prev = 0;
		return;
	}
	if (e->need_pass && tg_read_cust_all(m, n, e->pass)) {
		tg_warn("enforcement: cannot read the counters: %s", strerror(errno));
		return;
	}
	tg_quota_account(e->quota, e->pass, now + e->wall_off);
	if (e->nd && tg_pend_read(m, e->pend))
		tg_warn("enforcement: cannot read the coalescing slots: drop rates lag by them");
	have_prev = e->prev_ms && now > e->prev_ms;
	dt = have_prev ? (double)(now - e->prev_ms) / 1000.0 : 1.0;
	for (size_t c = 0; c < e->cfg->ncustomers; c++) {
		const struct tg_customer *cu = &e->cfg->customers[c];
		uint32_t i = e->idx[c];
		uint64_t *prev = e->nd ? &e->drops_prev[(size_t)i * e->nd] : NULL;
		struct tg_sample s = {};

		for (unsigned int k = 0; k < e->nd; k++) {
			uint64_t v = tg_pend_count(m, e->pend, i, e->dd[k], e->dr[k], 0);

			s.drop_pps[e->dd[k]][e->dr[k]] = delta(v, prev[k]) / dt;
			prev[k] = v;
		}
		if (!have_prev)
			continue;
		tg_quota_pct(e->quota, c, s.quota_pct);
		s.exempt = e->exempt ? e->exempt[c] : 0;
		if (e->need_fanout) {
			struct tg_fanout_est fo;

			tg_fanout_estimate(&m->fanout_mm[i], fo_epoch, &fo);
			s.fanout_hosts = fo.hosts;
			s.fanout_ports = fo.ports;
			s.smtp_conns = fo.smtp_conns;
			s.smtp_hosts = fo.smtp_hosts;
			s.tcp_syns = fo.syns;
			s.unanswered_syns = fo.unanswered;
		}
		for (int d = 0; d < TG_DIR_NR && e->need_pass; d++) {
			s.bps[d] = delta(e->pass[i].bytes[d], e->pass_prev[i].bytes[d]) * 8 / dt;
			s.pps[d] = delta(e->pass[i].pkts[d], e->pass_prev[i].pkts[d]) / dt;
			if (cu->dir[d].rate_bps)
				s.util[d] = s.bps[d] * 100.0 / (double)cu->dir[d].rate_bps;
		}
		e->sample = &s;
		e->sample_dt_s = dt;
		e->sample_ms = now + e->wall_off; /* wall clock, as the evidence says */
		if (tg_engine_eval(e->eng, i, &s, now))
			tg_warn("enforcement: out of memory evaluating %s", cu->id);
		e->sample = NULL;
	}
	if (e->need_pass) { /* this interval's counters are the next one's base */
		struct tg_cstat *t = e->pass_prev;

		e->pass_prev = e->pass;
		e->pass = t;
	}
	e->prev_ms = now;
}

/* Customers in the table that are not loaded: the engine does not know them. Their
 * deadlines are read on the wall clock (nothing of theirs is in the data plane; one that
 * is loaded again gets its deadline converted to the engine's clock, restore_one). */
static void expire_unloaded(struct tg_enforcer *e, int64_t now)
{
	size_t i = 0;

	while (i < e->table.n) {
		const struct tg_enf_entry *x = &e->table.e[i];
		char id[TG_ID_LEN], reason[TG_ENF_REASON_LEN + 16];
		struct tg_event ev = {};

		if (!x->until_ms || x->until_ms > now + e->wall_off || idx_of(e, x->id)) {
			i++;
			continue;
		}
		snprintf(id, sizeof(id), "%s", x->id);
		snprintf(reason, sizeof(reason), "expired: %s", x->reason);
		ev.ts_ms = now + e->wall_off;
		ev.customer = id;
		ev.action = state_word(x->state, true);
		ev.actor = "tollgated:expiry";
		ev.reason = reason;
		if (act(e, &ev, TG_ENF_CLEAR, NULL, TG_EP_KEEP) < 0)
			i++; /* stays: tried again at the next interval */
	}
}

static double mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* What an interval cost: a warning when it took longer than the interval itself. */
static void account(struct tg_enforcer *e, double t0)
{
	double took = mono_ms() - t0;

	e->tick_last_ms = took;
	e->tick_sum_ms += took;
	if (took > e->tick_max_ms)
		e->tick_max_ms = took;
	if (took > (double)e->interval_ms)
		tg_warn("enforcement: an interval's work took %.0f ms, longer than the interval "
			"(%lld ms): raise enforcement.interval",
			took, (long long)e->interval_ms);
	if (++e->nticks == TG_TICK_REPORT) {
		if (tg_log_verbose)
			tg_info("enforcement: %u intervals over %zu customers: %.1f ms each on "
				"average, %.1f ms at most",
				e->nticks, e->cfg ? e->cfg->ncustomers : 0,
				e->tick_sum_ms / e->nticks, e->tick_max_ms);
		e->nticks = 0;
		e->tick_sum_ms = e->tick_max_ms = 0;
	}
}

void tg_enforcer_tick(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
		      int64_t now_ms, bool *resync)
{
	double t0 = mono_ms();

	if (!e->eng)
		return;
	e->m = m;
	e->app = app;
	e->resync = resync;
	e->wall_off = tg_now_ms() - now_ms;
	/* another writer synced (indexes may have moved): with rules that read counters, the
	 * rates of this interval would be read at the wrong indexes; resynchronise first
	 * (expiries still go on: act() checks). Without such rules nothing is read: the next
	 * write or reload finds out. */
	if ((e->need_pass || e->nd) && app && tg_applied_current(m, app) == -ESTALE)
		*resync = true;
	else
		evaluate(e, m, now_ms);
	/* the fan-out sketches' next interval, once every customer's was read (a customer
	 * read early loses what it contacts between its read and this, a few ms at most) */
	if (m && tg_fanout_advance(m) && !e->fanout_warned) {
		e->fanout_warned = true;
		tg_warn("enforcement: cannot start the fan-out sketches' next interval: %s",
			strerror(errno));
	}
	if (tg_engine_expire(e->eng, now_ms))
		tg_warn("enforcement: out of memory lifting expired states");
	expire_unloaded(e, now_ms);
	mit_expire(e, now_ms);
	tg_quota_flush(e->quota, e->st, now_ms + e->wall_off, false);
	if (e->retention_ms &&
	    (!e->last_purge_ms || now_ms - e->last_purge_ms >= TG_PURGE_EVERY_MS)) {
		long a = tg_state_purge(e->st, now_ms + e->wall_off - e->retention_ms);
		int o = tg_outbox_purge(tg_state_sqlite(e->st),
					now_ms + e->wall_off - e->retention_ms);

		e->last_purge_ms = now_ms;
		tg_state_quota_purge(e->st, now_ms + e->wall_off - e->retention_ms);
		if (a > 0 || o > 0)
			tg_info("retention: %ld audit rows and %d delivered notifications older "
				"than %lld days purged",
				a > 0 ? a : 0, o > 0 ? o : 0,
				(long long)(e->retention_ms / 86400000));
	}
	account(e, t0);
}

json_t *tg_enforcer_health(const struct tg_enforcer *e)
{
	struct tg_outbox_stats ob = {};
	size_t susp = 0, thr = 0;
	json_t *o;

	for (size_t i = 0; i < e->table.n; i++) {
		if (e->table.e[i].state == TG_ST_SUSPENDED)
			susp++;
		else
			thr++;
	}
	o = json_pack("{s{sI sI sI sI sf} s{sb sb}}", "enforcement", "rules",
		      (json_int_t)(e->eng ? tg_engine_nrules(e->eng) : 0), "suspended",
		      (json_int_t)susp, "throttled", (json_int_t)thr, "interval_ms",
		      (json_int_t)e->interval_ms, "last_interval_work_ms", e->tick_last_ms,
		      "notify", "exec", e->notify.exec != NULL, "webhook",
		      e->notify.webhook != NULL);
	if (o && e->cluster)
		json_object_set_new(o, "cluster", tg_cluster_health(e->cluster));
	if (o && !tg_outbox_stats(tg_state_sqlite(e->st), &ob)) {
		json_t *n = json_object_get(o, "notify");

		json_object_set_new(n, "pending", json_integer((json_int_t)ob.pending));
		json_object_set_new(n, "delivered", json_integer((json_int_t)ob.delivered));
		json_object_set_new(n, "failed_attempts",
				    json_integer((json_int_t)ob.failed_attempts));
	}
	return o;
}

void tg_enforcer_set_exporter(struct tg_enforcer *e, struct tg_exporter *x)
{
	tg_exporter_set_mitigator(x, e->mit);
	tg_exporter_set_quota(x, e->quota);
	e->exporter = x;
}
