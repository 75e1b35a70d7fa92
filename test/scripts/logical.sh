#!/usr/bin/env bash
# test/scripts/logical.sh: what a logical-replication publication of
# convexlite's tables carries to a subscriber, and what it does not.
#
# Issue 19, part 1 (docs/replication.md, "Logical replication").  Two
# clusters of its own: 'logical_pub' (port LOGICAL_PORT, default 54355,
# wal_level = logical) and 'logical_sub' (port + 1), both preloading
# convexlite, worker database 'app' in each.  In both, convexlite is
# installed in database 'app' and the application table 'notes' is defined
# the same way (so it gets the same table number, 10005, on both sides: ids
# encode it).  The publication carries the seed app's tables, the
# application table and _storage's rows; the subscription copies them and
# then streams changes.
#
# Checks, on the subscriber after the changes arrived:
#   * every published row is there, equal (counts and every row's text);
#     a remove and a presence leave on the publisher are gone there too;
#   * convexlite reads work on it: convex_db_get of a note and of a
#     message, convex_db_query of a room, convex_users_* identity;
#   * what is not carried: large objects (a file's _storage row arrives, its
#     bytes do not: convex_storage_get fails with 42704), scheduled jobs
#     (not published: the subscriber's scheduler never runs the publisher's
#     jobs), upload tokens, and convexlite's catalog (the subscriber has its
#     own);
#   * no NOTIFY on the subscriber for replicated rows (the apply worker
#     writes rows; convexlite announces only its own writes).
# Destroyed at exit (LOGICAL_KEEP=1 keeps both).  PASS/FAIL per check.
set -uo pipefail

NAME=logical_pub
PORT=${LOGICAL_PORT:-54355}
SUB=logical_sub
SUB_PORT=$((PORT + 1))
DB=app

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/../../scripts/lib.sh"
# shellcheck source=test/scripts/lib/checks.sh
. "$HERE/lib/checks.sh"

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	if [ "${LOGICAL_KEEP:-0}" = 1 ]; then
		echo "# clusters '$NAME' and '$SUB' left running; work files in $WORK"
		return
	fi
	# the subscription first: dropping it needs the publisher's slot
	on_sub
	q "ALTER SUBSCRIPTION convex_data DISABLE" >/dev/null 2>&1
	q "ALTER SUBSCRIPTION convex_data SET (slot_name = NONE)" >/dev/null 2>&1
	q "DROP SUBSCRIPTION IF EXISTS convex_data" >/dev/null 2>&1
	for c in "$SUB" "$NAME"; do
		if [ -d "$(cvx_cluster_dir "$c")/data" ]; then
			cvx_cluster_destroy "$c" >/dev/null 2>&1
		fi
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

T0=$(date +%s)
on_pub() { cvx_cluster_env "$NAME" "$PORT"; }
on_sub() { cvx_cluster_env "$SUB" "$SUB_PORT"; }
start() { # NAME PORT EXTRA_CONF
	local dir
	dir=$(cvx_cluster_dir "$1")
	[ -d "$dir/data" ] && cvx_cluster_destroy "$1" >>"$WORK/cluster.log" 2>&1
	if ! CVX_PRELOAD=pg_cron,convexlite CVX_EXTRA_CONF="$3" cvx_cluster_start "$1" "$2" "$DB" >>"$WORK/cluster.log" 2>&1; then
		fail "setup: cluster $1 did not start"
		tail -n 20 "$WORK/cluster.log" | sed 's/^/    | /'
		exit 1
	fi
}
SCHEMA_SQL="SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS convexlite;
SELECT convex_define_table('notes',
  '{\"body\": {\"fieldType\": {\"type\": \"string\"}, \"optional\": false},
    \"author\": {\"fieldType\": {\"type\": \"id\", \"tableName\": \"users\"}, \"optional\": true}}',
  '{\"by_body\": [\"body\"]}') IS NOT NULL;"
TABLES="convex.users, convex.messages, convex.presence, convex.files, convex._storage, convex.notes"

