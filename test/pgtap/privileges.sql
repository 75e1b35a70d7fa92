-- test/pgtap/privileges.sql: who may call what, and what nobody can reach.
--
-- SPEC §11: tables change only through convexlite's functions; internal
-- mutations are not callable by ordinary roles; functions that run with
-- raised privileges pin search_path; ctx.db touches only convexlite tables.
--
-- Run with pg_prove as a superuser against a database where convexlite can be
-- (re)installed.  Everything below runs in one transaction that is rolled back.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(184);
SET LOCAL client_min_messages = warning;
-- what an aborted file may have left must not break this one (rolled back: left as found)
DROP SCHEMA IF EXISTS regress_cvx_tap CASCADE;
RESET client_min_messages;

SET LOCAL client_min_messages = warning;
-- A schema for this file's helpers (rolled back with everything else).
CREATE SCHEMA regress_cvx_tap;

-- Roles are cluster-wide: create them here, inside the rolled-back transaction.
\ir lib/roles.sql
SELECT regress_cvx_tap.ensure_roles('LOGIN', 'regress_convexlite_alice', 'regress_convexlite_cron') \g /dev/null

-- SQLSTATE and a LIKE pattern on the message, in one assertion.
\ir lib/throws_state_like.sql

------------------------------------------------------------------------
-- 1. A hostile search_path cannot redirect the mutations.
--
-- These are the first convexlite calls of this session, so the table
-- catalog is loaded and every statement is planned while the caller's
-- search_path puts the attacker's schema (with an "=" for text that
-- raises, a "<" for float8 that raises, and look-alike tables) before
-- pg_catalog.
------------------------------------------------------------------------

-- Rows the evil operators would have to be evaluated against (raw rows: no
-- convexlite call yet).
INSERT INTO convex.messages (_id, _creation_time, room_id, user_id, content, user_name, session_id)
VALUES ('regress-raw-message', 0, 'evil-room-other', NULL, 'raw row', 'raw', 'raw-session');
INSERT INTO convex.presence (_id, _creation_time, room_id, user_id, session_id, data, last_seen)
VALUES ('regress-raw-presence', 0, 'evil-room', NULL, 'raw-session', '{}', 0);

CREATE SCHEMA regress_evil AUTHORIZATION regress_convexlite_alice;
CREATE TEMP TABLE hostile_results (step text PRIMARY KEY, result text);
GRANT ALL ON hostile_results TO PUBLIC;

SET ROLE regress_convexlite_alice;
CREATE FUNCTION regress_evil.boom_text(text, text) RETURNS boolean LANGUAGE plpgsql
    AS $f$ BEGIN RAISE EXCEPTION 'regress_evil operator = (text, text) was used'; END $f$;
CREATE FUNCTION regress_evil.boom_float8(float8, float8) RETURNS boolean LANGUAGE plpgsql
    AS $f$ BEGIN RAISE EXCEPTION 'regress_evil operator < (float8, float8) was used'; END $f$;
CREATE OPERATOR regress_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.boom_text);
CREATE OPERATOR regress_evil.< (LEFTARG = float8, RIGHTARG = float8, FUNCTION = regress_evil.boom_float8);
CREATE TABLE regress_evil.messages (_id text, _creation_time float8, room_id text, user_id text,
                                    content text, user_name text, session_id text);
CREATE TABLE regress_evil.presence (_id text, _creation_time float8, room_id text, user_id text,
                                    session_id text, data jsonb, last_seen float8);
CREATE TABLE regress_evil.users (_id text, _creation_time float8, name text, image text);
CREATE TABLE regress_evil._tables (name text, number integer, fields jsonb);
CREATE TEMP TABLE messages (_id text, _creation_time float8, room_id text, user_id text,
                            content text, user_name text, session_id text);
CREATE TEMP TABLE presence (_id text, _creation_time float8, room_id text, user_id text,
                            session_id text, data jsonb, last_seen float8);

SET search_path = regress_evil, pg_catalog, public;
-- No pgTAP call while this search_path is in force (pgTAP itself uses "=").
DO $$
DECLARE
    id1 text;
    id2 text;
