#!/usr/bin/env bash
# bench/mutations.sh: what convex_mutation adds to a call, side by side in one run.
#
#   dispatch    messages.send called directly vs through convex_mutation('messages:send')
#   registered  a no-op handler called directly vs through convex_mutation, with no
#               args validator and with transferFunds' validator (two ids, a number)
#   transfer    seed 001's transferFunds through convex_mutation vs the same logic
#               hand-written in PL/pgSQL over a plain table (SELECT ... FOR UPDATE,
#               two UPDATEs) vs the floor: the two UPDATEs alone
#
# Each workload is N calls inside one statement (median of 3 runs), so what is
# measured is the per-call work, not the client round trip.
# Usage: bash bench/mutations.sh [calls]   (default 50000)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

N=${1:-50000}
DB=convexlite_mutations
cvx_cluster_start bench 54333 convexlite_bench
cvx_psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
cvx_psql -q -d "$DB" -v ON_ERROR_STOP=1 -v n="$N" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
CREATE SCHEMA plain;

-- A no-op handler, registered twice: without and with an args validator
CREATE FUNCTION plain.noop(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
SELECT convex_define_mutation('bench:noopAny', 'plain.noop(jsonb)', '{"type": "any"}');
SELECT convex_define_mutation('bench:noopValidated', 'plain.noop(jsonb)',
  '{"type": "object", "value": {
      "fromId": {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "toId":   {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "amount": {"fieldType": {"type": "number"}, "optional": false}}}',
  '{"type": "null"}');

-- Seed 001's accounts and transferFunds, as the README writes them
SELECT convex_define_table('accounts',
  '{"owner": {"fieldType": {"type": "string"}, "optional": false},
    "balance": {"fieldType": {"type": "number"}, "optional": false}}');
CREATE FUNCTION plain.transfer_funds(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  from_doc jsonb := convex_db_get('accounts', args->>'fromId');
  to_doc   jsonb := convex_db_get('accounts', args->>'toId');
  amount   float8 := (args->>'amount')::float8;
BEGIN
  IF from_doc IS NULL OR to_doc IS NULL THEN RAISE EXCEPTION 'Account not found'; END IF;
  IF (from_doc->>'balance')::float8 < amount THEN RAISE EXCEPTION 'Insufficient funds'; END IF;
  PERFORM convex_db_patch('accounts', args->>'fromId',
                          jsonb_build_object('balance', (from_doc->>'balance')::float8 - amount));
  PERFORM convex_db_patch('accounts', args->>'toId',
                          jsonb_build_object('balance', (to_doc->>'balance')::float8 + amount));
  RETURN 'null';
END $$;
SELECT convex_define_mutation('accounts:transferFunds', 'plain.transfer_funds(jsonb)',
  '{"type": "object", "value": {
      "fromId": {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "toId":   {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "amount": {"fieldType": {"type": "number"}, "optional": false}}}',
  '{"type": "null"}');
-- enough accounts that each is touched a few times per run, not hundreds
SELECT count(convex_db_insert('accounts', json_build_object('owner', 'o' || i, 'balance', 1e9)::jsonb))
  FROM generate_series(1, 10000) AS i;

-- The hand-written version: a plain table with the same columns, the same
-- checks, row locks taken by hand
CREATE TABLE plain.accounts (LIKE convex.accounts INCLUDING ALL);
INSERT INTO plain.accounts SELECT * FROM convex.accounts;
CREATE FUNCTION plain.transfer_by_hand(from_id text, to_id text, amount float8) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  from_balance float8;
  to_balance float8;
BEGIN
  SELECT balance INTO from_balance FROM plain.accounts WHERE _id = from_id FOR UPDATE;
  SELECT balance INTO to_balance FROM plain.accounts WHERE _id = to_id FOR UPDATE;
  IF from_balance IS NULL OR to_balance IS NULL THEN RAISE EXCEPTION 'Account not found'; END IF;
  IF from_balance < amount THEN RAISE EXCEPTION 'Insufficient funds'; END IF;
  UPDATE plain.accounts SET balance = from_balance - amount WHERE _id = from_id;
  UPDATE plain.accounts SET balance = to_balance + amount WHERE _id = to_id;
END $$;
-- the floor: the two UPDATEs, nothing read, nothing checked
CREATE FUNCTION plain.transfer_floor(from_id text, to_id text, amount float8) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE plain.accounts SET balance = balance - amount WHERE _id = from_id;
  UPDATE plain.accounts SET balance = balance + amount WHERE _id = to_id;
END $$;

-- N random transfers, built ahead so that building JSON is not timed
CREATE TABLE plain.transfers AS
WITH ids AS (SELECT array_agg(_id ORDER BY _id) AS a FROM convex.accounts)
SELECT i, ids.a[1 + (i::bigint * 7919) % 10000] AS from_id, ids.a[1 + (i::bigint * 104729 + 1) % 10000] AS to_id,
       (1 + i % 100)::float8 AS amount,
       json_build_object('fromId', ids.a[1 + (i::bigint * 7919) % 10000], 'toId', ids.a[1 + (i::bigint * 104729 + 1) % 10000],
                         'amount', 1 + i % 100)::jsonb AS args
  FROM generate_series(1, :n) AS i, ids;
CREATE TABLE plain.send_args AS
SELECT i, '{"roomId": "general", "content": "hello there", "userName": "bench", "sessionId": "s1"}'::jsonb AS args
  FROM generate_series(1, :n) AS i;
VACUUM ANALYZE;
SQL

diff_us() { awk -v a="$1" -v b="$2" -v n="$N" 'BEGIN { printf "%+.2f", (a - b) * 1000 / n }'; }

send_direct=$(median_ms "SELECT count(convex_messages_send(args)) FROM plain.send_args;")
send_dispatch=$(median_ms "SELECT count(convex_mutation('messages:send', args)) FROM plain.send_args;")
noop_direct=$(median_ms "SELECT count(plain.noop(args)) FROM plain.transfers;")
noop_any=$(median_ms "SELECT count(convex_mutation('bench:noopAny', args)) FROM plain.transfers;")
noop_validated=$(median_ms "SELECT count(convex_mutation('bench:noopValidated', args)) FROM plain.transfers;")
transfer=$(median_ms "SELECT count(convex_mutation('accounts:transferFunds', args)) FROM plain.transfers;")
by_hand=$(median_ms "SELECT count(plain.transfer_by_hand(from_id, to_id, amount)) FROM plain.transfers;")
floor=$(median_ms "SELECT count(plain.transfer_floor(from_id, to_id, amount)) FROM plain.transfers;")

cvx_step "convex_mutation: $N calls in one statement, median of 3 (us per call)"
printf '%-62s %10s %10s\n' workload "us/call" "vs"
printf '%-62s %10s\n' "messages.send called directly" "$(per_call "$send_direct")"
printf '%-62s %10s %10s\n' "messages.send through convex_mutation" "$(per_call "$send_dispatch")" "$(diff_us "$send_dispatch" "$send_direct")"
printf '%-62s %10s\n' "no-op PL/pgSQL handler called directly" "$(per_call "$noop_direct")"
printf '%-62s %10s %10s\n' "no-op through convex_mutation, args v.any()" "$(per_call "$noop_any")" "$(diff_us "$noop_any" "$noop_direct")"
printf '%-62s %10s %10s\n' "no-op through convex_mutation, transferFunds' validators" "$(per_call "$noop_validated")" "$(diff_us "$noop_validated" "$noop_any")"
printf '%-62s %10s\n' "transfer floor: two UPDATEs (PL/pgSQL)" "$(per_call "$floor")"
printf '%-62s %10s %10s\n' "transfer hand-written in PL/pgSQL (FOR UPDATE, checks)" "$(per_call "$by_hand")" "$(ratio "$by_hand" "$floor")x"
printf '%-62s %10s %10s\n' "accounts:transferFunds through convex_mutation" "$(per_call "$transfer")" "$(ratio "$transfer" "$floor")x"
printf '%-62s %10s %10s\n' "  ... against the hand-written version" "" "$(ratio "$transfer" "$by_hand")x"
