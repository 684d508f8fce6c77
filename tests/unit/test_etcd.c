// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_etcd.c - the etcd v3 client (user/cluster/etcd.c) against a real etcd that the test starts
 * on loopback (random free ports, a temporary data directory): keys and prefixes with
 * arbitrary bytes, compare-and-swap, leases that expire and are kept alive, a watch that
 * delivers every event once and in order across a restart of etcd, endpoint failover, and
 * what a caller sees when etcd is down. SKIP (77) without the etcd binary.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "cluster/etcd.h"
#include "testlib.h"

static char dir[] = "/tmp/tg-etcd-XXXXXX";
static pid_t etcd_pid;
static char client_url[64], dead_url[64];
static int peer_port;

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &l))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int start_etcd(void)
{
	char peer[64], logf[128], data[128];
	struct tg_etcd_cfg cfg = {.nendpoints = 1};
	const char *ep[1] = {client_url};
	struct tg_etcd *e = NULL;
	char err[256];

	cfg.endpoints = ep;
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", peer_port);
	snprintf(logf, sizeof(logf), "%s/etcd.log", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	etcd_pid = fork();
	if (etcd_pid == 0) {
		int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0600);
		char init[128];

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		snprintf(init, sizeof(init), "t=%s", peer);
		execlp("etcd", "etcd", "--name", "t", "--data-dir", data, "--listen-client-urls",
		       client_url, "--advertise-client-urls", client_url, "--listen-peer-urls",
		       peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", init,
		       "--log-level", "warn", (char *)NULL);
		_exit(127);
	}
	if (etcd_pid < 0 || tg_etcd_open(&cfg, &e, err, sizeof(err)))
		return -1;
	for (int i = 0; i < 100; i++) { /* up to 10 s */
		struct tg_etcd_kvs k;

		if (!tg_etcd_range(e, "/probe", false, 0, &k)) {
			tg_etcd_kvs_free(&k);
			tg_etcd_close(e);
			return 0;
		}
		usleep(100000);
	}
	tg_etcd_close(e);
	return -1;
}

static void stop_etcd(void)
{
	if (etcd_pid > 0) {
		kill(etcd_pid, SIGTERM);
		waitpid(etcd_pid, NULL, 0);
		etcd_pid = 0;
	}
}

/* Wait up to ms for the watch's descriptor, then take one event. */
static int next_event(struct tg_etcd_watch *w, struct tg_etcd_event *ev, int ms)
{
	struct pollfd p = {.fd = tg_etcd_watch_fd(w), .events = POLLIN};

	if (tg_etcd_watch_next(w, ev) == 1)
		return 1;
	if (poll(&p, 1, ms) <= 0)
		return 0;
	return tg_etcd_watch_next(w, ev);
}

static void test_kv(struct tg_etcd *e)
{
	static const char bin[] = {'a', 0, '\n', (char)0xff, '"', '\\'};
	struct tg_etcd_kvs k;
	int64_t r1 = 0, r2 = 0, r3 = 0;

	TEST_BEGIN("put and get a key; values are bytes (NUL, newline, 0xff, quotes)");
	CHECK(tg_etcd_put(e, "/tg/nodes/a", "{\"x\":1}", 7, 0, &r1) == 0 && r1 > 0);
	CHECK(tg_etcd_put(e, "/tg/bin", bin, sizeof(bin), 0, NULL) == 0);
	CHECK(tg_etcd_range(e, "/tg/nodes/a", false, 0, &k) == 0);
	CHECK(k.n == 1 && !strcmp(k.kv[0].key, "/tg/nodes/a") && k.kv[0].vlen == 7 &&
	      !strcmp(k.kv[0].value, "{\"x\":1}") && k.kv[0].mod_rev == r1 && k.rev >= r1);
	tg_etcd_kvs_free(&k);
	CHECK(tg_etcd_range(e, "/tg/bin", false, 0, &k) == 0);
	CHECK(k.n == 1 && k.kv[0].vlen == sizeof(bin) && !memcmp(k.kv[0].value, bin, sizeof(bin)));
	tg_etcd_kvs_free(&k);

	TEST_BEGIN("a prefix range returns every key under it and nothing beside it");
	CHECK(tg_etcd_put(e, "/tg/nodes/b", "2", 1, 0, NULL) == 0);
	CHECK(tg_etcd_put(e, "/tg/nodes0", "x", 1, 0, NULL) == 0); /* beside the prefix */
	CHECK(tg_etcd_range(e, "/tg/nodes/", true, 0, &k) == 0);
	CHECK(k.n == 2 && !strcmp(k.kv[0].key, "/tg/nodes/a") &&
	      !strcmp(k.kv[1].key, "/tg/nodes/b"));
	tg_etcd_kvs_free(&k);
	CHECK(tg_etcd_range(e, "/tg/none/", true, 0, &k) == 0 && k.n == 0);
	tg_etcd_kvs_free(&k);

	TEST_BEGIN("compare-and-swap: written on the expected revision, refused on another");
	CHECK(tg_etcd_cas(e, "/tg/state/c1", "s1", 2, 0, 0, &r2) == 1);	 /* must not exist */
	CHECK(tg_etcd_cas(e, "/tg/state/c1", "s2", 2, 0, 0, NULL) == 0); /* it exists now */
	CHECK(tg_etcd_cas(e, "/tg/state/c1", "s3", 2, r2, 0, &r3) == 1 && r3 > r2);
	CHECK(tg_etcd_cas(e, "/tg/state/c1", "s4", 2, r2, 0, NULL) == 0); /* stale revision */
	CHECK(tg_etcd_range(e, "/tg/state/c1", false, 0, &k) == 0 && k.n == 1 &&
	      !strcmp(k.kv[0].value, "s3"));
	tg_etcd_kvs_free(&k);

	TEST_BEGIN("delete a prefix");
	CHECK(tg_etcd_delete(e, "/tg/nodes/", true, NULL) == 0);
	CHECK(tg_etcd_range(e, "/tg/nodes/", true, 0, &k) == 0 && k.n == 0);
	tg_etcd_kvs_free(&k);
	CHECK(tg_etcd_range(e, "/tg/nodes0", false, 0, &k) == 0 && k.n == 1);
	tg_etcd_kvs_free(&k);
}

