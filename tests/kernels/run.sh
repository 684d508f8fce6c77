#!/usr/bin/env bash
#
# run.sh - run the BPF suites (build/tests/test_golden, build/tests/test_sync) and real
# packets through tollgate (tests/kernels/traffic.sh) on the kernel Tollgate's users run
# rather than the one this machine runs: Debian 12's cloud kernel, booted under qemu with
# an initramfs that holds the suites and nothing else.
#
#   tests/kernels/run.sh [-s SUITE]... [PACKAGE...]
#
# `make test-kernels` runs all three; tests/run.sh (`make test`) runs the golden suite and
# traffic.sh (-s ... -s ...): under TCG on a busy 2-core machine those take about 100 s
# in the guest, 2 min with the boot, where test_sync alone takes 5-11 min.
#
# PACKAGE is a Debian kernel image package (linux-image-6.1.0-NN-cloud-amd64); the default
# is the one Debian 12's linux-image-cloud-amd64 depends on today (apt-cache). The .deb is
# fetched with `apt-get download` into TG_KERNEL_CACHE (build/kernels) once and unpacked
# there; nothing is installed on this machine. The initramfs holds busybox (busybox-static),
# dash as /bin/sh, ip (iproute2), build/tollgate and the suites with the shared libraries
# ldd names, and the kernel's own veth and ifb modules; its /init mounts proc, sys,
# devtmpfs and bpffs, loads the modules, runs each suite, prints its exit status and powers
# off. The guest's serial console is this script's output, every line prefixed with the
# kernel release.
#
# Environment: TG_KERNEL_CACHE (build/kernels), TG_KERNEL_TIMEOUT (seconds per boot, 1200),
# TG_KERNEL_SUITES (the suites, relative to the worktree, space-separated), TG_QEMU_ACCEL
# (tcg; kvm on a machine where it boots), TG_QEMU_MEM (MiB, 2048), TG_QEMU_SMP (2),
# BUILD (build).
#
# Ends with "N passed, N failed" summed over every suite on every kernel. A kernel that
# cannot be fetched or booted, a suite that prints no such line, or one that exits non-zero
# without a failure counts as one failure more. Exits non-zero if anything failed; exits 77
# (skip) without root or without qemu-system-x86_64, busybox-static, cpio or dash
# (scripts/install-deps.sh installs them).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1

BUILD=${BUILD:-build}
CACHE=${TG_KERNEL_CACHE:-$BUILD/kernels}
TIMEOUT=${TG_KERNEL_TIMEOUT:-1200}
read -r -a SUITES <<<"${TG_KERNEL_SUITES:-$BUILD/tests/test_golden $BUILD/tests/test_sync tests/kernels/traffic.sh}"
ACCEL=${TG_QEMU_ACCEL:-tcg}
MEM=${TG_QEMU_MEM:-2048}
SMP=${TG_QEMU_SMP:-2}
BUSYBOX=/bin/busybox

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP test-kernels: needs root (the suites run BPF_PROG_TEST_RUN in the guest as root; apt-get download)"
	exit 77
fi
for tool in qemu-system-x86_64 cpio dash apt-get dpkg-deb; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP test-kernels: $tool not found (scripts/install-deps.sh installs it)"
		exit 77
	fi
done
if ! "$BUSYBOX" --list 2>/dev/null | grep -qx poweroff || ldd "$BUSYBOX" >/dev/null 2>&1; then
	echo "SKIP test-kernels: $BUSYBOX is not a static busybox (scripts/install-deps.sh installs busybox-static)"
	exit 77
fi

total_pass=0
total_fail=0

fail() {
	echo "FAIL $*"
	total_fail=$((total_fail + 1))
}

# The kernel image package to use when none is named: what linux-image-cloud-amd64 pulls.
default_package() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1
}

# fetch PACKAGE DIR: the package's .deb in the cache, unpacked into DIR (once).
fetch() {
	local pkg=$1 dir=$2 deb

	deb=$(find "$CACHE/debs" -name "${pkg}_*.deb" 2>/dev/null | sort | tail -n 1)
	if [ -z "$deb" ]; then
		mkdir -p "$CACHE/debs" || return 1
		# apt's _apt user may not write here: the download then runs as root, which is fine.
		# Stale package lists name a .deb the archive no longer has: update them once.
		(cd "$CACHE/debs" && { apt-get download -q "$pkg" || { apt-get update -qq &&
			apt-get download -q "$pkg"; }; } 2>&1 | grep -v '^W: Download is performed unsandboxed')
		deb=$(find "$CACHE/debs" -name "${pkg}_*.deb" 2>/dev/null | sort | tail -n 1)
		[ -n "$deb" ] || return 1
	fi
	if [ ! -e "$dir/.unpacked" ] || [ "$deb" -nt "$dir/.unpacked" ]; then
		rm -rf "$dir" && mkdir -p "$dir" && dpkg-deb -x "$deb" "$dir" && echo "$deb" >"$dir/.unpacked"
	fi
}

