// SPDX-License-Identifier: GPL-2.0-only
/*
 * netdev.c - rx VLAN offload of an interface (legacy ethtool ioctl: the feature strings
 * and their bits, the same on every kernel since 3.x) and the lifetime of a bpffs this
 * process would mount (netdev.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "lib/lib.h"
#include "netdev.h"

static int ethtool(int sk, const char *ifname, void *cmd)
{
	struct ifreq ifr = {};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = cmd;
	return ioctl(sk, SIOCETHTOOL, &ifr) ? neg_errno() : 0;
}

/* The features that strip a tag before XDP: C-tag (802.1Q) and S-tag (802.1ad) parsing. */
static const char *const strip_features[] = {"rx-vlan-hw-parse", "rx-vlan-stag-hw-parse"};

int tg_rxvlan_offload(const char *ifname, char *which, size_t len)
{
	struct {
		struct ethtool_sset_info hdr;
		__u32 n;
	} sset = {.hdr = {.cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ull << ETH_SS_FEATURES}};
	struct ethtool_gstrings *strs = NULL;
	struct ethtool_gfeatures *feat = NULL;
	__u32 n, blocks, i;
	int sk, err, on = 0;

	if (len)
		which[0] = '\0';
	sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return neg_errno();
	err = ethtool(sk, ifname, &sset);
	if (err)
		goto out;
	n = sset.hdr.sset_mask ? sset.n : 0;
	blocks = (n + 31) / 32;
	strs = calloc(1, sizeof(*strs) + (size_t)n * ETH_GSTRING_LEN);
	feat = calloc(1, sizeof(*feat) + blocks * sizeof(feat->features[0]));
	if (!strs || !feat) {
		err = -ENOMEM;
		goto out;
	}
	strs->cmd = ETHTOOL_GSTRINGS;
	strs->string_set = ETH_SS_FEATURES;
	strs->len = n;
	feat->cmd = ETHTOOL_GFEATURES;
	feat->size = blocks;
	err = ethtool(sk, ifname, strs);
	if (!err)
		err = ethtool(sk, ifname, feat);
	if (err)
		goto out;
	for (i = 0; i < n; i++) {
		const char *name = (const char *)strs->data + (size_t)i * ETH_GSTRING_LEN;

		if (!(feat->features[i / 32].active & (1u << (i % 32))))
			continue;
		for (size_t k = 0; k < sizeof(strip_features) / sizeof(strip_features[0]); k++) {
			if (strncmp(name, strip_features[k], ETH_GSTRING_LEN) == 0) {
				if (!on && len)
					snprintf(which, len, "%s", strip_features[k]);
				on = 1;
			}
		}
	}
out:
	free(strs);
	free(feat);
	close(sk);
	return err ? err : on;
}

size_t tg_vlan_bound(const struct tg_cfg *cfg, const char *ifname, const char **first_id)
{
	size_t n = 0;

	*first_id = NULL;
	for (size_t i = 0; i < cfg->ncustomers; i++) {
		const struct tg_customer *c = &cfg->customers[i];

		/* bound to an outer tag: untagged and `*` do not depend on seeing one */
		if (c->vlan == TG_VLAN_UNTAGGED || c->vlan == TG_VLAN_ANY ||
		    strcmp(c->iface, ifname) != 0)
			continue;
		if (!n++)
			*first_id = c->id;
	}
	return n;
}

static int mntns_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return neg_errno();
	buf[n] = '\0';
	return 0;
}

static pid_t parent_of(pid_t pid)
{
	char path[64], line[256];
	int ppid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "PPid: %d", &ppid) == 1)
			break;
	fclose(f);
	return ppid;
}

/*
 * Walk up the ancestors: `ip netns exec` unshares the mount namespace and execs the
 * command, so the command's parent (the shell) is still in the namespace the system
 * uses. An ancestor we may not read (another user, a PID namespace's edge) ends the walk:
 * then nothing is known and nothing is refused.
 */
bool tg_mntns_private(void)
{
	char self[64], anc[64];
	pid_t pid = getpid();

	if (mntns_of(pid, self, sizeof(self)))
		return false;
	for (int depth = 0; depth < 32; depth++) {
		pid = parent_of(pid);
		if (pid <= 0 || mntns_of(pid, anc, sizeof(anc)))
			return false;
		if (strcmp(self, anc) != 0)
			return true;
		if (pid == 1)
			return false;
	}
	return false;
}
