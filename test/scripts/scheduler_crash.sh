#!/usr/bin/env bash
# test/scripts/scheduler_crash.sh: ctx.scheduler runs every committed job
# exactly once, under concurrent clients and across server crashes.
#
# SPEC §7: "Scheduling is transactional: a rolled-back caller schedules
# nothing."  "A background worker runs due jobs, each mutation exactly once:
# its writes and its success commit together."  src/scheduler.c: the runner
# locks the job (FOR UPDATE SKIP LOCKED), runs the mutation in a
# subtransaction and records the outcome in the same transaction, so a crash
# leaves the job pending and it runs again after restart.
#
# This script crashes servers, so it never touches the shared test cluster:
# it builds its own throwaway cluster 'sched' (scripts/lib.sh, port
# SCHED_PORT, default 54336; its convexlite.database_name is postgres, so
# convexlite is installed in database postgres) and destroys it at exit
# (SCHED_KEEP=1 keeps it).
#
# Setup: a plain table effects(key, backend, ran_ms) without any unique
# constraint, a convexlite table job_docs {key}, and the internal mutation
# jobs:effect {key, fail?} whose handler writes one row into each (so a job
# run twice leaves two), sets application_name to "job <key>" for the rest of
# its transaction (how the script sees which job is in flight), sleeps 1-4 ms,
# and raises if fail is true; the public mutation jobs:enqueue {key} schedules
# jobs:effect from inside a mutation (ctx.scheduler.runAfter(0, ...)).
#
# Every job has a numeric key whose first digit says what the client did:
#   1 runAfter(0)   2 runAt(now + 0..800 ms)   3 runAfter(0) from inside a mutation
#   4 scheduled and canceled in the same transaction
#   5 scheduled, committed, canceled by the next transaction (races the worker)
#   6 a job that fails (its writes are rolled back, state failed{error})
#   7 scheduled in a transaction that rolls back
#   8 scheduled after a SAVEPOINT that is rolled back (the rest commits)
#   9 the no-worker phase (run by CALL convex_scheduler_run_due)
# Each pgbench transaction appends its key(s) to attempted.txt (\shell, before
# it starts) and, once its COMMIT returned, to acked.txt.
#
# Phases (pgbench, 4 clients, rate-limited, all scripts mixed, worker draining):
#   A. load, then pg_ctl stop -m immediate while the worker is in a job; start.
#   B. load, then kill -9 of the worker itself (the postmaster crash-restarts).
#   C. load, then kill -9 of a pgbench client's backend (crash-restart).
#   In each, the worker is frozen (SIGSTOP) while its application_name shows a
#   job and it waits in that job's pg_sleep, so the crash surely hits an
#   uncommitted job; it is let go (SIGCONT) only once the postmaster's SIGQUIT
#   is pending.
#   Then the jobs are drained by the worker.
#   D. the server restarted without convexlite in shared_preload_libraries (no
#      worker): 800 jobs scheduled stay pending; two concurrent sessions
#      CALL convex_scheduler_run_due() drain them while a third cancels some;
#      one runner is frozen mid-job and kill -9'd (crash-restart); two new
#      runners finish.  SCHED_NOWORKER=elsewhere instead keeps convexlite
#      preloaded and points its worker at another, empty database (a way to
#      run this phase while convexlite cannot be loaded without preloading).
#
# Checks: the worker runs at start and comes back (new pid) after each crash;
# the postmaster logged each crash-restart; the job in flight at each crash
# ran again afterwards, exactly once (its effect row is from a later backend);
# clients saw no SQL error besides the crashes' lost connections; after the
# drain nothing is pending or inProgress; for every job row, success has
# exactly one effects row and one job_docs document, every other state none;
# no effect or document without a successful job; every acknowledged job is in
# the table; no job of a rolled-back transaction or savepoint is (nor any
# effect of it); every row's key was attempted; at most one unacknowledged
# committed transaction per client per crash; each kind ends in its expected
# state (1-3 success, 4 canceled, 5 canceled or success, 6 failed with the
# handler's error, 9 success or canceled); no job ran before its scheduled
# time; finished jobs have completed_time; phase D: no worker, the jobs stayed
# pending until CALLed, both concurrent runners ran jobs at overlapping times.
#
# pg_cron is preloaded but not installed in database postgres, so its
# convexlite-scheduler-run-due job does not exist: in A-C only the worker runs jobs.
#
# Uses its own cluster only.  Prints PASS/FAIL per check and the figures;
# exits 1 on any failure.  SCHED_PORT, SCHED_RATE (tx/s, default 220),
# SCHED_LOAD_SECONDS (load before each crash, default 1.5), SCHED_NOWORKER
# (unloaded|elsewhere, see D) and SCHED_KEEP=1 adjust a run.
set -uo pipefail

