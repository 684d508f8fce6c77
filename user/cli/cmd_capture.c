// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_capture.c - tollgate capture ID [--count N] [--reason TEXT] (asked of tollgated
 * over the control socket: it records the request in the audit log and arms the data
 * plane for the customer's next packets) and tollgate events show EVENT [--pcap] (an
 * event's evidence sample, from state.db directly: the number of packets stored, or with
 * --pcap the pcap file itself on stdout, which must not be a terminal).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lib/lib.h"
#include "state/state.h"

static void print_capture(const json_t *doc)
{
	const json_t *e = json_object_get(doc, "event");

	printf("capture of %s armed for %lld packets: event %s\n",
	       tg_esc(json_string_value(json_object_get(e, "customer"))),
	       json_integer_value(json_object_get(doc, "packets")),
	       tg_esc(json_string_value(json_object_get(e, "id"))));
	printf("read it with: tollgate events show %s --pcap > capture.pcap\n",
	       tg_esc(json_string_value(json_object_get(e, "id"))));
}

int cmd_capture(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"count", required_argument, NULL, 'n'},
		{"reason", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	const char *count = NULL, *reason = NULL;
	json_t *req, *reply = NULL;
	int opt;

	if (argc < 1 || argv[0][0] == '-')
		goto usage;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			count = optarg;
			break;
		case 'r':
			reason = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if (count) {
		char *end;
		unsigned long n;

		errno = 0;
		n = strtoul(count, &end, 10);
		if (errno || *end || !n || n > TG_CAP_MAX_PACKETS || count[0] == '-') {
			tg_err("capture: --count %s: a number of packets, 1..%u", count,
			       TG_CAP_MAX_PACKETS);
			return 2;
		}
	}
	req = json_pack("{ss ss}", "command", "capture", "customer", argv[0]);
	if (count)
		json_object_set_new(req, "count", json_string(count));
	if (reason)
		json_object_set_new(req, "reason", json_string(reason));
	if (tg_cli_daemon_call("capture", "captures are armed and stored by the daemon", false, req,
			       &reply))
		return 1;
	tg_print(json_pack("{si sO sO}", "version", TG_JSON_VERSION, "event",
			   json_object_get(reply, "event"), "packets",
			   json_object_get(reply, "packets")),
		 print_capture);
	json_decref(reply);
	return 0;
usage:
	tg_err("usage: tollgate capture ID [--count N] [--reason TEXT]");
	return 2;
}

static void print_show(const json_t *doc)
{
	printf("event %s: %lld packets captured%s\n",
	       tg_esc(json_string_value(json_object_get(doc, "id"))),
	       json_integer_value(json_object_get(doc, "packets")),
	       json_integer_value(json_object_get(doc, "packets"))
		       ? " (tollgate events show ID --pcap > FILE writes them)"
		       : "");
}

/* events show EVENT [--pcap]: argv[0] is the event id. */
int tg_cli_events_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pcap", no_argument, NULL, 'P'},
		{NULL, 0, NULL, 0},
	};
	struct tg_statedb *st = NULL;
	bool pcap = false;
	const char *evid;
	long n;
	int opt;

	if (argc < 1 || argv[0][0] == '-')
		goto usage;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt != 'P')
			goto usage;
		pcap = true;
	}
	if (optind != argc)
		goto usage;
	evid = argv[0];
	if (tg_evid_parse(evid, NULL, NULL, NULL)) {
		tg_err("events show: '%s' is not an event id (tollgate events lists them)",
		       tg_esc(evid));
		return 2;
	}
	if (pcap && isatty(STDOUT_FILENO)) {
		tg_err("events show --pcap: stdout is a terminal: redirect it to a file "
		       "(tollgate events show %s --pcap > capture.pcap)",
		       evid);
		return 2;
	}
	if (tg_cli_state_open(&st))
		return 1;
	if (!pcap) {
		n = tg_state_capture_packets(st, evid);
		tg_state_close(st);
		if (n < 0) {
			tg_err("events show: cannot read the captures: %s", strerror((int)-n));
			return 1;
		}
		tg_print(json_pack("{si ss sI}", "version", TG_JSON_VERSION, "id", evid, "packets",
				   (json_int_t)n),
			 print_show);
		return 0;
	}
	n = tg_state_capture_pcap(st, evid, stdout);
	tg_state_close(st);
	if (n == -ENOENT) {
		tg_err("events show: event %s has no packets captured (none yet, capture.enabled "
		       "false, or purged by retention)",
		       evid);
		return 1;
	}
	if (n < 0 || fflush(stdout) || ferror(stdout)) {
		tg_err("events show: cannot write the pcap: %s",
		       n < 0 ? strerror((int)-n) : strerror(errno));
		return 1;
	}
	return 0;
usage:
	tg_err("usage: tollgate events show EVENT [--pcap]");
	return 2;
}
