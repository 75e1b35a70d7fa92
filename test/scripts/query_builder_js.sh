#!/usr/bin/env bash
# test/scripts/query_builder_js.sh: the query builder driven by convex-js
# itself.  A property test (lib/query_builder.mjs): the convex npm package's
# own database reader builds real queries (withIndex, filter, order,
# collect, take, first, unique, paginate, db.system.query) and hands their
# JSON, unchanged, to convex_db_select and convex_db_paginate; the results
# are compared with an oracle of the Convex backend's semantics over random
# documents and random filters, ordered by the package's compareValues.
#
# The package is installed with npm into tmp/oracle (git-ignored) when it
# is not there yet, as index_order.sh does; the script fails clearly when
# node or npm is missing or the registry cannot be reached.
# QUERY_BUILDER_SEED, QUERY_BUILDER_DOCS and QUERY_BUILDER_QUERIES change
# the run (defaults: a seed from the clock, 200 documents, 150 random
# queries); a failure prints the seed to replay.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops database
# convexlite_query_builder_js.  PASS/FAIL lines; exit 1 on any failure.
set -uo pipefail

DB=convexlite_query_builder_js
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

CONVEX_VERSION=1.31.0
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ORACLE=${CVX_ORACLE_DIR:-$ROOT/tmp/oracle}
SEED=${QUERY_BUILDER_SEED:-$(date +%s)}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	fail "node and npm are needed for convex-js (Debian: apt-get install nodejs npm)"
	exit 1
fi
installed=$(node -p "require('$ORACLE/node_modules/convex/package.json').version" 2>/dev/null)
if [ "$installed" != "$CONVEX_VERSION" ]; then
	mkdir -p "$ORACLE"
	if ! npm install --prefix "$ORACLE" --no-audit --no-fund --ignore-scripts --no-save \
		"convex@$CONVEX_VERSION" >"$WORK/npm.log" 2>&1; then
		tail -5 "$WORK/npm.log"
		fail "npm install convex@$CONVEX_VERSION into $ORACLE failed (is the npm registry reachable?)"
		exit 1
	fi
fi

if ! fresh_db; then
	fail "setup: could not create database $DB with convexlite"
	exit 1
fi

echo "seed $SEED"
out=$(PGDATABASE=$DB CVX_ORACLE_DIR="$ORACLE" PATH="$(dirname "$PSQL_BIN"):$PATH" \
	node "$(dirname "$0")/lib/query_builder.mjs" "$SEED" "${QUERY_BUILDER_DOCS:-200}" \
	"${QUERY_BUILDER_QUERIES:-150}" 2>&1)
rc=$?
echo "$out"
CHECKS=$((CHECKS + $(grep -c '^PASS: \|^FAIL: ' <<<"$out")))
FAILURES=$((FAILURES + $(grep -c '^FAIL: ' <<<"$out")))
if [ $rc -ne 0 ] && ! grep -q '^FAIL: ' <<<"$out"; then
	fail "the property test stopped (exit $rc)"
fi
[ "$FAILURES" -eq 0 ] || echo "replay with QUERY_BUILDER_SEED=$SEED"
[ "$FAILURES" -eq 0 ]
