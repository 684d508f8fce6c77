// SPDX-License-Identifier: GPL-2.0-only
/*
 * policer.c - GCRA parameters of the byte and packet policers, from configured rates and
 * bursts (records, flood profiles). Pure arithmetic.
 */
#include <string.h>

#include "lib/lib.h"
#include "sync_int.h"

/* ---- policer parameters ---- */

/*
 * The interval and tolerance of a policer (units.c tg_gcra_*: the arithmetic the config
 * checks and `customer show` use too). A validated config has its rates and bursts within
 * what these hold (config.h TG_RATE_MIN_BPS..TG_RATE_MAX_BPS, tg_burst_max_bytes), so the
 * bounds below only guard against an unvalidated caller: a rate below the minimum or a
 * tolerance over TG_GCRA_TOL_MAX_FNS would overflow the data plane's arithmetic.
 */
void tg_policer_params(const struct tg_rate_cfg *r, uint64_t tick_ns, struct tg_policer_cfg *out)
{
	unsigned __int128 tol;
	uint64_t rate = r->rate_bps, burst = r->burst_bytes, floor;

	memset(out, 0, sizeof(*out));
	if (!rate)
		return; /* unlimited */
	if (rate < TG_RATE_MIN_BPS)
		rate = TG_RATE_MIN_BPS;
	/* 8e9 ns per byte at 1 bit/s, in 2^-16 ns, rounded up so we never exceed the rate */
	out->ipb_fns16 = tg_gcra_ipb_fns16(rate);
	/*
	 * The coarse clock stands still for a tick, so the bucket must hold what the rate
	 * earns in two ticks or the delivered rate falls below the configured one.
	 */
	floor = (uint64_t)((unsigned __int128)rate * 2 * tick_ns / 8000000000ull);
	if (burst < floor)
		burst = floor;
	tol = ((unsigned __int128)burst * out->ipb_fns16) >> 8;
	out->tol_fns = tol > TG_GCRA_TOL_MAX_FNS ? TG_GCRA_TOL_MAX_FNS : (uint64_t)tol;
}

void tg_pkt_policer_params(uint64_t pps, uint64_t burst, uint64_t tick_ns, struct tg_pkt_pol *out)
{
	unsigned __int128 tol;

	memset(out, 0, sizeof(*out));
	if (!pps)
		return;
	out->ipp_fns = tg_gcra_ipp_fns(pps);
	if (!burst)
		burst = pps; /* one second's worth */
	if ((unsigned __int128)pps * 2 * tick_ns / 1000000000ull > burst)
		burst = (uint64_t)((unsigned __int128)pps * 2 * tick_ns / 1000000000ull);
	if (!burst)
		burst = 1;
	tol = (unsigned __int128)burst * out->ipp_fns;
	out->tol_fns = tol > TG_GCRA_TOL_MAX_FNS ? TG_GCRA_TOL_MAX_FNS : (uint64_t)tol;
}
