// SPDX-License-Identifier: GPL-2.0-only
/*
 * linkwatch.c - tollgated's watch over its interfaces (linkwatch.h): rtnetlink link
 * events through libnl-route-3 tell it soon, the check once a second (and after every
 * batch of events) decides from the kernel's own state, so a lost event (a full socket
 * buffer) costs at most a second, never a wrong decision.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <jansson.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/socket.h>
#include <netlink/route/link.h>

#include "datapath/datapath.h"
#include "linkwatch.h"
#include "lib/lib.h"

/* What the watcher knows of one configured interface. */
struct watched {
	struct tg_iface_cfg ic;
	size_t nvlan;		    /* customers bound to a VLAN behind it */
	char vlan_first[TG_ID_LEN]; /* the first of them, for the messages */
	bool known;		    /* checked once: later changes are events */
	enum tg_link_state state;   /* at the last check */
	int ifindex;		    /* the device we police under this name */
	char seen_name[IFNAMSIZ];   /* what that device is called now */
	int mtu;		    /* its MTU, -1: unknown */
	int up;			    /* IFF_UP, -1: unknown */
	int rxvlan;		    /* rx VLAN offload: 1 on, 0 off, -1 unknown */
	bool failed;		    /* re-attaching failed (recorded once; retried each check) */
	int64_t since_ms;	    /* when it stopped being policed */
	int64_t appeared_ms;	    /* when a device took the name again (event), 0: not seen */
	int64_t attached_ms;	    /* when we attached it again (before the sync), 0: not */
};

struct tg_linkwatch {
	struct tg_linkwatch_ops ops;
	struct nl_sock *sk;
	struct tg_maps *m;
	struct watched *w;
	size_t n;
	bool checking; /* a resync calls tg_linkwatch_configure from inside a check */
};

/* ---- audit -------------------------------------------------------------------------- */

