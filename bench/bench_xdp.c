// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_xdp.c - data-plane cost per packet under BPF_PROG_TEST_RUN (`make bench`).
 *
 * For 1k and 1M customers (generated in memory: one IPv4 prefix of /24../32 and one IPv6
 * prefix of /48, /56 or /64 each, loaded with tg_sync_customers into a private, unpinned
 * instance), it measures, for IPv4 and IPv6, the pass path (bandwidth policer only, and
 * with every packet-rate limit on), the spoof drop, the rate drop and every flood drop
 * path: flood_syn, flood_udp, flood_icmp, flood_frag and smtp from a customer (customer
 * role, strict anti-spoofing), and the reflection limit toward one (upstream role: NTP
 * replies, counted as flood_udp). Beside every measurement
 * it runs a bare XDP_DROP program (bench/xdp_drop.bpf.c) on the same frame, interleaved,
 * so every ratio compares two runs taken back to back on the same pinned CPU.
 *
 * BPF_PROG_TEST_RUN repeats one frame, so every table line it touches stays in cache: the
 * 1M/1k ratio shows what table size costs in a hot cache (hash chains, TLB reach), not the
 * cache misses that traffic spread over a million customers would add.
 *
 * The measured customers: a /28 (two array reads in DIR-24-8) and a /48 out of 2a00::/16
 * (four trie reads: the root, the compare node of bytes 2-3, the chunks of byte 4 and
 * byte 5; the /56s and /64s take a compare node after the /48's entry). The pass customer
 * is policed at 1 Tbit/s, so the pass path reads the clock and publishes its TAT with a
 * compare-and-swap on every packet as a policed customer does; the rate customer is held
 * to 1 kbit/s and the flood customer to 1 packet/s in every class (each class its own
 * state), and each is drained first, so every measured packet is over its limit.
 *
 * Two-rate policer (RFC 2698): "yellow pass" is a customer held to 1 kbit/s with a peak of
 * 1 Tbit/s, so every packet is yellow and passes with its DSCP rewritten (BPF_PROG_TEST_RUN
 * runs the repeats on one buffer: after the first packet the DSCP is already the yellow
 * one and only compared, so this is the colour decision, not the checksum arithmetic);
 * "red drop" one whose rate and peak are both 1 kbit/s. Contention: the pass and the
 * rate-drop case of one customer on every CPU at once, each thread pinned, against the
 * same case on one CPU.
 *
 * Before it is timed, every case is run 1000 times and checked: verdict, and the counter
 * that must have moved (interface pass or drop.<reason>, and the customer's). A
 * case that takes another path is reported INVALID instead of timed.
 *
 * ns/pkt is the kernel's figure (opts.duration: an integer, the average over the repeats);
 * "cpu" is the same run timed with this thread's CPU clock around the syscall (which, unlike
 * the wall clock, stops while other work has the CPU), to two decimals; the ratios use it
 * so a 7 ns baseline is not rounded by a whole nanosecond. Both are medians over rounds.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/maps.h"
#include "bench/xdp_drop.skel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define DEFAULT_REPEAT 10000000u
#define DEFAULT_ROUNDS 5
#define MAX_ROUNDS 50
#define MAX_CASES (2 * 2 * PATH_NR) /* scales x families x paths */
#define MAX_SAMPLES (MAX_ROUNDS * MAX_CASES)
#define CHECK_REPEAT 1000u
#define WARM_REPEAT 100000u

#define PASS_RATE_BPS 1000000000000ull /* 1 Tbit/s: policed, never over the limit here */
#define PASS_BURST_BYTES (1u << 20)
#define SLOW_RATE_BPS 1000ull /* 1 kbit/s: the rate-drop customer */
#define SLOW_BURST_BYTES 1500u
/* The policed-contention customer: its conforming packets race for one TAT on every CPU. */
#define CONTEND_RATE_BPS 1000000000ull /* ~5000 of its frames a 4 ms tick */
#define CONTEND_BURST_BYTES 256000u
#define CONTEND_REPEAT 20000u /* packets per BPF_PROG_TEST_RUN call: ~1 ms */

/* Targets from design.md. */
#define TARGET_PASS_NS 40.0
#define TARGET_DROP_X_BARE 2.0
#define TARGET_1M_X_1K 1.3

enum path {
	PATH_PASS,
	PATH_PASS_ALL,
	PATH_SPOOF,
	PATH_SPOOF_FAR,
	PATH_RATE,
	PATH_FLOOD_SYN,
	PATH_FLOOD_UDP,
	PATH_FLOOD_ICMP,
	PATH_FLOOD_FRAG,
	PATH_SMTP,
	PATH_REFL,
	PATH_YELLOW, /* two-rate: over the rate, within the peak: DSCP rewritten, passed */
	PATH_RED,    /* two-rate: over the peak */
	PATH_NR
};

/* What a case sends: the frame builder's kinds. */
enum kind { K_UDP, K_SYN, K_SMTP, K_ICMP, K_FRAG, K_REFL };

/* Whose traffic a case is: a measured customer, or a spoofed source (the port owner's). */
enum who { W_PASS, W_ALL, W_SLOW, W_FLOOD, W_SPOOF, W_SPOOF_FAR, W_YELLOW, W_RED };

#define REASON_PASS (-1)

static const struct path_def {
	const char *name;
	int kind, who, reason; /* reason: the drop counter that must move, or REASON_PASS */
	bool upstream;	       /* sent toward the customer on an upstream interface */
} path_def[PATH_NR] = {
	[PATH_PASS] = {"pass", K_UDP, W_PASS, REASON_PASS, false},
	[PATH_PASS_ALL] = {"pass, all limits", K_UDP, W_ALL, REASON_PASS, false},
	[PATH_SPOOF] = {"spoof drop", K_UDP, W_SPOOF, TG_R_SPOOF, false},
	[PATH_SPOOF_FAR] = {"spoof far", K_UDP, W_SPOOF_FAR, TG_R_SPOOF, false},
	[PATH_RATE] = {"rate drop", K_UDP, W_SLOW, TG_R_RATE, false},
	[PATH_FLOOD_SYN] = {"flood_syn drop", K_SYN, W_FLOOD, TG_R_FLOOD_SYN, false},
	[PATH_FLOOD_UDP] = {"flood_udp drop", K_UDP, W_FLOOD, TG_R_FLOOD_UDP, false},
	[PATH_FLOOD_ICMP] = {"flood_icmp drop", K_ICMP, W_FLOOD, TG_R_FLOOD_ICMP, false},
	[PATH_FLOOD_FRAG] = {"flood_frag drop", K_FRAG, W_FLOOD, TG_R_FLOOD_FRAG, false},
	[PATH_SMTP] = {"smtp drop", K_SMTP, W_FLOOD, TG_R_SMTP, false},
	[PATH_REFL] = {"reflection drop", K_REFL, W_FLOOD, TG_R_FLOOD_UDP, true},
	[PATH_YELLOW] = {"yellow pass", K_UDP, W_YELLOW, REASON_PASS, false},
	[PATH_RED] = {"red drop", K_UDP, W_RED, TG_R_RATE, false},
};

/* Plans: 0 bandwidth only; 1 every packet-rate limit too, far above the traffic; 2 every
 * packet-rate limit at 1 packet/s, SMTP limited to 1 connection/s (the flood-drop customer:
 * each class has a state of its own, so each case drains only its own). */
#define PLAN_BW 0
#define PLAN_ALL 1
#define PLAN_FLOOD 2
#define PLAN_SRC_HI 3 /* per_source far above the traffic: every packet is watched */
#define PLAN_SRC_LO 4 /* per_source 1 packet/s: the first burst blocks the source */
#define PLAN_YELLOW 5 /* rate 1 kbit/s, peak 1 Tbit/s: every packet yellow (DSCP rewritten) */
#define PLAN_RED 6    /* rate and peak 1 kbit/s: every packet red */
#define NPLANS 7
#define HIGH_PPS 1000000000ull
#define RANDOM_SOURCES 65536

struct scale {
	const char *name;
	uint32_t n; /* generated customers (plus one port owner) */
	struct tg_maps m;
	bool loaded;
	double load_s;
	struct tg_prefix *pfx; /* 2 per customer: [2i] IPv4, [2i + 1] IPv6 */
	uint32_t pass_i, slow_i, all_i, flood_i, src_hi_i, src_lo_i, yellow_i, red_i,
		contend_i; /* measured customers */
	uint32_t pass_idx, slow_idx, all_idx, flood_idx, owner_idx, yellow_idx, red_idx,
		contend_idx; /* customer indexes */
};

struct bcase {
	struct scale *sc;
	int path;
	bool v6;
	uint8_t frame[128];
	size_t len;
	bool valid;
	char why[160]; /* when not valid */
	double ns[MAX_ROUNDS], cpu[MAX_ROUNDS], bare_cpu[MAX_ROUNDS];
	double med_ns, med_cpu, med_x_bare, x_1k;
};

static int bare_fd = -1;
static uint32_t repeat = DEFAULT_REPEAT;
static int rounds = DEFAULT_ROUNDS;
static int lo_ifindex;

/* ---- customers ---- */

/*
 * Customer i: IPv4 /24 + (i % 9), allocated upwards from 11.0.0.0 with natural alignment,
 * so the /25../32 of one cycle share a /24 (one tbl8 chunk per 9 customers); IPv6 /64, /56
 * or /48 by (i / 9) % 3, each length from its own /16.
 */
static int gen_prefixes(struct scale *sc)
{
	static const uint8_t v6len[3] = {64, 56, 48};
	static const uint64_t v6base[3] = {0x2a02ull << 48, 0x2a01ull << 48, 0x2a00ull << 48};
	uint32_t cursor = 0x0b000000, i;

	sc->pfx = calloc((size_t)sc->n * 2, sizeof(*sc->pfx));
	if (!sc->pfx)
		return -ENOMEM;
	for (i = 0; i < sc->n; i++) {
		struct tg_prefix *p4 = &sc->pfx[2 * i], *p6 = &sc->pfx[2 * i + 1];
		uint32_t plen = 24 + i % 9, size = 1u << (32 - plen), a;
		int c = (i / 9) % 3;
		uint64_t hi;

		cursor = (cursor + size - 1) & ~(size - 1);
		a = htonl(cursor);
		cursor += size;
		p4->family = AF_INET;
		p4->plen = plen;
		memcpy(p4->addr, &a, 4);

		/* /48: i in bits 16..47 of the high half; /56: bits 8..55; /64: bits 0..63 */
		hi = v6base[c] | ((uint64_t)i << (64 - v6len[c]));
		p6->family = AF_INET6;
		p6->plen = v6len[c];
		for (int b = 0; b < 8; b++)
			p6->addr[b] = hi >> (56 - 8 * b);
	}
	if (cursor >= 0x7f000000u)
		return -ERANGE; /* would reach 127/8: not at 1M customers */
	/* the measured customers: a /28 (i % 9 == 4) with a /48 ((i / 9) % 3 == 2) */
	sc->pass_i = 9 * (3 * (sc->n / 54) + 2) + 4;
	sc->slow_i = sc->pass_i + 27;
	sc->all_i = sc->pass_i + 54;
	sc->flood_i = sc->pass_i + 81;
	sc->src_hi_i = sc->pass_i + 108;
	sc->src_lo_i = sc->pass_i + 135;
	sc->yellow_i = sc->pass_i + 162;
	sc->red_i = sc->pass_i + 189;
	sc->contend_i = sc->pass_i + 216;
	return sc->contend_i < sc->n ? 0 : -EINVAL;
}

/* The interface's role: lo in tg_ifaces, strict in the customer role, counters in slot 0. */
static int set_role(struct scale *sc, bool upstream)
{
	struct tg_iface ifc = {.role = upstream ? TG_ROLE_UPSTREAM : TG_ROLE_CUSTOMER,
			       .antispoof = upstream ? TG_AS_OFF : TG_AS_STRICT,
			       .slot = 0};
	__u32 key = lo_ifindex;

	ifc.ifindex = lo_ifindex;
	snprintf(ifc.name, sizeof(ifc.name), "lo");
	if (bpf_map_update_elem(sc->m.ifaces, &key, &ifc, BPF_ANY))
		return -errno;
	return 0;
}

static int load_scale(struct scale *sc)
{
	struct tg_capacity cap = {.max_customers = sc->n + 1, .max_prefixes = 2 * sc->n + 2};
	struct tg_prefix owner_pfx[2];
	struct tg_customer *cu;
	struct tg_plan plan[NPLANS] = {};
	struct tg_cfg cfg = {};
	struct tg_errs errs = {};
	struct timespec t0, t1;
	char err[128], id[TG_ID_LEN];
	uint32_t i;
	int ret;

	ret = gen_prefixes(sc);
	if (ret)
		return ret;
	cu = calloc((size_t)sc->n + 1, sizeof(*cu));
	if (!cu)
		return -ENOMEM;
	snprintf(plan[PLAN_BW].name, sizeof(plan[0].name), "bench");
	snprintf(plan[PLAN_ALL].name, sizeof(plan[0].name), "bench-all");
	plan[PLAN_ALL].flood = (struct tg_flood_cfg){.pps[TG_FC_SYN] = HIGH_PPS,
						     .pps[TG_FC_UDP] = HIGH_PPS,
						     .pps[TG_FC_ICMP] = HIGH_PPS,
						     .pps[TG_FC_FRAG] = HIGH_PPS};
	plan[PLAN_ALL].smtp = TG_SMTP_LIMIT;
	plan[PLAN_ALL].smtp_limit = 1000000;
	snprintf(plan[PLAN_FLOOD].name, sizeof(plan[0].name), "bench-flood");
	plan[PLAN_FLOOD].flood = (struct tg_flood_cfg){.pps[TG_FC_SYN] = 1,
						       .pps[TG_FC_UDP] = 1,
						       .pps[TG_FC_ICMP] = 1,
						       .pps[TG_FC_FRAG] = 1,
						       .pps[TG_FC_REFL] = 1};
	plan[PLAN_FLOOD].smtp = TG_SMTP_LIMIT;
	plan[PLAN_FLOOD].smtp_limit = 1;
	snprintf(plan[PLAN_SRC_HI].name, sizeof(plan[0].name), "bench-src-hi");
	plan[PLAN_SRC_HI].flood.pps[TG_FC_SRC] = HIGH_PPS;
	plan[PLAN_SRC_HI].flood.block_ns = 60000000000ull;
	snprintf(plan[PLAN_SRC_LO].name, sizeof(plan[0].name), "bench-src-lo");
	plan[PLAN_SRC_LO].flood.pps[TG_FC_SRC] = 1;
	plan[PLAN_SRC_LO].flood.block_ns = 3600000000000ull;
	snprintf(plan[PLAN_YELLOW].name, sizeof(plan[0].name), "bench-yellow");
	snprintf(plan[PLAN_RED].name, sizeof(plan[0].name), "bench-red");
	for (int d = 0; d < TG_DIR_NR; d++) {
		plan[PLAN_YELLOW].dir[d] = (struct tg_rate_cfg){SLOW_RATE_BPS, SLOW_BURST_BYTES,
								PASS_RATE_BPS, PASS_BURST_BYTES};
		plan[PLAN_RED].dir[d] = (struct tg_rate_cfg){SLOW_RATE_BPS, SLOW_BURST_BYTES,
							     SLOW_RATE_BPS, SLOW_BURST_BYTES};
	}
	plan[PLAN_YELLOW].yellow_dscp = plan[PLAN_RED].yellow_dscp = 14;
	for (i = 0; i < sc->n; i++) {
		snprintf(cu[i].id, sizeof(cu[i].id), "b%07u", i);
		cu[i].pfx = &sc->pfx[2 * i];
		cu[i].npfx = 2;
		/* bound to the whole interface (`*`): strict admits them, and the port's owner
		 * below, bound to it untagged, stays the one charged for spoofed drops */
		snprintf(cu[i].iface, sizeof(cu[i].iface), "lo");
		cu[i].vlan = cu[i].ivlan = TG_VLAN_ANY;
		cu[i].line = i + 2;
		cu[i].dir[TG_DIR_UP].rate_bps = i == sc->slow_i ? SLOW_RATE_BPS : PASS_RATE_BPS;
		cu[i].dir[TG_DIR_UP].burst_bytes =
			i == sc->slow_i ? SLOW_BURST_BYTES : PASS_BURST_BYTES;
		if (i == sc->contend_i)
			cu[i].dir[TG_DIR_UP] =
				(struct tg_rate_cfg){CONTEND_RATE_BPS, CONTEND_BURST_BYTES, 0, 0};
		cu[i].dir[TG_DIR_DOWN] = cu[i].dir[TG_DIR_UP];
		if (i == sc->yellow_i || i == sc->red_i) {
			cu[i].plan = i == sc->yellow_i ? PLAN_YELLOW : PLAN_RED;
			memcpy(cu[i].dir, plan[cu[i].plan].dir, sizeof(cu[i].dir));
			continue;
		}
		cu[i].plan = i == sc->all_i	 ? PLAN_ALL
			     : i == sc->flood_i	 ? PLAN_FLOOD
			     : i == sc->src_hi_i ? PLAN_SRC_HI
			     : i == sc->src_lo_i ? PLAN_SRC_LO
						 : PLAN_BW;
	}
	/* the one customer bound to the interface: spoofed drops are charged to it */
	if (tg_parse_prefix("192.0.2.0/24", &owner_pfx[0], err, sizeof(err)) ||
	    tg_parse_prefix("2001:db8:0:1::/64", &owner_pfx[1], err, sizeof(err))) {
		free(cu);
		return -EINVAL;
	}
	snprintf(cu[sc->n].id, sizeof(cu[sc->n].id), "port-owner");
	snprintf(cu[sc->n].iface, sizeof(cu[sc->n].iface), "lo");
	cu[sc->n].pfx = owner_pfx;
	cu[sc->n].npfx = 2;
	cu[sc->n].vlan = cu[sc->n].ivlan = TG_VLAN_UNTAGGED;

	cfg.path = "bench";
	cfg.plans = plan;
	cfg.nplans = NPLANS;
	cfg.customers = cu;
	cfg.ncustomers = sc->n + 1;
	cfg.max_customers = cap.max_customers;
	cfg.max_prefixes = cap.max_prefixes;

	ret = tg_maps_open(NULL, &cap, true, &sc->m);
	if (ret) {
		fprintf(stderr, "bench: tg_maps_open (%u customers): %s\n", sc->n, strerror(-ret));
		free(cu);
		return ret;
	}
	sc->loaded = true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = tg_sync_customers(&sc->m, &cfg, NULL, NULL, &errs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	sc->load_s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (ret) {
		fprintf(stderr, "bench: tg_sync_customers (%u customers): %s\n", sc->n,
			strerror(-ret));
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "  %s\n", errs.msg[i]);
	}
	tg_errs_free(&errs);
	free(cu);
	if (ret)
		return ret;
	snprintf(id, sizeof(id), "b%07u", sc->pass_i);
	sc->pass_idx = tg_find_customer(&sc->m, id);
	snprintf(id, sizeof(id), "b%07u", sc->slow_i);
	sc->slow_idx = tg_find_customer(&sc->m, id);
	snprintf(id, sizeof(id), "b%07u", sc->all_i);
	sc->all_idx = tg_find_customer(&sc->m, id);
	snprintf(id, sizeof(id), "b%07u", sc->flood_i);
	sc->flood_idx = tg_find_customer(&sc->m, id);
	snprintf(id, sizeof(id), "b%07u", sc->yellow_i);
	sc->yellow_idx = tg_find_customer(&sc->m, id);
	snprintf(id, sizeof(id), "b%07u", sc->red_i);
	sc->red_idx = tg_find_customer(&sc->m, id);
	snprintf(id, sizeof(id), "b%07u", sc->contend_i);
	sc->contend_idx = tg_find_customer(&sc->m, id);
	sc->owner_idx = tg_find_customer(&sc->m, "port-owner");
	if (!sc->pass_idx || !sc->slow_idx || !sc->all_idx || !sc->flood_idx || !sc->owner_idx ||
	    !sc->yellow_idx || !sc->red_idx || !sc->contend_idx)
		return -ENOENT;

	return set_role(sc, false);
}

/* ---- frames ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/*
 * A frame of the given kind from src to dst (NULL: a remote destination, 8.8.8.8 or
 * 2001:4860:4860::88): UDP 40000 -> 443; a TCP SYN to 80 (K_SYN) or 25 (K_SMTP); an echo
 * request; a non-first fragment of a UDP datagram; UDP from NTP (123 -> 40000). At least
 * 60 bytes (Ethernet's minimum; the padding is not in the IP length).
 */
static size_t build_frame(uint8_t *b, bool v6, int kind, const uint8_t *src, const uint8_t *dst)
{
	static const uint8_t dst4[4] = {8, 8, 8, 8};
	static const uint8_t dst6[16] = {0x20, 0x01, 0x48, 0x60, 0x48, 0x60, [15] = 0x88};
	size_t l3 = 14, l4, l4len;
	uint8_t proto;

	memset(b, 0, 128);
	b[0] = 0x02;
	b[5] = 0x01;
	b[6] = 0x02;
	b[11] = 0x02;
	put16(b + 12, v6 ? ETH_P_IPV6 : ETH_P_IP);
	l4 = l3 + (v6 ? 40 : 20);
	switch (kind) {
	case K_SYN:
	case K_SMTP:
		proto = IPPROTO_TCP;
		l4len = 20;
		put16(b + l4, 40000);
		put16(b + l4 + 2, kind == K_SMTP ? 25 : 80);
		b[l4 + 7] = 1;	     /* sequence number */
		b[l4 + 12] = 5 << 4; /* data offset: 5 words */
		b[l4 + 13] = 0x02;   /* SYN */
		put16(b + l4 + 14, 64240);
		break;
	case K_ICMP:
		proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
		l4len = 8 + 18;
		b[l4] = v6 ? 128 : 8; /* echo request */
		put16(b + l4 + 4, 1);
		break;
	case K_FRAG:
		proto = IPPROTO_UDP;
		l4len = 26; /* payload only: a non-first fragment has no UDP header */
		if (v6) {   /* the fragment header, offset 1480, more to come */
			b[l4] = IPPROTO_UDP;
			put16(b + l4 + 2, (1480 / 8) << 3 | 1);
			b[l4 + 7] = 7; /* identification */
			l4len += 8;
		}
		break;
	default: /* K_UDP, K_REFL */
		proto = IPPROTO_UDP;
		l4len = 8 + (v6 ? 0 : 18);
		put16(b + l4, kind == K_REFL ? 123 : 40000);
		put16(b + l4 + 2, kind == K_REFL ? 40000 : 443);
		put16(b + l4 + 4, l4len);
		break;
	}
	if (v6) {
		b[l3] = 0x60;
		put16(b + l3 + 4, l4len);
		b[l3 + 6] = kind == K_FRAG ? IPPROTO_FRAGMENT : proto;
		b[l3 + 7] = 64;
		memcpy(b + l3 + 8, src, 16);
		memcpy(b + l3 + 24, dst ? dst : dst6, 16);
	} else {
		b[l3] = 0x45;
		put16(b + l3 + 2, 20 + l4len);
		put16(b + l3 + 6,
		      kind == K_FRAG ? 0x2000 | 1480 / 8 : 0x4000); /* MF + 1480, or DF */
		b[l3 + 8] = 64;
		b[l3 + 9] = proto;
		memcpy(b + l3 + 12, src, 4);
		memcpy(b + l3 + 16, dst ? dst : dst4, 4);
	}
	return l4 + l4len < 60 ? 60 : l4 + l4len;
}

static uint32_t who_index(const struct scale *sc, int who)
{
	switch (who) {
	case W_PASS:
		return sc->pass_i;
	case W_ALL:
		return sc->all_i;
	case W_SLOW:
		return sc->slow_i;
	case W_YELLOW:
		return sc->yellow_i;
	case W_RED:
		return sc->red_i;
	default:
		return sc->flood_i;
	}
}

static void make_case(struct bcase *c, struct scale *sc, int path, bool v6)
{
	const struct path_def *d = &path_def[path];
	uint8_t src[16] = {}, dst[16] = {};

	c->sc = sc;
	c->path = path;
	c->v6 = v6;
	c->valid = true;
	if (d->who == W_SPOOF) {
		/*
		 * In no customer's prefix but beside one: one tbl24 read, or two trie reads
		 * (the root, then the compare node of 2001:db8:0:1::/64, alone in its /16).
		 */
		inet_pton(v6 ? AF_INET6 : AF_INET, v6 ? "2001:db8:dead::1" : "8.8.4.4", src);
	} else if (d->who == W_SPOOF_FAR) {
		/* far from every customer: the trie's root answers */
		inet_pton(v6 ? AF_INET6 : AF_INET, v6 ? "2606:4700::1111" : "1.1.1.1", src);
	} else {
		const struct tg_prefix *p = &sc->pfx[2 * who_index(sc, d->who) + v6];

		memcpy(src, p->addr, 16);
		src[v6 ? 15 : 3] |= 1;
	}
	if (d->upstream) { /* toward the customer, from a source outside every prefix */
		memcpy(dst, src, 16);
		inet_pton(v6 ? AF_INET6 : AF_INET, v6 ? "2001:4860::123" : "45.1.2.3", src);
	}
	c->len = build_frame(c->frame, v6, d->kind, src, d->upstream ? dst : NULL);
}

/* "1M v6 pass": what the report calls a case, and what -k matches. */
static void case_name(const struct bcase *c, char *buf, size_t n)
{
	snprintf(buf, n, "%s %s %s", c->sc->name, c->v6 ? "v6" : "v4", path_def[c->path].name);
}

/* ---- running ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of this thread: unlike the wall clock, it stops while other work has the CPU. */
static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_frame(int prog, const uint8_t *frame, size_t len, uint32_t rep, uint32_t *ns,
		     uint32_t *retval)
{
	struct xdp_md ctx = {.data_end = len, .ingress_ifindex = lo_ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = rep);

	if (bpf_prog_test_run_opts(prog, &opts))
		return -errno;
	if (ns)
		*ns = opts.duration;
	if (retval)
		*retval = opts.retval;
	return 0;
}

static int run(int prog, const struct bcase *c, uint32_t rep, uint32_t *ns, double *cpu_ns,
	       uint32_t *retval)
{
	double t0 = thread_cpu_s();
	int err = run_frame(prog, c->frame, c->len, rep, ns, retval);

	if (!err && cpu_ns)
		*cpu_ns = (thread_cpu_s() - t0) * 1e9 / rep;
	return err;
}

/* The interface counter that moved most between two reads, to say where packets went. */
static const char *path_taken(const struct tg_if_counters *b, const struct tg_if_counters *a)
{
	static char buf[32];
	uint64_t best = a->pass.pkts - b->pass.pkts, d;
	int r;

	snprintf(buf, sizeof(buf), "pass");
	if (a->uncl.pkts - b->uncl.pkts > best) {
		best = a->uncl.pkts - b->uncl.pkts;
		snprintf(buf, sizeof(buf), "unclassified");
	}
	for (r = 0; r < TG_R_NR; r++) {
		d = a->drop[r].pkts - b->drop[r].pkts;
		if (d > best) {
			best = d;
			snprintf(buf, sizeof(buf), "drop.%s", tg_reason_name(r));
		}
	}
	return buf;
}

/* Run the case CHECK_REPEAT times and require the path it is named for. */
static void check_case(struct bcase *c)
{
	const struct path_def *d = &path_def[c->path];
	struct scale *sc = c->sc;
	struct tg_if_counters b, a;
	struct tg_cust_counters cb, ca;
	uint32_t idx = d->who == W_PASS	    ? sc->pass_idx
		       : d->who == W_ALL    ? sc->all_idx
		       : d->who == W_SLOW   ? sc->slow_idx
		       : d->who == W_FLOOD  ? sc->flood_idx
		       : d->who == W_YELLOW ? sc->yellow_idx
		       : d->who == W_RED    ? sc->red_idx
					    : sc->owner_idx;
	uint32_t ret = 0;
	int dir = d->upstream ? TG_DIR_DOWN : TG_DIR_UP, r = d->reason;
	__u32 want = r == REASON_PASS ? XDP_PASS : XDP_DROP;
	uint64_t moved, cmoved, slack;
	int err;

	err = set_role(sc, d->upstream);
	if (!err && (d->who == W_SLOW || d->who == W_FLOOD || d->who == W_YELLOW ||
		     d->who == W_RED)) /* spend the bucket first */
		err = run(sc->m.prog, c, CHECK_REPEAT, NULL, NULL, NULL);
	if (!err)
		err = tg_read_iface(&sc->m, 0, &b);
	if (!err)
		err = tg_read_cust(&sc->m, idx, &cb);
	if (!err)
		err = run(sc->m.prog, c, CHECK_REPEAT, NULL, NULL, &ret);
	if (!err)
		err = tg_read_iface(&sc->m, 0, &a);
	if (!err)
		err = tg_read_cust(&sc->m, idx, &ca);
	if (err) {
		snprintf(c->why, sizeof(c->why), "test run failed: %s", strerror(-err));
		c->valid = false;
		return;
	}
	if (r == REASON_PASS) {
		moved = a.pass.pkts - b.pass.pkts;
		cmoved = ca.pass[dir].pkts - cb.pass[dir].pkts;
	} else {
		moved = a.drop[r].pkts - b.drop[r].pkts;
		cmoved = ca.drop[dir][r].pkts - cb.drop[dir][r].pkts;
	}
	/*
	 * A drained GCRA bucket sits within one packet of conforming: a clock tick during the
	 * check may let one packet through (1 kbit/s earns 0.5 bytes per 4 ms tick).
	 */
	slack = d->who == W_SLOW || d->who == W_FLOOD || d->who == W_RED ? 2 : 0;
	if (ret != want || moved + slack < CHECK_REPEAT || moved > CHECK_REPEAT ||
	    cmoved + slack < CHECK_REPEAT || cmoved > CHECK_REPEAT) {
		snprintf(c->why, sizeof(c->why),
			 "verdict %s, %" PRIu64 "/%u on the interface counter, %" PRIu64
			 "/%u on the customer's; the packets went to %s",
			 ret == XDP_PASS   ? "PASS"
			 : ret == XDP_DROP ? "DROP"
					   : "?",
			 moved, CHECK_REPEAT, cmoved, CHECK_REPEAT, path_taken(&b, &a));
		c->valid = false;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double tmp[MAX_SAMPLES];

	if (n > MAX_SAMPLES)
		n = MAX_SAMPLES;
	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n REPEAT] [-r ROUNDS] [-c CPU] [-s 1k|1m|both] [-k CASE] [-t "
		"SECONDS]\n"
		"  -n  BPF_PROG_TEST_RUN repeat count per measurement (default %u)\n"
		"  -r  rounds; every figure is the median over them (default %d, max %d)\n"
		"  -c  CPU to pin to (default: the last one)\n"
		"  -s  customer scales to measure (default both)\n"
		"  -k  only the cases whose name contains CASE (\"v6 pass\"), and no per-source\n"
		"      section: to profile one path (\"contention\": only the contention "
		"section)\n"
		"  -t  seconds of the policer-under-contention run (default 2)\n",
		prog, DEFAULT_REPEAT, DEFAULT_ROUNDS, MAX_ROUNDS);
}

/* ---- contention: one customer's packets on every CPU at once ---- */

struct contender {
	pthread_t th;
	int cpu, prog, err;
	const struct bcase *c;
	uint32_t ns; /* the kernel's ns/pkt for this thread's run */
	pthread_barrier_t *go;
};

static void *contender_main(void *arg)
{
	struct contender *t = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(t->cpu, &set);
	t->err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set) ? -EINVAL : 0;
	pthread_barrier_wait(t->go);
	if (!t->err)
		t->err = run(t->prog, t->c, repeat, &t->ns, NULL, NULL);
	return NULL;
}

