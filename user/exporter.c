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
#include <netinet/in.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <microhttpd.h>

#include "attach.h"
#include "exporter.h"
#include "log.h"
#include "maps.h"

#ifndef TG_VERSION
#define TG_VERSION "0.1"
#endif
#define MAX_ACTIONS 256 /* distinct (rule, action) pairs counted */
#define CHUNK 4096u

struct action_count {
	char rule[64], action[16];
	unsigned long long n;
};

struct tg_exporter {
	struct MHD_Daemon *mhd;
	struct tg_maps m;
	bool maps_open;
	pthread_mutex_t lock; /* renders (the maps' mmaps) and the action counters */
	char *listen, *per_customer;
	long top; /* 0: all; -1: off; else top N */
	struct action_count act[MAX_ACTIONS];
	int nact;
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

/* Entries [0, n) of an array map into vals (vsz bytes each), in batches. */
static int read_array(int fd, uint32_t n, size_t vsz, void *vals)
{
	__u32 *keys = malloc(CHUNK * sizeof(*keys));
	int err = 0;

	if (!keys)
		return -ENOMEM;
	for (uint32_t base = 0; base < n; base += CHUNK) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 in = base - 1, out = 0, cnt = n - base < CHUNK ? n - base : CHUNK;

		if (bpf_map_lookup_batch(fd, base ? &in : NULL, &out, keys,
					 (char *)vals + (size_t)base * vsz, &cnt, &opts) &&
		    errno != ENOENT) {
			err = -errno;
			break;
		}
	}
	free(keys);
	return err;
}

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

/* Drops still coalescing in the CPUs' slots (tg_dcache): added, as `tollgate` does, so that
 * the exported counters equal the data plane's once traffic stops. */
struct pending {
	uint32_t cust;
	uint8_t dir, reason;
	uint64_t pkts;
};

static int read_pending(const struct tg_maps *m, struct pending *out, int max)
{
	size_t stride = (sizeof(struct tg_dcache) + 7) / 8 * 8;
	char *buf = malloc(stride * m->ncpus);
	__u32 zero = 0;
	int n = 0;

	if (!buf)
		return 0;
	if (!bpf_map_lookup_elem(m->dcache, &zero, buf))
		for (int cpu = 0; cpu < m->ncpus && n < max; cpu++) {
			const struct tg_dcache *dc = (const void *)(buf + cpu * stride);

			if (dc->cust != TG_CUST_NONE && dc->pkts && dc->dir < TG_DIR_NR &&
			    dc->reason < TG_R_NR)
				out[n++] =
					(struct pending){dc->cust, dc->dir, dc->reason, dc->pkts};
		}
	free(buf);
	return n;
}

static uint64_t drops_of(const struct tg_cdrop *cd, const struct pending *p, int np, uint32_t idx,
			 int d, int r)
{
	uint64_t v = cd->pkts[d][r];

	for (int i = 0; i < np; i++)
		if (p[i].cust == idx && p[i].dir == d && p[i].reason == r)
			v += p[i].pkts;
	return v;
}

struct crow {
	uint32_t idx;
	uint64_t score; /* passed bytes, both directions */
};

static int cmp_score(const void *a, const void *b)
{
	const struct crow *x = a, *y = b;

	return x->score != y->score ? (x->score < y->score ? 1 : -1)
				    : (x->idx > y->idx) - (x->idx < y->idx);
}

