--
-- scheduler: ctx.scheduler (SPEC §7; seed 001 "Scheduling from Mutations"):
-- runAfter, runAt and cancel, the _scheduled_functions documents, the
-- background worker that runs due jobs (convexlite.database_name is this
-- database), convex_scheduler_run_due and convex_scheduler_cleanup.
--
-- Nothing here sleeps for a fixed time to let a job run: regress_wait(id)
-- polls the job's state every 50 ms, for 10 s at most, until it is no
-- longer pending.  Jobs scheduled inside a transaction are invisible to the
-- worker until COMMIT, so a CALL convex_scheduler_run_due in that same
-- transaction is sure to be the one that runs them.
--

-- What the jobs write: notes {tag, who?}
SELECT convex_define_table('sched_notes',
  '{"tag": {"fieldType": {"type": "string"}, "optional": false},
    "who": {"fieldType": {"type": "string"}, "optional": true}}') > 10004 AS defined;

-- sched:note {tag}: write a note
CREATE OR REPLACE FUNCTION sched_note(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convex_db_insert('sched_notes', jsonb_build_object('tag', args -> 'tag'));
    RETURN 'null';
END;
$$;
SELECT convex_define_mutation('sched:note', 'sched_note(jsonb)',
  '{"type": "object", "value": {"tag": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "null"}');
-- sched:internalNote {tag}: the same, internal
SELECT convex_define_mutation('sched:internalNote', 'sched_note(jsonb)',
  '{"type": "object", "value": {"tag": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "null"}', internal => true);
-- sched:fail {tag}: write a note, then fail
CREATE OR REPLACE FUNCTION sched_fail(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convex_db_insert('sched_notes', jsonb_build_object('tag', args -> 'tag'));
    RAISE EXCEPTION 'sched:fail gave up on %', args ->> 'tag';
END;
$$;
SELECT convex_define_mutation('sched:fail', 'sched_fail(jsonb)', '{"type": "any"}');
-- sched:whoami {tag}: write a note with the signed-in user (or "nobody")
CREATE OR REPLACE FUNCTION sched_whoami(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convex_db_insert('sched_notes', jsonb_build_object(
        'tag', args -> 'tag', 'who', coalesce(convex_auth_user_id(), 'nobody')));
    RETURN 'null';
END;
$$;
SELECT convex_define_mutation('sched:whoami', 'sched_whoami(jsonb)', '{"type": "any"}');
-- sched:schedule {tag, fail?}: ctx.scheduler.runAfter(0,
-- internal.sched.internalNote, {tag}); returns the job's id, or fails after
-- scheduling when fail is true
CREATE OR REPLACE FUNCTION sched_schedule(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    job text := convex_scheduler_run_after(0, 'sched:internalNote', jsonb_build_object('tag', args -> 'tag'));
BEGIN
    IF (args ->> 'fail')::boolean THEN
        RAISE EXCEPTION 'sched:schedule changed its mind';
    END IF;
    RETURN to_jsonb(job);
END;
$$;
SELECT convex_define_mutation('sched:schedule', 'sched_schedule(jsonb)', '{"type": "any"}');
-- sched:runDue: a mutation that tries to run the due jobs itself
CREATE OR REPLACE FUNCTION sched_run_due(args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    CALL convex_scheduler_run_due(1);
    RETURN 'null';
END;
$$;
SELECT convex_define_mutation('sched:runDue', 'sched_run_due(jsonb)', '{"type": "any"}');

-- A job's state once it is no longer pending (10 s at most)
CREATE OR REPLACE FUNCTION regress_wait(job text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '10 s';
    state jsonb;
BEGIN
    LOOP
        SELECT f.state INTO state FROM convex._scheduled_functions f WHERE f._id = job;
        IF state IS NULL THEN
            RETURN '"no such job"';
        ELSIF state ->> 'kind' <> 'pending' OR clock_timestamp() > deadline THEN
            RETURN state;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END;
$$;
-- Wait until no job is due (10 s at most); true when none is
CREATE OR REPLACE FUNCTION regress_wait_idle() RETURNS boolean
LANGUAGE plpgsql AS $$
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
END;
$$;
-- A job as ctx.db.system.get returns it, without its random id and times
CREATE OR REPLACE FUNCTION regress_job(job text) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT d - '_id' - '_creationTime' - 'scheduledTime' - 'completedTime'
      FROM convex_db_get('_scheduled_functions', job) d
$$;
-- How many notes carry this tag
CREATE OR REPLACE FUNCTION regress_notes(tag text) RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*) FROM convex.sched_notes n WHERE n.tag = regress_notes.tag
$$;
-- How many jobs were scheduled with this tag
CREATE OR REPLACE FUNCTION regress_jobs(tag text) RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*) FROM convex._scheduled_functions f WHERE f.args -> 0 ->> 'tag' = regress_jobs.tag
$$;

-- no job is left over from the tests before
SELECT count(*) AS jobs_before FROM convex._scheduled_functions;

--
-- runAfter: the job is a pending _scheduled_functions document, due
-- delayMs after now; the worker runs it once it is due and committed
--
SELECT convex_scheduler_run_after(0, 'sched:note', '{"tag": "after0"}') AS after0 \gset
SELECT convex_id_table(:'after0') AS id_table;
SELECT regress_wait(:'after0') AS state;
SELECT regress_job(:'after0') AS job;
SELECT regress_notes('after0') AS notes;
-- Convex's document: scheduledTime is Date.now() + delayMs, completedTime
-- is set when it finished (never before it was due)
SELECT jsonb_typeof(d -> 'scheduledTime') AS scheduled_time,
       abs((d ->> 'scheduledTime')::float8 - (d ->> '_creationTime')::float8) < 1000 AS due_now,
       (d ->> 'completedTime')::float8 >= (d ->> 'scheduledTime')::float8 AS completed_when_due,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(d) AS k) AS fields
  FROM convex_db_get('_scheduled_functions', :'after0') d;
-- the stored row: args is Convex's array holding the one args object
SELECT name, args, state, completed_time >= scheduled_time AS completed_when_due
  FROM convex._scheduled_functions WHERE _id = :'after0';

-- a job due in 200 ms is not run before then
SELECT convex_scheduler_run_after(200, 'sched:note', '{"tag": "after200"}') AS after200 \gset
SELECT regress_wait(:'after200') AS state, regress_notes('after200') AS notes;
SELECT (d ->> 'scheduledTime')::float8 - (d ->> '_creationTime')::float8 BETWEEN 150 AND 200 AS due_in_200_ms,
       (d ->> 'completedTime')::float8 >= (d ->> 'scheduledTime')::float8 AS completed_when_due
  FROM convex_db_get('_scheduled_functions', :'after200') d;

-- a job due in an hour stays pending, without completedTime
SELECT convex_scheduler_run_after(3600000, 'sched:note', '{"tag": "in-an-hour"}') AS hour \gset
SELECT regress_job(:'hour') AS job, convex_db_get('_scheduled_functions', :'hour') ? 'completedTime' AS has_completed_time;
SELECT (d ->> 'scheduledTime')::float8 - (d ->> '_creationTime')::float8 BETWEEN 3599000 AND 3600000 AS due_in_an_hour
  FROM convex_db_get('_scheduled_functions', :'hour') d;

-- a fraction of a millisecond and -0 are delays too
SELECT convex_scheduler_run_after(0.5, 'sched:note', '{"tag": "half-ms"}') AS half_ms \gset
SELECT convex_scheduler_run_after('-0', 'sched:note', '{"tag": "minus-zero"}') AS minus_zero \gset
SELECT regress_wait(:'half_ms') AS half_ms, regress_wait(:'minus_zero') AS minus_zero;

--
-- runAt: a time in ms since the epoch; one in the past runs at once
--
SELECT convex_scheduler_run_at(0, 'sched:note', '{"tag": "at-epoch"}') AS at_epoch \gset
SELECT convex_scheduler_run_at(extract(epoch FROM clock_timestamp()) * 1000 - 60000,
                               'sched:note', '{"tag": "minute-ago"}') AS minute_ago \gset
SELECT regress_wait(:'at_epoch') AS at_epoch, regress_wait(:'minute_ago') AS minute_ago;
SELECT d ->> 'scheduledTime' AS scheduled_time, regress_notes('at-epoch') AS notes
  FROM convex_db_get('_scheduled_functions', :'at_epoch') d;
-- the latest time a job may have is 253402300800000 (10000-01-01T00:00:00Z)
SELECT convex_scheduler_run_at(253402300800000, 'sched:note', '{"tag": "year-9999"}') AS year_9999 \gset
SELECT regress_job(:'year_9999') AS job, convex_db_get('_scheduled_functions', :'year_9999') ->> 'scheduledTime' AS scheduled_time;

-- Each call returns the id of the job it scheduled, also when one
-- statement schedules several
SELECT convex_scheduler_run_at(253402300800000, 'sched:note', '{"tag": "twin-1"}') AS twin1,
       convex_scheduler_run_at(253402300800000, 'sched:note', '{"tag": "twin-2"}') AS twin2 \gset
SELECT :'twin1' <> :'twin2' AS distinct_ids,
       (SELECT args -> 0 ->> 'tag' FROM convex._scheduled_functions WHERE _id = :'twin1') AS twin1_tag,
       (SELECT args -> 0 ->> 'tag' FROM convex._scheduled_functions WHERE _id = :'twin2') AS twin2_tag,
       regress_jobs('twin-1') AS twin1_jobs, regress_jobs('twin-2') AS twin2_jobs;

--
-- Arguments: checked when the job is scheduled, with the errors of a call
--
SELECT regress_try($$SELECT convex_scheduler_run_after(NULL, 'sched:note', '{"tag": "x"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(-1, 'sched:note', '{"tag": "x"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after('-Infinity', 'sched:note', '{"tag": "x"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after('Infinity', 'sched:note', '{"tag": "x"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after('NaN', 'sched:note', '{"tag": "x"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(253402300800000, 'sched:note', '{"tag": "x"}')$$) ~
       '^22023: the scheduled time is later than 10000-01-01T00:00:00Z' AS after_year_9999;
SELECT regress_try($$SELECT convex_scheduler_run_at(NULL, 'sched:note', '{"tag": "x"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_at(-1, 'sched:note', '{"tag": "x"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_at('Infinity', 'sched:note', '{"tag": "x"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_at('NaN', 'sched:note', '{"tag": "x"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_at(253402300800001, 'sched:note', '{"tag": "x"}')$$);
-- paths
SELECT regress_try($$SELECT convex_scheduler_run_after(0, NULL, '{"tag": "x"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched:nothing', '{"tag": "x"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched', '{"tag": "x"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(0, '', '{"tag": "x"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched:note; DROP TABLE convex.users', '{"tag": "x"}')$$);
-- args
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched:note', NULL)$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched:note', '[{"tag": "x"}]')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched:note', '"x"')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched:note', '{}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched:note', '{"tag": 7}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched:note', '{"tag": "x", "extra": 1}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched:fail', '{"$tag": "x"}')$$);
-- the default args are {}, which sched:note's validator refuses
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched:note')$$);
-- the built-in mutations' validators apply too
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'messages:send', '{"roomId": "r", "userName": "u"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_at(0, 'users:updateProfile', '{"name": 1}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_at(0, 'presence:cleanup', '{"all": true}')$$);
-- cancel's id
SELECT regress_try($$SELECT convex_scheduler_cancel(NULL)$$);
SELECT regress_try($$SELECT convex_scheduler_cancel('')$$);
SELECT regress_try($$SELECT convex_scheduler_cancel('not-an-id')$$);
SELECT regress_try(format('SELECT convex_scheduler_cancel(%L)', convex_db_insert('sched_notes', '{"tag": "not a job"}')));
SELECT regress_try(format('SELECT convex_scheduler_cancel(%L)',
                          overlay(:'hour' placing CASE WHEN substr(:'hour', 15, 1) = '0' THEN '1' ELSE '0' END from 15 for 1)));
-- none of them scheduled anything
SELECT regress_jobs('x') AS jobs_of_refused_calls;

-- ctx.db reads _scheduled_functions (ctx.db.system) but cannot write it
SELECT regress_try($$SELECT convex_db_insert('_scheduled_functions',
  '{"name": "sched:note", "args": [{"tag": "forged"}], "scheduledTime": 0, "state": {"kind": "pending"}}')$$);
SELECT regress_try(format($$SELECT convex_db_patch('_scheduled_functions', %L, '{"state": {"kind": "success"}}')$$, :'hour'));
SELECT regress_try(format($$SELECT convex_db_delete('_scheduled_functions', %L)$$, :'hour'));
SELECT count(*) AS in_system_query FROM convex_db_query('_scheduled_functions') d WHERE d ->> '_id' = :'hour';

--
-- Who may schedule: like ctx.db, the scheduler is for mutation handlers
-- (not granted to PUBLIC); internal mutations only from inside a mutation
-- or with the internal right
--
CREATE ROLE regress_sched_carol;
SET ROLE regress_sched_carol;
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched:note', '{"tag": "carol"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_at(0, 'sched:note', '{"tag": "carol"}')$$);
SELECT regress_try(format('SELECT convex_scheduler_cancel(%L)', :'hour'));
SELECT regress_try($$CALL convex_scheduler_run_due()$$);
SELECT regress_try($$SELECT convex_scheduler_cleanup()$$);
SELECT regress_try($$SELECT count(*) FROM convex._scheduled_functions$$);
SELECT regress_try($$UPDATE convex._scheduled_functions SET state = '{"kind": "canceled"}'$$);
-- a public mutation she calls schedules an internal one, which runs
SELECT convex_mutation('sched:schedule', '{"tag": "via-carol"}') #>> '{}' AS via_carol \gset
RESET ROLE;
SELECT regress_wait(:'via_carol') AS state, regress_job(:'via_carol') ->> 'name' AS name, regress_notes('via-carol') AS notes;
-- granted the scheduler but not the internal right: public mutations only
GRANT EXECUTE ON FUNCTION convex_scheduler_run_after(double precision, text, jsonb) TO regress_sched_carol;
SET ROLE regress_sched_carol;
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched:internalNote', '{"tag": "carol-internal"}')$$);
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'presence:cleanup', '{}')$$);
SELECT convex_scheduler_run_after(0, 'sched:note', '{"tag": "carol-public"}') AS carol_public \gset
RESET ROLE;
SELECT regress_wait(:'carol_public') AS state, regress_notes('carol-public') AS notes;
-- the superuser has the internal right: it may schedule internal mutations
SELECT convex_scheduler_run_after(0, 'sched:internalNote', '{"tag": "internal-top"}') AS internal_top \gset
SELECT regress_wait(:'internal_top') AS state, regress_notes('internal-top') AS notes;
REVOKE EXECUTE ON FUNCTION convex_scheduler_run_after(double precision, text, jsonb) FROM regress_sched_carol;
DROP ROLE regress_sched_carol;

--
-- Scheduling is transactional: a rolled-back caller schedules nothing
--
BEGIN;
SELECT convex_scheduler_run_after(0, 'sched:note', '{"tag": "rolled-back"}') IS NOT NULL AS scheduled;
SELECT regress_jobs('rolled-back') AS jobs_inside;
ROLLBACK;
SELECT convex_scheduler_run_after(0, 'sched:note', '{"tag": "sentinel-1"}') AS sentinel \gset
SELECT regress_wait(:'sentinel') AS sentinel;
SELECT regress_jobs('rolled-back') AS jobs, regress_notes('rolled-back') AS notes;
-- ... and so does a mutation that fails after scheduling
SELECT regress_try($$SELECT convex_mutation('sched:schedule', '{"tag": "never", "fail": true}')$$);
SELECT regress_jobs('never') AS jobs;
-- ... or a statement that fails after it
SELECT regress_try($$SELECT convex_scheduler_run_after(0, 'sched:note', '{"tag": "never-2"}'), 1 / 0$$);
SELECT regress_jobs('never-2') AS jobs;

--
-- A failing job: state failed with the error's message; its writes (and
-- the jobs it scheduled) are rolled back
--
SELECT convex_scheduler_run_after(0, 'sched:fail', '{"tag": "doomed"}') AS doomed \gset
SELECT regress_wait(:'doomed') AS state;
SELECT regress_notes('doomed') AS notes;
SELECT (d ->> 'completedTime')::float8 >= (d ->> 'scheduledTime')::float8 AS completed_when_due
  FROM convex_db_get('_scheduled_functions', :'doomed') d;
SELECT convex_scheduler_run_after(0, 'sched:schedule', '{"tag": "orphan", "fail": true}') AS orphan_parent \gset
SELECT regress_wait(:'orphan_parent') AS state;
SELECT count(*) AS orphan_jobs FROM convex._scheduled_functions
 WHERE name = 'sched:internalNote' AND args -> 0 ->> 'tag' = 'orphan';
-- a failing job does not stop the next one
SELECT convex_scheduler_run_after(0, 'sched:fail', '{"tag": "doomed-2"}') AS doomed2 \gset
SELECT convex_scheduler_run_after(0, 'sched:note', '{"tag": "after-doomed"}') AS after_doomed \gset
SELECT regress_wait(:'doomed2') AS doomed, regress_wait(:'after_doomed') AS after_doomed,
       regress_notes('after-doomed') AS notes;
-- run_due inside a mutation is refused, also when the mutation is a job
SELECT regress_try($$SELECT convex_mutation('sched:runDue', '{}')$$);
SELECT convex_scheduler_run_after(0, 'sched:runDue', '{}') AS run_due_job \gset
SELECT regress_wait(:'run_due_job') AS state;

--
-- Auth is not passed on: a job runs with nobody signed in
--
SELECT convex_db_insert('users', '{"name": "Signed In"}') AS signed \gset
SET convexlite.user_id = :'signed';
SELECT convex_auth_user_id() = :'signed' AS signed_in;
SELECT convex_scheduler_run_after(0, 'sched:whoami', '{"tag": "who-worker"}') AS who_worker \gset
SELECT convex_scheduler_run_after(0, 'users:updateProfile', '{"name": "Hijacked"}') AS profile \gset
SELECT regress_wait(:'who_worker') AS whoami, regress_wait(:'profile') AS update_profile;
-- ... also when this session, signed in, runs the job with run_due
SELECT regress_wait_idle() AS idle;
BEGIN;
SELECT convex_scheduler_run_after(0, 'sched:whoami', '{"tag": "who-run-due"}') AS who_run_due \gset
CALL convex_scheduler_run_due(1);
SELECT regress_job(:'who_run_due') -> 'state' AS state;
SELECT convex_auth_user_id() = :'signed' AS still_signed_in;
COMMIT;
BEGIN;
SELECT set_config('request.jwt.claims', json_build_object('sub', :'signed')::text, true) IS NOT NULL AS claims_set;
SET LOCAL convexlite.user_id = '';
SELECT convex_auth_user_id() = :'signed' AS signed_in_by_claims;
SELECT convex_scheduler_run_after(0, 'sched:whoami', '{"tag": "who-claims"}') AS who_claims \gset
CALL convex_scheduler_run_due(1);
SELECT regress_job(:'who_claims') -> 'state' AS state;
SELECT convex_auth_user_id() = :'signed' AS still_signed_in;
COMMIT;
RESET convexlite.user_id;
SELECT tag, who FROM convex.sched_notes WHERE tag LIKE 'who-%' ORDER BY tag;
SELECT name FROM convex.users WHERE _id = :'signed';

--
-- cancel: a pending job becomes canceled (with completedTime) and never
-- runs; cancelling again, or cancelling a finished job, changes nothing
--
SELECT convex_scheduler_cancel(:'hour');
SELECT regress_job(:'hour') AS job, convex_db_get('_scheduled_functions', :'hour') ? 'completedTime' AS has_completed_time;
SELECT completed_time AS hour_completed FROM convex._scheduled_functions WHERE _id = :'hour' \gset
SELECT convex_scheduler_cancel(:'hour');
SELECT state, completed_time = :hour_completed AS completed_time_kept
  FROM convex._scheduled_functions WHERE _id = :'hour';
-- a job cancelled in the transaction that scheduled it never runs
BEGIN;
SELECT convex_scheduler_run_after(0, 'sched:note', '{"tag": "canceled-at-once"}') AS canceled_at_once \gset
SELECT convex_scheduler_cancel(:'canceled_at_once');
COMMIT;
SELECT convex_scheduler_run_after(0, 'sched:note', '{"tag": "sentinel-2"}') AS sentinel \gset
SELECT regress_wait(:'sentinel') AS sentinel;
SELECT regress_job(:'canceled_at_once') -> 'state' AS state, regress_notes('canceled-at-once') AS notes;
-- a cancel that is rolled back leaves the job pending
SELECT convex_scheduler_run_after(3600000, 'sched:note', '{"tag": "cancel-undone"}') AS cancel_undone \gset
BEGIN;
SELECT convex_scheduler_cancel(:'cancel_undone');
SELECT regress_job(:'cancel_undone') -> 'state' AS inside;
ROLLBACK;
SELECT regress_job(:'cancel_undone') -> 'state' AS after_rollback;
-- finished jobs are left as they are
SELECT completed_time AS after0_completed FROM convex._scheduled_functions WHERE _id = :'after0' \gset
SELECT completed_time AS doomed_completed FROM convex._scheduled_functions WHERE _id = :'doomed' \gset
SELECT convex_scheduler_cancel(:'after0'), convex_scheduler_cancel(:'doomed');
SELECT regress_job(:'after0') -> 'state' AS after0, regress_job(:'doomed') -> 'state' AS doomed,
       (SELECT completed_time FROM convex._scheduled_functions WHERE _id = :'after0') = :after0_completed
       AND (SELECT completed_time FROM convex._scheduled_functions WHERE _id = :'doomed') = :doomed_completed AS completed_times_kept;
SELECT regress_notes('after0') AS after0_notes;

--
-- convex_scheduler_run_due(max_jobs): runs due jobs without the worker,
-- in scheduledTime order, at most max_jobs; a job not yet due is not run
--
SELECT regress_wait_idle() AS idle;
BEGIN;
SELECT convex_scheduler_run_at(1, 'sched:note', '{"tag": "due-1"}') AS due1 \gset
SELECT convex_scheduler_run_at(2, 'sched:note', '{"tag": "due-2"}') AS due2 \gset
SELECT convex_scheduler_run_at(3, 'sched:note', '{"tag": "due-3"}') AS due3 \gset
SELECT convex_scheduler_run_after(3600000, 'sched:note', '{"tag": "due-later"}') AS due_later \gset
CALL convex_scheduler_run_due(0);
SELECT args -> 0 ->> 'tag' AS tag, state FROM convex._scheduled_functions
 WHERE _id IN (:'due1', :'due2', :'due3', :'due_later') ORDER BY scheduled_time;
CALL convex_scheduler_run_due(2);
SELECT args -> 0 ->> 'tag' AS tag, state, regress_notes(args -> 0 ->> 'tag') AS notes FROM convex._scheduled_functions
 WHERE _id IN (:'due1', :'due2', :'due3', :'due_later') ORDER BY scheduled_time;
COMMIT;
-- after COMMIT the worker runs the third; the one due in an hour waits
SELECT regress_wait(:'due3') AS due3, regress_notes('due-3') AS notes;
SELECT regress_job(:'due_later') -> 'state' AS due_later;
-- CALLed outside a transaction block it commits after each job; whoever
-- runs a job (this CALL or the worker), it runs once
SELECT convex_scheduler_run_after(0, 'sched:note', '{"tag": "race"}') AS race \gset
CALL convex_scheduler_run_due();
SELECT regress_wait(:'race') AS state, regress_notes('race') AS notes;
SELECT regress_try($$CALL convex_scheduler_run_due(NULL)$$);
SELECT regress_try($$CALL convex_scheduler_run_due(-1)$$);

--
-- convex_scheduler_cleanup(older_than_ms): retention; deletes jobs that
-- finished (success, failed, canceled) longer ago, never pending ones
--
SELECT regress_wait_idle() AS idle;
SELECT pg_sleep(0.01);
SELECT state ->> 'kind' AS kind, count(*) FROM convex._scheduled_functions GROUP BY kind ORDER BY kind;
SELECT count(*) AS finished FROM convex._scheduled_functions WHERE state ->> 'kind' <> 'pending' \gset
SELECT convex_scheduler_cleanup() AS removed_after_7_days;
SELECT convex_scheduler_cleanup(0) = :finished AS removed_every_finished_job;
SELECT args -> 0 ->> 'tag' AS tag, state FROM convex._scheduled_functions ORDER BY tag;
-- a removed job's id: cancel does nothing, ctx.db.system.get finds nothing
SELECT convex_scheduler_cancel(:'after0');
SELECT convex_db_get('_scheduled_functions', :'after0') IS NULL AS after0_gone;
SELECT regress_try($$SELECT convex_scheduler_cleanup(-1)$$);
SELECT regress_try($$SELECT convex_scheduler_cleanup('NaN')$$);
SELECT regress_try($$SELECT convex_scheduler_cleanup(NULL)$$);

-- clean up: cancel what is left, forget it all
SELECT count(convex_scheduler_cancel(_id)) AS canceled FROM convex._scheduled_functions WHERE state ->> 'kind' = 'pending';
SELECT pg_sleep(0.01);
SELECT convex_scheduler_cleanup(0) > 0 AS removed;
SELECT count(*) AS jobs_left FROM convex._scheduled_functions;
SET client_min_messages = warning;
DO $$
DECLARE
    p text;
BEGIN
    FOR p IN SELECT path FROM convex._functions WHERE path LIKE 'sched:%' LOOP
        PERFORM convex_drop_mutation(p);
    END LOOP;
END;
$$;
DROP FUNCTION sched_note(jsonb), sched_fail(jsonb), sched_whoami(jsonb), sched_schedule(jsonb),
    sched_run_due(jsonb), regress_wait(text), regress_wait_idle(), regress_job(text),
    regress_notes(text), regress_jobs(text);
RESET client_min_messages;
DELETE FROM convex.sched_notes;
DELETE FROM convex.users;
