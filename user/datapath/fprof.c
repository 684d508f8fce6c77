// SPDX-License-Identifier: GPL-2.0-only
/*
 * fprof.c - flood profiles: the packet-rate limits, SMTP policy and peak rates (two-rate
 * policer) of the data plane's tg_fprof map. Profile i + 1 is plan i. A customer with limits
 * of its own (the CSV's columns of TG_FC_OWN_LIST: syn, udp, icmp, frag) gets a profile for
 * its (plan, limits), shared with every customer that has the same: numbered after the plans in the order they first appear,
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
	*f = plan->flood;
	for (int fc = 0; own && fc < TG_FC_OWN_NR; fc++) {
		if (own[fc]) {
			f->pps[fc] = own[fc];
			f->burst[fc] = 0; /* one second's worth of the customer's rate */
		}
	}
}

static void profile(const struct tg_plan *plan, const struct tg_flood_cfg *f, uint64_t tick_ns,
		    struct tg_fprof *out)
{
#define FC_BOTH(N, k, r) TG_FC_##N,
#define FC_DOWN(N, k, r) TG_FC_##N,
	static const int both[] = {TG_FC_OWN_LIST(FC_BOTH)}, down[] = {TG_FC_DOWN_LIST(FC_DOWN)};

	memset(out, 0, sizeof(*out));
	for (int d = 0; d < TG_DIR_NR; d++)
		for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++)
			tg_pkt_policer_params(f->pps[both[i]], f->burst[both[i]], tick_ns,
					      &out->cls[d][both[i]]);
	/* toward the customer only: reflected UDP, and any one source (blocked when over) */
	for (size_t i = 0; i < sizeof(down) / sizeof(down[0]); i++)
		tg_pkt_policer_params(f->pps[down[i]], f->burst[down[i]], tick_ns,
				      &out->cls[TG_DIR_DOWN][down[i]]);
	out->block_ns = f->pps[TG_FC_SRC] ? f->block_ns : 0;
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
	for (int fc = 0; fc < TG_FC_NR; fc++)
		if (p->flood.pps[fc])
			return true;
	return p->smtp != TG_SMTP_ALLOW || p->dir[TG_DIR_UP].peak_rate_bps ||
	       p->dir[TG_DIR_DOWN].peak_rate_bps;
}

static bool own_limits(const struct tg_customer *cu)
{
	for (int fc = 0; fc < TG_FC_OWN_NR; fc++)
		if (cu->flood_pps[fc])
			return true;
	return false;
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
		if (!own_limits(cu)) {
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
