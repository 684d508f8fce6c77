#!/usr/bin/env bash
#
# test_lab.sh - Tollgate end to end, in network namespaces (scripts/lab.sh): attach to the
# router's veths, send real traffic and spoofed packets, and check what passed, what was
# dropped, and that every counter equals what was sent.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N failed"
# and the exit status is non-zero on any failure. Needs root. Traffic never leaves the
# lab's veths; namespaces, pins (TOLLGATE_PIN_DIR=/sys/fs/bpf/tg-test-PID), temporary files
# and every process started here are removed by the trap, even when a check fails.
#
# Environment: TG_TEST_MODE=native|generic (default native; on a kernel where native XDP
# cannot attach to veth the test says so, FAILs that check and goes on in generic mode).
# shellcheck disable=SC2317  # check() and the trap call most functions indirectly
set -u

# The script is one brace group, read whole before it runs: editing the file during a run
# (a checkout, another engineer) cannot change what the run executes.
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"

P=tg$$
suite_init test

# Plans (scripts/lab.sh): A is policed with a small burst, so the burst adds little to a
# rate measured over 5 s; B has design.md's example plan home-100.
A_UP_BPS=10000000
A_DOWN_BPS=20000000
B_UP_BPS=20000000
B_DOWN_BPS=100000000
export LAB_A_UP=10mbit LAB_A_DOWN=20mbit LAB_A_BURST=64k
export LAB_B_UP=20mbit LAB_B_UP_BURST=256k LAB_B_DOWN=100mbit LAB_B_DOWN_BURST=1m

# Background processes (iperf3 servers) are started inside check's command substitution,
# a subshell: their PIDs go to $TMP/bg.pids, where the cleanup (lib.sh) finds them.

# snap FILE: every counter in one JSON document {"cust": {ID: `customer show ID`},
# "status": `status`}; deltas reads it as {"cust": {ID: customer}, "if": {NAME: interface}}.
snap() {
	local f=$1 id
	{
		echo '{"cust": {'
		for id in cust-a cust-b cust-c cust-v; do
			[ "$id" = cust-a ] || echo ','
			printf '"%s": ' "$id"
			tg -j customer show "$id" || echo null
		done
		echo '}, "status": '
		tg -j status || echo null
		echo '}'
	} >"$f" 2>>"$TMP/tollgate.err"
}

# deltas BEFORE AFTER PATH=WANT...: each counter at PATH ("cust.cust-a.upload.passed.packets",
# "if.NAME.counters.dropped.spoof.packets") grew by exactly WANT between the snapshots.
deltas() {
	"$LAB_PY" - "$@" <<-'EOF'
		import json, sys
		def load(f):
		    j = json.load(open(f))
		    j["cust"] = {k: (v or {}).get("customer") for k, v in j["cust"].items()}
		    j["if"] = {i["name"]: i for i in (j.get("status") or {}).get("interfaces", [])}
		    return j
		def get(j, path):
		    for k in path.split("."):
		        j = j[k]
		    return j
		a, b = load(sys.argv[1]), load(sys.argv[2])
		bad = []
		for spec in sys.argv[3:]:
		    path, want = spec.rsplit("=", 1)
		    try:
		        d = get(b, path) - get(a, path)
		    except (KeyError, TypeError) as e:
		        bad.append("%s: missing (%s)" % (path, e))
		        continue
		    if d != int(want):
		        bad.append("%s grew by %d, want %s" % (path, d, want))
		print("; ".join(bad))
		sys.exit(1 if bad else 0)
	EOF
}

# check_deltas NAME BEFORE AFTER PATH=WANT...
check_deltas() {
	local name=$1
	shift
	check "$name" deltas "$@"
}

