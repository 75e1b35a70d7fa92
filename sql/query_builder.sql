--
-- The query builder: convex_db_select / first / unique / paginate / count
-- over the JSON convex-js sends (docs/query-builder.md)
--
SELECT convex_define_table('qb_items',
  '{"room": {"fieldType": {"type": "string"}, "optional": false},
    "n":    {"fieldType": {"type": "number"}, "optional": false},
    "tag":  {"fieldType": {"type": "string"}, "optional": true},
    "big":  {"fieldType": {"type": "bigint"}, "optional": true},
    "meta": {"fieldType": {"type": "any"}, "optional": true}}',
  '{"by_room": ["room"], "by_n": ["n"], "by_room_tag": ["room", "tag"], "by_meta": ["meta"]}') > 10004 AS defined;
SELECT count(convex_db_insert('qb_items',
  jsonb_build_object('room', 'r' || (i % 3), 'n', i)
  || CASE WHEN i % 2 = 0 THEN jsonb_build_object('tag', 't' || i) ELSE '{}' END
  || CASE WHEN i % 4 = 1 THEN jsonb_build_object('meta', jsonb_build_object('k', i, 'v', 'x' || i)) ELSE '{}' END
  || CASE WHEN i % 5 = 0 THEN jsonb_build_object('big', jsonb_build_object('$integer', encode(decode(lpad(to_hex(i), 2, '0') || '00000000000000', 'hex'), 'base64'))) ELSE '{}' END))
  FROM generate_series(1, 12) AS i;
-- meta of other types, to see Convex's order across types
SELECT convex_db_insert('qb_items', '{"room": "r9", "n": 100, "meta": "a string"}') IS NOT NULL AS ok;
SELECT convex_db_insert('qb_items', '{"room": "r9", "n": 101, "meta": null}') IS NOT NULL AS ok;
SELECT convex_db_insert('qb_items', '{"room": "r9", "n": 102, "meta": 7}') IS NOT NULL AS ok;
SELECT convex_db_insert('qb_items', '{"room": "r9", "n": 103, "meta": true}') IS NOT NULL AS ok;
SELECT convex_db_insert('qb_items', '{"room": "r9", "n": 104, "meta": [1]}') IS NOT NULL AS ok;
-- the JSON of a query, for brevity
CREATE FUNCTION pg_temp.q(source jsonb, operators jsonb DEFAULT '[]') RETURNS jsonb
  LANGUAGE sql AS $$ SELECT jsonb_build_object('source', source, 'operators', operators) $$;
CREATE FUNCTION pg_temp.ns(query jsonb) RETURNS text
  LANGUAGE sql AS $$ SELECT string_agg(d ->> 'n', ',') FROM convex_db_select(query) d $$;

-- collect: an index range with eq, in index order (_creationTime after the fields)
SELECT pg_temp.ns(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_room", "order": "asc",
  "range": [{"type": "Eq", "fieldPath": "room", "value": "r1"}]}')) AS room_r1;
SELECT pg_temp.ns(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_room", "order": "desc",
  "range": [{"type": "Eq", "fieldPath": "room", "value": "r1"}]}')) AS room_r1_desc;
-- gt/lte bounds after eq prefix; an order of null is asc
SELECT pg_temp.ns(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_n", "order": null,
  "range": [{"type": "Gt", "fieldPath": "n", "value": 3}, {"type": "Lte", "fieldPath": "n", "value": 7}]}')) AS n_3_7;
-- take(n): a limit operator
SELECT pg_temp.ns(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "desc"}', '[{"limit": 3}]')) AS newest_three;
-- eq on a missing field: {"$undefined": null}
SELECT pg_temp.ns(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_room_tag", "order": "asc",
  "range": [{"type": "Eq", "fieldPath": "room", "value": "r1"}, {"type": "Eq", "fieldPath": "tag", "value": {"$undefined": null}}]}')) AS r1_no_tag;
