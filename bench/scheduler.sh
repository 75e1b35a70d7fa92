#!/usr/bin/env bash
# bench/scheduler.sh: ctx.scheduler's background worker and realtime NOTIFY,
# side by side with plain PostgreSQL in one run.
#
#   dispatch latency  pgbench, 1 client, -R RATE for LATENCY_S seconds: each
#                     transaction schedules one job (runAfter(0), an internal
#                     mutation whose PL/pgSQL handler records clock_timestamp()
#                     first thing) and commits; the client then records
#                     clock_timestamp() in a second statement.  The commit
#                     moment lies between the job row's _creation_time (its
#                     insert) and that stamp, so each job's latency is given
#                     twice: handler start - _creation_time (an upper bound: it
#                     includes the commit's WAL flush) and handler start - the
#                     client's stamp (a lower bound: negative when the job
#                     started before the client's next statement arrived).
#   drain             JOBS jobs scheduled in one transaction, all due at the
#                     same moment LEAD_MS ahead (runAt), the worker idle; jobs/s
#                     = JOBS / (first job's start - last job's completed_time).
#                     Two jobs: a trivial internal mutation (its handler inserts
#                     one row into a plain table) and the built-in messages:send.
#                     Each job is one transaction (synchronous_commit as the
#                     cluster has it: on), so the peer is pgbench (1 client,
#                     -M prepared) committing single-row INSERTs into a table of
#                     the same shape.  The same drains by CALL
#                     convex_scheduler_run_due() in a database of its own, where
#                     no worker runs (the worker serves convexlite.database_name
#                     only), so nothing competes with the CALL.  The jobs/s of the
#                     first and of the last tenth of the jobs (by start time) show
#                     whether the drain slows as it goes.  Once more (one run) while
#                     another session keeps a REPEATABLE READ snapshot open, as a
#                     long report or pg_dump does: the finished jobs' old row
#                     versions cannot be pruned, and every claim steps over them.
#   NOTIFY            SELECT convex_messages_send(...), pgbench -M prepared at
#                     1, 4 and 8 clients, convexlite.notify on and off (set per
#                     connection by PGOPTIONS, as superuser).  PostgreSQL
#                     serializes the commits of notifying transactions (a
#                     global lock held through the commit's WAL flush).
#
# Latency is one pgbench run (its percentiles); every drain and tps figure is the
# median of RUNS runs (notify on/off alternate, ABBA), every ratio the median of
# the runs' ratios.  The worker runs in the cluster's
# convexlite.database_name (for the bench cluster scripts/lib.sh sets it to the
# cron database, convexlite_bench): that database is dropped and created again,
# and the cluster restarted, so the worker starts fresh in an empty database
# (without pg_cron, so pg_cron's convexlite-scheduler-run-due job does not
# compete).  The worker never runs during the measured CALLs and pgbench runs.
#
# Usage: bash bench/scheduler.sh [runs] [jobs]   (default 3 and 12000: about 2.5 minutes)
# Environment: CVX_BENCH_CLUSTER (default bench), CVX_BENCH_PORT (default: the
# cluster's configured port, else its well-known one: 54333 for bench), CVX_BENCH_DB
# (the worker-less database of the CALL drains; default convexlite_scheduler:
# recreated, and dropped at the end), BENCH_OUT (where the markdown fragment
# scheduler.md goes, for bench/report.sh; default bench/out).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=${1:-3}
JOBS=${2:-12000}
case $RUNS in '' | *[!0-9]* | 0) cvx_die "runs must be a positive number, not '$RUNS'" ;; esac
case $JOBS in '' | *[!0-9]* | 0) cvx_die "jobs must be a positive number, not '$JOBS'" ;; esac
CLUSTER=${CVX_BENCH_CLUSTER:-bench}
PORT=${CVX_BENCH_PORT:-$(cvx_cluster_port "$CLUSTER" || true)}
[ -n "$PORT" ] || PORT=$(cvx_default_port "$CLUSTER") ||
	cvx_die "cluster '$CLUSTER' has no known port: set CVX_BENCH_PORT"
