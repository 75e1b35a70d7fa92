#!/usr/bin/env bash
# test/scripts/index_order.sh: index order, ranges and eq follow Convex's
# total order, checked against Convex's own comparison.
#
# A property test (lib/index_order.mjs): random Convex values of every type
# (nested arrays and objects, unicode strings, NaN/-0/infinities, int64
# extremes, missing fields) in the jsonb (v.any(), union) and typed
# (optional and required) index fields of a user table, read back through
# convex_db_query in index order and through random gt/gte/lt/lte ranges
# (with and without an eq prefix), compared with compareValues from the
# convex npm package (convex-js src/values/compare.ts) as the oracle.
#
# The package is installed with npm into tmp/oracle (git-ignored) when it
# is not there yet; the script fails clearly when node or npm is missing or
# the registry cannot be reached.  INDEX_ORDER_SEED, INDEX_ORDER_DOCS and
# INDEX_ORDER_QUERIES change the run (defaults: a seed from the clock, 400
# documents, 40 ranges per index); a failure prints the seed to replay.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops database
# convexlite_index_order.  PASS/FAIL lines; exit 1 on any failure.
set -uo pipefail

DB=convexlite_index_order
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

CONVEX_VERSION=1.31.0
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ORACLE=${CVX_ORACLE_DIR:-$ROOT/tmp/oracle}
SEED=${INDEX_ORDER_SEED:-$(date +%s)}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	fail "node and npm are needed for the compareValues oracle (Debian: apt-get install nodejs npm)"
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
out=$(PGDATABASE=$DB CVX_ORACLE_DIR="$ORACLE" \
	node "$(dirname "$0")/lib/index_order.mjs" "$SEED" "${INDEX_ORDER_DOCS:-400}" \
	"${INDEX_ORDER_QUERIES:-40}" 2>&1)
rc=$?
echo "$out"
CHECKS=$((CHECKS + $(grep -c '^PASS: \|^FAIL: ' <<<"$out")))
FAILURES=$((FAILURES + $(grep -c '^FAIL: ' <<<"$out")))
if [ $rc -ne 0 ] && ! grep -q '^FAIL: ' <<<"$out"; then
	fail "the property test stopped (exit $rc)"
fi
[ "$FAILURES" -eq 0 ] || echo "replay with INDEX_ORDER_SEED=$SEED"
[ "$FAILURES" -eq 0 ]
