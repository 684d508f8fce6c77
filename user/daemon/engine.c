// SPDX-License-Identifier: GPL-2.0-only
/*
 * engine.c - the enforcement state machine (semantics in engine.h). The sparse state is
 * an open-addressing table of customers (linear probing, deletion by backward shift so
 * no tombstones pile up as customers come and go every second), each with a small array
 * of per-rule records. A customer with no entry and no true condition costs the rules'
 * comparisons and one probe of a table that is mostly empty.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define NONE INT64_MIN
#define EMPTY 0u /* a free slot: keys are customer + 1, so calloc gives an empty table */
#define HIST_MAX (TG_ESCALATE_COUNT_MAX - 1) /* earlier firings that can matter */

/* One (customer, rule) with something to remember. */
struct rrec {
	uint8_t rule;
	uint8_t nhist;
	uint8_t mon_state;   /* monitor rule: the state it would have set (TG_CS_*) */
	bool open;	     /* an episode is open */
	int64_t true_since;  /* first true sample of the current run, or NONE */
	int64_t false_since; /* open episode: first false sample of the current run, or NONE */
	int64_t fired_at;    /* open episode */
	int64_t mon_until;
	int64_t hist[HIST_MAX]; /* earlier firings, oldest first */
};

struct cust {
	uint32_t key; /* customer + 1; EMPTY: a free slot */
	uint8_t state;
	uint8_t nrr, caprr;
	int16_t rule;
	int64_t since, until;
	uint64_t throttle_bps;
	struct rrec *rr;
};

struct tg_engine {
	struct tg_rule *rules;
	size_t nrules;
	bool monitor;
	int64_t interval_ms;
	tg_eng_event_fn fn;
	void *ctx;
	struct cust *tab; /* 2^bits slots, at most 3/4 full */
	unsigned int bits;
	size_t n;
	bool refused; /* the callback refused an event of the customer at hand */
};

/* A customer's entry as it was before a call, to put back if the callback refuses. */
struct snap {
	uint32_t cust;
	bool had, ok; /* there was an entry; the copy was made */
	struct cust c;
	struct rrec *rr;
};

static int64_t ms(uint64_t ns)
{
	return (int64_t)(ns / TG_NS_PER_MS);
}

/* ---- the customer table ---- */

static size_t home(const struct tg_engine *e, uint32_t key)
{
	return (size_t)(((uint64_t)key * 0x9e3779b97f4a7c15ull) >> (64 - e->bits));
}

static struct cust *find(const struct tg_engine *e, uint32_t id)
{
	size_t mask, i;

	if (!e->n || id == UINT32_MAX)
		return NULL;
	mask = ((size_t)1 << e->bits) - 1;
	for (i = home(e, id + 1);; i = (i + 1) & mask) {
		if (e->tab[i].key == id + 1)
			return &e->tab[i];
		if (e->tab[i].key == EMPTY)
			return NULL;
	}
}

static int grow(struct tg_engine *e)
{
	unsigned int bits = e->tab ? e->bits + 1 : 6, obits = e->bits;
	size_t cap = (size_t)1 << bits, ocap = e->tab ? (size_t)1 << obits : 0;
	struct cust *old = e->tab, *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	e->tab = t;
	e->bits = bits;
	for (size_t i = 0; i < ocap; i++) {
		size_t j;

		if (old[i].key == EMPTY)
			continue;
		for (j = home(e, old[i].key); t[j].key != EMPTY; j = (j + 1) & (cap - 1))
			;
		t[j] = old[i];
	}
	free(old);
	return 0;
}

/* The customer's entry, made (active, nothing tracked) if it has none. NULL: -ENOMEM. */
static struct cust *get(struct tg_engine *e, uint32_t id)
{
	struct cust *c = find(e, id);
	size_t i, mask;