DB=${CVX_BENCH_DB:-convexlite_scheduler}
RATE=40          # dispatch latency: jobs scheduled per second
LATENCY_S=10     # ... for this long
LEAD_MS=1500     # drain: the batch falls due this long after it is scheduled
INSERT_S=5       # the INSERT peer's pgbench run
NOTIFY_S=3       # each NOTIFY pgbench run
DRAIN_TIMEOUT_S=120
PGBENCH="$(cvx_pg_bindir)/pgbench"

cvx_cluster_start "$CLUSTER" "$PORT" "$(cvx_default_cron_db "$CLUSTER")"
WDB=$(cvx_psql -qtA -d postgres -c "SHOW convexlite.database_name")
case $WDB in
postgres | template0 | template1 | '')
	cvx_die "the worker runs in database '$WDB', which this benchmark would drop and create again:" \
		"use a cluster whose convexlite.database_name is a database of its own (scripts/lib.sh sets it to the cron database)"
	;;
esac
[ "$DB" != "$WDB" ] || cvx_die "CVX_BENCH_DB must not be the worker's database ($WDB)"
cvx_step "The worker's database $WDB (recreated; the cluster restarts) and the worker-less $DB"
cvx_recreate_db "$CLUSTER" "$WDB"
LOG_START=$(stat -c %s "$CVX_LOGFILE")
cvx_psql -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
for db in "$WDB" "$DB"; do
	cvx_psql -q -d "$db" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
