// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_policer.c - the policers: the single-rate token bucket (n packets pass, the next
 * drops) and the two-rate three-colour policer (RFC 2698) with its yellow DSCP.
 */
#include "golden.h"

uint64_t coarse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Return right after the coarse clock ticked: a whole tick lies ahead. */
static void wait_tick_edge(void)
{
	uint64_t t0 = coarse_now_ns();

	while (coarse_now_ns() == t0)
		;
}

/*
 * Send n + 1 back-to-back packets of one length to a customer whose bucket is full, where
 * n = tolerance / cost as the loader configured them: the first n pass, the last drops
 * with reason rate. The coarse clock may move during the burst and refill the bucket by
 * the time it moved (dt); the result is only asserted when dt cannot have admitted the
 * extra packet ((n + 1) * cost - tol > dt), and the burst is retried (after the bucket
 * refilled) otherwise. At 8 Mbit/s one tick refills more than a packet, so that means no
 * tick during the burst; at 8 kbit/s a tick adds 4 bytes and any short burst qualifies.
 */
void run_rate_case(const struct rate_case *rc, const struct tg_rate_cfg *rate)
{
	uint64_t tick = tg_coarse_tick_ns(), cost, n, eff_burst, dt, margin_fns, t1, t2;
	int c = cust_no(rc->cust), attempt, ok = 0;
	struct tg_policer_cfg pc;
	struct tg_cust rec;
	struct snap before, after, want;
	uint8_t f1[2048], f2[2048];
	struct built b1, b2;
	__u32 verdicts[512];
	char msg[2048] = "";
	uint64_t i;
	int err;

	TEST_BEGIN(rc->desc);
	if (profiles[rc->prof].ifindex <= 0) {
		tl_case = NULL;
		skip(rc->desc, "no second interface in the test namespace");
		return;
	}
	if (build_pkt(&rc->first, f1, &b1) || build_pkt(&rc->last, f2, &b2) ||
	    b1.iplen != b2.iplen) {
		fail(rc->desc, NULL, "fixture error: packets must have one IP length");
		return;
	}
	tg_policer_params(rate, tick, &pc);
	if (bpf_map_lookup_elem(maps.cust, &cust_idx[c], &rec)) {
		fail(rc->desc, NULL, "cannot read the customer record");
		return;
	}
	if (rec.pol[rc->dir].ipb_fns16 != pc.ipb_fns16 || rec.pol[rc->dir].tol_fns != pc.tol_fns) {
		snprintf(msg, sizeof(msg),
			 "tg_cust[%s].pol[%s] = {%llu, %llu}, tg_policer_params says {%llu, %llu}",
			 rc->cust, dir_name[rc->dir],
			 (unsigned long long)rec.pol[rc->dir].ipb_fns16,
			 (unsigned long long)rec.pol[rc->dir].tol_fns,
			 (unsigned long long)pc.ipb_fns16, (unsigned long long)pc.tol_fns);
		fail(rc->desc, NULL, msg);
		return;
	}
	cost = ((uint64_t)b1.iplen * pc.ipb_fns16) >> 8;
	n = cost ? pc.tol_fns / cost : 0;
	/* the effective burst: the configured one, raised to two clock ticks at the rate */
	eff_burst = rate->burst_bytes;
	if (rate->rate_bps * 2 * tick / 8000000000ull > eff_burst)
		eff_burst = rate->rate_bps * 2 * tick / 8000000000ull;
	if (verbose)
		printf("  %s: tick %llu ns, effective burst %llu B, %u-byte packets: %llu "
		       "conform\n",
		       rc->desc, (unsigned long long)tick, (unsigned long long)eff_burst, b1.iplen,
		       (unsigned long long)n);
	if (n < 2 || n + 1 > ARRAY_SIZE(verdicts) || n > eff_burst / b1.iplen ||
	    n + 1 < eff_burst / b1.iplen) {
		snprintf(msg, sizeof(msg),
			 "%llu packets of %u bytes conform, the effective burst of %llu bytes "
			 "allows %llu",
			 (unsigned long long)n, b1.iplen, (unsigned long long)eff_burst,
			 (unsigned long long)(eff_burst / b1.iplen));
		fail(rc->desc, NULL, msg);
		return;
	}
	margin_fns = (n + 1) * cost - pc.tol_fns; /* refill that would admit packet n + 1 */

	err = set_profile(rc->prof);
	for (attempt = 0; !err && attempt < 10 && !ok; attempt++) {
		if (attempt || rc->used) /* a full bucket again: the TAT is at most tol ahead */
			usleep((pc.tol_fns >> 8) / 1000 + 2 * tick / 1000);
		wait_tick_edge();
		err = take_snap(&before);
		t1 = coarse_now_ns();
		for (i = 0; !err && i <= n; i++)
			err = run_frame(profiles[rc->prof].ifindex, i + 2 < n + 1 ? f1 : f2,
					i + 2 < n + 1 ? b1.len : b2.len, &verdicts[i]);
		t2 = coarse_now_ns();
		if (!err)
			err = take_snap(&after);
		dt = t2 - t1;
		if (dt << 8 < margin_fns)
			ok = 1;
	}
	if (err) {
		snprintf(msg, sizeof(msg), "test run or counter read failed: %s", strerror(-err));
		fail(rc->desc, NULL, msg);
		return;
	}
	if (!ok) {
		fail(rc->desc, NULL, "the coarse clock moved during every attempt: inconclusive");
		return;
	}
	for (i = 0; i <= n; i++) {
		__u32 w = i < n ? XDP_PASS : XDP_DROP;

		if (verdicts[i] != w)
			msg_add(msg, sizeof(msg), "; packet %llu of %llu: %s want %s",
				(unsigned long long)i + 1, (unsigned long long)n + 1,
				verdict_name(verdicts[i]), verdict_name(w));
	}
	want = before;
	if (rc->l4bad)
		expect(&want, rc->prof, E_NOTED, TG_R_MALFORMED, rc->cust, n, n * b1.iplen);
	else
		expect(&want, rc->prof, E_PASS, 0, rc->cust, n, n * b1.iplen);
	expect(&want, rc->prof, E_DROP, TG_R_RATE, rc->cust, 1, b1.iplen);
	diff_snaps(&before, &after, &want, msg, sizeof(msg));
	if (msg[0] && v4_tables_broken && !(b1.v6 && b2.v6))
		msg_add(msg, sizeof(msg), "; (IPv4 tables wrong: see the [BUG] sync check)");
	if (msg[0])
		fail(rc->desc, NULL, msg + 2);
}