/*
 * The same case on ncpu CPUs at once (each thread pinned, released together): the mean of
 * their ns/pkt. For the pass customer every packet publishes the shared TAT, so this is
 * the cost of the cache line bouncing (and of lost compare-and-swaps); for the rate-drop
 * customer packets only read it.
 */
static int contend(const struct bcase *c, int ncpu, double *ns)
{
	struct contender t[64] = {};
	pthread_barrier_t go;
	double sum = 0;
	int i, err = 0;

	pthread_barrier_init(&go, NULL, ncpu);
	for (i = 0; i < ncpu; i++) {
		t[i] = (struct contender){.cpu = i, .prog = c->sc->m.prog, .c = c, .go = &go};
		if (pthread_create(&t[i].th, NULL, contender_main, &t[i])) {
			err = -EAGAIN;
			break;
		}
	}
	for (int j = 0; j < i; j++) {
		pthread_join(t[j].th, NULL);
		if (t[j].err)
			err = t[j].err;
		sum += t[j].ns;
	}
	pthread_barrier_destroy(&go);
	*ns = i ? sum / i : 0;
	return err;
}

static void bench_contention(struct scale *sc)
{
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN), paths[] = {PATH_PASS, PATH_RATE};

	if (ncpu > 64)
		ncpu = 64;
	printf("\ncontention: one customer's frames on %d CPUs at once (BPF_PROG_TEST_RUN, repeat "
	       "%u, %s customers)\n",
	       ncpu, repeat, sc->name);
	for (size_t k = 0; k < ARRAY_SIZE(paths); k++) {
		struct bcase c = {};
		double one[MAX_ROUNDS], all[MAX_ROUNDS];
		char name[40];

		make_case(&c, sc, paths[k], false);
		case_name(&c, name, sizeof(name));
		if (set_role(sc, false))
			return;
		for (int r = 0; r < rounds; r++) {
			if (contend(&c, 1, &one[r]) || contend(&c, ncpu, &all[r])) {
				printf("  %s: test run failed\n", name);
				return;
			}
		}
		printf("  %-24s %6.1f ns/pkt on 1 CPU, %6.1f ns/pkt on each of %d\n", name,
		       median(one, rounds), median(all, rounds), ncpu);
	}
}

