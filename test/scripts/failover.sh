#!/usr/bin/env bash
# test/scripts/failover.sh: a hot standby serves reads and refuses
# mutations clearly; when the primary dies under load and the standby is
# promoted, every acknowledged write is on the new primary and its workers
# take over.
#
# Issue 19, part 1.  Two clusters of its own: the primary 'failover_p'
# (port FAILOVER_PORT, default 54351) with the mixed workload of
# test/scripts/lib/workload.sh, and a streaming standby 'failover_s' (port + 1)
# made with pg_basebackup, synchronous (synchronous_standby_names = '*', so a
# COMMIT returns only once the standby has flushed it).  Both preload
# pg_cron and convexlite, worker database postgres.
#
# On the standby, while the primary runs:
#   * no convexlite worker runs (they start when recovery ends), and its log
#     has no convexlite error;
#   * every kind of mutation fails with SQLSTATE 25006 and a message that
#     names the standby: convex_mutation (built-in and registered paths),
#     a built-in called directly, a ctx.db write, an upload URL, scheduling;
#   * reads work: convex_db_get, convex_db_query, convex_storage_get of a
#     file uploaded on the primary (the same bytes).
# Failover: FAILOVER_CLIENTS (default 16) pgbench clients run the mixed
# workload for FAILOVER_LOAD_SECONDS (default 5); the primary's postmaster
# and every process of it are killed with SIGKILL (a machine that dies);
# the standby is promoted (pg_ctl promote).  Then:
#   * the time from the kill to the first successful mutation on the new
#     primary is reported (and must be under 60 s);
#   * the scheduler and the NOTIFY relay start there; every pending job
#     (and any job that was running when the primary died) runs exactly
#     once; a write on the new primary reaches a LISTENing session through
#     the relay;
#   * the workload's invariants hold and every acknowledged write (sends,
#     removes, presence, transfers, uploads with their large objects,
#     scheduled jobs) is there, nothing that no client attempted, and at
#     most one unacknowledged commit per client.
# Destroyed at exit (FAILOVER_KEEP=1 keeps both clusters).  PASS/FAIL per
# check; exits 1 on failure.
set -uo pipefail

NAME=failover_p
PORT=${FAILOVER_PORT:-54351}
STANDBY=failover_s
STANDBY_PORT=$((PORT + 1))
DB=postgres
CLIENTS=${FAILOVER_CLIENTS:-16}
LOAD_SECONDS=${FAILOVER_LOAD_SECONDS:-5}

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/../../scripts/lib.sh"
# shellcheck source=test/scripts/lib/checks.sh
. "$HERE/lib/checks.sh"
WL_KEEP=${FAILOVER_KEEP:-0}
# shellcheck source=test/scripts/lib/workload.sh
. "$HERE/lib/workload.sh"

# the workload's cleanup (the primary), then the standby
eval "wl_cleanup() $(declare -f cleanup | tail -n +2)"
# shellcheck disable=SC2317
cleanup() {
	wl_cleanup
	[ "${WL_KEEP:-0}" = 1 ] && return
	if [ -d "$(cvx_cluster_dir "$STANDBY")/data" ]; then
		cvx_cluster_destroy "$STANDBY" >/dev/null 2>&1
	fi
}

T0=$(date +%s)
on_primary() { cvx_cluster_env "$NAME" "$PORT"; }
on_standby() { cvx_cluster_env "$STANDBY" "$STANDBY_PORT"; }
now_ms() { date +%s%3N; }

# sqlstate_of SQL: the SQLSTATE the statement fails with on the current cluster ("ok" if none)
sqlstate_of() {
	local state
	state=$(psql_db -At -v VERBOSITY=verbose -c "$1" 2>&1 >/dev/null |
		sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p' | head -n 1)
	echo "${state:-ok}"
}
# message_of SQL: the error message (first line)
message_of() { psql_db -At -c "$1" 2>&1 >/dev/null | sed -n 's/^ERROR: *//p' | head -n 1; }

echo "failover: primary '$NAME' (port $PORT), synchronous standby '$STANDBY' (port $STANDBY_PORT), $CLIENTS clients, ${LOAD_SECONDS}s load"
wl_begin
on_primary
# a registered mutation, a document and a file to read on the standby
q "SELECT convex_define_table('notes', '{\"body\": {\"fieldType\": {\"type\": \"string\"}, \"optional\": false}}',
     '{\"by_body\": [\"body\"]}') IS NOT NULL" >/dev/null
