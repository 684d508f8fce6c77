// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_capture.c - the `capture` section of tollgate.yaml: the evidence sample
 * (docs/enforcement.md, "Evidence"). enabled (default true; false: no capture is ever
 * armed, for jurisdictions that forbid keeping packets), packets (the packets of one
 * capture, 1..100, default 20), per_day (the packets stored per UTC day, all captures
 * together, 1..1000000, default 1000).
 */
#include "config_int.h"

enum { CA_ENABLED, CA_PACKETS, CA_PER_DAY, CA_NR };
static const char *const ca_keys[CA_NR] = {"enabled", "packets", "per_day"};

void parse_capture(struct ctx *c, yaml_node_t *n)
{
	struct tg_capture_cfg *cc = &c->cfg->capture;
	yaml_node_t *v[CA_NR];
	uint32_t x;

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "capture"))
		return;
	map_keys(c, n, "capture", ca_keys, CA_NR, v, NULL);
	if (v[CA_ENABLED])
		parse_bool(c, v[CA_ENABLED], "capture.enabled", &cc->enabled);
	if (v[CA_PACKETS] &&
	    !parse_count(c, v[CA_PACKETS], "capture.packets", TG_CAP_MAX_PACKETS, &x))
		cc->packets = x;
	if (v[CA_PER_DAY] && !parse_count(c, v[CA_PER_DAY], "capture.per_day", 1000000, &x))
		cc->per_day = x;
}
