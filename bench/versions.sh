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
# Then, unless BENCH_VERSIONS_INSTRUCTIONS=0 or valgrind is missing, the same
# workloads are counted in instructions, which a busy machine does not
# change: both clusters are stopped, and each build runs BENCH_VERSIONS_CALLS
# (default 2000) calls of each workload, one statement a transaction, in a
# single-user backend (postgres --single) under valgrind's callgrind, on a
# copy of its data directory with the database made again as for the timed
# runs; a run of as many SELECT 1
# is subtracted (startup and statement overhead), so the figure is the
# instructions of one call plus its statement's parse and plan, the same for
# both builds.
#
# Output: versions.md (a markdown fragment) and versions.tsv in $BENCH_OUT
# (default bench/out/), also printed.
# Usage: bash bench/versions.sh
# Environment: BENCH_BASELINE (a commit or tag; default 1e91a03, "Release
#   0.2.0"), BENCH_VERSIONS_SECONDS, BENCH_VERSIONS_ROUNDS,
#   BENCH_VERSIONS_CLIENTS (default "1 16"), BENCH_VERSIONS_ONLY (a subset of
#   the workloads above), BENCH_OUT, BENCH_VERSIONS_KEEP=1 (leave both clusters
#   running, to profile them), BENCH_VERSIONS_INSTRUCTIONS (default 1),
#   BENCH_VERSIONS_CALLS (default 2000).
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

# ---------------------------------------------------------------------------
# Instructions per call (callgrind, single-user backends)

# calls_sql WORKLOAD N: N calls of the workload, one statement a line
calls_sql() {
	local w=$1 n=$2 i
	for ((i = 1; i <= n; i++)); do
		case $w in
		noop) echo "SELECT $i;" ;;
		send) echo "SELECT convex_messages_send('{\"roomId\": \"general\", \"content\": \"hello $i\", \"userName\": \"bench\", \"sessionId\": \"s1\"}');" ;;
		heartbeat) echo "SELECT convex_presence_update('{\"roomId\": \"room\", \"data\": {\"cursor\": {\"x\": $i, \"y\": $((i % 1000))}}, \"sessionId\": \"s$((i % 100 + 1))\"}');" ;;
		dispatch) echo "SELECT convex_mutation('channels:sendMessage', ('{\"channelId\": \"' || id || '\", \"content\": \"hello $i\"}')::jsonb) FROM bench.channels WHERE i = $((i % 100 + 1));" ;;
		transfer10k)
			local f=$(((i * 7919) % 10000 + 1)) d=$(((i * 104729) % 9999 + 1))
			echo "SELECT convex_mutation('accounts:transferFunds', ('{\"fromId\": \"' || f.cvx || '\", \"toId\": \"' || t.cvx || '\", \"amount\": 5}')::jsonb) FROM bench.accounts10k f, bench.accounts10k t WHERE f.n = $f AND t.n = $(((f + d - 1) % 10000 + 1));"
			;;
		esac
	done
}

# instructions BUILD WORKLOAD: callgrind's instruction count of the calls in
# a single-user backend on a fresh copy of the build's data directory
instructions() {
	local b=$1 w=$2 cluster bindir data copy log
	if [ "$b" = base ]; then cluster=$BASE_CLUSTER bindir=$("$BASE_PG_CONFIG" --bindir); else cluster=$CURRENT_CLUSTER bindir=$("$CURRENT_PG_CONFIG" --bindir); fi
	data=$(cvx_cluster_dir "$cluster")/data
	copy=$INSTR_DIR/$b.data
	log=$INSTR_DIR/$b.$w.log
	rm -rf "$copy"
	cp -a "$data" "$copy"
	rm -f "$copy/postmaster.pid"
	cvx_as_pg valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bindir/postgres" --single -D "$copy" \
		-c synchronous_commit=off "$DB" <"$INSTR_DIR/$w.sql" >"$log" 2>&1 ||
		cvx_die "the single-user run of $w ($b) failed: $(tail -n 3 "$log")"
	if grep -q 'ERROR:' "$log"; then
		cvx_die "the single-user run of $w ($b) had errors: $(grep -m 2 'ERROR:' "$log")"
	fi
	sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log" | tail -n 1
}

if [ "${BENCH_VERSIONS_INSTRUCTIONS:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then
	CALLS=${BENCH_VERSIONS_CALLS:-2000}
	cvx_step "Instructions per call: $CALLS calls a workload, single-user backends under callgrind"
	# the same starting state for both: the databases made again, as before the timed runs
	prepare current
	prepare base
	with current cvx_cluster_stop "$CURRENT_CLUSTER" >/dev/null
	with base cvx_cluster_stop "$BASE_CLUSTER" >/dev/null
	INSTR_DIR=$CVX_ROOT/tmp/bench-instructions
	rm -rf "$INSTR_DIR"
	mkdir -p "$INSTR_DIR"
	chmod 755 "$INSTR_DIR"
	for w in noop send heartbeat dispatch transfer10k; do
		calls_sql "$w" "$CALLS" >"$INSTR_DIR/$w.sql"
	done
	chmod 644 "$INSTR_DIR"/*.sql
	chown "$CVX_PG_OS_USER" "$INSTR_DIR" 2>/dev/null || true
	irows=$workdir/instructions.md
	: >"$irows"
	declare -A noop_ir
	for b in current base; do
		noop_ir[$b]=$(instructions "$b" noop)
	done
	for w in send heartbeat dispatch transfer10k; do
		case $ONLY in *" $w "*) ;; *) continue ;; esac
		ic=$(instructions current "$w")
		ib=$(instructions base "$w")
		pc=$(((ic - noop_ir[current]) / CALLS))
		pb=$(((ib - noop_ir[base]) / CALLS))
		ratio=$(awk -v a="$pc" -v b="$pb" 'BEGIN { printf "%.3f", a / b }')
		printf '%s\tinstructions\t%s\t%s\t%s\t\t\n' "$w" "$pc" "$pb" "$ratio" >>"$OUT_DIR/versions.tsv"
		printf '| %s | %s | %s | %s |\n' "$w" "$(printf '%s' "$pc" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')" \
			"$(printf '%s' "$pb" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')" "$ratio" >>"$irows"
		cvx_info "$w: this build $pc instructions a call, $baseline_name $pb, ratio $ratio"
	done
	rm -rf "$INSTR_DIR"/*.data
	{
		printf '\nInstructions a call (callgrind, %s calls in a single-user backend, a run of as many `SELECT n` subtracted; ' "$CALLS"
		printf 'the same whatever else the machine runs). Ratio: this build / the release (below 1: fewer).\n\n'
		printf '| workload | this build | release | ratio |\n|---|---|---|---|\n'
		cat "$irows"
	} >>"$OUT_DIR/versions.md"
	tail -n +"$(grep -n '^Instructions a call' "$OUT_DIR/versions.md" | cut -d: -f1)" "$OUT_DIR/versions.md"
	if [ "${BENCH_VERSIONS_KEEP:-0}" = 1 ]; then
		with current cvx_cluster_start "$CURRENT_CLUSTER" "$CURRENT_PORT" "$DB" >/dev/null
		with base cvx_cluster_start "$BASE_CLUSTER" "$BASE_PORT" "$DB" >/dev/null
	fi
fi

if [ "${BENCH_VERSIONS_KEEP:-0}" != 1 ]; then
	with current cvx_cluster_stop "$CURRENT_CLUSTER" >/dev/null
	with base cvx_cluster_stop "$BASE_CLUSTER" >/dev/null
fi
