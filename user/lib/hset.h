/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hset.h - an index over items kept in an array of the caller's: open addressing, linear
 * probing, one 64-bit slot per entry (32 bits of the hash, item + 1). The items stay
 * where they are; the set only answers "which item has this key", so finding the
 * customer of an id or a duplicate among 2M prefixes is one probe, not a sort.
 *
 * Hashing is xxHash's XXH3 (libxxhash, inlined). No removal: the sets are built once per
 * configuration. Sized at twice the item count, so probes stay short.
 *
 * Included by: lib.h (the door: other rooms get it through that).
 */
#ifndef TG_HSET_H
#define TG_HSET_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

struct tg_hset {
	uint64_t *slot; /* 0: empty; else hash high 32 bits | (item + 1) */
	uint64_t mask;
};

static inline uint64_t tg_hash(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}

/*
 * Ask for transparent huge pages on a large allocation before it is touched: at 1M
 * customers a config is ~0.5 GB, and faulting it in 4 KiB at a time cost more than
 * parsing it.
 */
static inline void tg_advise_huge(void *p, size_t len)
{
	const uintptr_t huge = 2u << 20;
	uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1),
		  e = ((uintptr_t)p + len) & ~(huge - 1);

	if (p && len >= 4 * huge && e > a)
		madvise((void *)a, e - a, MADV_HUGEPAGE);
}

/* Room for n items. 0 or -ENOMEM. */
static inline int tg_hset_init(struct tg_hset *h, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	h->slot = calloc(cap, sizeof(*h->slot));
	h->mask = cap - 1;
	tg_advise_huge(h->slot, cap * sizeof(*h->slot));
	return h->slot ? 0 : -ENOMEM;
}

static inline void tg_hset_free(struct tg_hset *h)
{
	free(h->slot);
	h->slot = NULL;
	h->mask = 0;
}

/*
 * The item whose key hashes to hash and for which eq(ctx, item) holds, or UINT32_MAX;
 * *where is the slot to give tg_hset_put when there is none.
 */
static inline uint32_t tg_hset_find(const struct tg_hset *h, uint64_t hash,
				    bool (*eq)(const void *ctx, uint32_t item), const void *ctx,
				    uint64_t **where)
{
	uint64_t tag = hash & 0xffffffff00000000ull, i = hash & h->mask;

	for (;; i = (i + 1) & h->mask) {
		uint64_t s = h->slot[i];

		if (!s) {
			if (where)
				*where = &h->slot[i];
			return UINT32_MAX;
		}
		if ((s & 0xffffffff00000000ull) == tag && eq(ctx, (uint32_t)s - 1))
			return (uint32_t)s - 1;
	}
}

/* Warm the cache line tg_hset_find will read first: a loop over many keys probes ahead. */
static inline void tg_hset_prefetch(const struct tg_hset *h, uint64_t hash)
{
	__builtin_prefetch(&h->slot[hash & h->mask]);
}

/* Record item at the slot tg_hset_find gave (items < UINT32_MAX). */
static inline void tg_hset_put(uint64_t *where, uint64_t hash, uint32_t item)
{
	*where = (hash & 0xffffffff00000000ull) | ((uint64_t)item + 1);
}

#endif /* TG_HSET_H */
