// SPDX-License-Identifier: GPL-2.0-only
/*
 * table4.c - the IPv4 classification table (DIR-24-8: tg_v4_tbl24, tg_v4_tbl8 and the void
 * /16 bits of tg_v4_void, see tollgate_kern_user.h): built whole in memory from every IPv4
 * prefix, laid over the live table (a tbl8 chunk whose content is unchanged keeps its
 * place), and written where it differs, in an order that keeps every packet classified
 * during the write. The IPv6 trie is its sibling, trie6.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/lib.h"
#include "sync_int.h"

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
	free(b->used16);
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
	b->used16 = calloc(TG_V4_VOID_WORDS, sizeof(uint64_t));
	b->chunk_of = malloc((nblk ? nblk : 1) * sizeof(uint32_t));
	if (!b->tbl24 || !b->blocks || !b->block_of || !b->chunk_of || !b->used16)
		return -ENOMEM;

	/* shortest first, so a longer prefix overwrites the shorter one it is inside */
	for (i = 0; i < n; i++) {
		uint32_t blk = p[i].addr >> 8, e;

		uint32_t last16 =
			p[i].plen >= 16 ? blk >> 8 : (blk >> 8) | ((1u << (16 - p[i].plen)) - 1);

		for (uint32_t s = blk >> 8; s <= last16; s++) /* the /16s it is in */
			b->used16[s >> 6] |= 1ull << (s & 63);

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

static void mark_owner(uint8_t *mark, uint32_t max, uint32_t v)
{
	if (v != TG_V4_NONE && !(v & TG_V4_TBL8) && v < max)
		mark[v] = 1;
}

int tg_v4_moved(const struct tg_maps *m, const struct tg_v4build *b, uint8_t *mark)
{
	uint32_t *block_at; /* per tbl8 chunk: the block of b placed there, + 1 */
	size_t i, k;

	if (!b->tbl24)
		return 0;
	block_at = calloc((size_t)m->tbl8_chunks + 1, sizeof(*block_at));
	if (!block_at)
		return -ENOMEM;
	for (k = 0; k < b->nblocks; k++)
		if (b->chunk_of[k] < m->tbl8_chunks)
			block_at[b->chunk_of[k]] = (uint32_t)k + 1;
	/* an entry that is the same is the same /24: a kept tbl8 chunk holds what b says */
	for (i = 0; i < TG_V4_TBL24_ENTRIES; i++) {
		uint32_t o, n;
		const uint32_t *ob = NULL, *nb = NULL;

		/* most of the table is the same: skip it a /16 at a time, without reading it
		 * where it is void before and after */
		if (!(i & 255) && ((((m->v4void[i >> 14] >> (i >> 8 & 63)) & 1) &&
				    !((b->used16[i >> 14] >> (i >> 8 & 63)) & 1)) ||
				   !memcmp(&m->tbl24[i], &b->tbl24[i], 256 * sizeof(uint32_t)))) {
			i += 255;
			continue;
		}
		o = m->tbl24[i];
		n = b->tbl24[i];
		if (o == n)
			continue;
		if ((o & TG_V4_TBL8) && (o & ~TG_V4_TBL8) < m->tbl8_chunks)
			ob = &m->tbl8[(size_t)(o & ~TG_V4_TBL8) * TG_V4_TBL8_CHUNK];
		if ((n & TG_V4_TBL8) && (n & ~TG_V4_TBL8) < m->tbl8_chunks &&
		    block_at[n & ~TG_V4_TBL8])
			nb = b->blocks[block_at[n & ~TG_V4_TBL8] - 1];
		if (!ob && !nb) {
			mark_owner(mark, m->max_cust, o);
			mark_owner(mark, m->max_cust, n);
			continue;
		}
		for (uint32_t j = 0; j < TG_V4_TBL8_CHUNK; j++) {
			uint32_t ov = ob ? ob[j] : o, nv = nb ? nb[j] : n;

			if (ov != nv) {
				mark_owner(mark, m->max_cust, ov);
				mark_owner(mark, m->max_cust, nv);
			}
		}
	}
	free(block_at);
	return 0;
}
