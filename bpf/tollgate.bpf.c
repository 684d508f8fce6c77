// SPDX-License-Identifier: GPL-2.0-only
/*
 * tollgate.bpf.c - the XDP program: one program for every attached interface.
 *
 * A packet's path, in the order it meets the stages:
 *   parse (parse_kern.h) -> exceptions (classify_kern.h; on a customer interface their
 *   checks and per-port limit, exc_kern.h) and bogons, classify, anti-spoof, suspension
 *   (classify_kern.h) -> packet-rate limits and SMTP policy (flood_kern.h) -> bandwidth policer
 *   (policer_kern.h; two rates: a yellow packet's DSCP rewritten) -> count (count_kern.h) ->
 *   the evidence sample, when one is armed (capture_kern.h) -> XDP_PASS or XDP_DROP; a
 *   passed upload also feeds its customer's fan-out sketches (fanout_kern.h).
 * The interface's role decides the direction: on a `customer` interface traffic comes from
 * customers (found by source, upload), on an `upstream` interface it goes to them (found by
 * destination, download).
 *
 * What cannot be parsed: without an IP header (TG_PARSE_MALFORMED, TG_PARSE_NOTIP) no
 * customer can be found, so a customer interface drops it (charged to the access port's
 * owner) and an upstream one passes it, noted on the interface. With an IP header but not
 * what follows (TG_PARSE_L4BAD), a customer interface drops it the same way; an upstream
 * one classifies it by destination like any packet (bogon, spoof, suspension, the
 * per-source block, the fragment limit, the download policer) and, if it passes, notes it
 * as the customer's `malformed`. Noted packets (this, and every would-drop of a monitor
 * interface) are charged to the customer's passed traffic and its would-drop counters.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef READ_ONCE
#define READ_ONCE(x) (*(volatile typeof(x) *)&(x))
#endif
#ifndef WRITE_ONCE
#define WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))
#endif

#include "tollgate_kern_user.h"
#include "maps_kern.h"
#include "parse_kern.h"
#include "classify_kern.h"
#include "policer_kern.h"
#include "flood_kern.h"
#include "count_kern.h"
#include "exc_kern.h"
#include "capture_kern.h"
#include "fanout_kern.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int tollgate_xdp(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex, cust = TG_CUST_NONE, len;
	__u32 reason = TG_R_NR; /* TG_R_NR: pass */
	__u32 unparsed = 0;	/* upstream TG_PARSE_L4BAD: noted as malformed if it passes */
	struct tg_pkt p = {};
	struct tg_iface *ifc;
	struct tg_cust *c = NULL;
	struct tg_pol *pol;
	int customer_role, res;
	__u8 dir;

	ifc = bpf_map_lookup_elem(&tg_ifaces, &ifindex);
	if (!ifc || ifc->ifindex != ifindex)
		return XDP_PASS; /* not configured (yet): never black-hole an interface */
	customer_role = ifc->role == TG_ROLE_CUSTOMER;
	dir = customer_role ? TG_DIR_UP : TG_DIR_DOWN;

	res = tg_parse(ctx, &p, ifc->flags);
	len = p.ip_len;
	if (res == TG_PARSE_L4BAD && !customer_role) {
		unparsed = 1; /* the addresses are valid: classified below like the rest */
	} else if (res != TG_PARSE_IP) {
		len = ctx->data_end - ctx->data;
		if (tg_l2_exception(res, customer_role)) {
			/* on a customer port: the access port's exception limit, and ARP's
			 * sender check in strict (exc_kern.h) */
			if (customer_role)
				reason = tg_exc_check(ifc, &p,
						      res == TG_PARSE_ARP ? TG_EXC_ARP : TG_EXC_L2,
						      ifindex);
			if (reason != TG_R_NR)
				cust = TG_CUST_PORT;
			goto out;
		}
		reason = TG_R_MALFORMED;
		if (!customer_role) /* no IP header: no customer to charge, not ours to drop */
			return tg_noted(ifc, reason, len);
		cust = TG_CUST_PORT;
		goto out;
	}
	/* upstream, nothing addressed to a customer is an exception: the link's own ND and
	 * DHCP go to the router's addresses and link-scope groups, never to a customer's */
	if (tg_exception(&p) && (customer_role || tg_lookup(&p, 0) == TG_CUST_NONE)) {
		if (customer_role)
			reason = tg_exc_check(ifc, &p, TG_EXC_IP, ifindex);
		if (reason != TG_R_NR)
			cust = TG_CUST_PORT;
		goto out;
	}

	if (customer_role) {
		if (tg_bogon_src(&p)) {
			reason = TG_R_BOGON;
			cust = TG_CUST_PORT;
			goto out;
		}
		cust = tg_lookup(&p, 1);
		c = cust ? bpf_map_lookup_elem(&tg_cust, &cust) : NULL;
		if (!c || !(c->flags & TG_CF_VALID)) {
			c = NULL;
			cust = TG_CUST_NONE;
			if (ifc->antispoof != TG_AS_OFF) {
				reason = TG_R_SPOOF;
				cust = TG_CUST_PORT;
			}
			goto out;
		}
		if (ifc->antispoof == TG_AS_STRICT && !tg_binding_ok(c, &p, ifindex)) {
			reason = TG_R_SPOOF;
			cust = TG_CUST_PORT;
			goto out;
		}
		if (c->state == TG_ST_SUSPENDED && !tg_walled_peer(&p, 0)) {
			reason = TG_R_SUSPENDED;
			goto out;
		}
		/* ND and MLD from its own address: the exceptions' limit, not `icmp` */
		if (tg_icmp_free(&p) == TG_ICMP_FREE_NDMLD && !tg_exc_limit(ifc, &p, ifindex)) {
			reason = TG_R_EXCEPTION;
			goto out;
		}
	} else {
		cust = tg_lookup(&p, 0);
		c = cust ? bpf_map_lookup_elem(&tg_cust, &cust) : NULL;
		if (!c || !(c->flags & TG_CF_VALID)) {
			c = NULL;
			cust = TG_CUST_NONE;
		}
		/* drops aimed at a customer are charged to it (download direction) */
		if (tg_bogon_src(&p)) {
			reason = TG_R_BOGON;
			goto out;
		}
		/* a source inside our own customers' space cannot come from outside */
		if (tg_lookup(&p, 1) != TG_CUST_NONE) {
			reason = TG_R_SPOOF;
			goto out;
		}
		if (!c)
			goto out;
		if (c->state == TG_ST_SUSPENDED && !tg_walled_peer(&p, 1)) {
			reason = TG_R_SUSPENDED;
			goto out;
		}
	}

	pol = bpf_map_lookup_elem(&tg_pol, &cust);
	if (pol) {
		const struct tg_fprof *fp = tg_profile(c);
		__u64 now = tg_now_fns();
		int colour;

		reason = tg_flood(&p, fp, cust, &pol->dir[dir & 1], dir, customer_role, now);
		if (reason == TG_R_NR) {
			colour = tg_police(&pol->dir[dir & 1], &c->pol[dir & 1],
					   fp && (c->flags & TG_CF_TRTCM) ? &fp->peak[dir & 1]
									  : NULL,
					   len, now);
			if (colour == TG_RED)
				reason = TG_R_RATE;
			else if (colour == TG_YELLOW && fp && !(ifc->flags & TG_IFF_MONITOR))
				tg_set_dscp(ctx, &p, fp->yellow_dscp);
		}
	}
out:
	if (reason == TG_R_NR && !unparsed) {
		struct tg_ifstat *is = tg_ifstat_of(ifc);

		tg_count_pass(is, cust, dir, len, &p);
		if (customer_role)
			tg_fanout_note(is, cust, &p);
		else
			tg_fanout_answer(cust, &p);
		return tg_capture(ctx, ifc, cust, dir, TG_R_NR, &p, XDP_PASS);
	}
	if (reason == TG_R_NR) {
		reason = TG_R_MALFORMED;
	} else if (!(ifc->flags & TG_IFF_MONITOR)) {
		tg_count_drop(ifc, cust, dir, reason, len, &p, 0);
		return tg_capture(ctx, ifc, cust, dir, reason, &p, XDP_DROP);
	}
	tg_count_drop(ifc, cust, dir, reason, len, &p, 1);
	return tg_capture(ctx, ifc, cust, dir, reason, &p, XDP_PASS);
}
