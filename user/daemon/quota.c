// SPDX-License-Identifier: GPL-2.0-only
/*
 * quota.c - tollgated's volume quotas (semantics in quota.h): a record per customer index,
 * the usage of the period, the counter reading it was taken at, and the id (so what is
 * written after a reload is written under the id that used it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/lib.h"
#include "quota.h"

struct qent {
	char id[TG_ID_LEN]; /* "": not tracked */
	int32_t plan;	    /* index of q->plans */
	bool have_base;	    /* base is a reading at this index (else: the next reading is) */
	bool dirty;	    /* changed since written */
	bool fresh;	    /* took the index since the last configure: its counters began at 0 */
	int64_t period_start;
	uint64_t used[TG_DIR_NR];
	uint64_t base[TG_DIR_NR];
};

struct tg_quota {
	pthread_mutex_t lock; /* ent, plans: against tg_quota_get */
	struct qent *ent;     /* by index, n of them; NULL: no quota anywhere */
	uint32_t n;
	struct tg_quota_cfg *plans;  /* the applied plans' quotas, copied */
	char (*pnames)[TG_NAME_MAX]; /* and their names */
	size_t nplans;
	size_t ndirty;	     /* entries with dirty set */
	bool round;	     /* a write-behind round is going over the indexes ... */
	uint32_t cursor;     /* ... and is at this one */
	const uint32_t *idx; /* of the applied configuration */
	size_t ncust;
	uint64_t *seen; /* seen[idx]: hash of the id at the index at the last configure (0) */
	uint32_t nseen;
	int64_t last_flush;
};

struct tg_quota *tg_quota_new(void)
{
	struct tg_quota *q = calloc(1, sizeof(*q));

	if (q)
		pthread_mutex_init(&q->lock, NULL);
	return q;
}

void tg_quota_free(struct tg_quota *q, struct tg_statedb *st)
{
	if (!q)
		return;
	if (st && tg_quota_flush(q, st, tg_now_ms(), true))
		tg_warn("quota: the usage of the last %lld s could not be written to the state "
			"database",
			(long long)(TG_QUOTA_FLUSH_MS / 1000));
	pthread_mutex_destroy(&q->lock);
	free(q->ent);
	free(q->plans);
	free(q->pnames);
	free(q->seen);
	free(q);
}

bool tg_quota_active(const struct tg_quota *q)
{
	return q && q->ent;
}

/* The row of index i as it is written. */
static void row_of(const struct tg_quota *q, const struct qent *x, uint32_t i, int64_t wall_ms,
		   struct tg_quota_row *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->customer, sizeof(r->customer), "%s", x->id);
	snprintf(r->plan, sizeof(r->plan), "%s", q->pnames[x->plan]);
	r->period_start_ms = x->period_start;
	r->idx = i;
	r->updated_ms = wall_ms;
	for (int d = 0; d < TG_DIR_NR; d++) {
		r->used[d] = x->used[d];
		r->base[d] = x->base[d];
	}
}

/* Write the dirty rows from index *pos on (0 if pos is NULL) that pick selects (all if
 * NULL), at most max of them, in one transaction; *pos is then where to go on (q->n: at
 * the end). 0 or -errno (then they stay dirty). */
