// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_h3.c - limits a spoofed flood cannot turn against a customer: ICMP classes, per-source
 * exemption and shares, the keyed per-source hash, the exception limit in strict.
 */
#include "golden.h"

/* Send pk on prof until one drops (at most max): how many passed first, -1 if none dropped. */
static int h3_drain(int prof, const struct pkt *pk, int max)
{
	struct burst bu = {.prof = prof, .n = max, .pkts = pk, .until_drop = true};

	if (set_profile(prof) || send_burst(&bu))
		return -1;
	return bu.first_drop;
}

/* Send pk n times on prof: how many passed, -1 on error. */
static int h3_send(int prof, const struct pkt *pk, int n)
{
	struct burst bu = {.prof = prof, .n = n, .pkts = pk};

	return send_burst(&bu) ? -1 : bu.passed;
}

#define LF4 "198.18.20.5"
#define LF6 "2001:db8:320::5"

void test_h3_icmp(void)
{
	static const struct pkt echo6 = {V4(LF6, DST6), .proto = IPPROTO_ICMPV6,
					 .icmp_type = ICMP6_ECHO_REQ, .payload = 56};
	static const struct pkt echo_down = {V4(DST4, "198.18.20.9"), .proto = IPPROTO_ICMP,
					     .icmp_type = 8, .payload = 56};
	static const struct pkt ns_global = {V4(LF6, "ff02::1:ff00:1"),
					     .proto = IPPROTO_ICMPV6,
					     .icmp_type = ND_NS,
					     .ttl = 255,
					     .payload = 16,
					     .target = "2001:db8:320::1"};
	static const struct fixture up[] = {
		{"h3: upload ICMPv6 packet too big over the ICMP limit passes",
		 P_STRICT,
		 {V4(LF6, DST6), .proto = IPPROTO_ICMPV6, .icmp_type = 2, .payload = 64},
		 PASS("l-f")},
		{"h3: upload ICMPv4 fragmentation needed over the ICMP limit passes",
		 P_STRICT,
		 {V4(LF4, DST4), .proto = IPPROTO_ICMP, .icmp_type = 3, .icmp_code = 4,
		  .payload = 56},
		 PASS("l-f")},
		{"h3: ... but another destination unreachable (port, 3/3) is icmp",
		 P_STRICT,
		 {V4(LF4, DST4), .proto = IPPROTO_ICMP, .icmp_type = 3, .icmp_code = 3,
		  .payload = 56},
		 DROP(FLOOD_ICMP, "l-f")},
		{"h3: NS from the customer's global address over the ICMP limit passes",
		 P_STRICT,
		 {V4(LF6, "ff02::1:ff00:1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NS,
		  .ttl = 255, .payload = 16, .target = "2001:db8:320::1"},
		 PASS("l-f")},
		{"h3: NA from the customer's global address over the ICMP limit passes",
		 P_STRICT,
		 {V4(LF6, "ff02::1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NA, .ttl = 255,
		  .payload = 16, .target = LF6},
		 PASS("l-f")},
		{"h3: MLDv2 report from the customer's global address over the ICMP limit passes",
		 P_STRICT,
		 {V4(LF6, "ff02::16"), .ext = {X_HBH}, .proto = IPPROTO_ICMPV6,
		  .icmp_type = MLD2_REPORT, .ttl = 1, .payload = 20},
		 PASS("l-f")},
		{"h3: ... while its echo requests still drop as flood_icmp",
		 P_STRICT,
		 {V4(LF6, DST6), .proto = IPPROTO_ICMPV6, .icmp_type = ICMP6_ECHO_REQ,
		  .payload = 56},
		 DROP(FLOOD_ICMP, "l-f")},
	};
	static const struct fixture down[] = {
		{"h3: download ICMPv4 fragmentation needed over the ICMP limit passes",
		 P_UP,
		 {V4(DST4, "198.18.20.9"), .proto = IPPROTO_ICMP, .icmp_type = 3, .icmp_code = 4,
		  .payload = 56},
		 PASS("l-f")},
		{"h3: download ICMPv6 packet too big over the ICMP limit passes",
		 P_UP,
		 {V4(DST6, "2001:db8:320::9"), .proto = IPPROTO_ICMPV6, .icmp_type = 2,
		  .payload = 64},
		 PASS("l-f")},
		{"h3: download NS toward the customer over the ICMP limit passes",
		 P_UP,
		 {V4(DST6, "2001:db8:320::9"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NS,
		  .ttl = 255, .payload = 16, .target = "2001:db8:320::9"},
		 PASS("l-f")},
		{"h3: ... while echo requests toward it still drop as flood_icmp",
		 P_UP,
		 {V4(DST4, "198.18.20.9"), .proto = IPPROTO_ICMP, .icmp_type = 8, .payload = 56},
		 DROP(FLOOD_ICMP, "l-f")},
	};
	size_t i;
	int n;

	TEST_BEGIN("h3: upload ICMP bucket of l-f drained by echo requests");
	CHECK(h3_drain(P_STRICT, &echo6, 100) >= 0);
	for (i = 0; i < ARRAY_SIZE(up); i++)
		run_fixture(&up[i]);
	if (profiles[P_UP].ifindex > 0) {
		TEST_BEGIN("h3: download ICMP bucket of l-f drained by echo requests");
		CHECK(h3_drain(P_UP, &echo_down, 100) >= 0);
		for (i = 0; i < ARRAY_SIZE(down); i++)
			run_fixture(&down[i]);
	}

	TEST_BEGIN("h3: 50 NS from the customer's global address leave its ICMP burst whole");
	usleep(1500 * 1000); /* the burst (4 at 10/s) refills */
	CHECK_EQ_U64(set_profile(P_STRICT), 0);
	CHECK_EQ_U64(h3_send(P_STRICT, &ns_global, 50), 50);
	n = h3_drain(P_STRICT, &echo6, 100);
	CHECK_EQ_U64(n, FL_ICMP_BURST);
}

/* The upstream profile; false (and a SKIP) without the second interface. */
static bool h3_up(const char *desc)
{
	if (profiles[P_UP].ifindex > 0 && set_profile(P_UP) == 0)
		return true;
	tl_case = NULL;
	skip(desc, "no second interface in the test namespace");
	return false;
}

static int h3_blocks_of(__u32 cust)
{
	struct tg_src_key k, next;
	void *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(maps.srcblock, prev, &next)) {
		k = next;
		prev = &k;
		n += next.cust == cust;
	}
	return n;
}

/* Delete cust's blocks and its share window, so that later tests start clean. */
static void h3_unblock(__u32 cust)
{
	struct tg_srcquota zq = {};
	struct tg_src_key k, next;
	void *prev = NULL;

	while (!bpf_map_get_next_key(maps.srcblock, prev, &next)) {
		if (next.cust == cust) {
			bpf_map_delete_elem(maps.srcblock, &next);
			prev = NULL; /* start over: the walk's position is gone */
			continue;
		}
		k = next;
		prev = &k;
	}
	bpf_map_update_elem(maps.srcquota, &cust, &zq, BPF_ANY);
}

void test_h3_exempt(void)
{
	const __u32 lp = cust_idx[cust_no("l-p")];
	const char *dst = "198.18.21.9";

	TEST_BEGIN("h3: per_source never blocks a walled-garden source: 8.8.4.4 at three times "
		   "the per-source burst toward l-p all passes");
	if (!h3_up("h3: per_source exemptions"))
		return;
	CHECK_EQ_U64(send_up4(WG_DNS4, dst, 3 * FL_SRC), 3 * FL_SRC);
	CHECK_EQ_U64(h3_blocks_of(lp), 0);
	TEST_BEGIN("h3: per_source never blocks a per_source_exempt source (9.9.100.7)");
	CHECK_EQ_U64(send_up4("9.9.100.7", dst, 3 * FL_SRC), 3 * FL_SRC);
	CHECK_EQ_U64(h3_blocks_of(lp), 0);
	TEST_BEGIN("h3: ... while a source outside both lists (9.9.101.7) is blocked after its "
		   "burst");
	CHECK_EQ_U64(send_up4("9.9.101.7", dst, FL_SRC + 1), FL_SRC);
	CHECK_EQ_U64(send_up4("9.9.101.7", dst, 1), 0);
	CHECK_EQ_U64(h3_blocks_of(lp), 1);
	h3_unblock(lp);
}

/*
 * Customer A (l-p) attacked by TG_SRCBLOCK_SHARE + 200 sources, each over the per-source
 * rate: A holds exactly its share of tg_srcblock, and B's (l-q) one attacker, on a watch
 * slot none of A's sources holds, is still blocked.
 */
void test_h3_share(void)
{
	const __u32 a = cust_idx[cust_no("l-p")], b = cust_idx[cust_no("l-q")];
	const int nsrc = TG_SRCBLOCK_SHARE + 200;
	__u64 key = src_hash_key(&maps);
	static bool held[TG_SRCWATCH_SLOTS];
	char src[32], x[32] = "";
	struct tg_src_key kx;
	int i, over = 0;

	TEST_BEGIN("h3: per-source share: 1224 sources over the rate toward l-p: exactly 1024 "
		   "(TG_SRCBLOCK_SHARE) blocked, the rest policed in their slots");
	if (!h3_up("h3: per-source share"))
		return;
	memset(held, 0, sizeof(held));
	for (i = 0; i < nsrc; i++) {
		struct tg_src_key k;

		snprintf(src, sizeof(src), "46.%d.%d.%d", 1 + (i >> 16), (i >> 8) & 255, i & 255);
		k = src_key4(a, src);
		held[tg_src_hash(&k, key) & (TG_SRCWATCH_SLOTS - 1)] = true;
		over += send_up4(src, "198.18.21.9", FL_SRC + 1) == FL_SRC;
	}
	CHECK(over > (int)TG_SRCBLOCK_SHARE); /* enough of them were watched to fill the share */
	CHECK_EQ_U64(h3_blocks_of(a), TG_SRCBLOCK_SHARE);

	TEST_BEGIN("h3: per-source share: with l-p's share used, l-q's single attacker is "
		   "still blocked");
	for (i = 1; i < 65536 && !x[0]; i++) {
		snprintf(src, sizeof(src), "47.0.%d.%d", i >> 8, i & 255);
		kx = src_key4(b, src);
		if (!held[tg_src_hash(&kx, key) & (TG_SRCWATCH_SLOTS - 1)])
			snprintf(x, sizeof(x), "%s", src);
	}
	CHECK_EQ_U64(send_up4(x, "198.18.22.9", FL_SRC + 1), FL_SRC);
	CHECK_EQ_U64(send_up4(x, "198.18.22.9", 1), 0);
	CHECK_EQ_U64(h3_blocks_of(b), 1);
	CHECK_EQ_U64(bpf_map_lookup_elem(maps.srcblock, &kx, &(__u64){0}), 0);
	h3_unblock(a);
	h3_unblock(b);
}

void test_h3_keyed(void)
{
	struct tg_capacity cap = {.max_customers = 4, .max_prefixes = 8};
	struct tg_maps m2;
	__u64 k1 = src_hash_key(&maps), k2;
	int differ = 0;

	TEST_BEGIN("h3: keyed watch-slot hash: two loads draw different keys, and the same "
		   "sources land on different slots");
	if (tg_maps_open(NULL, &cap, true, &m2)) {
		fail("h3: keyed hash", NULL, "cannot load a second instance");
		return;
	}
	k2 = src_hash_key(&m2);
	CHECK(k1 != 0 && k2 != 0 && k1 != k2);
	for (int i = 0; i < 16; i++) {
		char src[32];
		struct tg_src_key k;

		snprintf(src, sizeof(src), "9.9.9.%d", i);
		k = src_key4(cust_idx[cust_no("l-p")], src);
		differ += (tg_src_hash(&k, k1) ^ tg_src_hash(&k, k2)) & (TG_SRCWATCH_SLOTS - 1) ? 1
												: 0;
	}
	CHECK(differ >= 15);
	tg_maps_close(&m2);
}

/* P_STRICT with an exception limit of pps (burst in packets); returns the burst it holds. */
static int h3_exc_profile(uint64_t pps, uint64_t burst)
{
	struct tg_iface v = {};
	struct tg_pkt_pol pp;
	struct tg_bind_key k, next;
	void *prev = NULL;
	__u32 key = profiles[P_STRICT].ifindex;

	if (set_profile(P_STRICT) || bpf_map_lookup_elem(maps.ifaces, &key, &v))
		return -1;
	tg_pkt_policer_params(pps, burst, tg_coarse_tick_ns(), &pp);
	v.exc_ipp_fns = pp.ipp_fns;
	v.exc_tol_fns = pp.tol_fns;
	if (bpf_map_update_elem(maps.ifaces, &key, &v, BPF_ANY))
		return -1;
	while (!bpf_map_get_next_key(maps.exlim, prev, &next)) { /* every bucket full */
		bpf_map_delete_elem(maps.exlim, &next);
		prev = NULL;
		(void)k;
	}
	return (int)(pp.tol_fns / pp.ipp_fns);
}

/*
 * n + 1 exceptions (pkts[i % npkts]) on P_STRICT with a burst of n: n pass as kind/cust,
 * the last drops as exception charged to owner.
 */
struct exc_burst {
	struct snap want;
	char msg[2048];
	int n, kind;
	const char *cust, *owner;
};

/* Packet i of an exception burst: the first n pass as kind, the one after drops. */
static void exc_each(struct burst *bu, int i, __u32 v, const struct built *b, const uint8_t *out)
{
	struct exc_burst *x = bu->arg;
	const struct pkt *pk = &bu->pkts[i % bu->npkts];
	uint64_t bytes = pk->arp || pk->l2len ? b->len : b->iplen;

	(void)out;
	if (v != (i < x->n ? XDP_PASS : XDP_DROP))
		msg_add(x->msg, sizeof(x->msg), "; packet %d of %d: %s", i + 1, x->n + 1,
			verdict_name(v));
	if (i < x->n)
		expect(&x->want, P_STRICT, x->kind, 0, x->cust, 1, bytes);
	else
		expect(&x->want, P_STRICT, E_DROP, TG_R_EXCEPTION, x->owner, 1, bytes);
}

static void h3_exc_burst(const char *desc, const struct pkt *pkts, int npkts, int n, int kind,
			 const char *cust, const char *owner)
{
	static struct exc_burst x;
	struct snap before, after;
	struct burst bu = {.prof = P_STRICT,
			   .n = n + 1,
			   .pkts = pkts,
			   .npkts = npkts,
			   .each = exc_each,
			   .arg = &x};
	int err = take_snap(&before);

	TEST_BEGIN(desc);
	x = (struct exc_burst){.want = before, .n = n, .kind = kind, .cust = cust, .owner = owner};
	if (!err)
		err = send_burst(&bu);
	if (err == -EINVAL) {
		fail(desc, NULL, "fixture error");
		return;
	}
	if (!err)
		err = take_snap(&after);
	if (err) {
		fail(desc, NULL, "test run or counter read failed");
		return;
	}
	diff_snaps(&before, &after, &x.want, x.msg, sizeof(x.msg));
	if (x.msg[0])
		fail(desc, NULL, x.msg + 2);
}

void test_h3_exceptions(void)
{
	static const struct pkt arp[] = {
		{Q(300), .arp = true, V4("198.18.23.5", "198.18.23.1")},
		{Q(300), .arp = true, V4("0.0.0.0", "198.18.23.9")},
	};
	static struct pkt ns_ll[8];
	static const struct pkt ns_own = {Q(300),
					  V4("2001:db8:323::5", "ff02::1:ff00:1"),
					  .proto = IPPROTO_ICMPV6,
					  .icmp_type = ND_NS,
					  .ttl = 255,
					  .payload = 16,
					  .target = "2001:db8:323::1"};
	static const struct pkt other_port = {.arp = true, V4(SRC_A4, "198.51.100.1")};
	static const struct pkt l2[] = {
		{Q(300), .dmac = MAC_LLDP, .ethertype = ETH_P_LLDP, L2(46, 0x02, 0x07, 0x04, 0x00)},
		{Q(300), .dmac = MAC_BCAST, PPPOE_D(PADI, 0), L2(4, 0x01, 0x01, 0x00, 0x00),
		 .pad = 60},
	};
	static char ll[8][INET6_ADDRSTRLEN];
	int n;

	n = h3_exc_profile(10, 5);
	if (n < 2) {
		fail("h3: exceptions", NULL, "cannot set the exception limit");
		return;
	}
	h3_exc_burst("h3: ARP on l-x's port (VLAN 300) over the port's exception limit: the burst "
		     "passes, the next drops as exception, charged to l-x",
		     arp, 2, n, E_UNCL, NULL, "l-x");
	TEST_BEGIN("h3: ... while ARP on another port of the interface still passes");
	CHECK_EQ_U64(h3_send(P_STRICT, &other_port, 1), 1);
	TEST_BEGIN("h3: ... and ND from l-x's own global address meets the same port limit");
	CHECK_EQ_U64(h3_send(P_STRICT, &ns_own, 1), 0);

	for (int i = 0; i < 8; i++) {
		snprintf(ll[i], sizeof(ll[i]), "fe80::%x:%x", 0x1000 + i * 77, 0x2000 + i * 131);
		ns_ll[i] = (struct pkt){Q(300),
					V4(ll[i], "ff02::1:ff00:1"),
					.proto = IPPROTO_ICMPV6,
					.icmp_type = ND_NS,
					.ttl = 255,
					.payload = 16,
					.target = "fe80::1"};
	}
	n = h3_exc_profile(10, 5);
	h3_exc_burst("h3: NS from random fe80:: sources on l-x's port: the burst passes, the next "
		     "drops as exception, charged to l-x",
		     ns_ll, 8, n, E_UNCL, NULL, "l-x");
	n = h3_exc_profile(10, 5);
	h3_exc_burst("h3: NS from l-x's global address over the port's limit drops as exception",
		     &ns_own, 1, n, E_PASS, "l-x", "l-x");
	n = h3_exc_profile(10, 5);
	h3_exc_burst(
		"exceptions: LLDP and PPPoE PADI on l-x's port (h5's frames) over the port's "
		"exception limit: the burst passes, the next drops as exception, charged to l-x",
		l2, 2, n, E_UNCL, NULL, "l-x");
	set_profile(P_STRICT); /* no exception limit for the fixtures that follow */
}
