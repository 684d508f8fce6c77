/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl.h - the control socket of tollgated (/run/tollgate/tollgate.sock, mode 0660): the
 * way the CLI asks the daemon to change state. One request per connection: the client
 * writes one JSON object and shuts its side down; the daemon answers with one JSON object
 * ({"ok": true, ...} or {"ok": false, "error": "...", "errors": [...]}) and closes.
 * Requests are bounded (TG_CTL_MAX_REQUEST); the caller's uid and pid come from
 * SO_PEERCRED.
 *
 * Included by: lib.h (the door: other rooms get it through that) and ctl.c; the tests
 * (test_hardening).
 */
#ifndef TG_CTL_H
#define TG_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <jansson.h>

#define TG_CTL_DEFAULT "/run/tollgate/tollgate.sock"
#define TG_CTL_MAX_REQUEST 65536
#define TG_CTL_READ_MS 2000 /* a client gets this long to send its request */
#define TG_CTL_WRITE_MS 200 /* and the daemon waits at most this long to answer it */
#define TG_CTL_MAX_CONNS 32 /* connections being read at once; more wait in the backlog */

/* $TOLLGATE_SOCKET, else TG_CTL_DEFAULT. */
const char *tg_ctl_path(void);

/* Listen at path (its directory created); a socket left by a dead daemon is replaced, a
 * live one is -EADDRINUSE. The listening fd, or -errno with the reason in err. */
int tg_ctl_listen(const char *path, char *err, size_t errlen);

/* Give the socket (mode 0660), and its directory if it is tollgated's, to group (NULL:
 * root only). 0 or -errno with the reason in err. */
int tg_ctl_set_group(const char *path, const char *group, char *err, size_t errlen);

/*
 * The daemon's end, for an event loop that must never wait on a client: a connection is
 * accepted non-blocking, its request read as it arrives, answered once complete.
 */
struct tg_ctl_conn {
	int fd;
	struct ucred cred; /* the caller, from SO_PEERCRED */
	char *buf;
	size_t len, cap;
	bool too_big;	       /* over TG_CTL_MAX_REQUEST: the rest is read and discarded */
	long long deadline_ms; /* CLOCK_MONOTONIC: the request must be complete by then */
};
/* Accept one pending connection, or NULL (none, or out of resources). */
struct tg_ctl_conn *tg_ctl_accept(int lfd);
/* Read what has arrived: 0 more to come; 1 complete, *req the request; -errno with a
 * reason fit for the reply in err (too large, not JSON, not an object). */
int tg_ctl_conn_read(struct tg_ctl_conn *c, json_t **req, char *err, size_t errlen);
/* Past its deadline (TG_CTL_READ_MS): true, with the reason in err. */
bool tg_ctl_conn_expired(const struct tg_ctl_conn *c, char *err, size_t errlen);
/* Write reply (reference taken), close and free the connection. */
void tg_ctl_conn_reply(struct tg_ctl_conn *c, json_t *reply);

/* Client: send req (reference taken), wait up to timeout_ms for the reply. -ENOENT or
 * -ECONNREFUSED: no daemon listens at path. */
int tg_ctl_call(const char *path, json_t *req, json_t **reply, int timeout_ms);

#endif /* TG_CTL_H */
