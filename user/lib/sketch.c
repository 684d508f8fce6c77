// SPDX-License-Identifier: GPL-2.0-only
/*
 * sketch.c - the estimates of the data plane's fan-out sketches (see sketch.h). The
 * registers and the hash are bpf/fanout_kern.h's; the error of these estimates, measured
 * through the program, is in docs/metrics.md (test_golden's fanout group measures it).
 */
#include <math.h>
#include <string.h>

#include "sketch.h"

double tg_hll_estimate(const uint8_t *regs)
{
	const double m = TG_HLL_REGS;
	const double alpha = 0.697; /* alpha_32, Flajolet et al. */
	double sum = 0, e;
	unsigned int zeros = 0;

	for (unsigned int i = 0; i < TG_HLL_REGS; i++) {
		unsigned int r = (regs[i / 2] >> ((i & 1) * 4)) & 0xf;

		sum += 1.0 / (double)(1u << r);
		zeros += !r;
	}
	if (zeros == TG_HLL_REGS)
		return 0;
	e = alpha * m * m / sum;
	if (e <= 2.5 * m && zeros)
		e = m * log(m / zeros); /* linear counting: exact-ish for a few items */
	return e;
}

void tg_fanout_estimate(const struct tg_fanout *f, uint32_t epoch, struct tg_fanout_est *e)
{
	memset(e, 0, sizeof(*e));
	if (!f || f->epoch != epoch)
		return; /* nothing since this interval began */
	e->hosts = tg_hll_estimate(f->hosts);
	e->ports = tg_hll_estimate(f->ports);
	e->smtp_hosts = tg_hll_estimate(f->smtp);
	e->smtp_conns = f->smtp_conns;
	e->syns = f->syns;
	e->synacks = f->synacks;
	e->unanswered = f->syns > f->synacks ? f->syns - f->synacks : 0;
}
