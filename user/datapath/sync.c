// SPDX-License-Identifier: GPL-2.0-only
/*
 * sync.c - the full planner: make the customer maps say what a validated config says,
 * learning what they hold by reading them back (tollgate attach, a reload without
 * tollgated, or tollgated when its snapshot is stale).
 *
 * Everything is computed first (indexes, records, IPv4 table, IPv6 trie, bindings) and
 * checked against the maps' capacity, into a struct tg_txn; only then does the committer
 * (commit.c) write it, in the one order, so a config that does not fit changes nothing.
 * Customers keep their index across syncs (matched by external id through tg_names; a
 * customer not loaded gets the index the caller's hints remember for it, if free), so
 * counters and policer state never jump from one customer to another.
 *
 * No I/O but to the maps: the caller (the reload path) reads the state database and
 * passes what the sync needs (struct tg_sync_env), and records what it gave
 * (struct tg_idx_changes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/lib.h"
#include "maps.h"
#include "sync_int.h"

/* ---- customer indexes ---- */

struct idname {
	const char *id;
	uint32_t idx;
};

static int cmp_idname(const void *a, const void *b)
{
	return strcmp(((const struct idname *)a)->id, ((const struct idname *)b)->id);
}

/* The loaded customers (non-empty names) as (id, index), sorted by id; returns how many. */
static size_t index_names(char (*names)[TG_ID_LEN], uint32_t n, struct idname *out)
{
	size_t cnt = 0;
	uint32_t i;

	for (i = 1; i < n; i++) {
		if (names[i][0]) {
			names[i][TG_ID_LEN - 1] = '\0';
			out[cnt].id = names[i];
			out[cnt++].idx = i;
		}
	}
	qsort(out, cnt, sizeof(*out), cmp_idname);
	return cnt;
}

static int read_names(const struct tg_maps *m, char (**names)[TG_ID_LEN])
{
	void *keys = NULL, *vals = NULL;
	size_t n, i;
	int err;

	err = tg_dump_map(m->names, m->max_cust, sizeof(__u32), TG_ID_LEN, &keys, &vals, &n);
	if (err)
		return err;
	*names = calloc(m->max_cust, TG_ID_LEN);
	if (!*names) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		__u32 k = ((__u32 *)keys)[i];

		if (k < m->max_cust)
			memcpy((*names)[k], (char *)vals + i * TG_ID_LEN, TG_ID_LEN);
	}
	free(keys);
	free(vals);
	return 0;
}

uint32_t tg_find_customer(const struct tg_maps *m, const char *id)
{
	char(*names)[TG_ID_LEN] = NULL;
	uint32_t i, found = TG_CUST_NONE;

	if (read_names(m, &names))
		return TG_CUST_NONE;
	for (i = 1; i < m->max_cust; i++) {
		if (names[i][0] && strncmp(names[i], id, TG_ID_LEN) == 0) {
			found = i;
			break;
		}
	}
	free(names);
	return found;
}

/*
 * idx[c] for every configured customer: its current index if its id is already loaded,
 * else the lowest free one. removed[] lists indexes whose id is no longer configured.
 */
static int cmp_assign(const void *a, const void *b)
{
	return strcmp(((const struct tg_idx_hint *)a)->id, ((const struct tg_idx_hint *)b)->id);
}

/*
 * idx[c] for every configured customer: its index in the maps if it is loaded; else the
 * one the state database remembers for it, if free; else the lowest free one. removed[]
 * lists the loaded indexes whose id is no longer configured.
 */
