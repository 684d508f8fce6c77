// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_notify.c - the notification outbox (notify.h) against real receivers on loopback:
 * an HTTP server in a thread of this test (127.0.0.1, a port picked free by binding port
 * 0) and an exec hook that is a shell script written here, which records its argv, stdin
 * and environment to files. Each case has a state.db of its own in a mkdtemp directory,
 * removed at the end. Timeouts and backoff are short (100 ms .. 800 ms) so the suite takes
 * seconds.
 */
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "daemon/notify.h"
#include "state/state.h"
#include "testlib.h"

static char tmpdir[64];
static struct tg_statedb *st;
static sqlite3 *db;
static char db_path[192];
static int ncase;

/* testlib prints failures; this suite also says PASS for each case that had none */
static void report_case(void)
{
	if (tl_case && !tl_case_failed)
		printf("PASS %s\n", tl_case);
}

#define BEGIN(name)                                                                                \
	do {                                                                                       \
		report_case();                                                                     \
		TEST_BEGIN(name);                                                                  \
	} while (0)

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The whole file (read to its end: /proc files have no size), or NULL. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t len = 0, cap = 4096, n;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - 1 - len, f)) > 0) {
		len += n;
		if (len == cap - 1) {
			char *b = realloc(buf, cap * 2);

			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = '\0';
	fclose(f);
	return buf;
}

/* A fresh state.db for the next case; the previous one is closed. */
static int fresh_db(void)
{
	char err[256];
	int rc;

	tg_state_close(st);
	st = NULL;
	db = NULL;
	snprintf(db_path, sizeof(db_path), "%s/state-%d.db", tmpdir, ++ncase);
	rc = tg_state_open(db_path, &st, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "tg_state_open: %s\n", err);
		return rc;
	}
	db = tg_state_sqlite(st);
	return 0;
}

/* The event JSON of audit row id, as the enforcement engine builds it; rule NULL: manual. */
static void event_json(char *buf, size_t len, int64_t id, const char *customer, const char *action,
		       const char *rule)
{
	char r[96];

	if (rule)
		snprintf(r, sizeof(r), "\"%s\"", rule);
	else
		snprintf(r, sizeof(r), "null");
	snprintf(buf, len,
		 "{\"id\": \"0190f5c2-1a3b-7000-8000-%012llx\", \"seq\": %lld, "
		 "\"time\": \"2026-11-29T13:00:00Z\", \"customer\": \"%s\", "
		 "\"action\": \"%s\", \"actor\": \"%s%s\", \"rule\": %s, \"reason\": \"spoofed "
		 "sources over 50 pps for 30 s\", \"until\": \"2026-11-29T14:00:00Z\", "
		 "\"monitor\": false, \"evidence\": {\"spoof_pps\": 812, \"window_s\": 30}}",
		 (long long)id, (long long)id, customer, action, rule ? "rule:" : "noc:alice",
		 rule ? rule : "", r);
}

/* The audit row and its outbox rows in one transaction, as the daemon does it. The audit id,
 * or -1. The JSON goes to json (if not NULL). */
