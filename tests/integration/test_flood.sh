#!/usr/bin/env bash
#
# test_flood.sh - floods in the namespace lab (scripts/lab.sh), generated with trafgen
# (netsniff-ng) at the highest rate it reaches here, one trafgen process on one CPU.
#
# Customer A's plan gets packet-rate limits (syn 100pps, udp 5kpps, reflection 500pps,
# per_source 20kpps, block_time 60s). Then:
#   1. A's TCP download (iperf3 -R, 4 s) alone: the baseline.
#   2. The same while a flood aimed at A runs from the upstream side: TCP SYNs and UDP from
#      NTP (port 123), each from a random source in 45.0.0.0/16. A's transfer keeps >= 80%
#      of the baseline; B's pings all get answers; the drops are counted to A as flood_syn
#      and flood_udp (the rate trafgen reached is printed).
#   3. Per-source blocking survives a random-source flood: a source sending UDP to A far
#      above 20 kpps is blocked; after the random-source flood of step 2 ran again its
#      entry is still in tg_srcblock, and its packets still drop.
#   4. An outbound SYN flood from A (its own source address) toward the upstream host: it
#      is dropped and counted as flood_syn on A's upload; at most 100/s plus the burst pass.
#   5. Exception floods from A's port (the interface's default limit, 200pps): neighbour
#      solicitations from random fe80:: sources, then ARP from random MACs with A's own
#      address. Each is cut to the limit (the rest drops as `exception`, charged to A),
#      while B's ARP on its own port passes meanwhile.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N failed".
# Needs root. Traffic stays on the lab's veths (lab tf<PID>); namespaces, pins, files and
# every process started here are removed by the trap, even when a check fails.
# shellcheck disable=SC2317  # the trap and check() call functions indirectly
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"

P=tf$$
suite_init tf
PY=$LAB_PY
export LAB_A_DOWN=20mbit LAB_A_UP=10mbit LAB_A_BURST=512k
export LAB_A_FLOOD="{ syn: 100pps, udp: 5kpps, reflection: 500pps, per_source: 20kpps, block_time: 60s }"
SYN_PPS=100
FLOOD_S=4

# Background processes: trafgen here (BG_PIDS), iperf3 servers also from command
# substitutions (subshells), so every PID goes to $TMP/bg.pids as well (lib.sh ends both).

echo "== Tollgate floods (lab $P, pins $PIN)"
for tool in trafgen iperf3 "$LAB_TOLLGATE" bpftool; do
	command -v "$tool" >/dev/null || {
		fail "preflight: $tool" "not installed (scripts/install-deps.sh)"
		finish
	}
done
check "lab up" lab_up "$P"
[ "$N_FAIL" -eq 0 ] || finish
lab_write_config "$P" "$TMP"
attach_all() {
	local spec
	for spec in "$P-c0:customer" "$P-c1:customer" "$P-c2:customer" "$P-u0:upstream"; do
		tg attach "${spec%%:*}" role "${spec##*:}" || return 1
	done
}
check "attach with A's flood limits" attach_all
[ "$N_FAIL" -eq 0 ] || finish

# A customer's counter: cust ID DIR KIND [REASON] -> packets
cust() {
	if [ "$3" = passed ]; then
		tg -j customer show "$1" | lab_json "j['customer']['$2']['passed']['packets']"
	else
		tg -j customer show "$1" | lab_json "j['customer']['$2']['dropped']['$4']['packets']"
	fi
}

RMAC_U=$(lab_mac "$P-rtr" "$P-u0")
UMAC=$(lab_mac "$P-up" "$P-ua")
RMAC_C=$(lab_mac "$P-rtr" "$P-c0")
AMAC=$(lab_mac "$P-cust" "$P-ca")
# run_trafgen NS DEV CFG SECONDS: send as fast as one CPU can
run_trafgen() {
	timeout "$4" ip netns exec "$1" trafgen --dev "$2" --conf "$3" --cpus 1 --no-sock-mem \
		--no-cpu-stats >/dev/null 2>&1
	return 0
}

{
	lab_trafgen_syn "$RMAC_U" "$UMAC" "45, 0, drnd(2)" "$LAB_A4"
	lab_trafgen_udp "$RMAC_U" "$UMAC" "45, 0, drnd(2)" "$LAB_A4" 123
} >"$TMP/inbound.cfg"

