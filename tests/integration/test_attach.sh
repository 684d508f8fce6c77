#!/usr/bin/env bash
#
# test_attach.sh - the life cycle of an attachment, without traffic: attach, attach again
# (idempotent), change mode, foreign XDP programs (refused, then --force), configs with
# errors (nothing changes), layout version mismatch (refused), detach (everything
# unpinned), rx VLAN offload with VLAN-bound customers (refused, then --force), `ip netns
# exec` (refused: its bpffs would vanish), and tollgated (attaches from the config, SIGHUP
# with a bad config changes nothing, SIGTERM leaves XDP attached); who held an address
# (`tollgate whois` after attach and reloads with and without tollgated, /api/v1/whois).
#
# Runs in a network namespace of its own with one veth pair; pins under a bpffs directory
# of its own. Everything is removed by the trap, even when a check fails. Needs root.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
suite_init att
FOREIGN=$ROOT/build/tests/xdp_foreign.bpf.o
NS=tg$$-att
IF_A=tg$$a
IF_B=tg$$b
NETNS=("$NS")

# expect NAME CONDITION-COMMAND...
expect() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "$*"; fi
}

in_ns() { nsenter --net="/run/netns/$NS" -- "$@"; }
tg() { in_ns "$TG" "$@"; }
xdp_id() { in_ns ip -j link show dev "$1" | /usr/bin/python3 -c 'import json,sys; l=json.load(sys.stdin)[0]; print(l.get("xdp",{}).get("prog",{}).get("id",0))'; }
xdp_mode() { in_ns ip -j link show dev "$1" | /usr/bin/python3 -c 'import json,sys; l=json.load(sys.stdin)[0]; print(l.get("xdp",{}).get("mode",0))'; }
jget() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

ip netns add "$NS" || exit 1
in_ns ip link add "$IF_A" type veth peer name "$IF_B" || exit 1
in_ns ip link set "$IF_A" up
in_ns ip link set "$IF_B" up
in_ns ip link set lo up # tollgated's API (/api/v1/whois) on 127.0.0.1

cat >"$TMP/tollgate.yaml" <<EOF
interfaces:
  - { name: $IF_A, role: customer, antispoof: strict, vlan_protocol: 802.1q }
plans:
  p10:
    upload: { rate: 10mbit, burst: 64k }
    download: { rate: 20mbit, burst: 64k }
customers: customers.csv
state: state.db
pin_dir: $PIN
capacity: { max_customers: 64 }
EOF
cat >"$TMP/customers.csv" <<EOF
id,name,plan,prefixes,interface
c1,One,p10,198.51.100.10 2001:db8:1::/64,$IF_A
c2,"Two, Ltd",p10,198.51.100.0/24,
EOF
CFG=$TMP/tollgate.yaml

# --- attach, idempotent, mode change
out=$(tg -c "$CFG" attach "$IF_A" role customer 2>&1)
expect "attach exits 0" test $? -eq 0
expect "attach pins program, maps and link" test -e "$PIN/prog" -a -e "$PIN/tg_cust" -a -e "$PIN/link_$IF_A"
id1=$(xdp_id "$IF_A")
expect "XDP program is on the interface" test "$id1" != 0
expect "attached in native mode" test "$(xdp_mode "$IF_A")" = 1
# the policer clock: jiffies times the tick the loader wrote into the program's rodata
tick_fns() {
	local map
	for map in $(bpftool -j prog show pinned "$PIN/prog" | jget '" ".join(map(str, d["map_ids"]))'); do
		[ "$(bpftool -j map show id "$map" | jget 'd["name"]')" = tollgate.rodata ] || continue
		bpftool -j map lookup id "$map" key 0 0 0 0 |
			jget 'int.from_bytes(bytes(int(b, 16) for b in d["value"][:8]), "little")'
		return
	done
}
want=$(/usr/bin/python3 -c 'import time; print(round(time.clock_getres(6) * 1e9) << 8)') # 6: CLOCK_MONOTONIC_COARSE
got=$(tick_fns)
expect "the program counts time in jiffies of the coarse clock's tick ($want fns)" test "$got" = "$want"
st=$(tg -j status)
expect "status -j: attached, customer role, 2 customers" test \
	"$(echo "$st" | jget 'str(d["interfaces"][0]["attached"])+d["interfaces"][0]["role"]+str(d["customers"]["loaded"])')" = "Truecustomer2"