static int assign_indexes(const struct tg_maps *m, const struct tg_cfg *cfg,
			  char (*names)[TG_ID_LEN], const struct tg_idx_hint *db, size_t ndb,
			  uint32_t *idx, uint32_t **removed, size_t *nremoved, struct tg_errs *errs)
{
	struct idname *live = NULL, key, *hit;
	size_t nlive = 0, c;
	uint32_t i, next = 1;
	bool *used;
	int err = 0;

	*removed = NULL;
	*nremoved = 0;
	if (!m->max_cust) /* no map loaded: nothing to index into */
		return -EINVAL;
	used = calloc(m->max_cust, sizeof(bool));
	live = calloc(m->max_cust, sizeof(*live));
	*removed = calloc(m->max_cust, sizeof(uint32_t));
	*nremoved = 0;
	if (!used || !live || !*removed) {
		err = -ENOMEM;
		goto out;
	}
	nlive = index_names(names, m->max_cust, live);
	for (c = 0; c < cfg->ncustomers; c++) {
		key.id = cfg->customers[c].id;
		hit = bsearch(&key, live, nlive, sizeof(*live), cmp_idname);
		idx[c] = hit ? hit->idx : TG_CUST_NONE;
		if (hit)
			used[hit->idx] = true;
	}
	for (i = 0; i < nlive; i++) {
		if (!used[live[i].idx])
			(*removed)[(*nremoved)++] = live[i].idx;
	}
	/* a removed customer's index is free again once step 4 has cleared it */
	for (i = 0; i < *nremoved; i++)
		used[(*removed)[i]] = true;
	for (c = 0; c < cfg->ncustomers && ndb; c++) {
		struct tg_idx_hint k = {.id = cfg->customers[c].id}, *a;

		if (idx[c])
			continue;
		a = bsearch(&k, db, ndb, sizeof(*db), cmp_assign);
		if (a && a->idx > 0 && a->idx < m->max_cust && !used[a->idx]) {
			idx[c] = a->idx;
			used[a->idx] = true;
		}
	}
	for (c = 0; c < cfg->ncustomers; c++) {
		if (idx[c])
			continue;
		while (next < m->max_cust && used[next])
			next++;
		if (next >= m->max_cust) {
			if (cfg->ncustomers < m->max_cust && *nremoved) {
				/* fits once the departed customers are gone: the caller removes
				 * them in a first pass and comes back */
				err = -EAGAIN;
				goto out;
			}
			tg_errs_add(errs,
				    "%s: %zu customers do not fit in the maps (%u): raise "
				    "capacity.max_customers in tollgate.yaml",
				    cfg->path, cfg->ncustomers, m->max_cust - 1);
			err = -ENOSPC;
			goto out;
		}
		idx[c] = next;
		used[next] = true;
	}
out:
	free(used);
	free(live);
	return err;
}

/* ---- records ---- */

uint32_t tg_ifindex_cached(struct tg_ifcache *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->e[i].name, name) == 0)
			return c->e[i].ifindex;
	if (c->n == TG_IFCACHE_MAX)
		return if_nametoindex(name);
	snprintf(c->e[c->n].name, sizeof(c->e[c->n].name), "%s", name);
	c->e[c->n].ifindex = if_nametoindex(name);
	return c->e[c->n++].ifindex;
}

int tg_make_record(const struct tg_customer *cu, uint16_t fprof, uint64_t tick_ns,
		   struct tg_ifcache *ifc, struct tg_cust *v, struct tg_errs *errs)
{
	memset(v, 0, sizeof(*v));
	v->flags = TG_CF_VALID;
	v->state = TG_ST_ACTIVE;
	v->plan = cu->plan;
	v->fprof = fprof;
	v->bind_vlan = cu->vlan;
	v->bind_ivlan = cu->ivlan;
	for (int j = 0; j < TG_DIR_NR; j++) {
		tg_policer_params(&cu->dir[j], tick_ns, &v->pol[j]);
		/* the peak itself is in the plan's flood profile (fprof.c), with the rate's
		 * yellow DSCP */
		if (cu->dir[j].peak_rate_bps && fprof)
			v->flags |= TG_CF_TRTCM;
	}
	if (cu->iface[0]) {
		v->bind_ifindex = tg_ifindex_cached(ifc, cu->iface);
		if (!v->bind_ifindex) {
			tg_errs_add(errs,
				    "customers line %d: customer %s is bound to interface %s, "
				    "which does not exist on this host",
				    cu->line, cu->id, cu->iface);
			return -ENODEV;
		}
	}
	return 0;
}

