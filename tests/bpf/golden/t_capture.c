// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_capture.c - the evidence sample (bpf/capture_kern.h): nothing is handed up while
 * tg_config.cap_armed is 0 (even with an entry in tg_cap_arm); an armed customer's next
 * N packets come up through tg_cap_ring, their first 128 bytes exactly as sent, and then
 * nothing more; in both roles; a 20-byte malformed frame comes up as its 20 bytes,
 * charged to the access port's owner; an arm for drops only lets passes by.
 */
#include <bpf/libbpf.h>

#include "golden.h"
#include "datapath/capture.h"

#define CAP_MAX 16

struct got {
	int n;
	struct tg_cap_rec r[CAP_MAX];
};

static int on_rec(void *ctx, void *data, size_t size)
{
	struct got *g = ctx;

	if (size != sizeof(struct tg_cap_rec) || g->n >= CAP_MAX)
		return 0;
	memcpy(&g->r[g->n++], data, sizeof(struct tg_cap_rec));
	return 0;
}

/* Everything in the ring now, into g (emptied first). */
static int drain(struct ring_buffer *rb, struct got *g)
{
	g->n = 0;
	return ring_buffer__consume(rb) < 0 ? -1 : 0;
}

/* Send n copies of p on prof; the number that got verdict want. */
static int send_n(int prof, const struct pkt *p, int n, __u32 want, struct built *b, uint8_t *frame)
{
	__u32 ret = 0;
	int ok = 0;

	if (build_pkt(p, frame, b))
		return -1;
	for (int i = 0; i < n; i++)
		if (!run_frame(profiles[prof].ifindex, frame, b->len, &ret) && ret == want)
			ok++;
	return ok;
}

static struct tg_cap_arm arm_of(__u64 tag, int left, __u8 match, __u8 dirs)
{
	return (struct tg_cap_arm){.tag = tag, .left = left, .match = match, .dirs = dirs};
}

#define BOTH_DIRS (1u << TG_DIR_UP | 1u << TG_DIR_DOWN)
#define ANY_VERDICT (TG_CAP_PASS | TG_CAP_DROP)

