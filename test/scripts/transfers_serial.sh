#!/usr/bin/env bash
# test/scripts/transfers_serial.sh: seed 001's transferFunds, as the seed
# wrote it (get from, get to, check, patch, patch), under 16 clients that
# never retry, at READ COMMITTED: convex_mutation resolves every conflict
# itself (issue "Concurrent mutations are serialized").
#
# Runs on 2, 6 and 100 accounts.  A transfer picks two random accounts; 1 in
# 10 goes from an account to itself, 1 in 50 to a deleted account.  The
# wrapper try_transfer() catches only the seed's two user errors and logs
# each outcome in the same transaction (transfer_log).
#
# Checks after each run: pgbench saw no error at all (no 40001, no 40P01, no
# client aborted; and after the three runs PostgreSQL's deadlock counter for the
# database has not moved: no call waited for deadlock detection); no balance is negative; every balance equals its start
# plus its ledger; the money is conserved, except what the seed's own code
# creates on a transfer to the same account (it patches from, then writes
# to's stale balance + amount: every serial order gives +amount, as Convex
# does; the ledger counts it so).  And a fixed number of transactions (-t)
# so that a slow machine still checks the same amount of work.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops database
# convexlite_transfers_serial.  PASS/FAIL per check; exit 1 on any failure.
set -uo pipefail

DB=convexlite_transfers_serial
CLIENTS=16
PER_CLIENT=${TRANSFERS_PER_CLIENT:-60}
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

T0=$(date +%s)
if ! psql_admin -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"; then
	fail "setup: could not create database $DB"
	exit 1
fi
if ! psql_db >"$WORK/setup.log" 2>&1 <<'EOF'; then
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
SELECT convex_define_table('accounts', '{
    "owner":   {"fieldType": {"type": "string"}, "optional": false},
    "balance": {"fieldType": {"type": "number"}, "optional": false}}');

