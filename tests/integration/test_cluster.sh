#!/usr/bin/env bash
#
# test_cluster.sh - a Tollgate cluster on etcd (docs/cluster.md): three etcd members (TLS
# with client certificates, one namespace, ports of their own), two router namespaces each
# running tollgated, and one customer (cust-a) behind both routers. Checks: an action on
# node A is in force on node B (the latency of 20 actions, p50/p99); B's audit log shows
# A's actions with their origin, under A's event id (one id on every node); both nodes
# register (tollgate cluster status, drift); a suspension survives the restart of every
# node, also of one started afresh (no state.db, no pins: it takes the cluster's state
# before it is ready); an etcd member killed, then
# the leader killed (each restarted after); node A cut off from etcd (a blackhole route in
# its namespace) while its rule suspends a spoofer, then healed: B converges, nothing is
# lost, the webhooks get the suspension once. A second node given A's name (its own state
# database) refuses to start while A is up; B killed and started again without its state
# database waits for its old registration's lease, then starts.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N failed"
# and the exit status is non-zero on any failure. Needs root, etcd and openssl. Namespaces
# tcl<PID>-*, pins /sys/fs/bpf/tg-cl-<PID>-*, temporary files and every process started
# here are removed by the trap, even when a check fails.
# shellcheck disable=SC2317  # the trap and check() call functions indirectly
set -u

