// SPDX-License-Identifier: GPL-2.0-only
/*
 * check.c - one fixture through the program: the counters of every interface slot and
 * every customer read before and after (tg_read_iface, tg_read_cust), the change required
 * to be exactly the expected one; the verdict names, SKIP and FAIL lines.
 */
#include "golden.h"

const char *const dir_name[TG_DIR_NR] = {"up", "down"};

static void if_ctr_name(int i, char *buf, size_t n)
{
	if (i == 0)
		snprintf(buf, n, "pass");
	else if (i == 1)
		snprintf(buf, n, "unclassified");
	else if (i < 2 + TG_R_NR)
		snprintf(buf, n, "drop.%s", tg_reason_name(i - 2));
	else
		snprintf(buf, n, "noted.%s", tg_reason_name(i - 2 - TG_R_NR));
}

static void cust_ctr_name(int i, char *buf, size_t n)
{
	if (i < TG_DIR_NR)
		snprintf(buf, n, "pass.%s", dir_name[i]);
	else if (i < TG_DIR_NR + TG_DIR_NR * TG_R_NR)
		snprintf(buf, n, "drop.%s.%s", dir_name[(i - TG_DIR_NR) / TG_R_NR],
			 tg_reason_name((i - TG_DIR_NR) % TG_R_NR));
	else
		snprintf(buf, n, "noted.%s.%s",
			 dir_name[(i - TG_DIR_NR - TG_DIR_NR * TG_R_NR) / TG_R_NR],
			 tg_reason_name((i - TG_DIR_NR) % TG_R_NR));
}

int take_snap(struct snap *s)
{
	size_t i;
	int err;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < P_NR; i++) {
		err = tg_read_iface(&maps, i, &s->ifc[i]);
		if (err)
			return err;
	}
	for (i = 0; i < NCUST; i++) {
		err = tg_read_cust(&maps, cust_idx[i], &s->cust[i]);
		if (err)
			return err;
	}
	return 0;
}

void add(struct tg_counter *c, uint64_t pkts, uint64_t bytes)
{
	c->pkts += pkts;
	c->bytes += bytes;
}

void msg_add(char *msg, size_t n, const char *fmt, ...)
{
	size_t len = strlen(msg);
	va_list ap;

	if (len + 1 >= n)
		return;
	va_start(ap, fmt);
	vsnprintf(msg + len, n - len, fmt, ap);
	va_end(ap);
}

/* Describe every counter whose change differs from the expected one; 0 if none. */
int diff_snaps(const struct snap *before, const struct snap *after, const struct snap *want,
	       char *msg, size_t n)
{
	char name[48];
	int bad = 0;
	size_t i, k;

	for (i = 0; i < P_NR; i++) {
		const struct tg_counter *b = (const void *)&before->ifc[i],
					*a = (const void *)&after->ifc[i],
					*w = (const void *)&want->ifc[i];

		for (k = 0; k < IF_NCTR; k++) {
			if (a[k].pkts == w[k].pkts && a[k].bytes == w[k].bytes)
				continue;
			if_ctr_name(k, name, sizeof(name));
			msg_add(msg, n,
				"; if[%s] %s %+" PRId64 "/%+" PRId64 " want %+" PRId64 "/%+" PRId64,
				profiles[i].name, name, (int64_t)(a[k].pkts - b[k].pkts),
				(int64_t)(a[k].bytes - b[k].bytes),
				(int64_t)(w[k].pkts - b[k].pkts),
				(int64_t)(w[k].bytes - b[k].bytes));
			bad = 1;
		}
	}
	for (i = 0; i < NCUST; i++) {
		const struct tg_counter *b = (const void *)&before->cust[i],
					*a = (const void *)&after->cust[i],
					*w = (const void *)&want->cust[i];

		for (k = 0; k < CUST_NCTR; k++) {
			if (a[k].pkts == w[k].pkts && a[k].bytes == w[k].bytes)
				continue;
			cust_ctr_name(k, name, sizeof(name));
			msg_add(msg, n,
				"; %s %s %+" PRId64 "/%+" PRId64 " want %+" PRId64 "/%+" PRId64,
				custs[i].id, name, (int64_t)(a[k].pkts - b[k].pkts),
				(int64_t)(a[k].bytes - b[k].bytes),
				(int64_t)(w[k].pkts - b[k].pkts),
				(int64_t)(w[k].bytes - b[k].bytes));
			bad = 1;
		}
	}
	return bad;
}

