#!/usr/bin/env bash
# test/scripts/bench_sql.sh: make bench's SQL and scripts load, so that a
# broken benchmark shows in make test (a merge once left bench/peers.sql
# with a function missing its END, which only the next make bench found).
#
# In a fresh database: bench/setup.sql (convexlite's side), bench/peers.sql
# (the PL/pgSQL peers) and bench/fixtures.sql (with a batch of 10) run
# without an error, and one call of each kind of peer works; every
# bench/*.sh parses (bash -n).  Uses PGHOST/PGPORT/PGUSER (a superuser);
# creates and drops database convexlite_bench_sql.  One PASS/FAIL line per
# check; exit 1 on any failure.
set -uo pipefail

DB=convexlite_bench_sql
T0=$(date +%s)
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

if ! fresh_db no-extension; then
	fail "could not create database $DB"
else
	for f in setup.sql peers.sql fixtures.sql; do
		if out=$(psql_db -v batch=10 -c "SET client_min_messages = error" -f "bench/$f" 2>&1 >/dev/null); then
			pass "bench/$f loads"
		else
			fail "bench/$f does not load"
			printf '%s\n' "$out" | grep -v '^WARNING\|^HINT' | head -n 5 | sed 's/^/    | /'
		fi
	done
	check "a PL/pgSQL peer runs (plain.messages_send)" t \
		"$(q "SELECT plain.messages_send('{\"roomId\": \"r\", \"content\": \"c\", \"userName\": \"u\"}') IS NOT NULL" 2>&1)"
	check "the read peers run (plain.messages_list, plain.presence_list)" "1 0" \
		"$(q "SELECT jsonb_array_length(plain.messages_list('{\"roomId\": \"r\"}')) || ' ' ||
		             jsonb_array_length(plain.presence_list('{\"roomId\": \"r\"}'))" 2>&1)"
fi
for script in bench/*.sh; do
	if bash -n "$script" 2>/dev/null; then
		pass "$script parses"
	else
		fail "$script does not parse: $(bash -n "$script" 2>&1 | head -n 1)"
	fi
done
echo "bench_sql: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "bench_sql: FAIL"
	exit 1
fi
echo "bench_sql: PASS"
