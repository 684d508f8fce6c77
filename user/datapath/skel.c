// SPDX-License-Identifier: GPL-2.0-only
/*
 * skel.c - the only user of the generated skeletons: it embeds the compiled XDP object and
 * the fold's (bpf/fold.bpf.c) in the binaries (no .o file to ship or find at run time).
 * The loader and fold.c open them through the generic libbpf API. Kept apart so static
 * analysis of our code does not wade through generated code.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "maps.h"
#include "tollgate.skel.h"
#include "fold.skel.h"

struct bpf_object *tg_bpf_open(const struct bpf_object_open_opts *opts)
{
	size_t sz;
	const void *bytes = tollgate__elf_bytes(&sz);

	return bpf_object__open_mem(bytes, sz, opts);
}

struct bpf_object *tg_fold_bpf_open(void)
{
	size_t sz;
	const void *bytes = fold_bpf__elf_bytes(&sz);

	return bpf_object__open_mem(bytes, sz, NULL);
}

/*
 * The object's read-only data (libbpf finds it by its section name), laid out as the
 * skeleton's struct tollgate__rodata from its start (the section may hold the program's
 * constants after it): tg_tick_fns.
 */
int tg_bpf_set_tick(struct bpf_object *obj, uint64_t tick_fns)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, ".rodata");
	struct tollgate__rodata *ro;
	const void *init;
	size_t sz;
	int err;

	if (!map)
		return -ENOENT;
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
