// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_yaml.c - libFuzzer target: the input is tollgate.yaml, loaded through tg_config_load
 * with a fixed, small, valid customers.csv beside it (it names plans p1 and p2 and
 * interface eth1, so a YAML that defines them loads cleanly and one that does not reaches
 * the CSV's reference errors). tg_config_load takes a path, so each input is written to a
 * file in a per-process tmpfs directory. The result must keep tg_config_load's contract
 * (fuzz_util.c). Seeds: tests/fuzz/corpus/yaml.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "fuzz_util.h"

static const char csv[] = "id,name,plan,prefixes,interface,vlan,upload_rate,upload_burst\n"
			  "c1,\"Acme, Ltd\",p1,198.51.100.0/24 2001:db8:a::/48,eth1,100,,\n"
			  "c2,,p2,203.0.113.10,,100.200,,\n"
			  "c3,Bakery,p1,2001:db8:b::/64,,,30mbit,512k\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[512];

	(void)argc;
	(void)argv;
	fz_write("customers.csv", csv, strlen(csv), path, sizeof(path));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_errs errs = {0};
	struct tg_cfg *cfg = NULL;
	char path[512];
	int err;

	fz_write("tollgate.yaml", data, size, path, sizeof(path));
	err = tg_config_load(path, &cfg, &errs);
	fz_check_load(err, cfg, &errs);
	fz_check_lines(&errs, path, data, size, true);
	tg_config_free(cfg);
	tg_errs_free(&errs);
	return 0;
}
