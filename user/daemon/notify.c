// SPDX-License-Identifier: GPL-2.0-only
/*
 * notify.c - the notification outbox and its delivery threads (see notify.h).
 *
 * One thread per configured target, each with its own SQLite connection and (webhook)
 * its own reused libcurl easy handle. A thread takes its target's oldest undelivered row;
 * if it is due it makes one attempt and records the result, otherwise it sleeps until the
 * row is due, a kick, a stop, or TG_NOTIFY_POLL_MS (rows another process may have queued).
 * The row is written delivered only after the target accepted it: a crash in between
 * means one more delivery, never a lost one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "lib/lib.h"
#include "notify.h"

#define TG_NOTIFY_POLL_MS 5000	  /* look for rows queued by another process this often */
#define TG_NOTIFY_BUSY_MS 5000	  /* SQLite busy timeout of the delivery connections */
#define TG_NOTIFY_REAP_NS 5000000 /* 5 ms: how often a running hook is checked for exit */
#define TG_HOOK_ENV_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum { T_EXEC, T_WEBHOOK, T_NR };
static const char *const target_names[T_NR] = {"exec", "webhook"};

struct worker {
	struct tg_notifier *n;
	int target; /* T_EXEC or T_WEBHOOK */
	pthread_t tid;
	bool running;
	sqlite3 *db;
	sqlite3_stmt *head; /* the target's oldest undelivered row */
	sqlite3_stmt *ok, *fail;
	CURL *curl;
	struct curl_slist *hdrs;
	char curl_err[CURL_ERROR_SIZE];
	/* the row whose attempt failed here, and when to try it again on tg_mono_ms: the
	 * outbox's next_at is wall-clock (for a restart), and a step of the wall clock must
	 * neither hold a retry back nor hurry it */
	int64_t retry_id, retry_mono;
};

struct tg_notifier {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	bool stop;
	unsigned int kicks; /* bumped by every kick: a waiter compares */
	struct tg_notify_cfg cfg;
	bool curl_global;
	struct worker w[T_NR];
};

