-- test/pgtap/scheduler.sql: ctx.scheduler and the jobs it schedules (SPEC §7).
--
-- Covered:
--   * privileges: an ordinary role can neither call the scheduler's
--     functions nor read or write convex._scheduled_functions; a role
--     granted the scheduler but not the internal right schedules public
--     mutations only; a public mutation it calls may schedule an internal
--     one, and that job runs;
--   * each job runs once: the worker drains a batch (one run, one success
--     each), also while this session races it with convex_scheduler_run_due;
--   * convexlite.max_functions_scheduled: per outermost mutation call,
--     shared with nested calls, not counted outside a mutation, a fresh
--     budget for each job the scheduler runs;
--   * hostile arguments: huge, infinite, NaN, -0 and tiny times, NULLs,
--     malformed ids and ids of other tables for cancel, odd paths, args that
--     are no object, too large or too deep; none of them schedules anything;
--   * how jobs end: a ConvexError-style error, the time limit, a mutation
--     dropped (or whose handler was dropped, or whose validators changed)
--     before the job ran, a job that fails after scheduling another (that
--     one is rolled back with it), a chain of jobs that schedule jobs, a long
--     error message (kept to 4096 bytes, whole characters), serialization
--     failures (tried again, 5 attempts at most), a handler that raises
--     query_canceled itself;
--   * each call returns its own job's id, also two calls in one statement;
--   * auth is not passed on, and the session that ran a job with
--     convex_scheduler_run_due is still signed in afterwards;
--   * cancel and cleanup; convex_scheduler_run_due;
--   * DROP and CREATE EXTENSION while the worker is about to run a job.
--
-- Not tested here: NOTIFY payloads (test/scripts), crashes and restarts of
-- the worker (test/scripts/scheduler_crash.sh), several sessions cancelling
-- a running job.
--
-- The background worker runs only committed jobs, so unlike the other pgTAP
-- files this one cannot run inside one rolled-back transaction: it commits,
-- waits for jobs with wait() (every 50 ms, 10 s at most), and at the end
-- reinstalls convexlite and drops what it created.  Jobs scheduled inside an
-- open transaction are invisible to the worker, so a CALL
-- convex_scheduler_run_due in that transaction is sure to run them itself,
-- with this session's settings.
--
-- Run with pg_prove as a superuser against the database named by
-- convexlite.database_name (the test cluster's contrib_regression), where
-- convexlite can be (re)installed.

-- This file commits, so it must reach its cleanup at the end even when a
-- statement fails: an error fails that statement only (its tests are then
-- missing from the plan, which scripts/pgtap.sh counts as failed).
\set ON_ERROR_STOP 0
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
DROP SCHEMA IF EXISTS regress_cvx_tap CASCADE;
\ir lib/roles.sql
SELECT regress_cvx_tap.ensure_roles('', 'regress_sched_user', 'regress_sched_granted', 'regress_sched_internal') \g /dev/null

-- SQLSTATE and a LIKE pattern on the message, in one assertion.
\ir lib/throws_state_like.sql
RESET client_min_messages;

-- The scheduler's functions for a role granted them (not the internal right)
GRANT EXECUTE ON FUNCTION convex_scheduler_run_after(double precision, text, jsonb),
                          convex_scheduler_run_at(double precision, text, jsonb),
                          convex_scheduler_cancel(text)
   TO regress_sched_granted, regress_sched_internal;
-- ... and with it
GRANT EXECUTE ON FUNCTION convex_internal_mutation(text, jsonb) TO regress_sched_internal;

------------------------------------------------------------------------
-- Tables, handlers, helpers
------------------------------------------------------------------------

-- runs: one row per run of a handler that logs (a plain table: a failed
-- job's row goes with its other writes); tap_docs: a convexlite table
CREATE TABLE regress_cvx_tap.runs (n serial PRIMARY KEY, tag text NOT NULL, who text NOT NULL);
SELECT convex_define_table('tap_docs', '{"tag": {"fieldType": {"type": "string"}, "optional": false}}') \g /dev/null

-- tap:log {tag}: log a run, with the signed-in user (or "nobody")
CREATE FUNCTION regress_cvx_tap.h_log(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO regress_cvx_tap.runs (tag, who) VALUES (args ->> 'tag', coalesce(convex_auth_user_id(), 'nobody'));
    RETURN 'null';
END
$f$;
-- tap:fail {tag}: log, write a document, then fail
CREATE FUNCTION regress_cvx_tap.h_fail(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO regress_cvx_tap.runs (tag, who) VALUES (args ->> 'tag', 'fail');
    PERFORM convex_db_insert('tap_docs', jsonb_build_object('tag', args ->> 'tag'));
    RAISE EXCEPTION 'tap:fail gave up on %', args ->> 'tag';
END
$f$;
-- tap:convexError {tag}: write a document, then throw the seed's
-- ConvexError({code: "UNAUTHORIZED", ...}) as convexlite raises it
CREATE FUNCTION regress_cvx_tap.h_convex_error(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM convex_db_insert('tap_docs', jsonb_build_object('tag', args ->> 'tag'));
    RAISE EXCEPTION 'You must be logged in to update your profile'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = '{"code":"UNAUTHORIZED","message":"You must be logged in to update your profile"}';
END
$f$;
-- tap:sleep {sec, tag}: log, then sleep
CREATE FUNCTION regress_cvx_tap.h_sleep(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO regress_cvx_tap.runs (tag, who) VALUES (args ->> 'tag', 'sleep');
    PERFORM pg_sleep((args ->> 'sec')::float8);
    RETURN 'null';
END
$f$;
-- tap:many {n, tag}: schedule n tap:log jobs for the year 9999; returns n
CREATE FUNCTION regress_cvx_tap.h_many(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    FOR i IN 1 .. (args ->> 'n')::int LOOP
        PERFORM convex_scheduler_run_at(253402300800000, 'tap:log', jsonb_build_object('tag', args ->> 'tag'));
    END LOOP;
    RETURN args -> 'n';
END
$f$;
-- tap:nest {n, inner, tag}: schedule n, then ctx.runMutation(tap:many, {n: inner})
CREATE FUNCTION regress_cvx_tap.h_nest(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM convex_mutation('tap:many', jsonb_build_object('n', args -> 'n', 'tag', args -> 'tag'));
    RETURN convex_mutation('tap:many', jsonb_build_object('n', args -> 'inner', 'tag', args -> 'tag'));
END
$f$;
-- tap:chain {tag, n} (internal): log tag-n, then schedule itself with n - 1
CREATE FUNCTION regress_cvx_tap.h_chain(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO regress_cvx_tap.runs (tag, who) VALUES ((args ->> 'tag') || '-' || (args ->> 'n'), 'chain');
    IF (args ->> 'n')::int > 0 THEN
        PERFORM convex_scheduler_run_after(0, 'tap:chain',
            jsonb_build_object('tag', args -> 'tag', 'n', (args ->> 'n')::int - 1));
    END IF;
    RETURN 'null';
END
$f$;
-- tap:schedInternal {tag, fail?}: schedule internal tap:internalLog {tag};
-- returns the job's id, or fails after scheduling when fail is true
CREATE FUNCTION regress_cvx_tap.h_sched_internal(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
    job text := convex_scheduler_run_after(0, 'tap:internalLog', jsonb_build_object('tag', args -> 'tag'));
BEGIN
    IF (args ->> 'fail')::boolean THEN
        RAISE EXCEPTION 'tap:schedInternal changed its mind';
    END IF;
    RETURN to_jsonb(job);
END
$f$;
-- tap:runDue: CALL convex_scheduler_run_due from inside a mutation
CREATE FUNCTION regress_cvx_tap.h_run_due(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    CALL convex_scheduler_run_due(1);
    RETURN 'null';
END
$f$;
-- tap:raise {state, message}: raise an error with that SQLSTATE
CREATE FUNCTION regress_cvx_tap.h_raise(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    RAISE EXCEPTION USING ERRCODE = args ->> 'state', MESSAGE = args ->> 'message';
END
$f$;
-- tap:flaky {seq, failures, tag}: fail with a serialization failure
-- (40001) on the first `failures` attempts (counted by sequence seq, which
-- a rollback does not undo), then log
CREATE SEQUENCE regress_cvx_tap.flaky_a;
CREATE SEQUENCE regress_cvx_tap.flaky_b;
CREATE FUNCTION regress_cvx_tap.h_flaky(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
    attempt bigint := nextval(format('regress_cvx_tap.%I', args ->> 'seq'));
BEGIN
    IF attempt <= (args ->> 'failures')::int THEN
        RAISE EXCEPTION 'flaky attempt %', attempt USING ERRCODE = 'serialization_failure';
    END IF;
    INSERT INTO regress_cvx_tap.runs (tag, who) VALUES (args ->> 'tag', 'flaky');
    RETURN 'null';
END
$f$;
-- tap:returns {value}: return value (its returns validator is v.string())
CREATE FUNCTION regress_cvx_tap.h_returns(args jsonb) RETURNS jsonb LANGUAGE sql
    AS $f$ SELECT args -> 'value' $f$;
-- the handler of tap:handlerGone, dropped below
CREATE FUNCTION regress_cvx_tap.h_doomed(args jsonb) RETURNS jsonb LANGUAGE sql
    AS $f$ SELECT 'null'::jsonb $f$;

SELECT convex_define_mutation(path, handler, args, NULL, internal)
  FROM (VALUES ('tap:log', 'regress_cvx_tap.h_log(jsonb)'::regprocedure, '{"type": "any"}'::jsonb, false),
               ('tap:internalLog', 'regress_cvx_tap.h_log(jsonb)', '{"type": "any"}', true),
               ('tap:strict', 'regress_cvx_tap.h_log(jsonb)',
                '{"type": "object", "value": {"tag": {"fieldType": {"type": "string"}, "optional": false}}}', false),
               ('tap:dropped', 'regress_cvx_tap.h_log(jsonb)', '{"type": "any"}', false),
               ('tap:fail', 'regress_cvx_tap.h_fail(jsonb)', '{"type": "any"}', false),
               ('tap:convexError', 'regress_cvx_tap.h_convex_error(jsonb)', '{"type": "any"}', false),
               ('tap:sleep', 'regress_cvx_tap.h_sleep(jsonb)', '{"type": "any"}', false),
               ('tap:many', 'regress_cvx_tap.h_many(jsonb)', '{"type": "any"}', false),
               ('tap:nest', 'regress_cvx_tap.h_nest(jsonb)', '{"type": "any"}', false),
               ('tap:chain', 'regress_cvx_tap.h_chain(jsonb)', '{"type": "any"}', true),
               ('tap:schedInternal', 'regress_cvx_tap.h_sched_internal(jsonb)', '{"type": "any"}', false),
               ('tap:runDue', 'regress_cvx_tap.h_run_due(jsonb)', '{"type": "any"}', false),
               ('tap:raise', 'regress_cvx_tap.h_raise(jsonb)', '{"type": "any"}', false),
               ('tap:flaky', 'regress_cvx_tap.h_flaky(jsonb)', '{"type": "any"}', false),
               ('tap:handlerGone', 'regress_cvx_tap.h_doomed(jsonb)', '{"type": "any"}', false))
       AS m(path, handler, args, internal)
\g /dev/null
SELECT convex_define_mutation('tap:returns', 'regress_cvx_tap.h_returns(jsonb)', '{"type": "any"}', '{"type": "string"}') \g /dev/null

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
-- Wait until no job is due (10 s at most); true when none is
CREATE FUNCTION regress_cvx_tap.wait_idle() RETURNS boolean LANGUAGE plpgsql AS $f$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '10 s';
BEGIN
    WHILE EXISTS (SELECT 1 FROM convex._scheduled_functions
                   WHERE state ->> 'kind' = 'pending'
                     AND scheduled_time <= extract(epoch FROM clock_timestamp()) * 1000) LOOP
        IF clock_timestamp() > deadline THEN
            RETURN false;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN true;
END
$f$;
-- A job's state kind (NULL when there is no such job)
CREATE FUNCTION regress_cvx_tap.kind(job text) RETURNS text LANGUAGE sql
    AS $f$ SELECT state ->> 'kind' FROM convex._scheduled_functions WHERE _id = job $f$;
-- How often a tag was logged
CREATE FUNCTION regress_cvx_tap.runs_of(tag text) RETURNS int LANGUAGE sql
    AS $f$ SELECT count(*)::int FROM regress_cvx_tap.runs r WHERE r.tag = runs_of.tag $f$;
-- How many jobs carry this tag
CREATE FUNCTION regress_cvx_tap.jobs_of(tag text) RETURNS int LANGUAGE sql
    AS $f$ SELECT count(*)::int FROM convex._scheduled_functions f WHERE f.args -> 0 ->> 'tag' = jobs_of.tag $f$;
-- Run statement; 'ok' or "SQLSTATE: message" (query_canceled included,
-- which plpgsql's OTHERS does not catch)
CREATE FUNCTION regress_cvx_tap.outcome(statement text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION
    WHEN query_canceled THEN
        RETURN SQLSTATE || ': ' || SQLERRM;
    WHEN OTHERS THEN
        RETURN SQLSTATE || ': ' || SQLERRM;
END
$f$;
GRANT USAGE ON SCHEMA regress_cvx_tap TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA regress_cvx_tap TO PUBLIC;

\set far 253402300800000

SELECT plan(166);

------------------------------------------------------------------------
-- 1. Privileges
------------------------------------------------------------------------

SELECT ok(NOT has_function_privilege('regress_sched_user', f, 'EXECUTE'),
          format('an ordinary role has no EXECUTE on %s', f))
  FROM unnest(ARRAY['convex_scheduler_run_after(double precision, text, jsonb)',
                    'convex_scheduler_run_at(double precision, text, jsonb)',
                    'convex_scheduler_cancel(text)',
                    'convex_scheduler_run_due(integer)',
                    'convex_scheduler_cleanup(double precision)']) AS f;
SELECT ok(NOT has_table_privilege('regress_sched_user', 'convex._scheduled_functions', p),
          format('an ordinary role has no %s on convex._scheduled_functions', p))
  FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p;
SELECT is(ARRAY(SELECT proname || '=' || prosecdef FROM pg_proc
                 WHERE proname LIKE 'convex_scheduler_%' ORDER BY proname),
          ARRAY['convex_scheduler_cancel=false', 'convex_scheduler_cleanup=true',
                'convex_scheduler_run_after=false', 'convex_scheduler_run_at=false',
                'convex_scheduler_run_due=false'],
          'only the retention cleanup is SECURITY DEFINER; the scheduler runs with the caller''s rights, like ctx.db');

SET ROLE regress_sched_user;
SELECT throws_ok($$SELECT convex_scheduler_run_after(0, 'tap:log', '{"tag": "user"}')$$, '42501',
                 'permission denied for function convex_scheduler_run_after',
                 'an ordinary role cannot call convex_scheduler_run_after');
SELECT throws_ok($$SELECT convex_scheduler_run_at(0, 'tap:log', '{"tag": "user"}')$$, '42501',
                 'permission denied for function convex_scheduler_run_at',
                 'an ordinary role cannot call convex_scheduler_run_at');
SELECT throws_ok($$SELECT convex_scheduler_cancel('x')$$, '42501',
                 'permission denied for function convex_scheduler_cancel',
                 'an ordinary role cannot call convex_scheduler_cancel');
SELECT throws_ok($$CALL convex_scheduler_run_due()$$, '42501',
                 'permission denied for procedure convex_scheduler_run_due',
                 'an ordinary role cannot CALL convex_scheduler_run_due');
SELECT throws_ok($$SELECT convex_scheduler_cleanup(0)$$, '42501',
                 'permission denied for function convex_scheduler_cleanup',
                 'an ordinary role cannot call convex_scheduler_cleanup');
SELECT throws_ok($$SELECT * FROM convex._scheduled_functions$$, '42501',
                 'permission denied for table _scheduled_functions',
                 'an ordinary role cannot read convex._scheduled_functions');
SELECT throws_ok($$INSERT INTO convex._scheduled_functions VALUES ('x', 0, 'tap:log', '[{}]', 0, NULL, '{"kind": "pending"}')$$,
                 '42501', 'permission denied for table _scheduled_functions',
                 'an ordinary role cannot insert a job into convex._scheduled_functions');
SELECT throws_ok($$UPDATE convex._scheduled_functions SET state = '{"kind": "canceled"}'$$, '42501',
                 'permission denied for table _scheduled_functions',
                 'an ordinary role cannot change a job''s state');
SELECT throws_ok($$SELECT convex_db_get('_scheduled_functions', 'x')$$, '42501',
                 'permission denied for function convex_db_get',
                 'an ordinary role cannot read jobs through ctx.db either');
-- a public mutation she calls schedules an internal mutation: the job runs
SELECT convex_mutation('tap:schedInternal', '{"tag": "via-user"}') #>> '{}' AS via_user \gset
RESET ROLE;
SELECT is(regress_cvx_tap.wait(:'via_user') ->> 'kind', 'success',
          'an internal mutation scheduled by a public one (called by an ordinary role) runs');
SELECT is(regress_cvx_tap.runs_of('via-user'), 1, '... once');

SET ROLE regress_sched_granted;
SELECT throws_ok($$SELECT convex_scheduler_run_after(0, 'tap:internalLog', '{"tag": "granted-internal"}')$$, '42883',
                 'Could not find public function for ''tap:internalLog''.',
                 'a role granted the scheduler but not the internal right cannot schedule an internal mutation (as if it did not exist)');
SELECT throws_ok($$SELECT convex_scheduler_run_at(0, 'presence:cleanup', '{}')$$, '42883',
                 'Could not find public function for ''presence:cleanup''.',
                 '... nor the built-in internal presence:cleanup');
SELECT throws_ok($$SELECT convex_scheduler_run_after(0, 'tap:chain', '{"tag": "granted-chain", "n": 0}')$$, '42883',
                 'Could not find public function for ''tap:chain''.',
                 '... nor any other internal one');
SELECT convex_scheduler_run_after(0, 'tap:log', '{"tag": "granted-public"}') AS granted_public \gset
RESET ROLE;
SELECT is(regress_cvx_tap.wait(:'granted_public') ->> 'kind', 'success',
          'a role granted the scheduler schedules a public mutation, and it runs');
SET ROLE regress_sched_internal;
SELECT convex_scheduler_run_after(0, 'tap:internalLog', '{"tag": "internal-right"}') AS internal_right \gset
RESET ROLE;
SELECT is(regress_cvx_tap.wait(:'internal_right') ->> 'kind', 'success',
          'a role with the internal right (EXECUTE on convex_internal_mutation) schedules an internal mutation, and it runs');
SELECT is(regress_cvx_tap.runs_of('granted-internal') + regress_cvx_tap.jobs_of('granted-internal')
          + regress_cvx_tap.jobs_of('granted-chain'), 0,
          'the refused internal schedules left no job and no run');

------------------------------------------------------------------------
-- 2. Each job runs once
------------------------------------------------------------------------

SELECT count(convex_scheduler_run_after(0, 'tap:log', jsonb_build_object('tag', 'batch-' || g)))
  FROM generate_series(1, 20) AS g \g /dev/null
SELECT ok(regress_cvx_tap.wait_idle(), 'the worker drains a batch of 20 jobs');
SELECT is((SELECT count(*)::int FROM convex._scheduled_functions
            WHERE args -> 0 ->> 'tag' LIKE 'batch-%' AND state ->> 'kind' = 'success'), 20,
          'batch: 20 jobs, 20 successes');
SELECT is((SELECT count(*)::int FROM regress_cvx_tap.runs WHERE tag LIKE 'batch-%'), 20,
          'batch: 20 runs');
SELECT is_empty($$SELECT tag FROM regress_cvx_tap.runs WHERE tag LIKE 'batch-%' GROUP BY tag HAVING count(*) <> 1$$,
                'batch: each job ran exactly once');
SELECT ok((SELECT bool_and(completed_time >= scheduled_time) FROM convex._scheduled_functions
            WHERE args -> 0 ->> 'tag' LIKE 'batch-%'),
          'batch: every job completed at or after its scheduledTime');

-- this session races the worker for 30 jobs with convex_scheduler_run_due
SELECT count(convex_scheduler_run_after(0, 'tap:log', jsonb_build_object('tag', 'race-' || g)))
  FROM generate_series(1, 30) AS g \g /dev/null
CALL convex_scheduler_run_due(1000);
SELECT ok(regress_cvx_tap.wait_idle(), 'race: the 30 jobs are done (run by this session or the worker)');
SELECT is((SELECT count(*)::int FROM regress_cvx_tap.runs WHERE tag LIKE 'race-%'), 30,
          'race: 30 runs, no job run twice by the two runners');
SELECT is((SELECT count(*)::int FROM convex._scheduled_functions
            WHERE args -> 0 ->> 'tag' LIKE 'race-%' AND state ->> 'kind' = 'success'), 30,
          'race: 30 successes');

-- a job not yet due waits for its time
SELECT convex_scheduler_run_after(300, 'tap:log', '{"tag": "in-300-ms"}') AS in300 \gset
SELECT is(regress_cvx_tap.kind(:'in300'), 'pending', 'a job due in 300 ms is pending at first');
SELECT is(regress_cvx_tap.wait(:'in300') ->> 'kind', 'success', '... and runs');
SELECT ok((SELECT completed_time >= scheduled_time AND scheduled_time - _creation_time BETWEEN 250 AND 300
             FROM convex._scheduled_functions WHERE _id = :'in300'),
          '... not before its scheduledTime, 300 ms after it was scheduled');

------------------------------------------------------------------------
-- 3. convexlite.max_functions_scheduled
------------------------------------------------------------------------

SET convexlite.max_functions_scheduled = 3;
SELECT is(convex_mutation('tap:many', '{"n": 3, "tag": "lim-3"}'), '3'::jsonb,
          'functions scheduled: a mutation scheduling 3 passes at a limit of 3');
SELECT is(regress_cvx_tap.jobs_of('lim-3'), 3, '... and its 3 jobs are there');
SELECT throws_ok($$SELECT convex_mutation('tap:many', '{"n": 4, "tag": "lim-4"}')$$, '54000',
                 'Too many functions scheduled by this mutation (limit: 3)',
                 'functions scheduled: the 4th fails the mutation (54000, Convex''s wording)');
SELECT is(regress_cvx_tap.jobs_of('lim-4'), 0, '... and none of its jobs remain, the first 3 included');
SELECT throws_ok($$SELECT convex_mutation('tap:nest', '{"n": 2, "inner": 2, "tag": "lim-nest"}')$$, '54000',
                 'Too many functions scheduled by this mutation (limit: 3)',
                 'functions scheduled: 2 + 2 in two nested calls fail (one budget for the outermost call)');
SELECT is(regress_cvx_tap.jobs_of('lim-nest'), 0, '... and nothing is scheduled');
SELECT is(convex_mutation('tap:many', '{"n": 3, "tag": "lim-twice"}')::int
          + convex_mutation('tap:many', '{"n": 3, "tag": "lim-twice"}')::int, 6,
          'functions scheduled: two top-level calls in one statement each get a budget of 3');
SELECT is((SELECT count(convex_scheduler_run_at(:far, 'tap:log', '{"tag": "lim-outside"}'))::int
             FROM generate_series(1, 5)), 5,
          'functions scheduled: 5 calls outside a mutation pass at a limit of 3 (not counted)');
-- a job the scheduler runs is a mutation call with its own budget
BEGIN;
SELECT convex_scheduler_run_at(1, 'tap:many', '{"n": 3, "tag": "lim-job-3"}') AS job3 \gset
SELECT convex_scheduler_run_at(2, 'tap:many', '{"n": 4, "tag": "lim-job-4"}') AS job4 \gset
CALL convex_scheduler_run_due(2);
SELECT is(regress_cvx_tap.kind(:'job3') || '/' ||
          (SELECT count(*) FROM convex._scheduled_functions WHERE name = 'tap:log' AND args -> 0 ->> 'tag' = 'lim-job-3'),
          'success/3', 'functions scheduled: a job scheduling 3 succeeds at a limit of 3, its 3 jobs are there');
SELECT is(regress_cvx_tap.wait(:'job4'), '{"kind": "failed", "error": "Too many functions scheduled by this mutation (limit: 3)"}'::jsonb,
          'functions scheduled: a job scheduling 4 fails with the limit''s error');
SELECT is((SELECT count(*)::int FROM convex._scheduled_functions WHERE name = 'tap:log' AND args -> 0 ->> 'tag' = 'lim-job-4'), 0,
          '... and none of the jobs it scheduled remain');
COMMIT;
RESET convexlite.max_functions_scheduled;
SELECT is(convex_mutation('tap:many', '{"n": 4, "tag": "lim-default"}'), '4'::jsonb,
          'functions scheduled: back at the default (1000), 4 pass');
-- none of these far-future jobs is needed any more
SELECT count(convex_scheduler_cancel(_id)) FROM convex._scheduled_functions
 WHERE state ->> 'kind' = 'pending' AND scheduled_time = :far \g /dev/null

------------------------------------------------------------------------
-- 4. Hostile arguments
------------------------------------------------------------------------

SELECT count(*) AS jobs_before FROM convex._scheduled_functions \gset
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_scheduler_run_after(1e300, 'tap:log', '{"tag": "h"}')$$, '22023',
                         'the scheduled time is later than 10000-01-01T00:00:00Z',
                         'runAfter: a delay of 1e300 ms is refused (22023)');
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_scheduler_run_after(253402300800000, 'tap:log', '{"tag": "h"}')$$, '22023',
                         'the scheduled time is later than 10000-01-01T00:00:00Z',
                         'runAfter: a delay that ends after the year 9999 is refused');
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_scheduler_run_at(253402300800000.5, 'tap:log', '{"tag": "h"}')$$, '22023',
                         'the scheduled time is later than 10000-01-01T00:00:00Z',
                         'runAt: half a millisecond after the year 9999 is refused');
SELECT throws_ok($$SELECT convex_scheduler_run_at(1.7976931348623157e308, 'tap:log', '{"tag": "h"}')$$, '22023', NULL,
                 'runAt: the largest float8 is refused');
SELECT throws_ok(format('SELECT convex_scheduler_run_after(%L, %L, %L)', v, 'tap:log', '{"tag": "h"}'), '22023',
                 '`delayMs` must be a finite number', format('runAfter: a delay of %s is refused', v))
  FROM unnest(ARRAY['Infinity', '-Infinity', 'NaN']) AS v;
SELECT throws_ok(format('SELECT convex_scheduler_run_at(%L, %L, %L)', v, 'tap:log', '{"tag": "h"}'), '22023',
                 '`timestamp` must be a finite number', format('runAt: a timestamp of %s is refused', v))
  FROM unnest(ARRAY['Infinity', '-Infinity', 'NaN']) AS v;
SELECT throws_ok($$SELECT convex_scheduler_run_after(-1e-300, 'tap:log', '{"tag": "h"}')$$, '22023',
                 '`delayMs` must be non-negative', 'runAfter: the smallest negative delay is refused');
SELECT throws_ok($$SELECT convex_scheduler_run_at(-1, 'tap:log', '{"tag": "h"}')$$, '22023',
                 '`timestamp` must be non-negative', 'runAt: a negative timestamp is refused');
SELECT throws_ok(format('SELECT convex_scheduler_run_after(%s, %L, %L)', d, p, a), '22004', m,
                 format('runAfter: NULL %s is refused (22004)', w))
  FROM (VALUES ('NULL', 'tap:log', '{"tag": "h"}', 'delayMs must not be NULL', 'delayMs'),
               ('0', NULL, '{"tag": "h"}', 'path must not be NULL', 'path'),
               ('0', 'tap:log', NULL, 'args must be a JSON object, not NULL', 'args')) AS t(d, p, a, m, w);
SELECT throws_ok($$SELECT convex_scheduler_run_at(NULL, 'tap:log', '{"tag": "h"}')$$, '22004',
                 'timestamp must not be NULL', 'runAt: a NULL timestamp is refused (22004)');
-- odd paths: refused as paths (22023), or as unknown functions (42883)
SELECT regress_cvx_tap.throws_state_like(format('SELECT convex_scheduler_run_after(0, %L, %L)', p, '{"tag": "h"}'), s, m,
                         format('runAfter: path %s is refused (%s)',
                                CASE WHEN length(p) > 40 THEN format('of %s bytes', octet_length(p))
                                     ELSE replace(quote_literal(p), E'\n', '\n') END, s))
  FROM (VALUES (E'tap:log\n', '22023', 'invalid function path %: the function name may only contain letters, digits and ''_'''),
               ('tap:log; DROP TABLE convex.users', '22023', 'invalid function path %'),
               (' tap:log', '22023', 'invalid function path " tap:log": the module name has the character '' '' where it is not allowed'),
               ('../etc:passwd', '22023', 'invalid function path "../etc:passwd": %'),
               ('é:x', '22023', 'invalid function path "é:x": the module name has the character ''é'' where it is not allowed'),
               (repeat('m', 300) || ':f', '22023', 'invalid function path %: it is longer than 255 bytes'),
               ('tap:', '22023', 'invalid function path "tap:": the function name is empty'),
               ('TAP:LOG', '42883', 'Could not find public function for ''TAP:LOG''.'),
               ('tap:log2', '42883', 'Could not find public function for ''tap:log2''.')) AS t(p, s, m);
SELECT ok(to_regclass('convex.users') IS NOT NULL, 'the path ''tap:log; DROP TABLE convex.users'' dropped nothing');
-- args that are no object, too large, too deep, or not Convex values
SELECT throws_ok(format('SELECT convex_scheduler_run_after(0, %L, %L)', 'tap:log', a), '22023',
                 'ArgumentValidationError: the arguments of tap:log must be a JSON object',
                 format('runAfter: args %s are refused', a))
  FROM unnest(ARRAY['[]', '[{"tag": "h"}]', '"h"', 'null', '1', 'true']) AS a;
SELECT throws_ok($$SELECT convex_scheduler_run_after(0, 'tap:log', jsonb_build_object('tag', repeat('a', 9 * 1024 * 1024)))$$,
                 '54000', 'Arguments for tap:log are too large (actual: 9 MiB, limit: 8 MiB)',
                 'runAfter: args of 9 MiB are refused (54000)');
SELECT throws_ok(format('SELECT convex_scheduler_run_after(0, %L, %L)', 'tap:log',
                        '{"tag": ' || repeat('[', 70) || repeat(']', 70) || '}'),
                 '54000', 'Invalid arguments for tap:log: Value is too nested (nested 65 levels deep > maximum nesting 64)',
                 'runAfter: args nested too deep are refused (54000)');
SELECT throws_ok($$SELECT convex_scheduler_run_after(0, 'tap:log', '{"$tag": "h"}')$$, '22023',
                 'Invalid arguments for tap:log: Field name $tag starts with ''$'', which is reserved.',
                 'runAfter: a field name starting with $ is refused');
SELECT regress_cvx_tap.throws_state_like($$SELECT convex_scheduler_run_after(0, 'tap:strict', '{"tag": 1}')$$, '22023',
                         'ArgumentValidationError: Value does not match validator.%',
                         'runAfter: args failing the mutation''s validator are refused');
-- cancel's id
SELECT convex_scheduler_run_at(:far, 'tap:log', '{"tag": "cancel-target"}') AS target \gset
SELECT convex_db_insert('tap_docs', '{"tag": "not a job"}') AS doc \gset
SELECT throws_ok($$SELECT convex_scheduler_cancel(NULL)$$, '22004', 'id must not be NULL',
                 'cancel: a NULL id is refused (22004)');
SELECT throws_ok(format('SELECT convex_scheduler_cancel(%L)', i), '22023',
                 'Invalid argument `id` for `scheduler.cancel`: Unable to decode ID: ' || why,
                 format('cancel: %s is refused (22023)', what))
  FROM (VALUES ('', 'invalid length', 'the empty string'),
               ('abc', 'invalid length', 'a short string'),
               (repeat('z', 100000), 'invalid length', 'a 100000-character string'),
               (upper(:'target'), 'invalid character', 'an id in upper case'),
               (:'target' || ' ', 'invalid character', 'an id with a trailing space'),
               (overlay(:'target' placing CASE WHEN substr(:'target', 15, 1) = '0' THEN '1' ELSE '0' END from 15 for 1),
                'invalid checksum', 'an id with one character changed')) AS t(i, why, what);
SELECT regress_cvx_tap.throws_state_like(format('SELECT convex_scheduler_cancel(%L)', :'doc'), '22023',
                         'Invalid argument `id` for `scheduler.cancel`: ID "%" is from table "tap_docs", not "_scheduled_functions"',
                         'cancel: an id of another table is refused (22023)');
SELECT is(regress_cvx_tap.kind(:'target'), 'pending', 'cancel: the refused cancels left the job pending');
SELECT is((SELECT count(*)::int FROM convex._scheduled_functions), :jobs_before + 1,
          'none of the refused calls scheduled anything');
-- a well-formed id of a job that was never committed
BEGIN;
SELECT convex_scheduler_run_at(:far, 'tap:log', '{"tag": "never-committed"}') AS ghost \gset
ROLLBACK;
SELECT lives_ok(format('SELECT convex_scheduler_cancel(%L)', :'ghost'),
                'cancel: a well-formed id of no job is not an error (a no-op)');
-- tiny and negative-zero times are fine
SELECT convex_scheduler_run_after('-0', 'tap:log', '{"tag": "minus-zero"}') AS minus_zero \gset
SELECT convex_scheduler_run_at(1e-300, 'tap:log', '{"tag": "tiny"}') AS tiny \gset
SELECT is(regress_cvx_tap.wait(:'minus_zero') ->> 'kind', 'success', 'runAfter: a delay of -0 is accepted (and the job runs)');
SELECT is(regress_cvx_tap.wait(:'tiny') ->> 'kind', 'success', 'runAt: a timestamp of 1e-300 is accepted (and the job runs at once)');

------------------------------------------------------------------------
-- 5. How jobs end
------------------------------------------------------------------------

-- a ConvexError-style error: failed with its message; its write is undone
SELECT convex_scheduler_run_after(0, 'tap:convexError', '{"tag": "convex-error"}') AS convex_error \gset
SELECT is(regress_cvx_tap.wait(:'convex_error'),
          '{"kind": "failed", "error": "You must be logged in to update your profile"}'::jsonb,
          'a job that throws a ConvexError fails with its message');
SELECT is((SELECT count(*)::int FROM convex.tap_docs WHERE tag = 'convex-error'), 0,
          '... and its write is rolled back');
SELECT convex_scheduler_run_after(0, 'tap:fail', '{"tag": "plain-error"}') AS plain_error \gset
SELECT is(regress_cvx_tap.wait(:'plain_error'), '{"kind": "failed", "error": "tap:fail gave up on plain-error"}'::jsonb,
          'a job that raises fails with the message');
SELECT is(regress_cvx_tap.runs_of('plain-error') + (SELECT count(*)::int FROM convex.tap_docs WHERE tag = 'plain-error'), 0,
          '... and all its writes are rolled back');

-- the time limit, in the worker (at the server's convexlite.mutation_timeout) ...
SELECT convex_scheduler_run_after(0, 'tap:sleep', jsonb_build_object('tag', 'slow-worker',
           'sec', (SELECT setting::int FROM pg_settings WHERE name = 'convexlite.mutation_timeout') / 1000.0 + 1)) AS slow \gset
SELECT is(regress_cvx_tap.wait(:'slow') ->> 'error',
          format('Function execution timed out (maximum duration: %s)', current_setting('convexlite.mutation_timeout')),
          'a job running past convexlite.mutation_timeout fails with the time limit''s error (worker)');
SELECT is(regress_cvx_tap.runs_of('slow-worker'), 0, '... and its write is rolled back');
-- ... and in run_due, at this session's setting
BEGIN;
SET LOCAL convexlite.mutation_timeout = '100ms';
SELECT convex_scheduler_run_at(0, 'tap:sleep', '{"tag": "slow-run-due", "sec": 5}') AS slow \gset
CALL convex_scheduler_run_due(1);
SELECT is(regress_cvx_tap.kind(:'slow') || ': ' || (SELECT state ->> 'error' FROM convex._scheduled_functions WHERE _id = :'slow'),
          'failed: Function execution timed out (maximum duration: 100ms)',
          'a job running past convexlite.mutation_timeout fails with the time limit''s error (run_due)');
COMMIT;

-- the mutation was dropped, its handler dropped, or its validators changed
-- after the job was scheduled
BEGIN;
SELECT convex_scheduler_run_after(0, 'tap:dropped', '{"tag": "dropped"}') AS dropped \gset
SELECT convex_drop_mutation('tap:dropped') \g /dev/null
SELECT convex_scheduler_run_after(0, 'tap:handlerGone', '{}') AS handler_gone \gset
DROP FUNCTION regress_cvx_tap.h_doomed(jsonb);
SELECT convex_scheduler_run_after(0, 'tap:strict', '{"tag": "strict"}') AS strict \gset
SELECT convex_define_mutation('tap:strict', 'regress_cvx_tap.h_log(jsonb)',
  '{"type": "object", "value": {"n": {"fieldType": {"type": "number"}, "optional": false}}}') \g /dev/null
SELECT convex_scheduler_run_after(0, 'tap:returns', '{"value": 42}') AS bad_return \gset
COMMIT;
SELECT is(regress_cvx_tap.wait(:'dropped'), '{"kind": "failed", "error": "Could not find public function for ''tap:dropped''."}'::jsonb,
          'a job whose mutation was dropped before it ran fails');
SELECT is(regress_cvx_tap.runs_of('dropped'), 0, '... and did not run');
SELECT is(regress_cvx_tap.wait(:'handler_gone') ->> 'error', 'the handler of mutation "tap:handlerGone" no longer exists',
          'a job whose handler function was dropped fails');
SELECT alike(regress_cvx_tap.wait(:'strict') ->> 'error', 'ArgumentValidationError: Object is missing the required field `n`.%',
            'a job whose args no longer pass the mutation''s validator fails (checked again when it runs)');
SELECT is(regress_cvx_tap.runs_of('strict'), 0, '... and did not run');
SELECT alike(regress_cvx_tap.wait(:'bad_return') ->> 'error', 'ReturnsValidationError:%',
            'a job whose return value fails its returns validator fails');

-- a job that fails after scheduling another: that job is rolled back too
SELECT convex_scheduler_run_after(0, 'tap:schedInternal', '{"tag": "orphan", "fail": true}') AS orphan_parent \gset
SELECT is(regress_cvx_tap.wait(:'orphan_parent') ->> 'kind', 'failed', 'a job that fails after scheduling another fails');
SELECT is((SELECT count(*)::int FROM convex._scheduled_functions WHERE name = 'tap:internalLog' AND args -> 0 ->> 'tag' = 'orphan'), 0,
          '... and the job it scheduled is gone with its other writes');

-- a chain: each job schedules the next
SELECT convex_scheduler_run_after(0, 'tap:chain', '{"tag": "chain", "n": 3}') AS chain \gset
SELECT ok(regress_cvx_tap.wait_idle(), 'a chain of 4 jobs, each scheduling the next, runs to its end');
SELECT is(ARRAY(SELECT tag FROM regress_cvx_tap.runs WHERE tag LIKE 'chain-%' ORDER BY n),
          ARRAY['chain-3', 'chain-2', 'chain-1', 'chain-0'], '... each link once, in order');
SELECT is((SELECT count(*)::int FROM convex._scheduled_functions WHERE name = 'tap:chain' AND state ->> 'kind' = 'success'), 4,
          '... four successful jobs');

-- conflicts (40001, 40P01) are retried, as Convex retries a scheduled
-- mutation on transient errors; at most 5 attempts
SELECT convex_scheduler_run_after(0, 'tap:flaky', '{"seq": "flaky_a", "failures": 2, "tag": "flaky-a"}') AS flaky_a \gset
SELECT convex_scheduler_run_after(0, 'tap:flaky', '{"seq": "flaky_b", "failures": 100, "tag": "flaky-b"}') AS flaky_b \gset
SELECT is(regress_cvx_tap.wait(:'flaky_a') ->> 'kind', 'success',
          'a job failing twice with a serialization failure is tried again and succeeds');
SELECT is((SELECT last_value FROM regress_cvx_tap.flaky_a) || ' attempts, ' || regress_cvx_tap.runs_of('flaky-a') || ' run',
          '3 attempts, 1 run', '... on its 3rd attempt, and its writes are those of that one attempt');
SELECT is(regress_cvx_tap.wait(:'flaky_b'), '{"kind": "failed", "error": "flaky attempt 5"}'::jsonb,
          'a job that keeps failing with serialization failures fails after 5 attempts, with the last error');
SELECT is((SELECT last_value FROM regress_cvx_tap.flaky_b), 5::bigint, '... tried exactly 5 times');

-- a failing job does not hold up the next
SELECT convex_scheduler_run_after(0, 'tap:fail', '{"tag": "first-fails"}') AS first_fails \gset
SELECT convex_scheduler_run_after(0, 'tap:log', '{"tag": "then-runs"}') AS then_runs \gset
SELECT is(regress_cvx_tap.wait(:'first_fails') ->> 'kind' || '/' || (regress_cvx_tap.wait(:'then_runs') ->> 'kind'),
          'failed/success', 'a failed job does not hold up the next one');

-- a long error message is kept to 4096 bytes, never cut inside a character
BEGIN;
SELECT convex_scheduler_run_at(0, 'tap:raise', jsonb_build_object('state', 'P0001', 'message', repeat('é', 3000))) AS long_error \gset
CALL convex_scheduler_run_due(1);
SELECT octet_length(state ->> 'error') || ' bytes, ' || length(state ->> 'error') || ' characters' AS long_error_kept
  FROM convex._scheduled_functions WHERE _id = :'long_error' \gset
ROLLBACK;
SELECT is(:'long_error_kept'::text, '4096 bytes, 2048 characters',
          'a 6000-byte error message is kept as its first 4096 bytes, whole characters');

-- a mutation cannot run the scheduler's jobs itself, a job neither
SELECT throws_ok($$SELECT convex_mutation('tap:runDue', '{}')$$, '25000',
                 'scheduled functions cannot be run from inside a mutation',
                 'run_due from inside a mutation is refused (25000)');
SELECT convex_scheduler_run_after(0, 'tap:runDue', '{}') AS run_due_job \gset
SELECT is(regress_cvx_tap.wait(:'run_due_job'),
          '{"kind": "failed", "error": "scheduled functions cannot be run from inside a mutation"}'::jsonb,
          '... also from a job');

-- a job that raises query_canceled (57014) itself, as a handler may
-- (RAISE, or a cancel it provokes), is the job's failure like any other:
-- recorded, never raised again.  run_due cannot tell it from Ctrl-C, so
-- the CALL ends there; the next CALL runs the next job.  (Shown with
-- run_due in a transaction that is rolled back: committed, such a job
-- would reach the worker.)
BEGIN;
SELECT convex_scheduler_run_at(1, 'tap:raise', '{"state": "57014", "message": "canceled by the handler"}') AS self_cancel \gset
SELECT convex_scheduler_run_at(2, 'tap:log', '{"tag": "after-self-cancel"}') AS after_self_cancel \gset
SELECT regress_cvx_tap.outcome('CALL convex_scheduler_run_due(10)') AS self_cancel_outcome,
       regress_cvx_tap.kind(:'self_cancel') AS self_cancel_kind,
       regress_cvx_tap.kind(:'after_self_cancel') AS after_self_cancel_kind \gset
SELECT regress_cvx_tap.outcome('CALL convex_scheduler_run_due(10)') AS second_call_outcome,
       regress_cvx_tap.kind(:'after_self_cancel') AS after_second_call_kind \gset
ROLLBACK;
SELECT is(:'self_cancel_outcome'::text, 'ok', 'run_due: a job raising query_canceled does not fail the CALL');
SELECT is(:'self_cancel_kind'::text, 'failed', '... the job is recorded as failed');
SELECT is(:'after_self_cancel_kind' || '/' || :'second_call_outcome' || '/' || :'after_second_call_kind',
          'pending/ok/success', '... the CALL ends there (as on Ctrl-C), and the next CALL runs the next job');

-- two jobs scheduled in one statement: each call returns its own job's id
SELECT convex_scheduler_run_at(:far, 'tap:log', '{"tag": "twin-1"}') AS twin1,
       convex_scheduler_run_at(:far, 'tap:log', '{"tag": "twin-2"}') AS twin2 \gset
SELECT isnt(:'twin1'::text, :'twin2'::text, 'two jobs scheduled in one statement get two ids');
SELECT is((SELECT args -> 0 ->> 'tag' FROM convex._scheduled_functions WHERE _id = :'twin1'), 'twin-1',
          '... the first call''s id names the first job');

------------------------------------------------------------------------
-- 6. Auth is not passed on
------------------------------------------------------------------------

SELECT convex_db_insert('users', '{"name": "Signed In"}') AS signed \gset
SET convexlite.user_id = :'signed';
SELECT convex_scheduler_run_after(0, 'tap:log', '{"tag": "who-worker"}') AS who_worker \gset
SELECT convex_scheduler_run_after(0, 'users:updateProfile', '{"name": "Hijacked"}') AS profile \gset
SELECT is(regress_cvx_tap.wait(:'who_worker') ->> 'kind', 'success', 'auth: a job scheduled by a signed-in user runs');
SELECT is((SELECT who FROM regress_cvx_tap.runs WHERE tag = 'who-worker'), 'nobody', '... with nobody signed in');
-- (a ConvexError is recorded with its data: docs/identity-and-errors.md)
SELECT is(regress_cvx_tap.wait(:'profile'), jsonb_build_object('kind', 'failed', 'error',
          E'ConvexError: You must be logged in to update your profile\n{"code":"UNAUTHORIZED","message":"You must be logged in to update your profile"}'),
          'auth: a scheduled users:updateProfile fails: nobody is signed in');
SELECT is((SELECT name FROM convex.users WHERE _id = :'signed'), 'Signed In', '... and the profile is unchanged');
SELECT ok(regress_cvx_tap.wait_idle(), 'no job is due');
BEGIN;
SELECT convex_scheduler_run_at(1, 'tap:log', '{"tag": "who-run-due"}') AS who_run_due \gset
SELECT convex_scheduler_run_at(2, 'tap:fail', '{"tag": "who-run-due-fails"}') AS who_fails \gset
CALL convex_scheduler_run_due(2);
SELECT is((SELECT who FROM regress_cvx_tap.runs WHERE tag = 'who-run-due'), 'nobody',
          'auth: a job run by run_due in a signed-in session sees nobody signed in');
SELECT is(regress_cvx_tap.kind(:'who_fails'), 'failed', '... (the second job failed)');
SELECT is(convex_auth_user_id(), :'signed', '... and afterwards, a failed job included, the session is signed in again');
COMMIT;
RESET convexlite.user_id;

------------------------------------------------------------------------
-- 7. Cancel and cleanup
------------------------------------------------------------------------

SELECT convex_scheduler_run_after(60000, 'tap:log', '{"tag": "cancel-me"}') AS cancel_me \gset
SELECT lives_ok(format('SELECT convex_scheduler_cancel(%L)', :'cancel_me'), 'cancel: a pending job');
SELECT is(convex_db_get('_scheduled_functions', :'cancel_me') -> 'state', '{"kind": "canceled"}'::jsonb,
          '... is canceled');
SELECT ok(convex_db_get('_scheduled_functions', :'cancel_me') ? 'completedTime', '... with a completedTime');
SELECT completed_time AS cancel_me_completed FROM convex._scheduled_functions WHERE _id = :'cancel_me' \gset
SELECT convex_scheduler_cancel(:'cancel_me') \g /dev/null
SELECT is((SELECT state ->> 'kind' || '/' || (completed_time = :cancel_me_completed)
             FROM convex._scheduled_functions WHERE _id = :'cancel_me'),
          'canceled/true', 'cancel: cancelling again changes nothing');
SELECT convex_scheduler_cancel(:'who_worker') \g /dev/null
SELECT convex_scheduler_cancel(:'plain_error') \g /dev/null
SELECT is(regress_cvx_tap.kind(:'who_worker') || '/' || regress_cvx_tap.kind(:'plain_error'), 'success/failed',
          'cancel: a finished job (success or failed) is left as it is');
BEGIN;
SELECT convex_scheduler_run_after(0, 'tap:log', '{"tag": "canceled-at-once"}') AS canceled_at_once \gset
SELECT convex_scheduler_cancel(:'canceled_at_once') \g /dev/null
COMMIT;
SELECT convex_scheduler_run_after(0, 'tap:log', '{"tag": "sentinel"}') AS sentinel \gset
SELECT is(regress_cvx_tap.wait(:'sentinel') ->> 'kind', 'success', 'a job scheduled after a canceled one runs');
SELECT is(regress_cvx_tap.kind(:'canceled_at_once') || '/' || regress_cvx_tap.runs_of('canceled-at-once'), 'canceled/0',
          'cancel: a job canceled before it was due never runs');

SELECT ok(regress_cvx_tap.wait_idle(), 'no job is due before the cleanup');
SELECT pg_sleep(0.01) \g /dev/null
SELECT count(*) AS finished FROM convex._scheduled_functions WHERE state ->> 'kind' <> 'pending' \gset
SELECT count(*) AS pending FROM convex._scheduled_functions WHERE state ->> 'kind' = 'pending' \gset
SELECT is(convex_scheduler_cleanup(), 0, 'cleanup: nothing finished 7 days ago');
SELECT is(convex_scheduler_cleanup(0), :finished::int, 'cleanup(0): every finished job goes');
SELECT is((SELECT count(*)::int FROM convex._scheduled_functions WHERE state ->> 'kind' = 'pending'), :pending::int,
          'cleanup: the pending jobs stay');
SELECT is((SELECT count(*)::int FROM convex._scheduled_functions WHERE state ->> 'kind' <> 'pending'), 0,
          'cleanup: no finished job is left');
SELECT lives_ok(format('SELECT convex_scheduler_cancel(%L)', :'cancel_me'), 'cancel: a job the cleanup removed is a no-op');

------------------------------------------------------------------------
-- 8. convex_scheduler_run_due
------------------------------------------------------------------------

SELECT throws_ok('CALL convex_scheduler_run_due(NULL)', '22004', 'max_jobs must not be NULL', 'run_due: NULL max_jobs is refused');
SELECT throws_ok('CALL convex_scheduler_run_due(-1)', '22023', 'max_jobs must not be negative', 'run_due: a negative max_jobs is refused');
SELECT ok(regress_cvx_tap.wait_idle(), 'no job is due');
BEGIN;
SELECT convex_scheduler_run_at(1, 'tap:log', '{"tag": "due-1"}') AS due1 \gset
SELECT convex_scheduler_run_at(2, 'tap:log', '{"tag": "due-2"}') AS due2 \gset
SELECT convex_scheduler_run_after(3600000, 'tap:log', '{"tag": "due-later"}') AS due_later \gset
CALL convex_scheduler_run_due(0);
SELECT is(regress_cvx_tap.kind(:'due1') || '/' || regress_cvx_tap.kind(:'due2'), 'pending/pending',
          'run_due(0) runs nothing');
CALL convex_scheduler_run_due(1);
SELECT is(regress_cvx_tap.kind(:'due1') || '/' || regress_cvx_tap.kind(:'due2'), 'success/pending',
          'run_due(1) runs one job, the earliest due');
CALL convex_scheduler_run_due(10);
SELECT is(regress_cvx_tap.kind(:'due2') || '/' || regress_cvx_tap.kind(:'due_later'), 'success/pending',
          'run_due runs every due job, not one due in an hour');
COMMIT;

------------------------------------------------------------------------
-- 8b. What a job may not leave behind: its settings, a deferred failure;
--     and run_due only at READ COMMITTED
------------------------------------------------------------------------

-- A job's settings never reach the next job: a handler that SETs
-- default_transaction_read_only would otherwise stop the worker for good
CREATE FUNCTION regress_cvx_tap.h_read_only(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM set_config('default_transaction_read_only', 'on', false);
    PERFORM set_config('lock_timeout', '1ms', false);
    INSERT INTO regress_cvx_tap.runs (tag, who) VALUES (args ->> 'tag', 'read_only');
    RETURN 'null';
END
$f$;
SELECT convex_define_mutation('tap:readOnly', 'regress_cvx_tap.h_read_only(jsonb)', '{"type": "any"}') \g /dev/null
SELECT convex_scheduler_run_after(0, 'tap:readOnly', '{"tag": "sets-read-only"}') AS sets_read_only \gset
SELECT convex_scheduler_run_after(0, 'tap:log', '{"tag": "after-read-only"}') AS after_read_only \gset
SELECT is(regress_cvx_tap.wait(:'sets_read_only') ->> 'kind' || '/' ||
          (regress_cvx_tap.wait(:'after_read_only') ->> 'kind'), 'success/success',
          'a job that SETs default_transaction_read_only and lock_timeout does not change the jobs after it');

-- A deferred constraint trigger queued by a job's handler is the job's
-- failure, not its commit's (which would leave it pending forever).  Since
-- 0.3.0 handlers run sandboxed (test/pgtap/sandbox.sql): a deferred trigger
-- would fire after the handler returned, as another role, so PostgreSQL
-- refuses to queue it (42501) and that is the failure the job records.
CREATE TABLE regress_cvx_tap.deferred_check (tag text);
CREATE FUNCTION regress_cvx_tap.t_refuse() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    RAISE EXCEPTION 'refused at commit';
END
$f$;
CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON regress_cvx_tap.deferred_check
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION regress_cvx_tap.t_refuse();
CREATE FUNCTION regress_cvx_tap.h_deferred(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO regress_cvx_tap.deferred_check VALUES (args ->> 'tag');
    RETURN 'null';
END
$f$;
SELECT convex_define_mutation('tap:deferred', 'regress_cvx_tap.h_deferred(jsonb)', '{"type": "any"}') \g /dev/null
SELECT convex_scheduler_run_after(0, 'tap:deferred', '{"tag": "deferred"}') AS deferred_job \gset
SELECT convex_scheduler_run_after(0, 'tap:log', '{"tag": "after-deferred"}') AS after_deferred \gset
SELECT is(regress_cvx_tap.wait(:'deferred_job'),
          '{"kind": "failed", "error": "cannot fire deferred trigger within security-restricted operation"}'::jsonb,
          'a deferred constraint trigger queued by a job''s handler fails the job');
SELECT is(regress_cvx_tap.wait(:'after_deferred') ->> 'kind', 'success', '... and the next job runs');
SELECT is((SELECT count(*)::int FROM regress_cvx_tap.deferred_check), 0, '... and its write is gone');

-- run_due runs jobs only at READ COMMITTED, where a conflict can be retried
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT regress_cvx_tap.outcome('CALL convex_scheduler_run_due()') AS run_due_rr \gset
ROLLBACK;
SELECT is(:'run_due_rr'::text, '0A000: convex_scheduler_run_due runs only at READ COMMITTED isolation',
          'run_due refuses REPEATABLE READ (0A000)');

------------------------------------------------------------------------
-- 9. Reinstalling convexlite while the worker waits for the table: a job
--    due in 300 ms wakes the worker while DROP EXTENSION, not yet
--    committed, holds the table; the worker carries on with the new one
------------------------------------------------------------------------

SELECT pid AS worker_pid FROM pg_stat_activity WHERE backend_type = 'convexlite scheduler' \gset
SELECT convex_scheduler_run_after(300, 'tap:log', '{"tag": "before-reinstall"}') \g /dev/null
BEGIN;
SET LOCAL client_min_messages = warning;
DROP EXTENSION convexlite CASCADE;
SELECT pg_sleep(1) \g /dev/null
COMMIT;
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
RESET client_min_messages;
SELECT convex_define_mutation('tap:log', 'regress_cvx_tap.h_log(jsonb)', '{"type": "any"}') \g /dev/null
SELECT clock_timestamp() AS reinstalled_at \gset
SELECT convex_scheduler_run_after(0, 'tap:log', '{"tag": "after-reinstall"}') AS after_reinstall \gset
SELECT is(regress_cvx_tap.wait(:'after_reinstall') ->> 'kind', 'success', 'after a reinstall the worker runs jobs');
SELECT ok(clock_timestamp() - :'reinstalled_at'::timestamptz < interval '2 s',
          '... at once (the DROP EXTENSION it waited for did not stop it)');
SELECT is((SELECT pid FROM pg_stat_activity WHERE backend_type = 'convexlite scheduler'), :worker_pid,
          '... and it is the same worker process');

SELECT * FROM finish();

-- Leave the database as the other files do: convexlite freshly installed.
SET client_min_messages = warning;
DROP EXTENSION convexlite CASCADE;
CREATE EXTENSION convexlite;
DROP SCHEMA regress_cvx_tap CASCADE;
DROP ROLE regress_sched_user;
DROP ROLE regress_sched_granted;
DROP ROLE regress_sched_internal;
RESET client_min_messages;
