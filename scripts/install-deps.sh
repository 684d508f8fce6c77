#!/usr/bin/env bash
# Install every build, test and demo dependency of Tollgate on Debian 12 (bookworm) with apt-get.
# Idempotent: packages already present are not touched, and apt-get runs only when one is missing.
set -euo pipefail

pkgs=(
	# build
	make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev pkg-config
	libyaml-dev libcsv-dev libjansson-dev libsqlite3-dev sqlite3 libnl-3-dev libnl-route-3-dev
	libxxhash-dev libcurl4-openssl-dev libsystemd-dev libmicrohttpd-dev
	# lint (mandoc: the man pages, docs/man)
	clang-format clang-tidy cppcheck mandoc shellcheck
	# tests, demo, benchmarks
	iproute2 util-linux procps iputils-ping time bc iperf3 ethtool python3 python3-scapy python3-yaml netsniff-ng tcpdump chromium prometheus
	etcd-server etcd-client
	# upstream mitigation over BGP: the speaker and, in the tests, the transit
	gobgpd frr
	libclang-rt-14-dev
	# bench/bench_wire.sh's peers: nftables at the netdev ingress hook (only in its namespaces)
	nftables
	# the BPF suites on Debian 12's kernel under qemu (tests/kernels/run.sh)
	qemu-system-x86 busybox-static cpio dash
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages that ship a service (prometheus) must not start it here: the tests start their
# own instance, on a loopback of their own. policy-rc.d 101 = "do not start" (Debian's
# convention), only for this install and only if the host has no policy of its own.
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
