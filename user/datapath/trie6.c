// SPDX-License-Identifier: GPL-2.0-only
/*
 * trie6.c - the IPv6 classification trie (tg_v6_trie and tg_v6_cmp, see
 * tollgate_kern_user.h): built whole in memory from every IPv6 prefix, laid over the live
 * trie, and written in place where it differs, in an order that keeps every packet
 * classified during the write.
 *
 * Built from the prefixes sorted by address (then length, so a prefix comes before the
 * ones inside it), one level at a time: a level with a single way down and nothing ending
 * in it becomes (or joins) a compare node, a level where a single prefix ends and nothing
 * goes on becomes one, everything else is a chunk. So nodes that would be compressed are
 * never made, and a million sparse /56s cost a million 32-byte nodes, not gigabytes.
 *
 * A node of the new trie takes the chunk or compare node that sits at the same place in the
 * live trie (same parent, same entry), so a reload that changes a few customers rewrites
 * a few entries. A compare node is reused only if its bits, want and miss are the same
 * there (its hit, a single u32, may change in place). A node with no counterpart gets a
 * chunk or node no live entry reaches, and is written whole before the entry that will
 * point at it. What the new trie no longer reaches is left as it is until a later build
 * takes it: a packet that read a pointer to it just before it was unlinked still finds the
 * old answer there. (Accepted race: a walk that spans two reloads, nanoseconds against
 * milliseconds.)
 *
 * Every store the packet path may see is a single aligned u32, atomic for it; it reads an
 * entry and then the chunk or node it names (an address dependency: ordered on every
 * architecture).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sync_int.h"

#define ROOT TG_V6_ROOT_CHUNKS
/* In the builder an entry is an answer (a customer index) or REF | node number;
 * ref_of() translates to the map's TG_V6_NODE | chunk or TG_V6_CMP | node. */
#define REF 0x80000000u

static unsigned int byte_of(const struct tg_v6pfx *p, unsigned int k)
{
	return k < 8 ? (unsigned int)((p->hi >> (56 - 8 * k)) & 0xff)
		     : (unsigned int)((p->lo >> (120 - 8 * k)) & 0xff);
}

/* n bits of p from bit pos (n <= 56), right-aligned. */
static uint64_t bits_of(const struct tg_v6pfx *p, unsigned int pos, unsigned int n)
{
	uint64_t hi = p->hi;

	if (pos >= 64)
		hi = p->lo << (pos - 64);
	else if (pos)
		hi = (hi << pos) | (p->lo >> (64 - pos));
	return hi >> (64 - n);
}

void tg_v6_pfx(const struct tg_prefix *p, uint32_t cust, struct tg_v6pfx *out)
{
	out->hi = out->lo = 0;
	for (int i = 0; i < 8; i++) {
		out->hi = out->hi << 8 | p->addr[i];
		out->lo = out->lo << 8 | p->addr[8 + i];
	}
	out->plen = p->plen;
	out->cust = cust;
}

void tg_v6build_free(struct tg_v6build *b)
{
	free(b->node);
	free(b->ent);
	memset(b, 0, sizeof(*b));
}

size_t tg_v6_nodes(const struct tg_v6build *b)
{
	return b->nchunks;
}

size_t tg_v6_cmps(const struct tg_v6build *b)
{
	return b->ncmps;
}

static long new_node(struct tg_v6build *b)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 2 * ROOT;
		struct tg_v6node *node = realloc(b->node, cap * sizeof(*node));

		if (!node)
			return -1;
		b->node = node;
		b->cap = cap;
	}
	memset(&b->node[b->n], 0, sizeof(b->node[b->n]));
	return (long)b->n++;
}

/* A chunk node whose every entry is fill. */
static long new_chunk(struct tg_v6build *b, uint32_t fill)
{
	long k = new_node(b);

	if (k < 0)
		return -1;
	if (b->nent == b->capent) {
		size_t cap = b->capent ? 2 * b->capent : 2 * ROOT;
		uint32_t(*ent)[TG_V6_CHUNK] = realloc(b->ent, cap * sizeof(*ent));

		if (!ent)
			return -1;
		b->ent = ent;
		b->capent = cap;
	}
	for (unsigned int i = 0; i < TG_V6_CHUNK; i++)
		b->ent[b->nent][i] = fill;
	b->node[k].ent = (uint32_t)b->nent++;
	if (k >= ROOT)
		b->nchunks++;
	return k;
}