NAME=sched
PORT=${SCHED_PORT:-54336}
DB=postgres
CLIENTS=4
RATE=${SCHED_RATE:-220}           # pgbench transactions per second, all clients
LOAD_SECONDS=${SCHED_LOAD_SECONDS:-1.5}
NOWORKER_JOBS=800

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/../../scripts/lib.sh"
# shellcheck source=test/scripts/lib/checks.sh
. "$HERE/lib/checks.sh"

T0=$(date +%s)
FROZEN=
BG_PIDS=()
CRASHES=0
CRASH_NOTES=()

# The cluster goes with the script (checks.sh's trap calls cleanup by name).
# shellcheck disable=SC2317
cleanup() {
	local p
	[ -n "$FROZEN" ] && kill -CONT "$FROZEN" 2>/dev/null
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	if [ "${SCHED_KEEP:-0}" = 1 ]; then
		echo "# SCHED_KEEP=1: cluster '$NAME' left running ($CVX_LOGFILE)"
	elif [ -f "$(cvx_cluster_dir "$NAME")/data/convexlite.conf" ]; then
		cvx_cluster_destroy "$NAME" >/dev/null 2>&1
	fi
	rm -rf "$WORK"
}

# an interrupted or timed-out run still destroys its cluster
trap 'exit 143' TERM
trap 'exit 130' INT

now_ms() { date +%s%3N; }

# freeze_in_flight PID: SIGSTOP the backend at a moment when it is inside a
# job's handler, before that job's commit: its application_name is "job <key>"
# and it waits in the handler's pg_sleep.  Sets INFLIGHT to the key, and FROZEN.
freeze_in_flight() {
	local pid=$1 app _
	INFLIGHT=
	for _ in $(seq 200); do
		kill -STOP "$pid" 2>/dev/null || return 1
		FROZEN=$pid
		# bounded: the frozen process might hold a lock the query needs
		app=$(timeout 3 "$PSQL_BIN" -X -q -d "$DB" -tAc \
			"SELECT application_name FROM pg_stat_activity WHERE pid = $pid AND wait_event = 'PgSleep'" 2>/dev/null)
		case $app in
		"job "*)
			INFLIGHT=${app#job }
			return 0
			;;
		esac
		kill -CONT "$pid"
		FROZEN=
		sleep 0.01
	done
	return 1
}