static int write_rows(struct tg_quota *q, struct tg_statedb *st, int64_t wall_ms, size_t max,
		      const bool *pick, uint32_t *pos)
{
	struct tg_quota_row *rows;
	uint32_t i = pos ? *pos : 0, *at;
	size_t n = 0;
	int err;

	max = max < q->ndirty ? max : q->ndirty;
	if (max && pick) { /* a few picked among many dirty: room for those only */
		size_t np = 0;

		for (uint32_t k = i; k < q->n && np < max; k++)
			np += q->ent[k].dirty && q->ent[k].have_base && pick[k];
		max = np;
	}
	if (!max) {
		if (pos)
			*pos = q->n;
		return 0;
	}
	rows = calloc(max, sizeof(*rows));
	at = calloc(max, sizeof(*at));
	if (!rows || !at) {
		free(rows);
		free(at);
		return -ENOMEM;
	}
	for (; i < q->n && n < max; i++) {
		const struct qent *x = &q->ent[i];

		/* only usage taken at a reading (have_base): its row says where to go on */
		if (x->dirty && x->have_base && (!pick || pick[i])) {
			row_of(q, x, i, wall_ms, &rows[n]);
			at[n++] = i;
		}
	}
	err = tg_state_quota_put(st, rows, n);
	if (!err) {
		for (size_t k = 0; k < n; k++)
			q->ent[at[k]].dirty = false;
		q->ndirty -= n;
		if (pos)
			*pos = n < max ? q->n : i;
	}
	free(rows);
	free(at);
	return err;
}

int tg_quota_flush(struct tg_quota *q, struct tg_statedb *st, int64_t wall_ms, bool force)
{
	int err;

	if (!q->ent)
		return 0;
	if (force) { /* everything, 65536 rows a transaction (memory stays bounded) */
		uint32_t pos = 0;

		do
			err = write_rows(q, st, wall_ms, 65536, NULL, &pos);
		while (!err && pos < q->n);
	} else {
		/* a round every TG_QUOTA_FLUSH_MS goes over every index, TG_QUOTA_FLUSH_ROWS
		 * dirty rows a call (the enforcer calls once an interval): a write never holds
		 * the interval up long, however many customers there are */
		if (!q->round) {
			if (q->last_flush && wall_ms >= q->last_flush &&
			    wall_ms - q->last_flush < TG_QUOTA_FLUSH_MS)
				return 0;
			q->round = true;
			q->cursor = 0;
			q->last_flush = wall_ms;
		}
		err = write_rows(q, st, wall_ms, TG_QUOTA_FLUSH_ROWS, NULL, &q->cursor);
		if (!err && q->cursor >= q->n)
			q->round = false;
	}
	if (err)
		tg_warn("quota: cannot write the usage to the state database (%s): tried again at "
			"the next interval",
			strerror(-err));
	return err;
}

/*
 * Index i takes customer id (plan): its usage starts at 0 and, for a customer that took
 * the index since the last configure (fresh), from counters the sync zeroed (base 0);
 * otherwise from the next reading (the counters hold traffic from before). Its row in
 * the state database, if any, comes next (apply_row).
 */
static void take(struct qent *x, const char *id, int plan, bool fresh)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->id, sizeof(x->id), "%s", id);
	x->plan = plan;
	x->have_base = fresh;
	x->fresh = fresh;
}

/* The recorded usage; a row taken at this index gives the counter reading too, one taken
 * at another means the counters here started at 0 when it got this index (commit.c clears
 * a departed customer's). */
static void apply_row(struct qent *x, const struct tg_quota_row *r, uint32_t i)
{
	x->period_start = r->period_start_ms;
	for (int d = 0; d < TG_DIR_NR; d++) {
		x->used[d] = r->used[d];
		x->base[d] = !x->fresh && r->idx == i ? r->base[d] : 0;
	}
	x->have_base = true;
	x->dirty = true; /* written again in the next round: with the plan it has now */
}

struct bulk {
	struct tg_quota *q;
	const struct tg_cfg *cfg;
	const uint32_t *idx;
	const bool *need;
};

static int bulk_row(void *ctx, const struct tg_quota_row *r)
{
	const struct bulk *b = ctx;
	long c = tg_config_customer(b->cfg, r->customer);
	uint32_t i = c >= 0 ? b->idx[c] : UINT32_MAX;

	if (i < b->q->n && b->need[i] && !strcmp(b->q->ent[i].id, r->customer))
		apply_row(&b->q->ent[i], r, i);
	return 0;
}

#define TG_QUOTA_BULK_MIN 64 /* more rows to read than this: read the table whole */