BEGIN
    BEGIN
        id1 := convex_messages_send('{"roomId": "evil-room", "content": "to be removed", "userName": "alice"}');
        INSERT INTO pg_temp.hostile_results VALUES ('1 send', id1);
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO pg_temp.hostile_results VALUES ('1 send', 'ERROR ' || SQLSTATE || ': ' || SQLERRM);
    END;
    BEGIN
        id2 := convex_messages_send('{"roomId": "evil-room", "content": "kept", "userName": "alice", "sessionId": "evil-session"}');
        INSERT INTO pg_temp.hostile_results VALUES ('2 send', id2);
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO pg_temp.hostile_results VALUES ('2 send', 'ERROR ' || SQLSTATE || ': ' || SQLERRM);
    END;
    BEGIN
        PERFORM convex_messages_remove(jsonb_build_object('messageId', id1));
        INSERT INTO pg_temp.hostile_results VALUES ('3 remove', 'ok');
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO pg_temp.hostile_results VALUES ('3 remove', 'ERROR ' || SQLSTATE || ': ' || SQLERRM);
    END;
    BEGIN
        PERFORM convex_presence_update('{"roomId": "evil-room", "sessionId": "evil-session", "data": {"status": "here"}}');
        INSERT INTO pg_temp.hostile_results VALUES ('4 presence.update (first)', 'ok');
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO pg_temp.hostile_results VALUES ('4 presence.update (first)', 'ERROR ' || SQLSTATE || ': ' || SQLERRM);
    END;
    BEGIN
        PERFORM convex_presence_update('{"roomId": "evil-room", "sessionId": "evil-session", "data": {"status": "here again"}}');
        INSERT INTO pg_temp.hostile_results VALUES ('5 presence.update (heartbeat)', 'ok');
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO pg_temp.hostile_results VALUES ('5 presence.update (heartbeat)', 'ERROR ' || SQLSTATE || ': ' || SQLERRM);
    END;
    BEGIN
        PERFORM convex_presence_leave('{"roomId": "evil-room", "sessionId": "raw-session"}');
        INSERT INTO pg_temp.hostile_results VALUES ('6 presence.leave', 'ok');
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO pg_temp.hostile_results VALUES ('6 presence.leave', 'ERROR ' || SQLSTATE || ': ' || SQLERRM);
    END;
END;
$$;
RESET search_path;
RESET ROLE;

SELECT is((SELECT CASE WHEN convex_id_table(result) = 'messages' THEN 'an Id<"messages">' ELSE result END
             FROM hostile_results WHERE step = '1 send'),
          'an Id<"messages">', 'hostile search_path: messages.send returns an Id<"messages">');
SELECT is((SELECT result FROM hostile_results WHERE step = '2 send'),
          (SELECT _id FROM convex.messages WHERE room_id = 'evil-room' AND content = 'kept'),
          'hostile search_path: the sent message is in convex.messages under the returned id');
SELECT is((SELECT session_id FROM convex.messages WHERE room_id = 'evil-room' AND content = 'kept'),
          'evil-session', 'hostile search_path: the sent message has its fields');
SELECT is((SELECT result FROM hostile_results WHERE step = '3 remove'), 'ok',
          'hostile search_path: messages.remove runs');
SELECT is((SELECT count(*)::int FROM convex.messages WHERE room_id = 'evil-room'), 1,
          'hostile search_path: the removed message is gone from convex.messages, the other stays');
SELECT is((SELECT result FROM hostile_results WHERE step = '4 presence.update (first)'), 'ok',
          'hostile search_path: presence.update (first heartbeat) runs');
SELECT is((SELECT result FROM hostile_results WHERE step = '5 presence.update (heartbeat)'), 'ok',
          'hostile search_path: presence.update (later heartbeat) runs');
SELECT is((SELECT result FROM hostile_results WHERE step = '6 presence.leave'), 'ok',
          'hostile search_path: presence.leave runs');
SELECT is((SELECT data->>'status' FROM convex.presence WHERE session_id = 'evil-session' AND room_id = 'evil-room'),
          'here again', 'hostile search_path: the heartbeat updated the row in convex.presence');
SELECT is((SELECT count(*)::int FROM convex.presence WHERE session_id = 'raw-session'), 0,
          'hostile search_path: presence.leave deleted the session''s row in convex.presence');
SELECT is((SELECT count(*)::int FROM convex.messages WHERE _id = 'regress-raw-message'), 1,
          'hostile search_path: an unrelated message is untouched');
SELECT is((SELECT (SELECT count(*) FROM regress_evil.messages) + (SELECT count(*) FROM regress_evil.presence)
                + (SELECT count(*) FROM regress_evil.users) + (SELECT count(*) FROM regress_evil._tables)
                + (SELECT count(*) FROM pg_temp.messages) + (SELECT count(*) FROM pg_temp.presence))::int,
          0, 'hostile search_path: the look-alike tables were never written');

