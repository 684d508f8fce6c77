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
 * A conforming packet publishes tat' with one compare-and-swap; a packet over the limit
 * only reads the cache line, so a customer flooding above its rate does not make the
 * line bounce between CPUs.
 *
 * Accepted race: two CPUs read the same tat and both try to publish. The loser re-reads
 * and retries once; if it loses again (three or more CPUs on one customer in the same
 * few nanoseconds) its packet passes uncharged. That over-admits at most one packet per
 * double loss and never drops a conforming packet; the integration test measures the
 * delivered rate against the configured one.
 *
 * Clock: bpf_ktime_get_coarse_ns() (5.11+) costs ~5 ns against ~30 ns for the precise
 * clock, the single largest cost on the pass path. Its resolution is one scheduler tick
 * (4 ms at HZ=250): within a tick time stands still and the bucket cannot refill, so the
 * loader raises the tolerance to at least two ticks at the configured rate (README:
 * "effective burst"). Long-term rate is unaffected.
 *
 * Units: time in 2^-8 ns ("fns") modulo 2^64, compared by signed difference, so the
 * wrap after 834 days of uptime is harmless; a TAT further ahead than the tolerance can
 * only be stale (the wrap, or a smaller burst loaded by a reload) and is reset to now.
 */
#ifndef TG_POLICER_KERN_H
#define TG_POLICER_KERN_H

#include "maps_kern.h"

#define TG_GCRA_CAS_TRIES 2

static __always_inline __u64 tg_now_fns(void)
{
	return bpf_ktime_get_coarse_ns() << 8;
}

/* Returns 1 if the packet conforms (and is charged), 0 if it is over the limit. */
static __always_inline int tg_police(struct tg_gcra *g, const struct tg_policer_cfg *cfg, __u32 len,
				     __u64 now)
{
	__u64 ipb = cfg->ipb_fns16, tol = cfg->tol_fns;
	__u64 cost, tat, start, ntat;
	__s64 ahead;
	int i;

	if (!ipb)
		return 1; /* no limit configured for this direction */
	cost = ((__u64)len * ipb) >> 8;
	tat = READ_ONCE(g->tat_fns);

	for (i = 0; i < TG_GCRA_CAS_TRIES; i++) {
		ahead = (__s64)(tat - now);
		start = (ahead < 0 || ahead > (__s64)tol) ? now : tat;
		ntat = start + cost;
		if ((__s64)(ntat - now) > (__s64)tol)
			return 0; /* over the limit: nothing written */
		__u64 seen = __sync_val_compare_and_swap(&g->tat_fns, tat, ntat);

		if (seen == tat)
			return 1;
		tat = seen; /* another CPU charged first: re-evaluate against its TAT */
	}
	return 1; /* lost every race: pass uncharged (see "Accepted race" above) */
}

#endif /* TG_POLICER_KERN_H */