static void test_lease(struct tg_etcd *e)
{
	struct tg_etcd_kvs k;
	int64_t id = 0, id2 = 0, ttl = 0;

	TEST_BEGIN("a key under a lease goes when the lease expires");
	CHECK(tg_etcd_lease_grant(e, 2, &id) == 0 && id != 0);
	CHECK(tg_etcd_put(e, "/tg/reg/n1", "up", 2, id, NULL) == 0);
	CHECK(tg_etcd_range(e, "/tg/reg/n1", false, 0, &k) == 0 && k.n == 1 && k.kv[0].lease == id);
	tg_etcd_kvs_free(&k);
	sleep(4);
	CHECK(tg_etcd_range(e, "/tg/reg/n1", false, 0, &k) == 0 && k.n == 0);
	tg_etcd_kvs_free(&k);
	CHECK(tg_etcd_lease_keepalive(e, id, &ttl) == -ENOENT && ttl == 0);

	TEST_BEGIN("a lease kept alive keeps its key; revoked, the key goes at once");
	CHECK(tg_etcd_lease_grant(e, 2, &id2) == 0);
	CHECK(tg_etcd_put(e, "/tg/reg/n2", "up", 2, id2, NULL) == 0);
	for (int i = 0; i < 4; i++) {
		sleep(1);
		CHECK(tg_etcd_lease_keepalive(e, id2, &ttl) == 0 && ttl > 0);
	}
	CHECK(tg_etcd_range(e, "/tg/reg/n2", false, 0, &k) == 0 && k.n == 1);
	tg_etcd_kvs_free(&k);
	CHECK(tg_etcd_lease_revoke(e, id2) == 0);
	CHECK(tg_etcd_range(e, "/tg/reg/n2", false, 0, &k) == 0 && k.n == 0);
	tg_etcd_kvs_free(&k);
}

