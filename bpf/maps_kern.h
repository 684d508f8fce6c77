/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * maps_kern.h - the pinned maps of the XDP program. Their key/value types live in
 * headers/tollgate_kern_user.h; max_entries of the per-customer and prefix maps is set by
 * the loader from the capacity section of tollgate.yaml (the values here are placeholders).
 * Every map is pinned by name under the pin directory, so policing, state and counters
 * outlive the process that loaded them.
 */
#ifndef TG_MAPS_KERN_H
#define TG_MAPS_KERN_H

#include <bpf/bpf_helpers.h>
#include "tollgate_kern_user.h"

#ifndef BPF_F_MMAPABLE
#define BPF_F_MMAPABLE (1U << 10)
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_MAX_IFINDEX);
	__type(key, __u32); /* ifindex */
	__type(value, struct tg_iface);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_V4_TBL24_ENTRIES / 2);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);		  /* address >> 9 */
	__type(value, struct tg_v4_pair); /* the /24s address >> 8 = 2k, 2k+1 */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_v4_tbl24 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_V4_TBL8_CHUNK / 2);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32); /* (chunk * 256 + last octet) >> 1 */
	__type(value, struct tg_v4_pair);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_v4_tbl8 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_V4_VOID_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);   /* address >> 22 */
	__type(value, __u64); /* bit (address >> 16) & 63: no customer in that /16 */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_v4_void SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_V6_ROOT_CHUNKS); /* the root, plus the chunks the loader adds */
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32); /* chunk number */
	__type(value, struct tg_v6_chunk);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_v6_trie SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set by the loader */
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32); /* compare node number */
	__type(value, struct tg_v6_cmp);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_v6_cmp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct tg_bind_key);
	__type(value, __u32); /* customer index or TG_BIND_AMBIGUOUS */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_bind SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_cust);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_cust SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_pol);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_pol SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_cstat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_cstat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE); /* tollgated reads every customer's each interval */
	__type(key, __u32);
	__type(value, struct tg_cdrop);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_cdrop SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE); /* read like tg_cdrop */
	__type(key, __u32);
	__type(value, struct tg_cnoted);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_cnoted SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_dcache);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_dcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_MAX_IFACES);
	__type(key, __u32); /* interface slot */
	__type(value, struct tg_ifstat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_ifstat SEC(".maps");

/* Flood profiles (struct tg_fprof): packet-rate limits shared by the customers of a plan. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_MAX_FPROF);
	__type(key, __u32);
	__type(value, struct tg_fprof);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_fprof SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_REFL_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_refl_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_SRCWATCH_SLOTS);
	__type(key, __u32);
	__type(value, struct tg_srcwatch);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_srcwatch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TG_SRCBLOCK_MAX);
	__type(key, struct tg_src_key);
	__type(value, __u64); /* the block ends at this bpf_ktime_get_coarse_ns() */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_srcblock SEC(".maps");

/* Blocks each customer started in the current window (the per-customer share of tg_srcblock). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set by the loader: per customer */
	__type(key, __u32);
	__type(value, struct tg_srcquota);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_srcquota SEC(".maps");

/*
 * The exceptions' packet-rate limit per access port (exc_kern.h): the GCRA TAT of each
 * owned port, and of one bucket per interface for the rest. LRU: entries of ports whose
 * binding went away age out instead of filling it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* set by the loader: bindings + interfaces */
	__type(key, struct tg_bind_key);
	__type(value, __u64); /* TAT, 2^-8 ns */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_exlim SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_WALLED_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required of an LPM trie */
	__type(key, struct tg_walled_key);
	__type(value, __u8); /* TG_WG_* */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_walled SEC(".maps");

/* Userspace only: the external id of each customer index, so the pins describe themselves. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[TG_ID_LEN]);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_names SEC(".maps");

/* What each customer contacted this interval (fanout_kern.h); element 0 is the interval. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);		   /* set by the loader: per customer */
	__uint(map_flags, BPF_F_MMAPABLE); /* tollgated reads every customer's each interval */
	__type(key, __u32);
	__type(value, struct tg_fanout);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_fanout SEC(".maps");

#endif /* TG_MAPS_KERN_H */
