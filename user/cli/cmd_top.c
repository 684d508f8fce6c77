// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_top.c - tollgate top: the busiest customers live, refreshed every interval, over
 * SSH like top(1). It reads the pinned maps itself (no daemon needed); rates are the
 * difference of two readings. Keys: b sort by bandwidth, d by drops, q quit. Without a
 * terminal, or with --once, it prints one frame (after one interval) and exits; -j gives
 * that frame as JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "lib/lib.h"
#include "datapath/datapath.h"

/* One reading: the snapshot and every customer's drops, summed over reasons. */
struct reading {
	struct tg_snap sn;
	uint64_t *drops; /* by customer index */
	double t;	 /* CLOCK_MONOTONIC, seconds */
};

struct top_row {
	uint32_t idx;
	double bps[TG_DIR_NR], drop_pps;
	int reason; /* the reason with the most drops so far, or -1 */
};

static double mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void reading_free(struct reading *r)
{
	tg_snap_free(&r->sn);
	free(r->drops);
	r->drops = NULL;
}

static int reading_take(struct tg_maps *m, struct reading *r)
{
	int err = tg_snap_take(m, &r->sn, true);

	if (err)
		return err;
	r->t = mono_s();
	r->drops = calloc(r->sn.n, sizeof(*r->drops));
	if (!r->drops) {
		reading_free(r);
		return -ENOMEM;
	}
	for (size_t k = 0; k < r->sn.nrows; k++) {
		uint32_t i = r->sn.rows[k].idx;

		for (int d = 0; d < TG_DIR_NR; d++)
			for (int x = 0; x < TG_R_NR; x++)
				r->drops[i] += tg_snap_drops(m, &r->sn, i, d, x);
	}
	return 0;
}

static int by_bps(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;
	double u = x->bps[0] + x->bps[1], v = y->bps[0] + y->bps[1];

	if (u != v)
		return u < v ? 1 : -1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int by_drops(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->drop_pps != y->drop_pps)
		return x->drop_pps < y->drop_pps ? 1 : -1;
	return by_bps(a, b);
}

static double rate(uint64_t now, uint64_t then, double dt)
{
	return now >= then ? (double)(now - then) / dt : 0;
}

/* The customers of reading b with their rates since a, sorted; *n of them. */
static struct top_row *rows_of(struct tg_maps *m, const struct reading *a, const struct reading *b,
			       bool drops, size_t *n)
{
	struct top_row *r = calloc(b->sn.nrows + 1, sizeof(*r));
	double dt = b->t - a->t > 0.001 ? b->t - a->t : 0.001;

	*n = 0;
	if (!r)
		return NULL;
	for (size_t k = 0; k < b->sn.nrows; k++) {
		uint32_t i = b->sn.rows[k].idx;
		struct top_row *t = &r[(*n)++];
		uint64_t most = 0;

		t->idx = i;
		t->reason = -1;
		for (int d = 0; d < TG_DIR_NR; d++)
			t->bps[d] = rate(b->sn.pass[i].bytes[d], a->sn.pass[i].bytes[d], dt) * 8;
		t->drop_pps = rate(b->drops[i], a->drops[i], dt);
		for (int x = 0; x < TG_R_NR; x++) {
			uint64_t v = tg_snap_drops(m, &b->sn, i, TG_DIR_UP, x) +
				     tg_snap_drops(m, &b->sn, i, TG_DIR_DOWN, x);

			if (v > most) {
				most = v;
				t->reason = x;
			}
		}
	}
	qsort(r, *n, sizeof(*r), drops ? by_drops : by_bps);
	return r;
}

static json_t *frame_json(const struct reading *b, const struct top_row *r, size_t n, size_t show,
			  bool drops)
{
	json_t *arr = json_array();

	for (size_t k = 0; k < n && k < show; k++)
		json_array_append_new(
			arr, json_pack("{ss ss sf sf sf ss}", "id", b->sn.names[r[k].idx], "state",
				       tg_state_name(b->sn.rec[r[k].idx].state), "upload_bps",
				       r[k].bps[TG_DIR_UP], "download_bps", r[k].bps[TG_DIR_DOWN],
				       "drop_pps", r[k].drop_pps, "top_drop_reason",
				       r[k].reason >= 0 ? tg_reason_name(r[k].reason) : ""));
	return json_pack("{si ss sI sI sI sI so}", "version", TG_JSON_VERSION, "sort",
			 drops ? "drops" : "bytes", "customers", (json_int_t)b->sn.nrows, "active",
			 (json_int_t)b->sn.nstate[TG_ST_ACTIVE], "throttled",
			 (json_int_t)b->sn.nstate[TG_ST_THROTTLED], "suspended",
			 (json_int_t)b->sn.nstate[TG_ST_SUSPENDED], "top", arr);
}

