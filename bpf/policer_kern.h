/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * policer_kern.h - stage 3: the per-customer bandwidth policer, one per direction.
 *
 * GCRA (virtual scheduling, ITU-T I.371), equivalent to a token bucket of `burst` bytes
 * filled at `rate`, counted over the IP packet (RFC 2697: IP header in, link header out).
 * The only state is the theoretical arrival time (TAT), one u64 shared by every CPU, so a
 * customer whose flows land on several CPUs is held to one rate, not to rate x CPUs.
 *
 *   tat' = max(tat, now) + len * interval_per_byte
 *   conform  iff  tat' - now <= tolerance (= burst * interval_per_byte)
 *
 * A conforming packet publishes tat' with a compare-and-swap; a packet over the limit
 * only reads the cache line, so a customer flooding above its rate does not make the
 * line bounce between CPUs.
 *
 * Accepted race: CPUs read the same tat and all try to publish. A loser re-evaluates
 * against the TAT the winner published and retries, up to TG_GCRA_CAS_TRIES times. If
 * it loses every time (every CPU on one customer, a customer who spreads its flows over
 * every RSS queue) and the packet still conforms to the last TAT it saw, it is charged
 * with one atomic add of its cost instead of being published: the packet is never passed
 * uncharged. The add lands on a TAT that may have moved on since it was read, so the TAT
 * can end up past now + tolerance by the cost of the packets that took this path at the
 * same moment (at most one per CPU); those packets are admitted beyond the burst, and
 * the next packets wait for exactly that debt. Over-admission is thus bounded by one
 * packet per CPU at any moment and never accumulates; long-term the rate is exact
 * (test_contend measures it with every CPU hammering one customer: within 1% of
 * rate x time + burst). The add on a TAT that fell behind now (a tick boundary between
 * the read and the add) is worth less than the packet's cost: at most one packet a tick
 * under-charged per CPU. A TAT ahead by up to twice the tolerance is such a debt and is
 * honoured (the packet drops); only beyond that it is stale (see Units).
 *
 * Clock: jiffies (bpf_jiffies64(), 5.5+) times the tick, which the loader writes into
 * tg_tick_fns from clock_getres(CLOCK_MONOTONIC_COARSE). That is the coarse clock's own
 * resolution and source, at half the cost of bpf_ktime_get_coarse_ns() (which converts
 * a timespec on every call; bench_xdp measured 1-2 ns a packet), and far below the
 * ~30 ns of the precise clock. Without a tick (tg_tick_fns 0) the coarse clock is read.
 * Either way time advances one tick (4 ms at HZ=250) at a time: within a tick the bucket
 * cannot refill, so the loader raises the tolerance to at least two ticks at the
 * configured rate (docs/policy.md: "effective burst"). Long-term rate is unaffected. This clock
 * only orders policer state; per-source block ends, which tollgated compares with
 * CLOCK_MONOTONIC_COARSE, read that clock (flood_kern.h).
 *
 * Units: time in 2^-8 ns ("fns") modulo 2^64, compared by signed difference, so its wrap
 * (every 834 days) is harmless. A TAT further ahead than twice the tolerance can only be
 * stale (the wrap, or a smaller burst loaded by a reload) and is reset to now; one between
 * the tolerance and twice it is a debt of the atomic-add path (see Accepted race), or the
 * rest of a larger burst loaded before a reload, and is paid off at the rate.
 */
#ifndef TG_POLICER_KERN_H
#define TG_POLICER_KERN_H

#include "maps_kern.h"
#include "parse_kern.h"

/* compare-and-swaps before a conforming packet is charged with an atomic add instead */
#define TG_GCRA_CAS_TRIES 4

/* One jiffy in fns, set by the loader before load (0: none known, read the coarse clock). */
const volatile __u64 tg_tick_fns = 0;

static __always_inline __u64 tg_now_fns(void)
{
	if (tg_tick_fns)
		return bpf_jiffies64() * tg_tick_fns;
	return bpf_ktime_get_coarse_ns() << 8;
}

/*
 * The TAT after charging cost at now, in *ntat; 1 if that conforms. A TAT further ahead than
 * twice the tolerance can only be stale (see Units) and restarts at now.
 */
static __always_inline int tg_gcra_next(__u64 tat, __u64 now, __u64 cost, __u64 tol, __u64 *ntat)
{
	__s64 ahead = (__s64)(tat - now);
	__u64 start = (ahead < 0 || ahead - (__s64)tol > (__s64)tol) ? now : tat;

	*ntat = start + cost;
	return (__s64)(*ntat - now) <= (__s64)tol;
}

