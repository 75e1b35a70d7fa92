#!/usr/bin/env bash
# test/scripts/sql_qualified.sh: every name in the SQL that convexlite's C code
# runs is schema-qualified, and the checker that says so still works.
#
# 1. test/scripts/lib/sql_qualified.py over src/*.c: no unqualified table,
#    function, type, collation or operator in the SQL text (see that file for
#    what counts), and it found the SQL (at least MIN_UNITS statements and
#    fragments, so a checker that stopped finding SQL cannot pass silently).
# 2. Self-test: each mutant of test/scripts/lib/sql_qualified_mutants.txt is
#    planted alone in a scratch copy of its source file; the checker must
#    fail on the copy and name the planted reference.  A mutant whose text is
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

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

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

n=0
while IFS=$'\t' read -r file text replacement expect; do
	case $file in '' | '#'*) continue ;; esac
	n=$((n + 1))
	name="mutant $n ($file: '$text' -> '$replacement')"
	mkdir -p "$WORK/$n/$(dirname "$file")"
	if ! python3 - "$ROOT/$file" "$WORK/$n/$file" "$text" "$replacement" <<'PY'; then
import sys
src, dst, old, new = sys.argv[1:5]
text = open(src, encoding='utf-8').read()
if old not in text:
    sys.exit(1)
open(dst, 'w', encoding='utf-8').write(text.replace(old, new, 1))
PY
		fail "$name: the text is not in $file any more (update $MUTANTS)"
		continue
	fi
	mout=$(python3 "$CHECKER" "$WORK/$n/$file" 2>&1)
	mrc=$?
	if [ "$mrc" -eq 1 ] && grep -qF -- "$expect" <<<"$mout"; then
		pass "$name: caught ($(grep -F -- "$expect" <<<"$mout" | head -n 1 | sed -E 's/^[^:]*:[0-9]+: //; s/  \[in: .*//'))"
	else
		fail "$name: not caught (exit $mrc, expected a report with '$expect'):"
		printf '%s\n' "$mout"
	fi
done <"$MUTANTS"
[ "$n" -ge 10 ] || fail "only $n mutants in $MUTANTS"

echo "sql_qualified: $CHECKS checks, $FAILURES failed"
[ "$FAILURES" -eq 0 ]
