// SPDX-License-Identifier: GPL-2.0-only
/*
 * exporter.c - the Prometheus exporter of tollgated (exporter.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include <microhttpd.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>

#include "datapath/datapath.h"
#include "config/config.h"
#include "alert.h"
#include "exporter.h"
#include "mitigate.h"
#include "lib/lib.h"
#include "page.h"
#include "quota.h"
#include "state/state.h"
#include "view/view.h"

#define MAX_ACTIONS 256 /* distinct (rule, action) pairs counted */
#define CHUNK 4096u
/*
 * /api/v1/customers/ID rates. The exporter is one libmicrohttpd thread that serves every
 * connection, so a request must never wait: instead of two readings some time apart, the
 * rates are over the time since an earlier reading of the same customer, kept in a small
 * cache (RATE_SLOTS customers, the least recently sampled replaced). A sample younger than
 * RATE_MIN_MS gives no rates (too short to mean anything); one older than RATE_KEEP_MS is
 * replaced by the new reading, so a page polling every 2 s sees 2 s windows.
 */
#define RATE_SLOTS 64
#define RATE_MIN_MS 100
#define RATE_KEEP_MS 1000
/* Connections at once: idle or half-sent ones cost a socket each (they never hold up the
 * others: one thread polls them all), and are dropped after 10 s of silence. */
#define CONN_MAX 256
#define TOKEN_MAX 4096 /* bytes of metrics.token_file */

struct rate_sample {
	uint32_t idx; /* 0: free */
	char id[TG_ID_LEN];
	int64_t t_ns; /* CLOCK_MONOTONIC */
	struct tg_cust_counters c;
};

struct action_count {
	char rule[64], action[16];
	unsigned long long n;
};

struct tg_exporter {
	struct MHD_Daemon *mhd;
	struct tg_maps m;
	bool maps_open;
	pthread_mutex_t lock;	  /* one render or API request at a time (the maps' mmaps) */
	pthread_mutex_t act_lock; /* the action counters: the event loop never waits on a render */
	struct tg_mitigator *mit; /* upstream mitigation (not owned; set before requests) */
	struct tg_quota *quota;	  /* volume quotas (not owned; set before requests) */
	char *listen, *per_customer;
	/* who may ask (access()): the Host header's names, and the bearer token */
	char *listen_host, *listen_port; /* "127.0.0.1" or "::1" (no brackets), "9477" */
	bool loopback, wildcard;	 /* listen on 127/8 or ::1; on 0.0.0.0 or :: */
	char **hosts;			 /* metrics.hosts */
	size_t nhosts;
	char *token_file;
	pthread_mutex_t tok_lock; /* token: a reload rereads it while requests check it */
	char *token;		  /* NULL: none required */
	size_t token_len;
	/* the Alertmanager webhook (alert.h), under tok_lock: its token (NULL: every request
	 * is refused) and the event loop's queue (NULL: 503) */
	char *alert_token_file, *alert_token;
	size_t alert_token_len;
	struct tg_alertq *alertq;
	struct rate_sample rates[RATE_SLOTS];
	char *state_path;      /* the audit log and states, for the API */
	struct tg_statedb *st; /* opened at the first request that needs it */
	long top;	       /* 0: all; -1: off; else top N */
	struct action_count act[MAX_ACTIONS];
	int nact;
	/* the configured interfaces (under act_lock): their attachment is read at each
	 * scrape from the kernel and the pins (tg_link_live), not from tollgated's memory */
	struct cfg_iface {
		char name[IFNAMSIZ];
		int role;
		size_t nvlan; /* customers bound to a VLAN behind it */
	} * ifc;
	size_t nifc;
};

