// SPDX-License-Identifier: GPL-2.0-only
/*
 * privs.c - tollgated's capabilities after start-up (privs.h): capset(2) and prctl(2),
 * no library.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "privs.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static const int keep[] = {CAP_BPF,    CAP_NET_ADMIN, CAP_SETUID,
			   CAP_SETGID, CAP_KILL,      CAP_DAC_READ_SEARCH};

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int n = 40;

	if (f) {
		if (fscanf(f, "%d", &n) != 1 || n < 0 || n > 63)
			n = 40;
		fclose(f);
	}
	return n;
}

int tg_drop_privileges(char *err, size_t errlen)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {};
	uint64_t want = 0, eff, prm;
	int e;

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		want |= 1ULL << keep[i];
	if (syscall(SYS_capget, &h, d)) {
		e = -errno;
		snprintf(err, errlen, "capget: %s", strerror(-e));
		return e;
	}
	eff = d[0].effective | (uint64_t)d[1].effective << 32;
	prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	/* the bounding set first, while CAP_SETPCAP is still held (under systemd the unit's
	 * CapabilityBoundingSet already did it when CAP_SETPCAP is not in it) */
	if (eff & (1ULL << CAP_SETPCAP))
		for (int c = 0; c <= last_cap(); c++)
			if (!(want & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) &&
			    errno != EINVAL) {
				e = -errno;
				snprintf(err, errlen,
					 "dropping capability %d from the bounding set: %s", c,
					 strerror(-e));
				return e;
			}
	prm &= want;
	memset(d, 0, sizeof(d));
	d[0].permitted = d[0].effective = (uint32_t)prm;
	d[1].permitted = d[1].effective = (uint32_t)(prm >> 32);
	if (syscall(SYS_capset, &h, d)) {
		e = -errno;
		snprintf(err, errlen, "capset: %s", strerror(-e));
		return e;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return 0;
}
