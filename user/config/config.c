// SPDX-License-Identifier: GPL-2.0-only
/*
 * config.c - tollgate.yaml and the customers CSV it names into one struct tg_cfg: the
 * file's top level (its keys, the defaults, the small sections walled_garden,
 * per_source_exempt, reflection_ports, capacity, control, and the paths), the load and
 * the free, and the read-only commands' quick look at pin_dir and state. The YAML reader
 * is cfg_yaml.c, the larger sections have a file each (cfg_ifaces.c, cfg_plans.c,
 * cfg_enforce.c, cfg_notify.c, cfg_metrics.c), the CSV is customers.c. The customers CSV
 * is read even when the YAML has errors, so that one run of check-config shows everything.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config_int.h"

/* ---- the small sections: walled_garden, per_source_exempt, capacity ---- */

/* A list of prefixes under key (walled_garden, per_source_exempt) into *out, *nout. */
static void parse_prefixes(struct ctx *c, yaml_node_t *n, const char *key, struct tg_prefix **out,
			   size_t *nout)
{
	char what[64];
	size_t cnt;

	if (is_null(n) || !want(c, n, YAML_SEQUENCE_NODE, key))
		return;
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	*out = calloc(cnt ? cnt : 1, sizeof(**out));
	if (!*out) {
		c->oom = 1;
		return;
	}
	snprintf(what, sizeof(what), "a %s entry", key);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = node(c, *it);
		const char *s = nonempty(c, e, what);
		struct tg_prefix p;
		char err[256];
		size_t i;

		if (!s)
			continue;
		if (tg_parse_prefix(s, &p, err, sizeof(err))) {
			yerr(c, e, "%s: %s", key, err);
			continue;
		}
		for (i = 0; i < *nout && memcmp(&(*out)[i], &p, sizeof(p)); i++)
			;
		if (i < *nout) {
			yerr(c, e, "%s: '%s' is listed twice", key, s);
			continue;
		}
		if (*nout == TG_WALLED_MAX) {
			yerr(c, e, "%s: more than %u prefixes", key, TG_WALLED_MAX);
			break;
		}
		(*out)[(*nout)++] = p;
	}
}

/* walled_garden and per_source_exempt share one trie of TG_WALLED_MAX prefixes. */
static void check_prefix_lists(struct ctx *c, yaml_node_t *exempt)
{
	struct tg_cfg *cfg = c->cfg;
	size_t total = cfg->nwalled, i, j;

	for (i = 0; i < cfg->nsrc_exempt; i++) {
		for (j = 0; j < cfg->nwalled; j++)
			if (!memcmp(&cfg->src_exempt[i], &cfg->walled_garden[j],
				    sizeof(cfg->src_exempt[i])))
				break;
		total += j == cfg->nwalled;
	}
	if (total > TG_WALLED_MAX)
		yerr(c, exempt,
		     "per_source_exempt: with walled_garden, %zu prefixes; the two lists hold at "
		     "most %u together: merge prefixes",
		     total, TG_WALLED_MAX);
}

enum { CAP_CUSTOMERS, CAP_PREFIXES, CAP_NR };
static const char *const cap_keys[CAP_NR] = {"max_customers", "max_prefixes"};

static void parse_capacity(struct ctx *c, yaml_node_t *n)
{
	yaml_node_t *v[CAP_NR];

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "capacity"))
		return;
	map_keys(c, n, "capacity", cap_keys, CAP_NR, v, NULL);
	if (v[CAP_CUSTOMERS])
		parse_count(c, v[CAP_CUSTOMERS], "capacity.max_customers", TG_CAP_CUSTOMERS_MAX,
			    &c->cfg->max_customers);
	c->cfg->max_prefixes = 2 * c->cfg->max_customers;
	if (v[CAP_PREFIXES])
		parse_count(c, v[CAP_PREFIXES], "capacity.max_prefixes", TG_CAP_PREFIXES_MAX,
			    &c->cfg->max_prefixes);
}

/* ---- the file ---- */

