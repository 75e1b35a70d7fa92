#!/usr/bin/env bash
# bench/run.sh: the benchmark suite, what `make bench` runs.  Measures every
# seed mutation, convex_mutation dispatch and transferFunds against two peers
# in one run on a throwaway cluster (bench, port 54333):
#
#   the floor      the plain statement writing the same row, no validation
#   PL/pgSQL       the same mutation with the same checks (bench/peers.sql)
#
#   over the wire  pgbench -M prepared, one call a transaction, at each of
#                  BENCH_CLIENTS clients, synchronous_commit on and off;
#                  convexlite also with convexlite.notify = off.  At each
#                  point the variants run back to back, in an order that
#                  rotates, so that the machine's noise hits them alike.
#   batch          BENCH_BATCH calls in one statement (args built beforehand),
#                  BENCH_REPEATS times: per-call cost without a commit per call.
#
# Workloads: send remove heartbeat leave profile dispatch transfer cleanup
# (bench/wire/<workload>.<peer>.sql), then uploads (bench/storage.sh),
# scheduler (bench/scheduler.sh), presence and memory (bench/presence.sh,
# bench/memory.sh, when they exist), and contended mutations against
# hand-ordered locks (bench/contention.sh), this build against the previous
# release on the uncontended paths (bench/versions.sh), and the seed app's
# room queries messages.list and presence.list against their floor and
# PL/pgSQL peer (bench/reads.sh; alone: BENCH_ONLY=reads), and the query
# builder's reads (bench/builder.sh), and the cost of a sharding front's hop
# (bench/sharding.sh, 1 front + 3 nodes of its own).  Raw results go to bench/out/ (emptied
# first); bench/report.sh then writes bench/RESULTS.md and bench/throughput.png
# from bench/out alone.
#
# Environment:
#   BENCH_SECONDS   seconds per pgbench run (default 2: about 33 minutes in all on
#                   a 2-core machine, presence.sh and memory.sh included; 3: about 39)
#   BENCH_CLIENTS   client counts (default "1 2 4 8 16")
#   BENCH_BATCH     calls per batch (default 100000)
#   BENCH_REPEATS   runs of each batch (default 3; medians and min-max)
#   BENCH_WIRE_REPEATS  pgbench runs per point (default 1)
#   BENCH_SYNC      synchronous_commit values (default "on off")
#   BENCH_NOTIFY_OFF  1 (default): also run convexlite with convexlite.notify = off
#   BENCH_ONLY      a subset of the workloads above, e.g. "send transfer uploads"
#   BENCH_MODES     "wire batch" (default both)
#   BENCH_STALE     stale presence rows for cleanup (default 100000)
#   BENCH_DEADLOCK_TIMEOUT  deadlock_timeout of the transfer runs (default 50ms)
#   BENCH_STORAGE_RUNS, BENCH_SCHEDULER_RUNS  runs of those scripts (default 3)
#   BENCH_SCHEDULER_JOBS  jobs per scheduler drain (default 12000)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/../scripts/lib.sh"

BENCH_SECONDS=${BENCH_SECONDS:-2}
BENCH_CLIENTS=${BENCH_CLIENTS:-1 2 4 8 16}
BENCH_BATCH=${BENCH_BATCH:-100000}
BENCH_REPEATS=${BENCH_REPEATS:-3}
BENCH_WIRE_REPEATS=${BENCH_WIRE_REPEATS:-1}
BENCH_SYNC=${BENCH_SYNC:-on off}
BENCH_NOTIFY_OFF=${BENCH_NOTIFY_OFF:-1}
BENCH_ONLY=${BENCH_ONLY:-}
BENCH_MODES=${BENCH_MODES:-wire batch}
BENCH_STALE=${BENCH_STALE:-100000}
BENCH_STORAGE_RUNS=${BENCH_STORAGE_RUNS:-3}
BENCH_SCHEDULER_RUNS=${BENCH_SCHEDULER_RUNS:-3}
BENCH_SCHEDULER_JOBS=${BENCH_SCHEDULER_JOBS:-12000}
# rows the deleting workloads may use up per second of a pgbench run
BENCH_ROWS_PER_SECOND=${BENCH_ROWS_PER_SECOND:-60000}
# deadlock_timeout of the transfer runs (every variant): with PostgreSQL's 1s, each
# of the few opposite-order deadlocks stalls a short run and its waiters for a second
BENCH_DEADLOCK_TIMEOUT=${BENCH_DEADLOCK_TIMEOUT:-50ms}

