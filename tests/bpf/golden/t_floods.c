// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_floods.c - packet-rate limits ("flood": SYN, UDP, ICMP, fragments, reflection, per
 * source with its block list) and the SMTP policy: bursts from a full bucket.
 */
#include "golden.h"

/*
 * From a full bucket, n + 1 back-to-back packets of one class, where n is the burst the
 * profile holds (one second's worth at the plan's rate, as tg_pkt_policer_params says):
 * the first n pass, the last drops with the class's reason. At these rates the next
 * packet's room is tens of ms away, so the clock cannot admit it during the burst.
 */
void run_flood_case(const struct flood_case *fcase)
{
	uint64_t tick = tg_coarse_tick_ns(), n, i;
	int c = cust_no(fcase->cust), err;
	struct tg_pkt_pol want_pp;
	struct tg_fprof fp;
	struct tg_cust rec;
	struct snap before, after, want;
	uint8_t frame[2048];
	struct built b;
	__u32 verdicts[256], k;
	char msg[2048] = "";

	TEST_BEGIN(fcase->desc);
	if (profiles[fcase->prof].ifindex <= 0) {
		tl_case = NULL;
		skip(fcase->desc, "no second interface in the test namespace");
		return;
	}
	if (build_pkt(&fcase->pkt, frame, &b)) {
		fail(fcase->desc, NULL, "fixture error");
		return;
	}
	if (bpf_map_lookup_elem(maps.cust, &cust_idx[c], &rec) || !rec.fprof) {
		fail(fcase->desc, NULL, "the customer's record names no flood profile");
		return;
	}
	k = rec.fprof;
	if (bpf_map_lookup_elem(maps.fprof, &k, &fp)) {
		fail(fcase->desc, NULL, "cannot read the flood profile");
		return;
	}
	tg_pkt_policer_params(fcase->pps, fcase->burst, tick, &want_pp);
	if (memcmp(&fp.cls[fcase->dir][fcase->fc], &want_pp, sizeof(want_pp))) {
		fail(fcase->desc, NULL, "the profile's limit is not the plan's");
		return;
	}
	n = want_pp.tol_fns / want_pp.ipp_fns;
	if (n < 2 || n + 1 > ARRAY_SIZE(verdicts)) {
		fail(fcase->desc, NULL, "fixture error: burst out of range");
		return;
	}
	err = set_profile(fcase->prof);
	/* a full bucket: the TAT is at most the tolerance ahead */
	usleep((want_pp.tol_fns >> 8) / 1000 + 2 * tick / 1000);
	if (!err)
		err = take_snap(&before);
	if (!err)
		err = send_burst(&(struct burst){.prof = fcase->prof,
						 .n = (int)n + 1,
						 .frame = frame,
						 .len = b.len,
						 .verdicts = verdicts});
	if (!err)
		err = take_snap(&after);
	if (err) {
		snprintf(msg, sizeof(msg), "test run or counter read failed: %s", strerror(-err));
		fail(fcase->desc, NULL, msg);
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
	expect(&want, fcase->prof, E_PASS, 0, fcase->cust, n, n * b.iplen);
	expect(&want, fcase->prof, E_DROP, fcase->reason, fcase->cust, 1, b.iplen);
	diff_snaps(&before, &after, &want, msg, sizeof(msg));
	if (msg[0])
		fail(fcase->desc, NULL, msg + 2);
}

/* Entries in tg_srcblock now. */
static int blocked_sources(void)
{
	struct tg_src_key k, next;
	void *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(maps.srcblock, prev, &next)) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

/* n UDP packets from src to dst on the upstream interface: how many passed, -1 on error. */
int send_up4(const char *src, const char *dst, int n)
{
	struct pkt pk = {V4(src, dst), .proto = IPPROTO_UDP, .payload = 20};
	struct burst bu = {.prof = P_UP, .n = n, .pkts = &pk};

	return send_burst(&bu) ? -1 : bu.passed;
}

#define ATTACKER4 "9.9.9.9"

static void test_per_source(void)
{
	static const struct flood_case over = {
		"per-source: one source toward the customer at 12/s: 12 pass, the 13th drops and "
		"the source is blocked",
		P_UP,
		"c-p",
		TG_DIR_DOWN,
		TG_FC_SRC,
		FL_SRC,
		{V4(ATTACKER4, "198.18.4.9"), .proto = IPPROTO_UDP, .payload = 100},
		TG_R_FLOOD_UDP,
		0};
	static const struct fixture blocked[] = {
		{"per-source: the blocked source's TCP SYN drops too, counted as flood_syn",
		 P_UP,
		 {V4(ATTACKER4, "198.18.4.10")},
		 DROP(FLOOD_SYN, "c-p")},
		{"per-source: another source toward the customer passes",
		 P_UP,
		 {V4("9.9.9.10", "198.18.4.9"), .proto = IPPROTO_UDP, .payload = 100},
		 PASS("c-p")},
		{"per-source: the blocked source toward another customer passes",
		 P_UP,
		 {V4(ATTACKER4, "198.51.100.9")},
		 PASS("c-a")},
	};
	static const struct fixture again = {
		"per-source: after the block time the source passes again",
		P_UP,
		{V4(ATTACKER4, "198.18.4.9"), .proto = IPPROTO_UDP, .payload = 100},
		PASS("c-p")};
	char src[32], msg[256] = "";
	int passed = 0;

	run_flood_case(&over);
	for (size_t i = 0; i < ARRAY_SIZE(blocked); i++)
		run_fixture(&blocked[i]);

	TEST_BEGIN("per-source: 4096 random sources, one packet each, all pass; the attacker "
		   "stays the only blocked source");
	if (set_profile(P_UP)) {
		fail("per-source random flood", NULL, "cannot set the profile");
		return;
	}
	for (int i = 0; i < 4096; i++) {
		int r;

		snprintf(src, sizeof(src), "45.%d.%d.%d", 64 + (i >> 16), (i >> 8) & 255, i & 255);
		r = send_up4(src, "198.18.4.9", 1);
		if (r < 0)
			break;
		passed += r;
	}
	if (passed != 4096)
		snprintf(msg, sizeof(msg), "%d of 4096 passed", passed);
	else if (blocked_sources() != 1)
		snprintf(msg, sizeof(msg), "%d sources blocked, want 1", blocked_sources());
	if (msg[0])
		fail("per-source random flood", NULL, msg);
	run_fixture(&blocked[0]); /* still blocked */

	sleep(FL_BLOCK_S + 1);
	run_fixture(&again);
	TEST_BEGIN("per-source: tollgated's sweep deletes the ended block, and only it");
	{
		struct tg_src_key live = {.cust = cust_idx[cust_no("c-p")],
					  .addr = {0x0b0b0b0bull}};
		struct timespec ts;
		uint64_t until;
		size_t gone = 0;

		/* a block still running beside the ended one */
		clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
		until = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + 60000000000ull;
		CHECK_EQ_U64(bpf_map_update_elem(maps.srcblock, &live, &until, BPF_NOEXIST), 0);
		CHECK_EQ_U64(tg_sweep_srcblock(&maps, &gone), 0);
		CHECK_EQ_U64(gone, 1);
		CHECK_EQ_U64(blocked_sources(), 1);
		CHECK_EQ_U64(bpf_map_lookup_elem(maps.srcblock, &live, &until), 0);
		bpf_map_delete_elem(maps.srcblock, &live);
	}
}

struct tg_src_key src_key4(__u32 cust, const char *src)
{
	struct tg_src_key k = {.cust = cust};
	struct in_addr a = {0};

	inet_pton(AF_INET, src, &a);
	k.addr[0] = a.s_addr; /* network order in the first 4 bytes, as the program keys it */
	return k;
}

/* The per-source hash key the loader drew for these maps (tg_config.src_key). */
__u64 src_hash_key(const struct tg_maps *m)
{
	struct tg_config c = {};
	__u32 zero = 0;

	bpf_map_lookup_elem(m->config, &zero, &c);
	return c.src_key;
}

/* A source in 45.128.0.0/9 whose watch slot toward cust is src's, in out; -1 if none. */
static int colliding_source4(__u32 cust, const char *src, char *out, size_t len)
{
	struct tg_src_key a = src_key4(cust, src), k = {.cust = cust};
	__u64 key = src_hash_key(&maps), want = tg_src_hash(&a, key), h;
	struct in_addr ia;
	__u32 i;

	for (i = 0; i < (1u << 23); i++) {
		ia.s_addr = htonl((45u << 24) | (1u << 23) | i);
		k.addr[0] = ia.s_addr;
		h = tg_src_hash(&k, key);
		if (((h ^ want) & (TG_SRCWATCH_SLOTS - 1)) == 0 && h != want) {
			inet_ntop(AF_INET, &ia, out, len);
			return 0;
		}
	}
	return -1;
}

/*
 * Two sources toward customer c-p that share a watch slot: a source going over the rate
 * keeps the slot, one within a packet of it gives it up.
 */
static void test_per_source_slots(void)
{
	const __u32 cust = cust_idx[cust_no("c-p")];
	const char *dst = "198.18.4.9", *x = "9.9.9.20", *z = "9.9.9.21";
	struct tg_src_key kx = src_key4(cust, x), kz;
	char y[INET_ADDRSTRLEN], w[INET_ADDRSTRLEN];

	TEST_BEGIN("per-source: a source going over the rate keeps its watch slot: another "
		   "source hashing there passes unwatched, and the first is blocked on time");
	if (set_profile(P_UP) || colliding_source4(cust, x, y, sizeof(y))) {
		fail("per-source slot kept", NULL, "fixture error: no colliding source");
		return;
	}
	CHECK_EQ_U64(send_up4(x, dst, FL_SRC / 2), FL_SRC / 2);
	CHECK_EQ_U64(send_up4(y, dst, 1), 1);
	CHECK_EQ_U64(send_up4(x, dst, FL_SRC - FL_SRC / 2), FL_SRC - FL_SRC / 2);
	CHECK_EQ_U64(send_up4(x, dst, 1), 0); /* one over its burst: blocked */
	CHECK_EQ_U64(send_up4(y, dst, 1), 1);
	bpf_map_delete_elem(maps.srcblock, &kx);

	TEST_BEGIN("per-source: a source within one packet of the rate gives its watch slot "
		   "up: a new source hashing there is watched and blocked after its burst");
	if (colliding_source4(cust, z, w, sizeof(w))) {
		fail("per-source slot taken", NULL, "fixture error: no colliding source");
		return;
	}
	kz = src_key4(cust, w);
	CHECK_EQ_U64(send_up4(z, dst, 1), 1);
	CHECK_EQ_U64(send_up4(w, dst, FL_SRC), FL_SRC);
	CHECK_EQ_U64(send_up4(w, dst, 1), 0);
	CHECK_EQ_U64(send_up4(z, dst, 1), 1);
	bpf_map_delete_elem(maps.srcblock, &kz);
	CHECK_EQ_U64(blocked_sources(), 0);
}

#define FSRC4 "198.18.2.5"
#define FSRC6 "2001:db8:302::5"
#define SSRC4 "198.18.3.5"
#define SSRC6 "2001:db8:303::5"

void test_flood(void)
{
	static const struct flood_case cases[] = {
		{"flood: upload TCP SYN at 20/s: a burst of 20 passes, the 21st drops as flood_syn",
		 P_STRICT,
		 "c-f",
		 TG_DIR_UP,
		 TG_FC_SYN,
		 FL_SYN,
		 {V4(FSRC4, DST4), .dport = 443},
		 TG_R_FLOOD_SYN,
		 0},
		{"flood: download UDP at 30/s (aimed at the customer): 30 pass, then flood_udp",
		 P_UP,
		 "c-f",
		 TG_DIR_DOWN,
		 TG_FC_UDP,
		 FL_UDP,
		 {V4(DST4, "198.18.2.9"), .proto = IPPROTO_UDP, .payload = 32},
		 TG_R_FLOOD_UDP,
		 0},
		{"flood: upload ICMPv6 echo at 10/s, burst 4: 4 pass, then flood_icmp",
		 P_STRICT,
		 "c-f",
		 TG_DIR_UP,
		 TG_FC_ICMP,
		 FL_ICMP,
		 {V4(FSRC6, DST6), .proto = IPPROTO_ICMPV6, .icmp_type = ICMP6_ECHO_REQ,
		  .payload = 56},
		 TG_R_FLOOD_ICMP,
		 FL_ICMP_BURST},
		{"flood: upload IPv4 fragments (not first) at 5/s: 5 pass, then flood_frag",
		 P_STRICT,
		 "c-f",
		 TG_DIR_UP,
		 TG_FC_FRAG,
		 FL_FRAG,
		 {V4(FSRC4, DST4), .proto = IPPROTO_UDP, .frag = 100, .payload = 64},
		 TG_R_FLOOD_FRAG,
		 0},
		{"flood: a VLAN-tagged SYN over IPv6 meets the same SYN limit",
		 P_STRICT,
		 "c-f",
		 TG_DIR_UP,
		 TG_FC_SYN,
		 FL_SYN,
		 {Q(100), V4(FSRC6, DST6), .dport = 22},
		 TG_R_FLOOD_SYN,
		 0},
		{"flood: a customer's own SYN limit (40/s) replaces its plan's (20/s)",
		 P_STRICT,
		 "c-g",
		 TG_DIR_UP,
		 TG_FC_SYN,
		 OWN_SYN,
		 {V4("198.18.5.5", DST4), .dport = 443},
		 TG_R_FLOOD_SYN,
		 0},
		{"flood: ... and the rest of its plan's limits stay (ICMP 10/s, burst 4)",
		 P_STRICT,
		 "c-g",
		 TG_DIR_UP,
		 TG_FC_ICMP,
		 FL_ICMP,
		 {V4("198.18.5.5", DST4), .proto = IPPROTO_ICMP, .icmp_type = 8, .payload = 56},
		 TG_R_FLOOD_ICMP,
		 FL_ICMP_BURST},
		{"smtp: limit 3/s: 3 new connections to tcp/25 pass, the 4th drops as smtp",
		 P_STRICT,
		 "c-f",
		 TG_DIR_UP,
		 TG_FC_SMTP,
		 FL_SMTP,
		 {V4(FSRC4, DST4), .dport = 25},
		 TG_R_SMTP,
		 0},
		{"reflection: UDP from NTP (123) toward the customer at 8/s: 8 pass, then "
		 "flood_udp",
		 P_UP,
		 "c-f",
		 TG_DIR_DOWN,
		 TG_FC_REFL,
		 FL_REFL,
		 {V4(DST4, "198.18.2.9"), .proto = IPPROTO_UDP, .sport = 123, .payload = 400},
		 TG_R_FLOOD_UDP,
		 0},
	};
	static const struct fixture after_refl[] = {
		{"reflection: with the reflection bucket empty, UDP from port 5000 passes",
		 P_UP,
		 {V4(DST4, "198.18.2.9"), .proto = IPPROTO_UDP, .sport = 5000, .payload = 40},
		 PASS("c-f")},
		{"reflection: ... and so does UDP over IPv6 from a port not in the list (853)",
		 P_UP,
		 {V4(DST6, "2001:db8:302::9"), .proto = IPPROTO_UDP, .sport = 853, .payload = 40},
		 PASS("c-f")},
		{"reflection: DNS (53) over IPv6 toward the customer meets the same empty bucket",
		 P_UP,
		 {V4(DST6, "2001:db8:302::9"), .proto = IPPROTO_UDP, .sport = 53, .payload = 40},
		 DROP(FLOOD_UDP, "c-f")},
		{"reflection: the customer's own UDP from port 123 (upload) is not reflection",
		 P_STRICT,
		 {V4(FSRC4, DST4), .proto = IPPROTO_UDP, .sport = 123, .payload = 40},
		 PASS("c-f")},
	};
	/* each right after the case above it drained a bucket */
	static const struct fixture after_syn[] = {
		{"flood: with the SYN bucket empty, a SYN-ACK passes (not a new connection)",
		 P_STRICT,
		 {V4(FSRC4, DST4), .sport = 443, .dport = 40000, .tcpflags = 0x12},
		 PASS("c-f")},
		{"flood: with the SYN bucket empty, a plain ACK segment passes",
		 P_STRICT,
		 {V4(FSRC4, DST4), .dport = 443, .tcpflags = 0x10},
		 PASS("c-f")},
		{"flood: with the upload SYN bucket empty, a download SYN passes (own bucket)",
		 P_UP,
		 {V4(DST4, "198.18.2.9"), .dport = 443},
		 PASS("c-f")},
		{"flood: over the SYN limit in monitor mode passes, noted as flood_syn",
		 P_MON,
		 {V4(FSRC4, DST4), .dport = 443},
		 NOTED_C(FLOOD_SYN, "c-f")},
	};
	static const struct fixture smtp[] = {
		{"smtp block: a SYN to tcp/25 drops as smtp",
		 P_STRICT,
		 {V4(SSRC4, DST4), .dport = 25},
		 DROP(SMTP, "c-s")},
		{"smtp block: over IPv6 too",
		 P_STRICT,
		 {V4(SSRC6, DST6), .dport = 25},
		 DROP(SMTP, "c-s")},
		{"smtp block: VLAN-tagged too",
		 P_STRICT,
		 {Q(100), V4(SSRC4, DST4), .dport = 25},
		 DROP(SMTP, "c-s")},
		{"smtp block: submission, tcp/587, passes",
		 P_STRICT,
		 {V4(SSRC4, DST4), .dport = 587},
		 PASS("c-s")},
		{"smtp block: submission over TLS, tcp/465, passes",
		 P_STRICT,
		 {V4(SSRC4, DST4), .dport = 465},
		 PASS("c-s")},
		{"smtp block: an established connection's segment to tcp/25 passes",
		 P_STRICT,
		 {V4(SSRC4, DST4), .dport = 25, .tcpflags = 0x18},
		 PASS("c-s")},
		{"smtp block: UDP to port 25 is not SMTP",
		 P_STRICT,
		 {V4(SSRC4, DST4), .proto = IPPROTO_UDP, .dport = 25, .payload = 8},
		 PASS("c-s")},
		{"smtp block: mail arriving for the customer (upstream, to its tcp/25) passes",
		 P_UP,
		 {V4(DST4, SSRC4), .dport = 25},
		 PASS("c-s")},
		{"smtp block: in monitor mode noted as smtp, passed",
		 P_MON,
		 {V4(SSRC4, DST4), .dport = 25},
		 NOTED_C(SMTP, "c-s")},
	};
	size_t i;

	run_flood_case(&cases[0]);
	for (i = 0; i < ARRAY_SIZE(after_syn); i++)
		run_fixture(&after_syn[i]);
	for (i = 1; i < ARRAY_SIZE(cases); i++)
		run_flood_case(&cases[i]);
	for (i = 0; i < ARRAY_SIZE(after_refl); i++)
		run_fixture(&after_refl[i]);
	for (i = 0; i < ARRAY_SIZE(smtp); i++)
		run_fixture(&smtp[i]);
	test_per_source();
	test_per_source_slots();
}