# probe_start NS DEV / probe_stop: count the probe datagrams (lab_send's UDP to port 9) that
# DEV receives, captured at layer 2 so that martian sources the host would discard count
# too. Only probes count: a late segment of an earlier iperf3 run or a neighbour
# solicitation on the same link is not one. probe_stop sets PROBES to the count (it must
# run in the shell that ran probe_start, not in a $(...) subshell, to wait for tcpdump).
probe_start() {
	: >"$TMP/probe.err"
	# ip netns exec itself becomes tcpdump: PROBE_PID is tcpdump's own PID. SIGTERM, not
	# SIGINT, ends it: a background job of a script ignores SIGINT.
	ip netns exec "$1" tcpdump -i "$2" -nn -p -Q in --immediate-mode -U -w "$TMP/probe.pcap" 'udp dst port 9' 2>"$TMP/probe.err" &
	PROBE_PID=$!
	echo "$PROBE_PID" >>"$TMP/bg.pids"
	local _
	for _ in $(seq 50); do
		grep -q "listening on" "$TMP/probe.err" && return 0
		kill -0 "$PROBE_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "tcpdump did not start: $(tail -n 1 "$TMP/probe.err")"
	return 1
}
probe_stop() {
	kill "$PROBE_PID" 2>/dev/null
	wait "$PROBE_PID" 2>/dev/null
	PROBES=$(tcpdump -nn -r "$TMP/probe.pcap" 2>/dev/null | wc -l)
}

