// SPDX-License-Identifier: GPL-2.0-only
/*
 * world.c - what every group runs against: the test's network namespace with its
 * interfaces, the interface profiles, the plans and customers (a struct tg_cfg built in
 * memory) and their sync into a private, unpinned instance of the maps.
 */
#include "golden.h"

struct th_profile profiles[P_NR] = {
	[P_STRICT] = {"strict", IF_A, TG_ROLE_CUSTOMER, TG_AS_STRICT, 0, 0},
	[P_LOOSE] = {"loose", IF_A, TG_ROLE_CUSTOMER, TG_AS_LOOSE, 0, 0},
	[P_OFF] = {"antispoof-off", IF_A, TG_ROLE_CUSTOMER, TG_AS_OFF, 0, 0},
	[P_STRICT_B] = {"strict-b", IF_B, TG_ROLE_CUSTOMER, TG_AS_STRICT, 0, 0},
	[P_UP] = {"upstream", IF_B, TG_ROLE_UPSTREAM, TG_AS_OFF, 0, 0},
	[P_MON] = {"monitor", IF_A, TG_ROLE_CUSTOMER, TG_AS_STRICT, TG_IFF_MONITOR, 0},
	[P_UP_MON] = {"upstream-monitor", IF_B, TG_ROLE_UPSTREAM, TG_AS_OFF, TG_IFF_MONITOR, 0},
	[P_NOIF] = {"unconfigured", IF_C, TG_ROLE_CUSTOMER, TG_AS_STRICT, 0, 0},
	[P_STRICT_Q] = {"strict-802.1q", IF_A, TG_ROLE_CUSTOMER, TG_AS_STRICT, TG_IFF_VLAN_Q, 0},
	[P_STRICT_AD] = {"strict-802.1ad", IF_A, TG_ROLE_CUSTOMER, TG_AS_STRICT, TG_IFF_VLAN_AD, 0},
};
static const struct plan_extra plan_extra[PL_NR] = {
	[PL_FLOOD] = {{.pps[TG_FC_SYN] = FL_SYN,
		       .pps[TG_FC_UDP] = FL_UDP,
		       .pps[TG_FC_ICMP] = FL_ICMP,
		       .burst[TG_FC_ICMP] = FL_ICMP_BURST,
		       .pps[TG_FC_FRAG] = FL_FRAG,
		       .pps[TG_FC_REFL] = FL_REFL},
		      TG_SMTP_LIMIT,
		      FL_SMTP},
	[PL_SMTPBLK] = {{}, TG_SMTP_BLOCK, 0},
	[PL_PERSRC] = {{.pps[TG_FC_SRC] = FL_SRC, .block_ns = FL_BLOCK_S * 1000000000ull},
		       TG_SMTP_ALLOW,
		       0},
	/* h3: blocks outlast the share test, whatever the machine's speed */
	[PL_PERSRC60] = {{.pps[TG_FC_SRC] = FL_SRC, .block_ns = 60 * 1000000000ull},
			 TG_SMTP_ALLOW,
			 0},
};
const struct tg_rate_cfg plan_rates[PL_NR][TG_DIR_NR] = {
	[PL_FLAT] = {{0, 0, 0, 0}, {0, 0, 0, 0}},
	[PL_UP8M] = {{UP8M_BPS, TEST_BURST, 0, 0}, {0, 0, 0, 0}},
	[PL_DOWN8K] = {{0, 0, 0, 0}, {DOWN8K_BPS, TEST_BURST, 0, 0}},
	[PL_FLOOD] = {{0, 0, 0, 0}, {0, 0, 0, 0}},
	[PL_SMTPBLK] = {{0, 0, 0, 0}, {0, 0, 0, 0}},
	[PL_PERSRC] = {{0, 0, 0, 0}, {0, 0, 0, 0}},
	[PL_PERSRC60] = {{0, 0, 0, 0}, {0, 0, 0, 0}},
	[PL_P_TRTCM] = {{TR_CIR_BPS, TR_CBS, TR_PIR_BPS, TR_PBS},
			{TR_CIR_BPS, TR_CBS, TR_PIR_BPS, TR_PBS}},
};

