--
-- queries: the seed app's queries (BankkRoll/Convex-UI convex/*.ts) as
-- built-ins, registered queries (convex_define_query, convex_query), and
-- what a query may not do (docs/queries.md).
--
-- Documents are shown without _id and _creationTime (random and the clock),
-- except where their order is the point.
CREATE FUNCTION regress_strip(docs jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_agg(d - '_id' - '_creationTime' ORDER BY o), '[]')
    FROM jsonb_array_elements(docs) WITH ORDINALITY AS e(d, o)
$$;

--
-- messages.list: a room's messages, oldest first
--
SELECT convex_messages_send('{"roomId": "q-room", "content": "first", "userName": "Ada"}') IS NOT NULL AS sent;
SELECT convex_messages_send('{"roomId": "q-room", "content": "second", "userName": "Bea", "sessionId": "q-s1"}') IS NOT NULL AS sent;
SELECT convex_messages_send('{"roomId": "q-other", "content": "elsewhere", "userName": "Cy"}') IS NOT NULL AS sent;
SELECT regress_strip(convex_messages_list('{"roomId": "q-room"}')) AS room;
SELECT regress_strip(convex_query('messages:list', '{"roomId": "q-room"}')) AS room_by_path;
SELECT convex_messages_list('{"roomId": "q-empty"}') AS empty_room;
-- ascending by _creationTime, every document with Convex's keys
SELECT bool_and((d ->> '_creationTime')::float8 > coalesce((prev ->> '_creationTime')::float8, 0)) AS ascending,
       bool_and(d ? '_id' AND convex_id_table(d ->> '_id') = 'messages') AS ids
FROM (SELECT d, lag(d) OVER (ORDER BY o) AS prev
      FROM jsonb_array_elements(convex_messages_list('{"roomId": "q-room"}')) WITH ORDINALITY AS e(d, o)) x;
-- its arguments: {roomId: v.string()}
SELECT regress_try($$SELECT convex_messages_list('{}')$$);
SELECT regress_try($$SELECT convex_messages_list('{"roomId": 7}')$$);
SELECT regress_try($$SELECT convex_messages_list('{"roomId": "r", "limit": 1}')$$);
SELECT regress_try($$SELECT convex_messages_list('[]')$$);
SELECT regress_try($$SELECT convex_messages_list(NULL)$$);
SELECT regress_try($$SELECT convex_query('messages:list', '{"roomId": null}')$$);

