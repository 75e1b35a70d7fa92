-- test/pgtap/jsonb_build.sql: documents written straight into jsonb's
-- binary form (src/jsonb_build.c) are the bytes PostgreSQL itself writes.
--
-- Reads turn rows into jsonb without building JsonbValue trees: every
-- container is laid out by hand (padding, headers, JEntries with an offset
-- every 32nd child, numbers as numerics, stored jsonb copied as it is).
-- A layout PostgreSQL would not write can still be read and compare
-- equal (an offset in any JEntry, a numeric with trailing zero digits),
-- so each value's raw bytes are compared with those PostgreSQL writes for
-- its text parsed again: a table with toast_tuple_target 128 and
-- storage EXTERNAL keeps the value's bytes uncompressed in its toast
-- table, which a superuser can read.  On top of that the values compare
-- equal and each field and element is found by PostgreSQL's lookups.
-- Documents: wide ones (22 keys, past the 16 pairs whose 32 JEntries
-- hold one offset), every column type (string, float64 with NaN,
-- infinities and -0, int64, bytes, boolean, arrays, objects and scalars
-- stored as jsonb), absent optional fields; arrays: the built-in queries
-- over more than 32 documents, files.list (whose documents gain a url),
-- convex_db_select and paginated pages.
--
-- Run with pg_prove as a superuser; everything runs in one transaction that
-- is rolled back.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(14);

-- raw_bytes(j): j's bytes after its varlena header.  A row is toasted
-- only past 2 kB: the filler (compressed in the row, storage MAIN) takes
-- it there, and j (storage EXTERNAL: moved out first, never compressed)
-- leaves it for the toast table as it is.
CREATE TEMP TABLE raw_holder (j jsonb, filler text);
ALTER TABLE raw_holder ALTER COLUMN j SET STORAGE EXTERNAL;
ALTER TABLE raw_holder ALTER COLUMN filler SET STORAGE MAIN;
ALTER TABLE raw_holder SET (toast_tuple_target = 128);
CREATE FUNCTION pg_temp.raw_bytes(j jsonb) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
  toast regclass := (SELECT reltoastrelid::regclass FROM pg_class WHERE oid = 'raw_holder'::regclass);
  bytes bytea;
