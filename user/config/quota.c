// SPDX-License-Identifier: GPL-2.0-only
/*
 * quota.c - volume quotas: the volumes a plan's quota is written in ("2TB", "500GiB") and
 * the calendar arithmetic of its period (day, week, month; UTC), pure and on an explicit
 * clock, so the tests give it any date. The daemon keeps the usage (user/daemon/quota.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

#define MS_PER_DAY 86400000ll

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The date of a day since 1970-01-01 (civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int month_days(int64_t y, int m)
{
	static const int md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : md[m - 1];
}

/* The reset day of month m: reset, or the month's last day if it is shorter. */
static int64_t reset_day(int64_t y, int m, int reset)
{
	int md = month_days(y, m);

	return days_from_civil(y, m, reset < md ? reset : md);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t tg_quota_period_start(const struct tg_quota_cfg *q, int64_t wall_ms)
{
	int64_t day = floor_div(wall_ms, MS_PER_DAY), y, start;
	int m, d;

	switch (q->period) {
	case TG_QP_DAY:
		return day * MS_PER_DAY;
	case TG_QP_WEEK:
		/* 1970-01-01 was a Thursday: Monday-based weekday = (day + 3) mod 7 */
		start = day - ((day + 3) % 7 + 7) % 7 + q->reset;
		if (start > day)
			start -= 7;
		return start * MS_PER_DAY;
	default:
		civil_from_days(day, &y, &m, &d);
		start = reset_day(y, m, q->reset);
		if (start > day) { /* before this month's reset: the period began last month */
			if (--m == 0) {
				m = 12;
				y--;
			}
			start = reset_day(y, m, q->reset);
		}
		return start * MS_PER_DAY;
	}
}

int64_t tg_quota_period_end(const struct tg_quota_cfg *q, int64_t wall_ms)
{
	int64_t start = tg_quota_period_start(q, wall_ms), y;
	int m, d;

	switch (q->period) {
	case TG_QP_DAY:
		return start + MS_PER_DAY;
	case TG_QP_WEEK:
		return start + 7 * MS_PER_DAY;
	default:
		/* the next month's reset day (a reset on the 31st after a 30-day month's 30th
		 * is on the 31st of the next month that has one, else its last day) */
		civil_from_days(floor_div(start, MS_PER_DAY), &y, &m, &d);
		if (++m == 13) {
			m = 1;
			y++;
		}
		return reset_day(y, m, q->reset) * MS_PER_DAY;
	}
}

static const char *const period_names[] = {
	[TG_QP_DAY] = "day", [TG_QP_WEEK] = "week", [TG_QP_MONTH] = "month"};
static const char *const wday_names[7] = {"monday", "tuesday",	"wednesday", "thursday",
					  "friday", "saturday", "sunday"};

const char *tg_quota_period_name(int period)
{
	return period >= TG_QP_DAY && period <= TG_QP_MONTH ? period_names[period] : "?";
}

int tg_quota_parse_period(const char *s)
{
	for (int p = TG_QP_DAY; p <= TG_QP_MONTH; p++)
		if (!strcmp(s, period_names[p]))
			return p;
	return -1;
}

int tg_quota_parse_reset(int period, const char *s)
{
	char *end;
	long x;

	switch (period) {
	case TG_QP_DAY:
		return -1; /* a day starts at 00:00 UTC */
	case TG_QP_WEEK:
		for (int w = 0; w < 7; w++)
			if (!strcasecmp(s, wday_names[w]) ||
			    (strlen(s) == 3 && !strncasecmp(s, wday_names[w], 3)))
				return w;
		return -1;
	default:
		if (*s < '1' || *s > '9')
			return -1;
		errno = 0;
		x = strtol(s, &end, 10);
		return !errno && !*end && x >= 1 && x <= 31 ? (int)x : -1;
	}
}

const char *tg_quota_reset_name(const struct tg_quota_cfg *q, char *buf, size_t len)
{
	if (q->period == TG_QP_WEEK)
		snprintf(buf, len, "%s", wday_names[q->reset % 7]);
	else if (q->period == TG_QP_MONTH)
		snprintf(buf, len, "%d", q->reset);
	else
		snprintf(buf, len, "00:00");
	return buf;
}

int tg_parse_volume_bytes(const char *s, uint64_t *bytes)
{
	static const struct {
		const char *suf;
		uint64_t mul;
	} units[] = {
		{"", 1},
		{"b", 1},
		{"k", 1000ull},
		{"kb", 1000ull},
		{"m", 1000000ull},
		{"mb", 1000000ull},
		{"g", 1000000000ull},
		{"gb", 1000000000ull},
		{"t", 1000000000000ull},
		{"tb", 1000000000000ull},
		{"p", 1000000000000000ull},
		{"pb", 1000000000000000ull},
		{"kib", 1ull << 10},
		{"mib", 1ull << 20},
		{"gib", 1ull << 30},
		{"tib", 1ull << 40},
		{"pib", 1ull << 50},
	};
	size_t n = strspn(s, "0123456789"), f = 0;
	uint64_t whole = 0, frac = 0, scale = 1;

	if (!n || n > 19)
		return -EINVAL;
	if (s[n] == '.') {
		f = strspn(s + n + 1, "0123456789");
		if (!f || f > 6)
			return -EINVAL;
	}
	whole = strtoull(s, NULL, 10);
	for (size_t i = 0; i < f; i++) {
		frac = frac * 10 + (uint64_t)(s[n + 1 + i] - '0');
		scale *= 10;
	}
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		const char *rest = s + n + (f ? f + 1 : 0);

		if (strcasecmp(rest, units[u].suf))
			continue;
		if (f && units[u].mul == 1)
			return -EINVAL; /* a fraction of a byte */
		if (whole > UINT64_MAX / units[u].mul)
			return -EINVAL;
		*bytes = whole * units[u].mul + frac * (units[u].mul / scale);
		if (*bytes < whole * units[u].mul || !*bytes)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}
