// SPDX-License-Identifier: GPL-2.0-only
/*
 * fold.c - every customer's passed traffic (the per-CPU tg_cstat) summed in the kernel,
 * each CPU folding its own copies, all at once (bpf/fold.bpf.c says how). A fold: zero
 * the mapped sums (tg_cfold), set every CPU's cursor, run tg_fold_cpu by
 * BPF_PROG_TEST_RUN from a thread pinned to each CPU until its cursor has gone round,
 * check that every cursor did. The reader then has 32 bytes a customer in place, and the
 * fold took one CPU's pass over the customers, not one pass per CPU.
 *
 * Below TG_FOLD_MIN_PAIRS customers x CPUs (TOLLGATE_FOLD=kernel: always), where it cannot
 * be set up or run (a possible CPU offline or outside the process's cpuset, so its copies
 * cannot be reached from it; no memory; the object refused) or TOLLGATE_FOLD=user asks
 * for it, the reader sums the CPUs itself from then on (stats.c,
 * tg_read_cust_all), saying so once in the log: the numbers are the same, only the cost
 * differs. The object is embedded in the binaries (skel.c, tg_fold_bpf_open).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/lib.h"
#include "maps.h"

#define FOLD_BATCH 64u /* TG_FOLD_BATCH of bpf/fold.bpf.c */
/*
 * Customers x CPUs below which the userspace fold is used: it costs ~35 ns a pair (~35 ms
 * here at this many), while the kernel's fold waits for a slot on every CPU, which on a
 * busy machine is tens of ms whatever the size (docs/performance.md, Enforcement).
 */
#define TG_FOLD_MIN_PAIRS (1u << 20)

struct tg_fold {
	struct bpf_object *obj;
	struct tg_cstat *mm; /* tg_cfold, max_cust entries */
	size_t mm_len;
	int prog, pos;		       /* fds */
	struct tg_fold_pos *cur;       /* a value of tg_fold_pos per CPU */
	struct fold_thread *thr;       /* one per CPU */
	double cpu_ms_max, cpu_ms_sum; /* the last fold's CPUs, by the kernel's timer */
};

struct fold_thread {
	pthread_t tid;
	int cpu, prog, err;
	uint32_t repeat;
	double ms; /* the kernel's own timer of the runs (time off the CPU left out) */
};

static void fold_free(struct tg_fold *f)
{
	if (!f)
		return;
	if (f->mm)
		munmap(f->mm, f->mm_len);
	bpf_object__close(f->obj);
	free(f->cur);
	free(f->thr);
	free(f);
}

static int fold_setup(const struct tg_maps *m, struct tg_fold **out)
{
	const char *env = getenv("TOLLGATE_FOLD");
	long pg = sysconf(_SC_PAGESIZE);
	struct bpf_map *cstat, *cfold, *pos;
	struct bpf_program *prog;
	struct tg_fold *f;
	void *p;
	int err;

	if (env && !strcmp(env, "user"))
		return -ECANCELED;
	/* few customers x CPUs: summed here in a few ms, no thread to wait for on every CPU */
	if (!(env && !strcmp(env, "kernel")) &&
	    (uint64_t)m->max_cust * (uint64_t)m->ncpus < TG_FOLD_MIN_PAIRS)
		return -ECANCELED;
	if (m->cstat < 0 || !m->max_cust || m->ncpus <= 0)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->cur = calloc(m->ncpus, sizeof(*f->cur));
	f->thr = calloc(m->ncpus, sizeof(*f->thr));
	f->obj = tg_fold_bpf_open();
	if (!f->cur || !f->thr || !f->obj) {
		err = f->obj ? -ENOMEM : (errno ? neg_errno() : -EINVAL);
		goto fail;
	}
	cstat = bpf_object__find_map_by_name(f->obj, "tg_cstat");
	cfold = bpf_object__find_map_by_name(f->obj, "tg_cfold");
	pos = bpf_object__find_map_by_name(f->obj, "tg_fold_pos");
	prog = bpf_object__find_program_by_name(f->obj, "tg_fold_cpu");
	err = cstat && cfold && pos && prog ? bpf_map__reuse_fd(cstat, m->cstat) : -ENOENT;
	if (!err)
		err = bpf_map__set_max_entries(cfold, m->max_cust);
	if (!err)
		err = bpf_object__load(f->obj);
	if (err)
		goto fail;
	f->prog = bpf_program__fd(prog);
	f->pos = bpf_map__fd(pos);
	f->mm_len = ((size_t)m->max_cust * sizeof(struct tg_cstat) + pg - 1) / pg * pg;
	p = mmap(NULL, f->mm_len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(cfold), 0);
	if (p == MAP_FAILED) {
		err = neg_errno();
		goto fail;
	}
	f->mm = p;
	*out = f;
	return 0;
fail:
	fold_free(f);
	return err;
}

