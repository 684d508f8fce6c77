#!/usr/bin/env bash
#
# test_reload.sh - hitless reload under traffic: the acceptance test of "a reload never
# drops or misclassifies a packet of a customer who did not change".
#
# In the namespace lab (scripts/lab.sh) Tollgate is attached to the router (customer role
# on the three access veths, upstream role on the upstream veth) and tollgated runs. For
# the whole test customers A and B, never changed, carry steady traffic both ways over IPv4
# and IPv6: eight iperf3 UDP streams of 1000 small datagrams/s each (8000 packets/s in all,
# under 1 Mbit/s a stream, far below their plans), each reporting lost/total datagrams.
# (Not ping -i 0.005: below a 10 ms interval ping busy-polls a whole CPU, measured here,
# and four of them starve a 2-CPU machine.) Meanwhile the configuration is
# reloaded RELOADS times, in turn by `tollgate reload` (which asks tollgated over its control
# socket), by SIGHUP to tollgated, and by `tollgate reload` with no daemon to ask (which
# syncs by itself, reading the maps back: tollgated's next reload must see that and do the
# same instead of diffing in memory), each with a
# rewritten customers CSV (and YAML) that adds and removes customers (some overlapping A's
# and B's prefixes, some bound to their ports, with IPv6 prefix lengths coming and going,
# index recycling at a small capacity), moves customer C's IPv4 and IPv6 prefixes to a new
# address of C's host, changes C's rate and its plan's rate, another plan's rates, and
# reorders rows, plans and prefixes. Four of the reloads carry an invalid CSV (an unknown
# plan, a duplicate prefix, a malformed prefix, a bogon prefix) and must change nothing.
#
# After every reload: A's and B's counters never go backwards, their indexes never change,
# their drop counters and the drop counters of their interfaces and of the upstream
# interface stay 0; the loaded customers, prefix counts and C's limits are what the file
# says. After every move of C: C's new addresses pass (counted exactly), its old ones are
# dropped as spoof (counted exactly) and nothing of them gets through. At the end: iperf3
# lost nothing, and Tollgate's passed counters for A and B equal the packets (and IP bytes)
# their hosts' veths sent and received over the whole run (datagrams plus iperf3's TCP
# control connections), which is also >= the datagrams iperf3 sent and received.
#
# Every check prints "PASS name" or "FAIL name: why"; the last line is "N passed, N failed"
# and the exit status is non-zero on any failure. Needs root. Traffic never leaves the
# lab's veths (lab tr<PID>); namespaces, pins (/sys/fs/bpf/tg-rl-PID), temporary files and
# every process started here are removed by the trap, even when a check fails.
#
# Environment: TG_TEST_MODE=native|generic (default native), TG_RELOAD_SEED (the schedule
# of changes is random from this seed, default the PID; printed, so a failure replays).
# shellcheck disable=SC2317  # the trap and check() call functions indirectly
set -u

# One brace group, read whole before it runs: editing the file during a run cannot change
# what the run executes.
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"

P=tr$$
suite_init rl
export TOLLGATE_SOCKET=$TMP/tollgate.sock
CSV=$TMP/customers.csv
SEED=${TG_RELOAD_SEED:-$$}
PY=$LAB_PY

RELOADS=36         # reloads while the traffic flows (a third each: daemon by CLI, SIGHUP, CLI alone)
WARM_S=1.5         # traffic runs this long before the first reload...
SPACING_S=1.1      # ...then a reload is due every this long (one takes 0.9 s on a loaded CI VM)...
TAIL_S=4           # ...and the traffic runs at least this long after the last one is due
TRAFFIC_S=$(awk -v w="$WARM_S" -v s="$SPACING_S" -v e="$TAIL_S" -v n="$RELOADS" \
	'BEGIN { printf "%d", w + s * n + e + 0.999 }') # how long every traffic stream runs
UDP_RATE=800k      # per iperf3 stream: with UDP_LEN 100, 1000 datagrams/s
UDP_LEN=100        # A's and B's plans are 200 Mbit/s each way

# C moves between two slots; the router routes both to C's veth, C's host holds the
# addresses of the slot C has (and, during a move, of both).
C_V4=(198.51.100.144/29 198.51.100.152/30)
C_V6=(2001:db8:c:100::/56 2001:db8:c:200::/60)
C_H4=(198.51.100.146 198.51.100.154)
C_H6=(2001:db8:c:100::10 2001:db8:c:200::10)

# count_results NAME: fold the PASS/FAIL lines a helper prints into the totals (a helper
# that printed none, e.g. a Python traceback, is a failure of NAME). Feed it with a
# redirection, `count_results NAME < <(cmd)`, never a pipe: a pipe would run it in a
# subshell and lose the counts.
count_results() {
	local line n=0
	while IFS= read -r line; do
		case $line in
		"PASS "*) N_PASS=$((N_PASS + 1)) n=$((n + 1)) ;;
		"FAIL "*) N_FAIL=$((N_FAIL + 1)) n=$((n + 1)) ;;
		esac
		echo "$line"
	done
	[ "$n" -gt 0 ] || fail "$1" "the checker printed no result"
}

# Read-only commands find the pins by TOLLGATE_PIN_DIR: with -c they would parse the whole
# configuration first and fail while the CSV is invalid (see the rejected reloads).
tgr() { lab_tg "$P" "$@"; }

bg() { # remember a background PID for the trap
	BG_PIDS+=("$1")
}

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# snap NAME: `customer list` and `status` (JSON) in $TMP/NAME.list and $TMP/NAME.status
snap() {
	tgr -j customer list >"$TMP/$1.list" 2>>"$TMP/tollgate.err"
	tgr -j status >"$TMP/$1.status" 2>>"$TMP/tollgate.err"
}

# veth NAME: the host side counters of A's and B's veths in $TMP/NAME.veth
veth() {
	local dev k
	for dev in "$P-ca" "$P-cb"; do
		for k in tx_packets tx_bytes rx_packets rx_bytes; do
			printf '%s %s %s\n' "$dev" "$k" "$(lab_ns "$P-cust" cat "/sys/class/net/$dev/statistics/$k")"
		done
	done >"$TMP/$1.veth"
}

