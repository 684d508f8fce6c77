// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_state.c - the state around the packets: the daemon's reload path (resync), the
 * records of enforced customers, the port samples of drops, tg_read_cust_all.
 */
#include "golden.h"

/*
 * Sync the same config again (indexes must not move), then without c-b (its /32 and its
 * /56, the only /56, must fall back to the covering prefixes, and its index is released),
 * then with c-b again.
 */
void test_resync(void)
{
	const struct fixture without_b[] = {
		{"resync without c-b: its /32 falls back to the /24",
		 P_STRICT,
		 {V4("198.51.100.7", DST4)},
		 PASS("c-a")},
		{"resync without c-b: its /56 falls back to the /48",
		 P_STRICT,
		 {V4("2001:db8:a:100::1", DST6)},
		 PASS("c-a")},
		{"resync without c-b: the /64 inside its /56 still wins",
		 P_STRICT,
		 {V4("2001:db8:a:1a0::1", DST6)},
		 PASS("c-c")},
	};
	const struct fixture with_b[] = {
		{"resync with c-b again: its /32 wins again",
		 P_STRICT,
		 {V4("198.51.100.7", DST4)},
		 PASS("c-b")},
		{"resync with c-b again: its /56 wins again",
		 P_STRICT,
		 {V4("2001:db8:a:1a1::1", DST6)},
		 PASS("c-b")},
	};
	uint32_t old[NCUST];
	size_t i;

	memcpy(old, cust_idx, sizeof(old));
	TEST_BEGIN("resync: an unchanged config keeps every customer's index");
	if (load_customers(NULL))
		fail("resync: an unchanged config keeps every customer's index", NULL,
		     "tg_sync_customers failed");
	else if (memcmp(old, cust_idx, sizeof(old)))
		fail("resync: an unchanged config keeps every customer's index", NULL,
		     "an index moved");
	test_v4_tables("resync: IPv4 tables after an unchanged config", NULL);

	/* a block running for a source toward c-b and one toward c-a, far from ending */
	struct tg_src_key kb = {.cust = cust_idx[cust_no("c-b")], .addr = {0x0102030405060708ull}},
			  ka = {.cust = cust_idx[cust_no("c-a")], .addr = {0x0102030405060708ull}};
	__u64 until = coarse_now_ns() + 3600ull * 1000000000ull, v;

	bpf_map_update_elem(maps.srcblock, &kb, &until, BPF_ANY);
	bpf_map_update_elem(maps.srcblock, &ka, &until, BPF_ANY);
	TEST_BEGIN("resync without c-b: its index is released");
	if (load_customers("c-b")) {
		fail("resync without c-b: its index is released", NULL, "tg_sync_customers failed");
		return;
	}
	if (tg_find_customer(&maps, "c-b") != TG_CUST_NONE)
		fail("resync without c-b: its index is released", NULL, "c-b still has an index");
	TEST_BEGIN("resync without c-b: its per-source blocks go with it, c-a's stay");
	CHECK(bpf_map_lookup_elem(maps.srcblock, &kb, &v) != 0);
	CHECK(bpf_map_lookup_elem(maps.srcblock, &ka, &v) == 0);
	bpf_map_delete_elem(maps.srcblock, &ka);
	test_v4_tables("resync without c-b: IPv4 tables", NULL);
	for (i = 0; i < ARRAY_SIZE(without_b); i++)
		run_fixture(&without_b[i]);

	TEST_BEGIN("resync with c-b again");
	if (load_customers(NULL)) {
		fail("resync with c-b again", NULL, "tg_sync_customers failed");
		return;
	}
	test_v4_tables("resync with c-b again: IPv4 tables", NULL);
	for (i = 0; i < ARRAY_SIZE(with_b); i++)
		run_fixture(&with_b[i]);
}

