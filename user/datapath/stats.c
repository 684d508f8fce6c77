// SPDX-License-Identifier: GPL-2.0-only
/*
 * stats.c - read the counters back: per-CPU values summed over every possible CPU, and
 * per-customer drops and would-drops as the shared total plus what each CPU still holds
 * in its coalescing slot (bpf/count_kern.h; tg_pend_read in maps.h says how, and which
 * race it accepts).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "lib/lib.h"
#include "maps.h"

/* Per-CPU values are laid out every round_up(value_size, 8) bytes. */
#define PCPU_STRIDE(type) ((sizeof(type) + 7) / 8 * 8)

static bool pend_key(const struct tg_pending *e, uint32_t cust, int dir, int reason, int noted)
{
	return e->cust == cust && e->dir == dir && e->reason == reason && e->noted == noted;
}

static int pend_find(const struct tg_pendset *ps, uint32_t cust, int dir, int reason, int noted)
{
	if (!((ps->filter[(cust >> 6) & 63] >> (cust & 63)) & 1))
		return -1;
	for (int i = 0; i < ps->n; i++)
		if (pend_key(&ps->e[i], cust, dir, reason, noted))
			return i;
	return -1;
}

static bool slot_live(const struct tg_maps *m, const struct tg_dcache *dc)
{
	return dc->cust != TG_CUST_NONE && dc->cust < m->max_cust && dc->pkts &&
	       dc->dir < TG_DIR_NR && dc->reason < TG_R_NR && dc->noted <= 1;
}

/* The shared counter of one key, read now (the base of its pending packets). */
static int read_base(const struct tg_maps *m, struct tg_pending *e)
{
	if (e->noted) {
		struct tg_cnoted cn;

		if (bpf_map_lookup_elem(m->cnoted, &e->cust, &cn))
			return neg_errno();
		e->base = cn.pkts[e->dir][e->reason];
		e->base_b = 0;
	} else {
		struct tg_cdrop cd;

		if (bpf_map_lookup_elem(m->cdrop, &e->cust, &cd))
			return neg_errno();
		e->base = cd.pkts[e->dir][e->reason];
		e->base_b = cd.bytes[e->dir][e->reason];
	}
	return 0;
}

int tg_pend_read(const struct tg_maps *m, struct tg_pendset *ps)
{
	size_t stride = PCPU_STRIDE(struct tg_dcache);
	char *s0 = malloc(stride * m->ncpus), *s1 = malloc(stride * m->ncpus);
	int *at = calloc(m->ncpus, sizeof(*at));
	__u32 zero = 0;
	int err = 0;

	ps->n = 0;
	memset(ps->filter, 0, sizeof(ps->filter));
	if (!s0 || !s1 || !at) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(m->dcache, &zero, s0)) { /* S0 */
		err = neg_errno();
		goto out;
	}
	for (int cpu = 0; cpu < m->ncpus; cpu++) { /* the keys, and each one's base */
		const struct tg_dcache *dc = (const void *)(s0 + cpu * stride);
		int i;

		at[cpu] = -1;
		if (!slot_live(m, dc))
			continue;
		for (i = 0; i < ps->n; i++)
			if (pend_key(&ps->e[i], dc->cust, dc->dir, dc->reason, dc->noted))
				break;
		if (i == ps->n) {
			if (i == TG_SNAP_PEND_MAX)
				continue;
			ps->e[i] = (struct tg_pending){.cust = dc->cust,
						       .dir = dc->dir,
						       .reason = dc->reason,
						       .noted = dc->noted};
			err = read_base(m, &ps->e[i]);
			if (err)
				goto out;
			ps->n++;
			ps->filter[(dc->cust >> 6) & 63] |= 1ull << (dc->cust & 63);
		}
		at[cpu] = i;
	}
	if (!ps->n)
		goto out;
	if (bpf_map_lookup_elem(m->dcache, &zero, s1)) { /* S1 */
		err = neg_errno();
		goto out;
	}
	for (int cpu = 0; cpu < m->ncpus; cpu++) {
		const struct tg_dcache *a = (const void *)(s0 + cpu * stride),
				       *b = (const void *)(s1 + cpu * stride);

		if (at[cpu] < 0 || a->flushes != b->flushes)
			continue; /* flushed meanwhile: the base may hold them already */
		ps->e[at[cpu]].pkts += a->pkts;
		ps->e[at[cpu]].bytes += a->bytes;
	}
