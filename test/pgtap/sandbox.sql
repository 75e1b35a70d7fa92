-- test/pgtap/sandbox.sql: code another role defines never runs with more
-- rights than that role has (README "Security", "The sandbox").
--
-- The attacker is regress_sbx_owner, an ordinary role that owns registered
-- handlers (registered by the superuser, as README "What a deployment does"
-- says), may schedule them, and owns a schema with tables, triggers and
-- functions of its own.  Every piece of its code that could run later as
-- somebody else calls regress_sbx.grab(what): it logs current_user and
-- whether that role is a superuser, and tries ALTER ROLE regress_sbx_owner
-- SUPERUSER.  The proof, after every attempt, is that no log row was
-- written by a superuser and that regress_sbx_owner is still no superuser.
--
-- The escalation attempts, each with the SQLSTATE it now gets:
--   * a DEFERRABLE INITIALLY DEFERRED constraint trigger queued by a
--     handler (42501), called directly by a superuser, through a nested
--     call (ctx.runMutation), from a SECURITY DEFINER helper, and as a
--     scheduled job run by the background worker, by CALL
--     convex_scheduler_run_due() and by the pg_cron job's own command
--     (the job fails with the error);
--   * an immediate trigger: runs as the handler's owner (no error);
--   * set_config(..., false), set_config(..., true) and SET inside a
--     handler, a nested handler, a handler with its own SET search_path and
--     a SECURITY DEFINER helper: none is in force after the call;
--   * temp objects: a temp table, a temp view (42501, PostgreSQL's rule)
--     and a temp domain that would shadow the caller's type, a temp
--     function (42501, convexlite's rule), also when the caller's session
--     already has its temp schema;
--   * SET ROLE, RESET ROLE, SET SESSION AUTHORIZATION inside a handler and
--     SET ROLE inside its SECURITY DEFINER helper (42501);
--   * a handler that puts its own schema first in search_path for the
--     caller's next statement (a look-alike function): not in force;
--   * cursors: a handler cannot fetch from its caller's open cursor
--     (55000) nor close it to open its own under that name (24000), and a
--     cursor it opens is closed when it returns.
--
-- Not a transaction: the worker runs only committed jobs (as in
-- scheduler.sql).  Run with pg_prove as a superuser against the database
-- named by convexlite.database_name (contrib_regression in the test
-- cluster); convexlite is reinstalled and the role dropped at the end.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
DROP SCHEMA IF EXISTS regress_cvx_tap CASCADE;
DROP SCHEMA IF EXISTS regress_sbx CASCADE;
DROP DOMAIN IF EXISTS public.regress_sbx_shadow;
\ir lib/roles.sql
SELECT regress_cvx_tap.ensure_roles('', 'regress_sbx_owner') \g /dev/null
-- a previous run of the unfixed code may have left it a superuser
ALTER ROLE regress_sbx_owner NOSUPERUSER;
\ir lib/throws_state_like.sql
RESET client_min_messages;

SELECT * FROM no_plan();

------------------------------------------------------------------------
-- The attacker's objects
------------------------------------------------------------------------

CREATE SCHEMA regress_sbx AUTHORIZATION regress_sbx_owner;
GRANT EXECUTE ON FUNCTION convex_scheduler_run_after(double precision, text, jsonb) TO regress_sbx_owner;
-- the caller's own type, which a temp domain would shadow
CREATE DOMAIN public.regress_sbx_shadow AS integer;

SET ROLE regress_sbx_owner;
CREATE TABLE regress_sbx.log (n serial PRIMARY KEY, what text NOT NULL, who name NOT NULL, super boolean NOT NULL);
GRANT USAGE ON SCHEMA regress_sbx TO PUBLIC;
GRANT SELECT, INSERT ON regress_sbx.log TO PUBLIC;
GRANT USAGE ON SEQUENCE regress_sbx.log_n_seq TO PUBLIC;

-- log who runs this, and try to become a superuser
CREATE FUNCTION regress_sbx.grab(what text) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO regress_sbx.log (what, who, super)
    SELECT what, current_user, r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user;
    BEGIN
        EXECUTE 'ALTER ROLE regress_sbx_owner SUPERUSER';
    EXCEPTION WHEN OTHERS THEN
        NULL;
    END;
    RETURN true;
END
$f$;
GRANT EXECUTE ON FUNCTION regress_sbx.grab(text) TO PUBLIC;
CREATE FUNCTION regress_sbx.grab_trigger() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM regress_sbx.grab(TG_ARGV[0]);
    RETURN NULL;
END
$f$;

CREATE TABLE regress_sbx.deferred_t (x integer);
CREATE CONSTRAINT TRIGGER grab_later AFTER INSERT ON regress_sbx.deferred_t
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION regress_sbx.grab_trigger('deferred');
CREATE TABLE regress_sbx.immediate_t (x integer);
CREATE TRIGGER grab_now AFTER INSERT ON regress_sbx.immediate_t
    FOR EACH ROW EXECUTE FUNCTION regress_sbx.grab_trigger('immediate');

-- a look-alike of a function the caller calls unqualified
CREATE FUNCTION regress_sbx.lower(text) RETURNS text LANGUAGE sql
    AS $f$ SELECT CASE WHEN regress_sbx.grab('search_path') THEN $1 END $f$;

-- SECURITY DEFINER helpers of the attacker
CREATE FUNCTION regress_sbx.helper_deferred() RETURNS void LANGUAGE sql SECURITY DEFINER
    AS $f$ INSERT INTO regress_sbx.deferred_t VALUES (1) $f$;
CREATE FUNCTION regress_sbx.helper_set_role() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    AS $f$ BEGIN SET ROLE postgres; END $f$;
CREATE FUNCTION regress_sbx.helper_config() RETURNS void LANGUAGE sql SECURITY DEFINER
    AS $f$ SELECT set_config('regress_sbx.helper', 'leaked', false) $f$;

-- The handlers
CREATE FUNCTION regress_sbx.h(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    CASE args ->> 'do'
    WHEN 'deferred' THEN INSERT INTO regress_sbx.deferred_t VALUES (1);
    WHEN 'immediate' THEN INSERT INTO regress_sbx.immediate_t VALUES (1);
    WHEN 'config' THEN
        PERFORM set_config('search_path', 'regress_sbx, pg_catalog', false);
        PERFORM set_config('regress_sbx.session', 'leaked', false);
        PERFORM set_config('regress_sbx.local', 'leaked', true);
        SET regress_sbx.set = 'leaked';
        RETURN to_jsonb(current_setting('regress_sbx.session'));
    WHEN 'temp_table' THEN CREATE TEMP TABLE regress_sbx_tmp (x integer);
    WHEN 'temp_view' THEN CREATE TEMP VIEW regress_sbx_tmp_v AS SELECT regress_sbx.grab('temp view') AS x;
    WHEN 'temp_domain' THEN
        CREATE DOMAIN pg_temp.regress_sbx_shadow AS integer CHECK (regress_sbx.grab('temp domain'));
    WHEN 'temp_function' THEN
        CREATE FUNCTION pg_temp.regress_sbx_f() RETURNS boolean LANGUAGE sql AS 'SELECT regress_sbx.grab(''temp function'')';
    WHEN 'set_role' THEN SET ROLE postgres;
    WHEN 'reset_role' THEN RESET ROLE;
    WHEN 'session_authorization' THEN SET SESSION AUTHORIZATION postgres;
    WHEN 'set_config_role' THEN PERFORM set_config('role', 'postgres', false);
    WHEN 'secdef_deferred' THEN PERFORM regress_sbx.helper_deferred();
    WHEN 'secdef_set_role' THEN PERFORM regress_sbx.helper_set_role();
    WHEN 'secdef_config' THEN PERFORM regress_sbx.helper_config();
    WHEN 'nested' THEN RETURN convex_mutation('sbx:h', args -> 'inner');
    WHEN 'nested_config' THEN
        PERFORM convex_mutation('sbx:h', '{"do": "config"}');
        RETURN to_jsonb(coalesce(current_setting('regress_sbx.session', true), ''));
    WHEN 'whoami' THEN RETURN to_jsonb(current_user::text);
    WHEN 'cursor_fetch' THEN
        DECLARE c refcursor := 'regress_callers_cursor'; r record;
        BEGIN
            FETCH c INTO r;
            RETURN to_jsonb(r);
        END;
    WHEN 'cursor_sql_fetch' THEN EXECUTE 'FETCH regress_callers_cursor';
    WHEN 'cursor_replace' THEN
        DECLARE c refcursor := 'regress_callers_cursor';
        BEGIN
            CLOSE c;
            OPEN c FOR SELECT 'the handler''s row' AS what, regress_sbx.grab('replaced cursor') AS grabbed;
        END;
    WHEN 'cursor_leave' THEN
        DECLARE c refcursor := 'regress_sbx_left';
        BEGIN
            OPEN c FOR SELECT 'the handler''s row' AS what, regress_sbx.grab('left cursor') AS grabbed;
        END;
    END CASE;
    RETURN 'null';
END
$f$;
-- a handler with its own search_path
CREATE FUNCTION regress_sbx.h_own_path(args jsonb) RETURNS jsonb LANGUAGE plpgsql
SET search_path = regress_sbx, pg_catalog AS $f$
BEGIN
    PERFORM set_config('regress_sbx.own_path', 'leaked', false);
    PERFORM set_config('search_path', 'regress_sbx, pg_catalog', false);
    RETURN 'null';
END
$f$;
RESET ROLE;

SELECT convex_define_mutation('sbx:h', 'regress_sbx.h(jsonb)', '{"type": "any"}') \g /dev/null
SELECT convex_define_mutation('sbx:ownPath', 'regress_sbx.h_own_path(jsonb)', '{"type": "any"}') \g /dev/null

-- Did any of the attacker's code run as a superuser?
CREATE FUNCTION regress_cvx_tap.no_escalation(descr text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
BEGIN
    RETURN NEXT is((SELECT string_agg(what || ' as ' || who, ', ') FROM regress_sbx.log WHERE super),
                   NULL, descr || ': no code of the handler owner ran as a superuser');
    RETURN NEXT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_sbx_owner'), false,
                   descr || ': the handler owner is no superuser');
    ALTER ROLE regress_sbx_owner NOSUPERUSER;
    DELETE FROM regress_sbx.log;
END
$f$;

-- A job's state once it is no longer pending (10 s at most)
CREATE FUNCTION regress_cvx_tap.wait(job text) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '10 s';
    state jsonb;
BEGIN
    LOOP
        SELECT f.state INTO state FROM convex._scheduled_functions f WHERE f._id = job;
        IF state IS NULL OR state ->> 'kind' <> 'pending' OR clock_timestamp() > deadline THEN
            RETURN state;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$f$;

------------------------------------------------------------------------
-- 1. Deferred triggers, called directly by a superuser
------------------------------------------------------------------------

SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "deferred"}')$$,
    '42501', 'cannot fire deferred trigger within security-restricted operation',
    'a handler cannot queue a deferred trigger (called by a superuser)');
-- a statement of its own: were the trigger queued, it would fire at its commit
SELECT * FROM regress_cvx_tap.no_escalation('deferred trigger, direct call');

-- ... nor its SECURITY DEFINER helper, nor a nested call
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "secdef_deferred"}')$$,
    '42501', 'cannot fire deferred trigger within security-restricted operation',
    'a SECURITY DEFINER helper of a handler cannot queue a deferred trigger');