/*
 * The policer under contention: the customer policed at CONTEND_RATE_BPS sends on ncpu CPUs
 * at once (a thread pinned to each, each looping BPF_PROG_TEST_RUN of CONTEND_REPEAT) for
 * policed_secs, far over its rate, so conforming packets of every CPU race for the refill
 * of every tick. It reports ns/pkt (the kernel's, averaged over every packet of every
 * thread) and the bytes admitted (the customer's passed bytes, summed over CPUs) against
 * rate x time + burst, time on the policer's own clock (CLOCK_MONOTONIC_COARSE) plus one
 * tick (as tests/bpf/test_contend.c, which asserts the bounds; this reports them).
 */
struct pworker {
	pthread_t th;
	int cpu, prog, err;
	const struct bcase *c;
	pthread_barrier_t *go;
	const int *stop;
	uint64_t pkts;
	double ns_sum; /* ns/pkt x packets, over the calls */
};

static void *pworker_main(void *arg)
{
	struct pworker *w = arg;
	cpu_set_t set;
	uint32_t ns;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	w->err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set) ? -EINVAL : 0;
	pthread_barrier_wait(w->go);
	while (!w->err && !__atomic_load_n(w->stop, __ATOMIC_RELAXED)) {
		w->err = run(w->prog, w->c, CONTEND_REPEAT, &ns, NULL, NULL);
		w->pkts += CONTEND_REPEAT;
		w->ns_sum += (double)ns * CONTEND_REPEAT;
	}
	return NULL;
}

