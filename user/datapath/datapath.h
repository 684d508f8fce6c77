/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * datapath.h - the door of user/datapath/: everything that touches the pinned program
 * and its maps. Loading and pinning (loader.c, skel.c), attaching interfaces (attach.h,
 * netdev.h), writing a configuration into the maps (sync.c, sync_inc.c: the planners
 * and the committer; trie6.c and fprof.c build the tables), reading the counters back
 * (stats.c) and the reload that ties them together (reload.h).
 *
 * Included by: daemon, cli, the tests and the benchmarks. Includes: config, state, lib.
 * sync_int.h is the room's own: only the files of user/datapath/ (and white-box tests)
 * include it.
 */
#ifndef TG_DATAPATH_H
#define TG_DATAPATH_H

#include "attach.h"
#include "maps.h"
#include "netdev.h"
#include "reload.h"

#endif /* TG_DATAPATH_H */
