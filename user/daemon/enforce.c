// SPDX-License-Identifier: GPL-2.0-only
/*
 * enforce.c - tollgated's enforcement: rates to the rule engine, its events (and the
 * control socket's requests) to the audit log, the data plane and the notifications.
 * See enforce.h for the order every action follows.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "enforce.h"
#include "engine.h"
#include "exporter.h"
#include "lib/lib.h"
#include "notify.h"

#define TG_REASON_MAX 400		  /* characters of a manual reason */
#define TG_PURGE_EVERY_MS (3600 * 1000ll) /* the retention purge runs hourly */

struct tg_enforcer {
	struct tg_statedb *st;
	char *state_path;
	struct tg_enf_table table; /* the customers that are not active, by id */
	struct tg_enf_view view;   /* of table, for the syncs */
	struct tg_engine *eng;
	struct tg_notifier *notifier;
	struct tg_exporter *exporter; /* counts the actions; not owned */
	struct tg_notify_cfg notify;  /* what the notifier was started with (strings owned) */
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

	/* the context of the engine's callback */
	struct tg_maps *m;
	struct tg_applied *app;
	bool *resync;
	const struct tg_sample *sample;
	double sample_dt_s;			  /* the interval the sample's rates are over */
	int64_t sample_ms;			  /* when its counters were read (wall clock, ms) */
	const char *manual_actor, *manual_reason; /* a request by hand is being carried out */
	int64_t last_audit;			  /* audit id of the last event recorded */
	char last_err[64];			  /* why the last record failed */
	/* what the intervals cost, logged every TG_TICK_REPORT of them with -v */
	double tick_sum_ms, tick_max_ms, tick_last_ms;
	unsigned int nticks;
};

#define TG_TICK_REPORT 10

