#!/usr/bin/env bash
#
# test_cluster_scale.sh - a cluster of 20 lightweight nodes on one machine (issue 20, item
# 9; docs/cluster.md, "Scale"): one etcd member and SCALE_NODES (20) tollgated nodes on the
# loopback of one namespace of its own, each with a private state.db, pin directory,
# control socket and metrics port, no interface attached, and a tiny customer set (the same
# SCALE_ACTIONS (100) customers, one /32 each). Node n01 suspends every customer, one
# `tollgate suspend` after the other (SCALE_OPERATORS (1) at a time); each other node logs
# when it has applied each one ("applied N ms after it was decided": its data plane record
# written; one clock). 80-130 s on 2 busy CPUs, most of it the 20 nodes starting.
# Checks: every node has every suspension (its log and its `customer list`, one event id
# on every node), the propagation p99 is within 1 s (printed: p50, p99, max over (nodes -
# 1) x actions), and the etcd load of the suspensions, scaled to 1000: keys written under
# shared/, their bytes, watch events delivered (etcd_debugging_mvcc_events_total), reads;
# and the registrations' writes per second of the idle cluster.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N
# failed". Needs root and etcd (SKIP, 77, without). The namespace tgscale<PID>, the pins
# /sys/fs/bpf/tg-scale-<PID>/ and every process started here are removed on exit.
# shellcheck disable=SC2317  # check() calls the functions indirectly
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (namespaces, BPF pins)"
	exit 77
fi
if ! command -v etcd >/dev/null; then
	echo "SKIP: etcd is needed (apt-get install etcd-server)"
	exit 77
fi

suite_init scale
NODES=${SCALE_NODES:-20}
ACTIONS=${SCALE_ACTIONS:-100}
OPERATORS=${SCALE_OPERATORS:-1}
NS=tgscale$$
NETNS+=("$NS")
PY=/usr/bin/python3
BASE=$((30000 + ($$ % 3000) * 2)) # etcd client BASE, peer BASE+1
MBASE=$((40000 + ($$ % 1000) * 24)) # metrics ports MBASE+1..
EP=http://127.0.0.1:$BASE
PREFIX=/tgscale-$$/

node_name() { printf 'n%02d' "$1"; }
in_ns() { nsenter --net="/run/netns/$NS" -- "$@"; }
tgn() { # I ARGS...: the CLI of node I
	local n
	n=$(node_name "$1")
	shift
	TOLLGATE_PIN_DIR=$PIN/$n TOLLGATE_SOCKET=$TMP/$n/ctl.sock in_ns "$TG" -c "$TMP/$n/tollgate.yaml" "$@"
}
etcd_metric() { # NAME: its value now
	in_ns curl -s "$EP/metrics" | awk -v m="$1" '$1 == m { printf "%d\n", $2 }'
}

setup() {
	ip netns add "$NS" && ip -n "$NS" link set lo up && mkdir -p "$PIN"
}
check "namespace $NS" setup

nsenter --net="/run/netns/$NS" -- etcd --name s --data-dir "$TMP/etcd" --listen-client-urls "$EP" --advertise-client-urls "$EP" \
	--listen-peer-urls "http://127.0.0.1:$((BASE + 1))" \
	--initial-advertise-peer-urls "http://127.0.0.1:$((BASE + 1))" \
	--initial-cluster "s=http://127.0.0.1:$((BASE + 1))" --log-level warn >"$TMP/etcd.log" 2>&1 &
BG_PIDS+=($!)
etcd_up() {
	for _ in $(seq 100); do
		[ -n "$(etcd_metric etcd_debugging_mvcc_put_total)" ] && return 0
		sleep 0.1
	done
	tail -n 5 "$TMP/etcd.log"
	return 1
}
check "etcd on the namespace's loopback" etcd_up