	if (c)
		return c;
	if (id == UINT32_MAX)
		return NULL;
	if ((!e->tab || (e->n + 1) * 4 > ((size_t)3 << e->bits)) && grow(e))
		return NULL;
	mask = ((size_t)1 << e->bits) - 1;
	for (i = home(e, id + 1); e->tab[i].key != EMPTY; i = (i + 1) & mask)
		;
	c = &e->tab[i];
	memset(c, 0, sizeof(*c));
	c->key = id + 1;
	c->rule = -1;
	e->n++;
	return c;
}

static void del(struct tg_engine *e, struct cust *c)
{
	size_t mask = ((size_t)1 << e->bits) - 1, i = (size_t)(c - e->tab), j = i;

	free(c->rr);
	c->key = EMPTY;
	e->n--;
	/* backward shift: move up every later entry of the cluster whose home is not in (i, j] */
	for (;;) {
		size_t k;

		j = (j + 1) & mask;
		if (e->tab[j].key == EMPTY)
			return;
		k = home(e, e->tab[j].key);
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		e->tab[i] = e->tab[j];
		e->tab[j].key = EMPTY;
		i = j;
	}
}

/* ---- per-rule records ---- */

static struct rrec *rr_find(const struct cust *c, int rule)
{
	for (unsigned int i = 0; i < c->nrr; i++) {
		if (c->rr[i].rule == rule)
			return &c->rr[i];
	}
	return NULL;
}

static struct rrec *rr_get(struct cust *c, int rule)
{
	struct rrec *r = rr_find(c, rule);

	if (r)
		return r;
	if (c->nrr == c->caprr) {
		unsigned int cap = c->caprr ? c->caprr * 2u : 2u;

		if (cap > TG_RULES_MAX)
			cap = TG_RULES_MAX;
		r = realloc(c->rr, cap * sizeof(*r));
		if (!r)
			return NULL;
		c->rr = r;
		c->caprr = (uint8_t)cap;
	}
	r = &c->rr[c->nrr++];
	memset(r, 0, sizeof(*r));
	r->rule = (uint8_t)rule;
	r->true_since = r->false_since = NONE;
	return r;
}

/* Firings at or before now - within no longer count. */
static void prune_hist(const struct tg_rule *r, struct rrec *rr, int64_t now)
{
	unsigned int k = 0;

	if (!r->escalate_count) {
		rr->nhist = 0;
		return;
	}
	while (k < rr->nhist && rr->hist[k] <= now - ms(r->escalate_within_ns))
		k++;
	memmove(rr->hist, rr->hist + k, (rr->nhist - k) * sizeof(rr->hist[0]));
	rr->nhist = (uint8_t)(rr->nhist - k);
}

/* Keep ts among the latest count - 1 firings, in order. */
static void add_hist(const struct tg_rule *r, struct rrec *rr, int64_t ts)
{
	unsigned int keep = r->escalate_count - 1, i;

	if (!r->escalate_count)
		return;
	for (i = rr->nhist; i > 0 && rr->hist[i - 1] > ts; i--)
		;
	if (rr->nhist == keep) {
		if (!i)
			return; /* older than all that are kept */
		memmove(rr->hist, rr->hist + 1, (i - 1) * sizeof(rr->hist[0]));
		rr->hist[i - 1] = ts;
		return;
	}
	memmove(rr->hist + i + 1, rr->hist + i, (rr->nhist - i) * sizeof(rr->hist[0]));
	rr->hist[i] = ts;
	rr->nhist++;
}

static bool rr_idle(const struct rrec *rr)
{
	return !rr->open && rr->true_since == NONE && !rr->nhist && rr->mon_state == TG_CS_ACTIVE;
}

/* Drop what no longer matters (now < 0: do not prune by time); true if c can go. */
static bool gc(const struct tg_engine *e, struct cust *c, int64_t now)
{
	for (unsigned int i = 0; i < c->nrr;) {
		struct rrec *rr = &c->rr[i];

		if (now >= 0)
			prune_hist(&e->rules[rr->rule], rr, now);
		if (rr_idle(rr))
			*rr = c->rr[--c->nrr];
		else
			i++;
	}
	return c->state == TG_CS_ACTIVE && !c->nrr;
}