void test_capture(void)
{
	const struct pkt up = {V4("198.51.100.5", DST4), .payload = 400},
			 up_small = {V4("198.51.100.5", DST4), .tcpflags = 0x10},
			 down = {V4(DST4, "198.51.100.5"), .proto = IPPROTO_UDP, .sport = 53,
				 .dport = 4000, .payload = 200},
			 up_b = {V4("203.0.113.5", DST4)};
	uint32_t ca = cust_idx[cust_no("c-a")], co = cust_idx[cust_no("c-o")];
	struct tg_cap_arm a;
	struct ring_buffer *rb;
	uint8_t frame[2048];
	struct built b;
	struct got *g = calloc(1, sizeof(*g));
	struct tg_config c;
	__u32 zero = 0;
	int32_t left;

	TEST_BEGIN("capture: the ring buffer opens");
	rb = g ? ring_buffer__new(maps.cap_ring, on_rec, g, NULL) : NULL;
	CHECK(rb != NULL);
	if (!rb) {
		free(g);
		return;
	}
	drain(rb, g);

	TEST_BEGIN("capture: nothing armed: cap_armed is 0, nothing handed up");
	CHECK(tg_cap_recount(&maps) == 0);
	CHECK(bpf_map_lookup_elem(maps.config, &zero, &c) == 0);
	CHECK_EQ_U64(c.cap_armed, 0);
	CHECK(set_profile(P_STRICT) == 0);
	CHECK_EQ_U64(send_n(P_STRICT, &up, 5, XDP_PASS, &b, frame), 5);
	CHECK(drain(rb, g) == 0);
	CHECK_EQ_U64(g->n, 0);

	TEST_BEGIN("capture: an entry but the flag 0: the packet path does not look");
	a = arm_of(7, 3, ANY_VERDICT, BOTH_DIRS);
	CHECK(bpf_map_update_elem(maps.cap_arm, &ca, &a, BPF_ANY) == 0);
	CHECK_EQ_U64(send_n(P_STRICT, &up, 4, XDP_PASS, &b, frame), 4);
	CHECK(drain(rb, g) == 0);
	CHECK_EQ_U64(g->n, 0);
	CHECK(tg_cap_left(&maps, ca, &left) == 0);
	CHECK_EQ_U64(left, 3);

	TEST_BEGIN("capture: armed for 3 (customer role): 3 records of the frame's 128 bytes, "
		   "then none");
	CHECK(tg_cap_arm_set(&maps, ca, &a) == 0);
	CHECK(bpf_map_lookup_elem(maps.config, &zero, &c) == 0);
	CHECK_EQ_U64(c.cap_armed, 1);
	CHECK_EQ_U64(send_n(P_STRICT, &up, 5, XDP_PASS, &b, frame), 5);
	CHECK(drain(rb, g) == 0);
	CHECK_EQ_U64(g->n, 3);
	for (int i = 0; i < g->n; i++) {
		CHECK_EQ_U64(g->r[i].tag, 7);
		CHECK_EQ_U64(g->r[i].cust, ca);
		CHECK_EQ_U64(g->r[i].dir, TG_DIR_UP);
		CHECK_EQ_U64(g->r[i].verdict, XDP_PASS);
		CHECK_EQ_U64(g->r[i].reason, TG_R_NR);
		CHECK_EQ_U64(g->r[i].ifindex, profiles[P_STRICT].ifindex);
		CHECK_EQ_U64(g->r[i].wirelen, b.len);
		CHECK_EQ_U64(g->r[i].caplen, TG_CAP_SNAPLEN);
		CHECK(!memcmp(g->r[i].data, frame, TG_CAP_SNAPLEN));
	}
	CHECK_EQ_U64(send_n(P_STRICT, &up, 3, XDP_PASS, &b, frame), 3);
	CHECK(drain(rb, g) == 0);
	CHECK_EQ_U64(g->n, 0);

	TEST_BEGIN("capture: a frame under 128 bytes comes up whole (caplen = its length)");
	a = arm_of(8, 1, ANY_VERDICT, BOTH_DIRS);
	CHECK(tg_cap_arm_set(&maps, ca, &a) == 0);
	CHECK_EQ_U64(send_n(P_STRICT, &up_small, 1, XDP_PASS, &b, frame), 1);
	CHECK(drain(rb, g) == 0);
	CHECK_EQ_U64(g->n, 1);
	CHECK(b.len < TG_CAP_SNAPLEN);
	if (g->n == 1) {
		CHECK_EQ_U64(g->r[0].caplen, b.len);
		CHECK_EQ_U64(g->r[0].wirelen, b.len);
		CHECK(!memcmp(g->r[0].data, frame, b.len));
	}

	TEST_BEGIN("capture: upstream role: the download of the armed customer, dir down");
	a = arm_of(9, 2, ANY_VERDICT, 1u << TG_DIR_DOWN);
	CHECK(tg_cap_arm_set(&maps, ca, &a) == 0);
	CHECK(set_profile(P_UP) == 0);
	CHECK_EQ_U64(send_n(P_UP, &down, 4, XDP_PASS, &b, frame), 4);
	CHECK_EQ_U64(send_n(P_STRICT, &up, 2, XDP_PASS, &b, frame), 2); /* dir up: not armed */
	CHECK(drain(rb, g) == 0);
	CHECK_EQ_U64(g->n, 2);
	for (int i = 0; i < g->n; i++) {
		CHECK_EQ_U64(g->r[i].tag, 9);
		CHECK_EQ_U64(g->r[i].dir, TG_DIR_DOWN);
		CHECK_EQ_U64(g->r[i].ifindex, profiles[P_UP].ifindex);
		CHECK_EQ_U64(g->r[i].caplen, TG_CAP_SNAPLEN);
	}

	TEST_BEGIN("capture: armed for drops only: passes go by");
	a = arm_of(10, 2, TG_CAP_DROP, BOTH_DIRS);
	CHECK(tg_cap_arm_set(&maps, ca, &a) == 0);
	CHECK_EQ_U64(send_n(P_STRICT, &up, 3, XDP_PASS, &b, frame), 3);
	CHECK(drain(rb, g) == 0);
	CHECK_EQ_U64(g->n, 0);
	CHECK(tg_cap_left(&maps, ca, &left) == 0);
	CHECK_EQ_U64(left, 2);

	TEST_BEGIN("capture: disarmed: the entry goes, cap_armed back to 0, nothing handed up");
	CHECK(tg_cap_disarm(&maps, ca) == 0);
	CHECK(bpf_map_lookup_elem(maps.config, &zero, &c) == 0);
	CHECK_EQ_U64(c.cap_armed, 0);
	CHECK(tg_cap_left(&maps, ca, &left) == -ENOENT);

	if (!have_if_b) {
		skip("capture: a 20-byte malformed frame", "no second interface");
		goto out;
	}
	TEST_BEGIN("capture: a 20-byte malformed frame: its 20 bytes, charged to the port's "
		   "owner, dropped");
	a = arm_of(11, 2, ANY_VERDICT, BOTH_DIRS);
	CHECK(tg_cap_arm_set(&maps, co, &a) == 0);
	CHECK(set_profile(P_STRICT_B) == 0);
	CHECK(build_pkt(&up_b, frame, &b) == 0);
	{
		__u32 ret = 0;

		CHECK(run_frame(profiles[P_STRICT_B].ifindex, frame, 20, &ret) == 0);
		CHECK_EQ_U64(ret, XDP_DROP);
	}
	CHECK(drain(rb, g) == 0);
	CHECK_EQ_U64(g->n, 1);
	if (g->n == 1) {
		CHECK_EQ_U64(g->r[0].tag, 11);
		CHECK_EQ_U64(g->r[0].cust, co);
		CHECK_EQ_U64(g->r[0].caplen, 20);
		CHECK_EQ_U64(g->r[0].wirelen, 20);
		CHECK_EQ_U64(g->r[0].verdict, XDP_DROP);
		CHECK_EQ_U64(g->r[0].reason, TG_R_MALFORMED);
		CHECK(!memcmp(g->r[0].data, frame, 20));
	}
	CHECK(tg_cap_disarm(&maps, co) == 0);
out:
	ring_buffer__free(rb);
	free(g);
}
