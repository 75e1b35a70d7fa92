-- test/pgtap/realtime.sql: the notifications the README's "Realtime (NOTIFY)"
-- section documents, as a listening client receives them.
--
-- PostgreSQL delivers a NOTIFY at commit, and with convexlite preloaded the
-- relay worker sends it, so one session (pgTAP's, inside its transaction)
-- cannot see them.  This file opens two more sessions with dblink: "rt_listen"
-- LISTENs on every channel below, "rt_write" makes committed writes (each
-- statement its own transaction, or the BEGIN ... COMMIT / ROLLBACK given).
-- After each write the notifications rt_listen received are collected
-- (dblink_get_notify, polled every 20 ms, at most 10 s for the expected
-- number, then 200 ms more for any extra one) and compared, channel and
-- payload, with the documented ones, exactly: a wrong channel, a missing,
-- extra or wrong field, a wrong op, a notification too many or too few fails.
--
-- Covered: messages.send / remove, presence.update (insert, heartbeat
-- update) / leave, users.updateProfile and ctx.db on users, storage upload
-- (_storage: no _id), files.saveFile / remove, ctx.db insert / patch /
-- replace / delete on an application table, before and after
-- convex_table_notify names a filter field, a transaction rolled back and a
-- savepoint rolled back (nothing), two writes in one transaction (both),
-- two presence.update calls racing for a new row (an insert, then an
-- update), and that the relay's process sends them.
--
-- The writes are committed, so the file ends by removing its blobs and
-- reinstalling convexlite (as the other files begin), and leaves no schema,
-- role or large object behind, also when a statement fails (ON_ERROR_STOP is
-- off, so the cleanup is always reached).  Needs the dblink contrib extension
-- (postgresql-15 ships it) and a superuser; run with pg_prove against the
-- database named by convexlite.database_name (contrib_regression).

-- This file commits, so it must reach its cleanup at the end even when a
-- statement fails: an error fails that statement only (its tests are then
-- missing from the plan, which scripts/pgtap.sh counts as failed).
\set ON_ERROR_STOP 0
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(29);
SET LOCAL client_min_messages = warning;
CREATE SCHEMA regress_cvx_rt;
CREATE EXTENSION dblink SCHEMA regress_cvx_rt;
RESET client_min_messages;

-- notifications received, and the ones expected, as [channel, payload] pairs
CREATE TABLE regress_cvx_rt.got (n serial PRIMARY KEY, channel text, payload jsonb, pid int);

\ir lib/sessions.sql

-- Run SQL in the writer session, returning its one text value (or 'ok').
CREATE FUNCTION regress_cvx_rt.w(sql text) RETURNS text LANGUAGE sql AS $f$
    SELECT r FROM regress_cvx_rt.dblink('rt_write', sql) AS t(r text)
$f$;
CREATE FUNCTION regress_cvx_rt.wx(sql text) RETURNS text LANGUAGE sql AS $f$
    SELECT regress_cvx_rt.dblink_exec('rt_write', sql)
$f$;

-- Run SQL in the writer session that must fail: its SQLSTATE (NULL if it did not fail).
CREATE FUNCTION regress_cvx_rt.w_error(sql text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM regress_cvx_rt.w(sql);
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$f$;

-- Forget what was received so far (also anything still arriving).
CREATE FUNCTION regress_cvx_rt.reset() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM pg_sleep(0.05);
    PERFORM regress_cvx_rt.dblink_get_notify('rt_listen');
    DELETE FROM regress_cvx_rt.got;
END
$f$;

-- Collect notifications until `expected` arrived (10 s at most), then 200 ms
-- more; returns them sorted, as a JSON array of [channel, payload].
CREATE FUNCTION regress_cvx_rt.collect(expected int) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '10 s';
    c int;
BEGIN
    LOOP
        INSERT INTO regress_cvx_rt.got (channel, payload, pid)
        SELECT notify_name, extra::jsonb, be_pid FROM regress_cvx_rt.dblink_get_notify('rt_listen');
        SELECT count(*) INTO c FROM regress_cvx_rt.got;
        EXIT WHEN c >= expected OR clock_timestamp() > deadline;
        PERFORM pg_sleep(0.02);
    END LOOP;
    PERFORM pg_sleep(0.2);
    INSERT INTO regress_cvx_rt.got (channel, payload, pid)
    SELECT notify_name, extra::jsonb, be_pid FROM regress_cvx_rt.dblink_get_notify('rt_listen');
    RETURN regress_cvx_rt.sorted((SELECT coalesce(jsonb_agg(jsonb_build_array(channel, payload)), '[]')
                                    FROM regress_cvx_rt.got));
END
$f$;

CREATE FUNCTION regress_cvx_rt.sorted(pairs jsonb) RETURNS jsonb LANGUAGE sql AS $f$
    SELECT coalesce(jsonb_agg(e ORDER BY e::text), '[]') FROM jsonb_array_elements(pairs) e
$f$;
-- One expected notification
CREATE FUNCTION regress_cvx_rt.n(channel text, payload jsonb) RETURNS jsonb LANGUAGE sql AS $f$
    SELECT jsonb_build_array(channel, payload)
$f$;

SELECT regress_cvx_rt.dblink_connect('rt_listen', regress_cvx_tap.conn('regress_cvx_rt')) \g /dev/null
SELECT regress_cvx_rt.dblink_connect('rt_write', regress_cvx_tap.conn('regress_cvx_rt')) \g /dev/null
SELECT regress_cvx_rt.dblink_exec('rt_listen', 'LISTEN ' || c)
  FROM unnest(ARRAY['convex_messages', 'convex_presence', 'convex_users', 'convex_files', 'convex__storage',
                    'convex_rt_notes', 'convex__scheduled_functions']) c \g /dev/null
SELECT regress_cvx_rt.wx('SET client_min_messages = warning') \g /dev/null

------------------------------------------------------------------------
-- 1. messages.send / messages.remove: channel convex_messages, with roomId
------------------------------------------------------------------------

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w($$SELECT convex_messages_send('{"roomId": "general", "content": "Hi", "userName": "Bob"}')$$) AS m1 \gset
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_messages',
              jsonb_build_object('op', 'insert', 'table', 'messages', '_id', :'m1', 'roomId', 'general'))),
          'messages.send: one insert on convex_messages with _id and roomId');
