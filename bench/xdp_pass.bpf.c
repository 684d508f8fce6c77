// SPDX-License-Identifier: GPL-2.0-only
/*
 * xdp_pass.bpf.c - the baseline of the pass cases of bench/bench_wire.sh: an XDP program
 * that passes every frame and does nothing else. A packet it passes takes the same way
 * through the stack as one Tollgate passes, so the difference is Tollgate's own cost.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* cppcheck (make lint) does not read bpf_helpers.h, so it cannot know SEC() */
// cppcheck-suppress unknownMacro
char LICENSE[] SEC("license") = "GPL";

// cppcheck-suppress unknownMacro
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}
