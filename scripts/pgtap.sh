#!/usr/bin/env bash
# scripts/pgtap.sh: run pgTAP files one at a time, each from a fresh
# convexlite, and check that each leaves the database as it found it.
#
#   bash scripts/pgtap.sh [FILE.sql...]      (default: test/pgtap/*.sql, in order)
#
# Connects with the usual PG* variables (scripts/test.sh runs it against the test
# cluster's contrib_regression).  For each file: install pgTAP if missing and
# reinstall convexlite (as every file begins by doing), take a snapshot of the catalog
# (test/pgtap/lib/catalog_snapshot.sql: schemas, roles, extensions, the tables of
# schema convex and their row counts, convex._tables, registered mutations,
# scheduled and pg_cron jobs, large objects), run the file with pg_prove, take
# the snapshot again and compare: a difference is a leak, reported with the
# file's name and the lines that differ.
#
# A file that aborts (an SQL error, a dead server) stops before the tests
# it planned: those count as failed.  The planned number comes from pg_prove's
# "You planned N tests but ran M", or, when the file died before its plan was
# printed, from its "SELECT plan(N)".  The last lines are
#   pgtap-notrun: FILE planned N, ran M: K did not run      (one per such file)
#   pgtap-leaked: FILE                                      (one per leaking file)
#   pgtap-summary: files=F planned=P ran=R passed=X failed=Y notrun=K leaked=L failed_files=G
#   (G: the files with a failed or unrun test, or that failed to run)
# where failed counts failing assertions, tests that did not run, and one for
# a file that failed otherwise (its exit status).  Exit status 1 if anything
# failed or leaked.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
SNAPSHOT=$ROOT/test/pgtap/lib/catalog_snapshot.sql
PSQL=${CVX_PG_BINDIR:+$CVX_PG_BINDIR/}psql

if [ $# -eq 0 ]; then
	set -- test/pgtap/*.sql
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

files=0 planned_total=0 ran_total=0 passed_total=0 failed_total=0 notrun_total=0 leaked_total=0 failed_files=0
NOTRUN_LINES=()
LEAKED_LINES=()

snapshot() {
	"$PSQL" -X -A -t -q -v ON_ERROR_STOP=1 -f "$SNAPSHOT" >"$1" 2>&1
}

for f in "$@"; do
	files=$((files + 1))
	name=$(basename "$f")
	echo "=== $f"
	if ! "$PSQL" -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
		-c "CREATE EXTENSION IF NOT EXISTS pgtap" \
		-c "DROP EXTENSION IF EXISTS convexlite CASCADE" -c "CREATE EXTENSION convexlite" >"$WORK/reinstall" 2>&1; then
		cat "$WORK/reinstall"
	fi
	snapshot "$WORK/before"
	pg_prove --psql-bin "$PSQL" --failures "$f" 2>&1 | tee "$WORK/out"
	rc=${PIPESTATUS[0]}
	snapshot "$WORK/after"

	ran=$(sed -nE 's/^Files=[0-9]+, Tests=([0-9]+),.*/\1/p' "$WORK/out" | tail -n 1)
	ran=${ran:-0}
	failed=$(sed -nE 's/.*\(Wstat: .*Failed: ([0-9]+)\)$/\1/p' "$WORK/out" | awk '{ s += $1 } END { print s + 0 }')
	planned=$(sed -nE 's/.*You planned ([0-9]+) tests? but ran [0-9]+.*/\1/p' "$WORK/out" | tail -n 1)
	if [ -z "$planned" ]; then
		if [ "$rc" -eq 0 ]; then
			planned=$ran
		else
			# died before its plan reached pg_prove: the plan in the file
			planned=$(grep -oiE 'SELECT[[:space:]]+plan\([0-9]+\)' "$f" | head -n 1 | grep -oE '[0-9]+')
			planned=${planned:-$ran}
		fi
	fi
	notrun=0
	[ "$planned" -gt "$ran" ] && notrun=$((planned - ran))
	fail_file=$((failed + notrun))
	[ "$rc" -ne 0 ] && [ "$fail_file" -eq 0 ] && fail_file=1
	if [ "$notrun" -gt 0 ]; then
		NOTRUN_LINES+=("pgtap-notrun: $name planned $planned, ran $ran: $notrun did not run")
	fi

	if ! diff -q "$WORK/before" "$WORK/after" >/dev/null; then
		leaked_total=$((leaked_total + 1))
		LEAKED_LINES+=("pgtap-leaked: $name")
		echo "LEAK: $name did not leave the database as it found it (< before, > after):"
		diff "$WORK/before" "$WORK/after" | grep -E '^[<>]' | cut -c1-300 | head -n 40
	fi

	planned_total=$((planned_total + planned))
	ran_total=$((ran_total + ran))
	passed_total=$((passed_total + ran - failed))
	failed_total=$((failed_total + fail_file))
	[ "$fail_file" -gt 0 ] && failed_files=$((failed_files + 1))
	notrun_total=$((notrun_total + notrun))
done

echo
[ ${#NOTRUN_LINES[@]} -gt 0 ] && printf '%s\n' "${NOTRUN_LINES[@]}"
[ ${#LEAKED_LINES[@]} -gt 0 ] && printf '%s\n' "${LEAKED_LINES[@]}"
echo "pgtap-summary: files=$files planned=$planned_total ran=$ran_total passed=$passed_total failed=$failed_total notrun=$notrun_total leaked=$leaked_total failed_files=$failed_files"
[ "$failed_total" -eq 0 ] && [ "$leaked_total" -eq 0 ]
