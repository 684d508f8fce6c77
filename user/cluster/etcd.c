// SPDX-License-Identifier: GPL-2.0-only
/*
 * etcd.c - etcd's v3 API through its JSON gateway over libcurl (see etcd.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <curl/curl.h>
#include <jansson.h>

#include "etcd.h"

#define TG_ETCD_TIMEOUT_MS 2000u
#define TG_ETCD_MAX_REPLY (64u << 20) /* a range of every node's keys fits well below */
#define TG_ETCD_QUEUE_MAX 65536u      /* watch events waiting for the daemon */

/* ---- base64 (RFC 4648), what the gateway uses for keys and values ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_enc(const void *src, size_t n)
{
	const unsigned char *s = src;
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		*o++ = b64[s[i] >> 2];
		*o++ = b64[(s[i] & 3) << 4 | s[i + 1] >> 4];
		*o++ = b64[(s[i + 1] & 15) << 2 | s[i + 2] >> 6];
		*o++ = b64[s[i + 2] & 63];
	}
	if (i < n) {
		*o++ = b64[s[i] >> 2];
		if (i + 1 < n) {
			*o++ = b64[(s[i] & 3) << 4 | s[i + 1] >> 4];
			*o++ = b64[(s[i + 1] & 15) << 2];
		} else {
			*o++ = b64[(s[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/* Decoded bytes of s, NUL-terminated, length in *n; NULL if s is not base64. */
static char *b64_dec(const char *s, size_t *n)
{
	size_t len = strlen(s), i, o = 0;
	char *out;

	if (len % 4)
		return NULL;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return NULL;
	for (i = 0; i < len; i += 4) {
		int a = b64_val(s[i]), b = b64_val(s[i + 1]), c = b64_val(s[i + 2]),
		    d = b64_val(s[i + 3]);
		bool pad2 = s[i + 2] == '=' && s[i + 3] == '=', pad1 = !pad2 && s[i + 3] == '=';

		if (a < 0 || b < 0 || (!pad2 && c < 0) || (!pad1 && !pad2 && d < 0) ||
		    ((pad1 || pad2) && i + 4 != len)) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(a << 2 | b >> 4);
		if (!pad2)
			out[o++] = (char)((b & 15) << 4 | c >> 2);
		if (!pad1 && !pad2)
			out[o++] = (char)((c & 3) << 6 | d);
	}
	out[o] = '\0';
	*n = o;
	return out;
}

/* The gateway writes int64 as strings ("revision": "42"); absent means 0. */
static int64_t jint(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static json_t *jstr64(int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRId64, v);
	return json_string(b);
}

/* ---- the client ---- */

struct tg_etcd {
	char **ep;
	size_t nep, cur;
	char *ca, *cert, *key;
	uint32_t timeout_ms;
	CURL *curl;
	char err[512];
};

struct reply {
	char *buf;
	size_t len;
};

static size_t collect(char *p, size_t sz, size_t nm, void *arg)
{
	struct reply *r = arg;
	size_t n = sz * nm;
	char *nb;

	if (r->len + n > TG_ETCD_MAX_REPLY)
		return 0;
	nb = realloc(r->buf, r->len + n + 1);
	if (!nb)
		return 0;
	memcpy(nb + r->len, p, n);
	r->buf = nb;
	r->len += n;
	r->buf[r->len] = '\0';
	return n;
}

