/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl.h - the control socket of tollgated (/run/tollgate/tollgate.sock, mode 0660): the
 * way the CLI asks the daemon to change state. One request per connection: the client
 * writes one JSON object and shuts its side down; the daemon answers with one JSON object
 * ({"ok": true, ...} or {"ok": false, "error": "...", "errors": [...]}) and closes.
 * Requests are bounded (TG_CTL_MAX_REQUEST); the caller's uid and pid come from
 * SO_PEERCRED.
 */
#ifndef TG_CTL_H
#define TG_CTL_H

#include <stddef.h>
#include <sys/socket.h>
#include <jansson.h>

#define TG_CTL_DEFAULT "/run/tollgate/tollgate.sock"
#define TG_CTL_MAX_REQUEST 65536
#define TG_CTL_READ_MS 2000 /* a client gets this long to send its request */

/* $TOLLGATE_SOCKET, else TG_CTL_DEFAULT. */
const char *tg_ctl_path(void);

/* Listen at path (its directory created); a socket left by a dead daemon is replaced, a
 * live one is -EADDRINUSE. The listening fd, or -errno with the reason in err. */
int tg_ctl_listen(const char *path, char *err, size_t errlen);

/* Give the socket (mode 0660), and its directory if it is tollgated's, to group (NULL:
 * root only). 0 or -errno with the reason in err. */
int tg_ctl_set_group(const char *path, const char *group, char *err, size_t errlen);

/* Read one request from an accepted connection. 0 with *req, or -errno with a reason fit
 * for the reply in err (too large, not JSON, not an object, timed out). */
int tg_ctl_read(int fd, json_t **req, struct ucred *cred, char *err, size_t errlen);

/* Write reply (reference taken) and close fd. */
void tg_ctl_reply(int fd, json_t *reply);

/* Client: send req (reference taken), wait up to timeout_ms for the reply. -ENOENT or
 * -ECONNREFUSED: no daemon listens at path. */
int tg_ctl_call(const char *path, json_t *req, json_t **reply, int timeout_ms);

#endif /* TG_CTL_H */
