// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_cluster.c - the `cluster` section of tollgate.yaml: the etcd endpoints this node
 * shares its enforcement state with, its name, the key prefix, TLS and the timeouts
 * (user/cluster/ and the daemon act on it; docs/cluster.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "config_int.h"

/*
 * An etcd endpoint: http:// or https://, a host, a port, nothing after. Plain http only to
 * a loopback address (127.0.0.0/8, ::1, localhost): the enforcement state and the
 * operators' reasons would otherwise cross the network in clear and unauthenticated.
 * NULL if it is good, else what is wrong.
 */
static const char *endpoint_problem(const char *s)
{
	bool plain = !strncasecmp(s, "http://", 7);
	const char *p = plain ? s + 7 : s + 8, *why;
	char host[256];
	size_t hl;

	if (!plain && strncasecmp(s, "https://", 8))
		return "want http://HOST:PORT (loopback only) or https://HOST:PORT";
	why = webhook_problem(s);
	if (why)
		return why;
	hl = strcspn(p, "/?#");
	if (p[hl] && strcmp(p + hl, "/"))
		return "an endpoint is scheme://host:port, with no path";
	if (*p == '[') {
		hl = strcspn(p, "]");
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 1), p + 1);
	} else {
		hl = strcspn(p, ":/");
		snprintf(host, sizeof(host), "%.*s", (int)hl, p);
	}
	if (plain) {
		struct in_addr a4;

		if (!strcmp(host, "localhost") || !strcmp(host, "::1"))
			return NULL;
		if (inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127)
			return NULL;
		return "plain http is allowed only to loopback (127.0.0.0/8, ::1, localhost): "
		       "use https:// with cluster.ca (and cert and key if etcd asks for them)";
	}
	return NULL;
}

