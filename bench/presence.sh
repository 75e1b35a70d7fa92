#!/usr/bin/env bash
# bench/presence.sh: issue 6's presence targets, measured on a throwaway cluster.
#
#   HOT    "at least 95% of heartbeats are HOT updates".  A heartbeat storm:
#          convex_presence_update over 100 sessions in one room (bench/wire/heartbeat.convexlite.sql's
#          heartbeat.sql), pgbench -M prepared, CLIENTS clients, one transaction per
#          call.  HOT share = delta n_tup_hot_upd / delta n_tup_upd of convex.presence
#          in pg_stat_user_tables (PG15's cumulative statistics: each backend flushes
#          its counters when it exits, so after each pgbench run the script polls,
#          with a new session each time, so no statistics snapshot is cached, until
#          n_tup_upd has counted every call).
#   Size   "after 1M heartbeats the table and its indexes are no more than twice
#          their size after the first 100".  The first 100 heartbeats are each
#          session's first (an INSERT each, one transaction per call, as clients do);
#          then the storm runs in stages (1k, 10k, 100k, ... HEARTBEATS in all) and
#          after each stage the script records pg_total_relation_size('convex.presence')
#          (heap, its FSM and VM forks, TOAST, all indexes), the heap's main fork and
#          the indexes separately.  The verdict is on pg_total_relation_size.
#          Autovacuum is left as the cluster has it (PostgreSQL's defaults, printed)
#          and convex.presence keeps the reloptions convexlite's install gives it
#          (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.05): nothing is tuned
#          for the benchmark.
#   Cleanup "presence.cleanup of 100k stale rows never blocks a heartbeat for more
#          than 50 ms".  STALE stale rows (lastSeen an hour ago) are loaded directly
#          into room "lobby", then 100 live sessions (L1..L50 in "lobby", L51..L100
#          in "other") send heartbeats through pgbench (CLIENTS clients, -l: every
#          transaction's latency is logged).  After BASELINE_S seconds, a superuser
#          session runs SELECT convex_presence_cleanup() (one statement, its own
#          transaction, as pg_cron's job runs it).  Reported: the cleanup's wall time
#          (client round trip, commit included), rows removed, its backend's CPU time,
#          and heartbeat latency (count, p50, p99, max) in a baseline window (from 1 s
#          into the run until the cleanup starts) and in the cleanup window (every
#          heartbeat whose transaction overlaps the cleanup's).  Evidence for a slow
#          heartbeat: a second pgbench client samples pg_stat_activity every ~10 ms
#          (wait events of the heartbeat, cleanup, relay and autovacuum backends,
#          pg_blocking_pids and the ungranted pg_locks of backends waiting on a lock)
#          into an unlogged table; each sample is its own short transaction, so the
#          sampler holds no snapshot that would keep heartbeats from pruning.  The
#          whole trial runs again twice as diagnostics (not the verdict): with
#          convexlite.notify = off in the cleanup's session only (what the cleanup's
#          NOTIFYs, one per deleted row, cost the heartbeats), and, when the relay
#          is in effect, with convexlite.notify_relay = off for the heartbeats (each
#          heartbeat then sends its NOTIFY itself and so takes PostgreSQL's
#          database-wide notify lock, which the cleanup holds through its commit).
#
# Notifications: convexlite's background NOTIFY relay (when the installed build has
# one) serves only the cluster's convexlite.database_name, so the benchmark runs in
# that database (DB below, the cluster's cron database): writers there hand their
# notifications to the relay, as an application's would.  The fragment says which
# path was in effect.  The database is recreated and the cluster restarted at the
# start (so bench/memory.sh, which uses the same database, must not run at the same
# time).  pg_cron is not installed in it, so no cron job runs convex_presence_cleanup
# behind the benchmark's back.
#
# Output: presence.md (a markdown fragment) and presence.txt (`key value` lines) in
# $BENCH_OUT (default bench/out/, where bench/run.sh collects them), both also
# printed.  Run time: about HEARTBEATS / tps plus 3 x (TRIAL_S + ~2) seconds; with
# the defaults on this 2-core machine 4-7 minutes.
#
# Usage: bash bench/presence.sh
# Environment: BENCH_CLUSTER (default benchp), BENCH_PORT (default 54337),
#   BENCH_DB (default: the cluster's cron database, convexlite_<cluster>), BENCH_OUT,
#   BENCH_HEARTBEATS (storm size, default 1000000), BENCH_CLIENTS (default 4),
#   BENCH_STALE_ROWS (default 100000), BENCH_BASELINE_S (default 5),
#   BENCH_TRIAL_S (heartbeat run of a cleanup trial, default 20).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