enum {
	TOP_INTERFACES,
	TOP_PLANS,
	TOP_CUSTOMERS,
	TOP_WALLED,
	TOP_CAPACITY,
	TOP_METRICS,
	TOP_STATE,
	TOP_PIN_DIR,
	TOP_ENFORCEMENT,
	TOP_NOTIFY,
	TOP_REFL_PORTS,
	TOP_CONTROL,
	TOP_SRC_EXEMPT,
	TOP_SHORT_PREFIXES,
	TOP_MITIGATION,
	TOP_CLUSTER,
	TOP_CAPTURE,
	TOP_NR
};
/* a row of keys per line: an added key is one added line */
/* clang-format off */
static const char *const top_keys[TOP_NR] = {
	"interfaces",	    "plans",   "customers",	    "walled_garden", "capacity",
	"metrics",	    "state",   "pin_dir",	    "enforcement",   "notify",
	"reflection_ports", "control", "per_source_exempt", "allow_short_prefixes",
	"mitigation",	    "cluster",
	"capture",
};
/* clang-format on */

/*
 * UDP source ports of reflection/amplification attacks: the services CISA's alert TA14-017A
 * lists (QOTD, CharGEN, DNS, TFTP, portmap, NTP, NetBIOS, SNMP, CLDAP, SLP, RIPv1, SSDP,
 * ARMS, WS-Discovery, mDNS, CoAP, memcached, Quake, Steam, Jenkins) and Ubiquiti discovery
 * and DVR DHCPDiscover from later reports.
 */
static const uint16_t refl_default[] = {17,    19,    53,    69,    111,   123,	 137,  161,
					389,   427,   520,   1900,  3283,  3702, 5353, 5683,
					10001, 11211, 26000, 27015, 33848, 37810};

static void parse_refl_ports(struct ctx *c, yaml_node_t *n)
{
	struct tg_cfg *cfg = c->cfg;
	size_t cnt, i;

	cfg->nrefl_ports = 0;
	if (is_null(n))
		return; /* an empty list: no reflection profile */
	if (!want(c, n, YAML_SEQUENCE_NODE, "reflection_ports"))
		return;
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	free(cfg->refl_ports);
	cfg->refl_ports = calloc(cnt ? cnt : 1, sizeof(*cfg->refl_ports));
	if (!cfg->refl_ports) {
		c->oom = 1;
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = node(c, *it);
		uint32_t port;

		if (!e || parse_count(c, e, "reflection_ports: a port", 65535, &port))
			continue;
		for (i = 0; i < cfg->nrefl_ports && cfg->refl_ports[i] != port; i++)
			;
		if (i < cfg->nrefl_ports) {
			yerr(c, e, "reflection_ports: %u is listed twice", port);
			continue;
		}
		cfg->refl_ports[cfg->nrefl_ports++] = (uint16_t)port;
	}
}

/* control: { group: NAME }: the group whose members may use the control socket. */
static void parse_control(struct ctx *c, yaml_node_t *n)
{
	static const char *const keys[] = {"group"};
	yaml_node_t *v[1];
	const char *g;
	struct group gr, *res = NULL;
	char buf[4096];

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "control"))
		return;
	map_keys(c, n, "control", keys, 1, v, NULL);
	if (!v[0])
		return;
	g = nonempty(c, v[0], "control.group");
	if (!g)
		return;
	if (getgrnam_r(g, &gr, buf, sizeof(buf), &res) || !res) {
		yerr(c, v[0], "control.group: no group '%s' on this host", g);
		return;
	}
	free(c->cfg->control_group);
	c->cfg->control_group = xstrdup(c, g);
}

