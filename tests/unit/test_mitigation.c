// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_mitigation.c - upstream mitigation over BGP (user/mitigation/): announcements,
 * their keys, the safety policy and the difference to apply (pure), then the GoBGP
 * adapter against real daemons: gobgpd (Tollgate's speaker) in one network namespace
 * peers over a veth with FRR's bgpd (the transit) in another, and the test reads FRR's
 * RIB with vtysh: the blackhole /32 with 65535:666, the FlowSpec rule, both gone after a
 * withdraw; reconciling after gobgpd restarts. The lab part needs root, gobgpd, gobgp
 * and FRR (SKIP, exit 77, without them).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mitigation/mitigation.h"
#include "testlib.h"

static struct tg_mit_policy pol = {
	.v4_len = 32,
	.v6_len = 128,
	.max_active = 16,
	.comms = {"64512:100", "64512:200"},
	.ncomms = 2,
	.next_hop4 = "192.0.2.1",
	.next_hop6 = "100::1",
};

/* The customers' space in these tests: 198.51.100.0/24 and 2001:db8:1::/48. */
static bool inside(void *ctx, const struct tg_mit *m)
{
	(void)ctx;
	if (m->family == AF_INET)
		return m->addr[0] == 198 && m->addr[1] == 51 && m->addr[2] == 100 && m->plen >= 24;
	return !memcmp(m->addr, "\x20\x01\x0d\xb8\x00\x01", 6) && m->plen >= 48;
}

static int parse(struct tg_mit *m, const char *kind, const char *addr, const char *proto,
		 const char *ports, uint64_t rate, char *err)
{
	return tg_mit_parse(m, kind, addr, proto, ports, rate, &pol, err, 256);
}

static void test_pure(void)
{
	struct tg_mit m, a, b, want[3], have[3];
	char err[256], k[TG_MIT_KEY_LEN];
	bool ann[3], wd[3];

	TEST_BEGIN("parse: a host gets the policy's length; the key is canonical");
	CHECK(parse(&m, "blackhole", "198.51.100.7", NULL, NULL, 0, err) == 0);
	CHECK(!strcmp(tg_mit_key(&m, k), "blackhole 198.51.100.7/32"));
	CHECK(parse(&a, "flowspec", "198.51.100.7", "udp", "123,53,123", 10000000, err) == 0);
	CHECK(parse(&b, "flowspec", "198.51.100.7/32", "17", "53,123", 10000000, err) == 0);
	CHECK(!strcmp(tg_mit_key(&a, k),
		      "flowspec 198.51.100.7/32 proto 17 sport 53,123 rate 10000000"));
	CHECK(!strcmp(tg_mit_key(&a, k), tg_mit_key(&b, err)));
	CHECK(parse(&m, "flowspec", "2001:db8:1::7", NULL, NULL, 0, err) == 0);
	CHECK(!strcmp(tg_mit_key(&m, k), "flowspec 2001:db8:1::7/128 discard"));

	TEST_BEGIN("parse: every bad word is refused with a reason");
	CHECK(parse(&m, "nullroute", "198.51.100.7", NULL, NULL, 0, err) == -EINVAL);
	CHECK_STR_CONTAINS(err, "blackhole or flowspec");
	CHECK(parse(&m, "blackhole", "198.51.100.300", NULL, NULL, 0, err) == -EINVAL);
	CHECK(parse(&m, "blackhole", "198.51.100.7/33", NULL, NULL, 0, err) == -EINVAL);
	CHECK(parse(&m, "blackhole", "198.51.100.7/", NULL, NULL, 0, err) == -EINVAL);
	CHECK(parse(&m, "blackhole", NULL, NULL, NULL, 0, err) == -EINVAL);
	CHECK(parse(&m, "blackhole", "198.51.100.7", "udp", NULL, 0, err) == -EINVAL);
	CHECK_STR_CONTAINS(err, "for flowspec");
	CHECK(parse(&m, "flowspec", "198.51.100.7", "icmp", "53", 0, err) == -EINVAL);
	CHECK_STR_CONTAINS(err, "tcp or udp");
	CHECK(parse(&m, "flowspec", "198.51.100.7", "udp", "1,2,3,4,5,6,7,8,9", 0, err) == -EINVAL);
	CHECK(parse(&m, "flowspec", "198.51.100.7", "udp", "0", 0, err) == -EINVAL);
	CHECK(parse(&m, "flowspec", "198.51.100.7", "udp", "65536", 0, err) == -EINVAL);
	CHECK(parse(&m, "flowspec", "198.51.100.7", "udp", "53,,54", 0, err) == -EINVAL);
	CHECK(parse(&m, "flowspec", "198.51.100.7", "sctpx", NULL, 0, err) == -EINVAL);
	CHECK(parse(&m, "flowspec", "198.51.100.7", "256", NULL, 0, err) == -EINVAL);

	TEST_BEGIN("rates: kept to what FlowSpec's 32-bit float carries exactly");
	CHECK(parse(&m, "flowspec", "198.51.100.7", NULL, NULL, 1000000007ull, err) == 0);
	CHECK(m.rate_bps % 8 == 0);
	CHECK((uint64_t)(float)(m.rate_bps / 8) == m.rate_bps / 8);
	CHECK(m.rate_bps > 999000000ull && m.rate_bps < 1001000000ull);

	TEST_BEGIN("policy: never outside the customers' space, never shorter than configured");
	CHECK(parse(&m, "blackhole", "198.51.100.7", NULL, NULL, 0, err) == 0);
	CHECK(tg_mit_check(&m, &pol, inside, NULL, err, sizeof(err)) == 0);
	CHECK(parse(&m, "blackhole", "203.0.113.7", NULL, NULL, 0, err) == 0);
	CHECK(tg_mit_check(&m, &pol, inside, NULL, err, sizeof(err)) == -EPERM);
	CHECK_STR_CONTAINS(err, "outside the customers' own space");
	CHECK(parse(&m, "blackhole", "198.51.100.0/24", NULL, NULL, 0, err) == 0);
	CHECK(tg_mit_check(&m, &pol, inside, NULL, err, sizeof(err)) == -EPERM);
	CHECK_STR_CONTAINS(err, "shorter than /32");
	CHECK(parse(&m, "flowspec", "2001:db8:1::/64", NULL, NULL, 0, err) == 0);
	CHECK(tg_mit_check(&m, &pol, inside, NULL, err, sizeof(err)) == -EPERM);
	CHECK(parse(&m, "blackhole", "2001:db8:2::7", NULL, NULL, 0, err) == 0);
	CHECK(tg_mit_check(&m, &pol, inside, NULL, err, sizeof(err)) == -EPERM);
	CHECK(tg_mit_check(&m, &pol, NULL, NULL, err, sizeof(err)) == -EPERM);
	{
		struct tg_mit_policy p2 = pol;

		p2.next_hop6[0] = '\0';
		CHECK(parse(&m, "blackhole", "2001:db8:1::7", NULL, NULL, 0, err) == 0);
		CHECK(tg_mit_check(&m, &p2, inside, NULL, err, sizeof(err)) == -EINVAL);
		CHECK_STR_CONTAINS(err, "next hop");
		p2.v6_len =
			64; /* a configured length longer than... /64 itself is refused by config */
		CHECK(tg_mit_parse(&m, "blackhole", "2001:db8:1:2::7", NULL, NULL, 0, &p2, err,
				   sizeof(err)) == 0);
		CHECK(m.plen == 64);
		CHECK(!strcmp(tg_mit_key(&m, k), "blackhole 2001:db8:1:2::/64"));
	}

	TEST_BEGIN("diff: withdraw what should not be, announce what is missing");
	parse(&want[0], "blackhole", "198.51.100.7", NULL, NULL, 0, err);
	parse(&want[1], "flowspec", "198.51.100.8", "udp", "123", 0, err);
	parse(&want[2], "flowspec", "198.51.100.9", NULL, NULL, 8000, err);
	parse(&have[0], "flowspec", "198.51.100.8", "udp", "123", 0, err);
	parse(&have[1], "flowspec", "198.51.100.9", NULL, NULL, 16000, err); /* other rate */
	parse(&have[2], "blackhole", "198.51.100.10", NULL, NULL, 0, err);
	tg_mit_diff(want, 3, have, 3, ann, wd);
	CHECK(ann[0] && !ann[1] && ann[2]);
	CHECK(!wd[0] && wd[1] && wd[2]);
	tg_mit_diff(want, 3, want, 3, ann, wd);
	CHECK(!ann[0] && !ann[1] && !ann[2] && !wd[0] && !wd[1] && !wd[2]);
}

/* ---- the lab: gobgpd <-> FRR ---- */

static char ns_r[32], ns_t[32], vr[16], vt[16], dir[64], target[128];
static pid_t gobgpd_pid, bgpd_pid;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* stdout of a shell command, malloc()ed. */
static char *capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *capture(const char *fmt, ...)
{
	char cmd[2048], *buf = NULL;
	size_t len = 0;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return NULL;
	{
		FILE *m = open_memstream(&buf, &len);
		char b[4096];
		size_t n;

		while ((n = fread(b, 1, sizeof(b), f)) > 0)
			fwrite(b, 1, n, m);
		fclose(m);
	}
	pclose(f);
	return buf;
}

static pid_t spawn_in(const char *ns, const char *log, char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		char nspath[96];
		FILE *l = fopen(log, "w");

		if (l) {
			dup2(fileno(l), 1);
			dup2(fileno(l), 2);
		}
		snprintf(nspath, sizeof(nspath), "--net=/run/netns/%s", ns);
		execlp("nsenter", "nsenter", nspath, "--", argv[0], argv[1], argv[2], argv[3],
		       argv[4], argv[5], argv[6], argv[7], argv[8], argv[9], argv[10], argv[11],
		       argv[12], argv[13], argv[14], argv[15], (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		for (int i = 0; i < 50 && waitpid(*pid, NULL, WNOHANG) == 0; i++)
			usleep(100000);
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

static void start_gobgpd(void)
{
	char conf[128], log[128], api[160];
	char *argv[16] = {"gobgpd", "-f", conf, "--api-hosts", api, "-p", "--pprof-disable", NULL};

	snprintf(conf, sizeof(conf), "%s/gobgpd.toml", dir);
	snprintf(log, sizeof(log), "%s/gobgpd.log", dir);
	snprintf(api, sizeof(api), "unix://%s/gobgp.sock", dir);
	gobgpd_pid = spawn_in(ns_r, log, argv);
}

static void teardown(void)
{
	stop(&gobgpd_pid);
	stop(&bgpd_pid);
	if (*ns_r)
		sh("ip netns del %s 2>/dev/null", ns_r);
	if (*ns_t)
		sh("ip netns del %s 2>/dev/null", ns_t);
	if (*dir && !getenv("TG_KEEP"))
		tl_rmtree(dir);
}

static void on_signal(int sig)
{
	(void)sig;
	teardown();
	_exit(1);
}

static int lab_up(void)
{
	char p[160], log[128];
	char *argv[16] = {"/usr/lib/frr/bgpd",
			  "-f",
			  p,
			  "-Z",
			  "-S",
			  "-n",
			  "--vty_socket",
			  dir,
			  "-l",
			  "10.255.0.2",
			  "-u",
			  "root",
			  "-g",
			  "root",
			  "-i",
			  log};
	snprintf(ns_r, sizeof(ns_r), "tgmitR%d", getpid());
	snprintf(ns_t, sizeof(ns_t), "tgmitT%d", getpid());
	snprintf(vr, sizeof(vr), "tgmr%d", getpid() % 100000);
	snprintf(vt, sizeof(vt), "tgmt%d", getpid() % 100000);
	snprintf(dir, sizeof(dir), "/tmp/tg-mit-%d", getpid());
	if (mkdir(dir, 0700))
		return -errno;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (sh("ip netns add %s && ip netns add %s && ip link add %s type veth peer name %s && "
	       "ip link set %s netns %s && ip link set %s netns %s && "
	       "ip -n %s addr add 10.255.0.1/30 dev %s && ip -n %s link set %s up && "
	       "ip -n %s link set lo up && ip -n %s addr add 10.255.0.2/30 dev %s && "
	       "ip -n %s link set %s up && ip -n %s link set lo up",
	       ns_r, ns_t, vr, vt, vr, ns_r, vt, ns_t, ns_r, vr, ns_r, vr, ns_r, ns_t, vt, ns_t, vt,
	       ns_t))
		return -EIO;
	snprintf(p, sizeof(p), "%s/gobgpd.toml", dir);
	tl_write_file(p,
		      "[global.config]\n  as = 64512\n  router-id = \"10.255.0.1\"\n"
		      "  local-address-list = [\"10.255.0.1\"]\n"
		      "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"10.255.0.2\"\n"
		      "    peer-as = 65001\n"
		      "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n"
		      "      afi-safi-name = \"ipv4-unicast\"\n"
		      "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n"
		      "      afi-safi-name = \"ipv4-flowspec\"\n");
	snprintf(p, sizeof(p), "%s/bgpd.conf", dir);
	tl_write_file(p, "hostname transit\nrouter bgp 65001\n bgp router-id 10.255.0.2\n"
			 " no bgp ebgp-requires-policy\n neighbor 10.255.0.1 remote-as 64512\n"
			 " address-family ipv4 unicast\n  neighbor 10.255.0.1 activate\n"
			 " exit-address-family\n address-family ipv4 flowspec\n"
			 "  neighbor 10.255.0.1 activate\n exit-address-family\n"
			 " address-family ipv6 unicast\n  neighbor 10.255.0.1 activate\n"
			 " exit-address-family\n address-family ipv6 flowspec\n"
			 "  neighbor 10.255.0.1 activate\n exit-address-family\n");
	snprintf(log, sizeof(log), "%s/bgpd.pid", dir);
	snprintf(p, sizeof(p), "%s/bgpd.conf", dir);
	{
		char blog[128];

		snprintf(blog, sizeof(blog), "%s/bgpd.log", dir);
		bgpd_pid = spawn_in(ns_t, blog, argv);
	}
	start_gobgpd();
	snprintf(target, sizeof(target), "unix://%s/gobgp.sock", dir);
	return 0;
}

/* Wait (up to ms) for the session to be established; the time it took, or -1. */
static long wait_session(struct tg_bgp *b, int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct tg_bgp_peer *p = NULL;
		size_t n = 0;
		char err[256];
		bool up = b->ops->peers(b->ctx, &p, &n, err, sizeof(err)) == 0 && n == 1 && p[0].up;
		long el;

		free(p);
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (up)
			return el;
		if (el > ms)
			return -1;
		usleep(200000);
	}
}

/* FRR's view: "show bgp ipv4 unicast P json" and "show bgp ipv4 flowspec json". */
static char *frr(const char *cmd)
{
	return capture("vtysh --vty_socket %s -c '%s' 2>&1", dir, cmd);
}

/* Wait up to ms for FRR's answer to cmd to contain (want) or not contain (!want) s. */
static long frr_wait(const char *cmd, const char *s, bool want, int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char *o = frr(cmd);
		bool has = o && strstr(o, s);
		long el;

		free(o);
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (has == want)
			return el;
		if (el > ms)
			return -1;
		usleep(100000);
	}
}

static void test_lab(void)
{
	struct tg_bgp b = {0};
	struct tg_mit want[3], *have = NULL;
	size_t nhave = 0;
	unsigned na, nw;
	char err[512], k[TG_MIT_KEY_LEN];
	long ms;

	TEST_BEGIN("lab: gobgpd peers with FRR");
	CHECK(lab_up() == 0);
	CHECK(tg_bgp_gobgp(&b, NULL, target, 5000) == 0);
	ms = wait_session(&b, 30000);
	CHECK(ms >= 0);
	if (ms < 0)
		return;

	TEST_BEGIN("lab: a blackhole and a FlowSpec rule reach the transit's RIB");
	parse(&want[0], "blackhole", "198.51.100.7", NULL, NULL, 0, err);
	parse(&want[1], "flowspec", "198.51.100.7", "udp", "123,53", 100000000, err);
	parse(&want[2], "flowspec", "198.51.100.8", NULL, NULL, 0, err);
	CHECK(tg_mit_reconcile(&b, &pol, want, 3, &na, &nw, err, sizeof(err)) == 0);
	CHECK(na == 3 && nw == 0);
	ms = frr_wait("show bgp ipv4 unicast 198.51.100.7/32 json", "\"blackhole\"", true, 10000);
	CHECK(ms >= 0);
	printf("  blackhole in FRR's RIB %ld ms after the announcement\n", ms);
	{
		char *o = frr("show bgp ipv4 unicast 198.51.100.7/32 json");

		CHECK_STR_CONTAINS(o, "64512:100");
		CHECK_STR_CONTAINS(o, "64512:200");
		CHECK_STR_CONTAINS(o, "\"192.0.2.1\"");
		free(o);
	}
	CHECK(frr_wait("show bgp ipv4 flowspec detail", "Source Port", true, 10000) >= 0);
	{
		char *o = frr("show bgp ipv4 flowspec detail");

		CHECK_STR_CONTAINS(o, "Destination Address 198.51.100.7/32");
		CHECK_STR_CONTAINS(o, "IP Protocol = 17");
		CHECK_STR_CONTAINS(o, "FS:rate 12500000");
		CHECK_STR_CONTAINS(o, "Destination Address 198.51.100.8/32");
		CHECK_STR_CONTAINS(o, "FS:rate 0.0");
		CHECK_STR_CONTAINS(o, "Displayed  2 flowspec entries");
		free(o);
	}

	TEST_BEGIN(
		"lab: IPv6: a /128 blackhole and a FlowSpec rule in gobgpd, read back, withdrawn");
	{
		struct tg_mit v6[5];

		memcpy(v6, want, sizeof(want));
		parse(&v6[3], "blackhole", "2001:db8:1::7", NULL, NULL, 0, err);
		parse(&v6[4], "flowspec", "2001:db8:1::7", "udp", "53", 0, err);
		CHECK(tg_mit_reconcile(&b, &pol, v6, 5, &na, &nw, err, sizeof(err)) == 0);
		CHECK(na == 2 && nw == 0);
		/* in gobgpd's RIB (read back below); not checked at the transit: FRR 8.4 over
		 * this IPv4 session does not show them reliably (docs/mitigation.md) */
		CHECK(b.ops->list(b.ctx, &have, &nhave, err, sizeof(err)) == 0);
		CHECK(nhave == 5);
		free(have);
		have = NULL;
		/* back to the three IPv4 ones: the two IPv6 ones are withdrawn */
		CHECK(tg_mit_reconcile(&b, &pol, want, 3, &na, &nw, err, sizeof(err)) == 0);
		CHECK(na == 0 && nw == 2);
	}

	TEST_BEGIN("lab: what gobgpd carries reads back with the keys it was announced with");
	CHECK(b.ops->list(b.ctx, &have, &nhave, err, sizeof(err)) == 0);
	CHECK(nhave == 3);
	{
		bool ann[3], wd[3];

		tg_mit_diff(want, 3, have, nhave > 3 ? 3 : nhave, ann, wd);
		CHECK(!ann[0] && !ann[1] && !ann[2]);
		for (size_t i = 0; i < nhave && i < 3; i++)
			if (wd[i])
				fprintf(stderr, "  unexpected: %s\n", tg_mit_key(&have[i], k));
	}
	free(have);
	CHECK(tg_mit_reconcile(&b, &pol, want, 3, &na, &nw, err, sizeof(err)) == 0);
	CHECK(na == 0 && nw == 0); /* nothing to do: idempotent */

	TEST_BEGIN("lab: gobgpd restarted (its RIB lost): reconciling announces it all again");
	stop(&gobgpd_pid);
	CHECK(frr_wait("show bgp ipv4 unicast 198.51.100.7/32 json", "\"blackhole\"", false,
		       15000) >= 0);
	start_gobgpd();
	CHECK(wait_session(&b, 30000) >= 0);
	CHECK(tg_mit_reconcile(&b, &pol, want, 3, &na, &nw, err, sizeof(err)) == 0);
	CHECK(na == 3 && nw == 0);
	CHECK(frr_wait("show bgp ipv4 unicast 198.51.100.7/32 json", "\"blackhole\"", true,
		       10000) >= 0);

	TEST_BEGIN("lab: what should not be announced is withdrawn, also if added behind our back");
	CHECK(sh("gobgp --target %s global rib -a ipv4 add 198.51.100.99/32 nexthop 192.0.2.1 "
		 "community 65535:666 >/dev/null",
		 target) == 0);
	CHECK(frr_wait("show bgp ipv4 unicast 198.51.100.99/32 json", "\"blackhole\"", true,
		       10000) >= 0);
	CHECK(tg_mit_reconcile(&b, &pol, want + 1, 1, &na, &nw, err, sizeof(err)) == 0);
	CHECK(na == 0 && nw == 3);
	CHECK(frr_wait("show bgp ipv4 unicast 198.51.100.99/32 json", "\"blackhole\"", false,
		       10000) >= 0);
	CHECK(frr_wait("show bgp ipv4 unicast 198.51.100.7/32 json", "\"blackhole\"", false,
		       10000) >= 0);
	CHECK(frr_wait("show bgp ipv4 flowspec detail", "198.51.100.8/32", false, 10000) >= 0);
	{
		char *o = frr("show bgp ipv4 flowspec detail");

		CHECK_STR_CONTAINS(o, "Destination Address 198.51.100.7/32");
		free(o);
	}

	TEST_BEGIN("lab: gobgpd down: every call fails with the reason, within the timeout");
	stop(&gobgpd_pid);
	{
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK(tg_mit_reconcile(&b, &pol, want, 3, &na, &nw, err, sizeof(err)) < 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		CHECK(t1.tv_sec - t0.tv_sec < 7);
		CHECK(*err);
		printf("  gobgpd down: %s\n", err);
	}
	b.ops->close(b.ctx);
}

int main(void)
{
	test_pure();
	if (geteuid() != 0 || sh("command -v gobgpd >/dev/null && command -v gobgp >/dev/null && "
				 "test -x /usr/lib/frr/bgpd && command -v vtysh >/dev/null")) {
		printf("SKIP the lab: needs root, gobgpd, gobgp and FRR "
		       "(scripts/install-deps.sh)\n");
	} else {
		test_lab();
		teardown();
	}
	return test_summary();
}
