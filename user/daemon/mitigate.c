// SPDX-License-Identifier: GPL-2.0-only
/*
 * mitigate.c - the desired set of announcements and the thread that reconciles the BGP
 * speaker to it (mitigate.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/lib.h"
#include "mitigate.h"
#include "state/state.h"

struct tg_mitigator {
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t kick;
	pthread_t thread;
	bool running, stop, dirty;

	bool enabled;
	struct tg_mit_policy pol;
	struct tg_bgp bgp; /* ops NULL: none */
	char speaker_path[256], speaker_target[256];
	int speaker_timeout;

	struct tg_mit_entry *set;
	size_t n, cap;

	/* what the thread saw */
	struct tg_bgp_peer *peers;
	size_t npeers;
	int64_t last_ok_ms; /* wall clock of the last reconcile that succeeded */
	char last_error[512];
	uint64_t errors, refused_cap, refused_policy, refused_no_host;
	unsigned announced, withdrawn; /* by the thread, in total */
};

int tg_mitigator_new(struct tg_mitigator **out)
{
	struct tg_mitigator *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->kick, &ca);
	pthread_condattr_destroy(&ca);
	*out = g;
	return 0;
}

void tg_mitigator_free(struct tg_mitigator *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->kick);
	pthread_mutex_unlock(&g->lock);
	if (g->running)
		pthread_join(g->thread, NULL);
	if (g->bgp.ops)
		g->bgp.ops->close(g->bgp.ctx);
	free(g->set);
	free(g->peers);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->kick);
	free(g);
}

/* One round: the set as it is now (monitor: nothing is announced) against the speaker. */
static void reconcile(struct tg_mitigator *g)
{
	struct tg_mit *want = NULL;
	struct tg_bgp_peer *peers = NULL;
	struct tg_mit_policy pol;
	struct tg_bgp bgp;
	size_t n = 0, np = 0;
	unsigned na = 0, nw = 0;
	char err[512] = "", perr[512] = "";
	int rc, prc;

	pthread_mutex_lock(&g->lock);
	pol = g->pol;
	bgp = g->bgp;
	want = calloc(g->n + 1, sizeof(*want));
	if (want && !pol.monitor)
		for (size_t i = 0; i < g->n; i++)
			want[n++] = g->set[i].m;
	g->dirty = false;
	pthread_mutex_unlock(&g->lock);
	if (!want || !bgp.ops) {
		free(want);
		return;
	}
	/* the speaker's calls run without the lock: enforcement never waits for them (the
	 * adapter is replaced only by configure, which waits for this round: see there) */
	rc = tg_mit_reconcile(&bgp, &pol, want, n, &na, &nw, err, sizeof(err));
	prc = bgp.ops->peers(bgp.ctx, &peers, &np, perr, sizeof(perr));
	free(want);
	pthread_mutex_lock(&g->lock);
	g->announced += na;
	g->withdrawn += nw;
	if (rc) {
		g->errors++;
		snprintf(g->last_error, sizeof(g->last_error), "%s", err);
	} else if (prc) {
		g->errors++;
		snprintf(g->last_error, sizeof(g->last_error), "%s", perr);
	} else {
		g->last_ok_ms = tg_now_ms();
		g->last_error[0] = '\0';
	}
	if (!prc) {
		free(g->peers);
		g->peers = peers;
		g->npeers = np;
	} else {
		for (size_t i = 0; i < g->npeers; i++) /* unknown now: not up */
			g->peers[i].up = false;
	}
	pthread_mutex_unlock(&g->lock);
	if (rc)
		tg_warn("mitigation: the BGP speaker: %s (tried again within %d s)", err,
			TG_MIT_RECONCILE_MS / 1000);
	else if (na || nw)
		tg_info("mitigation: %u announced, %u withdrawn", na, nw);
}