for v in BENCH_SECONDS BENCH_BATCH BENCH_REPEATS BENCH_WIRE_REPEATS BENCH_STALE BENCH_ROWS_PER_SECOND; do
	case ${!v} in '' | *[!0-9]* | 0) cvx_die "$v must be a positive integer, not '${!v}'" ;; esac
done
for c in $BENCH_CLIENTS; do
	case $c in '' | *[!0-9]* | 0) cvx_die "BENCH_CLIENTS must list positive integers, not '$c'" ;; esac
done

ALL_WORKLOADS="send remove heartbeat leave profile dispatch transfer cleanup uploads scheduler presence memory contention versions reads builder snapshot"
ONLY=" ${BENCH_ONLY//,/ } "
for w in $ONLY; do
	case " $ALL_WORKLOADS " in *" $w "*) ;; *) cvx_die "BENCH_ONLY: unknown workload '$w' (known: $ALL_WORKLOADS)" ;; esac
done
want() { [ -z "${BENCH_ONLY// /}" ] || [[ $ONLY == *" $1 "* ]]; }
mode() { [[ " $BENCH_MODES " == *" $1 "* ]]; }

CLUSTER=bench
PORT=54333
OUT=${BENCH_OUT:-$CVX_ROOT/bench/out}
WIRE=$HERE/wire
MAX_TRIES=10
export BENCH_OUT=$OUT

# ---------------------------------------------------------------------------
# Dependencies: the project's, and gnuplot for the chart
cvx_install_deps build
if ! command -v gnuplot >/dev/null 2>&1; then
	CVX_DEPS_BUILD=(gnuplot-nox)
	cvx_install_deps build
fi

# ---------------------------------------------------------------------------
# The cluster, restarted so that it runs the installed convexlite.so
STARTED=$(date +%s)
if cvx_cluster_running "$CLUSTER"; then
	cvx_cluster_env "$CLUSTER" "$PORT"
	cvx_step "Restarting cluster '$CLUSTER' so that it loads the installed convexlite"
	cvx_cluster_restart "$CLUSTER"
fi
cvx_cluster_start "$CLUSTER" "$PORT" "$(cvx_default_cron_db "$CLUSTER")"
PGBENCH="$(cvx_pg_bindir)/pgbench"

# The suite runs in the database the scheduler worker and the NOTIFY relay
# serve (convexlite.database_name): convexlite's writes are announced as in a
# deployment.  It is dropped and created again (the cluster restarts), as
# bench/scheduler.sh does later.
DB=$(cvx_psql -qtA -d postgres -c "SELECT current_setting('convexlite.database_name', true)")
case $DB in
postgres | template0 | template1 | '')
	cvx_die "the worker database of cluster $CLUSTER is '$DB', which the suite would drop: use the bench cluster of scripts/lib.sh" ;;
esac

rm -rf "$OUT"
mkdir -p "$OUT/logs"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

q() { cvx_psql -qtA -d "$DB" -c "$1"; }