out:
	if (err) {
		ps->n = 0;
		memset(ps->filter, 0, sizeof(ps->filter));
	}
	free(at);
	free(s1);
	free(s0);
	return err;
}

uint64_t tg_pend_count(const struct tg_maps *m, const struct tg_pendset *ps, uint32_t idx, int dir,
		       int reason, int noted)
{
	int i = ps ? pend_find(ps, idx, dir, reason, noted) : -1;

	if (i >= 0)
		return ps->e[i].base + ps->e[i].pkts;
	return noted ? m->cnoted_mm[idx].pkts[dir][reason] : m->cdrop_mm[idx].pkts[dir][reason];
}

int tg_fanout_epoch(const struct tg_maps *m, uint32_t *epoch)
{
	struct tg_fanout clk;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->fanout, &zero, &clk))
		return neg_errno();
	*epoch = clk.epoch;
	return 0;
}

/* One writer (tollgated's enforcer), so a read-modify-write of element 0 is safe. */
int tg_fanout_advance(const struct tg_maps *m)
{
	struct tg_fanout clk;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->fanout, &zero, &clk))
		return neg_errno();
	clk.epoch++;
	return bpf_map_update_elem(m->fanout, &zero, &clk, BPF_ANY) ? neg_errno() : 0;
}

int tg_read_fanout(const struct tg_maps *m, uint32_t idx, struct tg_fanout_est *e)
{
	struct tg_fanout f;
	uint32_t epoch = 0;
	int err;

	memset(e, 0, sizeof(*e));
	err = tg_fanout_epoch(m, &epoch);
	if (err)
		return err;
	if (bpf_map_lookup_elem(m->fanout, &idx, &f))
		return neg_errno();
	tg_fanout_estimate(&f, epoch, e);
	return 0;
}

int tg_read_cust(const struct tg_maps *m, uint32_t idx, struct tg_cust_counters *out)
{
	size_t stride = PCPU_STRIDE(struct tg_cstat);
	char *buf = malloc(stride * m->ncpus);
	struct tg_pendset *ps = malloc(sizeof(*ps));
	struct tg_cdrop cd;
	struct tg_cnoted cn;
	int cpu, d, r, err = 0;

	memset(out, 0, sizeof(*out));
	if (!buf || !ps) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(m->cstat, &idx, buf)) {
		err = neg_errno();
		goto out;
	}
	for (cpu = 0; cpu < m->ncpus; cpu++) {
		const struct tg_cstat *s = (const void *)(buf + cpu * stride);

		for (d = 0; d < TG_DIR_NR; d++) {
			out->pass[d].pkts += s->pkts[d];
			out->pass[d].bytes += s->bytes[d];
		}
	}
	err = tg_pend_read(m, ps);
	if (err)
		goto out;
	if (bpf_map_lookup_elem(m->cdrop, &idx, &cd) || bpf_map_lookup_elem(m->cnoted, &idx, &cn)) {
		err = neg_errno();
		goto out;
	}
	for (d = 0; d < TG_DIR_NR; d++) {
		for (r = 0; r < TG_R_NR; r++) {
			int i = pend_find(ps, idx, d, r, 0);

			out->drop[d][r].pkts =
				i < 0 ? cd.pkts[d][r] : ps->e[i].base + ps->e[i].pkts;
			out->drop[d][r].bytes =
				i < 0 ? cd.bytes[d][r] : ps->e[i].base_b + ps->e[i].bytes;
			i = pend_find(ps, idx, d, r, 1);
			out->noted[d][r].pkts =
				i < 0 ? cn.pkts[d][r] : ps->e[i].base + ps->e[i].pkts;
		}
	}
out:
	free(ps);
	free(buf);
	return err;
}

int tg_read_iface(const struct tg_maps *m, uint32_t slot, struct tg_if_counters *out)
{
	size_t stride = PCPU_STRIDE(struct tg_ifstat);
	char *buf = malloc(stride * m->ncpus);
	int cpu, r, err = 0;

	memset(out, 0, sizeof(*out));
	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(m->ifstat, &slot, buf)) {
		err = neg_errno();
		goto out;
	}
	for (cpu = 0; cpu < m->ncpus; cpu++) {
		const struct tg_ifstat *s = (const void *)(buf + cpu * stride);

		out->pass.pkts += s->pass_pkts;
		out->pass.bytes += s->pass_bytes;
		out->uncl.pkts += s->uncl_pkts;
		out->uncl.bytes += s->uncl_bytes;
		for (r = 0; r < TG_R_NR; r++) {
			out->drop[r].pkts += s->drop_pkts[r];
			out->drop[r].bytes += s->drop_bytes[r];
			out->noted[r].pkts += s->noted_pkts[r];
			out->noted[r].bytes += s->noted_bytes[r];
		}
	}
