-- test/pgtap/lib/catalog_snapshot.sql: what a pgTAP file must leave as it
-- found it, one line per object (scripts/pgtap.sh takes it before and after
-- each file and compares): schemas, roles, extensions, the tables of schema
-- convex with their row counts, convex._tables, the registered mutations,
-- the scheduled jobs, pg_cron's jobs and the large objects.  Run with
-- psql -X -A -t -q.
SELECT 'schema ' || nspname FROM pg_namespace
 WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
UNION ALL
SELECT 'role ' || rolname FROM pg_roles WHERE rolname NOT LIKE 'pg\_%'
UNION ALL
SELECT 'extension ' || extname || ' ' || extversion FROM pg_extension
UNION ALL
SELECT format('relation convex.%s (%s) rows %s', c.relname, c.relkind,
              CASE WHEN c.relkind IN ('r', 'p') THEN
                   (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM convex.%I', c.relname),
                                                        false, true, '')))[1]::text END)
  FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'convex')
   AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
UNION ALL
SELECT 'large object ' || oid FROM pg_largeobject_metadata
UNION ALL
SELECT 'pg_cron job ' || (xpath('/row/j/text()', query_to_xml(
           'SELECT string_agg(jobname || '' '' || schedule || '' '' || command, '' | '' ORDER BY jobname, command) AS j FROM cron.job',
           false, true, '')))[1]::text
 WHERE to_regclass('cron.job') IS NOT NULL
UNION ALL
SELECT 'convex._tables ' || (xpath('/row/t/text()', query_to_xml(
           'SELECT string_agg(name || '' '' || number || '' '' || md5(fields::text || indexes::text || coalesce(notify::text, ''-'')), '' | '' ORDER BY name) AS t FROM convex._tables',
           false, true, '')))[1]::text
 WHERE to_regclass('convex._tables') IS NOT NULL
UNION ALL
SELECT 'convex._functions ' || (xpath('/row/t/text()', query_to_xml(
           'SELECT string_agg(path || '' '' || handler::text, '' | '' ORDER BY path) AS t FROM convex._functions',
           false, true, '')))[1]::text
 WHERE to_regclass('convex._functions') IS NOT NULL
UNION ALL
SELECT 'convex._scheduled_functions ' || (xpath('/row/t/text()', query_to_xml(
           'SELECT string_agg(name || '' '' || (state ->> ''kind''), '' | '' ORDER BY name, state ->> ''kind'') AS t FROM convex._scheduled_functions',
           false, true, '')))[1]::text
 WHERE to_regclass('convex._scheduled_functions') IS NOT NULL
ORDER BY 1;
