// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_sync.c - the incremental sync (tollgated's reloads, sync_inc.c) against the full
 * one (sync.c), on real maps.
 *
 * A random sequence of customer files (seeded; the seed is printed and -s replays it) is
 * applied to one private instance the way tollgated does: tg_config_load_from reusing the
 * unchanged rows, then tg_sync_applied. Customers come and go at a capacity that forces
 * index recycling (two passes), change plans and overrides, move, gain and lose IPv4 and
 * IPv6 prefixes (overlapping ones, lengths coming and going), and share access ports
 * (ambiguous bindings). Now and then another writer (tg_sync_customers, as `tollgate
 * reload` without the daemon) changes the maps behind the snapshot's back.
 *
 * After every step a second instance is built from scratch with the full sync, and the two
 * must say the same thing, customer by external id (indexes may differ): every record,
 * the owner of every prefix's first and last address and of random addresses (through the
 * DIR-24-8 tables as the data plane reads them), the IPv6 owner of every prefix's first,
 * last and a random address and of random addresses, through the trie and checked against
 * a longest match computed from the file (not just against each other), the trie's chunk
 * and compare node counts, the bindings, the counts status shows, no record or name left of a departed
 * customer. And on the incremental instance a customer kept from one step to the next
 * keeps its index; every step but those after another writer is incremental.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "config/config.h"
#include "datapath/maps.h"
#include "datapath/sync_int.h"
#include "reload/reload.h"
#include "testlib.h"

#define POOL 260 /* ids c000..c259 */
#define CAP 160	 /* capacity.max_customers: churn near it recycles indexes */
#define MAXPFX 4 /* per customer */
#define STEPS 60
#define PROBES 3000 /* random IPv4 addresses checked per step */

static char dir[64], yaml_path[128], csv_path[128], state_path[128];
static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* ---- the model: what the files say ---- */

struct mcust {
	bool on;
	int plan;		/* 0..2 */
	int up_override;	/* 0: none, else Mbit/s */
	int syn;		/* 0: the plan's SYN limit, else its own (pps) */
	int bound, vlan, ivlan; /* bound to lo; vlan 0 = untagged, -1 = any (`*`, `10.*`) */
	int npfx;
	char pfx[MAXPFX][48];
};

static struct mcust model[POOL];

static bool pfx_taken(const char *p)
{
	for (int i = 0; i < POOL; i++)
		for (int j = 0; model[i].on && j < model[i].npfx; j++)
			if (!strcmp(model[i].pfx[j], p))
				return true;
	return false;
}

/* A random prefix nobody has (overlaps are allowed: the longest match wins). */
static void new_prefix(char *dst)
{
	char out[48];

	static const int l4[] = {32, 32, 30, 29, 28, 27, 24, 24, 22, 20};
	static const int l6[] = {64, 64, 60, 56, 56, 48, 52, 44, 40, 36};

	do {
		if (rnd() % 3) {
			int l = l4[rnd() % 10];
			/* mostly 10.0.0.0/15, sometimes one of the /16s of 10.16.0.0/13, where a
			 * /16 gains its first customer and loses its last (tg_v4_void) */
			uint32_t a = rnd() % 8 ? (10u << 24) | (rnd() % (1u << 17))
					       : (10u << 24) | ((16 + rnd() % 8) << 16) |
							 (rnd() % (1u << 16));
			struct in_addr in;

			a &= l ? ~0u << (32 - l) : 0;
			in.s_addr = htonl(a);
			snprintf(out, 48, "%s/%d", inet_ntoa(in), l);
		} else {
			int l = l6[rnd() % 10];
			unsigned char b[16] = {0x20, 0x01, 0x0d, 0xb8};
			char txt[INET6_ADDRSTRLEN];

			/* mostly 2001:db8:0::/40, sometimes beside it: runs with a single way
			 * down come and go, so compare nodes change their bits across reloads */
			b[3] = rnd() % 16 ? 0xb8 : 0xb9;
			b[4] = rnd() % 8 ? 0 : rnd() % 4;
			b[5] = rnd() % 64;
			b[6] = rnd();
			b[7] = rnd();
			for (int i = 0; i < 16; i++) { /* host bits zero */
				int keep = l - 8 * i;

				if (keep <= 0)
					b[i] = 0;
				else if (keep < 8)
					b[i] &= (unsigned char)(0xff << (8 - keep));
			}
			inet_ntop(AF_INET6, b, txt, sizeof(txt));
			snprintf(out, 48, "%s/%d", txt, l);
		}
	} while (pfx_taken(out));
	memcpy(dst, out, sizeof(out));
}

static void new_customer(struct mcust *c)
{
	memset(c, 0, sizeof(*c));
	c->on = true;
	c->plan = rnd() % 3;
	c->up_override = rnd() % 4 ? 0 : 1 + rnd() % 50;
	c->syn = rnd() % 5 ? 0 : 100 * (1 + rnd() % 4); /* a few distinct sets */
	c->bound = rnd() % 2;
	c->vlan = rnd() % 5 ? (int)(rnd() % 3) * 10 : -1;
	c->ivlan = c->vlan > 0 && !(rnd() % 4) ? (rnd() % 2 ? 5 : -1) : c->vlan < 0 ? -1 : 0;
	c->npfx = 1 + rnd() % 2;
	for (int j = 0; j < c->npfx; j++) {
		c->pfx[j][0] = '\0';
		new_prefix(c->pfx[j]);
	}
}