static int64_t queue_event(const struct tg_notify_cfg *cfg, const char *customer,
			   const char *action, const char *rule, char *json, size_t len)
{
	char buf[1024];
	int64_t id;
	int rc;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_exec(db,
			 "INSERT INTO audit (ts, customer, action, actor, reason) "
			 "VALUES (1, 'c', 'a', 'x', 'r')",
			 NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	id = sqlite3_last_insert_rowid(db);
	event_json(buf, sizeof(buf), id, customer, action, rule);
	rc = tg_outbox_enqueue(db, cfg, id, buf, tg_now_ms());
	if (rc || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "    tg_outbox_enqueue: %d\n", rc);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (json)
		snprintf(json, len, "%s", buf);
	return id;
}

struct orow {
	bool found;
	int64_t attempts, next_at, delivered_at; /* delivered_at -1: NULL */
	char last_error[512];
	char payload[1024];
};

static struct orow get_row(int64_t audit_id, const char *target)
{
	struct orow r = {.delivered_at = -1};
	sqlite3_stmt *q = NULL;

	if (sqlite3_prepare_v2(db,
			       "SELECT attempts, next_at, delivered_at, last_error, payload "
			       "FROM outbox WHERE audit_id = ?1 AND target = ?2",
			       -1, &q, NULL) != SQLITE_OK)
		return r;
	sqlite3_bind_int64(q, 1, audit_id);
	sqlite3_bind_text(q, 2, target, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		const char *e = (const char *)sqlite3_column_text(q, 3);
		const char *p = (const char *)sqlite3_column_text(q, 4);

		r.found = true;
		r.attempts = sqlite3_column_int64(q, 0);
		r.next_at = sqlite3_column_int64(q, 1);
		if (sqlite3_column_type(q, 2) != SQLITE_NULL)
			r.delivered_at = sqlite3_column_int64(q, 2);
		snprintf(r.last_error, sizeof(r.last_error), "%s", e ? e : "");
		snprintf(r.payload, sizeof(r.payload), "%s", p ? p : "");
	}
	sqlite3_finalize(q);
	return r;
}

static int64_t count_rows(const char *where)
{
	char sql[256];
	sqlite3_stmt *q = NULL;
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM outbox WHERE %s", where);
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

/* Wait up to ms for the row to be delivered; true if it is. */
static bool wait_delivered(int64_t audit_id, const char *target, int ms)
{
	int64_t end = mono_ms() + ms;

	do {
		if (get_row(audit_id, target).delivered_at >= 0)
			return true;
		sleep_ms(5);
	} while (mono_ms() < end);
	return false;
}

static bool wait_attempts(int64_t audit_id, const char *target, int64_t n, int ms)
{
	int64_t end = mono_ms() + ms;

	do {
		if (get_row(audit_id, target).attempts >= n)
			return true;
		sleep_ms(2);
	} while (mono_ms() < end);
	return false;
}

/* ---- an HTTP receiver ---- */

#define SRV_MAX_REQ 32

struct srv {
	int lfd;
	uint16_t port;
	pthread_t tid;
	atomic_bool stop;
	pthread_mutex_t mu;
	int status[8]; /* the answer to request i; the last one repeats */
	int nstatus;
	int hang; /* the first `hang` requests get no answer at all */
	int nreq;
	char method[SRV_MAX_REQ][16], path[SRV_MAX_REQ][128];
	char ctype[SRV_MAX_REQ][128], ua[SRV_MAX_REQ][128];
	char *body[SRV_MAX_REQ];
	int hung[SRV_MAX_REQ];
	int nhung;
};

/* A port nobody listens on (bound and released). */
static uint16_t free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &al))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void header(const char *hdrs, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);

	out[0] = '\0';
	for (const char *l = strstr(hdrs, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
		const char *h = l + 2;

		if (!strncasecmp(h, name, nl) && h[nl] == ':') {
			const char *v = h + nl + 1, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(out, len, "%.*s", e ? (int)(e - v) : (int)strlen(v), v);
			return;
		}
	}
}

/* Read one request from fd (2 s at most); record it; answer or hang. */
static void serve_one(struct srv *s, int fd)
{
	char buf[16384], cl[32];
	size_t got = 0, need = 0;
	char *end = NULL;
	int i, status;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 2000) <= 0)
			break;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			*end = '\0';
			header(buf, "Content-Length", cl, sizeof(cl));
			need = (size_t)(end + 4 - buf) + strtoul(cl, NULL, 10);
		}
		if (end && got >= need)
			break;
	}
	if (!end || got < need) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&s->mu);
	i = s->nreq < SRV_MAX_REQ ? s->nreq : SRV_MAX_REQ - 1;
	free(s->body[i]);
	sscanf(buf, "%15s %127s", s->method[i], s->path[i]);
	header(buf, "Content-Type", s->ctype[i], sizeof(s->ctype[i]));
	header(buf, "User-Agent", s->ua[i], sizeof(s->ua[i]));
	s->body[i] = strdup(end + 4);
	status = s->status[s->nreq < s->nstatus ? s->nreq : s->nstatus - 1];
	s->nreq++;
	if (s->nreq <= s->hang) {
		s->hung[s->nhung++] = fd; /* held open, never answered, closed at the end */
		pthread_mutex_unlock(&s->mu);
		return;
	}
	pthread_mutex_unlock(&s->mu);
	snprintf(buf, sizeof(buf),
		 "HTTP/1.1 %d X\r\nContent-Length: 0\r\nLocation: /elsewhere\r\n"
		 "Connection: close\r\n\r\n",
		 status);
	if (write(fd, buf, strlen(buf)) < 0)
		perror("receiver: write");
	close(fd);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = {.fd = s->lfd, .events = POLLIN};
		int fd;

		if (poll(&p, 1, 20) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd >= 0)
			serve_one(s, fd);
	}
	return NULL;
}

/* A receiver on 127.0.0.1:port answering the statuses in turn (the last repeats). */
static struct srv *srv_start(uint16_t port, const int *status, int nstatus, int hang)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct srv *s = calloc(1, sizeof(*s));
	int one = 1;

	if (!s)
		return NULL;
	memcpy(s->status, status, (size_t)nstatus * sizeof(int));
	s->nstatus = nstatus;
	s->hang = hang;
	s->port = port;
	pthread_mutex_init(&s->mu, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(s->lfd, 16) ||
	    pthread_create(&s->tid, NULL, srv_main, s)) {
		perror("receiver");
		if (s->lfd >= 0)
			close(s->lfd);
		free(s);
		return NULL;
	}
	return s;
}