-- users.updateProfile under the same hostile search_path (its statement is
-- planned at its first call, here).
SELECT convex_db_insert('users', '{"name": "Alice"}') AS alice_uid \gset
SELECT convex_db_insert('users', '{"name": "Bob"}') AS bob_uid \gset
SET ROLE regress_convexlite_alice;
SELECT set_config('convexlite.user_id', :'alice_uid', true) \g /dev/null
SET search_path = regress_evil, pg_catalog, public;
DO $$
BEGIN
    PERFORM convex_users_update_profile('{"name": "Alice Liddell", "image": "https://example.com/a.png"}');
    INSERT INTO pg_temp.hostile_results VALUES ('7 users.updateProfile', 'ok');
EXCEPTION WHEN OTHERS THEN
    INSERT INTO pg_temp.hostile_results VALUES ('7 users.updateProfile', 'ERROR ' || SQLSTATE || ': ' || SQLERRM);
END;
$$;
RESET search_path;
RESET ROLE;
SELECT set_config('convexlite.user_id', '', true) \g /dev/null

SELECT is((SELECT result FROM hostile_results WHERE step = '7 users.updateProfile'), 'ok',
          'hostile search_path: users.updateProfile runs');
SELECT is((SELECT name || ' ' || image FROM convex.users WHERE _id = :'alice_uid'),
          'Alice Liddell https://example.com/a.png',
          'hostile search_path: users.updateProfile patched the caller''s row in convex.users');
SELECT is((SELECT name FROM convex.users WHERE _id = :'bob_uid'), 'Bob',
          'hostile search_path: users.updateProfile left other users alone');

------------------------------------------------------------------------
-- 2. Declared privileges of an ordinary role
------------------------------------------------------------------------

SELECT function_privs_are(f, args::name[], 'regress_convexlite_alice', ARRAY['EXECUTE']::name[],
                          format('an ordinary role may execute %s(%s)', f, array_to_string(args, ', ')))
  FROM (VALUES ('convex_messages_send', ARRAY['jsonb']),
               ('convex_messages_remove', ARRAY['jsonb']),
               ('convex_presence_update', ARRAY['jsonb']),
               ('convex_presence_leave', ARRAY['jsonb']),
               ('convex_users_update_profile', ARRAY['jsonb']),
               ('convex_files_generate_upload_url', ARRAY['jsonb']),
               ('convex_files_save_file', ARRAY['jsonb']),
               ('convex_files_remove', ARRAY['jsonb']),
               ('convex_storage_upload', ARRAY['text', 'bytea', 'text']),
               ('convex_storage_upload_large_object', ARRAY['text', 'oid', 'text']),
               ('convex_storage_get', ARRAY['text']),
               ('convex_storage_get', ARRAY['text', 'bigint', 'integer']),
               ('convex_storage_get_url', ARRAY['text']),
               ('convex_storage_get_metadata', ARRAY['text']),
               ('convex_id_table', ARRAY['text']),
               ('convex_auth_user_id', ARRAY[]::text[])) AS t(f, args);

SELECT function_privs_are(f, args::name[], 'regress_convexlite_alice', ARRAY[]::name[],
                          format('an ordinary role may not execute %s(%s)', f, array_to_string(args, ', ')))
  FROM (VALUES ('convex_presence_cleanup', ARRAY['jsonb']),
               ('convex_storage_delete', ARRAY['text']),
               ('convex_storage_cleanup', ARRAY['double precision']),
               ('convex_storage_generate_upload_url', ARRAY[]::text[]),
               ('convex_db_insert', ARRAY['text', 'jsonb']),
               ('convex_db_get', ARRAY['text', 'text']),
               ('convex_db_patch', ARRAY['text', 'text', 'jsonb']),
               ('convex_db_replace', ARRAY['text', 'text', 'jsonb']),
               ('convex_db_delete', ARRAY['text', 'text']),
               ('convex_schedule_jobs', ARRAY[]::text[]),
               ('convex_scheduler_run_after', ARRAY['double precision', 'text', 'jsonb']),
               ('convex_scheduler_run_at', ARRAY['double precision', 'text', 'jsonb']),
               ('convex_scheduler_cancel', ARRAY['text']),
               ('convex_scheduler_run_due', ARRAY['integer']),
               ('convex_scheduler_cleanup', ARRAY['double precision']),
               ('convex_define_table', ARRAY['text', 'jsonb', 'jsonb']),
               ('convex_table_notify', ARRAY['text', 'text[]']),
               ('convex_db_query', ARRAY['text', 'text', 'jsonb', 'text', 'jsonb', 'integer'])) AS t(f, args);