const struct cust_def custs[] = {
	/* LPM: a /24 with a /32 and a /26 inside; a /48 with a /56 and a /64 inside it */
	{"c-a", IF_A, VNONE, VNONE, PL_FLAT, {"198.51.100.0/24", "2001:db8:a::/48"}},
	{"c-b", IF_A, VNONE, VNONE, PL_FLAT, {"198.51.100.7/32", "2001:db8:a:100::/56"}},
	{"c-c", IF_A, VNONE, VNONE, PL_FLAT, {"198.51.100.64/26", "2001:db8:a:1a0::/64"}},
	/* a /16 with a /30 inside (unbound until layout 9; b-u* are the unbound ones now) */
	{"c-d", IF_A, VNONE, VNONE, PL_FLAT, {"10.20.0.0/16", "2001:db8:d::/48"}},
	{"c-e", IF_A, VNONE, VNONE, PL_FLAT, {"10.20.30.40/30", "2001:db8:d:1e::/64"}},
	/* bound to the other interface */
	{"c-o", IF_B, VNONE, VNONE, PL_FLAT, {"203.0.113.0/24", "2001:db8:c::/48"}},
	/* VLAN 100, and QinQ 100.200 */
	{"c-v", IF_A, 100, VNONE, PL_FLAT, {"192.0.2.0/26", "2001:db8:100::/48"}},
	{"c-q", IF_A, 100, 200, PL_FLAT, {"192.0.2.64/26", "2001:db8:200::/48"}},
	/* policed */
	{"c-r", IF_A, VNONE, VNONE, PL_UP8M, {"198.18.0.0/24", "2001:db8:300::/48"}},
	{"c-k", IF_A, VNONE, VNONE, PL_DOWN8K, {"198.18.1.0/24", "2001:db8:301::/48"}},
	/* packet-rate limits and SMTP policy; c-f and c-s on any VLAN of IF_A (`*`), for the
	 * fixtures that send them tagged */
	{"c-f", IF_A, VANY, VANY, PL_FLOOD, {"198.18.2.0/24", "2001:db8:302::/48"}},
	{"c-s", IF_A, VANY, VANY, PL_SMTPBLK, {"198.18.3.0/24", "2001:db8:303::/48"}},
	{"c-p", IF_A, VNONE, VNONE, PL_PERSRC, {"198.18.4.0/24", "2001:db8:304::/48"}},
	/* PL_FLOOD with a SYN limit of its own (OWN_SYN, the CSV's syn column) */
	{"c-g", IF_A, VNONE, VNONE, PL_FLOOD, {"198.18.5.0/24", "2001:db8:305::/48"}},
	/* enforcement (enf): suspended, bound to IF_A; throttled to THROTTLE_BPS */
	{"c-z", IF_A, VNONE, VNONE, PL_FLAT, {"198.18.6.0/24", "2001:db8:306::/48"}},
	{"c-t", IF_A, VNONE, VNONE, PL_UP8M, {"198.18.7.0/24", "2001:db8:307::/48"}},
	/* h3: ICMP classes (PL_FLOOD), per-source shares (two PL_PERSRC customers), and the
	 * owner of access port IF_A VLAN 300 (exceptions) */
	{"l-f", IF_A, VNONE, VNONE, PL_FLOOD, {"198.18.20.0/24", "2001:db8:320::/48"}},
	{"l-p", IF_A, VNONE, VNONE, PL_PERSRC60, {"198.18.21.0/24"}},
	{"l-q", IF_A, VNONE, VNONE, PL_PERSRC60, {"198.18.22.0/24"}},
	{"l-x", IF_A, 300, VNONE, PL_FLAT, {"198.18.23.0/24", "2001:db8:323::/48"}},
	/* h5: PPPoE customers behind QinQ 300.400 on IF_A: policed, and with packet-rate limits */
	{"e-r", IF_A, 300, 400, PL_UP8M, {"198.18.10.0/24", "2001:db8:310::/48"}},
	{"e-f", IF_A, 300, 401, PL_FLOOD, {"198.18.11.0/24", "2001:db8:311::/48"}},
	/* h1 bindings: unbound (spoof wherever strict); IF_B `*`; IF_A `300.*`; IF_B `300` */
	{"b-u", "", VUNT, VUNT, PL_FLAT, {"198.18.40.0/24", "2001:db8:b40::/48"}},
	{"b-w", IF_B, VANY, VANY, PL_FLAT, {"198.18.41.0/24", "2001:db8:b41::/48"}},
	{"b-x", IF_A, 300, VANY, PL_FLAT, {"198.18.42.0/24", "2001:db8:b42::/48"}},
	{"b-y", IF_B, 300, VUNT, PL_FLAT, {"198.18.43.0/24", "2001:db8:b43::/48"}},
	/* h4: two-rate three-colour policer (test_trtcm): one bucket pair per case */
	{"p-t4", IF_A, VNONE, VNONE, PL_P_TRTCM, {"198.18.80.0/24", "2001:db8:380::/48"}},
	{"p-t6", IF_A, VNONE, VNONE, PL_P_TRTCM, {"198.18.81.0/24", "2001:db8:381::/48"}},
	/* VLAN 399 (no other fixture uses it) and IF_A untagged: no port gets an owner it did
	 * not have (spoof charging) */
	{"p-tq", IF_A, 399, VNONE, PL_P_TRTCM, {"198.18.82.0/24", "2001:db8:382::/48"}},
	/* in a PPPoE session behind QinQ 300.402: the DSCP is behind PPPoE and PPP headers */
	{"p-tp", IF_A, 300, 402, PL_P_TRTCM, {"198.18.85.0/24", "2001:db8:385::/48"}},
	{"p-td", IF_A, VNONE, VNONE, PL_P_TRTCM, {"198.18.83.0/24", "2001:db8:383::/48"}},
	/* throttled (enf): no peak above the throttle rate */
	{"p-tt", IF_A, VNONE, VNONE, PL_P_TRTCM, {"198.18.84.0/24", "2001:db8:384::/48"}},
};
_Static_assert(ARRAY_SIZE(custs) == NCUST, "NCUST in golden.h is not the number of custs[]");

