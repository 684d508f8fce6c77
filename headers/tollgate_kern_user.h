/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tollgate_kern_user.h - everything the XDP program and userspace share: the pinned
 * layout (map names, key and value structs), the enums of roles, modes, verdicts and
 * drop reasons, and the limits with their units. One definition; both sides include it.
 *
 * Any change to a struct, an enum's numbering or a map's shape must bump
 * TG_LAYOUT_VERSION: userspace refuses to use pins of another version instead of
 * misreading them.
 */
#ifndef TOLLGATE_KERN_USER_H
#define TOLLGATE_KERN_USER_H

#include <linux/types.h>

#define TG_LAYOUT_MAGIC 0x54474c59u /* "TGLY" */
#define TG_LAYOUT_VERSION 13u /* the record sizes it stands for: TG_LAYOUT_SIZES, at the end */

/* ---- limits ---- */
#define TG_MAX_IFACES 64u     /* attached interfaces (slots of the interface counters) */
#define TG_MAX_IFINDEX 65536u /* tg_ifaces is an array indexed by ifindex: one load, no hash */
#define TG_IFNAME_LEN 16u     /* IFNAMSIZ */
#define TG_ID_LEN 48u	      /* external customer id (billing/CRM), NUL-terminated */

/*
 * VLAN ids in a binding (tg_cust.bind_vlan/bind_ivlan), a parsed frame (tg_pkt) and a port
 * (tg_bind_key), one per tag position, outer first. A VID is 12 bits, so the sentinels
 * cannot be one:
 *   TG_VLAN_UNTAGGED (0): no tag at this position. A priority tag (802.1p, VID 0) is no
 *     tag: the parser skips it wherever it sits, as Linux does (a VID-0 tag followed by
 *     tag 100 reaches the VLAN 100 device), so it neither dodges a binding nor moves the
 *     charge for a spoofed frame off the untagged port's owner.
 *   1..4095: exactly this VID.
 *   TG_VLAN_ANY (0xffff): binding only, any tag or none at this position. CSV `*` is
 *     (ANY, ANY), the whole interface; `100.*` is (100, ANY): outer 100, any inner tag or
 *     none. An empty vlan column is (UNTAGGED, UNTAGGED) and `100` is (100, UNTAGGED):
 *     exactly one tag, so a 100.200 frame does not match it.
 * The TPID is not part of a binding but of the interface (TG_IFF_VLAN_Q/_AD): an access
 * network uses one outer TPID, and the frame to refuse is one with the other, which a
 * switch that knows only its own passed on as untagged; see docs/policy.md, "TPID".
 */
#define TG_VLAN_UNTAGGED 0u
#define TG_VLAN_ANY 0xffffu
#define TG_VLAN_VID_MAX 4095u

/*
 * Sources never valid on the wire (RFC 6890), dropped as `bogon` in both roles. One list:
 * the data plane tests a packet's source against it (classify_kern.h tg_bogon_src), and
 * the customers CSV refuses a prefix that overlaps it (units.c tg_prefix_refused), since a
 * customer holding one could never pass and its space would make the upstream role drop
 * every packet from it as spoofed. X(network, length, name); IPv4 host order, IPv6 as the
 * two host-order 64-bit halves.
 */
#define TG_BOGON4_LIST(X)                                                                          \
	X(0x00000000u, 8, "this network")                                                          \
	X(0x7f000000u, 8, "loopback")                                                              \
	X(0xe0000000u, 4, "multicast")                                                             \
	X(0xf0000000u, 4, "reserved and broadcast")
#define TG_BOGON6_LIST(X)                                                                          \
	X(0x0ull, 0x0ull, 128, "unspecified")                                                      \
	X(0x0ull, 0x1ull, 128, "loopback")                                                         \
	X(0x0ull, 0x0000ffff00000000ull, 96, "IPv4-mapped")                                        \
	X(0xff00000000000000ull, 0x0ull, 8, "multicast")

/*
 * Policer arithmetic (policer_kern.h): the interval per byte in 2^-16 ns (ipb_fns16), per
 * packet in 2^-8 ns (ipp_fns), the tolerance in 2^-8 ns (tol_fns). Time is compared by
 * signed 64-bit difference (its wrap is harmless), so a tolerance plus one packet's cost
 * must stay below 2^63: tol_fns is at most 2^62 (2^54 ns, 208 days of the rate), which
 * leaves more than the largest cost (65535 bytes at the lowest rate, under 2^48). Userspace
 * refuses a burst over it; it never clamps one.
 */
#define TG_GCRA_TOL_MAX_FNS (1ull << 62)

/*
 * IPv4 classification: DIR-24-8. tg_v4_tbl24 has one u32 per /24 (2^24 entries, 64 MiB,
 * mmapable so userspace writes it in place); tg_v4_tbl8 holds 256-entry chunks for the /24s
 * that contain prefixes longer than /24. An entry is TG_V4_NONE, a customer index, or
 * TG_V4_TBL8 | chunk number.
 */
#define TG_V4_TBL24_ENTRIES (1u << 24)
#define TG_V4_NONE 0u
#define TG_V4_TBL8 0x80000000u
#define TG_V4_TBL8_CHUNK 256u

/*
 * tg_v4_void: one bit per /16 (bit a >> 16 & 63 of word a >> 22), set when no customer
 * holds an address in it. A lookup of an address in a void /16 ends there, in 8 KiB that
 * stay in cache, instead of reading tbl24 (64 MiB) at a random place: the address of every
 * packet of a random-source flood is looked up (the source, to find spoofing), and each
 * such read was a cache and TLB miss. A clear bit only means "look in tbl24", so a map of
 * zeros (new, or not yet written) is slow but never wrong; userspace clears a bit before
 * an address of the /16 is given to a customer and sets it after the last one is gone.
 */
