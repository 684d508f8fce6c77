#!/usr/bin/env bash
#
# test_enforce.sh - enforcement end to end, with tollgated running in the namespace lab
# (scripts/lab.sh): `tollgate suspend` cuts a customer off except for the walled garden,
# in both directions, and counts what it drops as `suspended`; the suspension is in the
# audit log with the caller as actor; it survives kill -9 of the daemon and a restart;
# `unsuspend` restores the customer; `--for` lifts by itself on time; bad requests change
# nothing. Then the rules: a spoofer is suspended within the rule's time plus two
# intervals (evidence: the metric, the ports), kill -9 does not make the rule fire twice,
# a customer over its plan is throttled (the rate measured) and restored; a webhook that
# was down receives every event once, in order; the socket's group admits a member and
# refuses anyone else; SIGTERM leaves XDP, -d takes it off.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N failed"
# and the exit status is non-zero on any failure. Needs root. Traffic never leaves the
# lab's veths (lab te<PID>); namespaces, pins (/sys/fs/bpf/tg-en-PID), temporary files and
# every process started here are removed by the trap, even when a check fails.
# shellcheck disable=SC2317  # the trap and check() call functions indirectly
set -u

{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"

P=te$$
suite_init en
NPID=
HPID=
SPID=
CPID=
IPID=
PROMPID=
FPID=

teardown() {
	[ -n "$NPID" ] && kill "$NPID" 2>/dev/null
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null
	[ -n "$IPID" ] && kill "$IPID" 2>/dev/null
	[ -n "$PROMPID" ] && kill "$PROMPID" 2>/dev/null
	[ -n "$FPID" ] && kill "$FPID" 2>/dev/null
}

# A stand-in for systemd's notification socket: collects what tollgated sends for 10 s.
NOTIFY_PY='
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
out = open(sys.argv[2], "w")
end = time.monotonic() + 10
while time.monotonic() < end:
    try:
        out.write(s.recv(4096).decode() + "\n")
        out.flush()
    except socket.timeout:
        pass
'
notify_start() {
	"$LAB_PY" -c "$NOTIFY_PY" "$TMP/notify.sock" "$TMP/notify.log" &
	NPID=$!
	for _ in $(seq 50); do
		[ -S "$TMP/notify.sock" ] && return 0
		sleep 0.05
	done
	return 1
}

# ping_ok NS COUNT ADDR [args]: every echo answered; ping_none: none answered.
ping_ok() {
	local ns=$1 n=$2 addr=$3
	shift 3
	lab_ns "$ns" ping -n -q -c "$n" -i 0.05 -W 1 "$@" "$addr" >/dev/null
}
ping_none() {
	local ns=$1 n=$2 addr=$3 out
	shift 3
	out=$(lab_ns "$ns" ping -n -q -c "$n" -i 0.05 -W 1 "$@" "$addr" 2>&1)
	grep -q " 0 received" <<<"$out" || { echo "echoes answered: $(grep received <<<"$out")"; return 1; }
}

# wait_state ID STATE TENTHS: until customer ID's enforcement state (from `customer show`;
# None: active) is STATE, for at most TENTHS tenths of a second; the last seen in STATE.
wait_state() {
	local _
	for _ in $(seq "$3"); do
		STATE=$(tg -j customer show "$1" | lab_json "(j['customer'].get('enforcement') or {}).get('state')")
		[ "$STATE" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# counter JSON-EXPR: of `tollgate -j customer show cust-a` (j)
cust_a() { tg -j customer show cust-a | lab_json "$1"; }
suspended_drops() { cust_a "j['customer']['upload']['dropped']['suspended']['packets'] + j['customer']['download']['dropped']['suspended']['packets']"; }

# The lab's config, with a spoofing rule, a webhook on the router's loopback (the daemon
# runs in the router's namespace; so does the receiver) and the socket's group.
HOOK_PORT=$((20000 + $$ % 20000))
WHEEL=daemon # an existing group (gid 1) for the control socket
lab_write_config "$P" "$TMP" && sed -i "s/mode: native/mode: $MODE/" "$CFG"
cat >>"$CFG" <<EOF
enforcement:
  interval: 1s
  rules:
    - name: spoofing
      when: "spoof_pps > 50 for 3s"
      action: suspend
      reason: "source address spoofing (AUP 3.1)"
    - name: hog
      when: "download_util > 80% for 2s"
      action: throttle
      throttle_rate: 2mbit
      duration: 6s
notify:
  webhook: "http://127.0.0.1:$HOOK_PORT/hook"
  timeout: 1s
  retry: { min: 200ms, max: 1s }
control: { group: $WHEEL }
EOF
# the socket in a directory tollgated makes (and gives to the group); $TMP lets others
# through to it, nothing more
chmod 0711 "$TMP"
export TOLLGATE_SOCKET=$TMP/run/tollgate.sock
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
check "before: A reaches the internet (10 pings to $LAB_UP4)" ping_ok "$P-cust" 10 "$LAB_UP4"

# ---- suspend ----
suspend_a() {
	local out
	out=$(tg -j suspend cust-a --reason "AUP 3.1: spoofing, ticket 4711") || return 1
	[ "$(lab_json "j['event']['action']" <<<"$out")" = suspend ] || { echo "reply: $out"; return 1; }
	[ "$(lab_json "j['event']['actor']" <<<"$out")" = "user:root (uid 0)" ] || { echo "reply: $out"; return 1; }
}
check "tollgate suspend cust-a --reason ...: recorded with root as the actor" suspend_a
d0=$(suspended_drops)
check "suspended: A's pings to the internet are all dropped" ping_none "$P-cust" 10 "$LAB_UP4"
check "suspended: A still reaches the walled garden resolver ($LAB_WG4)" ping_ok "$P-cust" 10 "$LAB_WG4"
check "suspended: ... and over IPv6 ($LAB_WG6)" ping_ok "$P-cust" 10 "$LAB_WG6"
check "suspended: A's IPv6 pings to the internet are dropped" ping_none "$P-cust" 5 "$LAB_UP6"
check "suspended: the internet's pings to A are dropped (download)" ping_none "$P-up" 5 "$LAB_A4"
drops_counted() {
	local d1
	d1=$(suspended_drops)
	# 10 + 5 echo requests upload; 5 requests download
	[ $((d1 - d0)) -eq 20 ] || { echo "suspended drops grew by $((d1 - d0)), want 20"; return 1; }
}
check "suspended: every dropped packet counted to A as 'suspended' (20)" drops_counted
check "suspended: B is not affected" ping_ok "$P-cust" 10 "$LAB_UP4" -I "$LAB_B4"
show_state() {
	local out
	out=$(tg -j customer show cust-a) || return 1
	# shellcheck disable=SC2015  # the || branch is meant to run whenever the && chain fails
	[ "$(lab_json "j['customer']['enforcement']['state']" <<<"$out")" = suspended ] &&
		[ "$(lab_json "j['customer']['enforcement']['reason']" <<<"$out")" = "AUP 3.1: spoofing, ticket 4711" ] &&
		[ "$(lab_json "j['customer']['state']" <<<"$out")" = suspended ] ||
		{ echo "customer show: $out"; return 1; }
}
check "customer show: state suspended (map and database), with the reason" show_state
events_a() {
	local out
	out=$(tg -j events --customer cust-a) || return 1
	[ "$(lab_json "','.join(e['action'] for e in j['events'])" <<<"$out")" = suspend ] ||
		{ echo "events: $out"; return 1; }
}
check "events --customer cust-a: the suspension" events_a

# ---- kill -9 and restart: the suspension stays ----
stop_daemon KILL
check "tollgated killed (-9): A is still cut off (XDP stays attached)" ping_none "$P-cust" 5 "$LAB_UP4"
# this start is under a stand-in for systemd: Type=notify and the watchdog
notify_start
NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=2000000 start_daemon
check "tollgated restarts" daemon_up
notified() {
	for _ in $(seq 50); do
		grep -q '^WATCHDOG=1' "$TMP/notify.log" && break
		sleep 0.1
	done
	# shellcheck disable=SC2015  # the || branch is meant to run whenever the && chain fails
	grep -q '^READY=1' "$TMP/notify.log" && grep -q '^WATCHDOG=1' "$TMP/notify.log" ||
		{ echo "notifications: $(tr '\n' ' ' <"$TMP/notify.log")"; return 1; }
}
check "systemd: READY=1 once applied, then WATCHDOG=1 pings" notified
check "after the restart: A is still suspended" ping_none "$P-cust" 5 "$LAB_UP4"
check "after the restart: customer show says suspended" show_state
restart_log() { grep -q "1 customers suspended or throttled" "$TMP/daemon.log" || { cat "$TMP/daemon.log"; return 1; }; }
check "after the restart: tollgated reports 1 customer suspended" restart_log
# a reload keeps it (the records are written with the state)
reload_quiet() { tg reload >/dev/null; }
check "tollgate reload (by tollgated): A stays suspended" reload_quiet
check "... and is still cut off after the reload" ping_none "$P-cust" 5 "$LAB_UP4"

# ---- bad requests change nothing ----
n_events() { tg -j events | lab_json "len(j['events'])"; }
e0=$(n_events)
bad() { # EXPECTED-EXIT ARGS...: the command fails with that exit status
	local want=$1 rc
	shift
	tg "$@" >/dev/null 2>"$TMP/bad.err"
	rc=$?
	[ "$rc" -eq "$want" ] || { echo "exit $rc, want $want: $(cat "$TMP/bad.err")"; return 1; }
}
check "suspend of an unknown customer refused" bad 1 suspend cust-nobody --reason x
check "suspend without --reason refused" bad 2 suspend cust-b
check "suspend --for with a bad duration refused" bad 2 suspend cust-b --reason x --for soon
check "unsuspend of an active customer refused" bad 1 unsuspend cust-b --reason x
# requests straight on the socket: malformed, oversized, unknown
CTL_PY='
import json, socket, sys, time
def ask(data, shut=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    s.settimeout(5)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    return json.loads(out)
bad = []
for name, data, want in [
        ("not JSON", b"suspend cust-b", "not JSON"),
        ("not an object", b"[1, 2]", "JSON object"),
        ("no command", b"{\"customer\": \"cust-b\"}", "no \"command\""),
        ("unknown command", b"{\"command\": \"explode\"}", "unknown command"),
        ("suspend with a number as reason", b"{\"command\": \"suspend\", \"customer\": \"cust-b\", \"reason\": 5}", "reason"),
        ("oversized", b"{\"command\": \"ping\", \"x\": \"" + b"a" * 70000 + b"\"}", "larger than"),
        ("duplicate keys", b"{\"command\": \"ping\", \"command\": \"suspend\"}", "not JSON")] + [
        # each command refuses what its row of the command table does not allow
        (name, json.dumps(req).encode(), want) for name, req, want in [
        ("command not a string", {"command": 5}, "no \"command\""),
        ("unknown command lists the known", {"command": "explode"},
         "known: reload, suspend, unsuspend, mitigation_list, mitigation_announce, mitigation_withdraw, capture, ping"),
        ("reload: config a number", {"command": "reload", "config": 5},
         "reload: \"config\" must be a string"),
        ("reload: an unknown field", {"command": "reload", "force": "yes"},
         "reload: unknown field \"force\" (known: config)"),
        ("reload: another file", {"command": "reload", "config": "/etc/passwd"},
         "it reloads that file"),
        ("suspend: no customer", {"command": "suspend", "reason": "x"},
         "suspend: \"customer\" (an id) is required"),
        ("suspend: empty customer", {"command": "suspend", "customer": "", "reason": "x"},
         "suspend: \"customer\" (an id) is empty"),
        ("suspend: customer too long", {"command": "suspend", "customer": "c" * 48, "reason": "x"},
         "suspend: \"customer\" is longer than 47 bytes"),
        ("suspend: no reason", {"command": "suspend", "customer": "cust-b"},
         "suspend: \"reason\" (text for the audit log) is required"),
        ("suspend: reason too long", {"command": "suspend", "customer": "cust-b", "reason": "r" * 401},
         "suspend: \"reason\" is longer than 400 bytes"),
        ("suspend: for not a duration", {"command": "suspend", "customer": "cust-b", "reason": "x", "for": "soon"},
         "suspend: \"for\": \x27soon\x27 is not a duration above zero (30m, 12h, 7d)"),
        ("suspend: for zero", {"command": "suspend", "customer": "cust-b", "reason": "x", "for": "0s"},
         "\x270s\x27 is not a duration above zero"),
        ("suspend: for a number", {"command": "suspend", "customer": "cust-b", "reason": "x", "for": 30},
         "suspend: \"for\" must be a string"),
        ("suspend: an unknown field", {"command": "suspend", "customer": "cust-b", "reason": "x", "until": "1h"},
         "suspend: unknown field \"until\" (known: customer, reason, for)"),
        ("unsuspend: for", {"command": "unsuspend", "customer": "cust-a", "reason": "x", "for": "1h"},
         "unsuspend: unknown field \"for\" (known: customer, reason)"),
        ("unsuspend: reason a list", {"command": "unsuspend", "customer": "cust-a", "reason": ["x"]},
         "unsuspend: \"reason\" must be a string: text for the audit log, not a list"),
        ("ping: a field", {"command": "ping", "verbose": True},
         "ping: unknown field \"verbose\" (the command takes none)")]]:
    r = ask(data)
    if r.get("ok") is not False or want not in r.get("error", ""):
        bad.append("%s: %s" % (name, r))
print("; ".join(bad))
sys.exit(1 if bad else 0)
'
check "malformed, oversized, duplicate-key, unknown and each command's bad requests get an error reply" \
	"$LAB_PY" -c "$CTL_PY" "$TOLLGATE_SOCKET"
SLOW_PY='
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b"{\"command\": ")   # and then nothing, for 3 s
time.sleep(3)
'
slow_client() {
	local t0 t1 pid
	"$LAB_PY" -c "$SLOW_PY" "$TOLLGATE_SOCKET" &
	pid=$!
	sleep 0.3
	t0=$(date +%s%N)
	# shellcheck disable=SC2015  # the || branch is meant to run whenever the && chain fails
	tg -j events >/dev/null && tg suspend cust-nobody --reason x 2>&1 | grep -q "no customer" || { kill "$pid"; return 1; }
	t1=$(date +%s%N)
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	echo "  a request beside a stalled client answered in $(( (t1 - t0) / 1000000 )) ms"
	[ $(( (t1 - t0) / 1000000 )) -lt 1000 ] || { echo "the daemon waited on the stalled client"; return 1; }
}
check "a client that stalls mid-request does not hold up another's request" slow_client
check "nothing was recorded by the refused requests" test "$(n_events)" -eq "$e0"
check "B is still active" ping_ok "$P-cust" 5 "$LAB_UP4" -I "$LAB_B4"

# ---- unsuspend ----
check "tollgate unsuspend cust-a --reason ..." tg unsuspend cust-a --reason "customer called, cleaned up"
check "unsuspended: A reaches the internet again" ping_ok "$P-cust" 10 "$LAB_UP4"
check "unsuspended: the internet reaches A again" ping_ok "$P-up" 5 "$LAB_A4"

# ---- suspend --for: lifted on time by tollgated ----
check "tollgate suspend cust-b --for 2s" tg suspend cust-b --reason "cool-off" --for 2s
check "B is cut off" ping_none "$P-cust" 3 "$LAB_UP4" -I "$LAB_B4"
lifted() {
	for _ in $(seq 40); do
		ping_ok "$P-cust" 1 "$LAB_UP4" -I "$LAB_B4" 2>/dev/null && break
		sleep 0.1
	done
	ping_ok "$P-cust" 5 "$LAB_UP4" -I "$LAB_B4" || { echo "B still cut off"; return 1; }
	[ "$(tg -j events --customer cust-b | lab_json "' '.join(j['events'][-1][k] for k in ('action', 'actor'))")" = \
		"unsuspend tollgated:expiry" ] || { echo "no expiry event"; return 1; }
}
check "B's suspension is lifted by itself (event: unsuspend by tollgated:expiry)" lifted

# ---- a rule: C spoofs above 50/s for 3 s and is suspended, by tollgated ----
t0=$(date +%s.%N)
lab_send_bg "$P" "$P-spf" "$P-sa" 1600 200 rand4 "$LAB_UP4"
SPID=$LAB_BG_PID
rule_fired() {
	wait_state cust-c suspended 120 || { echo "cust-c is not suspended after 12 s"; return 1; }
	echo "  suspended $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-4) s after the spoofing began (rule: for 3s, interval 1s)"
}
check "rule spoofing: C spoofing at 200/s is suspended by tollgated" rule_fired
in_time() {
	local dt
	dt=$(echo "$(date +%s.%N) - $t0" | bc)
	# for 3s, plus two intervals, plus the sender's start (scapy) and this check's polling
	[ "$(echo "$dt < 3 + 2 + 2.5" | bc)" = 1 ] || { echo "took $dt s"; return 1; }
}
check "... within the rule's 3 s plus two intervals (and the sender's start-up)" in_time
rule_event() {
	local out
	out=$(tg -j events --customer cust-c) || return 1
	[ "$(lab_json "' '.join(e['action'] + '/' + e['actor'] + '/' + str(e['evidence'].get('metric')) for e in j['events'])" <<<"$out")" = \
		"suspend/rule:spoofing/spoof_pps" ] || { echo "events: $out"; return 1; }
}
check "the audit log: one suspend by rule:spoofing, with the metric as evidence" rule_event
top_port() {
	local out
	out=$(tg -j events --customer cust-c) || return 1
	[ "$(lab_json "' '.join('%(proto)s/%(port)d/%(direction)s' % p for p in j['events'][0]['evidence']['top_dst_ports'][:1])" <<<"$out")" = \
		"udp/9/upload" ] || { echo "evidence: $out"; return 1; }
}
check "... and where the spoofed packets went: top destination port udp/9" top_port
health() {
	local out
	out=$(tg -j status) || return 1
	[ "$(lab_json "'%s %d %d %d' % (j['daemon']['running'], j['daemon']['enforcement']['rules'], j['daemon']['enforcement']['suspended'], j['daemon']['notify']['pending'] > 0)" <<<"$out")" = \
		"True 2 1 1" ] || { echo "status: $(lab_json "j['daemon']" <<<"$out")"; return 1; }
}
check "status: tollgated running, 2 rules, 1 customer suspended, notifications pending (the webhook is down)" health
check "C suspended: its own pings to the internet are dropped" ping_none "$P-spf" 5 "$LAB_UP4"
check "C suspended: it still reaches the walled garden" ping_ok "$P-spf" 5 "$LAB_WG4"

# kill -9 while C still spoofs: after the restart the rule's episode is open (restored),
# so it does not fire (nor notify) a second time
stop_daemon KILL
start_daemon
check "tollgated restarts while C keeps spoofing" daemon_up
sleep 4.5 # more than the rule's 3 s
check "after the restart: C is still suspended" ping_none "$P-spf" 5 "$LAB_UP4"
check "after the restart: the rule did not fire again (one suspend in the log)" rule_event
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
SPID=

# ---- a rule throttles: A's download at 1.5x its 20 Mbit/s plan -> 2 Mbit/s for 6 s ----
down_bytes() { tg -j customer show cust-a | lab_json "j['customer']['download']['passed']['bytes']"; }
ip netns exec "$P-cust" iperf3 -s -1 -B "$LAB_A4" -p 5301 >/dev/null 2>&1 &
IPID=$!
sleep 0.5
ip netns exec "$P-up" iperf3 -c "$LAB_A4" -p 5301 -u -b 30M -l 1200 -t 12 >/dev/null 2>&1 &
CPID=$!
throttled() {
	local lim b0 b1 mbit
	wait_state cust-a throttled 80 || { echo "cust-a is not throttled after 8 s"; return 1; }
	lim=$(tg -j customer show cust-a | lab_json "j['customer']['download']['limit']['rate_bps']")
	[ "$lim" = 2000000 ] || { echo "download limit $lim, want 2000000"; return 1; }
	sleep 0.5 # the burst drains
	b0=$(down_bytes)
	sleep 2
	b1=$(down_bytes)
	mbit=$(echo "scale=2; ($b1 - $b0) * 8 / 2 / 1000000" | bc)
	echo "  A's download while throttled: $mbit Mbit/s (limit 2, plan 20, offered 30)"
	[ "$(echo "$mbit >= 1.5 && $mbit <= 2.5" | bc)" = 1 ] || { echo "throttled to $mbit Mbit/s"; return 1; }
}
check "rule hog: A's download over 80% of its plan for 2 s is throttled to 2 Mbit/s (measured)" throttled
top_now() {
	local out
	out=$(tg -j top --once -n 2 --interval 1) || return 1
	lab_json "' '.join('%s:%.1f' % (c['id'], c['download_bps'] / 1e6) for c in j['top'])" <<<"$out" |
		"$LAB_PY" -c '
import sys
rows = sys.stdin.read().split()
print("  tollgate top: " + " ".join(rows))
first, mbit = rows[0].split(":")
sys.exit(0 if len(rows) == 2 and first == "cust-a" and 1.5 <= float(mbit) <= 2.5 else 1)'
}
check "tollgate top --once: A first, downloading at its throttled 2 Mbit/s" top_now
kill "$CPID" "$IPID" 2>/dev/null
wait "$CPID" "$IPID" 2>/dev/null
CPID=''
IPID=''
unthrottled() {
	local lim
	wait_state cust-a None 100 || { echo "cust-a still $STATE 10 s later"; return 1; }
	lim=$(tg -j customer show cust-a | lab_json "j['customer']['download']['limit']['rate_bps']")
	[ "$lim" = 20000000 ] || { echo "download limit $lim, want the plan's 20000000"; return 1; }
	[ "$(tg -j events --customer cust-a | lab_json "' '.join(e['action'] + '/' + e['actor'] for e in j['events'][-2:])")" = \
		"throttle/rule:hog unthrottle/rule:hog" ] || { echo "events: $(tg -j events --customer cust-a)"; return 1; }
}
check "... and back to its plan's 20 Mbit/s when the 6 s are up (audit: throttle, unthrottle)" unthrottled

# ---- the Prometheus exporter (metrics.listen default 127.0.0.1:9477, in the router's
# namespace, where tollgated runs): format, values against the data plane, cardinality ----
METRICS_PY='
import json, re, subprocess, sys, urllib.request, urllib.error
url, mode = sys.argv[1], sys.argv[2]
bad = []
def get(path, method="GET"):
    req = urllib.request.Request(url + path, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, None, ""
st, ctype, text = get("/metrics")
if st != 200 or not ctype.startswith("text/plain; version=0.0.4"):
    bad.append("GET /metrics: %s %s" % (st, ctype))
if get("/nothing")[0] != 404 or get("/metrics", "POST")[0] != 405:
    bad.append("/nothing or POST not refused")
# the exposition format: HELP and TYPE before each family, no series twice
line_re = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\n]|\\.)*\",?)*)\})? (\d+(\.\d+)?)$")
typed, helped, seen, series = {}, set(), set(), {}
for ln in text.splitlines():
    if ln.startswith("# HELP "):
        helped.add(ln.split()[2]); continue
    if ln.startswith("# TYPE "):
        f = ln.split(); typed[f[2]] = f[3]; continue
    m = line_re.match(ln)
    if not m:
        bad.append("bad line: %r" % ln); continue
    name = m.group(1)
    if name not in typed or name not in helped:
        bad.append("no HELP/TYPE before %s" % name)
    if typed.get(name) == "counter" and not name.endswith("_total"):
        bad.append("counter %s without _total" % name)
    key = (name, m.group(3) or "")
    if key in seen:
        bad.append("twice: %s{%s}" % key)
    seen.add(key)
    labels = dict(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\]|\\.)*)\"", m.group(3) or ""))
    series[(name, tuple(sorted(labels.items())))] = float(m.group(4))