# ---- the Python half: the schedule of configurations, and the checks on snapshots ----
cat >"$TMP/h.py" <<'EOF'
import ipaddress, json, os, random, re, sys

def load(prefix):
    """{"cust": {id: customer}, "if": {name: interface}, "status": status} of a snap."""
    try:
        lst = json.load(open(prefix + ".list"))
        st = json.load(open(prefix + ".status"))
    except (OSError, ValueError) as e:
        return {"error": "%s: %s" % (prefix, e)}
    return {"cust": {c["id"]: c for c in lst["customers"]},
            "if": {i["name"]: i for i in st["interfaces"]}, "status": st}

def get(j, path):
    for k in path.split("."):
        j = j[k]
    return j

DIRS = ("upload", "download")

# ---------------------------------------------------------------- schedule
RATES = [8, 10, 16, 20, 25, 32, 40, 50, 64, 80]  # Mbit/s: 2^a * 5^b, exact in the policer's fixed point

def sched(p, mode, pin, tmp, seed, n):
    rnd = random.Random(seed)
    slots = list(zip(os.environ["C_V4"].split(), os.environ["C_V6"].split()))
    a = ("cust-a", '"Alice, unchanged"', "plan-a", ["198.51.100.0/28", "2001:db8:a::/48"], p + "-c0")
    b = ("cust-b", "Bob (unchanged)", "plan-b", ["198.51.100.64/28", "2001:db8:b::/48"], p + "-c1")

    def dummy(i):
        bind = [p + "-c0", p + "-c1", ""][i % 3]
        if i == 1:    # inside A's /28 and /48, not A's host or /64
            pf = ["198.51.100.5/32", "2001:db8:a:5::/64"]
        elif i == 2:  # inside B's
            pf = ["198.51.100.70/31", "2001:db8:b:ff00::/56"]
        elif i == 3:  # between A and B, next to C's slots
            pf = ["198.51.100.32/27", "2001:db8:c:300::/64"]
        else:
            l4 = [24, 26, 28, 32, 22, 30][i % 6]
            l6 = [48, 52, 56, 60, 64, 40, 44][i % 7]
            pf = [str(ipaddress.ip_network("198.18.%d.0/%d" % (4 * i, l4))),
                  str(ipaddress.ip_network("2001:db8:%x::/%d" % (0x1000 + i * 0x100, l6)))]
        over = ("", "", "50mbit", "1m") if i % 5 == 0 else ("", "", "", "")
        return ("dum-%02d" % i, "Dummy %d" % i, "plan-x" if i % 2 else "plan-c", pf, bind, "") + over

    pool = list(range(1, 25))
    last_writer = "init"
    cur = {"dummies": set(rnd.sample(pool, 12)), "slot": 0, "c_up": 20, "c_down": 40,
           "x_up": 10, "x_down": 20}
    invalid = {10: "plan", 20: "dup", 33: "prefix", 25: "bogon"}  # each kind of reload
    moves = {2, 5, 9, 11, 13, 16, 20, 23, 27, 30, 34}
    out = []
    for k in range(0, n + 1):
        new = dict(cur, dummies=set(cur["dummies"]))
        if k:
            d = new["dummies"]
            for _ in range(rnd.randint(0 if len(d) > 8 else 1, 3)):
                if len(d) > 8:
                    d.discard(rnd.choice(sorted(d)))
            for _ in range(rnd.randint(1, 3)):
                free = sorted(set(pool) - d)
                if len(d) < 18 and free:
                    d.add(rnd.choice(free))
            new["c_up"] = rnd.choice([r for r in RATES if r != cur["c_up"]])
            if k % 3 == 0:
                new["c_down"] = rnd.choice([r for r in RATES if r != cur["c_down"]])
            if k % 2 == 0:
                new["x_up"], new["x_down"] = rnd.choice(RATES), rnd.choice(RATES)
            if k in moves:
                new["slot"] = 1 - cur["slot"]
        c = ("cust-c", '"Carol, moving"', "plan-c", list(slots[new["slot"]]), p + "-c2",
             "", "%dmbit" % new["c_up"], "1m", "", "")
        rows = [a + ("",) * 5, b + ("",) * 5, c] + [dummy(i) for i in sorted(new["dummies"])]
        rows = [list(r) for r in rows]
        for r in rows:
            r[3] = list(r[3])
            rnd.shuffle(r[3])
        rnd.shuffle(rows)
        bad = invalid.get(k)
        bad_line = None
        if bad:
            row = {"plan": ["bad-1", "Bad plan", "no-such-plan", ["198.18.200.0/24"], "", "", "", "", "", ""],
                   "dup": ["bad-1", "Dup of A", "plan-x", ["198.51.100.0/28"], "", "", "", "", "", ""],
                   "prefix": ["bad-1", "Bad prefix", "plan-x", ["198.18.300.0/24"], "", "", "", "", "", ""],
                   "bogon": ["bad-1", "Everything", "plan-x", ["0.0.0.0/0"], "", "", "", "", "", ""]}[bad]
            pos = rnd.randint(1, len(rows) - 1)
            rows.insert(pos, row)
            bad_line = pos + 2  # after the header, 1-based
        with open("%s/sched/%d.csv" % (tmp, k), "w") as f:
            f.write("id,name,plan,prefixes,interface,vlan,upload_rate,upload_burst,download_rate,download_burst\n")
            for r in rows:
                f.write(",".join(r[:3] + [" ".join(r[3])] + r[4:10]) + "\n")
        plans = [
            "  plan-a:\n    upload:   { rate: 200mbit, burst: 4m }\n    download: { rate: 200mbit, burst: 4m }\n",
            "  plan-b:\n    download: { rate: 200mbit, burst: 4m }\n    upload:   { rate: 200mbit, burst: 4m }\n",
            "  plan-c:\n    upload:   { rate: 20mbit, burst: 1m }\n    download: { rate: %dmbit, burst: 1m }\n" % new["c_down"],
            "  plan-x:\n    upload:   { rate: %dmbit, burst: 1m }\n    download: { rate: %dmbit, burst: 1m }\n" % (new["x_up"], new["x_down"]),
        ]
        rnd.shuffle(plans)
        with open("%s/sched/%d.yaml" % (tmp, k), "w") as f:
            f.write("# tollgate reload test %s, step %d\ninterfaces:\n" % (p, k))
            for dev in ("c0", "c1", "c2"):
                f.write("  - { name: %s-%s, role: customer, mode: %s, antispoof: strict }\n" % (p, dev, mode))
            f.write("  - { name: %s-u0, role: upstream, mode: %s }\n" % (p, mode))
            f.write("plans:\n" + "".join(plans))
            f.write("customers: customers.csv\n")
            f.write("capacity: { max_customers: 24, max_prefixes: 256 }\n")
            f.write("pin_dir: %s\nstate: %s/state.db\n" % (pin, tmp))
        applied = cur if bad else new
        kind = "init" if k == 0 else ("cli", "hup", "local")[(k - 1) % 3]
        sync = "full" if kind == "local" or last_writer == "local" else "incremental"
        if not bad and k:
            last_writer = kind
        ids = ["cust-a", "cust-b", "cust-c"] + ["dum-%02d" % i for i in sorted(applied["dummies"])]
        out.append({"k": k, "kind": kind, "sync": sync,
                    "bad": bad, "bad_line": bad_line, "move": bool(k in moves and k),
                    "ids": ids, "nv4": len(ids), "nv6": len(ids),
                    "added": len(new["dummies"] - cur["dummies"]) if k and not bad else 0,
                    "removed": len(cur["dummies"] - new["dummies"]) if k and not bad else 0,
                    "slot": applied["slot"], "slot_before": cur["slot"],
                    "c_up": applied["c_up"], "c_down": applied["c_down"]})
        with open("%s/sched/%d.json" % (tmp, k), "w") as f:
            json.dump(out[-1], f)
        if not bad:
            cur = new

