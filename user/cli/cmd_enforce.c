// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_enforce.c - tollgate suspend / unsuspend (asked of tollgated over the control
 * socket: the daemon records, applies and later lifts them) and tollgate events (the
 * audit log, read from state.db directly, so it works while the daemon is down).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config/config.h"
#include "lib/lib.h"
#include "state/state.h"

static const char *config_path(void)
{
	return tg_opts.config ? tg_opts.config : TG_CONFIG_DEFAULT;
}

static void print_event(const json_t *e)
{
	const char *until = json_string_value(json_object_get(e, "until"));
	const char *rule = json_string_value(json_object_get(e, "rule"));

	printf("%s  #%lld %s  %-24s %-10s%s by %s", json_string_value(json_object_get(e, "time")),
	       json_integer_value(json_object_get(e, "seq")),
	       tg_esc(json_string_value(json_object_get(e, "id"))),
	       tg_esc(json_string_value(json_object_get(e, "customer"))),
	       json_string_value(json_object_get(e, "action")),
	       json_is_true(json_object_get(e, "monitor")) ? " (monitor: not done)" : "",
	       tg_esc(json_string_value(json_object_get(e, "actor"))));
	if (rule)
		printf(" [rule %s]", tg_esc(rule));
	if (json_object_get(e, "origin")) /* in a cluster: the node that decided it */
		printf(" on %s", tg_esc(json_string_value(json_object_get(e, "origin"))));
	if (until)
		printf(" until %s", until);
	printf(": %s\n", tg_esc(json_string_value(json_object_get(e, "reason"))));
}

static void print_event_doc(const json_t *doc)
{
	print_event(json_object_get(doc, "event"));
}

/*
 * suspend ID --reason TEXT [--for DURATION] / unsuspend ID --reason TEXT: argv[0] is the
 * id, the options follow (getopt takes it for the program name).
 */
static int enforce_cmd(const char *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"for", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const bool suspend = !strcmp(cmd, "suspend");
	const char *reason = NULL, *dur = NULL;
	json_t *req, *reply = NULL;
	uint64_t ns;
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			reason = optarg;
			break;
		case 'f':
			if (suspend) {
				dur = optarg;
				break;
			}
			/* fall through */
		default:
			goto usage;
		}
	}
	if (optind != argc || !reason || !*reason)
		goto usage;
	if (dur && (tg_parse_duration_ns(dur, &ns) || !ns)) {
		tg_err("%s: --for %s: not a duration (e.g. 30m, 12h, 7d)", cmd, dur);
		return 2;
	}
	req = json_pack("{ss ss ss}", "command", cmd, "customer", argv[0], "reason", reason);
	if (dur)
		json_object_set_new(req, "for", json_string(dur));
	if (tg_cli_daemon_call(cmd,
			       "suspensions are made by the daemon, which records them and lifts "
			       "them on time",
			       false, req, &reply))
		return 1;
	tg_print(json_pack("{si sO}", "version", TG_JSON_VERSION, "event",
			   json_object_get(reply, "event")),
		 print_event_doc);
	json_decref(reply);
	return 0;
usage:
	tg_err("usage: tollgate %s ID --reason TEXT%s", cmd, suspend ? " [--for DURATION]" : "");
	return 2;
}

int cmd_suspend(int argc, char **argv)
{
	if (argc < 1 || argv[0][0] == '-') {
		tg_err("usage: tollgate suspend ID --reason TEXT [--for DURATION]");
		return 2;
	}
	return enforce_cmd("suspend", argc, argv);
}

int cmd_unsuspend(int argc, char **argv)
{
	if (argc < 1 || argv[0][0] == '-') {
		tg_err("usage: tollgate unsuspend ID --reason TEXT");
		return 2;
	}
	return enforce_cmd("unsuspend", argc, argv);
}

/*
 * --since: an absolute time (2026-11-29, "2026-11-29 13:00", 2026-11-29T13:00:00Z, all
 * UTC) or an age ("1h": that long ago). Unix ms, or -1.
 */
int64_t tg_cli_parse_since(const char *s)
{
	static const char *const fmts[] = {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S",
					   "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"};
	uint64_t ns;
	size_t i;

	if (!tg_parse_duration_ns(s, &ns))
		return tg_now_ms() - (int64_t)(ns / 1000000);
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct tm tm = {};
		const char *end = strptime(s, fmts[i], &tm);

		if (end && !*end)
			return (int64_t)timegm(&tm) * 1000;
	}
	return -1;
}

static void print_events(const json_t *doc)
{
	const json_t *e;
	size_t i;

	json_array_foreach (json_object_get(doc, "events"), i, e)
		print_event(e);
	if (!json_array_size(json_object_get(doc, "events")))
		printf("no events\n");
}

/* Open state.db of the config (-c) for reading the audit log and states. */
int tg_cli_state_open(struct tg_statedb **st)
{
	char path[4096], msg[512];
	int err;

	err = tg_config_state_path(config_path(), path, sizeof(path));
	if (err && err != -ENOENT) {
		tg_err("%s: %s", config_path(), err == -EINVAL ? "not YAML" : strerror(-err));
		return err;
	}
	if (access(path, F_OK)) {
		tg_err("%s: no state database (nothing recorded yet)", path);
		return -ENOENT;
	}
	err = tg_state_open(path, st, msg, sizeof(msg));
	if (err)
		tg_err("state database %s", msg);
	return err;
}

int cmd_events(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"customer", required_argument, NULL, 'C'},
		{"since", required_argument, NULL, 's'},
		{"limit", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	const char *customer = NULL;
	struct tg_statedb *st = NULL;
	int64_t since = 0;
	long limit = 1000;
	json_t *doc;
	char *end;
	int opt, err;

	if (argc >= 1 && !strcmp(argv[0], "show"))
		return tg_cli_events_show(argc - 1, argv + 1);
	optind = 0;
	while ((opt = getopt_long(argc + 1, argv - 1, "n:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'C':
			customer = optarg;
			break;
		case 's':
			since = tg_cli_parse_since(optarg);
			if (since < 0) {
				tg_err("events: --since %s: a time (2026-11-29, \"2026-11-29 "
				       "13:00\", UTC) or an age (30m, 1d)",
				       optarg);
				return 2;
			}
			break;
		case 'n':
			errno = 0;
			limit = strtol(optarg, &end, 10);
			if (errno || *end || limit <= 0) {
				tg_err("events: --limit %s: a positive number", optarg);
				return 2;
			}
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc + 1)
		goto usage;
	if (tg_cli_state_open(&st))
		return 1;
	doc = tg_view_events(st, customer, since, (size_t)limit, &err);
	tg_state_close(st);
	if (!doc) {
		tg_err("events: cannot read the audit log: %s", strerror(-err));
		return 1;
	}
	tg_print(doc, print_events);
	return 0;
usage:
	tg_err("usage: tollgate events [--customer ID] [--since TIME] [--limit N]\n"
	       "       tollgate events show EVENT [--pcap]");
	return 2;
}
