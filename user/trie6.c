// SPDX-License-Identifier: GPL-2.0-only
/*
 * trie6.c - the IPv6 classification trie (tg_v6_trie, see tollgate_kern_user.h): built
 * whole in memory from every IPv6 prefix, laid over the live trie, and written in place
 * where it differs, in an order that keeps every packet classified during the write.
 *
 * A node of the new trie takes the chunk that sits at the same place in the live trie
 * (same parent chunk, same entry), so a reload that changes a few customers rewrites a few
 * entries. A node with no counterpart gets a chunk no live entry reaches, and is written
 * whole before the entry that will point at it. Chunks the new trie no longer reaches are
 * left as they are until a later build takes them: a packet that read a pointer to one
 * just before it was unlinked still finds the old answer there. (Accepted race: a walk
 * that spans two reloads, nanoseconds against milliseconds.)
 *
 * Every store is a single aligned u32, atomic for the packet path, which reads an entry
 * and then the chunk it names (an address dependency: ordered on every architecture).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sync_int.h"

#define ROOT TG_V6_ROOT_CHUNKS

static int byte_of(const struct tg_v6pfx *p, unsigned int k)
{
	return k < 8 ? (int)((p->hi >> (56 - 8 * k)) & 0xff) : (int)((p->lo >> (120 - 8 * k)) & 0xff);
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
	free(b->parent);
	free(b->slot);
	free(b->chunk);
	free(b->fresh);
	memset(b, 0, sizeof(*b));
}

/* A node whose every entry is fill, below entry slot of node parent. Its number, or -1. */
static long new_node(struct tg_v6build *b, uint32_t fill, uint32_t parent, uint8_t slot)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 2 * ROOT;
		void *node = realloc(b->node, cap * sizeof(*b->node));

		if (!node)
			return -1;
		b->node = node;
		uint32_t *par = realloc(b->parent, cap * sizeof(*b->parent));

		if (!par)
			return -1;
		b->parent = par;
		uint8_t *sl = realloc(b->slot, cap);

		if (!sl)
			return -1;
		b->slot = sl;
		b->cap = cap;
	}
	for (unsigned int i = 0; i < TG_V6_CHUNK; i++)
		b->node[b->n][i] = fill;
	b->parent[b->n] = parent;
	b->slot[b->n] = slot;
	return (long)b->n++;
}

/* The entries p covers (at the depth its length ends in) name its owner. */
static int insert(struct tg_v6build *b, const struct tg_v6pfx *p)
{
	unsigned int depth = p->plen <= 16 ? 0 : (p->plen - 9u) / 8, k;
	uint32_t node = p->hi >> 56, span, first;

	if (depth == 0) { /* /16 or shorter: entries of the root, across root chunks */
		first = (uint32_t)(p->hi >> 48);
		span = 1u << (16 - p->plen);
		for (uint32_t j = 0; j < span; j++)
			b->node[(first + j) >> 8][(first + j) & 0xff] = p->cust;
		return 0;
	}
	for (k = 1; k <= depth; k++) {
		int byte = byte_of(p, k);
		uint32_t e = b->node[node][byte];

		if (!(e & TG_V6_NODE)) { /* push the shorter prefix's owner down a level */
			long c = new_node(b, e, node, (uint8_t)byte);

			if (c < 0)
				return -ENOMEM;
			b->node[node][byte] = TG_V6_NODE | (uint32_t)c;
			node = (uint32_t)c;
		} else {
			node = e & ~TG_V6_NODE;
		}
	}
	first = (uint32_t)byte_of(p, depth + 1);
	span = 1u << (16 + 8 * depth - p->plen);
	for (uint32_t j = 0; j < span; j++)
		b->node[node][first + j] = p->cust;
	return 0;
}

