// SPDX-License-Identifier: GPL-2.0-only
/*
 * customers.c - the customers CSV (what billing and IPAM systems export) into
 * tg_cfg.customers, with libcsv doing the CSV itself (quotes, commas and newlines inside
 * quoted fields). The header row names the columns, in any order.
 *
 * libcsv does not count lines, so the file is cut into records here (a newline outside
 * quotes ends one) and each record is fed to libcsv separately, knowing the line it starts
 * on. In strict mode a quote can only open or close a quoted field or be doubled inside
 * one, so counting quotes finds record ends exactly.
 *
 * Duplicate ids and prefixes are found by sorting (O(n log n)) after all rows are read;
 * errors are then put in line order. 1M rows parse in a few seconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <csv.h>

#include "config.h"

enum col {
	C_ID,
	C_NAME,
	C_PLAN,
	C_PREFIXES,
	C_IFACE,
	C_VLAN,
	C_UP_RATE,
	C_UP_BURST,
	C_DOWN_RATE,
	C_DOWN_BURST,
	C_FLOOD, /* flood limits of the plan, overridden: packets/s; TG_FC_OWN_LIST's keys */
	C_NR = C_FLOOD + TG_FC_OWN_NR
};

#define COL_FLOOD(N, k, r) [C_FLOOD + TG_FC_##N] = k,
static const char *const col_names[C_NR] = {"id",
					    "name",
					    "plan",
					    "prefixes",
					    "interface",
					    "vlan",
					    "upload_rate",
					    "upload_burst",
					    "download_rate",
					    "download_burst",
					    TG_FC_OWN_LIST(COL_FLOOD)};

#define COL_KNOWN(N, k, r) ", " k
#define COLS_KNOWN                                                                                 \
	"id, name, plan, prefixes, interface, vlan, upload_rate, upload_burst, download_rate, "    \
	"download_burst" TG_FC_OWN_LIST(COL_KNOWN)

static const bool col_required[C_NR] = {[C_ID] = true, [C_PLAN] = true, [C_PREFIXES] = true};

/* An error waiting to be put in line order. */
struct lerr {
	size_t line, seq;
	char *msg;
};

#define PKEY_CMP_LEN offsetof(struct tg_pkey, cust)

/* A record's bytes, looked up among the rows of a previous load. */
struct rec_key {
	const struct tg_load_cache *prev;
	const char *rec;
	size_t len;
};

struct plan_ix {
	const char *name;
	int idx;
};

struct cparse {
	struct tg_cfg *cfg;
	const char *file;
	int oom;

	struct lerr *errs;
	size_t nerrs, caperrs;

	size_t line;	  /* where the record being fed to libcsv starts */
	bool rec_nul;	  /* the record has a NUL byte somewhere */
	size_t nul_field; /* the first field of the row holding one, or SIZE_MAX */

	/* fields of the current row: NUL-terminated, at off[i] in buf */
	char *buf;
	size_t blen, bcap;
	size_t *off;
	size_t nf, capf;

	bool have_header, rows_ok;
	int col[64]; /* enum col of each header column, -1 if unknown */
	size_t ncols;

	struct plan_ix *plans; /* sorted by name */
	size_t ccap;	       /* allocated cfg->customers */
	struct tg_prefix *tmp; /* prefixes of the current row */
	size_t tmpcap;
	struct tg_pkey *pk;
	size_t npk, cappk;
	struct tg_hset pks;	  /* pk by value (find_duplicates) */
	bool cust_full, pfx_full; /* over capacity: said once */
	size_t pfx_cap, name_cap; /* of the pools */
	const char *key_id;	  /* the key being looked up in find_duplicates */
	const struct tg_pkey *key_pk;

	/* reuse of the rows of a previous load whose bytes are unchanged (tg_config_load_from) */
	const char *text;		  /* the file's bytes */
	size_t rec_off, rec_len;	  /* the record being fed to libcsv */
	size_t hdr_off, hdr_len;	  /* the header record */
	const struct tg_load_cache *prev; /* NULL: parse every row */
	struct rec_key rk;		  /* the record being looked up in prev */
	size_t nreused;
	uint32_t next_prev;	 /* the row of prev after the last one reused: tried first */
	struct tg_load_row *row; /* per customer, with a cache made or a previous one (else NULL) */
	size_t rowcap;
};

static void *grow(struct cparse *p, void *ptr, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *r;

	if (need <= *cap)
		return ptr;
	while (n < need)
		n *= 2;
	r = realloc(ptr, n * size);
	if (!r) {
		p->oom = 1;
		return NULL;
	}
	tg_advise_huge(r, n * size);
	*cap = n;
	return r;
}

/*
 * Prefixes and names live in two pools per config, not in a malloc per customer: at 1M
 * customers that is 2M allocations fewer, and freeing a config is three calls. While the
 * pools grow, a customer's pfx and name hold offsets into them (+1 for name, so NULL
 * stays "no name"); pools_resolve turns them into pointers once the parse is over.
 */
static size_t pool_prefixes(struct cparse *p, const struct tg_prefix *src, size_t n)
{
	struct tg_cfg *cfg = p->cfg;
	struct tg_prefix *r = grow(p, cfg->pfx_pool, &p->pfx_cap, cfg->npfx_pool + n, sizeof(*r));
	size_t at = cfg->npfx_pool;

	if (!r)
		return 0;
	cfg->pfx_pool = r;
	memcpy(&r[at], src, n * sizeof(*r));
	cfg->npfx_pool += n;
	return at;
}

static size_t pool_name(struct cparse *p, const char *s)
{
	struct tg_cfg *cfg = p->cfg;
	size_t n = strlen(s) + 1, at = cfg->name_pool_len;
	char *r = grow(p, cfg->name_pool, &p->name_cap, at + n, 1);

	if (!r)
		return 0;
	cfg->name_pool = r;
	memcpy(r + at, s, n);
	cfg->name_pool_len += n;
	return at + 1;
}

static void pools_resolve(struct cparse *p)
{
	struct tg_cfg *cfg = p->cfg;

	for (size_t i = 0; i < cfg->ncustomers; i++) {
		struct tg_customer *c = &cfg->customers[i];

		c->pfx = c->npfx ? cfg->pfx_pool + (uintptr_t)c->pfx : NULL;
		if (c->name)
			c->name = cfg->name_pool + ((uintptr_t)c->name - 1);
	}
}

