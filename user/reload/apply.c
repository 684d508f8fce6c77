// SPDX-License-Identifier: GPL-2.0-only
/*
 * apply.c - tg_apply: one sync with the state database around it. The sync itself
 * (datapath) does no I/O but to the maps; here the database is read for what it needs
 * (the remembered indexes, only when the sync is a full one; the enforcement state when
 * no daemon gives it) and told what it gave, all under the writers' lock; and the prefix
 * -> customer assignment applied goes into its history (tollgate whois).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/lib.h"
#include "reload.h"

/* With -v: how long since *t, for the load benchmark's phases (bench/bench_load.sh). */
static void phase(const char *what, struct timespec *t)
{
	struct timespec now;

	if (!tg_log_verbose)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (t->tv_sec || t->tv_nsec)
		tg_info("apply: %-26s %7.3f s", what,
			(double)(now.tv_sec - t->tv_sec) +
				(double)(now.tv_nsec - t->tv_nsec) / 1e9);
	*t = now;
}

static uint8_t table_state_of(const void *ctx, const char *id, uint64_t *throttle_bps)
{
	const struct tg_enf_entry *e = tg_enf_find(ctx, id);

	*throttle_bps = e ? e->throttle_bps : 0;
	return e ? e->state : TG_ST_ACTIVE;
}

static size_t table_count(const void *ctx)
{
	return ((const struct tg_enf_table *)ctx)->n;
}

void tg_enf_view_init(struct tg_enf_view *v, const struct tg_enf_table *t)
{
	v->ctx = t;
	v->state_of = table_state_of;
	v->count = table_count;
}

/* The assignments the database remembers, as the sync's hints (same order: by id). */
static int read_hints(struct tg_statedb *db, struct tg_idx_hint **out, size_t *n)
{
	struct tg_assign *a = NULL;
	int err;

	*out = NULL;
	err = tg_state_assignments(db, &a, n);
	if (err)
		return err;
	*out = calloc(*n + 1, sizeof(**out));
	if (!*out) {
		free(a);
		return -ENOMEM;
	}
	for (size_t i = 0; i < *n; i++)
		(*out)[i] = (struct tg_idx_hint){a[i].id, a[i].idx};
	free(a);
	return 0;
}

static int record(struct tg_statedb *db, const struct tg_idx_changes *chg)
{
	struct tg_assign *set = calloc(chg->nset + 1, sizeof(*set));
	int err;

	if (!set)
		return -ENOMEM;
	for (size_t i = 0; i < chg->nset; i++)
		set[i] = (struct tg_assign){chg->set[i].id, chg->set[i].idx};
	err = tg_state_record(db, set, chg->nset, chg->drop, chg->ndrop);
	free(set);
	return err;
}

/*
 * Who held an address (state.h, tg_state_history_*): the assignment just applied, recorded
 * under the same lock. After a reload that replaced the snapshot, only the rows the load
 * did not reuse are compared (a full comparison reads every open row back: 2.6 s at 1M
 * prefixes); the first apply of a process, and the one after a failure to record, compare
 * everything. A failure is a warning: the maps have the configuration already.
 */
static bool history_stale = true;

static void record_history(struct tg_statedb *db, const struct tg_cfg *was,
			   const struct tg_cfg *cfg, const struct tg_load_cache *lc)
{
	struct tg_history_stats hs;
	int err;

	err = tg_state_history_record_since(db, history_stale ? NULL : was, cfg, lc, tg_now_ms(),
					    &hs);
	history_stale = err != 0;
	if (err)
		tg_warn("state database %s: cannot record the prefix assignments (tollgate "
			"whois): %s; the next reload records them",
			cfg->state_path, strerror(-err));
	else if (tg_log_verbose && (hs.appeared || hs.moved || hs.gone))
		tg_info("prefix assignments: %zu appeared, %zu moved, %zu gone (tollgate whois)",
			hs.appeared, hs.moved, hs.gone);
}

