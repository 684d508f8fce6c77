// SPDX-License-Identifier: GPL-2.0-only
/*
 * view.c - the objects Tollgate shows, each built once (view.h): what the CLI prints, the
 * API serves and `tollgate top` ranks. Builders read the maps (and the state database
 * they are handed) and return JSON; they never print.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include <bpf/bpf.h>

#include "view.h"
#include "lib/lib.h"

static const char *const dir_name[TG_DIR_NR] = {"upload", "download"};

json_t *tg_view_doc(const char *key, json_t *obj)
{
	if (!obj)
		return NULL;
	return json_pack("{si so}", "version", TG_JSON_VERSION, key, obj);
}

json_t *tg_view_counter(const struct tg_counter *c)
{
	return json_pack("{sI sI}", "packets", (json_int_t)c->pkts, "bytes", (json_int_t)c->bytes);
}

static json_int_t json_u64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (json_int_t)v;
}

/* {reason: {packets, bytes}} for every reason (a stable shape: zeros included) */
static json_t *reasons_json(const struct tg_counter *c)
{
	json_t *o = json_object();

	for (int r = 0; r < TG_R_NR && o; r++)
		json_object_set_new(o, tg_reason_name(r), tg_view_counter(&c[r]));
	return o;
}

/* Would-drops are counted in packets only (tg_cnoted). */
static json_t *would_drop_json(const struct tg_counter *c)
{
	json_t *o = json_object();

	for (int r = 0; r < TG_R_NR && o; r++)
		json_object_set_new(o, tg_reason_name(r),
				    json_pack("{sI}", "packets", (json_int_t)c[r].pkts));
	return o;
}

/*
 * Rate and effective burst back from the GCRA parameters, in integers: the rate as it was
 * configured (units.c tg_gcra_rate_bps), the burst exact. null: no limit.
 */
static json_t *limit_json(const struct tg_policer_cfg *p)
{
	if (!p->ipb_fns16)
		return json_null();
	return json_pack("{sI sI}", "rate_bps", json_u64(tg_gcra_rate_bps(p->ipb_fns16)),
			 "burst_bytes", json_u64(tg_gcra_burst_bytes(p->ipb_fns16, p->tol_fns)));
}

/* a VID, null for untagged, "*" for any (the CSV's spelling) */
static json_t *vlan_json(__u16 v)
{
	if (v == TG_VLAN_ANY)
		return json_string("*");
	return v == TG_VLAN_UNTAGGED ? json_null() : json_integer(v);
}

/* The limit of direction d, with the plan's peak and yellow DSCP when the customer has one. */
static json_t *limit_dir_json(const struct tg_maps *m, const struct tg_cust *c, int d)
{
	json_t *lim = limit_json(&c->pol[d]);
	struct tg_fprof fp;
	__u32 prof = c->fprof;

	if (!json_is_object(lim) || !(c->flags & TG_CF_TRTCM) || !prof || m->fprof < 0 ||
	    bpf_map_lookup_elem(m->fprof, &prof, &fp) || !fp.peak[d].ipb_fns16)
		return lim;
	json_object_set_new(
		lim, "peak_rate_bps",
		json_integer((json_int_t)(8e9 * 65536.0 / (double)fp.peak[d].ipb_fns16 + 0.5)));
	json_object_set_new(lim, "peak_burst_bytes",
			    json_integer((json_int_t)((double)fp.peak[d].tol_fns * 256.0 /
							      (double)fp.peak[d].ipb_fns16 +
						      0.5)));
	json_object_set_new(lim, "yellow_dscp", json_integer(fp.yellow_dscp));
	return lim;
}

/* What the customer contacted so far in the current enforcement interval (upload), or null. */
static json_t *contacted_json(const struct tg_maps *m, uint32_t idx)
{
	struct tg_fanout_est e;

	if (tg_read_fanout(m, idx, &e))
		return json_null();
	return json_pack("{sI sI sI sI sI sI}", "fanout_hosts", (json_int_t)(e.hosts + 0.5),
			 "fanout_ports", (json_int_t)(e.ports + 0.5), "smtp_conns",
			 (json_int_t)e.smtp_conns, "smtp_hosts", (json_int_t)(e.smtp_hosts + 0.5),
			 "tcp_syns", (json_int_t)e.syns, "unanswered_syns",
			 (json_int_t)e.unanswered);
}

