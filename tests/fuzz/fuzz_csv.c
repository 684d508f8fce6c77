// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_csv.c - libFuzzer target: the input is a customers CSV, loaded through tg_config_load
 * beside a fixed, valid tollgate.yaml (plans with and without each direction and a peak rate,
 * customer and upstream interfaces, a small capacity so the over-capacity paths are reached
 * by inputs of a few KiB). tg_config_load takes a path, so each input is written to a file
 * in a per-process tmpfs directory. The result must keep tg_config_load's contract
 * (fuzz_util.c). Seeds: tests/fuzz/corpus/csv.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
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
	return 0;
}
