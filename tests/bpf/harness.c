// SPDX-License-Identifier: GPL-2.0-only
/*
 * harness.c - the shared set-up of the BPF suites that send frames through the program
 * (harness.h).
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"

void th_one_cpu(void)
{
	cpu_set_t cpus;

	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
}

/*
 * veth where the kernel has it, else ifb. A half-made pair (busybox's ip ignores "peer
 * name": if_b then pairs with "veth0") is no pair.
 */
int th_netns(const char *suite, const char *if_b, const char *if_c)
{
	char cmds[2][256];
	bool pair = false;
	int err;

	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		printf("SKIP %s: cannot create a network namespace: %s\n", suite, strerror(-err));
		return err;
	}
	snprintf(cmds[0], sizeof(cmds[0]), "ip link add %s type veth peer name %s >/dev/null 2>&1",
		 if_b, if_c);
	snprintf(cmds[1], sizeof(cmds[1]),
		 "ip link add %s type ifb >/dev/null 2>&1 && ip link add %s type ifb >/dev/null "
		 "2>&1",
		 if_b, if_c);
	for (int i = 0; i < 2 && !pair; i++)
		pair = system(cmds[i]) == 0 && if_nametoindex(if_b) && if_nametoindex(if_c);
	return pair ? 0 : -ENODEV;
}

void th_resolve(struct th_profile *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i].ifindex = (int)if_nametoindex(p[i].ifname);
}

int th_set_profile(const struct tg_maps *m, const struct th_profile *p, int slot)
{
	struct tg_iface v = {};
	__u32 key = p->ifindex;

	v.role = p->role;
	v.antispoof = p->antispoof;
	v.flags = p->flags;
	v.slot = slot;
	v.ifindex = p->ifindex;
	snprintf(v.name, sizeof(v.name), "%s", p->ifname);
	return bpf_map_update_elem(m->ifaces, &key, &v, BPF_ANY) ? -errno : 0;
}

int th_run(const struct tg_maps *m, int ifindex, const uint8_t *frame, size_t len, uint8_t *out,
	   size_t out_size, __u32 *retval)
{
	uint8_t buf[2048 + 32];
	size_t meta = len < ETH_HLEN ? (ETH_HLEN - len + 3) / 4 * 4 : 0;
	struct xdp_md ctx = {.data = meta, .data_end = meta + len, .ingress_ifindex = ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = meta + len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (meta + len > sizeof(buf))
		return -E2BIG;
	if (out) {
		opts.data_out = out;
		opts.data_size_out = out_size;
	}
	memset(buf, 0, meta);
	memcpy(buf + meta, frame, len);
	if (bpf_prog_test_run_opts(m->prog, &opts))
		return -errno;
	if (out && opts.data_size_out != meta + len)
		return -EMSGSIZE;
	*retval = opts.retval;
	return 0;
}