BEGIN
  DELETE FROM raw_holder;
  INSERT INTO raw_holder VALUES (j, repeat('x', 4000));
  EXECUTE format('SELECT string_agg(chunk_data, ''''::bytea ORDER BY chunk_seq) FROM %s', toast) INTO bytes;
  RETURN bytes;
END $$;

-- same_layout(j): j is, byte for byte, the jsonb PostgreSQL writes for its text
CREATE FUNCTION pg_temp.same_layout(j jsonb) RETURNS boolean LANGUAGE sql AS $$
  SELECT pg_temp.raw_bytes(j) IS NOT NULL
     AND pg_temp.raw_bytes(j) = pg_temp.raw_bytes(j::text::jsonb)
     AND j = j::text::jsonb
     AND CASE jsonb_typeof(j)
           WHEN 'object' THEN NOT EXISTS (
             SELECT 1 FROM jsonb_object_keys(j) k
              WHERE j -> k IS DISTINCT FROM (j::text::jsonb) -> k)
           WHEN 'array' THEN NOT EXISTS (
             SELECT 1 FROM generate_series(0, jsonb_array_length(j) - 1) i
              WHERE j -> i IS DISTINCT FROM (j::text::jsonb) -> i)
           ELSE true END
$$;

-- 20 fields of every kind, most optional: 22 keys with _id and _creationTime
SELECT convex_define_table('wide_docs', jsonb_build_object(
  'aString',  '{"fieldType": {"type": "string"}, "optional": false}'::jsonb,
  'aNumber',  '{"fieldType": {"type": "number"}, "optional": false}'::jsonb,
  'b',        '{"fieldType": {"type": "boolean"}, "optional": true}'::jsonb,
  'count',    '{"fieldType": {"type": "bigint"}, "optional": true}'::jsonb,
  'blob',     '{"fieldType": {"type": "bytes"}, "optional": true}'::jsonb,
  'tags',     '{"fieldType": {"type": "array", "value": {"type": "any"}}, "optional": true}'::jsonb,
  'meta',     '{"fieldType": {"type": "any"}, "optional": true}'::jsonb,
  'f01', '{"fieldType": {"type": "string"}, "optional": true}'::jsonb,
  'f02', '{"fieldType": {"type": "number"}, "optional": true}'::jsonb,
  'f03', '{"fieldType": {"type": "string"}, "optional": true}'::jsonb,
  'f04', '{"fieldType": {"type": "number"}, "optional": true}'::jsonb,
  'f05', '{"fieldType": {"type": "string"}, "optional": true}'::jsonb,
  'f06', '{"fieldType": {"type": "number"}, "optional": true}'::jsonb,
  'f07', '{"fieldType": {"type": "string"}, "optional": true}'::jsonb,
  'f08', '{"fieldType": {"type": "number"}, "optional": true}'::jsonb,
  'f09', '{"fieldType": {"type": "any"}, "optional": true}'::jsonb,
  'f10', '{"fieldType": {"type": "any"}, "optional": true}'::jsonb,
  'f11', '{"fieldType": {"type": "boolean"}, "optional": true}'::jsonb,
  'longerFieldNameNumberTwelve', '{"fieldType": {"type": "string"}, "optional": true}'::jsonb,
  'z',   '{"fieldType": {"type": "number"}, "optional": true}'::jsonb)) \g /dev/null

-- 300 documents: each optional field present in about two of three,
-- strings of 0 to 300 bytes (so numbers land at every position modulo 4),
-- the floats JSON cannot carry, int64 and bytes of every length, nested
-- and scalar jsonb
CREATE TEMP TABLE wide_ids AS
SELECT n, convex_db_insert('wide_docs', jsonb_strip_nulls(jsonb_build_object(
  'aString', repeat(chr(97 + n % 26), 60 + n % 301),
  'aNumber', CASE n % 7 WHEN 0 THEN '{"$float": "AAAAAAAA+H8="}'::jsonb      -- NaN
                        WHEN 1 THEN '{"$float": "AAAAAAAA8H8="}'::jsonb      -- Infinity
                        WHEN 2 THEN '{"$float": "AAAAAAAAAIA="}'::jsonb      -- -0
                        ELSE to_jsonb((random() - 0.5) * 10 ^ (n % 40 - 20)) END,
  'b',     CASE WHEN n % 3 <> 0 THEN to_jsonb(n % 2 = 0) END,
  'count', CASE WHEN n % 3 <> 1 THEN jsonb_build_object('$integer',
             encode(int8send((n * 7919 - 150000)::bigint), 'base64')) END,
  'blob',  CASE WHEN n % 3 <> 2 THEN jsonb_build_object('$bytes',
             encode(substr(convert_to(repeat('xyz', 40), 'UTF8'), 1, n % 37), 'base64')) END,
  'tags',  CASE WHEN n % 4 <> 0 THEN (SELECT coalesce(jsonb_agg(i), '[]') FROM generate_series(1, n % 45) i) END,
  'meta',  CASE n % 5 WHEN 0 THEN NULL WHEN 1 THEN 'null'::jsonb WHEN 2 THEN to_jsonb(n * 1.25)
                      WHEN 3 THEN to_jsonb('s' || n) ELSE jsonb_build_object('k', n, 'nested', jsonb_build_array(n, 'x', true)) END,
  'f01', CASE WHEN n % 2 = 0 THEN 'é' || n END,
  'f02', CASE WHEN n % 3 = 0 THEN to_jsonb(n / 3.0) END,
  'f03', CASE WHEN n % 5 <> 0 THEN repeat('q', n % 9) END,
  'f04', CASE WHEN n % 2 = 1 THEN to_jsonb(-n) END,
  'f05', CASE WHEN n % 7 <> 3 THEN 'five' END,
  'f06', CASE WHEN n % 4 = 1 THEN to_jsonb(1e-7 * n) END,
  'f07', CASE WHEN n % 6 <> 5 THEN '' END,
  'f08', CASE WHEN n % 8 <> 7 THEN to_jsonb(n) END,
  'f09', CASE WHEN n % 3 = 2 THEN jsonb_build_array() END,
  'f10', CASE WHEN n % 3 = 1 THEN '{}'::jsonb END,
  'f11', CASE WHEN n % 2 = 0 THEN 'false'::jsonb END,
  'longerFieldNameNumberTwelve', CASE WHEN n % 5 <> 4 THEN 'twelve' END,
  'z',   CASE WHEN n % 9 <> 0 THEN to_jsonb(n + 0.5) END))
  || CASE WHEN n % 5 = 1 THEN '{"meta": null}'::jsonb ELSE '{}' END) AS id
  FROM generate_series(1, 300) n;

SELECT is((SELECT count(*) FROM wide_ids WHERE NOT pg_temp.same_layout(convex_db_get('wide_docs', id))),
          0::bigint, 'convex_db_get: 300 documents of every field type have PostgreSQL''s own layout');
SELECT is((SELECT count(*) FROM wide_ids
            WHERE (SELECT count(*) FROM jsonb_object_keys(convex_db_get('wide_docs', id))) = 22),
          (SELECT count(*) FROM wide_ids w, convex.wide_docs d WHERE d._id = w.id
              AND num_nulls(d.b, d.count, d.blob, d.tags, d.meta, d.f01, d.f02, d.f03, d.f04, d.f05, d.f06,
                            d.f07, d.f08, d.f09, d.f10, d.f11, d.longer_field_name_number_twelve, d.z) = 0),
          'a document has a key for each present field and no other');
SELECT is((SELECT count(*) FROM wide_ids
            WHERE convex_db_get('wide_docs', id) -> 'aNumber' = '{"$float": "AAAAAAAA+H8="}'),
          (SELECT count(*) FROM wide_ids WHERE n % 7 = 0), 'NaN reads back as Convex''s {"$float": ...}');
SELECT is((SELECT count(*) FROM wide_ids
            WHERE (convex_db_get('wide_docs', id) -> 'count') IS DISTINCT FROM CASE WHEN n % 3 <> 1 THEN
                    jsonb_build_object('$integer', encode(int8send((n * 7919 - 150000)::bigint), 'base64')) END
               OR (convex_db_get('wide_docs', id) -> 'meta') IS DISTINCT FROM CASE n % 5 WHEN 0 THEN NULL
                    WHEN 1 THEN 'null'::jsonb WHEN 2 THEN to_jsonb(n * 1.25) WHEN 3 THEN to_jsonb('s' || n)
                    ELSE jsonb_build_object('k', n, 'nested', jsonb_build_array(n, 'x', true)) END),
          0::bigint,
          'int64 and stored jsonb (null, number, string, object) read back as written');

-- numbers of every magnitude, in float64 columns: 10^k, 1.5 * 10^k and
-- 123.456 * 10^k for every k a double reaches, so that the numerics have
-- trailing zero digits, display scales past 63 and weights past +-63
-- (numeric's short header and its long one)
SELECT convex_define_table('number_docs', (SELECT jsonb_object_agg('x' || i,
         '{"fieldType": {"type": "number"}, "optional": true}'::jsonb) FROM generate_series(1, 10) i)) \g /dev/null
CREATE TEMP TABLE number_cases AS
SELECT row_number() OVER () AS i, x FROM (
  SELECT m * 10::float8 ^ k AS x FROM generate_series(-323, 308) k, unnest(ARRAY[1, 1.5, 123.456, -7]::float8[]) m
   WHERE k <= 305 OR m = 1
  UNION ALL SELECT unnest(ARRAY[5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 9007199254740991,
                                9007199254740993, -9223372036854775808, 1e21, 1e22, 1796428332427.746, 0.1, 10000, 1e8, 0])) c;
CREATE TEMP TABLE number_ids AS
SELECT convex_db_insert('number_docs', (SELECT jsonb_object_agg('x' || (i % 10 + 1), x) FROM number_cases c
                                         WHERE c.i / 10 = g)) AS id
  FROM generate_series(0, (SELECT max(i) / 10 FROM number_cases)) g;
SELECT is((SELECT count(*) FROM number_ids WHERE NOT pg_temp.same_layout(convex_db_get('number_docs', id))),
          0::bigint, 'numbers of every magnitude are PostgreSQL''s own numerics, byte for byte');

SELECT is((SELECT count(*) FROM convex_db_select('{"source": {"type": "FullTableScan", "tableName": "wide_docs"}, "operators": []}') d
            WHERE NOT pg_temp.same_layout(d)), 0::bigint, 'convex_db_select: every document has PostgreSQL''s layout');
SELECT ok(pg_temp.same_layout(convex_db_paginate(
            '{"source": {"type": "FullTableScan", "tableName": "wide_docs"}, "operators": []}',
            '{"numItems": 120, "cursor": null}') -> 'page'), 'a page of 120 wide documents has PostgreSQL''s layout');
SELECT ok(pg_temp.same_layout(convex_db_paginate(
            '{"source": {"type": "FullTableScan", "tableName": "wide_docs"}, "operators": []}',
            '{"numItems": 40, "cursor": null}')), 'and so has the whole result, {page, isDone, continueCursor}');

-- the built-in queries: 70 messages in a room (past 64, two JEntry offsets)
SELECT convex_messages_send(jsonb_build_object('roomId', 'layout', 'content', repeat('m', i % 50),
         'userName', 'u' || i, 'sessionId', CASE WHEN i % 2 = 0 THEN 's' || i ELSE '' END))
  FROM generate_series(1, 70) i \g /dev/null
SELECT ok(pg_temp.same_layout(convex_messages_list('{"roomId": "layout"}')),
          'messages.list of 70 messages has PostgreSQL''s layout');
SELECT is(jsonb_array_length(convex_messages_list('{"roomId": "layout"}')), 70, 'and all 70, in order');
SELECT is((SELECT array_agg((m ->> 'userName') ORDER BY o) FROM jsonb_array_elements(convex_messages_list('{"roomId": "layout"}'))
             WITH ORDINALITY AS x(m, o)),
          (SELECT array_agg('u' || i ORDER BY i) FROM generate_series(1, 70) i), 'messages in the order they were sent');
SELECT ok(pg_column_size(convex_messages_list('{"roomId": "nobody-here"}')) = pg_column_size('[]'::jsonb) AND
          convex_messages_list('{"roomId": "nobody-here"}') = '[]', 'an empty room is [] in PostgreSQL''s layout');

SELECT convex_presence_update(jsonb_build_object('roomId', 'layout', 'sessionId', 'p' || i,
         'data', jsonb_build_object('cursor', jsonb_build_object('x', i, 'y', i * 1.5), 'name', repeat('n', i % 7))))
  FROM generate_series(1, 40) i \g /dev/null
SELECT ok(pg_temp.same_layout(convex_presence_list('{"roomId": "layout"}')) AND
          jsonb_array_length(convex_presence_list('{"roomId": "layout"}')) = 40,
          'presence.list of 40 sessions has PostgreSQL''s layout');

-- files.list: its documents gain a url (the path that adds fields)
SELECT convex_files_save_file(jsonb_build_object(
         'storageId', convex_storage_upload(convex_files_generate_upload_url(), '\x6869'::bytea, 'text/plain') ->> 'storageId',
         'name', 'f' || i || '.txt', 'type', 'text/plain', 'size', 2, 'sessionId', 'layout-session'))
  FROM generate_series(1, 35) i \g /dev/null
SELECT ok(pg_temp.same_layout(convex_files_list('{"sessionId": "layout-session"}')) AND
          jsonb_array_length(convex_files_list('{"sessionId": "layout-session"}')) = 35 AND
          (SELECT bool_and(f ? 'url') FROM jsonb_array_elements(convex_files_list('{"sessionId": "layout-session"}')) f),
          'files.list of 35 files, each with its url, has PostgreSQL''s layout');

SELECT * FROM finish();
ROLLBACK;
