--
-- mutations: seed 001 (Convex's general mutation model) as written there.
-- A Convex mutation is a PL/pgSQL handler f(args jsonb) RETURNS jsonb,
-- registered under its Convex path with the same args/returns validators
-- (ValidatorJSON) by convex_define_mutation, and run by convex_mutation,
-- which is also ctx.runMutation inside a handler.
--

-- The seed's tables.  The built-in app of seed 000 owns the table name
-- "messages" (roomId, userName, ...), so seed 001's channel messages live in
-- a table named channel_messages.
SELECT convex_define_table('accounts',
  '{"owner": {"fieldType": {"type": "string"}, "optional": false},
    "balance": {"fieldType": {"type": "number"}, "optional": false}}') > 10004 AS defined;
SELECT convex_define_table('channels', '{"name": {"fieldType": {"type": "string"}, "optional": false}}') > 10004 AS defined;
SELECT convex_define_table('channel_messages',
  '{"channelId": {"fieldType": {"type": "id", "tableName": "channels"}, "optional": false},
    "authorId": {"fieldType": {"type": "id", "tableName": "users"}, "optional": true},
    "content": {"fieldType": {"type": "string"}, "optional": false}}',
  '{"by_channel": ["channelId"]}') > 10004 AS defined;
-- The built-in users table has seed 000's fields; the patch and replace
-- examples' user documents (name, email, status, updatedAt) live in profiles.
SELECT convex_define_table('profiles',
  '{"name": {"fieldType": {"type": "string"}, "optional": false},
    "email": {"fieldType": {"type": "string"}, "optional": false},
    "status": {"fieldType": {"type": "string"}, "optional": true},
    "updatedAt": {"fieldType": {"type": "number"}, "optional": true}}') > 10004 AS defined;

