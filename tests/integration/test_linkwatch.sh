#!/usr/bin/env bash
#
# test_linkwatch.sh - tollgated watches the interfaces it polices (user/daemon/linkwatch.h):
# a configured veth deleted and recreated under traffic is attached again within 1 s and
# its customers' bindings follow the new ifindex (a spoofed source drops again, the bound
# customer passes); the figure of spoofed packets that crossed unpoliced is printed. Our
# link detached by another tool is taken back; a foreign XDP program is alarmed and not
# fought, unless the interface says force: true. Every change is an audit event,
# tollgate_interface_attached follows 1/0, `tollgate status` shows it; rename, down/up,
# MTU and rx VLAN offload are recorded.
#
# Two namespaces: R (tollgated, the router side IF_A) and C (the customer side IF_C),
# with fixed MACs so a sender on C can address IF_A across a recreation. A UDP receiver on
# R (0.0.0.0:9, it survives the device) logs every datagram's source. Needs root; the trap
# removes namespaces, pins, files and the processes started here, even on failure.
# shellcheck disable=SC2317  # the trap and check() call functions indirectly
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
suite_init lw
FOREIGN=$ROOT/build/tests/xdp_foreign.bpf.o
PY=/usr/bin/python3
NR=tg$$-lwr
NC=tg$$-lwc
IF_A=tg$$lwa
IF_C=tg$$lwc
MAC_A=02:48:38:00:00:01
MAC_C=02:48:38:00:00:02
R4=10.248.0.1
NETNS=("$NR" "$NC")
PORT=$((20000 + $$ % 20000))
export TOLLGATE_SOCKET=$TMP/ctl.sock
SPOOF=203.0.113.7
LEGIT=198.51.100.10
RPID=
SPID=

teardown() {
	local p
	for p in $SPID $RPID; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
}