static void parse_root(struct ctx *c, yaml_node_t *root)
{
	struct tg_cfg *cfg = c->cfg;
	yaml_node_t *v[TOP_NR];

	if (!want(c, root, YAML_MAPPING_NODE, "the configuration"))
		return;
	map_keys(c, root, "the configuration", top_keys, TOP_NR, v, NULL);

	if (v[TOP_INTERFACES])
		parse_ifaces(c, v[TOP_INTERFACES]);
	if (v[TOP_PLANS])
		parse_plans(c, v[TOP_PLANS]);
	if (v[TOP_WALLED])
		parse_prefixes(c, v[TOP_WALLED], "walled_garden", &c->cfg->walled_garden,
			       &c->cfg->nwalled);
	if (v[TOP_SRC_EXEMPT]) {
		parse_prefixes(c, v[TOP_SRC_EXEMPT], "per_source_exempt", &c->cfg->src_exempt,
			       &c->cfg->nsrc_exempt);
		check_prefix_lists(c, v[TOP_SRC_EXEMPT]);
	}
	if (v[TOP_REFL_PORTS])
		parse_refl_ports(c, v[TOP_REFL_PORTS]);
	if (v[TOP_CAPACITY])
		parse_capacity(c, v[TOP_CAPACITY]);
	if (v[TOP_METRICS])
		parse_metrics(c, v[TOP_METRICS]);
	if (v[TOP_STATE])
		parse_path(c, v[TOP_STATE], "state", false, &cfg->state_path);
	if (v[TOP_PIN_DIR])
		parse_path(c, v[TOP_PIN_DIR], "pin_dir", true, &cfg->pin_dir);
	if (v[TOP_ENFORCEMENT])
		parse_enforcement(c, v[TOP_ENFORCEMENT]);
	if (v[TOP_NOTIFY])
		parse_notify(c, v[TOP_NOTIFY]);
	if (v[TOP_CONTROL])
		parse_control(c, v[TOP_CONTROL]);
	if (v[TOP_CLUSTER])
		parse_cluster(c, v[TOP_CLUSTER]);
	if (v[TOP_SHORT_PREFIXES])
		parse_bool(c, v[TOP_SHORT_PREFIXES], "allow_short_prefixes",
			   &cfg->allow_short_prefixes);
	if (v[TOP_MITIGATION])
		parse_mitigation(c, v[TOP_MITIGATION]);
	if (v[TOP_CAPTURE])
		parse_capture(c, v[TOP_CAPTURE]);
	if (c->mit_rule_line && !cfg->mitigation.enabled)
		yerr(c, root,
		     "a rule (line %d) uses flowspec or blackhole: add a mitigation: section "
		     "(the BGP speaker to announce through)",
		     c->mit_rule_line);

	if (!v[TOP_CUSTOMERS])
		yerr(c, root, "'customers' is required: the path of the customers CSV");
	else
		parse_path(c, v[TOP_CUSTOMERS], "customers", false, &cfg->customers_path);
	if (v[TOP_CUSTOMERS])
		cfg->customers_line = (int)v[TOP_CUSTOMERS]->start_mark.line + 1;
}

static int set_defaults(struct tg_cfg *cfg)
{
	cfg->max_customers = TG_MAX_CUSTOMERS_DEFAULT;
	cfg->max_prefixes = 2 * TG_MAX_CUSTOMERS_DEFAULT;
	cfg->metrics_listen = strdup(TG_METRICS_LISTEN_DEFAULT);
	cfg->metrics_per_customer = strdup(TG_METRICS_PER_CUSTOMER_DEFAULT);
	cfg->state_path = strdup(TG_STATE_DEFAULT);
	cfg->pin_dir = strdup(TG_PIN_DIR_DEFAULT);
	cfg->enforcement.interval_ns = TG_INTERVAL_DEFAULT_NS;
	cfg->enforcement.retention_ns = TG_RETENTION_DEFAULT_NS;
	cfg->refl_ports = malloc(sizeof(refl_default));
	cfg->notify.exec_user = strdup(TG_NOTIFY_EXEC_USER_DEFAULT);
	cfg->mitigation.timeout_ms = 5000;
	cfg->mitigation.ipv6_length = 128;
	cfg->mitigation.max_active = 32;
	cfg->mitigation.max_duration_ns = 3600ull * TG_NS_PER_S;
	cfg->capture.enabled = true;
	cfg->capture.packets = TG_CAPTURE_PACKETS_DEFAULT;
	cfg->capture.per_day = TG_CAPTURE_PER_DAY_DEFAULT;
	if (!cfg->metrics_listen || !cfg->metrics_per_customer || !cfg->state_path ||
	    !cfg->pin_dir || !cfg->refl_ports || !cfg->notify.exec_user)
		return -ENOMEM;
	memcpy(cfg->refl_ports, refl_default, sizeof(refl_default));
	cfg->nrefl_ports = sizeof(refl_default) / sizeof(refl_default[0]);
	cfg->notify.timeout_ms = TG_NOTIFY_TIMEOUT_DEFAULT_MS;
	cfg->notify.retry_min_ms = TG_NOTIFY_RETRY_MIN_DEFAULT_MS;
	cfg->notify.retry_max_ms = TG_NOTIFY_RETRY_MAX_DEFAULT_MS;
	cfg->cluster.prefix = strdup(TG_CLUSTER_PREFIX_DEFAULT);
	cfg->cluster.timeout_ms = TG_CLUSTER_TIMEOUT_DEFAULT_MS;
	cfg->cluster.heartbeat_ms = TG_CLUSTER_HEARTBEAT_DEFAULT_MS;
	cfg->cluster.start_timeout_ms = TG_CLUSTER_START_DEFAULT_MS;
	return cfg->cluster.prefix ? 0 : -ENOMEM;
}

