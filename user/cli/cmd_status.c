// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_status.c - tollgate status, customer list|show, check-config. The read-only
 * commands read the pinned maps directly, so they work while the daemon is down.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>

#include "datapath/datapath.h"
#include "cli.h"
#include "lib/lib.h"
#include "state/state.h"

static int open_readonly(struct tg_maps *m)
{
	char dir[512];
	int err;

	err = tg_opts_pin_dir(dir, sizeof(dir));
	if (err)
		return err;
	err = tg_maps_open(dir, NULL, false, m);
	if (err == -ENOENT)
		tg_err("Tollgate is not loaded (nothing pinned at %s): tollgate attach IFACE role "
		       "...",
		       dir);
	return err;
}

/* ---- status ---- */

static void print_counter_line(const char *label, const json_t *c)
{
	char b[32];

	printf("    %-14s %12lld pkts %12s\n", label,
	       json_integer_value(json_object_get(c, "packets")),
	       tg_human_bytes(json_integer_value(json_object_get(c, "bytes")), b, sizeof(b)));
}

static void print_reasons(const char *prefix, const json_t *reasons)
{
	const char *name;
	json_t *c;
	char label[48];

	json_object_foreach ((json_t *)reasons, name, c) {
		if (json_integer_value(json_object_get(c, "packets")) == 0)
			continue;
		snprintf(label, sizeof(label), "%s %s", prefix, name);
		print_counter_line(label, c);
	}
}

static void print_would_drop(const json_t *reasons)
{
	const char *name;
	json_t *c;
	char label[48];

	json_object_foreach ((json_t *)reasons, name, c) {
		if (json_integer_value(json_object_get(c, "packets")) == 0)
			continue;
		snprintf(label, sizeof(label), "would drop %s", name);
		printf("    %-14s %12lld pkts (passed)\n", label,
		       json_integer_value(json_object_get(c, "packets")));
	}
}

static void print_status(const json_t *doc)
{
	const json_t *prog = json_object_get(doc, "program"),
		     *cu = json_object_get(doc, "customers");
	json_t *ifc;
	size_t i;

	printf("program     id %lld, layout v%lld, pinned at %s\n",
	       json_integer_value(json_object_get(prog, "id")),
	       json_integer_value(json_object_get(prog, "layout_version")),
	       json_string_value(json_object_get(doc, "pin_dir")));
	printf("customers   %lld loaded of %lld (%lld IPv4, %lld IPv6 prefixes)\n",
	       json_integer_value(json_object_get(cu, "loaded")),
	       json_integer_value(json_object_get(cu, "capacity")),
	       json_integer_value(json_object_get(cu, "prefixes_ipv4")),
	       json_integer_value(json_object_get(cu, "prefixes_ipv6")));
	{
		const json_t *t = json_object_get(doc, "tables"),
			     *c4 = json_object_get(t, "ipv4_chunks"),
			     *c6 = json_object_get(t, "ipv6_chunks"),
			     *n6 = json_object_get(t, "ipv6_nodes");

		printf("tables      IPv4 chunks %lld of %lld, IPv6 trie chunks %lld of %lld and "
		       "compare nodes %lld of %lld\n",
		       json_integer_value(json_object_get(c4, "used")),
		       json_integer_value(json_object_get(c4, "capacity")),
		       json_integer_value(json_object_get(c6, "used")),
		       json_integer_value(json_object_get(c6, "capacity")),
		       json_integer_value(json_object_get(n6, "used")),
		       json_integer_value(json_object_get(n6, "capacity")));
	}
	{
		const json_t *dm = json_object_get(doc, "daemon"),
			     *en = json_object_get(dm, "enforcement"),
			     *nt = json_object_get(dm, "notify");

		if (!json_is_true(json_object_get(dm, "running")))
			printf("tollgated   not running (no answer at %s): policing goes on, "
			       "enforcement rules do not\n",
			       json_string_value(json_object_get(dm, "socket")));
		else
			printf("tollgated   pid %lld, %lld rules every %lld ms (last took %.0f "
			       "ms), "
			       "%lld suspended, %lld throttled; notifications: %lld pending, %lld "
			       "failed attempts\n",
			       json_integer_value(json_object_get(dm, "pid")),
			       json_integer_value(json_object_get(en, "rules")),
			       json_integer_value(json_object_get(en, "interval_ms")),
			       json_real_value(json_object_get(en, "last_interval_work_ms")),
			       json_integer_value(json_object_get(en, "suspended")),
			       json_integer_value(json_object_get(en, "throttled")),
			       json_integer_value(json_object_get(nt, "pending")),
			       json_integer_value(json_object_get(nt, "failed_attempts")));
	}
	json_array_foreach (json_object_get(doc, "interfaces"), i, ifc) {
		const json_t *c = json_object_get(ifc, "counters");

		printf("\n%s (ifindex %lld): %s role, %s mode, antispoof %s%s%s%s%s\n",
		       json_string_value(json_object_get(ifc, "name")),
		       json_integer_value(json_object_get(ifc, "ifindex")),
		       json_string_value(json_object_get(ifc, "role")),
		       json_string_value(json_object_get(ifc, "mode")),
		       json_string_value(json_object_get(ifc, "antispoof")),
		       json_is_true(json_object_get(ifc, "monitor")) ? ", MONITOR (drops nothing)"
								     : "",
		       json_is_true(json_object_get(ifc, "attached")) ? "" : ", NOT ATTACHED (",
		       json_is_true(json_object_get(ifc, "attached"))
			       ? ""
			       : json_string_value(json_object_get(ifc, "state")),
		       json_is_true(json_object_get(ifc, "attached")) ? "" : ")");
		print_counter_line("passed", json_object_get(c, "passed"));
		print_counter_line("unclassified", json_object_get(c, "unclassified"));
		print_reasons("dropped", json_object_get(c, "dropped"));
		print_reasons("noted", json_object_get(c, "noted"));
	}
}

