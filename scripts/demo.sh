#!/usr/bin/env bash
#
# demo.sh - Tollgate live, in a namespace lab (scripts/lab.sh); `make demo` runs it after
# the build. It builds the lab, attaches Tollgate to the router's veths, starts real
# traffic in the background and shows every customer's counters once a second:
#
#   customer A  UDP download at twice its plan (iperf3) and a TCP upload: held to its rates
#   customer B  pings and a moderate TCP upload, well inside its plan: nothing dropped
#   customer C  pings, and spoofed packets (scapy, a few hundred per second, random foreign
#               and bogon sources): dropped and charged to C's port as spoof / bogon; tollgated's
#               rule "spoofing" suspends C for 20 s at a time (its pings stop, drops show as
#               suspended), and the view shows the audit log's last events
#
# Ctrl-C (or DEMO_DURATION=N seconds) stops it; the trap then ends every process it started
# and removes the lab, the pins and the temporary files. Needs root. Traffic never leaves
# the lab's veths.
#
# Environment: DEMO_DURATION=N stop by itself after N seconds; DEMO_MODE=native|generic
# (default native, falling back to generic if native XDP cannot attach).
set -u

# The script is one brace group, read whole before it runs: editing the file during a run
# (a checkout, another engineer) cannot change what the run executes.
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$ROOT/scripts/lab.sh"

P=tgd$$
PIN=/sys/fs/bpf/tg-demo-$$
export TOLLGATE_PIN_DIR=$PIN
TMP=$(mktemp -d "/tmp/tg-demo-$$.XXXXXX")
CFG=$TMP/tollgate.yaml
MODE=${DEMO_MODE:-native}
DURATION=${DEMO_DURATION:-0}
PIDS=()

# shellcheck disable=SC2317  # reached through the trap
cleanup() {
	local pid alive
	trap - EXIT INT TERM
	echo
	echo "demo: stopping traffic and removing the lab"
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	# an iperf3 client that is told to stop tries to say goodbye to its server and can
	# hang there: 5 s, then SIGKILL (our own PIDs only)
	for _ in $(seq 50); do
		alive=0
		for pid in "${PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ "$alive" -eq 0 ] && break
		sleep 0.1
	done
	for pid in "${PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	lab_down "$P"
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "demo: $*" >&2
	exit 1
}

# bg CMD...: start CMD (an external command, so that $! is its own PID, not a subshell's)
# in the background, output to the log, and remember its PID.
bg() {
	"$@" >>"$TMP/traffic.log" 2>&1 &
	PIDS+=("$!")
}

tg() { lab_tg "$P" -c "$CFG" "$@"; }

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, XDP)"
[ -x "$LAB_TOLLGATE" ] || die "$LAB_TOLLGATE not found: run 'make all' first"
for tool in iperf3 nsenter "$LAB_PY"; do
	command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
done
[[ $DURATION =~ ^[0-9]+$ ]] || die "DEMO_DURATION=$DURATION: want a number of seconds"

echo "demo: building lab $P (namespaces $P-cust, $P-spf, $P-rtr, $P-up)"
lab_up "$P" || die "lab setup failed"
# plans: A 10 Mbit/s up, 20 down, 256 KiB bursts (enough for TCP at veth latency); B and C
# design.md's home-100 (20 up, 100 down)
LAB_A_UP=10mbit LAB_A_DOWN=20mbit LAB_A_BURST=256k LAB_B_UP=20mbit LAB_B_DOWN=100mbit \
	lab_write_config "$P" "$TMP"
# tollgated's rules: C's spoofing suspends it for 20 s (it keeps spoofing: suspended
# again once the suspension lifts and the rule's episode has ended)
cat >>"$CFG" <<-EOF
	enforcement:
	  interval: 1s
	  rules:
	    - name: spoofing
	      when: "spoof_pps > 200 for 8s"
	      action: suspend
	      duration: 20s
	      reason: "source address spoofing (AUP 3.1)"
EOF
export TOLLGATE_SOCKET=$TMP/tollgate.sock

# The NOC page from the host: tollgated serves it on the router namespace's loopback, a
# forwarder (scripts/nsfwd.py) on the host's loopback, on a free port, passes each
# connection to the same port there. Loopback only: no address or route on the host
# changes, nothing outside the machine reaches it, and the trap ends it.
"$LAB_PY" "$ROOT/scripts/nsfwd.py" "/run/netns/$P-rtr" "$TMP/noc.port" >>"$TMP/traffic.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do
	[ -s "$TMP/noc.port" ] && break
	sleep 0.05
done
NOC_PORT=$(cat "$TMP/noc.port" 2>/dev/null)
[ -n "$NOC_PORT" ] || die "the NOC page forwarder did not start: $(tail -n 3 "$TMP/traffic.log")"
echo "metrics: { listen: \"127.0.0.1:$NOC_PORT\" }" >>"$CFG"

