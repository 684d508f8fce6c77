#!/usr/bin/env bash
#
# test_trtcm.sh - the two-rate three-colour policer (RFC 2698) end to end, in the namespace
# lab (scripts/lab.sh): customer A's plan gets a peak above its rate and a yellow DSCP; UDP
# from the upstream host to A (download) at a rate between the two must all arrive, the
# part above the rate marked with the yellow DSCP (read from the packets captured at A's
# host), and above the peak only the peak must arrive.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N failed"
# and the exit status is non-zero on any failure. Needs root. Namespaces, pins
# (TOLLGATE_PIN_DIR=/sys/fs/bpf/tg-tr-PID), temporary files and every process started here
# are removed by the trap, even when a check fails.
# shellcheck disable=SC2317  # check() and the trap call most functions indirectly
set -u

{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"

P=tr$$
P=${P:0:9}
suite_init tr

# Plan lab-a: rate 20 Mbit/s, peak 40 Mbit/s, both bursts 256k (50 ms at the peak: a sender
# descheduled on a busy machine catches up within the burst); yellow AF13 (DSCP 14).
CIR=20000000
PIR=40000000
YELLOW=14
export LAB_A_UP=20mbit LAB_A_DOWN=20mbit LAB_A_BURST=256k
export LAB_A_PEAK="peak_rate: 40mbit, peak_burst: 256k" LAB_A_YELLOW=af13

wait_listen() {
	local _
	for _ in $(seq 50); do
		lab_ns "$1" ss -Hlun "sport = :$2" | grep -q . && lab_ns "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

for tool in "$LAB_TOLLGATE" iperf3 tcpdump nsenter ss "$LAB_PY"; do
	if ! command -v "$tool" >/dev/null; then
		fail "preflight: $tool" "not found (make all; scripts/install-deps.sh)"
		finish
	fi
done

check "lab up" lab_up "$P"
[ "$N_FAIL" -eq 0 ] || finish
lab_write_config "$P" "$TMP"
check "check-config accepts the two-rate plan" tg check-config "$CFG"

attach_all() {
	local spec
	for spec in "$P-c0:customer" "$P-c1:customer" "$P-c2:customer" "$P-u0:upstream"; do
		tg attach "${spec%%:*}" role "${spec##*:}" mode "$MODE" || return 1
	done
}
check "attach ($MODE)" attach_all
[ "$N_FAIL" -eq 0 ] || finish
check "customers loaded" tg reload

# customer show: the effective peak and the yellow DSCP beside the rate
show_peak() {
	local out
	out=$(tg -j customer show cust-a) || return 1
	"$LAB_PY" -c 'import json, sys
l = json.loads(sys.argv[1])["customer"]["download"]["limit"]
print("  customer show: download", l)
sys.exit(0 if l.get("peak_rate_bps") == 40000000 and l.get("yellow_dscp") == 14 and l.get("peak_burst_bytes", 0) >= 262144 else 1)' "$out"
}
check "customer show: peak 40 Mbit/s and yellow DSCP 14" show_peak

# trtcm_case NAME OFFERED_BPS WANT_BPS WANT_YELLOW: iperf3 -u from upstream to A for 4 s at
# OFFERED; A's host captures what arrives. The received rate (at the host) must be within
# 5% of WANT_BPS; the share of received packets carrying the yellow DSCP within 0.07 of
# WANT_YELLOW; every received IPv4 header checksum must be valid, ECN untouched.
trtcm_case() {
	local name=$1 offered=$2 want=$3 wshare=$4 port=5304 t=4 f=$TMP/iperf.json pid srv
	ip netns exec "$P-cust" iperf3 -s -1 -B "$LAB_A4" -p "$port" >"$TMP/srv.log" 2>&1 &
	srv=$!
	echo "$srv" >>"$TMP/bg.pids"
	wait_listen "$P-cust" "$port" || sleep 1
	ip netns exec "$P-cust" tcpdump -i "$P-ca" -nn -p -Q in -s 64 -U -w "$TMP/cap.pcap" \
		"udp dst port $port" 2>"$TMP/tcpdump.err" &
	pid=$!
	echo "$pid" >>"$TMP/bg.pids"
	for _ in $(seq 50); do
		grep -q "listening on" "$TMP/tcpdump.err" && break
		sleep 0.1
	done
	timeout 20 ip netns exec "$P-up" iperf3 -J --connect-timeout 2000 -c "$LAB_A4" -B "$LAB_UP4" \
		-p "$port" -u -b "$offered" -l 1200 -t "$t" -S 0x01 >"$f" 2>&1
	sleep 0.5
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	"$LAB_PY" - "$f" "$TMP/cap.pcap" "$want" "$wshare" "$YELLOW" "$name" "$offered" "$CIR" "$PIR" <<-'EOF'
		import json, struct, sys
		f, cap, want, wshare, yellow, name, offered, cir, pir = sys.argv[1:]
		want, wshare, yellow, offered = float(want), float(wshare), int(yellow), float(offered)
		try:
		    j = json.load(open(f))["end"]["sum"]
		except (ValueError, KeyError):
		    print("FAIL %s: iperf3 gave no result: %s" % (name, open(f).read()[-300:]))
		    sys.exit(0)
		b = open(cap, "rb").read()
		le = b[:4] == b"\xd4\xc3\xb2\xa1"
		E = "<" if le else ">"
		off, n, yel, green, other, badsum, ecn = 24, 0, 0, 0, 0, 0, 0
		while off + 16 <= len(b):
		    _, _, incl, _ = struct.unpack(E + "IIII", b[off:off + 16])
		    pkt = b[off + 16:off + 16 + incl]
		    off += 16 + incl
		    if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
		        continue
		    ip = pkt[14:34]
		    if struct.unpack(">H", ip[2:4])[0] != 1228:
		        continue  # iperf3's own small datagrams (sent before its TOS is set)
		    n += 1
		    d = ip[1] >> 2
		    if ip[1] & 3 != 1:
		        ecn += 1
		    s = sum(struct.unpack(">10H", ip))
		    s = (s & 0xffff) + (s >> 16)
		    s = (s & 0xffff) + (s >> 16)
		    if s != 0xffff:
		        badsum += 1
		    if d == yellow:
		        yel += 1
		    elif d == 0:
		        green += 1
		    else:
		        other += 1
		secs = j["seconds"]
		got = (j["packets"] - j["lost_packets"]) * 1228 * 8 / secs
		share = yel / n if n else 0
		print("  %s: offered %.1f Mbit/s, received %.2f Mbit/s (%+.1f%% of %.0f); captured %d: %d yellow (%.3f, want %.3f), %d green, %d other DSCP, %d bad checksums, %d ECN changed"
		      % (name, offered / 1e6, got / 1e6, 100 * (got / want - 1), want / 1e6, n, yel, share, wshare, green, other, badsum, ecn))
		res = [("%s: received within 5%% of %.0f Mbit/s" % (name, want / 1e6), abs(got / want - 1) <= 0.05),
		       ("%s: yellow share %.2f +- 0.07" % (name, wshare), n > 0 and abs(share - wshare) <= 0.07),
		       ("%s: every IPv4 header checksum valid, ECN kept, no other DSCP" % name, n > 0 and badsum == 0 and ecn == 0 and other == 0)]
		for r, ok in res:
		    print(("PASS " if ok else "FAIL ") + r)
	EOF
}
count_py_results() {
	local line
	while IFS= read -r line; do
		case $line in
		"PASS "*) N_PASS=$((N_PASS + 1)); echo "$line" ;;
		"FAIL "*) N_FAIL=$((N_FAIL + 1)); echo "$line" ;;
		*) echo "$line" ;;
		esac
	done
}

# 30 Mbit/s: above the rate, below the peak: all of it arrives, a third (30 - 20) yellow
trtcm_case "UDP download at 30 Mbit/s (rate 20, peak 40)" 30000000 30000000 \
	"$(echo "scale=4; ($((30000000 - CIR))) / 30000000" | bc)" >"$TMP/case.out" 2>&1
count_py_results <"$TMP/case.out"
# 60 Mbit/s: above the peak: the peak arrives, half of it (40 - 20) yellow
trtcm_case "UDP download at 60 Mbit/s (rate 20, peak 40)" 60000000 "$PIR" \
	"$(echo "scale=4; ($((PIR - CIR))) / $PIR" | bc)" >"$TMP/case.out" 2>&1
count_py_results <"$TMP/case.out"

finish
}
