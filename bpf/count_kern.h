/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * count_kern.h - stage 4: counters.
 *
 * Interface counters and per-customer passed traffic are per-CPU: written on every packet,
 * summed by userspace. Per-customer drops by reason would cost 20 GiB per-CPU at 1M
 * customers and 64 CPUs, so they live in one shared array (tg_cdrop) instead; to keep a
 * flood aimed at one customer from bouncing that cache line between CPUs on every packet,
 * each CPU coalesces consecutive drops with the same (customer, direction, reason) in its
 * own slot (tg_dcache) and flushes them with one atomic add every TG_DCACHE_FLUSH_PKTS
 * drops or when the key changes. Readers add the slots still pending (user/datapath/stats.c), so
 * the totals they show are exact (see tg_pend_read for the one race they accept).
 *
 * Would-drops ("noted": a monitor interface, or upstream malformed-after-IP) go the same
 * way with the slot's noted flag, into tg_cnoted (packets only), and the packet is also
 * the customer's passed traffic (tg_cstat). On the interface it counts as noted only.
 */
#ifndef TG_COUNT_KERN_H
#define TG_COUNT_KERN_H

#include "maps_kern.h"
#include "parse_kern.h"

static __always_inline struct tg_ifstat *tg_ifstat_of(const struct tg_iface *ifc)
{
	__u32 slot = ifc->slot;

	return bpf_map_lookup_elem(&tg_ifstat, &slot);
}

static __always_inline void tg_cstat_add(__u32 cust, __u8 dir, __u32 len)
{
	struct tg_cstat *cs = bpf_map_lookup_elem(&tg_cstat, &cust);

	if (cs && dir < TG_DIR_NR) {
		cs->pkts[dir]++;
		cs->bytes[dir] += len;
	}
}

/* A packet's destination, ports and protocol into a sample slot. */
static __always_inline void tg_sample(struct tg_portsample *ps, const struct tg_pkt *p, __u32 cust,
				      __u8 dir)
{
	ps->cust = cust;
	ps->dport = p->has_l4 ? bpf_ntohs(p->dport) : 0;
	ps->sport = p->has_l4 ? bpf_ntohs(p->sport) : 0;
	ps->proto = p->l4proto;
	ps->dir = dir;
	ps->v6 = p->v6;
	if (p->v6) {
		__builtin_memcpy(ps->daddr, p->daddr6, 16);
	} else {
		__builtin_memset(ps->daddr, 0, 16);
		__builtin_memcpy(ps->daddr, &p->daddr4, 4);
	}
}

/* A passed packet into its interface's counters (is: tg_ifstat_of, this CPU's; may be
 * NULL) and its customer's. */
static __always_inline void tg_count_pass(struct tg_ifstat *is, __u32 cust, __u8 dir, __u32 len,
					  const struct tg_pkt *p)
{
	if (cust == TG_CUST_NONE) {
		if (is) {
			is->uncl_pkts++;
			is->uncl_bytes += len;
		}
		return;
	}
	if (is) {
		is->pass_pkts++;
		is->pass_bytes += len;
		/* one passed download in TG_PS_PASS_EVERY per CPU into the samples (which host
		 * a flood is aimed at): a test of a count already in a register otherwise */
		if (dir == TG_DIR_DOWN && !(is->pass_pkts & (TG_PS_PASS_EVERY - 1))) {
			__u32 zero = 0;
			struct tg_dcache *dc = bpf_map_lookup_elem(&tg_dcache, &zero);

			if (dc)
				tg_sample(&dc->pps[dc->pps_pos++ & (TG_PS_SLOTS - 1)], p, cust,
					  dir);
		}
	}
	tg_cstat_add(cust, dir, len);
}

/* Pass a packet without a customer although it matched `reason` (upstream, no IP header). */
static __always_inline int tg_noted(const struct tg_iface *ifc, __u32 reason, __u32 len)
{
	struct tg_ifstat *is = tg_ifstat_of(ifc);

	if (is && reason < TG_R_NR) {
		is->noted_pkts[reason]++;
		is->noted_bytes[reason] += len;
	}
	return XDP_PASS;
}

static __always_inline void tg_dcache_flush(struct tg_dcache *dc)
{
	__u32 cust = dc->cust, dir = dc->dir & 1, reason = dc->reason;
	struct tg_cdrop *cd;

	if (cust == TG_CUST_NONE || reason >= TG_R_NR || !dc->pkts)
		return;
	/* before the shared counter moves: a reader that saw pkts then sees flushes move */
	WRITE_ONCE(dc->flushes, dc->flushes + 1);
	if (dc->noted) {
		struct tg_cnoted *cn = bpf_map_lookup_elem(&tg_cnoted, &cust);

		if (cn)
			__sync_fetch_and_add(&cn->pkts[dir][reason], dc->pkts);
	} else {
		cd = bpf_map_lookup_elem(&tg_cdrop, &cust);
		if (cd) {
			__sync_fetch_and_add(&cd->pkts[dir][reason], dc->pkts);
			__sync_fetch_and_add(&cd->bytes[dir][reason], dc->bytes);
		}
	}
	WRITE_ONCE(dc->pkts, 0);
	dc->bytes = 0;
}

