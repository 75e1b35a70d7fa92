--
-- presence.update, presence.leave and presence.cleanup
--
SELECT convex_db_insert('users', '{"name": "Alice"}') AS alice \gset

-- The seed's example: one row for the session in the room
SELECT convex_presence_update('{"roomId": "canvas-1", "data": {"cursor": {"x": 150, "y": 200}, "userName": "Alice", "color": "#FF6B6B", "status": "active"}, "sessionId": "session_xyz"}');
SELECT room_id, user_id, session_id, data,
       abs(last_seen - extract(epoch FROM clock_timestamp()) * 1000) < 60000 AS last_seen_is_now
  FROM convex.presence;
SELECT _id AS p1, last_seen AS seen1 FROM convex.presence \gset

-- A heartbeat updates the same row: new data, later lastSeen, same _id
SELECT pg_sleep(0.01);
SELECT convex_presence_update('{"roomId": "canvas-1", "data": {"cursor": {"x": 151.5, "y": -3}}, "sessionId": "session_xyz"}');
SELECT count(*) AS rows, _id = :'p1' AS same_id, data, last_seen >= :seen1 AS later
  FROM convex.presence GROUP BY _id, data, last_seen;

-- Another session (another tab) in the same room gets its own row,
-- and the same session in another room too
SELECT convex_presence_update('{"roomId": "canvas-1", "data": {}, "sessionId": "session_abc"}');
SELECT convex_presence_update('{"roomId": "canvas-2", "data": {"position": {"x": 1, "y": 2}}, "sessionId": "session_xyz"}');
SELECT room_id, session_id, data FROM convex.presence ORDER BY room_id, session_id;

-- Neither a user nor a sessionId: silently nothing
SELECT convex_presence_update('{"roomId": "canvas-1", "data": {"status": "ghost"}}');
SELECT count(*) AS unchanged FROM convex.presence;

-- Signed in without a session: one row per user and room
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_presence_update('{"roomId": "canvas-3", "data": {"status": "here"}}');
SELECT convex_presence_update('{"roomId": "canvas-3", "data": {"status": "still here"}}');
COMMIT;
SELECT room_id, user_id = :'alice' AS alice, session_id, data FROM convex.presence WHERE room_id = 'canvas-3';

-- Signed in with a session: the sessionId is what finds the row
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_presence_update('{"roomId": "canvas-1", "data": {"status": "alice tab"}, "sessionId": "session_abc"}');
COMMIT;
SELECT session_id, user_id IS NULL AS user_still_unset, data FROM convex.presence
 WHERE room_id = 'canvas-1' ORDER BY session_id;

-- The data validator: nested paths and extra fields, nothing written
SELECT regress_try($$SELECT convex_presence_update('{"roomId": "canvas-1", "data": {"cursor": {"x": "left", "y": 2}}, "sessionId": "s"}')$$);
SELECT regress_try($$SELECT convex_presence_update('{"roomId": "canvas-1", "data": {"cursor": {"x": 1}}, "sessionId": "s"}')$$);
SELECT regress_try($$SELECT convex_presence_update('{"roomId": "canvas-1", "data": {"mood": "happy"}, "sessionId": "s"}')$$);
SELECT regress_try($$SELECT convex_presence_update('{"roomId": "canvas-1", "data": "busy", "sessionId": "s"}')$$);
SELECT regress_try($$SELECT convex_presence_update('{"roomId": "canvas-1", "sessionId": "s"}')$$);
SELECT regress_try($$SELECT convex_presence_update('{"roomId": 1, "data": {}, "sessionId": "s"}')$$);
SELECT count(*) AS no_row_for_s FROM convex.presence WHERE session_id = 's';

-- leave: the session's row only; idempotent
SELECT convex_presence_leave('{"roomId": "canvas-1", "sessionId": "session_xyz"}');
SELECT convex_presence_leave('{"roomId": "canvas-1", "sessionId": "session_xyz"}');
SELECT room_id, session_id FROM convex.presence ORDER BY room_id, session_id;
-- leave without user or session: nothing
SELECT convex_presence_leave('{"roomId": "canvas-3"}');
SELECT count(*) AS rows FROM convex.presence;
-- leave as the signed-in user without a session
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_presence_leave('{"roomId": "canvas-3"}');
COMMIT;
SELECT count(*) AS canvas3_rows FROM convex.presence WHERE room_id = 'canvas-3';
SELECT regress_try($$SELECT convex_presence_leave('{"sessionId": "s"}')$$);

-- cleanup (internal): deletes rows not seen for 30 seconds
UPDATE convex.presence SET last_seen = last_seen - 31000 WHERE session_id = 'session_abc';
SELECT convex_presence_cleanup();
SELECT room_id, session_id FROM convex.presence ORDER BY room_id, session_id;
SELECT convex_presence_cleanup('{}');
SELECT regress_try($$SELECT convex_presence_cleanup('{"all": true}')$$);

