/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * classify_kern.h - stage 2: which customer owns an address (longest prefix wins), and
 * the source checks that come before it: RFC 6890 bogons and the narrow exceptions that
 * pass without an assigned source (DHCP, IPv6 neighbour discovery; and the frames that are
 * not IP: ARP, link-layer control, PPPoE discovery and PPP control).
 *
 * IPv4 is DIR-24-8: one array read for prefixes up to /24, two for longer ones, whatever
 * the number of customers, after a bitmap of the /16s no customer is in (tg_v4_void).
 * IPv6 walks a multibit trie (tollgate_kern_user.h): a 16-bit root, then one array read
 * per byte where prefixes branch, and one compare node for a run of bits with a single
 * way down. The kernel LPM trie would cost 100-200 ns per
 * lookup at this scale; see docs/policy.md.
 */
#ifndef TG_CLASSIFY_KERN_H
#define TG_CLASSIFY_KERN_H

#include "maps_kern.h"
#include "parse_kern.h"

#define DHCP4_SERVER_PORT 67
#define DHCP4_CLIENT_PORT 68
#define DHCP6_CLIENT_PORT 546
#define DHCP6_SERVER_PORT 547

#define ND_ROUTER_SOLICIT 133
#define ND_NEIGHBOR_SOLICIT 135
#define ND_NEIGHBOR_ADVERT 136
#define ND_HOP_LIMIT 255 /* RFC 4861: ND from off-link is invalid */
#define MLD1_REPORT 131
#define MLD1_DONE 132
#define MLD2_REPORT 143
#define MLD_HOP_LIMIT 1 /* RFC 2710/3810: link-local only */

static __always_inline __u32 tg_lookup_v4(__be32 addr)
{
	__u32 a = bpf_ntohl(addr), key = a >> 22, ent, idx;
	struct tg_v4_pair *p;
	__u64 *v;

	v = bpf_map_lookup_elem(&tg_v4_void, &key);
	if (v && (*v >> ((a >> 16) & 63)) & 1)
		return TG_CUST_NONE;
	key = a >> 9;
	p = bpf_map_lookup_elem(&tg_v4_tbl24, &key);
	if (!p)
		return TG_CUST_NONE;
	ent = p->e[(a >> 8) & 1];
	if (!(ent & TG_V4_TBL8))
		return ent;
	idx = ((ent & ~TG_V4_TBL8) << 8) | (a & 0xff);
	key = idx >> 1;
	p = bpf_map_lookup_elem(&tg_v4_tbl8, &key);
	return p ? p->e[idx & 1] : TG_CUST_NONE;
}

/*
 * Global, so the verifier walks the trie loop once rather than at every call site. Takes
 * the address as two host-order halves: scalars are all a global function may take on
 * every kernel we support. The walk shifts the address left past every byte a chunk
 * indexes and every bit a compare node takes, so the next ones are always the top of hi.
 */
__attribute__((noinline)) __u32 tg_lookup_v6(__u64 hi, __u64 lo)
{
	struct tg_v6_chunk *c;
	struct tg_v6_cmp *n;
	__u32 key = hi >> 56, e, i, b;

	c = bpf_map_lookup_elem(&tg_v6_trie, &key);
	if (!c)
		return TG_CUST_NONE;
	e = c->e[(hi >> 48) & 0xff];
	hi = (hi << 16) | (lo >> 48);
	lo <<= 16;
	for (i = 0; i < TG_V6_DEPTH; i++) {
		if (e & TG_V6_CMP) {
			key = e & TG_V6_IDX;
			n = bpf_map_lookup_elem(&tg_v6_cmp, &key);
			if (!n)
				return TG_CUST_NONE;
			b = n->bits;
			if (b < 1 || b > TG_V6_CMP_BITS)
				return TG_CUST_NONE;
			if ((hi >> (64 - b)) != n->want)
				return n->miss;
			e = n->hit;
			if (!(e & TG_V6_NODE))
				return e & TG_V6_CMP ? TG_CUST_NONE : e;
			hi = (hi << b) | (lo >> (64 - b));
			lo <<= b;
		}
		if (!(e & TG_V6_NODE))
			return e;
		key = e & TG_V6_IDX;
		c = bpf_map_lookup_elem(&tg_v6_trie, &key);
		if (!c)
			return TG_CUST_NONE;
		e = c->e[hi >> 56];
		hi = (hi << 8) | (lo >> 56);
		lo <<= 8;
	}
	return e & (TG_V6_NODE | TG_V6_CMP) ? TG_CUST_NONE : e;
}