void tg_record_enforce(struct tg_cust *v, const struct tg_customer *cu,
		       const struct tg_enf_view *enf, uint64_t tick_ns)
{
	uint64_t throttle_bps = 0;

	v->state = enf ? enf->state_of(enf->ctx, cu->id, &throttle_bps) : TG_ST_ACTIVE;
	/* a throttled customer is held to its throttle rate: no peak above it */
	v->flags &= (__u8)~TG_CF_TRTCM;
	if ((cu->dir[TG_DIR_UP].peak_rate_bps || cu->dir[TG_DIR_DOWN].peak_rate_bps) && v->fprof &&
	    v->state != TG_ST_THROTTLED)
		v->flags |= TG_CF_TRTCM;
	for (int j = 0; j < TG_DIR_NR; j++) {
		struct tg_rate_cfg r = cu->dir[j];

		if (v->state == TG_ST_THROTTLED && throttle_bps &&
		    (!r.rate_bps || r.rate_bps > throttle_bps)) {
			r.rate_bps = throttle_bps;
			if (r.burst_bytes < TG_BURST_MIN_BYTES)
				r.burst_bytes = TG_BURST_MIN_BYTES;
			if (r.burst_bytes > r.rate_bps / 8) /* at most a second's worth */
				r.burst_bytes = r.rate_bps / 8 > TG_BURST_MIN_BYTES
							? r.rate_bps / 8
							: TG_BURST_MIN_BYTES;
		}
		tg_policer_params(&r, tick_ns, &v->pol[j]);
	}
}

bool tg_enf_any(const struct tg_enf_view *enf)
{
	return enf && enf->count(enf->ctx) > 0;
}

/* ---- the plan ---- */

/* Every configured customer's binding, sorted, one value per port (TG_BIND_AMBIGUOUS if
 * shared): all set; the live ports no longer bound deleted. */
static int plan_bindings(const struct tg_maps *m, const struct tg_cfg *cfg, const uint32_t *idx,
			 const struct tg_cust *rec, struct tg_txn *o)
{
	void *keys = NULL, *vals = NULL;
	size_t c, i, n = 0, nlive = 0;
	int err;
	struct {
		struct tg_bind_key k;
		__u32 v;
	} *tmp = calloc(cfg->ncustomers + 1, sizeof(*tmp));

	if (!tmp)
		return -ENOMEM;
	for (c = 0; c < cfg->ncustomers; c++) {
		const struct tg_customer *cu = &cfg->customers[c];

		if (!cu->iface[0])
			continue;
		tmp[n].k.ifindex = rec[c].bind_ifindex;
		tmp[n].k.vlan = cu->vlan;
		tmp[n].k.ivlan = cu->ivlan;
		tmp[n++].v = idx[c];
	}
	qsort(tmp, n, sizeof(*tmp), tg_cmp_bind);
	o->bupd = calloc(n + 1, sizeof(*o->bupd));
	o->bupd_v = calloc(n + 1, sizeof(*o->bupd_v));
	if (!o->bupd || !o->bupd_v) {
		free(tmp);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (o->nbupd && memcmp(&o->bupd[o->nbupd - 1], &tmp[i].k, sizeof(tmp[i].k)) == 0) {
			o->bupd_v[o->nbupd - 1] = TG_BIND_AMBIGUOUS; /* a shared access port */
			continue;
		}
		o->bupd[o->nbupd] = tmp[i].k;
		o->bupd_v[o->nbupd++] = tmp[i].v;
	}
	free(tmp);
	/* the live ports that go */
	err = tg_dump_map(m->bind, m->bind_max, sizeof(struct tg_bind_key), sizeof(__u32), &keys,
			  &vals, &nlive);
	if (err)
		return err;
	o->bdel = calloc(nlive + 1, sizeof(*o->bdel));
	if (!o->bdel) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nlive; i++) {
		struct tg_bind_key *k = &((struct tg_bind_key *)keys)[i];

		if (!o->nbupd || !bsearch(k, o->bupd, o->nbupd, sizeof(*k), tg_cmp_bind))
			o->bdel[o->nbdel++] = *k;
	}
	/* the data plane's port-owner caches start again after a full sync, whatever changed */
	o->bind_gen_always = true;
