/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * view.h - the door of user/view/: the objects Tollgate shows, each built once. A
 * customer, an interface, the status, the audit log's events and a customer's rates are
 * built here as JSON; the CLI prints them (-j as they are, text through its printers),
 * tollgated's API (/api/v1/) serves them and `tollgate top` shows their rates, so every
 * output carries the same fields under the same names. docs/views.md lists them.
 *
 * Included by: daemon, cli. Includes: datapath, state, lib (below it; no I/O of its own
 * beyond reading the maps and the state database it is handed).
 */
#ifndef TG_VIEW_H
#define TG_VIEW_H

#include <stdint.h>
#include <jansson.h>

#include "datapath/datapath.h"
#include "lib/lib.h"
#include "state/state.h"

/* The events a one-customer view carries (the newest, oldest first). */
#define TG_VIEW_CUSTOMER_EVENTS 20

/* {"version": TG_JSON_VERSION (lib/util.h), key: obj}; takes the reference to obj. NULL on no memory. */
json_t *tg_view_doc(const char *key, json_t *obj);

/* {"packets": P, "bytes": B} */
json_t *tg_view_counter(const struct tg_counter *c);

/*
 * One customer: id, index, state, binding, and per direction its limit, passed, dropped by
 * reason (every reason), dropped_total, would_drop by reason, would_drop_total, and the
 * flat dropped_packets / would_drop_packets. rec and c are the customer's record and
 * counters (tg_read_cust). NULL on no memory.
 */
json_t *tg_view_customer(const struct tg_maps *m, uint32_t idx, const char *id,
			 const struct tg_cust *rec, const struct tg_cust_counters *c);

/* Read customer idx (called id) from the maps and build its view: 0, -ENOENT if the
 * record cannot be read, -ENOMEM. */
int tg_view_customer_read(const struct tg_maps *m, uint32_t idx, const char *id, json_t **out);

/*
 * The one-customer view's additions from the state database: "enforcement" (null when
 * active) and "events" (its last TG_VIEW_CUSTOMER_EVENTS). 0 or -errno (nothing added).
 */
int tg_view_customer_state(json_t *c, struct tg_statedb *st, const char *id);

/*
 * A customer's volume quota (the one-customer view's "quota", null without one): period,
 * reset, period_start, period_end (UTC, ISO 8601), used_pct (the larger direction's: the
 * rule metric quota_used_pct), and per direction {quota_bytes, used_bytes, used_pct}, null
 * for a direction without a quota. NULL on no memory.
 */
json_t *tg_view_quota(const struct tg_quota_cfg *q, const uint64_t used[TG_DIR_NR],
		      int64_t period_start_ms, int64_t period_end_ms);

/*
 * The one-customer view's "quota" (tg_view_quota; null without one), from the state
 * database tollgated writes behind (the usage and the counter reading it was taken at,
 * and the plan's quota) plus what the customer's passed counters at index idx
 * (passed[dir], bytes) went on to pass since that reading: the same from the CLI without
 * the daemon as from the API. 0 or -errno (nothing added).
 */
int tg_view_customer_quota(json_t *c, struct tg_statedb *st, const char *id, uint32_t idx,
			   const uint64_t passed[TG_DIR_NR], int64_t now_ms);

/* What a rate is computed from: one reading of a customer's counters. */
struct tg_view_sample {
	uint64_t bytes[TG_DIR_NR], pkts[TG_DIR_NR], drop_pkts[TG_DIR_NR];
};

void tg_view_sample_of(const struct tg_cust_counters *c, struct tg_view_sample *s);

/*
 * The rates between two readings window_s seconds apart: window_s, upload_bps,
 * upload_pps, upload_drops_pps, download_... (a counter that went back counts 0).
 */
json_t *tg_view_rates(double window_s, const struct tg_view_sample *now,
		      const struct tg_view_sample *then);

/*
 * One interface of tg_ifaces: name, ifindex, role, direction, mode, antispoof, monitor,
 * attached and state (from the kernel and the pin: true with no daemon running), slot,
 * vlan_protocol, counters. prog_id: the program's id (0: from the pin). NULL if its
 * counters cannot be read.
 */
json_t *tg_view_iface(const struct tg_maps *m, const struct tg_iface *v, unsigned int prog_id);

/*
 * The status document: version, pin_dir, program, customers (loaded, capacity, prefixes,
 * and how many are active, throttled, suspended), tables, interfaces. The CLI adds
 * "daemon", the API "enforcement_actions". NULL if the maps cannot be read.
 */
json_t *tg_view_status(const struct tg_maps *m);

/* The events document ({"version", "events"}) of the audit log (tg_state_events'
 * arguments). NULL with -errno in *err. */
json_t *tg_view_events(struct tg_statedb *st, const char *customer, int64_t since_ms, size_t limit,
		       int *err);

#endif /* TG_VIEW_H */