BENCH_CLUSTER=${BENCH_CLUSTER:-benchp}
BENCH_PORT=${BENCH_PORT:-54337}
HEARTBEATS=${BENCH_HEARTBEATS:-1000000}
CLIENTS=${BENCH_CLIENTS:-4}
STALE=${BENCH_STALE_ROWS:-100000}
BASELINE_S=${BENCH_BASELINE_S:-5}
TRIAL_S=${BENCH_TRIAL_S:-20}
for v in HEARTBEATS CLIENTS STALE BASELINE_S TRIAL_S BENCH_PORT; do
	case ${!v} in '' | *[!0-9]* | 0) cvx_die "$v must be a positive integer, not '${!v}'" ;; esac
done
[ "$TRIAL_S" -gt $((BASELINE_S + 2)) ] || cvx_die "BENCH_TRIAL_S must exceed BENCH_BASELINE_S + 2"
case $BENCH_CLUSTER in
demo | test) cvx_die "BENCH_CLUSTER=$BENCH_CLUSTER: use a cluster of its own (its database is recreated)" ;;
bench) CRON_DB=convexlite_bench ;;
*) CRON_DB=convexlite_$BENCH_CLUSTER ;;
esac
DB=${BENCH_DB:-$CRON_DB}
NAME=presence
OUT_DIR=${BENCH_OUT:-$CVX_ROOT/bench/out}
PGBENCH=$(cvx_pg_bindir)/pgbench
JOBS=$((CLIENTS < $(nproc) ? CLIENTS : $(nproc)))
T_START=$(date +%s)

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
mkdir -p "$OUT_DIR"
md=$workdir/out.md
txt=$workdir/out.txt
: >"$md"
: >"$txt"
kv() { printf '%s %s\n' "$1" "$2" >>"$txt"; }
kv_get() { sed -n "s/^$1 //p" "$txt"; }
q() { cvx_psql -d "$DB" -Atq -c "$1"; }

# ---------------------------------------------------------------------------
# The cluster and the database

bench_worker_database
cvx_psql -q -d "$DB" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
CREATE SCHEMA bench;
-- the sampler's rows (unlogged: its commits need no WAL flush)
CREATE UNLOGGED TABLE bench.waits (
    ts timestamptz, pid int, app text, backend_type text, state text,
    wait_event_type text, wait_event text, blockers int[], blocker_apps text, waiting_for text);
SQL

# Which notification path the writers take
bench_notify_path
kv notify_path "$NOTIFY_KIND"

