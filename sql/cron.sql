--
-- the presence.cleanup and storage cleanup jobs in pg_cron (alternative
-- output: no pg_cron)
--
SELECT jobname, schedule, command FROM cron.job ORDER BY jobname;
-- scheduling again is idempotent
SELECT convex_schedule_jobs();
SELECT jobname, count(*) AS jobs FROM cron.job WHERE jobname LIKE 'convexlite-%' GROUP BY jobname ORDER BY jobname;
-- a look-alike without parameters (a role with CREATE on the extension's
-- schema could add one) neither runs nor makes the job's call ambiguous
CREATE FUNCTION public.convex_presence_cleanup() RETURNS integer LANGUAGE sql AS 'SELECT -1';
DO $$
DECLARE
    removed integer;
BEGIN
    IF pg_catalog.to_regclass('cron.job') IS NULL THEN
        RETURN;  -- no pg_cron here (cron_1.out)
    END IF;
    EXECUTE (SELECT command FROM cron.job WHERE jobname = 'convexlite-presence-cleanup') INTO removed;
    RAISE NOTICE 'the job ran convexlite''s presence.cleanup: %', removed >= 0;
END;
$$;
DROP FUNCTION public.convex_presence_cleanup();