SELECT * FROM regress_cvx_tap.no_escalation('deferred trigger, SECURITY DEFINER helper');
SELECT regress_cvx_tap.throws_state_like(
    $$SELECT convex_mutation('sbx:h', '{"do": "nested", "inner": {"do": "deferred"}}')$$,
    '42501', 'cannot fire deferred trigger within security-restricted operation',
    'a nested call (ctx.runMutation) cannot queue a deferred trigger');
SELECT * FROM regress_cvx_tap.no_escalation('deferred trigger, nested call');

-- ... and SET CONSTRAINTS ALL IMMEDIATE in the caller's transaction finds nothing to fire
BEGIN;
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "deferred"}')$$,
    '42501', 'cannot fire deferred trigger within security-restricted operation',
    'in a transaction block, the same error');
SET CONSTRAINTS ALL IMMEDIATE;
COMMIT;
SELECT * FROM regress_cvx_tap.no_escalation('deferred trigger, SET CONSTRAINTS ALL IMMEDIATE after the call');

------------------------------------------------------------------------
-- 2. An immediate trigger runs as the handler's owner
------------------------------------------------------------------------

SELECT is(convex_mutation('sbx:h', '{"do": "immediate"}'), 'null'::jsonb, 'a handler may fire an immediate trigger');
SELECT is((SELECT string_agg(who, ',') FROM regress_sbx.log WHERE what = 'immediate'), 'regress_sbx_owner',
          '... which runs as the handler''s owner');