/* ---- a growable text buffer ------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = (b->cap + (size_t)n + 1) * 2;
			char *np = realloc(b->p, cap);

			if (!np) {
				b->oom = true;
				return;
			}
			b->p = np;
			b->cap = cap;
		}
	}
}

/* A label value: backslash, double quote and newline escaped (exposition format). */
static const char *esc(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if (*s == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
	return out;
}

static void head(struct buf *b, const char *name, const char *type, const char *help)
{
	bprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ---- reading the maps ---------------------------------------------------------------- */

static const char *const dir_name[TG_DIR_NR] = {"upload", "download"};

static void iface_metrics(struct tg_exporter *x, struct buf *b)
{
	struct tg_iface ifs[64];
	int n = tg_ifaces_list(&x->m, ifs, 64);
	struct tg_if_counters c[64];
	char name[2 * TG_IFNAME_LEN];
	static const char *const metric[2] = {"tollgate_packets_total", "tollgate_bytes_total"};

	if (n < 0)
		n = 0;
	for (int i = 0; i < n; i++)
		if (tg_read_iface(&x->m, ifs[i].slot, &c[i]))
			memset(&c[i], 0, sizeof(c[i]));
	for (int k = 0; k < 2; k++) {
		head(b, metric[k], "counter",
		     k ? "IP bytes seen by Tollgate, by interface, direction, verdict and reason."
		       : "Packets seen by Tollgate, by interface, direction, verdict and reason.");
		for (int i = 0; i < n; i++) {
			const char *d =
				dir_name[ifs[i].role == TG_ROLE_CUSTOMER ? TG_DIR_UP : TG_DIR_DOWN];
			const struct tg_if_counters *ci = &c[i];

			esc(ifs[i].name, name, sizeof(name));
#define LINE(verdict, reason, ctr)                                                                 \
	bprintf(b, "%s{interface=\"%s\",direction=\"%s\",verdict=\"%s\",reason=\"%s\"} %llu\n",    \
		metric[k], name, d, verdict, reason,                                               \
		(unsigned long long)(k ? (ctr).bytes : (ctr).pkts))
			LINE("passed", "", ci->pass);
			LINE("unclassified", "", ci->uncl);
			for (int r = 0; r < TG_R_NR; r++) {
				LINE("dropped", tg_reason_name(r), ci->drop[r]);
				LINE("noted", tg_reason_name(r), ci->noted[r]);
			}
#undef LINE
		}
	}
}

/*
 * One series per shown customer, direction and reason with a count (drops or would-drops,
 * read with get), then the customers not shown summed as "_other" (other: NULL if none).
 */
typedef uint64_t (*tg_reason_get)(const struct tg_maps *m, const struct tg_snap *sn, uint32_t idx,
				  int dir, int reason);
static void reason_series(struct tg_exporter *x, struct buf *b, const struct tg_snap *sn,
			  const char *name, tg_reason_get get, const struct tg_crow *rows,
			  size_t shown, const uint64_t (*other)[TG_R_NR])
{
	char id[2 * TG_ID_LEN];

	for (size_t k = 0; k < shown; k++)
		for (int d = 0; d < TG_DIR_NR; d++)
			for (int r = 0; r < TG_R_NR; r++) {
				uint64_t v = get(&x->m, sn, rows[k].idx, d, r);

				if (v)
					bprintf(b,
						"%s{customer=\"%s\",direction=\"%s\",reason=\"%s\"}"
						" "
						"%llu\n",
						name, esc(sn->names[rows[k].idx], id, sizeof(id)),
						dir_name[d], tg_reason_name(r),
						(unsigned long long)v);
			}
	for (int d = 0; d < TG_DIR_NR && other; d++)
		for (int r = 0; r < TG_R_NR; r++)
			if (other[d][r])
				bprintf(b,
					"%s{customer=\"_other\",direction=\"%s\",reason=\"%s\"} "
					"%llu\n",
					name, dir_name[d], tg_reason_name(r),
					(unsigned long long)other[d][r]);
}

/* The shown customers' volume quotas: the used fraction per direction with a quota. */
static void quota_series(struct tg_exporter *x, struct buf *b, char (*names)[TG_ID_LEN],
			 const struct tg_crow *rows, size_t shown)
{
	struct tg_quota_now qn;
	char id[2 * TG_ID_LEN];
	bool first = true;

	for (size_t k = 0; x->quota && k < shown; k++) {
		if (tg_quota_get(x->quota, rows[k].idx, &qn))
			continue;
		if (first)
			head(b, "tollgate_customer_quota_used_ratio", "gauge",
			     "Volume used this quota period over the plan's quota, per customer "
			     "and "
			     "direction with a quota (1 = all of it; may pass 1).");
		first = false;
		for (int d = 0; d < TG_DIR_NR; d++)
			if (qn.cfg.bytes[d])
				bprintf(b,
					"tollgate_customer_quota_used_ratio{customer=\"%s\","
					"direction=\"%s\"} %.6f\n",
					esc(names[rows[k].idx], id, sizeof(id)), dir_name[d],
					qn.pct[d] / 100.0);
	}
}

/*
 * What each shown customer contacted so far in the current enforcement interval (upload,
 * and the SYN-ACKs that answered it; tg_fanout, docs/metrics.md): gauges, as the sketches
 * start over every interval. Left out if the map cannot be read.
 */
static void fanout_series(struct tg_exporter *x, struct buf *b, const struct tg_snap *sn,
			  const struct tg_crow *rows, size_t shown)
{
	static const char *const name[6] = {"fanout_hosts", "fanout_ports", "smtp_conns",
					    "smtp_hosts",   "tcp_syns",	    "unanswered_syns"};
	static const char *const help[6] = {
		"Distinct destination addresses a customer contacted (new TCP connections, UDP, "
		"echo requests) so far in the enforcement interval, estimated (HyperLogLog, 32 "
		"registers: about 18% error).",
		"Distinct destination ports of new TCP connections (SYN) a customer made so far in "
		"the "
		"enforcement interval, estimated like fanout_hosts.",
		"New SMTP connections (TCP SYN to port 25) a customer made that passed, so far in "
		"the enforcement interval.",
		"Distinct destinations of a customer's new SMTP connections so far in the "
		"enforcement interval, estimated like fanout_hosts.",
		"TCP SYNs (without ACK) a customer sent that passed, so far in the enforcement "
		"interval, each one (retransmissions too).",
		"A customer's TCP SYNs that no SYN-ACK answered so far in the enforcement "
		"interval: tcp_syns minus the SYN-ACKs toward it that passed (an answer still on "
		"its way counts as none)."};
	char id[2 * TG_ID_LEN];
	uint32_t epoch;

	if (tg_maps_map_fanout(&x->m) || tg_fanout_epoch(&x->m, &epoch))
		return;
	for (int w = 0; w < 6; w++) {
		char full[64];

		snprintf(full, sizeof(full), "tollgate_customer_%s", name[w]);
		head(b, full, "gauge", help[w]);
		for (size_t k = 0; k < shown; k++) {
			struct tg_fanout_est e;
			double v;

			tg_fanout_estimate(&x->m.fanout_mm[rows[k].idx], epoch, &e);
			v = w == 0   ? e.hosts
			    : w == 1 ? e.ports
			    : w == 2 ? e.smtp_conns
			    : w == 3 ? e.smtp_hosts
			    : w == 4 ? e.syns
				     : e.unanswered;
			bprintf(b, "%s{customer=\"%s\"} %.0f\n", full,
				esc(sn->names[rows[k].idx], id, sizeof(id)), v);
		}
	}
}

static void customer_metrics(struct tg_exporter *x, struct buf *b, const struct tg_config *bc)
{
	struct tg_snap sn;
	char(*names)[TG_ID_LEN];
	struct tg_cust *rec;
	struct tg_cstat *pass;
	struct tg_crow *rows;
	size_t nrows, shown, *nstate;
	struct tg_cstat other = {};
	uint64_t other_drop[TG_DIR_NR][TG_R_NR] = {}, other_noted[TG_DIR_NR][TG_R_NR] = {};
	char id[2 * TG_ID_LEN];
	bool have_pass;

	if (tg_snap_take(&x->m, &sn, x->top >= 0)) {
		b->oom = true;
		return;
	}
	names = sn.names;
	rec = sn.rec;
	pass = sn.pass;
	rows = sn.rows;
	nrows = sn.nrows;
	nstate = sn.nstate;
	have_pass = sn.have_pass;
	head(b, "tollgate_customers_loaded", "gauge", "Customers in the data plane.");
	bprintf(b, "tollgate_customers_loaded %u\n", bc->ncustomers);
	head(b, "tollgate_customers_state", "gauge",
	     "Customers by enforcement state (active, throttled, suspended).");
	bprintf(b,
		"tollgate_customers_state{state=\"active\"} %zu\n"
		"tollgate_customers_state{state=\"throttled\"} %zu\n"
		"tollgate_customers_state{state=\"suspended\"} %zu\n",
		nstate[TG_ST_ACTIVE], nstate[TG_ST_THROTTLED], nstate[TG_ST_SUSPENDED]);
	if (x->top < 0 || !have_pass)
		goto out;
	shown = nrows;
	if (x->top > 0 && (size_t)x->top < nrows) {
		qsort(rows, nrows, sizeof(*rows), tg_crow_cmp);
		shown = (size_t)x->top;
	}
	for (size_t k = shown; k < nrows; k++) /* the customers not shown, summed */
		for (int d = 0; d < TG_DIR_NR; d++) {
			other.bytes[d] += pass[rows[k].idx].bytes[d];
			other.pkts[d] += pass[rows[k].idx].pkts[d];
			for (int r = 0; r < TG_R_NR; r++) {
				other_drop[d][r] += tg_snap_drops(&x->m, &sn, rows[k].idx, d, r);
				other_noted[d][r] += tg_snap_noted(&x->m, &sn, rows[k].idx, d, r);
			}
		}
	for (int m = 0; m < 2; m++) { /* bytes, then packets */
		const char *name =
			m ? "tollgate_customer_packets_total" : "tollgate_customer_bytes_total";

		head(b, name, "counter",
		     m ? "Packets passed per customer and direction."
		       : "IP bytes passed per customer and direction (customer=\"_other\": the "
			 "customers not shown, summed).");
		for (size_t k = 0; k < shown; k++)
			for (int d = 0; d < TG_DIR_NR; d++)
				bprintf(b, "%s{customer=\"%s\",direction=\"%s\"} %llu\n", name,
					esc(names[rows[k].idx], id, sizeof(id)), dir_name[d],
					(unsigned long long)(m ? pass[rows[k].idx].pkts[d]
							       : pass[rows[k].idx].bytes[d]));
		for (int d = 0; d < TG_DIR_NR && shown < nrows; d++)
			bprintf(b, "%s{customer=\"_other\",direction=\"%s\"} %llu\n", name,
				dir_name[d],
				(unsigned long long)(m ? other.pkts[d] : other.bytes[d]));
	}
	head(b, "tollgate_customer_drops_total", "counter",
	     "Packets dropped per customer, direction and reason (reasons with drops only).");
	reason_series(x, b, &sn, "tollgate_customer_drops_total", tg_snap_drops, rows, shown,
		      shown < nrows ? other_drop : NULL);
	head(b, "tollgate_customer_would_drops_total", "counter",
	     "Packets passed although a drop reason matched (a monitor interface; malformed "
	     "after the IP header upstream), per customer, direction and reason (reasons with "
	     "would-drops only). Also counted in tollgate_customer_packets_total.");
	reason_series(x, b, &sn, "tollgate_customer_would_drops_total", tg_snap_noted, rows, shown,
		      shown < nrows ? other_noted : NULL);
	fanout_series(x, b, &sn, rows, shown);
	head(b, "tollgate_customer_state", "gauge",
	     "A customer's enforcement state: 0 active, 1 throttled, 2 suspended.");
	for (size_t k = 0; k < shown; k++)
		bprintf(b, "tollgate_customer_state{customer=\"%s\"} %u\n",
			esc(names[rows[k].idx], id, sizeof(id)), rec[rows[k].idx].state);
	quota_series(x, b, names, rows, shown);
out:
	tg_snap_free(&sn);
}

void tg_exporter_set_ifaces(struct tg_exporter *x, const struct tg_cfg *cfg)
{
	struct cfg_iface *ifc;
	const char *first;

	if (!x || !cfg)
		return;
	ifc = calloc(cfg->nifaces + 1, sizeof(*ifc));
	if (!ifc)
		return;
	for (size_t i = 0; i < cfg->nifaces; i++) {
		snprintf(ifc[i].name, sizeof(ifc[i].name), "%s", cfg->ifaces[i].name);
		ifc[i].role = cfg->ifaces[i].role;
		ifc[i].nvlan = tg_vlan_bound(cfg, cfg->ifaces[i].name, &first);
	}
	pthread_mutex_lock(&x->act_lock);
	free(x->ifc);
	x->ifc = ifc;
	x->nifc = cfg->nifaces;
	pthread_mutex_unlock(&x->act_lock);
}

/* Is each configured interface policed, and does rx VLAN offload hide its VLANs? The list
 * is copied under act_lock, the kernel asked without it (the event loop never waits). */
static void attach_metrics(struct tg_exporter *x, struct buf *b)
{
	struct tg_link_live l;
	struct cfg_iface *ifc;
	char name[2 * IFNAMSIZ];
	size_t n;

	pthread_mutex_lock(&x->act_lock);
	n = x->nifc;
	ifc = calloc(n + 1, sizeof(*ifc));
	if (ifc && n)
		memcpy(ifc, x->ifc, n * sizeof(*ifc));
	pthread_mutex_unlock(&x->act_lock);
	if (!ifc)
		return;
	head(b, "tollgate_interface_attached", "gauge",
	     "1 if Tollgate's program polices the configured interface now, else 0 (removed, "
	     "detached, replaced by a foreign program, renamed).");
	for (size_t i = 0; i < n; i++) {
		tg_link_live(x->m.pin_dir, ifc[i].name, 0, &l);
		bprintf(b, "tollgate_interface_attached{interface=\"%s\",role=\"%s\"} %d\n",
			esc(ifc[i].name, name, sizeof(name)), tg_role_name(ifc[i].role),
			l.state == TG_LINK_ATTACHED);
	}
	head(b, "tollgate_interface_rxvlan_conflict", "gauge",
	     "1 if customers are bound to VLANs behind the interface and its rx VLAN offload "
	     "is on (the NIC strips the tag before XDP), else 0.");
	for (size_t i = 0; i < n; i++)
		bprintf(b, "tollgate_interface_rxvlan_conflict{interface=\"%s\"} %d\n",
			esc(ifc[i].name, name, sizeof(name)),
			ifc[i].nvlan && tg_rxvlan_offload(ifc[i].name, NULL, 0) == 1);
	free(ifc);
}

void tg_exporter_set_mitigator(struct tg_exporter *x, struct tg_mitigator *g)
{
	if (x)
		x->mit = g;
}

void tg_exporter_set_quota(struct tg_exporter *x, struct tg_quota *q)
{
	if (x)
		x->quota = q;
}

char *tg_exporter_render(struct tg_exporter *x, size_t *len)
{
	struct buf b = {.cap = 1 << 16};
	struct tg_config bc = {};
	char rule[2 * 64];
	__u32 zero = 0;

	b.p = malloc(b.cap);
	if (!b.p)
		return NULL;
	b.p[0] = '\0';
	pthread_mutex_lock(&x->lock);
	bpf_map_lookup_elem(x->m.config, &zero, &bc);
	head(&b, "tollgate_build_info", "gauge", "Tollgate's version and data plane layout.");
	bprintf(&b, "tollgate_build_info{version=\"%s\",layout=\"%u\"} 1\n", TG_VERSION,
		bc.layout_version);
	iface_metrics(x, &b);
	attach_metrics(x, &b);
	customer_metrics(x, &b, &bc);
	if (tg_fold_in_kernel(&x->m) || x->m.fold_err) { /* once a snapshot tried it */
		head(&b, "tollgate_fold_in_kernel", "gauge",
		     "1: every customer's passed traffic is summed over the CPUs in the kernel; "
		     "0: by tollgated, 32 bytes x CPUs a customer (under 2^20 customers x CPUs, "
		     "TOLLGATE_FOLD=user, or the log says why).");
		bprintf(&b, "tollgate_fold_in_kernel %d\n", tg_fold_in_kernel(&x->m));
	}
	head(&b, "tollgate_map_capacity", "gauge", "Entries a map can hold.");
	bprintf(&b,
		"tollgate_map_capacity{map=\"customers\"} %u\n"
		"tollgate_map_capacity{map=\"ipv4_chunks\"} %u\n"
		"tollgate_map_capacity{map=\"ipv6_chunks\"} %u\n"
		"tollgate_map_capacity{map=\"ipv6_nodes\"} %u\n",
		x->m.max_cust - 1, x->m.tbl8_chunks, x->m.v6_chunks - TG_V6_ROOT_CHUNKS,
		x->m.v6_ncmp);
	head(&b, "tollgate_map_entries", "gauge", "Entries in use in a map.");
	bprintf(&b,
		"tollgate_map_entries{map=\"customers\"} %u\n"
		"tollgate_map_entries{map=\"ipv4_chunks\"} %u\n"
		"tollgate_map_entries{map=\"ipv6_chunks\"} %u\n"
		"tollgate_map_entries{map=\"ipv6_nodes\"} %u\n",
		bc.ncustomers, bc.v4_chunks, bc.v6_chunks, bc.v6_cmps);
	head(&b, "tollgate_enforcement_actions_total", "counter",
	     "Enforcement actions carried out since tollgated started, by rule (\"\": by hand) "
	     "and action.");
	pthread_mutex_lock(&x->act_lock);
	for (int i = 0; i < x->nact; i++)
		bprintf(&b, "tollgate_enforcement_actions_total{rule=\"%s\",action=\"%s\"} %llu\n",
			esc(x->act[i].rule, rule, sizeof(rule)), x->act[i].action, x->act[i].n);
	pthread_mutex_unlock(&x->act_lock);
	if (x->mit) { /* its own lock: the speaker's thread never waits on a render */
		char *mt = tg_mitigator_metrics(x->mit);

		if (mt)
			bprintf(&b, "%s", mt);
		free(mt);
	}
	pthread_mutex_unlock(&x->lock);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

void tg_exporter_count_action(struct tg_exporter *x, const char *rule, const char *action)
{
	int i;

	if (!x)
		return;
	pthread_mutex_lock(&x->act_lock);
	for (i = 0; i < x->nact; i++)
		if (!strcmp(x->act[i].rule, rule) && !strcmp(x->act[i].action, action))
			break;
	if (i == x->nact && x->nact < MAX_ACTIONS) {
		snprintf(x->act[i].rule, sizeof(x->act[i].rule), "%s", rule);
		snprintf(x->act[i].action, sizeof(x->act[i].action), "%s", action);
		x->nact++;
	}
	if (i < x->nact)
		x->act[i].n++;
	pthread_mutex_unlock(&x->act_lock);
}

/* ---- the JSON API (/api/v1/) ------------------------------------------------------------ */

static uint64_t drops_total(const struct tg_exporter *x, const struct tg_snap *sn, uint32_t i)
{
	uint64_t t = 0;

	for (int d = 0; d < TG_DIR_NR; d++)
		for (int r = 0; r < TG_R_NR; r++)
			t += tg_snap_drops(&x->m, sn, i, d, r);
	return t;
}

static json_t *api_error(unsigned int *status, unsigned int code, const char *msg)
{
	*status = code;
	return json_pack("{ss}", "error", msg);
}

/* A whole number in [lo, hi] from the query, or def if absent; -1 if bad. */
static long arg_num(struct MHD_Connection *conn, const char *name, long def, long lo, long hi)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
	char *end;
	long n;

	if (!v)
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	return errno || !*v || *end || n < lo || n > hi ? -1 : n;
}

/* GET /api/v1/status: the status view (the CLI's `status -j` without "daemon"), and the
 * enforcement actions counted since tollgated started. */
static json_t *api_status(struct tg_exporter *x, unsigned int *status)
{
	json_t *o, *acts = json_array();

	o = tg_view_status(&x->m);
	if (!o) {
		json_decref(acts);
		return api_error(status, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the maps");
	}
	pthread_mutex_lock(&x->act_lock);
	for (int i = 0; i < x->nact; i++)
		json_array_append_new(acts, json_pack("{ss ss sI}", "rule", x->act[i].rule,
						      "action", x->act[i].action, "count",
						      (json_int_t)x->act[i].n));
	pthread_mutex_unlock(&x->act_lock);
	json_object_set_new(o, "enforcement_actions", acts);
	return o;
}

/* GET /api/v1/customers?sort=bytes|drops&page=P&per_page=N: the busiest first. */
static json_t *api_customers(struct tg_exporter *x, struct MHD_Connection *conn,
			     unsigned int *status)
{
	const char *sort = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "sort");
	long page = arg_num(conn, "page", 1, 1, 1000000000),
	     per = arg_num(conn, "per_page", 100, 1, 1000);
	json_t *arr, *o;
	struct tg_snap sn;

	if (sort && strcmp(sort, "bytes") && strcmp(sort, "drops"))
		return api_error(status, MHD_HTTP_BAD_REQUEST, "sort: bytes or drops");
	if (page < 0 || per < 0)
		return api_error(status, MHD_HTTP_BAD_REQUEST,
				 "page: a number from 1; per_page: 1 to 1000");
	if (tg_snap_take(&x->m, &sn, true))
		return api_error(status, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the maps");
	if (sort && !strcmp(sort, "drops")) /* else the snapshot scored them by bytes */
		for (size_t k = 0; k < sn.nrows; k++)
			sn.rows[k].score = drops_total(x, &sn, sn.rows[k].idx);
	qsort(sn.rows, sn.nrows, sizeof(*sn.rows), tg_crow_cmp);
	arr = json_array();
	for (size_t k = (size_t)(page - 1) * (size_t)per;
	     k < sn.nrows && json_array_size(arr) < (size_t)per; k++) {
		json_t *c;

		/* the page's customers read whole: the snapshot ranked them */
		if (!tg_view_customer_read(&x->m, sn.rows[k].idx, sn.names[sn.rows[k].idx], &c))
			json_array_append_new(arr, c);
	}
	o = json_pack("{si sI si si ss so}", "version", TG_JSON_VERSION, "total",
		      (json_int_t)sn.nrows, "page", (int)page, "per_page", (int)per, "sort",
		      sort ? sort : "bytes", "customers", arr);
	tg_snap_free(&sn);
	return o;
}

static int state_db(struct tg_exporter *x)
{
	char err[512];

	if (x->st)
		return 0;
	if (!x->state_path || tg_state_open(x->state_path, &x->st, err, sizeof(err)))
		return -EIO;
	return 0;
}

/*
 * The index of a loaded customer, without reading every name: the state database's
 * customer_index (its primary key) says where the sync put it, and one lookup of tg_names
 * confirms it. Only when there is no database, or it disagrees with the maps (a sync in
 * progress), are the names scanned. 0 if not loaded.
 */
static uint32_t find_customer(struct tg_exporter *x, const char *id)
{
	char name[TG_ID_LEN];
	sqlite3_stmt *q = NULL;
	uint32_t idx = 0;

	if (state_db(x) || sqlite3_prepare_v2(tg_state_sqlite(x->st),
					      "SELECT idx FROM customer_index WHERE id = ?1", -1,
					      &q, NULL) != SQLITE_OK) {
		sqlite3_finalize(q);
		return tg_find_customer(&x->m, id);
	}
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_finalize(q);
		return 0; /* not assigned, so not loaded */
	}
	idx = (uint32_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (idx && idx < x->m.max_cust && !bpf_map_lookup_elem(x->m.names, &idx, name) &&
	    !strncmp(name, id, TG_ID_LEN))
		return idx;
	return tg_find_customer(&x->m, id);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The rates since the cached sample of idx (NULL if none or too recent); c is now's reading. */
static json_t *rates_j(struct tg_exporter *x, uint32_t idx, const char *id,
		       const struct tg_cust_counters *c)
{
	struct rate_sample *e = NULL, *old = &x->rates[0];
	int64_t now = mono_ns();
	json_t *r = NULL;

	for (int i = 0; i < RATE_SLOTS; i++) {
		struct rate_sample *s = &x->rates[i];

		if (s->idx == idx && !strncmp(s->id, id, TG_ID_LEN)) {
			e = s;
			break;
		}
		if (old->idx && (!s->idx || s->t_ns < old->t_ns))
			old = s; /* a free slot, else the least recently sampled */
	}
	if (e && now - e->t_ns >= (int64_t)RATE_MIN_MS * 1000000) {
		struct tg_view_sample sn, se;

		tg_view_sample_of(c, &sn);
		tg_view_sample_of(&e->c, &se);
		r = tg_view_rates((double)(now - e->t_ns) / 1e9, &sn, &se);
	}
	if (!e)
		e = old;
	else if (now - e->t_ns < (int64_t)RATE_KEEP_MS * 1000000)
		return r; /* keep the older sample: the window grows to RATE_KEEP_MS */
	e->idx = idx;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->t_ns = now;
	e->c = *c;
	return r;
}

/*
 * GET /api/v1/customers/ID: counters, state, enforcement, the last 20 events, and its
 * rates since the API's previous reading of it (rate_sample; null at the first). Reads
 * this one customer only, and never sleeps.
 */
static json_t *api_customer(struct tg_exporter *x, const char *id, unsigned int *status)
{
	struct tg_cust_counters c;
	struct tg_cust rec;
	json_t *o, *r;
	uint32_t idx = find_customer(x, id);

	if (!idx)
		return api_error(status, MHD_HTTP_NOT_FOUND, "no such customer loaded");
	if (bpf_map_lookup_elem(x->m.cust, &idx, &rec) || tg_read_cust(&x->m, idx, &c))
		return api_error(status, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the maps");
	o = tg_view_customer(&x->m, idx, id, &rec, &c);
	if (!o)
		return api_error(status, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	r = rates_j(x, idx, id, &c);
	json_object_set_new(o, "rates", r ? r : json_null());
	if (!state_db(x)) {
		uint64_t passed[TG_DIR_NR] = {c.pass[TG_DIR_UP].bytes, c.pass[TG_DIR_DOWN].bytes};

		tg_view_customer_quota(o, x->st, id, idx, passed, tg_now_ms());
	}
	/* no state database: no enforcement known, no events (the counters still show) */
	if (state_db(x) || tg_view_customer_state(o, x->st, id))
		json_object_set_new(o, "events", json_array());
	return tg_view_doc("customer", o);
}

/* GET /api/v1/events?customer=ID&since=UNIX_SECONDS&limit=N: the newest, oldest first. */
static json_t *api_events(struct tg_exporter *x, struct MHD_Connection *conn, unsigned int *status)
{
	const char *cust = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "customer");
	long since = arg_num(conn, "since", 0, 0, 100000000000L),
	     limit = arg_num(conn, "limit", 100, 1, 10000);
	json_t *doc;
	int err = 0;

	if (since < 0 || limit < 0)
		return api_error(status, MHD_HTTP_BAD_REQUEST,
				 "since: unix seconds; limit: 1 to 10000");
	if (state_db(x))
		return api_error(status, MHD_HTTP_SERVICE_UNAVAILABLE,
				 "the state database cannot be opened");
	doc = tg_view_events(x->st, cust, (int64_t)since * 1000, (size_t)limit, &err);
	if (!doc)
		return api_error(status, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "cannot read the audit log");
	return doc;
}

/* GET /api/v1/whois?address=A&at=UNIX_SECONDS (default now): which customer held A then
 * (`tollgate whois -j`). */
static json_t *api_whois(struct tg_exporter *x, struct MHD_Connection *conn, unsigned int *status)
{
	const char *addr = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "address");
	long at = arg_num(conn, "at", -2, 0, 100000000000L);
	json_t *doc;
	int err = 0;

	if (!addr || at == -1)
		return api_error(status, MHD_HTTP_BAD_REQUEST,
				 "address: an IPv4 or IPv6 address; at: unix seconds");
	if (state_db(x))
		return api_error(status, MHD_HTTP_SERVICE_UNAVAILABLE,
				 "the state database cannot be opened");
	doc = tg_state_whois_json(x->st, addr, at == -2 ? tg_now_ms() : (int64_t)at * 1000, &err);
	if (!doc && err == -EINVAL)
		return api_error(status, MHD_HTTP_BAD_REQUEST,
				 "address: an IPv4 or IPv6 address (192.0.2.1, 2001:db8::1)");
	if (!doc)
		return api_error(status, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "cannot read the assignment history");
	return doc;
}

/* GET /api/v1/enforcement: every customer that is not active, from the state database. */
static json_t *api_enforcement(struct tg_exporter *x, unsigned int *status)
{
	struct tg_enf_table t = {};
	json_t *arr;

	if (state_db(x) || tg_state_enf_load(x->st, &t)) {
		tg_enf_free(&t);
		return api_error(status, MHD_HTTP_SERVICE_UNAVAILABLE,
				 "the state database cannot be read");
	}
	arr = json_array();
	for (size_t i = 0; i < t.n; i++)
		json_array_append_new(arr, tg_enf_json(&t.e[i]));
	tg_enf_free(&t);
	return tg_view_doc("customers", arr);
}

/*
 * GET /api/v1/quotas?limit=N (default 10, at most 1000): the customers that used the most
 * of their volume quota this period, highest quota_used_pct first; 404 without quotas.
 */
static json_t *api_quotas(struct tg_exporter *x, struct MHD_Connection *conn, unsigned int *status)
{
	long lim = arg_num(conn, "limit", 10, 1, 1000);
	struct tg_quota_top *top;
	json_t *arr;
	size_t n;

	if (lim < 0)
		return api_error(status, MHD_HTTP_BAD_REQUEST, "limit: 1 to 1000");
	top = calloc((size_t)lim, sizeof(*top));
	if (!top)
		return api_error(status, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	n = tg_quota_top(x->quota, top, (size_t)lim);
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = tg_view_quota(&top[i].now.cfg, top[i].now.used,
					  top[i].now.period_start_ms, top[i].now.period_end_ms);

		if (o) {
			json_object_set_new(o, "customer", json_string(top[i].id));
			json_array_append_new(arr, o);
		}
	}
	free(top);
	return tg_view_doc("quotas", arr);
}

static json_t *api(struct tg_exporter *x, struct MHD_Connection *conn, const char *path,
		   unsigned int *status)
{
	json_t *o;

	*status = MHD_HTTP_OK;
	pthread_mutex_lock(&x->lock);
	if (!strcmp(path, "status"))
		o = api_status(x, status);
	else if (!strcmp(path, "customers"))
		o = api_customers(x, conn, status);
	else if (!strncmp(path, "customers/", 10) && path[10] && !strchr(path + 10, '/'))
		o = api_customer(x, path + 10, status);
	else if (!strcmp(path, "events"))
		o = api_events(x, conn, status);
	else if (!strcmp(path, "enforcement"))
		o = api_enforcement(x, status);
	else if (!strcmp(path, "whois"))
		o = api_whois(x, conn, status);
	else if (!strcmp(path, "quotas") && x->quota && tg_quota_active(x->quota))
		o = api_quotas(x, conn, status);
	else if (!strcmp(path, "mitigations") && x->mit)
		o = json_pack("{si so}", "version", 1, "mitigation", tg_mitigator_json(x->mit));
	else
		o = api_error(status, MHD_HTTP_NOT_FOUND,
			      "not found: /api/v1/status, customers, customers/ID, events, "
			      "enforcement, mitigations, quotas, whois");
	pthread_mutex_unlock(&x->lock);
	return o;
}

/* ---- HTTP ---------------------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *type,
			     char *body, size_t len, bool owned)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- who may ask --------------------------------------------------------------------- */

/*
 * Is host (the Host header's name, port removed) one this exporter answers to? A browser
 * tricked by DNS rebinding sends the attacker's name, so only names that are ours pass:
 * the listen address; localhost and the loopback addresses when listening on loopback (or
 * on every address); any address literal when listening on every address (an address
 * cannot be rebound); and metrics.hosts.
 */
static bool host_ours(const struct tg_exporter *x, const char *host)
{
	char a[64];
	struct in6_addr v6;
	struct in_addr v4;
	size_t n = strlen(host);
	bool literal = false;

	if (n >= 2 && n < sizeof(a) + 2 && host[0] == '[' && host[n - 1] == ']') {
		memcpy(a, host + 1, n - 2);
		a[n - 2] = '\0';
		literal = inet_pton(AF_INET6, a, &v6) == 1;
	} else if (n < sizeof(a)) {
		memcpy(a, host, n + 1);
		literal = inet_pton(AF_INET, a, &v4) == 1;
	} else {
		a[0] = '\0';
	}
	if (literal && !strcmp(a, x->listen_host))
		return true;
	if (literal && x->wildcard)
		return true;
	if ((x->loopback || x->wildcard) &&
	    (!strcasecmp(host, "localhost") || !strcmp(a, "127.0.0.1") || !strcmp(a, "::1")))
		return true;
	for (size_t i = 0; i < x->nhosts; i++)
		if (!strcasecmp(host, x->hosts[i]))
			return true;
	return false;
}

/* The Host header: NAME or NAME:PORT with our port. */
static bool host_ok(const struct tg_exporter *x, const char *h)
{
	char host[256];
	const char *colon;
	size_t n;

	if (!h || !*h || strlen(h) >= sizeof(host))
		return false;
	colon = strrchr(h, ':');
	if (colon && (h[0] != '[' || colon > strrchr(h, ']'))) {
		if (strcmp(colon + 1, x->listen_port))
			return false;
		n = (size_t)(colon - h);
	} else {
		n = strlen(h);
	}
	memcpy(host, h, n);
	host[n] = '\0';
	return host_ours(x, host);
}

/* Equal, in a time that depends on the expected token's length only. */
static bool token_eq(const char *want, size_t wlen, const char *got)
{
	size_t glen = strlen(got);
	unsigned char diff = glen != wlen;

	for (size_t i = 0; i < wlen; i++)
		diff |= (unsigned char)want[i] ^ (unsigned char)(i < glen ? got[i] : 0);
	return !diff;
}

/* "Authorization: Bearer TOKEN" with the configured token, or no token configured. */
static bool token_ok(struct tg_exporter *x, struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	bool ok;

	pthread_mutex_lock(&x->tok_lock);
	ok = !x->token ||
	     (h && !strncasecmp(h, "Bearer ", 7) && token_eq(x->token, x->token_len, h + 7));
	pthread_mutex_unlock(&x->tok_lock);
	return ok;
}

/*
 * Read metrics.token_file: a regular file that only its owner may read or write (a token
 * others can read protects nothing), holding one line of 16 to TOKEN_MAX printable
 * characters without spaces. 0 or -errno with the reason in err; *out malloc'd.
 */
static int read_token(const char *key, const char *path, char **out, size_t *len, char *err,
		      size_t errlen)
{
	char buf[TOKEN_MAX + 2];
	struct stat stt;
	ssize_t n;
	size_t l;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), e;

	if (fd < 0) {
		e = -errno;
		snprintf(err, errlen, "%s %s: %s", key, path, strerror(-e));
		return e;
	}
	if (fstat(fd, &stt) || !S_ISREG(stt.st_mode) || (stt.st_mode & 077)) {
		close(fd);
		snprintf(err, errlen,
			 "%s %s: not a regular file readable by its owner only "
			 "(chmod 600 it)",
			 key, path);
		return -EPERM;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		e = -errno;
		snprintf(err, errlen, "%s %s: %s", key, path, strerror(-e));
		return e;
	}
	l = (size_t)n;
	while (l && (buf[l - 1] == '\n' || buf[l - 1] == '\r'))
		l--;
	buf[l] = '\0';
	for (size_t i = 0; i < l; i++)
		if (buf[i] <= ' ' || buf[i] > '~')
			l = 0;
	if (l < 16 || (size_t)n > TOKEN_MAX) {
		snprintf(err, errlen,
			 "%s %s: want one line of 16 to %d printable characters "
			 "without spaces",
			 key, path, TOKEN_MAX);
		return -EINVAL;
	}
	*out = strdup(buf);
	*len = l;
	return *out ? 0 : -ENOMEM;
}

/* Read the token file of key at path into *tok (under tok_lock); on error the token it
 * had stays. */
static int reload_token(struct tg_exporter *x, const char *key, const char *path, char **tok,
			size_t *toklen, char *err, size_t errlen)
{
	char *t = NULL, *old;
	size_t len = 0;
	int rc = read_token(key, path, &t, &len, err, errlen);

	if (rc)
		return rc;
	pthread_mutex_lock(&x->tok_lock);
	old = *tok;
	*tok = t;
	*toklen = len;
	pthread_mutex_unlock(&x->tok_lock);
	if (old)
		explicit_bzero(old, strlen(old));
	free(old);
	return 0;
}

int tg_exporter_reload(struct tg_exporter *x, char *err, size_t errlen)
{
	int rc;

	if (!x)
		return 0;
	if (x->alert_token_file) {
		rc = reload_token(x, "metrics.alert_token_file", x->alert_token_file,
				  &x->alert_token, &x->alert_token_len, err, errlen);
		if (rc)
			return rc; /* the tokens it has stay */
	}
	if (!x->token_file)
		return 0;
	return reload_token(x, "metrics.token_file", x->token_file, &x->token, &x->token_len, err,
			    errlen);
}

void tg_exporter_set_alertq(struct tg_exporter *x, struct tg_alertq *q)
{
	if (!x)
		return;
	pthread_mutex_lock(&x->tok_lock);
	x->alertq = q;
	pthread_mutex_unlock(&x->tok_lock);
}

static enum MHD_Result deny_401(struct MHD_Connection *conn, const char *msg)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain");
	MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"tollgate\"");
	ret = MHD_queue_response(conn, MHD_HTTP_UNAUTHORIZED, r);
	MHD_destroy_response(r);
	return ret;
}

/* A webhook request's body as it arrives (the connection's con_cls). */
struct upload {
	char *b;
	size_t len;
	bool too_big;
};

static void upload_done(void *cls, struct MHD_Connection *conn, void **con_cls,
			enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (u) {
		free(u->b);
		free(u);
		*con_cls = NULL;
	}
}

/*
 * POST /api/v1/alertmanager (alert.h): the Host and the alert token checked before the
 * body is read; the body taken whole (at most TG_ALERT_BODY_MAX), then checked and
 * queued for the event loop by tg_alertq_post.
 */
static enum MHD_Result alert_post(struct tg_exporter *x, struct MHD_Connection *conn,
				  const char *data, size_t *size, void **con_cls)
{
	static const char misdirected[] = "misdirected: this Host is not one of Tollgate's "
					  "names (metrics.hosts)\n",
			  unauth[] = "unauthorized: send Authorization: Bearer TOKEN "
				     "(metrics.alert_token_file; without one the webhook refuses "
				     "every request)\n";
	struct upload *u = *con_cls;
	unsigned int status;
	json_t *o = NULL;
	char *body;

	if (!u) {
		const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
		bool ok;

		if (!host_ok(x, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host")))
			return reply(conn, 421, "text/plain", (char *)misdirected,
				     strlen(misdirected), false);
		pthread_mutex_lock(&x->tok_lock);
		ok = x->alert_token && h && !strncasecmp(h, "Bearer ", 7) &&
		     token_eq(x->alert_token, x->alert_token_len, h + 7);
		pthread_mutex_unlock(&x->tok_lock);
		if (!ok)
			return deny_401(conn, unauth);
		if (!(u = calloc(1, sizeof(*u))))
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*size) {
		if (u->len + *size > TG_ALERT_BODY_MAX) {
			u->too_big = true;
		} else if (!u->too_big) {
			char *nb = realloc(u->b, u->len + *size + 1);

			if (!nb)
				return MHD_NO;
			memcpy(nb + u->len, data, *size);
			u->b = nb;
			u->len += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	if (u->too_big) {
		o = json_pack("{si ss}", "version", 1, "error",
			      "the request is larger than 1 MiB: nothing queued");
		status = 413;
	} else {
		pthread_mutex_lock(&x->tok_lock);
		if (!x->alertq) {
			o = json_pack("{si ss}", "version", 1, "error",
				      "tollgated is not ready for alerts: try again");
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
		} else {
			status = tg_alertq_post(x->alertq, u->b ? u->b : "", u->len, &o);
		}
		pthread_mutex_unlock(&x->tok_lock);
	}
	body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!body)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n",
			     14, false);
	return reply(conn, status, "application/json", body, strlen(body), true);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	static char not_found[] = "not found: Tollgate serves /, /metrics and /api/v1/\n",
		    not_allowed[] = "method not allowed: GET only\n", oom[] = "out of memory\n",
		    misdirected[] = "misdirected: this Host is not one of Tollgate's names "
				    "(metrics.hosts)\n",
		    unauthorized[] = "unauthorized: send Authorization: Bearer TOKEN "
				     "(metrics.token_file)\n";
	struct tg_exporter *x = cls;
	char *body;
	size_t len = 0;

	(void)version;
	if (!strcmp(method, "POST") && !strcmp(url, "/api/v1/alertmanager"))
		return alert_post(x, conn, upload_data, upload_size, con_cls);
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
			     strlen(not_allowed), false);
	if (*upload_size)
		return MHD_NO;
	/* who asks, before any work */
	if (!host_ok(x, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host")))
		return reply(conn, 421, "text/plain", misdirected, strlen(misdirected), false);
	if ((!strncmp(url, "/api/v1/", 8) || !strcmp(url, "/metrics")) && !token_ok(x, conn)) {
		struct MHD_Response *r = MHD_create_response_from_buffer(
			strlen(unauthorized), unauthorized, MHD_RESPMEM_PERSISTENT);
		enum MHD_Result ret;

		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, "Content-Type", "text/plain");
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"tollgate\"");
		ret = MHD_queue_response(conn, MHD_HTTP_UNAUTHORIZED, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (!strncmp(url, "/api/v1/", 8)) {
		unsigned int status;
		json_t *o = api(x, conn, url + 8, &status);

		body = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!body)
			return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", oom,
				     strlen(oom), false);
		return reply(conn, status, "application/json", body, strlen(body), true);
	}
	if (!strcmp(url, "/"))
		return reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", (char *)tg_page_html,
			     sizeof(tg_page_html) - 1, false);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found, strlen(not_found),
			     false);
	body = tg_exporter_render(x, &len);
	if (!body)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", oom, strlen(oom),
			     false);
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len,
		     true);
}

