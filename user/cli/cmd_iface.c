// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_iface.c - tollgate attach / detach. attach loads the program if it is not loaded,
 * fills the maps from the config and attaches through a pinned bpf_link, then exits:
 * policing goes on with no process running.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/ethtool.h>

#include "datapath/datapath.h"
#include "cli.h"
#include "lib/lib.h"
#include "reload/reload.h"

/* Load and validate the config; every error goes to stderr. */
static struct tg_cfg *load_config(void)
{
	const char *path = tg_opts.config ? tg_opts.config : TG_CONFIG_DEFAULT;
	struct tg_errs errs = {};
	struct tg_cfg *cfg = NULL;

	if (tg_config_load(path, &cfg, &errs)) {
		if (!errs.n)
			tg_err("%s: cannot load the configuration", path);
		cfg = NULL;
	}
	tg_errs_report(&errs);
	return cfg;
}

static void print_attach(const json_t *doc)
{
	printf("%s: attached (%s role, %s mode, antispoof %s); %lld customers loaded\n",
	       json_string_value(json_object_get(doc, "interface")),
	       json_string_value(json_object_get(doc, "role")),
	       json_string_value(json_object_get(doc, "mode")),
	       json_string_value(json_object_get(doc, "antispoof")),
	       json_integer_value(json_object_get(doc, "customers")));
}

/*
 * A NIC with rx VLAN offload takes the tag off before XDP sees the frame: every customer
 * bound to a VLAN behind it would be spoof (or matched as untagged). Refused unless
 * --force, which attaches with a warning.
 */
static int check_rxvlan(const struct tg_cfg *cfg, const char *ifname, bool force)
{
	const char *first;
	size_t n = tg_vlan_bound(cfg, ifname, &first);
	char feat[ETH_GSTRING_LEN];
	int on;

	if (!n)
		return 0;
	on = tg_rxvlan_offload(ifname, feat, sizeof(feat));
	if (on < 0) {
		tg_warn("%s: cannot read its offload features (%s): %zu customers are bound to "
			"VLANs behind it; make sure rx VLAN offload is off (ethtool -k %s)",
			ifname, strerror(-on), n, ifname);
		return 0;
	}
	if (!on)
		return 0;
	if (!force) {
		tg_err("%s: rx VLAN offload is on (%s): the NIC strips the tag before XDP, so "
		       "the %zu customers bound to a VLAN behind it (%s, ...) would not match. "
		       "Turn it off (ethtool -K %s rxvlan off rx-vlan-stag-hw-parse off) or "
		       "attach with --force",
		       ifname, feat, n, first, ifname);
		return -EBUSY;
	}
	tg_warn("%s: ATTACHING WITH rx VLAN offload ON (%s, --force): the %zu customers bound "
		"to a VLAN behind it (%s, ...) will not match their VLAN",
		ifname, feat, n, first);
	return 0;
}