/* One step of churn: some leave, some arrive, some change. */
static void churn(int step)
{
	int n = 0;

	for (int i = 0; i < POOL; i++)
		n += model[i].on;
	for (int i = 0; i < POOL; i++) {
		struct mcust *c = &model[i];
		uint32_t r = rnd() % 100;

		if (!c->on) {
			if (n < CAP && r < (step ? 8 : 60)) {
				new_customer(c);
				n++;
			}
			continue;
		}
		if (r < 6) {
			c->on = false;
			n--;
		} else if (r < 9) {
			c->plan = (c->plan + 1) % 3;
		} else if (r < 11) {
			c->up_override = c->up_override ? 0 : 1 + rnd() % 50;
			c->syn = c->syn ? 0 : 100 * (1 + rnd() % 4);
		} else if (r < 13) {
			c->bound = !c->bound;
		} else if (r < 15) {
			c->vlan = c->vlan < 0 ? 0 : c->vlan == 20 ? -1 : c->vlan + 10;
			c->ivlan = c->vlan < 0 ? -1 : 0;
		} else if (r < 18) { /* a prefix moves to a new place */
			new_prefix(c->pfx[rnd() % c->npfx]);
		} else if (r < 20 && c->npfx < MAXPFX) {
			new_prefix(c->pfx[c->npfx++]);
		} else if (r < 22 && c->npfx > 1) {
			c->npfx--;
		} else if (r < 24) { /* a prefix goes to another customer */
			int o = rnd() % POOL;

			if (o != i && model[o].on && model[o].npfx > 1 && c->npfx < MAXPFX)
				memcpy(c->pfx[c->npfx++], model[o].pfx[--model[o].npfx], 48);
		}
	}
}

