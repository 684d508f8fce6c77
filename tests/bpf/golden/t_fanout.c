// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_fanout.c - the fan-out sketches (bpf/fanout_kern.h): distinct destinations and ports
 * a customer contacts, its new SMTP connections, and its TCP SYNs and the SYN-ACKs that
 * answer them, per interval. Sweeps through the program measure the estimates' error
 * (docs/metrics.md quotes what this prints).
 */
#include <math.h>

#include "golden.h"

#define FO_SWEEP 2000 /* hosts of a host sweep, ports of a port sweep */
#define FO_TRIALS 24  /* sweeps of each kind, over distinct destinations */
#define FO_CUST "c-a"

/* One packet through the interface of profile prof; 1: it passed. */
static int fo_send_on(int prof, const struct pkt *pk)
{
	uint8_t frame[2048];
	struct built b;
	__u32 ret = 0;

	if (build_pkt(pk, frame, &b) || run_frame(profiles[prof].ifindex, frame, b.len, &ret))
		return -1;
	return ret == XDP_PASS;
}

/* One packet from the customer (P_STRICT, upload); 1: it passed. */
static int fo_send(const struct pkt *pk)
{
	return fo_send_on(P_STRICT, pk);
}

static int fo_read(const char *cust, struct tg_fanout_est *e)
{
	return tg_read_fanout(&maps, cust_idx[cust_no(cust)], e);
}

/* A new interval, as tollgated starts one. */
static int fo_next(void)
{
	return tg_fanout_advance(&maps);
}

static double rel_err(double est, double truth)
{
	return (est - truth) / truth;
}

struct fo_errs {
	double sum, sq, max;
	int n, bad;
};

static void fo_note(struct fo_errs *x, double err)
{
	x->sum += err;
	x->sq += err * err;
	if (fabs(err) > x->max)
		x->max = fabs(err);
	x->bad += fabs(err) > 0.75; /* 4 standard errors of 32 registers: 1 in 400 sweeps */
	x->n++;
}

static void fo_check(const char *what, const struct fo_errs *x)
{
	double bias = x->sum / x->n, rms = sqrt(x->sq / x->n);

	printf("  fanout: %s: %d sweeps of %d: bias %+.1f%%, rms error %.1f%%, worst %.1f%%\n",
	       what, x->n, FO_SWEEP, bias * 100, rms * 100, x->max * 100);
	CHECK(x->n == FO_TRIALS);
	CHECK(fabs(bias) <= 0.15);
	CHECK(rms <= 0.30);
	CHECK(x->bad <= 1);
}

static void fo_sweeps(void)
{
	struct fo_errs hosts = {}, ports = {};
	struct tg_fanout_est e;
	char dst[32];

	TEST_BEGIN("fanout: a sweep of 2000 hosts x 1 port (TCP SYN, UDP) estimates 2000 hosts "
		   "(and 1 port), within the stated error, over 24 sweeps");
	for (int t = 0; t < FO_TRIALS; t++) {
		int passed = 0;

		if (fo_next())
			break;
		for (int i = 0; i < FO_SWEEP; i++) {
			struct pkt pk = {V4(SRC_A4, dst), .dport = 22, .tcpflags = 0x02};

			if (t & 1) { /* every other sweep UDP: it feeds the hosts too */
				pk.proto = IPPROTO_UDP;
				pk.dport = 53;
			}
			snprintf(dst, sizeof(dst), "20.%d.%d.%d", t, i / 250, i % 250 + 1);
			passed += fo_send(&pk) == 1;
		}
		CHECK_EQ_U64(passed, FO_SWEEP);
		if (fo_read(FO_CUST, &e))
			break;
		fo_note(&hosts, rel_err(e.hosts, FO_SWEEP));
		CHECK(e.ports > 0.5 && e.ports < 1.5);
	}
	fo_check("hosts", &hosts);

	TEST_BEGIN("fanout: a sweep of 1 host x 2000 ports (TCP SYN, UDP) estimates 2000 ports "
		   "(and 1 host), within the stated error, over 24 sweeps");
	for (int t = 0; t < FO_TRIALS; t++) {
		int passed = 0;

		if (fo_next())
			break;
		snprintf(dst, sizeof(dst), "21.0.0.%d", t + 1);
		for (int i = 0; i < FO_SWEEP; i++) {
			struct pkt pk = {V4(SRC_A4, dst), .dport = (uint16_t)(1 + t * FO_SWEEP + i),
					 .tcpflags = 0x02};

			if (t & 1) /* every other sweep UDP: a UDP port scan */
				pk.proto = IPPROTO_UDP;
			passed += fo_send(&pk) == 1;
		}
		CHECK_EQ_U64(passed, FO_SWEEP);
		if (fo_read(FO_CUST, &e))
			break;
		fo_note(&ports, rel_err(e.ports, FO_SWEEP));
		CHECK(e.hosts > 0.5 && e.hosts < 1.5);
	}
	fo_check("ports", &ports);
}