config() { # I
	local n d i
	n=$(node_name "$1")
	d=$TMP/$n
	mkdir -p "$d"
	cat >"$d/tollgate.yaml" <<-EOF
		interfaces: []
		plans:
		  p: { upload: { rate: 100mbit, burst: 1m }, download: { rate: 100mbit, burst: 1m } }
		customers: customers.csv
		state: state.db
		capacity: { max_customers: 1024, max_prefixes: 1024 }
		metrics: { listen: "127.0.0.1:$((MBASE + $1))", per_customer: off }
		cluster:
		  endpoints: ["$EP"]
		  node: $n
		  prefix: $PREFIX
		  timeout: 2s
		  heartbeat: 2s
		  start_timeout: 10s
	EOF
	{
		echo "id,name,plan,prefixes,interface,vlan"
		for i in $(seq "$ACTIONS"); do
			echo "c$i,Customer $i,p,10.$((i / 250)).$((i % 250)).1/32,,"
		done
	} >"$d/customers.csv"
}
T0=$(date +%s%N)
for i in $(seq "$NODES"); do
	n=$(node_name "$i")
	config "$i"
	# nsenter itself, not in_ns: a function run in the background is a subshell, whose PID
	# the cleanup would end while tollgated went on
	TOLLGATE_PIN_DIR=$PIN/$n TOLLGATE_SOCKET=$TMP/$n/ctl.sock nsenter --net="/run/netns/$NS" -- \
		"$TGD" -c "$TMP/$n/tollgate.yaml" >"$TMP/$n.log" 2>&1 &
	BG_PIDS+=($!)
done
all_up() {
	local i n up
	for _ in $(seq 600); do
		up=0
		for i in $(seq "$NODES"); do
			grep -q ' applied: ' "$TMP/$(node_name "$i").log" && up=$((up + 1))
		done
		[ "$up" = "$NODES" ] && break
		sleep 0.1
	done
	[ "$up" = "$NODES" ] || {
		for i in $(seq "$NODES"); do
			n=$(node_name "$i")
			grep -q ' applied: ' "$TMP/$n.log" || { echo "$n:"; tail -n 3 "$TMP/$n.log"; }
		done
		return 1
	}
	echo "  $NODES nodes up in $((($(date +%s%N) - T0) / 1000000)) ms"
}
check "$NODES tollgated nodes start (cluster state read)" all_up

# the registrations alone: puts and bytes per second of an idle cluster
idle() {
	local p0 b0 p1 b1 t=4
	sleep 2.5 # every node has registered
	p0=$(etcd_metric etcd_debugging_mvcc_put_total)
	b0=$(etcd_metric etcd_debugging_mvcc_total_put_size_in_bytes)
	sleep "$t"
	p1=$(etcd_metric etcd_debugging_mvcc_put_total)
	b1=$(etcd_metric etcd_debugging_mvcc_total_put_size_in_bytes)
	echo "$p0 $p1 $b0 $b1 $t" >"$TMP/idle"
	"$PY" -c 'import sys
p0, p1, b0, b1, t = (int(x) for x in open(sys.argv[1]).read().split())
print("  idle cluster of %s nodes (heartbeat 2s): %.1f puts/s, %.0f bytes/s (registrations)" % (sys.argv[2], (p1 - p0) / t, (b1 - b0) / t))' "$TMP/idle" "$NODES"
}
check "registrations of the idle cluster" idle

M0="$(etcd_metric etcd_debugging_mvcc_events_total) $(etcd_metric etcd_debugging_mvcc_range_total)"
S0=$(date +%s%N)
suspend_one() { # I: one operator's `tollgate suspend` on n01
	tgn 1 -j suspend "c$1" --reason "scale $1" >/dev/null || { echo "suspend c$1 on n01 failed"; return 1; }
}
export -f suspend_one tgn in_ns node_name
export PIN TMP NS TG
suspend_all() { # SCALE_OPERATORS at once, each waiting for its command
	seq "$ACTIONS" | xargs -P "$OPERATORS" -I{} bash -c 'suspend_one {}' || return 1
	echo "  $ACTIONS suspensions on n01 ($OPERATORS at a time) in $((($(date +%s%N) - S0) / 1000000)) ms"
}
check "$ACTIONS suspensions on n01" suspend_all
converged() { # every other node logged every suspension as applied
	local i n c missing
	for _ in $(seq 300); do
		missing=0
		for i in $(seq 2 "$NODES"); do
			n=$(node_name "$i")
			c=$(grep -c 'cluster: suspend c[0-9]* by .* on n01, applied ' "$TMP/$n.log")
			[ "$c" -ge "$ACTIONS" ] || missing=$((missing + 1))
		done
		[ "$missing" = 0 ] && break
		sleep 0.1
	done
	[ "$missing" = 0 ] || { echo "$missing nodes have not applied every suspension"; return 1; }
	echo "  converged $((($(date +%s%N) - S0) / 1000000)) ms after the first suspension"
}
check "every node applied every suspension" converged
M1="$(etcd_metric etcd_debugging_mvcc_events_total) $(etcd_metric etcd_debugging_mvcc_range_total)"