SELECT table_privs_are('convex', t, 'regress_convexlite_alice', ARRAY[]::name[],
                       format('an ordinary role has no privilege on table convex.%s', t))
  FROM unnest(ARRAY['users', 'messages', 'presence', 'files', '_storage', '_upload_tokens',
                     '_scheduled_functions']) AS t;
-- the catalog holds table names and validators (schema, not data): readable
SELECT table_privs_are('convex', '_tables', 'regress_convexlite_alice', ARRAY['SELECT']::name[],
                       'an ordinary role may only read the catalog convex._tables');

SELECT sequence_privs_are('convex', '_table_number_seq', 'regress_convexlite_alice', ARRAY[]::name[],
                          'an ordinary role has no privilege on sequence convex._table_number_seq');
SELECT schema_privs_are('convex', 'regress_convexlite_alice', ARRAY['USAGE']::name[],
                        'an ordinary role may use schema convex but not create objects in it');

------------------------------------------------------------------------
-- 3. What an ordinary role actually gets when it tries
------------------------------------------------------------------------

SELECT convex_messages_send('{"roomId": "r-priv", "content": "hello", "userName": "su"}') AS msg_id \gset

SET ROLE regress_convexlite_alice;

SELECT throws_ok(format(q, t, c), '42501', NULL,
                 format('an ordinary role cannot %s convex.%s', op, t))
  FROM (VALUES ('users', '_id'), ('messages', '_id'), ('presence', '_id'), ('files', '_id'),
               ('_storage', '_id'), ('_upload_tokens', 'used'), ('_tables', 'name'),
               ('_scheduled_functions', 'state')) AS tabs(t, c)
 CROSS JOIN (VALUES ('SELECT', 'SELECT * FROM convex.%I /* %s */'),
                    ('INSERT INTO', 'INSERT INTO convex.%I DEFAULT VALUES /* %s */'),
                    ('UPDATE', 'UPDATE convex.%I SET %2$I = %2$I'),
                    ('DELETE FROM', 'DELETE FROM convex.%I /* %s */'),
                    ('TRUNCATE', 'TRUNCATE convex.%I /* %s */')) AS ops(op, q)
 WHERE NOT (t = '_tables' AND op = 'SELECT');
SELECT lives_ok('SELECT name, number FROM convex._tables',
                'an ordinary role can read the catalog convex._tables');

SELECT throws_ok(q, '42501', NULL, 'an ordinary role cannot ' || what)
  FROM (VALUES ('SELECT convex_presence_cleanup()', 'call the internal presence.cleanup'),
               ('SELECT convex_storage_cleanup(0)', 'call the internal storage cleanup'),
               ('SELECT convex_storage_generate_upload_url()', 'call ctx.storage.generateUploadUrl'),
               ($$SELECT convex_storage_delete('05z4eafdgzez8bt8m5c8ykhya4n3n8r')$$, 'call ctx.storage.delete'),
               ($$SELECT convex_db_insert('messages', '{"roomId": "r", "content": "c", "userName": "u"}')$$,
                'call convex_db_insert'),
               (format('SELECT convex_db_get(%L, %L)', 'messages', :'msg_id'), 'call convex_db_get'),
               (format('SELECT convex_db_patch(%L, %L, %L)', 'messages', :'msg_id', '{"content": "x"}'),
                'call convex_db_patch'),
               (format('SELECT convex_db_replace(%L, %L, %L)', 'messages', :'msg_id',
                       '{"roomId": "r", "content": "x", "userName": "u"}'),
                'call convex_db_replace'),
               (format('SELECT convex_db_delete(%L, %L)', 'messages', :'msg_id'), 'call convex_db_delete'),
               ('SELECT convex_schedule_jobs()', 'call convex_schedule_jobs'),
               ($$SELECT convex_scheduler_run_after(0, 'messages:send', '{"roomId": "r", "content": "c", "userName": "u"}')$$,
                'call ctx.scheduler.runAfter'),
               ($$SELECT convex_scheduler_run_at(0, 'presence:cleanup', '{}')$$, 'call ctx.scheduler.runAt'),
               ($$SELECT convex_scheduler_cancel('0a3kggxrmq3zadc3xcttgnqda4n5q2g')$$, 'call ctx.scheduler.cancel'),
               ('CALL convex_scheduler_run_due()', 'run due scheduled functions'),
               ('SELECT convex_scheduler_cleanup(0)', 'call the internal scheduler cleanup'),
               ($$SELECT convex_define_table('evil', '{}')$$, 'call convex_define_table'),
               ($$SELECT convex_table_notify('messages', '{}')$$, 'call convex_table_notify'),
               ($$SELECT convex_db_query('messages')$$, 'call convex_db_query')) AS t(q, what);