int tg_quota_configure(struct tg_quota *q, struct tg_statedb *st, const struct tg_cfg *cfg,
		       const uint32_t *idx, uint32_t max_cust, int64_t wall_ms)
{
	struct tg_quota_cfg *plans = calloc(cfg->nplans ? cfg->nplans : 1, sizeof(*plans));
	char(*pnames)[TG_NAME_MAX] = calloc(cfg->nplans ? cfg->nplans : 1, sizeof(*pnames));
	struct tg_quota_plan_row *prow = calloc(cfg->nplans ? cfg->nplans : 1, sizeof(*prow));
	bool *replan = calloc(max_cust ? max_cust : 1, sizeof(*replan));
	size_t nprow = 0, nreplan = 0;
	uint32_t *newc = calloc(max_cust ? max_cust : 1, sizeof(*newc)); /* c + 1 by index */
	bool *pick = calloc(max_cust > q->n ? max_cust : q->n + 1, sizeof(*pick));
	bool any = false, first = !q->idx;
	size_t nneed = 0;
	int err = -ENOMEM;

	if (!plans || !newc || !pick || !pnames || !prow || !replan)
		goto out;
	for (size_t p = 0; p < cfg->nplans; p++) {
		plans[p] = cfg->plans[p].quota;
		snprintf(pnames[p], sizeof(pnames[p]), "%s", cfg->plans[p].name);
		any = any || TG_QUOTA_ON(&plans[p]);
		if (!TG_QUOTA_ON(&plans[p]))
			continue;
		snprintf(prow[nprow].plan, sizeof(prow[nprow].plan), "%s", pnames[p]);
		prow[nprow].bytes[TG_DIR_UP] = plans[p].bytes[TG_DIR_UP];
		prow[nprow].bytes[TG_DIR_DOWN] = plans[p].bytes[TG_DIR_DOWN];
		prow[nprow].period = plans[p].period;
		prow[nprow++].reset = plans[p].reset;
	}
	/* what a reader without the configuration shows (tg_view_customer_quota); without
	 * quotas, written once (to clear an earlier run's), not at every reload */
	if (st && (any || q->ent || first) && tg_state_quota_plans_set(st, prow, nprow))
		tg_warn("quota: cannot record the plans' quotas in the state database: "
			"customer show may show the previous ones");
	if (q->nseen != max_cust) {
		free(q->seen);
		q->seen = calloc(max_cust, sizeof(*q->seen));
		q->nseen = q->seen ? max_cust : 0;
		if (!q->seen)
			goto out;
	}
	for (size_t c = 0; c < cfg->ncustomers; c++) {
		const struct tg_customer *cu = &cfg->customers[c];

		if (idx[c] < max_cust && cu->plan >= 0 && TG_QUOTA_ON(&plans[cu->plan]))
			newc[idx[c]] = (uint32_t)c + 1;
	}
	/* what leaves its index (gone, moved, no quota now) is written under its id first */
	for (uint32_t i = 0; q->ent && i < q->n; i++)
		pick[i] = q->ent[i].id[0] && (i >= max_cust || !newc[i] ||
					      strcmp(cfg->customers[newc[i] - 1].id, q->ent[i].id));
	if (q->ent && st && write_rows(q, st, wall_ms, SIZE_MAX, pick, NULL))
		tg_warn("quota: the usage of the customers a reload moved or removed could not be "
			"written: what they used since the last write is lost");

	pthread_mutex_lock(&q->lock);
	if (any && q->n != max_cust) {
		struct qent *ent = calloc(max_cust, sizeof(*ent));

		if (!ent) {
			pthread_mutex_unlock(&q->lock);
			goto out;
		}
		if (q->ent) /* a capacity change moves no index */
			memcpy(ent, q->ent, (q->n < max_cust ? q->n : max_cust) * sizeof(*ent));
		free(q->ent);
		q->ent = ent;
		q->n = max_cust;
	}
	if (!any) {
		free(q->ent);
		q->ent = NULL;
		q->n = 0;
	}
	memset(pick, 0, (q->n ? q->n : 1) * sizeof(*pick)); /* now: needs its row */
	q->ndirty = 0;
	for (uint32_t i = 0; i < q->n; i++) {
		struct qent *x = &q->ent[i];
		const struct tg_customer *cu = newc[i] ? &cfg->customers[newc[i] - 1] : NULL;

		if (!cu) {
			memset(x, 0, sizeof(*x));
			continue;
		}
		if (!x->id[0] || strcmp(x->id, cu->id)) {
			uint64_t h = tg_hash(cu->id, strlen(cu->id)) | 1;

			/* a customer that took this index since the last configure: its counters
			 * started at 0 then. At a start nothing is: they predate the daemon. */
			take(x, cu->id, cu->plan, !first && q->seen[i] != h);
			pick[i] = true;
			nneed++;
		} else if (q->pnames && strcmp(q->pnames[x->plan], pnames[cu->plan])) {
			replan[i] = true; /* its row names its plan: written below */
			x->dirty = true;
			nreplan++;
		}
		x->plan = cu->plan;
	}
	free(q->plans);
	q->plans = plans;
	plans = NULL;
	free(q->pnames);
	q->pnames = pnames;
	pnames = NULL;
	q->nplans = cfg->nplans;
	q->idx = idx;
	q->ncust = cfg->ncustomers;
	q->round = false;
	err = 0;
	if (st && nneed > TG_QUOTA_BULK_MIN) {
		struct bulk b = {.q = q, .cfg = cfg, .idx = idx, .need = pick};

		err = tg_state_quota_load(st, bulk_row, &b);
	} else if (st && nneed) {
		for (uint32_t i = 0; i < q->n && !err; i++) {
			struct tg_quota_row r;
			int rc;

			if (!pick[i])
				continue;
			rc = tg_state_quota_get(st, q->ent[i].id, &r);
			if (!rc)
				apply_row(&q->ent[i], &r, i);
			else if (rc != -ENOENT)
				err = rc;
		}
	}
	q->ndirty = 0;
	for (uint32_t i = 0; i < q->n; i++)
		q->ndirty += q->ent[i].dirty;
	pthread_mutex_unlock(&q->lock);
	if (err)
		tg_warn("quota: cannot read the recorded usage (%s): it starts again from 0",
			strerror(-err));
	err = 0;
	if (st && nreplan && write_rows(q, st, wall_ms, SIZE_MAX, replan, NULL))
		tg_warn("quota: cannot write the new plans of %zu customers: in the next round",
			nreplan);
	memset(q->seen, 0, q->nseen * sizeof(*q->seen));
	for (size_t c = 0; c < cfg->ncustomers; c++)
		if (idx[c] < q->nseen)
			q->seen[idx[c]] =
				tg_hash(cfg->customers[c].id, strlen(cfg->customers[c].id)) | 1;
out:
	if (err) { /* the previous configuration's indexes are going: count nothing */
		pthread_mutex_lock(&q->lock);
		free(q->ent);
		q->ent = NULL;
		q->n = 0;
		q->idx = NULL;
		q->ncust = 0;
		q->ndirty = 0;
		pthread_mutex_unlock(&q->lock);
		tg_warn("quota: out of memory: volume quotas are not counted until the next "
			"reload");
	}
	free(plans);
	free(pnames);
	free(prow);
	free(replan);
	free(newc);
	free(pick);
	return err;
}