#define TG_V4_VOID_WORDS (1u << 10)

/*
 * Array map elements are 8-byte aligned whatever the value size, so a u32 value would
 * waste half the memory and, seen through mmap, not be a plain u32 array. The maps hold
 * pairs instead: element k carries entries 2k and 2k+1. Through mmap both tables are then
 * exactly u32[n], which is how userspace writes them.
 */
struct tg_v4_pair {
	__u32 e[2];
};

/*
 * IPv6 classification: a multibit trie in one array of 256-entry chunks (tg_v6_trie) and
 * one array of compare nodes (tg_v6_cmp), both mmapable and written in place by
 * userspace. Chunks 0..255 are the root: chunk = the address's first byte, entry = its
 * second, so the root resolves /16 and shorter. Every other chunk resolves the next
 * byte. An entry is an answer (TG_V6_NONE or a customer index), TG_V6_NODE | chunk, or
 * TG_V6_CMP | compare node; a prefix whose length is not a multiple of 8 fills the 2^k
 * entries it covers, and a longer prefix below a shorter one inherits the shorter one's
 * owner everywhere else (the longest match is what a walk ends on).
 *
 * A compare node stands for chunks with a single way down: it compares the next bits of
 * the address with want; if they differ the answer is miss, else hit, which is an answer
 * or a chunk to go on with (then bits is a multiple of 8). So the /32 of an ISP costs one
 * node, not two chunks, and a customer alone in its /48 (a /56 or /64 out of a sparse
 * plan, RIPE-690) costs a 32-byte node instead of a 1 KiB chunk per byte. A /48 out of
 * an ISP's /32 takes 4 reads (root, the /32's node, the chunks of bytes 4 and 5),
 * whatever the number of customers.
 */
#define TG_V6_CHUNK 256u
#define TG_V6_ROOT_CHUNKS 256u
#define TG_V6_NONE 0u
#define TG_V6_NODE 0x80000000u /* | chunk */
#define TG_V6_CMP 0x40000000u  /* | compare node */
#define TG_V6_IDX 0x3fffffffu  /* the index under either flag; customer indexes stay below */
#define TG_V6_DEPTH 14u	       /* steps below the root: bytes 2..15 of the address */
#define TG_V6_CMP_BITS 56u     /* most bits a compare node takes (shifts stay < 64) */

struct tg_v6_chunk {
	__u32 e[TG_V6_CHUNK];
};

struct tg_v6_cmp {
	__u64 want; /* the next `bits` bits of the address, right-aligned */
	__u32 bits; /* 1..TG_V6_CMP_BITS */
	__u32 hit;  /* an answer, or TG_V6_NODE | chunk */
	__u32 miss; /* an answer */
	__u32 pad[3];
};

/* Customer index 0 is never assigned: 0 means "no customer" in every table. */
#define TG_CUST_NONE 0u
#define TG_CUST_PORT 0xfffffffeu /* data plane only: charge the access port's owner */

/*
 * The lists. Each concept that has names is defined once here, as an X-macro list in the
 * manner of the kernel's include/net/dropreason-core.h: FN(NAME, "name", ...) per member,
 * in the order of its numbering. The enum below each list is generated from it, and so is
 * every name table, parser, JSON key, metric label and rule metric in userspace
 * (user/lib/names.c); docs/lists.md says where each is used and how to add a member.
 * Where the numbering is part of the pinned layout (reasons, flood classes, roles,
 * antispoof modes, states), a new member goes last and TG_LAYOUT_VERSION changes.
 */

/* Interface roles (tg_iface.role; tollgate.yaml `role:`, `attach ... role`). */
#define TG_ROLES(FN)                                                                               \
	FN(CUSTOMER, "customer") /* traffic from customers: classify by source (upload) */         \
	FN(UPSTREAM, "upstream") /* traffic to customers: classify by destination (download) */

/* Anti-spoofing modes of a customer-role interface (tg_iface.antispoof; `antispoof:`). */
#define TG_ANTISPOOFS(FN)                                                                          \
	FN(STRICT, "strict") /* source belongs to a customer bound to this interface (and VLAN) */ \
	FN(LOOSE, "loose")   /* source belongs to some customer */                                 \
	FN(OFF, "off")

/* XDP attach modes (userspace only: `mode:`, `attach ... mode`), enum tg_xdp_mode. */
#define TG_MODES(FN)                                                                               \
	FN(NATIVE, "native")   /* driver mode (default) */                                         \
	FN(GENERIC, "generic") /* skb mode: any interface, slower */

/*
 * Why a packet was dropped (enum tg_reason, TG_R_<NAME>). The name is the reason's
 * everywhere: the JSON key of the counters, the `reason` label of the metrics, the rule
 * metrics <name>_pps and download_<name>_pps. Numbering is part of the layout.
 */
#define TG_REASONS(FN)                                                                             \
	FN(RATE, "rate")	   /* over the customer's bandwidth policer */                     \
	FN(SPOOF, "spoof")	   /* source not allowed here (BCP 38) */                          \
	FN(BOGON, "bogon")	   /* source never valid on the wire (RFC 6890) */                 \
	FN(MALFORMED, "malformed") /* cannot be parsed (or an unknown protocol, customer role) */  \
	FN(FLOOD_SYN, "flood_syn")                                                                 \
	FN(FLOOD_UDP, "flood_udp")                                                                 \
	FN(FLOOD_ICMP, "flood_icmp")                                                               \
	FN(FLOOD_FRAG, "flood_frag")                                                               \
	FN(SMTP, "smtp")                                                                           \
	FN(SUSPENDED, "suspended")                                                                 \
	FN(EXCEPTION, "exception") /* ARP/DHCP/ND/MLD over the access port's exception limit */