SELECT is(convex_id_table(:'msg_id'), 'messages', 'an ordinary role can call convex_id_table');
SELECT is(convex_auth_user_id(), NULL, 'an ordinary role can call convex_auth_user_id (signed out: NULL)');
SELECT set_config('convexlite.user_id', :'alice_uid', true) \g /dev/null
SELECT is(convex_auth_user_id(), :'alice_uid', 'convex_auth_user_id returns the SET LOCAL convexlite.user_id');
SELECT set_config('convexlite.user_id', '', true) \g /dev/null
SELECT throws_ok($$SELECT convex_users_update_profile('{"name": "x"}')$$, '42501',
                 'You must be logged in to update your profile',
                 'users.updateProfile signed out: ConvexError UNAUTHORIZED (42501)');

-- Ownership, exactly as the seed states it (messages.remove).
RESET ROLE;
SELECT set_config('convexlite.user_id', :'bob_uid', true) \g /dev/null
SELECT convex_messages_send('{"roomId": "r-own", "content": "bob''s", "userName": "Bob", "sessionId": "bob-tab"}') AS bob_msg \gset
SELECT set_config('convexlite.user_id', :'alice_uid', true) \g /dev/null
SET ROLE regress_convexlite_alice;
SELECT convex_messages_remove(jsonb_build_object('messageId', :'bob_msg', 'sessionId', 'alice-tab')) \g /dev/null
RESET ROLE;
SELECT is((SELECT count(*)::int FROM convex.messages WHERE _id = :'bob_msg'), 1,
          'messages.remove: alice (other user, other session) cannot delete bob''s message; silently nothing');
SET ROLE regress_convexlite_alice;
SELECT convex_messages_remove(jsonb_build_object('messageId', :'bob_msg', 'sessionId', 'bob-tab')) \g /dev/null
RESET ROLE;
SELECT is((SELECT count(*)::int FROM convex.messages WHERE _id = :'bob_msg'), 0,
          'messages.remove: the message''s sessionId authorizes the delete (seed rule 3)');
SELECT set_config('convexlite.user_id', '', true) \g /dev/null

------------------------------------------------------------------------
-- 4. The internal presence.cleanup: callable by a role granted EXECUTE
------------------------------------------------------------------------

UPDATE convex.presence SET last_seen = last_seen - 60000 WHERE session_id = 'evil-session';
GRANT EXECUTE ON FUNCTION convex_presence_cleanup(jsonb) TO regress_convexlite_cron;
SELECT function_privs_are('convex_presence_cleanup', ARRAY['jsonb']::name[], 'regress_convexlite_cron',
                          ARRAY['EXECUTE']::name[], 'a role granted EXECUTE has it on convex_presence_cleanup');
SET ROLE regress_convexlite_cron;
SELECT is(convex_presence_cleanup(), 1, 'a role granted EXECUTE can run presence.cleanup (1 stale row)');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM convex.presence), 0, 'presence.cleanup run by that role deleted the stale row');

------------------------------------------------------------------------
-- 5. SECURITY DEFINER functions of the extension
------------------------------------------------------------------------

CREATE TEMP VIEW cvx_functions AS
SELECT p.oid, p.proname, p.oid::regprocedure::text AS signature, p.prosecdef, l.lanname,
       p.proowner, p.proconfig
  FROM pg_depend d
  JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
  JOIN pg_language l ON l.oid = p.prolang
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'convexlite')
   AND d.deptype = 'e';

SELECT ok((SELECT r.rolsuper FROM pg_extension e JOIN pg_roles r ON r.oid = e.extowner
            WHERE e.extname = 'convexlite'),
          'convexlite was installed by a superuser');
SELECT is(ARRAY(SELECT signature FROM cvx_functions
                 WHERE prosecdef
                   AND proowner <> (SELECT extowner FROM pg_extension WHERE extname = 'convexlite')
                 ORDER BY 1),
          ARRAY[]::text[], 'every SECURITY DEFINER function is owned by the installing superuser');
