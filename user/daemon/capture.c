// SPDX-License-Identifier: GPL-2.0-only
/*
 * capture.c - tollgated's evidence samples: arming, reading the ring buffer, storing (see
 * capture.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.h"
#include "lib/lib.h"

struct cap_slot {
	uint64_t tag; /* 0: free */
	uint32_t cust;
	uint32_t want, got;
	int64_t started_ms; /* tg_mono_ms */
	char evid[TG_EVID_LEN];
};

struct tg_capturer {
	const struct tg_maps *m;
	struct tg_statedb *st;
	struct ring_buffer *rb;
	uint64_t next_tag;
	struct cap_slot slot[TG_CAP_ARMS];
};

static struct cap_slot *slot_of_cust(struct tg_capturer *c, uint32_t cust)
{
	for (size_t i = 0; i < TG_CAP_ARMS; i++)
		if (c->slot[i].tag && c->slot[i].cust == cust)
			return &c->slot[i];
	return NULL;
}

static struct cap_slot *slot_of_tag(struct tg_capturer *c, uint64_t tag)
{
	for (size_t i = 0; i < TG_CAP_ARMS; i++)
		if (c->slot[i].tag == tag)
			return &c->slot[i];
	return NULL;
}

/* End a capture: its entry out of the data plane, the slot free. */
static void end_capture(struct tg_capturer *c, struct cap_slot *s, const char *why)
{
	int lock = tg_maps_lock(c->m), err;

	err = tg_cap_disarm(c->m, s->cust);
	tg_maps_unlock(lock);
	if (err)
		tg_warn("capture for event %s: cannot disarm it (%s): the data plane goes on "
			"looking until the next start",
			s->evid, strerror(-err));
	tg_info("capture for event %s: %u of %u packets stored (%s)", s->evid, s->got, s->want,
		why);
	s->tag = 0;
}

/* Unix microseconds of a CLOCK_MONOTONIC ns timestamp (the data plane's). */
static int64_t wall_us(uint64_t mono_ns)
{
	struct timespec w, m;

	clock_gettime(CLOCK_REALTIME, &w);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)w.tv_sec * 1000000 + w.tv_nsec / 1000) -
	       ((int64_t)m.tv_sec * 1000000 + m.tv_nsec / 1000) + (int64_t)(mono_ns / 1000);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct tg_capturer *c = ctx;
	const struct tg_cap_rec *r = data;
	struct cap_slot *s;
	int err;

	if (size < sizeof(*r))
		return 0;
	s = slot_of_tag(c, r->tag);
	if (!s || !r->tag || s->got >= s->want)
		return 0; /* a capture that ended (or of an earlier tollgated): no event to keep it */
	err = tg_state_capture_add(c->st, s->evid, s->got, wall_us(r->ts_ns), r->wirelen, r->data,
				   r->caplen > TG_CAP_SNAPLEN ? TG_CAP_SNAPLEN : r->caplen);
	if (err) {
		tg_warn("capture for event %s: packet %u not stored (state database: %s)", s->evid,
			s->got + 1, strerror(-err));
		return 0;
	}
	if (++s->got >= s->want)
		end_capture(c, s, "complete");
	return 0;
}

int tg_capturer_open(const struct tg_maps *m, struct tg_statedb *st, struct tg_capturer **out)
{
	struct tg_capturer *c = calloc(1, sizeof(*c));
	__u32 next;
	int err, lock;

	if (!c)
		return -ENOMEM;
	c->m = m;
	c->st = st;
	/* tags of this run start above any of an earlier one's: its late records are not ours */
	c->next_tag = (uint64_t)tg_now_ms() << 16;
	lock = tg_maps_lock(m);
	while (!bpf_map_get_next_key(m->cap_arm, NULL, &next))
		if (bpf_map_delete_elem(m->cap_arm, &next))
			break;
	err = tg_cap_recount(m);
	tg_maps_unlock(lock);
	if (err) {
		free(c);
		return err;
	}
	c->rb = ring_buffer__new(m->cap_ring, on_record, c, NULL);
	if (!c->rb) {
		err = -errno;
		free(c);
		return err;
	}
	*out = c;
	return 0;
}

