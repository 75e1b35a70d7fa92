-- test/pgtap/writes_in_place.sql: writes that skip the planner and the
-- executor.  A session's heartbeat updates its row in place (presence.c's
-- heartbeat_in_place, db.c's cvx_update_in_place), and a document insert
-- (ctx.db.insert, messages.send, files, the scheduler's jobs) forms and
-- stores its row itself (db.c's insert_in_place).  What the UPDATE or
-- INSERT statement did must still happen:
--
--   * an update that is not HOT (the new version does not fit on the page)
--     puts the new version into every index: amcheck's heapallindexed finds
--     every row in every index of convex.presence;
--   * a table a DBA gave a trigger or a check constraint takes the UPDATE
--     statement, so the trigger fires and the constraint holds (23514), as
--     does one whose session index or last_seen column a DBA changed;
--   * at REPEATABLE READ a row a concurrent transaction changed after the
--     snapshot is 40001, as for an UPDATE;
--   * at READ COMMITTED a heartbeat that waited for a concurrent one
--     updates the newest version (one row, the last data);
--   * a mutation's write limit counts the heartbeat (54000);
--   * an insert puts its row into every index (amcheck), a DBA's trigger
--     fires, a DBA's rule applies, a DBA's column gets its default, a
--     DBA's NOT NULL holds (23502), and a role without INSERT or SELECT on
--     the table is refused (42501) as by the INSERT ... RETURNING
--     statement;
--   * in a read-only transaction both refuse as the statements did (25006).
--
-- Two more sessions through dblink: "pip_a" and "pip_b" commit their own
-- writes, so the file ends by reinstalling convexlite (as the other files
-- begin).  ON_ERROR_STOP is off so that the cleanup is always reached.
\set ON_ERROR_STOP 0
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(27);
SET LOCAL client_min_messages = warning;
CREATE SCHEMA regress_cvx_pip;
CREATE EXTENSION dblink SCHEMA regress_cvx_pip;
CREATE EXTENSION IF NOT EXISTS amcheck;
RESET client_min_messages;

------------------------------------------------------------------------
-- 1. Concurrent transactions (committed rows, in sessions pip_a and pip_b,
--    before this transaction takes any lock that would block them)
------------------------------------------------------------------------

CREATE FUNCTION regress_cvx_pip.heartbeat(session text, x int) RETURNS text LANGUAGE sql AS $f$
    SELECT format('SELECT convex_presence_update(%L)',
                  jsonb_build_object('roomId', 'c-room', 'sessionId', session,
                                     'data', jsonb_build_object('cursor', jsonb_build_object('x', x, 'y', 0))))
$f$;
-- Run a statement returning one value (or none) in a dblink session.
CREATE FUNCTION regress_cvx_pip.q(conn text, sql text) RETURNS text LANGUAGE sql AS $f$
    SELECT r FROM regress_cvx_pip.dblink(conn, sql) AS t(r text)
$f$;
\ir lib/sessions.sql

SELECT regress_cvx_pip.dblink_connect('pip_a', regress_cvx_tap.conn('regress_cvx_pip_a')) \g /dev/null
SELECT regress_cvx_pip.dblink_connect('pip_b', regress_cvx_tap.conn('regress_cvx_pip_b')) \g /dev/null
SELECT regress_cvx_pip.q('pip_a', regress_cvx_pip.heartbeat('rr', 0)) \g /dev/null
SELECT regress_cvx_pip.q('pip_a', regress_cvx_pip.heartbeat('rc', 0)) \g /dev/null

-- REPEATABLE READ: pip_a's snapshot is taken, then pip_b's heartbeat commits
SELECT regress_cvx_pip.dblink_exec('pip_a', 'BEGIN ISOLATION LEVEL REPEATABLE READ') \g /dev/null
SELECT regress_cvx_pip.q('pip_a', 'SELECT count(*) FROM convex.presence') \g /dev/null
SELECT regress_cvx_pip.q('pip_b', regress_cvx_pip.heartbeat('rr', 1)) \g /dev/null
SELECT throws_ok($$ SELECT regress_cvx_pip.q('pip_a', regress_cvx_pip.heartbeat('rr', 2)) $$,
                 '40001', NULL,
                 'REPEATABLE READ: a heartbeat of a row changed after the snapshot fails with 40001');
SELECT regress_cvx_pip.dblink_exec('pip_a', 'ROLLBACK') \g /dev/null

-- READ COMMITTED: pip_b waits for pip_a's heartbeat, then updates the newest version
SELECT regress_cvx_pip.dblink_exec('pip_a', 'BEGIN') \g /dev/null
SELECT regress_cvx_pip.q('pip_a', regress_cvx_pip.heartbeat('rc', 1)) \g /dev/null
SELECT regress_cvx_pip.dblink_send_query('pip_b', regress_cvx_pip.heartbeat('rc', 2)) \g /dev/null
SELECT ok(regress_cvx_tap.wait_blocked('regress_cvx_pip_b'),
          'READ COMMITTED: a heartbeat waits for a concurrent one of the same session');
SELECT regress_cvx_pip.dblink_exec('pip_a', 'COMMIT') \g /dev/null
SELECT is((SELECT count(*)::int FROM regress_cvx_pip.dblink_get_result('pip_b') AS t(r text)), 1,
          '... and succeeds once it commits');
SELECT regress_cvx_pip.dblink_get_result('pip_b') \g /dev/null
SELECT results_eq($$ SELECT * FROM regress_cvx_pip.dblink('pip_a',
                      'SELECT count(*)::int, max((data -> ''cursor'' ->> ''x'')::int) FROM convex.presence
                        WHERE session_id = ''rc'' AND room_id = ''c-room''') AS t(n int, x int) $$,
                  $$ VALUES (1, 2) $$,
                  '... leaving one row with the data of the heartbeat that came last');

SELECT regress_cvx_pip.dblink_disconnect('pip_a') \g /dev/null
SELECT regress_cvx_pip.dblink_disconnect('pip_b') \g /dev/null

------------------------------------------------------------------------
-- 2. Updates that are not HOT put the new version into every index
------------------------------------------------------------------------

SELECT n_tup_upd AS upd0, n_tup_hot_upd AS hot0
  FROM pg_stat_xact_user_tables WHERE relid = 'convex.presence'::regclass \gset

-- 1.5 kB of data a heartbeat, 80 heartbeats in one transaction: the old
-- versions cannot be pruned, so each page takes about five, and the next
-- goes to another page (not HOT)
SELECT count(convex_presence_update(jsonb_build_object(
           'roomId', 'big-room', 'sessionId', 'big-session',
           'data', jsonb_build_object('name', repeat(chr(97 + g % 26), 1500),
                                      'cursor', jsonb_build_object('x', g, 'y', -g)))))
  FROM generate_series(1, 80) AS g \g /dev/null

SELECT n_tup_upd - :upd0 AS upd, n_tup_hot_upd - :hot0 AS hot
  FROM pg_stat_xact_user_tables WHERE relid = 'convex.presence'::regclass \gset

SELECT ok(:upd - :hot >= 10,
          format('heartbeats of 1.5 kB fill pages, and those that follow are not HOT (%s of %s)',
                 :upd - :hot, :upd));
SELECT is((SELECT count(*)::int FROM pg_index i
            WHERE i.indrelid = 'convex.presence'::regclass
              AND bt_index_check(i.indexrelid, true) IS NOT NULL), 5,
          'amcheck (heapallindexed): every row version is in each of presence''s 5 indexes');
SET LOCAL enable_seqscan = off;
SELECT is((SELECT count(*)::int FROM convex.presence
            WHERE session_id = 'big-session' AND room_id = 'big-room'),
          1, 'the unique index finds one row for the session');
RESET enable_seqscan;
SELECT is((SELECT e -> 'data' -> 'cursor'
             FROM jsonb_array_elements(convex_presence_list('{"roomId": "big-room"}')) AS e),
          '{"x": 80, "y": -80}'::jsonb, 'presence.list (index by_room) returns the last heartbeat');

------------------------------------------------------------------------
-- 3. A table with a trigger or a check constraint takes the UPDATE
------------------------------------------------------------------------

CREATE TABLE regress_cvx_pip.fired (session_id text, x numeric);
-- what a write of a row of convex.presence or convex.messages wrote (x: the cursor's)
CREATE FUNCTION regress_cvx_pip.record_write() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO regress_cvx_pip.fired VALUES (NEW.session_id, (to_jsonb(NEW) #>> '{data,cursor,x}')::numeric);
    RETURN NEW;
END
$f$;
CREATE TRIGGER regress_cvx_pip_record BEFORE UPDATE ON convex.presence
    FOR EACH ROW EXECUTE FUNCTION regress_cvx_pip.record_write();

SELECT convex_presence_update('{"roomId": "t-room", "sessionId": "t-session", "data": {"cursor": {"x": 1, "y": 1}}}') \g /dev/null
SELECT convex_presence_update('{"roomId": "t-room", "sessionId": "t-session", "data": {"cursor": {"x": 2, "y": 2}}}') \g /dev/null
SELECT results_eq($$ SELECT session_id, x FROM regress_cvx_pip.fired $$,
                  $$ VALUES ('t-session'::text, 2::numeric) $$,
                  'a BEFORE UPDATE trigger a DBA put on convex.presence fires for a heartbeat');
DROP TRIGGER regress_cvx_pip_record ON convex.presence;

ALTER TABLE convex.presence ADD CONSTRAINT regress_cvx_pip_never CHECK (last_seen < 0) NOT VALID;
SELECT throws_ok($$ SELECT convex_presence_update('{"roomId": "t-room", "sessionId": "t-session", "data": {}}') $$,
                 '23514', NULL, 'a check constraint a DBA put on convex.presence holds for a heartbeat');
ALTER TABLE convex.presence DROP CONSTRAINT regress_cvx_pip_never;
SELECT is((SELECT data FROM convex.presence WHERE session_id = 't-session'),
          '{"cursor": {"x": 2, "y": 2}}'::jsonb, 'without them, heartbeats update in place again');
SELECT convex_presence_update('{"roomId": "t-room", "sessionId": "t-session", "data": {"cursor": {"x": 3, "y": 3}}}') \g /dev/null
SELECT is((SELECT data FROM convex.presence WHERE session_id = 't-session'),
          '{"cursor": {"x": 3, "y": 3}}'::jsonb, '... and the row holds the newest data');

-- a DBA renamed the session index, or changed last_seen's type: the UPDATE
ALTER INDEX convex.presence_by_session_and_room RENAME TO regress_cvx_pip_sessions;
SELECT convex_presence_update('{"roomId": "t-room", "sessionId": "t-session", "data": {"cursor": {"x": 4, "y": 4}}}') \g /dev/null
SELECT is((SELECT data FROM convex.presence WHERE session_id = 't-session'),
          '{"cursor": {"x": 4, "y": 4}}'::jsonb, 'with the session index renamed, a heartbeat takes the UPDATE');
ALTER INDEX convex.regress_cvx_pip_sessions RENAME TO presence_by_session_and_room;
ALTER TABLE convex.presence ALTER COLUMN last_seen TYPE numeric;
SELECT convex_presence_update('{"roomId": "t-room", "sessionId": "t-session", "data": {"cursor": {"x": 5, "y": 5}}}') \g /dev/null
SELECT ok((SELECT last_seen > 1e12 AND data = '{"cursor": {"x": 5, "y": 5}}' FROM convex.presence
            WHERE session_id = 't-session'),
          'with last_seen made numeric, a heartbeat takes the UPDATE, which converts the time');
ALTER TABLE convex.presence ALTER COLUMN last_seen TYPE double precision;

------------------------------------------------------------------------
-- 4. A mutation's write limit counts a heartbeat
------------------------------------------------------------------------

SET LOCAL convexlite.max_bytes_written = 100;
SELECT throws_ok($$ SELECT convex_mutation('presence:update',
                      jsonb_build_object('roomId', 't-room', 'sessionId', 't-session',
                                         'data', jsonb_build_object('name', repeat('n', 200)))) $$,
                 '54000', NULL, 'a heartbeat of more bytes than convexlite.max_bytes_written fails (54000)');
RESET convexlite.max_bytes_written;

------------------------------------------------------------------------
-- 5. Inserts in place
------------------------------------------------------------------------

SELECT count(convex_messages_send(jsonb_build_object(
           'roomId', 'room-' || g % 3, 'content', 'message ' || g, 'userName', 'u',
           'sessionId', 's' || g)))
  FROM generate_series(1, 60) AS g \g /dev/null
SELECT is((SELECT count(*)::int FROM pg_index i
            WHERE i.indrelid = 'convex.messages'::regclass
              AND bt_index_check(i.indexrelid, true) IS NOT NULL),
          (SELECT count(*)::int FROM pg_index WHERE indrelid = 'convex.messages'::regclass),
          'amcheck (heapallindexed): 60 messages.send rows are in every index of messages');
SELECT is(jsonb_array_length(convex_messages_list('{"roomId": "room-1"}')), 20,
          'messages.list (index by_room) finds the 20 messages of a room');

CREATE TRIGGER regress_cvx_pip_record_insert AFTER INSERT ON convex.messages
    FOR EACH ROW EXECUTE FUNCTION regress_cvx_pip.record_write();
SELECT convex_messages_send('{"roomId": "t", "content": "with a trigger", "userName": "u", "sessionId": "t-send"}') \g /dev/null
SELECT is((SELECT count(*)::int FROM regress_cvx_pip.fired WHERE session_id = 't-send'), 1,
          'an AFTER INSERT trigger a DBA put on convex.messages fires for messages.send');
DROP TRIGGER regress_cvx_pip_record_insert ON convex.messages;

CREATE RULE regress_cvx_pip_rule AS ON INSERT TO convex.messages
    DO ALSO INSERT INTO regress_cvx_pip.fired VALUES (NEW.session_id, 0);
SELECT convex_messages_send('{"roomId": "t", "content": "with a rule", "userName": "u", "sessionId": "r-send"}') \g /dev/null
SELECT is((SELECT count(*)::int FROM regress_cvx_pip.fired WHERE session_id = 'r-send'), 1,
          'a rule a DBA put on convex.messages applies to messages.send');
DROP RULE regress_cvx_pip_rule ON convex.messages;

ALTER TABLE convex.messages ADD COLUMN regress_note text DEFAULT 'from the default';
SELECT convex_messages_send('{"roomId": "t", "content": "with a DBA column", "userName": "u", "sessionId": "t-note"}') AS noted \gset
SELECT is((SELECT regress_note FROM convex.messages WHERE _id = :'noted'), 'from the default',
          'a column a DBA added to convex.messages gets its default');
ALTER TABLE convex.messages DROP COLUMN regress_note;

ALTER TABLE convex.messages ALTER COLUMN session_id SET NOT NULL;
SELECT throws_ok($$ SELECT convex_messages_send('{"roomId": "t", "content": "no session", "userName": "u"}') $$,
                 '23502', NULL, 'a NOT NULL a DBA put on convex.messages holds for messages.send (23502)');
ALTER TABLE convex.messages ALTER COLUMN session_id DROP NOT NULL;
SELECT is((SELECT count(*)::int FROM convex.messages WHERE content = 'no session'), 0,
          '... and nothing was written');

-- ctx.db.insert runs with the caller's rights: a role without INSERT, or
-- without SELECT (the write reports its row back), on the table is refused
-- as by the INSERT ... RETURNING statement; one with both writes
SET LOCAL client_min_messages = warning;
CREATE ROLE regress_cvx_pip_writer;
RESET client_min_messages;
GRANT USAGE ON SCHEMA convex TO regress_cvx_pip_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA convex TO regress_cvx_pip_writer;
GRANT EXECUTE ON FUNCTION convex_db_insert(text, jsonb) TO regress_cvx_pip_writer;
SET LOCAL ROLE regress_cvx_pip_writer;
SELECT throws_ok($$ SELECT convex_db_insert('users', '{"name": "no insert right"}') $$,
                 '42501', NULL, 'ctx.db.insert by a role without INSERT on the table: 42501');
RESET ROLE;
REVOKE SELECT ON convex.users FROM regress_cvx_pip_writer;
GRANT INSERT ON convex.users TO regress_cvx_pip_writer;
SET LOCAL ROLE regress_cvx_pip_writer;
SELECT throws_ok($$ SELECT convex_db_insert('users', '{"name": "no select right"}') $$,
                 '42501', NULL,
                 'ctx.db.insert by a role with INSERT but not SELECT on the table: 42501, as the INSERT ... RETURNING it was');
RESET ROLE;
GRANT SELECT ON convex.users TO regress_cvx_pip_writer;
SET LOCAL ROLE regress_cvx_pip_writer;
SELECT lives_ok($$ SELECT convex_db_insert('users', '{"name": "insert right"}') $$,
                'ctx.db.insert by a role with INSERT and SELECT on the table writes');
RESET ROLE;

-- a read-only transaction (PostgREST runs GET requests in one) refuses
-- both as the statements did: 25006 (last, since a transaction cannot be
-- made read-write again; pgTAP records its results in temporary tables)
SET LOCAL transaction_read_only = on;
SELECT throws_ok($$ SELECT convex_messages_send('{"roomId": "ro", "content": "read only", "userName": "u"}') $$,
                 '25006', NULL, 'messages.send in a read-only transaction: 25006');
SELECT throws_ok($$ SELECT convex_presence_update('{"roomId": "t-room", "sessionId": "t-session", "data": {}}') $$,
                 '25006', NULL, 'a heartbeat in a read-only transaction: 25006');

SELECT * FROM finish();
ROLLBACK;

-- pip_a and pip_b committed rows: reinstall convexlite, as the other files begin
SET client_min_messages = warning;
DROP EXTENSION convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;
