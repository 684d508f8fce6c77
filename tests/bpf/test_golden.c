// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_golden.c - golden packets through BPF_PROG_TEST_RUN.
 *
 * Each fixture is {description, interface profile (role, anti-spoof, monitor), packet,
 * expected verdict, expected counter changes}. The packet is described field by field and
 * built into bytes here, so a fixture reads like the packet it is. Before and after every
 * run the test reads every interface slot and every customer's counters through
 * tg_read_iface/tg_read_cust and requires exactly the expected change: one packet and its
 * bytes on one counter of the interface and, if named, one counter of one customer;
 * everything else unchanged.
 *
 * The program and maps are a private, unpinned instance (tg_maps_open(NULL, ...)); the
 * customers are a struct tg_cfg built in memory and loaded with tg_sync_customers(), as
 * the daemon does. BPF_PROG_TEST_RUN needs the ingress ifindex to exist, and the bindings
 * need two interfaces, so the test unshares a network namespace and creates a veth pair
 * in it: nothing on the host is touched, and the namespace goes away with the process.
 *
 * Fixtures that exercise a known bug carry a .bug note and fail with "BUG" in the line.
 * A fixture the kernel cannot run prints SKIP with the reason; without root or a network
 * namespace the whole suite prints SKIP and exits 77.
 *
 * The tests are in groups, one per feature, in the manner of the kernel's BPF selftests:
 * fixture tables (golden/fx_*.c) and tests that need more than one packet (golden/t_*.c),
 * sharing the packet builder, the customers and the runner (golden/golden.h). This file
 * only lists the groups and runs them in order. `-l` lists them, `-t NAME` runs one
 * (docs/testing.md: how to add one).
 */
#include "golden/golden.h"

/* A group: a fixture table (fx, nfx) or a function that runs its own cases (run). */
struct group {
	const char *name, *what;
	void (*run)(void);
	const struct fixture *fx;
	const size_t *nfx;
};

#define FX(name, what, table)                                                                      \
	{                                                                                          \
		name, what, NULL, table, &table##_n                                                \
	}

static void g_tables(void)
{
	test_v4_tables("sync: every IPv4 prefix as the kernel's tables see it", NULL);
	test_v4_void();
}

/* Every group, in the order a whole run takes them (later groups meet earlier ones' state). */
static const struct group groups[] = {
	{"tables", "the IPv4 tables as the kernel reads them; the void /16s", g_tables, NULL, NULL},
	{"enforce-records", "the records of throttled and suspended customers",
	 test_enforce_records, NULL, NULL},
	{"read-all", "tg_read_cust_all over three batches", test_read_all, NULL, NULL},
	{"fold", "the in-kernel fold of the per-CPU counters, packets on two CPUs", test_fold, NULL,
	 NULL},
	FX("customer", "valid customer traffic, found by source; longest prefix wins", fx_customer),
	FX("upstream", "upstream role: found by destination", fx_upstream),
	FX("spoof", "anti-spoof: sources of a customer bound elsewhere", fx_spoof),
	FX("vlan", "VLAN tags and their bindings", fx_vlan),
	FX("bogons", "bogon sources", fx_bogons),
	FX("exceptions", "exceptions that pass without an assigned source", fx_exceptions),
	FX("ext6", "IPv6 extension headers", fx_ext6),
	FX("ipv4", "the IPv4 header", fx_ipv4),
	FX("truncated", "frames truncated at every header boundary", fx_truncated),
	FX("walled", "a suspended customer and the walled garden", fx_walled),
	FX("monitor", "monitor mode: would-drops counted as noted, passed", fx_monitor),
	FX("noif", "an interface Tollgate is not configured on", fx_noif),
	FX("bogon-edges", "the bogon lists' edges", fx_bogon_edges),
	FX("strict-exceptions", "exceptions in strict: what they claim must be the port's",
	   fx_strict_exceptions),
	FX("upstream-counting", "upstream counting: malformed after the IP header, non-IP, monitor",
	   fx_upstream_counting),
	FX("l2", "link-layer control frames and PPPoE", fx_l2),
	FX("bindings", "bindings: untagged, one tag, any, QinQ, VID 0, unbound", fx_bindings),
	{"port-samples", "the destination ports of a customer's drops", test_port_samples, NULL,
	 NULL},
	{"dest-samples", "the hosts a customer's download goes to: drops and 1 pass in 64",
	 test_dest_samples, NULL, NULL},
	{"policer", "the single-rate policer: n packets pass, the next drops", test_policer, NULL,
	 NULL},
	{"floods",
	 "packet-rate limits (SYN, UDP, ICMP, fragments, reflection, per source) and SMTP",
	 test_flood, NULL, NULL},
	{"resync", "the daemon's reload path: a customer left out and back", test_resync, NULL,
	 NULL},
	{"h3-icmp", "ICMP buckets: echo requests drain them, ND leaves the burst whole",
	 test_h3_icmp, NULL, NULL},
	{"h3-exempt", "per_source never blocks walled-garden or exempt sources", test_h3_exempt,
	 NULL, NULL},
	{"h3-share", "per-source shares: one customer's attackers cannot use up another's",
	 test_h3_share, NULL, NULL},
	{"h3-keyed", "the keyed watch-slot hash of per_source", test_h3_keyed, NULL, NULL},
	{"h3-exceptions", "the exceptions in strict meet a per-port limit", test_h3_exceptions,
	 NULL, NULL},
	{"pppoe-limits", "the policer and packet-rate limits inside a PPPoE session",
	 test_pppoe_limits, NULL, NULL},
	{"h2-noted-coalesce", "upstream: noted drops coalesced", test_h2_noted_coalesce, NULL,
	 NULL},
	{"h2-policed", "upstream: malformed after the IP header, policed", test_h2_policed, NULL,
	 NULL},
	{"h2-jumbo-ext", "upstream: jumbo and extension-header lengths", test_h2_jumbo_ext, NULL,
	 NULL},
	{"h2-frag-limit", "upstream: the fragment limit", test_h2_frag_limit, NULL, NULL},
	{"trtcm", "the two-rate three-colour policer (RFC 2698)", test_trtcm, NULL, NULL},
	{"capture", "the evidence sample: armed customers' packets through the ring buffer",
	 test_capture, NULL, NULL},
	{"fanout", "scan and SMTP visibility: distinct hosts and ports, new SMTP connections",
	 test_fanout, NULL, NULL},
};

