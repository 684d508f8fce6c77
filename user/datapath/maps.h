/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * maps.h - the pinned data plane seen from userspace: loading the program and its maps
 * (loader.c), filling them from a validated config (the planners sync.c and sync_inc.c,
 * the committer commit.c), and reading the counters back (stats.c).
 *
 * Included by: datapath.h (the door) and the files of user/datapath/; the tests and the
 * benchmark that load the program.
 */
#ifndef TG_MAPS_H
#define TG_MAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "tollgate_kern_user.h"

/* File descriptors of every map (TG_MAPS), plus the mmapped IPv4 tables and IPv6 trie. */
struct tg_maps {
#define TG_MAPS_FD(name, size) int name; /* tg_<name> */
	TG_MAPS(TG_MAPS_FD)
#undef TG_MAPS_FD
	int prog;			   /* the XDP program */
	uint32_t *tbl24;		   /* mmap of tg_v4_tbl24 (TG_V4_TBL24_ENTRIES) */
	uint32_t *tbl8;			   /* mmap of tg_v4_tbl8 (tbl8_chunks * TG_V4_TBL8_CHUNK) */
	uint64_t *v4void;		   /* mmap of tg_v4_void (TG_V4_VOID_WORDS) */
	struct tg_v6_chunk *v6trie;	   /* mmap of tg_v6_trie (v6_chunks chunks) */
	struct tg_v6_cmp *v6cmp;	   /* mmap of tg_v6_cmp (v6_ncmp nodes) */
	const struct tg_cdrop *cdrop_mm;   /* mmap of tg_cdrop, read-only, once tg_maps_map_cdrop */
	const struct tg_cnoted *cnoted_mm; /* mmap of tg_cnoted, likewise */
	const struct tg_fanout
		*fanout_mm; /* mmap of tg_fanout, read-only, once tg_maps_map_fanout */
	uint32_t max_cust;  /* entries of the per-customer maps (index 0 unused) */
	uint32_t tbl8_chunks;
	uint32_t v6_chunks; /* entries of tg_v6_trie, the root's TG_V6_ROOT_CHUNKS included */
	uint32_t v6_ncmp;   /* entries of tg_v6_cmp */
	uint32_t bind_max;
	int ncpus; /* libbpf_num_possible_cpus() */
	char pin_dir[256];
	struct tg_fold *fold; /* the in-kernel fold of tg_cstat, once tg_fold_read set it up */
	int fold_err;	      /* why it could not be (-errno), 0: not tried yet */
};

/* Map sizes, from the capacity section (tg_capacity_from_config). */
struct tg_capacity {
	uint32_t max_customers;
	uint32_t max_prefixes;
};

void tg_capacity_from_config(const struct tg_cfg *cfg, struct tg_capacity *cap);

/* The pin directory: $TOLLGATE_PIN_DIR, else the config's pin_dir, else the default. */
const char *tg_pin_dir(const struct tg_cfg *cfg);

/*
 * Open the pinned program and maps under pin_dir. With create, load and pin them first if
 * they are not there (sized from cap); without, -ENOENT if nothing is pinned. Pins of
 * another layout version give -EPROTO with a message; capacity differing from pinned
 * maps gives -EEXIST. With pin_dir NULL nothing is pinned: a private instance for tests
 * and benchmarks.
 */
int tg_maps_open(const char *pin_dir, const struct tg_capacity *cap, bool create,
		 struct tg_maps *m);
void tg_maps_close(struct tg_maps *m);
/* mmap tg_cdrop and tg_cnoted read-only into m->cdrop_mm, m->cnoted_mm (tollgated's
 * enforcement reads every customer's drops each interval; the mappings show in the
 * process's RSS: 352 + 176 bytes a customer, the maps' own memory, shared). 0 or -errno. */