static int queue(sqlite3 *db, int64_t audit_id, const char *json, void *ctx)
{
	struct tg_enforcer *e = ctx;

	return tg_outbox_enqueue(db, &e->notify, audit_id, json, tg_now_ms());
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
	free_notify(&e->notify);
	tg_engine_free(e->eng);
	tg_enf_free(&e->table);
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
static int64_t act(struct tg_enforcer *e, const struct tg_event *ev, enum tg_enf_op op,
		   const struct tg_enf_entry *next, enum tg_ep_op ep)
{
	int64_t id;
	int err = 0, lock;

	/*
	 * Under the writers' lock from the commit to the record: `tollgate customer show`
	 * (which reads both under it) never sees one without the other, and no other writer
	 * can move the customer's index between our check and our write.
	 */
	lock = e->m ? tg_maps_lock(e->m) : -1;
	id = tg_state_act(e->st, ev, op, next, ep, queue, e);
	if (id < 0) {
		tg_maps_unlock(lock);
		snprintf(e->last_err, sizeof(e->last_err), "%s", strerror((int)-id));
		tg_err("%s: %s not recorded (state database: %s): nothing changed", ev->customer,
		       ev->action, strerror((int)-id));
		return id;
	}
	e->last_audit = id;
	tg_notifier_kick(e->notifier);
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
	if (err) {
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
		json_object_set_new(o, "rates", rates);
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
	if (act(e, &a, op, op == TG_ENF_SET ? &next : NULL, ep) < 0) {
		/* the record comes first: not recorded, not done; the engine undoes the
		 * customer's step, so the rule fires (or the state lifts) again next time */
		tg_engine_refuse(e->eng);
		free(evid);
		return;
	}
	if (!ev->monitor)
		tg_exporter_count_action(e->exporter, r ? r->name : "", a.action);
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
	static const int floods[] = {TG_R_FLOOD_SYN, TG_R_FLOOD_UDP, TG_R_FLOOD_ICMP,
				     TG_R_FLOOD_FRAG};
	bool want[TG_DIR_NR][TG_R_NR] = {};

	e->need_pass = false;
	for (size_t i = 0; i < ec->nrules; i++) {
		int mt = ec->rules[i].cond.metric;

		if (mt <= TG_M_DOWNLOAD_UTIL)
			e->need_pass = true;
		else if (mt == TG_M_DROP_PPS || mt == TG_M_DOWNLOAD_DROP_PPS)
			for (int r = 0; r < TG_R_NR; r++)
				want[mt == TG_M_DROP_PPS ? TG_DIR_UP : TG_DIR_DOWN][r] = true;
		else if (mt == TG_M_FLOOD_PPS || mt == TG_M_DOWNLOAD_FLOOD_PPS)
			for (size_t f = 0; f < sizeof(floods) / sizeof(floods[0]); f++)
				want[mt == TG_M_FLOOD_PPS ? TG_DIR_UP : TG_DIR_DOWN][floods[f]] =
					true;
		else if (mt >= TG_M_REASON_UP && mt < TG_M_REASON_DOWN)
			want[TG_DIR_UP][mt - TG_M_REASON_UP] = true;
		else if (mt >= TG_M_REASON_DOWN && mt < TG_M_NR)
			want[TG_DIR_DOWN][mt - TG_M_REASON_DOWN] = true;
	}
	e->nd = 0;
	for (int d = 0; d < TG_DIR_NR; d++)
		for (int r = 0; r < TG_R_NR; r++)
			if (want[d][r]) {
				e->dd[e->nd] = (uint8_t)d;
				e->dr[e->nd++] = (uint8_t)r;
			}
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
	if (!e->restored) {
		restore(e, tg_mono_ms());
		e->restored = true;
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
	if (jfor && (!json_is_string(jfor) || !suspend))
		return error_reply("%s: \"for\" is a duration (\"30m\", \"1d\") of a suspension",
				   cmd);
	if (jfor && (tg_parse_duration_ns(json_string_value(jfor), &for_ns) || !for_ns))
		return error_reply("suspend: bad duration '%.64s' (e.g. 30m, 12h, 7d)",
				   json_string_value(jfor));
	if (!e->eng || !e->cfg)
		return error_reply("the configuration is not loaded");
	idx = idx_of(e, id);
	if (!idx)
		return error_reply("no customer '%s' in %s", id, e->cfg->customers_path);
	if (!suspend && !tg_enf_find(&e->table, id))
		return error_reply("unsuspend: customer '%s' is active: nothing to lift", id);

	actor_of(cred, actor, sizeof(actor));
	e->m = m;
	e->app = app;
	e->resync = resync;
	e->manual_actor = actor;
	e->manual_reason = reason;
	e->last_audit = 0;
	e->wall_off = tg_now_ms() - now;
	rc = tg_engine_manual(e->eng, idx, suspend ? TG_CS_SUSPENDED : TG_CS_ACTIVE, 0,
			      for_ns ? now + (int64_t)(for_ns / 1000000) : 0, now);
	e->manual_actor = e->manual_reason = NULL;
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

/* ---- every interval ------------------------------------------------------------------ */

static double delta(uint64_t now, uint64_t before)
{
	return now >= before ? (double)(now - before) : 0.0; /* a cleared index restarts */
}

/*
 * Read the counters the rules need and give every loaded customer's rates to the engine.
 * Passed traffic comes from the per-CPU tg_cstat in batches (32 bytes x CPUs a customer);
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

	if (!e->cfg || !n || (!e->need_pass && !e->nd))
		return;
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
	if (tg_engine_expire(e->eng, now_ms))
		tg_warn("enforcement: out of memory lifting expired states");
	expire_unloaded(e, now_ms);
	if (e->retention_ms &&
	    (!e->last_purge_ms || now_ms - e->last_purge_ms >= TG_PURGE_EVERY_MS)) {
		long a = tg_state_purge(e->st, now_ms + e->wall_off - e->retention_ms);
		int o = tg_outbox_purge(tg_state_sqlite(e->st),
					now_ms + e->wall_off - e->retention_ms);

		e->last_purge_ms = now_ms;
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
	e->exporter = x;
}
