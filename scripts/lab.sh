# shellcheck shell=bash
# shellcheck disable=SC2034  # a library: the LAB_* addresses and LAB_BG_PID are for its callers
#
# lab.sh - a network-namespace lab for Tollgate, to be sourced (tests/integration/test_lab.sh,
# scripts/demo.sh). It never touches the host's own interfaces: every namespace and veth it
# makes is named after the PREFIX given to lab_up, and all traffic stays on those veths.
#
#   PREFIX-cust  customers A and B (one host each, source-routed out of their own veths)
#   PREFIX-spf   customer C, whose host also sends spoofed packets
#   PREFIX-rtr   the ISP edge router: Tollgate attaches to its veths
#   PREFIX-up    the upstream host (the "Internet")
#
#   PREFIX-cust: PREFIX-ca <-veth-> PREFIX-c0 :PREFIX-rtr  customer role; A untagged, V on VLAN 100
#                PREFIX-cb <-veth-> PREFIX-c1 :PREFIX-rtr  customer role; B
#   PREFIX-spf:  PREFIX-sa <-veth-> PREFIX-c2 :PREFIX-rtr  customer role; C
#   PREFIX-up:   PREFIX-ua <-veth-> PREFIX-u0 :PREFIX-rtr  upstream role
#
# Addresses are documentation ranges only (RFC 5737, RFC 3849):
#   A  198.51.100.10/28   2001:db8:a::10/64  gw .1   ::1   customer prefixes 198.51.100.0/28   2001:db8:a::/48
#   B  198.51.100.74/28   2001:db8:b::10/64  gw .65  ::1                     198.51.100.64/28  2001:db8:b::/48
#   C  198.51.100.130/28  2001:db8:c::10/64  gw .129 ::1                     198.51.100.128/28 2001:db8:c::/48
#   V  (no host)          customer bound to VLAN 100 on PREFIX-c0            198.51.100.192/28 2001:db8:d::/48
#   upstream host 203.0.113.1/24 and 2001:db8:ff::1/64; router 203.0.113.254, 2001:db8:ff::fe
#   walled garden (also the upstream host) 203.0.113.53, 2001:db8:ff::53
#
# VLAN: this kernel has no 802.1Q devices (CONFIG_VLAN_8021Q unset) and no bridge VLAN
# filtering, so no host can sit behind a VLAN subinterface. Customer V's tagged frames are
# written with scapy straight onto PREFIX-ca (lab_send): the router's veth receives them
# tagged, exactly as from a switch's trunk, which is what Tollgate's binding sees.
#
# Quiet links, so that counters can be checked exactly: neighbours are static (no ARP or
# neighbour discovery once the lab is up), hosts send no router solicitations, IPv6
# addresses skip DAD, and lab_up waits until the unsolicited MLD reports are over. The
# router has rp_filter off: it forwards whatever Tollgate passes, so a leak shows upstream.
#
# Functions:
#   lab_up PREFIX                 build the lab (PREFIX: 1-9 of [a-z0-9], e.g. tg$$)
#   lab_down PREFIX               remove it; idempotent, quiet, safe on a half-built lab
#   lab_write_config PREFIX DIR   DIR/tollgate.yaml + DIR/customers.csv for this lab (plans below)
#   lab_tg PREFIX ARGS...         run build/tollgate inside PREFIX-rtr (pins stay visible)
#   lab_ns NAMESPACE CMD...       run CMD in a namespace
#   lab_send PREFIX NS DEV COUNT PPS SRC DST [VLAN] [PAYLOAD_LEN]
#                                 send COUNT UDP packets with scapy from NS's DEV to the router
#                                 (SRC "rand4"/"rand6": a random foreign address each packet)
#   lab_send_bg ...               the same in the background; the sender's PID in LAB_BG_PID
#   lab_json EXPR                 read JSON on stdin, print the Python expression EXPR of it (j)
#   lab_trafgen_syn DMAC SMAC SRC DST [DPORT], lab_trafgen_udp DMAC SMAC SRC DST SPORT,
#   lab_trafgen_icmp DMAC SMAC SRC DST, lab_trafgen_frag DMAC SMAC SRC DST,
#   lab_trafgen_udp6 DMAC SMAC SRC DST SPORT (the IPv4 ones start with lab_trafgen_ip4)
#                                 a trafgen packet configuration on stdout (test_flood.sh,
#                                 bench/bench_wire.sh); SRC is trafgen's bytes ("45, drnd(3)")
#
# Tunables read by lab_write_config (rates and sizes as Tollgate parses them):
#   plan lab-a (customer A): LAB_A_UP 10mbit, LAB_A_DOWN 20mbit, LAB_A_BURST 64k (a small
#     burst, so that it adds little to what a policing test measures over a few seconds)
#   plan lab-b (B, C, V), design.md's home-100: LAB_B_UP 20mbit, LAB_B_UP_BURST 256k,
#     LAB_B_DOWN 100mbit, LAB_B_DOWN_BURST 1m
#   LAB_A_FLOOD: plan lab-a's flood limits, a YAML flow map (none by default)
#   LAB_A_PEAK: plan lab-a's peak in both directions, "peak_rate: 40mbit, peak_burst: 64k"
#     (none by default), LAB_A_YELLOW its yellow_dscp
#   LAB_ANTISPOOF strict, LAB_MODE native

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_TOLLGATE=${LAB_TOLLGATE:-$LAB_ROOT/build/tollgate}
LAB_PY=/usr/bin/python3 # the system Python: it has scapy (a pyenv python3 may not)
LAB_VLAN_V=100