static void cerr(struct cparse *p, size_t line, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void cerr(struct cparse *p, size_t line, const char *field, const char *fmt, ...)
{
	struct lerr *e;
	char msg[512];
	va_list ap;
	int n;

	e = grow(p, p->errs, &p->caperrs, p->nerrs + 1, sizeof(*e));
	if (!e)
		return;
	p->errs = e;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = &p->errs[p->nerrs];
	if (field)
		n = asprintf(&e->msg, "%s:%zu: field '%s': %s", p->file, line, field, msg);
	else
		n = asprintf(&e->msg, "%s:%zu: %s", p->file, line, msg);
	if (n < 0) {
		p->oom = 1;
		return;
	}
	e->line = line;
	e->seq = p->nerrs++;
}

static int cmp_plan(const void *a, const void *b)
{
	return strcmp(((const struct plan_ix *)a)->name, ((const struct plan_ix *)b)->name);
}

static int find_plan(const struct cparse *p, const char *name)
{
	struct plan_ix key = {.name = name}, *r;

	if (!p->cfg->nplans)
		return -1;
	r = bsearch(&key, p->plans, p->cfg->nplans, sizeof(*p->plans), cmp_plan);
	return r ? r->idx : -1;
}

/* ---- one row ---- */

/* A VLAN id, 1..4094 (0 is priority tagging, 4095 reserved). */
static int parse_vid(const char *s, size_t n, uint16_t *vid)
{
	unsigned int v = 0;

	if (!n || n > 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v < 1 || v > 4094)
		return -EINVAL;
	*vid = (uint16_t)v;
	return 0;
}

/*
 * The vlan column (tollgate_kern_user.h, TG_VLAN_*): empty = untagged frames only, 100 =
 * exactly one tag 100, 100.200 = outer 100 and inner 200, 100.* = outer 100 with any inner
 * tag or none, * = any tags or none. A binding is of an interface: a vlan needs one.
 */
static void row_vlan(struct cparse *p, struct tg_customer *c, const char *s, bool has_iface)
{
	const char *dot = strchr(s, '.');
	size_t n = dot ? (size_t)(dot - s) : strlen(s);

	c->vlan = c->ivlan = TG_VLAN_UNTAGGED;
	if (!*s)
		return;
	if (strcmp(s, "*") == 0) {
		c->vlan = c->ivlan = TG_VLAN_ANY;
	} else if (parse_vid(s, n, &c->vlan) || (dot && strcmp(dot + 1, "*") != 0 &&
						 parse_vid(dot + 1, strlen(dot + 1), &c->ivlan))) {
		c->vlan = c->ivlan = TG_VLAN_UNTAGGED;
		cerr(p, c->line, "vlan",
		     "'%s': want a VLAN id 1..4094, OUTER.INNER for QinQ (100.200), 100.* for "
		     "any inner tag, * for any, or empty for untagged",
		     s);
		return;
	} else if (dot && dot[1] == '*') {
		c->ivlan = TG_VLAN_ANY;
	}
	if (!has_iface)
		cerr(p, c->line, "vlan",
		     "'%s' without an interface: a binding is to an interface; name it in the "
		     "interface column, or leave vlan empty",
		     s);
}

/* The customer's prefixes, for find_duplicates and the capacity check. */
static void add_pkeys(struct cparse *p, const struct tg_customer *c, const struct tg_prefix *pfx)
{
	uint32_t cust = (uint32_t)(c - p->cfg->customers);
	size_t n = c->npfx;
	struct tg_pkey *k;

	if (p->npk + n > p->cfg->max_prefixes && !p->pfx_full) {
		p->pfx_full = true;
		cerr(p, c->line, "prefixes", "prefix %u is over capacity.max_prefixes (%u): %s",
		     p->cfg->max_prefixes + 1, p->cfg->max_prefixes,
		     "raise capacity.max_prefixes in tollgate.yaml");
	}
	k = grow(p, p->pk, &p->cappk, p->npk + n, sizeof(*k));
	if (!k)
		return;
	p->pk = k;
	for (size_t i = 0; i < n; i++) {
		k = &p->pk[p->npk++];
		k->pad = 0;
		k->family = (uint8_t)pfx[i].family;
		k->plen = pfx[i].plen;
		memcpy(k->addr, pfx[i].addr, sizeof(k->addr));
		k->cust = cust;
	}
}

static void row_prefixes(struct cparse *p, struct tg_customer *c, char *s)
{
	char *tok, *save = NULL, err[256];
	size_t n = 0, ntok = 0;

	for (tok = strtok_r(s, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		struct tg_prefix *t = grow(p, p->tmp, &p->tmpcap, n + 1, sizeof(*t));

		if (!t)
			return;
		p->tmp = t;
		ntok++;
		if (tg_parse_prefix(tok, &p->tmp[n], err, sizeof(err)) ||
		    tg_prefix_refused(&p->tmp[n], p->cfg->allow_short_prefixes, err, sizeof(err)))
			cerr(p, c->line, "prefixes", "%s", err);
		else
			n++;
	}
	if (!ntok)
		cerr(p, c->line, "prefixes", "empty: a customer needs at least one prefix");
	if (!n)
		return;
	c->pfx = (struct tg_prefix *)(uintptr_t)pool_prefixes(p, p->tmp, n);
	c->npfx = n;

	add_pkeys(p, c, p->tmp);
}

static bool written_as_zero(const char *s)
{
	size_t n = strspn(s, "0.");

	return n && s[0] == '0' && !strpbrk(s + n, "0123456789");
}

/* A rate the policer cannot hold exactly: said, true. */
static bool rate_out_of_range(struct cparse *p, const struct tg_customer *c, const char *field,
			      const char *s, uint64_t bps)
{
	char why[256];

	if (!tg_check_rate(s, bps, why, sizeof(why)))
		return false;
	cerr(p, c->line, field, "%s", why);
	return true;
}

/* The burst of r is more than its policer can hold. */
static void burst_over(struct cparse *p, const struct tg_customer *c, const char *field,
		       const struct tg_rate_cfg *r)
{
	char rate[32];

	tg_format_rate(r->rate_bps, rate, sizeof(rate));
	cerr(p, c->line, field,
	     "a burst of %llu bytes at %s is more than a policer holds: at most %llu bytes (208 "
	     "days of the rate; the tolerance is at most 2^62 x 2^-8 ns)",
	     (unsigned long long)r->burst_bytes, rate,
	     (unsigned long long)tg_burst_max_bytes(r->rate_bps));
}

/*
 * One direction: the plan's limits, then the row's overrides. The result must still be a
 * policer: a rate needs a burst, a burst needs a rate, and a peak rate stays >= the rate.
 */
static void row_direction(struct cparse *p, struct tg_customer *c, const struct tg_plan *plan,
			  int dir, const char *rate_s, const char *burst_s)
{
	const char *dname = dir == TG_DIR_UP ? "upload" : "download";
	const char *rf = dir == TG_DIR_UP ? "upload_rate" : "download_rate";
	const char *bf = dir == TG_DIR_UP ? "upload_burst" : "download_burst";
	struct tg_rate_cfg *r = &c->dir[dir];
	bool ok = true;
	uint64_t v;

	if (plan)
		*r = plan->dir[dir];
	if (rate_s && *rate_s) {
		if (tg_parse_rate_bps(rate_s, &v)) {
			ok = false;
			if (written_as_zero(rate_s))
				cerr(p, c->line, rf, "a rate must be above zero");
			else
				cerr(p, c->line, rf,
				     "'%s' is not a rate (bit/s, e.g. 100mbit, 2.5g)", rate_s);
		} else if (rate_out_of_range(p, c, rf, rate_s, v)) {
			ok = false;
		} else {
			r->rate_bps = v;
		}
	}
	if (burst_s && *burst_s) {
		if (tg_parse_size_bytes(burst_s, &v)) {
			ok = false;
			cerr(p, c->line, bf, "'%s' is not a size (bytes, e.g. 256k, 1m, 1500)",
			     burst_s);
		} else if (v < TG_BURST_MIN_BYTES) {
			ok = false;
			cerr(p, c->line, bf, "%s bytes is below one MTU (%u bytes)", burst_s,
			     TG_BURST_MIN_BYTES);
		} else {
			r->burst_bytes = v;
		}
	}
	if (!ok || !plan || (!(rate_s && *rate_s) && !(burst_s && *burst_s)))
		return;
	if (r->rate_bps && r->burst_bytes > tg_burst_max_bytes(r->rate_bps))
		burst_over(p, c, burst_s && *burst_s ? bf : rf, r);
	else if (r->rate_bps && !r->burst_bytes)
		cerr(p, c->line, rf, "plan '%s' has no %s limit to take a burst from: set %s too",
		     plan->name, dname, bf);
	else if (!r->rate_bps && r->burst_bytes)
		cerr(p, c->line, bf, "plan '%s' has no %s limit to take a rate from: set %s too",
		     plan->name, dname, rf);
	else if (r->peak_rate_bps && r->rate_bps > r->peak_rate_bps) {
		char peak[32];

		tg_format_rate(r->peak_rate_bps, peak, sizeof(peak));
		cerr(p, c->line, rf, "'%s' is above the %s peak_rate of plan '%s' (%s)",
		     rate_s ? rate_s : "", dname, plan->name, peak);
	}
}

/* A new customer at the end of cfg->customers, zeroed, with its line and record. */
static struct tg_customer *new_customer(struct cparse *p)
{
	struct tg_cfg *cfg = p->cfg;
	struct tg_customer *c;

	c = grow(p, cfg->customers, &p->ccap, cfg->ncustomers + 1, sizeof(*c));
	if (!c)
		return NULL;
	cfg->customers = c;
	c = &cfg->customers[cfg->ncustomers++];
	memset(c, 0, sizeof(*c));
	c->line = (int)p->line;
	if (p->row) {
		struct tg_load_row *r = grow(p, p->row, &p->rowcap, cfg->ncustomers, sizeof(*r));

		if (!r)
			return NULL;
		p->row = r;
		r[cfg->ncustomers - 1] =
			(struct tg_load_row){p->rec_off, (uint32_t)p->rec_len, UINT32_MAX};
	}
	if (cfg->ncustomers > cfg->max_customers && !p->cust_full) {
		p->cust_full = true;
		cerr(p, p->line, NULL, "customer %zu is over capacity.max_customers (%u): %s",
		     cfg->ncustomers, cfg->max_customers,
		     "raise capacity.max_customers in tollgate.yaml");
	}
	return c;
}

/*
 * Ids reach shell scripts (the exec hook's argv), URLs (/api/v1/customers/ID), logs and
 * label values: they keep to letters, digits and . _ : @ + - (TG_ID_SAFE), and do not
 * start with '-' (a hook would take it for an option). NULL if safe, else why not.
 */
#define TG_ID_SAFE "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@+-"
static const char *id_unsafe(const char *id)
{
	if (id[0] == '-')
		return "starts with '-' (an exec hook would take it for an option)";
	if (strspn(id, TG_ID_SAFE) != strlen(id))
		return "has a character other than letters, digits and . _ : @ + - (ids reach "
		       "hooks, URLs and logs)";
	return NULL;
}

/* TG_FC_OWN_LIST (syn, udp, ...): the plan's packet-rate limits, overridden for this
 * customer. */
static void row_flood(struct cparse *p, struct tg_customer *c, const char *f[C_NR])
{
	for (int i = 0; i < TG_FC_OWN_NR; i++) {
		const char *v = f[C_FLOOD + i];
		uint64_t pps;
		int bad;

		if (!*v)
			continue;
		bad = tg_parse_pps(v, &pps);
		if (bad && written_as_zero(v))
			cerr(p, c->line, col_names[C_FLOOD + i],
			     "a packet rate must be above zero (leave it empty for the plan's)");
		else if (bad)
			cerr(p, c->line, col_names[C_FLOOD + i],
			     "'%s' is not a packet rate (e.g. 500pps, 20kpps)", v);
		else if (pps > TG_PPS_MAX)
			cerr(p, c->line, col_names[C_FLOOD + i],
			     "'%s' is above %llupps, the highest packet rate a limit holds exactly",
			     v, TG_PPS_MAX);
		else
			c->flood_pps[i] = (uint32_t)pps;
	}
}

/* The UTF-8 sequence at s (RFC 3629: shortest form, no surrogates, up to U+10FFFF): its
 * length and code point, or 0 if it is not one. */
static size_t utf8_char(const unsigned char *s, uint32_t *cp)
{
	static const struct {
		unsigned char lead_min, lead_max, len, lo, hi; /* second byte within lo..hi */
	} forms[] = {
		{0xc2, 0xdf, 2, 0x80, 0xbf}, {0xe0, 0xe0, 3, 0xa0, 0xbf},
		{0xe1, 0xec, 3, 0x80, 0xbf}, {0xed, 0xed, 3, 0x80, 0x9f},
		{0xee, 0xef, 3, 0x80, 0xbf}, {0xf0, 0xf0, 4, 0x90, 0xbf},
		{0xf1, 0xf3, 4, 0x80, 0xbf}, {0xf4, 0xf4, 4, 0x80, 0x8f},
	};

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t n = forms[i].len;

		if (s[0] < forms[i].lead_min || s[0] > forms[i].lead_max)
			continue;
		if (s[1] < forms[i].lo || s[1] > forms[i].hi)
			return 0;
		*cp = s[0] & (0x7fu >> n);
		for (size_t k = 1; k < n; k++) {
			if ((s[k] & 0xc0) != 0x80) /* a NUL ends the string here too */
				return 0;
			*cp = (*cp << 6) | (s[k] & 0x3fu);
		}
		return n;
	}
	return 0;
}

/*
 * Why an id cannot be used, or NULL: it must be UTF-8 (the CLI, the API and the metrics
 * print it as JSON and Prometheus text, which are UTF-8) without control characters (C0,
 * DEL, C1), which would garble a terminal, a log line or an argument of the notify hook.
 */
static const char *id_problem(const char *id)
{
	static __thread char why[96];
	const unsigned char *s = (const unsigned char *)id;
	uint32_t cp;

	for (size_t i = 0, n; s[i]; i += n) {
		n = utf8_char(s + i, &cp);
		if (!n) {
			snprintf(why, sizeof(why),
				 "not UTF-8 (byte %zu, 0x%02x): export the file as UTF-8", i + 1,
				 s[i]);
			return why;
		}
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			snprintf(why, sizeof(why),
				 "contains a control character (byte %zu, U+%04X): remove it",
				 i + 1, (unsigned int)cp);
			return why;
		}
	}
	return NULL;
}