void tg_capturer_close(struct tg_capturer *c)
{
	if (!c)
		return;
	/* what came up, then no arm left behind: while tollgated is down nothing would take
	 * the records, and an armed count sends every packet into tg_cap_take */
	tg_capturer_read(c);
	for (size_t i = 0; i < TG_CAP_ARMS; i++)
		if (c->slot[i].tag)
			end_capture(c, &c->slot[i], "tollgated stops");
	ring_buffer__free(c->rb);
	free(c);
}

int tg_capturer_fd(const struct tg_capturer *c)
{
	return c && c->rb ? ring_buffer__epoll_fd(c->rb) : -1;
}

void tg_capturer_read(struct tg_capturer *c)
{
	if (c && c->rb)
		ring_buffer__consume(c->rb);
}

/* Unix microseconds of the start of today, UTC. */
static int64_t today_us(void)
{
	int64_t s = tg_now_ms() / 1000;

	return (s - s % 86400) * 1000000;
}

long tg_capturer_room(struct tg_capturer *c, const struct tg_capture_cfg *cfg)
{
	long used;

	if (!c || !cfg)
		return -EINVAL;
	if (!cfg->enabled)
		return -EPERM;
	/* stored today, and what running captures may still bring */
	used = tg_state_capture_count(c->st, today_us());
	if (used < 0)
		return used;
	for (size_t i = 0; i < TG_CAP_ARMS; i++)
		if (c->slot[i].tag)
			used += c->slot[i].want - c->slot[i].got;
	if ((uint64_t)used >= cfg->per_day)
		return -EDQUOT;
	if (!slot_of_tag(c, 0))
		return -ENOSPC;
	return (long)(cfg->per_day - (uint64_t)used);
}

int tg_capturer_arm(struct tg_capturer *c, const struct tg_capture_cfg *cfg, uint32_t cust,
		    const char *evid, uint32_t n)
{
	struct tg_cap_arm a = {.match = TG_CAP_PASS | TG_CAP_DROP,
			       .dirs = 1u << TG_DIR_UP | 1u << TG_DIR_DOWN};
	struct cap_slot *s;
	long room;
	int lock, err;

	if (!c || !cfg || !evid || strlen(evid) >= TG_EVID_LEN || cust == TG_CUST_NONE ||
	    n > TG_CAP_MAX_PACKETS)
		return -EINVAL;
	if (!cfg->enabled)
		return -EPERM;
	if (!n)
		n = cfg->packets;
	s = slot_of_cust(c, cust);
	if (s)
		end_capture(c, s, "replaced by a new capture");
	room = tg_capturer_room(c, cfg);
	if (room < 0)
		return (int)room;
	if (n > room)
		n = (uint32_t)room;
	s = slot_of_tag(c, 0);
	a.tag = ++c->next_tag;
	a.left = (int32_t)n;
	lock = tg_maps_lock(c->m);
	err = tg_cap_arm_set(c->m, cust, &a);
	tg_maps_unlock(lock);
	if (err)
		return err;
	*s = (struct cap_slot){.tag = a.tag, .cust = cust, .want = n, .started_ms = tg_mono_ms()};
	snprintf(s->evid, sizeof(s->evid), "%s", evid);
	tg_info("capture for event %s: armed for %u packets", evid, n);
	return (int)n;
}

void tg_capturer_tick(struct tg_capturer *c, const struct tg_capture_cfg *cfg, int64_t mono_ms)
{
	if (!c)
		return;
	tg_capturer_read(c);
	for (size_t i = 0; i < TG_CAP_ARMS; i++) {
		struct cap_slot *s = &c->slot[i];

		if (!s->tag)
			continue;
		if (!cfg || !cfg->enabled)
			end_capture(c, s, "capture.enabled is false");
		else if (mono_ms - s->started_ms >= TG_CAP_TIMEOUT_MS)
			end_capture(c, s, "timed out");
	}
}