int tg_maps_map_cdrop(struct tg_maps *m);
/* mmap tg_fanout read-only into m->fanout_mm (tollgated: 64 bytes a customer). 0 or -errno. */
int tg_maps_map_fanout(struct tg_maps *m);
/* Open (not load) the XDP object embedded in the binary (skel.c). */
struct bpf_object_open_opts;
struct bpf_object *tg_bpf_open(const struct bpf_object_open_opts *opts);
/* Open (not load) the fold's object (bpf/fold.bpf.c), likewise; fold.c loads it. */
struct bpf_object *tg_fold_bpf_open(void);
/* Before load: the policer clock's tick in 2^-8 ns (0: the program reads the coarse clock). */
int tg_bpf_set_tick(struct bpf_object *obj, uint64_t tick_fns);
/*
 * Serialise writers (tollgate attach/detach, the daemon's reloads) on the pin directory:
 * returns a lock to give to tg_maps_unlock, or -1 for a private instance. Blocks while
 * another writer holds it.
 */
int tg_maps_lock(const struct tg_maps *m);
void tg_maps_unlock(int lock);
/* Remove every pin under m->pin_dir (program, maps, links) and the directory. */
int tg_maps_unpin(const char *pin_dir);

/*
 * What a sync needs besides the configuration, given by its caller (the reload path owns
 * the state database; the sync does no I/O but to the maps).
 *
 * The enforcement state the records carry: tollgated's table, or the state database's
 * when no daemon runs. state_of gives TG_ST_THROTTLED (with the throttle rate in
 * *throttle_bps), TG_ST_SUSPENDED or TG_ST_ACTIVE; count how many are not active.
 */
struct tg_enf_view {
	const void *ctx;
	uint8_t (*state_of)(const void *ctx, const char *id, uint64_t *throttle_bps);
	size_t (*count)(const void *ctx);
};

/* A customer's index as the state database remembers it (a full sync gives it back to
 * the customer when it is free), or as a sync gave it. */
struct tg_idx_hint {
	const char *id;
	uint32_t idx;
};

struct tg_sync_env {
	const struct tg_enf_view *enf;	/* NULL: every customer active */
	const struct tg_idx_hint *hint; /* sorted by id; used by a full sync only */
	size_t nhint;
};

/* What the state database should learn from a sync: the indexes given (set) and the ids
 * whose index is free again (drop). The ids belong to the configurations and hints the
 * sync was given (and to *old of tg_sync_applied): record before freeing those. */
struct tg_idx_changes {
	struct tg_idx_hint *set;
	size_t nset;
	const char **drop;
	size_t ndrop;
};
void tg_idx_changes_free(struct tg_idx_changes *c);

/*
 * Make the customer maps say what cfg says: customers, prefixes (IPv4 DIR-24-8 and IPv6
 * trie), bindings, names. Interfaces named in the config are resolved to ifindexes for
 * the bindings; one not present on this host is an error. Returns 0 or -errno with the
 * reason in errs; on error the maps are not changed.
 */
struct tg_sync_stats {
	size_t customers;		/* configured */
	size_t added, changed, removed; /* customer records written or cleared; changed
					 * counts a customer whose prefixes changed too */
	bool full;			/* the maps were read back (not a difference in memory) */
	bool two_pass; /* departed customers went first: the new ones needed their indexes */
};

/* The full sync (the maps read back), under the writers' lock it takes. env may be NULL:
 * no remembered indexes, every customer active. */
int tg_sync_customers(struct tg_maps *m, const struct tg_cfg *cfg, const struct tg_sync_env *env,
		      struct tg_sync_stats *st, struct tg_errs *errs);

/*
 * The same, the caller holding the writers' lock. With idx/rec, the index and record given
 * to each configured customer (malloc'd); in gen the sync_gen it left; in chg (may be
 * NULL) what the state database should learn.
 */
int tg_sync_full(struct tg_maps *m, const struct tg_cfg *cfg, const struct tg_sync_env *env,
		 struct tg_sync_stats *st, struct tg_idx_changes *chg, struct tg_errs *errs,
		 uint32_t **idx, struct tg_cust **rec, uint32_t *gen);

/*
 * What tollgated last wrote into the customer maps, so that a reload computes the
 * difference in memory instead of reading 1M records back (sync_inc.c).
 */
struct tg_applied;

