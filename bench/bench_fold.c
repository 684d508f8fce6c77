// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_fold.c - what reading every customer's passed traffic costs (tollgated's
 * enforcement interval, snapshots for /metrics and `tollgate customer top`): the in-kernel
 * fold (user/datapath/fold.c: each CPU sums its own per-CPU copies, all at once) against
 * the userspace fold (batched lookups copying 32 bytes x CPUs a customer), interleaved
 * round by round on one private instance of N customers, and the figures the cost model
 * of docs/performance.md (Enforcement) extrapolates from.
 *
 * Three loads of tg_cstat: every customer with traffic on every CPU (the worst case: each
 * CPU adds every customer into lines the other CPUs wrote), on CPU 0 only, and none. The
 * two folds must agree, and equal the values written: else the bench fails.
 *
 * usage: bench_fold [-n CUSTOMERS] [-r ROUNDS]     (default 1000000, 7)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/datapath.h"
#include "lib/lib.h"

#define MAX_ROUNDS 31
#define CHUNK 4096u

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* CPU time of the whole process (every thread, user and kernel), ms: the work, whatever
 * the machine's load does to the wall time. */
static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* What customer k holds on CPU c under each load. */
enum load { L_ALL, L_CPU0, L_NONE, L_NR };
static const char *const load_name[L_NR] = {"traffic on every CPU", "traffic on CPU 0 only",
					    "no traffic"};

static struct tg_cstat value_of(enum load l, uint32_t k, int c)
{
	if (!k || l == L_NONE || (l == L_CPU0 && c))
		return (struct tg_cstat){};
	return (struct tg_cstat){{k + c, 2ull * k}, {1500ull * k + c, 100ull * k}};
}

static int fill(struct tg_maps *m, enum load l)
{
	size_t stride = sizeof(struct tg_cstat);
	__u32 *keys = malloc(CHUNK * sizeof(*keys));
	struct tg_cstat *vals = malloc((size_t)CHUNK * m->ncpus * stride);
	int err = 0;

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (uint32_t base = 0; base < m->max_cust && !err; base += CHUNK) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 cnt = m->max_cust - base < CHUNK ? m->max_cust - base : CHUNK;

		for (uint32_t i = 0; i < cnt; i++) {
			keys[i] = base + i;
			for (int c = 0; c < m->ncpus; c++)
				vals[(size_t)i * m->ncpus + c] = value_of(l, base + i, c);
		}
		if (bpf_map_update_batch(m->cstat, keys, vals, &cnt, &opts))
			err = -errno;
	}
	free(keys);
	free(vals);
	return err;
}

static bool check(const struct tg_maps *m, enum load l, const struct tg_cstat *got)
{
	for (uint32_t k = 0; k < m->max_cust; k++) {
		struct tg_cstat want = {};

		for (int c = 0; c < m->ncpus; c++) {
			struct tg_cstat v = value_of(l, k, c);

			for (int d = 0; d < TG_DIR_NR; d++) {
				want.pkts[d] += v.pkts[d];
				want.bytes[d] += v.bytes[d];
			}
		}
		if (memcmp(&want, &got[k], sizeof(want))) {
			fprintf(stderr, "bench_fold: customer %u: the fold is wrong (%s)\n", k,
				load_name[l]);
			return false;
		}
	}
	return true;
}

/* One read of every customer, by the kernel's fold (kernel) or the userspace one. */
static int read_all(struct tg_maps *m, bool kernel, struct tg_cstat *out, double *ms, double *cms)
{
	struct tg_fold *f = m->fold;
	double t0, c0 = cpu_ms();
	int err;

	if (!kernel) { /* what TOLLGATE_FOLD=user does, without losing the loaded fold */
		m->fold = NULL;
		m->fold_err = -ECANCELED;
	}
	t0 = now_ms();
	err = tg_read_cust_all(m, m->max_cust, out);
	*ms = now_ms() - t0;
	*cms = cpu_ms() - c0;
	if (!kernel) {
		m->fold = f;
		m->fold_err = 0;
	} else if (!tg_fold_in_kernel(m)) {
		err = -ENOTSUP;
	}
	return err;
}

