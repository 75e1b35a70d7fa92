-- test/pgtap/concurrency_cases.sql: the logic that concurrency depends on,
-- in one session (the real races are in test/scripts/presence_race.sh).
--
-- presence.update keeps one row per (sessionId, roomId), and per (userId,
-- roomId) for a signed-in user without a session; presence.leave and the
-- internal presence.cleanup delete exactly what the seed says; and a
-- heartbeat is a HOT update (it touches no indexed column).

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(43);
SET LOCAL client_min_messages = warning;

SELECT convex_db_insert('users', '{"name": "U1"}') AS u1 \gset
SELECT convex_db_insert('users', '{"name": "U2"}') AS u2 \gset
SELECT convex_db_insert('users', '{"name": "U3"}') AS u3 \gset

------------------------------------------------------------------------
-- 1. Heartbeats are HOT updates of one row
------------------------------------------------------------------------

SELECT n_tup_upd AS upd0, n_tup_hot_upd AS hot0
  FROM pg_stat_xact_user_tables WHERE relid = 'convex.presence'::regclass \gset

SELECT count(convex_presence_update(jsonb_build_object(
           'roomId', 'hot-room', 'sessionId', 'hot-session',
           'data', jsonb_build_object('cursor', jsonb_build_object('x', g, 'y', 200 - g)))))
  FROM generate_series(1, 200) AS g \g /dev/null

SELECT n_tup_upd - :upd0 AS upd, n_tup_hot_upd - :hot0 AS hot
  FROM pg_stat_xact_user_tables WHERE relid = 'convex.presence'::regclass \gset

SELECT is((SELECT count(*)::int FROM convex.presence WHERE session_id = 'hot-session'), 1,
          '200 heartbeats of one session in one room leave one row');
SELECT is((SELECT data FROM convex.presence WHERE session_id = 'hot-session'),
          '{"cursor": {"x": 200, "y": 0}}'::jsonb, 'the row holds the last heartbeat''s data');
SELECT cmp_ok(:upd::bigint, '>=', 199::bigint, 'the 199 heartbeats after the first are updates');
SELECT ok(:hot * 100 >= :upd * 95,
          format('at least 95%% of heartbeat updates are HOT (%s of %s)', :hot, :upd));

------------------------------------------------------------------------
-- 2. presence.update twice for one session and room
------------------------------------------------------------------------

SELECT convex_presence_update('{"roomId": "room1", "sessionId": "s1", "data": {"cursor": {"x": 1, "y": 2}}}') \g /dev/null
SELECT _id AS s1_id, _creation_time AS s1_ct, last_seen AS s1_seen0
  FROM convex.presence WHERE session_id = 's1' AND room_id = 'room1' \gset
-- Make the second heartbeat's lastSeen visibly newer.
UPDATE convex.presence SET last_seen = last_seen - 5000 WHERE _id = :'s1_id';
SELECT convex_presence_update('{"roomId": "room1", "sessionId": "s1", "data": {"cursor": {"x": 3, "y": 4}, "status": "typing"}}') \g /dev/null

SELECT is((SELECT count(*)::int FROM convex.presence WHERE session_id = 's1' AND room_id = 'room1'), 1,
          'presence.update twice (same session and room): one row');
SELECT is((SELECT _id FROM convex.presence WHERE session_id = 's1' AND room_id = 'room1'), :'s1_id',
          'presence.update twice: the row keeps its _id');
SELECT is((SELECT _creation_time FROM convex.presence WHERE _id = :'s1_id'), :s1_ct::float8,
          'presence.update twice: the row keeps its _creationTime');
SELECT is((SELECT data FROM convex.presence WHERE _id = :'s1_id'),
          '{"cursor": {"x": 3, "y": 4}, "status": "typing"}'::jsonb,
          'presence.update twice: data is replaced by the new data');
SELECT ok((SELECT last_seen >= :s1_seen0 FROM convex.presence WHERE _id = :'s1_id'),
          'presence.update twice: lastSeen is set again (not older than the first heartbeat)');