SELECT is((SELECT count(DISTINCT pid)::int FROM regress_cvx_rt.got
            WHERE pid = (SELECT pid FROM pg_stat_activity WHERE backend_type = 'convexlite notify relay')), 1,
          'the notification comes from the relay''s process');

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w(format($$SELECT 'ok' FROM (SELECT convex_messages_remove(%L)) s$$,
                               jsonb_build_object('messageId', :'m1'))) \g /dev/null
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_messages',
              jsonb_build_object('op', 'delete', 'table', 'messages', '_id', :'m1', 'roomId', 'general'))),
          'messages.remove: one delete on convex_messages with _id and roomId');

-- a message nobody may remove (someone else's, no session): nothing is sent
SELECT regress_cvx_rt.w($$SELECT convex_db_insert('users', '{"name": "Rt Owner"}')$$) AS owner_uid \gset
SELECT regress_cvx_rt.w(format('SELECT set_config(%L, %L, false)', 'convexlite.user_id', :'owner_uid')) \g /dev/null
SELECT regress_cvx_rt.w($$SELECT convex_messages_send('{"roomId": "owned", "content": "mine", "userName": "O"}')$$) AS m_owned \gset
SELECT regress_cvx_rt.wx($$RESET convexlite.user_id$$) \g /dev/null
SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w(format($$SELECT 'ok' FROM (SELECT convex_messages_remove(%L)) s$$,
                               jsonb_build_object('messageId', :'m_owned'))) \g /dev/null
SELECT regress_cvx_rt.w($$SELECT convex_messages_send('{"roomId": "marker", "content": "m", "userName": "M"}')$$) AS marker1 \gset
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_messages',
              jsonb_build_object('op', 'insert', 'table', 'messages', '_id', :'marker1', 'roomId', 'marker'))),
          'messages.remove that removes nothing (not the caller''s message) sends nothing');

------------------------------------------------------------------------
-- 2. presence.update / presence.leave: channel convex_presence
------------------------------------------------------------------------

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w($$SELECT 'ok' FROM (SELECT convex_presence_update('{"roomId": "lobby", "sessionId": "rt-tab", "data": {"status": "here"}}')) s$$) \g /dev/null
SELECT _id AS p1 FROM convex.presence WHERE session_id = 'rt-tab' AND room_id = 'lobby' \gset
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_presence',
              jsonb_build_object('op', 'insert', 'table', 'presence', '_id', :'p1', 'roomId', 'lobby'))),
          'presence.update (first heartbeat): an insert on convex_presence with _id and roomId');

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w($$SELECT 'ok' FROM (SELECT convex_presence_update('{"roomId": "lobby", "sessionId": "rt-tab", "data": {"status": "still here"}}')) s$$) \g /dev/null
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_presence',
              jsonb_build_object('op', 'update', 'table', 'presence', '_id', :'p1', 'roomId', 'lobby'))),
          'presence.update (later heartbeat): an update of the same row');

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w($$SELECT 'ok' FROM (SELECT convex_presence_leave('{"roomId": "lobby", "sessionId": "rt-tab"}')) s$$) \g /dev/null
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_presence',
              jsonb_build_object('op', 'delete', 'table', 'presence', '_id', :'p1', 'roomId', 'lobby'))),
          'presence.leave: a delete of the row');

