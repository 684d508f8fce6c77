// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_mitigation.c - tollgate mitigation list | announce | withdraw: the announcements
 * upstream over BGP (docs/mitigation.md), asked of tollgated over the control socket. The
 * daemon checks them against the same policy as a rule's (the customers' own space, the
 * configured length, the cap, an expiry), records them first and has its BGP speaker
 * announce them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lib/lib.h"

static int call(const char *cmd, json_t *req, json_t **reply)
{
	return tg_cli_daemon_call(cmd,
				  "announcements are made by the daemon, which records and "
				  "withdraws them",
				  true, req, reply);
}

static void print_list(const json_t *doc)
{
	const json_t *m = json_object_get(doc, "mitigation"), *a,
		     *sp = json_object_get(m, "speaker");
	const json_t *p;
	size_t i;

	printf("mitigation: %s%s, %zu of at most %lld in force\n",
	       json_is_true(json_object_get(m, "enabled")) ? "on" : "off",
	       json_is_true(json_object_get(m, "monitor")) ? " (monitor: nothing announced)" : "",
	       json_array_size(json_object_get(m, "active")),
	       json_integer_value(json_object_get(m, "max_active")));
	printf("speaker: %s at %s, last reconciled %s%s%s\n",
	       json_string_value(json_object_get(sp, "name")),
	       tg_esc(json_string_value(json_object_get(sp, "target"))),
	       json_string_value(json_object_get(sp, "last_ok")) ?: "never",
	       *(json_string_value(json_object_get(sp, "last_error")) ?: "") ? ", last error: "
									     : "",
	       tg_esc(json_string_value(json_object_get(sp, "last_error")) ?: ""));
	json_array_foreach (json_object_get(sp, "peers"), i, p)
		printf("  peer %s AS%lld %s\n", json_string_value(json_object_get(p, "address")),
		       json_integer_value(json_object_get(p, "asn")),
		       json_is_true(json_object_get(p, "up")) ? "established" : "DOWN");
	json_array_foreach (json_object_get(m, "active"), i, a) {
		const char *rule = json_string_value(json_object_get(a, "rule"));

		printf("%-60s %-20s until %s [%s%s]\n",
		       json_string_value(json_object_get(a, "key")),
		       tg_esc(json_string_value(json_object_get(a, "customer"))),
		       json_string_value(json_object_get(a, "until")) ?: "-",
		       rule ? "rule " : "by hand", rule ? tg_esc(rule) : "");
	}
}

static void print_done(const json_t *doc)
{
	const char *a = json_string_value(json_object_get(doc, "announced"));
	const char *w = json_string_value(json_object_get(doc, "withdrawn"));

	if (a)
		printf("%s %s for %s until %s (audit #%lld)\n",
		       json_is_true(json_object_get(doc, "monitor")) ? "monitor, not announced:"
								     : "announced",
		       a, tg_esc(json_string_value(json_object_get(doc, "customer"))),
		       json_string_value(json_object_get(doc, "until")) ?: "-",
		       json_integer_value(json_object_get(doc, "audit_id")));
	else
		printf("withdrawn %s (audit #%lld)\n", w,
		       json_integer_value(json_object_get(doc, "audit_id")));
}

static int usage(void)
{
	tg_err("usage: tollgate mitigation list\n"
	       "       tollgate mitigation announce blackhole ADDRESS --reason TEXT [--for "
	       "DURATION]\n"
	       "       tollgate mitigation announce flowspec ADDRESS --reason TEXT [--proto P] "
	       "[--source-ports P,P] [--rate BITRATE] [--for DURATION]\n"
	       "       tollgate mitigation withdraw (KEY | blackhole ADDRESS | flowspec ADDRESS "
	       "[--proto P] [--source-ports P,P] [--rate BITRATE]) --reason TEXT");
	return 2;
}

int cmd_mitigation(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"for", required_argument, NULL, 'f'},
		{"proto", required_argument, NULL, 'p'},
		{"source-ports", required_argument, NULL, 's'},
		{"rate", required_argument, NULL, 'R'},
		{"key", required_argument, NULL, 'k'},
		{NULL, 0, NULL, 0},
	};
	const char *reason = NULL, *dur = NULL, *proto = NULL, *ports = NULL, *rate = NULL,
		   *key = NULL, *sub;
	json_t *req, *reply = NULL;
	char cmd[32];
	int opt, rc;

	if (argc < 1)
		return usage();
	sub = argv[0];
	if (!strcmp(sub, "list")) {
		if (argc != 1)
			return usage();
		req = json_pack("{ss}", "command", "mitigation_list");
		rc = call("mitigation list", req, &reply);
		if (rc)
			return rc;
		tg_print(json_pack("{si sO}", "version", TG_JSON_VERSION, "mitigation",
				   json_object_get(reply, "mitigation")),
			 print_list);
		json_decref(reply);
		return 0;
	}
	if (strcmp(sub, "announce") && strcmp(sub, "withdraw"))
		return usage();
	optind = 0;
	/* argv[0] is the subcommand (getopt takes it for the program name) */
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			reason = optarg;
			break;
		case 'f':
			dur = optarg;
			break;
		case 'p':
			proto = optarg;
			break;
		case 's':
			ports = optarg;
			break;
		case 'R':
			rate = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		default:
			return usage();
		}
	}
	if (!reason || !*reason)
		return usage();
	snprintf(cmd, sizeof(cmd), "mitigation_%s", sub);
	req = json_pack("{ss ss}", "command", cmd, "reason", reason);
	if (key) {
		if (optind != argc || strcmp(sub, "withdraw")) {
			json_decref(req);
			return usage();
		}
		json_object_set_new(req, "key", json_string(key));
	} else {
		if (optind + 2 != argc) {
			json_decref(req);
			return usage();
		}
		json_object_set_new(req, "kind", json_string(argv[optind]));
		json_object_set_new(req, "address", json_string(argv[optind + 1]));
	}
	if (proto)
		json_object_set_new(req, "proto", json_string(proto));
	if (ports)
		json_object_set_new(req, "source_ports", json_string(ports));
	if (rate)
		json_object_set_new(req, "rate", json_string(rate));
	if (dur) {
		if (strcmp(sub, "announce")) {
			json_decref(req);
			return usage();
		}
		json_object_set_new(req, "for", json_string(dur));
	}
	snprintf(cmd, sizeof(cmd), "mitigation %s", sub);
	rc = call(cmd, req, &reply);
	if (rc)
		return rc;
	json_object_del(reply, "ok");
	json_object_set_new(reply, "version", json_integer(TG_JSON_VERSION));
	tg_print(reply, print_done);
	return 0;
}