# wait_sigquit PID: until SIGQUIT is pending for PID (or it is gone), 5 s
wait_sigquit() {
	local pid=$1 m _
	for _ in $(seq 250); do
		[ -r "/proc/$pid/status" ] || return 0
		# shellcheck disable=SC2013  # one hex mask per line
		for m in $(awk '/^(SigPnd|ShdPnd):/ {print $2}' "/proc/$pid/status" 2>/dev/null); do
			(((16#$m & 4) != 0)) && return 0
		done
		sleep 0.02
	done
	return 1
}

log_lines() { wc -l <"$CVX_LOGFILE" 2>/dev/null || echo 0; }

# log_since N PATTERN: count lines after line N of the server log matching PATTERN
log_since() { tail -n +"$(($1 + 1))" "$CVX_LOGFILE" | grep -cE "$2"; }

# --- cluster and setup -------------------------------------------------------
echo "scheduler_crash: own cluster '$NAME' on port $PORT (database $DB), $CLIENTS clients at $RATE tx/s"
own_cluster_fresh pg_cron,convexlite
echo "# cluster: $CVX_CLUSTER_DIR (log $CVX_LOGFILE)"
[ "${SCHED_NOWORKER:-}" = elsewhere ] && q "CREATE DATABASE sched_elsewhere" >/dev/null

if ! psql_db >"$WORK/setup.log" 2>&1 <<'EOF'; then
SET client_min_messages = warning;
CREATE EXTENSION convexlite;

-- one row per run of a job: no unique constraint, so a second run shows
CREATE TABLE effects (
    key     text NOT NULL,
    backend int NOT NULL DEFAULT pg_backend_pid(),
    ran_ms  float8 NOT NULL DEFAULT extract(epoch FROM clock_timestamp()) * 1000
);
CREATE INDEX effects_key ON effects (key);
SELECT convex_define_table('job_docs', '{"key": {"fieldType": {"type": "string"}, "optional": false}}',
                           '{"by_key": ["key"]}');

CREATE FUNCTION job_effect(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    -- visible in pg_stat_activity at once; reverts when the transaction ends
    PERFORM set_config('application_name', 'job ' || (args->>'key'), true);
    INSERT INTO effects (key) VALUES (args->>'key');
    PERFORM convex_db_insert('job_docs', jsonb_build_object('key', args->>'key'));
    PERFORM pg_sleep(0.001 + random() * 0.003);
    IF coalesce((args->>'fail')::boolean, false) THEN
        RAISE EXCEPTION 'planned failure of job %', args->>'key';
    END IF;
    RETURN 'null';
END
$$;
SELECT convex_define_mutation('jobs:effect', 'job_effect(jsonb)',
    '{"type": "object", "value": {
        "key":  {"fieldType": {"type": "string"}, "optional": false},
        "fail": {"fieldType": {"type": "boolean"}, "optional": true}}}',
    '{"type": "null"}', internal => true);

-- ctx.scheduler.runAfter(0, internal.jobs.effect, {key}) from inside a mutation
CREATE FUNCTION job_enqueue(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    RETURN to_jsonb(convex_scheduler_run_after(0, 'jobs:effect',
                                               jsonb_build_object('key', args->>'key')));
END
$$;
SELECT convex_define_mutation('jobs:enqueue', 'job_enqueue(jsonb)',
    '{"type": "object", "value": {"key": {"fieldType": {"type": "string"}, "optional": false}}}',
    '{"type": "string"}');

-- the jobs of this test, with their effects
CREATE VIEW jobs AS
SELECT s._id, s.args->0->>'key' AS key, left(s.args->0->>'key', 1)::int AS kind_of_job,
       s.state->>'kind' AS state, s.state->>'error' AS error,
       s.scheduled_time, s.completed_time,
       (SELECT count(*) FROM effects e WHERE e.key = s.args->0->>'key') AS effects,
       (SELECT count(*) FROM convex.job_docs d WHERE d.key = s.args->0->>'key') AS docs
  FROM convex._scheduled_functions s
 WHERE s.name = 'jobs:effect';
EOF
	fail "setup: CREATE EXTENSION, tables or mutations failed"
	sed 's/^/    | /' "$WORK/setup.log"
	exit 1
fi
WORKER=$(wait_backend "convexlite scheduler" none)
if [ -n "$WORKER" ]; then
	pass "setup: the scheduler worker runs in database $DB (pid $WORKER)"
else
	fail "setup: no 'convexlite scheduler' backend in pg_stat_activity"
	exit 1
fi
q "SELECT convex_scheduler_run_after(0, 'jobs:effect', '{\"key\": \"1000000000000000\"}')" >/dev/null
wait_for "the first job" "SELECT count(*) = 1 FROM jobs WHERE state <> 'pending'"
check "setup: a job scheduled by hand runs once (runAfter 0)" "success 1 1" \
	"$(q "SELECT state || ' ' || effects || ' ' || docs FROM jobs WHERE key = '1000000000000000'")"
echo 1000000000000000 >>"$WORK/attempted.txt"
echo 1000000000000000 >>"$WORK/acked.txt"

# --- pgbench scripts -----------------------------------------------------------
ATT=$WORK/attempted.txt
ACK=$WORK/acked.txt
# key = kind * 10^15 + random
key_of() { echo "\\set $2 ${1}000000000000000 + random(1, 999999999999999)"; }
{
	key_of 1 k
	echo "\\shell echo :k >> $ATT"
	echo "SELECT convex_scheduler_run_after(0, 'jobs:effect', jsonb_build_object('key', ':k'));"
	echo "\\shell echo :k >> $ACK"
} >"$WORK/now.sql"
{
	key_of 2 k
	echo "\\set d random(0, 800)"
	echo "\\shell echo :k >> $ATT"
	echo "SELECT convex_scheduler_run_at(extract(epoch FROM clock_timestamp()) * 1000 + :d, 'jobs:effect', jsonb_build_object('key', ':k'));"
	echo "\\shell echo :k >> $ACK"
} >"$WORK/at.sql"
{
	key_of 3 k
	echo "\\shell echo :k >> $ATT"
	echo "SELECT convex_mutation('jobs:enqueue', jsonb_build_object('key', ':k'));"
	echo "\\shell echo :k >> $ACK"
} >"$WORK/mutation.sql"
{
	key_of 4 k
	echo "\\shell echo :k >> $ATT"
	echo "BEGIN;"
	echo "SELECT convex_scheduler_run_after(0, 'jobs:effect', jsonb_build_object('key', ':k')) AS jid \\gset"
	echo "SELECT convex_scheduler_cancel(':jid');"
	echo "COMMIT;"
	echo "\\shell echo :k >> $ACK"
} >"$WORK/cancel_same.sql"
{
	key_of 5 k
	echo "\\set d random(0, 50)"
	echo "\\shell echo :k >> $ATT"
	echo "SELECT convex_scheduler_run_after(:d, 'jobs:effect', jsonb_build_object('key', ':k')) AS jid \\gset"
	echo "\\shell echo :k >> $ACK"
	echo "SELECT convex_scheduler_cancel(':jid');"
} >"$WORK/cancel_later.sql"
{
	key_of 6 k
	echo "\\shell echo :k >> $ATT"
	echo "SELECT convex_scheduler_run_after(0, 'jobs:effect', jsonb_build_object('key', ':k', 'fail', true));"
	echo "\\shell echo :k >> $ACK"
} >"$WORK/fail.sql"
{
	key_of 7 k
	key_of 7 k2
	echo "\\shell echo :k >> $ATT"
	echo "\\shell echo :k2 >> $ATT"
	echo "BEGIN;"
	echo "SELECT convex_scheduler_run_after(0, 'jobs:effect', jsonb_build_object('key', ':k'));"
	echo "SELECT convex_mutation('jobs:enqueue', jsonb_build_object('key', ':k2'));"
	echo "ROLLBACK;"
} >"$WORK/rollback.sql"
{
	key_of 1 k
	key_of 8 k2
	echo "\\shell echo :k >> $ATT"
	echo "\\shell echo :k2 >> $ATT"
	echo "BEGIN;"
	echo "SELECT convex_scheduler_run_after(0, 'jobs:effect', jsonb_build_object('key', ':k'));"
	echo "SAVEPOINT s;"
	echo "SELECT convex_scheduler_run_after(0, 'jobs:effect', jsonb_build_object('key', ':k2'));"
	echo "ROLLBACK TO SAVEPOINT s;"
	echo "COMMIT;"
	echo "\\shell echo :k >> $ACK"
} >"$WORK/savepoint.sql"

# start_load PHASE: pgbench in the background (it ends when the crash aborts its clients)
start_load() {
	(cd "$WORK" && exec "$PGBENCH" -n -M simple -c "$CLIENTS" -j 2 -T 30 -R "$RATE" \
		-f now.sql@30 -f at.sql@15 -f mutation.sql@15 -f cancel_same.sql@10 \
		-f cancel_later.sql@10 -f fail.sql@5 -f rollback.sql@10 -f savepoint.sql@5 \
		"$DB" >"$WORK/pgbench-$1.log" 2>&1) &
	PGBENCH_PID=$!
	BG_PIDS+=("$PGBENCH_PID")
}

# end_load PHASE: wait for pgbench (its clients lost their connections), check its errors
end_load() {
	local phase=$1 _ errors
	for _ in $(seq 100); do
		kill -0 "$PGBENCH_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$PGBENCH_PID" 2>/dev/null; then
		fail "phase $phase: pgbench still runs 10 s after the crash"
		kill "$PGBENCH_PID"
	fi
	wait "$PGBENCH_PID" 2>/dev/null
	check_client_errors "phase $phase: clients saw no SQL error, only the crash's lost connections" \
		"$WORK/pgbench-$phase.log"
}

# after_crash PHASE OLD_WORKER LOGLINE KIND: the server and the worker are back
after_crash() {
	local phase=$1 old=$2 line=$3 kind=$4 new
	if ! wait_server 30; then
		fail "phase $phase: the server does not accept connections after the $kind"
		tail -n 20 "$CVX_LOGFILE" | sed 's/^/    | /'
		exit 1
	fi
	if [ "$kind" != "immediate stop" ]; then
		check "phase $phase: the postmaster reinitialized after the $kind (server log)" 1 \
			"$(log_since "$line" 'all server processes terminated; reinitializing')"
	fi
	if new=$(wait_backend "convexlite scheduler" "$old"); then
		pass "phase $phase: the worker came back after the $kind (pid $old -> $new)"
		WORKER=$new
	else
		fail "phase $phase: no new 'convexlite scheduler' backend after the $kind"
	fi
}

# note_inflight PHASE KEY PID WHAT T_CRASH: remember the job in flight at a crash
INFLIGHTS=()
note_inflight() {
	if [ -n "$2" ]; then
		pass "phase $1: job $2 was in flight when the $4 hit (backend $3 frozen mid-job)"
		INFLIGHTS+=("$1 $2 $3 $5")
	else
		fail "phase $1: no job found in flight before the $4 (the crash proves less)"
	fi
}

# --- phase A: load, pg_ctl stop -m immediate -------------------------------------
echo "# phase A: load, then pg_ctl stop -m immediate while a job runs"
TA=$(date +%s.%N)
start_load A
sleep "$LOAD_SECONDS"
OLD=$WORKER
freeze_in_flight "$OLD"
T_CRASH=$(now_ms)
LINE=$(log_lines)
cvx_pg_ctl "$NAME" stop -m immediate >"$WORK/stop.log" 2>&1 &
STOPPER=$!
wait_sigquit "$OLD"
[ -n "$FROZEN" ] && kill -CONT "$FROZEN"
FROZEN=
wait "$STOPPER"
CRASHES=$((CRASHES + 1))
note_inflight A "$INFLIGHT" "$OLD" "immediate stop" "$T_CRASH"
end_load A
own_cluster_start
after_crash A "$OLD" "$LINE" "immediate stop"
CRASH_NOTES+=("A: pg_ctl stop -m immediate, then start (in flight: ${INFLIGHT:-none}; $(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $TA}") s)")

# --- phase B: load, kill -9 of the worker ------------------------------------------
echo "# phase B: load, then kill -9 of the worker while it runs a job"
TB=$(date +%s.%N)
start_load B
sleep "$LOAD_SECONDS"
OLD=$WORKER
freeze_in_flight "$OLD"
T_CRASH=$(now_ms)
LINE=$(log_lines)
kill -9 "$OLD"
FROZEN=
CRASHES=$((CRASHES + 1))
note_inflight B "$INFLIGHT" "$OLD" "kill -9 of the worker" "$T_CRASH"
end_load B
after_crash B "$OLD" "$LINE" "kill -9 of the worker"
check "phase B: the server log names the killed worker" 1 \
	"$(log_since "$LINE" "background worker \"convexlite scheduler\" \\(PID $OLD\\) was terminated by signal 9")"
CRASH_NOTES+=("B: kill -9 of the worker pid $OLD (in flight: ${INFLIGHT:-none}; $(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $TB}") s)")

