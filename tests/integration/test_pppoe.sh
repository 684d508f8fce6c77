#!/usr/bin/env bash
#
# test_pppoe.sh - a BNG's access side on a veth: real frames (scapy, sendp) through the
# attached program, counted by `tollgate status` and `tollgate customer show`. LACP, LLDP
# and a PPPoE discovery and LCP exchange pass unclassified; PPPoE session traffic behind
# QinQ from the customer's address passes charged to it by its IP bytes, with a spoofed
# source or an unknown PPP protocol it is dropped; LACP to a unicast address is malformed.
#
# Runs in a network namespace of its own with one veth pair (frames sent on one end arrive
# on the other, where Tollgate is attached); pins under a bpffs directory of its own.
# Everything is removed by the trap, even when a check fails. Needs root and scapy.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TG=$ROOT/build/tollgate
NS=tg$$-h5ppp
IF_A=tg$$pa
IF_B=tg$$pb
PIN=/sys/fs/bpf/tg-h5ppp-$$
TMP=$(mktemp -d "/tmp/tg-h5ppp-$$.XXXXXX")
export TOLLGATE_PIN_DIR=$PIN
PY=/usr/bin/python3
N_PASS=0
N_FAIL=0

cleanup() {
	ip netns del "$NS" 2>/dev/null
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() {
	N_PASS=$((N_PASS + 1))
	echo "PASS $1"
}
ko() {
	N_FAIL=$((N_FAIL + 1))
	echo "FAIL $1${2:+: $2}"
}
# expect NAME WANT GOT
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else ko "$1" "want $2, got $3"; fi
}

in_ns() { nsenter --net="/run/netns/$NS" -- "$@"; }
tg() { in_ns "$TG" "$@"; }
jget() { $PY -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

if ! $PY -c 'import scapy.all' 2>/dev/null; then
	echo "SKIP test_pppoe: needs scapy for $PY (python3-scapy)"
	echo "0 passed, 0 failed"
	exit 0
fi

ip netns add "$NS" || exit 1
in_ns ip link add "$IF_A" type veth peer name "$IF_B" || exit 1
# no IPv6 on the link: its own RS, DAD and MLD would be counted with the frames sent here
for i in "$IF_A" "$IF_B"; do in_ns sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"; done
in_ns ip link set "$IF_A" up
in_ns ip link set "$IF_B" up
# veth announces rx VLAN offload, and attach refuses VLAN-bound customers behind a NIC that
# strips the tag before XDP (docs/policy.md): the customers here are behind tags, so say off
in_ns ethtool -K "$IF_A" rxvlan off rx-vlan-stag-hw-parse off >/dev/null

cat >"$TMP/tollgate.yaml" <<EOF
interfaces:
  - { name: $IF_A, role: customer, antispoof: strict }
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
id,name,plan,prefixes,interface,vlan
e1,PPPoE one,p10,198.51.100.10 2001:db8:1::/64,$IF_A,300.400
EOF
if ! tg -c "$TMP/tollgate.yaml" attach "$IF_A" role customer >"$TMP/attach.out" 2>&1; then
	ko "attach" "$(cat "$TMP/attach.out")"
	echo "$N_PASS passed, $N_FAIL failed"
	exit 1
fi

# send N FRAME-EXPRESSION: N copies of a scapy frame out of IF_B (into IF_A)
send() {
	in_ns $PY - "$IF_B" "$1" "$2" <<'EOF'
import logging, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, Dot1Q, Dot1AD, IP, IPv6, UDP, TCP, Raw, sendp, conf
from scapy.layers.ppp import PPPoED, PPPoE, PPP
from scapy.layers.l2 import LLC, STP
conf.verb = 0
iface, n, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
CPE, AC = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
def qinq():
    return Ether(src=CPE, dst=AC, type=0x88a8) / Dot1AD(vlan=300, type=0x8100) / Dot1Q(vlan=400)
frame = eval(expr)
sendp([frame] * n, iface=iface)
EOF
}

# What the interface and the customer counted: "unclassified passed drop.spoof drop.malformed"
if_counts() {
	tg -j status | jget '" ".join(str(d["interfaces"][0]["counters"][k]["packets"]) for k in ("unclassified", "passed")) + " " + " ".join(str(d["interfaces"][0]["counters"]["dropped"][k]["packets"]) for k in ("spoof", "malformed"))'
}
# count K: field K of if_counts (1 unclassified, 2 passed, 3 spoof, 4 malformed)
count() { if_counts | cut -d' ' -f"$1"; }
tg -j status >"$TMP/status.json"
if ! jget 'd["interfaces"][0]["counters"]["unclassified"]["packets"]' <"$TMP/status.json" >/dev/null 2>&1; then
	ko "tollgate -j status has the counters this test reads" "$(head -c 600 "$TMP/status.json")"
	echo "$N_PASS passed, $N_FAIL failed"
	exit 1
fi

base=$(count 1)
send 5 'Ether(src=CPE, dst="01:80:c2:00:00:02", type=0x8809) / Raw(b"\x01\x01\x01\x14" + bytes(106))'
send 3 'Ether(src=CPE, dst="01:80:c2:00:00:0e", type=0x88cc) / Raw(b"\x02\x07\x04" + bytes(43))'
send 2 'Ether(src=CPE, dst="01:80:c2:00:00:00") / LLC() / STP()'
send 4 'qinq() / PPPoED(code=0x09, sessionid=0) / Raw(b"\x01\x01\x00\x00")'
send 6 'qinq() / PPPoE(sessionid=0x1234) / PPP(proto=0xc021) / Raw(b"\x09\x01\x00\x08\x00\x00\x00\x00")'
expect "LACP, LLDP, STP, PADI and LCP pass unclassified" $((base + 20)) "$(count 1)"

base=$(count 2)
send 10 'qinq() / PPPoE(sessionid=0x1234) / PPP(proto=0x0021) / IP(src="198.51.100.10", dst="8.8.8.8") / UDP(sport=40000, dport=53) / Raw(bytes(72))'
send 4 'qinq() / PPPoE(sessionid=0x1234) / PPP(proto=0x0057) / IPv6(src="2001:db8:1::5", dst="2001:4860:4860::8888") / TCP(sport=40000, dport=443)'
expect "PPPoE session v4 and v6 from the customer pass, charged to it" $((base + 14)) "$(count 2)"
up=$(tg -c "$TMP/tollgate.yaml" -j customer show e1 | jget 'str(d["customer"]["upload"]["passed"]["packets"]) + " " + str(d["customer"]["upload"]["passed"]["bytes"])' 2>&1)
# 10 x (IPv4 20 + UDP 8 + 72) + 4 x (IPv6 40 + TCP 20): the IP bytes, not the frames
expect "the customer's upload counts the inner IP packets" "14 1240" "$up"

base=$(count 3)
send 7 'qinq() / PPPoE(sessionid=0x1234) / PPP(proto=0x0021) / IP(src="198.51.100.99", dst="8.8.8.8") / UDP(sport=40000, dport=53)'
expect "PPPoE session with a spoofed source: spoof" $((base + 7)) "$(count 3)"

base=$(count 4)
send 3 'qinq() / PPPoE(sessionid=0x1234) / PPP(proto=0x80fd) / Raw(b"\x01\x01\x00\x04")'
send 2 'Ether(src=CPE, dst=AC, type=0x8809) / Raw(b"\x01\x01\x01\x14" + bytes(106))'
expect "unknown PPP protocol and LACP to a unicast address: malformed" $((base + 5)) "$(count 4)"

echo "$N_PASS passed, $N_FAIL failed"
[ "$N_FAIL" -eq 0 ]
