/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lib.h - the door of user/lib/: the helpers every other room may use (messages, small
 * utilities and the clocks, the hash-set index, capabilities, the control socket's
 * framing, the names of the lists). Includes nothing of Tollgate's above it.
 *
 * Included by: every room (config, state, datapath, cluster, daemon, cli) and the tests.
 */
#ifndef TG_LIB_H
#define TG_LIB_H

#include "ctl.h"
#include "hset.h"
#include "log.h"
#include "names.h"
#include "privs.h"
#include "run.h"
#include "sketch.h"
#include "util.h"

#endif /* TG_LIB_H */
