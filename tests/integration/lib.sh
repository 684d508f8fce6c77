# shellcheck shell=bash
#
# lib.sh - what the integration suites share: named checks that print "PASS name" or
# "FAIL name: why", and the closing "N passed, N failed" line with the exit status.
# Source it after setting nothing; it defines N_PASS and N_FAIL.

N_PASS=0
N_FAIL=0

pass() {
	N_PASS=$((N_PASS + 1))
	echo "PASS $1"
}

fail() {
	N_FAIL=$((N_FAIL + 1))
	echo "FAIL $1${2:+: $2}"
}

# check NAME CMD...: PASS if CMD succeeds. Lines CMD prints with a two-space indent are
# shown either way (measurements); the rest of its output explains a failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$(grep -v '^  ' <<<"$out" | tail -n 5 | tr '\n' ' ')"
	fi
	grep '^  ' <<<"$out"
	return 0
}

# The last line of every suite; the exit status says whether anything failed.
finish() {
	echo "$N_PASS passed, $N_FAIL failed"
	[ "$N_FAIL" -eq 0 ]
	exit
}