# ---- 1 and 2: A's download with and without the flood ----
iperf_down() { # OUT: A's TCP download for 4 s, in bit/s
	local port=$((5300 + RANDOM % 500))
	ip netns exec "$P-up" iperf3 -s -1 -B "$LAB_UP4" -p "$port" >/dev/null 2>&1 &
	echo "$!" >>"$TMP/bg.pids" # ip netns exec execs iperf3: the server's own PID
	sleep 0.3
	timeout 20 ip netns exec "$P-cust" iperf3 -J -R -c "$LAB_UP4" -B "$LAB_A4" -p "$port" -t 4 \
		>"$1" 2>&1
	lab_json 'int(j["end"]["sum_received"]["bits_per_second"])' <"$1"
}
T0=$(iperf_down "$TMP/base.json")
echo "  A's TCP download alone: $((T0 / 1000)) kbit/s"
tg -j customer show cust-a | lab_json "' '.join('%s=%d' % (r, v['packets']) for r, v in j['customer']['download']['dropped'].items() if v['packets'])" | sed 's/^/  A download drops so far (the bandwidth policer on TCP): /'

s0=$(cust cust-a download dropped flood_syn)
u0=$(cust cust-a download dropped flood_udp)
run_trafgen "$P-up" "$P-ua" "$TMP/inbound.cfg" $((FLOOD_S + 2)) &
BG_PIDS+=($!)
echo "$!" >>"$TMP/bg.pids"
sleep 0.5
T1=$(iperf_down "$TMP/flood.json")
wait "${BG_PIDS[-1]}"
echo "  A's TCP download under the flood: $((T1 / 1000)) kbit/s"
s1=$(cust cust-a download dropped flood_syn)
u1=$(cust cust-a download dropped flood_udp)
echo "  flood drops counted to A: flood_syn +$((s1 - s0)), flood_udp +$((u1 - u0)) in ~$((FLOOD_S + 2)) s" \
	"($(((s1 - s0 + u1 - u0) / (FLOOD_S + 2) / 1000)) kpps from one trafgen on one CPU, beside iperf3)"
check "A's TCP download under a SYN + NTP reflection flood keeps >= 80% of its rate" \
	test "$T1" -ge $((T0 * 8 / 10))
check "the SYN flood is dropped and counted to A as flood_syn" test $((s1 - s0)) -gt 10000
check "the reflection flood is dropped and counted to A as flood_udp" test $((u1 - u0)) -gt 10000
# what passed toward A: the transfer's own packets, plus at most the limits' worth
check "B is unaffected: 10 pings from B all answered" \
	bash -c "ip netns exec $P-cust ping -n -q -c 10 -i 0.05 -W 1 -I $LAB_B4 $LAB_UP4 | grep -q ' 10 received'"

# ---- 3: a blocked source survives a random-source flood ----
lab_trafgen_udp "$RMAC_U" "$UMAC" "45, 9, 9, 9" "$LAB_A4" 5000 >"$TMP/attacker.cfg"
run_trafgen "$P-up" "$P-ua" "$TMP/attacker.cfg" 1
blocked_has() { # is 45.9.9.9 in tg_srcblock?
	bpftool -j map dump pinned "$PIN/tg_srcblock" | "$PY" -c '
import json, sys
keys = [bytes(int(x, 16) for x in e["key"][8:12]) for e in json.load(sys.stdin)]
sys.exit(0 if bytes([45, 9, 9, 9]) in keys else 1)'
}
check "a source far above 20 kpps toward A is blocked (tg_srcblock)" blocked_has
run_trafgen "$P-up" "$P-ua" "$TMP/inbound.cfg" 2
check "... and still is after a random-source flood" blocked_has
a0=$(cust cust-a download dropped flood_udp)
ap=$(cust cust-a download passed)
timeout 5 ip netns exec "$P-up" trafgen --dev "$P-ua" --conf "$TMP/attacker.cfg" --cpus 1 \
	--no-sock-mem --no-cpu-stats --num 50 >/dev/null 2>&1
a1=$(cust cust-a download dropped flood_udp)
ap1=$(cust cust-a download passed)
check "... its next 50 packets drop (flood_udp +50, passed +0)" \
	test $((a1 - a0)) -eq 50 -a $((ap1 - ap)) -eq 0

# ---- 4: an outbound SYN flood from A ----
lab_trafgen_syn "$RMAC_C" "$AMAC" "$(tr . , <<<"$LAB_A4")" "$LAB_UP4" >"$TMP/outbound.cfg"
o0=$(cust cust-a upload dropped flood_syn)
q0=$(cust cust-a upload passed)
run_trafgen "$P-cust" "$P-ca" "$TMP/outbound.cfg" 2
o1=$(cust cust-a upload dropped flood_syn)
q1=$(cust cust-a upload passed)
echo "  A's outbound SYN flood: flood_syn +$((o1 - o0)), passed +$((q1 - q0))"
check "A's outbound SYN flood is dropped and counted as flood_syn on its upload" \
	test $((o1 - o0)) -gt 10000