SELECT * FROM regress_cvx_tap.no_escalation('immediate trigger');
SELECT is(convex_mutation('sbx:h', '{"do": "whoami"}'), '"regress_sbx_owner"'::jsonb,
          'a handler called by a superuser runs as its owner');

------------------------------------------------------------------------
-- 3. Settings never outlive the call
------------------------------------------------------------------------

SELECT current_setting('search_path') AS caller_path \gset
SELECT convex_mutation('sbx:h', '{"do": "config"}') AS config_result \gset
-- what the call left behind, read before anything else runs (pg_catalog
-- qualified: a leaked search_path would put the attacker's schema first)
SELECT pg_catalog.current_setting('search_path') AS after_path,
       pg_catalog.concat('[', pg_catalog.current_setting('regress_sbx.session', true), ']') AS after_session,
       pg_catalog.concat('[', pg_catalog.current_setting('regress_sbx.set', true), ']') AS after_set,
       lower('ABC') AS after_lower \gset
SET search_path = :caller_path;
SELECT is(:'config_result'::text, '"leaked"', 'a handler''s set_config is in force during its call');
SELECT is(:'after_path'::text, :'caller_path',
          'set_config(''search_path'', ..., false) in a handler is not in force after the call');
SELECT is(:'after_session'::text, '[]', '... nor another set_config(..., false)');
SELECT is(:'after_set'::text, '[]', '... nor a SET');
SELECT is(:'after_lower'::text, 'abc', '... so the caller''s next unqualified lower() is pg_catalog''s');
SELECT * FROM regress_cvx_tap.no_escalation('search_path left behind by a handler');
RESET regress_sbx.session;
RESET regress_sbx.set;

-- the same in a transaction block, SET LOCAL and set_config(..., true) included
BEGIN;
SELECT convex_mutation('sbx:h', '{"do": "config"}') AS tx_result \gset
SELECT pg_catalog.concat('[', pg_catalog.current_setting('regress_sbx.local', true), ']') AS tx_local,
       pg_catalog.current_setting('search_path') AS tx_path \gset
COMMIT;
SELECT pg_catalog.concat('[', pg_catalog.current_setting('regress_sbx.session', true), ']') AS tx_session \gset
SET search_path = :caller_path;
SELECT is(:'tx_result'::text, '"leaked"', 'in a transaction block, the same call');
SELECT is(:'tx_local'::text, '[]', '... its set_config(..., true) is not in force after the call');
SELECT is(:'tx_path'::text, :'caller_path', '... nor its search_path');
SELECT is(:'tx_session'::text, '[]', '... nor, after COMMIT, its session setting');
RESET regress_sbx.session;
RESET regress_sbx.set;

-- a handler with its own SET search_path
SELECT convex_mutation('sbx:ownPath', '{}') AS own_result \gset
SELECT pg_catalog.concat('[', pg_catalog.current_setting('regress_sbx.own_path', true), ']') AS own_setting,
       pg_catalog.current_setting('search_path') AS own_path \gset
SET search_path = :caller_path;
SELECT is(:'own_result'::text, 'null', 'a handler with its own SET search_path');
SELECT is(:'own_setting'::text, '[]', '... leaves no setting behind');
SELECT is(:'own_path'::text, :'caller_path', '... nor its search_path');

-- a nested call, and a SECURITY DEFINER helper
SELECT convex_mutation('sbx:h', '{"do": "nested_config"}') AS nested_result \gset
SELECT pg_catalog.concat('[', pg_catalog.current_setting('regress_sbx.session', true), ']') AS nested_setting \gset
SET search_path = :caller_path;
SELECT is(:'nested_result'::text, '""', 'a nested call''s settings are not in force in its caller after it returns');
SELECT is(:'nested_setting'::text, '[]', '... nor after the outer call');
RESET regress_sbx.session;
RESET regress_sbx.set;
SELECT convex_mutation('sbx:h', '{"do": "secdef_config"}') AS helper_result \gset
SELECT pg_catalog.concat('[', pg_catalog.current_setting('regress_sbx.helper', true), ']') AS helper_setting \gset
SELECT is(:'helper_result'::text, 'null', 'a SECURITY DEFINER helper''s set_config');
SELECT is(:'helper_setting'::text, '[]', '... is not in force after the call');
RESET regress_sbx.helper;
SELECT * FROM regress_cvx_tap.no_escalation('settings');

------------------------------------------------------------------------
-- 4. Temp objects (the caller's session already has its temp schema)
------------------------------------------------------------------------

CREATE TEMP TABLE regress_caller_tmp (x integer);
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "temp_table"}')$$,
    '42501', 'cannot create temporary table within security-restricted operation',
    'a handler cannot create a temp table');
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "temp_view"}')$$,
    '42501', 'cannot create temporary table within security-restricted operation',
    'a handler cannot create a temp view');
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "temp_domain"}')$$,
    '42501', '%temporary%',
    'a handler cannot create a temp domain (it would shadow the caller''s type)');
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "temp_function"}')$$,
    '42501', 'a mutation cannot create temporary objects',
    'a handler cannot create a temp function');