void test_policer(void)
{
	const struct rate_case up_v4 = {
		"rate: upload 8 Mbit/s, burst 3000 B: n 1000-byte v4 packets pass, n + 1 drops",
		P_STRICT,
		"c-r",
		TG_DIR_UP,
		{V4("198.18.0.5", DST4), .proto = IPPROTO_UDP, .payload = UDP_PAYLOAD4(1000)},
		{V4("198.18.0.5", DST4), .proto = IPPROTO_UDP, .payload = UDP_PAYLOAD4(1000)},
		false,
		false,
	};
	const struct rate_case up_mixed = {
		"rate: v4 and v6 of one customer share its upload bucket",
		P_STRICT,
		"c-r",
		TG_DIR_UP,
		{V4("198.18.0.9", DST4), .proto = IPPROTO_UDP, .payload = UDP_PAYLOAD4(1000)},
		{V4("2001:db8:300::9", DST6), .proto = IPPROTO_UDP, .payload = UDP_PAYLOAD6(1000)},
		true,
		false,
	};
	const struct rate_case down_v6 = {
		"rate: download 8 kbit/s, burst 3000 B: n 100-byte v6 packets pass, n + 1 drops",
		P_UP,
		"c-k",
		TG_DIR_DOWN,
		{V4(DST6, "2001:db8:301::5"), .proto = IPPROTO_UDP, .payload = UDP_PAYLOAD6(100)},
		{V4(DST6, "2001:db8:301::5"), .proto = IPPROTO_UDP, .payload = UDP_PAYLOAD6(100)},
		false,
		false,
	};
	/* right after down_v6 the bucket is empty for ~100 ms: monitor mode only notes */
	const struct fixture mon = {
		"rate: over the limit in monitor mode passes, noted as rate",
		P_UP_MON,
		{V4(DST6, "2001:db8:301::7"), .proto = IPPROTO_UDP, .payload = UDP_PAYLOAD6(100)},
		NOTED_C(RATE, "c-k"),
	};
	const struct fixture down_v4 = {
		"rate: the empty download bucket drops v4 too",
		P_UP,
		{V4(DST4, "198.18.1.5"), .proto = IPPROTO_UDP, .payload = UDP_PAYLOAD4(100)},
		DROP(RATE, "c-k"),
	};
	const struct fixture up_free = {
		"rate: an empty download bucket does not limit upload",
		P_STRICT,
		{V4("198.18.1.5", DST4), .proto = IPPROTO_UDP, .payload = UDP_PAYLOAD4(100)},
		PASS("c-k"),
	};

	run_rate_case(&up_v4, &plan_rates[PL_UP8M][TG_DIR_UP]);
	run_rate_case(&up_mixed, &plan_rates[PL_UP8M][TG_DIR_UP]);
	run_rate_case(&down_v6, &plan_rates[PL_DOWN8K][TG_DIR_DOWN]);
	run_fixture(&mon);
	run_fixture(&down_v4);
	run_fixture(&up_free);
}