static void do_row(struct cparse *p, const char *f[C_NR])
{
	struct tg_cfg *cfg = p->cfg;
	const struct tg_plan *plan = NULL;
	struct tg_customer *c;

	c = new_customer(p);
	if (!c)
		return;
	c->plan = -1;
	c->vlan = c->ivlan = TG_VLAN_UNTAGGED;

	if (!*f[C_ID]) {
		cerr(p, p->line, "id", "empty");
	} else if (strlen(f[C_ID]) >= TG_ID_LEN) {
		cerr(p, p->line, "id", "'%s' is longer than %u bytes", f[C_ID], TG_ID_LEN - 1);
	} else {
		const char *bad = id_problem(f[C_ID]), *why;

		if (bad)
			cerr(p, p->line, "id", "%s", bad);
		else if ((why = id_unsafe(f[C_ID])))
			cerr(p, p->line, "id", "'%s' %s", f[C_ID], why);
		snprintf(c->id, sizeof(c->id), "%s", f[C_ID]);
	}

	if (*f[C_NAME]) {
		c->name = (char *)(uintptr_t)pool_name(p, f[C_NAME]);
	}

	if (!*f[C_PLAN]) {
		cerr(p, p->line, "plan", "empty");
	} else {
		c->plan = find_plan(p, f[C_PLAN]);
		if (c->plan < 0)
			cerr(p, p->line, "plan", "unknown plan '%s' (not under plans in %s)",
			     f[C_PLAN], cfg->path ? cfg->path : "tollgate.yaml");
		else
			plan = &cfg->plans[c->plan];
	}

	row_prefixes(p, c, (char *)f[C_PREFIXES]);

	if (*f[C_IFACE]) {
		const struct tg_iface_cfg *ic = tg_config_iface(cfg, f[C_IFACE]);

		if (!ic)
			cerr(p, p->line, "interface", "'%s' is not under interfaces in %s",
			     f[C_IFACE], cfg->path ? cfg->path : "tollgate.yaml");
		else if (ic->role != TG_ROLE_CUSTOMER)
			cerr(p, p->line, "interface",
			     "'%s' has the upstream role: bind customers to a customer one",
			     f[C_IFACE]);
		else
			snprintf(c->iface, sizeof(c->iface), "%s", f[C_IFACE]);
	}

	row_vlan(p, c, f[C_VLAN], *f[C_IFACE] != '\0');
	row_direction(p, c, plan, TG_DIR_UP, f[C_UP_RATE], f[C_UP_BURST]);
	row_direction(p, c, plan, TG_DIR_DOWN, f[C_DOWN_RATE], f[C_DOWN_BURST]);
	row_flood(p, c, f);
}

