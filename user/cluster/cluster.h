/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cluster.h - the door of user/cluster/: what a Tollgate node shares with the others
 * through etcd (docs/cluster.md): the etcd v3 client (etcd.h: its JSON gateway over
 * libcurl), and the node's part of the cluster (cluster.c):
 *
 *   PREFIX shared/state/<customer>    the customer's state and the action that set it,
 *                                     written by compare-and-swap on its revision (the
 *                                     conflict rule)
 *   PREFIX shared/events/<node>/<id>  every action a node decided, once, with its id
 *   PREFIX nodes/<node>               the node's registration, under a lease (its heartbeat)
 *   PREFIX members/<node>             the same without a lease: a node that stopped is "down"
 *
 * A node's own actions are queued durably in state.db (table cluster_out) in the same
 * transaction as their audit row, and a thread of this module writes them to etcd when it
 * can: with etcd unreachable the node goes on deciding and enforcing alone (fail-static)
 * and catches up when it is back. Other nodes' actions come from a watch on the prefix and
 * are handed to the caller, in the event loop, to record and apply.
 *
 * Included by: daemon, cli and the tests. Includes: state, config, lib.
 */
#ifndef TG_CLUSTER_H
#define TG_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "config/config.h"
#include "etcd.h"
#include "state/state.h"

struct tg_cluster;

/*
 * Another node's action, for the caller to record and apply: ev is the audit row (origin
 * and uid set; its strings live as long as the change), op what it does to the customer's
 * state (TG_ENF_KEEP: an action that set no state here - a notify, a firing that changed
 * nothing, or one that lost the conflict rule), next the state for TG_ENF_SET.
 */
struct tg_cluster_change {
	struct tg_event ev;
	enum tg_enf_op op;
	struct tg_enf_entry next;
	void *doc; /* owns the strings */
};
typedef int (*tg_cluster_apply_fn)(void *ctx, const struct tg_cluster_change *ch);

/*
 * Connect to etcd (cfg->cluster) and prepare the tables in state_path. Nothing is read or
 * written yet. 0 or -errno with the reason in err.
 */
int tg_cluster_open(const struct tg_cluster_cfg *cc, const char *state_path,
		    struct tg_cluster **out, char *err, size_t len);
void tg_cluster_close(struct tg_cluster *cl);
const char *tg_cluster_node(const struct tg_cluster *cl);

/*
 * Before the node is ready: read the whole cluster state (every customer's state, then
 * every action) and hand what this node has not applied yet to apply (in the caller's
 * thread). Retries until start_timeout; then, if
 * this node has read the cluster before (its state.db knows it), goes on with what it
 * knows (fail-static, a warning); a node that never did refuses to start (-ETIMEDOUT): it
 * could let a suspended customer through. st is the caller's state database connection.
 */
int tg_cluster_start(struct tg_cluster *cl, struct tg_statedb *st, tg_cluster_apply_fn apply,
		     void *ctx, char *err, size_t len);
/* Then, once the daemon has dropped its capabilities (they are per thread): the watch
 * (from the revision read) and the writer thread. 0 or -errno with the reason in err. */
int tg_cluster_run(struct tg_cluster *cl, char *err, size_t len);

/* Readable when other nodes' actions wait: tg_cluster_read hands them to apply. */
int tg_cluster_fd(const struct tg_cluster *cl);
void tg_cluster_read(struct tg_cluster *cl, struct tg_statedb *st, tg_cluster_apply_fn apply,
		     void *ctx);

/*
 * In the transaction of a local action (tg_state_act's queue callback, on db): queue it for
 * etcd. state: the customer's new state (TG_ST_*) when the action set one, else -1; next
 * for a state other than active. Then, after the commit, tg_cluster_kick. 0 or -errno.
 */
int tg_cluster_enqueue(struct tg_cluster *cl, sqlite3 *db, int64_t audit_id,
		       const struct tg_event *ev, int state, const struct tg_enf_entry *next);
/* In the transaction of another node's action: this node has applied it. 0 or -errno. */
int tg_cluster_applied(struct tg_cluster *cl, sqlite3 *db, const struct tg_cluster_change *ch);
void tg_cluster_kick(struct tg_cluster *cl);
/* Whether this node set the customer's current state (or nobody did): then this node
 * notifies its lifting. */
bool tg_cluster_owns(struct tg_cluster *cl, sqlite3 *db, const char *customer);

/* What the registration says of this node (a JSON object, copied): interfaces, customers,
 * configuration generation... The heartbeat adds node, version, started, seen. */
void tg_cluster_set_info(struct tg_cluster *cl, const json_t *info);

/* For `tollgate status` and the registration: etcd reachable, queued actions, watch up. */
json_t *tg_cluster_health(struct tg_cluster *cl);
/* enforcement.retention: shared events and members older than ms leave etcd (hourly). */
void tg_cluster_set_retention(struct tg_cluster *cl, int64_t ms);

/* For `tollgate cluster status`: every member with its registration, health and drift. */
json_t *tg_cluster_members(const struct tg_cluster_cfg *cc, char *err, size_t len);

#endif /* TG_CLUSTER_H */
