// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_util.c - the scratch directory of the configuration fuzzers and the contract of
 * tg_config_load, checked after every input: 0 with a config and no message, or -errno with
 * at least one message and no config; and a config that loaded is one the map sync may
 * trust (every limit, reference, capacity and uniqueness rule of config.h holds); every
 * message names a line the file has, in line order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sanitizer/common_interface_defs.h>

#include "fuzz_util.h"

static char dir[256];

/* Only what fz_write put there: one level of plain files. */
static void remove_dir(void)
{
	struct dirent *de;
	DIR *d;

	if (!dir[0])
		return;
	d = opendir(dir);
	if (d) {
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(dirfd(d), de->d_name, 0);
		}
		closedir(d);
	}
	rmdir(dir);
	dir[0] = '\0';
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	remove_dir(); /* libFuzzer keeps the input itself; abort() skips atexit */
	abort();
}

const char *fz_dir(void)
{
	const char *bases[] = {getenv("TMPDIR"), "/dev/shm", "/tmp"};

	if (dir[0])
		return dir;
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if (!bases[i] || !*bases[i])
			continue;
		snprintf(dir, sizeof(dir), "%s/tg-fuzz.XXXXXX", bases[i]);
		if (mkdtemp(dir)) {
			atexit(remove_dir);
			/* an ASan or UBSan report ends the process without exit() */
			__sanitizer_set_death_callback(remove_dir);
			return dir;
		}
	}
	dir[0] = '\0';
	fail("cannot make a scratch directory under $TMPDIR, /dev/shm or /tmp: %s",
	     strerror(errno));
}

