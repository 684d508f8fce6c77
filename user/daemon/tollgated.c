// SPDX-License-Identifier: GPL-2.0-only
/*
 * tollgated.c - the daemon. It attaches every interface of the config, keeps what it
 * applied in memory so a reload writes only the difference, and answers the control
 * socket; SIGHUP reloads, SIGTERM/SIGINT stop it and leave XDP attached, so policing
 * continues. Every TG_SWEEP_INTERVAL_S it deletes the per-source blocks that ended; every
 * enforcement interval it evaluates the rules on the customers' rates, and lifts what is
 * due (enforce.c).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "cluster/cluster.h"
#include "datapath/datapath.h"
#include "lib/lib.h"
#include "control.h"
#include "reload/reload.h"
#include "enforce.h"
#include "alert.h"
#include "capture.h"
#include "exporter.h"
#include "linkwatch.h"
#include "mitigate.h"

struct daemon {
	const char *config_path;
	struct tg_maps maps;
	bool maps_open;
	struct tg_applied *app; /* what the customer maps hold, as we wrote it */
	int ctl;		/* the control socket, or -1 */
	struct tg_enforcer *enf;
	struct tg_exporter *exporter; /* /metrics, or NULL */
	struct tg_alertq *alertq;     /* the Alertmanager webhook's alerts (alert.h), or NULL */
	bool resync; /* an enforcement change could not be written from the snapshot */
	int efd;     /* the enforcement interval's timer */
	int64_t interval_ms;
	int ep;		     /* the event loop */
	bool detach_on_stop; /* -d: take XDP off the interfaces when stopped */
	struct tg_ctl_conn *conns[TG_CTL_MAX_CONNS];
	int nconns;
	bool ctl_listening;
	struct tg_linkwatch *lw;     /* the interfaces' link events and checks, or NULL */
	struct tg_applied *replaced; /* what a reload on the control socket replaced, until the
				      * reply is sent (after_reload frees it) */
	struct tg_cluster *cl;	     /* the cluster (cluster:), or NULL: this node alone */
	int64_t applied_ms;	     /* when the configuration in force was applied */
	size_t ncust_held;	 /* the most customers applied since the heap was last trimmed */
	struct tg_capturer *cap; /* the evidence samples (capture.h), or NULL */
};

/* Another node's action, recorded and applied like a local one (enforce.h). */
static int cluster_apply(void *ctx, const struct tg_cluster_change *ch)
{
	struct daemon *d = ctx;

	return tg_enforcer_apply(d->enf, d->maps_open && d->app ? &d->maps : NULL, d->app, ch,
				 &d->resync);
}

/* What the registration says: interfaces (attached or not), customers, the configuration
 * generation (a digest of tollgate.yaml and the customers file as applied). */
static void cluster_info(struct daemon *d)
{
	const struct tg_cfg *cfg = tg_applied_cfg(d->app);
	const struct tg_load_cache *lc = tg_applied_cache(d->app);
	const struct tg_enf_table *t = tg_enforcer_table(d->enf);
	json_t *o, *ifs;
	char gen[40];

	if (!d->cl || !cfg)
		return;
	tg_cluster_set_retention(d->cl, (int64_t)(cfg->enforcement.retention_ns / 1000000));
	ifs = json_array();
	for (size_t i = 0; i < cfg->nifaces; i++) {
		struct tg_link_live ll;

		tg_link_live(d->maps.pin_dir, cfg->ifaces[i].name, 0, &ll);
		json_array_append_new(ifs, json_pack("{ss sb ss}", "name", cfg->ifaces[i].name,
						     "attached", ll.state == TG_LINK_ATTACHED,
						     "state", tg_link_state_name(ll.state)));
	}
	snprintf(gen, sizeof(gen), "%016llx%016llx",
		 (unsigned long long)(lc && lc->yaml_raw ? tg_hash(lc->yaml_raw, lc->yaml_len) : 0),
		 (unsigned long long)(lc && lc->csv_raw ? tg_hash(lc->csv_raw, lc->csv_len) : 0));
	o = json_pack("{so sI ss sI sI}", "interfaces", ifs, "customers",
		      (json_int_t)cfg->ncustomers, "config_generation", gen, "config_applied_ms",
		      (json_int_t)d->applied_ms, "not_active", (json_int_t)(t ? t->n : 0));
	/* where Prometheus scrapes it (tollgate cluster targets) */
	json_object_set_new(o, "metrics", json_string(cfg->metrics_listen));
	tg_cluster_set_info(d->cl, o);
	json_decref(o);
}

static void exporter_config(struct daemon *d);