--
-- presence.list: only entries seen within the last 30 s
--
SELECT convex_presence_update('{"roomId": "q-room", "sessionId": "q-fresh", "data": {"status": "here", "cursor": {"x": 1, "y": 2}}}');
SELECT convex_presence_update('{"roomId": "q-room", "sessionId": "q-stale", "data": {"status": "gone"}}');
-- age q-stale past the timeout (as the owner, behind convexlite's back)
UPDATE convex.presence SET last_seen = last_seen - 30001 WHERE session_id = 'q-stale';
SELECT jsonb_agg(p - '_id' - '_creationTime' - 'lastSeen') AS present
FROM jsonb_array_elements(convex_presence_list('{"roomId": "q-room"}')) p;
SELECT jsonb_array_length(convex_query('presence:list', '{"roomId": "q-room"}')) AS present_by_path;
SELECT regress_try($$SELECT convex_presence_list('{"roomId": ["q-room"]}')$$);

--
-- users.current and users.get
--
SELECT convex_db_insert('users', '{"name": "Quinn", "email": "quinn@example.com", "image": "q.png"}') AS quinn \gset
SELECT convex_db_insert('users', '{"email": "nameless@example.com"}') AS nameless \gset
SELECT convex_db_insert('users', '{"name": "Phoebe", "phone": "+15550100"}') AS phoebe \gset
-- signed out: null
SELECT convex_users_current() AS signed_out, convex_query('users:current', '{}') AS signed_out_by_path;
BEGIN;
SELECT set_config('convexlite.user_id', :'quinn', true) IS NOT NULL AS signed_in;
SELECT convex_users_current() - '_id' - '_creationTime' AS current_user_doc,
       (convex_users_current() ->> '_id') = :'quinn' AS is_quinn;
SELECT convex_query('users:current') - '_id' - '_creationTime' AS current_by_path;
SELECT regress_try($$SELECT convex_query('users:current', '{"userId": "x"}')$$);
ROLLBACK;
-- a user the app's userValidator does not describe (a phone number) fails
-- its returns validator, as it would in the app
BEGIN;
SELECT set_config('convexlite.user_id', :'phoebe', true) IS NOT NULL AS signed_in;
SELECT regexp_replace(regress_try($$SELECT convex_users_current()$$), '_creationTime: [0-9.e+]+', '_creationTime: <time>') AS phoebe;
ROLLBACK;
-- signed in as a user that is gone: null
BEGIN;
SELECT set_config('convexlite.user_id', :'phoebe', true) IS NOT NULL AS signed_in;
DELETE FROM convex.users WHERE _id = :'phoebe';
SELECT convex_users_current() AS gone;
ROLLBACK;
-- users.get: public fields only
SELECT convex_users_get(jsonb_build_object('userId', :'quinn')) - '_id' AS quinn_public,
       (convex_users_get(jsonb_build_object('userId', :'quinn')) ->> '_id') = :'quinn' AS same_id;
SELECT convex_users_get(jsonb_build_object('userId', :'nameless')) - '_id' AS nameless_public;
SELECT convex_query('users:get', jsonb_build_object('userId', :'quinn')) ? 'email' AS shows_email;
SELECT regress_try($$SELECT convex_users_get('{"userId": "not-an-id"}')$$);
SELECT regress_try(format('SELECT convex_users_get(%L)',
                          jsonb_build_object('userId', convex_messages_send('{"roomId": "q-x", "content": "c", "userName": "u"}'))));
SELECT regress_try($$SELECT convex_users_get('{}')$$);

--
-- files.getUrl and files.list
--
SET convexlite.url = 'https://happy-animal-123.convex.cloud';
SELECT convex_storage_upload(convex_files_generate_upload_url(), 'hello'::bytea, 'text/plain') ->> 'storageId' AS blob \gset
SELECT convex_files_save_file(jsonb_build_object('storageId', :'blob', 'name', 'a.txt', 'type', 'text/plain',
                                                 'size', 5, 'sessionId', 'q-files')) AS file_a \gset
SELECT regexp_replace(convex_files_get_url(jsonb_build_object('storageId', :'blob')) #>> '{}',
                      '[0-9a-hjkmnp-tv-z]{31,37}$', '<id>') AS url;
SELECT convex_query('files:getUrl', jsonb_build_object('storageId', :'blob')) = to_jsonb(
           'https://happy-animal-123.convex.cloud/api/storage/' || :'blob') AS url_by_path;
SELECT regress_try(format('SELECT convex_files_get_url(%L)', jsonb_build_object('storageId', :'file_a')));
-- demo mode: the session's files, each with its url
SELECT jsonb_agg(f - '_id' - '_creationTime' - 'storageId' - 'url') AS session_files,
       bool_and(f ->> 'url' LIKE 'https://happy-animal-123.convex.cloud/api/storage/%') AS urls
FROM jsonb_array_elements(convex_files_list('{"sessionId": "q-files"}')) f;
-- no session (or an empty one) and nobody signed in: none
SELECT convex_files_list() AS no_session, convex_files_list('{"sessionId": ""}') AS empty_session;
-- signed in: the user's files, not the session's
BEGIN;
SELECT set_config('convexlite.user_id', :'quinn', true) IS NOT NULL AS signed_in;
SELECT convex_files_save_file(jsonb_build_object('storageId', :'blob', 'name', 'b.txt', 'type', 'text/plain',
                                                 'size', 5)) IS NOT NULL AS saved;
SELECT jsonb_agg(f ->> 'name') AS quinns_files FROM jsonb_array_elements(convex_query('files:list', '{"sessionId": "q-files"}')) f;
ROLLBACK;
-- a file whose blob is gone lists with url null
BEGIN;
DELETE FROM convex._storage WHERE _id = :'blob';
SELECT jsonb_agg(f -> 'url') AS urls_after_delete FROM jsonb_array_elements(convex_files_list('{"sessionId": "q-files"}')) f;
ROLLBACK;
SELECT regress_try($$SELECT convex_files_list('{"sessionId": 1}')$$);
RESET convexlite.url;

--
-- Registered queries
--
CREATE FUNCTION regress_room_size(args jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(jsonb_array_length(convex_query('messages:list', jsonb_build_object('roomId', args -> 'roomId'))))
$$;
SELECT convex_define_query('rooms:size', 'regress_room_size(jsonb)',
  '{"type": "object", "value": {"roomId": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "number"}');
SELECT convex_query('rooms:size', '{"roomId": "q-room"}') AS size;
SELECT kind, internal FROM convex._functions WHERE path = 'rooms:size';
-- argument and return validation, as for mutations
SELECT regress_try($$SELECT convex_query('rooms:size', '{}')$$);
SELECT regress_try($$SELECT convex_query('rooms:size', '{"roomId": "q-room", "extra": 1}')$$);
CREATE FUNCTION regress_room_size_text(args jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$ SELECT '"two"'::jsonb $$;
SELECT convex_define_query('rooms:sizeText', 'regress_room_size_text(jsonb)', '{"type": "any"}', '{"type": "number"}');
SELECT regress_try($$SELECT convex_query('rooms:sizeText', '{}')$$);
-- a query handler must be STABLE (one snapshot per query)
CREATE FUNCTION regress_volatile_query(args jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT 'null'::jsonb $$;
SELECT regress_try($$SELECT convex_define_query('rooms:volatile', 'regress_volatile_query(jsonb)', '{"type": "any"}')$$);
-- built-in paths are taken
SELECT regress_try($$SELECT convex_define_query('messages:list', 'regress_room_size(jsonb)', '{"type": "any"}')$$);
SELECT regress_try($$SELECT convex_define_mutation('files:list', 'regress_room_size(jsonb)', '{"type": "any"}')$$);
-- a path names one kind
SELECT regress_try($$SELECT convex_query('messages:send', '{"roomId": "q-room", "content": "x", "userName": "u"}')$$);
SELECT regress_try($$SELECT convex_mutation('messages:list', '{"roomId": "q-room"}')$$);
SELECT regress_try($$SELECT convex_mutation('rooms:size', '{"roomId": "q-room"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'rooms:size', '{"roomId": "q-room"}')$$);
SELECT regress_try($$SELECT convex_query('rooms:missing', '{}')$$);
SELECT regress_try($$SELECT convex_query('rooms', '{}')$$);
SELECT regress_try($$SELECT convex_query(NULL, '{}')$$);
SELECT regress_try($$SELECT convex_query('rooms:size', NULL)$$);

--
-- A query never writes
--
CREATE FUNCTION regress_query_writes(args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    CASE args ->> 'how'
    WHEN 'insert' THEN PERFORM convex_db_insert('messages', '{"roomId": "q-w", "content": "x", "userName": "u"}');
    WHEN 'send' THEN PERFORM convex_messages_send('{"roomId": "q-w", "content": "x", "userName": "u"}');
    WHEN 'mutation' THEN PERFORM convex_mutation('messages:send', '{"roomId": "q-w", "content": "x", "userName": "u"}');
    WHEN 'schedule' THEN PERFORM convex_scheduler_run_after(0, 'messages:send', '{"roomId": "q-w", "content": "x", "userName": "u"}');
    WHEN 'upload_url' THEN PERFORM convex_files_generate_upload_url();
    WHEN 'large_object' THEN PERFORM lo_from_bytea(0, 'x');
    WHEN 'lo_create' THEN PERFORM lo_create(0);
    WHEN 'sql' THEN PERFORM regress_plain_insert();
    END CASE;
    RETURN 'null';
END;
$$;
CREATE TABLE regress_plain (x int);
CREATE FUNCTION regress_plain_insert() RETURNS void LANGUAGE sql AS $$ INSERT INTO regress_plain VALUES (1) $$;
SELECT convex_define_query('writes:try', 'regress_query_writes(jsonb)', '{"type": "any"}');
SELECT how, regress_try(format('SELECT convex_query(%L, %L)', 'writes:try', jsonb_build_object('how', how)))
FROM unnest(ARRAY['insert', 'send', 'mutation', 'schedule', 'upload_url', 'large_object', 'lo_create', 'sql']) AS how;
SELECT (SELECT count(*) FROM convex.messages WHERE room_id = 'q-w') AS messages,
       (SELECT count(*) FROM regress_plain) AS plain_rows,
       current_setting('transaction_read_only') AS read_only_after;

--
-- ctx.runQuery from a mutation, at READ COMMITTED and REPEATABLE READ
--
CREATE FUNCTION regress_list_in_mutation(args jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT convex_query('messages:list', '{"roomId": "q-room"}') $$;
SELECT convex_define_mutation('rooms:listInMutation', 'regress_list_in_mutation(jsonb)', '{"type": "any"}');
SELECT regress_strip(convex_mutation('rooms:listInMutation', '{}')) AS in_mutation;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT convex_mutation('rooms:listInMutation', '{}') = convex_messages_list('{"roomId": "q-room"}') AS same_at_repeatable_read;
COMMIT;

--
-- Internal queries
--
SELECT convex_define_query('rooms:sizeInternal', 'regress_room_size(jsonb)', '{"type": "any"}', NULL, true);
CREATE ROLE regress_query_reader;
SET ROLE regress_query_reader;
SELECT regress_try($$SELECT convex_query('rooms:sizeInternal', '{"roomId": "q-room"}')$$);
SELECT convex_query('rooms:size', '{"roomId": "q-room"}') AS public_size;
SELECT jsonb_array_length(convex_messages_list('{"roomId": "q-room"}')) AS reader_sees;
SELECT regress_try($$SELECT count(*) FROM convex.messages$$);
SELECT regress_try($$SELECT convex_internal_query('rooms:sizeInternal', '{"roomId": "q-room"}')$$);
RESET ROLE;
SELECT convex_internal_query('rooms:sizeInternal', '{"roomId": "q-room"}') AS owner_internal;
DROP ROLE regress_query_reader;

-- Dropping
SELECT convex_drop_query('rooms:sizeText');
SELECT regress_try($$SELECT convex_drop_query('rooms:sizeText')$$);
SELECT regress_try($$SELECT convex_drop_query('messages:list')$$);
