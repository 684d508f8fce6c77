/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * state.h - the state database (SQLite, tollgate.yaml `state`, default
 * /var/lib/tollgate/state.db). For now it holds the customer index assignments, so a
 * customer keeps its index - and so its counters and policer state - across reloads,
 * restarts and reboots (which clear bpffs). Later versions add enforcement state, the
 * audit log and the notification outbox.
 */
#ifndef TG_STATE_H
#define TG_STATE_H

#include <stddef.h>
#include <stdint.h>

struct tg_statedb;
typedef struct sqlite3 sqlite3;

/* One assignment: external id -> customer index. */
struct tg_assign {
	const char *id;
	uint32_t idx;
};

/* Open (creating the file, its directory and the schema if needed). -errno on failure,
 * with the reason in err. */
int tg_state_open(const char *path, struct tg_statedb **out, char *err, size_t errlen);
void tg_state_close(struct tg_statedb *st);
/* The connection, for the modules that keep their own tables in the same file (schema in
 * state.c: enforcement, audit, episode, outbox). */
sqlite3 *tg_state_sqlite(struct tg_statedb *st);

/* Every recorded assignment, sorted by id; *out is malloc'd, ids owned by st until the
 * next call. */
int tg_state_assignments(struct tg_statedb *st, struct tg_assign **out, size_t *n);

/*
 * Record the assignments of a sync in one transaction: set[] are the customers now
 * loaded (inserted or updated), drop[] the ids of customers removed (their index is free
 * again: the sync cleared its counters first).
 */
int tg_state_record(struct tg_statedb *st, const struct tg_assign *set, size_t nset,
		    const char *const *drop, size_t ndrop);

#endif /* TG_STATE_H */
