// SPDX-License-Identifier: GPL-2.0-only
/*
 * fold.bpf.c - the per-CPU passed-traffic counters folded in the kernel, by every CPU at
 * once. tg_cstat is a per-CPU array (key customer index): the XDP program writes a
 * customer's passed packets and bytes in its own CPU's copy, and a reader of every
 * customer had to copy 32 bytes x CPUs a customer out of the kernel and add them up,
 * which grows with the CPU count (docs/performance.md, Enforcement).
 *
 * tg_fold_cpu is run by BPF_PROG_TEST_RUN from a thread pinned to each CPU, all CPUs at
 * once (user/datapath/fold.c): on its CPU, bpf_map_lookup_elem of tg_cstat is that CPU's
 * copy, and it adds every customer's into tg_cfold, an mmapable array the reader zeroed
 * before and maps. Each CPU reads only its own copies (local, in order) and writes only
 * for the customers it has seen, so the wall time of a fold is one CPU's pass over the
 * customers, whatever the number of CPUs. Each run folds up to TG_FOLD_BATCH customers
 * from this CPU's cursor (tg_fold_pos) and moves it on; the reader repeats the run until
 * every cursor has gone round, and checks that each did.
 *
 * A separate object from the XDP program, loaded by each reader with the pinned tg_cstat
 * (bpf_map__reuse_fd); nothing of it is pinned, so the pinned layout is unchanged. An XDP
 * program run by BPF_PROG_TEST_RUN and the atomic add: nothing newer than Linux 5.15
 * (and no tracing program, which kernel lockdown or a BPF LSM may refuse).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tollgate_kern_user.h"

#define TG_FOLD_BATCH 64u /* customers a run (the verifier walks every round of the loop) */

/* The pinned tg_cstat (the reader reuses its fd; the size here is replaced by it). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_cstat);
} tg_cstat SEC(".maps");

/* The sums, key customer index: zeroed by the reader before each fold. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set by the reader: the entries of tg_cstat */
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct tg_cstat);
} tg_cfold SEC(".maps");

/* Each CPU's cursor: set by the reader before each fold (struct tg_fold_pos). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_fold_pos);
} tg_fold_pos SEC(".maps");

SEC("xdp")
int tg_fold_cpu(struct xdp_md *ctx)
{
	struct tg_fold_pos *pos;
	__u32 zero = 0, k, cnt;

	(void)ctx;
	pos = bpf_map_lookup_elem(&tg_fold_pos, &zero);
	if (!pos)
		return XDP_ABORTED;
	if (pos->next >= pos->n)
		pos->next = 0; /* each CPU starts at its own place, so they do not meet on a line */
	k = pos->next;
	/* a run stops at the end of the array: the loop has no branch but the counters' */
	cnt = pos->n - k;
	if (cnt > pos->left)
		cnt = pos->left;
	if (cnt > TG_FOLD_BATCH)
		cnt = TG_FOLD_BATCH;
	pos->next = k + cnt;
	pos->left -= cnt;
	for (__u32 i = 0; i < TG_FOLD_BATCH && i < cnt; i++, k++) {
		const struct tg_cstat *v = bpf_map_lookup_elem(&tg_cstat, &k);
		struct tg_cstat *o = bpf_map_lookup_elem(&tg_cfold, &k);

		if (!v || !o) {
			pos->left = ~0u; /* a size the reader did not set: it sees a fold undone */
			return XDP_ABORTED;
		}
		if (!(v->pkts[0] | v->pkts[1] | v->bytes[0] | v->bytes[1]))
			continue; /* not a packet on this CPU: nothing to write */
		__sync_fetch_and_add(&o->pkts[0], v->pkts[0]);
		__sync_fetch_and_add(&o->pkts[1], v->pkts[1]);
		__sync_fetch_and_add(&o->bytes[0], v->bytes[0]);
		__sync_fetch_and_add(&o->bytes[1], v->bytes[1]);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