/* Customer enforcement state (tg_cust.state), written by the daemon. */
#define TG_STATES(FN)                                                                              \
	FN(ACTIVE, "active")                                                                       \
	FN(THROTTLED, "throttled")                                                                 \
	FN(SUSPENDED, "suspended")

/*
 * Packet-rate ("flood") classes, FN(NAME, key, reason): enum tg_fclass (TG_FC_<NAME>),
 * numbered in the order of TG_FCLASSES (part of the layout: tg_fprof.cls). key is the
 * class's key under a plan's `flood:` in tollgate.yaml; reason what a packet over it drops
 * as (TG_R_NR: the class it would have met, tg_class_reason). The sublists say where a
 * class applies and what sets it:
 *   TG_FC_OWN_LIST: both directions; a plan's flood: key and a customers.csv column of
 *     the same name (a customer's own rate). They come first: a customer's own rates are
 *     an array of TG_FC_OWN_NR, indexed by class.
 *   SMTP: upload, new connections to tcp/25; set by the plan's `smtp:` policy, not flood:.
 *   TG_FC_DOWN_LIST: toward the customer (upstream role) only; a plan's flood: key.
 * TG_FC_PLAN_LIST: the classes a plan's flood: sets, in the order of its keys.
 */
#define TG_FC_OWN_LIST(FN)                                                                         \
	FN(SYN, "syn", TG_R_FLOOD_SYN)	  /* TCP SYN without ACK */                                \
	FN(UDP, "udp", TG_R_FLOOD_UDP)	  /* UDP (a first fragment included) */                    \
	FN(ICMP, "icmp", TG_R_FLOOD_ICMP) /* ICMP, ICMPv6 (but ND and MLD: exceptions) */          \
	FN(FRAG, "frag", TG_R_FLOOD_FRAG) /* IP fragments, first or not */
#define TG_FC_DOWN_LIST(FN)                                                                        \
	FN(REFL, "reflection", TG_R_FLOOD_UDP) /* UDP from a reflector port (tg_refl_ports) */     \
	FN(SRC, "per_source", TG_R_NR)	       /* any one source (state in tg_srcwatch) */
#define TG_FCLASSES(FN) TG_FC_OWN_LIST(FN) FN(SMTP, "smtp", TG_R_SMTP) TG_FC_DOWN_LIST(FN)
#define TG_FC_PLAN_LIST(FN) TG_FC_OWN_LIST(FN) TG_FC_DOWN_LIST(FN)

#define TG_LIST_ENUM_ROLE(N, s) TG_ROLE_##N,
#define TG_LIST_ENUM_AS(N, s) TG_AS_##N,
#define TG_LIST_ENUM_MODE(N, s) TG_MODE_##N,
#define TG_LIST_ENUM_R(N, s) TG_R_##N,
#define TG_LIST_ENUM_ST(N, s) TG_ST_##N,
#define TG_LIST_ENUM_FC(N, k, r) TG_FC_##N,
#define TG_LIST_COUNT(...) +1

enum tg_role { TG_ROLES(TG_LIST_ENUM_ROLE) TG_ROLE_NR };
enum tg_antispoof { TG_ANTISPOOFS(TG_LIST_ENUM_AS) TG_AS_NR };
enum tg_xdp_mode { TG_MODES(TG_LIST_ENUM_MODE) TG_MODE_NR };

enum tg_dir {
	TG_DIR_UP = 0,	 /* upload: from the customer, seen on a customer-role interface */
	TG_DIR_DOWN = 1, /* download: to the customer, seen on an upstream-role interface */
	TG_DIR_NR = 2,
};

enum tg_reason { TG_REASONS(TG_LIST_ENUM_R) TG_R_NR };

enum tg_state { TG_STATES(TG_LIST_ENUM_ST) TG_ST_NR };

/* tg_config: one entry, program-wide settings that change at runtime. */
struct tg_config {
	__u32 magic;	      /* TG_LAYOUT_MAGIC */
	__u32 layout_version; /* TG_LAYOUT_VERSION */
	__u32 sync_gen;	      /* bumped by userspace after each sync of the customer maps: a writer
			 * that remembers what it wrote (tollgated) trusts that only while the
			 * generation is still the one it left */
	__u64 clock_tick_ns;  /* resolution of the policer clock, for userspace's burst floor */
	__u32 ncustomers;     /* for status: customers loaded, IPv4 and IPv6 prefixes */
	__u32 nprefixes4;
	__u32 nprefixes6;
	__u32 bind_gen;	 /* bumped by userspace after tg_bind changes: flushes port caches */
	__u32 v4_chunks; /* for status and metrics: tg_v4_tbl8 chunks in use */
	__u32 v6_chunks; /* tg_v6_trie chunks in use below the root */
	__u32 v6_cmps;	 /* tg_v6_cmp nodes in use */
	__u32 cap_armed; /* entries in tg_cap_arm; 0: no capture armed, the packet path reads
			  * only this (bpf/capture_kern.h) */
	/* the key of tg_src_hash, drawn from getrandom() when tg_config is created, so no one
	 * outside the box can compute which sources share a watch slot (and aim a flood at
	 * another source's slot); kept for the life of the pins, like the slots it indexes */
	__u64 src_key;
};

/* tg_ifaces: array indexed by ifindex (< TG_MAX_IFINDEX); an entry is in use when its
 * ifindex field equals its index. */
