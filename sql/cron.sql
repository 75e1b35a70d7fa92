--
-- the presence.cleanup and storage cleanup jobs in pg_cron (alternative
-- output: no pg_cron)
--
SELECT jobname, schedule, command FROM cron.job ORDER BY jobname;
-- scheduling again is idempotent
SELECT convex_schedule_jobs();
SELECT jobname, count(*) AS jobs FROM cron.job WHERE jobname LIKE 'convexlite-%' GROUP BY jobname ORDER BY jobname;
