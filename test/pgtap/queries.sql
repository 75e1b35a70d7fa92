-- test/pgtap/queries.sql: the seed app's queries and registered queries
-- (issue 17 parts 1 and 2; docs/queries.md).
--
--   1. each built-in query against the app's code (BankkRoll/Convex-UI
--      convex/*.ts): identity from convexlite.user_id and from
--      request.jwt.claims, demo mode (sessionId, signed out), stale
--      presence at the 30 s boundary, files with their URLs, users.get's
--      public fields;
--   2. registered queries: argument and return validation, internal
--      queries refused to ordinary roles and reachable from a mutation or
--      a query, ctx.runQuery, the read limit;
--   3. a query never writes: every kind of write refused (25006) and
--      nothing left, even when the handler catches the error; the
--      transaction is read-write again afterwards;
--   4. conflict locks: a query outside a mutation takes none; ctx.runQuery
--      inside a mutation takes the index key lock of its read;
--   5. ordinary roles can call every query but still cannot read tables;
--   6. every bad input gets its documented SQLSTATE.
--
-- Run with pg_prove as a superuser against a database where convexlite can
-- be (re)installed.  Everything runs in one transaction that is rolled back.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(124);
SET LOCAL client_min_messages = warning;
DROP SCHEMA IF EXISTS regress_cvx_tap CASCADE;
CREATE SCHEMA regress_cvx_tap;
\ir lib/roles.sql
SELECT regress_cvx_tap.ensure_roles('LOGIN', 'regress_query_alice', 'regress_query_dev') \g /dev/null
\ir lib/throws_state_like.sql
RESET client_min_messages;
SET LOCAL search_path = public, regress_cvx_tap;
SET LOCAL convexlite.url = 'https://happy-animal-123.convex.cloud';

------------------------------------------------------------------------
-- 1. The built-in queries against the app's code paths
------------------------------------------------------------------------

SELECT convex_db_insert('users', '{"name": "Ann", "email": "ann@example.com", "image": "ann.png",
                                   "emailVerificationTime": 1700000000000, "isAnonymous": false}') AS ann \gset
SELECT convex_db_insert('users', '{"name": "Bob", "phone": "+15550100"}') AS bob \gset

-- messages.list: ctx.db.query("messages").withIndex("by_room", eq roomId).order("asc").collect()
SELECT set_config('convexlite.user_id', :'ann', true) \g /dev/null
SELECT convex_messages_send('{"roomId": "lobby", "content": "m1", "userName": "Ann"}') AS m1 \gset
SELECT set_config('convexlite.user_id', '', true) \g /dev/null
SELECT convex_messages_send('{"roomId": "lobby", "content": "m2", "userName": "Guest", "sessionId": "s-guest"}') AS m2 \gset
SELECT convex_messages_send('{"roomId": "other", "content": "m3", "userName": "Guest"}') AS m3 \gset
SELECT is((SELECT jsonb_agg(d ->> '_id' ORDER BY o) FROM jsonb_array_elements(convex_messages_list('{"roomId": "lobby"}')) WITH ORDINALITY e(d, o)),
          jsonb_build_array(:'m1', :'m2'), 'messages.list: the room''s messages, oldest first, no other room''s');
SELECT is(convex_messages_list('{"roomId": "lobby"}') -> 0,
          convex_db_get('messages', :'m1'), 'messages.list: each message is the document ctx.db.get returns');
SELECT is(convex_messages_list('{"roomId": "lobby"}') -> 0 ->> 'userId', :'ann', 'messages.list: a signed-in sender''s userId');
SELECT ok(NOT (convex_messages_list('{"roomId": "lobby"}') -> 1 ? 'userId'),
          'messages.list: a guest''s message has no userId key (undefined, not null)');
SELECT is(convex_query('messages:list', '{"roomId": "lobby"}'), convex_messages_list('{"roomId": "lobby"}'),
          'messages:list through convex_query equals the SQL function');
SELECT is(convex_messages_list('{"roomId": "nobody-here"}'), '[]', 'messages.list: an empty room is []');

-- users.current: getAuthUserId, then ctx.db.get(userId)
SELECT is(convex_users_current(), 'null', 'users.current: signed out -> null');
SELECT set_config('convexlite.user_id', :'ann', true) \g /dev/null
SELECT is(convex_users_current(), convex_db_get('users', :'ann'), 'users.current: convexlite.user_id -> the user''s document');
SELECT is(convex_query('users:current', '{}'), convex_db_get('users', :'ann'), 'users:current through convex_query');
SELECT set_config('convexlite.user_id', '', true) \g /dev/null
SELECT set_config('request.jwt.claims', jsonb_build_object('sub', :'ann' || '|session-1')::text, true) \g /dev/null
SELECT is(convex_users_current() ->> '_id', :'ann', 'users.current: the sub of request.jwt.claims (userId|sessionId)');
SELECT set_config('request.jwt.claims', '{"sub": "garbage"}', true) \g /dev/null
SELECT throws_state_like($$SELECT convex_users_current()$$, '42501', '%is not a valid Id<"users">%',
                         'users.current: a sub that is no Id<"users"> is an error, not "signed out"');
SELECT set_config('request.jwt.claims', '', true) \g /dev/null
SELECT set_config('convexlite.user_id', :'bob', true) \g /dev/null
SELECT throws_state_like($$SELECT convex_users_current()$$, '22023', 'ReturnsValidationError:%',
                         'users.current: a user the app''s userValidator does not describe (phone) fails its returns validator');
SELECT set_config('convexlite.user_id', '', true) \g /dev/null

-- users.get: only {_id, name, image}
SELECT is(convex_users_get(jsonb_build_object('userId', :'ann')),
          jsonb_build_object('_id', :'ann', 'name', 'Ann', 'image', 'ann.png'),
          'users.get: public fields only (no email, emailVerificationTime, isAnonymous, _creationTime)');
SELECT is(convex_users_get(jsonb_build_object('userId', :'bob')), jsonb_build_object('_id', :'bob', 'name', 'Bob'),
          'users.get: no phone, and no image key when there is none');
SELECT convex_db_insert('users', '{}') AS blank \gset
SELECT is(convex_query('users:get', jsonb_build_object('userId', :'blank')) - '_id', '{}',
          'users.get: a user without name or image -> just its _id');
SELECT is(convex_users_get(jsonb_build_object('userId', (SELECT _id FROM convex.users WHERE name = 'Ann') )) ->> 'name', 'Ann',
          'users.get reads by id');

-- presence.list: now - lastSeen < 30000
SELECT convex_presence_update('{"roomId": "lobby", "sessionId": "p-fresh", "data": {"status": "fresh"}}') \g /dev/null
SELECT convex_presence_update('{"roomId": "lobby", "sessionId": "p-29s", "data": {"status": "29s"}}') \g /dev/null
SELECT convex_presence_update('{"roomId": "lobby", "sessionId": "p-31s", "data": {"status": "31s"}}') \g /dev/null
SELECT convex_presence_update('{"roomId": "lobby", "sessionId": "p-old", "data": {"status": "old"}}') \g /dev/null
SELECT convex_presence_update('{"roomId": "other", "sessionId": "p-other", "data": {"status": "other"}}') \g /dev/null
UPDATE convex.presence SET last_seen = last_seen - 29000 WHERE session_id = 'p-29s';
UPDATE convex.presence SET last_seen = last_seen - 31000 WHERE session_id = 'p-31s';
UPDATE convex.presence SET last_seen = last_seen - 86400000 WHERE session_id = 'p-old';
SELECT is((SELECT jsonb_agg(p -> 'data' ->> 'status' ORDER BY o) FROM jsonb_array_elements(convex_presence_list('{"roomId": "lobby"}')) WITH ORDINALITY e(p, o)),
          '["fresh", "29s"]', 'presence.list: seen within 30 s kept, 31 s and a day ago left out, by_room order');
SELECT is((convex_query('presence:list', '{"roomId": "lobby"}') -> 0) - 'lastSeen',
          (SELECT convex_db_get('presence', _id) - 'lastSeen' FROM convex.presence WHERE session_id = 'p-fresh'),
          'presence:list returns the presence documents');
SELECT ok((SELECT bool_and(p ? 'lastSeen' AND p ? 'data' AND p ->> 'roomId' = 'lobby')
             FROM jsonb_array_elements(convex_presence_list('{"roomId": "lobby"}')) p),
          'presence.list: every entry has roomId, data and lastSeen');
SELECT is(convex_presence_list('{"roomId": "empty"}'), '[]', 'presence.list: an empty room is []');

-- files.getUrl and files.list
SELECT convex_storage_upload(convex_files_generate_upload_url(), 'one'::bytea, 'text/plain') ->> 'storageId' AS blob1 \gset
SELECT convex_storage_upload(convex_files_generate_upload_url(), 'two'::bytea) ->> 'storageId' AS blob2 \gset
SELECT convex_files_save_file(jsonb_build_object('storageId', :'blob1', 'name', 'guest.txt', 'type', 'text/plain', 'size', 3,
                                                 'sessionId', 's-guest')) AS file_guest \gset
SELECT set_config('convexlite.user_id', :'ann', true) \g /dev/null
SELECT convex_files_save_file(jsonb_build_object('storageId', :'blob2', 'name', 'ann.bin', 'type', 'application/octet-stream',
                                                 'size', 3, 'sessionId', 's-guest')) AS file_ann \gset
SELECT set_config('convexlite.user_id', '', true) \g /dev/null
SELECT is(convex_files_get_url(jsonb_build_object('storageId', :'blob1')),
          to_jsonb('https://happy-animal-123.convex.cloud/api/storage/' || :'blob1'),
          'files.getUrl: <convexlite.url>/api/storage/<id>');
SELECT is(convex_files_get_url(jsonb_build_object('storageId', :'blob1')), to_jsonb(convex_storage_get_url(:'blob1')),
          'files.getUrl is ctx.storage.getUrl');
SELECT is(convex_query('files:list', '{"sessionId": "s-guest"}'),
          jsonb_build_array(convex_db_get('files', :'file_guest') || jsonb_build_object('url', convex_storage_get_url(:'blob1')),
                            convex_db_get('files', :'file_ann') || jsonb_build_object('url', convex_storage_get_url(:'blob2'))),
          'files.list, demo mode: the session''s files, each document with its url');
SELECT is(convex_files_list(), '[]', 'files.list: signed out without a sessionId -> []');
SELECT is(convex_files_list('{"sessionId": ""}'), '[]', 'files.list: an empty sessionId is no session ([])');
SELECT set_config('convexlite.user_id', :'ann', true) \g /dev/null
SELECT is((SELECT jsonb_agg(f ->> '_id') FROM jsonb_array_elements(convex_files_list('{"sessionId": "s-guest"}')) f),
          jsonb_build_array(:'file_ann'), 'files.list: signed in -> the user''s files (by_user), not the session''s');
SELECT set_config('convexlite.user_id', '', true) \g /dev/null
SAVEPOINT blob_gone;
SELECT convex_storage_delete(:'blob1');
SELECT is(convex_files_get_url(jsonb_build_object('storageId', :'blob1')), 'null', 'files.getUrl: a deleted blob -> null');
SELECT is(convex_files_list('{"sessionId": "s-guest"}') -> 0 -> 'url', 'null', 'files.list: a file whose blob is gone has url null');
ROLLBACK TO SAVEPOINT blob_gone;

------------------------------------------------------------------------
-- 2. Registered queries
------------------------------------------------------------------------

CREATE FUNCTION public.q_room_count(args jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(jsonb_array_length(convex_query('messages:list', jsonb_build_object('roomId', args -> 'roomId'))))
$$;
CREATE FUNCTION public.q_echo(args jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$ SELECT args -> 'value' $$;
CREATE FUNCTION public.q_nested(args jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT convex_query('rooms:countInternal', args)
$$;
SELECT convex_define_query('rooms:count', 'public.q_room_count(jsonb)',
       '{"type": "object", "value": {"roomId": {"fieldType": {"type": "string"}, "optional": false}}}',
       '{"type": "number"}');
SELECT convex_define_query('rooms:countInternal', 'public.q_room_count(jsonb)', '{"type": "any"}', NULL, true);
SELECT convex_define_query('rooms:nested', 'public.q_nested(jsonb)', '{"type": "any"}');
SELECT convex_define_query('echo:value', 'public.q_echo(jsonb)',
       '{"type": "object", "value": {"value": {"fieldType": {"type": "any"}, "optional": false}}}',
       '{"type": "union", "value": [{"type": "string"}, {"type": "null"}]}');

SELECT is(convex_query('rooms:count', '{"roomId": "lobby"}'), '2', 'a registered query runs and returns its value');
SELECT throws_state_like($$SELECT convex_query('rooms:count', '{}')$$, '22023',
       'ArgumentValidationError: Object is missing the required field `roomId`%', 'its args validator');
SELECT throws_state_like($$SELECT convex_query('rooms:count', '{"roomId": "lobby", "x": 1}')$$, '22023',
       'ArgumentValidationError: Object contains extra field `x`%', 'its args validator: extra fields');
SELECT is(convex_query('echo:value', '{"value": "s"}'), '"s"', 'a return value that passes its returns validator');
SELECT throws_state_like($$SELECT convex_query('echo:value', '{"value": 1}')$$, '22023',
       'ReturnsValidationError:%', 'a return value that fails its returns validator');
SELECT throws_state_like($$SELECT convex_query('echo:value', '{"value": {"$bad": 1}}')$$, '22023', '%',
       'arguments that are no Convex value');
SELECT is(convex_query('rooms:nested', '{"roomId": "lobby"}'), '2', 'ctx.runQuery from a query reaches an internal query');
SELECT throws_ok($$SELECT convex_drop_mutation('rooms:count')$$, '42883', 'no registered mutation "rooms:count"',
       'convex_drop_mutation does not drop a query');
SELECT is(convex_query('rooms:count', '{"roomId": "lobby"}'), '2', 'the query is still registered');
SELECT throws_state_like($$SELECT convex_define_query('rooms:volatile', 'public.q_echo(jsonb)', '{"type": "string"}')$$,
       '22023', 'args must be an object validator%', 'args must be an object validator');
CREATE FUNCTION public.q_volatile(args jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT args $$;
SELECT throws_state_like($$SELECT convex_define_query('rooms:volatile', 'public.q_volatile(jsonb)', '{"type": "any"}')$$,
       '42P13', 'query handler q_volatile(jsonb) must be declared STABLE', 'a VOLATILE handler is refused');
CREATE FUNCTION public.q_wrong(args text) RETURNS jsonb LANGUAGE sql STABLE AS $$ SELECT 'null'::jsonb $$;
SELECT throws_state_like($$SELECT convex_define_query('rooms:wrong', 'public.q_wrong(text)', '{"type": "any"}')$$,
       '42P13', 'query handler %must be a function (args jsonb) RETURNS jsonb', 'a handler must be f(jsonb) RETURNS jsonb');
SELECT throws_state_like($$SELECT convex_define_query('messages:list', 'public.q_echo(jsonb)', '{"type": "any"}')$$,
       '42723', '"messages:list" is one of convexlite''s built-in queries', 'built-in query paths are taken');
SELECT throws_state_like($$SELECT convex_define_query(NULL, 'public.q_echo(jsonb)', '{"type": "any"}')$$,
       '22004', 'path must not be NULL', 'convex_define_query: NULL path');

-- a path names one kind
SELECT throws_state_like($$SELECT convex_query('messages:send', '{"roomId": "r", "content": "c", "userName": "u"}')$$,
       '42809', 'Trying to execute messages:send as Query, but it is defined as Mutation.', 'a mutation is not run as a query');
SELECT throws_state_like($$SELECT convex_mutation('rooms:count', '{"roomId": "lobby"}')$$,
       '42809', 'Trying to execute rooms:count as Mutation, but it is defined as Query.', 'a query is not run as a mutation');
SELECT throws_state_like($$SELECT convex_scheduler_run_after(0, 'messages:list', '{"roomId": "lobby"}')$$,
       '42809', 'Trying to execute messages:list as Mutation%', 'a query cannot be scheduled');
SELECT convex_define_query('rooms:redefined', 'public.q_echo(jsonb)', '{"type": "any"}');
CREATE FUNCTION public.m_noop(args jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT '"mutated"'::jsonb $$;
SELECT convex_define_mutation('rooms:redefined', 'public.m_noop(jsonb)', '{"type": "any"}');
SELECT is(convex_mutation('rooms:redefined', '{}'), '"mutated"', 'redefining a query''s path as a mutation makes it a mutation');

-- ctx.runQuery from a mutation, internal queries included
CREATE FUNCTION public.m_count_then_send(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    n jsonb := convex_query('rooms:countInternal', jsonb_build_object('roomId', args ->> 'roomId'));
BEGIN
    PERFORM convex_db_insert('messages', jsonb_build_object('roomId', args ->> 'roomId', 'content', n::text, 'userName', 'counter'));
    RETURN n;
END;
$$;
SELECT convex_define_mutation('rooms:countThenSend', 'public.m_count_then_send(jsonb)', '{"type": "any"}');
SELECT is(convex_mutation('rooms:countThenSend', '{"roomId": "counted"}'), '0', 'ctx.runQuery from a mutation (an internal query)');
SELECT is(convex_mutation('rooms:countThenSend', '{"roomId": "counted"}'), '1', 'ctx.runQuery sees the mutations'' earlier writes');

-- the read limit holds for a query, over the whole call
SAVEPOINT limits;
SET LOCAL convexlite.max_documents_read = 1;
SELECT throws_state_like($$SELECT convex_messages_list('{"roomId": "lobby"}')$$, '54000',
       'Too many documents read in a single function execution (limit: 1).%', 'messages.list counts its reads (limit 1, room of 2)');
SELECT throws_state_like($$SELECT convex_query('rooms:count', '{"roomId": "lobby"}')$$, '54000',
       'Too many documents read%', 'a registered query''s reads count against the same limit');
SET LOCAL convexlite.max_documents_read = 2;
SELECT is(convex_query('rooms:count', '{"roomId": "lobby"}'), '2', 'at the limit, the query passes');
SET LOCAL convexlite.max_args_size = 10;
SELECT throws_state_like($$SELECT convex_query('rooms:count', '{"roomId": "a long room name"}')$$, '54000',
       'Arguments for rooms:count are too large%', 'convexlite.max_args_size holds for queries');
ROLLBACK TO SAVEPOINT limits;

------------------------------------------------------------------------
-- 3. A query never writes
------------------------------------------------------------------------

CREATE TABLE public.q_plain (x int);
CREATE SEQUENCE public.q_seq;
CREATE FUNCTION public.q_plain_write(how text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CASE how
    WHEN 'insert' THEN INSERT INTO public.q_plain VALUES (1);
    WHEN 'update' THEN UPDATE public.q_plain SET x = 2;
    WHEN 'delete' THEN DELETE FROM public.q_plain;
    WHEN 'ddl' THEN CREATE TABLE public.q_made_by_query (x int);
    WHEN 'sequence' THEN PERFORM nextval('public.q_seq');
    WHEN 'read_write' THEN SET LOCAL transaction_read_only = off; INSERT INTO public.q_plain VALUES (1);
    END CASE;
END;
$$;
CREATE FUNCTION public.q_writes(args jsonb) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    how text := args ->> 'how';
    id text := args ->> 'id';
BEGIN
    CASE how
    WHEN 'db.insert' THEN PERFORM convex_db_insert('messages', '{"roomId": "w", "content": "x", "userName": "u"}');
    WHEN 'db.patch' THEN PERFORM convex_db_patch('messages', id, '{"content": "patched"}');
    WHEN 'db.replace' THEN PERFORM convex_db_replace('messages', id, '{"roomId": "w", "content": "replaced", "userName": "u"}');
    WHEN 'db.delete' THEN PERFORM convex_db_delete('messages', id);
    WHEN 'messages.send' THEN PERFORM convex_messages_send('{"roomId": "w", "content": "x", "userName": "u"}');
    WHEN 'messages.remove' THEN PERFORM convex_messages_remove(jsonb_build_object('messageId', id));
    WHEN 'presence.update' THEN PERFORM convex_presence_update('{"roomId": "w", "sessionId": "w", "data": {}}');
    WHEN 'users.updateProfile' THEN PERFORM convex_users_update_profile('{"name": "x"}');
    WHEN 'runMutation' THEN PERFORM convex_mutation('messages:send', '{"roomId": "w", "content": "x", "userName": "u"}');
    WHEN 'scheduler.runAfter' THEN PERFORM convex_scheduler_run_after(0, 'messages:send', '{"roomId": "w", "content": "x", "userName": "u"}');
    WHEN 'scheduler.runAt' THEN PERFORM convex_scheduler_run_at(0, 'messages:send', '{"roomId": "w", "content": "x", "userName": "u"}');
    WHEN 'scheduler.cancel' THEN PERFORM convex_scheduler_cancel(id);
    WHEN 'storage.generateUploadUrl' THEN PERFORM convex_storage_generate_upload_url();
    WHEN 'storage.upload' THEN PERFORM convex_storage_upload(id, 'x'::bytea);
    WHEN 'storage.delete' THEN PERFORM convex_storage_delete(id);
    WHEN 'lo_create' THEN PERFORM lo_create(0);
    WHEN 'lo_unlink' THEN PERFORM lo_unlink(id::oid);
    ELSE PERFORM public.q_plain_write(how);
    END CASE;
    RETURN 'null';
END;
$$;
SELECT convex_define_query('writes:try', 'public.q_writes(jsonb)', '{"type": "any"}');
-- a handler that catches the refusal and goes on
CREATE FUNCTION public.q_writes_caught(args jsonb) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM convex_db_insert('messages', '{"roomId": "w", "content": "x", "userName": "u"}');
    RETURN 'null';
EXCEPTION WHEN read_only_sql_transaction THEN
    RETURN to_jsonb(SQLERRM);
END;
$$;
SELECT convex_define_query('writes:caught', 'public.q_writes_caught(jsonb)', '{"type": "any"}');

INSERT INTO public.q_plain VALUES (0);
-- a pending job and an unused upload URL to try to cancel and use
SELECT convex_scheduler_run_after(86400000, 'messages:send', '{"roomId": "w", "content": "later", "userName": "u"}') AS job \gset
SELECT convex_files_generate_upload_url() AS upload_url \gset
SELECT lo_from_bytea(0, 'blob'::bytea) AS lo \gset

CREATE TEMP TABLE q_state AS
SELECT (SELECT jsonb_agg(to_jsonb(m) ORDER BY _id) FROM convex.messages m) AS messages,
       (SELECT jsonb_agg(to_jsonb(p) ORDER BY _id) FROM convex.presence p) AS presence,
       (SELECT jsonb_agg(to_jsonb(u) ORDER BY _id) FROM convex.users u) AS users,
       (SELECT jsonb_agg(to_jsonb(s) ORDER BY _id) FROM convex._scheduled_functions s) AS jobs,
       (SELECT jsonb_agg(to_jsonb(s) ORDER BY _id) FROM convex._storage s) AS storage,
       (SELECT count(*) FROM convex._upload_tokens) AS tokens,
       (SELECT jsonb_agg(oid ORDER BY oid) FROM pg_largeobject_metadata) AS large_objects,
       (SELECT jsonb_agg(x) FROM public.q_plain) AS plain,
       (SELECT last_value FROM public.q_seq) AS seq;

SELECT throws_state_like(format('SELECT convex_query(%L, %L)', 'writes:try', jsonb_build_object('how', how, 'id', id)),
                         state, pattern, format('a query cannot %s (%s)', how, state))
  FROM (VALUES ('db.insert', NULL, '25006', 'ctx.db.insert cannot be called from a query: queries are read-only'),
               ('db.patch', :'m1', '25006', 'ctx.db.patch cannot be called from a query%'),
               ('db.replace', :'m1', '25006', 'ctx.db.replace cannot be called from a query%'),
               ('db.delete', :'m1', '25006', 'ctx.db.delete cannot be called from a query%'),
               ('messages.send', NULL, '25006', 'ctx.db.insert cannot be called from a query%'),
               ('messages.remove', :'m2', '25006', 'ctx.db.delete cannot be called from a query%'),
               ('presence.update', NULL, '25006', '%cannot be called from a query%'),
               ('runMutation', NULL, '25006', 'ctx.runMutation cannot be called from a query%'),
               ('scheduler.runAfter', NULL, '25006', 'ctx.scheduler.runAfter cannot be called from a query%'),
               ('scheduler.runAt', NULL, '25006', 'ctx.scheduler.runAt cannot be called from a query%'),
               ('scheduler.cancel', :'job', '25006', 'ctx.scheduler.cancel cannot be called from a query%'),
               ('storage.generateUploadUrl', NULL, '25006', 'ctx.storage.generateUploadUrl cannot be called from a query%'),
               ('storage.upload', :'upload_url', '25006', 'storage upload cannot be called from a query%'),
               ('storage.delete', :'blob2', '25006', 'ctx.storage.delete cannot be called from a query%'),
               ('lo_create', NULL, '25006', 'a query cannot create large objects: queries are read-only'),
               ('lo_unlink', :'lo', '25006', 'a query cannot drop large objects: queries are read-only'),
               ('insert', NULL, '25006', 'cannot execute INSERT in a read-only transaction'),
               ('update', NULL, '25006', 'cannot execute UPDATE in a read-only transaction'),
               ('delete', NULL, '25006', 'cannot execute DELETE in a read-only transaction'),
               ('ddl', NULL, '25006', 'cannot execute CREATE TABLE in a read-only transaction'),
               ('sequence', NULL, '25006', 'cannot execute nextval() in a read-only transaction'),
               ('read_write', NULL, '25001', '%read-write mode%')) AS w(how, id, state, pattern);
SELECT is(convex_query('writes:caught', '{}'), '"ctx.db.insert cannot be called from a query: queries are read-only"',
          'a handler may catch the refusal and go on');
-- with users.updateProfile as the signed-in user (the write path, not the UNAUTHORIZED check)
SELECT set_config('convexlite.user_id', :'ann', true) \g /dev/null
SELECT throws_state_like($$SELECT convex_query('writes:try', '{"how": "users.updateProfile"}')$$, '25006',
       'ctx.db.patch cannot be called from a query%', 'a query cannot update a profile, signed in (25006)');
SELECT set_config('convexlite.user_id', '', true) \g /dev/null
SELECT is((SELECT to_jsonb(q) FROM q_state q),
          (SELECT to_jsonb(x) FROM (
             SELECT (SELECT jsonb_agg(to_jsonb(m) ORDER BY _id) FROM convex.messages m) AS messages,
                    (SELECT jsonb_agg(to_jsonb(p) ORDER BY _id) FROM convex.presence p) AS presence,
                    (SELECT jsonb_agg(to_jsonb(u) ORDER BY _id) FROM convex.users u) AS users,
                    (SELECT jsonb_agg(to_jsonb(s) ORDER BY _id) FROM convex._scheduled_functions s) AS jobs,
                    (SELECT jsonb_agg(to_jsonb(s) ORDER BY _id) FROM convex._storage s) AS storage,
                    (SELECT count(*) FROM convex._upload_tokens) AS tokens,
                    (SELECT jsonb_agg(oid ORDER BY oid) FROM pg_largeobject_metadata) AS large_objects,
                    (SELECT jsonb_agg(x) FROM public.q_plain) AS plain,
                    (SELECT last_value FROM public.q_seq) AS seq) x),
          'after every refused write, nothing changed: documents, jobs, blobs, tokens, large objects, plain tables, sequences');
SELECT ok(to_regclass('public.q_made_by_query') IS NULL, 'the refused DDL made nothing');
SELECT is(current_setting('transaction_read_only'), 'off', 'after the queries the transaction is read-write again');
SELECT ok(convex_messages_send('{"roomId": "w", "content": "after", "userName": "u"}') IS NOT NULL,
          'and a mutation writes in the same transaction');
SELECT is(convex_mutation('rooms:countThenSend', '{"roomId": "w"}'), '1', 'a mutation that runs a query still writes after it');

------------------------------------------------------------------------
-- 4. Conflict locks: none outside a mutation; ctx.runQuery inside one takes its read's
------------------------------------------------------------------------

CREATE FUNCTION public.own_conflict_locks() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM pg_locks
     WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND objsubid IN (17252, 17259)
$$;
CREATE FUNCTION public.q_locks(args jsonb) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    before bigint := public.own_conflict_locks();
    n int;
BEGIN
    n := jsonb_array_length(convex_query('messages:list', '{"roomId": "lobby"}'))
         + jsonb_array_length(convex_presence_list('{"roomId": "lobby"}'));
    PERFORM convex_query('users:get', jsonb_build_object('userId', args ->> 'user'));
    RETURN jsonb_build_object('read', n, 'locks', public.own_conflict_locks() - before);
END;
$$;
SELECT convex_define_query('locks:query', 'public.q_locks(jsonb)', '{"type": "any"}');
CREATE FUNCTION public.m_locks(args jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('before', public.own_conflict_locks(), 'inner', convex_query('locks:query', args),
                              'after', public.own_conflict_locks())
$$;
SELECT convex_define_mutation('locks:mutation', 'public.m_locks(jsonb)', '{"type": "any"}');
SAVEPOINT locks;
SELECT is(convex_query('locks:query', jsonb_build_object('user', :'ann')), '{"read": 4, "locks": 0}',
          'a query outside a mutation takes no conflict lock');
ROLLBACK TO SAVEPOINT locks;
SELECT is(convex_mutation('locks:mutation', jsonb_build_object('user', :'ann')) -> 'inner', '{"read": 4, "locks": 3}',
          'ctx.runQuery inside a mutation takes the lock of each read (messages by_room, presence by_room, the user)');

-- ctx.runQuery's reads in a mutation (a fresh snapshot after each lock)
-- return what the query returns at top level (sql/queries.sql does the
-- same at REPEATABLE READ, where each read is checked against the latest
-- snapshot through its statement)
CREATE FUNCTION public.m_list(args jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT convex_query('messages:list', '{"roomId": "lobby"}')
$$;
SELECT convex_define_mutation('locks:list', 'public.m_list(jsonb)', '{"type": "any"}');
SELECT is(convex_mutation('locks:list', '{}'), convex_messages_list('{"roomId": "lobby"}'),
          'ctx.runQuery in a mutation returns what the query returns at top level');

------------------------------------------------------------------------
-- 5. Ordinary roles: every query, no table
------------------------------------------------------------------------

-- pgTAP's own bookkeeping is the superuser's: alice's outcomes go into a
-- table and are checked after RESET ROLE
CREATE TABLE regress_cvx_tap.alice_results (name text, outcome text);
GRANT USAGE ON SCHEMA regress_cvx_tap TO regress_query_alice;
GRANT ALL ON regress_cvx_tap.alice_results TO regress_query_alice;
CREATE FUNCTION regress_cvx_tap.outcome(query text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    result text;
BEGIN
    EXECUTE query INTO result;
    RETURN 'ok: ' || coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END;
$f$;
CREATE TEMP TABLE alice_cases (name text, query text, expected text);
INSERT INTO alice_cases VALUES
    ('calls convex_messages_list', $$SELECT jsonb_array_length(convex_messages_list('{"roomId": "lobby"}'))$$, 'ok: 2'),
    ('calls convex_presence_list', $$SELECT jsonb_array_length(convex_presence_list('{"roomId": "lobby"}'))$$, 'ok: 2'),
    ('calls convex_users_get', format('SELECT convex_users_get(%L) ->> %L', jsonb_build_object('userId', :'ann'), 'name'), 'ok: Ann'),
    ('calls convex_users_current', $$SELECT convex_users_current()$$, 'ok: null'),
    ('calls convex_files_list', $$SELECT jsonb_array_length(convex_files_list('{"sessionId": "s-guest"}'))$$, 'ok: 2'),
    ('calls convex_files_get_url', format('SELECT convex_files_get_url(%L) IS NOT NULL', jsonb_build_object('storageId', :'blob1')), 'ok: true'),
    ('runs every built-in path through convex_query',
     $$SELECT count(*) FROM unnest(ARRAY['messages:list', 'presence:list']) p WHERE convex_query(p, '{"roomId": "lobby"}') <> '[]'$$, 'ok: 2'),
    ('runs a registered query (as its owner)', $$SELECT convex_query('rooms:count', '{"roomId": "lobby"}')$$, 'ok: 2'),
    ('cannot run an internal query', $$SELECT convex_query('rooms:countInternal', '{"roomId": "lobby"}')$$,
     '42883: Could not find public function for ''rooms:countInternal''.'),
    ('cannot use convex_internal_query', $$SELECT convex_internal_query('rooms:countInternal', '{"roomId": "lobby"}')$$,
     '42501: permission denied for function convex_internal_query'),
    ('cannot register queries', $$SELECT convex_define_query('alice:q', 'public.q_echo(jsonb)', '{"type": "any"}')$$,
     '42501: permission denied for function convex_define_query'),
    ('cannot read convex.users', $$SELECT count(*) FROM convex.users$$, '42501: permission denied for table users'),
    ('cannot read convex.messages', $$SELECT count(*) FROM convex.messages$$, '42501: permission denied for table messages'),
    ('cannot read convex.presence', $$SELECT count(*) FROM convex.presence$$, '42501: permission denied for table presence'),
    ('cannot read convex.files', $$SELECT count(*) FROM convex.files$$, '42501: permission denied for table files'),
    ('cannot read convex._storage', $$SELECT count(*) FROM convex._storage$$, '42501: permission denied for table _storage'),
    ('cannot use ctx.db.get', format('SELECT convex_db_get(%L, %L)', 'users', :'ann'), '42501: permission denied for function convex_db_get');
GRANT SELECT ON alice_cases TO regress_query_alice;
SET LOCAL ROLE regress_query_alice;
INSERT INTO regress_cvx_tap.alice_results SELECT name, regress_cvx_tap.outcome(query) FROM alice_cases;
RESET ROLE;
SELECT is(r.outcome, c.expected, 'an ordinary role ' || c.name)
  FROM alice_cases c JOIN regress_cvx_tap.alice_results r USING (name);

------------------------------------------------------------------------
-- 6. Bad input: a documented SQLSTATE each
------------------------------------------------------------------------

SELECT throws_state_like(format('SELECT %s(NULL)', f), '22004', 'args must be a JSON object, not NULL',
                         format('%s(NULL): 22004', f))
  FROM unnest(ARRAY['convex_messages_list', 'convex_presence_list', 'convex_users_get',
                    'convex_files_get_url', 'convex_files_list']) AS f;
SELECT throws_state_like(format('SELECT %s(%L)', f, arg), '22023', 'ArgumentValidationError:%',
                         format('%s(%s): 22023', f, arg))
  FROM (VALUES ('convex_messages_list', '[]'), ('convex_messages_list', '"lobby"'), ('convex_messages_list', '{"roomId": 1}'),
               ('convex_presence_list', '{"roomId": null}'), ('convex_presence_list', '{"room": "lobby"}'),
               ('convex_users_get', '{"userId": "abc"}'), ('convex_users_get', '{"userId": 7}'),
               ('convex_files_get_url', '{"storageId": "not-an-id"}'), ('convex_files_list', '{"sessionId": false}'),
               ('convex_files_list', '{"userId": "x"}')) AS b(f, arg);
SELECT throws_state_like(format('SELECT convex_users_get(%L)', jsonb_build_object('userId', :'m1')), '22023',
       'ArgumentValidationError: Found ID "%" from table `messages`, which does not match the table name in validator `v.id("users")`.%',
       'users.get with a message''s id: 22023 with Convex''s text');
SELECT throws_state_like(format('SELECT convex_files_get_url(%L)', jsonb_build_object('storageId', :'file_guest')), '22023',
       '%from table `files`, which does not match the table name in validator `v.id("_storage")`%',
       'files.getUrl with a file''s id (not its storageId): 22023');
SELECT throws_state_like(format('SELECT convex_users_get(%L)', jsonb_build_object('userId', substr(:'ann', 1, 30) || 'zz')), '22023',
       'ArgumentValidationError:%', 'users.get with a corrupted id (bad footer): 22023');
SELECT throws_state_like($$SELECT convex_query('users:current', '[]')$$, '22023',
       'ArgumentValidationError: the arguments of users:current must be a JSON object', 'convex_query with args that are no object: 22023');
SELECT throws_state_like($$SELECT convex_query('users:current', NULL)$$, '22004', 'args must not be NULL', 'convex_query(path, NULL): 22004');
SELECT throws_state_like($$SELECT convex_query(NULL, '{}')$$, '22004', 'path must not be NULL', 'convex_query(NULL, args): 22004');
SELECT throws_state_like($$SELECT convex_query('users', '{}')$$, '22023', 'invalid function path "users"%', 'a path without '':'': 22023');
SELECT throws_state_like($$SELECT convex_query('users:nope', '{}')$$, '42883', 'Could not find public function for ''users:nope''.',
       'an unknown path: 42883');

SELECT * FROM finish();
ROLLBACK;
