// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_metrics.c - the `metrics` section of tollgate.yaml: the exporter's listen address,
 * per-customer series (all, top N, off), the Host names it answers to and its token file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "config_int.h"

/* ADDRESS:PORT with a literal address: "127.0.0.1:9477", "[::1]:9477", "0.0.0.0:9477". */
static bool valid_listen(const char *s)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	unsigned char a[16];
	size_t hl;
	unsigned long port;
	char *end;

	if (!colon || colon == s)
		return false;
	hl = (size_t)(colon - s);
	if (hl >= sizeof(host))
		return false;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return false;
	port = strtoul(colon + 1, &end, 10);
	if (!port || port > 65535)
		return false;
	if (host[0] == '[') {
		if (hl < 3 || host[hl - 1] != ']')
			return false;
		host[hl - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, a) == 1;
	}
	return inet_pton(AF_INET, host, a) == 1;
}

static bool valid_per_customer(const char *s)
{
	const char *d;

	if (!strcmp(s, "all") || !strcmp(s, "off"))
		return true;
	if (strncmp(s, "top ", 4))
		return false;
	d = s + 4;
	return *d && *d != '0' && strlen(d) <= 9 && strspn(d, "0123456789") == strlen(d);
}

enum { MT_LISTEN, MT_PER_CUSTOMER, MT_HOSTS, MT_TOKEN_FILE, MT_ALERT_TOKEN_FILE, MT_NR };
static const char *const mt_keys[MT_NR] = {"listen", "per_customer", "hosts", "token_file",
					   "alert_token_file"};

/*
 * metrics.hosts: the names (or addresses) HTTP clients reach the exporter by, beyond its
 * listen address; any other Host header is refused (DNS rebinding). metrics.token_file:
 * a file holding a bearer token that /metrics and /api/v1/ then require.
 */
static void parse_metrics_access(struct ctx *c, yaml_node_t *hosts, yaml_node_t *token)
{
	const char *s;

	if (hosts && !is_null(hosts) && want(c, hosts, YAML_SEQUENCE_NODE, "metrics.hosts")) {
		size_t cnt =
			(size_t)(hosts->data.sequence.items.top - hosts->data.sequence.items.start);

		c->cfg->metrics_hosts = calloc(cnt ? cnt : 1, sizeof(char *));
		if (!c->cfg->metrics_hosts) {
			c->oom = 1;
			return;
		}
		for (yaml_node_item_t *it = hosts->data.sequence.items.start;
		     it < hosts->data.sequence.items.top; it++) {
			yaml_node_t *h = node(c, *it);

			s = h ? nonempty(c, h, "a metrics.hosts entry") : NULL;
			if (!s)
				continue;
			if (strlen(s) > 253 || (strchr(s, ':') && s[0] != '[') ||
			    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567"
				      "89.-:[]") != strlen(s)) {
				yerr(c, h,
				     "metrics.hosts '%s': want a host name or address (letters, "
				     "digits, '.', '-', ':', '[', ']'), without a port",
				     s);
				continue;
			}
			c->cfg->metrics_hosts[c->cfg->nmetrics_hosts++] = xstrdup(c, s);
		}
	}
	if (token && (s = nonempty(c, token, "metrics.token_file"))) {
		free(c->cfg->metrics_token_file);
		c->cfg->metrics_token_file = resolve(c, s);
	}
}

void parse_metrics(struct ctx *c, yaml_node_t *n)
{
	yaml_node_t *v[MT_NR];
	const char *s;

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "metrics"))
		return;
	map_keys(c, n, "metrics", mt_keys, MT_NR, v, NULL);
	if (v[MT_LISTEN] && (s = nonempty(c, v[MT_LISTEN], "metrics.listen"))) {
		if (!valid_listen(s)) {
			yerr(c, v[MT_LISTEN],
			     "metrics.listen '%s': want ADDRESS:PORT (127.0.0.1:9477, [::1]:9477)",
			     s);
		} else {
			free(c->cfg->metrics_listen);
			c->cfg->metrics_listen = xstrdup(c, s);
		}
	}
	if (v[MT_PER_CUSTOMER] && (s = nonempty(c, v[MT_PER_CUSTOMER], "metrics.per_customer"))) {
		if (!valid_per_customer(s)) {
			yerr(c, v[MT_PER_CUSTOMER],
			     "metrics.per_customer '%s': want all, off, or top N (N >= 1)", s);
		} else {
			free(c->cfg->metrics_per_customer);
			c->cfg->metrics_per_customer = xstrdup(c, s);
		}
	}
	parse_metrics_access(c, v[MT_HOSTS], v[MT_TOKEN_FILE]);
	/* the Alertmanager webhook's token (docs/cluster.md, "Cluster-wide rules") */
	if (v[MT_ALERT_TOKEN_FILE] &&
	    (s = nonempty(c, v[MT_ALERT_TOKEN_FILE], "metrics.alert_token_file"))) {
		free(c->cfg->metrics_alert_token_file);
		c->cfg->metrics_alert_token_file = resolve(c, s);
	}
}
