#!/usr/bin/env bash
# bench/versions.sh: this build against an earlier release of convexlite (by
# default 0.2.0), side by side in one run, on the uncontended paths:
#
#   send          convex_messages_send, signed out (bench/wire/send.convexlite.sql)
#   heartbeat     convex_presence_update, 100 sessions in one room
#   dispatch      convex_mutation of a registered mutation, channels:sendMessage
#   transfer10k   seed 001's accounts:transferFunds through convex_mutation over
#                 10,000 accounts (two random distinct ones per call)
#
# The release is built from this repository's history (git archive of
# BENCH_BASELINE) into tmp/bench-baseline/, against a copy of this machine's
# PostgreSQL (a server finds its extensions next to its own binaries, so the
# two builds need two installations), and runs in a cluster of its own; this
# build runs in the installed PostgreSQL.  Both clusters have the same
# settings, the same database (bench/setup.sql, peers.sql and fixtures.sql,
# which both releases share) and the same pgbench scripts.  Each point: pgbench
# -M prepared, one call a transaction, synchronous_commit = off (so that the
# CPU cost per call shows, not the WAL flush), BENCH_VERSIONS_SECONDS (default
# 5) a run, the two builds alternating in rotating order for
# BENCH_VERSIONS_ROUNDS rounds (default 3); the median tps of each and their
# ratio (this build / the release: 1.00 means no loss).
#
# Output: versions.md (a markdown fragment) and versions.tsv in $BENCH_OUT
# (default bench/out/), also printed.
# Usage: bash bench/versions.sh
# Environment: BENCH_BASELINE (a commit or tag; default 1e91a03, "Release
#   0.2.0"), BENCH_VERSIONS_SECONDS, BENCH_VERSIONS_ROUNDS,
#   BENCH_VERSIONS_CLIENTS (default "1 16"), BENCH_VERSIONS_ONLY (a subset of
#   the workloads above), BENCH_OUT, BENCH_VERSIONS_KEEP=1 (leave both clusters
#   running, to profile them).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/../scripts/lib.sh"

BASELINE=${BENCH_BASELINE:-1e91a03}
SECS=${BENCH_VERSIONS_SECONDS:-5}
ROUNDS=${BENCH_VERSIONS_ROUNDS:-3}
CLIENTS=${BENCH_VERSIONS_CLIENTS:-1 16}
ONLY=" ${BENCH_VERSIONS_ONLY:-send heartbeat dispatch transfer10k} "
OUT_DIR=${BENCH_OUT:-$CVX_ROOT/bench/out}
DB=convexlite_benchv
CURRENT_CLUSTER=benchv_current
BASE_CLUSTER=benchv_base
CURRENT_PORT=54341
BASE_PORT=54342
CURRENT_PG_CONFIG=$PG_CONFIG
BASE_ROOT=$CVX_ROOT/tmp/bench-baseline
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
mkdir -p "$OUT_DIR"

baseline_commit=$(git -C "$CVX_ROOT" rev-parse --verify --quiet "$BASELINE^{commit}") ||
	cvx_die "BENCH_BASELINE=$BASELINE is not a commit of this repository (a shallow clone? fetch its history)"
# the release's name: its default_version, and its commit
baseline_name="$(git -C "$CVX_ROOT" show "$baseline_commit:convexlite.control" |
	sed -n "s/^default_version *= *'\(.*\)'/\1/p") ($(git -C "$CVX_ROOT" rev-parse --short "$baseline_commit"))"