PGVER=$(q "SHOW server_version")
AV=$(q "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings
        WHERE name IN ('autovacuum', 'autovacuum_naptime', 'autovacuum_vacuum_scale_factor',
                       'autovacuum_vacuum_threshold', 'autovacuum_vacuum_cost_delay',
                       'autovacuum_vacuum_insert_threshold')")
RELOPTS=$(q "SELECT array_to_string(reloptions, ', ') FROM pg_class WHERE oid = 'convex.presence'::regclass")
SYNC=$(q "SHOW synchronous_commit")
cvx_info "PostgreSQL $PGVER; synchronous_commit=$SYNC; $AV"
cvx_info "convex.presence: $RELOPTS"
cvx_info "notifications: $NOTIFY_PATH"

# ---------------------------------------------------------------------------
# Helpers

# stats: n_tup_upd n_tup_hot_upd n_dead_tup autovacuum_count autoanalyze_count
# (each call is a new session, so no statistics snapshot is cached from before)
stats() {
	q "SELECT n_tup_upd, n_tup_hot_upd, n_dead_tup, autovacuum_count, autoanalyze_count
	     FROM pg_stat_user_tables WHERE relid = 'convex.presence'::regclass" | tr '|' ' '
}
# wait_upd TARGET: until n_tup_upd >= TARGET (the backends have flushed), 15 s at most
wait_upd() {
	local upd _
	for _ in $(seq 150); do
		read -r upd _ < <(stats)
		[ "$upd" -ge "$1" ] && return 0
		sleep 0.1
	done
	cvx_warn "n_tup_upd is $upd, expected at least $1 (statistics not flushed?)"
}
# sizes: total main fsm vm toast indexes (bytes)
sizes() {
	q "SELECT pg_total_relation_size(c.oid), pg_relation_size(c.oid), pg_relation_size(c.oid, 'fsm'),
	          pg_relation_size(c.oid, 'vm'),
	          CASE WHEN c.reltoastrelid = 0 THEN 0 ELSE pg_total_relation_size(c.reltoastrelid) END,
	          pg_indexes_size(c.oid)
	     FROM pg_class c WHERE c.oid = 'convex.presence'::regclass" | tr '|' ' '
}
index_sizes() {
	q "SELECT string_agg(i.indexrelid::regclass::text || '=' || pg_relation_size(i.indexrelid), ' ' ORDER BY 1)
	     FROM pg_index i WHERE i.indrelid = 'convex.presence'::regclass"
}
kb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1024 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", 100 * a / b; else print "n/a" }'; }
# first_heartbeats PREFIX FROM TO SPLIT: the first heartbeat of sessions PREFIX<FROM..TO>, each
# its own transaction; room "room", or with SPLIT > 0 "lobby" up to SPLIT and "other" above
first_heartbeats() {
	local prefix=$1 from=$2 to=$3 sp=$4
	awk -v p="$prefix" -v a="$from" -v b="$to" -v sp="$sp" 'BEGIN {
		for (i = a; i <= b; i++) {
			room = (sp > 0 && i > sp) ? "other" : (sp > 0 ? "lobby" : "room")
			printf "SELECT convex_presence_update(%c{\"roomId\": \"%s\", \"data\": {\"cursor\": {\"x\": 1, \"y\": 2}}, \"sessionId\": \"%s%d\"}%c);\n", 39, room, p, i, 39
		}
	}' | cvx_psql -q -d "$DB" -o /dev/null
}

# ---------------------------------------------------------------------------
# 1 and 2: the storm

cvx_step "Storm: first heartbeats of 100 sessions, then $HEARTBEATS heartbeats ($CLIENTS clients, pgbench -M prepared)"
cat >"$workdir/heartbeat.sql" <<'SQL'
\set s random(1, 100)
SELECT convex_presence_update(('{"roomId": "room", "data": {"cursor": {"x": 1, "y": 2}}, "sessionId": "s' || :s || '"}')::jsonb);
SQL
first_heartbeats s 1 100 0
read -r upd0 hot0 _ < <(stats)
read -r total0 main0 fsm0 vm0 _ idx0 < <(sizes)
kv size_after_100_total_bytes "$total0"
kv size_after_100_heap_main_bytes "$main0"
kv size_after_100_indexes_bytes "$idx0"
kv size_after_100_index_detail "$(index_sizes)"
rows_md=("| first 100 (inserts) | — | — | $(kb "$main0") | $(kb "$fsm0")+$(kb "$vm0") | $(kb "$idx0") | $(kb "$total0") | — |")
printf '    %-10s %9s %8s %8s %9s %8s %9s %6s %4s\n' heartbeats tps "HOT%" "cum HOT%" "heap kB" "idx kB" "total kB" "dead" av
printf '    %-10s %9s %8s %8s %9s %8s %9s %6s %4s\n' 100 - - - "$(kb "$main0")" "$(kb "$idx0")" "$(kb "$total0")" - -

checkpoints=()
for c in 1000 10000 100000 1000000 10000000; do
	[ "$c" -lt "$HEARTBEATS" ] && checkpoints+=("$c")
