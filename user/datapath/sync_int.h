/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sync_int.h - the pieces of a sync shared by the full sync (sync.c, which reads the maps
 * back) and the incremental one (sync_inc.c, which diffs against what it wrote last).
 * Internal to those two files.
 *
 * Included by: the sync's files of user/datapath/ only (sync.c, sync_inc.c, trie6.c,
 * fprof.c); never through the door.
 */
#ifndef TG_SYNC_INT_H
#define TG_SYNC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <net/if.h>

#include "config/config.h"
#include "maps.h"

/* With -v, how long each phase took since the last call (t zeroed: start). */
void tg_sync_phase(const char *what, struct timespec *t);

int tg_update_batch(int fd, const void *keys, const void *vals, size_t n, size_t ksz, size_t vsz);
int tg_delete_batch(int fd, const void *keys, size_t n, size_t ksz);

/* Interface names resolved once per sync, not once per customer. */
#define TG_IFCACHE_MAX 64
struct tg_ifcache {
	struct {
		char name[IFNAMSIZ];
		uint32_t ifindex;
	} e[TG_IFCACHE_MAX];
	size_t n;
};
uint32_t tg_ifindex_cached(struct tg_ifcache *c, const char *name);

/* The record of a configured customer; -ENODEV (with a message) if it is bound to an
 * interface this host does not have. */
int tg_make_record(const struct tg_customer *cu, uint16_t fprof, uint64_t tick_ns,
		   struct tg_ifcache *ifc, struct tg_cust *out, struct tg_errs *errs);

/* Make a record say what the customer's enforcement state in enf (may be NULL) says:
 * suspended, or throttled (both directions at most the throttle rate), else active. */
struct tg_enf_table;
void tg_record_enforce(struct tg_cust *v, const struct tg_customer *cu,
		       const struct tg_enf_table *enf, uint64_t tick_ns);

/* Flood profiles (fprof.c): one per plan, one per distinct (plan, a customer's own limits). */
struct tg_fprof_combo {
	int32_t plan;
	uint32_t pps[TG_FC_OWN_NR]; /* by class (TG_FC_OWN_LIST); 0: the plan's */
};
struct tg_fprofs {
	uint16_t *of;		      /* the profile of each configured customer (0: none) */
	struct tg_fprof_combo *combo; /* profile nplans + 1 + i */
	size_t ncombo;
};
int tg_fprofs_build(const struct tg_cfg *cfg, struct tg_fprofs *t, struct tg_errs *errs);
void tg_fprofs_free(struct tg_fprofs *t);
/* The reflector ports, then every profile: before the records that name them. */
int tg_fprofs_write(struct tg_maps *m, const struct tg_cfg *cfg, const struct tg_fprofs *t,
		    uint64_t tick_ns);

/* The walled garden trie (tg_walled) made equal to cfg's list: additions, then removals. */
int tg_walled_write(struct tg_maps *m, const struct tg_cfg *cfg);

/* IPv4: the whole DIR-24-8 table built in memory, then written where it differs. */
struct tg_v4pfx {
	uint32_t addr; /* host order */
	uint8_t plen;
	uint32_t cust;
};

struct tg_v4build {
	uint32_t *tbl24;		      /* the new table; tbl8 pointers index blocks[] */
	uint32_t (*blocks)[TG_V4_TBL8_CHUNK]; /* new chunk contents */
	uint32_t *block_of;		      /* the /24 each block belongs to */
	uint32_t *chunk_of;		      /* chunk number chosen for each block */
	size_t nblocks;
	bool tbl24_lent; /* in: tbl24 is the caller's (TG_V4_TBL24_ENTRIES), reused, not freed */
};

/* p is reordered. -ENOSPC (with a message naming the setting) if the tbl8 chunks run out. */
int tg_v4_build(const struct tg_maps *m, struct tg_v4pfx *p, size_t n, struct tg_v4build *b,
		const struct tg_cfg *cfg, struct tg_errs *errs);
/* Chunks, then owners, then removals: a moving prefix is never unowned. The void /16s
 * (tg_v4_void) are cleared before and set after. */
void tg_v4_write(struct tg_maps *m, const struct tg_v4build *b);
void tg_v4build_free(struct tg_v4build *b);

/* IPv6: the whole trie built in memory, over the live one, then written where it differs
 * (trie6.c). */
struct tg_v6pfx {
	uint64_t hi, lo; /* the address, host order */
	uint8_t plen;
	uint32_t cust;
};
void tg_v6_pfx(const struct tg_prefix *p, uint32_t cust, struct tg_v6pfx *out);

struct tg_v6node {
	bool cmp;     /* a compare node (else a chunk) */
	bool fresh;   /* not at this place in the live trie: written whole, then linked */
	uint8_t bits; /* compare node: struct tg_v6_cmp */
	uint64_t want;
	uint32_t hit, miss;
	uint32_t ent;	/* chunk: its entries, ent[] of the build */
	uint32_t place; /* the chunk or compare node it is written to */
};

struct tg_v6build {
	struct tg_v6node *node; /* the first TG_V6_ROOT_CHUNKS are the root's chunks */
	size_t n, cap;
	uint32_t (*ent)[TG_V6_CHUNK]; /* chunk entries (trie6.c: a customer, or REF | node) */
	size_t nent, capent;
	size_t nchunks, ncmps; /* below the root */
};

/* p is reordered. -ENOSPC (with a message naming the setting) if the chunks run out. */
int tg_v6_build(const struct tg_maps *m, struct tg_v6pfx *p, size_t n, struct tg_v6build *b,
		const struct tg_cfg *cfg, struct tg_errs *errs);
/* New chunks, then owners and pointers in place, then removals. */
void tg_v6_write(struct tg_maps *m, const struct tg_v6build *b);
void tg_v6build_free(struct tg_v6build *b);
/* Chunks below the root that the built trie uses. */
size_t tg_v6_nodes(const struct tg_v6build *b);
/* Compare nodes it uses. */
size_t tg_v6_cmps(const struct tg_v6build *b);

/* What status and the metrics show, published after the tables are written. */
struct tg_counts {
	uint32_t customers, prefixes4, prefixes6, chunks4, chunks6, cmps6;
};
int tg_write_counts(struct tg_maps *m, const struct tg_counts *counts);

int tg_cmp_bind(const void *a, const void *b);
int tg_bump_bind_gen(struct tg_maps *m);
/* tg_config.sync_gen + 1, written; the new value in *gen. */
int tg_bump_sync_gen(struct tg_maps *m, uint32_t *gen);

/*
 * The full sync (tg_sync_customers), which reads the maps back; with idx/rec, the index
 * and record given to each configured customer (malloc'd), and in gen the sync_gen it
 * left.
 */
int tg_sync_full(struct tg_maps *m, const struct tg_cfg *cfg, struct tg_sync_stats *st,
		 struct tg_errs *errs, uint32_t **idx, struct tg_cust **rec, uint32_t *gen);

/* A departed customer: record first, then counters, policer state and name. */
int tg_clear_customer(struct tg_maps *m, uint32_t idx);

#endif /* TG_SYNC_INT_H */
