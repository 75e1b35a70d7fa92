-- test/pgtap/float_numbers.sql: float64 values come back as the JSON
-- number with the shortest text that reads back as the same double.
--
-- Every document read (convex_db_get, the built-in queries, the query
-- builder) turns stored doubles (_creationTime, float64 fields) into jsonb
-- numbers through one conversion (cvx_float8_to_numeric), which builds the
-- numeric from the shortest decimal digits without numeric_in.  Checked
-- here against PostgreSQL's own path (float8out's shortest text, then
-- numeric_in) for doubles of every magnitude: the same value and the same
-- text (display scale), whatever extra_float_digits the session uses, and
-- the query builder's arithmetic keeps every digit too.
--
-- Run with pg_prove as a superuser; everything runs in one transaction that
-- is rolled back.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(7);

SELECT convex_define_table('float_docs',
  '{"x": {"fieldType": {"type": "number"}, "optional": false}}') \g /dev/null

-- doubles of every magnitude and sign, and the edges of the fast path:
-- integers up to and past int64, 17 significant digits, subnormals, the
-- fractional milliseconds of creation times
CREATE TEMP TABLE float_cases (x float8);
INSERT INTO float_cases
SELECT (random() - 0.5) * power(10::float8, floor(random() * 60) - 30)
  FROM generate_series(1, 3000);
INSERT INTO float_cases
SELECT floor(random() * 1e6) * power(10::float8, floor(random() * 30))
  FROM generate_series(1, 500);
INSERT INTO float_cases VALUES
  (1), (-1), (0.1), (0.5), (1e-7), (-1.5e-7), (1e15), (1e16), (1e21), (1e22), (1e23),
  (123456789012345678), (9007199254740993), (-9223372036854775808), (9.223372036854776e18),
  (1.7976931348623157e308), (5e-324), (2.2250738585072014e-308), (1796428332427.746),
  (1796428332435.25), (1733350000000.1235), (99999999999999.99), (0.30000000000000004),
  (123.456e-300), (1e300), (4.35), (-0.001);
ALTER TABLE float_cases ADD COLUMN id text;
UPDATE float_cases SET id = convex_db_insert('float_docs', jsonb_build_object('x', x));

SELECT is((SELECT count(*) FROM float_cases
            WHERE (convex_db_get('float_docs', id) -> 'x')::numeric <> (x::text)::numeric), 0::bigint,
          'every float64 field reads back as the same number as PostgreSQL''s shortest text');
SELECT is((SELECT count(*) FROM float_cases
            WHERE (convex_db_get('float_docs', id) -> 'x')::text <> ((x::text)::numeric)::text), 0::bigint,
          'and with the same text (display scale) as numeric_in gives');
SELECT is((SELECT count(*) FROM float_cases
            WHERE ((convex_db_get('float_docs', id) -> 'x')::text)::float8 <> x), 0::bigint,
          'every one reads back as the same double');
SELECT is((SELECT count(*) FROM convex.float_docs d
            WHERE (convex_db_get('float_docs', d._id) -> '_creationTime')::text
                  <> ((d._creation_time::text)::numeric)::text), 0::bigint,
          '_creationTime keeps every digit of the stored double');

-- the session's extra_float_digits changes neither reads nor the builder's arithmetic
SET LOCAL extra_float_digits = 0;
SELECT is((SELECT count(*) FROM float_cases
            WHERE ((convex_db_get('float_docs', id) -> 'x')::text)::float8 <> x), 0::bigint,
          'with extra_float_digits = 0, documents still carry every digit');
SELECT is(convex_db_count('{"source": {"type": "FullTableScan", "tableName": "float_docs", "order": "asc"},
                            "operators": [{"filter": {"$eq": [{"$add": [{"$field": "x"}, {"$literal": 0}]},
                                                              {"$field": "x"}]}}]}'),
          (SELECT count(*) FROM float_cases),
          'with extra_float_digits = 0, x + 0 == x holds for every document (the filter keeps every digit)');
SELECT is(convex_db_count('{"source": {"type": "FullTableScan", "tableName": "float_docs", "order": "asc"},
                            "operators": [{"filter": {"$eq": [{"$add": [{"$field": "_creationTime"}, {"$literal": 0}]},
                                                              {"$field": "_creationTime"}]}}]}'),
          (SELECT count(*) FROM float_cases),
          'with extra_float_digits = 0, _creationTime + 0 == _creationTime for every document');
RESET extra_float_digits;

SELECT * FROM finish();
ROLLBACK;