done
checkpoints+=("$HEARTBEATS")
done_n=0 prev_upd=$upd0 prev_hot=$hot0 max_total=$total0 storm_s=0
for c in "${checkpoints[@]}"; do
	per_client=$(((c - done_n + CLIENTS - 1) / CLIENTS))
	n=$((per_client * CLIENTS))
	t0=$(date +%s.%N)
	out=$("$PGBENCH" -n -M prepared -c "$CLIENTS" -j "$JOBS" -t "$per_client" -f "$workdir/heartbeat.sql" "$DB" 2>&1) ||
		{ printf '%s\n' "$out" >&2; cvx_die "pgbench failed"; }
	t1=$(date +%s.%N)
	storm_s=$(awk -v a="$storm_s" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f", a + t1 - t0 }')
	tps=$(printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
	done_n=$((done_n + n))
	wait_upd $((upd0 + done_n))
	read -r upd hot dead avc _ < <(stats)
	read -r total main fsm vm _ idx < <(sizes)
	[ "$total" -gt "$max_total" ] && max_total=$total
	stage_hot=$(pct $((hot - prev_hot)) $((upd - prev_upd)))
	cum_hot=$(pct $((hot - hot0)) $((upd - upd0)))
	prev_upd=$upd prev_hot=$hot
	printf '    %-10s %9.0f %8s %8s %9s %8s %9s %6s %4s\n' "$done_n" "$tps" "$stage_hot" "$cum_hot" \
		"$(kb "$main")" "$(kb "$idx")" "$(kb "$total")" "$dead" "$avc"
	rows_md+=("| $done_n | $(printf '%.0f' "$tps") | $stage_hot% / $cum_hot% | $(kb "$main") | $(kb "$fsm")+$(kb "$vm") | $(kb "$idx") | $(kb "$total") | $avc |")
	kv "storm_${done_n}_tps" "$tps"
	kv "storm_${done_n}_hot_pct_stage" "$stage_hot"
	kv "storm_${done_n}_hot_pct_cumulative" "$cum_hot"
	kv "storm_${done_n}_total_bytes" "$total"
	kv "storm_${done_n}_heap_main_bytes" "$main"
	kv "storm_${done_n}_indexes_bytes" "$idx"
	kv "storm_${done_n}_autovacuum_count" "$avc"
done
updates=$((upd - upd0))
hot_updates=$((hot - hot0))
hot_pct=$(pct "$hot_updates" "$updates")
size_ratio=$(awk -v a="$total" -v b="$total0" 'BEGIN { printf "%.2f", a / b }')
hot_ok=$(awk -v p="$hot_pct" 'BEGIN { print (p >= 95) ? "met" : "missed" }')
size_ok=$(awk -v a="$total" -v b="$total0" 'BEGIN { print (a <= 2 * b) ? "met" : "missed" }')
kv heartbeats "$done_n"
kv storm_seconds "$storm_s"
kv hot_updates "$hot_updates"
kv updates "$updates"
kv hot_pct "$hot_pct"
kv hot_target "met_if_>=95: $hot_ok"
kv size_after_storm_total_bytes "$total"
kv size_after_storm_heap_main_bytes "$main"
kv size_after_storm_fsm_vm_bytes "$((fsm + vm))"
kv size_after_storm_indexes_bytes "$idx"
kv size_after_storm_index_detail "$(index_sizes)"
kv size_max_total_bytes_at_checkpoints "$max_total"
kv size_ratio "$size_ratio"
kv size_target "met_if_<=2: $size_ok"
kv storm_autovacuum_count "$avc"

# ---------------------------------------------------------------------------
# 3: cleanup of STALE stale rows under live heartbeats

cat >"$workdir/live.sql" <<'SQL'
\set s random(1, 100)
SELECT convex_presence_update(('{"roomId": "' || CASE WHEN :s <= 50 THEN 'lobby' ELSE 'other' END || '", "data": {"cursor": {"x": 1, "y": 2}}, "sessionId": "L' || :s || '"}')::jsonb);
SQL
cat >"$workdir/sampler.sql" <<'SQL'
\sleep 10 ms
INSERT INTO bench.waits
SELECT clock_timestamp(), a.pid, a.application_name, a.backend_type, a.state, a.wait_event_type, a.wait_event,
       b.blockers,
       (SELECT string_agg(DISTINCT coalesce(nullif(x.application_name, ''), x.backend_type), ',')
          FROM pg_stat_activity x WHERE x.pid = ANY (b.blockers)),
       (SELECT string_agg(l.locktype || ' ' || l.mode || coalesce(' db=' || l.database, '')
                          || coalesce(' rel=' || l.relation::regclass::text, '')
                          || coalesce(' class=' || l.classid::regclass::text, '')
                          || coalesce(' obj=' || l.objid, '')
                          || coalesce(' xid=' || l.transactionid, ''), '; ')
          FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted)
  FROM pg_stat_activity a
  LEFT JOIN LATERAL (SELECT CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END AS blockers) b ON true
 WHERE a.pid <> pg_backend_pid()
   AND (a.application_name IN ('hb', 'cleanup')
        OR a.backend_type IN ('convexlite notify relay', 'autovacuum worker', 'checkpointer'));
SQL

# latency_stats FILTER: "count p50 p99 max over50" in ms of the logged heartbeats
# that FILTER (an awk condition on s, e: start and end in microseconds) selects
latency_stats() {
	cat "$workdir"/hblog.* | awk -v t0="$c0" -v t1="$c1" -v r0="$run0" "{
		e = \$5 * 1000000 + \$6; s = e - \$3
		if ($1) print \$3 / 1000
	}" | sort -n | awk '{ v[NR] = $1; if ($1 > 50) over++ }
		END {
			if (NR == 0) { print "0 - - - 0"; exit }
			p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]
			printf "%d %.2f %.2f %.2f %d\n", NR, p50, p99, v[NR], over + 0
		}'
}