check "... at most 100/s for 2 s plus a burst of 100 passed (+ slack 20)" \
	test $((q1 - q0)) -le $((SYN_PPS * 2 + SYN_PPS + 20))

# ---- 5: exception floods from A's port, cut to the port's limit ----
EXC_PPS=200 # the default `exceptions` of a customer interface
# NS from fe80::<random 64 bits>, hop limit 255, to ff02::1:ff00:1 (checksum left 0: the
# counters are the point, not the router's neighbour table)
cat >"$TMP/ns.cfg" <<-EOF
	{ 0x33, 0x33, 0xff, 0x00, 0x00, 0x01, $(lab_trafgen_bytes "$AMAC"), 0x86, 0xdd,
	  0x60, 0, 0, 0, const16(24), 58, 255,
	  0xfe, 0x80, 0, 0, 0, 0, 0, 0, drnd(8),
	  0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0, 0, 0x01,
	  135, 0, const16(0), const32(0),
	  0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 }
EOF
# ARP requests from random MACs with A's own sender address (strict lets them in: the limit
# is what stops them)
cat >"$TMP/arp.cfg" <<-EOF
	{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, $(lab_trafgen_bytes "$AMAC"), 0x08, 0x06,
	  0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, drnd(5), $(tr . , <<<"$LAB_A4"),
	  0, 0, 0, 0, 0, 0, $(tr . , <<<"$LAB_A_GW4"), fill(0, 18) }
EOF
RMAC_C1=$(lab_mac "$P-rtr" "$P-c1")
ifc() { # IFACE KIND [REASON] -> packets
	local sel="[i for i in j['interfaces'] if i['name'] == '$1'][0]['counters']"
	if [ "$2" = dropped ]; then
		tg -j status | lab_json "${sel}['dropped']['$3']['packets']"
	else
		tg -j status | lab_json "${sel}['$2']['packets']"
	fi
}
b_arp() { # 10 ARP requests from B's port, 50 ms apart
	ip netns exec "$P-cust" "$PY" -c "
from scapy.all import Ether, ARP, sendp
sendp(Ether(dst='$RMAC_C1')/ARP(psrc='$LAB_B4', pdst='$LAB_B_GW4'), iface='$P-cb', count=10,
      inter=0.05, verbose=False)"
}
exc_flood() { # NAME CFG
	local e0 x0 u0 b0 bx0 e1 x1 u1 b1 bx1
	e0=$(cust cust-a upload dropped exception)
	x0=$(ifc "$P-c0" dropped exception)
	u0=$(ifc "$P-c0" unclassified)
	b0=$(ifc "$P-c1" unclassified)
	bx0=$(ifc "$P-c1" dropped exception)
	run_trafgen "$P-cust" "$P-ca" "$2" 2 &
	BG_PIDS+=($!)
	echo "$!" >>"$TMP/bg.pids"
	sleep 0.5
	b_arp
	wait "${BG_PIDS[-1]}"
	e1=$(cust cust-a upload dropped exception)
	x1=$(ifc "$P-c0" dropped exception)
	u1=$(ifc "$P-c0" unclassified)
	b1=$(ifc "$P-c1" unclassified)
	bx1=$(ifc "$P-c1" dropped exception)
	echo "  $1 from A's port: passed +$((u1 - u0)), exception drops +$((x1 - x0))" \
		"(A +$((e1 - e0))); B's port: passed +$((b1 - b0)), exception drops +$((bx1 - bx0))"
	check "$1 from A's port is dropped as exception, charged to A" \
		test $((x1 - x0)) -gt 5000 -a $((e1 - e0)) -eq $((x1 - x0))
	check "... at most ${EXC_PPS}/s for 2 s plus a burst of $EXC_PPS passed (+ slack 50)" \
		test $((u1 - u0)) -le $((EXC_PPS * 2 + EXC_PPS + 50))
	check "... while B's 10 ARP requests on its own port all passed" \
		test $((b1 - b0)) -ge 10 -a $((bx1 - bx0)) -eq 0
}
exc_flood "an NS flood from random fe80:: sources" "$TMP/ns.cfg"
exc_flood "an ARP flood from random MACs" "$TMP/arp.cfg"

finish
