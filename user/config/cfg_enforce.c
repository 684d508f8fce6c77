// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_enforce.c - the `enforcement` section of tollgate.yaml: interval, monitor, retention
 * and the rules (name, when, action, duration, escalation, ...). A rule's `when` is parsed
 * by rules.c; an error in it points at the token it is about.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"

/* A duration ("30s", "1h30m") in ns; -EINVAL after an error. zero_ok: "0s" is allowed. */
int parse_dur(struct ctx *c, const yaml_node_t *n, const char *what, bool zero_ok, uint64_t *out)
{
	const char *v = nonempty(c, n, what);

	if (!v)
		return -EINVAL;
	if (tg_parse_duration_ns(v, out)) {
		yerr(c, n, "%s: '%s' is not a duration (e.g. 30s, 10m, 1h, 7d)", what, v);
		return -EINVAL;
	}
	if (!zero_ok && !*out) {
		yerr(c, n, "%s: must be above zero", what);
		return -EINVAL;
	}
	return 0;
}

/*
 * An error in `when` at the token it is about: the scalar's column plus the offset, when
 * the scalar is on one line and written as itself (plain, or quoted without escapes).
 */
static void when_err(struct ctx *c, const yaml_node_t *n, size_t off, const char *name,
		     const char *msg)
{
	size_t line, col;
	const char *v = (const char *)n->data.scalar.value;
	int style = n->data.scalar.style;

	mark_pos(c, &n->start_mark, &line, &col);
	if (n->start_mark.line == n->end_mark.line &&
	    (style == YAML_PLAIN_SCALAR_STYLE ||
	     (style == YAML_SINGLE_QUOTED_SCALAR_STYLE && !strchr(v, '\'')) ||
	     (style == YAML_DOUBLE_QUOTED_SCALAR_STYLE && !strpbrk(v, "\\\""))))
		col += off + (style != YAML_PLAIN_SCALAR_STYLE);
	add_err(c, line, col, "rule '%s': when: %s", name, msg);
}

/* Letters, digits, '-', '_', '.': a name the CLI and the audit log show as it is. */
static bool valid_rule_name(const char *s)
{
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
	       strlen(s);
}

enum { ES_COUNT, ES_WITHIN, ES_NR };
static const char *const es_keys[ES_NR] = {"count", "within"};

static void parse_escalate(struct ctx *c, yaml_node_t *n, struct tg_rule *r)
{
	yaml_node_t *v[ES_NR];
	const char *s;
	uint64_t within;

	if (!want(c, n, YAML_MAPPING_NODE, "escalate"))
		return;
	map_keys(c, n, "escalate", es_keys, ES_NR, v, NULL);
	if (!v[ES_COUNT] || !v[ES_WITHIN])
		yerr(c, n,
		     "rule '%s': escalate needs count and within (e.g. { count: 3, within: 7d })",
		     r->name);
	if (v[ES_COUNT] && (s = nonempty(c, v[ES_COUNT], "escalate.count"))) {
		unsigned long x = strtoul(s, NULL, 10);

		if (strspn(s, "0123456789") != strlen(s) || strlen(s) > 3 || x < 2 ||
		    x > TG_ESCALATE_COUNT_MAX)
			yerr(c, v[ES_COUNT],
			     "escalate.count: '%s': want a whole number from 2 to %u (the firing "
			     "that takes the next action)",
			     s, TG_ESCALATE_COUNT_MAX);
		else
			r->escalate_count = (uint32_t)x;
	}
	if (v[ES_WITHIN] && !parse_dur(c, v[ES_WITHIN], "escalate.within", false, &within))
		r->escalate_within_ns = within;
	if (!r->escalate_count || !r->escalate_within_ns) {
		r->escalate_count = 0;
		r->escalate_within_ns = 0;
	}
}

enum {
	RU_NAME,
	RU_WHEN,
	RU_ACTION,
	RU_DURATION,
	RU_REASON,
	RU_ESCALATE,
	RU_THROTTLE_RATE,
	RU_CLEAR_AFTER,
	RU_MONITOR,
	RU_FLOWSPEC_RATE,
	RU_EXEMPT,
	RU_NR
};
static const char *const ru_keys[RU_NR] = {
	"name",		 "when",	"action",  "duration",	    "reason", "escalate",
	"throttle_rate", "clear_after", "monitor", "flowspec_rate", "exempt"};