LAB_A4=198.51.100.10
LAB_A6=2001:db8:a::10
LAB_A_GW4=198.51.100.1
LAB_A_GW6=2001:db8:a::1
LAB_A_PFX="198.51.100.0/28 2001:db8:a::/48"
LAB_B4=198.51.100.74
LAB_B6=2001:db8:b::10
LAB_B_GW4=198.51.100.65
LAB_B_GW6=2001:db8:b::1
LAB_B_PFX="198.51.100.64/28 2001:db8:b::/48"
LAB_C4=198.51.100.130
LAB_C6=2001:db8:c::10
LAB_C_GW4=198.51.100.129
LAB_C_GW6=2001:db8:c::1
LAB_C_PFX="198.51.100.128/28 2001:db8:c::/48"
LAB_V4=198.51.100.200
LAB_V6=2001:db8:d::10
LAB_V_PFX="198.51.100.192/28 2001:db8:d::/48"
LAB_UP4=203.0.113.1
LAB_UP6=2001:db8:ff::1
LAB_UP_GW4=203.0.113.254
LAB_UP_GW6=2001:db8:ff::fe
# The walled garden (the ISP's resolver and portal, which a suspended customer still
# reaches): second addresses of the upstream host.
LAB_WG4=203.0.113.53
LAB_WG6=2001:db8:ff::53

lab_log() { printf 'lab: %s\n' "$*" >&2; }

lab_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# nsenter keeps the host's mount namespace: `ip netns exec` remounts /sys, which hides
# bpffs and with it the pins that let one tollgate invocation see what the last one did.
lab_tg() {
	local p=$1
	shift
	nsenter --net="/run/netns/$p-rtr" -- "$LAB_TOLLGATE" "$@"
}