static char *dupnull(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static int copy_cfg(const struct tg_etcd_cfg *cfg, char ***ep, size_t *nep, char **ca, char **cert,
		    char **key)
{
	size_t i;

	if (!cfg->nendpoints)
		return -EINVAL;
	*ep = calloc(cfg->nendpoints, sizeof(**ep));
	if (!*ep)
		return -ENOMEM;
	*nep = cfg->nendpoints;
	for (i = 0; i < cfg->nendpoints; i++)
		if (!((*ep)[i] = strdup(cfg->endpoints[i])))
			return -ENOMEM;
	*ca = dupnull(cfg->ca);
	*cert = dupnull(cfg->cert);
	*key = dupnull(cfg->key);
	if ((cfg->ca && !*ca) || (cfg->cert && !*cert) || (cfg->key && !*key))
		return -ENOMEM;
	return 0;
}

int tg_etcd_open(const struct tg_etcd_cfg *cfg, struct tg_etcd **out, char *err, size_t errlen)
{
	struct tg_etcd *e = calloc(1, sizeof(*e));
	int rc;

	*out = NULL;
	if (!e)
		return -ENOMEM;
	rc = copy_cfg(cfg, &e->ep, &e->nep, &e->ca, &e->cert, &e->key);
	e->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : TG_ETCD_TIMEOUT_MS;
	if (!rc && !(e->curl = curl_easy_init()))
		rc = -ENOMEM;
	if (rc) {
		snprintf(err, errlen, "etcd: %s", rc == -EINVAL ? "no endpoints" : "out of memory");
		tg_etcd_close(e);
		return rc;
	}
	*out = e;
	return 0;
}

void tg_etcd_close(struct tg_etcd *e)
{
	if (!e)
		return;
	if (e->curl)
		curl_easy_cleanup(e->curl);
	free_strv(e->ep, e->nep);
	free(e->ca);
	free(e->cert);
	free(e->key);
	free(e);
}

const char *tg_etcd_error(const struct tg_etcd *e)
{
	return e->err;
}

const char *tg_etcd_endpoint(const struct tg_etcd *e)
{
	return e->ep[e->cur];
}

static void set_http_only(CURL *c)
{
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

static void set_tls(CURL *c, const char *ca, const char *cert, const char *key)
{
	if (ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if (cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
	if (key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, key);
}

/*
 * POST body to path on one endpoint after another, from the current one. The reply's
 * JSON in *out. An answer from etcd, even an error, ends the search (the error is the
 * caller's); a transport failure or an "unavailable" (no leader) tries the next endpoint.
 */
static int call(struct tg_etcd *e, const char *path, json_t *body, json_t **out)
{
	char *data = json_dumps(body, JSON_COMPACT), url[512];
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	int rc = -EHOSTUNREACH;

	*out = NULL;
	if (!data || !hdr) {
		free(data);
		curl_slist_free_all(hdr);
		snprintf(e->err, sizeof(e->err), "out of memory");
		return -ENOMEM;
	}
	for (size_t k = 0; k < e->nep; k++) {
		size_t i = (e->cur + k) % e->nep;
		struct reply r = {0};
		long status = 0;
		CURLcode cc;
		json_t *j;

		snprintf(url, sizeof(url), "%s%s", e->ep[i], path);
		curl_easy_reset(e->curl);
		curl_easy_setopt(e->curl, CURLOPT_URL, url);
		curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, data);
		curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &r);
		curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
		curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)e->timeout_ms);
		curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
		set_http_only(e->curl);
		set_tls(e->curl, e->ca, e->cert, e->key);
		cc = curl_easy_perform(e->curl);
		curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
		if (cc != CURLE_OK) {
			snprintf(e->err, sizeof(e->err), "%s: %s", e->ep[i],
				 curl_easy_strerror(cc));
			free(r.buf);
			rc = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
			continue;
		}
		j = r.buf ? json_loads(r.buf, 0, NULL) : NULL;
		if (!j || status == 503) {
			snprintf(e->err, sizeof(e->err), "%s: HTTP %ld: %.200s", e->ep[i], status,
				 r.buf ? r.buf : "no reply");
			free(r.buf);
			json_decref(j);
			rc = -EAGAIN;
			continue;
		}
		free(r.buf);
		e->cur = i;
		if (status != 200 || json_object_get(j, "error")) {
			const char *m = json_string_value(json_object_get(j, "message"));

			if (!m)
				m = json_string_value(json_object_get(j, "error"));
			snprintf(e->err, sizeof(e->err), "%s: %s", e->ep[i], m ? m : "error");
			json_decref(j);
			rc = strstr(e->err, "not found") ? -ENOENT : -EPROTO;
			break;
		}
		*out = j;
		rc = 0;
		break;
	}
	free(data);
	curl_slist_free_all(hdr);
	json_decref(body);
	return rc;
}

/* The first key after every key that starts with prefix (etcd's range_end). */
static char *prefix_end(const char *p)
{
	size_t n = strlen(p);
	char *e = malloc(n + 1);

	if (!e)
		return NULL;
	memcpy(e, p, n + 1);
	while (n > 0) {
		if ((unsigned char)e[n - 1] < 0xff) {
			e[n - 1]++;
			e[n] = '\0';
			return e;
		}
		n--;
	}
	/* all 0xff (or empty): every key */
	e[0] = '\0';
	return e;
}