SELECT ok((SELECT abs(last_seen - extract(epoch FROM clock_timestamp())::float8 * 1000) < 60000
                  AND last_seen = trunc(last_seen)
             FROM convex.presence WHERE _id = :'s1_id'),
          'lastSeen is Date.now(): whole milliseconds since the Unix epoch');
SELECT is((SELECT user_id FROM convex.presence WHERE _id = :'s1_id'), NULL,
          'presence.update signed out: the row has no userId');

SELECT convex_presence_update('{"roomId": "room2", "sessionId": "s1", "data": {}}') \g /dev/null
SELECT is((SELECT count(*)::int FROM convex.presence WHERE session_id = 's1'), 2,
          'the same session in another room gets a row of its own');

------------------------------------------------------------------------
-- 3. A signed-in user without a session
------------------------------------------------------------------------

SELECT set_config('convexlite.user_id', :'u1', true) \g /dev/null
SELECT convex_presence_update('{"roomId": "room1", "data": {"status": "first"}}') \g /dev/null
SELECT _id AS u1_id FROM convex.presence WHERE user_id = :'u1' AND room_id = 'room1' \gset
SELECT convex_presence_update('{"roomId": "room1", "data": {"status": "second"}}') \g /dev/null

SELECT is((SELECT count(*)::int FROM convex.presence WHERE user_id = :'u1' AND room_id = 'room1'), 1,
          'presence.update twice by a user without session: one row');
SELECT is((SELECT _id || ' ' || coalesce(session_id, '(no session)') || ' ' || (data->>'status')
             FROM convex.presence WHERE user_id = :'u1' AND room_id = 'room1'),
          :'u1_id' || ' (no session) second',
          'presence.update by user: same row, no sessionId, new data');

------------------------------------------------------------------------
-- 4. A user's row created with a session is found by a later call without one
------------------------------------------------------------------------

SELECT set_config('convexlite.user_id', :'u2', true) \g /dev/null
SELECT convex_presence_update('{"roomId": "room3", "sessionId": "s2", "data": {"status": "tab"}}') \g /dev/null
SELECT _id AS u2_id FROM convex.presence WHERE user_id = :'u2' AND room_id = 'room3' \gset
SELECT is((SELECT session_id FROM convex.presence WHERE _id = :'u2_id'), 's2',
          'presence.update signed in with a session: the row has both userId and sessionId');
SELECT convex_presence_update('{"roomId": "room3", "data": {"status": "no tab"}}') \g /dev/null
SELECT is((SELECT count(*)::int FROM convex.presence WHERE user_id = :'u2' AND room_id = 'room3'), 1,
          'presence.update without session finds the user''s row by (userId, roomId): still one row');
SELECT is((SELECT _id || ' ' || session_id || ' ' || (data->>'status') FROM convex.presence
            WHERE user_id = :'u2' AND room_id = 'room3'),
          :'u2_id' || ' s2 no tab',
          'presence.update without session patched that row (same _id, sessionId kept, new data)');

-- With both a user and a sessionId, the session is the key (several tabs).
SELECT convex_presence_update('{"roomId": "room3", "sessionId": "s2b", "data": {"status": "tab 2"}}') \g /dev/null
SELECT is((SELECT count(*)::int FROM convex.presence WHERE user_id = :'u2' AND room_id = 'room3'), 2,
          'presence.update with another sessionId: a second row for the same user (one per tab)');

------------------------------------------------------------------------
-- 5. presence.leave
------------------------------------------------------------------------

SELECT set_config('convexlite.user_id', '', true) \g /dev/null
SELECT convex_presence_update('{"roomId": "room1", "sessionId": "s3", "data": {}}') \g /dev/null
-- room1 now has: s1 (no user), s3 (no user), u1 (no session); s1 is also in room2.
SELECT convex_presence_leave('{"roomId": "room1", "sessionId": "s1"}') \g /dev/null
SELECT is((SELECT count(*)::int FROM convex.presence WHERE session_id = 's1' AND room_id = 'room1'), 0,
          'presence.leave by session removes that session''s row');