# trafgen packet configurations (raw bytes: eth, IPv4, L4; checksums by trafgen). SRC is
# trafgen bytes, e.g. "45, 0, drnd(2)" for a random source per packet; DST a dotted address.
lab_trafgen_bytes() { sed 's/^/0x/; s/:/, 0x/g' <<<"$1"; }
# lab_trafgen_ip4 DMAC SMAC SRC DST TOTLEN PROTO [FRAG]: the Ethernet and IPv4 headers a
# configuration starts with (FRAG: flags and fragment offset, default DF)
lab_trafgen_ip4() {
	cat <<-EOF
		{ $(lab_trafgen_bytes "$1"), $(lab_trafgen_bytes "$2"), 0x08, 0x00,
		  0x45, 0, const16($5), drnd(2), ${7:-0x40, 0}, 64, $6, csumip(14, 33),
		  $3, $(tr . , <<<"$4"),
	EOF
}
# lab_trafgen_syn DMAC SMAC SRC DST [DPORT]: TCP SYN to port DPORT (80)
lab_trafgen_syn() {
	lab_trafgen_ip4 "$1" "$2" "$3" "$4" 40 6
	cat <<-EOF
		  drnd(2), const16(${5:-80}), drnd(4), const32(0), const16((5 << 12) | 2), const16(512),
		  csumtcp(14, 34), const16(0) }
	EOF
}
# lab_trafgen_udp DMAC SMAC SRC DST SPORT: UDP to port 40000, 100 bytes of payload
lab_trafgen_udp() {
	lab_trafgen_ip4 "$1" "$2" "$3" "$4" 128 17
	cat <<-EOF
		  const16($5), const16(40000), const16(108), const16(0),
		  fill(0xab, 100) }
	EOF
}
# lab_trafgen_icmp DMAC SMAC SRC DST: ICMP echo request, 56 bytes of payload
lab_trafgen_icmp() {
	lab_trafgen_ip4 "$1" "$2" "$3" "$4" 84 1
	cat <<-EOF
		  8, 0, csumicmp(34, 97), drnd(2), const16(1),
		  fill(0xab, 56) }
	EOF
}
# lab_trafgen_udp6 DMAC SMAC SRC DST SPORT: UDP over IPv6 to port 40000, 100 bytes of
# payload; SRC trafgen's 16 bytes, DST an IPv6 address
lab_trafgen_udp6() {
	local dst
	dst=$("$LAB_PY" -c 'import ipaddress, sys
print(", ".join("0x%02x" % b for b in ipaddress.IPv6Address(sys.argv[1]).packed))' "$4") || return 1
	cat <<-EOF
		{ $(lab_trafgen_bytes "$1"), $(lab_trafgen_bytes "$2"), 0x86, 0xdd,
		  0x60, 0, 0, 0, const16(108), 17, 64,
		  $3, $dst,
		  const16($5), const16(40000), const16(108), csumudp6(14, 54),
		  fill(0xab, 100) }
	EOF
}
# lab_trafgen_frag DMAC SMAC SRC DST: the last fragment (offset 1480) of a UDP datagram
lab_trafgen_frag() {
	lab_trafgen_ip4 "$1" "$2" "$3" "$4" 120 17 "const16(1480 / 8)"
	cat <<-EOF
		  fill(0xab, 100) }
	EOF
}

lab_json() {
	"$LAB_PY" -c 'import json,sys
j = json.load(sys.stdin)
v = eval(sys.argv[1], {"j": j})
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1"
}