static void write_files(int step)
{
	FILE *f = fopen(yaml_path, "w");
	int order[POOL];

	if (!f)
		abort();
	fprintf(f,
		"interfaces:\n  - { name: lo, role: customer }\n"
		"plans:\n"
		"  p0: { upload: { rate: 10mbit, burst: 125k }, download: { rate: 50mbit, burst: "
		"1m } }\n"
		"  p1: { upload: { rate: 100mbit, burst: 2m }, download: { rate: 100mbit, burst: "
		"2m } }\n"
		"  p2: { download: { rate: 1gbit, burst: 4m } }\n"
		"customers: customers.csv\nstate: %s\n"
		"capacity: { max_customers: %d, max_prefixes: 1024 }\n",
		state_path, CAP);
	fclose(f);
	for (int i = 0; i < POOL; i++)
		order[i] = i;
	if (step % 4 == 3) /* sometimes the billing system exports in another order */
		for (int i = POOL - 1; i > 0; i--) {
			int j = rnd() % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
	f = fopen(csv_path, "w");
	if (!f)
		abort();
	fprintf(f, "id,name,plan,prefixes,interface,vlan,upload_rate,upload_burst,syn\n");
	for (int k = 0; k < POOL; k++) {
		const struct mcust *c = &model[order[k]];

		if (!c->on)
			continue;
		fprintf(f, "c%03d,\"Customer %d, Ltd\",p%d,", order[k], order[k], c->plan);
		for (int j = 0; j < c->npfx; j++)
			fprintf(f, "%s%s", j ? " " : "", c->pfx[j]);
		fprintf(f, ",%s,", c->bound ? "lo" : "");
		if (!c->bound || !c->vlan) /* a vlan needs an interface */
			;
		else if (c->vlan < 0)
			fprintf(f, "*");
		else if (c->ivlan < 0)
			fprintf(f, "%d.*", c->vlan);
		else if (c->ivlan)
			fprintf(f, "%d.%d", c->vlan, c->ivlan);
		else
			fprintf(f, "%d", c->vlan);
		if (c->up_override && c->plan != 2)
			fprintf(f, ",%dmbit,256k", c->up_override);
		else
			fprintf(f, ",,");
		if (c->syn)
			fprintf(f, ",%dpps\n", c->syn);
		else
			fprintf(f, ",\n");
	}
	fclose(f);
}

/* ---- what the maps say ---- */

struct view {
	char (*name)[TG_ID_LEN]; /* per index */
	uint32_t max;
};

static void read_view(const struct tg_maps *m, struct view *v)
{
	v->max = m->max_cust;
	v->name = calloc(m->max_cust, TG_ID_LEN);
	for (uint32_t i = 1; i < m->max_cust; i++)
		bpf_map_lookup_elem(m->names, &i, v->name[i]);
}

static const char *who(const struct view *v, uint32_t idx)
{
	if (idx == TG_BIND_AMBIGUOUS)
		return "(shared port)";
	if (idx == 0)
		return "(nobody)";
	if (idx >= v->max || !v->name[idx][0])
		return "(an index without a name)";
	return v->name[idx];
}

static uint32_t find(const struct view *v, const char *id)
{
	for (uint32_t i = 1; i < v->max; i++)
		if (!strcmp(v->name[i], id))
			return i;
	return 0;
}

static uint32_t v4_owner(const struct tg_maps *m, uint32_t a)
{
	uint32_t e = m->tbl24[a >> 8];

	if ((m->v4void[a >> 22] >> ((a >> 16) & 63)) & 1)
		return TG_V4_NONE; /* as the data plane reads it: a void /16 ends the lookup */

	if (e & TG_V4_TBL8)
		e = m->tbl8[(size_t)(e & ~TG_V4_TBL8) * TG_V4_TBL8_CHUNK + (a & 0xff)];
	return e;
}

/* Every entry of a hash map as "key-bytes -> owner id" lines, sorted. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t dump_owners(int fd, size_t ksz, const struct view *v, char ***out)
{
	unsigned char key[64], next[64];
	size_t n = 0, cap = 64;
	char **l = malloc(cap * sizeof(*l));
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		uint32_t val = 0;
		char hex[2 * 64 + 1];
		char *s;

		memcpy(key, next, ksz);
		prev = key;
		bpf_map_lookup_elem(fd, key, &val);
		for (size_t i = 0; i < ksz; i++)
			sprintf(hex + 2 * i, "%02x", key[i]);
		if (asprintf(&s, "%s -> %s", hex, who(v, val)) < 0)
			abort();
		if (n == cap) {
			char **nl = realloc(l, (cap *= 2) * sizeof(*l));

			if (!nl)
				abort();
			l = nl;
		}
		l[n++] = s;
	}
	qsort(l, n, sizeof(*l), cmp_str);
	*out = l;
	return n;
}

static void free_lines(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static int compare_lines(const char *what, char **a, size_t na, char **b, size_t nb)
{
	size_t i = 0, j = 0;
	int bad = 0;

	while (i < na || j < nb) {
		int d = i >= na ? 1 : j >= nb ? -1 : strcmp(a[i], b[j]);

		if (d && bad++ < 3)
			fprintf(stderr, "    %s: %s only %s\n", what, d < 0 ? a[i] : b[j],
				d < 0 ? "after the incremental sync" : "after the full sync");
		i += d <= 0;
		j += d >= 0;
	}
	return bad;
}

/* The owner cfg gives an IPv6 address: its longest prefix, found the slow way. */
static const char *v6_truth(const struct tg_cfg *cfg, const uint8_t *a)
{
	const char *best = "(nobody)";
	int len = -1;

	for (size_t c = 0; c < cfg->ncustomers; c++) {
		for (size_t j = 0; j < cfg->customers[c].npfx; j++) {
			const struct tg_prefix *p = &cfg->customers[c].pfx[j];
			int l = p->plen, full = l / 8, rest = l % 8;

			if (p->family != AF_INET6 || l <= len || memcmp(p->addr, a, full) ||
			    (rest && (p->addr[full] ^ a[full]) & (0xff << (8 - rest))))
				continue;
			best = cfg->customers[c].id;
			len = l;
		}
	}
	return best;
}

/*
 * The trie of m gives every IPv6 address its owner in cfg: the first and last address of
 * every prefix, random addresses inside each, and random ones around them.
 */
static int compare_v6(const struct tg_maps *m, const struct view *v, const struct tg_cfg *cfg,
		      const char *which)
{
	uint8_t a[16];
	int bad = 0;

	for (size_t c = 0; c < cfg->ncustomers; c++) {
		for (size_t j = 0; j < cfg->customers[c].npfx; j++) {
			const struct tg_prefix *p = &cfg->customers[c].pfx[j];

			if (p->family != AF_INET6)
				continue;
			for (int k = 0; k < 3; k++) {
				memcpy(a, p->addr, 16);
				for (int b = p->plen; b < 128; b++) /* host bits: 0, 1, random */
					if (k == 1 || (k == 2 && rnd() % 2))
						a[b / 8] |= 0x80 >> (b % 8);
				const char *got = who(v, tg_v6_owner(m, a)),
					   *want = v6_truth(cfg, a);

				if (strcmp(got, want) && bad++ < 3) {
					char txt[INET6_ADDRSTRLEN];

					inet_ntop(AF_INET6, p->addr, txt, sizeof(txt));
					fprintf(stderr,
						"    %s sync: IPv6 %s/%d (%s address): %s, not "
						"%s\n",
						which, txt, p->plen,
						k == 0	 ? "first"
						: k == 1 ? "last"
							 : "a random",
						got, want);
				}
			}
		}
	}
	for (int k = 0; k < PROBES; k++) {
		static const uint8_t base[6] = {0x20, 0x01, 0x0d, 0xb8, 0x00};

		memcpy(a, base, 6);
		a[3] = rnd() % 8 ? 0xb8
				 : 0xb9; /* inside and beside the space new_prefix draws from */
		a[4] = rnd() % 4 ? 0 : rnd() % 8;
		a[5] = rnd() % 128;
		for (int b = 6; b < 16; b++)
			a[b] = b < 9 || rnd() % 4 ? rnd() : 0;
		const char *got = who(v, tg_v6_owner(m, a)), *want = v6_truth(cfg, a);

		if (strcmp(got, want) && bad++ < 3)
			fprintf(stderr, "    %s sync: a random IPv6 address: %s, not %s\n", which,
				got, want);
	}
	return bad;
}

/* What the live trie reaches from its root: chunks below it, compare nodes, and in *kinds
 * bit 0 a compare node that ends in an answer, bit 1 one that goes on to a chunk, bit 2
 * one longer than a byte. */
struct reach {
	uint32_t chunks, cmps;
	unsigned int kinds;
};

static struct reach trie_reach(const struct tg_maps *m)
{
	bool *seen = calloc(m->v6_chunks, 1), *seen_cmp = calloc(m->v6_ncmp, 1);
	uint32_t *stack = malloc(m->v6_chunks * sizeof(*stack)), sp = 0;
	struct reach r = {0};

	if (!seen || !seen_cmp || !stack)
		abort();
	for (uint32_t c = 0; c < TG_V6_ROOT_CHUNKS; c++)
		stack[sp++] = c;
	while (sp) {
		const uint32_t *ch = m->v6trie[stack[--sp]].e;

		for (int i = 0; i < (int)TG_V6_CHUNK; i++) {
			uint32_t e = ch[i], c = e & TG_V6_IDX;

			if ((e & TG_V6_CMP) && c < m->v6_ncmp && !seen_cmp[c]) {
				const struct tg_v6_cmp *n = &m->v6cmp[c];

				seen_cmp[c] = true;
				r.cmps++;
				r.kinds |=
					(n->hit & TG_V6_NODE ? 2u : 1u) | (n->bits > 8 ? 4u : 0u);
				e = n->hit;
				c = e & TG_V6_IDX;
			}
			if ((e & TG_V6_NODE) && !(e & TG_V6_CMP) && c < m->v6_chunks && !seen[c]) {
				seen[c] = true;
				stack[sp++] = c;
				r.chunks++;
			}
		}
	}
	free(seen);
	free(seen_cmp);
	free(stack);
	return r;
}

/* The two instances agree on everything cfg says. Returns the number of differences. */
/* tg_v4_void is exact: a /16 is marked void if and only if no tbl24 entry of it is set. */
static int check_void(const struct tg_maps *m, const char *what)
{
	int bad = 0;

	for (uint32_t s = 0; s < 65536; s++) {
		bool v = (m->v4void[s >> 6] >> (s & 63)) & 1, any = false;

		for (uint32_t j = 0; j < 256; j++)
			any |= m->tbl24[(s << 8) | j] != TG_V4_NONE;
		if (v == any && bad++ < 5)
			fprintf(stderr, "    %s: /16 %u.%u is %s but %s\n", what, s >> 8, s & 255,
				v ? "void" : "not void", any ? "holds addresses" : "empty");
	}
	return bad;
}

static int compare(const struct tg_maps *inc, const struct tg_maps *full, const struct tg_cfg *cfg)
{
	struct view vi, vf;
	struct tg_config ci, cf;
	uint32_t zero = 0, nvalid = 0;
	char **la, **lb;
	size_t na, nb;
	int bad = 0;

	read_view(inc, &vi);
	read_view(full, &vf);
	for (size_t c = 0; c < cfg->ncustomers; c++) {
		const struct tg_customer *cu = &cfg->customers[c];
		uint32_t a = find(&vi, cu->id), b = find(&vf, cu->id);
		struct tg_cust ra = {}, rb = {};

		if (!a || !b) {
			if (bad++ < 5)
				fprintf(stderr, "    %s: no index (incremental %u, full %u)\n",
					cu->id, a, b);
			continue;
		}
		bpf_map_lookup_elem(inc->cust, &a, &ra);
		bpf_map_lookup_elem(full->cust, &b, &rb);
		if (memcmp(&ra, &rb, sizeof(ra)) && bad++ < 5)
			fprintf(stderr, "    %s: records differ\n", cu->id);
		if (cu->flood_pps[TG_FC_SYN] && !ra.fprof && bad++ < 5)
			fprintf(stderr, "    %s: has its own SYN limit but no flood profile\n",
				cu->id);
		if (ra.fprof) {
			struct tg_fprof fa = {}, fb = {};
			__u32 k = ra.fprof;

			bpf_map_lookup_elem(inc->fprof, &k, &fa);
			k = rb.fprof;
			bpf_map_lookup_elem(full->fprof, &k, &fb);
			if (memcmp(&fa, &fb, sizeof(fa)) && bad++ < 5)
				fprintf(stderr, "    %s: flood profiles differ\n", cu->id);
			if (cu->flood_pps[TG_FC_SYN] &&
			    fa.cls[TG_DIR_UP][TG_FC_SYN].ipp_fns !=
				    ((1000000000ull << 8) + cu->flood_pps[TG_FC_SYN] - 1) /
					    cu->flood_pps[TG_FC_SYN] &&
			    bad++ < 5)
				fprintf(stderr, "    %s: its own SYN limit is not in its profile\n",
					cu->id);
		}
		for (size_t j = 0; j < cu->npfx; j++) {
			const struct tg_prefix *p = &cu->pfx[j];
			uint32_t lo, hi;

			if (p->family != AF_INET)
				continue;
			memcpy(&lo, p->addr, 4);
			lo = ntohl(lo);
			hi = p->plen >= 32 ? lo : lo | (p->plen ? ~0u >> p->plen : ~0u);
			if ((strcmp(who(&vi, v4_owner(inc, lo)), who(&vf, v4_owner(full, lo))) ||
			     strcmp(who(&vi, v4_owner(inc, hi)), who(&vf, v4_owner(full, hi)))) &&
			    bad++ < 5)
				fprintf(stderr, "    %s: IPv4 owners of its prefix %u/%u differ\n",
					cu->id, lo, p->plen);
		}
	}
	for (int k = 0; k < PROBES; k++) {
		/* inside and beside the space: 10.0.0.0/14, 10.16.0.0/12 */
		uint32_t a = (10u << 24) |
			     (k & 1 ? rnd() % (1u << 18) : (16u << 16) | (rnd() % (1u << 20)));
		const char *x = who(&vi, v4_owner(inc, a)), *y = who(&vf, v4_owner(full, a));

		if (strcmp(x, y) && bad++ < 5)
			fprintf(stderr, "    10.x address %08x: %s (incremental) vs %s (full)\n", a,
				x, y);
	}
	for (uint32_t i = 1; i < inc->max_cust; i++) {
		struct tg_cust r = {};

		bpf_map_lookup_elem(inc->cust, &i, &r);
		nvalid += !!(r.flags & TG_CF_VALID);
		if (!!(r.flags & TG_CF_VALID) != !!vi.name[i][0] && bad++ < 5)
			fprintf(stderr, "    index %u: record and name disagree\n", i);
	}
	if (nvalid != cfg->ncustomers && bad++ < 5)
		fprintf(stderr, "    %u valid records for %zu customers\n", nvalid,
			cfg->ncustomers);

	bad += check_void(inc, "incremental") + check_void(full, "full");
	bad += compare_v6(inc, &vi, cfg, "incremental") + compare_v6(full, &vf, cfg, "full");
	struct reach ri = trie_reach(inc), rf = trie_reach(full);

	if ((ri.chunks != rf.chunks || ri.cmps != rf.cmps) && bad++ < 5)
		fprintf(stderr,
			"    IPv6 tries of %u chunks and %u compare nodes (incremental), %u and %u "
			"(full)\n",
			ri.chunks, ri.cmps, rf.chunks, rf.cmps);
	na = dump_owners(inc->bind, sizeof(struct tg_bind_key), &vi, &la);
	nb = dump_owners(full->bind, sizeof(struct tg_bind_key), &vf, &lb);
	bad += compare_lines("binding", la, na, lb, nb);
	free_lines(la, na);
	free_lines(lb, nb);

	bpf_map_lookup_elem(inc->config, &zero, &ci);
	bpf_map_lookup_elem(full->config, &zero, &cf);
	if ((ci.ncustomers != cf.ncustomers || ci.nprefixes4 != cf.nprefixes4 ||
	     ci.nprefixes6 != cf.nprefixes6) &&
	    bad++ < 5)
		fprintf(stderr, "    counts differ: %u/%u/%u vs %u/%u/%u\n", ci.ncustomers,
			ci.nprefixes4, ci.nprefixes6, cf.ncustomers, cf.nprefixes4, cf.nprefixes6);
	if ((ci.v6_chunks != ri.chunks || cf.v6_chunks != rf.chunks || ci.v6_cmps != ri.cmps ||
	     cf.v6_cmps != rf.cmps) &&
	    bad++ < 5)
		fprintf(stderr,
			"    tg_config says %u and %u IPv6 chunks, %u and %u compare nodes; the "
			"tries reach %u and %u, %u and %u\n",
			ci.v6_chunks, cf.v6_chunks, ci.v6_cmps, cf.v6_cmps, ri.chunks, rf.chunks,
			ri.cmps, rf.cmps);
	free(vi.name);
	free(vf.name);
	return bad;
}

/* n customers: customer i holds per_blk /32s in the /24 10.(100 + i / 256).(i % 256).0 */
static void write_blocks(const char *yaml, const char *csv, int n, int per_blk)
{
	FILE *f = fopen(yaml, "w");

	if (!f)
		abort();
	fprintf(f,
		"interfaces:\n  - { name: lo, role: customer }\nplans:\n"
		"  p0: { upload: { rate: 10mbit, burst: 125k } }\n"
		"customers: blocks.csv\nstate: %s/blocks.db\n"
		"capacity: { max_customers: 400, max_prefixes: 400 }\n",
		dir);
	fclose(f);
	f = fopen(csv, "w");
	if (!f)
		abort();
	fprintf(f, "id,name,plan,prefixes\n");
	for (int i = 0; i < n; i++) {
		fprintf(f, "b%03d,,p0,", i);
		for (int j = 0; j < per_blk; j++)
			fprintf(f, "%s10.%d.%d.%d/32", j ? " " : "", 100 + i / 256, i % 256, j + 1);
		fprintf(f, "\n");
	}
	fclose(f);
}

/*
 * IPv4 prefixes longer than /24 need a tbl8 chunk per /24 block: at this capacity the
 * table has 256. 400 /32s in 200 blocks fit (the blocks are counted, not the prefixes);
 * 300 blocks do not, which is refused with the count and changes nothing.
 */
static void test_tbl8_capacity(void)
{
	struct tg_capacity cap = {.max_customers = 400, .max_prefixes = 400};
	char yaml[160], csv[160];
	struct tg_errs errs = {};
	struct tg_cfg *cfg = NULL;
	struct tg_maps m;
	struct view v;
	bool found = false;
	int owned = 0;

	snprintf(yaml, sizeof(yaml), "%s/blocks.yaml", dir);
	snprintf(csv, sizeof(csv), "%s/blocks.csv", dir);
	TEST_BEGIN("IPv4: 400 /32s in 200 /24 blocks fit 256 tbl8 chunks, each its owner's");
	if (tg_maps_open(NULL, &cap, true, &m)) {
		CHECK(!"tg_maps_open");
		return;
	}
	CHECK_EQ_U64(m.tbl8_chunks, 256);
	write_blocks(yaml, csv, 200, 2);
	CHECK_EQ_U64(tg_config_load(yaml, &cfg, &errs), 0);
	if (cfg)
		CHECK_EQ_U64(tg_sync_customers(&m, cfg, NULL, NULL, &errs), 0);
	tg_config_free(cfg);
	cfg = NULL;
	tg_errs_free(&errs);
	read_view(&m, &v);
	for (int i = 0; i < 200; i++) {
		char id[8];
		uint32_t a = (10u << 24) | ((100u + i / 256) << 16) | ((i % 256u) << 8);

		snprintf(id, sizeof(id), "b%03d", i);
		owned += !strcmp(who(&v, v4_owner(&m, a | 1)), id) &&
			 !strcmp(who(&v, v4_owner(&m, a | 2)), id) && v4_owner(&m, a | 3) == 0;
	}
	CHECK_EQ_U64(owned, 200);
	free(v.name);

	TEST_BEGIN("IPv4: 300 /24 blocks of /32s are refused (\"fall in 300 /24 blocks\"), and "
		   "the 200 customers stay");
	write_blocks(yaml, csv, 300, 1);
	CHECK_EQ_U64(tg_config_load(yaml, &cfg, &errs), 0);
	if (cfg)
		CHECK_EQ_U64(tg_sync_customers(&m, cfg, NULL, NULL, &errs), (uint64_t)-ENOSPC);
	for (size_t i = 0; i < errs.n; i++)
		found |= strstr(errs.msg[i], "fall in 300 /24 blocks") != NULL;
	CHECK(found);
	tg_config_free(cfg);
	tg_errs_free(&errs);
	read_view(&m, &v);
	CHECK(!strcmp(who(&v, v4_owner(&m, (10u << 24) | (100u << 16) | (5u << 8) | 2)), "b005"));
	CHECK(!strcmp(who(&v, v4_owner(&m, (10u << 24) | (100u << 16) | (199u << 8) | 1)), "b199"));
	CHECK_EQ_U64(v4_owner(&m, (10u << 24) | (101u << 16) | (10u << 8) | 1), 0);
	free(v.name);
	tg_maps_close(&m);
}

/* ---- the order of the writes: one committer for both planners ---- */

/* Each kind of write, in the order tg_commit must make them (docs/datapath.md). */
enum w_step {
	W_PROFILES,
	W_WALLED,
	W_RECORDS,
	W_NAMES,
	W_V4,
	W_V6,
	W_COUNTS,
	W_BIND_SET,
	W_BIND_DEL,
	W_BIND_GEN,
	W_CLEAR,
	W_FORGET,
	W_NR
};
static const char *const w_name[W_NR] = {"profiles", "walled",	 "records", "names",
					 "v4",	     "v6",	 "counts",  "bind_set",
					 "bind_del", "bind_gen", "clear",   "forget"};

/* What the recording writer saw: each write in order, with how many entries it had. */
static struct {
	enum w_step step[256];
	size_t n[256];
	int len;
} wlog;

static void w_note(enum w_step s, size_t n)
{
	if (wlog.len < 256) {
		wlog.step[wlog.len] = s;
		wlog.n[wlog.len++] = n;
	}
}

static int w_profiles(struct tg_maps *m, const struct tg_cfg *cfg, const struct tg_fprofs *fp,
		      uint64_t tick_ns)
{
	w_note(W_PROFILES, 1);
	return tg_map_writer.profiles(m, cfg, fp, tick_ns);
}

static int w_walled(struct tg_maps *m, const struct tg_cfg *cfg)
{
	w_note(W_WALLED, 1);
	return tg_map_writer.walled(m, cfg);
}

static int w_records(struct tg_maps *m, const uint32_t *k, const struct tg_cust *v, size_t n)
{
	w_note(W_RECORDS, n);
	return tg_map_writer.records(m, k, v, n);
}

static int w_names(struct tg_maps *m, const uint32_t *k, const char (*v)[TG_ID_LEN], size_t n)
{
	w_note(W_NAMES, n);
	return tg_map_writer.names(m, k, v, n);
}

static void w_v4(struct tg_maps *m, const struct tg_v4build *b)
{
	w_note(W_V4, b->nblocks);
	tg_map_writer.v4(m, b);
}

static void w_v6(struct tg_maps *m, const struct tg_v6build *b)
{
	w_note(W_V6, b->n);
	tg_map_writer.v6(m, b);
}

static int w_counts(struct tg_maps *m, const struct tg_counts *c)
{
	w_note(W_COUNTS, c->customers);
	return tg_map_writer.counts(m, c);
}

static int w_bind_set(struct tg_maps *m, const struct tg_bind_key *k, const uint32_t *v, size_t n)
{
	w_note(W_BIND_SET, n);
	return tg_map_writer.bind_set(m, k, v, n);
}

static int w_bind_del(struct tg_maps *m, const struct tg_bind_key *k, size_t n)
{
	w_note(W_BIND_DEL, n);
	return tg_map_writer.bind_del(m, k, n);
}

static int w_bind_gen(struct tg_maps *m)
{
	w_note(W_BIND_GEN, 1);
	return tg_map_writer.bind_gen(m);
}

static int w_clear(struct tg_maps *m, uint32_t idx)
{
	w_note(W_CLEAR, idx);
	return tg_map_writer.clear(m, idx);
}

static int w_forget(struct tg_maps *m, const uint32_t *idx, size_t n)
{
	w_note(W_FORGET, n);
	return tg_map_writer.forget(m, idx, n);
}

static const struct tg_writer recording_writer = {
	w_profiles, w_walled,	w_records,  w_names,	w_v4,	 w_v6,
	w_counts,   w_bind_set, w_bind_del, w_bind_gen, w_clear, w_forget,
};

/* The order file's customers: step 0, then step 1 where o2 leaves, o5 arrives, o1 loses
 * its binding, o3's IPv4 and o4's IPv6 prefix move. */
static void write_order(const char *yaml, const char *csv, int step)
{
	FILE *f = fopen(yaml, "w");

	if (!f)
		abort();
	fprintf(f,
		"interfaces:\n  - { name: lo, role: customer }\nplans:\n"
		"  p0: { upload: { rate: 10mbit, burst: 125k }, flood: { syn: 100pps } }\n"
		"customers: order.csv\nstate: %s/order.db\nwalled_garden: [192.0.2.53/32]\n"
		"capacity: { max_customers: 16, max_prefixes: 64 }\n",
		dir);
	fclose(f);
	f = fopen(csv, "w");
	if (!f)
		abort();
	fprintf(f, "id,name,plan,prefixes,interface,vlan\n");
	fprintf(f, "o1,,p0,10.9.1.0/24,%s,%s\n", step ? "" : "lo", step ? "" : "7");
	if (!step)
		fprintf(f, "o2,,p0,10.9.2.0/24 10.9.2.1/32,lo,8\n");
	fprintf(f, "o3,,p0,%s,,\n", step ? "10.9.33.7/32" : "10.9.3.7/32");
	fprintf(f, "o4,,p0,10.9.4.0/24 %s,lo,9\n", step ? "2001:db8:44::/56" : "2001:db8:4::/56");
	if (step)
		fprintf(f, "o5,,p0,10.9.5.0/24 2001:db8:5::/64,lo,10\n");
	fclose(f);
}

/* The log is the committer's order, each step once, and holds these. */
static void check_order(const char *what, const enum w_step *want, int nwant)
{
	char got[512] = "", exp[512] = "";
	int at = 0;

	for (int i = 0; i < wlog.len; i++)
		at += snprintf(got + at, sizeof(got) - at, "%s%s", i ? " " : "",
			       w_name[wlog.step[i]]);
	at = 0;
	for (int i = 0; i < nwant; i++)
		at += snprintf(exp + at, sizeof(exp) - at, "%s%s", i ? " " : "", w_name[want[i]]);
	if (strcmp(got, exp))
		fprintf(stderr, "    %s: writes %s\n    want %s\n", what, got, exp);
	CHECK(strcmp(got, exp) == 0);
}

/*
 * Both planners' plans go through the one committer in the one order: a full sync and an
 * incremental one of the same change make the same kinds of writes in the same order
 * (profiles, walled garden, records, names, IPv4, IPv6, counts, bindings set, deleted,
 * bind_gen, departed customers cleared, their blocks forgotten). Checked on the order the
 * writes reach the map writer, which a recording writer in front of the real one logs.
 */
static void test_write_order(void)
{
	static const enum w_step all[] = {W_PROFILES, W_WALLED,	  W_RECORDS, W_NAMES,
					  W_V4,	      W_V6,	  W_COUNTS,  W_BIND_SET,
					  W_BIND_DEL, W_BIND_GEN, W_CLEAR,   W_FORGET};
	struct tg_capacity cap = {.max_customers = 16, .max_prefixes = 64};
	struct tg_applied *app = NULL, *old = NULL;
	char yaml[160], csv[160];
	struct tg_sync_stats st;
	struct tg_errs errs = {};
	struct tg_cfg *cfg = NULL;
	struct tg_load_cache *lc = NULL;
	struct tg_maps m[2];

	snprintf(yaml, sizeof(yaml), "%s/order.yaml", dir);
	snprintf(csv, sizeof(csv), "%s/order.csv", dir);
	for (int i = 0; i < 2; i++) {
		if (tg_maps_open(NULL, &cap, true, &m[i])) {
			CHECK(!"tg_maps_open");
			return;
		}
	}
	/* step 0 on both instances: m[0] by the full sync, m[1] by the incremental one's first
	 * (full) sync, which keeps a snapshot */
	write_order(yaml, csv, 0);
	CHECK_EQ_U64(tg_config_load(yaml, &cfg, &errs), 0);
	if (cfg)
		CHECK_EQ_U64(tg_sync_customers(&m[0], cfg, NULL, NULL, &errs), 0);
	tg_config_free(cfg);
	cfg = NULL;
	CHECK_EQ_U64(tg_config_load_from(yaml, NULL, &lc, &cfg, &errs), 0);
	if (cfg)
		CHECK_EQ_U64(tg_sync_applied(&m[1], &app, cfg, lc, NULL, &old, &st, NULL, &errs),
			     0);
	lc = NULL;
	tg_applied_index(app);
	cfg = NULL;

	/* step 1 through the recording writer */
	write_order(yaml, csv, 1);
	TEST_BEGIN("order of writes: the full planner's plan, committed in the one order");
	CHECK_EQ_U64(tg_config_load(yaml, &cfg, &errs), 0);
	wlog.len = 0;
	tg_writer = &recording_writer;
	if (cfg)
		CHECK_EQ_U64(tg_sync_customers(&m[0], cfg, NULL, &st, &errs), 0);
	tg_writer = &tg_map_writer;
	check_order("full", all, W_NR);
	/* o5's record and name, o1's changed binding; o3 and o4 moved: changed, not written */
	TEST_BEGIN("order of writes: the full sync writes the changed records, counts moves");
	CHECK_EQ_U64(wlog.n[W_RECORDS], 2);
	CHECK_EQ_U64(st.added, 1);
	CHECK_EQ_U64(st.changed, 3);
	CHECK_EQ_U64(st.removed, 1);
	tg_config_free(cfg);
	cfg = NULL;

	TEST_BEGIN("order of writes: the incremental planner's plan, committed in the same order");
	CHECK_EQ_U64(tg_config_load_from(yaml, tg_applied_cache(app), &lc, &cfg, &errs), 0);
	wlog.len = 0;
	tg_writer = &recording_writer;
	if (cfg)
		CHECK_EQ_U64(tg_sync_applied(&m[1], &app, cfg, lc, NULL, &old, &st, NULL, &errs),
			     0);
	lc = NULL;
	tg_writer = &tg_map_writer;
	CHECK(!st.full);
	check_order("incremental", all, W_NR);
	TEST_BEGIN("order of writes: the incremental sync writes o1's and o5's records, and "
		   "counts what the full one counts");
	CHECK_EQ_U64(wlog.n[W_RECORDS], 2);
	CHECK_EQ_U64(wlog.n[W_NAMES], 1);
	CHECK_EQ_U64(st.added, 1);
	CHECK_EQ_U64(st.changed, 3);
	CHECK_EQ_U64(st.removed, 1);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "    %s\n", errs.msg[i]);
	tg_errs_free(&errs);
	tg_applied_free(old);
	tg_applied_free(app);
	tg_maps_close(&m[0]);
	tg_maps_close(&m[1]);
}