static void do_header(struct cparse *p)
{
	bool seen[C_NR] = {false};

	p->have_header = true;
	p->rows_ok = true;
	p->hdr_off = p->rec_off;
	p->hdr_len = p->rec_len;
	if (p->nf > sizeof(p->col) / sizeof(p->col[0])) {
		cerr(p, p->line, NULL, "%zu columns: at most %zu", p->nf,
		     sizeof(p->col) / sizeof(p->col[0]));
		p->rows_ok = false;
		return;
	}
	p->ncols = p->nf;
	for (size_t i = 0; i < p->nf; i++) {
		const char *name = p->buf + p->off[i];
		int k;

		for (k = 0; k < C_NR && strcasecmp(name, col_names[k]); k++)
			;
		p->col[i] = -1;
		if (k == C_NR) {
			cerr(p, p->line, NULL, "unknown column '%s' (known: %s)", name, COLS_KNOWN);
		} else if (seen[k]) {
			cerr(p, p->line, NULL, "column '%s' appears twice", col_names[k]);
		} else {
			seen[k] = true;
			p->col[i] = k;
		}
	}
	for (int k = 0; k < C_NR; k++) {
		if (col_required[k] && !seen[k]) {
			cerr(p, p->line, NULL,
			     "no '%s' column (the first row names the columns; %s are required)",
			     col_names[k], "id, plan and prefixes");
			p->rows_ok = false;
		}
	}
}

