// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_h2.c - upstream counting with more than one packet: the fragment limit, jumbo frames
 * with extension headers, the policer, coalesced noted drops.
 */
#include "golden.h"

/*
 * Malformed after the IP header meets the fragment limit too: first IPv4 fragments with a
 * TCP data offset of 4 toward c-f (PL_FLOOD, download frag 5/s): the burst passes (c-f's
 * passed traffic and would-drop malformed), the next one drops as flood_frag.
 */
void test_h2_frag_limit(void)
{
	const char *desc = "h2 flood: v4 first fragments with TCP doff 4 toward c-f: 5 pass "
			   "(its malformed), then flood_frag";
	const struct pkt pk = {V4(DST4, "198.18.2.9"), .frag = IPV4_MF, .doff = 4, .payload = 64};
	uint64_t tick = tg_coarse_tick_ns(), n, i;
	struct snap before, after, want;
	struct tg_pkt_pol pp;
	int err;
	uint8_t frame[2048];
	struct built b;
	__u32 v[64];
	char msg[2048] = "";

	TEST_BEGIN(desc);
	if (profiles[P_UP].ifindex <= 0) {
		tl_case = NULL;
		skip(desc, "no second interface in the test namespace");
		return;
	}
	CHECK(build_pkt(&pk, frame, &b) == 0);
	tg_pkt_policer_params(FL_FRAG, 0, tick, &pp);
	n = pp.tol_fns / pp.ipp_fns;
	CHECK(n >= 2 && n + 1 <= ARRAY_SIZE(v));
	if (tl_case_failed)
		return;
	err = set_profile(P_UP);
	usleep((pp.tol_fns >> 8) / 1000 + 2 * tick / 1000); /* a full bucket */
	if (!err)
		err = take_snap(&before);
	if (!err)
		err = send_burst(&(struct burst){.prof = P_UP,
						 .n = (int)n + 1,
						 .frame = frame,
						 .len = b.len,
						 .verdicts = v});
	if (!err)
		err = take_snap(&after);
	CHECK_EQ_U64(err, 0);
	if (err)
		return;
	for (i = 0; i <= n; i++)
		if (v[i] != (i < n ? XDP_PASS : XDP_DROP))
			msg_add(msg, sizeof(msg), "; packet %llu of %llu: %s",
				(unsigned long long)i + 1, (unsigned long long)n + 1,
				verdict_name(v[i]));
	want = before;
	expect(&want, P_UP, E_NOTED, TG_R_MALFORMED, "c-f", n, n * b.iplen);
	expect(&want, P_UP, E_DROP, TG_R_FLOOD_FRAG, "c-f", 1, b.iplen);
	diff_snaps(&before, &after, &want, msg, sizeof(msg));
	if (msg[0])
		fail(desc, NULL, msg + 2);
}

/*
 * A frame over 16 KiB, through generic XDP on the veth (BPF_PROG_TEST_RUN hands the
 * program at most a page of linear data, so only a real receive can show it): IPv6 toward
 * c-a with eight 2048-byte Destination Options headers, whose chain ends at 40 + 16384,
 * past IPV6_EXT_OFF_MASK. The first header's bytes 12-13 look like a TCP header's data
 * offset and flags, so an offset wrapped by the mask (back to 40) would parse it as a valid
 * TCP SYN and pass the packet as c-a's clean traffic. It must fail closed: malformed after
 * the IP header, c-a's passed traffic and would-drop malformed.
 */
