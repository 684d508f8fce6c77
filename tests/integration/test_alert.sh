#!/usr/bin/env bash
#
# test_alert.sh - cluster-wide rules on Prometheus and Alertmanager (docs/cluster.md,
# "Cluster-wide rules"): one etcd member (TLS), Prometheus and Alertmanager in a
# namespace of their own (on its loopback), two router namespaces each running tollgated
# in one cluster, one customer (cust-a) behind both. Prometheus scrapes both nodes from
# the list `tollgate cluster targets` makes of the registry; the customer sends about
# 100 KB/s through each router, under the alert's 150 KB/s on each, over it summed; the
# alert (action suspend) reaches tollgated's webhook on node a through Alertmanager and
# suspends the customer on both nodes, with actor alertmanager:ALERTNAME and the alert as
# evidence. Also: without the token (or with a wrong one) 401 and nothing changes; bad
# JSON and an unknown action 400 and nothing changes; a repeated alert changes nothing; a
# notify alert is recorded (once, however often it repeats) and shared; a batch with a bad
# alert in it carries out the others and names the bad one;
# the shipped rules and Alertmanager configuration pass promtool and amtool.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N failed"
# and the exit status is non-zero on any failure. Needs root, etcd, openssl, prometheus
# and prometheus-alertmanager. Namespaces tal<PID>-*, pins /sys/fs/bpf/tg-al-<PID>-*,
# temporary files and every process started here are removed by the trap.
# shellcheck disable=SC2317  # the trap and check() call functions indirectly
set -u