json_t *tg_view_customer(const struct tg_maps *m, uint32_t idx, const char *id,
			 const struct tg_cust *rec, const struct tg_cust_counters *c)
{
	char ifname[IF_NAMESIZE] = "";
	json_t *o, *bind;

	if (rec->bind_ifindex && !if_indextoname(rec->bind_ifindex, ifname))
		snprintf(ifname, sizeof(ifname), "ifindex %u", rec->bind_ifindex);
	bind = json_pack("{so so so}", "interface",
			 rec->bind_ifindex ? json_string(ifname) : json_null(), "vlan",
			 vlan_json(rec->bind_vlan), "inner_vlan", vlan_json(rec->bind_ivlan));
	o = json_pack("{ss sI ss so}", "id", id, "index", (json_int_t)idx, "state",
		      tg_state_name(rec->state), "binding", bind);
	for (int d = 0; d < TG_DIR_NR && o; d++) {
		struct tg_counter total = {}, wtotal = {};

		for (int r = 0; r < TG_R_NR; r++) {
			total.pkts += c->drop[d][r].pkts;
			total.bytes += c->drop[d][r].bytes;
			wtotal.pkts += c->noted[d][r].pkts;
		}
		/* would_drop: passed (and counted in passed) although a reason matched;
		 * dropped_packets and would_drop_packets: the API's flat totals of before */
		json_object_set_new(o, dir_name[d],
				    json_pack("{so so so so sI so s{sI} sI}", "limit",
					      limit_dir_json(m, rec, d), "passed",
					      tg_view_counter(&c->pass[d]), "dropped",
					      reasons_json(c->drop[d]), "dropped_total",
					      tg_view_counter(&total), "dropped_packets",
					      (json_int_t)total.pkts, "would_drop",
					      would_drop_json(c->noted[d]), "would_drop_total",
					      "packets", (json_int_t)wtotal.pkts,
					      "would_drop_packets", (json_int_t)wtotal.pkts));
	}
	if (o) /* upload only: what the customer itself contacts */
		json_object_set_new(json_object_get(o, dir_name[TG_DIR_UP]), "contacted",
				    contacted_json(m, idx));
	return o;
}

int tg_view_customer_read(const struct tg_maps *m, uint32_t idx, const char *id, json_t **out)
{
	struct tg_cust_counters c;
	struct tg_cust rec;

	*out = NULL;
	if (bpf_map_lookup_elem(m->cust, &idx, &rec) || tg_read_cust(m, idx, &c))
		return -ENOENT;
	*out = tg_view_customer(m, idx, id, &rec, &c);
	return *out ? 0 : -ENOMEM;
}

int tg_view_customer_state(json_t *c, struct tg_statedb *st, const char *id)
{
	struct tg_enf_table t = {};
	const struct tg_enf_entry *e;
	json_t *ev;
	int err;

	err = tg_state_enf_load(st, &t);
	ev = err ? NULL : tg_state_events(st, id, 0, TG_VIEW_CUSTOMER_EVENTS, &err);
	if (!ev) {
		tg_enf_free(&t);
		return err ? err : -ENOMEM;
	}
	e = tg_enf_find(&t, id);
	json_object_set_new(c, "enforcement", e ? tg_enf_json(e) : json_null());
	json_object_set_new(c, "events", ev);
	tg_enf_free(&t);
	return 0;
}

void tg_view_sample_of(const struct tg_cust_counters *c, struct tg_view_sample *s)
{
	memset(s, 0, sizeof(*s));
	for (int d = 0; d < TG_DIR_NR; d++) {
		s->bytes[d] = c->pass[d].bytes;
		s->pkts[d] = c->pass[d].pkts;
		for (int r = 0; r < TG_R_NR; r++)
			s->drop_pkts[d] += c->drop[d][r].pkts;
	}
}

/* A counter's growth per second; 0 if it went back (the customer's counters were cleared). */
static double per_s(uint64_t now, uint64_t then, double w)
{
	return now >= then ? (double)(now - then) / w : 0.0;
}

json_t *tg_view_rates(double window_s, const struct tg_view_sample *now,
		      const struct tg_view_sample *then)
{
	json_t *r = json_pack("{sf}", "window_s", window_s);
	char k[32];

	for (int d = 0; d < TG_DIR_NR && r; d++) {
		snprintf(k, sizeof(k), "%s_bps", dir_name[d]);
		json_object_set_new(r, k,
				    json_real(per_s(now->bytes[d], then->bytes[d], window_s) * 8));
		snprintf(k, sizeof(k), "%s_pps", dir_name[d]);
		json_object_set_new(r, k, json_real(per_s(now->pkts[d], then->pkts[d], window_s)));
		snprintf(k, sizeof(k), "%s_drops_pps", dir_name[d]);
		json_object_set_new(
			r, k, json_real(per_s(now->drop_pkts[d], then->drop_pkts[d], window_s)));
	}
	return r;
}

