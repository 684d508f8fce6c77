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
 * namespace the whole suite prints SKIP and exits 77. Options: -v (frames of failures,
 * policer arithmetic), -f SUBSTRING (only matching fixtures; "rate", "resync" select
 * those groups).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/maps.h"
#include "reload/reload.h"
#include "state/state.h"
#include "testlib.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------------------- */
/* Packet descriptions                                                                   */
/* ------------------------------------------------------------------------------------- */

#define TPID_Q 0x8100  /* 802.1Q */
#define TPID_AD 0x88a8 /* 802.1ad (QinQ service tag) */

#define IPV4_MF 0x2000
#define IPV4_DF 0x4000

#define NH_MOBILITY 135
#define NH_HIP 139
#define NH_SHIM6 140
#define NH_EXP1 253
#define NH_EXP2 254
#define NH_NONE 59

#define ICMP6_ECHO_REQ 128
#define ND_RS 133
#define ND_RA 134
#define ND_NS 135
#define ND_NA 136
#define MLD_QUERY 130
#define MLD1_REPORT 131
#define MLD1_DONE 132
#define MLD2_REPORT 143

/* One IPv6 extension header. hlen is the Hdr Ext Len field (AH: Payload Len). */
struct ext6 {
	uint8_t on;
	uint8_t type;
	uint8_t hlen;
	uint8_t rt_type; /* Routing: routing type */
	uint8_t segleft; /* Routing: segments left */
	uint16_t fo;	 /* Fragment: offset (8-byte units) << 3 | M */
};

/* clang-format off */
#define X_HBH { 1, IPPROTO_HOPOPTS, 0, 0, 0, 0 } /* 8 bytes */
#define X_HBH16 { 1, IPPROTO_HOPOPTS, 1, 0, 0, 0 } /* 16 bytes */
#define X_DST { 1, IPPROTO_DSTOPTS, 0, 0, 0, 0 }
#define X_RT(type, sl) { 1, IPPROTO_ROUTING, 2, type, sl, 0 } /* 24 bytes */
#define X_FRAG(off, m) { 1, IPPROTO_FRAGMENT, 0, 0, 0, (uint16_t)((off) << 3 | (m)) }
#define X_AH { 1, IPPROTO_AH, 4, 0, 0, 0 } /* (4 + 2) * 4 = 24 bytes */
#define X_OTHER(nh) { 1, nh, 0, 0, 0, 0 } /* 8 bytes, shaped like Destination Options */
/* clang-format on */

#define PPP_PFC 0x10000 /* .ppp: protocol field compressed to one byte (RFC 1661 6.5) */
#define LEN0 0x10000	/* .iplen: an IP length field of 0 (0 means "computed") */
#define IHL0 0x10	/* .ihl: an IHL field of 0 (0 means 5) */
#define CUT0 -1		/* .cut: no byte left (0 means "not cut") */

struct pkt {
	uint16_t tpid[3];   /* VLAN tags, outermost first; 0 ends the list */
	uint16_t tci[3];    /* PCP/DEI/VID */
	uint16_t ethertype; /* 0: ARP, IPv4 or IPv6 from the fields below */
	bool arp;
	const char *src, *dst; /* IPv4 or IPv6 literals */
	uint8_t proto;	       /* L4 protocol; 0: TCP */
	uint16_t sport, dport; /* 0: 40000 -> 80 */
	uint8_t icmp_type;
	uint8_t ttl;	  /* TTL / hop limit; 0: 64 */
	uint8_t ipver;	  /* version field; 0: 4 or 6 */
	uint8_t ihl;	  /* IPv4; 0: 5 */
	uint16_t frag;	  /* IPv4 frag_off (host order) without DF; DF is set unless fragmented */
	uint8_t doff;	  /* TCP data offset; 0: 5 */
	uint8_t tcpflags; /* 0: SYN */
	struct ext6 ext[10]; /* IPv6 extension headers, in order */
	uint16_t payload;    /* bytes after the L4 header */
	int iplen;	     /* IPv4 tot_len / IPv6 payload_len; 0: computed; LEN0: zero */
	int lendelta;	     /* added to the computed IP length */
	int cut;	     /* the frame ends after this many bytes; 0: not cut; CUT0: 0 bytes */
	bool fixlen;	     /* with cut: the IP length says the packet ends where the frame does */
	int pad;	     /* zero-pad the frame to this many bytes */
	uint8_t icmp_code;
	const char *target; /* ICMPv6: an address in the first 16 payload bytes (NA target) */
	/* link layer, for the frames that are not bare IP */
	const char *dmac;   /* destination MAC ("01:80:c2:00:00:02"); NULL: 02:00:00:00:00:01 */
	uint16_t l2len;	    /* > 0: no IP; this many payload bytes after the EtherType (and any
			     * PPPoE/PPP header), l2hdr first, then zeros */
	uint8_t l2hdr[4];   /* the first bytes of that payload (an LLC header, a PPP code) */
	uint16_t pppoe;	    /* ETH_P_PPP_DISC or ETH_P_PPP_SES: a PPPoE header after the tags */
	uint8_t pppoe_code; /* PADI..., 0 in a session */
	uint8_t pppoe_vt;   /* version/type; 0: 0x11 */
	uint16_t pppoe_sid; /* session id */
	int pppoe_lendelta; /* added to the computed PPPoE length */
	int ppp;	    /* session: the PPP protocol; 0: IPv4/IPv6 from the addresses;
			     * | PPP_PFC: in the one-byte compressed form */
};