--
-- Basic mutation: users:createUser
--
CREATE OR REPLACE FUNCTION users_create_user(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    RETURN to_jsonb(convex_db_insert('users', jsonb_build_object(
        'name', args -> 'name',
        'email', args -> 'email')));
END;
$$;
SELECT convex_define_mutation('users:createUser', 'users_create_user(jsonb)',
  '{"type": "object", "value": {
      "name": {"fieldType": {"type": "string"}, "optional": false},
      "email": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "id", "tableName": "users"}');
SELECT convex_mutation('users:createUser', '{"name": "Ada", "email": "ada@example.com"}') AS ada_json \gset
-- the return value is an Id<"users">, as a JSON string
SELECT jsonb_typeof(:'ada_json') AS returned, convex_id_table(:'ada_json'::jsonb #>> '{}') AS id_table;
SELECT :'ada_json'::jsonb #>> '{}' AS ada \gset
SELECT convex_db_get('users', :'ada') - '_id' - '_creationTime' AS ada_document;

-- Convex's argument validation (22023), before the handler runs
SELECT regress_try($$SELECT convex_mutation('users:createUser', '{"name": "Ada"}')$$);
SELECT regress_try($$SELECT convex_mutation('users:createUser', '{"name": "Ada", "email": "ada@example.com", "age": 36}')$$);
SELECT regress_try($$SELECT convex_mutation('users:createUser', '{"name": 7, "email": "ada@example.com"}')$$);
SELECT regress_try($$SELECT convex_mutation('users:createUser', '[]')$$);
SELECT regress_try($$SELECT convex_mutation('users:createUser', '"Ada"')$$);
SELECT regress_try($$SELECT convex_mutation('users:createUser', NULL)$$);

-- The return value is validated too: a broken variant that returns a number
-- fails, and its insert is rolled back with it
CREATE OR REPLACE FUNCTION users_create_user_broken(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convex_db_insert('users', jsonb_build_object('name', args -> 'name', 'email', args -> 'email'));
    RETURN '42';
END;
$$;
SELECT convex_define_mutation('users:createUserBroken', 'users_create_user_broken(jsonb)',
  '{"type": "object", "value": {
      "name": {"fieldType": {"type": "string"}, "optional": false},
      "email": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "id", "tableName": "users"}');
SELECT regress_try($$SELECT convex_mutation('users:createUserBroken', '{"name": "Bea", "email": "bea@example.com"}')$$);
SELECT count(*) AS bea_rows FROM convex.users WHERE name = 'Bea';

--
-- Internal mutation: users:updateStats, only callable from other Convex
-- functions (and by roles granted EXECUTE on convex_internal_mutation)
--
CREATE OR REPLACE FUNCTION users_update_stats(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    -- Only callable from other Convex functions
    RETURN 'null';
END;
$$;
SELECT convex_define_mutation('users:updateStats', 'users_update_stats(jsonb)',
  '{"type": "object", "value": {"userId": {"fieldType": {"type": "id", "tableName": "users"}, "optional": false}}}',
  '{"type": "null"}', internal => true);
-- a public mutation calling it: ctx.runMutation(internal.users.updateStats, {userId})
CREATE OR REPLACE FUNCTION users_touch(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    RETURN jsonb_build_object('stats',
        convex_mutation('users:updateStats', jsonb_build_object('userId', args -> 'userId')));
END;
$$;
SELECT convex_define_mutation('users:touch', 'users_touch(jsonb)',
  '{"type": "object", "value": {"userId": {"fieldType": {"type": "id", "tableName": "users"}, "optional": false}}}',
  '{"type": "object", "value": {"stats": {"fieldType": {"type": "null"}, "optional": false}}}');

-- the superuser running this test has EXECUTE on convex_internal_mutation:
-- allowed from the top level, through either entry point
SELECT convex_mutation('users:updateStats', jsonb_build_object('userId', :'ada')) AS stats;
SELECT convex_internal_mutation('users:updateStats', jsonb_build_object('userId', :'ada')) AS stats;
-- its validators apply however it is called
SELECT regress_try($$SELECT convex_internal_mutation('users:updateStats', '{}')$$);

CREATE ROLE regress_convexlite_bob;
SET ROLE regress_convexlite_bob;
-- an ordinary role: an internal mutation is invisible, with the same error
-- as a path that does not exist
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'users:updateStats', jsonb_build_object('userId', :'ada')));
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'users:noSuchMutation', jsonb_build_object('userId', :'ada')));
SELECT regress_try(format('SELECT convex_internal_mutation(%L, %L)', 'users:updateStats', jsonb_build_object('userId', :'ada')));
SELECT regress_try($$SELECT convex_mutation('presence:cleanup', '{}')$$);
-- ... but a public mutation may call it (ctx.runMutation)
SELECT convex_mutation('users:touch', jsonb_build_object('userId', :'ada')) AS touched;
-- public mutations run as their handler's owner: bob creates a user through
-- users:createUser, though he cannot write convexlite's tables himself
SELECT convex_id_table(convex_mutation('users:createUser', '{"name": "Bob", "email": "bob@example.com"}') #>> '{}') AS created_by_bob;
SELECT regress_try($$SELECT convex_db_insert('users', '{"name": "Mallory"}')$$);
SELECT regress_try($$SELECT convex_define_mutation('users:mine', 'users_touch(jsonb)', '{"type": "any"}')$$);
RESET ROLE;
-- the right to run internal mutations from the top level is EXECUTE on
-- convex_internal_mutation
GRANT EXECUTE ON FUNCTION convex_internal_mutation(text, jsonb) TO regress_convexlite_bob;
SET ROLE regress_convexlite_bob;
SELECT convex_internal_mutation('users:updateStats', jsonb_build_object('userId', :'ada')) AS stats;
SELECT convex_mutation('users:updateStats', jsonb_build_object('userId', :'ada')) AS stats;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION convex_internal_mutation(text, jsonb) FROM regress_convexlite_bob;

--
-- Database operations: ctx.db insert, patch, replace, delete
--
SELECT convex_db_insert('profiles', '{"name": "Cy", "email": "cy@example.com", "status": "invited"}') AS cy \gset
-- patch: a shallow merge, other fields unchanged
SELECT convex_db_patch('profiles', :'cy',
  jsonb_build_object('status', 'active', 'updatedAt', extract(epoch FROM clock_timestamp()) * 1000));
SELECT d - '_id' - '_creationTime' - 'updatedAt' AS patched, jsonb_typeof(d -> 'updatedAt') AS updated_at
  FROM convex_db_get('profiles', :'cy') d;
-- null clears an optional field
SELECT convex_db_patch('profiles', :'cy', '{"status": null}');
SELECT d - '_id' - '_creationTime' - 'updatedAt' AS cleared, d ? 'status' AS has_status
  FROM convex_db_get('profiles', :'cy') d;
-- replace: the whole document (except system fields), so it must include
-- every required field; updatedAt is gone
SELECT convex_db_replace('profiles', :'cy', '{"name": "New Name", "email": "new@email.com"}');
SELECT convex_db_get('profiles', :'cy') - '_id' - '_creationTime' AS replaced;
SELECT regress_try(format($$SELECT convex_db_replace('profiles', '%s', '{"name": "New Name"}')$$, :'cy'));
-- ... and a patch cannot clear a required field
SELECT regress_try(format($$SELECT convex_db_patch('profiles', '%s', '{"email": null}')$$, :'cy'));
SELECT convex_db_get('profiles', :'cy') - '_id' - '_creationTime' AS unchanged;
-- delete; patch, replace and delete throw if the document does not exist
SELECT convex_db_delete('profiles', :'cy');
SELECT convex_db_get('profiles', :'cy') IS NULL AS deleted;
SELECT regress_try(format($$SELECT convex_db_patch('profiles', '%s', '{"status": "active"}')$$, :'cy'));
SELECT regress_try(format($$SELECT convex_db_replace('profiles', '%s', '{"name": "N", "email": "e"}')$$, :'cy'));
SELECT regress_try(format($$SELECT convex_db_delete('profiles', '%s')$$, :'cy'));

-- To delete multiple documents: query by index, then delete each one
SELECT convex_db_insert('channels', '{"name": "noise"}') AS noise \gset
SELECT convex_db_insert('channels', '{"name": "quiet"}') AS quiet \gset
SELECT count(convex_db_insert('channel_messages', jsonb_build_object('channelId', c, 'content', 'm' || i)))
  FROM generate_series(1, 3) AS i, unnest(ARRAY[:'noise', :'quiet']) AS c;
CREATE OR REPLACE FUNCTION channels_clear(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    message jsonb;
BEGIN
    FOR message IN
        SELECT convex_db_query('channel_messages', 'by_channel',
                               jsonb_build_object('channelId', args -> 'channelId'))
    LOOP
        PERFORM convex_db_delete('channel_messages', message ->> '_id');
    END LOOP;
    RETURN 'null';
END;
$$;
SELECT convex_define_mutation('channels:clear', 'channels_clear(jsonb)',
  '{"type": "object", "value": {"channelId": {"fieldType": {"type": "id", "tableName": "channels"}, "optional": false}}}',
  '{"type": "null"}');
SELECT convex_mutation('channels:clear', jsonb_build_object('channelId', :'noise')) AS cleared;
SELECT (SELECT count(*) FROM convex_db_query('channel_messages', 'by_channel', jsonb_build_object('channelId', :'noise'))) AS noise_left,
       (SELECT count(*) FROM convex_db_query('channel_messages', 'by_channel', jsonb_build_object('channelId', :'quiet'))) AS quiet_left;

--
-- Transactions: accounts:transferFunds, all or nothing
--
CREATE OR REPLACE FUNCTION accounts_transfer_funds(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    from_account jsonb := convex_db_get('accounts', args ->> 'fromId');
    to_account jsonb := convex_db_get('accounts', args ->> 'toId');
BEGIN
    IF from_account IS NULL OR to_account IS NULL THEN
        RAISE EXCEPTION 'Account not found';
    END IF;
    IF (from_account ->> 'balance')::float8 < (args ->> 'amount')::float8 THEN
        RAISE EXCEPTION 'Insufficient funds';
    END IF;

    -- Both updates succeed or both fail
    PERFORM convex_db_patch('accounts', args ->> 'fromId', jsonb_build_object(
        'balance', (from_account ->> 'balance')::float8 - (args ->> 'amount')::float8));
    PERFORM convex_db_patch('accounts', args ->> 'toId', jsonb_build_object(
        'balance', (to_account ->> 'balance')::float8 + (args ->> 'amount')::float8));

    RETURN 'null';
END;
$$;
SELECT convex_define_mutation('accounts:transferFunds', 'accounts_transfer_funds(jsonb)',
  '{"type": "object", "value": {
      "fromId": {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "toId": {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "amount": {"fieldType": {"type": "number"}, "optional": false}}}',
  '{"type": "null"}');
SELECT convex_db_insert('accounts', '{"owner": "alice", "balance": 100}') AS alice \gset
SELECT convex_db_insert('accounts', '{"owner": "carol", "balance": 50}') AS carol \gset
SELECT convex_db_insert('accounts', '{"owner": "gone", "balance": 1000}') AS gone \gset
SELECT convex_db_delete('accounts', :'gone');
CREATE OR REPLACE FUNCTION regress_balances(a text, b text) RETURNS text LANGUAGE sql AS $$
    SELECT format('%s %s, %s %s',
                  convex_db_get('accounts', a) ->> 'owner', convex_db_get('accounts', a) ->> 'balance',
                  convex_db_get('accounts', b) ->> 'owner', convex_db_get('accounts', b) ->> 'balance')
$$;

SELECT convex_mutation('accounts:transferFunds',
                       jsonb_build_object('fromId', :'alice', 'toId', :'carol', 'amount', 30)) AS transferred;
SELECT regress_balances(:'alice', :'carol') AS balances;
-- a well-formed id whose account was deleted
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'accounts:transferFunds',
                          jsonb_build_object('fromId', :'gone', 'toId', :'carol', 'amount', 1)));
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'accounts:transferFunds',
                          jsonb_build_object('fromId', :'alice', 'toId', :'gone', 'amount', 1)));
