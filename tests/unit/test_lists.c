// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_lists.c - the lists of tollgate_kern_user.h (drop reasons, flood classes, roles,
 * antispoof and XDP modes, states, the map set) and what is generated from them agree:
 * every member has a name, unique in its list, that parses back to it; every reason has
 * its rule metrics (<name>_pps, upload_<name>_pps, download_<name>_pps) and is listed in
 * the error for an unknown one; every flood class of a plan is a key of `flood:` that
 * lands in its own slot, every class a customer may override a customers.csv column;
 * the BPF object declares exactly the maps of TG_MAPS. docs/lists.md describes the lists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "config/config.h"
#include "datapath/datapath.h"
#include "lib/lib.h"
#include "testlib.h"

static char tmpdir[64], yaml_path[128], csv_path[128];

/* A name is a JSON key, a Prometheus label value and a word of tollgate.yaml: [a-z0-9_]. */
static bool plain(const char *s)
{
	return s && *s && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(s);
}

/* Names unique, plain, and parse(name(x)) == x through the list's own parser. */
static void check_list(const char *what, const char *const *names, int n,
		       int (*parse)(const char *, int *), const char *(*name_of)(int))
{
	TEST_BEGIN(what);
	for (int i = 0; i < n; i++) {
		int back = -1;

		CHECK(plain(names[i]));
		CHECK(!strcmp(name_of(i), names[i]));
		for (int j = 0; j < i; j++)
			CHECK(strcmp(names[i], names[j]));
		if (parse) {
			CHECK(parse(names[i], &back) == 0);
			CHECK_EQ_U64(back, i);
		}
	}
	CHECK(!strcmp(name_of(-1), "?"));
	CHECK(!strcmp(name_of(n), "?"));
	if (parse) {
		int v = 77;

		CHECK(parse("no-such-name", &v) == -EINVAL);
		CHECK(parse("", &v) == -EINVAL);
		CHECK_EQ_U64(v, 77); /* a bad name changes nothing */
	}
}

static void test_names(void)
{
	check_list("reasons", tg_reason_names, TG_R_NR, tg_reason_parse, tg_reason_name);
	check_list("roles", tg_role_names, TG_ROLE_NR, tg_role_parse, tg_role_name);
	check_list("antispoof", tg_antispoof_names, TG_AS_NR, tg_antispoof_parse,
		   tg_antispoof_name);
	check_list("modes", tg_mode_names, TG_MODE_NR, tg_mode_parse, tg_mode_name);
	check_list("states", tg_state_names, TG_ST_NR, tg_state_parse, tg_state_name);
	check_list("flood classes", tg_fclass_names, TG_FC_NR, NULL, tg_fclass_name);

	TEST_BEGIN("names of the layout's fixed members");
	/* what the counters and rules were called before the lists: the JSON keys, metric
	 * labels and tollgate.yaml words users have */
	CHECK(!strcmp(tg_reason_name(TG_R_RATE), "rate"));
	CHECK(!strcmp(tg_reason_name(TG_R_SPOOF), "spoof"));
	CHECK(!strcmp(tg_reason_name(TG_R_FLOOD_FRAG), "flood_frag"));
	CHECK(!strcmp(tg_reason_name(TG_R_EXCEPTION), "exception"));
	CHECK(!strcmp(tg_role_name(TG_ROLE_UPSTREAM), "upstream"));
	CHECK(!strcmp(tg_antispoof_name(TG_AS_OFF), "off"));
	CHECK(!strcmp(tg_mode_name(TG_MODE_GENERIC), "generic"));
	CHECK(!strcmp(tg_state_name(TG_ST_SUSPENDED), "suspended"));
	CHECK(!strcmp(tg_fclass_name(TG_FC_REFL), "reflection"));

	TEST_BEGIN("names joined for an error");
	{
		char buf[64];

		CHECK(!strcmp(TG_NAMES_JOIN(tg_antispoof_names, buf), "strict, loose or off"));
		CHECK(!strcmp(TG_NAMES_JOIN(tg_role_names, buf), "customer or upstream"));
	}
}