static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static double policed_secs = 2.0;

/* One run on ncpu CPUs; false when it admitted more than rate x time + burst (+1%). */
static bool policed_run(struct scale *sc, const struct bcase *c, int ncpu)
{
	struct pworker w[64] = {};
	struct tg_rate_cfg rc = {CONTEND_RATE_BPS, CONTEND_BURST_BYTES, 0, 0};
	struct tg_policer_cfg pc;
	struct tg_cust_counters before, after;
	pthread_barrier_t go;
	uint64_t tick = tg_coarse_tick_ns(), t0, t1, pkts = 0, bytes, eff_burst;
	double ns_sum = 0, bound;
	int stop = 0, i, n, err = 0;

	tg_policer_params(&rc, tick, &pc);
	eff_burst = ((unsigned __int128)pc.tol_fns << 8) / pc.ipb_fns16; /* bytes */
	usleep((pc.tol_fns >> 8) / 1000 + 2 * tick / 1000);		 /* the bucket full again */
	if (tg_read_cust(&sc->m, sc->contend_idx, &before)) {
		printf("  cannot read the customer's counters\n");
		return false;
	}
	pthread_barrier_init(&go, NULL, ncpu + 1);
	for (n = 0; n < ncpu; n++) {
		w[n] = (struct pworker){
			.cpu = n, .prog = sc->m.prog, .c = c, .go = &go, .stop = &stop};
		if (pthread_create(&w[n].th, NULL, pworker_main, &w[n])) {
			fprintf(stderr, "bench: cannot start a thread for CPU %d\n", n);
			exit(1); /* the others wait at the barrier for it */
		}
	}
	pthread_barrier_wait(&go);
	t0 = coarse_ns();
	usleep((useconds_t)(policed_secs * 1e6));
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++) {
		pthread_join(w[i].th, NULL);
		if (w[i].err)
			err = w[i].err;
		pkts += w[i].pkts;
		ns_sum += w[i].ns_sum;
	}
	t1 = coarse_ns() + tick;
	pthread_barrier_destroy(&go);
	if (err || tg_read_cust(&sc->m, sc->contend_idx, &after)) {
		printf("  %d CPUs: test run failed\n", ncpu);
		return false;
	}
	bytes = after.pass[TG_DIR_UP].bytes - before.pass[TG_DIR_UP].bytes;
	bound = (double)CONTEND_RATE_BPS / 8 * (t1 - t0) / 1e9 + eff_burst;
	printf("  on %d CPU%s: %6.1f ns/pkt, %.3f s, %" PRIu64 " packets offered, %" PRIu64
	       " admitted: %" PRIu64 " bytes = %.4f x (rate x time + burst %" PRIu64 " B)%s\n",
	       ncpu, ncpu > 1 ? "s" : "", pkts ? ns_sum / pkts : 0, (t1 - t0) / 1e9, pkts,
	       after.pass[TG_DIR_UP].pkts - before.pass[TG_DIR_UP].pkts, bytes, bytes / bound,
	       eff_burst, bytes > bound * 1.01 ? "  OVER-ADMITTED" : "");
	return bytes <= bound * 1.01;
}