tg -c "$CFG" attach "$IF_A" role customer >/dev/null 2>&1
expect "attach again exits 0" test $? -eq 0
expect "attach again keeps the same program" test "$(xdp_id "$IF_A")" = "$id1"
expect "attach again keeps one link pin" test "$(find "$PIN" -mindepth 1 -maxdepth 1 -name 'link_*' | wc -l)" = 1
tg -c "$CFG" attach "$IF_A" role customer mode generic >/dev/null 2>&1
expect "mode generic re-attaches in skb mode" test "$(xdp_mode "$IF_A")" = 2
expect "status -j reports the interface's vlan_protocol" test \
	"$(tg -j status | jget 'd["interfaces"][0]["vlan_protocol"]')" = 802.1q
expect "status reports generic" test "$(tg -j status | jget 'd["interfaces"][0]["mode"]')" = generic
tg -c "$CFG" attach "$IF_A" role customer mode native >/dev/null 2>&1
expect "back to native" test "$(xdp_mode "$IF_A")" = 1
out=$(tg -c "$CFG" attach "$IF_A" role upstream 2>&1)
rc=$?
expect "role contradicting the config is refused" test $rc -ne 0
expect "  ... and says why" grep -q "gives role customer" <<<"$out"
for knob in "max_customers: 128" "max_customers: 64, max_prefixes: 65536"; do
	sed "s/^capacity: .*/capacity: { $knob }/" "$CFG" >"$TMP/cap.yaml"
	out=$(tg -c "$TMP/cap.yaml" attach "$IF_A" role customer 2>&1)
	rc=$?
	expect "attach with capacity { $knob } over the pinned maps is refused" test $rc -ne 0
	expect "  ... saying the capacity changed" grep -q "capacity changed" <<<"$out"
	expect "  ... and the same program stays, with its 2 customers" test \
		"$(xdp_id "$IF_A")" = "$id1" -a "$(tg -j status | jget 'd["customers"]["loaded"]')" = 2
done

# --- customer show, text and JSON
expect "customer show -j finds c2 with its limit" test \
	"$(tg -j customer show c2 | jget 'd["customer"]["upload"]["limit"]["rate_bps"]')" = 10000000
expect "customer show -j: c1's binding is $IF_A untagged (vlan null)" test \
	"$(tg -j customer show c1 | jget 'str(d["customer"]["binding"]["interface"])+str(d["customer"]["binding"]["vlan"])')" = "${IF_A}None"
expect "customer show: c2 has no binding (spoof where strict)" \
	grep -q "binding        none (spoof where anti-spoofing is strict)" <<<"$(tg customer show c2)"
tg customer show nosuch >/dev/null 2>&1
expect "customer show of an unknown id fails" test $? -ne 0
err=$(tg -j customer show nosuch 2>&1 >/dev/null)
expect "errors under -j are JSON" /usr/bin/python3 -c 'import json,sys; json.loads(sys.argv[1])["error"]' "$err"

# --- a config with errors changes nothing
cp "$TMP/customers.csv" "$TMP/good.csv"
echo "c3,Three,nosuchplan,198.51.100.300/24,$IF_A" >>"$TMP/customers.csv"
out=$(tg -c "$CFG" attach "$IF_A" role customer 2>&1)
rc=$?
expect "attach with a bad CSV fails" test $rc -ne 0
expect "  ... naming file and line of each error" test "$(grep -c 'customers.csv:4' <<<"$out")" -ge 2
expect "  ... and the loaded customers stay" test "$(tg -j status | jget 'd["customers"]["loaded"]')" = 2
tg check-config "$CFG" >/dev/null 2>&1
expect "check-config exits non-zero on it" test $? -ne 0
n=$(env -u TOLLGATE_PIN_DIR nsenter --net="/run/netns/$NS" -- "$TG" -c "$CFG" -j status 2>/dev/null |
	jget 'd["customers"]["loaded"]')