# wait_listen NS PORT: until a TCP listener is up (at most 5 s).
wait_listen() {
	local _
	for _ in $(seq 50); do
		lab_ns "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# iperf_server NS ADDR PORT: one-shot iperf3 server in the background; its PID in SRV_PID
# (`ip netns exec` execs iperf3: the PID is the server's own).
iperf_server() {
	ip netns exec "$1" iperf3 -s -1 -B "$2" -p "$3" >"$TMP/iperf-server-$3.log" 2>&1 &
	SRV_PID=$!
	echo "$SRV_PID" >>"$TMP/bg.pids"
	wait_listen "$1" "$3"
}

stop_server() {
	kill "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
}

# ping_ok NS COUNT ADDR [ping args]: every echo answered.
ping_ok() {
	local ns=$1 n=$2 addr=$3 out
	shift 3
	out=$(lab_ns "$ns" ping -n -q -c "$n" -i 0.05 -W 2 "$@" "$addr" 2>&1)
	if ! grep -q " $n received" <<<"$out"; then
		echo "$out"
		return 1
	fi
}

# ---- preflight ----
echo "== Tollgate integration test (lab $P, pins $PIN)"
if [ "$(id -u)" -ne 0 ]; then
	fail "preflight: root" "the lab needs root (namespaces, XDP)"
	finish
fi
for tool in "$LAB_TOLLGATE" iperf3 nsenter ss "$LAB_PY"; do
	if ! command -v "$tool" >/dev/null; then
		fail "preflight: $tool" "not found (make all; scripts/install-deps.sh)"
		finish
	fi
done
if ! "$LAB_PY" -c 'import scapy.all' 2>/dev/null; then
	fail "preflight: scapy" "$LAB_PY cannot import scapy (python3-scapy)"
	finish
fi

check "lab up" lab_up "$P"
[ "$N_FAIL" -eq 0 ] || finish
lab_write_config "$P" "$TMP"

# ---- attach ----
IFACES=("$P-c0:customer" "$P-c1:customer" "$P-c2:customer" "$P-u0:upstream")

attach_all() {
	local mode=$1 spec
	for spec in "${IFACES[@]}"; do
		tg attach "${spec%%:*}" role "${spec##*:}" mode "$mode" || return 1
	done
}

# xdp_mode DEV: what `ip link` reports on the router: xdp (native), xdpgeneric, or none.
xdp_mode() {
	ip -n "$P-rtr" -d link show dev "$1" | grep -o -m1 -E '\bxdp(generic|drv|offload)?\b' ||
		echo none
}

attached_in() {
	local mode=$1 want spec got
	want=$([ "$mode" = generic ] && echo xdpgeneric || echo xdp)
	for spec in "${IFACES[@]}"; do
		got=$(xdp_mode "${spec%%:*}")
		[ "$got" = "$want" ] || {
			echo "${spec%%:*}: ip link shows '$got', want '$want'"
			return 1
		}
	done
}

if out=$(attach_all "$MODE" 2>&1); then
	pass "attach 3 customer + 1 upstream interfaces, mode $MODE"
	check "ip link shows the program in $MODE mode on every interface" attached_in "$MODE"
elif [ "$MODE" = native ]; then
	fail "attach in native mode" "$(tail -n 3 <<<"$out" | tr '\n' ' ')"
	echo "  trying generic mode, to tell a native-XDP problem from any other"
	for spec in "${IFACES[@]}"; do tg detach "${spec%%:*}" >/dev/null 2>&1; done
	MODE=generic
	check "attach in generic mode (fallback)" attach_all generic
else
	fail "attach in $MODE mode" "$(tail -n 3 <<<"$out" | tr '\n' ' ')"
fi

status_ok() {
	tg -j status >"$TMP/status.json" || return 1
	"$LAB_PY" - "$TMP/status.json" "$MODE" "$P" <<-'EOF'
		import json, sys
		j = json.load(open(sys.argv[1]))
		mode, p = sys.argv[2], sys.argv[3]
		errs = []
		if j.get("version") != 1: errs.append("version %r" % j.get("version"))
		if j["customers"]["loaded"] != 4: errs.append("customers loaded %r, want 4" % j["customers"]["loaded"])
		want = {p + "-c0": "customer", p + "-c1": "customer", p + "-c2": "customer", p + "-u0": "upstream"}
		got = {i["name"]: i for i in j["interfaces"]}
		for name, role in want.items():
		    i = got.get(name)
		    if not i: errs.append(name + " missing"); continue
		    if i["role"] != role or i["mode"] != mode or i["attached"] is not True:
		        errs.append("%s: role %s mode %s attached %s" % (name, i["role"], i["mode"], i["attached"]))
		print("; ".join(errs)); sys.exit(1 if errs else 0)
	EOF
}
check "status -j: 4 customers, every interface attached with its role and mode" status_ok
if ! tg -j status >/dev/null 2>&1; then
	echo "  Tollgate is not running on the lab: the remaining checks cannot run"
	finish
fi

# ---- legitimate traffic passes ----
check "customer A ping IPv4 to upstream" ping_ok "$P-cust" 5 "$LAB_UP4"
check "customer A ping IPv6 to upstream" ping_ok "$P-cust" 5 "$LAB_UP6"
check "customer B ping IPv4 to upstream" ping_ok "$P-cust" 5 "$LAB_UP4" -I "$LAB_B4"
check "customer B ping IPv6 to upstream" ping_ok "$P-cust" 5 "$LAB_UP6" -I "$LAB_B6"
check "customer C ping IPv4 to upstream" ping_ok "$P-spf" 5 "$LAB_UP4"
check "upstream ping IPv6 to customer C" ping_ok "$P-up" 5 "$LAB_C6"

# iperf_run JSON_OUT NS ARGS...: run an iperf3 client, keep its JSON.
# A dropped handshake must not hang the test: connect timeout 2 s, whole run 20 s.
iperf_run() {
	local out=$1 ns=$2
	shift 2
	timeout 20 ip netns exec "$ns" iperf3 -J --connect-timeout 2000 "$@" >"$out" 2>&1
}

# json_num FILE EXPR
json_num() { lab_json "$2" <"$1"; }

# tcp_check DIR CLIENT_NS SERVER_NS CLIENT_ADDR SERVER_ADDR RATE_BPS [-R]: a 3 s iperf3 TCP
# transfer completes; its goodput is printed against the plan's rate. (design.md's "TCP
# goodput >= 80%" is a benchmark target: on veths the RTT is ~50 us and the goodput follows
# the burst; see the report printed here.)
tcp_check() {
	local dir=$1 cns=$2 sns=$3 caddr=$4 saddr=$5 rate=$6 port=5301 gp
	shift 6
	iperf_server "$sns" "$saddr" "$port" || { echo "iperf3 server did not start"; return 1; }
	if ! iperf_run "$TMP/tcp-$dir.json" "$cns" -c "$saddr" -B "$caddr" -p "$port" -t 3 "$@"; then
		stop_server
		echo "iperf3: $(json_num "$TMP/tcp-$dir.json" 'j.get("error")' 2>&1 | tail -n 1)"
		return 1
	fi
	stop_server
	gp=$(json_num "$TMP/tcp-$dir.json" 'j["end"]["sum_received"]["bits_per_second"]' 2>/dev/null) || {
		echo "iperf3 gave no result"
		return 1
	}
	awk -v g="$gp" -v r="$rate" -v d="$dir" 'BEGIN {
		printf "  TCP %s goodput %.2f Mbit/s = %.0f%% of the plan rate %.0f Mbit/s\n", d, g / 1e6, 100 * g / r, r / 1e6
		exit !(g > 0) }'
}
check "customer B TCP upload (iperf3 3 s) passes" \
	tcp_check up "$P-cust" "$P-up" "$LAB_B4" "$LAB_UP4" "$B_UP_BPS"