{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

if ! command -v etcd >/dev/null || ! command -v openssl >/dev/null; then
	echo "SKIP: etcd and openssl are needed (apt-get install etcd-server openssl)"
	exit 77
fi

P=tcl$$
TMP=$(mktemp -d "/tmp/tg-cl-$$.XXXXXX")
TG=$ROOT/build/tollgate
TGD=$ROOT/build/tollgated
PY=/usr/bin/python3
NODES="a b"
BASE=$((20000 + ($$ % 4000) * 5)) # etcd client ports BASE..BASE+2, peers BASE+10..
declare -A HPID

cleanup() {
	local n
	for n in $NODES; do stop_node "$n" KILL; done
	for n in 0 1 2; do stop_etcd "$n"; done
	for n in "${HPID[@]}"; do kill "$n" 2>/dev/null; done
	for n in etcd a b cust; do ip netns del "$P-$n" 2>/dev/null; done
	for n in $NODES; do rm -rf "/sys/fs/bpf/tg-cl-$$-$n"; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

jq_() { "$PY" -c 'import json,sys
j = json.load(sys.stdin)
v = eval(sys.argv[1], {"j": j})
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1"; }

# ---- etcd: three members in $P-etcd, TLS on the client side ----
certs() {
	local d=$TMP/pki san="IP:10.99.0.1,IP:127.0.0.1"
	mkdir -p "$d" && cd "$d" || return 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
		-out ca.pem -days 2 -subj /CN=tg-lab-ca 2>/dev/null &&
		for who in server client; do
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout "$who.key" -out "$who.csr" -subj "/CN=tg-$who" 2>/dev/null &&
				printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
					"$san" >"$who.ext" &&
				openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
					-out "$who.pem" -days 2 -extfile "$who.ext" 2>/dev/null || return 1
		done
	chmod 0644 ./*.pem ./*.key
	cd - >/dev/null || return 1
}
CLUSTER_PEERS=""
for i in 0 1 2; do
	CLUSTER_PEERS="$CLUSTER_PEERS${CLUSTER_PEERS:+,}m$i=http://127.0.0.1:$((BASE + 10 + i))"
done
start_etcd() { # N
	local i=$1 pki=$TMP/pki
	ip netns exec "$P-etcd" etcd --name "m$i" --data-dir "$TMP/etcd$i" \
		--listen-client-urls "https://0.0.0.0:$((BASE + i))" \
		--advertise-client-urls "https://10.99.0.1:$((BASE + i))" \
		--listen-peer-urls "http://127.0.0.1:$((BASE + 10 + i))" \
		--initial-advertise-peer-urls "http://127.0.0.1:$((BASE + 10 + i))" \
		--initial-cluster "$CLUSTER_PEERS" --initial-cluster-token "$P" \
		--cert-file "$pki/server.pem" --key-file "$pki/server.key" \
		--trusted-ca-file "$pki/ca.pem" --client-cert-auth \
		--heartbeat-interval 50 --election-timeout 500 \
		--log-level warn >>"$TMP/etcd$i.log" 2>&1 &
	echo $! >"$TMP/etcd$i.pid" # a file: a check's subshell restarts members too
	disown $! 2>/dev/null
}
stop_etcd() { # N
	local pid
	pid=$(cat "$TMP/etcd$1.pid" 2>/dev/null)
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	rm -f "$TMP/etcd$1.pid"
}
ctl() { # etcdctl against every member
	ip netns exec "$P-etcd" etcdctl --endpoints "https://127.0.0.1:$BASE,https://127.0.0.1:$((BASE + 1)),https://127.0.0.1:$((BASE + 2))" \
		--cacert "$TMP/pki/ca.pem" --cert "$TMP/pki/client.pem" --key "$TMP/pki/client.key" \
		--dial-timeout 1s --command-timeout 2s "$@"
}
etcd_healthy() {
	for _ in $(seq 100); do
		ctl endpoint health >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	ctl endpoint health
	return 1
}
leader() { # the member index of the leader
	ctl endpoint status -w json 2>/dev/null | jq_ "[i for i, e in enumerate(sorted(j, key=lambda e: e['Endpoint'])) if e['Status']['header']['member_id'] == e['Status']['leader']][0]"
}

# ---- the lab: routers a and b, one customer behind both ----
# cust --cA-- a:c0 (198.51.100.1/28)    cust --cB-- b:c0 (198.51.100.17/28)
# a:e0 10.99.1.2 -- etcd 10.99.1.1      b:e0 10.99.2.2 -- etcd 10.99.2.1
# etcd listens on 10.99.0.1 (its lo), routed from both: the same endpoints on every node
lab() {
	local n k
	for n in etcd a b cust; do
		ip netns add "$P-$n" || return 1
		ip -n "$P-$n" link set lo up
	done
	ip netns exec "$P-cust" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	k=1
	for n in a b; do
		ip netns exec "$P-$n" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
		ip link add "c$n" netns "$P-cust" type veth peer name "$P-c0" netns "$P-$n" || return 1
		ip link add e0 netns "$P-$n" type veth peer name "r$n" netns "$P-etcd" || return 1
		ip -n "$P-$n" addr add "10.99.$k.2/30" dev e0
		ip -n "$P-etcd" addr add "10.99.$k.1/30" dev "r$n"
		ip -n "$P-$n" link set e0 up
		ip -n "$P-etcd" link set "r$n" up
		ip -n "$P-$n" route add 10.99.0.1/32 via "10.99.$k.1"
		ip -n "$P-$n" link set "$P-c0" up
		ip -n "$P-cust" link set "c$n" up
		nsenter --net="/run/netns/$P-$n" -- ethtool -K "$P-c0" rxvlan off rx-vlan-stag-hw-parse off >/dev/null 2>&1
		k=$((k + 1))
	done
	ip -n "$P-etcd" addr add 10.99.0.1/32 dev lo
	ip -n "$P-a" addr add 198.51.100.1/28 dev "$P-c0"
	ip -n "$P-b" addr add 198.51.100.17/28 dev "$P-c0"
	ip -n "$P-cust" addr add 198.51.100.10/28 dev ca
	ip -n "$P-cust" addr add 198.51.100.26/28 dev cb
	ip -n "$P-cust" addr add 198.51.100.60/32 dev ca # a source outside cust-a's prefix: spoofed
}

HOOK_PORT=$((BASE + 20))
HOOK_PY='
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        with open(sys.argv[2], "a") as f:
            f.write(self.rfile.read(n).decode() + "\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'
config() { # NODE: tollgate.yaml and customers.csv, the same bytes on every node
	local d=$TMP/$1 eps="" i
	for i in 0 1 2; do eps="$eps${eps:+, }\"https://10.99.0.1:$((BASE + i))\""; done
	mkdir -p "$d"
	cat >"$d/tollgate.yaml" <<-EOF
		interfaces:
		  - { name: $P-c0, role: customer, mode: native }
		plans:
		  p: { upload: { rate: 100mbit, burst: 1m }, download: { rate: 100mbit, burst: 1m } }
		customers: customers.csv
		state: state.db
		enforcement:
		  interval: 1s
		  rules:
		    - { name: spoofing, when: "spoof_pps > 50 for 2s", action: suspend, reason: "source address spoofing (AUP 3.1)" }
		notify: { webhook: "http://127.0.0.1:$HOOK_PORT/hook", timeout: 1s, retry: { min: 200ms, max: 1s } }
		cluster:
		  endpoints: [$eps]
		  prefix: /tollgate-$P/
		  ca: $TMP/pki/ca.pem
		  cert: $TMP/pki/client.pem
		  key: $TMP/pki/client.key
		  timeout: 1s
		  heartbeat: 1s
		  start_timeout: 5s
	EOF
	cat >"$d/customers.csv" <<-EOF
		id,name,plan,prefixes,interface,vlan
		cust-a,Alice (two routers),p,198.51.100.0/27,$P-c0,
	EOF
}

tg() { # NODE ARGS...: the CLI of a node
	local n=$1
	shift
	TOLLGATE_NODE=$n TOLLGATE_PIN_DIR=/sys/fs/bpf/tg-cl-$$-$n TOLLGATE_SOCKET=$TMP/$n/tollgate.sock \
		nsenter --net="/run/netns/$P-$n" -- "$TG" -c "$TMP/$n/tollgate.yaml" "$@"
}
# the PIDs in files: checks run in subshells, where an array set would be lost
start_node() { # NODE
	local n=$1
	TOLLGATE_NODE=$n TOLLGATE_PIN_DIR=/sys/fs/bpf/tg-cl-$$-$n TOLLGATE_SOCKET=$TMP/$n/tollgate.sock \
		nsenter --net="/run/netns/$P-$n" -- "$TGD" -c "$TMP/$n/tollgate.yaml" >>"$TMP/$n.log" 2>&1 &
	echo $! >"$TMP/$n.pid"
	disown $! 2>/dev/null # no "Killed" line from the shell
}
pid_of() { cat "$TMP/$1.pid" 2>/dev/null; }
stop_node() { # NODE SIGNAL
	local pid
	pid=$(pid_of "$1")
	[ -n "$pid" ] || return 0
	kill "-$2" "$pid" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	rm -f "$TMP/$1.pid"
}
node_up() { # NODE: until it logs its configuration applied (READY follows at once)
	local n=$1 c
	c=$(grep -c ' applied: ' "$TMP/$n.log")
	for _ in $(seq 150); do
		[ "$(grep -c ' applied: ' "$TMP/$n.log")" -gt "${2:-0}" ] && return 0
		kill -0 "$(pid_of "$n")" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$TMP/$n.log"
	: "$c"
	return 1
}
state_of() { # NODE: cust-a's state in the node's data plane record
	tg "$1" -j customer show cust-a 2>/dev/null | jq_ "j['customer']['state']"
}
wait_state() { # NODE STATE TENTHS
	for _ in $(seq "$3"); do
		[ "$(state_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "$1: cust-a is $(state_of "$1"), want $2"
	return 1
}
# ping_via NODE: the customer pings its router over that link (XDP on the router's side)
ping_via() {
	local src=198.51.100.10 dst=198.51.100.1
	[ "$1" = b ] && src=198.51.100.26 dst=198.51.100.17
	ip netns exec "$P-cust" ping -n -q -c 3 -i 0.1 -W 1 -I "$src" "$dst" >/dev/null 2>&1
}
blocked_via() { ! ping_via "$1"; }

check "certificates (CA, server, client)" certs
check "lab: etcd, routers a and b, the customer behind both" lab
for i in 0 1 2; do start_etcd $i; done
check "three etcd members with TLS and client certificates" etcd_healthy
for n in a b; do
	config "$n"
	ip netns exec "$P-$n" "$PY" -c "$HOOK_PY" "$HOOK_PORT" "$TMP/hook-$n.log" &
	HPID[$n]=$!
	start_node "$n"
done
check "node a starts (cluster state read, READY)" node_up a
check "node b starts" node_up b
check "before: the customer passes both routers" eval "ping_via a && ping_via b"
same_config() { cmp -s "$TMP/a/tollgate.yaml" "$TMP/b/tollgate.yaml" || diff "$TMP/a/tollgate.yaml" "$TMP/b/tollgate.yaml" | head -n 3; }

# ---- an action on a, in force on b ----
latency() {
	local i want cmd all
	for i in $(seq 20); do
		if [ $((i % 2)) = 1 ]; then cmd=suspend want=suspended; else cmd=unsuspend want=active; fi
		tg a -j "$cmd" cust-a --reason "propagation test $i" >/dev/null || { echo "$cmd on a failed"; return 1; }
		wait_state b "$want" 30 || { echo "action $i ($cmd) not on b"; return 1; }
	done
	# b's log: "applied N ms after it was decided" (a's record time to b's data plane
	# write; one clock in the lab)
	all=$(grep -o 'on a, applied [0-9]* ms after' "$TMP/b.log" | tail -n 20 | awk '{print $4}')
	# shellcheck disable=SC2086  # one argument per figure
	"$PY" -c 'import sys
v = sorted(int(x) for x in sys.argv[1:])
if len(v) < 20: print("only %d applied on b" % len(v)); sys.exit(1)
p = lambda q: v[min(len(v) - 1, int(round(q * (len(v) - 1))))]
print("  propagation a -> b (a records the action .. b has written its data plane), %d actions: p50 %d ms, p99 %d ms, max %d ms" % (len(v), p(0.5), p(0.99), v[-1]))
sys.exit(0 if p(0.99) <= 1000 else 1)' $all # one argument per figure
}
check "an action on a is in force on b: 20 actions, p99 <= 1 s" latency
suspend_a() { tg a -j suspend cust-a --reason "AUP 3.1 ticket 7" >/dev/null; }
check "suspend on a" suspend_a
check "... in force on b's data plane" wait_state b suspended 20
check "... the customer is dropped by b's XDP" blocked_via b
check "... and by a's" blocked_via a
origin_on_b() {
	local out
	out=$(tg b -j events --customer cust-a --limit 1) || return 1
	[ "$(jq_ "j['events'][-1]['origin'] + ' ' + j['events'][-1]['actor']" <<<"$out")" = "a user:root (uid 0)" ] ||
		{ echo "b's last event: $out"; return 1; }
}
check "b's audit log: a's action with its origin and actor" origin_on_b
one_id() { # one action, one id: a's and b's audit logs show it under a's id
	local ia ib
	ia=$(tg a -j events --customer cust-a --limit 1 | jq_ "j['events'][-1]['id'] + ' ' + j['events'][-1]['reason'] + ' ' + str(j['events'][-1].get('uid'))") || return 1
	ib=$(tg b -j events --customer cust-a --limit 1 | jq_ "j['events'][-1]['id'] + ' ' + j['events'][-1]['reason'] + ' ' + str(j['events'][-1].get('uid'))") || return 1
	if [ "$ia" != "$ib" ] || [ "${ia#* }" != "AUP 3.1 ticket 7 None" ]; then
		echo "a: $ia; b: $ib"
		return 1
	fi
	echo "  a and b: $ia"
}
check "one action, one id: a's and b's events show a's id (no separate uid)" one_id
legacy() { # a record of an older version (no id; uid "NODE:SEQ"), put twice: recorded once, one id on a and b
	local v ia ib
	v="{\"id\":null,\"seq\":7,\"customer\":\"cust-a\",\"action\":\"notify\",\"actor\":\"rule:old\",\"rule\":null,\"reason\":\"older record $$\",\"monitor\":false,\"until\":null,\"evidence\":{},\"origin\":\"z\",\"uid\":\"z:7\",\"ts_ms\":$(date +%s%3N),\"until_ms\":0}"
	ctl put "/tollgate-$P/shared/events/z/00000000000000000007" "$v" >/dev/null || return 1
	ctl put "/tollgate-$P/shared/events/z/00000000000000000007" "$v" >/dev/null || return 1
	for _ in $(seq 50); do
		ia=$(tg a -j events --customer cust-a | jq_ "[e['id'] for e in j['events'] if e['reason'] == 'older record $$']")
		ib=$(tg b -j events --customer cust-a | jq_ "[e['id'] for e in j['events'] if e['reason'] == 'older record $$']")
		[ "$ia" != "[]" ] && [ "$ib" != "[]" ] && break
		sleep 0.1
	done
	sleep 0.5 # the second put, if it were recorded again
	ia=$(tg a -j events --customer cust-a | jq_ "[e['id'] for e in j['events'] if e['reason'] == 'older record $$']")
	ib=$(tg b -j events --customer cust-a | jq_ "[e['id'] for e in j['events'] if e['reason'] == 'older record $$']")
	if [ "$ia" != "$ib" ] || [ "$(jq_ "len(j)" <<<"$ia")" != 1 ]; then
		echo "a: $ia; b: $ib"
		return 1
	fi
}
check "an older version's record (no id, a uid) is read: once, under one id on a and b" legacy
status_ok() {
	local out
	out=$(tg a -j cluster status) || return 1
	[ "$(jq_ "','.join(sorted(n['node'] + ':' + n['health'] + ':' + str(n['drift']) + ':' + str(n['interfaces'][0]['attached']) for n in j['nodes']))" <<<"$out")" = "a:up:False:True,b:up:False:True" ] ||
		{ echo "cluster status: $out"; return 1; }
}
check "cluster status: a and b up, attached, no drift (the same configuration)" eval "same_config && status_ok"
drift() {
	local out
	echo 'cust-z,Zed,p,198.51.100.32/28,,' >>"$TMP/b/customers.csv"
	tg b reload >/dev/null || return 1
	sleep 2.5 # a heartbeat
	out=$(tg a -j cluster status) || return 1
	[ "$(jq_ "','.join(sorted(n['node'] + ':' + str(n['drift']) + ':' + str(n['customers']) for n in j['nodes']))" <<<"$out")" = "a:True:1,b:False:2" ] ||
		{ echo "cluster status: $out"; return 1; }
	tg a cluster status | sed 's/^/  /'
	sed -i '/^cust-z/d' "$TMP/b/customers.csv"
	tg b reload >/dev/null
}
check "cluster status: a node on an older configuration shows drift" drift

# ---- every node restarted; b from nothing ----
restart_all() {
	stop_node a TERM
	stop_node b TERM
	rm -f "$TMP/b/state.db"*
	TOLLGATE_PIN_DIR=/sys/fs/bpf/tg-cl-$$-b nsenter --net="/run/netns/$P-b" -- "$TG" -c "$TMP/b/tollgate.yaml" detach "$P-c0" >/dev/null 2>&1
	start_node a
	start_node b
}
restart_all
check "every node restarted (b without state.db or pins)" eval "node_up a 1 && node_up b 1"
check "after the restart: suspended on a" wait_state a suspended 1
check "after the restart: suspended on b, as soon as it is up" wait_state b suspended 1
check "after the restart: b's XDP drops the customer" blocked_via b
unsuspend_b() { tg b -j unsuspend cust-a --reason "paid" >/dev/null; }
check "unsuspend on b" unsuspend_b
check "... in force on a" wait_state a active 20
check "... the customer passes a again" ping_via a

# ---- etcd members lost ----
member_lost() {
	local l f
	l=$(leader) || return 1
	f=$(((l + 1) % 3))
	stop_etcd "$f"
	tg a -j suspend cust-a --reason "member $f down" >/dev/null || return 1
	wait_state b suspended 30 || return 1
	start_etcd "$f"
	etcd_healthy
}
check "an etcd member killed: an action on a still reaches b" member_lost
leader_lost() {
	local l
	l=$(leader) || { echo "no leader"; return 1; }
	stop_etcd "$l"
	echo "  killed the leader m$l"
	tg b -j unsuspend cust-a --reason "leader down" >/dev/null || return 1
	wait_state a active 50 || return 1
	start_etcd "$l"
	etcd_healthy
}
check "the etcd leader killed: an action on b reaches a after the election" leader_lost

# ---- a partitioned from etcd while its rule suspends a spoofer ----
partition() { ip -n "$P-a" route replace blackhole 10.99.0.1/32; }
heal() { ip -n "$P-a" route replace 10.99.0.1/32 via 10.99.1.1; }
check "a cut off from etcd (blackhole route in its namespace)" partition
spoof() { ip netns exec "$P-cust" ping -n -q -c 1200 -i 0.002 -W 1 -I 198.51.100.60 198.51.100.1 >/dev/null 2>&1; }
spoof &
SPOOF=$!
check "a's rule suspends the spoofer while a is cut off" wait_state a suspended 80
wait "$SPOOF" 2>/dev/null
pending_on_a() {
	local p
	for _ in $(seq 50); do
		p=$(tg a -j status 2>/dev/null | jq_ "j.get('daemon', {}).get('cluster', {}).get('pending', -1)" 2>/dev/null)
		[ "${p:-0}" -ge 1 ] 2>/dev/null && { echo "  a's queue while cut off: $p action(s)"; return 0; }
		sleep 0.1
	done
	echo "pending: $p"
	return 1
}
check "a queued the action (state.db), b still lets the customer through" eval "pending_on_a; ping_via b"
check "healed" heal
check "after the heal: b converges (suspended)" wait_state b suspended 100
once() {
	local n
	sleep 2 # the webhooks' retries, if any
	n=$(cat "$TMP"/hook-*.log 2>/dev/null | grep -c '"rule":"spoofing"')
	[ "$n" = 1 ] || { echo "the spoofing suspension was delivered $n times"; cat "$TMP"/hook-*.log | tail -n 3; return 1; }
}
check "the spoofer's suspension notified once cluster-wide" once
b_has_it() {
	tg b -j events --customer cust-a | jq_ "[e for e in j['events'] if e.get('rule') == 'spoofing' and e.get('origin') == 'a']" | grep -q spoofing ||
		{ echo "no spoofing event from a on b"; return 1; }
}
check "b's audit log has a's spoofing suspension, with origin a" b_has_it
same_spoof_id() { # the action queued while a was cut off: the same id on both, once on b
	local ia ib
	ia=$(tg a -j events --customer cust-a | jq_ "sorted(e['id'] for e in j['events'] if e.get('rule') == 'spoofing')") || return 1
	ib=$(tg b -j events --customer cust-a | jq_ "sorted(e['id'] for e in j['events'] if e.get('rule') == 'spoofing')") || return 1
	if [ "$ia" != "$ib" ] || [ "$(jq_ "len(j)" <<<"$ia")" != 1 ]; then
		echo "a: $ia; b: $ib"
		return 1
	fi
}
check "... under a's event id, recorded once on b" same_spoof_id

# ---- the conflict rule: the action taken later wins, whichever reaches etcd first ----
both() { # STATE: cust-a in STATE on b, then on a
	wait_state b "$1" 100 && wait_state a "$1" 50
}
reset_active() {
	if [ "$(state_of b)" = suspended ]; then
		tg b -j unsuspend cust-a --reason "reset" >/dev/null || return 1
	fi
	both active
}
# a (cut off) suspends; then b suspends and unsuspends: b's unsuspend is the newest
older_queued_loses() {
	reset_active && partition || return 1
	tg a -j suspend cust-a --reason "queued on a, older" >/dev/null || return 1
	sleep 0.2
	tg b -j suspend cust-a --reason "on b, newer" >/dev/null || return 1
	sleep 0.2
	tg b -j unsuspend cust-a --reason "on b, newest" >/dev/null || return 1
	heal && sleep 3 && both active
}
check "conflict: a's suspend queued while cut off loses to b's newer unsuspend" older_queued_loses
# b suspends and unsuspends; then a (cut off, not knowing) suspends: a's is the newest
newer_queued_wins() {
	reset_active && partition || return 1
	tg b -j suspend cust-a --reason "on b, older" >/dev/null || return 1
	sleep 0.2
	tg b -j unsuspend cust-a --reason "on b, older still active" >/dev/null || return 1
	sleep 0.2
	tg a -j suspend cust-a --reason "queued on a, newest" >/dev/null || return 1
	heal && both suspended
}
check "conflict: a's suspend queued while cut off, newer than b's unsuspend, wins" newer_queued_wins

# ---- the queue survives kill -9 of its node ----
queue_durable() {
	local c
	reset_active && partition || return 1
	tg a -j suspend cust-a --reason "queued, then a killed" >/dev/null || return 1
	stop_node a KILL
	heal || return 1
	c=$(grep -c ' applied: ' "$TMP/a.log")
	start_node a
	node_up a "$c" || return 1
	wait_state b suspended 100
}
check "an action queued on a cut-off node survives its kill -9 and reaches b after the restart" queue_durable

# ---- escalation counts are cluster-wide ----
# one rule on both nodes: notify, escalating to throttle on the second firing within 10m;
# the first firing on a, the second on b: b throttles (alone it would only notify)
escalate_config() {
	local n
	reset_active || return 1
	for n in a b; do
		sed -i '/^  rules:/,/^notify:/{/^    - /d}' "$TMP/$n/tollgate.yaml"
		sed -i 's/^  rules:$/  rules:\n    - { name: esc, when: "spoof_pps > 50 for 2s", action: notify, escalate: { count: 2, within: 10m }, throttle_rate: 10mbit, reason: "spoofing, repeated" }/' "$TMP/$n/tollgate.yaml"
		tg "$n" reload >/dev/null || { tg "$n" reload; return 1; }
	done
	same_config
}
check "escalation: the rule esc (notify, escalate count 2 to throttle) on both nodes" escalate_config
last_event() { # NODE: action, rule and origin of cust-a's last event
	tg "$1" -j events --customer cust-a --limit 1 | jq_ "' '.join(str(j['events'][-1].get(k)) for k in ('action', 'rule', 'origin'))"
}
wait_event() { # NODE WANT
	for _ in $(seq 100); do
		[ "$(last_event "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "$1's last event: $(last_event "$1"), want $2"
	return 1
}
first_on_a() {
	ip netns exec "$P-cust" ping -n -q -c 1000 -i 0.002 -W 1 -I 198.51.100.60 198.51.100.1 >/dev/null 2>&1
	wait_event a "notify esc a" && wait_event b "notify esc a"
}
check "escalation: the first firing, on a (notify), recorded on b" first_on_a
second_on_b() {
	ip -n "$P-cust" addr add 198.51.100.61/32 dev cb
	ip netns exec "$P-cust" ping -n -q -c 1000 -i 0.002 -W 1 -I 198.51.100.61 198.51.100.17 >/dev/null 2>&1
	wait_state b throttled 50 || return 1
	wait_state a throttled 50 || return 1
	tg b -j events --customer cust-a --limit 1 | grep -q "escalated" || { echo "b's last event: $(last_event b)"; return 1; }
}
check "escalation: the second firing, on b, counts a's: b throttles (escalated), a follows" second_on_b

# ---- a fresh node that cannot read the cluster does not start ----
# retention in etcd: an event of a's and one of a member gone long ago ("ghost", not seen
# for 100 days), both 100 days old (beyond the default 90 days), go at b's next start,
# with the ghost member; a's recent events and the live members stay
retention() {
	local pre=/tollgate-$P old oid val c n_before n_after left
	old=$(($(date +%s%3N) - 100 * 86400 * 1000))
	oid=$(printf '%08x-%04x-7000-8000-000000000001' $((old >> 16)) $((old & 0xffff)))
	val=$(ctl get --prefix "$pre/shared/events/a/" --print-value-only --limit 1 2>/dev/null | head -1)
	[ -n "$val" ] || { echo "no event of a's in etcd"; return 1; }
	ctl put "$pre/shared/events/ghost/$oid" "$val" >/dev/null &&
		ctl put "$pre/shared/events/a/$oid" "$val" >/dev/null &&
		ctl put "$pre/members/ghost" "{\"node\":\"ghost\",\"seen_ms\":$old}" >/dev/null || return 1
	n_before=$(ctl get --prefix --keys-only "$pre/shared/events/a/" | grep -c .)
	c=$(grep -c ' applied: ' "$TMP/b.log")
	stop_node b TERM
	start_node b
	node_up b "$c" || return 1
	for _ in $(seq 50); do
		left=$(ctl get --prefix --keys-only "$pre/" | grep -c "ghost\|$oid")
		[ "$left" = 0 ] && break
		sleep 0.2
	done
	[ "$left" = 0 ] || { echo "left: $(ctl get --prefix --keys-only "$pre/" | grep "ghost\|$oid" | tr '\n' ' ')"; return 1; }
	n_after=$(ctl get --prefix --keys-only "$pre/shared/events/a/" | grep -c .)
	[ "$n_after" = $((n_before - 1)) ] || { echo "a's events: $n_before before, $n_after after"; return 1; }
	if ! { ctl get --keys-only "$pre/members/a" | grep -q . && ctl get --keys-only "$pre/members/b" | grep -q .; }; then
		echo "members: $(ctl get --prefix --keys-only "$pre/members/" | tr '\n' ' ')"
		return 1
	fi
	grep -q "retention: 2 shared events and 1 members older than 2160 h removed" "$TMP/b.log" ||
		{ grep retention "$TMP/b.log" | tail -2; return 1; }
}
check "retention in etcd: events beyond enforcement.retention and a member gone that long are removed, nothing else" retention

# another node given a's name (its own state database, in b's namespace) while a is up
dup_refused() {
	local d=$TMP/dup pid reg
	mkdir -p "$d"
	cp "$TMP/b/tollgate.yaml" "$TMP/b/customers.csv" "$d/"
	reg=$(ctl get "/tollgate-$P/nodes/a" --print-value-only 2>/dev/null)
	TOLLGATE_NODE=a TOLLGATE_PIN_DIR=/sys/fs/bpf/tg-cl-$$-dup TOLLGATE_SOCKET=$d/tollgate.sock \
		nsenter --net="/run/netns/$P-b" -- "$TGD" -c "$d/tollgate.yaml" >"$TMP/dup.log" 2>&1 &
	pid=$!
	# it waits out a registration's lease (3 heartbeats + 6 s) before it refuses
	for _ in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		echo "the second 'a' is still running"
		return 1
	fi
	wait "$pid" 2>/dev/null
	grep -q "cluster.node 'a' is registered in etcd by another live node" "$TMP/dup.log" ||
		{ tail -n 3 "$TMP/dup.log"; return 1; }
	# a is still registered, under its own instance, and up
	jq_ "j.get('uid') is not None" <<<"$reg" | grep -qx True || { echo "a's registration: $reg"; return 1; }
	node_up a 0
}
check "a second node named a (its own state database) refuses to start while a is up" dup_refused
# b killed and its state database lost: restarted at once, its last run's registration
# (another instance id now) still holds the name until its lease runs out; it waits for
# that, then starts
lost_db() {
	local c
	c=$(grep -c ' applied: ' "$TMP/b.log")
	stop_node b KILL
	rm -f "$TMP/b/state.db"*
	start_node b
	node_up b "$c" || return 1
	grep -q "waiting up to .* for that registration's lease to run out" "$TMP/b.log" ||
		{ echo "b did not wait for its old lease"; return 1; }
}
check "b killed, its state database lost, restarted at once: waits out its old lease, then starts" lost_db
same_state() {
	local want
	want=$(state_of a)
	[ -n "$want" ] || { echo "a: cust-a not readable"; return 1; }
	wait_state b "$want" 50
}
check "... and b has the cluster's state again (cust-a as a has it)" same_state

fresh_refused() {
	stop_node b TERM
	rm -f "$TMP/b/state.db"*
	ip -n "$P-b" route replace blackhole 10.99.0.1/32
	start_node b
	for _ in $(seq 120); do
		kill -0 "$(pid_of b)" 2>/dev/null || break
		sleep 0.1
	done
	ip -n "$P-b" route replace 10.99.0.1/32 via 10.99.2.1
	if kill -0 "$(pid_of b)" 2>/dev/null; then
		echo "b is still running"
		return 1
	fi
	rm -f "$TMP/b.pid"
	grep -q "this node never has: it does not start" "$TMP/b.log" || { tail -n 3 "$TMP/b.log"; return 1; }
}
check "a fresh node that cannot read etcd refuses to start (it could let a suspended customer through)" fresh_refused

finish
} 2>&1
