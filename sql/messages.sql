--
-- messages.send and messages.remove
--
SELECT convex_db_insert('users', '{"name": "Alice"}') AS alice \gset
SELECT convex_db_insert('users', '{"name": "Bob"}') AS bob \gset

-- The seed's example (demo mode: no user, a sessionId)
SELECT convex_messages_send('{"roomId": "general", "content": "Hello, world!", "userName": "Alice", "sessionId": "session_xyz"}') AS m1 \gset
SELECT convex_id_table(:'m1') AS table_of_new_id, length(:'m1') BETWEEN 31 AND 37 AS id_length_ok;
SELECT room_id, user_id, content, user_name, session_id FROM convex.messages WHERE _id = :'m1';
SELECT convex_db_get('messages', :'m1') - '_id' - '_creationTime' AS document;

-- Signed in: userId is set automatically; sessionId is optional
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_messages_send('{"roomId": "general", "content": "From Alice", "userName": "Alice"}') AS m2 \gset
COMMIT;
SELECT user_id = :'alice' AS owned_by_alice, session_id IS NULL AS no_session
  FROM convex.messages WHERE _id = :'m2';

-- Unicode and an empty room name are just strings
SELECT convex_messages_send('{"roomId": "", "content": "héllo \u2603 ✓", "userName": "Zoë"}') AS m3 \gset
SELECT content, user_name FROM convex.messages WHERE _id = :'m3';

-- Bad arguments: clear errors, nothing written
SELECT count(*) AS before FROM convex.messages;
SELECT regress_try($$SELECT convex_messages_send('{"roomId": "general", "userName": "Alice"}')$$);
SELECT regress_try($$SELECT convex_messages_send('{"roomId": "general", "content": 42, "userName": "Alice"}')$$);
SELECT regress_try($$SELECT convex_messages_send('{"roomId": "general", "content": "hi", "userName": "Alice", "userId": "x"}')$$);
SELECT regress_try($$SELECT convex_messages_send('{"roomId": ["general"], "content": "hi", "userName": "Alice"}')$$);
SELECT regress_try($$SELECT convex_messages_send('{"roomId": "general", "content": "hi", "userName": "Alice", "sessionId": null}')$$);
SELECT regress_try($$SELECT convex_messages_send('[1, 2]')$$);
SELECT regress_try($$SELECT convex_messages_send('null')$$);
SELECT regress_try($$SELECT convex_messages_send(NULL)$$);
SELECT count(*) AS after FROM convex.messages;

-- remove: a message without userId (demo mode) may be removed by anyone,
-- whatever sessionId is passed (the seed's "orphaned" rule)
SELECT convex_messages_remove(json_build_object('messageId', :'m1', 'sessionId', 'other_session')::jsonb);
SELECT count(*) AS removed FROM convex.messages WHERE _id = :'m1';
-- idempotent: removing again is silently nothing
SELECT convex_messages_remove(json_build_object('messageId', :'m1', 'sessionId', 'session_xyz')::jsonb);

-- remove: only the owner may delete a user's message
BEGIN;
SET LOCAL convexlite.user_id = :'bob';
SELECT convex_messages_remove(json_build_object('messageId', :'m2')::jsonb);
COMMIT;
SELECT count(*) AS not_bobs_to_delete FROM convex.messages WHERE _id = :'m2';
SELECT convex_messages_remove(json_build_object('messageId', :'m2')::jsonb);
SELECT count(*) AS not_anonymous_either FROM convex.messages WHERE _id = :'m2';
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_messages_remove(json_build_object('messageId', :'m2')::jsonb);
COMMIT;
SELECT count(*) AS removed_by_owner FROM convex.messages WHERE _id = :'m2';

-- remove: a message without userId (orphaned) may be deleted by anyone
SELECT count(*) AS orphan FROM convex.messages WHERE _id = :'m3';
SELECT convex_messages_remove(json_build_object('messageId', :'m3')::jsonb);
SELECT count(*) AS orphan_removed FROM convex.messages WHERE _id = :'m3';

-- remove: a signed-in user's message with a sessionId may be removed by a
-- caller passing that sessionId, not another; an empty sessionId never matches
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_messages_send('{"roomId": "general", "content": "tab A", "userName": "Alice", "sessionId": "tab-a"}') AS m4 \gset
SELECT convex_messages_send('{"roomId": "general", "content": "empty session", "userName": "Alice", "sessionId": ""}') AS m5 \gset
COMMIT;
SELECT convex_messages_remove(json_build_object('messageId', :'m4', 'sessionId', 'tab-b')::jsonb);
SELECT convex_messages_remove(json_build_object('messageId', :'m4')::jsonb);
SELECT count(*) AS other_session_refused FROM convex.messages WHERE _id = :'m4';
SELECT convex_messages_remove(json_build_object('messageId', :'m5', 'sessionId', '')::jsonb);
SELECT count(*) AS empty_session_kept FROM convex.messages WHERE _id = :'m5';
SELECT convex_messages_remove(json_build_object('messageId', :'m4', 'sessionId', 'tab-a')::jsonb);
SELECT count(*) AS removed_by_session FROM convex.messages WHERE _id = :'m4';
-- Bob, signed in, with Alice's sessionId: the session matches, so it goes
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_messages_send('{"roomId": "general", "content": "tab C", "userName": "Alice", "sessionId": "tab-c"}') AS m6 \gset
COMMIT;
BEGIN;
SET LOCAL convexlite.user_id = :'bob';
SELECT convex_messages_remove(json_build_object('messageId', :'m6', 'sessionId', 'tab-c')::jsonb);
COMMIT;
SELECT count(*) AS removed_by_matching_session FROM convex.messages WHERE _id = :'m6';

-- remove: bad ids
SELECT regress_try(format($$SELECT convex_messages_remove('{"messageId": "%s"}')$$, :'alice'));
SELECT regress_try($$SELECT convex_messages_remove('{"messageId": "jh7abc123"}')$$);
SELECT regress_try($$SELECT convex_messages_remove('{"messageId": 17}')$$);
SELECT regress_try($$SELECT convex_messages_remove('{}')$$);
-- send: a roomId too large for its index (about 2.7 kB after compression)
-- is refused with convexlite's own 54000, nothing written
SELECT regress_try(format($$SELECT convex_messages_send('{"roomId": "%s", "content": "x", "userName": "A", "sessionId": "s"}')$$,
       (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 300) AS i)));
-- a long but compressible roomId still fits
SELECT length(convex_messages_send(jsonb_build_object('roomId', repeat('r', 100000), 'content', 'x',
       'userName', 'A', 'sessionId', 's'))) AS long_room_id_sent;
DELETE FROM convex.messages WHERE length(room_id) = 100000;
SELECT count(*) AS remaining FROM convex.messages;
DELETE FROM convex.messages;
DELETE FROM convex.users;