out:
	free(keys);
	free(vals);
	return err;
}

/* What a full planner computes besides the plan. */
struct full {
	const struct tg_sync_env *env;
	bool want_rec;	     /* rec is wanted after the sync (else it is the plan's rvals) */
	uint32_t *idx;	     /* per configured customer */
	struct tg_cust *rec; /* per configured customer */
	uint8_t *moved;	     /* per index: its addresses change */
	uint8_t *same;	     /* per configured customer: its record is unchanged */
	struct tg_fprofs fp; /* the plan's flood profiles */
	struct tg_v6pfx *v6; /* the IPv6 prefixes, and their owners before the write */
	uint32_t *v6was;
	size_t nv6;
};

static void full_free(struct full *f)
{
	free(f->idx);
	if (f->want_rec)
		free(f->rec);
	free(f->moved);
	free(f->same);
	free(f->v6);
	free(f->v6was);
	tg_fprofs_free(&f->fp);
	*f = (struct full){.env = f->env, .want_rec = f->want_rec};
}

/*
 * After the write: a customer whose record is unchanged counts as changed if its prefixes
 * changed (tg_sync_stats), as the incremental sync counts it: IPv4 from the tables' diff,
 * IPv6 where the owner of a prefix's first address is not the one before.
 */
static size_t moved_after(const struct tg_maps *m, const struct tg_cfg *cfg, struct full *f)
{
	uint32_t *now;
	size_t c, n = 0;

	if (!f->v6was) /* nothing was loaded: every customer is added */
		return 0;
	now = calloc(f->nv6 + 1, sizeof(*now));
	if (!now)
		goto out; /* only the count is missing */
	tg_v6_owners(m, f->v6, f->nv6, now);
	for (c = 0; c < f->nv6; c++) {
		if (now[c] == f->v6was[c])
			continue;
		if (now[c] < m->max_cust)
			f->moved[now[c]] = 1;
		if (f->v6was[c] < m->max_cust)
			f->moved[f->v6was[c]] = 1;
	}
	for (c = 0; c < cfg->ncustomers; c++)
		n += f->same[c] && f->moved[f->idx[c]];
out:
	free(now);
	return n;
}

/*
 * Keep only the customer records that differ from what the map holds (new customers, and
 * changed plans, limits or bindings): a reload touching 1k of 1M customers writes 1k. A
 * customer whose record is the same but whose prefixes move counts as changed.
 */
static int filter_changed(struct tg_maps *m, const struct tg_cfg *cfg, const struct full *f,
			  struct tg_txn *o, struct tg_sync_stats *st)
{
	void *keys = NULL, *vals = NULL;
	struct tg_cust *cur;
	size_t got = 0, i, n = cfg->ncustomers;
	int err;