/* One CPU's share: pinned to it, run the program until its cursor has gone round. */
static void *fold_cpu(void *arg)
{
	struct fold_thread *t = arg;
	unsigned char frame[64] = {0}; /* the program reads no packet: any frame will do */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = t->repeat);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(t->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		t->err = neg_errno(); /* offline: its copies stay out of reach */
		return NULL;
	}
	if (bpf_prog_test_run_opts(t->prog, &opts))
		t->err = neg_errno();
	else if (opts.retval != XDP_PASS)
		t->err = -EIO;
	t->ms = (double)opts.duration * t->repeat / 1e6; /* duration: ns a run, on average */
	return NULL;
}

static int fold_run(struct tg_fold *f, const struct tg_maps *m)
{
	uint32_t n = m->max_cust, zero = 0;
	int started = 0, err = 0;
	sigset_t all, old;

	memset(f->mm, 0, (size_t)n * sizeof(*f->mm));
	for (int c = 0; c < m->ncpus; c++) /* each CPU starts at its own place */
		f->cur[c] = (struct tg_fold_pos){
			.next = (uint32_t)((uint64_t)n * c / m->ncpus), .left = n, .n = n};
	if (bpf_map_update_elem(f->pos, &zero, f->cur, BPF_ANY))
		return neg_errno();
	/* the threads take no signal: one would interrupt BPF_PROG_TEST_RUN (EINTR) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int c = 0; c < m->ncpus; c++) {
		struct fold_thread *t = &f->thr[c];

		*t = (struct fold_thread){
			.cpu = c, .prog = f->prog, .repeat = (n + FOLD_BATCH - 1) / FOLD_BATCH + 1};
		/* + 1: the run that reaches the end of the array stops there */
		err = -pthread_create(&t->tid, NULL, fold_cpu, t);
		if (err)
			break;
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	f->cpu_ms_max = f->cpu_ms_sum = 0;
	for (int c = 0; c < started; c++) {
		pthread_join(f->thr[c].tid, NULL);
		if (!err)
			err = f->thr[c].err;
		f->cpu_ms_sum += f->thr[c].ms;
		if (f->thr[c].ms > f->cpu_ms_max)
			f->cpu_ms_max = f->thr[c].ms;
	}
	if (err)
		return err;
	/* every CPU's cursor went round: else the sums miss a CPU's share */
	if (bpf_map_lookup_elem(f->pos, &zero, f->cur))
		return neg_errno();
	for (int c = 0; c < m->ncpus; c++)
		if (f->cur[c].left)
			return -EIO;
	return 0;
}

int tg_fold_read(struct tg_maps *m, const struct tg_cstat **sums)
{
	int err;

	if (!m->fold && !m->fold_err) {
		err = fold_setup(m, &m->fold);
		if (err) {
			m->fold_err = err;
			if (err != -ECANCELED)
				tg_warn("cannot fold the per-CPU counters in the kernel (%s): "
					"summing them here from now on, 32 bytes x %d CPUs a "
					"customer each read",
					strerror(-err), m->ncpus);
		}
	}
	if (!m->fold)
		return m->fold_err;
	err = fold_run(m->fold, m);
	if (err) {
		/* for good: a CPU offline or outside our cpuset stays so, and one warning says
		 * it (tollgate_fold_in_kernel turns 0) */
		tg_warn("cannot fold the per-CPU counters in the kernel (%s%s): summing them here "
			"from now on, 32 bytes x %d CPUs a customer each read",
			strerror(-err),
			err == -EINVAL ? ": a possible CPU is offline or outside this process's "
					 "CPUs?"
				       : "",
			m->ncpus);
		fold_free(m->fold);
		m->fold = NULL;
		m->fold_err = err;
		return err;
	}
	*sums = m->fold->mm;
	return 0;
}

bool tg_fold_in_kernel(const struct tg_maps *m)
{
	return m->fold != NULL;
}

void tg_fold_cpu_ms(const struct tg_maps *m, double *max_ms, double *sum_ms)
{
	*max_ms = m->fold ? m->fold->cpu_ms_max : 0;
	*sum_ms = m->fold ? m->fold->cpu_ms_sum : 0;
}

void tg_fold_close(struct tg_maps *m)
{
	fold_free(m->fold);
	m->fold = NULL;
	m->fold_err = 0;
}
