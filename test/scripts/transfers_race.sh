#!/usr/bin/env bash
# test/scripts/transfers_race.sh: the seed's transferFunds under many
# concurrent clients, at every isolation level.
#
# SPEC §6: "mutations are serializable in effect.  The seed's transferFunds
# written with these functions keeps its invariant under many concurrent
# clients: no lost update, no negative balance.  A conflict either waits or
# fails with a retryable SQLSTATE (40001/40P01)."  Since 0.3.0 convex_mutation
# resolves conflicts itself at READ COMMITTED (transfers_serial.sh checks that
# no client sees one); at REPEATABLE READ and SERIALIZABLE a stale snapshot
# still fails with 40001, convex_mutation's own message or PostgreSQL's.
#
# Setup (database convexlite_transfers, created and dropped here):
#   - table accounts {owner: v.string(), balance: v.number()} (convex_define_table),
#     10 accounts with balances 100, 200, ..., 1000, and one deleted account
#     (a well-formed Id<"accounts"> that no longer exists);
#   - the seed's handler in PL/pgSQL, as the seed writes it: get from, get to,
#     "Account not found", "Insufficient funds", patch both, return null;
#     registered as accounts:transferFunds with the seed's args and returns;
#   - a wrapper try_transfer() that calls convex_mutation and catches ONLY the
#     seed's two user errors (P0001 with those messages), and logs the outcome
#     (ok / refused) in transfer_log in the same transaction.  Every other error,
#     among them 40001 and 40P01, reaches pgbench.
# Load: pgbench, 8 clients, one transfer per transaction between two distinct
# random accounts (1 in 50 to the deleted account), amount 1..300, so that
# refusals and opposite-order transfers (deadlock candidates) both happen;
# at READ COMMITTED, REPEATABLE READ and SERIALIZABLE with --max-tries=10
# (pgbench retries 40001/40P01, any other error aborts its client), then once
# more at SERIALIZABLE with --max-tries=1 to show what a client sees without
# retrying.
# Checks after each run: no client aborted; every error a client saw was a
# serialization failure or a deadlock (--verbose-errors); failed transactions
# are only of those kinds (--failures-detailed) and match the errors seen;
# the run ran at the level asked for; every committed transaction logged
# exactly one outcome; the sum of balances is unchanged; no balance is
# negative; every balance equals its initial balance plus the credits minus
# the debits of the logged transfers (no lost update); some transfers
# succeeded and some were refused for "Insufficient funds".
#
# The seed's handler creates money when fromId = toId (it patches from, then
# overwrites with to's stale balance + amount; Convex does the same), so the
# two accounts of a transfer are always distinct.
#
# Time limits are the cluster's (convexlite.mutation_timeout and
# deadlock_timeout, 1 s by default): clients waiting behind a deadlock wait
# about deadlock_timeout, and such waits must not count as execution.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser) from the environment.  Prints
# "ok N - ..." / "not ok N - ..." per check and a summary; exits 1 on any failure.
# TRANSFERS_SECONDS (default 7) sets each retrying run's length.
set -uo pipefail

DB=convexlite_transfers
CLIENTS=8
SECONDS_PER_RUN=${TRANSFERS_SECONDS:-7}
NO_RETRY_SECONDS=3
ACCOUNTS=10

# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

# TAP-style lines for this script's checks (check() from checks.sh uses these)
pass() {
	CHECKS=$((CHECKS + 1))
	echo "ok $CHECKS - $*"
}
fail() {
	CHECKS=$((CHECKS + 1))
	FAILURES=$((FAILURES + 1))
	echo "not ok $CHECKS - $*"
}

T0=$(date +%s)
echo "transfers_race: database $DB, $CLIENTS clients, ${SECONDS_PER_RUN}s per isolation level"

# --- setup ---------------------------------------------------------------------
if ! fresh_db no-extension; then
	fail "setup: could not create database $DB"
	exit 1