-- more than the balance: nothing changes
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'accounts:transferFunds',
                          jsonb_build_object('fromId', :'alice', 'toId', :'carol', 'amount', 1000)));
SELECT regress_balances(:'alice', :'carol') AS balances;
-- the second patch fails (here: over the write limit of one document): the
-- first one is rolled back with it, no partial update
SET convexlite.max_documents_written = 1;
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'accounts:transferFunds',
                          jsonb_build_object('fromId', :'alice', 'toId', :'carol', 'amount', 10)));
RESET convexlite.max_documents_written;
SELECT regress_balances(:'alice', :'carol') AS balances;
-- a caller's ROLLBACK undoes a whole successful mutation
BEGIN;
SELECT convex_mutation('accounts:transferFunds',
                       jsonb_build_object('fromId', :'carol', 'toId', :'alice', 'amount', 80)) AS transferred;
SELECT regress_balances(:'alice', :'carol') AS inside;
ROLLBACK;
SELECT regress_balances(:'alice', :'carol') AS balances;
-- ids of another table, and amounts that are not numbers, are refused
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'accounts:transferFunds',
                          jsonb_build_object('fromId', :'ada', 'toId', :'carol', 'amount', 1)));
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'accounts:transferFunds',
                          jsonb_build_object('fromId', :'alice', 'toId', :'carol', 'amount', '1')));

--
-- Reading data in mutations: channels:sendMessage checks that the channel
-- exists (ctx.db.get) before inserting
--
CREATE OR REPLACE FUNCTION channels_send_message(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    -- Validate channel exists
    IF convex_db_get('channels', args ->> 'channelId') IS NULL THEN
        RAISE EXCEPTION 'Channel not found';
    END IF;

    PERFORM convex_db_insert('channel_messages', jsonb_build_object(
        'channelId', args -> 'channelId',
        'content', args -> 'content'));

    RETURN 'null';
END;
$$;
SELECT convex_define_mutation('channels:sendMessage', 'channels_send_message(jsonb)',
  '{"type": "object", "value": {
      "channelId": {"fieldType": {"type": "id", "tableName": "channels"}, "optional": false},
      "content": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "null"}');
SELECT convex_db_insert('channels', '{"name": "general"}') AS general \gset
SELECT convex_db_insert('channels', '{"name": "old"}') AS old \gset
SELECT convex_db_delete('channels', :'old');
SELECT convex_mutation('channels:sendMessage', jsonb_build_object('channelId', :'general', 'content', 'Hello')) AS sent;
SELECT d - '_id' - '_creationTime' - 'channelId' AS message, d ->> 'channelId' = :'general' AS in_general
  FROM convex_db_query('channel_messages', 'by_channel', jsonb_build_object('channelId', :'general')) d;
-- a well-formed id of a deleted channel
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'channels:sendMessage',
                          jsonb_build_object('channelId', :'old', 'content', 'Hello?')));
-- an id of another table, and a string that is no id, fail the args validator
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'channels:sendMessage',
                          jsonb_build_object('channelId', :'ada', 'content', 'Hello?')));