/* A key (and prefix end) as the gateway wants them: base64; range_end "\0" = to the end. */
static int put_key(json_t *o, const char *key, bool prefix)
{
	char *k = b64_enc(key, strlen(key)), *pe = NULL, *end = NULL;
	int rc = 0;

	if (!k)
		return -ENOMEM;
	json_object_set_new(o, "key", json_string(k));
	if (prefix) {
		pe = prefix_end(key);
		end = pe ? (*pe ? b64_enc(pe, strlen(pe)) : strdup("AA==")) : NULL;
		if (end)
			json_object_set_new(o, "range_end", json_string(end));
		else
			rc = -ENOMEM;
	}
	free(k);
	free(pe);
	free(end);
	return rc;
}

static int parse_kv(const json_t *j, struct tg_etcd_kv *kv)
{
	const char *k = json_string_value(json_object_get(j, "key")),
		   *v = json_string_value(json_object_get(j, "value"));
	size_t n = 0;

	memset(kv, 0, sizeof(*kv));
	kv->key = k ? b64_dec(k, &n) : NULL;
	kv->value = b64_dec(v ? v : "", &kv->vlen);
	if (!kv->key || !kv->value) {
		free(kv->key);
		free(kv->value);
		memset(kv, 0, sizeof(*kv));
		return -EPROTO;
	}
	kv->create_rev = jint(j, "create_revision");
	kv->mod_rev = jint(j, "mod_revision");
	kv->version = jint(j, "version");
	kv->lease = jint(j, "lease");
	return 0;
}

int tg_etcd_range(struct tg_etcd *e, const char *key, bool prefix, int64_t rev,
		  struct tg_etcd_kvs *out)
{
	json_t *req = json_object(), *rep = NULL, *kvs, *x;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!req || put_key(req, key, prefix)) {
		json_decref(req);
		return -ENOMEM;
	}
	if (rev)
		json_object_set_new(req, "revision", jstr64(rev));
	rc = call(e, "/v3/kv/range", req, &rep);
	if (rc)
		return rc;
	out->rev = jint(json_object_get(rep, "header"), "revision");
	kvs = json_object_get(rep, "kvs");
	if (json_array_size(kvs)) {
		out->kv = calloc(json_array_size(kvs), sizeof(*out->kv));
		if (!out->kv) {
			json_decref(rep);
			return -ENOMEM;
		}
	}
	json_array_foreach (kvs, i, x) {
		rc = parse_kv(x, &out->kv[out->n]);
		if (rc) {
			snprintf(e->err, sizeof(e->err), "etcd: a key or value is not base64");
			tg_etcd_kvs_free(out);
			json_decref(rep);
			return rc;
		}
		out->n++;
	}
	json_decref(rep);
	return 0;
}

void tg_etcd_kvs_free(struct tg_etcd_kvs *k)
{
	for (size_t i = 0; k->kv && i < k->n; i++) {
		free(k->kv[i].key);
		free(k->kv[i].value);
	}
	free(k->kv);
	memset(k, 0, sizeof(*k));
}

static json_t *put_req(const char *key, const void *val, size_t len, int64_t lease)
{
	json_t *o = json_object();
	char *v = b64_enc(val, len);

	if (!o || !v || put_key(o, key, false)) {
		json_decref(o);
		free(v);
		return NULL;
	}
	json_object_set_new(o, "value", json_string(v));
	free(v);
	if (lease)
		json_object_set_new(o, "lease", jstr64(lease));
	return o;
}

int tg_etcd_put(struct tg_etcd *e, const char *key, const void *val, size_t len, int64_t lease,
		int64_t *rev)
{
	json_t *req = put_req(key, val, len, lease), *rep = NULL;
	int rc;

	if (!req)
		return -ENOMEM;
	rc = call(e, "/v3/kv/put", req, &rep);
	if (!rc && rev)
		*rev = jint(json_object_get(rep, "header"), "revision");
	json_decref(rep);
	return rc;
}