-- The only C functions allowed to run with raised rights are the seed app's
-- mutations of SPEC §4 and its queries (§12, read-only: docs/queries.md),
-- ctx.storage (§5), whose blobs belong to the schema's owner, and the
-- scheduler's retention cleanup (§7).  Adding another one must be a
-- deliberate edit here.
SELECT is(ARRAY(SELECT signature FROM cvx_functions
                 WHERE prosecdef AND lanname = 'c'
                   AND proname NOT IN ('convex_users_update_profile', 'convex_messages_send',
                                       'convex_messages_remove', 'convex_presence_update',
                                       'convex_presence_leave', 'convex_presence_cleanup',
                                       'convex_files_generate_upload_url', 'convex_files_save_file',
                                       'convex_files_remove', 'convex_users_current', 'convex_users_get',
                                       'convex_messages_list', 'convex_presence_list',
                                       'convex_files_get_url', 'convex_files_list')
                 ORDER BY 1),
          ARRAY['convex_scheduler_cleanup(double precision)',
                'convex_storage_cleanup(double precision)', 'convex_storage_delete(text)',
                'convex_storage_generate_upload_url()', 'convex_storage_get(text)',
                'convex_storage_get(text,bigint,integer)', 'convex_storage_get_metadata(text)',
                'convex_storage_get_url(text)', 'convex_storage_upload(text,bytea,text)'],
          'no C SECURITY DEFINER function besides the seed app''s mutations and queries, ctx.storage''s and the scheduler cleanup');
SELECT is((SELECT prosecdef FROM cvx_functions WHERE signature = 'convex_storage_upload_large_object(text,oid,text)'),
          false, 'the large-object upload runs as its caller (who must own the large object)');
SELECT is(ARRAY(SELECT proname::text FROM cvx_functions
                 WHERE prosecdef AND lanname = 'c'
                   AND proname IN ('convex_users_update_profile', 'convex_messages_send',
                                   'convex_messages_remove', 'convex_presence_update',
                                   'convex_presence_leave', 'convex_presence_cleanup')
                 ORDER BY 1),
          ARRAY['convex_messages_remove', 'convex_messages_send', 'convex_presence_cleanup',
                'convex_presence_leave', 'convex_presence_update', 'convex_users_update_profile'],
          'the six mutations are C SECURITY DEFINER functions');
SELECT is(ARRAY(SELECT signature FROM cvx_functions
                 WHERE prosecdef AND lanname <> 'c'
                   AND NOT EXISTS (SELECT 1 FROM unnest(proconfig) c WHERE c LIKE 'search\_path=%')
                 ORDER BY 1),
          ARRAY[]::text[], 'every non-C SECURITY DEFINER function pins search_path');
SELECT is(ARRAY(SELECT signature FROM cvx_functions
                 WHERE prosecdef AND lanname = 'c' AND proname LIKE 'convex\_db\_%'
                 ORDER BY 1),
          ARRAY[]::text[], 'ctx.db functions run with the caller''s rights (not SECURITY DEFINER)');

------------------------------------------------------------------------
-- 6. ctx.db refuses every table convexlite does not manage, however written
------------------------------------------------------------------------

SELECT throws_ok(format(q, name, :'msg_id'), '42P01', NULL,
                 format('%s refuses table name %s', f, quote_literal(name)))
  FROM (VALUES ('pg_class'), ('pg_catalog.pg_class'), ('convex.messages'), ('"messages"'),
               ('MESSAGES'), ('messages '), (''), ('messages; drop table x'), ('_tables'),
               ('public.messages')) AS n(name)
 CROSS JOIN (VALUES ('convex_db_insert', 'SELECT convex_db_insert(%L, ''{"roomId": "r", "content": "c", "userName": "u"}'') /* %s */'),
                    ('convex_db_get', 'SELECT convex_db_get(%L, %L)'),
                    ('convex_db_patch', 'SELECT convex_db_patch(%L, %L, ''{"content": "x"}'')'),
                    ('convex_db_replace', 'SELECT convex_db_replace(%L, %L, ''{"roomId": "r", "content": "x", "userName": "u"}'')'),
                    ('convex_db_delete', 'SELECT convex_db_delete(%L, %L)')) AS fs(f, q);

SELECT ok(to_regclass('pg_catalog.pg_class') IS NOT NULL
          AND (SELECT count(*) FROM convex.messages WHERE _id = :'msg_id') = 1,
          'after all the refused calls, pg_class and the message are still there');

SELECT * FROM finish();
ROLLBACK;

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_convexlite_alice;
DROP ROLE IF EXISTS regress_convexlite_cron;
RESET client_min_messages;