# --- phase C: load, kill -9 of a client backend --------------------------------
echo "# phase C: load, then kill -9 of a pgbench client's backend"
TC=$(date +%s.%N)
start_load C
sleep "$LOAD_SECONDS"
OLD=$WORKER
freeze_in_flight "$OLD"
CLIENT=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' AND backend_type = 'client backend' ORDER BY state = 'active' DESC LIMIT 1")
T_CRASH=$(now_ms)
LINE=$(log_lines)
if [ -n "$CLIENT" ]; then
	kill -9 "$CLIENT"
	wait_sigquit "$OLD"
else
	fail "phase C: no pgbench backend to kill"
fi
[ -n "$FROZEN" ] && kill -CONT "$FROZEN"
FROZEN=
CRASHES=$((CRASHES + 1))
note_inflight C "$INFLIGHT" "$OLD" "kill -9 of client backend ${CLIENT:-?}" "$T_CRASH"
end_load C
after_crash C "$OLD" "$LINE" "kill -9 of a client backend"
check "phase C: the server log names the killed client backend" 1 \
	"$(log_since "$LINE" "server process \\(PID ${CLIENT:-none}\\) was terminated by signal 9")"
CRASH_NOTES+=("C: kill -9 of client backend ${CLIENT:-?} (in flight: ${INFLIGHT:-none}; $(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $TC}") s)")