echo "logical: publisher '$NAME' (port $PORT), subscriber '$SUB' (port $SUB_PORT)"
start "$NAME" "$PORT" "wal_level = logical"
psql_db -c "$SCHEMA_SQL" >/dev/null || { fail "setup: the publisher's schema"; exit 1; }
start "$SUB" "$SUB_PORT" ""
psql_db -c "$SCHEMA_SQL" >/dev/null || { fail "setup: the subscriber's schema"; exit 1; }
check "setup: notes has the same table number on both sides" \
	"$(on_pub; q "SELECT number FROM convex._tables WHERE name = 'notes'")" \
	"$(on_sub; q "SELECT number FROM convex._tables WHERE name = 'notes'")"

# --- the publisher's data before the subscription (the initial copy) ---
on_pub
USER_ID=$(q "SELECT convex_db_insert('users', '{\"name\": \"Ada\"}')")
psql_db >/dev/null <<EOF || { fail "setup: the publisher's writes"; exit 1; }
SELECT set_config('convexlite.user_id', '$USER_ID', false);
SELECT convex_users_update_profile('{"name": "Ada L."}');
SELECT convex_messages_send(jsonb_build_object('roomId', 'r' || (g % 3), 'content', 'm' || g, 'userName', 'Ada'))
  FROM generate_series(1, 30) g;
SELECT convex_presence_update(jsonb_build_object('roomId', 'r1', 'data', jsonb_build_object('status', 'here ' || g), 'sessionId', 's' || g))
  FROM generate_series(1, 5) g;
SELECT convex_db_insert('notes', jsonb_build_object('body', 'note ' || g, 'author', '$USER_ID')) FROM generate_series(1, 10) g;
EOF
NOTE_ID=$(q "SELECT _id FROM convex.notes WHERE body = 'note 1'")
URL=$(q "SELECT convex_files_generate_upload_url()")
FILE_ID=$(q "SELECT convex_storage_upload('$URL', convert_to('published bytes', 'UTF8'), 'text/plain') ->> 'storageId'")
q "SELECT convex_files_save_file(jsonb_build_object('storageId', '$FILE_ID', 'name', 'a.txt', 'type', 'text/plain', 'size', 15))" >/dev/null
q "SELECT convex_scheduler_run_after(3600000, 'presence:cleanup', '{}')" >/dev/null
q "CREATE PUBLICATION convex_data FOR TABLE $TABLES" >/dev/null

# --- the subscription ---
on_pub
PUB_CONN="host=$PGHOST port=$PORT dbname=$DB user=postgres"
on_sub
if ! q "CREATE SUBSCRIPTION convex_data CONNECTION '$PUB_CONN' PUBLICATION convex_data" >/dev/null 2>"$WORK/sub.err"; then
	fail "setup: CREATE SUBSCRIPTION failed: $(cat "$WORK/sub.err")"
	exit 1
