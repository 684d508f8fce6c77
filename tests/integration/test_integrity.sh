#!/usr/bin/env bash
#
# test_integrity.sh - tollgated's enforcement writes against other writers and failures
# (issue 18 items 5, 6, 9): while `tollgate reload` runs without the daemon (moving the
# customers' indexes: a set of customers leaves, another takes their indexes, and back)
# the daemon suspends, unsuspends and lets --for suspensions expire; no record may ever
# land on the wrong customer (checked under the writers' lock through `customer show`).
# The state database on a filesystem that fills up: what cannot be recorded is not done,
# and comes again. The daemon's wall clock stepped an hour forward and back (a test build)
# neither lifts a suspension nor fires a rule early. The systemd watchdog is fed at half
# of WATCHDOG_USEC even with an enforcement interval longer than it.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N
# failed". Needs root. Lab ti<PID>, pins /sys/fs/bpf/tg-ti-PID, all removed by the trap.
# shellcheck disable=SC2317  # the trap and check() call functions indirectly
set -u

{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"

P=ti$$
suite_init ti
STRESS_S=${TG_STRESS_S:-25}
NPID=
SPID=
BGPIDS=()

teardown() {
	local p
	for p in "${BGPIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$NPID" ] && kill "$NPID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	stop_daemon TERM
	mountpoint -q "$TMP/small" && umount "$TMP/small"
}

export TOLLGATE_SOCKET=$TMP/tollgate.sock
# a reload by tollgate itself (no daemon at that socket): another writer
tg_direct() { TOLLGATE_SOCKET=$TMP/nobody.sock lab_tg "$P" "$@"; }

check "lab up" lab_up "$P"
lab_write_config "$P" "$TMP"
cat >>"$CFG" <<EOF
enforcement:
  interval: 1s
EOF
# S customers (the daemon suspends them) and N customers (never suspended: they take the
# S customers' indexes while those are out of the configuration)
NS=8
base=$(cat "$TMP/customers.csv")
{
	echo "$base"
	for i in $(seq $NS); do echo "s$i,S $i,lab-b,10.77.1.$i/32,$P-c1,"; done
} >"$TMP/customers.csv"
echo "$base" >"$TMP/none.csv"
{
	echo "$base"
	for i in $(seq $NS); do echo "n$i,N $i,lab-b,10.77.2.$i/32,$P-c1,"; done
} >"$TMP/alt.csv"
sed "s|customers: customers.csv|customers: none.csv|" "$CFG" >"$TMP/none.yaml"
sed "s|customers: customers.csv|customers: alt.csv|" "$CFG" >"$TMP/alt.yaml"

attach_all() {
	local spec
	for spec in "$P-c0:customer" "$P-c1:customer" "$P-c2:customer" "$P-u0:upstream"; do
		tg attach "${spec%%:*}" role "${spec##*:}" || return 1
	done
}
check "attach the lab's interfaces" attach_all

# ---- item 9: the watchdog has its own timer ----
NOTIFY_PY='
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
out = open(sys.argv[2], "w")
end = time.monotonic() + 60  # READY=1 moves it to 5 s after
while time.monotonic() < end:
    try:
        m = s.recv(4096).decode()
        if "READY=1" in m:
            end = time.monotonic() + float(sys.argv[3])
        out.write("%.3f %s\n" % (time.monotonic(), m.replace("\n", " ")))
        out.flush()
    except socket.timeout:
        pass
