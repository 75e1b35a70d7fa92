#!/usr/bin/env bash
# test/scripts/retry_undo.sh: a mutation that conflicts is run again inside
# convex_mutation, and nothing of its failed attempt remains.
#
# gate:effects reads the gate document, then does everything that leaves a
# trace: schedules a job (ctx.scheduler), asks for an upload URL (an upload
# token), sends a message through a nested runMutation (a document and a
# NOTIFY), and finally patches the gate.  Session H holds the gate in a read
# (gate:peek inside an open transaction) for 1.5 s, so the first attempt's
# patch conflicts: convex_mutation must undo that attempt, wait for H, and
# run the mutation again.  The call runs with convexlite.max_documents_written
# = 3 and convexlite.max_functions_scheduled = 1, exactly one attempt's worth,
# so the second attempt fails with 54000 unless the limit counters were reset.
#
# Checks: the call returned without error; it took 2 attempts
# (convex_conflict_stats); exactly one job, one upload token, one message,
# one notification of it (a listening session), and the gate patched once.
# Then gate:stubborn, whose handler catches every error (its conflict too),
# conflicts the same way: it must be run again, not return its "caught".
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops database
# convexlite_retry_undo.  PASS/FAIL per check; exit 1 on any failure.
set -uo pipefail

DB=convexlite_retry_undo
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

if ! psql_admin -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"; then
	fail "setup: could not create database $DB"
	exit 1