# ---------------------------------------------------------------------------
# What the run ran on (report.sh reads it back)
lib_installed="$("$PG_CONFIG" --pkglibdir)/convexlite.so"
sha() { if [ -f "$1" ]; then sha256sum "$1" | cut -c1-12; else echo none; fi; }
dirty=$(git -C "$CVX_ROOT" status --porcelain --untracked-files=no 2>/dev/null | wc -l)
{
	printf 'commit=%s\n' "$(git -C "$CVX_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	printf 'commit_subject=%s\n' "$(git -C "$CVX_ROOT" log -1 --format=%s 2>/dev/null | tr -d '\n' || true)"
	printf 'dirty_files=%s\n' "$dirty"
	printf 'dirty_list=%s\n' "$(git -C "$CVX_ROOT" status --porcelain --untracked-files=no 2>/dev/null | awk '{ print $2 }' | paste -sd ' ' -)"
	printf 'date=%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf 'nproc=%s\n' "$(nproc)"
	printf 'cpu=%s\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	printf 'mem_gib=%s\n' "$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)"
	printf 'kernel=%s\n' "$(uname -r)"
	printf 'load_before=%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf 'pg_version=%s\n' "$(cvx_psql -qtA -d postgres -c 'SHOW server_version')"
	printf 'pg_settings=%s\n' "$(cvx_psql -qtA -d postgres -c "SELECT string_agg(name || ' = ' || setting || coalesce(unit, ''), ', ' ORDER BY name)
		FROM pg_settings WHERE name IN ('shared_buffers', 'synchronous_commit', 'fsync', 'wal_sync_method', 'max_wal_size',
		'deadlock_timeout', 'max_connections', 'wal_buffers')")"
	printf 'lib_installed=%s\n' "$(sha "$lib_installed")"
	printf 'lib_built=%s\n' "$(sha "$CVX_ROOT/convexlite.so")"
	printf 'seconds=%s\nclients=%s\nbatch=%s\nrepeats=%s\nwire_repeats=%s\nsync=%s\nnotify_off=%s\nstale=%s\n' \
		"$BENCH_SECONDS" "$BENCH_CLIENTS" "$BENCH_BATCH" "$BENCH_REPEATS" "$BENCH_WIRE_REPEATS" "$BENCH_SYNC" \
		"$BENCH_NOTIFY_OFF" "$BENCH_STALE"
	printf 'deadlock_timeout=%s\n' "$BENCH_DEADLOCK_TIMEOUT"
	printf 'only=%s\nmodes=%s\n' "${BENCH_ONLY:-}" "$BENCH_MODES"
} >"$OUT/meta.env"
printf 'workload\tvariant\tclients\tsync\ttps\tlatency_ms\tfailed\tretried\tnote\n' >"$OUT/wire.tsv"
printf 'workload\tvariant\trun\tms\tcalls\n' >"$OUT/batch.tsv"
printf 'variant\tclients\tsync\tcleanup_ms\tdeleted\thb_tps\thb_tps_during\thb_max_ms_during\thb_latency_ms\tnote\n' >"$OUT/cleanup.tsv"

# ---------------------------------------------------------------------------
# The database: convexlite's side, the peers, the fixtures
SUITE="send remove heartbeat leave profile dispatch transfer cleanup"
suite_wanted=
for w in $SUITE; do want "$w" && suite_wanted=1; done
if [ -n "$suite_wanted" ]; then
	cvx_step "Database $DB: convexlite, the peers (bench/peers.sql), fixtures for batches of $BENCH_BATCH"
	cvx_recreate_db "$CLUSTER" "$DB"
	cvx_psql -qtA -d "$DB" -f "$HERE/setup.sql" >/dev/null
	cvx_psql -q -d "$DB" -f "$HERE/peers.sql"
	cvx_psql -q -d "$DB" -v batch="$BENCH_BATCH" -f "$HERE/fixtures.sql"
	# the no-op handler (batch only): what dispatch alone costs, with sendMessage's validator
	cvx_psql -qtA -d "$DB" >/dev/null <<'SQL'
