// SPDX-License-Identifier: GPL-2.0-only
/*
 * sync.c - make the customer maps say what a validated config says.
 *
 * Everything is computed first (indexes, IPv4 tables, IPv6 trie, bindings) and checked
 * against the maps' capacity; only then is anything written, so a config that does not
 * fit changes nothing. Writes are ordered so that a packet never sees a prefix pointing
 * at a customer that is not there yet:
 *   1. customer records (tg_cust, tg_names) for every configured customer;
 *   2. new IPv4 tbl8 chunks, then the tbl24 entries that change (aligned 32-bit stores,
 *      each atomic for the packet path), between the void bits of /16s gaining a customer
 *      (cleared first) and of those losing their last (set last); the same for the IPv6
 *      trie (trie6.c): new chunks, then owners and pointers in place, then removals;
 *      bindings added or changed;
 *   3. bindings that went away;
 *   4. customers that went away: record, name, counters and policer state cleared, so
 *      their index can be given to a new customer.
 * Customers keep their index across syncs (matched by external id through tg_names), so
 * counters and policer state never jump from one customer to another.
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
#include "state/state.h"
#include "sync_int.h"

#define BATCH 8192u /* entries per batch syscall */

/* With -v, how long each phase of a sync took: where a reload's time goes. */
void tg_sync_phase(const char *what, struct timespec *t)
{
	struct timespec now;

	if (!tg_log_verbose)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (t->tv_sec || t->tv_nsec)
		tg_info("sync: %-26s %7.3f s", what,
			(double)(now.tv_sec - t->tv_sec) + (now.tv_nsec - t->tv_nsec) / 1e9);
	*t = now;
}

/* ---- policer parameters ---- */

/*
 * The interval and tolerance of a policer (units.c tg_gcra_*: the arithmetic the config
 * checks and `customer show` use too). A validated config has its rates and bursts within
 * what these hold (config.h TG_RATE_MIN_BPS..TG_RATE_MAX_BPS, tg_burst_max_bytes), so the
 * bounds below only guard against an unvalidated caller: a rate below the minimum or a
 * tolerance over TG_GCRA_TOL_MAX_FNS would overflow the data plane's arithmetic.
 */
void tg_policer_params(const struct tg_rate_cfg *r, uint64_t tick_ns, struct tg_policer_cfg *out)
{
	unsigned __int128 tol;
	uint64_t rate = r->rate_bps, burst = r->burst_bytes, floor;

	memset(out, 0, sizeof(*out));
	if (!rate)
		return; /* unlimited */
	if (rate < TG_RATE_MIN_BPS)
		rate = TG_RATE_MIN_BPS;
	/* 8e9 ns per byte at 1 bit/s, in 2^-16 ns, rounded up so we never exceed the rate */
	out->ipb_fns16 = tg_gcra_ipb_fns16(rate);
	/*
	 * The coarse clock stands still for a tick, so the bucket must hold what the rate
	 * earns in two ticks or the delivered rate falls below the configured one.
	 */
	floor = (uint64_t)((unsigned __int128)rate * 2 * tick_ns / 8000000000ull);
	if (burst < floor)
		burst = floor;
	tol = ((unsigned __int128)burst * out->ipb_fns16) >> 8;
	out->tol_fns = tol > TG_GCRA_TOL_MAX_FNS ? TG_GCRA_TOL_MAX_FNS : (uint64_t)tol;
}

void tg_pkt_policer_params(uint64_t pps, uint64_t burst, uint64_t tick_ns, struct tg_pkt_pol *out)
{
	unsigned __int128 tol;

	memset(out, 0, sizeof(*out));
	if (!pps)
		return;
	out->ipp_fns = tg_gcra_ipp_fns(pps);
	if (!burst)
		burst = pps; /* one second's worth */
	if ((unsigned __int128)pps * 2 * tick_ns / 1000000000ull > burst)
		burst = (uint64_t)((unsigned __int128)pps * 2 * tick_ns / 1000000000ull);
	if (!burst)
		burst = 1;
	tol = (unsigned __int128)burst * out->ipp_fns;
	out->tol_fns = tol > TG_GCRA_TOL_MAX_FNS ? TG_GCRA_TOL_MAX_FNS : (uint64_t)tol;
}

/* ---- batch helpers ---- */

