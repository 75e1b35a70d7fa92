-- convexlite demo: every mutation of the seed app, as a person would call them.
-- Run by scripts/demo.sh in a fresh database with pg_cron and convexlite.
\set ON_ERROR_STOP on
\set QUIET on
\pset null '(absent)'

\echo
\echo '== The catalog: convexlite tables and their Convex table numbers'
SELECT name, number FROM convex._tables ORDER BY number;

\echo
\echo '== A user (ctx.db.insert, as the app owner would in a sign-up flow)'
SELECT convex_db_insert('users', '{"name": "Alice", "email": "alice@example.com"}') AS alice \gset
\echo 'alice =' :alice
SELECT convex_id_table(:'alice') AS "table of that id";

\echo
\echo '== users.updateProfile, signed out: ConvexError UNAUTHORIZED (SQLSTATE 42501)'
\set ON_ERROR_STOP off
SELECT convex_users_update_profile('{"name": "Alice Johnson"}');
\set ON_ERROR_STOP on

\echo
\echo '== users.updateProfile, signed in (SET LOCAL convexlite.user_id)'
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_users_update_profile('{"name": "Alice Johnson", "image": "https://example.com/avatar.jpg"}');
COMMIT;
SELECT convex_db_get('users', :'alice') AS "alice's document";

\echo
\echo '== messages.send in demo mode (sessionId) and signed in'
SELECT convex_messages_send('{"roomId": "general", "content": "Hello, world!", "userName": "Alice", "sessionId": "session_xyz"}') AS m1 \gset
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_messages_send('{"roomId": "general", "content": "Signed in now", "userName": "Alice"}') AS m2 \gset
COMMIT;
SELECT room_id, user_name, content, user_id IS NOT NULL AS signed_in, session_id
  FROM convex.messages ORDER BY _creation_time;

\echo
\echo '== Argument validation, in Convex words (SQLSTATE 22023)'
\set ON_ERROR_STOP off
SELECT convex_messages_send('{"roomId": "general", "content": 42, "userName": "Alice"}');
SELECT convex_messages_send('{"roomId": "general", "userName": "Alice"}');
SELECT convex_messages_remove(json_build_object('messageId', :'alice')::jsonb);
\set ON_ERROR_STOP on

\echo
\echo '== messages.remove: the seed''s ownership rule'
\echo '   A message with no userId (sent in demo mode) may be removed by anyone:'
SELECT convex_messages_remove(json_build_object('messageId', :'m1')::jsonb);
SELECT count(*) AS "m1 after remove" FROM convex.messages WHERE _id = :'m1';
\echo '   Alice''s message, sent from tab-a: a stranger is silently refused ...'
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_messages_send('{"roomId": "general", "content": "From tab A", "userName": "Alice", "sessionId": "tab-a"}') AS m3 \gset
COMMIT;
SELECT convex_messages_remove(json_build_object('messageId', :'m3', 'sessionId', 'someone_else')::jsonb);
SELECT count(*) AS "m3 still there" FROM convex.messages WHERE _id = :'m3';
\echo '   ... but the same sessionId (or Alice herself) removes it:'
SELECT convex_messages_remove(json_build_object('messageId', :'m3', 'sessionId', 'tab-a')::jsonb);
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_messages_remove(json_build_object('messageId', :'m2')::jsonb);
COMMIT;
SELECT count(*) AS "messages left" FROM convex.messages;
SELECT convex_messages_remove(json_build_object('messageId', :'m3', 'sessionId', 'tab-a')::jsonb);
\echo '(removing again is idempotent)'

\echo
\echo '== presence.update: first call inserts, heartbeats update the same row'
SELECT convex_presence_update('{"roomId": "canvas-1", "data": {"cursor": {"x": 150, "y": 200}, "userName": "Alice", "color": "#FF6B6B", "status": "active"}, "sessionId": "session_xyz"}');
SELECT convex_presence_update('{"roomId": "canvas-1", "data": {"cursor": {"x": 152, "y": 204}, "userName": "Alice", "color": "#FF6B6B", "status": "active"}, "sessionId": "session_xyz"}');
SELECT room_id, session_id, data FROM convex.presence;
\echo '(with neither a user nor a sessionId, presence.update silently does nothing)'
SELECT convex_presence_update('{"roomId": "canvas-1", "data": {}}');
SELECT count(*) AS "presence rows" FROM convex.presence;