{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

PROM=/usr/bin/prometheus
AM=/usr/bin/prometheus-alertmanager
for b in etcd openssl curl "$PROM" "$AM"; do
	if ! command -v "$b" >/dev/null; then
		echo "SKIP: $b is needed (apt-get install etcd-server openssl curl prometheus prometheus-alertmanager)"
		exit 77
	fi
done

P=tal$$
TMP=$(mktemp -d "/tmp/tg-al-$$.XXXXXX")
TG=$ROOT/build/tollgate
TGD=$ROOT/build/tollgated
PY=/usr/bin/python3
NODES="a b"
MPORT=9477 # tollgated's metrics on each router (each its own namespace)

cleanup() {
	local n pid
	if [ "$N_FAIL" -gt 0 ]; then # what the servers said, for the failure
		for n in a am prom; do
			tail -n 8 "$TMP/$n.log" 2>/dev/null | sed "s/^/$n.log: /"
		done
	fi
	for n in $NODES etcd prom am ping-a ping-b; do
		pid=$(cat "$TMP/$n.pid" 2>/dev/null)
		[ -n "$pid" ] || continue
		kill "$pid" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	done
	for n in mon a b cust; do ip netns del "$P-$n" 2>/dev/null; done
	for n in $NODES; do rm -rf "/sys/fs/bpf/tg-al-$$-$n"; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

jq_() { "$PY" -c 'import json,sys
j = json.load(sys.stdin)
v = eval(sys.argv[1], {"j": j})
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1"; }

bg() { # NAME NS CMD...: a process of ours in a namespace, its PID in a file
	local name=$1 ns=$2
	shift 2
	nsenter --net="/run/netns/$ns" -- "$@" >>"$TMP/$name.log" 2>&1 &
	echo $! >"$TMP/$name.pid"
	disown $! 2>/dev/null
}

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

# ---- the lab: mon (etcd, prometheus, alertmanager), routers a and b, the customer ----
# cust --ca-- a:c0 (198.51.100.1/28)    cust --cb-- b:c0 (198.51.100.17/28)
# a:e0 10.99.1.2 -- mon 10.99.1.1       b:e0 10.99.2.2 -- mon 10.99.2.1
# etcd listens on 10.99.0.1 (mon's lo); each tollgated's metrics on its e0 address
lab() {
	local n k=1
	for n in mon a b cust; do
		ip netns add "$P-$n" || return 1
		ip -n "$P-$n" link set lo up
	done
	ip netns exec "$P-cust" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	for n in a b; do
		ip netns exec "$P-$n" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
		ip link add "c$n" netns "$P-cust" type veth peer name "$P-c0" netns "$P-$n" || return 1
		ip link add e0 netns "$P-$n" type veth peer name "r$n" netns "$P-mon" || return 1
		ip -n "$P-$n" addr add "10.99.$k.2/30" dev e0
		ip -n "$P-mon" addr add "10.99.$k.1/30" dev "r$n"
		ip -n "$P-$n" link set e0 up
		ip -n "$P-mon" link set "r$n" up
		ip -n "$P-$n" route add 10.99.0.1/32 via "10.99.$k.1"
		ip -n "$P-$n" link set "$P-c0" up
		ip -n "$P-cust" link set "c$n" up
		nsenter --net="/run/netns/$P-$n" -- ethtool -K "$P-c0" rxvlan off rx-vlan-stag-hw-parse off >/dev/null 2>&1
		k=$((k + 1))
	done
	ip -n "$P-mon" addr add 10.99.0.1/32 dev lo
	ip -n "$P-a" addr add 198.51.100.1/28 dev "$P-c0"
	ip -n "$P-b" addr add 198.51.100.17/28 dev "$P-c0"
	ip -n "$P-cust" addr add 198.51.100.10/28 dev ca
	ip -n "$P-cust" addr add 198.51.100.26/28 dev cb
}

etcd_up() {
	for _ in $(seq 100); do
		ip netns exec "$P-mon" etcdctl --endpoints https://127.0.0.1:2379 --cacert "$TMP/pki/ca.pem" \
			--cert "$TMP/pki/client.pem" --key "$TMP/pki/client.key" endpoint health >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	tail -n 5 "$TMP/etcd.log"
	return 1
}

TOKEN=tg-alert-test-token-$$-0123456789
config() { # NODE
	local d=$TMP/$1 k=1
	[ "$1" = b ] && k=2
	mkdir -p "$d"
	printf '%s\n' "$TOKEN" >"$d/alert.token"
	chmod 600 "$d/alert.token"
	cat >"$d/tollgate.yaml" <<-EOF
		interfaces:
		  - { name: $P-c0, role: customer, mode: native }
		plans:
		  p: { upload: { rate: 100mbit, burst: 1m }, download: { rate: 100mbit, burst: 1m } }
		customers: customers.csv
		state: state.db
		metrics:
		  listen: 10.99.$k.2:$MPORT
		  alert_token_file: alert.token
		enforcement:
		  interval: 1s
		cluster:
		  endpoints: ["https://10.99.0.1:2379"]
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
		cust-b,Bob (quiet),p,198.51.100.64/28,$P-c0,
		cust-c,Carol (quiet),p,198.51.100.96/28,$P-c0,
	EOF
}
tg() { # NODE ARGS...: the CLI of a node
	local n=$1
	shift
	TOLLGATE_NODE=$n TOLLGATE_PIN_DIR=/sys/fs/bpf/tg-al-$$-$n TOLLGATE_SOCKET=$TMP/$n/tollgate.sock \
		nsenter --net="/run/netns/$P-$n" -- "$TG" -c "$TMP/$n/tollgate.yaml" "$@"
}
start_node() { # NODE
	local n=$1
	TOLLGATE_NODE=$n TOLLGATE_PIN_DIR=/sys/fs/bpf/tg-al-$$-$n TOLLGATE_SOCKET=$TMP/$n/tollgate.sock \
		nsenter --net="/run/netns/$P-$n" -- "$TGD" -c "$TMP/$n/tollgate.yaml" >>"$TMP/$n.log" 2>&1 &
	echo $! >"$TMP/$n.pid"
	disown $! 2>/dev/null
}
node_up() { # NODE
	for _ in $(seq 150); do
		grep -q ' applied: ' "$TMP/$1.log" && return 0
		kill -0 "$(cat "$TMP/$1.pid")" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$TMP/$1.log"
	return 1
}
state_of() { # NODE [CUSTOMER]
	tg "$1" -j customer show "${2:-cust-a}" 2>/dev/null | jq_ "j['customer']['state']"
}
wait_state() { # NODE STATE TENTHS [CUSTOMER]
	for _ in $(seq "$3"); do
		[ "$(state_of "$1" "${4:-cust-a}")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "$1: ${4:-cust-a} is $(state_of "$1" "${4:-cust-a}"), want $2"
	return 1
}
nevents() { # NODE [CUSTOMER]: the customer's events in the node's audit log
	tg "$1" -j events --customer "${2:-cust-a}" | jq_ "len(j['events'])"
}
hook() { # AUTH-HEADER-OR-"" BODY: POST to a's webhook from mon; prints the HTTP status
	local auth=()
	[ -n "$1" ] && auth=(-H "Authorization: $1")
	ip netns exec "$P-mon" curl -s -o "$TMP/hook.out" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' "${auth[@]}" --data-binary "$2" \
		"http://10.99.1.2:$MPORT/api/v1/alertmanager"
}
alert_doc() { # STATUS ACTION CUSTOMER [EXTRA-LABELS]
	printf '{"version":"4","status":"%s","receiver":"tollgate","groupKey":"{}","alerts":[{"status":"%s","labels":{"alertname":"HandMade","customer":"%s","action":"%s"%s},"annotations":{"summary":"by hand"},"startsAt":"2026-12-07T00:00:00Z","fingerprint":"0123456789abcdef"}]}' "$1" "$1" "$3" "$2" "${4:-}"
}

check "certificates (CA, server, client)" certs
check "lab: mon, routers a and b, the customer behind both" lab
bg etcd "$P-mon" etcd --name m0 --data-dir "$TMP/etcd" \
	--listen-client-urls https://0.0.0.0:2379 --advertise-client-urls https://10.99.0.1:2379 \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster m0=http://127.0.0.1:2380 --cert-file "$TMP/pki/server.pem" \
	--key-file "$TMP/pki/server.key" --trusted-ca-file "$TMP/pki/ca.pem" --client-cert-auth \
	--log-level warn
check "etcd (TLS, client certificates)" etcd_up
for n in $NODES; do
	config "$n"
	start_node "$n"
done
check "node a starts" node_up a
check "node b starts" node_up b

# ---- the webhook's door: token, JSON, actions ----
status_is() { # CODE AUTH BODY: the webhook answers CODE
	local got
	got=$(hook "$2" "$3")
	[ "$got" = "$1" ] || { echo "HTTP $got, want $1: $(cat "$TMP/hook.out")"; return 1; }
}
check "no token: 401" status_is 401 "" "$(alert_doc firing suspend cust-a)"
check "a wrong token: 401" status_is 401 "Bearer wrong-token-0123456789" "$(alert_doc firing suspend cust-a)"
check "bad JSON: 400" status_is 400 "Bearer $TOKEN" "{not json"
check "an unknown action: 400" status_is 400 "Bearer $TOKEN" "$(alert_doc firing explode cust-a)"
check "a resolved alert is taken (200) and lifts nothing" status_is 200 "Bearer $TOKEN" "$(alert_doc resolved suspend cust-a)"
sleep 1.5
unchanged() {
	if ! { [ "$(state_of a)" = active ] && [ "$(state_of b)" = active ] && [ "$(nevents a)" = 0 ]; }; then
		echo "a: $(state_of a), b: $(state_of b), a's events: $(nevents a)"
		return 1
	fi
}
check "... none of them changed anything: active on a and b, no event" unchanged
check "throttle without a rate label: 400" status_is 400 "Bearer $TOKEN" "$(alert_doc firing throttle cust-b)"
check "throttle with rate 10mbit: 200" status_is 200 "Bearer $TOKEN" "$(alert_doc firing throttle cust-b ',"rate":"10mbit"')"
check "... cust-b throttled on a" wait_state a throttled 50 cust-b
check "... and on b (through the cluster)" wait_state b throttled 50 cust-b
throttle_again() {
	local n
	n=$(nevents a cust-b)
	status_is 200 "Bearer $TOKEN" "$(alert_doc firing throttle cust-b ',"rate":"10mbit"')" || return 1
	sleep 1.5
	[ "$(nevents a cust-b)" = "$n" ] || { echo "cust-b's events $n -> $(nevents a cust-b)"; return 1; }
}
check "... the same alert again changes nothing" throttle_again

# ---- notify, and a batch with a bad alert in it ----
one_alert() { # ACTION CUSTOMER STARTS-AT: one firing alert's JSON
	printf '{"status":"firing","labels":{"alertname":"HandNote","customer":"%s","action":"%s"},"annotations":{"summary":"noted by hand"},"startsAt":"%s","fingerprint":"fedcba9876543210"}' "$2" "$1" "$3"
}
batch_doc() { # ALERT-JSON...: a webhook document of these alerts
	local IFS=,
	printf '{"version":"4","status":"firing","receiver":"tollgate","groupKey":"{}","alerts":[%s]}' "$*"
}
notes() { # NODE: cust-c's events as "action actor origin", one a line
	tg "$1" -j events --customer cust-c | jq_ "'\\n'.join('%s %s %s' % (e['action'], e['actor'], e.get('origin') or '-') for e in j['events'])"
}
wait_notes() { # NODE COUNT: cust-c has COUNT notify events from a, and is still active
	for _ in $(seq 50); do
		[ "$(notes "$1" | grep -c '^notify alertmanager:HandNote a$')" = "$2" ] && break
		sleep 0.1
	done
	if ! { [ "$(notes "$1" | grep -c '^notify alertmanager:HandNote a$')" = "$2" ] && [ "$(notes "$1" | wc -l)" = "$2" ] &&
		[ "$(state_of "$1" cust-c)" = active ]; }; then
		echo "$1: $(notes "$1" | tr '\n' ';') state $(state_of "$1" cust-c)"
		return 1
	fi
}
check "a notify alert: 200" status_is 200 "Bearer $TOKEN" "$(batch_doc "$(one_alert notify cust-c 2026-12-07T01:00:00Z)")"
check "... recorded on a as a notify event by alertmanager:HandNote, cust-c still active" wait_notes a 1
check "... and seen on b with its origin a (through the cluster)" wait_notes b 1
notify_again() {
	status_is 200 "Bearer $TOKEN" "$(batch_doc "$(one_alert notify cust-c 2026-12-07T01:00:00Z)")" || return 1
	sleep 1.5
	wait_notes a 1
}
check "... the same alert repeated (same fingerprint and startsAt): no new event" notify_again
mixed() {
	status_is 200 "Bearer $TOKEN" \
		"$(batch_doc "$(one_alert explode cust-c 2026-12-07T02:00:00Z)" "$(one_alert notify cust-c 2026-12-07T02:00:00Z)")" || return 1
	jq_ "j['queued'] == 1 and len(j['refused']) == 1 and 'explode' in j['refused'][0]" <"$TMP/hook.out" | grep -qx True ||
		{ echo "reply: $(cat "$TMP/hook.out")"; return 1; }
}
check "a batch of a bad alert and a good one: 200, the good one queued, the bad one refused by name" mixed
check "... the good one carried out (a second notify: a new start)" wait_notes a 2
check "... the bad one changed nothing (cust-c active, no other event)" wait_notes b 2

# ---- targets from the registry ----
targets() {
	local out
	for _ in $(seq 50); do
		out=$(tg a cluster targets 2>/dev/null)
		[ "$(jq_ "','.join(sorted(t['labels']['node'] + '=' + t['targets'][0] for t in j))" <<<"$out" 2>/dev/null)" = \
			"a=10.99.1.2:$MPORT,b=10.99.2.2:$MPORT" ] && { printf '%s\n' "$out" >"$TMP/targets.json"; return 0; }
		sleep 0.2
	done
	echo "cluster targets: $out"
	return 1
}
check "tollgate cluster targets: both nodes' metrics addresses, labelled with the node" targets

# ---- prometheus and alertmanager in mon, on its loopback ----
check "the shipped rules pass promtool" promtool check rules "$ROOT/scripts/prometheus/tollgate-rules.yml"
check "the shipped Alertmanager configuration passes amtool" amtool check-config "$ROOT/scripts/prometheus/alertmanager.yml"
cp "$TMP/a/alert.token" "$TMP/am.token"
cat >"$TMP/rules.yml" <<EOF
groups:
  - name: test
    interval: 1s
    rules:
      - record: tollgate:customer_bytes:rate10s
        expr: sum by (customer, direction) (rate(tollgate_customer_bytes_total{customer!="_other"}[10s]))
      - alert: TollgateTestSum
        expr: tollgate:customer_bytes:rate10s{direction="upload"} > 150000
        for: 3s
        labels: { action: suspend }
        annotations: { summary: "{{ \$labels.customer }} sends {{ \$value }} B/s summed over every edge" }
EOF
cat >"$TMP/prometheus.yml" <<EOF
global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: [$TMP/rules.yml]
alerting:
  alertmanagers: [{ static_configs: [{ targets: ["127.0.0.1:9093"] }] }]
scrape_configs:
  - job_name: tollgate
    file_sd_configs: [{ files: [$TMP/targets.json], refresh_interval: 1s }]
EOF
cat >"$TMP/alertmanager.yml" <<EOF
route:
  receiver: tollgate
  group_by: [alertname, customer]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: tollgate
    webhook_configs:
      - url: http://10.99.1.2:$MPORT/api/v1/alertmanager
        send_resolved: false
        http_config:
          authorization: { type: Bearer, credentials_file: $TMP/am.token }
EOF
bg prom "$P-mon" "$PROM" --config.file "$TMP/prometheus.yml" --storage.tsdb.path "$TMP/prom" \
	--web.listen-address 127.0.0.1:9090
bg am "$P-mon" "$AM" --config.file "$TMP/alertmanager.yml" --storage.path "$TMP/am" \
	--web.listen-address 127.0.0.1:9093 --cluster.listen-address=
promq() { # QUERY: the first value, or ""
	ip netns exec "$P-mon" curl -s --get --data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query |
		jq_ "j['data']['result'][0]['value'][1] if j['data']['result'] else ''" 2>/dev/null
}
scraped() {
	for _ in $(seq 100); do
		[ "$(promq 'count(up{job="tollgate"} == 1)')" = 2 ] && return 0
		sleep 0.2
	done
	tail -n 5 "$TMP/prom.log"
	return 1
}
check "prometheus scrapes both nodes from the targets file" scraped

# ---- the multi-homed customer: each half under the limit, the sum over it ----
# 100 KB/s through each router: UDP datagrams of 1000 bytes (IP), paced by the clock
SEND_PY='
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
pay, rate, t0, sent = b"x" * 972, int(sys.argv[3]), time.monotonic(), 0
while True:
    due = int((time.monotonic() - t0) * rate / 1000)
    while sent < due:
        s.sendto(pay, (sys.argv[2], 9))
        sent += 1
    time.sleep(0.01)
'
bg ping-a "$P-cust" "$PY" -c "$SEND_PY" 198.51.100.10 198.51.100.1 100000
bg ping-b "$P-cust" "$PY" -c "$SEND_PY" 198.51.100.26 198.51.100.17 100000
halves() {
	local sum per
	for _ in $(seq 150); do
		sum=$(promq 'tollgate:customer_bytes:rate10s{customer="cust-a",direction="upload"}')
		per=$(promq 'max(rate(tollgate_customer_bytes_total{customer="cust-a",direction="upload"}[10s]))')
		if [ -n "$sum" ] && [ -n "$per" ] && "$PY" -c "import sys; sys.exit(0 if float('$sum') > 150000 > float('$per') else 1)"; then
			printf '  upload summed %.0f B/s, the larger half %.0f B/s, the limit 150000 B/s\n' "$sum" "$per"
			return 0
		fi
		sleep 0.2
	done
	echo "summed '$sum' B/s, the larger half '$per' B/s: want sum > 150000 > half"
	return 1
}
check "each half under the limit, the sum over it" halves
check "the alert suspends the customer on a (Prometheus -> Alertmanager -> webhook)" wait_state a suspended 300
check "... and on b (through the cluster)" wait_state b suspended 50
by_alert() {
	local out
	out=$(tg a -j events --customer cust-a) || return 1
	jq_ "[e for e in j['events'] if e['actor'] == 'alertmanager:TollgateTestSum'][0]" <<<"$out" >"$TMP/ev.json" 2>/dev/null ||
		{ echo "no event by alertmanager:TollgateTestSum: $out"; return 1; }
	if ! { grep -q 'fingerprint' "$TMP/ev.json" && grep -q 'startsAt' "$TMP/ev.json" &&
		grep -q 'summed over every edge' "$TMP/ev.json"; }; then
		echo "the event lacks the alert as evidence: $(cat "$TMP/ev.json")"
		return 1
	fi
}
check "a's audit log: actor alertmanager:TollgateTestSum, the alert as evidence" by_alert
am_sent() { # webhook notifications Alertmanager delivered
	ip netns exec "$P-mon" curl -s http://127.0.0.1:9093/metrics |
		awk '/^alertmanager_notifications_total\{.*integration="webhook"/ {n += $2} END {print n + 0}'
}
repeated() {
	local n s
	n=$(nevents a)
	s=$(am_sent)
	sleep 5 # Alertmanager repeats the firing alert every 2 s
	[ "$(am_sent)" -gt "$s" ] || { echo "Alertmanager sent nothing again ($s)"; return 1; }
	[ "$(nevents a)" = "$n" ] || { echo "events $n -> $(nevents a)"; return 1; }
	echo "  webhook deliveries $s -> $(am_sent), a's events for cust-a: $n -> $(nevents a)"
}
check "the alert repeated changes nothing (no new event)" repeated

finish
} 2>&1
