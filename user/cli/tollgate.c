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
	{"events", cmd_events,
	 "events [--customer ID] [--since TIME] [--limit N] | show EVENT [--pcap]"},
	{"capture", cmd_capture, "capture ID [--count N] [--reason TEXT]"},
	{"whois", cmd_whois, "whois ADDRESS [--at TIME]"},
	{"mitigation", cmd_mitigation,
	 "mitigation list | announce KIND ADDRESS --reason TEXT [--proto P] [--source-ports P,P] "
	 "[--rate BITRATE] [--for DURATION] | withdraw KEY|KIND ADDRESS --reason TEXT"},
	{"cluster", cmd_cluster, "cluster status | targets"},
	{"top", cmd_top, "top [--sort bytes|drops] [-n N] [--interval SECONDS] [--once]"},
	{NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	const struct tg_cmd *c;

	fprintf(f, "Usage: tollgate [-j|--json] [-p|--pretty] [-v] [-c FILE] COMMAND\n"
		   "(the options in [] may also follow the command)\n"
		   "Commands:\n");
	for (c = commands; c->name; c++)
		fprintf(f, "  %s\n", c->usage);
	fprintf(f, "Environment: TOLLGATE_PIN_DIR overrides the pin directory (%s).\n",
		"/sys/fs/bpf/tollgate");
}

/* A global option's word (and its value): 1 taken, 2 taken with the next word, 0 not one,
 * -1 one without its value. */
static int global_opt(const char *a, const char *next)
{
	if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
		tg_opts.json = true;
		return 1;
	}
	if (!strcmp(a, "-p") || !strcmp(a, "--pretty")) {
		tg_opts.json = tg_opts.pretty = true;
		return 1;
	}
	if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
		tg_log_verbose++;
		return 1;
	}
	if (!strncmp(a, "--config=", 9)) {
		tg_opts.config = a + 9;
		return 1;
	}
	if (!strncmp(a, "-c", 2) && a[2]) {
		tg_opts.config = a + 2;
		return 1;
	}
	if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
		if (!next)
			return -1;
		tg_opts.config = next;
		return 2;
	}
	return 0;
}

/*
 * The global options anywhere after the command too (tollgate events --customer ID -j):
 * taken out of argv[1..argc) so that the command parses only its own; the new argc. Such
 * a word is always the global option: a value that is spelled like one is written
 * --reason=-j. "--" ends the options.
 */
static int take_global_opts(int argc, char **argv)
{
	int i = 1, out = 1;

	while (i < argc) {
		const char *a = argv[i];
		int took;

		if (!strcmp(a, "--"))
			break;
		took = a[0] == '-' ? global_opt(a, i + 1 < argc ? argv[i + 1] : NULL) : 0;
		if (took < 0) {
			tg_err("%s: needs a FILE", a);
			return -1;
		}
		if (took) {
			i += took;
			continue;
		}
		argv[out++] = argv[i++];
	}
	while (i < argc)
		argv[out++] = argv[i++];
	argv[out] = NULL;
	return out;
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
	int opt, n;

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
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	n = take_global_opts(argc - optind, argv + optind);
	tg_log_json = tg_opts.json;
	if (n < 0) {
		usage(stderr);
		return 2;
	}
	argc = optind + n;
	tg_log_setup_libbpf();
	return tg_cmd_select(commands, argc - optind, argv + optind, "command");
}