in_force() { # each node's data plane: every customer suspended
	local i n c
	for i in $(seq "$NODES"); do
		n=$(node_name "$i")
		c=$(tgn "$i" -j customer list | "$PY" -c 'import json, sys
print(sum(1 for c in json.load(sys.stdin)["customers"] if c.get("state") == "suspended"))') || return 1
		[ "$c" = "$ACTIONS" ] || { echo "$n: $c customers suspended, want $ACTIONS"; return 1; }
	done
}
check "every node's data plane record: all $ACTIONS customers suspended" in_force

one_id() { # c1's suspension: one event id on every node, n01's
	local i ids
	ids=$(for i in $(seq "$NODES"); do
		tgn "$i" -j events --customer c1 --limit 1 | "$PY" -c 'import json, sys
e = json.load(sys.stdin)["events"][-1]
print(e["id"], e["origin"])'
	done | sort | uniq -c)
	if [ "$(wc -l <<<"$ids")" != 1 ] || [ "$(awk '{print $1, $3}' <<<"$ids")" != "$NODES n01" ]; then
		echo "c1's last event on the nodes: $ids"
		return 1
	fi
}
check "c1's suspension has n01's event id on all $NODES nodes" one_id

latency() {
	local i n
	for i in $(seq 2 "$NODES"); do
		n=$(node_name "$i")
		grep -o 'cluster: suspend c[0-9]* by .* on n01, applied [0-9]* ms' "$TMP/$n.log" |
			awk '{print $(NF - 1)}'
	done >"$TMP/lat"
	"$PY" -c 'import sys
v = sorted(int(x) for x in open(sys.argv[1]))
n, a = int(sys.argv[2]), int(sys.argv[3])
if len(v) != (n - 1) * a: print("%d figures, want %d" % (len(v), (n - 1) * a)); sys.exit(1)
p = lambda q: v[min(len(v) - 1, int(q * len(v)))]
print("  propagation n01 -> %d nodes (n01 records .. the node has written its data plane), %d suspensions, %d figures: p50 %d ms, p99 %d ms, max %d ms" % (n - 1, a, len(v), p(0.5), p(0.99), v[-1]))
sys.exit(0 if p(0.99) <= 1000 else 1)' "$TMP/lat" "$NODES" "$ACTIONS"
}
check "propagation to every node: p99 <= 1 s" latency

load() { # etcd's work for the suspensions, per 1000
	in_ns etcdctl --endpoints "$EP" get --prefix "${PREFIX}shared/" -w json >"$TMP/shared.json" || return 1
	"$PY" -c 'import base64, json, sys
kvs = json.load(open(sys.argv[1])).get("kvs", [])
m0 = [int(x) for x in sys.argv[2].split()]
m1 = [int(x) for x in sys.argv[3].split()]
n, a = int(sys.argv[4]), int(sys.argv[5])
keys = {"state": 0, "events": 0}
size = {"state": 0, "events": 0}
for kv in kvs:
    k = base64.b64decode(kv["key"]).decode()
    part = k.split("/shared/", 1)[1].split("/", 1)[0]
    keys[part] += int(kv.get("version", 1))
    size[part] += len(base64.b64decode(kv.get("value", ""))) + len(k)
writes = keys["state"] + keys["events"]
k = 1000.0 / a
print("  per 1000 suspensions: %d keys written under shared/ (%d state/, %d events/), %.0f KB of keys and values (mean %d B a key), %d watch events delivered (%d watchers: %.1f a write), %d reads (range)" % (
    writes * k, keys["state"] * k, keys["events"] * k, (size["state"] + size["events"]) * k / 1024,
    (size["state"] + size["events"]) / max(writes, 1),
    (m1[0] - m0[0]) * k, n, (m1[0] - m0[0]) / max(writes, 1), (m1[1] - m0[1]) * k))
ok = writes == 2 * a and m1[0] - m0[0] >= writes * n
sys.exit(0 if ok else 1)' "$TMP/shared.json" "$M0" "$M1" "$NODES" "$ACTIONS"
}
check "etcd load per 1000 suspensions (2 keys each, one watch event a node a key)" load

finish