fi
if ! psql_db >"$WORK/setup.log" 2>&1 <<'EOF'; then
SET client_min_messages = warning;
CREATE EXTENSION convexlite;

-- defineTable("accounts", {owner: v.string(), balance: v.number()})
SELECT convex_define_table('accounts', '{
    "owner":   {"fieldType": {"type": "string"}, "optional": false},
    "balance": {"fieldType": {"type": "number"}, "optional": false}}');

-- The seed's transferFunds handler
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

    -- Both updates succeed or both fail
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

-- What the clients did, written in the same transaction as the mutation
CREATE TABLE transfer_log (
    run       text NOT NULL,
    isolation text NOT NULL,
    outcome   text NOT NULL,          -- 'ok', 'Insufficient funds', 'Account not found'
    from_id   text NOT NULL,
    to_id     text NOT NULL,
    amount    float8 NOT NULL
);

-- Run the mutation; the seed's user errors are an answer, not a failure:
-- catch only those, let everything else (40001, 40P01, ...) reach the client.
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
    INSERT INTO transfer_log
        VALUES (run, current_setting('transaction_isolation'), result, from_id, to_id, amount);
    RETURN result;
END
$$;

CREATE TABLE initial (id text PRIMARY KEY, balance float8 NOT NULL);
INSERT INTO initial
    SELECT convex_db_insert('accounts', jsonb_build_object('owner', 'owner ' || g, 'balance', 100 * g)),
           100 * g
      FROM generate_series(1, 10) AS g;
EOF
	fail "setup: CREATE EXTENSION, table, handler or mutation failed in $DB"
	sed 's/^/    | /' "$WORK/setup.log"
	exit 1
fi
GHOST=$(q "SELECT convex_db_insert('accounts', '{\"owner\": \"ghost\", \"balance\": 0}')")
q "SELECT convex_db_delete('accounts', '$GHOST')" >/dev/null
IDS=$(q "SELECT '{' || string_agg(id, ',' ORDER BY balance) || '}' FROM initial")
TOTAL=$(q "SELECT sum(balance) FROM initial")
check "setup: $ACCOUNTS accounts, total balance" "$ACCOUNTS $TOTAL" \
	"$(q "SELECT count(*) || ' ' || sum(balance) FROM convex.accounts")"
check "setup: one transfer by hand through convex_mutation" "ok" \
	"$(q "SELECT try_transfer('setup', '$(q "SELECT id FROM initial ORDER BY balance DESC LIMIT 1")',
	                          '$(q "SELECT id FROM initial ORDER BY balance LIMIT 1")', 1)")"
check "setup: a refusal by hand (Insufficient funds)" "Insufficient funds" \
	"$(q "SELECT try_transfer('setup', '$(q "SELECT id FROM initial ORDER BY balance LIMIT 1")',
	                          '$(q "SELECT id FROM initial ORDER BY balance DESC LIMIT 1")', 100000)")"
check "setup: a refusal by hand (Account not found)" "Account not found" \
	"$(q "SELECT try_transfer('setup', '$(q "SELECT id FROM initial LIMIT 1")', '$GHOST', 1)")"

# One transfer per transaction: two distinct accounts (1 in 50 to the deleted
# one), amount 1..300.  Autocommit: the SELECT is the whole transaction.
cat >"$WORK/transfer.sql" <<EOF
\\set f random(1, $ACCOUNTS)
\\set d random(1, $((ACCOUNTS - 1)))
\\set t (:f + :d - 1) % $ACCOUNTS + 1
\\set ghost random(1, 50)
\\set amount random(1, 300)
SELECT try_transfer(:run, (:ids::text[])[:f],
                    CASE WHEN :ghost = 1 THEN :ghostid ELSE (:ids::text[])[:t] END, :amount);
EOF

# convex_mutation's 40001 messages (README "Concurrency")
CVX_40001='mutation accounts:transferFunds (conflicted with a concurrent transaction and cannot be retried|still conflicted with concurrent mutations)'