/* ---- events ---- */

/* Once the callback refused one of the customer's events, the rest of the call emits
 * nothing for it: the call is undone (rollback) and comes again. */
static void emit(const struct tg_engine *e, struct tg_eng_event *ev)
{
	if (e->fn && !e->refused)
		e->fn(e->ctx, ev);
}

void tg_engine_refuse(struct tg_engine *e)
{
	e->refused = true;
}

static void snap_take(const struct tg_engine *e, uint32_t cust, struct snap *s)
{
	const struct cust *c = find(e, cust);

	memset(s, 0, sizeof(*s));
	s->cust = cust;
	s->had = c != NULL;
	s->ok = true;
	if (!c)
		return;
	s->c = *c;
	if (c->nrr) {
		s->rr = malloc(c->nrr * sizeof(*s->rr));
		if (s->rr)
			memcpy(s->rr, c->rr, c->nrr * sizeof(*s->rr));
		else
			s->ok = false; /* no copy: a refusal cannot be undone */
	}
}

/* After the call: if the callback refused, the customer's entry as it was. */
static void snap_end(struct tg_engine *e, struct snap *s)
{
	struct cust *c;

	if (!e->refused || !s->ok) {
		free(s->rr);
		e->refused = false;
		return;
	}
	e->refused = false;
	c = find(e, s->cust);
	if (!s->had) {
		if (c)
			del(e, c);
		return;
	}
	c = c ? c : get(e, s->cust);
	if (!c) { /* -ENOMEM: keep what the call left */
		free(s->rr);
		return;
	}
	free(c->rr);
	*c = s->c;
	c->rr = s->rr;
	c->caprr = c->nrr;
}

static bool is_monitor(const struct tg_engine *e, int rule)
{
	return e->monitor || e->rules[rule].monitor;
}

/* Is a state set by rule (-1: by hand) with this until due to lift at now? */
static bool lift_due(const struct tg_engine *e, const struct cust *c, int rule, int64_t until,
		     int64_t now)
{
	const struct tg_rule *r;
	const struct rrec *rr;
	bool open;

	if (rule < 0)
		return until && now >= until;
	r = &e->rules[rule];
	rr = rr_find(c, rule);
	open = rr && rr->open;
	if (until)
		return now >= until && !(r->has_clear_after && open);
	return r->has_clear_after && !open;
}

/*
 * A rule's state ran out its duration while the rule's episode is still open (the
 * condition still holds): the episode ends with it, and the condition's run starts again,
 * so the rule fires anew once it has held for its `for` again.
 */
static void end_with_lift(const struct tg_engine *e, struct cust *c, int rule, bool monitor,
			  int64_t now)
{
	struct rrec *rr = rule >= 0 ? rr_find(c, rule) : NULL;
	struct tg_eng_event ev = {.cust = c->key - 1,
				  .kind = TG_EV_EPISODE_CLOSE,
				  .rule = rule,
				  .monitor = monitor,
				  .at_ms = now};

	if (!rr || !rr->open)
		return;
	ev.fired_at_ms = rr->fired_at;
	ev.threshold = e->rules[rule].cond.threshold;
	rr->open = false;
	rr->false_since = NONE;
	rr->true_since = NONE;
	emit(e, &ev);
}

static void check_lifts(const struct tg_engine *e, struct cust *c, int64_t now)
{
	struct tg_eng_event ev = {.cust = c->key - 1, .kind = TG_EV_LIFT, .at_ms = now};

	if (c->state != TG_CS_ACTIVE && lift_due(e, c, c->rule, c->until, now)) {
		int rule = c->rule;
		bool by_time = c->until != 0;

		ev.rule = rule;
		ev.applied = true;
		c->state = TG_CS_ACTIVE;
		c->since = now;
		c->until = 0;
		c->rule = -1;
		c->throttle_bps = 0;
		emit(e, &ev);
		if (by_time)
			end_with_lift(e, c, rule, false, now);
	}
	for (unsigned int i = 0; i < c->nrr; i++) {
		struct rrec *rr = &c->rr[i];

		bool by_time;

		if (rr->mon_state == TG_CS_ACTIVE || !lift_due(e, c, rr->rule, rr->mon_until, now))
			continue;
		by_time = rr->mon_until != 0;
		rr->mon_state = TG_CS_ACTIVE;
		rr->mon_until = 0;
		ev.rule = rr->rule;
		ev.monitor = true;
		ev.applied = false;
		emit(e, &ev);
		if (by_time)
			end_with_lift(e, c, rr->rule, true, now);
	}
}