# ---------------------------------------------------------------------------
# The release's build, in a copy of this machine's PostgreSQL
cvx_step "Building $baseline_name into $BASE_ROOT"
libdir=$("$CURRENT_PG_CONFIG" --pkglibdir)
sharedir=$("$CURRENT_PG_CONFIG" --sharedir)
includedir=$("$CURRENT_PG_CONFIG" --includedir)
prefix=$(dirname "$(dirname "$libdir")") # .../lib/postgresql/15/lib -> .../lib/postgresql
pg_copy=$BASE_ROOT/pg
if [ ! -x "$pg_copy$prefix/15/bin/pg_config" ] ||
	[ "$("$pg_copy$prefix/15/bin/pg_config" --version)" != "$("$CURRENT_PG_CONFIG" --version)" ]; then
	rm -rf "$pg_copy"
	mkdir -p "$pg_copy$prefix" "$pg_copy$(dirname "$sharedir")" "$pg_copy$(dirname "$includedir")"
	cp -a "$(dirname "$libdir")" "$pg_copy$prefix/"
	cp -a "$sharedir" "$pg_copy$(dirname "$sharedir")/"
	cp -a "$includedir" "$pg_copy$(dirname "$includedir")/"
fi
BASE_PG_CONFIG=$pg_copy$(dirname "$libdir")/bin/pg_config
[ -x "$BASE_PG_CONFIG" ] || cvx_die "the copy of PostgreSQL has no $BASE_PG_CONFIG"
rm -rf "$BASE_ROOT/src"
mkdir -p "$BASE_ROOT/src"
git -C "$CVX_ROOT" archive "$baseline_commit" | tar -x -C "$BASE_ROOT/src"
(cd "$BASE_ROOT/src" && make -s -j2 PG_CONFIG="$BASE_PG_CONFIG" >"$BASE_ROOT/build.log" 2>&1 &&
	make -s install PG_CONFIG="$BASE_PG_CONFIG" >>"$BASE_ROOT/build.log" 2>&1) || {
	tail -20 "$BASE_ROOT/build.log" >&2
	cvx_die "building $baseline_name failed (log: $BASE_ROOT/build.log)"
}
chmod -R a+rX "$BASE_ROOT"

# ---------------------------------------------------------------------------
# The two clusters and their databases

# with BUILD CMD...: run CMD against the cluster of BUILD (current or base)
with() {
	local build=$1
	shift
	if [ "$build" = base ]; then
		PG_CONFIG=$BASE_PG_CONFIG
		cvx_cluster_env "$BASE_CLUSTER" "$BASE_PORT"
	else
		PG_CONFIG=$CURRENT_PG_CONFIG
		cvx_cluster_env "$CURRENT_CLUSTER" "$CURRENT_PORT"
	fi
	"$@"
}
q() { cvx_psql -d "$DB" -Atq -c "$1"; }

# prepare BUILD: start its cluster (workers in DB), recreate DB with the bench fixtures and 10,000 accounts
prepare() {
	local build=$1 cluster port
	if [ "$build" = base ]; then cluster=$BASE_CLUSTER port=$BASE_PORT; else cluster=$CURRENT_CLUSTER port=$CURRENT_PORT; fi
	with "$build" cvx_cluster_start "$cluster" "$port" "$DB" >/dev/null
	with "$build" cvx_recreate_db "$cluster" "$DB" >/dev/null
	with "$build" cvx_psql -qtA -d "$DB" -f "$HERE/setup.sql" >/dev/null
	with "$build" cvx_psql -q -d "$DB" -f "$HERE/peers.sql" >/dev/null
	with "$build" cvx_psql -q -d "$DB" -v batch=1000 -f "$HERE/fixtures.sql" >/dev/null
	with "$build" q "CREATE TABLE bench.accounts10k (n int PRIMARY KEY, cvx text NOT NULL);
		INSERT INTO bench.accounts10k SELECT g, convex_db_insert('accounts',
		  jsonb_build_object('owner', 'o' || g, 'balance', 1e12)) FROM generate_series(1, 10000) g" >/dev/null
	with "$build" q "VACUUM ANALYZE" >/dev/null
	printf '    %s: %s, convexlite %s\n' "$build" "$(with "$build" q "SELECT version()" | cut -d' ' -f1-2)" \
		"$(with "$build" q "SELECT extversion FROM pg_extension WHERE extname = 'convexlite'")"
}
cvx_step "Clusters $CURRENT_CLUSTER (this build) and $BASE_CLUSTER ($baseline_name)"
prepare current
prepare base