out:
	free(buf);
	return err;
}

/* Delete the blocks that ended, and (gone != NULL) every block of a customer index gone[]
 * marks. */
static int sweep(const struct tg_maps *m, const uint8_t *gone, size_t *removed)
{
	struct tg_src_key key, cur, *old;
	struct timespec ts;
	uint64_t now, until;
	void *prev = NULL;
	size_t n = 0, deleted = 0;

	if (m->srcblock < 0)
		return -EINVAL;
	old = calloc(TG_SRCBLOCK_MAX, sizeof(*old));
	if (!old)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* bpf_ktime_get_coarse_ns's clock */
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	/* collect first, then delete: deleting while walking would restart the walk */
	while (n < TG_SRCBLOCK_MAX && !bpf_map_get_next_key(m->srcblock, prev, &key)) {
		cur = key;
		prev = &cur;
		if ((gone && cur.cust < m->max_cust && gone[cur.cust]) ||
		    (!bpf_map_lookup_elem(m->srcblock, &cur, &until) &&
		     (int64_t)(until - now) <= 0))
			old[n++] = cur;
	}
	for (size_t i = 0; i < n; i++)
		deleted += bpf_map_delete_elem(m->srcblock, &old[i]) == 0;
	free(old);
	if (removed)
		*removed = deleted;
	return 0;
}

int tg_sweep_srcblock(const struct tg_maps *m, size_t *removed)
{
	return sweep(m, NULL, removed);
}

int tg_srcblock_forget(const struct tg_maps *m, const uint32_t *idx, size_t n)
{
	uint8_t *gone;
	int err;

	if (!n)
		return 0;
	gone = calloc(m->max_cust, 1);
	if (!gone)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (idx[i] < m->max_cust)
			gone[idx[i]] = 1;
	err = sweep(m, gone, NULL);
	free(gone);
	return err;
}

/* Arrays are read CHUNK entries a batch call. */
#define CHUNK 4096u

int tg_read_cust_all(struct tg_maps *m, uint32_t n, struct tg_cstat *pass)
{
	size_t stride = PCPU_STRIDE(struct tg_cstat);
	const struct tg_cstat *sums;
	__u32 *keys;
	char *buf;
	int err = 0;

	if (n > m->max_cust)
		n = m->max_cust;
	if (!tg_fold_read(m, &sums)) { /* summed in the kernel: 32 bytes a customer */
		memcpy(pass, sums, (size_t)n * sizeof(*pass));
		return 0;
	}
	keys = malloc(CHUNK * sizeof(*keys));
	buf = malloc((size_t)CHUNK * stride * m->ncpus);
	if (!keys || !buf) {
		free(keys);
		free(buf);
		return -ENOMEM;
	}
	for (uint32_t base = 0; !err && base < n; base += CHUNK) {
		uint32_t k = n - base < CHUNK ? n - base : CHUNK;
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 in = base - 1, out = 0, cnt = k;

		/* arrays: the batch token is the last index read, so a chunk starts anywhere
		 * (after in) */
		if (bpf_map_lookup_batch(m->cstat, base ? &in : NULL, &out, keys, buf, &cnt,
					 &opts) &&
		    errno != ENOENT) {
			err = neg_errno();
			break;
		}
		for (uint32_t i = 0; i < cnt && i < k; i++) {
			struct tg_cstat *o = &pass[base + i];

			memset(o, 0, sizeof(*o));
			for (int cpu = 0; cpu < m->ncpus; cpu++) {
				const struct tg_cstat *s =
					(const void *)(buf + ((size_t)i * m->ncpus + cpu) * stride);

				for (int d = 0; d < TG_DIR_NR; d++) {
					o->pkts[d] += s->pkts[d];
					o->bytes[d] += s->bytes[d];
				}
			}
		}
	}
	free(buf);
	free(keys);
	return err;
}

static int cmp_port_count(const void *a, const void *b)
{
	const struct tg_port_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->port < y->port ? -1 : x->port > y->port;
}