def val(name, **lab):
    return series.get((name, tuple(sorted(lab.items()))))
tg = sys.argv[3:]
def tgj(*a):
    return json.loads(subprocess.run(tg + ["-j"] + list(a), capture_output=True, text=True).stdout)
if mode == "all":
    for c in ("cust-a", "cust-b", "cust-c"):
        cs = tgj("customer", "show", c)["customer"]
        for d in ("upload", "download"):
            for metric, field in (("tollgate_customer_bytes_total", "bytes"), ("tollgate_customer_packets_total", "packets")):
                if val(metric, customer=c, direction=d) != cs[d]["passed"][field]:
                    bad.append("%s %s %s: %s, data plane %s" % (metric, c, d, val(metric, customer=c, direction=d), cs[d]["passed"][field]))
            for r, x in cs[d]["dropped"].items():
                if isinstance(x, dict) and x["packets"] and val("tollgate_customer_drops_total", customer=c, direction=d, reason=r) != x["packets"]:
                    bad.append("drops %s %s %s" % (c, d, r))
    for i in tgj("status")["interfaces"]:
        d = "upload" if i["role"] == "customer" else "download"
        for r, x in i["counters"]["dropped"].items():
            if isinstance(x, dict) and val("tollgate_packets_total", interface=i["name"], direction=d, verdict="dropped", reason=r) != x["packets"]:
                bad.append("interface %s dropped %s" % (i["name"], r))
    if val("tollgate_customer_state", customer="cust-c") != 2:
        bad.append("cust-c state %s, want 2 (suspended)" % val("tollgate_customer_state", customer="cust-c"))
    if val("tollgate_customers_state", state="suspended") != 1 or val("tollgate_customers_loaded") != 4:
        bad.append("customers_state / loaded")
    for a in ("throttle", "unthrottle"):
        if val("tollgate_enforcement_actions_total", rule="hog", action=a) != 1:
            bad.append("actions_total hog %s: %s" % (a, val("tollgate_enforcement_actions_total", rule="hog", action=a)))
    # the shipped Grafana dashboard and alerting rules read only metrics that exist
    import glob, os, yaml
    dash = os.environ["TG_DASH_DIR"]
    used = set()
    for f in glob.glob(dash + "/*.json") + glob.glob(dash + "/*.yml"):
        text_f = open(f).read()
        (json.loads if f.endswith(".json") else yaml.safe_load)(text_f)
        used |= set(re.findall(r"tollgate_[a-z_]+", text_f)) - {"tollgate_edge"}
    if not used or used - set(typed):
        bad.append("dashboards use unknown metrics: %s" % sorted(used - set(typed)))