/* ------------------------------------------------------------------------------------- */
/* Running packets                                                                       */
/* ------------------------------------------------------------------------------------- */

bool verbose;
bool have_if_b;	       /* IF_B and IF_C exist */
bool v4_tables_broken; /* failing IPv4 fixtures then point at the table check */

int set_profile(int prof)
{
	struct tg_iface none = {};
	__u32 key = profiles[prof].ifindex;

	if (prof == P_NOIF) /* tg_ifaces is an array: an all-zero entry is "not configured" */
		return bpf_map_update_elem(maps.ifaces, &key, &none, BPF_ANY) ? -errno : 0;
	return th_set_profile(&maps, &profiles[prof], prof);
}

/* One BPF_PROG_TEST_RUN of one frame arriving on ifindex (th_run, no output read back). */
int run_frame(int ifindex, const uint8_t *frame, size_t len, __u32 *retval)
{
	return th_run(&maps, ifindex, frame, len, NULL, 0, retval);
}

const char *verdict_name(__u32 v)
{
	switch (v) {
	case XDP_ABORTED:
		return "XDP_ABORTED";
	case XDP_DROP:
		return "XDP_DROP";
	case XDP_PASS:
		return "XDP_PASS";
	case XDP_TX:
		return "XDP_TX";
	case XDP_REDIRECT:
		return "XDP_REDIRECT";
	}
	return "?";
}

void hexdump(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		fprintf(stderr, "%02x%s", p[i],
			(i + 1) % 32 == 0 || i + 1 == len ? "\n      " : " ");
	fprintf(stderr, "\n");
}

void skip(const char *desc, const char *why)
{
	printf("SKIP %s: %s\n", desc, why);
	nskipped++;
}

void fail(const char *desc, const char *bug, const char *msg)
{
	if (bug)
		fprintf(stderr, "FAIL [BUG: %s] %s: %s\n", bug, desc, msg);
	else
		fprintf(stderr, "FAIL %s: %s\n", desc, msg);
	tl_case_failed = 1;
}

int send_burst(struct burst *bu)
{
	uint8_t frames[BURST_PKTS][2048], out[2048];
	struct built b[BURST_PKTS];
	int npkts = bu->npkts ? bu->npkts : 1, ifindex = profiles[bu->prof].ifindex, err = 0;

	bu->sent = bu->passed = 0;
	bu->first_drop = -1;
	if (!bu->frame && (npkts > BURST_PKTS || !bu->pkts))
		return -EINVAL;
	for (int k = 0; !bu->frame && k < npkts; k++)
		if (build_pkt(&bu->pkts[k], frames[k], &b[k]))
			return -EINVAL;
	for (int i = 0; i < bu->n; i++) {
		const uint8_t *f = bu->frame ? bu->frame : frames[i % npkts];
		size_t len = bu->frame ? bu->len : b[i % npkts].len;
		__u32 v = 0;

		err = th_run(&maps, ifindex, f, len, bu->each ? out : NULL, sizeof(out), &v);
		if (err)
			break;
		bu->sent++;
		bu->passed += v == XDP_PASS;
		if (bu->verdicts)
			bu->verdicts[i] = v;
		if (bu->each)
			bu->each(bu, i, v, bu->frame ? NULL : &b[i % npkts], out);
		if (v == XDP_DROP && bu->first_drop < 0) {
			bu->first_drop = i;
			if (bu->until_drop)
				break;
		}
	}
	return err;
}