void fz_write(const char *name, const void *data, size_t len, char *path, size_t pathlen)
{
	const char *p = data;
	int fd;

	snprintf(path, pathlen, "%s/%s", fz_dir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		fail("%s: %s", path, strerror(errno));
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("%s: write: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	close(fd);
}

/* ---- the contract ---- */

static bool valid_vid(uint16_t v)
{
	return v >= 1 && v <= 4094;
}

static void check_prefix(const struct tg_prefix *p, const char *what)
{
	unsigned int max = p->family == AF_INET ? 32 : 128;

	if (p->family != AF_INET && p->family != AF_INET6)
		fail("%s: family %d", what, p->family);
	if (p->plen > max)
		fail("%s: prefix length %u over %u", what, p->plen, max);
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int keep = p->plen >= (i + 1) * 8 ? 8
				    : p->plen > i * 8	   ? p->plen - i * 8
							   : 0;
		uint8_t host = (uint8_t)(0xffu >> keep);

		if (i >= max / 8 ? p->addr[i] : p->addr[i] & host)
			fail("%s: host bits set in byte %u of /%u", what, i, p->plen);
	}
}

/*
 * A rate and burst the data plane holds (config.h): the rate in range, given back exactly by
 * `customer show`'s arithmetic, the tolerance within TG_GCRA_TOL_MAX_FNS, the burst given
 * back exactly too.
 */
static void check_held(uint64_t rate, uint64_t burst, const char *what)
{
	uint64_t ipb = tg_gcra_ipb_fns16(rate);
	unsigned __int128 tol = ((unsigned __int128)burst * ipb) >> 8;

	if (!rate)
		return;
	if (rate < TG_RATE_MIN_BPS || rate > TG_RATE_MAX_BPS)
		fail("%s: rate %llu out of range", what, (unsigned long long)rate);
	if (tg_gcra_rate_bps(ipb) != rate)
		fail("%s: rate %llu shown as %llu", what, (unsigned long long)rate,
		     (unsigned long long)tg_gcra_rate_bps(ipb));
	if (tol > TG_GCRA_TOL_MAX_FNS)
		fail("%s: burst %llu at %llu bit/s overflows the tolerance", what,
		     (unsigned long long)burst, (unsigned long long)rate);
	if (tg_gcra_burst_bytes(ipb, (uint64_t)tol) != burst)
		fail("%s: burst %llu shown as %llu", what, (unsigned long long)burst,
		     (unsigned long long)tg_gcra_burst_bytes(ipb, (uint64_t)tol));
}

static void check_pps(uint64_t pps, uint64_t burst, const char *what)
{
	if (pps > TG_PPS_MAX)
		fail("%s: %llu pps over the maximum", what, (unsigned long long)pps);
	if (pps &&
	    (unsigned __int128)(burst ? burst : pps) * tg_gcra_ipp_fns(pps) > TG_GCRA_TOL_MAX_FNS)
		fail("%s: burst %llu at %llu pps overflows the tolerance", what,
		     (unsigned long long)burst, (unsigned long long)pps);
}

/* A policer the data plane can run: a rate has a burst, a peak rate sits above the rate. */
static void check_rate(const struct tg_rate_cfg *r, const char *what)
{
	check_held(r->rate_bps, r->burst_bytes, what);
	check_held(r->peak_rate_bps, r->peak_burst_bytes, what);
	if (!r->rate_bps != !r->burst_bytes)
		fail("%s: rate %llu with burst %llu", what, (unsigned long long)r->rate_bps,
		     (unsigned long long)r->burst_bytes);
	if (r->burst_bytes && r->burst_bytes < TG_BURST_MIN_BYTES)
		fail("%s: burst %llu below one MTU", what, (unsigned long long)r->burst_bytes);
	if (!r->peak_rate_bps != !r->peak_burst_bytes)
		fail("%s: peak rate %llu with peak burst %llu", what,
		     (unsigned long long)r->peak_rate_bps, (unsigned long long)r->peak_burst_bytes);
	if (r->peak_rate_bps && (!r->rate_bps || r->peak_rate_bps < r->rate_bps))
		fail("%s: peak rate %llu below rate %llu", what,
		     (unsigned long long)r->peak_rate_bps, (unsigned long long)r->rate_bps);
	if (r->peak_burst_bytes && r->peak_burst_bytes < TG_BURST_MIN_BYTES)
		fail("%s: peak burst %llu below one MTU", what,
		     (unsigned long long)r->peak_burst_bytes);
}

static void check_ifaces(const struct tg_cfg *cfg)
{
	if (cfg->nifaces > TG_MAX_IFACES)
		fail("%zu interfaces", cfg->nifaces);
	for (size_t i = 0; i < cfg->nifaces; i++) {
		const struct tg_iface_cfg *ic = &cfg->ifaces[i];

		if (!ic->name[0] || !memchr(ic->name, '\0', sizeof(ic->name)))
			fail("interface %zu: bad name", i);
		if (ic->role != TG_ROLE_CUSTOMER && ic->role != TG_ROLE_UPSTREAM)
			fail("interface '%s': role %d", ic->name, ic->role);
		if (ic->mode != TG_MODE_NATIVE && ic->mode != TG_MODE_GENERIC)
			fail("interface '%s': mode %d", ic->name, ic->mode);
		if (ic->antispoof != TG_AS_STRICT && ic->antispoof != TG_AS_LOOSE &&
		    ic->antispoof != TG_AS_OFF)
			fail("interface '%s': antispoof %d", ic->name, ic->antispoof);
		if (ic->role == TG_ROLE_UPSTREAM && ic->antispoof != TG_AS_OFF)
			fail("upstream interface '%s' with antispoof", ic->name);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(cfg->ifaces[j].name, ic->name))
				fail("interface '%s' twice", ic->name);
		}
	}
}

static void check_plans(const struct tg_cfg *cfg)
{
	for (size_t i = 0; i < cfg->nplans; i++) {
		const struct tg_plan *p = &cfg->plans[i];

		if (!p->name[0] || !memchr(p->name, '\0', sizeof(p->name)))
			fail("plan %zu: bad name", i);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(cfg->plans[j].name, p->name))
				fail("plan '%s' twice", p->name);
		}
		check_rate(&p->dir[TG_DIR_UP], p->name);
		check_rate(&p->dir[TG_DIR_DOWN], p->name);
		{
			for (int k = 0; k < TG_FC_NR; k++)
				check_pps(p->flood.pps[k], p->flood.burst[k], p->name);
			if (p->flood.pps[TG_FC_SMTP] || p->flood.burst[TG_FC_SMTP])
				fail("plan '%s': an SMTP limit under flood:", p->name);
			if (p->smtp == TG_SMTP_LIMIT)
				check_pps(p->smtp_limit, 0, p->name);
		}
		if (p->smtp != TG_SMTP_ALLOW && p->smtp != TG_SMTP_BLOCK &&
		    !(p->smtp == TG_SMTP_LIMIT && p->smtp_limit))
			fail("plan '%s': smtp %d limit %u", p->name, p->smtp, p->smtp_limit);
	}
}

/*
 * An id as customers.c must keep it: UTF-8 (RFC 3629) without C0, DEL or C1 controls.
 * Decoded here by length and range, not by the parser's table.
 */