static long new_cmp(struct tg_v6build *b, unsigned int bits, uint64_t want, uint32_t hit,
		    uint32_t miss)
{
	long k = new_node(b);

	if (k < 0)
		return -1;
	b->node[k].cmp = true;
	b->node[k].bits = (uint8_t)bits;
	b->node[k].want = want;
	b->node[k].hit = hit;
	b->node[k].miss = miss;
	b->ncmps++;
	return k;
}

static int build(struct tg_v6build *b, const struct tg_v6pfx *p, size_t n, unsigned int pos,
		 uint32_t v, uint32_t *out);

/* Entry e of chunk node k; for the root (node 0, whose 256 chunks are the first entries of
 * ent[], in order) e runs over all 65536. ent[] may move while the trie grows: no pointer
 * into it is kept across a build(). */
static uint32_t *ent_at(struct tg_v6build *b, uint32_t k, uint32_t e)
{
	return (uint32_t *)b->ent + (size_t)b->node[k].ent * TG_V6_CHUNK + e;
}

/*
 * The entries of chunk node k, which resolves the width bits after the first pos (8, or
 * 16 for the root), for the prefixes p[0..n), alike in their first pos bits. Those that
 * end within these bits fill the entries they cover, shortest (outermost) first; the
 * longer ones, grouped by these bits, go below the entry they are inside. Below the root,
 * prefixes of pos bits or fewer among them were applied above and are skipped.
 */
static int fill_level(struct tg_v6build *b, uint32_t k, unsigned int width,
		      const struct tg_v6pfx *p, size_t n, unsigned int pos)
{
	size_t i, j;
	int err;

	for (i = 0; i < n; i++) {
		if ((pos && p[i].plen <= pos) || p[i].plen > pos + width)
			continue;
		uint32_t e0 = (uint32_t)bits_of(&p[i], pos, width),
			 span = 1u << (pos + width - p[i].plen);

		for (uint32_t e = e0; e < e0 + span && e < 1u << width; e++)
			*ent_at(b, k, e) = p[i].cust;
	}
	for (i = 0; i < n; i = j) {
		uint32_t at = (uint32_t)bits_of(&p[i], pos, width), r;

		if (p[i].plen <= pos + width) {
			j = i + 1;
			continue;
		}
		for (j = i; j < n && (p[j].plen <= pos + width ||
				      (uint32_t)bits_of(&p[j], pos, width) == at);
		     j++)
			;
		err = build(b, p + i, j - i, pos + width, *ent_at(b, k, at), &r);
		if (err)
			return err;
		*ent_at(b, k, at) = r;
	}
	return 0;
}

/*
 * The entry for the prefixes p[0..n), alike in their first pos bits, where the shorter
 * prefixes around them say v: an answer, or REF | the node made for them. Prefixes of pos
 * bits or fewer among them were applied above and are skipped (the range is not copied).
 */
