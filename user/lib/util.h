/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * util.h - small helpers more than one part of userspace needs.
 */
#ifndef TG_UTIL_H
#define TG_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * "version" of every JSON document Tollgate writes (CLI -j, the API, the control socket's
 * answers); bumped on an incompatible change. One constant: view/view.h builds the
 * documents with it.
 */
#define TG_JSON_VERSION 1

/* Create the directory that holds path (one level), with mode, if it is not there.
 * 1: created, 0: it was there, or -errno. */
int tg_mkdir_parent(const char *path, mode_t mode);

/* clock.c: the wall clock (unix ms; for records) and CLOCK_BOOTTIME in ms (for every
 * duration: it never steps). */
int64_t tg_now_ms(void);
int64_t tg_mono_ms(void);

/*
 * Free text from outside (a --reason, a customer's name, an actor) made safe for a
 * terminal or a log line: control characters (below 0x20, DEL) and the backslash are
 * written as \xNN and \\, so no one can move the cursor, clear the screen or forge a log
 * line. tg_esc_to writes into out (n bytes, cut if longer) and returns the length;
 * tg_esc returns one of TG_ESC_SLOTS per-thread buffers in turn (enough for one printf).
 */
#define TG_ESC_SLOTS 8
#define TG_ESC_LEN 1024
size_t tg_esc_to(const char *s, char *out, size_t n);
const char *tg_esc(const char *s);

#endif /* TG_UTIL_H */
