// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_pktfuzz.c - a packet fuzzer: generated and mutated frames through the real XDP
 * program (BPF_PROG_TEST_RUN), each checked against a reference model written here,
 * independently of bpf/.
 *
 * Frames are built from a grammar (0-3 VLAN tags of either TPID or none of ours, IPv4 with
 * options and fragments, IPv6 with extension-header chains, TCP/UDP/ICMP with odd header
 * lengths, ARP, PPPoE, MPLS, link-layer control frames, addresses drawn from the customers'
 * prefixes, bogons, link-local and the rest of the world), then mutated (bytes flipped,
 * truncated, extended), and sent on an interface of a random role and anti-spoof mode.
 * The invariants, checked on every frame:
 *   I1 customer role, strict/loose: a passed frame's IP source belongs to a customer whose
 *      binding admits this port (strict: interface and VLAN tags; loose: any customer), or
 *      the frame is one of the named exceptions (DHCPv4 from 0.0.0.0:68 to 67; ICMPv6 or
 *      DHCPv6 from a link-local or unspecified IPv6 source). A passed frame with no IP header
 *      the model can parse must be ARP, PPPoE discovery, a PPP control frame or an IEEE
 *      802.1 link-layer control frame.
 *   I2 no bogon source passes, in any role or mode (but the exceptions' 0.0.0.0 and ::).
 *   I3 upstream role: a passed frame whose IP header parses and whose destination belongs to
 *      a customer is counted for that customer, never as unclassified traffic; a source
 *      inside the customers' space never passes.
 *   I4 every frame is counted exactly once: one packet on one counter of its interface, a
 *      drop counter if and only if the verdict is XDP_DROP; the verdict is PASS or DROP.
 *   I5 at most one customer's passed or dropped counter moves, by one packet; its
 *      would-drop counters only with its passed counter.
 * A violation prints the frame (hex), the profile and what the model expected.
 *
 *   test_pktfuzz [-n FRAMES] [-s SEED] [-v]      (make fuzz: 10^6 frames; make test: fewer)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/maps.h"
#include "state/state.h"
#include "bpf/harness.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define IF_A "lo"      /* ifindex 1 of the private network namespace */
#define IF_B "tgfz0"   /* a veth made in it */
#define IF_C "tgfz1"   /* its peer */
#define MAX_FRAME 1600 /* what the builder makes; truncation and extension stay below */

/* ------------------------------------------------------------------------------------- */
/* Random numbers: xorshift64*, reproducible from -s                                     */
/* ------------------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t rn(uint32_t n) /* [0, n) */
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static bool chance(int percent)
{
	return rn(100) < (uint32_t)percent;
}

/* ------------------------------------------------------------------------------------- */
/* The configuration under test                                                          */
/* ------------------------------------------------------------------------------------- */

/* A customer as the model knows it: the CSV row it is loaded from. */
struct mcust {
	const char *id, *iface, *vlan, *plan;
	const char *pfx[3];
	/* the model's reading of the binding */
	int ntags; /* -1: unbound; 0 untagged; 1 or 2 tags; 3: any ("*"); 4: "vid[0].*" */
	uint16_t vid[2];
	uint32_t idx; /* index after the sync */
	int ifindex;
};

static struct mcust custs[] = {
	{"f-a", IF_A, "", "flat", {"198.51.100.0/24", "2001:db8:a::/48"}, 0, {0, 0}, 0, 0},
	{"f-b",
	 IF_A,
	 "100",
	 "flat",
	 {"198.51.100.128/26", "2001:db8:a:8000::/49"},
	 1,
	 {100, 0},
	 0,
	 0},
	{"f-c", IF_A, "100.200", "flat", {"192.0.2.0/24", "2001:db8:c::/48"}, 2, {100, 200}, 0, 0},
	{"f-d", IF_B, "", "flat", {"203.0.113.0/24", "2001:db8:d::/48"}, 0, {0, 0}, 0, 0},
	{"f-e", IF_A, "300", "flood", {"100.64.0.0/16", "2001:db8:e::/48"}, 1, {300, 0}, 0, 0},
	{"f-g", IF_A, "", "policed", {"198.18.0.0/24", "2001:db8:f::/48"}, 0, {0, 0}, 0, 0},
	/* unbound: spoof on every strict interface, a customer where anti-spoofing is loose */
	{"f-u", "", "", "flat", {"10.20.0.0/16", "2001:db8:20::/48"}, -1, {0, 0}, 0, 0},
	/* the wildcards */
	{"f-w", IF_B, "*", "flat", {"10.30.0.0/16", "2001:db8:30::/48"}, 3, {0, 0}, 0, 0},
	{"f-x", IF_A, "200.*", "flat", {"10.40.0.0/16", "2001:db8:40::/48"}, 4, {200, 0}, 0, 0},
};
#define NCUST ARRAY_SIZE(custs)

struct mpfx {
	int v6;
	uint8_t addr[16];
	int plen;
	int cust; /* index into custs */
};
static struct mpfx pfxs[2 * NCUST];
static size_t npfx;

enum prof { P_STRICT_A, P_LOOSE_A, P_OFF_A, P_STRICT_B, P_UP_B, P_NR };
static struct th_profile profiles[P_NR] = {
	[P_STRICT_A] = {"strict", IF_A, TG_ROLE_CUSTOMER, TG_AS_STRICT, 0, 0},
	[P_LOOSE_A] = {"loose", IF_A, TG_ROLE_CUSTOMER, TG_AS_LOOSE, 0, 0},
	[P_OFF_A] = {"antispoof-off", IF_A, TG_ROLE_CUSTOMER, TG_AS_OFF, 0, 0},
	[P_STRICT_B] = {"strict-b", IF_B, TG_ROLE_CUSTOMER, TG_AS_STRICT, 0, 0},
	[P_UP_B] = {"upstream", IF_B, TG_ROLE_UPSTREAM, TG_AS_OFF, 0, 0},
};

static struct tg_maps maps;
static bool verbose;
static char tmpdir[] = "/tmp/tg-pktfuzz-XXXXXX";

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

static int load_config(void)
{
	char csv[4096], yaml[2048], path[600];
	struct tg_errs errs = {};
	struct tg_cfg *cfg = NULL;
	size_t i, j, off;
	int err;

	off = snprintf(csv, sizeof(csv), "id,name,plan,prefixes,interface,vlan\n");
	for (i = 0; i < NCUST; i++)
		off += snprintf(csv + off, sizeof(csv) - off, "%s,,%s,%s %s,%s,%s\n", custs[i].id,
				custs[i].plan, custs[i].pfx[0], custs[i].pfx[1], custs[i].iface,
				custs[i].vlan);
	snprintf(yaml, sizeof(yaml),
		 "interfaces:\n"
		 "  - { name: %s, role: customer }\n"
		 "  - { name: %s, role: customer }\n"
		 "plans:\n"
		 "  flat: {}\n"
		 "  policed:\n"
		 "    upload: { rate: 1mbit, burst: 4k }\n"
		 "    download: { rate: 1mbit, burst: 4k }\n"
		 "  flood:\n"
		 "    flood: { syn: 5pps, udp: 5pps, icmp: 5pps, frag: 5pps, reflection: 5pps,\n"
		 "             per_source: 5pps, block_time: 1s }\n"
		 "    smtp: block\n"
		 "customers: customers.csv\n"
		 "walled_garden: [192.0.2.53/32, 2001:db8:53::/48]\n"
		 "capacity: { max_customers: 64, max_prefixes: 128 }\n"
		 "state: state.db\n",
		 IF_A, IF_B);
	if ((err = write_file(tmpdir, "customers.csv", csv)) ||
	    (err = write_file(tmpdir, "tollgate.yaml", yaml)))
		return err;
	snprintf(path, sizeof(path), "%s/tollgate.yaml", tmpdir);
	err = tg_config_load(path, &cfg, &errs);
	if (err) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "  %s\n", errs.msg[i]);
		tg_errs_free(&errs);
		return err;
	}
	err = tg_sync_customers(&maps, cfg, NULL, NULL, &errs); /* nothing suspended */
	if (err) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "  %s\n", errs.msg[i]);
	}
	tg_errs_free(&errs);
	tg_config_free(cfg);
	if (err)
		return err;

	for (i = 0; i < NCUST; i++) {
		custs[i].idx = tg_find_customer(&maps, custs[i].id);
		if (custs[i].idx == TG_CUST_NONE) {
			fprintf(stderr, "customer %s has no index after the sync\n", custs[i].id);
			return -ENOENT;
		}
		custs[i].ifindex = custs[i].iface[0] ? (int)if_nametoindex(custs[i].iface) : 0;
		for (j = 0; j < 2; j++) {
			struct mpfx *p = &pfxs[npfx++];
			char a[64], *slash;

			snprintf(a, sizeof(a), "%s", custs[i].pfx[j]);
			slash = strchr(a, '/');
			*slash = '\0';
			p->v6 = strchr(a, ':') != NULL;
			p->plen = atoi(slash + 1);
			p->cust = i;
			inet_pton(p->v6 ? AF_INET6 : AF_INET, a, p->addr);
		}
	}
	return 0;
}