int cmd_attach(int argc, char **argv)
{
	struct tg_iface_cfg ic = {};
	const struct tg_iface_cfg *conf;
	struct tg_capacity cap;
	struct tg_errs errs = {};
	struct tg_cfg *cfg;
	struct tg_maps m;
	bool force = false, have_role = false, have_mode = false;
	int i, err, role = 0, mode = 0, left;
	int64_t t0;

	if (argc < 1) {
		tg_err("usage: tollgate attach IFACE role customer|upstream [mode native|generic] "
		       "[--force]");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0) {
			force = true;
		} else if (strcmp(argv[i], "role") == 0 && i + 1 < argc) {
			if (tg_role_parse(argv[++i], &role)) {
				char opts[64];

				tg_err("role '%s': expected %s", argv[i],
				       TG_NAMES_JOIN(tg_role_names, opts));
				return 2;
			}
			have_role = true;
		} else if (strcmp(argv[i], "mode") == 0 && i + 1 < argc) {
			if (tg_mode_parse(argv[++i], &mode)) {
				char opts[64];

				tg_err("mode '%s': expected %s", argv[i],
				       TG_NAMES_JOIN(tg_mode_names, opts));
				return 2;
			}
			have_mode = true;
		} else {
			tg_err("attach: unexpected argument '%s'", argv[i]);
			return 2;
		}
	}
	if (!have_role) {
		tg_err("attach %s: missing 'role customer|upstream'", argv[0]);
		return 2;
	}
	if (strlen(argv[0]) >= IFNAMSIZ) {
		tg_err("%s: interface name longer than %d characters", argv[0], IFNAMSIZ - 1);
		return 2;
	}

	t0 = tg_mono_ms();
	cfg = load_config();
	if (!cfg)
		return 1;
	if (tg_log_verbose)
		tg_info("attach: configuration read        %7.3f s", (tg_mono_ms() - t0) / 1e3);
	conf = tg_config_iface(cfg, argv[0]);
	if (conf) {
		ic = *conf;
		if (conf->role != role) {
			tg_err("%s: %s line %d gives role %s, the command says %s", argv[0],
			       cfg->path, conf->line, tg_role_name(conf->role), tg_role_name(role));
			tg_config_free(cfg);
			return 1;
		}
	} else {
		snprintf(ic.name, sizeof(ic.name), "%s", argv[0]);
		ic.role = role;
		ic.antispoof = TG_AS_STRICT;
		ic.exc_pps = role == TG_ROLE_CUSTOMER ? TG_EXC_PPS_DEFAULT : 0;
		tg_warn("%s is not in %s: antispoof strict, no monitor mode", argv[0], cfg->path);
	}
	if (have_mode) {
		if (conf && conf->mode != mode)
			tg_warn("%s: mode %s from the command line, not %s as %s line %d says",
				ic.name, tg_mode_name(mode), tg_mode_name(conf->mode), cfg->path,
				conf->line);
		ic.mode = mode;
	}

	if (check_rxvlan(cfg, ic.name, force)) {
		tg_config_free(cfg);
		return 1;
	}
	tg_capacity_from_config(cfg, &cap);
	t0 = tg_mono_ms();
	err = tg_maps_open(tg_pin_dir(cfg), &cap, true, &m);
	if (err) {
		if (err == -EPERM)
			tg_err("permission denied: attaching needs root (CAP_BPF, CAP_NET_ADMIN)");
		tg_config_free(cfg);
		return 1;
	}
	if (tg_log_verbose)
		tg_info("attach: maps and program loaded  %7.3f s", (tg_mono_ms() - t0) / 1e3);
	err = tg_apply(&m, cfg, NULL, NULL, NULL, NULL, NULL, &errs);
	tg_errs_report(&errs);
	if (!err)
		err = tg_attach_iface(&m, &ic, force);
	if (err) {
		/* nothing attached anywhere: do not leave an orphan program pinned */
		left = tg_count_links(m.pin_dir);
		tg_maps_close(&m);
		if (!left)
			tg_maps_unpin(tg_pin_dir(cfg));
		tg_config_free(cfg);
		return 1;
	}
	tg_print(json_pack("{si ss ss ss ss si}", "version", TG_JSON_VERSION, "interface", ic.name,
			   "role", tg_role_name(ic.role), "mode", tg_mode_name(ic.mode),
			   "antispoof", tg_antispoof_name(ic.antispoof), "customers",
			   (int)cfg->ncustomers),
		 print_attach);
	tg_maps_close(&m);
	tg_config_free(cfg);
	return 0;
}

static void print_detach(const json_t *doc)
{
	printf("%s: detached", json_string_value(json_object_get(doc, "interface")));
	if (json_is_true(json_object_get(doc, "unloaded")))
		printf("; no interface left: program and maps unpinned");
	printf("\n");
}

int cmd_detach(int argc, char **argv)
{
	char pin_dir[512];
	struct tg_maps m;
	int err, left = 0;

	if (argc != 1) {
		tg_err("usage: tollgate detach IFACE");
		return 2;
	}
	if (tg_opts_pin_dir(pin_dir, sizeof(pin_dir)))
		return 1;
	err = tg_maps_open(pin_dir, NULL, false, &m);
	if (err == -EPROTO) {
		/* pins of another version: still take the link off, and unload if it was the
		 * last, so an upgrade can always go back to a clean state */
		tg_info("detaching %s from pins of another layout version", argv[0]);
		err = tg_detach_link(pin_dir, argv[0], &left);
	} else if (err) {
		if (err == -ENOENT)
			tg_err("%s: Tollgate is not loaded (nothing pinned at %s)", argv[0],
			       pin_dir);
		return 1;
	} else {
		err = tg_detach_iface(&m, argv[0], &left);
		tg_maps_close(&m);
	}
	if (!err && left == 0)
		err = tg_maps_unpin(pin_dir);
	if (!err)
		tg_print(json_pack("{si ss sb}", "version", TG_JSON_VERSION, "interface", argv[0],
				   "unloaded", left == 0),
			 print_detach);
	return err ? 1 : 0;
}