int tg_update_batch(int fd, const void *keys, const void *vals, size_t n, size_t ksz, size_t vsz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t done = 0;

	while (done < n) {
		__u32 cnt = n - done > BATCH ? BATCH : n - done;

		if (bpf_map_update_batch(fd, (const char *)keys + done * ksz,
					 (const char *)vals + done * vsz, &cnt, &opts))
			return neg_errno();
		done += cnt;
	}
	return 0;
}

int tg_delete_batch(int fd, const void *keys, size_t n, size_t ksz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t done = 0;

	while (done < n) {
		__u32 cnt = n - done > BATCH ? BATCH : n - done;

		if (bpf_map_delete_batch(fd, (const char *)keys + done * ksz, &cnt, &opts))
			return neg_errno();
		done += cnt;
	}
	return 0;
}

/* Read a whole map (array or hash) into malloc'd key and value arrays. */
static int dump_map(int fd, size_t max, size_t ksz, size_t vsz, void **keys, void **vals, size_t *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 in = 0, out = 0;
	size_t got = 0;
	bool first = true;
	char *k = malloc((max + 1) * ksz), *v = malloc((max + 1) * vsz);

	if (!k || !v)
		goto nomem;
	for (;;) {
		__u32 cnt = max - got;
		int err;

		if (!cnt)
			break;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, k + got * ksz,
					   v + got * vsz, &cnt, &opts);
		err = err ? neg_errno() : 0;
		got += cnt;
		if (err == -ENOENT)
			break;
		if (err) {
			free(k);
			free(v);
			return err;
		}
		in = out;
		first = false;
	}
	*keys = k;
	*vals = v;
	*n = got;
	return 0;
nomem:
	free(k);
	free(v);
	return -ENOMEM;
}

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

	err = dump_map(m->names, m->max_cust, sizeof(__u32), TG_ID_LEN, &keys, &vals, &n);
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
	return strcmp(((const struct tg_assign *)a)->id, ((const struct tg_assign *)b)->id);
}

/*
 * idx[c] for every configured customer: its index in the maps if it is loaded; else the
 * one the state database remembers for it, if free; else the lowest free one. removed[]
 * lists the loaded indexes whose id is no longer configured.
 */
