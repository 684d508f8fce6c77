/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * state.h - the state database (SQLite, tollgate.yaml `state`, default
 * /var/lib/tollgate/state.db). For now it holds the customer index assignments, so a
 * customer keeps its index - and so its counters and policer state - across reloads,
 * restarts and reboots (which clear bpffs). Later versions add enforcement state, the
 * audit log and the notification outbox.
 *
 * The door of user/state/. Included by: the rooms above it (datapath, daemon, cli),
 * state.c; the tests. Includes: the ABI header only.
 */
#ifndef TG_STATE_H
#define TG_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tollgate_kern_user.h"

struct tg_statedb;
typedef struct sqlite3 sqlite3;

/* One assignment: external id -> customer index. */
struct tg_assign {
	const char *id;
	uint32_t idx;
};

/* Open (creating the file, its directory and the schema if needed). -errno on failure,
 * with the reason in err. */
int tg_state_open(const char *path, struct tg_statedb **out, char *err, size_t errlen);
void tg_state_close(struct tg_statedb *st);
/* The connection, for the modules that keep their own tables in the same file (schema in
 * state.c: enforcement, audit, episode, outbox). */
sqlite3 *tg_state_sqlite(struct tg_statedb *st);
/* Run sql, a DELETE with one parameter ?1 = arg: the number of rows deleted, or -EIO. */
long tg_state_delete(sqlite3 *db, const char *sql, int64_t arg);

/* Every recorded assignment, sorted by id; *out is malloc'd, ids owned by st until the
 * next call. */
int tg_state_assignments(struct tg_statedb *st, struct tg_assign **out, size_t *n);

/*
 * Record the assignments of a sync in one transaction: set[] are the customers now
 * loaded (inserted or updated), drop[] the ids of customers removed (their index is free
 * again: the sync cleared its counters first).
 */
int tg_state_record(struct tg_statedb *st, const struct tg_assign *set, size_t nset,
		    const char *const *drop, size_t ndrop);

/*
 * Enforcement. A customer that is not active has a row in `enforcement`; every action
 * (a rule firing, a manual suspend, an expiry) is an `audit` row, written in the same
 * transaction as the state it sets and the notifications it queues, and committed before
 * the data plane is changed. Times are unix milliseconds.
 */
#define TG_ENF_ACTOR_LEN 96
#define TG_ENF_REASON_LEN 512
#define TG_ENF_RULE_LEN 64

struct tg_enf_entry {
	char id[TG_ID_LEN];	    /* the customer's external id */
	uint8_t state;		    /* TG_ST_THROTTLED or TG_ST_SUSPENDED */
	uint64_t throttle_bps;	    /* TG_ST_THROTTLED: the rate of both directions */
	int64_t since_ms, until_ms; /* until_ms 0: until lifted */
	char rule[TG_ENF_RULE_LEN]; /* "": set by hand */
	char actor[TG_ENF_ACTOR_LEN];
	char reason[TG_ENF_REASON_LEN];
	int64_t audit_id;
};

/* The customers that are not active, sorted by id. */
struct tg_enf_table {
	struct tg_enf_entry *e;
	size_t n, cap;
};
const struct tg_enf_entry *tg_enf_find(const struct tg_enf_table *t, const char *id);
int tg_enf_put(struct tg_enf_table *t, const struct tg_enf_entry *e); /* insert or replace */
void tg_enf_del(struct tg_enf_table *t, const char *id);
void tg_enf_free(struct tg_enf_table *t);

/* Read the enforcement table (replacing *out's contents). */
int tg_state_enf_load(struct tg_statedb *st, struct tg_enf_table *out);

/*
 * Event ids (evid.c): every audit row has one, globally unique and time-ordered, a UUIDv7
 * whose last group is the node part ("0190f5c2-1a3b-7000-8d2e-5f0c1b2a3d4e"). It is the
 * event's "id" everywhere (notifications, `tollgate events`, the API); receivers dedupe on
 * it. Within a node ids strictly increase, across restarts and even when a crash or a
 * restore lost the newest rows (a `meta` row keeps the last one issued, and the clock has
 * moved on); nodes differ in the node part. The audit row's integer id stays the local
 * order ("seq").
 */
#define TG_EVID_LEN 37 /* 36 characters and the NUL */
#define TG_EVID_NODE_MASK 0xffffffffffffull
/* The node part for node_name (the cluster's node name); NULL or "": this machine's, from
 * /etc/machine-id (else the hostname). 48 bits. */
uint64_t tg_evid_node(const char *node_name);
/* Make the ids st issues from now on carry node_name's node part (tg_evid_node) and go on
 * above the last id that node issued in st. 0 or -EIO. tg_state_open starts with NULL. */
