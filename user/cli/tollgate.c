// SPDX-License-Identifier: GPL-2.0-only
/*
 * tollgate.c - the command line a network engineer types. main() parses the global
 * options and hands over to the subcommand table; the work is in cmd_*.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lib/lib.h"

#ifndef TG_VERSION
#define TG_VERSION "0.1.0"
#endif

static const struct tg_cmd commands[] = {
	{"attach", cmd_attach,
	 "attach IFACE role customer|upstream [mode native|generic] [--force]"},
	{"detach", cmd_detach, "detach IFACE"},
	{"status", cmd_status, "status"},
	{"reload", cmd_reload, "reload"},
	{"customer", cmd_customer, "customer list | show ID"},
	{"check-config", cmd_check_config, "check-config [FILE]"},
	{"suspend", cmd_suspend, "suspend ID --reason TEXT [--for DURATION]"},
	{"unsuspend", cmd_unsuspend, "unsuspend ID --reason TEXT"},
	{"events", cmd_events, "events [--customer ID] [--since TIME] [--limit N]"},
	{"cluster", cmd_cluster, "cluster status"},
	{"top", cmd_top, "top [--sort bytes|drops] [-n N] [--interval SECONDS] [--once]"},
	{NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	const struct tg_cmd *c;

	fprintf(f, "Usage: tollgate [-j|--json] [-p|--pretty] [-v] [-c FILE] COMMAND\n"
		   "Commands:\n");
	for (c = commands; c->name; c++)
		fprintf(f, "  %s\n", c->usage);
	fprintf(f, "Environment: TOLLGATE_PIN_DIR overrides the pin directory (%s).\n",
		"/sys/fs/bpf/tollgate");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"pretty", no_argument, NULL, 'p'},
		{"config", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	/* "+": stop at the first non-option, the subcommand parses the rest */
	while ((opt = getopt_long(argc, argv, "+jpc:vhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			tg_opts.json = true;
			break;
		case 'p':
			tg_opts.json = tg_opts.pretty = true;
			break;
		case 'c':
			tg_opts.config = optarg;
			break;
		case 'v':
			tg_log_verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("tollgate %s\n", TG_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	tg_log_json = tg_opts.json;
	tg_log_setup_libbpf();
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	return tg_cmd_select(commands, argc - optind, argv + optind, "command");
}