/* ---- libcsv callbacks ---- */

static void on_field(void *data, size_t len, void *arg)
{
	struct cparse *p = arg;
	size_t *o;
	char *b;

	b = grow(p, p->buf, &p->bcap, p->blen + len + 1, 1);
	if (!b)
		return;
	p->buf = b;
	o = grow(p, p->off, &p->capf, p->nf + 1, sizeof(*o));
	if (!o)
		return;
	p->off = o;
	if (p->rec_nul && p->nul_field == SIZE_MAX && len && memchr(data, '\0', len))
		p->nul_field = p->nf;
	p->off[p->nf++] = p->blen;
	if (len)
		memcpy(p->buf + p->blen, data, len);
	p->blen += len;
	p->buf[p->blen++] = '\0';
}

/*
 * A NUL byte in a field: C strings would end there, cutting an id short or dropping a
 * prefix without a word. The row is not read further; in the header, no row is.
 */
static void nul_in_field(struct cparse *p)
{
	size_t i = p->nul_field;
	char col[32];
	const char *name = col;

	snprintf(col, sizeof(col), "column %zu", i + 1);
	if (p->have_header && i < p->ncols && p->col[i] >= 0)
		name = col_names[p->col[i]];
	cerr(p, p->line, name, "contains a NUL byte: remove it (it is not text, and would cut %s)",
	     p->have_header ? "the field short" : "the column name short");
	if (!p->have_header) {
		p->have_header = true;
		p->rows_ok = false;
	}
}

static void on_row(int term, void *arg)
{
	struct cparse *p = arg;
	const char *f[C_NR];

	(void)term;
	if (p->oom)
		goto out;
	if (p->nul_field != SIZE_MAX) {
		nul_in_field(p);
		goto out;
	}
	if (!p->have_header) {
		do_header(p);
		goto out;
	}
	if (!p->rows_ok)
		goto out;
	if (p->nf != p->ncols) {
		cerr(p, p->line, NULL, "%zu fields, but the header names %zu columns", p->nf,
		     p->ncols);
		goto out;
	}
	for (int k = 0; k < C_NR; k++)
		f[k] = "";
	for (size_t i = 0; i < p->nf; i++) {
		if (p->col[i] >= 0)
			f[p->col[i]] = p->buf + p->off[i];
	}
	do_row(p, f);
out:
	p->nf = 0;
	p->blen = 0;
	p->nul_field = SIZE_MAX;
}

/* ---- after the last row ---- */

static bool id_eq(const void *ctx, uint32_t item)
{
	const struct cparse *p = ctx;

	return strcmp(p->cfg->customers[item].id, p->key_id) == 0;
}

static bool pkey_eq(const void *ctx, uint32_t item)
{
	const struct cparse *p = ctx;

	return memcmp(&p->pk[item], p->key_pk, PKEY_CMP_LEN) == 0;
}

struct id_lookup {
	const struct tg_cfg *cfg;
	const char *id;
};

static bool lookup_eq(const void *ctx, uint32_t item)
{
	const struct id_lookup *l = ctx;

	return strcmp(l->cfg->customers[item].id, l->id) == 0;
}

long tg_config_customer(const struct tg_cfg *cfg, const char *id)
{
	struct id_lookup l = {cfg, id};
	uint32_t hit;

	if (!cfg->ids.slot)
		return -1;
	hit = tg_hset_find(&cfg->ids, tg_hash(id, strlen(id)), lookup_eq, &l, NULL);
	return hit == UINT32_MAX ? -1 : (long)hit;
}

#define AHEAD 16 /* keys hashed and prefetched ahead of the probe: the sets miss the cache */

/* Ids and prefixes claimed twice, through hash sets (a sort of 2M prefixes took 0.5 s). */
static void find_duplicates(struct cparse *p)
{
	struct tg_cfg *cfg = p->cfg;
	struct tg_hset *pks = &p->pks;
	uint64_t *where = NULL, *hash = NULL;
	size_t n = cfg->ncustomers > p->npk ? cfg->ncustomers : p->npk;
	uint32_t hit;

	tg_hset_free(&cfg->ids);
	tg_hset_free(pks);
	hash = malloc((n + 1) * sizeof(*hash));
	if (!hash || tg_hset_init(&cfg->ids, cfg->ncustomers) || tg_hset_init(pks, p->npk)) {
		p->oom = 1;
		goto out;
	}
	for (size_t i = 0; i < cfg->ncustomers; i++) {
		const char *id = cfg->customers[i].id;

		hash[i] = tg_hash(id, strlen(id));
	}
	for (size_t i = 0; i < cfg->ncustomers; i++) {
		const struct tg_customer *c = &cfg->customers[i];

		if (i + AHEAD < cfg->ncustomers)
			tg_hset_prefetch(&cfg->ids, hash[i + AHEAD]);
		if (!c->id[0])
			continue;
		p->key_id = c->id;
		hit = tg_hset_find(&cfg->ids, hash[i], id_eq, p, &where);
		if (hit == UINT32_MAX)
			tg_hset_put(where, hash[i], (uint32_t)i);
		else
			cerr(p, (size_t)c->line, "id", "'%s' is already used on line %d", c->id,
			     cfg->customers[hit].line);
	}
	for (size_t i = 0; i < p->npk; i++)
		hash[i] = tg_hash(&p->pk[i], PKEY_CMP_LEN);
	for (size_t i = 0; i < p->npk; i++) {
		const struct tg_customer *c = &cfg->customers[p->pk[i].cust], *o;
		struct tg_prefix pf = {.family = p->pk[i].family, .plen = p->pk[i].plen};
		char txt[INET6_ADDRSTRLEN + 4];

		if (i + AHEAD < p->npk)
			tg_hset_prefetch(pks, hash[i + AHEAD]);
		p->key_pk = &p->pk[i];
		hit = tg_hset_find(pks, hash[i], pkey_eq, p, &where);
		if (hit == UINT32_MAX) {
			tg_hset_put(where, hash[i], (uint32_t)i);
			continue;
		}
		o = &cfg->customers[p->pk[hit].cust];
		memcpy(pf.addr, p->pk[i].addr, sizeof(pf.addr));
		tg_format_prefix(&pf, txt, sizeof(txt));
		if (c == o)
			cerr(p, (size_t)c->line, "prefixes", "%s is listed twice", txt);
		else
			/* overlapping is fine (the longest match wins); the same prefix is not */
			cerr(p, (size_t)c->line, "prefixes",
			     "%s already belongs to customer '%s' (line %d)", txt, o->id, o->line);
	}
out:
	free(hash);
}

