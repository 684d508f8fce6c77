// SPDX-License-Identifier: GPL-2.0-only
/*
 * sync_inc.c - a reload in tollgated: the difference between the configuration applied
 * last, kept in memory (struct tg_applied), and the new one.
 *
 * The full sync (sync.c) learns what the maps hold by reading them back: 1M names,
 * records, sorted and merged. The daemon wrote the maps itself, so
 * it already knows. Customers are matched by id (a row reused by the parse points at its
 * old row directly), each is unchanged, changed or added, and the plan (struct tg_txn,
 * applied by commit.c in the one order) holds only those: records of changed and added
 * customers (and names of added ones); the IPv4 and IPv6 tables, each rebuilt in memory
 * (0.2-0.5 s each at 1M customers) and written where it differs; the ports whose owner
 * changed; the departed customers. When new customers need indexes only departed ones
 * can free, a first pass applies the changes and removals and a second the additions (as
 * the full sync does). No I/O but to the maps: the caller records what changed
 * (struct tg_idx_changes) in the state database.
 *
 * The snapshot is trusted only while tg_config.sync_gen is the one it left: any other
 * writer (tollgate attach, a full sync) bumps it, and the next reload is a full sync.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "lib/lib.h"
#include "maps.h"
#include "sync_int.h"

/* A bound customer: the access port it is on. Sorted by port, then index. */
struct bpair {
	struct tg_bind_key k;
	uint32_t idx;
};

struct tg_applied {
	struct tg_cfg *cfg;	  /* the configuration the maps hold (owned) */
	struct tg_load_cache *lc; /* its reload cache (owned), or NULL */
	uint32_t *idx;		  /* index of cfg->customers[i] */
	struct tg_cust *rec;	  /* record written for cfg->customers[i] */
	struct bpair *bind;	  /* every bound customer */
	size_t nbind;
	uint8_t *used; /* per customer index: taken */
	uint32_t max_cust;
	uint32_t gen;	     /* tg_config.sync_gen after the sync that wrote all this */
	uint32_t *scratch24; /* the IPv4 table is built here at each reload (64 MiB, kept warm) */
	bool stale;	     /* the state database missed a write: next time, a full sync */
};

const struct tg_cfg *tg_applied_cfg(const struct tg_applied *a)
{
	return a && !a->stale ? a->cfg : NULL;
}

const struct tg_load_cache *tg_applied_cache(const struct tg_applied *a)
{
	return a && !a->stale ? a->lc : NULL;
}

int tg_applied_index(struct tg_applied *a)
{
	return a ? tg_config_index_rows(a->cfg, a->lc) : 0;
}

void tg_applied_free(struct tg_applied *a)
{
	if (!a)
		return;
	tg_config_free(a->cfg);
	tg_load_cache_free(a->lc);
	free(a->idx);
	free(a->rec);
	free(a->bind);
	free(a->used);
	free(a->scratch24);
	free(a);
}