static void fo_small(void)
{
	static const char *const three[] = {"22.0.0.1", "22.0.0.2", "22.0.0.3"};
	struct tg_fanout_est e = {}, e2 = {};
	struct tg_fanout raw1, raw2;
	__u32 idx = cust_idx[cust_no(FO_CUST)];

	TEST_BEGIN("fanout: 300 new flows to 3 hosts (UDP and TCP to port 443) count ~3 hosts "
		   "and 2 ports (tcp/443, udp/443); more of the same writes nothing");
	CHECK(fo_next() == 0);
	for (int i = 0; i < 300; i++) {
		struct pkt pk = {V4(SRC_A4, three[i % 3]), .dport = 443,
				 .sport = (uint16_t)(10000 + i)};

		if (i & 1) {
			pk.proto = IPPROTO_UDP;
			pk.payload = 100;
		}
		CHECK(fo_send(&pk) == 1);
	}
	CHECK(fo_read(FO_CUST, &e) == 0);
	printf("  fanout: 3 hosts: %.2f hosts, %.2f ports\n", e.hosts, e.ports);
	CHECK(e.hosts >= 1.9 && e.hosts <= 4.5);
	CHECK(e.ports > 1.5 && e.ports < 2.5);
	CHECK(bpf_map_lookup_elem(maps.fanout, &idx, &raw1) == 0);
	for (int i = 0; i < 30; i++) {
		struct pkt pk = {V4(SRC_A4, three[i % 3]), .proto = IPPROTO_UDP, .dport = 443};

		CHECK(fo_send(&pk) == 1);
	}
	CHECK(bpf_map_lookup_elem(maps.fanout, &idx, &raw2) == 0);
	CHECK(!memcmp(&raw1, &raw2, sizeof(raw1)));

	TEST_BEGIN("fanout: the next packet of a flow skips the sketches, never a new one: the "
		   "same destination from another customer, a new port, a flow come back, "
		   "each tcp/25 SYN");
	CHECK(fo_next() == 0);
	{
		struct pkt u = {V4(SRC_A4, "22.1.0.1"), .proto = IPPROTO_UDP, .dport = 53};
		struct pkt other = {V4("198.18.3.9", "22.1.0.1"), .proto = IPPROTO_UDP,
				    .dport = 53};
		struct pkt u2 = u, syn = {V4(SRC_A4, "22.1.0.2"), .dport = 25};

		u2.dport = 54;
		for (int i = 0; i < 3; i++)
			CHECK(fo_send(&u) == 1);
		CHECK(fo_send(&other) == 1); /* c-s, right after c-a to the same place */
		CHECK(fo_read("c-s", &e) == 0);
		CHECK(e.hosts > 0.5 && e.hosts < 1.5 && e.ports > 0.5 && e.ports < 1.5);
		CHECK(fo_send(&u2) == 1);   /* c-a: same host, a new port */
		CHECK(fo_send(&u) == 1);    /* and the first flow again */
		for (int i = 0; i < 5; i++) /* five SYNs alike: five connections */
			CHECK(fo_send(&syn) == 1);
		CHECK(fo_read(FO_CUST, &e) == 0);
		printf("  fanout: flows back and forth: %.2f hosts, %.2f ports, %u smtp\n", e.hosts,
		       e.ports, e.smtp_conns);
		CHECK(e.hosts > 1.5 && e.hosts < 2.5);
		CHECK(e.ports > 2.5 && e.ports < 3.5); /* udp/53, udp/54, tcp/25 */
		CHECK_EQ_U64(e.smtp_conns, 5);
	}

	TEST_BEGIN("fanout: segments of established connections (ACK) to 100 hosts, and "
		   "download toward the customer, feed nothing");
	CHECK(fo_next() == 0);
	for (int i = 0; i < 100; i++) {
		char dst[32];
		struct pkt pk = {V4(SRC_A4, dst), .dport = 443, .tcpflags = 0x10};

		snprintf(dst, sizeof(dst), "23.0.0.%d", i + 1);
		CHECK(fo_send(&pk) == 1);
	}
	/* the upstream port as the upstream role (an earlier group may have left another) */
	CHECK(set_profile(P_UP) == 0);
	CHECK(send_up4("9.9.9.1", SRC_A4, 20) == 20);
	CHECK(set_profile(P_STRICT) == 0);
	CHECK(fo_read(FO_CUST, &e) == 0);
	CHECK(e.hosts == 0 && e.ports == 0);

	TEST_BEGIN("fanout: a new interval starts every customer over: the old one's counts go, "
		   "the next packet counts 1");
	{
		struct pkt pk = {V4(SRC_A4, "24.0.0.1"), .proto = IPPROTO_UDP, .dport = 53};

		CHECK(fo_send(&pk) == 1);
		CHECK(fo_read(FO_CUST, &e) == 0 && e.hosts > 0.5);
		CHECK(fo_next() == 0);
		CHECK(fo_read(FO_CUST, &e2) == 0 && e2.hosts == 0);
		CHECK(fo_send(&pk) == 1);
		CHECK(fo_read(FO_CUST, &e2) == 0 && e2.hosts > 0.5 && e2.hosts < 1.5);
	}
}

