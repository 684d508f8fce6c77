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
 * Chains of nodes that each hold one pointer and one value elsewhere are compressed into
 * the chunk at their end (skip, want, miss: see tollgate_kern_user.h). Those three fields
 * are not written in place: a node reuses a live chunk only if they are the same there, and
 * is otherwise fresh.
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
	return k < 8 ? (int)((p->hi >> (56 - 8 * k)) & 0xff)
		     : (int)((p->lo >> (120 - 8 * k)) & 0xff);
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
	free(b->dead);
	free(b->skip);
	free(b->miss);
	free(b->want);
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
		uint8_t *sk = realloc(b->skip, cap);

		if (!sk)
			return -1;
		b->skip = sk;
		uint32_t *mi = realloc(b->miss, cap * sizeof(*b->miss));

		if (!mi)
			return -1;
		b->miss = mi;
		uint64_t *wa = realloc(b->want, cap * sizeof(*b->want));

		if (!wa)
			return -1;
		b->want = wa;
		bool *de = realloc(b->dead, cap * sizeof(*b->dead));

		if (!de)
			return -1;
		b->dead = de;
		b->cap = cap;
	}
	for (unsigned int i = 0; i < TG_V6_CHUNK; i++)
		b->node[b->n][i] = fill;
	b->parent[b->n] = parent;
	b->slot[b->n] = slot;
	b->skip[b->n] = 0;
	b->miss[b->n] = TG_V6_NONE;
	b->want[b->n] = 0;
	b->dead[b->n] = false;
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

/*
 * Path compression, children first (a child is made after its parent): a node below the
 * root whose entries are one pointer and one value v everywhere else gives its place to
 * that child, which then also compares the node's byte (and the node's own skipped bytes)
 * and answers v when they differ. Chains merge while the child's misses say the same v
 * and the skip fits TG_V6_SKIP_MAX.
 */
static void compress(struct tg_v6build *b)
{
	for (size_t k = b->n; k-- > ROOT;) {
		const uint32_t *e = b->node[k];
		uint32_t fill = TG_V6_NONE, c;
		int ptrs = 0, at = 0;
		bool one = true, have = false;

		for (unsigned int i = 0; i < TG_V6_CHUNK && one && ptrs < 2; i++) {
			if (e[i] & TG_V6_NODE) {
				ptrs++;
				at = (int)i;
			} else if (!have) {
				fill = e[i];
				have = true;
			} else if (e[i] != fill) {
				one = false;
			}
		}
		if (!one || ptrs != 1)
			continue;
		c = e[at] & ~TG_V6_NODE;
		if (b->skip[k] + 1u + b->skip[c] > TG_V6_SKIP_MAX ||
		    (b->skip[c] && b->miss[c] != fill) || (b->skip[k] && b->miss[k] != fill))
			continue;
		b->want[c] |= ((b->want[k] << 8) | (uint64_t)at) << (8 * b->skip[c]);
		b->skip[c] += b->skip[k] + 1;
		b->miss[c] = fill;
		b->node[b->parent[k]][b->slot[k]] = TG_V6_NODE | c;
		b->parent[c] = b->parent[k];
		b->slot[c] = b->slot[k];
		b->dead[k] = true;
	}
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
		const uint32_t *ch = m->v6trie[stack[--sp]].e;

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

size_t tg_v6_nodes(const struct tg_v6build *b)
{
	size_t n = 0;

	for (size_t k = ROOT; k < b->n; k++)
		n += !b->dead[k];
	return n;
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

		if (b->dead[k])
			continue;
		if (!b->fresh[par]) {
			uint32_t e = m->v6trie[b->chunk[par]].e[b->slot[k]];
			uint32_t c = e & ~TG_V6_NODE;

			if ((e & TG_V6_NODE) && c >= ROOT && c < m->v6_chunks && live[c] &&
			    !taken[c] && m->v6trie[c].skip == b->skip[k] &&
			    m->v6trie[c].miss == b->miss[k] && m->v6trie[c].want == b->want[k]) {
				b->chunk[k] = c;
				taken[c] = true;
				continue;
			}
		}
		while (next < m->v6_chunks && (live[next] || taken[next]))
			next++;
		if (next >= m->v6_chunks) {
			tg_errs_add(
				errs,
				"%s: IPv6 prefixes need %zu trie chunks, more than the table has "
				"room for (%u, with a reload's worth spare): raise "
				"capacity.max_prefixes in tollgate.yaml",
				cfg->path, tg_v6_nodes(b), m->v6_chunks - ROOT);
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
	compress(b);
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
		struct tg_v6_chunk *dst = &m->v6trie[b->chunk[k]];

		if (b->dead[k] || !b->fresh[k])
			continue;
		for (i = 0; i < TG_V6_CHUNK; i++)
			if (dst->e[i] != entry(b, k, i))
				__atomic_store_n(&dst->e[i], entry(b, k, i), __ATOMIC_RELAXED);
		dst->skip = b->skip[k];
		dst->miss = b->miss[k];
		dst->want = b->want[k];
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	/*
	 * Then in place: owners and pointers first, removals last, so a customer whose prefix
	 * moves gets its new addresses before it loses the old ones.
	 */
	for (int pass = 0; pass < 2; pass++) {
		for (k = 0; k < b->n; k++) {
			uint32_t *dst = m->v6trie[b->chunk[k]].e;

			for (i = 0; !b->dead[k] && !b->fresh[k] && i < TG_V6_CHUNK; i++) {
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
	unsigned int k = 2;

	if (!m->v6trie)
		return TG_CUST_NONE;
	memset(&a, 0, sizeof(a));
	for (int i = 0; i < 8; i++) {
		a.hi = a.hi << 8 | addr[i];
		a.lo = a.lo << 8 | addr[8 + i];
	}
	/* as tg_lookup_v6 walks it */
	e = m->v6trie[byte_of(&a, 0)].e[byte_of(&a, 1)];
	for (unsigned int level = 0; level < TG_V6_DEPTH && (e & TG_V6_NODE); level++) {
		uint32_t c = e & ~TG_V6_NODE;
		const struct tg_v6_chunk *ch;
		uint64_t got = 0;

		if (c >= m->v6_chunks)
			return TG_CUST_NONE;
		ch = &m->v6trie[c];
		if (ch->skip > TG_V6_SKIP_MAX)
			return TG_CUST_NONE;
		for (unsigned int j = 0; j < ch->skip; j++)
			got = got << 8 | (k < 16 ? (unsigned int)byte_of(&a, k++) : 0u);
		if (got != ch->want)
			return ch->miss;
		e = k < 16 ? ch->e[byte_of(&a, k++)] : ch->e[0];
	}
	return e & TG_V6_NODE ? TG_CUST_NONE : e;
}
