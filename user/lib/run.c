// SPDX-License-Identifier: GPL-2.0-only
/*
 * run.c - run a program with an argument vector, its output captured (run.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"
#include "util.h"

static int add_bytes(struct tg_run_result *res, size_t *cap, const char *b, size_t n)
{
	if (res->outlen + n + 1 > TG_RUN_OUT_MAX)
		return -EFBIG;
	if (!res->out || res->outlen + n + 1 > *cap) {
		size_t nc = *cap ? *cap * 2 : 4096;
		char *p;

		while (nc < res->outlen + n + 1)
			nc *= 2;
		p = realloc(res->out, nc);
		if (!p)
			return -ENOMEM;
		res->out = p;
		*cap = nc;
	}
	memcpy(res->out + res->outlen, b, n);
	res->outlen += n;
	res->out[res->outlen] = '\0';
	return 0;
}

int tg_run(char *const argv[], int timeout_ms, struct tg_run_result *res)
{
	static char *const envp[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
		NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int po[2], pe[2], err = 0, rc;
	size_t cap = 0, errlen = 0;
	int64_t deadline;
	sigset_t dfl, none;
	bool open_o = true, open_e = true;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe2(po, O_CLOEXEC))
		return -errno;
	if (pipe2(pe, O_CLOEXEC)) {
		err = -errno;
		close(po[0]);
		close(po[1]);
		return err;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO);
	posix_spawnattr_init(&at);
	sigfillset(&dfl);
	sigdelset(&dfl, SIGKILL);
	sigdelset(&dfl, SIGSTOP);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETPGROUP);
	rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(po[1]);
	close(pe[1]);
	if (rc) {
		close(po[0]);
		close(pe[0]);
		snprintf(res->err, sizeof(res->err), "cannot run %s: %s", argv[0], strerror(rc));
		return -rc;
	}
	deadline = tg_mono_ms() + timeout_ms;
	while (open_o || open_e) {
		struct pollfd pf[2] = {{open_o ? po[0] : -1, POLLIN, 0},
				       {open_e ? pe[0] : -1, POLLIN, 0}};
		int64_t left = deadline - tg_mono_ms();
		char buf[8192];
		ssize_t n;

		if (left <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		rc = poll(pf, 2, (int)left);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (open_o && pf[0].revents) {
			n = read(po[0], buf, sizeof(buf));
			if (n > 0) {
				rc = add_bytes(res, &cap, buf, (size_t)n);
				if (rc) {
					err = rc;
					break;
				}
			} else if (n == 0 || errno != EINTR) {
				open_o = false;
			}
		}
		if (open_e && pf[1].revents) {
			n = read(pe[0], buf, sizeof(buf));
			if (n > 0) {
				size_t k = (size_t)n;

				if (errlen + k >= sizeof(res->err))
					k = sizeof(res->err) - 1 - errlen;
				memcpy(res->err + errlen, buf, k);
				errlen += k;
				res->err[errlen] = '\0';
			} else if (n == 0 || errno != EINTR) {
				open_e = false;
			}
		}
	}
	close(po[0]);
	close(pe[0]);
	if (err)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &res->status, 0) < 0) {
		if (errno != EINTR) {
			if (!err)
				err = -errno;
			break;
		}
	}
	if (!res->out)
		add_bytes(res, &cap, "", 0);
	if (err == -ETIMEDOUT)
		snprintf(res->err, sizeof(res->err), "%s: no answer within %d ms: killed", argv[0],
			 timeout_ms);
	if (err)
		return err;
	if (WIFEXITED(res->status) && WEXITSTATUS(res->status) == 127 && !res->outlen)
		return -ENOENT;
	if (!WIFEXITED(res->status) || WEXITSTATUS(res->status) != 0)
		return -ECHILD;
	return 0;
}