/*
 * Read the config twice more the way a reload will, keep both until the second is read,
 * and throw them away: the heap (which main() keeps from shrinking) then holds, faulted in,
 * room for a reload's new configuration and for the tables its sync builds, before anyone
 * waits for one. Measured at 1M customers with 1k changed, two daemons alternated twice:
 * the first two reloads 0.65-0.73 s, against 0.99-1.34 s with one rehearsal (61,000 page
 * faults in its first four reloads, against 800); later ones the same (0.61-0.76 s); the
 * RSS between reloads 2.38 GiB against 2.17 GiB.
 */
static void rehearse(struct daemon *d)
{
	struct tg_errs errs = {};
	struct tg_cfg *cfg[2] = {NULL, NULL};
	struct tg_load_cache *lc[2] = {NULL, NULL};

	for (int i = 0; i < 2; i++)
		if (!tg_config_load_from(d->config_path, tg_applied_cache(d->app), &lc[i], &cfg[i],
					 &errs))
			tg_config_index_rows(cfg[i], lc[i]);
	for (int i = 0; i < 2; i++) {
		tg_config_free(cfg[i]);
		tg_load_cache_free(lc[i]);
	}
	tg_errs_free(&errs);
}

/* Load the config and make the data plane match it; attach every configured interface. */
static int start(struct daemon *d)
{
	struct tg_applied *old = NULL;
	struct tg_sync_stats st;
	struct tg_errs errs = {};
	struct tg_cfg *cfg = NULL;
	struct tg_load_cache *lc = NULL;
	struct tg_capacity cap;
	char msg[512];
	size_t i;
	int err;

	err = tg_config_load_from(d->config_path, NULL, &lc, &cfg, &errs);
	if (err)
		goto report;
	/* the enforcement state first: the first sync writes it into the records */
	err = tg_enforcer_open(cfg->state_path, &d->enf, msg, sizeof(msg));
	if (err) {
		tg_errs_add(&errs, "state database %s", msg);
		tg_config_free(cfg);
		goto report;
	}
	/* the cluster's state before the first sync writes the records, and so before any
	 * interface is attached: a customer suspended elsewhere is never let through here */
	if (cfg->cluster.enabled) {
		err = tg_cluster_open(&cfg->cluster, cfg->state_path, &d->cl, msg, sizeof(msg));
		/* this node's event ids carry its cluster name's node part: every node records
		 * an action under its origin's id, and nodes on one machine (one machine-id)
		 * still issue different ids */
		if (!err && tg_state_set_node(tg_enforcer_statedb(d->enf), cfg->cluster.node)) {
			snprintf(msg, sizeof(msg),
				 "state database: cannot read the last event id "
				 "of node %s",
				 cfg->cluster.node);
			err = -EIO;
		}
		if (!err) {
			tg_enforcer_set_cluster(d->enf, d->cl);
			err = tg_cluster_start(d->cl, tg_enforcer_statedb(d->enf), cluster_apply, d,
					       msg, sizeof(msg));
		}
		if (err) {
			tg_errs_add(&errs, "cluster: %s", msg);
			tg_config_free(cfg);
			goto report;
		}
	}
	err = tg_ctl_set_group(tg_ctl_path(), cfg->control_group, msg, sizeof(msg));
	if (err) {
		tg_errs_add(&errs, "control socket %s", msg);
		tg_config_free(cfg);
		goto report;
	}
	tg_capacity_from_config(cfg, &cap);
	err = tg_maps_open(tg_pin_dir(cfg), &cap, true, &d->maps);
	if (err) {
		tg_config_free(cfg);
		goto report;
	}
	d->maps_open = true;
	err = tg_apply(&d->maps, cfg, lc, tg_enforcer_view(d->enf), &d->app, &old, &st, &errs);
	lc = NULL; /* taken */
	if (err)
		goto report;
	cfg = (struct tg_cfg *)tg_applied_cfg(d->app);
	if (!d->cap) {
		int e = tg_capturer_open(&d->maps, tg_enforcer_statedb(d->enf), &d->cap);

		if (e)
			tg_warn("evidence capture: cannot open the ring buffer (%s): no packet "
				"is captured",
				strerror(-e));
		tg_enforcer_set_capturer(d->enf, d->cap);
	}
	for (i = 0; cfg && i < cfg->nifaces; i++) {
		int e = tg_attach_iface(&d->maps, &cfg->ifaces[i], cfg->ifaces[i].force);

		if (e && !err)
			err = e;
	}
	tg_applied_index(d->app);
	/* start-up is done: no thread started from here on (notifier, exporter) gets more
	 * than it needs to run (privs.h) */
	if (!err && (err = tg_drop_privileges(msg, sizeof(msg))))
		tg_errs_add(&errs, "capabilities: %s", msg);
	if (!err && d->cl && (err = tg_cluster_run(d->cl, msg, sizeof(msg))))
		tg_errs_add(&errs, "%s", msg);
	if (!err && tg_enforcer_configure(d->enf, &d->maps, d->app, msg, sizeof(msg)))
		tg_errs_add(&errs, "enforcement: %s", msg);
	if (!err) {
		exporter_config(d);
		tg_linkwatch_configure(d->lw, &d->maps, cfg);
		d->applied_ms = tg_now_ms();
		cluster_info(d);
	}
	rehearse(d);
	d->ncust_held = cfg ? cfg->ncustomers : 0;
	tg_info("%s applied: %zu customers (%zu added, %zu changed, %zu removed), %zu interfaces, "
		"%zu customers suspended or throttled",
		d->config_path, st.customers, st.added, st.changed, st.removed,
		cfg ? cfg->nifaces : 0, tg_enforcer_table(d->enf)->n);
report:
	tg_load_cache_free(lc); /* NULL once the sync took it */
	for (i = 0; i < errs.n; i++)
		tg_err("%s", errs.msg[i]);
	tg_errs_free(&errs);
	tg_applied_free(old);
	return err;
}