static void audit(struct tg_linkwatch *lw, const struct watched *w, const char *action,
		  json_t *evid, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void audit(struct tg_linkwatch *lw, const struct watched *w, const char *action,
		  json_t *evid, const char *fmt, ...)
{
	char reason[512];
	char *text;
	va_list ap;
	int n;

	n = snprintf(reason, sizeof(reason), "interface %s: ", w->ic.name);
	va_start(ap, fmt);
	vsnprintf(reason + n, sizeof(reason) - (size_t)n, fmt, ap);
	va_end(ap);
	if (!evid)
		evid = json_object();
	json_object_set_new(evid, "interface", json_string(w->ic.name));
	json_object_set_new(evid, "role", json_string(tg_role_name(w->ic.role)));
	text = json_dumps(evid, JSON_COMPACT);
	json_decref(evid);
	if (!strcmp(action, "iface_reattached") || !strcmp(action, "iface_attached") ||
	    !strcmp(action, "iface_up") || !strcmp(action, "iface_mtu"))
		tg_info("%s", reason);
	else
		tg_warn("%s", reason);
	if (lw->ops.audit)
		lw->ops.audit(lw->ops.ctx, action, reason, text);
	free(text);
}

/* ---- the device's facts ------------------------------------------------------------- */

static void read_dev(struct watched *w)
{
	struct ifreq ifr = {};
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	w->mtu = w->up = -1;
	if (sk < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", w->ic.name);
	if (ioctl(sk, SIOCGIFMTU, &ifr) == 0)
		w->mtu = ifr.ifr_mtu;
	if (ioctl(sk, SIOCGIFFLAGS, &ifr) == 0)
		w->up = (ifr.ifr_flags & IFF_UP) != 0;
	close(sk);
	snprintf(w->seen_name, sizeof(w->seen_name), "%s", w->ic.name);
}

/* rx VLAN offload with customers bound to VLANs behind it: said once per change. */
static void check_rxvlan(struct tg_linkwatch *lw, struct watched *w)
{
	char feat[ETH_GSTRING_LEN];
	int on;

	if (!w->nvlan || !if_nametoindex(w->ic.name))
		return;
	on = tg_rxvlan_offload(w->ic.name, feat, sizeof(feat));
	if (on < 0 || on == w->rxvlan)
		return;
	if (on)
		audit(lw, w, "iface_rxvlan",
		      json_pack("{ss sb si}", "feature", feat, "rx_vlan_offload", 1,
				"vlan_customers", (int)w->nvlan),
		      "rx VLAN offload is ON (%s): the NIC strips the tag before XDP, so the %zu "
		      "customers bound to a VLAN behind it (%s, ...) do not match; turn it off "
		      "(ethtool -K %s rxvlan off rx-vlan-stag-hw-parse off)",
		      feat, w->nvlan, w->vlan_first, w->ic.name);
	else if (w->rxvlan == 1)
		audit(lw, w, "iface_rxvlan",
		      json_pack("{sb si}", "rx_vlan_offload", 0, "vlan_customers", (int)w->nvlan),
		      "rx VLAN offload is off again: its VLAN customers match");
	w->rxvlan = on;
}

/* ---- acting on a check -------------------------------------------------------------- */

static unsigned int our_prog_id(const struct tg_maps *m)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(m->prog, &info, &len) ? 0 : info.id;
}

/* The device the name belongs to now is the one we police from here on. */
static void adopt(struct watched *w, const struct tg_link_live *l)
{
	w->ifindex = l->ifindex;
	read_dev(w);
	w->rxvlan = -1;
}

static void reattach_failed(struct tg_linkwatch *lw, struct watched *w, int err)
{
	if (w->failed)
		return;
	w->failed = true;
	audit(lw, w, "iface_reattach_failed", json_pack("{ss}", "error", strerror(-err)),
	      "cannot attach the program again (%s): NOT POLICED; tollgated retries every "
	      "second",
	      strerror(-err));
}

/* The loss, said once when the interface stops being policed. */
static void lost(struct tg_linkwatch *lw, struct watched *w, const struct tg_link_live *l)
{
	char other[IFNAMSIZ] = "?";

	switch (l->state) {
	case TG_LINK_ABSENT:
		audit(lw, w, "iface_gone", json_pack("{si}", "ifindex", w->ifindex),
		      "removed (ifindex %d): NOT POLICED until a device of that name appears, "
		      "then tollgated attaches it again",
		      w->ifindex);
		break;
	case TG_LINK_LOST:
		audit(lw, w, "iface_lost",
		      json_pack("{si si}", "ifindex", l->ifindex, "previous_ifindex", w->ifindex),
		      l->ifindex == w->ifindex
			      ? "our XDP link was detached by another tool (ifindex %d): attaching "
				"again"
			      : "recreated (ifindex %d): attaching again",
		      l->ifindex);
		break;
	case TG_LINK_FOREIGN:
		audit(lw, w, "iface_foreign",
		      json_pack("{si si ss sb}", "ifindex", l->ifindex, "prog_id", (int)l->prog_id,
				"mode", l->mode, "force", w->ic.force),
		      w->ic.force ? "a foreign XDP program (id %u, %s mode) replaced ours: taking "
				    "the interface back (force: true)"
				  : "a foreign XDP program (id %u, %s mode) replaced ours: NOT "
				    "POLICED. tollgated does not fight it; remove it and run "
				    "tollgate attach, or set force: true on the interface",
		      l->prog_id, l->mode);
		break;
	case TG_LINK_RENAMED:
		if (strcmp(w->seen_name, w->ic.name) != 0)
			break; /* the rename event said it */
		if_indextoname((unsigned int)l->link_ifindex, other);
		audit(lw, w, "iface_renamed",
		      json_pack("{si ss}", "ifindex", l->link_ifindex, "name", other),
		      "the device (ifindex %d) is now called %s: it stays policed, but the "
		      "configuration names %s, and a device that takes that name gets the "
		      "program",
		      l->link_ifindex, other, w->ic.name);
		break;
	case TG_LINK_DETACHED:
		audit(lw, w, "iface_detached", NULL,
		      "detached by tollgate detach (no pin): NOT POLICED; tollgated leaves it so "
		      "until tollgate attach");
		break;
	default:
		break;
	}
}

/*
 * One interface at one check. Returns true if it needs the customers synced again (a new
 * device under the name: the bindings must name its ifindex).
 */
static bool act(struct tg_linkwatch *lw, struct watched *w, const struct tg_link_live *l)
{
	enum tg_link_state prev = w->state;
	int err;

	if (!w->known) {
		w->known = true;
		w->state = l->state;
		if (l->state == TG_LINK_ATTACHED) {
			adopt(w, l);
			return false;
		}
		prev = TG_LINK_ATTACHED; /* say what is wrong now */
	}
	if (l->state == TG_LINK_ATTACHED) {
		if (prev != TG_LINK_ATTACHED) {
			int64_t now = w->attached_ms ? w->attached_ms : tg_now_ms();
			bool ours = w->failed || prev == TG_LINK_LOST || prev == TG_LINK_ABSENT ||
				    (prev == TG_LINK_FOREIGN && w->ic.force);

			audit(lw, w, ours ? "iface_reattached" : "iface_attached",
			      json_pack("{si si sI sI}", "ifindex", l->ifindex, "previous_ifindex",
					w->ifindex, "unpoliced_ms", (json_int_t)(now - w->since_ms),
					"attach_ms",
					(json_int_t)(w->appeared_ms ? now - w->appeared_ms : 0)),
			      "policed again (ifindex %d), %lld ms after it stopped", l->ifindex,
			      (long long)(now - w->since_ms));
		}
		if (l->ifindex != w->ifindex)
			adopt(w, l);
		w->failed = false;
		w->appeared_ms = w->attached_ms = 0;
		w->state = l->state;
		return false;
	}
	if (prev == TG_LINK_ATTACHED)
		w->since_ms = tg_now_ms();
	if (prev == TG_LINK_ATTACHED || (l->state != prev && !w->failed))
		lost(lw, w, l);
	w->state = l->state;
	switch (l->state) {
	case TG_LINK_RENAMED:
		/* a device took the name: the program follows the name */
		if (!l->ifindex)
			return false;
		/* fall through */
	case TG_LINK_LOST:
		/*
		 * Attach first, sync after: until the sync has written the new ifindex into
		 * the bindings, the customers bound to this port drop as spoof, but nothing
		 * crosses it unpoliced, however many customers the sync has to write (0.4 s
		 * at a handful, 0.7 s at 1M).
		 */
		err = tg_attach_iface(lw->m, &w->ic, false);
		if (err) {
			reattach_failed(lw, w, err);
			return false; /* the sync waits for an attach that holds (1M: 0.7 s) */
		}
		w->attached_ms = tg_now_ms();
		return l->ifindex != w->ifindex;
	case TG_LINK_FOREIGN:
		if (w->ic.force && (err = tg_attach_iface(lw->m, &w->ic, true)))
			reattach_failed(lw, w, err);
		return false;
	default:
		return false;
	}
}

void tg_linkwatch_check(struct tg_linkwatch *lw)
{
	struct tg_link_live l;
	unsigned int ours;
	bool resync = false;

	if (!lw || !lw->m || lw->checking)
		return;
	lw->checking = true;
	ours = our_prog_id(lw->m);
	for (size_t i = 0; i < lw->n; i++) {
		tg_link_live(lw->m->pin_dir, lw->w[i].ic.name, ours, &l);
		resync |= act(lw, &lw->w[i], &l);
	}
	if (resync) {
		int err = lw->ops.resync ? lw->ops.resync(lw->ops.ctx) : -ENOSYS;

		if (err)
			tg_err("the customers could not be synced again: those bound to a "
			       "recreated interface drop as spoof until a reload succeeds");
		for (size_t i = 0; i < lw->n; i++) {
			tg_link_live(lw->m->pin_dir, lw->w[i].ic.name, ours, &l);
			if (l.state == TG_LINK_ATTACHED)
				act(lw, &lw->w[i], &l);
		}
	}
	for (size_t i = 0; i < lw->n; i++)
		check_rxvlan(lw, &lw->w[i]);
	lw->checking = false;
}

/* ---- configuration ------------------------------------------------------------------ */

void tg_linkwatch_configure(struct tg_linkwatch *lw, struct tg_maps *m, const struct tg_cfg *cfg)
{
	struct watched *nw;
	size_t n = cfg ? cfg->nifaces : 0;

	if (!lw)
		return;
	lw->m = m;
	nw = calloc(n + 1, sizeof(*nw));
	if (!nw) {
		tg_err("link watch: out of memory; the interfaces are not watched");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct watched *w = &nw[i];
		const char *first;

		for (size_t k = 0; k < lw->n; k++)
			if (!strcmp(lw->w[k].ic.name, cfg->ifaces[i].name))
				*w = lw->w[k];
		if (!w->known) {
			w->ic = cfg->ifaces[i];
			w->ifindex = (int)if_nametoindex(w->ic.name);
			w->rxvlan = -1;
			read_dev(w);
		}
		w->ic = cfg->ifaces[i];
		w->nvlan = tg_vlan_bound(cfg, w->ic.name, &first);
		snprintf(w->vlan_first, sizeof(w->vlan_first), "%s", first ? first : "");
		if (!w->nvlan)
			w->rxvlan = -1; /* said again if VLAN customers come back */
	}
	free(lw->w);
	lw->w = nw;
	lw->n = n;
	if (!lw->checking)
		tg_linkwatch_check(lw);
}

/* ---- link events -------------------------------------------------------------------- */

static void on_link(struct nl_object *obj, void *arg)
{
	struct tg_linkwatch *lw = arg;
	struct rtnl_link *link = (struct rtnl_link *)obj;
	int type = nl_object_get_msgtype(obj);
	int ifindex = rtnl_link_get_ifindex(link);
	const char *name = rtnl_link_get_name(link);
	unsigned int flags = rtnl_link_get_flags(link);
	int mtu = (int)rtnl_link_get_mtu(link);

	if (!name)
		return;
	for (size_t i = 0; i < lw->n; i++) {
		struct watched *w = &lw->w[i];

		if (type == RTM_NEWLINK && !strcmp(name, w->ic.name) && ifindex != w->ifindex &&
		    !w->appeared_ms)
			w->appeared_ms = tg_now_ms();
		if (type != RTM_NEWLINK || ifindex != w->ifindex || !w->known)
			continue;
		if (strcmp(name, w->seen_name)) {
			audit(lw, w, "iface_renamed",
			      json_pack("{si ss ss}", "ifindex", ifindex, "from", w->seen_name,
					"to", name),
			      "ifindex %d renamed from %s to %s%s", ifindex, w->seen_name, name,
			      strcmp(name, w->ic.name) ? ": it stays policed; a device that takes "
							 "the configured name gets the program"
						       : ": the configured name again");
			snprintf(w->seen_name, sizeof(w->seen_name), "%s", name);
		}
		if (w->up >= 0 && w->up != ((flags & IFF_UP) != 0))
			audit(lw, w, (flags & IFF_UP) ? "iface_up" : "iface_down",
			      json_pack("{si}", "ifindex", ifindex),
			      "set %s (XDP stays attached across down and up)",
			      (flags & IFF_UP) ? "up" : "down");
		w->up = (flags & IFF_UP) != 0;
		if (w->mtu > 0 && mtu > 0 && mtu != w->mtu)
			audit(lw, w, "iface_mtu",
			      json_pack("{si si si}", "ifindex", ifindex, "from", w->mtu, "to",
					mtu),
			      "MTU %d -> %d (the attachment is checked again)", w->mtu, mtu);
		if (mtu > 0)
			w->mtu = mtu;
	}
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	nl_msg_parse(msg, on_link, arg);
	return NL_OK;
}

void tg_linkwatch_read(struct tg_linkwatch *lw)
{
	int rc;

	/* until the socket is empty; an overflow (events lost) is covered by the check */
	do
		rc = nl_recvmsgs_default(lw->sk);
	while (rc >= 0);
	if (rc != -NLE_AGAIN && tg_log_verbose)
		tg_info("link events: %s (the check covers what was missed)", nl_geterror(rc));
	tg_linkwatch_check(lw);
}

int tg_linkwatch_open(const struct tg_linkwatch_ops *ops, struct tg_linkwatch **out, char *err,
		      size_t errlen)
{
	struct tg_linkwatch *lw = calloc(1, sizeof(*lw));
	int rc;

	*out = NULL;
	if (!lw)
		return -ENOMEM;
	lw->ops = *ops;
	lw->sk = nl_socket_alloc();
	if (!lw->sk) {
		free(lw);
		return -ENOMEM;
	}
	nl_socket_disable_seq_check(lw->sk);
	nl_socket_modify_cb(lw->sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, lw);
	rc = nl_connect(lw->sk, NETLINK_ROUTE);
	if (!rc)
		rc = nl_socket_add_membership(lw->sk, RTNLGRP_LINK);
	if (!rc)
		rc = nl_socket_set_nonblocking(lw->sk);
	if (rc) {
		snprintf(err, errlen, "link events (rtnetlink): %s", nl_geterror(rc));
		nl_socket_free(lw->sk);
		free(lw);
		return -EIO;
	}
	nl_socket_set_buffer_size(lw->sk, 1 << 20, 0);
	*out = lw;
	return 0;
}

void tg_linkwatch_close(struct tg_linkwatch *lw)
{
	if (!lw)
		return;
	nl_socket_free(lw->sk);
	free(lw->w);
	free(lw);
}

int tg_linkwatch_fd(const struct tg_linkwatch *lw)
{
	return nl_socket_get_fd(lw->sk);
}