SELECT is(ARRAY(SELECT coalesce(session_id, 'user ' || (SELECT name FROM convex.users u WHERE u._id = p.user_id))
                       || '@' || room_id
                  FROM convex.presence p WHERE room_id IN ('room1', 'room2') ORDER BY 1),
          ARRAY['s1@room2', 's3@room1', 'user U1@room1'],
          'presence.leave by session leaves the other rows (other sessions, other rooms, users)');

-- Signed in and passing a sessionId: the session is the key, not the user.
SELECT set_config('convexlite.user_id', :'u1', true) \g /dev/null
SELECT convex_presence_leave('{"roomId": "room1", "sessionId": "s3"}') \g /dev/null
SELECT is(ARRAY(SELECT coalesce(session_id, 'user') FROM convex.presence WHERE room_id = 'room1' ORDER BY 1),
          ARRAY['user'],
          'presence.leave signed in with a sessionId removes the session''s row, not the user''s');
SELECT convex_presence_leave('{"roomId": "room1"}') \g /dev/null
SELECT is((SELECT count(*)::int FROM convex.presence WHERE room_id = 'room1'), 0,
          'presence.leave signed in without session removes the user''s row');

-- A user with two rows in a room (two tabs): leave without a session removes the oldest.
SELECT set_config('convexlite.user_id', :'u3', true) \g /dev/null
SELECT convex_presence_update('{"roomId": "room5", "sessionId": "older-tab", "data": {}}') \g /dev/null
SELECT convex_presence_update('{"roomId": "room5", "sessionId": "newer-tab", "data": {}}') \g /dev/null
SELECT convex_presence_update('{"roomId": "room5", "sessionId": "older-tab", "data": {"status": "still here"}}') \g /dev/null
SELECT convex_presence_leave('{"roomId": "room5"}') \g /dev/null
SELECT is(ARRAY(SELECT session_id FROM convex.presence WHERE user_id = :'u3' AND room_id = 'room5'),
          ARRAY['newer-tab'],
          'presence.leave by user removes the user''s oldest row in the room (by _creationTime)');
SELECT convex_presence_leave('{"roomId": "room5"}') \g /dev/null
SELECT is((SELECT count(*)::int FROM convex.presence WHERE user_id = :'u3'), 0,
          'presence.leave by user again removes the next one');
SELECT lives_ok($$SELECT convex_presence_leave('{"roomId": "room5"}')$$,
                'presence.leave with nothing left is idempotent');

-- Neither a user nor a session: silently nothing.
SELECT set_config('convexlite.user_id', '', true) \g /dev/null
SELECT count(*) AS rows_before FROM convex.presence \gset
SELECT lives_ok($$SELECT convex_presence_update('{"roomId": "room3", "data": {"status": "nobody"}}')$$,
                'presence.update with neither user nor sessionId returns silently');
SELECT lives_ok($$SELECT convex_presence_leave('{"roomId": "room3"}')$$,
                'presence.leave with neither user nor sessionId returns silently');
SELECT is((SELECT count(*) FROM convex.presence), :rows_before::bigint,
          'with neither user nor sessionId nothing was inserted or deleted');
SELECT is((SELECT count(*)::int FROM convex.presence WHERE data->>'status' = 'nobody'), 0,
          'with neither user nor sessionId no row got the data');

------------------------------------------------------------------------
-- 6. presence.cleanup: rows not seen for 30 s
------------------------------------------------------------------------

DELETE FROM convex.presence;
SELECT convex_presence_update(jsonb_build_object('roomId', 'clean', 'sessionId', s, 'data', '{}'::jsonb))
  FROM unnest(ARRAY['c1', 'c2', 'c3', 'c4', 'c5']) AS s \g /dev/null