SELECT is((SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relname LIKE 'regress_sbx%')
          + (SELECT count(*) FROM pg_type WHERE typnamespace = pg_my_temp_schema() AND typname LIKE 'regress_sbx%')
          + (SELECT count(*) FROM pg_proc WHERE pronamespace = pg_my_temp_schema()),
          0::bigint, 'no temp object of the handler owner is left in the caller''s session');
-- the caller's own type is its own
SELECT is(7::regress_sbx_shadow::integer, 7, 'the caller''s type regress_sbx_shadow is not shadowed');
SELECT * FROM regress_cvx_tap.no_escalation('temp objects');

------------------------------------------------------------------------
-- 5. Changing identity inside a handler
------------------------------------------------------------------------

SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "set_role"}')$$,
    '42501', 'cannot set parameter "role" within security-%', 'SET ROLE in a handler');
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "reset_role"}')$$,
    '42501', 'cannot set parameter "role" within security-%', 'RESET ROLE in a handler');
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "session_authorization"}')$$,
    '42501', 'cannot set parameter "session_authorization" within security-%',
    'SET SESSION AUTHORIZATION in a handler');
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "set_config_role"}')$$,
    '42501', 'cannot set parameter "role" within security-%', 'set_config(''role'', ...) in a handler');
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "secdef_set_role"}')$$,
    '42501', 'cannot set parameter "role" within security-%', 'SET ROLE in a SECURITY DEFINER helper of a handler');
