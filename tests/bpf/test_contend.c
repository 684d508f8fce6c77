// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_contend.c - the bandwidth policer under contention from every CPU.
 *
 * A customer who spreads its flows over every RSS queue has its packets policed on every
 * CPU at once against one shared TAT (policer_kern.h). This suite runs the real program
 * with BPF_PROG_TEST_RUN from one thread pinned to each CPU, all on the same customer's
 * frames, for a fixed time, and checks what was admitted (the customer's passed bytes,
 * summed over CPUs) against what the policer promises:
 *
 *   admitted <= (rate x elapsed + effective burst) x 1.01     (no over-admission)
 *   admitted >= 0.9 x rate x elapsed                           (no starvation)
 *
 * The lower bound is only checked when every thread had its CPU >= 90% of the time (its
 * CPU clock says so): an offered load that other work interrupts leaves refill unused, as
 * it should. elapsed is read on the policer's own clock (CLOCK_MONOTONIC_COARSE, the jiffies the
 * program reads) from before the first run to after the last, plus one tick: a packet
 * seen at the end of a tick is charged at its start. The offered load is far above the
 * rate (about 20 Mpps per CPU of 100-byte packets against a policer of a few Gbit/s), so
 * conforming packets from both CPUs race for the same refill at every tick.
 *
 * Cases: two rates (the refill of a tick is ~40 and ~400 conforming packets), IPv4.
 * With one CPU the suite still runs (and checks the bounds) but says that it measured no
 * contention. Needs root (BPF_PROG_TEST_RUN, a network namespace); SKIP (77) without.
 */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/maps.h"
#include "testlib.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_THREADS 64
#define RUN_REPEAT 20000u /* packets per BPF_PROG_TEST_RUN call: ~1 ms */
#define RUN_SECONDS 2
#define PKT_IPLEN 100u
#define CUST_ID "p-contend"
#define CUST_PFX "198.18.100.0/24"
#define CUST_SRC 0xc6126405u /* 198.18.100.5 */

static struct tg_maps maps;
static int ifindex_lo;
static uint8_t frame[ETH_HLEN + PKT_IPLEN];
static pthread_barrier_t start_line;
static int stop_flag;