/* The records of the customers enf names: throttled at the throttle rate, suspended. */
void test_enforce_records(void)
{
	const struct tg_rate_cfg up = {THROTTLE_BPS, TEST_BURST, 0, 0},
				 down = {THROTTLE_BPS, TG_BURST_MIN_BYTES, 0, 0};
	struct tg_policer_cfg want_up, want_down;
	struct tg_config bc;
	struct tg_cust rec;
	__u32 zero = 0, idx = cust_idx[cust_no("c-t")];

	TEST_BEGIN("throttled: c-t polices both directions at the throttle rate, burst kept");
	CHECK(bpf_map_lookup_elem(maps.config, &zero, &bc) == 0);
	CHECK(bpf_map_lookup_elem(maps.cust, &idx, &rec) == 0);
	tg_policer_params(&up, bc.clock_tick_ns, &want_up);
	tg_policer_params(&down, bc.clock_tick_ns, &want_down);
	CHECK_EQ_U64(rec.state, TG_ST_THROTTLED);
	CHECK_EQ_U64(rec.pol[TG_DIR_UP].ipb_fns16, want_up.ipb_fns16);
	CHECK_EQ_U64(rec.pol[TG_DIR_UP].tol_fns, want_up.tol_fns);
	CHECK_EQ_U64(rec.pol[TG_DIR_DOWN].ipb_fns16, want_down.ipb_fns16);
	CHECK_EQ_U64(rec.pol[TG_DIR_DOWN].tol_fns, want_down.tol_fns);

	TEST_BEGIN("suspended: c-z's record says so; an active customer's says active");
	idx = cust_idx[cust_no("c-z")];
	CHECK(bpf_map_lookup_elem(maps.cust, &idx, &rec) == 0);
	CHECK_EQ_U64(rec.state, TG_ST_SUSPENDED);
	CHECK_EQ_U64(rec.pol[TG_DIR_UP].ipb_fns16, 0);
	idx = cust_idx[cust_no("c-a")];
	CHECK(bpf_map_lookup_elem(maps.cust, &idx, &rec) == 0);
	CHECK_EQ_U64(rec.state, TG_ST_ACTIVE);
}

/* The destination ports of a customer's drops, for the evidence of an enforcement action. */
void test_port_samples(void)
{
	const struct pkt tcp = {V4("198.18.6.9", DST4), .dport = 4444},
			 udp = {V4("198.18.6.9", DST4), .proto = IPPROTO_UDP, .dport = 5555};
	struct tg_port_count top[8];
	uint8_t frame[2048];
	struct built b;
	__u32 ret = 0;
	int n, i4 = -1, i5 = -1;

	TEST_BEGIN("port samples: a suspended customer's drops to tcp/4444 x3 and udp/5555 x1");
	CHECK(set_profile(P_STRICT) == 0);
	for (int i = 0; i < 4; i++) {
		CHECK(build_pkt(i < 3 ? &tcp : &udp, frame, &b) == 0);
		CHECK(run_frame(profiles[P_STRICT].ifindex, frame, b.len, &ret) == 0);
		CHECK_EQ_U64(ret, XDP_DROP);
	}
	n = tg_top_ports(&maps, cust_idx[cust_no("c-z")], top, 8);
	CHECK(n >= 2);
	for (int i = 0; i < n; i++) {
		if (top[i].port == 4444 && top[i].proto == IPPROTO_TCP)
			i4 = i;
		if (top[i].port == 5555 && top[i].proto == IPPROTO_UDP)
			i5 = i;
	}
	CHECK(i4 >= 0 && i5 > i4);
	if (i4 >= 0 && i5 >= 0) {
		CHECK_EQ_U64(top[i4].count, 3);
		CHECK_EQ_U64(top[i5].count, 1);
		CHECK_EQ_U64(top[i4].dir, TG_DIR_UP);
	}
	CHECK_EQ_U64(tg_top_ports(&maps, cust_idx[cust_no("c-b")], top, 8) >= 0, 1);
	for (int i = 0, k = tg_top_ports(&maps, cust_idx[cust_no("c-b")], top, 8); i < k; i++)
		CHECK(top[i].port != 4444 && top[i].port != 5555);
}