static int assign_indexes(const struct tg_maps *m, const struct tg_cfg *cfg,
			  char (*names)[TG_ID_LEN], const struct tg_assign *db, size_t ndb,
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
		struct tg_assign k = {.id = cfg->customers[c].id}, *a;

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

/* ---- IPv4: DIR-24-8 ---- */

/* Shortest first (a counting sort: the order within a length does not matter, prefixes of
 * one length are disjoint). 0 or -ENOMEM. */
static int sort_by_plen(struct tg_v4pfx *p, size_t n)
{
	size_t at[34] = {0};
	struct tg_v4pfx *tmp = malloc((n + 1) * sizeof(*tmp));

	if (!tmp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		at[p[i].plen + 1]++;
	for (int l = 1; l < 34; l++)
		at[l] += at[l - 1];
	for (size_t i = 0; i < n; i++)
		tmp[at[p[i].plen]++] = p[i];
	memcpy(p, tmp, n * sizeof(*p));
	free(tmp);
	return 0;
}

void tg_v4build_free(struct tg_v4build *b)
{
	if (!b->tbl24_lent)
		free(b->tbl24);
	free(b->blocks);
	free(b->block_of);
	free(b->chunk_of);
}

int tg_v4_build(const struct tg_maps *m, struct tg_v4pfx *p, size_t n, struct tg_v4build *b,
		const struct tg_cfg *cfg, struct tg_errs *errs)
{
	uint32_t *lent = b->tbl24_lent ? b->tbl24 : NULL, next = 0;
	size_t i, nblk = 0, k;
	uint64_t *seen;
	bool *live = NULL, *taken = NULL;

	memset(b, 0, sizeof(*b));
	if (lent) { /* the caller's buffer, kept warm across reloads */
		b->tbl24 = lent;
		b->tbl24_lent = true;
	}
	if (!m->tbl24 || !m->tbl8)
		return -EINVAL;
	if (sort_by_plen(p, n))
		return -ENOMEM;
	if (lent) {
		memset(b->tbl24, 0, TG_V4_TBL24_ENTRIES * sizeof(uint32_t));
	} else {
		b->tbl24 = calloc(TG_V4_TBL24_ENTRIES, sizeof(uint32_t));
		tg_advise_huge(b->tbl24, TG_V4_TBL24_ENTRIES * sizeof(uint32_t));
	}
	/* the /24 blocks holding longer prefixes, counted first: each is 1 KiB to fill */
	seen = calloc(TG_V4_TBL24_ENTRIES / 64, sizeof(uint64_t));
	if (!seen)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		uint32_t blk = p[i].addr >> 8;

		if (p[i].plen > 24 && !(seen[blk >> 6] >> (blk & 63) & 1)) {
			seen[blk >> 6] |= 1ull << (blk & 63);
			nblk++;
		}
	}
	free(seen);
	b->blocks = malloc((nblk ? nblk : 1) * sizeof(*b->blocks));
	b->block_of = malloc((nblk ? nblk : 1) * sizeof(uint32_t));
	b->chunk_of = malloc((nblk ? nblk : 1) * sizeof(uint32_t));
	if (!b->tbl24 || !b->blocks || !b->block_of || !b->chunk_of)
		return -ENOMEM;

	/* shortest first, so a longer prefix overwrites the shorter one it is inside */
	for (i = 0; i < n; i++) {
		uint32_t blk = p[i].addr >> 8, e;

		if (p[i].plen <= 24) {
			uint32_t span = 1u << (24 - p[i].plen), j;

			for (j = 0; j < span; j++)
				b->tbl24[blk + j] = p[i].cust;
			continue;
		}
		e = b->tbl24[blk];
		if (!(e & TG_V4_TBL8)) {
			k = b->nblocks++;
			for (uint32_t j = 0; j < TG_V4_TBL8_CHUNK; j++)
				b->blocks[k][j] = e; /* the /24-or-shorter owner of the block */
			b->block_of[k] = blk;
			b->tbl24[blk] = TG_V4_TBL8 | (uint32_t)k;
		}
		k = b->tbl24[blk] & ~TG_V4_TBL8;
		uint32_t lo = p[i].addr & 0xff, span = 1u << (32 - p[i].plen);

		for (uint32_t j = 0; j < span; j++)
			b->blocks[k][lo + j] = p[i].cust;
	}

	/* place blocks: keep a live chunk whose content is unchanged, else use a free one */
	live = calloc(m->tbl8_chunks, sizeof(bool));
	taken = calloc(m->tbl8_chunks, sizeof(bool));
	if (!live || !taken) {
		free(live);
		free(taken);
		return -ENOMEM;
	}
	for (i = 0; i < TG_V4_TBL24_ENTRIES; i++) {
		uint32_t e = m->tbl24[i];

		if ((e & TG_V4_TBL8) && (e & ~TG_V4_TBL8) < m->tbl8_chunks)
			live[e & ~TG_V4_TBL8] = true;
	}
	for (k = 0; k < b->nblocks; k++) {
		uint32_t e = m->tbl24[b->block_of[k]], c = e & ~TG_V4_TBL8;

		b->chunk_of[k] = UINT32_MAX;
		if ((e & TG_V4_TBL8) && c < m->tbl8_chunks && !taken[c] &&
		    memcmp(&m->tbl8[(size_t)c * TG_V4_TBL8_CHUNK], b->blocks[k],
			   sizeof(b->blocks[k])) == 0) {
			b->chunk_of[k] = c;
			taken[c] = true;
		}
	}
	for (k = 0; k < b->nblocks; k++) {
		if (b->chunk_of[k] != UINT32_MAX)
			continue;
		while (next < m->tbl8_chunks && (live[next] || taken[next]))
			next++;
		if (next >= m->tbl8_chunks) {
			tg_errs_add(errs,
				    "%s: IPv4 prefixes longer than /24 fall in %zu /24 blocks, "
				    "more than the table has room for (%u, with a reload's worth "
				    "spare): raise capacity.max_prefixes in tollgate.yaml",
				    cfg->path, b->nblocks, m->tbl8_chunks);
			free(live);
			free(taken);
			return -ENOSPC;
		}
		b->chunk_of[k] = next;
		taken[next] = true;
	}
	for (k = 0; k < b->nblocks; k++)
		b->tbl24[b->block_of[k]] = TG_V4_TBL8 | b->chunk_of[k];
	free(live);
	free(taken);
	return 0;
}

/* The /16s of tbl24 with no entry: tg_v4_void's bits (tollgate_kern_user.h). */
static void v4_void_of(const uint32_t *tbl24, uint64_t *out)
{
	for (size_t w = 0; w < TG_V4_VOID_WORDS; w++) {
		uint64_t bits = 0;

		for (unsigned b = 0; b < 64; b++) {
			const uint32_t *e = &tbl24[((w << 6) | b) << 8];
			uint32_t any = 0;

			for (unsigned j = 0; j < 256; j++)
				any |= e[j];
			bits |= (uint64_t)(any == TG_V4_NONE) << b;
		}
		out[w] = bits;
	}
}

void tg_v4_write(struct tg_maps *m, const struct tg_v4build *b)
{
	uint64_t nvoid[TG_V4_VOID_WORDS];
	size_t k, i;

	if (!b->tbl24)
		return;
	/* a /16 gaining its first customer stops being void before any entry of it is written */
	v4_void_of(b->tbl24, nvoid);
	for (i = 0; i < TG_V4_VOID_WORDS; i++)
		if (m->v4void[i] & ~nvoid[i])
			__atomic_store_n(&m->v4void[i], m->v4void[i] & nvoid[i], __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (k = 0; k < b->nblocks; k++) {
		uint32_t *dst = &m->tbl8[(size_t)b->chunk_of[k] * TG_V4_TBL8_CHUNK];

		for (i = 0; i < TG_V4_TBL8_CHUNK; i++)
			if (dst[i] != b->blocks[k][i])
				__atomic_store_n(&dst[i], b->blocks[k][i], __ATOMIC_RELAXED);
	}
	/* chunk contents are visible before any tbl24 entry points at them */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	/*
	 * Owners first, then removals: a customer whose prefix moves gets its new addresses
	 * before it loses the old ones, so no valid packet of it meets a moment where neither
	 * is its own (each store is atomic for the packet path).
	 */
	for (i = 0; i < TG_V4_TBL24_ENTRIES; i++)
		if (b->tbl24[i] != TG_V4_NONE && m->tbl24[i] != b->tbl24[i])
			__atomic_store_n(&m->tbl24[i], b->tbl24[i], __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (i = 0; i < TG_V4_TBL24_ENTRIES; i++)
		if (b->tbl24[i] == TG_V4_NONE && m->tbl24[i] != TG_V4_NONE)
			__atomic_store_n(&m->tbl24[i], TG_V4_NONE, __ATOMIC_RELAXED);
	/* and a /16 whose last customer left is void once its entries are gone */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (i = 0; i < TG_V4_VOID_WORDS; i++)
		if (m->v4void[i] != nvoid[i])
			__atomic_store_n(&m->v4void[i], nvoid[i], __ATOMIC_RELAXED);
}

/* ---- the whole sync ---- */

struct plan_out {
	const struct tg_assign *db; /* the state database's assignments, by id (input) */
	size_t ndb;
	uint32_t *idx; /* per configured customer */
	uint32_t *removed;
	size_t nremoved;
	struct tg_cust *cust;
	__u32 *cust_keys;
	char (*names)[TG_ID_LEN];
	struct tg_v4build v4;
	size_t nv4;
	struct tg_v6build v6;
	size_t nv6;
	struct tg_bind_key *bkeys;
	__u32 *bvals;
	size_t nbind;
	struct tg_fprofs fp;
};

int tg_cmp_bind(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct tg_bind_key));
}

static int plan_bindings(const struct tg_cfg *cfg, struct plan_out *o)
{
	size_t c, i, n = 0;
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
		tmp[n].k.ifindex = o->cust[c].bind_ifindex;
		tmp[n].k.vlan = cu->vlan;
		tmp[n].k.ivlan = cu->ivlan;
		tmp[n++].v = o->idx[c];
	}
	qsort(tmp, n, sizeof(*tmp), tg_cmp_bind);
	o->bkeys = calloc(n + 1, sizeof(*o->bkeys));
	o->bvals = calloc(n + 1, sizeof(*o->bvals));
	if (!o->bkeys || !o->bvals) {
		free(tmp);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (o->nbind && memcmp(&o->bkeys[o->nbind - 1], &tmp[i].k, sizeof(tmp[i].k)) == 0) {
			o->bvals[o->nbind - 1] = TG_BIND_AMBIGUOUS; /* a shared access port */
			continue;
		}
		o->bkeys[o->nbind] = tmp[i].k;
		o->bvals[o->nbind++] = tmp[i].v;
	}
	free(tmp);
	return 0;
}

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