void test_h2_jumbo_ext(void)
{
	enum { NX = 8, XLEN = 2048, PAY = 100 };
	const size_t iplen = 40 + NX * XLEN + 20 + PAY, len = 14 + iplen;
	const char *desc = "h2 generic XDP: a 16 KiB IPv6 extension chain fails closed (no wrap)";
	int ifa = profiles[P_UP].ifindex, ifb = if_nametoindex(IF_C), c = cust_no("c-a");
	struct snap before, after, want;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = ifb, .sll_halen = 6};
	uint8_t *f = calloc(1, len), *x;
	char msg[2048] = "";
	bool v6;
	int fd = -1, i, err;

	TEST_BEGIN(desc);
	if (!f) {
		fail(desc, NULL, "out of memory");
		return;
	}
	if (ifa <= 0 || ifb <= 0 ||
	    system("ip -d link show " IF_B " 2>/dev/null | grep -q 'veth'") != 0) {
		tl_case = NULL;
		skip(desc, "no veth pair in the test namespace");
		free(f);
		return;
	}
	/* quiet links: no IPv6 on them (no MLD or ND to count), a jumbo MTU, up */
	if (system("sysctl -qw net.ipv6.conf." IF_B ".disable_ipv6=1 net.ipv6.conf." IF_C
		   ".disable_ipv6=1 >/dev/null 2>&1 && ip link set " IF_B
		   " mtu 20000 && ip link set " IF_C " mtu 20000 && ip link set " IF_B
		   " up && ip link set " IF_C " up") != 0) {
		tl_case = NULL;
		skip(desc, "cannot set the veth pair's MTU to 20000 and bring it up");
		free(f);
		return;
	}
	if (bpf_xdp_attach(ifa, maps.prog, XDP_FLAGS_SKB_MODE, NULL)) {
		tl_case = NULL;
		skip(desc, "generic XDP attach refused");
		free(f);
		return;
	}
	memset(f, 0xff, 6); /* broadcast: the receiving veth takes it whatever its address */
	f[6] = 0x02;
	put16(f + 12, ETH_P_IPV6);
	f[14] = 0x60;
	put16(f + 18, (uint16_t)(iplen - 40));
	f[20] = IPPROTO_DSTOPTS;
	f[21] = 64;
	parse_addr(DST6, f + 22, &v6);
	parse_addr(SRC_A6, f + 38, &v6);
	for (i = 0; i < NX; i++) {
		x = f + 54 + i * XLEN;
		x[0] = i + 1 < NX ? IPPROTO_DSTOPTS : IPPROTO_TCP;
		x[1] = XLEN / 8 - 1; /* the rest: Pad1 options (zeros) */
	}
	f[54 + 12] = 0x50; /* where a wrapped offset would look: TCP doff 5 */
	f[54 + 13] = 0x02; /* SYN */
	x = f + 54 + NX * XLEN;
	put16(x, 40000);
	put16(x + 2, 80);
	x[12] = 0x50;
	x[13] = 0x02;
	memset(sll.sll_addr, 0xff, 6);

	err = set_profile(P_UP);
	if (!err)
		err = take_snap(&before);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (!err &&
	    (fd < 0 || sendto(fd, f, len, 0, (struct sockaddr *)&sll, sizeof(sll)) != (ssize_t)len))
		err = -errno;
	for (i = 0; !err && i < 100; i++) { /* received in softirq: wait for the count */
		err = take_snap(&after);
		if (err || memcmp(&after, &before, sizeof(after)))
			break;
		usleep(10000);
	}
	usleep(50000); /* and for anything else that would arrive with it */
	if (!err)
		err = take_snap(&after);
	if (fd >= 0)
		close(fd);
	bpf_xdp_detach(ifa, XDP_FLAGS_SKB_MODE, NULL);
	free(f);
	if (err) {
		snprintf(msg, sizeof(msg), "send or counter read failed: %s", strerror(-err));
		fail(desc, NULL, msg);
		return;
	}
	want = before;
	add(&want.ifc[P_UP].noted[TG_R_MALFORMED], 1, iplen);
	add(&want.cust[c].pass[TG_DIR_DOWN], 1, iplen);
	add(&want.cust[c].noted[TG_DIR_DOWN][TG_R_MALFORMED], 1, 0);
	if (diff_snaps(&before, &after, &want, msg, sizeof(msg)))
		fail(desc, NULL, msg + 2);
}