/* One reload: the reply document ({"ok": true, "result": ...} or the errors). */
static json_t *reload(struct daemon *d, struct tg_applied **old)
{
	struct tg_errs errs = {};
	json_t *res, *reply, *msgs;
	size_t i;

	res = tg_reload(&d->maps, d->config_path, tg_enforcer_view(d->enf), &d->app, old, &errs);
	msgs = json_array();
	for (i = 0; i < errs.n; i++) {
		tg_err("%s", errs.msg[i]);
		json_array_append_new(msgs, json_string(errs.msg[i]));
	}
	if (res) {
		json_t *c = json_object_get(res, "customers");
		const struct tg_cfg *cfg = tg_applied_cfg(d->app);
		char msg[512];

		if (cfg && tg_ctl_set_group(tg_ctl_path(), cfg->control_group, msg, sizeof(msg)))
			tg_warn("control socket %s", msg);
		tg_info("%s reloaded in %.3f s (%s sync): %lld customers (%lld added, %lld "
			"changed, %lld removed)",
			d->config_path, json_real_value(json_object_get(res, "seconds")),
			json_string_value(json_object_get(res, "sync")),
			json_integer_value(json_object_get(c, "total")),
			json_integer_value(json_object_get(c, "added")),
			json_integer_value(json_object_get(c, "changed")),
			json_integer_value(json_object_get(c, "removed")));
		reply = json_pack("{sb so so}", "ok", 1, "result", res, "warnings", msgs);
	} else {
		tg_err("%s: not applied, the running policy is unchanged", d->config_path);
		reply = json_pack("{sb ss so}", "ok", 0, "error",
				  "the configuration was not applied", "errors", msgs);
	}
	tg_errs_free(&errs);
	return reply;
}

/* The enforcement timer at the configured interval (unchanged: nothing to do). */
static void arm_interval(struct daemon *d)
{
	int64_t ms = tg_enforcer_interval_ms(d->enf);
	struct itimerspec it = {.it_interval = {ms / 1000, (ms % 1000) * 1000000}};

	if (d->efd < 0 || ms == d->interval_ms || ms <= 0)
		return;
	it.it_value = it.it_interval;
	timerfd_settime(d->efd, 0, &it, NULL);
	d->interval_ms = ms;
}

/*
 * The heap is kept at its peak between reloads (main: a reload finds its memory faulted
 * in), sized for the most customers applied. When they shrink below three quarters of
 * that, the free memory goes back to the kernel (malloc_trim releases the free pages
 * inside the heap too, not only its top): the heap then grows again for the new size.
 */
static void give_back(struct daemon *d)
{
	const struct tg_cfg *cfg = tg_applied_cfg(d->app);
	size_t n = cfg ? cfg->ncustomers : 0;

	if (n > d->ncust_held) {
		d->ncust_held = n;
		return;
	}
	if (n >= d->ncust_held / 4 * 3)
		return;
	malloc_trim(0);
	if (tg_log_verbose)
		tg_info("customers down from %zu to %zu: free memory given back", d->ncust_held, n);
	d->ncust_held = n;
}

/*
 * After the reply: the old snapshot goes (its memory back to the kernel if the customers
 * shrank: give_back), the new one is indexed for the next reload, and enforcement takes
 * the new rules, targets and customers.
 */
static void after_reload(struct daemon *d, struct tg_applied *old)
{
	char msg[512];

	tg_applied_free(old);
	give_back(d);
	tg_applied_index(d->app);
	if (old && tg_enforcer_configure(d->enf, &d->maps, d->app, msg, sizeof(msg)))
		tg_err("enforcement: %s", msg);
	if (old) {
		exporter_config(d);
		tg_linkwatch_configure(d->lw, &d->maps, tg_applied_cfg(d->app));
		d->applied_ms = tg_now_ms();
	}
	cluster_info(d);
	arm_interval(d);
}

