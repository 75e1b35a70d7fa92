--
-- convex_error: throw new ConvexError(data) from a handler
-- (docs/identity-and-errors.md).  The client sees what the built-ins'
-- UNAUTHORIZED shows: the SQLSTATE (42501 for code UNAUTHORIZED, P0001
-- otherwise), the message, and the data as JSON in DETAIL.
--
\set SHOW_CONTEXT never

-- the built-in's UNAUTHORIZED, for comparison
SELECT regress_try('SELECT convex_users_update_profile(''{"name": "x"}'')');
-- the same error raised by a handler
SELECT regress_try('SELECT convex_error(''{"code": "UNAUTHORIZED", "message": "You must be logged in to update your profile"}'')');
-- data of every shape: the message is the string, data.message, or
-- Convex's display of the data; DETAIL always has a code
SELECT regress_try('SELECT convex_error(''"Not enough credits"'')');
SELECT regress_try('SELECT convex_error(''{"code": "NOT_FOUND", "message": "No such room", "roomId": "r1"}'')');
SELECT regress_try('SELECT convex_error(''{"code": "RATE_LIMITED", "retryAfter": 1500}'')');
SELECT regress_try('SELECT convex_error(''{"reason": "full", "seats": [1, 2]}'')');
SELECT regress_try('SELECT convex_error(''42'')');
SELECT regress_try('SELECT convex_error(NULL)');

-- From a registered mutation, called by an ordinary role: a handler that
-- throws new ConvexError({code: "FORBIDDEN", ...}) after a write; the write
-- is undone and the caller sees the error unchanged.
SELECT convex_define_table('errs_notes', '{"body": {"fieldType": {"type": "string"}, "optional": false}}') > 10004 AS defined;
CREATE FUNCTION errs_guarded(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convex_db_insert('errs_notes', jsonb_build_object('body', args ->> 'body'));
    IF args ->> 'body' = 'forbidden' THEN
        PERFORM convex_error(jsonb_build_object('code', 'FORBIDDEN', 'message', 'This note is not allowed',
                                                'body', args ->> 'body'));
    END IF;
    RETURN 'null';
END $$;
SELECT convex_define_mutation('errs:guarded', 'errs_guarded(jsonb)',
  '{"type": "object", "value": {"body": {"fieldType": {"type": "string"}, "optional": false}}}');
CREATE ROLE regress_errs_app;
GRANT EXECUTE ON FUNCTION convex_mutation(text, jsonb) TO regress_errs_app;
SET ROLE regress_errs_app;
SELECT convex_mutation('errs:guarded', '{"body": "forbidden"}');
SELECT convex_mutation('errs:guarded', '{"body": "fine"}');
RESET ROLE;
SELECT body FROM convex.errs_notes ORDER BY body;

-- A PL/pgSQL caller catches it like any error: the data is in PG_EXCEPTION_DETAIL
DO $$
DECLARE
    state text;
    detail text;
BEGIN
    PERFORM convex_mutation('errs:guarded', '{"body": "forbidden"}');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'caught % with code %', state, detail::jsonb ->> 'code';
END $$;

-- From a scheduled job: the failed job records the ConvexError, message and data
BEGIN;
SELECT convex_scheduler_run_after(0, 'errs:guarded', '{"body": "forbidden"}') AS job \gset
CALL convex_scheduler_run_due(10);
SELECT state ->> 'kind' AS kind, state ->> 'error' AS error
  FROM convex._scheduled_functions WHERE _id = :'job';
COMMIT;

SELECT convex_drop_mutation('errs:guarded');
DROP FUNCTION errs_guarded(jsonb);
REVOKE EXECUTE ON FUNCTION convex_mutation(text, jsonb) FROM regress_errs_app;
DROP ROLE regress_errs_app;