CREATE FUNCTION bench.noop(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$ BEGIN RETURN 'null'; END $$;
SELECT convex_define_mutation('bench:noop', 'bench.noop(jsonb)',
  (SELECT args FROM plain._validators WHERE path = 'channels:sendMessage'), '{"type": "null"}');
INSERT INTO plain._functions (path, handler, check_args, returns)
VALUES ('bench:noop', 'bench.noop(jsonb)', 'plain.check_channels_send_message(jsonb)', '{"type": "null"}');
SQL
	# the NOTIFY relay (when this build has one) sends convexlite's notifications from this database
	relay=no
	for _ in $(seq 50); do
		if [ "$(cvx_psql -qtA -d postgres -c "SELECT count(*) FROM pg_stat_activity
			WHERE backend_type = 'convexlite notify relay' AND datname = '$DB'")" != 0 ]; then
			relay=yes
			break
		fi
		sleep 0.2
	done
	printf 'database=%s\nnotify_relay=%s (convexlite.notify_relay = %s)\n' "$DB" "$relay" \
		"$(cvx_psql -qtA -d "$DB" -c "SELECT coalesce(current_setting('convexlite.notify_relay', true), 'absent')")" >>"$OUT/meta.env"
	cvx_info "NOTIFY relay running in $DB: $relay"
fi

# ---------------------------------------------------------------------------
# Over the wire

# side VARIANT: whose tables a variant writes
side() { case $1 in convexlite*) echo convexlite ;; *) echo plain ;; esac; }
# variants in the order of round R (rotated, so that none always runs first)
variants() {
	local r=$1 list=(convexlite floor plpgsql) n
	[ "$BENCH_NOTIFY_OFF" = 1 ] && list+=(convexlite_nonotify)
	n=${#list[@]}
	for ((k = 0; k < n; k++)); do printf '%s ' "${list[$(((k + r) % n))]}"; done
}
pg_options() { # VARIANT SYNC [WORKLOAD]
	local o="-c synchronous_commit=$2"
	[ "$1" = convexlite_nonotify ] && o+=" -c convexlite.notify=off"
	[ "${3:-}" = transfer ] && o+=" -c deadlock_timeout=$BENCH_DEADLOCK_TIMEOUT"
	printf '%s' "$o"
}
# parse_pgbench FILE: "tps latency failed retried"
parse_pgbench() {
	awk '/^tps = / { tps = $3 } /^latency average = / { lat = $4 }
		/^number of failed transactions: / { failed = $5 } /^number of transactions retried: / { retried = $5 }
		END { printf "%s %s %s %s", tps == "" ? "NaN" : tps, lat == "" ? "NaN" : lat, failed == "" ? 0 : failed, retried == "" ? 0 : retried }' "$1"
}

# prepare_wire WORKLOAD VARIANT: put back what the last run used up
prepare_wire() {
	local rows=$((BENCH_ROWS_PER_SECOND * BENCH_SECONDS))
	case $1 in
	remove) q "SELECT bench.refill_remove('$(side "$2")', $rows)" >/dev/null
		q "ANALYZE bench.remove_cvx, bench.remove_plain, convex.messages, plain.messages" >/dev/null ;;
	leave) q "SELECT bench.refill_leave('$(side "$2")', $rows)" >/dev/null
		q "ANALYZE convex.presence, plain.presence" >/dev/null ;;
	esac
}
# used_up WORKLOAD: how many rows the last run took, when it takes them from a sequence
used_up() {
	case $1 in
	remove) q "SELECT last_value FROM bench.remove_seq" ;;
	leave) q "SELECT last_value FROM bench.leave_seq" ;;
	esac
}

