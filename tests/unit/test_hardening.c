// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_hardening.c - what keeps outside input and other local users from turning Tollgate's
 * own files and output against it (issue: control-plane integrity, least privilege):
 *   - free text (reasons, names, actors, configuration errors) is escaped before it reaches
 *     a terminal or a log line (tg_esc, the log functions);
 *   - the control socket is born 0660 whatever the umask, and its owner and mode are never
 *     changed through a symlink planted in its place;
 *   - the state database and its WAL are 0600 (0640 kept) whatever the umask, a symlink in
 *     their place is refused, and commits are synchronous=FULL;
 *   - a control request is checked against its row of the command table (control.h) before
 *     any handler runs: an unknown command or field, a missing, mistyped, empty or over-long
 *     value, a bad duration is refused with the command and field named (test_enforce.sh
 *     sends tollgated's own table the same over its socket).
 * Runs as any user; the socket's chown to root needs root and is checked only then.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "daemon/daemon.h"
#include "lib/ctl.h"
#include "lib/log.h"
#include "state/state.h"
#include "testlib.h"
#include "lib/util.h"

static char dir[] = "/tmp/tg-hardening-XXXXXX";

static void test_esc(void)
{
	char small[8];

	TEST_BEGIN("escape: printable ASCII and UTF-8 unchanged");
	CHECK(!strcmp(tg_esc("AUP 3.1, ticket 4711"), "AUP 3.1, ticket 4711"));
	CHECK(!strcmp(tg_esc("Bäckerei Zürich \xe2\x82\xac \xf0\x9f\x93\xa6"),
		      "Bäckerei Zürich \xe2\x82\xac \xf0\x9f\x93\xa6"));

	TEST_BEGIN("escape: control characters, DEL and backslash");
	CHECK(!strcmp(tg_esc("a\nb"), "a\\x0ab"));
	CHECK(!strcmp(tg_esc("\x1b[2J\x1b]0;owned\x07"), "\\x1b[2J\\x1b]0;owned\\x07"));
	CHECK(!strcmp(tg_esc("x\x7fy\rz\t"), "x\\x7fy\\x0dz\\x09"));
	CHECK(!strcmp(tg_esc("C:\\dir"), "C:\\\\dir"));

	TEST_BEGIN("escape: C1 controls, invalid and overlong UTF-8 byte by byte");
	CHECK(!strcmp(tg_esc("\xc2\x9b"
			     "31m"),
		      "\\xc2\\x9b31m")); /* U+009B CSI */
	CHECK(!strcmp(tg_esc("\x9b"
			     "2J"),
		      "\\x9b2J"));
	CHECK(!strcmp(tg_esc("\xc0\xaf"), "\\xc0\\xaf"));	   /* overlong '/' */
	CHECK(!strcmp(tg_esc("\xed\xa0\x80"), "\\xed\\xa0\\x80")); /* a surrogate */
	CHECK(!strcmp(tg_esc("ab\xe2\x82"), "ab\\xe2\\x82"));	   /* cut sequence */

	TEST_BEGIN("escape: cut to the buffer, never mid-escape, always terminated");
	CHECK(tg_esc_to("abcdefghij", small, sizeof(small)) == 7 && !strcmp(small, "abcdefg"));
	CHECK(tg_esc_to("ab\ncd", small, sizeof(small)) == 7 && !strcmp(small, "ab\\x0ac"));
	CHECK(tg_esc_to("abcd\nx", small, sizeof(small)) == 4 && !strcmp(small, "abcd"));
	CHECK(tg_esc(NULL) == NULL);
}

/* What tg_err writes for a message with a forged second line and a terminal escape. */
static void test_log(void)
{
	char path[64], buf[512] = "";
	int fd, saved;
	FILE *f;

	TEST_BEGIN("log: a message is one line, its control characters escaped");
	snprintf(path, sizeof(path), "%s/stderr", dir);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && saved >= 0);
	if (fd < 0 || saved < 0)
		return;
	dup2(fd, 2);
	close(fd);
	tg_err("suspend: %s", "spam\ntollgate: info: customer cust-1 unsuspended\x1b[2K");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fgets(buf, sizeof(buf), f) != NULL);
	CHECK(!strcmp(buf, "tollgate: suspend: spam\\x0atollgate: info: customer cust-1 "
			   "unsuspended\\x1b[2K\n"));
	CHECK(fgets(buf, sizeof(buf), f) == NULL); /* nothing on a second line */
	fclose(f);
}