-- Convex's order across types: undefined < null < int64 < float64 < boolean < string < bytes < array < object
SELECT pg_temp.ns(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_meta", "order": "asc", "range": []}')) AS by_meta;
-- by_creation_time, by_id
SELECT pg_temp.ns(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_creation_time", "order": "asc", "range": []}', '[{"limit": 2}]')) AS oldest_two;
SELECT _id AS some_id FROM convex.qb_items WHERE n = 5 \gset
SELECT convex_db_unique(pg_temp.q(jsonb_build_object('type', 'IndexRange', 'indexName', 'qb_items.by_id', 'order', 'asc',
  'range', jsonb_build_array(jsonb_build_object('type', 'Eq', 'fieldPath', '_id', 'value', :'some_id'))))) ->> 'n' AS by_id;

-- filters: fields, nested paths, comparisons across types, missing = undefined
SELECT pg_temp.ns(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$eq": [{"$field": "tag"}, {"$literal": "t4"}]}}]')) AS tag_eq;
SELECT pg_temp.ns(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$lt": [{"$field": "tag"}, {"$literal": "t4"}]}}]')) AS tag_lt_t4_includes_missing;
SELECT pg_temp.ns(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$eq": [{"$field": "tag"}, {"$literal": {"$undefined": null}}]}}]')) AS tag_missing;
SELECT pg_temp.ns(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$eq": [{"$field": "meta.k"}, {"$literal": 5}]}}]')) AS nested_meta_k;
SELECT pg_temp.ns(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$gt": [{"$field": "meta"}, {"$literal": 1000}]}}]')) AS meta_above_a_number;
SELECT pg_temp.ns(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$neq": [{"$field": "nope.deeper"}, {"$literal": {"$undefined": null}}]}}]')) AS unknown_field_is_undefined;
SELECT pg_temp.ns(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$and": [{"$gte": [{"$field": "n"}, {"$literal": 3}]}, {"$not": {"$eq": [{"$field": "room"}, {"$literal": "r0"}]}}]}},
    {"filter": {"$or": [{"$lt": [{"$field": "n"}, {"$literal": 6}]}, {"$gt": [{"$field": "n"}, {"$literal": 10}]}]}}]')) AS and_or_not;
-- arithmetic: float64 with float64, int64 with int64
SELECT pg_temp.ns(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$eq": [{"$mod": [{"$field": "n"}, {"$literal": 4}]}, {"$add": [{"$literal": 1}, {"$mul": [{"$literal": 2}, {"$literal": 0}]}]}]}}]')) AS n_mod_4_is_1;
SELECT pg_temp.ns(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$neq": [{"$field": "big"}, {"$literal": {"$undefined": null}}]}},
    {"filter": {"$gt": [{"$sub": [{"$field": "big"}, {"$literal": {"$integer": "AQAAAAAAAAA="}}]}, {"$literal": {"$integer": "BQAAAAAAAAA="}}]}}]')) AS big_minus_1_gt_5;
SELECT pg_temp.ns(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$lt": [{"$neg": {"$div": [{"$field": "n"}, {"$literal": 2}]}}, {"$literal": -50}]}}]')) AS neg_half;
-- a filter, then a limit, then another filter: Convex's lazy chain
SELECT pg_temp.ns(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$eq": [{"$field": "room"}, {"$literal": "r0"}]}}, {"limit": 3}, {"filter": {"$gt": [{"$field": "n"}, {"$literal": 3}]}}]')) AS chain;

-- a limit of 0 after a filter: nothing (a plain filter, and one evaluated row by row)
SELECT count(*) AS limit_0_after_filter FROM convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$gt": [{"$field": "n"}, {"$literal": 0}]}}, {"limit": 0}]'));
SELECT count(*) AS limit_0_after_arithmetic FROM convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$gt": [{"$add": [{"$field": "n"}, {"$literal": 1}]}, {"$literal": 0}]}}, {"limit": 0}]'));

-- first, unique (Convex's error for two), count
SELECT convex_db_first(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_n", "order": "desc", "range": []}')) ->> 'n' AS first_desc;
SELECT convex_db_first(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_n", "order": "asc",
  "range": [{"type": "Gt", "fieldPath": "n", "value": 1000}]}')) IS NULL AS first_none;
SELECT convex_db_unique(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_n", "order": "asc",
  "range": [{"type": "Eq", "fieldPath": "n", "value": 12}]}')) ->> 'n' AS unique_one;
\set VERBOSITY sqlstate
SELECT convex_db_unique(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_room", "order": "asc",
  "range": [{"type": "Eq", "fieldPath": "room", "value": "r1"}]}'));
\set VERBOSITY default
SELECT convex_db_count(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_room", "order": "asc",
  "range": [{"type": "Eq", "fieldPath": "room", "value": "r9"}]}')) AS count_r9;
SELECT convex_db_count(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": null}',
  '[{"filter": {"$gt": [{"$field": "n"}, {"$literal": 10}]}}, {"limit": 4}]')) AS count_filtered_limited;

-- paginate: pages of 5 through room r9 and the whole table, by cursor
SELECT convex_db_paginate(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_meta", "order": "asc", "range": []}'),
  '{"numItems": 5, "cursor": null}') AS p1 \gset
SELECT jsonb_path_query_array(:'p1', '$.page[*].n') AS page1, :'p1'::jsonb -> 'isDone' AS done1;
SELECT convex_db_paginate(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_meta", "order": "asc", "range": []}'),
  jsonb_build_object('numItems', 5, 'cursor', :'p1'::jsonb -> 'continueCursor')) AS p2 \gset
SELECT jsonb_path_query_array(:'p2', '$.page[*].n') AS page2, :'p2'::jsonb -> 'isDone' AS done2;
SELECT convex_db_paginate(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_meta", "order": "asc", "range": []}'),
  jsonb_build_object('numItems', 100, 'cursor', :'p2'::jsonb -> 'continueCursor')) AS p3 \gset
SELECT jsonb_path_query_array(:'p3', '$.page[*].n') AS page3, :'p3'::jsonb -> 'isDone' AS done3;
-- the end cursor gives an empty, done page
SELECT convex_db_paginate(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_meta", "order": "asc", "range": []}'),
  jsonb_build_object('numItems', 5, 'cursor', :'p3'::jsonb -> 'continueCursor')) - 'continueCursor' AS after_end;
-- maximumRowsRead: a filtered page stops after that many scanned documents
SELECT convex_db_paginate(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$gt": [{"$field": "n"}, {"$literal": 10}]}}]'),
  '{"numItems": 5, "cursor": null, "maximumRowsRead": 4}') AS m1 \gset
SELECT jsonb_path_query_array(:'m1', '$.page[*].n') AS capped_page, :'m1'::jsonb -> 'isDone' AS capped_done;
SELECT jsonb_path_query_array(convex_db_paginate(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "asc"}',
  '[{"filter": {"$gt": [{"$field": "n"}, {"$literal": 10}]}}]'),
  jsonb_build_object('numItems', 5, 'cursor', :'m1'::jsonb -> 'continueCursor')), '$.page[*].n') AS next_page;

-- bad input: each with its SQLSTATE
\set VERBOSITY sqlstate
SELECT convex_db_select(NULL);
SELECT convex_db_select('[]');
SELECT convex_db_select('{"source": {"type": "Nope"}}');
SELECT convex_db_select(pg_temp.q('{"type": "Search", "indexName": "qb_items.s", "filters": []}'));
SELECT convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "no_such_table"}'));
SELECT convex_db_select(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.nope", "range": []}'));
SELECT convex_db_select(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items", "range": []}'));
SELECT convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items", "order": "sideways"}'));
SELECT convex_db_select(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_room", "range": [{"type": "Eq", "fieldPath": "n", "value": 1}]}'));
SELECT convex_db_select(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_room", "range": [{"type": "Eq", "fieldPath": "room", "value": 1}]}'));
SELECT convex_db_select(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_n", "range": [{"type": "Gt", "fieldPath": "n", "value": 1}, {"type": "Gte", "fieldPath": "n", "value": 2}]}'));
SELECT convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}', '[{"limit": -1}]'));
SELECT convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}', '[{"sort": 1}]'));
SELECT convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}', '[{"filter": {"$like": [1, 2]}}]'));
SELECT convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}', '[{"filter": {"$eq": [{"$field": "n"}]}}]'));
SELECT convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}', '[{"filter": {"$literal": {"$bad": 1}}}]'));
-- EvalErrors, as the backend words them
\set VERBOSITY default
SELECT convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}', '[{"filter": {"$field": "n"}}]'));
SELECT convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}', '[{"filter": {"$add": [{"$field": "room"}, {"$literal": 1}]}}]'));
SELECT convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}',
  '[{"filter": {"$eq": [{"$div": [{"$literal": {"$integer": "AQAAAAAAAAA="}}, {"$literal": {"$integer": "AAAAAAAAAAA="}}]}, {"$literal": 1}]}}]'));
SELECT convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}',
  '[{"filter": {"$eq": [{"$neg": {"$literal": {"$integer": "AAAAAAAAAIA="}}}, {"$literal": 1}]}}]'));
SELECT convex_db_select(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}', '[{"filter": {"$not": {"$field": "tag"}}}]'));
-- a filter the earlier filter stops is never evaluated (no EvalError)
SELECT pg_temp.ns(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}',
  '[{"filter": {"$eq": [{"$field": "n"}, {"$literal": 1}]}}, {"filter": {"$gt": [{"$add": [{"$field": "meta.k"}, {"$literal": 1}]}, {"$literal": 0}]}}]')) AS lazy;