static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint16_t csum16(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An untagged IPv4/UDP frame of PKT_IPLEN IP bytes from the customer to 8.8.8.8. */
static void build_frame(void)
{
	uint8_t *ip = frame + ETH_HLEN;
	uint16_t c;

	memset(frame, 0, sizeof(frame));
	memcpy(frame, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", ETH_HLEN);
	ip[0] = 0x45;
	ip[2] = PKT_IPLEN >> 8;
	ip[3] = PKT_IPLEN & 0xff;
	ip[8] = 64;
	ip[9] = 17; /* UDP */
	ip[12] = CUST_SRC >> 24;
	ip[13] = CUST_SRC >> 16 & 0xff;
	ip[14] = CUST_SRC >> 8 & 0xff;
	ip[15] = CUST_SRC & 0xff;
	memcpy(ip + 16, "\x08\x08\x08\x08", 4);
	c = csum16(ip, 20);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	ip[20] = 0x30; /* UDP 12345 -> 5001, length, checksum 0 */
	ip[21] = 0x39;
	ip[22] = 0x13;
	ip[23] = 0x89;
	ip[24] = (PKT_IPLEN - 20) >> 8;
	ip[25] = (PKT_IPLEN - 20) & 0xff;
}

struct worker {
	pthread_t th;
	int cpu;
	int err;
	uint64_t runs;
	uint64_t cpu_ns; /* this thread's CPU time over the run */
	__u32 last_retval;
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct xdp_md ctx = {.data = 0, .data_end = sizeof(frame), .ingress_ifindex = ifindex_lo};
	uint8_t out[sizeof(frame) + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame),
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = RUN_REPEAT);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		w->err = -EINVAL;
	pthread_barrier_wait(&start_line);
	w->cpu_ns = thread_cpu_ns();
	while (!w->err && !__atomic_load_n(&stop_flag, __ATOMIC_RELAXED)) {
		opts.data_size_out = sizeof(out);
		if (bpf_prog_test_run_opts(maps.prog, &opts))
			w->err = -errno;
		w->last_retval = opts.retval;
		w->runs++;
	}
	w->cpu_ns = thread_cpu_ns() - w->cpu_ns;
	return NULL;
}

static int set_iface(void)
{
	struct tg_iface v = {.role = TG_ROLE_CUSTOMER, .antispoof = TG_AS_STRICT, .slot = 0};
	__u32 key = ifindex_lo;

	v.ifindex = ifindex_lo;
	snprintf(v.name, sizeof(v.name), "lo");
	return bpf_map_update_elem(maps.ifaces, &key, &v, BPF_ANY) ? -errno : 0;
}

/* Load the one customer, policed at rate_bps / burst in upload. Its TAT starts at 0. */
static int load_customer(uint64_t rate_bps, uint64_t burst, uint32_t *idx)
{
	static struct tg_prefix pfx[1];
	static struct tg_customer cu[1];
	static struct tg_plan plan[1];
	static struct tg_iface_cfg ifc[1];
	struct tg_cfg cfg = {};
	struct tg_errs errs = {};
	char err[128];
	int ret;

	memset(plan, 0, sizeof(plan));
	memset(cu, 0, sizeof(cu));
	snprintf(plan[0].name, sizeof(plan[0].name), "contend");
	plan[0].dir[TG_DIR_UP].rate_bps = rate_bps;
	plan[0].dir[TG_DIR_UP].burst_bytes = burst;
	snprintf(ifc[0].name, sizeof(ifc[0].name), "lo");
	snprintf(cu[0].id, sizeof(cu[0].id), CUST_ID);
	cu[0].plan = 0;
	cu[0].vlan = TG_VLAN_UNTAGGED;
	cu[0].ivlan = TG_VLAN_UNTAGGED;
	cu[0].line = 2;
	cu[0].dir[TG_DIR_UP] = plan[0].dir[TG_DIR_UP];
	snprintf(cu[0].iface, sizeof(cu[0].iface), "lo");
	if (tg_parse_prefix(CUST_PFX, &pfx[0], err, sizeof(err)))
		return -EINVAL;
	cu[0].pfx = pfx;
	cu[0].npfx = 1;
	cfg.path = "test_contend";
	cfg.plans = plan;
	cfg.nplans = 1;
	cfg.ifaces = ifc;
	cfg.nifaces = 1;
	cfg.customers = cu;
	cfg.ncustomers = 1;
	cfg.max_customers = 16;
	cfg.max_prefixes = 16;
	ret = tg_sync_customers(&maps, &cfg, NULL, NULL, &errs);
	for (size_t i = 0; ret && i < errs.n; i++)
		fprintf(stderr, "  %s\n", errs.msg[i]);
	tg_errs_free(&errs);
	if (ret)
		return ret;
	*idx = tg_find_customer(&maps, CUST_ID);
	return *idx == TG_CUST_NONE ? -ENOENT : 0;
}

static int passed_bytes(uint32_t idx, uint64_t *bytes, uint64_t *pkts)
{
	struct tg_cstat *pc = calloc(maps.ncpus, sizeof(*pc));
	int err = 0;

	if (!pc)
		return -ENOMEM;
	*bytes = *pkts = 0;
	if (bpf_map_lookup_elem(maps.cstat, &idx, pc))
		err = -errno;
	for (int c = 0; !err && c < maps.ncpus; c++) {
		*bytes += pc[c].bytes[TG_DIR_UP];
		*pkts += pc[c].pkts[TG_DIR_UP];
	}
	free(pc);
	return err;
}

static void run_case(const char *desc, uint64_t rate_bps, uint64_t burst, int ncpu)
{
	struct worker w[MAX_THREADS] = {};
	uint64_t tick = tg_coarse_tick_ns(), t0, t1, bytes, pkts, b0, p0, runs = 0, eff_burst,
		 expect_hi, expect_lo, elapsed, min_cpu = UINT64_MAX;
	struct tg_policer_cfg pc;
	struct tg_rate_cfg rc = {rate_bps, burst, 0, 0};
	uint32_t idx;
	int i, err;

	TEST_BEGIN(desc);
	err = load_customer(rate_bps, burst, &idx);
	CHECK(err == 0);
	if (err)
		return;
	tg_policer_params(&rc, tick, &pc);
	eff_burst = ((unsigned __int128)pc.tol_fns << 8) / pc.ipb_fns16; /* bytes */
	CHECK(passed_bytes(idx, &b0, &p0) == 0);
	usleep((pc.tol_fns >> 8) / 1000 + 2 * tick / 1000); /* the bucket full again */
	stop_flag = 0;
	pthread_barrier_init(&start_line, NULL, ncpu + 1);
	for (i = 0; i < ncpu; i++) {
		w[i].cpu = i;
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i])) {
			fprintf(stderr, "cannot start thread %d\n", i);
			exit(1);
		}
	}
	pthread_barrier_wait(&start_line);
	t0 = coarse_ns();
	usleep(RUN_SECONDS * 1000000);
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
	for (i = 0; i < ncpu; i++) {
		pthread_join(w[i].th, NULL);
		CHECK(w[i].err == 0);
		runs += w[i].runs;
		if (w[i].cpu_ns < min_cpu)
			min_cpu = w[i].cpu_ns;
	}
	t1 = coarse_ns();
	pthread_barrier_destroy(&start_line);
	CHECK(passed_bytes(idx, &bytes, &pkts) == 0);
	bytes -= b0;
	pkts -= p0;
	elapsed = t1 - t0 + tick;
	expect_hi = (uint64_t)(((double)rate_bps / 8 * elapsed / 1e9 + eff_burst) * 1.01);
	expect_lo = (uint64_t)((double)rate_bps / 8 * (t1 - t0) / 1e9 * 0.9);
	printf("  %s: %d CPUs, %.3f s, %llu packets offered, %llu admitted: %llu bytes = "
	       "%.4f x (rate x time + burst %llu B)\n",
	       desc, ncpu, elapsed / 1e9, (unsigned long long)runs * RUN_REPEAT,
	       (unsigned long long)pkts, (unsigned long long)bytes,
	       bytes / ((double)rate_bps / 8 * elapsed / 1e9 + eff_burst),
	       (unsigned long long)eff_burst);
	if (bytes > expect_hi)
		fprintf(stderr, "FAIL %s: admitted %llu bytes, more than %llu (+1%%)\n", desc,
			(unsigned long long)bytes, (unsigned long long)expect_hi);
	CHECK(bytes <= expect_hi);
	/*
	 * The lower bound needs the offered load to be there all the time: a thread that other
	 * work kept off its CPU leaves the bucket full and its refill lost, which is the
	 * policer working. Checked only when every thread ran >= 90% of the time.
	 */
	if (min_cpu * 10 < (t1 - t0) * 9) {
		printf("  %s: lower bound not checked: a thread ran only %.0f%% of the time (the "
		       "CPUs were busy elsewhere)\n",
		       desc, 100.0 * min_cpu / (t1 - t0));
		return;
	}
	if (bytes < expect_lo)
		fprintf(stderr, "FAIL %s: admitted %llu bytes, less than %llu (90%% of the rate)\n",
			desc, (unsigned long long)bytes, (unsigned long long)expect_lo);
	CHECK(bytes >= expect_lo);
}

