// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_whois.c - tollgate whois ADDRESS [--at TIME]: which customer held an address then
 * (the longest of its prefixes held at that time), from the state database's history of
 * the prefix -> customer assignment (user/state/history.c). Read-only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lib/lib.h"
#include "state/state.h"

static void print_whois(const json_t *doc)
{
	const char *addr = json_string_value(json_object_get(doc, "address"));
	const char *at = json_string_value(json_object_get(doc, "at"));
	const char *cust = json_string_value(json_object_get(doc, "customer"));
	const char *until = json_string_value(json_object_get(doc, "until"));

	if (!cust) {
		printf("%s at %s: no customer held it\n", addr, at ? at : "?");
		return;
	}
	printf("%s at %s: %s (prefix %s, since %s, %s%s)\n", addr, at ? at : "?", tg_esc(cust),
	       json_string_value(json_object_get(doc, "prefix")),
	       json_string_value(json_object_get(doc, "since")), until ? "until " : "held now",
	       until ? until : "");
}

int cmd_whois(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"at", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	struct tg_statedb *st = NULL;
	struct tg_holder h;
	int64_t at = tg_now_ms();
	json_t *doc;
	int opt, err;

	optind = 0;
	while ((opt = getopt_long(argc + 1, argv - 1, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			at = tg_cli_parse_since(optarg);
			if (at < 0) {
				tg_err("whois: --at %s: a time (2026-11-29, \"2026-11-29 13:00\", "
				       "UTC) or an age (30m, 1d: that long ago)",
				       optarg);
				return 2;
			}
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if (tg_holder_parse_addr(argv[optind - 1], &h)) {
		tg_err("whois: '%s' is not an IPv4 or IPv6 address (192.0.2.1, 2001:db8::1)",
		       argv[optind - 1]);
		return 2;
	}
	if (tg_cli_state_open(&st))
		return 1;
	doc = tg_state_whois_json(st, argv[optind - 1], at, &err);
	tg_state_close(st);
	if (!doc) {
		tg_err("whois: cannot read the assignment history: %s", strerror(-err));
		return 1;
	}
	tg_print(doc, print_whois);
	return 0;
usage:
	tg_err("usage: tollgate whois ADDRESS [--at TIME]");
	return 2;
}
