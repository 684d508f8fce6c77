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

/* One reading: the snapshot and every customer's drops by direction, summed over reasons. */
struct reading {
	struct tg_snap sn;
	uint64_t (*drops)[TG_DIR_NR]; /* by customer index */
	double t;		      /* CLOCK_MONOTONIC, seconds */
};

struct top_row {
	uint32_t idx;
	uint64_t bytes, drops; /* grown since the first reading (both directions): the sort keys */
	int reason;	       /* the reason with the most drops so far, or -1 */
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
				r->drops[i][d] += tg_snap_drops(m, &r->sn, i, d, x);
	}
	return 0;
}

/* Customer i of reading r, as the view's rates take it. */
static void sample_of(const struct reading *r, uint32_t i, struct tg_view_sample *s)
{
	for (int d = 0; d < TG_DIR_NR; d++) {
		s->bytes[d] = r->sn.pass[i].bytes[d];
		s->pkts[d] = r->sn.pass[i].pkts[d];
		s->drop_pkts[d] = r->drops[i][d];
	}
}

static uint64_t grown(uint64_t now, uint64_t then)
{
	return now >= then ? now - then : 0;
}

/* Both readings are the same time apart for every customer: growth sorts as rate does. */
static int by_bps(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int by_drops(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->drops != y->drops)
		return x->drops < y->drops ? 1 : -1;
	return by_bps(a, b);
}

/* The customers of reading b with their rates since a, sorted; *n of them. */
static struct top_row *rows_of(struct tg_maps *m, const struct reading *a, const struct reading *b,
			       bool drops, size_t *n)
{
	struct top_row *r = calloc(b->sn.nrows + 1, sizeof(*r));

	*n = 0;
	if (!r)
		return NULL;
	for (size_t k = 0; k < b->sn.nrows; k++) {
		uint32_t i = b->sn.rows[k].idx;
		struct top_row *t = &r[(*n)++];
		uint64_t most = 0;

		t->idx = i;
		t->reason = -1;
		for (int d = 0; d < TG_DIR_NR; d++) {
			t->bytes += grown(b->sn.pass[i].bytes[d], a->sn.pass[i].bytes[d]);
			t->drops += grown(b->drops[i][d], a->drops[i][d]);
		}
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

/*
 * The frame: each shown customer's rates are the view's (tg_view_rates, as the API's
 * /customers/ID), with top's own upload_bps, download_bps and drop_pps beside them.
 */
static json_t *frame_json(const struct reading *a, const struct reading *b, const struct top_row *r,
			  size_t n, size_t show, bool drops)
{
	double dt = b->t - a->t > 0.001 ? b->t - a->t : 0.001;
	json_t *arr = json_array();

	for (size_t k = 0; k < n && k < show && arr; k++) {
		struct tg_view_sample now, then;
		uint32_t i = r[k].idx;
		json_t *rt;

		sample_of(b, i, &now);
		sample_of(a, i, &then);
		rt = tg_view_rates(dt, &now, &then);
		json_array_append_new(
			arr,
			json_pack(
				"{ss sI ss sf sf sf ss so}", "id", b->sn.names[i], "index",
				(json_int_t)i, "state", tg_state_name(b->sn.rec[i].state),
				"upload_bps", json_real_value(json_object_get(rt, "upload_bps")),
				"download_bps",
				json_real_value(json_object_get(rt, "download_bps")), "drop_pps",
				json_real_value(json_object_get(rt, "upload_drops_pps")) +
					json_real_value(json_object_get(rt, "download_drops_pps")),
				"top_drop_reason",
				r[k].reason >= 0 ? tg_reason_name(r[k].reason) : "", "rates", rt));
	}
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
		doc = r ? frame_json(&a, &b, r, n, (size_t)count, drops) : NULL;
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
