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