struct tg_iface {
	__u8 role;	/* enum tg_role */
	__u8 antispoof; /* enum tg_antispoof, customer role only */
	__u8 flags;	/* TG_IFF_* */
	__u8 slot;	/* index into tg_ifstat, < TG_MAX_IFACES */
	__u32 ifindex;
	char name[TG_IFNAME_LEN];
	/* customer role: the packet-rate limit of each access port's exceptions (ARP, DHCP,
	 * ND, MLD), GCRA parameters as struct tg_pkt_pol; ipp 0: no limit */
	__u64 exc_ipp_fns;
	__u64 exc_tol_fns;
};
#define TG_IFF_MONITOR 0x1 /* evaluate and count, never drop (later: issue "flood") */
/*
 * vlan_protocol (customer role): the TPID of the outer tag on this interface, 802.1Q
 * (0x8100) or 802.1ad (0x88a8); neither flag: any. A frame whose VLAN headers up to its
 * outer tag with a VID carry the other TPID is malformed, charged to the untagged port's
 * owner: a switch that knows only the interface's TPID forwarded it as an untagged frame
 * with an unknown EtherType, so it came from an untagged port (docs/policy.md, TPID).
 */
#define TG_IFF_VLAN_Q 0x2
#define TG_IFF_VLAN_AD 0x4

/*
 * One direction of a customer's policy, as the data plane uses it. Rates are turned into
 * GCRA parameters by userspace, so the packet path does one multiply and no division.
 */
struct tg_policer_cfg {
	__u64 ipb_fns16; /* emission interval per byte, 2^-16 ns (0: unlimited) */
	__u64 tol_fns;	 /* burst tolerance, 2^-8 ns */
};

/*
 * tg_cust: key __u32 customer index. Read on every packet, written only by userspace: it
 * stays clean in every CPU's cache. One cache line.
 */
struct tg_cust {
	struct tg_policer_cfg pol[TG_DIR_NR];
	__u32 bind_ifindex; /* 0: unbound, fails strict anti-spoofing everywhere */
	__u16 bind_vlan;    /* outer (or only) VLAN id, TG_VLAN_UNTAGGED or TG_VLAN_ANY */
	__u16 bind_ivlan;   /* inner VLAN id (QinQ), TG_VLAN_UNTAGGED or TG_VLAN_ANY */
	__u8 state;	    /* enum tg_state */
	__u8 flags;	    /* TG_CF_* */
	__u16 plan;	    /* plan number, for userspace */
	__u16 fprof;	    /* flood profile (tg_fprof index); 0: no packet-rate limits */
	__u16 pad0;
	__u32 pad[4];
};
#define TG_CF_VALID 0x1 /* slot in use */
#define TG_CF_TRTCM 0x2 /* two-rate three-colour: the peak of its flood profile applies */
_Static_assert(sizeof(struct tg_cust) == 64, "tg_cust is one cache line");

/*
 * tg_pol: key __u32 customer index; the GCRA state of both directions. Written by the
 * packet path, on conforming packets only; each direction has its own cache line because
 * upload and download are policed on different interfaces, usually on different CPUs.
 */
/*
 * Packet-rate policers ("flood"), per customer and direction, on the packets of a class.
 * Their parameters live in a few shared profiles (tg_fprof: one per plan, so 1M customers
 * cost no memory for them), their state beside the bandwidth policer's in tg_gcra.
 */
enum tg_fclass {
	TG_FCLASSES(TG_LIST_ENUM_FC) TG_FC_NR,
	TG_FC_OWN_NR = 0 TG_FC_OWN_LIST(TG_LIST_COUNT), /* the first ones: a customer's own */
};

/* What a packet over class fc drops as (TG_FCLASSES; TG_R_NR: the class it would have met). */
#define TG_LIST_FC_REASON(N, k, r) fc == TG_FC_##N ? (r):
static inline __u32 tg_fc_reason(int fc)
{
	return TG_FCLASSES(TG_LIST_FC_REASON) TG_R_NR;
}

struct tg_pkt_pol {
	__u64 ipp_fns; /* emission interval per packet, 2^-8 ns; 0: no limit */
	__u64 tol_fns; /* tolerance: burst x interval */
};

/*
 * The profile also carries the plan's peak (RFC 2698 two-rate three-colour policer), for
 * the customers whose tg_cust has TG_CF_TRTCM: a per-customer copy would not fit tg_cust's
 * one cache line, the peak is a plan's (a customer's override changes rate and burst, not
 * the peak), and a customer with a peak already pays for this lookup only then (a plan
 * with a peak and no packet-rate limit gets a profile of its own, customers of plans
 * without either still look nothing up). A throttled customer is policed at its throttle
 * rate alone: the sync clears TG_CF_TRTCM.
 */
#define TG_MAX_FPROF 4096u /* flood profiles */
struct tg_fprof {
	struct tg_pkt_pol cls[TG_DIR_NR][TG_FC_NR];
	struct tg_policer_cfg peak[TG_DIR_NR]; /* peak rate and burst (0: single-rate) */
	__u64 block_ns;	  /* a source over cls[down][TG_FC_SRC] is blocked this long */
	__u8 smtp_block;  /* SMTP policy block: every new connection to tcp/25 drops */
	__u8 yellow_dscp; /* DSCP (0..63) given to a packet over the rate, within the peak */
	__u8 pad[6];
};

/*
 * The policer state of one direction, one cache line. The SMTP limit is upload only and
 * the reflection limit download only, so they share one slot (tg_fc_slot); that frees
 * the word of the peak TAT.
 */
