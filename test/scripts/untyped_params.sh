#!/usr/bin/env bash
# test/scripts/untyped_params.sh: every public function of convexlite can be
# called through the extended protocol with untyped bound parameters, as
# node-postgres, psycopg 3, asyncpg, pgx and JDBC send them (issue 18 item 1).
#
# lib/untyped_params.mjs, with node-postgres (the pg npm package, installed
# with npm into tmp/npm, git-ignored, when it is not there yet), calls every
# function and procedure of the extension (read from pg_proc: a new one is
# covered automatically) with $1..$n unknown-typed, for every number of
# arguments it accepts, and fails on a resolution error (42725 not unique,
# 42P18 indeterminate type, 42883 no match); then runs the issue's
# convex_storage_upload($1, $2, $3) with a Buffer and convex_set_user($1).
# Fails clearly when node or npm is missing or the registry cannot be reached.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops database
# convexlite_untyped_params.  PASS/FAIL lines; exit 1 on any failure.
set -uo pipefail

DB=convexlite_untyped_params
T0=$(date +%s)
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

PG_NPM_VERSION=8.23.1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NPM_DIR=${CVX_NPM_DIR:-$ROOT/tmp/npm}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	fail "node and npm are needed for node-postgres (Debian: apt-get install nodejs npm)"
	exit 1
fi
if ! node -e "require('$NPM_DIR/node_modules/pg')" >/dev/null 2>&1; then
	mkdir -p "$NPM_DIR"
	if ! npm install --prefix "$NPM_DIR" --no-audit --no-fund --ignore-scripts --no-save \
		"pg@$PG_NPM_VERSION" >"$WORK/npm.log" 2>&1; then
		fail "npm install pg@$PG_NPM_VERSION failed (is the npm registry reachable?)"
		sed 's/^/    | /' "$WORK/npm.log" | tail -n 10
		exit 1
	fi
fi

if ! fresh_db 2>/dev/null; then
	fail "could not create database $DB with convexlite"
	exit 1
fi
PGDATABASE=$DB CVX_NODE_MODULES="$NPM_DIR/node_modules" node "$(dirname "$0")/lib/untyped_params.mjs" >"$WORK/out.log" 2>&1
rc=$?
grep -E '^(PASS|FAIL):' "$WORK/out.log" | grep -v '^PASS: .*resolves' 
n_ok=$(grep -c '^PASS: ' "$WORK/out.log")
echo "    ($n_ok calls passed; the resolving ones are not listed one by one)"
if [ "$rc" -ne 0 ] && ! grep -q '^FAIL' "$WORK/out.log"; then
	sed 's/^/    | /' "$WORK/out.log" | tail -n 20
fi
echo "$(tail -n 1 "$WORK/out.log") in $(($(date +%s) - T0)) s"
if [ "$rc" -ne 0 ]; then
	echo "untyped_params: FAIL"
	exit 1
fi
echo "untyped_params: PASS"
exit 0
