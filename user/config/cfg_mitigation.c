// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_mitigation.c - the `mitigation` section of tollgate.yaml: the BGP speaker Tollgate
 * announces through (GoBGP's API), the safety policy (monitor, the IPv6 length, the cap,
 * the longest announcement) and what a blackhole carries (communities, next hops).
 * user/mitigation/ and the daemon's mitigate.c act on it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "config_int.h"

enum {
	MI_SPEAKER,
	MI_GOBGP,
	MI_TARGET,
	MI_TIMEOUT,
	MI_MONITOR,
	MI_V6LEN,
	MI_MAX_ACTIVE,
	MI_MAX_DURATION,
	MI_COMMUNITIES,
	MI_NH4,
	MI_NH6,
	MI_NR
};
/* clang-format off */
static const char *const mi_keys[MI_NR] = {
	"speaker", "gobgp", "target", "timeout", "monitor", "ipv6_length", "max_active",
	"max_duration", "communities", "next_hop_ipv4", "next_hop_ipv6",
};
/* clang-format on */

/* "ASN:VALUE" with both parts 0..65535 (RFC 1997). */
static bool valid_community(const char *s)
{
	unsigned a, b;
	int n = 0;

	return strlen(s) < 24 && sscanf(s, "%u:%u%n", &a, &b, &n) == 2 && !s[n] && a <= 65535 &&
	       b <= 65535 && s[0] >= '0' && s[0] <= '9';
}

static void parse_next_hop(struct ctx *c, yaml_node_t *n, const char *what, int af, char *out)
{
	const char *s = nonempty(c, n, what);
	unsigned char a[16];

	if (!s)
		return;
	if (strlen(s) >= 48 || inet_pton(af, s, a) != 1)
		yerr(c, n, "%s '%s': want an %s address", what, s, af == AF_INET ? "IPv4" : "IPv6");
	else
		snprintf(out, 48, "%s", s);
}

void parse_mitigation(struct ctx *c, yaml_node_t *n)
{
	struct tg_mitigation_cfg *mc = &c->cfg->mitigation;
	yaml_node_t *v[MI_NR];
	const char *s;
	uint32_t x;

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "mitigation"))
		return;
	map_keys(c, n, "mitigation", mi_keys, MI_NR, v, NULL);
	mc->enabled = true;
	if (v[MI_SPEAKER] && (s = nonempty(c, v[MI_SPEAKER], "mitigation.speaker"))) {
		if (strcmp(s, "gobgp"))
			yerr(c, v[MI_SPEAKER],
			     "mitigation.speaker '%s': gobgp is the one supported", s);
	}
	if (v[MI_GOBGP] && (s = nonempty(c, v[MI_GOBGP], "mitigation.gobgp"))) {
		if (s[0] != '/') {
			yerr(c, v[MI_GOBGP], "mitigation.gobgp '%s' must be an absolute path", s);
		} else {
			free(mc->gobgp);
			mc->gobgp = xstrdup(c, s);
		}
	}
	if (!v[MI_TARGET]) {
		yerr(c, n,
		     "mitigation.target is required: gobgpd's API (unix:///run/gobgpd/gobgp.sock "
		     "or 127.0.0.1:50051)");
	} else if ((s = nonempty(c, v[MI_TARGET], "mitigation.target"))) {
		if (strlen(s) > 200 ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			      "0123456789:/._-[]") != strlen(s))
			yerr(c, v[MI_TARGET],
			     "mitigation.target '%s': want unix:///PATH or HOST:PORT", s);
		else
			mc->target = xstrdup(c, s);
	}
	if (v[MI_TIMEOUT]) {
		uint64_t ns = 0;

		if (!parse_dur(c, v[MI_TIMEOUT], "mitigation.timeout", false, &ns)) {
			if (ns < 100 * TG_NS_PER_MS || ns > 60 * TG_NS_PER_S)
				yerr(c, v[MI_TIMEOUT], "mitigation.timeout: want 100ms..60s");
			else
				mc->timeout_ms = (uint32_t)(ns / TG_NS_PER_MS);
		}
	}
	if (v[MI_MONITOR])
		parse_bool(c, v[MI_MONITOR], "mitigation.monitor", &mc->monitor);
	if (v[MI_V6LEN] && !parse_count(c, v[MI_V6LEN], "mitigation.ipv6_length", 128, &x)) {
		if (x <= 64)
			yerr(c, v[MI_V6LEN],
			     "mitigation.ipv6_length: %u: want 65..128 (longer than a customer's "
			     "/64: Tollgate announces hosts)",
			     x);
		else
			mc->ipv6_length = (uint8_t)x;
	}
	if (v[MI_MAX_ACTIVE] &&
	    !parse_count(c, v[MI_MAX_ACTIVE], "mitigation.max_active", 10000, &x))
		mc->max_active = x;
	if (v[MI_MAX_DURATION]) {
		uint64_t ns = 0;

		if (!parse_dur(c, v[MI_MAX_DURATION], "mitigation.max_duration", false, &ns)) {
			if (ns < TG_NS_PER_S || ns > 7ull * 86400 * TG_NS_PER_S)
				yerr(c, v[MI_MAX_DURATION], "mitigation.max_duration: want 1s..7d");
			else
				mc->max_duration_ns = ns;
		}
	}
	if (v[MI_COMMUNITIES] &&
	    want(c, v[MI_COMMUNITIES], YAML_SEQUENCE_NODE, "mitigation.communities")) {
		yaml_node_item_t *it;

		for (it = v[MI_COMMUNITIES]->data.sequence.items.start;
		     it < v[MI_COMMUNITIES]->data.sequence.items.top; it++) {
			yaml_node_t *e = yaml_document_get_node(c->doc, *it);

			s = e ? nonempty(c, e, "a mitigation.communities entry") : NULL;
			if (!s)
				continue;
			if (!valid_community(s))
				yerr(c, e,
				     "mitigation.communities '%s': want ASN:VALUE (64512:666)", s);
			else if (mc->ncommunities == TG_MIT_COMMS_MAX)
				yerr(c, e, "mitigation.communities: at most %d", TG_MIT_COMMS_MAX);
			else
				snprintf(mc->communities[mc->ncommunities++], 24, "%s", s);
		}
	}
	if (v[MI_NH4])
		parse_next_hop(c, v[MI_NH4], "mitigation.next_hop_ipv4", AF_INET, mc->next_hop4);
	if (v[MI_NH6])
		parse_next_hop(c, v[MI_NH6], "mitigation.next_hop_ipv6", AF_INET6, mc->next_hop6);
}
