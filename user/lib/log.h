/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * log.h - messages to stderr. Errors are one line that says what failed and what to do;
 * under -j they are JSON objects ({"error": ...}) so stdout stays valid JSON and stderr
 * machine-readable. libbpf's own log goes through here and shows with -v.
 *
 * Included by: lib.h (the door: other rooms get it through that) and log.c; the tests
 * (test_hardening).
 */
#ifndef TG_LOG_H
#define TG_LOG_H

#include <errno.h>
#include <stdbool.h>

extern bool tg_log_json;   /* -j: errors as {"error": "..."} */
extern int tg_log_verbose; /* -v: libbpf debug and info messages */

void tg_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Route libbpf's messages through tg_log: warnings always, the rest with -v. */
void tg_log_setup_libbpf(void);

/* errno of the call that just failed, as a negative error code; never 0, even if a
 * library forgot to set errno. */
static inline int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

#endif /* TG_LOG_H */