\echo
\echo '== presence.leave'
SELECT convex_presence_leave('{"roomId": "canvas-1", "sessionId": "session_xyz"}');
SELECT count(*) AS "presence rows" FROM convex.presence;

\echo
\echo '== presence.cleanup (internal) removes entries not seen for 30 s'
SELECT convex_presence_update('{"roomId": "canvas-1", "data": {"status": "idle"}, "sessionId": "old_tab"}');
UPDATE convex.presence SET last_seen = last_seen - 60000;
SELECT convex_presence_cleanup() AS "stale rows deleted";

\echo
\echo '== files.generateUploadUrl, the upload, files.saveFile'
SELECT convex_files_generate_upload_url() AS upload_url \gset
\echo 'upload URL (single use, valid for an hour):' :upload_url
SELECT convex_storage_upload(:'upload_url', convert_to('%PDF-1.7 a tiny report', 'UTF8'), 'application/pdf') AS upload \gset
\echo 'upload response:' :upload
SELECT :'upload'::jsonb->>'storageId' AS storage_id \gset
SELECT convex_files_save_file(jsonb_build_object('storageId', :'storage_id', 'name', 'report.pdf',
         'type', 'application/pdf', 'size', 22, 'sessionId', 'session_xyz')) AS file_id \gset
SELECT name, type, size, session_id FROM convex.files;
SELECT convex_storage_get_metadata(:'storage_id') AS "ctx.storage.getMetadata";
SELECT convex_storage_get_url(:'storage_id') AS "ctx.storage.getUrl",
       convert_from(convex_storage_get(:'storage_id'), 'UTF8') AS "the bytes";
\echo '   an upload URL works once:'
\set ON_ERROR_STOP off
SELECT convex_storage_upload(:'upload_url', '\x00'::bytea);
\set ON_ERROR_STOP on
\echo '   a large object written by the client (lo_import / lo_write) is copied into a blob, in chunks:'
SELECT convex_storage_upload_large_object(convex_files_generate_upload_url(), lo_from_bytea(0, 'streamed bytes'), 'text/plain')->>'storageId' AS streamed \gset
SELECT convex_storage_get_metadata(:'streamed') AS "streamed blob";

\echo
\echo '== files.remove: the file row, its _storage row and its large object go together'
SELECT convex_files_remove(jsonb_build_object('fileId', :'file_id', 'sessionId', 'session_xyz'));
SELECT (SELECT count(*) FROM convex.files) AS files, (SELECT count(*) FROM convex._storage) AS blobs;
\echo '   the storage cleanup reclaims blobs never saved (grace period: a day; 0 here):'
SELECT convex_storage_cleanup(0) AS "blobs reclaimed";

\echo
\echo '== The jobs pg_cron runs (presence and scheduler cleanup, due scheduled jobs without the worker: every minute; storage: every 5 minutes)'
SELECT jobname, schedule, command FROM cron.job;

\echo
\echo '== Your own mutations (seed 001): a table, a handler, convex_define_mutation, convex_mutation'
SELECT convex_define_table('accounts',
  '{"owner": {"fieldType": {"type": "string"}, "optional": false},
    "balance": {"fieldType": {"type": "number"}, "optional": false}}') AS "accounts table number";
