// SPDX-License-Identifier: GPL-2.0-only
/*
 * reload.c - tg_reload: one reload, for tollgated and for tollgate without a daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "datapath/datapath.h"
#include "lib/lib.h"
#include "reload.h"

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

json_t *tg_reload(struct tg_maps *m, const char *path, const struct tg_enf_view *enf,
		  struct tg_applied **app, struct tg_applied **old, struct tg_errs *errs)
{
	struct tg_applied *none = NULL, *dropped = NULL;
	struct tg_sync_stats st;
	struct tg_capacity cap;
	struct tg_cfg *cfg = NULL;
	struct tg_load_cache *lc = NULL;
	struct tg_iface_cfg *ifaces = NULL;
	size_t nifaces = 0;
	struct timespec t0;
	json_t *done = NULL, *missing = NULL, *doc = NULL;
	char link[512];
	size_t i;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	*old = NULL;
	/* a reload cache only for a snapshot kept for the next reload */
	err = tg_config_load_from(path, app ? tg_applied_cache(*app) : NULL, app ? &lc : NULL, &cfg,
				  errs);
	if (!app)
		app = &none;
	if (err) {
		if (!errs->n)
			tg_errs_add(errs, "%s: cannot load the configuration: %s", path,
				    strerror(-err));
		return NULL;
	}
	if (tg_log_verbose)
		tg_info("reload: %s read, %zu of %zu rows unchanged, in %.3f s", path,
			lc ? lc->rows_reused : 0, cfg->ncustomers, seconds_since(&t0));
	tg_capacity_from_config(cfg, &cap);
	if (cap.max_customers != m->max_cust - 1)
		tg_warn("capacity.max_customers is %u, the loaded maps hold %u: a new capacity "
			"takes effect when every interface is detached and attached again",
			cap.max_customers, m->max_cust - 1);
	/* tg_apply takes cfg: keep what the reply needs */
	doc = json_pack("{si ss}", "version", TG_JSON_VERSION, "config", cfg->path);
	done = json_array();
	missing = json_array();
	for (i = 0; i < cfg->nifaces; i++) {
		snprintf(link, sizeof(link), "%s/%s%s", m->pin_dir, TG_PIN_LINK_PREFIX,
			 cfg->ifaces[i].name);
		json_array_append_new(access(link, F_OK) ? missing : done,
				      json_string(cfg->ifaces[i].name));
	}
	/* the interfaces' settings are refreshed after the customers, from this copy */
	ifaces = calloc(cfg->nifaces + 1, sizeof(*ifaces));
	nifaces = cfg->nifaces;

	if (!doc || !done || !missing || !ifaces) {
		tg_errs_add(errs, "out of memory");
		tg_config_free(cfg);
		tg_load_cache_free(lc);
		err = -ENOMEM;
		goto out;
	}
	memcpy(ifaces, cfg->ifaces, nifaces * sizeof(*ifaces));
	err = tg_apply(m, cfg, lc, enf, app, old, &st, errs);
	if (err)
		goto out;
	for (i = 0; i < nifaces; i++) {
		snprintf(link, sizeof(link), "%s/%s%s", m->pin_dir, TG_PIN_LINK_PREFIX,
			 ifaces[i].name);
		if (access(link, F_OK) == 0 &&
		    (err = tg_attach_iface(m, &ifaces[i], ifaces[i].force)) == -EBUSY) {
			/* a foreign program took it (tollgated's link watch says so): the
			 * others are refreshed all the same */
			tg_errs_add(errs, "%s: a foreign XDP program holds it: not refreshed",
				    ifaces[i].name);
			err = 0;
		} else if (err) {
			tg_errs_add(errs, "%s: cannot refresh its settings: %s", ifaces[i].name,
				    strerror(-err));
		}
		if (err)
			goto out;
	}
	json_object_set_new(doc, "customers",
			    json_pack("{sI sI sI sI}", "total", (json_int_t)st.customers, "added",
				      (json_int_t)st.added, "changed", (json_int_t)st.changed,
				      "removed", (json_int_t)st.removed));
	json_object_set_new(doc, "sync", json_string(st.full ? "full" : "incremental"));
	json_object_set(doc, "interfaces", done);
	json_object_set(doc, "not_attached", missing);
	json_object_set_new(doc, "seconds", json_real(seconds_since(&t0)));
out:
	json_decref(done);
	json_decref(missing);
	free(ifaces);
	if (app == &none) { /* nobody keeps the snapshot */
		dropped = none;
		tg_applied_free(dropped);
		tg_applied_free(*old);
		*old = NULL;
	}
	if (err) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}