	if (!n)
		return 0;
	err = tg_dump_map(m->cust, m->max_cust, sizeof(__u32), sizeof(struct tg_cust), &keys, &vals,
			  &got);
	if (err)
		return err;
	cur = calloc(m->max_cust, sizeof(*cur));
	if (!cur) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (i = 0; i < got; i++) {
		__u32 k = ((__u32 *)keys)[i];

		if (k < m->max_cust)
			cur[k] = ((struct tg_cust *)vals)[i];
	}
	for (i = 0; i < n; i++) {
		const struct tg_cust *old = &cur[f->idx[i]];

		if (!(old->flags & TG_CF_VALID)) {
			st->added++;
		} else if (memcmp(old, &f->rec[i], sizeof(*old)) != 0) {
			st->changed++;
		} else {
			f->same[i] = 1; /* changed if its prefixes are (moved_after) */
			continue;
		}
		o->rkeys[o->nrec] = f->idx[i];
		o->rvals[o->nrec++] = f->rec[i]; /* in place when o->rvals is f->rec: nrec <= i */
		o->nkeys[o->nnames] = f->idx[i];
		snprintf(o->names[o->nnames++], TG_ID_LEN, "%s", cfg->customers[i].id);
	}
	free(cur);
	free(keys);
	free(vals);
	return 0;
}

/* The plan of a full sync: indexes, records, tables, bindings and departures. */
static int plan_full(struct tg_maps *m, const struct tg_cfg *cfg, struct full *f, struct tg_txn *o,
		     struct tg_sync_stats *st, struct tg_errs *errs)
{
	struct timespec t = {};
	struct tg_ifcache ifc = {};
	struct tg_v4pfx *v4 = NULL;
	struct tg_v6pfx *v6 = NULL;
	char(*live)[TG_ID_LEN] = NULL;
	struct tg_config bc;
	size_t c, j, nv4 = 0, nv6 = 0, npfx = 0, n = cfg->ncustomers;
	__u32 zero = 0;
	bool loaded = false; /* a customer is loaded: some may move (else all are added) */
	int err, bad = 0;

	tg_sync_phase("start", &t);
	if (bpf_map_lookup_elem(m->config, &zero, &bc))
		return neg_errno();
	o->cfg = cfg;
	o->tick_ns = tg_coarse_tick_ns();
	f->idx = calloc(n + 1, sizeof(*f->idx));
	f->moved = calloc(m->max_cust + 1, 1);
	f->same = calloc(n + 1, 1);
	o->rkeys = calloc(n + 1, sizeof(*o->rkeys));
	o->rvals = calloc(n + 1, sizeof(*o->rvals));
	/* the records to write are filtered from them: in place unless the caller keeps them */
	f->rec = f->want_rec ? calloc(n + 1, sizeof(*f->rec)) : o->rvals;
	o->nkeys = calloc(n + 1, sizeof(*o->nkeys));
	o->names = calloc(n + 1, TG_ID_LEN);
	if (!f->idx || !f->rec || !f->moved || !f->same || !o->rkeys || !o->rvals || !o->nkeys ||
	    !o->names)
		return -ENOMEM;
	err = read_names(m, &live);
	if (err)
		return err;
	for (uint32_t i = 1; i < m->max_cust && !loaded; i++)
		loaded = live[i][0] != '\0';
	err = assign_indexes(m, cfg, live, f->env ? f->env->hint : NULL, f->env ? f->env->nhint : 0,
			     f->idx, &o->gone, &o->ngone, errs);
	free(live);
	if (err)
		return err;
	tg_sync_phase("indexes", &t);
	err = tg_fprofs_build(cfg, &f->fp, errs);
	if (err)
		return err;
	o->fp = &f->fp;
	for (c = 0; c < n; c++) {
		const struct tg_customer *cu = &cfg->customers[c];

		npfx += cu->npfx;
		if (tg_make_record(cu, f->fp.of[c], bc.clock_tick_ns, &ifc, &f->rec[c], errs))
			bad = 1;
		else if (tg_enf_any(f->env ? f->env->enf : NULL))
			tg_record_enforce(&f->rec[c], cu, f->env->enf, bc.clock_tick_ns);
	}
	if (bad)
		return -ENODEV;