attach_all() {
	local m=$1
	tg attach "$P-c0" role customer mode "$m" &&
		tg attach "$P-c1" role customer mode "$m" &&
		tg attach "$P-c2" role customer mode "$m" &&
		tg attach "$P-u0" role upstream mode "$m"
}
if ! attach_all "$MODE"; then
	[ "$MODE" = native ] || die "attach failed"
	echo "demo: native XDP did not attach; using generic mode" >&2
	for dev in "$P-c0" "$P-c1" "$P-c2" "$P-u0"; do tg detach "$dev" >/dev/null 2>&1; done
	MODE=generic
	attach_all generic || die "attach failed in generic mode too"
fi

# the daemon, in the router's namespace (nsenter keeps the host's /sys/fs/bpf in view)
"$(command -v nsenter)" --net="/run/netns/$P-rtr" -- "$ROOT/build/tollgated" -c "$CFG" \
	>>"$TMP/daemon.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do
	grep -q ' applied: ' "$TMP/daemon.log" && break
	sleep 0.05
done
grep -q ' applied: ' "$TMP/daemon.log" || die "tollgated did not start: $(tail -n 3 "$TMP/daemon.log")"

cat <<-EOF
	demo: tollgated runs the rule "spoofing": spoof_pps > 200 for 8s -> suspend for 20s
	demo: the NOC page: open http://127.0.0.1:$NOC_PORT/ in a browser on this machine
	        (metrics: http://127.0.0.1:$NOC_PORT/metrics, API: http://127.0.0.1:$NOC_PORT/api/v1/status;
	        from another machine: ssh -L $NOC_PORT:127.0.0.1:$NOC_PORT THIS-HOST, then the same URL)
	        tollgate top, in another shell: TOLLGATE_PIN_DIR=$PIN build/tollgate top
	demo: Tollgate attached ($MODE XDP) on $P-rtr:
	  $P-c0  customer role   A $LAB_A4 (10 Mbit/s up, 20 down); V on VLAN $LAB_VLAN_V (no traffic)
	  $P-c1  customer role   B $LAB_B4 (20 Mbit/s up, 100 down)
	  $P-c2  customer role   C $LAB_C4 (20 Mbit/s up, 100 down), the spoofer
	  $P-u0  upstream role   upstream host $LAB_UP4
	demo: starting traffic
EOF

# iperf3 servers, one per flow (an iperf3 server runs one test at a time)
bg ip netns exec "$P-cust" iperf3 -s -B "$LAB_A4" -p 5201
bg ip netns exec "$P-up" iperf3 -s -B "$LAB_UP4" -p 5202
bg ip netns exec "$P-up" iperf3 -s -B "$LAB_UP4" -p 5203
sleep 0.5
LONG=86400
# A: UDP download at 40 Mbit/s against a 20 Mbit/s plan, and a TCP upload against 10 Mbit/s
bg ip netns exec "$P-up" iperf3 -c "$LAB_A4" -p 5201 -u -b 40M -l 1200 -t "$LONG"
bg ip netns exec "$P-cust" iperf3 -c "$LAB_UP4" -B "$LAB_A4" -p 5202 -t "$LONG"
# B: pings (IPv4 and IPv6) and a 15 Mbit/s TCP upload, inside its 20 Mbit/s plan
bg ip netns exec "$P-cust" ping -q -i 0.2 -I "$LAB_B4" "$LAB_UP4"
bg ip netns exec "$P-cust" ping -q -i 0.5 -I "$LAB_B6" "$LAB_UP6"
bg ip netns exec "$P-cust" iperf3 -c "$LAB_UP4" -B "$LAB_B4" -p 5203 -b 15M -t "$LONG"
# C: a ping, and spoofed packets: 300/s from random foreign IPv4 sources, 100/s IPv6,
# 20/s from a bogon source
bg ip netns exec "$P-spf" ping -q -i 0.5 "$LAB_UP4"
spoof() {
	lab_send_bg "$P" "$P-spf" "$P-sa" 1000000000 "$@" || die "cannot start the spoofer"
	PIDS+=("$LAB_BG_PID")
}
spoof 300 rand4 "$LAB_UP4"
spoof 100 rand6 "$LAB_UP6"
spoof 20 127.0.0.1 "$LAB_UP4"

