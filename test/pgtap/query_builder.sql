-- test/pgtap/query_builder.sql: the query builder (convex_db_select, first,
-- unique, paginate, count) inside mutations and across pages.
--
-- Inside a mutation every builder read locks its range through conflicts.c
-- (ShareLock on the eq prefix's key, on the table without eq), whatever its
-- filters discard, and every document scanned counts against
-- convexlite.max_documents_read as Convex counts them.  Pages chained by
-- their cursors cover a range exactly once, several paginations can run in
-- one call, system tables are read as ctx.db.system.query reads them, and
-- the functions are closed to PUBLIC like convex_db_query.
--
-- Run with pg_prove as a superuser; everything runs in one transaction that
-- is rolled back.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(22);
SET LOCAL client_min_messages = warning;
DROP SCHEMA IF EXISTS regress_cvx_tap CASCADE;
CREATE SCHEMA regress_cvx_tap;
\ir lib/roles.sql
SELECT regress_cvx_tap.ensure_roles('', 'regress_qb_reader', 'regress_qb_nobody') \g /dev/null
RESET client_min_messages;

SELECT convex_define_table('qb_msgs',
  '{"room": {"fieldType": {"type": "string"}, "optional": false},
    "n":    {"fieldType": {"type": "number"}, "optional": false},
    "tag":  {"fieldType": {"type": "string"}, "optional": true}}',
  '{"by_room": ["room"], "by_tag": ["tag"]}') \g /dev/null
SELECT count(convex_db_insert('qb_msgs', jsonb_build_object('room', 'r' || (i % 2), 'n', i)
       || CASE WHEN i % 3 = 0 THEN jsonb_build_object('tag', 't' || (i % 4)) ELSE '{}' END))
  FROM generate_series(1, 40) AS i \g /dev/null

-- the query of a room's messages, with optional filter operators
CREATE FUNCTION regress_cvx_tap.room(room text, operators jsonb DEFAULT '[]') RETURNS jsonb
LANGUAGE sql AS $$
  SELECT jsonb_build_object('source', jsonb_build_object('type', 'IndexRange', 'indexName', 'qb_msgs.by_room',
    'order', 'asc', 'range', jsonb_build_array(jsonb_build_object('type', 'Eq', 'fieldPath', 'room', 'value', room))),
    'operators', operators)
$$;
-- convexlite's key locks (locktag_field4 0x436b) this backend holds in ShareLock
CREATE FUNCTION regress_cvx_tap.share_key_locks() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM pg_locks
  WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND objsubid = 17259 AND mode = 'ShareLock'
$$;

-- the same for the tables' own keys (key 0)
CREATE FUNCTION regress_cvx_tap.table_share_locks() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM pg_locks
  WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND objsubid = 17259 AND objid = 0 AND mode = 'ShareLock'
$$;