/* ---- after a reload that reused rows: only the new and changed rows can clash ---- */

struct pk_lookup {
	const struct tg_pkey *pk; /* the array the set indexes */
	const struct tg_pkey *key;
};

static bool pk_lookup_eq(const void *ctx, uint32_t item)
{
	const struct pk_lookup *l = ctx;

	return memcmp(&l->pk[item], l->key, PKEY_CMP_LEN) == 0;
}

/*
 * The reused rows were unique among the previous load's rows, each reused at most once
 * (checked), so a clash needs a row parsed anew: its id or prefix is among the reused rows
 * (through the previous load's sets) or among the other new rows. true: no clash; false:
 * there may be one, and find_duplicates (which also builds the sets) must run to report
 * it exactly as a first load would.
 */
static bool no_new_duplicates(struct cparse *p)
{
	const struct tg_load_cache *prev = p->prev;
	const struct tg_cfg *cfg = p->cfg, *pc = prev->cfg;
	uint8_t *reused = calloc(pc->ncustomers + 1, 1);
	struct tg_hset ids = {}, pks = {};
	uint64_t *where = NULL;
	size_t nnew = 0, npk = 0;
	bool ok = false;

	if (!reused || !p->row || !pc->ids.slot || !prev->pks.slot || !prev->pk)
		goto out;
	for (size_t c = 0; c < cfg->ncustomers; c++) {
		uint32_t r = p->row[c].prev;

		if (r == UINT32_MAX) {
			nnew++;
			npk += cfg->customers[c].npfx;
		} else if (r >= pc->ncustomers || reused[r]++) {
			goto out; /* the same row twice: the same id twice */
		}
	}
	if (tg_hset_init(&ids, nnew) || tg_hset_init(&pks, npk))
		goto out;
	for (size_t c = 0; c < cfg->ncustomers; c++) {
		const struct tg_customer *cu = &cfg->customers[c];
		long r;
		uint64_t h;

		if (p->row[c].prev != UINT32_MAX || !cu->id[0])
			continue;
		r = tg_config_customer(pc, cu->id);
		if (r >= 0 && reused[r])
			goto out;
		p->key_id = cu->id;
		h = tg_hash(cu->id, strlen(cu->id));
		if (tg_hset_find(&ids, h, id_eq, p, &where) != UINT32_MAX)
			goto out;
		tg_hset_put(where, h, (uint32_t)c);
	}
	for (size_t i = 0; i < p->npk; i++) {
		struct pk_lookup l = {prev->pk, &p->pk[i]};
		uint64_t h;
		uint32_t hit;

		if (p->row[p->pk[i].cust].prev != UINT32_MAX)
			continue;
		h = tg_hash(&p->pk[i], PKEY_CMP_LEN);
		hit = tg_hset_find(&prev->pks, h, pk_lookup_eq, &l, NULL);
		if (hit != UINT32_MAX && reused[prev->pk[hit].cust])
			goto out;
		p->key_pk = &p->pk[i];
		if (tg_hset_find(&pks, h, pkey_eq, p, &where) != UINT32_MAX)
			goto out;
		tg_hset_put(where, h, (uint32_t)i);
	}
	ok = true;
out:
	free(reused);
	tg_hset_free(&ids);
	tg_hset_free(&pks);
	return ok;
}