SELECT regress_try($$SELECT convex_mutation('channels:sendMessage', '{"channelId": "general", "content": "Hello?"}')$$);
SELECT count(*) AS general_messages
  FROM convex_db_query('channel_messages', 'by_channel', jsonb_build_object('channelId', :'general'));

--
-- Scheduling from mutations: ctx.scheduler.runAfter(0,
-- internal.ai.generateResponse, {channelId}) is convex_scheduler_run_after;
-- the job runs after the mutation commits (the background worker runs it),
-- and scheduling is transactional: if the mutation fails, no job is
-- scheduled.
--
-- The agent's side, from the complete example below: the internal
-- chat:writeAgentResponse (no authorId: a system/AI message), and a
-- stand-in for the seed's internal ai.generateResponse (an action, which
-- convexlite cannot run): an internal mutation that writes the agent's
-- answer with ctx.runMutation(internal.chat.writeAgentResponse, ...)
CREATE OR REPLACE FUNCTION chat_write_agent_response(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convex_db_insert('channel_messages', jsonb_build_object(
        'channelId', args -> 'channelId',
        'content', args -> 'content'
        -- No authorId = system/AI message
    ));
    RETURN 'null';
END;
$$;
SELECT convex_define_mutation('chat:writeAgentResponse', 'chat_write_agent_response(jsonb)',
  '{"type": "object", "value": {
      "channelId": {"fieldType": {"type": "id", "tableName": "channels"}, "optional": false},
      "content": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "null"}', internal => true);
CREATE OR REPLACE FUNCTION ai_generate_response(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    RETURN convex_mutation('chat:writeAgentResponse', jsonb_build_object(
        'channelId', args -> 'channelId',
        'content', 'Beep boop, I am an AI'));
END;
$$;
SELECT convex_define_mutation('ai:generateResponse', 'ai_generate_response(jsonb)',
  '{"type": "object", "value": {"channelId": {"fieldType": {"type": "id", "tableName": "channels"}, "optional": false}}}',
  '{"type": "null"}', internal => true);

-- A test helper: wait (50 ms at a time, 10 s at most) until the jobs
-- scheduled for a channel have run; returns their paths and states
CREATE OR REPLACE FUNCTION regress_channel_jobs(channel text) RETURNS TABLE (name text, state jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '10 s';
BEGIN
    WHILE EXISTS (SELECT 1 FROM convex._scheduled_functions f
                   WHERE f.args -> 0 ->> 'channelId' = channel AND f.state ->> 'kind' = 'pending')
          AND clock_timestamp() < deadline LOOP
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN QUERY SELECT f.name, f.state FROM convex._scheduled_functions f
                  WHERE f.args -> 0 ->> 'channelId' = channel ORDER BY f._creation_time;
END;
$$;

-- The seed's sendMessage (here scheduling:sendMessage): insert the
-- message, then schedule the AI's response
CREATE OR REPLACE FUNCTION scheduling_send_message(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convex_db_insert('channel_messages', jsonb_build_object(
        'channelId', args -> 'channelId',
        'content', args -> 'content'));

    -- Schedule background action (runs after mutation commits)
    PERFORM convex_scheduler_run_after(0, 'ai:generateResponse', jsonb_build_object(
        'channelId', args -> 'channelId'));

    RETURN 'null';
END;
$$;
SELECT convex_define_mutation('scheduling:sendMessage', 'scheduling_send_message(jsonb)',
  '{"type": "object", "value": {
      "channelId": {"fieldType": {"type": "id", "tableName": "channels"}, "optional": false},
      "content": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "null"}');
SELECT convex_db_insert('channels', '{"name": "scheduling"}') AS scheduling_channel \gset
SELECT convex_mutation('scheduling:sendMessage',
                       jsonb_build_object('channelId', :'scheduling_channel', 'content', 'Hello, AI')) AS sent;
-- the job is the internal ai:generateResponse with the channel's id; once
-- the worker has run it, the AI's answer follows the message
SELECT name, state FROM regress_channel_jobs(:'scheduling_channel');
SELECT d ->> 'content' AS content
  FROM convex_db_query('channel_messages', 'by_channel', jsonb_build_object('channelId', :'scheduling_channel')) d
 ORDER BY (d ->> '_creationTime')::float8;

-- Scheduling is transactional: a mutation that fails after scheduling (here
-- one that sends, then fails) schedules nothing and writes nothing ...
CREATE OR REPLACE FUNCTION scheduling_send_then_fail(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convex_mutation('scheduling:sendMessage', args);
    RAISE EXCEPTION 'Changed my mind';
END;
$$;
SELECT convex_define_mutation('scheduling:sendThenFail', 'scheduling_send_then_fail(jsonb)', '{"type": "any"}');
SELECT convex_db_insert('channels', '{"name": "regrets"}') AS regrets_channel \gset
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'scheduling:sendThenFail',
                          jsonb_build_object('channelId', :'regrets_channel', 'content', 'Never mind')));
-- ... and so does a caller that rolls back a successful one
BEGIN;
SELECT convex_mutation('scheduling:sendMessage',
                       jsonb_build_object('channelId', :'regrets_channel', 'content', 'Rolled back')) AS sent;
SELECT count(*) AS jobs_inside FROM convex._scheduled_functions WHERE args -> 0 ->> 'channelId' = :'regrets_channel';
ROLLBACK;
-- a later message to the channel gets its one answer
SELECT convex_mutation('scheduling:sendMessage',
                       jsonb_build_object('channelId', :'regrets_channel', 'content', 'Hello?')) AS sent;
SELECT name, state FROM regress_channel_jobs(:'regrets_channel');
SELECT d ->> 'content' AS content
  FROM convex_db_query('channel_messages', 'by_channel', jsonb_build_object('channelId', :'regrets_channel')) d
 ORDER BY (d ->> '_creationTime')::float8;

--
-- Complete example: chat:sendMessage (channel and author must exist; the
-- AI's answer is scheduled) with chat:writeAgentResponse, above
--
CREATE OR REPLACE FUNCTION chat_send_message(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    -- Validate entities exist
    IF convex_db_get('channels', args ->> 'channelId') IS NULL THEN
        RAISE EXCEPTION 'Channel not found';
    END IF;
    IF convex_db_get('users', args ->> 'authorId') IS NULL THEN
        RAISE EXCEPTION 'User not found';
    END IF;

    -- Insert message
    PERFORM convex_db_insert('channel_messages', jsonb_build_object(
        'channelId', args -> 'channelId',
        'authorId', args -> 'authorId',
        'content', args -> 'content'));

    -- Schedule AI response
    PERFORM convex_scheduler_run_after(0, 'ai:generateResponse', jsonb_build_object(
        'channelId', args -> 'channelId'));

    RETURN 'null';
END;
$$;
SELECT convex_define_mutation('chat:sendMessage', 'chat_send_message(jsonb)',
  '{"type": "object", "value": {
      "channelId": {"fieldType": {"type": "id", "tableName": "channels"}, "optional": false},
      "authorId": {"fieldType": {"type": "id", "tableName": "users"}, "optional": false},
      "content": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "null"}');

SELECT convex_db_insert('channels', '{"name": "ai"}') AS ai_channel \gset
SELECT convex_mutation('users:createUser', '{"name": "Gone", "email": "gone@example.com"}') #>> '{}' AS gone_user \gset
SELECT convex_db_delete('users', :'gone_user');
SELECT convex_mutation('chat:sendMessage',
                       jsonb_build_object('channelId', :'ai_channel', 'authorId', :'ada', 'content', 'Hi, AI')) AS sent;
-- the scheduled ai:generateResponse runs after the commit, and answers
SELECT name, state FROM regress_channel_jobs(:'ai_channel');
SELECT d ->> 'content' AS content, d ->> 'authorId' = :'ada' AS by_ada, d ? 'authorId' AS has_author
  FROM convex_db_query('channel_messages', 'by_channel', jsonb_build_object('channelId', :'ai_channel')) d
 ORDER BY (d ->> '_creationTime')::float8;
-- refused calls write nothing and schedule nothing
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'chat:sendMessage',
                          jsonb_build_object('channelId', :'old', 'authorId', :'ada', 'content', 'x')));
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'chat:sendMessage',
                          jsonb_build_object('channelId', :'ai_channel', 'authorId', :'gone_user', 'content', 'x')));
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'chat:sendMessage',
                          jsonb_build_object('channelId', :'ai_channel', 'content', 'x')));
