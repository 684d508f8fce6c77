#!/usr/bin/env bash
#
# bench_wire.sh - what dropping a flood costs on a wire, beside a bare XDP_DROP: trafgen
# (netsniff-ng) sends as fast as one CPU can into a veth whose peer has the program in
# native XDP, and the receive side's cost per packet is read off the kernel's softirq time.
#
# bench_xdp measures the program alone under BPF_PROG_TEST_RUN, where a bare XDP_DROP is a
# few ns of loop; here each packet also crosses a real receive path (veth NAPI, its copy
# of the skb into an XDP buffer, the free), as a packet from a NIC crosses its driver's.
# trafgen pins itself to CPU 0, and veth runs its NAPI poll in softirq on the sending CPU,
# so CPU 0's softirq time (/proc/stat, which this kernel accounts precisely: irq time
# accounting) over the packets the receiving veth counted is the receive side's ns/packet.
#
# Cases, each on a veth pair of its own (so nothing is re-attached between rounds), each
# flood from random sources (one new 45.x.y.z source per packet):
#   bare XDP_DROP                        bench/xdp_drop.bpf.o, attached with ip link
#   upstream flood_syn drop              SYN flood to customer A (syn limit 1000pps)
#   upstream reflection drop             UDP from port 123 to A (reflection limit 1000pps)
#   upstream flood_syn drop, per_source  SYN flood to customer B (per_source 100pps): each
#                                        packet a new source, a new slot of the watch table
#   customer-role spoof drop             SYN from sources no customer owns
# Rounds alternate the cases (BENCH_WIRE_ROUNDS, 3; BENCH_WIRE_SECONDS each, 3); the
# medians are printed, with each case's ratio to the bare drop measured in the same round.
# After the runs, each case's drops are checked against Tollgate's own counters: a case
# whose packets were not dropped for its reason fails the benchmark.
#
# Runs in namespaces of its own (tgwPID-g, tgwPID-r), pins under a bpffs directory of its
# own; everything is removed on exit.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TG=${BENCH_TOLLGATE:-$ROOT/build/tollgate} # another build, to compare two versions side by side
BARE_OBJ=$ROOT/build/bench/xdp_drop.bpf.o
P=tgw$$
NG=$P-g
NR=$P-r
TMP=$(mktemp -d "/tmp/tg-wire-$$.XXXXXX")
export TOLLGATE_PIN_DIR=/sys/fs/bpf/tg-wire-$$
ROUNDS=${BENCH_WIRE_ROUNDS:-3}
SECS=${BENCH_WIRE_SECONDS:-3}
PY=/usr/bin/python3
# shellcheck source=scripts/lab.sh
. "$ROOT/scripts/lab.sh" # for its trafgen packet configurations

cleanup() {
	ip netns del "$NG" 2>/dev/null
	ip netns del "$NR" 2>/dev/null
	rm -rf "$TOLLGATE_PIN_DIR" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "bench_wire: $*" >&2
	exit 1
}

for tool in trafgen bpftool "$TG"; do
	command -v "$tool" >/dev/null || die "$tool not found (make bench installs and builds it)"
done
[ -f "$BARE_OBJ" ] || die "$BARE_OBJ not built (make all)"

{ ip netns add "$NG" && ip netns add "$NR"; } || die "cannot create namespaces"
ip -n "$NR" link set lo up
for i in 0 1 2; do
	ip link add "$P-g$i" netns "$NG" type veth peer name "$P-r$i" netns "$NR" ||
		die "cannot create veth $P-g$i"
	{ ip -n "$NG" link set "$P-g$i" up && ip -n "$NR" link set "$P-r$i" up; } ||
		die "cannot bring $P-g$i up"
done
# whatever a limit lets through meets a router that does not forward
ip netns exec "$NR" sysctl -qw net.ipv4.ip_forward=0

cat >"$TMP/tollgate.yaml" <<-EOF
	interfaces:
	  - { name: $P-r1, role: upstream, mode: native }
	  - { name: $P-r2, role: customer, mode: native, antispoof: strict }
	plans:
	  wire-a:
	    flood: { syn: 1000pps, udp: 1000pps, reflection: 1000pps }
	  wire-b:
	    flood: { syn: 1000pps, per_source: 100pps, block_time: 60s }
	customers: customers.csv
	pin_dir: $TOLLGATE_PIN_DIR
	state: $TMP/state.db
EOF
cat >"$TMP/customers.csv" <<-EOF
	id,name,plan,prefixes,interface,vlan
	wire-a,A,wire-a,198.51.100.0/28,$P-r2,
	wire-b,B,wire-b,198.51.100.64/28,$P-r2,
EOF
tg() { nsenter --net="/run/netns/$NR" -- "$TG" -c "$TMP/tollgate.yaml" "$@"; }
ip -n "$NR" link set dev "$P-r0" xdpdrv obj "$BARE_OBJ" sec xdp ||
	die "cannot attach the bare XDP_DROP to $P-r0"
tg attach "$P-r1" role upstream >"$TMP/out" 2>&1 || die "attach $P-r1: $(cat "$TMP/out")"
tg attach "$P-r2" role customer >"$TMP/out" 2>&1 || die "attach $P-r2: $(cat "$TMP/out")"

