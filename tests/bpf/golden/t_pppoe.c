// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_pppoe.c - the policer and the packet-rate limits see the IP packet inside a PPPoE
 * session.
 */
#include "golden.h"

/* The policer and the packet-rate limits see the IP packet inside a PPPoE session. */
void test_pppoe_limits(void)
{
	const struct rate_case rate = {
		"PPPoE rate: upload 8 Mbit/s, burst 3000 B: n 1000-byte v4 packets in a QinQ "
		"session "
		"pass, n + 1 drops (the IP bytes are policed)",
		P_STRICT,
		"e-r",
		TG_DIR_UP,
		{QINQ(300, 400), SES(0x42), V4("198.18.10.5", DST4), .proto = IPPROTO_UDP,
		 .payload = UDP_PAYLOAD4(1000)},
		{QINQ(300, 400), SES(0x42), V4("198.18.10.5", DST4), .proto = IPPROTO_UDP,
		 .payload = UDP_PAYLOAD4(1000)},
		false,
		false,
	};
	const struct flood_case syn = {
		"PPPoE flood: upload TCP SYN at 20/s in a QinQ session: 20 pass, the 21st drops as "
		"flood_syn",
		P_STRICT,
		"e-f",
		TG_DIR_UP,
		TG_FC_SYN,
		FL_SYN,
		{QINQ(300, 401), SES(0x43), V4("198.18.11.5", DST4), .dport = 443},
		TG_R_FLOOD_SYN,
		0,
	};
	const struct flood_case icmp6 = {
		"PPPoE flood: upload ICMPv6 echo at 10/s, burst 4, compressed PPP protocol: 4 "
		"pass, "
		"then flood_icmp",
		P_STRICT,
		"e-f",
		TG_DIR_UP,
		TG_FC_ICMP,
		FL_ICMP,
		{QINQ(300, 401), SES(0x43), .ppp = PPP_PFC | 0x57, V4("2001:db8:311::5", DST6),
		 .proto = IPPROTO_ICMPV6, .icmp_type = ICMP6_ECHO_REQ, .payload = 56},
		TG_R_FLOOD_ICMP,
		FL_ICMP_BURST,
	};

	run_rate_case(&rate, &plan_rates[PL_UP8M][TG_DIR_UP]);
	run_flood_case(&syn);
	run_flood_case(&icmp6);
}
