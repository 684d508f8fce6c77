/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sync_int.h - the inside of a sync, shared by the files of user/datapath/ (and white-box
 * tests): two planners, the full one (sync.c, which reads the maps back) and the
 * incremental one (sync_inc.c, which diffs against what it wrote last), each produce a
 * struct tg_txn; one committer (commit.c) applies any plan in the one order. Below them:
 * the table builders (table4.c, trie6.c), the flood profiles (fprof.c), the policer
 * arithmetic (policer.c) and the map I/O (mapio.c), which call nothing above them.
 *
 * Included by: the files of user/datapath/ and white-box tests; never through the door.
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
/* Read a whole map (array or hash) into malloc'd key and value arrays. */
int tg_dump_map(int fd, size_t max, size_t ksz, size_t vsz, void **keys, void **vals, size_t *n);

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
void tg_record_enforce(struct tg_cust *v, const struct tg_customer *cu,
		       const struct tg_enf_view *enf, uint64_t tick_ns);
/* enf says some customer is not active (else the records need no lookup). */
bool tg_enf_any(const struct tg_enf_view *enf);

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
	bool tbl24_lent;  /* in: tbl24 is the caller's (TG_V4_TBL24_ENTRIES), reused, not freed */
	uint64_t *used16; /* the /16s tbl24 has an entry in, a bit each (tg_v4_moved) */
};

/* p is reordered. -ENOSPC (with a message naming the setting) if the tbl8 chunks run out. */
int tg_v4_build(const struct tg_maps *m, struct tg_v4pfx *p, size_t n, struct tg_v4build *b,
		const struct tg_cfg *cfg, struct tg_errs *errs);
/* Chunks, then owners, then removals: a moving prefix is never unowned. The void /16s
 * (tg_v4_void) are cleared before and set after. */
void tg_v4_write(struct tg_maps *m, const struct tg_v4build *b);
void tg_v4build_free(struct tg_v4build *b);
/* Mark (mark[idx] = 1, max_cust entries) every customer that has an address in b the live
 * table gives to another, or in the live table one b gives to another: whose IPv4 prefixes
 * were added, removed or moved. Before tg_v4_write. 0 or -ENOMEM. */
int tg_v4_moved(const struct tg_maps *m, const struct tg_v4build *b, uint8_t *mark);

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
/* The live trie's owner of each prefix's first address (TG_CUST_NONE: none): taken before
 * and after a write, where they differ a prefix was added or moved. */
void tg_v6_owners(const struct tg_maps *m, const struct tg_v6pfx *p, size_t n, uint32_t *out);

/* What status and the metrics show, published after the tables are written. */
struct tg_counts {
	uint32_t customers, prefixes4, prefixes6, chunks4, chunks6, cmps6;
};

int tg_cmp_bind(const void *a, const void *b);
/* tg_config.sync_gen + 1, written; the new value in *gen. */
int tg_bump_sync_gen(struct tg_maps *m, uint32_t *gen);

/*
 * A plan: every write of one sync (or of one pass of a sync that recycles indexes),
 * computed before the first, so a configuration that does not fit changes nothing. Both
 * planners fill it; tg_commit applies it. Its arrays are the planner's (tg_txn_free).
 */
struct tg_txn {
	/* 0. flood profiles and reflector ports, then the walled garden: whole, from cfg */
	const struct tg_cfg *cfg;
	const struct tg_fprofs *fp; /* the planner's */
	uint64_t tick_ns;	    /* of the profiles' policers */
	/* 1. records (new and changed customers), then names (new ones) */
	uint32_t *rkeys;
	struct tg_cust *rvals;
	size_t nrec;
	uint32_t *nkeys;
	char (*names)[TG_ID_LEN];
	size_t nnames;
	/* 2. the IPv4 table, then the IPv6 trie; then the counts they publish */
	struct tg_v4build v4;
	struct tg_v6build v6;
	struct tg_counts counts;
	/* 3. bindings: the ports whose owner is new or changes, then the ports that go; then
	 * bind_gen, if either is not empty or bind_gen_always */
	struct tg_bind_key *bupd;
	uint32_t *bupd_v;
	size_t nbupd;
	struct tg_bind_key *bdel;
	size_t nbdel;
	bool bind_gen_always;
	/* 4. departed customers: record, counters, policer state and name cleared; then their
	 * per-source blocks forgotten */
	uint32_t *gone;
	size_t ngone;
};
void tg_txn_free(struct tg_txn *p);

/*
 * The map writer: the committer's only way to the maps, one operation per kind of write.
 * tg_map_writer writes the maps; a test puts a recording writer in tg_writer to check the
 * order of the writes.
 */
struct tg_writer {
	int (*profiles)(struct tg_maps *m, const struct tg_cfg *cfg, const struct tg_fprofs *fp,
			uint64_t tick_ns);
	int (*walled)(struct tg_maps *m, const struct tg_cfg *cfg);
	int (*records)(struct tg_maps *m, const uint32_t *keys, const struct tg_cust *v, size_t n);
	int (*names)(struct tg_maps *m, const uint32_t *keys, const char (*names)[TG_ID_LEN],
		     size_t n);
	void (*v4)(struct tg_maps *m, const struct tg_v4build *b);
	void (*v6)(struct tg_maps *m, const struct tg_v6build *b);
	int (*counts)(struct tg_maps *m, const struct tg_counts *c);
	int (*bind_set)(struct tg_maps *m, const struct tg_bind_key *k, const uint32_t *v,
			size_t n);
	int (*bind_del)(struct tg_maps *m, const struct tg_bind_key *k, size_t n);
	int (*bind_gen)(struct tg_maps *m);
	int (*clear)(struct tg_maps *m, uint32_t idx);
	int (*forget)(struct tg_maps *m, const uint32_t *idx, size_t n);
};
extern const struct tg_writer tg_map_writer;
extern const struct tg_writer *tg_writer; /* &tg_map_writer unless a test replaces it */

/*
 * Apply a plan, in the one order that keeps every packet classified (docs/datapath.md):
 * profiles and walled garden, records, names, IPv4, IPv6, counts, bindings set, bindings
 * deleted, bind_gen, departed customers, their per-source blocks. 0, or the first error
 * (with a message in errs): then the maps may be half-way.
 */
int tg_commit(struct tg_maps *m, const struct tg_txn *p, struct tg_errs *errs);

#endif /* TG_SYNC_INT_H */
