#!/usr/bin/env bash
#
# test_lowrate.sh - drop rates at low packet rates, end to end, with tollgated running in
# the namespace lab (scripts/lab.sh). Each CPU coalesces a customer's drops in its own slot
# and flushes them every TG_DCACHE_FLUSH_PKTS (64) drops; every reader (the rules and their
# evidence, `customer show`, the API, /metrics) adds what the slots still hold, so a
# spoofer at 40 pps reads 40 pps every interval, not 0, 64, 0, 64. The rule
# `spoof_pps > 20 for 3s` must fire on
#   - C spoofing at 40 pps from one CPU (the sender pinned with taskset: veth XDP runs on
#     the sending CPU), and
#   - B spoofing at 55 pps spread over both CPUs (two senders, 28 + 27 pps, one per CPU),
# with the evidence's value within 10% of the rate sent in the interval it is over (the
# senders log every packet's time; the evidence says its interval); once they stop, the spoof
# drops that `customer show`, /api/v1/customers/ID and /metrics report are the packets
# sent, exactly. Then C's port becomes a `monitor: true` interface: C's spoofed packets
# pass, and are C's passed traffic and its would-drop spoof, in all three alike.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N failed"
# and the exit status is non-zero on any failure. Needs root and 2 CPUs (SKIP otherwise).
# Traffic never leaves the lab's veths (lab tl<PID>); namespaces, pins
# (/sys/fs/bpf/tg-lr-PID), temporary files and every process started here are removed by
# the trap, even when a check fails.
# shellcheck disable=SC2317  # the trap and check() call functions indirectly
set -u