static int set_profile(int prof)
{
	return th_set_profile(&maps, &profiles[prof], prof);
}

/* ------------------------------------------------------------------------------------- */
/* The model: which customer owns an address, bogons, the reference parser               */
/* ------------------------------------------------------------------------------------- */

static bool in_prefix(const uint8_t *a, const uint8_t *p, int plen)
{
	int i;

	for (i = 0; i < plen / 8; i++)
		if (a[i] != p[i])
			return false;
	if (plen % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - plen % 8));

		if ((a[i] & m) != (p[i] & m))
			return false;
	}
	return true;
}

/* The customer (index into custs) owning addr by longest prefix, or -1. */
static int owner(int v6, const uint8_t *addr)
{
	int best = -1, bestlen = -1;
	size_t i;

	for (i = 0; i < npfx; i++)
		if (pfxs[i].v6 == v6 && pfxs[i].plen > bestlen &&
		    in_prefix(addr, pfxs[i].addr, pfxs[i].plen)) {
			best = pfxs[i].cust;
			bestlen = pfxs[i].plen;
		}
	return best;
}

static bool is_unspec6(const uint8_t *a)
{
	static const uint8_t z[16];

	return memcmp(a, z, 16) == 0;
}

static bool is_linklocal6(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/* RFC 6890 sources never valid on the wire, as docs/policy.md's anti-spoofing section lists them. */
static bool is_bogon(int v6, const uint8_t *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t loop6[16] = {[15] = 1};

	if (!v6)
		return a[0] == 0 || a[0] == 127 || a[0] >= 224;
	return is_unspec6(a) || !memcmp(a, loop6, 16) || a[0] == 0xff || !memcmp(a, mapped, 12);
}

enum rkind {
	K_OTHER = 0, /* nothing the model can parse */
	K_ARP,
	K_L2CTRL,     /* destination 01:80:c2:00:00:0X */
	K_PPPOE_DISC, /* EtherType 0x8863 */
	K_PPP_CTRL,   /* a PPPoE session frame carrying a PPP control protocol */
	K_IP,	      /* the IP header parses (fields below) */
};

struct ref {
	int kind;
	int ntags; /* tags of TPID 0x8100/0x88a8 before the payload */
	uint16_t vid[3];
	int v6;
	uint8_t src[16], dst[16];
	bool l4; /* the transport header was found and fits */
	bool frag;
	uint8_t proto, icmp_type;
	uint16_t sport, dport;
};

#define ETH_P_PPP_DISC_ 0x8863
#define ETH_P_PPP_SES_ 0x8864

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The transport header at p (avail bytes of the IP packet, have bytes in the frame). */
static void ref_l4(struct ref *r, const uint8_t *p, long avail, long have)
{
	long need;

	switch (r->proto) {
	case IPPROTO_TCP:
		if (avail < 20 || have < 20)
			return;
		need = (p[12] >> 4) * 4;
		if (need < 20 || need > avail)
			return;
		break;
	case IPPROTO_UDP:
		if (avail < 8 || have < 8)
			return;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (avail < 8 || have < 8)
			return;
		r->icmp_type = p[0];
		r->l4 = true;
		return;
	default:
		return;
	}
	r->sport = rd16(p);
	r->dport = rd16(p + 2);
	r->l4 = true;
}

static void ref_ip(struct ref *r, const uint8_t *p, long have, int v6)
{
	if (!v6) {
		long hl, tot;
		uint16_t fo;

		if (have < 20 || (p[0] >> 4) != 4 || (p[0] & 15) < 5)
			return;
		hl = (p[0] & 15) * 4;
		tot = rd16(p + 2);
		if (tot < hl || tot > have || hl > have)
			return;
		r->kind = K_IP;
		memcpy(r->src, p + 12, 4);
		memcpy(r->dst, p + 16, 4);
		r->proto = p[9];
		fo = rd16(p + 6);
		r->frag = (fo & 0x3fff) != 0;
		if (fo & 0x1fff)
			return;
		ref_l4(r, p + hl, tot - hl, have - hl);
		return;
	}
	long tot, off = 40;
	uint8_t nh;
	int i;

	if (have < 40 || (p[0] >> 4) != 6)
		return;
	tot = rd16(p + 4) + 40;
	if (tot > have)
		return;
	r->kind = K_IP;
	r->v6 = 1;
	memcpy(r->src, p + 8, 16);
	memcpy(r->dst, p + 24, 16);
	nh = p[6];
	for (i = 0; i < 8; i++) {
		long len;

		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING && nh != IPPROTO_FRAGMENT &&
		    nh != IPPROTO_DSTOPTS && nh != IPPROTO_AH)
			break;
		if (off + 8 > tot)
			return;
		if (nh == IPPROTO_FRAGMENT) {
			uint16_t fo = rd16(p + off + 2);

			if (fo & 0xfff9)
				r->frag = true;
			if (fo & 0xfff8)
				return;
			len = 8;
		} else if (nh == IPPROTO_AH) {
			len = (p[off + 1] + 2) * 4;
		} else {
			len = (p[off + 1] + 1) * 8;
		}
		nh = p[off];
		off += len;
		if (off > tot)
			return;
	}
	r->proto = nh;
	ref_l4(r, p + off, tot - off, have - off);
}

