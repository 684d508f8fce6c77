// SPDX-License-Identifier: GPL-2.0-only
/*
 * units.c - the units a network engineer writes in tollgate.yaml and the customers CSV:
 * rates in bit/s (decimal prefixes, as on every datasheet), sizes in bytes (binary
 * prefixes), packet rates, durations, and IPv4/IPv6 prefixes. The arithmetic is integer
 * only, so "2.5g" is exactly 2500000000, and every overflow is an error, never a wrap.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "config.h"

struct unit {
	const char *sfx;
	uint64_t mult;
};

#define DEC_FRAC_MAX 18 /* fraction digits: 10^18 still fits in a u64 */

/*
 * Parse "DIGITS[.DIGITS]" at *s: *ip the integer part, *fp / *fscale the fraction. Advances
 * *s past the number. -EINVAL without a leading digit, with too many fraction digits, or
 * when the integer part overflows.
 */
static int parse_decimal(const char **s, uint64_t *ip, uint64_t *fp, uint64_t *fscale)
{
	const char *p = *s;
	uint64_t v = 0, f = 0, scale = 1;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
			return -EINVAL;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (int n = 0; *p >= '0' && *p <= '9'; p++, n++) {
			if (n == DEC_FRAC_MAX)
				return -EINVAL;
			f = f * 10 + (uint64_t)(*p - '0');
			scale *= 10;
		}
	}
	*s = p;
	*ip = v;
	*fp = f;
	*fscale = scale;
	return 0;
}

/* (ip + fp / fscale) * mult, truncated; -EINVAL on overflow. */
static int scale_decimal(uint64_t ip, uint64_t fp, uint64_t fscale, uint64_t mult, uint64_t *out)
{
	unsigned __int128 frac = (unsigned __int128)fp * mult / fscale;
	uint64_t v;

	if (__builtin_mul_overflow(ip, mult, &v) || frac > UINT64_MAX ||
	    __builtin_add_overflow(v, (uint64_t)frac, &v))
		return -EINVAL;
	*out = v;
	return 0;
}

/* A number followed by exactly one of units' suffixes (case-insensitive). */
static int parse_scaled(const char *s, const struct unit *units, size_t nunits, uint64_t *out)
{
	uint64_t ip, fp, fscale;

	if (!s || parse_decimal(&s, &ip, &fp, &fscale))
		return -EINVAL;
	for (size_t i = 0; i < nunits; i++) {
		if (!strcasecmp(s, units[i].sfx))
			return scale_decimal(ip, fp, fscale, units[i].mult, out);
	}
	return -EINVAL;
}

static const struct unit rate_units[] = {
	{"", 1},
	{"bit", 1},
	{"bps", 1},
	{"k", 1000ull},
	{"kbit", 1000ull},
	{"kbps", 1000ull},
	{"m", 1000000ull},
	{"mbit", 1000000ull},
	{"mbps", 1000000ull},
	{"g", 1000000000ull},
	{"gbit", 1000000000ull},
	{"gbps", 1000000000ull},
	{"t", 1000000000000ull},
	{"tbit", 1000000000000ull},
	{"tbps", 1000000000000ull},
};

static const struct unit size_units[] = {
	{"", 1},
	{"b", 1},
	{"k", 1ull << 10},
	{"kb", 1ull << 10},
	{"kib", 1ull << 10},
	{"m", 1ull << 20},
	{"mb", 1ull << 20},
	{"mib", 1ull << 20},
	{"g", 1ull << 30},
	{"gb", 1ull << 30},
	{"gib", 1ull << 30},
};