/*
 * Make the maps say what cfg says, like tg_sync_customers; the caller holds the writers'
 * lock. With *app describing the maps (tg_applied_usable), only the difference is
 * computed and written; otherwise, or with *app NULL, a full sync (with env's hints).
 * Takes cfg and lc (its reload cache, may be NULL) in every case: on success *app is the
 * new snapshot holding them (or NULL if none could be kept: the next sync is a full one)
 * and *old the previous snapshot, for the caller to free when convenient
 * (tg_applied_free). lc's rows copied from *app's configuration are matched without a
 * lookup. On failure cfg and lc are freed, *app is
 * kept but marked stale (the maps may be half-way). chg (may be NULL): what the state
 * database should learn.
 */
int tg_sync_applied(struct tg_maps *m, struct tg_applied **app, struct tg_cfg *cfg,
		    struct tg_load_cache *lc, const struct tg_sync_env *env,
		    struct tg_applied **old, struct tg_sync_stats *st, struct tg_idx_changes *chg,
		    struct tg_errs *errs);
/* 0 if tg_sync_applied would sync cfg incrementally from a (no hints needed), else
 * -ESTALE (or -errno). Under the writers' lock. */
int tg_applied_usable(const struct tg_maps *m, const struct tg_applied *a,
		      const struct tg_cfg *cfg);
/* The state database missed what a sync gave: the next sync is a full one. */
void tg_applied_set_stale(struct tg_applied *a);
void tg_applied_free(struct tg_applied *a);
/* The configuration a snapshot holds, or NULL. */
const struct tg_cfg *tg_applied_cfg(const struct tg_applied *a);
/* Its reload cache (for tg_config_load_from), or NULL. */
const struct tg_load_cache *tg_applied_cache(const struct tg_applied *a);
/* The customer index of each of its configuration's customers, or NULL. */
const uint32_t *tg_applied_idx(const struct tg_applied *a);
/* Index its rows for the next tg_config_load_from (tg_config_index_rows): after replying. */
int tg_applied_index(struct tg_applied *a);

/* 0 while the snapshot describes the maps (tg_config.sync_gen is the one it left), else
 * -ESTALE (or -errno). Under the writers' lock to be sure of it. */
int tg_applied_current(const struct tg_maps *m, const struct tg_applied *a);
/*
 * tollgated changed a customer's enforcement state (enf holds the new one): write its
 * record, and the snapshot's copy, so that the next reload starts from what the maps say.
 * The caller holds the writers' lock (tg_maps_lock). -ESTALE: the snapshot does not
 * describe the maps (another writer synced since: tg_config.sync_gen moved, or tg_names
 * gives the customer's index to another id); the record was written where tg_names has
 * the customer now, if anywhere, and the caller syncs in full. -ENOENT: no such customer.
 */
int tg_applied_enforce(struct tg_maps *m, struct tg_applied *a, const char *id,
		       const struct tg_enf_view *enf);

/* The customer index that owns an IPv6 address (network order), read from the live trie
 * as the data plane walks it; 0 if none. */
uint32_t tg_v6_owner(const struct tg_maps *m, const uint8_t addr[16]);

/* The customer index of an external id (scan of tg_names), or 0 if none. */
uint32_t tg_find_customer(const struct tg_maps *m, const char *id);

/* GCRA parameters for one direction; tick_ns is the policer clock resolution. */
void tg_policer_params(const struct tg_rate_cfg *r, uint64_t tick_ns, struct tg_policer_cfg *out);
/* A packet-rate limit of pps (0: none) with a burst of packets (0: one second's worth),
 * raised to at least two clock ticks' worth and at least one packet. */
void tg_pkt_policer_params(uint64_t pps, uint64_t burst, uint64_t tick_ns, struct tg_pkt_pol *out);
/* Resolution of bpf_ktime_get_coarse_ns(): clock_getres(CLOCK_MONOTONIC_COARSE). */
uint64_t tg_coarse_tick_ns(void);

/* Counters, summed over CPUs (and the pending drop slots). */
struct tg_counter {
	uint64_t pkts, bytes;
};