static void fo_smtp(void)
{
	struct tg_fanout_est e;

	TEST_BEGIN("smtp: 40 new connections to 10 hosts on tcp/25 count smtp_conns 40 exactly "
		   "and ~10 smtp_hosts; a SYN-ACK and port 587 are not new SMTP connections");
	CHECK(fo_next() == 0);
	for (int i = 0; i < 40; i++) {
		char dst[32];
		struct pkt pk = {V4(SRC_A4, dst), .dport = 25, .sport = (uint16_t)(20000 + i)};

		snprintf(dst, sizeof(dst), "25.0.0.%d", i % 10 + 1);
		CHECK(fo_send(&pk) == 1);
	}
	{
		struct pkt ack = {V4(SRC_A4, "25.0.0.1"), .dport = 25, .tcpflags = 0x12};
		struct pkt sub = {V4(SRC_A4, "25.0.0.99"), .dport = 587};

		CHECK(fo_send(&ack) == 1);
		CHECK(fo_send(&sub) == 1);
	}
	CHECK(fo_read(FO_CUST, &e) == 0);
	printf("  fanout: smtp: %u connections, %.2f hosts (10 sent)\n", e.smtp_conns,
	       e.smtp_hosts);
	CHECK_EQ_U64(e.smtp_conns, 40);
	CHECK(e.smtp_hosts >= 6 && e.smtp_hosts <= 14);
	CHECK(e.hosts >= 7 && e.hosts <= 16); /* the 10, and 587's host */

	TEST_BEGIN("smtp: IPv6 SYNs to tcp/25 count too; a plan's `smtp: block` drops them and "
		   "counts none (passed connections only)");
	CHECK(fo_next() == 0);
	for (int i = 0; i < 5; i++) {
		struct pkt pk = {.src = SRC_A6,
				 .dst = "2001:db8:25::1",
				 .dport = 25,
				 .sport = (uint16_t)(30000 + i)};

		CHECK(fo_send(&pk) == 1);
	}
	CHECK(fo_read(FO_CUST, &e) == 0);
	CHECK_EQ_U64(e.smtp_conns, 5);
	CHECK(e.smtp_hosts > 0.5 && e.smtp_hosts < 1.5);
	for (int i = 0; i < 5; i++) {
		struct pkt pk = {V4("198.18.3.9", "25.0.0.1"), .dport = 25};

		CHECK(fo_send(&pk) == 0);
	}
	CHECK(fo_read("c-s", &e) == 0);
	CHECK_EQ_U64(e.smtp_conns, 0);
}

