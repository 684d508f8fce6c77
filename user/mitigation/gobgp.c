// SPDX-License-Identifier: GPL-2.0-only
/*
 * gobgp.c - the GoBGP adapter (mitigation.h): gobgpd is driven through its own client,
 * `gobgp`, over its gRPC API (--target: a unix socket or host:port). One command per
 * call, argument vectors only (no shell), each bounded in time (lib/run.h). What gobgpd
 * carries is read back from `gobgp ... -j`.
 *
 *   blackhole   gobgp global rib -a ipv4 add 198.51.100.7/32 nexthop NH
 *                                         community 65535:666,C1,...
 *   flowspec    gobgp global rib -a ipv4-flowspec add match destination 198.51.100.7/32
 *                   [protocol 17] [source-port ==53 ==123] then discard | rate-limit B
 *
 * FlowSpec's traffic-rate is in bytes per second as a 32-bit float (RFC 8955 7.3): the
 * bit rate is divided by 8 here, and tg_mit_normalise() keeps rates a float represents
 * exactly, so a rule read back has the key it was announced with.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "mitigation.h"

struct gobgp {
	char path[256];
	char target[256];
	int timeout_ms;
};

#define MAX_ARGS 48
#define WORD 256 /* one argument: TG_MIT_COMMS communities of 23 characters fit */

static int run(struct gobgp *g, char **argv, char **out, char *err, size_t errlen)
{
	struct tg_run_result r;
	int rc = tg_run(argv, g->timeout_ms, &r);

	if (rc) {
		/* gobgp says why on stderr, or on stdout: the first line of either */
		char *why = *r.err ? r.err : (r.out ? r.out : ""), cmd[160] = "gobgp";
		size_t n = 5;

		why[strcspn(why, "\r\n")] = '\0';
		for (int i = 3; i < 9 && argv[i] && n < sizeof(cmd); i++)
			n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " %s", argv[i]);
		if (rc == -ENOENT)
			snprintf(err, errlen,
				 "cannot run %s: install GoBGP (gobgpd, gobgp) or set "
				 "mitigation.gobgp",
				 g->path);
		else if (rc == -ECHILD)
			snprintf(err, errlen, "%s (gobgpd at %s): exit status %d: %s", cmd,
				 g->target, WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1,
				 *why ? tg_esc(why) : "no message");
		else
			snprintf(err, errlen, "%s (gobgpd at %s): %s", cmd, g->target,
				 *why ? tg_esc(why) : strerror(-rc));
		free(r.out);
		return rc;
	}
	if (out)
		*out = r.out;
	else
		free(r.out);
	return 0;
}

/* argv = gobgp --target T global rib -a FAMILY (7 words) */
static int base(struct gobgp *g, char **argv, const char *family)
{
	argv[0] = g->path;
	argv[1] = "--target";
	argv[2] = g->target;
	argv[3] = "global";
	argv[4] = "rib";
	argv[5] = "-a";
	argv[6] = (char *)family;
	return 7;
}

static const char *family_of(const struct tg_mit *m)
{
	if (m->kind == TG_MIT_FLOWSPEC)
		return m->family == AF_INET6 ? "ipv6-flowspec" : "ipv4-flowspec";
	return m->family == AF_INET6 ? "ipv6" : "ipv4";
}

/* Words for an add or a del into argv from n (strings kept in buf). */
static int words(const struct tg_mit *m, const struct tg_mit_policy *pol, bool add, char **argv,
		 int n, char (*buf)[WORD])
{
	int b = 0;

	argv[n++] = add ? "add" : "del";
	if (m->kind == TG_MIT_BLACKHOLE) {
		char *c = buf[b++];
		size_t len;

		argv[n++] = tg_mit_prefix(m, buf[b++]);
		if (!add)
			return n;
		argv[n++] = "nexthop";
		argv[n++] = (char *)(m->family == AF_INET6 ? pol->next_hop6 : pol->next_hop4);
		argv[n++] = "community";
		/* 65535:666 and the configured ones, one comma-separated word */
		snprintf(c, WORD, "%s", TG_MIT_BLACKHOLE_COMM);
		len = strlen(c);
		for (unsigned i = 0; i < pol->ncomms && len < WORD; i++)
			len += (size_t)snprintf(c + len, WORD - len, ",%s", pol->comms[i]);
		argv[n++] = c;
		return n;
	}
	argv[n++] = "match";
	argv[n++] = "destination";
	argv[n++] = tg_mit_prefix(m, buf[b++]);
	if (m->proto) {
		argv[n++] = "protocol";
		snprintf(buf[b], WORD, "%u", m->proto);
		argv[n++] = buf[b++];
	}
	if (m->nsport) {
		argv[n++] = "source-port";
		for (unsigned i = 0; i < m->nsport; i++) {
			snprintf(buf[b], WORD, "==%u", m->sport[i]);
			argv[n++] = buf[b++];
		}
	}
	argv[n++] = "then";
	if (m->rate_bps) {
		argv[n++] = "rate-limit";
		snprintf(buf[b], WORD, "%llu", (unsigned long long)(m->rate_bps / 8));
		argv[n++] = buf[b++];
	} else {
		argv[n++] = "discard";
	}
	return n;
}

