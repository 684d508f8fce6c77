// SPDX-License-Identifier: GPL-2.0-only
/*
 * names.c - the name tables of the lists in tollgate_kern_user.h, generated from them, and
 * their lookups. Nothing here spells a member: adding one to a list adds it everywhere.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "names.h"

#define NAME_ROLE(N, s) [TG_ROLE_##N] = s,
#define NAME_AS(N, s) [TG_AS_##N] = s,
#define NAME_MODE(N, s) [TG_MODE_##N] = s,
#define NAME_R(N, s) [TG_R_##N] = s,
#define NAME_ST(N, s) [TG_ST_##N] = s,
#define NAME_FC(N, k, r) [TG_FC_##N] = k,
#define REASON_FC(N, k, r) [TG_FC_##N] = r,
#define PLAN_FC(N, k, r) TG_FC_##N,

const char *const tg_reason_names[TG_R_NR] = {TG_REASONS(NAME_R)};
const char *const tg_role_names[TG_ROLE_NR] = {TG_ROLES(NAME_ROLE)};
const char *const tg_antispoof_names[TG_AS_NR] = {TG_ANTISPOOFS(NAME_AS)};
const char *const tg_mode_names[TG_MODE_NR] = {TG_MODES(NAME_MODE)};
const char *const tg_state_names[TG_ST_NR] = {TG_STATES(NAME_ST)};
const char *const tg_fclass_names[TG_FC_NR] = {TG_FCLASSES(NAME_FC)};
const int tg_fclass_reasons[TG_FC_NR] = {TG_FCLASSES(REASON_FC)};
const int tg_fclass_plan[TG_FC_PLAN_NR] = {TG_FC_PLAN_LIST(PLAN_FC)};

/* A customer's own rates are an array of the first TG_FC_OWN_NR classes, by class. */
#define OWN_FIRST(N, k, r) _Static_assert(TG_FC_##N < TG_FC_OWN_NR, "own classes come first");
TG_FC_OWN_LIST(OWN_FIRST)

static const char *name_of(const char *const *names, int n, int v)
{
	return v >= 0 && v < n ? names[v] : "?";
}

const char *tg_reason_name(int reason)
{
	return name_of(tg_reason_names, TG_R_NR, reason);
}

const char *tg_role_name(int role)
{
	return name_of(tg_role_names, TG_ROLE_NR, role);
}

const char *tg_antispoof_name(int mode)
{
	return name_of(tg_antispoof_names, TG_AS_NR, mode);
}

const char *tg_mode_name(int mode)
{
	return name_of(tg_mode_names, TG_MODE_NR, mode);
}

const char *tg_state_name(int state)
{
	return name_of(tg_state_names, TG_ST_NR, state);
}

const char *tg_fclass_name(int fc)
{
	return name_of(tg_fclass_names, TG_FC_NR, fc);
}

int tg_name_lookup(const char *const *names, int n, const char *s, int *out)
{
	for (int i = 0; s && i < n; i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

int tg_reason_parse(const char *s, int *reason)
{
	return TG_NAME_LOOKUP(tg_reason_names, s, reason);
}

int tg_role_parse(const char *s, int *role)
{
	return TG_NAME_LOOKUP(tg_role_names, s, role);
}

int tg_antispoof_parse(const char *s, int *mode)
{
	return TG_NAME_LOOKUP(tg_antispoof_names, s, mode);
}

int tg_mode_parse(const char *s, int *mode)
{
	return TG_NAME_LOOKUP(tg_mode_names, s, mode);
}

int tg_state_parse(const char *s, int *state)
{
	return TG_NAME_LOOKUP(tg_state_names, s, state);
}

char *tg_names_join(const char *const *names, int n, char *out, size_t len)
{
	size_t at = 0;

	if (!len)
		return out;
	out[0] = '\0';
	for (int i = 0; i < n && at < len; i++) {
		int w = snprintf(out + at, len - at, "%s%s",
				 !i	      ? ""
				 : i == n - 1 ? " or "
					      : ", ",
				 names[i]);

		if (w < 0)
			break;
		at += (size_t)w;
	}
	return out;
}