lab_mac() { # NS IFACE
	ip -n "$1" -o link show dev "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# One step of lab_up: stops at the first failure whether or not the caller runs under
# `set -e` (which bash ignores inside `lab_up ... || ...`).
lab_do() {
	[ -z "$LAB_FAILED" ] || return 1
	"$@" || {
		LAB_FAILED="$*"
		lab_log "failed: $*"
		return 1
	}
}

# Settings every new interface of a namespace inherits (its "default" conf is copied when
# the interface is created there).
lab_ns_sysctls() {
	local ns=$1 fwd=$2
	lab_ns "$ns" sysctl -qw \
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
		net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.default.mldv2_unsolicited_report_interval=10 \
		net.ipv6.conf.default.mldv1_unsolicited_report_interval=10 \
		net.ipv4.ip_forward="$fwd" net.ipv6.conf.all.forwarding="$fwd"
	# IPv4 settings of a new namespace are inherited from the host's: a host with rp_filter
	# on would have the router drop spoofed sources itself, hiding what Tollgate does.
	lab_ns "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# Static neighbour in NS on DEV: ADDR is at PEER_NS's PEER_DEV.
lab_neigh() {
	local ns=$1 dev=$2 addr=$3 peer_ns=$4 peer_dev=$5 mac
	mac=$(lab_mac "$peer_ns" "$peer_dev")
	[ -n "$mac" ] || return 1
	ip -n "$ns" neigh replace "$addr" lladdr "$mac" dev "$dev" nud permanent
}

# Link HOST_NS:HOST_DEV <-> ROUTER DEV with addresses HOST4 HOST6 and gateways GW4 GW6.
lab_link() {
	local p=$1 hns=$2 hdev=$3 rdev=$4 h4=$5 h6=$6 gw4=$7 gw6=$8 len4=$9
	lab_do ip link add "$hdev" netns "$hns" type veth peer name "$rdev" netns "$p-rtr"
	lab_do ip -n "$hns" addr add "$h4/$len4" dev "$hdev"
	lab_do ip -n "$hns" addr add "$h6/64" dev "$hdev" nodad
	lab_do ip -n "$p-rtr" addr add "$gw4/$len4" dev "$rdev"
	lab_do ip -n "$p-rtr" addr add "$gw6/64" dev "$rdev" nodad
	lab_do ip -n "$hns" link set "$hdev" up
	lab_do ip -n "$p-rtr" link set "$rdev" up
	# veth announces rx VLAN offload; `tollgate attach` refuses VLAN-bound customers
	# behind a NIC that strips the tag before XDP (docs/policy.md), so the router's side says off
	lab_do nsenter --net="/run/netns/$p-rtr" -- ethtool -K "$rdev" rxvlan off rx-vlan-stag-hw-parse off
	lab_do lab_neigh "$hns" "$hdev" "$gw4" "$p-rtr" "$rdev"
	lab_do lab_neigh "$hns" "$hdev" "$gw6" "$p-rtr" "$rdev"
	lab_do lab_neigh "$p-rtr" "$rdev" "$h4" "$hns" "$hdev"
	lab_do lab_neigh "$p-rtr" "$rdev" "$h6" "$hns" "$hdev"
}

lab_up() {
	local p=$1 ns pfx
	if ! [[ $p =~ ^[a-z0-9]{1,9}$ ]]; then
		lab_log "prefix '$p': want 1-9 characters of [a-z0-9] (interface names are <= 15)"
		return 1
	fi
	for ns in cust spf rtr up; do
		if [ -e "/run/netns/$p-$ns" ]; then
			lab_log "namespace $p-$ns exists already"
			return 1
		fi
	done
	LAB_FAILED=
	for ns in cust spf rtr up; do
		lab_do ip netns add "$p-$ns"
		lab_do ip -n "$p-$ns" link set lo up
	done
	lab_do lab_ns_sysctls "$p-cust" 0
	lab_do lab_ns_sysctls "$p-spf" 0
	lab_do lab_ns_sysctls "$p-up" 0
	lab_do lab_ns_sysctls "$p-rtr" 1

	# veths are created straight in their namespaces: nothing appears in the host's
	lab_link "$p" "$p-cust" "$p-ca" "$p-c0" "$LAB_A4" "$LAB_A6" "$LAB_A_GW4" "$LAB_A_GW6" 28
	lab_link "$p" "$p-cust" "$p-cb" "$p-c1" "$LAB_B4" "$LAB_B6" "$LAB_B_GW4" "$LAB_B_GW6" 28
	lab_link "$p" "$p-spf" "$p-sa" "$p-c2" "$LAB_C4" "$LAB_C6" "$LAB_C_GW4" "$LAB_C_GW6" 28
	lab_link "$p" "$p-up" "$p-ua" "$p-u0" "$LAB_UP4" "$LAB_UP6" "$LAB_UP_GW4" "$LAB_UP_GW6" 24

	lab_do ip -n "$p-up" addr add "$LAB_WG4/24" dev "$p-ua"
	lab_do ip -n "$p-up" addr add "$LAB_WG6/64" dev "$p-ua" nodad
	lab_do lab_neigh "$p-rtr" "$p-u0" "$LAB_WG4" "$p-up" "$p-ua"
	lab_do lab_neigh "$p-rtr" "$p-u0" "$LAB_WG6" "$p-up" "$p-ua"

	# Routes: only the lab's own prefixes, no default route anywhere. A and B share a
	# namespace, so each one's traffic leaves by its own veth through a source rule.
	lab_do ip -n "$p-cust" route add 203.0.113.0/24 via "$LAB_A_GW4" dev "$p-ca"
	lab_do ip -n "$p-cust" -6 route add 2001:db8:ff::/64 via "$LAB_A_GW6" dev "$p-ca"
	lab_do ip -n "$p-cust" rule add from "$LAB_B4/28" lookup 100 pref 100
	lab_do ip -n "$p-cust" route add 203.0.113.0/24 via "$LAB_B_GW4" dev "$p-cb" table 100
	lab_do ip -n "$p-cust" -6 rule add from "$LAB_B6/64" lookup 100 pref 100
	lab_do ip -n "$p-cust" -6 route add 2001:db8:ff::/64 via "$LAB_B_GW6" dev "$p-cb" table 100
	lab_do ip -n "$p-spf" route add 203.0.113.0/24 via "$LAB_C_GW4" dev "$p-sa"
	lab_do ip -n "$p-spf" -6 route add 2001:db8:ff::/64 via "$LAB_C_GW6" dev "$p-sa"
	lab_do ip -n "$p-up" route add 198.51.100.0/24 via "$LAB_UP_GW4" dev "$p-ua"
	for pfx in 2001:db8:a::/48 2001:db8:b::/48 2001:db8:c::/48 2001:db8:d::/48; do
		lab_do ip -n "$p-up" -6 route add "$pfx" via "$LAB_UP_GW6" dev "$p-ua"
	done
	# V has no host: its prefixes route back out of the shared access port (unused by the
	# tests, which only send V's frames upstream, but keeps the router's table honest).
	lab_do ip -n "$p-rtr" route add 198.51.100.192/28 dev "$p-c0"
	lab_do ip -n "$p-rtr" -6 route add 2001:db8:d::/48 dev "$p-c0"

	if [ -n "$LAB_FAILED" ]; then
		lab_log "lab_up $p failed; call lab_down $p"
		return 1
	fi
	# Unsolicited MLD reports (the solicited-node groups of every new address) would be
	# counted as spoofed; they are over within the report interval set above.
	sleep 0.5
}

lab_down() {
	local p=$1 ns
	[ -n "$p" ] || return 0
	# Deleting a namespace deletes its veths (and their peers) and XDP attachments.
	for ns in cust spf rtr up; do
		if [ -e "/run/netns/$p-$ns" ]; then
			ip netns del "$p-$ns" 2>/dev/null
		fi
	done
	return 0
}

# The packet sender behind lab_send: argv DEV ROUTER_MAC COUNT PPS SRC DST VLAN PAYLOAD_LEN.
LAB_SEND_PY='
import random, sys, time
from scapy.all import Ether, Dot1Q, IP, IPv6, UDP, Raw, conf
dev, mac, count, pps, src, dst, vlan, plen = sys.argv[1:]
count, pps, plen = int(count), float(pps), int(plen)
def addr():
    if src == "rand4":
        return "192.0.2.%d" % random.randint(1, 254)
    if src == "rand6":
        return "2001:db8:dead:%x::%x" % (random.randint(0, 0xffff), random.randint(1, 0xffff))
    return src
v6 = ":" in dst
sock = conf.L2socket(iface=dev)
gap, t = 1.0 / pps, time.monotonic()
try:
    for i in range(count):
        l2 = Ether(dst=mac)
        if vlan:
            l2 = l2 / Dot1Q(vlan=int(vlan))
        l3 = IPv6(src=addr(), dst=dst) if v6 else IP(src=addr(), dst=dst)
        sock.send(l2 / l3 / UDP(sport=40000 + i % 1000, dport=9) / Raw(b"t" * plen))
        t += gap
        d = t - time.monotonic()
        if d > 0:
            time.sleep(d)
except KeyboardInterrupt:
    sys.exit(130)
sock.close()
print(count)
'

# lab_send PREFIX NS DEV COUNT PPS SRC DST [VLAN] [PAYLOAD_LEN]: send COUNT UDP datagrams
# (to port 9, PAYLOAD_LEN bytes, default 64) from NS's DEV, addressed to the router's MAC
# (the router forwards to DST what Tollgate passes), at PPS packets/s, 802.1Q-tagged if
# VLAN is given. SRC may be "rand4" / "rand6": a random address from 192.0.2.0/24 or
# 2001:db8:dead::/48 for each packet (no customer's). Prints the number sent.
# lab_send_bg takes the same arguments, runs it in the background and sets LAB_BG_PID to
# the sender's own PID (not a subshell's), for the caller to end.
lab_send_argv() {
	local p=$1 ns=$2 dev=$3 count=$4 pps=$5 src=$6 dst=$7 vlan=${8:-} plen=${9:-64} rdev
	case $dev in
	"$p-ca") rdev=$p-c0 ;;
	"$p-cb") rdev=$p-c1 ;;
	"$p-sa") rdev=$p-c2 ;;
	"$p-ua") rdev=$p-u0 ;;
	*)
		lab_log "lab_send: unknown device $dev"
		return 1
		;;
	esac
	LAB_ARGV=(ip netns exec "$ns" "$LAB_PY" -c "$LAB_SEND_PY" "$dev" "$(lab_mac "$p-rtr" "$rdev")"
		"$count" "$pps" "$src" "$dst" "$vlan" "$plen")
}