# ---------------------------------------------------------------- per-reload check
UNCHANGED = ("cust-a", "cust-b")
KINDS = {"cli": "tollgate reload, by tollgated", "hup": "SIGHUP",
         "local": "tollgate reload without the daemon"}
WATCHED_IFACES = ("c0", "c1", "u0")  # A's, B's and the upstream port: nothing is ever dropped there

def invariants(p, a, b, what, base, errs):
    """Between snapshots a and b (b later): what must hold for every reload."""
    for cid in UNCHANGED + ("cust-c",):
        x, y = a["cust"].get(cid), b["cust"].get(cid)
        if y is None:
            errs.append("%s: %s missing" % (what, cid))
            continue
        if y["index"] != base[cid]:
            errs.append("%s: %s index %d, was %d" % (what, cid, y["index"], base[cid]))
        for d in DIRS:
            for k in ("packets", "bytes"):
                if x is not None and y[d]["passed"][k] < x[d]["passed"][k]:
                    errs.append("%s: %s %s passed %s went back %d -> %d"
                                % (what, cid, d, k, x[d]["passed"][k], y[d]["passed"][k]))
            if cid in UNCHANGED:
                dt = y[d]["dropped_total"]
                if dt["packets"] or dt["bytes"]:
                    why = {r: v["packets"] for r, v in y[d]["dropped"].items() if v["packets"]}
                    errs.append("%s: %s %s dropped %d packets %s" % (what, cid, d, dt["packets"], why))
                if y[d]["limit"] != {"rate_bps": 200000000, "burst_bytes": 4194304}:
                    errs.append("%s: %s %s limit %s" % (what, cid, d, y[d]["limit"]))
    for cid in set(a["cust"]) & set(b["cust"]):
        if a["cust"][cid]["index"] != b["cust"][cid]["index"]:
            errs.append("%s: %s index %d -> %d" % (what, cid, a["cust"][cid]["index"], b["cust"][cid]["index"]))
    for dev in WATCHED_IFACES:
        i = b["if"].get("%s-%s" % (p, dev))
        if i is None:
            errs.append("%s: interface %s-%s missing from status" % (what, p, dev))
            continue
        dr = {r: v["packets"] for r, v in i["counters"]["dropped"].items() if v["packets"]}
        if dr:
            errs.append("%s: interface %s dropped %s" % (what, i["name"], dr))
        if not i["attached"]:
            errs.append("%s: interface %s not attached" % (what, i["name"]))

