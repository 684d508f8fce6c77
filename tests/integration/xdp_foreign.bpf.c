// SPDX-License-Identifier: GPL-2.0-only
/*
 * xdp_foreign.bpf.c - a stand-in for another tool's XDP program: test_attach.sh attaches
 * it to check that tollgate refuses to replace it without --force.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int foreign_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
