#!/usr/bin/env bash
#
# test_capture.sh - the evidence sample end to end, tollgated in the namespace lab
# (scripts/lab.sh): a rule throttles customer A while it pings the upstream host, and
# `tollgate events show ID --pcap` then gives a pcap file that tcpdump reads, with the
# rule's capture.packets packets, every one to or from A's address; `tollgate capture`
# arms one by hand (audited, the caller as actor) with --count packets of B's; the day's
# bound clips a capture and then refuses one; bad requests change nothing; --pcap
# refuses a terminal; capture.enabled: false (by reload) refuses and arms nothing.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N failed"
# and the exit status is non-zero on any failure. Needs root. Traffic never leaves the
# lab's veths (lab tc<PID>); namespaces, pins (/sys/fs/bpf/tg-cap-PID), temporary files
# and every process started here are removed by the trap, even when a check fails.
# shellcheck disable=SC2317  # the trap and check() call functions indirectly
set -u

{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP test_capture: needs root (namespaces, XDP)"
	exit 77
fi
if ! command -v tcpdump >/dev/null; then
	echo "SKIP test_capture: no tcpdump (scripts/install-deps.sh installs it)"
	exit 77
fi

P=tc$$
suite_init cap
PPID_A=

teardown() {
	[ -n "$PPID_A" ] && kill "$PPID_A" 2>/dev/null
}

N_RULE=10 # capture.packets
lab_write_config "$P" "$TMP" && sed -i "s/mode: native/mode: $MODE/" "$CFG"
cat >>"$CFG" <<EOF
enforcement:
  interval: 1s
  rules:
    - name: busy
      when: "upload_pps > 20 for 2s"
      action: throttle
      throttle_rate: 5mbit
      duration: 60s
      reason: "AUP 4.2: over the fair-use packet rate"
capture: { packets: $N_RULE, per_day: 20 }
EOF
export TOLLGATE_SOCKET=$TMP/ctl.sock
check "lab up" lab_up "$P"
attach_all() {
	local spec
	for spec in "$P-c0:customer" "$P-c1:customer" "$P-c2:customer" "$P-u0:upstream"; do
		tg attach "${spec%%:*}" role "${spec##*:}" mode "$MODE" || return 1
	done
}
check "attach 3 customer + 1 upstream interfaces, mode $MODE" attach_all
start_daemon
check "tollgated starts and applies the configuration" daemon_up

# event_of CUSTOMER ACTION: the id of the customer's last event of that action ("" if none)
event_of() {
	tg -j events --customer "$1" | lab_json "([e['id'] for e in j['events'] if e['action'] == '$2'] or [''])[-1]"
}
# packets_of ID: how many packets the event has stored
packets_of() { tg -j events show "$1" | lab_json "j['packets']"; }
# wait_packets ID N: until event ID has N packets stored (5 s at most)
wait_packets() {
	local _
	for _ in $(seq 50); do
		[ "$(packets_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "event $1 has $(packets_of "$1") packets stored, not $2"
	return 1
}
# pcap_ok FILE N ADDR: tcpdump reads FILE, N packets, each to or from ADDR
pcap_ok() {
	local out n
	out=$(tcpdump -nn -r "$1" 2>/dev/null) || { echo "tcpdump cannot read $1"; return 1; }
	n=$(grep -c . <<<"$out")
	[ "$n" = "$2" ] || { echo "tcpdump read $n packets, not $2: $out"; return 1; }
	if grep -v -F -e " $3 " -e " $3." -e "> $3:" -e "$3 >" <<<"$out" | grep -q .; then
		echo "packets not to or from $3: $(grep -v -F "$3" <<<"$out" | head -3)"
		return 1
	fi
	echo "  $(head -1 <<<"$out")"
}

# ---- a rule fires: A pings at 50/s, over the rule's 20/s, and is throttled ----
ip netns exec "$P-cust" ping -n -q -i 0.02 -w 20 -I "$LAB_A4" "$LAB_UP4" >/dev/null 2>&1 &
PPID_A=$!
# (variables set inside check would stay in its subshell: the event ids are read here)
EV_RULE=
for _ in $(seq 100); do
	EV_RULE=$(event_of cust-a throttle)
	[ -n "$EV_RULE" ] && break
	sleep 0.1
done
rule_fired() {
	[ -n "$EV_RULE" ] || { echo "no throttle event for cust-a after 10 s: $(tg events --customer cust-a)"; return 1; }
}
check "rule busy: A pinging at 50/s is throttled (an event)" rule_fired
check "... the data plane hands up $N_RULE packets of A's, stored with the event" \
	wait_packets "$EV_RULE" "$N_RULE"
pcap_rule() {
	tg events show "$EV_RULE" --pcap >"$TMP/rule.pcap" || return 1
	pcap_ok "$TMP/rule.pcap" "$N_RULE" "$LAB_A4"
}
check "events show ID --pcap: tcpdump reads $N_RULE packets, all A's ($LAB_A4)" pcap_rule
sleep 1
check "... and no more after the capture completed" wait_packets "$EV_RULE" "$N_RULE"
kill "$PPID_A" 2>/dev/null
wait "$PPID_A" 2>/dev/null
PPID_A=

# ---- by hand: tollgate capture, audited ----
OUT_HAND=$(tg -j capture cust-b --count 5 --reason "ticket 4711" 2>&1)
EV_HAND=$(lab_json "j['event']['id']" <<<"$OUT_HAND" 2>/dev/null)
capture_hand() {
	local out=$OUT_HAND
	[ "$(lab_json "j['packets']" <<<"$out")" = 5 ] || { echo "reply: $out"; return 1; }
	[ "$(lab_json "j['event']['action'] + '/' + j['event']['actor'] + '/' + j['event']['reason']" <<<"$out")" = \
		"capture/user:root (uid 0)/ticket 4711" ] || { echo "event: $out"; return 1; }
}
check "tollgate capture cust-b --count 5: an audit event by the caller" capture_hand
ip netns exec "$P-cust" ping -n -q -c 10 -i 0.05 -I "$LAB_B4" "$LAB_UP4" >/dev/null 2>&1
check "... B's next 5 packets are stored with it" wait_packets "$EV_HAND" 5
pcap_hand() {
	tg events show "$EV_HAND" --pcap >"$TMP/hand.pcap" || return 1
	pcap_ok "$TMP/hand.pcap" 5 "$LAB_B4"
}
check "... and read back as a pcap of 5 packets, all B's ($LAB_B4)" pcap_hand

# ---- the day's bound: per_day 20, 15 stored: a capture of 10 gets 5, the next none ----
OUT_CLIP=$(tg -j capture cust-b --count 10 2>&1)
EV_CLIP=$(lab_json "j['event']['id']" <<<"$OUT_CLIP" 2>/dev/null)
clipped() {
	[ "$(lab_json "j['packets']" <<<"$OUT_CLIP")" = 5 ] || { echo "reply: $OUT_CLIP"; return 1; }
}
check "per_day 20 with 15 stored: a capture of 10 is armed for 5" clipped
ip netns exec "$P-cust" ping -n -q -c 10 -i 0.05 -I "$LAB_B4" "$LAB_UP4" >/dev/null 2>&1
check "... which stores 5" wait_packets "$EV_CLIP" 5
used_up() {
	local n0 out
	n0=$(tg -j events --customer cust-b | lab_json "len(j['events'])")
	if out=$(tg capture cust-b --count 1 2>&1); then
		echo "armed: $out"
		return 1
	fi
	grep -q "per_day" <<<"$out" || { echo "error: $out"; return 1; }
	[ "$(tg -j events --customer cust-b | lab_json "len(j['events'])")" = "$n0" ] || { echo "an event was recorded"; return 1; }
}
check "... then the day's bound is used up: refused, nothing recorded" used_up

# ---- bad requests change nothing ----
refused() {
	local n0 rc
	n0=$(tg -j events | lab_json "len(j['events'])")
	tg capture cust-b --count 0 2>/dev/null; rc=$?
	[ "$rc" = 2 ] || { echo "--count 0: exit $rc"; return 1; }
	tg capture cust-b --count 101 2>/dev/null; rc=$?
	[ "$rc" = 2 ] || { echo "--count 101: exit $rc"; return 1; }
	tg capture nobody --count 1 2>/dev/null && { echo "an unknown customer was armed"; return 1; }
	[ "$(tg -j events | lab_json "len(j['events'])")" = "$n0" ] || { echo "an event was recorded"; return 1; }
}
check "bad requests (count 0, 101, unknown customer) are refused, nothing recorded" refused
no_tty() {
	local out
	out=$(script -qec "nsenter --net=/run/netns/$P-rtr -- $TG -c $CFG events show $EV_HAND --pcap" /dev/null 2>&1)
	grep -q "terminal" <<<"$out" || { echo "output: $out"; return 1; }
}
check "events show --pcap refuses a terminal" no_tty
no_packets() {
	local out
	out=$(tg events show 00000000-0000-7000-8000-000000000000 --pcap 2>&1 >/dev/null) && { echo "no error"; return 1; }
	grep -q "no packets captured" <<<"$out" || { echo "error: $out"; return 1; }
}
check "events show --pcap of an event without packets: a clear error" no_packets

# ---- capture.enabled false: refused, nothing armed ----
sed -i "s/^capture: .*/capture: { enabled: false }/" "$CFG"
check "reload with capture.enabled: false" tg reload
disabled() {
	local out
	if out=$(tg capture cust-a --count 1 2>&1); then
		echo "armed: $out"
		return 1
	fi
	grep -q "enabled is false" <<<"$out" || { echo "error: $out"; return 1; }
}
check "... tollgate capture is refused" disabled

stop_daemon TERM
finish
}
