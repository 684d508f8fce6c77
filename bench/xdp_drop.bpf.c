// SPDX-License-Identifier: GPL-2.0-only
/*
 * xdp_drop.bpf.c - the baseline of bench/bench_xdp.c: an XDP program that drops every frame
 * and does nothing else. Its cost under BPF_PROG_TEST_RUN is the harness's own cost per
 * packet, the unit in which the data plane's drop paths are budgeted (design.md: <= 2x).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* cppcheck (make lint) does not read bpf_helpers.h, so it cannot know SEC() */
// cppcheck-suppress unknownMacro
char LICENSE[] SEC("license") = "GPL";

// cppcheck-suppress unknownMacro
SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_DROP;
}