static void fire(const struct tg_engine *e, struct cust *c, int rule, double value, int64_t held,
		 int64_t now)
{
	const struct tg_rule *r = &e->rules[rule];
	struct rrec *rr = rr_find(c, rule);
	struct tg_eng_event ev = {
		.cust = c->key - 1,
		.rule = rule,
		.monitor = is_monitor(e, rule),
		.at_ms = now,
		.fired_at_ms = now,
		.value = value,
		.threshold = r->cond.threshold,
		.held_ms = held,
	};
	int action = r->action, level;

	rr->open = true;
	rr->fired_at = now;
	rr->false_since = NONE;
	if (r->escalate_count) {
		prune_hist(r, rr, now);
		if (rr->nhist + 1u >= r->escalate_count &&
		    (action == TG_ACT_NOTIFY || action == TG_ACT_THROTTLE ||
		     action == TG_ACT_FLOWSPEC)) {
			action++;
			ev.escalated = true;
		}
		add_hist(r, rr, now);
	}
	if (TG_ACT_MITIGATES(action)) {
		ev.kind = TG_EV_MITIGATE;
		ev.action = action;
		if (r->duration_ns)
			ev.until_ms = now + ms(r->duration_ns);
		emit(e, &ev);
		return;
	}
	ev.kind = action == TG_ACT_NOTIFY     ? TG_EV_NOTIFY
		  : action == TG_ACT_THROTTLE ? TG_EV_THROTTLE
					      : TG_EV_SUSPEND;
	level = action == TG_ACT_NOTIFY	    ? TG_CS_ACTIVE
		: action == TG_ACT_THROTTLE ? TG_CS_THROTTLED
					    : TG_CS_SUSPENDED;
	if (level != TG_CS_ACTIVE && r->duration_ns)
		ev.until_ms = now + ms(r->duration_ns);
	if (level == TG_CS_THROTTLED)
		ev.throttle_bps = r->throttle_bps;
	if (ev.monitor) {
		if (level > rr->mon_state) {
			rr->mon_state = (uint8_t)level;
			rr->mon_until = ev.until_ms;
		}
	} else if (level > c->state) {
		c->state = (uint8_t)level;
		c->since = now;
		c->until = ev.until_ms;
		c->rule = (int16_t)rule;
		c->throttle_bps = ev.throttle_bps;
		ev.applied = true;
	}
	emit(e, &ev);
}

/* ---- evaluation ---- */

/* The rule's condition on this sample; false for a customer exempt from the rule. */
static bool holds_now(const struct tg_rule *r, int i, const struct tg_sample *s, double *v)
{
	bool t = tg_cond_true(&r->cond, s, v);

	return t && !(s->exempt & (1ull << i));
}