int tg_apply(struct tg_maps *m, struct tg_cfg *cfg, struct tg_load_cache *lc,
	     const struct tg_enf_view *enf, struct tg_applied **app, struct tg_applied **old,
	     struct tg_sync_stats *st, struct tg_errs *errs)
{
	const char *state_path = cfg->state_path;
	struct tg_sync_env env = {.enf = enf};
	struct tg_idx_changes chg = {};
	struct tg_enf_table table = {};
	struct tg_enf_view view;
	const struct tg_cfg *given = app ? NULL : cfg; /* the caller's: not taken */
	struct tg_idx_hint *hints = NULL;
	struct tg_statedb *db = NULL;
	char *path = NULL, msg[512];
	struct timespec t = {};
	bool full;
	int lock, err = 0;

	phase("start", &t);
	if (old)
		*old = NULL;
	/* cfg may be taken and freed by the sync: the path is ours */
	if (state_path && !(path = strdup(state_path))) {
		tg_errs_add(errs, "out of memory");
		if (app) {
			tg_config_free(cfg);
			tg_load_cache_free(lc);
		}
		return -ENOMEM;
	}
	/*
	 * The writers' lock before the state database is read: tollgated commits an
	 * enforcement change and writes its record under it, so the enforcement table read
	 * here is the one in force until this sync has written every record (read before the
	 * lock, a suspension committed in between would be overwritten with the old state).
	 */
	lock = tg_maps_lock(m);
	phase("writers' lock taken", &t);
	full = !app || tg_applied_usable(m, *app, cfg) != 0;
	if (path && (full || !enf)) {
		err = tg_state_open(path, &db, msg, sizeof(msg));
		if (!err && full)
			err = read_hints(db, &hints, &env.nhint);
		if (err) {
			tg_errs_add(errs, "state database %s",
				    err == -ENOMEM ? "out of memory" : msg);
			goto out;
		}
		env.hint = hints;
		if (!enf) { /* a sync without tollgated: the state it left */
			err = tg_state_enf_load(db, &table);
			if (err) {
				tg_errs_add(errs,
					    "state database %s: cannot read the enforcement state",
					    path);
				goto out;
			}
			tg_enf_view_init(&view, &table);
			env.enf = &view;
		}
	}
	phase("state database read", &t);
	if (app)
		err = tg_sync_applied(m, app, cfg, lc, &env, old, st, path ? &chg : NULL, errs);
	else
		err = tg_sync_full(m, cfg, &env, st, path ? &chg : NULL, errs, NULL, NULL, NULL);
	cfg = NULL; /* perhaps freed */
	lc = NULL;
	phase("maps synced", &t);
	if (!err && path && (chg.nset || chg.ndrop)) {
		err = db ? 0 : tg_state_open(path, &db, msg, sizeof(msg));
		if (!err)
			err = record(db, &chg);
		if (err) {
			tg_errs_add(errs,
				    "state database %s: cannot record the customer indexes (%s); "
				    "the maps are updated, the next reload records them",
				    path, err == -ENOMEM ? "out of memory" : strerror(-err));
			if (app)
				tg_applied_set_stale(*app);
			/* as before: the full sync failed, the incremental one carries on */
			if (app && !full)
				err = 0;
		}
	}
	if (!err && path) {
		const struct tg_cfg *now = app ? tg_applied_cfg(*app) : given;
		int e = db ? 0 : tg_state_open(path, &db, msg, sizeof(msg));

		if (e) {
			history_stale = true;
			tg_warn("state database %s: the prefix assignments are not recorded "
				"(tollgate whois)",
				msg);
		} else if (now) {
			phase("customer indexes recorded", &t);
			record_history(db, app && old && *old ? tg_applied_cfg(*old) : NULL, now,
				       app ? tg_applied_cache(*app) : NULL);
			phase("prefix history recorded", &t);
		}
	}
out:
	if (err && app && cfg) { /* not given to the sync: it takes them in every other case */
		tg_config_free(cfg);
		tg_load_cache_free(lc);
	}
	tg_maps_unlock(lock);
	tg_idx_changes_free(&chg);
	free(hints);
	tg_enf_free(&table);
	tg_state_close(db);
	free(path);
	return err;
}