static void mark(struct tg_quota *q, struct qent *x)
{
	q->ndirty += !x->dirty;
	x->dirty = true;
}

void tg_quota_account(struct tg_quota *q, const struct tg_cstat *pass, int64_t wall_ms)
{
	int64_t *ps;

	if (!q->ent)
		return;
	ps = calloc(q->nplans ? q->nplans : 1, sizeof(*ps));
	if (!ps)
		return;
	for (size_t p = 0; p < q->nplans; p++) /* one calendar computation per plan */
		if (TG_QUOTA_ON(&q->plans[p]))
			ps[p] = tg_quota_period_start(&q->plans[p], wall_ms);
	pthread_mutex_lock(&q->lock);
	for (uint32_t i = 0; i < q->n; i++) {
		struct qent *x = &q->ent[i];

		if (!x->id[0])
			continue;
		/* a new period; one that goes back (the clock stepped back) is not taken */
		if (ps[x->plan] > x->period_start) {
			x->period_start = ps[x->plan];
			x->used[TG_DIR_UP] = x->used[TG_DIR_DOWN] = 0;
			mark(q, x);
		}
		for (int d = 0; d < TG_DIR_NR; d++) {
			uint64_t now = pass[i].bytes[d];

			if (x->have_base && now != x->base[d]) {
				/* below the last reading: the counter restarted from 0 */
				x->used[d] += now > x->base[d] ? now - x->base[d] : now;
				mark(q, x);
			}
			x->base[d] = now;
		}
		x->have_base = true;
	}
	pthread_mutex_unlock(&q->lock);
	free(ps);
}

