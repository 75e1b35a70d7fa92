#!/usr/bin/env bash
# test/scripts/demo_output.sh: scripts/demo.sh prints statements, results and
# errors in order, on stdout, without build noise (docs: README "Quick start").
#
# Runs scripts/demo.sh on a cluster of its own (demochk, port
# ${DEMOCHK_PORT:-54349}), with stdout and stderr apart, and checks:
#   - it succeeds and writes nothing to stderr;
#   - stdout has no build or cluster noise (compiler and make lines, initdb and
#     pg_ctl output, ==> steps): that went to tmp/demo.log, which has it;
#   - each error demo.sql provokes (its statements between ON_ERROR_STOP off
#     and on) is on stdout, with its SQLSTATE ("ERROR:  42501: ..."), right
#     after the statement that caused it, in the order of demo.sql;
#   - no C source location (LOCATION:) is shown.
# It builds and installs with the PG_CONFIG scripts/test.sh exports: run alone,
# set PG_CONFIG (it refuses to default to the system's).  The cluster is
# destroyed at exit.
set -uo pipefail

DB=convexlite_demochk_unused
T0=$(date +%s)
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"
if [ -z "${PG_CONFIG:-}" ]; then
	fail "PG_CONFIG is not set: demo.sh would build and install with the system's pg_config"
	exit 1
fi
# shellcheck source=scripts/lib.sh
. "$CVX_ROOT/scripts/lib.sh" 2>/dev/null || . "$(dirname "$0")/../../scripts/lib.sh"
NAME=demochk
PORT=${DEMOCHK_PORT:-54349}
ROOT=$CVX_ROOT
# shellcheck disable=SC2317  # invoked by the EXIT trap
demochk_cleanup() {
	(cvx_cluster_destroy "$NAME") >/dev/null 2>&1
	cleanup
}
trap demochk_cleanup EXIT

rm -f "$ROOT/tmp/demo.log"   # demo.sh writes it afresh; a stale one proves nothing
CVX_DEMO_CLUSTER=$NAME CVX_DEMO_PORT=$PORT bash "$ROOT/scripts/demo.sh" >"$WORK/out" 2>"$WORK/err" </dev/null
rc=$?
check "demo.sh succeeds" 0 "$rc"
check "demo.sh writes nothing to stderr (lines)" 0 "$(wc -l <"$WORK/err")"
[ -s "$WORK/err" ] && sed 's/^/    | /' "$WORK/err" | head -n 10

noise='(^|[ /])(gcc|cc|clang(-[0-9]+)?|make|/usr/bin/install|initdb|pg_ctl)( |:|$)|-Wall|^==> |^The files belonging|^waiting for server'
check "no build or cluster output on stdout (lines)" 0 "$(grep -cE "$noise" "$WORK/out")"
grep -E "$noise" "$WORK/out" | head -n 5 | sed 's/^/    | /'
if grep -qE -- 'Building convexlite' "$ROOT/tmp/demo.log" 2>/dev/null; then
	pass "the build's output is in tmp/demo.log"
else
	fail "the build's output is in tmp/demo.log"
fi
check "no C source location on stdout (lines)" 0 "$(grep -c '^LOCATION:' "$WORK/out")"

# Errors: demo.sql provokes errors in blocks between "\set ON_ERROR_STOP off"
# and "\set ON_ERROR_STOP on", at least one each.  psql names the line of
# demo.sql where the failing statement ends ("psql:scripts/demo.sql:LINE:
# ERROR:  ..."); the line of stdout just before the error must be that line as
# psql echoed it (psql variables substituted), so each error sits right after
# the statement that caused it.
blocks=$(grep -c '^\\set ON_ERROR_STOP off' "$ROOT/scripts/demo.sql")
grep -nE '^psql:[^ ]*: ERROR:  ' "$WORK/out" >"$WORK/errors"
n_errors=$(wc -l <"$WORK/errors")
if [ "$n_errors" -ge "$blocks" ] && [ "$blocks" -gt 0 ]; then
	pass "the errors demo.sql provokes are on stdout ($n_errors errors, $blocks blocks that expect errors)"
else
	fail "the errors demo.sql provokes are on stdout: $n_errors errors for $blocks blocks that expect errors"
fi
check "every error carries its SQLSTATE (lines without)" 0 "$(grep -cvE 'ERROR:  [0-9A-Z]{5}: ' "$WORK/errors")"

ok=1
while IFS=: read -r outline _ _ sqlline _; do
	src=$(sed -n "${sqlline}p" "$ROOT/scripts/demo.sql")
	# the source line as a pattern: literal text, psql variables as wildcards
	pattern=$(python3 -c '
import re, sys
line = sys.argv[1]
parts = re.split(r"(:\x27[A-Za-z_]+\x27|:[A-Za-z_]+)", line)
print("^" + "".join(".*" if i % 2 else re.escape(x) for i, x in enumerate(parts)) + "$")
' "$src")
	before=$(sed -n "$((outline - 1))p" "$WORK/out")
	if ! python3 -c 'import re, sys; sys.exit(0 if re.match(sys.argv[1], sys.argv[2]) else 1)' "$pattern" "$before"; then
		ok=0
		echo "    | the error at stdout line $outline (demo.sql:$sqlline) follows \"${before:0:90}\", not \"${src:0:90}\""
	fi
done <"$WORK/errors"
if [ "$ok" = 1 ] && [ "$n_errors" -gt 0 ]; then
	pass "each error follows the statement that caused it ($n_errors errors)"
else
	fail "each error follows the statement that caused it"
fi

echo "demo_output: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "demo_output: FAIL"
	exit 1
fi
echo "demo_output: PASS"