static bool bench_policed_contention(struct scale *sc)
{
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct bcase c = {.sc = sc, .valid = true};
	const struct tg_prefix *p = &sc->pfx[2 * sc->contend_i];
	uint8_t src[16] = {};
	bool ok;

	if (ncpu > 64)
		ncpu = 64;
	memcpy(src, p->addr, 4);
	src[3] |= 1;
	c.len = build_frame(c.frame, false, K_UDP, src, NULL);
	if (set_role(sc, false))
		return false;
	printf("\npolicer under contention: one customer at %llu Mbit/s, burst %u B, far over "
	       "its rate (BPF_PROG_TEST_RUN, %.1f s, %s customers)\n",
	       CONTEND_RATE_BPS / 1000000, CONTEND_BURST_BYTES, policed_secs, sc->name);
	ok = policed_run(sc, &c, 1);
	if (ncpu > 1)
		ok = policed_run(sc, &c, ncpu) && ok;
	else
		printf("  one CPU online: no contention measured\n");
	return ok;
}

/* ---- per-source blocking (upstream) ---- */

/*
 * With the interface turned upstream: traffic toward a customer with a per-source limit.
 * A repeated frame measures the watched path (one source) and the blocked path; a run of
 * one packet each from RANDOM_SOURCES sources measures what a random-source flood costs,
 * beside the bare XDP_DROP program on the same frames (one packet per run carries the
 * run's own overhead in both).
 */