# slowest_in FILTER: the slowest heartbeat FILTER selects: latency (ms), and its
# start and end (microseconds since the epoch)
slowest_in() {
	cat "$workdir"/hblog.* | awk -v t0="$c0" -v t1="$c1" "{ e = \$5 * 1000000 + \$6; s = e - \$3
		if (($1) && \$3 > m) { m = \$3; ss = s; ee = e } }
		END { if (m) printf \"%.2f %.0f %.0f\", m / 1000, ss, ee; else print \"- 0 0\" }"
}
# describe_slowest FILTER: that heartbeat in words, with what the sampler saw meanwhile
describe_slowest() {
	local m ss ee w
	read -r m ss ee < <(slowest_in "$1")
	[ "$m" = - ] && { echo none; return; }
	w=$(q "SELECT coalesce(string_agg(format('%s %s: %s', app, w, n), '; ' ORDER BY app, n DESC), 'no samples')
	  FROM (SELECT coalesce(nullif(app, ''), backend_type) AS app,
	               CASE WHEN state = 'active' OR state IS NULL
	                    THEN coalesce(wait_event_type || ':' || wait_event, 'CPU') ELSE state END AS w, count(*) AS n
	          FROM bench.waits
	         WHERE ts >= to_timestamp($ss / 1e6) AND ts <= to_timestamp($ee / 1e6)
	           AND (app IN ('hb', 'cleanup') OR wait_event_type IS DISTINCT FROM 'Activity')
	         GROUP BY 1, 2) x")
	awk -v m="$m" -v ss="$ss" -v ee="$ee" -v t0="$c0" -v t1="$c1" -v w="$w" 'BEGIN {
		printf "%s ms, from %+.0f to %+.0f ms after the cleanup started (it ended at %+.0f ms); sampled meanwhile: %s",
			m, (ss - t0) / 1000, (ee - t0) / 1000, (t1 - t0) / 1000, w }'
}