static void test_rule_metrics(void)
{
	char err[1024], name[64];
	size_t off;
	struct tg_cond c;

	TEST_BEGIN("every reason has its rule metrics");
	for (int r = 0; r < TG_R_NR; r++) {
		snprintf(name, sizeof(name), "%s_pps", tg_reason_name(r));
		CHECK_EQ_U64(tg_metric_lookup(name), TG_M_REASON_UP + r);
		CHECK(!strcmp(tg_metric_name(TG_M_REASON_UP + r), name));
		snprintf(name, sizeof(name), "upload_%s_pps", tg_reason_name(r));
		CHECK_EQ_U64(tg_metric_lookup(name), TG_M_REASON_UP + r);
		snprintf(name, sizeof(name), "download_%s_pps", tg_reason_name(r));
		CHECK_EQ_U64(tg_metric_lookup(name), TG_M_REASON_DOWN + r);
		CHECK(!strcmp(tg_metric_name(TG_M_REASON_DOWN + r), name));
	}

	TEST_BEGIN("rule metrics: every one named, uniquely");
	for (int m = 0; m < TG_M_NR; m++) {
		CHECK(plain(tg_metric_name(m)));
		CHECK_EQ_U64(tg_metric_lookup(tg_metric_name(m)), m);
		for (int k = 0; k < m; k++)
			CHECK(strcmp(tg_metric_name(m), tg_metric_name(k)));
	}

	TEST_BEGIN("an unknown metric's error lists every reason");
	CHECK(tg_cond_parse("spof_pps > 5", &c, err, sizeof(err), &off) != 0);
	CHECK_STR_CONTAINS(err, "REASON: rate, spoof, bogon, ");
	for (int r = 0; r < TG_R_NR; r++)
		CHECK_STR_CONTAINS(err, tg_reason_name(r));
	CHECK(!strstr(err, "REASON: ,"));

	TEST_BEGIN("flood_pps sums the drops of the classes both directions have");
	{
		struct tg_sample s = {};
		double want = 0;

		for (int r = 0; r < TG_R_NR; r++)
			s.drop_pps[TG_DIR_DOWN][r] = 1 << r;
		for (int fc = 0; fc < TG_FC_OWN_NR; fc++)
			want += 1 << tg_fclass_reasons[fc];
		CHECK(tg_metric_value(TG_M_DOWNLOAD_FLOOD_PPS, &s) == want);
		CHECK(tg_metric_value(TG_M_FLOOD_PPS, &s) == 0);
		CHECK(tg_metric_value(TG_M_DOWNLOAD_DROP_PPS, &s) == (1 << TG_R_NR) - 1);
	}
}

static void test_fclasses(void)
{
	bool in_plan[TG_FC_NR] = {false};

	TEST_BEGIN("flood classes: a plan's keys, a customer's own, their reasons");
	for (int i = 0; i < TG_FC_PLAN_NR; i++) {
		int fc = tg_fclass_plan[i];

		CHECK(fc >= 0 && fc < TG_FC_NR && !in_plan[fc]);
		if (fc >= 0 && fc < TG_FC_NR)
			in_plan[fc] = true;
	}
	for (int fc = 0; fc < TG_FC_NR; fc++) {
		int r = tg_fclass_reasons[fc];
		char want[32];

		/* every class but SMTP (the plan's smtp: policy) is a key of flood: */
		CHECK(in_plan[fc] == (fc != TG_FC_SMTP));
		CHECK(r >= 0 && r <= TG_R_NR);
		CHECK_EQ_U64(tg_fc_reason(fc), r); /* the data plane's */
		if (fc < TG_FC_OWN_NR) {
			snprintf(want, sizeof(want), "flood_%s", tg_fclass_name(fc));
			CHECK(!strcmp(tg_reason_name(r), want));
		}
	}
	CHECK_EQ_U64(tg_fclass_reasons[TG_FC_SMTP], TG_R_SMTP);
}

static int load(const char *yaml, const char *csv, struct tg_cfg **cfg, struct tg_errs *errs)
{
	tl_write_file(yaml_path, yaml);
	tl_write_file(csv_path, csv);
	memset(errs, 0, sizeof(*errs));
	*cfg = NULL;
	return tg_config_load(yaml_path, cfg, errs);
}

static bool errs_have(const struct tg_errs *e, const char *s)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msg[i], s))
			return true;
	return false;
}