/* ---- the link watcher's hands (linkwatch.h) ---- */

/* A device came back under a configured name: the reload path syncs the customers (their
 * bindings name the new ifindex) and re-attaches what is pinned. */
static int lw_resync(void *ctx)
{
	struct daemon *d = ctx;
	struct tg_applied *old = NULL;
	json_t *reply;
	int err;

	tg_info("an interface came back: syncing the customers and attaching it again");
	reply = reload(d, &old);
	err = json_is_true(json_object_get(reply, "ok")) ? 0 : -EIO;
	json_decref(reply);
	after_reload(d, old);
	return err;
}

static void lw_audit(void *ctx, const char *action, const char *reason, const char *evidence)
{
	struct daemon *d = ctx;

	tg_enforcer_audit_iface(d->enf, action, reason, evidence);
}

/* The exporter with the configuration's settings (restarted when they changed). */
static void exporter_config(struct daemon *d)
{
	const struct tg_cfg *cfg = tg_applied_cfg(d->app);
	char msg[512];

	if (!cfg)
		return;
	if (tg_exporter_same(d->exporter, cfg)) {
		tg_exporter_set_ifaces(d->exporter, cfg);
		if (tg_exporter_reload(d->exporter, msg, sizeof(msg)))
			tg_err("%s: the exporter keeps the token it had", msg);
		return;
	}
	tg_enforcer_set_exporter(d->enf, NULL);
	tg_exporter_stop(d->exporter);
	d->exporter = NULL;
	if (tg_exporter_start(cfg, d->maps.pin_dir, &d->exporter, msg, sizeof(msg)))
		tg_err("%s: no metrics until it can (a reload tries again)", msg);
	else
		tg_info("metrics at http://%s/metrics (per customer: %s)", cfg->metrics_listen,
			cfg->metrics_per_customer);
	tg_enforcer_set_exporter(d->enf, d->exporter);
	tg_exporter_set_ifaces(d->exporter, cfg);
	tg_exporter_set_alertq(d->exporter, d->alertq);
}

/* An enforcement change is recorded but not in the data plane: sync everything. */
static void resync(struct daemon *d)
{
	struct tg_applied *old = NULL;

	d->resync = false;
	tg_info("enforcement: writing the data plane in full");
	json_decref(reload(d, &old));
	after_reload(d, old);
}

static json_t *error_reply(const char *msg)
{
	return json_pack("{sb ss}", "ok", 0, "error", msg);
}

/* ---- the control socket's commands (control.h) ---- */

static json_t *cmd_reload(void *ctx, const json_t *req, const struct ucred *cred)
{
	struct daemon *d = ctx;
	const char *want = json_string_value(json_object_get(req, "config"));
	char real[PATH_MAX], err[512];

	(void)cred;
	if (want && (!realpath(d->config_path, real) || strcmp(real, want))) {
		snprintf(err, sizeof(err),
			 "tollgated runs with %.200s: it reloads that file, not %.200s",
			 d->config_path, want);
		return error_reply(err);
	}
	return reload(d, &d->replaced);
}

/* suspend, unsuspend and mitigation_*: carried out by enforcement (enforce.h), record first. */
static json_t *cmd_manual(void *ctx, const json_t *req, const struct ucred *cred)
{
	struct daemon *d = ctx;
	const char *cmd = json_string_value(json_object_get(req, "command"));

	return tg_enforcer_request(d->enf, &d->maps, d->app, cmd, req, cred, &d->resync);
}

/* capture {customer, count?, reason?}: recorded, then armed (enforce.h, capture.h). */
static json_t *cmd_capture(void *ctx, const json_t *req, const struct ucred *cred)
{
	struct daemon *d = ctx;

	return tg_enforcer_capture(d->enf, &d->maps, d->app, req, cred);
}

static json_t *cmd_ping(void *ctx, const json_t *req, const struct ucred *cred)
{
	struct daemon *d = ctx;
	json_t *h = tg_enforcer_health(d->enf);

	(void)req;
	(void)cred;
	if (h) {
		json_object_set_new(h, "ok", json_true());
		json_object_set_new(h, "pid", json_integer(getpid()));
		json_object_set_new(h, "config", json_string(d->config_path));
	}
	return h ? h : json_pack("{sb si}", "ok", 1, "pid", (int)getpid());
}

#define F_CUSTOMER                                                                                 \
	{                                                                                          \
		"customer", TG_CF_TEXT, true, TG_ID_LEN - 1, "an id"                               \
	}
#define F_REASON                                                                                   \
	{                                                                                          \
		"reason", TG_CF_TEXT, true, TG_REASON_MAX, "text for the audit log"                \
	}

