/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * util.h - small helpers more than one part of userspace needs.
 */
#ifndef TG_UTIL_H
#define TG_UTIL_H

#include <stdint.h>
#include <sys/types.h>

/* Create the directory that holds path (one level), with mode, if it is not there.
 * 1: created, 0: it was there, or -errno. */
int tg_mkdir_parent(const char *path, mode_t mode);

/* The wall clock in unix milliseconds (audit log, expiries, notification retries). */
int64_t tg_now_ms(void);

#endif /* TG_UTIL_H */
