#!/usr/bin/env bash
# test/scripts/crash.sh: nothing acknowledged is lost and nothing is half
# written when the server crashes under the mixed workload.
#
# Issue 7: "a mixed workload (send, remove, presence, uploads, transfers,
# scheduled jobs) with several clients, crashes the server (pg_ctl stop -m
# immediate and kill -9 of a backend), restarts it, and proves: every
# acknowledged write is there, nothing unacknowledged is half there, every
# large object belongs to a _storage row and back, no scheduled job is lost
# or run twice."
#
# The workload is test/scripts/lib/workload.sh's: CRASH_CLIENTS pgbench
# clients (default 6) run every kind of write, each transaction recording its
# key before it starts and, once COMMIT returned, in an acknowledgement file.
# CRASH_ROUNDS rounds (default 4) alternate the two faults, each after
# CRASH_LOAD_SECONDS of load (default 4):
#   odd rounds   pg_ctl stop -m immediate (no shutdown checkpoint: WAL
#                recovery at the next start)
#   even rounds  kill -9 of a busy client backend (the postmaster kills every
#                backend, the scheduler worker and the NOTIFY relay included,
#                and reinitializes: crash recovery)
# After each round: the server is back, the clients saw no SQL error other
# than the lost connections, and the invariants hold in one snapshot
# (balances conserved; every balance is its start plus its ledger, so no
# transfer is half applied; one presence row per session and room; every
# blob is exactly one large object and every large object a blob, with the
# stored SHA-256 and size; every file's blob exists; every job ran at most
# once, a successful one exactly once with its document).
# At the end the scheduled jobs drain, and every acknowledged write is
# checked: messages sent are there, removed ones gone, presence rows there,
# left ones gone, transfers in the ledger, uploads stored with the right
# bytes and their files saved, jobs run once; nothing is there that no client
# attempted; and at most one unacknowledged commit per client per crash.
#
# Crashes a server, so it runs on its own cluster 'crash' (port CRASH_PORT,
# default 54344; convexlite's worker database postgres), destroyed at exit
# (CRASH_KEEP=1 keeps it).  Prints PASS/FAIL per check; exits 1 on failure.
set -uo pipefail

NAME=crash
PORT=${CRASH_PORT:-54344}
DB=postgres
CLIENTS=${CRASH_CLIENTS:-6}
ROUNDS=${CRASH_ROUNDS:-4}
LOAD_SECONDS=${CRASH_LOAD_SECONDS:-4}

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/../../scripts/lib.sh"
# shellcheck source=test/scripts/lib/checks.sh
. "$HERE/lib/checks.sh"
WL_KEEP=${CRASH_KEEP:-0}
# shellcheck source=test/scripts/lib/workload.sh
. "$HERE/lib/workload.sh"

T0=$(date +%s)

log_lines() { wc -l <"$CVX_LOGFILE" 2>/dev/null || echo 0; }
# log_since N PATTERN: lines after line N of the server log matching PATTERN
log_since() { tail -n +"$(($1 + 1))" "$CVX_LOGFILE" | grep -cE "$2"; }

# a client backend that is running a statement (any, if none is)
busy_backend() {
	q "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' AND backend_type = 'client backend'
	    ORDER BY (state = 'active') DESC, random() LIMIT 1"
}

# --- cluster and workload ------------------------------------------------------
echo "crash: own cluster '$NAME' on port $PORT, $CLIENTS clients, $ROUNDS rounds of ${LOAD_SECONDS}s load"
wl_begin
wl_invariants "setup"

IMMEDIATE=0
KILLED=0
for round in $(seq "$ROUNDS"); do
	LINE=$(log_lines)
	"$PGBENCH" -n -M simple -c "$CLIENTS" -j 2 -T 120 "${MIX[@]}" "$DB" >"$WORK/pgbench-$round.log" 2>&1 &
	PGBENCH_PID=$!
	sleep "$LOAD_SECONDS"
	if ! kill -0 "$PGBENCH_PID" 2>/dev/null; then
		fail "round $round: pgbench ended before the crash"
		sed 's/^/    | /' "$WORK/pgbench-$round.log" | tail -n 20
		exit 1
	fi
	if [ $((round % 2)) = 1 ]; then
		what="pg_ctl stop -m immediate"
		cvx_pg_ctl "$NAME" stop -m immediate -w >"$WORK/stop-$round.log" 2>&1
		IMMEDIATE=$((IMMEDIATE + 1))
		# pgbench's clients lost their server: let it end before restarting
		wait "$PGBENCH_PID" 2>/dev/null
		own_cluster_start
	else
		victim=$(busy_backend)
		what="kill -9 of client backend $victim"
		kill -9 "$victim"
		KILLED=$((KILLED + 1))
		wait "$PGBENCH_PID" 2>/dev/null
	fi
	PGBENCH_PID=
	if ! wait_server 60; then
		fail "round $round: the server does not accept connections after $what"
		tail -n 20 "$CVX_LOGFILE" | sed 's/^/    | /'
		exit 1
	fi
	if [ $((round % 2)) = 0 ]; then
		check "round $round: the postmaster reinitialized after $what (server log)" 1 \
			"$(log_since "$LINE" 'all server processes terminated; reinitializing')"
	else
		recovered=$(log_since "$LINE" 'not properly shut down; automatic recovery in progress')
		check "round $round: the next start recovered from WAL after $what (server log)" yes \
			"$([ "$recovered" -ge 1 ] && echo yes || echo "no ($recovered)")"
	fi
	check_client_errors "round $round ($what): clients saw no SQL error, only the lost connections" \
		"$WORK/pgbench-$round.log"
	wl_invariants "round $round, after $what"
done

if wl_drain_jobs; then
	pass "end: the scheduled jobs drained after the crashes"
else
	fail "end: jobs still pending or in progress 60 s after the last crash"
fi
wl_invariants "end"
wl_check_acks "$WORK" $((CLIENTS * ROUNDS)) "end"
echo "# $IMMEDIATE immediate stops, $KILLED backends killed; $CHECKS checks, $FAILURES failed, $(($(date +%s) - T0)) s"
[ "$FAILURES" = 0 ]