static int change(void *ctx, const struct tg_mit *m, const struct tg_mit_policy *pol, bool add,
		  char *err, size_t errlen)
{
	struct gobgp *g = ctx;
	char *argv[MAX_ARGS] = {0};
	char buf[24][WORD];
	int n = base(g, argv, family_of(m));

	n = words(m, pol, add, argv, n, buf);
	argv[n] = NULL;
	return run(g, argv, NULL, err, errlen);
}

static int gb_announce(void *ctx, const struct tg_mit *m, const struct tg_mit_policy *pol,
		       char *err, size_t errlen)
{
	return change(ctx, m, pol, true, err, errlen);
}

static int gb_withdraw(void *ctx, const struct tg_mit *m, const struct tg_mit_policy *pol,
		       char *err, size_t errlen)
{
	return change(ctx, m, pol, false, err, errlen);
}

static int set_prefix(struct tg_mit *m, const char *s)
{
	char a[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned long plen;

	if (!s || strlen(s) >= sizeof(a))
		return -EINVAL;
	strcpy(a, s);
	slash = strchr(a, '/');
	if (!slash)
		return -EINVAL;
	*slash++ = '\0';
	if (inet_pton(AF_INET, a, m->addr) == 1)
		m->family = AF_INET;
	else if (inet_pton(AF_INET6, a, m->addr) == 1)
		m->family = AF_INET6;
	else
		return -EINVAL;
	plen = strtoul(slash, &end, 10);
	if (end == slash || plen > (m->family == AF_INET ? 32u : 128u))
		return -EINVAL;
	m->plen = (uint8_t)plen;
	return 0;
}

/* One path of a unicast RIB: Tollgate's if it carries 65535:666. */
static bool blackhole_of(const char *prefix, json_t *path, struct tg_mit *m)
{
	json_t *attr;
	size_t i;

	memset(m, 0, sizeof(*m));
	m->kind = TG_MIT_BLACKHOLE;
	if (set_prefix(m, prefix))
		return false;
	json_array_foreach (json_object_get(path, "attrs"), i, attr) {
		json_t *c, *comms = json_object_get(attr, "communities");
		size_t k;

		json_array_foreach (comms, k, c)
			if (json_integer_value(c) == 0xFFFF029Aull) /* 65535:666 */
				return true;
	}
	return false;
}

/* One path of a FlowSpec RIB. false for a rule Tollgate cannot have made. */
static bool flowspec_of(json_t *path, struct tg_mit *m)
{
	json_t *c, *attr;
	size_t i;
	bool have_dst = false;

	memset(m, 0, sizeof(*m));
	m->kind = TG_MIT_FLOWSPEC;
	json_array_foreach (json_object_get(json_object_get(path, "nlri"), "value"), i, c) {
		json_int_t type = json_integer_value(json_object_get(c, "type"));
		json_t *v = json_object_get(c, "value"), *item;
		size_t k;

		switch (type) {
		case 1: /* destination prefix */
			if (set_prefix(m, json_string_value(json_object_get(v, "prefix"))))
				return false;
			have_dst = true;
			break;
		case 3: /* ip protocol */
			if (json_array_size(v) != 1)
				return false;
			m->proto = (uint8_t)json_integer_value(
				json_object_get(json_array_get(v, 0), "value"));
			break;
		case 6: /* source port */
			json_array_foreach (v, k, item) {
				if (m->nsport == TG_MIT_PORTS)
					return false;
				m->sport[m->nsport++] = (uint16_t)json_integer_value(
					json_object_get(item, "value"));
			}
			break;
		default:
			return false;
		}
	}
	json_array_foreach (json_object_get(path, "attrs"), i, attr) {
		json_t *e;
		size_t k;

		if (json_integer_value(json_object_get(attr, "type")) != 16)
			continue;
		json_array_foreach (json_object_get(attr, "value"), k, e)
			if (json_integer_value(json_object_get(e, "type")) == 128 &&
			    json_integer_value(json_object_get(e, "subtype")) == 6)
				m->rate_bps =
					(uint64_t)(json_number_value(json_object_get(e, "rate")) *
						   8);
	}
	tg_mit_normalise(m);
	return have_dst;
}

static int gb_list(void *ctx, struct tg_mit **out, size_t *n, char *err, size_t errlen)
{
	static const char *const fams[] = {"ipv4", "ipv6", "ipv4-flowspec", "ipv6-flowspec"};
	struct gobgp *g = ctx;
	struct tg_mit *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0;

	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		char *argv[MAX_ARGS] = {0}, *txt = NULL;
		int k = base(g, argv, fams[f]);
		json_error_t je;
		json_t *root, *paths;
		const char *key;

		argv[k++] = "-j";
		rc = run(g, argv, &txt, err, errlen);
		if (rc)
			break;
		root = json_loads(txt, JSON_DECODE_ANY, &je);
		free(txt);
		if (!json_is_object(root)) {
			json_decref(root);
			snprintf(err, errlen, "gobgp global rib -a %s -j: not a JSON object (%s)",
				 fams[f], je.text);
			rc = -EPROTO;
			break;
		}
		json_object_foreach (root, key, paths) {
			json_t *p;
			size_t i;

			json_array_foreach (paths, i, p) {
				struct tg_mit m;
				bool ours = f < 2 ? blackhole_of(key, p, &m) : flowspec_of(p, &m);

				if (!ours || !json_is_true(json_object_get(p, "best")))
					continue;
				if (cnt == cap) {
					struct tg_mit *nv;

					cap = cap ? cap * 2 : 16;
					nv = realloc(v, cap * sizeof(*v));
					if (!nv) {
						json_decref(root);
						free(v);
						snprintf(err, errlen, "out of memory");
						return -ENOMEM;
					}
					v = nv;
				}
				v[cnt++] = m;
			}
		}
		json_decref(root);
	}
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static int gb_peers(void *ctx, struct tg_bgp_peer **out, size_t *n, char *err, size_t errlen)
{
	struct gobgp *g = ctx;
	char *argv[] = {g->path, "--target", g->target, "neighbor", "-j", NULL};
	char *txt = NULL;
	json_error_t je;
	json_t *root, *nb;
	struct tg_bgp_peer *v;
	size_t i;
	int rc = run(g, argv, &txt, err, errlen);

	if (rc)
		return rc;
	root = json_loads(txt, JSON_DECODE_ANY, &je);
	free(txt);
	if (!json_is_array(root)) {
		/* gobgp prints null when it has no neighbour */
		if (json_is_null(root)) {
			json_decref(root);
			*out = NULL;
			*n = 0;
			return 0;
		}
		json_decref(root);
		snprintf(err, errlen, "gobgp neighbor -j: not a JSON array");
		return -EPROTO;
	}
	v = calloc(json_array_size(root) + 1, sizeof(*v));
	if (!v) {
		json_decref(root);
		return -ENOMEM;
	}
	json_array_foreach (root, i, nb) {
		json_t *conf = json_object_get(nb, "conf"), *st = json_object_get(nb, "state");

		snprintf(v[i].addr, sizeof(v[i].addr), "%s",
			 json_string_value(json_object_get(conf, "neighbor_address")) ?: "?");
		v[i].asn = (uint32_t)json_integer_value(json_object_get(conf, "peer_asn"));
		/* apipb.PeerState_SessionState: 6 is ESTABLISHED */
		v[i].up = json_integer_value(json_object_get(st, "session_state")) == 6;
	}
	*n = json_array_size(root);
	*out = v;
	json_decref(root);
	return 0;
}

static void gb_close(void *ctx)
{
	free(ctx);
}

static const struct tg_bgp_ops gobgp_ops = {
	.name = "gobgp",
	.announce = gb_announce,
	.withdraw = gb_withdraw,
	.list = gb_list,
	.peers = gb_peers,
	.close = gb_close,
};

int tg_bgp_gobgp(struct tg_bgp *b, const char *path, const char *target, int timeout_ms)
{
	struct gobgp *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	if (snprintf(g->path, sizeof(g->path), "%s", path && *path ? path : "gobgp") >=
		    (int)sizeof(g->path) ||
	    snprintf(g->target, sizeof(g->target), "%s", target) >= (int)sizeof(g->target)) {
		free(g);
		return -ENAMETOOLONG;
	}
	g->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	b->ops = &gobgp_ops;
	b->ctx = g;
	return 0;
}
