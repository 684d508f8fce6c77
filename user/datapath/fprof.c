// SPDX-License-Identifier: GPL-2.0-only
/*
 * fprof.c - flood profiles: the packet-rate limits, SMTP policy and peak rates (two-rate
 * policer) of the data plane's tg_fprof map. Profile i + 1 is plan i. A customer with limits of its own (the CSV's syn,
 * udp, icmp, frag columns) gets a profile for its (plan, limits), shared with every
 * customer that has the same: numbered after the plans in the order they first appear,
 * TG_MAX_FPROF in all. So 1M customers cost no memory for their limits, and a plan's
 * change reaches all of its customers with one write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "lib/lib.h"
#include "sync_int.h"

/* The plan's limits, with a customer's own rates (0: the plan's) in place of the plan's. */
static void flood_of(const struct tg_plan *plan, const uint32_t *own, struct tg_flood_cfg *f)
{
	uint64_t *pps[4] = {&f->syn_pps, &f->udp_pps, &f->icmp_pps, &f->frag_pps};

	*f = plan->flood;
	for (int i = 0; own && i < 4; i++) {
		if (own[i]) {
			*pps[i] = own[i];
			f->burst[i] = 0; /* one second's worth of the customer's rate */
		}
	}
}

static void profile(const struct tg_plan *plan, const struct tg_flood_cfg *f, uint64_t tick_ns,
		    struct tg_fprof *out)
{
	const uint64_t pps[TG_FC_FRAG + 1] = {
		[TG_FC_SYN] = f->syn_pps,
		[TG_FC_UDP] = f->udp_pps,
		[TG_FC_ICMP] = f->icmp_pps,
		[TG_FC_FRAG] = f->frag_pps,
	};

	memset(out, 0, sizeof(*out));
	/* f->burst[] is in the order of the keys: syn, udp, icmp, frag, reflection, per_source */
	for (int d = 0; d < TG_DIR_NR; d++)
		for (int fc = 0; fc <= TG_FC_FRAG; fc++)
			tg_pkt_policer_params(pps[fc], f->burst[fc], tick_ns, &out->cls[d][fc]);
	/* toward the customer only: reflected UDP, and any one source (blocked when over) */
	tg_pkt_policer_params(f->refl_pps, f->burst[4], tick_ns,
			      &out->cls[TG_DIR_DOWN][TG_FC_REFL]);
	tg_pkt_policer_params(f->src_pps, f->burst[5], tick_ns, &out->cls[TG_DIR_DOWN][TG_FC_SRC]);
	out->block_ns = f->src_pps ? f->block_ns : 0;
	/* the plan's peak (two-rate policer), applied to customers with TG_CF_TRTCM */
	for (int d = 0; d < TG_DIR_NR; d++) {
		struct tg_rate_cfg pk = {plan->dir[d].peak_rate_bps, plan->dir[d].peak_burst_bytes,
					 0, 0};

		tg_policer_params(&pk, tick_ns, &out->peak[d]);
	}
	out->yellow_dscp = plan->yellow_dscp;
	/* the SMTP policy is about what the customer sends: upload */
	if (plan->smtp == TG_SMTP_BLOCK)
		out->smtp_block = 1;
	else if (plan->smtp == TG_SMTP_LIMIT)
		tg_pkt_policer_params(plan->smtp_limit, 0, tick_ns,
				      &out->cls[TG_DIR_UP][TG_FC_SMTP]);
}

static bool has_limits(const struct tg_plan *p)
{
	return p->flood.syn_pps || p->flood.udp_pps || p->flood.icmp_pps || p->flood.frag_pps ||
	       p->flood.refl_pps || p->flood.src_pps || p->smtp != TG_SMTP_ALLOW ||
	       p->dir[TG_DIR_UP].peak_rate_bps || p->dir[TG_DIR_DOWN].peak_rate_bps;
}

struct combo_key {
	const struct tg_fprofs *t;
	const struct tg_fprof_combo *k;
};

static bool combo_eq(const void *ctx, uint32_t item)
{
	const struct combo_key *ck = ctx;

	return !memcmp(&ck->t->combo[item], ck->k, sizeof(*ck->k));
}

