// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_capture.c - the evidence samples in the state database (user/state/capture.c): the
 * pcap file written for an event, byte for byte (file header, record headers, the bytes
 * kept, the length on the wire, the time), only that event's packets, in order; an event
 * without packets; the count of a day; a packet longer than the snapshot refused; the
 * purge with the audit log (older than the window, or of an event the purge took).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/state.h"
#include "testlib.h"

static char dir[] = "/tmp/tg-test-capture-XXXXXX";
static char path[256];

/* One event at ts_ms; its id in id. */
static int64_t act(struct tg_statedb *st, int64_t ts_ms, char id[TG_EVID_LEN])
{
	struct tg_event ev = {.ts_ms = ts_ms,
			      .customer = "cust-1",
			      .action = "capture",
			      .actor = "user:test",
			      .reason = "r"};
	int64_t n = tg_state_act(st, &ev, TG_ENF_KEEP, NULL, TG_EP_KEEP, NULL, NULL);

	snprintf(id, TG_EVID_LEN, "%s", tg_state_last_evid(st));
	return n;
}

static uint32_t u32_at(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void test_capture(void)
{
	const int64_t t0_ms = 1764421200000ll; /* 2025-11-29 13:00 UTC */
	struct tg_statedb *st = NULL;
	char err[256], e1[TG_EVID_LEN], e2[TG_EVID_LEN];
	unsigned char pkt[TG_CAP_SNAPLEN + 1], buf[4096];
	size_t len;
	FILE *f;

	for (size_t i = 0; i < sizeof(pkt); i++)
		pkt[i] = (unsigned char)i;
	TEST_BEGIN("capture: packets stored with their events");
	CHECK(tg_state_open(path, &st, err, sizeof(err)) == 0);
	if (!st)
		return;
	CHECK(act(st, t0_ms, e1) > 0);
	CHECK(act(st, t0_ms + 1, e2) > 0);
	CHECK(tg_state_capture_add(st, e1, 0, t0_ms * 1000 + 5, 1500, pkt, TG_CAP_SNAPLEN) == 0);
	CHECK(tg_state_capture_add(st, e2, 0, t0_ms * 1000 + 6, 60, pkt, 60) == 0);
	CHECK(tg_state_capture_add(st, e1, 1, t0_ms * 1000 + 1000007, 20, pkt + 1, 20) == 0);
	CHECK_EQ_U64(tg_state_capture_packets(st, e1), 2);
	CHECK_EQ_U64(tg_state_capture_packets(st, e2), 1);
	CHECK_EQ_U64(tg_state_capture_count(st, t0_ms * 1000), 3);
	CHECK_EQ_U64(tg_state_capture_count(st, t0_ms * 1000 + 7), 1);

	TEST_BEGIN("capture: more than the snapshot, or more than the wire length: refused");
	CHECK(tg_state_capture_add(st, e1, 2, t0_ms * 1000, 1500, pkt, TG_CAP_SNAPLEN + 1) ==
	      -EINVAL);
	CHECK(tg_state_capture_add(st, e1, 2, t0_ms * 1000, 10, pkt, 20) == -EINVAL);
	CHECK_EQ_U64(tg_state_capture_packets(st, e1), 2);

	TEST_BEGIN("capture: the pcap of an event, byte for byte");
	f = fmemopen(buf, sizeof(buf), "w");
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ_U64(tg_state_capture_pcap(st, e1, f), 2);
		len = (size_t)ftell(f);
		fclose(f);
		CHECK_EQ_U64(len, 24 + 16 + TG_CAP_SNAPLEN + 16 + 20);
		CHECK_EQ_U64(u32_at(buf), 0xa1b2c3d4u);
		CHECK(buf[4] == 2 && buf[5] == 0 && buf[6] == 4 && buf[7] == 0); /* v2.4 */
		CHECK_EQ_U64(u32_at(buf + 16), TG_CAP_SNAPLEN);
		CHECK_EQ_U64(u32_at(buf + 20), 1); /* LINKTYPE_ETHERNET */
		CHECK_EQ_U64(u32_at(buf + 24), t0_ms / 1000);
		CHECK_EQ_U64(u32_at(buf + 28), 5);
		CHECK_EQ_U64(u32_at(buf + 32), TG_CAP_SNAPLEN);
		CHECK_EQ_U64(u32_at(buf + 36), 1500);
		CHECK(!memcmp(buf + 40, pkt, TG_CAP_SNAPLEN));
		CHECK_EQ_U64(u32_at(buf + 40 + TG_CAP_SNAPLEN), t0_ms / 1000 + 1);
		CHECK_EQ_U64(u32_at(buf + 44 + TG_CAP_SNAPLEN), 7);
		CHECK_EQ_U64(u32_at(buf + 48 + TG_CAP_SNAPLEN), 20);
		CHECK_EQ_U64(u32_at(buf + 52 + TG_CAP_SNAPLEN), 20);
		CHECK(!memcmp(buf + 56 + TG_CAP_SNAPLEN, pkt + 1, 20));
	}

	TEST_BEGIN("capture: an event without packets: -ENOENT, nothing written");
	f = fmemopen(buf, sizeof(buf), "w");
	if (f) {
		CHECK_EQ_U64(tg_state_capture_pcap(st, "0190f5c2-1a3b-7000-8d2e-5f0c1b2a3d4e", f),
			     (uint64_t)(int64_t)-ENOENT);
		CHECK_EQ_U64(ftell(f), 0);
		fclose(f);
	}

	TEST_BEGIN("capture: the purge takes the packets older than the window");
	CHECK(tg_state_capture_purge(st, t0_ms + 1) == 2); /* e1's first, e2's */
	CHECK_EQ_U64(tg_state_capture_packets(st, e1), 1);
	CHECK_EQ_U64(tg_state_capture_packets(st, e2), 0);

	TEST_BEGIN("capture: ... and, with the audit log, those of the events it purged");
	CHECK(tg_state_purge(st, t0_ms + 10) >= 2); /* both audit rows */
	CHECK_EQ_U64(tg_state_capture_packets(st, e1), 0);
	tg_state_close(st);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/state.db", dir);
	test_capture();
	tl_rmtree(dir);
	return test_summary();
}
