#!/usr/bin/env bash
# test/scripts/soak.sh: 16 clients for minutes of the mixed workload; only
# retryable errors, invariants holding all along, backend memory flat.
#
# Issue 7: "16 clients for several minutes of the mixed workload: no error
# other than documented user errors and retryable SQLSTATEs, invariants hold
# throughout (one presence row per session and room, balances conserved,
# storage consistent), backend memory flat."
#
# The workload is test/scripts/lib/workload.sh's (send, remove, presence
# update and leave, transfers, bytea and large-object uploads with saveFile,
# scheduled jobs run by the worker, and calls that must fail with their
# documented SQLSTATE, checked inside the transaction).  pgbench runs
# SOAK_CLIENTS clients (default 16) for SOAK_SECONDS (default 180; make
# stress: 600) with --max-tries 10, so a deadlock or serialization failure
# (40P01, 40001) is retried as an application would; any other error aborts
# its client and fails the run.
# Every SOAK_SAMPLE seconds (default 15) the invariants are checked in one
# snapshot while the load runs (workload.sh's wl_invariants) and the RssAnon
# of every client backend, the scheduler worker and the NOTIFY relay is read
# from /proc.  Memory is flat when no process grew by more than
# SOAK_MEMORY_KB (default 1024) between the first sample (after warm-up) and
# the last.  At the end the jobs drain and every acknowledged write is
# checked (wl_check_acks, no unacknowledged commit allowed: nothing crashed).
#
# Two more shapes run in the mix (issue 0.2.0 review, §2 and §3): patches of
# a random set of the 12 optional fields of table "shapes" (4,095 sets; the
# kept plans must stay bounded, so the memory check covers them) and, now
# and then, a redefinition of "shapes" (its own fields, an index added or
# dropped) while the patches run; at the end every document of "shapes"
# must match its catalog definition and its columns must be its fields.
#
# Own cluster 'soak' (port SOAK_PORT, default 54345, worker database
# postgres), destroyed at exit (SOAK_KEEP=1 keeps it).  PASS/FAIL lines;
# exits 1 on failure.
set -uo pipefail

NAME=soak
PORT=${SOAK_PORT:-54345}
DB=postgres
CLIENTS=${SOAK_CLIENTS:-16}
SECONDS_TOTAL=${SOAK_SECONDS:-180}
SAMPLE=${SOAK_SAMPLE:-15}
MEMORY_KB=${SOAK_MEMORY_KB:-1024}

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/../../scripts/lib.sh"
# shellcheck source=test/scripts/lib/checks.sh
. "$HERE/lib/checks.sh"
WL_KEEP=${SOAK_KEEP:-0}
# shellcheck source=test/scripts/lib/workload.sh
. "$HERE/lib/workload.sh"

T0=$(date +%s)

# sample_memory FILE: "pid kind RssAnon-kB" of the processes watched
sample_memory() {
	local pid kind
	q "SELECT pid, CASE WHEN backend_type = 'client backend' THEN 'client' ELSE replace(backend_type, ' ', '_') END
	     FROM pg_stat_activity
	    WHERE application_name = 'pgbench' OR backend_type IN ('convexlite scheduler', 'convexlite notify relay')" |
		while IFS='|' read -r pid kind; do
			awk -v p="$pid" -v k="$kind" '/^RssAnon:/ { print p, k, $2 }' "/proc/$pid/status" 2>/dev/null
		done >"$1"
}

echo "soak: own cluster '$NAME' on port $PORT, $CLIENTS clients for ${SECONDS_TOTAL}s, samples every ${SAMPLE}s"
wl_begin

# the shapes: table "shapes", its documents' ids, and the two scripts
if ! psql_db >"$WORK/shapes-setup.log" 2>&1 <<'EOF'
SET client_min_messages = warning;
SELECT convex_define_table('shapes', (SELECT jsonb_object_agg('f' || i,
         '{"fieldType": {"type": "number"}, "optional": true}'::jsonb) FROM generate_series(0, 11) i), '{}');
CREATE TABLE soak_shape_ids (i int PRIMARY KEY, id text NOT NULL);
INSERT INTO soak_shape_ids SELECT i, convex_db_insert('shapes', '{}') FROM generate_series(1, 64) i;
EOF
then
	fail "setup: table shapes could not be made"
	sed 's/^/    | /' "$WORK/shapes-setup.log"
	exit 1
