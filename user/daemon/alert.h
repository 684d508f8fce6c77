/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * alert.h - the Alertmanager webhook receiver (docs/cluster.md, "Cluster-wide rules").
 *
 * Alertmanager POSTs its webhook JSON (version 4) to the exporter's
 * /api/v1/alertmanager with the bearer token of metrics.alert_token_file. On the HTTP
 * thread the request is checked (tg_alertq_post): bad JSON is 400 and nothing is queued;
 * then alert by alert, each firing alert with labels customer and action (suspend,
 * throttle with a label rate, notify) is queued, each bad one (no name, an unknown action,
 * no rate) refused alone and named in the reply; resolved ones and ones without those
 * labels are counted and ignored (a resolved alert never lifts a state: an operator does,
 * with tollgate unsuspend). The event loop owns the enforcer: it wakes on the queue's
 * eventfd and carries the queued alerts out (tg_alertq_run) through
 * tg_enforcer_manual(_throttle) or tg_enforcer_notify with actor "alertmanager:ALERTNAME"
 * and the alert as evidence. An alert whose action is in force already (suspended;
 * throttled or suspended), or a notify alert seen already (fingerprint and startsAt),
 * changes nothing (Alertmanager repeats a firing alert every repeat_interval).
 *
 * Included by: daemon.h (the door), alert.c, exporter.c and tollgated.c.
 */
#ifndef TG_ALERT_H
#define TG_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define TG_ALERT_BODY_MAX (1 << 20) /* bytes of a webhook request */
#define TG_ALERT_QUEUE_MAX 4096	    /* alerts waiting for the event loop */

struct tg_alertq;
struct tg_enforcer;
struct tg_maps;
struct tg_applied;

/* A queue and its eventfd. 0 or -errno. */
int tg_alertq_new(struct tg_alertq **out);
void tg_alertq_free(struct tg_alertq *q);
/* Readable when alerts wait (the event loop polls it). */
int tg_alertq_fd(const struct tg_alertq *q);

/*
 * From the HTTP thread: a webhook request's body. Returns the HTTP status (200 when an
 * alert was queued or none was for the receiver; 400 for bad JSON or when every alert for
 * the receiver was refused; 503 when the queue is full) and the reply document in *reply
 * ({"version": 1, queued, resolved, ignored, refused: [why, ...]}, with "error" on a 400).
 * On anything but 200 nothing was queued.
 */
unsigned int tg_alertq_post(struct tg_alertq *q, const char *body, size_t len, json_t **reply);

/* From the event loop: carry out every queued alert (enforce.h). */
void tg_alertq_run(struct tg_alertq *q, struct tg_enforcer *e, struct tg_maps *m,
		   struct tg_applied *app, bool *resync);

#endif /* TG_ALERT_H */
