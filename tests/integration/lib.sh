# shellcheck shell=bash
# shellcheck disable=SC2034,SC2317  # set and defined here for the suites that source it
#
# lib.sh - what the integration suites share: the opening every suite starts with
# (suite_init: its variables, pin directory, temporary directory and cleanup trap),
# tollgated started and stopped by its PID, named checks that print "PASS name" or
# "FAIL name: why", and the closing "N passed, N failed" line with the exit status.
# Source it after setting ROOT (the worktree); it defines N_PASS and N_FAIL.

N_PASS=0
N_FAIL=0

pass() {
	N_PASS=$((N_PASS + 1))
	echo "PASS $1"
}

fail() {
	N_FAIL=$((N_FAIL + 1))
	echo "FAIL $1${2:+: $2}"
}

# check NAME CMD...: PASS if CMD succeeds. Lines CMD prints with a two-space indent are
# shown either way (measurements); the rest of its output explains a failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$(grep -v '^  ' <<<"$out" | tail -n 5 | tr '\n' ' ')"
	fi
	grep '^  ' <<<"$out"
	return 0
}

# The last line of every suite; the exit status says whether anything failed.
finish() {
	echo "$N_PASS passed, $N_FAIL failed"
	[ "$N_FAIL" -eq 0 ]
	exit
}

# suite_init TAG: the opening of every suite. Sets
#   TG, TGD  the built tollgate and tollgated
#   PIN      /sys/fs/bpf/tg-TAG-PID, the suite's own pin directory (TOLLGATE_PIN_DIR)
#   TMP      a temporary directory /tmp/tg-TAG-PID.XXXXXX, and CFG, its tollgate.yaml
#   MODE     the XDP mode to attach with: TG_TEST_MODE, native by default
#   DPID     tollgated's PID while start_daemon's daemon runs
#   BG_PIDS  PIDs the cleanup ends (so are those listed in $TMP/bg.pids, one a line)
#   NETNS    namespaces the cleanup deletes (a lab, P, is taken down by lab_down)
# and tg (tollgate -c CFG in the lab's router) when scripts/lab.sh is sourced. On exit,
# failed or not, suite_cleanup removes all of it; interrupted, the suite exits 130.
suite_init() {
	TG=$ROOT/build/tollgate
	TGD=$ROOT/build/tollgated
	PIN=/sys/fs/bpf/tg-$1-$$
	export TOLLGATE_PIN_DIR=$PIN
	TMP=$(mktemp -d "/tmp/tg-$1-$$.XXXXXX")
	CFG=$TMP/tollgate.yaml
	MODE=${TG_TEST_MODE:-native}
	DPID=
	BG_PIDS=()
	NETNS=()
	trap suite_cleanup EXIT
	trap 'echo "interrupted" >&2; exit 130' INT TERM
	if declare -F lab_tg >/dev/null; then
		tg() { lab_tg "$P" -c "$CFG" "$@"; }
	fi
}

# On exit: the suite's own teardown (a function of that name, if it defines one), its
# background processes (TERM, KILL after 1 s), tollgated, the lab, namespaces, pins, files.
suite_cleanup() {
	local pid ns
	if declare -F teardown >/dev/null; then
		teardown
	fi
	while read -r pid; do
		BG_PIDS+=("$pid")
	done < <(cat "$TMP/bg.pids" 2>/dev/null)
	for pid in "${BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${BG_PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	stop_daemon TERM
	if [ -n "${P:-}" ] && declare -F lab_down >/dev/null; then
		lab_down "$P"
	fi
	for ns in "${NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$PIN" "$TMP"
}

# start_daemon [ARGS]: tollgated -c CFG in the lab's router, its output in $TMP/daemon.log.
# ip netns exec would remount /sys and hide the pins: nsenter keeps the host's mounts and
# execs tollgated, so $! is the daemon's own PID. Call it directly, never inside check (a
# subshell would keep DPID from the trap), then check daemon_up.
# shellcheck disable=SC2120  # ARGS are optional
start_daemon() {
	: >"$TMP/daemon.log"
	nsenter --net="/run/netns/$P-rtr" -- "$TGD" -c "$CFG" "$@" >>"$TMP/daemon.log" 2>&1 &
	DPID=$!
}

# daemon_up: wait (5 s at most) until tollgated says it applied the configuration.
daemon_up() {
	for _ in $(seq 100); do
		grep -q ' applied: ' "$TMP/daemon.log" && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$TMP/daemon.log"
	return 1
}

# stop_daemon [SIGNAL]: end tollgated (ours, by its PID; TERM by default), KILL after 5 s.
stop_daemon() {
	[ -n "${DPID:-}" ] || return 0
	disown "$DPID" 2>/dev/null # no "Killed" line from the shell
	kill "-${1:-TERM}" "$DPID" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$DPID" 2>/dev/null
	DPID=
}