/*
 * Charge cost to the GCRA state at *tat_p: published with a compare-and-swap, retried up to
 * TG_GCRA_CAS_TRIES times, then added atomically (see "Accepted race" above). Returns 1 if
 * it conforms (and is charged), 0 if over the limit (nothing written). Shared by the
 * bandwidth policer (cost in bytes) and the packet-rate limits (flood_kern.h).
 */
static __always_inline int tg_gcra_charge(__u64 *tat_p, __u64 cost, __u64 tol, __u64 now)
{
	__u64 tat = READ_ONCE(*tat_p), ntat;
	int i;

	for (i = 0; i < TG_GCRA_CAS_TRIES; i++) {
		if (!tg_gcra_next(tat, now, cost, tol, &ntat))
			return 0;
		__u64 seen = __sync_val_compare_and_swap(tat_p, tat, ntat);

		if (seen == tat)
			return 1;
		tat = seen; /* another CPU charged first: re-evaluate against its TAT */
	}
	if (!tg_gcra_next(tat, now, cost, tol, &ntat))
		return 0;
	__sync_fetch_and_add(tat_p, cost); /* lost every race: charged all the same */
	return 1;
}

enum tg_colour {
	TG_GREEN = 0, /* within the rate: passed untouched */
	TG_YELLOW,    /* over the rate, within the peak: passed, DSCP rewritten */
	TG_RED,	      /* over the peak (or over the rate of a single-rate policer): dropped */
};

/*
 * The packet's colour. Single-rate (peak NULL or unset): green and charged, or red. Two
 * rates (RFC 2698, colour-blind): over the peak is red and charges neither bucket; within
 * it the peak bucket is charged, then the committed one: green if that conforms, yellow
 * (the committed bucket untouched) if not. A red or yellow packet writes nothing more than
 * RFC 2698 says, so a customer flooding above its peak only reads the line.
 */
static __always_inline int tg_police(struct tg_gcra *g, const struct tg_policer_cfg *cfg,
				     const struct tg_policer_cfg *peak, __u32 len, __u64 now)
{
	int over = TG_RED; /* the colour of a packet over the rate */

	if (peak && peak->ipb_fns16) {
		if (!tg_gcra_charge(&g->ptat_fns, ((__u64)len * peak->ipb_fns16) >> 8,
				    peak->tol_fns, now))
			return TG_RED;
		over = TG_YELLOW;
	}
	if (!cfg->ipb_fns16)
		return TG_GREEN; /* no limit configured for this direction */
	/* one call site for the committed bucket: the program stays small */
	return tg_gcra_charge(&g->tat_fns, ((__u64)len * cfg->ipb_fns16) >> 8, cfg->tol_fns, now)
		       ? TG_GREEN
		       : over;
}

/*
 * Rewrite a yellow packet's DSCP to dscp, keeping its ECN bits: the IPv4 TOS byte with the
 * header checksum updated incrementally (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m') over the
 * 16-bit word of version/IHL and TOS), or the IPv6 traffic class (no checksum). The parser
 * checked these bytes; they are checked again because the verifier needs it. XDP may
 * write the frame in place. A BPF-to-BPF call, not inlined: inlined, it cost every green
 * packet about 1.5 ns (bench_xdp, A/B side by side: v4 pass 4.87 -> 5.17 x bare; as a
 * call 4.64, the old program 4.84), a yellow one pays the call instead.
 */
static __attribute__((noinline)) void tg_set_dscp(struct xdp_md *ctx, const struct tg_pkt *p,
						  __u8 dscp)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u8 *h = data + (p->l3_off & TG_L3_OFF_MASK);

	if ((void *)(h + 2) > end)
		return;
	if (p->v6) {
		__u8 tc = (__u8)((h[0] & 0x0f) << 4 | h[1] >> 4),
		     ntc = (__u8)(dscp << 2 | (tc & 3));

		h[0] = (h[0] & 0xf0) | ntc >> 4;
		h[1] = (__u8)((h[1] & 0x0f) | (ntc & 0x0f) << 4);
		return;
	}
	struct iphdr *iph = (struct iphdr *)h;
	__u32 sum;
	__u16 m, m2;
	__u8 ntos;

	if ((void *)(iph + 1) > end)
		return;
	ntos = (__u8)(dscp << 2 | (iph->tos & 3));
	if (ntos == iph->tos)
		return;
	m = (__u16)(h[0] << 8 | iph->tos);
	m2 = (__u16)(h[0] << 8 | ntos);
	sum = (__u16)~bpf_ntohs(iph->check) + (__u32)(__u16)~m + m2;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	iph->tos = ntos;
	iph->check = bpf_htons((__u16)~sum);
}

#endif /* TG_POLICER_KERN_H */
