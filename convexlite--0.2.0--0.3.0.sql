/* convexlite--0.2.0--0.3.0.sql: update convexlite 0.2.0 to 0.3.0 */

\echo Use "ALTER EXTENSION convexlite UPDATE TO '0.3.0'" to load this file. \quit

-- After installing the new convexlite.so, restart the server (convexlite is
-- preloaded) and run ALTER EXTENSION convexlite UPDATE in each database.
-- Each change below says what it does and why.

------------------------------------------------------------------------
-- pg_cron job commands call convexlite's functions with typed arguments
------------------------------------------------------------------------
-- 0.2.0's commands called the cleanups without arguments (relying on their
-- defaults).  A role with CREATE on the extension's schema could then add a
-- look-alike without parameters and make every call ambiguous ("function
-- ... is not unique"), stopping the cleanups.  With every argument given
-- and typed, only convexlite's own function matches exactly.
CREATE OR REPLACE FUNCTION convex_schedule_jobs()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ext_schema name;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database %', current_database()
            USING ERRCODE = 'undefined_object',
                  HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database, run CREATE EXTENSION pg_cron, then SELECT convex_schedule_jobs().';
    END IF;
    SELECT n.nspname INTO ext_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'convexlite';
    PERFORM cron.schedule('convexlite-presence-cleanup', '* * * * *',
                          format('SELECT %I.convex_presence_cleanup(''{}''::pg_catalog.jsonb)', ext_schema));
    PERFORM cron.schedule('convexlite-storage-cleanup', '*/5 * * * *',
                          format('SELECT %I.convex_storage_cleanup(86400000::pg_catalog.float8)', ext_schema));
    PERFORM cron.schedule('convexlite-scheduler-cleanup', '* * * * *',
                          format('SELECT %I.convex_scheduler_cleanup(604800000::pg_catalog.float8)', ext_schema));
    -- the background worker runs jobs as they fall due; this is the
    -- fallback for servers without it (and harmless beside it)
    PERFORM cron.schedule('convexlite-scheduler-run-due', '* * * * *',
                          format('CALL %I.convex_scheduler_run_due(1000::pg_catalog.int4)', ext_schema));
END;
$$;
REVOKE ALL ON FUNCTION convex_schedule_jobs() FROM PUBLIC;

-- Jobs scheduled by 0.2.0 get the new commands (cron.schedule replaces a
-- job of the same name).
DO $$
BEGIN
    -- (nested: the inner query is planned only where cron.job exists)
    IF pg_catalog.to_regclass('cron.job') IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM cron.job WHERE jobname LIKE 'convexlite-%') THEN
            PERFORM convex_schedule_jobs();
        END IF;
    END IF;
END;
$$;