else:
    who = {dict(k[1]).get("customer") for k in series if k[0] == "tollgate_customer_bytes_total"}
    if len(who) != 2 or "_other" not in who:
        bad.append("top 1: customers %s, want one and _other" % who)
print("  %d series" % len(series))
print("; ".join(bad))
sys.exit(1 if bad else 0)
'
scrape() { # all | top: the exposition checked, and (all) its values against the data plane
	# nsenter, not ip netns exec (which would remount /sys and hide the pins from tollgate)
	TG_DASH_DIR=$ROOT/scripts/dashboards nsenter --net="/run/netns/$P-rtr" -- \
		"$LAB_PY" -c "$METRICS_PY" http://127.0.0.1:9477 "$1" \
		"$LAB_TOLLGATE" -c "$CFG"
}
check "/metrics: well-formed (HELP, TYPE, _total, no series twice), equal to the data plane's counters, every metric the dashboard and alert rules use; 404/405 otherwise" scrape all
API_PY='
import json, subprocess, sys, time, urllib.request, urllib.error
url = sys.argv[1]
tg = sys.argv[2:]
bad = []
def get(path):
    try:
        with urllib.request.urlopen(url + path, timeout=5) as r:
            return r.status, r.headers.get("Content-Type"), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), json.loads(e.read())
