// SPDX-License-Identifier: GPL-2.0-only
/*
 * cli.c - command dispatch and output shared by the subcommands. Each object is built
 * once as a JSON document; -j prints it, text mode hands it to the object's text printer,
 * so both outputs always carry the same facts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config/config.h"
#include "lib/lib.h"

struct tg_opts tg_opts;

int tg_cmd_select(const struct tg_cmd *table, int argc, char **argv, const char *what)
{
	const struct tg_cmd *c, *hit = NULL;
	size_t len;

	if (argc < 1) {
		tg_err("missing %s", what);
		return 2;
	}
	len = strlen(argv[0]);
	for (c = table; c->name; c++) {
		if (strcmp(c->name, argv[0]) == 0) {
			hit = c;
			break;
		}
		if (strncmp(c->name, argv[0], len) == 0) {
			if (hit) {
				tg_err("%s '%s' is ambiguous", what, argv[0]);
				return 2;
			}
			hit = c;
		}
	}
	if (!hit) {
		tg_err("unknown %s '%s'", what, argv[0]);
		return 2;
	}
	return hit->fn(argc - 1, argv + 1);
}

int tg_cli_daemon_call(const char *what, const char *daemon_does, bool name_refusal, json_t *req,
		       json_t **reply)
{
	const char *sock = tg_ctl_path();
	int err;

	*reply = NULL;
	err = tg_ctl_call(sock, req, reply, 30000);
	if (err == -ENOENT || err == -ECONNREFUSED) {
		tg_err("%s: tollgated is not running (no control socket at %s): %s", what, sock,
		       daemon_does);
		return 1;
	}
	if (err) {
		tg_err("tollgated at %s: %s", sock,
		       err == -EACCES	? "permission denied (root or the socket's group only)"
		       : err == -EPROTO ? "the reply is not JSON"
					: strerror(-err));
		return 1;
	}
	if (!json_is_true(json_object_get(*reply, "ok"))) {
		const char *why = json_string_value(json_object_get(*reply, "error")) ?: "refused";

		if (name_refusal)
			tg_err("%s: %s", what, why);
		else
			tg_err("%s", why);
		json_decref(*reply);
		*reply = NULL;
		return 1;
	}
	return 0;
}

void tg_print(json_t *doc, void (*text)(const json_t *doc))
{
	if (!doc) {
		tg_err("out of memory");
		return;
	}
	if (tg_opts.json) {
		json_dumpf(doc, stdout, tg_opts.pretty ? JSON_INDENT(2) : JSON_COMPACT);
		fputc('\n', stdout);
	} else {
		text(doc);
	}
	json_decref(doc);
}

const char *tg_human_bytes(unsigned long long v, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	double d = v;
	int u = 0;

	while (d >= 1000 && u < 5) {
		d /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", v);
	else
		snprintf(buf, len, "%.1f %s", d, unit[u]);
	return buf;
}

const char *tg_human_bps(double bps, char *buf, size_t len)
{
	static const char *const unit[] = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
	int u = 0;

	while (bps >= 1000 && u < 4) {
		bps /= 1000;
		u++;
	}
	snprintf(buf, len, "%.3g %s", bps, unit[u]);
	return buf;
}

int tg_opts_pin_dir(char *buf, size_t len)
{
	const char *env = getenv("TOLLGATE_PIN_DIR");
	int err;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	if (!tg_opts.config) {
		snprintf(buf, len, "%s", TG_PIN_DIR_DEFAULT);
		return 0;
	}
	err = tg_config_pin_dir(tg_opts.config, buf, len);
	if (err)
		tg_err("%s: %s", tg_opts.config,
		       err == -EINVAL ? "not a YAML file (tollgate check-config says why)"
				      : strerror(-err));
	return err;
}

void tg_errs_report(struct tg_errs *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		tg_err("%s", errs->msg[i]);
	tg_errs_free(errs);
}
