/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * reload.h - the door of user/reload/: the reload path, which owns the state database and
 * hands the data plane's sync what it needs. It reads the customer indexes the database
 * remembers (for a full sync) and, without tollgated, the enforcement state; it takes the
 * writers' lock, syncs (datapath: the planners and the committer), and records the
 * indexes the sync gave. tollgated (start-up, reload) and tollgate (attach, reload
 * without a daemon) go through it.
 *
 * Included by: daemon, cli, the tests. Includes: datapath, state, config, lib.
 */
#ifndef TG_RELOAD_H
#define TG_RELOAD_H

#include <jansson.h>

#include "config/config.h"
#include "datapath/datapath.h"
#include "state/state.h"

/* A view for the sync over an enforcement table (tollgated's, or the database's); the
 * table must outlive it. */
void tg_enf_view_init(struct tg_enf_view *v, const struct tg_enf_table *t);

/*
 * Make the maps say what cfg says, under the writers' lock: with cfg->state_path's
 * database (the indexes it remembers, for a full sync; the indexes given, recorded after),
 * and the enforcement state enf (NULL: the database's). With app (tollgated's snapshot,
 * *app may be NULL) as tg_sync_applied: cfg and lc (its reload cache, may be NULL) are
 * taken, *old is the previous snapshot; without, a full sync and cfg and lc stay the
 * caller's. 0 or -errno with every problem in errs.
 */
int tg_apply(struct tg_maps *m, struct tg_cfg *cfg, struct tg_load_cache *lc,
	     const struct tg_enf_view *enf, struct tg_applied **app, struct tg_applied **old,
	     struct tg_sync_stats *st, struct tg_errs *errs);

/*
 * Load path (reusing the unchanged rows of *app's configuration), sync the customer maps
 * (incrementally from *app when it still describes them) and refresh the settings of the
 * interfaces already attached, with the enforcement state enf (NULL: as state.db says) in
 * the records. app may be NULL (no snapshot kept: a full sync). Returns
 * the result document ({"config", "customers": {total, added, changed, removed},
 * "interfaces", "not_attached", "seconds"}) or NULL with every problem in errs; then the
 * running policy is unchanged unless writing the maps failed half-way (said in errs).
 * The previous snapshot, if replaced, is in *old for the caller to free after replying.
 */
json_t *tg_reload(struct tg_maps *m, const char *path, const struct tg_enf_view *enf,
		  struct tg_applied **app, struct tg_applied **old, struct tg_errs *errs);

#endif /* TG_RELOAD_H */
