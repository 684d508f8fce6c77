#!/usr/bin/env bash
#
# test_quota.sh - volume quotas and rule exemptions end to end, with tollgated in the
# namespace lab (scripts/lab.sh) and real traffic on its veths. Plan lab-b (customers B,
# C, V) gets a tiny quota, 300 kB of upload a day; the rule
#   volume: quota_used_pct >= 100 -> throttle 1mbit, exempt: { customers: [cust-c] }
# must throttle B once B has sent ~400 kB, and leave C alone although C sent as much (C is
# exempt); A (plan lab-a, no quota) has none. Then:
#   - the usage is the passed bytes, exactly, in the API (customer object and
#     /api/v1/quotas), /metrics (tollgate_customer_quota_used_ratio) and the NOC page;
#   - kill -9, traffic while tollgated is down, a restart: the usage is still exact (the
#     state database's row plus what the pinned counters passed since);
#   - a reload keeps it; a clean stop writes it to state.db's quota table;
#   - a second start with the exemption removed throttles C too.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N failed"
# and the exit status is non-zero on any failure. Needs root (else SKIP, exit 77). Traffic
# never leaves the lab's veths (lab tq<PID>); namespaces, pins (/sys/fs/bpf/tg-quota-PID),
# temporary files and every process started here are removed by the trap, even when a
# check fails.
# shellcheck disable=SC2317  # the trap and check() call functions indirectly
set -u