def tgj(*a):
    return json.loads(subprocess.run(tg + ["-j"] + list(a), capture_output=True, text=True).stdout)
st, ct, j = get("/api/v1/status")
if st != 200 or ct != "application/json" or j["customers"]["loaded"] != 4 or j["customers"]["suspended"] != 1 or len(j["interfaces"]) != 4:
    bad.append("status: %s %s %s" % (st, ct, j.get("customers")))
if {"rule": "hog", "action": "throttle", "count": 1} not in j.get("enforcement_actions", []):
    bad.append("status actions %s" % j.get("enforcement_actions"))
ids = []
for page in (1, 2):
    st, _, j = get("/api/v1/customers?sort=bytes&per_page=2&page=%d" % page)
    if st != 200 or j["total"] != 4 or len(j["customers"]) != 2:
        bad.append("customers page %d: %s" % (page, j)); break
    ids += [(c["id"], c["upload"]["passed"]["bytes"] + c["download"]["passed"]["bytes"]) for c in j["customers"]]
if sorted(i for i, _ in ids) != ["cust-a", "cust-b", "cust-c", "cust-v"] or [b for _, b in ids] != sorted((b for _, b in ids), reverse=True):
    bad.append("customers by bytes: %s" % ids)
for i, b in ids:
    cs = tgj("customer", "show", i)["customer"]
    if b != cs["upload"]["passed"]["bytes"] + cs["download"]["passed"]["bytes"]:
        bad.append("%s bytes %d, data plane %d" % (i, b, cs["upload"]["passed"]["bytes"] + cs["download"]["passed"]["bytes"]))
