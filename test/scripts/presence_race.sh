#!/usr/bin/env bash
# test/scripts/presence_race.sh: real concurrency against convexlite's mutations.
#
# SPEC §4: "Every write is race-free under concurrency: e.g. N concurrent
# presence.update calls for one session and room leave exactly one row."
#
# With pgbench (many connections at once, as an ordinary role):
#   1. 16 clients x 200 presence.update for 20 sessions x 3 rooms
#   2. 16 clients x 200 presence.update by 10 signed-in users (no sessionId) x 3 rooms
#   3. 16 clients x 200 update/leave churn on 2 sessions and 2 users in one room
#   4. 8 clients x 500 messages.send
#   5. 8 clients all removing the same 100 messages (autocommit, shuffled orders)
#   6. 8 clients signed in as the owner all removing the same 100 messages, each
#      in one transaction
# and checks: no pgbench error, no failed transaction, at most one presence row
# per key, exactly one row per key used, every message written once, every
# removed message gone.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser) from the environment; creates and
# drops database convexlite_race and role regress_convexlite_racer.  Prints
# one PASS/FAIL line per check and exits non-zero if any check failed.
set -uo pipefail

DB=convexlite_race
ROLE=regress_convexlite_racer
CLIENTS=16
TXNS=200

# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

# run_pgbench NAME EXPECTED_TXNS PGBENCH-ARGS...: run pgbench as the ordinary role
# and check that it exited 0, processed every transaction and failed none.
run_pgbench() {
	local name=$1 expected=$2 log rc processed failed
	shift 2
	log=$WORK/$(tr -c 'a-z0-9\n' '_' <<<"$name").log
	"$PGBENCH" -n -M prepared -U "$ROLE" "$@" "$DB" >"$log" 2>&1
	rc=$?
	processed=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$log")
	failed=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$log")
	if [ "$rc" -eq 0 ] && [ "$processed" = "$expected" ] && [ "${failed:-0}" = 0 ] &&
		! grep -qiE 'error|aborted' "$log"; then
		pass "$name: pgbench exit 0, $processed/$expected transactions, ${failed:-0} failed"
	else
		fail "$name: pgbench exit $rc, processed ${processed:-?}/$expected, failed ${failed:-?}"
		sed 's/^/    | /' "$log" | grep -iE 'error|abort|fail|processed|detail|context' | head -n 20
	fi
}

T0=$(date +%s)
echo "presence_race: database $DB, $CLIENTS clients x $TXNS transactions per presence run"

# --- setup ---------------------------------------------------------------------
if ! psql_admin -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
	-c "CREATE DATABASE $DB" \
	-c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$ROLE') THEN CREATE ROLE $ROLE LOGIN; END IF; END \$\$"; then
	fail "setup: could not create database $DB and role $ROLE"
	exit 1
fi
if ! psql_db -c "SET client_min_messages = warning" -c "CREATE EXTENSION convexlite" \
	-c "CREATE TABLE race_log (kind text NOT NULL, k1 text NOT NULL, k2 text NOT NULL)" \
	-c "GRANT INSERT ON race_log TO $ROLE"; then
	fail "setup: CREATE EXTENSION convexlite failed in $DB"
	exit 1