static int eval_entry(struct tg_engine *e, struct cust *c, const struct tg_sample *s, int64_t now)
{
	double val[TG_RULES_MAX];
	int64_t held[TG_RULES_MAX];
	uint64_t firing = 0;

	for (size_t i = 0; i < e->nrules; i++) {
		const struct tg_rule *r = &e->rules[i];
		bool t = holds_now(r, (int)i, s, &val[i]);
		struct rrec *rr = rr_find(c, (int)i);

		if (!rr) {
			if (!t)
				continue;
			rr = rr_get(c, (int)i);
			if (!rr)
				return -ENOMEM;
		}
		if (t) {
			if (rr->true_since == NONE)
				rr->true_since = now;
			rr->false_since = NONE;
			held[i] = now - rr->true_since + e->interval_ms;
			if (!rr->open && held[i] >= ms(r->cond.for_ns))
				firing |= 1ull << i;
			continue;
		}
		rr->true_since = NONE;
		if (!rr->open)
			continue;
		if (rr->false_since == NONE)
			rr->false_since = now;
		if (now - rr->false_since + e->interval_ms >= ms(r->clear_after_ns)) {
			struct tg_eng_event ev = {
				.cust = c->key - 1,
				.kind = TG_EV_EPISODE_CLOSE,
				.rule = (int)i,
				.monitor = is_monitor(e, (int)i),
				.at_ms = now,
				.fired_at_ms = rr->fired_at,
				.value = val[i],
				.threshold = r->cond.threshold,
				.held_ms = now - rr->false_since + e->interval_ms,
			};

			rr->open = false;
			rr->false_since = NONE;
			emit(e, &ev);
		}
	}
	check_lifts(e, c, now);
	for (size_t i = 0; i < e->nrules; i++) {
		if (firing & (1ull << i))
			fire(e, c, (int)i, val[i], held[i], now);
	}
	return 0;
}

int tg_engine_eval(struct tg_engine *e, uint32_t cust, const struct tg_sample *s, int64_t now_ms)
{
	struct cust *c = find(e, cust);
	struct snap sn;
	int err;

	if (!c) {
		size_t i;
		double v;

		/* the common case: nothing tracked, nothing true, nothing to allocate */
		for (i = 0; i < e->nrules && !holds_now(&e->rules[i], (int)i, s, &v); i++)
			;
		if (i == e->nrules)
			return 0;
	}
	snap_take(e, cust, &sn);
	c = c ? c : get(e, cust);
	if (!c) {
		free(sn.rr);
		return -ENOMEM;
	}
	err = eval_entry(e, c, s, now_ms);
	if (gc(e, c, now_ms))
		del(e, c);
	snap_end(e, &sn);
	return err;
}

/* Delete the customers a walk found empty (deleting moves entries: only after the walk),
 * and free the list. */
static void del_all(struct tg_engine *e, uint32_t *dead, size_t ndead)
{
	for (size_t i = 0; i < ndead; i++) {
		struct cust *c = find(e, dead[i]);

		if (c)
			del(e, c);
	}
	free(dead);
}

int tg_engine_expire(struct tg_engine *e, int64_t now_ms)
{
	size_t cap = e->tab ? (size_t)1 << e->bits : 0, ndead = 0;
	uint32_t *dead = NULL;

	if (!e->n)
		return 0;
	dead = malloc(e->n * sizeof(*dead));
	for (size_t i = 0; i < cap; i++) {
		struct cust *c = &e->tab[i];

		if (c->key == EMPTY)
			continue;
		if (c->state != TG_CS_ACTIVE && c->until && c->until <= now_ms) {
			/* a lift may be refused: it is undone and tried at the next call */
			struct snap sn;
			uint32_t cust = c->key - 1;

			snap_take(e, cust, &sn);
			check_lifts(e, c, now_ms);
			if (e->refused && sn.ok) {
				/* put back in place: the table does not move (no del, no get) */
				e->refused = false;
				free(c->rr);
				*c = sn.c;
				c->rr = sn.rr;
				c->caprr = c->nrr;
				continue;
			}
			e->refused = false;
			free(sn.rr);
		} else {
			check_lifts(e, c, now_ms);
			e->refused = false;
		}
		if (gc(e, c, now_ms) && dead)
			dead[ndead++] = c->key - 1;
	}
	del_all(e, dead, ndead);
	return dead || !cap ? 0 : -ENOMEM;
}

/* ---- manual actions, queries, restore ---- */

