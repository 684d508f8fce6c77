/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rules.h - enforcement rules: the `enforcement:` section of tollgate.yaml as types, the
 * metrics a rule's `when` can test, and the parser of `when` ("spoof_pps > 50 for 30s").
 * config.c reads the YAML around it; engine.c runs the rules. Nothing here touches BPF,
 * SQLite or the clock (rules.c needs only libc and the unit parsers of units.c).
 *
 * Included by: config.h (the door: other rooms get it through that) and rules.c.
 */
#ifndef TG_RULES_H
#define TG_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tollgate_kern_user.h" /* TG_DIR_NR, enum tg_reason */

#define TG_RULES_MAX 64u	  /* rules in enforcement.rules (the bits of tg_sample.exempt) */
#define TG_RULE_NAME_MAX 64u	  /* bytes with the NUL */
#define TG_RULE_TEXT_MAX 256u	  /* `when` and `reason`, bytes with the NUL */
#define TG_ESCALATE_COUNT_MAX 16u /* escalate.count: 2..16 (firings kept per customer) */

#define TG_NS_PER_MS 1000000ull
#define TG_NS_PER_S 1000000000ull
#define TG_INTERVAL_DEFAULT_NS (1ull * TG_NS_PER_S)
#define TG_INTERVAL_MIN_NS (100ull * TG_NS_PER_MS)
#define TG_INTERVAL_MAX_NS (60ull * TG_NS_PER_S)
#define TG_RETENTION_DEFAULT_NS (90ull * 86400ull * TG_NS_PER_S)
#define TG_RETENTION_MIN_NS (3600ull * TG_NS_PER_S)

/*
 * What a rule tests: a customer's rates over the last interval. Drops are per second, the
 * plain <reason>_pps (and drop_pps, flood_pps) in the upload direction, what the customer
 * itself sends; download_* toward the customer.
 */
enum tg_metric {
	TG_M_UPLOAD_BPS = 0, /* passed bit/s */
	TG_M_DOWNLOAD_BPS,
	TG_M_UPLOAD_PPS, /* passed packets/s */
	TG_M_DOWNLOAD_PPS,
	TG_M_UPLOAD_UTIL, /* percent of the plan's rate; 0 without a limit */
	TG_M_DOWNLOAD_UTIL,
	TG_M_DROP_PPS,		 /* every upload drop */
	TG_M_FLOOD_PPS,		 /* upload flood_syn + flood_udp + flood_icmp + flood_frag */
	TG_M_DOWNLOAD_DROP_PPS,	 /* every download drop */
	TG_M_DOWNLOAD_FLOOD_PPS, /* download floods */
	/* volume quota, percent used this period: the larger direction's, upload's, download's
	 * (0 for a direction without a quota) */
	TG_M_QUOTA_USED_PCT,
	TG_M_UPLOAD_QUOTA_USED_PCT,
	TG_M_DOWNLOAD_QUOTA_USED_PCT,
	TG_M_REASON_UP, /* + enum tg_reason: <reason>_pps (upload_<reason>_pps) */
	TG_M_REASON_DOWN = TG_M_REASON_UP + TG_R_NR, /* + reason: download_<reason>_pps */
	/* what the customer contacted in the last interval (upload; bpf/fanout_kern.h):
	 * counts per interval, not per second; the first three are sketch estimates */
	TG_M_FANOUT_HOSTS = TG_M_REASON_DOWN + TG_R_NR, /* distinct destination addresses */
	TG_M_FANOUT_PORTS,				/* distinct ports of TCP SYNs */
	TG_M_SMTP_CONNS,				/* new tcp/25 connections passed (exact) */
	TG_M_SMTP_HOSTS,				/* distinct tcp/25 destinations */
	TG_M_TCP_SYNS,					/* TCP SYNs passed (exact) */
	TG_M_UNANSWERED_SYNS, /* TCP SYNs minus the SYN-ACKs back (exact, >= 0) */
	TG_M_NR,
};
#define TG_M_IS_FANOUT(m) ((m) >= TG_M_FANOUT_HOSTS && (m) <= TG_M_UNANSWERED_SYNS)

/* How a metric's threshold is written. */
enum tg_metric_unit {
	TG_MU_RATE,    /* bit/s: 95mbit, 1g, a plain number */
	TG_MU_PPS,     /* packets/s: 50, 20kpps */
	TG_MU_PERCENT, /* 95% or 95, 0..100 */
	TG_MU_COUNT,   /* a plain number: 500 */
};

enum tg_op { TG_OP_GT, TG_OP_GE, TG_OP_LT, TG_OP_LE };