int tg_etcd_cas(struct tg_etcd *e, const char *key, const void *val, size_t len, int64_t want_mod,
		int64_t lease, int64_t *rev)
{
	json_t *put = put_req(key, val, len, lease), *cmp = json_object(), *req, *rep = NULL;
	int rc;

	if (!put || !cmp || put_key(cmp, key, false)) {
		json_decref(put);
		json_decref(cmp);
		return -ENOMEM;
	}
	/* want_mod 0: the key must not exist, i.e. its create_revision is 0 */
	json_object_set_new(cmp, "result", json_string("EQUAL"));
	json_object_set_new(cmp, "target", json_string(want_mod ? "MOD" : "CREATE"));
	json_object_set_new(cmp, want_mod ? "mod_revision" : "create_revision", jstr64(want_mod));
	req = json_pack("{s[o] s[{so}]}", "compare", cmp, "success", "request_put", put);
	if (!req)
		return -ENOMEM;
	rc = call(e, "/v3/kv/txn", req, &rep);
	if (rc)
		return rc;
	if (rev)
		*rev = jint(json_object_get(rep, "header"), "revision");
	rc = json_is_true(json_object_get(rep, "succeeded")) ? 1 : 0;
	json_decref(rep);
	return rc;
}

int tg_etcd_delete(struct tg_etcd *e, const char *key, bool prefix, int64_t *rev)
{
	json_t *req = json_object(), *rep = NULL;
	int rc;

	if (!req || put_key(req, key, prefix)) {
		json_decref(req);
		return -ENOMEM;
	}
	rc = call(e, "/v3/kv/deleterange", req, &rep);
	if (!rc && rev)
		*rev = jint(json_object_get(rep, "header"), "revision");
	json_decref(rep);
	return rc;
}

int tg_etcd_delete_range(struct tg_etcd *e, const char *key, const char *end, int64_t *deleted)
{
	json_t *req = json_object(), *rep = NULL;
	char *k = b64_enc(key, strlen(key)), *ke = b64_enc(end, strlen(end));
	int rc = -ENOMEM;

	if (req && k && ke) {
		json_object_set_new(req, "key", json_string(k));
		json_object_set_new(req, "range_end", json_string(ke));
		rc = call(e, "/v3/kv/deleterange", req, &rep);
		if (!rc && deleted)
			*deleted = jint(rep, "deleted");
		json_decref(rep);
	} else {
		json_decref(req);
	}
	free(k);
	free(ke);
	return rc;
}

int tg_etcd_lease_grant(struct tg_etcd *e, int64_t ttl_s, int64_t *id)
{
	json_t *rep = NULL;
	int rc = call(e, "/v3/lease/grant", json_pack("{so}", "TTL", jstr64(ttl_s)), &rep);

	if (!rc) {
		*id = jint(rep, "ID");
		if (!*id) {
			snprintf(e->err, sizeof(e->err), "etcd: lease grant: no ID in the answer");
			rc = -EPROTO;
		}
	}
	json_decref(rep);
	return rc;
}

int tg_etcd_lease_keepalive(struct tg_etcd *e, int64_t id, int64_t *ttl)
{
	json_t *rep = NULL;
	int64_t left;
	int rc = call(e, "/v3/lease/keepalive", json_pack("{so}", "ID", jstr64(id)), &rep);

	if (rc)
		return rc;
	/* a stream of one message: {"result": {"ID": ..., "TTL": ...}}; TTL absent: gone */
	left = jint(json_object_get(rep, "result"), "TTL");
	json_decref(rep);
	if (ttl)
		*ttl = left;
	if (left <= 0) {
		snprintf(e->err, sizeof(e->err), "etcd: lease %" PRId64 " has expired", id);
		return -ENOENT;
	}
	return 0;
}

int tg_etcd_lease_revoke(struct tg_etcd *e, int64_t id)
{
	json_t *rep = NULL;
	int rc = call(e, "/v3/lease/revoke", json_pack("{so}", "ID", jstr64(id)), &rep);

	json_decref(rep);
	return rc;
}

/* ---- watch: a thread per watch, events through a queue and an eventfd ---- */

struct qnode {
	struct tg_etcd_event ev;
	struct qnode *next;
};

struct tg_etcd_watch {
	char **ep;
	size_t nep;
	char *ca, *cert, *key_file;
	char *key;
	bool prefix;
	int64_t next_rev; /* the revision to resume from */
	int efd;
	pthread_t th;
	bool started;
	volatile int stop;
	volatile int up;
	pthread_mutex_t lock;
	struct qnode *head, *tail;
	size_t qlen;
	/* the stream being read */
	char *buf;
	size_t len;
};