int tg_walled_write(struct tg_maps *m, const struct tg_cfg *cfg)
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

void tg_record_enforce(struct tg_cust *v, const struct tg_customer *cu,
		       const struct tg_enf_table *enf, uint64_t tick_ns)
{
	const struct tg_enf_entry *e = tg_enf_find(enf, cu->id);

	v->state = e ? e->state : TG_ST_ACTIVE;
	/* a throttled customer is held to its throttle rate: no peak above it */
	v->flags &= (__u8)~TG_CF_TRTCM;
	if ((cu->dir[TG_DIR_UP].peak_rate_bps || cu->dir[TG_DIR_DOWN].peak_rate_bps) && v->fprof &&
	    v->state != TG_ST_THROTTLED)
		v->flags |= TG_CF_TRTCM;
	for (int j = 0; j < TG_DIR_NR; j++) {
		struct tg_rate_cfg r = cu->dir[j];

		if (e && e->state == TG_ST_THROTTLED && e->throttle_bps &&
		    (!r.rate_bps || r.rate_bps > e->throttle_bps)) {
			r.rate_bps = e->throttle_bps;
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

static int plan_sync(struct tg_maps *m, const struct tg_cfg *cfg, struct plan_out *o,
		     struct tg_errs *errs)
{
	struct timespec t = {};
	struct tg_ifcache ifc = {};
	struct tg_v4pfx *v4 = NULL;
	struct tg_v6pfx *v6 = NULL;
	struct tg_config bc;
	size_t c, j, nv4 = 0, npfx = 0;
	__u32 zero = 0;
	int err, bad = 0;

	tg_sync_phase("start", &t);
	if (bpf_map_lookup_elem(m->config, &zero, &bc))
		return neg_errno();
	o->idx = calloc(cfg->ncustomers + 1, sizeof(uint32_t));
	o->cust = calloc(cfg->ncustomers + 1, sizeof(*o->cust));
	o->cust_keys = calloc(cfg->ncustomers + 1, sizeof(__u32));
	o->names = calloc(cfg->ncustomers + 1, TG_ID_LEN);
	if (!o->idx || !o->cust || !o->cust_keys || !o->names)
		return -ENOMEM;
	{
		char(*live)[TG_ID_LEN] = NULL;

		err = read_names(m, &live);
		if (err)
			return err;
		err = assign_indexes(m, cfg, live, o->db, o->ndb, o->idx, &o->removed, &o->nremoved,
				     errs);
		free(live);
		if (err)
			return err;
	}
	tg_sync_phase("indexes", &t);
	err = tg_fprofs_build(cfg, &o->fp, errs);
	if (err)
		return err;

	for (c = 0; c < cfg->ncustomers; c++) {
		const struct tg_customer *cu = &cfg->customers[c];

		npfx += cu->npfx;
		o->cust_keys[c] = o->idx[c];
		snprintf(o->names[c], TG_ID_LEN, "%s", cu->id);
		if (tg_make_record(cu, o->fp.of[c], bc.clock_tick_ns, &ifc, &o->cust[c], errs))
			bad = 1;
		else if (cfg->enf && cfg->enf->n)
			tg_record_enforce(&o->cust[c], cu, cfg->enf, bc.clock_tick_ns);
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
	for (c = 0; c < cfg->ncustomers; c++) {
		const struct tg_customer *cu = &cfg->customers[c];

		for (j = 0; j < cu->npfx; j++) {
			const struct tg_prefix *p = &cu->pfx[j];

			if (p->family == AF_INET) {
				uint32_t a;

				memcpy(&a, p->addr, 4);
				v4[nv4].addr = ntohl(a);
				v4[nv4].plen = p->plen;
				v4[nv4++].cust = o->idx[c];
			} else {
				tg_v6_pfx(p, o->idx[c], &v6[o->nv6++]);
			}
		}
	}
	o->nv4 = nv4;
	tg_sync_phase("records", &t);
	err = tg_v4_build(m, v4, nv4, &o->v4, cfg, errs);
	free(v4);
	if (!err)
		err = tg_v6_build(m, v6, o->nv6, &o->v6, cfg, errs);
	free(v6);
	if (err)
		return err;
	tg_sync_phase("IPv4 and IPv6 tables built", &t);
	return plan_bindings(cfg, o);
}

static void plan_free(struct plan_out *o)
{
	free(o->idx);
	free(o->removed);
	free(o->cust);
	free(o->cust_keys);
	free(o->names);
	tg_v4build_free(&o->v4);
	tg_v6build_free(&o->v6);
	free(o->bkeys);
	free(o->bvals);
	tg_fprofs_free(&o->fp);
}

int tg_write_counts(struct tg_maps *m, const struct tg_counts *counts)
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
int tg_bump_bind_gen(struct tg_maps *m)
{
	struct tg_config c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->config, &zero, &c))
		return neg_errno();
	c.bind_gen++;
	return bpf_map_update_elem(m->config, &zero, &c, BPF_ANY) ? neg_errno() : 0;
}

static int sync_bind(struct tg_maps *m, const struct plan_out *o)
{
	void *keys = NULL, *vals = NULL;
	size_t n = 0, i, ndel = 0;
	struct tg_bind_key *del;
	int err;

	err = dump_map(m->bind, m->bind_max, sizeof(struct tg_bind_key), sizeof(__u32), &keys,
		       &vals, &n);
	if (err)
		return err;
	del = calloc(n + 1, sizeof(*del));
	if (!del) {
		err = -ENOMEM;
		goto out;
	}
	err = tg_update_batch(m->bind, o->bkeys, o->bvals, o->nbind, sizeof(*o->bkeys),
			      sizeof(*o->bvals));
	if (err)
		goto out;
	for (i = 0; i < n; i++) {
		struct tg_bind_key *k = &((struct tg_bind_key *)keys)[i];

		if (!o->nbind || !bsearch(k, o->bkeys, o->nbind, sizeof(*k), tg_cmp_bind))
			del[ndel++] = *k;
	}
	err = tg_delete_batch(m->bind, del, ndel, sizeof(*del));
	if (!err)
		err = tg_bump_bind_gen(m);
out:
	free(del);
	free(keys);
	free(vals);
	return err;
}

int tg_clear_customer(struct tg_maps *m, uint32_t idx)
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
	    bpf_map_update_elem(m->names, &idx, zeros, BPF_ANY))
		err = neg_errno();
	free(zeros);
	return err;
}