static void ref_parse(const uint8_t *f, long len, struct ref *r)
{
	static const uint8_t ctrl[5] = {0x01, 0x80, 0xc2, 0x00, 0x00};
	long off = 14;
	uint16_t et;
	int nhdr;

	memset(r, 0, sizeof(*r));
	if (len < 14)
		return;
	et = rd16(f + 12);
	/* at most three VLAN headers; a priority tag (VID 0) is no tag, wherever it sits; at
	 * most two tags with a VLAN id */
	for (nhdr = 0; et == 0x8100 || et == 0x88a8; nhdr++) {
		uint16_t vid;

		if (nhdr == 3 || off + 4 > len)
			return;
		vid = rd16(f + off) & 0x0fff;
		et = rd16(f + off + 2);
		off += 4;
		if (!vid)
			continue;
		if (r->ntags == 2)
			return;
		r->vid[r->ntags++] = vid;
	}
	switch (et) {
	case ETH_P_ARP:
		r->kind = K_ARP;
		return;
	case ETH_P_PPP_DISC_:
		r->kind = K_PPPOE_DISC;
		return;
	case ETH_P_IP:
		ref_ip(r, f + off, len - off, 0);
		return;
	case ETH_P_IPV6:
		ref_ip(r, f + off, len - off, 1);
		return;
	case ETH_P_PPP_SES_: {
		long plen;
		uint16_t proto;

		if (off + 8 > len || f[off] != 0x11 || f[off + 1] != 0)
			return;
		plen = rd16(f + off + 4);
		if (plen < 2 || off + 6 + plen > len)
			return;
		proto = rd16(f + off + 6);
		if (proto == 0x0021 || proto == 0x0057)
			ref_ip(r, f + off + 8, plen - 2, proto == 0x0057);
		else if (proto >= 0x8000)
			r->kind = K_PPP_CTRL;
		return;
	}
	}
	/* a frame that is not IP, ARP or PPPoE to the IEEE reserved group: link-layer control */
	if (!memcmp(f, ctrl, 5) && f[5] <= 0x0f)
		r->kind = K_L2CTRL;
}