static void bench_per_source(struct scale *sc)
{
	const struct tg_prefix *hi = &sc->pfx[2 * sc->src_hi_i], *lo = &sc->pfx[2 * sc->src_lo_i];
	uint8_t frame[128], src[4] = {45, 1, 2, 3}, dst[4], dst2[4];
	uint32_t ns, ret, bare_ns, v;
	size_t len;
	double sum_prog = 0, sum_bare = 0, sum_plain = 0;
	uint64_t blocked_before = 0;
	int err = set_role(sc, true);

	if (err) {
		printf("per-source: cannot turn the interface upstream: %s\n", strerror(-err));
		return;
	}
	printf("\nper-source blocking, upstream, %s customers (BPF_PROG_TEST_RUN):\n", sc->name);
	memcpy(dst, hi->addr, 4);
	dst[3] |= 1;
	len = build_frame(frame, false, K_UDP, src, dst);
	run_frame(sc->m.prog, frame, len, WARM_REPEAT, &ns, NULL);
	if (!run_frame(sc->m.prog, frame, len, repeat, &ns, &ret) &&
	    !run_frame(bare_fd, frame, len, repeat, &bare_ns, NULL))
		printf("  %-52s %4u ns (%s; bare drop %u ns)\n",
		       "one source, watched, under the limit", ns,
		       ret == XDP_PASS ? "passed" : "NOT PASSED", bare_ns);
	memcpy(dst, lo->addr, 4);
	dst[3] |= 1;
	len = build_frame(frame, false, K_UDP, src, dst);
	run_frame(sc->m.prog, frame, len, 1000, &ns, NULL); /* over 1/s: blocked */
	if (!run_frame(sc->m.prog, frame, len, repeat, &ns, &ret) &&
	    !run_frame(bare_fd, frame, len, repeat, &bare_ns, NULL))
		printf("  %-52s %4u ns (%s; bare drop %u ns, %.1fx)\n", "a blocked source, dropped",
		       ns, ret == XDP_DROP ? "dropped" : "NOT DROPPED", bare_ns,
		       bare_ns ? (double)ns / bare_ns : 0);
	/* the same new-source runs toward a customer without a per-source limit: the
	 * difference is what the watch costs (a run of one packet starts cache-cold) */
	memcpy(dst2, sc->pfx[2 * sc->pass_i].addr, 4);
	dst2[3] |= 1;
	memcpy(dst, hi->addr, 4);
	dst[3] |= 1;
	for (v = 0; v < RANDOM_SOURCES; v++) {
		uint32_t pns, bns, qns;

		src[1] = 64 + (v >> 16);
		src[2] = (v >> 8) & 255;
		src[3] = v & 255;
		len = build_frame(frame, false, K_UDP, src, dst);
		if (run_frame(sc->m.prog, frame, len, 1, &pns, &ret) ||
		    run_frame(bare_fd, frame, len, 1, &bns, NULL))
			break;
		blocked_before += ret != XDP_PASS;
		len = build_frame(frame, false, K_UDP, src, dst2);
		if (run_frame(sc->m.prog, frame, len, 1, &qns, NULL))
			break;
		sum_prog += pns;
		sum_bare += bns;
		sum_plain += qns;
	}
	printf("  %-52s %4.0f ns; toward a customer without it %.0f ns; bare drop %.0f ns "
	       "(one packet per run)%s\n",
	       "a new source each packet (random-source flood)", sum_prog / RANDOM_SOURCES,
	       sum_plain / RANDOM_SOURCES, sum_bare / RANDOM_SOURCES,
	       blocked_before ? " SOME DROPPED" : "");
}