expect "status -c FILE still reads the pins while the CSV is bad" test "$n" = 2
cp "$TMP/good.csv" "$TMP/customers.csv"
tg check-config "$CFG" >/dev/null 2>&1
expect "check-config exits 0 on a good one" test $? -eq 0
expect "  ... and advises that plan p10's 64k bursts are too small for TCP" test \
	"$(tg -j check-config "$CFG" | jget 'sum("plan p10 upload" in w or "plan p10 download" in w for w in d["warnings"])')" = 2
expect "  ... and counts the unbound customer (c2) while $IF_A is strict" test \
	"$(tg -j check-config "$CFG" | jget 'sum("1 customers have no interface" in w for w in d["warnings"])')" = 1
expect "the shipped example gets no advice but the binding upgrade notes" test \
	"$("$TG" -j check-config "$ROOT/examples/tollgate.yaml" | jget 'len([w for w in d["warnings"] if "upgrade note" not in w])')" = 0
expect "  ... which count its untagged and single-tag customers" test \
	"$("$TG" -j check-config "$ROOT/examples/tollgate.yaml" | jget 'sum("upgrade note: 1 customers" in w and "empty vlan" in w or "upgrade note: 2 customers" in w and "one VLAN" in w for w in d["warnings"])')" = 2

# --- h6: check-config prints every refused value with file, line and field, and exits non-zero
{
	echo "id,name,plan,prefixes,interface,upload_rate,upload_burst"
	echo "c1,One,p10,198.51.100.10 2001:db8:1::/64,$IF_A,,"
	echo "c2,Two,p10,0.0.0.0/0,,,"
	printf 'c3,Three,p10,198.51.100.0/24\0,,,\n'
	echo "c4,Four,p10,198.51.100.64/26,,100t,"
	printf 'caf\xe9,Five,p10,198.51.100.128/26,,1kbit,16g\n'
} >"$TMP/bad.csv"
sed "s|^customers: .*|customers: bad.csv|" "$CFG" >"$TMP/bad.yaml"
out=$(tg check-config "$TMP/bad.yaml" 2>&1)
rc=$?
expect "check-config refuses a bogon, a NUL byte, 100t, a non-UTF-8 id and a 16g burst at 1kbit" test $rc -ne 0
expect "  ... the bogon: line 3, prefixes" grep -q "bad.csv:3: field 'prefixes': 0.0.0.0/0 contains 0.0.0.0/8" <<<"$out"
expect "  ... the NUL byte: line 4, prefixes" grep -q "bad.csv:4: field 'prefixes': contains a NUL byte" <<<"$out"
expect "  ... 100t: line 5, upload_rate, with the maximum" grep -q "bad.csv:5: field 'upload_rate': '100t' is above 500gbit" <<<"$out"
expect "  ... the id: line 6" grep -q "bad.csv:6: field 'id': not UTF-8" <<<"$out"
expect "  ... the burst: line 6, with the maximum" grep -q "bad.csv:6: field 'upload_burst': .* at most 2251799813 bytes" <<<"$out"
mkfifo "$TMP/fifo.csv"
sed "s|^customers: .*|customers: fifo.csv|" "$CFG" >"$TMP/fifo.yaml"
out=$(timeout 10 "$TG" check-config "$TMP/fifo.yaml" 2>&1)
rc=$?
expect "check-config with customers: a FIFO fails at once (not after the 10 s timeout)" test $rc -ne 0 -a $rc -ne 124
expect "  ... saying it is a FIFO, on the YAML's line" grep -q "fifo.yaml:7: customers: '.*fifo.csv' is a FIFO" <<<"$out"