fi
if ! psql_db >"$WORK/setup.log" 2>&1 <<'EOF'; then
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
SELECT convex_define_table('gate', '{"v": {"fieldType": {"type": "number"}, "optional": false}}');
CREATE FUNCTION gate_peek(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    RETURN convex_db_get('gate', args->>'gate');
END $$;
CREATE FUNCTION gate_effects(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    gate jsonb := convex_db_get('gate', args->>'gate');
BEGIN
    PERFORM convex_scheduler_run_after(3600000, 'messages:send',
        '{"roomId": "later", "content": "job", "userName": "undo"}');
    PERFORM convex_mutation('files:generateUploadUrl', '{}');
    PERFORM convex_mutation('messages:send', '{"roomId": "undo", "content": "once", "userName": "undo"}');
    PERFORM convex_db_patch('gate', args->>'gate', jsonb_build_object('v', (gate->>'v')::int + 1));
    RETURN 'null';
END $$;
-- a handler that catches every error, its conflict included
CREATE FUNCTION gate_stubborn(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    gate jsonb;
BEGIN
    BEGIN
        gate := convex_db_get('gate', args->>'gate');
        PERFORM convex_db_patch('gate', args->>'gate', jsonb_build_object('v', (gate->>'v')::int + 10));
    EXCEPTION WHEN OTHERS THEN
        RETURN '"caught"';
    END;
    RETURN '"done"';
END $$;
SELECT convex_define_mutation('gate:stubborn', 'gate_stubborn(jsonb)', '{"type": "any"}');
SELECT convex_define_mutation('gate:peek', 'gate_peek(jsonb)', '{"type": "any"}');
SELECT convex_define_mutation('gate:effects', 'gate_effects(jsonb)', '{"type": "any"}');
EOF
	fail "setup: tables, handlers or mutations failed in $DB"
	sed 's/^/    | /' "$WORK/setup.log"
	exit 1
fi
GATE=$(q "SELECT convex_db_insert('gate', '{\"v\": 0}')")
TOKENS=$(q "SELECT count(*) FROM convex._upload_tokens")
q "SELECT convex_conflict_stats_reset()" >/dev/null 2>&1

# a listener for the messages' notifications (printed after its pg_sleep)
psql_db -c "LISTEN convex_messages" -c "SELECT pg_sleep(6)" >"$WORK/listen.log" 2>&1 &
LISTENER=$!
# H: reads the gate in a mutation and keeps its transaction open
PGAPPNAME=undo_holder psql_db -c "BEGIN" \
	-c "SELECT convex_mutation('gate:peek', jsonb_build_object('gate', '$GATE'))" \
	-c "SELECT pg_sleep(1.5)" -c "COMMIT" >"$WORK/holder.log" 2>&1 &
HOLDER=$!
wait_for "H to hold the gate" \
	"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'undo_holder' AND query LIKE '%pg_sleep%')"
sleep 0.2
PGOPTIONS="-c convexlite.max_documents_written=3 -c convexlite.max_functions_scheduled=1" \
	psql_db -At -c "SELECT convex_mutation('gate:effects', jsonb_build_object('gate', '$GATE'))" >"$WORK/call.log" 2>&1
RC=$?
wait "$HOLDER"
wait "$LISTENER"

check "the conflicting call returned without error" "0 null" "$RC $(cat "$WORK/call.log")"
check "it took two attempts (the first conflicted with H)" 1 \
	"$(q "SELECT (convex_conflict_stats()->'attempts'->>'2')::int" 2>&1)"
check "one scheduled job" 1 "$(q "SELECT count(*) FROM convex._scheduled_functions WHERE args::text LIKE '%later%'")"
check "one upload token" 1 "$(($(q "SELECT count(*) FROM convex._upload_tokens") - TOKENS))"
check "one message from the nested runMutation" 1 "$(q "SELECT count(*) FROM convex.messages WHERE room_id = 'undo'")"
check "one notification of it" 1 "$(grep -c 'payload ".*undo' "$WORK/listen.log")"
check "the gate patched once" 1 "$(q "SELECT balance FROM (SELECT v AS balance FROM convex.gate) g")"

# A handler that catches its own conflict does not escape it: the attempt
# is run again, and the second one, after H, patches the gate.
PGAPPNAME=undo_holder psql_db -c "BEGIN" \
	-c "SELECT convex_mutation('gate:peek', jsonb_build_object('gate', '$GATE'))" \
	-c "SELECT pg_sleep(1)" -c "COMMIT" >"$WORK/holder2.log" 2>&1 &
HOLDER=$!
wait_for "H to hold the gate again" \
	"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'undo_holder' AND query LIKE '%pg_sleep%')"
check "a handler that catches its conflict is run again, not answered from the failed attempt" '"done" 11' \
	"$(q "SELECT convex_mutation('gate:stubborn', jsonb_build_object('gate', '$GATE'))") $(q "SELECT v FROM convex.gate")"
wait "$HOLDER"

# With convexlite.mutation_retries = 0 the same conflict is the client's:
# 40001 naming the mutation and its one attempt.
PGAPPNAME=undo_holder psql_db -c "BEGIN" \
	-c "SELECT convex_mutation('gate:peek', jsonb_build_object('gate', '$GATE'))" \
	-c "SELECT pg_sleep(1)" -c "COMMIT" >"$WORK/holder3.log" 2>&1 &
HOLDER=$!
wait_for "H to hold the gate a third time" \
	"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'undo_holder' AND query LIKE '%pg_sleep%')"
PGOPTIONS="-c convexlite.mutation_retries=0" psql_db -At \
	-c "\\set VERBOSITY verbose" \
	-c "SELECT convex_mutation('gate:effects', jsonb_build_object('gate', '$GATE'))" >"$WORK/noretry.log" 2>&1
check "mutation_retries = 0: the conflict reaches the client as 40001 after 1 attempt" \
	"ERROR:  40001: mutation gate:effects still conflicted with concurrent mutations after 1 attempt" \
	"$(grep -m1 '^ERROR' "$WORK/noretry.log")"
wait "$HOLDER"
check "mutation_retries = 0: nothing of the failed call remains (gate, messages)" "11 1" \
	"$(q "SELECT v FROM convex.gate") $(q "SELECT count(*) FROM convex.messages WHERE room_id = 'undo'")"

echo "retry_undo: $((CHECKS - FAILURES)) of $CHECKS checks passed"
if [ "$FAILURES" -ne 0 ]; then
	echo "retry_undo: FAIL"
	exit 1
fi
echo "retry_undo: PASS"
exit 0
