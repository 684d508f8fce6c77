// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_files.c - what both readers of the configuration (the YAML, cfg_yaml.c, and the
 * customers CSV, customers.c) share and neither owns: the collected list of errors
 * (struct tg_errs) and opening a file that must be a regular one (tg_open_regular). It
 * knows neither YAML nor CSV, so the CSV reader does not depend on the YAML one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

void tg_errs_add(struct tg_errs *e, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		char **p = realloc(e->msg, cap * sizeof(*p));

		if (!p)
			return;
		e->msg = p;
		e->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (m)
		e->msg[e->n++] = m;
}

void tg_errs_free(struct tg_errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	e->msg = NULL;
	e->n = e->cap = 0;
}

static const char *file_kind(mode_t m)
{
	return S_ISFIFO(m)   ? "a FIFO (named pipe)"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISDIR(m)  ? "a directory"
			     : "not a regular file";
}

int tg_open_regular(const char *path, int *fd, size_t *size, const char **kind)
{
	struct stat st;
	int err;

	*size = 0;
	*fd = -1;
	*kind = NULL;
	/* refused before it is opened: opening a FIFO waits for a writer, a device may act */
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		*kind = file_kind(st.st_mode);
		return -EINVAL;
	}
	/* O_NONBLOCK: should it have become a FIFO since, the open does not wait either */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (*fd < 0)
		return errno ? -errno : -EIO;
	if (fstat(*fd, &st)) {
		err = errno ? -errno : -EIO;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*kind = file_kind(st.st_mode);
		err = -EINVAL;
		goto fail;
	}
	*size = (size_t)st.st_size;
	return 0;
fail:
	close(*fd);
	*fd = -1;
	return err;
}