static void test_watch(struct tg_etcd *e, const struct tg_etcd_cfg *cfg)
{
	struct tg_etcd_watch *w = NULL;
	struct tg_etcd_event ev;
	int64_t rev = 0, last = 0;
	int got = 0, inorder = 1, i;
	char key[64];

	TEST_BEGIN("watch: puts and deletes under the prefix, in order, nothing beside it");
	CHECK(tg_etcd_watch_start(cfg, "/tg/w/", true, 0, &w) == 0);
	if (!w)
		return;
	usleep(300000);
	CHECK(tg_etcd_put(e, "/tg/w/a", "1", 1, 0, &rev) == 0);
	CHECK(tg_etcd_put(e, "/tg/other", "x", 1, 0, NULL) == 0);
	CHECK(tg_etcd_delete(e, "/tg/w/a", false, NULL) == 0);
	CHECK(next_event(w, &ev, 3000) == 1 && ev.type == TG_ETCD_PUT &&
	      !strcmp(ev.kv.key, "/tg/w/a") && !strcmp(ev.kv.value, "1") && ev.rev == rev);
	tg_etcd_event_free(&ev);
	CHECK(next_event(w, &ev, 3000) == 1 && ev.type == TG_ETCD_DELETE &&
	      !strcmp(ev.kv.key, "/tg/w/a") && ev.rev > rev);
	last = ev.rev;
	tg_etcd_event_free(&ev);
	CHECK(next_event(w, &ev, 300) == 0);
	CHECK(tg_etcd_watch_up(w));

	TEST_BEGIN("watch: across a restart of etcd, every event once and in order");
	stop_etcd();
	usleep(300000);
	CHECK(!tg_etcd_watch_up(w));
	CHECK(start_etcd() == 0);
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "/tg/w/k%02d", i);
		CHECK(tg_etcd_put(e, key, "v", 1, 0, NULL) == 0);
	}
	while (got < 50 && next_event(w, &ev, 5000) == 1) {
		snprintf(key, sizeof(key), "/tg/w/k%02d", got);
		if (ev.type != TG_ETCD_PUT || strcmp(ev.kv.key, key) || ev.rev <= last)
			inorder = 0;
		last = ev.rev;
		got++;
		tg_etcd_event_free(&ev);
	}
	CHECK(got == 50 && inorder);
	CHECK(next_event(w, &ev, 300) == 0);

	TEST_BEGIN("watch: from a revision, the history since then first");
	tg_etcd_watch_stop(w);
	w = NULL;
	CHECK(tg_etcd_watch_start(cfg, "/tg/w/k00", false, rev, &w) == 0);
	CHECK(w && next_event(w, &ev, 3000) == 1 && ev.type == TG_ETCD_PUT &&
	      !strcmp(ev.kv.key, "/tg/w/k00"));
	if (w) {
		tg_etcd_event_free(&ev);
		tg_etcd_watch_stop(w);
	}
}

static void test_failover(const struct tg_etcd_cfg *good)
{
	const char *eps[2] = {dead_url, client_url}, *dead[1] = {dead_url};
	struct tg_etcd_cfg cfg = *good, cfgd = *good;
	struct tg_etcd *e = NULL, *d = NULL;
	struct timespec t0, t1;
	struct tg_etcd_kvs k;
	char err[256];
	int rc;

	TEST_BEGIN("an endpoint that cannot be reached is passed over for the next");
	cfg.endpoints = eps;
	cfg.nendpoints = 2;
	CHECK(tg_etcd_open(&cfg, &e, err, sizeof(err)) == 0);
	if (e) {
		CHECK(tg_etcd_put(e, "/tg/f", "1", 1, 0, NULL) == 0);
		CHECK(!strcmp(tg_etcd_endpoint(e), client_url));
		tg_etcd_close(e);
	}

	TEST_BEGIN("etcd down: an error with the endpoint's name, within the timeout");
	cfgd.endpoints = dead;
	cfgd.nendpoints = 1;
	cfgd.timeout_ms = 500;
	CHECK(tg_etcd_open(&cfgd, &d, err, sizeof(err)) == 0);
	if (d) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = tg_etcd_range(d, "/tg/f", false, 0, &k);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		CHECK(rc < 0);
		CHECK_STR_CONTAINS(tg_etcd_error(d), dead_url);
		CHECK((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 1500);
		tg_etcd_close(d);
	}
}

int main(void)
{
	const char *ep[1] = {client_url};
	struct tg_etcd_cfg cfg = {.endpoints = ep, .nendpoints = 1};
	struct tg_etcd *e = NULL;
	char err[256];

	if (system("command -v etcd >/dev/null 2>&1")) {
		printf("SKIP test_etcd: no etcd binary (Debian: etcd-server)\n");
		return 77;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(client_url, sizeof(client_url), "http://127.0.0.1:%d", free_port());
	snprintf(dead_url, sizeof(dead_url), "http://127.0.0.1:%d", free_port());
	peer_port = free_port();
	TEST_BEGIN("etcd starts on loopback");
	CHECK(start_etcd() == 0);
	CHECK(tg_etcd_open(&cfg, &e, err, sizeof(err)) == 0);
	if (e && etcd_pid > 0) {
		test_kv(e);
		test_lease(e);
		test_watch(e, &cfg);
		test_failover(&cfg);
	}
	tg_etcd_close(e);
	stop_etcd();
	tl_rmtree(dir);
	return test_summary();
}