struct sync_db {
	const struct tg_assign *a; /* the state database's assignments, sorted by id */
	size_t n;
	uint32_t *idx;	     /* out: the index given to each configured customer */
	bool want_rec;	     /* in: fill rec */
	struct tg_cust *rec; /* out: the record of each configured customer */
};

static int sync_locked(struct tg_maps *m, const struct tg_cfg *cfg, struct sync_db *db,
		       struct tg_sync_stats *st, struct tg_errs *errs);
static int sync_kept_only(struct tg_maps *m, const struct tg_cfg *cfg, struct sync_db *db,
			  struct tg_sync_stats *st, struct tg_errs *errs);

/* Write what changed in the index assignments to the state database. */
static int record_state(struct tg_statedb *state, const struct tg_cfg *cfg,
			const struct sync_db *db)
{
	struct tg_assign *set = calloc(cfg->ncustomers + 1, sizeof(*set));
	const char **drop = calloc(db->n + 1, sizeof(*drop));
	bool *seen = calloc(db->n + 1, sizeof(*seen)); /* database rows still configured */
	size_t c, nset = 0, ndrop = 0;
	int err = -ENOMEM;

	if (!set || !drop || !seen)
		goto out;
	for (c = 0; c < cfg->ncustomers; c++) {
		struct tg_assign key = {.id = cfg->customers[c].id}, *a;

		a = db->n ? bsearch(&key, db->a, db->n, sizeof(*db->a), cmp_assign) : NULL;
		if (a)
			seen[a - db->a] = true;
		if (!a || a->idx != db->idx[c]) {
			set[nset].id = cfg->customers[c].id;
			set[nset++].idx = db->idx[c];
		}
	}
	for (c = 0; c < db->n; c++)
		if (!seen[c])
			drop[ndrop++] = db->a[c].id;
	err = nset || ndrop ? tg_state_record(state, set, nset, drop, ndrop) : 0;
out:
	free(set);
	free(drop);
	free(seen);
	return err;
}

