// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_config.c - the configuration layer: the unit parsers, tollgate.yaml and the
 * customers CSV, good and bad. Every error is checked with the exact line (and column
 * for YAML) it must name. Files are written to a mkdtemp directory removed at the end.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include "config/config.h"
#include "datapath/maps.h" /* tg_policer_params: what the sync writes */
#include "testlib.h"

static char tmpdir[64];
static char yaml_path[128], csv_path[128];

/* The first message that contains needle, or NULL. */
static const char *find_err(const struct tg_errs *e, const char *needle)
{
	for (size_t i = 0; i < e->n; i++) {
		if (strstr(e->msg[i], needle))
			return e->msg[i];
	}
	return NULL;
}

static void dump_errs(const struct tg_errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "    | %s\n", e->msg[i]);
}

/* An error at `where` (e.g. "customers.csv:4: field 'vlan'") that says `what`. */
#define CHECK_ERR(errs, where, what)                                                               \
	do {                                                                                       \
		const char *__m = find_err((errs), (where));                                       \
		CHECK_STR_CONTAINS(__m, (where));                                                  \
		if (__m)                                                                           \
			CHECK_STR_CONTAINS(__m, (what));                                           \
		else                                                                               \
			dump_errs(errs);                                                           \
	} while (0)

/* The lines joined, each ending in a newline (malloc'd). */
static char *join_lines(const char *const *l, size_t n)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(l[i]) + 1;
	s = p = malloc(len);
	if (!s)
		abort();
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(l[i]);

		memcpy(p, l[i], k);
		p[k] = '\n';
		p += k + 1;
	}
	*p = '\0';
	return s;
}

/* Write tollgate.yaml and customers.csv (unless csv is NULL), then load. */
static int load(const char *yaml, const char *csv, struct tg_cfg **cfg, struct tg_errs *errs)
{
	tl_write_file(yaml_path, yaml);
	if (csv)
		tl_write_file(csv_path, csv);
	memset(errs, 0, sizeof(*errs));
	return tg_config_load(yaml_path, cfg, errs);
}

/* Lines: 1..12; plans home-100 (2), biz-1g (3), free (4); interfaces eth1 (customer), eth0. */
#define BASE_YAML                                                                                  \
	"interfaces:\n"                                                                            \
	"  - { name: eth1, role: customer }\n"                                                     \
	"  - { name: eth0, role: upstream }\n"                                                     \
	"plans:\n"                                                                                 \
	"  home-100:\n"                                                                            \
	"    upload: { rate: 20mbit, burst: 256k }\n"                                              \
	"    download: { rate: 100mbit, burst: 1m, peak_rate: 200mbit, peak_burst: 2m }\n"         \
	"  biz-1g:\n"                                                                              \
	"    upload: { rate: 1gbit, burst: 4m }\n"                                                 \
	"    download: { rate: 1gbit, burst: 4m }\n"                                               \
	"  free: {}\n"                                                                             \
	"customers: customers.csv\n"

#define CSV_HDR "id,name,plan,prefixes,interface,vlan\n"
#define CSV_HDR_OVR "id,name,plan,prefixes,interface,vlan,upload_rate,upload_burst,download_rate"

/* ---- units ---- */

static void test_rate(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{"100mbit", 100000000ull},
		{"1gbit", 1000000000ull},
		{"2.5g", 2500000000ull},
		{"2.5G", 2500000000ull},
		{"64kbit", 64000ull},
		{"1000000", 1000000ull},
		{"10Mbps", 10000000ull},
		{"1tbit", 1000000000000ull},
		{"1.5kbit", 1500ull},
		{"500bit", 500ull},
		{"1bps", 1ull},
		{"0.001k", 1ull},
		{"18446744073709551615", UINT64_MAX},
	};
	static const char *const bad[] = {
		"0",	     "0mbit", "-1m", "",    "abc", "10x", "1.2.3m", "18446744073709551616",
		"20000000t", "mbit",  " 1m", "1m ", "1.m", ".5m", "1 mbit", "1kb",
		"+5m",	     "1e6",
	};
	uint64_t v;

	TEST_BEGIN("tg_parse_rate_bps good");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 0;
		CHECK(tg_parse_rate_bps(good[i].s, &v) == 0);
		CHECK_EQ_U64(v, good[i].v);
	}
	TEST_BEGIN("tg_parse_rate_bps bad: zero, negative, garbage, overflow");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		if (tg_parse_rate_bps(bad[i], &v) != -EINVAL)
			fprintf(stderr, "    accepted rate '%s'\n", bad[i]);
		CHECK_EQ_U64(v, 42);
	}
	CHECK(tg_parse_rate_bps(NULL, &v) == -EINVAL);
}

static void test_size(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{"64k", 65536},	     {"1m", 1048576},	   {"1500", 1500},
		{"2kb", 2048},	     {"1KiB", 1024},	   {"1g", 1ull << 30},
		{"3b", 3},	     {"1.5k", 1536},	   {"0", 0},
		{"2MB", 2ull << 20}, {"4gib", 4ull << 30},
	};
	static const char *const bad[] = {"",	   "1x", "-1",	"17179869184g",
					  "1kbit", "k",	 "1 k", "1t"};
	uint64_t v;

	TEST_BEGIN("tg_parse_size_bytes good (1024-based)");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 42;
		CHECK(tg_parse_size_bytes(good[i].s, &v) == 0);
		CHECK_EQ_U64(v, good[i].v);
	}
	TEST_BEGIN("tg_parse_size_bytes bad");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tg_parse_size_bytes(bad[i], &v) != -EINVAL) {
			fprintf(stderr, "    accepted size '%s'\n", bad[i]);
			CHECK(0);
		}
	}
}

static void test_pps(void)
{
	static const char *const bad[] = {"0", "0pps", "pps", "5ppx", "-5", "", "5 pps", "1g"};
	uint64_t v;

	TEST_BEGIN("tg_parse_pps good");
	CHECK(tg_parse_pps("500pps", &v) == 0);
	CHECK_EQ_U64(v, 500);
	CHECK(tg_parse_pps("20kpps", &v) == 0);
	CHECK_EQ_U64(v, 20000);
	CHECK(tg_parse_pps("1000", &v) == 0);
	CHECK_EQ_U64(v, 1000);
	CHECK(tg_parse_pps("1.5kpps", &v) == 0);
	CHECK_EQ_U64(v, 1500);
	CHECK(tg_parse_pps("2M", &v) == 0);
	CHECK_EQ_U64(v, 2000000);
	TEST_BEGIN("tg_parse_pps bad");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tg_parse_pps(bad[i], &v) != -EINVAL) {
			fprintf(stderr, "    accepted pps '%s'\n", bad[i]);
			CHECK(0);
		}
	}
}

static void test_duration(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{"30s", 30000000000ull},
		{"1h", 3600000000000ull},
		{"500ms", 500000000ull},
		{"2d", 172800000000000ull},
		{"1h30m", 5400000000000ull},
		{"1.5s", 1500000000ull},
		{"0s", 0},
		{"100us", 100000ull},
		{"10ns", 10},
		{"1d2h3m4s5ms", 93784005000000ull},
		{"213503d", 213503ull * 86400ull * 1000000000ull},
	};
	static const char *const bad[] = {"",	    "10",      "5x", "h",   "30m1h", "1m1m",
					  "1h 30m", "213504d", "1H", "-1s", "1.s",   "s1"};
	uint64_t v;

	TEST_BEGIN("tg_parse_duration_ns good");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 42;
		CHECK(tg_parse_duration_ns(good[i].s, &v) == 0);
		CHECK_EQ_U64(v, good[i].v);
	}
	TEST_BEGIN("tg_parse_duration_ns bad: no unit, garbage, order, overflow");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tg_parse_duration_ns(bad[i], &v) != -EINVAL) {
			fprintf(stderr, "    accepted duration '%s'\n", bad[i]);
			CHECK(0);
		}
	}
}

static void test_prefix(void)
{
	static const struct {
		const char *s, *err;
	} bad[] = {
		{"10.0.0.0/33", "prefix length 33 out of range (IPv4: 0..32)"},
		{"10.0.0.1/24", "host bits set (the network is 10.0.0.0/24)"},
		{"10.0.0.128/24", "host bits set"},
		{"2001:db8::1/48", "host bits set (the network is 2001:db8::/48)"},
		{"2001:db8::/129", "prefix length 129 out of range (IPv6: 0..128)"},
		{"garbage", "'garbage' is not an IPv4 address"},
		{"10.0.0.0/", "prefix length '' is not a number"},
		{"10.0.0.0/abc", "prefix length 'abc' is not a number"},
		{"10.0.0.0/-1", "is not a number"},
		{"10.0.0.0/ 8", "is not a number"},
		{"10.0.0.0/0008", "is not a number"},
		{"/24", "not an IPv4 or IPv6 prefix"},
		{"10.0.0/24", "is not an IPv4 address"},
		{"1.2.3.4.5", "is not an IPv4 address"},
		{"2001:db8::g/64", "is not an IPv6 address"},
		{"", "empty prefix"},
	};
	struct tg_prefix p;
	char err[128], txt[64];

	TEST_BEGIN("tg_parse_prefix IPv4");
	CHECK(tg_parse_prefix("198.51.100.0/24", &p, err, sizeof(err)) == 0);
	CHECK_EQ_U64(p.family, AF_INET);
	CHECK_EQ_U64(p.plen, 24);
	CHECK(p.addr[0] == 198 && p.addr[1] == 51 && p.addr[2] == 100 && p.addr[3] == 0);
	CHECK(tg_parse_prefix("10.0.0.1", &p, err, sizeof(err)) == 0);
	CHECK_EQ_U64(p.plen, 32);
	CHECK(tg_parse_prefix("0.0.0.0/0", &p, err, sizeof(err)) == 0);
	CHECK_EQ_U64(p.plen, 0);
	CHECK(tg_parse_prefix("192.0.2.0/08", &p, err, sizeof(err)) ==
	      -EINVAL); /* 192 has host bits at /8 */

	TEST_BEGIN("tg_parse_prefix IPv6");
	CHECK(tg_parse_prefix("2001:db8::/48", &p, err, sizeof(err)) == 0);
	CHECK_EQ_U64(p.family, AF_INET6);
	CHECK_EQ_U64(p.plen, 48);
	CHECK(p.addr[0] == 0x20 && p.addr[1] == 0x01 && p.addr[2] == 0x0d && p.addr[3] == 0xb8);
	CHECK(tg_parse_prefix("2001:db8::1", &p, err, sizeof(err)) == 0);
	CHECK_EQ_U64(p.plen, 128);
	CHECK_EQ_U64(p.addr[15], 1);
	CHECK(tg_parse_prefix("::/0", &p, err, sizeof(err)) == 0);
	CHECK(tg_parse_prefix("2001:db8:0:ff80::/57", &p, err, sizeof(err)) == 0);
	CHECK(tg_parse_prefix("2001:db8:0:ff80::/56", &p, err, sizeof(err)) == -EINVAL);

	TEST_BEGIN("tg_parse_prefix errors say what is wrong");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(tg_parse_prefix(bad[i].s, &p, err, sizeof(err)) == -EINVAL);
		CHECK_STR_CONTAINS(err, bad[i].err);
	}
	CHECK(tg_parse_prefix("10.0.0.1/8", &p, NULL, 0) == -EINVAL); /* no room for a message */

	TEST_BEGIN("tg_format_prefix");
	CHECK(tg_parse_prefix("2001:db8:a::/48", &p, err, sizeof(err)) == 0);
	tg_format_prefix(&p, txt, sizeof(txt));
	CHECK_STR_CONTAINS(txt, "2001:db8:a::/48");
	CHECK(tg_parse_prefix("203.0.113.7", &p, err, sizeof(err)) == 0);
	tg_format_prefix(&p, txt, sizeof(txt));
	CHECK(!strcmp(txt, "203.0.113.7/32"));
}

static void test_format_rate(void)
{
	static const struct {
		uint64_t v;
		const char *s;
	} cases[] = {
		{100000000ull, "100mbit"},
		{2500000000ull, "2.5gbit"},
		{1000000000ull, "1gbit"},
		{999, "999bit"},
		{1500, "1500bit"},
		{1234567, "1234567bit"},
		{64000, "64kbit"},
		{1500000, "1.5mbit"},
		{1234000, "1.234mbit"},
		{1000000000001ull, "1000000000001bit"},
		{0, "0bit"},
		{20000000000000ull, "20tbit"},
	};
	char buf[32];
	uint64_t back;

	TEST_BEGIN("tg_format_rate, and it parses back");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tg_format_rate(cases[i].v, buf, sizeof(buf));
		if (strcmp(buf, cases[i].s)) {
			fprintf(stderr, "    %llu -> '%s', want '%s'\n",
				(unsigned long long)cases[i].v, buf, cases[i].s);
			CHECK(0);
		}
		if (cases[i].v) {
			CHECK(tg_parse_rate_bps(buf, &back) == 0);
			CHECK_EQ_U64(back, cases[i].v);
		}
	}
	tg_format_rate(100000000ull, buf, 4); /* truncated, still a C string */
	CHECK(!strcmp(buf, "100"));
}

static void test_errs(void)
{
	struct tg_errs e = {0};

	TEST_BEGIN("tg_errs_add collects, tg_errs_free resets");
	for (int i = 0; i < 100; i++)
		tg_errs_add(&e, "f:%d: problem %s", i, "x");
	CHECK_EQ_U64(e.n, 100);
	CHECK(!strcmp(e.msg[42], "f:42: problem x"));
	tg_errs_free(&e);
	CHECK_EQ_U64(e.n, 0);
	CHECK(e.msg == NULL);
	tg_errs_free(&e); /* twice is harmless */
}

/* ---- tollgate.yaml ---- */

