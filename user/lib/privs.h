/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * privs.h - tollgated's capabilities after start-up.
 *
 * Start-up needs more than running does: mounting bpffs and loading the program
 * (CAP_SYS_ADMIN, CAP_BPF, CAP_PERFMON), pinning, giving the control socket to its group
 * (CAP_CHOWN). Once the maps are open, the program attached and the socket bound, the
 * daemon keeps only TG_CAPS_RUNNING (for kernels >= 5.15):
 *   CAP_BPF         every bpf() call: with kernel.unprivileged_bpf_disabled set (the
 *                   default), a 5.15 kernel refuses bpf() without it (bpf_capable()); map
 *                   lookups and updates by fd, BPF_OBJ_GET/PIN of the pins, and
 *                   BPF_LINK_CREATE to attach an interface added by a reload
 *   CAP_NET_ADMIN   XDP attach and detach (links, netlink), as the program's type requires
 *   CAP_SETUID, CAP_SETGID  the exec hook becomes notify.exec_user
 *   CAP_KILL        ... and is killed at its timeout, though it is not root any more
 *   CAP_DAC_READ_SEARCH  a reload reads configuration files root does not own
 * Not CAP_SYS_ADMIN: no bpf() command the daemon runs after start-up needs it on >= 5.15
 * (the *_GET_NEXT_ID and *_GET_FD_BY_ID walks do, but only `tollgate attach --force` uses
 * them, from the CLI). Capabilities are per thread: the drop comes before the exporter's
 * and the notifier's threads exist, so the HTTP thread, libcurl and the exec hook never
 * hold CAP_SYS_ADMIN. The bounding set loses the rest too (with CAP_SETPCAP), so nothing
 * exec'd gets them back.
 *
 * Included by: lib.h (the door: other rooms get it through that) and privs.c.
 */
#ifndef TG_PRIVS_H
#define TG_PRIVS_H

#include <stddef.h>

/* Keep only TG_CAPS_RUNNING (effective and permitted; none inheritable or ambient). 0 or
 * -errno with the reason in err. */
int tg_drop_privileges(char *err, size_t errlen);

#endif /* TG_PRIVS_H */
