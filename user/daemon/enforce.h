/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * enforce.h - tollgated's enforcement: every interval it reads the customers' counters,
 * feeds their rates to the rule engine (engine.h), and carries out what comes back - and
 * what the control socket asks by hand (suspend, unsuspend) - in one order:
 *
 *   1. the audit row, the customer's new state (state.db's enforcement table), the open
 *      episode and the notifications it queues, in one transaction, committed;
 *   2. the customer's data plane record (suspended, throttled, active);
 *   3. the in-memory mirror of the enforcement table, which every sync writes into the
 *      records (tg_enforcer_view), and a kick to the notification threads (notify.h).
 *
 * A crash between 1 and 2 is repaired at start, when the sync writes every record from
 * the database; the engine is rebuilt from the database (states, open episodes, firings)
 * so nothing fires or is notified twice.
 *
 * Included by: daemon.h (the door), enforce.c and tollgated.c.
 */
#ifndef TG_ENFORCE_H
#define TG_ENFORCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <jansson.h>

#include "datapath/datapath.h"
#include "reload/reload.h"
#include "state/state.h"
#include "lib/lib.h"

struct tg_enforcer;

/* Open state_path and read the enforcement table. 0 or -errno with the reason in err. */
int tg_enforcer_open(const char *state_path, struct tg_enforcer **out, char *err, size_t len);
void tg_enforcer_close(struct tg_enforcer *e);

/* The customers that are not active. */
const struct tg_enf_table *tg_enforcer_table(const struct tg_enforcer *e);
/* What every sync writes into the records (tg_apply, tg_reload): a view of that table. */
const struct tg_enf_view *tg_enforcer_view(const struct tg_enforcer *e);

/*
 * After the first sync and after every reload: the rules, the notification targets and
 * the customers of the configuration app holds. The first call rebuilds the engine from
 * the database. 0 or -errno with the reason in err (then enforcement goes on as before).
 */
int tg_enforcer_configure(struct tg_enforcer *e, const struct tg_maps *m,
			  const struct tg_applied *app, char *err, size_t len);

#define TG_REASON_MAX 400 /* bytes of a manual action's reason */

/*
 * A request from the control socket: "suspend" {customer, reason, for?} or "unsuspend"
 * {customer, reason}, its fields checked by tollgated's command table (control.h). The
 * actor is the caller (cred). Returns the reply document; a refused request changes
 * nothing. *resync is set when the data plane could not be written from the snapshot:
 * the caller syncs in full.
 */
json_t *tg_enforcer_request(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
			    const char *cmd, const json_t *req, const struct ucred *cred,
			    bool *resync);

/*
 * A suspension or unsuspension by hand, from the control socket or another program of the
 * daemon (an alert receiver): the actor ("user:NAME (uid N)", "alertmanager:RECEIVER") and
 * the evidence (a JSON object's text, or NULL) go into the audit row, recorded, applied
 * and (in a cluster) shared like a rule's action. for_ns 0: until lifted. The reply.
 */
json_t *tg_enforcer_manual(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
			   bool suspend, const char *id, const char *reason, uint64_t for_ns,
			   const char *actor, const char *evidence, bool *resync);
/* The same, a throttle to bps (both directions) by hand (an alert receiver's). */
json_t *tg_enforcer_manual_throttle(struct tg_enforcer *e, struct tg_maps *m,
				    struct tg_applied *app, uint64_t bps, const char *id,
				    const char *reason, uint64_t for_ns, const char *actor,
				    const char *evidence, bool *resync);

/* An event without a change of state (an alert receiver's notify): recorded in the audit
 * log, notified through the outbox and (in a cluster) shared. The reply. */
json_t *tg_enforcer_notify(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
			   const char *id, const char *reason, const char *actor,
			   const char *evidence);

/*
 * The cluster (docs/cluster.md): set once, before tg_cluster_start. Local actions are then
 * queued for etcd in their transaction; tg_enforcer_apply records and applies another
 * node's (m NULL before the first sync: the sync writes the table), without notifying.
 */
struct tg_cluster;
struct tg_cluster_change;
void tg_enforcer_set_cluster(struct tg_enforcer *e, struct tg_cluster *cl);
int tg_enforcer_apply(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
		      const struct tg_cluster_change *ch, bool *resync);
struct tg_statedb *tg_enforcer_statedb(struct tg_enforcer *e);

/* One interval at now_ms (tg_mono_ms: every duration runs on it; a step of the wall clock
 * changes nothing): rates, rules, expiries, and (hourly) the retention purge. */
void tg_enforcer_tick(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
		      int64_t now_ms, bool *resync);

/* For `tollgate status`: {"enforcement": {rules, suspended, throttled, interval_ms,
 * last_interval_work_ms}, "notify": {exec, webhook, pending, delivered, failed_attempts}}. */
json_t *tg_enforcer_health(const struct tg_enforcer *e);

/* Count every action carried out in the exporter's tollgate_enforcement_actions_total. */
struct tg_exporter;
void tg_enforcer_set_exporter(struct tg_enforcer *e, struct tg_exporter *x);

/*
 * An interface event (linkwatch.h) in the audit log, with its notifications: customer ""
 * (no customer), actor "tollgated", evidence a JSON object's text. The audit id or -errno.
 */
int64_t tg_enforcer_audit_iface(struct tg_enforcer *e, const char *action, const char *reason,
				const char *evidence);

/*
 * Evidence samples (capture.h): a throttle or suspension in force arms a capture of the
 * customer's next packets for its event. tg_enforcer_capture carries out the control
 * socket's "capture" {customer, count?, reason?}: an audit row (action "capture"), then
 * the capture armed for its event. The reply.
 */
struct tg_capturer;
void tg_enforcer_set_capturer(struct tg_enforcer *e, struct tg_capturer *c);
json_t *tg_enforcer_capture(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
			    const json_t *req, const struct ucred *cred);

/* The interval the rules are evaluated at (enforcement.interval), in ms. */
int64_t tg_enforcer_interval_ms(const struct tg_enforcer *e);

#endif /* TG_ENFORCE_H */