/*
 * Does customer c's binding admit a frame with these tags (priority tags already left out)
 * on ifindex? Empty vlan: untagged only; "100": exactly that one tag; "100.200": that pair;
 * "*": anything; "100.*": outer 100, any inner tag or none. Unbound: nowhere (strict).
 */
static bool binding_admits(const struct mcust *c, int ifindex, const struct ref *r)
{
	if (c->ntags < 0 || c->ifindex != ifindex)
		return false;
	if (c->ntags == 3)
		return true;
	if (c->ntags == 4)
		return r->ntags >= 1 && r->vid[0] == c->vid[0];
	if (c->ntags != r->ntags)
		return false;
	return c->ntags == 0 ||
	       (r->vid[0] == c->vid[0] && (c->ntags == 1 || r->vid[1] == c->vid[1]));
}

/* The exceptions that pass without an assigned source (docs/policy.md, anti-spoofing). */
static bool exception_shape(const struct ref *r)
{
	static const uint8_t zero4[4];

	if (!r->l4 || r->frag)
		return false;
	if (!r->v6)
		return !memcmp(r->src, zero4, 4) && r->proto == IPPROTO_UDP && r->sport == 68 &&
		       r->dport == 67;
	if (!is_linklocal6(r->src) && !is_unspec6(r->src))
		return false;
	if (r->proto == IPPROTO_UDP)
		return r->sport == 546 && r->dport == 547;
	return r->proto == IPPROTO_ICMPV6;
}

/* ------------------------------------------------------------------------------------- */
/* Frame generation                                                                      */
/* ------------------------------------------------------------------------------------- */

