#!/usr/bin/env bash
# test/scripts/timeout_lock_wait.sh: limits and lock waits, with two sessions.
#
# SPEC §8 limits a mutation's execution time (convexlite.mutation_timeout);
# the README says time spent waiting for another transaction's lock does not
# count, and that a query inside a mutation fetches at most one document more
# than the read budget still allows.  test/pgtap/limits.sql covers the limits
# in one session; this script covers what needs a second one.  Session A holds
# a row lock for 1.5 s while session B runs a mutation:
#
#   1. control: with mutation_timeout = 500ms, a handler running 1 s fails
#      with Convex's timeout error (the budget is real in this setup).
#   2. B deposits into (reads, then patches) the row A holds: B waits ~1.5 s, three
#      times its budget, then succeeds once A commits; its session's next
#      statement is not cancelled by a leftover timer.
#   3. B reads the row, then runs 1 s: after the lock wait B has a fresh
#      budget, not none: it fails with the timeout and its write is undone.
#   4. max_documents_read = 3, A locks the 5th of 5 documents: B's query over
#      all of them fails with the read limit at once, without waiting for A
#      (it never fetches the 5th); with max_documents_read = 5 it returns all
#      five at once too: since 0.3.0 a mutation's reads take convexlite's
#      conflict locks, not row locks, and a plain SQL row lock does not
#      conflict with them (README "Concurrency": outside mutations).
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops database
# convexlite_timeout_lock.  One PASS/FAIL line per check; exit 1 on any failure.
set -uo pipefail

DB=convexlite_timeout_lock
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"


# now_ms: wall-clock milliseconds
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# hold_lock TABLE ID: session A locks the row and keeps it for 1.5 s (in the
# background, PID in A_PID); returns once A holds the lock
A_PID=
hold_lock() {
	PGAPPNAME=tl_a psql_db -c "BEGIN" \
		-c "SELECT 1 FROM convex.$1 WHERE _id = '$2' FOR UPDATE" \
		-c "SELECT pg_sleep(1.5)" -c "COMMIT" >"$WORK/a.log" 2>&1 &
	A_PID=$!
	wait_for "session A to hold its lock" \
		"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'tl_a'
		                   AND query LIKE '%pg_sleep%' AND state = 'active')"
}

# session_b NAME SQL...: run SQL statements in one session B (each -c; an
# error does not stop the later ones) in the background, PID in B_PID,
# output in $WORK/NAME.log
B_PID=
session_b() {
	local name=$1 args=() s
	shift
	for s in "$@"; do args+=(-c "$s"); done
	PGAPPNAME=tl_b "$PSQL_BIN" -X -At -d "$DB" "${args[@]}" >"$WORK/$name.log" 2>&1 &
	B_PID=$!
}

# b_waited_for_lock: is session B seen waiting for a lock (up to 10 s)?
b_waited_for_lock() {
	wait_for "session B to wait for A's lock" \
		"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'tl_b'
		                   AND wait_event_type = 'Lock')"
}

show_log() { sed 's/^/    | /' "$WORK/$1.log"; }

T0=$(date +%s)

# --- setup ---------------------------------------------------------------------
if ! fresh_db; then
	fail "setup: could not create database $DB with convexlite"
	exit 1
fi
if ! psql_db >/dev/null <<'EOF'; then
SELECT convex_define_table('accounts', '{"owner": {"fieldType": {"type": "string"}, "optional": false},
                                         "balance": {"fieldType": {"type": "number"}, "optional": false}}');
SELECT convex_define_table('rows', '{"n": {"fieldType": {"type": "number"}, "optional": false}}');

-- spin on the CPU for ms milliseconds
CREATE FUNCTION busy(ms float8) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    WHILE clock_timestamp() < t0 + make_interval(secs => ms / 1000) LOOP
    END LOOP;
END
$f$;