static void print_reload(const json_t *doc)
{
	const json_t *c = json_object_get(doc, "customers"), *v;
	size_t i;

	printf("reloaded %s: %lld customers (%lld added, %lld changed, %lld removed)\n",
	       json_string_value(json_object_get(doc, "config")),
	       json_integer_value(json_object_get(c, "total")),
	       json_integer_value(json_object_get(c, "added")),
	       json_integer_value(json_object_get(c, "changed")),
	       json_integer_value(json_object_get(c, "removed")));
	json_array_foreach (json_object_get(doc, "interfaces"), i, v)
		printf("  %s: settings refreshed\n", json_string_value(v));
	json_array_foreach (json_object_get(doc, "not_attached"), i, v)
		printf("  %s: in the config but not attached (tollgate attach %s role ...)\n",
		       json_string_value(v), json_string_value(v));
}

/* Print a result (or the errors) and return the exit code. */
static int reload_done(json_t *res, struct tg_errs *errs)
{
	tg_errs_report(errs);
	if (!res)
		return 1;
	tg_print(res, print_reload);
	return 0;
}

/*
 * Ask tollgated to reload: it keeps what it applied in memory, so it writes only the
 * difference without reading the maps back. 1: no daemon listens; else the exit code.
 */
static int reload_by_daemon(void)
{
	struct tg_errs errs = {};
	const char *sock = tg_ctl_path();
	json_t *req, *reply = NULL, *v;
	size_t i;
	int err;

	req = json_pack("{ss}", "command", "reload");
	if (tg_opts.config) {
		char real[PATH_MAX];

		if (!realpath(tg_opts.config, real)) {
			tg_err("%s: %s", tg_opts.config, strerror(errno));
			json_decref(req);
			return 1;
		}
		json_object_set_new(req, "config", json_string(real));
	}
	err = tg_ctl_call(sock, req, &reply, 600000);
	if (err == -ENOENT || err == -ECONNREFUSED)
		return -1;
	if (err) {
		tg_err("tollgated at %s: %s", sock,
		       err == -EPROTO ? "the reply is not JSON" : strerror(-err));
		return 1;
	}
	json_array_foreach (json_object_get(reply, "warnings"), i, v)
		tg_warn("%s", json_string_value(v));
	json_array_foreach (json_object_get(reply, "errors"), i, v)
		tg_errs_add(&errs, "%s", json_string_value(v));
	if (!json_is_true(json_object_get(reply, "ok")) && !errs.n)
		tg_errs_add(&errs, "tollgated: %s",
			    json_string_value(json_object_get(reply, "error")) ?: "reload failed");
	v = json_object_get(reply, "result");
	err = reload_done(json_is_true(json_object_get(reply, "ok")) && v ? json_incref(v) : NULL,
			  &errs);
	json_decref(reply);
	return err;
}

/*
 * Re-read the configuration and apply the difference to the running data plane: customers
 * added, changed and removed (unchanged ones keep counters and policer state), and the
 * settings of the interfaces already attached. A configuration with errors changes
 * nothing. With tollgated running the daemon does it (the fast path); without, this
 * process does, reading the maps back (writers are serialised either way).
 */
int cmd_reload(int argc, char **argv)
{
	const char *path = tg_opts.config ? tg_opts.config : TG_CONFIG_DEFAULT;
	struct tg_applied *old = NULL;
	struct tg_errs errs = {};
	char pin_dir[512];
	struct tg_maps m;
	json_t *res;
	int err;

	(void)argv;
	if (argc != 0) {
		tg_err("usage: tollgate [-c FILE] reload");
		return 2;
	}
	err = reload_by_daemon();
	if (err >= 0)
		return err;
	if (tg_log_verbose)
		tg_info("no tollgated at %s: reloading here", tg_ctl_path());
	err = tg_opts_pin_dir(pin_dir, sizeof(pin_dir));
	if (!err)
		err = tg_maps_open(pin_dir, NULL, false, &m);
	if (err) {
		if (err == -ENOENT)
			tg_err("Tollgate is not loaded (nothing pinned at %s): attach an interface "
			       "first",
			       pin_dir);
		else
			tg_err("%s: %s", pin_dir, strerror(-err));
		return 1;
	}
	res = tg_reload(&m, path, NULL, NULL, &old, &errs);
	tg_maps_close(&m);
	return reload_done(res, &errs);
}