{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"

P=tq$$
suite_init quota

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP test_quota: needs root"
	exit 77
fi

QUOTA=300000 # bytes of upload a day: "300kB"
PLEN=1000    # UDP payload: 1028 IP bytes a packet
N=400        # packets each sender sends: 411200 bytes, over the quota

lab_write_config "$P" "$TMP" && sed -i "s/mode: native/mode: $MODE/" "$CFG"
# plan lab-b's quota: after its download line
sed -i '/^  lab-b:/,/download:/ s/^\(    download:.*\)$/\1\n    quota: { upload: 300kB, period: day }/' "$CFG"
cat >>"$CFG" <<EOF
enforcement:
  interval: 1s
  rules:
    - name: volume
      when: "quota_used_pct >= 100"
      action: throttle
      throttle_rate: 1mbit
      reason: "volume quota used up"
      exempt: { customers: [cust-c] }
EOF
check "lab up" lab_up "$P"
attach_all() {
	local spec
	for spec in "$P-c0:customer" "$P-c1:customer" "$P-c2:customer" "$P-u0:upstream"; do
		tg attach "${spec%%:*}" role "${spec##*:}" mode "$MODE" || return 1
	done
}
check "attach 3 customer + 1 upstream interfaces, mode $MODE" attach_all
check "check-config accepts the quota and the exemption" tg check-config

# passed ID: the customer's passed upload bytes (customer show, from the pinned maps)
passed() { tg -j customer show "$1" | lab_json "j['customer']['upload']['passed']['bytes']"; }
P0_B=$(passed cust-b)
P0_C=$(passed cust-c)

start_daemon
check "tollgated starts and applies the configuration" daemon_up
sleep 1.5 # its first interval takes the counters' reading the usage starts from

API=http://127.0.0.1:9477
# api PATH EXPR: EXPR of the JSON of GET PATH, from inside the router's namespace
api() {
	nsenter --net="/run/netns/$P-rtr" -- curl -sf "$API$1" | lab_json "$2"
}
# state ID: the customer's enforcement state (customer show)
state() {
	tg -j customer show "$1" | lab_json "(j['customer'].get('enforcement') or {}).get('state', 'active')"
}
# becomes ID STATE TENTHS: until ID is in STATE, for at most TENTHS tenths of a second
becomes() {
	local st
	for _ in $(seq "$3"); do
		st=$(state "$1")
		[ "$st" = "$2" ] && return 0
		sleep 0.1
	done
	echo "$1 is $st, not $2, after $(($3 / 10)) s"
	return 1
}
# exact ID P0: the quota's used upload bytes are the bytes passed since P0, exactly, in
# what tollgated counts (/api/v1/quotas, what the rules read), in the customer view from
# the state database (the API's) and in customer show -j (the CLI's, the same view)
exact() {
	local want got view cli
	want=$(($(passed "$1") - $2))
	for _ in $(seq 30); do # the usage follows within an interval
		got=$(api "/api/v1/quotas?limit=10" "[q['upload']['used_bytes'] for q in j['quotas'] if q['customer'] == '$1'][0]")
		[ "$got" = "$want" ] && break
		sleep 0.1
	done
	view=$(api "/api/v1/customers/$1" "j['customer']['quota']['upload']['used_bytes']")
	cli=$(tg -j customer show "$1" | lab_json "j['customer']['quota']['upload']['used_bytes']")
	echo "  $1: passed since the start $want; counted $got, API customer view $view, customer show $cli"
	[ "$got" = "$want" ] && [ "$view" = "$want" ] && [ "$cli" = "$want" ]
}

send() { # NS DEV SRC COUNT PPS
	lab_send "$P" "$1" "$2" "$4" "$5" "$3" "$LAB_UP4" "" "$PLEN" >/dev/null
}
send "$P-cust" "$P-ca" "$LAB_A4" "$N" 400 # A: no quota
send "$P-spf" "$P-sa" "$LAB_C4" "$N" 400  # C: exempt
send "$P-cust" "$P-cb" "$LAB_B4" "$N" 400 # B
check "B over its 300 kB quota is throttled by the rule volume" becomes cust-b throttled 50
sleep 2
check "C over its quota too is not acted on: exempt" becomes cust-c active 1
a_free() {
	[ "$(state cust-a)" = active ] &&
		[ "$(api /api/v1/customers/cust-a "j['customer']['quota']")" = None ]
}
check "A (a plan without a quota) is not acted on; the API gives it \"quota\": null" a_free
check "B's usage is its passed upload bytes, exactly" exact cust-b "$P0_B"
check "C's usage is its passed upload bytes, exactly" exact cust-c "$P0_C"
evid() {
	tg -j events --customer cust-b | lab_json "[e['evidence']['metric'] for e in j['events'] if e['action'] == 'throttle']" | grep -q quota_used_pct
}
check "B's throttle event names quota_used_pct as its evidence" evid
quota_doc() {
	local b
	b=$(api /api/v1/customers/cust-b "j['customer']['quota']")
	echo "  $b"
	api /api/v1/customers/cust-b "[j['customer']['quota']['period'], j['customer']['quota']['upload']['quota_bytes'], j['customer']['quota']['download'], j['customer']['quota']['used_pct'] >= 100]" |
		grep -qx "\[\"day\", $QUOTA, null, true\]"
}
check "the API's quota object: period day, 300000 bytes, no download quota, used_pct >= 100" quota_doc
top_quotas() {
	api "/api/v1/quotas?limit=5" "sorted(q['customer'] for q in j['quotas'])" | grep -qx '\["cust-b", "cust-c", "cust-v"\]' &&
		api "/api/v1/quotas?limit=1" "j['quotas'][0]['used_pct'] >= 100" | grep -qx True
}
check "/api/v1/quotas lists the plan's customers, the most used first" top_quotas
metric() {
	local m
	m=$(nsenter --net="/run/netns/$P-rtr" -- curl -sf "$API/metrics")
	grep -E '^tollgate_customer_quota_used_ratio\{customer="cust-b",direction="upload"\} 1\.[0-9]+$' <<<"$m" &&
		! grep -q 'tollgate_customer_quota_used_ratio{customer="cust-a"' <<<"$m" &&
		! grep -q 'tollgate_customer_quota_used_ratio{customer="cust-b",direction="download"' <<<"$m"
}
check "/metrics: tollgate_customer_quota_used_ratio of B's upload above 1; none for A, none for a direction without a quota" metric
page() { nsenter --net="/run/netns/$P-rtr" -- curl -sf "$API/" | grep -q 'id="quotas"'; }
check "the NOC page has the quota table" page

# ---- kill -9, traffic while down, restart ----
stop_daemon KILL
send "$P-cust" "$P-cb" "$LAB_B4" 100 50 # under the throttle's 1 mbit: it all passes
start_daemon
check "tollgated restarts after kill -9" daemon_up
sleep 1.5
check "after kill -9 and traffic while down, B's usage is still exact" exact cust-b "$P0_B"
check "... and B is still throttled" becomes cust-b throttled 1
reload_q() { tg reload >/dev/null; }
check "tollgate reload" reload_q
send "$P-cust" "$P-cb" "$LAB_B4" 20 50
check "after a reload B's usage goes on, exact" exact cust-b "$P0_B"
USED=$(api /api/v1/customers/cust-b "j['customer']['quota']['upload']['used_bytes']")
stop_daemon TERM
row() {
	local r
	r=$(sqlite3 "$TMP/state.db" "SELECT up_bytes FROM quota WHERE customer = 'cust-b'")
	echo "  state.db quota row of cust-b: $r (API before the stop: $USED)"
	[ "$r" = "$USED" ]
}
check "a clean stop writes the usage to state.db" row
cli_down() {
	local c
	c=$(tg -j customer show cust-b | lab_json "j['customer']['quota']['upload']['used_bytes']")
	echo "  customer show without tollgated: $c"
	[ "$c" = "$USED" ]
}
check "customer show gives the usage without tollgated" cli_down

# ---- the exemption removed: C is throttled too ----
sed -i '/exempt: { customers: \[cust-c\] }/d' "$CFG"
start_daemon
check "tollgated starts without the exemption" daemon_up
check "C, over its quota and no longer exempt, is throttled" becomes cust-c throttled 50

finish
}