static int srv_nreq(struct srv *s)
{
	int n;

	pthread_mutex_lock(&s->mu);
	n = s->nreq;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static void srv_stop(struct srv *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, true);
	pthread_join(s->tid, NULL);
	close(s->lfd);
	for (int i = 0; i < s->nhung; i++)
		close(s->hung[i]);
	for (int i = 0; i < SRV_MAX_REQ; i++)
		free(s->body[i]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static void webhook_cfg(struct tg_notify_cfg *cfg, char *url, size_t len, uint16_t port)
{
	snprintf(url, len, "http://127.0.0.1:%u/hook", port);
	*cfg = (struct tg_notify_cfg){
		.webhook = url, .timeout_ms = 400, .retry_min_ms = 100, .retry_max_ms = 800};
}

static struct tg_notifier *start(const struct tg_notify_cfg *cfg)
{
	struct tg_notifier *n = NULL;
	char err[256];

	if (tg_notifier_start(db_path, cfg, &n, err, sizeof(err))) {
		fprintf(stderr, "    tg_notifier_start: %s\n", err);
		return NULL;
	}
	return n;
}

/* ---- cases ---- */

static void test_backoff(void)
{
	struct tg_notify_cfg c = {.retry_min_ms = 100, .retry_max_ms = 800};

	BEGIN("backoff: min * 2^(attempts-1), capped at max, no overflow");
	CHECK_EQ_U64(tg_outbox_backoff_ms(&c, 1), 100);
	CHECK_EQ_U64(tg_outbox_backoff_ms(&c, 2), 200);
	CHECK_EQ_U64(tg_outbox_backoff_ms(&c, 3), 400);
	CHECK_EQ_U64(tg_outbox_backoff_ms(&c, 4), 800);
	CHECK_EQ_U64(tg_outbox_backoff_ms(&c, 5), 800);
	CHECK_EQ_U64(tg_outbox_backoff_ms(&c, 1000000), 800);
	c = (struct tg_notify_cfg){.retry_min_ms = 1000, .retry_max_ms = 300000};
	CHECK_EQ_U64(tg_outbox_backoff_ms(&c, 9), 256000);
	CHECK_EQ_U64(tg_outbox_backoff_ms(&c, 10), 300000);
}

static void test_enqueue(void)
{
	struct tg_notify_cfg cfg = {.exec = "/bin/true",
				    .webhook = "http://127.0.0.1:9/hook",
				    .timeout_ms = 400,
				    .retry_min_ms = 100,
				    .retry_max_ms = 800};
	struct tg_notify_cfg none = {.timeout_ms = 400, .retry_min_ms = 100, .retry_max_ms = 800};
	char json[1024];
	struct orow r;
	int64_t id, now;

	BEGIN("enqueue in a rolled-back transaction queues nothing");
	if (fresh_db())
		return;
	CHECK(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
			   "INSERT INTO audit (ts, customer, action, actor, reason) "
			   "VALUES (1, 'cust-0001', 'suspend', 'rule:spoofing', 'r')",
			   NULL, NULL, NULL) == SQLITE_OK);
	id = sqlite3_last_insert_rowid(db);
	event_json(json, sizeof(json), id, "cust-0001", "suspend", "spoofing");
	CHECK_EQ_U64(tg_outbox_enqueue(db, &cfg, id, json, 1000), 0);
	CHECK_EQ_U64(count_rows("1"), 2); /* visible inside the transaction ... */
	CHECK(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ_U64(count_rows("1"), 0); /* ... and gone with it */

	BEGIN("enqueue: one row per target, due now, payload as given, with the audit row");
	now = tg_now_ms();
	id = queue_event(&cfg, "cust-0001", "suspend", "spoofing", json, sizeof(json));
	CHECK(id > 0);
	CHECK_EQ_U64(count_rows("1"), 2);
	for (int t = 0; t < 2; t++) {
		r = get_row(id, t ? "webhook" : "exec");
		CHECK(r.found);
		CHECK_EQ_U64(r.attempts, 0);
		CHECK(r.delivered_at == -1);
		CHECK(r.next_at >= now && r.next_at <= tg_now_ms());
		CHECK(!strcmp(r.payload, json));
	}

	BEGIN("enqueue refuses: no transaction, bad JSON, id not the audit id; no target: none");
	CHECK_EQ_U64(tg_outbox_enqueue(db, &cfg, id, json, 1), (uint64_t)-EINVAL);
	CHECK(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ_U64(tg_outbox_enqueue(db, &cfg, id, "{\"id\": 1", 1), (uint64_t)-EINVAL);
	CHECK_EQ_U64(tg_outbox_enqueue(db, &cfg, id, "[1]", 1), (uint64_t)-EINVAL);
	CHECK_EQ_U64(tg_outbox_enqueue(db, &cfg, id, "{\"id\": 1, \"customer\": \"c\"}", 1),
		     (uint64_t)-EINVAL);
	CHECK_EQ_U64(tg_outbox_enqueue(db, &cfg, id + 1, json, 1), (uint64_t)-EINVAL);
	CHECK_EQ_U64(tg_outbox_enqueue(db, &none, id, json, 1), 0);
	CHECK(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ_U64(count_rows("1"), 2);
}

static void test_webhook_down_then_up(void)
{
	struct tg_notify_cfg cfg;
	struct tg_outbox_stats s;
	struct tg_notifier *n;
	struct srv *srv = NULL;
	char url[64], json[1024];
	int64_t id, seen[8] = {0}, gap[8] = {0}, t0;
	uint16_t port = free_port();
	struct orow r;
	int a;

	BEGIN("webhook down: attempts counted, backoff growing, nothing delivered");
	if (fresh_db() || !port)
		return;
	webhook_cfg(&cfg, url, sizeof(url), port);
	id = queue_event(&cfg, "cust-0001", "suspend", "spoofing", json, sizeof(json));
	n = start(&cfg);
	CHECK(n != NULL);
	/* attempts at about 0, 100, 300, 700 ms: note when each count shows and its next_at */
	t0 = mono_ms();
	while (mono_ms() - t0 < 3000) {
		r = get_row(id, "webhook");
		a = (int)r.attempts;
		if (a >= 1 && a < 8 && !seen[a]) {
			seen[a] = tg_now_ms();
			gap[a] = r.next_at - seen[a];
		}
		if (a >= 4)
			break;
		sleep_ms(2);
	}
	r = get_row(id, "webhook");
	CHECK(r.attempts >= 4);
	CHECK(r.delivered_at == -1);
	CHECK(r.last_error[0] != '\0');
	for (a = 1; a <= 4; a++) {
		/* next_at = attempt end + backoff; seen a little after the end */
		int64_t want = (int64_t)tg_outbox_backoff_ms(&cfg, a);

		CHECK(seen[a] != 0);
		CHECK(gap[a] <= want && gap[a] >= want - 150);
		if (gap[a] > want || gap[a] < want - 150)
			fprintf(stderr, "    attempt %d: next_at %lld ms after, want %lld\n", a,
				(long long)gap[a], (long long)want);
	}
	CHECK(gap[2] > gap[1] && gap[3] > gap[2] && gap[4] > gap[3]);
	CHECK(tg_outbox_stats(db, &s) == 0 && s.pending == 1 && s.delivered == 0 &&
	      s.failed_attempts == (uint64_t)r.attempts);

	BEGIN("webhook back up: delivered exactly once, exact JSON body and content type");
	srv = srv_start(port, (const int[]){200}, 1, 0);
	CHECK(srv != NULL);
	if (!srv) {
		tg_notifier_stop(n);
		return;
	}
	CHECK(wait_delivered(id, "webhook", 2500));
	sleep_ms(300); /* a second delivery would come now */
	tg_notifier_stop(n);
	CHECK_EQ_U64(srv_nreq(srv), 1);
	CHECK(srv->body[0] && !strcmp(srv->body[0], json));
	CHECK(!strcmp(srv->method[0], "POST") && !strcmp(srv->path[0], "/hook"));
	CHECK(!strcmp(srv->ctype[0], "application/json"));
	CHECK(!strcmp(srv->ua[0], "tollgate/" TG_VERSION));
	r = get_row(id, "webhook");
	CHECK(tg_outbox_stats(db, &s) == 0 && s.pending == 0 && s.delivered == 1 &&
	      s.failed_attempts == (uint64_t)r.attempts - 1);
	srv_stop(srv);
}

static void test_webhook_status(void)
{
	struct tg_notify_cfg cfg;
	struct tg_notifier *n;
	struct srv *srv;
	char url[64], json[1024];
	uint16_t port = free_port();
	struct orow r;
	int64_t id;

	BEGIN("webhook answering 500 then 200: retried, delivered on the second attempt");
	if (fresh_db() || !port)
		return;
	webhook_cfg(&cfg, url, sizeof(url), port);
	srv = srv_start(port, (const int[]){500, 200}, 2, 0);
	if (!srv) {
		CHECK(srv != NULL);
		return;
	}
	id = queue_event(&cfg, "cust-0001", "throttle", "bandwidth", json, sizeof(json));
	n = start(&cfg);
	CHECK(n != NULL);
	CHECK(wait_delivered(id, "webhook", 2000));
	sleep_ms(200);
	tg_notifier_stop(n);
	r = get_row(id, "webhook");
	CHECK_EQ_U64(r.attempts, 2);
	CHECK_STR_CONTAINS(r.last_error, "HTTP 500");
	CHECK_EQ_U64(srv_nreq(srv), 2);
	CHECK(srv->body[0] && !strcmp(srv->body[0], json));
	CHECK(srv->body[1] && !strcmp(srv->body[1], json));
	srv_stop(srv);

	BEGIN("webhook answering 302: a failure, the redirect not followed");
	if (fresh_db())
		return;
	srv = srv_start(port, (const int[]){302, 204}, 2, 0);
	if (!srv) {
		CHECK(srv != NULL);
		return;
	}
	id = queue_event(&cfg, "cust-0001", "throttle", "bandwidth", json, sizeof(json));
	n = start(&cfg);
	CHECK(wait_delivered(id, "webhook", 2000));
	sleep_ms(200);
	tg_notifier_stop(n);
	r = get_row(id, "webhook");
	CHECK_EQ_U64(r.attempts, 2);
	CHECK_STR_CONTAINS(r.last_error, "HTTP 302 (redirects are not followed)");
	CHECK_EQ_U64(srv_nreq(srv), 2);
	CHECK(!strcmp(srv->path[0], "/hook") && !strcmp(srv->path[1], "/hook"));
	srv_stop(srv);
}

static void test_webhook_hang(void)
{
	struct tg_notify_cfg cfg;
	struct tg_notifier *n;
	struct srv *srv;
	char url[64], json[1024];
	uint16_t port = free_port();
	struct orow r;
	int64_t id, t0, took;

	BEGIN("webhook hanging past the timeout: the attempt ends at the timeout, then retried");
	if (fresh_db() || !port)
		return;
	webhook_cfg(&cfg, url, sizeof(url), port);
	srv = srv_start(port, (const int[]){200}, 1, 1);
	if (!srv) {
		CHECK(srv != NULL);
		return;
	}
	id = queue_event(&cfg, "cust-0001", "suspend", "spoofing", json, sizeof(json));
	t0 = mono_ms();
	n = start(&cfg);
	CHECK(wait_attempts(id, "webhook", 1, 3000));
	took = mono_ms() - t0;
	CHECK(took >= 380 && took <= 1200);
	if (took < 380 || took > 1200)
		fprintf(stderr, "    first attempt took %lld ms, timeout 400\n", (long long)took);
	r = get_row(id, "webhook");
	CHECK(r.delivered_at == -1);
	CHECK_STR_CONTAINS(r.last_error, "imed out");
	CHECK(wait_delivered(id, "webhook", 2000));
	tg_notifier_stop(n);
	CHECK_EQ_U64(srv_nreq(srv), 2);
	CHECK_EQ_U64(get_row(id, "webhook").attempts, 2);
	srv_stop(srv);

	BEGIN("stop during a hung attempt returns within about the timeout; the row stays");
	if (fresh_db())
		return;
	srv = srv_start(port, (const int[]){200}, 1, 100);
	if (!srv) {
		CHECK(srv != NULL);
		return;
	}
	id = queue_event(&cfg, "cust-0001", "suspend", "spoofing", json, sizeof(json));
	n = start(&cfg);
	for (t0 = mono_ms(); srv_nreq(srv) < 1 && mono_ms() - t0 < 2000;)
		sleep_ms(2);
	CHECK_EQ_U64(srv_nreq(srv), 1);
	t0 = mono_ms();
	tg_notifier_stop(n);
	took = mono_ms() - t0;
	CHECK(took <= 400 + 300);
	r = get_row(id, "webhook");
	CHECK(r.found && r.delivered_at == -1);
	srv_stop(srv);
}

/* The hook: counts its runs; records argv, stdin and environment of run N in argv.N,
 * stdin.N, env.N; then does what the file `mode` says: ok, fail1 (exit 1 on run 1), fail
 * (always exit 1), sleep1 (run 1: a background child, then sleep past any timeout). */
static void write_hook(char *path, size_t len, char *dir, size_t dlen)
{
	char text[2048];

	snprintf(dir, dlen, "%s/hook-%d", tmpdir, ncase);
	mkdir(dir, 0700);
	snprintf(path, len, "%s/hook.sh", dir);
	snprintf(
		text, sizeof(text),
		"#!/bin/sh\n"
		"d='%s'\n"
		"n=$(cat \"$d/count\" 2>/dev/null || echo 0); n=$((n + 1)); echo $n >\"$d/count\"\n"
		"printf '%%s\\n' \"$@\" >\"$d/argv.$n\"\n"
		"cat >\"$d/stdin.$n\"\n"
		"env >\"$d/env.$n\"\n"
		"mode=$(cat \"$d/mode\" 2>/dev/null)\n"
		"case \"$mode:$n\" in\n"
		"fail1:1 | fail:*) exit 1 ;;\n"
		"sleep1:1) sleep 30 & echo $! >\"$d/child\"; sleep 30 ;;\n"
		"esac\n"
		"exit 0\n",
		dir);
	tl_write_file(path, text);
	chmod(path, 0755);
}

static char *hook_file(const char *dir, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return read_text(p);
}

static void set_mode(const char *dir, const char *mode)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/mode", dir);
	tl_write_file(p, mode);
	chmod(p, 0644);
}

static void test_exec(void)
{
	struct tg_notify_cfg cfg = {.timeout_ms = 400, .retry_min_ms = 100, .retry_max_ms = 800};
	char hook[256], dir[192], json1[1024], json2[1024];
	struct tg_notifier *n;
	int64_t id1, id2, t0, took;
	struct orow r;
	char *s;

	BEGIN("exec hook: argv -- CUSTOMER ACTION RULE, stdin the JSON, a clean environment");
	if (fresh_db())
		return;
	write_hook(hook, sizeof(hook), dir, sizeof(dir));
	cfg.exec = hook;
	setenv("TG_TEST_SECRET", "must-not-leak", 1);
	id1 = queue_event(&cfg, "cust-0001", "suspend", "spoofing", json1, sizeof(json1));
	id2 = queue_event(&cfg, "cust-0002", "unsuspend", NULL, json2, sizeof(json2));
	n = start(&cfg);
	CHECK(n != NULL);
	CHECK(wait_delivered(id1, "exec", 2000));
	CHECK(wait_delivered(id2, "exec", 2000));
	tg_notifier_stop(n);
	s = hook_file(dir, "count");
	CHECK(s && !strcmp(s, "2\n"));
	free(s);
	s = hook_file(dir, "argv.1");
	CHECK(s && !strcmp(s, "--\ncust-0001\nsuspend\nspoofing\n"));
	free(s);
	s = hook_file(dir, "stdin.1");
	CHECK(s && !strcmp(s, json1));
	free(s);
	s = hook_file(dir, "argv.2"); /* oldest first; a manual action has rule "-" */
	CHECK(s && !strcmp(s, "--\ncust-0002\nunsuspend\n-\n"));
	free(s);
	s = hook_file(dir, "stdin.2");
	CHECK(s && !strcmp(s, json2));
	free(s);
	s = hook_file(dir, "env.1");
	CHECK_STR_CONTAINS(s, "LC_ALL=C\n");
	CHECK_STR_CONTAINS(s, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	CHECK(s && !strstr(s, "TG_TEST_SECRET") && !strstr(s, "HOME="));
	free(s);
	CHECK_EQ_U64(get_row(id1, "exec").attempts, 1);

	BEGIN("exec hook exiting 1: retried, delivered on the second run");
	if (fresh_db())
		return;
	write_hook(hook, sizeof(hook), dir, sizeof(dir));
	set_mode(dir, "fail1");
	id1 = queue_event(&cfg, "cust-0003", "suspend", "spoofing", json1, sizeof(json1));
	n = start(&cfg);
	CHECK(wait_delivered(id1, "exec", 2000));
	tg_notifier_stop(n);
	r = get_row(id1, "exec");
	CHECK_EQ_U64(r.attempts, 2);
	CHECK_STR_CONTAINS(r.last_error, "exit status 1");
	s = hook_file(dir, "count");
	CHECK(s && !strcmp(s, "2\n"));
	free(s);

	BEGIN("exec hook sleeping past the timeout: its process group killed, then retried");
	if (fresh_db())
		return;
	write_hook(hook, sizeof(hook), dir, sizeof(dir));
	set_mode(dir, "sleep1");
	id1 = queue_event(&cfg, "cust-0004", "suspend", "spoofing", json1, sizeof(json1));
	t0 = mono_ms();
	n = start(&cfg);
	CHECK(wait_attempts(id1, "exec", 1, 3000));
	took = mono_ms() - t0;
	CHECK(took >= 380 && took <= 1500);
	r = get_row(id1, "exec");
	CHECK_STR_CONTAINS(r.last_error, "timed out after 400 ms");
	CHECK(wait_delivered(id1, "exec", 2000));
	tg_notifier_stop(n);
	CHECK_EQ_U64(get_row(id1, "exec").attempts, 2);
	s = hook_file(dir, "child");
	CHECK(s != NULL);
	if (s) {
		/* the hook's background child went with it: gone, or a zombie for init */
		char proc[64], *stat = NULL;
		int64_t end = mono_ms() + 1000;

		snprintf(proc, sizeof(proc), "/proc/%d/stat", atoi(s));
		do {
			free(stat);
			stat = read_text(proc);
			if (!stat || strstr(stat, ") Z "))
				break;
			sleep_ms(10);
		} while (mono_ms() < end);
		CHECK(!stat || strstr(stat, ") Z "));
		if (stat && !strstr(stat, ") Z ")) {
			fprintf(stderr, "    the hook's child is still there: %s", stat);
			kill(atoi(s), SIGKILL); /* not left behind by this test */
		}
		free(stat);
	}
	free(s);
}

static void test_restart(void)
{
	struct tg_notify_cfg cfg;
	struct tg_outbox_stats s;
	struct tg_notifier *n;
	struct srv *srv;
	char url[64], json[4][1024];
	uint16_t port = free_port();
	int64_t id[4];
	int i;

	BEGIN("restart with pending rows: each delivered once, oldest first");
	if (fresh_db() || !port)
		return;
	webhook_cfg(&cfg, url, sizeof(url), port);
	for (i = 0; i < 3; i++)
		id[i] = queue_event(&cfg, "cust-0001", i % 2 ? "unsuspend" : "suspend", "spoofing",
				    json[i], sizeof(json[i]));
	n = start(&cfg);
	CHECK(wait_attempts(id[0], "webhook", 2, 2000));
	tg_notifier_stop(n);
	/* one event queued while the "daemon" is down */
	id[3] = queue_event(&cfg, "cust-0002", "suspend", NULL, json[3], sizeof(json[3]));
	CHECK(tg_outbox_stats(db, &s) == 0 && s.pending == 4 && s.delivered == 0);
	/* the later rows wait behind the oldest one: never attempted yet */
	CHECK_EQ_U64(get_row(id[1], "webhook").attempts, 0);
	srv = srv_start(port, (const int[]){200}, 1, 0);
	if (!srv) {
		CHECK(srv != NULL);
		return;
	}
	n = start(&cfg);
	CHECK(n != NULL);
	for (i = 0; i < 4; i++)
		CHECK(wait_delivered(id[i], "webhook", 2500));
	sleep_ms(300);
	tg_notifier_stop(n);
	CHECK_EQ_U64(srv_nreq(srv), 4);
	for (i = 0; i < 4 && i < srv_nreq(srv); i++)
		CHECK(srv->body[i] && !strcmp(srv->body[i], json[i]));
	CHECK(tg_outbox_stats(db, &s) == 0 && s.pending == 0 && s.delivered == 4);
	srv_stop(srv);
}

static void test_unconfigured_and_purge(void)
{
	struct tg_notify_cfg cfg = {.webhook = "http://127.0.0.1:9/hook",
				    .timeout_ms = 400,
				    .retry_min_ms = 100,
				    .retry_max_ms = 800};
	struct tg_notify_cfg only_exec;
	struct tg_outbox_stats s;
	struct tg_notifier *n;
	char hook[256], dir[192];
	int64_t id;
	struct orow r;

	BEGIN("a target not configured any more: its rows stay pending, not attempted");
	if (fresh_db())
		return;
	write_hook(hook, sizeof(hook), dir, sizeof(dir));
	cfg.exec = hook;
	id = queue_event(&cfg, "cust-0001", "suspend", "spoofing", NULL, 0);
	only_exec = cfg;
	only_exec.webhook = NULL;
	n = start(&only_exec);
	CHECK(wait_delivered(id, "exec", 2000));
	sleep_ms(300);
	tg_notifier_stop(n);
	r = get_row(id, "webhook");
	CHECK(r.found && r.delivered_at == -1 && r.attempts == 0 && !r.last_error[0]);
	CHECK(tg_outbox_stats(db, &s) == 0 && s.pending == 1 && s.delivered == 1 &&
	      s.failed_attempts == 0);

	BEGIN("purge: delivered rows older than the limit go, pending rows never");
	CHECK(sqlite3_exec(db, "UPDATE outbox SET delivered_at = 1000 WHERE target = 'exec'", NULL,
			   NULL, NULL) == SQLITE_OK);
	id = queue_event(&cfg, "cust-0002", "suspend", "spoofing", NULL, 0);
	CHECK(sqlite3_exec(db,
			   "UPDATE outbox SET delivered_at = 3000 WHERE target = 'exec' AND "
			   "delivered_at IS NULL",
			   NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ_U64(count_rows("1"), 4);
	CHECK_EQ_U64(tg_outbox_purge(db, 1000), 0); /* strictly before */
	CHECK_EQ_U64(tg_outbox_purge(db, 2000), 1);
	CHECK_EQ_U64(count_rows("delivered_at = 1000"), 0);
	CHECK_EQ_U64(count_rows("delivered_at = 3000"), 1);
	CHECK_EQ_U64(tg_outbox_purge(db, INT64_MAX), 1);
	CHECK_EQ_U64(count_rows("delivered_at IS NULL"), 2);
	CHECK(get_row(id, "webhook").found);
	CHECK(tg_outbox_stats(db, &s) == 0 && s.pending == 2 && s.delivered == 0);
}

/* ---- h9: retries on the monotonic clock ---- */

/*
 * user/lib/clock.c's two clocks, replaced in this test (linked before the library): the wall
 * clock can be stepped, as NTP would, without touching the host's.
 */
static int64_t wall_step_ms;

static int64_t clock_ms(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int64_t tg_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME) + __atomic_load_n(&wall_step_ms, __ATOMIC_RELAXED);
}

int64_t tg_mono_ms(void)
{
	return clock_ms(CLOCK_BOOTTIME);
}

static void test_retry_wall_step(void)
{
	struct tg_notify_cfg cfg;
	struct tg_notifier *n;
	struct srv *srv;
	char url[64], json[1024];
	uint16_t port = free_port();
	int64_t id;

	BEGIN("webhook retry: a wall clock stepped an hour back does not hold it back");
	if (fresh_db() || !port)
		return;
	webhook_cfg(&cfg, url, sizeof(url), port);
	id = queue_event(&cfg, "cust-0001", "suspend", "spoofing", json, sizeof(json));
	n = start(&cfg);
	CHECK(n != NULL);
	CHECK(wait_attempts(id, "webhook", 1, 2000));
	__atomic_store_n(&wall_step_ms, -3600 * 1000ll, __ATOMIC_RELAXED);
	srv = srv_start(port, (const int[]){200}, 1, 0);
	CHECK(srv != NULL);
	CHECK(wait_delivered(id, "webhook", 3000));
	tg_notifier_stop(n);
	__atomic_store_n(&wall_step_ms, 0, __ATOMIC_RELAXED);
	if (srv)
		srv_stop(srv);
}

/* ---- h10: the exec hook runs unprivileged ---- */
static void test_h10_exec_user(void)
{
	struct tg_notify_cfg cfg = {.timeout_ms = 2000,
				    .retry_min_ms = 100,
				    .retry_max_ms = 800,
				    .exec_user = "nobody",
				    .exec_uid = 65534,
				    .exec_gid = 65534};
	char hook[256], dir[192], text[1024], json1[1024];
	struct tg_notifier *n;
	int64_t id1;
	char *s;

	BEGIN("h10: exec hook as notify.exec_user (nobody): uid/gid 65534, no capability, "
	      "no_new_privs, argv --");
	if (fresh_db())
		return;
	chmod(tmpdir, 0711); /* nobody walks through to its own directory */
	snprintf(dir, sizeof(dir), "%s/hook-h10-%d", tmpdir, ncase);
	mkdir(dir, 0777);
	chmod(dir, 0777);
	snprintf(hook, sizeof(hook), "%s/hook.sh", dir);
	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "d='%s'\n"
		 "{ id -u; id -g; id -G; grep -E '^(CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' "
		 "/proc/self/status; printf '%%s\\n' \"$@\"; } >\"$d/who\"\n"
		 "cat >/dev/null\n",
		 dir);
	tl_write_file(hook, text);
	chmod(hook, 0755);
	cfg.exec = hook;
	id1 = queue_event(&cfg, "cust-h10", "suspend", "spoofing", json1, sizeof(json1));
	n = start(&cfg);
	CHECK(n != NULL);
	CHECK(wait_delivered(id1, "exec", 3000));
	tg_notifier_stop(n);
	s = hook_file(dir, "who");
	CHECK_STR_CONTAINS(s, "65534\n65534\n65534\n");
	CHECK_STR_CONTAINS(s, "CapPrm:\t0000000000000000\n");
	CHECK_STR_CONTAINS(s, "CapEff:\t0000000000000000\n");
	CHECK_STR_CONTAINS(s, "CapAmb:\t0000000000000000\n");
	CHECK_STR_CONTAINS(s, "NoNewPrivs:\t1\n");
	CHECK_STR_CONTAINS(s, "--\ncust-h10\nsuspend\nspoofing\n");
	free(s);
	chmod(tmpdir, 0700);
}

int main(void)
{
	static const char *const proxies[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
					      "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
	int rc;

	/* the receivers are on loopback: no proxy of the environment in between */
	for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
		unsetenv(proxies[i]);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tg-test-notify.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	alarm(120); /* a hang is a failure, not a stuck CI job */

	test_backoff();
	test_enqueue();
	test_webhook_down_then_up();
	test_webhook_status();
	test_webhook_hang();
	test_exec();
	test_h10_exec_user();
	test_restart();
	test_unconfigured_and_purge();
	test_retry_wall_step();

	tg_state_close(st);
	report_case();
	rc = test_summary();
	tl_rmtree(tmpdir);
	return rc;
}