static void test_socket(void)
{
	char sock[128], victim[128], err[256];
	struct stat st;
	mode_t old;
	int fd;

	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);

	TEST_BEGIN("control socket: born 0660 under umask 000");
	old = umask(0);
	fd = tg_ctl_listen(sock, err, sizeof(err));
	umask(old);
	CHECK(fd >= 0);
	CHECK(!lstat(sock, &st) && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0660);
	if (geteuid() == 0) {
		CHECK(tg_ctl_set_group(sock, NULL, err, sizeof(err)) == 0);
		CHECK(!lstat(sock, &st) && (st.st_mode & 0777) == 0660 && st.st_uid == 0);
	}
	if (fd >= 0)
		close(fd);

	TEST_BEGIN("control socket: a symlink in its place redirects no chmod or chown");
	fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	chmod(victim, 0644);
	unlink(sock);
	CHECK(symlink(victim, sock) == 0);
	CHECK(tg_ctl_set_group(sock, NULL, err, sizeof(err)) < 0);
	CHECK_STR_CONTAINS(err, "ctl.sock");
	CHECK(!stat(victim, &st) && (st.st_mode & 0777) == 0644);

	TEST_BEGIN("control socket: a planted symlink is replaced, its target untouched");
	fd = tg_ctl_listen(sock, err, sizeof(err));
	CHECK(fd >= 0);
	CHECK(!lstat(sock, &st) && S_ISSOCK(st.st_mode));
	CHECK(!stat(victim, &st) && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644);
	if (fd >= 0)
		close(fd);
	unlink(sock);
	unlink(victim);
}

struct open_arg {
	const char *path;
	struct tg_statedb *st;
	int rc;
};

static void *open_thread(void *arg)
{
	struct open_arg *a = arg;
	char err[256];

	a->rc = tg_state_open(a->path, &a->st, err, sizeof(err));
	return NULL;
}

