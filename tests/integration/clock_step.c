// SPDX-License-Identifier: GPL-2.0-only
/*
 * clock_step.c - user/lib/clock.c for the test daemon build/tests/tollgated_clockstep: the
 * wall clock is the host's plus the milliseconds written in the file TG_TEST_WALL_STEP
 * names (read at every call; missing or empty: 0), so a test steps the daemon's wall clock
 * as NTP would without touching the host's. The monotonic clock is the real one. Never
 * linked into tollgated itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/util.h"

static int64_t ms_of(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int64_t tg_now_ms(void)
{
	const char *path = getenv("TG_TEST_WALL_STEP");
	long long step = 0;
	FILE *f = path ? fopen(path, "r") : NULL;

	if (f) {
		if (fscanf(f, "%lld", &step) != 1)
			step = 0;
		fclose(f);
	}
	return ms_of(CLOCK_REALTIME) + step;
}

int64_t tg_mono_ms(void)
{
	return ms_of(CLOCK_BOOTTIME);
}