# --- drain -----------------------------------------------------------------------
TD=$(date +%s.%N)
DRAINED=0
for _ in $(seq 300); do
	if [ "$(q "SELECT count(*) FROM convex._scheduled_functions WHERE state->>'kind' IN ('pending', 'inProgress')")" = 0 ]; then
		DRAINED=1
		break
	fi
	sleep 0.1
done
DRAIN_SECS=$(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $TD}")
if [ "$DRAINED" = 1 ]; then
	pass "drain: the worker left no job pending or inProgress (${DRAIN_SECS} s after the last restart)"
else
	fail "drain: jobs still pending after 30 s: $(q "SELECT count(*) FROM convex._scheduled_functions WHERE state->>'kind' = 'pending'")"
fi
check "drain: the worker is still the one started after the last crash" "$WORKER" "$(backend_pid "convexlite scheduler")"
WORKER_JOBS=$(q "SELECT count(*) FROM jobs")

# --- phase D: no worker, two CALL convex_scheduler_run_due() -------------------
# SCHED_NOWORKER=unloaded (default): restart with shared_preload_libraries =
# 'pg_cron' (no worker at all; SPEC §1: only the worker needs preloading).
# SCHED_NOWORKER=elsewhere: keep convexlite preloaded but point its worker at
# another, empty database (for running this phase where the first way fails).
echo "# phase D: no worker; two concurrent CALL convex_scheduler_run_due(), one killed"
TDD=$(date +%s.%N)
D_JOBS=0