check "customer B TCP download (iperf3 -R 3 s) passes" \
	tcp_check down "$P-cust" "$P-up" "$LAB_B4" "$LAB_UP4" "$B_DOWN_BPS" -R
check "customer B TCP over IPv6 (iperf3 3 s) passes" \
	tcp_check up6 "$P-cust" "$P-up" "$LAB_B6" "$LAB_UP6" "$B_UP_BPS"

udp_small() { # NS SERVER_NS CLIENT_ADDR SERVER_ADDR: 2 Mbit/s for 1 s, nothing lost
	local port=5302 lost
	iperf_server "$2" "$4" "$port" || { echo "iperf3 server did not start"; return 1; }
	iperf_run "$TMP/udp-small.json" "$1" -c "$4" -B "$3" -p "$port" -u -b 2M -t 1 -l 1000
	stop_server
	lost=$(json_num "$TMP/udp-small.json" 'j["end"]["sum"]["lost_packets"]' 2>/dev/null) || {
		echo "iperf3: $(json_num "$TMP/udp-small.json" 'j.get("error")' 2>&1 | tail -n 1)"
		return 1
	}
	[ "$lost" = 0 ] || { echo "$lost datagrams lost"; return 1; }
}
check "customer A UDP IPv4 (2 Mbit/s, below the plan) passes without loss" udp_small "$P-cust" "$P-up" "$LAB_A4" "$LAB_UP4"
check "customer A UDP IPv6 (2 Mbit/s, below the plan) passes without loss" udp_small "$P-cust" "$P-up" "$LAB_A6" "$LAB_UP6"

# ---- counters equal what was sent ----
# Static neighbours keep ARP/ND off the links, so exactly the echoes cross Tollgate.
# IPv4 echo: 20 IP + 8 ICMP + 56 = 84 bytes; IPv6: 40 + 8 + 56 = 104.
ping_counts() { # NAME NS DST PKT_BYTES CUST RX_IF [ping args]
	local name=$1 ns=$2 dst=$3 sz=$4 id=$5 cif=$6 n=40
	shift 6
	snap "$TMP/s0.json"
	if ! ping_ok "$ns" "$n" "$dst" "$@" >/dev/null; then
		fail "$name" "ping lost echoes"
		return
	fi
	snap "$TMP/s1.json"
	check_deltas "$name" "$TMP/s0.json" "$TMP/s1.json" \
		"cust.$id.upload.passed.packets=$n" "cust.$id.upload.passed.bytes=$((n * sz))" \
		"cust.$id.download.passed.packets=$n" "cust.$id.download.passed.bytes=$((n * sz))" \
		"if.$cif.counters.passed.packets=$n" "if.$P-u0.counters.passed.packets=$n" \
		"if.$cif.counters.unclassified.packets=0" "if.$P-u0.counters.unclassified.packets=0"
}
ping_counts "40 IPv4 pings from A: A passed +40 each way, +40*84 bytes" "$P-cust" "$LAB_UP4" 84 cust-a "$P-c0"
ping_counts "40 IPv6 pings from A: A passed +40 each way, +40*104 bytes" "$P-cust" "$LAB_UP6" 104 cust-a "$P-c0"
ping_counts "40 IPv4 pings from B: B passed +40 each way" "$P-cust" "$LAB_UP4" 84 cust-b "$P-c1" -I "$LAB_B4"
ping_counts "40 IPv6 pings from C: C passed +40 each way" "$P-spf" "$LAB_UP6" 104 cust-c "$P-c2"