CREATE FUNCTION transfer_funds(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  from_doc jsonb := convex_db_get('accounts', args->>'fromId');
  to_doc   jsonb := convex_db_get('accounts', args->>'toId');
  amount   float8 := (args->>'amount')::float8;
BEGIN
  IF from_doc IS NULL OR to_doc IS NULL THEN RAISE EXCEPTION 'Account not found'; END IF;
  IF (from_doc->>'balance')::float8 < amount THEN RAISE EXCEPTION 'Insufficient funds'; END IF;
  PERFORM convex_db_patch('accounts', args->>'fromId',
                          jsonb_build_object('balance', (from_doc->>'balance')::float8 - amount));
  PERFORM convex_db_patch('accounts', args->>'toId',
                          jsonb_build_object('balance', (to_doc->>'balance')::float8 + amount));
  RETURN 'null';
END $$;
SELECT convex_define_mutation('accounts:transferFunds', 'transfer_funds(jsonb)',
  '{"type": "object", "value": {
      "fromId": {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "toId":   {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "amount": {"fieldType": {"type": "number"}, "optional": false}}}',
  '{"type": "null"}');
SELECT convex_db_insert('accounts', '{"owner": "alice", "balance": 100}') AS acct_a \gset
SELECT convex_db_insert('accounts', '{"owner": "bob", "balance": 0}') AS acct_b \gset
SELECT convex_mutation('accounts:transferFunds',
                       jsonb_build_object('fromId', :'acct_a', 'toId', :'acct_b', 'amount', 30)) AS result;
SELECT owner, balance FROM convex.accounts ORDER BY owner;
\echo '   overdrawing fails and changes nothing; an internal mutation is hidden from public callers:'
\set ON_ERROR_STOP off
SELECT convex_mutation('accounts:transferFunds',
                       jsonb_build_object('fromId', :'acct_a', 'toId', :'acct_b', 'amount', 1000));
DROP ROLE IF EXISTS demo_public_caller;
CREATE ROLE demo_public_caller;
SET ROLE demo_public_caller;
SELECT convex_mutation('presence:cleanup');
RESET ROLE;
DROP ROLE demo_public_caller;
\set ON_ERROR_STOP on
SELECT owner, balance FROM convex.accounts ORDER BY owner;
\echo '   the built-in mutations run by path too (messages:send returns the new id):'
SELECT convex_mutation('messages:send', '{"roomId": "general", "content": "via convex_mutation", "userName": "Demo"}') IS NOT NULL AS sent;

\echo
\echo '== ctx.scheduler and realtime: a mutation schedules follow-up work; the background worker runs it'
\echo '   after the mutation commits, and every committed write is announced on channel convex_<table>'
CREATE FUNCTION send_later(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  PERFORM convex_mutation('messages:send', jsonb_build_object(
      'roomId', args -> 'roomId', 'content', 'Sent now', 'userName', 'Demo'));
  -- await ctx.scheduler.runAfter(0, api.messages.send, {...})
  RETURN to_jsonb(convex_scheduler_run_after(0, 'messages:send', jsonb_build_object(
      'roomId', args -> 'roomId', 'content', 'Sent by a scheduled job', 'userName', 'Demo')));
END $$;
SELECT convex_define_mutation('demo:sendLater', 'send_later(jsonb)',
  '{"type": "object", "value": {"roomId": {"fieldType": {"type": "string"}, "optional": false}}}');
LISTEN convex_messages;
SELECT convex_mutation('demo:sendLater', '{"roomId": "scheduled"}') #>> '{}' AS job \gset
SELECT pg_sleep(0.5);
SELECT d ->> 'name' AS name, d -> 'state' AS state, d -> 'args' AS args
  FROM convex_db_get('_scheduled_functions', :'job') AS d;
SELECT content FROM convex.messages WHERE room_id = 'scheduled' ORDER BY _creation_time;
UNLISTEN convex_messages;
\echo '   a job canceled before it is due never runs:'
SELECT convex_scheduler_run_after(60000, 'messages:send',
  '{"roomId": "scheduled", "content": "never sent", "userName": "Demo"}') AS later \gset
SELECT convex_scheduler_cancel(:'later');
SELECT state, completed_time IS NOT NULL AS completed FROM convex._scheduled_functions WHERE _id = :'later';

\echo
\echo 'Done. Every mutation above ran inside PostgreSQL, in the caller''s transaction.'