# count_line LOG PATTERN: the first number after "PATTERN:" in pgbench's report (0 if absent)
count_line() {
	local n
	n=$(sed -nE "s/^$2: ([0-9]+).*/\\1/p" "$1" | head -n 1)
	echo "${n:-0}"
}

# run_level NAME ISOLATION MAX_TRIES SECONDS: one pgbench run and its checks
SUMMARY=()
run_level() {
	local run=$1 iso=$2 tries=$3 secs=$4 level pretty log rc processed failed ser dl retried retries
	local bad aborted seen ser_seen dl_seen n_ok n_insufficient n_notfound
	level=${iso^^}
	pretty=$level
	[ "$tries" -eq 1 ] && pretty="$level, no retry"
	log=$WORK/$run.log
	echo "# $level, --max-tries=$tries, ${secs}s"
	PGOPTIONS="${PGOPTIONS:-} -c default_transaction_isolation=${iso// /\\ }" \
		"$PGBENCH" -n -M prepared -c "$CLIENTS" -j 4 -T "$secs" \
		--max-tries="$tries" --failures-detailed --verbose-errors \
		-D run="$run" -D ids="$IDS" -D ghostid="$GHOST" \
		-f "$WORK/transfer.sql" "$DB" >"$log" 2>&1
	rc=$?
	processed=$(count_line "$log" "number of transactions actually processed")
	failed=$(count_line "$log" "number of failed transactions")
	ser=$(count_line "$log" "number of serialization failures")
	dl=$(count_line "$log" "number of deadlock failures")
	retried=$(count_line "$log" "number of transactions retried")
	retries=$(count_line "$log" "total number of retries")
	aborted=$(grep -cE 'client [0-9]+ (script [0-9]+ )?aborted' "$log")
	# Every error a client saw (retried, failed or aborting it): --verbose-errors
	# prints each one.  pgbench's threads share stderr, so lines may carry extra
	# "pgbench: " prefixes: take each "ERROR:  message" wherever it is.
	grep -oE 'ERROR:  .*' "$log" >"$WORK/$run.errors"
	seen=$(wc -l <"$WORK/$run.errors")
	# 40001: PostgreSQL's, or convex_mutation's own (a stale snapshot, or a
	# call still conflicting after its retries)
	ser_seen=$(grep -cE "^ERROR:  (could not serialize access due to |$CVX_40001)" "$WORK/$run.errors")
	dl_seen=$(grep -cE '^ERROR:  deadlock detected' "$WORK/$run.errors")
	bad=$(grep -vE "^ERROR:  (could not serialize access due to |deadlock detected|$CVX_40001)" "$WORK/$run.errors")
	if [ "$rc" -eq 0 ] && [ "$aborted" -eq 0 ] && [ "$processed" -gt 0 ]; then
		pass "$pretty: pgbench exit 0, no client aborted, $processed transactions"
	else
		fail "$pretty: pgbench exit $rc, $aborted clients aborted, $processed transactions"
		grep -iE 'abort|error|fatal' "$log" | grep -vE "could not serialize|deadlock detected|$CVX_40001" |
			head -n 10 | sed 's/^/    | /'
	fi
	if [ -z "$bad" ]; then
		pass "$pretty: every error clients saw is 40001 or 40P01 ($ser_seen serialization, $dl_seen deadlock)"
	else
		fail "$pretty: clients saw other errors than 40001/40P01 ($((seen - ser_seen - dl_seen)) of $seen)"
		printf '%s\n' "$bad" | sort | uniq -c | sort -rn | head -n 10 | sed 's/^/    | /'
	fi
	# pgbench's counts leave out the transaction a client was running when the
	# time ran out (at most one per client, with at most MAX_TRIES errors).
	if [ $((ser_seen + dl_seen)) -ge $((retries + failed)) ] &&
		[ $((ser_seen + dl_seen)) -le $((retries + failed + CLIENTS * tries)) ]; then
		pass "$pretty: the 40001/40P01 errors seen match pgbench's $retries retries + $failed failures"
	else
		fail "$pretty: $((ser_seen + dl_seen)) 40001/40P01 errors seen, pgbench counts $retries retries + $failed failures"
	fi
	if [ "$failed" -eq $((ser + dl)) ]; then
		pass "$pretty: failed transactions are only serialization/deadlock failures ($failed = $ser + $dl)"
	else
		fail "$pretty: $failed failed transactions, of which $ser serialization and $dl deadlock failures"
	fi
	check "$pretty: the transactions ran at $level" "$level" \
		"$(q "SELECT coalesce(string_agg(DISTINCT upper(isolation), ','), 'none') FROM transfer_log WHERE run = '$run'")"
	check "$pretty: one logged outcome per committed transaction" "$processed" \
		"$(q "SELECT count(*) FROM transfer_log WHERE run = '$run'")"
	check "$pretty: the sum of balances is unchanged" "$TOTAL" "$(q "SELECT sum(balance) FROM convex.accounts")"
	check "$pretty: no negative balance" 0 "$(q "SELECT count(*) FROM convex.accounts WHERE balance < 0")"
	check "$pretty: no lost update: each balance = initial + credits - debits" 0 \
		"$(q "SELECT count(*) FROM initial i FULL JOIN convex.accounts a ON a._id = i.id
		       WHERE a.balance IS DISTINCT FROM i.balance
		             + (SELECT coalesce(sum(amount), 0) FROM transfer_log WHERE outcome = 'ok' AND to_id = i.id)
		             - (SELECT coalesce(sum(amount), 0) FROM transfer_log WHERE outcome = 'ok' AND from_id = i.id)")"
	n_ok=$(q "SELECT count(*) FROM transfer_log WHERE run = '$run' AND outcome = 'ok'")
	n_insufficient=$(q "SELECT count(*) FROM transfer_log WHERE run = '$run' AND outcome = 'Insufficient funds'")
	n_notfound=$(q "SELECT count(*) FROM transfer_log WHERE run = '$run' AND outcome = 'Account not found'")
	# "Account not found" is 1 in 50 and a slow run may see none: reported only
	# (setup checks it by hand).
	if [ "$n_ok" -gt 0 ] && [ "$n_insufficient" -gt 0 ]; then
		pass "$pretty: $n_ok transfers and $n_insufficient 'Insufficient funds' ($n_notfound 'Account not found')"
	else
		fail "$pretty: want transfers and refusals: $n_ok transfers, $n_insufficient 'Insufficient funds' ($n_notfound 'Account not found')"
	fi
	SUMMARY+=("$(printf '%-26s tries=%-2s %6s committed: %6s transfers %5s insufficient %4s not found | %5s failed (%s serialization, %s deadlock) | retried %s txns, %s retries | errors seen: %s serialization, %s deadlock' \
		"$pretty" "$tries" "$processed" "$n_ok" "$n_insufficient" "$n_notfound" "$failed" "$ser" "$dl" "$retried" "$retries" "$ser_seen" "$dl_seen")")
}

run_level rc "read committed" 10 "$SECONDS_PER_RUN"
run_level rr "repeatable read" 10 "$SECONDS_PER_RUN"
run_level sr serializable 10 "$SECONDS_PER_RUN"
run_level sr1 serializable 1 "$NO_RETRY_SECONDS"

# --- summary -------------------------------------------------------------------
printf '# %s\n' "${SUMMARY[@]}"
echo "# final balances: $(q "SELECT string_agg(a.balance::text, ' ' ORDER BY i.balance) FROM convex.accounts a JOIN initial i ON i.id = a._id")"
echo "transfers_race: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "transfers_race: FAIL"
	exit 1
fi
echo "transfers_race: PASS"
exit 0
