// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_ifaces.c - the `interfaces` section of tollgate.yaml (name, role, mode, antispoof,
 * monitor, exceptions, vlan_protocol, force) and the lookup of a configured interface by
 * name (tg_config_iface), which the customers CSV's bindings are checked against.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"

enum {
	IF_NAME,
	IF_ROLE,
	IF_MODE,
	IF_ANTISPOOF,
	IF_MONITOR,
	IF_EXC,
	IF_VLAN_PROTO,
	IF_FORCE,
	IF_NR
};
static const char *const if_keys[IF_NR] = {"name",    "role",	    "mode",	     "antispoof",
					   "monitor", "exceptions", "vlan_protocol", "force"};

/* What the kernel accepts as a netdev name (dev_valid_name()). */
static const char *ifname_problem(const char *s)
{
	if (!*s)
		return "is empty";
	if (strlen(s) >= IFNAMSIZ)
		return "is longer than 15 characters (IFNAMSIZ)";
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return "is not a valid interface name";
	for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
		if (*u == '/' || *u == ':' || *u <= ' ' || *u == 0x7f)
			return "is not a valid interface name (no '/', ':' or white space)";
	}
	return NULL;
}

static void parse_iface(struct ctx *c, yaml_node_t *n)
{
	struct tg_cfg *cfg = c->cfg;
	struct tg_iface_cfg ic = {.mode = TG_MODE_NATIVE, .antispoof = TG_AS_STRICT};
	yaml_node_t *v[IF_NR];
	const char *s, *name = NULL;
	const char *bad;
	char opts[64]; /* the names of a list, for an error */

	if (!want(c, n, YAML_MAPPING_NODE, "an entry of interfaces"))
		return;
	ic.line = (int)n->start_mark.line + 1;
	map_keys(c, n, "an interface", if_keys, IF_NR, v, NULL);

	if (!v[IF_NAME]) {
		yerr(c, n, "interface without a name");
	} else if ((s = scalar(c, v[IF_NAME], "interface name"))) {
		if ((bad = ifname_problem(s)))
			yerr(c, v[IF_NAME], "interface name '%s' %s", s, bad);
		else
			name = s;
	}
	if (name) {
		const struct tg_iface_cfg *dup = tg_config_iface(cfg, name);

		if (dup) {
			yerr(c, v[IF_NAME], "interface '%s' is listed twice (first on line %d)",
			     name, dup->line);
			name = NULL;
		}
	}

	if (!v[IF_ROLE]) {
		yerr(c, n, "interface%s%s%s: role is required (%s)", name ? " '" : "",
		     name ? name : "", name ? "'" : "", TG_NAMES_JOIN(tg_role_names, opts));
	} else if ((s = scalar(c, v[IF_ROLE], "role")) && tg_role_parse(s, &ic.role)) {
		yerr(c, v[IF_ROLE], "role '%s': want %s", s, TG_NAMES_JOIN(tg_role_names, opts));
	}
	if (v[IF_MODE] && (s = scalar(c, v[IF_MODE], "mode")) && tg_mode_parse(s, &ic.mode))
		yerr(c, v[IF_MODE], "mode '%s': want %s", s, TG_NAMES_JOIN(tg_mode_names, opts));
	if (v[IF_ANTISPOOF] && (s = scalar(c, v[IF_ANTISPOOF], "antispoof"))) {
		if (tg_antispoof_parse(s, &ic.antispoof))
			yerr(c, v[IF_ANTISPOOF], "antispoof '%s': want %s", s,
			     TG_NAMES_JOIN(tg_antispoof_names, opts));
		if (ic.role == TG_ROLE_UPSTREAM)
			yerr(c, v[IF_ANTISPOOF], "antispoof applies to the customer role only");
	}
	if (ic.role == TG_ROLE_UPSTREAM)
		ic.antispoof = TG_AS_OFF;
	if (v[IF_MONITOR])
		parse_bool(c, v[IF_MONITOR], "monitor", &ic.monitor);
	if (ic.role == TG_ROLE_CUSTOMER)
		ic.exc_pps = TG_EXC_PPS_DEFAULT;
	if (v[IF_EXC]) {
		s = v[IF_EXC]->type == YAML_SCALAR_NODE ? (const char *)v[IF_EXC]->data.scalar.value
							: NULL;
		if (ic.role != TG_ROLE_CUSTOMER)
			yerr(c, v[IF_EXC], "exceptions applies to the customer role only");
		else if (s && !strcmp(s, "off"))
			ic.exc_pps = 0;
		else {
			char what[IFNAMSIZ + 32];

			snprintf(what, sizeof(what), "interface '%s': exceptions",
				 name ? name : "?");
			parse_flood_value(c, v[IF_EXC], what, &ic.exc_pps, &ic.exc_burst);
		}
	}
	if (v[IF_VLAN_PROTO] && (s = scalar(c, v[IF_VLAN_PROTO], "vlan_protocol"))) {
		if (!strcmp(s, "802.1q"))
			ic.vlan_proto = TG_IFF_VLAN_Q;
		else if (!strcmp(s, "802.1ad"))
			ic.vlan_proto = TG_IFF_VLAN_AD;
		else if (strcmp(s, "any"))
			yerr(c, v[IF_VLAN_PROTO], "vlan_protocol '%s': want 802.1q, 802.1ad or any",
			     s);
		if (ic.role == TG_ROLE_UPSTREAM)
			yerr(c, v[IF_VLAN_PROTO],
			     "vlan_protocol applies to the customer role only");
	}
	if (v[IF_FORCE])
		parse_bool(c, v[IF_FORCE], "force", &ic.force);

	if (!name)
		return;
	snprintf(ic.name, sizeof(ic.name), "%s", name);
	cfg->ifaces[cfg->nifaces++] = ic;
}

void parse_ifaces(struct ctx *c, yaml_node_t *n)
{
	size_t cnt;

	if (is_null(n) || !want(c, n, YAML_SEQUENCE_NODE, "interfaces"))
		return;
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt > TG_MAX_IFACES) {
		yerr(c, n, "%zu interfaces: at most %u can be attached", cnt, TG_MAX_IFACES);
		return;
	}
	c->cfg->ifaces = calloc(cnt ? cnt : 1, sizeof(*c->cfg->ifaces));
	if (!c->cfg->ifaces) {
		c->oom = 1;
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++)
		parse_iface(c, node(c, *it));
}

const struct tg_iface_cfg *tg_config_iface(const struct tg_cfg *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nifaces; i++) {
		if (!strcmp(cfg->ifaces[i].name, name))
			return &cfg->ifaces[i];
	}
	return NULL;
}
