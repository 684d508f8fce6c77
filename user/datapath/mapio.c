// SPDX-License-Identifier: GPL-2.0-only
/*
 * mapio.c - the map writes and reads every sync shares: batched updates and deletes, a
 * whole map read back, and the -v phase clock. Below everything else of a sync: it calls
 * nothing of the planners, the committer or the table builders.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/bpf.h>

#include "lib/lib.h"
#include "sync_int.h"

#define BATCH 8192u /* entries per batch syscall */

/* With -v, how long each phase of a sync took: where a reload's time goes. */
void tg_sync_phase(const char *what, struct timespec *t)
{
	struct timespec now;

	if (!tg_log_verbose)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (t->tv_sec || t->tv_nsec)
		tg_info("sync: %-26s %7.3f s", what,
			(double)(now.tv_sec - t->tv_sec) + (now.tv_nsec - t->tv_nsec) / 1e9);
	*t = now;
}

/* ---- batch helpers ---- */

int tg_update_batch(int fd, const void *keys, const void *vals, size_t n, size_t ksz, size_t vsz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t done = 0;

	while (done < n) {
		__u32 cnt = n - done > BATCH ? BATCH : n - done;

		if (bpf_map_update_batch(fd, (const char *)keys + done * ksz,
					 (const char *)vals + done * vsz, &cnt, &opts))
			return neg_errno();
		done += cnt;
	}
	return 0;
}

int tg_delete_batch(int fd, const void *keys, size_t n, size_t ksz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t done = 0;

	while (done < n) {
		__u32 cnt = n - done > BATCH ? BATCH : n - done;

		if (bpf_map_delete_batch(fd, (const char *)keys + done * ksz, &cnt, &opts))
			return neg_errno();
		done += cnt;
	}
	return 0;
}

/* Read a whole map (array or hash) into malloc'd key and value arrays. */
int tg_dump_map(int fd, size_t max, size_t ksz, size_t vsz, void **keys, void **vals, size_t *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 in = 0, out = 0;
	size_t got = 0;
	bool first = true;
	char *k = malloc((max + 1) * ksz), *v = malloc((max + 1) * vsz);

	if (!k || !v)
		goto nomem;
	for (;;) {
		__u32 cnt = max - got;
		int err;

		if (!cnt)
			break;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, k + got * ksz,
					   v + got * vsz, &cnt, &opts);
		err = err ? neg_errno() : 0;
		got += cnt;
		if (err == -ENOENT)
			break;
		if (err) {
			free(k);
			free(v);
			return err;
		}
		in = out;
		first = false;
	}
	*keys = k;
	*vals = v;
	*n = got;
	return 0;
nomem:
	free(k);
	free(v);
	return -ENOMEM;
}
