#!/usr/bin/env bash
# bench/contention.sh: contended mutations against hand-written PostgreSQL that
# orders its own locks, side by side in one run (README "Concurrency").
#
#   transfer6      seed 001's accounts:transferFunds through convex_mutation, as the
#                  seed wrote it (get, get, check, patch, patch), 16 clients over 6
#                  accounts; peer: plain.transfer_ordered, PL/pgSQL that locks both
#                  rows in id order (SELECT ... ORDER BY _id FOR UPDATE), checks,
#                  and updates both.
#   transfer10k    the same over 10,000 accounts (little contention), at 1 and 16
#                  clients.
#   goc_hot        profiles:getOrCreate (query by_handle with eq, insert when
#                  nothing came back) on one handle, 16 clients; peer:
#                  plain.get_or_create, INSERT ... ON CONFLICT DO NOTHING on a
#                  unique index, then SELECT.
#   goc_10k        the same over 10,000 handles (the tables start empty: the first
#                  calls create, later ones find).
#
# Each point: pgbench -M prepared, one call a transaction, no client retries
# (--max-tries=1), BENCH_CONTENTION_SECONDS (default 5) per run, convexlite and
# the peer alternating, BENCH_CONTENTION_ROUNDS rounds (default 2), median tps.
# convex_conflict_stats() is reset before and read after each convexlite run: the
# attempts histogram is summed over its runs.  deadlock_timeout is the server's.
#
# Output: contention.md (a markdown fragment) in $BENCH_OUT (default bench/out/),
# also printed.
# Usage: bash bench/contention.sh
# Environment: BENCH_CLUSTER (default benchc), BENCH_PORT (default 54338),
#   BENCH_DB, BENCH_OUT, BENCH_CONTENTION_SECONDS, BENCH_CONTENTION_ROUNDS,
#   BENCH_CONTENTION_ONLY (a subset of the points above).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

BENCH_CLUSTER=${BENCH_CLUSTER:-benchc}
BENCH_PORT=${BENCH_PORT:-54338}
SECS=${BENCH_CONTENTION_SECONDS:-5}
ROUNDS=${BENCH_CONTENTION_ROUNDS:-2}
ONLY=" ${BENCH_CONTENTION_ONLY:-transfer6 transfer10k goc_hot goc_10k} "
case $BENCH_CLUSTER in
demo | test) cvx_die "BENCH_CLUSTER=$BENCH_CLUSTER: use a cluster of its own (its database is recreated)" ;;
bench) CRON_DB=convexlite_bench ;;
*) CRON_DB=convexlite_$BENCH_CLUSTER ;;
esac
DB=${BENCH_DB:-$CRON_DB}
OUT_DIR=${BENCH_OUT:-$CVX_ROOT/bench/out}
PGBENCH=$(cvx_pg_bindir)/pgbench
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
mkdir -p "$OUT_DIR"
q() { cvx_psql -d "$DB" -Atq -c "$1"; }

bench_worker_database
cvx_psql -q -d "$DB" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
SELECT convex_define_table('accounts', '{
    "owner":   {"fieldType": {"type": "string"}, "optional": false},
    "balance": {"fieldType": {"type": "number"}, "optional": false}}');