# copy_elf FILE ROOTFS: FILE and every shared library ldd names, at the same paths.
copy_elf() {
	local f=$1 rootfs=$2 lib

	install -D -m 0755 "$f" "$rootfs/$f" || return 1
	for lib in $(ldd "$f" 2>/dev/null | sed -n -e 's/.*=> \(\/[^ ]*\) .*/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
		[ -e "$rootfs$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib" || return 1
	done
}

# initramfs KDIR RELEASE OUT: the guest's root file system as a gzipped cpio.
initramfs() {
	local kdir=$1 rel=$2 out=$3 rootfs m s mod

	rootfs=$(mktemp -d "$CACHE/rootfs.XXXXXX") || return 1
	mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,mods} || return 1
	cp "$BUSYBOX" "$rootfs/bin/busybox" || return 1
	for m in $("$BUSYBOX" --list); do
		[ "$m" = busybox ] || ln -sf busybox "$rootfs/bin/$m"
	done
	# The suites' system() runs /bin/sh: dash, not busybox's sh, which runs its own applets
	# before PATH, and busybox's ip ignores "peer name" (the golden suite's veth pair).
	copy_elf "$(command -v dash)" "$rootfs" || return 1
	ln -sf "$(command -v dash)" "$rootfs/bin/sh" || return 1
	copy_elf "$(command -v ip)" "$rootfs" || return 1
	# veth for the second interface of the golden suite (ifb its fallback); 8021q unused
	for m in veth ifb; do
		mod=$(find "$kdir/lib/modules/$rel" -name "$m.ko*" | head -n 1)
		# Debian 12's 6.1 modules are plain .ko; later kernels' .ko.xz, which busybox's
		# insmod may not read
		case $mod in
		"") continue ;;
		*.ko) cp "$mod" "$rootfs/mods/$m.ko" ;;
		*.ko.xz) xz -dc "$mod" >"$rootfs/mods/$m.ko" ;;
		*.ko.zst) zstd -qdc "$mod" >"$rootfs/mods/$m.ko" ;;
		*.ko.gz) gzip -dc "$mod" >"$rootfs/mods/$m.ko" ;;
		*) false ;;
		esac || return 1
		echo "$m.ko" >>"$rootfs/mods/order"
	done
	# traffic.sh runs build/tollgate; a script has no libraries (ldd says so) and is copied
	for s in "$BUILD/tollgate" "${SUITES[@]}"; do
		copy_elf "$s" "$rootfs" || return 1
	done
	cat >"$rootfs/init" <<-EOF
		#!/bin/sh
		export PATH=/usr/sbin:/usr/bin:/sbin:/bin
		mount -t proc proc /proc
		mount -t sysfs sysfs /sys
		mount -t devtmpfs devtmpfs /dev
		mount -t tmpfs tmpfs /tmp
		mount -t bpf bpf /sys/fs/bpf
		for m in \$(cat /mods/order 2>/dev/null); do
			insmod /mods/\$m || echo "TG-NOTE insmod \$m failed"
		done
		ip link set lo up
		echo "TG-KERNEL \$(uname -r) \$(cat /proc/version)"
		cd /
		for s in ${SUITES[*]}; do
			echo "TG-BEGIN \$s"
			start=\$(cut -d. -f1 /proc/uptime)
			./\$s </dev/null 2>&1
			rc=\$?
			echo "TG-END \$s \$rc \$((\$(cut -d. -f1 /proc/uptime) - start))"
		done
		echo TG-DONE
		sync
		poweroff -f
	EOF
	chmod 0755 "$rootfs/init"
	(cd "$rootfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$out" || return 1
	rm -rf "$rootfs"
}

