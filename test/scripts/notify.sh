#!/usr/bin/env bash
# test/scripts/notify.sh: realtime NOTIFY on channel convex_<table>, as real
# LISTENing psql sessions see it.
#
# SPEC §10: "Every committed write made through convexlite is announced with
# NOTIFY (delivered on commit, never for rolled-back work)."  src/realtime.c:
# payload {"op":"insert|update|delete","table":"…","_id":"…"} plus "roomId"
# for messages and presence; a roomId whose JSON text is longer than 1024
# bytes is left out and "truncated":true is set; convexlite.notify = off
# (superuser only) sends none.
#
# One psql session LISTENs on every channel and makes the writes itself (a
# session receives its own notifications when its transaction commits; psql
# prints each after the command that committed), with a marker line before
# each step, so every notification is attributed to the step that sent it.
# For each step the script checks the exact set of notifications (channel and
# payload, compared as parsed JSON with keys sorted):
#   - messages.send / remove, presence.update (insert, then update) / leave,
#     users: ctx.db insert and users.updateProfile, storage upload, files.saveFile,
#     files.remove (the file and its blob), convex_storage_delete,
#     convex_storage_cleanup (an unreferenced blob), ctx.db insert / patch /
#     replace / delete on a user table (no roomId), a registered mutation
#     through convex_mutation;
#   - nothing for: a mutation that fails, a ROLLBACK, a transaction aborted by
#     an error, a rolled-back SAVEPOINT (the rest of that transaction is
#     delivered), a PL/pgSQL exception block (its caught part is dropped);
#   - identical notifications in one transaction fold into one (PostgreSQL's
#     NOTIFY folding: two patches of one document send one update), while
#     distinct ones (insert, update, delete of one document) all arrive, in order;
#   - SET convexlite.notify = off (and SET LOCAL) sends none; after RESET again;
#   - a user table's notifications carry _id only, until convex_table_notify
#     names fields (then those, and a long string field is truncated), and
#     again after an empty list;
#   - document size: a message of 1 MiB - 1 KiB (content; within the default
#     document limit) gives the usual small payload with its roomId;
#   - roomId limits: a 200 KiB roomId (message, presence.update and leave;
#     document limit raised; one repeated letter, so that the btree index on
#     roomId can hold it) gives "truncated":true, no roomId, a payload
#     under 8000 bytes; the limit is on the JSON text in bytes: 1022 ASCII characters
#     (1024 bytes) are kept, 1023 are not; 511 'é' (1024 bytes) are kept,
#     512 are not; quotes, backslash, newline, tab, a control character and
#     non-ASCII in a roomId round-trip through the JSON;
#   - presence.cleanup of 2000 stale rows (last_seen moved back by the
#     superuser) sends 2000 delete notifications, one per deleted row;
#   - ctx.scheduler: scheduling sends an insert on convex__scheduled_functions;
#     the job's run (CALL convex_scheduler_run_due(): the test cluster's
#     worker runs jobs only in its own database) sends the job's write
#     (convex_messages) and the job's update together; a failing job sends only
#     its update (failed), not the rolled-back write; cancel sends an update;
#     convex_scheduler_cleanup one delete per finished job.
# Over all of them: every payload parses as a JSON object (jq, else python3),
# has only the documented keys, op in insert/update/delete, channel =
# convex_<table>, an _id of that table (convex_id_table), roomId exactly for
# messages and presence unless truncated, and is under 8000 bytes.
# Two more sessions:
#   - an ordinary role cannot set convexlite.notify (42501, by SET and by
#     set_config), and its own writes still notify;
#   - a listener in another session sees nothing while a writer's transaction
#     is open (the writer sleeps after its write), then the write once the
#     writer commits (from the writer's PID); nothing ever from a concurrent
#     writer that rolls back.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser) from the environment; creates and
# drops database convexlite_notify and role regress_convexlite_listener.
# NOTIFY_JSON_TOOL=python3 (or jq) forces the JSON tool.
# Prints one PASS/FAIL line per check and exits 1 on any failure.
set -uo pipefail

DB=convexlite_notify
ROLE=regress_convexlite_listener
STALE=2000

# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

T0=$(date +%s)
echo "notify: database $DB"

# --- JSON: jq if installed, else python3 ----------------------------------------
if [ -n "${NOTIFY_JSON_TOOL:-}" ]; then
	JSON_TOOL=$NOTIFY_JSON_TOOL # jq or python3, to test the other path
elif command -v jq >/dev/null 2>&1; then
	JSON_TOOL=jq
elif command -v python3 >/dev/null 2>&1; then
	JSON_TOOL=python3
else
	fail "setup: neither jq nor python3 is installed to parse the payloads"
	exit 1
