// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_units.c - libFuzzer target: the unit parsers of units.c (rate, size, packet rate,
 * duration, prefix) on a NUL-terminated heap copy of the input, sized exactly so that ASan
 * sees any read past the terminator. Beyond memory errors and UB it checks what the parsers
 * promise: a failure leaves the output untouched, rates and packet rates are never zero, a
 * prefix error says something, and a formatted rate or prefix parses back to the same value.
 * Seeds: tests/fuzz/corpus/units.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "config/config.h"

#define SENTINEL 0x5a5a5a5a5a5a5a5aull
#define ERR_LEN 128 /* the minimum config.h asks of the caller */

static void fail(const char *what, const char *s, unsigned long long v)
{
	fprintf(stderr, "fuzz_units: %s (input '%s', value %llu)\n", what, s, v);
	abort();
}

/* A parser's result: 0 with a value, or -EINVAL with the value untouched. */
static void check_ret(const char *fn, int r, uint64_t v, const char *s)
{
	if (r != 0 && r != -EINVAL)
		fail(fn, s, (unsigned long long)r);
	if (r && v != SENTINEL)
		fail("failed but wrote the result", s, v);
}

/*
 * A rate tg_check_rate accepts is one the policer holds: `customer show` gives it back, the
 * delivered rate is within 0.1 % below it, and the largest burst it allows is the largest
 * whose tolerance fits TG_GCRA_TOL_MAX_FNS, given back exactly too.
 */
static void fuzz_held(const char *s, uint64_t v)
{
	const unsigned __int128 k = (unsigned __int128)8000000000ull << 16;
	char why[256] = "";
	uint64_t ipb, b;

	if (tg_check_rate(s, v, why, sizeof(why))) {
		if (!why[0])
			fail("rate refused without a message", s, v);
		return;
	}
	ipb = tg_gcra_ipb_fns16(v);
	if (tg_gcra_rate_bps(ipb) != v || tg_rate_held(v) != v)
		fail("accepted rate not given back", s, v);
	if ((unsigned __int128)ipb * v < k || k * 1000 < (unsigned __int128)ipb * v * 999)
		fail("accepted rate enforced more than 0.1 % off", s, v);
	b = tg_burst_max_bytes(v);
	if ((((unsigned __int128)b * ipb) >> 8) > TG_GCRA_TOL_MAX_FNS ||
	    (((unsigned __int128)(b + 1) * ipb) >> 8) <= TG_GCRA_TOL_MAX_FNS)
		fail("largest burst is not the largest that fits", s, b);
	if (tg_gcra_burst_bytes(ipb, (uint64_t)(((unsigned __int128)b * ipb) >> 8)) != b)
		fail("largest burst not given back", s, b);
}

static void fuzz_rate(const char *s)
{
	uint64_t v = SENTINEL, back = SENTINEL;
	char txt[64];
	int r = tg_parse_rate_bps(s, &v);

	check_ret("tg_parse_rate_bps", r, v, s);
	if (r)
		return;
	if (!v)
		fail("rate zero accepted", s, v);
	tg_format_rate(v, txt, sizeof(txt));
	if (tg_parse_rate_bps(txt, &back) || back != v) {
		fprintf(stderr, "fuzz_units: tg_format_rate wrote '%s'\n", txt);
		fail("formatted rate does not parse back", s, v);
	}
	fuzz_held(s, v);
}

static void fuzz_prefix(const char *s)
{
	struct tg_prefix p, back;
	char txt[INET6_ADDRSTRLEN + 4];
	char *err = malloc(ERR_LEN);
	int r;

	if (!err)
		abort();
	memset(&p, 0x5a, sizeof(p));
	err[0] = '\0';
	r = tg_parse_prefix(s, &p, err, ERR_LEN);
	if (r && (r != -EINVAL || !err[0] || !memchr(err, '\0', ERR_LEN)))
		fail("prefix error without a message", s, (unsigned long long)r);
	if (!r) {
		if (p.family != AF_INET && p.family != AF_INET6)
			fail("prefix of an unknown family", s, (unsigned long long)p.family);
		err[0] = '\0';
		r = tg_prefix_refused(&p, false, err, ERR_LEN);
		if (r && (r != -EINVAL || !err[0] || !memchr(err, '\0', ERR_LEN)))
			fail("prefix refused without a message", s, (unsigned long long)r);
		if (!r && p.plen < (p.family == AF_INET ? TG_PREFIX_MIN_LEN4 : TG_PREFIX_MIN_LEN6))
			fail("short prefix accepted", s, p.plen);
		if (!r && tg_prefix_refused(&p, true, err, ERR_LEN))
			fail("allow_short refuses what the default accepts", s, p.plen);
		r = 0;
		tg_format_prefix(&p, txt, sizeof(txt));
		if (tg_parse_prefix(txt, &back, err, ERR_LEN) || back.family != p.family ||
		    back.plen != p.plen || memcmp(back.addr, p.addr, sizeof(p.addr))) {
			fprintf(stderr, "fuzz_units: tg_format_prefix wrote '%s'\n", txt);
			fail("formatted prefix does not parse back", s, p.plen);
		}
	}
	free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint64_t v;
	int r;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	fuzz_rate(s);

	v = SENTINEL;
	r = tg_parse_size_bytes(s, &v);
	check_ret("tg_parse_size_bytes", r, v, s);

	v = SENTINEL;
	r = tg_parse_pps(s, &v);
	check_ret("tg_parse_pps", r, v, s);
	if (!r && !v)
		fail("packet rate zero accepted", s, v);

	v = SENTINEL;
	r = tg_parse_duration_ns(s, &v);
	check_ret("tg_parse_duration_ns", r, v, s);

	fuzz_prefix(s);
	free(s);
	return 0;
}
