// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl.c - the control socket, both ends (see ctl.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ctl.h"
#include "util.h"

const char *tg_ctl_path(void)
{
	const char *p = getenv("TOLLGATE_SOCKET");

	return p && *p ? p : TG_CTL_DEFAULT;
}

static int make_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

static bool made_dir; /* tg_ctl_listen created the socket's directory */

int tg_ctl_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd, probe, e;

	e = make_addr(path, &sa);
	if (e) {
		snprintf(err, errlen, "%s: path too long for a socket", path);
		return e;
	}
	e = tg_mkdir_parent(path, 0755);
	made_dir = e == 1;
	if (e < 0) {
		snprintf(err, errlen, "%s: cannot create its directory: %s", path, strerror(-e));
		return e;
	}
	/* a socket file with a listener behind it belongs to a running daemon */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		snprintf(err, errlen, "%s: another tollgated is listening there", path);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0660) || listen(fd, 16))
		goto fail;
	return fd;
fail:
	e = -errno;
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return e;
}

int tg_ctl_set_group(const char *path, const char *group, char *err, size_t errlen)
{
	struct group gr, *res = NULL;
	char buf[4096], dir[PATH_MAX], *slash;
	gid_t gid = 0;
	struct stat st;

	if (group) {
		if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) || !res) {
			snprintf(err, errlen, "control.group: no group '%s' on this host", group);
			return -ENOENT;
		}
		gid = res->gr_gid;
	}
	/* the socket's directory, when it is tollgated's (/run/tollgate, or one made for the
	 * socket), lets the group through and no one else */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if ((made_dir || !strcmp(dir, "/run/tollgate")) && !stat(dir, &st) &&
		    st.st_uid == 0 && (chown(dir, 0, gid) || chmod(dir, group ? 0750 : 0755))) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			return -errno;
		}
	}
	if (chown(path, 0, gid) || chmod(path, 0660)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Read until EOF, at most max bytes, within timeout_ms. */
static int read_all(int fd, char **out, size_t *len, size_t max, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = deadline - now_ms();
		ssize_t r;

		if (left <= 0) {
			free(buf);
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -errno;
		}
		if (n == cap) {
			char *nb;

			if (cap >= max + 1) {
				free(buf);
				return -EMSGSIZE;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			free(buf);
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			return -EMSGSIZE;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int tg_ctl_read(int fd, json_t **req, struct ucred *cred, char *err, size_t errlen)
{
	socklen_t cl = sizeof(*cred);
	json_error_t je;
	size_t len = 0;
	char *buf = NULL;
	int e;

	*req = NULL;
	memset(cred, 0, sizeof(*cred));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &cl)) {
		snprintf(err, errlen, "cannot identify the caller: %s", strerror(errno));
		return -errno;
	}
	e = read_all(fd, &buf, &len, TG_CTL_MAX_REQUEST, TG_CTL_READ_MS);
	if (e) {
		if (e == -EMSGSIZE)
			snprintf(err, errlen, "request larger than %d bytes", TG_CTL_MAX_REQUEST);
		else if (e == -ETIMEDOUT)
			snprintf(err, errlen,
				 "no complete request within %d ms (write it, then "
				 "shut down the writing side)",
				 TG_CTL_READ_MS);
		else
			snprintf(err, errlen, "cannot read the request: %s", strerror(-e));
		return e;
	}
	*req = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (!*req) {
		snprintf(err, errlen, "not JSON: %s (line %d, column %d)", je.text, je.line,
			 je.column);
		return -EINVAL;
	}
	if (!json_is_object(*req)) {
		json_decref(*req);
		*req = NULL;
		snprintf(err, errlen, "a request is a JSON object: {\"command\": \"...\"}");
		return -EINVAL;
	}
	return 0;
}

static int write_all(int fd, const char *s, size_t n, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	while (n) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		long long left = deadline - now_ms();
		ssize_t w;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		w = send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w < 0)
			return -errno;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

void tg_ctl_reply(int fd, json_t *reply)
{
	char *s = reply ? json_dumps(reply, JSON_COMPACT) : NULL;

	if (s) {
		write_all(fd, s, strlen(s), TG_CTL_READ_MS);
		write_all(fd, "\n", 1, TG_CTL_READ_MS);
	}
	free(s);
	json_decref(reply);
	close(fd);
}

int tg_ctl_call(const char *path, json_t *req, json_t **reply, int timeout_ms)
{
	struct sockaddr_un sa;
	json_error_t je;
	size_t len = 0;
	char *s = NULL, *buf = NULL;
	int fd, e;

	*reply = NULL;
	e = make_addr(path, &sa);
	if (e) {
		json_decref(req);
		return e;
	}
	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!s)
		return -ENOMEM;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		e = -errno;
		goto out;
	}
	e = write_all(fd, s, strlen(s), timeout_ms);
	if (e)
		goto out;
	shutdown(fd, SHUT_WR);
	e = read_all(fd, &buf, &len, 64u << 20, timeout_ms);
	if (e)
		goto out;
	*reply = json_loadb(buf, len, 0, &je);
	if (!*reply)
		e = -EPROTO;
out:
	if (fd >= 0)
		close(fd);
	free(s);
	free(buf);
	return e;
}