fi
# canon: each input line (a payload) as canonical JSON (keys sorted, compact),
# or INVALID when it is not a JSON object
canon() {
	if [ "$JSON_TOOL" = jq ]; then
		jq -cRS '(fromjson? | select(type == "object")) // "INVALID"'
	else
		python3 -c '
import json, sys
for line in sys.stdin:
    try:
        v = json.loads(line.rstrip("\n"))
        ok = isinstance(v, dict)
    except ValueError:
        ok = False
    print(json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False) if ok else "\"INVALID\"")'
	fi
}
# E OP TABLE ID [ROOMID]: the expected notification "channel payload" (canonical)
E() {
	local obj
	if [ "$JSON_TOOL" = jq ]; then
		if [ $# -ge 4 ]; then
			obj=$(jq -cnS --arg op "$1" --arg t "$2" --arg id "$3" --arg r "$4" '{op: $op, table: $t, _id: $id, roomId: $r}')
		else
			obj=$(jq -cnS --arg op "$1" --arg t "$2" --arg id "$3" '{op: $op, table: $t, _id: $id}')
		fi
	else
		obj=$(python3 -c '
import json, sys
d = {"op": sys.argv[1], "table": sys.argv[2], "_id": sys.argv[3]}
if len(sys.argv) > 4:
    d["roomId"] = sys.argv[4]
print(json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False))' "$@")
	fi
	echo "convex_$2 $obj"
}
# T OP TABLE ID: the expected notification of a row whose roomId was left out
T() {
	local obj
	if [ "$JSON_TOOL" = jq ]; then
		obj=$(jq -cnS --arg op "$1" --arg t "$2" --arg id "$3" '{op: $op, table: $t, _id: $id, truncated: true}')
	else
		obj=$(python3 -c '
import json, sys
print(json.dumps({"op": sys.argv[1], "table": sys.argv[2], "_id": sys.argv[3], "truncated": True},
                 sort_keys=True, separators=(",", ":"), ensure_ascii=False))' "$@")
	fi
	echo "convex_$2 $obj"
}
# S OP: the notification of a _storage write, which carries no _id (a
# storage id lets its holder read the blob, so it is never broadcast)
S() { echo "convex__storage {\"op\":\"$1\",\"table\":\"_storage\"}"; }
# J JSON ID: a JSON object (written with @ID@ for the id) in canonical form
J() { printf '%s\n' "${1//@ID@/$2}" | canon; }
# parse OUT NOTES VARS: split a psql session's output into notes
# (step TAB channel TAB pid TAB canonical payload TAB raw payload bytes) and vars
parse() {
	local out=$1 notes=$2 vars=$3
	LC_ALL=C awk -v vars="$vars" '
		/^@@STEP / { step = $2; next }
		/^@@VAR / { print $2 "\t" substr($0, length("@@VAR " $2 " ") + 1) > vars; next }
		/^Asynchronous notification "/ { print step "\t" $0 }
	' "$out" >"$notes.raw"
	: >>"$vars"
	LC_ALL=C sed -E 's/^([^\t]*)\tAsynchronous notification "([^"]*)" with payload "(.*)" received from server process with PID ([0-9]+)\.$/\1\t\2\t\4\t\3/' \
		"$notes.raw" >"$notes.split"
	cut -f4- "$notes.split" | canon >"$notes.canon"
	cut -f4- "$notes.split" | LC_ALL=C awk '{ print length($0) }' >"$notes.len"
	paste <(cut -f1-3 "$notes.split") "$notes.canon" "$notes.len" >"$notes"
}
# var NAME: a value the session printed with \echo @@VAR
var() { awk -F'\t' -v n="$1" '$1 == n { print $2; exit }' "$VARS"; }
# got STEP: "channel payload" of each notification of STEP, in order
got() { awk -F'\t' -v s="$1" '$1 == s { print $2 " " $4 }' "$NOTES"; }

# check_step DESCRIPTION STEP EXPECTED...: exactly these notifications (any order)
check_step() {
	local name=$1 step=$2 want have n
	shift 2
	want=$(printf '%s\n' "$@" | sed '/^$/d' | LC_ALL=C sort)
	have=$(got "$step" | LC_ALL=C sort)
	n=$(printf '%s' "$have" | grep -c .)
	if [ "$want" = "$have" ]; then
		pass "$name ($n notification$([ "$n" = 1 ] || echo s))"
	else
		fail "$name: the notifications differ (- expected, + received)"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$have") | grep -E '^[<>]' | head -n 8 |
			sed -e 's/^</    - /' -e 's/^>/    + /' | cut -c1-300
	fi
}

# --- setup ---------------------------------------------------------------------
if ! psql_admin -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
	-c "CREATE DATABASE $DB" \
	-c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$ROLE') THEN CREATE ROLE $ROLE LOGIN; END IF; END \$\$"; then
	fail "setup: could not create database $DB and role $ROLE"
	exit 1
fi
if ! psql_db >"$WORK/setup.log" 2>&1 <<'EOF'; then
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
SELECT convex_define_table('things', '{"n": {"fieldType": {"type": "number"}, "optional": false}}');
SELECT convex_define_table('tagged', '{"n": {"fieldType": {"type": "number"}, "optional": false},
    "label": {"fieldType": {"type": "string"}, "optional": false},
    "secret": {"fieldType": {"type": "string"}, "optional": false}}');

-- a registered mutation, and one that writes and then fails
CREATE FUNCTION things_add(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    RETURN to_jsonb(convex_db_insert('things', jsonb_build_object('n', args->'n')));
END
$$;
SELECT convex_define_mutation('things:add', 'things_add(jsonb)',
    '{"type": "object", "value": {"n": {"fieldType": {"type": "number"}, "optional": false}}}',
    '{"type": "id", "tableName": "things"}');
CREATE FUNCTION things_boom(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convex_db_insert('things', '{"n": -1}');
    RAISE EXCEPTION 'planned boom';
END
$$;
SELECT convex_define_mutation('things:boom', 'things_boom(jsonb)', '{"type": "object", "value": {}}', '{"type": "null"}');

-- the other session's writer: has it written, and is it now asleep in its transaction?
CREATE FUNCTION writer_state(app text) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce((SELECT CASE WHEN state = 'active' AND query LIKE '%pg_sleep%' AND backend_xid IS NOT NULL
                                 THEN 'asleep in its transaction' ELSE state END
                       FROM pg_stat_activity WHERE application_name = app), 'gone')
$$;
CREATE FUNCTION wait_writer(app text, want text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..400 LOOP
        PERFORM pg_stat_clear_snapshot();
        IF writer_state(app) = want THEN RETURN want; END IF;
        PERFORM pg_sleep(0.025);
    END LOOP;
    RETURN 'timeout, ' || writer_state(app);
END
$$;
GRANT EXECUTE ON FUNCTION writer_state(text), wait_writer(text, text) TO PUBLIC;
EOF
	fail "setup: CREATE EXTENSION or the test's mutations failed in $DB"
	sed 's/^/    | /' "$WORK/setup.log"
	exit 1
fi

# --- the main session: LISTEN everywhere, write, mark each step ------------------
ROOM_ESC=$'he said "hi" \\ back\nslash\ttab \x01 \xe2\x98\x83 </script>'
cat >"$WORK/main.sql" <<'EOF'
\set VERBOSITY terse
LISTEN convex_messages;
LISTEN convex_presence;
LISTEN convex_users;
LISTEN convex_files;
LISTEN convex__storage;
LISTEN convex__scheduled_functions;
LISTEN convex_things;
LISTEN convex_tagged;

\echo @@STEP send
SELECT convex_messages_send('{"roomId": "general", "content": "Hello", "userName": "Alice", "sessionId": "s1"}') AS m1 \gset
\echo @@VAR m1 :m1
\echo @@STEP remove
SELECT convex_messages_remove(jsonb_build_object('messageId', :'m1', 'sessionId', 's1'));

\echo @@STEP presence_insert
SELECT convex_presence_update('{"roomId": "canvas", "data": {"status": "here"}, "sessionId": "s1"}');
SELECT _id AS p1 FROM convex.presence WHERE session_id = 's1' AND room_id = 'canvas' \gset
\echo @@VAR p1 :p1
\echo @@STEP presence_update
SELECT convex_presence_update('{"roomId": "canvas", "data": {"cursor": {"x": 1, "y": 2}}, "sessionId": "s1"}');
\echo @@STEP presence_leave
SELECT convex_presence_leave('{"roomId": "canvas", "sessionId": "s1"}');

\echo @@STEP user_insert
SELECT convex_db_insert('users', '{"name": "Alice"}') AS u1 \gset
\echo @@VAR u1 :u1
\echo @@STEP update_profile
BEGIN;
SET LOCAL convexlite.user_id = :'u1';
SELECT convex_users_update_profile('{"name": "Alice Johnson"}');
COMMIT;

\echo @@STEP upload_url
SELECT convex_files_generate_upload_url() AS url \gset
\echo @@STEP upload
SELECT convex_storage_upload(:'url', '\xcafe'::bytea, 'application/octet-stream')->>'storageId' AS sid \gset
\echo @@VAR sid :sid
\echo @@STEP save_file
SELECT convex_files_save_file(jsonb_build_object('storageId', :'sid', 'name', 'a.bin',
    'type', 'application/octet-stream', 'size', 2, 'sessionId', 's1')) AS f1 \gset
\echo @@VAR f1 :f1
\echo @@STEP files_remove
SELECT convex_files_remove(jsonb_build_object('fileId', :'f1', 'sessionId', 's1'));
\echo @@STEP upload2
SELECT convex_storage_upload(convex_files_generate_upload_url(), '\x01'::bytea)->>'storageId' AS sid2 \gset
\echo @@VAR sid2 :sid2
\echo @@STEP storage_delete
SELECT convex_storage_delete(:'sid2');
\echo @@STEP upload3
SELECT convex_storage_upload(convex_files_generate_upload_url(), '\x02'::bytea)->>'storageId' AS sid3 \gset
\echo @@VAR sid3 :sid3
-- cleanup(0) takes blobs uploaded more than 0 ms ago (in whole ms)
SELECT pg_sleep(0.005);
\echo @@STEP storage_cleanup
SELECT convex_storage_cleanup(0);

\echo @@STEP db_insert
SELECT convex_db_insert('things', '{"n": 1}') AS t1 \gset
\echo @@VAR t1 :t1
\echo @@STEP db_patch
SELECT convex_db_patch('things', :'t1', '{"n": 2}');
\echo @@STEP db_replace
SELECT convex_db_replace('things', :'t1', '{"n": 3}');
\echo @@STEP db_delete
SELECT convex_db_delete('things', :'t1');
\echo @@STEP mutation_ok
SELECT convex_mutation('things:add', '{"n": 7}') #>> '{}' AS tm \gset
\echo @@VAR tm :tm
\echo @@STEP mutation_error
SELECT convex_mutation('things:boom', '{}');

\echo @@STEP tagged_default
SELECT convex_db_insert('tagged', '{"n": 5, "label": "a", "secret": "s"}') AS tg1 \gset
\echo @@VAR tg1 :tg1
\echo @@STEP tagged_notify
SELECT convex_table_notify('tagged', ARRAY['n', 'label']);
SELECT convex_db_insert('tagged', '{"n": 6.5, "label": "b", "secret": "s"}') AS tg2 \gset
\echo @@VAR tg2 :tg2
SELECT convex_db_patch('tagged', :'tg2', jsonb_build_object('label', repeat('L', 2000)));
\echo @@STEP tagged_back
SELECT convex_table_notify('tagged', ARRAY[]::text[]);
SELECT convex_db_delete('tagged', :'tg2');

\echo @@STEP rollback
BEGIN;
SELECT convex_messages_send('{"roomId": "rolled-back", "content": "x", "userName": "A"}');
SELECT convex_db_insert('things', '{"n": 100}');
ROLLBACK;
\echo @@STEP error_abort
BEGIN;
SELECT convex_messages_send('{"roomId": "aborted", "content": "x", "userName": "A"}');
SELECT 1 / 0;
COMMIT;

\echo @@STEP savepoint
BEGIN;
SELECT convex_messages_send('{"roomId": "sp", "content": "kept 1", "userName": "A"}') AS spa \gset
SAVEPOINT s;
SELECT convex_messages_send('{"roomId": "sp", "content": "dropped", "userName": "A"}') AS spb \gset
SELECT convex_db_insert('things', '{"n": 200}') AS spt \gset
ROLLBACK TO SAVEPOINT s;
SELECT convex_messages_send('{"roomId": "sp", "content": "kept 2", "userName": "A"}') AS spc \gset
COMMIT;
\echo @@VAR spa :spa
\echo @@VAR spc :spc
\echo @@VAR spb :spb
\echo @@STEP exception_block
DO $$
BEGIN
    BEGIN
        PERFORM convex_messages_send('{"roomId": "exc", "content": "dropped", "userName": "A"}');
        RAISE EXCEPTION 'undo the block';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    PERFORM convex_messages_send('{"roomId": "exc", "content": "kept", "userName": "A"}');
END
$$;
\echo @@STEP exception_block_ids
SELECT string_agg(_id, ',') AS exc FROM convex.messages WHERE room_id = 'exc' \gset
\echo @@VAR exc :exc

\echo @@STEP fold_setup
SELECT convex_db_insert('things', '{"n": 1}') AS t2 \gset
\echo @@VAR t2 :t2
\echo @@STEP fold
BEGIN;
SELECT convex_db_patch('things', :'t2', '{"n": 5}');
SELECT convex_db_patch('things', :'t2', '{"n": 6}');
COMMIT;
\echo @@STEP fold_distinct
BEGIN;
SELECT convex_db_insert('things', '{"n": 1}') AS t3 \gset
SELECT convex_db_patch('things', :'t3', '{"n": 2}');
SELECT convex_db_delete('things', :'t3');
COMMIT;
\echo @@VAR t3 :t3

\echo @@STEP notify_off
SET convexlite.notify = off;
SELECT convex_messages_send('{"roomId": "off", "content": "x", "userName": "A"}');
SELECT convex_db_insert('things', '{"n": 300}');
RESET convexlite.notify;
\echo @@STEP notify_off_local
BEGIN;
SET LOCAL convexlite.notify = off;
SELECT convex_messages_send('{"roomId": "off", "content": "local", "userName": "A"}');
COMMIT;
\echo @@STEP notify_on_again
SELECT convex_messages_send('{"roomId": "on-again", "content": "x", "userName": "A"}') AS on1 \gset
\echo @@VAR on1 :on1

\echo @@STEP big_message
SELECT convex_messages_send(jsonb_build_object('roomId', 'big', 'content', repeat('c', 1047552), 'userName', 'A')) AS big \gset
\echo @@VAR big :big
\echo @@STEP large_message
SET convexlite.max_document_size = '2MB';
SELECT convex_messages_send(jsonb_build_object('roomId', repeat('r', 204800), 'content', 'large', 'userName', 'A')) AS large \gset
\echo @@VAR large :large
\echo @@STEP large_presence
SELECT convex_presence_update(jsonb_build_object('roomId', repeat('p', 204800), 'data', '{}'::jsonb, 'sessionId', 'large'));
SELECT _id AS largep FROM convex.presence WHERE session_id = 'large' \gset
\echo @@VAR largep :largep
\echo @@STEP large_presence_leave
SELECT convex_presence_leave(jsonb_build_object('roomId', repeat('p', 204800), 'sessionId', 'large'));
RESET convexlite.max_document_size;
\echo @@STEP room_1022
SELECT convex_messages_send(jsonb_build_object('roomId', repeat('x', 1022), 'content', 'c', 'userName', 'A')) AS r1022 \gset
\echo @@VAR r1022 :r1022
\echo @@STEP room_1023
SELECT convex_messages_send(jsonb_build_object('roomId', repeat('x', 1023), 'content', 'c', 'userName', 'A')) AS r1023 \gset
\echo @@VAR r1023 :r1023
\echo @@STEP room_e511
SELECT convex_messages_send(jsonb_build_object('roomId', repeat('é', 511), 'content', 'c', 'userName', 'A')) AS e511 \gset
\echo @@VAR e511 :e511
\echo @@STEP room_e512
SELECT convex_messages_send(jsonb_build_object('roomId', repeat('é', 512), 'content', 'c', 'userName', 'A')) AS e512 \gset
\echo @@VAR e512 :e512
\echo @@STEP room_escaped
SELECT convex_messages_send(jsonb_build_object('roomId', :'room_esc'::text, 'content', 'c', 'userName', 'A')) AS esc \gset
\echo @@VAR esc :esc

\echo @@STEP stale_setup
SELECT count(convex_presence_update(jsonb_build_object('roomId', 'stale', 'sessionId', 'stale-' || g, 'data', '{}'::jsonb)))
  FROM generate_series(1, :stale) AS g;
UPDATE convex.presence SET last_seen = last_seen - 60000 WHERE room_id = 'stale';
CREATE TABLE stale_ids AS SELECT _id FROM convex.presence WHERE room_id = 'stale';
\echo @@STEP presence_cleanup
SELECT convex_presence_cleanup() AS cleaned \gset
\echo @@VAR cleaned :cleaned

\echo @@STEP schedule
SELECT convex_scheduler_run_after(0, 'messages:send', '{"roomId": "sched-room", "content": "from a job", "userName": "Cron"}') AS jid \gset
\echo @@VAR jid :jid
\echo @@STEP run_due
CALL convex_scheduler_run_due();
\echo @@STEP run_due_ids
SELECT _id AS jmsg FROM convex.messages WHERE room_id = 'sched-room' \gset
\echo @@VAR jmsg :jmsg
\echo @@STEP schedule_fail
SELECT convex_scheduler_run_after(0, 'things:boom', '{}') AS jfail \gset
\echo @@VAR jfail :jfail
\echo @@STEP run_due_fail
CALL convex_scheduler_run_due();
\echo @@STEP schedule_later
SELECT convex_scheduler_run_after(3600000, 'messages:send', '{"roomId": "never", "content": "x", "userName": "A"}') AS jlater \gset
\echo @@VAR jlater :jlater
\echo @@STEP cancel
SELECT convex_scheduler_cancel(:'jlater');
\echo @@STEP run_due_none
CALL convex_scheduler_run_due();
\echo @@STEP job_states
SELECT string_agg(state->>'kind', ' ' ORDER BY CASE _id WHEN :'jid' THEN 1 WHEN :'jfail' THEN 2 ELSE 3 END) AS states
  FROM convex._scheduled_functions \gset
\echo @@VAR states :states
SELECT pg_sleep(0.005);
\echo @@STEP scheduler_cleanup
SELECT convex_scheduler_cleanup(0) AS sched_cleaned \gset
\echo @@VAR sched_cleaned :sched_cleaned
\echo @@STEP end
SELECT 1;
\echo @@STEP end2
EOF
T_MAIN=$(date +%s.%N)
psql_db -At -v ON_ERROR_STOP=0 -v stale="$STALE" -v room_esc="$ROOM_ESC" -f "$WORK/main.sql" \
	>"$WORK/main.out" 2>"$WORK/main.err"
MAIN_SECS=$(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $T_MAIN}")
NOTES=$WORK/main.notes
VARS=$WORK/main.vars
parse "$WORK/main.out" "$NOTES" "$VARS"

# the session's errors are exactly the three it provokes
check "main session: its only errors are the two it provokes (a failing mutation, 1/0)" \
	"division by zero|planned boom" \
	"$(grep -oE 'ERROR:  .*' "$WORK/main.err" | sed -E 's/^ERROR:  //; s/^.*planned boom.*$/planned boom/' |
		grep -v '^current transaction is aborted' | LC_ALL=C sort | paste -sd'|')"
if grep -qE 'FATAL|server closed the connection' "$WORK/main.err"; then
	fail "main session: the server closed the connection"
	head -n 5 "$WORK/main.err" | sed 's/^/    | /'
fi

# --- per step ------------------------------------------------------------------
check_step "messages.send: an insert on convex_messages with roomId" send "$(E insert messages "$(var m1)" general)"
check_step "messages.remove: a delete with roomId" remove "$(E delete messages "$(var m1)" general)"
check_step "presence.update (new row): an insert with roomId" presence_insert "$(E insert presence "$(var p1)" canvas)"
check_step "presence.update (same session and room): an update" presence_update "$(E update presence "$(var p1)" canvas)"
check_step "presence.leave: a delete" presence_leave "$(E delete presence "$(var p1)" canvas)"
check_step "ctx.db insert into users: an insert on convex_users (no roomId)" user_insert "$(E insert users "$(var u1)")"
check_step "users.updateProfile: an update on convex_users" update_profile "$(E update users "$(var u1)")"
check_step "storage upload: an insert on convex__storage, without the storage id" upload "$(S insert)"
check_step "files.saveFile: an insert on convex_files" save_file "$(E insert files "$(var f1)")"
check_step "files.remove: the file's delete and its blob's delete" files_remove \
	"$(E delete files "$(var f1)")" "$(S delete)"
check_step "convex_storage_delete: a delete on convex__storage" storage_delete "$(S delete)"
check_step "convex_storage_cleanup(0): a delete for the unreferenced blob" storage_cleanup "$(S delete)"
check_step "ctx.db insert on a user table: an insert on convex_things (no roomId)" db_insert "$(E insert things "$(var t1)")"
check_step "ctx.db patch: an update" db_patch "$(E update things "$(var t1)")"
check_step "ctx.db replace: an update" db_replace "$(E update things "$(var t1)")"
check_step "ctx.db delete: a delete" db_delete "$(E delete things "$(var t1)")"
check_step "convex_mutation (registered): its insert" mutation_ok "$(E insert things "$(var tm)")"
check_step "a mutation that writes, then fails: nothing" mutation_error
check_step "a user table by default: _id only" tagged_default "$(E insert tagged "$(var tg1)")"
check_step "convex_table_notify(tagged, [n, label]): those fields, never the others; a label over 1024 bytes truncated" tagged_notify \
	"convex_tagged $(J '{"op": "insert", "table": "tagged", "_id": "@ID@", "n": 6.5, "label": "b"}' "$(var tg2)")" \
	"convex_tagged $(J '{"op": "update", "table": "tagged", "_id": "@ID@", "n": 6.5, "truncated": true}' "$(var tg2)")"
check_step "convex_table_notify(tagged, []): _id only again" tagged_back "$(E delete tagged "$(var tg2)")"
check_step "ROLLBACK: nothing" rollback
check_step "a transaction aborted by an error: nothing" error_abort
check_step "ROLLBACK TO SAVEPOINT: only the writes outside it (2 of 3 messages, no things insert)" savepoint \
	"$(E insert messages "$(var spa)" sp)" "$(E insert messages "$(var spc)" sp)"
check "savepoint: the rolled-back message is not in the table" 0 "$(q "SELECT count(*) FROM convex.messages WHERE _id = '$(var spb)'")"
check_step "PL/pgSQL exception block: only the write outside the caught block" exception_block \
	"$(E insert messages "$(var exc)" exc)"
check_step "identical notifications in one transaction fold into one (two patches of a document: one update)" fold \
	"$(E update things "$(var t2)")"
check "distinct notifications of one transaction all arrive, in order (insert, update, delete)" \
	"$(printf '%s\n' "$(E insert things "$(var t3)")" "$(E update things "$(var t3)")" "$(E delete things "$(var t3)")" |
		sed -E 's/.*"op":"([a-z]+)".*/\1/' | paste -sd' ')" \
	"$(got fold_distinct | grep -F "\"$(var t3)\"" | sed -E 's/.*"op":"([a-z]+)".*/\1/' | paste -sd' ')"
check_step "distinct notifications of one transaction: exactly those three" fold_distinct \
	"$(E insert things "$(var t3)")" "$(E update things "$(var t3)")" "$(E delete things "$(var t3)")"
check_step "SET convexlite.notify = off: no notification" notify_off
check_step "SET LOCAL convexlite.notify = off: no notification" notify_off_local
check_step "after RESET convexlite.notify: notifications again" notify_on_again "$(E insert messages "$(var on1)" on-again)"
check_step "a 1 MiB message (1 MiB - 1 KiB of content, within the default document limit): the usual payload" big_message \
	"$(E insert messages "$(var big)" big)"
check_step "a 200 KiB roomId (message): truncated" large_message "$(T insert messages "$(var large)")"
check_step "a 200 KiB roomId (presence.update): truncated" large_presence "$(T insert presence "$(var largep)")"
check_step "a 200 KiB roomId (presence.leave): truncated" large_presence_leave "$(T delete presence "$(var largep)")"
if [ -z "$(got big_message)" ]; then
	echo "    (the 1 MiB message was refused: $(grep -oE 'ERROR:  .*(index row|too large).*' "$WORK/main.err" | head -n 1))"
fi
for step in big_message large_message large_presence large_presence_leave; do
	len=$(awk -F'\t' -v s="$step" '$1 == s { if ($5 > m) m = $5 } END { print m + 0 }' "$NOTES")
	if [ "$len" -gt 0 ] && [ "$len" -lt 8000 ]; then
		pass "$step: the payload is under 8000 bytes ($len)"
	else
		fail "$step: payload of ${len} bytes (0: none received)"
	fi
done
check_step "roomId of 1022 ASCII characters (JSON text 1024 bytes): kept" room_1022 \
	"$(E insert messages "$(var r1022)" "$(printf 'x%.0s' $(seq 1022))")"
check_step "roomId of 1023 ASCII characters (1025 bytes): truncated" room_1023 "$(T insert messages "$(var r1023)")"
check_step "roomId of 511 'é' (1024 bytes of JSON text): kept" room_e511 \
	"$(E insert messages "$(var e511)" "$(printf 'é%.0s' $(seq 511))")"
check_step "roomId of 512 'é' (1026 bytes): truncated" room_e512 "$(T insert messages "$(var e512)")"
check_step "a roomId with quotes, backslash, newline, tab, a control character and non-ASCII round-trips" room_escaped \
	"$(E insert messages "$(var esc)" "$ROOM_ESC")"

# presence.cleanup: one delete per stale row
CLEAN_IDS=$(awk -F'\t' '$1 == "presence_cleanup" { print $4 }' "$NOTES")
check "presence.cleanup: returns $STALE" "$STALE" "$(var cleaned)"
check "presence.cleanup: $STALE delete notifications on convex_presence, roomId stale" "$STALE" \
	"$(awk -F'\t' '$1 == "presence_cleanup" && $2 == "convex_presence"' "$NOTES" | grep -c '"op":"delete".*"roomId":"stale"')"
check "presence.cleanup: no other notification" "$STALE" "$(got presence_cleanup | grep -c .)"
if [ "$JSON_TOOL" = jq ]; then
	CLEAN_IDS=$(printf '%s\n' "$CLEAN_IDS" | jq -r '._id' | LC_ALL=C sort)
else
	CLEAN_IDS=$(printf '%s\n' "$CLEAN_IDS" | python3 -c 'import json, sys; [print(json.loads(l)["_id"]) for l in sys.stdin]' | LC_ALL=C sort)
fi
if [ "$CLEAN_IDS" = "$(q "SELECT _id FROM stale_ids" | LC_ALL=C sort)" ]; then
	pass "presence.cleanup: the notified ids are exactly the $STALE stale rows"
else
	fail "presence.cleanup: the notified ids differ from the stale rows ($(printf '%s\n' "$CLEAN_IDS" | sort -u | grep -c .) distinct ids)"
fi
check "presence.update of $STALE sessions in one statement: $STALE inserts" "$STALE" \
	"$(got stale_setup | grep -c '"op":"insert"')"

# ctx.scheduler
check_step "scheduling a job: an insert on convex__scheduled_functions" schedule "$(E insert _scheduled_functions "$(var jid)")"
check_step "the job's run: its message insert and the job's update, together" run_due \
	"$(E insert messages "$(var jmsg)" sched-room)" "$(E update _scheduled_functions "$(var jid)")"
check_step "a failing job: only the job's update (its write rolled back)" run_due_fail \
	"$(E update _scheduled_functions "$(var jfail)")"
check_step "scheduling a job for later: an insert" schedule_later "$(E insert _scheduled_functions "$(var jlater)")"
check_step "ctx.scheduler.cancel: an update" cancel "$(E update _scheduled_functions "$(var jlater)")"
check_step "run_due with nothing due: nothing" run_due_none
check "the jobs' states: success, failed, canceled" "success failed canceled" "$(var states)"
check_step "convex_scheduler_cleanup(0): a delete per finished job" scheduler_cleanup \
	"$(E delete _scheduled_functions "$(var jid)")" "$(E delete _scheduled_functions "$(var jfail)")" \
	"$(E delete _scheduled_functions "$(var jlater)")"
check_step "steps without writes: nothing (reads, ids)" exception_block_ids
check_step "the end: nothing late" end2

# --- every payload -------------------------------------------------------------
TOTAL=$(grep -c . "$NOTES")
check "every payload parses as a JSON object ($JSON_TOOL)" 0 "$(awk -F'\t' '$4 == "\"INVALID\""' "$NOTES" | grep -c .)"
if [ "$JSON_TOOL" = jq ]; then
	BAD_SHAPE=$(awk -F'\t' '$4 != "\"INVALID\"" { print $2 "\t" $4 }' "$NOTES" | jq -R -r '
		split("\t") as [$ch, $p] | ($p | fromjson) as $o
		| (if $o.table == "messages" or $o.table == "presence" then ["roomId", "truncated"]
		   elif $o.table == "tagged" then ["n", "label", "truncated"] else [] end) as $extra
		| select(
			(($o | keys) - ["_id", "op", "table"] - $extra | length) > 0
			or ($o.op | IN("insert", "update", "delete") | not)
			or ($o.table | type) != "string"
			or (($o._id | type) != "string") != ($o.table == "_storage")
			or $ch != "convex_" + $o.table
			or (($o.table == "messages" or $o.table == "presence") and (($o.roomId | type) == "string") == ($o.truncated == true))
			or ($o | has("truncated") and .truncated != true))
		| $p' | grep -c .)
	awk -F'\t' '$4 != "\"INVALID\"" { print $4 }' "$NOTES" | jq -r 'select(.table != "_storage") | [.table, ._id] | @tsv' >"$WORK/ids.tsv"
else
	BAD_SHAPE=$(awk -F'\t' '$4 != "\"INVALID\"" { print $2 "\t" $4 }' "$NOTES" | python3 -c '
import json, sys
for line in sys.stdin:
    ch, p = line.rstrip("\n").split("\t", 1)
    o = json.loads(p)
    t = o.get("table")
    room = t in ("messages", "presence")
    extra = {"roomId", "truncated"} if room else {"n", "label", "truncated"} if t == "tagged" else set()
    bad = (set(o) - {"_id", "op", "table"} - extra
           or o.get("op") not in ("insert", "update", "delete")
           or not isinstance(t, str)
           or isinstance(o.get("_id"), str) == (t == "_storage")
           or ch != "convex_" + t
           or (room and isinstance(o.get("roomId"), str) == (o.get("truncated") is True))
           or ("truncated" in o and o["truncated"] is not True))
    if bad:
        print(p)' | grep -c .)
	awk -F'\t' '$4 != "\"INVALID\"" { print $4 }' "$NOTES" |
		python3 -c 'import json, sys; [print(o["table"] + "\t" + o["_id"]) for o in map(json.loads, sys.stdin) if o["table"] != "_storage"]' >"$WORK/ids.tsv"
fi
check "every payload has only op/table/_id (no _id for _storage; + roomId or truncated for messages and presence, the chosen fields for tagged), channel convex_<table>" 0 "$BAD_SHAPE"
psql_db -c "CREATE TABLE notified (tab text, id text)" -c "\\copy notified FROM '$WORK/ids.tsv'" >/dev/null
check "every _id is an id of its payload's table (convex_id_table), $TOTAL payloads but _storage's" "0 $(wc -l <"$WORK/ids.tsv")" \
	"$(q "SELECT count(*) FILTER (WHERE convex_id_table(id) IS DISTINCT FROM tab) || ' ' || count(*) FROM notified")"
MAX_LEN=$(awk -F'\t' '{ if ($5 > m) m = $5 } END { print m + 0 }' "$NOTES")
if [ "$MAX_LEN" -lt 8000 ]; then
	pass "every payload is under 8000 bytes (longest $MAX_LEN)"
else
	fail "a payload of $MAX_LEN bytes (PostgreSQL's limit is 8000)"
fi
check "every notification comes from the session's own backend" 1 "$(cut -f3 "$NOTES" | sort -u | grep -c .)"

# --- an ordinary role ------------------------------------------------------------
cat >"$WORK/role.sql" <<'EOF'
\set VERBOSITY verbose
LISTEN convex_messages;
\echo @@STEP role_set
SET convexlite.notify = off;
SELECT set_config('convexlite.notify', 'off', false);
\echo @@STEP role_send
SELECT convex_messages_send('{"roomId": "role-room", "content": "x", "userName": "R", "sessionId": "r1"}') AS rm \gset
\echo @@VAR rm :rm
\echo @@STEP role_show
SHOW convexlite.notify;
\echo @@STEP end
EOF
"$PSQL_BIN" -X -q -At -U "$ROLE" -d "$DB" -f "$WORK/role.sql" >"$WORK/role.out" 2>"$WORK/role.err"
NOTES=$WORK/role.notes
VARS=$WORK/role.vars
parse "$WORK/role.out" "$NOTES" "$VARS"
check "an ordinary role cannot set convexlite.notify (SET and set_config: 42501)" 2 \
	"$(grep -cE 'ERROR:  42501: permission denied to set parameter "convexlite.notify"' "$WORK/role.err")"
check_step "an ordinary role's write still notifies" role_send "$(E insert messages "$(var rm)" role-room)"
check "convexlite.notify is still on in that session" "on" "$(grep -xE 'on|off' "$WORK/role.out" | tail -n 1)"

# --- another session: delivery at commit only --------------------------------------
cat >"$WORK/writer_commit.sql" <<'EOF'
BEGIN;
SELECT convex_messages_send('{"roomId": "xs-commit", "content": "x", "userName": "W"}');
SELECT pg_sleep(1.5);
COMMIT;
SELECT 'pid ' || pg_backend_pid();
EOF
cat >"$WORK/writer_rollback.sql" <<'EOF'
BEGIN;
SELECT convex_messages_send('{"roomId": "xs-rollback", "content": "x", "userName": "W"}');
SELECT pg_sleep(1.5);
ROLLBACK;
EOF
cat >"$WORK/listener.sql" <<'EOF'
LISTEN convex_messages;
\echo @@STEP listening
SELECT wait_writer('notify_writer_c', 'asleep in its transaction') AS w1 \gset
SELECT wait_writer('notify_writer_r', 'asleep in its transaction') AS w2 \gset
\echo @@VAR w1 :w1
\echo @@VAR w2 :w2
\echo @@STEP while_open
SELECT pg_sleep(0.3);
SELECT 1;
SELECT writer_state('notify_writer_c') AS w_open \gset
\echo @@VAR w_open :w_open
\echo @@STEP after_commit
SELECT wait_writer('notify_writer_c', 'gone') AS w3 \gset
SELECT wait_writer('notify_writer_r', 'gone') AS w4 \gset
SELECT pg_sleep(0.2);
SELECT 1;
SELECT 1;
\echo @@VAR w3 :w3
\echo @@VAR w4 :w4
\echo @@STEP end
EOF
PGAPPNAME=notify_listener "$PSQL_BIN" -X -q -At -d "$DB" -f "$WORK/listener.sql" >"$WORK/listener.out" 2>"$WORK/listener.err" &
LISTENER=$!
sleep 0.2
PGAPPNAME=notify_writer_c "$PSQL_BIN" -X -q -At -d "$DB" -f "$WORK/writer_commit.sql" >"$WORK/writer_c.out" 2>&1 &
WRITER_C=$!
PGAPPNAME=notify_writer_r "$PSQL_BIN" -X -q -At -d "$DB" -f "$WORK/writer_rollback.sql" >"$WORK/writer_r.out" 2>&1 &
WRITER_R=$!
wait "$WRITER_C" "$WRITER_R" "$LISTENER"
NOTES=$WORK/listener.notes
VARS=$WORK/listener.vars
parse "$WORK/listener.out" "$NOTES" "$VARS"
XS_ID=$(q "SELECT _id FROM convex.messages WHERE room_id = 'xs-commit'")
WRITER_PID=$(sed -n 's/^pid //p' "$WORK/writer_c.out")
check "other session: both writers were seen asleep inside their open transactions after writing" \
	"asleep in its transaction|asleep in its transaction" "$(var w1)|$(var w2)"
check_step "other session: nothing while the writer's transaction is open" while_open
check "other session: the writer's transaction was still open at the end of that wait" \
	"asleep in its transaction" "$(var w_open)"
check_step "other session: the committed write once the writer commits (none of the rolled-back writer)" after_commit \
	"$(E insert messages "$XS_ID" xs-commit)"
check "other session: the notification names the writer's backend" "${WRITER_PID:-?}" \
	"$(awk -F'\t' '$1 == "after_commit" { print $3 }' "$NOTES")"
check "other session: the rolled-back writer's message is not in the table" 0 \
	"$(q "SELECT count(*) FROM convex.messages WHERE room_id = 'xs-rollback'")"
check_step "other session: nothing before the writers started" listening

# --- summary -----------------------------------------------------------------------
echo "# main session: $TOTAL notifications in ${MAIN_SECS} s (JSON by $JSON_TOOL); longest payload $MAX_LEN bytes"
echo "notify: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "notify: FAIL"
	exit 1
fi
echo "notify: PASS"
exit 0