-- cursors
\set VERBOSITY sqlstate
SELECT convex_db_paginate(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}'), NULL);
SELECT convex_db_paginate(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}'), '{"cursor": null}');
SELECT convex_db_paginate(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}'), '{"numItems": -1, "cursor": null}');
SELECT convex_db_paginate(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}'), '{"numItems": 1, "cursor": null, "maximumRowsRead": 0}');
\set VERBOSITY default
SELECT convex_db_paginate(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}'), '{"numItems": 1, "cursor": "not a cursor"}');
SELECT convex_db_paginate(pg_temp.q('{"type": "FullTableScan", "tableName": "qb_items"}'), '{"numItems": 1, "cursor": 5}');
-- a cursor of another query, and one that was changed
SELECT convex_db_paginate(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_room", "order": "asc",
  "range": [{"type": "Eq", "fieldPath": "room", "value": "r2"}]}'), jsonb_build_object('numItems', 1, 'cursor', :'p1'::jsonb -> 'continueCursor'));
SELECT convex_db_paginate(pg_temp.q('{"type": "IndexRange", "indexName": "qb_items.by_meta", "order": "asc", "range": []}'),
  jsonb_build_object('numItems', 1, 'cursor', replace(encode(convert_to(replace(convert_from(decode(:'p1'::jsonb ->> 'continueCursor', 'base64'), 'UTF8'), '"v":1', '"v":2'), 'UTF8'), 'base64'), E'\n', '')));