int tg_sync_customers(struct tg_maps *m, const struct tg_cfg *cfg, struct tg_sync_stats *st,
		      struct tg_errs *errs)
{
	return tg_sync_full(m, cfg, st, errs, NULL, NULL, NULL);
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

int tg_sync_full(struct tg_maps *m, const struct tg_cfg *cfg, struct tg_sync_stats *st,
		 struct tg_errs *errs, uint32_t **idx, struct tg_cust **rec, uint32_t *gen)
{
	struct tg_sync_stats dummy, first;
	struct tg_enf_table enf = {};
	struct tg_cfg with_enf;
	struct tg_statedb *state = NULL;
	struct tg_assign *assigned = NULL;
	struct sync_db db = {};
	struct timespec t = {};
	char msg[512];
	int lock = -1, err;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	tg_sync_phase("start", &t);
	/*
	 * The writers' lock before the state database is read: tollgated commits an
	 * enforcement change and writes its record under it, so the enforcement table read
	 * here is the one in force until this sync has written every record (read before the
	 * lock, a suspension committed in between would be overwritten with the old state).
	 */
	lock = tg_maps_lock(m);
	if (cfg->state_path) {
		err = tg_state_open(cfg->state_path, &state, msg, sizeof(msg));
		if (!err)
			err = tg_state_assignments(state, &assigned, &db.n);
		if (err) {
			tg_errs_add(errs, "state database %s",
				    err == -ENOMEM ? "out of memory" : msg);
			goto out;
		}
		db.a = assigned;
		if (!cfg->enf) { /* a sync without tollgated: the state it left */
			err = tg_state_enf_load(state, &enf);
			if (err) {
				tg_errs_add(errs,
					    "state database %s: cannot read the enforcement "
					    "state",
					    cfg->state_path);
				goto out;
			}
			with_enf = *cfg;
			with_enf.enf = &enf;
			cfg = &with_enf;
		}
	}
	tg_sync_phase("state database read", &t);
	db.want_rec = rec != NULL;
	err = sync_locked(m, cfg, &db, st, errs);
	if (err == -EAGAIN) {
		/*
		 * New customers need the indexes of departed ones. Remove the departed first
		 * (a pass over only the customers already loaded), then add the new: each pass
		 * is ordered as usual, and an index is reused only after it was cleared.
		 */
		err = sync_kept_only(m, cfg, &db, &first, errs);
		if (!err)
			err = sync_locked(m, cfg, &db, st, errs);
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
	if (!err && state) {
		err = record_state(state, cfg, &db);
		tg_sync_phase("state database written", &t);
		if (err)
			tg_errs_add(errs,
				    "state database %s: cannot record the customer indexes (%s); "
				    "the maps are updated, the next reload records them",
				    cfg->state_path, strerror(-err));
	}
out:
	tg_maps_unlock(lock);
	st->full = true;
	if (!err && idx) {
		*idx = db.idx;
		db.idx = NULL;
	}
	if (!err && rec) {
		*rec = db.rec;
		db.rec = NULL;
	}
	free(db.idx);
	free(db.rec);
	free(assigned);
	tg_enf_free(&enf);
	tg_state_close(state);
	return err;
}

/* The first pass of a reload that recycles indexes: cfg restricted to loaded customers. */
static int sync_kept_only(struct tg_maps *m, const struct tg_cfg *cfg, struct sync_db *db,
			  struct tg_sync_stats *st, struct tg_errs *errs)
{
	struct tg_cfg kept = *cfg;
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
	{
		struct sync_db kdb = {.a = db->a, .n = db->n};

		err = sync_locked(m, &kept, &kdb, st, errs);
		free(kdb.idx);
	}
out:
	free(kept.customers);
	free(live);
	free(names);
	return err;
}

/*
 * Keep only the customer records that differ from what the map holds (new customers, and
 * changed plans, limits or bindings): a reload touching 1k of 1M customers writes 1k.
 */
static int filter_changed(struct tg_maps *m, struct plan_out *o, size_t n, size_t *nout,
			  struct tg_sync_stats *st)
{
	void *keys = NULL, *vals = NULL;
	struct tg_cust *cur;
	size_t got = 0, i, w = 0;
	int err;