static int build(struct tg_v6build *b, const struct tg_v6pfx *p, size_t n, unsigned int pos,
		 uint32_t v, uint32_t *out)
{
	size_t i, live = 0, direct = 0, first = n, last = 0;
	long k;
	int err;

	for (i = 0; i < n; i++) {
		if (p[i].plen <= pos)
			continue;
		live++;
		first = first == n ? i : first;
		last = i;
		direct += p[i].plen <= pos + 8;
	}
	if (!live)
		return -EINVAL;
	if (direct == 1 && live == 1) { /* one prefix ends in this byte: a compare node */
		unsigned int bits = p[first].plen - pos;

		k = new_cmp(b, bits, bits_of(&p[first], pos, bits), p[first].cust, v);
		if (k < 0)
			return -ENOMEM;
		*out = REF | (uint32_t)k;
		return 0;
	}
	if (!direct && byte_of(&p[first], pos / 8) == byte_of(&p[last], pos / 8)) {
		/* one way down and nothing ending here: this byte joins a compare node */
		unsigned int at = byte_of(&p[first], pos / 8);
		uint32_t r;

		err = build(b, p + first, last - first + 1, pos + 8, v, &r);
		if (err)
			return err;
		struct tg_v6node *c = &b->node[r & ~REF]; /* build() always makes a node */

		if (c->cmp && c->miss == v && c->bits + 8u <= TG_V6_CMP_BITS) {
			c->want |= (uint64_t)at << c->bits;
			c->bits += 8;
			*out = r;
			return 0;
		}
		if (!c->cmp) { /* a chunk below: a compare node of this byte leads to it */
			k = new_cmp(b, 8, at, r, v);
		} else { /* one that cannot take this byte: a chunk with one way to it */
			k = new_chunk(b, v);
			if (k >= 0)
				*ent_at(b, (uint32_t)k, at) = r;
		}
		if (k < 0)
			return -ENOMEM;
		*out = REF | (uint32_t)k;
		return 0;
	}
	k = new_chunk(b, v);
	if (k < 0)
		return -ENOMEM;
	err = fill_level(b, (uint32_t)k, 8, p + first, last - first + 1, pos);
	if (err)
		return err;
	*out = REF | (uint32_t)k;
	return 0;
}

static int cmp_pfx(const void *x, const void *y)
{
	const struct tg_v6pfx *a = x, *b = y;

	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return (int)a->plen - (int)b->plen;
}

/* The chunks and compare nodes the live trie reaches from its root (a stack walk, guarded
 * against bad pointers and cycles). */
static int live_set(const struct tg_maps *m, bool *live, bool *live_cmp)
{
	uint32_t *stack = malloc((size_t)m->v6_chunks * sizeof(*stack)), sp = 0;

	if (!stack)
		return -ENOMEM;
	for (uint32_t c = 0; c < ROOT; c++)
		stack[sp++] = c;
	while (sp) {
		const uint32_t *ch = m->v6trie[stack[--sp]].e;

		for (unsigned int i = 0; i < TG_V6_CHUNK; i++) {
			uint32_t e = ch[i], x = e & TG_V6_IDX;

			if ((e & TG_V6_CMP) && x < m->v6_ncmp) {
				live_cmp[x] = true;
				e = m->v6cmp[x].hit;
				x = e & TG_V6_IDX;
			}
			if ((e & TG_V6_NODE) && !(e & TG_V6_CMP) && x >= ROOT && x < m->v6_chunks &&
			    !live[x]) {
				live[x] = true;
				stack[sp++] = x;
			}
		}
	}
	free(stack);
	return 0;
}

/* Where the live trie has something at the place of node k: the entry there, or 0. */
static uint32_t live_at(const struct tg_maps *m, const struct tg_v6build *b, uint32_t par,
			unsigned int slot)
{
	const struct tg_v6node *p = &b->node[par];

	if (p->fresh)
		return TG_V6_NONE;
	if (p->cmp)
		return p->place < m->v6_ncmp ? m->v6cmp[p->place].hit : TG_V6_NONE;
	return m->v6trie[p->place].e[slot];
}

/* Chunks or compare nodes of the maps: those the live trie reaches, those this build has
 * taken, and where to look for the next free one. */
struct pool {
	bool *live, *taken;
	uint32_t next, size;
};

/* x takes number i of the pool if reuse says it is x's counterpart and it is still to be
 * had, else the next that nothing reaches (fresh). */
static int claim(struct pool *p, struct tg_v6node *x, bool reuse, uint32_t i)
{
	if (reuse && i < p->size && p->live[i] && !p->taken[i]) {
		x->place = i;
		p->taken[i] = true;
		return 0;
	}
	while (p->next < p->size && (p->live[p->next] || p->taken[p->next]))
		p->next++;
	if (p->next >= p->size)
		return -ENOSPC;
	x->place = p->next;
	x->fresh = true;
	p->taken[p->next] = true;
	return 0;
}

/* Give node k, reached from entry slot of node par, its chunk or compare node: the live
 * one at its place, else a free one. */