int tg_fprofs_build(const struct tg_cfg *cfg, struct tg_fprofs *t, struct tg_errs *errs)
{
	size_t n = cfg->ncustomers, max = TG_MAX_FPROF - 1 - cfg->nplans;
	struct tg_hset set = {};
	uint64_t *where = NULL;
	int err = 0;

	memset(t, 0, sizeof(*t));
	if (cfg->nplans >= TG_MAX_FPROF - 1) {
		tg_errs_add(errs, "%s: %zu plans: at most %u have flood limits", cfg->path,
			    cfg->nplans, TG_MAX_FPROF - 2);
		return -E2BIG;
	}
	t->of = calloc(n + 1, sizeof(*t->of));
	if (!t->of)
		return -ENOMEM;
	for (size_t c = 0; c < n; c++) {
		const struct tg_customer *cu = &cfg->customers[c];
		struct tg_fprof_combo k = {.plan = cu->plan};
		struct combo_key ck = {t, &k};
		uint32_t hit;
		uint64_t h;

		if (cu->plan < 0 || (size_t)cu->plan >= cfg->nplans)
			continue;
		if (!cu->flood_pps[0] && !cu->flood_pps[1] && !cu->flood_pps[2] &&
		    !cu->flood_pps[3]) {
			/* a plan without limits costs its customers no profile lookup */
			t->of[c] = has_limits(&cfg->plans[cu->plan]) ? (uint16_t)(cu->plan + 1) : 0;
			continue;
		}
		memcpy(k.pps, cu->flood_pps, sizeof(k.pps));
		if (!set.slot && (err = tg_hset_init(&set, max)))
			goto out;
		h = tg_hash(&k, sizeof(k));
		hit = tg_hset_find(&set, h, combo_eq, &ck, &where);
		if (hit == UINT32_MAX) {
			if (t->ncombo == max) {
				tg_errs_add(
					errs,
					"%s: line %d: more than %zu distinct sets of flood limits "
					"(plans and customers' own): give customers plans instead",
					cfg->customers_path ? cfg->customers_path : cfg->path,
					cu->line, max);
				err = -E2BIG;
				goto out;
			}
			if (!t->ncombo) {
				t->combo = calloc(max, sizeof(*t->combo));
				if (!t->combo) {
					err = -ENOMEM;
					goto out;
				}
			}
			t->combo[t->ncombo] = k;
			hit = (uint32_t)t->ncombo++;
			tg_hset_put(where, h, hit);
		}
		t->of[c] = (uint16_t)(cfg->nplans + 1 + hit);
	}
out:
	tg_hset_free(&set);
	if (err)
		tg_fprofs_free(t);
	return err;
}

void tg_fprofs_free(struct tg_fprofs *t)
{
	free(t->of);
	free(t->combo);
	memset(t, 0, sizeof(*t));
}

int tg_fprofs_write(struct tg_maps *m, const struct tg_cfg *cfg, const struct tg_fprofs *t,
		    uint64_t tick_ns)
{
	uint64_t bits[TG_REFL_WORDS] = {0};
	__u32 keys[TG_REFL_WORDS];
	struct tg_flood_cfg f;
	struct tg_fprof fp;
	int err;

	if (m->fprof < 0 || m->refl_ports < 0)
		return -EINVAL;
	/* the reflector ports first: a profile that limits reflection finds them set */
	for (size_t i = 0; i < cfg->nrefl_ports; i++)
		bits[cfg->refl_ports[i] >> 6] |= 1ull << (cfg->refl_ports[i] & 63);
	for (__u32 i = 0; i < TG_REFL_WORDS; i++)
		keys[i] = i;
	err = tg_update_batch(m->refl_ports, keys, bits, TG_REFL_WORDS, sizeof(keys[0]),
			      sizeof(bits[0]));
	if (err)
		return err;
	for (size_t i = 0; i < cfg->nplans; i++) {
		__u32 k = (__u32)i + 1;

		flood_of(&cfg->plans[i], NULL, &f);
		profile(&cfg->plans[i], &f, tick_ns, &fp);
		if (bpf_map_update_elem(m->fprof, &k, &fp, BPF_ANY))
			return neg_errno();
	}
	for (size_t i = 0; i < t->ncombo; i++) {
		const struct tg_plan *plan = &cfg->plans[t->combo[i].plan];
		__u32 k = (__u32)(cfg->nplans + 1 + i);

		flood_of(plan, t->combo[i].pps, &f);
		profile(plan, &f, tick_ns, &fp);
		if (bpf_map_update_elem(m->fprof, &k, &fp, BPF_ANY))
			return neg_errno();
	}
	return 0;
}