	*nout = 0;
	if (!n)
		return 0;
	if (!o->cust_keys || !o->cust || !o->names || !m->max_cust)
		return -EINVAL;
	err = dump_map(m->cust, m->max_cust, sizeof(__u32), sizeof(struct tg_cust), &keys, &vals,
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
		const struct tg_cust *old = &cur[o->cust_keys[i]];

		if (!(old->flags & TG_CF_VALID))
			st->added++;
		else if (memcmp(old, &o->cust[i], sizeof(*old)) != 0)
			st->changed++;
		else
			continue;
		o->cust_keys[w] = o->cust_keys[i];
		o->cust[w] = o->cust[i];
		memcpy(o->names[w], o->names[i], TG_ID_LEN);
		w++;
	}
	*nout = w;
	free(cur);
	free(keys);
	free(vals);
	return 0;
}

static int sync_locked(struct tg_maps *m, const struct tg_cfg *cfg, struct sync_db *db,
		       struct tg_sync_stats *st, struct tg_errs *errs)
{
	struct plan_out o = {.db = db->a, .ndb = db->n};
	struct timespec t = {};
	size_t i, nw = 0;
	int err;

	memset(st, 0, sizeof(*st));
	if (!m->tbl24 || !m->tbl8)
		return -EINVAL;
	err = plan_sync(m, cfg, &o, errs);
	tg_sync_phase("start", &t);
	if (!err && db->want_rec) {
		free(db->rec);
		db->rec = malloc((cfg->ncustomers + 1) * sizeof(*db->rec));
		if (db->rec)
			memcpy(db->rec, o.cust, cfg->ncustomers * sizeof(*db->rec));
		else
			err = -ENOMEM;
	}
	if (!err)
		err = filter_changed(m, &o, cfg->ncustomers, &nw, st);
	tg_sync_phase("changed records found", &t);
	if (err) {
		if (err == -ENOMEM)
			tg_errs_add(errs, "out of memory while preparing the maps");
		goto out;
	}
	st->customers = cfg->ncustomers;
	st->removed = o.nremoved;
	/* 0. flood profiles, before the records that name them */
	err = tg_fprofs_write(m, cfg, &o.fp, tg_coarse_tick_ns());
	if (!err) /* and the walled garden, before a record that suspends */
		err = tg_walled_write(m, cfg);
	if (err)
		goto fail;
	/* 1. records before anything points at them */
	err = tg_update_batch(m->cust, o.cust_keys, o.cust, nw, sizeof(__u32),
			      sizeof(struct tg_cust));
	if (!err)
		err = tg_update_batch(m->names, o.cust_keys, o.names, nw, sizeof(__u32), TG_ID_LEN);
	if (err)
		goto fail;
	tg_sync_phase("records written", &t);
	/* 2 and 3. prefixes and bindings */
	tg_v4_write(m, &o.v4);
	tg_v6_write(m, &o.v6);
	tg_sync_phase("IPv4 and IPv6 tables written", &t);
	err = tg_write_counts(m, &(struct tg_counts){(uint32_t)cfg->ncustomers, (uint32_t)o.nv4,
						     (uint32_t)o.nv6, (uint32_t)o.v4.nblocks,
						     (uint32_t)tg_v6_nodes(&o.v6),
						     (uint32_t)tg_v6_cmps(&o.v6)});
	if (!err)
		err = sync_bind(m, &o);
	tg_sync_phase("bindings", &t);
	if (err)
		goto fail;
	/* 4. customers that went away */
	for (i = 0; i < o.nremoved; i++) {
		err = tg_clear_customer(m, o.removed[i]);
		if (err)
			goto fail;
	}
	err = tg_srcblock_forget(m, o.removed, o.nremoved);
	if (err)
		goto fail;
	free(db->idx);
	db->idx = o.idx; /* for the state database */
	o.idx = NULL;
	goto out;
fail:
	tg_errs_add(errs, "writing the maps failed: %s", strerror(-err));
out:
	plan_free(&o);
	return err;
}
