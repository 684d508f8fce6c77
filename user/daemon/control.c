// SPDX-License-Identifier: GPL-2.0-only
/*
 * control.c - the control socket's command table, checked (see control.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "control.h"

/* Add ", name" (or "name" first) to the list in buf. */
static void list_add(char *buf, size_t len, const char *name)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? ", " : "", name);
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "true or false";
	default:
		return "null";
	}
}

/* One field's value: 0, or -EINVAL with the reason in err. */
static int check_field(const char *cmd, const struct tg_ctl_field *f, const json_t *v, char *err,
		       size_t errlen)
{
	const char *s = json_string_value(v);
	uint64_t ns;

	if (!s) {
		snprintf(err, errlen, "%s: \"%s\" must be a string: %s, not %s", cmd, f->name,
			 f->what, json_kind(v));
		return -EINVAL;
	}
	if (!*s) {
		snprintf(err, errlen, "%s: \"%s\" (%s) is empty", cmd, f->name, f->what);
		return -EINVAL;
	}
	switch (f->type) {
	case TG_CF_TEXT:
		if (strlen(s) > f->max) {
			snprintf(err, errlen, "%s: \"%s\" is longer than %zu bytes", cmd, f->name,
				 f->max);
			return -EINVAL;
		}
		return 0;
	case TG_CF_DURATION:
		if (tg_parse_duration_ns(s, &ns) || !ns) {
			snprintf(err, errlen, "%s: \"%s\": '%.64s' is not %s", cmd, f->name, s,
				 f->what);
			return -EINVAL;
		}
		return 0;
	}
	snprintf(err, errlen, "%s: \"%s\": a field of unknown type", cmd, f->name);
	return -EINVAL;
}

const struct tg_ctl_cmd *tg_ctl_select(const struct tg_ctl_cmd *table, const json_t *req, char *err,
				       size_t errlen)
{
	const char *name = json_string_value(json_object_get(req, "command"));
	const struct tg_ctl_cmd *c;
	const struct tg_ctl_field *f;
	const char *key;
	json_t *v;
	char known[256];

	if (!name) {
		snprintf(err, errlen, "no \"command\" (a string) in the request");
		return NULL;
	}
	for (c = table; c->name && strcmp(c->name, name); c++)
		;
	if (!c->name) {
		known[0] = '\0';
		for (c = table; c->name; c++)
			list_add(known, sizeof(known), c->name);
		snprintf(err, errlen, "unknown command '%.64s' (known: %s)", name, known);
		return NULL;
	}
	/* every field of the request is one the command takes ... */
	json_object_foreach ((json_t *)req, key, v) {
		if (!strcmp(key, "command"))
			continue;
		for (f = c->fields; f->name && strcmp(f->name, key); f++)
			;
		if (!f->name) {
			known[0] = '\0';
			for (f = c->fields; f->name; f++)
				list_add(known, sizeof(known), f->name);
			snprintf(err, errlen, "%s: unknown field \"%.64s\" (%s%s)", c->name, key,
				 known[0] ? "known: " : "the command takes none", known);
			return NULL;
		}
		if (check_field(c->name, f, v, err, errlen))
			return NULL;
	}
	/* ... and every field it needs is there */
	for (f = c->fields; f->name; f++) {
		if (f->required && !json_object_get(req, f->name)) {
			snprintf(err, errlen, "%s: \"%s\" (%s) is required", c->name, f->name,
				 f->what);
			return NULL;
		}
	}
	return c;
}