static const struct tg_ctl_field reload_fields[] = {
	{"config", TG_CF_TEXT, false, PATH_MAX - 1, "the path of the file tollgated runs with"},
	{NULL},
};
static const struct tg_ctl_field suspend_fields[] = {
	F_CUSTOMER,
	F_REASON,
	{"for", TG_CF_DURATION, false, 0, "a duration above zero (30m, 12h, 7d)"},
	{NULL},
};
static const struct tg_ctl_field unsuspend_fields[] = {F_CUSTOMER, F_REASON, {NULL}};
static const struct tg_ctl_field capture_fields[] = {
	F_CUSTOMER,
	{"count", TG_CF_TEXT, false, 8, "a number of packets (1..100)"},
	{"reason", TG_CF_TEXT, false, TG_REASON_MAX, "text for the audit log"},
	{NULL},
};
static const struct tg_ctl_field no_fields[] = {{NULL}};
/* upstream mitigation by hand: the values are checked by the mitigation room's parser */
#define F_MIT_SPEC                                                                                 \
	{"kind", TG_CF_TEXT, false, 15, "blackhole or flowspec"},                                  \
		{"address", TG_CF_TEXT, false, 63, "an address (198.51.100.7, 2001:db8::7)"},      \
		{"proto", TG_CF_TEXT, false, 15, "a protocol (udp, tcp, 17)"},                     \
		{"source_ports", TG_CF_TEXT, false, 63, "source ports (53,123)"},                  \
	{                                                                                          \
		"rate", TG_CF_TEXT, false, 31, "a bit rate (10mbit)"                               \
	}
static const struct tg_ctl_field mit_announce_fields[] = {
	F_MIT_SPEC,
	F_REASON,
	{"for", TG_CF_DURATION, false, 0, "a duration above zero (30m, 2h)"},
	{NULL},
};
static const struct tg_ctl_field mit_withdraw_fields[] = {
	F_MIT_SPEC,
	F_REASON,
	{"key", TG_CF_TEXT, false, TG_MIT_KEY_LEN - 1, "an announcement's key (mitigation list)"},
	{NULL},
};

/* What the control socket answers: {name, handler, fields, writes the data plane}. */
static const struct tg_ctl_cmd commands[] = {
	{"reload", cmd_reload, reload_fields, true},
	{"suspend", cmd_manual, suspend_fields, true},
	{"unsuspend", cmd_manual, unsuspend_fields, true},
	{"mitigation_list", cmd_manual, no_fields, false},
	{"mitigation_announce", cmd_manual, mit_announce_fields, true},
	{"mitigation_withdraw", cmd_manual, mit_withdraw_fields, true},
	{"capture", cmd_capture, capture_fields, true},
	{"ping", cmd_ping, no_fields, false},
	{NULL},
};

/* One complete request: the reply. A request the table refuses reaches no handler. */
static json_t *handle(struct daemon *d, const json_t *req, const struct ucred *cred,
		      struct tg_applied **old)
{
	const struct tg_ctl_cmd *c;
	json_t *reply;
	char err[512];

	c = tg_ctl_select(commands, req, err, sizeof(err));
	if (!c) {
		tg_warn("control socket (uid %u): refused: %s", (unsigned)cred->uid, err);
		return error_reply(err);
	}
	if (c->writes)
		tg_info("%s requested by uid %u (pid %d)", c->name, (unsigned)cred->uid,
			(int)cred->pid);
	reply = c->run(d, req, cred);
	*old = d->replaced;
	d->replaced = NULL;
	return reply;
}

/*
 * The control socket without ever waiting on a client: connections are read as their
 * bytes arrive (epoll), answered once complete, dropped with an error at their deadline.
 * With every slot taken the listening socket leaves the loop (new clients wait in the
 * backlog) until one is free again.
 */
#define TAG_CONN (1ull << 32) /* epoll data of a connection: TAG_CONN | slot */

static void ctl_listen(struct daemon *d, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)d->ctl};

	if (d->ctl < 0 || on == d->ctl_listening)
		return;
	epoll_ctl(d->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, d->ctl, &ev);
	d->ctl_listening = on;
}

static void conn_done(struct daemon *d, int slot, json_t *reply)
{
	struct tg_ctl_conn *c = d->conns[slot];

	epoll_ctl(d->ep, EPOLL_CTL_DEL, c->fd, NULL);
	d->conns[slot] = NULL;
	d->nconns--;
	tg_ctl_conn_reply(c, reply);
	ctl_listen(d, true);
}

