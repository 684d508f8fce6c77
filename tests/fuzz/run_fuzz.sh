#!/usr/bin/env bash
#
# run_fuzz.sh - run each libFuzzer target of the configuration readers (tests/fuzz/fuzz_*.c)
# for a while: briefly in `make test` (tests/run.sh), longer in `make fuzz`.
#   FUZZ_SECONDS=20  seconds per target (libFuzzer -max_total_time)
#   BUILD=build      the build directory (the binaries are $BUILD/fuzz/fuzz_*, made here by make)
# Each target starts from a scratch copy of its seeds in tests/fuzz/corpus/NAME, so the
# checked-in corpus is never modified. A crash, leak, UB report, a hang over 10 s or a broken
# contract (fuzz_util.c) is a FAIL; the input that caused it is kept as
# $BUILD/fuzz/artifacts/NAME-crash-* (or leak-, timeout-): fix the bug, then add that file to
# the corpus. Prints PASS or FAIL per target, ends with "N passed, N failed"; exits non-zero if
# any target failed.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1

SECS=${FUZZ_SECONDS:-20}
BUILD=${BUILD:-build}
TARGETS=(csv yaml units)
ARTIFACTS=$BUILD/fuzz/artifacts

case $SECS in
'' | *[!0-9]*)
	echo "FAIL fuzz: FUZZ_SECONDS='$SECS' is not a whole number of seconds"
	echo "0 passed, ${#TARGETS[@]} failed"
	exit 1
	;;
esac

bins=()
for t in "${TARGETS[@]}"; do
	bins+=("$BUILD/fuzz/fuzz_$t")
done
if ! make -s --no-print-directory BUILD="$BUILD" "${bins[@]}"; then
	echo "FAIL fuzz: the fuzzers do not build (clang with libFuzzer: scripts/install-deps.sh)"
	echo "0 passed, ${#TARGETS[@]} failed"
	exit 1
fi
mkdir -p "$ARTIFACTS" || exit 1

# tmpfs if there is one: every input is written to a file before it is loaded
WORK=$(mktemp -d /dev/shm/tg-fuzz-run.XXXXXX 2>/dev/null || mktemp -d /tmp/tg-fuzz-run.XXXXXX) ||
	exit 1
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# UB aborts (-fno-sanitize-recover); say where
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

pass=0
fail=0
for t in "${TARGETS[@]}"; do
	bin=$BUILD/fuzz/fuzz_$t
	dir=$WORK/$t
	log=$WORK/$t.log
	dict=()

	mkdir -p "$dir/corpus" "$dir/tmp" || exit 1
	cp tests/fuzz/corpus/"$t"/* "$dir/corpus/" 2>/dev/null
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	nseed=$(find "$dir/corpus" -type f | wc -l)

	# TMPDIR: the target's own scratch files, removed with $WORK even after a crash
	TMPDIR=$dir/tmp "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$ARTIFACTS/$t-" "${dict[@]}" \
		"$dir/corpus" >"$log" 2>&1
	rc=$?

	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	nout=$(find "$dir/corpus" -type f | wc -l)
	if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
		echo "PASS fuzz_$t: $runs runs in ${SECS}s, ${cov:-cov: ?}, corpus $nseed -> $nout"
		pass=$((pass + 1))
	else
		echo "FAIL fuzz_$t: exited $rc; the log ends:"
		tail -n 40 "$log" | sed 's/^/    /'
		grep -o "Test unit written to .*" "$log" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