-- Heartbeats are HOT updates (no index covers data or last_seen)
BEGIN;
SELECT convex_presence_update('{"roomId": "hot", "data": {"cursor": {"x": 0, "y": 0}}, "sessionId": "hot"}');
SELECT count(convex_presence_update(json_build_object('roomId', 'hot', 'sessionId', 'hot',
         'data', json_build_object('cursor', json_build_object('x', i, 'y', i)))::jsonb)) AS heartbeats
  FROM generate_series(1, 200) AS i;
-- (pending statistics: this transaction's and any not yet flushed)
SELECT n_tup_upd >= 200 AS counted, n_tup_hot_upd >= 0.95 * n_tup_upd AS hot
  FROM pg_stat_xact_user_tables WHERE relid = 'convex.presence'::regclass;
COMMIT;
DELETE FROM convex.presence;

-- An empty sessionId is no session (the seed tests args.sessionId for
-- truth): signed out it does nothing; signed in it finds the user's row,
-- and "" is stored as passed
SELECT convex_db_insert('users', '{"name": "Bob"}') AS bob \gset
SELECT convex_presence_update('{"roomId": "e", "data": {}, "sessionId": ""}');
SELECT count(*) AS nothing_signed_out FROM convex.presence WHERE room_id = 'e';
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_presence_update('{"roomId": "e", "data": {"name": "alice"}, "sessionId": ""}');
COMMIT;
BEGIN;
SET LOCAL convexlite.user_id = :'bob';
SELECT convex_presence_update('{"roomId": "e", "data": {"name": "bob"}, "sessionId": ""}');
SELECT convex_presence_update('{"roomId": "e", "data": {"name": "bob again"}, "sessionId": ""}');
COMMIT;
SELECT user_id = :'alice' AS alice, quote_nullable(session_id) AS session_id, data FROM convex.presence
 WHERE room_id = 'e' ORDER BY data ->> 'name';
BEGIN;
SET LOCAL convexlite.user_id = :'bob';
SELECT convex_presence_leave('{"roomId": "e", "sessionId": ""}');
COMMIT;
SELECT user_id = :'alice' AS alice_left_alone, data FROM convex.presence WHERE room_id = 'e';
SELECT convex_presence_leave('{"roomId": "e", "sessionId": ""}');
SELECT count(*) AS signed_out_leave_does_nothing FROM convex.presence WHERE room_id = 'e';
DELETE FROM convex.presence;

-- Hostile shapes: clear errors, no crash, nothing written
SELECT count(*) AS before FROM convex.presence;
-- 1000 levels of nesting where a number belongs (the value shown is cut)
SELECT left(regress_try(format($$SELECT convex_presence_update('{"roomId": "r", "sessionId": "deep", "data": {"cursor": {"x": %s1%s, "y": 0}}}')$$,
                               repeat('[', 1000), repeat(']', 1000))), 160) AS deep_nesting;
-- a 1 MB string where an object belongs
SELECT left(regress_try(format($$SELECT convex_presence_update('{"roomId": "r", "sessionId": "big", "data": "%s"}')$$,
                               repeat('x', 1000000))), 120) AS huge_string;
-- booleans, numbers and arrays where strings belong
SELECT regress_try($$SELECT convex_presence_update('{"roomId": true, "data": {}, "sessionId": "s"}')$$);
SELECT regress_try($$SELECT convex_presence_update('{"roomId": "r", "data": {}, "sessionId": ["s"]}')$$);
-- an invalid Unicode escape never reaches convexlite: jsonb refuses it
SELECT regress_try($$SELECT convex_presence_update('{"roomId": "\ud800", "data": {}, "sessionId": "s"}')$$);
SELECT regress_try($$SELECT convex_presence_update('{"roomId": "\u0000", "data": {}, "sessionId": "s"}')$$);
SELECT count(*) AS after FROM convex.presence;
-- large and tiny numbers are numbers (kept exactly as jsonb keeps them)
SELECT convex_presence_update('{"roomId": "r", "sessionId": "num", "data": {"cursor": {"x": 1e30, "y": -1e-30}}}');
SELECT data FROM convex.presence WHERE session_id = 'num';
-- a roomId too large for the (room, session) index: convexlite's own 54000,
-- nothing written
SELECT regress_try(format($$SELECT convex_presence_update('{"roomId": "%s", "sessionId": "big", "data": {}}')$$,
       (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 300) AS i)));
SELECT count(*) AS big_room_rows FROM convex.presence WHERE session_id = 'big';
DELETE FROM convex.presence;
DELETE FROM convex.users;