-- the agent's internal mutations are not for ordinary roles, to call or
-- to schedule
SET ROLE regress_convexlite_bob;
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'chat:writeAgentResponse',
                          jsonb_build_object('channelId', :'ai_channel', 'content', 'fake AI')));
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'ai:generateResponse',
                          jsonb_build_object('channelId', :'ai_channel')));
SELECT regress_try(format('SELECT convex_scheduler_run_after(0, %L, %L)', 'ai:generateResponse',
                          jsonb_build_object('channelId', :'ai_channel')));
RESET ROLE;
SELECT count(*) AS ai_channel_messages
  FROM convex_db_query('channel_messages', 'by_channel', jsonb_build_object('channelId', :'ai_channel'));
SELECT count(*) AS ai_channel_jobs FROM regress_channel_jobs(:'ai_channel');
SELECT count(*) AS old_channel_jobs FROM regress_channel_jobs(:'old');

--
-- Calling mutations from other functions:
--   const id: Id<"users"> = await ctx.runMutation(api.users.create, {name: "test"});
--   await ctx.runMutation(api.users.update, {userId, name});
-- (from an action, ctx.runMutation(internal.users.updateStats, ...) is
-- convex_internal_mutation, above)
--
CREATE OR REPLACE FUNCTION users_create(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    RETURN to_jsonb(convex_db_insert('users', jsonb_build_object('name', args -> 'name')));
END;
$$;
SELECT convex_define_mutation('users:create', 'users_create(jsonb)',
  '{"type": "object", "value": {"name": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "id", "tableName": "users"}');
CREATE OR REPLACE FUNCTION users_update(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convex_db_patch('users', args ->> 'userId', jsonb_build_object('name', args -> 'name'));
    RETURN 'null';
END;
$$;
SELECT convex_define_mutation('users:update', 'users_update(jsonb)',
  '{"type": "object", "value": {
      "userId": {"fieldType": {"type": "id", "tableName": "users"}, "optional": false},
      "name": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "null"}');
CREATE OR REPLACE FUNCTION users_create_test_user(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    id text := convex_mutation('users:create', '{"name": "test"}') #>> '{}';
BEGIN
    PERFORM convex_mutation('users:update', jsonb_build_object('userId', id, 'name', 'test, renamed'));
    RETURN to_jsonb(id);
END;
$$;
SELECT convex_define_mutation('users:createTestUser', 'users_create_test_user(jsonb)',
  '{"type": "object", "value": {}}', '{"type": "id", "tableName": "users"}');
SELECT convex_mutation('users:createTestUser', '{}') AS test_user_json \gset
SELECT jsonb_typeof(:'test_user_json') AS returned,
       convex_id_table(:'test_user_json'::jsonb #>> '{}') AS id_table,
       convex_db_get('users', :'test_user_json'::jsonb #>> '{}') ->> 'name' AS name;
-- a failing nested call fails the caller, and the caller's writes with it
CREATE OR REPLACE FUNCTION users_create_bad_test_user(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    id text := convex_mutation('users:create', '{"name": "doomed"}') #>> '{}';
BEGIN
    PERFORM convex_mutation('users:update', jsonb_build_object('userId', id, 'name', 42));
    RETURN to_jsonb(id);
END;
$$;
SELECT convex_define_mutation('users:createBadTestUser', 'users_create_bad_test_user(jsonb)',
  '{"type": "object", "value": {}}', '{"type": "id", "tableName": "users"}');
SELECT regress_try($$SELECT convex_mutation('users:createBadTestUser', '{}')$$);
SELECT count(*) AS doomed_rows FROM convex.users WHERE name = 'doomed';

--
-- Implicit return: a handler that returns no value (SQL NULL) returns null
--
CREATE OR REPLACE FUNCTION misc_no_return(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convex_db_insert('channels', '{"name": "implicit"}');
    RETURN NULL;
END;
$$;
SELECT convex_define_mutation('misc:noReturn', 'misc_no_return(jsonb)', '{"type": "object", "value": {}}', '{"type": "null"}');
SELECT r AS returned, r IS NULL AS sql_null FROM convex_mutation('misc:noReturn') r;
-- ... which a returns validator that wants something else refuses
SELECT convex_define_mutation('misc:noReturnString', 'misc_no_return(jsonb)', '{"type": "object", "value": {}}', '{"type": "string"}');
SELECT regress_try($$SELECT convex_mutation('misc:noReturnString', '{}')$$);
-- without a returns validator (v.any()), anything goes
SELECT convex_define_mutation('misc:noReturnAny', 'misc_no_return(jsonb)', '{"type": "any"}');
SELECT convex_mutation('misc:noReturnAny', '{"whatever": [1, 2]}') AS returned;

--
-- The built-in seed 000 mutations through the dispatcher
--
SELECT jsonb_typeof(r) AS returned, convex_id_table(r #>> '{}') AS id_table
  FROM convex_mutation('messages:send', '{"roomId": "seed001", "content": "hi", "userName": "Ada"}') r;
SELECT convex_mutation('messages:remove',
                       jsonb_build_object('messageId', (SELECT _id FROM convex.messages WHERE room_id = 'seed001'))) AS removed;
SELECT count(*) AS seed001_messages FROM convex.messages WHERE room_id = 'seed001';
SELECT regress_try($$SELECT convex_mutation('messages:send', '{"roomId": "seed001", "userName": "Ada"}')$$);
-- presence:cleanup is internal (this superuser may run it) and returns a number
SELECT jsonb_typeof(convex_mutation('presence:cleanup', '{}')) AS cleanup_returns;
-- a built-in path cannot be registered
SELECT regress_try($$SELECT convex_define_mutation('messages:send', 'misc_no_return(jsonb)', '{"type": "any"}')$$);

--
-- Paths
--
SELECT p, regress_try(format('SELECT convex_mutation(%L, %L)', p, '{}'))
  FROM unnest(ARRAY['', 'users', ':createUser', 'users:', 'users:1st', 'users:create-user', 'users::x',
                    '/users:x', 'users/:x', 'a//b:x', '.hidden:x', $$x'; DROP TABLE convex.users; --$$,
                    'users:createUser ', 'dir/users.v2:createUser']) WITH ORDINALITY AS t(p, n)
 ORDER BY n;
SELECT regexp_replace(regress_try(format('SELECT convex_mutation(%L, %L)', repeat('m', 256) || ':f', '{}')),
                      'm{64}', '<64 times m>') AS too_long;
SELECT regexp_replace(regress_try(format('SELECT convex_mutation(%L, %L)', repeat('m', 253) || ':f', '{}')),
                      'm{253}', '<253 times m>') AS longest_accepted;
SELECT regress_try($$SELECT convex_mutation(NULL, '{}')$$);
SELECT regress_try($$SELECT convex_define_mutation('users:x y', 'misc_no_return(jsonb)', '{"type": "any"}')$$);
SELECT regress_try($$SELECT convex_drop_mutation('')$$);
SELECT to_regclass($$convex.users$$) IS NOT NULL AS users_table_intact;

--
-- Arguments
--
CREATE OR REPLACE FUNCTION misc_echo(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    RETURN args -> 'payload';
END;
$$;
SELECT convex_define_mutation('misc:echo', 'misc_echo(jsonb)',
  '{"type": "object", "value": {"payload": {"fieldType": {"type": "any"}, "optional": false}}}');
SELECT convex_mutation('misc:echo', '{"payload": {"nested": [1, "two", null, {"$integer": "AQAAAAAAAAA="}]}}') AS echoed;
SELECT regress_try($$SELECT convex_mutation('misc:echo', '{"payload": {"$bad": 1}}')$$);
SELECT regress_try($$SELECT convex_mutation('misc:echo', '{"payload": 1, "$extra": 2}')$$);
SELECT a, regress_try(format('SELECT convex_mutation(%L, %L)', 'misc:echo', a))
  FROM unnest(ARRAY['[]', '"x"', 'null', '1', '{}']) WITH ORDINALITY AS t(a, n) ORDER BY n;
-- return values must be Convex values too, even under v.any()
CREATE OR REPLACE FUNCTION misc_bad_return(args jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{"$bad": 1}'::jsonb $$;
SELECT convex_define_mutation('misc:badReturn', 'misc_bad_return(jsonb)', '{"type": "any"}');
SELECT regress_try($$SELECT convex_mutation('misc:badReturn', '{}')$$);
-- a non-ASCII character in a path is named whole, long paths are cut at a character
SELECT regress_try($$SELECT convex_mutation('é:x', '{}')$$);
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', repeat('é', 70) || ':x', '{}'));

--
-- Registering: handler signature, validators
--
CREATE OR REPLACE FUNCTION misc_takes_text(args text) RETURNS jsonb LANGUAGE sql AS $$ SELECT 'null'::jsonb $$;
CREATE OR REPLACE FUNCTION misc_returns_text(args jsonb) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;
CREATE OR REPLACE FUNCTION misc_returns_set(args jsonb) RETURNS SETOF jsonb LANGUAGE sql AS $$ SELECT args $$;
SELECT h, regress_try(format('SELECT convex_define_mutation(%L, %L, %L)', 'misc:bad', h, '{"type": "any"}'))
  FROM unnest(ARRAY['misc_takes_text(text)', 'misc_returns_text(jsonb)', 'misc_returns_set(jsonb)']) WITH ORDINALITY AS t(h, n)
 ORDER BY n;
SELECT v, regress_try(format('SELECT convex_define_mutation(%L, %L, %L)', 'misc:bad', 'misc_echo(jsonb)', v))
  FROM unnest(ARRAY['{"type": "string"}', '{"type": "strang"}', '[]', '{"type": "object"}']) WITH ORDINALITY AS t(v, n)
 ORDER BY n;
SELECT regress_try($$SELECT convex_define_mutation('misc:bad', 'misc_echo(jsonb)', '{"type": "any"}', '{"type": "id"}')$$);
SELECT regress_try($$SELECT convex_define_mutation('misc:bad', 'misc_echo(jsonb)', NULL)$$);
SELECT regress_try($$SELECT convex_define_mutation('misc:bad', NULL, '{"type": "any"}')$$);
SELECT regress_try($$SELECT convex_define_mutation('misc:bad', 'misc_echo(jsonb)', '{"type": "any"}', NULL, NULL)$$);
SELECT count(*) AS bad_registered FROM convex._functions WHERE path = 'misc:bad';

-- Redefining a path: the new handler is used at once, in the same session
CREATE OR REPLACE FUNCTION misc_version_1(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$ BEGIN RETURN '"v1"'; END; $$;
CREATE OR REPLACE FUNCTION misc_version_2(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$ BEGIN RETURN '"v2"'; END; $$;
SELECT convex_define_mutation('misc:version', 'misc_version_1(jsonb)', '{"type": "object", "value": {}}', '{"type": "string"}');
SELECT convex_mutation('misc:version') AS version;
SELECT convex_define_mutation('misc:version', 'misc_version_2(jsonb)', '{"type": "object", "value": {}}', '{"type": "string"}');
SELECT convex_mutation('misc:version') AS version;
-- ... and so are its new validators and visibility
SELECT convex_define_mutation('misc:version', 'misc_version_2(jsonb)', '{"type": "object", "value": {}}', '{"type": "number"}', true);
SELECT regress_try($$SELECT convex_mutation('misc:version')$$);
SET ROLE regress_convexlite_bob;
SELECT regress_try($$SELECT convex_mutation('misc:version')$$);
RESET ROLE;
-- a redefinition rolled back leaves the old one
BEGIN;
SELECT convex_define_mutation('misc:version', 'misc_version_1(jsonb)', '{"type": "object", "value": {}}', '{"type": "string"}');
SELECT convex_mutation('misc:version') AS version_inside;
ROLLBACK;
SELECT regress_try($$SELECT convex_mutation('misc:version')$$);

-- convex_drop_mutation
SELECT convex_drop_mutation('misc:version');
SELECT regress_try($$SELECT convex_mutation('misc:version')$$);
SELECT regress_try($$SELECT convex_drop_mutation('misc:version')$$);
SELECT regress_try($$SELECT convex_drop_mutation(NULL)$$);

-- a handler that was dropped
CREATE OR REPLACE FUNCTION misc_doomed(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$ BEGIN RETURN 'null'; END; $$;
SELECT convex_define_mutation('misc:doomed', 'misc_doomed(jsonb)', '{"type": "any"}');
SELECT convex_mutation('misc:doomed') AS before_drop;
DROP FUNCTION misc_doomed(jsonb);
SELECT regress_try($$SELECT convex_mutation('misc:doomed')$$);
SELECT convex_drop_mutation('misc:doomed');

--
-- Nested calls: at most 8 levels below the top mutation
--
CREATE OR REPLACE FUNCTION loop_recurse(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    IF (args ->> 'levels')::int = 0 THEN
        RETURN '0';
    END IF;
    RETURN to_jsonb((convex_mutation('loop:recurse',
        jsonb_build_object('levels', (args ->> 'levels')::int - 1)) #>> '{}')::int + 1);
END;
$$;
SELECT convex_define_mutation('loop:recurse', 'loop_recurse(jsonb)',
  '{"type": "object", "value": {"levels": {"fieldType": {"type": "number"}, "optional": false}}}',
  '{"type": "number"}');
SELECT convex_mutation('loop:recurse', '{"levels": 8}') AS nested_levels;
SELECT regress_try($$SELECT convex_mutation('loop:recurse', '{"levels": 9}')$$);
SELECT regress_try($$SELECT convex_mutation('loop:recurse', '{"levels": 1000}')$$);
-- the depth is back to zero after a failure
SELECT convex_mutation('loop:recurse', '{"levels": 8}') AS nested_levels;

--
-- Handlers run under a pinned search_path (pg_catalog, convexlite's schema,
-- pg_temp) unless they SET their own: a caller's look-alike functions are
-- not reached, even though the handler runs with its owner's rights.
--
CREATE OR REPLACE FUNCTION misc_read_account(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    RETURN convex_db_get('accounts', args ->> 'id') -> 'owner';
END;
$$;
SELECT convex_define_mutation('misc:readAccount', 'misc_read_account(jsonb)', '{"type": "any"}');
SELECT convex_db_insert('accounts', '{"owner": "pinned", "balance": 1}') AS pinned_account \gset
CREATE SCHEMA regress_lookalike;
CREATE FUNCTION regress_lookalike.convex_db_get(t text, i text) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{"owner": "look-alike"}'::jsonb $$;
SET search_path = regress_lookalike, public;
SELECT convex_mutation('misc:readAccount', jsonb_build_object('id', :'pinned_account')) AS owner_read;
RESET search_path;
SHOW search_path;
DROP SCHEMA regress_lookalike CASCADE;

-- a SQL handler that runs itself again through ctx.runMutation
CREATE OR REPLACE FUNCTION misc_countdown(args jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT CASE WHEN (args ->> 'n')::int > 0
                THEN convex_mutation('misc:countdown', jsonb_build_object('n', (args ->> 'n')::int - 1))
                ELSE '"liftoff"'::jsonb END
$$;
SELECT convex_define_mutation('misc:countdown', 'misc_countdown(jsonb)', '{"type": "any"}');
SELECT convex_mutation('misc:countdown', '{"n": 3}') AS countdown;

-- a handler that catches the time limit's cancellation is cancelled again
CREATE OR REPLACE FUNCTION misc_stubborn(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        PERFORM pg_sleep(1);
    EXCEPTION WHEN query_canceled THEN
        NULL;
    END;
    PERFORM pg_sleep(5);
    RETURN NULL;
END;
$$;
SELECT convex_define_mutation('misc:stubborn', 'misc_stubborn(jsonb)', '{"type": "any"}');
CREATE FUNCTION regress_elapsed_try(statement text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz := clock_timestamp();
    outcome text := regress_try(statement);
BEGIN
    RETURN outcome || CASE WHEN clock_timestamp() - started < interval '2 s'
                           THEN ' (within 2 s)' ELSE ' (too late)' END;
END;
$$;
SET convexlite.mutation_timeout = '200ms';
SELECT regress_elapsed_try($$SELECT convex_mutation('misc:stubborn', '{}')$$);
RESET convexlite.mutation_timeout;

-- bytes read are documents' raw sizes, however PostgreSQL stores them
SELECT convex_define_table('bulky', '{"s": {"fieldType": {"type": "string"}, "optional": false}}') > 10004 AS defined;
SELECT count(convex_db_insert('bulky', jsonb_build_object('s', repeat('z', 200000)))) AS bulky_rows FROM generate_series(1, 3);
CREATE OR REPLACE FUNCTION misc_read_bulky(args jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT to_jsonb(count(*)) FROM convex_db_query('bulky') $$;
SELECT convex_define_mutation('misc:readBulky', 'misc_read_bulky(jsonb)', '{"type": "any"}');
SET convexlite.max_bytes_read = '500kB';
SELECT regress_try($$SELECT convex_mutation('misc:readBulky', '{}')$$);
SET convexlite.max_bytes_read = '700kB';
SELECT convex_mutation('misc:readBulky', '{}') AS bulky_read;
RESET convexlite.max_bytes_read;

-- the built-in users.updateProfile is held to the document size as a whole
SELECT convex_db_insert('users', '{}') AS sized_user \gset
SET convexlite.max_document_size = '100kB';
SET convexlite.user_id = :'sized_user';
SELECT convex_mutation('users:updateProfile', jsonb_build_object('name', repeat('n', 70000))) AS first_half;
SELECT regress_try(format('SELECT convex_mutation(%L, %L)', 'users:updateProfile',
                          jsonb_build_object('image', repeat('i', 70000))));
RESET convexlite.user_id;
RESET convexlite.max_document_size;

--
-- What is registered
--
SELECT path, handler, internal, returns FROM convex._functions ORDER BY path;

-- clean up
SET client_min_messages = warning;
DO $$
DECLARE
    p text;
BEGIN
    FOR p IN SELECT path FROM convex._functions ORDER BY path LOOP
        PERFORM convex_drop_mutation(p);
    END LOOP;
END;
$$;
DROP FUNCTION users_create_user(jsonb), users_create_user_broken(jsonb), users_update_stats(jsonb),
    users_touch(jsonb), channels_clear(jsonb), accounts_transfer_funds(jsonb), regress_balances(text, text),
    channels_send_message(jsonb), chat_send_message(jsonb), chat_write_agent_response(jsonb),
    ai_generate_response(jsonb), scheduling_send_message(jsonb), scheduling_send_then_fail(jsonb),
    regress_channel_jobs(text), users_create(jsonb), users_update(jsonb), users_create_test_user(jsonb),
    users_create_bad_test_user(jsonb), misc_no_return(jsonb), misc_echo(jsonb), misc_takes_text(text),
    misc_returns_text(jsonb), misc_returns_set(jsonb), misc_version_1(jsonb), misc_version_2(jsonb),
    loop_recurse(jsonb), misc_read_account(jsonb), misc_countdown(jsonb), misc_stubborn(jsonb),
    misc_read_bulky(jsonb), misc_bad_return(jsonb), regress_elapsed_try(text);
DROP OWNED BY regress_convexlite_bob;
DROP ROLE regress_convexlite_bob;
RESET client_min_messages;
SELECT count(*) AS registered FROM convex._functions;
DELETE FROM convex.messages;
DELETE FROM convex.users;
-- the finished jobs (every one ran: the waits above saw to that)
SELECT pg_sleep(0.01);
SELECT convex_scheduler_cleanup(0) AS jobs_removed;
SELECT count(*) AS jobs_left FROM convex._scheduled_functions;