/* One packet toward the customer through the upstream role (IF_B, download); 1: passed. */
static int fo_send_down(const struct pkt *pk)
{
	return fo_send_on(P_UP, pk);
}

static void fo_syns(void)
{
	struct tg_fanout_est e;
	char dst[32];

	/* the upstream port as the upstream role (an earlier group may have left another) */
	CHECK(set_profile(P_UP) == 0);
	TEST_BEGIN("syns: 10 SYNs to 10 hosts and SYN-ACKs back from 4 of them: tcp_syns 10, "
		   "4 answered, unanswered_syns 6; other download TCP answers nothing");
	CHECK(fo_next() == 0);
	for (int i = 0; i < 10; i++) {
		struct pkt pk = {V4(SRC_A4, dst), .dport = 443, .sport = (uint16_t)(41000 + i)};

		snprintf(dst, sizeof(dst), "26.0.0.%d", i + 1);
		CHECK(fo_send(&pk) == 1);
	}
	for (int i = 0; i < 4; i++) {
		struct pkt sa = {V4(dst, SRC_A4), .sport = 443, .dport = (uint16_t)(41000 + i),
				 .tcpflags = 0x12};

		snprintf(dst, sizeof(dst), "26.0.0.%d", i + 1);
		CHECK(fo_send_down(&sa) == 1);
	}
	{ /* neither a plain ACK, a RST nor a SYN toward the customer is an answer */
		struct pkt ack = {V4("26.0.0.5", SRC_A4), .sport = 443, .tcpflags = 0x10};
		struct pkt rst = {V4("26.0.0.6", SRC_A4), .sport = 443, .tcpflags = 0x14};
		struct pkt syn = {V4("26.0.0.7", SRC_A4), .dport = 22, .tcpflags = 0x02};

		CHECK(fo_send_down(&ack) == 1);
		CHECK(fo_send_down(&rst) == 1);
		CHECK(fo_send_down(&syn) == 1);
	}
	CHECK(fo_read(FO_CUST, &e) == 0);
	printf("  fanout: syns: %u SYNs, %u SYN-ACKs, %u unanswered\n", e.syns, e.synacks,
	       e.unanswered);
	CHECK_EQ_U64(e.syns, 10);
	CHECK_EQ_U64(e.synacks, 4);
	CHECK_EQ_U64(e.unanswered, 6);

	TEST_BEGIN("syns: a SYN-ACK in the next interval answers nothing there (its SYN was the "
		   "last one's), and more SYN-ACKs than SYNs leave unanswered at 0");
	{
		struct pkt sa = {V4("26.0.0.5", SRC_A4), .sport = 443, .dport = 41004,
				 .tcpflags = 0x12};
		struct pkt pk = {V4(SRC_A4, "26.0.0.8"), .dport = 443};
		__u32 idx = cust_idx[cust_no(FO_CUST)];
		struct tg_fanout raw1, raw2;

		CHECK(bpf_map_lookup_elem(maps.fanout, &idx, &raw1) == 0);
		CHECK(fo_next() == 0);
		CHECK(fo_send_down(&sa) == 1);
		CHECK(bpf_map_lookup_elem(maps.fanout, &idx, &raw2) == 0);
		CHECK(!memcmp(&raw1, &raw2, sizeof(raw1))); /* not written: the old interval's */
		CHECK_EQ_U64(raw2.synacks, 4);
		CHECK(fo_read(FO_CUST, &e) == 0);
		CHECK_EQ_U64(e.syns, 0);
		CHECK_EQ_U64(e.synacks, 0);
		CHECK(fo_send(&pk) == 1); /* the interval's first SYN starts the record over */
		CHECK(fo_send_down(&sa) == 1);
		CHECK(fo_send_down(&sa) == 1);
		CHECK(fo_read(FO_CUST, &e) == 0);
		CHECK_EQ_U64(e.syns, 1);
		CHECK_EQ_U64(e.synacks, 2);
		CHECK_EQ_U64(e.unanswered, 0);
	}

	TEST_BEGIN("syns: 3 identical SYNs in a row (retransmissions) count 3, the next flow's "
		   "filter skips none of them; the SYN-ACK's own customer is the one answered");
	CHECK(fo_next() == 0);
	{
		struct pkt pk = {V4(SRC_A4, "26.0.1.1"), .dport = 443, .sport = 42000};
		struct pkt sa = {V4("26.0.1.1", "198.18.3.9"), .sport = 443, .tcpflags = 0x12};
		struct pkt other = {V4("198.18.3.9", "26.0.1.1"), .dport = 443};

		for (int i = 0; i < 3; i++)
			CHECK(fo_send(&pk) == 1);
		CHECK(fo_send(&other) == 1); /* c-s: its own SYN and its own answer */
		CHECK(fo_send_down(&sa) == 1);
		CHECK(fo_read(FO_CUST, &e) == 0);
		CHECK_EQ_U64(e.syns, 3);
		CHECK_EQ_U64(e.synacks, 0);
		CHECK_EQ_U64(e.unanswered, 3);
		CHECK(fo_read("c-s", &e) == 0);
		CHECK_EQ_U64(e.syns, 1);
		CHECK_EQ_U64(e.synacks, 1);
		CHECK_EQ_U64(e.unanswered, 0);
	}
	CHECK(set_profile(P_STRICT) == 0);
}

