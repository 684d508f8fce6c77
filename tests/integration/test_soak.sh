#!/usr/bin/env bash
#
# test_soak.sh - Tollgate over time (issue 18 item 13; docs/soak.md). For SOAK_SECONDS
# (60 here, `make soak`: SOAK_MINUTES, default 10), under lab traffic (scripts/lab.sh: B
# sends UDP at twice its upload rate all along, the probe), it churns at random moments:
# reloads with changed customers, suspensions (by hand and `--for`) and their expiries,
# B's port deleted and recreated, webhook outages (a real HTTP receiver stopped and
# started) and kill -9 of tollgated (restarted after the unit's RestartSec, as systemd
# would). Then it checks:
#   - every suspension in force in state.db is in the data plane (the customer's record,
#     read under the writers' lock by `customer show`) after every action, and the
#     suspended customers' traffic is dropped at the end;
#   - no event lost or duplicated beyond its id: every audit row reached the receiver,
#     nothing else did, a re-delivery is the same event (same id, same bytes), in order;
#   - policing never stopped for longer than the documented window (README: a recreated
#     port is re-attached within 1 s): B's received rate per 250 ms, longest run over
#     twice its limit;
#   - tollgated's RSS, open descriptors and map entries flat: the figures of the first and
#     the last fifth of the run (first and last minute of a 5-minute or longer run),
#     within the tolerances printed with them.
# SOAK_SEED repeats a run's random choices (printed at the start); SOAK_TOLLGATED soaks
# another tollgated binary (an older build, or one broken on purpose to see a check fail).
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N failed"
# and the exit status is non-zero on any failure. Needs root. Traffic never leaves the
# lab's veths (lab sk<PID>); namespaces, pins (/sys/fs/bpf/tg-soak-PID), temporary files
# and every process started here are removed by the trap, even when a check fails.
# shellcheck disable=SC2317,SC2034  # the trap and check() call functions indirectly; stop_pid
# takes the PID variables by name
set -u

