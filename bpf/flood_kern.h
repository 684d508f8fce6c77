/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * flood_kern.h - stage 3a: packet-rate limits per customer and direction ("flood"), and
 * the SMTP policy, before the bandwidth policer.
 *
 * A packet belongs to at most two classes: a fragment to TG_FC_FRAG, and (a first
 * fragment too) to the class of its protocol: TCP SYN without ACK, UDP, ICMP/ICMPv6. On
 * a customer interface a TCP SYN to port 25 is a new SMTP connection: blocked, limited
 * (TG_FC_SMTP) or allowed by the plan's SMTP policy; submission (587, 465) is not port 25.
 * Each class is the GCRA of policer_kern.h counted in packets: the interval per packet
 * and the tolerance come from the customer's flood profile (tg_fprof, one per plan), the
 * state lives in the direction's cache line of tg_pol, beside the bandwidth TAT the
 * packet touches anyway. Upstream the limits protect the customer from floods aimed at
 * it; on a customer interface they stop floods the customer launches.
 *
 * Returns the drop reason, or TG_R_NR to go on.
 */
#ifndef TG_FLOOD_KERN_H
#define TG_FLOOD_KERN_H

#include "maps_kern.h"
#include "parse_kern.h"
#include "policer_kern.h"

#define TG_TCP_SYN 0x02
#define TG_TCP_ACK 0x10
#define TG_SMTP_PORT 25

/* One packet against the packet-rate policer of class fc. 1: conforms. */
static __always_inline int tg_police_pkt(struct tg_gcra *g, const struct tg_pkt_pol *pp, int fc,
					 __u64 now)
{
	__u64 tat, start, ntat;
	__s64 ahead;

	if (!pp->ipp_fns || fc < 0 || fc >= TG_FC_NR)
		return 1;
	tat = READ_ONCE(g->ftat_fns[fc]);
	for (int i = 0; i < TG_GCRA_CAS_TRIES; i++) {
		ahead = (__s64)(tat - now);
		start = (ahead < 0 || ahead > (__s64)pp->tol_fns) ? now : tat;
		ntat = start + pp->ipp_fns;
		if ((__s64)(ntat - now) > (__s64)pp->tol_fns)
			return 0;
		__u64 seen = __sync_val_compare_and_swap(&g->ftat_fns[fc], tat, ntat);

		if (seen == tat)
			return 1;
		tat = seen;
	}
	return 1;
}

static __always_inline __u32 tg_flood(const struct tg_pkt *p, const struct tg_cust *c,
				      struct tg_gcra *g, __u8 dir, int customer_role, __u64 now)
{
	const struct tg_fprof *fp;
	__u32 prof = c->fprof;
	int syn, fc = -1;

	if (!prof)
		return TG_R_NR;
	fp = bpf_map_lookup_elem(&tg_fprof, &prof);
	if (!fp)
		return TG_R_NR;
	dir &= 1;
	if (p->frag && !tg_police_pkt(g, &fp->cls[dir][TG_FC_FRAG], TG_FC_FRAG, now))
		return TG_R_FLOOD_FRAG;
	if (!p->has_l4)
		return TG_R_NR;
	syn = p->l4proto == IPPROTO_TCP && (p->tcp_flags & (TG_TCP_SYN | TG_TCP_ACK)) == TG_TCP_SYN;
	if (syn && customer_role && p->dport == bpf_htons(TG_SMTP_PORT)) {
		if (fp->smtp_block || !tg_police_pkt(g, &fp->cls[dir][TG_FC_SMTP], TG_FC_SMTP, now))
			return TG_R_SMTP;
	}
	if (syn)
		fc = TG_FC_SYN;
	else if (p->l4proto == IPPROTO_UDP)
		fc = TG_FC_UDP;
	else if (p->l4proto == IPPROTO_ICMP || p->l4proto == IPPROTO_ICMPV6)
		fc = TG_FC_ICMP;
	if (fc < 0)
		return TG_R_NR;
	if (!tg_police_pkt(g, &fp->cls[dir][fc], fc, now))
		return fc == TG_FC_SYN	 ? TG_R_FLOOD_SYN
		       : fc == TG_FC_UDP ? TG_R_FLOOD_UDP
					 : TG_R_FLOOD_ICMP;
	return TG_R_NR;
}

#endif /* TG_FLOOD_KERN_H */