# ---- spoofed and bogon sources are dropped, counted exactly, and never forwarded ----
# spoof_case NAME NS DEV VLAN SRC DST REASON CUST RX_IF: 50 packets of 64-byte UDP payload
# (IPv4 92 IP bytes, IPv6 112); CUST is the customer behind the port (charged for them).
spoof_case() {
	local name=$1 ns=$2 dev=$3 vlan=$4 src=$5 dst=$6 reason=$7 id=$8 cif=$9 n=50 sz
	sz=$([[ $dst == *:* ]] && echo 112 || echo 92)
	snap "$TMP/s0.json"
	probe_start "$P-up" "$P-ua" >"$TMP/probe.why" || { fail "$name" "$(cat "$TMP/probe.why")"; return; }
	if ! lab_send "$P" "$ns" "$dev" "$n" 1000 "$src" "$dst" "$vlan" >/dev/null 2>"$TMP/send.err"; then
		probe_stop
		fail "$name" "scapy: $(tail -n 1 "$TMP/send.err")"
		return
	fi
	sleep 0.2 # let the router forward whatever got through before counting the leak
	snap "$TMP/s1.json"
	probe_stop
	check_deltas "$name" "$TMP/s0.json" "$TMP/s1.json" \
		"cust.$id.upload.dropped.$reason.packets=$n" \
		"cust.$id.upload.dropped.$reason.bytes=$((n * sz))" \
		"if.$cif.counters.dropped.$reason.packets=$n" \
		"if.$cif.counters.dropped.$reason.bytes=$((n * sz))" \
		"cust.$id.upload.passed.packets=0"
	if [ "$PROBES" -ne 0 ]; then
		fail "$name: nothing reaches upstream" "upstream host received $PROBES of them"
	fi
}
A=("$P-cust" "$P-ca" "")                # customer A's access port, untagged
V=("$P-cust" "$P-ca" "$LAB_VLAN_V")     # the same port, tagged with V's VLAN
spoof_case "A port: random foreign IPv4 sources dropped as spoof" "${A[@]}" rand4 "$LAB_UP4" spoof cust-a "$P-c0"
spoof_case "A port: random foreign IPv6 sources dropped as spoof" "${A[@]}" rand6 "$LAB_UP6" spoof cust-a "$P-c0"
spoof_case "A port: customer B's IPv4 source dropped as spoof" "${A[@]}" "$LAB_B4" "$LAB_UP4" spoof cust-a "$P-c0"
spoof_case "A port: customer C's IPv6 source dropped as spoof" "${A[@]}" "$LAB_C6" "$LAB_UP6" spoof cust-a "$P-c0"
spoof_case "A port: VLAN customer V's source sent untagged dropped as spoof" "${A[@]}" "$LAB_V4" "$LAB_UP4" spoof cust-a "$P-c0"
spoof_case "A port: bogon source 127.0.0.1 dropped as bogon" "${A[@]}" 127.0.0.1 "$LAB_UP4" bogon cust-a "$P-c0"
spoof_case "A port: bogon source 240.0.0.1 dropped as bogon" "${A[@]}" 240.0.0.1 "$LAB_UP4" bogon cust-a "$P-c0"
spoof_case "A port: bogon source 0.0.0.0 (not DHCP) dropped as bogon" "${A[@]}" 0.0.0.0 "$LAB_UP4" bogon cust-a "$P-c0"
spoof_case "A port: bogon source ::1 dropped as bogon" "${A[@]}" ::1 "$LAB_UP6" bogon cust-a "$P-c0"
spoof_case "C port (spoofer): random foreign IPv4 sources dropped as spoof" "$P-spf" "$P-sa" "" rand4 "$LAB_UP4" spoof cust-c "$P-c2"
spoof_case "C port (spoofer): customer A's IPv6 source dropped as spoof" "$P-spf" "$P-sa" "" "$LAB_A6" "$LAB_UP6" spoof cust-c "$P-c2"

