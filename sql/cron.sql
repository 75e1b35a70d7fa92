--
-- the presence.cleanup job in pg_cron (alternative output: no pg_cron)
--
SELECT jobname, schedule, command FROM cron.job ORDER BY jobname;
-- scheduling again is idempotent
SELECT convex_schedule_jobs();
SELECT count(*) AS jobs FROM cron.job WHERE jobname = 'convexlite-presence-cleanup';