static void ctl_accept(struct daemon *d)
{
	for (int slot = 0; slot < TG_CTL_MAX_CONNS; slot++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_CONN | (uint64_t)slot};
		struct tg_ctl_conn *c;

		if (d->conns[slot])
			continue;
		c = tg_ctl_accept(d->ctl);
		if (!c)
			return;
		if (epoll_ctl(d->ep, EPOLL_CTL_ADD, c->fd, &ev)) {
			tg_ctl_conn_reply(c, error_reply("tollgated is out of resources"));
			return;
		}
		d->conns[slot] = c;
		d->nconns++;
	}
	ctl_listen(d, false); /* full */
}

static void ctl_read(struct daemon *d, int slot)
{
	struct tg_ctl_conn *c = d->conns[slot];
	struct tg_applied *old = NULL;
	json_t *req = NULL, *reply;
	char err[512];
	int rc;

	if (!c)
		return;
	rc = tg_ctl_conn_read(c, &req, err, sizeof(err));
	if (rc == 0)
		return;
	if (rc < 0) {
		tg_warn("control socket (uid %d): %s", (int)c->cred.uid, err);
		conn_done(d, slot, error_reply(err));
		return;
	}
	reply = handle(d, req, &c->cred, &old);
	json_decref(req);
	conn_done(d, slot, reply);
	after_reload(d, old);
	if (d->resync)
		resync(d);
}

static void ctl_expire(struct daemon *d)
{
	char err[256];

	for (int slot = 0; slot < TG_CTL_MAX_CONNS; slot++) {
		if (d->conns[slot] && tg_ctl_conn_expired(d->conns[slot], err, sizeof(err))) {
			tg_warn("control socket (uid %d): %s", (int)d->conns[slot]->cred.uid, err);
			conn_done(d, slot, error_reply(err));
		}
	}
}

/*
 * -d: on SIGTERM take the program off every interface of the configuration, and unload
 * it if no interface is left (the default is to leave XDP attached: policing goes on).
 */
static int detach_all(struct daemon *d)
{
	const struct tg_cfg *cfg = tg_applied_cfg(d->app);
	int left = -1, err = 0;

	for (size_t i = 0; cfg && i < cfg->nifaces; i++) {
		int e = tg_detach_iface(&d->maps, cfg->ifaces[i].name, &left);

		if (e && e != -ENOENT) {
			tg_err("%s: cannot detach: %s", cfg->ifaces[i].name, strerror(-e));
			err = e;
		} else if (!e) {
			tg_info("%s: detached", cfg->ifaces[i].name);
		}
	}
	if (!err && left == 0) {
		err = tg_maps_unpin(d->maps.pin_dir);
		if (!err)
			tg_info("no interface left: program and maps unloaded");
	}
	return err;
}

/* Blocked from the first instruction, so a SIGHUP during start-up is queued, not fatal. */
static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGPIPE);
	return sigprocmask(SIG_BLOCK, set, NULL) ? neg_errno() : 0;
}

/*
 * systemd (Type=notify): READY=1 once the configuration is applied, RELOADING=1 around a
 * reload, STOPPING=1, and WATCHDOG=1 from the event loop at half of WatchdogSec, on a
 * timer of its own: the enforcement interval may be longer than WatchdogSec (it used to
 * feed the watchdog, and an interval over WatchdogSec restarted the daemon in a loop).
 * Without systemd (no NOTIFY_SOCKET) these do nothing.
 */
static uint64_t watchdog_usec; /* WATCHDOG_USEC; 0: no watchdog */

/* The watchdog's own timer at WatchdogSec / 2 (at least 1 ms), or -1 without one. */
static int watchdog_timer(int ep)
{
	uint64_t us = watchdog_usec / 2 ? watchdog_usec / 2 : 1;
	struct itimerspec it = {
		.it_interval = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000}};
	struct epoll_event ev = {.events = EPOLLIN};
	int fd;

	if (!watchdog_usec)
		return -1;
	if (us < 1000)
		it.it_interval = (struct timespec){0, 1000000};
	it.it_value = it.it_interval;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -1;
	ev.data.u64 = (uint64_t)fd;
	if (timerfd_settime(fd, 0, &it, NULL) || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		return -1;
	}
	sd_notify(0, "WATCHDOG=1");
	return fd;
}