{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"

P=tl$$
PIN=/sys/fs/bpf/tg-lr-$$
export TOLLGATE_PIN_DIR=$PIN
TGD=$ROOT/build/tollgated
TMP=$(mktemp -d "/tmp/tg-lr-$$.XXXXXX")
CFG=$TMP/tollgate.yaml
MODE=${TG_TEST_MODE:-native}
DPID=
SENDERS=()

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP test_lowrate: needs root"
	echo "0 passed, 0 failed"
	exit 0
fi
if [ "$(nproc)" -lt 2 ]; then
	echo "SKIP test_lowrate: needs 2 CPUs to spread a spoofer over them"
	echo "0 passed, 0 failed"
	exit 0
fi

stop_senders() {
	local pid
	for pid in "${SENDERS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	SENDERS=()
}
stop_daemon() {
	[ -n "$DPID" ] || return 0
	disown "$DPID" 2>/dev/null
	kill -TERM "$DPID" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$DPID" 2>/dev/null
	DPID=
}
cleanup() {
	stop_senders
	stop_daemon
	lab_down "$P"
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

tg() { lab_tg "$P" -c "$CFG" "$@"; }

lab_write_config "$P" "$TMP" && sed -i "s/mode: native/mode: $MODE/" "$CFG"
cat >>"$CFG" <<EOF
enforcement:
  interval: 1s
  rules:
    - name: lowspoof
      when: "spoof_pps > 20 for 3s"
      action: suspend
      reason: "source address spoofing at a low rate"
EOF
check "lab up" lab_up "$P"
attach_all() {
	local spec
	for spec in "$P-c0:customer" "$P-c1:customer" "$P-c2:customer" "$P-u0:upstream"; do
		tg attach "${spec%%:*}" role "${spec##*:}" mode "$MODE" || return 1
	done
}
check "attach 3 customer + 1 upstream interfaces, mode $MODE" attach_all
: >"$TMP/daemon.log"
nsenter --net="/run/netns/$P-rtr" -- "$TGD" -c "$CFG" >>"$TMP/daemon.log" 2>&1 &
DPID=$!
daemon_up() {
	for _ in $(seq 100); do
		grep -q ' applied: ' "$TMP/daemon.log" && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$TMP/daemon.log"
	return 1
}
check "tollgated starts and applies the configuration" daemon_up

# The spoofer: COUNT UDP datagrams at PPS from random foreign IPv4 sources, paced on an
# absolute schedule, each send's wall-clock time logged (one line a packet) so that the
# rate sent in any interval can be told afterwards.
SEND_PY='
import random, sys, time
from scapy.all import Ether, IP, UDP, Raw, conf
dev, mac, count, pps, dst, log = sys.argv[1:]
count, pps = int(count), float(pps)
sock = conf.L2socket(iface=dev)
out = open(log, "w")
gap, t = 1.0 / pps, time.monotonic()
for i in range(count):
    src = "192.0.2.%d" % random.randint(1, 254)
    sock.send(Ether(dst=mac) / IP(src=src, dst=dst) / UDP(sport=40000 + i % 1000, dport=9) / Raw(b"t" * 64))
    out.write("%.6f\n" % time.time())
    out.flush()
    t += gap
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)
out.close()
sock.close()
'
# send_on CPU DEV COUNT PPS LOG: the spoofer on DEV pinned to CPU (veth XDP runs on the
# sending CPU); its PID joins SENDERS.
send_on() {
	local ns=$P-cust rdev=$P-c1
	[ "$2" = "$P-sa" ] && ns=$P-spf rdev=$P-c2
	taskset -c "$1" ip netns exec "$ns" "$LAB_PY" -c "$SEND_PY" "$2" "$(lab_mac "$P-rtr" "$rdev")" \
		"$3" "$4" "$LAB_UP4" "$5" >/dev/null 2>"$5.err" &
	SENDERS+=($!)
}

# fired ID TENTHS: until ID is suspended (customer show), for at most TENTHS tenths of a s.
fired() {
	local st
	for _ in $(seq "$2"); do
		st=$(tg -j customer show "$1" | lab_json "(j['customer'].get('enforcement') or {}).get('state')")
		[ "$st" = suspended ] && return 0
		sleep 0.1
	done
	echo "$1 is not suspended after $(($2 / 10)) s (state: $st)"
	return 1
}

# evidence ID RATE LOG...: the rule's firing for ID records a spoof_pps within 10% of
# the rate the senders (their LOGs) sent in the interval the evidence is over; RATE, the
# nominal rate, is shown beside it.
EVID_PY='
import json, sys
j, nominal, logs = json.load(sys.stdin), float(sys.argv[1]), sys.argv[2:]
ev = [e["evidence"] for e in j["events"] if e["action"] == "suspend" and e["evidence"].get("metric") == "spoof_pps"]
if not ev:
    print("no suspend with spoof_pps evidence: %s" % j); sys.exit(1)
ev = ev[0]
to, dt = ev["sampled_ms"] / 1000.0, ev["interval_s"]
n = sum(1 for f in logs for l in open(f) if to - dt < float(l) <= to)
sent = n / dt
print("  evidence spoof_pps %.2f over (%.3f - %.3f s, %.3f]; sent in it %.2f pps (nominal %g)" % (ev["value"], to, dt, to, sent, nominal))
sys.exit(0 if abs(ev["value"] - sent) <= 0.1 * sent else 1)
'
evidence() {
	local id=$1 rate=$2
	shift 2
	tg -j events --customer "$id" | "$LAB_PY" -c "$EVID_PY" "$rate" "$@"
}

# agree ID SENT: once the senders stopped, customer show, the API and /metrics all count
# SENT spoofed drops for ID (upload), exactly.
AGREE_PY='
import json, re, subprocess, sys, urllib.request
url, cid, sent, tg = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
show = json.loads(subprocess.run(tg + ["-j", "customer", "show", cid], capture_output=True, text=True).stdout)
cli = show["customer"]["upload"]["dropped"]["spoof"]["packets"]
api = json.loads(urllib.request.urlopen(url + "/api/v1/customers/" + cid, timeout=5).read())["customer"]["upload"]["dropped"]["spoof"]["packets"]
text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
m = re.search(r"^tollgate_customer_drops_total\{customer=\"%s\",direction=\"upload\",reason=\"spoof\"\} (\d+)$" % re.escape(cid), text, re.M)
met = int(m.group(1)) if m else None
print("  %s: sent %d, customer show %s, API %s, /metrics %s" % (cid, sent, cli, api, met))
sys.exit(0 if cli == api == met == sent else 1)
'
agree() {
	nsenter --net="/run/netns/$P-rtr" -- "$LAB_PY" -c "$AGREE_PY" http://127.0.0.1:9477 "$1" "$2" \
		"$LAB_TOLLGATE" -c "$CFG"
}

# ---- C at 40 pps, one CPU: its drops flush every 64, i.e. every 1.6 s ----
N_C=400 # 10 s at 40 pps
send_on 0 "$P-sa" "$N_C" 40 "$TMP/c.log"
check "C spoofing at 40 pps on CPU 0 fires spoof_pps > 20 for 3s" fired cust-c 90
check "... the evidence's spoof_pps is within 10% of the rate sent" evidence cust-c 40 "$TMP/c.log"

# ---- B at 55 pps spread over both CPUs: 28 + 27 ----
N_B0=308 # 11 s at 28 pps
N_B1=297 # 11 s at 27 pps
send_on 0 "$P-cb" "$N_B0" 28 "$TMP/b0.log"
send_on 1 "$P-cb" "$N_B1" 27 "$TMP/b1.log"
check "B spoofing at 55 pps over CPUs 0 and 1 fires spoof_pps > 20 for 3s" fired cust-b 90
check "... the evidence's spoof_pps is within 10% of the rate sent" evidence cust-b 55 "$TMP/b0.log" "$TMP/b1.log"

# every sender ends by itself after its COUNT packets (waited for here, not in check's
# subshell, whose children they are not)
sent_ok=1
for pid in "${SENDERS[@]}"; do
	wait "$pid" || sent_ok=0
done
SENDERS=()
check "the senders finish, every packet sent" test "$sent_ok" = 1
check "C: customer show, the API and /metrics count the $N_C spoofed packets, exactly" agree cust-c "$N_C"
check "B: customer show, the API and /metrics count the $((N_B0 + N_B1)) spoofed packets, exactly" \
	agree cust-b "$((N_B0 + N_B1))"

# ---- C's port becomes a monitor interface: what it would drop passes, and is C's ----
MON_PY='
import json, re, subprocess, sys, urllib.request
url, cid, tg = sys.argv[1], sys.argv[2], sys.argv[3:]
up = json.loads(subprocess.run(tg + ["-j", "customer", "show", cid], capture_output=True, text=True).stdout)["customer"]["upload"]
api = json.loads(urllib.request.urlopen(url + "/api/v1/customers/" + cid, timeout=5).read())["customer"]["upload"]
text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
m = re.search(r"^tollgate_customer_would_drops_total\{customer=\"%s\",direction=\"upload\",reason=\"spoof\"\} (\d+)$" % re.escape(cid), text, re.M)
print(up["passed"]["packets"], up["dropped"]["spoof"]["packets"], up["would_drop"]["spoof"]["packets"],
      api["would_drop"]["spoof"]["packets"], int(m.group(1)) if m else -1)
'
mon_counts() {
	nsenter --net="/run/netns/$P-rtr" -- "$LAB_PY" -c "$MON_PY" http://127.0.0.1:9477 cust-c \
		"$LAB_TOLLGATE" -c "$CFG"
}
to_monitor() {
	sed -i "s/{ name: $P-c2, role: customer, mode: $MODE, antispoof: strict }/{ name: $P-c2, role: customer, mode: $MODE, antispoof: strict, monitor: true }/" "$CFG" &&
		grep -q "$P-c2.*monitor: true" "$CFG" &&
		tg detach "$P-c2" >/dev/null && tg attach "$P-c2" role customer mode "$MODE" >/dev/null &&
		[ "$(tg -j status | lab_json "[i['monitor'] for i in j['interfaces'] if i['name'] == '$P-c2'][0]")" = True ]
}
check "C's port $P-c2 re-attached as a monitor interface" to_monitor
read -r p0 d0 w0 _ <<<"$(mon_counts)"
N_M=30
lab_send "$P" "$P-spf" "$P-sa" "$N_M" 200 rand4 "$LAB_UP4" >/dev/null
monitored() {
	local p1 d1 w1 a1 m1
	read -r p1 d1 w1 a1 m1 <<<"$(mon_counts)"
	echo "  cust-c upload: passed +$((p1 - p0)), dropped spoof +$((d1 - d0)), would drop spoof +$((w1 - w0)) (API $a1, /metrics $m1)"
	[ $((p1 - p0)) -eq "$N_M" ] && [ "$d1" -eq "$d0" ] && [ $((w1 - w0)) -eq "$N_M" ] &&
		[ "$a1" -eq "$w1" ] && [ "$m1" -eq "$w1" ]
}
check "monitor: C's $N_M spoofed packets are its passed traffic and its would-drop spoof, in customer show, the API and /metrics alike" monitored

finish

}