int tg_engine_manual(struct tg_engine *e, uint32_t cust, int state, uint64_t throttle_bps,
		     int64_t until_ms, int64_t now_ms)
{
	struct tg_eng_event ev = {.cust = cust, .rule = -1, .applied = true, .at_ms = now_ms};
	struct cust *c;
	struct snap sn;
	bool refused;

	if (state < TG_CS_ACTIVE || state > TG_CS_SUSPENDED ||
	    (state == TG_CS_THROTTLED && !throttle_bps) || until_ms < 0)
		return -EINVAL;
	snap_take(e, cust, &sn);
	c = get(e, cust);
	if (!c) {
		free(sn.rr);
		return -ENOMEM;
	}
	c->state = (uint8_t)state;
	c->since = now_ms;
	c->until = state == TG_CS_ACTIVE ? 0 : until_ms;
	c->rule = -1;
	c->throttle_bps = state == TG_CS_THROTTLED ? throttle_bps : 0;
	ev.kind = state == TG_CS_ACTIVE	     ? TG_EV_LIFT
		  : state == TG_CS_THROTTLED ? TG_EV_THROTTLE
					     : TG_EV_SUSPEND;
	ev.until_ms = c->until;
	ev.throttle_bps = c->throttle_bps;
	emit(e, &ev);
	if (gc(e, c, now_ms))
		del(e, c);
	refused = e->refused;
	snap_end(e, &sn);
	return refused ? -ECANCELED : 0;
}

void tg_engine_forget(struct tg_engine *e, uint32_t cust)
{
	struct cust *c = find(e, cust);

	if (c)
		del(e, c);
}

void tg_engine_state(const struct tg_engine *e, uint32_t cust, struct tg_cust_state *out)
{
	const struct cust *c = find(e, cust);

	memset(out, 0, sizeof(*out));
	out->rule = -1;
	if (!c)
		return;
	out->state = c->state;
	out->since_ms = c->since;
	out->until_ms = c->until;
	out->rule = c->rule;
	out->throttle_bps = c->throttle_bps;
}

size_t tg_engine_tracked(const struct tg_engine *e)
{
	return e->n;
}

static bool rule_ok(const struct tg_engine *e, int rule)
{
	return rule >= 0 && (size_t)rule < e->nrules;
}

int tg_engine_restore_state(struct tg_engine *e, uint32_t cust, const struct tg_cust_state *st)
{
	struct cust *c;

	if (st->state < TG_CS_ACTIVE || st->state > TG_CS_SUSPENDED ||
	    (st->rule != -1 && !rule_ok(e, st->rule)) || st->until_ms < 0)
		return -EINVAL;
	if (st->state == TG_CS_ACTIVE) {
		c = find(e, cust);
		if (c) {
			c->state = TG_CS_ACTIVE;
			c->rule = -1;
			c->until = 0;
			c->throttle_bps = 0;
		}
		return 0;
	}
	c = get(e, cust);
	if (!c)
		return -ENOMEM;
	c->state = (uint8_t)st->state;
	c->since = st->since_ms;
	c->until = st->until_ms;
	c->rule = (int16_t)st->rule;
	c->throttle_bps = st->throttle_bps;
	return 0;
}

int tg_engine_restore_episode(struct tg_engine *e, uint32_t cust, int rule, int64_t fired_at_ms)
{
	struct cust *c;
	struct rrec *rr;

	if (!rule_ok(e, rule))
		return -EINVAL;
	c = get(e, cust);
	rr = c ? rr_get(c, rule) : NULL;
	if (!rr)
		return -ENOMEM;
	rr->open = true;
	rr->fired_at = fired_at_ms;
	return 0;
}

int tg_engine_restore_firing(struct tg_engine *e, uint32_t cust, int rule, int64_t at_ms)
{
	struct cust *c;
	struct rrec *rr;

	if (!rule_ok(e, rule))
		return -EINVAL;
	if (!e->rules[rule].escalate_count)
		return 0;
	c = get(e, cust);
	rr = c ? rr_get(c, rule) : NULL;
	if (!rr)
		return -ENOMEM;
	add_hist(&e->rules[rule], rr, at_ms);
	return 0;
}