fi
USERS=$(q "SELECT '{' || string_agg(convex_db_insert('users', jsonb_build_object('name', 'racer ' || g)), ',') || '}'
             FROM generate_series(1, 10) AS g")
check "setup: 10 users created" 10 "$(q "SELECT count(*) FROM convex.users")"

# --- 1. sessions ---------------------------------------------------------------
cat >"$WORK/sessions.sql" <<'EOF'
\set n random(1, 20)
\set r random(1, 3)
BEGIN;
SELECT convex_presence_update(jsonb_build_object(
    'roomId', format('room%s', :r::int),
    'sessionId', format('s%s', :n::int),
    'data', jsonb_build_object('cursor', jsonb_build_object('x', :n::int, 'y', :r::int))));
INSERT INTO race_log VALUES ('session', format('s%s', :n::int), format('room%s', :r::int));
END;
EOF
run_pgbench "sessions" $((CLIENTS * TXNS)) -c "$CLIENTS" -j 4 -t "$TXNS" -f "$WORK/sessions.sql"
check "sessions: no two rows for one (session_id, room_id)" 0 \
	"$(q "SELECT count(*) FROM (SELECT 1 FROM convex.presence WHERE session_id IS NOT NULL
	        GROUP BY session_id, room_id HAVING count(*) > 1) AS d")"
check "sessions: one row per (session, room) used" \
	"$(q "SELECT count(*) FROM (SELECT DISTINCT k1, k2 FROM race_log WHERE kind = 'session') AS k")" \
	"$(q "SELECT count(*) FROM convex.presence")"
check "sessions: every row is a logged key, signed out, with its own cursor data" 0 \
	"$(q "SELECT count(*) FROM convex.presence p
	       WHERE p.user_id IS NOT NULL
	          OR NOT EXISTS (SELECT 1 FROM race_log l WHERE l.kind = 'session'
	                            AND l.k1 = p.session_id AND l.k2 = p.room_id)
	          OR p.data <> jsonb_build_object('cursor', jsonb_build_object(
	                 'x', substr(p.session_id, 2)::int, 'y', substr(p.room_id, 5)::int))")"
psql_db -c "TRUNCATE convex.presence, race_log"

# --- 2. signed-in users without a session --------------------------------------
cat >"$WORK/users.sql" <<'EOF'
\set u random(1, 10)
\set r random(1, 3)
BEGIN;
SELECT set_config('convexlite.user_id', (:uids::text[])[:u], true);
SELECT convex_presence_update(jsonb_build_object(
    'roomId', format('room%s', :r::int),
    'data', jsonb_build_object('status', 'online', 'name', (:uids::text[])[:u])));
INSERT INTO race_log VALUES ('user', (:uids::text[])[:u], format('room%s', :r::int));
END;
EOF
run_pgbench "users" $((CLIENTS * TXNS)) -c "$CLIENTS" -j 4 -t "$TXNS" -D uids="$USERS" -f "$WORK/users.sql"
check "users: no two session-less rows for one (user_id, room_id)" 0 \
	"$(q "SELECT count(*) FROM (SELECT 1 FROM convex.presence WHERE session_id IS NULL
	        GROUP BY user_id, room_id HAVING count(*) > 1) AS d")"
check "users: one row per (user, room) used" \
	"$(q "SELECT count(*) FROM (SELECT DISTINCT k1, k2 FROM race_log WHERE kind = 'user') AS k")" \
	"$(q "SELECT count(*) FROM convex.presence")"
check "users: every row is a logged key, has no session and its user's data" 0 \
	"$(q "SELECT count(*) FROM convex.presence p
	       WHERE p.session_id IS NOT NULL
	          OR NOT EXISTS (SELECT 1 FROM race_log l WHERE l.kind = 'user'
	                            AND l.k1 = p.user_id AND l.k2 = p.room_id)
	          OR p.data->>'name' IS DISTINCT FROM p.user_id")"
psql_db -c "TRUNCATE convex.presence, race_log"

# --- 3. update/leave churn on few keys -----------------------------------------
# Rows are deleted and re-created over and over, so many heartbeats race to
# create the same row.
cat >"$WORK/churn_update.sql" <<'EOF'
\set k random(1, 4)
BEGIN;
SELECT set_config('convexlite.user_id', CASE WHEN :k::int > 2 THEN (:uids::text[])[:k::int - 2] ELSE '' END, true);
SELECT convex_presence_update(CASE WHEN :k::int > 2
    THEN jsonb_build_object('roomId', 'churn', 'data', jsonb_build_object('status', 'here'))
    ELSE jsonb_build_object('roomId', 'churn', 'sessionId', format('c%s', :k::int),
                            'data', jsonb_build_object('status', 'here')) END);
END;
EOF
cat >"$WORK/churn_leave.sql" <<'EOF'
\set k random(1, 4)
BEGIN;
SELECT set_config('convexlite.user_id', CASE WHEN :k::int > 2 THEN (:uids::text[])[:k::int - 2] ELSE '' END, true);
SELECT convex_presence_leave(CASE WHEN :k::int > 2
    THEN jsonb_build_object('roomId', 'churn')
    ELSE jsonb_build_object('roomId', 'churn', 'sessionId', format('c%s', :k::int)) END);
END;
EOF
run_pgbench "churn" $((CLIENTS * TXNS)) -c "$CLIENTS" -j 4 -t "$TXNS" -D uids="$USERS" \
	-f "$WORK/churn_update.sql@3" -f "$WORK/churn_leave.sql@1"
check "churn: no two rows for one key after concurrent update/leave" 0 \
	"$(q "SELECT count(*) FROM (SELECT 1 FROM convex.presence
	        GROUP BY coalesce(session_id, 'user ' || user_id), room_id HAVING count(*) > 1) AS d")"
check "churn: at most 4 rows (2 sessions + 2 users)" t \
	"$(q "SELECT count(*) <= 4 FROM convex.presence")"
psql_db -c "TRUNCATE convex.presence, race_log"

# --- 4. concurrent messages.send -----------------------------------------------
cat >"$WORK/send.sql" <<'EOF'
SELECT convex_messages_send(jsonb_build_object(
    'roomId', 'race', 'content', 'hello', 'userName', format('client%s', :client_id::int)));
EOF
run_pgbench "send" 4000 -c 8 -j 4 -t 500 -f "$WORK/send.sql"
check "send: exactly 4000 messages" 4000 "$(q "SELECT count(*) FROM convex.messages WHERE room_id = 'race'")"
check "send: 4000 distinct ids" 4000 "$(q "SELECT count(DISTINCT _id) FROM convex.messages WHERE room_id = 'race'")"
check "send: every id is an Id<\"messages\">" 4000 \
	"$(q "SELECT count(*) FROM convex.messages WHERE room_id = 'race' AND convex_id_table(_id) = 'messages'")"
check "send: 500 messages from each of the 8 clients" "8 500 500" \
	"$(q "SELECT count(*) || ' ' || min(c) || ' ' || max(c) FROM (SELECT user_name, count(*) AS c
	        FROM convex.messages WHERE room_id = 'race' GROUP BY user_name) AS s")"

# --- 5. 8 clients removing the same 100 messages (autocommit, shuffled) --------
q "SELECT count(convex_messages_send(jsonb_build_object('roomId', 'rm', 'content', 'x' || g, 'userName', 'u')))
     FROM generate_series(1, 100) AS g" >/dev/null
for i in 1 2 3 4; do
	q "SELECT format('SELECT convex_messages_remove(%L);', jsonb_build_object('messageId', _id)::text)
	     FROM convex.messages WHERE room_id = 'rm' ORDER BY random()" >"$WORK/remove$i.sql"
done
check "remove: 100 messages to remove" 100 "$(q "SELECT count(*) FROM convex.messages WHERE room_id = 'rm'")"
run_pgbench "remove" 8 -c 8 -j 4 -t 1 \
	-f "$WORK/remove1.sql" -f "$WORK/remove2.sql" -f "$WORK/remove3.sql" -f "$WORK/remove4.sql"
check "remove: all 100 messages gone" 0 "$(q "SELECT count(*) FROM convex.messages WHERE room_id = 'rm'")"
check "remove: the other messages untouched" 4000 "$(q "SELECT count(*) FROM convex.messages WHERE room_id = 'race'")"

# --- 6. the owner, signed in, removing the same 100 messages in 8 transactions -
OWNER=$(q "SELECT _id FROM convex.users ORDER BY _creation_time LIMIT 1")
OWNED=$(psql_db -At -c "SELECT set_config('convexlite.user_id', '$OWNER', false)" \
	-c "SELECT '{' || string_agg(id, ',' ORDER BY id) || '}' FROM (SELECT convex_messages_send(
	        jsonb_build_object('roomId', 'rm-owned', 'content', 'y' || g, 'userName', 'owner', 'sessionId', 'tab'))
	        AS id FROM generate_series(1, 100) AS g) AS s" | tail -n 1)
check "remove owned: 100 messages of one user" 100 \
	"$(q "SELECT count(*) FROM convex.messages WHERE room_id = 'rm-owned' AND user_id = '$OWNER'")"
cat >"$WORK/remove_owned.sql" <<'EOF'
BEGIN;
SELECT set_config('convexlite.user_id', :owner, true);
SELECT count(*) FROM (SELECT convex_messages_remove(jsonb_build_object('messageId', id))
                        FROM unnest(:ids::text[]) AS id) AS s;
END;
EOF
run_pgbench "remove owned" 8 -c 8 -j 4 -t 1 -D owner="$OWNER" -D ids="$OWNED" -f "$WORK/remove_owned.sql"
check "remove owned: all 100 messages gone" 0 "$(q "SELECT count(*) FROM convex.messages WHERE room_id = 'rm-owned'")"

# --- summary -------------------------------------------------------------------
echo "presence_race: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "presence_race: FAIL"
	exit 1
fi
echo "presence_race: PASS"
exit 0