int cmd_status(int argc, char **argv)
{
	struct tg_maps m;
	json_t *doc, *daemon;

	(void)argv;
	if (argc != 0) {
		tg_err("usage: tollgate status");
		return 2;
	}
	if (open_readonly(&m))
		return 1;
	doc = tg_view_status(&m);
	if (!doc) {
		tg_err("status: cannot read the maps at %s", m.pin_dir);
		tg_maps_close(&m);
		return 1;
	}
	{ /* the daemon's health, if one answers */
		json_t *req = json_pack("{ss}", "command", "ping"), *reply = NULL;

		daemon = json_pack("{sb ss}", "running", 0, "socket", tg_ctl_path());
		if (!tg_ctl_call(tg_ctl_path(), req, &reply, 2000) &&
		    json_is_true(json_object_get(reply, "ok"))) {
			json_object_set_new(daemon, "running", json_true());
			json_object_set(daemon, "pid", json_object_get(reply, "pid"));
			json_object_set(daemon, "config", json_object_get(reply, "config"));
			json_object_set(daemon, "enforcement",
					json_object_get(reply, "enforcement"));
			json_object_set(daemon, "notify", json_object_get(reply, "notify"));
			if (json_object_get(reply, "cluster"))
				json_object_set(daemon, "cluster",
						json_object_get(reply, "cluster"));
		}
		json_decref(reply);
	}
	json_object_set_new(doc, "daemon", daemon);
	tg_print(doc, print_status);
	tg_maps_close(&m);
	return 0;
}

/* ---- customer ---- */

/* The fan-out sketches (upload): so far in the current enforcement interval, estimated. */
static void print_contacted(const json_t *fo)
{
	if (!json_is_object(fo))
		return;
	printf("    contacted      %lld hosts, %lld ports; smtp: %lld new connections to %lld "
	       "hosts; tcp: %lld SYNs, %lld unanswered (this interval, estimated)\n",
	       json_integer_value(json_object_get(fo, "fanout_hosts")),
	       json_integer_value(json_object_get(fo, "fanout_ports")),
	       json_integer_value(json_object_get(fo, "smtp_conns")),
	       json_integer_value(json_object_get(fo, "smtp_hosts")),
	       json_integer_value(json_object_get(fo, "tcp_syns")),
	       json_integer_value(json_object_get(fo, "unanswered_syns")));
}