struct row {
	int64_t id, attempts, next_at;
	char *payload;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t tg_outbox_backoff_ms(const struct tg_notify_cfg *cfg, int64_t attempts)
{
	uint64_t b = cfg->retry_min_ms;

	for (int64_t i = 1; i < attempts && b < cfg->retry_max_ms; i++)
		b *= 2;
	return b < cfg->retry_max_ms ? b : cfg->retry_max_ms;
}

static int sql_err(int rc)
{
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? -EBUSY : -EIO;
}

/*
 * What the exec hook's argv needs from an event: "customer" and "action" strings, "rule" a
 * string or null/absent ("-"). *id is the event's "seq", its audit row (-1 if absent). The strings are
 * malloc'd in *out[0..2]. 0 or -EINVAL.
 */
static int event_fields(const char *json, int64_t *id, char *out[3])
{
	json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	json_t *c, *a, *r, *i;
	int err = -EINVAL;

	out[0] = out[1] = out[2] = NULL;
	if (!json_is_object(o))
		goto out;
	c = json_object_get(o, "customer");
	a = json_object_get(o, "action");
	r = json_object_get(o, "rule");
	i = json_object_get(o, "seq");
	if (!json_is_string(c) || !json_is_string(a) ||
	    (r && !json_is_null(r) && !json_is_string(r)))
		goto out;
	*id = json_is_integer(i) ? (int64_t)json_integer_value(i) : -1;
	out[0] = strdup(json_string_value(c));
	out[1] = strdup(json_string_value(a));
	out[2] = strdup(json_is_string(r) ? json_string_value(r) : "-");
	if (!out[0] || !out[1] || !out[2]) {
		err = -ENOMEM;
		for (int k = 0; k < 3; k++) {
			free(out[k]);
			out[k] = NULL;
		}
		goto out;
	}
	err = 0;
out:
	json_decref(o);
	return err;
}

int tg_outbox_enqueue(sqlite3 *db, const struct tg_notify_cfg *cfg, int64_t audit_id,
		      const char *event_json, int64_t now_ms)
{
	const char *targets[T_NR] = {cfg->exec ? "exec" : NULL, cfg->webhook ? "webhook" : NULL};
	sqlite3_stmt *ins = NULL;
	char *f[3];
	int64_t id;
	int rc, err = 0;

	if (!cfg->exec && !cfg->webhook)
		return 0;
	/* outside a transaction each row would commit on its own: not atomic with the audit
	 * row, which is the whole point */
	if (sqlite3_get_autocommit(db))
		return -EINVAL;
	err = event_fields(event_json, &id, f);
	if (err)
		return err;
	for (int k = 0; k < 3; k++)
		free(f[k]);
	if (id != audit_id)
		return -EINVAL;
	rc = sqlite3_prepare_v2(db,
				"INSERT INTO outbox (audit_id, target, payload, next_at) "
				"VALUES (?1, ?2, ?3, ?4)",
				-1, &ins, NULL);
	if (rc != SQLITE_OK)
		return sql_err(rc);
	for (int t = 0; t < T_NR && !err; t++) {
		if (!targets[t])
			continue;
		sqlite3_bind_int64(ins, 1, audit_id);
		sqlite3_bind_text(ins, 2, targets[t], -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, event_json, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 4, now_ms);
		rc = sqlite3_step(ins);
		if (rc != SQLITE_DONE)
			err = sql_err(rc);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	return err;
}

int tg_outbox_purge(sqlite3 *db, int64_t before_ms)
{
	sqlite3_stmt *q = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db,
				"DELETE FROM outbox WHERE delivered_at IS NOT NULL AND "
				"delivered_at < ?1",
				-1, &q, NULL);
	if (rc != SQLITE_OK)
		return sql_err(rc);
	sqlite3_bind_int64(q, 1, before_ms);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return sql_err(rc);
	return sqlite3_changes(db);
}

int tg_outbox_stats(sqlite3 *db, struct tg_outbox_stats *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	/* attempts counts the successful attempt of a delivered row too */
	rc = sqlite3_prepare_v2(
		db,
		"SELECT COALESCE(SUM(delivered_at IS NULL), 0), "
		"COALESCE(SUM(delivered_at IS NOT NULL), 0), "
		"COALESCE(SUM(attempts - (delivered_at IS NOT NULL)), 0) FROM outbox",
		-1, &q, NULL);
	if (rc != SQLITE_OK)
		return sql_err(rc);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		out->pending = (uint64_t)sqlite3_column_int64(q, 0);
		out->delivered = (uint64_t)sqlite3_column_int64(q, 1);
		out->failed_attempts = (uint64_t)sqlite3_column_int64(q, 2);
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 0 : sql_err(rc);
}

/* ---- the exec hook ---- */

/* Write all of buf to the non-blocking fd by deadline (monotonic ms). 0, -EPIPE (the hook
 * closed its stdin: its exit status decides), -ETIMEDOUT or -errno. */
static int write_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int64_t left = deadline - mono_ms();
		ssize_t w;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The worker threads block every signal, so a SIGPIPE of a write to a hook that exited is
 * left pending on this thread: take it off, it means nothing here. */
static void drop_sigpipe(void)
{
	static const struct timespec zero = {0, 0};
	sigset_t pipe_set;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
		;
}

/*
 * The hook's side of the fork: only async-signal-safe calls. Its stdin the pipe, stdout its
 * stderr (the daemon's log), none of the daemon's other descriptors (database, maps,
 * sockets); a process group of its own (to kill the hook's children with it); the signal
 * mask and dispositions the daemon changed (it blocks signals for signalfd) back to the
 * defaults; then notify.exec_user's uid, gid and no supplementary groups, which leaves it
 * no capability, and no_new_privs, so no set-uid program it runs gets any back. On
 * failure its errno goes up errfd and it exits 127.
 */
static void hook_child(const struct tg_notify_cfg *cfg, int in, int errfd, char *const argv[],
		       char *const envp[])
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int e;

	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setpgid(0, 0) || dup2(in, STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		goto fail;
	if (errfd <= STDERR_FILENO)
		goto fail;
	/* keep errfd (close-on-exec) to report a failed exec */
	if (close_range(STDERR_FILENO + 1, (unsigned int)errfd - 1, 0) ||
	    close_range((unsigned int)errfd + 1, ~0U, 0))
		goto fail;
	if (cfg->exec_user && cfg->exec_uid) {
		gid_t g = (gid_t)cfg->exec_gid;

		if (setgroups(1, &g) || setgid(g) || setuid((uid_t)cfg->exec_uid))
			goto fail;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		goto fail;
	execve(cfg->exec, argv, envp);
fail:
	e = errno;
	(void)!write(errfd, &e, sizeof(e));
	_exit(127);
}

static bool deliver_exec(struct worker *w, const struct row *r, char *why, size_t whylen)
{
	const struct tg_notify_cfg *cfg = &w->n->cfg;
	char *envp[] = {TG_HOOK_ENV_PATH, "LC_ALL=C", NULL};
	char *f[3], *argv[6];
	int64_t id, deadline;
	int pfd[2], epfd[2], status = 0, rc = 0;
	ssize_t n;
	bool timed_out = false;
	pid_t pid;

	if (event_fields(r->payload, &id, f)) {
		snprintf(why, whylen,
			 "the queued event is not a JSON object with customer and "
			 "action");
		return false;
	}
	/* "--": an id a hook's option parser would take for an option still is an argument
	 * (ids cannot start with '-' either: customers.c) */
	argv[0] = cfg->exec;
	argv[1] = "--";
	argv[2] = f[0];
	argv[3] = f[1];
	argv[4] = f[2];
	argv[5] = NULL;
	if (pipe2(pfd, O_CLOEXEC)) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		goto out_fields;
	}
	if (pipe2(epfd, O_CLOEXEC)) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		goto out_fields;
	}
	pid = fork();
	if (pid == 0)
		hook_child(cfg, pfd[0], epfd[1], argv, envp); /* never returns */
	close(pfd[0]);
	close(epfd[1]);
	if (pid < 0) {
		rc = errno;
		close(pfd[1]);
		close(epfd[0]);
		snprintf(why, whylen, "cannot run %s: fork: %s", cfg->exec, strerror(rc));
		goto out_fields;
	}
	setpgid(pid, pid); /* as the child does: whichever runs first */
	/* the child's errno if it could not become the hook (the pipe closes on exec) */
	while ((n = read(epfd[0], &rc, sizeof(rc))) < 0 && errno == EINTR)
		;
	close(epfd[0]);
	if (n == (ssize_t)sizeof(rc)) {
		close(pfd[1]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		snprintf(why, whylen, "cannot run %s as %s: %s", cfg->exec,
			 cfg->exec_user ? cfg->exec_user : "root", strerror(rc));
		goto out_fields;
	}
	deadline = mono_ms() + cfg->timeout_ms;
	fcntl(pfd[1], F_SETFL, O_NONBLOCK);
	/* a hook that does not read all of stdin is judged by its exit status alone; one that
	 * does not read it in time is killed at the deadline below */
	(void)write_all(pfd[1], r->payload, strlen(r->payload), deadline);
	close(pfd[1]);
	drop_sigpipe();
	for (;;) {
		const struct timespec nap = {0, TG_NOTIFY_REAP_NS};
		pid_t got = waitpid(pid, &status, WNOHANG);

		if (got == pid)
			break;
		if (got < 0 && errno != EINTR) {
			snprintf(why, whylen, "waitpid: %s", strerror(errno));
			goto out_fields;
		}
		if (mono_ms() >= deadline) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			timed_out = true;
			break;
		}
		nanosleep(&nap, NULL);
	}
	if (timed_out) {
		snprintf(why, whylen, "timed out after %u ms: killed", cfg->timeout_ms);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		for (int k = 0; k < 3; k++)
			free(f[k]);
		return true;
	} else if (WIFEXITED(status)) {
		snprintf(why, whylen, "exit status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(why, whylen, "killed by signal %d", WTERMSIG(status));
	} else {
		snprintf(why, whylen, "ended with wait status %d", status);
	}
out_fields:
	for (int k = 0; k < 3; k++)
		free(f[k]);
	return false;
}

/* ---- the webhook ---- */

static size_t discard(char *ptr, size_t size, size_t nmemb, void *user)
{
	(void)ptr;
	(void)user;
	return size * nmemb;
}

static int webhook_setup(struct worker *w, char *err, size_t errlen)
{
	const struct tg_notify_cfg *cfg = &w->n->cfg;
	struct curl_slist *h;
	CURL *c;

	c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "notify: cannot set up libcurl");
		return -ENOMEM;
	}
	w->curl = c;
	h = curl_slist_append(NULL, "Content-Type: application/json");
	/* no "Expect: 100-continue" round trip (libcurl sends one for large bodies) */
	if (h)
		w->hdrs = curl_slist_append(h, "Expect:");
	if (!h || !w->hdrs) {
		curl_slist_free_all(h);
		w->hdrs = NULL;
		snprintf(err, errlen, "notify: no memory");
		return -ENOMEM;
	}
	if (curl_easy_setopt(c, CURLOPT_URL, cfg->webhook) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, w->hdrs) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "tollgate/" TG_VERSION) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->timeout_ms) != CURLE_OK ||
	    /* threads: no SIGALRM for the resolver's timeout */
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
#else
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) !=
		    CURLE_OK ||