static int run(struct daemon *d, sigset_t *set)
{
	struct epoll_event ev = {.events = EPOLLIN}, got[16];
	struct signalfd_siginfo si;
	int sfd, tfd = -1, efd = -1, lfd = -1, wfd = -1, err = 0;

	sfd = signalfd(-1, set, SFD_CLOEXEC);
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || d->ep < 0) {
		err = neg_errno();
		goto out;
	}
	ev.data.u64 = (uint64_t)sfd;
	epoll_ctl(d->ep, EPOLL_CTL_ADD, sfd, &ev);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tfd >= 0) {
		struct itimerspec it = {.it_interval = {TG_SWEEP_INTERVAL_S, 0},
					.it_value = {TG_SWEEP_INTERVAL_S, 0}};

		timerfd_settime(tfd, 0, &it, NULL);
		ev.data.u64 = (uint64_t)tfd;
		epoll_ctl(d->ep, EPOLL_CTL_ADD, tfd, &ev);
	}
	efd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (efd >= 0) {
		d->efd = efd;
		arm_interval(d);
		ev.data.u64 = (uint64_t)efd;
		epoll_ctl(d->ep, EPOLL_CTL_ADD, efd, &ev);
	}
	if (d->lw) {
		struct itimerspec it = {.it_interval = {1, 0}, .it_value = {1, 0}};

		ev.data.u64 = (uint64_t)tg_linkwatch_fd(d->lw);
		epoll_ctl(d->ep, EPOLL_CTL_ADD, tg_linkwatch_fd(d->lw), &ev);
		lfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (lfd >= 0) {
			timerfd_settime(lfd, 0, &it, NULL);
			ev.data.u64 = (uint64_t)lfd;
			epoll_ctl(d->ep, EPOLL_CTL_ADD, lfd, &ev);
		}
	}
	if (tg_cluster_fd(d->cl) >= 0) {
		ev.data.u64 = (uint64_t)tg_cluster_fd(d->cl);
		epoll_ctl(d->ep, EPOLL_CTL_ADD, tg_cluster_fd(d->cl), &ev);
	}
	if (tg_alertq_fd(d->alertq) >= 0) {
		ev.data.u64 = (uint64_t)tg_alertq_fd(d->alertq);
		epoll_ctl(d->ep, EPOLL_CTL_ADD, tg_alertq_fd(d->alertq), &ev);
	}
	if (tg_capturer_fd(d->cap) >= 0) {
		ev.data.u64 = (uint64_t)tg_capturer_fd(d->cap);
		epoll_ctl(d->ep, EPOLL_CTL_ADD, tg_capturer_fd(d->cap), &ev);
	}
	wfd = watchdog_timer(d->ep);
	if (watchdog_usec && wfd < 0)
		tg_warn("systemd watchdog: cannot create its timer: %s", strerror(errno));
	ctl_listen(d, true);
	for (;;) {
		/* while a client is being read, wake up to drop it at its deadline */
		int n = epoll_wait(d->ep, got, 16, d->nconns ? 250 : -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = neg_errno();
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = got[i].data.u64;

			if (tag & TAG_CONN) {
				ctl_read(d, (int)(tag & 0xffffffffu));
				continue;
			}
			if ((int)tag == d->ctl) {
				ctl_accept(d);
				continue;
			}
			if (d->cl && (int)tag == tg_cluster_fd(d->cl)) {
				tg_cluster_read(d->cl, tg_enforcer_statedb(d->enf), cluster_apply,
						d);
				if (d->resync)
					resync(d);
				continue;
			}
			if (d->alertq && (int)tag == tg_alertq_fd(d->alertq)) {
				tg_alertq_run(d->alertq, d->enf, &d->maps, d->app, &d->resync);
				if (d->resync)
					resync(d);
				continue;
			}
			if (d->cap && (int)tag == tg_capturer_fd(d->cap)) {
				tg_capturer_read(d->cap);
				continue;
			}
			if (d->lw && (int)tag == tg_linkwatch_fd(d->lw)) {
				tg_linkwatch_read(d->lw);
				continue;
			}
			if ((int)tag == lfd) {
				uint64_t ticks;

				if (read(lfd, &ticks, sizeof(ticks)) == sizeof(ticks))
					tg_linkwatch_check(d->lw);
				continue;
			}
			if (wfd >= 0 && (int)tag == wfd) {
				uint64_t ticks;

				if (read(wfd, &ticks, sizeof(ticks)) == sizeof(ticks))
					sd_notify(0, "WATCHDOG=1");
				continue;
			}
			if ((int)tag == efd) {
				uint64_t ticks;

				if (read(efd, &ticks, sizeof(ticks)) == sizeof(ticks))
					tg_enforcer_tick(d->enf, &d->maps, d->app, tg_mono_ms(),
							 &d->resync);
				if (tg_applied_cfg(d->app))
					tg_capturer_tick(d->cap, &tg_applied_cfg(d->app)->capture,
							 tg_mono_ms());
				if (d->cl) { /* a read to redo; the registration's news */
					tg_cluster_read(d->cl, tg_enforcer_statedb(d->enf),
							cluster_apply, d);
					cluster_info(d);
				}
				if (d->resync)
					resync(d);
				continue;
			}
			if ((int)tag == tfd) {
				uint64_t ticks;
				size_t gone = 0;

				if (read(tfd, &ticks, sizeof(ticks)) == sizeof(ticks) &&
				    !tg_sweep_srcblock(&d->maps, &gone) && gone && tg_log_verbose)
					tg_info("%zu per-source blocks ended", gone);
				continue;
			}
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				struct tg_applied *old = NULL;

				tg_info("SIGHUP: reloading %s", d->config_path);
				sd_notify(0, "RELOADING=1");
				json_decref(reload(d, &old));
				after_reload(d, old);
				sd_notify(0, "READY=1");
			} else if (si.ssi_signo != SIGPIPE) {
				tg_info(d->detach_on_stop
						? "stopping; detaching (-d)"
						: "stopping; XDP stays attached and keeps "
						  "policing");
				sd_notify(0, "STOPPING=1");
				goto out;
			}
		}
		if (d->nconns)
			ctl_expire(d);
	}