'
"$LAB_PY" -c "$NOTIFY_PY" "$TMP/notify.sock" "$TMP/notify.log" 5 &
NPID=$!
for _ in $(seq 50); do [ -S "$TMP/notify.sock" ] && break; sleep 0.05; done
sed -i 's/^  interval: 1s/  interval: 5s/' "$CFG"
NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=600000 start_daemon
check "tollgated starts (enforcement.interval 5s, WATCHDOG_USEC 0.6 s)" daemon_up
watchdog_fed() {
	while kill -0 "$NPID" 2>/dev/null; do sleep 0.2; done # (a subshell: no wait)
	# READY=1 at t0; from then, over ~5 s, a ping at least every 0.6 s
	"$LAB_PY" - "$TMP/notify.log" <<'EOF'
import sys
t = [float(l.split()[0]) for l in open(sys.argv[1]) if "WATCHDOG=1" in l]
r = [float(l.split()[0]) for l in open(sys.argv[1]) if "READY=1" in l]
if not r or len(t) < 2:
    sys.exit("READY %d, WATCHDOG=1 %d times" % (len(r), len(t)))
t = [x for x in t if x >= r[0] - 0.5]
gaps = [b - a for a, b in zip(t, t[1:])]
print("  %d WATCHDOG=1 pings, the longest gap %.2f s" % (len(t), max(gaps or [0])))
if len(t) < 8 or max(gaps) > 0.6:
    sys.exit("want a ping every 0.3 s (WatchdogSec 0.6 s): %d pings, gaps %s" % (len(t), gaps[:10]))
EOF
}
check "systemd: WATCHDOG=1 every WatchdogSec/2, not every enforcement interval" watchdog_fed
stop_daemon TERM
sed -i 's/^  interval: 5s/  interval: 1s/' "$CFG"

# ---- item 5: enforcement against reloads by another writer ----
start_daemon
check "tollgated starts again (interval 1s)" daemon_up

# another writer: reload without the daemon, S out, N in (taking S's indexes), and back
reloader() {
	local end=$((SECONDS + STRESS_S)) c
	while [ "$SECONDS" -lt "$end" ]; do
		# N customers hold S customers' indexes for a second: the daemon's writes for S
		# customers must not land on them
		for c in none alt; do
			tg_direct -c "$TMP/$c.yaml" reload >/dev/null 2>>"$TMP/reloader.err"
		done
		sleep 1
		for c in none tollgate; do
			tg_direct -c "$TMP/$c.yaml" reload >/dev/null 2>>"$TMP/reloader.err"
		done
		sleep 0.2
	done
}
# the daemon's writes: suspend (every third --for 1s, to expire) and, a round later,
# unsuspend, so that a record written on the wrong index stays there a while
enforcer() {
	local end=$((SECONDS + STRESS_S)) i=0 n=0
	local -a on=()
	while [ "$SECONDS" -lt "$end" ]; do
		i=$((i % NS + 1))
		n=$((n + 1))
		if [ -n "${on[$i]:-}" ]; then
			tg unsuspend "s$i" --reason "stress $n" >/dev/null 2>&1
			on[i]=
		elif [ $((n % 3)) -eq 0 ]; then
			tg suspend "s$i" --reason "stress $n" --for 1s >/dev/null 2>&1
		else
			tg suspend "s$i" --reason "stress $n" >/dev/null 2>&1 && on[i]=1
		fi
	done
}
# the checker: an N customer is never suspended, and for any customer the record
# (map) and the enforcement table (state.db) agree
checker() {
	local end=$((SECONDS + STRESS_S)) id out
	: >"$TMP/wrong"
	while [ "$SECONDS" -lt "$end" ]; do
		for id in n1 n2 n3 n4 s1 s2 s3 s4 n5 n6 n7 n8 s5 s6 s7 s8; do
			out=$(tg -j customer show "$id" 2>/dev/null) || continue
			lab_json "(j['customer']['state'], (j['customer'].get('enforcement') or {}).get('state') or 'active')" <<<"$out" |
				"$LAB_PY" -c "
import sys, ast
m, d = ast.literal_eval(sys.stdin.read())
if m != d or ('$id'.startswith('n') and m != 'active'):
    print('$id: record %s, state.db %s' % (m, d))" >>"$TMP/wrong"
		done
	done
}
stress() {
	reloader &
	BGPIDS+=($!)
	enforcer &
	BGPIDS+=($!)
	checker
	wait "${BGPIDS[@]}"
	BGPIDS=()
	local n
	n=$(grep -c . "$TMP/wrong")
	echo "  reloads by another writer: $(grep -c 'not loaded\|error' "$TMP/reloader.err") errors; daemon resyncs: $(grep -c 'writing the data plane in full' "$TMP/daemon.log")"
	[ "$n" -eq 0 ] || { echo "$n records on the wrong customer: $(sort "$TMP/wrong" | uniq -c | head -5 | tr '\n' ';')"; return 1; }
}
check "${STRESS_S}s of reloads by another writer and daemon suspensions: every record on its own customer" stress
settled() {
	local id out
	tg_direct -c "$CFG" reload >/dev/null || return 1
	sleep 2.5 # the --for 1s suspensions expire
	for id in s1 s2 s3 s4 s5 s6 s7 s8; do
		out=$(tg -j customer show "$id") || return 1
		lab_json "(j['customer']['state'], (j['customer'].get('enforcement') or {}).get('state') or 'active')" <<<"$out" |
			grep -qx "('active', 'active')\|('suspended', 'suspended')" ||
			{ echo "$id: $out"; return 1; }
	done
}
check "afterwards: records and state.db agree for every S customer" settled
check "tollgated still running" kill -0 "$DPID"