CREATE SCHEMA bench;
-- dispatch latency: when each job's handler started, and when its scheduling
-- transaction's client saw the commit
CREATE TABLE bench.starts (key bigint, started double precision);
CREATE TABLE bench.commits (key bigint, job text, committed double precision);
CREATE SEQUENCE bench.keys;
CREATE FUNCTION bench.record_start(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench.starts VALUES ((args->>'key')::bigint, extract(epoch FROM clock_timestamp()) * 1000);
    RETURN NULL;
END $$;
SELECT convex_define_mutation('bench:recordStart', 'bench.record_start(jsonb)', '{"type": "any"}', NULL, true);
-- the trivial job inserts one row; the peer INSERTs the same row into a twin table
CREATE TABLE bench.job_rows (key bigint, at double precision);
CREATE TABLE bench.plain_rows (key bigint, at double precision);
CREATE FUNCTION bench.insert_row(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench.job_rows VALUES ((args->>'key')::bigint, extract(epoch FROM clock_timestamp()) * 1000);
    RETURN NULL;
END $$;
SELECT convex_define_mutation('bench:insertRow', 'bench.insert_row(jsonb)', '{"type": "any"}', NULL, true);
SQL
done >/dev/null

# Is the worker there?  (It starts a moment after the restart.)
for _ in $(seq 50); do
	[ "$(cvx_psql -qtA -d postgres -c "SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'convexlite scheduler' AND datname = '$WDB'")" = 1 ] && break
	sleep 0.2
done
[ "$(cvx_psql -qtA -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'convexlite scheduler'")" = 1 ] ||
	cvx_die "no convexlite scheduler worker in pg_stat_activity (is convexlite in shared_preload_libraries?)"

workdir=$(mktemp -d)
trap 'release_snapshot; rm -rf "$workdir"' EXIT
# A path holds a ':', which pgbench would read as a variable: spelled 'bench' || ':' || ...
cat >"$workdir/schedule.sql" <<'SQL'
SELECT key, convex_scheduler_run_after(0, 'bench' || ':' || 'recordStart', jsonb_build_object('key', key)) AS job FROM nextval('bench.keys') AS key \gset
INSERT INTO bench.commits VALUES (:key, :job, extract(epoch FROM clock_timestamp()) * 1000);
SQL
cat >"$workdir/insert.sql" <<'SQL'
\set key random(1, 1000000000)
INSERT INTO bench.plain_rows VALUES (:key, extract(epoch FROM clock_timestamp()) * 1000);
SQL
cat >"$workdir/send.sql" <<'SQL'
SELECT convex_messages_send('{"roomId": "general", "content": "hello there", "userName": "bench", "sessionId": "s1"}');
SQL

# pgbench_tps DB FILE CLIENTS SECONDS [PGOPTIONS]: transactions per second
pgbench_tps() {
	local db=$1 file=$2 clients=$3 seconds=$4 options=${5:-} out tps
	out=$(PGOPTIONS=$options "$PGBENCH" -n -M prepared -c "$clients" -j "$clients" -T "$seconds" -f "$file" "$db" 2>&1) ||
		cvx_die "pgbench failed: $out"
	tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
	[ -n "$tps" ] || cvx_die "no tps from pgbench: $out"
	printf '%s' "$tps"
}
q() { cvx_psql -qtA -d "$1" -c "$2"; }
# median VALUES...: the middle value (the mean of the middle two for an even count)
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# minmax VALUES...: "lowest-highest"
minmax() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'; }

cvx_step "Settings"
q "$WDB" "SELECT 'PostgreSQL ' || current_setting('server_version') || ', synchronous_commit = ' ||
	current_setting('synchronous_commit') || ', fsync = ' || current_setting('fsync') || ', wal_sync_method = ' ||
	current_setting('wal_sync_method') || ', shared_buffers = ' || current_setting('shared_buffers') ||
	'; ' || $(nproc) || ' CPUs; worker in ' || current_database()" | sed 's/^/    /'

# A first job warms the worker's caches (its first transaction in the database)
q "$WDB" "SELECT convex_scheduler_run_after(0, 'bench:recordStart', '{\"key\": 0}')" >/dev/null
for _ in $(seq 100); do
	[ "$(q "$WDB" "SELECT count(*) FROM bench.starts")" = 1 ] && break
	sleep 0.1
done
[ "$(q "$WDB" "SELECT count(*) FROM bench.starts")" = 1 ] || cvx_die "the worker did not run a job due now within 10 s"
q "$WDB" "TRUNCATE bench.starts" >/dev/null

# ---------------------------------------------------------------------------
cvx_step "Dispatch latency: one job per transaction, pgbench -R $RATE for ${LATENCY_S}s"
"$PGBENCH" -n -M prepared -c 1 -R "$RATE" -T "$LATENCY_S" -f "$workdir/schedule.sql" "$WDB" >"$workdir/latency.out" 2>&1 ||
	cvx_die "pgbench failed: $(cat "$workdir/latency.out")"
sleep 1
read -r lat_n lat_started lat_pending ins_p50 ins_p90 ins_p99 ins_max ack_p50 ack_p90 ack_p99 ack_max ack_min \
	com_p50 com_p90 com_p99 com_max <<<"$(q "$WDB" "
WITH l AS (
    SELECT s.started - f._creation_time AS after_insert, s.started - c.committed AS after_ack,
           c.committed - f._creation_time AS commit
      FROM bench.commits c JOIN convex._scheduled_functions f ON f._id = c.job JOIN bench.starts s USING (key))
SELECT (SELECT count(*) FROM bench.commits), (SELECT count(*) FROM l),
       (SELECT count(*) FROM convex._scheduled_functions WHERE state->>'kind' <> 'success'),
       array_to_string(percentile_cont(ARRAY[0.5, 0.9, 0.99, 1]) WITHIN GROUP (ORDER BY after_insert)
                       || percentile_cont(ARRAY[0.5, 0.9, 0.99, 1]) WITHIN GROUP (ORDER BY after_ack)
                       || min(after_ack)
                       || percentile_cont(ARRAY[0.5, 0.9, 0.99, 1]) WITHIN GROUP (ORDER BY commit), ' ')
  FROM l" | tr '|' ' ')"
[ "$lat_n" -gt 0 ] || cvx_die "the latency run scheduled no job: $(cat "$workdir/latency.out")"
if [ "$lat_started" != "$lat_n" ] || [ "$lat_pending" != 0 ]; then
	cvx_warn "dispatch latency: $lat_n jobs scheduled, $lat_started started, $lat_pending not (yet) successful"
fi
cvx_info "$lat_started of $lat_n jobs started; ms, p50 / p90 / p99 / max:"
cvx_info "  handler start - job row insert:             $(fmt "$ins_p50" 2) / $(fmt "$ins_p90" 2) / $(fmt "$ins_p99" 2) / $(fmt "$ins_max" 2)"
cvx_info "  handler start - client's post-commit stamp: $(fmt "$ack_p50" 2) / $(fmt "$ack_p90" 2) / $(fmt "$ack_p99" 2) / $(fmt "$ack_max" 2) (min $(fmt "$ack_min" 2))"
cvx_info "  job row insert - client's post-commit stamp: $(fmt "$com_p50" 2) / $(fmt "$com_p90" 2) / $(fmt "$com_p99" 2) / $(fmt "$com_max" 2) (the commit)"

# ---------------------------------------------------------------------------
# reset DB: forget finished jobs and the jobs' rows, vacuum (every drain starts alike)
reset() {
	cvx_psql -q -d "$1" <<'SQL'
DELETE FROM convex._scheduled_functions WHERE state->>'kind' <> 'pending';
TRUNCATE bench.job_rows, bench.plain_rows, convex.messages;
VACUUM ANALYZE convex._scheduled_functions, bench.job_rows, bench.plain_rows, convex.messages;
SQL
}
# job_call KIND: the scheduled call's path and args (i is the job's number)
job_call() {
	case $1 in
	trivial) printf "%s" "'bench:insertRow', jsonb_build_object('key', i)" ;;
	send) printf "%s" "'messages:send', jsonb_build_object('roomId', 'general', 'content', 'job ' || i, 'userName', 'bench', 'sessionId', 's1')" ;;
	esac
}
# starts KIND: SQL for the jobs' start times (the trivial handler's stamps; the messages' _creation_time)
starts() {
	case $1 in
	trivial) printf 'SELECT at FROM bench.job_rows' ;;
	send) printf 'SELECT _creation_time FROM convex.messages' ;;
	esac
}
# drain_result DB KIND T: "jobs/s wake-ms span-ms first-10%-jobs/s last-10%-jobs/s", checking
# that all JOBS succeeded.  The first and last tenths' rates are by the jobs' start times.
drain_result() {
	local db=$1 kind=$2 t=$3 got ok all p0 p10 p90 p100 done_at
	got=$(q "$db" "SELECT count(*) FILTER (WHERE state->>'kind' = 'success'), count(*), max(completed_time),
	               (SELECT array_to_string(percentile_disc(ARRAY[0, 0.1, 0.9, 1]) WITHIN GROUP (ORDER BY x), '|')
	                  FROM ($(starts "$kind")) AS s (x))
	          FROM convex._scheduled_functions WHERE scheduled_time = $t")
	IFS='|' read -r ok all done_at p0 p10 p90 p100 <<<"$got"
	if [ "$ok" != "$JOBS" ] || [ "$all" != "$JOBS" ]; then
		cvx_die "$kind drain in $db: $ok of $all jobs succeeded, $JOBS expected; failures:" \
			"$(q "$db" "SELECT state->>'error', count(*) FROM convex._scheduled_functions WHERE scheduled_time = $t AND state->>'kind' <> 'success' GROUP BY 1 LIMIT 5")"
	fi
	awk -v n="$JOBS" -v t="$t" -v done_at="$done_at" -v p0="$p0" -v p10="$p10" -v p90="$p90" -v p100="$p100" 'BEGIN {
		printf "%.1f %.1f %.0f %.0f %.0f", n / ((done_at - p0) / 1000), p0 - t, done_at - p0,
			n / 10 / ((p10 - p0) / 1000), n / 10 / ((p100 - p90) / 1000) }'
}
# hold_snapshot: a session of its own opens a REPEATABLE READ transaction, takes its
# snapshot and sleeps (a long report, pg_dump); release_snapshot ends it
HOLDER=
hold_snapshot() {
	PGAPPNAME=cvx_bench_snapshot cvx_psql -q -d "$WDB" -c "BEGIN ISOLATION LEVEL REPEATABLE READ" \
		-c "SELECT count(*) FROM bench.job_rows" -c "SELECT pg_sleep($DRAIN_TIMEOUT_S + 60)" >/dev/null 2>&1 &
	HOLDER=$!
	for _ in $(seq 50); do
		[ "$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cvx_bench_snapshot'
			AND backend_xmin IS NOT NULL AND wait_event = 'PgSleep'")" = 1 ] && return 0
		sleep 0.1
	done
	cvx_die "the session holding a snapshot did not start"
}
release_snapshot() {
	[ -n "$HOLDER" ] || return 0
	q postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cvx_bench_snapshot'" >/dev/null || true
	wait "$HOLDER" 2>/dev/null || true
	HOLDER=
}
# worker_drain KIND [held]: JOBS jobs due LEAD_MS from now, the worker drains them (held:
# while another session holds a snapshot); RESULT is drain_result's
worker_drain() {
	local kind=$1 held=${2:-} t left i
	reset "$WDB"
	[ "$(q "$WDB" "SELECT count(*) FROM convex._scheduled_functions")" = 0 ] || cvx_die "the worker is not idle"
	[ -z "$held" ] || hold_snapshot
	t=$(q "$WDB" "SELECT round(extract(epoch FROM clock_timestamp()) * 1000) + $LEAD_MS")
	q "$WDB" "SELECT count(convex_scheduler_run_at($t, $(job_call "$kind"))) FROM generate_series(1, $JOBS) AS i" >/dev/null
	[ "$(q "$WDB" "SELECT extract(epoch FROM clock_timestamp()) * 1000 < $t")" = t ] ||
		cvx_warn "$kind: scheduling $JOBS jobs took longer than the ${LEAD_MS} ms lead; the worker started at the commit"
	# wait in the shell, never in a statement: an open snapshot would keep the
	# finished jobs' old row versions alive, and each claim would step over them all
	for ((i = 0; i < DRAIN_TIMEOUT_S * 5; i++)); do
		sleep 0.2
		left=$(q "$WDB" "SELECT count(*) FROM convex._scheduled_functions WHERE state->>'kind' = 'pending'")
		[ "$left" = 0 ] && break
	done
	[ "$left" = 0 ] || cvx_die "$kind: $left of $JOBS jobs still pending after ${DRAIN_TIMEOUT_S} s"
	release_snapshot
	RESULT=$(drain_result "$WDB" "$kind" "$t")
}
# call_drain KIND: JOBS jobs due now in the worker-less DB, drained by one CALL; RESULT is drain_result's
call_drain() {
	local kind=$1 t
	reset "$DB"
	t=$(q "$DB" "SELECT round(extract(epoch FROM clock_timestamp()) * 1000)")
	q "$DB" "SELECT count(convex_scheduler_run_at($t, $(job_call "$kind"))) FROM generate_series(1, $JOBS) AS i" >/dev/null
	q "$DB" "CALL convex_scheduler_run_due($JOBS)" >/dev/null
	RESULT=$(drain_result "$DB" "$kind" "$t")
}