# run_due NAME: CALL convex_scheduler_run_due() in the background
run_due() {
	PGAPPNAME=$1 "$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -d "$DB" \
		-c "CALL convex_scheduler_run_due(100000)" >"$WORK/$1.log" 2>&1 &
	RUNNER_PID=$!
	BG_PIDS+=("$RUNNER_PID")
}
# runner_backends: the backends running CALL convex_scheduler_run_due
runner_backends() {
	q "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL convex_scheduler_run_due%' AND pid <> pg_backend_pid() ORDER BY pid"
}

phase_d() {
	local out rc1 rc2 r1 r2 r3 g victim backends late
	cvx_cluster_stop "$NAME" >>"$WORK/cluster.log" 2>&1
	case ${SCHED_NOWORKER:-unloaded} in
	elsewhere)
		CVX_EXTRA_CONF="convexlite.database_name = 'sched_elsewhere'" own_cluster_start
		check "phase D: the worker runs in another database, not in $DB" "0" \
			"$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'convexlite scheduler' AND datname = '$DB'")"
		;;
	*)
		own_cluster_start pg_cron
		check "phase D: convexlite is not preloaded" "pg_cron" "$(q "SHOW shared_preload_libraries")"
		;;
	esac
	if out=$(q "SELECT convex_id_table('x') IS NULL" 2>&1) && [ "$out" = t ]; then
		pass "phase D: convexlite works in a new session ($(q "SHOW shared_preload_libraries"))"
	else
		fail "phase D: convexlite cannot be loaded without being preloaded (SPEC §1: only the worker needs it); the rest of phase D is skipped"
		printf '%s\n' "$out" | head -n 3 | sed 's/^/    | /'
		grep -E 'FATAL' "$CVX_LOGFILE" | tail -n 2 | sed 's/^/    | /'
		return 1
	fi
	if ! q "SELECT count(convex_scheduler_run_after(0, 'jobs:effect', jsonb_build_object('key', (9000000000000000 + g)::text)))
	          FROM generate_series(1, $NOWORKER_JOBS) AS g" >/dev/null; then
		fail "phase D: scheduling $NOWORKER_JOBS jobs failed"
		return 1
	fi
	D_JOBS=$NOWORKER_JOBS
	for g in $(seq "$NOWORKER_JOBS"); do
		echo $((9000000000000000 + g))
	done | tee -a "$ATT" >>"$ACK"
	sleep 0.5
	check "phase D: no worker, so the $NOWORKER_JOBS jobs are still pending 0.5 s later" "$NOWORKER_JOBS" \
		"$(q "SELECT count(*) FROM jobs WHERE kind_of_job = 9 AND state = 'pending'")"

	run_due runner_a
	r1=$RUNNER_PID
	run_due runner_b
	r2=$RUNNER_PID
	# a third session cancels every 8th job meanwhile, one transaction each
	# (each cancel races the runners)
	for g in $(seq 8 8 "$NOWORKER_JOBS"); do
		echo "SELECT convex_scheduler_cancel(_id) FROM convex._scheduled_functions WHERE args->0->>'key' = '$((9000000000000000 + g))';"
	done >"$WORK/cancels.sql"
	"$PSQL_BIN" -X -q -d "$DB" -f "$WORK/cancels.sql" >"$WORK/canceler.log" 2>&1 &
	r3=$!
	BG_PIDS+=("$r3")
	sleep 0.4
	backends=$(runner_backends | tr '\n' ' ')
	victim=${backends%% *}
	INFLIGHT=
	LINE=$(log_lines)
	if [ -n "$victim" ] && freeze_in_flight "$victim"; then
		T_CRASH=$(now_ms)
		kill -9 "$victim"
		FROZEN=
		CRASHES=$((CRASHES + 1))
		note_inflight D "$INFLIGHT" "$victim" "kill -9 of a run_due session" "$T_CRASH"
	else
		[ -n "$FROZEN" ] && kill -CONT "$FROZEN"
		FROZEN=
		fail "phase D: no CALL convex_scheduler_run_due session found running a job (runners: '${backends}')"
	fi
	wait "$r1" "$r2" "$r3" 2>/dev/null
	if ! wait_server 30; then
		fail "phase D: the server does not accept connections after the kill"
		exit 1
	fi
	check "phase D: the postmaster reinitialized after the kill (server log)" 1 \
		"$(log_since "$LINE" 'all server processes terminated; reinitializing')"
	PENDING_AFTER_KILL=$(q "SELECT count(*) FROM jobs WHERE kind_of_job = 9 AND state = 'pending'")
	T_D2=$(now_ms)
	run_due runner_c
	r1=$RUNNER_PID
	run_due runner_d
	r2=$RUNNER_PID
	wait "$r1"
	rc1=$?
	wait "$r2"
	rc2=$?
	check "phase D: both CALLs after the crash finished without error" "0 0" "$rc1 $rc2"
	if [ "$rc1$rc2" != 00 ]; then
		cat "$WORK/runner_c.log" "$WORK/runner_d.log" | head -n 10 | sed 's/^/    | /'
	fi
	check "phase D: nothing pending" 0 "$(q "SELECT count(*) FROM jobs WHERE state IN ('pending', 'inProgress')")"
	D_ROUNDS=$(q "SELECT 'before the kill ' || count(DISTINCT backend) || ' backends ' || count(*) || ' jobs'
	                FROM effects WHERE left(key, 1) = '9' AND ran_ms < $T_D2")
	D_ROUNDS="$D_ROUNDS, after it $(q "SELECT count(DISTINCT backend) || ' backends ' || count(*) || ' jobs'
	                FROM effects WHERE left(key, 1) = '9' AND ran_ms >= $T_D2")"
	# the round after the crash: two backends, whose job time ranges overlap
	late=$(q "SELECT count(*) || ' ' || coalesce(bool_and(lo < hi_other AND lo_other < hi), false)
	            FROM (SELECT backend, min(ran_ms) AS lo, max(ran_ms) AS hi
	                    FROM effects WHERE left(key, 1) = '9' AND ran_ms >= $T_D2 GROUP BY backend) b
	            CROSS JOIN LATERAL (SELECT min(ran_ms) AS lo_other, max(ran_ms) AS hi_other
	                                  FROM effects WHERE left(key, 1) = '9' AND ran_ms >= $T_D2
	                                   AND backend <> b.backend) o")
	if [ "$late" = "2 true" ]; then
		pass "phase D: the two run_due sessions after the crash shared the work at overlapping times ($D_ROUNDS; $PENDING_AFTER_KILL pending after the kill)"
	else
		fail "phase D: want two run_due backends with overlapping job times after the crash, got '$late' ($D_ROUNDS; $PENDING_AFTER_KILL pending after the kill)"
	fi
	CRASH_NOTES+=("D: kill -9 of run_due backend ${victim:-?} (in flight: ${INFLIGHT:-none}; phase $(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $TDD}") s)")
}
phase_d

