/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * harness.h - what the BPF suites that send frames through the program share
 * (test_golden, test_pktfuzz): one CPU, a private network namespace with a pair of
 * interfaces, interface profiles written into tg_ifaces, one frame through
 * BPF_PROG_TEST_RUN. Nothing here touches the host: the namespace goes away with the
 * process.
 */
#ifndef TG_TESTS_HARNESS_H
#define TG_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "datapath/maps.h"

/* How the interface a frame arrives on is configured; a suite's table of them. */
struct th_profile {
	const char *name, *ifname;
	uint8_t role, antispoof, flags;
	int ifindex; /* resolved by th_resolve */
};

/* Run on one CPU (the one we are on): per-CPU counters and slots then read back exactly. */
void th_one_cpu(void);

/*
 * Unshare a network namespace and create if_b and its peer if_c in it: a veth pair, else
 * two ifb interfaces (BPF_PROG_TEST_RUN needs only their ifindexes). Returns 0 with the
 * pair, -ENODEV in the namespace without it, another -errno (and prints "SKIP suite: ...")
 * if there is no namespace.
 */
int th_netns(const char *suite, const char *if_b, const char *if_c);

/* Fill in the ifindex of each of the n profiles (0 for an interface that is missing). */
void th_resolve(struct th_profile *p, size_t n);

/* Write profile p into tg_ifaces under its ifindex, with slot as its counter slot. */
int th_set_profile(const struct tg_maps *m, const struct th_profile *p, int slot);

/*
 * One BPF_PROG_TEST_RUN of frame arriving on ifindex; its verdict in *retval. A frame
 * shorter than an Ethernet header goes behind XDP metadata (ctx.data > 0), the only way to
 * hand the program fewer than ETH_HLEN bytes; kernels that refuse it return -EINVAL. With
 * out (out_size bytes), the frame as the program left it is copied there, and a length
 * change is -EMSGSIZE.
 */
int th_run(const struct tg_maps *m, int ifindex, const uint8_t *frame, size_t len, uint8_t *out,
	   size_t out_size, __u32 *retval);

#endif /* TG_TESTS_HARNESS_H */