cvx_step "Drain: $JOBS jobs due at once, $RUNS runs; the peer: pgbench INSERT, 1 client, ${INSERT_S}s"
W_TRIVIAL=() W_SEND=() C_TRIVIAL=() C_SEND=() INSERT=() R_TRIVIAL=() R_SEND=() R_CTRIVIAL=() WAKES=()
W_FIRST=() W_LAST=()
# show SIDE [worker]: one drain's line (from RESULT); for the worker, when its first job started
show() {
	local jps wake span first last woke=
	read -r jps wake span first last <<<"$RESULT"
	[ -z "${2:-}" ] || woke="; first start $wake ms after due"
	cvx_info "run $run: $1: $(fmt "$jps") jobs/s ($span ms; first tenth $first jobs/s, last tenth $last$woke)"
}
for ((run = 1; run <= RUNS; run++)); do
	worker_drain trivial
	read -r jps wake _ first last <<<"$RESULT"
	show "worker, trivial job" worker
	W_TRIVIAL+=("$jps") WAKES+=("$wake") W_FIRST+=("$first") W_LAST+=("$last")
	reset "$WDB"
	tps=$(pgbench_tps "$WDB" "$workdir/insert.sql" 1 "$INSERT_S")
	INSERT+=("$tps")
	R_TRIVIAL+=("$(ratio "$jps" "$tps")")
	cvx_info "run $run: peer, single-row INSERT: $(fmt "$tps") tps; worker/INSERT ${R_TRIVIAL[-1]}"
	worker_drain send
	read -r jps wake _ <<<"$RESULT"
	show "worker, messages:send" worker
	W_SEND+=("$jps") WAKES+=("$wake")
	R_SEND+=("$(ratio "$jps" "$tps")")
	call_drain trivial
	read -r jps _ <<<"$RESULT"
	show "CALL convex_scheduler_run_due, trivial job"
	C_TRIVIAL+=("$jps")
	R_CTRIVIAL+=("$(ratio "$jps" "$tps")")
	call_drain send
	read -r jps _ <<<"$RESULT"
	show "CALL convex_scheduler_run_due, messages:send"
	C_SEND+=("$jps")
