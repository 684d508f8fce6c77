/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * linkwatch.h - tollgated's watch over the interfaces it polices. It follows rtnetlink
 * link events (libnl-route-3) and checks every interface of the configuration once a
 * second (tg_link_live: the pin, our bpf_link, the XDP program on the device), and acts
 * on what changed, by this policy (docs/operations.md, "Interfaces that change under Tollgate"):
 *
 *   removed          audit iface_gone, not attached (metric 0) until it comes back;
 *   recreated        (the name again, a new ifindex) the customers are synced again, so
 *                    their bindings name the new ifindex, and the program re-attached by
 *                    the reload path: audit iface_reattached;
 *   link lost        (our bpf_link detached by another tool, nothing else on the device)
 *                    re-attached: audit iface_lost, iface_reattached;
 *   foreign program  audit iface_foreign, not fought: the port is not policed (metric 0)
 *                    until an operator acts, unless the interface has `force: true`, then
 *                    the program is replaced (iface_foreign_replaced);
 *   renamed          the configuration names interfaces: the device renamed away keeps
 *                    the program (still policed) and iface_renamed alarms; a device that
 *                    takes the name gets the program (it follows the name);
 *   down, up, MTU    XDP stays attached across them: recorded (iface_down, iface_up,
 *                    iface_mtu) and the attachment checked again;
 *   rx VLAN offload  turned on with customers bound to VLANs behind it: iface_rxvlan,
 *                    a warning, and tollgate_interface_rxvlan_conflict 1;
 *   tollgate detach  (the pin removed) respected: iface_detached, no re-attach.
 */
#ifndef TG_LINKWATCH_H
#define TG_LINKWATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "datapath/datapath.h"

struct tg_linkwatch;

/* What the daemon does for the watcher. */
struct tg_linkwatch_ops {
	/* Sync the customers again and re-attach what is pinned (tollgated's reload);
	 * 0 or -errno. The daemon calls tg_linkwatch_configure after it. */
	int (*resync)(void *ctx);
	/* One audit event (enforce.h tg_enforcer_audit_iface). */
	void (*audit)(void *ctx, const char *action, const char *reason, const char *evidence);
	void *ctx;
};

/* A netlink socket on the link events. 0 or -errno with the reason in err. */
int tg_linkwatch_open(const struct tg_linkwatch_ops *ops, struct tg_linkwatch **out, char *err,
		      size_t errlen);
void tg_linkwatch_close(struct tg_linkwatch *lw);
/* For the event loop: readable when link events wait. */
int tg_linkwatch_fd(const struct tg_linkwatch *lw);

/*
 * The interfaces of cfg (after start and every reload); what is known of those already
 * watched is kept. m stays the daemon's. The first call records each interface's state
 * as it is (audit only what is wrong: not attached, rx VLAN offload).
 */
void tg_linkwatch_configure(struct tg_linkwatch *lw, struct tg_maps *m, const struct tg_cfg *cfg);

/* Read the waiting link events, then check. */
void tg_linkwatch_read(struct tg_linkwatch *lw);
/* Check every interface and act (the event loop calls it every second). */
void tg_linkwatch_check(struct tg_linkwatch *lw);

#endif /* TG_LINKWATCH_H */