SELECT is(current_user::text, 'postgres', 'the caller is still itself');
SELECT * FROM regress_cvx_tap.no_escalation('SET ROLE');

------------------------------------------------------------------------
-- 5b. Cursors: the caller's open cursor is out of a handler's reach, and a
--     handler's own cursors do not outlive its call
------------------------------------------------------------------------

BEGIN;
DECLARE regress_callers_cursor CURSOR FOR
    SELECT 'the caller''s row' AS what, true AS grabbed UNION ALL SELECT 'the caller''s 2nd row', true;
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "cursor_fetch"}')$$,
    '55000', 'portal "regress_callers_cursor" cannot be run',
    'a handler cannot FETCH from its caller''s open cursor (PL/pgSQL)');
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "cursor_sql_fetch"}')$$,
    '55000', 'portal "regress_callers_cursor" cannot be run',
    '... nor with SQL FETCH');
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_mutation('sbx:h', '{"do": "cursor_replace"}')$$,
    '24000', 'cannot drop active portal "regress_callers_cursor"',
    'a handler cannot close its caller''s cursor to open its own under the same name');
FETCH regress_callers_cursor \gset
SELECT is(convex_mutation('sbx:h', '{"do": "cursor_leave"}'), 'null'::jsonb, 'a handler may open a cursor');
SELECT is((SELECT count(*) FROM pg_cursors WHERE name = 'regress_sbx_left'), 0::bigint,
          '... which is closed when it returns');
COMMIT;
SELECT is(:'what'::text, 'the caller''s row', 'the caller''s cursor still gives the caller''s first row');
SELECT * FROM regress_cvx_tap.no_escalation('cursors');

------------------------------------------------------------------------
-- 6. Scheduled jobs: the worker, run_due, the pg_cron job's command
------------------------------------------------------------------------

SET ROLE regress_sbx_owner;
SELECT convex_scheduler_run_after(0, 'sbx:h', '{"do": "deferred"}') AS worker_job \gset
RESET ROLE;
SELECT is(regress_cvx_tap.wait(:'worker_job') ->> 'kind', 'failed',
          'the worker: a job whose handler queues a deferred trigger fails');
SELECT ok(regress_cvx_tap.wait(:'worker_job') ->> 'error' LIKE '%cannot fire deferred trigger within security-restricted operation%',
          '... with the 42501 error');
SELECT * FROM regress_cvx_tap.no_escalation('deferred trigger, background worker');

SET ROLE regress_sbx_owner;
SELECT convex_scheduler_run_after(0, 'sbx:h', '{"do": "nested", "inner": {"do": "deferred"}}') AS worker_nested \gset
RESET ROLE;
SELECT is(regress_cvx_tap.wait(:'worker_nested') ->> 'kind', 'failed',
          'the worker: the same from a nested call');