/* NAME selects the group of that name, else every group whose name starts with NAME. */
static bool selected(const struct group *g, const char *name)
{
	size_t i;

	if (!name)
		return true;
	for (i = 0; i < ARRAY_SIZE(groups); i++)
		if (strcmp(groups[i].name, name) == 0)
			return g == &groups[i];
	return strncmp(g->name, name, strlen(name)) == 0;
}

/* -t may be given several times: the groups any of them selects, in the table's order. */
#define MAX_ONLY 16
static const char *only[MAX_ONLY];
static int nonly;

static bool selected_any(const struct group *g)
{
	for (int k = 0; k < nonly; k++)
		if (selected(g, only[k]))
			return true;
	return !nonly;
}

static void list_groups(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(groups); i++) {
		if (groups[i].fx)
			printf("%-20s %s (%zu fixtures)\n", groups[i].name, groups[i].what,
			       *groups[i].nfx);
		else
			printf("%-20s %s\n", groups[i].name, groups[i].what);
	}
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-v] [-l] [-t GROUP]... [-f SUBSTRING]\n"
		"  -l   list the groups and exit\n"
		"  -t   run only GROUP (or, if no group has that name, every group it begins);\n"
		"       several -t run each of them, in the table's order\n"
		"  -f   run only the fixtures whose description contains SUBSTRING (and no\n"
		"       group that is not a fixture table unless -t names it)\n"
		"  -v   show the frame of every failing fixture and the policer arithmetic\n",
		prog);
}

int main(int argc, char **argv)
{
	struct tg_capacity cap = {.max_customers = 64, .max_prefixes = 128};
	const char *filter = NULL;
	size_t i, j;
	int opt, err;

	while ((opt = getopt(argc, argv, "vlt:f:h")) != -1) {
		switch (opt) {
		case 'v':
			verbose = true;
			break;
		case 'l':
			list_groups();
			return 0;
		case 't':
			if (nonly == MAX_ONLY) {
				fprintf(stderr, "test_golden: at most %d -t\n", MAX_ONLY);
				return 2;
			}
			only[nonly++] = optarg;
			break;
		case 'f':
			filter = optarg;
			break;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	for (int k = 0; k < nonly; k++) {
		int hit = 0;

		for (i = 0; i < ARRAY_SIZE(groups); i++)
			hit += selected(&groups[i], only[k]);
		if (!hit) {
			fprintf(stderr, "test_golden: no group named %s (-l lists them)\n",
				only[k]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP test_golden: needs root (BPF_PROG_TEST_RUN, network namespace)\n");
		return 77;
	}
	/* one CPU: the per-CPU drop slot then coalesces exactly as the reader expects */
	th_one_cpu();

	if (setup_netns())
		return 77;
	if (!have_if_b) {
		fprintf(stderr, "FAIL setup: cannot create " IF_B " and " IF_C
				" (veth, else ifb) in the test's network namespace: is veth or "
				"ifb loaded, and is ip iproute2's (busybox's ignores \"peer "
				"name\")?\n");
		return 1;
	}
	err = tg_maps_open(NULL, &cap, true, &maps);
	if (err) {
		fprintf(stderr, "FAIL setup: tg_maps_open: %s\n", strerror(-err));
		return 1;
	}
	err = load_customers(NULL);
	if (err) {
		fprintf(stderr, "FAIL setup: loading the customers: %s\n", strerror(-err));
		tg_maps_close(&maps);
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(groups); i++) {
		const struct group *g = &groups[i];

		if (!selected_any(g))
			continue;
		if (g->run) {
			if (!filter || nonly)
				g->run();
			continue;
		}
		for (j = 0; j < *g->nfx; j++)
			if (!filter || strstr(g->fx[j].desc, filter))
				run_fixture(&g->fx[j]);
	}
	tg_maps_close(&maps);
	if (nskipped)
		printf("%d skipped\n", nskipped);
	return test_summary();
}