out:
	for (int slot = 0; slot < TG_CTL_MAX_CONNS; slot++)
		if (d->conns[slot])
			conn_done(d, slot, error_reply("tollgated is stopping"));
	if (sfd >= 0)
		close(sfd);
	if (d->ep >= 0)
		close(d->ep);
	if (tfd >= 0)
		close(tfd);
	if (efd >= 0)
		close(efd);
	if (lfd >= 0)
		close(lfd);
	if (wfd >= 0)
		close(wfd);
	d->efd = -1;
	d->ep = -1;
	return err;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"foreground", no_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{"detach-on-stop", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct daemon d = {.config_path = TG_CONFIG_DEFAULT, .ctl = -1, .efd = -1, .ep = -1};
	const char *ctl_path = tg_ctl_path();
	char msg[512];
	sigset_t set;
	int opt, err;

	err = block_signals(&set);
	if (err)
		return 1;

	while ((opt = getopt_long(argc, argv, "c:fvdh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'f':
			break; /* the only mode for now */
		case 'v':
			tg_log_verbose++;
			break;
		case 'd':
			d.detach_on_stop = true;
			break;
		case 'h':
			printf("Usage: tollgated [-c FILE] [-f] [-v] [-d|--detach-on-stop]\n");
			return 0;
		default:
			fprintf(stderr,
				"Usage: tollgated [-c FILE] [-f] [-v] [-d|--detach-on-stop]\n");
			return 2;
		}
	}
	tg_log_setup_libbpf();
	/*
	 * A reload allocates the new configuration (~0.5 GB at 1M customers) and the tables
	 * it builds, and frees the old ones. What glibc keeps in its heap is reused warm;
	 * what it maps and unmaps each time costs the kernel more to fault in and clear than
	 * the work itself. So every allocation comes from the heap (glibc maps those over
	 * M_MMAP_THRESHOLD, at most 32 MiB: the customer array, the tables) and the heap is
	 * never trimmed: the daemon keeps about its peak RSS between reloads. Measured at 1M
	 * customers with 1k changed (bench/bench_load.sh, its log): 0.67-0.69 s a reload once
	 * the heap has grown (the first three 0.95-1.36 s), 0.89-1.27 s with the heap trimmed
	 * beyond 256 MiB; the same peak RSS.
	 */
	mallopt(M_MMAP_MAX, 0);
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
	/* first the socket: a second daemon stops here, before touching the maps */
	d.ctl = tg_ctl_listen(ctl_path, msg, sizeof(msg));
	if (d.ctl < 0) {
		tg_err("control socket %s", msg);
		return 1;
	}
	{
		struct tg_linkwatch_ops ops = {.resync = lw_resync, .audit = lw_audit, .ctx = &d};

		/* before start: an interface that goes while it attaches is an event */
		if (tg_linkwatch_open(&ops, &d.lw, msg, sizeof(msg)))
			tg_err("%s: interfaces are not watched (a lost attachment waits for a "
			       "reload)",
			       msg);
	}
	if (tg_alertq_new(&d.alertq))
		tg_err("the Alertmanager webhook: cannot make its queue (%s): it answers 503",
		       strerror(errno));
	err = start(&d);
	if (!err) {
		uint64_t usec = 0;

		if (sd_watchdog_enabled(0, &usec) > 0)
			watchdog_usec = usec;
		sd_notifyf(0, "READY=1\nSTATUS=policing %zu customers",
			   tg_applied_cfg(d.app) ? tg_applied_cfg(d.app)->ncustomers : 0);
		err = run(&d, &set);
		if (!err && d.detach_on_stop)
			err = detach_all(&d);
	}
	close(d.ctl);
	unlink(ctl_path);
	tg_exporter_stop(d.exporter);
	tg_alertq_free(d.alertq);
	tg_linkwatch_close(d.lw);
	tg_cluster_close(d.cl);
	tg_applied_free(d.app);
	tg_enforcer_set_capturer(d.enf, NULL);
	tg_capturer_close(d.cap);
	tg_enforcer_close(d.enf);
	if (d.maps_open)
		tg_maps_close(&d.maps);
	return err ? 1 : 0;
}
