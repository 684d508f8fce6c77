/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * capture.h - tollgated's evidence samples (docs/enforcement.md, "Evidence"): it arms
 * the data plane (datapath/capture.h) for a customer's next packets when an action fires
 * or `tollgate capture` asks, reads what comes up through the ring buffer tg_cap_ring
 * (its fd in the daemon's event loop) and stores each packet with the event's id in the
 * state database (state.h, tg_state_capture_add), where `tollgate events show ID --pcap`
 * reads it. Bounded per capture (capture.packets, at most TG_CAP_MAX_PACKETS) and per
 * UTC day (capture.per_day: what is stored today plus what armed captures may still
 * bring); with capture.enabled false nothing is armed and what is armed is disarmed.
 *
 * A capture ends when its packets are in, after TG_CAP_TIMEOUT_MS, or when tollgated
 * stops (tg_capturer_close disarms what runs; what a crash leaves armed is cleared at the
 * next start: its records would have no event to go to).
 *
 * Included by: daemon.h (the door), capture.c, enforce.c, tollgated.c.
 */
#ifndef TG_DAEMON_CAPTURE_H
#define TG_DAEMON_CAPTURE_H

#include <stdint.h>

#include "config/config.h"
#include "datapath/datapath.h"
#include "state/state.h"

#define TG_CAP_TIMEOUT_MS (3600 * 1000ll) /* a capture still short of its packets ends */

struct tg_capturer;

/* On maps m (open) and the state database st (both outlive it): clears the arms a
 * previous tollgated left. 0 or -errno. */
int tg_capturer_open(const struct tg_maps *m, struct tg_statedb *st, struct tg_capturer **out);
void tg_capturer_close(struct tg_capturer *c);
/* The ring buffer's fd, for epoll (readable: records to read), or -1. */
int tg_capturer_fd(const struct tg_capturer *c);
/* Store every record that came up. */
void tg_capturer_read(struct tg_capturer *c);
/*
 * Arm a capture of customer index cust for the event evid: its next n packets (0: the
 * configuration's capture.packets), both directions, passed or dropped, within the day's
 * bound. Replaces a capture running for cust. The packets armed (> 0), or -errno:
 * -EPERM capture.enabled is false, -EDQUOT the day's bound is used up, -ENOSPC
 * TG_CAP_ARMS captures are running, -EINVAL a bad argument.
 */
int tg_capturer_arm(struct tg_capturer *c, const struct tg_capture_cfg *cfg, uint32_t cust,
		    const char *evid, uint32_t n);
/* The packets the day's bound leaves for a new capture (> 0), or -errno as
 * tg_capturer_arm's (before anything is recorded: `tollgate capture` checks first). */
long tg_capturer_room(struct tg_capturer *c, const struct tg_capture_cfg *cfg);
/* Every interval: end the captures past TG_CAP_TIMEOUT_MS (all of them when cfg says
 * disabled). */
void tg_capturer_tick(struct tg_capturer *c, const struct tg_capture_cfg *cfg, int64_t mono_ms);

#endif /* TG_DAEMON_CAPTURE_H */
