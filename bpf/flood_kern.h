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
 * Upstream, two more: UDP from a reflector source port (DNS, NTP, memcached... the
 * configured tg_refl_ports) has a limit of its own per destination customer, counted as
 * flood_udp; and a single source over the per-source rate toward the customer is blocked
 * for a while (tg_per_source), its packets counted by their class.
 *
 * Path-MTU signals and ND/MLD never meet the `icmp` class (tg_icmp_free says why).
 *
 * Returns the drop reason, or TG_R_NR to go on.
 */
#ifndef TG_FLOOD_KERN_H
#define TG_FLOOD_KERN_H

#include "maps_kern.h"
#include "parse_kern.h"
#include "classify_kern.h"
#include "policer_kern.h"

#define TG_TCP_SYN 0x02
#define TG_TCP_ACK 0x10
#define TG_SMTP_PORT 25

/* One packet against the packet-rate policer of class fc. 1: conforms. */
static __always_inline int tg_police_pkt(struct tg_gcra *g, const struct tg_pkt_pol *pp, int fc,
					 __u64 now)
{
	if (!pp->ipp_fns || fc < 0 || fc >= TG_FC_NR)
		return 1;
	return tg_gcra_charge(&g->ftat_fns[tg_fc_slot(fc)], pp->ipp_fns, pp->tol_fns, now);
}

/* What a packet of a blocked source is counted as: the class it would have met. */
static __always_inline __u32 tg_class_reason(const struct tg_pkt *p)
{
	if (p->frag)
		return TG_R_FLOOD_FRAG;
	if (p->l4proto == IPPROTO_TCP)
		return TG_R_FLOOD_SYN;
	if (p->l4proto == IPPROTO_ICMP || p->l4proto == IPPROTO_ICMPV6)
		return TG_R_FLOOD_ICMP;
	return TG_R_FLOOD_UDP;
}

/*
 * May customer cust start one more block now? Its share is TG_SRCBLOCK_SHARE per window of
 * one block time (at least a second). Accepted race: two CPUs renewing the window at once
 * may each reset the count, admitting a few blocks more than the share.
 */
static __always_inline int tg_srcblock_share(__u32 cust, const struct tg_fprof *fp, __u64 now_ns)
{
	struct tg_srcquota *q = bpf_map_lookup_elem(&tg_srcquota, &cust);
	__u64 win = fp->block_ns > 1000000000ull ? fp->block_ns : 1000000000ull;

	if (!q)
		return 1;
	if ((__s64)(now_ns - READ_ONCE(q->win_end_ns)) >= 0) {
		q->win_end_ns = now_ns + win;
		q->n = 1;
		return 1;
	}
	if (READ_ONCE(q->n) >= TG_SRCBLOCK_SHARE)
		return 0;
	__sync_fetch_and_add(&q->n, 1);
	return 1;
}

/*
 * Per-source blocking toward customer cust (see tg_srcwatch in tollgate_kern_user.h): a
 * blocked source drops; otherwise its slot's GCRA runs, and a source over the limit is
 * blocked for the profile's block time, unless it is exempt (the walled garden or
 * per_source_exempt: one trie lookup, paid only by a source about to be blocked) or the
 * customer has used its share of tg_srcblock: then the slot only polices the source.
 */