cat >"$workdir/transfer10k.sql" <<'EOF'
\set f random(1, 10000)
\set d random(1, 9999)
\set t (:f + :d - 1) % 10000 + 1
\set amount random(1, 100)
SELECT convex_mutation('accounts' || ':' || 'transferFunds',
    ('{"fromId": "' || f.cvx || '", "toId": "' || t.cvx || '", "amount": ' || :amount || '}')::jsonb)
  FROM bench.accounts10k f, bench.accounts10k t WHERE f.n = :f AND t.n = :t;
EOF
script() {
	case $1 in
	transfer10k) echo "$workdir/transfer10k.sql" ;;
	*) echo "$HERE/wire/$1.convexlite.sql" ;;
	esac
}

# run BUILD WORKLOAD CLIENTS: one pgbench run; prints its tps
run() {
	local log=$workdir/$1.$2.$3.log
	with "$1" env PGOPTIONS="-c synchronous_commit=off" "$(with "$1" cvx_pg_bindir)/pgbench" -n -M prepared \
		-c "$3" -j "$(($3 < 4 ? $3 : 4))" -T "$SECS" -f "$(script "$2")" "$DB" >"$log" 2>&1 || true
	awk '/^tps = / { tps = $3 } END { print tps == "" ? "NaN" : tps }' "$log"
	if grep -q 'number of failed transactions: [1-9]' "$log" || grep -q '^pgbench: error' "$log"; then
		cvx_warn "$1 $2 $3 clients: pgbench reported errors (log below)"
		tail -5 "$log" >&2
	fi
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf 'workload\tclients\tcurrent_tps\tbaseline_tps\tratio\tcurrent_runs\tbaseline_runs\n' >"$OUT_DIR/versions.tsv"
rows=$workdir/rows.md
: >"$rows"
for w in send heartbeat dispatch transfer10k; do
	case $ONLY in *" $w "*) ;; *) continue ;; esac
	for c in $CLIENTS; do
		cur=() base=()
		for ((r = 0; r < ROUNDS; r++)); do
			for b in $( ((r % 2 == 0)) && echo "current base" || echo "base current"); do
				tps=$(run "$b" "$w" "$c")
				if [ "$b" = current ]; then cur+=("$tps"); else base+=("$tps"); fi
			done
		done
		mc=$(echo "${cur[*]}" | median)
		mb=$(echo "${base[*]}" | median)
		ratio=$(awk -v a="$mc" -v b="$mb" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
		printf '%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\n' "$w" "$c" "$mc" "$mb" "$ratio" "${cur[*]}" "${base[*]}" >>"$OUT_DIR/versions.tsv"
		printf '| %s | %s | %s | %s | %s |\n' "$w" "$c" \
			"$(printf '%.0f' "$mc" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')" \
			"$(printf '%.0f' "$mb" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')" "$ratio" >>"$rows"
		cvx_info "$w, $c clients: this build $mc tps, $baseline_name $mb tps, ratio $ratio"
	done
done

{
	printf 'This build against %s, side by side: pgbench -M prepared, one call a transaction, ' "$baseline_name"
	printf 'synchronous_commit = off, %s s a run, %s rounds alternating, median tps. ' "$SECS" "$ROUNDS"
	printf 'Ratio: this build / the release (1.00: no loss; the target is at least 0.95).\n\n'
	printf '| workload | clients | this build tps | release tps | ratio |\n|---|---|---|---|---|\n'
	cat "$rows"
} >"$OUT_DIR/versions.md"
cat "$OUT_DIR/versions.md"

if [ "${BENCH_VERSIONS_KEEP:-0}" != 1 ]; then
	with current cvx_cluster_stop "$CURRENT_CLUSTER" >/dev/null
	with base cvx_cluster_stop "$BASE_CLUSTER" >/dev/null
fi
