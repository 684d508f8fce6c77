// SPDX-License-Identifier: GPL-2.0-only
/*
 * clock.c - the daemon's two clocks, in one file so a test build can link a stand-in
 * (tests/integration/clock_step.c steps the wall clock without touching the host's).
 *
 * tg_now_ms, the wall clock (CLOCK_REALTIME), dates records: audit rows, the enforcement
 * table's since/until, the outbox. It steps when NTP or an operator sets the time.
 * tg_mono_ms (CLOCK_BOOTTIME) measures every duration: rules' for/clear_after/duration,
 * suspend --for, notification retries, the rates' intervals. It never steps; unlike
 * CLOCK_MONOTONIC it keeps counting while the machine sleeps, so a "suspend --for 1h"
 * lasts an hour of real time even across a suspend-to-RAM of the host.
 */
#include <time.h>

#include "util.h"

static int64_t ms_of(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int64_t tg_now_ms(void)
{
	return ms_of(CLOCK_REALTIME);
}

int64_t tg_mono_ms(void)
{
	return ms_of(CLOCK_BOOTTIME);
}
