// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_advice.c - advice on a valid configuration (tg_config_advice): not errors, things an
 * operator most likely wants to know (bursts too small for TCP, unbound customers behind a
 * strict interface, an exporter open beyond loopback without a token).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/*
 * Bursts too small for TCP: below rate x TG_TCP_BURST_MS a TCP flow falls back to its
 * retransmission timer after a policer drop and gets well under the rate (docs/policy.md,
 * "Burst sizing": 25-50 % measured). Advice, not an error: the configuration stays valid.
 */
#define TG_TCP_BURST_MS 200u

static bool burst_small(const struct tg_rate_cfg *r, uint64_t *want)
{
	*want = r->rate_bps / 8 * TG_TCP_BURST_MS / 1000;
	return r->rate_bps && r->burst_bytes < *want;
}

static bool iface_strict(const struct tg_iface_cfg *ic)
{
	return ic && ic->role == TG_ROLE_CUSTOMER && ic->antispoof == TG_AS_STRICT;
}

/*
 * Bindings (docs/policy.md, Bindings): unbound customers where an interface is strict, and
 * the upgrade notes for a customers file written when an empty vlan meant any VLAN and a
 * single tag any inner tag (layout 8 and before). The notes count only customers bound
 * to a strict interface: elsewhere the binding is not checked.
 */
static size_t binding_advice(const struct tg_cfg *cfg, char **msgs, size_t n, size_t max)
{
	const struct tg_iface_cfg *strict = NULL;
	size_t i, nstrict = 0, unbound = 0, untagged = 0, single = 0;
	uint16_t single_vid = 0;

	for (i = 0; i < cfg->nifaces; i++) {
		if (iface_strict(&cfg->ifaces[i])) {
			strict = strict ? strict : &cfg->ifaces[i];
			nstrict++;
		}
	}
	if (!strict)
		return n;
	for (i = 0; i < cfg->ncustomers; i++) {
		const struct tg_customer *cu = &cfg->customers[i];

		if (!cu->iface[0]) {
			unbound++;
		} else if (iface_strict(tg_config_iface(cfg, cu->iface))) {
			untagged += cu->vlan == TG_VLAN_UNTAGGED;
			if (cu->vlan != TG_VLAN_UNTAGGED && cu->vlan != TG_VLAN_ANY &&
			    cu->ivlan == TG_VLAN_UNTAGGED) {
				single_vid = single ? single_vid : cu->vlan;
				single++;
			}
		}
	}
	if (unbound && n < max &&
	    asprintf(&msgs[n],
		     "%s: %zu customers have no interface: strict anti-spoofing on %s%s drops "
		     "their traffic as spoof; bind them (interface and vlan columns) or set "
		     "antispoof: loose on the interfaces they send on",
		     cfg->customers_path, unbound, strict->name,
		     nstrict > 1 ? " and the other strict interfaces" : "") > 0)
		n++;
	if (untagged && n < max &&
	    asprintf(&msgs[n],
		     "%s: upgrade note: %zu customers bound to a strict interface have an empty "
		     "vlan, which now means untagged frames only (before layout 9: any VLAN, "
		     "tagged or not); write * in the vlan column for any VLAN",
		     cfg->customers_path, untagged) > 0)
		n++;
	if (single && n < max &&
	    asprintf(&msgs[n],
		     "%s: upgrade note: %zu customers bound to a strict interface have one VLAN "
		     "(e.g. %u), which now means exactly that one tag (before layout 9: any inner "
		     "tag too); write %u.* for any inner tag",
		     cfg->customers_path, single, single_vid, single_vid) > 0)
		n++;
	return n;
}

/* An exporter that listens beyond loopback without a token: anyone who reaches it reads
 * every customer's traffic. */
static size_t metrics_advice(const struct tg_cfg *cfg, char **msgs, size_t max)
{
	const char *l = cfg->metrics_listen;

	if (!max || !l || cfg->metrics_token_file || !strncmp(l, "127.", 4) ||
	    !strncmp(l, "[::1]:", 6))
		return 0;
	return asprintf(&msgs[0],
			"%s: metrics.listen %s is not loopback and metrics.token_file is not "
			"set: anyone who reaches it reads every customer's counters "
			"(docs/metrics.md, Metrics and API access)",
			cfg->path, l) > 0
		       ? 1
		       : 0;
}

/* A rule's exempt.customers id that is not in the CSV: the rule exempts nobody by it (a
 * typo, or a customer billing no longer exports); tollgated logs the same at each load. */
static size_t exempt_advice(const struct tg_cfg *cfg, char **msgs, size_t n, size_t max)
{
	for (size_t i = 0; i < cfg->enforcement.nrules; i++) {
		const struct tg_rule *r = &cfg->enforcement.rules[i];

		for (size_t k = 0; k < r->nexempt_ids && n < max; k++) {
			if (tg_config_customer(cfg, r->exempt_ids[k]) >= 0)
				continue;
			if (asprintf(&msgs[n],
				     "%s:%d: rule %s: exempt.customers: '%s' is not in %s: it "
				     "exempts nobody",
				     cfg->path, r->exempt_line, r->name, r->exempt_ids[k],
				     cfg->customers_path ? cfg->customers_path
							 : "the customers file") > 0)
				n++;
		}
	}
	return n;
}

size_t tg_config_advice(const struct tg_cfg *cfg, char **msgs, size_t max)
{
	static const char *const dirs[TG_DIR_NR] = {"upload", "download"};
	size_t n = 0, p, c, small_overrides = 0;
	uint64_t want;
	int d;

	for (p = 0; p < cfg->nplans; p++) {
		for (d = 0; d < TG_DIR_NR; d++) {
			const struct tg_rate_cfg *r = &cfg->plans[p].dir[d];

			if (n < max && burst_small(r, &want) &&
			    asprintf(&msgs[n],
				     "%s:%d: plan %s %s: burst %llu bytes is below rate x %u ms "
				     "(%llu bytes): TCP will get well under the rate "
				     "(docs/policy.md, Burst sizing)",
				     cfg->path, cfg->plans[p].line, cfg->plans[p].name, dirs[d],
				     (unsigned long long)r->burst_bytes, TG_TCP_BURST_MS,
				     (unsigned long long)want) > 0)
				n++;
		}
	}
	for (c = 0; c < cfg->ncustomers; c++) {
		const struct tg_customer *cu = &cfg->customers[c];
		const struct tg_plan *pl = cu->plan >= 0 ? &cfg->plans[cu->plan] : NULL;

		for (d = 0; d < TG_DIR_NR; d++) {
			/* the plan's own advice covers customers that do not override it */
			if (pl && memcmp(&cu->dir[d], &pl->dir[d], sizeof(cu->dir[d])) == 0)
				continue;
			if (burst_small(&cu->dir[d], &want)) {
				small_overrides++;
				break;
			}
		}
	}
	if (small_overrides && n < max &&
	    asprintf(&msgs[n], "%s: %zu customers override a rate with a burst below rate x %u ms",
		     cfg->customers_path, small_overrides, TG_TCP_BURST_MS) > 0)
		n++;
	n = binding_advice(cfg, msgs, n, max);
	n = exempt_advice(cfg, msgs, n, max);
	n += metrics_advice(cfg, msgs + n, max - n);
	return n;
}
