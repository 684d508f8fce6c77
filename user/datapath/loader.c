// SPDX-License-Identifier: GPL-2.0-only
/*
 * loader.c - load the XDP program and its maps, or open the ones already pinned.
 *
 * The pinned layout under the pin directory (default /sys/fs/bpf/tollgate):
 *   prog            the XDP program, shared by every attached interface
 *   tg_*            the maps, pinned by name (LIBBPF_PIN_BY_NAME)
 *   link_<ifname>   one bpf_link per attached interface
 * tg_config carries a magic and TG_LAYOUT_VERSION; pins of another version are refused
 * rather than misread.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/lib.h"
#include "netdev.h"
#include "maps.h"

#define BPFFS_ROOT "/sys/fs/bpf"

void tg_capacity_from_config(const struct tg_cfg *cfg, struct tg_capacity *cap)
{
	cap->max_customers = cfg && cfg->max_customers ? cfg->max_customers : 1024;
	cap->max_prefixes = cfg && cfg->max_prefixes ? cfg->max_prefixes : 2 * cap->max_customers;
}

const char *tg_pin_dir(const struct tg_cfg *cfg)
{
	const char *env = getenv("TOLLGATE_PIN_DIR");

	if (env && *env)
		return env;
	if (cfg && cfg->pin_dir)
		return cfg->pin_dir;
	return TG_PIN_DIR_DEFAULT;
}

/* The jiffy: CLOCK_MONOTONIC_COARSE's resolution, 0 if unknown. */
static uint64_t jiffy_ns(void)
{
	struct timespec ts;

	if (clock_getres(CLOCK_MONOTONIC_COARSE, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t tg_coarse_tick_ns(void)
{
	uint64_t ns = jiffy_ns();

	return ns ? ns : 10 * 1000 * 1000; /* HZ=100, the coarsest tick Linux has */
}

/*
 * The prefix tables, sized from max_prefixes with room for a reload that rewrites them:
 * IPv4, one chunk (1 KiB) per /24 holding prefixes longer than /24; IPv6, one chunk per
 * trie level with more than one way down (an ISP's dense pools need about one per 256
 * prefixes) and a compare node for up to every prefix (one alone in its aggregate), and
 * a quarter more for the ones a reload writes before the old ones are let go.
 */
struct prefix_sizes {
	uint32_t chunks4, chunks6, cmps; /* chunks6: below the root */
};

static uint32_t clamp(uint64_t n, uint32_t lo, uint32_t hi)
{
	return n < lo ? lo : n > hi ? hi : (uint32_t)n;
}

static struct prefix_sizes prefix_sizes(const struct tg_capacity *cap)
{
	uint64_t p = cap->max_prefixes;

	return (struct prefix_sizes){clamp(p / 8, 256, 131072), clamp(p / 8, 1024, 131072),
				     clamp(p + p / 4, 1024, 1u << 24)};
}

static int is_bpffs(const char *path)
{
	struct statfs st;

	if (statfs(path, &st))
		return neg_errno();
	return st.f_type == BPF_FS_MAGIC;
}

/* The pin directory's parent must be a bpf filesystem; mount /sys/fs/bpf if it is not. */
static int ensure_bpffs(const char *pin_dir)
{
	char parent[PATH_MAX], *slash;
	int err;

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -EINVAL;
	*slash = '\0';
	err = is_bpffs(parent);
	if (err == 1)
		return 0;
	if (strcmp(parent, BPFFS_ROOT) == 0) {
		/* ip netns exec: a private mount namespace with a fresh /sys. A bpffs mounted
		 * here, and the links pinned in it, would go when the command exits: the
		 * program would be detached the moment it was attached. */
		if (tg_mntns_private()) {
			tg_err("%s is not a bpffs in this mount namespace, which is private to "
			       "this "
			       "command (ip netns exec?): pins made here would vanish when it "
			       "exits, "
			       "detaching XDP. Run it as nsenter --net=/run/netns/NAME -- tollgate "
			       "... "
			       "(or mount -t bpf bpf %s in the host's namespace first)",
			       BPFFS_ROOT, BPFFS_ROOT);
			return -EXDEV;
		}
		if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
			err = neg_errno();
			tg_err("cannot mount bpffs on %s: %s", BPFFS_ROOT, strerror(-err));
			return err;
		}
		tg_info("mounted bpffs on %s", BPFFS_ROOT);
		return 0;
	}
	tg_err("%s is not on a bpf filesystem (mount -t bpf bpf %s)", pin_dir, parent);
	return -ENOTDIR;
}

static int map_max_entries(int fd, uint32_t *n)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return neg_errno();
	*n = info.max_entries;
	return 0;
}

/* tg_v6_trie and tg_v6_cmp elements in u32s: the mmaps hold them back to back, as arrays of
 * structs, because the kernel rounds elements up to 8 bytes and these are multiples already. */
#define V6_CHUNK_WORDS (sizeof(struct tg_v6_chunk) / sizeof(uint32_t))
#define V6_CMP_WORDS (sizeof(struct tg_v6_cmp) / sizeof(uint32_t))
_Static_assert(sizeof(struct tg_v6_chunk) % 8 == 0, "tg_v6_trie elements are packed in the mmap");
_Static_assert(sizeof(struct tg_v6_cmp) % 8 == 0, "tg_v6_cmp elements are packed in the mmap");

static void *map_mmap(int fd, size_t entries)
{
	size_t len = entries * sizeof(uint32_t);
	long pg = sysconf(_SC_PAGESIZE);
	void *p;

	len = (len + pg - 1) / pg * pg;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static size_t mmap_len(size_t entries)
{
	long pg = sysconf(_SC_PAGESIZE);

	return (entries * sizeof(uint32_t) + pg - 1) / pg * pg;
}

static size_t pages_of(const struct tg_maps *m, size_t value_size)
{
	long pg = sysconf(_SC_PAGESIZE);

	return ((size_t)m->max_cust * value_size + pg - 1) / pg * pg;
}

static const struct {
	const char *name;
	size_t off;
	int size; /* enum tg_map_size */
} map_table[] = {
#define MAPENT(n, size) {"tg_" #n, offsetof(struct tg_maps, n), size},
	TG_MAPS(MAPENT)
#undef MAPENT
};

#define MAP_FD(m, i) (*(int *)((char *)(m) + map_table[i].off))

static void maps_init(struct tg_maps *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < sizeof(map_table) / sizeof(map_table[0]); i++)
		MAP_FD(m, i) = -1;
	m->prog = -1;
}

/* Sizes and mmaps, once every fd is in place. */
static int maps_finish(struct tg_maps *m)
{
	int err;

	if ((err = map_max_entries(m->cust, &m->max_cust)) ||
	    (err = map_max_entries(m->v4_tbl8, &m->tbl8_chunks)) ||
	    (err = map_max_entries(m->v6_trie, &m->v6_chunks)) ||
	    (err = map_max_entries(m->v6_cmp, &m->v6_ncmp)) ||
	    (err = map_max_entries(m->bind, &m->bind_max)))
		return err;
	m->tbl8_chunks /= TG_V4_TBL8_CHUNK / 2; /* elements are pairs of entries */
	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus < 0)
		return m->ncpus;
	m->tbl24 = map_mmap(m->v4_tbl24, TG_V4_TBL24_ENTRIES);
	m->tbl8 = map_mmap(m->v4_tbl8, (size_t)m->tbl8_chunks * TG_V4_TBL8_CHUNK);
	m->v4void = map_mmap(m->v4_void, TG_V4_VOID_WORDS * 2);
	m->v6trie = map_mmap(m->v6_trie, (size_t)m->v6_chunks * V6_CHUNK_WORDS);
	m->v6cmp = map_mmap(m->v6_cmp, (size_t)m->v6_ncmp * V6_CMP_WORDS);
	if (!m->tbl24 || !m->tbl8 || !m->v4void || !m->v6trie || !m->v6cmp) {
		err = neg_errno();
		tg_err("cannot mmap the IPv4 tables and IPv6 trie: %s", strerror(-err));
		return err;
	}
	return 0;
}

