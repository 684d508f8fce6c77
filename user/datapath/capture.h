/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * capture.h - arming the data plane's evidence sample (bpf/capture_kern.h): an entry per
 * customer in tg_cap_arm, and tg_config.cap_armed, the count of entries, which is all the
 * packet path reads while nothing is armed. The records come back through tg_cap_ring
 * (a libbpf ring_buffer on m->cap_ring); tollgated stores them (user/daemon/capture.c).
 *
 * Callers hold the writers' lock (tg_maps_lock): tg_config is written by read-modify-write.
 *
 * Included by: datapath.h (the door), capture.c; the tests. Includes: maps.h.
 */
#ifndef TG_DP_CAPTURE_H
#define TG_DP_CAPTURE_H

#include "maps.h"

/* Arm (or re-arm) customer index cust: its entry, then the count. 0 or -errno (-ENOSPC:
 * TG_CAP_ARMS customers are armed already; nothing changed). */
int tg_cap_arm_set(const struct tg_maps *m, uint32_t cust, const struct tg_cap_arm *a);
/* Disarm cust (no entry: nothing to do), then recount. 0 or -errno. */
int tg_cap_disarm(const struct tg_maps *m, uint32_t cust);
/* Set tg_config.cap_armed to the number of entries of tg_cap_arm. 0 or -errno. */
int tg_cap_recount(const struct tg_maps *m);
/* How many packets cust's entry has still to hand up (<= 0: done), or -ENOENT. */
int tg_cap_left(const struct tg_maps *m, uint32_t cust, int32_t *left);

#endif /* TG_DP_CAPTURE_H */
