// SPDX-License-Identifier: GPL-2.0-only
/*
 * util.c - small helpers more than one part of userspace needs (util.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "util.h"

int tg_mkdir_parent(const char *path, mode_t mode)
{
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, mode) == 0)
		return 1;
	return errno == EEXIST ? 0 : -errno;
}

int64_t tg_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