static int pragma_int(struct tg_statedb *st, const char *sql)
{
	sqlite3_stmt *q;
	int v = -1;

	if (sqlite3_prepare_v2(tg_state_sqlite(st), sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

static void test_statedb(void)
{
	char db[128], wal[140], lnk[128], err[256];
	struct tg_statedb *st = NULL;
	struct stat sb;
	mode_t old;
	int fd;

	snprintf(db, sizeof(db), "%s/state.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	snprintf(lnk, sizeof(lnk), "%s/link.db", dir);

	TEST_BEGIN("state.db: 0600 with its WAL under umask 000; synchronous=FULL");
	old = umask(0);
	CHECK(tg_state_open(db, &st, err, sizeof(err)) == 0);
	umask(old);
	CHECK(!stat(db, &sb) && (sb.st_mode & 0777) == 0600);
	CHECK(!stat(wal, &sb) && (sb.st_mode & 0777) == 0600);
	if (st) {
		CHECK(pragma_int(st, "PRAGMA synchronous") == 2); /* FULL */
		tg_state_close(st);
		st = NULL;
	}

	TEST_BEGIN("state.db: a world-readable one is narrowed, a group-readable one kept");
	chmod(db, 0666);
	CHECK(tg_state_open(db, &st, err, sizeof(err)) == 0);
	CHECK(!stat(db, &sb) && (sb.st_mode & 0777) == 0640);
	if (st)
		tg_state_close(st);
	st = NULL;
	chmod(db, 0640);
	CHECK(tg_state_open(db, &st, err, sizeof(err)) == 0);
	CHECK(!stat(db, &sb) && (sb.st_mode & 0777) == 0640);
	if (st)
		tg_state_close(st);
	st = NULL;

	TEST_BEGIN("state.db: opening it again keeps the locks of this process's other connection");
	CHECK(tg_state_open(db, &st, err, sizeof(err)) == 0);
	if (st) {
		struct open_arg oa = {.path = db};
		char cmd[300];
		pthread_t th;
		int status;

		CHECK(sqlite3_exec(tg_state_sqlite(st), "BEGIN IMMEDIATE", NULL, NULL, NULL) ==
		      SQLITE_OK);
		/* a second open in this process (the exporter's, say) while st holds the write
		 * lock: it waits for the lock, but whatever it does to the files first must not
		 * release st's locks */
		CHECK(pthread_create(&th, NULL, open_thread, &oa) == 0);
		usleep(300000);
		/* a fresh process (not a fork: SQLite's per-process lock bookkeeping would come
		 * along) must still find the database locked for writing */
		snprintf(cmd, sizeof(cmd),
			 "sqlite3 %s 'PRAGMA busy_timeout=0; BEGIN IMMEDIATE; ROLLBACK;' "
			 ">/dev/null 2>&1",
			 db);
		status = system(cmd);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0); /* "database is locked" */
		sqlite3_exec(tg_state_sqlite(st), "ROLLBACK", NULL, NULL, NULL);
		pthread_join(th, NULL);
		CHECK(oa.rc == 0);
		tg_state_close(oa.st);
		tg_state_close(st);
		st = NULL;
	}

	TEST_BEGIN("state.db: a symlink in its place is refused, not followed");
	CHECK(symlink(db, lnk) == 0);
	chmod(db, 0644);
	CHECK(tg_state_open(lnk, &st, err, sizeof(err)) < 0 && st == NULL);
	CHECK_STR_CONTAINS(err, "link.db");
	CHECK(!stat(db, &sb) && (sb.st_mode & 0777) == 0644);
	unlink(lnk);

	TEST_BEGIN("state.db: a FIFO in its place is refused at once");
	unlink(db);
	unlink(wal);
	CHECK(mkfifo(db, 0600) == 0);
	CHECK(tg_state_open(db, &st, err, sizeof(err)) < 0 && st == NULL);
	CHECK_STR_CONTAINS(err, "not a regular file");
	unlink(db);
	fd = open(db, O_RDONLY);
	CHECK(fd < 0);
}

static int runs;

static json_t *count_run(void *ctx, const json_t *req, const struct ucred *cred)
{
	(void)ctx;
	(void)req;
	(void)cred;
	runs++;
	return json_true();
}

static void test_ctl_table(void)
{
	static const struct tg_ctl_field sus[] = {
		{"customer", TG_CF_TEXT, true, 5, "an id"},
		{"for", TG_CF_DURATION, false, 0, "a duration above zero"},
		{NULL},
	};
	static const struct tg_ctl_field none[] = {{NULL}};
	static const struct tg_ctl_cmd table[] = {
		{"suspend", count_run, sus, true},
		{"ping", count_run, none, false},
		{NULL},
	};
	static const struct {
		const char *req, *want;
	} bad[] = {
		{"{}", "no \"command\""},
		{"{\"command\": 1}", "no \"command\""},
		{"{\"command\": \"sus\"}", "unknown command 'sus' (known: suspend, ping)"},
		{"{\"command\": \"suspend\"}", "suspend: \"customer\" (an id) is required"},
		{"{\"command\": \"suspend\", \"customer\": \"\"}", "\"customer\" (an id) is empty"},
		{"{\"command\": \"suspend\", \"customer\": \"abcdef\"}", "longer than 5 bytes"},
		{"{\"command\": \"suspend\", \"customer\": null}",
		 "must be a string: an id, not null"},
		{"{\"command\": \"suspend\", \"customer\": \"a\", \"for\": \"0s\"}",
		 "'0s' is not a duration above zero"},
		{"{\"command\": \"suspend\", \"customer\": \"a\", \"for\": \"1 h\"}",
		 "'1 h' is not a duration"},
		{"{\"command\": \"suspend\", \"customer\": \"a\", \"why\": \"x\"}",
		 "suspend: unknown field \"why\" (known: customer, for)"},
		{"{\"command\": \"ping\", \"x\": 1}",
		 "ping: unknown field \"x\" (the command takes none)"},
	};
	const struct tg_ctl_cmd *c;
	char err[256];
	json_t *req;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TEST_BEGIN(bad[i].req);
		req = json_loads(bad[i].req, 0, NULL);
		err[0] = '\0';
		c = req ? tg_ctl_select(table, req, err, sizeof(err)) : NULL;
		CHECK(req && !c);
		CHECK_STR_CONTAINS(err, bad[i].want);
		json_decref(req);
	}
	TEST_BEGIN("control table: a good request selects its row; no handler ran before");
	req = json_loads("{\"command\": \"suspend\", \"customer\": \"a\", \"for\": \"1h\"}", 0,
			 NULL);
	c = tg_ctl_select(table, req, err, sizeof(err));
	CHECK(c == &table[0] && c->writes);
	CHECK(runs == 0);
	json_decref(req);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_esc();
	test_log();
	test_socket();
	test_statedb();
	test_ctl_table();
	tl_rmtree(dir);
	return test_summary();
}