SELECT * FROM regress_cvx_tap.no_escalation('deferred trigger, nested call in a job of the worker');

SET ROLE regress_sbx_owner;
SELECT convex_scheduler_run_after(0, 'sbx:h', '{"do": "immediate"}') AS worker_immediate \gset
RESET ROLE;
SELECT is(regress_cvx_tap.wait(:'worker_immediate') ->> 'kind', 'success',
          'the worker: a job that fires an immediate trigger succeeds');
SELECT is((SELECT string_agg(who, ',') FROM regress_sbx.log WHERE what = 'immediate'), 'regress_sbx_owner',
          '... which ran as the handler''s owner');
SELECT * FROM regress_cvx_tap.no_escalation('immediate trigger, background worker');

-- run_due in this session (jobs scheduled in this open transaction are
-- invisible to the worker)
BEGIN;
SET LOCAL ROLE regress_sbx_owner;
SELECT convex_scheduler_run_after(0, 'sbx:h', '{"do": "deferred"}') AS due_job \gset
SELECT convex_scheduler_run_after(0, 'sbx:h', '{"do": "config"}') AS due_config \gset
RESET ROLE;
CALL convex_scheduler_run_due();
SELECT is((SELECT state ->> 'kind' FROM convex._scheduled_functions WHERE _id = :'due_job'), 'failed',
          'run_due: a job whose handler queues a deferred trigger fails');
SELECT ok((SELECT state ->> 'error' FROM convex._scheduled_functions WHERE _id = :'due_job')
          LIKE '%cannot fire deferred trigger within security-restricted operation%', '... with the 42501 error');
SELECT is((SELECT state ->> 'kind' FROM convex._scheduled_functions WHERE _id = :'due_config'), 'success',
          'run_due: a job that sets settings succeeds');
SELECT is(pg_catalog.current_setting('search_path'), :'caller_path', '... and its search_path is not in force in the caller');
COMMIT;
SET search_path = :caller_path;
SELECT * FROM regress_cvx_tap.no_escalation('deferred trigger, CALL convex_scheduler_run_due()');

-- the pg_cron job's own command (pg_cron runs it every minute as the role
-- that scheduled it); installed here for the test when it is missing
SELECT NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') AS cron_missing \gset
SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron')
       AND current_setting('cron.database_name', true) = current_database() AS cron_possible \gset
\if :cron_possible
\if :cron_missing
SET client_min_messages = warning;
CREATE EXTENSION pg_cron;
SELECT convex_schedule_jobs() \g /dev/null
RESET client_min_messages;
\endif
SELECT command AS cron_command, username AS cron_user FROM cron.job WHERE jobname = 'convexlite-scheduler-run-due' \gset
BEGIN;
SET LOCAL ROLE regress_sbx_owner;
SELECT convex_scheduler_run_after(0, 'sbx:h', '{"do": "deferred"}') AS cron_job \gset
SET LOCAL ROLE :cron_user;
:cron_command;
RESET ROLE;
SELECT is((SELECT state ->> 'kind' FROM convex._scheduled_functions WHERE _id = :'cron_job'), 'failed',
          'the pg_cron job ("' || :'cron_command' || '"): a job whose handler queues a deferred trigger fails');
COMMIT;
SELECT * FROM regress_cvx_tap.no_escalation('deferred trigger, the pg_cron job');
\if :cron_missing
SET client_min_messages = warning;
DROP EXTENSION pg_cron;
RESET client_min_messages;
\endif
\else
SELECT skip('pg_cron cannot run in this database', 3);
\endif

-- ordinary handlers still work: a direct call and a job
SELECT is(convex_mutation('sbx:h', '{"do": "whoami"}'), '"regress_sbx_owner"'::jsonb, 'an ordinary call still works');

SELECT * FROM finish();

-- Leave the database as the other files do: convexlite freshly installed.
SET client_min_messages = warning;
DROP EXTENSION convexlite CASCADE;
CREATE EXTENSION convexlite;
DROP SCHEMA regress_sbx CASCADE;
DROP SCHEMA regress_cvx_tap CASCADE;
DROP DOMAIN public.regress_sbx_shadow;
REVOKE ALL ON SCHEMA public FROM regress_sbx_owner;
DROP OWNED BY regress_sbx_owner;
DROP ROLE regress_sbx_owner;
RESET client_min_messages;