static __always_inline __u32 tg_lookup(const struct tg_pkt *p, int by_src)
{
	const __u64 *a = by_src ? p->saddr6 : p->daddr6;

	if (!p->v6)
		return tg_lookup_v4(by_src ? p->saddr4 : p->daddr4);
	return tg_lookup_v6(bpf_be64_to_cpu(a[0]), bpf_be64_to_cpu(a[1]));
}

/* Is hi:lo inside nhi:nlo/plen? plen is a constant: this folds to one or two compares. */
static __always_inline int tg_in6(__u64 hi, __u64 lo, __u64 nhi, __u64 nlo, int plen)
{
	if (plen <= 64)
		return plen == 0 || (hi >> (64 - plen)) == (nhi >> (64 - plen));
	return hi == nhi && (lo >> (128 - plen)) == (nlo >> (128 - plen));
}

#define TG_BOGON4_TEST(net, len, name) || (a >> (32 - (len))) == ((net) >> (32 - (len)))
#define TG_BOGON6_TEST(nhi, nlo, len, name) || tg_in6(hi, lo, nhi, nlo, len)

/* RFC 6890 sources that are never valid on the wire: TG_BOGON4_LIST, TG_BOGON6_LIST. */
static __always_inline int tg_bogon_src(const struct tg_pkt *p)
{
	if (!p->v6) {
		__u32 a = bpf_ntohl(p->saddr4);

		return 0 TG_BOGON4_LIST(TG_BOGON4_TEST);
	}
	__u64 hi = bpf_be64_to_cpu(p->saddr6[0]), lo = bpf_be64_to_cpu(p->saddr6[1]);

	return 0 TG_BOGON6_LIST(TG_BOGON6_TEST);
}

/*
 * Traffic allowed without an assigned source, kept to its narrow shape (design.md):
 * DHCPv4 DISCOVER/REQUEST from 0.0.0.0:68 to 255.255.255.255:67 (a client without an
 * address can only broadcast; a renewal comes from its own address and is ordinary
 * traffic); DHCPv6 from link-local to ff02::1:2 port 547 (All_DHCP_Relay_Agents_and_Servers);
 * RS/NS from fe80::/10 or ::, NA from fe80::/10, all with hop limit 255; MLD reports and
 * dones from fe80::/10 (MLDv2 reports also from ::, RFC 3810 5.2.13) to a link-scope
 * multicast group (ff02::/16) with hop limit 1, which every IPv6 host sends when it
 * gains an address: without this a clean customer would show spoofed drops.
 */
static __always_inline int tg_exception(const struct tg_pkt *p)
{
	if (!p->has_l4 || p->frag)
		return 0;
	if (!p->v6)
		return p->saddr4 == 0 && p->daddr4 == 0xffffffff && p->l4proto == IPPROTO_UDP &&
		       p->sport == bpf_htons(DHCP4_CLIENT_PORT) &&
		       p->dport == bpf_htons(DHCP4_SERVER_PORT);

	/* ports, type and hop limit first: the common packet is decided without the address */
	if (p->l4proto == IPPROTO_UDP) {
		if (p->dport != bpf_htons(DHCP6_SERVER_PORT) ||
		    p->sport != bpf_htons(DHCP6_CLIENT_PORT))
			return 0;
	} else if (p->l4proto != IPPROTO_ICMPV6 ||
		   (p->hop_limit != MLD_HOP_LIMIT && p->hop_limit != ND_HOP_LIMIT)) {
		return 0;
	}

	__u64 hi = bpf_be64_to_cpu(p->saddr6[0]), lo = bpf_be64_to_cpu(p->saddr6[1]);
	int linklocal = (hi >> 54) == (0xfe80ULL >> 6); /* fe80::/10 */
	int unspec = hi == 0 && lo == 0;

	if (p->l4proto == IPPROTO_UDP)
		return linklocal && p->daddr6[0] == bpf_cpu_to_be64(0xff02ull << 48) &&
		       p->daddr6[1] == bpf_cpu_to_be64(0x10002ull); /* ff02::1:2 */
	if (p->hop_limit == MLD_HOP_LIMIT) {
		int linkscope = (bpf_be64_to_cpu(p->daddr6[0]) >> 48) == 0xff02;

		switch (p->icmp_type) {
		case MLD1_REPORT:
		case MLD1_DONE:
			return linkscope && linklocal;
		case MLD2_REPORT:
			return linkscope && (linklocal || unspec);
		}
		return 0;
	}
	if (p->hop_limit != ND_HOP_LIMIT)
		return 0;
	switch (p->icmp_type) {
	case ND_ROUTER_SOLICIT:
	case ND_NEIGHBOR_SOLICIT:
		return linklocal || unspec;
	case ND_NEIGHBOR_ADVERT:
		return linklocal && p->has_target;
	}
	return 0;
}