int tg_maps_map_cdrop(struct tg_maps *m)
{
	void *p;

	if (m->cdrop_mm && m->cnoted_mm)
		return 0;
	if (!m->cdrop_mm) {
		p = mmap(NULL, pages_of(m, sizeof(struct tg_cdrop)), PROT_READ, MAP_SHARED,
			 m->cdrop, 0);
		if (p == MAP_FAILED)
			return neg_errno();
		m->cdrop_mm = p;
	}
	p = mmap(NULL, pages_of(m, sizeof(struct tg_cnoted)), PROT_READ, MAP_SHARED, m->cnoted, 0);
	if (p == MAP_FAILED)
		return neg_errno();
	m->cnoted_mm = p;
	return 0;
}

int tg_maps_map_fanout(struct tg_maps *m)
{
	void *p;

	if (m->fanout_mm)
		return 0;
	p = mmap(NULL, pages_of(m, sizeof(struct tg_fanout)), PROT_READ, MAP_SHARED, m->fanout, 0);
	if (p == MAP_FAILED)
		return neg_errno();
	m->fanout_mm = p;
	return 0;
}

static int check_layout(struct tg_maps *m)
{
	struct tg_config c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->config, &zero, &c))
		return neg_errno();
	if (c.magic != TG_LAYOUT_MAGIC || c.layout_version != TG_LAYOUT_VERSION) {
		tg_err("%s holds a Tollgate layout of version %u, this build uses %u: detach every "
		       "interface with the tollgate that attached them, then attach again",
		       m->pin_dir, c.magic == TG_LAYOUT_MAGIC ? c.layout_version : 0,
		       TG_LAYOUT_VERSION);
		return -EPROTO;
	}
	return 0;
}