static int cmp_lerr(const void *a, const void *b)
{
	const struct lerr *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* ---- the file ---- */

/*
 * Line breaks: "\n", "\r\n" and a bare "\r" (old Mac exports), as editors and libyaml
 * count them. libcsv ends a row at any of them.
 */

/* Number of line breaks in s[0..n). */
static size_t count_nl(const char *s, size_t n)
{
	const char *e = s + n;
	size_t k = 0;

	for (const char *q = s; (q = memchr(q, '\n', (size_t)(e - q))); q++)
		k++;
	for (const char *q = s; (q = memchr(q, '\r', (size_t)(e - q))); q++)
		k += q + 1 == e || q[1] != '\n';
	return k;
}

/* Just past the first line break at or after q, or end. */
static const char *next_line(const char *q, const char *end)
{
	for (; q < end; q++) {
		if (*q == '\n')
			return q + 1;
		if (*q == '\r')
			return q + 1 < end && q[1] == '\n' ? q + 2 : q + 1;
	}
	return end;
}

/*
 * The next ch at or after q (end if none), from a cache that only moves forward: a file
 * of CR-only lines then costs one search for '\n' in all, not one per line.
 */
static const char *find_ahead(const char *q, const char *end, const char **cache, int ch)
{
	if (!*cache || *cache < q) {
		const char *f = memchr(q, ch, (size_t)(end - q));

		*cache = f ? f : end;
	}
	return *cache;
}

/* ---- rows unchanged since the previous load ---- */

static bool rec_eq(const void *ctx, uint32_t item)
{
	const struct rec_key *k = ctx;
	const struct tg_load_row *o = &k->prev->row[item];

	return o->len == k->len && !memcmp(k->prev->csv_raw + o->off, k->rec, k->len);
}

static bool same_header(const struct cparse *p)
{
	return p->prev->csv_hdr_len == p->rec_len &&
	       !memcmp(p->prev->csv_raw + p->prev->csv_hdr_off, p->text + p->rec_off, p->rec_len);
}

/*
 * A row whose bytes are those of a row of the previous load (same YAML, same header)
 * becomes the same customer without going through libcsv: do_row is a function of the
 * bytes, the header and the YAML. Its line, capacity and duplicates are checked anew.
 */
static bool reuse_row(struct cparse *p)
{
	const struct tg_customer *o;
	struct tg_customer *c;
	uint32_t hit;

	p->rk = (struct rec_key){p->prev, p->text + p->rec_off, p->rec_len};
	/*
	 * Most rows of a reload are where they were, in the same order: the row after the
	 * last one reused is compared first, in the order both files are laid out, before a
	 * hashed look-up (a cache miss a row at 1M). The rows of a valid configuration are
	 * unique (equal rows are one id twice), so either way finds the same row.
	 */
	hit = p->next_prev;
	if (hit >= p->prev->cfg->ncustomers || !p->rk.len || !rec_eq(&p->rk, hit))
		hit = tg_hset_find(&p->prev->raw_ix, tg_hash(p->rk.rec, p->rk.len), rec_eq, &p->rk,
				   NULL);
	if (hit == UINT32_MAX)
		return false;
	p->next_prev = hit + 1;
	o = &p->prev->cfg->customers[hit];
	c = new_customer(p);
	if (!c)
		return true;
	*c = *o;
	c->line = (int)p->line;
	p->row[c - p->cfg->customers].prev = hit;
	c->name = o->name ? (char *)(uintptr_t)pool_name(p, o->name) : NULL;
	c->pfx = (struct tg_prefix *)(uintptr_t)pool_prefixes(p, o->pfx, o->npfx);
	add_pkeys(p, c, o->pfx);
	p->nreused++;
	return true;
}

int tg_config_index_rows(struct tg_cfg *cfg, struct tg_load_cache *lc)
{
	uint64_t *where = NULL;
	int err;

	if (!cfg->ids.slot) { /* a reload that reused rows left the sets for now */
		err = tg_hset_init(&cfg->ids, cfg->ncustomers);
		if (err)
			return err;
		for (size_t i = 0; i < cfg->ncustomers; i++) {
			struct id_lookup l = {cfg, cfg->customers[i].id};
			uint64_t h = tg_hash(l.id, strlen(l.id));

			if (tg_hset_find(&cfg->ids, h, lookup_eq, &l, &where) == UINT32_MAX)
				tg_hset_put(where, h, (uint32_t)i);
		}
	}
	if (!lc)
		return 0;
	if (!lc->pks.slot && lc->pk) {
		err = tg_hset_init(&lc->pks, lc->npk);
		if (err)
			return err;
		for (size_t i = 0; i < lc->npk; i++) {
			struct pk_lookup l = {lc->pk, &lc->pk[i]};
			uint64_t h = tg_hash(l.key, PKEY_CMP_LEN);

			if (tg_hset_find(&lc->pks, h, pk_lookup_eq, &l, &where) == UINT32_MAX)
				tg_hset_put(where, h, (uint32_t)i);
		}
	}
	if (!lc->csv_raw || !lc->row || lc->raw_ix.slot)
		return 0;
	err = tg_hset_init(&lc->raw_ix, cfg->ncustomers);
	if (err)
		return err;
	for (size_t i = 0; i < cfg->ncustomers; i++) {
		const struct tg_load_row *r = &lc->row[i];
		struct rec_key k = {lc, lc->csv_raw + r->off, r->len};
		uint64_t h = tg_hash(k.rec, k.len);

		/* equal rows are duplicate ids, so a valid config has none: keep the first */
		if (tg_hset_find(&lc->raw_ix, h, rec_eq, &k, &where) == UINT32_MAX)
			tg_hset_put(where, h, (uint32_t)i);
	}
	return 0;
}

static void parse_text(struct cparse *p, const char *s, size_t len)
{
	const char *end = s + len, *nl_at = NULL, *cr_at = NULL;
	struct csv_parser csv;
	size_t line = 1;

	if (csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI)) {
		p->oom = 1;
		return;
	}
	if (len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) /* a UTF-8 BOM, as spreadsheets write */
		s += 3;
	while (s < end && !p->oom) {
		const char *q = s;
		size_t nl = 0, n, done, before;
		bool quoted = false;

		/* one record: up to a line break outside quotes (most lines have no quote) */
		const char *nlp = find_ahead(q, end, &nl_at, '\n');
		const char *crp = find_ahead(q, end, &cr_at, '\r');
		const char *eol = crp < nlp ? crp : nlp;

		if (!memchr(q, '"', (size_t)(eol - q))) {
			nl = eol < end;
			q = next_line(eol, end);
		} else {
			for (; q < end; q++) {
				if (*q == '"') {
					quoted = !quoted;
				} else if (*q == '\n' ||
					   (*q == '\r' && (q + 1 == end || q[1] != '\n'))) {
					nl++;
					if (!quoted) {
						q++;
						break;
					}
				}
			}
		}
		n = (size_t)(q - s);
		p->line = line;
		p->rec_off = (size_t)(s - p->text);
		p->rec_len = n;
		if (p->prev && p->have_header && reuse_row(p)) {
			line += nl;
			s = q;
			continue;
		}
		if (p->prev && !p->have_header && !same_header(p))
			p->prev = NULL; /* the columns may mean something else now */
		before = p->cfg->ncustomers;
		p->rec_nul = memchr(s, '\0', n) != NULL;
		done = csv_parse(&csv, s, n, on_field, on_row, p);
		/* a record that held several rows (should libcsv end a row where the cut above
		 * does not) cannot be reused as one customer: keep its rows out of the index */
		if (p->row && p->cfg->ncustomers - before > 1)
			for (size_t k = before; k < p->cfg->ncustomers; k++)
				p->row[k].len = 0;
		if (done != n && csv_error(&csv) == CSV_EPARSE) {
			/*
			 * A stray quote also misleads the record cut above: go on at the
			 * line after the error, not at the end of the "record".
			 */
			q = next_line(s + done, end);
			nl = count_nl(s, (size_t)(q - s));
			cerr(p, line + count_nl(s, done), NULL, "malformed CSV: %s",
			     "a stray quote (quote the field, double its quotes: \"a \"\"b\"\"\")");
			/* start afresh at the next record */
			csv_free(&csv);
			if (csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI)) {
				p->oom = 1;
				return;
			}
			p->nf = p->blen = 0;
			p->nul_field = SIZE_MAX; /* the broken row's NUL, if any, went with it */
		} else if (done != n) {
			p->oom = 1;
		}
		line += nl;
		s = q;
	}
	if (!p->oom && csv_fini(&csv, on_field, on_row, p))
		cerr(p, p->line, NULL, "a quoted field is not closed (a '\"' is missing)");
	csv_free(&csv);
	if (!p->have_header && !p->oom)
		cerr(p, 1, NULL,
		     "empty: the first row must name the columns (id,name,plan,prefixes,...)");
}