static void *run(void *arg)
{
	struct tg_mitigator *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec ts;

		if (!g->dirty) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += TG_MIT_RECONCILE_MS / 1000;
			pthread_cond_timedwait(&g->kick, &g->lock, &ts);
		}
		if (g->stop)
			break;
		pthread_mutex_unlock(&g->lock);
		reconcile(g);
		pthread_mutex_lock(&g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int tg_mitigator_configure(struct tg_mitigator *g, const struct tg_mitigation_cfg *mc, char *err,
			   size_t errlen)
{
	struct tg_mit_policy pol = {0};
	bool respeak;
	int rc = 0;

	if (!mc->enabled) {
		pthread_mutex_lock(&g->lock);
		g->enabled = false;
		pthread_mutex_unlock(&g->lock);
		return 0;
	}
	pol.monitor = mc->monitor;
	pol.v4_len = 32;
	pol.v6_len = mc->ipv6_length ? mc->ipv6_length : 128;
	pol.max_active = mc->max_active;
	pol.max_duration_ms = (int64_t)(mc->max_duration_ns / 1000000);
	for (unsigned i = 0; i < mc->ncommunities && i < TG_MIT_COMMS; i++)
		snprintf(pol.comms[pol.ncomms++], sizeof(pol.comms[0]), "%s", mc->communities[i]);
	snprintf(pol.next_hop4, sizeof(pol.next_hop4), "%s", mc->next_hop4);
	snprintf(pol.next_hop6, sizeof(pol.next_hop6), "%s", mc->next_hop6);

	pthread_mutex_lock(&g->lock);
	respeak = !g->bgp.ops || strcmp(g->speaker_path, mc->gobgp ? mc->gobgp : "gobgp") ||
		  strcmp(g->speaker_target, mc->target ? mc->target : "") ||
		  g->speaker_timeout != (int)mc->timeout_ms;
	pthread_mutex_unlock(&g->lock);
	if (respeak) {
		struct tg_bgp nb = {0}, old;

		rc = tg_bgp_gobgp(&nb, mc->gobgp, mc->target ? mc->target : "",
				  (int)mc->timeout_ms);
		if (rc) {
			snprintf(err, errlen, "mitigation: the GoBGP adapter: %s", strerror(-rc));
			return rc;
		}
		/* the thread may be using the old adapter: stop it, swap, start again */
		if (g->running) {
			pthread_mutex_lock(&g->lock);
			g->stop = true;
			pthread_cond_signal(&g->kick);
			pthread_mutex_unlock(&g->lock);
			pthread_join(g->thread, NULL);
			g->running = false;
			g->stop = false;
		}
		pthread_mutex_lock(&g->lock);
		old = g->bgp;
		g->bgp = nb;
		snprintf(g->speaker_path, sizeof(g->speaker_path), "%s",
			 mc->gobgp ? mc->gobgp : "gobgp");
		snprintf(g->speaker_target, sizeof(g->speaker_target), "%s",
			 mc->target ? mc->target : "");
		g->speaker_timeout = (int)mc->timeout_ms;
		pthread_mutex_unlock(&g->lock);
		if (old.ops)
			old.ops->close(old.ctx);
	}
	pthread_mutex_lock(&g->lock);
	g->pol = pol;
	g->enabled = true;
	g->dirty = true;
	pthread_mutex_unlock(&g->lock);
	if (!g->running) {
		rc = pthread_create(&g->thread, NULL, run, g);
		if (rc) {
			snprintf(err, errlen, "mitigation: cannot start its thread: %s",
				 strerror(rc));
			return -rc;
		}
		g->running = true;
	}
	pthread_cond_signal(&g->kick);
	return 0;
}

bool tg_mitigator_enabled(const struct tg_mitigator *g)
{
	return g && g->enabled;
}

const struct tg_mit_policy *tg_mitigator_policy(const struct tg_mitigator *g)
{
	return &g->pol;
}

static ssize_t find(const struct tg_mitigator *g, const char *key)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->set[i].key, key))
			return (ssize_t)i;
	return -1;
}

int tg_mitigator_add(struct tg_mitigator *g, const struct tg_mit_entry *en)
{
	ssize_t i;

	pthread_mutex_lock(&g->lock);
	i = find(g, en->key);
	if (i < 0) {
		if (g->n == g->cap) {
			size_t nc = g->cap ? 2 * g->cap : 16;
			struct tg_mit_entry *ns = realloc(g->set, nc * sizeof(*ns));

			if (!ns) {
				pthread_mutex_unlock(&g->lock);
				return -ENOMEM;
			}
			g->set = ns;
			g->cap = nc;
		}
		i = (ssize_t)g->n++;
	}
	g->set[i] = *en;
	g->dirty = true;
	pthread_cond_signal(&g->kick);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

bool tg_mitigator_remove(struct tg_mitigator *g, const char *key)
{
	ssize_t i;

	pthread_mutex_lock(&g->lock);
	i = find(g, key);
	if (i >= 0) {
		g->set[i] = g->set[--g->n];
		g->dirty = true;
		pthread_cond_signal(&g->kick);
	}
	pthread_mutex_unlock(&g->lock);
	return i >= 0;
}

bool tg_mitigator_get(struct tg_mitigator *g, const char *key, struct tg_mit_entry *out)
{
	ssize_t i;

	pthread_mutex_lock(&g->lock);
	i = find(g, key);
	if (i >= 0)
		*out = g->set[i];
	pthread_mutex_unlock(&g->lock);
	return i >= 0;
}

size_t tg_mitigator_count(struct tg_mitigator *g)
{
	size_t n;

	pthread_mutex_lock(&g->lock);
	n = g->n;
	pthread_mutex_unlock(&g->lock);
	return n;
}

size_t tg_mitigator_due(struct tg_mitigator *g, int64_t now_mono, struct tg_mit_entry *out,
			size_t max)
{
	size_t k = 0;

	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->n && k < max; i++) {
		const struct tg_mit_entry *en = &g->set[i];
		int64_t cap = en->until_mono - (en->until_ms - en->started_ms) +
			      g->pol.max_duration_ms; /* started + max_duration, on mono */
		bool due = en->with_episode
				   ? !en->episode_open && (!en->timed || now_mono >= en->until_mono)
				   : now_mono >= en->until_mono;

		if (due || now_mono >= cap)
			out[k++] = *en;
	}
	pthread_mutex_unlock(&g->lock);
	return k;
}