mac_of() { ip -n "$NR" -j link show "$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'; }
SMAC=02:00:00:00:00:01
RND4="45, drnd(3)" # a random source in 45.0.0.0/8 per packet
lab_trafgen_syn "$(mac_of "$P-r0")" $SMAC "$RND4" 198.51.100.10 >"$TMP/bare.cfg"
lab_trafgen_syn "$(mac_of "$P-r1")" $SMAC "$RND4" 198.51.100.10 >"$TMP/syn_a.cfg"
lab_trafgen_udp "$(mac_of "$P-r1")" $SMAC "$RND4" 198.51.100.10 123 >"$TMP/refl_a.cfg"
lab_trafgen_syn "$(mac_of "$P-r1")" $SMAC "$RND4" 198.51.100.74 >"$TMP/syn_b.cfg"
lab_trafgen_syn "$(mac_of "$P-r2")" $SMAC "$RND4" 203.0.113.1 >"$TMP/spoof.cfg"

# name|veth index|trafgen config
CASES=(
	"bare XDP_DROP|0|bare"
	"upstream flood_syn drop|1|syn_a"
	"upstream reflection drop (UDP from :123)|1|refl_a"
	"upstream flood_syn drop, per_source on|1|syn_b"
	"customer-role spoof drop|2|spoof"
)

rx_pkts() { ip -n "$NR" -s -j link show "$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'; }
softirq0() { awk '$1 == "cpu0" { print $8 }' /proc/stat; }
TCK=$(getconf CLK_TCK)

T0=$(date +%s)
echo "bench_wire: $(nproc) CPUs, kernel $(uname -r); trafgen on CPU 0, ${SECS} s a case, $ROUNDS rounds"
for r in $(seq "$ROUNDS"); do
	for c in "${CASES[@]}"; do
		IFS='|' read -r _ i cfg <<<"$c"
		p0=$(rx_pkts "$P-r$i")
		s0=$(softirq0)
		timeout "$SECS" ip netns exec "$NG" trafgen --dev "$P-g$i" --conf "$TMP/$cfg.cfg" \
			--cpus 1 --no-sock-mem --no-cpu-stats >/dev/null 2>&1
		s1=$(softirq0)
		p1=$(rx_pkts "$P-r$i")
		echo "$r|$cfg|$((p1 - p0))|$((s1 - s0))" >>"$TMP/runs"
	done
done

# The counters: each case's packets dropped for its reason. A limit lets 1000/s through
# over the whole run (it refills between rounds too), plus its burst.
{ tg -j customer show wire-a >"$TMP/a.json" && tg -j customer show wire-b >"$TMP/b.json" &&
	tg -j status >"$TMP/status.json"; } || die "cannot read Tollgate's counters"
WALL=$(($(date +%s) - T0 + 1))

"$PY" - "$TMP" "$TCK" "$SECS" "$WALL" "$P" "${CASES[@]}" <<-'EOF'
	import json, statistics, sys
	tmp, tck, secs, wall, p = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
	cases = sys.argv[6:]
	runs = {}
	for line in open(tmp + "/runs"):
	    r, cfg, pkts, ticks = line.split("|")
	    runs.setdefault(int(r), {})[cfg] = (int(pkts), int(ticks))
	def ns(pkts, ticks):
	    return ticks * 1e9 / tck / pkts if pkts else float("nan")
	print("%-42s %9s %12s %9s" % ("case", "kpps", "softirq ns", "x bare"))
	sent = {}
	for c in cases:
	    name, _, cfg = c.split("|")
	    kpps = [runs[r][cfg][0] / secs / 1e3 for r in runs]
	    cost = [ns(*runs[r][cfg]) for r in runs]
	    ratio = [ns(*runs[r][cfg]) / ns(*runs[r]["bare"]) for r in runs]
	    sent[cfg] = sum(runs[r][cfg][0] for r in runs)
	    print("%-42s %9.0f %12.0f %9.2f" % (name, statistics.median(kpps),
	          statistics.median(cost), statistics.median(ratio)))
	a = json.load(open(tmp + "/a.json"))["customer"]["download"]["dropped"]
	b = json.load(open(tmp + "/b.json"))["customer"]["download"]["dropped"]
	ifs = {i["name"]: i for i in json.load(open(tmp + "/status.json"))["interfaces"]}
	spoof = ifs[p + "-r2"]["counters"]["dropped"]["spoof"]["packets"]
	allowed = 1000 * wall + 1000  # what a 1000pps limit and its burst admit
	checks = [
	    ("A's flood_syn drops", a["flood_syn"]["packets"], sent["syn_a"]),
	    ("A's flood_udp drops (reflection)", a["flood_udp"]["packets"], sent["refl_a"]),
	    ("B's flood_syn drops", b["flood_syn"]["packets"], sent["syn_b"]),
	    ("spoof drops on the customer interface", spoof, sent["spoof"]),
	]
	bad = 0
	for what, got, want in checks:
	    ok = want > 0 and want - allowed <= got <= want
	    bad += not ok
	    print("  %s %s: %d of %d sent" % ("ok  " if ok else "FAIL", what, got, want))
	sys.exit(1 if bad else 0)
EOF
