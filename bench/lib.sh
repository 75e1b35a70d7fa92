# shellcheck shell=bash
# bench/lib.sh: what the benchmarks share.  Source it after scripts/lib.sh and
# after setting DB (the database the statements run in) and N (calls per batch).

# median_ms STATEMENT: median milliseconds of three runs (psql's \timing)
median_ms() {
	local statement=$1 runs
	runs=$(for _ in 1 2 3; do
		printf '\\timing on\n%s\n' "$statement" | cvx_psql -q -d "$DB" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
	done | sort -n)
	echo "$runs" | sed -n 2p
}
# per_call MS: microseconds per call of a batch of N calls that took MS
per_call() { awk -v ms="$1" -v n="$N" 'BEGIN { printf "%.2f", ms * 1000 / n }'; }
# ratio A B: A / B with two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# bench_worker_database: start cluster BENCH_CLUSTER (port BENCH_PORT) with
# its workers (scheduler, NOTIFY relay) in DB, restarting it if they run
# elsewhere, and recreate DB empty (the cluster restarts so they reconnect).
bench_worker_database() {
	local wdb
	cvx_cluster_start "$BENCH_CLUSTER" "$BENCH_PORT" "$DB"
	wdb=$(cvx_psql -d postgres -Atc "SELECT coalesce(current_setting('convexlite.database_name', true), '')")
	if [ "$wdb" != "$DB" ]; then
		cvx_warn "cluster '$BENCH_CLUSTER' runs its workers in '$wdb', not '$DB': restarting it with $DB"
		cvx_cluster_stop "$BENCH_CLUSTER"
		cvx_cluster_start "$BENCH_CLUSTER" "$BENCH_PORT" "$DB"
	fi
	cvx_step "Database $DB (recreated; the cluster restarts so its workers connect to it)"
	cvx_recreate_db "$BENCH_CLUSTER" "$DB"
}

# bench_notify_path: which way the writers' notifications go in DB, the relay
# when one runs there (waits up to 5 s for it) or each writer's own commit;
# sets NOTIFY_KIND (relay or direct) and NOTIFY_PATH (a sentence)
# shellcheck disable=SC2034  # NOTIFY_KIND and NOTIFY_PATH are for the callers
bench_notify_path() {
	local n _
	NOTIFY_KIND=direct
	NOTIFY_PATH="NOTIFY from each writer's own commit (no convexlite notify relay in $DB)"
	for _ in $(seq 50); do
		n=$(cvx_psql -d "$DB" -Atq -c "SELECT count(*) FROM pg_stat_activity
		      WHERE backend_type = 'convexlite notify relay' AND datname = current_database()")
		[ "$n" -gt 0 ] && break
		sleep 0.1
	done
	if [ "$n" -gt 0 ] && [ "$(cvx_psql -d "$DB" -Atq -c "SELECT coalesce(current_setting('convexlite.notify_relay', true), 'on')")" = on ]; then
		NOTIFY_KIND=relay
		NOTIFY_PATH="convexlite's NOTIFY relay (the 'convexlite notify relay' worker runs in $DB)"
	fi
}