static void customer_metrics(struct tg_exporter *x, struct buf *b, const struct tg_config *bc)
{
	uint32_t n = x->m.max_cust;
	char(*names)[TG_ID_LEN] = calloc(n, TG_ID_LEN);
	struct tg_cust *rec = calloc(n, sizeof(*rec));
	struct tg_cstat *pass = calloc(n, sizeof(*pass));
	struct crow *rows = calloc(n, sizeof(*rows));
	size_t nrows = 0, shown, nstate[3] = {0, 0, 0};
	struct tg_cstat other = {};
	struct pending pend[1024];
	int npend = 0;
	uint64_t other_drop[TG_DIR_NR][TG_R_NR] = {};
	char id[2 * TG_ID_LEN];
	bool have_pass = false;

	if (!names || !rec || !pass || !rows || read_array(x->m.names, n, TG_ID_LEN, names) ||
	    read_array(x->m.cust, n, sizeof(*rec), rec) || tg_maps_map_cdrop(&x->m)) {
		b->oom = b->oom || !names || !rec || !pass || !rows;
		goto out;
	}
	have_pass = x->top >= 0 && !tg_read_cust_all(&x->m, n, pass);
	npend = read_pending(&x->m, pend, 1024);
	for (uint32_t i = 1; i < n; i++) {
		if (!(rec[i].flags & TG_CF_VALID) || !names[i][0])
			continue;
		names[i][TG_ID_LEN - 1] = '\0';
		nstate[rec[i].state <= TG_ST_SUSPENDED ? rec[i].state : 0]++;
		rows[nrows].idx = i;
		rows[nrows++].score = have_pass ? pass[i].bytes[0] + pass[i].bytes[1] : 0;
	}
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
		qsort(rows, nrows, sizeof(*rows), cmp_score);
		shown = (size_t)x->top;
	}
	head(b, "tollgate_customer_bytes_total", "counter",
	     "IP bytes passed per customer and direction (customer=\"_other\": the customers "
	     "not shown, summed).");
	for (size_t k = 0; k < shown; k++)
		for (int d = 0; d < TG_DIR_NR; d++)
			bprintf(b,
				"tollgate_customer_bytes_total{customer=\"%s\",direction=\"%s\"} "
				"%llu\n",
				esc(names[rows[k].idx], id, sizeof(id)), dir_name[d],
				(unsigned long long)pass[rows[k].idx].bytes[d]);
	for (size_t k = shown; k < nrows; k++) {
		const struct tg_cdrop *cd = &x->m.cdrop_mm[rows[k].idx];

		for (int d = 0; d < TG_DIR_NR; d++) {
			other.bytes[d] += pass[rows[k].idx].bytes[d];
			other.pkts[d] += pass[rows[k].idx].pkts[d];
			for (int r = 0; r < TG_R_NR; r++)
				other_drop[d][r] += drops_of(cd, pend, npend, rows[k].idx, d, r);
		}
	}
	if (shown < nrows)
		for (int d = 0; d < TG_DIR_NR; d++)
			bprintf(b,
				"tollgate_customer_bytes_total{customer=\"_other\",direction=\"%"
				"s\"} %llu\n",
				dir_name[d], (unsigned long long)other.bytes[d]);
	head(b, "tollgate_customer_packets_total", "counter",
	     "Packets passed per customer and direction.");
	for (size_t k = 0; k < shown; k++)
		for (int d = 0; d < TG_DIR_NR; d++)
			bprintf(b,
				"tollgate_customer_packets_total{customer=\"%s\",direction=\"%s\"} "
				"%llu\n",
				esc(names[rows[k].idx], id, sizeof(id)), dir_name[d],
				(unsigned long long)pass[rows[k].idx].pkts[d]);
	if (shown < nrows)
		for (int d = 0; d < TG_DIR_NR; d++)
			bprintf(b,
				"tollgate_customer_packets_total{customer=\"_other\",direction=\"%"
				"s\"} %llu\n",
				dir_name[d], (unsigned long long)other.pkts[d]);
	head(b, "tollgate_customer_drops_total", "counter",
	     "Packets dropped per customer, direction and reason (reasons with drops only).");
	for (size_t k = 0; k < shown; k++) {
		const struct tg_cdrop *cd = &x->m.cdrop_mm[rows[k].idx];

		for (int d = 0; d < TG_DIR_NR; d++)
			for (int r = 0; r < TG_R_NR; r++) {
				uint64_t v = drops_of(cd, pend, npend, rows[k].idx, d, r);

				if (v)
					bprintf(b,
						"tollgate_customer_drops_total{customer=\"%s\","
						"direction=\"%s\",reason=\"%s\"} %llu\n",
						esc(names[rows[k].idx], id, sizeof(id)),
						dir_name[d], tg_reason_name(r),
						(unsigned long long)v);
			}
	}
	for (int d = 0; d < TG_DIR_NR && shown < nrows; d++)
		for (int r = 0; r < TG_R_NR; r++)
			if (other_drop[d][r])
				bprintf(b,
					"tollgate_customer_drops_total{customer=\"_other\","
					"direction=\"%s\","
					"reason=\"%s\"} %llu\n",
					dir_name[d], tg_reason_name(r),
					(unsigned long long)other_drop[d][r]);
	head(b, "tollgate_customer_state", "gauge",
	     "A customer's enforcement state: 0 active, 1 throttled, 2 suspended.");
	for (size_t k = 0; k < shown; k++)
		bprintf(b, "tollgate_customer_state{customer=\"%s\"} %u\n",
			esc(names[rows[k].idx], id, sizeof(id)), rec[rows[k].idx].state);