# ---- item 6: the record comes first, also when it cannot be written ----
# state.db on a 4 MB tmpfs that a file fills up: nothing that cannot be recorded is done,
# a rule that could not record its firing fires again, an expiry is retried
stop_daemon TERM
mkdir -p "$TMP/small"
mount -t tmpfs -o size=4m,mode=0700 "tg-ti-$$" "$TMP/small"
sed "s|^state: .*|state: $TMP/small/state.db|" "$CFG" >"$TMP/small.yaml"
cat >>"$TMP/small.yaml" <<EOF
  rules:
    - name: spoofing
      when: "spoof_pps > 50 for 2s"
      action: suspend
      reason: "spoofing"
EOF
CFG=$TMP/small.yaml
start_daemon
check "tollgated starts with state.db on a small tmpfs" daemon_up
state_is() { # ID MAP DB: the record's state and state.db's
	local out got
	out=$(tg -j customer show "$1") || return 1
	got=$(lab_json "j['customer']['state'] + '/' + ((j['customer'].get('enforcement') or {}).get('state') or 'active')" <<<"$out")
	[ "$got" = "$2/$3" ] || { echo "$1: record/state.db $got, want $2/$3"; return 1; }
}
check "suspend cust-a --for 3s while there is room" tg suspend cust-a --reason "room" --for 3s
fill() {
	dd if=/dev/zero of="$TMP/small/fill" bs=64k 2>/dev/null
	for i in $(seq 40); do
		dd if=/dev/zero of="$TMP/small/fill$i" bs=4k count=1 2>/dev/null
	done
	[ "$(df --output=avail "$TMP/small" | tail -1)" -eq 0 ]
}
check "the state database's filesystem is full" fill
refused() {
	if tg suspend cust-b --reason "no room" >"$TMP/refused.out" 2>&1; then
		echo "suspend succeeded: $(cat "$TMP/refused.out")"
		return 1
	fi
	grep -q "nothing changed" "$TMP/refused.out" || { cat "$TMP/refused.out"; return 1; }
	state_is cust-b active active
}
check "full: suspend cust-b is refused with the reason; its record is untouched" refused
check "full: B still reaches the internet" lab_ns "$P-cust" ping -n -q -c 5 -i 0.05 -W 1 -I "$LAB_B4" "$LAB_UP4"
lab_send_bg "$P" "$P-spf" "$P-sa" 2400 200 rand4 "$LAB_UP4" # 12 s of spoofing from C
SPID=$LAB_BG_PID
sleep 4.5
check "full: cust-a's --for 3s has passed but cannot be recorded: still suspended" state_is cust-a suspended suspended
check "full: C spoofs over the rule's 2 s, the firing cannot be recorded: not suspended" state_is cust-c active active
rm -f "$TMP/small/fill"*
retried() {
	for _ in $(seq 40); do
		state_is cust-a active active >/dev/null && state_is cust-c suspended suspended >/dev/null && return 0
		sleep 0.1
	done
	state_is cust-a active active
	state_is cust-c suspended suspended
	return 1
}
check "room again: the expiry is retried (A active) and the rule fires again (C suspended)" retried
check "room again: suspend cust-b is done" tg suspend cust-b --reason "room again"
check "... and recorded" state_is cust-b suspended suspended
# SQLITE_BUSY: another process holds the database's write lock past the 10 s busy timeout
busy_refused() {
	rm -f "$TMP/locked"
	"$LAB_PY" -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(13)
c.execute("ROLLBACK")' "$TMP/small/state.db" "$TMP/locked" &
	local lpid=$! out
	for _ in $(seq 50); do [ -e "$TMP/locked" ] && break; sleep 0.1; done
	if out=$(tg suspend cust-a --reason "busy" 2>&1); then
		echo "suspend succeeded under another's write lock: $out"
		wait "$lpid"
		return 1
	fi
	wait "$lpid"
	grep -q "nothing changed" <<<"$out" || { echo "$out"; return 1; }
	state_is cust-a active active
}
check "state.db write-locked by another process: suspend cust-a refused, nothing changed" busy_refused
check "lock released: suspend cust-a is done and recorded" tg suspend cust-a --reason "unlocked"
check "... recorded" state_is cust-a suspended suspended
kill "$SPID" 2>/dev/null
SPID=

