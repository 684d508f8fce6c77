/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_util.h - what the configuration fuzzers share: a per-process scratch directory for
 * the files tg_config_load reads (it takes a path, not a buffer), and the checks that every
 * result of tg_config_load must pass whatever the input was. A failed check aborts, which
 * libFuzzer reports as a crash with the input that caused it.
 */
#ifndef TG_FUZZ_UTIL_H
#define TG_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/*
 * The scratch directory: made on the first call under $TMPDIR, else /dev/shm (tmpfs: one
 * file write per input costs no disk I/O), else /tmp; removed with its files at exit.
 * Aborts if it cannot be made: a fuzzer without its files would test nothing.
 */
const char *fz_dir(void);

/* Write data to NAME in the scratch directory (replacing it); path gets the full path. */
void fz_write(const char *name, const void *data, size_t len, char *path, size_t pathlen);

/* tg_config_load's contract on (err, cfg, errs); aborts with a message if it is broken. */
void fz_check_load(int err, const struct tg_cfg *cfg, const struct tg_errs *errs);

/*
 * The messages about the file at path, whose text is data: each names a line that exists
 * (1 to the number of line breaks + 1), and they come in line order. Aborts if not.
 * yaml: count line breaks as libyaml does (\n, \r\n, a bare \r, NEL, LS, PS), else \n, \r\n
 * and a bare \r as customers.c does.
 */
void fz_check_lines(const struct tg_errs *errs, const char *path, const void *data, size_t len,
		    bool yaml);

/* The number of lines of data: line breaks (as for fz_check_lines) + 1. */
size_t fz_lines(const void *data, size_t len, bool yaml);

#endif /* TG_FUZZ_UTIL_H */