# trial LABEL CLEANUP-SQL HEARTBEAT-PGOPTIONS: one cleanup under live heartbeats
trial() {
	local label=$1 setting=$2 hb_options=$3 out res
	cvx_step "Cleanup trial '$label': $STALE stale rows, 100 live sessions, $CLIENTS heartbeat clients ${TRIAL_S}s"
	q "TRUNCATE convex.presence; TRUNCATE bench.waits"
	# the stale rows (lastSeen an hour ago), loaded directly as superuser
	q "INSERT INTO convex.presence (_id, _creation_time, room_id, user_id, session_id, data, last_seen)
	   SELECT 'stale' || i, t - 3600000 - i, 'lobby', NULL, 'stale-' || i, '{\"cursor\": {\"x\": 1, \"y\": 2}}', t - 3600000
	     FROM generate_series(1, $STALE) AS i,
	          LATERAL (SELECT extract(epoch FROM now()) * 1000 AS t) AS now_ms"
	first_heartbeats L 1 100 50
	q "VACUUM ANALYZE convex.presence" 2>/dev/null
	q "CHECKPOINT"
	rm -f "$workdir"/hblog.*
	PGAPPNAME=sampler "$PGBENCH" -n -c 1 -T "$TRIAL_S" -f "$workdir/sampler.sql" "$DB" >"$workdir/sampler.out" 2>&1 &
	local sampler_pid=$!
	run0=$(date +%s%6N)
	(cd "$workdir" && PGAPPNAME=hb PGOPTIONS="$hb_options" "$PGBENCH" -n -M prepared -c "$CLIENTS" -j "$JOBS" -T "$TRIAL_S" \
		-l --log-prefix=hblog -f "$workdir/live.sql" "$DB" >"$workdir/hb.out" 2>&1) &
	local hb_pid=$!
	sleep "$BASELINE_S"
	# t0, the cleanup (its own transaction: \timing includes the commit), t1; the
	# backend's utime+stime (ticks) and the machine's /proc/stat cpu line around it
	res=$(PGAPPNAME=cleanup cvx_psql -d "$DB" -At <<SQL
$setting
SELECT 'cpu0 ' || (string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' '))[12]::bigint
             + (string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' '))[13]::bigint;
SELECT 'sys0 ' || split_part(pg_read_file('/proc/stat'), E'\n', 1);
SELECT 't0 ' || (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
\timing on
SELECT 'removed ' || convex_presence_cleanup();
\timing off
SELECT 't1 ' || (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
SELECT 'sys1 ' || split_part(pg_read_file('/proc/stat'), E'\n', 1);
SELECT 'cpu1 ' || (string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' '))[12]::bigint
             + (string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' '))[13]::bigint;
