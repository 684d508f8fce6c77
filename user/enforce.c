// SPDX-License-Identifier: GPL-2.0-only
/*
 * enforce.c - tollgated's enforcement state and the actions that change it (enforce.h).
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "enforce.h"
#include "log.h"
#include "util.h"

#define TG_REASON_MAX 400 /* characters of a manual reason */

struct tg_enforcer {
	struct tg_statedb *st;
	struct tg_enf_table table;
	tg_queue_fn queue;
	void *queue_ctx;
};

int tg_enforcer_open(const char *state_path, struct tg_enforcer **out, char *err, size_t len)
{
	struct tg_enforcer *e = calloc(1, sizeof(*e));
	int rc;

	*out = NULL;
	if (!e)
		return -ENOMEM;
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

void tg_enforcer_close(struct tg_enforcer *e)
{
	if (!e)
		return;
	tg_enf_free(&e->table);
	tg_state_close(e->st);
	free(e);
}

const struct tg_enf_table *tg_enforcer_table(const struct tg_enforcer *e)
{
	return &e->table;
}

void tg_enforcer_set_queue(struct tg_enforcer *e, tg_queue_fn queue, void *ctx)
{
	e->queue = queue;
	e->queue_ctx = ctx;
}

/*
 * Commit ev with the customer's new state (next: NULL = active), then write the data
 * plane and the table. Returns the audit id or -errno (nothing changed).
 */
static int64_t act(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
		   const struct tg_event *ev, const struct tg_enf_entry *next, bool *resync)
{
	int64_t id;
	int err;

	id = tg_state_act(e->st, ev, next ? TG_ENF_SET : TG_ENF_CLEAR, next, TG_EP_KEEP, e->queue,
			  e->queue_ctx);
	if (id < 0)
		return id;
	if (next) {
		struct tg_enf_entry n = *next;

		n.audit_id = id;
		err = tg_enf_put(&e->table, &n);
	} else {
		tg_enf_del(&e->table, ev->customer);
		err = 0;
	}
	if (!err)
		err = tg_applied_enforce(m, app, ev->customer, &e->table);
	if (err == -ENOENT) /* not loaded now: the state applies when it is again */
		err = 0;
	if (err) {
		tg_warn("%s: %s recorded, the data plane follows with a full sync (%s)",
			ev->customer, ev->action, strerror(-err));
		*resync = true;
	}
	return id;
}

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
	const struct tg_cfg *cfg = tg_applied_cfg(app);
	const struct tg_enf_entry *cur;
	struct tg_enf_entry next = {};
	struct tg_event ev = {};
	char actor[TG_ENF_ACTOR_LEN];
	uint64_t for_ns = 0;
	int64_t now = tg_now_ms(), aid;
	json_t *evj;

	if (!id || !*id)
		return error_reply("%s: \"customer\" (an id) is required", cmd);
	if (strlen(id) >= TG_ID_LEN)
		return error_reply("%s: customer id longer than %d bytes", cmd, TG_ID_LEN - 1);
	if (!reason || !*reason)
		return error_reply("%s: \"reason\" (text for the audit log) is required", cmd);
	if (strlen(reason) > TG_REASON_MAX)
		return error_reply("%s: the reason is longer than %d bytes", cmd, TG_REASON_MAX);
	if (jfor && (!json_is_string(jfor) || strcmp(cmd, "suspend")))
		return error_reply("%s: \"for\" is a duration (\"30m\", \"1d\") of a suspension",
				   cmd);
	if (jfor && (tg_parse_duration_ns(json_string_value(jfor), &for_ns) || !for_ns))
		return error_reply("suspend: bad duration '%.64s' (e.g. 30m, 12h, 7d)",
				   json_string_value(jfor));
	if (!cfg || tg_config_customer(cfg, id) < 0) {
		if (!cfg)
			return error_reply("the configuration is not loaded");
		return error_reply("no customer '%s' in %s", id, cfg->customers_path);
	}
	cur = tg_enf_find(&e->table, id);
	actor_of(cred, actor, sizeof(actor));
	ev.ts_ms = now;
	ev.customer = id;
	ev.actor = actor;
	ev.reason = reason;
	ev.action = cmd;
	if (!strcmp(cmd, "suspend")) {
		snprintf(next.id, sizeof(next.id), "%s", id);
		next.state = TG_ST_SUSPENDED;
		next.since_ms = cur && cur->state == TG_ST_SUSPENDED ? cur->since_ms : now;
		next.until_ms = for_ns ? now + (int64_t)(for_ns / 1000000) : 0;
		snprintf(next.actor, sizeof(next.actor), "%s", actor);
		snprintf(next.reason, sizeof(next.reason), "%s", reason);
		ev.until_ms = next.until_ms;
		aid = act(e, m, app, &ev, &next, resync);
	} else {
		if (!cur)
			return error_reply("unsuspend: customer '%s' is active: nothing to lift",
					   id);
		ev.action = cur->state == TG_ST_SUSPENDED ? "unsuspend" : "unthrottle";
		aid = act(e, m, app, &ev, NULL, resync);
	}
	if (aid < 0)
		return error_reply(
			"%s: the state database refused the record (%s): nothing changed", cmd,
			strerror((int)-aid));
	tg_info("%s %s by %s: %s", ev.action, id, actor, reason);
	evj = tg_event_json(aid, &ev);
	return json_pack("{sb so}", "ok", 1, "event", evj ? evj : json_null());
}

void tg_enforcer_expire(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
			int64_t now_ms, bool *resync)
{
	size_t i = 0;

	while (i < e->table.n) {
		const struct tg_enf_entry *x = &e->table.e[i];
		char id[TG_ID_LEN], reason[TG_ENF_REASON_LEN + 64];
		struct tg_event ev = {};

		if (!x->until_ms || x->until_ms > now_ms) {
			i++;
			continue;
		}
		snprintf(id, sizeof(id), "%s", x->id);
		snprintf(reason, sizeof(reason), "expired: %s", x->reason);
		ev.ts_ms = now_ms;
		ev.customer = id;
		ev.action = x->state == TG_ST_SUSPENDED ? "unsuspend" : "unthrottle";
		ev.actor = "tollgated:expiry";
		ev.rule = x->rule[0] ? x->rule : NULL;
		ev.reason = reason;
		if (act(e, m, app, &ev, NULL, resync) < 0) {
			tg_warn("%s: cannot record the expiry: retrying at the next interval", id);
			i++; /* the entry stays: tried again next time */
			continue;
		}
		tg_info("%s %s: %s", ev.action, id, reason);
		/* the entry left the table: i now names the next one */
	}
}