#define TG_FC_SLOTS 6
static inline int tg_fc_slot(int fc)
{
	return fc >= TG_FC_REFL ? fc - 1 : fc; /* REFL -> SMTP's slot, SRC -> 5 */
}

struct tg_gcra {
	__u64 tat_fns;		     /* theoretical arrival time, 2^-8 ns, modulo 2^64 */
	__u64 ptat_fns;		     /* the same at the peak rate (two-rate policer) */
	__u64 ftat_fns[TG_FC_SLOTS]; /* the same for each packet-rate class (tg_fc_slot); for
				      * TG_FC_SRC (whose state is in tg_srcwatch): when the
				      * customer's last block of a source ends, in ns of the
				      * coarse clock */
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct tg_gcra) == 64, "tg_gcra is one cache line per direction");

/*
 * tg_walled: LPM trie of the walled garden (tollgate.yaml walled_garden: the ISP's
 * resolvers and portal), the only addresses a suspended customer can still reach and be
 * reached from. IPv4 is stored IPv4-mapped (::ffff:a.b.c.d, prefix length + 96), so one
 * trie holds both families. Looked up only for a suspended customer's packets.
 */
#define TG_WALLED_MAX 1024u
struct tg_walled_key {
	__u32 prefixlen;
	__u8 addr[16];
};
/*
 * The value: what the longest matching prefix is, as flags. The trie also holds the
 * sources per_source never blocks (tollgate.yaml per_source_exempt), so the per-source
 * path pays one lookup for both lists. Userspace stores on each prefix the flags of every
 * prefix that covers it, so the longest match carries all that apply to the address.
 */
#define TG_WG_WALLED 0x1 /* walled garden: reachable by a suspended customer */
#define TG_WG_EXEMPT 0x2 /* never blocked by per_source (walled garden prefixes are too) */

/* tg_refl_ports: array of TG_REFL_WORDS u64, bit p set: UDP source port p reflects. */
#define TG_REFL_WORDS 1024u

/*
 * Per-source blocking toward a customer (upstream). Two stages, so that a flood from
 * random sources can neither evict the sources already blocked nor grow anything:
 *   tg_srcwatch: a fixed array of TG_SRCWATCH_SLOTS slots, indexed by tg_src_hash of
 *     (customer, source), each the GCRA of the last (customer, source) that hashed there.
 *     A new pair takes a slot over only while its owner is within one packet of the rate:
 *     a random flood churns the slots of sources sending below the rate, never the slot of
 *     one going over it (which would restart its watch and let it run on unblocked).
 *   tg_srcblock: a hash of the (customer, source) pairs that went over the per-source rate,
 *     with the time their block ends. Entries are added only by a slot that went over and
 *     removed only when they expired (by the source's next packet, or tollgated's sweep);
 *     when the map is full nothing more is blocked, nothing is evicted.
 */
#define TG_SRCWATCH_SLOTS (1u << 16)
#define TG_SRCBLOCK_MAX 65536u
/*
 * A customer starts at most TG_SRCBLOCK_SHARE blocks per block time (struct tg_srcquota),
 * so it holds at most 2 x TG_SRCBLOCK_SHARE entries of tg_srcblock at once (a block lasts
 * one block time): a random-source attack on one customer cannot fill the table and stop
 * blocking for everyone else; 32 customers attacked at once can.
 */
#define TG_SRCBLOCK_SHARE 1024u

struct tg_srcwatch {
	__u32 tag;  /* hash bits of the pair not used by the index */
	__u32 cust; /* customer index */
	__u64 tat_fns;
};

struct tg_src_key {
	__u32 cust;
	__u32 v6;      /* 1: IPv6 */
	__u64 addr[2]; /* the source, network order; IPv4 in the first 4 bytes */
};

/* tg_srcquota (array, key customer index): blocks this customer started in a window. */
struct tg_srcquota {
	__u64 win_end_ns; /* the window (one block time) ends, coarse clock */
	__u32 n;	  /* blocks started in it */
	__u32 pad;
};

/*
 * The watch slot's hash of a pair under key (tg_config.src_key): the slot is its low bits,
 * the tag its high 32. Not a MAC, a keyed mix: without the key an outsider cannot choose
 * sources that land on a given slot.
 */