int tg_state_set_node(struct tg_statedb *st, const char *node_name);

/* The generator (pure but for 14 random bits): the last ms and count issued. */
struct tg_evid_gen {
	uint64_t node;
	int64_t last_ms;
	uint32_t seq;
};
/* The next id at now_ms: above every id g issued or was seeded with. */
void tg_evid_next(struct tg_evid_gen *g, int64_t now_ms, char out[TG_EVID_LEN]);
/* Raise g to last (an id) if last is above it; a malformed last changes nothing. */
void tg_evid_seed(struct tg_evid_gen *g, const char *last);
void tg_evid_format(int64_t ms, uint32_t seq, uint16_t rnd, uint64_t node, char out[TG_EVID_LEN]);
/* 0 and the parts of s, or -EINVAL when s is not an event id. */
int tg_evid_parse(const char *s, int64_t *ms, uint32_t *seq, uint64_t *node);

/* One action, as the audit log records it. */
struct tg_event {
	const char *id; /* the event id; NULL to tg_state_act: it makes one */
	int64_t ts_ms;
	const char *customer;
	const char *action; /* notify throttle suspend unthrottle unsuspend expire ... */
	const char *actor;  /* "rule:NAME" or "user:NAME(uid N)" */
	const char *rule;   /* NULL: not a rule's */
	const char *reason;
	const char *evidence; /* JSON object text, or NULL */
	int monitor;	      /* 1: what would have been done; nothing changed */
	int64_t until_ms;     /* 0: none */
	uint64_t throttle_bps;
	/* in a cluster (docs/cluster.md): the node that decided it (NULL: this node, alone);
	 * its id is the decider's, the same on every node. uid: only rows recorded from the
	 * records of older nodes ("<node>:<audit id>", kept so they are recorded once) */
	const char *origin;
	const char *uid;
};

enum tg_enf_op {
	TG_ENF_KEEP = 0, /* the enforcement row stays as it is */
	TG_ENF_SET,	 /* the customer's row becomes enf */
	TG_ENF_CLEAR,	 /* the customer is active again: its row goes */
};
enum tg_ep_op {
	TG_EP_KEEP = 0,
	TG_EP_OPEN,  /* the rule's episode for the customer opens (fired at ev->ts_ms) */
	TG_EP_CLOSE, /* ... closes */
};

/*
 * Record ev in one transaction with the enforcement row (op), the rule's episode (ep) and
 * whatever queue(db, audit_id, event_json, ctx) adds (the notification outbox) before
 * COMMIT. ev->id NULL: the event gets a new id (this node's); else ev->id is kept (an
 * event another node decided; if it is recorded already: -EEXIST for TG_ENF_KEEP, else
 * the state is applied citing that row, and no second row is written). Returns the audit
 * id (> 0, the local order), or -errno: then nothing was recorded.
 */
typedef int (*tg_queue_fn)(sqlite3 *db, int64_t audit_id, const char *event_json, void *ctx);
int64_t tg_state_act(struct tg_statedb *st, const struct tg_event *ev, enum tg_enf_op op,
		     const struct tg_enf_entry *enf, enum tg_ep_op ep, tg_queue_fn queue,
		     void *ctx);
/* The id of the event tg_state_act recorded last on st ("" before any). */
const char *tg_state_last_evid(const struct tg_statedb *st);

/* A unix-ms time as JSON: "2026-11-29T13:00:00Z", or null for 0. */
struct json_t *tg_json_time(int64_t ms);

/* A customer's enforcement state as JSON: customer, state, since, until (null: until
 * lifted), rule (null: by hand), actor, reason, throttle_bps when throttled. */
struct json_t *tg_enf_json(const struct tg_enf_entry *e);

/* An event as JSON (the audit row, the notification payload, `tollgate events -j`): "id"
 * the event id, "seq" the audit row's id (this node's order). */
struct json_t;
struct json_t *tg_event_json(int64_t audit_id, const struct tg_event *ev);

/* Audit rows, oldest first: of one customer (or all: NULL), since since_ms, at most limit
 * (the newest limit). A JSON array of tg_event_json objects, or NULL (-errno in *err). */
struct json_t *tg_state_events(struct tg_statedb *st, const char *customer, int64_t since_ms,
			       size_t limit, int *err);