struct tg_cust_counters {
	struct tg_counter pass[TG_DIR_NR]; /* noted packets included */
	struct tg_counter drop[TG_DIR_NR][TG_R_NR];
	struct tg_counter noted[TG_DIR_NR][TG_R_NR]; /* would-drops: packets only, bytes 0 */
};

struct tg_if_counters {
	struct tg_counter pass, uncl;
	struct tg_counter drop[TG_R_NR];
	struct tg_counter noted[TG_R_NR];
};

int tg_read_cust(const struct tg_maps *m, uint32_t idx, struct tg_cust_counters *out);
int tg_read_iface(const struct tg_maps *m, uint32_t slot, struct tg_if_counters *out);
/*
 * Every customer index [0, n) at once (tollgated's enforcement interval, snapshots):
 * passed counters summed over CPUs into pass[idx], by the in-kernel fold (tg_fold_read),
 * else in batches here. (Drops need no copy: m->cdrop_mm.)
 */
int tg_read_cust_all(struct tg_maps *m, uint32_t n, struct tg_cstat *pass);

/*
 * The in-kernel fold (fold.c, bpf/fold.bpf.c): every customer's tg_cstat summed over the
 * CPUs, each CPU its own copies, into an array mapped here; *sums (m->max_cust entries)
 * holds this call's sums until the next call or tg_maps_close. Set up on the first call.
 * -errno when it cannot be set up or a fold fails: then for good, said once in the log
 * (tg_fold_in_kernel false; the caller sums the CPUs itself). -ECANCELED, silently, below
 * 2^20 customers x CPUs (cheaper summed here) or with TOLLGATE_FOLD=user;
 * TOLLGATE_FOLD=kernel uses it at any size.
 */
int tg_fold_read(struct tg_maps *m, const struct tg_cstat **sums);
bool tg_fold_in_kernel(const struct tg_maps *m);
/* The last fold's time on its CPUs by the kernel's timer: the longest CPU's, and all. */
void tg_fold_cpu_ms(const struct tg_maps *m, double *max_ms, double *sum_ms);
void tg_fold_close(struct tg_maps *m);

/*
 * The per-customer drop and would-drop counts as the data plane counted them: the shared
 * tg_cdrop/tg_cnoted plus what each CPU still holds in its coalescing slot (tg_dcache).
 * One reader for every consumer (customer show, the API, /metrics, the enforcer's rules
 * and evidence), so they all see the same numbers.
 *
 * tg_pend_read copies the slots (S0), reads the shared counters of each slot's key (base),
 * and copies the slots again (S1). A slot whose `flushes` did not move from S0 to S1 was
 * not flushed in between, so base does not hold its S0 packets: the count is base + them,
 * exact as of S0. A slot that moved was flushed at some point: base may or may not hold
 * them, and they are left out (the count may lag by up to TG_DCACHE_FLUSH_PKTS - 1 for
 * this read, never exceed; the next read has them). The accepted race: the writer bumps
 * `flushes`, adds to the shared counter, then zeroes `pkts`; a copy of the slot taken
 * between the first and the last of these (a few instructions) sees the new `flushes`
 * with the old `pkts`, and counts them twice for that one read if base was read after
 * the add. Counters not in any slot are read live (m->cdrop_mm) by tg_pend_drops.
 */
#define TG_SNAP_PEND_MAX 1024 /* CPUs */
struct tg_pending {
	uint32_t cust;
	uint8_t dir, reason, noted;
	uint64_t pkts, bytes;  /* still in the slots (0 if a slot flushed during the read) */
	uint64_t base, base_b; /* the shared counter's packets (bytes) when read */
};
struct tg_pendset {
	int n;
	uint64_t filter[64]; /* bit cust % 4096: a customer that may have an entry */
	struct tg_pending e[TG_SNAP_PEND_MAX];
};
/* Needs tg_maps_map_cdrop. 0 or -errno (then ps is empty: the counts lag by the slots). */
int tg_pend_read(const struct tg_maps *m, struct tg_pendset *ps);
/* Dropped (noted 0) or would-drop (noted 1) packets of customer idx, direction, reason. */
uint64_t tg_pend_count(const struct tg_maps *m, const struct tg_pendset *ps, uint32_t idx, int dir,
		       int reason, int noted);