wire_run() { # WORKLOAD VARIANT CLIENTS SYNC
	local w=$1 v=$2 c=$3 s=$4 log note=
	local script="$WIRE/$w.${v%_nonotify}.sql"
	log="$OUT/logs/wire-$w-$v-c$c-$s.log"
	prepare_wire "$w" "$v"
	if ! PGOPTIONS=$(pg_options "$v" "$s" "$w") "$PGBENCH" -n -M prepared -c "$c" -j "$c" -T "$BENCH_SECONDS" \
		--max-tries="$MAX_TRIES" -f "$script" "$DB" >"$log" 2>&1; then
		note=aborted
		cvx_warn "$w $v, $c clients, sync $s: pgbench failed: $(grep -m1 -i 'error' "$log" || tail -n 1 "$log")"
	fi
	read -r tps lat failed retried <<<"$(parse_pgbench "$log")"
	case $w in remove | leave)
		local used
		used=$(used_up "$w")
		if [ "$used" -ge $((BENCH_ROWS_PER_SECOND * BENCH_SECONDS)) ]; then
			note="${note:+$note,}ran-out-of-rows"
			cvx_warn "$w $v: the run used up all $((BENCH_ROWS_PER_SECOND * BENCH_SECONDS)) rows: raise BENCH_ROWS_PER_SECOND"
		fi ;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$v" "$c" "$s" "$tps" "$lat" "$failed" "$retried" "$note" >>"$OUT/wire.tsv"
	printf '    %-10s %-20s %2s clients  sync %-3s  %9.0f tps  %7.3f ms%s\n' "$w" "$v" "$c" "$s" "$tps" "$lat" \
		"$( [ "$failed$retried" = 00 ] || printf '  failed %s, retried %s' "$failed" "$retried")${note:+  ($note)}"
}

# cleanup_run VARIANT CLIENTS SYNC: BENCH_STALE stale rows, the heartbeat storm
# running (pgbench, logging each transaction), and one cleanup a third of the way in
cleanup_run() {
	local v=$1 c=$2 s=$3 sd hb_s delay log out t0 t1 left note=
	sd=$(side "$v")
	hb_s=$((BENCH_SECONDS + 2))
	delay=$(awk -v s="$BENCH_SECONDS" 'BEGIN { printf "%.1f", s / 3 + 0.3 }')
	log="$OUT/logs/cleanup-$v-c$c-$s.log"
	q "SELECT bench.refill_stale('$sd', $BENCH_STALE)" >/dev/null
	if [ "$sd" = convexlite ]; then q "VACUUM ANALYZE convex.presence" >/dev/null; else q "VACUUM ANALYZE plain.presence" >/dev/null; fi
	rm -f "$TMP"/hb.*
	PGOPTIONS=$(pg_options "$v" "$s") "$PGBENCH" -n -M prepared -c "$c" -j "$c" -T "$hb_s" \
		-l --log-prefix="$TMP/hb" -f "$WIRE/heartbeat.${v%_nonotify}.sql" "$DB" >"$log" 2>&1 &
	local pid=$!
	sleep "$delay"
	out=$(PGOPTIONS=$(pg_options "$v" "$s") cvx_psql -qtA -d "$DB" -c "SELECT extract(epoch FROM clock_timestamp())" \
		-f "$WIRE/cleanup.${v%_nonotify}.sql" -c "SELECT extract(epoch FROM clock_timestamp())" 2>&1) ||
		cvx_die "cleanup $v failed: $out"
	t0=$(head -n 1 <<<"$out")
	t1=$(tail -n 1 <<<"$out")
	wait "$pid" || { note=aborted; cvx_warn "cleanup $v: the heartbeat pgbench failed: $(tail -n 2 "$log")"; }
	if [ "$sd" = convexlite ]; then
		left=$(q "SELECT count(*) FROM convex.presence WHERE room_id = 'stale'")
	else
		left=$(q "SELECT count(*) FROM plain.presence WHERE room_id = 'stale'")
	fi
	[ "$left" = 0 ] || cvx_warn "cleanup $v: $left stale rows left"
	read -r tps _ _ _ <<<"$(parse_pgbench "$log")"
	local lat
	lat=$(awk '/^latency average = / { print $4 }' "$log")
	# heartbeats that completed while the cleanup ran, and the slowest of them
	read -r during maxms <<<"$(cat "$TMP"/hb.* 2>/dev/null | awk -v t0="$t0" -v t1="$t1" '
		{ end = $5 + $6 / 1e6; if (end >= t0 && end <= t1) { n++; if ($3 > max) max = $3 } }
		END { printf "%.1f %.2f", (t1 > t0 ? n / (t1 - t0) : 0), max / 1000 }')"
	if awk -v t1="$t1" -v t0="$t0" -v s="$hb_s" -v d="$delay" 'BEGIN { exit !(t1 - t0 > s - d) }'; then
		note="${note:+$note,}cleanup-outlasted-heartbeats"
	fi
	local ms
	ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$c" "$s" "$ms" "$((BENCH_STALE - left))" "$tps" "$during" "$maxms" \
		"${lat:-NaN}" "$note" >>"$OUT/cleanup.tsv"
	printf '    cleanup    %-20s %2s clients  sync %-3s  cleanup %8.1f ms; heartbeats %7.0f tps (%7.0f during, slowest %s ms)%s\n' \
		"$v" "$c" "$s" "$ms" "$tps" "$during" "$maxms" "${note:+  ($note)}"
}