static int parse_listen(const char *s, struct sockaddr_storage *sa, bool *v6)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t hl;
	unsigned long port;

	if (!colon || (hl = (size_t)(colon - s)) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	port = strtoul(colon + 1, NULL, 10);
	memset(sa, 0, sizeof(*sa));
	*v6 = host[0] == '[';
	if (*v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;

		host[hl - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	{
		struct sockaddr_in *a = (struct sockaddr_in *)sa;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
	}
}

/* The listen address's host (without brackets) and port, and what kind of address. */
static int listen_parts(struct tg_exporter *x, const char *listen)
{
	const char *colon = strrchr(listen, ':');
	size_t hl = colon ? (size_t)(colon - listen) : 0;

	if (!colon || hl < 1)
		return -EINVAL;
	if (listen[0] == '[' && hl >= 2 && listen[hl - 1] == ']')
		x->listen_host = strndup(listen + 1, hl - 2);
	else
		x->listen_host = strndup(listen, hl);
	x->listen_port = strdup(colon + 1);
	if (!x->listen_host || !x->listen_port)
		return -ENOMEM;
	x->loopback = !strncmp(x->listen_host, "127.", 4) || !strcmp(x->listen_host, "::1");
	x->wildcard = !strcmp(x->listen_host, "0.0.0.0") || !strcmp(x->listen_host, "::");
	return 0;
}

int tg_exporter_start(const struct tg_cfg *cfg, const char *pin_dir, struct tg_exporter **out,
		      char *err, size_t errlen)
{
	struct tg_exporter *x = calloc(1, sizeof(*x));
	const char *listen = cfg->metrics_listen, *per_customer = cfg->metrics_per_customer,
		   *state_path = cfg->state_path;
	struct sockaddr_storage sa;
	bool v6;
	int rc;

	*out = NULL;
	if (!x)
		return -ENOMEM;
	pthread_mutex_init(&x->lock, NULL);
	pthread_mutex_init(&x->act_lock, NULL);
	pthread_mutex_init(&x->tok_lock, NULL);
	x->listen = strdup(listen);
	x->per_customer = strdup(per_customer);
	x->state_path = state_path ? strdup(state_path) : NULL;
	x->token_file = cfg->metrics_token_file ? strdup(cfg->metrics_token_file) : NULL;
	x->alert_token_file =
		cfg->metrics_alert_token_file ? strdup(cfg->metrics_alert_token_file) : NULL;
	x->hosts = calloc(cfg->nmetrics_hosts + 1, sizeof(char *));
	if (!x->listen || !x->per_customer || (state_path && !x->state_path) ||
	    (cfg->metrics_token_file && !x->token_file) || !x->hosts ||
	    (cfg->metrics_alert_token_file && !x->alert_token_file)) {
		tg_exporter_stop(x);
		return -ENOMEM;
	}
	for (; x->nhosts < cfg->nmetrics_hosts; x->nhosts++)
		if (!(x->hosts[x->nhosts] = strdup(cfg->metrics_hosts[x->nhosts]))) {
			tg_exporter_stop(x);
			return -ENOMEM;
		}
	x->top = !strcmp(per_customer, "off")	? -1
		 : !strcmp(per_customer, "all") ? 0
						: strtol(per_customer + 4, NULL, 10);
	rc = parse_listen(listen, &sa, &v6);
	if (!rc)
		rc = listen_parts(x, listen);
	if (rc) {
		snprintf(err, errlen, "metrics.listen %s: not ADDRESS:PORT", listen);
		tg_exporter_stop(x);
		return rc;
	}
	/* no token that can be read: no exporter (never one open by mistake) */
	rc = tg_exporter_reload(x, err, errlen);
	if (rc) {
		tg_exporter_stop(x);
		return rc;
	}
	rc = tg_maps_open(pin_dir, NULL, false, &x->m);
	if (rc) {
		snprintf(err, errlen, "metrics: cannot open the maps at %s: %s", pin_dir,
			 strerror(-rc));
		tg_exporter_stop(x);
		return rc;
	}
	x->maps_open = true;
	x->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0), 0,
		NULL, NULL, handle, x, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_LIMIT,
		CONN_MAX, MHD_OPTION_CONNECTION_TIMEOUT, 10, MHD_OPTION_NOTIFY_COMPLETED,
		upload_done, NULL, MHD_OPTION_END);
	if (!x->mhd) {
		snprintf(err, errlen, "metrics: cannot listen at %s", listen);
		tg_exporter_stop(x);
		return -EADDRINUSE;
	}
	*out = x;
	return 0;
}