static int cmp_bpair(const void *a, const void *b)
{
	const struct bpair *x = a, *y = b;
	int r = tg_cmp_bind(&x->k, &y->k);

	return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

static bool rec_bound(const struct tg_cust *r)
{
	return r->bind_ifindex != 0;
}

static struct bpair rec_pair(const struct tg_cust *r, uint32_t idx)
{
	struct bpair p;

	memset(&p, 0, sizeof(p));
	p.k.ifindex = r->bind_ifindex;
	p.k.vlan = r->bind_vlan;
	p.k.ivlan = r->bind_ivlan;
	p.idx = idx;
	return p;
}

/* A snapshot of what a full sync wrote. Takes cfg, idx and rec. */
static struct tg_applied *applied_new(const struct tg_maps *m, struct tg_cfg *cfg,
				      struct tg_load_cache *lc, uint32_t *idx, struct tg_cust *rec,
				      uint32_t gen)
{
	struct tg_applied *a = calloc(1, sizeof(*a));
	size_t n = cfg->ncustomers;

	if (!a)
		return NULL;
	a->cfg = cfg;
	a->lc = lc;
	a->idx = idx;
	a->rec = rec;
	a->gen = gen;
	a->max_cust = m->max_cust;
	a->used = calloc(m->max_cust ? m->max_cust : 1, 1);
	a->bind = calloc(n + 1, sizeof(*a->bind));
	if (!a->used || !a->bind) {
		a->cfg = NULL; /* the caller frees cfg, lc, idx and rec on failure */
		a->lc = NULL;
		a->idx = NULL;
		a->rec = NULL;
		tg_applied_free(a);
		return NULL;
	}
	for (size_t c = 0; c < n; c++) {
		if (idx[c] < m->max_cust)
			a->used[idx[c]] = 1;
		if (rec_bound(&rec[c]))
			a->bind[a->nbind++] = rec_pair(&rec[c], idx[c]);
	}
	qsort(a->bind, a->nbind, sizeof(*a->bind), cmp_bpair);
	/* the buffer every reload builds the IPv4 table in, faulted in now rather than then */
	a->scratch24 = malloc(TG_V4_TBL24_ENTRIES * sizeof(uint32_t));
	tg_advise_huge(a->scratch24, TG_V4_TBL24_ENTRIES * sizeof(uint32_t));
	if (a->scratch24)
		memset(a->scratch24, 0, TG_V4_TBL24_ENTRIES * sizeof(uint32_t));
	return a;
}

/* ---- the difference ---- */

enum kind {
	K_SAME = 0,
	K_CHANGED = 1, /* record, prefixes or both */
	K_ADDED = 2,
};

struct inc {
	struct tg_maps *m;
	const struct tg_applied *a;    /* before */
	const struct tg_cfg *b;	       /* after */
	const struct tg_load_row *row; /* per b customer: its row of a->cfg if a copy (b's
					* load reused it), or NULL */
	uint32_t *idx;		       /* per b customer */
	struct tg_cust *rec;	       /* per b customer */
	uint8_t *kind;		       /* enum kind */
	uint8_t *pfx_changed;	       /* per b customer, K_CHANGED only */
	uint32_t *from;		       /* its row in a->cfg, K_SAME and K_CHANGED */
	uint32_t *removed;	       /* rows of a->cfg no longer configured */
	size_t nremoved, nadded;
	uint8_t *used;	    /* indexes taken (a copy of a->used, updated) */
	struct bpair *bind; /* the bindings the maps hold now */
	size_t nbind;
	bool bind_owned;	       /* bind is ours to free (not a->bind) */
	uint64_t tick_ns;	       /* the policer clock's resolution */
	struct tg_fprofs fp;	       /* the flood profiles of b */
	uint32_t *scratch24;	       /* a->scratch24, lent to the IPv4 builds */
	const struct tg_enf_view *enf; /* the enforcement state the records carry */
};

static void inc_free(struct inc *x)
{
	free(x->idx);
	free(x->rec);
	free(x->kind);
	free(x->pfx_changed);
	free(x->from);
	free(x->removed);
	free(x->used);
	if (x->bind_owned)
		free(x->bind);
	tg_fprofs_free(&x->fp);
}

static bool same_prefixes(const struct tg_customer *x, const struct tg_customer *y)
{
	return x->npfx == y->npfx && !memcmp(x->pfx, y->pfx, x->npfx * sizeof(*x->pfx));
}

/* Classify every configured customer against the applied configuration. */
static int diff(struct inc *x, uint64_t tick_ns, struct tg_errs *errs)
{
	const struct tg_cfg *a = x->a->cfg, *b = x->b;
	struct tg_ifcache ifc = {};
	uint8_t *kept = calloc(a->ncustomers + 1, 1);
	size_t n = b->ncustomers;
	int err = 0;

	x->idx = calloc(n + 1, sizeof(*x->idx));
	x->rec = calloc(n + 1, sizeof(*x->rec));
	x->kind = calloc(n + 1, 1);
	x->pfx_changed = calloc(n + 1, 1);
	x->from = calloc(n + 1, sizeof(*x->from));
	x->removed = calloc(a->ncustomers + 1, sizeof(*x->removed));
	err = tg_fprofs_build(b, &x->fp, errs);
	if (err) {
		free(kept);
		return err;
	}
	if (!kept || !x->idx || !x->rec || !x->kind || !x->pfx_changed || !x->from || !x->removed) {
		free(kept);
		return -ENOMEM;
	}
	for (size_t c = 0; c < n; c++) {
		const struct tg_customer *cu = &b->customers[c];
		long p = -1;

		uint32_t prev_row = x->row ? x->row[c].prev : UINT32_MAX;

		if (prev_row < a->ncustomers)
			p = prev_row; /* the same bytes: same id, plan, prefixes, binding */
		else
			p = tg_config_customer(a, cu->id);
		if (p >= 0 && prev_row == (uint32_t)p) {
			x->rec[c] = x->a->rec[p];
			/* profiles of customers' own limits are numbered anew each time */
			x->rec[c].fprof = x->fp.of[c];
			/* the record as applied, enforcement state included (tollgated
			 * keeps it current: tg_applied_enforce) */
			if (cu->iface[0] &&
			    tg_ifindex_cached(&ifc, cu->iface) != x->rec[c].bind_ifindex) {
				if (tg_make_record(cu, x->fp.of[c], tick_ns, &ifc, &x->rec[c],
						   errs))
					err = -ENODEV; /* the interface went away or came back */
				else
					tg_record_enforce(&x->rec[c], cu, x->enf, tick_ns);
			}
		} else if (tg_make_record(cu, x->fp.of[c], tick_ns, &ifc, &x->rec[c], errs)) {
			err = -ENODEV;
		} else if (tg_enf_any(x->enf)) {
			tg_record_enforce(&x->rec[c], cu, x->enf, tick_ns);
		}
		if (p < 0) {
			x->kind[c] = K_ADDED;
			x->nadded++;
			continue;
		}
		kept[p] = 1;
		x->from[c] = (uint32_t)p;
		x->idx[c] = x->a->idx[p];
		x->pfx_changed[c] = !same_prefixes(cu, &a->customers[p]);
		if (x->pfx_changed[c] || memcmp(&x->rec[c], &x->a->rec[p], sizeof(x->rec[c])))
			x->kind[c] = K_CHANGED;
	}
	for (size_t p = 0; p < a->ncustomers; p++)
		if (!kept[p])
			x->removed[x->nremoved++] = (uint32_t)p;
	free(kept);
	return err;
}

/*
 * Indexes for the added customers: the lowest free ones. -EAGAIN if only departed
 * customers' indexes would make room (two passes), -ENOSPC if nothing would.
 */
static int assign(struct inc *x, struct tg_errs *errs)
{
	uint32_t max = x->m->max_cust, next = 1;

	for (size_t c = 0; c < x->b->ncustomers; c++) {
		if (x->kind[c] != K_ADDED)
			continue;
		while (next < max && x->used[next])
			next++;
		if (next >= max) {
			/* none given yet: the caller may come back after freeing some */
			for (size_t u = 0; u < c; u++) {
				if (x->kind[u] == K_ADDED) {
					x->used[x->idx[u]] = 0;
					x->idx[u] = 0;
				}
			}
			if (x->b->ncustomers < max && x->nremoved)
				return -EAGAIN;
			tg_errs_add(errs,
				    "%s: %zu customers do not fit in the maps (%u): raise "
				    "capacity.max_customers in tollgate.yaml",
				    x->b->path, x->b->ncustomers, max - 1);
			return -ENOSPC;
		}
		x->idx[c] = next;
		x->used[next] = 1;
	}
	return 0;
}

/* ---- one pass: what it writes is computed first, so a capacity error writes nothing ---- */

struct pass {
	bool adds, changes, removes; /* what this pass applies */
	struct tg_txn p;	     /* what it writes */
	size_t nv4, nv6;	     /* prefixes */
	struct bpair *bind;	     /* the bindings after the pass */
	size_t nbind;
};

static void pass_free(struct pass *ps)
{
	tg_txn_free(&ps->p);
	free(ps->bind);
}

/* In this pass's target: everything but additions left for a second pass. */
static bool in_target(const struct inc *x, const struct pass *ps, size_t c)
{
	return x->kind[c] != K_ADDED || ps->adds;
}

static int plan_records(const struct inc *x, struct pass *ps)
{
	size_t n = x->b->ncustomers;

	struct tg_txn *p = &ps->p;

	p->rkeys = calloc(n + 1, sizeof(*p->rkeys));
	p->rvals = calloc(n + 1, sizeof(*p->rvals));
	p->nkeys = calloc(x->nadded + 1, sizeof(*p->nkeys));
	p->names = calloc(x->nadded + 1, TG_ID_LEN);
	if (!p->rkeys || !p->rvals || !p->nkeys || !p->names)
		return -ENOMEM;
	for (size_t c = 0; c < n; c++) {
		if (x->kind[c] == K_SAME || !in_target(x, ps, c) ||
		    (x->kind[c] == K_CHANGED && !ps->changes))
			continue;
		if (x->kind[c] == K_CHANGED &&
		    !memcmp(&x->rec[c], &x->a->rec[x->from[c]], sizeof(x->rec[c])))
			continue; /* only its prefixes changed */
		p->rkeys[p->nrec] = x->idx[c];
		p->rvals[p->nrec++] = x->rec[c];
		if (x->kind[c] == K_ADDED) {
			p->nkeys[p->nnames] = x->idx[c];
			snprintf(p->names[p->nnames++], TG_ID_LEN, "%s", x->b->customers[c].id);
		}
	}
	return 0;
}

/* The target's prefixes, by family in one walk, and the IPv4 and IPv6 tables built from
 * them (the IPv4 phase is timed on its own). */
static int plan_prefixes(const struct inc *x, struct pass *ps, struct timespec *t,
			 struct tg_errs *errs)
{
	const struct tg_cfg *b = x->b;
	size_t n = 0, k4 = 0, k6 = 0;
	struct tg_v4pfx *v4;
	struct tg_v6pfx *v6;
	int err;

	for (size_t c = 0; c < b->ncustomers; c++)
		n += b->customers[c].npfx;
	v4 = calloc(n + 1, sizeof(*v4));
	v6 = calloc(n + 1, sizeof(*v6));
	if (!v4 || !v6) {
		free(v4);
		free(v6);
		return -ENOMEM;
	}
	for (size_t c = 0; c < b->ncustomers; c++) {
		const struct tg_customer *cu = &b->customers[c];

		if (!in_target(x, ps, c))
			continue;
		for (size_t j = 0; j < cu->npfx; j++) {
			uint32_t addr;

			if (cu->pfx[j].family == AF_INET6) {
				tg_v6_pfx(&cu->pfx[j], x->idx[c], &v6[k6++]);
				continue;
			}
			memcpy(&addr, cu->pfx[j].addr, 4);
			v4[k4].addr = ntohl(addr);
			v4[k4].plen = cu->pfx[j].plen;
			v4[k4++].cust = x->idx[c];
		}
	}
	ps->nv4 = k4;
	ps->nv6 = k6;
	if (x->scratch24) {
		ps->p.v4.tbl24 = x->scratch24;
		ps->p.v4.tbl24_lent = true;
	}
	err = tg_v4_build(x->m, v4, k4, &ps->p.v4, b, errs);
	free(v4);
	tg_sync_phase("IPv4 table built", t);
	if (!err)
		err = tg_v6_build(x->m, v6, k6, &ps->p.v6, b, errs);
	free(v6);
	return err;
}

/* Collapse sorted pairs to one value per port (TG_BIND_AMBIGUOUS if shared). */
static size_t next_port(const struct bpair *p, size_t n, size_t i, uint32_t *val)
{
	size_t j = i + 1;

	while (j < n && !tg_cmp_bind(&p[j].k, &p[i].k))
		j++;
	*val = j - i > 1 ? TG_BIND_AMBIGUOUS : p[i].idx;
	return j;
}

static int plan_bind(const struct inc *x, struct pass *ps)
{
	const struct tg_cfg *b = x->b;
	struct bpair *rm = NULL, *add = NULL;
	size_t nrm = 0, nadd = 0, i, j, k;
	int err = -ENOMEM;

	rm = calloc(x->b->ncustomers + x->nremoved + 1, sizeof(*rm));
	add = calloc(x->b->ncustomers + 1, sizeof(*add));
	if (!rm || !add)
		goto out;
	for (size_t c = 0; c < b->ncustomers; c++) {
		const struct tg_cust *n = &x->rec[c];

		if (x->kind[c] == K_CHANGED && ps->changes) {
			const struct tg_cust *o = &x->a->rec[x->from[c]];

			if (o->bind_ifindex == n->bind_ifindex && o->bind_vlan == n->bind_vlan &&
			    o->bind_ivlan == n->bind_ivlan)
				continue;
			if (rec_bound(o))
				rm[nrm++] = rec_pair(o, x->idx[c]);
			if (rec_bound(n))
				add[nadd++] = rec_pair(n, x->idx[c]);
		} else if (x->kind[c] == K_ADDED && ps->adds && rec_bound(n)) {
			add[nadd++] = rec_pair(n, x->idx[c]);
		}
	}
	for (i = 0; ps->removes && i < x->nremoved; i++) {
		uint32_t p = x->removed[i];

		if (rec_bound(&x->a->rec[p]))
			rm[nrm++] = rec_pair(&x->a->rec[p], x->a->idx[p]);
	}
	qsort(rm, nrm, sizeof(*rm), cmp_bpair);
	qsort(add, nadd, sizeof(*add), cmp_bpair);

	/* after = (before - rm) + add, all sorted */
	ps->bind = calloc(x->nbind + nadd + 1, sizeof(*ps->bind));
	if (!ps->bind)
		goto out;
	for (i = 0, j = 0, k = 0; i < x->nbind || k < nadd;) {
		if (i < x->nbind) {
			while (j < nrm && cmp_bpair(&rm[j], &x->bind[i]) < 0)
				j++;
			if (j < nrm && !cmp_bpair(&rm[j], &x->bind[i])) {
				i++;
				j++;
				continue;
			}
		}
		if (k < nadd && (i >= x->nbind || cmp_bpair(&add[k], &x->bind[i]) < 0))
			ps->bind[ps->nbind++] = add[k++];
		else
			ps->bind[ps->nbind++] = x->bind[i++];
	}

	/* the ports whose value changes, and the ports that go */
	ps->p.bupd = calloc(ps->nbind + 1, sizeof(*ps->p.bupd));
	ps->p.bupd_v = calloc(ps->nbind + 1, sizeof(*ps->p.bupd_v));
	ps->p.bdel = calloc(x->nbind + 1, sizeof(*ps->p.bdel));
	if (!ps->p.bupd || !ps->p.bupd_v || !ps->p.bdel)
		goto out;
	for (i = 0, j = 0; i < x->nbind || j < ps->nbind;) {
		int d = i >= x->nbind	 ? 1
			: j >= ps->nbind ? -1
					 : tg_cmp_bind(&x->bind[i].k, &ps->bind[j].k);
		uint32_t vo = 0, vn = 0;
		size_t ni = i, nj = j;

		if (d <= 0)
			ni = next_port(x->bind, x->nbind, i, &vo);
		if (d >= 0)
			nj = next_port(ps->bind, ps->nbind, j, &vn);
		if (d < 0) {
			ps->p.bdel[ps->p.nbdel++] = x->bind[i].k;
		} else if (d > 0 || vo != vn) {
			ps->p.bupd[ps->p.nbupd] = ps->bind[j].k;
			ps->p.bupd_v[ps->p.nbupd++] = vn;
		}
		i = ni;
		j = nj;
	}
	err = 0;
out:
	free(rm);
	free(add);
	return err;
}

/* Commit the pass's plan; the departed customers' indexes are free again after. */
static int write_pass(struct inc *x, struct pass *ps, struct tg_errs *errs)
{
	struct tg_txn *p = &ps->p;
	int err;

	p->cfg = x->b;
	p->fp = &x->fp;
	p->tick_ns = x->tick_ns;
	if (ps->removes && x->nremoved) {
		p->gone = calloc(x->nremoved, sizeof(*p->gone));
		if (!p->gone)
			return -ENOMEM;
		for (size_t i = 0; i < x->nremoved; i++)
			p->gone[i] = x->a->idx[x->removed[i]];
		p->ngone = x->nremoved;
	}
	err = tg_commit(x->m, p, errs);
	for (size_t i = 0; !err && i < p->ngone; i++)
		x->used[p->gone[i]] = 0;
	return err;
}

/* t: the sync's phase clock (tg_sync_phase), so that the phases of -v add up */
static int run_pass(struct inc *x, bool adds, bool changes, bool removes, struct timespec *t,
		    struct tg_errs *errs)
{
	struct pass ps = {.adds = adds, .changes = changes, .removes = removes};
	struct tg_counts *counts = &ps.p.counts;
	int err;

	err = plan_records(x, &ps);
	if (!err)
		err = plan_prefixes(x, &ps, t, errs);
	if (!err)
		err = plan_bind(x, &ps);
	tg_sync_phase("IPv6 and bindings planned", t);
	if (err) {
		if (err == -ENOMEM)
			tg_errs_add(errs, "out of memory while preparing the maps");
		goto out;
	}
	for (size_t c = 0; c < x->b->ncustomers; c++)
		counts->customers += in_target(x, &ps, c);
	counts->prefixes4 = (uint32_t)ps.nv4;
	counts->prefixes6 = (uint32_t)ps.nv6;
	counts->chunks4 = (uint32_t)ps.p.v4.nblocks;
	counts->chunks6 = (uint32_t)tg_v6_nodes(&ps.p.v6);
	counts->cmps6 = (uint32_t)tg_v6_cmps(&ps.p.v6);
	err = write_pass(x, &ps, errs);
	tg_sync_phase("maps written", t);
	if (err)
		goto out;
	if (x->bind_owned)
		free(x->bind);
	x->bind = ps.bind;
	x->nbind = ps.nbind;
	x->bind_owned = true;
	ps.bind = NULL;
out:
	pass_free(&ps);
	return err;
}

/* What the state database should learn: the added and removed customers (kept ones keep
 * their row). */
static int idx_changes(const struct inc *x, struct tg_idx_changes *chg)
{
	chg->set = calloc(x->nadded + 1, sizeof(*chg->set));
	chg->drop = calloc(x->nremoved + 1, sizeof(*chg->drop));
	if (!chg->set || !chg->drop) {
		tg_idx_changes_free(chg);
		return -ENOMEM;
	}
	for (size_t c = 0; c < x->b->ncustomers; c++)
		if (x->kind[c] == K_ADDED)
			chg->set[chg->nset++] =
				(struct tg_idx_hint){x->b->customers[c].id, x->idx[c]};
	for (size_t i = 0; i < x->nremoved; i++)
		chg->drop[chg->ndrop++] = x->a->cfg->customers[x->removed[i]].id;
	return 0;
}

int tg_applied_usable(const struct tg_maps *m, const struct tg_applied *a, const struct tg_cfg *cfg)
{
	struct tg_config bc;
	uint32_t zero = 0;

	if (!a)
		return -ESTALE;
	if (bpf_map_lookup_elem(m->config, &zero, &bc))
		return neg_errno();
	if (a->stale || !a->cfg->ids.slot || bc.sync_gen != a->gen || a->max_cust != m->max_cust ||
	    !m->tbl24 || !m->tbl8 || !cfg->state_path != !a->cfg->state_path ||
	    (cfg->state_path && strcmp(cfg->state_path, a->cfg->state_path)))
		return -ESTALE;
	return 0;
}

void tg_applied_set_stale(struct tg_applied *a)
{
	if (a)
		a->stale = true;
}

/* The incremental sync proper, under the writers' lock. -ESTALE: do a full one. */
static int sync_inc(struct tg_maps *m, struct tg_applied **app, struct tg_cfg *cfg,
		    struct tg_load_cache *lc, const struct tg_enf_view *enf,
		    struct tg_applied **old, struct tg_sync_stats *st, struct tg_idx_changes *chg,
		    struct tg_errs *errs)
{
	struct tg_applied *a = *app, *n = NULL;
	struct inc x = {.m = m, .a = a, .b = cfg, .enf = enf};
	struct timespec t = {};
	struct tg_config bc;
	uint32_t zero = 0, gen;
	int err;

	err = tg_applied_usable(m, a, cfg);
	if (err)
		return err;
	if (lc && lc->reused_from == a->cfg && lc->row)
		x.row = lc->row;
	if (bpf_map_lookup_elem(m->config, &zero, &bc))
		return neg_errno();
	tg_sync_phase("start", &t);
	x.bind = a->bind;
	x.nbind = a->nbind;
	x.used = malloc(m->max_cust);
	if (!x.used) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(x.used, a->used, m->max_cust);
	x.tick_ns = bc.clock_tick_ns;
	if (!a->scratch24) {
		a->scratch24 = malloc(TG_V4_TBL24_ENTRIES * sizeof(uint32_t));
		tg_advise_huge(a->scratch24, TG_V4_TBL24_ENTRIES * sizeof(uint32_t));
	}
	x.scratch24 = a->scratch24; /* the snapshot owns it until the new one takes it */
	err = diff(&x, bc.clock_tick_ns, errs);
	if (!err)
		err = assign(&x, errs);
	tg_sync_phase("difference", &t);
	if (err == -EAGAIN) {
		/* new customers need the indexes of departed ones: those go first */
		st->two_pass = true;
		err = run_pass(&x, false, true, true, &t, errs);
		if (!err)
			err = assign(&x, errs);
		if (!err)
			err = run_pass(&x, true, false, false, &t, errs);
	} else if (!err) {
		err = run_pass(&x, true, true, true, &t, errs);
	}
	if (err) {
		if (err == -ENOMEM)
			tg_errs_add(errs, "out of memory while preparing the maps");
		goto out;
	}
	err = tg_bump_sync_gen(m, &gen);
	if (err) {
		tg_errs_add(errs, "cannot update tg_config: %s", strerror(-err));
		goto out;
	}
	st->customers = cfg->ncustomers;
	st->added = x.nadded;
	st->removed = x.nremoved;
	for (size_t c = 0; c < cfg->ncustomers; c++)
		st->changed += x.kind[c] == K_CHANGED;

	n = calloc(1, sizeof(*n));
	if (!n) {
		err = -ENOMEM;
		goto out;
	}
	n->cfg = cfg;
	n->lc = lc;
	n->idx = x.idx;
	n->rec = x.rec;
	n->used = x.used;
	n->max_cust = m->max_cust;
	n->gen = gen;
	n->bind = x.bind;
	n->nbind = x.nbind;
	n->scratch24 = a->scratch24;
	a->scratch24 = NULL;
	if (!x.bind_owned) { /* nothing moved: share nothing with the old snapshot */
		n->bind = malloc((x.nbind + 1) * sizeof(*n->bind));
		if (n->bind)
			memcpy(n->bind, x.bind, x.nbind * sizeof(*n->bind));
		else
			n->stale = true, n->nbind = 0;
	}
	if (chg && idx_changes(&x, chg)) {
		tg_errs_add(errs, "out of memory: the customer indexes are not recorded; the "
				  "maps are updated, the next reload records them");
		n->stale = true;
	}
	x.idx = NULL;
	x.rec = NULL;
	x.used = NULL;
	x.bind_owned = false;
	*old = a;
	*app = n;
out:
	if (err) {
		/* the maps may be half-way: the next sync reads them back */
		if (*app)
			(*app)->stale = true;
	}
	inc_free(&x);
	return err;
}

int tg_sync_applied(struct tg_maps *m, struct tg_applied **app, struct tg_cfg *cfg,
		    struct tg_load_cache *lc, const struct tg_sync_env *env,
		    struct tg_applied **old, struct tg_sync_stats *st, struct tg_idx_changes *chg,
		    struct tg_errs *errs)
{
	struct tg_sync_stats dummy;
	struct tg_cust *rec = NULL;
	uint32_t *idx = NULL, gen = 0;
	int err;

	*old = NULL;
	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (chg)
		memset(chg, 0, sizeof(*chg));
	if (*app) {
		err = sync_inc(m, app, cfg, lc, env ? env->enf : NULL, old, st, chg, errs);
		if (err != -ESTALE) {
			if (err) {
				tg_config_free(cfg);
				tg_load_cache_free(lc);
			}
			return err;
		}
		if (tg_log_verbose)
			tg_info("sync: the maps changed since the last sync: a full sync");
	}
	err = tg_sync_full(m, cfg, env, st, chg, errs, &idx, &rec, &gen);
	if (err) {
		if (*app)
			(*app)->stale = true;
		tg_config_free(cfg);
		tg_load_cache_free(lc);
		return err;
	}
	*old = *app;
	*app = applied_new(m, cfg, lc, idx, rec, gen);
	if (!*app) {
		/* the maps say what cfg says; without a snapshot the next sync is a full one */
		free(idx);
		free(rec);
		tg_config_free(cfg);
		tg_load_cache_free(lc);
		/* and the ids of chg went with cfg: the state database learns them then */
		if (chg)
			tg_idx_changes_free(chg);
	}
	return 0;
}

int tg_applied_current(const struct tg_maps *m, const struct tg_applied *a)
{
	struct tg_config bc;
	__u32 zero = 0;

	if (!a || a->stale)
		return -ESTALE;
	if (bpf_map_lookup_elem(m->config, &zero, &bc))
		return neg_errno();
	return bc.sync_gen == a->gen ? 0 : -ESTALE;
}

/*
 * The snapshot no longer describes the maps: write the customer's record where the maps
 * have it now (found by name), the record there with cu's enforcement applied, so that
 * from this lock on the record and the enforcement table agree, not only after the full
 * sync the caller does next (which writes cu's rates there anyway). Not loaded: nothing.
 */
static int enforce_in_place(struct tg_maps *m, const struct tg_customer *cu,
			    const struct tg_enf_view *enf, uint64_t tick_ns)
{
	uint32_t idx = tg_find_customer(m, cu->id);
	struct tg_cust rec;

	if (!idx)
		return 0;
	if (bpf_map_lookup_elem(m->cust, &idx, &rec))
		return -errno;
	tg_record_enforce(&rec, cu, enf, tick_ns);
	if (bpf_map_update_elem(m->cust, &idx, &rec, BPF_EXIST))
		return -errno;
	return 0;
}

int tg_applied_enforce(struct tg_maps *m, struct tg_applied *a, const char *id,
		       const struct tg_enf_view *enf)
{
	char name[TG_ID_LEN] = "";
	struct tg_config bc;
	struct tg_cust rec;
	__u32 zero = 0, idx;
	long p;

	if (!a)
		return -ESTALE;
	if (!a->cfg->ids.slot && tg_config_index_rows(a->cfg, a->lc))
		return -ENOMEM;
	p = tg_config_customer(a->cfg, id);
	if (p < 0)
		return a->stale ? -ESTALE : -ENOENT;
	if (bpf_map_lookup_elem(m->config, &zero, &bc))
		return -errno;
	/*
	 * Another writer (tollgate attach, a reload without tollgated) may have synced since
	 * our snapshot and given the index to someone else: the generation says whether the
	 * snapshot still describes the maps, tg_names whether the index is still this
	 * customer's. Either wrong: the record is written where the customer is now, and the
	 * caller syncs in full (the records then come from the enforcement table, by id)
	 * instead of writing an old record over another customer.
	 */
	idx = a->idx[p];
	if (a->stale || bc.sync_gen != a->gen || bpf_map_lookup_elem(m->names, &idx, name) ||
	    strncmp(name, id, TG_ID_LEN) != 0) {
		int err = enforce_in_place(m, &a->cfg->customers[p], enf, bc.clock_tick_ns);

		return err ? err : -ESTALE;
	}
	rec = a->rec[p];
	tg_record_enforce(&rec, &a->cfg->customers[p], enf, bc.clock_tick_ns);
	if (bpf_map_update_elem(m->cust, &idx, &rec, BPF_EXIST))
		return -errno;
	a->rec[p] = rec;
	return 0;
}

const uint32_t *tg_applied_idx(const struct tg_applied *a)
{
	return a && !a->stale ? a->idx : NULL;
}