fi
cat >"$WORK/patchset.sql" <<'EOF'
\set s random(1, 4095)
\set r random(1, 64)
SELECT convex_db_patch('shapes', (SELECT id FROM soak_shape_ids WHERE i = :r), (SELECT jsonb_object_agg('f' || b, :s) FROM generate_series(0, 11) b WHERE (:s & (1 << b)) <> 0));
EOF
cat >"$WORK/redefine.sql" <<'EOF'
\set x random(1, 20)
\if :x <= 2
SELECT convex_define_table('shapes', (SELECT fields FROM convex._tables WHERE name = 'shapes'), CASE WHEN :x = 1 THEN '{}' ELSE '{"by_f0": ["f0"]}' END::jsonb);
\endif
EOF
MIX+=(-f "$WORK/patchset.sql@10" -f "$WORK/redefine.sql@1")

"$PGBENCH" -n -M simple -c "$CLIENTS" -j 2 -T "$SECONDS_TOTAL" --max-tries 10 --failures-detailed \
	"${MIX[@]}" "$DB" >"$WORK/pgbench.log" 2>&1 &
PGBENCH_PID=$!

# samples while pgbench runs: invariants, and memory after a warm-up sample
SAMPLES=0
BAD_SAMPLES=0
FIRST_MEM=
sleep "$SAMPLE"
while kill -0 "$PGBENCH_PID" 2>/dev/null; do
	SAMPLES=$((SAMPLES + 1))
	before=$FAILURES
	wl_invariants "t=$(($(date +%s) - T0))s, under load" >"$WORK/sample.out"
	[ "$FAILURES" != "$before" ] && BAD_SAMPLES=$((BAD_SAMPLES + 1)) && cat "$WORK/sample.out"
	if [ -z "$FIRST_MEM" ]; then
		FIRST_MEM=$WORK/mem-first
		sample_memory "$FIRST_MEM"
	else
		# a sample taken as the clients disconnect at the end does not count
		sample_memory "$WORK/mem-new"
		[ "$(grep -c ' client ' "$WORK/mem-new")" -ge "$CLIENTS" ] && mv "$WORK/mem-new" "$WORK/mem-last"
	fi
	sleep "$SAMPLE"
done
wait "$PGBENCH_PID"
RC=$?
PGBENCH_PID=
CHECKS=$((CHECKS - SAMPLES + BAD_SAMPLES)) # the passing samples count once, below
check "the invariants held in every sample under load ($SAMPLES samples)" 0 "$BAD_SAMPLES"

check "pgbench ended normally (no client aborted by an error)" 0 "$RC"
check_client_errors "no error besides retryable deadlocks and serialization failures" \
	"$WORK/pgbench.log" 'deadlock detected|could not serialize access'
grep -E '^(number of (transactions actually processed|failed transactions|transactions retried|total retries)|latency average|tps)' \
	"$WORK/pgbench.log" | sed 's/^/    /'

if [ -z "$FIRST_MEM" ] || [ ! -s "$WORK/mem-last" ]; then
	fail "memory: too few samples (SOAK_SECONDS must exceed twice SOAK_SAMPLE)"
else
	growth=$(join <(sort "$FIRST_MEM") <(sort "$WORK/mem-last") |
		awk '{ g = $5 - $3; if (g > max) { max = g; who = $2 " " $1 } n++ }
			END { printf "%d %d %s", n, max, who }')
	read -r nproc max_growth who <<<"$growth"
	if [ "${nproc:-0}" -ge "$CLIENTS" ] && [ "${max_growth:-0}" -le "$MEMORY_KB" ]; then
		pass "memory flat: $nproc processes, largest RssAnon growth ${max_growth} kB (limit $MEMORY_KB kB) from the first sample to the last"
	else
		fail "memory: $nproc processes watched, largest RssAnon growth ${max_growth} kB ($who), limit $MEMORY_KB kB"
	fi
	awk '{ s += $3; n++ } END { printf "    RssAnon at the first sample: %d processes, mean %d kB\n", n, s / n }' "$FIRST_MEM"
fi

if wl_drain_jobs; then
	pass "the scheduled jobs drained"
else
	fail "jobs still pending or in progress 60 s after the load"
fi
wl_invariants "end"
if out=$(q "SELECT convex_define_table(name, fields, indexes) FROM convex._tables WHERE name = 'shapes'" 2>&1); then
	pass "shapes: every document matches the catalog's definition"
else
	fail "shapes: a document violates the catalog's definition: $out"
fi
check "shapes: the table's columns are the catalog's fields" \
	"$(q "SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys((SELECT fields FROM convex._tables WHERE name = 'shapes')) k")" \
	"$(q "SELECT string_agg(attname::text, ',' ORDER BY attname::text) FROM pg_attribute WHERE attrelid = 'convex.shapes'::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT IN ('_id', '_creation_time')")"
wl_check_acks "$WORK" 0 "end"
echo "# $CLIENTS clients x ${SECONDS_TOTAL}s; $CHECKS checks, $FAILURES failed, $(($(date +%s) - T0)) s"
[ "$FAILURES" = 0 ]