# --- h6: customer show gives back the configured rate and a 16g burst exactly
{
	echo "id,name,plan,prefixes,interface,upload_rate,upload_burst"
	echo "c1,One,p10,198.51.100.10 2001:db8:1::/64,$IF_A,,"
	echo "c2,\"Two, Ltd\",p10,198.51.100.0/24,,2.5g,16g"
} >"$TMP/show.csv"
sed "s|^customers: .*|customers: show.csv|" "$CFG" >"$TMP/show.yaml"
tg -c "$TMP/show.yaml" attach "$IF_A" role customer >/dev/null 2>&1
expect "customer show -j: c2's upload is 2.5g with a 16g burst, exactly" test \
	"$(tg -j customer show c2 | jget 'd["customer"]["upload"]["limit"]')" = "{'rate_bps': 2500000000, 'burst_bytes': 17179869184}"
tg -c "$CFG" attach "$IF_A" role customer >/dev/null 2>&1
expect "  ... and back to the plan's" test \
	"$(tg -j customer show c2 | jget 'd["customer"]["upload"]["limit"]["rate_bps"]')" = 10000000

# --- bad command lines
tg attach "$IF_A" role sideways >/dev/null 2>&1
expect "bad role: usage error (2)" test $? -eq 2
tg frobnicate >/dev/null 2>&1
expect "unknown command: usage error (2)" test $? -eq 2
tg st >/dev/null
expect "unique command prefixes work (st = status)" test $? -eq 0

# --- detach unloads everything
tg detach "$IF_A" >/dev/null
expect "detach exits 0" test $? -eq 0
expect "no XDP left on the interface" test "$(xdp_id "$IF_A")" = 0
expect "pin directory removed with the last interface" test ! -e "$PIN"
tg status >/dev/null 2>&1
expect "status after unload fails" test $? -ne 0

# --- indexes are stable: across a reordered CSV, and across a full unload (state database)
tg -c "$CFG" attach "$IF_A" role customer >/dev/null 2>&1
i1=$(tg -j customer show c1 | jget 'd["customer"]["index"]')
i2=$(tg -j customer show c2 | jget 'd["customer"]["index"]')
{ head -1 "$TMP/good.csv"; tail -n +2 "$TMP/good.csv" | tac; } >"$TMP/customers.csv"
tg -c "$CFG" reload >/dev/null 2>&1
expect "reload of a reordered CSV keeps every index" test \
	"$(tg -j customer show c1 | jget 'd["customer"]["index"]')$(tg -j customer show c2 | jget 'd["customer"]["index"]')" = "$i1$i2"
tg detach "$IF_A" >/dev/null 2>&1
expect "state database records the assignments" test \
	"$(sqlite3 "$TMP/state.db" "SELECT idx FROM customer_index WHERE id='c2'")" = "$i2"
tg -c "$CFG" attach "$IF_A" role customer >/dev/null 2>&1
expect "after a full unload, the reordered CSV gets the same indexes" test \
	"$(tg -j customer show c1 | jget 'd["customer"]["index"]')$(tg -j customer show c2 | jget 'd["customer"]["index"]')" = "$i1$i2"
cp "$TMP/good.csv" "$TMP/customers.csv"
tg detach "$IF_A" >/dev/null 2>&1