int main(int argc, char **argv)
{
	static struct scale scales[2] = {{.name = "1k", .n = 1000}, {.name = "1M", .n = 1000000}};
	static struct bcase cases[MAX_CASES];
	struct xdp_drop *bare = NULL;
	const char *which = "both", *only = NULL;
	int cpu = -1, opt, ncases = 0, r, ret = 1;
	double bare_all[MAX_ROUNDS * ARRAY_SIZE(cases)],
		bare_cpu_all[MAX_ROUNDS * ARRAY_SIZE(cases)];
	int nbare = 0, i;
	bool all_ok = true;
	cpu_set_t set;
	double t_start = now_s();

	while ((opt = getopt(argc, argv, "n:r:c:s:k:t:h")) != -1) {
		switch (opt) {
		case 'n':
			repeat = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 's':
			which = optarg;
			break;
		case 'k':
			only = optarg;
			break;
		case 't':
			policed_secs = atof(optarg);
			break;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	if (!repeat || rounds < 1 || !(policed_secs > 0 && policed_secs <= 600) ||
	    rounds > MAX_ROUNDS ||
	    (strcmp(which, "1k") && strcmp(which, "1m") && strcmp(which, "both"))) {
		usage(argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (cpu < 0)
		cpu = sysconf(_SC_NPROCESSORS_ONLN) - 1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "bench: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
		return 1;
	}
	lo_ifindex = if_nametoindex("lo");
	if (!lo_ifindex) {
		fprintf(stderr, "bench: no loopback interface\n");
		return 1;
	}
	bare = xdp_drop__open_and_load();
	if (!bare) {
		fprintf(stderr, "bench: cannot load the bare XDP_DROP program: %s\n",
			strerror(errno));
		return 1;
	}
	bare_fd = bpf_program__fd(bare->progs.xdp_drop);

	printf("bench_xdp: BPF_PROG_TEST_RUN, repeat %u, %d rounds, pinned to CPU %d\n", repeat,
	       rounds, cpu);
	for (i = 0; i < 2; i++) {
		struct scale *sc = &scales[i];
		int err;

		if (strcmp(which, "both") && strcasecmp(which, sc->name))
			continue;
		err = load_scale(sc);
		if (err) {
			fprintf(stderr, "bench: loading %s customers failed: %s\n", sc->name,
				strerror(-err));
			goto out;
		}
		printf("loaded %u customers (%u prefixes) in %.2f s\n", sc->n + 1, 2 * sc->n + 2,
		       sc->load_s);
		for (int v6 = 0; v6 < 2; v6++) {
			for (int p = 0; p < PATH_NR; p++) {
				char name[40];

				make_case(&cases[ncases], sc, p, v6);
				case_name(&cases[ncases], name, sizeof(name));
				if (!only || strstr(name, only))
					ncases++;
			}
		}
	}
	if (!ncases && !strstr("contention", only)) {
		fprintf(stderr, "bench: no case matches '%s'\n", only);
		goto out;
	}
	for (i = 0; i < ncases; i++) {
		check_case(&cases[i]);
		if (cases[i].valid) /* warm caches and the branch predictors */
			run(cases[i].sc->m.prog, &cases[i], WARM_REPEAT, NULL, NULL, NULL);
	}
	if (ncases)
		run(bare_fd, &cases[0], WARM_REPEAT, NULL, NULL, NULL);

	/* interleaved: bare, case, bare, case... so both see the same machine state */
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < ncases; i++) {
			struct bcase *c = &cases[i];
			uint32_t ns;

			if (!c->valid)
				continue;
			if (run(bare_fd, c, repeat, &ns, &c->bare_cpu[r], NULL))
				goto out;
			bare_all[nbare] = ns;
			bare_cpu_all[nbare++] = c->bare_cpu[r];
			if (set_role(c->sc, path_def[c->path].upstream) ||
			    run(c->sc->m.prog, c, repeat, &ns, &c->cpu[r], NULL))
				goto out;
			c->ns[r] = ns;
		}
	}

	for (i = 0; i < ncases; i++) {
		struct bcase *c = &cases[i];
		double x[MAX_ROUNDS];

		if (!c->valid)
			continue;
		for (r = 0; r < rounds; r++)
			x[r] = c->cpu[r] / c->bare_cpu[r];
		c->med_ns = median(c->ns, rounds);
		c->med_cpu = median(c->cpu, rounds);
		c->med_x_bare = median(x, rounds);
	}
	/* 1M against 1k: the same path and family at the other scale */
	for (i = 0; i < ncases; i++) {
		struct bcase *c = &cases[i];

		if (c->sc != &scales[1] || !c->valid)
			continue;
		for (int j = 0; j < ncases; j++) {
			struct bcase *k = &cases[j];

			if (k->sc == &scales[0] && k->valid && k->path == c->path && k->v6 == c->v6)
				c->x_1k = c->med_cpu / k->med_cpu;
		}
	}

	printf("\n%-24s %8s %8s %8s %8s  %-26s %s\n", "case", "ns/pkt", "cpu", "x bare", "x 1k",
	       "target", "");
	if (nbare) {
		printf("%-24s %8.0f %8.2f %8.2f %8s  %-26s\n", "bare XDP_DROP",
		       median(bare_all, nbare), median(bare_cpu_all, nbare), 1.0, "", "");
	}
	for (i = 0; i < ncases; i++) {
		struct bcase *c = &cases[i];
		char name[40], target[40] = "", x1k[16] = "";
		bool ok = true;

		case_name(c, name, sizeof(name));
		if (!c->valid) {
			printf("%-24s %8s  INVALID: %s\n", name, "-", c->why);
			all_ok = false;
			continue;
		}
		if (c->path == PATH_PASS || c->path == PATH_PASS_ALL || c->path == PATH_YELLOW) {
			snprintf(target, sizeof(target), "<= %.0f ns", TARGET_PASS_NS);
			ok = c->med_cpu <= TARGET_PASS_NS;
		} else {
			snprintf(target, sizeof(target), "<= %.1fx bare", TARGET_DROP_X_BARE);
			ok = c->med_x_bare <= TARGET_DROP_X_BARE;
		}
		if (c->x_1k > 0) {
			snprintf(x1k, sizeof(x1k), "%.2f", c->x_1k);
			snprintf(target + strlen(target), sizeof(target) - strlen(target),
				 ", <= %.1fx 1k", TARGET_1M_X_1K);
			ok = ok && c->x_1k <= TARGET_1M_X_1K;
		}
		all_ok = all_ok && ok;
		printf("%-24s %8.0f %8.2f %8.2f %8s  %-26s %s\n", name, c->med_ns, c->med_cpu,
		       c->med_x_bare, x1k, target, ok ? "ok" : "MISSED");
	}
	for (i = 1; i >= 0 && !only; i--) {
		if (scales[i].loaded) {
			bench_per_source(&scales[i]);
			break;
		}
	}
	for (i = 0; i < 2 && (!only || strstr("contention", only)); i++) {
		if (scales[i].loaded) {
			bench_contention(&scales[i]);
			if (!bench_policed_contention(&scales[i]))
				all_ok = false;
			break;
		}
	}
	printf("\n%s (%.0f s)\n", all_ok ? "all targets met" : "some targets missed or invalid",
	       now_s() - t_start);
	ret = 0; /* a benchmark reports; it does not fail the build */
out:
	for (i = 0; i < 2; i++) {
		if (scales[i].loaded)
			tg_maps_close(&scales[i].m);
		free(scales[i].pfx);
	}
	xdp_drop__destroy(bare);
	return ret;
}
