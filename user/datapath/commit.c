// SPDX-License-Identifier: GPL-2.0-only
/*
 * commit.c - the one committer: a plan (sync_int.h struct tg_txn), from either planner,
 * applied to the maps in the one order that keeps the data plane consistent while it is
 * written (docs/datapath.md says why each step comes where it does):
 *   0. flood profiles (with the reflector ports) and the walled garden, before a record
 *      names a profile or suspends a customer;
 *   1. customer records, then names, before anything points at them;
 *   2. the IPv4 table, then the IPv6 trie (each: new chunks, then owners, then removals),
 *      then the counts status shows;
 *   3. bindings set (new or changed port owners), then bindings deleted, then bind_gen
 *      (the data plane's port-owner caches are valid for one generation);
 *   4. departed customers cleared (record first, then counters, policer state, name), now
 *      that no prefix or binding points at them; then their per-source blocks forgotten,
 *      so an index reused later inherits nothing.
 * Every write goes through a struct tg_writer: tg_map_writer writes the maps, a test
 * replaces it (tg_writer) with one that records the order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "lib/lib.h"
#include "sync_int.h"

void tg_txn_free(struct tg_txn *p)
{
	free(p->rkeys);
	free(p->rvals);
	free(p->nkeys);
	free(p->names);
	tg_v4build_free(&p->v4);
	tg_v6build_free(&p->v6);
	free(p->bupd);
	free(p->bupd_v);
	free(p->bdel);
	free(p->gone);
	memset(p, 0, sizeof(*p));
}

void tg_idx_changes_free(struct tg_idx_changes *c)
{
	free(c->set);
	free(c->drop);
	memset(c, 0, sizeof(*c));
}

int tg_cmp_bind(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct tg_bind_key));
}

/* ---- the maps' writer ---- */

static void walled_key(const struct tg_prefix *p, struct tg_walled_key *k)
{
	memset(k, 0, sizeof(*k));
	if (p->family == AF_INET6) {
		k->prefixlen = p->plen;
		memcpy(k->addr, p->addr, 16);
	} else {
		k->prefixlen = 96 + p->plen;
		k->addr[10] = k->addr[11] = 0xff;
		memcpy(k->addr + 12, p->addr, 4);
	}
}

/* Does prefix a (a tg_walled key) cover prefix b? */
static bool walled_covers(const struct tg_walled_key *a, const struct tg_walled_key *b)
{
	uint32_t n = a->prefixlen, i;

	if (n > b->prefixlen)
		return false;
	for (i = 0; i < n / 8; i++)
		if (a->addr[i] != b->addr[i])
			return false;
	return n % 8 == 0 || !((a->addr[i] ^ b->addr[i]) & (0xff00 >> (n % 8)));
}

static int walled_write(struct tg_maps *m, const struct tg_cfg *cfg)
{
	static struct tg_walled_key want[TG_WALLED_MAX], stale[TG_WALLED_MAX];
	static __u8 flags[TG_WALLED_MAX], merged[TG_WALLED_MAX];
	struct tg_walled_key k, next, *prev = NULL;
	size_t n = 0, nstale = 0, i, j;

	if (m->walled < 0)
		return -EINVAL;
	/* the walled garden is exempt from per_source too; a prefix in both lists is one entry */
	for (i = 0; i < cfg->nwalled + cfg->nsrc_exempt; i++) {
		bool walled = i < cfg->nwalled;

		walled_key(walled ? &cfg->walled_garden[i] : &cfg->src_exempt[i - cfg->nwalled],
			   &k);
		for (j = 0; j < n && memcmp(&want[j], &k, sizeof(k)); j++)
			;
		if (j == n) {
			if (n == TG_WALLED_MAX)
				return -E2BIG; /* check-config refuses this */
			want[n] = k;
			flags[n++] = 0;
		}
		flags[j] |= walled ? TG_WG_WALLED | TG_WG_EXEMPT : TG_WG_EXEMPT;
	}
	/* each prefix carries the flags of every prefix covering it: the longest match is one */
	for (i = 0; i < n; i++) {
		merged[i] = flags[i];
		for (j = 0; j < n; j++)
			if (walled_covers(&want[j], &want[i]))
				merged[i] |= flags[j];
	}
	/* the new entries first, then the old ones go: a prefix kept never leaves the trie */
	for (i = 0; i < n; i++)
		if (bpf_map_update_elem(m->walled, &want[i], &merged[i], BPF_ANY))
			return neg_errno();
	while (nstale < TG_WALLED_MAX && !bpf_map_get_next_key(m->walled, prev, &next)) {
		for (i = 0; i < n && memcmp(&want[i], &next, sizeof(next)); i++)
			;
		if (i == n)
			stale[nstale++] = next;
		k = next;
		prev = &k;
	}
	for (i = 0; i < nstale; i++)
		if (bpf_map_delete_elem(m->walled, &stale[i]) && errno != ENOENT)
			return neg_errno();
	return 0;
}

static int write_counts(struct tg_maps *m, const struct tg_counts *counts)
{
	struct tg_config c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->config, &zero, &c))
		return neg_errno();
	c.ncustomers = counts->customers;
	c.nprefixes4 = counts->prefixes4;
	c.nprefixes6 = counts->prefixes6;
	c.v4_chunks = counts->chunks4;
	c.v6_chunks = counts->chunks6;
	c.v6_cmps = counts->cmps6;
	return bpf_map_update_elem(m->config, &zero, &c, BPF_ANY) ? neg_errno() : 0;
}