static void print_customer_obj(const json_t *c)
{
	static const char *const dirs[] = {"upload", "download"};
	const json_t *b = json_object_get(c, "binding");
	const json_t *v = json_object_get(b, "vlan"), *iv = json_object_get(b, "inner_vlan");
	char r[32], bb[32];
	int d;

	printf("customer %s (index %lld): %s\n",
	       tg_esc(json_string_value(json_object_get(c, "id"))),
	       json_integer_value(json_object_get(c, "index")),
	       json_string_value(json_object_get(c, "state")));
	if (!json_is_string(json_object_get(b, "interface")))
		printf("    binding        none (spoof where anti-spoofing is strict)");
	else
		printf("    binding        %s", json_string_value(json_object_get(b, "interface")));
	if (json_is_string(json_object_get(b, "interface")) && json_is_null(v))
		printf(" untagged");
	if (json_is_string(v))
		printf(" any VLAN");
	if (json_is_integer(v))
		printf(" vlan %lld", json_integer_value(v));
	if (json_is_integer(v) && json_is_integer(iv))
		printf(".%lld", json_integer_value(iv));
	if (json_is_integer(v) && json_is_string(iv))
		printf(".*");
	printf("\n");
	for (d = 0; d < 2; d++) {
		const json_t *x = json_object_get(c, dirs[d]), *lim = json_object_get(x, "limit");

		if (json_is_object(lim)) {
			printf("  %s: limit %s, burst %s", dirs[d],
			       tg_human_bps(json_integer_value(json_object_get(lim, "rate_bps")), r,
					    sizeof(r)),
			       tg_human_bytes(
				       json_integer_value(json_object_get(lim, "burst_bytes")), bb,
				       sizeof(bb)));
			if (json_is_integer(json_object_get(lim, "peak_rate_bps")))
				printf("; peak %s, burst %s, yellow DSCP %lld",
				       tg_human_bps(json_integer_value(
							    json_object_get(lim, "peak_rate_bps")),
						    r, sizeof(r)),
				       tg_human_bytes(json_integer_value(json_object_get(
							      lim, "peak_burst_bytes")),
						      bb, sizeof(bb)),
				       json_integer_value(json_object_get(lim, "yellow_dscp")));
			printf("\n");
		} else
			printf("  %s: no limit\n", dirs[d]);
		print_counter_line("passed", json_object_get(x, "passed"));
		print_reasons("dropped", json_object_get(x, "dropped"));
		print_would_drop(json_object_get(x, "would_drop"));
		print_contacted(json_object_get(x, "contacted"));
	}
}

static void print_enforcement(const json_t *c);

/* "quota    upload 411200 of 300000 bytes (137.1 %), download none; day, until ..." */
static void print_quota(const json_t *q)
{
	static const char *const dirs[TG_DIR_NR] = {"upload", "download"};

	if (!json_is_object(q))
		return;
	printf("    quota         ");
	for (int d = 0; d < TG_DIR_NR; d++) {
		const json_t *x = json_object_get(q, dirs[d]);

		if (json_is_object(x))
			printf(" %s %lld of %lld bytes (%.1f %%),", dirs[d],
			       (long long)json_integer_value(json_object_get(x, "used_bytes")),
			       (long long)json_integer_value(json_object_get(x, "quota_bytes")),
			       json_real_value(json_object_get(x, "used_pct")));
		else
			printf(" %s none,", dirs[d]);
	}
	printf(" a %s from %s to %s\n", json_string_value(json_object_get(q, "period")),
	       json_string_value(json_object_get(q, "period_start")),
	       json_string_value(json_object_get(q, "period_end")));
}

static void print_customer(const json_t *doc)
{
	print_customer_obj(json_object_get(doc, "customer"));
	print_quota(json_object_get(json_object_get(doc, "customer"), "quota"));
	print_enforcement(json_object_get(doc, "customer"));
}

