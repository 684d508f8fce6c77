/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * attach.h - attach the XDP program to an interface through a pinned bpf_link, and detach
 * it. Shared by the CLI (tollgate attach/detach) and the daemon.
 */
#ifndef TG_ATTACH_H
#define TG_ATTACH_H

#include <stdbool.h>

#include "config.h"
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

/* The XDP mode an interface runs in now: "native", "generic", "offload", or "none". */
const char *tg_xdp_mode_now(int ifindex, unsigned int *prog_id);

#endif /* TG_ATTACH_H */
