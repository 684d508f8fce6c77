/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * golden.h - what the files of test_golden share (tests/bpf/golden/, docs/testing.md): the
 * packet description and its builder (packet.c), the interface profiles, plans and
 * customers the program is loaded with (world.c), the fixture type and its expectation
 * macros, the counter snapshots and the runner (check.c), and the test groups, one file
 * per feature (fx_*.c: fixture tables; t_*.c: tests that need more than one packet).
 * Only the files of test_golden include it.
 */
#ifndef TG_GOLDEN_H
#define TG_GOLDEN_H

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
#include "bpf/harness.h"

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

#define UP8M_BPS 8000000ull
#define DOWN8K_BPS 8000ull
#define TEST_BURST 3000ull
/* PL_P_TRTCM: slow enough that a tick refills a few bytes, not a packet */
#define TR_CIR_BPS 8000ull
#define TR_CBS 3000ull
#define TR_PIR_BPS 16000ull
#define TR_PBS 6000ull
#define TR_YELLOW 14 /* AF13 */

/*
 * A binding's VLANs (tollgate_kern_user.h): VUNT untagged only, VANY any (the CSV's `*`).
 * VNONE is the old name, kept for fixtures written against it: untagged since layout 9.
 */
#define VUNT TG_VLAN_UNTAGGED
#define VANY TG_VLAN_ANY
#define VNONE VUNT

#define THROTTLE_BPS 1000000ull
/* the walled garden: a resolver and a portal, in both families */
#define WG_DNS4 "8.8.4.4"
#define WG_DNS6 "2001:4860:4860::8844"
#define WG_PORTAL4 "198.18.200.0/24"
#define WG_PORTAL6 "2001:db8:beef::/48"
#define OWN_SYN 40

/* What a plan has besides its rates (plan_rates). */
struct plan_extra {
	struct tg_flood_cfg flood;
	int smtp;
	uint32_t smtp_limit;
};

/* A customer of the test: its id, the interface and VLANs it is bound to, plan, prefixes. */
struct cust_def {
	const char *id, *iface;
	uint16_t vlan, ivlan;
	int plan;
	const char *pfx[3];
};

#define NCUST 32 /* entries of custs[] (world.c checks it) */

extern struct th_profile profiles[P_NR]; /* the slot is the profile number */
extern const struct tg_rate_cfg plan_rates[PL_NR][TG_DIR_NR];
extern const struct cust_def custs[NCUST];
extern struct tg_maps maps;
extern const char *absent_id; /* a customer left out of the current sync (resync test) */
extern uint32_t cust_idx[NCUST];
extern int nskipped;
extern struct tg_prefix walled[4];
extern struct tg_enf_table enf;
extern const struct tg_enf_entry suspended, throttled;

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

extern const char *const dir_name[TG_DIR_NR];
extern bool verbose;
extern bool have_if_b;	      /* IF_B and IF_C exist */
extern bool v4_tables_broken; /* failing IPv4 fixtures then point at the table check */

/* The UDP payload that makes an IP packet of iplen bytes. */
#define UDP_PAYLOAD4(iplen) ((iplen)-20 - 8)
#define UDP_PAYLOAD6(iplen) ((iplen)-40 - 8)

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

/* check.c: the counters before and after, one fixture through the program */

/*
 * A burst: packets sent back to back on one profile, as the multi-packet tests need them
 * (the policers, the packet-rate limits, the exception limit). send_burst() returns 0 or
 * -errno (-EINVAL: a packet that does not build), with the results in the struct.
 */
