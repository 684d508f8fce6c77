/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * control.h - the control socket's commands, as a table (in the manner of the CLI's
 * struct tg_cmd): each command says its name, its handler, the fields its request may
 * carry and whether it writes the data plane. tg_ctl_select finds a request's command and
 * checks every field against the table before any handler runs, so an unknown command, an
 * unknown field, a missing one or a bad value is refused with a clear error and changes
 * nothing. The framing (one JSON object each way, SO_PEERCRED) is lib/ctl.h's; the table
 * itself is tollgated.c's, beside its handlers.
 *
 * Included by: daemon.h (the door) and tollgated.c, control.c. Includes: jansson only.
 */
#ifndef TG_CONTROL_H
#define TG_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <jansson.h>

enum tg_ctl_ftype {
	TG_CF_TEXT,	/* a non-empty string of at most max bytes */
	TG_CF_DURATION, /* a string tg_parse_duration_ns reads, above zero ("30m", "1d") */
};

/* One field a request may carry besides "command". */
struct tg_ctl_field {
	const char *name;
	int type; /* enum tg_ctl_ftype */
	bool required;
	size_t max;	  /* TG_CF_TEXT: the longest value, in bytes */
	const char *what; /* what the value is, for the errors: "an id" */
};

struct tg_ctl_cmd {
	const char *name;
	/* The reply document. req has passed the checks of fields; ctx is the daemon's. */
	json_t *(*run)(void *ctx, const json_t *req, const struct ucred *cred);
	/* The fields the request may carry, ending with {NULL}; any other is refused. */
	const struct tg_ctl_field *fields;
	/*
	 * The command writes the data plane (and the state database): its handler takes the
	 * writers' lock (tg_maps_lock) around what it writes, as every writer does; it is not
	 * taken here, around the whole handler, because flock is not re-entrant. tollgated
	 * logs who asked for every writing command before it runs.
	 */
	bool writes;
};

/*
 * The command of req in table (ending with {NULL}), with every field of req checked
 * against the command's fields: the command, or NULL with the reason in err (fit for the
 * reply: "suspend: \"customer\" (an id) is required").
 */
const struct tg_ctl_cmd *tg_ctl_select(const struct tg_ctl_cmd *table, const json_t *req, char *err,
				       size_t errlen);

#endif /* TG_CONTROL_H */