# boot PACKAGE: one kernel, every suite. Adds to total_pass/total_fail.
boot() {
	local pkg=$1 kdir rel kernel initrd log start secs line suite rc np nf summary
	local -A done_suites=()

	kdir=$CACHE/$pkg
	if ! fetch "$pkg" "$kdir"; then
		fail "$pkg: cannot fetch or unpack the package (apt-get download $pkg)"
		return
	fi
	kernel=$(find "$kdir/boot" -name 'vmlinuz-*' 2>/dev/null | head -n 1)
	if [ -z "$kernel" ]; then
		fail "$pkg: no /boot/vmlinuz-* in the package"
		return
	fi
	rel=${kernel##*/vmlinuz-}
	initrd=$CACHE/$pkg.initrd.gz
	if ! initramfs "$kdir" "$rel" "$initrd"; then
		fail "$pkg: cannot build the initramfs"
		return
	fi
	log=$(mktemp "/tmp/tg-kernels-$$.XXXXXX")
	echo "=== $pkg ($(sed 's/.*_\(.*\)_amd64.deb/\1/' "$kdir/.unpacked"), kernel $rel, qemu -accel $ACCEL, $SMP CPUs, $MEM MiB)"
	start=$(date +%s)
	# -no-reboot: a panic (panic=-1) ends qemu instead of looping; the timeout catches a hang.
	# SeaBIOS's terminal resets and colours are cut from the console.
	timeout --foreground "$TIMEOUT" qemu-system-x86_64 -accel "$ACCEL" -m "$MEM" -smp "$SMP" \
		-kernel "$kernel" -initrd "$initrd" -nographic -no-reboot -nodefaults -serial stdio \
		-append "console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init" </dev/null 2>&1 |
		sed -u -e 's/\r$//' -e 's/\x1bc//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' | tee "$log" |
		sed -u "s/^/[$rel] /"
	rc=${PIPESTATUS[0]}
	secs=$(($(date +%s) - start))
	echo "=== $pkg: guest ran ${secs}s (qemu exit $rc)"

	# Each suite's lines lie between its TG-BEGIN and TG-END; its last summary counts.
	suite=
	summary=
	while IFS= read -r line; do
		case $line in
		"TG-BEGIN "*)
			suite=${line#TG-BEGIN }
			summary=
			;;
		"TG-END "*)
			read -r _ s rc _ <<<"$line"
			done_suites[$s]=1
			if [ -z "$summary" ]; then
				fail "$rel $s: exited $rc without an 'N passed, N failed' line"
			else
				read -r np _ nf _ <<<"$summary"
				total_pass=$((total_pass + np))
				total_fail=$((total_fail + nf))
				[ "$rc" -ne 0 ] && [ "$nf" -eq 0 ] && fail "$rel $s: exited $rc although it reports no failure"
			fi
			suite=
			;;
		*)
			[ -n "$suite" ] && [[ $line =~ ^[0-9]+\ passed,\ [0-9]+\ failed$ ]] && summary=$line
			;;
		esac
	done <"$log"
	for s in "${SUITES[@]}"; do
		[ -n "${done_suites[$s]:-}" ] || fail "$rel $s: did not finish (guest crashed, hung or timed out after ${TIMEOUT}s; see the console above)"
	done
	rm -f "$log"
}

main() {
	local pkgs pkg opt chosen=()

	while getopts "s:h" opt; do
		case $opt in
		s) chosen+=("$OPTARG") ;;
		*)
			echo "usage: $0 [-s SUITE]... [PACKAGE...]" >&2
			exit 2
			;;
		esac
	done
	shift $((OPTIND - 1))
	[ ${#chosen[@]} -eq 0 ] || SUITES=("${chosen[@]}")
	pkgs=("$@")

	if [ ${#pkgs[@]} -eq 0 ]; then
		pkg=$(default_package)
		if [ -z "$pkg" ]; then
			fail "no kernel package: apt-cache knows no linux-image-cloud-amd64 (apt-get update?)"
		else
			pkgs=("$pkg")
		fi
	fi
	mkdir -p "$CACHE" || exit 1
	for s in "${SUITES[@]}"; do
		if [ ! -x "$s" ]; then
			fail "$s: not found or not executable (run 'make all')"
			pkgs=()
		fi
	done
	for pkg in "${pkgs[@]}"; do
		boot "$pkg"
	done
	echo "=== test-kernels total"
	echo "$total_pass passed, $total_fail failed"
	[ "$total_fail" -eq 0 ]
}

main "$@"; exit