static void print_customer_list(const json_t *doc)
{
	json_t *c;
	size_t i;

	printf("%-24s %7s %-9s %12s %12s %12s %12s\n", "ID", "INDEX", "STATE", "UP PKTS",
	       "UP DROPS", "DOWN PKTS", "DOWN DROPS");
	json_array_foreach (json_object_get(doc, "customers"), i, c) {
		const json_t *u = json_object_get(c, "upload"),
			     *dn = json_object_get(c, "download");

		printf("%-24s %7lld %-9s %12lld %12lld %12lld %12lld\n",
		       tg_esc(json_string_value(json_object_get(c, "id"))),
		       json_integer_value(json_object_get(c, "index")),
		       json_string_value(json_object_get(c, "state")),
		       json_integer_value(json_object_get(json_object_get(u, "passed"), "packets")),
		       json_integer_value(
			       json_object_get(json_object_get(u, "dropped_total"), "packets")),
		       json_integer_value(
			       json_object_get(json_object_get(dn, "passed"), "packets")),
		       json_integer_value(
			       json_object_get(json_object_get(dn, "dropped_total"), "packets")));
	}
}

/*
 * The customer's enforcement state and its last events, from state.db: "enforcement"
 * (null when active) and "events". Left out, with a warning, if the database cannot be
 * read (the counters still show).
 */
static void add_enforcement(json_t *c, const char *id, const struct tg_maps *m, uint32_t idx)
{
	struct tg_statedb *st = NULL;
	struct tg_cust_counters cc;
	int err;

	if (tg_cli_state_open(&st))
		return;
	err = tg_view_customer_state(c, st, id);
	if (!err && !tg_read_cust(m, idx, &cc)) { /* the volume quota (tg_view_customer_quota) */
		uint64_t passed[TG_DIR_NR] = {cc.pass[TG_DIR_UP].bytes, cc.pass[TG_DIR_DOWN].bytes};

		err = tg_view_customer_quota(c, st, id, idx, passed, tg_now_ms());
	}
	tg_state_close(st);
	if (err)
		tg_warn("cannot read the enforcement state: %s", strerror(-err));
}

#define TEXT_EVENTS 5 /* events `customer show` prints: tollgate events shows them all */

static void print_enforcement(const json_t *c)
{
	const json_t *e = json_object_get(c, "enforcement"), *ev,
		     *evs = json_object_get(c, "events");
	size_t i, n = json_array_size(evs);

	if (json_is_object(e)) {
		const char *until = json_string_value(json_object_get(e, "until"));
		const char *rule = json_string_value(json_object_get(e, "rule"));

		printf("    enforcement    %s since %s, %s%s, by %s%s%s: %s\n",
		       json_string_value(json_object_get(e, "state")),
		       json_string_value(json_object_get(e, "since")), until ? "until " : "",
		       until ? until : "until lifted",
		       tg_esc(json_string_value(json_object_get(e, "actor"))),
		       rule ? ", rule " : "", rule ? tg_esc(rule) : "",
		       tg_esc(json_string_value(json_object_get(e, "reason"))));
	}
	json_array_foreach (evs, i, ev) {
		if (i + TEXT_EVENTS < n) /* the text shows the newest; -j and the API all */
			continue;
		printf("    event          %s %s by %s: %s\n",
		       json_string_value(json_object_get(ev, "time")),
		       json_string_value(json_object_get(ev, "action")),
		       tg_esc(json_string_value(json_object_get(ev, "actor"))),
		       tg_esc(json_string_value(json_object_get(ev, "reason"))));
	}
}

static int customer_show(int argc, char **argv)
{
	struct tg_maps m;
	json_t *c;
	__u32 idx;
	int lock;

	if (argc != 1) {
		tg_err("usage: tollgate customer show ID");
		return 2;
	}
	if (open_readonly(&m))
		return 1;
	/* under the writers' lock: the record and the enforcement table of one moment
	 * (tollgated writes both under it), and the index still this customer's */
	lock = tg_maps_lock(&m);
	idx = tg_find_customer(&m, argv[0]);
	if (!idx || tg_view_customer_read(&m, idx, argv[0], &c))
		c = NULL;
	if (c) {
		/* the API's rates are since its previous reading; a command has none */
		json_object_set_new(c, "rates", json_null());
		add_enforcement(c, argv[0], &m, idx);
	}
	tg_maps_unlock(lock);
	if (!c) {
		tg_err("customer %s: not loaded", argv[0]);
		tg_maps_close(&m);
		return 1;
	}
	tg_print(tg_view_doc("customer", c), print_customer);
	tg_maps_close(&m);
	return 0;
}