q "CREATE FUNCTION fo_note(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS \$\$
   BEGIN RETURN to_jsonb(convex_db_insert('notes', jsonb_build_object('body', args->>'body'))); END \$\$" >/dev/null
q "SELECT convex_define_mutation('notes:add', 'fo_note(jsonb)',
     '{\"type\": \"object\", \"value\": {\"body\": {\"fieldType\": {\"type\": \"string\"}, \"optional\": false}}}',
     '{\"type\": \"id\", \"tableName\": \"notes\"}')" >/dev/null
NOTE_ID=$(q "SELECT convex_mutation('notes:add', '{\"body\": \"before the standby\"}') #>> '{}'")
URL=$(q "SELECT convex_files_generate_upload_url()")
FILE_ID=$(q "SELECT convex_storage_upload('$URL', convert_to(repeat('standby bytes ', 5000), 'UTF8'), 'text/plain') ->> 'storageId'")
FILE_SHA=$(q "SELECT encode(sha256(convert_to(repeat('standby bytes ', 5000), 'UTF8')), 'hex')")

# --- the standby ----------------------------------------------------------------
sdir=$(cvx_cluster_dir "$STANDBY")
rm -rf "$sdir"
mkdir -p "$sdir"
if cvx_is_root; then chown "$CVX_PG_OS_USER": "$sdir"; fi
if ! cvx_as_pg "$CVX_PG_BINDIR/pg_basebackup" -h "$PGHOST" -p "$PORT" -U postgres -D "$sdir/data" \
	-R -X stream -c fast >"$WORK/basebackup.log" 2>&1; then
	fail "setup: pg_basebackup of the primary failed"
	sed 's/^/    | /' "$WORK/basebackup.log"
	exit 1
fi
if ! CVX_PRELOAD=pg_cron,convexlite cvx_cluster_start "$STANDBY" "$STANDBY_PORT" "$DB" >>"$WORK/cluster.log" 2>&1; then
	fail "setup: the standby did not start"
	tail -n 20 "$WORK/cluster.log" | sed 's/^/    | /'
	exit 1
fi
STANDBY_LOG=$CVX_LOGFILE
on_primary
q "ALTER SYSTEM SET synchronous_standby_names = '*'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the standby streams synchronously" \
	"SELECT coalesce(bool_or(sync_state = 'sync'), false) FROM pg_stat_replication" || exit 1
# the standby has replayed the setup (a synchronous commit is flushed there, not yet replayed)
q "SELECT convex_mutation('notes:add', '{\"body\": \"after the standby\"}')" >/dev/null
LSN=$(q "SELECT pg_current_wal_lsn()")
on_standby
wait_for "the standby replayed the setup" "SELECT pg_last_wal_replay_lsn() >= '$LSN'::pg_lsn" || exit 1

# --- what a standby does -----------------------------------------------------------
on_standby
check "standby: in recovery" t "$(q "SELECT pg_is_in_recovery()")"
check "standby: no convexlite worker runs" 0 \
	"$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'convexlite%'")"
# the workers wait for the end of recovery: nothing of convexlite's in the log
# after two seconds as a standby (before this script's own refused calls)
sleep 2
check "standby: the log has no convexlite error or failed worker" 0 \
	"$(grep -ciE '(ERROR|FATAL|LOG):.*convexlite' "$STANDBY_LOG" 2>/dev/null || true)"
for call in \
	"SELECT convex_mutation('messages:send', '{\"roomId\": \"r\", \"content\": \"c\", \"userName\": \"u\"}')" \
	"SELECT convex_mutation('notes:add', '{\"body\": \"on the standby\"}')" \
	"SELECT convex_messages_send('{\"roomId\": \"r\", \"content\": \"c\", \"userName\": \"u\"}')" \
	"SELECT convex_presence_update('{\"roomId\": \"r\", \"data\": {}, \"sessionId\": \"s\"}')" \
	"SELECT convex_db_insert('notes', '{\"body\": \"x\"}')" \
	"SELECT convex_db_patch('notes', '$NOTE_ID', '{\"body\": \"y\"}')" \
	"SELECT convex_files_generate_upload_url()" \
	"SELECT convex_scheduler_run_after(0, 'notes:add', '{\"body\": \"z\"}')"; do
	state=$(sqlstate_of "$call")
	msg=$(message_of "$call")
	check "standby: ${call:7:60}… fails with 25006" 25006 "$state"
	case $msg in
	*standby*) pass "standby: its message names the standby ($msg)" ;;
	*) fail "standby: the message does not say the server is a standby: $msg" ;;
	esac
