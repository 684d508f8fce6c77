/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * daemon.h - the door of user/daemon/: tollgated's parts. The rule engine (engine.h, a
 * pure state machine on an explicit clock), enforcement (enforce.h: the engine's
 * decisions and the control socket's requests carried out, record first), notification
 * (notify.h: the outbox's threads), the evidence samples (capture.h), the exporter (exporter.h: /metrics, the API and the
 * NOC page), the interface watcher (linkwatch.h) and the control socket's command table
 * (control.h). tollgated.c wires them.
 *
 * Included by: the tests. Nothing in another room includes it (the CLI talks to the
 * daemon over the control socket only). Includes: reload, datapath, state, config, lib.
 */
#ifndef TG_DAEMON_H
#define TG_DAEMON_H

#include "alert.h"
#include "capture.h"
#include "control.h"
#include "enforce.h"
#include "engine.h"
#include "exporter.h"
#include "linkwatch.h"
#include "mitigate.h"
#include "notify.h"
#include "quota.h"

#endif /* TG_DAEMON_H */