# ---- the same, VLAN-tagged: V is bound to VLAN 100 on the A port ----
vlan_pass() {
	local n=50 name="VLAN 100: V's own source tagged passes, V upload passed +50"
	snap "$TMP/s0.json"
	lab_send "$P" "$P-cust" "$P-ca" "$n" 1000 "$LAB_V4" "$LAB_UP4" "$LAB_VLAN_V" >/dev/null 2>"$TMP/send.err" ||
		{ fail "$name" "scapy: $(tail -n 1 "$TMP/send.err")"; return; }
	snap "$TMP/s1.json"
	check_deltas "$name" "$TMP/s0.json" "$TMP/s1.json" \
		"cust.cust-v.upload.passed.packets=$n" "cust.cust-v.upload.passed.bytes=$((n * 92))" \
		"cust.cust-a.upload.passed.packets=0" "if.$P-c0.counters.passed.packets=$n"
}
vlan_pass
spoof_case "VLAN 100: random foreign IPv4 sources dropped as spoof, charged to V" "${V[@]}" rand4 "$LAB_UP4" spoof cust-v "$P-c0"
spoof_case "VLAN 100: random foreign IPv6 sources dropped as spoof, charged to V" "${V[@]}" rand6 "$LAB_UP6" spoof cust-v "$P-c0"
spoof_case "VLAN 100: customer B's IPv6 source dropped as spoof, charged to V" "${V[@]}" "$LAB_B6" "$LAB_UP6" spoof cust-v "$P-c0"
spoof_case "VLAN 100: bogon source 127.0.0.1 dropped as bogon, charged to V" "${V[@]}" 127.0.0.1 "$LAB_UP4" bogon cust-v "$P-c0"
# an empty vlan is untagged only: V cannot send with untagged A's source on the same port
spoof_case "VLAN 100: untagged customer A's IPv4 source dropped as spoof, charged to V" "${V[@]}" "$LAB_A4" "$LAB_UP4" spoof cust-v "$P-c0"
spoof_case "VLAN 100: untagged customer A's IPv6 source dropped as spoof, charged to V" "${V[@]}" "$LAB_A6" "$LAB_UP6" spoof cust-v "$P-c0"
# a priority tag (VID 0) is no tag: the frame is the untagged port's, charged to A
spoof_case "priority tag (VID 0): random IPv4 sources dropped as spoof, charged to A" "$P-cust" "$P-ca" 0 rand4 "$LAB_UP4" spoof cust-a "$P-c0"

