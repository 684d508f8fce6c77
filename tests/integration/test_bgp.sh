#!/usr/bin/env bash
#
# test_bgp.sh - upstream mitigation over BGP, end to end (docs/mitigation.md). The lab of
# scripts/lab.sh with tollgated in the router namespace, GoBGP's gobgpd beside it as
# Tollgate's speaker, and FRR's bgpd in the upstream namespace playing the transit, peered
# over the policed upstream veth (203.0.113.254 <-> 203.0.113.1). A UDP flood from source
# port 123 toward customer A's host 198.51.100.10 fires a rule whose action is flowspec,
# escalating to blackhole: FRR's RIB shows the FlowSpec rule (destination, protocol,
# source port), then on the second flood the /32 with BLACKHOLE (65535:666) and the
# configured community; each is gone once the flood stops and clear_after passes. Then the
# limits: outside the customers' space, a prefix shorter than /32, the cap
# (max_active), gobgpd restarted (its RIB lost: re-announced), tollgated killed and
# restarted (a route added behind its back is withdrawn, its own kept), monitor mode.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N failed"
# and the exit status is non-zero on any failure. Needs root, gobgpd and FRR (SKIP
# otherwise). Namespaces (lab tb<PID>), pins, temporary files and every process started
# here are removed by the trap, even when a check fails.
# shellcheck disable=SC2317,SC2034  # the trap and check() call functions indirectly; stop_pid reads the *PID variables by name
set -u