-- signed out and no session: no row
SELECT convex_presence_update('{"roomId": "clean", "data": {}}') \g /dev/null
SELECT set_config('convexlite.user_id', :'u1', true) \g /dev/null
SELECT convex_presence_update('{"roomId": "clean", "data": {}}') \g /dev/null
SELECT set_config('convexlite.user_id', '', true) \g /dev/null

UPDATE convex.presence SET last_seen = last_seen - 31000 WHERE session_id IN ('c1', 'c2', 'c5');
UPDATE convex.presence SET last_seen = last_seen - 31000 WHERE user_id = :'u1';
UPDATE convex.presence SET last_seen = last_seen - 25000 WHERE session_id = 'c3';
-- c5 was stale, but a heartbeat brings it back.
SELECT convex_presence_update('{"roomId": "clean", "sessionId": "c5", "data": {"status": "back"}}') \g /dev/null

SELECT is(convex_presence_cleanup(), 3, 'presence.cleanup returns the number of rows not seen for over 30 s');
SELECT is(ARRAY(SELECT coalesce(session_id, 'user') FROM convex.presence ORDER BY 1),
          ARRAY['c3', 'c4', 'c5'],
          'presence.cleanup deleted the stale rows only (25 s old, fresh and re-heartbeated rows stay)');
SELECT is(convex_presence_cleanup('{}'), 0, 'presence.cleanup again: nothing left to delete');
SELECT throws_ok($$SELECT convex_presence_cleanup('{"olderThan": 1}')$$, '22023', NULL,
                 'presence.cleanup takes no arguments (22023 for an extra field)');
UPDATE convex.presence SET last_seen = last_seen - 31000;
SELECT is(convex_presence_cleanup(), 3, 'presence.cleanup removes every row once all are stale');
SELECT is((SELECT count(*)::int FROM convex.presence), 0, 'the presence table is empty afterwards');

------------------------------------------------------------------------
-- 7. After a leave, the next heartbeat creates a fresh row
------------------------------------------------------------------------

SELECT convex_presence_update('{"roomId": "again", "sessionId": "sx", "data": {}}') \g /dev/null
SELECT _id AS sx_first FROM convex.presence WHERE session_id = 'sx' \gset
SELECT convex_presence_leave('{"roomId": "again", "sessionId": "sx"}') \g /dev/null
SELECT convex_presence_update('{"roomId": "again", "sessionId": "sx", "data": {"status": "back"}}') \g /dev/null
SELECT is((SELECT count(*)::int FROM convex.presence WHERE session_id = 'sx'), 1,
          'update, leave, update: one row');
SELECT isnt((SELECT _id FROM convex.presence WHERE session_id = 'sx'), :'sx_first',
            'update, leave, update: the new row has a new _id');
SELECT is(convex_id_table((SELECT _id FROM convex.presence WHERE session_id = 'sx')), 'presence',
          'presence rows have Id<"presence"> ids');

------------------------------------------------------------------------
-- 8. Bad input changes nothing
------------------------------------------------------------------------

SELECT count(*) AS rows_before FROM convex.presence \gset
SELECT throws_ok($$SELECT convex_presence_update('{"roomId": "again", "sessionId": "sx", "data": {"cursor": {"x": 1}}}')$$,
                 '22023', NULL, 'presence.update with a cursor missing y: 22023');
SELECT throws_ok($$SELECT convex_presence_update('{"roomId": "again", "sessionId": "sx", "data": {"mood": "happy"}}')$$,
                 '22023', NULL, 'presence.update with an unknown data field: 22023');
SELECT throws_ok($$SELECT convex_presence_update('{"sessionId": "sy", "data": {}}')$$,
                 '22023', NULL, 'presence.update without roomId: 22023');
SELECT is((SELECT count(*) FROM convex.presence), :rows_before::bigint, 'the refused updates wrote nothing');
SELECT is((SELECT data FROM convex.presence WHERE session_id = 'sx'), '{"status": "back"}'::jsonb,
          'the refused updates did not change the existing row');

SELECT * FROM finish();
ROLLBACK;
