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
