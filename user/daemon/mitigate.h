/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mitigate.h - tollgated's upstream mitigation: the announcements that should be in
 * force (the desired set), and a thread of its own that keeps the BGP daemon's RIB equal
 * to it (user/mitigation/: tg_mit_reconcile through the GoBGP adapter), every
 * TG_MIT_RECONCILE_MS and whenever the set changes. The enforcer (enforce.c) decides and
 * records: a rule's flowspec or blackhole firing, a withdrawal, a request by hand; the
 * record (audit row and the mitigation table's row, one transaction) comes first, the set
 * after, the speaker last. A speaker that is down or slow never holds up enforcement: it
 * is only ever called from this thread, and reconciled when it answers again (also after
 * it restarted empty).
 */
#ifndef TG_MITIGATE_H
#define TG_MITIGATE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "config/config.h"
#include "mitigation/mitigation.h"

#define TG_MIT_RECONCILE_MS 10000 /* the speaker is compared with the set at least this often */

struct tg_mit_entry {
	struct tg_mit m;
	char key[TG_MIT_KEY_LEN];
	char customer[TG_ID_LEN];
	char rule[64];		      /* "": by hand */
	int64_t started_ms, until_ms; /* wall clock */
	int64_t until_mono;	      /* tg_mono_ms: the withdrawal is due */
	bool with_episode; /* due once the rule's episode has ended (a rule with clear_after or
			    * without a duration) ... */
	bool timed;	   /* ... and, with a duration too, once until has passed */
	bool episode_open;
	int64_t audit_id;
};

struct tg_mitigator;

int tg_mitigator_new(struct tg_mitigator **out);
void tg_mitigator_free(struct tg_mitigator *g);
/* The mitigation: section (a reload): the policy, and the speaker (a new adapter when its
 * settings changed). The thread starts at the first call with the section present. */
int tg_mitigator_configure(struct tg_mitigator *g, const struct tg_mitigation_cfg *mc, char *err,
			   size_t errlen);
bool tg_mitigator_enabled(const struct tg_mitigator *g);
const struct tg_mit_policy *tg_mitigator_policy(const struct tg_mitigator *g);

/* The desired set. add replaces an entry of the same key; all of them kick the thread. */
int tg_mitigator_add(struct tg_mitigator *g, const struct tg_mit_entry *en);
bool tg_mitigator_remove(struct tg_mitigator *g, const char *key);
bool tg_mitigator_get(struct tg_mitigator *g, const char *key, struct tg_mit_entry *out);
size_t tg_mitigator_count(struct tg_mitigator *g);
/* Entries due for withdrawal at now_mono (up to max into out): the number. */
size_t tg_mitigator_due(struct tg_mitigator *g, int64_t now_mono, struct tg_mit_entry *out,
			size_t max);
/* A rule's episode for the customer ended: its entries may now be due. */
void tg_mitigator_episode_closed(struct tg_mitigator *g, const char *customer, const char *rule);
/* A refusal by the policy or the cap, counted for /metrics (reason: "cap", "policy",
 * "no_host"). */
void tg_mitigator_count_refusal(struct tg_mitigator *g, const char *reason);

/* {"monitor", "speaker": {name, target, last_ok, last_error, peers: [{address, asn, up}]},
 *  "active": [{key, kind, prefix, customer, rule, started, until, ...}], "max_active"} */
json_t *tg_mitigator_json(struct tg_mitigator *g);
/* The /metrics lines: tollgate_mitigations_active{kind}, tollgate_bgp_session_up{peer},
 * tollgate_mitigation_refused_total{reason}, tollgate_mitigation_speaker_errors_total.
 * malloc'd text ("" when mitigation is off). */
char *tg_mitigator_metrics(struct tg_mitigator *g);

#endif /* TG_MITIGATE_H */
