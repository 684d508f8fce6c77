// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach.c - one pinned bpf_link per interface (link_<ifname> in the pin directory), so
 * policing goes on with no process running and a later tollgate finds what it attached.
 * The interface's settings (tg_ifaces) are written before the link exists, so the first
 * packet the program sees on it already has its role.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "lib/lib.h"

static void link_path(const struct tg_maps *m, const char *ifname, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%s", m->pin_dir, TG_PIN_LINK_PREFIX, ifname);
}

static __u32 prog_id_of(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

const char *tg_xdp_mode_now(int ifindex, unsigned int *prog_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	*prog_id = 0;
	if (ifindex <= 0 || bpf_xdp_query(ifindex, 0, &q))
		return "none";
	*prog_id = q.prog_id;
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
		return tg_mode_name(TG_MODE_NATIVE);
	case XDP_ATTACHED_SKB:
		return tg_mode_name(TG_MODE_GENERIC);
	case XDP_ATTACHED_HW:
		return "offload";
	case XDP_ATTACHED_MULTI:
		return "multi";
	}
	return "none";
}

const char *tg_link_state_name(enum tg_link_state s)
{
	static const char *const names[TG_LINK_NR] = {
#define TG_LS_NAME(n, str) [TG_LINK_##n] = str,
		TG_LINK_STATES(TG_LS_NAME)
#undef TG_LS_NAME
	};

	return (unsigned int)s < TG_LINK_NR ? names[s] : "?";
}

void tg_link_live(const char *pin_dir, const char *name, unsigned int ours,
		  struct tg_link_live *out)
{
	struct bpf_link_info li = {};
	__u32 len = sizeof(li);
	char path[PATH_MAX];
	bool pinned = false;
	int fd;

	memset(out, 0, sizeof(*out));
	out->ifindex = (int)if_nametoindex(name);
	out->mode = tg_xdp_mode_now(out->ifindex, &out->prog_id);
	snprintf(path, sizeof(path), "%s/%s%s", pin_dir, TG_PIN_LINK_PREFIX, name);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		pinned = true;
		/* a link whose device was removed reads ifindex 0 (defunct) */
		if (bpf_obj_get_info_by_fd(fd, &li, &len) == 0 && li.type == BPF_LINK_TYPE_XDP) {
			out->link_ifindex = (int)li.xdp.ifindex;
			if (!ours)
				ours = li.prog_id;
		}
		close(fd);
	}
	if (!pinned)
		out->state = TG_LINK_DETACHED;
	else if (out->ifindex && out->link_ifindex == out->ifindex && out->prog_id == ours)
		out->state = TG_LINK_ATTACHED;
	else if (out->ifindex && out->prog_id && out->prog_id != ours)
		out->state = TG_LINK_FOREIGN;
	else if (out->link_ifindex && out->link_ifindex != out->ifindex)
		out->state = TG_LINK_RENAMED;
	else if (!out->ifindex)
		out->state = TG_LINK_ABSENT;
	else
		out->state = TG_LINK_LOST;
}

#define IFACES_BATCH 4096u

int tg_ifaces_list(const struct tg_maps *m, struct tg_iface *out, int max)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	static __u32 keys[IFACES_BATCH];
	static struct tg_iface vals[IFACES_BATCH];
	__u32 in = 0, next = 0, cnt, i;
	bool first = true;
	int n = 0, err;

	do {
		cnt = IFACES_BATCH;
		err = bpf_map_lookup_batch(m->ifaces, first ? NULL : &in, &next, keys, vals, &cnt,
					   &opts);
		if (err && errno != ENOENT)
			return neg_errno();
		for (i = 0; i < cnt && n < max; i++)
			if (vals[i].ifindex && vals[i].ifindex == keys[i])
				out[n++] = vals[i];
		in = next;
		first = false;
	} while (!err);
	return n;
}

static int iface_forget(struct tg_maps *m, __u32 ifindex)
{
	struct tg_iface none = {};

	return bpf_map_update_elem(m->ifaces, &ifindex, &none, BPF_ANY) ? neg_errno() : 0;
}