in_r() { nsenter --net="/run/netns/$NR" -- "$@"; }
in_c() { nsenter --net="/run/netns/$NC" -- "$@"; }
tg() { in_r "$TG" -c "$CFG" "$@"; }
jget() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
xdp_id() { in_r ip -j link show dev "$1" 2>/dev/null | "$PY" -c 'import json,sys; l=json.load(sys.stdin)[0]; print(l.get("xdp",{}).get("prog",{}).get("id",0))' 2>/dev/null || echo 0; }
our_id() { bpftool -j prog show pinned "$PIN/prog" | jget 'd["id"]'; }
metric() { in_r curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" 'index($0, m) == 1 { print $2 }'; }
attached_metric() { metric "tollgate_interface_attached{interface=\"$IF_A\",role=\"customer\"}"; }
status_state() { tg -j status | jget "[i['state'] for i in d['interfaces'] if i['name'] == '$IF_A'][0]"; }
events() { tg -j events | jget "' '.join(e['action'] for e in d['events'] if e['action'].startswith('iface_'))"; }
# wait_for SECONDS CMD...: poll every 20 ms until CMD succeeds
wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 50; i++)); do
		"$@" && return 0
		sleep 0.02
	done
	return 1
}
is_ours() { [ "$(xdp_id "$IF_A")" = "$(our_id)" ]; }
# one process a poll: the machine may be busy, and the poll must not hide the figure
ip_says_ours() { ip -n "$NR" link show dev "$IF_A" 2>/dev/null | grep -q "prog/xdp id $1 "; }
status_is() { [ "$(status_state)" = "$1" ]; }
attached_is() { [ "$(attached_metric)" = "$1" ]; }
has_event() { grep -qw "$1" <<<"$(events)"; }
conflict_is() { [ "$(metric "tollgate_interface_rxvlan_conflict{interface=\"$IF_A\"}")" = "$1" ]; }
got() { grep -c "^$1 " "$TMP/recv.log"; } # datagrams received from a source

# make_link: the veth pair, the customer's side up from the start and IF_A set up by the
# next command, as a PPPoE or VLAN device comes up right after it is created. R4 is on R's
# loopback (local on every interface), so traffic flows the moment IF_A is up.
make_link() {
	ip -n "$NC" link add "$IF_C" address "$MAC_C" up type veth peer name "$IF_A" netns "$NR" \
		address "$MAC_A" && ip -n "$NR" link set "$IF_A" up
}

ip netns add "$NR" && ip netns add "$NC" || exit 1
in_r sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
ip -n "$NR" link set lo up
ip -n "$NR" addr add "$R4/32" dev lo
make_link || exit 1

cat >"$TMP/tollgate.yaml" <<EOF
interfaces:
  - { name: $IF_A, role: customer, antispoof: strict }
plans:
  p10:
    upload: { rate: 100mbit, burst: 1m }
    download: { rate: 100mbit, burst: 1m }
customers: customers.csv
state: state.db
pin_dir: $PIN
metrics: { listen: "127.0.0.1:$PORT" }
capacity: { max_customers: 64 }
EOF
cat >"$TMP/customers.csv" <<EOF
id,name,plan,prefixes,interface,vlan
h8c1,Bound,p10,$LEGIT/32,$IF_A,
h8v1,On VLAN 100,p10,198.51.100.128/28,$IF_A,100
EOF
CFG=$TMP/tollgate.yaml

# the receiver: "SOURCE SEQ" per datagram to port 9, flushed at once
cat >"$TMP/recv.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9))
out = open(sys.argv[1], "w", buffering=1)
while True:
    data, (src, _) = s.recvfrom(2048)
    out.write("%s %s\n" % (src, data[:12].decode(errors="replace")))
EOF
# the sender: IPv4/UDP frames to MAC_A from each source in turn, every PERIOD s, COUNT
# rounds (0: until killed); a missing device (deleted) is skipped, not fatal
cat >"$TMP/send.py" <<'EOF'
import socket, struct, sys, time
dev, dmac, smac, dst, period, count = sys.argv[1:7]
srcs = sys.argv[7:]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
def frame(src, seq):
    pay = ("%012d" % seq).encode()
    udp = struct.pack("!HHHH", 40000, 9, 8 + len(pay), 0) + pay
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq & 0xffff, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return bytes.fromhex(dmac.replace(":", "")) + bytes.fromhex(smac.replace(":", "")) + b"\x08\x00" + ip + udp
seq, n, sent = 0, int(count), 0
while n == 0 or seq < n:
    for src in srcs:
        try:
            s.sendto(frame(src, seq), (dev, 0))
            sent += 1
        except OSError:
            pass
    seq += 1
    time.sleep(float(period))
print(sent)
EOF
send_burst() { in_c "$PY" "$TMP/send.py" "$IF_C" "$MAC_A" "$MAC_C" "$R4" 0.001 "$1" $SPOOF $LEGIT; }

# --- tollgated up
nsenter --net="/run/netns/$NR" -- "$TGD" -c "$CFG" >"$TMP/daemon.log" 2>&1 &
DPID=$!
wait_for 10 test -e "$PIN/link_$IF_A"
check "tollgated attaches $IF_A" is_ours
wait_for 5 in_r curl -sf "http://127.0.0.1:$PORT/metrics" -o /dev/null
check "tollgate_interface_attached is 1" test "$(attached_metric)" = 1
check "status: state attached" test "$(status_state)" = attached
# veth announces rx VLAN offload, and h8v1 is bound to VLAN 100 behind it
check "rx VLAN offload with a VLAN customer is audited at start" has_event iface_rxvlan
check "  ... and tollgate_interface_rxvlan_conflict is 1" conflict_is 1
in_r ethtool -K "$IF_A" rxvlan off rx-vlan-stag-hw-parse off
check "rxvlan off: the conflict metric falls to 0" wait_for 3 conflict_is 0

# --- traffic: the receiver on R, a steady sender on C (one spoofed, one bound, per ms)
nsenter --net="/run/netns/$NR" -- "$PY" "$TMP/recv.py" "$TMP/recv.log" &
RPID=$!
sleep 0.3
n=$(send_burst 200)
sleep 0.3
check "before: 200 rounds sent, the bound customer's 200 arrive, no spoofed one" \
	test "$n" = 400 -a "$(got $LEGIT)" = 200 -a "$(got $SPOOF)" = 0
nsenter --net="/run/netns/$NC" -- "$PY" "$TMP/send.py" "$IF_C" "$MAC_A" "$MAC_C" "$R4" 0.001 0 $SPOOF $LEGIT >/dev/null &
SPID=$!
sleep 0.5

# --- delete: not attached, metric 0, status absent, audited
in_r ip link del "$IF_A"
check "deleted: status says absent" wait_for 3 status_is absent
check "  ... tollgate_interface_attached is 0" attached_is 0
check "  ... and iface_gone is in the audit log" has_event iface_gone
before=$(got $SPOOF)

# --- recreate under traffic: attached again within 1 s
oid=$(our_id)
tc=$(date +%s%N)
make_link
t0=$(date +%s%N)
wait_for 3 ip_says_ours "$oid"
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
check "recreated: attached again within 1 s of the device being up (${ms} ms; creating it took $(((t0 - tc) / 1000000)) ms)" \
	test "$ms" -lt 1000 -a "$(xdp_id "$IF_A")" = "$(our_id)"
sleep 1
attach_ms=$(tg -j events | jget "[e['evidence']['attach_ms'] for e in d['events'] if e['action'] == 'iface_reattached'][-1]")
check "  ... tollgated attached it ${attach_ms} ms after the link event (iface_reattached)" \
	test -n "$attach_ms" -a "${attach_ms:-9999}" -lt 1000
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
SPID=
sleep 0.2
crossed=$(($(got $SPOOF) - before))
echo "  figure: $crossed spoofed packets (one a millisecond) crossed $IF_A unpoliced after its recreation; tollgated attached it ${attach_ms} ms after the link event"
l0=$(got $LEGIT) s0=$(got $SPOOF)
n=$(send_burst 200)
sleep 0.3
check "after: the bound customer's 200 pass (its binding follows the new ifindex)" \
	test "$n" = 400 -a "$(($(got $LEGIT) - l0))" = 200
check "after: no spoofed packet passes" test "$(($(got $SPOOF) - s0))" = 0
check "  ... tollgate_interface_attached is 1 again" attached_is 1
check "  ... status attached" status_is attached
check "  ... iface_reattached is in the audit log" has_event iface_reattached

# --- our link detached by another tool: taken back
bpftool link detach pinned "$PIN/link_$IF_A"
check "link detached by bpftool: attached again" wait_for 3 is_ours
check "  ... audited as iface_lost" has_event iface_lost

# --- a foreign program: alarmed, not fought (the daemon is held so the swap is atomic)
kill -STOP "$DPID"
bpftool link detach pinned "$PIN/link_$IF_A"
in_r ip link set dev "$IF_A" xdpgeneric obj "$FOREIGN" sec xdp
fid=$(xdp_id "$IF_A")
kill -CONT "$DPID"
check "foreign program: audited as iface_foreign" wait_for 3 has_event iface_foreign
sleep 1.5
check "  ... and not fought: it is still there" test "$(xdp_id "$IF_A")" = "$fid" -a "$fid" != 0
check "  ... tollgate_interface_attached is 0" attached_is 0
check "  ... status says foreign" status_is foreign
sed -i "s/antispoof: strict }/antispoof: strict, force: true }/" "$CFG"
kill -HUP "$DPID"
check "force: true and a reload: the interface is taken back" wait_for 3 is_ours
check "  ... tollgate_interface_attached is 1" attached_is 1

# --- rename, down/up, MTU: recorded; renamed away stays policed
in_r ip link set dev "$IF_A" down
in_r ip link set dev "$IF_A" up
in_r ip link set dev "$IF_A" mtu 1400
sleep 0.5
check "down is audited" has_event iface_down
check "up is audited" has_event iface_up
check "an MTU change is audited" has_event iface_mtu
in_r ip link set dev "$IF_A" down
in_r ip link set dev "$IF_A" name "${IF_A}x"
sleep 1.2
check "renamed away: audited" has_event iface_renamed
check "  ... the device keeps the program" test "$(xdp_id "${IF_A}x")" = "$(our_id)"
check "  ... tollgate_interface_attached is 0 (the configured name is not policed)" attached_is 0
in_r ip link set dev "${IF_A}x" name "$IF_A"
in_r ip link set dev "$IF_A" up
check "renamed back: attached again" wait_for 3 attached_is 1

kill -TERM "$DPID"
wait "$DPID"
DPID=
finish