static void pick_addr(int v6, uint8_t *a)
{
	static const char *const bog4[] = {"0.0.0.0",	"127.0.0.1",	   "224.0.0.5",
					   "240.0.0.1", "255.255.255.255", "0.1.2.3"};
	static const char *const bog6[] = {"::", "::1", "ff02::1", "::ffff:198.51.100.5",
					   "ff02::1:2"};
	static const char *const misc4[] = {"8.8.8.8", "192.0.2.53", "169.254.1.1", "10.0.0.1"};
	static const char *const misc6[] = {"fe80::1", "fe80::abcd", "2001:4860::8888",
					    "2001:db8:53::1"};
	int w = rn(100), i;

	memset(a, 0, 16);
	if (w < 55) { /* inside a customer's prefix */
		const struct mpfx *p;

		do
			p = &pfxs[rn(npfx)];
		while (p->v6 != v6);
		for (i = 0; i < (v6 ? 16 : 4); i++)
			a[i] = (uint8_t)rnd();
		for (i = 0; i < p->plen; i++) {
			uint8_t bit = 0x80 >> (i % 8);

			a[i / 8] = (uint8_t)((a[i / 8] & ~bit) | (p->addr[i / 8] & bit));
		}
		return;
	}
	if (w < 70) {
		inet_pton(v6 ? AF_INET6 : AF_INET,
			  v6 ? bog6[rn(ARRAY_SIZE(bog6))] : bog4[rn(ARRAY_SIZE(bog4))], a);
		return;
	}
	if (w < 85) {
		inet_pton(v6 ? AF_INET6 : AF_INET,
			  v6 ? misc6[rn(ARRAY_SIZE(misc6))] : misc4[rn(ARRAY_SIZE(misc4))], a);
		return;
	}
	for (i = 0; i < (v6 ? 16 : 4); i++)
		a[i] = (uint8_t)rnd();
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* A transport header and payload at p; returns its length. */
static size_t gen_l4(uint8_t *p, uint8_t proto, size_t room)
{
	static const uint16_t ports[] = {25, 53, 67, 68, 123, 443, 546, 547, 80, 1900};
	static const uint8_t icmp6[] = {1,   2,	  128, 129, 130, 131, 132,
					133, 134, 135, 136, 137, 143};
	static const uint8_t icmp4[] = {0, 3, 8, 11, 5};
	size_t n = 0, pay = chance(70) ? rn(64) : rn(600), i;

	switch (proto) {
	case IPPROTO_TCP: {
		int doff = chance(85) ? 5 : (int)rn(16);

		n = chance(90) ? 20 : rn(20);
		if (n + 20 > room)
			return 0;
		memset(p, 0, 20);
		put16(p, chance(50) ? ports[rn(ARRAY_SIZE(ports))] : (uint16_t)rnd());
		put16(p + 2, chance(50) ? ports[rn(ARRAY_SIZE(ports))] : (uint16_t)rnd());
		p[12] = (uint8_t)(doff << 4);
		p[13] = chance(50) ? 0x02 : (uint8_t)rnd();
		break;
	}
	case IPPROTO_UDP:
		n = 8;
		if (n > room)
			return 0;
		put16(p, chance(60) ? ports[rn(ARRAY_SIZE(ports))] : (uint16_t)rnd());
		put16(p + 2, chance(60) ? ports[rn(ARRAY_SIZE(ports))] : (uint16_t)rnd());
		put16(p + 4, (uint16_t)(8 + pay));
		p[6] = p[7] = 0;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		n = 8;
		if (n > room)
			return 0;
		memset(p, 0, 8);
		p[0] = proto == IPPROTO_ICMP ? icmp4[rn(ARRAY_SIZE(icmp4))]
					     : icmp6[rn(ARRAY_SIZE(icmp6))];
		p[1] = chance(80) ? 0 : (uint8_t)rn(5);
		break;
	default:
		break;
	}
	if (n + pay > room)
		pay = room - n;
	for (i = 0; i < pay; i++)
		p[n + i] = (uint8_t)rnd();
	return n + pay;
}

static uint8_t pick_proto(int v6)
{
	static const uint8_t p4[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_GRE, 132};
	static const uint8_t p6[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6, IPPROTO_GRE,
				     IPPROTO_ESP};

	if (chance(5))
		return (uint8_t)rnd();
	return v6 ? p6[rn(ARRAY_SIZE(p6))] : p4[rn(ARRAY_SIZE(p4))];
}

static size_t gen_ip4(uint8_t *p, size_t room)
{
	int ihl = chance(85) ? 5 : (int)rn(16);
	size_t hl = (size_t)(ihl < 5 ? 5 : ihl) * 4, l4;
	uint8_t proto = pick_proto(0);

	if (hl > room)
		return 0;
	memset(p, 0, hl);
	p[0] = (uint8_t)(0x40 | ihl);
	p[8] = chance(50) ? 64 : (uint8_t)rnd();
	p[9] = proto;
	if (chance(15)) /* a fragment: first (MF) or later (offset) */
		put16(p + 6, chance(50) ? 0x2000 : (uint16_t)(rnd() & 0x3fff));
	pick_addr(0, p + 12);
	pick_addr(0, p + 16);
	l4 = gen_l4(p + hl, proto, room - hl);
	put16(p + 2, chance(90) ? (uint16_t)(hl + l4) : (uint16_t)rnd());
	return hl + l4;
}

static size_t gen_ip6(uint8_t *p, size_t room)
{
	static const uint8_t ext[] = {IPPROTO_HOPOPTS,
				      IPPROTO_ROUTING,
				      IPPROTO_FRAGMENT,
				      IPPROTO_DSTOPTS,
				      IPPROTO_AH,
				      135,
				      139,
				      140,
				      253,
				      59};
	size_t off = 40, l4;
	int next = 6, n = chance(60) ? 0 : (int)rn(11), i;
	uint8_t proto = pick_proto(1);

	if (room < 40)
		return 0;
	memset(p, 0, 40);
	p[0] = 0x60;
	p[7] = chance(30) ? 255 : chance(50) ? 1 : 64;
	pick_addr(1, p + 8);
	pick_addr(1, p + 24);
	for (i = 0; i < n; i++) {
		uint8_t t = ext[rn(ARRAY_SIZE(ext))];
		size_t len = 8;

		if (off + 24 > room)
			break;
		p[next] = t;
		memset(p + off, 0, 24);
		if (t == IPPROTO_FRAGMENT) {
			put16(p + off + 2, chance(50) ? 0 : (uint16_t)(rnd() & 0xfff9));
		} else if (t == IPPROTO_AH) {
			p[off + 1] = 4;
			len = 24;
		} else if (t == IPPROTO_ROUTING) {
			p[off + 1] = 2;
			p[off + 2] = (uint8_t)rn(5);
			p[off + 3] = (uint8_t)rn(3);
			len = 24;
		} else if (chance(20)) {
			p[off + 1] = 1;
			len = 16;
		}
		next = (int)off;
		off += len;
	}
	p[next] = proto;
	l4 = gen_l4(p + off, proto, room - off);
	put16(p + 4, chance(92) ? (uint16_t)(off - 40 + l4) : (uint16_t)rnd());
	return off + l4;
}

static size_t gen_frame(uint8_t *f)
{
	static const uint16_t tpids[] = {0x8100, 0x88a8, 0x9100};
	static const uint16_t vids[] = {0, 100, 200, 300, 4095};
	size_t off = 14, n = 0;
	int ntags = chance(50) ? 0 : chance(50) ? 1 : chance(70) ? 2 : 3, i, k = rn(100);

	for (i = 0; i < 12; i++)
		f[i] = (uint8_t)rnd();
	f[0] &= 0xfe;
	if (chance(5)) { /* an IEEE 802.1 link-layer control group address */
		static const uint8_t ctrl[5] = {0x01, 0x80, 0xc2, 0x00, 0x00};

		memcpy(f, ctrl, 5);
		f[5] = (uint8_t)rn(0x20);
	}
	for (i = 0; i < ntags; i++) {
		put16(f + off - 2, chance(90) ? tpids[rn(2)] : tpids[rn(3)]);
		put16(f + off, (uint16_t)((rn(8) << 13) |
					  (chance(85) ? vids[rn(ARRAY_SIZE(vids))] : rn(4096))));
		off += 4;
	}
	if (k < 40) {
		put16(f + off - 2, ETH_P_IP);
		n = gen_ip4(f + off, MAX_FRAME - off);
	} else if (k < 80) {
		put16(f + off - 2, ETH_P_IPV6);
		n = gen_ip6(f + off, MAX_FRAME - off);
	} else if (k < 86) {
		put16(f + off - 2, ETH_P_ARP);
		n = 28;
		for (i = 0; i < 28; i++)
			f[off + i] = (uint8_t)rnd();
	} else if (k < 94) { /* PPPoE session: IPv4, IPv6, a control protocol, anything */
		static const uint16_t ppp[] = {0x0021, 0x0057, 0xc021, 0x8021, 0x1234};
		uint16_t proto = ppp[rn(ARRAY_SIZE(ppp))];

		put16(f + off - 2, chance(80) ? ETH_P_PPP_SES_ : ETH_P_PPP_DISC_);
		f[off] = chance(90) ? 0x11 : (uint8_t)rnd();
		f[off + 1] = chance(90) ? 0 : (uint8_t)rnd();
		put16(f + off + 2, (uint16_t)rnd());
		put16(f + off + 6, proto);
		n = proto == 0x0021   ? gen_ip4(f + off + 8, MAX_FRAME - off - 8)
		    : proto == 0x0057 ? gen_ip6(f + off + 8, MAX_FRAME - off - 8)
				      : rn(40);
		put16(f + off + 4, chance(90) ? (uint16_t)(n + 2) : (uint16_t)rnd());
		n += 8;
	} else {
		static const uint16_t other[] = {0x8847, 0x88cc, 0x8809, 0x888e, 0x0800, 0x86dd};

		put16(f + off - 2, chance(70) ? other[rn(ARRAY_SIZE(other))] : (uint16_t)rnd());
		n = rn(100);
		for (i = 0; i < (int)n; i++)
			f[off + i] = (uint8_t)rnd();
	}
	n += off;
	/* mutate: flip bytes, cut, extend */
	if (chance(25)) {
		int flips = 1 + rn(4);

		for (i = 0; i < flips; i++)
			f[rn(n)] ^= (uint8_t)(1u << rn(8));
	}
	if (chance(10))
		n = 14 + rn(n - 13);
	else if (chance(5)) {
		size_t more = rn(64);

		for (i = 0; i < (int)more && n < MAX_FRAME; i++)
			f[n++] = (uint8_t)rnd();
	}
	return n;
}

/* ------------------------------------------------------------------------------------- */
/* Running a frame and checking it                                                       */
/* ------------------------------------------------------------------------------------- */

#define IF_NCTR (sizeof(struct tg_if_counters) / sizeof(struct tg_counter))
#define CU_NCTR (sizeof(struct tg_cust_counters) / sizeof(struct tg_counter))
#define CU_DROP0 (offsetof(struct tg_cust_counters, drop) / sizeof(struct tg_counter))
#define CU_NOTED0 (offsetof(struct tg_cust_counters, noted) / sizeof(struct tg_counter))
#define IF_DROP0 (offsetof(struct tg_if_counters, drop) / sizeof(struct tg_counter))
#define IF_UNCL (offsetof(struct tg_if_counters, uncl) / sizeof(struct tg_counter))

struct snapshot {
	struct tg_if_counters ifc;
	struct tg_cust_counters cu[NCUST];
};

static int snap(int prof, struct snapshot *s)
{
	size_t i;
	int err = tg_read_iface(&maps, prof, &s->ifc);

	for (i = 0; !err && i < NCUST; i++)
		err = tg_read_cust(&maps, custs[i].idx, &s->cu[i]);
	return err;
}

static int run_frame(int ifindex, const uint8_t *frame, size_t len, __u32 *retval)
{
	return th_run(&maps, ifindex, frame, len, NULL, 0, retval);
}

static long nviol, nframes, verdicts[2], kinds[K_IP + 1];

static void report(const char *inv, int prof, const uint8_t *f, size_t len, __u32 verdict,
		   const char *why)
{
	size_t i;

	nviol++;
	if (nviol > 20 && !verbose)
		return;
	printf("FAIL %s on %s: verdict %s: %s\n  frame (%zu bytes):", inv, profiles[prof].name,
	       verdict == XDP_PASS   ? "PASS"
	       : verdict == XDP_DROP ? "DROP"
				     : "other",
	       why, len);
	for (i = 0; i < len; i++)
		printf("%s%02x", i % 32 ? "" : "\n  ", f[i]);
	printf("\n");
}

static void fmt_addr(const struct ref *r, const uint8_t *a, char *buf, size_t n)
{
	inet_ntop(r->v6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)n);
}

