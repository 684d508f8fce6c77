/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exc_kern.h - stage 2b: the exceptions on a customer interface. ARP, DHCP, IPv6
 * neighbour discovery and MLD pass without an assigned source (classify_kern.h says which
 * shapes), so without a limit one customer could flood the router's neighbour table
 * (random fe80:: NS, random-sender ARP) or starve DHCP for the whole box. Every exception
 * path goes through tg_exc_check (a kind for each: IP, ARP, and the other frames that
 * are not IP, TG_EXC_L2: link-layer control, PPPoE discovery, PPP control in a session):
 *   strict anti-spoofing of what it claims: an ARP sender address must be the port's
 *     customer's, 0.0.0.0 (a probe, RFC 5227) or IPv4 link-local 169.254/16 (RFC 3927:
 *     never routed, so announcing one claims nothing the router forwards); an NA's target
 *     must be the port's customer's or link-local (fe80::/10). Dropped as spoof.
 *   a packet-rate limit per access port (interface, VLAN, inner VLAN), the interface's
 *     `exceptions` setting: a GCRA per port in tg_exlim. Dropped as `exception`, charged
 *     to the port's owner. A port with no single owner (none, or several customers) would
 *     let random VLAN tags mint buckets: those share one bucket per interface, so the
 *     state is bounded by the bindings plus the interfaces.
 * ND and MLD from a customer's own global address are classified as its traffic, but they
 * are the exceptions' traffic too: they meet the same port limit (tollgate.bpf.c), not
 * the `icmp` limit (flood_kern.h).
 */
#ifndef TG_EXC_KERN_H
#define TG_EXC_KERN_H

#include "maps_kern.h"
#include "parse_kern.h"
#include "classify_kern.h"
#include "policer_kern.h"
#include "count_kern.h"

enum tg_exc_kind {
	TG_EXC_IP = 0, /* DHCP, ND, MLD (tg_exception) */
	TG_EXC_ARP,
	TG_EXC_L2, /* link-layer control, PPPoE discovery, PPP control: the port limit only */
};

#define TG_EXC_UNOWNED 0xfffe /* vlan/ivlan of an interface's bucket for unowned ports */

/* Does the address belong to a customer whose binding admits this port? */
static __always_inline int tg_port_has(__u32 cust, const struct tg_pkt *p, __u32 ifindex)
{
	struct tg_cust *c = cust ? bpf_map_lookup_elem(&tg_cust, &cust) : NULL;

	return c && (c->flags & TG_CF_VALID) && tg_binding_ok(c, p, ifindex);
}

static __always_inline __u32 tg_exc_strict(const struct tg_pkt *p, int kind, __u32 ifindex)
{
	if (kind == TG_EXC_ARP) {
		__u32 a = bpf_ntohl(p->saddr4);

		if (a == 0 || (a >> 16) == 0xa9fe) /* probe; 169.254/16 */
			return TG_R_NR;
		return tg_port_has(tg_lookup_v4(p->saddr4), p, ifindex) ? TG_R_NR : TG_R_SPOOF;
	}
	if (p->v6 && p->has_target && p->l4proto == IPPROTO_ICMPV6 &&
	    p->icmp_type == ND_NEIGHBOR_ADVERT) {
		__u64 hi = bpf_be64_to_cpu(p->nd_target[0]), lo = bpf_be64_to_cpu(p->nd_target[1]);

		if ((hi >> 54) == (0xfe80ULL >> 6)) /* fe80::/10 */
			return TG_R_NR;
		return tg_port_has(tg_lookup_v6(hi, lo), p, ifindex) ? TG_R_NR : TG_R_SPOOF;
	}
	return TG_R_NR;
}

/*
 * The access port's exception limit: 1 if the packet conforms. Accepted races: two CPUs
 * creating a port's bucket at once both pass their packet (BPF_NOEXIST keeps one);
 * tg_gcra_charge's own (policer_kern.h).
 */
static __always_inline int tg_exc_limit(const struct tg_iface *ifc, const struct tg_pkt *p,
					__u32 ifindex)
{
	struct tg_bind_key k = {.ifindex = ifindex, .vlan = p->vlan, .ivlan = p->ivlan};
	__u64 ipp = ifc->exc_ipp_fns, tol = ifc->exc_tol_fns, now, *tat, init;
	struct tg_dcache *dc;
	__u32 zero = 0;

	if (!ipp)
		return 1;
	dc = bpf_map_lookup_elem(&tg_dcache, &zero);
	if (!dc)
		return 1;
	if (tg_port_owner(dc, p, ifindex) == TG_CUST_NONE)
		k.vlan = k.ivlan = TG_EXC_UNOWNED;
	now = tg_now_fns();
	tat = bpf_map_lookup_elem(&tg_exlim, &k);
	if (!tat) {
		init = now + ipp;
		bpf_map_update_elem(&tg_exlim, &k, &init, BPF_NOEXIST);
		return 1;
	}
	return tg_gcra_charge(tat, ipp, tol, now);
}

/* An exception on a customer interface: TG_R_NR to pass, or the drop reason. */
static __always_inline __u32 tg_exc_check(const struct tg_iface *ifc, const struct tg_pkt *p,
					  int kind, __u32 ifindex)
{
	if (ifc->antispoof == TG_AS_STRICT && tg_exc_strict(p, kind, ifindex) != TG_R_NR)
		return TG_R_SPOOF;
	return tg_exc_limit(ifc, p, ifindex) ? TG_R_NR : TG_R_EXCEPTION;
}

#endif /* TG_EXC_KERN_H */
