// SPDX-License-Identifier: GPL-2.0-only
/*
 * skel.c - the only user of the generated skeleton: it embeds the compiled XDP object in
 * the binaries (no .o file to ship or find at run time). The loader opens it through the
 * generic libbpf API. Kept apart so static analysis of our code does not wade through
 * generated code.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "maps.h"
#include "tollgate.skel.h"

struct bpf_object *tg_bpf_open(const struct bpf_object_open_opts *opts)
{
	size_t sz;
	const void *bytes = tollgate__elf_bytes(&sz);

	return bpf_object__open_mem(bytes, sz, opts);
}

/*
 * The object's read-only data, laid out as the skeleton's struct tollgate__rodata from its
 * start (the section may hold the program's constants after it): tg_tick_fns.
 */
int tg_bpf_set_tick(struct bpf_object *obj, uint64_t tick_fns)
{
	struct tollgate__rodata *ro;
	struct bpf_map *map;
	const void *init;
	size_t sz;
	int err;

	for (map = bpf_object__next_map(obj, NULL); map; map = bpf_object__next_map(obj, map)) {
		const char *name = bpf_map__name(map);
		size_t n = strlen(name);

		if (!bpf_map__is_internal(map) || n < 7 || strcmp(name + n - 7, ".rodata"))
			continue;
		init = bpf_map__initial_value(map, &sz);
		if (!init || sz < sizeof(*ro))
			return -EINVAL;
		ro = malloc(sz);
		if (!ro)
			return -ENOMEM;
		memcpy(ro, init, sz);
		ro->tg_tick_fns = tick_fns;
		err = bpf_map__set_initial_value(map, ro, sz);
		free(ro);
		return err;
	}
	return -ENOENT;
}