def check(p, expf, prevpost, pre, post, basef, info):
    e = json.load(open(expf))
    base = json.load(open(basef))
    name = "reload %d (%s)%s" % (e["k"], KINDS[e["kind"]],
                                 " with an invalid CSV (%s)" % e["bad"] if e["bad"] else "")
    snaps = [load(prevpost), load(pre), load(post)]
    errs = [s["error"] for s in snaps if "error" in s]
    if errs:
        print("FAIL %s: %s" % (name, "; ".join(errs)))
        return
    s0, s1, s2 = snaps
    invariants(p, s0, s1, "before", base, errs)
    invariants(p, s1, s2, "after", base, errs)
    cnt = None
    sync = None
    if info.startswith("cli:"):
        try:
            r = json.load(open(info[4:]))
            cnt = (r["customers"]["added"], r["customers"]["changed"], r["customers"]["removed"])
            sync = r["sync"]
        except (OSError, ValueError, KeyError):
            cnt = None
    else:
        m = re.search(r"\((\d+) added, (\d+) changed, (\d+) removed\)", info)
        cnt = tuple(int(x) for x in m.groups()) if m else None
        m = re.search(r"\((\w+) sync\)", info)
        sync = m.group(1) if m else None
    if not e["bad"] and sync != e["sync"]:
        # tollgated diffs in memory while the maps are as it left them; a reload by
        # another process (local) makes its next one read the maps back
        errs.append("a %s sync, want %s" % (sync, e["sync"]))
    cst = s2["status"]["customers"]
    if e["bad"]:
        # nothing changed: the same customers, indexes, limits; C (idle) not counted
        for cid in sorted(set(s1["cust"]) | set(s2["cust"])):
            x, y = s1["cust"].get(cid), s2["cust"].get(cid)
            if x is None or y is None:
                errs.append("%s %s by a rejected reload" % (cid, "added" if x is None else "removed"))
            elif x["index"] != y["index"] or any(x[d]["limit"] != y[d]["limit"] for d in DIRS):
                errs.append("%s changed by a rejected reload: %s" % (cid, [(x["index"], y["index"])] + [(x[d]["limit"], y[d]["limit"]) for d in DIRS]))
        c1, c2 = s1["cust"].get("cust-c"), s2["cust"].get("cust-c")
        if c1 and c2 and any(c1[d][k] != c2[d][k] for d in DIRS for k in ("passed", "dropped_total")):
            errs.append("cust-c counters changed by a rejected reload")
        pc = s1["status"]["customers"]
        for k in ("loaded", "prefixes_ipv4", "prefixes_ipv6"):
            if pc[k] != cst[k]:
                errs.append("status %s %d -> %d after a rejected reload" % (k, pc[k], cst[k]))
    else:
        got = sorted(s2["cust"])
        if got != sorted(e["ids"]):
            errs.append("customers loaded %s, want %s" % (sorted(set(got) ^ set(e["ids"])), "the CSV's"))
        want = {"loaded": len(e["ids"]), "prefixes_ipv4": e["nv4"], "prefixes_ipv6": e["nv6"]}
        for k, v in want.items():
            if cst[k] != v:
                errs.append("status %s %d, want %d" % (k, cst[k], v))
        if cnt is None:
            errs.append("no added/changed/removed counts reported (%s)" % info[:200])
        elif (cnt[0], cnt[2]) != (e["added"], e["removed"]):
            errs.append("reported %d added %d removed, want %d and %d" % (cnt[0], cnt[2], e["added"], e["removed"]))
        c = s2["cust"].get("cust-c")
        if c:
            lim = {"upload": e["c_up"] * 1000000, "download": e["c_down"] * 1000000}
            for d in DIRS:
                if c[d]["limit"] != {"rate_bps": lim[d], "burst_bytes": 1048576}:
                    errs.append("cust-c %s limit %s, want rate %d burst 1048576" % (d, c[d]["limit"], lim[d]))
    a = s2["cust"].get("cust-a")
    b = s2["cust"].get("cust-b")
    tag = ""
    if cnt:
        tag = " +%d ~%d -%d" % cnt
    if errs:
        print("FAIL %s%s: %s" % (name, tag, "; ".join(errs[:6])))
    else:
        print("PASS %s%s: %d customers; A/B indexes kept, counters only grew, no drops"
              % (name, tag, len(s2["cust"])))

# ---------------------------------------------------------------- deltas
def deltas(a, b, specs):
    a, b = load(a), load(b)
    bad = []
    for spec in specs:
        path, want = spec.rsplit("=", 1)
        try:
            d = get(b, path) - get(a, path)
        except (KeyError, TypeError) as ex:
            bad.append("%s: missing (%s)" % (path, ex))
            continue
        if d != int(want):
            bad.append("%s grew by %d, want %s" % (path, d, want))
    print("; ".join(bad))
    sys.exit(1 if bad else 0)

# ---------------------------------------------------------------- final accounting
def veth(f):
    v = {}
    for line in open(f):
        dev, k, n = line.split()
        v[(dev, k)] = int(n)
    return v

def final(p, s0, s1, v0, v1, hup, hdown, tmp):
    a, b = load(s0), load(s1)
    va, vb = veth(v0), veth(v1)
    res = []
    def iperf_stats(f):
        try:
            j = json.load(open(f))
            s = j["end"]["sum"]
            return s["packets"], s["lost_packets"], None
        except (OSError, ValueError, KeyError):
            try:
                return None, None, json.load(open(f)).get("error")
            except (OSError, ValueError):
                return None, None, "no output"
    tot = {}
    for cid, dev, x in (("cust-a", p + "-ca", "a"), ("cust-b", p + "-cb", "b")):
        sent_app = recv_app = 0
        for s in ("up-%s4" % x, "up-%s6" % x, "down-%s4" % x, "down-%s6" % x):
            n, lost, err = iperf_stats("%s/iperf-%s.json" % (tmp, s))
            ok = n is not None and n > 0 and lost == 0
            res.append((ok, "%s iperf3 UDP %s IPv%s (%s bit/s): %s datagrams, %s lost" % (
                cid, "upload" if s.startswith("up") else "download", s[-1], UDP_RATE, n,
                lost if err is None else err)))
            if n is not None:
                if s.startswith("up"):
                    sent_app += n
                else:
                    recv_app += n - lost
        up = {k: b["cust"][cid]["upload"]["passed"][k] - a["cust"][cid]["upload"]["passed"][k] for k in ("packets", "bytes")}
        dn = {k: b["cust"][cid]["download"]["passed"][k] - a["cust"][cid]["download"]["passed"][k] for k in ("packets", "bytes")}
        txp = vb[(dev, "tx_packets")] - va[(dev, "tx_packets")]
        txb = vb[(dev, "tx_bytes")] - va[(dev, "tx_bytes")] - hup * txp
        rxp = vb[(dev, "rx_packets")] - va[(dev, "rx_packets")]
        rxb = vb[(dev, "rx_bytes")] - va[(dev, "rx_bytes")] - hdown * rxp
        print("  %s: Tollgate passed upload %d packets / %d IP bytes, download %d / %d; "
              "host veth sent %d / %d, received %d / %d; iperf3 datagrams sent %d, received %d"
              % (cid, up["packets"], up["bytes"], dn["packets"], dn["bytes"], txp, txb, rxp, rxb, sent_app, recv_app))
        res.append((up["packets"] == txp and up["bytes"] == txb,
                    "%s upload: Tollgate passed == what the host's veth sent (%d/%d packets, %d/%d bytes)"
                    % (cid, up["packets"], txp, up["bytes"], txb)))
        res.append((dn["packets"] == rxp and dn["bytes"] == rxb,
                    "%s download: Tollgate passed == what the host's veth received (%d/%d packets, %d/%d bytes)"
                    % (cid, dn["packets"], rxp, dn["bytes"], rxb)))
        res.append((up["packets"] >= sent_app and dn["packets"] >= recv_app,
                    "%s: passed >= the datagrams iperf3 sent (%d >= %d) and received (%d >= %d)"
                    % (cid, up["packets"], sent_app, dn["packets"], recv_app)))
    for ok, n in res:
        print(("PASS " if ok else "FAIL ") + n)

