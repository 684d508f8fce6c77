// SPDX-License-Identifier: GPL-2.0-only
/*
 * fx_bogons.c - fixtures: bogon sources (RFC 6890) dropped in every role, and the edges of
 * the bogon lists: just outside a bogon prefix passes.
 */
#include "golden.h"

const struct fixture fx_bogons[] = {
	/* ---- bogon sources ---- */
	{"bogon 0.0.0.0 UDP 68 -> 53 (not DHCP)",
	 P_STRICT,
	 {V4("0.0.0.0", "255.255.255.255"), .proto = IPPROTO_UDP, .sport = 68, .dport = 53},
	 DROP(BOGON, NULL)},
	{"bogon 0.0.0.0 UDP 67 -> 68 (server port)",
	 P_STRICT,
	 {V4("0.0.0.0", "255.255.255.255"), .proto = IPPROTO_UDP, .sport = 67, .dport = 68},
	 DROP(BOGON, NULL)},
	{"bogon 0.0.0.0 TCP 68 -> 67",
	 P_STRICT,
	 {V4("0.0.0.0", "192.0.2.1"), .sport = 68, .dport = 67},
	 DROP(BOGON, NULL)},
	{"bogon 0.1.2.3", P_STRICT, {V4("0.1.2.3", DST4)}, DROP(BOGON, NULL)},
	{"bogon 127.0.0.1", P_STRICT, {V4("127.0.0.1", DST4)}, DROP(BOGON, NULL)},
	{"bogon 127.255.255.254", P_STRICT, {V4("127.255.255.254", DST4)}, DROP(BOGON, NULL)},
	{"bogon 224.0.0.5", P_STRICT, {V4("224.0.0.5", DST4)}, DROP(BOGON, NULL)},
	{"bogon 239.255.255.250",
	 P_STRICT,
	 {V4("239.255.255.250", DST4), .proto = IPPROTO_UDP},
	 DROP(BOGON, NULL)},
	{"bogon 240.0.0.1", P_STRICT, {V4("240.0.0.1", DST4)}, DROP(BOGON, NULL)},
	{"bogon 255.255.255.255",
	 P_STRICT,
	 {V4("255.255.255.255", DST4), .proto = IPPROTO_UDP},
	 DROP(BOGON, NULL)},
	{"bogon :: (UDP)", P_STRICT, {V4("::", DST6), .proto = IPPROTO_UDP}, DROP(BOGON, NULL)},
	{"bogon ::1", P_STRICT, {V4("::1", DST6)}, DROP(BOGON, NULL)},
	{"bogon ff02::1", P_STRICT, {V4("ff02::1", DST6)}, DROP(BOGON, NULL)},
	{"bogon ff0e::1", P_STRICT, {V4("ff0e::1", DST6), .proto = IPPROTO_UDP}, DROP(BOGON, NULL)},
	{"bogon ::ffff:192.0.2.1 (IPv4-mapped)",
	 P_STRICT,
	 {V4("::ffff:192.0.2.1", DST6)},
	 DROP(BOGON, NULL)},
	{"bogon ::ffff:198.51.100.5 (a customer's address, mapped)",
	 P_STRICT,
	 {V4("::ffff:198.51.100.5", DST6)},
	 DROP(BOGON, NULL)},
	{"tagged bogon charged to the VLAN's customer",
	 P_STRICT,
	 {Q(100), V4("127.0.0.1", DST4)},
	 DROP(BOGON, "c-v")},
	{"bogon with antispoof off is still a bogon",
	 P_OFF,
	 {V4("127.0.0.1", DST4)},
	 DROP(BOGON, NULL)},

};
const size_t fx_bogons_n = ARRAY_SIZE(fx_bogons);

const struct fixture fx_bogon_edges[] = {
	/* ---- h6: the bogon list's edges (TG_BOGON4_LIST, TG_BOGON6_LIST): just outside is
	 * an unknown source (spoof), not a bogon ---- */
	{"h6: 1.0.0.0 is no bogon", P_STRICT, {V4("1.0.0.0", DST4)}, DROP(SPOOF, NULL)},
	{"h6: 126.255.255.255 is no bogon",
	 P_STRICT,
	 {V4("126.255.255.255", DST4)},
	 DROP(SPOOF, NULL)},
	{"h6: 128.0.0.0 is no bogon", P_STRICT, {V4("128.0.0.0", DST4)}, DROP(SPOOF, NULL)},
	{"h6: 223.255.255.255 is no bogon",
	 P_STRICT,
	 {V4("223.255.255.255", DST4)},
	 DROP(SPOOF, NULL)},
	{"h6: 239.0.0.1 is a bogon", P_STRICT, {V4("239.0.0.1", DST4)}, DROP(BOGON, NULL)},
	{"h6: ::2 is no bogon", P_STRICT, {V4("::2", DST6)}, DROP(SPOOF, NULL)},
	{"h6: ::1:0:0:1 is no bogon", P_STRICT, {V4("::1:0:0:1", DST6)}, DROP(SPOOF, NULL)},
	{"h6: ::fffe:c000:201 is no bogon",
	 P_STRICT,
	 {V4("::fffe:c000:201", DST6)},
	 DROP(SPOOF, NULL)},
	{"h6: ::1:ffff:c000:201 is no bogon",
	 P_STRICT,
	 {V4("::1:ffff:c000:201", DST6)},
	 DROP(SPOOF, NULL)},
	{"h6: feff::1 is no bogon", P_STRICT, {V4("feff::1", DST6)}, DROP(SPOOF, NULL)},
	{"h6: ffff::1 is a bogon", P_STRICT, {V4("ffff::1", DST6)}, DROP(BOGON, NULL)},
	{"h6: ::ffff:ffff:ffff is a bogon",
	 P_STRICT,
	 {V4("::ffff:ffff:ffff", DST6)},
	 DROP(BOGON, NULL)},

};
const size_t fx_bogon_edges_n = ARRAY_SIZE(fx_bogon_edges);