/*
 * The frames that are not IP but pass without a customer, in both roles: ARP, link-layer
 * control to the IEEE reserved group, PPPoE discovery and the PPP control protocols of a
 * session (parse_kern.h keeps each to its shape). PADO and PADS come only from an access
 * concentrator: from a customer's port they are a rogue one answering the other customers'
 * PADIs, and are malformed there (as a DHCP server's reply would be not excepted).
 */
static __always_inline int tg_l2_exception(int res, int customer_role)
{
	switch (res) {
	case TG_PARSE_ARP:
	case TG_PARSE_L2CTL:
	case TG_PARSE_PPPOE_DISC:
	case TG_PARSE_PPP_CTRL:
		return 1;
	case TG_PARSE_PPPOE_AC:
		return !customer_role;
	}
	return 0;
}

/*
 * ICMP that never counts against the `icmp` packet-rate limit, whatever its source:
 *   path-MTU signals (ICMPv4 type 3 code 4 "fragmentation needed", ICMPv6 type 2 "packet
 *   too big"): a flood of echo requests must not make a customer's path-MTU discovery
 *   fail. They get no limit of their own: a second budget would be one the same spoofed
 *   flood (of PTBs) drains just as well; they stay under the bandwidth policer and the
 *   per-source block, and the host itself accepts only PTBs that quote its own flows.
 *   Returns 1.
 *   neighbour discovery (133-137) and MLD (130-132, 143): the exceptions' traffic, under
 *   the access port's exception limit on a customer interface (exc_kern.h), under the
 *   bandwidth policer only toward customers. Returns 2.
 */
#define TG_ICMP_FREE_PMTU 1
#define TG_ICMP_FREE_NDMLD 2
static __always_inline int tg_icmp_free(const struct tg_pkt *p)
{
	if (!p->has_l4)
		return 0;
	if (p->l4proto == IPPROTO_ICMP)
		return p->icmp_type == 3 && p->icmp_code == 4 ? TG_ICMP_FREE_PMTU : 0;
	if (p->l4proto != IPPROTO_ICMPV6)
		return 0;
	switch (p->icmp_type) {
	case 2: /* packet too big */
		return TG_ICMP_FREE_PMTU;
	case 130: /* MLD query */
	case MLD1_REPORT:
	case MLD1_DONE:
	case MLD2_REPORT:
	case ND_ROUTER_SOLICIT:
	case 134: /* router advertisement */
	case ND_NEIGHBOR_SOLICIT:
	case ND_NEIGHBOR_ADVERT:
	case 137: /* redirect */
		return TG_ICMP_FREE_NDMLD;
	}
	return 0;
}

/*
 * The TG_WG_* flags of a packet's peer in tg_walled: by_src, the source (traffic toward the
 * customer), else the destination. An LPM trie lookup, 100+ ns, paid only by suspended
 * customers' packets and by a source about to be blocked.
 */
static __always_inline __u8 tg_walled_flags(const struct tg_pkt *p, int by_src)
{
	struct tg_walled_key k = {.prefixlen = 128};
	__u32 *a = (__u32 *)k.addr;
	__u8 *v;

	if (p->v6) {
		const __u64 *x = by_src ? p->saddr6 : p->daddr6;

		__builtin_memcpy(k.addr, x, 16);
	} else {
		a[2] = bpf_htonl(0xffff);
		a[3] = by_src ? p->saddr4 : p->daddr4;
	}
	v = bpf_map_lookup_elem(&tg_walled, &k);
	return v ? *v : 0;
}

/* Is the peer of a suspended customer's packet in the walled garden? */
static __always_inline int tg_walled_peer(const struct tg_pkt *p, int by_src)
{
	return tg_walled_flags(p, by_src) & TG_WG_WALLED;
}

/*
 * Does the customer's binding admit a frame from this interface and VLAN? Strict
 * anti-spoofing only. An unbound customer (bind_ifindex 0) is admitted nowhere; each tag
 * position must be the bound VID exactly, TG_VLAN_UNTAGGED matching only a frame without
 * a tag there, unless the binding says TG_VLAN_ANY (tollgate_kern_user.h).
 */
static __always_inline int tg_binding_ok(const struct tg_cust *c, const struct tg_pkt *p,
					 __u32 ifindex)
{
	if (c->bind_ifindex != ifindex)
		return 0;
	if (c->bind_vlan != TG_VLAN_ANY && c->bind_vlan != p->vlan)
		return 0;
	if (c->bind_ivlan != TG_VLAN_ANY && c->bind_ivlan != p->ivlan)
		return 0;
	return 1;
}

#endif /* TG_CLASSIFY_KERN_H */
