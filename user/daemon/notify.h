/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * notify.h - enforcement events to the notification targets of tollgate.yaml (`notify`):
 * an exec hook and/or a webhook, through a durable outbox (the `outbox` table of
 * state.db, schema in state.c) so that nothing is lost while a receiver is down or the
 * daemon restarts.
 *
 * Delivery is AT LEAST ONCE, never "exactly once": a row is marked delivered only after
 * its target accepted it, so a crash (or a failed database write) between the two makes
 * the event go again. Every event carries a stable id - the "id" of the JSON, globally
 * unique (state.h: event ids), the same in every attempt, on every target and after any
 * restart or crash - on which receivers dedupe. "seq" is the audit row's local number.
 *
 * Order: per target, events go oldest first, and one at a time: an event that fails holds
 * the later ones of its target back until it is delivered (a receiver never sees an
 * "unsuspend" before its "suspend"). Each target has its own delivery thread, so a target
 * that is down does not delay the other one. Nothing is ever given up: a row is retried
 * (with backoff) until it is delivered or purged.
 *
 * The exec hook runs as `EXEC -- CUSTOMER_ID ACTION RULE`, the three taken from the event
 * JSON's "customer", "action" and "rule" ("-" when "rule" is null or absent: a manual
 * action); stdin is the event JSON (exactly the bytes queued, no newline added); stdout
 * and stderr go to the daemon's stderr (its log); the environment is only PATH and
 * LC_ALL=C; signals default and unblocked; it runs in a process group of its own, killed
 * with SIGKILL (the whole group) at the timeout; as cfg->exec_user (its uid, gid, no other
 * group: no capability) with no_new_privs. Exit status 0 = delivered.
 *
 * The webhook is an HTTP POST of the event JSON with "Content-Type: application/json" and
 * "User-Agent: tollgate/VERSION"; any 2xx = delivered; redirects are not followed (a 3xx
 * is a failure); proxies as libcurl's environment variables say.
 *
 * Included by: daemon.h (the door), notify.c and enforce.c; the tests (test_notify).
 */
#ifndef TG_NOTIFY_H
#define TG_NOTIFY_H

#include <stdint.h>

#include "config/config.h"
#include "lib/lib.h"

typedef struct sqlite3 sqlite3;
struct tg_notifier;

/* Times are unix milliseconds (CLOCK_REALTIME, tg_now_ms in util.h), as in the audit
 * table. */

/*
 * Inside the caller's open transaction on db (the caller writes the audit row and then
 * calls this before COMMIT, so the event is queued if and only if the audit row exists):
 * one outbox row per configured target, due now. event_json must be a JSON object whose
 * "seq" is audit_id and with "customer" and "action" strings (what the exec hook needs).
 * Returns 0 (also when no target is configured), -EINVAL for a bad event or when no
 * transaction is open (the rows would not be atomic with the audit row), -EBUSY or -EIO.
 */
int tg_outbox_enqueue(sqlite3 *db, const struct tg_notify_cfg *cfg, int64_t audit_id,
		      const char *event_json, int64_t now_ms);

/*
 * Start the delivery threads (one per configured target), each with its own SQLite
 * connection to db_path (the daemon's own connection stays the daemon's). cfg is copied.
 * They deliver every undelivered row of their target, including rows queued before a
 * restart. After a failed attempt a row waits min * 2^(attempts-1), capped at max, and
 * records attempts, next_at and last_error; a delivered row gets delivered_at (attempts
 * counts the successful attempt too). Rows of a target that is not configured are left
 * as they are. Nothing here blocks the caller for longer than opening the connections.
 * 0 or -errno with the reason in err.
 */
int tg_notifier_start(const char *db_path, const struct tg_notify_cfg *cfg,
		      struct tg_notifier **out, char *err, size_t errlen);
/* Rows were queued (after the COMMIT): look now. Never blocks. NULL is a no-op. */
void tg_notifier_kick(struct tg_notifier *n);
/* End the threads: an attempt in flight finishes first (at most the timeout); undelivered
 * rows stay queued for the next start. NULL is a no-op. */
void tg_notifier_stop(struct tg_notifier *n);

/* Delete delivered rows delivered before before_ms (retention); pending rows are never
 * deleted. The number of rows deleted, or -errno. */
int tg_outbox_purge(sqlite3 *db, int64_t before_ms);

struct tg_outbox_stats {
	uint64_t pending;	  /* rows not delivered yet (any target, configured or not) */
	uint64_t delivered;	  /* delivered rows not purged yet */
	uint64_t failed_attempts; /* failed attempts of the rows in the outbox */
};

/* Counts for status and metrics. 0 or -errno. */
int tg_outbox_stats(sqlite3 *db, struct tg_outbox_stats *out);

/* The wait after the attempts-th failed attempt (attempts >= 1): min * 2^(attempts-1),
 * capped at max. */
uint64_t tg_outbox_backoff_ms(const struct tg_notify_cfg *cfg, int64_t attempts);

#endif /* TG_NOTIFY_H */