static void check_id(const char *id, int line)
{
	const unsigned char *s = (const unsigned char *)id;

	while (*s) {
		size_t n = *s < 0x80	   ? 1
			   : *s >> 5 == 6  ? 2
			   : *s >> 4 == 14 ? 3
			   : *s >> 3 == 30 ? 4
					   : 0;
		static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
		uint32_t cp = n == 1 ? *s : n ? *s & (0xffu >> (n + 1)) : 0;

		if (!n)
			fail("line %d: id byte 0x%02x starts no UTF-8 character", line, *s);
		for (size_t k = 1; k < n; k++) {
			if ((s[k] & 0xc0) != 0x80)
				fail("line %d: id: a UTF-8 character cut short", line);
			cp = cp << 6 | (s[k] & 0x3fu);
		}
		if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			fail("line %d: id: U+%04X is not UTF-8 in shortest form", line,
			     (unsigned int)cp);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			fail("line %d: control character U+%04X in the id", line, (unsigned int)cp);
		s += n;
	}
}

static void check_customer(const struct tg_cfg *cfg, const struct tg_customer *c)
{
	char why[256];

	if (c->line < 1)
		fail("customer on line %d", c->line);
	if (!c->id[0] || !memchr(c->id, '\0', sizeof(c->id)))
		fail("line %d: bad id", c->line);
	check_id(c->id, c->line);
	if (c->name && !c->name[0])
		fail("line %d: empty name kept", c->line);
	if (c->plan < 0 || (size_t)c->plan >= cfg->nplans)
		fail("line %d: plan %d of %zu", c->line, c->plan, cfg->nplans);
	if (!c->npfx || !c->pfx)
		fail("line %d: no prefix", c->line);
	for (size_t i = 0; i < c->npfx; i++) {
		check_prefix(&c->pfx[i], c->id);
		if (tg_prefix_refused(&c->pfx[i], cfg->allow_short_prefixes, why, sizeof(why)))
			fail("line %d: a prefix no customer may hold: %s", c->line, why);
	}
	for (int k = 0; k < TG_FC_OWN_NR; k++)
		check_pps(c->flood_pps[k], 0, c->id);
	if (c->iface[0]) {
		const struct tg_iface_cfg *ic = tg_config_iface(cfg, c->iface);

		if (!ic || ic->role != TG_ROLE_CUSTOMER)
			fail("line %d: bound to '%s', not a customer interface", c->line, c->iface);
	}
	/* empty: untagged (0.0); 100: 100.0; 100.200; 100.*: 100.ANY; *: ANY.ANY */
	if (c->vlan != TG_VLAN_UNTAGGED && c->vlan != TG_VLAN_ANY && !valid_vid(c->vlan))
		fail("line %d: vlan %u", c->line, c->vlan);
	if (c->ivlan != TG_VLAN_UNTAGGED && c->ivlan != TG_VLAN_ANY && !valid_vid(c->ivlan))
		fail("line %d: inner vlan %u", c->line, c->ivlan);
	if ((c->vlan == TG_VLAN_UNTAGGED && c->ivlan != TG_VLAN_UNTAGGED) ||
	    (c->vlan == TG_VLAN_ANY && c->ivlan != TG_VLAN_ANY))
		fail("line %d: inner vlan %u under %u", c->line, c->ivlan, c->vlan);
	if (c->vlan != TG_VLAN_UNTAGGED && !c->iface[0])
		fail("line %d: vlan %u without an interface", c->line, c->vlan);
	check_rate(&c->dir[TG_DIR_UP], c->id);
	check_rate(&c->dir[TG_DIR_DOWN], c->id);
}

static bool same_prefix(const struct tg_prefix *a, const struct tg_prefix *b)
{
	return a->family == b->family && a->plen == b->plen && !memcmp(a->addr, b->addr, 16);
}