/*
 * Set the sketches' hash key (the clock element's); the one it replaces, or 0. The groups
 * that count a few items exactly run under a fixed key: under the load's random one, two
 * items share one of the 32 registers in 1 run of 32 and read as one, so a check of "2
 * ports" would fail that often. The sweeps, which measure the error, run under the load's.
 */
static __u64 fo_key(__u64 key)
{
	struct tg_fanout clk;
	__u32 zero = 0;
	__u64 was;

	if (bpf_map_lookup_elem(maps.fanout, &zero, &clk))
		return 0;
	was = clk.key;
	clk.key = key;
	return bpf_map_update_elem(maps.fanout, &zero, &clk, BPF_ANY) ? 0 : was;
}

#define FO_FIXED_KEY 0x6a09e667f3bcc909ull /* no two items of the small groups share a register */

void test_fanout(void)
{
	__u64 load_key;

	if (set_profile(P_STRICT)) {
		fail("fanout", NULL, "cannot configure the customer interface");
		return;
	}
	TEST_BEGIN("fanout: the sketches' hash is keyed (the load's secret, tg_config.src_key)");
	load_key = fo_key(FO_FIXED_KEY);
	CHECK(load_key != 0 && load_key == src_hash_key(&maps));
	fo_small();
	fo_smtp();
	fo_syns();
	CHECK(fo_key(load_key) == FO_FIXED_KEY);
	fo_sweeps();
}
