// SPDX-License-Identifier: GPL-2.0-only
/*
 * alert.c - the Alertmanager webhook receiver's queue (see alert.h): checked on the
 * HTTP thread, carried out on the event loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "alert.h"
#include "lib/lib.h"
#include "config/config.h"
#include "enforce.h"

#define TG_ALERT_SEEN 1024 /* notify alerts remembered, to notify a repeated one once */

struct tg_alertq {
	int fd;
	pthread_mutex_t mu;
	json_t *items; /* array of {customer, action, actor, reason, evidence, bps,
			* fingerprint, startsAt} */
	/* the event loop's: the last TG_ALERT_SEEN notify alerts carried out, by a hash of
	 * fingerprint and startsAt (a ring) */
	uint64_t seen[TG_ALERT_SEEN];
	unsigned int seen_at;
};

/*
 * Whether this alert (fingerprint, startsAt) was carried out already; remembers it if not.
 * Alertmanager repeats a firing alert every repeat_interval with both unchanged; an alert
 * without a fingerprint is never a repeat. After a restart a repeat is notified once more.
 */
static bool seen(struct tg_alertq *q, const char *fp, const char *start)
{
	uint64_t h;

	if (!fp || !*fp)
		return false;
	h = tg_hash(fp, strlen(fp)) * 31 + (start ? tg_hash(start, strlen(start)) : 0);
	h |= 1; /* 0 is an empty slot */
	for (unsigned int i = 0; i < TG_ALERT_SEEN; i++)
		if (q->seen[i] == h)
			return true;
	q->seen[q->seen_at++ % TG_ALERT_SEEN] = h;
	return false;
}

int tg_alertq_new(struct tg_alertq **out)
{
	struct tg_alertq *q = calloc(1, sizeof(*q));

	*out = NULL;
	if (!q)
		return -ENOMEM;
	q->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->items = json_array();
	if (q->fd < 0 || !q->items) {
		int e = q->fd < 0 ? -errno : -ENOMEM;

		if (q->fd >= 0)
			close(q->fd);
		json_decref(q->items);
		free(q);
		return e;
	}
	pthread_mutex_init(&q->mu, NULL);
	*out = q;
	return 0;
}