static const struct unit pps_units[] = {
	{"", 1},	   {"pps", 1},	      {"k", 1000ull},
	{"kpps", 1000ull}, {"m", 1000000ull}, {"mpps", 1000000ull},
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int tg_parse_rate_bps(const char *s, uint64_t *bps)
{
	uint64_t v;

	if (parse_scaled(s, rate_units, ARRAY_SIZE(rate_units), &v) || !v)
		return -EINVAL;
	*bps = v;
	return 0;
}

int tg_parse_size_bytes(const char *s, uint64_t *bytes)
{
	uint64_t v;

	if (parse_scaled(s, size_units, ARRAY_SIZE(size_units), &v))
		return -EINVAL;
	*bytes = v;
	return 0;
}

int tg_parse_pps(const char *s, uint64_t *pps)
{
	uint64_t v;

	if (parse_scaled(s, pps_units, ARRAY_SIZE(pps_units), &v) || !v)
		return -EINVAL;
	*pps = v;
	return 0;
}

/* Longest suffixes first, so "ms" is not read as "m" followed by garbage. */
static const struct unit dur_units[] = {
	{"ns", 1ull},
	{"us", 1000ull},
	{"ms", 1000000ull},
	{"s", 1000000000ull},
	{"m", 60ull * 1000000000ull},
	{"h", 3600ull * 1000000000ull},
	{"d", 86400ull * 1000000000ull},
};

int tg_parse_duration_ns(const char *s, uint64_t *ns)
{
	uint64_t total = 0, last = UINT64_MAX;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		const struct unit *u = NULL;
		uint64_t ip, fp, fscale, v;

		if (parse_decimal(&s, &ip, &fp, &fscale))
			return -EINVAL;
		for (size_t i = 0; i < ARRAY_SIZE(dur_units); i++) {
			size_t n = strlen(dur_units[i].sfx);

			/* "1m30s": the unit ends at the next digit or at the end */
			if (!strncmp(s, dur_units[i].sfx, n) &&
			    (!s[n] || (s[n] >= '0' && s[n] <= '9'))) {
				u = &dur_units[i];
				s += n;
				break;
			}
		}
		/* a unit is required; "1h30m" but not "30m1h" or "1m1m" */
		if (!u || u->mult >= last)
			return -EINVAL;
		last = u->mult;
		if (scale_decimal(ip, fp, fscale, u->mult, &v) ||
		    __builtin_add_overflow(total, v, &total))
			return -EINVAL;
	}
	*ns = total;
	return 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int tg_parse_prefix(const char *s, struct tg_prefix *p, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash;
	unsigned int plen, max;
	struct tg_prefix r;
	size_t alen;
	bool host_bits = false;

	if (!s || !*s) {
		set_err(err, errlen, "empty prefix");
		return -EINVAL;
	}
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (!alen || alen >= sizeof(addr)) {
		set_err(err, errlen, "'%s': not an IPv4 or IPv6 prefix", s);
		return -EINVAL;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';

	memset(&r, 0, sizeof(r));
	r.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	max = r.family == AF_INET ? 32 : 128;
	if (inet_pton(r.family, addr, r.addr) != 1) {
		set_err(err, errlen, "'%s': '%s' is not an %s address", s, addr,
			r.family == AF_INET ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	plen = max;
	if (slash) {
		const char *q = slash + 1;

		plen = 0;
		if (!*q || strlen(q) > 3 || strspn(q, "0123456789") != strlen(q)) {
			set_err(err, errlen, "'%s': prefix length '%s' is not a number", s, q);
			return -EINVAL;
		}
		for (; *q; q++)
			plen = plen * 10 + (unsigned int)(*q - '0');
		if (plen > max) {
			set_err(err, errlen, "'%s': prefix length %u out of range (%s: 0..%u)", s,
				plen, r.family == AF_INET ? "IPv4" : "IPv6", max);
			return -EINVAL;
		}
	}
	r.plen = (uint8_t)plen;
	for (unsigned int i = 0; i < max / 8; i++) {
		unsigned int keep = plen >= (i + 1) * 8 ? 8 : plen > i * 8 ? plen - i * 8 : 0;
		uint8_t mask = (uint8_t)(0xff00u >> keep);

		if (r.addr[i] & ~mask) {
			host_bits = true;
			r.addr[i] &= mask;
		}
	}
	if (host_bits) {
		char fix[INET6_ADDRSTRLEN + 4];

		tg_format_prefix(&r, fix, sizeof(fix));
		set_err(err, errlen, "'%s': host bits set (the network is %s)", s, fix);
		return -EINVAL;
	}
	*p = r;
	return 0;
}

void tg_format_prefix(const struct tg_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, p->plen);
}

void tg_format_rate(uint64_t bps, char *buf, size_t len)
{
	static const struct unit units[] = {
		{"tbit", 1000000000000ull},
		{"gbit", 1000000000ull},
		{"mbit", 1000000ull},
		{"kbit", 1000ull},
	};

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		uint64_t m = units[i].mult, whole = bps / m, frac = bps % m;
		char dec[8];
		int n;

		/*
		 * At most three decimals, only exact ones (the text parses back to bps), and
		 * none in kbit: "1234567bit" reads better than "1234.567kbit".
		 */
		if (!whole || frac % (m / 1000) || (m == 1000 && frac))
			continue;
		frac /= m / 1000;
		n = snprintf(dec, sizeof(dec), ".%03u", (unsigned int)frac);
		while (n > 1 && dec[n - 1] == '0')
			dec[--n] = '\0';
		snprintf(buf, len, "%llu%s%s", (unsigned long long)whole, n > 1 ? dec : "",
			 units[i].sfx);
		return;
	}
	snprintf(buf, len, "%llubit", (unsigned long long)bps);
}

/* ---- what a customer may hold ---- */

#define BYTES4(v) (uint8_t)((v) >> 24), (uint8_t)((v) >> 16), (uint8_t)((v) >> 8), (uint8_t)(v)
#define BYTES8(v) BYTES4((v) >> 32), BYTES4(v)
#define NEVER4(net, len, name) {{AF_INET, len, {BYTES4(net)}}, name},
#define NEVER6(hi, lo, len, name) {{AF_INET6, len, {BYTES8(hi), BYTES8(lo)}}, name},

/*
 * Space no customer can hold: the data plane's bogon sources (tollgate_kern_user.h), and
 * link-local space, which is never routed to a customer (the data plane lets IPv6 link-local
 * sources through only as the named exceptions: neighbour discovery, DHCPv6, MLD).
 * Documentation, benchmarking, private (RFC 1918), shared (100.64.0.0/10) and unique local
 * space are not here: ISPs and labs do assign them.
 */
static const struct {
	struct tg_prefix p;
	const char *name;
} never[] = {TG_BOGON4_LIST(NEVER4) NEVER4(0xa9fe0000u, 16, "link-local") TG_BOGON6_LIST(NEVER6)
		     NEVER6(0xfe80000000000000ull, 0x0ull, 10, "link-local")};

/* Do a and b share an address (is one inside the other)? */
static bool overlaps(const struct tg_prefix *a, const struct tg_prefix *b)
{
	unsigned int n = a->plen < b->plen ? a->plen : b->plen;

	if (a->family != b->family || memcmp(a->addr, b->addr, n / 8))
		return false;
	return !(n % 8) || !((a->addr[n / 8] ^ b->addr[n / 8]) & (0xff00u >> (n % 8)));
}

int tg_prefix_refused(const struct tg_prefix *p, bool allow_short, char *err, size_t errlen)
{
	bool v4 = p->family == AF_INET;
	unsigned int min = v4 ? TG_PREFIX_MIN_LEN4 : TG_PREFIX_MIN_LEN6;
	char txt[INET6_ADDRSTRLEN + 4], bad[INET6_ADDRSTRLEN + 4], list[256] = "";

	for (size_t i = 0; i < ARRAY_SIZE(never); i++) {
		if (!overlaps(p, &never[i].p))
			continue;
		tg_format_prefix(p, txt, sizeof(txt));
		for (size_t j = 0; j < ARRAY_SIZE(never); j++) {
			if (never[j].p.family != p->family)
				continue;
			tg_format_prefix(&never[j].p, bad, sizeof(bad));
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 list[0] ? ", " : "", bad);
		}
		tg_format_prefix(&never[i].p, bad, sizeof(bad));
		set_err(err, errlen, "%s %s %s (%s): no customer can hold it (refused: %s)", txt,
			p->plen <= never[i].p.plen ? "contains" : "is inside", bad, never[i].name,
			list);
		return -EINVAL;
	}
	if (p->plen < min && !allow_short) {
		tg_format_prefix(p, txt, sizeof(txt));
		set_err(err, errlen,
			"%s is shorter than /%u, which no customer holds: a typo? (if it is meant, "
			"set allow_short_prefixes: true in tollgate.yaml)",
			txt, min);
		return -EINVAL;
	}
	return 0;
}

/* ---- what the policers can hold ---- */

#define FNS16_PER_BYTE_1BPS (8000000000ull << 16) /* one byte at 1 bit/s: 8 s, in 2^-16 ns */
#define FNS_PER_PKT_1PPS (1000000000ull << 8)	  /* one packet at 1 packet/s: 1 s, in 2^-8 ns */

/* ceil(k / v), v > 0, without the overflow of (k + v - 1) / v */
static uint64_t div_up(uint64_t k, uint64_t v)
{
	return k / v + (k % v != 0);
}

uint64_t tg_gcra_ipb_fns16(uint64_t rate_bps)
{
	return rate_bps ? div_up(FNS16_PER_BYTE_1BPS, rate_bps) : 0;
}

uint64_t tg_gcra_ipp_fns(uint64_t pps)
{
	return pps ? div_up(FNS_PER_PKT_1PPS, pps) : 0;
}

uint64_t tg_burst_max_bytes(uint64_t rate_bps)
{
	uint64_t ipb = tg_gcra_ipb_fns16(rate_bps);
	unsigned __int128 m;

	if (!ipb)
		return UINT64_MAX;
	/* the largest burst with burst * ipb >> 8 <= TG_GCRA_TOL_MAX_FNS */
	m = ((((unsigned __int128)TG_GCRA_TOL_MAX_FNS + 1) << 8) - 1) / ipb;
	return m > UINT64_MAX ? UINT64_MAX : (uint64_t)m;
}

uint64_t tg_pkt_burst_max(uint64_t pps)
{
	uint64_t ipp = tg_gcra_ipp_fns(pps);

	return ipp ? TG_GCRA_TOL_MAX_FNS / ipp : UINT64_MAX;
}

uint64_t tg_gcra_rate_bps(uint64_t ipb_fns16)
{
	uint64_t lo, hi;

	if (!ipb_fns16)
		return 0;
	/* every rate r with ceil(K / r) == ipb: K / ipb <= r < K / (ipb - 1) */
	lo = div_up(FNS16_PER_BYTE_1BPS, ipb_fns16);
	hi = ipb_fns16 > 1 ? div_up(FNS16_PER_BYTE_1BPS, ipb_fns16 - 1) : UINT64_MAX;
	for (uint64_t p = 1000000000000000000ull; p > 1; p /= 10) {
		unsigned __int128 r = (unsigned __int128)div_up(lo, p) * p;

		if (r < hi)
			return (uint64_t)r;
	}
	return lo;
}

uint64_t tg_gcra_burst_bytes(uint64_t ipb_fns16, uint64_t tol_fns)
{
	unsigned __int128 b;

	if (!ipb_fns16)
		return 0;
	/* the smallest burst with burst * ipb >> 8 == tol: the only one while ipb > 2^8 */
	b = (((unsigned __int128)tol_fns << 8) + ipb_fns16 - 1) / ipb_fns16;
	return b > UINT64_MAX ? UINT64_MAX : (uint64_t)b;
}

uint64_t tg_rate_held(uint64_t bps)
{
	return tg_gcra_rate_bps(tg_gcra_ipb_fns16(bps));
}

int tg_check_rate(const char *s, uint64_t bps, char *err, size_t errlen)
{
	char lim[32];

	if (bps < TG_RATE_MIN_BPS) {
		tg_format_rate(TG_RATE_MIN_BPS, lim, sizeof(lim));
		set_err(err, errlen, "'%s' is below %s, the lowest rate a policer takes", s, lim);
		return -ERANGE;
	}
	if (bps > TG_RATE_MAX_BPS) {
		tg_format_rate(TG_RATE_MAX_BPS, lim, sizeof(lim));
		set_err(err, errlen,
			"'%s' is above %s, the highest rate a policer holds exactly (its interval "
			"per byte, in 2^-16 ns, would round by up to 0.1 %% or more)",
			s, lim);
		return -ERANGE;
	}
	if (tg_rate_held(bps) != bps) {
		tg_format_rate(tg_rate_held(bps), lim, sizeof(lim));
		set_err(err, errlen,
			"'%s' is finer than a policer tells apart at this rate: write %s, which it "
			"holds exactly (or a rate with fewer digits)",
			s, lim);
		return -ERANGE;
	}
	return 0;
}