-- presence.cleanup of a stale row: a delete too
SELECT regress_cvx_rt.w($$SELECT 'ok' FROM (SELECT convex_presence_update('{"roomId": "stale", "sessionId": "rt-old", "data": {}}')) s$$) \g /dev/null
SELECT _id AS p_stale FROM convex.presence WHERE session_id = 'rt-old' \gset
SELECT regress_cvx_rt.wx(format('UPDATE convex.presence SET last_seen = 0 WHERE _id = %L', :'p_stale')) \g /dev/null
SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w($$SELECT convex_presence_cleanup()::text$$) \g /dev/null
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_presence',
              jsonb_build_object('op', 'delete', 'table', 'presence', '_id', :'p_stale', 'roomId', 'stale'))),
          'presence.cleanup: a delete of the stale row');

------------------------------------------------------------------------
-- 3. users: ctx.db insert, users.updateProfile: channel convex_users, _id only
------------------------------------------------------------------------

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w($$SELECT convex_db_insert('users', '{"name": "Alice"}')$$) AS alice \gset
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_users',
              jsonb_build_object('op', 'insert', 'table', 'users', '_id', :'alice'))),
          'ctx.db.insert("users"): an insert on convex_users with _id only');

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w(format('SELECT set_config(%L, %L, false)', 'convexlite.user_id', :'alice')) \g /dev/null
SELECT regress_cvx_rt.w($$SELECT 'ok' FROM (SELECT convex_users_update_profile('{"name": "Alice L.", "image": "https://example.com/a.png"}')) s$$) \g /dev/null
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_users',
              jsonb_build_object('op', 'update', 'table', 'users', '_id', :'alice'))),
          'users.updateProfile: an update on convex_users with _id only (no name, no image)');

------------------------------------------------------------------------
-- 4. Storage and files: _storage without _id; files with its own _id
------------------------------------------------------------------------

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w($$SELECT convex_storage_upload(convex_files_generate_upload_url(), 'rt bytes'::bytea, 'text/plain') ->> 'storageId'$$) AS sid \gset
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex__storage', '{"op": "insert", "table": "_storage"}')),
          'storage upload: an insert on convex__storage without the storage id');
SELECT ok(NOT EXISTS (SELECT 1 FROM regress_cvx_rt.got WHERE payload::text LIKE '%' || :'sid' || '%'),
          '... the storage id appears in no payload');

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w(format('SELECT convex_files_save_file(%L)',
    jsonb_build_object('storageId', :'sid', 'name', 'a.txt', 'type', 'text/plain', 'size', 8, 'sessionId', 'rt-tab'))) AS f1 \gset
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_files',
              jsonb_build_object('op', 'insert', 'table', 'files', '_id', :'f1'))),
          'files.saveFile: an insert on convex_files with the file''s _id');

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w(format($$SELECT 'ok' FROM (SELECT convex_files_remove(%L)) s$$,
    jsonb_build_object('fileId', :'f1', 'sessionId', 'rt-tab'))) \g /dev/null
SELECT is(regress_cvx_rt.collect(2),
          regress_cvx_rt.sorted(jsonb_build_array(
              regress_cvx_rt.n('convex_files', jsonb_build_object('op', 'delete', 'table', 'files', '_id', :'f1')),
              regress_cvx_rt.n('convex__storage', '{"op": "delete", "table": "_storage"}'))),
          'files.remove: a delete on convex_files and one on convex__storage (no storage id)');

------------------------------------------------------------------------
-- 5. An application table: convex_<table>; filter fields after convex_table_notify
------------------------------------------------------------------------

SELECT regress_cvx_rt.w($$SELECT 'ok' FROM convex_define_table('rt_notes',
    '{"tag": {"fieldType": {"type": "string"}, "optional": false},
      "n": {"fieldType": {"type": "number"}, "optional": true},
      "body": {"fieldType": {"type": "string"}, "optional": true}}')$$) \g /dev/null
SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w($$SELECT convex_db_insert('rt_notes', '{"tag": "a", "n": 1, "body": "secret"}')$$) AS note1 \gset
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_rt_notes',
              jsonb_build_object('op', 'insert', 'table', 'rt_notes', '_id', :'note1'))),
          'ctx.db.insert on an application table: convex_rt_notes, _id only');