done
cvx_step "Drain once more while another session holds a snapshot (REPEATABLE READ, open all along)"
run=held
worker_drain trivial held
read -r H_JPS _ _ H_FIRST H_LAST <<<"$RESULT"
show "worker, trivial job, snapshot held" worker
reset "$WDB"

# ---------------------------------------------------------------------------
cvx_step "NOTIFY: messages.send, pgbench -M prepared, ${NOTIFY_S}s each, convexlite.notify on vs off, $RUNS runs"
cvx_psql -q -d "$WDB" -c "TRUNCATE convex.messages" -c "VACUUM ANALYZE convex.messages"
NOTIFY_ROWS=()
for clients in 1 4 8; do
	on=() off=() ratios=()
	for ((run = 1; run <= RUNS; run++)); do
		order="on off"
		((run % 2 == 0)) && order="off on"
		for mode in $order; do
			tps=$(pgbench_tps "$WDB" "$workdir/send.sql" "$clients" "$NOTIFY_S" "-c convexlite.notify=$mode")
			if [ "$mode" = on ]; then on+=("$tps"); else off+=("$tps"); fi
		done
		ratios+=("$(ratio "${on[-1]}" "${off[-1]}")")
		cvx_info "$clients client(s), run $run: on $(fmt "${on[-1]}") tps, off $(fmt "${off[-1]}") tps, on/off ${ratios[-1]}"
	done
	NOTIFY_ROWS+=("$clients|$(fmt "$(median "${on[@]}")")|$(fmt "$(median "${off[@]}")")|$(median "${ratios[@]}")|$(minmax "${ratios[@]}")")
	if [ "$clients" = 1 ]; then SEND_ON_1=$(median "${on[@]}"); fi
