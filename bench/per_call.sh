#!/usr/bin/env bash
# bench/per_call.sh: per-call cost of messages.send and presence.update against
# a plain INSERT / UPDATE of the same row, side by side in one run.
#
#   over the wire: pgbench, prepared statements, one transaction per call
#   batch:         100k calls inside one statement (no commit per call)
#
# Usage: bash bench/per_call.sh [seconds-per-pgbench-run]   (default 10)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

DURATION=${1:-10}
DB=convexlite_bench
cvx_cluster_start bench 54333 "$DB"
cvx_psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
cvx_psql -q -d "$DB" -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
CREATE SCHEMA plain;
-- the floor: the same tables, indexes and fillfactor, written directly
CREATE TABLE plain.messages (LIKE convex.messages INCLUDING ALL);
CREATE TABLE plain.presence (LIKE convex.presence INCLUDING ALL) WITH (fillfactor = 50);
INSERT INTO plain.presence (_id, _creation_time, room_id, session_id, data, last_seen)
SELECT 'p' || s, 0, 'room', 's' || s, '{}', 0 FROM generate_series(1, 100) AS s;
SELECT convex_presence_update(json_build_object('roomId', 'room', 'sessionId', 's' || s, 'data', '{}'::json)::jsonb)
  FROM generate_series(1, 100) AS s;
SQL

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
cat >"$workdir/send.sql" <<'SQL'
SELECT convex_messages_send('{"roomId": "general", "content": "hello there", "userName": "bench", "sessionId": "s1"}');
SQL
cat >"$workdir/insert.sql" <<'SQL'
INSERT INTO plain.messages (_id, _creation_time, room_id, content, user_name, session_id)
VALUES (md5(random()::text), extract(epoch FROM clock_timestamp()) * 1000, 'general', 'hello there', 'bench', 's1');
SQL
cat >"$workdir/heartbeat.sql" <<'SQL'
\set s random(1, 100)
SELECT convex_presence_update(('{"roomId": "room", "data": {"cursor": {"x": 1, "y": 2}}, "sessionId": "s' || :s || '"}')::jsonb);
SQL
cat >"$workdir/update.sql" <<'SQL'
\set s random(1, 100)
UPDATE plain.presence SET data = '{"cursor": {"x": 1, "y": 2}}', last_seen = extract(epoch FROM clock_timestamp()) * 1000
 WHERE session_id = 's' || :s AND room_id = 'room';
SQL

pgbench_tps() {
	local file=$1 clients=$2
	"$(cvx_pg_bindir)/pgbench" -n -M prepared -c "$clients" -j "$clients" -T "$DURATION" \
		-f "$file" "$DB" 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

cvx_step "Over the wire: pgbench -M prepared, ${DURATION}s each, transactions per second"
printf '%-8s %-28s %12s %12s %8s\n' clients workload convexlite floor ratio
for clients in 1 2; do
	send=$(pgbench_tps "$workdir/send.sql" "$clients")
	insert=$(pgbench_tps "$workdir/insert.sql" "$clients")
	heartbeat=$(pgbench_tps "$workdir/heartbeat.sql" "$clients")
	update=$(pgbench_tps "$workdir/update.sql" "$clients")
	printf '%-8s %-28s %12s %12s %8s\n' "$clients" "messages.send vs INSERT" "$send" "$insert" "$(ratio "$send" "$insert")"
	printf '%-8s %-28s %12s %12s %8s\n' "$clients" "presence.update vs UPDATE" "$heartbeat" "$update" "$(ratio "$heartbeat" "$update")"
done

cvx_step "Batch: 100,000 calls in one statement (median of 3, microseconds per call)"
cvx_psql -q -d "$DB" <<'SQL'
CREATE FUNCTION pg_temp.per_call_us(statement text, calls int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; runs float8[] := '{}';
BEGIN
    FOR r IN 1..3 LOOP
        t0 := clock_timestamp();
        EXECUTE statement;
        runs := runs || extract(epoch FROM clock_timestamp() - t0) * 1e6 / calls;
    END LOOP;
    RETURN (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(runs) x);
END $$;
CREATE FUNCTION pg_temp.insert_loop(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..n LOOP
        INSERT INTO plain.messages (_id, _creation_time, room_id, content, user_name, session_id)
        VALUES (md5(i::text || random()::text), extract(epoch FROM clock_timestamp()) * 1000, 'general', 'hello there', 'bench', 's1');
    END LOOP;
END $$;
CREATE FUNCTION pg_temp.update_loop(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..n LOOP
        UPDATE plain.presence SET data = '{"cursor": {"x": 1, "y": 2}}', last_seen = extract(epoch FROM clock_timestamp()) * 1000
         WHERE session_id = 's' || (i % 100 + 1) AND room_id = 'room';
    END LOOP;
END $$;
\pset footer off
SELECT workload, round(us::numeric, 2) AS us_per_call FROM (VALUES
  ('messages.send',
   pg_temp.per_call_us($q$SELECT count(convex_messages_send('{"roomId": "general", "content": "hello there", "userName": "bench", "sessionId": "s1"}')) FROM generate_series(1, 100000)$q$, 100000)),
  ('INSERT, one statement per row (PL/pgSQL loop)',
   pg_temp.per_call_us('SELECT pg_temp.insert_loop(100000)', 100000)),
  ('INSERT ... SELECT (set-based floor)',
   pg_temp.per_call_us($q$INSERT INTO plain.messages (_id, _creation_time, room_id, content, user_name, session_id) SELECT md5(i::text || random()::text), extract(epoch FROM clock_timestamp()) * 1000, 'general', 'hello there', 'bench', 's1' FROM generate_series(1, 100000) i$q$, 100000)),
  ('presence.update heartbeat',
   pg_temp.per_call_us($q$SELECT count(convex_presence_update(('{"roomId": "room", "data": {"cursor": {"x": 1, "y": 2}}, "sessionId": "s' || (i % 100 + 1) || '"}')::jsonb)) FROM generate_series(1, 100000) i$q$, 100000)),
  ('UPDATE, one statement per row (PL/pgSQL loop)',
   pg_temp.per_call_us('SELECT pg_temp.update_loop(100000)', 100000))
) AS t(workload, us);
SQL
