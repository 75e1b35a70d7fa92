#!/usr/bin/env bash
# test/scripts/query_snapshot.sh: a query reads one consistent snapshot and
# takes no locks (docs/queries.md, "What a query sees").
#
# Convex runs each query against one snapshot of the database.  A registered
# query's handler (STABLE, as convex_define_query requires) reads the room
# with ctx.runQuery("messages:list"), ctx.db.get and ctx.db.query, sleeps,
# and reads the same again.  While it sleeps, at READ COMMITTED, another
# session runs two mutations in the room: one sends a message, one removes
# a message the query read.  Checks:
#   - the mutations finish while the query is still sleeping: a query
#     called outside a mutation takes no conflict lock that a writer would
#     wait for;
#   - the query's second reads equal its first (same ids, the removed
#     message still there), although both mutations committed between them;
#   - a new query afterwards sees the mutations.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops database
# convexlite_query_snapshot.  One PASS/FAIL line per check; exit 1 on failure.
set -uo pipefail

DB=convexlite_query_snapshot
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

T0=$(date +%s)
if ! fresh_db; then
	fail "setup: could not create database $DB with convexlite"
	exit 1
fi

M1=$(q "SELECT convex_messages_send('{\"roomId\": \"r\", \"content\": \"one\", \"userName\": \"a\"}')")
q "SELECT convex_messages_send('{\"roomId\": \"r\", \"content\": \"two\", \"userName\": \"b\"}')" >/dev/null
psql_db >/dev/null <<'SQL'
CREATE FUNCTION read_room(id text) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'list', (SELECT jsonb_agg(d -> '_id' ORDER BY o)
                   FROM jsonb_array_elements(convex_query('messages:list', '{"roomId": "r"}'))
                        WITH ORDINALITY AS e(d, o)),
        'builtin', jsonb_array_length(convex_messages_list('{"roomId": "r"}')),
        'get', convex_db_get('messages', id) IS NOT NULL,
        'index', (SELECT count(*) FROM convex_db_query('messages', 'by_room', '{"roomId": "r"}', 'asc')))
$$;
CREATE FUNCTION read_twice(args jsonb) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    first jsonb;
BEGIN
    first := read_room(args ->> 'id');
    PERFORM pg_sleep((args ->> 'sleep')::float8);
    RETURN jsonb_build_object('first', first, 'second', read_room(args ->> 'id'));
END;
$$;
SELECT convex_define_query('snapshot:readTwice', 'read_twice(jsonb)', '{"type": "any"}');
SQL

# the query, at READ COMMITTED, sleeping 3 s between its two reads (no time limit)
PGAPPNAME=snapshot_query psql_db -At -c "SET convexlite.mutation_timeout = 0" \
	-c "SELECT convex_query('snapshot:readTwice', jsonb_build_object('id', '$M1', 'sleep', 3))" \
	>"$WORK/query.out" 2>&1 &
query_pid=$!
if ! wait_for "the query to sleep between its reads" \
	"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'snapshot_query'
	                   AND wait_event = 'PgSleep')"; then
	fail "setup: the query never reached its sleep"
	sed 's/^/    | /' "$WORK/query.out"
fi

# the writer: two mutations in the room, each committing at once
if psql_db -c "SELECT convex_mutation('messages:send', '{\"roomId\": \"r\", \"content\": \"three\", \"userName\": \"c\"}')" \
	-c "SELECT convex_mutation('messages:remove', jsonb_build_object('messageId', '$M1'))" \
	>"$WORK/writer.out" 2>&1; then
	still=$(q "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'snapshot_query'
	                             AND wait_event = 'PgSleep')")
	check "the mutations committed while the query still ran (it holds no lock they wait for)" t "$still"
else
	fail "the writer's mutations failed"
	sed 's/^/    | /' "$WORK/writer.out"
fi

if ! wait "$query_pid"; then
	fail "the query failed"
	sed 's/^/    | /' "$WORK/query.out"
else
	result=$(cat "$WORK/query.out")
	same=$(q "SELECT ('$result'::jsonb -> 'first') = ('$result'::jsonb -> 'second')")
	if [ "$same" = t ]; then
		pass "the query's second reads equal its first, though two mutations committed between them"
	else
		fail "the query saw two snapshots: $result"
	fi
	check "the query read the room as it was when it began (2 messages, the removed one present)" \
		"2 2 2 true" \
		"$(q "SELECT concat_ws(' ', jsonb_array_length(r -> 'list'), r -> 'builtin', r -> 'index', r -> 'get')
		        FROM (SELECT '$result'::jsonb -> 'second' AS r) x")"
fi
check "a query after the mutations sees them (2 messages, the removed one gone)" "2 false" \
	"$(q "SELECT concat_ws(' ', r -> 'builtin', r -> 'get')
	        FROM (SELECT convex_query('snapshot:readTwice', jsonb_build_object('id', '$M1', 'sleep', 0)) -> 'second' AS r) x")"

echo "query_snapshot: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "query_snapshot: FAIL"
	exit 1
fi
echo "query_snapshot: PASS"
exit 0
