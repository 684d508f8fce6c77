// SPDX-License-Identifier: GPL-2.0-only
/*
 * capture.c - arming the evidence sample in the data plane (see capture.h).
 */
#include <errno.h>
#include <bpf/bpf.h>

#include "capture.h"

int tg_cap_recount(const struct tg_maps *m)
{
	struct tg_config c;
	__u32 key, next, *prev = NULL, zero = 0, n = 0;

	while (!bpf_map_get_next_key(m->cap_arm, prev, &next)) {
		key = next;
		prev = &key;
		n++;
	}
	if (errno != ENOENT)
		return -errno;
	if (bpf_map_lookup_elem(m->config, &zero, &c))
		return -errno;
	if (c.cap_armed == n)
		return 0;
	c.cap_armed = n;
	return bpf_map_update_elem(m->config, &zero, &c, BPF_ANY) ? -errno : 0;
}

int tg_cap_arm_set(const struct tg_maps *m, uint32_t cust, const struct tg_cap_arm *a)
{
	if (cust == TG_CUST_NONE || cust >= m->max_cust)
		return -EINVAL;
	/* the entry before the count: the packet path looks only once the count says so */
	if (bpf_map_update_elem(m->cap_arm, &cust, a, BPF_ANY))
		return errno == E2BIG ? -ENOSPC : -errno;
	return tg_cap_recount(m);
}

int tg_cap_disarm(const struct tg_maps *m, uint32_t cust)
{
	if (bpf_map_delete_elem(m->cap_arm, &cust) && errno != ENOENT)
		return -errno;
	return tg_cap_recount(m);
}

int tg_cap_left(const struct tg_maps *m, uint32_t cust, int32_t *left)
{
	struct tg_cap_arm a;

	if (bpf_map_lookup_elem(m->cap_arm, &cust, &a))
		return -errno;
	*left = a.left;
	return 0;
}