static int place_one(const struct tg_maps *m, struct tg_v6build *b, uint32_t k, uint32_t par,
		     unsigned int slot, struct pool *chunks, struct pool *cmps)
{
	struct tg_v6node *x = &b->node[k];
	uint32_t e = live_at(m, b, par, slot), i = e & TG_V6_IDX;

	if (!x->cmp)
		return claim(chunks, x, (e & TG_V6_NODE) && !(e & TG_V6_CMP) && i >= ROOT, i);
	return claim(cmps, x,
		     (e & TG_V6_CMP) && !(e & TG_V6_NODE) && i < m->v6_ncmp &&
			     m->v6cmp[i].bits == x->bits && m->v6cmp[i].want == x->want &&
			     m->v6cmp[i].miss == x->miss,
		     i);
}

/* Every node its place, parents first (a walk from the root). */
static int place(const struct tg_maps *m, struct tg_v6build *b, const struct tg_cfg *cfg,
		 struct tg_errs *errs)
{
	uint32_t ncmp = m->v6_ncmp ? m->v6_ncmp : 1;
	struct pool chunks = {calloc(m->v6_chunks, 1), calloc(m->v6_chunks, 1), ROOT, m->v6_chunks},
		    cmps = {calloc(ncmp, 1), calloc(ncmp, 1), 0, m->v6_ncmp};
	uint32_t *stack = malloc((b->n + 1) * sizeof(*stack)), sp = 0;
	int err = -ENOMEM;

	if (!chunks.live || !chunks.taken || !cmps.live || !cmps.taken || !stack ||
	    live_set(m, chunks.live, cmps.live))
		goto out;
	for (uint32_t k = 0; k < ROOT; k++) {
		b->node[k].place = k;
		stack[sp++] = k;
	}
	err = 0;
	while (sp && !err) {
		uint32_t k = stack[--sp];
		const struct tg_v6node *x = &b->node[k];

		if (x->cmp) {
			if (x->hit & REF) {
				err = place_one(m, b, x->hit & ~REF, k, 0, &chunks, &cmps);
				stack[sp++] = x->hit & ~REF;
			}
			continue;
		}
		for (unsigned int i = 0; i < TG_V6_CHUNK && !err; i++) {
			uint32_t v = b->ent[x->ent][i];

			if (!(v & REF))
				continue;
			err = place_one(m, b, v & ~REF, k, i, &chunks, &cmps);
			stack[sp++] = v & ~REF;
		}
	}
	if (err == -ENOSPC)
		tg_errs_add(errs,
			    "%s: IPv6 prefixes need %zu trie chunks and %zu compare nodes, more "
			    "than the tables have room for (%u and %u, with a reload's worth "
			    "spare): raise capacity.max_prefixes in tollgate.yaml",
			    cfg->path, b->nchunks, b->ncmps, m->v6_chunks - ROOT, m->v6_ncmp);
out:
	free(chunks.live);
	free(chunks.taken);
	free(cmps.live);
	free(cmps.taken);
	free(stack);
	return err;
}

int tg_v6_build(const struct tg_maps *m, struct tg_v6pfx *p, size_t n, struct tg_v6build *b,
		const struct tg_cfg *cfg, struct tg_errs *errs)
{
	int err;

	memset(b, 0, sizeof(*b));
	if (!m->v6trie || !m->v6cmp || m->v6_chunks < ROOT)
		return -EINVAL;
	qsort(p, n, sizeof(*p), cmp_pfx);
	/* about a node per prefix where they are sparse, fewer where dense: one allocation */
	b->cap = n + 2 * ROOT;
	b->node = malloc(b->cap * sizeof(*b->node));
	if (!b->node)
		return -ENOMEM;
	for (uint32_t k = 0; k < ROOT; k++)
		if (new_chunk(b, TG_V6_NONE) < 0)
			return -ENOMEM;
	err = fill_level(b, 0, 16, p, n, 0);
	if (err)
		return err;
	return place(m, b, cfg, errs);
}

/* The map's encoding of builder entry v. */
static uint32_t ref_of(const struct tg_v6build *b, uint32_t v)
{
	const struct tg_v6node *x;

	if (!(v & REF))
		return v;
	x = &b->node[v & ~REF];
	return (x->cmp ? TG_V6_CMP : TG_V6_NODE) | x->place;
}