done
# notifications do reach a listener: one LISTEN check
listen=$(cvx_psql -qtA -d "$WDB" <<'SQL'
LISTEN convex_messages;
SELECT convex_messages_send('{"roomId": "general", "content": "listen check", "userName": "bench"}') IS NOT NULL;
SQL
)
case $listen in *'Asynchronous notification "convex_messages" with payload'*'"roomId":"general"'*) ;;
*) cvx_warn "LISTEN convex_messages got no notification for messages.send: $listen" ;; esac

# ---------------------------------------------------------------------------
problems=$(tail -c +"$((LOG_START + 1))" "$CVX_LOGFILE" | grep -E 'ERROR|FATAL|PANIC|WARNING|scheduled function' |
	grep -v 'terminating background worker "convexlite scheduler" due to administrator command\|terminating connection due to administrator command\|the database system is shutting down' || true)

row() { printf '%-58s %14s %14s %8s %s\n' "$@"; }
cvx_step "Summary ($RUNS runs, $JOBS jobs per drain; ratio: median of the runs' ratios, run range in brackets)"
row "dispatch latency, runAfter(0), ms ($lat_n jobs at $RATE/s)" p50 p90 p99 max
row "  handler start - job row insert (upper bound; target p50 < 50)" "$(fmt "$ins_p50" 2)" "$(fmt "$ins_p90" 2)" "$(fmt "$ins_p99" 2)" "$(fmt "$ins_max" 2)"
row "  handler start - client's post-commit stamp (lower bound)" "$(fmt "$ack_p50" 2)" "$(fmt "$ack_p90" 2)" "$(fmt "$ack_p99" 2)" "$(fmt "$ack_max" 2)"
row "  the commit between: job row insert - post-commit stamp" "$(fmt "$com_p50" 2)" "$(fmt "$com_p90" 2)" "$(fmt "$com_p99" 2)" "$(fmt "$com_max" 2)"
echo
row "drain, jobs/s (peer: single-row INSERT tps, 1 client)" convexlite peer ratio "runs"
row "  worker, trivial job vs INSERT (target ratio >= 0.5)" "$(fmt "$(median "${W_TRIVIAL[@]}")")" "$(fmt "$(median "${INSERT[@]}")")" "$(median "${R_TRIVIAL[@]}")" "[$(minmax "${R_TRIVIAL[@]}")]"
row "    ... its first tenth of the jobs / its last tenth" "$(fmt "$(median "${W_FIRST[@]}")") / $(fmt "$(median "${W_LAST[@]}")")" "" "" ""
row "    ... while another session holds a snapshot (1 run)" "$(fmt "$H_JPS")" "$(fmt "$(median "${INSERT[@]}")")" "$(ratio "$H_JPS" "$(median "${INSERT[@]}")")" "(tenths: first $(fmt "$H_FIRST") / last $(fmt "$H_LAST"))"
row "  worker, messages:send vs INSERT" "$(fmt "$(median "${W_SEND[@]}")")" "$(fmt "$(median "${INSERT[@]}")")" "$(median "${R_SEND[@]}")" "[$(minmax "${R_SEND[@]}")]"
row "  worker, messages:send vs messages.send by a client" "$(fmt "$(median "${W_SEND[@]}")")" "$(fmt "$SEND_ON_1")" "$(ratio "$(median "${W_SEND[@]}")" "$SEND_ON_1")" ""
row "  CALL run_due (no worker), trivial job vs INSERT" "$(fmt "$(median "${C_TRIVIAL[@]}")")" "$(fmt "$(median "${INSERT[@]}")")" "$(median "${R_CTRIVIAL[@]}")" "[$(minmax "${R_CTRIVIAL[@]}")]"
row "  CALL run_due (no worker), messages:send" "$(fmt "$(median "${C_SEND[@]}")")" "" "" ""
row "  worker: first job's start after the batch fell due, ms" "$(fmt "$(median "${WAKES[@]}")" 1)" "" "" "[$(minmax "${WAKES[@]}")]"
echo
row "NOTIFY: messages.send tps, clients" "notify on" "notify off" "on/off" "runs"
for r in "${NOTIFY_ROWS[@]}"; do
	IFS='|' read -r c on off rat range <<<"$r"
	row "  $c" "$on" "$off" "$rat" "[$range]"