int main(int argc, char **argv)
{
	struct tg_capacity cap = {.max_customers = 16, .max_prefixes = 16};
	int ncpu = libbpf_num_possible_cpus(), online = sysconf(_SC_NPROCESSORS_ONLN), err;

	(void)argv;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1) {
		fprintf(stderr, "usage: test_contend\n");
		return 2;
	}
	if (geteuid() != 0) {
		printf("SKIP test_contend: needs root (BPF_PROG_TEST_RUN, network namespace)\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET)) {
		printf("SKIP test_contend: cannot create a network namespace: %s\n",
		       strerror(errno));
		return 77;
	}
	ifindex_lo = if_nametoindex("lo");
	if (online < ncpu)
		ncpu = online;
	if (ncpu > MAX_THREADS)
		ncpu = MAX_THREADS;
	if (ncpu < 2)
		printf("NOTE: one CPU online: the bounds are checked without contention\n");
	build_frame();
	err = tg_maps_open(NULL, &cap, true, &maps);
	if (!err)
		err = set_iface();
	if (err) {
		fprintf(stderr, "FAIL setup: %s\n", strerror(-err));
		return 1;
	}
	/* 1 Gbit/s: ~5000 100-byte packets a 4 ms tick; 100 Mbit/s: ~500 */
	run_case("contend: 100 Mbit/s, 100-byte packets on every CPU", 100000000ull, 64000, ncpu);
	run_case("contend: 1 Gbit/s, 100-byte packets on every CPU", 1000000000ull, 256000, ncpu);
	tg_maps_close(&maps);
	return test_summary();
}