void tg_v6_write(struct tg_maps *m, const struct tg_v6build *b)
{
	size_t k;
	unsigned int i;

	if (!b->node)
		return;
	/* new chunks and compare nodes, whole, while nothing points at them */
	for (k = 0; k < b->n; k++) {
		const struct tg_v6node *x = &b->node[k];

		if (!x->fresh)
			continue;
		if (x->cmp) {
			struct tg_v6_cmp *dst = &m->v6cmp[x->place];

			dst->bits = x->bits;
			dst->want = x->want;
			dst->miss = x->miss;
			dst->hit = ref_of(b, x->hit);
			continue;
		}
		for (i = 0; i < TG_V6_CHUNK; i++) {
			uint32_t v = ref_of(b, b->ent[x->ent][i]);

			if (m->v6trie[x->place].e[i] != v)
				__atomic_store_n(&m->v6trie[x->place].e[i], v, __ATOMIC_RELAXED);
		}
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	/*
	 * Then in place: owners and pointers first, removals last, so a customer whose prefix
	 * moves gets its new addresses before it loses the old ones.
	 */
	for (int pass = 0; pass < 2; pass++) {
		for (k = 0; k < b->n; k++) {
			const struct tg_v6node *x = &b->node[k];
			uint32_t *dst, v;

			if (x->fresh)
				continue;
			if (x->cmp) {
				dst = &m->v6cmp[x->place].hit;
				v = ref_of(b, x->hit);
				if (*dst != v && (v == TG_V6_NONE) == (pass == 1))
					__atomic_store_n(dst, v, __ATOMIC_RELAXED);
				continue;
			}
			dst = m->v6trie[x->place].e;
			for (i = 0; i < TG_V6_CHUNK; i++) {
				v = ref_of(b, b->ent[x->ent][i]);
				if (dst[i] != v && (v == TG_V6_NONE) == (pass == 1))
					__atomic_store_n(&dst[i], v, __ATOMIC_RELAXED);
			}
		}
		__atomic_thread_fence(__ATOMIC_RELEASE);
	}
}

uint32_t tg_v6_owner(const struct tg_maps *m, const uint8_t addr[16])
{
	struct tg_v6pfx a;
	unsigned int pos = 16;
	uint32_t e;

	if (!m->v6trie || !m->v6cmp)
		return TG_CUST_NONE;
	memset(&a, 0, sizeof(a));
	for (int i = 0; i < 8; i++) {
		a.hi = a.hi << 8 | addr[i];
		a.lo = a.lo << 8 | addr[8 + i];
	}
	/* as tg_lookup_v6 walks it */
	e = m->v6trie[byte_of(&a, 0)].e[byte_of(&a, 1)];
	for (unsigned int step = 0; step < TG_V6_DEPTH; step++) {
		if (e & TG_V6_CMP) {
			const struct tg_v6_cmp *n;

			if ((e & TG_V6_IDX) >= m->v6_ncmp)
				return TG_CUST_NONE;
			n = &m->v6cmp[e & TG_V6_IDX];
			if (n->bits < 1 || n->bits > TG_V6_CMP_BITS)
				return TG_CUST_NONE;
			if ((pos >= 128 ? 0 : bits_of(&a, pos, n->bits)) != n->want)
				return n->miss;
			e = n->hit;
			if (!(e & TG_V6_NODE))
				return e & TG_V6_CMP ? TG_CUST_NONE : e;
			pos += n->bits;
		}
		if (!(e & TG_V6_NODE))
			return e;
		if ((e & TG_V6_IDX) >= m->v6_chunks || pos >= 128)
			return TG_CUST_NONE;
		e = m->v6trie[e & TG_V6_IDX].e[byte_of(&a, pos / 8)];
		pos += 8;
	}
	return e & (TG_V6_NODE | TG_V6_CMP) ? TG_CUST_NONE : e;
}

void tg_v6_owners(const struct tg_maps *m, const struct tg_v6pfx *p, size_t n, uint32_t *out)
{
	uint8_t addr[16];

	for (size_t i = 0; i < n; i++) {
		for (int j = 0; j < 8; j++) {
			addr[j] = (uint8_t)(p[i].hi >> (56 - 8 * j));
			addr[8 + j] = (uint8_t)(p[i].lo >> (56 - 8 * j));
		}
		out[i] = tg_v6_owner(m, addr);
	}
}