out:
	free(names);
	free(rec);
	free(pass);
	free(rows);
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
	customer_metrics(x, &b, &bc);
	head(&b, "tollgate_map_capacity", "gauge", "Entries a map can hold.");
	bprintf(&b,
		"tollgate_map_capacity{map=\"customers\"} %u\n"
		"tollgate_map_capacity{map=\"ipv6_prefixes\"} %u\n",
		x->m.max_cust - 1, x->m.v6_max);
	head(&b, "tollgate_map_entries", "gauge", "Entries in use in a map.");
	bprintf(&b,
		"tollgate_map_entries{map=\"customers\"} %u\n"
		"tollgate_map_entries{map=\"ipv6_prefixes\"} %u\n",
		bc.ncustomers, bc.nprefixes6);
	head(&b, "tollgate_enforcement_actions_total", "counter",
	     "Enforcement actions carried out since tollgated started, by rule (\"\": by hand) "
	     "and action.");
	for (int i = 0; i < x->nact; i++)
		bprintf(&b, "tollgate_enforcement_actions_total{rule=\"%s\",action=\"%s\"} %llu\n",
			esc(x->act[i].rule, rule, sizeof(rule)), x->act[i].action, x->act[i].n);
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
	pthread_mutex_lock(&x->lock);
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
	pthread_mutex_unlock(&x->lock);
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

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	static char not_found[] = "not found: Tollgate serves /metrics\n",
		    not_allowed[] = "method not allowed: GET only\n", oom[] = "out of memory\n";
	struct tg_exporter *x = cls;
	char *body;
	size_t len = 0;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
			     strlen(not_allowed), false);
	if (*upload_size)
		return MHD_NO;
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

int tg_exporter_start(const char *listen, const char *per_customer, const char *pin_dir,
		      struct tg_exporter **out, char *err, size_t errlen)
{
	struct tg_exporter *x = calloc(1, sizeof(*x));
	struct sockaddr_storage sa;
	bool v6;
	int rc;

	*out = NULL;
	if (!x)
		return -ENOMEM;
	pthread_mutex_init(&x->lock, NULL);
	x->listen = strdup(listen);
	x->per_customer = strdup(per_customer);
	if (!x->listen || !x->per_customer) {
		tg_exporter_stop(x);
		return -ENOMEM;
	}
	x->top = !strcmp(per_customer, "off")	? -1
		 : !strcmp(per_customer, "all") ? 0
						: strtol(per_customer + 4, NULL, 10);
	rc = parse_listen(listen, &sa, &v6);
	if (rc) {
		snprintf(err, errlen, "metrics.listen %s: not ADDRESS:PORT", listen);
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
		NULL, NULL, handle, x, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_LIMIT, 16,
		MHD_OPTION_CONNECTION_TIMEOUT, 10, MHD_OPTION_END);
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
	pthread_mutex_destroy(&x->lock);
	free(x->listen);
	free(x->per_customer);
	free(x);
}

int tg_exporter_same(const struct tg_exporter *x, const char *listen, const char *per_customer)
{
	return x && !strcmp(x->listen, listen) && !strcmp(x->per_customer, per_customer);
}