-- closed to PUBLIC, like convex_db_query
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_call
  FROM pg_proc p WHERE p.proname IN ('convex_db_select', 'convex_db_first', 'convex_db_unique', 'convex_db_paginate', 'convex_db_count')
  ORDER BY 1;

-- withIndex on nested field paths: convex_define_table indexes "a.b"
SELECT convex_define_table('qb_nested',
  '{"author": {"fieldType": {"type": "object", "value": {
        "name": {"fieldType": {"type": "string"}, "optional": false},
        "org": {"fieldType": {"type": "object", "value": {"id": {"fieldType": {"type": "number"}, "optional": false}}}, "optional": true}}},
      "optional": false},
    "title": {"fieldType": {"type": "string"}, "optional": false}}',
  '{"by_author_name": ["author.name"], "by_org": ["author.org.id", "title"]}') > 10004 AS defined;
SELECT count(convex_db_insert('qb_nested', jsonb_build_object('title', 't' || i,
  'author', jsonb_build_object('name', 'n' || (i % 3)) || CASE WHEN i % 2 = 0 THEN jsonb_build_object('org', jsonb_build_object('id', i % 4)) ELSE '{}' END)))
  FROM generate_series(1, 12) AS i;
SELECT pg_get_indexdef('convex.qb_nested__by_org'::regclass) AS nested_index;
SELECT string_agg(d ->> 'title', ',') AS author_n1 FROM convex_db_select(pg_temp.q('{"type": "IndexRange", "indexName": "qb_nested.by_author_name", "order": "asc",
  "range": [{"type": "Eq", "fieldPath": "author.name", "value": "n1"}]}')) d;
-- missing nested values (no org) are undefined, lowest; then 0, then 2; ties by title
SELECT string_agg(d ->> 'title', ',') AS by_org FROM convex_db_select(pg_temp.q('{"type": "IndexRange", "indexName": "qb_nested.by_org", "order": "asc", "range": []}')) d;
SELECT string_agg(d ->> 'title', ',') AS org_2_after_t10 FROM convex_db_select(pg_temp.q('{"type": "IndexRange", "indexName": "qb_nested.by_org", "order": "desc",
  "range": [{"type": "Eq", "fieldPath": "author.org.id", "value": 2}, {"type": "Gt", "fieldPath": "title", "value": "t10"}]}')) d;
SELECT string_agg(d ->> 'title', ',') AS no_org FROM convex_db_select(pg_temp.q('{"type": "IndexRange", "indexName": "qb_nested.by_org", "order": "asc",
  "range": [{"type": "Eq", "fieldPath": "author.org.id", "value": {"$undefined": null}}]}')) d;
-- pages through a nested index
SELECT convex_db_paginate(pg_temp.q('{"type": "IndexRange", "indexName": "qb_nested.by_org", "order": "asc", "range": []}'),
  '{"numItems": 5, "cursor": null}') AS n1 \gset
SELECT jsonb_path_query_array(:'n1', '$.page[*].title') AS nested_page1,
       jsonb_path_query_array(convex_db_paginate(pg_temp.q('{"type": "IndexRange", "indexName": "qb_nested.by_org", "order": "asc", "range": []}'),
         jsonb_build_object('numItems', 20, 'cursor', :'n1'::jsonb -> 'continueCursor')), '$.page[*].title') AS nested_page2;
-- convex_db_query does not take nested indexes; bad nested index definitions
SELECT convex_db_query('qb_nested', 'by_author_name');
SELECT convex_define_table('qb_nested2', '{"title": {"fieldType": {"type": "string"}, "optional": false}}', '{"by_x": ["title.x"]}');
SELECT convex_define_table('qb_nested2', '{"meta": {"fieldType": {"type": "any"}, "optional": false}}', '{"by_x": ["meta..x"]}');
SELECT convex_define_table('qb_nested2', '{"meta": {"fieldType": {"type": "any"}, "optional": false}}', '{"by_x": ["meta.x", "meta.x"]}');
SELECT convex_define_table('qb_nested2', '{"meta": {"fieldType": {"type": "any"}, "optional": false}}', '{"by_x": ["nope.x"]}');
