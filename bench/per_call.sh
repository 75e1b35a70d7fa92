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
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

DURATION=${1:-10}
N=100000
DB=convexlite_per_call
cvx_cluster_start bench 54333 convexlite_bench
cvx_psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
cvx_psql -q -d "$DB" -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
CREATE SCHEMA plain;
-- the floor: the same tables, indexes and fillfactor, written directly
-- (its UPDATEs state the partial unique index's predicate, as convexlite's do)
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
 WHERE session_id = 's' || :s AND room_id = 'room' AND session_id <> '';
SQL

pgbench_tps() {
	local file=$1 clients=$2
	"$(cvx_pg_bindir)/pgbench" -n -M prepared -c "$clients" -j "$clients" -T "$DURATION" \
		-f "$file" "$DB" 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}


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

cvx_step "Batch: 100,000 calls in one statement, each run its own transaction (median of 3)"
cvx_psql -q -d "$DB" <<'SQL'
-- 100k sessions for the heartbeat batch, in both tables
INSERT INTO plain.presence (_id, _creation_time, room_id, session_id, data, last_seen)
SELECT 'b' || s, 0, 'batch', 'b' || s, '{}', 0 FROM generate_series(1, 100000) AS s;
-- (loaded directly: 100k first heartbeats inside one statement would run
-- against plans made while the table had 100 rows, with no ANALYZE between)
INSERT INTO convex.presence (_id, _creation_time, room_id, session_id, data, last_seen)
SELECT 'b' || s, 0, 'batch', 'b' || s, '{}', 0 FROM generate_series(1, 100000) AS s;
-- the heartbeats' args, built ahead so that parsing JSON text is not timed
CREATE TABLE plain.heartbeat_args AS
SELECT i, json_build_object('roomId', 'batch', 'sessionId', 'b' || i,
                            'data', json_build_object('cursor', json_build_object('x', 1, 'y', 2)))::jsonb AS args
  FROM generate_series(1, 100000) AS i;
CREATE FUNCTION plain.insert_loop(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..n LOOP
        INSERT INTO plain.messages (_id, _creation_time, room_id, content, user_name, session_id)
        VALUES (md5(i::text || random()::text), extract(epoch FROM clock_timestamp()) * 1000, 'general', 'hello there', 'bench', 's1');
    END LOOP;
END $$;
CREATE FUNCTION plain.update_loop(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..n LOOP
        UPDATE plain.presence SET data = '{"cursor": {"x": 1, "y": 2}}', last_seen = extract(epoch FROM clock_timestamp()) * 1000
         WHERE session_id = 'b' || i AND room_id = 'batch' AND session_id <> '';
    END LOOP;
END $$;
VACUUM ANALYZE;
SQL


send_ms=$(median_ms "SELECT count(convex_messages_send('{\"roomId\": \"general\", \"content\": \"hello there\", \"userName\": \"bench\", \"sessionId\": \"s1\"}')) FROM generate_series(1, 100000);")
loop_ms=$(median_ms "SELECT plain.insert_loop(100000);")
set_ms=$(median_ms "INSERT INTO plain.messages (_id, _creation_time, room_id, content, user_name, session_id) SELECT md5(i::text || random()::text), extract(epoch FROM clock_timestamp()) * 1000, 'general', 'hello there', 'bench', 's1' FROM generate_series(1, 100000) i;")
beat_ms=$(median_ms "SELECT count(convex_presence_update(args)) FROM plain.heartbeat_args;")
uloop_ms=$(median_ms "SELECT plain.update_loop(100000);")

printf '%-52s %12s\n' workload "us per call"
printf '%-52s %12s\n' "messages.send" "$(per_call "$send_ms")"
printf '%-52s %12s\n' "INSERT, one statement per row (PL/pgSQL loop)" "$(per_call "$loop_ms")"
printf '%-52s %12s\n' "INSERT ... SELECT (set-based)" "$(per_call "$set_ms")"
printf '%-52s %12s\n' "presence.update heartbeat (100k sessions)" "$(per_call "$beat_ms")"
printf '%-52s %12s\n' "UPDATE, one statement per row (PL/pgSQL loop)" "$(per_call "$uloop_ms")"
