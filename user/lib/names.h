/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * names.h - the names of the lists of tollgate_kern_user.h (drop reasons, flood classes,
 * roles, antispoof and XDP modes, customer states), generated from them, and their
 * parsers. One table per list; every printer, JSON key, metric label and parser goes
 * through these. docs/lists.md says how to add a member.
 *
 * Included by: lib.h (the door); everyone reaches it through that.
 */
#ifndef TG_NAMES_H
#define TG_NAMES_H

#include <stddef.h>

#include "tollgate_kern_user.h"

extern const char *const tg_reason_names[TG_R_NR];
extern const char *const tg_role_names[TG_ROLE_NR];
extern const char *const tg_antispoof_names[TG_AS_NR];
extern const char *const tg_mode_names[TG_MODE_NR];
extern const char *const tg_state_names[TG_ST_NR];
extern const char *const tg_fclass_names[TG_FC_NR]; /* the class's key (TG_FCLASSES) */
extern const int tg_fclass_reasons[TG_FC_NR];	    /* what it drops as; TG_R_NR: varies */
/* The classes a plan's `flood:` sets, in the order of its keys (TG_FC_PLAN_LIST). */
enum { TG_FC_PLAN_NR = 0 TG_FC_PLAN_LIST(TG_LIST_COUNT) };
extern const int tg_fclass_plan[TG_FC_PLAN_NR];

/* The name of a member, or "?" for a number outside the list. */
const char *tg_reason_name(int reason);
const char *tg_role_name(int role);
const char *tg_antispoof_name(int mode);
const char *tg_mode_name(int mode);
const char *tg_state_name(int state);
const char *tg_fclass_name(int fc);

/* The member named s (exactly, case and all) into *out: 0, or -EINVAL if none is. */
int tg_name_lookup(const char *const *names, int n, const char *s, int *out);
#define TG_NAME_LOOKUP(table, s, out)                                                              \
	tg_name_lookup(table, (int)(sizeof(table) / sizeof((table)[0])), s, out)
int tg_reason_parse(const char *s, int *reason);
int tg_role_parse(const char *s, int *role);
int tg_antispoof_parse(const char *s, int *mode);
int tg_mode_parse(const char *s, int *mode);
int tg_state_parse(const char *s, int *state);

/* The names of a list for an error message, "a, b or c", into out (len bytes); out. */
char *tg_names_join(const char *const *names, int n, char *out, size_t len);
#define TG_NAMES_JOIN(table, out)                                                                  \
	tg_names_join(table, (int)(sizeof(table) / sizeof((table)[0])), out, sizeof(out))

#endif /* TG_NAMES_H */