CREATE FUNCTION transfer_funds(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
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
END $$;
SELECT convex_define_mutation('accounts:transferFunds', 'transfer_funds(jsonb)',
    '{"type": "object", "value": {
        "fromId": {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
        "toId":   {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
        "amount": {"fieldType": {"type": "number"}, "optional": false}}}',
    '{"type": "null"}');
SELECT convex_define_table('profiles', '{"handle": {"fieldType": {"type": "string"}, "optional": false}}',
    '{"by_handle": ["handle"]}');
CREATE FUNCTION get_or_create(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    existing jsonb;
BEGIN
    SELECT d INTO existing FROM convex_db_query('profiles', 'by_handle',
        jsonb_build_object('handle', args->>'handle'), 'asc', NULL, 1) AS d;
    IF existing IS NOT NULL THEN
        RETURN existing->'_id';
    END IF;
    RETURN to_jsonb(convex_db_insert('profiles', jsonb_build_object('handle', args->>'handle')));
END $$;
SELECT convex_define_mutation('profiles:getOrCreate', 'get_or_create(jsonb)',
    '{"type": "object", "value": {"handle": {"fieldType": {"type": "string"}, "optional": false}}}', NULL);

-- The peers: plain tables, locks taken by hand in a fixed order
CREATE SCHEMA plain;
CREATE TABLE plain.accounts (id int PRIMARY KEY, owner text NOT NULL, balance float8 NOT NULL);
CREATE FUNCTION plain.transfer_ordered(from_id int, to_id int, amount float8) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    from_balance float8;
BEGIN
    PERFORM 1 FROM plain.accounts WHERE id IN (from_id, to_id) ORDER BY id FOR UPDATE;
    SELECT balance INTO from_balance FROM plain.accounts WHERE id = from_id;
    IF from_balance IS NULL OR NOT EXISTS (SELECT 1 FROM plain.accounts WHERE id = to_id) THEN
        RAISE EXCEPTION 'Account not found';
    END IF;
    IF from_balance < amount THEN
        RAISE EXCEPTION 'Insufficient funds';
    END IF;
    UPDATE plain.accounts SET balance = balance - amount WHERE id = from_id;
    UPDATE plain.accounts SET balance = balance + amount WHERE id = to_id;
END $$;
CREATE TABLE plain.profiles (id bigserial PRIMARY KEY, handle text NOT NULL UNIQUE);
CREATE FUNCTION plain.get_or_create(h text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    found bigint;
BEGIN
    INSERT INTO plain.profiles (handle) VALUES (h) ON CONFLICT (handle) DO NOTHING RETURNING id INTO found;
    IF found IS NULL THEN
        SELECT id INTO found FROM plain.profiles WHERE handle = h;
    END IF;
    RETURN found;
END $$;
CREATE TABLE bench_accounts (n int PRIMARY KEY, cvx text NOT NULL);
SQL

# accounts N: N accounts on each side (replacing the last set), balances that never run out
accounts() {
	# TRUNCATE on both sides: a DELETE would leave the convexlite side (only) dead rows to step over
	q "TRUNCATE bench_accounts, plain.accounts, convex.accounts" >/dev/null
	q "INSERT INTO bench_accounts SELECT g, convex_db_insert('accounts',
	     jsonb_build_object('owner', 'o' || g, 'balance', 1e12)) FROM generate_series(1, $1) g" >/dev/null
	q "INSERT INTO plain.accounts SELECT g, 'o' || g, 1e12 FROM generate_series(1, $1) g" >/dev/null
	q "VACUUM ANALYZE convex.accounts, plain.accounts, bench_accounts" >/dev/null
	cat >"$workdir/transfer.convexlite.sql" <<EOF
\\set f random(1, $1)
\\set d random(1, $(($1 - 1)))
\\set t (:f + :d - 1) % $1 + 1
\\set amount random(1, 100)
SELECT convex_mutation('accounts' || ':' || 'transferFunds',
    ('{"fromId": "' || f.cvx || '", "toId": "' || t.cvx || '", "amount": ' || :amount || '}')::jsonb)
  FROM bench_accounts f, bench_accounts t WHERE f.n = :f AND t.n = :t;
EOF
	cat >"$workdir/transfer.peer.sql" <<EOF
\\set f random(1, $1)
\\set d random(1, $(($1 - 1)))
\\set t (:f + :d - 1) % $1 + 1
\\set amount random(1, 100)
SELECT plain.transfer_ordered(:f, :t, :amount);
EOF
}
# handles N: empty profile tables, calls over N handles
handles() {
	q "TRUNCATE convex.profiles, plain.profiles" >/dev/null
	q "VACUUM ANALYZE convex.profiles, plain.profiles" >/dev/null
	cat >"$workdir/goc.convexlite.sql" <<EOF
\\set h random(1, $1)
SELECT convex_mutation('profiles' || ':' || 'getOrCreate', ('{"handle": "h' || :h || '"}')::jsonb);
EOF
	cat >"$workdir/goc.peer.sql" <<EOF
\\set h random(1, $1)
SELECT plain.get_or_create('h' || :h);
EOF
}

# run KIND VARIANT CLIENTS: one pgbench run; prints "tps failed"
run() {
	local log=$workdir/$1.$2.$3.log
	"$PGBENCH" -n -M prepared -c "$3" -j "$(($3 < 4 ? $3 : 4))" -T "$SECS" --max-tries=1 \
		-f "$workdir/$1.$2.sql" "$DB" >"$log" 2>&1 || true
	awk '/^tps = / { tps = $3 } /^number of failed transactions: / { failed = $5 }
		END { printf "%s %s", tps == "" ? "NaN" : tps, failed == "" ? 0 : failed }' "$log"
}

# point NAME KIND CLIENTS SETUP: ROUNDS rounds of both variants; one table row
rows=$workdir/rows.md
: >"$rows"
point() {
	local name=$1 kind=$2 clients=$3 setup=$4 r cvx=() peer=() cfail=0 pfail=0 tps failed
	local h1=0 h2=0 h3=0 h4=0 h5=0 h6=0 hf=0 stats
	case $ONLY in *" $name "*) ;; *) return 0 ;; esac
	for ((r = 0; r < ROUNDS; r++)); do
		$setup
		for v in $( ((r % 2 == 0)) && echo "convexlite peer" || echo "peer convexlite"); do
			[ "$v" = convexlite ] && q "SELECT convex_conflict_stats_reset()" >/dev/null
			read -r tps failed <<<"$(run "$kind" "$v" "$clients")"
			if [ "$v" = convexlite ]; then
				cvx+=("$tps")
				cfail=$((cfail + failed))
				stats=$(q "SELECT concat_ws(' ', s->'attempts'->>'1', s->'attempts'->>'2', s->'attempts'->>'3',
				                            s->'attempts'->>'4', s->'attempts'->>'5', s->'attempts'->>'6+', s->>'failed')
				             FROM convex_conflict_stats() s")
				read -r a1 a2 a3 a4 a5 a6 af <<<"$stats"
				h1=$((h1 + a1)) h2=$((h2 + a2)) h3=$((h3 + a3)) h4=$((h4 + a4)) h5=$((h5 + a5)) h6=$((h6 + a6)) hf=$((hf + af))
			else
				peer+=("$tps")
				pfail=$((pfail + failed))
			fi
			printf '    %-12s %-10s %2s clients  %9.0f tps  failed %s\n' "$name" "$v" "$clients" "$tps" "$failed"
		done
	done
	local cm pm
	cm=$(printf '%s\n' "${cvx[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
	pm=$(printf '%s\n' "${peer[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
	printf '| %s | %s | %.0f | %.0f | %s | %s / %s | %s / %s / %s / %s / %s / %s | %s |\n' "$name" "$clients" "$cm" "$pm" \
		"$(ratio "$cm" "$pm")" "$cfail" "$pfail" "$h1" "$h2" "$h3" "$h4" "$h5" "$h6" "$hf" >>"$rows"
}

cvx_step "Contention: ${SECS}s runs, $ROUNDS rounds, on $DB"
point transfer6 transfer 16 "accounts 6"
point transfer10k transfer 16 "accounts 10000"
point transfer10k transfer 1 "accounts 10000"
point goc_hot goc 16 "handles 1"
point goc_10k goc 16 "handles 10000"

{
	printf 'Over the wire, one call a transaction, clients never retry (`--max-tries=1`); median tps of %s runs of %s s each, convexlite and its peer alternating. ' "$ROUNDS" "$SECS"
	printf 'Peers: `plain.transfer_ordered` (PL/pgSQL locking both rows in id order) and `plain.get_or_create` (`INSERT … ON CONFLICT DO NOTHING`, then `SELECT`). '
	printf 'Attempts: how many convexlite calls took 1, 2, 3, 4, 5, 6+ attempts, and how many still failed (`convex_conflict_stats()`, summed over the runs).\n\n'
	printf '| workload | clients | convexlite tps | peer tps | ratio | failed (convexlite / peer) | attempts 1 / 2 / 3 / 4 / 5 / 6+ | failed after retries |\n'
	printf '|---|---|---|---|---|---|---|---|\n'
	cat "$rows"
} >"$OUT_DIR/contention.md"
cat "$OUT_DIR/contention.md"
