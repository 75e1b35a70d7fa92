#!/usr/bin/env bash
# test/scripts/worker_database.sh: the background workers and their database
# (convexlite.database_name), and the scheduler's wake-up by COMMIT PREPARED.
#
# src/worker_launcher.c: the launcher (connected to no database) starts the
# scheduler and the NOTIFY relay in convexlite.database_name when that
# database exists and accepts connections, and waits quietly while it does
# not.  DROP DATABASE, ALTER DATABASE ... RENAME and CREATE DATABASE ...
# TEMPLATE of that database first ask the two workers to leave it (they exit
# cleanly) and wait for them, so that PostgreSQL does not refuse the command
# for "other sessions", nor terminate them (WITH (FORCE)).  src/scheduler_worker.c:
# COMMIT PREPARED of a transaction that scheduled a job wakes the worker.
#
# Its own throwaway cluster 'wdb' (scripts/lib.sh; port WDB_PORT, default
# 54348): only convexlite preloaded (pg_cron would hold the database too),
# convexlite.database_name = wdb_app, max_prepared_transactions = 2.
# Destroyed at exit (WDB_KEEP=1 keeps it).
#
# Checks:
#   0. the server's first start (before lib.sh created $DB) and its restart
#      logged no FATAL or ERROR (the launcher waited quietly), but for the
#      restart's shutdown terminating the workers;
#   1. COMMIT PREPARED (from another session) of a transaction that scheduled
#      a job due now: the job runs within 1 s, while the idle worker would
#      otherwise sleep 60 s; ROLLBACK PREPARED of one schedules nothing;
#   2. DROP DATABASE by a role that does not own wdb_app, and one inside a
#      transaction block, fail as they did and leave the workers running
#      (same pids); plain DROP DATABASE wdb_app succeeds while the worker
#      and the relay are connected (promptly, not after PostgreSQL's 5 s wait);
#   3. for 6 s after it (the old code failed at once and every 5 s): no
#      FATAL or ERROR in the server log, no scheduler or relay process;
#   4. CREATE DATABASE wdb_app + CREATE EXTENSION: the scheduler runs a job
#      again and the relay relays again (the listener sees the relay's PID);
#   5. DROP DATABASE wdb_app WITH (FORCE): the same as 2-4, and no worker was
#      terminated (no "terminating background worker" FATAL);
#   6. ALTER DATABASE wdb_app RENAME TO (and back) and CREATE DATABASE ...
#      TEMPLATE wdb_app succeed; the workers come back after each;
#   7. the launcher terminated: a new one starts (5 s later) and keeps the
#      running workers (same pids, no second scheduler or relay); the
#      scheduler terminated then: that new launcher starts a new one, but
#      not while the database has ALLOW_CONNECTIONS false (no FATAL either).
# Prints PASS/FAIL per check; exits 1 on any failure.
set -uo pipefail

NAME=wdb
PORT=${WDB_PORT:-54348}
DB=wdb_app

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/../../scripts/lib.sh"
# shellcheck source=test/scripts/lib/checks.sh
. "$HERE/lib/checks.sh"

T0=$(date +%s)

# The cluster goes with the script (checks.sh's trap calls cleanup by name).
# shellcheck disable=SC2317
cleanup() {
	if [ "${WDB_KEEP:-0}" = 1 ]; then
		echo "# WDB_KEEP=1: cluster '$NAME' left running ($CVX_LOGFILE)"
	elif [ -f "$(cvx_cluster_dir "$NAME")/data/convexlite.conf" ]; then
		cvx_cluster_destroy "$NAME" >/dev/null 2>&1
	fi
	rm -rf "$WORK"
}
trap 'exit 143' TERM
trap 'exit 130' INT

# log_lines: how many lines the server log has now
log_lines() { wc -l <"$CVX_LOGFILE"; }
# log_since LINE: the server log after line LINE
log_since() { tail -n +"$(($1 + 1))" "$CVX_LOGFILE"; }

