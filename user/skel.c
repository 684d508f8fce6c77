// SPDX-License-Identifier: GPL-2.0-only
/*
 * skel.c - the only user of the generated skeleton: it embeds the compiled XDP object in
 * the binaries (no .o file to ship or find at run time). The loader opens it through the
 * generic libbpf API. Kept apart so static analysis of our code does not wade through
 * generated code.
 */
#include <bpf/libbpf.h>

#include "maps.h"
#include "tollgate.skel.h"

struct bpf_object *tg_bpf_open(const struct bpf_object_open_opts *opts)
{
	size_t sz;
	const void *bytes = tollgate__elf_bytes(&sz);

	return bpf_object__open_mem(bytes, sz, opts);
}