/* The hosts a customer's download goes to (tg_top_dests): drops and 1-in-64 passes. */
void test_dest_samples(void)
{
	const struct pkt ntp = {V4(DST4, "198.18.6.77"), .proto = IPPROTO_UDP, .sport = 123,
				.dport = 4000},
			 dns = {V4(DST4, "198.18.6.77"), .proto = IPPROTO_UDP, .sport = 53,
				.dport = 4000},
			 web = {V4(DST4, "198.18.6.78"), .sport = 443, .dport = 4001,
				.tcpflags = 0x10},
			 pass = {V4(DST4, "198.51.100.20"), .sport = 443, .dport = 4002,
				 .tcpflags = 0x10};
	struct tg_dest_count d[8];
	uint8_t frame[2048];
	struct built b;
	__u32 ret = 0;
	int n, drops = 0;

	TEST_BEGIN("dest samples: a suspended customer's download drops, by attacked host");
	CHECK(set_profile(P_UP) == 0);
	for (int i = 0; i < 8; i++) {
		CHECK(build_pkt(i < 5 ? &ntp : i < 6 ? &dns : &web, frame, &b) == 0);
		CHECK(run_frame(profiles[P_UP].ifindex, frame, b.len, &ret) == 0);
		drops += ret == XDP_DROP;
	}
	CHECK_EQ_U64(drops, 8);
	n = tg_top_dests(&maps, cust_idx[cust_no("c-z")], d, 8);
	CHECK(n >= 2);
	for (int i = 0; verbose && i < n; i++) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(d[i].v6 ? AF_INET6 : AF_INET, d[i].addr, a, sizeof(a));
		printf("  %s proto %u drops %u passes %u sport %u\n", a, d[i].proto, d[i].drops,
		       d[i].passes, d[i].sport[0]);
	}
	if (n >= 2) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET, d[0].addr, a, sizeof(a));
		CHECK(!strcmp(a, "198.18.6.77") && !d[0].v6);
		CHECK_EQ_U64(d[0].drops, 6);
		CHECK_EQ_U64(d[0].proto, IPPROTO_UDP);
		CHECK_EQ_U64(d[0].nsport, 2);
		CHECK_EQ_U64(d[0].sport[0], 123); /* the most seen first */
		CHECK_EQ_U64(d[0].sport[1], 53);
		for (int i = 1; i < n; i++) { /* ties (2 drops) in address order */
			inet_ntop(AF_INET, d[i].addr, a, sizeof(a));
			if (d[i].v6 || strcmp(a, "198.18.6.78"))
				continue;
			CHECK_EQ_U64(d[i].drops, 2);
			CHECK_EQ_U64(d[i].proto, IPPROTO_TCP);
			drops = -1;
		}
		CHECK(drops == -1); /* .78 was found */
	}

	TEST_BEGIN("dest samples: 128 passed downloads on one CPU leave exactly 2 samples");
	for (int i = 0; i < 128; i++) {
		CHECK(build_pkt(&pass, frame, &b) == 0);
		CHECK(run_frame(profiles[P_UP].ifindex, frame, b.len, &ret) == 0);
		if (ret != XDP_PASS) {
			CHECK_EQ_U64(ret, XDP_PASS);
			break;
		}
	}
	n = tg_top_dests(&maps, cust_idx[cust_no("c-a")], d, 8);
	CHECK(n >= 1);
	for (int i = 0; i < n; i++) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET, d[i].addr, a, sizeof(a));
		if (strcmp(a, "198.51.100.20"))
			continue;
		CHECK_EQ_U64(d[i].passes, 2);
		CHECK_EQ_U64(d[i].drops, 0);
		CHECK_EQ_U64(d[i].sport[0], 443);
	}
	/* another customer's samples are not c-z's */
	n = tg_top_dests(&maps, cust_idx[cust_no("c-b")], d, 8);
	for (int i = 0; i < n; i++)
		CHECK(memcmp(d[i].addr, "\xc6\x12\x06", 3)); /* 198.18.6.x */
}

/*
 * tg_read_cust_all (tollgated's enforcement interval) against values written at known
 * indexes of a private instance large enough for three batches, chunk edges included.
 */
