// SPDX-License-Identifier: GPL-2.0-only
/*
 * evid.c - event ids: globally unique, time-ordered, never reused (see state.h).
 *
 * An id is a UUIDv7 (RFC 9562) written in lower-case hex, 36 characters:
 *
 *   tttttttt-tttt-7sss-Rrrr-nnnnnnnnnnnn
 *   t: 48 bits, unix ms          s: 12 bits, a counter within the ms (RFC 9562 method 1)
 *   R: the variant (10) and 2 random bits, r: 12 more random bits
 *   n: 48 bits, the node part (tg_evid_node: a hash of the node's name)
 *
 * Within a node, ids strictly increase (as strings too: fixed width, lower-case hex): the
 * generator never goes below the last id it issued, also across restarts (tg_state seeds
 * it from the database), and when the wall clock steps back it keeps counting on the last
 * ms. Two nodes differ in the node part; should their names hash alike (2^-48 per pair),
 * the 14 random bits still tell two ids of the same ms and count apart.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "state.h"

#define EVID_SEQ_MAX 0xfffu

/* FNV-1a, 64 bits, folded to 48 (xor of the top 16 into the bottom). */
static uint64_t hash48(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return (h ^ (h >> 48)) & TG_EVID_NODE_MASK;
}

/* This machine's name for ids: /etc/machine-id, else the hostname. */
static void local_name(char *buf, size_t len)
{
	FILE *f = fopen("/etc/machine-id", "re");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = '\0';
		fclose(f);
		buf[strcspn(buf, "\r\n")] = '\0';
	}
	if (!buf[0] && gethostname(buf, len))
		snprintf(buf, len, "localhost");
	buf[len - 1] = '\0';
}

uint64_t tg_evid_node(const char *node_name)
{
	char buf[256];

	if (node_name && node_name[0])
		return hash48(node_name);
	local_name(buf, sizeof(buf));
	return hash48(buf);
}

static uint16_t random14(void)
{
	uint16_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint16_t)(ts.tv_nsec ^ (getpid() << 3));
	}
	return r & 0x3fff;
}

void tg_evid_format(int64_t ms, uint32_t seq, uint16_t rnd, uint64_t node, char out[TG_EVID_LEN])
{
	uint64_t t = (uint64_t)ms & 0xffffffffffffull;

	snprintf(out, TG_EVID_LEN, "%08llx-%04llx-7%03x-%04x-%012llx",
		 (unsigned long long)(t >> 16), (unsigned long long)(t & 0xffff),
		 seq & EVID_SEQ_MAX, (unsigned)(0x8000 | (rnd & 0x3fff)),
		 (unsigned long long)(node & TG_EVID_NODE_MASK));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int tg_evid_parse(const char *s, int64_t *ms, uint32_t *seq, uint64_t *node)
{
	uint64_t v[5] = {};
	static const int len[5] = {8, 4, 4, 4, 12};
	int g, i;

	if (!s || strlen(s) != TG_EVID_LEN - 1)
		return -EINVAL;
	for (g = 0; g < 5; g++) {
		for (i = 0; i < len[g]; i++) {
			int x = hexval(*s++);

			if (x < 0)
				return -EINVAL;
			v[g] = v[g] << 4 | (uint64_t)x;
		}
		if (g < 4 && *s++ != '-')
			return -EINVAL;
	}
	if (v[2] >> 12 != 7 || v[3] >> 14 != 2)
		return -EINVAL;
	if (ms)
		*ms = (int64_t)(v[0] << 16 | v[1]);
	if (seq)
		*seq = (uint32_t)(v[2] & EVID_SEQ_MAX);
	if (node)
		*node = v[4];
	return 0;
}

void tg_evid_seed(struct tg_evid_gen *g, const char *last)
{
	int64_t ms;
	uint32_t seq;

	if (tg_evid_parse(last, &ms, &seq, NULL))
		return;
	if (ms > g->last_ms || (ms == g->last_ms && seq > g->seq)) {
		g->last_ms = ms;
		g->seq = seq;
	}
}

void tg_evid_next(struct tg_evid_gen *g, int64_t now_ms, char out[TG_EVID_LEN])
{
	if (now_ms > g->last_ms) {
		g->last_ms = now_ms;
		g->seq = 0;
	} else if (g->seq < EVID_SEQ_MAX) {
		g->seq++; /* the same ms, or the clock stepped back: count on */
	} else {
		g->last_ms++; /* 4096 in one ms: borrow the next one */
		g->seq = 0;
	}
	tg_evid_format(g->last_ms, g->seq, random14(), g->node, out);
}