# --- the whole history -----------------------------------------------------------
psql_db -c "CREATE TABLE attempted (key text)" -c "CREATE TABLE acked (key text)" \
	-c "\\copy attempted FROM '$ATT'" -c "\\copy acked FROM '$ACK'" >/dev/null
check "keys: every attempted key is unique (the bookkeeping is sound)" 0 \
	"$(q "SELECT count(*) FROM (SELECT key FROM attempted GROUP BY key HAVING count(*) > 1) d")"
check "no job is pending or inProgress" 0 \
	"$(q "SELECT count(*) FROM convex._scheduled_functions WHERE state->>'kind' NOT IN ('success', 'failed', 'canceled')")"
check "no key is scheduled twice" 0 "$(q "SELECT count(*) FROM (SELECT key FROM jobs GROUP BY key HAVING count(*) > 1) d")"
check "exactly once: every success job has exactly one effects row and one job_docs document" 0 \
	"$(q "SELECT count(*) FROM jobs WHERE state = 'success' AND (effects <> 1 OR docs <> 1)")"
check "never for the others: canceled and failed jobs have no effect and no document" 0 \
	"$(q "SELECT count(*) FROM jobs WHERE state <> 'success' AND (effects > 0 OR docs > 0)")"
check "no effects row and no document without a success job (rolled-back, canceled, failed)" "0 0" \
	"$(q "SELECT (SELECT count(*) FROM effects e WHERE NOT EXISTS (SELECT FROM jobs j WHERE j.key = e.key AND j.state = 'success'))
	             || ' ' ||
	             (SELECT count(*) FROM convex.job_docs d WHERE NOT EXISTS (SELECT FROM jobs j WHERE j.key = d.key AND j.state = 'success'))")"
check "every acknowledged job is in the table" 0 \
	"$(q "SELECT count(*) FROM acked a WHERE NOT EXISTS (SELECT FROM jobs j WHERE j.key = a.key)")"
check "jobs of rolled-back transactions and savepoints (kinds 7, 8) are absent, and so are their effects" "0 0" \
	"$(q "SELECT (SELECT count(*) FROM jobs WHERE kind_of_job IN (7, 8)) || ' ' ||
	             (SELECT count(*) FROM effects WHERE left(key, 1) IN ('7', '8'))")"
check "every job in the table was attempted by a client (no phantom job)" 0 \
	"$(q "SELECT count(*) FROM jobs j WHERE NOT EXISTS (SELECT FROM attempted a WHERE a.key = j.key)")"