void test_read_all(void)
{
	static const __u32 at[] = {1, 2, 4094, 4095, 4096, 4097, 8191, 8192, 8193, 10000};
	struct tg_capacity cap = {.max_customers = 10000, .max_prefixes = 20000};
	struct tg_cstat *pass = NULL, *pc = NULL, *kpass = NULL;
	struct tg_maps big;
	int ncpu = libbpf_num_possible_cpus();
	size_t i;

	TEST_BEGIN("tg_read_cust_all and the tg_cdrop mmap: every index of 10001, three batches");
	if (tg_maps_open(NULL, &cap, true, &big)) {
		CHECK(!"tg_maps_open");
		return;
	}
	pc = calloc(ncpu, sizeof(*pc));
	pass = calloc(big.max_cust, sizeof(*pass));
	kpass = calloc(big.max_cust, sizeof(*kpass));
	CHECK(tg_maps_map_cdrop(&big) == 0);
	CHECK(pc && pass && kpass && big.cdrop_mm);
	for (i = 0; pc && i < ARRAY_SIZE(at); i++) {
		struct tg_cdrop cd = {};

		for (int c = 0; c < ncpu; c++)
			pc[c] = (struct tg_cstat){{at[i] + c, 2 * at[i]},
						  {3 * at[i], 5 * at[i] + c}};
		cd.pkts[TG_DIR_DOWN][TG_R_SUSPENDED] = 7 * at[i];
		cd.pkts[TG_DIR_UP][TG_R_SPOOF] = at[i] + 1;
		CHECK(bpf_map_update_elem(big.cstat, &at[i], pc, BPF_ANY) == 0);
		CHECK(bpf_map_update_elem(big.cdrop, &at[i], &cd, BPF_ANY) == 0);
	}
	if (pc && pass && kpass && big.cdrop_mm) {
		const struct tg_cdrop *cd = big.cdrop_mm;

		CHECK(tg_read_cust_all(&big, big.max_cust, pass) == 0);
		/* the same through the kernel's fold (at this size the default sums here) */
		setenv("TOLLGATE_FOLD", "kernel", 1);
		tg_fold_close(&big); /* decided again at the next read */
		CHECK(tg_read_cust_all(&big, big.max_cust, kpass) == 0);
		CHECK(tg_fold_in_kernel(&big));
		CHECK(memcmp(kpass, pass, (size_t)big.max_cust * sizeof(*pass)) == 0);
		unsetenv("TOLLGATE_FOLD");
		for (i = 0; i < ARRAY_SIZE(at); i++) {
			uint64_t x = at[i], n = (uint64_t)ncpu;

			CHECK_EQ_U64(pass[x].pkts[TG_DIR_UP], n * x + n * (n - 1) / 2);
			CHECK_EQ_U64(pass[x].pkts[TG_DIR_DOWN], n * 2 * x);
			CHECK_EQ_U64(pass[x].bytes[TG_DIR_UP], n * 3 * x);
			CHECK_EQ_U64(pass[x].bytes[TG_DIR_DOWN], n * 5 * x + n * (n - 1) / 2);
			CHECK_EQ_U64(cd[x].pkts[TG_DIR_DOWN][TG_R_SUSPENDED], 7 * x);
			CHECK_EQ_U64(cd[x].pkts[TG_DIR_UP][TG_R_SPOOF], x + 1);
		}
		CHECK_EQ_U64(pass[3].pkts[TG_DIR_UP] + pass[9999].bytes[TG_DIR_DOWN], 0);
		CHECK_EQ_U64(cd[4098].pkts[TG_DIR_UP][TG_R_SPOOF], 0);
	}
	free(pc);
	free(pass);
	free(kpass);
	tg_maps_close(&big);
}