# --- who held an address (tollgate whois): attach and reload without tollgated record
# every change of the prefix -> customer assignment; 198.51.100.0/24 moves from c2 to c5
tg -c "$CFG" attach "$IF_A" role customer >/dev/null 2>&1
T_BEFORE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.2
{ head -2 "$TMP/good.csv"; echo 'c2,"Two, Ltd",p10,203.0.113.0/24,'; echo "c5,Five,p10,198.51.100.0/24,"; } >"$TMP/customers.csv"
tg -c "$CFG" reload >/dev/null 2>&1
expect "whois: reload of a CSV where a prefix moves exits 0" test $? -eq 0
who() { tg -c "$CFG" -j whois "$@" | jget 'd["customer"]'; }
expect "whois --at a time before the move: the old holder (c2)" test "$(who 198.51.100.20 --at "$T_BEFORE")" = c2
expect "whois now: the new holder (c5)" test "$(who 198.51.100.20)" = c5
expect "whois: the longest prefix held (c1's /32 inside the /24)" test "$(who 198.51.100.10)" = c1
expect "whois: IPv6" test "$(who 2001:db8:1::7)" = c1
expect "whois: an address nobody holds: null" test "$(who 192.0.2.1)" = None
out=$(tg -c "$CFG" -j whois 198.51.100.20 --at "$T_BEFORE")
expect "whois -j: valid JSON with address, prefix, since, until" /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["address"] == "198.51.100.20" and d["prefix"] == "198.51.100.0/24", d
assert d["since"] and d["until"] and d["at"], d' "$out"
out=$(tg -c "$CFG" whois 198.51.100.20 2>&1)
expect "whois: text names the customer and the prefix" grep -q "c5 (prefix 198.51.100.0/24, since .*held now)" <<<"$out"
tg -c "$CFG" whois 198.51.100 >/dev/null 2>&1
expect "whois: not an address: exit 2" test $? -eq 2
cp "$TMP/good.csv" "$TMP/customers.csv"
tg -c "$CFG" reload >/dev/null 2>&1
expect "whois: the prefix moved back is c2's again" test "$(who 198.51.100.20)" = c2
tg detach "$IF_A" >/dev/null 2>&1

# --- `tollgate reload` without the daemon counts a customer whose prefixes moved as
# changed, as tollgated does (a record that stays the same is not the whole customer)
moves() { # the customers CSV of step $1: prefixes move between steps, nothing else does
	local v4_1=198.51.100.10 v4_2=198.51.100.20 v4_4=198.51.100.40 v6_3=2001:db8:3::/64 v6_5=2001:db8:5::/64
	case $1 in
	1) v4_1=198.51.100.20 v4_2=198.51.100.10 v4_4=198.51.100.41 v6_3=2001:db8:33::/64 ;;
	2) v4_1=198.51.100.20 v4_2=198.51.100.10 v4_4=198.51.100.41 v6_3=2001:db8:5::/64 v6_5=2001:db8:33::/64 ;;
	esac
	cat <<EOT
id,name,plan,prefixes,interface
m1,Moves 1,p10,$v4_1 2001:db8:1::/64,
m2,Moves 2,p10,$v4_2 2001:db8:2::/64,
m3,Moves 3,p10,198.51.100.30 $v6_3,
m4,Moves 4,p10,$v4_4,
m5,Moves 5,p10,$v6_5,
EOT
}
moves 0 >"$TMP/customers.csv"
midx() { for c in m1 m2 m3 m4 m5; do tg -j customer show $c | jget 'd["customer"]["index"]'; done | tr '\n' ' '; }
tg -c "$CFG" attach "$IF_A" role customer >/dev/null 2>&1
expect "moves: 5 customers attached" test "$(tg -j status | jget 'd["customers"]["loaded"]')" = 5
idx0=$(midx)
for step in "1 4 two IPv4 prefixes swapped, one IPv4 and one IPv6 moved to new addresses" \
	"1 0 nothing" "2 2 two IPv6 prefixes swapped"; do
	# shellcheck disable=SC2086 # the words of one step
	set -- $step
	k=$1 want=$2
	shift 2
	moves "$k" >"$TMP/customers.csv"
	out=$(TOLLGATE_SOCKET=$TMP/no-daemon.sock tg -j -c "$CFG" reload 2>&1)
	expect "reload without the daemon, $*: $want changed, 0 added, 0 removed" test \
		"$(echo "$out" | jget 'd["sync"]+" "+" ".join(str(d["customers"][k]) for k in ("changed", "added", "removed"))' 2>&1)" = "full $want 0 0"