	v4 = calloc(npfx + 1, sizeof(*v4));
	v6 = calloc(npfx + 1, sizeof(*v6));
	if (!v4 || !v6) {
		free(v4);
		free(v6);
		return -ENOMEM;
	}
	for (c = 0; c < n; c++) {
		const struct tg_customer *cu = &cfg->customers[c];

		for (j = 0; j < cu->npfx; j++) {
			const struct tg_prefix *p = &cu->pfx[j];

			if (p->family == AF_INET) {
				uint32_t a;

				memcpy(&a, p->addr, 4);
				v4[nv4].addr = ntohl(a);
				v4[nv4].plen = p->plen;
				v4[nv4++].cust = f->idx[c];
			} else {
				tg_v6_pfx(p, f->idx[c], &v6[nv6++]);
			}
		}
	}
	tg_sync_phase("records", &t);
	err = tg_v4_build(m, v4, nv4, &o->v4, cfg, errs);
	free(v4);
	if (!err && loaded)
		err = tg_v4_moved(m, &o->v4, f->moved);
	f->v6 = v6;
	f->nv6 = nv6;
	f->v6was = loaded ? malloc((nv6 + 1) * sizeof(*f->v6was)) : NULL;
	if (!err && loaded && !f->v6was)
		err = -ENOMEM;
	if (!err)
		err = tg_v6_build(m, v6, nv6, &o->v6, cfg, errs);
	if (err)
		return err;
	if (loaded)
		tg_v6_owners(m, v6, nv6, f->v6was);
	tg_sync_phase("IPv4 and IPv6 tables built", &t);
	o->counts = (struct tg_counts){(uint32_t)n,
				       (uint32_t)nv4,
				       (uint32_t)nv6,
				       (uint32_t)o->v4.nblocks,
				       (uint32_t)tg_v6_nodes(&o->v6),
				       (uint32_t)tg_v6_cmps(&o->v6)};
	err = plan_bindings(m, cfg, f->idx, f->rec, o);
	if (!err)
		err = filter_changed(m, cfg, f, o, st);
	tg_sync_phase("changed records found", &t);
	st->customers = n;
	st->removed = o->ngone;
	return err;
}

/* One pass: plan, then commit. f->idx and f->rec are those of cfg's customers after. */
static int sync_locked(struct tg_maps *m, const struct tg_cfg *cfg, struct full *f,
		       struct tg_sync_stats *st, struct tg_errs *errs)
{
	struct tg_txn o = {};
	int err;

	memset(st, 0, sizeof(*st));
	full_free(f);
	if (!m->tbl24 || !m->tbl8)
		return -EINVAL;
	err = plan_full(m, cfg, f, &o, st, errs);
	if (err == -ENOMEM)
		tg_errs_add(errs, "out of memory while preparing the maps");
	if (!err)
		err = tg_commit(m, &o, errs);
	if (!err)
		st->changed += moved_after(m, cfg, f);
	tg_txn_free(&o);
	return err;
}

/* The first pass of a reload that recycles indexes: cfg restricted to loaded customers. */
static int sync_kept_only(struct tg_maps *m, const struct tg_cfg *cfg,
			  const struct tg_sync_env *env, struct tg_sync_stats *st,
			  struct tg_errs *errs)
{
	struct tg_cfg kept = *cfg;
	struct full f = {.env = env};
	char(*names)[TG_ID_LEN] = NULL;
	struct idname *live = NULL, key;
	size_t c, n = 0, nlive = 0;
	int err;

	err = read_names(m, &names);
	if (err)
		return err;
	live = calloc(m->max_cust, sizeof(*live));
	kept.customers = calloc(cfg->ncustomers + 1, sizeof(*kept.customers));
	if (!live || !kept.customers) {
		err = -ENOMEM;
		goto out;
	}
	nlive = index_names(names, m->max_cust, live);
	for (c = 0; c < cfg->ncustomers; c++) {
		key.id = cfg->customers[c].id;
		if (bsearch(&key, live, nlive, sizeof(*live), cmp_idname))
			kept.customers[n++] = cfg->customers[c]; /* shallow: read-only */
	}
	kept.ncustomers = n;
	err = sync_locked(m, &kept, &f, st, errs);
	full_free(&f);
out:
	free(kept.customers);
	free(live);
	free(names);
	return err;
}