st, _, j = get("/api/v1/customers?sort=drops")
d = [c["upload"]["dropped_packets"] + c["download"]["dropped_packets"] for c in j.get("customers", [])]
if st != 200 or len(d) != 4 or d != sorted(d, reverse=True) or not d[0]:
    bad.append("customers by drops: %s" % d)
get("/api/v1/customers/cust-c")  # the first reading: the rates are since it
time.sleep(0.15)
st, _, j = get("/api/v1/customers/cust-c")
c = j.get("customer", {})
if st != 200 or c.get("state") != "suspended" or (c.get("enforcement") or {}).get("rule") != "spoofing" or not c.get("events") \
        or not {"upload_bps", "download_bps", "upload_drops_pps", "window_s"} <= set(c.get("rates", {})):
    bad.append("customer cust-c: %s" % j)
st, _, j = get("/api/v1/events?customer=cust-a")
want = [e["action"] for e in tgj("events", "--customer", "cust-a")["events"]]
if st != 200 or [e["action"] for e in j["events"]] != want:
    bad.append("events cust-a: %s, want %s" % (j, want))
for path, code in (("/api/v1/customers/cust-nobody", 404), ("/api/v1/customers?per_page=0", 400),
                   ("/api/v1/customers?sort=name", 400), ("/api/v1/events?since=yesterday", 400),
                   ("/api/v1/nothing", 404)):
    st, ct, j = get(path)
    if st != code or "error" not in j:
        bad.append("%s: %s %s" % (path, st, j))
print("; ".join(bad))
sys.exit(1 if bad else 0)
'
api_check() {
	nsenter --net="/run/netns/$P-rtr" -- "$LAB_PY" -c "$API_PY" http://127.0.0.1:9477 \
		"$LAB_TOLLGATE" -c "$CFG"
}
check "/api/v1: status, customers paged and sorted by bytes and drops, one customer, events; bad queries 400/404" api_check
# ---- one view (user/view/): the CLI's -j and the API give the same object for the same
# status (interfaces included), customer (list and one), and events; the global options
# anywhere (after the command and its options); every -j document is JSON ----
VIEW_PY='
import json, subprocess, sys, time, urllib.request
url, tg = sys.argv[1], sys.argv[2:]
bad = []
def api(path):
    with urllib.request.urlopen(url + path, timeout=5) as r:
        return json.loads(r.read())