/* Pin this thread to cpu (-1: back to where it ran). */
static int pin_to(int cpu)
{
	static cpu_set_t saved;
	static bool have;
	cpu_set_t set;

	if (cpu < 0)
		return have ? sched_setaffinity(0, sizeof(saved), &saved) : 0;
	if (!have && !sched_getaffinity(0, sizeof(saved), &saved))
		have = true;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/*
 * The in-kernel fold (tollgated's enforcement interval, snapshots) against the per-CPU
 * values it folds: real packets through BPF_PROG_TEST_RUN on CPU 0 and on CPU 1 (5 and 7
 * downloads of c-a), then every customer's sums by the kernel, by the userspace fold, by
 * tg_read_cust (`tollgate customer show`, the API) and by a snapshot (/metrics, `top`)
 * agree, and c-a's equal the per-CPU values added up and moved by exactly the packets.
 */
void test_fold(void)
{
	int ncpu = libbpf_num_possible_cpus(), c = cust_no("c-a"), sent[2] = {5, 7};
	uint32_t idx = cust_idx[c], n = maps.max_cust;
	struct tg_cstat *kf = calloc(n, sizeof(*kf)), *uf = calloc(n, sizeof(*uf));
	struct tg_cstat *pc = calloc(ncpu, sizeof(*pc)), sum = {}, before = {};
	struct tg_snap *sn = calloc(1, sizeof(*sn));
	struct tg_cust_counters cc;

	TEST_BEGIN("the in-kernel fold: packets on CPU 0 and 1, summed like the per-CPU values");
	if (ncpu < 2 || sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("SKIP the in-kernel fold on two CPUs: this machine has one\n");
		goto out;
	}
	CHECK(kf && uf && pc && sn);
	if (tl_case_failed)
		goto out;
	setenv("TOLLGATE_FOLD", "kernel", 1); /* at this size the default sums in userspace */
	tg_fold_close(&maps);		      /* decided again at the next read */
	CHECK(tg_read_cust_all(&maps, n, kf) == 0);
	CHECK(tg_fold_in_kernel(&maps)); /* else the fallback's warning says why */
	before = kf[idx];
	CHECK(set_profile(P_UP) == 0);
	for (int cpu = 0; cpu < 2; cpu++) {
		CHECK(pin_to(cpu) == 0);
		CHECK_EQ_U64(send_up4("9.9.9.1", "198.51.100.20", sent[cpu]), sent[cpu]);
	}
	CHECK(pin_to(-1) == 0);
	CHECK(tg_read_cust_all(&maps, n, kf) == 0);
	CHECK(tg_fold_in_kernel(&maps));
	maps.fold_err = -ECANCELED; /* TOLLGATE_FOLD=user: the batched fold */
	{
		struct tg_fold *f = maps.fold;

		maps.fold = NULL;
		CHECK(tg_read_cust_all(&maps, n, uf) == 0);
		maps.fold = f;
		maps.fold_err = 0;
	}
	CHECK(memcmp(kf, uf, (size_t)n * sizeof(*kf)) == 0);
	CHECK(bpf_map_lookup_elem(maps.cstat, &idx, pc) == 0);
	for (int cpu = 0; cpu < ncpu; cpu++) {
		for (int d = 0; d < TG_DIR_NR; d++) {
			sum.pkts[d] += pc[cpu].pkts[d];
			sum.bytes[d] += pc[cpu].bytes[d];
		}
	}
	CHECK(memcmp(&sum, &kf[idx], sizeof(sum)) == 0);
	CHECK(pc[0].pkts[TG_DIR_DOWN] >= 5 && pc[1].pkts[TG_DIR_DOWN] >= 7); /* both CPUs */
	CHECK_EQ_U64(kf[idx].pkts[TG_DIR_DOWN] - before.pkts[TG_DIR_DOWN], 12);
	CHECK_EQ_U64(kf[idx].pkts[TG_DIR_UP], before.pkts[TG_DIR_UP]);
	CHECK(kf[idx].bytes[TG_DIR_DOWN] > before.bytes[TG_DIR_DOWN]);
	CHECK(tg_read_cust(&maps, idx, &cc) == 0);
	for (int d = 0; d < TG_DIR_NR; d++) {
		CHECK_EQ_U64(cc.pass[d].pkts, kf[idx].pkts[d]);
		CHECK_EQ_U64(cc.pass[d].bytes, kf[idx].bytes[d]);
	}
	CHECK(tg_snap_take(&maps, sn, true) == 0);
	CHECK(sn->have_pass);
	if (sn->have_pass)
		CHECK(memcmp(sn->pass, kf, (size_t)n * sizeof(*kf)) == 0);
	tg_snap_free(sn);
out:
	unsetenv("TOLLGATE_FOLD");
	tg_fold_close(&maps);
	free(sn);
	free(pc);
	free(uf);
	free(kf);
}
