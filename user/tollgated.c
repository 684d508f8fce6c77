// SPDX-License-Identifier: GPL-2.0-only
/*
 * tollgated.c - the daemon. In this version it attaches every interface of the config,
 * re-reads the config on SIGHUP, and stays in the foreground; SIGTERM/SIGINT stop it and
 * leave XDP attached, so policing continues. The enforcement engine, control socket and
 * exporter come with later versions.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>

#include "attach.h"
#include "log.h"
#include "maps.h"

struct daemon {
	const char *config_path;
	struct tg_maps maps;
	bool maps_open;
};

/* Load the config and make the data plane match it. On any error nothing changes. */
static int apply_config(struct daemon *d, bool first)
{
	struct tg_sync_stats st;
	struct tg_errs errs = {};
	struct tg_cfg *cfg = NULL;
	struct tg_capacity cap;
	size_t i;
	int err;

	err = tg_config_load(d->config_path, &cfg, &errs);
	if (err)
		goto report;
	if (first) {
		tg_capacity_from_config(cfg, &cap);
		err = tg_maps_open(tg_pin_dir(cfg), &cap, true, &d->maps);
		if (err)
			goto out;
		d->maps_open = true;
	}
	err = tg_sync_customers(&d->maps, cfg, &st, &errs);
	if (err)
		goto report;
	for (i = 0; i < cfg->nifaces; i++) {
		int e = tg_attach_iface(&d->maps, &cfg->ifaces[i], false);

		if (e && !err)
			err = e;
	}
	tg_info("%s applied: %zu customers (%zu added, %zu changed, %zu removed), %zu interfaces",
		d->config_path, st.customers, st.added, st.changed, st.removed, cfg->nifaces);
report:
	for (i = 0; i < errs.n; i++)
		tg_err("%s", errs.msg[i]);
	if (err && !first)
		tg_err("%s: not applied, the running policy is unchanged", d->config_path);
out:
	tg_errs_free(&errs);
	tg_config_free(cfg);
	return err;
}

/* Blocked from the first instruction, so a SIGHUP during start-up is queued, not fatal. */
static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	return sigprocmask(SIG_BLOCK, set, NULL) ? neg_errno() : 0;
}

static int run(struct daemon *d, sigset_t *set)
{
	struct signalfd_siginfo si;
	int sfd;

	sfd = signalfd(-1, set, SFD_CLOEXEC);
	if (sfd < 0)
		return neg_errno();
	for (;;) {
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(si))
			break;
		if (si.ssi_signo == SIGHUP) {
			tg_info("SIGHUP: reloading %s", d->config_path);
			apply_config(d, false);
			continue;
		}
		tg_info("stopping; XDP stays attached and keeps policing");
		break;
	}
	close(sfd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"foreground", no_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct daemon d = {.config_path = TG_CONFIG_DEFAULT};
	sigset_t set;
	int opt, err;

	err = block_signals(&set);
	if (err)
		return 1;

	while ((opt = getopt_long(argc, argv, "c:fvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'f':
			break; /* the only mode for now */
		case 'v':
			tg_log_verbose++;
			break;
		case 'h':
			printf("Usage: tollgated [-c FILE] [-f] [-v]\n");
			return 0;
		default:
			fprintf(stderr, "Usage: tollgated [-c FILE] [-f] [-v]\n");
			return 2;
		}
	}
	tg_log_setup_libbpf();
	err = apply_config(&d, true);
	if (err) {
		if (d.maps_open)
			tg_maps_close(&d.maps);
		return 1;
	}
	err = run(&d, &set);
	tg_maps_close(&d.maps);
	return err ? 1 : 0;
}
