/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * run.h - run a program with an argument vector (no shell), its output captured.
 *
 * For the narrow adapters that drive another daemon through that daemon's own client
 * (user/mitigation/gobgp.c runs `gobgp`): the child gets /dev/null as stdin, stdout and
 * stderr into bounded buffers, a clean environment (PATH and LC_ALL=C), its own process
 * group, and is killed (the whole group) at the deadline.
 *
 * Included by: lib.h.
 */
#ifndef TG_RUN_H
#define TG_RUN_H

#include <stddef.h>

#define TG_RUN_OUT_MAX (4u << 20) /* bytes of stdout kept; more is an error (-EFBIG) */
#define TG_RUN_ERR_MAX 4096u	  /* bytes of stderr kept (the rest is read and dropped) */

struct tg_run_result {
	char *out; /* stdout, NUL-terminated (free()); NULL if it could not be kept */
	size_t outlen;
	char err[TG_RUN_ERR_MAX]; /* stderr, NUL-terminated, cut */
	int status;		  /* the wait status */
};

/*
 * Run argv[0] (looked up in PATH) with argv, wait at most timeout_ms. 0 when it ran and
 * exited with status 0; -ECHILD when it exited non-zero or died (res->status, res->err say
 * how); -ETIMEDOUT when it was killed at the deadline; -ENOENT when it could not be run;
 * -EFBIG when its stdout passed TG_RUN_OUT_MAX; another -errno. res is filled in every
 * case; free res->out.
 */
int tg_run(char *const argv[], int timeout_ms, struct tg_run_result *res);

#endif /* TG_RUN_H */