UDP_RATE = os.environ.get("UDP_RATE", "")
cmd = sys.argv[1]
if cmd == "sched":
    sched(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), int(sys.argv[7]))
elif cmd == "check":
    check(*sys.argv[2:9])
elif cmd == "deltas":
    deltas(sys.argv[2], sys.argv[3], sys.argv[4:])
elif cmd == "final":
    final(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7]), int(sys.argv[8]), sys.argv[9])
elif cmd == "base":
    s = load(sys.argv[2])
    json.dump({cid: s["cust"][cid]["index"] for cid in ("cust-a", "cust-b", "cust-c")}, sys.stdout)
EOF

h() { "$PY" "$TMP/h.py" "$@"; }
deltas() { h deltas "$TMP/$1" "$TMP/$2" "${@:3}"; }

# ---- preflight ----
echo "== Tollgate hitless reload under traffic (lab $P, pins $PIN, seed $SEED)"
if [ "$(id -u)" -ne 0 ]; then
	fail "preflight: root" "the lab needs root (namespaces, XDP)"
	finish
fi
for tool in "$LAB_TOLLGATE" "$TGD" iperf3 ping nsenter ss "$PY"; do
	if ! command -v "$tool" >/dev/null; then
		fail "preflight: $tool" "not found (make all; scripts/install-deps.sh)"
		finish
	fi
done
T_START=$(now_ms)

mkdir -p "$TMP/sched"
if ! C_V4="${C_V4[*]}" C_V6="${C_V6[*]}" h sched "$P" "$MODE" "$PIN" "$TMP" "$SEED" "$RELOADS" 2>"$TMP/sched.err"; then
	fail "preflight: schedule" "$(tail -n 3 "$TMP/sched.err" | tr '\n' ' ')"
	finish
fi
install_config() { # K: step K's YAML and CSV, each replaced in one rename
	cp "$TMP/sched/$1.yaml" "$CFG.new" && mv "$CFG.new" "$CFG" &&
		cp "$TMP/sched/$1.csv" "$CSV.new" && mv "$CSV.new" "$CSV"
}
install_config 0

# ---- lab: the lab of scripts/lab.sh, plus C's two slots ----
check "lab up" lab_up "$P"
[ "$N_FAIL" -eq 0 ] || finish
c_slot_routes() {
	local s
	for s in 0 1; do
		ip -n "$P-rtr" route add "${C_V4[s]}" dev "$P-c2" &&
			ip -n "$P-rtr" -6 route add "${C_V6[s]}" dev "$P-c2" &&
			lab_neigh "$P-rtr" "$P-c2" "${C_H4[s]}" "$P-spf" "$P-sa" &&
			lab_neigh "$P-rtr" "$P-c2" "${C_H6[s]}" "$P-spf" "$P-sa" || return 1
	done
}
c_addr() { # add|del SLOT: C's host addresses of a slot
	ip -n "$P-spf" addr "$1" "${C_H4[$2]}/32" dev "$P-sa" &&
		ip -n "$P-spf" -6 addr "$1" "${C_H6[$2]}/128" dev "$P-sa" ${3:+nodad}
}
check "router routes C's two address slots to C's veth" c_slot_routes
check "C's host gets the slot 0 addresses" c_addr add 0 nodad

# ---- attach (as test_lab.sh), then tollgated ----
IFACES=("$P-c0:customer" "$P-c1:customer" "$P-c2:customer" "$P-u0:upstream")
attach_all() {
	local spec
	for spec in "${IFACES[@]}"; do
		tg attach "${spec%%:*}" role "${spec##*:}" mode "$MODE" || return 1
	done
}
if out=$(attach_all 2>&1); then
	pass "attach 3 customer + 1 upstream interfaces, mode $MODE"
