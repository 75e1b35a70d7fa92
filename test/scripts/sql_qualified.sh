#!/usr/bin/env bash
# test/scripts/sql_qualified.sh: every name in the SQL that convexlite's C code
# runs is schema-qualified, and the checker that says so still works.
#
# 1. test/scripts/lib/sql_qualified.py over src/*.c: no unqualified table,
#    function, type, collation or operator in the SQL text (see that file for
#    what counts), and it found the SQL (at least MIN_UNITS statements and
#    fragments, so a checker that stopped finding SQL cannot pass silently).
# 2. Self-test: each mutant of test/scripts/lib/sql_qualified_mutants.txt is
#    planted alone in a copy of its source file (in memory); the checker must
#    report the copy and name the planted reference.  A mutant whose text is
#    no longer in the source fails too (update the list with the code).
#
# Needs python3 only (no database).  One PASS/FAIL line per check; exit 1 on
# any failure.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHECKER=$ROOT/test/scripts/lib/sql_qualified.py
MUTANTS=$ROOT/test/scripts/lib/sql_qualified_mutants.txt
MIN_UNITS=50
# shellcheck source=test/scripts/lib/report.sh
. "$(dirname "$0")/lib/report.sh"

cd "$ROOT" || exit 1
out=$(python3 "$CHECKER" src/*.c 2>&1)
rc=$?
units=$(sed -nE 's/^sql_qualified: ([0-9]+) SQL units.*/\1/p' <<<"$out")
if [ "$rc" -eq 0 ]; then
	pass "src/*.c: no unqualified name in convexlite's SQL ($(tail -n 1 <<<"$out"))"
else
	fail "src/*.c: unqualified names in convexlite's SQL (exit $rc):"
	printf '%s\n' "$out"
fi
if [ -n "$units" ] && [ "$units" -ge "$MIN_UNITS" ]; then
	pass "the checker found the SQL ($units units, at least $MIN_UNITS)"
else
	fail "the checker found ${units:-no} SQL units, fewer than $MIN_UNITS: it no longer finds convexlite's SQL"
fi

# the self-test: one PASS/FAIL line per mutant
selftest=$(python3 "$CHECKER" --self-test "$MUTANTS" 2>&1)
src=$?
mutants=0
while IFS= read -r line; do
	case $line in
	PASS:*) mutants=$((mutants + 1)); pass "${line#PASS: }" ;;
	FAIL:*) mutants=$((mutants + 1)); fail "${line#FAIL: }" ;;
	*) echo "$line" ;;
	esac
done <<<"$selftest"
if [ "$src" -eq 0 ] && [ "$mutants" -ge 10 ]; then
	pass "self-test: all $mutants planted unqualified names were reported"
else
	fail "self-test: exit $src, $mutants mutants reported on (at least 10 expected)"
fi

echo "sql_qualified: $CHECKS checks, $FAILURES failed"
[ "$FAILURES" -eq 0 ]
