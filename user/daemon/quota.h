/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * quota.h - tollgated's volume quotas: every interval the enforcer hands in the passed
 * bytes of every customer (the data plane's tg_cstat, read anyway), and each customer of a
 * plan with a quota (config.h, tg_quota_cfg) has the difference since the last reading
 * added to its usage of the period; at a period boundary (UTC, wall clock) the usage
 * starts again at 0. Rules read it as quota_used_pct (rules.h), the exporter shows it.
 *
 * Counter resets: a customer that takes over an index starts from the zeroed counters of
 * the departed one (base 0); a counter below its last reading (maps recreated) counts from
 * 0. A wall clock stepped back into an earlier period changes nothing: a period only moves
 * forward.
 *
 * Persistence: write-behind. Every TG_QUOTA_FLUSH_MS a round goes over the indexes and
 * writes the usage that changed to the state database, with the counter reading it was
 * taken at, TG_QUOTA_FLUSH_ROWS rows an interval at most (one transaction each); a reload
 * writes the customers that leave their index, a stop everything. A restarted daemon adds
 * what the pinned counters passed since the reading written. What a crash can lose is
 * therefore only what passed since the last write when the pinned maps are gone too (a
 * reboot): at most a round, TG_QUOTA_FLUSH_MS while the changed customers fit in
 * TG_QUOTA_FLUSH_ROWS x intervals of it (245760 at 1 s), longer beyond.
 *
 * Threads: the enforcer's thread calls everything but tg_quota_get, which the exporter's
 * thread calls; a mutex keeps them apart.
 *
 * Included by: daemon.h, enforce.c, exporter.c, quota.c; the tests.
 */
#ifndef TG_QUOTA_H
#define TG_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "state/state.h"

#define TG_QUOTA_FLUSH_MS 60000ll /* the write-behind interval */
#define TG_QUOTA_FLUSH_ROWS 4096u /* rows written at most per enforcement interval */

struct tg_quota;

/* What the exporter shows of a customer. */
struct tg_quota_now {
	struct tg_quota_cfg cfg;
	uint64_t used[TG_DIR_NR];
	double pct[TG_DIR_NR]; /* used / quota x 100; 0 without a quota in that direction */
	double pct_max;	       /* quota_used_pct: the larger */
	int64_t period_start_ms, period_end_ms;
};

struct tg_quota *tg_quota_new(void);
/* Writes what is not written yet (when st is not NULL), then frees. */
void tg_quota_free(struct tg_quota *q, struct tg_statedb *st);

/*
 * A configuration applied: cfg's customers at indexes idx (idx[c] < max_cust). Writes the
 * usage not yet written (under the old mapping), then tracks the customers of plans with a
 * quota, reading from st the usage of those it did not track at that index. 0 or -errno.
 * cfg must stay valid until the next call.
 */
int tg_quota_configure(struct tg_quota *q, struct tg_statedb *st, const struct tg_cfg *cfg,
		       const uint32_t *idx, uint32_t max_cust, int64_t wall_ms);
/* Any customer has a quota: the enforcer must read the passed counters. */
bool tg_quota_active(const struct tg_quota *q);

/* One reading of every index's passed counters (pass[idx], max_cust of them) at wall_ms. */
void tg_quota_account(struct tg_quota *q, const struct tg_cstat *pass, int64_t wall_ms);
/* quota_pct of cfg->customers[c] (0 without a quota). */
void tg_quota_pct(const struct tg_quota *q, size_t c, double pct[TG_DIR_NR]);
/* Write the changed usage if force or TG_QUOTA_FLUSH_MS passed since the last write.
 * 0 or -errno (then it is tried again at the next call). */
int tg_quota_flush(struct tg_quota *q, struct tg_statedb *st, int64_t wall_ms, bool force);

/* The customer at index idx: 0, or -ENOENT (no quota). Any thread. */
int tg_quota_get(struct tg_quota *q, uint32_t idx, struct tg_quota_now *out);

/* The customers with the highest quota_used_pct, highest first: up to max. Any thread. */
struct tg_quota_top {
	char id[TG_ID_LEN];
	uint32_t idx;
	struct tg_quota_now now;
};
size_t tg_quota_top(struct tg_quota *q, struct tg_quota_top *out, size_t max);

#endif /* TG_QUOTA_H */
