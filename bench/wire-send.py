#!/usr/bin/env python3
"""Legitimate traffic from a random customer per packet, for bench/bench_wire.sh.

gen CSV OUTDIR [--seed S]: from a customers.csv (gen-customers.py's, plus any others),
  writes OUTDIR/pass4.frames and OUTDIR/pass6.frames: one UDP frame per customer in a
  random order, the source a random address inside the customer's IPv4 (IPv6) prefix, to
  203.0.113.1 (2001:db8:ffff::1) port 40000, the same sizes as the floods of scripts/lab.sh
  (128 IP bytes for IPv4, 108 UDP bytes for IPv6). The destination MAC is left zero.
  The order is shuffled once: the frames are sent in it, over and over, so consecutive
  packets come from unrelated customers and every loaded customer is visited once a cycle.

send DEV FILE DMAC SMAC SECONDS: sends FILE's frames on DEV (an AF_PACKET socket), cycling,
  for SECONDS (0: one cycle, then stop); prints the number of frames sent and CPU 0's
  softirq clock ticks over the sending (run it pinned to CPU 0: veth receives there).
"""
import argparse
import ipaddress
import random
import socket
import struct
import sys
import time

DST4 = ipaddress.IPv4Address("203.0.113.1").packed
DST6 = ipaddress.IPv6Address("2001:db8:ffff::1").packed


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame4(src):
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 128, 0, 0x4000, 64, 17, 0, src, DST4))
    struct.pack_into("!H", ip, 10, csum(bytes(ip)))
    udp = struct.pack("!HHHH", 5000, 40000, 108, 0) + b"\xab" * 100
    return bytes(6) + bytes.fromhex("020000000001") + b"\x08\x00" + bytes(ip) + udp


def frame6(src):
    ip = struct.pack("!IHBB16s16s", 0x60000000, 108, 17, 64, src, DST6)
    udp = struct.pack("!HHHH", 5000, 40000, 108, 0) + b"\xab" * 100
    return bytes(6) + bytes.fromhex("020000000001") + b"\x86\xdd" + ip + udp


def rand_in(net, rnd):
    host = net.num_addresses - 1
    return (net.network_address + (rnd.randint(0, host) if host else 0)).packed


def gen(a):
    rnd = random.Random(a.seed)
    v4, v6 = [], []
    with open(a.csv) as f:
        next(f)
        for line in f:
            for p in line.split(",")[3].split():
                net = ipaddress.ip_network(p)
                (v4 if net.version == 4 else v6).append(rand_in(net, rnd))
    for name, srcs, mk in (("pass4", v4, frame4), ("pass6", v6, frame6)):
        rnd.shuffle(srcs)
        with open("%s/%s.frames" % (a.outdir, name), "wb") as out:
            for s in srcs:
                out.write(mk(s))
        print("%s: %d frames" % (name, len(srcs)))


def send(a):
    data = bytearray(open(a.file, "rb").read())
    flen = 14 + (128 if a.file.endswith("4.frames") else 148)
    n = len(data) // flen
    if not n or len(data) % flen:
        sys.exit("wire-send: %s: not a whole number of %d-byte frames" % (a.file, flen))
    dmac, smac = bytes.fromhex(a.dmac.replace(":", "")), bytes.fromhex(a.smac.replace(":", ""))
    for i in range(n):
        data[i * flen : i * flen + 12] = dmac + smac
    mv = memoryview(data)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.dev, 0))
    sent = 0
    t0 = softirq0()
    end = time.monotonic() + a.seconds
    snd = s.send
    while True:
        for k in range(0, n, 256):
            for o in range(k * flen, min(k + 256, n) * flen, flen):
                snd(mv[o : o + flen])
            sent += min(256, n - k)
            if a.seconds and time.monotonic() >= end:
                break
        else:
            if a.seconds:
                continue
        break
    print(sent, softirq0() - t0)


def softirq0():
    """CPU 0's softirq time in clock ticks (/proc/stat): veth receives there."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu0 "):
                return int(line.split()[7])
    sys.exit("wire-send: no cpu0 in /proc/stat")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("csv")
    g.add_argument("outdir")
    g.add_argument("--seed", type=int, default=2)
    s = sub.add_parser("send")
    s.add_argument("dev")
    s.add_argument("file")
    s.add_argument("dmac")
    s.add_argument("smac")
    s.add_argument("seconds", type=float)
    a = ap.parse_args()
    gen(a) if a.cmd == "gen" else send(a)


if __name__ == "__main__":
    main()