static void check_customers(const struct tg_cfg *cfg)
{
	size_t npfx = 0;

	if (!cfg->max_customers || cfg->max_customers > TG_CAP_CUSTOMERS_MAX ||
	    !cfg->max_prefixes || cfg->max_prefixes > TG_CAP_PREFIXES_MAX)
		fail("capacity %u customers, %u prefixes", cfg->max_customers, cfg->max_prefixes);
	if (cfg->ncustomers > cfg->max_customers)
		fail("%zu customers over capacity %u", cfg->ncustomers, cfg->max_customers);
	for (size_t i = 0; i < cfg->ncustomers; i++) {
		const struct tg_customer *c = &cfg->customers[i];

		check_customer(cfg, c);
		npfx += c->npfx;
		/* quadratic, but a fuzz input holds a few hundred rows at most */
		for (size_t j = 0; j < i; j++) {
			const struct tg_customer *o = &cfg->customers[j];

			if (!strcmp(o->id, c->id))
				fail("id '%s' on lines %d and %d", c->id, o->line, c->line);
			for (size_t a = 0; a < c->npfx; a++) {
				for (size_t b = 0; b < o->npfx; b++) {
					if (same_prefix(&c->pfx[a], &o->pfx[b]))
						fail("a prefix on lines %d and %d", o->line,
						     c->line);
				}
			}
		}
		for (size_t a = 0; a < c->npfx; a++) {
			for (size_t b = 0; b < a; b++) {
				if (same_prefix(&c->pfx[a], &c->pfx[b]))
					fail("a prefix twice on line %d", c->line);
			}
		}
	}
	if (npfx > cfg->max_prefixes)
		fail("%zu prefixes over capacity %u", npfx, cfg->max_prefixes);
}

static void check_cfg(const struct tg_cfg *cfg)
{
	const char *pc = cfg->metrics_per_customer;

	if (!cfg->path || !cfg->customers_path || !cfg->metrics_listen || !pc || !cfg->state_path ||
	    !cfg->pin_dir)
		fail("a string of the config is NULL");
	if (strcmp(pc, "all") && strcmp(pc, "off") &&
	    (strncmp(pc, "top ", 4) || pc[4] < '1' || pc[4] > '9'))
		fail("metrics.per_customer '%s'", pc);
	if (cfg->pin_dir[0] != '/')
		fail("pin_dir '%s' is relative", cfg->pin_dir);
	check_ifaces(cfg);
	check_plans(cfg);
	for (size_t i = 0; i < cfg->nwalled; i++) {
		check_prefix(&cfg->walled_garden[i], "walled_garden");
		for (size_t j = 0; j < i; j++) {
			if (same_prefix(&cfg->walled_garden[i], &cfg->walled_garden[j]))
				fail("walled_garden entry %zu twice", i);
		}
	}
	check_customers(cfg);
}

void fz_check_load(int err, const struct tg_cfg *cfg, const struct tg_errs *errs)
{
	if (err > 0 || !err != !!cfg)
		fail("tg_config_load returned %d with config %p", err, (const void *)cfg);
	if (err && err != -ENOMEM && !errs->n)
		fail("tg_config_load returned %d (%s) without a message", err, strerror(-err));
	if (!err && errs->n)
		fail("tg_config_load returned 0 with %zu messages, the first: %s", errs->n,
		     errs->msg[0]);
	for (size_t i = 0; i < errs->n; i++) {
		if (!errs->msg[i] || !errs->msg[i][0])
			fail("message %zu is empty", i);
	}
	if (!err)
		check_cfg(cfg);
}

size_t fz_lines(const void *data, size_t len, bool yaml)
{
	const unsigned char *s = data;
	size_t n = 1;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			n++;
		else if (s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n'))
			n++; /* a bare CR: both count it */
		else if (!yaml)
			continue;
		else if (s[i] == 0xc2 && i + 1 < len && s[i + 1] == 0x85)
			n++;
		else if (s[i] == 0xe2 && i + 2 < len && s[i + 1] == 0x80 &&
			 (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
			n++;
	}
	return n;
}

void fz_check_lines(const struct tg_errs *errs, const char *path, const void *data, size_t len,
		    bool yaml)
{
	size_t plen = strlen(path), lines = fz_lines(data, len, yaml), last = 0;

	for (size_t i = 0; i < errs->n; i++) {
		const char *m = errs->msg[i];
		unsigned long long line;
		char *end;

		/* "PATH:LINE:..."; not "PATH: cannot read ..." */
		if (strncmp(m, path, plen) || m[plen] != ':' || m[plen + 1] < '0' ||
		    m[plen + 1] > '9')
			continue;
		line = strtoull(m + plen + 1, &end, 10);
		if (*end != ':' || !line || line > lines)
			fail("a message names line %llu of %zu: %s", line, lines, m);
		if (line < last)
			fail("a message for line %llu after one for line %zu: %s", line, last, m);
		last = (size_t)line;
	}
}