#define BURST_PKTS 8 /* distinct packets a burst cycles through */
struct burst {
	int prof;		/* the profile they arrive on */
	int n;			/* how many to send */
	const struct pkt *pkts; /* packet i is pkts[i % npkts], each built once */
	int npkts;		/* 0 counts as 1; at most BURST_PKTS */
	const uint8_t *frame;	/* instead of pkts: these len bytes (built, then edited) */
	size_t len;
	bool until_drop; /* stop after the first XDP_DROP */
	__u32 *verdicts; /* n verdicts, or NULL */
	/* after every packet: its number and verdict, what was built (NULL with frame) and the
	 * frame as the program left it (XDP may rewrite it) */
	void (*each)(struct burst *bu, int i, __u32 verdict, const struct built *b,
		     const uint8_t *out);
	void *arg; /* each()'s */
	/* results */
	int sent, passed;
	int first_drop; /* the number of the first packet dropped, -1 if none */
};
int send_burst(struct burst *bu);
int take_snap(struct snap *s);
void add(struct tg_counter *c, uint64_t pkts, uint64_t bytes);
/* Append to a message buffer. */
void msg_add(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int diff_snaps(const struct snap *before, const struct snap *after, const struct snap *want,
	       char *msg, size_t n);
int set_profile(int prof);
int run_frame(int ifindex, const uint8_t *frame, size_t len, __u32 *retval);
const char *verdict_name(__u32 v);
void hexdump(const uint8_t *p, size_t len);
void skip(const char *desc, const char *why);
void fail(const char *desc, const char *bug, const char *msg);
void expect(struct snap *want, int prof, int kind, int reason, const char *cust, uint64_t pkts,
	    uint64_t bytes);
void run_fixture(const struct fixture *f);

/* packet.c: the packet builder */
void put16(uint8_t *p, uint16_t v);
uint16_t ip_csum(const uint8_t *p, size_t len);
int parse_addr(const char *s, uint8_t *out, bool *v6);
int build_pkt(const struct pkt *p, uint8_t *buf, struct built *out);

/* t_capture.c */
void test_capture(void);

/* t_floods.c */
void run_flood_case(const struct flood_case *fcase);
int send_up4(const char *src, const char *dst, int n);
struct tg_src_key src_key4(__u32 cust, const char *src);
__u64 src_hash_key(const struct tg_maps *m);
void test_flood(void);

/* t_fanout.c */
void test_fanout(void);

/* t_h2.c */
void test_h2_frag_limit(void);
void test_h2_jumbo_ext(void);
void test_h2_policed(void);
void test_h2_noted_coalesce(void);

/* t_h3.c */
void test_h3_icmp(void);
void test_h3_exempt(void);
void test_h3_share(void);
void test_h3_keyed(void);
void test_h3_exceptions(void);

/* t_policer.c */
uint64_t coarse_now_ns(void);
void run_rate_case(const struct rate_case *rc, const struct tg_rate_cfg *rate);
void test_policer(void);
void test_trtcm(void);

/* t_pppoe.c */
void test_pppoe_limits(void);

/* t_state.c */
void test_resync(void);
void test_enforce_records(void);
void test_port_samples(void);
void test_dest_samples(void);
void test_read_all(void);
void test_fold(void);

/* t_tables.c */
void test_v4_tables(const char *desc, const char *bug);
void test_v4_void(void);

/* world.c: the test namespace, the customers, their sync */
int setup_netns(void);
int cust_no(const char *id);
int load_customers(const char *without);

/* The fixture tables, one per feature (fx_*.c), run by test_golden.c in this order. */
extern const struct fixture fx_customer[];
extern const size_t fx_customer_n;
extern const struct fixture fx_upstream[];
extern const size_t fx_upstream_n;
extern const struct fixture fx_spoof[];
extern const size_t fx_spoof_n;
extern const struct fixture fx_vlan[];
extern const size_t fx_vlan_n;
extern const struct fixture fx_bogons[];
extern const size_t fx_bogons_n;
extern const struct fixture fx_exceptions[];
extern const size_t fx_exceptions_n;
extern const struct fixture fx_ext6[];
extern const size_t fx_ext6_n;
extern const struct fixture fx_ipv4[];
extern const size_t fx_ipv4_n;
extern const struct fixture fx_truncated[];
extern const size_t fx_truncated_n;
extern const struct fixture fx_walled[];
extern const size_t fx_walled_n;
extern const struct fixture fx_monitor[];
extern const size_t fx_monitor_n;
extern const struct fixture fx_noif[];
extern const size_t fx_noif_n;
extern const struct fixture fx_bogon_edges[];
extern const size_t fx_bogon_edges_n;
extern const struct fixture fx_strict_exceptions[];
extern const size_t fx_strict_exceptions_n;
extern const struct fixture fx_upstream_counting[];
extern const size_t fx_upstream_counting_n;
extern const struct fixture fx_l2[];
extern const size_t fx_l2_n;
extern const struct fixture fx_bindings[];
extern const size_t fx_bindings_n;

#endif /* TG_GOLDEN_H */
