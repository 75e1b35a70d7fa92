-- bench/index_order.sql: the cost of Convex-ordered indexes on a user
-- table (psql -X -f bench/index_order.sql in a scratch database with
-- convexlite).  100k convex_db_insert calls into a table with a required
-- string index (plain), a required number, an optional string and a
-- v.any() index (convex.index_key since 0.3.0), then 100k convex_db_query
-- calls of each shape, each loop in one statement (no commit per call).
-- Prints one line per loop: name, wall milliseconds and the backend's own
-- CPU milliseconds (user + system from /proc/self/stat: on a busy machine
-- the wall time mostly measures the other processes; needs a superuser).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT convex_define_table('bench_items',
  '{"room": {"fieldType": {"type": "string"}, "optional": false},
    "n":    {"fieldType": {"type": "number"}, "optional": false},
    "tag":  {"fieldType": {"type": "string"}, "optional": true},
    "meta": {"fieldType": {"type": "any"}, "optional": true}}',
  '{"by_room": ["room"], "by_n": ["n"], "by_tag": ["tag"], "by_meta": ["meta"]}') > 0 AS defined \gset
CREATE TEMP TABLE bench_times (name text, ms float8, cpu_ms float8);
-- this backend's CPU time so far, in ms (utime + stime, 100 ticks a second)
CREATE FUNCTION pg_temp.cpu_ms() RETURNS float8 LANGUAGE sql AS $$
  SELECT (f[12]::float8 + f[13]::float8) * 10
  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) AS s
$$;
CREATE FUNCTION pg_temp.timed(name text, body text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp(); c0 float8 := pg_temp.cpu_ms();
BEGIN
  EXECUTE body;
  INSERT INTO bench_times VALUES (name, 1000 * extract(epoch FROM clock_timestamp() - t0),
                                  pg_temp.cpu_ms() - c0);
END $$;
SELECT pg_temp.timed('insert 100k', $b$
DO $d$ BEGIN
  FOR i IN 1 .. 100000 LOOP
    PERFORM convex_db_insert('bench_items', jsonb_build_object('room', 'r' || (i % 100), 'n', i % 1000,
      'tag', CASE WHEN i % 3 = 0 THEN NULL ELSE 't' || (i % 50) END,
      'meta', CASE WHEN i % 4 = 0 THEN NULL ELSE jsonb_build_object('k', i % 10, 'v', 'x' || (i % 7)) END)
      - CASE WHEN i % 3 = 0 THEN 'tag' ELSE '' END - CASE WHEN i % 4 = 0 THEN 'meta' ELSE '' END);
  END LOOP;
END $d$ $b$);
VACUUM ANALYZE convex.bench_items;
SELECT pg_temp.timed('query eq room, take 10 (plain), 100k', $b$
DO $d$ BEGIN
  FOR i IN 1 .. 100000 LOOP
    PERFORM count(*) FROM convex_db_query('bench_items', 'by_room', jsonb_build_object('room', 'r' || (i % 100)), 'asc', NULL, 10);
  END LOOP;
END $d$ $b$);
SELECT pg_temp.timed('query range n gt/lt, take 10 (keyed since 0.3.0), 100k', $b$
DO $d$ BEGIN
  FOR i IN 1 .. 100000 LOOP
    PERFORM count(*) FROM convex_db_query('bench_items', 'by_n', '{}', 'asc', jsonb_build_object('gt', i % 1000, 'lt', i % 1000 + 5), 10);
  END LOOP;
END $d$ $b$);
SELECT pg_temp.timed('query eq tag, take 10 (keyed since 0.3.0), 100k', $b$
DO $d$ BEGIN
  FOR i IN 1 .. 100000 LOOP
    PERFORM count(*) FROM convex_db_query('bench_items', 'by_tag', jsonb_build_object('tag', 't' || (i % 50)), 'desc', NULL, 10);
  END LOOP;
END $d$ $b$);
SELECT pg_temp.timed('query eq meta object, take 10 (keyed since 0.3.0), 100k', $b$
DO $d$ BEGIN
  FOR i IN 1 .. 100000 LOOP
    PERFORM count(*) FROM convex_db_query('bench_items', 'by_meta', jsonb_build_object('meta', jsonb_build_object('k', i % 10, 'v', 'x' || (i % 7))), 'asc', NULL, 10);
  END LOOP;
END $d$ $b$);
SELECT name, round(ms::numeric) AS ms, round(cpu_ms::numeric) AS cpu_ms FROM bench_times ORDER BY ctid;
SELECT pg_size_pretty(pg_relation_size(indexrelid)) AS size, indexrelid::regclass AS index
  FROM pg_index WHERE indrelid = 'convex.bench_items'::regclass ORDER BY 2::text;
