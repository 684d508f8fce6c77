#!/usr/bin/env python3
"""Generate a large synthetic customers CSV (and a tollgate.yaml beside it) for load tests.

Customers get one IPv4 prefix (a mix of /32, /30, /29, /28 and /24, packed the way an ISP
assigns them) and one IPv6 prefix (/64, /56 or /48), and two plans alternate.

usage: gen-customers.py N OUTDIR [--iface NAME] [--seed S]
"""
import argparse
import ipaddress
import os
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("outdir")
    ap.add_argument("--iface", default="")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    os.makedirs(a.outdir, exist_ok=True)
    # IPv4 from 10.0.0.0/8 upward, each prefix aligned to its own size
    v4 = int(ipaddress.IPv4Address("10.0.0.0"))
    v6_48 = 0x20010db8 << 96
    lens4 = [32] * 60 + [30] * 15 + [29] * 10 + [28] * 10 + [24] * 5
    lens6 = [64] * 50 + [56] * 40 + [48] * 10
    with open(os.path.join(a.outdir, "customers.csv"), "w") as f:
        f.write("id,name,plan,prefixes,interface\n")
        for i in range(a.n):
            l4 = rnd.choice(lens4)
            size = 1 << (32 - l4)
            v4 = (v4 + size - 1) // size * size
            p4 = f"{ipaddress.IPv4Address(v4)}/{l4}"
            v4 += size
            l6 = rnd.choice(lens6)
            # customer i gets its own /48 slot; the prefix is the first /l6 inside it
            base6 = v6_48 + ((i + 1) << 80)
            p6 = f"{ipaddress.IPv6Address(base6)}/{l6}"
            plan = "home" if i % 2 else "biz"
            f.write(f"c{i:07d},Customer {i},{plan},{p4} {p6},{a.iface}\n")
    cap = a.n + a.n // 20 + 16  # 5% headroom for churn between reloads
    with open(os.path.join(a.outdir, "tollgate.yaml"), "w") as f:
        f.write(
            f"""interfaces:
  - {{ name: {a.iface or 'lo'}, role: customer, antispoof: loose }}
plans:
  home:
    upload: {{ rate: 20mbit, burst: 256k }}
    download: {{ rate: 100mbit, burst: 1m }}
  biz:
    upload: {{ rate: 1gbit, burst: 4m }}
    download: {{ rate: 1gbit, burst: 4m }}
customers: customers.csv
state: state.db
capacity: {{ max_customers: {cap}, max_prefixes: {2 * cap} }}
"""
        )


if __name__ == "__main__":
    main()