void tg_etcd_event_free(struct tg_etcd_event *ev)
{
	free(ev->kv.key);
	free(ev->kv.value);
	memset(ev, 0, sizeof(*ev));
}

/*
 * Queue an event (taking its memory). A reader that falls TG_ETCD_QUEUE_MAX events behind
 * gets one TG_ETCD_RESYNC instead of them: it reads the prefix again, which is what it
 * does after a compaction too, and later events still arrive.
 */
static void enqueue(struct tg_etcd_watch *w, struct tg_etcd_event *ev)
{
	struct qnode *n = malloc(sizeof(*n)), *q;
	uint64_t one = 1;

	if (!n) {
		tg_etcd_event_free(ev);
		return;
	}
	n->ev = *ev;
	n->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->qlen >= TG_ETCD_QUEUE_MAX) {
		while ((q = w->head)) {
			w->head = q->next;
			tg_etcd_event_free(&q->ev);
			free(q);
		}
		w->tail = NULL;
		w->qlen = 0;
		tg_etcd_event_free(&n->ev);
		n->ev.type = TG_ETCD_RESYNC;
		n->ev.rev = ev->rev;
	}
	if (w->tail)
		w->tail->next = n;
	else
		w->head = n;
	w->tail = n;
	w->qlen++;
	pthread_mutex_unlock(&w->lock);
	if (write(w->efd, &one, sizeof(one)) != sizeof(one)) {
		/* the counter is saturated: the reader is woken anyway */
	}
}

/* One message of the stream: {"result": {"events": [...], "compact_revision": ...}}. */
static int watch_msg(struct tg_etcd_watch *w, const json_t *m)
{
	const json_t *res = json_object_get(m, "result"), *x;
	size_t i;

	if (!res)
		return json_object_get(m, "error") ? -EPROTO : 0;
	if (jint(res, "compact_revision") > 0) {
		struct tg_etcd_event ev = {.type = TG_ETCD_RESYNC};

		/* what we missed is gone: the caller reads the whole prefix again */
		w->next_rev = 0;
		ev.rev = jint(json_object_get(res, "header"), "revision");
		enqueue(w, &ev);
		return -ESTALE;
	}
	json_array_foreach (json_object_get(res, "events"), i, x) {
		struct tg_etcd_event ev = {0};

		if (parse_kv(json_object_get(x, "kv"), &ev.kv))
			return -EPROTO;
		ev.type = json_is_string(json_object_get(x, "type")) &&
					  !strcmp(json_string_value(json_object_get(x, "type")),
						  "DELETE")
				  ? TG_ETCD_DELETE
				  : TG_ETCD_PUT;
		ev.rev = ev.kv.mod_rev;
		if (ev.rev < w->next_rev) { /* already delivered before a reconnection */
			tg_etcd_event_free(&ev);
			continue;
		}
		w->next_rev = ev.rev + 1;
		enqueue(w, &ev);
	}
	if (!w->next_rev)
		w->next_rev = jint(json_object_get(res, "header"), "revision") + 1;
	return 0;
}

/* The stream's bytes: concatenated JSON objects, each handled once it is complete. */
static size_t watch_data(char *p, size_t sz, size_t nm, void *arg)
{
	struct tg_etcd_watch *w = arg;
	size_t n = sz * nm, used;
	char *nb;

	if (w->stop)
		return 0;
	nb = realloc(w->buf, w->len + n + 1);
	if (!nb)
		return 0;
	w->buf = nb;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	w->buf[w->len] = '\0';
	for (;;) {
		json_error_t je;
		json_t *m;

		while (w->len && (w->buf[0] == '\n' || w->buf[0] == '\r' || w->buf[0] == ' ')) {
			memmove(w->buf, w->buf + 1, w->len--);
		}
		if (!w->len)
			break;
		m = json_loadb(w->buf, w->len, JSON_DISABLE_EOF_CHECK, &je);
		if (!m)
			break; /* incomplete: wait for more */
		used = (size_t)je.position;
		w->up = 1;
		if (watch_msg(w, m) == -ESTALE) {
			json_decref(m);
			return 0; /* reconnect from now */
		}
		json_decref(m);
		memmove(w->buf, w->buf + used, w->len - used + 1);
		w->len -= used;
	}
	return n;
}