def cli(*a):  # the global -j after the command and its options
    r = subprocess.run(tg + list(a) + ["-j"], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("tollgate %s -j: exit %d: %s" % (" ".join(a), r.returncode, r.stderr.strip()))
    return json.loads(r.stdout)  # not JSON: ValueError, the check fails
def drop(d, *keys):
    d = dict(d)
    for k in keys:
        d.pop(k, None)
    return d
def diff(a, b, path=""):  # the first difference, or None
    if type(a) != type(b):
        return "%s: %r vs %r" % (path or "/", a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s/%s: only in %s" % (path, k, "the CLI" if k in a else "the API")
            d = diff(a[k], b[k], path + "/" + k)
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d vs %d items" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    return None if a == b else "%s: %r vs %r" % (path, a, b)
def same(what, get_cli, get_api):
    # counters move (a stray ND packet): a CLI reading, the API, a CLI reading again;
    # compared when the two CLI readings agree
    for _ in range(10):
        c0, a, c1 = get_cli(), get_api(), get_cli()
        if c0 == c1:
            d = diff(c0, a)
            if d:
                bad.append("%s: CLI -j and API differ at %s" % (what, d))
            return
        time.sleep(0.2)
    bad.append("%s: counters never still for a comparison" % what)
same("status", lambda: drop(cli("status"), "daemon"), lambda: drop(api("/api/v1/status"), "enforcement_actions"))
st = api("/api/v1/status")
if [(i["name"], i["role"], i["attached"]) for i in st["interfaces"]] != [(i["name"], i["role"], True) for i in st["interfaces"]] or len(st["interfaces"]) != 4:
    bad.append("status interfaces: %s" % [(i["name"], i["role"], i["attached"]) for i in st["interfaces"]])
for cid in ("cust-a", "cust-c"):
    same("customer " + cid, lambda: drop(cli("customer", "show", cid)["customer"], "rates"),
         lambda: drop(api("/api/v1/customers/" + cid)["customer"], "rates"))
same("customer list", lambda: sorted(cli("customer", "list")["customers"], key=lambda c: c["id"]),
     lambda: sorted(api("/api/v1/customers?per_page=1000")["customers"], key=lambda c: c["id"]))
c = cli("customer", "show", "cust-c")["customer"]
if c.get("rates", 0) is not None or not c.get("events") or c["upload"]["dropped_packets"] != c["upload"]["dropped_total"]["packets"] \
        or set(c["upload"]["dropped"]) != set(c["upload"]["would_drop"]) or not all(set(v) == {"packets", "bytes"} for v in c["upload"]["dropped"].values()):
    bad.append("customer show cust-c: %s" % json.dumps(c)[:400])
for q, a in (("?customer=cust-a", ["--customer", "cust-a"]), ("?customer=cust-c&limit=3", ["--customer", "cust-c", "--limit", "3"]), ("?limit=50", ["--limit", "50"])):
    d = diff(cli("events", *a), api("/api/v1/events" + q))
    if d:
        bad.append("events %s: CLI -j and API differ at %s" % (" ".join(a), d))
t = cli("top", "--once", "-n", "2", "--interval", "0.3")
if t.get("version") != st["version"] or len(t["top"]) != 2 or not {"window_s", "upload_bps", "download_drops_pps"} <= set(t["top"][0]["rates"]):
    bad.append("top --once -j: %s" % t)
print("; ".join(bad))
sys.exit(1 if bad else 0)
'
view_same() {
	nsenter --net="/run/netns/$P-rtr" -- "$LAB_PY" -c "$VIEW_PY" http://127.0.0.1:9477 \
		"$LAB_TOLLGATE" -c "$CFG"
}
check "one view: CLI -j (after the command) and /api/v1 give the same status, interfaces, customers, events; top --once -j" view_same
json_anywhere() { # every placement of -j / -p parses as JSON; text without them
	local out
	tg events --customer cust-a -j | "$LAB_PY" -c 'import json,sys; json.load(sys.stdin)' || return 1
	tg top --once -j --interval 0.2 | "$LAB_PY" -c 'import json,sys; json.load(sys.stdin)' || return 1
	tg customer show -p cust-a | "$LAB_PY" -c 'import json,sys; json.load(sys.stdin)' || return 1
	out=$(lab_tg "$P" status --config "$CFG" --json) && "$LAB_PY" -c 'import json,sys; json.loads(sys.argv[1])' "$out" || return 1
	out=$(tg customer show cust-nobody -j 2>&1 >/dev/null) # the error as JSON on stderr
	"$LAB_PY" -c 'import json,sys; assert "error" in json.loads(sys.argv[1])' "$out" || { echo "stderr: $out"; return 1; }
	tg events --customer cust-a --limit 1 | grep -q "by " || { echo "text events"; return 1; }
}
check "the global options anywhere: events --customer ID -j, top --once -j, customer show -p ID, status --config F --json; errors JSON under -j" json_anywhere
# the NOC page at /, in headless Chromium: the DOM its script builds from the API
page_dom() {
	local out=$TMP/page.html art=$ROOT/build/test-artifacts
	mkdir -p "$art"
	nsenter --net="/run/netns/$P-rtr" -- chromium --headless --no-sandbox --disable-gpu \
		--user-data-dir="$TMP/chromium" --virtual-time-budget=7000 --dump-dom \
		http://127.0.0.1:9477/ >"$out" 2>/dev/null || { echo "chromium failed"; return 1; }
	nsenter --net="/run/netns/$P-rtr" -- chromium --headless --no-sandbox --disable-gpu \
		--user-data-dir="$TMP/chromium" --virtual-time-budget=7000 --window-size=1280,1000 \
		--screenshot="$art/noc-page.png" http://127.0.0.1:9477/ >/dev/null 2>&1
	"$LAB_PY" - "$out" <<-'PYEOF2'
		import html, re, sys
		dom = open(sys.argv[1]).read()
		def tile(i):
		    m = re.search(r'id="%s"[^>]*>([^<]*)<' % i, dom)
		    return html.unescape(m.group(1)).strip() if m else None
		def rows(i):
		    m = re.search(r'<table id="%s".*?<tbody>(.*?)</tbody>' % i, dom, re.S)
		    return [[html.unescape(re.sub(r"<[^>]*>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
		            for tr in re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S)] if m else []
		bad = []
		if tile("t-customers") != "4 / 1024": bad.append("customers tile %r" % tile("t-customers"))
		if tile("t-suspended") != "1": bad.append("suspended tile %r" % tile("t-suspended"))
		if tile("err"): bad.append("page error: %s" % tile("err"))
		ids = [r[0] for r in rows("top-bytes") if r]
		if sorted(ids) != ["cust-a", "cust-b", "cust-c", "cust-v"]: bad.append("top by bandwidth: %s" % ids)
		enf = rows("enforced")
		if not any(len(r) == 6 and r[0] == "cust-c" and r[1] == "suspended" and "spoofing" in r[5] for r in enf): bad.append("enforced: %s" % enf)
		if not re.search(r"\d", tile("t-up") or ""): bad.append("no upload rate: %r" % tile("t-up"))
		ifs = [r[:3] for r in rows("ifaces")]
		if sorted(r[1] for r in ifs) != ["customer", "customer", "customer", "upstream"] or any(r[2] != "yes" for r in ifs): bad.append("interfaces: %s" % ifs)
		print("  page: %d top customers, %d enforced, upload %s, interfaces %s" % (len(ids), len(enf), tile("t-up"), ifs))
		print("; ".join(bad)); sys.exit(1 if bad else 0)
	PYEOF2
}
check "the NOC page (/) in headless Chromium: tiles, top customers, the suspended customer and why, each interface's role and attached (screenshot: build/test-artifacts/noc-page.png)" page_dom
# the page from the host, as `make demo` serves it: scripts/nsfwd.py forwards a port of the
# host's loopback into the router namespace's (here to 9477, the Host header naming it)
"$LAB_PY" "$ROOT/scripts/nsfwd.py" "/run/netns/$P-rtr" "$TMP/fwd.port" 9477 2>"$TMP/fwd.log" &
FPID=$!
from_host() {
	local port body
	for _ in $(seq 100); do
		[ -s "$TMP/fwd.port" ] && break
		sleep 0.05
	done
	port=$(cat "$TMP/fwd.port") || { cat "$TMP/fwd.log"; return 1; }
	curl -sf -m 5 -H "Host: 127.0.0.1:9477" "http://127.0.0.1:$port/" | grep -q '<table id="ifaces">' ||
		{ echo "no page through 127.0.0.1:$port"; return 1; }
	body=$(curl -sf -m 5 -H "Host: 127.0.0.1:9477" "http://127.0.0.1:$port/api/v1/status") || return 1
	lab_json "' '.join(sorted('%s/%s/%s' % (i['name'][-2:], i['role'], i['attached']) for i in j['interfaces']))" <<<"$body" |
		grep -qx "c0/customer/True c1/customer/True c2/customer/True u0/upstream/True" ||
		{ echo "status through the forwarder: ${body:0:300}"; return 1; }
}
check "the NOC page and its API from the host's loopback (scripts/nsfwd.py, as make demo): interfaces, roles, attached" from_host
kill "$FPID" 2>/dev/null
wait "$FPID" 2>/dev/null
FPID=
# a real Prometheus (Debian's), on the router's loopback, scraping the exporter every
# second with the shipped alerting rules loaded: what it stored equals the data plane
PROM_PORT=$((30000 + $$ % 20000))
cat >"$TMP/prometheus.yml" <<EOF
global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: [$ROOT/scripts/dashboards/tollgate-alerts.yml]
scrape_configs:
  - job_name: tollgate
    static_configs: [{ targets: ["127.0.0.1:9477"] }]
EOF
promtool_checks() {
	promtool check config "$TMP/prometheus.yml" >"$TMP/promtool.out" 2>&1 ||
		{ tail -n 3 "$TMP/promtool.out"; return 1; }
	nsenter --net="/run/netns/$P-rtr" -- "$LAB_PY" -c \
		'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9477/metrics").read().decode(), end="")' |
		promtool check metrics >"$TMP/promtool.out" 2>&1 || { tail -n 5 "$TMP/promtool.out"; return 1; }
}
check "promtool: the Prometheus config with the shipped alerting rules, and the exposition (check metrics)" promtool_checks
nsenter --net="/run/netns/$P-rtr" -- prometheus --config.file="$TMP/prometheus.yml" \
	--storage.tsdb.path="$TMP/prom-data" --web.listen-address="127.0.0.1:$PROM_PORT" \
	>"$TMP/prometheus.log" 2>&1 &
PROMPID=$!
PROM_PY='
import json, subprocess, sys, time, urllib.parse, urllib.request
base, tg = sys.argv[1], sys.argv[2:]
def q(expr):
    u = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    r = json.load(urllib.request.urlopen(u, timeout=5))["data"]["result"]
    return float(r[0]["value"][1]) if r else None
for _ in range(150):
    try:
        if q("up{job=\"tollgate\"}") == 1 and q("tollgate_customers_loaded") is not None:
            break
    except Exception:
        pass
    time.sleep(0.2)
else:
    print("Prometheus never scraped tollgated"); sys.exit(1)
time.sleep(1.5)  # one more scrape after the counters settled
dp = json.loads(subprocess.run(tg + ["-j", "customer", "show", "cust-c"], capture_output=True, text=True).stdout)["customer"]
want = {
    "tollgate_customers_loaded": 4,
    "tollgate_customer_state{customer=\"cust-c\"}": 2,
    "tollgate_customer_drops_total{customer=\"cust-c\",direction=\"upload\",reason=\"spoof\"}": dp["upload"]["dropped"]["spoof"]["packets"],
    "tollgate_customer_bytes_total{customer=\"cust-c\",direction=\"upload\"}": dp["upload"]["passed"]["bytes"],
    "tollgate_enforcement_actions_total{rule=\"hog\",action=\"throttle\"}": 1,
}
bad = ["%s = %s, data plane %s" % (k, q(k), v) for k, v in want.items() if q(k) != v]
rules = json.load(urllib.request.urlopen(base + "/api/v1/rules", timeout=5))["data"]["groups"]
n = sum(len(g["rules"]) for g in rules)
print("  Prometheus: %d series checked, %d alerting rules loaded" % (len(want), n))
if n != 8:
    bad.append("%d rules loaded, want 8" % n)
print("; ".join(bad)); sys.exit(1 if bad else 0)
'
prom_query() {
	nsenter --net="/run/netns/$P-rtr" -- "$LAB_PY" -c "$PROM_PY" "http://127.0.0.1:$PROM_PORT" \
		"$LAB_TOLLGATE" -c "$CFG" || { tail -n 3 "$TMP/prometheus.log"; return 1; }
}
check "Prometheus scraping tollgated: its query API returns the data plane's counters and states; the alerting rules load" prom_query
kill "$PROMPID" 2>/dev/null
wait "$PROMPID" 2>/dev/null
PROMPID=''
top1() {
	printf 'metrics: { per_customer: top 1 }\n' >>"$CFG"
	tg reload >/dev/null || return 1
	scrape top
}
check "metrics.per_customer: top 1 after a reload: one customer and _other" top1

# ---- h10: who may ask, and a request never holds up another (issue 18 item 12) ----
ACCESS_PY='
import socket, sys, threading, time, urllib.request, urllib.error
url, mode = sys.argv[1], sys.argv[2]
tok = sys.argv[3] if len(sys.argv) > 3 else None
bad = []
def get(path, headers={}, timeout=5):
    req = urllib.request.Request(url + path, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
if mode == "slow":
    # 20 clients that send half a request and stall, and 20 /api/v1/customers/ID at once
    host, port = url.split("//")[1].split(":")
    stalled = []
    for _ in range(20):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"GET /api/v1/customers/cust-c HTTP/1.1\r\nHost: 127.0.0.1:" + port.encode() + b"\r\n")
        stalled.append(s)
    codes = []
    ts = [threading.Thread(target=lambda: codes.append(get("/api/v1/customers/cust-c"))) for _ in range(20)]
    for t in ts:
        t.start()
    time.sleep(0.02)
    t0 = time.monotonic()
    st = get("/metrics", timeout=5)
    ms = (time.monotonic() - t0) * 1000
    for t in ts:
        t.join()
    print("  /metrics in %.0f ms beside 20 stalled clients and 20 customer requests" % ms)
    if st != 200 or ms > 200:
        bad.append("/metrics: %s in %.0f ms, want 200 within 200 ms" % (st, ms))
    if codes.count(200) != 20:
        bad.append("customer requests: %s" % codes)
    for s in stalled:
        s.close()
elif mode == "host":
    port = url.rsplit(":", 1)[1]
    for h, want in (("evil.example:" + port, 421), ("evil.example", 421), ("localhost:1", 421),
                    ("127.0.0.1:" + port, 200), ("localhost:" + port, 200), ("[::1]:" + port, 200)):
        for path in ("/metrics", "/api/v1/status", "/"):
            st = get(path, {"Host": h})
            if st != want:
                bad.append("Host %s %s: %s, want %d" % (h, path, st, want))
elif mode == "token":
    for path in ("/metrics", "/api/v1/status", "/api/v1/customers/cust-c"):
        for hd, want in (({}, 401), ({"Authorization": "Bearer wrong-token-0123456789"}, 401),
                         ({"Authorization": "Bearer " + tok[:-1]}, 401),
                         ({"Authorization": "Bearer " + tok + "x"}, 401),
                         ({"Authorization": "Bearer " + tok}, 200)):
            st = get(path, hd)
            if st != want:
                bad.append("%s with %s: %s, want %d" % (path, hd or "no token", st, want))
    if get("/") != 200:
        bad.append("the page itself (no data) wants no token")
print("; ".join(bad)); sys.exit(1 if bad else 0)
'
access() {
	nsenter --net="/run/netns/$P-rtr" -- "$LAB_PY" -c "$ACCESS_PY" http://127.0.0.1:9477 "$@"
}
check "h10: /metrics answers within 200 ms beside 20 stalled half-requests and 20 concurrent /api/v1/customers/ID" access slow
check "h10: a Host header that is not one of the exporter's names is refused (421) before any work" access host
TOKEN=h10-$$-0123456789abcdef
token_on() {
	printf '%s\n' "$TOKEN" >"$TMP/metrics.token"
	chmod 600 "$TMP/metrics.token"
	sed -i "s|^metrics: { per_customer: top 1 }\$|metrics: { per_customer: top 1, token_file: $TMP/metrics.token }|" "$CFG"
	grep -q "token_file" "$CFG" || { echo "config not changed"; return 1; }
	tg reload >/dev/null || return 1
	access token "$TOKEN"
}
check "h10: metrics.token_file: /metrics and /api/v1/ with no or a wrong token 401, with it 200" token_on
token_rotated() {
	local old=$TOKEN
	TOKEN=h10-$$-rotated-0123456789
	printf '%s\n' "$TOKEN" >"$TMP/metrics.token"
	tg reload >/dev/null || return 1
	access token "$TOKEN" || return 1
	chmod 644 "$TMP/metrics.token"
	printf '%s\n' "$old-readable" >"$TMP/metrics.token"
	tg reload >/dev/null
	access token "$TOKEN" || { echo "a token file others may read was taken"; return 1; }
}
check "h10: a reload rereads the token file; one that others may read is refused (the token stays)" token_rotated
token_off() {
	sed -i "s|^metrics: { per_customer: top 1, token_file: .*|metrics: { per_customer: top 1 }|" "$CFG"
	tg reload >/dev/null || return 1
	[ "$(access host >/dev/null && echo ok)" = ok ]
}
check "h10: without token_file again, no token is asked" token_off
# every thread of the running daemon (event loop, exporter, notifier) after start-up
caps_dropped() {
	local f n=0 bad=''
	for f in /proc/"$DPID"/task/*/status; do
		n=$((n + 1))
		bad+=$("$LAB_PY" - "$f" <<-'PYEOF2'
			import sys
			st = dict(l.split(":\t", 1) for l in open(sys.argv[1]) if ":\t" in l)
			caps = {k: int(st[k], 16) for k in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb")}
			SYS_ADMIN, BPF, NET_ADMIN = 21, 39, 12
			out = []
			for k, v in caps.items():
			    if v >> SYS_ADMIN & 1:
			        out.append("%s has CAP_SYS_ADMIN (%x)" % (k, v))
			if not (caps["CapEff"] >> BPF & 1 and caps["CapEff"] >> NET_ADMIN & 1):
			    out.append("CapEff %x lacks CAP_BPF or CAP_NET_ADMIN" % caps["CapEff"])
			if caps["CapInh"] or caps["CapAmb"]:
			    out.append("inheritable/ambient %x/%x" % (caps["CapInh"], caps["CapAmb"]))
			print("%s %s: %s; " % (st["Name"].strip(), sys.argv[1].split("/")[4], ", ".join(out)) if out else "", end="")
		PYEOF2
		)
	done
	echo "  $n threads of tollgated checked"
	# shellcheck disable=SC2015  # the || branch is meant to run whenever the && chain fails
	[ "$n" -ge 2 ] && [ -z "$bad" ] || { echo "$bad"; return 1; }
}
check "h10: after start-up no thread of tollgated has CAP_SYS_ADMIN (effective, permitted, bounding); CAP_BPF and CAP_NET_ADMIN kept" caps_dropped
# what the kept set allows: detaching and attaching an interface again from the pins
# (BPF_OBJ_GET, BPF_LINK_CREATE, BPF_OBJ_PIN, map updates) with CAP_BPF and CAP_NET_ADMIN only
reattach_kept_caps() {
	# shellcheck disable=SC2054  # the commas are setpriv's list syntax, inside one word
	local lim=(setpriv --inh-caps=-all --bounding-set=-all,+bpf,+net_admin --)
	nsenter --net="/run/netns/$P-rtr" -- "${lim[@]}" "$LAB_TOLLGATE" -c "$CFG" detach "$P-c2" || return 1
	nsenter --net="/run/netns/$P-rtr" -- "${lim[@]}" "$LAB_TOLLGATE" -c "$CFG" attach "$P-c2" \
		role customer mode "$MODE" || return 1
	tg -j status | lab_json "[i['name'] for i in j['interfaces'] if i.get('attached')]" | grep -q "$P-c2" ||
		{ echo "$P-c2 not attached: $(tg -j status)"; return 1; }
}
check "h10: with CAP_BPF and CAP_NET_ADMIN only, an interface detaches and attaches again from the pins" reattach_kept_caps

# ---- the webhook was down all along: everything queued arrives once it is up ----
HOOK_PY='
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"type": self.headers["Content-Type"], "event": json.loads(body)}) + "\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'
: >"$TMP/hook.log"
# The interface events of the reattach above are recorded by the daemon's link watcher a
# moment after it: count the audit rows once their number has stood still for 1.5 s.
n_audit=$(tg -j events | lab_json "len(j['events'])")
for _ in $(seq 20); do
	sleep 1.5
	n_now=$(tg -j events | lab_json "len(j['events'])")
	[ "$n_now" = "$n_audit" ] && break
	n_audit=$n_now
done
ip netns exec "$P-rtr" "$LAB_PY" -c "$HOOK_PY" "$HOOK_PORT" "$TMP/hook.log" &
HPID=$!
delivered() {
	local got
	for _ in $(seq 100); do
		got=$(wc -l <"$TMP/hook.log")
		[ "$got" -ge "$n_audit" ] && break
		sleep 0.1
	done
	sleep 0.5 # a duplicate would come now
	"$LAB_PY" - "$TMP/hook.log" "$n_audit" <<-'PYEOF2' || return 1
		import json, sys
		posts = [json.loads(l) for l in open(sys.argv[1])]
		ids = [p["event"]["seq"] for p in posts]
		want = list(range(1, int(sys.argv[2]) + 1))
		bad = []
		if sorted(ids) != want:
		    bad.append("event seqs %s, want %s" % (sorted(ids), want))
		if ids != sorted(ids):
		    bad.append("out of order: %s" % ids)
		uids = [p["event"]["id"] for p in posts]
		if len(set(uids)) != len(uids) or uids != sorted(uids):
		    bad.append("event ids not unique and increasing: %s" % uids)
		if any(p["type"] != "application/json" for p in posts):
		    bad.append("a Content-Type is not application/json")
		c = [p["event"] for p in posts if p["event"]["customer"] == "cust-c"]
		if [(e["action"], e["rule"]) for e in c] != [("suspend", "spoofing")]:
		    bad.append("cust-c events %s" % c)
		print("; ".join(bad))
		sys.exit(1 if bad else 0)
	PYEOF2
}
check "webhook up after the fact: every event ($n_audit) delivered once, in order, as JSON" delivered
check "status: no notification pending any more" \
	test "$(tg -j status | lab_json "j['daemon']['notify']['pending']")" = 0

# ---- the control socket's group ----
as_user() { # GROUPS ARGS...: tollgate as nobody with these supplementary groups
	local g=$1 grp=(--clear-groups)
	shift
	[ -n "$g" ] && grp=("--groups=$g")
	setpriv --reuid=65534 --regid=65534 "${grp[@]}" "$ROOT/build/tollgate" "$@"
}
member_ok() {
	local out
	out=$(as_user "$(getent group "$WHEEL" | cut -d: -f3)" -j unsuspend cust-c --reason "by a member of $WHEEL") || return 1
	[ "$(lab_json "j['event']['actor']" <<<"$out")" = "user:nobody (uid 65534)" ] || { echo "reply: $out"; return 1; }
}
check "a member of control.group ($WHEEL) may unsuspend C; the actor is that user" member_ok
refused() {
	local out rc
	out=$(as_user "" suspend cust-c --reason "not allowed" 2>&1)
	rc=$?
	# shellcheck disable=SC2015  # the || branch is meant to run whenever the && chain fails
	[ "$rc" -eq 1 ] && grep -q "permission denied" <<<"$out" || { echo "exit $rc: $out"; return 1; }
	[ "$(tg -j customer show cust-c | lab_json "j['customer']['enforcement']")" = None ] ||
		{ echo "cust-c changed"; return 1; }
}
check "a non-member is refused (permission denied) and nothing changes" refused
check "C reaches the internet again" ping_ok "$P-spf" 5 "$LAB_UP4"

# ---- an expiry across kill -9: B suspended for 4 s, the daemon killed and restarted ----
check "tollgate suspend cust-b --for 4s" tg suspend cust-b --reason "cool-off, across a restart" --for 4s
stop_daemon KILL
start_daemon
check "tollgated killed (-9) and restarted" daemon_up
check "B is still cut off after the restart" ping_none "$P-cust" 2 "$LAB_UP4" -I "$LAB_B4"
on_time() { # the unsuspend came 4-6 s after the suspend (its 4 s, plus two intervals)
	tg -j events --customer cust-b | "$LAB_PY" -c '
import datetime, json, sys
e = json.load(sys.stdin)["events"][-2:]
t = [datetime.datetime.strptime(x["time"], "%Y-%m-%dT%H:%M:%SZ") for x in e]
dt = (t[1] - t[0]).total_seconds()
print("  suspended at %s, lifted %d s later" % (e[0]["time"], dt))
sys.exit(0 if [x["action"] for x in e] == ["suspend", "unsuspend"] and 3 <= dt <= 6 else 1)'
}
check "... and lifted on time by the restarted daemon (unsuspend by tollgated:expiry)" lifted
check "... 4 s after the suspension (to the second, plus at most two intervals)" on_time

# ---- SIGTERM leaves XDP attached; with -d it takes it off ----
xdp_on() { ip -n "$P-rtr" -d link show dev "$1" | grep -q "prog/xdp"; }
stop_daemon TERM
check "SIGTERM: tollgated stops, XDP stays on $P-c0 (policing goes on)" xdp_on "$P-c0"
start_daemon -d
check "tollgated -d starts (adopting the pinned program and links)" daemon_up
detached() {
	for dev in "$P-c0" "$P-c1" "$P-c2" "$P-u0"; do
		! xdp_on "$dev" || { echo "XDP still on $dev"; return 1; }
	done
	[ ! -e "$PIN" ] || { echo "$PIN is still there"; return 1; }
}
stop_daemon TERM
check "tollgated -d, SIGTERM: every interface detached, the pins removed" detached
finish

}