static __always_inline __u32 tg_per_source(const struct tg_pkt *p, __u32 cust,
					   const struct tg_fprof *fp, struct tg_gcra *g, __u64 now)
{
	const struct tg_pkt_pol *pp = &fp->cls[TG_DIR_DOWN][TG_FC_SRC];
	struct tg_src_key k = {.cust = cust, .v6 = p->v6};
	struct tg_srcwatch *w;
	struct tg_config *cfg;
	__u64 *until, h, end, now_ns = bpf_ktime_get_coarse_ns(), ntat;
	__u32 slot, zero = 0;

	if (p->v6) {
		k.addr[0] = p->saddr6[0];
		k.addr[1] = p->saddr6[1];
	} else {
		k.addr[0] = p->saddr4; /* the address in the first 4 bytes */
	}
	/*
	 * g->ftat_fns[tg_fc_slot(TG_FC_SRC)] holds when the customer's last block ends: while none is
	 * running, a packet skips the block list (a cache miss for every new source of a
	 * random flood). Expired entries are deleted by the first packet of their source
	 * while a block runs, and by tollgated's sweep.
	 */
	if ((__s64)(READ_ONCE(g->ftat_fns[tg_fc_slot(TG_FC_SRC)]) - now_ns) > 0) {
		until = bpf_map_lookup_elem(&tg_srcblock, &k);
		if (until) {
			if ((__s64)(READ_ONCE(*until) - now_ns) > 0)
				return tg_class_reason(p);
			bpf_map_delete_elem(&tg_srcblock, &k); /* served its time */
		}
	}
	cfg = bpf_map_lookup_elem(&tg_config, &zero);
	if (!cfg)
		return TG_R_NR;
	h = tg_src_hash(&k, cfg->src_key);
	slot = (__u32)h & (TG_SRCWATCH_SLOTS - 1);
	w = bpf_map_lookup_elem(&tg_srcwatch, &slot);
	if (!w)
		return TG_R_NR;
	if (w->tag != (__u32)(h >> 32) || w->cust != cust) {
		/* another pair's slot: kept while that pair is more than one packet ahead of
		 * the rate (going over it), so a random flood cannot restart its watch; this
		 * pair is not watched meanwhile */
		if ((__s64)(READ_ONCE(w->tat_fns) - now) > (__s64)pp->ipp_fns)
			return TG_R_NR;
		/* the slot now watches this pair: a racing CPU may mix the fields, which only
		 * restarts the watch */
		w->tag = (__u32)(h >> 32);
		w->cust = cust;
		w->tat_fns = now + pp->ipp_fns;
		return TG_R_NR;
	}
	if (tg_gcra_next(READ_ONCE(w->tat_fns), now, pp->ipp_fns, pp->tol_fns, &ntat)) {
		w->tat_fns = ntat; /* one writer per source, in practice: no CAS needed */
		return TG_R_NR;
	}
	if (tg_walled_flags(p, 1) & (TG_WG_WALLED | TG_WG_EXEMPT)) {
		/* never blocked: the slot starts over, so the next burst costs no lookup */
		w->tat_fns = now;
		return TG_R_NR;
	}
	if (!tg_srcblock_share(cust, fp, now_ns))
		return tg_class_reason(p); /* policed in its slot, not blocked */
	end = now_ns + fp->block_ns;
	/* BPF_ANY: an expired entry of this source is renewed; full: not blocked */
	if (bpf_map_update_elem(&tg_srcblock, &k, &end, BPF_ANY) == 0 &&
	    (__s64)(end - READ_ONCE(g->ftat_fns[tg_fc_slot(TG_FC_SRC)])) > 0)
		g->ftat_fns[tg_fc_slot(TG_FC_SRC)] = end;
	return tg_class_reason(p);
}

static __always_inline int tg_refl_port(__be16 sport)
{
	__u32 port = bpf_ntohs(sport), word = port >> 6;
	__u64 *bits = bpf_map_lookup_elem(&tg_refl_ports, &word);

	return bits && (*bits >> (port & 63)) & 1;
}

/* The customer's flood profile (limits, SMTP policy, peak), or NULL: none. */
static __always_inline const struct tg_fprof *tg_profile(const struct tg_cust *c)
{
	__u32 prof = c->fprof;

	if (!prof)
		return NULL; /* a plan without limits: no lookup */
	return bpf_map_lookup_elem(&tg_fprof, &prof);
}

static __always_inline __u32 tg_flood(const struct tg_pkt *p, const struct tg_fprof *fp, __u32 cust,
				      struct tg_gcra *g, __u8 dir, int customer_role, __u64 now)
{
	int syn, fc = -1;

	if (!fp)
		return TG_R_NR;
	dir &= 1;
	if (!customer_role && fp->cls[TG_DIR_DOWN][TG_FC_SRC].ipp_fns) {
		__u32 r = tg_per_source(p, cust, fp, g, now);

		if (r != TG_R_NR)
			return r;
	}
	if (p->frag && !tg_police_pkt(g, &fp->cls[dir][TG_FC_FRAG], TG_FC_FRAG, now))
		return TG_R_FLOOD_FRAG;
	if (!p->has_l4)
		return TG_R_NR;
	syn = p->l4proto == IPPROTO_TCP && (p->tcp_flags & (TG_TCP_SYN | TG_TCP_ACK)) == TG_TCP_SYN;
	if (syn && customer_role && p->dport == bpf_htons(TG_SMTP_PORT)) {
		if (fp->smtp_block || !tg_police_pkt(g, &fp->cls[dir][TG_FC_SMTP], TG_FC_SMTP, now))
			return TG_R_SMTP;
	}
	/* amplified replies from reflectors, toward the customer: a limit of their own */
	if (!customer_role && p->l4proto == IPPROTO_UDP &&
	    fp->cls[TG_DIR_DOWN][TG_FC_REFL].ipp_fns && tg_refl_port(p->sport) &&
	    !tg_police_pkt(g, &fp->cls[TG_DIR_DOWN][TG_FC_REFL], TG_FC_REFL, now))
		return TG_R_FLOOD_UDP;
	if (syn)
		fc = TG_FC_SYN;
	else if (p->l4proto == IPPROTO_UDP)
		fc = TG_FC_UDP;
	else if ((p->l4proto == IPPROTO_ICMP || p->l4proto == IPPROTO_ICMPV6) && !tg_icmp_free(p))
		fc = TG_FC_ICMP;
	if (fc < 0)
		return TG_R_NR;
	if (!tg_police_pkt(g, &fp->cls[dir][fc], fc, now))
		return tg_fc_reason(fc);
	return TG_R_NR;
}

#endif /* TG_FLOOD_KERN_H */