static int open_pinned(struct tg_maps *m)
{
	char path[PATH_MAX];
	size_t i;
	int fd, err;

	for (i = 0; i < sizeof(map_table) / sizeof(map_table[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", m->pin_dir, map_table[i].name);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			err = neg_errno();
			tg_err("cannot open %s: %s", path, strerror(-err));
			return err;
		}
		MAP_FD(m, i) = fd;
	}
	snprintf(path, sizeof(path), "%s/%s", m->pin_dir, TG_PIN_PROG);
	m->prog = bpf_obj_get(path);
	if (m->prog < 0) {
		err = neg_errno();
		tg_err("cannot open %s: %s", path, strerror(-err));
		return err;
	}
	err = check_layout(m);
	return err ? err : maps_finish(m);
}

static int set_size(struct bpf_object *obj, const char *name, uint32_t n)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);

	return map ? bpf_map__set_max_entries(map, n) : -ENOENT;
}

static int load_new(struct tg_maps *m, const struct tg_capacity *cap, bool pin)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "tollgate",
		    .pin_root_path = pin ? m->pin_dir : NULL);
	uint32_t ncust = cap->max_customers + 1;
	struct prefix_sizes sz = prefix_sizes(cap);
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct bpf_map *map;
	struct tg_config c = {};
	struct tg_fanout fo = {};
	char path[PATH_MAX];
	__u32 zero = 0;
	size_t i;
	int err = 0;

	obj = tg_bpf_open(&opts);
	if (!obj) {
		err = neg_errno();
		tg_err("cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	for (i = 0; i < sizeof(map_table) / sizeof(map_table[0]) && !err; i++)
		if (map_table[i].size == TG_MS_CUST)
			err = set_size(obj, map_table[i].name, ncust);
	if (!err) /* a bucket per owned port (at most one per binding) and per interface */
		err = set_size(obj, "tg_exlim", ncust + TG_MAX_IFACES);
	if (!err)
		err = set_size(obj, "tg_v6_trie", TG_V6_ROOT_CHUNKS + sz.chunks6);
	if (!err)
		err = set_size(obj, "tg_v6_cmp", sz.cmps);
	if (!err)
		err = set_size(obj, "tg_v4_tbl8", sz.chunks4 * (TG_V4_TBL8_CHUNK / 2));
	/* the jiffy, when it is one (1 ms..1 s); else the program reads the coarse clock */
	if (!err) {
		uint64_t tick = jiffy_ns();

		err = tg_bpf_set_tick(obj, tick >= 1000000 && tick <= 1000000000 ? tick << 8 : 0);
	}
	if (err) {
		tg_err("cannot set up the BPF object: %s", strerror(-err));
		goto out;
	}
	if (!pin) {
		for (map = bpf_object__next_map(obj, NULL); map;
		     map = bpf_object__next_map(obj, map))
			bpf_map__set_pin_path(map, NULL);
	}
	err = bpf_object__load(obj);
	if (err) {
		tg_err("cannot load the XDP program: %s%s", strerror(-err),
		       err == -EINVAL ? " (pinned maps of another size? capacity changed: detach "
					"every interface to resize)"
				      : "");
		goto out;
	}
	for (i = 0; i < sizeof(map_table) / sizeof(map_table[0]); i++) {
		map = bpf_object__find_map_by_name(obj, map_table[i].name);
		MAP_FD(m, i) = map ? dup(bpf_map__fd(map)) : -1;
		if (MAP_FD(m, i) < 0) {
			err = -EINVAL;
			goto out;
		}
	}
	prog = bpf_object__find_program_by_name(obj, "tollgate_xdp");
	m->prog = prog ? dup(bpf_program__fd(prog)) : -1;
	if (m->prog < 0) {
		err = -ENOENT;
		goto out;
	}
	/* a reused tg_config already holds the layout; a new one gets it now */
	if (bpf_map_lookup_elem(m->config, &zero, &c) == 0 && c.magic == TG_LAYOUT_MAGIC) {
		err = check_layout(m);
		if (err)
			goto out;
	} else {
		c = (struct tg_config){.magic = TG_LAYOUT_MAGIC,
				       .layout_version = TG_LAYOUT_VERSION,
				       .clock_tick_ns = tg_coarse_tick_ns()};
		/* the watch-slot key: secret, and new with every new set of maps */
		if (getrandom(&c.src_key, sizeof(c.src_key), 0) != sizeof(c.src_key)) {
			err = errno ? neg_errno() : -EIO;
			tg_err("cannot draw the per-source hash key: %s", strerror(-err));
			goto out;
		}
		if (bpf_map_update_elem(m->config, &zero, &c, BPF_ANY)) {
			err = neg_errno();
			goto out;
		}
		/* the fan-out sketches' key, beside their interval (fanout_kern.h) */
		fo.key = c.src_key;
		if (bpf_map_update_elem(m->fanout, &zero, &fo, BPF_ANY)) {
			err = neg_errno();
			goto out;
		}
	}
	if (pin) {
		snprintf(path, sizeof(path), "%s/%s", m->pin_dir, TG_PIN_PROG);
		if (bpf_obj_pin(m->prog, path)) {
			err = neg_errno();
			tg_err("cannot pin %s: %s", path, strerror(-err));
			goto out;
		}
	}
	err = maps_finish(m);
out:
	/* the dup()ed fds (and the pins) keep program and maps alive */
	bpf_object__close(obj);
	return err;
}

int tg_maps_open(const char *pin_dir, const struct tg_capacity *cap, bool create, struct tg_maps *m)
{
	struct tg_capacity defcap;
	char path[PATH_MAX];
	int err;

	maps_init(m);
	if (!cap) {
		tg_capacity_from_config(NULL, &defcap);
		cap = &defcap;
	}
	if (!pin_dir) {
		err = load_new(m, cap, false);
		goto out;
	}
	snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", pin_dir);
	snprintf(path, sizeof(path), "%s/%s", pin_dir, TG_PIN_PROG);
	if (access(path, F_OK) == 0) {
		err = open_pinned(m);
		if (!err && create && m->max_cust != cap->max_customers + 1) {
			tg_err("capacity changed: the pinned maps hold %u customers, the config "
			       "asks for %u; detach every interface to resize",
			       m->max_cust - 1, cap->max_customers);
			err = -EEXIST;
		}
		struct prefix_sizes sz = prefix_sizes(cap);

		if (!err && create &&
		    (m->tbl8_chunks != sz.chunks4 ||
		     m->v6_chunks != TG_V6_ROOT_CHUNKS + sz.chunks6 || m->v6_ncmp != sz.cmps)) {
			tg_err("capacity changed: the pinned prefix tables were sized for another "
			       "capacity.max_prefixes (%u IPv4 chunks, %u IPv6 chunks and %u "
			       "compare nodes; the config asks for %u, %u and %u); detach every "
			       "interface to resize",
			       m->tbl8_chunks, m->v6_chunks - TG_V6_ROOT_CHUNKS, m->v6_ncmp,
			       sz.chunks4, sz.chunks6, sz.cmps);
			err = -EEXIST;
		}
		goto out;
	}
	if (!create) {
		err = -ENOENT; /* nothing loaded there */
		goto out;
	}
	err = ensure_bpffs(pin_dir);
	if (err)
		goto out;
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		err = neg_errno();
		tg_err("cannot create %s: %s", pin_dir, strerror(-err));
		goto out;
	}
	err = load_new(m, cap, true);
out:
	if (err)
		tg_maps_close(m);
	return err;
}