done
check "standby: convex_db_get reads a document" "before the standby" \
	"$(q "SELECT convex_db_get('notes', '$NOTE_ID') ->> 'body'")"
check "standby: convex_db_query reads an index range" 1 \
	"$(q "SELECT count(*) FROM convex_db_query('notes', 'by_body', '{\"body\": \"after the standby\"}')")"
check "standby: convex_storage_get serves a file uploaded on the primary" "$FILE_SHA" \
	"$(q "SELECT encode(sha256(convex_storage_get('$FILE_ID')), 'hex')")"
check "standby: nothing was written (still 2 notes)" 2 "$(q "SELECT count(*) FROM convex.notes")"

# --- the primary dies under load -------------------------------------------------------
on_primary
PRIMARY_PID=$(head -n 1 "$(cvx_cluster_dir "$NAME")/data/postmaster.pid")
"$PGBENCH" -n -M simple -c "$CLIENTS" -j 2 -T 120 "${MIX[@]}" "$DB" >"$WORK/pgbench.log" 2>&1 &
PGBENCH_PID=$!
sleep "$LOAD_SECONDS"
if ! kill -0 "$PGBENCH_PID" 2>/dev/null; then
	fail "load: pgbench ended before the failover"
	tail -n 20 "$WORK/pgbench.log" | sed 's/^/    | /'
	exit 1
fi
KILLED_AT=$(now_ms)
# the postmaster and all its children at once, as when the machine dies
children=$(pgrep -P "$PRIMARY_PID" | tr '\n' ' ')
# shellcheck disable=SC2086
kill -9 "$PRIMARY_PID" $children 2>/dev/null
wait "$PGBENCH_PID" 2>/dev/null
PGBENCH_PID=
check_client_errors "load: clients saw no SQL error, only the lost connections" "$WORK/pgbench.log"

on_standby
cvx_as_pg "$CVX_PG_BINDIR/pg_ctl" -D "$PGDATA" -w -t 60 promote >"$WORK/promote.log" 2>&1 ||
	fail "failover: pg_ctl promote failed ($(tail -n 1 "$WORK/promote.log"))"
FIRST_OK=
for _ in $(seq 600); do
	if q "SELECT convex_mutation('notes:add', '{\"body\": \"first on the new primary\"}')" >/dev/null 2>&1; then
		FIRST_OK=$(now_ms)
		break
	fi
	sleep 0.1
done
if [ -n "$FIRST_OK" ]; then
	pass "failover: a mutation succeeded on the new primary $((FIRST_OK - KILLED_AT)) ms after the primary was killed"
	echo "# failover time (kill -9 of the primary to the first successful mutation on the promoted standby): $((FIRST_OK - KILLED_AT)) ms"
else
	fail "failover: no mutation succeeded on the promoted standby within 60 s"
	tail -n 20 "$CVX_LOGFILE" | sed 's/^/    | /'
	exit 1
fi

# --- the new primary ---------------------------------------------------------------------
on_standby
wait_for "new primary: the scheduler and the NOTIFY relay run" \
	"SELECT count(DISTINCT backend_type) = 2 FROM pg_stat_activity
	  WHERE backend_type IN ('convexlite scheduler', 'convexlite notify relay')" &&
	pass "new primary: the scheduler and the NOTIFY relay started after the promotion"
# a write on the new primary reaches a listener through the relay
RELAY_PID=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'convexlite notify relay'")
listened=$(psql_db -At <<'EOF' 2>&1
LISTEN convex_messages;
SELECT convex_messages_send('{"roomId": "after-failover", "content": "hello", "userName": "u"}') IS NOT NULL;
SELECT pg_sleep(0.5);
SELECT 1;
SELECT pg_sleep(0.5);
SELECT 1;
EOF
)
if printf '%s\n' "$listened" | grep -q "Asynchronous notification \"convex_messages\" with payload \".*after-failover.*\" received from server process with PID $RELAY_PID"; then
	pass "new primary: a committed write reached a LISTENing session through the relay (PID $RELAY_PID)"
else
	fail "new primary: no notification through the relay"
	printf '%s\n' "$listened" | sed 's/^/    | /'
fi
if wl_drain_jobs; then
	pass "new primary: every pending job ran (none pending or in progress)"
else
	fail "new primary: jobs still pending or in progress 60 s after the promotion"
fi
wl_invariants "new primary"
wl_check_acks "$WORK" "$CLIENTS" "new primary"
echo "# $CHECKS checks, $FAILURES failed, $(($(date +%s) - T0)) s"
[ "$FAILURES" = 0 ]