/* One customer over one interval. */
struct tg_sample {
	double bps[TG_DIR_NR], pps[TG_DIR_NR]; /* passed traffic, TG_DIR_UP / TG_DIR_DOWN */
	double util[TG_DIR_NR];		       /* percent of the plan's rate; 0 if unlimited */
	double drop_pps[TG_DIR_NR][TG_R_NR];   /* drops per second by reason */
	double quota_pct[TG_DIR_NR];	       /* percent of the plan's quota used this period */
	uint64_t exempt; /* bit i: the customer is exempt from rule i (its condition is false) */
	double fanout_hosts, fanout_ports; /* distinct, in the interval (estimates) */
	double smtp_conns, smtp_hosts;	   /* new tcp/25 connections; their destinations */
	double tcp_syns, unanswered_syns;  /* TCP SYNs; those no SYN-ACK answered */
};

/* A compiled `when`: metric op threshold, held for for_ns. */
struct tg_cond {
	int metric; /* enum tg_metric */
	int op;	    /* enum tg_op */
	double threshold;
	uint64_t for_ns; /* 0: holds at the first true sample */
};

/*
 * What a rule does. notify < throttle < suspend act on the customer (escalation goes one
 * step up that ladder); flowspec < blackhole ask the upstream to stop a flood toward the
 * customer (user/mitigation/: the customer is the victim, its state does not change).
 */
enum tg_action {
	TG_ACT_NOTIFY = 0,
	TG_ACT_THROTTLE = 1,
	TG_ACT_SUSPEND = 2,
	TG_ACT_FLOWSPEC = 3,
	TG_ACT_BLACKHOLE = 4,
};
#define TG_ACT_MITIGATES(a) ((a) == TG_ACT_FLOWSPEC || (a) == TG_ACT_BLACKHOLE)

struct tg_rule {
	char name[TG_RULE_NAME_MAX];
	char when[TG_RULE_TEXT_MAX];   /* as written */
	char reason[TG_RULE_TEXT_MAX]; /* default: when */
	struct tg_cond cond;
	int action;		 /* enum tg_action */
	uint64_t duration_ns;	 /* automatic lift after firing; 0: none */
	uint64_t clear_after_ns; /* with has_clear_after: false this long ends an episode */
	bool has_clear_after;	 /* absent: an episode ends at the first false sample */
	uint32_t escalate_count; /* 0: no escalation; else 2..TG_ESCALATE_COUNT_MAX */
	uint64_t escalate_within_ns;
	uint64_t throttle_bps; /* 0: none (then the rule never throttles) */
	uint64_t flowspec_bps; /* flowspec: rate-limit the flood to this; 0: discard it */
	bool monitor;	       /* evaluate and report, change nothing */
	int line;	       /* in tollgate.yaml */
	/* exempt: {customers, plans}: customers this rule never acts on. Owned by the config
	 * (tg_config_free); a copy of the rule (the engine's) must not read them. Customer ids
	 * not in the CSV are advice, not errors (tg_config_advice). */
	char (*exempt_ids)[TG_ID_LEN];
	size_t nexempt_ids;
	int *exempt_plans; /* indexes of tg_cfg.plans */
	size_t nexempt_plans;
	int exempt_line;
};

struct tg_enforce_cfg {
	uint64_t interval_ns;  /* default 1 s; 100 ms..60 s */
	uint64_t retention_ns; /* audit rows and delivered notifications; default 90 d, >= 1 h */
	bool monitor;	       /* every rule in monitor mode */
	struct tg_rule *rules; /* malloc'd, owned by the config */
	size_t nrules;
};

/* Free a rule's exempt lists (tg_config_free does it for every rule). */
void tg_rule_free_exempt(struct tg_rule *r);

const char *tg_metric_name(int metric);
int tg_metric_unit(int metric); /* enum tg_metric_unit */
/* The metric of this name (upload_<x> is accepted for the upload drop metrics), or -1. */
int tg_metric_lookup(const char *name);
double tg_metric_value(int metric, const struct tg_sample *s);
const char *tg_op_name(int op);
const char *tg_action_name(int action);
/* Is the condition true for this sample (not yet held: that needs for_ns of them)? */
bool tg_cond_true(const struct tg_cond *c, const struct tg_sample *s, double *value);

/*
 * Parse `when`: "<metric> <op> <value> [for <duration>]". Returns 0, or -EINVAL with the
 * problem in err (without a position) and *off the byte offset in s of the token at fault.
 */
int tg_cond_parse(const char *s, struct tg_cond *c, char *err, size_t errlen, size_t *off);

#endif /* TG_RULES_H */