enum { EX_CUSTOMERS, EX_PLANS, EX_NR };
static const char *const ex_keys[EX_NR] = {"customers", "plans"};
#define TG_EXEMPT_IDS_MAX 4096u /* customer ids in one rule's exempt.customers */

/* The items of a list under exempt.WHAT, or 0 (with an error if it is not a list). */
static size_t exempt_list(struct ctx *c, yaml_node_t *n, const char *rn, const char *what)
{
	char w[TG_RULE_NAME_MAX + 32];

	snprintf(w, sizeof(w), "rule '%s': exempt.%s", rn, what);
	if (!n || is_null(n) || !want(c, n, YAML_SEQUENCE_NODE, w))
		return 0;
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

/*
 * exempt: { customers: [ID, ...], plans: [PLAN, ...] }: customers the rule never acts on
 * (a speed-test server, a monitoring host). A plan must be one of plans: (an error
 * otherwise); a customer id is checked against the CSV later, as advice (tg_config_advice):
 * the CSV comes from billing and a customer leaving it must not make every reload fail.
 */
static void parse_exempt(struct ctx *c, yaml_node_t *n, const char *rn, struct tg_rule *r)
{
	yaml_node_t *v[EX_NR];
	size_t ni, np;
	const char *s;

	if (!want(c, n, YAML_MAPPING_NODE, "exempt"))
		return;
	r->exempt_line = (int)n->start_mark.line + 1;
	map_keys(c, n, "exempt", ex_keys, EX_NR, v, NULL);
	if (!v[EX_CUSTOMERS] && !v[EX_PLANS])
		yerr(c, n,
		     "rule '%s': exempt needs customers or plans (e.g. { customers: [speedtest-1], "
		     "plans: [monitoring] })",
		     rn);
	ni = exempt_list(c, v[EX_CUSTOMERS], rn, "customers");
	np = exempt_list(c, v[EX_PLANS], rn, "plans");
	if (ni > TG_EXEMPT_IDS_MAX) {
		yerr(c, v[EX_CUSTOMERS],
		     "rule '%s': exempt.customers: %zu ids, at most %u (exempt "
		     "a plan instead)",
		     rn, ni, TG_EXEMPT_IDS_MAX);
		ni = 0;
	}
	if (ni && !(r->exempt_ids = calloc(ni, sizeof(*r->exempt_ids))))
		c->oom = 1;
	if (np && !(r->exempt_plans = calloc(np, sizeof(*r->exempt_plans))))
		c->oom = 1;
	for (size_t i = 0; r->exempt_ids && i < ni; i++) {
		yaml_node_t *e = node(c, v[EX_CUSTOMERS]->data.sequence.items.start[i]);

		if (!e || !(s = nonempty(c, e, "exempt.customers")))
			continue;
		if (strlen(s) >= TG_ID_LEN) {
			yerr(c, e,
			     "rule '%s': exempt.customers: '%s' is longer than a customer id "
			     "(%u characters)",
			     rn, s, TG_ID_LEN - 1);
			continue;
		}
		snprintf(r->exempt_ids[r->nexempt_ids++], TG_ID_LEN, "%s", s);
	}
	for (size_t i = 0; r->exempt_plans && i < np; i++) {
		yaml_node_t *e = node(c, v[EX_PLANS]->data.sequence.items.start[i]);
		size_t p;

		if (!e || !(s = nonempty(c, e, "exempt.plans")))
			continue;
		for (p = 0; p < c->cfg->nplans && strcmp(c->cfg->plans[p].name, s); p++)
			;
		if (p == c->cfg->nplans) {
			yerr(c, e, "rule '%s': exempt.plans: no plan '%s' in plans:", rn, s);
			continue;
		}
		r->exempt_plans[r->nexempt_plans++] = (int)p;
	}
}

void tg_rule_free_exempt(struct tg_rule *r)
{
	free(r->exempt_ids);
	free(r->exempt_plans);
	r->exempt_ids = NULL;
	r->exempt_plans = NULL;
	r->nexempt_ids = r->nexempt_plans = 0;
}

static void parse_rule(struct ctx *c, yaml_node_t *n)
{
	struct tg_enforce_cfg *ec = &c->cfg->enforcement;
	struct tg_rule r = {.action = -1};
	yaml_node_t *v[RU_NR];
	const char *s, *rn = "?";

	if (!want(c, n, YAML_MAPPING_NODE, "an entry of enforcement.rules"))
		return;
	r.line = (int)n->start_mark.line + 1;
	map_keys(c, n, "a rule", ru_keys, RU_NR, v, NULL);

	if (!v[RU_NAME]) {
		yerr(c, n, "rule without a name");
	} else if ((s = nonempty(c, v[RU_NAME], "rule name"))) {
		rn = s; /* the rule's other errors name it even if the name is wrong */
		if (strlen(s) >= TG_RULE_NAME_MAX)
			yerr(c, v[RU_NAME], "rule name '%s' is longer than %u characters", s,
			     TG_RULE_NAME_MAX - 1);
		else if (!valid_rule_name(s))
			yerr(c, v[RU_NAME],
			     "rule name '%s': use letters, digits, '-', '_' and '.' only", s);
		else
			snprintf(r.name, sizeof(r.name), "%s", s);
	}
	for (size_t i = 0; r.name[0] && i < ec->nrules; i++) {
		if (!strcmp(ec->rules[i].name, r.name)) {
			yerr(c, v[RU_NAME], "rule '%s' is defined twice (first on line %d)", r.name,
			     ec->rules[i].line);
			r.name[0] = '\0';
			break;
		}
	}
	if (!v[RU_WHEN]) {
		yerr(c, n, "rule '%s': 'when' is required (e.g. when: \"spoof_pps > 50 for 30s\")",
		     rn);
	} else if ((s = nonempty(c, v[RU_WHEN], "when"))) {
		char msg[400];
		size_t off = 0;

		if (strlen(s) >= TG_RULE_TEXT_MAX)
			yerr(c, v[RU_WHEN], "rule '%s': when is longer than %u characters", rn,
			     TG_RULE_TEXT_MAX - 1);
		else if (tg_cond_parse(s, &r.cond, msg, sizeof(msg), &off))
			when_err(c, v[RU_WHEN], off, rn, msg);
		else
			snprintf(r.when, sizeof(r.when), "%s", s);
	}
	if (!v[RU_ACTION]) {
		yerr(c, n,
		     "rule '%s': 'action' is required (notify, throttle, suspend, flowspec or "
		     "blackhole)",
		     rn);
	} else if ((s = scalar(c, v[RU_ACTION], "action"))) {
		if (!strcmp(s, "notify"))
			r.action = TG_ACT_NOTIFY;
		else if (!strcmp(s, "throttle"))
			r.action = TG_ACT_THROTTLE;
		else if (!strcmp(s, "suspend"))
			r.action = TG_ACT_SUSPEND;
		else if (!strcmp(s, "flowspec"))
			r.action = TG_ACT_FLOWSPEC;
		else if (!strcmp(s, "blackhole"))
			r.action = TG_ACT_BLACKHOLE;
		else
			yerr(c, v[RU_ACTION],
			     "rule '%s': unknown action '%s' (want notify, throttle, suspend, "
			     "flowspec or blackhole)",
			     rn, s);
		if (TG_ACT_MITIGATES(r.action))
			c->mit_rule_line =
				c->mit_rule_line ? c->mit_rule_line : (int)n->start_mark.line + 1;
	}
	if (v[RU_DURATION])
		parse_dur(c, v[RU_DURATION], "duration", false, &r.duration_ns);
	if (v[RU_CLEAR_AFTER] &&
	    !parse_dur(c, v[RU_CLEAR_AFTER], "clear_after", true, &r.clear_after_ns))
		r.has_clear_after = true;
	if (v[RU_REASON] && (s = nonempty(c, v[RU_REASON], "reason"))) {
		if (strlen(s) >= TG_RULE_TEXT_MAX)
			yerr(c, v[RU_REASON], "rule '%s': reason is longer than %u characters", rn,
			     TG_RULE_TEXT_MAX - 1);
		else
			snprintf(r.reason, sizeof(r.reason), "%s", s);
	}
	if (!r.reason[0])
		snprintf(r.reason, sizeof(r.reason), "%s", r.when);
	if (v[RU_THROTTLE_RATE])
		parse_rate(c, v[RU_THROTTLE_RATE], "throttle_rate", &r.throttle_bps);
	if (v[RU_MONITOR])
		parse_bool(c, v[RU_MONITOR], "monitor", &r.monitor);
	if (v[RU_FLOWSPEC_RATE]) {
		parse_rate(c, v[RU_FLOWSPEC_RATE], "flowspec_rate", &r.flowspec_bps);
		if (r.action != TG_ACT_FLOWSPEC)
			yerr(c, v[RU_FLOWSPEC_RATE],
			     "rule '%s': flowspec_rate is for action flowspec (the rate the "
			     "upstream limits the flood to)",
			     rn);
	}
	if (v[RU_ESCALATE]) {
		parse_escalate(c, v[RU_ESCALATE], &r);
		if (r.action == TG_ACT_BLACKHOLE)
			yerr(c, v[RU_ESCALATE],
			     "rule '%s': escalate on a blackhole rule: there is no mitigation "
			     "above blackhole",
			     rn);
		if (r.action == TG_ACT_SUSPEND)
			yerr(c, v[RU_ESCALATE],
			     "rule '%s': escalate on a suspend rule: there is no action above "
			     "suspend",
			     rn);
	}
	/* a throttle_rate that did not parse has been reported already */
	if (!r.throttle_bps && !v[RU_THROTTLE_RATE]) {
		if (r.action == TG_ACT_THROTTLE)
			yerr(c, n, "rule '%s': action throttle needs throttle_rate (e.g. 10mbit)",
			     rn);
		else if (r.action == TG_ACT_NOTIFY && r.escalate_count)
			yerr(c, n,
			     "rule '%s': escalation reaches throttle: throttle_rate is required "
			     "(e.g. 10mbit)",
			     rn);
	}
	if (v[RU_EXEMPT])
		parse_exempt(c, v[RU_EXEMPT], rn, &r);
	if (ec->nrules < TG_RULES_MAX && r.name[0])
		ec->rules[ec->nrules++] = r;
	else
		tg_rule_free_exempt(&r);
}

enum { EN_INTERVAL, EN_MONITOR, EN_RETENTION, EN_RULES, EN_NR };
static const char *const en_keys[EN_NR] = {"interval", "monitor", "retention", "rules"};

void parse_enforcement(struct ctx *c, yaml_node_t *n)
{
	struct tg_enforce_cfg *ec = &c->cfg->enforcement;
	yaml_node_t *v[EN_NR];
	uint64_t ns;
	size_t cnt;

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "enforcement"))
		return;
	map_keys(c, n, "enforcement", en_keys, EN_NR, v, NULL);
	if (v[EN_INTERVAL] && !parse_dur(c, v[EN_INTERVAL], "enforcement.interval", true, &ns)) {
		if (ns < TG_INTERVAL_MIN_NS || ns > TG_INTERVAL_MAX_NS)
			yerr(c, v[EN_INTERVAL],
			     "enforcement.interval: %s is out of range (100ms..60s)",
			     (const char *)v[EN_INTERVAL]->data.scalar.value);
		else
			ec->interval_ns = ns;
	}
	if (v[EN_RETENTION] && !parse_dur(c, v[EN_RETENTION], "enforcement.retention", true, &ns)) {
		if (ns < TG_RETENTION_MIN_NS)
			yerr(c, v[EN_RETENTION],
			     "enforcement.retention: %s is below the minimum of 1h",
			     (const char *)v[EN_RETENTION]->data.scalar.value);
		else
			ec->retention_ns = ns;
	}
	if (v[EN_MONITOR])
		parse_bool(c, v[EN_MONITOR], "enforcement.monitor", &ec->monitor);
	if (!v[EN_RULES] || is_null(v[EN_RULES]) ||
	    !want(c, v[EN_RULES], YAML_SEQUENCE_NODE, "enforcement.rules"))
		return;
	cnt = (size_t)(v[EN_RULES]->data.sequence.items.top -
		       v[EN_RULES]->data.sequence.items.start);
	if (cnt > TG_RULES_MAX)
		yerr(c, v[EN_RULES], "enforcement.rules: %zu rules, at most %u", cnt, TG_RULES_MAX);
	ec->rules = calloc(TG_RULES_MAX, sizeof(*ec->rules));
	if (!ec->rules) {
		c->oom = 1;
		return;
	}
	for (yaml_node_item_t *it = v[EN_RULES]->data.sequence.items.start;
	     it < v[EN_RULES]->data.sequence.items.top; it++) {
		yaml_node_t *e = node(c, *it);

		if (e)
			parse_rule(c, e);
	}
}
