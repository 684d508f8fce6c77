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
	int64_t period_start;
	uint64_t used[TG_DIR_NR];
	uint64_t base[TG_DIR_NR];
};

struct tg_quota {
	pthread_mutex_t lock; /* ent, plans: against tg_quota_get */
	struct qent *ent;     /* by index, n of them; NULL: no quota anywhere */
	uint32_t n;
	struct tg_quota_cfg *plans; /* the applied plans' quotas, copied */
	size_t nplans;
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
	free(q->seen);
	free(q);
}

bool tg_quota_active(const struct tg_quota *q)
{
	return q && q->ent;
}

/* The row of index i as it is written. */
static void row_of(const struct qent *x, uint32_t i, int64_t wall_ms, struct tg_quota_row *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->customer, sizeof(r->customer), "%s", x->id);
	r->period_start_ms = x->period_start;
	r->idx = i;
	r->updated_ms = wall_ms;
	for (int d = 0; d < TG_DIR_NR; d++) {
		r->used[d] = x->used[d];
		r->base[d] = x->base[d];
	}
}

int tg_quota_flush(struct tg_quota *q, struct tg_statedb *st, int64_t wall_ms, bool force)
{
	struct tg_quota_row *rows;
	size_t n = 0, cap = 0;
	int err;

	if (!q->ent || (!force && q->last_flush && wall_ms - q->last_flush < TG_QUOTA_FLUSH_MS &&
			wall_ms >= q->last_flush))
		return 0;
	for (uint32_t i = 0; i < q->n; i++)
		cap += q->ent[i].dirty && q->ent[i].have_base;
	q->last_flush = wall_ms;
	if (!cap)
		return 0;
	rows = malloc(cap * sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (uint32_t i = 0; i < q->n; i++) /* only usage taken at a reading: have_base */
		if (q->ent[i].dirty && q->ent[i].have_base)
			row_of(&q->ent[i], i, wall_ms, &rows[n++]);
	err = tg_state_quota_put(st, rows, n);
	free(rows);
	if (err) {
		tg_warn("quota: cannot write the usage of %zu customers to the state database "
			"(%s): tried again in %lld s",
			n, strerror(-err), (long long)(TG_QUOTA_FLUSH_MS / 1000));
		q->last_flush = 0; /* at the next interval */
		return err;
	}
	for (uint32_t i = 0; i < q->n; i++)
		if (q->ent[i].have_base)
			q->ent[i].dirty = false;
	return 0;
}

/*
 * Index i takes customer cu (plan p): its recorded usage. A row taken at this index gives
 * the counter reading too; one taken at another index means the counters here started at
 * 0 when it got this index (commit.c clears a departed customer's); no row: the usage
 * starts now, from the next reading (the counters hold traffic from before the quota).
 */
static void take(struct qent *x, struct tg_statedb *st, const char *id, int plan, uint32_t i,
		 bool fresh_index)
{
	struct tg_quota_row r;

	memset(x, 0, sizeof(*x));
	snprintf(x->id, sizeof(x->id), "%s", id);
	x->plan = plan;
	if (fresh_index)
		x->have_base = true; /* base 0: a new customer at a cleared index */
	if (!st || tg_state_quota_get(st, id, &r))
		return;
	x->period_start = r.period_start_ms;
	for (int d = 0; d < TG_DIR_NR; d++) {
		x->used[d] = r.used[d];
		x->base[d] = !fresh_index && r.idx == i ? r.base[d] : 0;
	}
	x->have_base = true;
}

int tg_quota_configure(struct tg_quota *q, struct tg_statedb *st, const struct tg_cfg *cfg,
		       const uint32_t *idx, uint32_t max_cust, int64_t wall_ms)
{
	struct tg_quota_cfg *plans = calloc(cfg->nplans ? cfg->nplans : 1, sizeof(*plans));
	struct qent *ent = q->ent, *old_ent = NULL;
	bool any = false, first = !q->idx;
	uint32_t n = q->n;

	if (!plans)
		return -ENOMEM;
	for (size_t p = 0; p < cfg->nplans; p++) {
		plans[p] = cfg->plans[p].quota;
		any = any || TG_QUOTA_ON(&plans[p]);
	}
	if (q->ent && st)
		tg_quota_flush(q, st, wall_ms, true); /* under the ids that used it */
	if (q->nseen != max_cust) {
		free(q->seen);
		q->seen = calloc(max_cust, sizeof(*q->seen));
		q->nseen = q->seen ? max_cust : 0;
		if (!q->seen) {
			free(plans);
			return -ENOMEM;
		}
	}
	if (any && (!ent || n != max_cust)) {
		old_ent = ent;
		ent = calloc(max_cust, sizeof(*ent));
		if (!ent) {
			free(plans);
			return -ENOMEM;
		}
		if (old_ent) /* a capacity change moves no index */
			memcpy(ent, old_ent, (n < max_cust ? n : max_cust) * sizeof(*ent));
		n = max_cust;
	}
	if (any) {
		/* which index each tracked customer is at now: the rest are dropped */
		bool *keep = calloc(n, sizeof(*keep));

		if (!keep) {
			if (ent != q->ent)
				free(ent);
			free(plans);
			return -ENOMEM;
		}
		for (size_t c = 0; c < cfg->ncustomers; c++) {
			const struct tg_customer *cu = &cfg->customers[c];
			uint32_t i = idx[c];
			uint64_t h = tg_hash(cu->id, strlen(cu->id)) | 1;
			struct qent *x;
			bool fresh;

			if (i >= n || cu->plan < 0 || !TG_QUOTA_ON(&plans[cu->plan]))
				continue;
			/* a customer that took this index since the last configure: its counters
			 * started at 0 then. At a start nothing is: they predate the daemon. */
			fresh = !first && q->seen[i] != h;
			x = &ent[i];
			keep[i] = true;
			if (x->id[0] && !strcmp(x->id, cu->id)) {
				x->plan = cu->plan;
				continue;
			}
			pthread_mutex_lock(&q->lock);
			take(x, st, cu->id, cu->plan, i, fresh);
			pthread_mutex_unlock(&q->lock);
		}
		pthread_mutex_lock(&q->lock);
		for (uint32_t i = 0; i < n; i++)
			if (!keep[i])
				memset(&ent[i], 0, sizeof(ent[i]));
		pthread_mutex_unlock(&q->lock);
		free(keep);
	}
	memset(q->seen, 0, q->nseen * sizeof(*q->seen));
	for (size_t c = 0; c < cfg->ncustomers; c++)
		if (idx[c] < q->nseen)
			q->seen[idx[c]] =
				tg_hash(cfg->customers[c].id, strlen(cfg->customers[c].id)) | 1;
	pthread_mutex_lock(&q->lock);
	if (!any) {
		free(ent);
		ent = NULL;
		n = 0;
	}
	q->ent = ent;
	q->n = n;
	free(q->plans);
	q->plans = plans;
	q->nplans = cfg->nplans;
	q->idx = idx;
	q->ncust = cfg->ncustomers;
	pthread_mutex_unlock(&q->lock);
	free(old_ent);
	return 0;
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
			x->dirty = true;
		}
		for (int d = 0; d < TG_DIR_NR; d++) {
			uint64_t now = pass[i].bytes[d];

			if (x->have_base && now != x->base[d]) {
				/* below the last reading: the counter restarted from 0 */
				x->used[d] += now > x->base[d] ? now - x->base[d] : now;
				x->dirty = true;
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
