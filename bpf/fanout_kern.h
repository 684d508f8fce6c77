/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fanout_kern.h - stage 4b: what a customer contacts (scan, fan-out and SMTP visibility),
 * after a packet from it passed.
 *
 * Per customer, one cache line of tg_fanout (tollgate_kern_user.h): three HyperLogLog
 * sketches of 32 four-bit registers (distinct destination addresses, distinct
 * destination ports of new TCP connections, distinct tcp/25 destinations), the counts of
 * new tcp/25 connections and of TCP SYNs (upload), and of the SYN-ACKs that answer them
 * (download, tg_fanout_answer), all for the current interval. Only a packet that
 * opens something feeds them: the hosts, a TCP SYN without ACK, any UDP datagram (UDP has
 * no opening packet; a first fragment counts, the later ones have no ports), an ICMP or
 * ICMPv6 echo request; the ports (protocol and port, so tcp/53 and udp/53 are two), the
 * TCP SYNs and the UDP datagrams: a UDP port scan is seen like a SYN scan. The two hashes
 * of a datagram do not depend on each other and are computed side by side. An established
 * TCP connection's segments return after three compares, before any lookup.
 *
 * A fed packet reads the interval (element 0). The next packet of the same flow on the
 * same CPU (same customer, interval, destination and port as the last one this CPU fed
 * through this interface, kept in its tg_ifstat) stops there: feeding it would change
 * nothing, so a bulk flow pays a compare, and at 1M customers no read of its customer's
 * line. Any other packet reads its customer's line, and writes it only when the interval
 * changed (it starts over: zeroes it), a register grows, or it is a TCP SYN (never
 * skipped: each is counted, a retransmitted SYN too, as each is an attempt that may go
 * unanswered; a SYN flood is dropped by the flood limits before this stage): traffic to
 * the same few hosts and ports leaves the line clean in every CPU's cache. Accepted
 * races: two CPUs raising registers of one byte at once, or one starting the interval
 * over while the other raises a register, may lose a raise; the next packet to that
 * destination raises it again, and an estimate of a stream of new destinations is not
 * moved by it measurably. The counts are atomic; a
 * SYN-ACK counted on one CPU while another starts the interval over may be lost or land
 * in the new interval (either way one in an interval's count).
 */
#ifndef TG_FANOUT_KERN_H
#define TG_FANOUT_KERN_H

#include "count_kern.h"
#include "maps_kern.h"
#include "parse_kern.h"

#define TG_FO_TCP_SYN 0x02
#define TG_FO_TCP_ACK 0x10
#define TG_FO_SMTP_PORT 25
#define TG_FO_ECHO4 8			      /* ICMP echo request */
#define TG_FO_ECHO6 128			      /* ICMPv6 echo request */
#define TG_FO_PORT_SALT 0x5bd1e9955bd1e995ull /* ports hash apart from addresses */

/*
 * Raise register (h's bucket) of a sketch to h's rank, if that is higher. The rank is
 * higher than the register's value r exactly when the rank's bits end in r zeros, so the
 * common case (no growth) tests a mask and computes no rank.
 */
static __always_inline void tg_hll_add(__u8 *regs, __u64 h)
{
	__u32 b = tg_hll_bucket(h), sh = (b & 1) * 4, cur;
	__u8 *at = &regs[(b >> 1) & (TG_HLL_REGS / 2 - 1)];
	__u8 v = *at;

	cur = (v >> sh) & 0xfu;
	if (cur >= TG_HLL_RANK_MAX || (tg_hll_bits(h) & ((1u << cur) - 1)))
		return;
	*at = (__u8)((v & ~(0xfu << sh)) | (tg_hll_rank(h) << sh));
}

static __always_inline void tg_fanout_note(struct tg_ifstat *is, __u32 cust, const struct tg_pkt *p)
{
	struct tg_fanout *clk, *f;
	__u32 zero = 0, epoch, port;
	__u64 a, h, key;
	int syn, smtp;

	if (!p->has_l4)
		return;
	syn = p->l4proto == IPPROTO_TCP &&
	      (p->tcp_flags & (TG_FO_TCP_SYN | TG_FO_TCP_ACK)) == TG_FO_TCP_SYN;
	if (!syn && p->l4proto != IPPROTO_UDP &&
	    !(p->l4proto == IPPROTO_ICMP && p->icmp_type == TG_FO_ECHO4) &&
	    !(p->l4proto == IPPROTO_ICMPV6 && p->icmp_type == TG_FO_ECHO6))
		return;
	if (cust == TG_CUST_NONE)
		return;
	clk = bpf_map_lookup_elem(&tg_fanout, &zero);
	if (!clk)
		return;
	epoch = READ_ONCE(clk->epoch);
	/* IPv6: the halves folded (addresses of one /64 still differ) */
	a = p->v6 ? p->daddr6[0] ^ p->daddr6[1] : p->daddr4;
	port = (__u32)p->l4proto << 16 | p->dport;
	smtp = syn && p->dport == bpf_htons(TG_FO_SMTP_PORT);
	if (is) {
		if (!syn && is->fo_dst == a && is->fo_port == port && is->fo_cust == cust &&
		    is->fo_epoch == epoch)
			return; /* the last packet fed on this CPU had all this: nothing to add */
		is->fo_dst = a;
		is->fo_port = port;
		is->fo_cust = cust;
		is->fo_epoch = epoch;
	}
	f = bpf_map_lookup_elem(&tg_fanout, &cust);
	if (!f)
		return;
	key = clk->key;
	if (READ_ONCE(f->epoch) != epoch) {
		/* the first packet of this interval: the last one's sketches go */
		__builtin_memset(f->hosts, 0, sizeof(f->hosts));
		__builtin_memset(f->ports, 0, sizeof(f->ports));
		__builtin_memset(f->smtp, 0, sizeof(f->smtp));
		f->smtp_conns = 0;
		f->syns = 0;
		f->synacks = 0;
		WRITE_ONCE(f->epoch, epoch);
	}
	h = tg_hll_hash(a, key);
	tg_hll_add(f->hosts, h);
	if (syn || p->l4proto == IPPROTO_UDP) /* ports: TCP connection attempts, UDP datagrams */
		tg_hll_add(f->ports, tg_hll_hash(port, key ^ TG_FO_PORT_SALT));
	if (syn)
		__sync_fetch_and_add(&f->syns, 1);
	if (smtp) {
		__sync_fetch_and_add(&f->smtp_conns, 1);
		tg_hll_add(f->smtp, h);
	}
}

/*
 * Download (upstream role), after a packet toward customer cust passed: a SYN-ACK answers
 * one of the customer's SYNs, counted in its record if that is the current interval's
 * (an answer to a SYN of an interval already read belongs to none). Every other packet
 * returns after the flags' compare, before any lookup.
 */
static __always_inline void tg_fanout_answer(__u32 cust, const struct tg_pkt *p)
{
	struct tg_fanout *clk, *f;
	__u32 zero = 0;

	if (p->l4proto != IPPROTO_TCP || !p->has_l4 ||
	    (p->tcp_flags & (TG_FO_TCP_SYN | TG_FO_TCP_ACK)) != (TG_FO_TCP_SYN | TG_FO_TCP_ACK))
		return;
	if (cust == TG_CUST_NONE || cust == TG_CUST_PORT)
		return;
	clk = bpf_map_lookup_elem(&tg_fanout, &zero);
	f = bpf_map_lookup_elem(&tg_fanout, &cust);
	if (!clk || !f || READ_ONCE(f->epoch) != READ_ONCE(clk->epoch))
		return;
	__sync_fetch_and_add(&f->synacks, 1);
}

#endif /* TG_FANOUT_KERN_H */