#endif
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, w->curl_err) != CURLE_OK) {
		snprintf(err, errlen, "notify: libcurl refuses an option for %s", cfg->webhook);
		return -EINVAL;
	}
	return 0;
}

static bool deliver_webhook(struct worker *w, const struct row *r, char *why, size_t whylen)
{
	CURLcode rc;
	long code = 0;

	w->curl_err[0] = '\0';
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->payload));
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, r->payload);
	rc = curl_easy_perform(w->curl);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", w->curl_err[0] ? w->curl_err : curl_easy_strerror(rc));
		return false;
	}
	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code <= 299)
		return true;
	snprintf(why, whylen, "HTTP %ld%s", code,
		 code >= 300 && code <= 399 ? " (redirects are not followed)" : "");
	return false;
}

/* ---- the delivery threads ---- */

/* The target's oldest undelivered row: 1 (in *r), 0 (none) or -errno. */
static int head_row(struct worker *w, struct row *r)
{
	int rc = sqlite3_step(w->head);
	int ret = 0;

	if (rc == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(w->head, 1);

		r->id = sqlite3_column_int64(w->head, 0);
		r->attempts = sqlite3_column_int64(w->head, 2);
		r->next_at = sqlite3_column_int64(w->head, 3);
		r->payload = strdup(p ? p : "");
		ret = r->payload ? 1 : -ENOMEM;
	} else if (rc != SQLITE_DONE) {
		ret = sql_err(rc);
	}
	sqlite3_reset(w->head);
	return ret;
}