/* Interface slot for counters: the interface's own if known, else the lowest free one. */
static int iface_slot(struct tg_maps *m, __u32 ifindex, const char *name, __u8 *slot, bool *fresh)
{
	struct tg_iface all[TG_MAX_IFACES] = {};
	bool used[TG_MAX_IFACES] = {};
	int n = tg_ifaces_list(m, all, TG_MAX_IFACES), i;

	*fresh = false;
	for (i = 0; i < n; i++) {
		if (all[i].ifindex == ifindex ||
		    strncmp(all[i].name, name, sizeof(all[i].name)) == 0) {
			*slot = all[i].slot;
			if (all[i].ifindex != ifindex) /* re-created with a new ifindex */
				iface_forget(m, all[i].ifindex);
			return 0;
		}
		if (all[i].slot < TG_MAX_IFACES)
			used[all[i].slot] = true;
	}
	for (i = 0; i < (int)TG_MAX_IFACES; i++) {
		if (!used[i]) {
			*slot = i;
			*fresh = true;
			return 0;
		}
	}
	tg_err("%s: already %u interfaces attached, the most Tollgate serves", name, TG_MAX_IFACES);
	return -ENOSPC;
}

static int zero_slot(struct tg_maps *m, __u32 slot)
{
	size_t sz = (sizeof(struct tg_ifstat) + 7) / 8 * 8 * m->ncpus;
	void *z = calloc(1, sz);
	int err = 0;

	if (!z)
		return -ENOMEM;
	if (bpf_map_update_elem(m->ifstat, &slot, z, BPF_ANY))
		err = neg_errno();
	free(z);
	return err;
}

/* Detach whatever bpf_link holds XDP on ifindex (a foreign one, with --force). */
static int detach_any_link(int ifindex)
{
	__u32 id = 0;

	while (bpf_link_get_next_id(id, &id) == 0) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_link_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    info.type == BPF_LINK_TYPE_XDP && (int)info.xdp.ifindex == ifindex) {
			int err = bpf_link_detach(fd) ? neg_errno() : 0;

			close(fd);
			return err;
		}
		close(fd);
	}
	return -ENOENT;
}

static int attach_locked(struct tg_maps *m, const struct tg_iface_cfg *ic, bool force);

int tg_attach_iface(struct tg_maps *m, const struct tg_iface_cfg *ic, bool force)
{
	int lock = tg_maps_lock(m), err;

	err = attach_locked(m, ic, force);
	tg_maps_unlock(lock);
	return err;
}

static int attach_locked(struct tg_maps *m, const struct tg_iface_cfg *ic, bool force)
{
	LIBBPF_OPTS(bpf_link_create_opts, lopts);
	struct tg_iface v = {};
	char path[PATH_MAX];
	const char *now, *want = tg_mode_name(ic->mode);
	unsigned int cur_id;
	__u32 ours = prog_id_of(m->prog);
	int ifindex, fd, err;
	bool fresh, attached = false;

	ifindex = if_nametoindex(ic->name);
	if (!ifindex) {
		tg_err("%s: no such interface", ic->name);
		return -ENODEV;
	}
	if ((unsigned int)ifindex >= TG_MAX_IFINDEX) {
		tg_err("%s: ifindex %d is beyond the %u Tollgate serves", ic->name, ifindex,
		       TG_MAX_IFINDEX - 1);
		return -ERANGE;
	}
	link_path(m, ic->name, path, sizeof(path));
	now = tg_xdp_mode_now(ifindex, &cur_id);

	fd = bpf_obj_get(path);
	if (fd >= 0) {
		struct bpf_link_info li = {};
		__u32 len = sizeof(li);
		bool live = bpf_obj_get_info_by_fd(fd, &li, &len) == 0 &&
			    (int)li.xdp.ifindex == ifindex && li.prog_id == ours && cur_id == ours;

		if (live && strcmp(now, want) != 0) {
			tg_info("%s: re-attaching in %s mode (was %s)", ic->name, want, now);
			bpf_link_detach(fd);
			live = false;
			now = "none";
			cur_id = 0;
		}
		close(fd);
		attached = live;
		if (attached)
			goto settings; /* idempotent: refresh the settings only */
	}
	if (cur_id && cur_id != ours) {
		if (!force) {
			tg_err("%s: a foreign XDP program (id %u, %s mode) is attached; use "
			       "--force "
			       "to replace it",
			       ic->name, cur_id, now);
			return -EBUSY;
		}
		tg_warn("%s: replacing foreign XDP program id %u", ic->name, cur_id);
	}
	if (cur_id) {
		/* netlink-attached programs go with bpf_xdp_detach, link-held ones by the link */
		if (bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL) &&
		    bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL))
			detach_any_link(ifindex);
	}

