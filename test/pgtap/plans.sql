-- test/pgtap/plans.sql: a query's kept plan stays an index scan however the
-- table grows.
--
-- convexlite prepares each query shape once per session and keeps its plan
-- (src/query.c, src/plans.c).  A plan made while the table is empty (just
-- created, or truncated and analyzed) finds a sequential scan and a sort
-- cheapest; kept, it would read the whole table on every later call of the
-- session, so a get-or-create slowed down in proportion to the table (5 ms a
-- call at 50,000 documents, against 15 us with the index).  Index queries
-- are planned with sequential scans off (cvx_cursor_open_indexed), which
-- this file checks through the scans PostgreSQL counts for the running
-- transaction (pg_stat_xact_user_tables): after the table has grown under a
-- plan made while it was empty, further calls make no sequential scan.
--
-- Run with pg_prove as a superuser against a database where convexlite can be
-- (re)installed.  Everything below runs in one transaction that is rolled back.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(10);

SELECT isnt(convex_define_table('plan_probe',
    '{"k": {"fieldType": {"type": "string"}, "optional": false},
      "n": {"fieldType": {"type": "number"}, "optional": false}}',
    '{"by_k": ["k"], "by_k_n": ["k", "n"]}'), NULL, 'a table with two indexes');
ANALYZE convex.plan_probe;

-- the scans of convex.plan_probe this transaction made so far
CREATE TEMP VIEW probe_scans AS
SELECT coalesce(seq_scan, 0) AS seq_scan, coalesce(idx_scan, 0) AS idx_scan
  FROM pg_stat_xact_user_tables WHERE relid = 'convex.plan_probe'::regclass;

-- every query shape used below, run while the table is empty (plans made now)
CREATE TEMP TABLE shapes (shape int, rows int);
CREATE FUNCTION pg_temp.run_shapes(calls int) RETURNS SETOF shapes LANGUAGE sql AS $$
    SELECT 1, count(*)::int FROM generate_series(1, calls) g,
        LATERAL convex_db_query('plan_probe', 'by_k', jsonb_build_object('k', 'k' || g), 'asc', NULL, 1)
    UNION ALL
    SELECT 2, count(*)::int FROM generate_series(1, calls) g,
        LATERAL convex_db_query('plan_probe', 'by_k_n', jsonb_build_object('k', 'k' || g), 'desc',
                                jsonb_build_object('gte', 0, 'lt', 1000), 5)
    UNION ALL
    SELECT 3, count(*)::int FROM generate_series(1, calls) g,
        LATERAL convex_db_query('plan_probe', 'by_creation_time', '{}', 'desc',
                                jsonb_build_object('gt', g), 1)
$$;
SELECT is((SELECT sum(rows)::int FROM pg_temp.run_shapes(10)), 0, 'queries of the empty table find nothing');

-- the table grows (no ANALYZE in between, so no plan is invalidated)
SELECT count(convex_db_insert('plan_probe', jsonb_build_object('k', 'k' || (g % 2000), 'n', g % 7)))
  FROM generate_series(1, 40000) g \g /dev/null

CREATE TEMP TABLE before AS SELECT * FROM probe_scans;
SELECT results_eq('SELECT shape, rows FROM pg_temp.run_shapes(200) ORDER BY shape',
    'VALUES (1, 200), (2, 1000), (3, 200)', 'the kept plans find the new documents');
SELECT is((SELECT p.seq_scan - b.seq_scan FROM probe_scans p, before b), 0::bigint,
    'no sequential scan after the table grew under plans made while it was empty');
SELECT cmp_ok((SELECT p.idx_scan - b.idx_scan FROM probe_scans p, before b), '>=', 600::bigint,
    'each call is an index scan');

-- statistics that say the table is large invalidate the plans; they stay index scans
ANALYZE convex.plan_probe;
DROP TABLE before;
CREATE TEMP TABLE before AS SELECT * FROM probe_scans;
SELECT results_eq('SELECT shape, rows FROM pg_temp.run_shapes(50) ORDER BY shape',
    'VALUES (1, 50), (2, 250), (3, 50)', 'replanned after ANALYZE, the same results');
SELECT is((SELECT p.seq_scan - b.seq_scan FROM probe_scans p, before b), 0::bigint,
    'no sequential scan after ANALYZE');

-- emptied and analyzed again (a TRUNCATE invalidates the plans): still no seq scan once it refills
TRUNCATE convex.plan_probe;
ANALYZE convex.plan_probe;
SELECT is((SELECT sum(rows)::int FROM pg_temp.run_shapes(5)), 0, 'planned again while empty');
SELECT count(convex_db_insert('plan_probe', jsonb_build_object('k', 'k' || (g % 2000), 'n', g % 7)))
  FROM generate_series(1, 40000) g \g /dev/null
DROP TABLE before;
CREATE TEMP TABLE before AS SELECT * FROM probe_scans;
SELECT is((SELECT sum(rows)::int FROM pg_temp.run_shapes(50)), 350, 'refilled: the documents are found');
SELECT is((SELECT p.seq_scan - b.seq_scan FROM probe_scans p, before b), 0::bigint,
    'no sequential scan after the table was emptied, analyzed, planned and refilled');

SELECT * FROM finish();
ROLLBACK;