if mode wire; then
	for w in $SUITE; do
		want "$w" || continue
		cvx_step "Over the wire: $w, ${BENCH_SECONDS}s per run, clients: $BENCH_CLIENTS; synchronous_commit: $BENCH_SYNC"
		round=0
		for c in $BENCH_CLIENTS; do
			for s in $BENCH_SYNC; do
				for ((rep = 0; rep < BENCH_WIRE_REPEATS; rep++)); do
					for v in $(variants "$round"); do
						if [ "$w" = cleanup ]; then cleanup_run "$v" "$c" "$s"; else wire_run "$w" "$v" "$c" "$s"; fi
					done
					round=$((round + 1))
				done
			done
		done
	done
fi

# ---------------------------------------------------------------------------
# Batch: BENCH_BATCH calls in one statement

# batch_variants WORKLOAD: what each batch compares
batch_variants() {
	local names="convexlite floor plpgsql"
	[ "$BENCH_NOTIFY_OFF" = 1 ] && names+=" convexlite_nonotify"
	case $1 in
	send | remove | heartbeat | leave | profile) names+=" floor_set" ;;
	dispatch) names+=" convexlite_noop floor_noop plpgsql_noop" ;;
	esac
	printf '%s' "$names"
}
# batch_statement WORKLOAD VARIANT: the timed statement
batch_statement() {
	local v=${2%_nonotify}
	case $1:$v in
	send:convexlite) echo "SELECT count(convex_messages_send(args)) FROM bench.b_send" ;;
	send:plpgsql) echo "SELECT count(plain.messages_send(args)) FROM bench.b_send" ;;
	send:floor) echo "SELECT plain.floor_send_loop()" ;;
	send:floor_set) echo "INSERT INTO plain.messages (_id, _creation_time, room_id, content, user_name, session_id)
		SELECT gen_random_uuid()::text, plain.creation_time(), room_id, content, user_name, session_id FROM bench.b_send" ;;
	remove:convexlite) echo "SELECT count(convex_messages_remove(args)) FROM bench.remove_cvx" ;;
	remove:plpgsql) echo "SELECT count(plain.messages_remove(args)) FROM bench.remove_plain" ;;
	remove:floor) echo "SELECT plain.floor_remove_loop()" ;;
	remove:floor_set) echo "DELETE FROM plain.messages m USING bench.remove_plain r WHERE m._id = r.id" ;;
	heartbeat:convexlite) echo "SELECT count(convex_presence_update(args)) FROM bench.b_heartbeat" ;;
	heartbeat:plpgsql) echo "SELECT count(plain.presence_update(args)) FROM bench.b_heartbeat" ;;
	heartbeat:floor) echo "SELECT plain.floor_heartbeat_loop()" ;;
	heartbeat:floor_set) echo "UPDATE plain.presence p SET data = b.data, last_seen = plain.date_now() FROM bench.b_heartbeat b
		WHERE p.session_id = b.session_id AND p.room_id = 'batch' AND p.session_id <> ''" ;;
	leave:convexlite) echo "SELECT count(convex_presence_leave(args)) FROM bench.b_leave" ;;
	leave:plpgsql) echo "SELECT count(plain.presence_leave(args)) FROM bench.b_leave" ;;
	leave:floor) echo "SELECT plain.floor_leave_loop()" ;;
	leave:floor_set) echo "DELETE FROM plain.presence p USING bench.b_leave l
		WHERE p.session_id = l.session_id AND p.room_id = 'lobby' AND p.session_id <> ''" ;;
	profile:convexlite) echo "SELECT count(convex_users_update_profile(args)) FROM bench.b_profile
		WHERE set_config('convexlite.user_id', cvx_uid, true) IS NOT NULL" ;;
	profile:plpgsql) echo "SELECT count(plain.users_update_profile(args)) FROM bench.b_profile
		WHERE set_config('convexlite.user_id', plain_uid, true) IS NOT NULL" ;;
	profile:floor) echo "SELECT plain.floor_profile_loop()" ;;
	profile:floor_set) echo "UPDATE plain.users u SET name = p.name, image = p.image FROM bench.b_profile p WHERE u._id = p.plain_uid" ;;
	dispatch:convexlite) echo "SELECT count(convex_mutation('channels:sendMessage', args)) FROM bench.b_dispatch" ;;
	dispatch:plpgsql) echo "SELECT count(plain.dispatch('channels:sendMessage', args)) FROM bench.b_dispatch" ;;
	dispatch:floor) echo "SELECT count(bench.channels_send_message(args)) FROM bench.b_dispatch" ;;
	dispatch:convexlite_noop) echo "SELECT count(convex_mutation('bench:noop', args)) FROM bench.b_dispatch" ;;
	dispatch:plpgsql_noop) echo "SELECT count(plain.dispatch('bench:noop', args)) FROM bench.b_dispatch" ;;
	dispatch:floor_noop) echo "SELECT count(bench.noop(args)) FROM bench.b_dispatch" ;;
	transfer:convexlite) echo "SELECT count(convex_mutation('accounts:transferFunds', cvx_args)) FROM bench.b_transfer" ;;
	transfer:plpgsql) echo "SELECT count(plain.transfer_funds(plain_args)) FROM bench.b_transfer" ;;
	transfer:floor) echo "SELECT plain.floor_transfer_loop()" ;;
	cleanup:convexlite) echo "SELECT convex_presence_cleanup()" ;;
	cleanup:plpgsql) echo "SELECT plain.presence_cleanup()" ;;
	cleanup:floor) echo "DELETE FROM plain.presence WHERE last_seen < plain.date_now() - 30000" ;;
	*) cvx_die "no batch statement for $1 $2" ;;
	esac
}
# prepare_batch WORKLOAD VARIANT: the state every run starts from (not timed)
prepare_batch() {
	local w=$1 sd
	sd=$(side "$2")
	case $w in
	send) if [ "$sd" = convexlite ]; then q "TRUNCATE convex.messages"; else q "TRUNCATE plain.messages"; fi ;;
	remove) q "SELECT bench.refill_remove('$sd', $BENCH_BATCH)"
		q "VACUUM ANALYZE convex.messages, plain.messages, bench.remove_cvx, bench.remove_plain" ;;
	heartbeat) q "VACUUM ANALYZE convex.presence, plain.presence" ;;
	leave) q "SELECT bench.refill_leave('$sd', $BENCH_BATCH)"
		q "VACUUM ANALYZE convex.presence, plain.presence" ;;
	profile) q "VACUUM ANALYZE convex.users, plain.users" ;;
	dispatch) q "TRUNCATE convex.channel_messages" ;;
	transfer) q "VACUUM ANALYZE convex.accounts, plain.accounts" ;;
	cleanup) q "SELECT bench.refill_stale('$sd', $BENCH_BATCH)"
		q "VACUUM ANALYZE convex.presence, plain.presence" ;;
	esac >/dev/null
}
# A batch's calls keep convexlite's per-call time budget armed (its cost is part of
# a call), but at 10 minutes: on this shared machine one call in 100,000 can stall
# for a second, which would fail the whole statement.
BATCH_SETUP="SET convexlite.mutation_timeout = '10min';"
batch_run() { # WORKLOAD VARIANT RUN
	local w=$1 v=$2 r=$3 setup=$BATCH_SETUP ms err
	err="$OUT/logs/batch-$w-$v-$r.err"
	prepare_batch "$w" "$v"
	[ "$v" = convexlite_nonotify ] && setup+=' SET convexlite.notify = off;'
	ms=$(printf '%s\n\\timing on\n%s;\n' "$setup" "$(batch_statement "$w" "$v")" |
		cvx_psql -qtA -d "$DB" 2>"$err" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1) || ms=
	if [ -z "$ms" ]; then
		cvx_warn "batch $w $v run $r failed: $(head -c 300 "$err")"
		printf 'batch %s %s run %s\n' "$w" "$v" "$r" >>"$OUT/failed"
		return 0
	fi
	[ -s "$err" ] || rm -f "$err"
	printf '%s\t%s\t%s\t%s\t%s\n' "$w" "$v" "$r" "$ms" "$BENCH_BATCH" >>"$OUT/batch.tsv"
	printf '    %-10s %-20s run %s  %9.1f ms  %7.2f us/call\n' "$w" "$v" "$r" "$ms" \
		"$(awk -v ms="$ms" -v n="$BENCH_BATCH" 'BEGIN { print ms * 1000 / n }')"
}

