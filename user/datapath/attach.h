/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * attach.h - attach the XDP program to an interface through a pinned bpf_link, and detach
 * it. Shared by the CLI (tollgate attach/detach) and the daemon.
 *
 * Included by: datapath.h (the door: other rooms get it through that), attach.c and
 * reload.c.
 */
#ifndef TG_ATTACH_H
#define TG_ATTACH_H

#include <stdbool.h>

#include "config/config.h"
#include "maps.h"

/*
 * Register ic (role, antispoof, monitor) for its interface and attach the program in
 * ic->mode. Attaching again with the same mode only refreshes the interface's settings;
 * another mode re-attaches. A foreign XDP program is refused unless force.
 */
int tg_attach_iface(struct tg_maps *m, const struct tg_iface_cfg *ic, bool force);

/* Detach and unpin the interface's link and forget its settings. *remaining is set to the
 * number of interfaces still attached. */
int tg_detach_iface(struct tg_maps *m, const char *ifname, int *remaining);

/* The interfaces registered in tg_ifaces (at most max). */
int tg_ifaces_list(const struct tg_maps *m, struct tg_iface *out, int max);

/* Only detach and unpin the interface's link, reading no map: for pins of another
 * layout version, which tg_maps_open refuses. */
int tg_detach_link(const char *pin_dir, const char *ifname, int *remaining);

/* Number of link_* pins under the pin directory. */
int tg_count_links(const char *pin_dir);

/*
 * Whether a configured interface is policed, read from the kernel and the pin only (no
 * process has to run): `tollgate status`, the exporter and tollgated's link watcher
 * (linkwatch.h) all ask this.
 */
#define TG_LINK_STATES(FN)                                                                         \
	FN(ATTACHED, "attached") /* our link holds XDP on the device called name */                \
	FN(DETACHED, "detached") /* no link_<name> pin: not attached by Tollgate */                \
	FN(ABSENT, "absent")	 /* pinned, but no device is called name now */                    \
	FN(RENAMED, "renamed")	 /* our link polices another device (renamed away) */              \
	FN(FOREIGN, "foreign")	 /* another XDP program sits on the device */                      \
	FN(LOST, "lost")	 /* the device is there, our link is not on it, nothing is */

enum tg_link_state {
#define TG_LS_ENUM(n, s) TG_LINK_##n,
	TG_LINK_STATES(TG_LS_ENUM)
#undef TG_LS_ENUM
		TG_LINK_NR
};

struct tg_link_live {
	enum tg_link_state state;
	int ifindex;	      /* of the device called name now, 0: none */
	int link_ifindex;     /* where our pinned link is attached, 0: defunct or no pin */
	unsigned int prog_id; /* the XDP program on ifindex now, 0: none */
	const char *mode;     /* its mode (tg_xdp_mode_now) */
};

/* ours: the id of Tollgate's program (0: take it from the link's pin). */
void tg_link_live(const char *pin_dir, const char *name, unsigned int ours,
		  struct tg_link_live *out);
const char *tg_link_state_name(enum tg_link_state s);

/* The XDP mode an interface runs in now: "native", "generic", "offload", or "none". */
const char *tg_xdp_mode_now(int ifindex, unsigned int *prog_id);

#endif /* TG_ATTACH_H */