/* Wait until a kick after generation gen, a stop, or ms. */
static void wait_for(struct tg_notifier *n, unsigned int gen, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&n->mu);
	while (!n->stop && n->kicks == gen) {
		if (pthread_cond_timedwait(&n->cv, &n->mu, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&n->mu);
}

/* One attempt at r and its record. 0, or -errno if the result could not be recorded. */
static int attempt(struct worker *w, const struct row *r)
{
	const struct tg_notify_cfg *cfg = &w->n->cfg;
	const char *tname = target_names[w->target];
	char why[512] = "";
	bool ok;
	int64_t now, tries = r->attempts + 1;
	uint64_t wait = 0;
	sqlite3_stmt *q;
	int rc;

	ok = w->target == T_EXEC ? deliver_exec(w, r, why, sizeof(why))
				 : deliver_webhook(w, r, why, sizeof(why));
	now = tg_now_ms();
	q = ok ? w->ok : w->fail;
	sqlite3_bind_int64(q, 1, r->id);
	sqlite3_bind_int64(q, 2, tries);
	if (ok) {
		sqlite3_bind_int64(q, 3, now);
	} else {
		wait = tg_outbox_backoff_ms(cfg, tries);
		w->retry_id = r->id;
		w->retry_mono = tg_mono_ms() + (int64_t)wait;
		sqlite3_bind_int64(q, 3, now + (int64_t)wait);
		sqlite3_bind_text(q, 4, why, -1, SQLITE_TRANSIENT);
	}
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (ok && tries > 1)
		tg_info("notify: %s: event row %lld delivered on attempt %lld", tname,
			(long long)r->id, (long long)tries);
	else if (!ok)
		tg_warn("notify: %s: event row %lld, attempt %lld: %s; next attempt in %llu ms",
			tname, (long long)r->id, (long long)tries, why, (unsigned long long)wait);
	if (rc != SQLITE_DONE) {
		/* delivered but not recorded: it goes again (at least once, never lost) */
		tg_err("notify: %s: cannot record attempt %lld of row %lld: %s", tname,
		       (long long)tries, (long long)r->id, sqlite3_errmsg(w->db));
		return sql_err(rc);
	}
	return 0;
}

/*
 * How long until row r is due (<= 0: now). A retry of ours: on the monotonic clock. A
 * row of an earlier run: its wall-clock next_at, but never more than the longest backoff
 * (a wall clock stepped back since does not hold it longer than that).
 */
static int64_t due_in(const struct worker *w, const struct row *r)
{
	int64_t left;

	if (r->id == w->retry_id)
		return w->retry_mono - tg_mono_ms();
	left = r->next_at - tg_now_ms();
	return left < (int64_t)w->n->cfg.retry_max_ms ? left : (int64_t)w->n->cfg.retry_max_ms;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct tg_notifier *n = w->n;

	for (;;) {
		struct row r = {0};
		unsigned int gen;
		int64_t wait_ms;
		int rc;

		pthread_mutex_lock(&n->mu);
		if (n->stop) {
			pthread_mutex_unlock(&n->mu);
			break;
		}
		gen = n->kicks;
		pthread_mutex_unlock(&n->mu);

		rc = head_row(w, &r);
		if (rc < 0) {
			tg_err("notify: %s: cannot read the outbox: %s; trying again in %u ms",
			       target_names[w->target], sqlite3_errmsg(w->db), n->cfg.retry_min_ms);
			wait_ms = n->cfg.retry_min_ms;
		} else if (rc == 0) {
			wait_ms = TG_NOTIFY_POLL_MS;
		} else if ((wait_ms = due_in(w, &r)) > 0) {
			if (wait_ms > TG_NOTIFY_POLL_MS)
				wait_ms = TG_NOTIFY_POLL_MS;
		} else {
			rc = attempt(w, &r);
			free(r.payload);
			/* if the result could not be written, do not hammer the target */
			if (rc)
				wait_for(n, gen, n->cfg.retry_min_ms);
			continue;
		}
		free(r.payload);
		if (wait_ms > 0)
			wait_for(n, gen, wait_ms);
	}
	return NULL;
}

static void worker_free(struct worker *w)
{
	sqlite3_finalize(w->head);
	sqlite3_finalize(w->ok);
	sqlite3_finalize(w->fail);
	sqlite3_close(w->db);
	if (w->curl)
		curl_easy_cleanup(w->curl);
	curl_slist_free_all(w->hdrs);
	memset(w, 0, sizeof(*w));
}

static int worker_open(struct tg_notifier *n, int target, const char *db_path, char *err,
		       size_t errlen)
{
	struct worker *w = &n->w[target];
	int rc;

	w->n = n;
	w->target = target;
	rc = sqlite3_open_v2(db_path, &w->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "notify: %s: %s", db_path,
			 w->db ? sqlite3_errmsg(w->db) : "no memory");
		return -EIO;
	}
	sqlite3_busy_timeout(w->db, TG_NOTIFY_BUSY_MS);
	rc = sqlite3_prepare_v2(w->db,
				"SELECT id, payload, attempts, next_at FROM outbox "
				"WHERE target = ?1 AND delivered_at IS NULL ORDER BY id LIMIT 1",
				-1, &w->head, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(w->db,
					"UPDATE outbox SET attempts = ?2, delivered_at = ?3 "
					"WHERE id = ?1 AND delivered_at IS NULL",
					-1, &w->ok, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(w->db,
					"UPDATE outbox SET attempts = ?2, next_at = ?3, "
					"last_error = ?4 WHERE id = ?1 AND delivered_at IS NULL",
					-1, &w->fail, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "notify: %s: the outbox table: %s", db_path,
			 sqlite3_errmsg(w->db));
		return -EIO;
	}
	sqlite3_bind_text(w->head, 1, target_names[target], -1, SQLITE_STATIC);
	if (target == T_WEBHOOK)
		return webhook_setup(w, err, errlen);
	return 0;
}

void tg_notifier_kick(struct tg_notifier *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	n->kicks++;
	pthread_cond_broadcast(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

void tg_notifier_stop(struct tg_notifier *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	n->stop = true;
	pthread_cond_broadcast(&n->cv);
	pthread_mutex_unlock(&n->mu);
	for (int t = 0; t < T_NR; t++) {
		if (n->w[t].running)
			pthread_join(n->w[t].tid, NULL);
		worker_free(&n->w[t]);
	}
	if (n->curl_global)
		curl_global_cleanup();
	pthread_cond_destroy(&n->cv);
	pthread_mutex_destroy(&n->mu);
	free(n->cfg.exec);
	free(n->cfg.exec_user);
	free(n->cfg.webhook);
	free(n);
}

int tg_notifier_start(const char *db_path, const struct tg_notify_cfg *cfg,
		      struct tg_notifier **out, char *err, size_t errlen)
{
	struct tg_notifier *n;
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc = 0;

	*out = NULL;
	if (!cfg->retry_min_ms || cfg->retry_min_ms > cfg->retry_max_ms || !cfg->timeout_ms) {
		snprintf(err, errlen, "notify: timeout and retry must be set, retry min <= max");
		return -EINVAL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	pthread_mutex_init(&n->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cv, &ca);
	pthread_condattr_destroy(&ca);
	n->cfg = *cfg;
	n->cfg.exec = cfg->exec ? strdup(cfg->exec) : NULL;
	n->cfg.exec_user = cfg->exec_user ? strdup(cfg->exec_user) : NULL;
	n->cfg.webhook = cfg->webhook ? strdup(cfg->webhook) : NULL;
	if ((cfg->exec && !n->cfg.exec) || (cfg->webhook && !n->cfg.webhook) ||
	    (cfg->exec_user && !n->cfg.exec_user)) {
		snprintf(err, errlen, "notify: no memory");
		rc = -ENOMEM;
		goto fail;
	}
	if (cfg->webhook) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "notify: cannot initialise libcurl");
			rc = -EIO;
			goto fail;
		}
		n->curl_global = true;
	}
	if (cfg->exec && (rc = worker_open(n, T_EXEC, db_path, err, errlen)))
		goto fail;
	if (cfg->webhook && (rc = worker_open(n, T_WEBHOOK, db_path, err, errlen)))
		goto fail;
	/* the threads take no signal: the daemon's signalfd gets them, and a write to a hook
	 * that exited gives EPIPE instead of killing the process */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int t = 0; t < T_NR && !rc; t++) {
		if (!n->w[t].db)
			continue;
		rc = -pthread_create(&n->w[t].tid, NULL, worker_main, &n->w[t]);
		if (rc)
			snprintf(err, errlen, "notify: cannot start a thread: %s", strerror(-rc));
		else
			n->w[t].running = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		goto fail;
	*out = n;
	return 0;
fail:
	tg_notifier_stop(n);
	return rc;
}