/* tollgate.yaml's flood: keys and the CSV's columns, written from the lists, parsed. */
static void test_config_from_lists(void)
{
	char yaml[2048], csv[1024], hdr[256] = "id,plan,prefixes", row[256] = "a,p,10.0.0.0/24";
	int at = snprintf(yaml, sizeof(yaml),
			  "interfaces:\n  - { name: eth1, role: customer }\nplans:\n  p:\n"
			  "    flood:\n");
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	int err;

	/* class i of the plan's list at (i + 1) * 100 pps, burst i + 10 */
	for (int i = 0; i < TG_FC_PLAN_NR; i++)
		at += snprintf(yaml + at, sizeof(yaml) - (size_t)at,
			       "      %s: { rate: %dpps, burst: %d }\n",
			       tg_fclass_name(tg_fclass_plan[i]), (i + 1) * 100, i + 10);
	snprintf(yaml + at, sizeof(yaml) - (size_t)at, "customers: customers.csv\n");
	/* own class fc at (fc + 1) * 7 pps */
	for (int fc = 0; fc < TG_FC_OWN_NR; fc++) {
		snprintf(hdr + strlen(hdr), sizeof(hdr) - strlen(hdr), ",%s", tg_fclass_name(fc));
		snprintf(row + strlen(row), sizeof(row) - strlen(row), ",%d", (fc + 1) * 7);
	}
	snprintf(csv, sizeof(csv), "%s\n%s\n", hdr, row);

	TEST_BEGIN("config: every flood key of a plan lands in its class");
	err = load(yaml, csv, &cfg, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "  %s\n", errs.msg[i]);
	CHECK(err == 0 && cfg && cfg->nplans == 1 && cfg->ncustomers == 1);
	if (!err && cfg && cfg->nplans == 1 && cfg->ncustomers == 1) {
		const struct tg_flood_cfg *f = &cfg->plans[0].flood;

		for (int i = 0; i < TG_FC_PLAN_NR; i++) {
			CHECK_EQ_U64(f->pps[tg_fclass_plan[i]], (i + 1) * 100);
			CHECK_EQ_U64(f->burst[tg_fclass_plan[i]], i + 10);
		}
		CHECK_EQ_U64(f->pps[TG_FC_SMTP], 0);
		CHECK_EQ_U64(f->block_ns, TG_BLOCK_TIME_DEFAULT_NS); /* per_source alone */

		TEST_BEGIN("config: every own column of the CSV lands in its class");
		for (int fc = 0; fc < TG_FC_OWN_NR; fc++)
			CHECK_EQ_U64(cfg->customers[0].flood_pps[fc], (fc + 1) * 7);
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("config: the errors list the lists' names");
	err = load("interfaces:\n  - { name: eth1, role: sideways, mode: turbo, antispoof: no }\n"
		   "plans:\n  p:\n    flood: { smtp: 5pps }\ncustomers: customers.csv\n",
		   "id,plan,prefixes,bogus\n", &cfg, &errs);
	CHECK(err != 0);
	CHECK(errs_have(&errs, "role 'sideways': want customer or upstream"));
	CHECK(errs_have(&errs, "mode 'turbo': want native or generic"));
	CHECK(errs_have(&errs, "antispoof 'no': want strict, loose or off"));
	/* smtp is a class, but not a key of flood: (the plan's smtp: sets it) */
	CHECK(errs_have(&errs, "unknown key 'smtp' in plan 'p': flood (known: syn, udp, icmp, "
			       "frag, reflection, per_source, block_time)"));
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("config: an unknown CSV column's error lists the own classes");
	err = load("plans:\n  p: {}\ncustomers: customers.csv\n", "id,plan,prefixes,bogus\n", &cfg,
		   &errs);
	CHECK(err != 0);
	CHECK(errs_have(&errs, "download_burst, syn, udp, icmp, frag)"));
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

/* The BPF object declares exactly the maps of TG_MAPS, each tg_<name> of <= 15 chars. */
static void test_map_set(void)
{
#define MAP_NAME(n, size) "tg_" #n,
	static const char *const names[] = {TG_MAPS(MAP_NAME)};
#define MAP_SIZE(n, size) size,
	static const int sizes[] = {TG_MAPS(MAP_SIZE)};
	const size_t n = sizeof(names) / sizeof(names[0]);
	bool seen[sizeof(names) / sizeof(names[0])] = {false};
	struct bpf_object *obj;
	struct bpf_map *map;
	size_t found = 0;

	TEST_BEGIN("the map set: the BPF object's maps are TG_MAPS");
	obj = tg_bpf_open(NULL);
	CHECK(obj != NULL);
	if (!obj)
		return;
	bpf_object__for_each_map (map, obj) {
		const char *name = bpf_map__name(map);
		size_t i;

		if (bpf_map__is_internal(map))
			continue; /* .rodata, .bss: the program's globals */
		for (i = 0; i < n && strcmp(name, names[i]); i++)
			;
		if (i == n) {
			fprintf(stderr, "  map %s is not in TG_MAPS\n", name);
			CHECK(!"a map of the object is in TG_MAPS");
			continue;
		}
		CHECK(!seen[i]);
		seen[i] = true;
		found++;
		/* a per-customer map is declared with 1 entry: the loader sizes it */
		if (sizes[i] == TG_MS_CUST)
			CHECK_EQ_U64(bpf_map__max_entries(map), 1);
	}
	CHECK_EQ_U64(found, n);
	for (size_t i = 0; i < n; i++) {
		CHECK(strlen(names[i]) <= 15);
		if (!seen[i])
			fprintf(stderr, "  TG_MAPS has %s, the object does not\n", names[i]);
	}
	bpf_object__close(obj);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tg-test-lists.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(yaml_path, sizeof(yaml_path), "%s/tollgate.yaml", tmpdir);
	snprintf(csv_path, sizeof(csv_path), "%s/customers.csv", tmpdir);
	libbpf_set_print(NULL);

	test_names();
	test_rule_metrics();
	test_fclasses();
	test_config_from_lists();
	test_map_set();

	tl_rmtree(tmpdir);
	return test_summary();
}