# setup_db: convexlite and the test's mutation in $DB (the database exists)
setup_db() {
	psql_db >"$WORK/setup.log" 2>&1 <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
CREATE TABLE marks (key text NOT NULL, ran_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION mark(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO marks (key) VALUES (args->>'key');
    RETURN 'null';
END $$;
SELECT convex_define_mutation('ops:mark', 'mark(jsonb)',
  '{"type": "object", "value": {"key": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "null"}', internal => true);
EOF
}

# workers_running: "scheduler relay" counts in pg_stat_activity (database postgres)
workers_running() {
	psql_admin -At -c "SELECT count(*) FILTER (WHERE backend_type = 'convexlite scheduler') || ' ' ||
	                          count(*) FILTER (WHERE backend_type = 'convexlite notify relay')
	                     FROM pg_stat_activity"
}

# wait_workers [SECONDS]: until both workers run in $DB (default 20 s)
wait_workers() {
	local _
	for _ in $(seq $((${1:-20} * 10))); do
		[ "$(workers_running)" = "1 1" ] && return 0
		sleep 0.1
	done
	return 1
}

# wait_idle_scheduler: until the scheduler sleeps on its latch (up to 10 s)
wait_idle_scheduler() {
	local _
	for _ in $(seq 100); do
		[ "$(psql_admin -At -c "SELECT state = 'idle' AND wait_event = 'Extension' FROM pg_stat_activity
		                         WHERE backend_type = 'convexlite scheduler'")" = t ] && return 0
		sleep 0.1
	done
	return 1
}

# job_runs STEP KEY: schedule ops:mark {key} due now (committed normally) and
# check that it ran within 3 s
job_runs() {
	local step=$1 key=$2 _ state=
	q "SELECT convex_scheduler_run_after(0, 'ops:mark', '{\"key\": \"$key\"}')" >/dev/null 2>"$WORK/$key.err"
	for _ in $(seq 30); do
		state=$(q "SELECT count(*) FROM marks WHERE key = '$key'" 2>/dev/null)
		[ "$state" = 1 ] && break
		sleep 0.1
	done
	check "$step: a job scheduled now ran (within 3 s)" 1 "$state"
}

# relay_relays STEP: a write's notification reaches a listener from the relay's PID
relay_relays() {
	local step=$1 relay got
	relay=$(backend_pid "convexlite notify relay")
	got=$(psql_db -At <<EOF 2>&1
LISTEN convex_messages;
\! "$PSQL_BIN" -X -q -d "$DB" -c "SELECT convex_messages_send('{\"roomId\": \"r\", \"content\": \"c\", \"userName\": \"u\"}')" >/dev/null
SELECT pg_sleep(0.5);
SELECT 1;
EOF
	)
	if [ -n "$relay" ] && grep -q "received from server process with PID $relay\\." <<<"$got"; then
		pass "$step: the relay (pid $relay) relays a write's notification"
	else
		fail "$step: no notification from the relay (pid '${relay}')"
		sed 's/^/    | /' <<<"$got" | head -n 5
	fi
}

# quiet_after STEP LINE SECONDS: for SECONDS, no FATAL/ERROR in the log after
# LINE and no worker process
quiet_after() {
	local step=$1 line=$2 seconds=$3 bad running
	sleep "$seconds"
	bad=$(log_since "$line" | grep -E 'FATAL|ERROR|PANIC')
	if [ -z "$bad" ]; then
		pass "$step: ${seconds} s without FATAL or ERROR in the server log"
	else
		fail "$step: the server log has $(grep -c . <<<"$bad") FATAL/ERROR lines in ${seconds} s"
		sed 's/^/    | /' <<<"$bad" | head -n 6
	fi
	running=$(workers_running)
	check "$step: no scheduler, no relay while $DB does not exist" "0 0" "$running"
}

# recreate STEP: CREATE DATABASE + CREATE EXTENSION; the workers are back
recreate() {
	local step=$1
	if ! psql_admin -c "CREATE DATABASE $DB" >"$WORK/create.log" 2>&1 || ! setup_db; then
		fail "$step: CREATE DATABASE or the setup failed"
		cat "$WORK/create.log" "$WORK/setup.log" | sed 's/^/    | /' | head -n 10
		return 1
	fi
	if wait_workers 20; then
		pass "$step: the scheduler and the relay run in the new $DB"
	else
		fail "$step: workers after CREATE DATABASE: $(workers_running) (scheduler relay)"
	fi
}

# --- cluster and setup -------------------------------------------------------
echo "worker_database: own cluster '$NAME' on port $PORT (database $DB)"
CVX_EXTRA_CONF='max_prepared_transactions = 2' own_cluster_fresh convexlite
echo "# cluster: $CVX_CLUSTER_DIR (log $CVX_LOGFILE)"
# the first start had no database $DB yet (lib.sh creates it, then restarts:
# the shutdown terminates every background worker, as it always did)
check "0: server starts, with and without $DB: no FATAL or ERROR in the log" 0 \
	"$(grep -E 'FATAL|ERROR|PANIC' "$CVX_LOGFILE" | grep -cv 'due to administrator command')"
if ! setup_db; then
	fail "setup: CREATE EXTENSION or the mutation failed"
	sed 's/^/    | /' "$WORK/setup.log"
	exit 1
fi
if ! wait_workers 20; then
	fail "setup: the workers do not run: $(workers_running) (scheduler relay)"
	exit 1
fi
job_runs "setup" setup

# --- 1. COMMIT PREPARED wakes the worker ----------------------------------------
if ! wait_idle_scheduler; then
	fail "1: the scheduler did not go idle"
fi
sleep 0.3
psql_db -c "SET convexlite.notify = off" -c "BEGIN" \
	-c "SELECT convex_scheduler_run_after(0, 'ops:mark', '{\"key\": \"prepared\"}')" \
	-c "PREPARE TRANSACTION 'wdb_job'" >"$WORK/prepare.log" 2>&1 ||
	fail "1: PREPARE TRANSACTION of a transaction that scheduled a job failed: $(head -n 3 "$WORK/prepare.log")"
sleep 0.3
# the time just before COMMIT PREPARED: the delay includes the commit itself
COMMITTED=$(psql_db -At -c "SELECT clock_timestamp()" -c "COMMIT PREPARED 'wdb_job'" 2>&1)
for _ in $(seq 30); do
	[ "$(q "SELECT count(*) FROM marks WHERE key = 'prepared'")" = 1 ] && break
	sleep 0.1
done
DELAY=$(q "SELECT coalesce(round(extract(epoch FROM ran_at - '$COMMITTED'::timestamptz)::numeric, 3)::text, 'never')
             FROM (SELECT max(ran_at) AS ran_at FROM marks WHERE key = 'prepared') m" 2>&1)
echo "# job of a prepared transaction: ran ${DELAY} s after COMMIT PREPARED"
if [[ "$DELAY" =~ ^-?[0-9.]+$ ]] && [ "$(q "SELECT $DELAY < 1.0")" = t ]; then
	pass "1: COMMIT PREPARED woke the worker: the job ran ${DELAY} s after it"
else
	fail "1: the job of a COMMIT PREPARED transaction did not run within 1 s (delay: $DELAY)"
fi
psql_db -c "SET convexlite.notify = off" -c "BEGIN" \
	-c "SELECT convex_scheduler_run_after(0, 'ops:mark', '{\"key\": \"rolled\"}')" \
	-c "PREPARE TRANSACTION 'wdb_rollback'" -c "ROLLBACK PREPARED 'wdb_rollback'" >"$WORK/rollback.log" 2>&1
sleep 0.5
check "1: ROLLBACK PREPARED: no job, no run" "0 0" \
	"$(q "SELECT (SELECT count(*) FROM marks WHERE key = 'rolled') || ' ' ||
	             (SELECT count(*) FROM convex._scheduled_functions WHERE args::text LIKE '%rolled%')")"

# --- 2-4. plain DROP DATABASE -------------------------------------------------------
# attempts that fail anyway (not the owner; in a transaction block) leave the
# workers where they are
PIDS=$(psql_admin -At -c "SELECT string_agg(pid::text, ' ' ORDER BY backend_type) FROM pg_stat_activity
                           WHERE backend_type IN ('convexlite scheduler', 'convexlite notify relay')")
psql_admin -c "CREATE ROLE wdb_user LOGIN" >/dev/null 2>&1
OUT=$("$PSQL_BIN" -X -q -U wdb_user -d postgres -c "DROP DATABASE $DB" 2>&1)
check "2: DROP DATABASE by a role that does not own $DB is refused" "ERROR:  must be owner of database $DB" "$OUT"
OUT=$(psql_admin -c "BEGIN" -c "DROP DATABASE $DB" 2>&1)
check "2: DROP DATABASE in a transaction block is refused" \
	"ERROR:  DROP DATABASE cannot run inside a transaction block" "$(grep ERROR <<<"$OUT")"
check "2: ... and neither disturbed the workers" "$PIDS" \
	"$(psql_admin -At -c "SELECT string_agg(pid::text, ' ' ORDER BY backend_type) FROM pg_stat_activity
	                       WHERE backend_type IN ('convexlite scheduler', 'convexlite notify relay')")"
LINE=$(log_lines)
START=$(date +%s.%N)
if OUT=$(psql_admin -c "DROP DATABASE $DB" 2>&1); then
	pass "2: plain DROP DATABASE $DB with the worker and the relay connected"
else
	fail "2: plain DROP DATABASE $DB refused: $OUT"
	psql_admin -c "DROP DATABASE $DB WITH (FORCE)" >/dev/null 2>&1
	LINE=$(log_lines)
fi
TOOK=$(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "# DROP DATABASE took ${TOOK} s"
if awk -v t="$TOOK" 'BEGIN { exit !(t < 4) }'; then
	pass "2: DROP DATABASE did not wait for the workers' sessions (${TOOK} s)"
else
	fail "2: DROP DATABASE took ${TOOK} s"
fi
quiet_after 3 "$LINE" 6
recreate 4
job_runs 4 after_drop
relay_relays 4

# --- 5. DROP DATABASE WITH (FORCE) -------------------------------------------------
LINE=$(log_lines)
if OUT=$(psql_admin -c "DROP DATABASE $DB WITH (FORCE)" 2>&1); then
	pass "5: DROP DATABASE $DB WITH (FORCE)"
else
	fail "5: DROP DATABASE $DB WITH (FORCE) failed: $OUT"
fi
check "5: no worker was terminated by the forced drop" 0 \
	"$(log_since "$LINE" | grep -c 'terminating background worker')"
psql_admin -c "DROP ROLE wdb_user" >/dev/null 2>&1
quiet_after 5 "$LINE" 6
recreate 5
job_runs 5 after_force
relay_relays 5

# --- 6. RENAME and TEMPLATE -------------------------------------------------------
LINE=$(log_lines)
if OUT=$(psql_admin -c "ALTER DATABASE $DB RENAME TO ${DB}_renamed" 2>&1); then
	pass "6: ALTER DATABASE $DB RENAME TO ${DB}_renamed"
	sleep 1
	check "6: no worker runs while $DB does not exist" "0 0" "$(workers_running)"
	if OUT=$(psql_admin -c "ALTER DATABASE ${DB}_renamed RENAME TO $DB" 2>&1); then
		pass "6: renamed back"
	else
		fail "6: renaming back failed: $OUT"
	fi
else
	fail "6: ALTER DATABASE $DB RENAME refused: $OUT"
fi
if wait_workers 20; then pass "6: the workers are back after the renames"; else fail "6: workers: $(workers_running)"; fi
if OUT=$(psql_admin -c "CREATE DATABASE ${DB}_copy TEMPLATE $DB" 2>&1); then
	pass "6: CREATE DATABASE ${DB}_copy TEMPLATE $DB"
else
	fail "6: CREATE DATABASE ... TEMPLATE $DB refused: $OUT"
fi
if wait_workers 20; then pass "6: the workers are back after CREATE DATABASE ... TEMPLATE"; else fail "6: workers: $(workers_running)"; fi
job_runs 6 after_template
check "6: no FATAL or ERROR in the server log" 0 "$(log_since "$LINE" | grep -cE 'FATAL|ERROR|PANIC')"

# --- 7. the launcher terminated and started again -------------------------------
# pids NAME: pids of that backend type, space-separated
pids() { psql_admin -At -c "SELECT coalesce(string_agg(pid::text, ' '), '') FROM pg_stat_activity WHERE backend_type = '$1'"; }
WORKER_PIDS="$(pids 'convexlite scheduler') $(pids 'convexlite notify relay')"
LAUNCHER=$(pids 'convexlite launcher')
psql_admin -c "SELECT pg_terminate_backend($LAUNCHER)" >/dev/null 2>&1
NEW_LAUNCHER=
for _ in $(seq 100); do
	NEW_LAUNCHER=$(pids 'convexlite launcher')
	[ -n "$NEW_LAUNCHER" ] && [ "$NEW_LAUNCHER" != "$LAUNCHER" ] && break
	sleep 0.1
done
if [ -n "$NEW_LAUNCHER" ] && [ "$NEW_LAUNCHER" != "$LAUNCHER" ]; then
	pass "7: a new launcher ($NEW_LAUNCHER) after the old one ($LAUNCHER) was terminated"
else
	fail "7: no new launcher after pg_terminate_backend($LAUNCHER): '$NEW_LAUNCHER'"
fi
sleep 0.5
check "7: it kept the running scheduler and relay" "$WORKER_PIDS" \
	"$(pids 'convexlite scheduler') $(pids 'convexlite notify relay')"
OLD=$(pids 'convexlite scheduler')
LINE=$(log_lines)
psql_admin -c "ALTER DATABASE $DB ALLOW_CONNECTIONS false" -c "SELECT pg_terminate_backend($OLD)" >/dev/null 2>&1
sleep 6
check "7: no scheduler while $DB does not allow connections" "" "$(pids 'convexlite scheduler')"
check "7: ... and no FATAL for it" 0 "$(log_since "$LINE" | grep FATAL | grep -cv 'due to administrator command')"
check "7: the launcher logged that it waits for $DB to allow connections" 1 \
	"$(log_since "$LINE" | grep -c "database \"$DB\" does not allow connections")"
psql_admin -c "ALTER DATABASE $DB ALLOW_CONNECTIONS true" >/dev/null 2>&1
NEW=
for _ in $(seq 100); do
	NEW=$(pids 'convexlite scheduler')
	[ -n "$NEW" ] && [ "$NEW" != "$OLD" ] && break
	sleep 0.1
done
if [ -n "$NEW" ] && [ "$NEW" != "$OLD" ] && [ "$(workers_running)" = "1 1" ]; then
	pass "7: the new launcher started a new scheduler ($NEW) after the old one ($OLD) was terminated"
else
	fail "7: scheduler after pg_terminate_backend($OLD): '$NEW'; workers: $(workers_running)"
fi
job_runs 7 after_launcher

echo "worker_database: $CHECKS checks, $FAILURES failed ($(($(date +%s) - T0)) s)"
[ "$FAILURES" -eq 0 ]