/* What the state database should learn: the indexes that differ from the hints, and the
 * hinted ids no longer configured. Pure. */
static int idx_changes(const struct tg_cfg *cfg, const struct tg_sync_env *env, const uint32_t *idx,
		       struct tg_idx_changes *chg)
{
	const struct tg_idx_hint *h = env ? env->hint : NULL;
	size_t nh = env ? env->nhint : 0, c;
	bool *seen = calloc(nh + 1, sizeof(*seen)); /* hints still configured */

	chg->set = calloc(cfg->ncustomers + 1, sizeof(*chg->set));
	chg->drop = calloc(nh + 1, sizeof(*chg->drop));
	if (!seen || !chg->set || !chg->drop) {
		free(seen);
		tg_idx_changes_free(chg);
		return -ENOMEM;
	}
	for (c = 0; c < cfg->ncustomers; c++) {
		struct tg_idx_hint key = {.id = cfg->customers[c].id};
		const struct tg_idx_hint *a;

		a = nh ? bsearch(&key, h, nh, sizeof(*h), cmp_assign) : NULL;
		if (a)
			seen[a - h] = true;
		if (!a || a->idx != idx[c])
			chg->set[chg->nset++] = (struct tg_idx_hint){cfg->customers[c].id, idx[c]};
	}
	for (c = 0; c < nh; c++)
		if (!seen[c])
			chg->drop[chg->ndrop++] = h[c].id;
	free(seen);
	return 0;
}

int tg_sync_customers(struct tg_maps *m, const struct tg_cfg *cfg, const struct tg_sync_env *env,
		      struct tg_sync_stats *st, struct tg_errs *errs)
{
	int lock = tg_maps_lock(m), err;

	err = tg_sync_full(m, cfg, env, st, NULL, errs, NULL, NULL, NULL);
	tg_maps_unlock(lock);
	return err;
}

int tg_sync_full(struct tg_maps *m, const struct tg_cfg *cfg, const struct tg_sync_env *env,
		 struct tg_sync_stats *st, struct tg_idx_changes *chg, struct tg_errs *errs,
		 uint32_t **idx, struct tg_cust **rec, uint32_t *gen)
{
	struct tg_sync_stats dummy, first;
	struct full f = {.env = env, .want_rec = rec != NULL};
	struct timespec t = {};
	int err;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (chg)
		memset(chg, 0, sizeof(*chg));
	tg_sync_phase("start", &t);
	err = sync_locked(m, cfg, &f, st, errs);
	if (err == -EAGAIN) {
		/*
		 * New customers need the indexes of departed ones. Remove the departed first
		 * (a pass over only the customers already loaded), then add the new: each pass
		 * is ordered as usual, and an index is reused only after it was cleared.
		 */
		err = sync_kept_only(m, cfg, env, &first, errs);
		if (!err)
			err = sync_locked(m, cfg, &f, st, errs);
		if (!err) {
			st->removed += first.removed;
			st->changed += first.changed;
			st->two_pass = true;
		}
	}
	tg_sync_phase("maps synced", &t);
	/* whatever was written, the maps are no longer what an earlier snapshot says */
	if (tg_bump_sync_gen(m, gen) && !err) {
		err = -EIO;
		tg_errs_add(errs, "cannot update tg_config: %s", strerror(errno));
	}
	if (!err && chg && (err = idx_changes(cfg, env, f.idx, chg)))
		tg_errs_add(errs, "out of memory while preparing the maps");
	st->full = true;
	if (!err && idx) {
		*idx = f.idx;
		f.idx = NULL;
	}
	if (!err && rec) {
		*rec = f.rec;
		f.rec = NULL;
	}
	full_free(&f);
	return err;
}