int tg_top_ports(const struct tg_maps *m, uint32_t idx, struct tg_port_count *out, int max)
{
	size_t stride = PCPU_STRIDE(struct tg_dcache);
	struct tg_port_count *all = NULL;
	char *buf = malloc(stride * m->ncpus);
	int n = 0, cap = 0;
	__u32 zero = 0;

	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(m->dcache, &zero, buf)) {
		free(buf);
		return neg_errno();
	}
	for (int cpu = 0; cpu < m->ncpus; cpu++) {
		const struct tg_dcache *dc = (const void *)(buf + cpu * stride);
		uint32_t filled = dc->ps_pos < TG_PS_SLOTS ? dc->ps_pos : TG_PS_SLOTS;

		for (uint32_t s = 0; s < filled; s++) {
			const struct tg_portsample *ps = &dc->ps[s];
			int i;

			if (ps->cust != idx)
				continue;
			for (i = 0; i < n; i++)
				if (all[i].port == ps->dport && all[i].proto == ps->proto &&
				    all[i].dir == ps->dir)
					break;
			if (i == n) {
				if (n == cap) {
					int nc = cap ? 2 * cap : 32;
					struct tg_port_count *na = realloc(all, nc * sizeof(*na));

					if (!na) {
						free(all);
						free(buf);
						return -ENOMEM;
					}
					all = na;
					cap = nc;
				}
				all[n++] = (struct tg_port_count){ps->proto, ps->dir, ps->dport, 0};
			}
			all[i].count++;
		}
	}
	free(buf);
	if (n)
		qsort(all, n, sizeof(*all), cmp_port_count);
	if (n > max)
		n = max;
	if (n && all)
		memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

static int cmp_sample_dest(const void *a, const void *b)
{
	const struct tg_portsample *x = a, *y = b;

	if (x->v6 != y->v6)
		return x->v6 - y->v6;
	return memcmp(x->daddr, y->daddr, sizeof(x->daddr));
}

static int cmp_dest_count(const void *a, const void *b)
{
	const struct tg_dest_count *x = a, *y = b;
	uint64_t nx = (uint64_t)x->drops + x->passes, ny = (uint64_t)y->drops + y->passes;

	if (nx != ny)
		return nx < ny ? 1 : -1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

/* One host's samples [s, s + n) (all toward the same address) into d. */
static void fold_dest(const struct tg_portsample *s, const bool *dropped, size_t n,
		      struct tg_dest_count *d)
{
	uint32_t pc[256] = {0};
	struct {
		uint16_t port;
		uint32_t count;
	} ports[64];
	unsigned np = 0;

	memset(d, 0, sizeof(*d));
	d->v6 = s[0].v6;
	memcpy(d->addr, s[0].daddr, sizeof(d->addr));
	for (size_t i = 0; i < n; i++) {
		pc[s[i].proto]++;
		if (dropped[i])
			d->drops++;
		else
			d->passes++;
	}
	for (unsigned p = 1; p < 256; p++)
		if (pc[p] > pc[d->proto])
			d->proto = (uint8_t)p;
	for (size_t i = 0; i < n; i++) {
		unsigned k;

		if (s[i].proto != d->proto || !s[i].sport)
			continue;
		for (k = 0; k < np && ports[k].port != s[i].sport; k++)
			;
		if (k == np) {
			if (np == sizeof(ports) / sizeof(ports[0]))
				continue;
			ports[np].port = s[i].sport;
			ports[np++].count = 0;
		}
		ports[k].count++;
	}
	while (d->nsport < TG_TOP_SPORTS && np) {
		unsigned best = 0;

		for (unsigned k = 1; k < np; k++)
			if (ports[k].count > ports[best].count ||
			    (ports[k].count == ports[best].count &&
			     ports[k].port < ports[best].port))
				best = k;
		d->sport[d->nsport++] = ports[best].port;
		ports[best] = ports[--np];
	}
}

int tg_top_dests(const struct tg_maps *m, uint32_t idx, struct tg_dest_count *out, int max)
{
	size_t stride = PCPU_STRIDE(struct tg_dcache), n = 0, ng = 0;
	char *buf = malloc(stride * m->ncpus);
	struct tg_portsample *all = calloc((size_t)m->ncpus * 2 * TG_PS_SLOTS + 1, sizeof(*all));
	struct tg_dest_count *g = NULL;
	bool *dropped = NULL;
	__u32 zero = 0;
	int rc = 0;

	if (!buf || !all) {
		rc = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(m->dcache, &zero, buf)) {
		rc = neg_errno();
		goto out;
	}
	for (int cpu = 0; cpu < m->ncpus; cpu++) {
		const struct tg_dcache *dc = (const void *)(buf + cpu * stride);

		for (int ring = 0; ring < 2; ring++) {
			const struct tg_portsample *r = ring ? dc->pps : dc->ps;
			uint32_t pos = ring ? dc->pps_pos : dc->ps_pos;
			uint32_t filled = pos < TG_PS_SLOTS ? pos : TG_PS_SLOTS;

			for (uint32_t k = 0; k < filled; k++)
				if (r[k].cust == idx && r[k].dir == TG_DIR_DOWN) {
					all[n] = r[k];
					/* the pad byte carries the ring through the sort */
					all[n++].pad = (uint8_t)!ring;
				}
		}
	}
	if (!n)
		goto out;
	qsort(all, n, sizeof(*all), cmp_sample_dest);
	g = calloc(n, sizeof(*g));
	dropped = calloc(n, sizeof(*dropped));
	if (!g || !dropped) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		dropped[i] = all[i].pad;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && !cmp_sample_dest(&all[i], &all[j]); j++)
			;
		fold_dest(&all[i], &dropped[i], j - i, &g[ng++]);
	}
	qsort(g, ng, sizeof(*g), cmp_dest_count);
	rc = (int)(ng < (size_t)max ? ng : (size_t)max);
	if (rc > 0)
		memcpy(out, g, (size_t)rc * sizeof(*out));