/* Port-owner caches in the data plane (tg_dcache) are valid for one bind_gen. */
static int bump_bind_gen(struct tg_maps *m)
{
	struct tg_config c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->config, &zero, &c))
		return neg_errno();
	c.bind_gen++;
	return bpf_map_update_elem(m->config, &zero, &c, BPF_ANY) ? neg_errno() : 0;
}

/* A departed customer: record first, then counters, policer state and name. */
static int clear_customer(struct tg_maps *m, uint32_t idx)
{
	size_t pcpu = (sizeof(struct tg_cstat) + 7) / 8 * 8 * m->ncpus;
	void *zeros = calloc(1, pcpu > sizeof(struct tg_cdrop) ? pcpu : sizeof(struct tg_cdrop));
	int err = 0;

	if (!zeros)
		return -ENOMEM;
	/* the record first: from here no packet is charged to this index */
	if (bpf_map_update_elem(m->cust, &idx, zeros, BPF_ANY) ||
	    bpf_map_update_elem(m->cstat, &idx, zeros, BPF_ANY) ||
	    bpf_map_update_elem(m->cdrop, &idx, zeros, BPF_ANY) ||
	    bpf_map_update_elem(m->cnoted, &idx, zeros, BPF_ANY) ||
	    bpf_map_update_elem(m->pol, &idx, zeros, BPF_ANY) ||
	    bpf_map_update_elem(m->fanout, &idx, zeros, BPF_ANY) ||
	    bpf_map_update_elem(m->names, &idx, zeros, BPF_ANY))
		err = neg_errno();
	free(zeros);
	return err;
}

int tg_bump_sync_gen(struct tg_maps *m, uint32_t *gen)
{
	struct tg_config c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->config, &zero, &c))
		return neg_errno();
	c.sync_gen++;
	if (bpf_map_update_elem(m->config, &zero, &c, BPF_ANY))
		return neg_errno();
	if (gen)
		*gen = c.sync_gen;
	return 0;
}

static int write_records(struct tg_maps *m, const uint32_t *keys, const struct tg_cust *v, size_t n)
{
	return tg_update_batch(m->cust, keys, v, n, sizeof(*keys), sizeof(*v));
}

static int write_names(struct tg_maps *m, const uint32_t *keys, const char (*names)[TG_ID_LEN],
		       size_t n)
{
	return tg_update_batch(m->names, keys, names, n, sizeof(*keys), TG_ID_LEN);
}

static int bind_set(struct tg_maps *m, const struct tg_bind_key *k, const uint32_t *v, size_t n)
{
	return tg_update_batch(m->bind, k, v, n, sizeof(*k), sizeof(*v));
}

static int bind_del(struct tg_maps *m, const struct tg_bind_key *k, size_t n)
{
	return tg_delete_batch(m->bind, k, n, sizeof(*k));
}

static int forget(struct tg_maps *m, const uint32_t *idx, size_t n)
{
	return tg_srcblock_forget(m, idx, n);
}

const struct tg_writer tg_map_writer = {
	.profiles = tg_fprofs_write,
	.walled = walled_write,
	.records = write_records,
	.names = write_names,
	.v4 = tg_v4_write,
	.v6 = tg_v6_write,
	.counts = write_counts,
	.bind_set = bind_set,
	.bind_del = bind_del,
	.bind_gen = bump_bind_gen,
	.clear = clear_customer,
	.forget = forget,
};

const struct tg_writer *tg_writer = &tg_map_writer;

/* ---- the committer ---- */

int tg_commit(struct tg_maps *m, const struct tg_txn *p, struct tg_errs *errs)
{
	const struct tg_writer *w = tg_writer;
	struct timespec t = {};
	int err;

	tg_sync_phase("start", &t);
	/* 0. what records name: flood profiles; and the walled garden, before a record that
	 * suspends */
	err = w->profiles(m, p->cfg, p->fp, p->tick_ns);
	if (!err)
		err = w->walled(m, p->cfg);
	/* 1. records before anything points at them */
	if (!err)
		err = w->records(m, p->rkeys, p->rvals, p->nrec);
	if (!err)
		err = w->names(m, p->nkeys, (const char(*)[TG_ID_LEN])p->names, p->nnames);
	if (err)
		goto fail;
	tg_sync_phase("records written", &t);
	/* 2. the tables, each new chunks first and removals last */
	w->v4(m, &p->v4);
	w->v6(m, &p->v6);
	tg_sync_phase("IPv4 and IPv6 tables written", &t);
	err = w->counts(m, &p->counts);
	/* 3. bindings: new owners before the ports that go */
	if (!err)
		err = w->bind_set(m, p->bupd, p->bupd_v, p->nbupd);
	if (!err)
		err = w->bind_del(m, p->bdel, p->nbdel);
	if (!err && (p->nbupd || p->nbdel || p->bind_gen_always))
		err = w->bind_gen(m);
	tg_sync_phase("bindings", &t);
	/* 4. customers that went away, now that nothing points at them */
	for (size_t i = 0; !err && i < p->ngone; i++)
		err = w->clear(m, p->gone[i]);
	if (!err && p->ngone)
		err = w->forget(m, p->gone, p->ngone);
	if (!err)
		return 0;
fail:
	tg_errs_add(errs, "writing the maps failed: %s", strerror(-err));
	return err;
}