elif [ "$MODE" = native ]; then
	fail "attach in native mode" "$(tail -n 3 <<<"$out" | tr '\n' ' ')"
	for spec in "${IFACES[@]}"; do tg detach "${spec%%:*}" >/dev/null 2>&1; done
	MODE=generic
	sed -i 's/mode: native/mode: generic/' "$TMP"/sched/*.yaml
	install_config 0
	check "attach in generic mode (fallback)" attach_all
else
	fail "attach in $MODE mode" "$(tail -n 3 <<<"$out" | tr '\n' ' ')"
fi
tg -j status >/dev/null 2>&1 || finish

# ip netns exec would remount /sys and hide the pins: nsenter keeps the host's mounts.
# nsenter execs tollgated (no fork), so $! is the daemon's own PID.
nsenter --net="/run/netns/$P-rtr" -- "$TGD" -c "$CFG" >"$TMP/daemon.log" 2>&1 &
DPID=$!
daemon_up() {
	local _
	for _ in $(seq 100); do
		grep -q ' applied: ' "$TMP/daemon.log" && break
		sleep 0.05
	done
	grep -q ' applied: ' "$TMP/daemon.log" || { cat "$TMP/daemon.log"; return 1; }
	[ "$(cat "/proc/$DPID/comm" 2>/dev/null)" = tollgated ] || { echo "PID $DPID is not tollgated"; return 1; }
}
check "tollgated (PID $DPID) started and applied the configuration" daemon_up

# ---- before the traffic: everyone passes, counting is exact, the veth byte overhead ----
ping_ok() { # NS COUNT ADDR [ping args]: every echo answered
	local ns=$1 n=$2 addr=$3 out
	shift 3
	out=$(lab_ns "$ns" ping -n -q -c "$n" -i 0.01 -W 1 "$@" "$addr" 2>&1)
	grep -q " $n received" <<<"$out" || { echo "$out" | tail -n 2; return 1; }
}
ping_none() { # NS COUNT ADDR [ping args]: no echo answered
	local ns=$1 n=$2 addr=$3 out
	shift 3
	out=$(lab_ns "$ns" ping -n -q -c "$n" -i 0.01 -W 0.3 "$@" "$addr" 2>&1)
	grep -q "$n packets transmitted, 0 received" <<<"$out" || { echo "$out" | tail -n 2; return 1; }
}
ab_ping() {
	ping_ok "$P-cust" 3 "$LAB_UP4" && ping_ok "$P-cust" 3 "$LAB_UP6" &&
		ping_ok "$P-cust" 3 "$LAB_UP4" -I "$LAB_B4" && ping_ok "$P-cust" 3 "$LAB_UP6" -I "$LAB_B6"
}
c_ping() { # SLOT COUNT: C's addresses of SLOT get every echo answered, IPv4 and IPv6
	ping_ok "$P-spf" "$2" "$LAB_UP4" -I "${C_H4[$1]}" && ping_ok "$P-spf" "$2" "$LAB_UP6" -I "${C_H6[$1]}"
}
c_noping() { # SLOT COUNT: C's addresses of SLOT get no echo answered, IPv4 and IPv6
	ping_none "$P-spf" "$2" "$LAB_UP4" -I "${C_H4[$1]}" && ping_none "$P-spf" "$2" "$LAB_UP6" -I "${C_H6[$1]}"
}
check "A and B ping upstream (IPv4, IPv6)" ab_ping
check "C pings upstream from its slot 0 addresses" c_ping 0 3

# The host veth's byte counters against IP bytes: rx counts the Ethernet header; tx on a
# veth whose peer runs native XDP reports the peer's NAPI counters, which may not. Measured
# with 5 IPv4 echoes (84 IP bytes each), which Tollgate must count exactly.
snap cal0
veth cal0
ping_ok "$P-cust" 5 "$LAB_UP4" >/dev/null
snap cal1
veth cal1
HDR_UP=$(awk -v d="$P-ca" '$1 == d && $2 == "tx_bytes" { print $3 }' "$TMP/cal0.veth" "$TMP/cal1.veth" | paste -sd' ' | awk '{ print ($2 - $1) / 5 - 84 }')
HDR_DOWN=$(awk -v d="$P-ca" '$1 == d && $2 == "rx_bytes" { print $3 }' "$TMP/cal0.veth" "$TMP/cal1.veth" | paste -sd' ' | awk '{ print ($2 - $1) / 5 - 84 }')
echo "  link header in the host veth byte counters: sent $HDR_UP bytes, received $HDR_DOWN bytes a packet"
check "5 echoes from A counted exactly (5 packets, 420 IP bytes each way)" deltas cal0 cal1 \
	cust.cust-a.upload.passed.packets=5 cust.cust-a.upload.passed.bytes=420 \
	cust.cust-a.download.passed.packets=5 cust.cust-a.download.passed.bytes=420
case "$HDR_UP $HDR_DOWN" in
"0 14" | "14 14") ;;
*)
	fail "veth byte counters understood" "link header sent $HDR_UP, received $HDR_DOWN (want 0 or 14, 14)"
	HDR_UP=0 HDR_DOWN=14
	;;
esac

snap s0
h base "$TMP/s0" >"$TMP/base.json" 2>>"$TMP/tollgate.err" || { fail "indexes of A, B, C" "$(tail -n 3 "$TMP/tollgate.err")"; finish; }
echo "  indexes: $(cat "$TMP/base.json")"

# ---- steady traffic for A and B: upload and download, IPv4 and IPv6 ----
wait_listen() { # NS PORT
	local _
	for _ in $(seq 50); do
		lab_ns "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}
# iperf3 streams: NAME CLIENT_ADDR SERVER_ADDR PORT [-R]. Servers in the upstream host.
STREAMS=("up-a4 $LAB_A4 $LAB_UP4 5411" "up-a6 $LAB_A6 $LAB_UP6 5412"
	"down-a4 $LAB_A4 $LAB_UP4 5413 -R" "down-a6 $LAB_A6 $LAB_UP6 5414 -R"
	"up-b4 $LAB_B4 $LAB_UP4 5415" "up-b6 $LAB_B6 $LAB_UP6 5416"
	"down-b4 $LAB_B4 $LAB_UP4 5417 -R" "down-b6 $LAB_B6 $LAB_UP6 5418 -R")
start_servers() {
	local s name caddr saddr port
	for s in "${STREAMS[@]}"; do
		read -r name caddr saddr port _ <<<"$s"
		ip netns exec "$P-up" iperf3 -s -1 -B "$saddr" -p "$port" >"$TMP/server-$name.log" 2>&1 &
		bg $!
	done
	for s in "${STREAMS[@]}"; do
		read -r name caddr saddr port _ <<<"$s"
		wait_listen "$P-up" "$port" || { echo "iperf3 server $name on port $port did not start"; return 1; }
	done
}
if ! start_servers >"$TMP/servers.out" 2>&1; then
	fail "iperf3 servers" "$(cat "$TMP/servers.out")"
	finish
fi

veth s0
TRAFFIC_T0=$(now_ms)
for s in "${STREAMS[@]}"; do
	read -r name caddr saddr port rflag <<<"$s"
	# shellcheck disable=SC2086  # rflag: -R or nothing
	ip netns exec "$P-cust" iperf3 -J --connect-timeout 2000 -c "$saddr" -B "$caddr" -p "$port" \
		-u -b "$UDP_RATE" -l "$UDP_LEN" -t "$TRAFFIC_S" $rflag >"$TMP/iperf-$name.json" 2>&1 &
	bg $!
done
TRAFFIC_PIDS=("${BG_PIDS[@]: -${#STREAMS[@]}}")

traffic_alive() {
	local pid dead=0
	for pid in "${TRAFFIC_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null || dead=$((dead + 1))
	done
	[ "$dead" -eq 0 ] || { echo "$dead of ${#TRAFFIC_PIDS[@]} traffic processes have ended"; return 1; }
}
sleep "$WARM_S"
snap warm
traffic_flows() {
	local c
	traffic_alive || return 1
	for c in cust.cust-a.upload cust.cust-a.download cust.cust-b.upload cust.cust-b.download; do
		deltas s0 warm "$c.passed.packets=0" >/dev/null && { echo "$c: nothing passed"; return 1; }
		deltas s0 warm "$c.dropped_total.packets=0" || return 1
	done
	return 0
}
check "traffic flows: A and B counted both ways, nothing dropped" traffic_flows

# ---- the reloads ----
# do_reload K: apply step K the way its schedule says; the outcome in RL_RC / RL_INFO
do_reload() {
	local k=$1 kind=$2
	install_config "$k" || { RL_RC=99; RL_INFO="cannot install step $k"; return; }
	if [ "$kind" = cli ] || [ "$kind" = local ]; then
		# local: no daemon at that socket, so tollgate reloads itself (a full sync, which
		# the daemon's next reload must notice)
		if [ "$kind" = local ]; then
			TOLLGATE_SOCKET=$TMP/no-daemon.sock tg -j reload >"$TMP/reload-$k.json" 2>"$TMP/reload-$k.err"
		else
			tg -j reload >"$TMP/reload-$k.json" 2>"$TMP/reload-$k.err"
		fi
		RL_RC=$?
		RL_INFO="cli:$TMP/reload-$k.json"
	else
		local ok0 bad0 ok1 bad1
		ok0=$(grep -c ' reloaded in ' "$TMP/daemon.log")
		bad0=$(grep -c 'not applied' "$TMP/daemon.log")
		kill -HUP "$DPID"
		for _ in $(seq 500); do
			ok1=$(grep -c ' reloaded in ' "$TMP/daemon.log")
			bad1=$(grep -c 'not applied' "$TMP/daemon.log")
			[ "$ok1" -ne "$ok0" ] || [ "$bad1" -ne "$bad0" ] && break
			sleep 0.01
		done
		if [ "$bad1" -ne "$bad0" ]; then
			RL_RC=1
		elif [ "$ok1" -ne "$ok0" ]; then
			RL_RC=0
		else
			RL_RC=98 # no word from the daemon within 5 s
		fi
		RL_INFO="hup:$(grep ' reloaded in ' "$TMP/daemon.log" | tail -n 1)"
	fi
}

reload_results() { # K PREV INFO: the checker's verdict on reload K's snapshots
	count_results "reload $1" < <(h check "$P" "$TMP/sched/$1.json" "$TMP/$2" "$TMP/r$1.pre" \
		"$TMP/r$1.post" "$TMP/base.json" "$3" 2>&1)
}

# After a move of C from slot OLD to slot NEW: the new addresses pass and are C's, the old
# ones are dropped as spoof and charged to C (the only customer bound to C's port).
move_checks() {
	local k=$1 old=$2 new=$3
	snap "m$k.0"
	check "reload $k: C's new addresses ${C_H4[new]}, ${C_H6[new]} pass (10 echoes each)" c_ping "$new" 10
	snap "m$k.1"
	later check "reload $k:   ... counted as C's exactly (+20 packets, +1880 bytes each way)" deltas "m$k.0" "m$k.1" \
		cust.cust-c.upload.passed.packets=20 cust.cust-c.upload.passed.bytes=1880 \
		cust.cust-c.download.passed.packets=20 cust.cust-c.download.passed.bytes=1880 \
		cust.cust-c.upload.dropped_total.packets=0
	check "reload $k: C's old addresses ${C_H4[old]}, ${C_H6[old]} get no answer (5 echoes each)" c_noping "$old" 5
	snap "m$k.2"
	later check "reload $k:   ... dropped as spoof, charged to C (10 packets, 940 bytes)" deltas "m$k.1" "m$k.2" \
		cust.cust-c.upload.dropped.spoof.packets=10 cust.cust-c.upload.dropped.spoof.bytes=940 \
		cust.cust-c.upload.dropped_total.packets=10 cust.cust-c.upload.passed.packets=0 \
		cust.cust-c.download.passed.packets=0 "if.$P-c2.counters.dropped.spoof.packets=10"
	c_addr del "$old"
}

# After a rejected reload: it said so, naming the file and line; C still has its slot.
bad_checks() {
	local k=$1 kind=$2 bad=$3 line=$4 slot=$5 where
	if [ "$kind" != hup ]; then
		check "reload $k: tollgate reload exits non-zero" test "$RL_RC" -ne 0 -a "$RL_RC" -lt 98
		where=$TMP/reload-$k.err
	else
		check "reload $k: tollgated logs \"not applied\"" test "$RL_RC" -eq 1
		where=$TMP/daemon.log
	fi
	if [ "$bad" = dup ]; then
		check "reload $k:   ... the error names the CSV, the field and A's prefix given twice" \
			grep -qE "customers.csv:[0-9]+: field 'prefixes': 198\.51\.100\.0/28 " "$where"
	elif [ "$bad" = bogon ]; then
		check "reload $k:   ... the error names the CSV, line $line, the field and the bogon" \
			grep -qE "customers.csv:$line: field 'prefixes': 0\.0\.0\.0/0 contains 0\.0\.0\.0/8" "$where"
	else
		check "reload $k:   ... the error names the CSV, line $line and the field" \
			grep -qE "customers.csv:$line: field '(plan|prefixes)'" "$where"
	fi
	snap "b$k.0"
	check "reload $k:   ... C still passes from its slot $slot address ${C_H4[slot]} (5 echoes)" \
		ping_ok "$P-spf" 5 "$LAB_UP4" -I "${C_H4[slot]}"
	snap "b$k.1"
	later check "reload $k:   ... counted as C's" deltas "b$k.0" "b$k.1" \
		cust.cust-c.upload.passed.packets=5 cust.cust-c.download.passed.packets=5
}

# Only actions and snapshots run between reloads (each Python start costs up to half a
# second on a loaded machine, which would push the schedule past the traffic): the
# schedule is read once here, and the Python checks run after the loop, in order.
declare -A SCHED
SCHED_FILES=()
for k in $(seq 1 "$RELOADS"); do SCHED_FILES+=("$TMP/sched/$k.json"); done
while read -r k rest; do SCHED[$k]=$rest; done < <("$PY" -c '
import json, sys
for k, f in enumerate(sys.argv[1:], 1):
    s = json.load(open(f))
    print(k, " ".join(str(s[x]) for x in ("kind", "bad", "bad_line", "move", "slot", "slot_before")))
' "${SCHED_FILES[@]}")
LATER=()
later() { # CMD...: run after the reload loop, in the order queued
	local q
	printf -v q '%q ' "$@"
	LATER+=("$q")
}
prev=warm
RL_T0=$(now_ms)
SPACING_MS=$(awk -v s="$SPACING_S" 'BEGIN { printf "%d", s * 1000 }')
RL_MAX_MS=0
for k in $(seq 1 "$RELOADS"); do
	due=$((TRAFFIC_T0 + ${WARM_S/./} * 100 + (k - 1) * SPACING_MS))
	now=$(now_ms)
	[ "$now" -lt "$due" ] && sleep "$(awk -v d=$((due - now)) 'BEGIN { printf "%.3f", d / 1000 }')"
	if [ -z "${SCHED[$k]:-}" ]; then
		fail "reload $k" "no schedule entry"
		break
	fi
	read -r kind bad bad_line move slot slot_before <<<"${SCHED[$k]}"
	# a move: C's host gets the new slot's addresses first (nodad: no duplicate detection)
	[ "$move" = True ] && [ "$bad" = None ] && c_addr add "$slot" nodad
	snap "r$k.pre"
	t0=$(now_ms)
	do_reload "$k" "$kind"
	t1=$(now_ms)
	[ $((t1 - t0)) -gt "$RL_MAX_MS" ] && RL_MAX_MS=$((t1 - t0))
	snap "r$k.post"
	if [ "$bad" = None ] && [ "$RL_RC" -ne 0 ]; then
		fail "reload $k ($kind) applied" "exit/result $RL_RC: $(tail -n 3 "$TMP/reload-$k.err" 2>/dev/null | tr '\n' ' ')"
	fi
	later reload_results "$k" "$prev" "$RL_INFO"
	[ "$bad" != None ] && bad_checks "$k" "$kind" "$bad" "$bad_line" "$slot"
	[ "$move" = True ] && [ "$bad" = None ] && move_checks "$k" "$slot_before" "$slot"
	prev=r$k.post
done
RL_T1=$(now_ms)
echo "  $RELOADS reloads in $(((RL_T1 - RL_T0) / 1000)).$((((RL_T1 - RL_T0) % 1000) / 100)) s, the slowest took $RL_MAX_MS ms"
check "every reload ran while all ${#STREAMS[@]} traffic streams were still flowing" traffic_alive
for q in "${LATER[@]}"; do eval "$q"; done
check "tollgated is still running" kill -0 "$DPID"

# ---- the end of the traffic ----
wait_traffic() {
	local deadline pid
	deadline=$(($(now_ms) + (TRAFFIC_S + 30) * 1000 - ($(now_ms) - TRAFFIC_T0)))
	for pid in "${TRAFFIC_PIDS[@]}"; do
		while kill -0 "$pid" 2>/dev/null; do
			[ "$(now_ms)" -lt "$deadline" ] || { echo "traffic process $pid still running"; return 1; }
			sleep 0.2
		done
	done
}
check "the traffic streams ended on their own" wait_traffic
sleep 0.3 # the last replies and the routers' forwarding
snap s1
veth s1
count_results "final accounting" < <(UDP_RATE=$UDP_RATE h final "$P" "$TMP/s0" "$TMP/s1" "$TMP/s0.veth" \
	"$TMP/s1.veth" "$HDR_UP" "$HDR_DOWN" "$TMP" 2>&1)

final_limits() {
	local up down want_up want_down
	read -r want_up want_down < <(lab_json '"%d %d" % (j["c_up"] * 1000000, j["c_down"] * 1000000)' <"$TMP/sched/$RELOADS.json")
	read -r up down < <(tgr -j customer show cust-c | lab_json \
		'"%s %s" % (j["customer"]["upload"]["limit"]["rate_bps"], j["customer"]["download"]["limit"]["rate_bps"])')
	echo "  C: upload ${up} bit/s (its own rate), download ${down} bit/s (its plan's), want $want_up and $want_down"
	[ "$up" = "$want_up" ] && [ "$down" = "$want_down" ]
}
check "C's final limits are the last configured (customer show limit.rate_bps)" final_limits
check "A and B: no drops, same indexes at the end" deltas s0 s1 \
	cust.cust-a.upload.dropped_total.packets=0 cust.cust-a.download.dropped_total.packets=0 \
	cust.cust-b.upload.dropped_total.packets=0 cust.cust-b.download.dropped_total.packets=0 \
	cust.cust-a.index=0 cust.cust-b.index=0
daemon_errors() { # every error tollgated logged belongs to the rejected reload
	local n
	n=$(grep -v ': info: ' "$TMP/daemon.log" | grep -cvE "customers.csv:[0-9]+: |not applied")
	[ "$n" -eq 0 ] || { grep -v ': info: ' "$TMP/daemon.log" | tail -n 3; return 1; }
}
check "tollgated logged no error but the rejected reload's" daemon_errors

# (not under check: wait needs the daemon to be a child of this shell, not of a subshell)
kill -TERM "$DPID"
wait "$DPID"
rc=$?
DPID=
if [ "$rc" -ne 0 ]; then
	fail "SIGTERM: tollgated exits 0" "it exited $rc"
elif ! ip -n "$P-rtr" -d link show dev "$P-c0" | grep -qE '\bxdp(generic)?\b'; then
	fail "SIGTERM: tollgated exits 0, XDP stays attached" "no XDP left on $P-c0"
else
	pass "SIGTERM: tollgated exits 0, XDP stays attached"
fi
T_END=$(now_ms)
echo "  total $(((T_END - T_START) / 1000)) s"
finish
exit
}