done
expect "  ... and every customer keeps its index" test "$(midx)" = "$idx0"
cp "$TMP/good.csv" "$TMP/customers.csv"
tg detach "$IF_A" >/dev/null 2>&1

# --- foreign XDP programs
in_ns ip link set dev "$IF_A" xdpgeneric obj "$FOREIGN" sec xdp
fid=$(xdp_id "$IF_A")
expect "foreign program attached for the test" test "$fid" != 0
out=$(tg -c "$CFG" attach "$IF_A" role customer 2>&1)
rc=$?
expect "attach over a foreign program is refused" test $rc -ne 0
expect "  ... saying so" grep -q "foreign XDP program" <<<"$out"
expect "  ... leaving it in place" test "$(xdp_id "$IF_A")" = "$fid"
expect "  ... and leaving nothing pinned" test ! -e "$PIN"
tg -c "$CFG" attach "$IF_A" role customer --force >/dev/null 2>&1
expect "--force replaces it" test $? -eq 0 -a "$(xdp_id "$IF_A")" != "$fid" -a "$(xdp_id "$IF_A")" != 0
tg detach "$IF_A" >/dev/null 2>&1

# --- rx VLAN offload: a NIC that strips the tag hides every VLAN-bound customer behind it
sed "s/customers: customers.csv/customers: vlan.csv/" "$CFG" >"$TMP/vlan.yaml"
cat >"$TMP/vlan.csv" <<EOF
id,name,plan,prefixes,interface,vlan
c1,One,p10,198.51.100.10,$IF_A,
c9,On VLAN 100,p10,198.51.100.200,$IF_A,100
EOF
in_ns ethtool -K "$IF_A" rxvlan on
out=$(tg -c "$TMP/vlan.yaml" attach "$IF_A" role customer 2>&1)
rc=$?
expect "rxvlan on + a VLAN-bound customer: attach refused" test $rc -ne 0
expect "  ... saying why and how to fix it" grep -q "rx VLAN offload is on.*ethtool -K $IF_A rxvlan off" <<<"$out"
expect "  ... attaching nothing" test "$(xdp_id "$IF_A")" = 0 -a ! -e "$PIN/link_$IF_A"
out=$(tg -c "$TMP/vlan.yaml" attach "$IF_A" role customer --force 2>&1)
rc=$?
expect "  ... --force attaches" test $rc -eq 0 -a "$(xdp_id "$IF_A")" != 0
expect "  ... with a loud warning" grep -q "ATTACHING WITH rx VLAN offload ON" <<<"$out"
tg detach "$IF_A" >/dev/null 2>&1
in_ns ethtool -K "$IF_A" rxvlan off rx-vlan-stag-hw-parse off
out=$(tg -c "$TMP/vlan.yaml" attach "$IF_A" role customer 2>&1)
expect "rxvlan off: attach succeeds without a warning" test $? -eq 0 -a -z "$(grep 'VLAN offload' <<<"$out")"
tg detach "$IF_A" >/dev/null 2>&1
in_ns ethtool -K "$IF_A" rxvlan on
out=$(tg -c "$CFG" attach "$IF_A" role customer 2>&1)
expect "rxvlan on but no VLAN-bound customer: attach succeeds" test $? -eq 0 -a -z "$(grep 'VLAN offload' <<<"$out")"
tg detach "$IF_A" >/dev/null 2>&1

# --- ip netns exec mounts a private /sys: a bpffs mounted there would vanish at exit
out=$(ip netns exec "$NS" "$TG" -c "$CFG" attach "$IF_A" role customer 2>&1)
rc=$?
expect "ip netns exec ... attach is refused" test $rc -ne 0
expect "  ... naming nsenter --net= as the way" grep -q "nsenter --net=/run/netns/NAME" <<<"$out"
expect "  ... and nothing stays attached" test "$(xdp_id "$IF_A")" = 0 -a ! -e "$PIN"

