/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * datapath.h - the door of user/datapath/: everything that touches the pinned program
 * and its maps. Loading and pinning (loader.c, skel.c), attaching interfaces (attach.h,
 * netdev.h), writing a configuration into the maps (sync.c and sync_inc.c: the full and
 * the incremental planner; commit.c: the one committer; table4.c and trie6.c build the
 * IPv4 and IPv6 tables, fprof.c the flood profiles), and reading the counters back
 * (stats.c), arming the evidence sample (capture.c). No database: the reload path (user/reload/) reads the state database and
 * passes the sync what it needs.
 *
 * Included by: reload, daemon, cli, the tests and the benchmarks. Includes: config, lib
 * (never state).
 * sync_int.h is the room's own: only the files of user/datapath/ (and white-box tests)
 * include it.
 */
#ifndef TG_DATAPATH_H
#define TG_DATAPATH_H

#include "attach.h"
#include "capture.h"
#include "maps.h"
#include "netdev.h"

#endif /* TG_DATAPATH_H */
