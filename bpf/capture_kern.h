/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * capture_kern.h - after counting: the evidence sample. When tollgated has armed a
 * capture for a customer (a rule throttled or suspended it, or `tollgate capture`), the
 * first TG_CAP_SNAPLEN bytes of its next packets go up through the ring buffer
 * tg_cap_ring, one struct tg_cap_rec each, until its tg_cap_arm entry's count runs out.
 *
 * The cost when nothing is armed is one read of tg_config.cap_armed (the count of
 * entries in tg_cap_arm, kept by tollgated); everything else is in a subprogram the
 * packet path calls only when it is not 0. The copy is bounded direct packet access
 * (bpf_xdp_load_bytes is 5.18): 16 words when the frame has TG_CAP_SNAPLEN bytes, else
 * byte by byte up to its end, so a short or malformed frame gives what exists.
 *
 * Its two maps are declared here rather than in maps_kern.h, beside the only code that
 * uses them; they are pinned like the others (TG_MAPS).
 */
#ifndef TG_CAPTURE_KERN_H
#define TG_CAPTURE_KERN_H

#include "maps_kern.h"
#include "count_kern.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TG_CAP_ARMS);
	__type(key, __u32); /* customer index */
	__type(value, struct tg_cap_arm);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_cap_arm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TG_CAP_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_cap_ring SEC(".maps");

/* meta: dir | reason << 8 | verdict << 16 (five arguments at most to a subprogram) */
static __noinline int tg_cap_take(struct xdp_md *ctx, __u32 cust, __u32 ifindex, __u32 meta,
				  const struct tg_pkt *p)
{
	__u8 dir = meta & 0xff, reason = (meta >> 8) & 0xff, verdict = (meta >> 16) & 0xff;
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct tg_cap_arm *arm;
	struct tg_cap_rec *r;
	__u32 zero = 0, i;

	if (cust == TG_CUST_PORT) { /* a spoofed or malformed frame: the port's owner */
		struct tg_dcache *dc = bpf_map_lookup_elem(&tg_dcache, &zero);

		if (!dc)
			return 0;
		cust = tg_port_owner(dc, p, ifindex);
	}
	if (cust == TG_CUST_NONE)
		return 0;
	arm = bpf_map_lookup_elem(&tg_cap_arm, &cust);
	if (!arm || !(arm->dirs & (1u << (dir & 1))) ||
	    !(arm->match & (reason == TG_R_NR ? TG_CAP_PASS : TG_CAP_DROP)))
		return 0;
	if (__sync_fetch_and_add(&arm->left, -1) <= 0)
		return 0;
	r = bpf_ringbuf_reserve(&tg_cap_ring, sizeof(*r), 0);
	if (!r)
		return 0; /* the ring is full: tollgated is behind; the record is lost */
	r->tag = arm->tag;
	r->ts_ns = bpf_ktime_get_ns();
	r->cust = cust;
	r->ifindex = ifindex;
	r->wirelen = (__u32)(end - data);
	r->dir = dir;
	r->reason = reason;
	r->verdict = verdict;
	__builtin_memset(r->pad, 0, sizeof(r->pad));
	if (data + TG_CAP_SNAPLEN <= end) {
#pragma unroll
		for (i = 0; i < TG_CAP_SNAPLEN / 8; i++)
			((__u64 *)r->data)[i] = ((const __u64 *)data)[i];
		r->caplen = TG_CAP_SNAPLEN;
	} else {
#pragma unroll
		for (i = 0; i < TG_CAP_SNAPLEN; i++) {
			if (data + i + 1 > end)
				break;
			r->data[i] = ((const __u8 *)data)[i];
		}
		r->caplen = (__u16)i;
	}
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* The packet's verdict, after handing it up if a capture is armed for its customer. */
static __always_inline int tg_capture(struct xdp_md *ctx, const struct tg_iface *ifc, __u32 cust,
				      __u8 dir, __u32 reason, const struct tg_pkt *p, int verdict)
{
	__u32 zero = 0;
	struct tg_config *cfg;

	if (cust == TG_CUST_NONE)
		return verdict;
	cfg = bpf_map_lookup_elem(&tg_config, &zero);
	if (cfg && READ_ONCE(cfg->cap_armed))
		tg_cap_take(ctx, cust, ifc->ifindex, dir | (reason & 0xff) << 8 | verdict << 16, p);
	return verdict;
}

#endif /* TG_CAPTURE_KERN_H */