/* ---- the engine and its rules ---- */

size_t tg_engine_nrules(const struct tg_engine *e)
{
	return e->nrules;
}

const struct tg_rule *tg_engine_rule(const struct tg_engine *e, int rule)
{
	return rule_ok(e, rule) ? &e->rules[rule] : NULL;
}

int tg_engine_rule_index(const struct tg_engine *e, const char *name)
{
	for (size_t i = 0; i < e->nrules; i++) {
		if (!strcmp(e->rules[i].name, name))
			return (int)i;
	}
	return -1;
}

static int64_t interval_ms(const struct tg_enforce_cfg *cfg)
{
	return ms(cfg->interval_ns ? cfg->interval_ns : TG_INTERVAL_DEFAULT_NS);
}

struct tg_engine *tg_engine_new(const struct tg_enforce_cfg *cfg, tg_eng_event_fn fn, void *ctx)
{
	struct tg_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->fn = fn;
	e->ctx = ctx;
	if (tg_engine_set_rules(e, cfg)) {
		free(e);
		return NULL;
	}
	return e;
}

void tg_engine_free(struct tg_engine *e)
{
	size_t cap;

	if (!e)
		return;
	cap = e->tab ? (size_t)1 << e->bits : 0;
	for (size_t i = 0; i < cap; i++) {
		if (e->tab[i].key != EMPTY)
			free(e->tab[i].rr);
	}
	free(e->tab);
	free(e->rules);
	free(e);
}

int tg_engine_set_rules(struct tg_engine *e, const struct tg_enforce_cfg *cfg)
{
	size_t n = cfg->nrules < TG_RULES_MAX ? cfg->nrules : TG_RULES_MAX, ndead = 0;
	size_t cap = e->tab ? (size_t)1 << e->bits : 0;
	struct tg_rule *rules = calloc(n ? n : 1, sizeof(*rules));
	int map[TG_RULES_MAX];
	uint32_t *dead;

	if (!rules)
		return -ENOMEM;
	dead = e->n ? malloc(e->n * sizeof(*dead)) : NULL;
	if (e->n && !dead) {
		free(rules);
		return -ENOMEM;
	}
	if (n)
		memcpy(rules, cfg->rules, n * sizeof(*rules));
	for (size_t i = 0; i < e->nrules; i++) {
		map[i] = -1;
		for (size_t j = 0; j < n; j++) {
			if (!strcmp(e->rules[i].name, rules[j].name)) {
				map[i] = (int)j;
				break;
			}
		}
	}
	free(e->rules);
	e->rules = rules;
	e->nrules = n;
	e->monitor = cfg->monitor;
	e->interval_ms = interval_ms(cfg);

	for (size_t i = 0; i < cap; i++) {
		struct cust *c = &e->tab[i];

		if (c->key == EMPTY)
			continue;
		if (c->rule >= 0) {
			c->rule = (int16_t)map[c->rule];
			/* a removed rule's state lifts at its until or by hand */
		}
		for (unsigned int k = 0; k < c->nrr;) {
			struct rrec *rr = &c->rr[k];
			int to = map[rr->rule];

			if (to < 0) {
				*rr = c->rr[--c->nrr];
				continue;
			}
			rr->rule = (uint8_t)to;
			if (!is_monitor(e, to)) {
				rr->mon_state = TG_CS_ACTIVE;
				rr->mon_until = 0;
			}
			if (!rules[to].escalate_count) {
				rr->nhist = 0;
			} else if (rr->nhist > rules[to].escalate_count - 1) {
				unsigned int drop = rr->nhist - (rules[to].escalate_count - 1);

				memmove(rr->hist, rr->hist + drop,
					(rr->nhist - drop) * sizeof(rr->hist[0]));
				rr->nhist = (uint8_t)(rr->nhist - drop);
			}
			k++;
		}
		if (gc(e, c, -1))
			dead[ndead++] = c->key - 1;
	}
	del_all(e, dead, ndead);
	return 0;
}
