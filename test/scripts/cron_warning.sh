#!/usr/bin/env bash
# test/scripts/cron_warning.sh: without pg_cron, CREATE EXTENSION convexlite
# says what is not scheduled, with a WARNING (an extension script's NOTICEs
# never reach the client: CREATE EXTENSION raises client_min_messages to
# WARNING while it runs), naming the jobs and how to run them.
#
# 1. A database of the test cluster without the pg_cron extension (pg_cron
#    is installed only in cron.database_name): the WARNING, its jobs, its HINT.
# 2. The cron database, where pg_cron is installed (the test cluster preloads
#    it): CREATE EXTENSION there, in a transaction that is rolled back, gives
#    no WARNING.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser) and PGDATABASE (the cron database);
# creates and drops database convexlite_cron_warning.  One PASS/FAIL line per
# check; exit 1 on any failure.
set -uo pipefail

DB=convexlite_cron_warning
T0=$(date +%s)
CRON_DB=${PGDATABASE:-contrib_regression}
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

# --- 1. no pg_cron -----------------------------------------------------------------
if ! fresh_db no-extension; then
	fail "could not create database $DB"
else
	out=$(psql_db -c "CREATE EXTENSION convexlite" 2>&1)
	printf '%s\n' "$out" | sed 's/^/    | /'
	if grep -q '^WARNING:  convexlite: pg_cron is not installed in database convexlite_cron_warning' <<<"$out"; then
		pass "CREATE EXTENSION without pg_cron raises a WARNING naming the database"
	else
		fail "CREATE EXTENSION without pg_cron: no WARNING"
	fi
	for job in presence.cleanup 'scheduler retention and due jobs' 'storage cleanup'; do
		if grep -q "^WARNING: .*$job" <<<"$out"; then
			pass "the WARNING names what is not scheduled: $job"
		else
			fail "the WARNING does not name $job"
		fi
	done
	for how in 'SELECT convex_schedule_jobs()' 'CALL convex_scheduler_run_due' 'SELECT convex_storage_cleanup'; do
		if grep -q "^HINT: .*$how" <<<"$out"; then
			pass "its HINT says how to run them: $how"
		else
			fail "its HINT does not mention $how"
		fi
	done
	check "the extension is installed all the same" "t" \
		"$(q "SELECT count(*) = 1 FROM pg_extension WHERE extname = 'convexlite'")"
fi

# --- 2. with pg_cron -------------------------------------------------------------
if [ "$("$PSQL_BIN" -X -At -d "$CRON_DB" -c "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'" 2>/dev/null)" = 1 ]; then
	out=$("$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -d "$CRON_DB" 2>&1 <<'SQL'
BEGIN;
SET LOCAL client_min_messages = error;
DROP EXTENSION IF EXISTS convexlite CASCADE;
SET LOCAL client_min_messages = notice;
CREATE EXTENSION convexlite;
ROLLBACK;
SQL
)
	if grep -q "WARNING" <<<"$out"; then
		fail "CREATE EXTENSION with pg_cron warned: $out"
	else
		pass "CREATE EXTENSION where pg_cron is installed gives no WARNING"
	fi
else
	fail "pg_cron is not installed in $CRON_DB: the test cluster should preload it there"
fi

echo "cron_warning: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "cron_warning: FAIL"
	exit 1
fi
echo "cron_warning: PASS"
exit 0