static inline __u64 tg_src_hash(const struct tg_src_key *k, __u64 key)
{
	__u64 h = k->addr[0] ^ (k->addr[1] * 0x9e3779b97f4a7c15ull) ^
		  (((__u64)k->cust << 32) | k->v6) ^ key;

	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

struct tg_pol {
	struct tg_gcra dir[TG_DIR_NR];
};

/* tg_cstat (per-CPU array, key customer index): passed traffic per direction. */
struct tg_cstat {
	__u64 pkts[TG_DIR_NR];
	__u64 bytes[TG_DIR_NR];
};

/*
 * The in-kernel fold of tg_cstat (bpf/fold.bpf.c; not pinned): one CPU's cursor over the
 * customer indexes [0, n), the next to fold and how many are left.
 */
struct tg_fold_pos {
	__u32 next;
	__u32 left;
	__u32 n;
	__u32 pad;
};

/*
 * tg_cdrop (shared array, key customer index): drops per direction and reason. Shared
 * (not per-CPU) to fit 1M customers in memory; updates go through the per-CPU coalescing
 * slot tg_dcache so that a flood aimed at one customer from many CPUs does not bounce
 * this cache line on every packet (see bpf/tollgate_count.h).
 */
struct tg_cdrop {
	__u64 pkts[TG_DIR_NR][TG_R_NR];
	__u64 bytes[TG_DIR_NR][TG_R_NR];
};

/*
 * tg_cnoted (shared array, key customer index): would-drops per direction and reason, the
 * packets passed although a reason matched (a `monitor: true` interface; a packet toward
 * a customer on an upstream interface whose IP header parsed but not what follows). They
 * are also counted in the customer's passed traffic (tg_cstat). Packets only, to keep the
 * cost at 160 bytes a customer (160 MiB at 1M customers; tg_cdrop is 320): a would-drop
 * rate is read in packets, and the bytes are in the passed counters. Updated like
 * tg_cdrop, through tg_dcache (its `noted` flag).
 */
struct tg_cnoted {
	__u64 pkts[TG_DIR_NR][TG_R_NR];
};

/*
 * A sampled packet, for the evidence of an enforcement action and for upstream
 * mitigation ("the top destination ports", "the attacked host"): each CPU keeps its last
 * TG_PS_SLOTS drops, and one passed packet in TG_PS_PASS_EVERY toward customers (the
 * download direction), in tg_dcache. Bounded by the CPU count, not the customers: 2 x 256
 * x 32 bytes per CPU.
 */
#define TG_PS_SLOTS 256u
#define TG_PS_PASS_EVERY 64u /* a power of two: passed downloads sampled, per CPU */
struct tg_portsample {
	__u32 cust;  /* customer index charged (0: none) */
	__u16 dport; /* host order; 0 without a transport header (a later fragment) */
	__u8 proto;  /* IPPROTO_* */
	__u8 dir;    /* enum tg_dir */
	__u16 sport; /* host order; 0 without a transport header */
	__u8 v6;     /* 1: daddr is IPv6; 0: IPv4 in its first 4 bytes */
	__u8 pad;
	__u8 daddr[16]; /* destination address, network order */
	__u32 pad1;
};

/*
 * tg_dcache (per-CPU array, one entry): drops not yet flushed into tg_cdrop, the last
 * access port (interface, VLANs) whose owner was looked up in tg_bind, so a spoofing flood
 * from one port costs one hash lookup, not one per packet, and the last drops' ports.
 */
struct tg_dcache {
	__u32 cust; /* TG_CUST_NONE: empty */
	__u8 dir;
	__u8 reason;
	__u8 noted; /* 1: would-drops, flushed into tg_cnoted (pkts only), not tg_cdrop */
	__u8 pad;
	__u32 flushes; /* bumped before each flush: a reader that sees it move between two
			* reads of the slot does not trust the first read's pkts (user/datapath/stats.c) */
	__u32 pad1;
	__u64 pkts;
	__u64 bytes;
	__u32 port_ifindex; /* 0: nothing cached */
	__u16 port_vlan;
	__u16 port_ivlan;
	__u32 port_cust;
	__u32 port_gen;			       /* tg_config.bind_gen when cached */
	__u32 ps_pos;			       /* the next ps[] slot (mod TG_PS_SLOTS) */
	__u32 pps_pos;			       /* the next pps[] slot (mod TG_PS_SLOTS) */
	struct tg_portsample ps[TG_PS_SLOTS];  /* the last drops */
	struct tg_portsample pps[TG_PS_SLOTS]; /* passed downloads, one in TG_PS_PASS_EVERY */
};
#define TG_DCACHE_FLUSH_PKTS 64u /* flush after this many coalesced drops */

/* tg_ifstat (per-CPU array, key interface slot): what each interface saw. */
struct tg_ifstat {
	__u64 pass_pkts; /* passed and attributed to a customer */
	__u64 pass_bytes;
	__u64 uncl_pkts; /* passed without a customer (exceptions, antispoof off, transit) */
	__u64 uncl_bytes;
	__u64 drop_pkts[TG_R_NR];
	__u64 drop_bytes[TG_R_NR];
	/* passed although reason R matched (monitor mode; malformed in the upstream role):
	 * counted here, not in pass_ or uncl_; the customer's are also in its tg_cstat */
	__u64 noted_pkts[TG_R_NR];
	__u64 noted_bytes[TG_R_NR];
	/* not counters: the last packet this CPU fed to the fan-out sketches through this
	 * interface (bpf/fanout_kern.h), so that the next one of the same flow skips them */
	__u32 fo_cust;	/* its customer */
	__u32 fo_epoch; /* the interval it was fed in */
	__u64 fo_dst;	/* its destination as the hosts sketch hashes it */
	__u32 fo_port;	/* protocol << 16 | destination port (network order) */
	__u32 fo_pad;
};

/*
 * tg_fanout (array, key customer index, mmapable; bpf/fanout_kern.h): what each customer
 * contacted in the current interval (upload; download only for the SYN-ACKs that answer
 * it), as small HyperLogLog sketches and two counts, for scan and spam detection (rule
 * metrics fanout_hosts, fanout_ports, smtp_conns, smtp_hosts, tcp_syns, unanswered_syns).
 * One cache line a customer, apart from the hot records: a packet reads it and writes it
 * only when a register grows or it counts a SYN or SYN-ACK, so steady traffic leaves it
 * clean. Fed by the packets that open something (hosts: TCP SYN without ACK, UDP,
 * ICMP/ICMPv6 echo requests; ports: the TCP SYNs and UDP), never by a TCP segment of an
 * established connection.
 *
 * Element 0 (customer index 0 is never assigned) is the clock: epoch is the current
 * interval, written by tollgated once per enforcement interval after it has read every
 * customer's; key (copied from tg_config.src_key) keys the hash, so a scanner cannot pick
 * targets that all fall into one register. A customer's record counts only while its
 * epoch is the current one: the first packet of a new interval starts it over. In a
 * customer's element the key's 8 bytes are two counters: syns (each TCP SYN without ACK
 * it sent that passed, never skipped) and synacks (each SYN-ACK toward it that passed,
 * download role, counted only while its record is the current interval's): the rule
 * metric unanswered_syns is syns - synacks (docs/metrics.md).
 *
 * Registers are 4 bits, two a byte, register i in byte i / 2 (low nibble first): the
 * rank (1 + trailing zeros of the hash's remaining bits, at most 15) of the rarest item
 * seen in its bucket. Estimated by tg_hll_estimate (user/lib/sketch.c).
 */
#define TG_HLL_REGS 32u	      /* registers a sketch: standard error 1.04 / sqrt(32) = 18% */
#define TG_HLL_BUCKET_BITS 5u /* log2(TG_HLL_REGS) */
#define TG_HLL_RANK_MAX 15u   /* 4-bit registers */
struct tg_fanout {
	__u32 epoch;		     /* the interval these registers belong to */
	__u32 smtp_conns;	     /* new tcp/25 connections passed (SYN without ACK) */
	__u8 hosts[TG_HLL_REGS / 2]; /* distinct destination addresses */
	__u8 ports[TG_HLL_REGS / 2]; /* distinct destination ports of TCP SYNs and UDP */
	__u8 smtp[TG_HLL_REGS / 2];  /* distinct destination addresses of tcp/25 SYNs */
	union {
		__u64 key;	       /* element 0 only: the hash key */
		struct {	       /* a customer's element: */
			__u32 syns;    /* TCP SYNs without ACK passed upload (each one) */
			__u32 synacks; /* SYN-ACKs passed download toward it, this interval */
		};
	};
} __attribute__((aligned(64)));

/*
 * The sketches' hash: the keyed item multiplied, folded, multiplied again (two multiplies
 * where MurmurHash3's finaliser has two and three folds: the pass path feeds two sketches
 * per opening packet and may grow by 3 ns at most). One multiply alone is not enough: the
 * ranks of consecutive ports came out correlated (+27% on a port sweep). The bucket is the
 * top TG_HLL_BUCKET_BITS bits, the rank comes from the 14 below them.
 */
static inline __u64 tg_hll_hash(__u64 x, __u64 key)
{
	__u64 h = (x ^ key) * 0x9e3779b97f4a7c15ull;

	return (h ^ (h >> 29)) * 0xff51afd7ed558ccdull;
}
static inline __u32 tg_hll_bucket(__u64 h)
{
	return (__u32)(h >> (64 - TG_HLL_BUCKET_BITS));
}
static inline __u32 tg_hll_bits(__u64 h) /* the rank's 14 bits */
{
	return (__u32)(h >> (64 - TG_HLL_BUCKET_BITS - 14)) & 0x3fff;
}

/* The rank of hash h: 1 + the trailing zeros of tg_hll_bits(h), 15 if they are all 0. */
static inline __u32 tg_hll_rank(__u64 h)
{
	__u32 x = tg_hll_bits(h), r = 1;

	if (!x)
		return TG_HLL_RANK_MAX;
	if (!(x & 0xff)) {
		r += 8;
		x >>= 8;
	}
	if (!(x & 0xf)) {
		r += 4;
		x >>= 4;
	}
	if (!(x & 0x3)) {
		r += 2;
		x >>= 2;
	}
	if (!(x & 0x1))
		r += 1;
	return r;
}

/*
 * tg_bind: which customer sits behind an (interface, VLAN), to attribute spoofed drops.
 * A customer's key is its binding: vlan/ivlan as in tg_cust, TG_VLAN_ANY included. The
 * data plane looks up the frame's exact port first, then (vlan, ANY), then (ANY, ANY):
 * the most specific binding that admits the frame owns it.
 */
struct tg_bind_key {
	__u32 ifindex;
	__u16 vlan;  /* outer (or only) VLAN id, TG_VLAN_UNTAGGED or TG_VLAN_ANY */
	__u16 ivlan; /* inner VLAN id of a QinQ frame, TG_VLAN_UNTAGGED or TG_VLAN_ANY */
};
#define TG_BIND_AMBIGUOUS 0xffffffffu /* several customers share it: attribute to none */

/*
 * Evidence capture (bpf/capture_kern.h; docs/enforcement.md, "Evidence"): the first
 * TG_CAP_SNAPLEN bytes of the next packets of a customer, handed up through the ring
 * buffer tg_cap_ring. tollgated arms a customer in tg_cap_arm (key: customer index) when
 * a rule throttles or suspends it, or on `tollgate capture`, and counts the entries in
 * tg_config.cap_armed; with none armed, the packet path reads that one word and goes on.
 */
#define TG_CAP_SNAPLEN 128u	       /* bytes of a packet handed up: its headers */
#define TG_CAP_ARMS 256u	       /* customers with a capture armed at once */
#define TG_CAP_RING_BYTES (256u << 10) /* tg_cap_ring: ~1500 records */
#define TG_CAP_MAX_PACKETS 100u	       /* packets of one capture, at most */
#define TG_CAP_PASS 0x1		       /* tg_cap_arm.match: passed packets */
#define TG_CAP_DROP 0x2		       /* ... dropped ones, and would-drops (noted) */
struct tg_cap_arm {
	__u64 tag;  /* tollgated's number of the capture, copied into each record */
	__s32 left; /* packets still to hand up; taken with an atomic add, may go below 0 */
	__u8 match; /* TG_CAP_PASS | TG_CAP_DROP */
	__u8 dirs;  /* 1 << TG_DIR_UP | 1 << TG_DIR_DOWN: which directions */
	__u16 pad;
};
struct tg_cap_rec {
	__u64 tag;     /* tg_cap_arm.tag */
	__u64 ts_ns;   /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 cust;    /* customer index */
	__u32 ifindex; /* where it arrived */
	__u32 wirelen; /* the frame's length */
	__u16 caplen;  /* bytes of data[] that are the frame's: min(wirelen, TG_CAP_SNAPLEN) */
	__u8 dir;      /* enum tg_dir */
	__u8 reason;   /* enum tg_reason; TG_R_NR: passed */
	__u8 verdict;  /* XDP_PASS or XDP_DROP */
	__u8 pad[7];
	__u8 data[TG_CAP_SNAPLEN];
};

/*
 * The map set: FN(name, size) per map of bpf/maps_kern.h, which declares each as
 * tg_<name> (<= 15 characters), pinned under that name. size says who sets its
 * max_entries: TG_MS_FIXED the declaration, TG_MS_CUST the loader, one per customer index
 * (capacity.max_customers + 1), TG_MS_CAP the loader, from the capacity in its own way.
 * Userspace opens, pins and closes exactly these (user/datapath/loader.c, struct tg_maps);
 * tests/unit/test_lists.c checks the BPF object declares exactly these.
 */
#define TG_MAPS(FN)                                                                                \
	FN(config, TG_MS_FIXED)                                                                    \
	FN(ifaces, TG_MS_FIXED)                                                                    \
	FN(v4_tbl24, TG_MS_FIXED)                                                                  \
	FN(v4_tbl8, TG_MS_CAP)                                                                     \
	FN(v4_void, TG_MS_FIXED)                                                                   \
	FN(v6_trie, TG_MS_CAP)                                                                     \
	FN(v6_cmp, TG_MS_CAP)                                                                      \
	FN(bind, TG_MS_CUST)                                                                       \
	FN(cust, TG_MS_CUST)                                                                       \
	FN(pol, TG_MS_CUST)                                                                        \
	FN(cstat, TG_MS_CUST)                                                                      \
	FN(cdrop, TG_MS_CUST)                                                                      \
	FN(cnoted, TG_MS_CUST)                                                                     \
	FN(dcache, TG_MS_FIXED)                                                                    \
	FN(ifstat, TG_MS_FIXED)                                                                    \
	FN(fprof, TG_MS_FIXED)                                                                     \
	FN(refl_ports, TG_MS_FIXED)                                                                \
	FN(srcwatch, TG_MS_FIXED)                                                                  \
	FN(srcblock, TG_MS_FIXED)                                                                  \
	FN(srcquota, TG_MS_CUST)                                                                   \
	FN(exlim, TG_MS_CAP)                                                                       \
	FN(walled, TG_MS_FIXED)                                                                    \
	FN(names, TG_MS_CUST)                                                                      \
	FN(cap_arm, TG_MS_FIXED)                                                                   \
	FN(cap_ring, TG_MS_FIXED)                                                                  \
	FN(fanout, TG_MS_CUST)
enum tg_map_size { TG_MS_FIXED, TG_MS_CUST, TG_MS_CAP };

/* Pinned object names (<= 15 characters) under the pin directory. */
#define TG_PIN_DIR_DEFAULT "/sys/fs/bpf/tollgate"
#define TG_PIN_PROG "prog"
#define TG_PIN_LINK_PREFIX "link_"

/*
 * The pinned layout of TG_LAYOUT_VERSION, checked where both sides compile it: the size of
 * every record a map holds and the length of every list whose numbering it uses. A change
 * of one is a change of layout: bump TG_LAYOUT_VERSION and update the figure here.
 */
#define TG_LAYOUT_SIZES(FN)                                                                        \
	FN(tg_config, 64)                                                                          \
	FN(tg_iface, 40)                                                                           \
	FN(tg_v4_pair, 8)                                                                          \
	FN(tg_v6_chunk, 1024)                                                                      \
	FN(tg_v6_cmp, 32)                                                                          \
	FN(tg_bind_key, 8)                                                                         \
	FN(tg_cust, 64)                                                                            \
	FN(tg_pol, 128)                                                                            \
	FN(tg_cstat, 32)                                                                           \
	FN(tg_cdrop, 352)                                                                          \
	FN(tg_cnoted, 176)                                                                         \
	FN(tg_dcache, 16440)                                                                       \
	FN(tg_ifstat, 408)                                                                         \
	FN(tg_fprof, 272)                                                                          \
	FN(tg_walled_key, 20)                                                                      \
	FN(tg_srcwatch, 16)                                                                        \
	FN(tg_src_key, 24)                                                                         \
	FN(tg_srcquota, 16)                                                                        \
	FN(tg_cap_arm, 16)                                                                         \
	FN(tg_cap_rec, 168)                                                                        \
	FN(tg_fanout, 64)
#define TG_LAYOUT_SIZE_ASSERT(t, n)                                                                \
	_Static_assert(sizeof(struct t) == (n), #t " is " #n " bytes in layout 13: a change of "   \
						   "size is a new TG_LAYOUT_VERSION");
TG_LAYOUT_SIZES(TG_LAYOUT_SIZE_ASSERT)
_Static_assert(TG_LAYOUT_VERSION == 13, "a new layout version: check TG_LAYOUT_SIZES");
_Static_assert(TG_R_NR == 11 && TG_FC_NR == 7 && TG_FC_OWN_NR == 4 && TG_ROLE_NR == 2 &&
		       TG_AS_NR == 3 && TG_ST_NR == 3,
	       "a list the layout numbers changed length: a new TG_LAYOUT_VERSION");
_Static_assert(TG_FC_SLOTS == TG_FC_NR - 1, "SMTP and REFL share a slot of tg_gcra");

#endif /* TOLLGATE_KERN_USER_H */
