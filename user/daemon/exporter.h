/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exporter.h - tollgated's Prometheus exporter: text exposition (version 0.0.4) at
 * http://LISTEN/metrics (tollgate.yaml metrics.listen, loopback by default), read-only,
 * served by libmicrohttpd on a thread of its own. It reads the pinned maps through its
 * own descriptors, so it shares nothing with the event loop but the enforcement action
 * counters (under a lock).
 *
 * Metrics (base units, `_total` on counters, one prefix):
 *   tollgate_build_info{version, layout}                                    gauge 1
 *   tollgate_packets_total, tollgate_bytes_total
 *       {interface, direction, verdict, reason}                             counter
 *       verdict: passed | unclassified | dropped | noted ("would drop": monitor, upstream
 *       malformed); reason "" for passed and unclassified
 *   tollgate_customers_loaded, tollgate_customers_state{state}             gauge
 *   tollgate_map_capacity{map}, tollgate_map_entries{map}                   gauge
 *   tollgate_enforcement_actions_total{rule, action}                        counter
 *   tollgate_interface_attached{interface, role}  1 policed, 0 not          gauge
 *   tollgate_interface_rxvlan_conflict{interface}  1: VLAN customers behind rx VLAN
 *       offload                                                             gauge
 *   per customer (metrics.per_customer: all | top N by passed bytes, the rest summed
 *   under customer="_other" | off):
 *   tollgate_customer_bytes_total{customer, direction}                      counter
 *   tollgate_customer_packets_total{customer, direction}                    counter
 *   tollgate_customer_drops_total{customer, direction, reason}  (packets)   counter
 *   tollgate_customer_state{customer}  0 active, 1 throttled, 2 suspended   gauge
 *   with a mitigation: section (mitigate.h): tollgate_mitigations_active{kind},
 *   tollgate_bgp_session_up{peer}, tollgate_mitigation_refused_total{reason},
 *   tollgate_mitigation_speaker_errors_total
 *
 * And a read-only JSON API (application/json, {"version": 1, ...}; errors {"error": ...}
 * with 400, 404, 500 or 503):
 *   /api/v1/status                      customers by state, interfaces, actions counted
 *   /api/v1/customers?sort=bytes|drops&page=P&per_page=N (N <= 1000)   the busiest first
 *   /api/v1/customers/ID                counters, state, enforcement, last 20 events,
 *                                       rates since the API's previous reading of it
 *   /api/v1/events?customer=ID&since=UNIX_SECONDS&limit=N (N <= 10000) the audit log
 *   /api/v1/mitigations                 announcements upstream, the BGP speaker's peers
 *
 * Included by: daemon.h (the door), exporter.c, enforce.c and tollgated.c.
 */
#ifndef TG_EXPORTER_H
#define TG_EXPORTER_H

#include <stddef.h>

struct tg_exporter;
struct tg_cfg;

/*
 * Listen at cfg's metrics.listen ("127.0.0.1:9477", "[::1]:9477") and serve the maps
 * pinned at pin_dir, to requests whose Host header is one of its names (the listen
 * address; localhost when on loopback; metrics.hosts: else 421) and, with
 * metrics.token_file, that carry its bearer token (/metrics, /api/v1/: else 401).
 * 0 or -errno with the reason in err (a token file that cannot be read, or that others
 * may read, is one: no exporter rather than an open one).
 */
int tg_exporter_start(const struct tg_cfg *cfg, const char *pin_dir, struct tg_exporter **out,
		      char *err, size_t errlen);
void tg_exporter_stop(struct tg_exporter *x);
/* Are these the settings it runs with? (A reload restarts it when they change.) */
int tg_exporter_same(const struct tg_exporter *x, const struct tg_cfg *cfg);
/* Read metrics.token_file again (a reload); on error the token it had stays. */
int tg_exporter_reload(struct tg_exporter *x, char *err, size_t errlen);

/* The configured interfaces, for tollgate_interface_attached (after start and every
 * reload). */
struct tg_cfg;
void tg_exporter_set_ifaces(struct tg_exporter *x, const struct tg_cfg *cfg);

/* One enforcement action carried out (not monitor-only): rule "" for one by hand. */
void tg_exporter_count_action(struct tg_exporter *x, const char *rule, const char *action);

/* Upstream mitigation's metrics and /api/v1/mitigations (mitigate.h). */
struct tg_mitigator;
void tg_exporter_set_mitigator(struct tg_exporter *x, struct tg_mitigator *g);
/* The volume quotas (quota.h; not owned): the customer view's "quota" and the series
 * tollgate_customer_quota_used_ratio. */
struct tg_quota;
void tg_exporter_set_quota(struct tg_exporter *x, struct tg_quota *q);

/* The Alertmanager webhook's queue (alert.h): POST /api/v1/alertmanager with the bearer
 * token of metrics.alert_token_file (none: 401) queues firing alerts there (NULL: 503). */
struct tg_alertq;
void tg_exporter_set_alertq(struct tg_exporter *x, struct tg_alertq *q);

/* The exposition, for tests and benchmarks: malloc'd text (length in *len) or NULL. */
char *tg_exporter_render(struct tg_exporter *x, size_t *len);

#endif /* TG_EXPORTER_H */