/* Where the pieces of a built frame are. */
struct built {
	size_t len;	/* frame length */
	size_t l3, l4;	/* offsets of the IP and L4 headers */
	uint32_t iplen; /* what the program counts for a parsed IP packet: IP header + payload */
	bool v6;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static int parse_addr(const char *s, uint8_t *out, bool *v6)
{
	*v6 = strchr(s, ':') != NULL;
	return inet_pton(*v6 ? AF_INET6 : AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

/* L4 header and payload at b; returns the bytes written. */
static size_t build_l4(const struct pkt *p, uint8_t *b, uint8_t proto)
{
	uint16_t sport = p->sport ? p->sport : 40000, dport = p->dport ? p->dport : 80;
	size_t n = 0, i;

	switch (proto) {
	case IPPROTO_TCP: {
		uint8_t doff = p->doff ? p->doff : 5;

		put16(b, sport);
		put16(b + 2, dport);
		memset(b + 4, 0, 8); /* seq, ack */
		b[4] = 0x12;
		b[12] = doff << 4;
		b[13] = p->tcpflags ? p->tcpflags : 0x02; /* SYN */
		put16(b + 14, 64240);
		memset(b + 16, 0, 4);
		n = 20;
		for (i = 20; i < (size_t)doff * 4; i++)
			b[n++] = 1; /* NOP options */
		break;
	}
	case IPPROTO_UDP:
		put16(b, sport);
		put16(b + 2, dport);
		put16(b + 4, 8 + p->payload);
		put16(b + 6, 0);
		n = 8;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		b[0] = p->icmp_type;
		memset(b + 1, 0, 7);
		b[1] = p->icmp_code;
		n = 8;
		break;
	default:
		break; /* GRE, ESP, No Next Header...: no header of ours */
	}
	memset(b + n, 0xab, p->payload);
	if (p->target && p->payload >= 16)
		inet_pton(AF_INET6, p->target, b + n);
	return n + p->payload;
}

static size_t build_ext6(const struct ext6 *x, uint8_t next, uint8_t *b)
{
	size_t n;

	b[0] = next;
	b[1] = x->hlen;
	switch (x->type) {
	case IPPROTO_FRAGMENT:
		b[1] = 0;
		put16(b + 2, x->fo);
		memcpy(b + 4, "\x12\x34\x56\x78", 4);
		return 8;
	case IPPROTO_AH:
		n = ((size_t)x->hlen + 2) * 4;
		memset(b + 2, 0, n - 2);
		b[7] = 0x42; /* SPI */
		return n;
	case IPPROTO_ROUTING:
		n = ((size_t)x->hlen + 1) * 8;
		memset(b + 2, 0, n - 2);
		b[2] = x->rt_type;
		b[3] = x->segleft;
		return n;
	default:
		n = ((size_t)x->hlen + 1) * 8;
		memset(b + 2, 0, n - 2);
		b[2] = 1; /* PadN over the rest of the header */
		b[3] = n - 4;
		return n;
	}
}

/* Build p into buf (which holds at least 2048 bytes). */
static int build_pkt(const struct pkt *p, uint8_t *buf, struct built *out)
{
	static const uint8_t smac[6] = {0x02, 0, 0, 0, 0, 0x02};
	uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x01};
	uint8_t saddr[16] = {}, daddr[16] = {}, proto = p->proto ? p->proto : IPPROTO_TCP;
	size_t off = 12, end, cut, len_end, i, pppoe_off = 0;
	uint16_t ethertype;
	bool v6 = false, dv6;
	int iplen;

	memset(out, 0, sizeof(*out));
	if (p->dmac && sscanf(p->dmac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dmac[0], &dmac[1],
			      &dmac[2], &dmac[3], &dmac[4], &dmac[5]) != 6)
		return -EINVAL;
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	for (i = 0; i < 3 && p->tpid[i]; i++) {
		put16(buf + off, p->tpid[i]);
		put16(buf + off + 2, p->tci[i]);
		off += 4;
	}
	if (p->src && parse_addr(p->src, saddr, &v6))
		return -EINVAL;
	if (p->dst && (parse_addr(p->dst, daddr, &dv6) || dv6 != v6))
		return -EINVAL;
	ethertype = p->ethertype ? p->ethertype : p->arp ? ETH_P_ARP : v6 ? ETH_P_IPV6 : ETH_P_IP;
	if (p->pppoe)
		ethertype = p->pppoe;
	put16(buf + off, ethertype);
	off += 2;
	if (p->pppoe) { /* RFC 2516: ver/type, code, session id, length (filled in below) */
		pppoe_off = off;
		buf[off] = p->pppoe_vt ? p->pppoe_vt : 0x11;
		buf[off + 1] = p->pppoe_code;
		put16(buf + off + 2, p->pppoe_sid);
		off += 6;
		if (p->pppoe == ETH_P_PPP_SES) {
			uint16_t ppp = p->ppp ? p->ppp & 0xffff : v6 ? 0x0057 : 0x0021;

			if (p->ppp & PPP_PFC)
				buf[off++] = ppp & 0xff;
			else {
				put16(buf + off, ppp);
				off += 2;
			}
		}
	}
	out->l3 = off;
	out->v6 = v6;

	if (p->l2len) {
		memset(buf + off, 0, p->l2len);
		memcpy(buf + off, p->l2hdr, p->l2len < 4 ? p->l2len : 4);
		end = off + p->l2len;
	} else if (p->arp) {
		/* Ethernet/IPv4 request: htype 1, ptype 0x0800, hlen 6, plen 4, op 1 */
		static const uint8_t arp[8] = {0, 1, 0x08, 0, 6, 4, 0, 1};

		memcpy(buf + off, arp, 8);
		memcpy(buf + off + 8, smac, 6);
		memcpy(buf + off + 14, saddr, 4);
		memset(buf + off + 18, 0, 6);
		memcpy(buf + off + 24, daddr, 4);
		end = off + 28;
	} else if (!v6) {
		uint8_t ihl = p->ihl ? p->ihl & 0x0f : 5;
		size_t hl = (size_t)ihl * 4;

		if (hl < 20)
			hl = 20; /* an IHL below 5 still gets a full header written */
		buf[off] = (p->ipver ? p->ipver : 4) << 4 | ihl;
		buf[off + 1] = 0;
		put16(buf + off + 4, 0x1234);
		put16(buf + off + 6, p->frag ? p->frag : IPV4_DF);
		buf[off + 8] = p->ttl ? p->ttl : 64;
		buf[off + 9] = proto;
		put16(buf + off + 10, 0);
		memcpy(buf + off + 12, saddr, 4);
		memcpy(buf + off + 16, daddr, 4);
		memset(buf + off + 20, 1, hl - 20); /* NOP options */
		out->l4 = off + hl;
		end = out->l4 + build_l4(p, buf + out->l4, proto);
	} else {
		size_t n = 0, x;

		for (n = 0; n < ARRAY_SIZE(p->ext) && p->ext[n].on; n++)
			;
		put16(buf + off, (p->ipver ? p->ipver : 6) << 12);
		put16(buf + off + 2, 0);
		buf[off + 6] = n ? p->ext[0].type : proto;
		buf[off + 7] = p->ttl ? p->ttl : 64;
		memcpy(buf + off + 8, saddr, 16);
		memcpy(buf + off + 24, daddr, 16);
		end = off + 40;
		for (x = 0; x < n; x++)
			end += build_ext6(&p->ext[x], x + 1 < n ? p->ext[x + 1].type : proto,
					  buf + end);
		out->l4 = end;
		end += build_l4(p, buf + end, proto);
	}

	/*
	 * The IP length describes the whole packet unless the fixture says otherwise: a cut
	 * frame then claims more than it holds; with fixlen it is a short packet whose length
	 * field ends where the frame does.
	 */
	if (p->cut && (p->cut < 0 || (size_t)p->cut < end)) {
		cut = p->cut < 0 ? 0 : p->cut;
		if (!p->fixlen)
			len_end = end;
		else
			len_end = cut;
	} else {
		cut = end;
		len_end = end;
	}
	if (p->pppoe)
		put16(buf + pppoe_off + 4, (int)(len_end - pppoe_off - 6) + p->pppoe_lendelta);
	if (!p->arp && !p->l2len) {
		size_t hdr = v6 ? 40 : 0;

		iplen = (int)(len_end - off) - (int)hdr + p->lendelta;
		if (p->iplen)
			iplen = p->iplen & 0xffff;
		put16(buf + off + (v6 ? 4 : 2), iplen);
		if (!v6)
			put16(buf + off + 10, ip_csum(buf + off, 20));
		out->iplen = (uint32_t)iplen + hdr;
	}
	end = cut;
	if (p->pad > 0 && (size_t)p->pad > end) {
		memset(buf + end, 0, p->pad - end);
		end = p->pad;
	}
	out->len = end;
	return 0;
}

/* ------------------------------------------------------------------------------------- */
/* Interfaces, customers                                                                 */
/* ------------------------------------------------------------------------------------- */

#define IF_A "lo"   /* ifindex 1 of the test's own network namespace */
#define IF_B "tgta" /* a veth created in that namespace */
#define IF_C "tgtb" /* its peer: an interface Tollgate is not configured on */

/* How the interface a fixture arrives on is configured; the slot is the profile number. */
enum prof {
	P_STRICT,    /* customer role, anti-spoof strict, on IF_A */
	P_LOOSE,     /* customer role, loose, IF_A */
	P_OFF,	     /* customer role, anti-spoof off, IF_A */
	P_STRICT_B,  /* customer role, strict, IF_B (untagged: c-o only; b-w any VLAN, b-y 300) */
	P_UP,	     /* upstream role, IF_B */
	P_MON,	     /* customer role, strict, monitor, IF_A */
	P_UP_MON,    /* upstream role, monitor, IF_B */
	P_NOIF,	     /* IF_C, not in tg_ifaces */
	P_STRICT_Q,  /* strict, IF_A, vlan_protocol 802.1q (outer TPID 0x8100 only) */
	P_STRICT_AD, /* strict, IF_A, vlan_protocol 802.1ad (outer TPID 0x88a8 only) */
	P_NR,
};

static struct profile {
	const char *name, *ifname;
	uint8_t role, antispoof, flags;
	int ifindex; /* resolved at start */
} profiles[P_NR] = {
	[P_STRICT] = {"strict", IF_A, TG_ROLE_CUSTOMER, TG_AS_STRICT, 0, 0},
	[P_LOOSE] = {"loose", IF_A, TG_ROLE_CUSTOMER, TG_AS_LOOSE, 0, 0},
	[P_OFF] = {"antispoof-off", IF_A, TG_ROLE_CUSTOMER, TG_AS_OFF, 0, 0},
	[P_STRICT_B] = {"strict-b", IF_B, TG_ROLE_CUSTOMER, TG_AS_STRICT, 0, 0},
	[P_UP] = {"upstream", IF_B, TG_ROLE_UPSTREAM, TG_AS_OFF, 0, 0},
	[P_MON] = {"monitor", IF_A, TG_ROLE_CUSTOMER, TG_AS_STRICT, TG_IFF_MONITOR, 0},
	[P_UP_MON] = {"upstream-monitor", IF_B, TG_ROLE_UPSTREAM, TG_AS_OFF, TG_IFF_MONITOR, 0},
	[P_NOIF] = {"unconfigured", IF_C, TG_ROLE_CUSTOMER, TG_AS_STRICT, 0, 0},
	[P_STRICT_Q] = {"strict-802.1q", IF_A, TG_ROLE_CUSTOMER, TG_AS_STRICT, TG_IFF_VLAN_Q, 0},
	[P_STRICT_AD] = {"strict-802.1ad", IF_A, TG_ROLE_CUSTOMER, TG_AS_STRICT, TG_IFF_VLAN_AD, 0},
};

enum plan_no {
	PL_FLAT,
	PL_UP8M,
	PL_DOWN8K,
	PL_FLOOD,
	PL_SMTPBLK,
	PL_PERSRC,
	PL_PERSRC60,
	PL_P_TRTCM, /* h4: two-rate three-colour policer (test_trtcm) */
	PL_NR
};

/* Packet-rate limits of PL_FLOOD (both directions) and the SMTP policies. */
#define FL_SYN 20
#define FL_UDP 30
#define FL_ICMP 10
#define FL_ICMP_BURST 4 /* a burst of its own; the others one second's worth */
#define FL_FRAG 5
#define FL_SMTP 3
#define FL_REFL 8
#define FL_SRC 12
#define FL_BLOCK_S 2
static const struct {
	struct tg_flood_cfg flood;
	int smtp;
	uint32_t smtp_limit;
} plan_extra[PL_NR] = {
	[PL_FLOOD] = {{.syn_pps = FL_SYN,
		       .udp_pps = FL_UDP,
		       .icmp_pps = FL_ICMP,
		       .burst = {[2] = FL_ICMP_BURST},
		       .frag_pps = FL_FRAG,
		       .refl_pps = FL_REFL},
		      TG_SMTP_LIMIT,
		      FL_SMTP},
	[PL_SMTPBLK] = {{0}, TG_SMTP_BLOCK, 0},
	[PL_PERSRC] = {{.src_pps = FL_SRC, .block_ns = FL_BLOCK_S * 1000000000ull},
		       TG_SMTP_ALLOW,
		       0},
	/* h3: blocks outlast the share test, whatever the machine's speed */
	[PL_PERSRC60] = {{.src_pps = FL_SRC, .block_ns = 60 * 1000000000ull}, TG_SMTP_ALLOW, 0},
};

#define UP8M_BPS 8000000ull
#define DOWN8K_BPS 8000ull
#define TEST_BURST 3000ull
/* PL_P_TRTCM: slow enough that a tick refills a few bytes, not a packet */
#define TR_CIR_BPS 8000ull
#define TR_CBS 3000ull
#define TR_PIR_BPS 16000ull
#define TR_PBS 6000ull
#define TR_YELLOW 14 /* AF13 */

static const struct tg_rate_cfg plan_rates[PL_NR][TG_DIR_NR] = {
	[PL_FLAT] = {{0, 0, 0, 0}, {0, 0, 0, 0}},
	[PL_UP8M] = {{UP8M_BPS, TEST_BURST, 0, 0}, {0, 0, 0, 0}},
	[PL_DOWN8K] = {{0, 0, 0, 0}, {DOWN8K_BPS, TEST_BURST, 0, 0}},
	[PL_FLOOD] = {{0, 0, 0, 0}, {0, 0, 0, 0}},
	[PL_SMTPBLK] = {{0, 0, 0, 0}, {0, 0, 0, 0}},
	[PL_PERSRC] = {{0, 0, 0, 0}, {0, 0, 0, 0}},
	[PL_PERSRC60] = {{0, 0, 0, 0}, {0, 0, 0, 0}},
	[PL_P_TRTCM] = {{TR_CIR_BPS, TR_CBS, TR_PIR_BPS, TR_PBS},
			{TR_CIR_BPS, TR_CBS, TR_PIR_BPS, TR_PBS}},
};

/*
 * A binding's VLANs (tollgate_kern_user.h): VUNT untagged only, VANY any (the CSV's `*`).
 * VNONE is the old name, kept for fixtures written against it: untagged since layout 9.
 */
#define VUNT TG_VLAN_UNTAGGED
#define VANY TG_VLAN_ANY
#define VNONE VUNT

static const struct cust_def {
	const char *id, *iface;
	uint16_t vlan, ivlan;
	int plan;
	const char *pfx[3];
} custs[] = {
	/* LPM: a /24 with a /32 and a /26 inside; a /48 with a /56 and a /64 inside it */
	{"c-a", IF_A, VNONE, VNONE, PL_FLAT, {"198.51.100.0/24", "2001:db8:a::/48"}},
	{"c-b", IF_A, VNONE, VNONE, PL_FLAT, {"198.51.100.7/32", "2001:db8:a:100::/56"}},
	{"c-c", IF_A, VNONE, VNONE, PL_FLAT, {"198.51.100.64/26", "2001:db8:a:1a0::/64"}},
	/* a /16 with a /30 inside (unbound until layout 9; b-u* are the unbound ones now) */
	{"c-d", IF_A, VNONE, VNONE, PL_FLAT, {"10.20.0.0/16", "2001:db8:d::/48"}},
	{"c-e", IF_A, VNONE, VNONE, PL_FLAT, {"10.20.30.40/30", "2001:db8:d:1e::/64"}},
	/* bound to the other interface */
	{"c-o", IF_B, VNONE, VNONE, PL_FLAT, {"203.0.113.0/24", "2001:db8:c::/48"}},
	/* VLAN 100, and QinQ 100.200 */
	{"c-v", IF_A, 100, VNONE, PL_FLAT, {"192.0.2.0/26", "2001:db8:100::/48"}},
	{"c-q", IF_A, 100, 200, PL_FLAT, {"192.0.2.64/26", "2001:db8:200::/48"}},
	/* policed */
	{"c-r", IF_A, VNONE, VNONE, PL_UP8M, {"198.18.0.0/24", "2001:db8:300::/48"}},
	{"c-k", IF_A, VNONE, VNONE, PL_DOWN8K, {"198.18.1.0/24", "2001:db8:301::/48"}},
	/* packet-rate limits and SMTP policy; c-f and c-s on any VLAN of IF_A (`*`), for the
	 * fixtures that send them tagged */
	{"c-f", IF_A, VANY, VANY, PL_FLOOD, {"198.18.2.0/24", "2001:db8:302::/48"}},
	{"c-s", IF_A, VANY, VANY, PL_SMTPBLK, {"198.18.3.0/24", "2001:db8:303::/48"}},
	{"c-p", IF_A, VNONE, VNONE, PL_PERSRC, {"198.18.4.0/24", "2001:db8:304::/48"}},
	/* PL_FLOOD with a SYN limit of its own (OWN_SYN, the CSV's syn column) */
	{"c-g", IF_A, VNONE, VNONE, PL_FLOOD, {"198.18.5.0/24", "2001:db8:305::/48"}},
	/* enforcement (enf): suspended, bound to IF_A; throttled to THROTTLE_BPS */
	{"c-z", IF_A, VNONE, VNONE, PL_FLAT, {"198.18.6.0/24", "2001:db8:306::/48"}},
	{"c-t", IF_A, VNONE, VNONE, PL_UP8M, {"198.18.7.0/24", "2001:db8:307::/48"}},
	/* h3: ICMP classes (PL_FLOOD), per-source shares (two PL_PERSRC customers), and the
	 * owner of access port IF_A VLAN 300 (exceptions) */
	{"l-f", IF_A, VNONE, VNONE, PL_FLOOD, {"198.18.20.0/24", "2001:db8:320::/48"}},
	{"l-p", IF_A, VNONE, VNONE, PL_PERSRC60, {"198.18.21.0/24"}},
	{"l-q", IF_A, VNONE, VNONE, PL_PERSRC60, {"198.18.22.0/24"}},
	{"l-x", IF_A, 300, VNONE, PL_FLAT, {"198.18.23.0/24", "2001:db8:323::/48"}},
	/* h5: PPPoE customers behind QinQ 300.400 on IF_A: policed, and with packet-rate limits */
	{"e-r", IF_A, 300, 400, PL_UP8M, {"198.18.10.0/24", "2001:db8:310::/48"}},
	{"e-f", IF_A, 300, 401, PL_FLOOD, {"198.18.11.0/24", "2001:db8:311::/48"}},
	/* h1 bindings: unbound (spoof wherever strict); IF_B `*`; IF_A `300.*`; IF_B `300` */
	{"b-u", "", VUNT, VUNT, PL_FLAT, {"198.18.40.0/24", "2001:db8:b40::/48"}},
	{"b-w", IF_B, VANY, VANY, PL_FLAT, {"198.18.41.0/24", "2001:db8:b41::/48"}},
	{"b-x", IF_A, 300, VANY, PL_FLAT, {"198.18.42.0/24", "2001:db8:b42::/48"}},
	{"b-y", IF_B, 300, VUNT, PL_FLAT, {"198.18.43.0/24", "2001:db8:b43::/48"}},
	/* h4: two-rate three-colour policer (test_trtcm): one bucket pair per case */
	{"p-t4", IF_A, VNONE, VNONE, PL_P_TRTCM, {"198.18.80.0/24", "2001:db8:380::/48"}},
	{"p-t6", IF_A, VNONE, VNONE, PL_P_TRTCM, {"198.18.81.0/24", "2001:db8:381::/48"}},
	/* VLAN 399 (no other fixture uses it) and IF_A untagged: no port gets an owner it did
	 * not have (spoof charging) */
	{"p-tq", IF_A, 399, VNONE, PL_P_TRTCM, {"198.18.82.0/24", "2001:db8:382::/48"}},
	/* in a PPPoE session behind QinQ 300.402: the DSCP is behind PPPoE and PPP headers */
	{"p-tp", IF_A, 300, 402, PL_P_TRTCM, {"198.18.85.0/24", "2001:db8:385::/48"}},
	{"p-td", IF_A, VNONE, VNONE, PL_P_TRTCM, {"198.18.83.0/24", "2001:db8:383::/48"}},
	/* throttled (enf): no peak above the throttle rate */
	{"p-tt", IF_A, VNONE, VNONE, PL_P_TRTCM, {"198.18.84.0/24", "2001:db8:384::/48"}},
};
#define THROTTLE_BPS 1000000ull
/* the walled garden: a resolver and a portal, in both families */
#define WG_DNS4 "8.8.4.4"
#define WG_DNS6 "2001:4860:4860::8844"
#define WG_PORTAL4 "198.18.200.0/24"
#define WG_PORTAL6 "2001:db8:beef::/48"
#define OWN_SYN 40

#define NCUST ARRAY_SIZE(custs)

static struct tg_maps maps;
static const char *absent_id; /* a customer left out of the current sync (resync test) */
static uint32_t cust_idx[NCUST];
static int nskipped;

static int cust_no(const char *id)
{
	size_t i;

	for (i = 0; i < NCUST; i++)
		if (strcmp(custs[i].id, id) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------------------------------- */
/* Fixtures                                                                              */
/* ------------------------------------------------------------------------------------- */

enum kind {
	E_PASS = 1, /* passed, attributed to .cust: iface pass, customer pass[dir] */
	E_UNCL,	    /* passed without a customer: iface unclassified */
	E_DROP,	 /* dropped for .reason: iface drop[reason], customer drop[dir][reason] if .cust */
	E_NOTED, /* passed although .reason matched: iface noted[reason]; if .cust, its pass[dir]
		  * and its noted[dir][reason] (packets only) */
	E_NOTHING, /* passed, no counter anywhere */
};

struct fixture {
	const char *desc;
	int prof;
	struct pkt pkt;
	int verdict;
	int kind;
	int reason;
	const char *cust;
	const char *bug; /* a known bug in bpf/ or user/: the fixture fails and says so */
	bool needs_meta; /* frame shorter than ETH_HLEN */
	bool l4bad;	 /* malformed after a valid IP header: counted by the IP length */
};

#define PASS(c) .verdict = XDP_PASS, .kind = E_PASS, .cust = (c)
#define UNCL .verdict = XDP_PASS, .kind = E_UNCL
#define DROP(r, c) .verdict = XDP_DROP, .kind = E_DROP, .reason = TG_R_##r, .cust = (c)
#define NOTED(r) .verdict = XDP_PASS, .kind = E_NOTED, .reason = TG_R_##r
#define NOTED_C(r, c) NOTED(r), .cust = (c)
#define NOTHING .verdict = XDP_PASS, .kind = E_NOTHING
#define MALF DROP(MALFORMED, NULL)

#define V4(s, d) .src = (s), .dst = (d)
#define Q(vid) .tpid = {TPID_Q}, .tci = {vid}
#define QINQ(o, i) .tpid = {TPID_AD, TPID_Q}, .tci = {o, i}

/* Offsets: Ethernet 14, IPv4 header 20 (at 14), IPv6 header 40 (at 14). */
#define L4_4 34 /* untagged IPv4, IHL 5 */
#define L4_6 54 /* untagged IPv6, no extension header */

#define SRC_A4 "198.51.100.5"
#define SRC_A6 "2001:db8:a::5"
#define DST4 "8.8.8.8"
#define DST6 "2001:4860:4860::8888"

/*
 * The /24 at half of 198.51.100.0/24's tbl24 index (0xc63364 / 2 = 0x6319b2): where a
 * layout that ignored the kernel's 8-byte array stride would put the entry. Kept as a
 * regression check of the paired layout (struct tg_v4_pair).
 */
#define MIRROR_A4 "99.25.178.5" /* /24 index of 198.51.100.0/24, halved */

/* h5: link-layer control and PPPoE */
#define MAC_STP "01:80:c2:00:00:00"  /* nearest customer bridge: STP */
#define MAC_SLOW "01:80:c2:00:00:02" /* slow protocols: LACP, marker, OAM */
#define MAC_PAE "01:80:c2:00:00:03"  /* 802.1X port access entity */
#define MAC_LLDP "01:80:c2:00:00:0e" /* nearest bridge: LLDP */
#define MAC_BCAST "ff:ff:ff:ff:ff:ff"
#ifndef ETH_P_LLDP
#define ETH_P_LLDP 0x88cc
#endif
#define PADI 0x09
#define PADO 0x07
#define PADR 0x19
#define PADS 0x65
#define PADT 0xa7
#define L2(n, ...) .l2len = (n), .l2hdr = {__VA_ARGS__}
#define PPPOE_D(code, sid) .pppoe = ETH_P_PPP_DISC, .pppoe_code = (code), .pppoe_sid = (sid)
#define SES(sid) .pppoe = ETH_P_PPP_SES, .pppoe_sid = (sid)

static const struct fixture fixtures[] = {
	/* ---- valid customer traffic, customer role: found by source; longest prefix wins ---- */
	{"v4 TCP from a /24 customer", P_STRICT, {V4(SRC_A4, DST4)}, PASS("c-a")},
	{"v4 UDP from a /24 customer",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .proto = IPPROTO_UDP, .payload = 32},
	 PASS("c-a")},
	{"v4 ICMP from a /24 customer",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .proto = IPPROTO_ICMP, .icmp_type = 8, .payload = 56},
	 PASS("c-a")},
	{"v4 /32 inside the /24 wins", P_STRICT, {V4("198.51.100.7", DST4)}, PASS("c-b")},
	{"v4 address below the /32 stays with the /24",
	 P_STRICT,
	 {V4("198.51.100.6", DST4)},
	 PASS("c-a")},
	{"v4 address above the /32 stays with the /24",
	 P_STRICT,
	 {V4("198.51.100.8", DST4)},
	 PASS("c-a")},
	{"v4 first address of the /26 inside the /24",
	 P_STRICT,
	 {V4("198.51.100.64", DST4)},
	 PASS("c-c")},
	{"v4 last address of the /26", P_STRICT, {V4("198.51.100.127", DST4)}, PASS("c-c")},
	{"v4 just below the /26", P_STRICT, {V4("198.51.100.63", DST4)}, PASS("c-a")},
	{"v4 just above the /26", P_STRICT, {V4("198.51.100.128", DST4)}, PASS("c-a")},
	{"v4 first address of the /24", P_STRICT, {V4("198.51.100.0", DST4)}, PASS("c-a")},
	{"v4 last address of the /24", P_STRICT, {V4("198.51.100.255", DST4)}, PASS("c-a")},
	{"v4 /30 inside an unbound /16", P_STRICT, {V4("10.20.30.41", DST4)}, PASS("c-e")},
	{"v4 next to the /30 stays with the /16", P_STRICT, {V4("10.20.30.44", DST4)}, PASS("c-d")},
	{"v4 far end of the /16", P_STRICT, {V4("10.20.255.255", DST4)}, PASS("c-d")},
	{"v4 just outside the /16 is spoofed",
	 P_STRICT,
	 {V4("10.21.0.1", DST4)},
	 DROP(SPOOF, NULL)},
	{"v6 TCP from a /48", P_STRICT, {V4("2001:db8:a:200::5", DST6)}, PASS("c-a")},
	{"v6 UDP from a /48",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .proto = IPPROTO_UDP, .payload = 20},
	 PASS("c-a")},
	{"v6 ICMPv6 echo from a /48",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .proto = IPPROTO_ICMPV6, .icmp_type = ICMP6_ECHO_REQ, .payload = 56},
	 PASS("c-a")},
	{"v6 /56 inside the /48 wins (first /64)",
	 P_STRICT,
	 {V4("2001:db8:a:100::1", DST6)},
	 PASS("c-b")},
	{"v6 /56 inside the /48 wins (last /64)",
	 P_STRICT,
	 {V4("2001:db8:a:1ff:ffff:ffff:ffff:ffff", DST6)},
	 PASS("c-b")},
	{"v6 /64 inside the /56 wins", P_STRICT, {V4("2001:db8:a:1a0::1", DST6)}, PASS("c-c")},
	{"v6 last address of the /64",
	 P_STRICT,
	 {V4("2001:db8:a:1a0:ffff:ffff:ffff:ffff", DST6)},
	 PASS("c-c")},
	{"v6 next /64 falls back to the /56",
	 P_STRICT,
	 {V4("2001:db8:a:1a1::1", DST6)},
	 PASS("c-b")},
	{"v6 outside the /56 falls back to the /48",
	 P_STRICT,
	 {V4("2001:db8:a:200::1", DST6)},
	 PASS("c-a")},
	{"v6 last address of the /48",
	 P_STRICT,
	 {V4("2001:db8:a:ffff:ffff:ffff:ffff:ffff", DST6)},
	 PASS("c-a")},
	{"v6 /64 inside an unbound /48", P_STRICT, {V4("2001:db8:d:1e::9", DST6)}, PASS("c-e")},
	{"v6 next to that /64 stays with the /48",
	 P_STRICT,
	 {V4("2001:db8:d:1f::9", DST6)},
	 PASS("c-d")},
	{"v6 just outside the /48 is spoofed",
	 P_STRICT,
	 {V4("2001:db8:b::1", DST6)},
	 DROP(SPOOF, NULL)},
	/* the trie compresses 2001:db8:0::/40's chain (bytes 2-4) and the /64's under c-d */
	{"v6 in the customers' /16 but another /32 is spoofed (compressed bytes differ)",
	 P_STRICT,
	 {V4("2001:db9:a::5", DST6)},
	 DROP(SPOOF, NULL)},
	{"v6 in the customers' /32 but another /40 is spoofed (compressed bytes differ)",
	 P_STRICT,
	 {V4("2001:db8:10a::5", DST6)},
	 DROP(SPOOF, NULL)},
	{"v6 in the /48 off the /64's compressed chain stays with the /48",
	 P_STRICT,
	 {V4("2001:db8:d:11e::9", DST6)},
	 PASS("c-d")},
	{"v4 frame padded to 60 bytes counts the IP length",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .pad = 60},
	 PASS("c-a")},

	{"v4 source at half a customer's tbl24 index is not a customer",
	 P_STRICT,
	 {V4(MIRROR_A4, DST4)},
	 DROP(SPOOF, NULL)},

	/* ---- upstream role: found by destination ---- */
	{"upstream v4 to a /24 customer", P_UP, {V4(DST4, SRC_A4)}, PASS("c-a")},
	{"upstream v4 to the /32 inside it", P_UP, {V4(DST4, "198.51.100.7")}, PASS("c-b")},
	{"upstream v4 to the /26 inside it", P_UP, {V4(DST4, "198.51.100.70")}, PASS("c-c")},
	{"upstream v4 to the /30 inside a /16", P_UP, {V4(DST4, "10.20.30.43")}, PASS("c-e")},
	{"upstream v4 to a VLAN-bound customer (no binding check)",
	 P_UP,
	 {V4(DST4, "192.0.2.5")},
	 PASS("c-v")},
	{"upstream v4 tagged to a VLAN customer",
	 P_UP,
	 {Q(100), V4(DST4, "192.0.2.5")},
	 PASS("c-v")},
	{"upstream v4 to a customer bound to another interface",
	 P_UP,
	 {V4(DST4, "198.51.100.9")},
	 PASS("c-a")},
	{"upstream v6 to the /64", P_UP, {V4(DST6, "2001:db8:a:1a0::1")}, PASS("c-c")},
	{"upstream v6 to the /56", P_UP, {V4(DST6, "2001:db8:a:1a1::1")}, PASS("c-b")},
	{"upstream v6 to the /48", P_UP, {V4(DST6, "2001:db8:a:2::1")}, PASS("c-a")},
	{"upstream v4 to half a customer's tbl24 index is not a customer",
	 P_UP,
	 {V4(DST4, MIRROR_A4)},
	 UNCL},
	{"upstream v4 to a non-customer: unclassified", P_UP, {V4("1.1.1.1", "8.8.4.4")}, UNCL},
	{"upstream v6 to a non-customer: unclassified", P_UP, {V4("2606:4700::1111", DST6)}, UNCL},
	{"upstream v4 from inside customer space to a customer",
	 P_UP,
	 {V4("198.51.100.9", "198.51.100.10")},
	 DROP(SPOOF, "c-a")},
	{"upstream v4 from inside customer space to a non-customer",
	 P_UP,
	 {V4("198.51.100.9", DST4)},
	 DROP(SPOOF, NULL)},
	{"upstream v6 from inside customer space to a customer",
	 P_UP,
	 {V4("2001:db8:a::9", "2001:db8:c::1")},
	 DROP(SPOOF, "c-o")},
	{"upstream v6 from inside customer space to a non-customer",
	 P_UP,
	 {V4("2001:db8:a:1a0::9", DST6)},
	 DROP(SPOOF, NULL)},
	{"upstream v4 bogon source to a customer: charged to it",
	 P_UP,
	 {V4("127.0.0.1", SRC_A4)},
	 DROP(BOGON, "c-a")},
	{"upstream v6 bogon source to a customer: charged to it",
	 P_UP,
	 {V4("::1", SRC_A6)},
	 DROP(BOGON, "c-a")},
	{"upstream v4 bogon source to a non-customer",
	 P_UP,
	 {V4("127.0.0.1", DST4)},
	 DROP(BOGON, NULL)},
	{"upstream ARP", P_UP, {.arp = true, V4("192.0.2.1", "192.0.2.2")}, UNCL},
	{"upstream malformed (truncated TCP) is passed, noted",
	 P_UP,
	 {V4(DST4, SRC_A4), .cut = L4_4 + 10},
	 NOTED(MALFORMED)},
	{"upstream malformed (three tags) is passed, noted",
	 P_UP,
	 {.tpid = {TPID_AD, TPID_Q, TPID_Q}, .tci = {100, 200, 300}, V4(DST4, SRC_A4)},
	 NOTED(MALFORMED)},
	{"upstream malformed (v6 Mobility header) is passed, noted, charged to the customer",
	 P_UP,
	 {V4(DST6, SRC_A6), .ext = {X_OTHER(NH_MOBILITY)}},
	 NOTED_C(MALFORMED, "c-a"),
	 .l4bad = true},
	{"upstream unknown ethertype is passed, noted",
	 P_UP,
	 {.ethertype = 0x88cc, V4(DST4, SRC_A4)},
	 NOTED(MALFORMED)},

	/* ---- spoofed sources, customer bound elsewhere ---- */
	{"v4 spoofed source", P_STRICT, {V4("8.8.4.4", DST4)}, DROP(SPOOF, NULL)},
	{"v6 spoofed source", P_STRICT, {V4("2001:db8:dead::1", DST6)}, DROP(SPOOF, NULL)},
	{"v4 spoofed UDP",
	 P_STRICT,
	 {V4("8.8.4.4", DST4), .proto = IPPROTO_UDP},
	 DROP(SPOOF, NULL)},
	{"v4 non-customer just below a /24",
	 P_STRICT,
	 {V4("198.51.99.255", DST4)},
	 DROP(SPOOF, NULL)},
	{"v4 near-bogon 1.0.0.1 is spoof, not bogon",
	 P_STRICT,
	 {V4("1.0.0.1", DST4)},
	 DROP(SPOOF, NULL)},
	{"v4 near-bogon 223.255.255.255 is spoof, not bogon",
	 P_STRICT,
	 {V4("223.255.255.255", DST4)},
	 DROP(SPOOF, NULL)},
	{"v4 near-bogon 126.255.255.255 is spoof, not bogon",
	 P_STRICT,
	 {V4("126.255.255.255", DST4)},
	 DROP(SPOOF, NULL)},
	{"v6 ::2 is spoof, not bogon", P_STRICT, {V4("::2", DST6)}, DROP(SPOOF, NULL)},
	{"v6 link-local TCP is spoof", P_STRICT, {V4("fe80::1", DST6)}, DROP(SPOOF, NULL)},
	{"v4 source bound to another interface: strict drops",
	 P_STRICT,
	 {V4("203.0.113.5", DST4)},
	 DROP(SPOOF, NULL)},
	{"v6 source bound to another interface: strict drops",
	 P_STRICT,
	 {V4("2001:db8:c::5", DST6)},
	 DROP(SPOOF, NULL)},
	{"v4 source bound to another interface: loose passes",
	 P_LOOSE,
	 {V4("203.0.113.5", DST4)},
	 PASS("c-o")},
	{"v6 source bound to another interface: loose passes",
	 P_LOOSE,
	 {V4("2001:db8:c::5", DST6)},
	 PASS("c-o")},
	{"v4 VLAN customer untagged: loose passes", P_LOOSE, {V4("192.0.2.5", DST4)}, PASS("c-v")},
	{"v4 unknown source: loose drops", P_LOOSE, {V4("8.8.4.4", DST4)}, DROP(SPOOF, NULL)},
	{"v6 unknown source: loose drops",
	 P_LOOSE,
	 {V4("2001:db8:dead::1", DST6)},
	 DROP(SPOOF, NULL)},
	{"v4 from the interface's own customer",
	 P_STRICT_B,
	 {V4("203.0.113.5", DST4)},
	 PASS("c-o")},
	{"v6 from the interface's own customer",
	 P_STRICT_B,
	 {V4("2001:db8:c:1::5", DST6)},
	 PASS("c-o")},
	{"v4 a customer bound to IF_A on IF_B: spoof, charged to IF_B's owner",
	 P_STRICT_B,
	 {V4("10.20.30.44", DST4)},
	 DROP(SPOOF, "c-o")},
	{"v4 spoof charged to the port's only customer",
	 P_STRICT_B,
	 {V4("8.8.4.4", DST4)},
	 DROP(SPOOF, "c-o")},
	{"v6 spoof charged to the port's only customer",
	 P_STRICT_B,
	 {V4("2001:db8:dead::1", DST6)},
	 DROP(SPOOF, "c-o")},
	{"v4 other interface's customer charged to this port's customer",
	 P_STRICT_B,
	 {V4(SRC_A4, DST4)},
	 DROP(SPOOF, "c-o")},
	{"v4 malformed charged to the port's only customer",
	 P_STRICT_B,
	 {V4("203.0.113.5", DST4), .cut = L4_4 + 10},
	 DROP(MALFORMED, "c-o")},
	{"v4 bogon charged to the port's only customer",
	 P_STRICT_B,
	 {V4("127.0.0.1", DST4)},
	 DROP(BOGON, "c-o")},
	{"antispoof off: unknown v4 source passes unclassified",
	 P_OFF,
	 {V4("8.8.4.4", DST4)},
	 UNCL},
	{"antispoof off: unknown v6 source passes unclassified",
	 P_OFF,
	 {V4("2001:db8:dead::1", DST6)},
	 UNCL},
	{"antispoof off: a customer is still attributed", P_OFF, {V4(SRC_A4, DST4)}, PASS("c-a")},
	{"antispoof off: customer bound elsewhere is attributed",
	 P_OFF,
	 {V4("2001:db8:c::5", DST6)},
	 PASS("c-o")},
	{"antispoof off: malformed still dropped",
	 P_OFF,
	 {V4(SRC_A4, DST4), .cut = L4_4 + 4},
	 MALF},

	/* ---- VLANs ---- */
	{"802.1Q VLAN 100 v4 from its customer",
	 P_STRICT,
	 {Q(100), V4("192.0.2.5", DST4)},
	 PASS("c-v")},
	{"802.1Q VLAN 100 with PCP bits set",
	 P_STRICT,
	 {Q(0xa000 | 100), V4("192.0.2.5", DST4)},
	 PASS("c-v")},
	{"802.1Q VLAN 100 v6 from its customer",
	 P_STRICT,
	 {Q(100), V4("2001:db8:100::5", DST6)},
	 PASS("c-v")},
	{"VLAN-bound customer untagged: spoof",
	 P_STRICT,
	 {V4("192.0.2.5", DST4)},
	 DROP(SPOOF, NULL)},
	{"VLAN-bound customer on the wrong VLAN: spoof",
	 P_STRICT,
	 {Q(101), V4("192.0.2.5", DST4)},
	 DROP(SPOOF, NULL)},
	{"VLAN-bound v6 customer on the wrong VLAN: spoof",
	 P_STRICT,
	 {Q(101), V4("2001:db8:100::5", DST6)},
	 DROP(SPOOF, NULL)},
	{"tagged v4 spoof charged to the VLAN's customer",
	 P_STRICT,
	 {Q(100), V4("8.8.4.4", DST4)},
	 DROP(SPOOF, "c-v")},
	{"tagged v6 spoof charged to the VLAN's customer",
	 P_STRICT,
	 {Q(100), V4("2001:db8:dead::1", DST6)},
	 DROP(SPOOF, "c-v")},
	{"untagged customer tagged with VLAN 100: spoof, charged to VLAN 100's customer",
	 P_STRICT,
	 {Q(100), V4(SRC_A4, DST4)},
	 DROP(SPOOF, "c-v")},
	{"tagged ARP", P_STRICT, {Q(100), .arp = true, V4("192.0.2.5", "192.0.2.1")}, UNCL},
	{"QinQ 100.200 v4 from its customer",
	 P_STRICT,
	 {QINQ(100, 200), V4("192.0.2.70", DST4)},
	 PASS("c-q")},
	{"QinQ 100.200 v6 from its customer",
	 P_STRICT,
	 {QINQ(100, 200), V4("2001:db8:200::1", DST6)},
	 PASS("c-q")},
	{"QinQ 100.200 as two 802.1Q tags",
	 P_STRICT,
	 {.tpid = {TPID_Q, TPID_Q}, .tci = {100, 200}, V4("192.0.2.70", DST4)},
	 PASS("c-q")},
	{"QinQ customer with the outer tag only: spoof, charged to VLAN 100",
	 P_STRICT,
	 {Q(100), V4("192.0.2.70", DST4)},
	 DROP(SPOOF, "c-v")},
	{"QinQ customer with the wrong inner tag: spoof",
	 P_STRICT,
	 {QINQ(100, 201), V4("192.0.2.70", DST4)},
	 DROP(SPOOF, NULL)},
	{"QinQ customer with the wrong outer tag: spoof",
	 P_STRICT,
	 {QINQ(101, 200), V4("192.0.2.70", DST4)},
	 DROP(SPOOF, NULL)},
	{"QinQ customer untagged: spoof", P_STRICT, {V4("192.0.2.70", DST4)}, DROP(SPOOF, NULL)},
	{"QinQ v4 spoof charged to the 100.200 customer",
	 P_STRICT,
	 {QINQ(100, 200), V4("8.8.4.4", DST4)},
	 DROP(SPOOF, "c-q")},
	{"QinQ v6 spoof charged to the 100.200 customer",
	 P_STRICT,
	 {QINQ(100, 200), V4("2001:db8:dead::1", DST6)},
	 DROP(SPOOF, "c-q")},
	{"QinQ: VLAN-100 customer under 100.200: spoof (100 is one tag), charged to 100.200's",
	 P_STRICT,
	 {QINQ(100, 200), V4("192.0.2.5", DST4)},
	 DROP(SPOOF, "c-q")},
	{"three tags: malformed, charged to the 100.200 customer",
	 P_STRICT,
	 {.tpid = {TPID_AD, TPID_Q, TPID_Q}, .tci = {100, 200, 300}, V4("192.0.2.70", DST4)},
	 DROP(MALFORMED, "c-q")},
	{"three 802.1Q tags: malformed",
	 P_STRICT,
	 {.tpid = {TPID_Q, TPID_Q, TPID_Q}, .tci = {5, 6, 7}, V4(SRC_A4, DST4)},
	 MALF},

	/* ---- bogon sources ---- */
	{"bogon 0.0.0.0 UDP 68 -> 53 (not DHCP)",
	 P_STRICT,
	 {V4("0.0.0.0", "255.255.255.255"), .proto = IPPROTO_UDP, .sport = 68, .dport = 53},
	 DROP(BOGON, NULL)},
	{"bogon 0.0.0.0 UDP 67 -> 68 (server port)",
	 P_STRICT,
	 {V4("0.0.0.0", "255.255.255.255"), .proto = IPPROTO_UDP, .sport = 67, .dport = 68},
	 DROP(BOGON, NULL)},
	{"bogon 0.0.0.0 TCP 68 -> 67",
	 P_STRICT,
	 {V4("0.0.0.0", "192.0.2.1"), .sport = 68, .dport = 67},
	 DROP(BOGON, NULL)},
	{"bogon 0.1.2.3", P_STRICT, {V4("0.1.2.3", DST4)}, DROP(BOGON, NULL)},
	{"bogon 127.0.0.1", P_STRICT, {V4("127.0.0.1", DST4)}, DROP(BOGON, NULL)},
	{"bogon 127.255.255.254", P_STRICT, {V4("127.255.255.254", DST4)}, DROP(BOGON, NULL)},
	{"bogon 224.0.0.5", P_STRICT, {V4("224.0.0.5", DST4)}, DROP(BOGON, NULL)},
	{"bogon 239.255.255.250",
	 P_STRICT,
	 {V4("239.255.255.250", DST4), .proto = IPPROTO_UDP},
	 DROP(BOGON, NULL)},
	{"bogon 240.0.0.1", P_STRICT, {V4("240.0.0.1", DST4)}, DROP(BOGON, NULL)},
	{"bogon 255.255.255.255",
	 P_STRICT,
	 {V4("255.255.255.255", DST4), .proto = IPPROTO_UDP},
	 DROP(BOGON, NULL)},
	{"bogon :: (UDP)", P_STRICT, {V4("::", DST6), .proto = IPPROTO_UDP}, DROP(BOGON, NULL)},
	{"bogon ::1", P_STRICT, {V4("::1", DST6)}, DROP(BOGON, NULL)},
	{"bogon ff02::1", P_STRICT, {V4("ff02::1", DST6)}, DROP(BOGON, NULL)},
	{"bogon ff0e::1", P_STRICT, {V4("ff0e::1", DST6), .proto = IPPROTO_UDP}, DROP(BOGON, NULL)},
	{"bogon ::ffff:192.0.2.1 (IPv4-mapped)",
	 P_STRICT,
	 {V4("::ffff:192.0.2.1", DST6)},
	 DROP(BOGON, NULL)},
	{"bogon ::ffff:198.51.100.5 (a customer's address, mapped)",
	 P_STRICT,
	 {V4("::ffff:198.51.100.5", DST6)},
	 DROP(BOGON, NULL)},
	{"tagged bogon charged to the VLAN's customer",
	 P_STRICT,
	 {Q(100), V4("127.0.0.1", DST4)},
	 DROP(BOGON, "c-v")},
	{"bogon with antispoof off is still a bogon",
	 P_OFF,
	 {V4("127.0.0.1", DST4)},
	 DROP(BOGON, NULL)},

	/* ---- exceptions: pass without an assigned source, kept to their narrow shape ---- */
	{"ARP request from the port's customer",
	 P_STRICT,
	 {.arp = true, V4(SRC_A4, "192.0.2.1")},
	 UNCL},
	{"ARP padded to 60 bytes",
	 P_STRICT,
	 {.arp = true, V4("0.0.0.0", "192.0.2.1"), .pad = 60},
	 UNCL},
	{"DHCPv4 DISCOVER 0.0.0.0:68 -> 255.255.255.255:67",
	 P_STRICT,
	 {V4("0.0.0.0", "255.255.255.255"), .proto = IPPROTO_UDP, .sport = 68, .dport = 67,
	  .payload = 240},
	 UNCL},
	{"DHCPv4 from 0.0.0.0 in a first fragment is a bogon",
	 P_STRICT,
	 {V4("0.0.0.0", "255.255.255.255"), .proto = IPPROTO_UDP, .sport = 68, .dport = 67,
	  .frag = IPV4_MF, .payload = 64},
	 DROP(BOGON, NULL)},
	{"DHCPv4 from 0.0.0.0 with options in the IP header",
	 P_STRICT,
	 {V4("0.0.0.0", "255.255.255.255"), .ihl = 6, .proto = IPPROTO_UDP, .sport = 68,
	  .dport = 67, .payload = 240},
	 UNCL},
	{"DHCPv4 renewal from a customer address",
	 P_STRICT,
	 {V4(SRC_A4, "192.0.2.1"), .proto = IPPROTO_UDP, .sport = 68, .dport = 67},
	 PASS("c-a")},
	{"DHCPv4 from an unknown address is spoof",
	 P_STRICT,
	 {V4("8.8.4.4", "192.0.2.1"), .proto = IPPROTO_UDP, .sport = 68, .dport = 67},
	 DROP(SPOOF, NULL)},
	{"DHCPv6 fe80::1:546 -> ff02::1:2:547",
	 P_STRICT,
	 {V4("fe80::1", "ff02::1:2"), .proto = IPPROTO_UDP, .sport = 546, .dport = 547,
	  .payload = 40},
	 UNCL},
	{"DHCPv6 from link-local to another port is spoof",
	 P_STRICT,
	 {V4("fe80::1", "ff02::1:2"), .proto = IPPROTO_UDP, .sport = 546, .dport = 53},
	 DROP(SPOOF, NULL)},
	{"DHCPv6 from a global unknown address is spoof",
	 P_STRICT,
	 {V4("2001:db8:dead::1", "ff02::1:2"), .proto = IPPROTO_UDP, .sport = 546, .dport = 547},
	 DROP(SPOOF, NULL)},
	{"DHCPv6 from link-local in a first fragment is spoof",
	 P_STRICT,
	 {V4("fe80::1", "ff02::1:2"), .ext = {X_FRAG(0, 1)}, .proto = IPPROTO_UDP, .sport = 546,
	  .dport = 547, .payload = 40},
	 DROP(SPOOF, NULL)},
	{"RS from fe80::, hop limit 255",
	 P_STRICT,
	 {V4("fe80::1", "ff02::2"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_RS, .ttl = 255},
	 UNCL},
	{"RS from ::, hop limit 255",
	 P_STRICT,
	 {V4("::", "ff02::2"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_RS, .ttl = 255},
	 UNCL},
	{"NS from fe80::, hop limit 255",
	 P_STRICT,
	 {V4("fe80::1", "ff02::1:ff00:1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NS, .ttl = 255,
	  .payload = 16},
	 UNCL},
	{"NS from :: (DAD), hop limit 255",
	 P_STRICT,
	 {V4("::", "ff02::1:ff00:1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NS, .ttl = 255,
	  .payload = 16},
	 UNCL},
	{"NA from fe80::, hop limit 255",
	 P_STRICT,
	 {V4("fe80::1", "ff02::1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NA, .ttl = 255,
	  .payload = 16, .target = "fe80::1"},
	 UNCL},
	{"MLDv2 report from fe80:: to ff02::16, hop limit 1, after Hop-by-Hop",
	 P_STRICT,
	 {V4("fe80::1", "ff02::16"), .ext = {X_HBH}, .proto = IPPROTO_ICMPV6,
	  .icmp_type = MLD2_REPORT, .ttl = 1, .payload = 20},
	 UNCL},
	{"MLDv2 report from :: (during DAD), hop limit 1",
	 P_STRICT,
	 {V4("::", "ff02::16"), .ext = {X_HBH}, .proto = IPPROTO_ICMPV6, .icmp_type = MLD2_REPORT,
	  .ttl = 1, .payload = 20},
	 UNCL},
	{"MLDv1 report from fe80::, hop limit 1",
	 P_STRICT,
	 {V4("fe80::1", "ff02::1:ff00:1"), .ext = {X_HBH}, .proto = IPPROTO_ICMPV6,
	  .icmp_type = MLD1_REPORT, .ttl = 1, .payload = 16},
	 UNCL},
	{"MLDv1 done from fe80::, hop limit 1",
	 P_STRICT,
	 {V4("fe80::1", "ff02::2"), .ext = {X_HBH}, .proto = IPPROTO_ICMPV6, .icmp_type = MLD1_DONE,
	  .ttl = 1, .payload = 16},
	 UNCL},
	{"MLDv1 report from ::: not excepted, bogon",
	 P_STRICT,
	 {V4("::", "ff02::1:ff00:1"), .ext = {X_HBH}, .proto = IPPROTO_ICMPV6,
	  .icmp_type = MLD1_REPORT, .ttl = 1, .payload = 16},
	 DROP(BOGON, NULL)},
	{"MLDv2 report with hop limit 64: spoof",
	 P_STRICT,
	 {V4("fe80::1", "ff02::16"), .ext = {X_HBH}, .proto = IPPROTO_ICMPV6,
	  .icmp_type = MLD2_REPORT, .ttl = 64, .payload = 20},
	 DROP(SPOOF, NULL)},
	{"MLDv2 report to a global address: spoof",
	 P_STRICT,
	 {V4("fe80::1", "2001:db8:ff::1"), .ext = {X_HBH}, .proto = IPPROTO_ICMPV6,
	  .icmp_type = MLD2_REPORT, .ttl = 1, .payload = 20},
	 DROP(SPOOF, NULL)},
	{"MLD query from fe80:: (customers do not query): spoof",
	 P_STRICT,
	 {V4("fe80::1", "ff02::1"), .ext = {X_HBH}, .proto = IPPROTO_ICMPV6, .icmp_type = MLD_QUERY,
	  .ttl = 1, .payload = 20},
	 DROP(SPOOF, NULL)},
	{"RS from fe80::, hop limit 64: spoof",
	 P_STRICT,
	 {V4("fe80::1", "ff02::2"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_RS, .ttl = 64},
	 DROP(SPOOF, NULL)},
	{"NS from fe80::, hop limit 64: spoof",
	 P_STRICT,
	 {V4("fe80::1", "ff02::1:ff00:1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NS, .ttl = 64,
	  .payload = 16},
	 DROP(SPOOF, NULL)},
	{"NA from fe80::, hop limit 64: spoof",
	 P_STRICT,
	 {V4("fe80::1", "ff02::1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NA, .ttl = 64,
	  .payload = 16},
	 DROP(SPOOF, NULL)},
	{"RS from ::, hop limit 64: bogon",
	 P_STRICT,
	 {V4("::", "ff02::2"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_RS, .ttl = 64},
	 DROP(BOGON, NULL)},
	{"NS from ::, hop limit 64: bogon",
	 P_STRICT,
	 {V4("::", "ff02::1:ff00:1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NS, .ttl = 64,
	  .payload = 16},
	 DROP(BOGON, NULL)},
	{"NA from ::, hop limit 255: not excepted, bogon",
	 P_STRICT,
	 {V4("::", "ff02::1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NA, .ttl = 255,
	  .payload = 16},
	 DROP(BOGON, NULL)},
	{"RA from fe80::, hop limit 255: not excepted",
	 P_STRICT,
	 {V4("fe80::1", "ff02::1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_RA, .ttl = 255,
	  .payload = 8},
	 DROP(SPOOF, NULL)},
	{"echo request from fe80::, hop limit 255: not excepted",
	 P_STRICT,
	 {V4("fe80::1", "ff02::1"), .proto = IPPROTO_ICMPV6, .icmp_type = ICMP6_ECHO_REQ,
	  .ttl = 255},
	 DROP(SPOOF, NULL)},
	{"NS from fe80:: in a first fragment: not excepted",
	 P_STRICT,
	 {V4("fe80::1", "ff02::1:ff00:1"), .ext = {X_FRAG(0, 1)}, .proto = IPPROTO_ICMPV6,
	  .icmp_type = ND_NS, .ttl = 255, .payload = 16},
	 DROP(SPOOF, NULL)},
	{"RS from a global unknown address, hop limit 255: spoof",
	 P_STRICT,
	 {V4("2001:db8:dead::1", "ff02::2"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_RS,
	  .ttl = 255},
	 DROP(SPOOF, NULL)},

	/* ---- IPv6 extension headers ---- */
	{"v6 Hop-by-Hop + TCP", P_STRICT, {V4(SRC_A6, DST6), .ext = {X_HBH}}, PASS("c-a")},
	{"v6 Hop-by-Hop (16 bytes) + UDP",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_HBH16}, .proto = IPPROTO_UDP},
	 PASS("c-a")},
	{"v6 Routing type 2, segments left 1 + UDP",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_RT(2, 1)}, .proto = IPPROTO_UDP},
	 PASS("c-a")},
	{"v6 Routing type 0, segments left 0 (ignored)",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_RT(0, 0)}},
	 PASS("c-a")},
	{"v6 Routing type 0, segments left 1: malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_RT(0, 1)}},
	 MALF},
	{"v6 Routing type 0 behind Hop-by-Hop: malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_HBH, X_RT(0, 3)}},
	 MALF},
	{"v6 Fragment, first (offset 0, M) + UDP",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_FRAG(0, 1)}, .proto = IPPROTO_UDP, .payload = 64},
	 PASS("c-a")},
	{"v6 Fragment, first (offset 0, M) + TCP",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_FRAG(0, 1)}, .payload = 64},
	 PASS("c-a")},
	{"v6 Fragment, first, TCP header cut short: malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_FRAG(0, 1)}, .cut = L4_6 + 8 + 8, .fixlen = true},
	 MALF},
	{"v6 Fragment, non-first (offset 185, M)",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_FRAG(185, 1)}, .proto = IPPROTO_UDP, .payload = 64},
	 PASS("c-a")},
	{"v6 Fragment, last (offset 185, no M)",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_FRAG(185, 0)}, .payload = 16},
	 PASS("c-a")},
	{"v6 Fragment, non-first, spoofed source",
	 P_STRICT,
	 {V4("2001:db8:dead::1", DST6), .ext = {X_FRAG(185, 1)}, .payload = 64},
	 DROP(SPOOF, NULL)},
	{"v6 atomic fragment (offset 0, no M) + TCP",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_FRAG(0, 0)}},
	 PASS("c-a")},
	{"v6 Destination Options + TCP", P_STRICT, {V4(SRC_A6, DST6), .ext = {X_DST}}, PASS("c-a")},
	{"v6 AH + TCP", P_STRICT, {V4(SRC_A6, DST6), .ext = {X_AH}}, PASS("c-a")},
	{"v6 ESP (no L4 header to read)",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .proto = IPPROTO_ESP, .payload = 40},
	 PASS("c-a")},
	{"v6 No Next Header", P_STRICT, {V4(SRC_A6, DST6), .proto = NH_NONE}, PASS("c-a")},
	{"v6 HbH, Dst, Rt2, Frag, AH, Dst + TCP",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_HBH, X_DST, X_RT(2, 1), X_FRAG(0, 1), X_AH, X_DST}},
	 PASS("c-a")},
	{"v6 chain of 8 extension headers",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_HBH, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST}},
	 PASS("c-a")},
	{"v6 chain of 9 extension headers: malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_HBH, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST}},
	 MALF},
	{"v6 chain of 10 Destination Options: malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6),
	  .ext = {X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST}},
	 MALF},
	{"v6 Hop-by-Hop not first: malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_DST, X_HBH}},
	 MALF},
	{"v6 Hop-by-Hop twice: malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_HBH, X_HBH}},
	 MALF},
	{"v6 Mobility header (135): malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_OTHER(NH_MOBILITY)}},
	 MALF},
	{"v6 HIP (139): malformed", P_STRICT, {V4(SRC_A6, DST6), .ext = {X_OTHER(NH_HIP)}}, MALF},
	{"v6 Shim6 (140): malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_OTHER(NH_SHIM6)}},
	 MALF},
	{"v6 experimental 253: malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_OTHER(NH_EXP1)}},
	 MALF},
	{"v6 experimental 254: malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_OTHER(NH_EXP2)}},
	 MALF},
	{"v6 Mobility behind Destination Options: malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_DST, X_OTHER(NH_MOBILITY)}},
	 MALF},
	{"v6 Mobility behind a first Fragment: malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_FRAG(0, 1), X_OTHER(NH_MOBILITY)}},
	 MALF},
	{"v6 spoof behind HbH, Dst, Frag",
	 P_STRICT,
	 {V4("2001:db8:dead::1", DST6), .ext = {X_HBH, X_DST, X_FRAG(0, 1)}},
	 DROP(SPOOF, NULL)},
	{"v6 payload length 0 (jumbogram without the option): malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .iplen = LEN0},
	 MALF},

	/* ---- IPv4 header ---- */
	{"v4 IHL 6 (options) + TCP", P_STRICT, {V4(SRC_A4, DST4), .ihl = 6}, PASS("c-a")},
	{"v4 IHL 7 + TCP", P_STRICT, {V4(SRC_A4, DST4), .ihl = 7}, PASS("c-a")},
	{"v4 IHL 8 + TCP", P_STRICT, {V4(SRC_A4, DST4), .ihl = 8}, PASS("c-a")},
	{"v4 IHL 9 + TCP", P_STRICT, {V4(SRC_A4, DST4), .ihl = 9}, PASS("c-a")},
	{"v4 IHL 10 + UDP",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .ihl = 10, .proto = IPPROTO_UDP},
	 PASS("c-a")},
	{"v4 IHL 11 + TCP", P_STRICT, {V4(SRC_A4, DST4), .ihl = 11}, PASS("c-a")},
	{"v4 IHL 12 + TCP", P_STRICT, {V4(SRC_A4, DST4), .ihl = 12}, PASS("c-a")},
	{"v4 IHL 13 + TCP", P_STRICT, {V4(SRC_A4, DST4), .ihl = 13}, PASS("c-a")},
	{"v4 IHL 14 + ICMP",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .ihl = 14, .proto = IPPROTO_ICMP, .icmp_type = 8},
	 PASS("c-a")},
	{"v4 IHL 15 + TCP", P_STRICT, {V4(SRC_A4, DST4), .ihl = 15}, PASS("c-a")},
	{"v4 IHL 15 spoofed", P_STRICT, {V4("8.8.4.4", DST4), .ihl = 15}, DROP(SPOOF, NULL)},
	{"v4 IHL 4: malformed", P_STRICT, {V4(SRC_A4, DST4), .ihl = 4}, MALF},
	{"v4 IHL 0: malformed", P_STRICT, {V4(SRC_A4, DST4), .ihl = IHL0}, MALF},
	{"v4 IHL 1: malformed", P_STRICT, {V4(SRC_A4, DST4), .ihl = 1}, MALF},
	{"v4 version 6 in an IPv4 frame: malformed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .ipver = 6},
	 MALF},
	{"v6 version 4 in an IPv6 frame: malformed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ipver = 4},
	 MALF},
	{"v4 first fragment with a full TCP header",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .frag = IPV4_MF, .payload = 100},
	 PASS("c-a")},
	{"v4 first fragment with a full UDP header",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .frag = IPV4_MF, .proto = IPPROTO_UDP, .payload = 100},
	 PASS("c-a")},
	{"v4 first fragment with 8 bytes of TCP (tiny fragment): malformed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .frag = IPV4_MF, .cut = L4_4 + 8, .fixlen = true},
	 MALF},
	{"v4 non-first fragment (offset 100, MF)",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .frag = IPV4_MF | 100, .proto = IPPROTO_UDP, .payload = 64},
	 PASS("c-a")},
	{"v4 last fragment (offset 100)",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .frag = 100, .payload = 8},
	 PASS("c-a")},
	{"v4 non-first fragment, nothing after the IP header",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .frag = 100, .cut = L4_4, .fixlen = true},
	 PASS("c-a")},
	{"v4 non-first fragment, spoofed",
	 P_STRICT,
	 {V4("8.8.4.4", DST4), .frag = IPV4_MF | 100, .payload = 64},
	 DROP(SPOOF, NULL)},
	{"v4 non-first fragment, bogon",
	 P_STRICT,
	 {V4("127.0.0.1", DST4), .frag = 100, .payload = 64},
	 DROP(BOGON, NULL)},
	{"v4 tot_len one more than the frame: malformed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .lendelta = 1},
	 MALF},
	{"v4 tot_len far beyond the frame: malformed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .iplen = 1500},
	 MALF},
	{"v4 tot_len below the header length: malformed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .iplen = 19},
	 MALF},
	{"v4 tot_len below IHL*4 with options: malformed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .ihl = 8, .iplen = 28},
	 MALF},
	{"v4 tot_len 0: malformed", P_STRICT, {V4(SRC_A4, DST4), .iplen = LEN0}, MALF},
	{"v4 UDP header hidden in Ethernet padding: malformed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .proto = IPPROTO_UDP, .iplen = 20},
	 MALF},
	{"v4 TCP doff 4: malformed", P_STRICT, {V4(SRC_A4, DST4), .doff = 4}, MALF},
	{"v4 TCP doff 15 beyond the packet: malformed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .doff = 15, .cut = L4_4 + 20, .fixlen = true},
	 MALF},
	{"v4 TCP doff 8 with options", P_STRICT, {V4(SRC_A4, DST4), .doff = 8}, PASS("c-a")},
	{"v4 GRE (not looked into)",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .proto = IPPROTO_GRE, .payload = 24},
	 PASS("c-a")},
	{"v4 ESP", P_STRICT, {V4(SRC_A4, DST4), .proto = IPPROTO_ESP, .payload = 24}, PASS("c-a")},
	{"v4 GRE spoofed",
	 P_STRICT,
	 {V4("8.8.4.4", DST4), .proto = IPPROTO_GRE, .payload = 24},
	 DROP(SPOOF, NULL)},
	{"LLDP (unknown ethertype): malformed",
	 P_STRICT,
	 {.ethertype = 0x88cc, V4(SRC_A4, DST4)},
	 MALF},
	{"MPLS unicast: malformed", P_STRICT, {.ethertype = 0x8847, V4(SRC_A4, DST4)}, MALF},
	{"PPPoE session: malformed", P_STRICT, {.ethertype = 0x8864, V4(SRC_A4, DST4)}, MALF},
	{"tagged unknown ethertype: malformed",
	 P_STRICT,
	 {Q(100), .ethertype = 0x88cc, V4(SRC_A4, DST4)},
	 DROP(MALFORMED, "c-v")},

	/* ---- truncated at every header boundary ---- */
	{"Ethernet cut at 0 bytes",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .cut = CUT0},
	 MALF,
	 .needs_meta = true},
	{"Ethernet cut at 6 bytes",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .cut = 6},
	 MALF,
	 .needs_meta = true},
	{"Ethernet cut at 13 bytes",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .cut = 13},
	 MALF,
	 .needs_meta = true},
	{"Ethernet only (IPv4 ethertype, no IP header)",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .cut = 14},
	 MALF},
	{"Ethernet only (IPv6 ethertype, no IP header)",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .cut = 14},
	 MALF},
	{"VLAN TPID without its tag", P_STRICT, {Q(100), V4("192.0.2.5", DST4), .cut = 14}, MALF},
	{"VLAN tag cut in half", P_STRICT, {Q(100), V4("192.0.2.5", DST4), .cut = 16}, MALF},
	{"VLAN tag complete, no IP header",
	 P_STRICT,
	 {Q(100), V4("192.0.2.5", DST4), .cut = 18},
	 DROP(MALFORMED, "c-v")},
	{"QinQ inner tag cut in half",
	 P_STRICT,
	 {QINQ(100, 200), V4("192.0.2.70", DST4), .cut = 20},
	 DROP(MALFORMED, "c-v")},
	{"QinQ complete, no IP header",
	 P_STRICT,
	 {QINQ(100, 200), V4("192.0.2.70", DST4), .cut = 22},
	 DROP(MALFORMED, "c-q")},
	{"IPv4 header cut at 1 byte", P_STRICT, {V4(SRC_A4, DST4), .cut = 15}, MALF},
	{"IPv4 header cut at 19 bytes", P_STRICT, {V4(SRC_A4, DST4), .cut = 33}, MALF},
	{"IPv4 options cut (IHL 8, 24 of 32 bytes)",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .ihl = 8, .cut = 14 + 24},
	 MALF},
	{"IPv4 options cut, tot_len fixed to the frame",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .ihl = 8, .cut = 14 + 24, .fixlen = true},
	 MALF},
	{"IPv4 complete, TCP header missing", P_STRICT, {V4(SRC_A4, DST4), .cut = L4_4}, MALF},
	{"IPv4 complete, TCP header missing, tot_len fixed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .cut = L4_4, .fixlen = true},
	 MALF},
	{"TCP header cut at 10 bytes", P_STRICT, {V4(SRC_A4, DST4), .cut = L4_4 + 10}, MALF},
	{"TCP header cut at 10 bytes, tot_len fixed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .cut = L4_4 + 10, .fixlen = true},
	 MALF},
	{"TCP header cut at 19 bytes, tot_len fixed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .cut = L4_4 + 19, .fixlen = true},
	 MALF},
	{"TCP options cut (doff 8, 24 of 32 bytes), tot_len fixed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .doff = 8, .cut = L4_4 + 24, .fixlen = true},
	 MALF},
	{"TCP behind IPv4 options cut, tot_len fixed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .ihl = 15, .cut = 14 + 60 + 12, .fixlen = true},
	 MALF},
	{"UDP header cut at 4 bytes",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .proto = IPPROTO_UDP, .cut = L4_4 + 4},
	 MALF},
	{"UDP header cut at 7 bytes, tot_len fixed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .proto = IPPROTO_UDP, .cut = L4_4 + 7, .fixlen = true},
	 MALF},
	{"ICMP header cut at 4 bytes",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .proto = IPPROTO_ICMP, .icmp_type = 8, .cut = L4_4 + 4},
	 MALF},
	{"ICMP header cut at 7 bytes, tot_len fixed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .proto = IPPROTO_ICMP, .icmp_type = 8, .cut = L4_4 + 7, .fixlen = true},
	 MALF},
	{"IPv6 header cut at 1 byte", P_STRICT, {V4(SRC_A6, DST6), .cut = 15}, MALF},
	{"IPv6 header cut at 39 bytes", P_STRICT, {V4(SRC_A6, DST6), .cut = 14 + 39}, MALF},
	{"IPv6 complete, TCP missing", P_STRICT, {V4(SRC_A6, DST6), .cut = L4_6}, MALF},
	{"IPv6 complete, TCP missing, payload_len fixed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .cut = L4_6, .fixlen = true},
	 MALF},
	{"IPv6 TCP cut at 10 bytes", P_STRICT, {V4(SRC_A6, DST6), .cut = L4_6 + 10}, MALF},
	{"IPv6 TCP cut at 10 bytes, payload_len fixed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .cut = L4_6 + 10, .fixlen = true},
	 MALF},
	{"IPv6 UDP cut at 4 bytes, payload_len fixed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .proto = IPPROTO_UDP, .cut = L4_6 + 4, .fixlen = true},
	 MALF},
	{"IPv6 ICMPv6 cut at 4 bytes",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .proto = IPPROTO_ICMPV6, .icmp_type = ICMP6_ECHO_REQ, .cut = L4_6 + 4},
	 MALF},
	{"IPv6 ICMPv6 cut at 4 bytes, payload_len fixed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .proto = IPPROTO_ICMPV6, .icmp_type = ICMP6_ECHO_REQ, .cut = L4_6 + 4,
	  .fixlen = true},
	 MALF},
	{"IPv6 payload_len one more than the frame",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .lendelta = 1},
	 MALF},
	{"Hop-by-Hop cut at 4 bytes",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_HBH}, .cut = L4_6 + 4},
	 MALF},
	{"Hop-by-Hop cut at 4 bytes, payload_len fixed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_HBH}, .cut = L4_6 + 4, .fixlen = true},
	 MALF},
	{"Hop-by-Hop (16) cut at 12 bytes",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_HBH16}, .cut = L4_6 + 12},
	 MALF},
	{"Hop-by-Hop (16) cut at 12 bytes, payload_len fixed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_HBH16}, .cut = L4_6 + 12, .fixlen = true},
	 MALF},
	{"Hop-by-Hop complete, TCP missing, payload_len fixed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_HBH}, .cut = L4_6 + 8, .fixlen = true},
	 MALF},
	{"Destination Options cut at 4 bytes",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_DST}, .cut = L4_6 + 4},
	 MALF},
	{"Destination Options cut at 6, payload_len fixed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_DST}, .cut = L4_6 + 6, .fixlen = true},
	 MALF},
	{"Routing cut at 16 of 24 bytes",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_RT(2, 1)}, .cut = L4_6 + 16},
	 MALF},
	{"Routing cut at 16 of 24 bytes, payload_len fixed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_RT(2, 1)}, .cut = L4_6 + 16, .fixlen = true},
	 MALF},
	{"Fragment header cut at 6 bytes",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_FRAG(0, 1)}, .cut = L4_6 + 6},
	 MALF},
	{"Fragment header cut at 6 bytes, payload_len fixed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_FRAG(0, 1)}, .cut = L4_6 + 6, .fixlen = true},
	 MALF},
	{"non-first Fragment header cut at 4 bytes, payload_len fixed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_FRAG(185, 1)}, .cut = L4_6 + 4, .fixlen = true},
	 MALF},
	{"non-first Fragment header beyond payload_len",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_FRAG(185, 1)}, .iplen = 4},
	 MALF},
	{"AH cut at 12 of 24 bytes",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_AH}, .cut = L4_6 + 12},
	 MALF},
	{"AH cut at 12 of 24 bytes, payload_len fixed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_AH}, .cut = L4_6 + 12, .fixlen = true},
	 MALF},
	{"second header of a chain cut, payload_len fixed",
	 P_STRICT,
	 {V4(SRC_A6, DST6), .ext = {X_HBH, X_DST}, .cut = L4_6 + 8 + 5, .fixlen = true},
	 MALF},

	/* ---- a suspended customer reaches, and is reached from, the walled garden only ---- */
	{"suspended: v4 upload to the internet dropped",
	 P_STRICT,
	 {V4("198.18.6.9", DST4)},
	 DROP(SUSPENDED, "c-z")},
	{"suspended: v4 upload to the walled resolver passes",
	 P_STRICT,
	 {V4("198.18.6.9", WG_DNS4), .proto = IPPROTO_UDP, .dport = 53, .payload = 30},
	 PASS("c-z")},
	{"suspended: v4 upload into the walled portal /24 passes",
	 P_STRICT,
	 {V4("198.18.6.9", "198.18.200.77")},
	 PASS("c-z")},
	{"suspended: v4 upload next to the portal /24 dropped",
	 P_STRICT,
	 {V4("198.18.6.9", "198.18.201.1")},
	 DROP(SUSPENDED, "c-z")},
	{"suspended: v6 upload to the internet dropped",
	 P_STRICT,
	 {V4("2001:db8:306::9", DST6)},
	 DROP(SUSPENDED, "c-z")},
	{"suspended: v6 upload to the walled resolver passes",
	 P_STRICT,
	 {V4("2001:db8:306::9", WG_DNS6)},
	 PASS("c-z")},
	{"suspended: v6 upload into the walled portal /48 passes",
	 P_STRICT,
	 {V4("2001:db8:306::9", "2001:db8:beef:1::1")},
	 PASS("c-z")},
	{"suspended: its source on an interface it is not bound to is spoof (of the port's owner)",
	 P_STRICT_B,
	 {V4("198.18.6.9", DST4)},
	 DROP(SPOOF, "c-o")},
	{"suspended: download from the internet dropped",
	 P_UP,
	 {V4(DST4, "198.18.6.9")},
	 DROP(SUSPENDED, "c-z")},
	{"suspended: download from the walled resolver passes",
	 P_UP,
	 {V4(WG_DNS4, "198.18.6.9"), .proto = IPPROTO_UDP, .sport = 53, .payload = 30},
	 PASS("c-z")},
	{"suspended: v6 download from the internet dropped",
	 P_UP,
	 {V4(DST6, "2001:db8:306::9")},
	 DROP(SUSPENDED, "c-z")},
	{"suspended: v6 download from the walled portal passes",
	 P_UP,
	 {V4("2001:db8:beef::80", "2001:db8:306::9")},
	 PASS("c-z")},
	{"suspended: DHCPv4 still passes (exception, unclassified)",
	 P_STRICT,
	 {V4("0.0.0.0", "255.255.255.255"), .proto = IPPROTO_UDP, .sport = 68, .dport = 67,
	  .payload = 240},
	 UNCL},
	{"suspended: the customer next door is not affected",
	 P_STRICT,
	 {V4("198.18.7.9", DST4)},
	 PASS("c-t")},
	{"monitor: suspended upload passed, noted",
	 P_MON,
	 {V4("198.18.6.9", DST4)},
	 NOTED_C(SUSPENDED, "c-z")},

	/* ---- monitor mode: every would-drop is counted as noted and passed ---- */
	{"monitor: valid traffic counted as usual", P_MON, {V4(SRC_A4, DST4)}, PASS("c-a")},
	{"monitor: v4 spoof passed, noted", P_MON, {V4("8.8.4.4", DST4)}, NOTED(SPOOF)},
	{"monitor: v6 spoof passed, noted", P_MON, {V4("2001:db8:dead::1", DST6)}, NOTED(SPOOF)},
	{"monitor: tagged spoof (port has an owner) passed, noted",
	 P_MON,
	 {Q(100), V4("8.8.4.4", DST4)},
	 NOTED_C(SPOOF, "c-v")},
	{"monitor: wrong interface passed, noted", P_MON, {V4("203.0.113.5", DST4)}, NOTED(SPOOF)},
	{"monitor: bogon passed, noted", P_MON, {V4("127.0.0.1", DST4)}, NOTED(BOGON)},
	{"monitor: malformed passed, noted",
	 P_MON,
	 {V4(SRC_A4, DST4), .cut = L4_4 + 10},
	 NOTED(MALFORMED)},
	{"monitor: exception still unclassified",
	 P_MON,
	 {.arp = true, V4(SRC_A4, "192.0.2.1")},
	 UNCL},
	{"upstream monitor: spoof passed, noted",
	 P_UP_MON,
	 {V4("198.51.100.9", SRC_A4)},
	 NOTED_C(SPOOF, "c-a")},
	{"upstream monitor: bogon passed, noted",
	 P_UP_MON,
	 {V4("224.0.0.1", SRC_A4)},
	 NOTED_C(BOGON, "c-a")},

	/* ---- an interface Tollgate is not configured on ---- */
	{"unconfigured interface: spoof passes, nothing counted",
	 P_NOIF,
	 {V4("8.8.4.4", DST4)},
	 NOTHING},
	{"unconfigured interface: malformed passes, nothing counted",
	 P_NOIF,
	 {V4(SRC_A4, DST4), .cut = 20},
	 NOTHING},

	/* ---- h6: the bogon list's edges (TG_BOGON4_LIST, TG_BOGON6_LIST): just outside is
	 * an unknown source (spoof), not a bogon ---- */
	{"h6: 1.0.0.0 is no bogon", P_STRICT, {V4("1.0.0.0", DST4)}, DROP(SPOOF, NULL)},
	{"h6: 126.255.255.255 is no bogon",
	 P_STRICT,
	 {V4("126.255.255.255", DST4)},
	 DROP(SPOOF, NULL)},
	{"h6: 128.0.0.0 is no bogon", P_STRICT, {V4("128.0.0.0", DST4)}, DROP(SPOOF, NULL)},
	{"h6: 223.255.255.255 is no bogon",
	 P_STRICT,
	 {V4("223.255.255.255", DST4)},
	 DROP(SPOOF, NULL)},
	{"h6: 239.0.0.1 is a bogon", P_STRICT, {V4("239.0.0.1", DST4)}, DROP(BOGON, NULL)},
	{"h6: ::2 is no bogon", P_STRICT, {V4("::2", DST6)}, DROP(SPOOF, NULL)},
	{"h6: ::1:0:0:1 is no bogon", P_STRICT, {V4("::1:0:0:1", DST6)}, DROP(SPOOF, NULL)},
	{"h6: ::fffe:c000:201 is no bogon",
	 P_STRICT,
	 {V4("::fffe:c000:201", DST6)},
	 DROP(SPOOF, NULL)},
	{"h6: ::1:ffff:c000:201 is no bogon",
	 P_STRICT,
	 {V4("::1:ffff:c000:201", DST6)},
	 DROP(SPOOF, NULL)},
	{"h6: feff::1 is no bogon", P_STRICT, {V4("feff::1", DST6)}, DROP(SPOOF, NULL)},
	{"h6: ffff::1 is a bogon", P_STRICT, {V4("ffff::1", DST6)}, DROP(BOGON, NULL)},
	{"h6: ::ffff:ffff:ffff is a bogon",
	 P_STRICT,
	 {V4("::ffff:ffff:ffff", DST6)},
	 DROP(BOGON, NULL)},

	/* ---- h3: exceptions in strict: what they claim must be the port's ---- */
	{"h3: strict: ARP from the port's customer (VLAN 300, l-x) passes",
	 P_STRICT,
	 {Q(300), .arp = true, V4("198.18.23.5", "198.18.23.1")},
	 UNCL},
	{"h3: strict: ARP with another customer's sender address (c-v, VLAN 100) drops as "
	 "spoof, charged to the port's owner",
	 P_STRICT,
	 {Q(300), .arp = true, V4("192.0.2.5", "198.18.23.1")},
	 DROP(SPOOF, "l-x")},
	{"h3: strict: ARP with a sender address no customer has drops as spoof",
	 P_STRICT,
	 {Q(300), .arp = true, V4("203.0.113.99", "198.18.23.1")},
	 DROP(SPOOF, "l-x")},
	{"h3: strict: ARP from the customer's address on another port drops as spoof",
	 P_STRICT,
	 {Q(301), .arp = true, V4("198.18.23.5", "198.18.23.1")},
	 DROP(SPOOF, NULL)},
	{"h3: strict: ARP probe (sender 0.0.0.0) passes",
	 P_STRICT,
	 {Q(300), .arp = true, V4("0.0.0.0", "198.18.23.7")},
	 UNCL},
	{"h3: strict: ARP from IPv4 link-local 169.254/16 passes",
	 P_STRICT,
	 {Q(300), .arp = true, V4("169.254.7.7", "169.254.7.8")},
	 UNCL},
	{"h3: loose: ARP with another customer's sender address passes (strict only)",
	 P_LOOSE,
	 {Q(300), .arp = true, V4("192.0.2.5", "198.18.23.1")},
	 UNCL},
	{"h3: ARP cut inside its addresses is malformed",
	 P_STRICT,
	 {Q(300), .arp = true, V4("198.18.23.5", "198.18.23.1"), .cut = 18 + 20},
	 DROP(MALFORMED, "l-x")},
	{"h3: strict: NA whose target is the port's customer's passes",
	 P_STRICT,
	 {Q(300), V4("fe80::1", "ff02::1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NA, .ttl = 255,
	  .payload = 16, .target = "2001:db8:323::5"},
	 UNCL},
	{"h3: strict: NA whose target is another customer's drops as spoof",
	 P_STRICT,
	 {Q(300), V4("fe80::1", "ff02::1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NA, .ttl = 255,
	  .payload = 16, .target = "2001:db8:100::5"},
	 DROP(SPOOF, "l-x")},
	{"h3: strict: NA whose target no customer has drops as spoof",
	 P_STRICT,
	 {Q(300), V4("fe80::1", "ff02::1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NA, .ttl = 255,
	  .payload = 16, .target = "2001:db8:dead::1"},
	 DROP(SPOOF, "l-x")},
	{"h3: NA too short to hold a target is not an exception: spoof",
	 P_STRICT,
	 {Q(300), V4("fe80::1", "ff02::1"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_NA, .ttl = 255,
	  .payload = 8},
	 DROP(SPOOF, "l-x")},
	{"h3: DHCPv4 from 0.0.0.0 to a unicast server is not an exception: bogon",
	 P_STRICT,
	 {Q(300), V4("0.0.0.0", "198.18.23.1"), .proto = IPPROTO_UDP, .sport = 68, .dport = 67,
	  .payload = 240},
	 DROP(BOGON, "l-x")},
	{"h3: DHCPv4 DISCOVER to 255.255.255.255 on the port passes",
	 P_STRICT,
	 {Q(300), V4("0.0.0.0", "255.255.255.255"), .proto = IPPROTO_UDP, .sport = 68, .dport = 67,
	  .payload = 240},
	 UNCL},
	{"h3: DHCPv6 from link-local to a unicast server is not an exception: spoof",
	 P_STRICT,
	 {Q(300), V4("fe80::1", "2001:db8:323::1"), .proto = IPPROTO_UDP, .sport = 546,
	  .dport = 547, .payload = 40},
	 DROP(SPOOF, "l-x")},
	{"h3: DHCPv6 from link-local to ff02::1:3 (not the servers' group) is spoof",
	 P_STRICT,
	 {Q(300), V4("fe80::1", "ff02::1:3"), .proto = IPPROTO_UDP, .sport = 546, .dport = 547,
	  .payload = 40},
	 DROP(SPOOF, "l-x")},
	/* ---- h2: upstream counting (malformed after the IP header, non-IP, monitor) ---- */
	{"h2 upstream: nine v6 Destination Options toward a customer pass, its malformed",
	 P_UP,
	 {V4(DST6, SRC_A6), .ext = {X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST},
	  .payload = 400},
	 NOTED_C(MALFORMED, "c-a"),
	 .l4bad = true},
	{"h2 upstream: v4 TCP doff 4 with a payload toward a customer passes, its malformed",
	 P_UP,
	 {V4(DST4, SRC_A4), .doff = 4, .payload = 1400},
	 NOTED_C(MALFORMED, "c-a"),
	 .l4bad = true},
	{"h2 upstream: nine v6 Destination Options toward a suspended customer drop",
	 P_UP,
	 {V4(DST6, "2001:db8:306::9"),
	  .ext = {X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST, X_DST}},
	 DROP(SUSPENDED, "c-z")},
	{"h2 upstream: v4 TCP doff 4 toward a suspended customer drops",
	 P_UP,
	 {V4(DST4, "198.18.6.9"), .doff = 4, .payload = 1400},
	 DROP(SUSPENDED, "c-z")},
	{"h2 upstream: v4 TCP doff 4 from the walled garden reaches a suspended customer",
	 P_UP,
	 {V4(WG_DNS4, "198.18.6.9"), .doff = 4},
	 NOTED_C(MALFORMED, "c-z"),
	 .l4bad = true},
	{"h2 upstream: v4 TCP doff 4 from a bogon source drops as bogon",
	 P_UP,
	 {V4("127.0.0.1", SRC_A4), .doff = 4},
	 DROP(BOGON, "c-a")},
	{"h2 upstream: v6 Mobility header from a customer's own space drops as spoof",
	 P_UP,
	 {V4("2001:db8:d::7", SRC_A6), .ext = {X_OTHER(NH_MOBILITY)}},
	 DROP(SPOOF, "c-a")},
	/* found by test_pktfuzz: an exception's shape toward a customer is its traffic */
	{"upstream: RS-shaped ICMPv6 from fe80:: toward a customer's address is its traffic",
	 P_UP,
	 {V4("fe80::abcd", SRC_A6), .proto = IPPROTO_ICMPV6, .icmp_type = ND_RS, .ttl = 255},
	 PASS("c-a")},
	{"upstream: RS from fe80:: to ff02::2 is still an exception",
	 P_UP,
	 {V4("fe80::abcd", "ff02::2"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_RS, .ttl = 255},
	 UNCL},
	{"h2 upstream: v4 TCP doff 4 toward no customer passes, noted on the interface",
	 P_UP,
	 {V4(DST4, "1.1.1.1"), .doff = 4},
	 NOTED(MALFORMED),
	 .l4bad = true},
	{"h2 upstream: v4 IHL 4 (no IP header) passes, noted on the interface only",
	 P_UP,
	 {V4(DST4, SRC_A4), .ihl = 4},
	 NOTED(MALFORMED)},
	{"h2 upstream: MPLS unicast passes, noted on the interface as malformed",
	 P_UP,
	 {.ethertype = 0x8847, V4(DST4, SRC_A4)},
	 NOTED(MALFORMED)},
	{"h2 upstream: MPLS multicast passes, noted on the interface as malformed",
	 P_UP,
	 {.ethertype = 0x8848, V4(DST4, SRC_A4)},
	 NOTED(MALFORMED)},
	{"h2 upstream: PPPoE session passes, noted on the interface as malformed",
	 P_UP,
	 {.ethertype = 0x8864, V4(DST4, SRC_A4)},
	 NOTED(MALFORMED)},
	{"h2 customer role: v4 TCP doff 4 still drops as the port's malformed",
	 P_STRICT,
	 {V4(SRC_A4, DST4), .doff = 4},
	 MALF},
	{"h2 upstream monitor: v6 Mobility header toward a customer: its pass and malformed",
	 P_UP_MON,
	 {V4(DST6, SRC_A6), .ext = {X_OTHER(NH_MOBILITY)}},
	 NOTED_C(MALFORMED, "c-a"),
	 .l4bad = true},
	{"h2 upstream monitor: toward a suspended customer: its pass and would-drop",
	 P_UP_MON,
	 {V4(DST4, "198.18.6.9")},
	 NOTED_C(SUSPENDED, "c-z")},
	{"h2 monitor: spoof from a port with an owner: the owner's pass and would-drop (v6)",
	 P_MON,
	 {Q(100), V4("2001:db8:dead::1", DST6)},
	 NOTED_C(SPOOF, "c-v")},
	/* ---- h5: link-layer control (01:80:c2:00:00:0X) and PPPoE ---- */
	{"L2 control: LACP (slow protocols 0x8809) to 01:80:c2:00:00:02 passes",
	 P_STRICT,
	 {.dmac = MAC_SLOW, .ethertype = ETH_P_SLOW, L2(110, 0x01, 0x01, 0x01, 0x14)},
	 UNCL},
	{"L2 control: LLDP (0x88cc) to 01:80:c2:00:00:0e passes",
	 P_STRICT,
	 {.dmac = MAC_LLDP, .ethertype = ETH_P_LLDP, L2(46, 0x02, 0x07, 0x04, 0x00)},
	 UNCL},
	{"L2 control: STP (802.3 length, LLC 42-42-03) to 01:80:c2:00:00:00 passes",
	 P_STRICT,
	 {.dmac = MAC_STP, .ethertype = 38, L2(38, 0x42, 0x42, 0x03, 0x00), .pad = 60},
	 UNCL},
	{"L2 control: 802.1X EAPOL-Start (0x888e) to 01:80:c2:00:00:03 passes",
	 P_STRICT,
	 {.dmac = MAC_PAE, .ethertype = ETH_P_PAE, L2(4, 0x02, 0x01, 0x00, 0x00), .pad = 60},
	 UNCL},
	{"L2 control: 01:80:c2:00:00:0f, the last of the reserved group, passes",
	 P_STRICT,
	 {.dmac = "01:80:c2:00:00:0f", .ethertype = 0x88b5, L2(46, 0)},
	 UNCL},
	{"L2 control: LLDP under VLAN 100 passes",
	 P_STRICT,
	 {Q(100), .dmac = MAC_LLDP, .ethertype = ETH_P_LLDP, L2(46, 0x02, 0x07, 0x04, 0x00)},
	 UNCL},
	{"L2 control: LACP on the port of one customer passes, charged to no one",
	 P_STRICT_B,
	 {.dmac = MAC_SLOW, .ethertype = ETH_P_SLOW, L2(110, 0x01, 0x01, 0x01, 0x14)},
	 UNCL},
	{"L2 control: LACP to a unicast MAC is malformed",
	 P_STRICT,
	 {.ethertype = ETH_P_SLOW, L2(110, 0x01, 0x01, 0x01, 0x14)},
	 MALF},
	{"L2 control: LLDP to the nearest-bridge group's neighbour 01:80:c2:00:00:10 is malformed",
	 P_STRICT,
	 {.dmac = "01:80:c2:00:00:10", .ethertype = ETH_P_LLDP, L2(46, 0x02, 0x07, 0x04, 0x00)},
	 MALF},
	{"L2 control: STP-shaped LLC to Cisco's 01:00:0c:cc:cc:cd is malformed",
	 P_STRICT,
	 {.dmac = "01:00:0c:cc:cc:cd", .ethertype = 38, L2(38, 0x42, 0x42, 0x03, 0x00), .pad = 60},
	 MALF},
	{"L2 control: 802.1X to a unicast MAC is malformed",
	 P_STRICT,
	 {.ethertype = ETH_P_PAE, L2(4, 0x02, 0x01, 0x00, 0x00), .pad = 60},
	 MALF},
	{"L2 control: 802.1X to 01:80:c2:00:01:03 (another byte 4) is malformed",
	 P_STRICT,
	 {.dmac = "01:80:c2:00:01:03",
	  .ethertype = ETH_P_PAE,
	  L2(4, 0x02, 0x01, 0x00, 0x00),
	  .pad = 60},
	 MALF},
	{"L2 control: a third tag to the reserved group is malformed",
	 P_STRICT,
	 {.tpid = {TPID_AD, TPID_Q, TPID_Q},
	  .tci = {100, 200, 300},
	  .dmac = MAC_LLDP,
	  .ethertype = ETH_P_LLDP,
	  L2(46, 0x02, 0x07, 0x04, 0x00)},
	 DROP(MALFORMED, "c-q")},
	{"L2 control: IPv4 to the reserved group is classified like any other: spoof",
	 P_STRICT,
	 {.dmac = MAC_SLOW, V4("8.8.4.4", DST4)},
	 DROP(SPOOF, NULL)},
	{"L2 control: IPv4 to the reserved group from a customer is its traffic",
	 P_STRICT,
	 {.dmac = MAC_LLDP, V4(SRC_A4, DST4)},
	 PASS("c-a")},
	{"L2 control: LACP on an upstream interface passes unclassified",
	 P_UP,
	 {.dmac = MAC_SLOW, .ethertype = ETH_P_SLOW, L2(110, 0x01, 0x01, 0x01, 0x14)},
	 UNCL},
	{"L2 control: LLDP on a monitor interface passes unclassified",
	 P_MON,
	 {.dmac = MAC_LLDP, .ethertype = ETH_P_LLDP, L2(46, 0x02, 0x07, 0x04, 0x00)},
	 UNCL},

	{"PPPoE discovery: PADI (broadcast) passes",
	 P_STRICT,
	 {.dmac = MAC_BCAST, PPPOE_D(PADI, 0), L2(4, 0x01, 0x01, 0x00, 0x00), .pad = 60},
	 UNCL},
	{"PPPoE discovery: PADR passes", P_STRICT, {PPPOE_D(PADR, 0), L2(8, 0x01, 0x01)}, UNCL},
	{"PPPoE discovery: PADT passes",
	 P_STRICT,
	 {PPPOE_D(PADT, 0x1234), L2(4, 0x01, 0x01), .pad = 60},
	 UNCL},
	{"PPPoE discovery: PADI under QinQ 100.200 passes",
	 P_STRICT,
	 {QINQ(100, 200), .dmac = MAC_BCAST, PPPOE_D(PADI, 0), L2(4, 0x01, 0x01), .pad = 60},
	 UNCL},
	{"PPPoE discovery: PADI on the port of one customer passes, charged to no one",
	 P_STRICT_B,
	 {.dmac = MAC_BCAST, PPPOE_D(PADI, 0), L2(4, 0x01, 0x01), .pad = 60},
	 UNCL},
	{"PPPoE discovery: PADO from a customer (a rogue concentrator) is malformed, charged",
	 P_STRICT_B,
	 {PPPOE_D(PADO, 0), L2(8, 0x01, 0x02), .pad = 60},
	 DROP(MALFORMED, "c-o")},
	{"PPPoE discovery: PADS from a customer (a rogue concentrator) is malformed",
	 P_STRICT,
	 {PPPOE_D(PADS, 0x1234), L2(8, 0x01, 0x01), .pad = 60},
	 MALF},
	{"PPPoE discovery: PADO on an upstream interface passes",
	 P_UP,
	 {PPPOE_D(PADO, 0), L2(8, 0x01, 0x02), .pad = 60},
	 UNCL},
	{"PPPoE discovery: PADS on an upstream interface passes",
	 P_UP,
	 {PPPOE_D(PADS, 0x1234), L2(8, 0x01, 0x01), .pad = 60},
	 UNCL},
	{"PPPoE discovery: version/type 0x12 is malformed",
	 P_STRICT,
	 {.dmac = MAC_BCAST, PPPOE_D(PADI, 0), .pppoe_vt = 0x12, L2(4, 0x01, 0x01), .pad = 60},
	 MALF},
	{"PPPoE discovery: length one byte beyond the frame is malformed",
	 P_STRICT,
	 {.dmac = MAC_BCAST, PPPOE_D(PADI, 0), .pppoe_lendelta = 1, L2(4, 0x01, 0x01)},
	 MALF},
	{"PPPoE discovery: length within the Ethernet padding passes",
	 P_STRICT,
	 {.dmac = MAC_BCAST, PPPOE_D(PADI, 0), .pppoe_lendelta = 36, L2(4, 0x01, 0x01), .pad = 60},
	 UNCL},
	{"PPPoE discovery: length one byte beyond the padded frame is malformed",
	 P_STRICT,
	 {.dmac = MAC_BCAST, PPPOE_D(PADI, 0), .pppoe_lendelta = 37, L2(4, 0x01, 0x01), .pad = 60},
	 MALF},
	{"PPPoE discovery: PADI with a session id is malformed",
	 P_STRICT,
	 {.dmac = MAC_BCAST, PPPOE_D(PADI, 7), L2(4, 0x01, 0x01), .pad = 60},
	 MALF},
	{"PPPoE discovery: PADT without a session id is malformed",
	 P_STRICT,
	 {PPPOE_D(PADT, 0), L2(4, 0x01, 0x01), .pad = 60},
	 MALF},
	{"PPPoE discovery: unknown code 0x42 is malformed",
	 P_STRICT,
	 {PPPOE_D(0x42, 0), L2(4, 0x01, 0x01), .pad = 60},
	 MALF},
	{"PPPoE discovery: header cut short is malformed",
	 P_STRICT,
	 {.dmac = MAC_BCAST, PPPOE_D(PADI, 0), L2(4, 0x01, 0x01), .cut = 14 + 4},
	 MALF},

	{"PPPoE session: v4 from its customer passes, charged to it (IP bytes)",
	 P_STRICT,
	 {SES(0x1234), V4(SRC_A4, DST4)},
	 PASS("c-a")},
	{"PPPoE session: v4 UDP from its customer passes",
	 P_STRICT,
	 {SES(0x1234), V4(SRC_A4, DST4), .proto = IPPROTO_UDP, .payload = 100},
	 PASS("c-a")},
	{"PPPoE session: v6 from its customer passes, charged to it",
	 P_STRICT,
	 {SES(0x1234), V4(SRC_A6, DST6)},
	 PASS("c-a")},
	{"PPPoE session: v4 padded to 60 bytes counts the IP length",
	 P_STRICT,
	 {SES(0x1234), V4(SRC_A4, DST4), .proto = IPPROTO_ICMP, .icmp_type = 8, .pad = 60},
	 PASS("c-a")},
	{"PPPoE session: v4 spoofed source",
	 P_STRICT,
	 {SES(1), V4("8.8.4.4", DST4)},
	 DROP(SPOOF, NULL)},
	{"PPPoE session: v6 spoofed source",
	 P_STRICT,
	 {SES(1), V4("2001:db8:dead::1", DST6)},
	 DROP(SPOOF, NULL)},
	{"PPPoE session: v4 spoof charged to the port's only customer",
	 P_STRICT_B,
	 {SES(1), V4("8.8.4.4", DST4)},
	 DROP(SPOOF, "c-o")},
	{"PPPoE session: v4 from the customer of another interface: spoof",
	 P_STRICT,
	 {SES(1), V4("203.0.113.5", DST4)},
	 DROP(SPOOF, NULL)},
	{"PPPoE session: v4 bogon source",
	 P_STRICT,
	 {SES(1), V4("127.0.0.1", DST4)},
	 DROP(BOGON, NULL)},
	{"PPPoE session: under VLAN 100 from its customer",
	 P_STRICT,
	 {Q(100), SES(0x1234), V4("192.0.2.5", DST4)},
	 PASS("c-v")},
	{"PPPoE session: v6 under VLAN 100 from its customer",
	 P_STRICT,
	 {Q(100), SES(0x1234), V4("2001:db8:100::5", DST6)},
	 PASS("c-v")},
	{"PPPoE session: under QinQ 100.200 from its customer",
	 P_STRICT,
	 {QINQ(100, 200), SES(0x1234), V4("192.0.2.70", DST4)},
	 PASS("c-q")},
	{"PPPoE session: VLAN customer on the wrong VLAN: spoof",
	 P_STRICT,
	 {Q(101), SES(0x1234), V4("192.0.2.5", DST4)},
	 DROP(SPOOF, NULL)},
	{"PPPoE session: QinQ spoof charged to the 100.200 customer",
	 P_STRICT,
	 {QINQ(100, 200), SES(0x1234), V4("8.8.4.4", DST4)},
	 DROP(SPOOF, "c-q")},
	{"PPPoE session: v4 with the protocol field compressed (0x21)",
	 P_STRICT,
	 {SES(0x1234), .ppp = PPP_PFC | 0x21, V4(SRC_A4, DST4)},
	 PASS("c-a")},
	{"PPPoE session: v6 with the protocol field compressed (0x57), under QinQ",
	 P_STRICT,
	 {QINQ(100, 200), SES(0x1234), .ppp = PPP_PFC | 0x57, V4("2001:db8:200::1", DST6)},
	 PASS("c-q")},
	{"PPPoE session: compressed v4 spoof",
	 P_STRICT,
	 {SES(0x1234), .ppp = PPP_PFC | 0x21, V4("8.8.4.4", DST4)},
	 DROP(SPOOF, NULL)},
	{"PPPoE session: DHCPv6 from link-local is the exception",
	 P_STRICT,
	 {SES(0x1234), V4("fe80::1", "ff02::1:2"), .proto = IPPROTO_UDP, .sport = 546, .dport = 547,
	  .payload = 40},
	 UNCL},
	{"PPPoE session: RS from link-local, hop limit 255, is the exception",
	 P_STRICT,
	 {SES(0x1234), V4("fe80::1", "ff02::2"), .proto = IPPROTO_ICMPV6, .icmp_type = ND_RS,
	  .ttl = 255},
	 UNCL},
	{"PPPoE session: suspended customer dropped",
	 P_STRICT,
	 {SES(0x1234), V4("198.18.6.9", DST4)},
	 DROP(SUSPENDED, "c-z")},
	{"PPPoE session: monitor notes a spoof",
	 P_MON,
	 {SES(0x1234), V4("8.8.4.4", DST4)},
	 NOTED(SPOOF)},
	{"PPPoE session: truncated TCP inside is malformed",
	 P_STRICT,
	 {SES(0x1234), V4(SRC_A4, DST4), .cut = 14 + 8 + 20 + 10, .fixlen = true},
	 MALF},
	{"PPPoE session: v4 IHL < 5 inside is malformed",
	 P_STRICT,
	 {SES(0x1234), V4(SRC_A4, DST4), .ihl = 4},
	 MALF},
	{"PPPoE session: IPv6 inside a protocol field that says IPv4 is malformed",
	 P_STRICT,
	 {SES(0x1234), .ppp = 0x0021, V4(SRC_A6, DST6)},
	 MALF},
	{"PPPoE session: LCP Configure-Request passes",
	 P_STRICT,
	 {SES(0x1234), .ppp = 0xc021, L2(14, 0x01, 0x01, 0x00, 0x0e)},
	 UNCL},
	{"PPPoE session: LCP Echo-Request under QinQ passes",
	 P_STRICT,
	 {QINQ(100, 200), SES(0x1234), .ppp = 0xc021, L2(8, 0x09, 0x01, 0x00, 0x08), .pad = 60},
	 UNCL},
	{"PPPoE session: PAP passes", P_STRICT, {SES(1), .ppp = 0xc023, L2(12, 0x01)}, UNCL},
	{"PPPoE session: CHAP passes", P_STRICT, {SES(1), .ppp = 0xc223, L2(12, 0x02)}, UNCL},
	{"PPPoE session: IPCP passes", P_STRICT, {SES(1), .ppp = 0x8021, L2(10, 0x01)}, UNCL},
	{"PPPoE session: IPv6CP passes", P_STRICT, {SES(1), .ppp = 0x8057, L2(14, 0x01)}, UNCL},
	{"PPPoE session: LCP on the port of one customer passes, charged to no one",
	 P_STRICT_B,
	 {SES(1), .ppp = 0xc021, L2(14, 0x01, 0x01, 0x00, 0x0e)},
	 UNCL},
	{"PPPoE session: CCP (0x80fd) is malformed",
	 P_STRICT,
	 {SES(1), .ppp = 0x80fd, L2(10, 0x01)},
	 MALF},
	{"PPPoE session: unknown PPP protocol 0x0023 is malformed",
	 P_STRICT,
	 {SES(1), .ppp = 0x0023, V4(SRC_A4, DST4)},
	 MALF},
	{"PPPoE session: compressed unknown protocol 0x23 is malformed",
	 P_STRICT,
	 {SES(1), .ppp = PPP_PFC | 0x23, V4(SRC_A4, DST4)},
	 MALF},
	{"PPPoE session: unknown PPP protocol charged to the port's only customer",
	 P_STRICT_B,
	 {SES(1), .ppp = 0x002b, V4("203.0.113.5", DST4)},
	 DROP(MALFORMED, "c-o")},
	{"PPPoE session: version/type 0x21 is malformed",
	 P_STRICT,
	 {SES(1), .pppoe_vt = 0x21, V4(SRC_A4, DST4)},
	 MALF},
	{"PPPoE session: a discovery code (PADI) in a session is malformed",
	 P_STRICT,
	 {SES(1), .pppoe_code = 0x09, V4(SRC_A4, DST4)},
	 MALF},
	{"PPPoE session: session id 0 is malformed", P_STRICT, {SES(0), V4(SRC_A4, DST4)}, MALF},
	{"PPPoE session: session id 0xffff (reserved) is malformed",
	 P_STRICT,
	 {SES(0xffff), V4(SRC_A4, DST4)},
	 MALF},
	{"PPPoE session: length one byte beyond the frame is malformed",
	 P_STRICT,
	 {SES(1), V4(SRC_A4, DST4), .pppoe_lendelta = 1},
	 MALF},
	{"PPPoE session: length over the IP packet, within the padding, passes",
	 P_STRICT,
	 {SES(1), V4(SRC_A4, DST4), .proto = IPPROTO_ICMP, .icmp_type = 8, .pppoe_lendelta = 10,
	  .pad = 60},
	 PASS("c-a")},
	{"PPPoE session: length one byte beyond the padded frame is malformed",
	 P_STRICT,
	 {SES(1), V4(SRC_A4, DST4), .proto = IPPROTO_ICMP, .icmp_type = 8, .pppoe_lendelta = 11,
	  .pad = 60},
	 MALF},
	{"PPPoE session: length one byte short of the IP packet is malformed",
	 P_STRICT,
	 {SES(1), V4(SRC_A4, DST4), .pppoe_lendelta = -1},
	 MALF},
	{"PPPoE session: v6 length one byte short of the IP packet is malformed",
	 P_STRICT,
	 {SES(1), V4(SRC_A6, DST6), .pppoe_lendelta = -1},
	 MALF},
	{"PPPoE session: length 1 (no room for a protocol) is malformed",
	 P_STRICT,
	 {SES(1), .ppp = 0xc021, L2(14, 0x01), .pppoe_lendelta = -15},
	 MALF},
	{"PPPoE session: cut inside the PPPoE header is malformed",
	 P_STRICT,
	 {SES(1), V4(SRC_A4, DST4), .cut = 14 + 3},
	 MALF},
	{"PPPoE session: cut after the first protocol byte is malformed",
	 P_STRICT,
	 {SES(1), V4(SRC_A4, DST4), .cut = 14 + 7},
	 MALF},
	{"PPPoE session upstream: v4 to a customer passes, charged to it (download)",
	 P_UP,
	 {SES(0x1234), V4(DST4, SRC_A4)},
	 PASS("c-a")},
	{"PPPoE session upstream: v6 to a customer passes",
	 P_UP,
	 {SES(0x1234), V4(DST6, SRC_A6)},
	 PASS("c-a")},
	{"PPPoE session upstream: source inside customer space is spoof",
	 P_UP,
	 {SES(0x1234), V4("198.51.100.9", "198.51.100.10")},
	 DROP(SPOOF, "c-a")},
	{"PPPoE session upstream: LCP passes unclassified",
	 P_UP,
	 {SES(0x1234), .ppp = 0xc021, L2(14, 0x01, 0x01, 0x00, 0x0e)},
	 UNCL},
	{"PPPoE session upstream: unknown PPP protocol is passed, noted",
	 P_UP,
	 {SES(0x1234), .ppp = 0x80fd, L2(10, 0x01)},
	 NOTED(MALFORMED)},
	/* ---- h1: bindings (empty vlan = untagged, 100 = one tag, *, 100.*, VID 0, unbound) ---- */
	{"h1: untagged customer's v6 source tagged 100: spoof, charged to VLAN 100's customer",
	 P_STRICT,
	 {Q(100), V4(SRC_A6, DST6)},
	 DROP(SPOOF, "c-v")},
	{"h1: untagged customer's source in QinQ 100.200: spoof, charged to 100.200's customer",
	 P_STRICT,
	 {QINQ(100, 200), V4(SRC_A4, DST4)},
	 DROP(SPOOF, "c-q")},
	{"h1: IF_B's untagged customer tagged 300: spoof, charged to VLAN 300's customer",
	 P_STRICT_B,
	 {Q(300), V4("203.0.113.5", DST4)},
	 DROP(SPOOF, "b-y")},
	{"h1: IF_B's untagged customer in QinQ 300.5: spoof, charged to IF_B's `*` customer",
	 P_STRICT_B,
	 {QINQ(300, 5), V4("203.0.113.5", DST4)},
	 DROP(SPOOF, "b-w")},
	{"h1: VLAN-100 customer in 100.201 (no one's): spoof",
	 P_STRICT,
	 {QINQ(100, 201), V4("192.0.2.5", DST4)},
	 DROP(SPOOF, NULL)},
	{"h1: VLAN-300 customer in 300.7: spoof, charged to IF_B's `*` customer",
	 P_STRICT_B,
	 {QINQ(300, 7), V4("198.18.43.5", DST4)},
	 DROP(SPOOF, "b-w")},
	/* a priority tag (VID 0) is no tag */
	{"h1: priority tag on an untagged binding passes",
	 P_STRICT_B,
	 {Q(0), V4("203.0.113.5", DST4)},
	 PASS("c-o")},
	{"h1: priority tag with PCP 5 on an untagged binding passes (v6)",
	 P_STRICT_B,
	 {Q(0xa000), V4("2001:db8:c:1::5", DST6)},
	 PASS("c-o")},
	{"h1: priority tag on a VLAN-300 binding: spoof, charged to the untagged port's owner",
	 P_STRICT_B,
	 {Q(0), V4("198.18.43.5", DST4)},
	 DROP(SPOOF, "c-o")},
	{"h1: priority-tagged spoof charged to the untagged port's owner",
	 P_STRICT_B,
	 {Q(0), V4("8.8.4.4", DST4)},
	 DROP(SPOOF, "c-o")},
	{"h1: priority-tagged malformed frame charged to the untagged port's owner",
	 P_STRICT_B,
	 {Q(0), V4("203.0.113.5", DST4), .cut = L4_4 + 4 + 10},
	 DROP(MALFORMED, "c-o")},
	{"h1: priority tag then tag 300 is VLAN 300: its customer passes",
	 P_STRICT_B,
	 {.tpid = {TPID_Q, TPID_Q}, .tci = {0, 300}, V4("198.18.43.5", DST4)},
	 PASS("b-y")},
	{"h1: priority tag then tag 300 does not pass as untagged: spoof, charged to VLAN 300's",
	 P_STRICT_B,
	 {.tpid = {TPID_Q, TPID_Q}, .tci = {0, 300}, V4("203.0.113.5", DST4)},
	 DROP(SPOOF, "b-y")},
	{"h1: tag 300 then a priority tag is VLAN 300 alone",
	 P_STRICT_B,
	 {.tpid = {TPID_AD, TPID_Q}, .tci = {300, 0}, V4("198.18.43.5", DST4)},
	 PASS("b-y")},
	{"h1: priority tag before QinQ 100.200 is 100.200",
	 P_STRICT,
	 {.tpid = {TPID_Q, TPID_AD, TPID_Q}, .tci = {0, 100, 200}, V4("192.0.2.70", DST4)},
	 PASS("c-q")},
	/* wildcards */
	{"h1: `*` customer untagged passes", P_STRICT_B, {V4("198.18.41.5", DST4)}, PASS("b-w")},
	{"h1: `*` customer tagged 77 passes",
	 P_STRICT_B,
	 {Q(77), V4("198.18.41.5", DST4)},
	 PASS("b-w")},
	{"h1: `*` customer in QinQ 77.88 passes (v6)",
	 P_STRICT_B,
	 {QINQ(77, 88), V4("2001:db8:b41::5", DST6)},
	 PASS("b-w")},
	{"h1: `*` customer on another interface: spoof",
	 P_STRICT,
	 {V4("198.18.41.5", DST4)},
	 DROP(SPOOF, NULL)},
	{"h1: spoof on a VLAN no one has: charged to the interface's `*` customer",
	 P_STRICT_B,
	 {Q(77), V4("8.8.4.4", DST4)},
	 DROP(SPOOF, "b-w")},
	{"h1: `300.*` customer tagged 300 passes",
	 P_STRICT,
	 {Q(300), V4("198.18.42.5", DST4)},
	 PASS("b-x")},
	{"h1: `300.*` customer in QinQ 300.9 passes",
	 P_STRICT,
	 {QINQ(300, 9), V4("198.18.42.5", DST4)},
	 PASS("b-x")},
	{"h1: `300.*` customer untagged: spoof",
	 P_STRICT,
	 {V4("198.18.42.5", DST4)},
	 DROP(SPOOF, NULL)},
	{"h1: `300.*` customer tagged 301: spoof",
	 P_STRICT,
	 {Q(301), V4("198.18.42.5", DST4)},
	 DROP(SPOOF, NULL)},
	{"h1: spoof in QinQ 300.9: charged to the `300.*` customer",
	 P_STRICT,
	 {QINQ(300, 9), V4("8.8.4.4", DST4)},
	 DROP(SPOOF, "b-x")},
	/* TPID: 0x8100 and 0x88a8 alike, at either position (README, Anti-spoofing) */
	{"h1: VLAN 100 as one 802.1ad tag passes",
	 P_STRICT,
	 {.tpid = {TPID_AD}, .tci = {100}, V4("192.0.2.5", DST4)},
	 PASS("c-v")},
	{"h1: untagged customer in one 802.1ad tag 100: spoof, charged to VLAN 100's",
	 P_STRICT,
	 {.tpid = {TPID_AD}, .tci = {100}, V4(SRC_A4, DST4)},
	 DROP(SPOOF, "c-v")},
	{"h1: vlan_protocol any: QinQ as two 802.1Q tags passes",
	 P_STRICT,
	 {.tpid = {TPID_Q, TPID_Q}, .tci = {100, 200}, V4("192.0.2.70", DST4)},
	 PASS("c-q")},
	{"h1: 802.1q interface: VLAN 100 in 802.1Q passes",
	 P_STRICT_Q,
	 {Q(100), V4("192.0.2.5", DST4)},
	 PASS("c-v")},
	{"h1: 802.1q interface: QinQ as two 802.1Q tags passes",
	 P_STRICT_Q,
	 {.tpid = {TPID_Q, TPID_Q}, .tci = {100, 200}, V4("192.0.2.70", DST4)},
	 PASS("c-q")},
	{"h1: 802.1q interface: VLAN 100 customer's own source in 802.1ad: malformed, of no VLAN",
	 P_STRICT_Q,
	 {.tpid = {TPID_AD}, .tci = {100}, V4("192.0.2.5", DST4)},
	 MALF},
	{"h1: 802.1q interface: 802.1ad 100 + 802.1Q 200: malformed, not charged to 100.200's",
	 P_STRICT_Q,
	 {QINQ(100, 200), V4("8.8.4.4", DST4)},
	 MALF},
	{"h1: 802.1q interface: an 802.1ad priority tag before tag 100 hides nothing: malformed",
	 P_STRICT_Q,
	 {.tpid = {TPID_AD, TPID_Q}, .tci = {0, 100}, V4("192.0.2.5", DST4)},
	 MALF},
	{"h1: 802.1q interface: 802.1Q priority tag, then 802.1ad tag 100: malformed",
	 P_STRICT_Q,
	 {.tpid = {TPID_Q, TPID_AD}, .tci = {0, 100}, V4("192.0.2.5", DST4)},
	 MALF},
	{"h1: 802.1q interface: an untagged frame passes",
	 P_STRICT_Q,
	 {V4(SRC_A4, DST4)},
	 PASS("c-a")},
	{"h1: 802.1ad interface: QinQ 802.1ad + 802.1Q passes",
	 P_STRICT_AD,
	 {QINQ(100, 200), V4("192.0.2.70", DST4)},
	 PASS("c-q")},
	{"h1: 802.1ad interface: VLAN 100 in 802.1ad passes",
	 P_STRICT_AD,
	 {.tpid = {TPID_AD}, .tci = {100}, V4("192.0.2.5", DST4)},
	 PASS("c-v")},
	{"h1: 802.1ad interface: VLAN 100 in 802.1Q: malformed",
	 P_STRICT_AD,
	 {Q(100), V4("192.0.2.5", DST4)},
	 MALF},
	{"h1: 802.1ad interface: QinQ as two 802.1Q tags: malformed",
	 P_STRICT_AD,
	 {.tpid = {TPID_Q, TPID_Q}, .tci = {100, 200}, V4("192.0.2.70", DST4)},
	 MALF},
	{"h1: 0x9100 (pre-standard QinQ) is not a VLAN tag: malformed",
	 P_STRICT,
	 {.tpid = {0x9100}, .tci = {100}, V4("192.0.2.5", DST4)},
	 MALF},
	/* unbound customers: spoof wherever strict, pass where loose or off */
	{"h1: unbound customer on strict IF_A: spoof",
	 P_STRICT,
	 {V4("198.18.40.5", DST4)},
	 DROP(SPOOF, NULL)},
	{"h1: unbound customer on strict IF_B: spoof, charged to the port's owner",
	 P_STRICT_B,
	 {V4("2001:db8:b40::5", DST6)},
	 DROP(SPOOF, "c-o")},
	{"h1: unbound customer tagged on strict IF_B: spoof, charged to the `*` customer",
	 P_STRICT_B,
	 {Q(77), V4("198.18.40.5", DST4)},
	 DROP(SPOOF, "b-w")},
	{"h1: unbound customer in monitor mode: noted as spoof",
	 P_MON,
	 {V4("198.18.40.5", DST4)},
	 NOTED(SPOOF)},
	{"h1: unbound customer on a loose interface passes",
	 P_LOOSE,
	 {V4("198.18.40.5", DST4)},
	 PASS("b-u")},
	{"h1: unbound customer on a loose interface passes tagged (v6)",
	 P_LOOSE,
	 {QINQ(5, 6), V4("2001:db8:b40::5", DST6)},
	 PASS("b-u")},
	{"h1: unbound customer where anti-spoofing is off passes",
	 P_OFF,
	 {V4("198.18.40.5", DST4)},
	 PASS("b-u")},
	{"h1: upstream: traffic to an unbound customer passes",
	 P_UP,
	 {V4(DST4, "198.18.40.5")},
	 PASS("b-u")},
};

/* ------------------------------------------------------------------------------------- */
/* Counters                                                                              */
/* ------------------------------------------------------------------------------------- */

/* Both counter structs are arrays of struct tg_counter in disguise; compare them as such. */
#define IF_NCTR (2 + 2 * TG_R_NR)
#define CUST_NCTR (TG_DIR_NR + 2 * TG_DIR_NR * TG_R_NR)
_Static_assert(sizeof(struct tg_if_counters) == IF_NCTR * sizeof(struct tg_counter),
	       "tg_if_counters is not a flat array of counters");
_Static_assert(sizeof(struct tg_cust_counters) == CUST_NCTR * sizeof(struct tg_counter),
	       "tg_cust_counters is not a flat array of counters");

struct snap {
	struct tg_if_counters ifc[P_NR];
	struct tg_cust_counters cust[NCUST];
};

static const char *const dir_name[TG_DIR_NR] = {"up", "down"};

static void if_ctr_name(int i, char *buf, size_t n)
{
	if (i == 0)
		snprintf(buf, n, "pass");
	else if (i == 1)
		snprintf(buf, n, "unclassified");
	else if (i < 2 + TG_R_NR)
		snprintf(buf, n, "drop.%s", tg_reason_name(i - 2));
	else
		snprintf(buf, n, "noted.%s", tg_reason_name(i - 2 - TG_R_NR));
}

static void cust_ctr_name(int i, char *buf, size_t n)
{
	if (i < TG_DIR_NR)
		snprintf(buf, n, "pass.%s", dir_name[i]);
	else if (i < TG_DIR_NR + TG_DIR_NR * TG_R_NR)
		snprintf(buf, n, "drop.%s.%s", dir_name[(i - TG_DIR_NR) / TG_R_NR],
			 tg_reason_name((i - TG_DIR_NR) % TG_R_NR));
	else
		snprintf(buf, n, "noted.%s.%s",
			 dir_name[(i - TG_DIR_NR - TG_DIR_NR * TG_R_NR) / TG_R_NR],
			 tg_reason_name((i - TG_DIR_NR) % TG_R_NR));
}

static int take_snap(struct snap *s)
{
	size_t i;
	int err;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < P_NR; i++) {
		err = tg_read_iface(&maps, i, &s->ifc[i]);
		if (err)
			return err;
	}
	for (i = 0; i < NCUST; i++) {
		err = tg_read_cust(&maps, cust_idx[i], &s->cust[i]);
		if (err)
			return err;
	}
	return 0;
}

static void add(struct tg_counter *c, uint64_t pkts, uint64_t bytes)
{
	c->pkts += pkts;
	c->bytes += bytes;
}

/* Append to a message buffer. */
static void msg_add(char *msg, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void msg_add(char *msg, size_t n, const char *fmt, ...)
{
	size_t len = strlen(msg);
	va_list ap;

	if (len + 1 >= n)
		return;
	va_start(ap, fmt);
	vsnprintf(msg + len, n - len, fmt, ap);
	va_end(ap);
}

/* Describe every counter whose change differs from the expected one; 0 if none. */
static int diff_snaps(const struct snap *before, const struct snap *after, const struct snap *want,
		      char *msg, size_t n)
{
	char name[48];
	int bad = 0;
	size_t i, k;

	for (i = 0; i < P_NR; i++) {
		const struct tg_counter *b = (const void *)&before->ifc[i],
					*a = (const void *)&after->ifc[i],
					*w = (const void *)&want->ifc[i];

		for (k = 0; k < IF_NCTR; k++) {
			if (a[k].pkts == w[k].pkts && a[k].bytes == w[k].bytes)
				continue;
			if_ctr_name(k, name, sizeof(name));
			msg_add(msg, n,
				"; if[%s] %s %+" PRId64 "/%+" PRId64 " want %+" PRId64 "/%+" PRId64,
				profiles[i].name, name, (int64_t)(a[k].pkts - b[k].pkts),
				(int64_t)(a[k].bytes - b[k].bytes),
				(int64_t)(w[k].pkts - b[k].pkts),
				(int64_t)(w[k].bytes - b[k].bytes));
			bad = 1;
		}
	}
	for (i = 0; i < NCUST; i++) {
		const struct tg_counter *b = (const void *)&before->cust[i],
					*a = (const void *)&after->cust[i],
					*w = (const void *)&want->cust[i];

		for (k = 0; k < CUST_NCTR; k++) {
			if (a[k].pkts == w[k].pkts && a[k].bytes == w[k].bytes)
				continue;
			cust_ctr_name(k, name, sizeof(name));
			msg_add(msg, n,
				"; %s %s %+" PRId64 "/%+" PRId64 " want %+" PRId64 "/%+" PRId64,
				custs[i].id, name, (int64_t)(a[k].pkts - b[k].pkts),
				(int64_t)(a[k].bytes - b[k].bytes),
				(int64_t)(w[k].pkts - b[k].pkts),
				(int64_t)(w[k].bytes - b[k].bytes));
			bad = 1;
		}
	}
	return bad;
}

/* ------------------------------------------------------------------------------------- */
/* Running packets                                                                       */
/* ------------------------------------------------------------------------------------- */

static bool verbose;
static bool have_if_b;	      /* IF_B and IF_C exist */
static bool v4_tables_broken; /* failing IPv4 fixtures then point at the table check */

static int set_profile(int prof)
{
	const struct profile *p = &profiles[prof];
	struct tg_iface v = {};
	__u32 key = p->ifindex;

	if (prof == P_NOIF) /* tg_ifaces is an array: an all-zero entry is "not configured" */
		return bpf_map_update_elem(maps.ifaces, &key, &v, BPF_ANY) ? -errno : 0;
	v.role = p->role;
	v.antispoof = p->antispoof;
	v.flags = p->flags;
	v.slot = prof;
	v.ifindex = p->ifindex;
	snprintf(v.name, sizeof(v.name), "%s", p->ifname);
	return bpf_map_update_elem(maps.ifaces, &key, &v, BPF_ANY) ? -errno : 0;
}

/*
 * One BPF_PROG_TEST_RUN of one frame arriving on ifindex. A frame shorter than an Ethernet
 * header is placed behind XDP metadata (ctx.data > 0), the only way to hand the program
 * fewer than ETH_HLEN bytes; kernels that refuse it make the caller SKIP.
 */
static int run_frame(int ifindex, const uint8_t *frame, size_t len, __u32 *retval)
{
	uint8_t buf[2048 + 32];
	size_t meta = len < ETH_HLEN ? (ETH_HLEN - len + 3) / 4 * 4 : 0;
	struct xdp_md ctx = {.data = meta, .data_end = meta + len, .ingress_ifindex = ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = meta + len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

	memset(buf, 0, meta);
	memcpy(buf + meta, frame, len);
	if (bpf_prog_test_run_opts(maps.prog, &opts))
		return -errno;
	*retval = opts.retval;
	return 0;
}

static const char *verdict_name(__u32 v)
{
	switch (v) {
	case XDP_ABORTED:
		return "XDP_ABORTED";
	case XDP_DROP:
		return "XDP_DROP";
	case XDP_PASS:
		return "XDP_PASS";
	case XDP_TX:
		return "XDP_TX";
	case XDP_REDIRECT:
		return "XDP_REDIRECT";
	}
	return "?";
}

static void hexdump(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		fprintf(stderr, "%02x%s", p[i],
			(i + 1) % 32 == 0 || i + 1 == len ? "\n      " : " ");
	fprintf(stderr, "\n");
}

static void skip(const char *desc, const char *why)
{
	printf("SKIP %s: %s\n", desc, why);
	nskipped++;
}

static void fail(const char *desc, const char *bug, const char *msg)
{
	if (bug)
		fprintf(stderr, "FAIL [BUG: %s] %s: %s\n", bug, desc, msg);
	else
		fprintf(stderr, "FAIL %s: %s\n", desc, msg);
	tl_case_failed = 1;
}

/* What one packet should change, given the fixture's expectation. */
static void expect(struct snap *want, int prof, int kind, int reason, const char *cust,
		   uint64_t pkts, uint64_t bytes)
{
	struct tg_if_counters *ic = &want->ifc[prof];
	int dir = profiles[prof].role == TG_ROLE_CUSTOMER ? TG_DIR_UP : TG_DIR_DOWN;
	int c = cust ? cust_no(cust) : -1;

	switch (kind) {
	case E_PASS:
		add(&ic->pass, pkts, bytes);
		if (c >= 0)
			add(&want->cust[c].pass[dir], pkts, bytes);
		break;
	case E_UNCL:
		add(&ic->uncl, pkts, bytes);
		break;
	case E_DROP:
		add(&ic->drop[reason], pkts, bytes);
		if (c >= 0)
			add(&want->cust[c].drop[dir][reason], pkts, bytes);
		break;
	case E_NOTED:
		add(&ic->noted[reason], pkts, bytes);
		if (c >= 0) {
			add(&want->cust[c].pass[dir], pkts, bytes);
			add(&want->cust[c].noted[dir][reason], pkts, 0);
		}
		break;
	default:
		break;
	}
}

static void run_fixture(const struct fixture *f)
{
	struct snap before, after, want;
	uint8_t frame[2048];
	struct built b;
	char msg[2048] = "";
	uint64_t bytes;
	bool unparsed;
	__u32 ret = 0;
	int err;

	TEST_BEGIN(f->desc);
	if (profiles[f->prof].ifindex <= 0) {
		tl_case = NULL; /* not counted */
		skip(f->desc, "no second interface in the test namespace (veth/ifb unavailable)");
		return;
	}
	if (build_pkt(&f->pkt, frame, &b)) {
		fail(f->desc, NULL, "fixture error: bad address");
		return;
	}
	err = set_profile(f->prof);
	if (!err)
		err = take_snap(&before);
	if (!err)
		err = run_frame(profiles[f->prof].ifindex, frame, b.len, &ret);
	if (err == -EINVAL && f->needs_meta) {
		tl_case = NULL;
		skip(f->desc, "the kernel never gives XDP fewer than ETH_HLEN bytes "
			      "(BPF_PROG_TEST_RUN refuses it, even behind metadata; so do "
			      "bpf_xdp_adjust_head/tail): unreachable, untestable here");
		return;
	}
	if (!err)
		err = take_snap(&after);
	if (err) {
		snprintf(msg, sizeof(msg), "test run or counter read failed: %s", strerror(-err));
		fail(f->desc, f->bug, msg);
		return;
	}

	/* an unparsable frame (and ARP) is counted by its length on the wire */
	unparsed = f->reason == TG_R_MALFORMED && (f->kind == E_DROP || f->kind == E_NOTED);
	bytes = (unparsed && !f->l4bad) || f->pkt.arp || f->pkt.l2len ? b.len : b.iplen;
	want = before;
	expect(&want, f->prof, f->kind, f->reason, f->cust, 1, bytes);

	if (ret != (__u32)f->verdict)
		msg_add(msg, sizeof(msg), "; verdict %s want %s", verdict_name(ret),
			verdict_name(f->verdict));
	diff_snaps(&before, &after, &want, msg, sizeof(msg));
	if (msg[0] && !f->bug && v4_tables_broken && !b.v6)
		msg_add(msg, sizeof(msg), "; (IPv4 tables wrong: see the [BUG] sync check)");
	if (msg[0]) {
		fail(f->desc, f->bug, msg + 2);
		if (verbose) {
			fprintf(stderr, "      frame (%zu bytes, IP length %u):\n      ", b.len,
				b.iplen);
			hexdump(frame, b.len);
		}
	} else if (f->bug) {
		printf("NOTE %s: marked as a bug (%s) but passes now\n", f->desc, f->bug);
	}
}

/* ------------------------------------------------------------------------------------- */
/* The classification tables as the kernel reads them                                    */
/* ------------------------------------------------------------------------------------- */

/* The customer (number in custs[]) whose IPv4 prefix is the longest match for a, or -1. */
static int v4_owner(uint32_t a)
{
	int best = -1, best_len = -1;
	size_t i, j;

	for (i = 0; i < NCUST; i++) {
		if (absent_id && strcmp(custs[i].id, absent_id) == 0)
			continue;
		for (j = 0; j < 3 && custs[i].pfx[j]; j++) {
			struct tg_prefix p;
			char err[128];
			uint32_t net, mask;

			if (tg_parse_prefix(custs[i].pfx[j], &p, err, sizeof(err)) ||
			    p.family != AF_INET)
				continue;
			memcpy(&net, p.addr, 4);
			net = ntohl(net);
			mask = p.plen ? ~0u << (32 - p.plen) : 0;
			if ((a & mask) == net && p.plen > best_len) {
				best = i;
				best_len = p.plen;
			}
		}
	}
	return best;
}

static const char *idx_name(uint32_t idx)
{
	static char buf[32];
	size_t i;

	if (idx == TG_CUST_NONE)
		return "none";
	for (i = 0; i < NCUST; i++)
		if (cust_idx[i] == idx)
			return custs[i].id;
	snprintf(buf, sizeof(buf), "index %#x", idx);
	return buf;
}

/* The DIR-24-8 lookup of bpf/classify_kern.h, done with map syscalls. */
static uint32_t kernel_v4_lookup(uint32_t a)
{
	struct tg_v4_pair p;
	__u32 key = a >> 22, e, idx;
	__u64 v;

	if (bpf_map_lookup_elem(maps.v4_void, &key, &v) || (v >> ((a >> 16) & 63)) & 1)
		return TG_CUST_NONE;
	key = a >> 9;
	if (bpf_map_lookup_elem(maps.v4_tbl24, &key, &p))
		return TG_CUST_NONE;
	e = p.e[(a >> 8) & 1];
	if (!(e & TG_V4_TBL8))
		return e;
	idx = ((e & ~TG_V4_TBL8) << 8) | (a & 0xff);
	key = idx >> 1;
	if (bpf_map_lookup_elem(maps.v4_tbl8, &key, &p))
		return TG_CUST_NONE;
	return p.e[idx & 1];
}

/*
 * Read back, through bpf_map_lookup_elem, the first and last address of every IPv4 prefix
 * and of its neighbours, and the /24 at half its tbl24 index (where a wrong element size
 * would put it): the kernel must find exactly the longest-prefix owner.
 */
static void test_v4_tables(const char *desc, const char *bug)
{
	char msg[2048] = "";
	size_t i, j, k;

	TEST_BEGIN(desc);
	for (i = 0; i < NCUST; i++) {
		for (j = 0; j < 3 && custs[i].pfx[j]; j++) {
			struct tg_prefix p;
			char err[128];
			uint32_t net, probe[6];

			if (tg_parse_prefix(custs[i].pfx[j], &p, err, sizeof(err)) ||
			    p.family != AF_INET)
				continue;
			memcpy(&net, p.addr, 4);
			net = ntohl(net);
			probe[0] = net;
			probe[1] = net | (p.plen < 32 ? ~0u >> p.plen : 0);
			probe[2] = net - 1;
			probe[3] = probe[1] + 1;
			probe[4] = ((net >> 8) / 2) << 8 | 5;
			probe[5] = ((probe[1] >> 8) / 2) << 8 | 5;
			for (k = 0; k < ARRAY_SIZE(probe); k++) {
				int o = v4_owner(probe[k]);
				uint32_t want = o >= 0 ? cust_idx[o] : TG_CUST_NONE;
				uint32_t got = kernel_v4_lookup(probe[k]);
				struct in_addr ia = {htonl(probe[k])};

				if (got != want && (k != 5 || probe[5] != probe[4]))
					msg_add(msg, sizeof(msg), "; %s -> %s, want %s",
						inet_ntoa(ia), idx_name(got),
						o >= 0 ? custs[o].id : "none");
			}
		}
	}
	if (msg[0]) {
		if (!bug && v4_tables_broken)
			msg_add(msg, sizeof(msg),
				"; (IPv4 tables wrong: see the [BUG] sync check)");
		v4_tables_broken = true;
		fail(desc, bug, msg + 2);
	}
}

static int send_up4(const char *src, const char *dst, int n);

static bool void16(uint32_t a16)
{
	return (maps.v4void[a16 >> 6] >> (a16 & 63)) & 1;
}

/*
 * tg_v4_void as the program reads it, through the upstream check of a source inside our
 * own space (10.20.0.0/16 is c-d's): a set bit ends the lookup, a map of zeros (a new pin,
 * not yet written) only means looking in tbl24, so it classifies as before.
 */
static void test_v4_void(void)
{
	uint64_t saved[TG_V4_VOID_WORDS];
	const char *dst = "198.51.100.1"; /* c-a */

	TEST_BEGIN("v4 void /16s: the /16s holding customers are not void, the others are");
	CHECK(!void16(10 << 8 | 20) && !void16(198 << 8 | 51) && !void16(203 << 8 | 0));
	CHECK(void16(10 << 8 | 21) && void16(9 << 8 | 9) && void16(0));
	TEST_BEGIN("v4 void /16s: upstream, a source in c-d's /16 is spoofed, one in a void /16 "
		   "passes");
	CHECK_EQ_U64(set_profile(P_UP), 0);
	CHECK_EQ_U64(send_up4("10.20.1.1", dst, 1), 0);
	CHECK_EQ_U64(send_up4("10.21.1.1", dst, 1), 1);
	memcpy(saved, maps.v4void, sizeof(saved));
	TEST_BEGIN("v4 void /16s: the program reads the bit (10.20/16 marked void: its source "
		   "is no one's)");
	__atomic_store_n(&maps.v4void[(10 << 8 | 20) >> 6],
			 saved[(10 << 8 | 20) >> 6] | 1ull << ((10 << 8 | 20) & 63),
			 __ATOMIC_RELAXED);
	CHECK_EQ_U64(send_up4("10.20.1.1", dst, 1), 1);
	TEST_BEGIN("v4 void /16s: a map of zeros classifies as the tables say");
	memset(maps.v4void, 0, sizeof(saved));
	CHECK_EQ_U64(send_up4("10.20.1.1", dst, 1), 0);
	CHECK_EQ_U64(send_up4("10.21.1.1", dst, 1), 1);
	memcpy(maps.v4void, saved, sizeof(saved));
}

/* ------------------------------------------------------------------------------------- */
/* Policer                                                                               */
/* ------------------------------------------------------------------------------------- */

static uint64_t coarse_now_ns(void)
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

struct rate_case {
	const char *desc;
	int prof;
	const char *cust;
	int dir;
	struct pkt first; /* the first n - 1 conforming packets */
	struct pkt last;  /* packets n and n + 1: the last conforming one, then the one over */
	bool used;	  /* an earlier case drew on this bucket: wait until it is full again */
	bool l4bad;	  /* malformed after the IP header (upstream): the passes are noted */
};

/*
 * Send n + 1 back-to-back packets of one length to a customer whose bucket is full, where
 * n = tolerance / cost as the loader configured them: the first n pass, the last drops
 * with reason rate. The coarse clock may move during the burst and refill the bucket by
 * the time it moved (dt); the result is only asserted when dt cannot have admitted the
 * extra packet ((n + 1) * cost - tol > dt), and the burst is retried (after the bucket
 * refilled) otherwise. At 8 Mbit/s one tick refills more than a packet, so that means no
 * tick during the burst; at 8 kbit/s a tick adds 4 bytes and any short burst qualifies.
 */
static void run_rate_case(const struct rate_case *rc, const struct tg_rate_cfg *rate)
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

#define UDP_PAYLOAD4(iplen) ((iplen)-20 - 8)
#define UDP_PAYLOAD6(iplen) ((iplen)-40 - 8)

static void test_policer(void)
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
/* Packet-rate limits ("flood") and the SMTP policy                                        */
/* ------------------------------------------------------------------------------------- */

struct flood_case {
	const char *desc;
	int prof;
	const char *cust;
	int dir, fc;
	uint64_t pps; /* what the plan says: the test recomputes the burst from it */
	struct pkt pkt;
	int reason;
	uint64_t burst; /* the plan's burst; 0: one second's worth */
};

/*
 * From a full bucket, n + 1 back-to-back packets of one class, where n is the burst the
 * profile holds (one second's worth at the plan's rate, as tg_pkt_policer_params says):
 * the first n pass, the last drops with the class's reason. At these rates the next
 * packet's room is tens of ms away, so the clock cannot admit it during the burst.
 */
static void run_flood_case(const struct flood_case *fcase)
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
	for (i = 0; !err && i <= n; i++)
		err = run_frame(profiles[fcase->prof].ifindex, frame, b.len, &verdicts[i]);
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
static int send_up4(const char *src, const char *dst, int n)
{
	struct pkt pk = {V4(src, dst), .proto = IPPROTO_UDP, .payload = 20};
	uint8_t frame[2048];
	struct built b;
	int passed = 0;
	__u32 v;

	if (build_pkt(&pk, frame, &b))
		return -1;
	for (int i = 0; i < n; i++) {
		if (run_frame(profiles[P_UP].ifindex, frame, b.len, &v))
			return -1;
		passed += v == XDP_PASS;
	}
	return passed;
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

static struct tg_src_key src_key4(__u32 cust, const char *src)
{
	struct tg_src_key k = {.cust = cust};
	struct in_addr a = {0};

	inet_pton(AF_INET, src, &a);
	k.addr[0] = a.s_addr; /* network order in the first 4 bytes, as the program keys it */
	return k;
}

/* The per-source hash key the loader drew for these maps (tg_config.src_key). */
static __u64 src_hash_key(const struct tg_maps *m)
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

static void test_flood(void)
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

/* ------------------------------------------------------------------------------------- */
/* Setup                                                                                 */
/* ------------------------------------------------------------------------------------- */

/*
 * A private network namespace with lo and two more interfaces. veth where the kernel has
 * it, else ifb; without either the suite cannot run (main fails): the customers bound to
 * IF_B would load unbound, and fixtures on IF_A about them, the upstream sends and the
 * per-source tests would fail for want of an interface, looking like data plane bugs.
 * A half-made pair (busybox's ip ignores "peer name": IF_B then pairs with "veth0") is
 * no pair.
 */
static int setup_netns(void)
{
	static const char *const cmds[] = {
		"ip link add " IF_B " type veth peer name " IF_C " >/dev/null 2>&1",
		"ip link add " IF_B " type ifb >/dev/null 2>&1 && ip link add " IF_C
		" type ifb >/dev/null 2>&1",
	};
	size_t i;

	if (unshare(CLONE_NEWNET)) {
		printf("SKIP test_golden: cannot create a network namespace: %s\n",
		       strerror(errno));
		return -errno;
	}
	for (i = 0; i < ARRAY_SIZE(cmds) && !have_if_b; i++)
		have_if_b = system(cmds[i]) == 0 && if_nametoindex(IF_B) && if_nametoindex(IF_C);
	for (i = 0; i < P_NR; i++)
		profiles[i].ifindex = if_nametoindex(profiles[i].ifname);
	return 0;
}

static uint16_t refl_ports[] = {53, 123};
static const char *const walled_s[] = {WG_DNS4, WG_DNS6, WG_PORTAL4, WG_PORTAL6};
static struct tg_prefix walled[ARRAY_SIZE(walled_s)];
#define SRC_EXEMPT "9.9.100.0/24" /* per_source_exempt */
static struct tg_prefix src_exempt[1];
static struct tg_enf_table enf;
static struct tg_enf_view enf_view; /* of enf, for the sync */
static const struct tg_enf_entry suspended = {.id = "c-z", .state = TG_ST_SUSPENDED};
static const struct tg_enf_entry throttled = {
	.id = "c-t", .state = TG_ST_THROTTLED, .throttle_bps = THROTTLE_BPS};
static const struct tg_enf_entry throttled_tr = {
	.id = "p-tt", .state = TG_ST_THROTTLED, .throttle_bps = THROTTLE_BPS};

static int load_customers(const char *without)
{
	static struct tg_prefix pfx[NCUST][3];
	static struct tg_customer cu[NCUST];
	static struct tg_plan plans[PL_NR];
	static struct tg_iface_cfg ifc[2];
	struct tg_cfg cfg = {};
	struct tg_errs errs = {};
	char err[256];
	size_t i, j, n = 0;
	int ret;

	for (i = 0; i < PL_NR; i++) {
		snprintf(plans[i].name, sizeof(plans[i].name), "plan%zu", i);
		memcpy(plans[i].dir, plan_rates[i], sizeof(plans[i].dir));
		plans[i].flood = plan_extra[i].flood;
		plans[i].smtp = plan_extra[i].smtp;
		plans[i].smtp_limit = plan_extra[i].smtp_limit;
		plans[i].yellow_dscp = i == PL_P_TRTCM ? TR_YELLOW : 0;
	}
	snprintf(ifc[0].name, sizeof(ifc[0].name), IF_A);
	snprintf(ifc[1].name, sizeof(ifc[1].name), IF_B);
	absent_id = without;
	for (i = 0; i < NCUST; i++) {
		const struct cust_def *d = &custs[i];

		if (without && strcmp(d->id, without) == 0)
			continue;
		memset(&cu[n], 0, sizeof(cu[n]));
		snprintf(cu[n].id, sizeof(cu[n].id), "%s", d->id);
		cu[n].plan = d->plan;
		cu[n].vlan = d->vlan;
		cu[n].ivlan = d->ivlan;
		cu[n].line = i + 2;
		memcpy(cu[n].dir, plan_rates[d->plan], sizeof(cu[n].dir));
		if (strcmp(d->iface, IF_B) || have_if_b)
			snprintf(cu[n].iface, sizeof(cu[n].iface), "%s", d->iface);
		for (j = 0; j < 3 && d->pfx[j]; j++) {
			if (tg_parse_prefix(d->pfx[j], &pfx[n][j], err, sizeof(err))) {
				fprintf(stderr, "fixture error: %s: %s\n", d->pfx[j], err);
				return -EINVAL;
			}
		}
		cu[n].pfx = pfx[n];
		cu[n].npfx = j;
		if (!strcmp(d->id, "c-g"))
			cu[n].flood_pps[0] = OWN_SYN;
		n++;
	}
	cfg.path = "test_golden";
	cfg.plans = plans;
	cfg.nplans = PL_NR;
	cfg.ifaces = ifc;
	cfg.nifaces = have_if_b ? 2 : 1;
	cfg.customers = cu;
	cfg.ncustomers = n;
	cfg.max_customers = 64;
	cfg.max_prefixes = 128;
	cfg.refl_ports = refl_ports;
	cfg.walled_garden = walled;
	cfg.nwalled = ARRAY_SIZE(walled_s);
	cfg.src_exempt = src_exempt;
	cfg.nsrc_exempt = 1;
	if (tg_parse_prefix(SRC_EXEMPT, &src_exempt[0], err, sizeof(err)))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(walled_s); i++)
		if (tg_parse_prefix(walled_s[i], &walled[i], err, sizeof(err))) {
			fprintf(stderr, "fixture error: %s: %s\n", walled_s[i], err);
			return -EINVAL;
		}
	memset(&enf, 0, sizeof(enf));
	if (tg_enf_put(&enf, &suspended) || tg_enf_put(&enf, &throttled) ||
	    tg_enf_put(&enf, &throttled_tr))
		return -ENOMEM;
	tg_enf_view_init(&enf_view, &enf);
	cfg.nrefl_ports = ARRAY_SIZE(refl_ports);
	ret = tg_sync_customers(&maps, &cfg, &(struct tg_sync_env){.enf = &enf_view}, NULL, &errs);
	if (ret) {
		fprintf(stderr, "tg_sync_customers: %s\n", strerror(-ret));
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "  %s\n", errs.msg[i]);
		tg_errs_free(&errs);
		return ret;
	}
	tg_errs_free(&errs);
	for (i = 0; i < NCUST; i++) {
		cust_idx[i] = tg_find_customer(&maps, custs[i].id);
		if (cust_idx[i] == TG_CUST_NONE &&
		    !(without && strcmp(custs[i].id, without) == 0)) {
			fprintf(stderr, "customer %s has no index after the sync\n", custs[i].id);
			return -ENOENT;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------------------- */
/* Resync: the daemon's reload path                                                      */
/* ------------------------------------------------------------------------------------- */

/*
 * Sync the same config again (indexes must not move), then without c-b (its /32 and its
 * /56, the only /56, must fall back to the covering prefixes, and its index is released),
 * then with c-b again.
 */
static void test_resync(void)
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
static void test_enforce_records(void)
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
static void test_port_samples(void)
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

/*
 * tg_read_cust_all (tollgated's enforcement interval) against values written at known
 * indexes of a private instance large enough for three batches, chunk edges included.
 */
static void test_read_all(void)
{
	static const __u32 at[] = {1, 2, 4094, 4095, 4096, 4097, 8191, 8192, 8193, 10000};
	struct tg_capacity cap = {.max_customers = 10000, .max_prefixes = 20000};
	struct tg_cstat *pass = NULL, *pc = NULL;
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
	CHECK(tg_maps_map_cdrop(&big) == 0);
	CHECK(pc && pass && big.cdrop_mm);
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
	if (pc && pass && big.cdrop_mm) {
		const struct tg_cdrop *cd = big.cdrop_mm;

		CHECK(tg_read_cust_all(&big, big.max_cust, pass) == 0);
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
	tg_maps_close(&big);
}

/* ------------------------------------------------------------------------------------- */
/* ---- h3: limits a spoofed flood cannot turn against a customer ---- */
/* ------------------------------------------------------------------------------------- */

/* Send pk on prof until one drops (at most max): how many passed first, -1 if none dropped. */
static int h3_drain(int prof, const struct pkt *pk, int max)
{
	uint8_t frame[2048];
	struct built b;
	__u32 v;

	if (build_pkt(pk, frame, &b) || set_profile(prof))
		return -1;
	for (int i = 0; i < max; i++) {
		if (run_frame(profiles[prof].ifindex, frame, b.len, &v))
			return -1;
		if (v == XDP_DROP)
			return i;
	}
	return -1;
}

/* Send pk n times on prof: how many passed, -1 on error. */
static int h3_send(int prof, const struct pkt *pk, int n)
{
	uint8_t frame[2048];
	struct built b;
	int passed = 0;
	__u32 v;

	if (build_pkt(pk, frame, &b))
		return -1;
	for (int i = 0; i < n; i++) {
		if (run_frame(profiles[prof].ifindex, frame, b.len, &v))
			return -1;
		passed += v == XDP_PASS;
	}
	return passed;
}

#define LF4 "198.18.20.5"
#define LF6 "2001:db8:320::5"

static void test_h3_icmp(void)
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

static void test_h3_exempt(void)
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
static void test_h3_share(void)
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

static void test_h3_keyed(void)
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
static void h3_exc_burst(const char *desc, const struct pkt *pkts, int npkts, int n, int kind,
			 const char *cust, const char *owner)
{
	struct snap before, after, want;
	uint8_t frame[2048];
	struct built b;
	char msg[2048] = "";
	__u32 v;
	int i, err = take_snap(&before);

	TEST_BEGIN(desc);
	want = before;
	for (i = 0; !err && i <= n; i++) {
		const struct pkt *pk = &pkts[i % npkts];
		uint64_t bytes;

		if (build_pkt(pk, frame, &b)) {
			fail(desc, NULL, "fixture error");
			return;
		}
		bytes = pk->arp || pk->l2len ? b.len : b.iplen;
		err = run_frame(profiles[P_STRICT].ifindex, frame, b.len, &v);
		if (!err && v != (i < n ? XDP_PASS : XDP_DROP))
			msg_add(msg, sizeof(msg), "; packet %d of %d: %s", i + 1, n + 1,
				verdict_name(v));
		if (i < n)
			expect(&want, P_STRICT, kind, 0, cust, 1, bytes);
		else
			expect(&want, P_STRICT, E_DROP, TG_R_EXCEPTION, owner, 1, bytes);
	}
	if (!err)
		err = take_snap(&after);
	if (err) {
		fail(desc, NULL, "test run or counter read failed");
		return;
	}
	diff_snaps(&before, &after, &want, msg, sizeof(msg));
	if (msg[0])
		fail(desc, NULL, msg + 2);
}

static void test_h3_exceptions(void)
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

/* ------------------------------------------------------------------------------------- */
/* h4: two-rate three-colour policer (RFC 2698)                                           */
/* ------------------------------------------------------------------------------------- */

/* run_frame, and the frame as the program left it (XDP may rewrite it) in out. */
static int run_frame_out(int ifindex, const uint8_t *frame, size_t len, uint8_t *out, __u32 *retval)
{
	struct xdp_md ctx = {.data = 0, .data_end = len, .ingress_ifindex = ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .data_out = out,
		    .data_size_out = 2048, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(maps.prog, &opts))
		return -errno;
	if (opts.data_size_out != len)
		return -EMSGSIZE;
	*retval = opts.retval;
	return 0;
}

struct trtcm_case {
	const char *desc;
	int prof;
	const char *cust;
	struct pkt pkt; /* sent TR_PBS / size + 1 times to a full pair of buckets */
	uint8_t tclass; /* the sent TOS / traffic class: DSCP AF41, ECN ECT(1) */
	bool throttled; /* single-rate: no yellow, red right after the green */
};

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
	uint8_t in[2048], out[2048];
	struct snap before, after, want;
	struct built b;
	char msg[4096] = "";
	int i, err;

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
	err = set_profile(tc->prof);
	if (!err)
		err = take_snap(&before);
	for (i = 0; !err && i < n_green + n_yellow + 1; i++) {
		const char *colour = i < n_green	      ? "green"
				     : i < n_green + n_yellow ? "yellow"
							      : "red";
		__u32 want_v = i < n_green + n_yellow ? XDP_PASS : XDP_DROP, v = 0;
		uint8_t tcl, want_tc;

		err = run_frame_out(profiles[tc->prof].ifindex, in, b.len, out, &v);
		if (err)
			break;
		if (v != want_v) {
			msg_add(msg, sizeof(msg), "; packet %d (%s): %s, want %s", i + 1, colour,
				verdict_name(v), verdict_name(want_v));
			continue;
		}
		if (v != XDP_PASS)
			continue;
		tcl = b.v6 ? (uint8_t)((out[b.l3] & 0x0f) << 4 | out[b.l3 + 1] >> 4)
			   : out[b.l3 + 1];
		want_tc = i < n_green ? tc->tclass : (uint8_t)(TR_YELLOW << 2 | (tc->tclass & 3));
		if (tcl != want_tc)
			msg_add(msg, sizeof(msg),
				"; packet %d (%s): DSCP %u ECN %u, want DSCP %u ECN %u", i + 1,
				colour, tcl >> 2, tcl & 3, want_tc >> 2, want_tc & 3);
		if (!b.v6 && ip_csum(out + b.l3, 20) != 0)
			msg_add(msg, sizeof(msg),
				"; packet %d (%s): IPv4 header checksum %04x wrong", i + 1, colour,
				(out[b.l3 + 10] << 8) | out[b.l3 + 11]);
		/* nothing else changed: the traffic class bytes (and the checksum) aside */
		for (size_t k = 0; k < b.len; k++) {
			bool tcbyte = b.v6 ? k == b.l3 || k == b.l3 + 1
					   : k == b.l3 + 1 || k == b.l3 + 10 || k == b.l3 + 11;

			if (out[k] != in[k] && (i < n_green || !tcbyte)) {
				msg_add(msg, sizeof(msg), "; packet %d (%s): byte %zu changed",
					i + 1, colour, k);
				break;
			}
		}
		if (i >= n_green && b.v6 && ((out[b.l3] ^ in[b.l3]) & 0xf0))
			msg_add(msg, sizeof(msg), "; packet %d: IPv6 version field changed", i + 1);
	}
	if (!err)
		err = take_snap(&after);
	if (err) {
		snprintf(msg, sizeof(msg), "; test run or counter read failed: %s", strerror(-err));
		fail(tc->desc, NULL, msg + 2);
		return;
	}
	want = before;
	expect(&want, tc->prof, E_PASS, 0, tc->cust, n_green + n_yellow,
	       (uint64_t)(n_green + n_yellow) * b.iplen);
	expect(&want, tc->prof, E_DROP, TG_R_RATE, tc->cust, 1, b.iplen);
	diff_snaps(&before, &after, &want, msg, sizeof(msg));
	if (msg[0]) {
		if (verbose)
			hexdump(out, b.len);
		fail(tc->desc, NULL, msg + 2);
	}
}

static void test_trtcm(void)
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

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-v] [-f SUBSTRING]\n"
		"  -v   show the frame of every failing fixture and the policer arithmetic\n"
		"  -f   run only the fixtures whose description contains SUBSTRING\n",
		prog);
}

/* ---- h2: upstream counting ---- */

/*
 * Malformed after the IP header meets the fragment limit too: first IPv4 fragments with a
 * TCP data offset of 4 toward c-f (PL_FLOOD, download frag 5/s): the burst passes (c-f's
 * passed traffic and would-drop malformed), the next one drops as flood_frag.
 */
static void test_h2_frag_limit(void)
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
	for (i = 0; !err && i <= n; i++)
		err = run_frame(profiles[P_UP].ifindex, frame, b.len, &v[i]);
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
static void test_h2_jumbo_ext(void)
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
static void test_h2_policed(void)
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
static void test_h2_noted_coalesce(void)
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

/* ---- h5: PPPoE ---- */

/* The policer and the packet-rate limits see the IP packet inside a PPPoE session. */
static void test_pppoe_limits(void)
{
	const struct rate_case rate = {
		"PPPoE rate: upload 8 Mbit/s, burst 3000 B: n 1000-byte v4 packets in a QinQ "
		"session "
		"pass, n + 1 drops (the IP bytes are policed)",
		P_STRICT,
		"e-r",
		TG_DIR_UP,
		{QINQ(300, 400), SES(0x42), V4("198.18.10.5", DST4), .proto = IPPROTO_UDP,
		 .payload = UDP_PAYLOAD4(1000)},
		{QINQ(300, 400), SES(0x42), V4("198.18.10.5", DST4), .proto = IPPROTO_UDP,
		 .payload = UDP_PAYLOAD4(1000)},
		false,
		false,
	};
	const struct flood_case syn = {
		"PPPoE flood: upload TCP SYN at 20/s in a QinQ session: 20 pass, the 21st drops as "
		"flood_syn",
		P_STRICT,
		"e-f",
		TG_DIR_UP,
		TG_FC_SYN,
		FL_SYN,
		{QINQ(300, 401), SES(0x43), V4("198.18.11.5", DST4), .dport = 443},
		TG_R_FLOOD_SYN,
		0,
	};
	const struct flood_case icmp6 = {
		"PPPoE flood: upload ICMPv6 echo at 10/s, burst 4, compressed PPP protocol: 4 "
		"pass, "
		"then flood_icmp",
		P_STRICT,
		"e-f",
		TG_DIR_UP,
		TG_FC_ICMP,
		FL_ICMP,
		{QINQ(300, 401), SES(0x43), .ppp = PPP_PFC | 0x57, V4("2001:db8:311::5", DST6),
		 .proto = IPPROTO_ICMPV6, .icmp_type = ICMP6_ECHO_REQ, .payload = 56},
		TG_R_FLOOD_ICMP,
		FL_ICMP_BURST,
	};

	run_rate_case(&rate, &plan_rates[PL_UP8M][TG_DIR_UP]);
	run_flood_case(&syn);
	run_flood_case(&icmp6);
}

int main(int argc, char **argv)
{
	struct tg_capacity cap = {.max_customers = 64, .max_prefixes = 128};
	const char *filter = NULL;
	cpu_set_t cpus;
	size_t i;
	int opt, err;

	while ((opt = getopt(argc, argv, "vf:h")) != -1) {
		switch (opt) {
		case 'v':
			verbose = true;
			break;
		case 'f':
			filter = optarg;
			break;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP test_golden: needs root (BPF_PROG_TEST_RUN, network namespace)\n");
		return 77;
	}
	/* one CPU: the per-CPU drop slot then coalesces exactly as the reader expects */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

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
	test_v4_tables("sync: every IPv4 prefix as the kernel's tables see it", NULL);
	if (!filter || strstr(filter, "void"))
		test_v4_void();
	test_enforce_records();
	test_read_all();
	for (i = 0; i < ARRAY_SIZE(fixtures); i++)
		if (!filter || strstr(fixtures[i].desc, filter))
			run_fixture(&fixtures[i]);
	if (!filter)
		test_port_samples();
	if (!filter || strstr(filter, "rate"))
		test_policer();
	if (!filter || strstr(filter, "flood") || strstr(filter, "smtp"))
		test_flood();
	if (!filter || strstr(filter, "resync"))
		test_resync();
	if (!filter || strstr(filter, "h3")) {
		test_h3_icmp();
		test_h3_exempt();
		test_h3_share();
		test_h3_keyed();
		test_h3_exceptions();
	}
	if (!filter || strstr(filter, "PPPoE"))
		test_pppoe_limits();
	if (!filter || strstr(filter, "h2")) {
		test_h2_noted_coalesce();
		test_h2_policed();
		test_h2_jumbo_ext();
		test_h2_frag_limit();
	}
	if (!filter || strstr(filter, "trtcm"))
		test_trtcm();
	tg_maps_close(&maps);
	if (nskipped)
		printf("%d skipped\n", nskipped);
	return test_summary();
}
