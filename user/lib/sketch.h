/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sketch.h - reading the data plane's fan-out sketches (struct tg_fanout,
 * bpf/fanout_kern.h): the HyperLogLog estimate of a sketch of TG_HLL_REGS 4-bit
 * registers, and the figures of one customer's record. Pure: no BPF, no I/O.
 *
 * Included by: lib.h (the door).
 */
#ifndef TG_SKETCH_H
#define TG_SKETCH_H

#include <stdint.h>

#include "tollgate_kern_user.h"

/* One customer's record over one interval, estimated. */
struct tg_fanout_est {
	double hosts;	     /* distinct destination addresses */
	double ports;	     /* distinct destination ports of TCP SYNs */
	double smtp_hosts;   /* distinct tcp/25 destinations */
	uint32_t smtp_conns; /* new tcp/25 connections (exact) */
	uint32_t syns;	     /* TCP SYNs without ACK sent (exact) */
	uint32_t synacks;    /* SYN-ACKs back toward it (exact) */
	uint32_t unanswered; /* syns - synacks, 0 if more answers than SYNs */
};

/*
 * The number of distinct items a sketch of TG_HLL_REGS registers (two a byte, low nibble
 * first) has seen: HyperLogLog's estimate (Flajolet et al. 2007), with linear counting
 * while it is under 2.5 x TG_HLL_REGS and a register is still empty. 0 for an empty one.
 */
double tg_hll_estimate(const uint8_t *regs);

/* Estimate record f, which counts only if it belongs to interval epoch (else all 0). */
void tg_fanout_estimate(const struct tg_fanout *f, uint32_t epoch, struct tg_fanout_est *e);

#endif /* TG_SKETCH_H */