/* The stale file's customers: a, and s1 and n1 if asked. */
static void write_stale(const char *yaml, const char *csv, bool s1, bool n1)
{
	FILE *f = fopen(yaml, "w");

	if (!f)
		abort();
	fprintf(f, "interfaces:\n  - { name: lo, role: customer }\nplans:\n"
		   "  p0: { upload: { rate: 10mbit, burst: 125k } }\n"
		   "customers: stale.csv\ncapacity: { max_customers: 16, max_prefixes: 64 }\n");
	fclose(f);
	f = fopen(csv, "w");
	if (!f)
		abort();
	fprintf(f, "id,name,plan,prefixes,interface,vlan\na,,p0,10.8.1.0/24,,\n");
	if (n1)
		fprintf(f, "n1,,p0,10.8.3.0/24,,\n");
	if (s1)
		fprintf(f, "s1,,p0,10.8.2.0/24,,\n");
	fclose(f);
}

static uint8_t state_at(const struct tg_maps *m, uint32_t idx)
{
	struct tg_cust rec = {};

	if (!idx || bpf_map_lookup_elem(m->cust, &idx, &rec))
		return 0xff;
	return rec.state;
}

/*
 * tollgated suspends s1 after another writer moved the indexes behind its snapshot (s1
 * out, n1 in at s1's index, s1 back at another): the record written is s1's where it is
 * now, at once (not after the full sync that follows), and n1's stays untouched.
 */