{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP test_bgp: needs root"
	exit 77
fi
if ! command -v gobgpd >/dev/null || ! command -v gobgp >/dev/null || ! [ -x /usr/lib/frr/bgpd ]; then
	echo "SKIP test_bgp: needs gobgpd, gobgp and FRR (scripts/install-deps.sh)"
	exit 77
fi

P=tb$$
suite_init bgp
export TOLLGATE_SOCKET=$TMP/ctl.sock # not /run/tollgate's: another suite's daemon may be there
GPID='' FPID='' SPID=''
# Processes are started at the top level, never inside check (its subshell would lose
# their PIDs, and the trap could not end them).

stop_pid() { # VAR: end the process whose PID VAR holds
	local pid=${!1}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	printf -v "$1" '%s' ""
}
# suite_cleanup (lib.sh) calls it, then ends tollgated and takes the lab down
teardown() {
	stop_pid SPID
	stop_pid GPID
	stop_pid FPID
}

gobgp_() { nsenter --net="/run/netns/$P-rtr" -- gobgp --target "unix://$TMP/gobgp.sock" "$@"; }
vty() { vtysh --vty_socket "$TMP" -c "$1" 2>&1; }

lab_write_config "$P" "$TMP"
cat >>"$CFG" <<EOF
enforcement:
  interval: 1s
  rules:
    - name: ntp-flood
      when: "download_pps > 150 for 2s"
      action: flowspec
      escalate: { count: 2, within: 1h }
      clear_after: 3s
      reason: "an NTP reflection flood toward the customer"
mitigation:
  target: unix://$TMP/gobgp.sock
  next_hop_ipv4: 192.0.2.1
  next_hop_ipv6: "100::1"
  communities: ["64512:666"]
  max_active: 3
  max_duration: 10m
EOF
cat >"$TMP/gobgpd.toml" <<EOF
[global.config]
  as = 64512
  router-id = "203.0.113.254"
  local-address-list = ["203.0.113.254"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "203.0.113.1"
    peer-as = 65001
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-flowspec"
EOF
cat >"$TMP/bgpd.conf" <<EOF
hostname transit
router bgp 65001
 bgp router-id 203.0.113.1
 no bgp ebgp-requires-policy
 neighbor 203.0.113.254 remote-as 64512
 address-family ipv4 unicast
  neighbor 203.0.113.254 activate
 exit-address-family
 address-family ipv4 flowspec
  neighbor 203.0.113.254 activate
 exit-address-family
EOF

start_gobgpd() {
	nsenter --net="/run/netns/$P-rtr" -- gobgpd -f "$TMP/gobgpd.toml" --api-hosts \
		"unix://$TMP/gobgp.sock" -p --pprof-disable >>"$TMP/gobgpd.log" 2>&1 &
	GPID=$!
}
session_up() {
	for _ in $(seq 300); do
		gobgp_ neighbor 2>/dev/null | grep -q Establ && return 0
		sleep 0.1
	done
	gobgp_ neighbor
	tail -n 5 "$TMP/gobgpd.log" "$TMP/bgpd.log"
	return 1
}
# frr_has CMD TEXT TENTHS / frr_lacks ...: until FRR's answer to CMD contains (lacks) TEXT
frr_has() {
	for _ in $(seq "$3"); do
		vty "$1" | grep -qF -- "$2" && return 0
		sleep 0.1
	done
	echo "FRR's '$1' has no '$2' after $(($3 / 10)) s:"
	vty "$1" | head -n 20
	return 1
}
frr_lacks() {
	for _ in $(seq "$3"); do
		vty "$1" | grep -qF -- "$2" || return 0
		sleep 0.1
	done
	echo "FRR's '$1' still has '$2' after $(($3 / 10)) s"
	return 1
}

# The flood: UDP from 192.0.2.x port 123 (NTP reflection) toward A's host, from the upstream.
FLOOD_PY='
import sys, time
from scapy.all import Ether, IP, UDP, Raw, conf
dev, mac, dst, pps, secs = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
sock = conf.L2socket(iface=dev)
pkts = [Ether(dst=mac) / IP(src="192.0.2.%d" % (1 + i % 200), dst=dst) / UDP(sport=123, dport=40000 + i % 500) / Raw(b"m" * 400) for i in range(500)]
t, end, i = time.monotonic(), time.monotonic() + secs, 0
while time.monotonic() < end:
    sock.send(pkts[i % 500]); i += 1
    t += 1.0 / pps
    d = t - time.monotonic()
    if d > 0: time.sleep(d)
sock.close()
'
flood() { # SECONDS: in the background, SPID
	ip netns exec "$P-up" "$LAB_PY" -c "$FLOOD_PY" "$P-ua" "$(lab_mac "$P-rtr" "$P-u0")" \
		"$LAB_A4" 400 "$1" >/dev/null 2>"$TMP/flood.err" &
	SPID=$!
}

check "lab up" lab_up "$P"
attach_all() {
	local spec
	for spec in "$P-c0:customer" "$P-c1:customer" "$P-c2:customer" "$P-u0:upstream"; do
		tg attach "${spec%%:*}" role "${spec##*:}" mode native || return 1
	done
}
check "attach the lab's interfaces" attach_all
nsenter --net="/run/netns/$P-up" -- /usr/lib/frr/bgpd -f "$TMP/bgpd.conf" -Z -S -n \
	--vty_socket "$TMP" -l 203.0.113.1 -u root -g root -i "$TMP/bgpd.pid" >"$TMP/bgpd.log" 2>&1 &
FPID=$!
start_gobgpd
check "gobgpd (Tollgate's speaker) peers with FRR (the transit) over the policed upstream port" session_up
start_daemon
check "tollgated starts with a mitigation: section" daemon_up

metric() { # NAME{LABELS}: its value on /metrics
	nsenter --net="/run/netns/$P-rtr" -- curl -s http://127.0.0.1:9477/metrics |
		awk -v k="$1" '$1 == k { print $2 }'
}
session_metric() {
	for _ in $(seq 150); do
		[ "$(metric 'tollgate_bgp_session_up{peer="203.0.113.1"}')" = 1 ] && return 0
		sleep 0.1
	done
	echo "tollgate_bgp_session_up: $(metric 'tollgate_bgp_session_up{peer="203.0.113.1"}')"
	return 1
}
check "/metrics: tollgate_bgp_session_up{peer=203.0.113.1} 1" session_metric

# ---- a rule's flowspec, then escalated to blackhole ----
FS="show bgp ipv4 flowspec detail"
first_flood() {
	local t0=$1 t1
	frr_has "$FS" "Destination Address $LAB_A4/32" 100 || return 1
	t1=$(date +%s%N)
	echo "  the FlowSpec rule in FRR's RIB $(((t1 - t0) / 1000000)) ms after the flood began (rule: for 2s, interval 1s)"
	vty "$FS" | grep -qF "IP Protocol = 17" || { echo "no protocol 17"; return 1; }
	vty "$FS" | grep -qF "Source Port = 123" || { echo "no source port 123"; vty "$FS"; return 1; }
	vty "$FS" | grep -qF "FS:rate 0.0" || { echo "not a discard"; return 1; }
}
flood 8
check "flood 1: the flowspec rule (to A's host, udp, from port 123, discard) reaches the transit" first_flood "$(date +%s%N)"
fs_event() {
	tg -j events --customer cust-a | lab_json "
[e for e in j['events'] if e['action'] == 'flowspec'][-1]['evidence']['announcement']" |
		grep -qF "flowspec $LAB_A4/32 proto 17 sport 123 discard" || {
		tg events --customer cust-a
		return 1
	}
	tg -j events --customer cust-a | lab_json "
[e for e in j['events'] if e['action'] == 'flowspec'][-1]['evidence']['top_destinations'][0]['address']" |
		grep -qxF "$LAB_A4"
}
check "the audit log records it first: action flowspec, the announcement, the attacked host" fs_event
mit_listed() {
	tg mitigation list | grep -F "flowspec $LAB_A4/32" | grep -qF "[rule ntp-flood]" || {
		tg mitigation list
		return 1
	}
}
check "tollgate mitigation list shows it, by rule" mit_listed
metric_is() { # NAME{LABELS} VALUE
	local v
	v=$(metric "$1")
	[ "$v" = "$2" ] || {
		echo "$1 is '$v', want $2"
		return 1
	}
}
check "/metrics: tollgate_mitigations_active{kind=flowspec} 1" metric_is 'tollgate_mitigations_active{kind="flowspec"}' 1
fs_gone() {
	frr_lacks "$FS" "Destination Address $LAB_A4/32" 150 || return 1
	tg -j events --customer cust-a | lab_json "[e['action'] for e in j['events']][-1]" | grep -qx withdraw
}
wait "$SPID" 2>/dev/null
SPID=
check "the flood over and clear_after (3 s) passed: withdrawn from the transit, audited" fs_gone
second_flood() {
	frr_has "show bgp ipv4 unicast $LAB_A4/32 json" '"blackhole"' 100 || return 1
	vty "show bgp ipv4 unicast $LAB_A4/32 json" | grep -qF '"64512:666"' || return 1
	vty "show bgp ipv4 unicast $LAB_A4/32 json" | grep -qF '"192.0.2.1"' || return 1
	tg -j events --customer cust-a | lab_json "[e for e in j['events'] if e['action'] == 'blackhole'][-1]['reason']" |
		grep -q escalated
}
flood 8
check "flood 2 escalates: A's /32 with BLACKHOLE, 64512:666 and next hop 192.0.2.1 at the transit" second_flood
bh_gone() {
	frr_lacks "show bgp ipv4 unicast $LAB_A4/32 json" '"blackhole"' 150
}
wait "$SPID" 2>/dev/null
SPID=
check "the second flood over: the blackhole is withdrawn" bh_gone

# ---- the limits ----
refused() { # ARGS...: tollgate mitigation announce ARGS is refused and nothing reaches FRR
	local out
	if out=$(tg mitigation announce "$@" --reason test 2>&1); then
		echo "announced: $out"
		return 1
	fi
	echo "  refused: $out"
}
check "outside the customers' space (203.0.113.9): refused" refused blackhole 203.0.113.9
check "a prefix shorter than /32 (198.51.100.0/28, A's own): refused" refused blackhole 198.51.100.0/28
check "a bad protocol word: refused" refused flowspec "$LAB_B4" --proto bogus
manual() {
	tg mitigation announce blackhole "$LAB_B4" --reason "by hand, B" --for 5m &&
		tg mitigation announce blackhole 198.51.100.75 --reason "by hand, B .75" &&
		tg mitigation announce flowspec "$LAB_C4" --proto udp --source-ports 53,123 --rate 10mbit --reason "by hand, C" &&
		frr_has "show bgp ipv4 unicast $LAB_B4/32 json" '"blackhole"' 100 &&
		frr_has "$FS" "Destination Address $LAB_C4/32" 100 &&
		frr_has "$FS" "FS:rate 1250000" 10
}
check "by hand: two blackholes (B) and a rate-limiting flowspec (C) announced" manual
api_lists() {
	nsenter --net="/run/netns/$P-rtr" -- curl -s http://127.0.0.1:9477/api/v1/mitigations |
		lab_json "' | '.join(sorted(m['key'] for m in j['mitigation']['active']))" |
		grep -qF "blackhole $LAB_B4/32" || return 1
	nsenter --net="/run/netns/$P-rtr" -- curl -s http://127.0.0.1:9477/api/v1/mitigations |
		lab_json "' '.join(str(p['up']) for p in j['mitigation']['speaker']['peers'])" | grep -qx True
}
check "/api/v1/mitigations (the NOC page's source) lists them and the session up" api_lists
check "the cap: a fourth with max_active 3 is refused" refused blackhole 198.51.100.11
check "/metrics: tollgate_mitigation_refused_total{reason=cap} 1" metric_is 'tollgate_mitigation_refused_total{reason="cap"}' 1
stop_pid GPID
check "gobgpd stopped: the transit drops its routes" frr_lacks "show bgp ipv4 unicast $LAB_B4/32 json" '"blackhole"' 150
start_gobgpd
gobgpd_restart() {
	session_up || return 1
	frr_has "show bgp ipv4 unicast $LAB_B4/32 json" '"blackhole"' 200 &&
		frr_has "show bgp ipv4 unicast 198.51.100.75/32 json" '"blackhole"' 10 &&
		frr_has "$FS" "Destination Address $LAB_C4/32" 10
}
check "gobgpd restarted (its RIB lost): everything in force is announced again (<= 20 s)" gobgpd_restart
stop_daemon KILL
# behind Tollgate's back: a blackhole it never decided
gobgp_ global rib -a ipv4 add 198.51.100.12/32 nexthop 192.0.2.1 community 65535:666 >/dev/null
check "a blackhole added behind tollgated's back reaches the transit" frr_has "show bgp ipv4 unicast 198.51.100.12/32 json" '"blackhole"' 50
start_daemon
daemon_restart() {
	daemon_up || return 1
	frr_lacks "show bgp ipv4 unicast 198.51.100.12/32 json" '"blackhole"' 150 || return 1
	frr_has "show bgp ipv4 unicast $LAB_B4/32 json" '"blackhole"' 10 &&
		frr_has "$FS" "Destination Address $LAB_C4/32" 10
}
check "tollgated killed and restarted: a stray blackhole withdrawn, its own kept" daemon_restart
withdraw() {
	tg mitigation withdraw blackhole "$LAB_B4" --reason finished &&
		tg mitigation withdraw flowspec "$LAB_C4" --proto udp --source-ports 123,53 --rate 10mbit --reason finished &&
		frr_lacks "show bgp ipv4 unicast $LAB_B4/32 json" '"blackhole"' 150 &&
		frr_lacks "$FS" "Destination Address $LAB_C4/32" 150 &&
		frr_has "show bgp ipv4 unicast 198.51.100.75/32 json" '"blackhole"' 10
}
check "withdrawn by hand (by kind and address): gone from the transit, the other kept" withdraw
monitor_mode() {
	sed -i 's/^  max_duration: 10m$/  max_duration: 10m\n  monitor: true/' "$CFG"
	tg reload >/dev/null || return 1
	frr_lacks "show bgp ipv4 unicast 198.51.100.75/32 json" '"blackhole"' 200 || return 1
	tg mitigation announce blackhole 198.51.100.13 --reason "monitor test" | grep -q "monitor, not announced" || return 1
	sleep 2
	frr_lacks "show bgp ipv4 unicast 198.51.100.13/32 json" '"blackhole"' 10 &&
		tg -j events --customer cust-a | lab_json "[e for e in j['events'] if e['action'] == 'blackhole'][-1]['monitor']" |
		grep -qx True
}
check "monitor: true: nothing announced (what was is withdrawn), the would-be recorded" monitor_mode

finish
}