# ---- the policer holds a UDP flood at twice the plan to the plan's rate ----
# rate_case NAME DIR RATE_BPS SERVER_NS SERVER_ADDR CLIENT_NS CLIENT_ADDR: iperf3 -u at
# 2x the rate for 5 s; the delivered rate (IP bytes: 1200 payload + 28) measured at the
# receiver and by Tollgate's passed counter must be within +-5% of the configured rate.
rate_case() {
	local name=$1 dir=$2 rate=$3 sns=$4 saddr=$5 cns=$6 caddr=$7 port=5303 t=5 f
	f=$TMP/rate-$dir.json
	iperf_server "$sns" "$saddr" "$port" || { echo "FAIL $name: iperf3 server did not start"; return; }
	snap "$TMP/s0.json"
	if ! iperf_run "$f" "$cns" -c "$saddr" -B "$caddr" -p "$port" -u -b "$((2 * rate))" -l 1200 -t "$t"; then
		stop_server
		echo "FAIL $name: iperf3: $(tail -n 2 "$f" | tr '\n' ' ')"
		return
	fi
	snap "$TMP/s1.json"
	stop_server
	"$LAB_PY" - "$f" "$TMP/s0.json" "$TMP/s1.json" "$rate" "$dir" "$name" <<-'EOF'
		import json, sys
		f, s0, s1, rate, d, name = sys.argv[1:]
		rate = float(rate)
		try:
		    doc = json.load(open(f))
		    j = doc["end"]["sum"]
		except (ValueError, KeyError):
		    print("FAIL %s: iperf3 gave no result: %s" % (name, locals().get("doc", {}).get("error", "unreadable output")))
		    sys.exit(0)
		secs = j["seconds"]
		got = (j["packets"] - j["lost_packets"]) * 1228 * 8 / secs
		sent = j["packets"] * 1228 * 8 / secs
		a, b = json.load(open(s0)), json.load(open(s1))
		c = lambda s, k: s["cust"]["cust-a"]["customer"][d][k]
		tg = (c(b, "passed")["bytes"] - c(a, "passed")["bytes"]) * 8 / secs
		drops = c(b, "dropped")["rate"]["packets"] - c(a, "dropped")["rate"]["packets"]
		print("  %s: offered %.2f Mbit/s, received %.2f Mbit/s (%+.1f%%), Tollgate passed %.2f Mbit/s (%+.1f%%); %d datagrams lost, %d packets dropped as rate"
		      % (d, sent / 1e6, got / 1e6, 100 * (got / rate - 1), tg / 1e6, 100 * (tg / rate - 1), j["lost_packets"], drops))
		ok = lambda v: abs(v / rate - 1) <= 0.05
		res = [("%s: receiver within 5%%" % name, ok(got)), ("%s: Tollgate passed counter within 5%%" % name, ok(tg)),
		       # every lost datagram is a rate drop; a few more drops are iperf3's own TCP
		       # control connection, policed with the datagrams (retransmitted, not lost)
		       ("%s: every lost datagram counted as a rate drop" % name,
		        j["lost_packets"] > 0 and j["lost_packets"] <= drops <= j["lost_packets"] + max(20, j["lost_packets"] // 200))]
		for n, r in res:
		    print(("PASS " if r else "FAIL ") + n)
	EOF
}
count_py_results() { # fold the PASS/FAIL lines rate_case prints into the totals
	local line
	while IFS= read -r line; do
		case $line in
		"PASS "*) N_PASS=$((N_PASS + 1)); echo "$line" ;;
		"FAIL "*) N_FAIL=$((N_FAIL + 1)); echo "$line" ;;
		*) echo "$line" ;;
		esac
	done
}
rate_case "A download at 2x 20 Mbit/s held to 20 Mbit/s" download "$A_DOWN_BPS" \
	"$P-cust" "$LAB_A4" "$P-up" "$LAB_UP4" >"$TMP/rate.out" 2>&1
count_py_results <"$TMP/rate.out"
rate_case "A upload at 2x 10 Mbit/s held to 10 Mbit/s" upload "$A_UP_BPS" \
	"$P-up" "$LAB_UP4" "$P-cust" "$LAB_A4" >"$TMP/rate.out" 2>&1
count_py_results <"$TMP/rate.out"

# ---- detach ----
detach_one() { # DEV: detached, ip link shows no program, traffic on it is no longer seen
	tg detach "$1" >/dev/null || return 1
	local m
	m=$(xdp_mode "$1")
	[ "$m" = none ] || { echo "ip link still shows $m on $1"; return 1; }
}
check "detach $P-c0: no XDP program left on it" detach_one "$P-c0"
spoofs_pass_after_detach() { # the program is really gone: a spoofed packet now reaches upstream
	probe_start "$P-up" "$P-ua" || return 1
	lab_send "$P" "$P-cust" "$P-ca" 10 1000 rand4 "$LAB_UP4" >/dev/null || { probe_stop; return 1; }
	sleep 0.2
	probe_stop
	[ "$PROBES" -eq 10 ] || { echo "upstream received $PROBES of 10"; return 1; }
}
check "after detach, $P-c0 no longer filters (10 spoofed packets reach upstream)" spoofs_pass_after_detach
status_detached() {
	tg -j status | lab_json '[i["name"] for i in j["interfaces"] if i.get("attached")]' |
		grep -q -- "$P-c0" && { echo "status still lists $P-c0 as attached"; return 1; }
	return 0
}
check "status no longer lists $P-c0 as attached" status_detached
for dev in "$P-c1" "$P-c2" "$P-u0"; do
	check "detach $dev: no XDP program left on it" detach_one "$dev"
done
check "after the last detach the pin directory is gone" test ! -e "$PIN"

finish
exit
}