settings:
	err = iface_slot(m, ifindex, ic->name, &v.slot, &fresh);
	if (err)
		return err;
	if (fresh && (err = zero_slot(m, v.slot)))
		return err;
	v.role = ic->role;
	v.antispoof = ic->antispoof;
	v.flags = (ic->monitor ? TG_IFF_MONITOR : 0) | ic->vlan_proto;
	v.ifindex = ifindex;
	if (ic->role == TG_ROLE_CUSTOMER && ic->exc_pps) {
		struct tg_pkt_pol pp;

		tg_pkt_policer_params(ic->exc_pps, ic->exc_burst, tg_coarse_tick_ns(), &pp);
		v.exc_ipp_fns = pp.ipp_fns;
		v.exc_tol_fns = pp.tol_fns;
	}
	snprintf(v.name, sizeof(v.name), "%s", ic->name);
	if (bpf_map_update_elem(m->ifaces, &ifindex, &v, BPF_ANY)) {
		err = neg_errno();
		tg_err("%s: cannot store the interface settings: %s", ic->name, strerror(-err));
		return err;
	}
	if (attached)
		return 0;

	/* a stale pin (the interface went away, or we re-attach) goes only now: refused over
	 * a foreign program, the pin stays and says the interface is ours to take back */
	unlink(path);
	lopts.flags = ic->mode == TG_MODE_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fd = bpf_link_create(m->prog, ifindex, BPF_XDP, &lopts);
	if (fd < 0) {
		err = neg_errno();
		tg_err("%s: cannot attach in %s mode: %s%s", ic->name, want, strerror(-err),
		       ic->mode == TG_MODE_NATIVE && (err == -EOPNOTSUPP || err == -EINVAL)
			       ? " (the driver may lack native XDP: try mode generic)"
			       : "");
		iface_forget(m, ifindex);
		return err;
	}
	if (bpf_obj_pin(fd, path)) {
		err = neg_errno();
		tg_err("%s: cannot pin %s: %s", ic->name, path, strerror(-err));
		bpf_link_detach(fd);
		close(fd);
		iface_forget(m, ifindex);
		return err;
	}
	close(fd);
	return 0;
}

int tg_count_links(const char *pin_dir)
{
	struct dirent *de;
	DIR *d = opendir(pin_dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += strncmp(de->d_name, TG_PIN_LINK_PREFIX, strlen(TG_PIN_LINK_PREFIX)) == 0;
	closedir(d);
	return n;
}

static int detach_locked(struct tg_maps *m, const char *ifname, int *remaining);

int tg_detach_iface(struct tg_maps *m, const char *ifname, int *remaining)
{
	int lock = tg_maps_lock(m), err;

	err = detach_locked(m, ifname, remaining);
	tg_maps_unlock(lock);
	return err;
}

/* Detach and unpin link_<ifname>; nothing else is read, so it works on pins of any layout. */
static int unlink_link(const char *pin_dir, const char *ifname)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s%s", pin_dir, TG_PIN_LINK_PREFIX, ifname);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		int err = neg_errno();

		tg_err("%s: not attached by Tollgate (no %s)", ifname, path);
		return err;
	}
	/* a link whose interface is gone is already detached: only the pin is left */
	bpf_link_detach(fd);
	close(fd);
	return unlink(path) ? neg_errno() : 0;
}

int tg_detach_link(const char *pin_dir, const char *ifname, int *remaining)
{
	int err = unlink_link(pin_dir, ifname);

	*remaining = tg_count_links(pin_dir);
	return err;
}

static int detach_locked(struct tg_maps *m, const char *ifname, int *remaining)
{
	int err;

	err = unlink_link(m->pin_dir, ifname);
	if (err == -ENOENT)
		return err;
	{
		struct tg_iface all[TG_MAX_IFACES] = {};
		int n = tg_ifaces_list(m, all, TG_MAX_IFACES), i;

		for (i = 0; i < n; i++)
			if (strncmp(all[i].name, ifname, sizeof(all[i].name)) == 0)
				iface_forget(m, all[i].ifindex);
	}
	*remaining = tg_count_links(m->pin_dir);
	return err;
}