static void *spawn_nothing(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	struct tg_capacity cap = {.max_customers = 1000000};
	double t[L_NR][2][MAX_ROUNDS], tc[L_NR][2][MAX_ROUNDS], cmax[MAX_ROUNDS], csum[MAX_ROUNDS],
		spawn_us;
	struct tg_cstat *out;
	struct tg_maps m;
	int rounds = 7, opt, err;
	bool ok = true;

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			cap.max_customers = strtoul(optarg, NULL, 0);
		else if (opt == 'r')
			rounds = atoi(optarg);
		else
			goto usage;
	}
	if (!cap.max_customers || rounds < 1 || rounds > MAX_ROUNDS)
		goto usage;
	cap.max_prefixes = 2 * cap.max_customers;
	setvbuf(stdout, NULL, _IOLBF, 0);
	setenv("TOLLGATE_FOLD", "kernel", 1); /* at every size: below 2^20 pairs it is off */
	err = tg_maps_open(NULL, &cap, true, &m);
	if (err) {
		fprintf(stderr, "bench_fold: cannot load the program: %s\n", strerror(-err));
		return 1;
	}
	out = calloc(m.max_cust, sizeof(*out));
	if (!out)
		return 1;
	printf("bench_fold: %u customers, %d CPUs, kernel fold vs userspace fold, %d rounds "
	       "interleaved: wall time (median, min-max) and the process's CPU time (every "
	       "thread, user + kernel; median)\n",
	       m.max_cust - 1, m.ncpus, rounds);
	for (int l = 0; l < L_NR && ok; l++) {
		double ms, cms;

		if ((err = fill(&m, l))) {
			fprintf(stderr, "bench_fold: cannot fill tg_cstat: %s\n", strerror(-err));
			return 1;
		}
		/* warm: the fold's setup (load, mmap) and the pages of both paths */
		if ((err = read_all(&m, true, out, &ms, &cms)) || !check(&m, l, out) ||
		    (err = read_all(&m, false, out, &ms, &cms)) || !check(&m, l, out)) {
			fprintf(stderr, "bench_fold: %s\n", err ? strerror(-err) : "wrong sums");
			return 1;
		}
		for (int r = 0; r < rounds && ok; r++) {
			for (int k = 1; k >= 0 && ok; k--) {
				ok = !read_all(&m, k, out, &t[l][k][r], &tc[l][k][r]) &&
				     check(&m, l, out);
				if (k)
					tg_fold_cpu_ms(&m, &cmax[r], &csum[r]);
			}
		}
		for (int k = 1; k >= 0 && ok; k--) {
			double lo = t[l][k][0], hi = lo;

			for (int r = 1; r < rounds; r++) {
				lo = t[l][k][r] < lo ? t[l][k][r] : lo;
				hi = t[l][k][r] > hi ? t[l][k][r] : hi;
			}
			printf("  %-22s %-15s %7.1f ms  (%.1f-%.1f)  CPU time %.1f ms\n",
			       load_name[l], k ? "kernel fold" : "userspace fold",
			       median(t[l][k], rounds), lo, hi, median(tc[l][k], rounds));
			if (k)
				printf("  %-22s %-15s %7.1f ms  the longest CPU's pass, %.1f ms "
				       "all "
				       "CPUs' (the kernel's timer: %.1f ns a customer a CPU)\n",
				       "", "", median(cmax, rounds), median(csum, rounds),
				       median(csum, rounds) * 1e6 / m.max_cust / m.ncpus);
		}
	}
	{ /* the fold's fixed cost a CPU: a thread started and joined */
		double t0 = now_ms();
		pthread_t th;

		for (int i = 0; i < 100; i++)
			if (!pthread_create(&th, NULL, spawn_nothing, NULL))
				pthread_join(th, NULL);
		spawn_us = (now_ms() - t0) * 10;
		printf("  a thread started and joined: %.1f us\n", spawn_us);
	}
	free(out);
	tg_maps_close(&m);
	if (!ok) {
		fprintf(stderr, "bench_fold: a fold failed or was wrong\n");
		return 1;
	}
	return 0;
usage:
	fprintf(stderr, "usage: %s [-n CUSTOMERS] [-r ROUNDS]\n", argv[0]);
	return 2;
}
