/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cli.h - what the tollgate subcommands share: global options, the command table type,
 * and the printer that writes one object as text or JSON.
 *
 * The door of user/cli/. Included by: the files of user/cli/ (tollgate.c, cli.c, cmd_*.c)
 * only; no other room (cli is at the top, beside daemon).
 */
#ifndef TG_CLI_H
#define TG_CLI_H

#include <stdbool.h>
#include <jansson.h>

#include "view/view.h"

struct tg_opts {
	bool json;
	bool pretty;
	const char *config; /* -c FILE, NULL: TG_CONFIG_DEFAULT */
};

extern struct tg_opts tg_opts;

struct tg_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

/* Run the command of argv[0] from table (unique prefixes accepted, as bpftool does). */
int tg_cmd_select(const struct tg_cmd *table, int argc, char **argv, const char *what);

/* Print doc: as JSON under -j, else with text(doc). Takes the reference to doc. */
void tg_print(json_t *doc, void (*text)(const json_t *doc));

/*
 * The pin directory for commands that only read or unpin: $TOLLGATE_PIN_DIR, else -c
 * FILE's pin_dir (read without loading the customers: they must work at 1M customers and
 * while the CSV has an error), else the default.
 */
int tg_opts_pin_dir(char *buf, size_t len);

/*
 * Send req (reference taken) to tollgated and wait for its reply. 0 with *reply (the
 * caller's) when the daemon answered ok; else 1, the reason printed: no daemon ("WHAT:
 * tollgated is not running ...: DAEMON_DOES"), the socket's error, or the daemon's refusal
 * (prefixed with "WHAT: " if name_refusal).
 */
int tg_cli_daemon_call(const char *what, const char *daemon_does, bool name_refusal, json_t *req,
		       json_t **reply);

/* Print every collected error (JSON under -j) and free them. */
struct tg_errs;
void tg_errs_report(struct tg_errs *errs);

/* "1.2 MB", "640 B": human units for text output. */
const char *tg_human_bytes(unsigned long long v, char *buf, size_t len);
/* "20 Mbit/s" */
const char *tg_human_bps(double bps, char *buf, size_t len);

int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_customer(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_suspend(int argc, char **argv);
int cmd_unsuspend(int argc, char **argv);
int cmd_mitigation(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int tg_cli_events_show(int argc, char **argv); /* events show EVENT [--pcap] */
int cmd_whois(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_cluster(int argc, char **argv);

/* Open the state database of the config (-c), with a message if it cannot be. */
struct tg_statedb;
int tg_cli_state_open(struct tg_statedb **st);

/* A time as `events --since` and `whois --at` take it: absolute (2026-11-29, "2026-11-29
 * 13:00", 2026-11-29T13:00:00Z, all UTC) or an age ("1h": that long ago). Unix ms, or -1. */
int64_t tg_cli_parse_since(const char *s);

#endif /* TG_CLI_H */
