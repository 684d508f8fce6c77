#!/usr/bin/env bash
#
# test_fanout.sh - scan and SMTP visibility in the namespace lab (scripts/lab.sh): the
# fan-out sketches (bpf/fanout_kern.h) and the rules on fanout_hosts, fanout_ports,
# smtp_conns, smtp_hosts, tcp_syns and unanswered_syns (docs/metrics.md), with tollgated
# running (interval 1s).
#
#   1. A busy but normal customer, B: an iperf3 upload to the upstream host (4 streams),
#      and, meanwhile, 600 new UDP flows (distinct source ports) and 300 new TCP
#      connections to a handful of hosts on a few ports, sent with scapy. No rule fires
#      for B; `customer show` counts them (a handful of hosts and ports).
#   2. A scanner, C: scapy SYNs to 2000 hosts x port 22 fires `scan-hosts`
#      (fanout_hosts > 300), then to 1 host x 2000 ports fires `scan-ports`
#      (fanout_ports > 300); each event's evidence carries the estimate. Nobody answers
#      those addresses: each sweep also fires `syns` (tcp_syns > 500) and `unanswered`
#      (unanswered_syns > 500), the port sweep in an episode of its own. Then B (its
#      busy traffic over) sends UDP datagrams to 1 host x 2000 ports: scan-ports fires.
#   3. A spam bot, C again: SYNs to tcp/25 of 60 hosts, on plan lab-b whose SMTP policy
#      is the default `allow`: they pass, and `spam` (smtp_hosts > 20) fires.
#   4. Answered connections, B again: 2000 SYNs to a port the upstream host listens on
#      all get their SYN-ACK through the upstream interface: `syns` fires, `unanswered`
#      does not, and the syns event's evidence counts next to no unanswered SYN.
#
# The threshold of `unanswered` is 500, not 100: B's 300 busy TCP SYNs of part 1 go
# unanswered too (to 203.0.113.1-5: the upstream host, 203.0.113.1, refuses ports 443 and
# 80 with a RST, which counts as no answer, and the other four do not exist), about 100 an
# interval at 100/s, so 100 would be a coin toss on B; the sweeps put 1000-2000 into an
# interval.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N failed".
# Needs root. Traffic stays on the lab's veths (lab fo<PID>); namespaces, pins, files and
# every process started here are removed by the trap, even when a check fails.
# shellcheck disable=SC2317  # the trap and check() call functions indirectly
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"

P=fo$$
suite_init fo
PY=$LAB_PY
export LAB_B_UP=200mbit LAB_B_UP_BURST=1m
export TOLLGATE_SOCKET=$TMP/ctl.sock

echo "== Tollgate scan and SMTP visibility (lab $P, pins $PIN)"
for tool in iperf3 "$LAB_TOLLGATE"; do
	command -v "$tool" >/dev/null || {
		fail "preflight: $tool" "not installed (scripts/install-deps.sh)"
		finish
	}
done
"$PY" -c 'import scapy' 2>/dev/null || {
	echo "SKIP test_fanout: $PY has no scapy (scripts/install-deps.sh: python3-scapy)"
	exit 77
}

lab_write_config "$P" "$TMP" && sed -i "s/mode: native/mode: $MODE/" "$CFG"
cat >>"$CFG" <<EOF
enforcement:
  interval: 1s
  rules:
    - { name: scan-hosts, when: "fanout_hosts > 300", action: notify }
    - { name: scan-ports, when: "fanout_ports > 300", action: notify }
    - { name: spam, when: "smtp_hosts > 20", action: notify }
    - { name: syns, when: "tcp_syns > 500", action: notify }
    - { name: unanswered, when: "unanswered_syns > 500", action: notify }
EOF
check "lab up" lab_up "$P"
[ "$N_FAIL" -eq 0 ] || finish
start_daemon
check "tollgated up with the rules on fanout_hosts, fanout_ports, smtp_hosts, tcp_syns, unanswered_syns" daemon_up
[ "$N_FAIL" -eq 0 ] || finish

# send NS DEV ROUTER_DEV SRC HOSTS PORTS KIND [REPEATS [PPS]]: TCP SYNs (KIND tcp) or UDP
# datagrams (udp) from a customer's host, one to each destination (host, port) of the cross
# product of HOSTS and PORTS (Python expressions), REPEATS times, each from its own source
# port. The frames are built first, then sent at PPS (0, the default: as fast as it goes),
# so a sweep is not spread over many intervals by scapy's building. Prints the count.
SEND_PY='
import sys, time
from scapy.all import Ether, IP, TCP, UDP, Raw, conf, raw
dev, mac, src, hosts, ports, kind, reps, pps = sys.argv[1:]
frames = []
for r in range(int(reps)):
    for h in eval(hosts):
        for p in eval(ports):
            sp = 20000 + len(frames) % 40000
            l4 = UDP(sport=sp, dport=p) / Raw(b"x" * 32) if kind == "udp" \
                else TCP(sport=sp, dport=p, flags="S")
            frames.append(raw(Ether(dst=mac) / IP(src=src, dst=h) / l4))
