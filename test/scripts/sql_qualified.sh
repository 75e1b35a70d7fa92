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

# 3. The pin: every statement runs under plans.c's pinned search_path.  No
#    file but src/plans.c calls SPI to prepare, execute or open a statement,
#    and in plans.c each such call sits right between
#    PushOverrideSearchPath(&pinned_search_path) and PopOverrideSearchPath(),
#    with the pinned path pg_catalog alone (no caller schema, no pg_temp).
#    Qualified names make the pin look redundant; this keeps both.
SPI_RUN='SPI_(prepare|prepare_cursor|prepare_params|execute|execute_plan|execute_plan_with_paramlist|execute_with_args|exec|execp|execute_snapshot|cursor_open|cursor_open_with_args|cursor_open_with_paramlist|cursor_parse_open)[[:space:]]*\('
outside=$(grep -nE "$SPI_RUN" src/*.c | grep -v '^src/plans\.c:')
if [ -z "$outside" ]; then
	pass "only src/plans.c runs SQL through SPI"
else
	fail "SPI runs SQL outside src/plans.c, past the pinned search_path:"
	printf '%s\n' "$outside" | sed 's/^/    | /'
fi
unpinned=$(awk -v re="$SPI_RUN" '
	/^[[:space:]]*$/ { next }
	{ line[++n] = $0; no[n] = FNR }
	END {
		for (i = 1; i <= n; i++)
			if (line[i] ~ re && !(line[i - 1] ~ /PushOverrideSearchPath\(&pinned_search_path\);/ &&
								  line[i + 1] ~ /PopOverrideSearchPath\(\);/))
				printf "src/plans.c:%d: %s\n", no[i], line[i]
	}' src/plans.c)
calls=$(grep -cE "$SPI_RUN" src/plans.c)
if [ -z "$unpinned" ] && [ "$calls" -ge 4 ]; then
	pass "each of plans.c's $calls SPI calls runs between PushOverrideSearchPath(&pinned_search_path) and PopOverrideSearchPath()"
else
	fail "plans.c runs SQL without the pinned search_path ($calls SPI calls found):"
	printf '%s\n' "$unpinned" | sed 's/^/    | /'
fi
if grep -qE '^static OverrideSearchPath pinned_search_path = \{NIL, true, false, 0\};' src/plans.c; then
	pass "the pinned search_path is pg_catalog alone (no caller schema, no pg_temp)"
else
	fail "src/plans.c's pinned_search_path is not {NIL, true, false, 0} (pg_catalog alone)"
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
