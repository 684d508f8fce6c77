/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netdev.h - facts about the host that decide whether an attachment does what it says:
 * whether a NIC strips VLAN tags before XDP sees them (rx VLAN offload), and whether a
 * bpffs mounted by this process would outlive it (ip netns exec).
 *
 * Included by: datapath.h (the door), netdev.c and loader.c.
 */
#ifndef TG_NETDEV_H
#define TG_NETDEV_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/*
 * 1 if ifname strips 802.1Q or 802.1ad tags on receive (ethtool's rx-vlan-hw-parse or
 * rx-vlan-stag-hw-parse, "rxvlan"), 0 if not, -errno if it cannot be read. which gets
 * the feature's name.
 */
int tg_rxvlan_offload(const char *ifname, char *which, size_t len);

/* The customers of cfg bound to ifname and to a VLAN (the vlan column set, not "*"). */
size_t tg_vlan_bound(const struct tg_cfg *cfg, const char *ifname, const char **first_id);

/*
 * true if this process runs in a mount namespace of its own that its parent (or an
 * ancestor) is not in: what `ip netns exec` does. A bpffs mounted here is seen by no
 * other process and goes, with every pin in it, when the namespace does.
 */
bool tg_mntns_private(void);

#endif /* TG_NETDEV_H */