SELECT regress_cvx_rt.w($$SELECT 'ok' FROM convex_table_notify('rt_notes', ARRAY['tag', 'n'])$$) \g /dev/null
SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w($$SELECT convex_db_insert('rt_notes', '{"tag": "b", "n": 2.5, "body": "secret"}')$$) AS note2 \gset
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_rt_notes',
              jsonb_build_object('op', 'insert', 'table', 'rt_notes', '_id', :'note2', 'tag', 'b', 'n', 2.5))),
          'after convex_table_notify(tag, n): the insert carries tag and n (not body)');

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w(format($$SELECT 'ok' FROM (SELECT convex_db_patch('rt_notes', %L, '{"tag": "c"}')) s$$, :'note2')) \g /dev/null
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_rt_notes',
              jsonb_build_object('op', 'update', 'table', 'rt_notes', '_id', :'note2', 'tag', 'c', 'n', 2.5))),
          'ctx.db.patch: an update with the new tag');

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w(format($$SELECT 'ok' FROM (SELECT convex_db_replace('rt_notes', %L, '{"tag": "d"}')) s$$, :'note2')) \g /dev/null
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_rt_notes',
              jsonb_build_object('op', 'update', 'table', 'rt_notes', '_id', :'note2', 'tag', 'd'))),
          'ctx.db.replace: an update; the field it dropped (n) is not in the payload');

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w(format($$SELECT 'ok' FROM (SELECT convex_db_delete('rt_notes', %L)) s$$, :'note2')) \g /dev/null
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_rt_notes',
              jsonb_build_object('op', 'delete', 'table', 'rt_notes', '_id', :'note2', 'tag', 'd'))),
          'ctx.db.delete: a delete with the deleted document''s tag');

SELECT regress_cvx_rt.w($$SELECT 'ok' FROM convex_table_notify('rt_notes', ARRAY[]::text[])$$) \g /dev/null
SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.w(format($$SELECT 'ok' FROM (SELECT convex_db_patch('rt_notes', %L, '{"tag": "e"}')) s$$, :'note1')) \g /dev/null
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_rt_notes',
              jsonb_build_object('op', 'update', 'table', 'rt_notes', '_id', :'note1'))),
          'convex_table_notify with an empty array: back to _id only');

------------------------------------------------------------------------
-- 6. Transactions: only committed work is announced
------------------------------------------------------------------------

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.wx($$BEGIN;
    SELECT convex_messages_send('{"roomId": "rolled-back", "content": "x", "userName": "R"}');
    SELECT convex_db_insert('rt_notes', '{"tag": "rolled-back"}');
    ROLLBACK$$) \g /dev/null
SELECT regress_cvx_rt.w($$SELECT convex_messages_send('{"roomId": "marker", "content": "m", "userName": "M"}')$$) AS marker2 \gset
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_messages',
              jsonb_build_object('op', 'insert', 'table', 'messages', '_id', :'marker2', 'roomId', 'marker'))),
          'a rolled-back transaction sends nothing (only the later marker arrives)');

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.wx($$BEGIN;
    SAVEPOINT s;
    SELECT convex_messages_send('{"roomId": "savepoint-rolled-back", "content": "x", "userName": "S"}');
    SELECT convex_presence_update('{"roomId": "savepoint-rolled-back", "sessionId": "rt-sp", "data": {}}');
    ROLLBACK TO SAVEPOINT s;
    SELECT convex_messages_send('{"roomId": "savepoint-kept", "content": "y", "userName": "S"}');
    COMMIT$$) \g /dev/null
SELECT _id AS kept FROM convex.messages WHERE room_id = 'savepoint-kept' \gset
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_messages',
              jsonb_build_object('op', 'insert', 'table', 'messages', '_id', :'kept', 'roomId', 'savepoint-kept'))),
          'a rolled-back savepoint sends nothing; the rest of its transaction is announced');

SELECT regress_cvx_rt.reset();
SELECT is(regress_cvx_rt.w_error($$SELECT convex_messages_send('{"roomId": "failing", "content": "x", "userName": "F"}')
                                        || convex_db_insert('rt_notes', '{"tag": 1}')$$), '23514',
          'a statement that writes and then fails (a document that does not match its table) fails');
SELECT regress_cvx_rt.w($$SELECT convex_messages_send('{"roomId": "marker", "content": "m", "userName": "M"}')$$) AS marker3 \gset
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_messages',
              jsonb_build_object('op', 'insert', 'table', 'messages', '_id', :'marker3', 'roomId', 'marker'))),
          'a statement that fails after a write sends nothing for that write');

SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.wx($$BEGIN;
    SELECT convex_messages_send('{"roomId": "two", "content": "1", "userName": "T"}');
    SELECT convex_db_insert('rt_notes', '{"tag": "two"}');
    COMMIT$$) \g /dev/null
SELECT _id AS two_msg FROM convex.messages WHERE room_id = 'two' \gset
SELECT _id AS two_note FROM convex.rt_notes WHERE tag = 'two' \gset
SELECT is(regress_cvx_rt.collect(2),
          regress_cvx_rt.sorted(jsonb_build_array(
              regress_cvx_rt.n('convex_messages', jsonb_build_object('op', 'insert', 'table', 'messages', '_id', :'two_msg', 'roomId', 'two')),
              regress_cvx_rt.n('convex_rt_notes', jsonb_build_object('op', 'insert', 'table', 'rt_notes', '_id', :'two_note')))),
          'two writes in one committed transaction: one notification each, on their channels');

-- Two presence.update calls racing for a new row: the one that waited finds
-- the other's row on conflict and updates it, and says so ("update", not a
-- second "insert").
SELECT regress_cvx_rt.dblink_connect('rt_write2', regress_cvx_tap.conn('regress_cvx_rt_2')) \g /dev/null
SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.wx('BEGIN') \g /dev/null
SELECT regress_cvx_rt.w($$SELECT 'ok' FROM (SELECT convex_presence_update('{"roomId": "race", "sessionId": "rt-race", "data": {"status": "first"}}')) s$$) \g /dev/null
SELECT regress_cvx_rt.dblink_send_query('rt_write2',
    $$SELECT 'ok' FROM (SELECT convex_presence_update('{"roomId": "race", "sessionId": "rt-race", "data": {"status": "second"}}')) s$$) \g /dev/null
SELECT ok(regress_cvx_tap.wait_blocked('regress_cvx_rt_2'), 'race: the second presence.update waits for the first''s new row');
SELECT regress_cvx_rt.wx('COMMIT') \g /dev/null
SELECT r AS race_second FROM regress_cvx_rt.dblink_get_result('rt_write2') AS t(r text) \gset
SELECT _id AS p_race FROM convex.presence WHERE session_id = 'rt-race' AND room_id = 'race' \gset
SELECT is(regress_cvx_rt.collect(2),
          regress_cvx_rt.sorted(jsonb_build_array(
              regress_cvx_rt.n('convex_presence', jsonb_build_object('op', 'insert', 'table', 'presence', '_id', :'p_race', 'roomId', 'race')),
              regress_cvx_rt.n('convex_presence', jsonb_build_object('op', 'update', 'table', 'presence', '_id', :'p_race', 'roomId', 'race')))),
          'race: an insert by the first, an update of the same row by the second');
SELECT regress_cvx_rt.dblink_disconnect('rt_write2') \g /dev/null

-- convexlite.notify = off: nothing
SELECT regress_cvx_rt.reset();
SELECT regress_cvx_rt.wx($$BEGIN;
    SET LOCAL convexlite.notify = off;
    SELECT convex_messages_send('{"roomId": "quiet", "content": "q", "userName": "Q"}');
    COMMIT$$) \g /dev/null
SELECT regress_cvx_rt.w($$SELECT convex_messages_send('{"roomId": "marker", "content": "m", "userName": "M"}')$$) AS marker4 \gset
SELECT is(regress_cvx_rt.collect(1),
          jsonb_build_array(regress_cvx_rt.n('convex_messages',
              jsonb_build_object('op', 'insert', 'table', 'messages', '_id', :'marker4', 'roomId', 'marker'))),
          'SET convexlite.notify = off: the transaction sends nothing');

-- the listener saw no notification from this (pgTAP's) session's backend
SELECT is((SELECT count(*)::int FROM regress_cvx_rt.got WHERE pid = pg_backend_pid()), 0,
          'no notification came from the pgTAP session');

SELECT regress_cvx_rt.dblink_disconnect('rt_write') \g /dev/null
SELECT regress_cvx_rt.dblink_disconnect('rt_listen') \g /dev/null

SELECT * FROM finish();
ROLLBACK;

-- The writer committed: remove its blobs and reinstall convexlite, as the
-- other files begin (no large object, table or document left behind).
SET client_min_messages = warning;
SELECT count(lo_unlink(blob)) AS unlinked FROM convex._storage \g /dev/null
DROP EXTENSION convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;