/* ------------------------------------------------------------------------------------- */
/* h4: two-rate three-colour policer (RFC 2698)                                           */
/* ------------------------------------------------------------------------------------- */

struct trtcm_case {
	const char *desc;
	int prof;
	const char *cust;
	struct pkt pkt; /* sent TR_PBS / size + 1 times to a full pair of buckets */
	uint8_t tclass; /* the sent TOS / traffic class: DSCP AF41, ECN ECT(1) */
	bool throttled; /* single-rate: no yellow, red right after the green */
};

/* What run_trtcm_case checks of each packet. */
struct trtcm_burst {
	const struct trtcm_case *tc;
	const struct built *b;
	const uint8_t *in;
	int n_green, n_yellow;
	char msg[4096];
	uint8_t last[2048]; /* the last frame as the program left it (-v shows it) */
};

/* Packet i of a two-rate burst: its verdict, its colour's DSCP, nothing else changed. */
static void trtcm_each(struct burst *bu, int i, __u32 v, const struct built *built,
		       const uint8_t *out)
{
	struct trtcm_burst *x = bu->arg;
	const struct trtcm_case *tc = x->tc;
	const struct built *bp = x->b;
	const uint8_t *in = x->in;
	const int n_green = x->n_green, n_yellow = x->n_yellow;
	const char *colour = i < n_green ? "green" : i < n_green + n_yellow ? "yellow" : "red";
	__u32 want_v = i < n_green + n_yellow ? XDP_PASS : XDP_DROP;
	uint8_t tcl, want_tc;

	(void)built;
	memcpy(x->last, out, bp->len);
	if (v != want_v) {
		msg_add(x->msg, sizeof(x->msg), "; packet %d (%s): %s, want %s", i + 1, colour,
			verdict_name(v), verdict_name(want_v));
		return;
	}
	if (v != XDP_PASS)
		return;
	tcl = bp->v6 ? (uint8_t)((out[bp->l3] & 0x0f) << 4 | out[bp->l3 + 1] >> 4)
		     : out[bp->l3 + 1];
	want_tc = i < n_green ? tc->tclass : (uint8_t)(TR_YELLOW << 2 | (tc->tclass & 3));
	if (tcl != want_tc)
		msg_add(x->msg, sizeof(x->msg),
			"; packet %d (%s): DSCP %u ECN %u, want DSCP %u ECN %u", i + 1, colour,
			tcl >> 2, tcl & 3, want_tc >> 2, want_tc & 3);
	if (!bp->v6 && ip_csum(out + bp->l3, 20) != 0)
		msg_add(x->msg, sizeof(x->msg), "; packet %d (%s): IPv4 header checksum %04x wrong",
			i + 1, colour, (out[bp->l3 + 10] << 8) | out[bp->l3 + 11]);
	/* nothing else changed: the traffic class bytes (and the checksum) aside */
	for (size_t k = 0; k < bp->len; k++) {
		bool tcbyte = bp->v6 ? k == bp->l3 || k == bp->l3 + 1
				     : k == bp->l3 + 1 || k == bp->l3 + 10 || k == bp->l3 + 11;

		if (out[k] != in[k] && (i < n_green || !tcbyte)) {
			msg_add(x->msg, sizeof(x->msg), "; packet %d (%s): byte %zu changed", i + 1,
				colour, k);
			break;
		}
	}
	if (i >= n_green && bp->v6 && ((out[bp->l3] ^ in[bp->l3]) & 0xf0))
		msg_add(x->msg, sizeof(x->msg), "; packet %d: IPv6 version field changed", i + 1);
}

/*
 * Packets of 1000 IP bytes to a customer with rate 8 kbit/s, burst 3000, peak 16 kbit/s,
 * peak burst 6000, both buckets full: 3 green (the frame comes out byte for byte as it
 * went in), 3 yellow (passed, DSCP rewritten to yellow_dscp, ECN kept, IPv4 header
 * checksum valid, nothing else changed), then red (dropped, reason rate). A tick refills
 * 4 and 8 bytes: no packet's colour depends on when it ran.
 */