/* A PEM file the daemon reads (relative to the YAML file): a readable regular file. */
static void parse_pem(struct ctx *c, yaml_node_t *n, const char *what, char **out)
{
	struct stat sb;

	parse_path(c, n, what, false, out);
	if (!*out)
		return;
	if (stat(*out, &sb) || access(*out, R_OK))
		yerr(c, n, "%s '%s': %s", what, *out, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		yerr(c, n, "%s '%s': not a regular file", what, *out);
}

enum {
	CL_ENDPOINTS,
	CL_NODE,
	CL_PREFIX,
	CL_CA,
	CL_CERT,
	CL_KEY,
	CL_TIMEOUT,
	CL_HEARTBEAT,
	CL_START,
	CL_NR
};
static const char *const cl_keys[CL_NR] = {"endpoints", "node",	     "prefix",
					   "ca",	"cert",	     "key",
					   "timeout",	"heartbeat", "start_timeout"};

void parse_cluster(struct ctx *c, yaml_node_t *n)
{
	struct tg_cluster_cfg *cc = &c->cfg->cluster;
	yaml_node_t *v[CL_NR];
	const char *s, *env;

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "cluster"))
		return;
	map_keys(c, n, "cluster", cl_keys, CL_NR, v, NULL);
	cc->enabled = true;
	if (!v[CL_ENDPOINTS]) {
		yerr(c, n,
		     "cluster: 'endpoints' is required (etcd's client URLs, e.g. "
		     "[\"https://10.0.0.1:2379\"])");
	} else if (want(c, v[CL_ENDPOINTS], YAML_SEQUENCE_NODE, "cluster.endpoints")) {
		yaml_node_t *l = v[CL_ENDPOINTS];
		size_t cnt = (size_t)(l->data.sequence.items.top - l->data.sequence.items.start);

		if (!cnt || cnt > TG_CLUSTER_ENDPOINTS_MAX)
			yerr(c, l, "cluster.endpoints: 1 to %d URLs, not %zu",
			     TG_CLUSTER_ENDPOINTS_MAX, cnt);
		cc->endpoints = cnt ? calloc(cnt, sizeof(*cc->endpoints)) : NULL;
		if (cnt && !cc->endpoints)
			c->oom = 1;
		for (yaml_node_item_t *it = l->data.sequence.items.start;
		     cc->endpoints && it < l->data.sequence.items.top &&
		     cc->nendpoints < TG_CLUSTER_ENDPOINTS_MAX;
		     it++) {
			yaml_node_t *e = node(c, *it);
			const char *why;

			if (!e || !(s = nonempty(c, e, "cluster.endpoints: an endpoint")))
				continue;
			if ((why = endpoint_problem(s))) {
				yerr(c, e, "cluster.endpoints: '%s': %s", s, why);
				continue;
			}
			cc->endpoints[cc->nendpoints++] = xstrdup(c, s);
		}
	}
	if (v[CL_NODE] && (s = nonempty(c, v[CL_NODE], "cluster.node"))) {
		size_t l = strlen(s), ok = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
						     "TUVWXYZ0123456789._-");

		if (l > TG_CLUSTER_NODE_MAX || ok != l)
			yerr(c, v[CL_NODE],
			     "cluster.node '%s': 1 to %d letters, digits, '.', '_' or '-'", s,
			     TG_CLUSTER_NODE_MAX);
		else
			cc->node = xstrdup(c, s);
	}
	if (v[CL_PREFIX] && (s = nonempty(c, v[CL_PREFIX], "cluster.prefix"))) {
		size_t l = strlen(s);

		if (s[0] != '/' || l > 200 || strpbrk(s, " \t\r\n") || strstr(s, "//"))
			yerr(c, v[CL_PREFIX],
			     "cluster.prefix '%s': a key path like /tollgate/ (starts with '/', no "
			     "spaces, at most 200 characters)",
			     s);
		else {
			free(cc->prefix);
			if (asprintf(&cc->prefix, "%s%s", s, s[l - 1] == '/' ? "" : "/") < 0) {
				cc->prefix = NULL;
				c->oom = 1;
			}
		}
	}
	if (v[CL_CA])
		parse_pem(c, v[CL_CA], "cluster.ca", &cc->ca);
	if (v[CL_CERT])
		parse_pem(c, v[CL_CERT], "cluster.cert", &cc->cert);
	if (v[CL_KEY])
		parse_pem(c, v[CL_KEY], "cluster.key", &cc->key);
	if (!v[CL_CERT] != !v[CL_KEY])
		yerr(c, n,
		     "cluster: 'cert' and 'key' go together (the client certificate and "
		     "its private key)");
	if (v[CL_TIMEOUT])
		parse_ms(c, v[CL_TIMEOUT], "cluster.timeout", 100, 60000, "100ms to 60s",
			 &cc->timeout_ms);
	if (v[CL_HEARTBEAT])
		parse_ms(c, v[CL_HEARTBEAT], "cluster.heartbeat", 500, 60000, "500ms to 60s",
			 &cc->heartbeat_ms);
	if (v[CL_START])
		parse_ms(c, v[CL_START], "cluster.start_timeout", 1000, 3600000, "1s to 1h",
			 &cc->start_timeout_ms);
	env = getenv("TOLLGATE_NODE");
	if (!cc->node && env) { /* the unit's environment may name it */
		size_t l = strlen(env);

		if (!l || l > TG_CLUSTER_NODE_MAX ||
		    strspn(env,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
			    l)
			yerr(c, n,
			     "cluster: TOLLGATE_NODE '%.80s' is not a node name (1 to %d "
			     "letters, digits, '.', '_' or '-')",
			     env, TG_CLUSTER_NODE_MAX);
		else
			cc->node = xstrdup(c, env);
	}
	if (!cc->node) {
		char h[256] = "";

		if (gethostname(h, sizeof(h) - 1) || !h[0] || strlen(h) > TG_CLUSTER_NODE_MAX)
			yerr(c, n,
			     "cluster: no 'node' and the host name cannot be one: name this "
			     "node (cluster.node)");
		else
			cc->node = xstrdup(c, h);
	}
}