static void test_enforce_stale(void)
{
	struct tg_capacity cap = {.max_customers = 16, .max_prefixes = 64};
	struct tg_applied *app = NULL, *old = NULL;
	struct tg_enf_entry susp = {.id = "s1", .state = TG_ST_SUSPENDED};
	struct tg_enf_table table = {};
	struct tg_enf_view view;
	struct tg_load_cache *lc = NULL;
	struct tg_errs errs = {};
	struct tg_cfg *cfg = NULL;
	struct tg_sync_stats st;
	char yaml[160], csv[160];
	uint32_t was, s1, n1;
	struct tg_maps m;

	snprintf(yaml, sizeof(yaml), "%s/stale.yaml", dir);
	snprintf(csv, sizeof(csv), "%s/stale.csv", dir);
	if (tg_maps_open(NULL, &cap, true, &m)) {
		CHECK(!"tg_maps_open");
		return;
	}
	TEST_BEGIN("enforcement behind another writer's back: written where the customer is "
		   "now, at once; the index's new owner untouched");
	write_stale(yaml, csv, true, false);
	CHECK_EQ_U64(tg_config_load_from(yaml, NULL, &lc, &cfg, &errs), 0);
	if (cfg)
		CHECK_EQ_U64(tg_sync_applied(&m, &app, cfg, lc, NULL, &old, &st, NULL, &errs), 0);
	was = tg_find_customer(&m, "s1");
	/* another writer: s1 out, n1 in (taking s1's index), s1 back (at another) */
	for (int k = 0; k < 3; k++) {
		struct tg_cfg *cx = NULL;

		write_stale(yaml, csv, k == 2, k > 0);
		CHECK_EQ_U64(tg_config_load(yaml, &cx, &errs), 0);
		if (cx)
			CHECK_EQ_U64(tg_sync_customers(&m, cx, NULL, NULL, &errs), 0);
		tg_config_free(cx);
	}
	s1 = tg_find_customer(&m, "s1");
	n1 = tg_find_customer(&m, "n1");
	CHECK(was && n1 == was && s1 && s1 != was);
	CHECK_EQ_U64(tg_enf_put(&table, &susp), 0);
	tg_enf_view_init(&view, &table);
	CHECK_EQ_U64(tg_applied_enforce(&m, app, "s1", &view), -ESTALE);
	CHECK_EQ_U64(state_at(&m, s1), TG_ST_SUSPENDED);
	CHECK_EQ_U64(state_at(&m, n1), TG_ST_ACTIVE);
	/* lifted the same way */
	tg_enf_del(&table, "s1");
	CHECK_EQ_U64(tg_applied_enforce(&m, app, "s1", &view), -ESTALE);
	CHECK_EQ_U64(state_at(&m, s1), TG_ST_ACTIVE);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "    %s\n", errs.msg[i]);
	tg_errs_free(&errs);
	tg_enf_free(&table);
	tg_applied_free(old);
	tg_applied_free(app);
	tg_maps_close(&m);
}