if mode batch; then
	for w in $SUITE; do
		want "$w" || continue
		cvx_step "Batch: $w, $BENCH_BATCH calls in one statement, $BENCH_REPEATS runs"
		[ "$w" = heartbeat ] && q "SELECT bench.refill_sessions($BENCH_BATCH)" >/dev/null
		read -r -a vs <<<"$(batch_variants "$w")"
		for ((r = 1; r <= BENCH_REPEATS; r++)); do
			n=${#vs[@]}
			for ((k = 0; k < n; k++)); do
				batch_run "$w" "${vs[$(((k + r) % n))]}" "$r"
			done
		done
	done
fi

# ---------------------------------------------------------------------------
# The other benchmarks, each with a database of its own on this cluster; each
# writes its markdown fragment to $BENCH_OUT
export CVX_BENCH_CLUSTER=$CLUSTER CVX_BENCH_PORT=$PORT BENCH_CLUSTER=$CLUSTER BENCH_PORT=$PORT
other() { # NAME SCRIPT ARGS...
	local name=$1 script=$2
	shift 2
	want "$name" || return 0
	if [ ! -f "$HERE/$script" ]; then
		cvx_info "bench/$script does not exist: $name skipped"
		return 0
	fi
	cvx_step "$name: bash bench/$script $*"
	# each script reads its own BENCH_* settings: none of this suite's
	if ! env -u BENCH_SECONDS -u BENCH_CLIENTS -u BENCH_BATCH -u BENCH_REPEATS -u BENCH_WIRE_REPEATS \
		-u BENCH_SYNC -u BENCH_NOTIFY_OFF -u BENCH_ONLY -u BENCH_MODES -u BENCH_STALE -u BENCH_ROWS_PER_SECOND \
		-u BENCH_DB bash "$HERE/$script" "$@" 2>&1 | tee "$OUT/logs/$name.log"; then
		cvx_warn "bench/$script failed (log: bench/out/logs/$name.log)"
		echo "$name" >>"$OUT/failed"
	fi
}
other uploads storage.sh "$BENCH_STORAGE_RUNS"
other scheduler scheduler.sh "$BENCH_SCHEDULER_RUNS" "$BENCH_SCHEDULER_JOBS"
other presence presence.sh
other memory memory.sh
other contention contention.sh
other versions versions.sh
other reads reads.sh
other builder builder.sh
other sharding sharding.sh
other snapshot snapshot.sh "${BENCH_SNAPSHOT_RUNS:-3}" "${BENCH_SNAPSHOT_DOCS:-100000}"

printf 'load_after=%s\nduration_s=%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(($(date +%s) - STARTED))" >>"$OUT/meta.env"
cvx_step "Report"
bash "$HERE/report.sh"