static void check_frame(int prof, const uint8_t *f, size_t len)
{
	const struct th_profile *pr = &profiles[prof];
	struct snapshot a, b;
	struct ref r;
	__u32 verdict = 0;
	size_t i, moved = 0, moved_at = 0;
	uint64_t cmoved = 0;
	int cmoved_at = -1, err;
	char why[256], s1[64], s2[64];

	ref_parse(f, (long)len, &r);
	kinds[r.kind]++;
	if ((err = set_profile(prof)) || (err = snap(prof, &a)) ||
	    (err = run_frame(pr->ifindex, f, len, &verdict)) || (err = snap(prof, &b))) {
		snprintf(why, sizeof(why), "the harness failed: %s", strerror(-err));
		report("harness", prof, f, len, 0, why);
		return;
	}
	nframes++;
	if (verdict != XDP_PASS && verdict != XDP_DROP) {
		report("I4", prof, f, len, verdict, "verdict neither XDP_PASS nor XDP_DROP");
		return;
	}
	verdicts[verdict == XDP_PASS]++;

	/* I4: one packet on one interface counter, a drop counter iff dropped */
	for (i = 0; i < IF_NCTR; i++) {
		uint64_t d = ((struct tg_counter *)&b.ifc)[i].pkts -
			     ((struct tg_counter *)&a.ifc)[i].pkts;

		if (d) {
			moved += d;
			moved_at = i;
		}
	}
	if (moved != 1) {
		snprintf(why, sizeof(why), "%zu packets counted on the interface, not 1", moved);
		report("I4", prof, f, len, verdict, why);
		return;
	}
	if ((moved_at >= IF_DROP0 && moved_at < IF_DROP0 + TG_R_NR) != (verdict == XDP_DROP)) {
		snprintf(why, sizeof(why), "interface counter #%zu moved", moved_at);
		report("I4", prof, f, len, verdict, why);
		return;
	}
	/* I5: at most one customer counter, by one packet; its would-drop (noted) counters
	 * annotate a passed packet and move only with that customer's passed counter */
	for (i = 0; i < NCUST; i++) {
		const struct tg_counter *ca = (const struct tg_counter *)&a.cu[i],
					*cb = (const struct tg_counter *)&b.cu[i];
		uint64_t noted = 0, passed = 0;
		size_t k;

		for (k = 0; k < CU_NCTR; k++) {
			uint64_t d = cb[k].pkts - ca[k].pkts;

			if (!d)
				continue;
			if (k >= CU_NOTED0) {
				noted += d;
				continue;
			}
			if (k < CU_DROP0)
				passed += d;
			cmoved += d;
			cmoved_at = (int)i;
		}
		if (noted > 1 || (noted && !passed)) {
			snprintf(why, sizeof(why),
				 "%s: %" PRIu64 " would-drops with %" PRIu64 " passed packets",
				 custs[i].id, noted, passed);
			report("I5", prof, f, len, verdict, why);
			return;
		}
	}
	if (cmoved > 1) {
		snprintf(why, sizeof(why), "%" PRIu64 " customer counters moved", cmoved);
		report("I5", prof, f, len, verdict, why);
		return;
	}
	if (verdict != XDP_PASS)
		return;

	if (r.kind != K_IP) {
		/* I1: what passes a customer port without an IP header the model can read */
		if (pr->role == TG_ROLE_CUSTOMER && pr->antispoof != TG_AS_OFF &&
		    r.kind == K_OTHER) {
			report("I1", prof, f, len, verdict,
			       "passed, but it is no IP, ARP, PPPoE discovery, PPP control or "
			       "link-layer control frame");
		}
		return;
	}
	fmt_addr(&r, r.src, s1, sizeof(s1));
	fmt_addr(&r, r.dst, s2, sizeof(s2));
	/* I2: bogons */
	if (is_bogon(r.v6, r.src) && !exception_shape(&r)) {
		snprintf(why, sizeof(why), "bogon source %s passed", s1);
		report("I2", prof, f, len, verdict, why);
		return;
	}
	if (pr->role == TG_ROLE_CUSTOMER) {
		int o = owner(r.v6, r.src);

		if (pr->antispoof == TG_AS_OFF || exception_shape(&r))
			return;
		if (o < 0) {
			snprintf(why, sizeof(why), "source %s belongs to no customer", s1);
			report("I1", prof, f, len, verdict, why);
		} else if (pr->antispoof == TG_AS_STRICT &&
			   !binding_admits(&custs[o], pr->ifindex, &r)) {
			snprintf(why, sizeof(why),
				 "source %s is %s's, whose binding (%s vlan '%s') does not admit "
				 "%d tag(s) %u.%u on %s",
				 s1, custs[o].id, custs[o].iface[0] ? custs[o].iface : "none",
				 custs[o].vlan, r.ntags, r.vid[0], r.vid[1], pr->ifname);
			report("I1", prof, f, len, verdict, why);
		}
		return;
	}
	/* I3: upstream */
	if (owner(r.v6, r.src) >= 0) {
		snprintf(why, sizeof(why), "source %s inside the customers' space passed", s1);
		report("I3", prof, f, len, verdict, why);
		return;
	}
	if (owner(r.v6, r.dst) >= 0) {
		int o = owner(r.v6, r.dst);

		if (moved_at == IF_UNCL || cmoved_at != o) {
			snprintf(why, sizeof(why), "toward %s (%s) but counted %s", s2, custs[o].id,
				 moved_at == IF_UNCL ? "as unclassified"
						     : "for no or another customer");
			report("I3", prof, f, len, verdict, why);
		}
	}
}

