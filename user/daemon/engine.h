/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * engine.h - the enforcement state machine: customers' samples in, rule firings, episode
 * ends and state changes out, as events through a callback. Pure computation on an
 * explicit clock (int64 milliseconds the caller passes; the engine never reads the time),
 * no BPF, no SQLite: the daemon writes each event to the audit log, applies it to the data
 * plane, and rebuilds the engine from the database after a restart with the
 * tg_engine_restore_* calls. The clock must not step: tollgated passes CLOCK_BOOTTIME
 * (tg_mono_ms), converts the times of events to the wall clock for its records, and the
 * records' wall-clock times back (time left = until - wall now) when it restores.
 *
 * Customers are uint32 indexes (the daemon maps them to external ids); UINT32_MAX is not a
 * customer. State is sparse: only a customer with a condition true now, an open episode,
 * firings inside an escalation window, a monitor rule's would-be state, or a state other
 * than active has an entry. Evaluating a customer without one whose conditions are all
 * false reads the rules and allocates nothing.
 *
 * Semantics, per (customer, rule):
 *
 * - Samples. tg_engine_eval gives one customer's sample for the interval that ends at now;
 *   the sample covers (now - interval, now]. The caller evaluates every customer every
 *   interval; a customer skipped in an interval keeps its runs as they were.
 * - Exemption. A customer whose sample has bit i of exempt set (the rule's exempt:
 *   customers or plans) is evaluated as if rule i's condition were false: it never fires
 *   for it, and an open episode ends as on a false sample.
 * - Holding. A condition's true run starts at its first true sample (at t0). At a sample
 *   at now it has been true for held = now - t0 + interval; it HOLDS when held >= for_ns.
 *   With interval 1 s and "for 30s" it holds at the 30th consecutive true sample; for 0
 *   (or any for_ns up to the interval) at the first. A false sample ends the run.
 * - Firing. When the condition holds and the rule has no open episode for the customer,
 *   the rule FIRES and an episode opens (fired_at = now). While it is open the rule does
 *   not fire again: one event per episode.
 * - Episode end. With the episode open, a false run that has lasted
 *   now - f0 + interval >= clear_after (f0: its first false sample) closes it
 *   (TG_EV_EPISODE_CLOSE). Without clear_after the first false sample closes it. A true
 *   sample inside the false run resets it: a short gap does not close the episode.
 * - Escalation { count N, within W }. The firing at now counts itself and the rule's earlier
 *   firings for this customer at times t with now - t < W (a firing exactly W ago is
 *   outside). If that makes N or more, the action is one step up (notify -> throttle ->
 *   suspend), once; the event has escalated set. Monitor firings count too.
 * - Levels. active < throttled < suspended. A firing at a higher level than the customer's
 *   state replaces it (state, since = now, until, rule, throttle_bps) and has applied set;
 *   one at the same or a lower level (suspend while suspended, throttle while suspended)
 *   is emitted but leaves the state, its until and its rule alone. notify never changes
 *   the state. Of several rules firing on one sample, the lower rule index acts first.
 * - Lifting a state a rule set (the rule that set it, R):
 *     R has duration:       until = fired_at + duration; lifts at the first eval (or
 *                           tg_engine_expire) at or after until, unless R has clear_after
 *                           and R's episode for the customer is open: then it lifts when
 *                           that episode closes. A lift at until also closes R's episode
 *                           (TG_EV_EPISODE_CLOSE after the TG_EV_LIFT) and restarts the
 *                           condition's run: a customer still over the limit is caught
 *                           again once the condition has held for its `for` again (and
 *                           that firing counts for escalation).
 *     no duration, clear_after: lifts when R's episode closes.
 *     neither:              stays until lifted by hand (tg_engine_manual ACTIVE).
 *   A lift is TG_EV_LIFT with rule R. On one sample, episode ends come first, then lifts,
 *   then firings: a throttle firing on the sample that lifts a suspension is applied.
 * - Mitigation (actions flowspec, blackhole). The customer is the victim of a flood:
 *   its state never changes. A firing is TG_EV_MITIGATE with the action (escalation goes
 *   flowspec -> blackhole, once); until_ms is fired_at + duration (0 without one). The
 *   episode opens and closes as above; the caller withdraws the announcement (at until,
 *   or when the episode closes: enforce.c says which), the engine keeps no state for it.
 * - Manual. tg_engine_manual sets any state by hand (also a lower one, and active =
 *   unsuspend); it replaces a rule's state, emits its event with rule -1, and lifts only
 *   at its until (0: only by hand). Open episodes stay open: a rule whose condition is
 *   still true does not fire again until a new episode. Manual actions apply also in
 *   global monitor mode.
 * - Monitor (enforcement.monitor, or the rule's monitor). Firings, episode ends and lifts
 *   are computed as above and emitted with monitor set, and never change the customer's
 *   state: each monitor rule keeps the state it would have set for the customer (its own
 *   level, until) and emits a monitor TG_EV_LIFT when that would lift.
 * - Rules change (tg_engine_set_rules): state of a rule whose name is still there follows
 *   it to its new index; the rest is dropped. A state set by a removed rule stays, as if
 *   set by hand (lifts at its until, or by hand). A state's until is kept as it was
 *   computed when it fired, even if the rule's duration changed.
 * - Events go to the callback, synchronously, in order. The callback must not call back
 *   into the engine, except tg_engine_refuse. The customer's state reason is the caller's:
 *   rules[rule].reason, or the manual command's.
 * - Refusal. A callback that cannot record an event (the audit write failed) calls
 *   tg_engine_refuse: the customer gets no more events from that call, and the call is
 *   undone for that customer (its state, runs, episodes and firings as before it), so the
 *   same sample fires again at the next eval, a refused lift is due again at the next
 *   eval or expire, and a refused tg_engine_manual returns -ECANCELED having changed
 *   nothing. Events of the customer the callback accepted earlier in that call are
 *   emitted again when it is repeated (the caller records them twice: accepted, as a
 *   database that fails half-way through one customer's sample is rare).
 *
 * What to persist so that tg_engine_restore_* rebuild the engine after kill -9 without
 * firing or notifying twice: on every firing, the firing (customer, rule name, at_ms) if
 * the rule escalates, and the open episode (customer, rule name, fired_at_ms); on an
 * applied firing or manual action, the customer's state (tg_engine_state); on
 * TG_EV_EPISODE_CLOSE, delete the episode; on TG_EV_LIFT, the state. A restored open
 * episode whose condition is still true does not fire again. Monitor rules' would-be
 * states are not restored (their lifts after a restart are not reported).
 *
 * Included by: daemon.h (the door), engine.c and enforce.c; the tests (test_rules).
 */
#ifndef TG_ENGINE_H
#define TG_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* A customer's enforcement state (the same order as the levels above). */
enum tg_cstate {
	TG_CS_ACTIVE = 0,
	TG_CS_THROTTLED = 1,
	TG_CS_SUSPENDED = 2,
};

enum tg_ev_kind {
	TG_EV_NOTIFY = 0,    /* a firing whose action is notify */
	TG_EV_THROTTLE,	     /* a firing (or manual action) that throttles */
	TG_EV_SUSPEND,	     /* a firing (or manual action) that suspends */
	TG_EV_LIFT,	     /* the state went back to active (by time, episode end, or hand) */
	TG_EV_EPISODE_CLOSE, /* a rule's episode ended: it may fire again */
	TG_EV_MITIGATE	     /* a firing whose action is flowspec or blackhole (action) */
};

struct tg_eng_event {
	uint32_t cust;
	int kind;	/* enum tg_ev_kind */
	int rule;	/* index in the engine's rules; -1: by hand (or a removed rule's lift) */
	bool monitor;	/* computed only: nothing changed */
	bool escalated; /* the action is one above the rule's (escalate) */
	bool applied;	/* the customer's state changed */
	int64_t at_ms;	/* now */
	int64_t fired_at_ms;   /* firing and EPISODE_CLOSE: when the episode opened */
	int64_t until_ms;      /* THROTTLE, SUSPEND: the automatic lift; 0: none */
	uint64_t throttle_bps; /* THROTTLE */
	int action;	       /* MITIGATE: TG_ACT_FLOWSPEC or TG_ACT_BLACKHOLE (escalated) */
	/* evidence. Firing: the sample's metric value, the threshold and how long the condition
	 * had been true. EPISODE_CLOSE: the value, and how long it had been false. */
	double value, threshold;
	int64_t held_ms;
};

typedef void (*tg_eng_event_fn)(void *ctx, const struct tg_eng_event *ev);

struct tg_cust_state {
	int state; /* enum tg_cstate */
	int64_t since_ms;
	int64_t until_ms; /* 0: none */
	int rule;	  /* the rule that set it; -1: by hand (or active) */
	uint64_t throttle_bps;
};

struct tg_engine;

/* An engine with cfg's rules (copied), interval and monitor flag. NULL on -ENOMEM. */
struct tg_engine *tg_engine_new(const struct tg_enforce_cfg *cfg, tg_eng_event_fn fn, void *ctx);
void tg_engine_free(struct tg_engine *e);

/* New rules, interval and monitor flag (a reload). 0 or -ENOMEM (then nothing changed). */
int tg_engine_set_rules(struct tg_engine *e, const struct tg_enforce_cfg *cfg);
size_t tg_engine_nrules(const struct tg_engine *e);
const struct tg_rule *tg_engine_rule(const struct tg_engine *e, int rule);
/* The index of the rule of that name, or -1. */
int tg_engine_rule_index(const struct tg_engine *e, const char *name);

/* One customer's sample for the interval ending at now_ms. 0 or -ENOMEM. */
int tg_engine_eval(struct tg_engine *e, uint32_t cust, const struct tg_sample *s, int64_t now_ms);
/* Lift every state whose until has come (for customers not evaluated). 0 or -ENOMEM. */
int tg_engine_expire(struct tg_engine *e, int64_t now_ms);

/* Set a state by hand: TG_CS_ACTIVE (unsuspend), TG_CS_THROTTLED (throttle_bps > 0) or
 * TG_CS_SUSPENDED, until_ms 0 = until lifted by hand. 0, -EINVAL, -ENOMEM or -ECANCELED
 * (the callback refused the event: nothing changed). */
int tg_engine_manual(struct tg_engine *e, uint32_t cust, int state, uint64_t throttle_bps,
		     int64_t until_ms, int64_t now_ms);
/* From the callback only: the event at hand could not be carried out; undo the call for
 * this customer (see Refusal above). */
void tg_engine_refuse(struct tg_engine *e);
/* The customer left (a reload removed it): its state goes, without events. */
void tg_engine_forget(struct tg_engine *e, uint32_t cust);

/* The customer's state (active, since 0, for one without an entry). */
void tg_engine_state(const struct tg_engine *e, uint32_t cust, struct tg_cust_state *out);
/* Customers with an entry (the sparse state), for tests and metrics. */
size_t tg_engine_tracked(const struct tg_engine *e);

/*
 * Rebuild after a restart, before the first eval; no events. The rule is an index of the
 * engine's rules (tg_engine_rule_index of the stored name). 0, -EINVAL or -ENOMEM.
 */
int tg_engine_restore_state(struct tg_engine *e, uint32_t cust, const struct tg_cust_state *st);
int tg_engine_restore_episode(struct tg_engine *e, uint32_t cust, int rule, int64_t fired_at_ms);
/* A past firing, for escalation (ignored for a rule without escalate). */
int tg_engine_restore_firing(struct tg_engine *e, uint32_t cust, int rule, int64_t at_ms);

#endif /* TG_ENGINE_H */