static void run_trtcm_case(const struct trtcm_case *tc)
{
	const int n_green = TR_CBS / 1000, n_yellow = tc->throttled ? 0 : (TR_PBS - TR_CBS) / 1000;
	static struct trtcm_burst x;
	uint8_t in[2048];
	struct snap before, after, want;
	struct built b;
	char *msg = x.msg;
	const size_t msg_size = sizeof(x.msg);
	int err;

	TEST_BEGIN(tc->desc);
	if (profiles[tc->prof].ifindex <= 0) {
		tl_case = NULL;
		skip(tc->desc, "no second interface in the test namespace");
		return;
	}
	if (build_pkt(&tc->pkt, in, &b) || b.iplen != 1000) {
		fail(tc->desc, NULL, "fixture error: want a 1000-byte IP packet");
		return;
	}
	if (b.v6) {
		in[b.l3] = (uint8_t)(0x60 | tc->tclass >> 4);
		in[b.l3 + 1] = (uint8_t)((in[b.l3 + 1] & 0x0f) | (tc->tclass & 0x0f) << 4);
	} else {
		in[b.l3 + 1] = tc->tclass;
		put16(in + b.l3 + 10, 0);
		put16(in + b.l3 + 10, ip_csum(in + b.l3, 20));
	}
	x = (struct trtcm_burst){
		.tc = tc, .b = &b, .in = in, .n_green = n_green, .n_yellow = n_yellow};
	err = set_profile(tc->prof);
	if (!err)
		err = take_snap(&before);
	if (!err)
		err = send_burst(&(struct burst){.prof = tc->prof,
						 .n = n_green + n_yellow + 1,
						 .frame = in,
						 .len = b.len,
						 .each = trtcm_each,
						 .arg = &x});
	if (!err)
		err = take_snap(&after);
	if (err) {
		snprintf(msg, msg_size, "; test run or counter read failed: %s", strerror(-err));
		fail(tc->desc, NULL, msg + 2);
		return;
	}
	want = before;
	expect(&want, tc->prof, E_PASS, 0, tc->cust, n_green + n_yellow,
	       (uint64_t)(n_green + n_yellow) * b.iplen);
	expect(&want, tc->prof, E_DROP, TG_R_RATE, tc->cust, 1, b.iplen);
	diff_snaps(&before, &after, &want, msg, msg_size);
	if (msg[0]) {
		if (verbose)
			hexdump(x.last, b.len);
		fail(tc->desc, NULL, msg + 2);
	}
}

void test_trtcm(void)
{
	static const struct trtcm_case cases[] = {
		{"trtcm: IPv4 upload: 3 green untouched, 3 yellow marked AF13 (checksum fixed), "
		 "then red",
		 P_STRICT,
		 "p-t4",
		 {V4("198.18.80.5", DST4), .proto = IPPROTO_UDP, .payload = UDP_PAYLOAD4(1000)},
		 34 << 2 | 1,
		 false},
		{"trtcm: IPv6 upload: 3 green untouched, 3 yellow with traffic class AF13, then "
		 "red",
		 P_STRICT,
		 "p-t6",
		 {V4("2001:db8:381::5", DST6), .proto = IPPROTO_UDP, .payload = UDP_PAYLOAD6(1000)},
		 34 << 2 | 1,
		 false},
		{"trtcm: IPv4 in VLAN 399: the yellow DSCP is written behind the tag",
		 P_STRICT,
		 "p-tq",
		 {Q(399), V4("198.18.82.5", DST4), .proto = IPPROTO_UDP,
		  .payload = UDP_PAYLOAD4(1000)},
		 34 << 2 | 2,
		 false},
		{"trtcm: IPv4 in a PPPoE session (QinQ 300.402): the yellow DSCP is written behind "
		 "the PPP header",
		 P_STRICT,
		 "p-tp",
		 {QINQ(300, 402), SES(0x45), V4("198.18.85.5", DST4), .proto = IPPROTO_UDP,
		  .payload = UDP_PAYLOAD4(1000)},
		 34 << 2 | 2,
		 false},
		{"trtcm: IPv4 download (TCP): green, yellow, red toward the customer",
		 P_UP,
		 "p-td",
		 {V4(DST4, "198.18.83.5"), .tcpflags = 0x10, .payload = 1000 - 40},
		 0 << 2 | 3,
		 false},
		{"trtcm: throttled: held to its rate alone, no yellow above it",
		 P_STRICT,
		 "p-tt",
		 {V4("198.18.84.5", DST4), .proto = IPPROTO_UDP, .payload = UDP_PAYLOAD4(1000)},
		 34 << 2 | 1,
		 true},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		run_trtcm_case(&cases[i]);
}