-- The seed's transferFunds handler, as written
CREATE FUNCTION transfer_funds(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    from_doc jsonb;
    to_doc   jsonb;
BEGIN
    from_doc := convex_db_get('accounts', args->>'fromId');
    to_doc   := convex_db_get('accounts', args->>'toId');
    IF from_doc IS NULL OR to_doc IS NULL THEN
        RAISE EXCEPTION 'Account not found';
    END IF;
    IF (from_doc->>'balance')::float8 < (args->>'amount')::float8 THEN
        RAISE EXCEPTION 'Insufficient funds';
    END IF;
    PERFORM convex_db_patch('accounts', args->>'fromId', jsonb_build_object(
        'balance', (from_doc->>'balance')::float8 - (args->>'amount')::float8));
    PERFORM convex_db_patch('accounts', args->>'toId', jsonb_build_object(
        'balance', (to_doc->>'balance')::float8 + (args->>'amount')::float8));
    RETURN 'null'::jsonb;
END
$$;
SELECT convex_define_mutation('accounts:transferFunds', 'transfer_funds(jsonb)',
    '{"type": "object", "value": {
        "fromId": {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
        "toId":   {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
        "amount": {"fieldType": {"type": "number"}, "optional": false}}}',
    '{"type": "null"}');

CREATE TABLE transfer_log (
    run text NOT NULL, outcome text NOT NULL,
    from_id text NOT NULL, to_id text NOT NULL, amount float8 NOT NULL);

-- The seed's user errors are an answer: catch only those
CREATE FUNCTION try_transfer(run text, from_id text, to_id text, amount int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    msg text;
    result text := 'ok';
BEGIN
    BEGIN
        PERFORM convex_mutation('accounts:transferFunds',
            jsonb_build_object('fromId', from_id, 'toId', to_id, 'amount', amount));
    EXCEPTION WHEN raise_exception THEN
        GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
        IF msg NOT IN ('Insufficient funds', 'Account not found') THEN
            RAISE;
        END IF;
        result := msg;
    END;
    INSERT INTO transfer_log VALUES (run, result, from_id, to_id, amount);
    RETURN result;
END
$$;
CREATE TABLE initial (run text, k int, id text PRIMARY KEY, balance float8 NOT NULL);
EOF
	fail "setup: CREATE EXTENSION, table, handler or mutation failed in $DB"
	sed 's/^/    | /' "$WORK/setup.log"
	exit 1
fi
GHOST=$(q "SELECT convex_db_insert('accounts', '{\"owner\": \"ghost\", \"balance\": 0}')")
q "SELECT convex_db_delete('accounts', '$GHOST')" >/dev/null

count_line() {
	local n
	n=$(sed -nE "s/^$2: ([0-9]+).*/\\1/p" "$1" | head -n 1)
	echo "${n:-0}"
}

# run_accounts N: N fresh accounts of 500 each, PER_CLIENT transfers per client
run_accounts() {
	local n=$1 run="a$1" log errors processed ids
	q "INSERT INTO initial SELECT '$run', g,
	     convex_db_insert('accounts', jsonb_build_object('owner', '$run ' || g, 'balance', 500)), 500
	     FROM generate_series(1, $n) g" >/dev/null
	ids=$(q "SELECT '{' || string_agg(id, ',' ORDER BY k) || '}' FROM initial WHERE run = '$run'")
	cat >"$WORK/$run.sql" <<EOF
\\set f random(1, $n)
\\set d random(0, 9)
\\set t case when :d = 0 then :f else random(1, $n) end
\\set ghost random(1, 50)
\\set amount random(1, 200)
SELECT try_transfer('$run', ('$ids'::text[])[:f],
                    CASE WHEN :ghost = 1 THEN '$GHOST' ELSE ('$ids'::text[])[:t] END, :amount);
EOF
	log=$WORK/$run.log
	PGOPTIONS="${PGOPTIONS:-} -c default_transaction_isolation=read\\ committed" \
		"$PGBENCH" -n -c "$CLIENTS" -j 4 -t "$PER_CLIENT" --max-tries=1 --verbose-errors \
		-f "$WORK/$run.sql" "$DB" >"$log" 2>&1
	processed=$(count_line "$log" "number of transactions actually processed")
	errors=$(grep -oE 'ERROR:  .*' "$log" | sort | uniq -c | sort -rn)
	check "$n accounts: transactions committed" "$((CLIENTS * PER_CLIENT))" "$processed"
	check "$n accounts: errors clients saw (40001, 40P01, anything)" "" "$errors"
	check "$n accounts: no negative balance" 0 \
		"$(q "SELECT count(*) FROM initial i JOIN convex.accounts a ON a._id = i.id WHERE i.run = '$run' AND a.balance < 0")"
	# the ledger: a transfer to another account moves amount; to itself adds amount
	check "$n accounts: every balance = start + its ledger" 0 \
		"$(q "SELECT count(*) FROM initial i LEFT JOIN convex.accounts a ON a._id = i.id
		       WHERE i.run = '$run' AND a.balance IS DISTINCT FROM i.balance
		         + (SELECT coalesce(sum(amount), 0) FROM transfer_log l WHERE l.outcome = 'ok' AND l.to_id = i.id)
		         - (SELECT coalesce(sum(amount), 0) FROM transfer_log l WHERE l.outcome = 'ok' AND l.from_id = i.id AND l.to_id <> i.id)")"
	check "$n accounts: money conserved (plus the seed's self-transfers)" t \
		"$(q "SELECT (SELECT sum(a.balance) FROM initial i JOIN convex.accounts a ON a._id = i.id WHERE i.run = '$run')
		           = (SELECT sum(balance) FROM initial WHERE run = '$run')
		           + (SELECT coalesce(sum(amount), 0) FROM transfer_log WHERE run = '$run' AND outcome = 'ok' AND from_id = to_id)")"
	echo "# $n accounts: $(q "SELECT string_agg(outcome || ' ' || c, ', ') FROM (SELECT outcome, count(*) c FROM transfer_log WHERE run = '$run' GROUP BY 1 ORDER BY 1) x"); $(grep -E '^tps' "$log")"
}

# deadlocks PostgreSQL detected in this database (its statistics are flushed
# within a second of each transaction's end)
deadlocks() { q "SELECT pg_stat_force_next_flush(); SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()" | tail -n 1; }
DEADLOCKS0=$(deadlocks)
run_accounts 2
run_accounts 6
run_accounts 100
sleep 1
check "no deadlock was ever detected: opposite-order transfers give their locks back instead of waiting" \
	0 "$(($(deadlocks) - DEADLOCKS0))"
check "some transfers were refused (Insufficient funds, Account not found)" t \
	"$(q "SELECT count(DISTINCT outcome) = 3 FROM transfer_log")"

echo "# attempts: $(q "SELECT convex_conflict_stats()" 2>/dev/null || echo 'n/a')"
echo "transfers_serial: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "transfers_serial: FAIL"
	exit 1
fi
echo "transfers_serial: PASS"
exit 0