# --- layout version mismatch is refused, not misread
tg -c "$CFG" attach "$IF_A" role customer >/dev/null 2>&1
# tg_config starts with magic (u32) then layout_version (u32): write version 999
cfgid=$(bpftool -j map show pinned "$PIN/tg_config" | jget 'd["id"]')
val=$(bpftool -j map lookup id "$cfgid" key 0 0 0 0 | jget '" ".join(str(int(b,16)) for b in d["value"])')
# shellcheck disable=SC2086  # split on purpose: one positional parameter per byte
set -- $val
shift 8
bpftool map update id "$cfgid" key 0 0 0 0 value 0x59 0x4c 0x47 0x54 0xe7 0x03 0 0 "$@" 2>/dev/null
out=$(tg status 2>&1)
rc=$?
expect "pins of another layout version are refused" test $rc -ne 0
expect "  ... with the version named" grep -q "version 999" <<<"$out"
tg -c "$CFG" attach "$IF_A" role customer >/dev/null 2>&1
expect "attach over pins of another layout version is refused" test $? -ne 0
tg detach "$IF_A" >/dev/null 2>&1
expect "detach still works on them (an upgrade can always go back)" test $? -eq 0
expect "  ... and unloads everything" test ! -e "$PIN" -a "$(xdp_id "$IF_A")" = 0

# --- tollgated: attach from config, SIGHUP with a bad config, SIGTERM leaves XDP on
nsenter --net="/run/netns/$NS" -- "$TGD" -c "$CFG" >"$TMP/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 50); do [ -e "$PIN/link_$IF_A" ] && break; sleep 0.1; done
expect "tollgated attaches the configured interface" test -e "$PIN/link_$IF_A" -a "$(xdp_id "$IF_A")" != 0
echo "c3,Three,nosuchplan,198.51.100.77,$IF_A" >>"$TMP/customers.csv"
kill -HUP "$DPID"
for _ in $(seq 50); do grep -q "not applied" "$TMP/daemon.log" && break; sleep 0.1; done
expect "SIGHUP with a bad config: not applied" grep -q "not applied" "$TMP/daemon.log"
expect "  ... the running policy is unchanged" test "$(tg -j status | jget 'd["customers"]["loaded"]')" = 2
cp "$TMP/good.csv" "$TMP/customers.csv"
echo "c4,Four,p10,198.51.100.44,$IF_A" >>"$TMP/customers.csv"
T_HUP=$(date +%s)
sleep 1.1
kill -HUP "$DPID"
for _ in $(seq 50); do [ "$(tg -j status | jget 'd["customers"]["loaded"]')" = 3 ] && break; sleep 0.1; done
expect "SIGHUP with a good config applies it" test "$(tg -j status | jget 'd["customers"]["loaded"]')" = 3
# tollgated records the assignment on every reload, and /api/v1/whois agrees with the CLI
api_whois() { in_ns curl -sf -m 5 "http://127.0.0.1:9477/api/v1/whois?$1" | jget 'd["customer"]'; }
expect "whois after SIGHUP: the new /32 is c4's" test "$(tg -c "$CFG" -j whois 198.51.100.44 | jget 'd["customer"]')" = c4
expect "/api/v1/whois: the same (c4)" test "$(api_whois address=198.51.100.44)" = c4
expect "/api/v1/whois?at= before the reload: c2 (the /24)" test "$(api_whois "address=198.51.100.44&at=$T_HUP")" = c2
expect "/api/v1/whois: a bad address is 400" test "$(in_ns curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:9477/api/v1/whois?address=x")" = 400
kill -TERM "$DPID"
wait "$DPID"
rc=$?
DPID=
expect "SIGTERM: tollgated exits 0" test $rc -eq 0
expect "  ... and XDP stays attached" test "$(xdp_id "$IF_A")" != 0 -a -e "$PIN/link_$IF_A"
tg detach "$IF_A" >/dev/null 2>&1

finish