/* Open episodes and past firings, for the engine after a restart. */
struct tg_episode {
	char customer[TG_ID_LEN];
	char rule[TG_ENF_RULE_LEN];
	int64_t ts_ms;
};
int tg_state_episodes(struct tg_statedb *st, struct tg_episode **out, size_t *n);
/* Rule firings (audit rows with a rule, not monitor-only) since since_ms. */
int tg_state_firings(struct tg_statedb *st, int64_t since_ms, struct tg_episode **out, size_t *n);

/*
 * An announcement upstream that should be in force (user/mitigation/), as the mitigation
 * table keeps it so a restart reconciles the BGP daemon to it. put and del run on the
 * connection given: inside tg_state_act's transaction (its queue callback), so the row
 * and the audit row of its action commit together.
 */
struct tg_mit_row {
	char key[160]; /* the announcement's canonical key (tg_mit_key) */
	char customer[TG_ID_LEN];
	char rule[TG_ENF_RULE_LEN]; /* "": by hand */
	char kind[16];		    /* blackhole | flowspec */
	char prefix[64];
	int proto;
	char sports[64]; /* "53,123" */
	uint64_t rate_bps;
	int64_t started_ms, until_ms; /* wall clock */
	int with_episode; /* 0: withdrawn at until; 1: when the rule's episode ends; 2: when it
			   * has ended and until has passed (clear_after with a duration) */
	int64_t audit_id;
};
int tg_state_mit_put(sqlite3 *db, const struct tg_mit_row *r);
int tg_state_mit_del(sqlite3 *db, const char *key);
int tg_state_mit_load(struct tg_statedb *st, struct tg_mit_row **out, size_t *n);

/* A rule's episode for a customer ended (no audit row: it is not an action). */
int tg_state_episode_close(struct tg_statedb *st, const char *customer, const char *rule);

/* Whether an action (its event id) is in the audit log already. */
bool tg_state_has_event(struct tg_statedb *st, const char *id);
/* The same for a record of an older node, by its uid "<node>:<audit id>". */
bool tg_state_has_uid(struct tg_statedb *st, const char *uid);

/* Delete audit rows older than before_ms, except those a current enforcement row cites
 * (and the prefix_history rows that ended before it: tg_state_history_purge).
 * The number deleted, or -errno. */
long tg_state_purge(struct tg_statedb *st, int64_t before_ms);

/*
 * Who held an address (history.c): the prefix -> customer assignment over time, in the
 * table prefix_history (prefix, customer, from_ms, until_ms NULL while held). A prefix is
 * held at t when from_ms <= t < until_ms.
 */
struct tg_holder {
	uint8_t family; /* 4 or 6 */
	uint8_t plen;
	uint8_t addr[16]; /* network order, host bits zero; IPv4 in the first 4 bytes */
	const char *customer;
};
struct tg_history_stats {
	size_t appeared, moved, gone;
	size_t read; /* open rows read back to compare (0: the digest said nothing changed) */
};
/* Record that cur[] (every prefix of the configuration applied now) is the assignment
 * from now_ms on: the open rows are compared with it and the prefixes that appeared,
 * moved to another customer or disappeared are written, in one transaction. A digest of
 * the assignment a full comparison leaves (meta 'history_digest', dropped by every other
 * write of the open rows) lets an unchanged one skip the comparison. 0 or -errno
 * (-EINVAL: a bad entry in cur; nothing written). */
int tg_state_history_apply(struct tg_statedb *st, const struct tg_holder *cur, size_t n,
			   int64_t now_ms, struct tg_history_stats *stats);
/* The same from every prefix of cfg's customers (the configuration just applied). */
struct tg_cfg;
int tg_state_history_record(struct tg_statedb *st, const struct tg_cfg *cfg, int64_t now_ms,
			    struct tg_history_stats *stats);
/* The same from a difference, for a reload that has the previous configuration in hand:
 * was[] the prefixes (with their customer) that may have gone, now[] those that may have
 * appeared or moved; the open rows say which did. Prefixes in neither stay as they are. */
int tg_state_history_delta(struct tg_statedb *st, const struct tg_holder *was, size_t nwas,
			   const struct tg_holder *now, size_t nnow, int64_t now_ms,
			   struct tg_history_stats *stats);
/* cfg applied after old (cfg loaded reusing old's rows, as its reload cache lc says: only
 * the rows that differ are compared, tg_state_history_delta); otherwise (old or lc NULL,
 * or old not the load cfg reused) tg_state_history_record. */
struct tg_load_cache;
int tg_state_history_record_since(struct tg_statedb *st, const struct tg_cfg *old,
				  const struct tg_cfg *cfg, const struct tg_load_cache *lc,
				  int64_t now_ms, struct tg_history_stats *stats);