# ---- item 8: durations on the monotonic clock; the wall clock steps (in a test build) ----
# build/tests/tollgated_clockstep reads its wall clock as the host's plus the ms in
# $TMP/step: the test steps it an hour forward and back, as NTP would.
stop_daemon TERM
sed -e "s|^state: .*|state: $TMP/clock.db|" "$TMP/tollgate.yaml" >"$TMP/clock.yaml"
cat >>"$TMP/clock.yaml" <<EOF
  rules:
    - name: spoofing
      when: "spoof_pps > 50 for 5s"
      action: suspend
      reason: "spoofing"
EOF
CFG=$TMP/clock.yaml
echo 0 >"$TMP/step"
TGD=$ROOT/build/tests/tollgated_clockstep TG_TEST_WALL_STEP=$TMP/step start_daemon
check "tollgated (test build, steppable wall clock) starts" daemon_up
check "suspend cust-a --for 4s" tg suspend cust-a --reason "clock" --for 4s
t0=$(date +%s.%N)
sleep 1
echo 3600000 >"$TMP/step" # the wall clock jumps an hour ahead
sleep 1.5
check "wall clock +1 h: cust-a's --for 4s is not lifted early (2.5 s)" state_is cust-a suspended suspended
check "suspend cust-b --for 3s (wall clock still +1 h)" tg suspend cust-b --reason "clock" --for 3s
t0=$(date +%s.%N)
sleep 1
echo -3600000 >"$TMP/step" # and two hours back: an hour behind the host
lifted_on_time() { # ID: lifted 2.5..5.5 s after t0 (--for 3s, interval 1s)
	for _ in $(seq 60); do
		state_is "$1" active active >/dev/null && break
		sleep 0.1
	done
	local took
	took=$(echo "$(date +%s.%N) - $t0" | bc)
	echo "  $1 lifted $(printf %.1f "$took") s after its suspension (--for 3s, interval 1s)"
	state_is "$1" active active || return 1
	[ "$(echo "$took >= 2.5 && $took < 5.5" | bc)" = 1 ] || { echo "lifted after $took s"; return 1; }
}
check "wall clock -2 h: cust-b is lifted on time anyway" lifted_on_time cust-b
check "... and so is cust-a" state_is cust-a active active
echo 0 >"$TMP/step"
lab_send_bg "$P" "$P-spf" "$P-sa" 2400 200 rand4 "$LAB_UP4" # 12 s of spoofing from C
SPID=$LAB_BG_PID
t0=$(date +%s.%N)
sleep 2.5
check "the rule's 'for 5s' has not held yet (2.5 s)" state_is cust-c active active
echo -3600000 >"$TMP/step" # an hour back while C's condition is true
fired_on_time() {
	for _ in $(seq 100); do
		state_is cust-c suspended suspended >/dev/null && break
		sleep 0.1
	done
	local took
	took=$(echo "$(date +%s.%N) - $t0" | bc)
	echo "  fired $(printf %.1f "$took") s after the spoofing began (for 5s, interval 1s)"
	state_is cust-c suspended suspended
}
check "wall clock -1 h during the rule's 'for 5s': it fires once the condition held 5 s" fired_on_time
kill "$SPID" 2>/dev/null
SPID=

finish
}