static int rm_one(const char *p, const struct stat *s, int t, struct FTW *f)
{
	(void)s;
	(void)t;
	(void)f;
	return remove(p);
}

int main(int argc, char **argv)
{
	struct tg_capacity cap = {.max_customers = CAP, .max_prefixes = 1024};
	struct tg_applied *app = NULL, *old = NULL;
	struct tg_maps inc;
	uint32_t idx_before[POOL] = {0};
	unsigned int kinds = 0;
	uint64_t void_was[TG_V4_VOID_WORDS], void_gained = 0, void_lost = 0;
	unsigned long seed = (unsigned long)time(NULL) ^ (unsigned long)getpid();
	int opt, full_steps = 0, two_pass = 0, err;
	bool outside = false;

	while ((opt = getopt(argc, argv, "s:")) != -1) {
		if (opt == 's')
			seed = strtoul(optarg, NULL, 0);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP test_sync: needs root (BPF maps)\n");
		return 77;
	}
	/* a network namespace of its own: the customers bind to its lo, nothing else's */
	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	rng = seed * 2654435761u + 1;
	printf("test_sync: seed %lu (replay: %s -s %lu)\n", seed, argv[0], seed);
	snprintf(dir, sizeof(dir), "/tmp/tg-test-sync.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(yaml_path, sizeof(yaml_path), "%s/tollgate.yaml", dir);
	snprintf(csv_path, sizeof(csv_path), "%s/customers.csv", dir);
	snprintf(state_path, sizeof(state_path), "%s/state.db", dir);
	err = tg_maps_open(NULL, &cap, true, &inc);
	if (err) {
		fprintf(stderr, "FAIL setup: tg_maps_open: %s\n", strerror(-err));
		return 1;
	}
	for (int step = 0; step < STEPS; step++) {
		struct tg_errs errs = {};
		struct tg_cfg *ci = NULL, *cf = NULL;
		struct tg_load_cache *lci = NULL;
		struct tg_sync_stats st;
		struct tg_maps full;
		char name[96];
		struct view v;

		churn(step);
		write_files(step);
		snprintf(name, sizeof(name),
			 "step %d: the incremental sync says what a full one says", step);
		TEST_BEGIN(strdup(name));
		if (step && step % 9 == 0) {
			/* another writer: `tollgate reload` without the daemon */
			struct tg_cfg *cx = NULL;

			CHECK_EQ_U64(tg_config_load(yaml_path, &cx, &errs), 0);
			if (cx)
				CHECK_EQ_U64(
					tg_apply(&inc, cx, NULL, NULL, NULL, NULL, NULL, &errs), 0);
			tg_config_free(cx);
			/* who left in between may come back with another index */
			for (int i = 0; i < POOL; i++)
				if (!model[i].on)
					idx_before[i] = 0;
			churn(step);
			write_files(step);
			outside = true;
		}
		CHECK_EQ_U64(
			tg_config_load_from(yaml_path, tg_applied_cache(app), &lci, &ci, &errs), 0);
		CHECK_EQ_U64(tg_config_load(yaml_path, &cf, &errs), 0);
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "    %s\n", errs.msg[i]);
		tg_errs_free(&errs);
		if (!ci || !cf) {
			tg_config_free(ci);
			tg_load_cache_free(lci);
			tg_config_free(cf);
			break;
		}
		if (step)
			CHECK(lci && lci->rows_reused > 0);
		err = tg_apply(&inc, ci, lci, NULL, &app, &old, &st, &errs);
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "    %s\n", errs.msg[i]);
		tg_errs_free(&errs);
		CHECK_EQ_U64(err, 0);
		CHECK(app != NULL);
		/* the first sync and the one after another writer read the maps back */
		CHECK_EQ_U64(st.full, step == 0 || outside);
		full_steps += st.full;
		two_pass += st.two_pass && !st.full;
		outside = false;
		tg_applied_free(old);
		tg_applied_index(app);

		free(cf->state_path); /* the scratch instance keeps no state */
		cf->state_path = NULL;
		err = tg_maps_open(NULL, &cap, true, &full);
		CHECK_EQ_U64(err, 0);
		if (!err) {
			CHECK_EQ_U64(tg_sync_customers(&full, cf, NULL, NULL, &errs), 0);
			tg_errs_free(&errs);
			CHECK_EQ_U64(compare(&inc, &full, cf), 0);
			tg_maps_close(&full);
		}
		kinds |= trie_reach(&inc).kinds;
		/* the /16s of 10.16.0.0/13 (word 40, bits 16..23) that went void or stopped */
		if (step) {
			void_gained |= ~void_was[40] & inc.v4void[40] & 0xff0000;
			void_lost |= void_was[40] & ~inc.v4void[40] & 0xff0000;
		}
		memcpy(void_was, inc.v4void, sizeof(void_was));
		/* customers kept from the last step kept their index */
		read_view(&inc, &v);
		for (int i = 0; i < POOL; i++) {
			char id[8];
			uint32_t now;

			snprintf(id, sizeof(id), "c%03d", i);
			now = model[i].on ? find(&v, id) : 0;
			if (now && idx_before[i] && now != idx_before[i])
				fprintf(stderr, "    %s moved from index %u to %u\n", id,
					idx_before[i], now);
			CHECK(!(now && idx_before[i] && now != idx_before[i]));
			idx_before[i] = now;
		}
		free(v.name);
		tg_config_free(cf);
	}
	printf("  %d steps: %d full syncs, %d incremental in two passes\n", STEPS, full_steps,
	       two_pass);
	TEST_BEGIN("the sequence recycled indexes in two passes at least once");
	CHECK(two_pass > 0);
	TEST_BEGIN("the tries held compare nodes of every kind: ending in a customer, going on "
		   "to a chunk, longer than a byte");
	CHECK_EQ_U64(kinds, 7);
	TEST_BEGIN("IPv4 /16s lost their last customer and gained a first one (void bits set "
		   "and cleared)");
	CHECK(void_gained != 0);
	CHECK(void_lost != 0);
	tg_applied_free(app);
	tg_maps_close(&inc);
	test_tbl8_capacity();
	test_write_order();
	test_enforce_stale();
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return test_summary();
}