void tg_maps_close(struct tg_maps *m)
{
	size_t i;

	tg_fold_close(m);
	if (m->tbl24)
		munmap(m->tbl24, mmap_len(TG_V4_TBL24_ENTRIES));
	if (m->tbl8)
		munmap(m->tbl8, mmap_len((size_t)m->tbl8_chunks * TG_V4_TBL8_CHUNK));
	if (m->v4void)
		munmap(m->v4void, mmap_len(TG_V4_VOID_WORDS * 2));
	if (m->v6trie)
		munmap(m->v6trie, mmap_len((size_t)m->v6_chunks * V6_CHUNK_WORDS));
	if (m->v6cmp)
		munmap(m->v6cmp, mmap_len((size_t)m->v6_ncmp * V6_CMP_WORDS));
	if (m->cdrop_mm)
		munmap((void *)m->cdrop_mm, pages_of(m, sizeof(struct tg_cdrop)));
	if (m->cnoted_mm)
		munmap((void *)m->cnoted_mm, pages_of(m, sizeof(struct tg_cnoted)));
	if (m->fanout_mm)
		munmap((void *)m->fanout_mm, pages_of(m, sizeof(struct tg_fanout)));
	m->tbl24 = m->tbl8 = NULL;
	m->v4void = NULL;
	m->v6trie = NULL;
	m->v6cmp = NULL;
	m->cdrop_mm = NULL;
	m->cnoted_mm = NULL;
	m->fanout_mm = NULL;
	for (i = 0; i < sizeof(map_table) / sizeof(map_table[0]); i++) {
		if (MAP_FD(m, i) >= 0)
			close(MAP_FD(m, i));
		MAP_FD(m, i) = -1;
	}
	if (m->prog >= 0)
		close(m->prog);
	m->prog = -1;
}

int tg_maps_lock(const struct tg_maps *m)
{
	int fd;

	if (!m->pin_dir[0])
		return -1;
	fd = open(m->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) && errno == EINTR)
		;
	return fd;
}

void tg_maps_unlock(int lock)
{
	if (lock >= 0)
		close(lock); /* releases the flock */
}

int tg_maps_unpin(const char *pin_dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = 0;

	d = opendir(pin_dir);
	if (!d)
		return errno == ENOENT ? 0 : neg_errno();
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
		if (unlink(path) && !err)
			err = neg_errno();
	}
	closedir(d);
	if (rmdir(pin_dir) && !err)
		err = neg_errno();
	return err;
}