void tg_alertq_free(struct tg_alertq *q)
{
	if (!q)
		return;
	close(q->fd);
	json_decref(q->items);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

int tg_alertq_fd(const struct tg_alertq *q)
{
	return q ? q->fd : -1;
}

static unsigned int bad(json_t **reply, unsigned int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static unsigned int bad(json_t **reply, unsigned int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*reply = json_pack("{si ss}", "version", 1, "error", msg);
	return status;
}

static const char *label(const json_t *labels, const char *name)
{
	return json_string_value(json_object_get(labels, name));
}

/* One firing alert with customer and action: the item to queue, or NULL with why in err
 * (*oom set when it was memory). */
static json_t *item_of(const json_t *a, size_t i, const char *receiver, char *err, size_t errlen,
		       bool *oom)
{
	const json_t *labels = json_object_get(a, "labels"),
		     *ann = json_object_get(a, "annotations");
	const char *name = label(labels, "alertname"), *cust = label(labels, "customer"),
		   *action = label(labels, "action"), *summary = label(ann, "summary");
	char actor[TG_ENF_ACTOR_LEN], reason[TG_REASON_MAX + 1];
	static const char *const copied[] = {"startsAt", "fingerprint", "generatorURL"};
	json_t *ev, *it;
	uint64_t bps = 0;
	char *evtxt;

	if (!name || !*name || strlen(name) + 14 >= sizeof(actor)) {
		snprintf(err, errlen, "alerts[%zu]: label alertname (1 to %zu bytes) is required",
			 i, sizeof(actor) - 14);
		return NULL;
	}
	if (!*cust || strlen(cust) >= TG_ID_LEN) {
		snprintf(err, errlen, "alerts[%zu] %s: label customer: an id of 1 to %u bytes", i,
			 name, TG_ID_LEN - 1);
		return NULL;
	}
	if (strcmp(action, "suspend") && strcmp(action, "throttle") && strcmp(action, "notify")) {
		snprintf(err, errlen,
			 "alerts[%zu] %s: action '%.32s' is not one this receiver carries out "
			 "(suspend, throttle with a label rate, notify)",
			 i, name, action);
		return NULL;
	}
	if (!strcmp(action, "throttle") &&
	    (!label(labels, "rate") || tg_parse_rate_bps(label(labels, "rate"), &bps) || !bps)) {
		snprintf(err, errlen,
			 "alerts[%zu] %s: action throttle needs a label rate (10mbit, 1gbit)", i,
			 name);
		return NULL;
	}
	snprintf(actor, sizeof(actor), "alertmanager:%s", name);
	if (summary && *summary)
		snprintf(reason, sizeof(reason), "%s", summary);
	else
		snprintf(reason, sizeof(reason), "alert %s", name);
	/* the alert as evidence: who sent it, its labels and annotations, when it started,
	 * its fingerprint (the same alert repeated) and where it was computed */
	ev = json_pack("{ss ss sO}", "source", "alertmanager", "alertname", name, "labels", labels);
	if (ev && receiver)
		json_object_set_new(ev, "receiver", json_string(receiver));
	if (ev && json_is_object(ann))
		json_object_set(ev, "annotations", (json_t *)ann);
	for (size_t k = 0; ev && k < sizeof(copied) / sizeof(copied[0]); k++)
		if (json_is_string(json_object_get(a, copied[k])))
			json_object_set(ev, copied[k], json_object_get(a, copied[k]));
	evtxt = ev ? json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(ev);
	it = evtxt ? json_pack("{ss ss ss ss ss sI ss ss}", "customer", cust, "action", action,
			       "actor", actor, "reason", reason, "evidence", evtxt, "bps",
			       (json_int_t)bps, "fingerprint",
			       json_string_value(json_object_get(a, "fingerprint")) ?: "",
			       "startsAt", json_string_value(json_object_get(a, "startsAt")) ?: "")
		   : NULL;
	free(evtxt);
	if (!it) {
		snprintf(err, errlen, "out of memory");
		*oom = true;
	}
	return it;
}

unsigned int tg_alertq_post(struct tg_alertq *q, const char *body, size_t len, json_t **reply)
{
	json_error_t jerr;
	json_t *doc = json_loadb(body, len, 0, &jerr), *alerts, *items, *refused, *a;
	const char *ver, *receiver;
	size_t i, resolved = 0, ignored = 0, queued;
	bool oom = false;

	*reply = NULL;
	if (!doc)
		return bad(reply, 400, "not JSON (line %d: %s): want Alertmanager's webhook JSON",
			   jerr.line, jerr.text);
	alerts = json_object_get(doc, "alerts");
	ver = json_string_value(json_object_get(doc, "version"));
	receiver = json_string_value(json_object_get(doc, "receiver"));
	if (!json_is_object(doc) || !json_is_array(alerts) || (ver && strcmp(ver, "4"))) {
		json_decref(doc);
		return bad(reply, 400,
			   "want Alertmanager's webhook JSON (version \"4\") with an \"alerts\" "
			   "array");
	}
	items = json_array();
	refused = json_array();
	json_array_foreach (alerts, i, a) {
		const json_t *labels = json_object_get(a, "labels");
		const char *st = json_string_value(json_object_get(a, "status"));
		char err[512];
		json_t *it = NULL;

		if (!json_is_object(a) || !json_is_object(labels) || !st ||
		    (strcmp(st, "firing") && strcmp(st, "resolved"))) {
			snprintf(err, sizeof(err),
				 "alerts[%zu]: want an object with labels and status firing or "
				 "resolved",
				 i);
		} else if (!label(labels, "customer") || !label(labels, "action")) {
			ignored++; /* not an alert for the receiver */
			continue;
		} else if (!strcmp(st, "resolved")) {
			resolved++; /* never lifts: docs/cluster.md */
			continue;
		} else {
			it = item_of(a, i, receiver, err, sizeof(err), &oom);
		}
		if (oom)
			break;
		if (it) {
			json_array_append_new(items, it);
		} else {
			/* refused alone: the batch's other alerts are carried out (a 4xx is not
			 * retried by Alertmanager, so refusing them all would lose them) */
			tg_warn("alertmanager webhook: %s: refused", err);
			json_array_append_new(refused, json_string(err));
		}
	}
	json_decref(doc);
	if (oom || !items || !refused) {
		json_decref(items);
		json_decref(refused);
		return bad(reply, 500, "out of memory");
	}
	queued = json_array_size(items);
	pthread_mutex_lock(&q->mu);
	if (json_array_size(q->items) + queued > TG_ALERT_QUEUE_MAX) {
		pthread_mutex_unlock(&q->mu);
		json_decref(items);
		json_decref(refused);
		return bad(reply, 503, "%d alerts wait already: try again later",
			   TG_ALERT_QUEUE_MAX);
	}
	json_array_extend(q->items, items);
	pthread_mutex_unlock(&q->mu);
	json_decref(items);
	if (queued) {
		uint64_t one = 1;

		/* a failed write: the counter is set already, the loop wakes anyway */
		(void)!write(q->fd, &one, sizeof(one));
	}
	*reply = json_pack("{si sI sI sI so}", "version", 1, "queued", (json_int_t)queued,
			   "resolved", (json_int_t)resolved, "ignored", (json_int_t)ignored,
			   "refused", refused);
	if (!*reply)
		return 500;
	/* every alert for the receiver refused: say so to Alertmanager's log */
	if (!queued && json_array_size(refused)) {
		json_object_set_new(*reply, "error",
				    json_string(json_string_value(json_array_get(refused, 0))));
		return 400;
	}
	return 200;
}

void tg_alertq_run(struct tg_alertq *q, struct tg_enforcer *e, struct tg_maps *m,
		   struct tg_applied *app, bool *resync)
{
	uint64_t n;
	json_t *items, *it;
	size_t i;

	/* nothing signalled (EAGAIN): take what is there anyway */
	(void)!read(q->fd, &n, sizeof(n));
	pthread_mutex_lock(&q->mu);
	items = q->items;
	q->items = json_array();
	pthread_mutex_unlock(&q->mu);
	if (!q->items) { /* out of memory: keep them for the next wake-up */
		q->items = items;
		return;
	}
	json_array_foreach (items, i, it) {
		const char *cust = json_string_value(json_object_get(it, "customer")),
			   *actor = json_string_value(json_object_get(it, "actor"));
		const char *action = json_string_value(json_object_get(it, "action")),
			   *reason = json_string_value(json_object_get(it, "reason")),
			   *evid = json_string_value(json_object_get(it, "evidence"));
		const bool susp = !strcmp(action, "suspend"), note = !strcmp(action, "notify");
		const struct tg_enf_entry *cur = tg_enf_find(tg_enforcer_table(e), cust);
		uint64_t bps = (uint64_t)json_integer_value(json_object_get(it, "bps"));
		json_t *r;

		if (note) {
			/* the same alert (fingerprint, start) repeated: notified once */
			if (seen(q, json_string_value(json_object_get(it, "fingerprint")),
				 json_string_value(json_object_get(it, "startsAt"))))
				continue;
			r = tg_enforcer_notify(e, m, app, cust, reason, actor, evid);
			if (!json_is_true(json_object_get(r, "ok")))
				tg_err("%s: notify %s refused: %s (fix the alert's labels or the "
				       "customers file)",
				       actor, cust, json_string_value(json_object_get(r, "error")));
			json_decref(r);
			continue;
		}
		/* in force already (at this level or above): the alert repeated */
		if (cur && (!susp || cur->state == TG_ST_SUSPENDED)) {
			if (tg_log_verbose)
				tg_info("%s: %s is %s already: nothing to do", actor, cust,
					tg_state_name(cur->state));
			continue;
		}
		if (susp)
			r = tg_enforcer_manual(e, m, app, true, cust, reason, 0, actor, evid,
					       resync);
		else
			r = tg_enforcer_manual_throttle(e, m, app, bps, cust, reason, 0, actor,
							evid, resync);
		if (!json_is_true(json_object_get(r, "ok")))
			tg_err("%s: %s %s refused: %s (fix the alert's labels or the customers "
			       "file)",
			       actor, action, cust, json_string_value(json_object_get(r, "error")));
		json_decref(r);
	}
	json_decref(items);
}