/* Shortest first, so a longer prefix overwrites (or pushes down) the one it is inside. */
static int sort_by_plen(struct tg_v6pfx *p, size_t n)
{
	size_t at[130] = {0};
	struct tg_v6pfx *tmp = malloc((n + 1) * sizeof(*tmp));

	if (!tmp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		at[p[i].plen + 1]++;
	for (int l = 1; l < 130; l++)
		at[l] += at[l - 1];
	for (size_t i = 0; i < n; i++)
		tmp[at[p[i].plen]++] = p[i];
	memcpy(p, tmp, n * sizeof(*p));
	free(tmp);
	return 0;
}

/* The chunks the live trie reaches from its root (a stack walk, guarded against bad
 * pointers and cycles). */
static int live_chunks(const struct tg_maps *m, bool *live)
{
	uint32_t *stack = malloc((size_t)m->v6_chunks * sizeof(*stack)), sp = 0;

	if (!stack)
		return -ENOMEM;
	for (uint32_t c = 0; c < ROOT; c++)
		stack[sp++] = c;
	while (sp) {
		const uint32_t *ch = &m->v6trie[(size_t)stack[--sp] * TG_V6_CHUNK];

		for (unsigned int i = 0; i < TG_V6_CHUNK; i++) {
			uint32_t e = ch[i], c = e & ~TG_V6_NODE;

			if ((e & TG_V6_NODE) && c >= ROOT && c < m->v6_chunks && !live[c]) {
				live[c] = true;
				stack[sp++] = c;
			}
		}
	}
	free(stack);
	return 0;
}

/* Give every node its chunk: the live one at its place, else a free one. */
static int place(const struct tg_maps *m, struct tg_v6build *b, const struct tg_cfg *cfg,
		 struct tg_errs *errs)
{
	bool *live = calloc(m->v6_chunks, sizeof(bool)), *taken = calloc(m->v6_chunks, 1);
	uint32_t next = ROOT;
	int err = -ENOMEM;

	b->chunk = calloc(b->n, sizeof(*b->chunk));
	b->fresh = calloc(b->n, sizeof(*b->fresh));
	if (!live || !taken || !b->chunk || !b->fresh || live_chunks(m, live))
		goto out;
	for (uint32_t k = 0; k < ROOT; k++)
		b->chunk[k] = k;
	/* a node's parent was made before it, so it is placed already */
	for (size_t k = ROOT; k < b->n; k++) {
		uint32_t par = b->parent[k];

		if (!b->fresh[par]) {
			uint32_t e = m->v6trie[(size_t)b->chunk[par] * TG_V6_CHUNK + b->slot[k]];
			uint32_t c = e & ~TG_V6_NODE;

			if ((e & TG_V6_NODE) && c >= ROOT && c < m->v6_chunks && live[c] &&
			    !taken[c]) {
				b->chunk[k] = c;
				taken[c] = true;
				continue;
			}
		}
		while (next < m->v6_chunks && (live[next] || taken[next]))
			next++;
		if (next >= m->v6_chunks) {
			tg_errs_add(errs,
				    "%s: IPv6 prefixes need %zu trie chunks, more than the table has "
				    "room for (%u, with a reload's worth spare): raise "
				    "capacity.max_prefixes in tollgate.yaml",
				    cfg->path, b->n - ROOT, m->v6_chunks - ROOT);
			err = -ENOSPC;
			goto out;
		}
		b->chunk[k] = next;
		b->fresh[k] = true;
		taken[next] = true;
	}
	err = 0;
out:
	free(live);
	free(taken);
	return err;
}

int tg_v6_build(const struct tg_maps *m, struct tg_v6pfx *p, size_t n, struct tg_v6build *b,
		const struct tg_cfg *cfg, struct tg_errs *errs)
{
	int err;

	memset(b, 0, sizeof(*b));
	if (!m->v6trie || m->v6_chunks < ROOT)
		return -EINVAL;
	if (sort_by_plen(p, n))
		return -ENOMEM;
	for (uint32_t k = 0; k < ROOT; k++)
		if (new_node(b, TG_V6_NONE, k, 0) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		err = insert(b, &p[i]);
		if (err)
			return err;
	}
	return place(m, b, cfg, errs);
}

static uint32_t entry(const struct tg_v6build *b, size_t k, unsigned int i)
{
	uint32_t v = b->node[k][i];

	return v & TG_V6_NODE ? TG_V6_NODE | b->chunk[v & ~TG_V6_NODE] : v;
}

void tg_v6_write(struct tg_maps *m, const struct tg_v6build *b)
{
	size_t k;
	unsigned int i;

	if (!b->node)
		return;
	/* new chunks, whole, while nothing points at them */
	for (k = 0; k < b->n; k++) {
		uint32_t *dst = &m->v6trie[(size_t)b->chunk[k] * TG_V6_CHUNK];

		for (i = 0; b->fresh[k] && i < TG_V6_CHUNK; i++)
			if (dst[i] != entry(b, k, i))
				__atomic_store_n(&dst[i], entry(b, k, i), __ATOMIC_RELAXED);
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	/*
	 * Then in place: owners and pointers first, removals last, so a customer whose prefix
	 * moves gets its new addresses before it loses the old ones.
	 */
	for (int pass = 0; pass < 2; pass++) {
		for (k = 0; k < b->n; k++) {
			uint32_t *dst = &m->v6trie[(size_t)b->chunk[k] * TG_V6_CHUNK];

			for (i = 0; !b->fresh[k] && i < TG_V6_CHUNK; i++) {
				uint32_t v = entry(b, k, i);

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
	uint32_t e;

	if (!m->v6trie)
		return TG_CUST_NONE;
	memset(&a, 0, sizeof(a));
	for (int i = 0; i < 8; i++) {
		a.hi = a.hi << 8 | addr[i];
		a.lo = a.lo << 8 | addr[8 + i];
	}
	e = m->v6trie[(size_t)byte_of(&a, 0) * TG_V6_CHUNK + byte_of(&a, 1)];
	for (unsigned int k = 2; k < 16 && (e & TG_V6_NODE); k++) {
		uint32_t c = e & ~TG_V6_NODE;

		if (c >= m->v6_chunks)
			return TG_CUST_NONE;
		e = m->v6trie[(size_t)c * TG_V6_CHUNK + byte_of(&a, k)];
	}
	return e & TG_V6_NODE ? TG_CUST_NONE : e;
}