json_t *tg_view_iface(const struct tg_maps *m, const struct tg_iface *v, unsigned int prog_id)
{
	struct tg_if_counters ic;
	struct tg_link_live live;
	unsigned int pid;
	const char *mode;
	json_t *o;

	if (tg_read_iface(m, v->slot, &ic))
		return NULL;
	mode = tg_xdp_mode_now((int)v->ifindex, &pid);
	/* read from the kernel and the pin: true with no daemon running too */
	tg_link_live(m->pin_dir, v->name, prog_id, &live);
	o = json_pack("{ss si ss ss ss ss sb sb ss si}", "name", v->name, "ifindex",
		      (int)v->ifindex, "role", tg_role_name(v->role), "direction",
		      dir_name[v->role == TG_ROLE_CUSTOMER ? TG_DIR_UP : TG_DIR_DOWN], "mode", mode,
		      "antispoof", tg_antispoof_name(v->antispoof), "monitor",
		      (v->flags & TG_IFF_MONITOR) != 0, "attached", live.state == TG_LINK_ATTACHED,
		      "state", tg_link_state_name(live.state), "slot", v->slot);
	if (!o)
		return NULL;
	json_object_set_new(o, "vlan_protocol",
			    json_string(v->flags & TG_IFF_VLAN_Q    ? "802.1q"
					: v->flags & TG_IFF_VLAN_AD ? "802.1ad"
								    : "any"));
	json_object_set_new(o, "counters",
			    json_pack("{so so so so}", "passed", tg_view_counter(&ic.pass),
				      "unclassified", tg_view_counter(&ic.uncl), "dropped",
				      reasons_json(ic.drop), "noted", reasons_json(ic.noted)));
	return o;
}

/*
 * Customers by state (TG_ST_*), from their records, read a chunk at a time: the status of
 * 1M customers costs no snapshot of every name and counter (the API's status is polled
 * every 2 s by the NOC page).
 */
#define STATE_CHUNK 4096u
static int count_states(const struct tg_maps *m, size_t nstate[TG_ST_SUSPENDED + 1])
{
	struct tg_cust *rec = calloc(STATE_CHUNK, sizeof(*rec));
	__u32 *keys = calloc(STATE_CHUNK, sizeof(*keys));
	int err = 0;

	memset(nstate, 0, sizeof(size_t) * (TG_ST_SUSPENDED + 1));
	if (!rec || !keys) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t base = 0; base < m->max_cust; base += STATE_CHUNK) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 in = base - 1, next = 0,
		      cnt = m->max_cust - base < STATE_CHUNK ? m->max_cust - base : STATE_CHUNK;

		if (bpf_map_lookup_batch(m->cust, base ? &in : NULL, &next, keys, rec, &cnt,
					 &opts) &&
		    errno != ENOENT) {
			err = -errno;
			break;
		}
		for (__u32 k = 0; k < cnt; k++)
			if (keys[k] && (rec[k].flags & TG_CF_VALID))
				nstate[rec[k].state <= TG_ST_SUSPENDED ? rec[k].state : 0]++;
	}
out:
	free(rec);
	free(keys);
	return err;
}