/*
 * The fan-out sketches (tg_fanout, bpf/fanout_kern.h). The interval is element 0's epoch:
 * tollgated reads every customer's record, then tg_fanout_advance starts the next
 * interval. tg_read_fanout estimates customer idx's record of the current interval (all 0
 * if it has sent nothing that feeds them since it began). 0 or -errno.
 */
struct tg_fanout_est;
int tg_fanout_epoch(const struct tg_maps *m, uint32_t *epoch);
int tg_fanout_advance(const struct tg_maps *m);
int tg_read_fanout(const struct tg_maps *m, uint32_t idx, struct tg_fanout_est *e);

/*
 * Every loaded customer at once (the exporter, the API, tollgate top): names, records,
 * passed counters (with want_pass), and the pending slots (tg_pendset), so tg_snap_drops
 * and tg_snap_noted equal tg_read_cust's numbers. rows[] are the loaded customers, scored
 * by passed bytes (both directions).
 */
struct tg_crow {
	uint32_t idx;
	uint64_t score;
};
struct tg_snap {
	uint32_t n; /* entries of the arrays: the maps' max_cust */
	char (*names)[TG_ID_LEN];
	struct tg_cust *rec;
	struct tg_cstat *pass;
	struct tg_crow *rows;
	size_t nrows, nstate[TG_ST_NR]; /* nstate by enum tg_state */
	struct tg_pendset pend;
	bool have_pass;
};
int tg_snap_take(struct tg_maps *m, struct tg_snap *sn, bool want_pass);
void tg_snap_free(struct tg_snap *sn);
uint64_t tg_snap_drops(const struct tg_maps *m, const struct tg_snap *sn, uint32_t idx, int dir,
		       int reason);
uint64_t tg_snap_noted(const struct tg_maps *m, const struct tg_snap *sn, uint32_t idx, int dir,
		       int reason);
/* qsort order of tg_crow: the highest score first, then by index. */
int tg_crow_cmp(const void *a, const void *b);

/* The destination ports of customer idx's dropped packets among each CPU's last
 * TG_PS_SLOTS drops (tg_dcache), the most frequent first: up to max. The number, or
 * -errno. */
struct tg_port_count {
	uint8_t proto, dir;
	uint16_t port;
	uint32_t count;
};
int tg_top_ports(const struct tg_maps *m, uint32_t idx, struct tg_port_count *out, int max);

/*
 * The hosts of customer idx that its download traffic goes to: from each CPU's last
 * TG_PS_SLOTS download drops and its samples of passed downloads (one in
 * TG_PS_PASS_EVERY), grouped by destination address, the most sampled first: up to max.
 * For each, the protocol most seen and the source ports most seen with it (what a
 * FlowSpec rule would match). The number, or -errno. Bounded: at most 2 x TG_PS_SLOTS
 * samples per CPU are read, whatever the number of customers.
 */
#define TG_TOP_SPORTS 4
struct tg_dest_count {
	uint8_t v6;
	uint8_t proto; /* the protocol most seen toward the host */
	uint8_t nsport;
	uint8_t addr[16];	       /* network order; IPv4 in the first 4 bytes */
	uint16_t sport[TG_TOP_SPORTS]; /* with proto, the most seen first (0 not counted) */
	uint32_t drops;		       /* samples among the drops */
	uint32_t passes;	       /* samples among the passed packets */
};
int tg_top_dests(const struct tg_maps *m, uint32_t idx, struct tg_dest_count *out, int max);

/* Delete the per-source blocks that have ended (tollgated runs it every few seconds: the
 * data plane removes an expired entry only while the customer has a block running). */
#define TG_SWEEP_INTERVAL_S 10
int tg_sweep_srcblock(const struct tg_maps *m, size_t *removed);
/* Delete every per-source block of these customer indexes (they were removed: a customer
 * given the index later must not inherit them), and the ended ones. 0 or -errno. */
int tg_srcblock_forget(const struct tg_maps *m, const uint32_t *idx, size_t n);

#endif /* TG_MAPS_H */
