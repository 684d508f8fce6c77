/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sync_int.h - the pieces of a sync shared by the full sync (sync.c, which reads the maps
 * back) and the incremental one (sync_inc.c, which diffs against what it wrote last).
 * Internal to those two files.
 */
#ifndef TG_SYNC_INT_H
#define TG_SYNC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <net/if.h>

#include "config.h"
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
	uint32_t pps[4]; /* syn, udp, icmp, frag; 0: the plan's */
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
/* Chunks, then owners, then removals: a moving prefix is never unowned. */
void tg_v4_write(struct tg_maps *m, const struct tg_v4build *b);
void tg_v4build_free(struct tg_v4build *b);

/* IPv6 */
struct tg_v6ent {
	struct tg_v6_key key;
	uint32_t cust;
};
int tg_cmp_v6key(const void *a, const void *b);
void tg_v6_key(const struct tg_prefix *p, struct tg_v6_key *k);
void tg_v6_filter_add(uint64_t *bits, const struct tg_v6_key *k);

/* The counts status shows, published with the final length list. */
struct tg_counts {
	uint32_t customers, prefixes4, prefixes6;
};
/*
 * Move the IPv6 tables from what they hold to filter/lens: the /24 filter and the length
 * list widened to both generations, the keys added (or given a new owner), the keys
 * removed, then the final list (with counts) and filter. A packet probing meanwhile finds
 * either generation's owner, never neither.
 */
int tg_v6_apply(struct tg_maps *m, const uint64_t *filter, const uint8_t *lens, uint32_t nlens,
		const struct tg_v6_key *add, const uint32_t *add_v, size_t nadd,
		const struct tg_v6_key *del, size_t ndel, const struct tg_counts *counts);

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