{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# B's plan: a low upload rate with a small burst, so the probe (8 Mbit/s, twice over)
# shows within a 250 ms bucket whether it was policed
export LAB_B_UP=2mbit LAB_B_UP_BURST=16k
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"

SECS=${SOAK_SECONDS:-60}
SEED=${SOAK_SEED:-$$}
RANDOM=$SEED
P=sk$$
PIN=/sys/fs/bpf/tg-soak-$$
export TOLLGATE_PIN_DIR=$PIN
TGD=${SOAK_TOLLGATED:-$ROOT/build/tollgated} # another build to soak, e.g. an older one
TMP=$(mktemp -d "/tmp/tg-soak-$$.XXXXXX")
CFG=$TMP/tollgate.yaml
DB=$TMP/state.db
export TOLLGATE_SOCKET=$TMP/run/tollgate.sock
HOOK_PORT=$((20000 + $$ % 20000))
PROBE_PORT=9999
BUCKET_MS=250
LIMIT_BPS=2000000   # LAB_B_UP
WINDOW_MS=1000      # README: a recreated interface is attached again within 1 s
# the unit's restart delay (scripts/systemd/tollgated.service)
RESTART_S=$(sed -n 's/^RestartSec=\([0-9.]*\)s\?$/\1/p' "$ROOT/scripts/systemd/tollgated.service")
RESTART_S=${RESTART_S:-2}
DPID=
UP_MS=0
HPID=
SNDPID=
RCVPID=

stop_daemon() { # SIGNAL: end tollgated (ours, by its PID) and wait for it
	[ -n "$DPID" ] || return 0
	disown "$DPID" 2>/dev/null
	kill "-$1" "$DPID" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$DPID" 2>/dev/null
	DPID=
}
stop_pid() { # NAME: kill the process whose PID the variable NAME holds
	local pid=${!1}
	[ -n "$pid" ] || return 0
	disown "$pid" 2>/dev/null
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	printf -v "$1" ''
}
cleanup() {
	stop_pid HPID
	stop_pid SNDPID
	stop_pid RCVPID
	stop_daemon TERM
	lab_down "$P"
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

tg() { lab_tg "$P" -c "$CFG" "$@"; }
start_daemon() { # nsenter execs tollgated: $! is the daemon's own PID
	nsenter --net="/run/netns/$P-rtr" -- "$TGD" -c "$CFG" >>"$TMP/daemon.log" 2>&1 &
	DPID=$!
	echo "$(date +%s%3N) $DPID" >>"$TMP/lifetimes"
}
daemon_up() { # the control socket answers
	for _ in $(seq 150); do
		kill -0 "$DPID" 2>/dev/null || break
		tg -j status 2>/dev/null | grep -q '"pid"' && UP_MS=$(date +%s%3N) && return 0
		sleep 0.1
	done
	tail -n 20 "$TMP/daemon.log"
	return 1
}

# ---- the real components: the webhook receiver, the probe's sender and receiver ----
HOOK_PY='
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer.allow_reuse_address = True
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'
hook_start() {
	nsenter --net="/run/netns/$P-rtr" -- "$LAB_PY" -c "$HOOK_PY" "$HOOK_PORT" "$TMP/hook.log" &
	HPID=$!
}
# the probe's sender: UDP from B at RATE bit/s, 1400-byte datagrams, paced in 10 ms steps;
# a missing route (B's port deleted) is skipped, not fatal
SEND_PY='
import socket, sys, time
src, dst, port, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
payload = b"x" * 1400
per_step = rate / 8 / 1400 / 100
t, owed = time.monotonic(), 0.0
while True:
    owed += per_step
    while owed >= 1:
        owed -= 1
        try:
            s.sendto(payload, (dst, port))
        except OSError:
            pass
    t += 0.01
    time.sleep(max(0, t - time.monotonic()))
'
# the probe's receiver: "MS BYTES" per bucket of the monotonic clock, empty ones too
RECV_PY='
import socket, sys, time
port, bucket, out = int(sys.argv[1]), int(sys.argv[2]) / 1000, open(sys.argv[3], "w", buffering=1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", port))
s.settimeout(0.05)
start = time.monotonic()
cur, n = 0, 0
while True:
    try:
        data = s.recv(2048)
    except socket.timeout:
        data = b""
    k = int((time.monotonic() - start) / bucket)
    while k > cur:
        out.write("%d %d\n" % (cur * bucket * 1000, n))
        cur, n = cur + 1, 0
    n += len(data) + 28 if data else 0
'

# ---- the lab, the configuration, the daemon ----
lab_write_config "$P" "$TMP"
cat >>"$CFG" <<EOF
enforcement:
  interval: 1s
notify:
  webhook: "http://127.0.0.1:$HOOK_PORT/hook"
  timeout: 1s
  retry: { min: 200ms, max: 1s }
EOF
cp "$TMP/customers.csv" "$TMP/customers.base"
echo "  seed $SEED, $SECS s of churn, restart delay ${RESTART_S}s"
check "lab up" lab_up "$P"
attach_all() {
	local spec
	for spec in "$P-c0:customer" "$P-c1:customer" "$P-c2:customer" "$P-u0:upstream"; do
		tg attach "${spec%%:*}" role "${spec##*:}" || return 1
	done
}
check "attach 3 customer + 1 upstream interfaces" attach_all
: >"$TMP/hook.log"
hook_start
start_daemon
check "tollgated starts" daemon_up
ip netns exec "$P-up" "$LAB_PY" -c "$RECV_PY" "$PROBE_PORT" "$BUCKET_MS" "$TMP/probe.log" &
RCVPID=$!
ip netns exec "$P-cust" "$LAB_PY" -c "$SEND_PY" "$LAB_B4" "$LAB_UP4" "$PROBE_PORT" \
	$((LIMIT_BPS * 4)) &
SNDPID=$!

# ---- the churn ----
# B's port: the veth pair deleted (with it B's route), then made again as lab_up does
recreate_b() {
	ip -n "$P-rtr" link del "$P-c1" || return 1
	sleep "0.$((RANDOM % 5))"
	LAB_FAILED=
	lab_link "$P" "$P-cust" "$P-cb" "$P-c1" "$LAB_B4" "$LAB_B6" "$LAB_B_GW4" "$LAB_B_GW6" 28
	lab_do ip -n "$P-cust" route add 203.0.113.0/24 via "$LAB_B_GW4" dev "$P-cb" table 100
	lab_do ip -n "$P-cust" -6 route add 2001:db8:ff::/64 via "$LAB_B_GW6" dev "$P-cb" table 100
	[ -z "$LAB_FAILED" ]
}
# customers.csv changed: one of three extra customers (on C's port) in or out, and C's
# name, then `tollgate reload` (through the daemon, or by itself while it is down)
NRELOAD=0
reload_changed() {
	local k
	NRELOAD=$((NRELOAD + 1))
	cp "$TMP/customers.base" "$TMP/customers.csv"
	sed -i "s/^cust-c,Carol (spoofer)/cust-c,Carol $NRELOAD/" "$TMP/customers.csv"
	for k in 1 2 3; do
		((RANDOM % 2)) && echo "soak-$k,Extra $k,lab-b,10.77.$k.0/24,$P-c2," >>"$TMP/customers.csv"
	done
	tg reload >/dev/null
}
SUSP=(cust-a cust-c cust-v)
suspend_some() {
	local c=${SUSP[RANDOM % 3]}
	if ((RANDOM % 3)); then
		tg suspend "$c" --reason "soak $NACT" --for "$((2 + RANDOM % 5))s" >/dev/null 2>&1
	else
		tg suspend "$c" --reason "soak $NACT, by hand" >/dev/null 2>&1
	fi
}
unsuspend_some() {
	tg unsuspend "${SUSP[RANDOM % 3]}" --reason "soak $NACT, lifted" >/dev/null 2>&1
}
webhook_toggle() {
	if [ -n "$HPID" ]; then
		stop_pid HPID
	else
		hook_start
	fi
}
kill9() {
	kill -KILL "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
	sleep "$RESTART_S"
	start_daemon
	daemon_up >/dev/null
}

# In force in state.db => in the record; in the record => in force (or just expired). An
# expiry is overdue 2.5 s (two intervals and some) after its deadline or after the daemon
# came up, whichever is later. Prints what disagrees; the state comes from one `customer
# show` each (one lock).
consistent() {
	local c row id rec est until now bad=''
	now=$(date +%s%3N)
	for c in "${SUSP[@]}"; do
		# jq, not Python: it starts in milliseconds on a loaded machine
		row=$(tg -j customer show "$c" 2>/dev/null | jq -r '.customer | [.id, .state,
			(.enforcement.state // "-"), ((.enforcement.until // null) |
			if . then fromdateiso8601 * 1000 else 0 end)] | @tsv') || continue
		read -r id rec est until <<<"$row"
		[ "$est" = suspended ] && [ "$rec" != suspended ] &&
			bad+="$id: suspended in state.db (until $until), $rec in the data plane; "
		[ "$until" -gt 0 ] && [ "$now" -gt $(((until > UP_MS ? until : UP_MS) + 2500)) ] &&
			bad+="$id: expiry at $until ms overdue; "
		[ "$rec" = suspended ] && [ "$est" != suspended ] &&
			bad+="$id: suspended in the data plane, not in state.db; "
	done
	[ -z "$bad" ] || { echo "$bad"; return 1; }
}

# tollgated's figures: RSS (kB), open descriptors, entries of the hash maps (LRU ones
# apart: they are full by design, see below), anonymous RSS (kB: the heap, without the BPF
# maps it has mapped), entries by map; one line a sample
HMAPS=$(for m in "$PIN"/tg_*; do
	bpftool -j map show pinned "$m" 2>/dev/null | grep -q '"type":"[a-z_]*hash\|"type":"lpm_trie' &&
		echo "$m"
done)
# LRU maps (tg_exlim: a port's exception rate; a recreated port is a new key, the old
# one ages out) are bounded by their size, not flat: "NAME:MAX_ENTRIES" each
LRUMAPS=$(for m in $HMAPS; do
	bpftool -j map show pinned "$m" | jq -r 'select(.type | test("lru")) | "\(.name):\(.max_entries)"'
done | paste -sd, -)
sample() {
	[ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null || return 0
	local rss anon fds ent=0 m n per=
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status" 2>/dev/null) || return 0
	anon=$(awk '/^RssAnon:/ { print $2 }' "/proc/$DPID/status" 2>/dev/null)
	fds=$(find "/proc/$DPID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	for m in $HMAPS; do
		n=$(bpftool -j map dump pinned "$m" 2>/dev/null | jq length 2>/dev/null)
		[[ ,$LRUMAPS, == *",${m##*/}:"* ]] || ent=$((ent + ${n:-0}))
		per+="${m##*/}=${n:-0},"
	done
	echo "$(date +%s%3N) $DPID ${rss:-0} $fds $ent ${anon:-0} ${per%,}" >>"$TMP/samples"
}

sleep 1 # the probe settles
echo "  set up in ${SECONDS}s"
: >"$TMP/samples"
: >"$TMP/churn.log"
NACT=0
BAG=()
declare -A ACTS=()
INCONS=''
end=$((SECONDS + SECS))
next_sample=0
while [ "$SECONDS" -lt "$end" ]; do
	NACT=$((NACT + 1))
	# rounds of every kind of action, each round in a random order
	[ "${#BAG[@]}" -gt 0 ] || BAG=(reload reload suspend suspend suspend unsuspend iface iface webhook kill9)
	i=$((RANDOM % ${#BAG[@]}))
	a=${BAG[i]}
	BAG=("${BAG[@]:0:i}" "${BAG[@]:i+1}")
	case $a in
	reload) reload_changed ;;
	suspend) suspend_some ;;
	unsuspend) unsuspend_some ;;
	iface) recreate_b || echo "recreate failed: $LAB_FAILED" >>"$TMP/churn.log" ;;
	webhook) webhook_toggle ;;
	kill9) kill9 ;;
	esac
	ACTS[$a]=$((${ACTS[$a]:-0} + 1))
	echo "$SECONDS $a" >>"$TMP/churn.log"
	sleep 0.2
	if [ -n "$DPID" ]; then
		why=$(consistent) || INCONS+="after $a (#$NACT): $why"$'\n'
	fi
	if [ "$SECONDS" -ge "$next_sample" ]; then
		sample
		next_sample=$((SECONDS + 2))
	fi
	sleep "0.$((RANDOM % 10))"
done
echo "  churn over at ${SECONDS}s; $NACT actions: $(for a in "${!ACTS[@]}"; do printf "%s %s, " "$a" "${ACTS[$a]}"; done)"
sample

# ---- the checks ----
[ -n "$HPID" ] || hook_start
[ -n "$DPID" ] || { start_daemon && daemon_up >/dev/null; }
stop_pid SNDPID
sleep 0.5
stop_pid RCVPID

no_inconsistency() { [ -z "$INCONS" ] || { echo "$INCONS" | head -n 5; return 1; }; }
check "after every action: every suspension in state.db is in the data plane, and only those" no_inconsistency
check "at the end too" consistent
suspended_dropped() {
	local c ns src
	for c in cust-a cust-c; do
		[ "$(tg -j customer show "$c" | jq -r .customer.state)" = suspended ] || continue
		if [ "$c" = cust-a ]; then ns=$P-cust src=$LAB_A4; else ns=$P-spf src=$LAB_C4; fi
		out=$(lab_ns "$ns" ping -n -q -c 5 -i 0.05 -W 1 -I "$src" "$LAB_UP4" 2>&1)
		grep -q " 0 received" <<<"$out" || { echo "$c suspended, its pings answered: $out"; return 1; }
		echo "  $c suspended: its pings dropped"
	done
}
check "the suspended customers' traffic is dropped" suspended_dropped

# every event delivered: wait until the outbox is empty (retries back off to 1 s)
drained() {
	local n
	for _ in $(seq 150); do
		n=$(sqlite3 -readonly "$DB" "SELECT count(*) FROM outbox WHERE delivered_at IS NULL" 2>/dev/null)
		[ "$n" = 0 ] && return 0
		sleep 0.1
	done
	echo "$n notifications still pending"
	return 1
}
check "the outbox drains once the receiver and the daemon are up" drained
events_once() {
	sqlite3 -readonly -json "$DB" "SELECT id AS seq, event_id AS id FROM audit ORDER BY id" >"$TMP/audit.json" || return 1
	"$LAB_PY" - "$TMP/audit.json" "$TMP/hook.log" <<-'PYEOF'
		import json, sys
		txt = open(sys.argv[1]).read().strip()
		audit = json.loads(txt) if txt else []
		raw = [l for l in open(sys.argv[2], "rb").read().split(b"\n") if l]
		got, bad, first = {}, [], []
		for b in raw:
		    e = json.loads(b)
		    if e["id"] in got:
		        if got[e["id"]] != b:
		            bad.append("%s delivered twice with different contents" % e["id"])
		    else:
		        got[e["id"]] = b
		        first.append(e)
		ids = [a["id"] for a in audit]
		lost = [i for i in ids if i not in got]
		extra = [i for i in got if i not in set(ids)]
		if lost:
		    bad.append("%d events never delivered: %s" % (len(lost), lost[:3]))
		if extra:
		    bad.append("%d delivered events not in the audit table: %s" % (len(extra), extra[:3]))
		if len(set(ids)) != len(ids) or ids != sorted(ids):
		    bad.append("audit event ids not unique and increasing")
		seqs = [e["seq"] for e in first]
		if seqs != sorted(seqs):
		    bad.append("delivered out of order")
		for e in first:
		    a = next((x for x in audit if x["id"] == e["id"]), None)
		    if a and a["seq"] != e["seq"]:
		        bad.append("%s: seq %s, audit row %s" % (e["id"], e["seq"], a["seq"]))
		        break
		print("  %d events in the audit table, %d deliveries, %d re-deliveries of the same event" %
		      (len(ids), len(raw), len(raw) - len(got)))
		if bad:
		    print("; ".join(bad))
		sys.exit(1 if bad or not ids else 0)
	PYEOF
}
check "every event delivered, none lost, none but the same one twice (the receiver's log against the audit table)" events_once

policed() {
	"$LAB_PY" - "$TMP/probe.log" "$BUCKET_MS" "$LIMIT_BPS" "$WINDOW_MS" <<-'PYEOF'
		import sys
		rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
		bucket, limit, window = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
		over = 2 * limit / 8 * bucket / 1000  # bytes in a bucket at twice the limit
		rows = rows[4:]  # the first second: the sender starting
		run = longest = n_over = 0
		for _, b in rows:
		    run = run + 1 if b > over else 0
		    n_over += b > over
		    longest = max(longest, run)
		got = sorted(b for _, b in rows)
		med = got[len(got) // 2] * 8 * 1000 / bucket if got else 0
		print("  probe: %d buckets of %d ms, median %.2f Mbit/s (limit %.1f, offered %.1f); "
		      "%d over twice the limit, longest run %d ms (window %d ms)" %
		      (len(rows), bucket, med / 1e6, limit / 1e6, 4 * limit / 1e6, n_over, longest * bucket, window))
		if med < 0.5 * limit:
		    print("the probe hardly arrived: nothing to judge")
		    sys.exit(1)
		sys.exit(0 if longest * bucket <= window else 1)
	PYEOF
}
check "policing never stopped for longer than the documented window (B's probe at 4x its rate)" policed

flat() {
	"$LAB_PY" - "$TMP/samples" "$TMP/lifetimes" "$LRUMAPS" <<-'PYEOF'
		import sys
		s = [tuple(map(int, l.split()[:6])) for l in open(sys.argv[1]) if l.strip()]
		per = [dict(kv.split("=") for kv in l.split()[6].split(",")) if len(l.split()) > 6 else {}
		       for l in open(sys.argv[1]) if l.strip()]
		if len(s) < 4:
		    print("only %d samples" % len(s)); sys.exit(1)
		t0, t1 = s[0][0], s[-1][0]
		span = max(60000, (t1 - t0) // 5) if t1 - t0 >= 300000 else (t1 - t0) // 5
		first = [x for x in s if x[0] <= t0 + span]
		last = [x for x in s if x[0] >= t1 - span]
		bad = []
		def fig(name, k, tol):
		    a, b = max(x[k] for x in first), max(x[k] for x in last)
		    ok = b <= tol(a)
		    print("  %-12s first %s: max %d, last %s: max %d (tolerance %d)%s" %
		          (name, "%ds" % (span // 1000), a, "%ds" % (span // 1000), b, tol(a), "" if ok else "  GROWN"))
		    if not ok:
		        bad.append(name)
		fig("RSS kB", 2, lambda a: a + max(4096, a // 50))
		fig("  anon kB", 5, lambda a: a + max(2048, a // 10))
		fig("descriptors", 3, lambda a: a + 3)
		fig("map entries", 4, lambda a: a + 6)
		for kv in filter(None, sys.argv[3].split(",")):
		    name, cap = kv.split(":")
		    most = max(int(p.get(name, 0)) for p in per)
		    print("  %-12s (LRU) at most %d of its %s entries" % (name, most, cap))
		    if most > int(cap):
		        bad.append("%s over its size" % name)
		print("  map entries by map, first sample -> last: %s" %
		      ", ".join("%s %s -> %s" % (k, per[0].get(k, "-"), per[-1].get(k, "-"))
		                for k in sorted(set(per[0]) | set(per[-1]))))
		# within one daemon's life too (a restart hides a leak from the figures above),
		# from 5 s after its start (its threads and connections are up by then)
		born = {int(l.split()[1]): int(l.split()[0]) for l in open(sys.argv[2]) if l.strip()}
		lives = {}
		for x in s:
		    if x[0] >= born.get(x[1], 0) + 5000:
		        lives.setdefault(x[1], []).append(x)
		for pid, xs in lives.items():
		    if len(xs) >= 3 and (xs[-1][2] - xs[0][2] > max(4096, xs[0][2] // 50) or
		                         xs[-1][5] - xs[0][5] > max(2048, xs[0][5] // 10) or
		                         xs[-1][3] - xs[0][3] > 3):
		        bad.append("pid %d grew: RSS %d -> %d kB (anon %d -> %d), fds %d -> %d" %
		                   (pid, xs[0][2], xs[-1][2], xs[0][5], xs[-1][5], xs[0][3], xs[-1][3]))
		print("  %d samples, %d daemon lifetimes" % (len(s), len(lives)))
		if bad:
		    print("; ".join(bad)); sys.exit(1)
	PYEOF
}
check "tollgated's RSS, descriptors and map entries flat (first vs last fifth, and within each lifetime)" flat
check "tollgated still up at the end" kill -0 "$DPID"
echo "  checks over at ${SECONDS}s"
finish

}