SQL
	)
	wait "$hb_pid" || { cat "$workdir/hb.out" >&2; cvx_die "heartbeat pgbench failed"; }
	wait "$sampler_pid" || { cat "$workdir/sampler.out" >&2; cvx_die "sampler pgbench failed"; }
	c0=$(printf '%s\n' "$res" | sed -n 's/^t0 //p')
	c1=$(printf '%s\n' "$res" | sed -n 's/^t1 //p')
	removed=$(printf '%s\n' "$res" | sed -n 's/^removed //p')
	cleanup_ms=$(printf '%s\n' "$res" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
	local cpu0 cpu1 hz
	cpu0=$(printf '%s\n' "$res" | sed -n 's/^cpu0 //p')
	cpu1=$(printf '%s\n' "$res" | sed -n 's/^cpu1 //p')
	hz=$(getconf CLK_TCK)
	cleanup_cpu_ms=$(((cpu1 - cpu0) * 1000 / hz))
	# machine CPU busy share between t0 and t1 (all processes, both cores)
	machine_busy=$(printf '%s\n' "$res" | awk '/^sys[01] /{ for (i = 3; i <= NF; i++) { t[$1] += $i }; idle[$1] = $6 + $7 }
		END { dt = t["sys1"] - t["sys0"]; di = idle["sys1"] - idle["sys0"];
		      if (dt > 0) printf "%.0f", 100 * (dt - di) / dt; else print "n/a" }')
	hb_tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$workdir/hb.out" | head -1)
	[ "$(cat "$workdir"/hblog.* | awk -v t1="$c1" '$5 * 1000000 + $6 > t1' | head -1)" ] ||
		cvx_warn "the heartbeats ended before the cleanup did: raise BENCH_TRIAL_S"
	read -r b_n b_p50 b_p99 b_max b_over < <(latency_stats "s >= r0 + 1000000 && e <= t0")
	read -r w_n w_p50 w_p99 w_max w_over < <(latency_stats "s < t1 && e > t0")
	read -r a_n a_p50 a_p99 a_max a_over < <(latency_stats "s >= t1")
	slowest=$(describe_slowest "s < t1 && e > t0")
	slowest_after=$(describe_slowest "s >= t1")
	cvx_info "cleanup: removed $removed rows in $cleanup_ms ms (CPU $cleanup_cpu_ms ms; machine busy ${machine_busy}%)"
	cvx_info "heartbeats ($hb_tps tps): baseline n=$b_n p50=$b_p50 p99=$b_p99 max=$b_max ms;" \
		"during cleanup n=$w_n p50=$w_p50 p99=$w_p99 max=$w_max ms ($w_over over 50 ms); after max=$a_max ms"
	cvx_info "slowest during cleanup: $slowest"
	cvx_info "slowest after cleanup: $slowest_after"
	# what the sampler saw while the cleanup ran, and in the baseline
	waits_window=$(q "SELECT coalesce(string_agg(format('%s %s: %s', app, w, n), '; ' ORDER BY app, n DESC), 'none')
	  FROM (SELECT coalesce(nullif(app, ''), backend_type) AS app,
	               CASE WHEN state = 'active' OR state IS NULL
	                    THEN coalesce(wait_event_type || ':' || wait_event, 'CPU') ELSE state END AS w, count(*) AS n
	          FROM bench.waits
	         WHERE ts >= to_timestamp($c0 / 1e6) AND ts <= to_timestamp($c1 / 1e6)
	           AND (app IN ('hb', 'cleanup') OR wait_event_type IS DISTINCT FROM 'Activity')
	         GROUP BY 1, 2) x")
	waits_base=$(q "SELECT coalesce(string_agg(format('%s: %s', w, n), '; ' ORDER BY n DESC), 'none')
	  FROM (SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, 'CPU') ELSE state END AS w,
	               count(*) AS n
	          FROM bench.waits
	         WHERE app = 'hb' AND ts >= to_timestamp($run0 / 1e6 + 1) AND ts < to_timestamp($c0 / 1e6)
	         GROUP BY 1) x")
	lockwaits=$(q "SELECT coalesce(string_agg(format('%s waiting for [%s] held by %s: %s samples', app, waiting_for, blocker_apps, n), '; '), 'none')
	  FROM (SELECT app, waiting_for, blocker_apps, count(*) AS n FROM bench.waits
	         WHERE wait_event_type = 'Lock' AND ts >= to_timestamp($c0 / 1e6) AND ts <= to_timestamp($c1 / 1e6)
	         GROUP BY 1, 2, 3 ORDER BY 4 DESC) x")
	nsamples=$(q "SELECT count(DISTINCT ts) FILTER (WHERE app = 'cleanup'), count(DISTINCT ts)
	  FROM bench.waits WHERE ts >= to_timestamp($c0 / 1e6) AND ts <= to_timestamp($c1 / 1e6)" | tr '|' ' ')
	cvx_info "samples in the cleanup window: ${nsamples% *} (every ~10 ms)"
	cvx_info "wait events in the cleanup window (samples): $waits_window"
	cvx_info "heartbeat backends in the baseline (samples): $waits_base"
	cvx_info "lock waits in the cleanup window: $lockwaits"
	local k=cleanup_$label
	kv "${k}_removed" "$removed"
	kv "${k}_ms" "$cleanup_ms"
	kv "${k}_cpu_ms" "$cleanup_cpu_ms"
	kv "${k}_machine_busy_pct" "$machine_busy"
	kv "${k}_heartbeat_tps" "$hb_tps"
	kv "${k}_baseline_n" "$b_n"
	kv "${k}_baseline_p50_ms" "$b_p50"
	kv "${k}_baseline_p99_ms" "$b_p99"
	kv "${k}_baseline_max_ms" "$b_max"
	kv "${k}_baseline_over_50ms" "$b_over"
	kv "${k}_window_n" "$w_n"
	kv "${k}_window_p50_ms" "$w_p50"
	kv "${k}_window_p99_ms" "$w_p99"
	kv "${k}_window_max_ms" "$w_max"
	kv "${k}_window_over_50ms" "$w_over"
	kv "${k}_after_n" "$a_n"
	kv "${k}_after_p50_ms" "$a_p50"
	kv "${k}_after_p99_ms" "$a_p99"
	kv "${k}_after_max_ms" "$a_max"
	kv "${k}_after_over_50ms" "$a_over"
	kv "${k}_samples" "${nsamples% *}"
	kv "${k}_waits" "$waits_window"
	kv "${k}_lock_waits" "$lockwaits"
	trial_rows+=("| $label | $removed | $cleanup_ms ms (CPU $cleanup_cpu_ms ms) | $b_n · $b_p50 / $b_p99 / $b_max | $w_n · $w_p50 / $w_p99 / **$w_max** | $w_over |")
	trial_notes+=("- **$label**: slowest heartbeat in the window: $slowest; after it: $slowest_after. Sampled wait events while the cleanup ran: $waits_window. Lock waits: $lockwaits. Heartbeat backends in the baseline: $waits_base. Machine CPU busy during the cleanup: ${machine_busy}%.")
	window_max[$label]=$w_max
}

trial_rows=()
trial_notes=()
declare -A window_max
trial as-installed "" ""
trial notify-off "SET convexlite.notify = off;" ""
if [ "$(kv_get notify_path)" = relay ]; then
	trial relay-off "" "-c convexlite.notify_relay=off"
fi
as_installed_max=${window_max[as-installed]}
cleanup_ok=$(awk -v m="$as_installed_max" 'BEGIN { print (m != "-" && m <= 50) ? "met" : "missed" }')
kv cleanup_target "met_if_max_<=50ms: $cleanup_ok"

# ---------------------------------------------------------------------------
# The fragment

# shellcheck disable=SC2016 # backquotes are markdown
{
	printf 'PostgreSQL %s, %s cores, synchronous_commit=%s; %d pgbench clients (-M prepared), one transaction per call. ' \
		"$PGVER" "$(nproc)" "$SYNC" "$CLIENTS"
	printf 'Autovacuum as the cluster has it (%s); convex.presence as installed (%s). Notifications: %s. ' "$AV" "$RELOPTS" "$NOTIFY_PATH"
	printf 'Run %s, %d s in all.\n\n' "$(date -u +%Y-%m-%dT%H:%MZ)" $(($(date +%s) - T_START))
	printf '| Target | Measured | Goal | |\n|---|---|---|---|\n'
	printf '| heartbeats that are HOT updates | %s%% (%d of %d storm heartbeats) | ≥ 95%% | %s |\n' "$hot_pct" "$hot_updates" "$updates" "$hot_ok"
	printf '| size after %d heartbeats / after the first 100 | %s kB / %s kB = %s× (heap %s→%s kB, indexes %s→%s kB) | ≤ 2× | %s |\n' \
		"$done_n" "$(kb "$total")" "$(kb "$total0")" "$size_ratio" "$(kb "$main0")" "$(kb "$main")" "$(kb "$idx0")" "$(kb "$idx")" "$size_ok"
	printf '| max heartbeat latency while presence.cleanup removes %d stale rows | %s ms (p99 %s ms; baseline max %s ms) | ≤ 50 ms | %s |\n\n' \
		"$removed" "$as_installed_max" "$(sed -n 's/^cleanup_as-installed_window_p99_ms //p' "$txt")" \
		"$(sed -n 's/^cleanup_as-installed_baseline_max_ms //p' "$txt")" "$cleanup_ok"
	printf 'The storm, %d heartbeats over 100 sessions in %s s (sizes in kB after each stage; HOT %% of the stage / cumulative; FSM+VM forks; autovacuum runs so far):\n\n' "$done_n" "$storm_s"
	printf '| heartbeats | tps | HOT | heap | FSM+VM | indexes | total | autovacuums |\n|---|---|---|---|---|---|---|---|\n'
	printf '%s\n' "${rows_md[@]}"
	printf '\npresence.cleanup under live heartbeats (100 sessions in two rooms, %d clients; latency n · p50 / p99 / max in ms; window = heartbeats overlapping the cleanup; notify-off and relay-off are diagnostics, not the verdict: convexlite.notify = off in the session of the cleanup only; convexlite.notify_relay = off in the sessions of the heartbeats, so each heartbeat sends its own NOTIFY under the database-wide notify lock of PostgreSQL):\n\n' "$CLIENTS"
	printf '| trial | rows removed | cleanup took | baseline heartbeats | during cleanup | > 50 ms |\n|---|---|---|---|---|---|\n'
	printf '%s\n' "${trial_rows[@]}"
	printf '\n'
	printf '%s\n' "${trial_notes[@]}"
} >"$md"

cp "$md" "$OUT_DIR/$NAME.md"
cp "$txt" "$OUT_DIR/$NAME.txt"
cvx_step "$OUT_DIR/$NAME.md"
cat "$md"
cvx_step "$OUT_DIR/$NAME.txt"
cat "$txt"