UNACKED=$(q "SELECT count(*) FROM jobs j WHERE NOT EXISTS (SELECT FROM acked a WHERE a.key = j.key)")
# (phase D's jobs are acknowledged by one statement before its crash)
if [ "$UNACKED" -le $((CLIENTS * 3)) ]; then
	pass "committed but unacknowledged (cut off by a crash): $UNACKED <= $CLIENTS clients x 3 crashes, and they ran exactly once too"
else
	fail "$UNACKED jobs committed without acknowledgement, more than $CLIENTS clients x 3 crashes"
fi
check "each kind of job ended in its expected state" 0 \
	"$(q "SELECT count(*) FROM jobs WHERE NOT CASE kind_of_job
	        WHEN 1 THEN state = 'success' WHEN 2 THEN state = 'success' WHEN 3 THEN state = 'success'
	        WHEN 4 THEN state = 'canceled'
	        WHEN 5 THEN state IN ('canceled', 'success')
	        WHEN 6 THEN state = 'failed' AND error LIKE 'planned failure of job ' || key || '%'
	        WHEN 9 THEN state = 'success' OR (state = 'canceled' AND key::bigint % 8 = 0)
	        ELSE false END")"
check "no job ran before its scheduled time" 0 \
	"$(q "SELECT count(*) FROM jobs j JOIN effects e ON e.key = j.key WHERE e.ran_ms < j.scheduled_time - 1")"
check "finished jobs have completed_time" 0 "$(q "SELECT count(*) FROM jobs WHERE completed_time IS NULL")"
SUCCESS=$(q "SELECT count(*) FROM jobs WHERE state = 'success'")
check "the total adds up: effects rows and job_docs documents = success jobs" "$SUCCESS $SUCCESS" \
	"$(q "SELECT (SELECT count(*) FROM effects) || ' ' || (SELECT count(*) FROM convex.job_docs)")"

# the job in flight at each crash (frozen inside its handler, before its
# commit) ran again afterwards, exactly once: it finished after the crash, and
# no effect of the frozen attempt survived
for inflight in "${INFLIGHTS[@]}"; do
	read -r phase key oldpid tcrash <<<"$inflight"
	if [ "${key:0:1}" = 6 ]; then expect="failed 0 after the crash"; else expect="success 1 after the crash"; fi
	check "phase $phase: the job in flight at the crash ($key) ran again after it, exactly once" "$expect" \
		"$(q "SELECT j.state || ' ' || j.effects || ' ' ||
		             CASE WHEN j.completed_time < $tcrash THEN 'before the crash'
		                  WHEN EXISTS (SELECT FROM effects e WHERE e.key = j.key AND e.backend = $oldpid)
		                  THEN 'after the crash, but with an effect of the crashed backend'
		                  ELSE 'after the crash' END
		        FROM jobs j WHERE j.key = '$key'")"
done

# --- figures -----------------------------------------------------------------------
echo "# crashes injected: $CRASHES"
printf '#   %s\n' "${CRASH_NOTES[@]}"
echo "# jobs: $(q "SELECT count(*) FROM jobs") in the table ($WORKER_JOBS in the worker phases A-C, $D_JOBS in phase D);" \
	"attempted $(wc -l <"$ATT"), acknowledged $(wc -l <"$ACK"), committed unacknowledged $UNACKED"
echo "# states: $(q "SELECT string_agg(state || ' ' || n, ', ' ORDER BY state) FROM (SELECT state, count(*) AS n FROM jobs GROUP BY state) s")"
echo "# by kind (kind: total success/canceled/failed):" \
	"$(q "SELECT string_agg(kind_of_job || ': ' || n || ' ' || s || '/' || c || '/' || f, ', ' ORDER BY kind_of_job)
	        FROM (SELECT kind_of_job, count(*) AS n, count(*) FILTER (WHERE state = 'success') AS s,
	                     count(*) FILTER (WHERE state = 'canceled') AS c, count(*) FILTER (WHERE state = 'failed') AS f
	                FROM jobs GROUP BY 1) k")"
echo "# rolled back (kinds 7, 8): $(q "SELECT count(*) FROM attempted WHERE left(key, 1) IN ('7', '8')") attempted, none committed"
echo "# ran: $(q "SELECT count(*) FROM effects") effects rows by $(q "SELECT count(DISTINCT backend) FROM effects") backends; drain after the last crash ${DRAIN_SECS} s"
echo "# worker starts logged: $(grep -c 'convexlite scheduler started' "$CVX_LOGFILE")"
echo "scheduler_crash: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "# the server log's notable lines:"
	grep -E 'terminated by signal|reinitializing|scheduler|PANIC|ERROR' "$CVX_LOGFILE" | tail -n 30 | sed 's/^/    | /'
	echo "scheduler_crash: FAIL"
	exit 1
fi
echo "scheduler_crash: PASS"
exit 0