/* The line a message "PATH:LINE:..." names, or 0 for any other message. */
static unsigned long msg_line(const char *m, const char *path)
{
	size_t plen = strlen(path);
	char *end;
	unsigned long line;

	if (strncmp(m, path, plen) || m[plen] != ':' || m[plen + 1] < '0' || m[plen + 1] > '9')
		return 0;
	line = strtoul(m + plen + 1, &end, 10);
	return *end == ':' ? line : 0;
}

/* Put the messages from errs->msg[first] on that name a line of PATH in line order
 * (stable), in the slots they already hold; every other message keeps its place. */
static void order_by_line(struct tg_errs *errs, size_t first, const char *path)
{
	for (size_t i = first; i < errs->n; i++) {
		unsigned long li = msg_line(errs->msg[i], path);
		size_t j = i;

		if (!li)
			continue;
		/* walk back over the earlier line messages that name a later line */
		for (size_t k = i; k-- > first;) {
			unsigned long lk = msg_line(errs->msg[k], path);
			char *t = errs->msg[k];

			if (!lk)
				continue;
			if (lk <= li)
				break;
			errs->msg[k] = errs->msg[j];
			errs->msg[j] = t;
			j = k;
		}
	}
}

int tg_config_load(const char *path, struct tg_cfg **out, struct tg_errs *errs)
{
	return tg_config_load_from(path, NULL, NULL, out, errs);
}

void tg_load_cache_free(struct tg_load_cache *lc)
{
	if (!lc)
		return;
	free(lc->yaml_raw);
	free(lc->csv_raw);
	free(lc->row);
	tg_hset_free(&lc->raw_ix);
	free(lc->pk);
	tg_hset_free(&lc->pks);
	free(lc);
}

int tg_config_load_from(const char *path, const struct tg_load_cache *prev,
			struct tg_load_cache **cache, struct tg_cfg **out, struct tg_errs *errs)
{
	struct ctx c = {.file = path, .errs = errs};
	yaml_parser_t parser;
	yaml_document_t doc, doc2;
	struct tg_load_cache *lc = NULL;
	struct tg_cfg *cfg;
	char *buf = NULL;
	const char *kind = NULL;
	size_t len = 0, first;
	int err;

	*out = NULL;
	if (cache)
		*cache = NULL;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	c.cfg = cfg;
	if (cache && !(lc = calloc(1, sizeof(*lc)))) {
		err = -ENOMEM;
		goto out_cfg;
	}
	cfg->path = strdup(path);
	err = set_defaults(cfg);
	if (err || !cfg->path) {
		err = -ENOMEM;
		goto out_cfg;
	}