static void test_full_config(void)
{
	const char *yaml =
		"# a full configuration\n"
		"interfaces:\n"
		"  - { name: eth1, role: customer, mode: generic, antispoof: loose }\n"
		"  - name: eth2\n"
		"    role: customer\n"
		"    antispoof: off\n"
		"  - { name: eth0, role: upstream, monitor: true }\n"
		"plans:\n"
		"  home-100:\n"
		"    upload:   { rate: 20mbit,  burst: 256k }\n"
		"    download: { rate: 100mbit, burst: 1m, peak_rate: 150mbit, peak_burst: 2m }\n"
		"    flood:    { syn: 200pps, udp: 20kpps, icmp: 100pps, frag: 1000 }\n"
		"    smtp: block\n"
		"  biz:\n"
		"    download: { rate: 2.5g, burst: 8m }\n"
		"    smtp: \"10/s\"\n"
		"  open:\n"
		"customers: customers.csv\n"
		"walled_garden: [192.0.2.53/32, 2001:db8:53::/48]\n"
		"capacity: { max_customers: 5000 }\n"
		"metrics: { listen: \"[::1]:9100\", per_customer: top 50 }\n"
		"state: /tmp/tg-state.db\n"
		"pin_dir: /sys/fs/bpf/tg-test\n"
		"enforcement:\n"
		"  interval: 1s\n"
		"  rules: [{ name: spoofing, when: \"spoof_pps > 50 for 30s\", action: suspend }]\n"
		"notify: { exec: /bin/true }\n";
	const char *csv = CSV_HDR "c1,,home-100,10.0.0.0/24,eth1,\n";
	const struct tg_iface_cfg *ic;
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	const struct tg_plan *p;
	int rc;

	TEST_BEGIN("full tollgate.yaml: every section parsed");
	rc = load(yaml, csv, &cfg, &errs);
	CHECK_EQ_U64(rc, 0);
	CHECK_EQ_U64(errs.n, 0);
	if (rc || !cfg) {
		dump_errs(&errs);
		tg_errs_free(&errs);
		return;
	}
	CHECK_EQ_U64(cfg->nifaces, 3);
	ic = tg_config_iface(cfg, "eth1");
	CHECK(ic && ic->role == TG_ROLE_CUSTOMER && ic->mode == TG_MODE_GENERIC &&
	      ic->antispoof == TG_AS_LOOSE && !ic->monitor && ic->line == 3);
	ic = tg_config_iface(cfg, "eth2");
	CHECK(ic && ic->antispoof == TG_AS_OFF && ic->mode == TG_MODE_NATIVE && !ic->monitor &&
	      ic->line == 4);
	ic = tg_config_iface(cfg, "eth0");
	CHECK(ic && ic->role == TG_ROLE_UPSTREAM && ic->antispoof == TG_AS_OFF && ic->monitor);
	CHECK(tg_config_iface(cfg, "eth9") == NULL);

	CHECK_EQ_U64(cfg->nplans, 3);
	p = &cfg->plans[0];
	CHECK(!strcmp(p->name, "home-100") && p->line == 9);
	CHECK_EQ_U64(p->dir[TG_DIR_UP].rate_bps, 20000000);
	CHECK_EQ_U64(p->dir[TG_DIR_UP].burst_bytes, 262144);
	CHECK_EQ_U64(p->dir[TG_DIR_UP].peak_rate_bps, 0);
	CHECK_EQ_U64(p->dir[TG_DIR_DOWN].rate_bps, 100000000);
	CHECK_EQ_U64(p->dir[TG_DIR_DOWN].burst_bytes, 1048576);
	CHECK_EQ_U64(p->dir[TG_DIR_DOWN].peak_rate_bps, 150000000);
	CHECK_EQ_U64(p->dir[TG_DIR_DOWN].peak_burst_bytes, 2097152);
	CHECK_EQ_U64(p->flood.pps[TG_FC_SYN], 200);
	CHECK_EQ_U64(p->flood.pps[TG_FC_UDP], 20000);
	CHECK_EQ_U64(p->flood.pps[TG_FC_ICMP], 100);
	CHECK_EQ_U64(p->flood.pps[TG_FC_FRAG], 1000);
	CHECK_EQ_U64(p->smtp, TG_SMTP_BLOCK);
	p = &cfg->plans[1];
	CHECK(!strcmp(p->name, "biz"));
	CHECK_EQ_U64(p->dir[TG_DIR_UP].rate_bps, 0); /* left out: unlimited */
	CHECK_EQ_U64(p->dir[TG_DIR_DOWN].rate_bps, 2500000000ull);
	CHECK_EQ_U64(p->smtp, TG_SMTP_LIMIT);
	CHECK_EQ_U64(p->smtp_limit, 10);
	CHECK_EQ_U64(p->flood.pps[TG_FC_SYN], 0);
	p = &cfg->plans[2];
	CHECK(!strcmp(p->name, "open") && p->smtp == TG_SMTP_ALLOW);

	CHECK_EQ_U64(cfg->nwalled, 2);
	CHECK(cfg->walled_garden[0].family == AF_INET && cfg->walled_garden[0].plen == 32);
	CHECK(cfg->walled_garden[1].family == AF_INET6 && cfg->walled_garden[1].plen == 48);
	CHECK_EQ_U64(cfg->max_customers, 5000);
	CHECK_EQ_U64(cfg->max_prefixes, 10000); /* 2 * max_customers */
	CHECK(!strcmp(cfg->metrics_listen, "[::1]:9100"));
	CHECK(!strcmp(cfg->metrics_per_customer, "top 50"));
	CHECK(!strcmp(cfg->state_path, "/tmp/tg-state.db"));
	CHECK(!strcmp(cfg->pin_dir, "/sys/fs/bpf/tg-test"));
	CHECK(!strcmp(cfg->path, yaml_path));
	CHECK(!strcmp(cfg->customers_path, csv_path));
	CHECK_EQ_U64(cfg->ncustomers, 1);
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

static void test_defaults(void)
{
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	int rc;

	TEST_BEGIN("defaults: only customers given, header-only CSV");
	rc = load("customers: customers.csv\n", CSV_HDR, &cfg, &errs);
	CHECK_EQ_U64(rc, 0);
	if (!cfg) {
		dump_errs(&errs);
		tg_errs_free(&errs);
		return;
	}
	CHECK_EQ_U64(cfg->nifaces, 0);
	CHECK_EQ_U64(cfg->nplans, 0);
	CHECK_EQ_U64(cfg->ncustomers, 0);
	CHECK_EQ_U64(cfg->nwalled, 0);
	CHECK_EQ_U64(cfg->max_customers, 1024);
	CHECK_EQ_U64(cfg->max_prefixes, 2048);
	CHECK(!strcmp(cfg->metrics_listen, "127.0.0.1:9477"));
	CHECK(!strcmp(cfg->metrics_per_customer, "top 1000"));
	CHECK(!strcmp(cfg->state_path, "/var/lib/tollgate/state.db"));
	CHECK(!strcmp(cfg->pin_dir, TG_PIN_DIR_DEFAULT));
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("interface defaults: native, strict, not monitor; null sections");
	rc = load("interfaces:\n  - { name: eth1, role: customer }\nplans:\nwalled_garden: ~\n"
		  "enforcement:\nnotify: null\ncustomers: customers.csv\n",
		  CSV_HDR, &cfg, &errs);
	CHECK_EQ_U64(rc, 0);
	if (cfg) {
		CHECK(cfg->ifaces[0].mode == TG_MODE_NATIVE &&
		      cfg->ifaces[0].antispoof == TG_AS_STRICT && !cfg->ifaces[0].monitor);
		CHECK_EQ_U64(cfg->ifaces[0].line, 2);
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

static void test_example(void)
{
	static const char *const cands[] = {"examples/tollgate.yaml", "../examples/tollgate.yaml",
					    "../../examples/tollgate.yaml"};
	const char *path = NULL;
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs = {0};

	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]) && !path; i++) {
		if (!access(cands[i], R_OK))
			path = cands[i];
	}
	if (!path) {
		printf("SKIP examples/tollgate.yaml: not found (run from the repository root)\n");
		return;
	}
	TEST_BEGIN("examples/tollgate.yaml and customers.csv are valid");
	CHECK_EQ_U64(tg_config_load(path, &cfg, &errs), 0);
	dump_errs(&errs);
	if (cfg) {
		const struct tg_customer *c = &cfg->customers[0];

		CHECK_EQ_U64(cfg->nifaces, 2);
		CHECK(cfg->nplans >= 2);
		CHECK(cfg->ncustomers >= 3);
		CHECK(!strcmp(c->name, "Acme, Ltd"));
		for (size_t i = 0; i < cfg->ncustomers; i++) {
			if (cfg->customers[i].ivlan != TG_VLAN_UNTAGGED)
				c = &cfg->customers[i];
		}
		CHECK(c->vlan != TG_VLAN_UNTAGGED && c->ivlan != TG_VLAN_UNTAGGED);
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

static void test_yaml_errors(void)
{
	struct tg_cfg *cfg = (struct tg_cfg *)&cfg; /* must come back NULL */
	struct tg_errs errs;
	int rc;

	static const char *const y[] = {
		/* 1 */ "interfaces:",
		/* 2 */ "  - { name: eth1, role: customer, antispoof: maybe }",
		/* 3 */ "  - { name: eth1, role: upstream }",
		/* 4 */ "  - { name: averyveryverylongname, role: customer }",
		/* 5 */ "  - { name: eth2, role: sideways, mode: turbo, colour: red }",
		/* 6 */ "  - { name: eth3, role: upstream, antispoof: loose }",
		/* 7 */ "  - { role: customer }",
		/* 8 */ "  - { name: eth4, monitor: perhaps }",
		/* 9 */ "plans:",
		/* 10 */ "  p1:",
		/* 11 */ "    upload: { rate: 0, burst: 1000 }",
		/* 12 */ "    download: { rate: 10xbit, burst: 1m, peak_rate: 5m }",
		/* 13 */ "    flood: { syn: 0, udp: lots, tcp: 5, udp: 1 }",
		/* 14 */ "    smtp: sometimes",
		/* 15 */ "  p1:",
		/* 16 */ "    upload: { rate: 1m }",
		/* 17 */ "  p2: [1, 2]",
		/* 18 */ "  p3: { upload: { rate: 9m, burst: 2k, peak_rate: 5m, peak_burst: 2k } }",
		/* 19 */ "capacity: { max_customers: 0, max_prefixes: abc }",
		/* 20 */ "metrics: { listen: localhost, per_customer: top 0 }",
		/* 21 */ "walled_garden: [10.0.0.1/8, 10.0.0.0/8, 10.0.0.0/8]",
		/* 22 */ "pin_dir: relative/dir",
		/* 23 */ "enforcement: [1]",
		/* 24 */ "notify: hello",
		/* 25 */ "colour: blue",
	};
	char *yaml = join_lines(y, sizeof(y) / sizeof(y[0]));

	TEST_BEGIN("YAML errors: FILE:LINE:COL, all collected, -EINVAL, *out NULL");
	rc = load(yaml, NULL, &cfg, &errs);
	free(yaml);
	CHECK_EQ_U64(rc, (uint64_t)-EINVAL);
	CHECK(cfg == NULL);
	CHECK_ERR(&errs, "tollgate.yaml:1:1: ", "'customers' is required");
	CHECK_ERR(&errs, "tollgate.yaml:2:46: ", "antispoof 'maybe': want strict, loose or off");
	CHECK_ERR(&errs,
		  "tollgate.yaml:3:13: ", "interface 'eth1' is listed twice (first on line 2)");
	CHECK_ERR(&errs, "tollgate.yaml:4:13: ", "longer than 15 characters");
	CHECK_ERR(&errs, "tollgate.yaml:5:25: ", "role 'sideways': want customer or upstream");
	CHECK_ERR(&errs, "tollgate.yaml:5:41: ", "mode 'turbo': want native or generic");
	CHECK_ERR(&errs, "tollgate.yaml:5:48: ", "unknown key 'colour' in an interface");
	CHECK_ERR(&errs, "tollgate.yaml:6:46: ", "antispoof applies to the customer role only");
	CHECK_ERR(&errs, "tollgate.yaml:7:5: ", "interface without a name");
	CHECK_ERR(&errs, "tollgate.yaml:8:5: ", "interface 'eth4': role is required");
	CHECK_ERR(&errs, "tollgate.yaml:8:28: ", "monitor: 'perhaps' is not true or false");
	CHECK_ERR(&errs,
		  "tollgate.yaml:11:21: ", "plan 'p1': upload.rate: a rate must be above zero");
	CHECK_ERR(&errs, "tollgate.yaml:11:31: ",
		  "upload.burst: 1000 bytes is below one MTU (1500 bytes)");
	CHECK_ERR(&errs, "tollgate.yaml:12:23: ", "download.rate: '10xbit' is not a rate");
	CHECK_ERR(&errs, "tollgate.yaml:12:53: ", "peak_rate and peak_burst go together");
	CHECK_ERR(&errs, "tollgate.yaml:13:19: ", "flood.syn: must be above zero");
	CHECK_ERR(&errs, "tollgate.yaml:13:27: ", "flood.udp: 'lots' is not a packet rate");
	CHECK_ERR(&errs, "tollgate.yaml:13:33: ", "unknown key 'tcp'");
	CHECK_ERR(&errs, "tollgate.yaml:14:11: ", "smtp 'sometimes': want allow, block");
	CHECK_ERR(&errs, "tollgate.yaml:15:3: ", "plan 'p1' is defined twice (first on line 10)");
	CHECK_ERR(&errs, "tollgate.yaml:17:7: ", "plan 'p2' must be a mapping, not a list");
	CHECK_ERR(&errs, "tollgate.yaml:18:51: ", "peak_rate: below rate");
	CHECK_ERR(&errs, "tollgate.yaml:13:41: ", "key 'udp' repeated in plan 'p1': flood");
	CHECK_ERR(&errs, "tollgate.yaml:19:28: ", "capacity.max_customers: 0 out of range");
	CHECK_ERR(&errs,
		  "tollgate.yaml:19:45: ", "capacity.max_prefixes: 'abc' is not a whole number");
	CHECK_ERR(&errs, "tollgate.yaml:20:20: ", "metrics.listen 'localhost': want ADDRESS:PORT");
	CHECK_ERR(&errs, "tollgate.yaml:20:45: ", "metrics.per_customer 'top 0'");
	CHECK_ERR(&errs, "tollgate.yaml:21:17: ", "host bits set (the network is 10.0.0.0/8)");
	CHECK_ERR(&errs, "tollgate.yaml:21:41: ", "'10.0.0.0/8' is listed twice");
	CHECK_ERR(&errs, "tollgate.yaml:22:10: ", "must be an absolute path");
	CHECK_ERR(&errs, "tollgate.yaml:23:14: ", "enforcement must be a mapping, not a list");
	CHECK_ERR(&errs, "tollgate.yaml:24:9: ", "notify must be a mapping, not a single value");
	CHECK_ERR(&errs, "tollgate.yaml:25:1: ", "unknown key 'colour' in the configuration");
	CHECK_EQ_U64(errs.n, 33); /* one per CHECK_ERR above: nothing else */
	/* in file order */
	CHECK_STR_CONTAINS(errs.msg[0], "tollgate.yaml:1:1:");
	CHECK_STR_CONTAINS(errs.msg[errs.n - 1], "tollgate.yaml:25:1:");
	if (errs.n != 33)
		dump_errs(&errs);
	tg_errs_free(&errs);
}

static void test_yaml_plan_errors(void)
{
	struct tg_cfg *cfg;
	struct tg_errs errs;

	TEST_BEGIN("YAML plan errors: burst below one MTU, missing burst, bad peak");
	CHECK_EQ_U64(
		load("plans:\n"
		     "  a:\n"
		     "    upload: { rate: 10mbit, burst: 1499 }\n"
		     "    download: { rate: 10mbit }\n"
		     "  b:\n"
		     "    download: { rate: 10mbit, burst: 1500, peak_rate: 20m, peak_burst: 1k }\n"
		     "  c: { smtp: 0/s }\n"
		     "customers: customers.csv\n",
		     CSV_HDR, &cfg, &errs),
		(uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:3:36: ", "1499 bytes is below one MTU");
	CHECK_ERR(&errs, "tollgate.yaml:4:15: ", "download: rate and burst are both required");
	CHECK_ERR(&errs, "tollgate.yaml:6:72: ", "peak_burst: 1k bytes is below one MTU");
	CHECK_ERR(&errs, "tollgate.yaml:7:14: ", "smtp '0/s'");
	CHECK_EQ_U64(errs.n, 4);
	tg_errs_free(&errs);
}

/* ---- h4: two-rate policer: yellow_dscp ---- */
static void test_trtcm_config(void)
{
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	int rc;

	TEST_BEGIN("YAML yellow_dscp: a name, a number, the default CS1 with a peak, 0 without");
	rc = load("plans:\n"
		  "  a:\n"
		  "    upload: { rate: 10mbit, burst: 1m, peak_rate: 20mbit, peak_burst: 2m }\n"
		  "    yellow_dscp: af13\n"
		  "  b:\n"
		  "    download: { rate: 10mbit, burst: 1m, peak_rate: 20mbit, peak_burst: 2m }\n"
		  "    yellow_dscp: 10\n"
		  "  c:\n"
		  "    download: { rate: 10mbit, burst: 1m, peak_rate: 10mbit, peak_burst: 2m }\n"
		  "  d:\n"
		  "    download: { rate: 10mbit, burst: 1m }\n"
		  "customers: customers.csv\n",
		  CSV_HDR, &cfg, &errs);
	CHECK_EQ_U64(rc, 0);
	if (rc || !cfg) {
		dump_errs(&errs);
		tg_errs_free(&errs);
		return;
	}
	CHECK_EQ_U64(cfg->plans[0].yellow_dscp, 14);
	CHECK_EQ_U64(cfg->plans[1].yellow_dscp, 10);
	CHECK_EQ_U64(cfg->plans[2].yellow_dscp, TG_YELLOW_DSCP_DEFAULT);
	CHECK_EQ_U64(cfg->plans[3].yellow_dscp, 0);
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("YAML two-rate errors: yellow_dscp without a peak, out of range, unknown; "
		   "peak below the rate; a peak without its burst, a peak burst alone");
	CHECK_EQ_U64(
		load("plans:\n"
		     "  a:\n"
		     "    upload: { rate: 10mbit, burst: 1m }\n"
		     "    yellow_dscp: af13\n"
		     "  b:\n"
		     "    upload: { rate: 10mbit, burst: 1m, peak_rate: 20m, peak_burst: 2m }\n"
		     "    yellow_dscp: 64\n"
		     "  c:\n"
		     "    upload: { rate: 10mbit, burst: 1m, peak_rate: 20m, peak_burst: 2m }\n"
		     "    yellow_dscp: af14\n"
		     "  d: { upload: { rate: 10mbit, burst: 1m, peak_rate: 9m, peak_burst: 2m } }\n"
		     "  e: { upload: { rate: 10mbit, burst: 1m, peak_rate: 20m } }\n"
		     "  f: { upload: { rate: 10mbit, burst: 1m, peak_burst: 2m } }\n"
		     "customers: customers.csv\n",
		     CSV_HDR, &cfg, &errs),
		(uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:4:18: ", "yellow_dscp without a peak_rate");
	CHECK_ERR(&errs, "tollgate.yaml:7:18: ", "yellow_dscp '64'");
	CHECK_ERR(&errs, "tollgate.yaml:10:18: ", "yellow_dscp 'af14'");
	CHECK_ERR(&errs, "tollgate.yaml:11:", "peak_rate: below rate");
	CHECK_ERR(&errs, "tollgate.yaml:12:", "peak_rate and peak_burst go together");
	CHECK_ERR(&errs, "tollgate.yaml:13:", "peak_rate and peak_burst go together");
	CHECK_EQ_U64(errs.n, 6);
	if (errs.n != 6)
		dump_errs(&errs);
	tg_errs_free(&errs);
}

static void test_yaml_syntax(void)
{
	struct tg_cfg *cfg;
	struct tg_errs errs;

	TEST_BEGIN("YAML syntax error names its line");
	CHECK_EQ_U64(load("customers: customers.csv\nplans: {\n  a: [\n", CSV_HDR, &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK_EQ_U64(errs.n, 1);
	CHECK_ERR(&errs, "tollgate.yaml:4:1: ", "YAML: ");
	tg_errs_free(&errs);

	TEST_BEGIN("YAML: empty file, not a mapping, second document");
	CHECK_EQ_U64(load("", CSV_HDR, &cfg, &errs), (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:1:1: ", "the file is empty");
	tg_errs_free(&errs);
	CHECK_EQ_U64(load("- a\n- b\n", CSV_HDR, &cfg, &errs), (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:1:1: ", "the configuration must be a mapping");
	tg_errs_free(&errs);
	CHECK_EQ_U64(load("customers: customers.csv\n---\ncustomers: x\n", CSV_HDR, &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:3:1: ", "a second YAML document");
	tg_errs_free(&errs);

	TEST_BEGIN("YAML: a null customers path is empty, not the file '~'");
	CHECK_EQ_U64(load("customers: ~\n", CSV_HDR, &cfg, &errs), (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:1:12: ", "customers is empty");
	CHECK_EQ_U64(errs.n, 1);
	tg_errs_free(&errs);

	TEST_BEGIN("unreadable files: -errno and a message");
	memset(&errs, 0, sizeof(errs));
	cfg = (struct tg_cfg *)&cfg;
	CHECK_EQ_U64(tg_config_load("/nonexistent/tollgate.yaml", &cfg, &errs), (uint64_t)-ENOENT);
	CHECK(cfg == NULL);
	CHECK_ERR(&errs, "/nonexistent/tollgate.yaml: cannot read", "No such file");
	tg_errs_free(&errs);
	unlink(csv_path);
	CHECK_EQ_U64(load("customers: customers.csv\n", NULL, &cfg, &errs), (uint64_t)-ENOENT);
	CHECK_ERR(&errs, "customers.csv: cannot read the customers file", "No such file");
	tg_errs_free(&errs);
}

/* A relative customers (and state) path is next to the YAML file, not the cwd. */
static void test_relative_path(void)
{
	char sub[160], yaml[192], csv[192], want[256];
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs = {0};

	TEST_BEGIN("relative customers path resolves against the YAML file's directory");
	snprintf(sub, sizeof(sub), "%s/etc", tmpdir);
	mkdir(sub, 0755);
	snprintf(csv, sizeof(csv), "%s/etc/data", tmpdir);
	mkdir(csv, 0755);
	snprintf(yaml, sizeof(yaml), "%s/etc/tg.yaml", tmpdir);
	snprintf(csv, sizeof(csv), "%s/etc/data/cust.csv", tmpdir);
	tl_write_file(yaml, "customers: data/cust.csv\nstate: state.db\n");
	tl_write_file(csv, CSV_HDR);
	CHECK_EQ_U64(tg_config_load(yaml, &cfg, &errs), 0);
	dump_errs(&errs);
	if (cfg) {
		CHECK(!strcmp(cfg->customers_path, csv));
		snprintf(want, sizeof(want), "%s/etc/state.db", tmpdir);
		CHECK(!strcmp(cfg->state_path, want));
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("absolute customers path is taken as is");
	snprintf(want, sizeof(want), "customers: %s\n", csv);
	tl_write_file(yaml, want);
	CHECK_EQ_U64(tg_config_load(yaml, &cfg, &errs), 0);
	if (cfg)
		CHECK(!strcmp(cfg->customers_path, csv));
	tg_config_free(cfg);
	tg_errs_free(&errs);
	unlink(yaml);
	unlink(csv);
}

/* ---- customers.csv ---- */

static void test_csv_good(void)
{
	/* line 5 has white space around and between its prefixes; line 6 is blank */
	const char *csv =
		CSV_HDR "cust-0001,\"Acme, Ltd\",biz-1g,198.51.100.0/24 2001:db8:a::/48,eth1,100\n"
			"cust-0002,\"Two\nLines\",home-100,203.0.113.10,,\n"
			"cust-0003,\"He said \"\"hi\"\"\",home-100,"
			"  203.0.113.16/29\t2001:db8:b::/64 ,eth1,100.200\n"
			"\n"
			"cust-0004,,free,10.1.0.0/16 10.1.2.0/24,eth1,4094\n";
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	const struct tg_customer *c;

	TEST_BEGIN("CSV: quoted names with commas, newlines, quotes; QinQ; blank line");
	CHECK_EQ_U64(load(BASE_YAML, csv, &cfg, &errs), 0);
	dump_errs(&errs);
	if (!cfg)
		goto out;
	CHECK_EQ_U64(cfg->ncustomers, 4);
	c = &cfg->customers[0];
	CHECK(!strcmp(c->id, "cust-0001") && !strcmp(c->name, "Acme, Ltd"));
	CHECK(c->plan == 1 && c->line == 2 && c->npfx == 2);
	CHECK(c->pfx[0].family == AF_INET && c->pfx[0].plen == 24);
	CHECK(c->pfx[1].family == AF_INET6 && c->pfx[1].plen == 48);
	CHECK(!strcmp(c->iface, "eth1") && c->vlan == 100 && c->ivlan == TG_VLAN_UNTAGGED);
	CHECK_EQ_U64(c->dir[TG_DIR_UP].rate_bps, 1000000000);
	c = &cfg->customers[1];
	CHECK(!strcmp(c->name, "Two\nLines") && c->line == 3);
	CHECK(c->npfx == 1 && c->pfx[0].plen == 32);
	CHECK(c->iface[0] == '\0' && c->vlan == TG_VLAN_UNTAGGED && c->ivlan == TG_VLAN_UNTAGGED);
	CHECK_EQ_U64(c->dir[TG_DIR_UP].rate_bps, 20000000);
	CHECK_EQ_U64(c->dir[TG_DIR_DOWN].rate_bps, 100000000);
	CHECK_EQ_U64(c->dir[TG_DIR_DOWN].peak_rate_bps, 200000000);
	c = &cfg->customers[2];
	CHECK(!strcmp(c->name, "He said \"hi\"") && c->line == 5); /* after a 2-line row */
	CHECK(c->npfx == 2 && c->vlan == 100 && c->ivlan == 200);
	c = &cfg->customers[3];
	CHECK(c->name == NULL && c->line == 7 && c->plan == 2 && c->vlan == 4094);
	CHECK(c->npfx == 2); /* overlapping prefixes of one customer are fine */
	CHECK_EQ_U64(c->dir[TG_DIR_UP].rate_bps, 0);
out:
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("CSV: CRLF line endings and a UTF-8 BOM");
	CHECK_EQ_U64(load(BASE_YAML,
			  "\xef\xbb\xbf"
			  "id,plan,prefixes\r\n"
			  "a,home-100,10.0.0.0/24\r\n"
			  "b,home-100,10.0.1.0/24\r\n",
			  &cfg, &errs),
		     0);
	dump_errs(&errs);
	if (cfg) {
		CHECK_EQ_U64(cfg->ncustomers, 2);
		CHECK_EQ_U64(cfg->customers[1].line, 3);
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

static void test_csv_column_order(void)
{
	struct tg_cfg *a = NULL, *b = NULL;
	struct tg_errs errs;

	TEST_BEGIN("CSV: columns in any order, optional ones left out, names case-insensitive");
	CHECK_EQ_U64(
		load(BASE_YAML,
		     "id,name,plan,prefixes,interface,vlan\nx1,Xavier,biz-1g,10.9.0.0/24,eth1,7\n",
		     &a, &errs),
		0);
	tg_errs_free(&errs);
	CHECK_EQ_U64(
		load(BASE_YAML,
		     "VLAN,Prefixes,interface,plan,name,ID\n7,10.9.0.0/24,eth1,biz-1g,Xavier,x1\n",
		     &b, &errs),
		0);
	dump_errs(&errs);
	tg_errs_free(&errs);
	if (a && b) {
		const struct tg_customer *x = &a->customers[0], *y = &b->customers[0];

		CHECK(!strcmp(x->id, y->id) && !strcmp(x->name, y->name) && x->plan == y->plan);
		CHECK(x->npfx == 1 && y->npfx == 1 && !memcmp(x->pfx, y->pfx, sizeof(*x->pfx)));
		CHECK(!strcmp(x->iface, y->iface) && x->vlan == y->vlan && y->vlan == 7);
		CHECK(!memcmp(x->dir, y->dir, sizeof(x->dir)));
	}
	tg_config_free(a);
	tg_config_free(b);
	CHECK_EQ_U64(load(BASE_YAML, "prefixes,plan,id\n10.0.0.0/8,home-100,only\n", &a, &errs), 0);
	if (a)
		CHECK(a->customers[0].name == NULL && a->customers[0].vlan == TG_VLAN_UNTAGGED);
	tg_config_free(a);
	tg_errs_free(&errs);
}

static void test_csv_overrides(void)
{
	const char *csv =
		"id,plan,prefixes,upload_rate,upload_burst,download_rate,download_burst\n"
		"a,home-100,10.0.0.0/24,50mbit,512k,,\n" /* upload both overridden */
		"b,home-100,10.0.1.0/24,,,150mbit,\n"	 /* download rate only: plan burst kept */
		"c,free,10.0.2.0/24,1g,1m,2.5g,4m\n"	 /* a plan without limits */
		"d,home-100,10.0.3.0/24,,2m,,\n";	 /* burst only */
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	const struct tg_rate_cfg *r;

	TEST_BEGIN("CSV: per-customer overrides on top of the plan");
	CHECK_EQ_U64(load(BASE_YAML, csv, &cfg, &errs), 0);
	dump_errs(&errs);
	if (!cfg)
		goto out;
	r = cfg->customers[0].dir;
	CHECK_EQ_U64(r[TG_DIR_UP].rate_bps, 50000000);
	CHECK_EQ_U64(r[TG_DIR_UP].burst_bytes, 524288);
	CHECK_EQ_U64(r[TG_DIR_DOWN].rate_bps, 100000000);
	CHECK_EQ_U64(r[TG_DIR_DOWN].burst_bytes, 1048576);
	r = cfg->customers[1].dir;
	CHECK_EQ_U64(r[TG_DIR_UP].rate_bps, 20000000);
	CHECK_EQ_U64(r[TG_DIR_DOWN].rate_bps, 150000000);
	CHECK_EQ_U64(r[TG_DIR_DOWN].burst_bytes, 1048576);
	CHECK_EQ_U64(r[TG_DIR_DOWN].peak_rate_bps, 200000000);
	r = cfg->customers[2].dir;
	CHECK_EQ_U64(r[TG_DIR_UP].rate_bps, 1000000000);
	CHECK_EQ_U64(r[TG_DIR_UP].burst_bytes, 1048576);
	CHECK_EQ_U64(r[TG_DIR_DOWN].rate_bps, 2500000000ull);
	CHECK_EQ_U64(r[TG_DIR_DOWN].burst_bytes, 4194304);
	r = cfg->customers[3].dir;
	CHECK_EQ_U64(r[TG_DIR_UP].rate_bps, 20000000);
	CHECK_EQ_U64(r[TG_DIR_UP].burst_bytes, 2097152);
	/* the plan itself is untouched */
	CHECK_EQ_U64(cfg->plans[0].dir[TG_DIR_UP].rate_bps, 20000000);
	CHECK_EQ_U64(cfg->plans[0].dir[TG_DIR_UP].burst_bytes, 262144);
out:
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

static void test_csv_errors(void)
{
	/* the index is the line number; the id on line 8 is 48 characters */
	static const char *const l[] = {
		/* 1 */ CSV_HDR_OVR,
		/* 2 */ "a,\"Acme, Ltd\",home-100,10.0.0.0/24,,,,,",
		/* 3 */ "b,,home-100,10.0.1.1/24,,,,,",		       /* host bits */
		/* 4 */ "c,,home-100,10.0.2.0/33 2001:db8::/129,,,,,", /* lengths */
		/* 5 */ "d,,nope,10.0.3.0/24,,,,,",
		/* 6 */ "a,,home-100,10.0.4.0/24,,,,,", /* duplicate id */
		/* 7 */ ",,home-100,10.0.5.0/24,,,,,",
		/* 8 */ "012345678901234567890123456789012345678901234567,,free,10.0.6.0/24,,,,,",
		/* 9 */ "e,,home-100,10.0.0.0/24,,,,,",		       /* a's prefix */
		/* 10 */ "f,,home-100,10.0.0.128/25 10.0.0.0/16,,,,,", /* overlaps: fine */
		/* 11 */ "g,,home-100,10.0.7.0/24,,0,,,",
		/* 12 */ "h,,home-100,10.0.8.0/24,,100.5000,,,",
		/* 13 */ "i,,home-100,10.0.9.0/24,,,20furlongs,,",
		/* 14 */ "j,,home-100,10.0.10.0/24,,,0,,",
		/* 15 */ "k,,home-100,10.0.11.0/24,,,,1000,",
		/* 16 */ "l,,home-100,10.0.12.0/24,eth9,,,,",
		/* 17 */ "m,,home-100,10.0.13.0/24,eth0,,,,",
		/* 18 */ "n,,home-100,,,,,,",
		/* 19 */ "o,,home-100,10.0.14.0/24 10.0.14.0/24,,,,,",
		/* 20 */ "p,,home-100,10.0.15.0/24,,,,,300mbit",
		/* 21 */ "q,,free,10.0.16.0/24,,,5mbit,,",
		/* 22 */ "r,,home-100,10.0.17.0/24",
		/* 23 */ "s,,home-100,10.0.18.0/24,,abc,,,",
		/* 24 */ "t,\"x\"y,home-100,10.0.19.0/24,,,,,",
		/* 25 */ "u,,home-100,2001:db8::1/64,,,,,",
	};
	char *csv = join_lines(l, sizeof(l) / sizeof(l[0]));
	struct tg_cfg *cfg = (struct tg_cfg *)&cfg;
	struct tg_errs errs;

	TEST_BEGIN("CSV errors: every one, with its line and field");
	CHECK_EQ_U64(load(BASE_YAML, csv, &cfg, &errs), (uint64_t)-EINVAL);
	free(csv);
	CHECK(cfg == NULL);
	CHECK_ERR(&errs, "customers.csv:3: field 'prefixes': ", "'10.0.1.1/24': host bits set");
	CHECK_ERR(&errs, "customers.csv:4: field 'prefixes': '10.0.2.0/33'", "out of range");
	CHECK_ERR(&errs, "customers.csv:4: field 'prefixes': '2001:db8::/129'", "out of range");
	CHECK_ERR(&errs, "customers.csv:5: field 'plan': ", "unknown plan 'nope'");
	CHECK_ERR(&errs, "customers.csv:6: field 'id': ", "'a' is already used on line 2");
	CHECK_ERR(&errs, "customers.csv:7: field 'id': ", "empty");
	CHECK_ERR(&errs, "customers.csv:8: field 'id': ", "is longer than 47 bytes");
	CHECK_ERR(&errs, "customers.csv:9: field 'prefixes': ",
		  "10.0.0.0/24 already belongs to customer 'a' (line 2)");
	CHECK(find_err(&errs, "customers.csv:10:") == NULL);
	CHECK_ERR(&errs, "customers.csv:11: field 'vlan': ", "'0': want a VLAN id 1..4094");
	CHECK_ERR(&errs, "customers.csv:12: field 'vlan': ", "'100.5000'");
	CHECK_ERR(&errs, "customers.csv:13: field 'upload_rate': ", "'20furlongs' is not a rate");
	CHECK_ERR(&errs, "customers.csv:14: field 'upload_rate': ", "must be above zero");
	CHECK_ERR(&errs, "customers.csv:15: field 'upload_burst': ", "1000 bytes is below one MTU");
	CHECK_ERR(&errs, "customers.csv:16: field 'interface': ", "'eth9' is not under interfaces");
	CHECK_ERR(&errs, "customers.csv:17: field 'interface': ", "'eth0' has the upstream role");
	CHECK_ERR(&errs, "customers.csv:18: field 'prefixes': ", "empty");
	CHECK_ERR(&errs, "customers.csv:19: field 'prefixes': ", "10.0.14.0/24 is listed twice");
	CHECK_ERR(&errs, "customers.csv:20: field 'download_rate': ",
		  "above the download peak_rate of plan 'home-100' (200mbit)");
	CHECK_ERR(&errs, "customers.csv:21: field 'upload_rate': ", "set upload_burst too");
	CHECK_ERR(&errs, "customers.csv:22: ", "4 fields, but the header names 9 columns");
	CHECK_ERR(&errs, "customers.csv:23: field 'vlan': ", "'abc'");
	CHECK_ERR(&errs, "customers.csv:24: ", "malformed CSV");
	CHECK_ERR(&errs, "customers.csv:25: field 'prefixes': ", "host bits set");
	CHECK_EQ_U64(errs.n, 23); /* one per CHECK_ERR above: nothing else */
	if (errs.n != 23)
		dump_errs(&errs);
	for (size_t i = 1; i < errs.n; i++) { /* in line order */
		const char *p = strstr(errs.msg[i - 1], "customers.csv:"),
			   *q = strstr(errs.msg[i], "customers.csv:");

		CHECK(p && q && atoi(p + 14) <= atoi(q + 14));
	}
	tg_errs_free(&errs);
}

static void test_csv_header_errors(void)
{
	struct tg_cfg *cfg;
	struct tg_errs errs;

	TEST_BEGIN("CSV header: unknown column, missing required, repeated, empty file");
	CHECK_EQ_U64(load(BASE_YAML, "id,plan,prefixes,colour\na,home-100,10.0.0.0/8,red\n", &cfg,
			  &errs),
		     (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:1: ", "unknown column 'colour'");
	CHECK_EQ_U64(errs.n, 1);
	tg_errs_free(&errs);
	CHECK_EQ_U64(load(BASE_YAML, "id,name,plan\na,b,home-100\n", &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:1: ", "no 'prefixes' column");
	CHECK_EQ_U64(errs.n, 1);
	tg_errs_free(&errs);
	CHECK_EQ_U64(load(BASE_YAML, "id,plan,prefixes,plan\n", &cfg, &errs), (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:1: ", "column 'plan' appears twice");
	tg_errs_free(&errs);
	CHECK_EQ_U64(load(BASE_YAML, "", &cfg, &errs), (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:1: ", "the first row must name the columns");
	tg_errs_free(&errs);
	CHECK_EQ_U64(
		load(BASE_YAML, CSV_HDR "a,\"unterminated,home-100,10.0.0.0/8,,\n", &cfg, &errs),
		(uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:2: ", "a quoted field is not closed");
	tg_errs_free(&errs);
}

static void test_csv_capacity(void)
{
	const char *csv = CSV_HDR "a,,home-100,10.0.0.0/24 10.1.0.0/24,,\n"
				  "b,,home-100,10.0.1.0/24 10.1.1.0/24,,\n"
				  "c,,home-100,10.0.2.0/24,,\n"
				  "d,,home-100,10.0.3.0/24,,\n";
	struct tg_cfg *cfg;
	struct tg_errs errs;

	TEST_BEGIN("CSV: more customers than capacity.max_customers (said once)");
	CHECK_EQ_U64(load(BASE_YAML "capacity: { max_customers: 2, max_prefixes: 100 }\n", csv,
			  &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:4: ", "customer 3 is over capacity.max_customers (2)");
	CHECK_ERR(&errs, "customers.csv:4: ", "raise capacity.max_customers in tollgate.yaml");
	CHECK_EQ_U64(errs.n, 1);
	tg_errs_free(&errs);

	TEST_BEGIN("CSV: more prefixes than capacity.max_prefixes (said once)");
	CHECK_EQ_U64(load(BASE_YAML "capacity: { max_customers: 10, max_prefixes: 3 }\n", csv, &cfg,
			  &errs),
		     (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:3: field 'prefixes': ",
		  "over capacity.max_prefixes (3): raise capacity.max_prefixes in tollgate.yaml");
	CHECK_EQ_U64(errs.n, 1);
	tg_errs_free(&errs);

	TEST_BEGIN("CSV: exactly at capacity is fine");
	CHECK_EQ_U64(load(BASE_YAML "capacity: { max_customers: 4, max_prefixes: 6 }\n", csv, &cfg,
			  &errs),
		     0);
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

static void test_all_errors(void)
{
	const char *csv = CSV_HDR "a,,home-100,10.0.0.0/24,,\n"
				  "b,,home-100,10.0.1.0/33,,\n"
				  "c,,home-100,10.0.2.0/24,,\n"
				  "d,,gold,10.0.3.0/24,,\n"
				  "e,,home-100,10.0.4.0/24,,\n"
				  "f,,home-100,10.0.5.0/24,,99999\n";
	struct tg_cfg *cfg;
	struct tg_errs errs;

	TEST_BEGIN("all errors reported: 3 bad rows give 3 messages");
	CHECK_EQ_U64(load(BASE_YAML, csv, &cfg, &errs), (uint64_t)-EINVAL);
	CHECK_EQ_U64(errs.n, 3);
	CHECK_ERR(&errs, "customers.csv:3: field 'prefixes'", "out of range");
	CHECK_ERR(&errs, "customers.csv:5: field 'plan'", "unknown plan 'gold'");
	CHECK_ERR(&errs, "customers.csv:7: field 'vlan'", "'99999'");
	tg_errs_free(&errs);

	TEST_BEGIN("YAML and CSV errors reported together");
	CHECK_EQ_U64(load("interfaces:\n  - { name: eth1, role: client }\n"
			  "customers: customers.csv\nplans: { home-100: {} }\n",
			  csv, &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:2:25: ", "role 'client'");
	CHECK_ERR(&errs, "customers.csv:7: field 'vlan'", "'99999'");
	CHECK_EQ_U64(errs.n, 4);
	tg_errs_free(&errs);
}

static void test_csv_big(void)
{
	enum { N = 100000 };
	struct timespec t0, t1;
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs = {0};
	double secs;
	FILE *f;

	TEST_BEGIN("CSV: 100k customers, 200k prefixes parse quickly");
	tl_write_file(yaml_path, BASE_YAML "capacity: { max_customers: 100000 }\n");
	f = fopen(csv_path, "w");
	if (!f) {
		CHECK(0);
		return;
	}
	fputs("id,name,plan,prefixes,interface,vlan\n", f);
	for (unsigned int i = 0; i < N; i++)
		fprintf(f, "cust-%06u,\"Customer %u, Inc\",%s,%u.%u.%u.0/24 %s%x:%x::/64,eth1,%u\n",
			i, i, i % 3 ? "home-100" : "biz-1g", 10 + (i >> 16), (i >> 8) & 255,
			i & 255, "2001:db8:", i >> 16, i & 0xffff, 1 + i % 4094);
	fclose(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ_U64(tg_config_load(yaml_path, &cfg, &errs), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("  100k-row customers.csv loaded in %.3f s\n", secs);
	CHECK(secs < 10.0); /* loose: ~0.2 s here; sanitizers and valgrind are slower */
	dump_errs(&errs);
	if (cfg) {
		CHECK_EQ_U64(cfg->ncustomers, N);
		CHECK(!strcmp(cfg->customers[N - 1].id, "cust-099999"));
		CHECK_EQ_U64(cfg->customers[N - 1].line, N + 1);
		CHECK_EQ_U64(cfg->customers[N - 1].npfx, 2);
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

/* Every field of every customer equal, and the rows' bytes at the same place. */
static size_t customers_differ(const struct tg_load_cache *la, const struct tg_load_cache *lb)
{
	const struct tg_cfg *a = la->cfg, *b = lb->cfg;
	size_t bad = 0;

	if (a->ncustomers != b->ncustomers)
		return SIZE_MAX;
	for (size_t i = 0; i < a->ncustomers; i++) {
		const struct tg_customer *x = &a->customers[i], *y = &b->customers[i];

		if (strcmp(x->id, y->id) || x->plan != y->plan || x->npfx != y->npfx ||
		    memcmp(x->pfx, y->pfx, x->npfx * sizeof(*x->pfx)) || x->line != y->line ||
		    memcmp(x->dir, y->dir, sizeof(x->dir)) || strcmp(x->iface, y->iface) ||
		    x->vlan != y->vlan || x->ivlan != y->ivlan || !x->name != !y->name ||
		    (x->name && strcmp(x->name, y->name)) || la->row[i].off != lb->row[i].off ||
		    la->row[i].len != lb->row[i].len || tg_config_customer(a, x->id) != (long)i)
			bad++;
	}
	return bad;
}

/* A configuration and its reload cache, freed together. */
static void load_free(struct tg_load_cache *lc)
{
	if (lc)
		tg_config_free((struct tg_cfg *)lc->cfg);
	tg_load_cache_free(lc);
}

/* Load csv as the next configuration after prev: reused rows and a fresh load must agree.
 * The new load's cache (its configuration in ->cfg), or NULL. */
static struct tg_load_cache *reload_csv(const struct tg_load_cache *prev, const char *csv,
					size_t want_reused, int want_err, const char *want_msg)
{
	struct tg_cfg *next = NULL, *fresh = NULL;
	struct tg_load_cache *lc = NULL, *flc = NULL;
	struct tg_errs errs = {}, ferrs = {};
	int err;

	tl_write_file(csv_path, csv);
	err = tg_config_load_from(yaml_path, prev, &lc, &next, &errs);
	CHECK_EQ_U64((uint64_t)err, (uint64_t)want_err);
	CHECK_EQ_U64((uint64_t)tg_config_load_from(yaml_path, NULL, &flc, &fresh, &ferrs),
		     (uint64_t)want_err);
	CHECK_EQ_U64(errs.n, ferrs.n); /* the same errors, reused rows or not */
	for (size_t i = 0; i < errs.n && i < ferrs.n; i++)
		CHECK(!strcmp(errs.msg[i], ferrs.msg[i]));
	if (want_msg)
		CHECK(errs.n && strstr(errs.msg[0], want_msg));
	CHECK(!next == !lc && (!lc || lc->cfg == next));
	if (lc && flc) {
		CHECK_EQ_U64(lc->rows_reused, want_reused);
		CHECK_EQ_U64(flc->rows_reused, 0);
		CHECK_EQ_U64(tg_config_index_rows(next, lc),
			     0); /* the id set, if the load left it */
		CHECK_EQ_U64(customers_differ(lc, flc), 0);
	}
	load_free(flc);
	tg_errs_free(&errs);
	tg_errs_free(&ferrs);
	return lc;
}

static void test_reload_reuse(void)
{
	const char *v1 =
		CSV_HDR_OVR "\n"
			    "a,\"Acme, Ltd\",home-100,10.0.0.0/24 2001:db8:a::/48,eth1,100.200,,,\n"
			    "b,\"Two\nLines\",biz-1g,10.0.1.0/24,,,5mbit,64k,\n"
			    "c,,free,10.0.2.1,eth1,7,,,\n"
			    "d,Dee,home-100,2001:db8:d::/56,,,,,150mbit\n";
	struct tg_load_cache *c1 = NULL, *c2, *c3;
	struct tg_cfg *cfg1 = NULL;
	struct tg_errs errs = {};

	TEST_BEGIN("reload: unchanged rows are reused, and the result is a fresh load's");
	tl_write_file(yaml_path, BASE_YAML);
	tl_write_file(csv_path, v1);
	CHECK_EQ_U64(tg_config_load_from(yaml_path, NULL, &c1, &cfg1, &errs), 0);
	dump_errs(&errs);
	tg_errs_free(&errs);
	if (!c1)
		return;
	CHECK_EQ_U64(c1->rows_reused, 0);
	/* not indexed: nothing to reuse */
	c2 = reload_csv(c1, v1, 0, 0, NULL);
	load_free(c2);
	CHECK_EQ_U64(tg_config_index_rows(cfg1, c1), 0);

	/* reordered, one changed (c's vlan), one gone (d), one new (e), a blank line: the
	 * reused rows get their new lines */
	c2 = reload_csv(c1,
			CSV_HDR_OVR
			"\n"
			"b,\"Two\nLines\",biz-1g,10.0.1.0/24,,,5mbit,64k,\n"
			"\n"
			"c,,free,10.0.2.1,eth1,8,,,\n"
			"e,New,free,10.0.3.0/24 10.0.2.0/24,,,,,\n"
			"a,\"Acme, Ltd\",home-100,10.0.0.0/24 2001:db8:a::/48,eth1,100.200,,,\n",
			2, 0, NULL);
	if (c2) {
		const struct tg_customer *cu = c2->cfg->customers;

		CHECK(!strcmp(cu[0].name, "Two\nLines") && cu[0].line == 2);
		CHECK_EQ_U64(cu[3].line, 7);
		CHECK_EQ_U64(cu[3].npfx, 2);
	}
	/* a reused row is still checked against the new ones: e now claims a's prefix */
	c3 = reload_csv(c2,
			CSV_HDR_OVR
			"\n"
			"b,\"Two\nLines\",biz-1g,10.0.1.0/24,,,5mbit,64k,\n"
			"e,New,free,10.0.0.0/24,,,,,\n"
			"a,\"Acme, Ltd\",home-100,10.0.0.0/24 2001:db8:a::/48,eth1,100.200,,,\n",
			0, -EINVAL, "10.0.0.0/24 already belongs to customer 'e'");
	CHECK(c3 == NULL);
	/* ... and a duplicate id, and the capacity */
	c3 = reload_csv(c2,
			CSV_HDR_OVR "\n"
				    "b,\"Two\nLines\",biz-1g,10.0.1.0/24,,,5mbit,64k,\n"
				    "b,x,free,10.9.0.0/24,,,,,\n",
			0, -EINVAL, "'b' is already used on line 2");
	CHECK(c3 == NULL);
	/* a reused row twice; two new rows with one id; two new rows with one prefix */
	c3 = reload_csv(c2,
			CSV_HDR_OVR "\n"
				    "b,\"Two\nLines\",biz-1g,10.0.1.0/24,,,5mbit,64k,\n"
				    "b,\"Two\nLines\",biz-1g,10.0.1.0/24,,,5mbit,64k,\n",
			0, -EINVAL, "'b' is already used on line 2");
	CHECK(c3 == NULL);
	c3 = reload_csv(c2,
			CSV_HDR_OVR "\n"
				    "b,\"Two\nLines\",biz-1g,10.0.1.0/24,,,5mbit,64k,\n"
				    "f,,free,10.7.0.0/24,,,,,\n"
				    "f,,free,10.8.0.0/24,,,,,\n",
			0, -EINVAL, "'f' is already used on line 4");
	CHECK(c3 == NULL);
	c3 = reload_csv(c2,
			CSV_HDR_OVR "\n"
				    "b,\"Two\nLines\",biz-1g,10.0.1.0/24,,,5mbit,64k,\n"
				    "f,,free,10.7.0.0/24,,,,,\n"
				    "g,,free,10.7.0.0/24,,,,,\n",
			0, -EINVAL, "10.7.0.0/24 already belongs to customer 'f'");
	CHECK(c3 == NULL);
	/* other columns: nothing reused */
	c3 = reload_csv(c2,
			"id,name,plan,prefixes\n"
			"b,\"Two\nLines\",biz-1g,10.0.1.0/24\n",
			0, 0, NULL);
	load_free(c3);
	/* another YAML (a plan's rate): nothing reused, and the new rate is there */
	tl_write_file(yaml_path, BASE_YAML "capacity: { max_customers: 3 }\n");
	c3 = reload_csv(c2, v1, 0, -EINVAL, "over capacity.max_customers");
	CHECK(c3 == NULL);
	load_free(c2);
	load_free(c1);
	tl_write_file(yaml_path, BASE_YAML);
}

/* Some message has both strings. */
static bool any_err(const struct tg_errs *errs, const char *where, const char *what)
{
	for (size_t i = 0; i < errs->n; i++)
		if (strstr(errs->msg[i], where) && strstr(errs->msg[i], what))
			return true;
	return false;
}

static void test_flood_config(void)
{
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	const struct tg_plan *p;

	TEST_BEGIN("flood: reflection, per_source, block_time, reflection_ports");
	CHECK_EQ_U64(load("plans:\n"
			  "  a:\n"
			  "    flood: { syn: 200pps, reflection: 5kpps, per_source: 1000pps, "
			  "block_time: 5m }\n"
			  "  b: { flood: { per_source: 10pps } }\n"
			  "customers: customers.csv\n",
			  CSV_HDR, &cfg, &errs),
		     0);
	dump_errs(&errs);
	tg_errs_free(&errs);
	if (cfg) {
		p = &cfg->plans[0];
		CHECK_EQ_U64(p->flood.pps[TG_FC_SYN], 200);
		CHECK_EQ_U64(p->flood.pps[TG_FC_REFL], 5000);
		CHECK_EQ_U64(p->flood.pps[TG_FC_SRC], 1000);
		CHECK_EQ_U64(p->flood.block_ns, 300ull * 1000000000ull);
		CHECK_EQ_U64(cfg->plans[1].flood.block_ns, TG_BLOCK_TIME_DEFAULT_NS);
		/* the default reflector ports: DNS, NTP, SSDP, memcached, CharGEN, CLDAP... */
		CHECK(cfg->nrefl_ports >= 20);
		static const uint16_t want[] = {53, 123, 1900, 11211};

		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
			size_t i;

			for (i = 0; i < cfg->nrefl_ports && cfg->refl_ports[i] != want[k]; i++)
				;
			CHECK(i < cfg->nrefl_ports);
		}
	}
	tg_config_free(cfg);

	TEST_BEGIN("flood: a limit with a burst of its own, and its errors");
	CHECK_EQ_U64(load("plans:\n"
			  "  a: { flood: { syn: { rate: 200pps, burst: 50 }, udp: 1kpps } }\n"
			  "customers: customers.csv\n",
			  CSV_HDR, &cfg, &errs),
		     0);
	dump_errs(&errs);
	tg_errs_free(&errs);
	if (cfg) {
		CHECK_EQ_U64(cfg->plans[0].flood.pps[TG_FC_SYN], 200);
		CHECK_EQ_U64(cfg->plans[0].flood.burst[TG_FC_SYN], 50);
		CHECK_EQ_U64(cfg->plans[0].flood.pps[TG_FC_UDP], 1000);
		CHECK_EQ_U64(cfg->plans[0].flood.burst[TG_FC_UDP], 0);
	}
	tg_config_free(cfg);
	CHECK_EQ_U64(load("plans:\n"
			  "  a: { flood: { syn: { burst: 50 } } }\n"
			  "  b: { flood: { syn: { rate: 200pps, burst: 0 } } }\n"
			  "  c: { flood: { syn: { rate: 200pps, size: 3 } } }\n"
			  "customers: customers.csv\n",
			  CSV_HDR, &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK(any_err(&errs, "tollgate.yaml:2:", "a rate is required beside the burst"));
	CHECK(any_err(&errs, "tollgate.yaml:3:", "out of range"));
	CHECK(any_err(&errs, "tollgate.yaml:4:", "size"));
	CHECK_EQ_U64(errs.n, 3);
	tg_errs_free(&errs);

	TEST_BEGIN("flood: a customer's own syn, udp, icmp, frag limits (CSV), and their errors");
	CHECK_EQ_U64(load(BASE_YAML,
			  "id,plan,prefixes,syn,udp,icmp,frag\n"
			  "a,home-100,10.0.0.0/24,500pps,20kpps,,\n"
			  "b,home-100,10.0.1.0/24,,,,\n",
			  &cfg, &errs),
		     0);
	dump_errs(&errs);
	tg_errs_free(&errs);
	if (cfg) {
		CHECK_EQ_U64(cfg->customers[0].flood_pps[TG_FC_SYN], 500);
		CHECK_EQ_U64(cfg->customers[0].flood_pps[TG_FC_UDP], 20000);
		CHECK_EQ_U64(cfg->customers[0].flood_pps[TG_FC_ICMP], 0);
		CHECK_EQ_U64(cfg->customers[1].flood_pps[TG_FC_SYN], 0);
	}
	tg_config_free(cfg);
	CHECK_EQ_U64(load(BASE_YAML,
			  "id,plan,prefixes,syn,icmp\n"
			  "a,home-100,10.0.0.0/24,lots,0\n",
			  &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK(any_err(&errs, "customers.csv:2: field 'syn'", "not a packet rate"));
	CHECK(any_err(&errs, "customers.csv:2: field 'icmp'", "above zero"));
	CHECK_EQ_U64(errs.n, 2);
	tg_errs_free(&errs);

	TEST_BEGIN("flood: block_time errors, reflection_ports errors");
	CHECK_EQ_U64(load("plans:\n"
			  "  a: { flood: { block_time: 5m } }\n"
			  "  b: { flood: { per_source: 10pps, block_time: 0s } }\n"
			  "  c: { flood: { per_source: 10pps, block_time: 2d } }\n"
			  "customers: customers.csv\n"
			  "reflection_ports: [53, 123, 53, 70000, dns]\n",
			  CSV_HDR, &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:2:", "block_time without flood.per_source");
	CHECK_ERR(&errs, "tollgate.yaml:3:", "block_time '0s'");
	CHECK_ERR(&errs, "tollgate.yaml:4:", "block_time '2d'");
	CHECK(any_err(&errs, "tollgate.yaml:6:", "53 is listed twice"));
	CHECK(any_err(&errs, "tollgate.yaml:6:", "70000 out of range"));
	CHECK(any_err(&errs, "tollgate.yaml:6:", "'dns' is not a whole number"));
	CHECK_EQ_U64(errs.n, 6);
	tg_errs_free(&errs);
}

/* ---- control ---- */

static void test_control_config(void)
{
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs = {};
	int rc;

	TEST_BEGIN("control.group: an existing group is kept");
	rc = load("customers: customers.csv\ncontrol: { group: daemon }\n", CSV_HDR, &cfg, &errs);
	CHECK(rc == 0);
	CHECK(cfg && cfg->control_group && !strcmp(cfg->control_group, "daemon"));
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("control.group: default none (root only)");
	rc = load("customers: customers.csv\n", CSV_HDR, &cfg, &errs);
	CHECK(rc == 0 && cfg && !cfg->control_group);
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("control.group: a group this host does not have is an error at its line");
	cfg = NULL;
	rc = load("customers: customers.csv\ncontrol:\n  group: no-such-group-tg\n", CSV_HDR, &cfg,
		  &errs);
	CHECK(rc == -EINVAL && !cfg && errs.n == 1);
	if (errs.n)
		CHECK_STR_CONTAINS(
			errs.msg[0],
			":3:10: control.group: no group 'no-such-group-tg' on this host");
	tg_errs_free(&errs);

	TEST_BEGIN("control: unknown key is an error");
	rc = load("customers: customers.csv\ncontrol: { owner: root }\n", CSV_HDR, &cfg, &errs);
	CHECK(rc == -EINVAL && errs.n == 1);
	if (errs.n)
		CHECK_STR_CONTAINS(errs.msg[0], "owner");
	tg_errs_free(&errs);
}

/* ---- notify ---- */

/* Load a tollgate.yaml of a customers path and "notify: <notify>" (on line 2). */
static int load_notify(const char *notify, struct tg_cfg **cfg, struct tg_errs *errs)
{
	char *yaml;
	int rc;

	if (asprintf(&yaml, "customers: customers.csv\nnotify: %s\n", notify) < 0)
		abort();
	rc = load(yaml, CSV_HDR, cfg, errs);
	free(yaml);
	return rc;
}

static void test_notify_config(void)
{
	static const char *const good_urls[] = {
		"http://127.0.0.1:9000/hook", "https://hooks.example.com/x?token=abc%20d",
		"http://[::1]:8080/",	      "HTTP://host",
		"http://host:65535",	      "https://a-b.c_d.example:443/p/q?r=s&t=u",
	};
	static const struct {
		const char *url, *why;
	} bad_urls[] = {
		{"ftp://h/x", "want an http:// or https:// URL"},
		{"127.0.0.1:9000/hook", "want an http:// or https:// URL"},
		{"http://", "no host name"},
		{"http:///path", "no host name"},
		{"http://h:0/", "port must be a number from 1 to 65535"},
		{"http://h:65536/", "port must be a number from 1 to 65535"},
		{"http://h:/", "port must be a number from 1 to 65535"},
		{"http://h:8a/", "port must be a number from 1 to 65535"},
		{"http://user:pw@h/", "user:password@"},
		{"http://[::1/", "in brackets"},
		{"http://[zz::q]/", "IPv6 address in brackets is not valid"},
		{"http://h h/", "not a valid name"},
		{"http://h/a b", "percent-encoded"},
		{"http://h/#frag", "fragment"},
		{"http://-h/", "not a valid name"},
	};
	char hook[192], plain[192], yaml[512];
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	size_t i;
	int rc;

	snprintf(hook, sizeof(hook), "%s/hook.sh", tmpdir);
	snprintf(plain, sizeof(plain), "%s/not-executable.sh", tmpdir);
	tl_write_file(hook, "#!/bin/sh\nexit 0\n");
	tl_write_file(plain, "#!/bin/sh\nexit 0\n");
	chmod(hook, 0755);
	chmod(plain, 0644);

	TEST_BEGIN("notify: every key parsed");
	snprintf(yaml, sizeof(yaml),
		 "{ exec: %s, webhook: \"https://127.0.0.1:9000/hook\", timeout: 2s,\n"
		 "  retry: { min: 500ms, max: 1m } }",
		 hook);
	rc = load_notify(yaml, &cfg, &errs);
	CHECK_EQ_U64(rc, 0);
	dump_errs(&errs);
	tg_errs_free(&errs);
	if (cfg) {
		CHECK(cfg->notify.exec && !strcmp(cfg->notify.exec, hook));
		CHECK(cfg->notify.webhook &&
		      !strcmp(cfg->notify.webhook, "https://127.0.0.1:9000/hook"));
		CHECK_EQ_U64(cfg->notify.timeout_ms, 2000);
		CHECK_EQ_U64(cfg->notify.retry_min_ms, 500);
		CHECK_EQ_U64(cfg->notify.retry_max_ms, 60000);
	}
	tg_config_free(cfg);

	TEST_BEGIN("notify: defaults (no section, null, empty mapping, one target)");
	for (i = 0; i < 4; i++) {
		static const char *const yamls[] = {
			"customers: customers.csv\n",
			"customers: customers.csv\nnotify:\n",
			"customers: customers.csv\nnotify: {}\n",
			"customers: customers.csv\nnotify: { webhook: \"http://h/\", retry: {} }\n",
		};

		rc = load(yamls[i], CSV_HDR, &cfg, &errs);
		CHECK_EQ_U64(rc, 0);
		dump_errs(&errs);
		tg_errs_free(&errs);
		if (!cfg)
			continue;
		CHECK(!cfg->notify.exec);
		CHECK(i == 3 ? cfg->notify.webhook != NULL : cfg->notify.webhook == NULL);
		CHECK_EQ_U64(cfg->notify.timeout_ms, 5000);
		CHECK_EQ_U64(cfg->notify.retry_min_ms, 1000);
		CHECK_EQ_U64(cfg->notify.retry_max_ms, 300000);
		tg_config_free(cfg);
	}

	TEST_BEGIN("notify: good webhook URLs");
	for (i = 0; i < sizeof(good_urls) / sizeof(good_urls[0]); i++) {
		snprintf(yaml, sizeof(yaml), "{ webhook: \"%s\" }", good_urls[i]);
		rc = load_notify(yaml, &cfg, &errs);
		CHECK_EQ_U64(rc, 0);
		if (rc)
			fprintf(stderr, "    url %s\n", good_urls[i]);
		dump_errs(&errs);
		tg_errs_free(&errs);
		if (cfg)
			CHECK(!strcmp(cfg->notify.webhook, good_urls[i]));
		tg_config_free(cfg);
	}

	TEST_BEGIN("notify: bad webhook URLs, each with its reason");
	for (i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		char where[256];

		snprintf(yaml, sizeof(yaml), "{ webhook: \"%s\" }", bad_urls[i].url);
		snprintf(where, sizeof(where), "tollgate.yaml:2:20: notify.webhook '%s'",
			 bad_urls[i].url);
		rc = load_notify(yaml, &cfg, &errs);
		CHECK_EQ_U64(rc, (uint64_t)-EINVAL);
		CHECK(cfg == NULL);
		CHECK_ERR(&errs, where, bad_urls[i].why);
		CHECK_EQ_U64(errs.n, 1);
		tg_errs_free(&errs);
	}

	TEST_BEGIN("notify: exec relative, missing, not executable, a directory (file named)");
	rc = load_notify("{ exec: bin/hook }", &cfg, &errs);
	CHECK_EQ_U64(rc, (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:2:17: notify.exec 'bin/hook'", "must be an absolute path");
	CHECK_EQ_U64(errs.n, 1);
	tg_errs_free(&errs);
	snprintf(yaml, sizeof(yaml), "{ exec: %s/no-such-hook }", tmpdir);
	rc = load_notify(yaml, &cfg, &errs);
	CHECK_EQ_U64(rc, (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "no-such-hook'", "No such file or directory");
	CHECK_EQ_U64(errs.n, 1);
	tg_errs_free(&errs);
	snprintf(yaml, sizeof(yaml), "{ exec: %s }", plain);
	rc = load_notify(yaml, &cfg, &errs);
	CHECK_EQ_U64(rc, (uint64_t)-EINVAL);
	/* even for root: access(X_OK) wants an x bit */
	CHECK_ERR(&errs, plain, "is not executable");
	CHECK_EQ_U64(errs.n, 1);
	tg_errs_free(&errs);
	snprintf(yaml, sizeof(yaml), "{ exec: %s }", tmpdir);
	rc = load_notify(yaml, &cfg, &errs);
	CHECK_EQ_U64(rc, (uint64_t)-EINVAL);
	CHECK_ERR(&errs, tmpdir, "is not a regular file");
	CHECK_EQ_U64(errs.n, 1);
	tg_errs_free(&errs);

	TEST_BEGIN("notify: unknown keys, durations out of range, min above max, all collected");
	rc = load("customers: customers.csv\n"
		  "notify:\n"
		  "  webhok: \"http://h/\"\n"
		  "  timeout: 0s\n"
		  "  retry: { min: 50ms, max: 2d, jitter: 1s }\n",
		  CSV_HDR, &cfg, &errs);
	CHECK_EQ_U64(rc, (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:3:3: ", "unknown key 'webhok' in notify");
	CHECK_ERR(&errs, "tollgate.yaml:4:12: ", "notify.timeout '0s': out of range (1s to 60s)");
	CHECK_ERR(&errs, "tollgate.yaml:5:17: ", "notify.retry.min '50ms': out of range");
	CHECK_ERR(&errs, "tollgate.yaml:5:28: ", "notify.retry.max '2d': out of range");
	CHECK_ERR(&errs, "tollgate.yaml:5:32: ", "unknown key 'jitter' in notify.retry");
	CHECK_EQ_U64(errs.n, 5);
	tg_errs_free(&errs);
	rc = load("customers: customers.csv\n"
		  "notify:\n"
		  "  timeout: 61s\n"
		  "  retry: { min: 10m, max: 5m }\n",
		  CSV_HDR, &cfg, &errs);
	CHECK_EQ_U64(rc, (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:3:12: ", "notify.timeout '61s': out of range");
	CHECK_ERR(&errs, "tollgate.yaml:4:17: ", "min (600000 ms) is above max (300000 ms)");
	CHECK_EQ_U64(errs.n, 2);
	tg_errs_free(&errs);
	rc = load("customers: customers.csv\n"
		  "notify: { timeout: soon, retry: { min: 2h }, exec: \"\", webhook: [a] }\n",
		  CSV_HDR, &cfg, &errs);
	CHECK_EQ_U64(rc, (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:2:20: ", "notify.timeout 'soon': not a duration");
	/* min alone above the default max (5m) */
	CHECK_ERR(&errs, "tollgate.yaml:2:40: ", "min (7200000 ms) is above max (300000 ms)");
	CHECK_ERR(&errs, "tollgate.yaml:2:52: ", "notify.exec is empty");
	CHECK_ERR(&errs, "tollgate.yaml:2:65: ", "notify.webhook must be a single value");
	CHECK_EQ_U64(errs.n, 4);
	tg_errs_free(&errs);
}

/* ---- h3: per_source_exempt, interfaces' exceptions ---- */

static void test_h3_config(void)
{
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs = {};
	char *big;
	size_t off = 0, i;

	TEST_BEGIN("h3: per_source_exempt is read; exceptions default to 200pps on a customer "
		   "interface, none upstream, and take a rate, { rate, burst } or off");
	CHECK_EQ_U64(
		load("interfaces:\n"
		     "  - { name: eth1, role: customer }\n"
		     "  - { name: eth2, role: customer, exceptions: 50pps }\n"
		     "  - { name: eth3, role: customer, exceptions: { rate: 40pps, burst: 80 } }\n"
		     "  - { name: eth4, role: customer, exceptions: off }\n"
		     "  - { name: eth0, role: upstream }\n"
		     "customers: customers.csv\n"
		     "per_source_exempt: [192.0.2.10/32, 2001:db8:99::/48]\n",
		     CSV_HDR, &cfg, &errs),
		0);
	dump_errs(&errs);
	tg_errs_free(&errs);
	if (cfg) {
		CHECK_EQ_U64(cfg->nsrc_exempt, 2);
		CHECK(cfg->src_exempt[0].family == AF_INET && cfg->src_exempt[0].plen == 32);
		CHECK(cfg->src_exempt[1].family == AF_INET6 && cfg->src_exempt[1].plen == 48);
		CHECK_EQ_U64(cfg->ifaces[0].exc_pps, TG_EXC_PPS_DEFAULT);
		CHECK_EQ_U64(cfg->ifaces[1].exc_pps, 50);
		CHECK_EQ_U64(cfg->ifaces[2].exc_pps, 40);
		CHECK_EQ_U64(cfg->ifaces[2].exc_burst, 80);
		CHECK_EQ_U64(cfg->ifaces[3].exc_pps, 0);
		CHECK_EQ_U64(cfg->ifaces[4].exc_pps, 0);
	}
	tg_config_free(cfg);
	cfg = NULL;

	TEST_BEGIN("h3: per_source_exempt and exceptions errors name file, line and field");
	CHECK_EQ_U64(load("interfaces:\n"
			  "  - { name: eth1, role: customer, exceptions: lots }\n"
			  "  - { name: eth0, role: upstream, exceptions: 10pps }\n"
			  "customers: customers.csv\n"
			  "per_source_exempt: [192.0.2.10/32, 192.0.2.10/32, 10.0.0.1/8, dns]\n",
			  CSV_HDR, &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK(any_err(&errs, "tollgate.yaml:2:", "interface 'eth1': exceptions"));
	CHECK(any_err(&errs, "tollgate.yaml:3:", "customer role only"));
	CHECK(any_err(&errs,
		      "tollgate.yaml:5:", "per_source_exempt: '192.0.2.10/32' is listed twice"));
	CHECK(any_err(&errs, "tollgate.yaml:5:", "per_source_exempt:"));
	CHECK_EQ_U64(errs.n, 5);
	tg_errs_free(&errs);
	tg_config_free(cfg);
	cfg = NULL;

	TEST_BEGIN("h3: walled_garden and per_source_exempt hold TG_WALLED_MAX prefixes together");
	big = malloc(64 * (TG_WALLED_MAX + 8) + 256);
	if (!big)
		return;
	off += sprintf(big + off, "customers: customers.csv\nwalled_garden: [");
	for (i = 0; i < TG_WALLED_MAX - 2; i++)
		off += sprintf(big + off, "%s10.%zu.%zu.0/24", i ? ", " : "", i >> 8, i & 255);
	off += sprintf(big + off, "]\nper_source_exempt: [10.0.0.0/24, 11.0.0.0/24, 11.0.1.0/24, "
				  "11.0.2.0/24]\n");
	CHECK_EQ_U64(load(big, CSV_HDR, &cfg, &errs), (uint64_t)-EINVAL);
	CHECK(any_err(&errs, "tollgate.yaml:3:", "at most 1024 together"));
	CHECK_EQ_U64(errs.n, 1);
	tg_errs_free(&errs);
	tg_config_free(cfg);
	free(big);
}

/* ---- h1: bindings ---- */

/* The vlan column: untagged, one tag, QinQ, the wildcards; every bad spelling an error. */
static void test_csv_vlan(void)
{
	static const struct {
		const char *s;
		uint16_t vlan, ivlan;
	} good[] = {
		{"", TG_VLAN_UNTAGGED, TG_VLAN_UNTAGGED},
		{"100", 100, TG_VLAN_UNTAGGED},
		{"1", 1, TG_VLAN_UNTAGGED},
		{"4094", 4094, TG_VLAN_UNTAGGED},
		{"100.200", 100, 200},
		{"4094.1", 4094, 1},
		{"100.*", 100, TG_VLAN_ANY},
		{"*", TG_VLAN_ANY, TG_VLAN_ANY},
	};
	static const char *const bad[] = {
		"0",	"4095", "0.100", "100.0",	"100.4095", "*.100", "*.*",
		"**",	"100.", ".100",	 "100.200.300", "100.**",   "-1",    " 100",
		"100 ", "abc",	"1e2",	 "100.*.5",	"+100",
	};
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	char csv[256];

	TEST_BEGIN("CSV vlan: empty, 100, 100.200, 100.*, * parse to their bindings");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(csv, sizeof(csv), CSV_HDR "a,,free,10.0.0.0/24,eth1,%s\n", good[i].s);
		CHECK_EQ_U64(load(BASE_YAML, csv, &cfg, &errs), 0);
		dump_errs(&errs);
		if (cfg) {
			CHECK_EQ_U64(cfg->customers[0].vlan, good[i].vlan);
			CHECK_EQ_U64(cfg->customers[0].ivlan, good[i].ivlan);
		}
		tg_config_free(cfg);
		tg_errs_free(&errs);
	}

	TEST_BEGIN("CSV vlan: bad spellings are errors that name the field");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[64];

		snprintf(csv, sizeof(csv), CSV_HDR "a,,free,10.0.0.0/24,eth1,\"%s\"\n", bad[i]);
		snprintf(want, sizeof(want), "'%s': want a VLAN id 1..4094", bad[i]);
		CHECK_EQ_U64(load(BASE_YAML, csv, &cfg, &errs), (uint64_t)-EINVAL);
		CHECK_ERR(&errs, "customers.csv:2: field 'vlan': ", want);
		CHECK_EQ_U64(errs.n, 1);
		tg_config_free(cfg);
		tg_errs_free(&errs);
	}

	TEST_BEGIN("CSV vlan: a vlan without an interface is an error (it would be ignored)");
	CHECK_EQ_U64(load(BASE_YAML, CSV_HDR "a,,free,10.0.0.0/24,,*\nb,,free,10.0.1.0/24,,7\n",
			  &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:2: field 'vlan': ", "'*' without an interface");
	CHECK_ERR(&errs, "customers.csv:3: field 'vlan': ", "'7' without an interface");
	CHECK_EQ_U64(errs.n, 2);
	tg_config_free(cfg);
	tg_errs_free(&errs);
	/* an unknown interface is reported once, not again as a vlan without one */
	CHECK_EQ_U64(load(BASE_YAML, CSV_HDR "a,,free,10.0.0.0/24,eth9,7\n", &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:2: field 'interface': ", "'eth9' is not under interfaces");
	CHECK_EQ_U64(errs.n, 1);
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

/* vlan_protocol: the outer TPID of a customer interface. */
static void test_vlan_protocol(void)
{
	static const struct {
		const char *v;
		uint8_t want;
	} good[] = {{"802.1q", TG_IFF_VLAN_Q}, {"802.1ad", TG_IFF_VLAN_AD}, {"any", 0}};
	const char *csv = CSV_HDR "a,,free,10.0.0.0/24,eth1,100\n";
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	char yaml[512];

	TEST_BEGIN("vlan_protocol: 802.1q, 802.1ad, any (the default)");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "interfaces:\n  - { name: eth1, role: customer, vlan_protocol: %s }\n"
			 "plans:\n  free: {}\ncustomers: customers.csv\n",
			 good[i].v);
		CHECK_EQ_U64(load(yaml, csv, &cfg, &errs), 0);
		dump_errs(&errs);
		if (cfg)
			CHECK_EQ_U64(cfg->ifaces[0].vlan_proto, good[i].want);
		tg_config_free(cfg);
		tg_errs_free(&errs);
	}
	CHECK_EQ_U64(load(BASE_YAML, csv, &cfg, &errs), 0);
	if (cfg)
		CHECK_EQ_U64(cfg->ifaces[0].vlan_proto, 0);
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("vlan_protocol: a bad value, and on an upstream interface, are errors");
	CHECK_EQ_U64(load("interfaces:\n  - { name: eth1, role: customer, vlan_protocol: 0x8100 }\n"
			  "  - { name: eth0, role: upstream, vlan_protocol: 802.1q }\n"
			  "plans:\n  free: {}\ncustomers: customers.csv\n",
			  csv, &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:2:", "vlan_protocol '0x8100': want 802.1q, 802.1ad or any");
	CHECK_ERR(&errs, "tollgate.yaml:3:", "vlan_protocol applies to the customer role only");
	CHECK_EQ_U64(errs.n, 2);
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

/* How many of check-config's warnings contain `what`. */
static size_t advice_count(const struct tg_cfg *cfg, const char *what)
{
	char *msg[64];
	size_t n = tg_config_advice(cfg, msg, 64), hits = 0;

	for (size_t i = 0; i < n; i++) {
		hits += strstr(msg[i], what) != NULL;
		free(msg[i]);
	}
	return hits;
}

/* check-config: unbound customers where an interface is strict; the upgrade notes. */
static void test_binding_advice(void)
{
	const char *csv = CSV_HDR "a,,free,10.0.0.0/24,,\n"
				  "b,,free,10.0.1.0/24,,\n"
				  "c,,free,10.0.2.0/24,eth1,\n"
				  "d,,free,10.0.3.0/24,eth1,100\n"
				  "e,,free,10.0.4.0/24,eth1,101\n"
				  "f,,free,10.0.5.0/24,eth1,100.200\n"
				  "g,,free,10.0.6.0/24,eth1,*\n"
				  "h,,free,10.0.7.0/24,eth1,100.*\n";
	const char *loose = "interfaces:\n"
			    "  - { name: eth1, role: customer, antispoof: loose }\n"
			    "  - { name: eth0, role: upstream }\n"
			    "plans:\n  free: {}\n"
			    "customers: customers.csv\n";
	const char *strict = "interfaces:\n"
			     "  - { name: eth1, role: customer }\n"
			     "plans:\n  free: {}\n"
			     "customers: customers.csv\n";
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;

	TEST_BEGIN("check-config: unbound customers counted where an interface is strict");
	CHECK_EQ_U64(load(BASE_YAML, csv, &cfg, &errs), 0);
	dump_errs(&errs);
	if (cfg) {
		CHECK_EQ_U64(advice_count(cfg,
					  "2 customers have no interface: strict "
					  "anti-spoofing on eth1 drops their traffic as spoof"),
			     1);
		TEST_BEGIN("check-config: upgrade notes for an empty vlan and a single tag");
		CHECK_EQ_U64(advice_count(cfg, "upgrade note: 1 customers bound to a strict "
					       "interface have an empty vlan, which now means "
					       "untagged frames only"),
			     1);
		CHECK_EQ_U64(advice_count(cfg, "upgrade note: 2 customers bound to a strict "
					       "interface have one VLAN (e.g. 100)"),
			     1);
		CHECK_EQ_U64(advice_count(cfg, "write 100.* for any inner tag"), 1);
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("check-config: no binding advice without a strict interface");
	CHECK_EQ_U64(load(loose, csv, &cfg, &errs), 0);
	dump_errs(&errs);
	if (cfg) {
		CHECK_EQ_U64(advice_count(cfg, "no interface"), 0);
		CHECK_EQ_U64(advice_count(cfg, "upgrade note"), 0);
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("check-config: no binding advice when every customer is bound (QinQ, *)");
	CHECK_EQ_U64(load(strict,
			  CSV_HDR "d,,free,10.0.3.0/24,eth1,100.200\n"
				  "g,,free,10.0.6.0/24,eth1,*\n",
			  &cfg, &errs),
		     0);
	if (cfg)
		CHECK_EQ_U64(advice_count(cfg, ""), 0);
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

/* ---- h6: refused prefixes, CSV bytes, limits the data plane holds, customers: path ---- */

/* Write len bytes (NULs too) to path. */
static void write_bytes(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f) {
		perror(path);
		return;
	}
	fwrite(data, 1, len, f);
	fclose(f);
}

/* Load BASE_YAML (plus extra YAML lines) with csv[0..len) as customers.csv. */
static int load_bytes(const char *extra, const char *csv, size_t len, struct tg_cfg **cfg,
		      struct tg_errs *errs)
{
	char yaml[2048];

	snprintf(yaml, sizeof(yaml), "%s%s", BASE_YAML, extra);
	tl_write_file(yaml_path, yaml);
	write_bytes(csv_path, csv, len);
	memset(errs, 0, sizeof(*errs));
	*cfg = NULL;
	return tg_config_load(yaml_path, cfg, errs);
}

static void test_h6_refused_prefixes(void)
{
	/* the index is the line number */
	static const char *const l[] = {
		/* 1 */ "id,name,plan,prefixes,interface,vlan",
		/* 2 */ "a,,free,0.0.0.0/0,,",
		/* 3 */ "b,,free,127.0.0.1/32,,",
		/* 4 */ "c,,free,224.0.0.0/4,,",
		/* 5 */ "d,,free,240.0.0.0/8,,",
		/* 6 */ "e,,free,::/128,,",
		/* 7 */ "f,,free,::1/128,,",
		/* 8 */ "g,,free,::ffff:1.2.3.4/128,,",
		/* 9 */ "h,,free,ff02::/16,,",
		/* 10 */ "i,,free,10.0.0.0/7,,",
		/* 11 */ "j,,free,2000::/12,,",
		/* 12 */ "k,,free,fe80::/64,,",
		/* 13 */ "l,,free,169.254.10.0/24,,",
		/* 14 */ "m,,free,::/0,,",
		/* 15 */ "n,,free,0.1.2.3/32,,",
		/* what ISPs do assign: shared, private, documentation, ULA, NAT64, 6to4 */
		/* 16 */ "ok1,,free,100.64.0.0/10 10.0.0.0/8 192.168.0.0/16 172.16.0.0/12,,",
		/* 17 */ "ok2,,free,198.18.0.0/15 192.0.2.0/24 2001:db8::/32 fd12:3456::/32,,",
		/* 18 */ "ok3,,free,64:ff9b::/96 2002::/16 223.255.255.0/24 1.0.0.0/8,,",
	};
	static const struct {
		int line;
		const char *what;
	} want[] = {
		{2,
		 "0.0.0.0/0 contains 0.0.0.0/8 (this network): no customer can hold it (refused: "
		 "0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4, 240.0.0.0/4, 169.254.0.0/16)"},
		{3, "127.0.0.1/32 is inside 127.0.0.0/8 (loopback)"},
		{4, "224.0.0.0/4 contains 224.0.0.0/4 (multicast)"},
		{5, "240.0.0.0/8 is inside 240.0.0.0/4 (reserved and broadcast)"},
		{6,
		 "::/128 contains ::/128 (unspecified): no customer can hold it (refused: ::/128, "
		 "::1/128, ::ffff:0.0.0.0/96, ff00::/8, fe80::/10)"},
		{7, "::1/128 contains ::1/128 (loopback)"},
		{8, "::ffff:1.2.3.4/128 is inside ::ffff:0.0.0.0/96 (IPv4-mapped)"},
		{9, "ff02::/16 is inside ff00::/8 (multicast)"},
		{10, "10.0.0.0/7 is shorter than /8"},
		{11, "2000::/12 is shorter than /16"},
		{12, "fe80::/64 is inside fe80::/10 (link-local)"},
		{13, "169.254.10.0/24 is inside 169.254.0.0/16 (link-local)"},
		{14, "::/0 contains ::/128 (unspecified)"},
		{15, "0.1.2.3/32 is inside 0.0.0.0/8"},
	};
	char *csv = join_lines(l, sizeof(l) / sizeof(l[0]));
	struct tg_cfg *cfg;
	struct tg_errs errs;
	char where[64];

	TEST_BEGIN("h6: bogon and link-local customer prefixes are refused, with line and field");
	CHECK_EQ_U64(load(BASE_YAML, csv, &cfg, &errs), (uint64_t)-EINVAL);
	CHECK(cfg == NULL);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(where, sizeof(where),
			 "customers.csv:%d: field 'prefixes': ", want[i].line);
		CHECK_ERR(&errs, where, want[i].what);
	}
	CHECK_STR_CONTAINS(find_err(&errs, "customers.csv:10:"), "allow_short_prefixes: true");
	CHECK_EQ_U64(errs.n, sizeof(want) / sizeof(want[0])); /* lines 16-18 are fine */
	if (errs.n != sizeof(want) / sizeof(want[0]))
		dump_errs(&errs);
	tg_errs_free(&errs);

	TEST_BEGIN("h6: allow_short_prefixes admits /7 and /12, never a bogon");
	CHECK_EQ_U64(load(BASE_YAML "allow_short_prefixes: true\n", csv, &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK(find_err(&errs, "customers.csv:10:") == NULL);
	CHECK(find_err(&errs, "customers.csv:11:") == NULL);
	CHECK_ERR(&errs, "customers.csv:2: field 'prefixes': ", "0.0.0.0/0 contains 0.0.0.0/8");
	CHECK_ERR(&errs, "customers.csv:14: field 'prefixes': ", "::/0 contains ::/128");
	CHECK_EQ_U64(errs.n, sizeof(want) / sizeof(want[0]) - 2);
	tg_errs_free(&errs);
	free(csv);
	CHECK_EQ_U64(load(BASE_YAML "allow_short_prefixes: true\n",
			  CSV_HDR "i,,free,10.0.0.0/7,,\nj,,free,2000::/12,,\n", &cfg, &errs),
		     0);
	dump_errs(&errs);
	CHECK(cfg && cfg->ncustomers == 2 && cfg->customers[0].pfx[0].plen == 7);
	tg_config_free(cfg);
	tg_errs_free(&errs);
	CHECK_EQ_U64(load(BASE_YAML "allow_short_prefixes: maybe\n", CSV_HDR, &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:13:", "allow_short_prefixes: 'maybe' is not true or false");
	tg_errs_free(&errs);
}

static void test_h6_csv_bytes(void)
{
	static const char nul[] = CSV_HDR "a\0b,,free,10.0.0.0/24,,\n"
					  "c,,free,10.0.1.0/24\0 10.0.2.0/24,,\n"
					  "d,\"D\0\",free,10.0.3.0/24,,\n"
					  "e,,free,10.0.4.0/24,,\n";
	static const char nul_hdr[] = "id,na\0me,plan,prefixes\na,,free,10.0.0.0/24\n";
	static const char cr[] = "id,name,plan,prefixes\r"
				 "a,,free,10.0.0.0/24\r"
				 "b,,nope,10.0.1.0/24\r"
				 "c,\"C,\rwith a break\",free,10.0.2.0/24\r"
				 "d,,nope,10.0.3.0/24\r";
	static const char crlf[] = "id,name,plan,prefixes\r\n"
				   "a,,free,10.0.0.0/24\r\n"
				   "b,,nope,10.0.1.0/24\r\n"
				   "c,,free,10.0.2.0/24\r"
				   "d,,nope,10.0.3.0/24\n";
	struct tg_cfg *cfg;
	struct tg_errs errs;

	TEST_BEGIN("h6: a NUL byte in a field is an error naming line and field");
	CHECK_EQ_U64(load_bytes("", nul, sizeof(nul) - 1, &cfg, &errs), (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:2: field 'id': ", "contains a NUL byte");
	CHECK_ERR(&errs, "customers.csv:3: field 'prefixes': ", "contains a NUL byte");
	CHECK_ERR(&errs, "customers.csv:4: field 'name': ", "contains a NUL byte");
	CHECK_EQ_U64(errs.n, 3);
	if (errs.n != 3)
		dump_errs(&errs);
	tg_errs_free(&errs);
	CHECK_EQ_U64(load_bytes("", nul_hdr, sizeof(nul_hdr) - 1, &cfg, &errs), (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:1: field 'column 2': ", "contains a NUL byte");
	tg_errs_free(&errs);

	TEST_BEGIN("h6: CR-only line ends count lines (a CR inside quotes too)");
	CHECK_EQ_U64(load_bytes("", cr, sizeof(cr) - 1, &cfg, &errs), (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:3: field 'plan': ", "unknown plan 'nope'");
	CHECK_ERR(&errs, "customers.csv:6: field 'plan': ", "unknown plan 'nope'");
	CHECK_EQ_U64(errs.n, 2);
	if (errs.n != 2)
		dump_errs(&errs);
	tg_errs_free(&errs);
	/* without the two bad rows: lines as loaded */
	{
		static const char good[] = "id,name,plan,prefixes\ra,,free,10.0.0.0/24\r\r"
					   "c,\"C,\rx\",free,10.0.2.0/24\rd,,free,10.0.3.0/24";

		CHECK_EQ_U64(load_bytes("", good, sizeof(good) - 1, &cfg, &errs), 0);
		dump_errs(&errs);
		CHECK(cfg && cfg->ncustomers == 3);
		if (cfg && cfg->ncustomers == 3) {
			CHECK_EQ_U64(cfg->customers[0].line, 2);
			CHECK_EQ_U64(cfg->customers[1].line, 4);
			CHECK_EQ_U64(cfg->customers[2].line, 6);
			CHECK(!strcmp(cfg->customers[1].name, "C,\rx"));
		}
		tg_config_free(cfg);
		tg_errs_free(&errs);
	}
	TEST_BEGIN("h6: CRLF, CR and LF mixed count one line each");
	CHECK_EQ_U64(load_bytes("", crlf, sizeof(crlf) - 1, &cfg, &errs), (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:3: field 'plan': ", "unknown plan 'nope'");
	CHECK_ERR(&errs, "customers.csv:5: field 'plan': ", "unknown plan 'nope'");
	CHECK_EQ_U64(errs.n, 2);
	tg_errs_free(&errs);
}

/* found by fuzz_csv: a NUL in a row libcsv refuses (a stray quote) must go with that row,
 * not be charged to the next one (which a reload reusing rows loaded, a fresh load not) */
static void test_nul_then_stray_quote(void)
{
	static const char csv[] = CSV_HDR "x\0y,,free,10.0.0.0/\"24,,\n"
					  "a,,free,10.0.1.0/24,,\n";
	struct tg_cfg *cfg;
	struct tg_errs errs;

	TEST_BEGIN("CSV: a NUL in a row with a stray quote is not charged to the next row");
	CHECK_EQ_U64(load_bytes("", csv, sizeof(csv) - 1, &cfg, &errs), (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:2: ", "a stray quote");
	CHECK(find_err(&errs, "customers.csv:3:") == NULL);
	CHECK_EQ_U64(errs.n, 1);
	tg_errs_free(&errs);
}

static void test_h6_ids(void)
{
	static const char csv[] =
		CSV_HDR "caf\xe9,,free,10.0.0.0/24,,\n"		   /* Latin-1 */
			"caf\xc3\xa9,,free,10.0.1.0/24,,\n"	   /* UTF-8, outside the charset */
			"x\xc2\x85y,,free,10.0.2.0/24,,\n"	   /* C1 NEL */
			"\xc0\xaf,,free,10.0.3.0/24,,\n"	   /* overlong '/' */
			"s\xed\xa0\x80,,free,10.0.4.0/24,,\n"	   /* a surrogate */
			"t\xf4\x90\x80\x80,,free,10.0.5.0/24,,\n"  /* over U+10FFFF */
			"\xf0\x9f\x9a\xa6-1,,free,10.0.6.0/24,,\n" /* U+1F6A6: likewise */
			"tab\there,,free,10.0.7.0/24,,\n"	   /* control */
			"cut\xe2\x82,,free,10.0.8.0/24,,\n";	   /* truncated */
	struct tg_cfg *cfg;
	struct tg_errs errs;

	TEST_BEGIN("h6: ids must be UTF-8 without control characters (then h10's safe charset)");
	CHECK_EQ_U64(load_bytes("", csv, sizeof(csv) - 1, &cfg, &errs), (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:2: field 'id': ", "not UTF-8 (byte 4, 0xe9)");
	CHECK_ERR(&errs, "customers.csv:3: field 'id': ", "has a character other than");
	CHECK_ERR(&errs, "customers.csv:4: field 'id': ", "control character (byte 2, U+0085)");
	CHECK_ERR(&errs, "customers.csv:5: field 'id': ", "not UTF-8 (byte 1, 0xc0)");
	CHECK_ERR(&errs, "customers.csv:6: field 'id': ", "not UTF-8 (byte 2, 0xed)");
	CHECK_ERR(&errs, "customers.csv:7: field 'id': ", "not UTF-8 (byte 2, 0xf4)");
	CHECK_ERR(&errs, "customers.csv:8: field 'id': ", "has a character other than");
	CHECK_ERR(&errs, "customers.csv:9: field 'id': ", "control character (byte 4, U+0009)");
	CHECK_ERR(&errs, "customers.csv:10: field 'id': ", "not UTF-8 (byte 4, 0xe2)");
	CHECK_EQ_U64(errs.n, 9);
	for (size_t i = 0; i < errs.n;
	     i++) /* the messages themselves are UTF-8: the raw bytes are not quoted */
		CHECK(!strchr(errs.msg[i], 0xe9) && !strchr(errs.msg[i], 0xed));
	tg_errs_free(&errs);
}

/* What `customer show` prints (cmd_status.c) from what the sync writes (sync.c). */
static void show(uint64_t rate, uint64_t burst, uint64_t *rate_out, uint64_t *burst_out)
{
	struct tg_rate_cfg r = {.rate_bps = rate, .burst_bytes = burst};
	struct tg_policer_cfg pc;

	tg_policer_params(&r, 0, &pc);
	*rate_out = tg_gcra_rate_bps(pc.ipb_fns16);
	*burst_out = tg_gcra_burst_bytes(pc.ipb_fns16, pc.tol_fns);
}

static void test_h6_limits(void)
{
	static const uint64_t rates[] = {
		1000,		64000,		 1000000,	  20000000,
		100000000,	300000000,	 2500000000ull,	  10000000000ull,
		40000000000ull, 100000000000ull, TG_RATE_MAX_BPS, 1234567,
		999999,		123456800,	 12345500000ull,  22900000,
	};
	static const uint64_t bursts[] = {1500, 262144, 1048576, 4194304, 1ull << 31};
	struct tg_cfg *cfg;
	struct tg_errs errs;
	uint64_t r, b;

	TEST_BEGIN("h6: what customer show prints is what was configured");
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		for (size_t j = 0; j < sizeof(bursts) / sizeof(bursts[0]); j++) {
			show(rates[i], bursts[j], &r, &b);
			if (r != rates[i] || b != bursts[j])
				fprintf(stderr, "    %llu bit/s, %llu B -> %llu bit/s, %llu B\n",
					(unsigned long long)rates[i], (unsigned long long)bursts[j],
					(unsigned long long)r, (unsigned long long)b);
			CHECK(r == rates[i] && b == bursts[j]);
		}
	}
	/* every rate written with up to three significant digits, 1kbit to 500gbit */
	for (uint64_t scale = 1; scale <= 1000000000ull; scale *= 10) {
		for (uint64_t m = 100; m <= 999; m++) {
			uint64_t rate = m * scale;

			if (rate < TG_RATE_MIN_BPS || rate > TG_RATE_MAX_BPS)
				continue;
			if (tg_rate_held(rate) != rate) {
				fprintf(stderr, "    %llu bit/s is shown as %llu\n",
					(unsigned long long)rate,
					(unsigned long long)tg_rate_held(rate));
				CHECK(0);
				break;
			}
		}
	}
	show(100000000, 16ull << 30, &r, &b); /* 16g at 100mbit */
	CHECK_EQ_U64(r, 100000000);
	CHECK_EQ_U64(b, 16ull << 30);
	show(2500000000ull, 16ull << 30, &r, &b);
	CHECK_EQ_U64(r, 2500000000ull);
	CHECK_EQ_U64(b, 16ull << 30);
	CHECK_EQ_U64(tg_burst_max_bytes(1000), 2251799813ull);
	CHECK_EQ_U64(tg_burst_max_bytes(100000000), 225179981368524ull);
	CHECK_EQ_U64(tg_pkt_burst_max(1), 18014398ull);

	TEST_BEGIN("h6: rates, bursts and packet rates beyond the policers are errors (YAML)");
	CHECK_EQ_U64(load("plans:\n"
			  "  a:\n"
			  "    upload: { rate: 100t, burst: 1m }\n"
			  "    download: { rate: 500bit, burst: 1m }\n"
			  "  b:\n"
			  "    upload: { rate: 1kbit, burst: 16g }\n"
			  "    download: { rate: 1mbit, burst: 8000000000g }\n"
			  "  c:\n"
			  "    flood: { syn: 300mpps, udp: { rate: 1pps, burst: 1000000000 } }\n"
			  "    smtp: 300000000/s\n"
			  "  d:\n"
			  "    upload: { rate: 500g, burst: 16g }\n"
			  "    download: { rate: 0.5t, burst: 1500 }\n"
			  "  e:\n"
			  "    upload: { rate: 123456789bit, burst: 1m }\n"
			  "    download: { rate: 500.001g, burst: 1m }\n"
			  "    flood: { syn: 256mpps, udp: { rate: 1pps, burst: 18014398 } }\n"
			  "customers: customers.csv\n",
			  CSV_HDR, &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "tollgate.yaml:3:21: ",
		  "plan 'a': upload.rate: '100t' is above 500gbit, the highest rate");
	CHECK_ERR(&errs, "tollgate.yaml:4:23: ",
		  "plan 'a': download.rate: '500bit' is below 1kbit, the lowest rate");
	CHECK_ERR(&errs, "tollgate.yaml:6:35: ",
		  "plan 'b': upload.burst: 17179869184 bytes at 1kbit is more than a policer "
		  "holds: at most 2251799813 bytes");
	CHECK_ERR(&errs, "tollgate.yaml:7:37: ",
		  "plan 'b': download.burst: 8589934592000000000 bytes at 1mbit is more than a "
		  "policer holds: at most 2251799813685 bytes");
	CHECK_ERR(&errs,
		  "tollgate.yaml:9:19: ", "plan 'c': flood.syn: '300mpps' is above 256000000pps");
	CHECK_ERR(&errs, "tollgate.yaml:9:54: ",
		  "a burst of 1000000000 packets at 1pps is more than a limit holds: at most "
		  "18014398");
	CHECK_ERR(&errs, "tollgate.yaml:10:11: ", "smtp '300000000/s': above 256000000/s");
	CHECK(find_err(&errs, "tollgate.yaml:11:") == NULL && find_err(&errs, "yaml:12:") == NULL &&
	      find_err(&errs, "tollgate.yaml:13:") == NULL && find_err(&errs, "yaml:14:") == NULL &&
	      find_err(&errs, "tollgate.yaml:17:") == NULL);
	CHECK_ERR(&errs, "tollgate.yaml:15:21: ",
		  "plan 'e': upload.rate: '123456789bit' is finer than a policer tells apart at "
		  "this rate: write 123456800bit");
	CHECK_ERR(&errs, "tollgate.yaml:16:23: ", "'500.001g' is above 500gbit");
	CHECK_EQ_U64(errs.n, 9);
	if (errs.n != 9)
		dump_errs(&errs);
	tg_errs_free(&errs);

	TEST_BEGIN("h6: rates, bursts and packet rates beyond the policers are errors (CSV)");
	CHECK_EQ_U64(load(BASE_YAML,
			  "id,plan,prefixes,upload_rate,upload_burst,download_rate,syn\n"
			  "a,home-100,10.0.0.0/24,100t,,,\n"
			  "b,home-100,10.0.1.0/24,999bit,,,\n"
			  "c,home-100,10.0.2.0/24,1kbit,16g,,\n"
			  "d,home-100,10.0.3.0/24,,,1kbit,\n"
			  "e,home-100,10.0.4.0/24,,,,300mpps\n"
			  "f,home-100,10.0.5.0/24,,,,5000000000\n"
			  "g,home-100,10.0.6.0/24,100mbit,16g,200mbit,256mpps\n"
			  "h,home-100,10.0.7.0/24,,,199999999,\n",
			  &cfg, &errs),
		     (uint64_t)-EINVAL);
	CHECK_ERR(&errs, "customers.csv:2: field 'upload_rate': ",
		  "'100t' is above 500gbit, the highest rate a policer holds exactly");
	CHECK_ERR(&errs, "customers.csv:3: field 'upload_rate': ", "'999bit' is below 1kbit");
	CHECK_ERR(&errs, "customers.csv:4: field 'upload_burst': ",
		  "a burst of 17179869184 bytes at 1kbit is more than a policer holds: at most "
		  "2251799813 bytes");
	/* the plan's 1m download burst at the row's 1kbit: fine (at most 2251799813) */
	CHECK(find_err(&errs, "customers.csv:5:") == NULL);
	CHECK_ERR(&errs, "customers.csv:6: field 'syn': ", "'300mpps' is above 256000000pps");
	CHECK_ERR(&errs, "customers.csv:7: field 'syn': ", "'5000000000' is above 256000000pps");
	CHECK(find_err(&errs, "customers.csv:8:") == NULL);
	CHECK_ERR(
		&errs, "customers.csv:9: field 'download_rate': ",
		"'199999999' is finer than a policer tells apart at this rate: write 199999930bit");
	CHECK_EQ_U64(errs.n, 6);
	if (errs.n != 6)
		dump_errs(&errs);
	tg_errs_free(&errs);
	CHECK_EQ_U64(load(BASE_YAML,
			  "id,plan,prefixes,upload_rate,download_burst\n"
			  "d,home-100,10.0.3.0/24,1kbit,\n"
			  "g,home-100,10.0.6.0/24,2.5g,16g\n",
			  &cfg, &errs),
		     0);
	dump_errs(&errs);
	if (cfg) {
		show(cfg->customers[1].dir[TG_DIR_DOWN].rate_bps,
		     cfg->customers[1].dir[TG_DIR_DOWN].burst_bytes, &r, &b);
		CHECK_EQ_U64(r, 100000000);
		CHECK_EQ_U64(b, 16ull << 30);
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

/* Load with `customers:` pointing at path; 10 s of alarm: an open that waits is a failure. */
static int load_customers_at(const char *path, struct tg_cfg **cfg, struct tg_errs *errs)
{
	char yaml[512];
	int rc;

	snprintf(yaml, sizeof(yaml), "%scustomers: %s\n", "plans: { free: {} }\n", path);
	tl_write_file(yaml_path, yaml);
	memset(errs, 0, sizeof(*errs));
	alarm(10);
	rc = tg_config_load(yaml_path, cfg, errs);
	alarm(0);
	return rc;
}

static void test_h6_customers_path(void)
{
	char fifo[192], dir[192], want[256];
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;

	snprintf(fifo, sizeof(fifo), "%s/fifo.csv", tmpdir);
	snprintf(dir, sizeof(dir), "%s/dir.csv", tmpdir);
	mkfifo(fifo, 0600);
	mkdir(dir, 0700);

	TEST_BEGIN("h6: customers: a FIFO is refused at once, naming the YAML line");
	CHECK(load_customers_at(fifo, &cfg, &errs) < 0);
	snprintf(want, sizeof(want), "tollgate.yaml:2: customers: '%s' is a FIFO (named pipe)",
		 fifo);
	CHECK_ERR(&errs, want, "not a regular file");
	tg_errs_free(&errs);

	TEST_BEGIN("h6: customers: /dev/null and a directory are refused");
	CHECK(load_customers_at("/dev/null", &cfg, &errs) < 0);
	CHECK_ERR(&errs, "tollgate.yaml:2: customers: '/dev/null' is a character device",
		  "not a regular file");
	tg_errs_free(&errs);
	CHECK(load_customers_at(dir, &cfg, &errs) < 0);
	CHECK_ERR(&errs, "is a directory", "not a regular file");
	tg_errs_free(&errs);

	TEST_BEGIN(
		"h6: a directory named on line 1 is reported before line 3's error (file order)");
	{
		char yaml[512], yaml_path[256];
		size_t at_dir = SIZE_MAX, at_bad = SIZE_MAX;

		snprintf(yaml_path, sizeof(yaml_path), "%s/order.yaml", tmpdir);
		snprintf(yaml, sizeof(yaml), "customers: %s\nplans: { free: {} }\nbogus: 1\n", dir);
		tl_write_file(yaml_path, yaml);
		memset(&errs, 0, sizeof(errs));
		CHECK(tg_config_load(yaml_path, &cfg, &errs) < 0);
		for (size_t i = 0; i < errs.n; i++) {
			if (strstr(errs.msg[i], "order.yaml:1: customers:"))
				at_dir = i;
			if (strstr(errs.msg[i], "order.yaml:3:"))
				at_bad = i;
		}
		CHECK(at_dir != SIZE_MAX && at_bad != SIZE_MAX);
		CHECK(at_dir < at_bad);
		tg_errs_free(&errs);
		unlink(yaml_path);
	}

	TEST_BEGIN("h6: a FIFO as tollgate.yaml is refused at once");
	alarm(10);
	memset(&errs, 0, sizeof(errs));
	CHECK(tg_config_load(fifo, &cfg, &errs) < 0);
	alarm(0);
	CHECK_ERR(&errs, "fifo.csv: cannot read", "it is a FIFO (named pipe)");
	tg_errs_free(&errs);
	alarm(10); /* what the read-only commands read of it */
	CHECK_EQ_U64(tg_config_pin_dir(fifo, want, sizeof(want)), (uint64_t)-EINVAL);
	alarm(0);
	unlink(fifo);
	rmdir(dir);
}

/* ---- h10: metrics.hosts, metrics.token_file, and the warning without a token ---- */
static size_t advice_matching(const struct tg_cfg *cfg, const char *what)
{
	char *adv[64];
	size_t n = tg_config_advice(cfg, adv, 64), hit = 0;

	for (size_t i = 0; i < n; i++) {
		hit += strstr(adv[i], what) != NULL;
		free(adv[i]);
	}
	return hit;
}

static void test_h10_metrics_access(void)
{
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	char want[600];

	TEST_BEGIN("h10: metrics.hosts and token_file; check-config warns without a token");
	CHECK(load("customers: customers.csv\nmetrics: { listen: \"0.0.0.0:9477\", hosts: "
		   "[tollgate.example, \"[2001:db8::1]\"], token_file: secret/token }\n",
		   CSV_HDR, &cfg, &errs) == 0);
	if (cfg) {
		CHECK(cfg->nmetrics_hosts == 2 &&
		      !strcmp(cfg->metrics_hosts[0], "tollgate.example") &&
		      !strcmp(cfg->metrics_hosts[1], "[2001:db8::1]"));
		snprintf(want, sizeof(want), "%s/secret/token", tmpdir);
		CHECK(cfg->metrics_token_file && !strcmp(cfg->metrics_token_file, want));
		CHECK(advice_matching(cfg, "metrics.token_file") == 0);
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);
	cfg = NULL;
	CHECK(load("customers: customers.csv\nmetrics: { listen: \"10.0.0.1:9477\" }\n", CSV_HDR,
		   &cfg, &errs) == 0);
	CHECK(cfg &&
	      advice_matching(cfg, "is not loopback and metrics.token_file is not set") == 1);
	tg_config_free(cfg);
	tg_errs_free(&errs);
	cfg = NULL;
	CHECK(load("customers: customers.csv\n", CSV_HDR, &cfg, &errs) == 0);
	CHECK(cfg && advice_matching(cfg, "metrics.token_file") == 0); /* loopback default */
	tg_config_free(cfg);
	tg_errs_free(&errs);
	cfg = NULL;
	CHECK(load("customers: customers.csv\nmetrics: { hosts: [\"a b\"] }\n", CSV_HDR, &cfg,
		   &errs) != 0);
	CHECK_ERR(&errs, "tollgate.yaml:2:", "metrics.hosts 'a b': want a host name");
	tg_config_free(cfg);
	tg_errs_free(&errs);
	cfg = NULL;
	CHECK(load("customers: customers.csv\nmetrics: { hosts: [\"tollgate.example:80\"] }\n",
		   CSV_HDR, &cfg, &errs) != 0);
	CHECK_ERR(&errs, "tollgate.yaml:2:", "without a port");
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

/* ---- h10: customer ids keep to a safe character set ---- */
static void test_h10_id_charset(void)
{
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;

	TEST_BEGIN("h10: customer ids: letters, digits and . _ : @ + -, not starting with '-'");
	CHECK(load(BASE_YAML,
		   CSV_HDR "A-1.b_c:d@e+f,,free,10.0.0.1/32,eth1,\n"
			   "cust 2,,free,10.0.0.2/32,eth1,\n"
			   "-rf,,free,10.0.0.3/32,eth1,\n"
			   "x/y,,free,10.0.0.4/32,eth1,\n"
			   "$(id),,free,10.0.0.5/32,eth1,\n",
		   &cfg, &errs) != 0);
	CHECK(errs.n == 4);
	CHECK_ERR(&errs, "customers.csv:3: field 'id'", "'cust 2' has a character other than");
	CHECK_ERR(&errs, "customers.csv:4: field 'id'", "'-rf' starts with '-'");
	CHECK_ERR(&errs, "customers.csv:5: field 'id'", "'x/y' has a character other than");
	CHECK_ERR(&errs, "customers.csv:6: field 'id'", "has a character other than");
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

/* ---- h10: notify.exec_user ---- */
static void test_h10_exec_user(void)
{
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;

	TEST_BEGIN("h10: notify.exec_user: nobody by default, looked up at load; unknown refused");
	CHECK(load_notify("{ exec: /bin/true }", &cfg, &errs) == 0);
	CHECK(cfg && cfg->notify.exec_user && !strcmp(cfg->notify.exec_user, "nobody") &&
	      cfg->notify.exec_uid == 65534 && cfg->notify.exec_gid == 65534);
	tg_config_free(cfg);
	tg_errs_free(&errs);
	cfg = NULL;
	CHECK(load_notify("{ exec: /bin/true, exec_user: root }", &cfg, &errs) == 0);
	CHECK(cfg && cfg->notify.exec_uid == 0);
	tg_config_free(cfg);
	tg_errs_free(&errs);
	cfg = NULL;
	CHECK(load_notify("{ exec: /bin/true, exec_user: no-such-user-h10 }", &cfg, &errs) != 0);
	CHECK_ERR(&errs, "tollgate.yaml:2:", "notify.exec_user 'no-such-user-h10': no such user");
	tg_config_free(cfg);
	tg_errs_free(&errs);
}

/* cluster: etcd endpoints, node, prefix, TLS; plain http only to loopback. */
static void test_cluster_config(void)
{
	static const struct {
		const char *yaml, *err;
	} bad[] = {
		{"cluster: { node: a }\n", "'endpoints' is required"},
		{"cluster: { endpoints: [\"http://10.0.0.1:2379\"], node: a }\n",
		 "plain http is allowed only to loopback"},
		{"cluster: { endpoints: [\"ftp://127.0.0.1:2379\"], node: a }\n",
		 "want http://HOST:PORT"},
		{"cluster: { endpoints: [\"http://127.0.0.1:2379/v3\"], node: a }\n", "no path"},
		{"cluster: { endpoints: [\"http://127.0.0.1:2379\"], node: \"a b\" }\n",
		 "cluster.node 'a b'"},
		{"cluster: { endpoints: [\"https://10.0.0.1:2379\"], node: a, cert: /etc/hostname "
		 "}\n",
		 "'cert' and 'key' go together"},
		{"cluster: { endpoints: [\"https://10.0.0.1:2379\"], node: a, ca: /nonexistent.pem "
		 "}\n",
		 "cluster.ca '/nonexistent.pem'"},
		{"cluster: { endpoints: [\"http://127.0.0.1:2379\"], node: a, prefix: \"x/\" }\n",
		 "cluster.prefix 'x/'"},
		{"cluster: { endpoints: [\"http://127.0.0.1:2379\"], bogus: 1 }\n",
		 "unknown key 'bogus' in cluster"},
	};
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	char y[512];
	int rc;

	TEST_BEGIN("cluster: absent means a node alone");
	rc = load("customers: customers.csv\n", CSV_HDR, &cfg, &errs);
	CHECK_EQ_U64(rc, 0);
	CHECK(cfg && !cfg->cluster.enabled);
	tg_config_free(cfg);
	tg_errs_free(&errs);

	TEST_BEGIN("cluster: loopback http, https with a CA, defaults");
	rc = load("customers: customers.csv\ncluster:\n  endpoints: [\"http://127.0.0.1:2379\", "
		  "\"http://[::1]:2379\", \"https://etcd1.example.net:2379\"]\n  node: edge-1\n"
		  "  prefix: /isp/tollgate\n  ca: /etc/hostname\n  timeout: 500ms\n",
		  CSV_HDR, &cfg, &errs);
	CHECK_EQ_U64(rc, 0);
	if (!cfg)
		dump_errs(&errs);
	if (cfg) {
		CHECK(cfg->cluster.enabled);
		CHECK_EQ_U64(cfg->cluster.nendpoints, 3);
		CHECK(!strcmp(cfg->cluster.node, "edge-1"));
		CHECK(!strcmp(cfg->cluster.prefix, "/isp/tollgate/"));
		CHECK_EQ_U64(cfg->cluster.timeout_ms, 500);
		CHECK_EQ_U64(cfg->cluster.heartbeat_ms, TG_CLUSTER_HEARTBEAT_DEFAULT_MS);
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TEST_BEGIN("cluster: a bad section is refused with a clear error");
		snprintf(y, sizeof(y), "customers: customers.csv\n%s", bad[i].yaml);
		rc = load(y, CSV_HDR, &cfg, &errs);
		CHECK(rc != 0 && !cfg);
		CHECK(find_err(&errs, bad[i].err) != NULL);
		if (!find_err(&errs, bad[i].err))
			dump_errs(&errs);
		tg_config_free(cfg);
		cfg = NULL;
		tg_errs_free(&errs);
	}
}

/* mitigation: the BGP speaker and the safety policy; the rule actions that need it. */
static void test_mitigation_config(void)
{
	static const char rule[] = "enforcement:\n  rules:\n    - { name: f, when: "
				   "\"download_pps > 1000 for 2s\", action: %s%s }\n";
	static const struct {
		const char *yaml, *err;
	} bad[] = {
		{"mitigation: { next_hop_ipv4: 192.0.2.1 }\n", "mitigation.target is required"},
		{"mitigation: { target: \"unix:///run/g.sock\", gobgp: gobgp }\n",
		 "mitigation.gobgp 'gobgp' must be an absolute path"},
		{"mitigation: { target: \"unix:///run/g.sock; rm\" }\n",
		 "want unix:///PATH or HOST:PORT"},
		{"mitigation: { target: \"127.0.0.1:50051\", speaker: exabgp }\n",
		 "gobgp is the one supported"},
		{"mitigation: { target: \"127.0.0.1:50051\", ipv6_length: 64 }\n",
		 "mitigation.ipv6_length: 64: want 65..128"},
		{"mitigation: { target: \"127.0.0.1:50051\", ipv6_length: 129 }\n",
		 "out of range (1..128)"},
		{"mitigation: { target: \"127.0.0.1:50051\", max_active: 0 }\n",
		 "out of range (1..10000)"},
		{"mitigation: { target: \"127.0.0.1:50051\", max_duration: 8d }\n",
		 "mitigation.max_duration: want 1s..7d"},
		{"mitigation: { target: \"127.0.0.1:50051\", timeout: 50ms }\n",
		 "mitigation.timeout: want 100ms..60s"},
		{"mitigation: { target: \"127.0.0.1:50051\", communities: [\"65536:1\"] }\n",
		 "want ASN:VALUE"},
		{"mitigation: { target: \"127.0.0.1:50051\", next_hop_ipv4: \"2001:db8::1\" }\n",
		 "want an IPv4 address"},
		{"mitigation: { target: \"127.0.0.1:50051\", bogus: 1 }\n",
		 "unknown key 'bogus' in mitigation"},
	};
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	char y[1024];
	int rc;

	TEST_BEGIN("mitigation: the section, its defaults, a flowspec rule with a rate");
	snprintf(y, sizeof(y),
		 "customers: customers.csv\nmitigation:\n  target: unix:///run/gobgpd/gobgp.sock\n"
		 "  next_hop_ipv4: 192.0.2.1\n  communities: [\"64512:666\"]\n%s",
		 "enforcement:\n  rules:\n    - { name: f, when: \"download_pps > 1000 for 2s\", "
		 "action: flowspec, flowspec_rate: 10mbit, escalate: { count: 2, within: 1h } }\n");
	rc = load(y, CSV_HDR, &cfg, &errs);
	CHECK_EQ_U64(rc, 0);
	if (!cfg)
		dump_errs(&errs);
	if (cfg) {
		CHECK(cfg->mitigation.enabled);
		CHECK(!strcmp(cfg->mitigation.target, "unix:///run/gobgpd/gobgp.sock"));
		CHECK_EQ_U64(cfg->mitigation.ipv6_length, 128);
		CHECK_EQ_U64(cfg->mitigation.max_active, 32);
		CHECK_EQ_U64(cfg->mitigation.max_duration_ns, 3600ull * 1000000000ull);
		CHECK_EQ_U64(cfg->mitigation.ncommunities, 1);
		CHECK_EQ_U64(cfg->enforcement.nrules, 1);
		if (cfg->enforcement.nrules) {
			CHECK_EQ_U64(cfg->enforcement.rules[0].action, TG_ACT_FLOWSPEC);
			CHECK_EQ_U64(cfg->enforcement.rules[0].flowspec_bps, 10000000);
		}
	}
	tg_config_free(cfg);
	cfg = NULL;
	tg_errs_free(&errs);

	TEST_BEGIN("mitigation: a blackhole rule without the section is refused");
	snprintf(y, sizeof(y), "customers: customers.csv\n");
	snprintf(y + strlen(y), sizeof(y) - strlen(y), rule, "blackhole", "");
	rc = load(y, CSV_HDR, &cfg, &errs);
	CHECK(rc != 0 && !cfg);
	CHECK(find_err(&errs, "add a mitigation: section") != NULL);
	tg_config_free(cfg);
	cfg = NULL;
	tg_errs_free(&errs);

	TEST_BEGIN("mitigation: flowspec_rate on another action, escalate on blackhole: refused");
	snprintf(y, sizeof(y),
		 "customers: customers.csv\nmitigation: { target: \"127.0.0.1:1\" }\n");
	snprintf(y + strlen(y), sizeof(y) - strlen(y), rule, "blackhole", ", flowspec_rate: 1mbit");
	rc = load(y, CSV_HDR, &cfg, &errs);
	CHECK(rc != 0 && !cfg);
	CHECK(find_err(&errs, "flowspec_rate is for action flowspec") != NULL);
	tg_config_free(cfg);
	cfg = NULL;
	tg_errs_free(&errs);
	snprintf(y, sizeof(y),
		 "customers: customers.csv\nmitigation: { target: \"127.0.0.1:1\" }\n");
	snprintf(y + strlen(y), sizeof(y) - strlen(y), rule, "blackhole",
		 ", escalate: { count: 2, within: 1h }");
	rc = load(y, CSV_HDR, &cfg, &errs);
	CHECK(rc != 0 && !cfg);
	CHECK(find_err(&errs, "no mitigation above blackhole") != NULL);
	tg_config_free(cfg);
	cfg = NULL;
	tg_errs_free(&errs);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TEST_BEGIN("mitigation: a bad section is refused with a clear error");
		snprintf(y, sizeof(y), "customers: customers.csv\n%s", bad[i].yaml);
		rc = load(y, CSV_HDR, &cfg, &errs);
		CHECK(rc != 0 && !cfg);
		CHECK(find_err(&errs, bad[i].err) != NULL);
		if (!find_err(&errs, bad[i].err))
			dump_errs(&errs);
		tg_config_free(cfg);
		cfg = NULL;
		tg_errs_free(&errs);
	}
}

/* capture: the evidence sample's switch and bounds; defaults; every refusal. */
static void test_capture_config(void)
{
	static const struct {
		const char *yaml, *err;
	} bad[] = {
		{"capture: { packets: 0 }\n", "capture.packets: 0 out of range (1..100)"},
		{"capture: { packets: 101 }\n", "capture.packets: 101 out of range (1..100)"},
		{"capture: { per_day: 0 }\n", "capture.per_day: 0 out of range (1..1000000)"},
		{"capture: { per_day: -5 }\n", "capture.per_day: '-5' is not a whole number"},
		{"capture: { enabled: perhaps }\n", "capture.enabled"},
		{"capture: { snaplen: 1500 }\n", "unknown key 'snaplen' in capture"},
		{"capture: [1]\n", "capture"},
	};
	struct tg_cfg *cfg = NULL;
	struct tg_errs errs;
	char y[512];
	int rc;

	TEST_BEGIN("capture: defaults without the section (on, 20 packets, 1000 a day)");
	rc = load("customers: customers.csv\n", CSV_HDR, &cfg, &errs);
	CHECK_EQ_U64(rc, 0);
	if (cfg) {
		CHECK(cfg->capture.enabled);
		CHECK_EQ_U64(cfg->capture.packets, 20);
		CHECK_EQ_U64(cfg->capture.per_day, 1000);
	}
	tg_config_free(cfg);
	cfg = NULL;
	tg_errs_free(&errs);

	TEST_BEGIN("capture: the section's keys");
	rc = load(
		"customers: customers.csv\ncapture: { enabled: false, packets: 100, per_day: 7 }\n",
		CSV_HDR, &cfg, &errs);
	CHECK_EQ_U64(rc, 0);
	if (cfg) {
		CHECK(!cfg->capture.enabled);
		CHECK_EQ_U64(cfg->capture.packets, 100);
		CHECK_EQ_U64(cfg->capture.per_day, 7);
	}
	tg_config_free(cfg);
	cfg = NULL;
	tg_errs_free(&errs);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TEST_BEGIN("capture: a bad section is refused with a clear error");
		snprintf(y, sizeof(y), "customers: customers.csv\n%s", bad[i].yaml);
		rc = load(y, CSV_HDR, &cfg, &errs);
		CHECK(rc != 0 && !cfg);
		CHECK(find_err(&errs, bad[i].err) != NULL);
		if (!find_err(&errs, bad[i].err))
			dump_errs(&errs);
		tg_config_free(cfg);
		cfg = NULL;
		tg_errs_free(&errs);
	}
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tg-test-config.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(yaml_path, sizeof(yaml_path), "%s/tollgate.yaml", tmpdir);
	snprintf(csv_path, sizeof(csv_path), "%s/customers.csv", tmpdir);

	test_rate();
	test_size();
	test_pps();
	test_duration();
	test_prefix();
	test_format_rate();
	test_errs();
	test_full_config();
	test_defaults();
	test_example();
	test_yaml_errors();
	test_yaml_plan_errors();
	test_yaml_syntax();
	test_relative_path();
	test_csv_good();
	test_csv_column_order();
	test_csv_overrides();
	test_csv_errors();
	test_csv_header_errors();
	test_csv_capacity();
	test_all_errors();
	test_csv_big();
	test_reload_reuse();
	test_flood_config();
	test_notify_config();
	test_control_config();
	test_cluster_config();
	test_mitigation_config();
	test_capture_config();
	test_h3_config();
	test_csv_vlan();
	test_binding_advice();
	test_vlan_protocol();
	test_trtcm_config();
	test_h6_refused_prefixes();
	test_h6_csv_bytes();
	test_h6_ids();
	test_nul_then_stray_quote();
	test_h6_limits();
	test_h6_customers_path();
	test_h10_metrics_access();
	test_h10_id_charset();
	test_h10_exec_user();

	tl_rmtree(tmpdir);
	return test_summary();
}
