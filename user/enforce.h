/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * enforce.h - tollgated's enforcement: the customers that are not active (state.db's
 * enforcement table, mirrored in memory), the actions that change them and their expiry.
 *
 * Every action follows one order: the audit row, the new state and the notifications it
 * queues are committed in one transaction; then the data plane record is written; then
 * the in-memory table follows. A crash between the commit and the record write is
 * repaired at start, when the sync writes every record from the database.
 */
#ifndef TG_ENFORCE_H
#define TG_ENFORCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <jansson.h>

#include "maps.h"
#include "state.h"
#include "util.h"

struct tg_enforcer;

/* Open state_path and read the enforcement table. 0 or -errno with the reason in err. */
int tg_enforcer_open(const char *state_path, struct tg_enforcer **out, char *err, size_t len);
void tg_enforcer_close(struct tg_enforcer *e);

/* What every sync writes into the records (tg_cfg.enf). */
const struct tg_enf_table *tg_enforcer_table(const struct tg_enforcer *e);

/* Queue notifications of every action committed from now on (NULL: none). */
void tg_enforcer_set_queue(struct tg_enforcer *e, tg_queue_fn queue, void *ctx);

/*
 * A request from the control socket: "suspend" {customer, reason, for?} or "unsuspend"
 * {customer, reason}. The actor is the caller (cred). Returns the reply document; a bad
 * request changes nothing. *resync is set when the data plane could not be written from
 * the snapshot: the caller syncs in full.
 */
json_t *tg_enforcer_request(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
			    const char *cmd, const json_t *req, const struct ucred *cred,
			    bool *resync);

/* Lift the states whose time is up (now_ms, unix ms). *resync as above. */
void tg_enforcer_expire(struct tg_enforcer *e, struct tg_maps *m, struct tg_applied *app,
			int64_t now_ms, bool *resync);

#endif /* TG_ENFORCE_H */