json_t *tg_view_status(const struct tg_maps *m)
{
	struct tg_iface all[TG_MAX_IFACES] = {};
	struct bpf_prog_info pinfo = {};
	__u32 plen = sizeof(pinfo), zero = 0;
	size_t nstate[TG_ST_SUSPENDED + 1];
	struct tg_config bc;
	json_t *ifaces;
	int n;

	if (count_states(m, nstate))
		return NULL;
	if (m->prog < 0 || bpf_obj_get_info_by_fd(m->prog, &pinfo, &plen))
		memset(&pinfo, 0, sizeof(pinfo));
	if (bpf_map_lookup_elem(m->config, &zero, &bc))
		memset(&bc, 0, sizeof(bc));
	ifaces = json_array();
	n = tg_ifaces_list(m, all, TG_MAX_IFACES);
	for (int i = 0; i < n && ifaces; i++) {
		json_t *o = tg_view_iface(m, &all[i], pinfo.id);

		if (o)
			json_array_append_new(ifaces, o);
	}
	return json_pack(
		"{si ss s{si si si} s{si si si si sI sI sI} s{s{si si} s{si si} s{si si}} "
		"so}",
		"version", TG_JSON_VERSION, "pin_dir", m->pin_dir, "program", "id", (int)pinfo.id,
		"layout_version", (int)bc.layout_version, "clock_tick_ns", (int)bc.clock_tick_ns,
		"customers", "loaded", (int)bc.ncustomers, "capacity", (int)(m->max_cust - 1),
		"prefixes_ipv4", (int)bc.nprefixes4, "prefixes_ipv6", (int)bc.nprefixes6, "active",
		(json_int_t)nstate[TG_ST_ACTIVE], "throttled", (json_int_t)nstate[TG_ST_THROTTLED],
		"suspended", (json_int_t)nstate[TG_ST_SUSPENDED], "tables", "ipv4_chunks", "used",
		(int)bc.v4_chunks, "capacity", (int)m->tbl8_chunks, "ipv6_chunks", "used",
		(int)bc.v6_chunks, "capacity", (int)(m->v6_chunks - TG_V6_ROOT_CHUNKS),
		"ipv6_nodes", "used", (int)bc.v6_cmps, "capacity", (int)m->v6_ncmp, "interfaces",
		ifaces);
}

json_t *tg_view_events(struct tg_statedb *st, const char *customer, int64_t since_ms, size_t limit,
		       int *err)
{
	json_t *ev = tg_state_events(st, customer, since_ms, limit, err);

	if (!ev)
		return NULL;
	ev = tg_view_doc("events", ev);
	if (!ev)
		*err = -ENOMEM;
	return ev;
}

static json_t *iso_ms(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

json_t *tg_view_quota(const struct tg_quota_cfg *q, const uint64_t used[TG_DIR_NR],
		      int64_t period_start_ms, int64_t period_end_ms)
{
	static const char *const dn[TG_DIR_NR] = {"upload", "download"};
	json_t *o = json_object();
	double max = 0;
	char reset[16];

	if (!o)
		return NULL;
	json_object_set_new(o, "period", json_string(tg_quota_period_name(q->period)));
	json_object_set_new(o, "reset", json_string(tg_quota_reset_name(q, reset, sizeof(reset))));
	json_object_set_new(o, "period_start", iso_ms(period_start_ms));
	json_object_set_new(o, "period_end", iso_ms(period_end_ms));
	for (int d = 0; d < TG_DIR_NR; d++) {
		double pct;

		if (!q->bytes[d]) {
			json_object_set_new(o, dn[d], json_null());
			continue;
		}
		pct = (double)used[d] * 100.0 / (double)q->bytes[d];
		max = pct > max ? pct : max;
		json_object_set_new(o, dn[d],
				    json_pack("{sI sI sf}", "quota_bytes", (json_int_t)q->bytes[d],
					      "used_bytes", (json_int_t)used[d], "used_pct", pct));
	}
	json_object_set_new(o, "used_pct", json_real(max));
	return o;
}

int tg_view_customer_quota(json_t *c, struct tg_statedb *st, const char *id, uint32_t idx,
			   const uint64_t passed[TG_DIR_NR], int64_t now_ms)
{
	struct tg_quota_row r;
	struct tg_quota_plan_row p;
	struct tg_quota_cfg qc = {};
	uint64_t used[TG_DIR_NR];
	int64_t ps;
	json_t *o;
	int err = tg_state_quota_view(st, id, &r, &p);

	if (err == -ENOENT) {
		json_object_set_new(c, "quota", json_null());
		return 0;
	}
	if (err)
		return err;
	for (int d = 0; d < TG_DIR_NR; d++)
		qc.bytes[d] = p.bytes[d];
	qc.period = p.period;
	qc.reset = p.reset;
	/* a period that began since the row was written: its usage is what passed since */
	ps = tg_quota_period_start(&qc, now_ms);
	if (ps <= r.period_start_ms)
		ps = r.period_start_ms;
	for (int d = 0; d < TG_DIR_NR; d++) {
		/* since the reading at the same index; at another, since the index was taken
		 * (its counters began at 0); a counter below its reading restarted from 0 */
		uint64_t since =
			r.idx == idx && passed[d] >= r.base[d] ? passed[d] - r.base[d] : passed[d];

		used[d] = (ps == r.period_start_ms ? r.used[d] : 0) + since;
	}
	o = tg_view_quota(&qc, used, ps, tg_quota_period_end(&qc, ps));
	if (!o)
		return -ENOMEM;
	json_object_set_new(c, "quota", o);
	return 0;
}