void tg_exporter_stop(struct tg_exporter *x)
{
	if (!x)
		return;
	if (x->mhd)
		MHD_stop_daemon(x->mhd);
	if (x->maps_open)
		tg_maps_close(&x->m);
	tg_state_close(x->st);
	free(x->state_path);
	pthread_mutex_destroy(&x->lock);
	pthread_mutex_destroy(&x->act_lock);
	pthread_mutex_destroy(&x->tok_lock);
	free(x->listen);
	free(x->per_customer);
	free(x->ifc);
	free(x->listen_host);
	free(x->listen_port);
	for (size_t i = 0; i < x->nhosts; i++)
		free(x->hosts[i]);
	free(x->hosts);
	free(x->token_file);
	if (x->token)
		explicit_bzero(x->token, x->token_len);
	free(x->token);
	free(x->alert_token_file);
	if (x->alert_token)
		explicit_bzero(x->alert_token, x->alert_token_len);
	free(x->alert_token);
	free(x);
}

int tg_exporter_same(const struct tg_exporter *x, const struct tg_cfg *cfg)
{
	if (!x || strcmp(x->listen, cfg->metrics_listen) ||
	    strcmp(x->per_customer, cfg->metrics_per_customer) ||
	    x->nhosts != cfg->nmetrics_hosts || !x->token_file != !cfg->metrics_token_file ||
	    (x->token_file && strcmp(x->token_file, cfg->metrics_token_file)) ||
	    !x->alert_token_file != !cfg->metrics_alert_token_file ||
	    (x->alert_token_file && strcmp(x->alert_token_file, cfg->metrics_alert_token_file)))
		return 0;
	for (size_t i = 0; i < x->nhosts; i++)
		if (strcmp(x->hosts[i], cfg->metrics_hosts[i]))
			return 0;
	return 1;
}