static void pct_of(const struct tg_quota_cfg *qc, const struct qent *x, double pct[TG_DIR_NR])
{
	for (int d = 0; d < TG_DIR_NR; d++)
		pct[d] = qc->bytes[d] ? (double)x->used[d] * 100.0 / (double)qc->bytes[d] : 0.0;
}

void tg_quota_pct(const struct tg_quota *q, size_t c, double pct[TG_DIR_NR])
{
	const struct qent *x;

	pct[TG_DIR_UP] = pct[TG_DIR_DOWN] = 0;
	if (!q->ent || c >= q->ncust || q->idx[c] >= q->n)
		return;
	x = &q->ent[q->idx[c]];
	if (x->id[0])
		pct_of(&q->plans[x->plan], x, pct);
}

/* The exporter's view of index idx (a tracked one), under the lock. */
static void now_of(const struct tg_quota *q, uint32_t idx, int64_t now, struct tg_quota_now *out)
{
	const struct qent *x = &q->ent[idx];

	out->cfg = q->plans[x->plan];
	out->used[TG_DIR_UP] = x->used[TG_DIR_UP];
	out->used[TG_DIR_DOWN] = x->used[TG_DIR_DOWN];
	pct_of(&out->cfg, x, out->pct);
	out->pct_max = out->pct[0] > out->pct[1] ? out->pct[0] : out->pct[1];
	out->period_start_ms =
		x->period_start ? x->period_start : tg_quota_period_start(&out->cfg, now);
	out->period_end_ms = tg_quota_period_end(&out->cfg, out->period_start_ms);
}

int tg_quota_get(struct tg_quota *q, uint32_t idx, struct tg_quota_now *out)
{
	int err = -ENOENT;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&q->lock);
	if (q->ent && idx < q->n && q->ent[idx].id[0]) {
		now_of(q, idx, tg_now_ms(), out);
		err = 0;
	}
	pthread_mutex_unlock(&q->lock);
	return err;
}

size_t tg_quota_top(struct tg_quota *q, struct tg_quota_top *out, size_t max)
{
	int64_t now = tg_now_ms();
	size_t n = 0;

	pthread_mutex_lock(&q->lock);
	for (uint32_t i = 0; q->ent && max && i < q->n; i++) {
		const struct qent *x = &q->ent[i];
		double pct[TG_DIR_NR], v;
		size_t k;

		if (!x->id[0])
			continue;
		pct_of(&q->plans[x->plan], x, pct);
		v = pct[0] > pct[1] ? pct[0] : pct[1];
		if (n == max && v <= out[n - 1].now.pct_max)
			continue; /* the common case at scale: below the lowest kept */
		k = n < max ? n++ : n - 1;
		for (; k > 0 && out[k - 1].now.pct_max < v; k--) /* insertion, highest first */
			out[k] = out[k - 1];
		snprintf(out[k].id, sizeof(out[k].id), "%s", x->id);
		out[k].idx = i;
		now_of(q, i, now, &out[k].now);
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}