sock = conf.L2socket(iface=dev)
gap, t = 1.0 / float(pps) if float(pps) else 0, time.monotonic()
for f in frames:
    sock.send(f)
    if gap:
        t += gap
        d = t - time.monotonic()
        if d > 0:
            time.sleep(d)
sock.close()
print(len(frames))
'
send() {
	ip netns exec "$1" "$PY" -c "$SEND_PY" "$2" "$(lab_mac "$P-rtr" "$3")" "$4" "$5" "$6" "$7" \
		"${8:-1}" "${9:-0}"
}
events_of() { # CUSTOMER: its events' rule names, space-separated
	tg -j events --customer "$1" | lab_json "' '.join(sorted(set((e.get('actor') or '').replace('rule:', '') for e in j['events'])))"
}

# ---- 1: a busy, normal customer ----
IPORT=$((5300 + RANDOM % 500))
ip netns exec "$P-up" iperf3 -s -1 -B "$LAB_UP4" -p "$IPORT" >/dev/null 2>&1 &
echo "$!" >>"$TMP/bg.pids"
sleep 0.3
timeout 30 ip netns exec "$P-cust" iperf3 -c "$LAB_UP4" -B "$LAB_B4" -p "$IPORT" -P 4 -t 5 \
	>"$TMP/iperf.txt" 2>&1 &
IPID=$!
echo "$IPID" >>"$TMP/bg.pids"
sleep 0.5
HANDFUL='["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "203.0.113.5"]'
# 600 UDP flows and 300 TCP connections, at 200/s each: over 3 s, so customer show
# catches them in an interval
send "$P-cust" "$P-cb" "$P-c1" "$LAB_B4" "$HANDFUL" "[53, 443, 123]" udp 40 200 >"$TMP/busy_udp" &
UPID=$!
echo "$UPID" >>"$TMP/bg.pids"
send "$P-cust" "$P-cb" "$P-c1" "$LAB_B4" "$HANDFUL" "[443, 80]" tcp 30 100 >"$TMP/busy_tcp" &
TPID=$!
echo "$TPID" >>"$TMP/bg.pids"
# the most customer show saw in any interval while they ran
maxh=0 maxp=0
while kill -0 "$UPID" 2>/dev/null || kill -0 "$TPID" 2>/dev/null; do
	read -r h p < <(tg -j customer show cust-b |
		lab_json "'%(fanout_hosts)d %(fanout_ports)d' % j['customer']['upload']['contacted']")
	[ "${h:-0}" -gt "$maxh" ] && maxh=$h
	[ "${p:-0}" -gt "$maxp" ] && maxp=$p
	sleep 0.3
done
during="$maxh $maxp"
wait "$IPID" "$UPID" "$TPID"
echo "  B's iperf3 upload: $(grep sender "$TMP/iperf.txt" | tail -1 | grep -o '[0-9.]* [KMG]bits/sec')"
echo "  B's flows sent: $(cat "$TMP/busy_udp") UDP, $(cat "$TMP/busy_tcp") TCP SYN"
echo "  B's most in an interval of its flows (customer show): hosts ports = $during"
sleep 2.5
check "B: no rule fires for a busy normal customer (iperf3, 900 new flows to 5 hosts)" \
	test -z "$(events_of cust-b)"
handful() {
	local h p
	read -r h p <<<"$during"
	[ "$h" -ge 1 ] && [ "$h" -le 10 ] && [ "$p" -ge 1 ] && [ "$p" -le 10 ]
}
check "customer show: B contacted a handful of hosts and ports in the interval" handful

# ---- 2: a scanner ----
check "C: a sweep of 2000 hosts x port 22" \
	send "$P-spf" "$P-sa" "$P-c2" "$LAB_C4" '["100.64.%d.%d" % (i // 250, i % 250 + 1) for i in range(2000)]' "[22]" tcp
sleep 2.5
host_ev() { [ "$(events_of cust-c)" = "scan-hosts syns unanswered" ] || { echo "events: $(events_of cust-c)"; return 1; }; }
check "C: the host sweep fires scan-hosts (fanout_hosts > 300), not scan-ports; syns and unanswered (nobody answers)" host_ev
tg -j events --customer cust-c | lab_json "'  scan-hosts evidence: fanout_hosts %.0f' % j['events'][0]['evidence']['value']"
check "C: a sweep of 1 host x 2000 ports" \
	send "$P-spf" "$P-sa" "$P-c2" "$LAB_C4" '["100.64.9.9"]' "range(1, 2001)" tcp