-- Handlers: each reads with the builder and reports what it found and which locks it holds
-- ("locks": the key locks the read added to those the call held before it)
CREATE FUNCTION regress_cvx_tap.h_filter_nothing(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE found bigint; before bigint := regress_cvx_tap.share_key_locks();
BEGIN
  SELECT count(*) INTO found FROM convex_db_select(regress_cvx_tap.room(args->>'room',
    '[{"filter": {"$eq": [{"$field": "n"}, {"$literal": -1}]}}]'));
  RETURN jsonb_build_object('found', found, 'locks', regress_cvx_tap.share_key_locks() - before);
END $$;
CREATE FUNCTION regress_cvx_tap.h_page(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE page jsonb; before bigint := regress_cvx_tap.share_key_locks();
BEGIN
  page := convex_db_paginate(regress_cvx_tap.room(args->>'room'), jsonb_build_object('numItems', 3, 'cursor', NULL));
  RETURN jsonb_build_object('n', jsonb_array_length(page->'page'), 'locks', regress_cvx_tap.share_key_locks() - before);
END $$;
CREATE FUNCTION regress_cvx_tap.h_count_all(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  RETURN to_jsonb(convex_db_count(jsonb_build_object('source', '{"type": "FullTableScan", "tableName": "qb_msgs", "order": null}'::jsonb,
    'operators', '[{"filter": {"$gt": [{"$field": "n"}, {"$literal": 1000}]}}]'::jsonb)));
END $$;
-- two paginations interleaved in one call: room r0 and room r1, two pages each
CREATE FUNCTION regress_cvx_tap.h_two_paginations(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE a1 jsonb; b1 jsonb; a2 jsonb; b2 jsonb;
BEGIN
  a1 := convex_db_paginate(regress_cvx_tap.room('r0'), '{"numItems": 2, "cursor": null}');
  b1 := convex_db_paginate(regress_cvx_tap.room('r1'), '{"numItems": 2, "cursor": null}');
  a2 := convex_db_paginate(regress_cvx_tap.room('r0'), jsonb_build_object('numItems', 2, 'cursor', a1->'continueCursor'));
  b2 := convex_db_paginate(regress_cvx_tap.room('r1'), jsonb_build_object('numItems', 2, 'cursor', b1->'continueCursor'));
  RETURN jsonb_build_object('r0', jsonb_path_query_array(a1, '$.page[*].n') || jsonb_path_query_array(a2, '$.page[*].n'),
                            'r1', jsonb_path_query_array(b1, '$.page[*].n') || jsonb_path_query_array(b2, '$.page[*].n'));
END $$;
SELECT convex_define_mutation('qb:filterNothing', 'regress_cvx_tap.h_filter_nothing(jsonb)',
  '{"type": "object", "value": {"room": {"fieldType": {"type": "string"}, "optional": false}}}', '{"type": "any"}') \g /dev/null
SELECT convex_define_mutation('qb:page', 'regress_cvx_tap.h_page(jsonb)',
  '{"type": "object", "value": {"room": {"fieldType": {"type": "string"}, "optional": false}}}', '{"type": "any"}') \g /dev/null
SELECT convex_define_mutation('qb:countAll', 'regress_cvx_tap.h_count_all(jsonb)', '{"type": "object", "value": {}}', '{"type": "any"}') \g /dev/null
SELECT convex_define_mutation('qb:twoPaginations', 'regress_cvx_tap.h_two_paginations(jsonb)', '{"type": "object", "value": {}}', '{"type": "any"}') \g /dev/null

-- 1-3: a filter that discards every document still locks the room's key (the
-- first read of each key: the locks are held until the transaction ends)
SELECT is(regress_cvx_tap.share_key_locks(), 0::bigint, 'outside a mutation a builder read takes no lock');
SELECT is((convex_mutation('qb:filterNothing', '{"room": "r0"}') ->> 'locks')::int, 1,
  'inside a mutation the room''s key is ShareLocked although nothing was returned');
SELECT is(convex_mutation('qb:filterNothing', '{"room": "r0"}') -> 'found', '0', 'the filter discards every document of the room');
-- 4: a page in a mutation locks its range too
SELECT is((convex_mutation('qb:page', '{"room": "r1"}') ->> 'locks')::int, 1, 'a paginate page in a mutation locks its range');

-- 4b-4c: a nested index path ("a.b") locks the table (a write's keys hold the whole column there)
SELECT convex_define_table('qb_nest', '{"a": {"fieldType": {"type": "any"}, "optional": false}}', '{"by_ab": ["a.b"]}') \g /dev/null
SELECT convex_db_insert('qb_nest', '{"a": {"b": 1}}') \g /dev/null
CREATE FUNCTION regress_cvx_tap.h_nested(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE found bigint; before bigint := regress_cvx_tap.table_share_locks();
BEGIN
  SELECT count(*) INTO found FROM convex_db_select('{"source": {"type": "IndexRange", "indexName": "qb_nest.by_ab",
    "range": [{"type": "Eq", "fieldPath": "a.b", "value": 1}], "order": "asc"}, "operators": []}');
  RETURN jsonb_build_object('found', found, 'table_locks', regress_cvx_tap.table_share_locks() - before);
END $$;
SELECT convex_define_mutation('qb:nested', 'regress_cvx_tap.h_nested(jsonb)', '{"type": "object", "value": {}}', '{"type": "any"}') \g /dev/null
SELECT is((convex_mutation('qb:nested', '{}') ->> 'table_locks')::int, 1,
  'in a mutation, eq on a nested index path ShareLocks the table key');
SELECT is(convex_mutation('qb:nested', '{}') -> 'found', '1', 'withIndex on a nested path finds the document');

-- 5-7: every scanned document counts against the read limit (filtered ones included)
SET LOCAL convexlite.max_documents_read = 40;
SELECT is(convex_mutation('qb:countAll', '{}'), '0', 'a count whose filter matches nothing scans 40 documents: within a limit of 40');
SET LOCAL convexlite.max_documents_read = 39;
SELECT throws_ok($$SELECT convex_mutation('qb:countAll', '{}')$$, '54000', NULL,
  'the same count with a limit of 39: documents scanned by a filter count, as in Convex');
RESET convexlite.max_documents_read;
SELECT is(convex_mutation('qb:page', '{"room": "r1"}') -> 'n', '3', 'a page reads only its documents');

-- 8: several paginations in one call
SELECT is(convex_mutation('qb:twoPaginations', '{}'),
  '{"r0": [2, 4, 6, 8], "r1": [1, 3, 5, 7]}'::jsonb, 'two paginations interleaved in one mutation');

-- 9-11: chained pages cover a range exactly once, whatever the page size, both directions
CREATE FUNCTION regress_cvx_tap.all_pages(query jsonb, size int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE cur jsonb := 'null'; p jsonb; acc jsonb := '[]';
BEGIN
  LOOP
    p := convex_db_paginate(query, jsonb_build_object('numItems', size, 'cursor', cur));
    acc := acc || jsonb_path_query_array(p, '$.page[*]._id');
    EXIT WHEN (p->>'isDone')::boolean;
    cur := p->'continueCursor';
  END LOOP;
  RETURN acc;
END $$;
SELECT is(regress_cvx_tap.all_pages(regress_cvx_tap.room('r0'), 3),
  (SELECT jsonb_agg(d->'_id') FROM convex_db_select(regress_cvx_tap.room('r0')) d), 'pages of 3 of a room = its collect');
SELECT is(regress_cvx_tap.all_pages('{"source": {"type": "IndexRange", "indexName": "qb_msgs.by_tag", "order": "desc", "range": []}, "operators": []}', 7),
  (SELECT jsonb_agg(d->'_id') FROM convex_db_select('{"source": {"type": "IndexRange", "indexName": "qb_msgs.by_tag", "order": "desc", "range": []}, "operators": []}') d),
  'pages of 7 of an optional field''s index, descending, missing values last = its collect');
SELECT is(regress_cvx_tap.all_pages('{"source": {"type": "FullTableScan", "tableName": "qb_msgs", "order": "asc"}, "operators": [{"filter": {"$eq": [{"$field": "tag"}, {"$literal": "t1"}]}}]}', 2),
  (SELECT jsonb_agg(d->'_id') FROM convex_db_select('{"source": {"type": "FullTableScan", "tableName": "qb_msgs", "order": "asc"}, "operators": [{"filter": {"$eq": [{"$field": "tag"}, {"$literal": "t1"}]}}]}') d),
  'filtered pages of 2 = the filtered collect');

-- 12-13: documents inserted and deleted between pages: none that existed throughout is skipped or repeated
CREATE TEMP TABLE seen (id text);
DO $$
DECLARE cur jsonb := 'null'; p jsonb; victim text; i int := 0;
BEGIN
  LOOP
    p := convex_db_paginate(regress_cvx_tap.room('r1'), jsonb_build_object('numItems', 4, 'cursor', cur));
    INSERT INTO seen SELECT jsonb_array_elements_text(jsonb_path_query_array(p, '$.page[*]._id'));
    EXIT WHEN (p->>'isDone')::boolean;
    cur := p->'continueCursor';
    i := i + 1;
    -- between pages: a new message, and the deletion of one not yet seen (the last of the room)
    PERFORM convex_db_insert('qb_msgs', jsonb_build_object('room', 'r1', 'n', 1000 + i));
    SELECT _id INTO victim FROM convex.qb_msgs WHERE room = 'r1' AND n < 1000 AND _id NOT IN (SELECT id FROM seen)
      ORDER BY _creation_time DESC LIMIT 1;
    IF victim IS NOT NULL THEN PERFORM convex_db_delete('qb_msgs', victim); END IF;
  END LOOP;
END $$;
SELECT is((SELECT count(*) FROM seen), (SELECT count(DISTINCT id) FROM seen), 'no document is repeated across pages');
SELECT is((SELECT count(*) FROM convex.qb_msgs WHERE room = 'r1' AND _id NOT IN (SELECT id FROM seen) AND n < 1000), 0::bigint,
  'every document that existed throughout was seen');

-- 14-15: system tables (ctx.db.system.query)
SELECT lives_ok($$SELECT count(*) FROM convex_db_select('{"source": {"type": "FullTableScan", "tableName": "_storage", "order": "desc"}, "operators": [{"limit": 5}]}')$$,
  'ctx.db.system.query("_storage")');
SELECT is(convex_db_count('{"source": {"type": "IndexRange", "indexName": "_scheduled_functions.by_creation_time", "order": "asc", "range": []}, "operators": []}'),
  (SELECT count(*) FROM convex._scheduled_functions), 'ctx.db.system.query("_scheduled_functions") counts the jobs');

-- 16-20: who may call: closed to PUBLIC like convex_db_query
GRANT USAGE ON SCHEMA regress_cvx_tap TO regress_qb_reader, regress_qb_nobody;
GRANT EXECUTE ON FUNCTION convex_db_select(jsonb), convex_db_count(jsonb), convex_db_query(text, text, jsonb, text, jsonb, integer) TO regress_qb_reader;
SET LOCAL ROLE regress_qb_nobody;
SELECT throws_ok($$SELECT convex_db_count('{"source": {"type": "FullTableScan", "tableName": "qb_msgs"}}')$$, '42501', NULL,
  'a role without EXECUTE cannot count');
SELECT throws_ok($$SELECT convex_db_paginate('{"source": {"type": "FullTableScan", "tableName": "qb_msgs"}}', '{"numItems": 1, "cursor": null}')$$, '42501', NULL,
  'a role without EXECUTE cannot paginate');
RESET ROLE;
SET LOCAL ROLE regress_qb_reader;
SELECT throws_ok($$SELECT * FROM convex.qb_msgs$$, '42501', NULL, 'the reader cannot read the table directly');
-- EXECUTE alone is what convex_db_query gives too: the functions are not
-- SECURITY DEFINER, the table's rights still apply (handlers run as their owner)
SELECT throws_ok($$SELECT count(*) FROM convex_db_query('qb_msgs')$$, '42501', NULL,
  'convex_db_query granted alone: the table stays closed');
SELECT throws_ok($$SELECT count(*) FROM convex_db_select('{"source": {"type": "FullTableScan", "tableName": "qb_msgs"}}')$$, '42501', NULL,
  'convex_db_select granted alone: the same, like convex_db_query');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