/* Malformed after the IP header, toward c-k (download 8 kbit/s): its policer applies. */
void test_h2_policed(void)
{
	const struct rate_case v6 = {
		"h2 rate: nine v6 Destination Options toward c-k: n pass (its malformed), n + 1 "
		"drops as rate",
		P_UP,
		"c-k",
		TG_DIR_DOWN,
		{V4(DST6, "2001:db8:301::5"),
		 .ext = {X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST},
		 .payload = 8},
		{V4(DST6, "2001:db8:301::5"),
		 .ext = {X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST},
		 .payload = 8},
		true,
		true,
	};
	const struct rate_case v4 = {
		"h2 rate: v4 TCP doff 4 toward c-k: n pass (its malformed), n + 1 drops as rate",
		P_UP,
		"c-k",
		TG_DIR_DOWN,
		{V4(DST4, "198.18.1.5"), .doff = 4, .payload = 100},
		{V4(DST4, "198.18.1.5"), .doff = 4, .payload = 100},
		true,
		true,
	};

	run_rate_case(&v6, &plan_rates[PL_DOWN8K][TG_DIR_DOWN]);
	run_rate_case(&v4, &plan_rates[PL_DOWN8K][TG_DIR_DOWN]);
}

/*
 * Would-drops coalesce per CPU like drops, under a key of their own: 70 noted packets of
 * one customer (over TG_DCACHE_FLUSH_PKTS: one flush, six pending) then 10 dropped ones of
 * the same customer, direction and reason read back as 70 noted and 10 dropped, through
 * tg_read_cust and through a snapshot (the API's and /metrics' reader) alike.
 */
void test_h2_noted_coalesce(void)
{
	const struct pkt sp = {Q(100), V4("8.8.4.4", DST4)};
	struct tg_cust_counters c0, c1;
	struct tg_snap *sn = calloc(1, sizeof(*sn));
	uint8_t frame[2048];
	struct built b;
	int c = cust_no("c-v"), i, err = 0;
	uint64_t sd0 = 0, sn0 = 0;
	__u32 ret;

	TEST_BEGIN("h2 monitor: 70 would-drops then 10 drops of one key read back exactly");
	CHECK(sn != NULL);
	CHECK(build_pkt(&sp, frame, &b) == 0);
	if (!sn || tl_case_failed) {
		free(sn);
		return;
	}
	CHECK(tg_read_cust(&maps, cust_idx[c], &c0) == 0);
	CHECK(tg_snap_take(&maps, sn, false) == 0);
	sd0 = tg_snap_drops(&maps, sn, cust_idx[c], TG_DIR_UP, TG_R_SPOOF);
	sn0 = tg_snap_noted(&maps, sn, cust_idx[c], TG_DIR_UP, TG_R_SPOOF);
	tg_snap_free(sn);
	err = set_profile(P_MON);
	for (i = 0; !err && i < 70; i++)
		err = run_frame(profiles[P_MON].ifindex, frame, b.len, &ret);
	if (!err)
		err = set_profile(P_STRICT);
	for (i = 0; !err && i < 10; i++)
		err = run_frame(profiles[P_STRICT].ifindex, frame, b.len, &ret);
	CHECK_EQ_U64(err, 0);
	CHECK(tg_read_cust(&maps, cust_idx[c], &c1) == 0);
	CHECK_EQ_U64(c1.noted[TG_DIR_UP][TG_R_SPOOF].pkts - c0.noted[TG_DIR_UP][TG_R_SPOOF].pkts,
		     70);
	CHECK_EQ_U64(c1.drop[TG_DIR_UP][TG_R_SPOOF].pkts - c0.drop[TG_DIR_UP][TG_R_SPOOF].pkts, 10);
	CHECK_EQ_U64(c1.pass[TG_DIR_UP].pkts - c0.pass[TG_DIR_UP].pkts, 70);
	CHECK_EQ_U64(c1.pass[TG_DIR_UP].bytes - c0.pass[TG_DIR_UP].bytes, 70ull * b.iplen);
	CHECK(tg_snap_take(&maps, sn, false) == 0);
	CHECK_EQ_U64(tg_snap_noted(&maps, sn, cust_idx[c], TG_DIR_UP, TG_R_SPOOF) - sn0, 70);
	CHECK_EQ_U64(tg_snap_drops(&maps, sn, cust_idx[c], TG_DIR_UP, TG_R_SPOOF) - sd0, 10);
	tg_snap_free(sn);
	free(sn);
}
