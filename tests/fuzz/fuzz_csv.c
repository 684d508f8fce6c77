// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_csv.c - libFuzzer target: the input is a customers CSV, loaded through tg_config_load
 * beside a fixed, valid tollgate.yaml (plans with and without each direction and a peak rate,
 * customer and upstream interfaces, a small capacity so the over-capacity paths are reached
 * by inputs of a few KiB). tg_config_load takes a path, so each input is written to a file
 * in a per-process tmpfs directory. The result must keep tg_config_load's contract
 * (fuzz_util.c).
 *
 * Then the reload path: the part of the input before the first form feed (the whole input
 * if there is none) is loaded as the previous configuration, the rest as the next one
 * through tg_config_load_from, which reuses the rows whose bytes did not change. The
 * result - return code, every message, every field of every customer - must be what a
 * fresh load of the next file gives. Seeds: tests/fuzz/corpus/csv (reload_*.csv are such
 * pairs).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "fuzz_util.h"

/* plans p1 (both directions, a two-rate download), p2 (download only), p3 (no limits) */
static const char yaml[] = "interfaces:\n"
			   "  - { name: eth1, role: customer }\n"
			   "  - { name: eth0, role: upstream }\n"
			   "  - { name: eth2, role: customer, mode: generic, antispoof: loose }\n"
			   "plans:\n"
			   "  p1:\n"
			   "    upload: { rate: 20mbit, burst: 256k }\n"
			   "    download: { rate: 100mbit, burst: 1m, peak_rate: 200mbit, "
			   "peak_burst: 2m }\n"
			   "    flood: { syn: 200pps, udp: 20kpps }\n"
			   "    smtp: block\n"
			   "  p2:\n"
			   "    download: { rate: 1gbit, burst: 4m }\n"
			   "    smtp: 10/s\n"
			   "  p3: {}\n"
			   "customers: customers.csv\n"
			   "capacity: { max_customers: 16, max_prefixes: 24 }\n";

static char yaml_path[512];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char csv_path[512];

	(void)argc;
	(void)argv;
	fz_write("tollgate.yaml", yaml, strlen(yaml), yaml_path, sizeof(yaml_path));
	fz_write("customers.csv", "", 0, csv_path, sizeof(csv_path));
	return 0;
}

static void differ(const char *what, size_t i)
{
	fprintf(stderr, "fuzz_csv: a reload that reused rows differs from a fresh load: %s (%zu)\n",
		what, i);
	abort();
}

static void same_customers(const struct tg_cfg *a, const struct tg_cfg *b)
{
	if (a->ncustomers != b->ncustomers)
		differ("customer count", a->ncustomers);
	for (size_t i = 0; i < a->ncustomers; i++) {
		const struct tg_customer *x = &a->customers[i], *y = &b->customers[i];

		if (strcmp(x->id, y->id) || x->plan != y->plan || x->line != y->line ||
		    x->npfx != y->npfx || memcmp(x->pfx, y->pfx, x->npfx * sizeof(*x->pfx)) ||
		    memcmp(x->dir, y->dir, sizeof(x->dir)) || strcmp(x->iface, y->iface) ||
		    x->vlan != y->vlan || x->ivlan != y->ivlan || !x->name != !y->name ||
		    (x->name && strcmp(x->name, y->name)))
			differ("a customer", i);
	}
}

/* prev = data[0..cut), next = data[cut+1..): load next after prev both ways, compare. */
static void check_reload(const uint8_t *data, size_t size)
{
	const uint8_t *ff = memchr(data, '\f', size);
	size_t cut = ff ? (size_t)(ff - data) : size;
	const uint8_t *next = ff ? ff + 1 : data;
	size_t nnext = ff ? size - cut - 1 : size;
	struct tg_errs e1 = {0}, e2 = {0}, e3 = {0};
	struct tg_cfg *prev = NULL, *a = NULL, *b = NULL;
	struct tg_load_cache *lprev = NULL, *la = NULL;
	char csv_path[512];
	int ra, rb;

	fz_write("customers.csv", data, cut, csv_path, sizeof(csv_path));
	if (tg_config_load_from(yaml_path, NULL, &lprev, &prev, &e1) ||
	    tg_config_index_rows(prev, lprev))
		goto out;
	fz_write("customers.csv", next, nnext, csv_path, sizeof(csv_path));
	ra = tg_config_load_from(yaml_path, lprev, &la, &a, &e2);
	rb = tg_config_load(yaml_path, &b, &e3);
	if (ra != rb)
		differ("return code", (size_t)-ra);
	if (e2.n != e3.n)
		differ("number of messages", e2.n);
	for (size_t i = 0; i < e2.n; i++)
		if (strcmp(e2.msg[i], e3.msg[i]))
			differ(e2.msg[i], i);
	if (a && b)
		same_customers(a, b);
	if (a && tg_config_index_rows(a, la)) /* and the next reload could start from it */
		differ("indexing", 0);
out:
	tg_config_free(prev);
	tg_config_free(a);
	tg_load_cache_free(lprev);
	tg_load_cache_free(la);
	tg_config_free(b);
	tg_errs_free(&e1);
	tg_errs_free(&e2);
	tg_errs_free(&e3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t lines = fz_lines(data, size, false);
	struct tg_errs errs = {0};
	struct tg_cfg *cfg = NULL;
	char csv_path[512];
	int err;

	fz_write("customers.csv", data, size, csv_path, sizeof(csv_path));
	err = tg_config_load(yaml_path, &cfg, &errs);
	fz_check_load(err, cfg, &errs);
	fz_check_lines(&errs, csv_path, data, size, false);
	for (size_t i = 0; cfg && i < cfg->ncustomers; i++) {
		if ((size_t)cfg->customers[i].line > lines) {
			fprintf(stderr, "fuzz_csv: customer '%s' on line %d of %zu\n",
				cfg->customers[i].id, cfg->customers[i].line, lines);
			abort();
		}
	}
	tg_config_free(cfg);
	tg_errs_free(&errs);
	check_reload(data, size);
	return 0;
}
