/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * reload.h - re-read the configuration and apply the difference to the running data
 * plane: what `tollgate reload` asks of tollgated over the control socket, and what it
 * does itself when no daemon runs.
 *
 * Included by: datapath.h (the door) and reload.c.
 */
#ifndef TG_RELOAD_H
#define TG_RELOAD_H

#include <jansson.h>

#include "config/config.h"
#include "maps.h"

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
struct tg_enf_table;
json_t *tg_reload(struct tg_maps *m, const char *path, const struct tg_enf_table *enf,
		  struct tg_applied **app, struct tg_applied **old, struct tg_errs *errs);

#endif /* TG_RELOAD_H */