fi
wait_synced() {
	local _
	for _ in $(seq 300); do
		[ "$(q "SELECT count(*) FILTER (WHERE srsubstate <> 'r') FROM pg_subscription_rel")" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}
wait_synced && pass "subscription: every published table copied (state ready)" ||
	fail "subscription: tables not synchronized after 30 s"

# --- changes after the copy stream ---
on_pub
MSG_ID=$(q "SELECT convex_messages_send('{\"roomId\": \"r9\", \"content\": \"later\", \"userName\": \"Ada\", \"sessionId\": \"s9\"}')")
GONE_ID=$(q "SELECT convex_messages_send('{\"roomId\": \"r9\", \"content\": \"removed\", \"userName\": \"Ada\", \"sessionId\": \"s9\"}')")
q "SELECT convex_messages_remove('{\"messageId\": \"$GONE_ID\", \"sessionId\": \"s9\"}')" >/dev/null
q "SELECT convex_presence_leave('{\"roomId\": \"r1\", \"sessionId\": \"s1\"}')" >/dev/null
q "SELECT convex_db_patch('notes', '$NOTE_ID', '{\"body\": \"note 1, edited\"}')" >/dev/null
LSN=$(q "SELECT pg_current_wal_lsn()")
on_sub
caught_up=
for _ in $(seq 300); do
	if [ "$(q "SELECT coalesce(bool_and(latest_end_lsn >= '$LSN'::pg_lsn), false) FROM pg_stat_subscription WHERE subname = 'convex_data'")" = t ]; then
		caught_up=1
		break
	fi
	sleep 0.1
done
[ -n "$caught_up" ] && pass "subscription: the later changes arrived" || fail "subscription: later changes not applied after 30 s"
sleep 0.3

# --- what arrived ---
for t in users messages presence files _storage notes; do
	pub=$(on_pub; q "SELECT md5(string_agg(t::text, '|' ORDER BY _id)) FROM convex.$t t")
	sub=$(on_sub; q "SELECT md5(string_agg(t::text, '|' ORDER BY _id)) FROM convex.$t t")
	check "carried: convex.$t is the same row for row on the subscriber" "$pub" "$sub"
done
on_sub
check "carried: a remove on the publisher is gone on the subscriber" 0 \
	"$(q "SELECT count(*) FROM convex.messages WHERE _id = '$GONE_ID'")"
check "carried: a presence leave on the publisher is gone on the subscriber" 0 \
	"$(q "SELECT count(*) FROM convex.presence WHERE session_id = 's1'")"
check "reads on the subscriber: convex_db_get of a note (patched on the publisher)" "note 1, edited" \
	"$(q "SELECT convex_db_get('notes', '$NOTE_ID') ->> 'body'")"
check "reads on the subscriber: convex_db_get of a message" later \
	"$(q "SELECT convex_db_get('messages', '$MSG_ID') ->> 'content'")"
check "reads on the subscriber: convex_db_query of a room" 10 \
	"$(q "SELECT count(*) FROM convex_db_query('messages', 'by_room', '{\"roomId\": \"r1\"}')")"
check "reads on the subscriber: the user's profile" "Ada L." \
	"$(q "SELECT convex_db_get('users', '$USER_ID') ->> 'name'")"

# --- what does not arrive ---
check "not carried: the file's _storage row arrives" 1 "$(q "SELECT count(*) FROM convex._storage WHERE _id = '$FILE_ID'")"
state=$(psql_db -At -v VERBOSITY=verbose -c "SELECT convex_storage_get('$FILE_ID')" 2>&1 >/dev/null |
	sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p' | head -n 1)
check "not carried: its bytes do not (large objects are not replicated): convex_storage_get fails with 42704" \
	42704 "${state:-ok}"
check "not carried: scheduled jobs (not published; the subscriber runs none of the publisher's)" 0 \
	"$(q "SELECT count(*) FROM convex._scheduled_functions")"
check "not carried: convexlite's catalog is the subscriber's own (the same tables, defined there, not copied)" \
	"$(on_pub; q "SELECT count(*) FROM convex._tables")" "$(q "SELECT count(*) FROM convex._tables")"

# --- no NOTIFY for replicated rows ---
on_sub
psql_db -At >"$WORK/listen.out" 2>&1 <<'EOF' &
LISTEN convex_messages;
SELECT pg_sleep(2);
SELECT count(*) FROM convex.messages WHERE content = 'quiet';
EOF
LISTENER=$!
sleep 0.5
on_pub
q "SELECT convex_messages_send('{\"roomId\": \"r8\", \"content\": \"quiet\", \"userName\": \"Ada\"}')" >/dev/null
wait "$LISTENER"
on_sub
listened=$(cat "$WORK/listen.out")
case $listened in
*"Asynchronous notification"*) fail "subscriber: a replicated row was announced: $listened" ;;
*) check "subscriber: the replicated row arrived, and no NOTIFY announced it" 1 "$(printf '%s\n' "$listened" | tail -n 1)" ;;
esac

echo "# $CHECKS checks, $FAILURES failed, $(($(date +%s) - T0)) s"
[ "$FAILURES" = 0 ]
