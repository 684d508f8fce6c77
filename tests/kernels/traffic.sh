#!/bin/sh
#
# traffic.sh - real packets through Tollgate on the kernel it runs on: the strict-mode
# interface binding and the charge of a spoof drop to the port's owner, which the golden
# suite checks through BPF_PROG_TEST_RUN, here with ping over veths and tollgate attached
# (native, then generic XDP). tests/kernels/run.sh runs it in the guest; it runs on the
# host as well. POSIX sh and busybox: the guest has no bash, python or jq.
#
#   tests/kernels/traffic.sh [TOLLGATE]     (default build/tollgate)
#
# A router namespace with two customer interfaces c0 and c1 (strict), cust-a bound to c0
# (10.71.1.0/24), cust-b bound to c1 (10.71.2.0/24); a host namespace behind c0 holding an
# address of each. From it: ping from cust-a's address passes, counted on cust-a; ping
# from cust-b's address (bound to c1) arrives on c0 and is dropped as spoof, charged to
# cust-a, c0's only customer. Ends with "N passed, N failed"; needs root.
set -u

TG=$(realpath "${1:-build/tollgate}")
P=tgk$$
PIN=/sys/fs/bpf/tg-$P
TMP=$(mktemp -d "/tmp/tg-$P.XXXXXX") || exit 1
npass=0
nfail=0

cleanup() {
	ip netns del "$P-r" 2>/dev/null
	ip netns del "$P-h" 2>/dev/null
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() {
	echo "PASS $1"
	npass=$((npass + 1))
}
ko() {
	echo "FAIL $1"
	nfail=$((nfail + 1))
}
inr() { ip netns exec "$P-r" "$@"; }
inh() { ip netns exec "$P-h" "$@"; }
tg() { nsenter --net="/run/netns/$P-r" -- "$TG" -c "$TMP/tollgate.yaml" "$@"; }

# count ID COUNTER: packets of cust ID's upload COUNTER ("passed", "spoof"), from
# `tollgate -j customer show` (upload precedes download in it, and its drops precede its
# would-drops, which use the same names: cut at both, take what is left)
count() {
	tg -j customer show "$1" |
		sed -n "s/\"download\".*//; s/\"would_drop\".*//; s/.*\"$2\":{\"packets\":\([0-9]*\).*/\1/p"
}

setup() {
	ip netns add "$P-r" && ip netns add "$P-h" || return 1
	# no IPv6: its link-local chatter (DAD, MLD) on c0 would be spoof too, charged to cust-a
	for ns in r h; do
		# shellcheck disable=SC2016 # $c is the inner shell's
		ip netns exec "$P-$ns" sh -c 'for c in all default; do
			echo 1 >/proc/sys/net/ipv6/conf/$c/disable_ipv6; done' 2>/dev/null
	done
	ip link add "$P-c0" netns "$P-r" type veth peer name "$P-h0" netns "$P-h" || return 1
	ip link add "$P-c1" netns "$P-r" type veth peer name "$P-x1" netns "$P-r" || return 1
	inr ip link set lo up && inh ip link set lo up || return 1
	for l in c0 c1 x1; do inr ip link set "$P-$l" up || return 1; done
	inh ip link set "$P-h0" up || return 1
	inr ip addr add 10.71.1.1/24 dev "$P-c0" || return 1
	inr ip addr add 10.71.2.1/24 dev "$P-c1" || return 1
	inr ip route add 10.71.2.9/32 dev "$P-c0" || return 1
	inh ip addr add 10.71.1.2/24 dev "$P-h0" || return 1
	inh ip addr add 10.71.2.9/32 dev "$P-h0" || return 1
	inh ip route add 10.71.1.0/24 dev "$P-h0" 2>/dev/null
	inh ip route add default via 10.71.1.1 || return 1
	cat >"$TMP/tollgate.yaml" <<-YAML
		interfaces:
		  - { name: $P-c0, role: customer, mode: $1, antispoof: strict }
		  - { name: $P-c1, role: customer, mode: $1, antispoof: strict }
		plans:
		  p:
		    upload:   { rate: 100mbit, burst: 1m }
		    download: { rate: 100mbit, burst: 1m }
		customers: customers.csv
		pin_dir: $PIN
		state: $TMP/state.db
	YAML
	cat >"$TMP/customers.csv" <<-CSV
		id,name,plan,prefixes,interface,vlan
		cust-a,A,p,10.71.1.0/24,$P-c0,
		cust-b,B,p,10.71.2.0/24,$P-c1,
	CSV
	export TOLLGATE_PIN_DIR=$PIN
	tg attach "$P-c0" role customer mode "$1" >"$TMP/attach.out" 2>&1 &&
		tg attach "$P-c1" role customer mode "$1" >>"$TMP/attach.out" 2>&1
}

for mode in native generic; do
	cleanup
	mkdir -p "$TMP"
	if ! setup "$mode"; then
		ko "$mode: set-up (veths, tollgate attach): $(cat "$TMP/attach.out" 2>/dev/null)"
		continue
	fi
	a0=$(count cust-a passed)
	inh ping -c 3 -W 2 -I 10.71.1.2 10.71.1.1 >/dev/null 2>&1
	a1=$(count cust-a passed)
	if [ -n "$a0" ] && [ "$((a1 - a0))" -eq 3 ]; then
		ok "$mode: ping from cust-a's own interface passes, counted on cust-a ($a0 -> $a1)"
	else
		ko "$mode: ping from cust-a's own interface: cust-a upload passed $a0 -> $a1, want +3"
	fi
	s0=$(count cust-a spoof)
	b0=$(count cust-b passed)
	if inh ping -c 3 -W 2 -I 10.71.2.9 10.71.1.1 >/dev/null 2>&1; then
		ko "$mode: ping from cust-b's address on c0 got an answer (strict binding)"
	else
		ok "$mode: ping from cust-b's address on c0 (bound to c1) gets no answer"
	fi
	s1=$(count cust-a spoof)
	b1=$(count cust-b passed)
	if [ -n "$s0" ] && [ "$((s1 - s0))" -eq 3 ] && [ "$b0" = "$b1" ]; then
		ok "$mode: that spoof is charged to cust-a, c0's owner ($s0 -> $s1), not to cust-b"
	else
		ko "$mode: spoof on c0: cust-a upload dropped spoof $s0 -> $s1 (want +3), cust-b passed $b0 -> $b1 (want +0)"
	fi
done
echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