static int setup_netns(void)
{
	int err = th_netns("test_pktfuzz", IF_B, IF_C);

	if (err == -ENODEV)
		printf("SKIP test_pktfuzz: no veth (nor ifb) in this kernel\n");
	if (err)
		return err;
	th_resolve(profiles, P_NR);
	return 0;
}

static void rm_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(int argc, char **argv)
{
	struct tg_capacity cap = {.max_customers = 64, .max_prefixes = 128};
	long n = 100000, i, j;
	uint64_t seed = (uint64_t)time(NULL);
	uint8_t frame[MAX_FRAME + 64];
	struct timespec t0, t1;
	int opt, err, prof;

	while ((opt = getopt(argc, argv, "n:s:v")) != -1) {
		switch (opt) {
		case 'n':
			n = atol(optarg);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'v':
			verbose = true;
			break;
		default:
			fprintf(stderr, "usage: %s [-n FRAMES] [-s SEED] [-v]\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP test_pktfuzz: needs root (BPF_PROG_TEST_RUN, network namespace)\n");
		return 77;
	}
	/* one CPU: the per-CPU drop slot is then read back exactly */
	th_one_cpu();
	if (setup_netns())
		return 77;
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "FAIL setup: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	err = tg_maps_open(NULL, &cap, true, &maps);
	if (!err)
		err = load_config();
	rm_tmpdir();
	if (err) {
		fprintf(stderr, "FAIL setup: %s\n", strerror(-err));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	rng_state ^= seed * 0x9e3779b97f4a7c15ull;
	if (!rng_state)
		rng_state = 1;
	printf("== test_pktfuzz: %ld frames, seed %" PRIu64 " (-s %" PRIu64 " repeats the run)\n",
	       n, seed, seed);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		size_t len = gen_frame(frame);

		prof = (int)rn(P_NR);
		check_frame(prof, frame, len);
		if (verbose && (i + 1) % 100000 == 0)
			printf("  %ld frames, %ld violations\n", i + 1, nviol);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	tg_maps_close(&maps);
	printf("  %ld frames in %.1f s: %ld passed, %ld dropped; model kinds:", nframes,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, verdicts[1],
	       verdicts[0]);
	for (j = 0; j <= K_IP; j++)
		printf(" %ld", kinds[j]);
	printf("\n");
	if (nviol > 20)
		printf("  (%ld violations, the first 20 shown)\n", nviol);
	printf("%s %ld frames against invariants I1-I5\n", nviol ? "FAIL" : "PASS", nframes);
	printf("%d passed, %d failed\n", nviol ? 0 : 1, nviol ? 1 : 0);
	return nviol ? 1 : 0;
}