# The live view: one `customer list` and one `status` a second; rates are the difference
# of successive samples over the time between them.
cat >"$TMP/view.py" <<-'EOF'
	import json, subprocess, sys, time
	ns, tg, cfg, duration, mode, lab = sys.argv[1:]
	duration = int(duration)
	tty = sys.stdout.isatty()
	base = ["nsenter", "--net=/run/netns/" + ns, "--", tg, "-j", "-c", cfg]

	def run(*args):
	    r = subprocess.run(base + list(args), capture_output=True, text=True)
	    if r.returncode:
	        raise RuntimeError("tollgate %s: %s" % (" ".join(args), r.stderr.strip()))
	    return json.loads(r.stdout)

	def customers():
	    try:
	        return run("customer", "list")["customers"]
	    except RuntimeError:  # no `customer list`: one `customer show` each
	        return [run("customer", "show", i)["customer"] for i in ("cust-a", "cust-b", "cust-c", "cust-v")]

	def mbit(b):
	    return "%7.2f" % (b * 8 / 1e6)

	def drops(d):
	    return {k: v for k, v in d.items() if isinstance(v, dict) and v.get("packets")}

	def main():
	    prev, t_prev, start = None, None, time.monotonic()
	    while True:
	        now = time.monotonic()
	        try:
	            cs, st = customers(), run("status")
	        except (RuntimeError, ValueError) as e:
	            print("view: %s" % e, file=sys.stderr)
	            sys.exit(1)
	        out = []
	        el = now - start
	        out.append("Tollgate demo: lab %s, %s XDP, %ds%s" % (lab, mode, el,
	                   "   (Ctrl-C to stop)" if not duration else "   (stops after %ds)" % duration))
	        out.append("%-7s %-9s %-5s %11s %10s %10s %9s  %s" % ("CUSTOMER", "STATE", "DIR", "PASSED pkt", "Mbit/s", "limit", "drop pps", "DROPPED pkt by reason"))
	        for c in cs:
	            for d in ("upload", "download"):
	                x = c[d]
	                key = (c["id"], d)
	                rate, dpps = "      -", "      -"
	                dtot = sum(v["packets"] for v in drops(x["dropped"]).values())
	                if prev and key in prev:
	                    dt = now - t_prev
	                    rate = mbit((x["passed"]["bytes"] - prev[key][0]) / dt)
	                    dpps = "%9.0f" % ((dtot - prev[key][1]) / dt)
	                lim = x.get("limit", {}).get("rate_bps")
	                lim = "%7.1f" % (lim / 1e6) if lim else "   none"
	                why = " ".join("%s=%d" % (k, v["packets"]) for k, v in sorted(drops(x["dropped"]).items())) or "-"
	                out.append("%-7s %-9s %-5s %11d %10s %10s %9s  %s" % (
	                    c["id"] if d == "upload" else "", c["state"] if d == "upload" else "",
	                    "up" if d == "upload" else "down", x["passed"]["packets"], rate, lim, dpps, why))
	        out.append("")
	        out.append("%-12s %-9s %12s %14s  %s" % ("INTERFACE", "ROLE", "PASSED pkt", "UNCLASSIFIED", "DROPPED pkt by reason"))
	        for i in sorted(st["interfaces"], key=lambda i: i["name"]):
	            k = i["counters"]
	            why = " ".join("%s=%d" % (r, v["packets"]) for r, v in sorted(drops(k["dropped"]).items())) or "-"
	            out.append("%-12s %-9s %12d %14d  %s" % (i["name"], i["role"], k["passed"]["packets"], k["unclassified"]["packets"], why))
	        try:
	            evs = run("events", "--limit", "4")["events"]
	        except RuntimeError:
	            evs = []
	        out.append("")
	        out.append("ENFORCEMENT (tollgated, last 4 events of the audit log)")
	        for e in evs:
	            out.append("  %s %-7s %-9s by %-15s %s%s" % (e["time"][11:19], e["customer"], e["action"], e["actor"],
	                       e["reason"], "  until " + e["until"][11:19] if e.get("until") else ""))
	        if not evs:
	            out.append("  (none yet: C is suspended once it has spoofed > 200/s for 8 s)")
	        if tty:
	            sys.stdout.write("\033[H\033[2J")
	        else:
	            out.insert(0, "-" * 78)
	        print("\n".join(out), flush=True)
	        prev = {(c["id"], d): (c[d]["passed"]["bytes"], sum(v["packets"] for v in drops(c[d]["dropped"]).values()))
	                for c in cs for d in ("upload", "download")}
	        t_prev = now
	        if duration and time.monotonic() - start >= duration:
	            break
	        time.sleep(max(0.0, 1.0 - (time.monotonic() - now)))

	main()
EOF

sleep 1
echo "demo: live counters (Mbit/s and drop pps from successive one-second samples)"
# The view runs in the background and the script waits for it: `wait` returns as soon as a
# signal arrives (Ctrl-C, kill), so the trap tears down at once; a foreground child would
# make bash hold its traps until the child exits.
"$LAB_PY" "$TMP/view.py" "$P-rtr" "$LAB_TOLLGATE" "$CFG" "$DURATION" "$MODE" "$P" &
VIEW=$!
PIDS+=("$VIEW")
wait "$VIEW"
rc=$?
[ "$rc" -eq 0 ] || die "the live view failed (exit $rc)"
exit
}