-- accounts:deposit {id, amount, workMs?}: read the account (waiting for its
-- lock), add amount to its balance, then spin for workMs; returns the balance
CREATE FUNCTION deposit(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
    account jsonb := convex_db_get('accounts', args->>'id');
    balance float8 := (account->>'balance')::float8 + (args->>'amount')::float8;
BEGIN
    PERFORM convex_db_patch('accounts', args->>'id', jsonb_build_object('balance', balance));
    PERFORM busy(coalesce((args->>'workMs')::float8, 0));
    RETURN to_jsonb(balance);
END
$f$;

-- accounts:work {ms}: spin for ms
CREATE FUNCTION work(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM busy((args->>'ms')::float8);
    RETURN NULL;
END
$f$;

-- rows:scan {}: query every document of rows; returns how many
CREATE FUNCTION scan(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    RETURN to_jsonb((SELECT count(*) FROM convex_db_query('rows')));
END
$f$;

SELECT convex_define_mutation('accounts:deposit', 'deposit(jsonb)', '{"type": "any"}');
SELECT convex_define_mutation('accounts:work', 'work(jsonb)', '{"type": "any"}');
SELECT convex_define_mutation('rows:scan', 'scan(jsonb)', '{"type": "any"}');
SELECT count(convex_db_insert('rows', jsonb_build_object('n', g))) FROM generate_series(1, 5) AS g;
EOF
	fail "setup: could not define the tables and mutations"
	exit 1
fi
ACCOUNT=$(q "SELECT convex_db_insert('accounts', '{\"owner\": \"alice\", \"balance\": 100}')")
LAST_ROW=$(q "SELECT _id FROM convex.rows ORDER BY _creation_time DESC LIMIT 1")
TIMEOUT_ERROR='ERROR:  Function execution timed out (maximum duration: 500ms)'

# --- 1. control: the 500ms budget is enforced ----------------------------------
t=$(now_ms)
session_b control "SET convexlite.mutation_timeout = 500" \
	"SELECT convex_mutation('accounts:work', '{\"ms\": 1000}')"
wait "$B_PID"
elapsed=$(($(now_ms) - t))
if grep -qF "$TIMEOUT_ERROR" "$WORK/control.log" && [ "$elapsed" -lt 1000 ]; then
	pass "control: a handler running 1 s fails with the timeout at 500ms (after $elapsed ms)"
else
	fail "control: expected the timeout error within 1 s, got (after $elapsed ms):"
	show_log control
fi

# --- 2. a lock wait does not count ---------------------------------------------
hold_lock accounts "$ACCOUNT"
t=$(now_ms)
# B prints the mutation's result and how long its statement took (ms)
session_b wait "SET convexlite.mutation_timeout = 500" \
	"SELECT convex_mutation('accounts:deposit', '{\"id\": \"$ACCOUNT\", \"amount\": 10}'),
	        (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::int" \
	"SELECT 'next statement: ' || pg_sleep(0.7)::text"
b_waited_for_lock && waited=1 || waited=0
wait "$A_PID" || fail "lock wait: session A failed: $(cat "$WORK/a.log")"
wait "$B_PID"
result=$(sed -n 2p "$WORK/wait.log")
if [ "$waited" = 1 ] && [ "${result%%|*}" = 110 ] && [ "${result#*|}" -ge 1000 ] 2>/dev/null; then
	pass "lock wait: B's mutation waited for A's lock and succeeded after ${result#*|} ms (budget 500ms; balance 110)"
else
	fail "lock wait: expected B to wait for A (over 1000 ms) and then succeed (waited=$waited):"
	show_log wait
fi
if grep -qx 'next statement: ' "$WORK/wait.log" && ! grep -q ERROR "$WORK/wait.log"; then
	pass "lock wait: B's next statement (700 ms) is not cancelled by a leftover timer"
else
	fail "lock wait: B's next statement did not complete cleanly:"
	show_log wait
fi
check "lock wait: the deposit is committed" 110 "$(q "SELECT balance::int FROM convex.accounts WHERE _id = '$ACCOUNT'")"

# --- 3. after a lock wait, the call still has a (fresh) budget ------------------
hold_lock accounts "$ACCOUNT"
t=$(now_ms)
session_b fresh "SET convexlite.mutation_timeout = 500" \
	"SELECT convex_mutation('accounts:deposit', '{\"id\": \"$ACCOUNT\", \"amount\": 10, \"workMs\": 1000}')"
b_waited_for_lock && waited=1 || waited=0
wait "$A_PID" || fail "fresh budget: session A failed: $(cat "$WORK/a.log")"
wait "$B_PID"
elapsed=$(($(now_ms) - t))
if [ "$waited" = 1 ] && grep -qF "$TIMEOUT_ERROR" "$WORK/fresh.log" && [ "$elapsed" -ge 1500 ]; then
	pass "fresh budget: after waiting for the lock, 1 s of work still fails with the timeout (after $elapsed ms)"
else
	fail "fresh budget: expected a lock wait, then the timeout error (waited=$waited, $elapsed ms):"
	show_log fresh
fi
check "fresh budget: the timed-out deposit is undone" 110 \
	"$(q "SELECT balance::int FROM convex.accounts WHERE _id = '$ACCOUNT'")"

# --- 4. a query refused by the read limit does not fetch past it ---------------
hold_lock rows "$LAST_ROW"
t=$(now_ms)
session_b scan3 "SET convexlite.max_documents_read = 3" "SELECT convex_mutation('rows:scan', '{}')"
wait "$B_PID"
elapsed=$(($(now_ms) - t))
a_alive=$(q "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'tl_a' AND state = 'active')")
if grep -qF 'ERROR:  Too many documents read in a single function execution (limit: 3).' "$WORK/scan3.log" &&
	[ "$elapsed" -lt 1000 ] && [ "$a_alive" = t ]; then
	pass "read limit: a query over 5 documents fails at a limit of 3 without waiting for the locked 5th ($elapsed ms)"
else
	fail "read limit: expected the read limit error at once while A holds the 5th document (A active: $a_alive, $elapsed ms):"
	show_log scan3
fi
wait "$A_PID" || fail "read limit: session A failed: $(cat "$WORK/a.log")"

hold_lock rows "$LAST_ROW"
t=$(now_ms)
session_b scan5 "SET convexlite.max_documents_read = 5" "SELECT convex_mutation('rows:scan', '{}')"
wait "$B_PID"
elapsed=$(($(now_ms) - t))
a_alive=$(q "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'tl_a' AND state = 'active')")
wait "$A_PID" || fail "read limit: session A failed: $(cat "$WORK/a.log")"
if [ "$(cat "$WORK/scan5.log")" = "$(printf 'SET\n5')" ] && [ "$elapsed" -lt 1000 ] && [ "$a_alive" = t ]; then
	pass "read limit: at a limit of 5 the same query returns all 5 at once: a plain row lock does not block a mutation's read ($elapsed ms)"
else
	fail "read limit: expected the query to return 5 without waiting for A's row lock (A active: $a_alive, $elapsed ms):"
	show_log scan5
fi

# --- summary -------------------------------------------------------------------
echo "timeout_lock_wait: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "timeout_lock_wait: FAIL"
	exit 1
fi
echo "timeout_lock_wait: PASS"
exit 0