static void frame_text(const json_t *doc)
{
	const json_t *c;
	size_t i;
	char up[32], down[32];

	printf("tollgate top - %lld customers: %lld active, %lld throttled, %lld suspended; "
	       "sorted by %s (b: bandwidth, d: drops, q: quit)\n\n",
	       json_integer_value(json_object_get(doc, "customers")),
	       json_integer_value(json_object_get(doc, "active")),
	       json_integer_value(json_object_get(doc, "throttled")),
	       json_integer_value(json_object_get(doc, "suspended")),
	       strcmp(json_string_value(json_object_get(doc, "sort")), "drops") ? "bandwidth"
										: "drops");
	printf("%-24s %-9s %14s %14s %12s  %s\n", "CUSTOMER", "STATE", "UPLOAD", "DOWNLOAD",
	       "DROPS/s", "MOST DROPPED AS");
	json_array_foreach (json_object_get(doc, "top"), i, c) {
		printf("%-24s %-9s %14s %14s %12.0f  %s\n",
		       json_string_value(json_object_get(c, "id")),
		       json_string_value(json_object_get(c, "state")),
		       tg_human_bps(json_real_value(json_object_get(c, "upload_bps")), up,
				    sizeof(up)),
		       tg_human_bps(json_real_value(json_object_get(c, "download_bps")), down,
				    sizeof(down)),
		       json_real_value(json_object_get(c, "drop_pps")),
		       json_string_value(json_object_get(c, "top_drop_reason")));
	}
	fflush(stdout);
}

/* tollgate top [--sort bytes|drops] [-n N] [--interval S] [--once] */
int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"sort", required_argument, NULL, 's'},
		{"count", required_argument, NULL, 'n'},
		{"interval", required_argument, NULL, 'i'},
		{"once", no_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	struct reading a = {}, b = {};
	struct termios saved, raw;
	bool drops = false, once = false, tty, raw_on = false;
	double interval = 1.0;
	long count = 20;
	char pin_dir[512], *end;
	struct tg_maps m;
	int opt, err = 0;

	optind = 0;
	while ((opt = getopt_long(argc + 1, argv - 1, "n:", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (strcmp(optarg, "bytes") && strcmp(optarg, "drops"))
				goto usage;
			drops = !strcmp(optarg, "drops");
			break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end || count < 1 || count > 100000)
				goto usage;
			break;
		case 'i':
			interval = strtod(optarg, &end);
			if (*end || interval < 0.2 || interval > 3600)
				goto usage;
			break;
		case 'o':
			once = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc + 1)
		goto usage;
	tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) && !tg_opts.json;
	once = once || !tty;
	if (tg_opts_pin_dir(pin_dir, sizeof(pin_dir)))
		return 1;
	err = tg_maps_open(pin_dir, NULL, false, &m);
	if (err) {
		tg_err("%s: %s", pin_dir,
		       err == -ENOENT ? "Tollgate is not loaded (nothing pinned)" : strerror(-err));
		return 1;
	}
	if (!once && !tcgetattr(STDIN_FILENO, &saved)) {
		raw = saved;
		raw.c_lflag &= ~(ICANON | ECHO);
		raw_on = !tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	err = reading_take(&m, &a);
	while (!err) {
		struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
		struct top_row *r;
		size_t n;
		json_t *doc;
		char key = 0;

		if (!once && poll(&p, 1, (int)(interval * 1000)) > 0 &&
		    read(STDIN_FILENO, &key, 1) == 1) {
			if (key == 'q')
				break;
			drops = key == 'd' ? true : key == 'b' ? false : drops;
		} else if (once) {
			usleep((useconds_t)(interval * 1e6));
		}
		err = reading_take(&m, &b);
		if (err)
			break;
		r = rows_of(&m, &a, &b, drops, &n);
		doc = r ? frame_json(&b, r, n, (size_t)count, drops) : NULL;
		free(r);
		if (!doc) {
			err = -ENOMEM;
			break;
		}
		if (!once)
			printf("\033[H\033[2J");
		tg_print(doc, frame_text);
		reading_free(&a);
		a = b;
		memset(&b, 0, sizeof(b));
		if (once)
			break;
	}
	if (raw_on)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	reading_free(&a);
	reading_free(&b);
	tg_maps_close(&m);
	if (err)
		tg_err("top: cannot read the maps: %s", strerror(-err));
	return err ? 1 : 0;
usage:
	tg_err("usage: tollgate top [--sort bytes|drops] [-n N] [--interval SECONDS] [--once]");
	return 2;
}