/*
 * The customer behind the access port (interface, VLANs) a packet came in on, to charge a
 * spoofed or malformed packet to; TG_CUST_NONE if no one or several customers sit there.
 * The most specific binding that admits the frame owns the port: its exact tags, then
 * its outer tag with any inner one (`100.*`), then the whole interface (`*`); a shared
 * (ambiguous) port is no one's and does not fall through to a wildcard. A priority tag
 * was never recorded (parse_kern.h), so a priority-tagged frame is the untagged port's.
 * The last answer is cached per CPU until userspace changes the bindings (bind_gen), so
 * a flood from one port pays for the (up to three) lookups once.
 */
static __always_inline __u32 tg_port_owner(struct tg_dcache *dc, const struct tg_pkt *p,
					   __u32 ifindex)
{
	struct tg_bind_key k = {.ifindex = ifindex, .vlan = p->vlan, .ivlan = p->ivlan};
	struct tg_config *cfg;
	__u32 zero = 0, *c, owner;

	cfg = bpf_map_lookup_elem(&tg_config, &zero);
	if (!cfg)
		return TG_CUST_NONE;
	if (dc->port_ifindex == ifindex && dc->port_vlan == p->vlan && dc->port_ivlan == p->ivlan &&
	    dc->port_gen == cfg->bind_gen)
		return dc->port_cust;
	c = bpf_map_lookup_elem(&tg_bind, &k);
	if (!c && p->vlan != TG_VLAN_UNTAGGED) {
		k.ivlan = TG_VLAN_ANY;
		c = bpf_map_lookup_elem(&tg_bind, &k);
	}
	if (!c) {
		k.vlan = TG_VLAN_ANY;
		k.ivlan = TG_VLAN_ANY;
		c = bpf_map_lookup_elem(&tg_bind, &k);
	}
	owner = (!c || *c == TG_BIND_AMBIGUOUS) ? TG_CUST_NONE : *c;
	dc->port_ifindex = ifindex;
	dc->port_vlan = p->vlan;
	dc->port_ivlan = p->ivlan;
	dc->port_gen = cfg->bind_gen;
	dc->port_cust = owner;
	return owner;
}

/*
 * A packet that matched `reason`: dropped (noted 0), or passed anyway (noted 1: a monitor
 * interface, upstream malformed-after-IP), which also makes it the customer's passed
 * traffic. cust may be TG_CUST_PORT: charge whoever owns the access port p arrived on.
 */
static __always_inline void tg_count_drop(const struct tg_iface *ifc, __u32 cust, __u8 dir,
					  __u32 reason, __u32 len, const struct tg_pkt *p,
					  __u8 noted)
{
	struct tg_ifstat *is = tg_ifstat_of(ifc);
	struct tg_dcache *dc;
	__u32 zero = 0;

	if (reason >= TG_R_NR)
		return;
	if (is) {
		if (noted) {
			is->noted_pkts[reason]++;
			is->noted_bytes[reason] += len;
		} else {
			is->drop_pkts[reason]++;
			is->drop_bytes[reason] += len;
		}
	}
	if (cust == TG_CUST_NONE)
		return;
	dc = bpf_map_lookup_elem(&tg_dcache, &zero);
	if (!dc)
		return;
	if (cust == TG_CUST_PORT) {
		cust = tg_port_owner(dc, p, ifc->ifindex);
		if (cust == TG_CUST_NONE)
			return;
	}
	if (noted)
		tg_cstat_add(cust, dir, len);
	if (dc->cust != cust || dc->dir != dir || dc->reason != reason || dc->noted != noted) {
		tg_dcache_flush(dc);
		dc->cust = cust;
		dc->dir = dir;
		dc->reason = reason;
		dc->noted = noted;
	}
	WRITE_ONCE(dc->pkts, dc->pkts + 1);
	dc->bytes += len;
	if (noted) {
		if (dc->pkts >= TG_DCACHE_FLUSH_PKTS)
			tg_dcache_flush(dc);
		return; /* would-drops are not the evidence of an enforcement action */
	}
	/* the evidence's destinations and ports: this CPU's last TG_PS_SLOTS drops */
	tg_sample(&dc->ps[dc->ps_pos++ & (TG_PS_SLOTS - 1)], p, cust, dir);
	if (dc->pkts >= TG_DCACHE_FLUSH_PKTS)
		tg_dcache_flush(dc);
}

#endif /* TG_COUNT_KERN_H */
