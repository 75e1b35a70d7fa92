# shellcheck shell=bash
# test/scripts/lib/report.sh: PASS/FAIL lines and their counts (CHECKS,
# FAILURES), for every script test; checks.sh sources it, and a script that
# needs no database (fuzz_replay.sh) sources it alone.

FAILURES=0
CHECKS=0

pass() {
	CHECKS=$((CHECKS + 1))
	echo "PASS: $*"
}
fail() {
	CHECKS=$((CHECKS + 1))
	FAILURES=$((FAILURES + 1))
	echo "FAIL: $*"
}
# check DESCRIPTION EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then
		pass "$1 ($3)"
	else
		fail "$1: expected $2, got $3"
	fi
}
