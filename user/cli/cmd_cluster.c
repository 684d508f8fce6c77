// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_cluster.c - tollgate cluster status: the nodes of the cluster (cluster: in
 * tollgate.yaml) as etcd knows them, read from etcd directly (no daemon needed): each
 * node's health (up while its registration's lease lives), when it was last seen, its
 * interfaces and whether each is attached, its customers, its configuration generation and
 * whether that is not the one applied last in the cluster (drift), and its queued actions.
 * tollgate cluster targets: the same registry as a Prometheus file-based service discovery
 * list (docs/cluster.md, "Cluster-wide rules").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cluster/cluster.h"
#include "config/config.h"
#include "lib/lib.h"

static void print_nodes(const json_t *doc)
{
	const json_t *n, *ifc;
	size_t i, k;

	printf("%-20s %-5s %-20s %-9s %-6s %-7s %s\n", "NODE", "STATE", "SEEN", "CUSTOMERS",
	       "QUEUED", "DRIFT", "INTERFACES");
	json_array_foreach (json_object_get(doc, "nodes"), i, n) {
		char ifs[256] = "";

		json_array_foreach (json_object_get(n, "interfaces"), k, ifc) {
			size_t l = strlen(ifs);

			snprintf(ifs + l, sizeof(ifs) - l, "%s%s(%s)", l ? " " : "",
				 json_string_value(json_object_get(ifc, "name")),
				 json_string_value(json_object_get(ifc, "state")));
		}
		printf("%-20s %-5s %-20s %-9lld %-6lld %-7s %s\n",
		       json_string_value(json_object_get(n, "node")),
		       json_string_value(json_object_get(n, "health")),
		       json_string_value(json_object_get(n, "seen")) ?: "-",
		       json_integer_value(json_object_get(n, "customers")),
		       json_integer_value(json_object_get(n, "pending")),
		       json_is_true(json_object_get(n, "drift")) ? "DRIFT" : "no", ifs);
	}
	if (!json_array_size(json_object_get(doc, "nodes")))
		printf("no node has registered\n");
}

/*
 * The configuration (-c, else the default) and the cluster's members as the registry in
 * etcd has them: 0, or -errno with the error reported. what names the command in errors.
 */
static int load_members(const char *what, struct tg_cfg **cfgp, json_t **nodes)
{
	const char *path = tg_opts.config ? tg_opts.config : TG_CONFIG_DEFAULT;
	struct tg_errs errs = {};
	struct tg_cfg *cfg = NULL;
	char msg[512];
	int err;

	err = tg_config_load(path, &cfg, &errs);
	if (err) {
		tg_errs_report(&errs);
		return err;
	}
	if (!cfg->cluster.enabled) {
		tg_err("%s: no cluster section: this node is not in a cluster", path);
		tg_config_free(cfg);
		return -ENOENT;
	}
	*nodes = tg_cluster_members(&cfg->cluster, msg, sizeof(msg));
	if (!*nodes) {
		tg_err("%s: %s", what, msg);
		tg_config_free(cfg);
		return -EIO;
	}
	*cfgp = cfg;
	return 0;
}

static int cluster_status(int argc, char **argv)
{
	struct tg_cfg *cfg = NULL;
	json_t *nodes;
	int err;

	(void)argv;
	if (argc > 0) {
		tg_err("usage: tollgate cluster status");
		return -EINVAL;
	}
	err = load_members("cluster status", &cfg, &nodes);
	if (err)
		return err;
	tg_print(json_pack("{si ss ss so}", "version", TG_JSON_VERSION, "this_node",
			   cfg->cluster.node, "prefix", cfg->cluster.prefix, "nodes", nodes),
		 print_nodes);
	tg_config_free(cfg);
	return 0;
}

/*
 * Every member's metrics.listen as a scrape target labelled with its node, in
 * Prometheus's file_sd format (plain output and -j alike: the file is JSON). A wildcard
 * listen address (0.0.0.0, [::]) becomes the node's name (resolvable, or not: then
 * relabel in Prometheus); a loopback one is listed with a warning (only a Prometheus on
 * that node can scrape it).
 */
static int cluster_targets(int argc, char **argv)
{
	struct tg_cfg *cfg = NULL;
	json_t *nodes, *n, *out;
	char *txt;
	size_t i;
	int err;

	(void)argv;
	if (argc > 0) {
		tg_err("usage: tollgate cluster targets");
		return -EINVAL;
	}
	err = load_members("cluster targets", &cfg, &nodes);
	if (err)
		return err;
	out = json_array();
	json_array_foreach (nodes, i, n) {
		const char *node = json_string_value(json_object_get(n, "node")),
			   *listen = json_string_value(json_object_get(n, "metrics")), *port;
		char target[320];

		if (!node || !listen || !(port = strrchr(listen, ':'))) {
			tg_warn("cluster targets: node %s registers no metrics address (an older "
				"tollgated): not listed",
				node ? node : "?");
			continue;
		}
		if (!strncmp(listen, "0.0.0.0:", 8) || !strncmp(listen, "[::]:", 5))
			snprintf(target, sizeof(target), "%s%s", node, port);
		else
			snprintf(target, sizeof(target), "%s", listen);
		if (!strncmp(listen, "127.", 4) || !strncmp(listen, "[::1]:", 6))
			tg_warn("cluster targets: node %s listens at %s, on its loopback: only a "
				"Prometheus on that node can scrape it (metrics.listen)",
				node, listen);
		json_array_append_new(
			out, json_pack("{s[s] s{ss}}", "targets", target, "labels", "node", node));
	}
	json_decref(nodes);
	tg_config_free(cfg);
	txt = json_dumps(out, JSON_INDENT(2));
	json_decref(out);
	if (!txt)
		return -ENOMEM;
	printf("%s\n", txt);
	free(txt);
	return 0;
}

int cmd_cluster(int argc, char **argv)
{
	static const struct tg_cmd sub[] = {
		{"status", cluster_status, "cluster status"},
		{"targets", cluster_targets, "cluster targets"},
		{NULL, NULL, NULL},
	};

	return tg_cmd_select(sub, argc, argv, "cluster command");
}
