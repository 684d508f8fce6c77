// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_tables.c - the IPv4 classification tables (DIR-24-8) as the kernel reads them,
 * compared with a longest-prefix match over the customers; the void /16s.
 */
#include "golden.h"

/* The customer (number in custs[]) whose IPv4 prefix is the longest match for a, or -1. */
static int v4_owner(uint32_t a)
{
	int best = -1, best_len = -1;
	size_t i, j;

	for (i = 0; i < NCUST; i++) {
		if (absent_id && strcmp(custs[i].id, absent_id) == 0)
			continue;
		for (j = 0; j < 3 && custs[i].pfx[j]; j++) {
			struct tg_prefix p;
			char err[128];
			uint32_t net, mask;

			if (tg_parse_prefix(custs[i].pfx[j], &p, err, sizeof(err)) ||
			    p.family != AF_INET)
				continue;
			memcpy(&net, p.addr, 4);
			net = ntohl(net);
			mask = p.plen ? ~0u << (32 - p.plen) : 0;
			if ((a & mask) == net && p.plen > best_len) {
				best = i;
				best_len = p.plen;
			}
		}
	}
	return best;
}

static const char *idx_name(uint32_t idx)
{
	static char buf[32];
	size_t i;

	if (idx == TG_CUST_NONE)
		return "none";
	for (i = 0; i < NCUST; i++)
		if (cust_idx[i] == idx)
			return custs[i].id;
	snprintf(buf, sizeof(buf), "index %#x", idx);
	return buf;
}

/* The DIR-24-8 lookup of bpf/classify_kern.h, done with map syscalls. */
static uint32_t kernel_v4_lookup(uint32_t a)
{
	struct tg_v4_pair p;
	__u32 key = a >> 22, e, idx;
	__u64 v;

	if (bpf_map_lookup_elem(maps.v4_void, &key, &v) || (v >> ((a >> 16) & 63)) & 1)
		return TG_CUST_NONE;
	key = a >> 9;
	if (bpf_map_lookup_elem(maps.v4_tbl24, &key, &p))
		return TG_CUST_NONE;
	e = p.e[(a >> 8) & 1];
	if (!(e & TG_V4_TBL8))
		return e;
	idx = ((e & ~TG_V4_TBL8) << 8) | (a & 0xff);
	key = idx >> 1;
	if (bpf_map_lookup_elem(maps.v4_tbl8, &key, &p))
		return TG_CUST_NONE;
	return p.e[idx & 1];
}

/*
 * Read back, through bpf_map_lookup_elem, the first and last address of every IPv4 prefix
 * and of its neighbours, and the /24 at half its tbl24 index (where a wrong element size
 * would put it): the kernel must find exactly the longest-prefix owner.
 */
void test_v4_tables(const char *desc, const char *bug)
{
	char msg[2048] = "";
	size_t i, j, k;

	TEST_BEGIN(desc);
	for (i = 0; i < NCUST; i++) {
		for (j = 0; j < 3 && custs[i].pfx[j]; j++) {
			struct tg_prefix p;
			char err[128];
			uint32_t net, probe[6];

			if (tg_parse_prefix(custs[i].pfx[j], &p, err, sizeof(err)) ||
			    p.family != AF_INET)
				continue;
			memcpy(&net, p.addr, 4);
			net = ntohl(net);
			probe[0] = net;
			probe[1] = net | (p.plen < 32 ? ~0u >> p.plen : 0);
			probe[2] = net - 1;
			probe[3] = probe[1] + 1;
			probe[4] = ((net >> 8) / 2) << 8 | 5;
			probe[5] = ((probe[1] >> 8) / 2) << 8 | 5;
			for (k = 0; k < ARRAY_SIZE(probe); k++) {
				int o = v4_owner(probe[k]);
				uint32_t want = o >= 0 ? cust_idx[o] : TG_CUST_NONE;
				uint32_t got = kernel_v4_lookup(probe[k]);
				struct in_addr ia = {htonl(probe[k])};

				if (got != want && (k != 5 || probe[5] != probe[4]))
					msg_add(msg, sizeof(msg), "; %s -> %s, want %s",
						inet_ntoa(ia), idx_name(got),
						o >= 0 ? custs[o].id : "none");
			}
		}
	}
	if (msg[0]) {
		if (!bug && v4_tables_broken)
			msg_add(msg, sizeof(msg),
				"; (IPv4 tables wrong: see the [BUG] sync check)");
		v4_tables_broken = true;
		fail(desc, bug, msg + 2);
	}
}

static bool void16(uint32_t a16)
{
	return (maps.v4void[a16 >> 6] >> (a16 & 63)) & 1;
}

/*
 * tg_v4_void as the program reads it, through the upstream check of a source inside our
 * own space (10.20.0.0/16 is c-d's): a set bit ends the lookup, a map of zeros (a new pin,
 * not yet written) only means looking in tbl24, so it classifies as before.
 */
void test_v4_void(void)
{
	uint64_t saved[TG_V4_VOID_WORDS];
	const char *dst = "198.51.100.1"; /* c-a */

	TEST_BEGIN("v4 void /16s: the /16s holding customers are not void, the others are");
	CHECK(!void16(10 << 8 | 20) && !void16(198 << 8 | 51) && !void16(203 << 8 | 0));
	CHECK(void16(10 << 8 | 21) && void16(9 << 8 | 9) && void16(0));
	TEST_BEGIN("v4 void /16s: upstream, a source in c-d's /16 is spoofed, one in a void /16 "
		   "passes");
	CHECK_EQ_U64(set_profile(P_UP), 0);
	CHECK_EQ_U64(send_up4("10.20.1.1", dst, 1), 0);
	CHECK_EQ_U64(send_up4("10.21.1.1", dst, 1), 1);
	memcpy(saved, maps.v4void, sizeof(saved));
	TEST_BEGIN("v4 void /16s: the program reads the bit (10.20/16 marked void: its source "
		   "is no one's)");
	__atomic_store_n(&maps.v4void[(10 << 8 | 20) >> 6],
			 saved[(10 << 8 | 20) >> 6] | 1ull << ((10 << 8 | 20) & 63),
			 __ATOMIC_RELAXED);
	CHECK_EQ_U64(send_up4("10.20.1.1", dst, 1), 1);
	TEST_BEGIN("v4 void /16s: a map of zeros classifies as the tables say");
	memset(maps.v4void, 0, sizeof(saved));
	CHECK_EQ_U64(send_up4("10.20.1.1", dst, 1), 0);
	CHECK_EQ_U64(send_up4("10.21.1.1", dst, 1), 1);
	memcpy(maps.v4void, saved, sizeof(saved));
}