out:
	free(dropped);
	free(g);
	free(all);
	free(buf);
	return rc;
}

/* Entries [0, n) of an array map into vals (vsz bytes each), in batches. */
static int read_array(int fd, uint32_t n, size_t vsz, void *vals)
{
	__u32 *keys = malloc(CHUNK * sizeof(*keys));
	int err = 0;

	if (!keys)
		return -ENOMEM;
	for (uint32_t base = 0; base < n; base += CHUNK) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 in = base - 1, out = 0, cnt = n - base < CHUNK ? n - base : CHUNK;

		if (bpf_map_lookup_batch(fd, base ? &in : NULL, &out, keys,
					 (char *)vals + (size_t)base * vsz, &cnt, &opts) &&
		    errno != ENOENT) {
			err = neg_errno();
			break;
		}
	}
	free(keys);
	return err;
}

uint64_t tg_snap_drops(const struct tg_maps *m, const struct tg_snap *sn, uint32_t idx, int d,
		       int r)
{
	return tg_pend_count(m, &sn->pend, idx, d, r, 0);
}

uint64_t tg_snap_noted(const struct tg_maps *m, const struct tg_snap *sn, uint32_t idx, int d,
		       int r)
{
	return tg_pend_count(m, &sn->pend, idx, d, r, 1);
}

int tg_crow_cmp(const void *a, const void *b)
{
	const struct tg_crow *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

void tg_snap_free(struct tg_snap *sn)
{
	free(sn->names);
	free(sn->rec);
	free(sn->pass);
	free(sn->rows);
	sn->names = NULL;
	sn->rec = NULL;
	sn->pass = NULL;
	sn->rows = NULL;
}

int tg_snap_take(struct tg_maps *m, struct tg_snap *sn, bool want_pass)
{
	uint32_t n = m->max_cust;

	memset(sn, 0, sizeof(*sn));
	sn->n = n;
	sn->names = calloc(n, TG_ID_LEN);
	sn->rec = calloc(n, sizeof(*sn->rec));
	sn->pass = calloc(n, sizeof(*sn->pass));
	sn->rows = calloc(n, sizeof(*sn->rows));
	if (!sn->names || !sn->rec || !sn->pass || !sn->rows) {
		tg_snap_free(sn);
		return -ENOMEM;
	}
	if (read_array(m->names, n, TG_ID_LEN, sn->names) ||
	    read_array(m->cust, n, sizeof(*sn->rec), sn->rec) || tg_maps_map_cdrop(m)) {
		tg_snap_free(sn);
		return -EIO;
	}
	sn->have_pass = want_pass && !tg_read_cust_all(m, n, sn->pass);
	tg_pend_read(m, &sn->pend); /* on failure the counts lag by the slots, as before a flush */
	for (uint32_t i = 1; i < n; i++) {
		if (!(sn->rec[i].flags & TG_CF_VALID) || !sn->names[i][0])
			continue;
		sn->names[i][TG_ID_LEN - 1] = '\0';
		sn->nstate[sn->rec[i].state < TG_ST_NR ? sn->rec[i].state : 0]++;
		sn->rows[sn->nrows].idx = i;
		sn->rows[sn->nrows++].score =
			sn->have_pass ? sn->pass[i].bytes[0] + sn->pass[i].bytes[1] : 0;
	}
	return 0;
}