done
cvx_info "Drain: jobs/s = jobs / (first job's start - last job's completed_time); the trivial job's handler"
cvx_info "inserts one row into a plain table, the peer INSERTs the same row into its twin; one commit each."
cvx_info "messages.send by a client: pgbench, 1 client, notify on (the NOTIFY section's figure)."

# The same summary as a markdown fragment for bench/RESULTS.md (bench/report.sh)
fragment_dir=${BENCH_OUT:-$CVX_ROOT/bench/out}
mkdir -p "$fragment_dir"
md() {
	local out='|' cell
	for cell in "$@"; do out+=" $cell |"; done
	printf '%s\n' "$out"
}
{
	printf '%s runs, %s jobs per drain, synchronous_commit as the cluster has it; ratios: median of the runs'"'"' ratios, run range in brackets.\n\n' "$RUNS" "$JOBS"
	md "Dispatch latency, runAfter(0), ms ($lat_n jobs at $RATE/s)" p50 p90 p99 max
	md --- --- --- --- ---
	md "handler start − job row insert (upper bound; target p50 < 50)" "$(fmt "$ins_p50" 2)" "$(fmt "$ins_p90" 2)" "$(fmt "$ins_p99" 2)" "$(fmt "$ins_max" 2)"
	md "handler start − client's post-commit stamp (lower bound)" "$(fmt "$ack_p50" 2)" "$(fmt "$ack_p90" 2)" "$(fmt "$ack_p99" 2)" "$(fmt "$ack_max" 2)"
	md "the commit between: job row insert − post-commit stamp" "$(fmt "$com_p50" 2)" "$(fmt "$com_p90" 2)" "$(fmt "$com_p99" 2)" "$(fmt "$com_max" 2)"
	printf '\n'
	md "Drain, jobs/s (peer: single-row INSERT tps, 1 client)" convexlite peer ratio runs
	md --- --- --- --- ---
	md "worker, trivial job vs INSERT (target ratio ≥ 0.5)" "$(fmt "$(median "${W_TRIVIAL[@]}")")" "$(fmt "$(median "${INSERT[@]}")")" "$(median "${R_TRIVIAL[@]}")" "[$(minmax "${R_TRIVIAL[@]}")]"
	md "… its first tenth of the jobs / its last tenth" "$(fmt "$(median "${W_FIRST[@]}")") / $(fmt "$(median "${W_LAST[@]}")")" "" "" ""
	md "… while another session holds a snapshot (1 run; tenths: first $(fmt "$H_FIRST") / last $(fmt "$H_LAST"))" "$(fmt "$H_JPS")" "$(fmt "$(median "${INSERT[@]}")")" "$(ratio "$H_JPS" "$(median "${INSERT[@]}")")" ""
	md "worker, messages:send vs INSERT" "$(fmt "$(median "${W_SEND[@]}")")" "$(fmt "$(median "${INSERT[@]}")")" "$(median "${R_SEND[@]}")" "[$(minmax "${R_SEND[@]}")]"
	md "worker, messages:send vs messages.send by a client" "$(fmt "$(median "${W_SEND[@]}")")" "$(fmt "$SEND_ON_1")" "$(ratio "$(median "${W_SEND[@]}")" "$SEND_ON_1")" ""
	md "CALL run_due (no worker), trivial job vs INSERT" "$(fmt "$(median "${C_TRIVIAL[@]}")")" "$(fmt "$(median "${INSERT[@]}")")" "$(median "${R_CTRIVIAL[@]}")" "[$(minmax "${R_CTRIVIAL[@]}")]"
	md "CALL run_due (no worker), messages:send" "$(fmt "$(median "${C_SEND[@]}")")" "" "" ""
	md "worker: first job's start after the batch fell due, ms" "$(fmt "$(median "${WAKES[@]}")" 1)" "" "" "[$(minmax "${WAKES[@]}")]"
	printf '\n'
	md "NOTIFY: messages.send tps, clients" "notify on" "notify off" "on/off" runs
	md --- --- --- --- ---
	for r in "${NOTIFY_ROWS[@]}"; do
		IFS='|' read -r c on off rat range <<<"$r"
		md "$c" "$on" "$off" "$rat" "[$range]"
	done
	printf '\nDrain: jobs/s = jobs / (first job'"'"'s start − last job'"'"'s completed_time); the trivial job'"'"'s handler inserts one row into a plain table, '
	printf 'the peer INSERTs the same row into its twin; one commit each. messages.send by a client: pgbench, 1 client, notify on.'
	if [ -n "$problems" ]; then
		printf ' The server log had %s line(s) of note during the run (ERROR, WARNING or a failed job).\n' "$(wc -l <<<"$problems")"
	else
		printf ' No ERROR, WARNING or failed job in the server log during the run.\n'
	fi
} >"$fragment_dir/scheduler.md"

if [ -n "$problems" ]; then
	cvx_warn "the server log has $(wc -l <<<"$problems") line(s) of note since the start (first 10):"
	head -n 10 <<<"$problems" >&2
else
	cvx_info "No ERROR, WARNING or failed job in $CVX_LOGFILE during the run."
fi

cvx_psql -q -d postgres -c "DROP DATABASE $DB"