lab_send() {
	lab_send_argv "$@" || return 1
	"${LAB_ARGV[@]}"
}

lab_send_bg() {
	lab_send_argv "$@" || return 1
	"${LAB_ARGV[@]}" >/dev/null &
	LAB_BG_PID=$!
}

# Write DIR/tollgate.yaml and DIR/customers.csv describing this lab's router.
lab_write_config() {
	local p=$1 dir=$2 as=${LAB_ANTISPOOF:-strict} mode=${LAB_MODE:-native}
	mkdir -p "$dir" || return 1
	cat >"$dir/tollgate.yaml" <<-EOF
		# Tollgate lab $p, written by scripts/lab.sh
		interfaces:
		  - { name: $p-c0, role: customer, mode: $mode, antispoof: $as }
		  - { name: $p-c1, role: customer, mode: $mode, antispoof: $as }
		  - { name: $p-c2, role: customer, mode: $mode, antispoof: $as }
		  - { name: $p-u0, role: upstream, mode: $mode }
		plans:
		  lab-a:
		    upload:   { rate: ${LAB_A_UP:-10mbit}, burst: ${LAB_A_BURST:-64k}${LAB_A_PEAK:+, $LAB_A_PEAK} }
		    download: { rate: ${LAB_A_DOWN:-20mbit}, burst: ${LAB_A_BURST:-64k}${LAB_A_PEAK:+, $LAB_A_PEAK} }
		    ${LAB_A_FLOOD:+flood: $LAB_A_FLOOD}
		    ${LAB_A_YELLOW:+yellow_dscp: $LAB_A_YELLOW}
		  lab-b:
		    upload:   { rate: ${LAB_B_UP:-20mbit}, burst: ${LAB_B_UP_BURST:-256k} }
		    download: { rate: ${LAB_B_DOWN:-100mbit}, burst: ${LAB_B_DOWN_BURST:-1m} }
		customers: customers.csv
		walled_garden: [$LAB_WG4/32, $LAB_WG6/128]
		pin_dir: ${TOLLGATE_PIN_DIR:-/sys/fs/bpf/tg-lab-$p}
		state: $dir/state.db
	EOF
	cat >"$dir/customers.csv" <<-EOF
		id,name,plan,prefixes,interface,vlan
		cust-a,"Alice, untagged",lab-a,$LAB_A_PFX,$p-c0,
		cust-b,Bob,lab-b,$LAB_B_PFX,$p-c1,
		cust-c,Carol (spoofer),lab-b,$LAB_C_PFX,$p-c2,
		cust-v,Victor on VLAN $LAB_VLAN_V,lab-b,$LAB_V_PFX,$p-c0,$LAB_VLAN_V
	EOF
}