static int watch_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct tg_etcd_watch *w = arg;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return w->stop ? 1 : 0;
}

static void *watch_thread(void *arg)
{
	struct tg_etcd_watch *w = arg;
	CURL *c = curl_easy_init();
	size_t ep = 0;
	unsigned backoff_ms = 100;

	while (c && !w->stop) {
		json_t *cr = json_object(), *req;
		char url[512], *data;
		struct curl_slist *hdr;

		put_key(cr, w->key, w->prefix);
		if (w->next_rev)
			json_object_set_new(cr, "start_revision", jstr64(w->next_rev));
		req = json_pack("{so}", "create_request", cr);
		data = req ? json_dumps(req, JSON_COMPACT) : NULL;
		json_decref(req);
		hdr = curl_slist_append(NULL, "Content-Type: application/json");
		snprintf(url, sizeof(url), "%s/v3/watch", w->ep[ep]);
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, data ? data : "{}");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_data);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
		/* a watch with nothing to say is silent: notice a dead peer by TCP keepalive */
		curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 5L);
		curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 2L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		set_http_only(c);
		set_tls(c, w->ca, w->cert, w->key_file);
		w->len = 0;
		curl_easy_perform(c);
		w->up = 0;
		free(data);
		curl_slist_free_all(hdr);
		if (w->stop)
			break;
		/* broken or refused: the next endpoint, after a short backoff (at most 2 s) */
		ep = (ep + 1) % w->nep;
		for (unsigned t = 0; t < backoff_ms && !w->stop; t += 50)
			usleep(50000);
		backoff_ms = backoff_ms < 2000 ? backoff_ms * 2 : 2000;
	}
	if (c)
		curl_easy_cleanup(c);
	return NULL;
}

int tg_etcd_watch_start(const struct tg_etcd_cfg *cfg, const char *key, bool prefix,
			int64_t start_rev, struct tg_etcd_watch **out)
{
	struct tg_etcd_watch *w = calloc(1, sizeof(*w));
	int rc;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->efd = -1;
	pthread_mutex_init(&w->lock, NULL);
	rc = copy_cfg(cfg, &w->ep, &w->nep, &w->ca, &w->cert, &w->key_file);
	if (!rc && !(w->key = strdup(key)))
		rc = -ENOMEM;
	w->prefix = prefix;
	w->next_rev = start_rev;
	if (!rc) {
		w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->efd < 0)
			rc = -errno;
	}
	if (!rc) {
		rc = -pthread_create(&w->th, NULL, watch_thread, w);
		w->started = rc == 0;
	}
	if (rc) {
		tg_etcd_watch_stop(w);
		return rc;
	}
	*out = w;
	return 0;
}

void tg_etcd_watch_stop(struct tg_etcd_watch *w)
{
	struct tg_etcd_event ev;

	if (!w)
		return;
	w->stop = 1;
	if (w->started)
		pthread_join(w->th, NULL);
	while (tg_etcd_watch_next(w, &ev) == 1)
		tg_etcd_event_free(&ev);
	if (w->efd >= 0)
		close(w->efd);
	pthread_mutex_destroy(&w->lock);
	free_strv(w->ep, w->nep);
	free(w->ca);
	free(w->cert);
	free(w->key_file);
	free(w->key);
	free(w->buf);
	free(w);
}

int tg_etcd_watch_fd(const struct tg_etcd_watch *w)
{
	return w->efd;
}

int tg_etcd_watch_next(struct tg_etcd_watch *w, struct tg_etcd_event *ev)
{
	struct qnode *n;
	uint64_t v;

	pthread_mutex_lock(&w->lock);
	n = w->head;
	if (n) {
		w->head = n->next;
		if (!w->head)
			w->tail = NULL;
		w->qlen--;
	}
	if (!w->head && read(w->efd, &v, sizeof(v)) < 0) {
		/* nothing was pending: the counter was already 0 */
	}
	pthread_mutex_unlock(&w->lock);
	if (!n)
		return 0;
	*ev = n->ev;
	free(n);
	return 1;
}

bool tg_etcd_watch_up(const struct tg_etcd_watch *w)
{
	return w->up != 0;
}