struct tg_maps maps;
const char *absent_id; /* a customer left out of the current sync (resync test) */
uint32_t cust_idx[NCUST];
int nskipped;

int cust_no(const char *id)
{
	size_t i;

	for (i = 0; i < NCUST; i++)
		if (strcmp(custs[i].id, id) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------------------------------- */
/* Setup                                                                                 */
/* ------------------------------------------------------------------------------------- */

/*
 * A private network namespace with lo and two more interfaces (th_netns: veth, else
 * ifb); without them the suite cannot run (main fails): the customers bound to IF_B would
 * load unbound, and fixtures on IF_A about them, the upstream sends and the per-source
 * tests would fail for want of an interface, looking like data plane bugs.
 */
int setup_netns(void)
{
	int err = th_netns("test_golden", IF_B, IF_C);

	if (err && err != -ENODEV)
		return err;
	have_if_b = !err;
	th_resolve(profiles, P_NR);
	return 0;
}

static uint16_t refl_ports[] = {53, 123};
static const char *const walled_s[] = {WG_DNS4, WG_DNS6, WG_PORTAL4, WG_PORTAL6};
struct tg_prefix walled[ARRAY_SIZE(walled_s)];
_Static_assert(ARRAY_SIZE(walled_s) == 4, "golden.h declares walled[4]");
#define SRC_EXEMPT "9.9.100.0/24" /* per_source_exempt */
static struct tg_prefix src_exempt[1];
struct tg_enf_table enf;
static struct tg_enf_view enf_view; /* of enf, for the sync */
const struct tg_enf_entry suspended = {.id = "c-z", .state = TG_ST_SUSPENDED};
const struct tg_enf_entry throttled = {
	.id = "c-t", .state = TG_ST_THROTTLED, .throttle_bps = THROTTLE_BPS};
static const struct tg_enf_entry throttled_tr = {
	.id = "p-tt", .state = TG_ST_THROTTLED, .throttle_bps = THROTTLE_BPS};

int load_customers(const char *without)
{
	static struct tg_prefix pfx[NCUST][3];
	static struct tg_customer cu[NCUST];
	static struct tg_plan plans[PL_NR];
	static struct tg_iface_cfg ifc[2];
	struct tg_cfg cfg = {};
	struct tg_errs errs = {};
	char err[256];
	size_t i, j, n = 0;
	int ret;

	for (i = 0; i < PL_NR; i++) {
		snprintf(plans[i].name, sizeof(plans[i].name), "plan%zu", i);
		memcpy(plans[i].dir, plan_rates[i], sizeof(plans[i].dir));
		plans[i].flood = plan_extra[i].flood;
		plans[i].smtp = plan_extra[i].smtp;
		plans[i].smtp_limit = plan_extra[i].smtp_limit;
		plans[i].yellow_dscp = i == PL_P_TRTCM ? TR_YELLOW : 0;
	}
	snprintf(ifc[0].name, sizeof(ifc[0].name), IF_A);
	snprintf(ifc[1].name, sizeof(ifc[1].name), IF_B);
	absent_id = without;
	for (i = 0; i < NCUST; i++) {
		const struct cust_def *d = &custs[i];

		if (without && strcmp(d->id, without) == 0)
			continue;
		memset(&cu[n], 0, sizeof(cu[n]));
		snprintf(cu[n].id, sizeof(cu[n].id), "%s", d->id);
		cu[n].plan = d->plan;
		cu[n].vlan = d->vlan;
		cu[n].ivlan = d->ivlan;
		cu[n].line = i + 2;
		memcpy(cu[n].dir, plan_rates[d->plan], sizeof(cu[n].dir));
		if (strcmp(d->iface, IF_B) || have_if_b)
			snprintf(cu[n].iface, sizeof(cu[n].iface), "%s", d->iface);
		for (j = 0; j < 3 && d->pfx[j]; j++) {
			if (tg_parse_prefix(d->pfx[j], &pfx[n][j], err, sizeof(err))) {
				fprintf(stderr, "fixture error: %s: %s\n", d->pfx[j], err);
				return -EINVAL;
			}
		}
		cu[n].pfx = pfx[n];
		cu[n].npfx = j;
		if (!strcmp(d->id, "c-g"))
			cu[n].flood_pps[TG_FC_SYN] = OWN_SYN;
		n++;
	}
	cfg.path = "test_golden";
	cfg.plans = plans;
	cfg.nplans = PL_NR;
	cfg.ifaces = ifc;
	cfg.nifaces = have_if_b ? 2 : 1;
	cfg.customers = cu;
	cfg.ncustomers = n;
	cfg.max_customers = 64;
	cfg.max_prefixes = 128;
	cfg.refl_ports = refl_ports;
	cfg.walled_garden = walled;
	cfg.nwalled = ARRAY_SIZE(walled_s);
	cfg.src_exempt = src_exempt;
	cfg.nsrc_exempt = 1;
	if (tg_parse_prefix(SRC_EXEMPT, &src_exempt[0], err, sizeof(err)))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(walled_s); i++)
		if (tg_parse_prefix(walled_s[i], &walled[i], err, sizeof(err))) {
			fprintf(stderr, "fixture error: %s: %s\n", walled_s[i], err);
			return -EINVAL;
		}
	memset(&enf, 0, sizeof(enf));
	if (tg_enf_put(&enf, &suspended) || tg_enf_put(&enf, &throttled) ||
	    tg_enf_put(&enf, &throttled_tr))
		return -ENOMEM;
	tg_enf_view_init(&enf_view, &enf);
	cfg.nrefl_ports = ARRAY_SIZE(refl_ports);
	ret = tg_sync_customers(&maps, &cfg, &(struct tg_sync_env){.enf = &enf_view}, NULL, &errs);
	if (ret) {
		fprintf(stderr, "tg_sync_customers: %s\n", strerror(-ret));
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "  %s\n", errs.msg[i]);
		tg_errs_free(&errs);
		return ret;
	}
	tg_errs_free(&errs);
	for (i = 0; i < NCUST; i++) {
		cust_idx[i] = tg_find_customer(&maps, custs[i].id);
		if (cust_idx[i] == TG_CUST_NONE &&
		    !(without && strcmp(custs[i].id, without) == 0)) {
			fprintf(stderr, "customer %s has no index after the sync\n", custs[i].id);
			return -ENOENT;
		}
	}
	return 0;
}