	err = read_file(path, &buf, &len, &kind);
	if (err && kind) {
		tg_errs_add(errs, "%s: cannot read: it is %s, not a regular file", path, kind);
		goto out_cfg;
	}
	if (err) {
		tg_errs_add(errs, "%s: cannot read: %s", path, strerror(-err));
		goto out_cfg;
	}
	if (!yaml_parser_initialize(&parser)) {
		err = -ENOMEM;
		goto out_buf;
	}
	find_end(&c, buf, len);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_error(&c, &parser, buf, len);
	} else {
		yaml_node_t *root = yaml_document_get_root_node(&doc);

		c.doc = &doc;
		if (!root) {
			add_err(&c, 1, 1, "the file is empty (it needs at least 'customers')");
		} else {
			parse_root(&c, root);
			/* a second document would be ignored: say so instead */
			if (!yaml_parser_load(&parser, &doc2)) {
				yaml_error(&c, &parser, buf, len);
			} else {
				yaml_node_t *r2 = yaml_document_get_root_node(&doc2);

				if (r2)
					yerr(&c, r2, "a second YAML document: only one is read");
				yaml_document_delete(&doc2);
			}
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	err = c.nye ? -EINVAL : 0;
	first = errs->n;
	flush_errors(&c);

	/* rows can be reused only if nothing they depend on (plans, interfaces, capacity,
	 * paths) may have changed: the same YAML bytes at the same path */
	if (prev && (!prev->cfg || !prev->yaml_raw || prev->yaml_len != len ||
		     memcmp(prev->yaml_raw, buf, len) || strcmp(prev->cfg->path, path)))
		prev = NULL;
	/* the CSV is checked even if the YAML had errors: one run shows every problem */
	if (cfg->customers_path && !c.oom) {
		int e = tg_customers_load(cfg, cfg->customers_path, prev, lc, errs);

		if (e && (e != -EINVAL || !err))
			err = e;
		/* the CSV stage may name a YAML line ('customers:'): keep the file order */
		order_by_line(errs, first, path);
	}
	if (c.oom)
		err = -ENOMEM;
out_buf:
	if (lc && !err) {
		lc->yaml_raw = buf;
		lc->yaml_len = len;
		buf = NULL;
	}
	free(buf);
out_cfg:
	if (err) {
		tg_load_cache_free(lc);
		tg_config_free(cfg);
		return err;
	}
	if (lc) {
		lc->cfg = cfg;
		*cache = lc;
	}
	*out = cfg;
	return 0;
}

void tg_config_free(struct tg_cfg *cfg)
{
	if (!cfg)
		return;
	free(cfg->customers);
	free(cfg->pfx_pool);
	free(cfg->name_pool);
	tg_hset_free(&cfg->ids);
	free(cfg->path);
	free(cfg->ifaces);
	free(cfg->plans);
	free(cfg->customers_path);
	free(cfg->walled_garden);
	free(cfg->src_exempt);
	free(cfg->control_group);
	free(cfg->refl_ports);
	free(cfg->metrics_listen);
	free(cfg->metrics_per_customer);
	for (size_t h = 0; h < cfg->nmetrics_hosts; h++)
		free(cfg->metrics_hosts[h]);
	free(cfg->metrics_hosts);
	free(cfg->metrics_token_file);
	free(cfg->metrics_alert_token_file);
	free(cfg->state_path);
	free(cfg->pin_dir);
	for (size_t r = 0; cfg->enforcement.rules && r < cfg->enforcement.nrules; r++)
		tg_rule_free_exempt(&cfg->enforcement.rules[r]);
	free(cfg->enforcement.rules);
	free(cfg->mitigation.speaker);
	free(cfg->mitigation.gobgp);
	free(cfg->mitigation.target);
	free(cfg->notify.exec);
	free(cfg->notify.exec_user);
	free(cfg->notify.webhook);
	for (size_t i = 0; i < cfg->cluster.nendpoints; i++)
		free(cfg->cluster.endpoints[i]);
	free(cfg->cluster.endpoints);
	free(cfg->cluster.node);
	free(cfg->cluster.prefix);
	free(cfg->cluster.ca);
	free(cfg->cluster.cert);
	free(cfg->cluster.key);
	free(cfg);
}

/*
 * Only the pin directory: what the read-only commands need to find the pins. It reads the
 * YAML's top level and nothing else (no customers CSV, no validation), so `tollgate -c FILE
 * status` works in seconds at 1M customers, and while the customers file has an error -
 * exactly when an operator checks that a rejected reload changed nothing.
 */
/* The value of a top-level scalar key of a tollgate.yaml, without loading the rest: buf
 * keeps its contents if the key is absent. */
static int top_scalar(const char *path, const char *key, char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	yaml_node_pair_t *pair;
	const char *kind;
	size_t size;
	FILE *f;
	int fd, err;

	/* a FIFO or device is refused, not waited on (-EINVAL) */
	err = tg_open_regular(path, &fd, &size, &kind);
	if (err)
		return err;
	f = fdopen(fd, "rb");
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		err = -EINVAL;
		goto out;
	}
	root = yaml_document_get_root_node(&doc);
	if (root && root->type == YAML_MAPPING_NODE) {
		for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top;
		     pair++) {
			yaml_node_t *k = yaml_document_get_node(&doc, pair->key);
			yaml_node_t *v = yaml_document_get_node(&doc, pair->value);

			if (k && v && k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)k->data.scalar.value, key) == 0)
				snprintf(buf, len, "%s", (const char *)v->data.scalar.value);
		}
	}
	yaml_document_delete(&doc);
out:
	yaml_parser_delete(&parser);
	fclose(f);
	return err;
}

int tg_config_pin_dir(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%s", TG_PIN_DIR_DEFAULT);
	return top_scalar(path, "pin_dir", buf, len);
}

int tg_config_state_path(const char *path, char *buf, size_t len)
{
	char v[4096] = TG_STATE_DEFAULT;
	const char *slash = strrchr(path, '/');
	int err = top_scalar(path, "state", v, sizeof(v));

	if (v[0] == '/' || !slash) /* relative: to the YAML file's directory, like the loader */
		snprintf(buf, len, "%s", v);
	else
		snprintf(buf, len, "%.*s/%s", (int)(slash - path), path, v);
	return err;
}
