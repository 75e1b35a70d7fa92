--
-- DROP and CREATE EXTENSION in one session: kept statements, compiled
-- validators and the table cache must follow the new tables
--
SELECT convex_messages_send('{"roomId": "r", "content": "before", "userName": "u"}') IS NOT NULL AS sent_before;
SELECT convex_presence_update('{"roomId": "r", "data": {}, "sessionId": "s"}');
SELECT convex_db_insert('users', '{"name": "Before"}') AS before_user \gset
SELECT convex_id_table(:'before_user') AS before_table;

SET client_min_messages = error;  -- no pg_cron: see setup.sql
DROP EXTENSION convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

-- the new tables are empty, and every mutation works on them
SELECT (SELECT count(*) FROM convex.messages) AS messages,
       (SELECT count(*) FROM convex.presence) AS presence,
       (SELECT count(*) FROM convex.users) AS users;
SELECT convex_messages_send('{"roomId": "r", "content": "after", "userName": "u"}') AS m \gset
SELECT convex_id_table(:'m') AS after_table, content FROM convex.messages WHERE _id = :'m';
SELECT convex_presence_update('{"roomId": "r", "data": {"status": "back"}, "sessionId": "s"}');
SELECT convex_presence_update('{"roomId": "r", "data": {"status": "again"}, "sessionId": "s"}');
SELECT session_id, data FROM convex.presence;
SELECT convex_presence_leave('{"roomId": "r", "sessionId": "s"}');
SELECT convex_db_insert('users', '{"name": "After"}') AS after_user \gset
BEGIN;
SET LOCAL convexlite.user_id = :'after_user';
SELECT convex_users_update_profile('{"image": "x.png"}');
COMMIT;
SELECT name, image FROM convex.users;
SELECT convex_messages_remove(json_build_object('messageId', :'m')::jsonb);
SELECT count(*) AS messages_left FROM convex.messages;
-- an id minted before the reinstall still decodes to its table
SELECT convex_id_table(:'before_user') AS old_id_table;
DELETE FROM convex.users;