static int customer_list(int argc, char **argv)
{
	struct tg_maps m;
	char id[TG_ID_LEN];
	json_t *arr;
	__u32 i;

	(void)argv;
	if (argc != 0) {
		tg_err("usage: tollgate customer list");
		return 2;
	}
	if (open_readonly(&m))
		return 1;
	arr = json_array();
	for (i = 1; i < m.max_cust; i++) {
		json_t *c;

		if (bpf_map_lookup_elem(m.names, &i, id) || !id[0])
			continue;
		id[TG_ID_LEN - 1] = '\0';
		if (!tg_view_customer_read(&m, i, id, &c))
			json_array_append_new(arr, c);
	}
	tg_print(tg_view_doc("customers", arr), print_customer_list);
	tg_maps_close(&m);
	return 0;
}

int cmd_customer(int argc, char **argv)
{
	static const struct tg_cmd sub[] = {
		{"list", customer_list, "customer list"},
		{"show", customer_show, "customer show ID"},
		{NULL, NULL, NULL},
	};

	return tg_cmd_select(sub, argc, argv, "customer command");
}

/* ---- check-config ---- */

static void print_check(const json_t *doc)
{
	if (json_is_true(json_object_get(doc, "valid")))
		printf("%s: valid (%lld interfaces, %lld plans, %lld customers)\n",
		       json_string_value(json_object_get(doc, "file")),
		       json_integer_value(json_object_get(doc, "interfaces")),
		       json_integer_value(json_object_get(doc, "plans")),
		       json_integer_value(json_object_get(doc, "customers")));
}

int cmd_check_config(int argc, char **argv)
{
	const char *path = argc > 0 ? argv[0] : tg_opts.config ? tg_opts.config : TG_CONFIG_DEFAULT;
	struct tg_errs errs = {};
	struct tg_cfg *cfg = NULL;
	json_t *doc, *arr = json_array();
	size_t i;
	int err;

	if (argc > 1) {
		tg_err("usage: tollgate check-config [FILE]");
		return 2;
	}
	err = tg_config_load(path, &cfg, &errs);
	for (i = 0; i < errs.n; i++) {
		if (!tg_opts.json)
			fprintf(stderr, "%s\n", tg_esc(errs.msg[i]));
		json_array_append_new(arr, json_string(tg_esc(errs.msg[i])));
	}
	if (err && !errs.n)
		json_array_append_new(arr, json_string(strerror(-err)));
	doc = json_pack("{si ss sb so}", "version", TG_JSON_VERSION, "file", path, "valid", !err,
			"errors", arr);
	if (cfg) {
		json_object_set_new(doc, "interfaces", json_integer(cfg->nifaces));
		json_object_set_new(doc, "plans", json_integer(cfg->nplans));
		json_object_set_new(doc, "customers", json_integer(cfg->ncustomers));
	}
	if (err && !tg_opts.json)
		fprintf(stderr, "%s: %zu error%s\n", path, errs.n, errs.n == 1 ? "" : "s");
	if (cfg) {
		char *adv[64];
		size_t na = tg_config_advice(cfg, adv, 64), a;
		json_t *warn = json_array();

		for (a = 0; a < na; a++) {
			if (!tg_opts.json)
				tg_warn("%s", adv[a]);
			json_array_append_new(warn, json_string(adv[a]));
			free(adv[a]);
		}
		json_object_set_new(doc, "warnings", warn);
	}
	tg_print(doc, print_check);
	tg_errs_free(&errs);
	tg_config_free(cfg);
	return err ? 1 : 0;
}