static int map_file(const char *path, const char **data, size_t *len, const char **kind)
{
	void *m;
	int fd, err;

	err = tg_open_regular(path, &fd, len, kind);
	if (err)
		return err;
	*data = "";
	if (*len) {
		m = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			err = -errno;
		} else {
			madvise(m, *len, MADV_SEQUENTIAL);
			*data = m;
		}
	}
	close(fd);
	return err;
}

/* The whole file in a malloc'd buffer: kept with the config (a mapping would change under
 * us if the file were rewritten in place). */
static int read_all(const char *path, char **data, size_t *len, const char **kind)
{
	size_t size, got = 0;
	int fd, err;

	err = tg_open_regular(path, &fd, &size, kind);
	if (err)
		return err;
	*data = malloc(size + 1);
	if (!*data) {
		close(fd);
		return -ENOMEM;
	}
	while (got < size) {
		ssize_t n = read(fd, *data + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n ? -errno : -EIO; /* shorter than fstat said: being rewritten */
			free(*data);
			*data = NULL;
			break;
		}
		got += (size_t)n;
	}
	*len = got;
	close(fd);
	return err;
}

int tg_customers_load(struct tg_cfg *cfg, const char *path, const struct tg_load_cache *prev,
		      struct tg_load_cache *lc, struct tg_errs *errs)
{
	struct cparse p = {.cfg = cfg, .file = path, .prev = prev, .nul_field = SIZE_MAX};
	const char *data = "", *kind = NULL;
	char *raw = NULL;
	size_t len = 0;
	int err;

	if (prev && (!prev->cfg || !prev->csv_raw || !prev->row || !prev->raw_ix.slot))
		p.prev = NULL;
	if (lc) {
		err = read_all(path, &raw, &len, &kind);
		data = raw ? raw : "";
	} else {
		err = map_file(path, &data, &len, &kind);
	}
	if (err && kind) {
		tg_errs_add(errs,
			    "%s:%d: customers: '%s' is %s, not a regular file: give the path of "
			    "the customers CSV",
			    cfg->path ? cfg->path : "tollgate.yaml", cfg->customers_line, path,
			    kind);
		return err;
	}
	if (err) {
		tg_errs_add(errs, "%s: cannot read the customers file: %s", path, strerror(-err));
		return err;
	}
	p.text = data;
	p.plans = malloc((cfg->nplans ? cfg->nplans : 1) * sizeof(*p.plans));
	if (!p.plans) {
		err = -ENOMEM;
		goto out_map;
	}
	for (size_t i = 0; i < cfg->nplans; i++)
		p.plans[i] = (struct plan_ix){cfg->plans[i].name, (int)i};
	if (cfg->nplans)
		qsort(p.plans, cfg->nplans, sizeof(*p.plans), cmp_plan);

	/* one row a line, near enough: no realloc copying 1M customers as the array grows */
	p.ccap = count_nl(data, len) + 1;
	if (p.ccap > (size_t)cfg->max_customers + 2)
		p.ccap = (size_t)cfg->max_customers + 2;
	cfg->customers = calloc(p.ccap, sizeof(*cfg->customers));
	/* the rows' bytes: for the cache made, and to say which rows a reload reused */
	if (lc || p.prev) {
		p.rowcap = p.ccap;
		p.row = malloc(p.rowcap * sizeof(*p.row));
	}
	if (!cfg->customers || ((lc || p.prev) && !p.row)) {
		free(p.plans);
		free(p.row);
		err = -ENOMEM;
		goto out_map;
	}
	tg_advise_huge(p.row, p.rowcap * sizeof(*p.row));
	/* a reload: the pools will be about as large as last time (growing them copies) */
	if (p.prev) {
		p.pfx_cap = prev->cfg->npfx_pool + prev->cfg->npfx_pool / 16 + 16;
		p.name_cap = prev->cfg->name_pool_len + prev->cfg->name_pool_len / 16 + 16;
		p.cappk = prev->npk + prev->npk / 16 + 16;
		cfg->pfx_pool = malloc(p.pfx_cap * sizeof(*cfg->pfx_pool));
		cfg->name_pool = malloc(p.name_cap);
		p.pk = malloc(p.cappk * sizeof(*p.pk));
		if (!cfg->pfx_pool || !cfg->name_pool || !p.pk) {
			p.oom = 1; /* parse_text does nothing */
			p.pfx_cap = p.name_cap = p.cappk = 0;
		}
		tg_advise_huge(cfg->pfx_pool, p.pfx_cap * sizeof(*cfg->pfx_pool));
		tg_advise_huge(cfg->name_pool, p.name_cap);
		tg_advise_huge(p.pk, p.cappk * sizeof(*p.pk));
	}
	tg_advise_huge(cfg->customers, p.ccap * sizeof(*cfg->customers));
	parse_text(&p, data, len);
	pools_resolve(&p);
	if (!p.oom && !(p.prev && p.nreused && no_new_duplicates(&p)))
		find_duplicates(&p);

	if (p.nerrs)
		qsort(p.errs, p.nerrs, sizeof(*p.errs), cmp_lerr);
	for (size_t i = 0; i < p.nerrs; i++) {
		tg_errs_add(errs, "%s", p.errs[i].msg);
		free(p.errs[i].msg);
	}
	err = p.oom ? -ENOMEM : p.nerrs ? -EINVAL : 0;

	free(p.errs);
	free(p.buf);
	free(p.off);
	free(p.tmp);
	free(p.plans);
	if (lc) {
		/* the rows, prefixes and their set: for the next load, if there is one */
		lc->row = p.row;
		lc->pk = p.pk;
		lc->npk = p.npk;
		lc->pks = p.pks;
		lc->csv_hdr_off = p.hdr_off;
		lc->csv_hdr_len = p.hdr_len;
		lc->rows_reused = p.nreused;
		lc->reused_from = p.nreused ? p.prev->cfg : NULL;
	} else {
		free(p.row);
		free(p.pk);
		tg_hset_free(&p.pks);
	}
out_map:
	if (raw) {
		lc->csv_raw = raw;
		lc->csv_len = len;
	} else if (len) {
		munmap((void *)data, len);
	}
	return err;
}
