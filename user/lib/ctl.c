// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl.c - the control socket, both ends (see ctl.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
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
	int fd = -1, probe, e;
	mode_t mask;

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
	unlink(path); /* a stale socket, or a symlink: the link goes, never its target */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	/*
	 * The socket file is born 0660 (bind takes its mode from the umask): nothing has to
	 * chmod a path afterwards, which someone who can write the directory could have
	 * replaced with a symlink in between (TOLLGATE_SOCKET in a shared directory).
	 */
	mask = umask(0117);
	e = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(mask);
	if (e || listen(fd, 16))
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
	int dfd;

	if (group) {
		if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) || !res) {
			snprintf(err, errlen, "control.group: no group '%s' on this host", group);
			return -ENOENT;
		}
		gid = res->gr_gid;
	}
	/*
	 * The socket's directory, when it is tollgated's (/run/tollgate, or one made for the
	 * socket), lets the group through and no one else. Opened without following a
	 * symlink and changed through its descriptor, so a directory swapped for a link
	 * after the check cannot redirect the chown/chmod.
	 */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (made_dir || !strcmp(dir, "/run/tollgate")) {
			dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (dfd < 0 || fstat(dfd, &st) ||
			    (st.st_uid == 0 &&
			     (fchown(dfd, 0, gid) || fchmod(dfd, group ? 0750 : 0755)))) {
				int e = errno;

				snprintf(err, errlen, "%s: %s", dir, strerror(e));
				if (dfd >= 0)
					close(dfd);
				return -e;
			}
			close(dfd);
		}
	}
	/* the socket itself: never through a symlink (fchmodat refuses to change one) */
	if (fchownat(AT_FDCWD, path, 0, gid, AT_SYMLINK_NOFOLLOW) ||
	    fchmodat(AT_FDCWD, path, 0660, AT_SYMLINK_NOFOLLOW) || lstat(path, &st)) {
		int e = errno;

		snprintf(err, errlen, "%s: %s%s", path, strerror(e),
			 e == EOPNOTSUPP ? " (a symlink, not the socket tollgated made)" : "");
		return -e;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: not the socket tollgated made (replaced?)", path);
		return -EINVAL;
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

struct tg_ctl_conn *tg_ctl_accept(int lfd)
{
	struct tg_ctl_conn *c;
	socklen_t cl;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->deadline_ms = now_ms() + TG_CTL_READ_MS;
	cl = sizeof(c->cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &cl))
		c->cred.uid = (uid_t)-1; /* unknown: tg_ctl_conn_read says so */
	return c;
}

static int conn_err(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int conn_err(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return e;
}

int tg_ctl_conn_read(struct tg_ctl_conn *c, json_t **req, char *err, size_t errlen)
{
	json_error_t je;

	*req = NULL;
	if (c->cred.uid == (uid_t)-1)
		return conn_err(err, errlen, -EPERM, "cannot identify the caller");
	for (;;) {
		ssize_t r;

		if (c->too_big) { /* read to the end, so that the client gets the error */
			char sink[4096];

			r = read(c->fd, sink, sizeof(sink));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && errno == EAGAIN)
				return 0;
			if (r > 0)
				continue;
			return conn_err(err, errlen, -EMSGSIZE, "request larger than %d bytes",
					TG_CTL_MAX_REQUEST);
		}
		if (c->len == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 4096;
			char *nb;

			if (cap > TG_CTL_MAX_REQUEST + 1)
				cap = TG_CTL_MAX_REQUEST + 1;
			nb = realloc(c->buf, cap + 1);
			if (!nb)
				return conn_err(err, errlen, -ENOMEM, "out of memory");
			c->buf = nb;
			c->cap = cap;
		}
		r = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return 0; /* more to come */
		if (r < 0)
			return conn_err(err, errlen, -errno, "cannot read the request: %s",
					strerror(errno));
		if (r == 0)
			break;
		c->len += (size_t)r;
		if (c->len > TG_CTL_MAX_REQUEST)
			c->too_big = true;
	}
	*req = json_loadb(c->buf ? c->buf : "", c->len, JSON_REJECT_DUPLICATES, &je);
	if (!*req)
		return conn_err(err, errlen, -EINVAL, "not JSON: %s (line %d, column %d)", je.text,
				je.line, je.column);
	if (!json_is_object(*req)) {
		json_decref(*req);
		*req = NULL;
		return conn_err(err, errlen, -EINVAL,
				"a request is a JSON object: {\"command\": \"...\"}");
	}
	return 1;
}

bool tg_ctl_conn_expired(const struct tg_ctl_conn *c, char *err, size_t errlen)
{
	if (now_ms() < c->deadline_ms)
		return false;
	snprintf(err, errlen,
		 "no complete request within %d ms (write it, then shut down the writing side)",
		 TG_CTL_READ_MS);
	return true;
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

void tg_ctl_conn_reply(struct tg_ctl_conn *c, json_t *reply)
{
	char *s = reply ? json_dumps(reply, JSON_COMPACT) : NULL;

	/* a reply fits the socket's buffer: a client that does not read costs at most this */
	if (s) {
		write_all(c->fd, s, strlen(s), TG_CTL_WRITE_MS);
		write_all(c->fd, "\n", 1, TG_CTL_WRITE_MS);
	}
	free(s);
	json_decref(reply);
	close(c->fd);
	free(c->buf);
	free(c);
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