sleep 2.5
port_ev() { [ "$(events_of cust-c)" = "scan-hosts scan-ports syns unanswered" ] || { echo "events: $(events_of cust-c)"; return 1; }; }
check "C: the port sweep fires scan-ports (fanout_ports > 300)" port_ev
tg -j events --customer cust-c | lab_json "'  scan-ports evidence: fanout_ports %.0f' % [e for e in j['events'] if e['actor'] == 'rule:scan-ports'][0]['evidence']['value']"
# the host sweep's episode closed in the quiet 2.5 s between: the port sweep's is a second
unans_ev() {
	tg -j events --customer cust-c | lab_json "[e['evidence']['contacted'] for e in j['events'] if e['actor'] == 'rule:unanswered']" |
		"$PY" -c 'import ast, sys; c = ast.literal_eval(sys.stdin.read()); print("  unanswered evidence:", c); sys.exit(0 if len(c) == 2 and all(x["unanswered_syns"] > 500 and x["unanswered_syns"] == x["tcp_syns"] for x in c) else 1)'
}
check "C: the port sweep fires unanswered (unanswered_syns > 500) again; no SYN of either sweep was answered" unans_ev
check "B: a UDP sweep of 1 host x 2000 ports" \
	send "$P-cust" "$P-cb" "$P-c1" "$LAB_B4" '["100.64.9.10"]' "range(1, 2001)" udp
sleep 2.5
udp_ev() { [ "$(events_of cust-b)" = "scan-ports" ] || { echo "events: $(events_of cust-b)"; return 1; }; }
check "B: the UDP port sweep fires scan-ports (fanout_ports > 300), not scan-hosts" udp_ev
tg -j events --customer cust-b | lab_json "'  scan-ports evidence (UDP): fanout_ports %.0f' % j['events'][0]['evidence']['value']"

# ---- 3: a spam bot on a plan that allows SMTP ----
check "C: SYNs to tcp/25 of 60 hosts, 3 each" \
	send "$P-spf" "$P-sa" "$P-c2" "$LAB_C4" '["100.65.0.%d" % i for i in range(1, 61)]' "[25]" tcp 3
sleep 2.5
spam_ev() { [ "$(events_of cust-c)" = "scan-hosts scan-ports spam syns unanswered" ] || { echo "events: $(events_of cust-c)"; return 1; }; }
check "C: the SMTP connections passed (plan smtp: allow) and spam (smtp_hosts > 20) fires" spam_ev
contacted_of() { # CUSTOMER RULE: the contacted object of the evidence of the rule's first event
	tg -j events --customer "$1" | lab_json "[e for e in j['events'] if e['actor'] == 'rule:$2'][0]['evidence']['contacted']"
}
smtp_ev() {
	contacted_of cust-c spam |
		"$PY" -c 'import ast, sys; c = ast.literal_eval(sys.stdin.read()); print("  spam evidence:", c); sys.exit(0 if c["smtp_conns"] >= 60 and c["smtp_hosts"] > 20 else 1)'
}
check "C: the spam event's evidence counts the interval's SMTP connections and hosts" smtp_ev
check "C: no SMTP drop on an allow plan" \
	test "$(tg -j customer show cust-c | lab_json "j['customer']['upload']['dropped']['smtp']['packets']")" -eq 0

# ---- 4: answered connections ----
LPORT=$((5900 + RANDOM % 500))
# a listener that never accepts: its kernel answers every SYN with a SYN-ACK (B's kernel,
# which did not send the SYN, answers that with a RST; past the SYN backlog, a SYN cookie)
ip netns exec "$P-up" "$PY" -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(4096)
time.sleep(120)' "$LAB_UP4" "$LPORT" >/dev/null 2>&1 &
echo "$!" >>"$TMP/bg.pids"
sleep 0.5
check "B: 2000 SYNs to a port the upstream host listens on" \
	send "$P-cust" "$P-cb" "$P-c1" "$LAB_B4" "[\"$LAB_UP4\"]" "[$LPORT]" tcp 2000
sleep 2.5
answered_ev() { [ "$(events_of cust-b)" = "scan-ports syns" ] || { echo "events: $(events_of cust-b)"; return 1; }; }
check "B: answered SYNs fire syns (tcp_syns > 500), not unanswered" answered_ev
answered_evid() {
	contacted_of cust-b syns |
		"$PY" -c 'import ast, sys; c = ast.literal_eval(sys.stdin.read()); print("  syns evidence:", c); sys.exit(0 if c["tcp_syns"] > 500 and c["unanswered_syns"] < c["tcp_syns"] / 20 else 1)'
}
check "B: the syns event's evidence: the SYN-ACKs counted, under 5% of the SYNs unanswered" answered_evid

stop_daemon
finish