/* "192.0.2.1" or "2001:db8::1" as a host holder (plen 32 or 128); 0 or -EINVAL. */
int tg_holder_parse_addr(const char *s, struct tg_holder *h);
void tg_holder_format(const struct tg_holder *h, char *buf, size_t len);
struct tg_whois {
	char customer[TG_ID_LEN];
	char prefix[64];
	int64_t from_ms, until_ms; /* until_ms 0: held now */
};
/* The customer whose prefix held addr (its address bytes and family) at at_ms, the
 * longest such prefix: 0, -ENOENT (nobody), -EIO. */
int tg_state_whois(struct tg_statedb *st, const struct tg_holder *addr, int64_t at_ms,
		   struct tg_whois *out);
/* `tollgate whois -j` and /api/v1/whois: {"version", "address", "at", "customer" (null:
 * nobody), "prefix", "since", "until" (null: held now)}; NULL with -EINVAL (not an
 * address) or -EIO in *err. */
struct json_t *tg_state_whois_json(struct tg_statedb *st, const char *address, int64_t at_ms,
				   int *err);
/* Delete the rows that ended before before_ms (retention); the number, or -errno. */
long tg_state_history_purge(struct tg_statedb *st, int64_t before_ms);

/*
 * Volume quotas (quota.c): a customer's usage this period and the counter reading it was
 * taken at (idx and the bytes of tg_cstat then), so a restart counts what passed since.
 * Times are unix ms (wall clock). The table is made at its first use.
 */
struct tg_quota_row {
	char customer[TG_ID_LEN];
	int64_t period_start_ms;
	uint64_t used[TG_DIR_NR]; /* bytes passed this period, TG_DIR_UP / TG_DIR_DOWN */
	uint32_t idx;		  /* the customer's index at the reading */
	uint64_t base[TG_DIR_NR]; /* its tg_cstat bytes at the reading */
	int64_t updated_ms;
	char plan[64]; /* its plan (quota_plan) */
};
/* A plan's quota as the configuration had it (config.h, struct tg_quota_cfg). */
struct tg_quota_plan_row {
	char plan[64];
	uint64_t bytes[TG_DIR_NR];
	int period, reset;
};
/* Replace the plans' quotas with these (one transaction). 0 or -EIO. */
int tg_state_quota_plans_set(struct tg_statedb *st, const struct tg_quota_plan_row *p, size_t n);
/* A customer's row and its plan's quota: 0, -ENOENT (none, or its plan has no quota now)
 * or -EIO. */
int tg_state_quota_view(struct tg_statedb *st, const char *customer, struct tg_quota_row *r,
			struct tg_quota_plan_row *p);
typedef int (*tg_quota_row_fn)(void *ctx, const struct tg_quota_row *r);
/* Every row to fn (a non-zero return stops and is returned). 0 or -errno. */
int tg_state_quota_load(struct tg_statedb *st, tg_quota_row_fn fn, void *ctx);
/* One customer's row: 0, -ENOENT or -EIO. */
int tg_state_quota_get(struct tg_statedb *st, const char *customer, struct tg_quota_row *out);
/* Write rows (insert or replace) in one transaction. 0 or -EIO (then none is written). */
int tg_state_quota_put(struct tg_statedb *st, const struct tg_quota_row *rows, size_t n);
/* Delete the rows not updated since before_ms (retention). The number, or -errno. */
long tg_state_quota_purge(struct tg_statedb *st, int64_t before_ms);

/*
 * Evidence samples (capture.c): the packets the data plane handed up for an event (a
 * rule's throttle or suspension, a `tollgate capture`), one row each in the table
 * capture: (event id, number, wall-clock time in unix microseconds, length on the wire,
 * its first TG_CAP_SNAPLEN bytes at most). Purged with the audit log (tg_state_purge).
 */
int tg_state_capture_add(struct tg_statedb *st, const char *event_id, uint32_t seq, int64_t ts_us,
			 uint32_t wirelen, const void *data, size_t caplen);
/* Packets stored since since_us (all events): the per-day bound. -EIO. */
long tg_state_capture_count(struct tg_statedb *st, int64_t since_us);
/* Packets stored for event_id. -EIO. */
long tg_state_capture_packets(struct tg_statedb *st, const char *event_id);
/* Write event_id's packets to f as a pcap file: the number written, -ENOENT (none), -EIO. */
long tg_state_capture_pcap(struct tg_statedb *st, const char *event_id, FILE *f);
/* Delete the packets older than before_ms or of an event no longer in the audit log. */
long tg_state_capture_purge(struct tg_statedb *st, int64_t before_ms);

#endif /* TG_STATE_H */