void tg_mitigator_episode_closed(struct tg_mitigator *g, const char *customer, const char *rule)
{
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->set[i].customer, customer) && !strcmp(g->set[i].rule, rule))
			g->set[i].episode_open = false;
	pthread_mutex_unlock(&g->lock);
}

void tg_mitigator_count_refusal(struct tg_mitigator *g, const char *reason)
{
	pthread_mutex_lock(&g->lock);
	if (!strcmp(reason, "cap"))
		g->refused_cap++;
	else if (!strcmp(reason, "no_host"))
		g->refused_no_host++;
	else
		g->refused_policy++;
	pthread_mutex_unlock(&g->lock);
}

json_t *tg_mitigator_json(struct tg_mitigator *g)
{
	json_t *o, *act = json_array(), *peers = json_array();

	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->n; i++) {
		const struct tg_mit_entry *en = &g->set[i];
		char p[64];
		json_t *sp = json_array();

		for (unsigned k = 0; k < en->m.nsport; k++)
			json_array_append_new(sp, json_integer(en->m.sport[k]));
		json_array_append_new(
			act,
			json_pack("{ss ss ss ss so so so si so sI so sb}", "key", en->key, "kind",
				  tg_mit_kind_name(en->m.kind), "prefix", tg_mit_prefix(&en->m, p),
				  "customer", en->customer, "rule",
				  en->rule[0] ? json_string(en->rule) : json_null(), "started",
				  tg_json_time(en->started_ms), "until", tg_json_time(en->until_ms),
				  "proto", (int)en->m.proto, "source_ports", sp, "rate_bps",
				  (json_int_t)en->m.rate_bps, "audit_id",
				  en->audit_id ? json_integer(en->audit_id) : json_null(),
				  "until_episode_ends", en->with_episode));
	}
	for (size_t i = 0; i < g->npeers; i++)
		json_array_append_new(peers,
				      json_pack("{ss sI sb}", "address", g->peers[i].addr, "asn",
						(json_int_t)g->peers[i].asn, "up", g->peers[i].up));
	o = json_pack("{sb sb sI so s{ss ss so ss so}}", "enabled", g->enabled, "monitor",
		      g->pol.monitor, "max_active", (json_int_t)g->pol.max_active, "active", act,
		      "speaker", "name", g->bgp.ops ? g->bgp.ops->name : "none", "target",
		      g->speaker_target, "last_ok", tg_json_time(g->last_ok_ms), "last_error",
		      g->last_error, "peers", peers);
	pthread_mutex_unlock(&g->lock);
	return o;
}

char *tg_mitigator_metrics(struct tg_mitigator *g)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	unsigned by_kind[TG_MIT_KIND_NR] = {0};

	if (!f)
		return NULL;
	pthread_mutex_lock(&g->lock);
	if (g->enabled) {
		for (size_t i = 0; i < g->n; i++)
			by_kind[g->set[i].m.kind % TG_MIT_KIND_NR]++;
		fprintf(f, "# HELP tollgate_mitigations_active Announcements upstream in force "
			   "(monitor: that would be), by kind.\n"
			   "# TYPE tollgate_mitigations_active gauge\n");
		for (unsigned k = 0; k < TG_MIT_KIND_NR; k++)
			fprintf(f, "tollgate_mitigations_active{kind=\"%s\"} %u\n",
				tg_mit_kind_name(k), by_kind[k]);
		fprintf(f, "# HELP tollgate_bgp_session_up 1 when the BGP speaker's session with "
			   "the peer is established.\n"
			   "# TYPE tollgate_bgp_session_up gauge\n");
		for (size_t i = 0; i < g->npeers; i++)
			fprintf(f, "tollgate_bgp_session_up{peer=\"%s\"} %d\n", g->peers[i].addr,
				g->peers[i].up);
		fprintf(f,
			"# HELP tollgate_mitigation_refused_total Announcements refused, by "
			"reason.\n"
			"# TYPE tollgate_mitigation_refused_total counter\n"
			"tollgate_mitigation_refused_total{reason=\"cap\"} %llu\n"
			"tollgate_mitigation_refused_total{reason=\"policy\"} %llu\n"
			"tollgate_mitigation_refused_total{reason=\"no_host\"} %llu\n"
			"# HELP tollgate_mitigation_speaker_errors_total Rounds with the BGP "
			"speaker that failed.\n"
			"# TYPE tollgate_mitigation_speaker_errors_total counter\n"
			"tollgate_mitigation_speaker_errors_total %llu\n",
			(unsigned long long)g->refused_cap, (unsigned long long)g->refused_policy,
			(unsigned long long)g->refused_no_host, (unsigned long long)g->errors);
	}
	pthread_mutex_unlock(&g->lock);
	fclose(f);
	return buf;
}
