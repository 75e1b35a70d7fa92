--
-- setup: install convexlite (and pg_cron, where the server preloads it)
--
-- (error: on a server without pg_cron, CREATE EXTENSION warns that the
-- cleanups are not scheduled; test/scripts/cron_warning.sh checks that)
SET client_min_messages = error;
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_cron;
EXCEPTION WHEN OTHERS THEN
    NULL;  -- a server without pg_cron: convexlite still installs
END;
$$;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

-- the catalog: stable table numbers, system tables below 10001
SELECT name, number, is_builtin, jsonb_object_keys(fields) AS field
  FROM convex._tables ORDER BY number, field;

-- the extension's tables
SELECT c.relname, c.reloptions
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'convex' AND c.relkind = 'r'
 ORDER BY c.relname;

-- the public functions and whether they run with the owner's rights
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args,
       p.prosecdef AS security_definer
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'convexlite'
 ORDER BY p.proname, args;

-- A test helper: run a statement, return 'ok' or "SQLSTATE: message" (and
-- DETAIL), with ids (random) shown as <id>.  A failing statement is rolled
-- back like any failed call.
CREATE OR REPLACE FUNCTION regress_try(statement text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
    detail text;
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE,
                            message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL;
    RETURN regexp_replace(state || ': ' || message ||
                          CASE WHEN detail <> '' THEN E'\nDETAIL: ' || detail ELSE '' END,
                          '\m[0-9a-hjkmnp-tv-z]{31,37}\M', '<id>', 'g');
END;
$$;
