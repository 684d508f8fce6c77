/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * etcd.h - a client of etcd's v3 API through its JSON gateway (grpc-gateway, served by
 * every etcd >= 3.3 on the client port), over libcurl: the shared state of a Tollgate
 * cluster lives in etcd (docs/cluster.md).
 *
 * Why the gateway and not gRPC: etcd's only maintained clients are Go's and Java's; a C
 * gRPC stack (grpc + protobuf-c) would be the largest dependency of a daemon that needs
 * six calls, while libcurl and jansson are already linked. The gateway maps each call one
 * to one (POST /v3/kv/range, /v3/kv/put, /v3/kv/txn, /v3/kv/deleterange, /v3/lease/...,
 * /v3/watch as a stream of JSON objects), with keys and values base64 and 64-bit numbers
 * as strings. TLS (a CA, a client certificate and key) is libcurl's.
 *
 * Unary calls go to the endpoint that answered last and move on to the next one when it
 * cannot be reached or has no leader, each within timeout_ms. A watch runs in its own
 * thread with its own connection, resumes from the revision after the last event it
 * delivered when the connection breaks (on any endpoint), and hands events to the caller
 * through a queue with a pollable descriptor, so the daemon's event loop never blocks on
 * the network. Functions return 0 (or 1 where said) or -errno; the last error's text is
 * tg_etcd_error().
 *
 * Included by: cluster.h (the door: other rooms include that) and etcd.c; the tests
 * (test_etcd).
 */
#ifndef TG_ETCD_H
#define TG_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tg_etcd_cfg {
	const char *const *endpoints; /* "http://127.0.0.1:2379", "https://10.0.0.1:2379" */
	size_t nendpoints;
	const char *ca, *cert, *key; /* PEM files, or NULL */
	uint32_t timeout_ms;	     /* per unary call and endpoint; 0: 2000 */
};

struct tg_etcd_kv {
	char *key;
	char *value; /* NUL-terminated as a convenience; vlen bytes */
	size_t vlen;
	int64_t create_rev, mod_rev, version, lease;
};

struct tg_etcd_kvs {
	struct tg_etcd_kv *kv;
	size_t n;
	int64_t rev; /* the store's revision when read */
};

struct tg_etcd;

int tg_etcd_open(const struct tg_etcd_cfg *cfg, struct tg_etcd **out, char *err, size_t errlen);
void tg_etcd_close(struct tg_etcd *e);
const char *tg_etcd_error(const struct tg_etcd *e);
/* The endpoint that answered the last call. */
const char *tg_etcd_endpoint(const struct tg_etcd *e);

/* Keys equal to key, or (prefix) starting with it; at revision rev (0: the latest). */
int tg_etcd_range(struct tg_etcd *e, const char *key, bool prefix, int64_t rev,
		  struct tg_etcd_kvs *out);
void tg_etcd_kvs_free(struct tg_etcd_kvs *k);

/* Write key (attached to lease, 0: none); *rev (may be NULL) is the new revision. */
int tg_etcd_put(struct tg_etcd *e, const char *key, const void *val, size_t len, int64_t lease,
		int64_t *rev);
/*
 * Compare and swap in one transaction: write key only if its mod_revision is still
 * want_mod (0: only if the key does not exist). 1: written, 0: the compare failed (another
 * writer came first; *rev is the store's revision), or -errno.
 */
int tg_etcd_cas(struct tg_etcd *e, const char *key, const void *val, size_t len, int64_t want_mod,
		int64_t lease, int64_t *rev);
int tg_etcd_delete(struct tg_etcd *e, const char *key, bool prefix, int64_t *rev);
/* Delete the keys in [key, end); *deleted: how many. 0 or -errno. */
int tg_etcd_delete_range(struct tg_etcd *e, const char *key, const char *end, int64_t *deleted);

int tg_etcd_lease_grant(struct tg_etcd *e, int64_t ttl_s, int64_t *id);
/* One keepalive: *ttl (may be NULL) is the time left, 0 if the lease is gone (-ENOENT). */
int tg_etcd_lease_keepalive(struct tg_etcd *e, int64_t id, int64_t *ttl);
int tg_etcd_lease_revoke(struct tg_etcd *e, int64_t id);

/* ---- watch ---- */

enum tg_etcd_ev_type {
	TG_ETCD_PUT = 0,
	TG_ETCD_DELETE,
	TG_ETCD_RESYNC, /* history compacted past where the watch was: read everything again */
};

struct tg_etcd_event {
	int type;
	struct tg_etcd_kv kv; /* key always; value and revisions for a put */
	int64_t rev;	      /* the event's revision (mod_rev for a put) */
};
void tg_etcd_event_free(struct tg_etcd_event *ev);

struct tg_etcd_watch;
/*
 * Watch key (or the prefix) from start_rev (0: from now). The events come in revision
 * order, each once, across reconnections.
 */
int tg_etcd_watch_start(const struct tg_etcd_cfg *cfg, const char *key, bool prefix,
			int64_t start_rev, struct tg_etcd_watch **out);
void tg_etcd_watch_stop(struct tg_etcd_watch *w);
/* Readable while events are queued (poll/epoll); read with tg_etcd_watch_next. */
int tg_etcd_watch_fd(const struct tg_etcd_watch *w);
/* The next queued event: 1 (*ev filled, free it), 0 if none now. */
int tg_etcd_watch_next(struct tg_etcd_watch *w, struct tg_etcd_event *ev);
/* Whether the watch's stream is up now (for health reporting). */
bool tg_etcd_watch_up(const struct tg_etcd_watch *w);

#endif /* TG_ETCD_H */