/* What one packet should change, given the fixture's expectation. */
void expect(struct snap *want, int prof, int kind, int reason, const char *cust, uint64_t pkts,
	    uint64_t bytes)
{
	struct tg_if_counters *ic = &want->ifc[prof];
	int dir = profiles[prof].role == TG_ROLE_CUSTOMER ? TG_DIR_UP : TG_DIR_DOWN;
	int c = cust ? cust_no(cust) : -1;

	switch (kind) {
	case E_PASS:
		add(&ic->pass, pkts, bytes);
		if (c >= 0)
			add(&want->cust[c].pass[dir], pkts, bytes);
		break;
	case E_UNCL:
		add(&ic->uncl, pkts, bytes);
		break;
	case E_DROP:
		add(&ic->drop[reason], pkts, bytes);
		if (c >= 0)
			add(&want->cust[c].drop[dir][reason], pkts, bytes);
		break;
	case E_NOTED:
		add(&ic->noted[reason], pkts, bytes);
		if (c >= 0) {
			add(&want->cust[c].pass[dir], pkts, bytes);
			add(&want->cust[c].noted[dir][reason], pkts, 0);
		}
		break;
	default:
		break;
	}
}

void run_fixture(const struct fixture *f)
{
	struct snap before, after, want;
	uint8_t frame[2048];
	struct built b;
	char msg[2048] = "";
	uint64_t bytes;
	bool unparsed;
	__u32 ret = 0;
	int err;

	TEST_BEGIN(f->desc);
	if (profiles[f->prof].ifindex <= 0) {
		tl_case = NULL; /* not counted */
		skip(f->desc, "no second interface in the test namespace (veth/ifb unavailable)");
		return;
	}
	if (build_pkt(&f->pkt, frame, &b)) {
		fail(f->desc, NULL, "fixture error: bad address");
		return;
	}
	err = set_profile(f->prof);
	if (!err)
		err = take_snap(&before);
	if (!err)
		err = run_frame(profiles[f->prof].ifindex, frame, b.len, &ret);
	if (err == -EINVAL && f->needs_meta) {
		tl_case = NULL;
		skip(f->desc, "the kernel never gives XDP fewer than ETH_HLEN bytes "
			      "(BPF_PROG_TEST_RUN refuses it, even behind metadata; so do "
			      "bpf_xdp_adjust_head/tail): unreachable, untestable here");
		return;
	}
	if (!err)
		err = take_snap(&after);
	if (err) {
		snprintf(msg, sizeof(msg), "test run or counter read failed: %s", strerror(-err));
		fail(f->desc, f->bug, msg);
		return;
	}

	/* an unparsable frame (and ARP) is counted by its length on the wire */
	unparsed = f->reason == TG_R_MALFORMED && (f->kind == E_DROP || f->kind == E_NOTED);
	bytes = (unparsed && !f->l4bad) || f->pkt.arp || f->pkt.l2len ? b.len : b.iplen;
	want = before;
	expect(&want, f->prof, f->kind, f->reason, f->cust, 1, bytes);

	if (ret != (__u32)f->verdict)
		msg_add(msg, sizeof(msg), "; verdict %s want %s", verdict_name(ret),
			verdict_name(f->verdict));
	diff_snaps(&before, &after, &want, msg, sizeof(msg));
	if (msg[0] && !f->bug && v4_tables_broken && !b.v6)
		msg_add(msg, sizeof(msg), "; (IPv4 tables wrong: see the [BUG] sync check)");
	if (msg[0]) {
		fail(f->desc, f->bug, msg + 2);
		if (verbose) {
			fprintf(stderr, "      frame (%zu bytes, IP length %u):\n      ", b.len,
				b.iplen);
			hexdump(frame, b.len);
		}
	} else if (f->bug) {
		printf("NOTE %s: marked as a bug (%s) but passes now\n", f->desc, f->bug);
	}
}
