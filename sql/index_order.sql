--
-- index_order: index order, eq and every range operator at the boundaries,
-- in Convex's total order (undefined < null < int64 < float64 < boolean <
-- string < bytes < array < object), on typed and jsonb index fields and
-- with missing fields.  Each bound is exactly at, just below and just
-- above a stored value; a missing value ({"$undefined": null}, convex-js's
-- form of undefined) sorts first: lt/lte include it, gt/gte exclude it.
--
SELECT convex_define_table('bounds',
  '{"label": {"fieldType": {"type": "string"}, "optional": false},
    "grp":   {"fieldType": {"type": "string"}, "optional": false},
    "n":     {"fieldType": {"type": "number"}, "optional": true},
    "s":     {"fieldType": {"type": "string"}, "optional": false},
    "i":     {"fieldType": {"type": "bigint"}, "optional": false},
    "j":     {"fieldType": {"type": "any"}, "optional": true}}',
  '{"by_n": ["n"], "by_s": ["s"], "by_i": ["i"], "by_j": ["j"],
    "by_grp_n": ["grp", "n"], "by_grp_j": ["grp", "j"]}') > 10004 AS defined;

-- index_key columns where SQL's order is not Convex's, plain columns elsewhere
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) LIKE '%index_key%' AS keyed
  FROM pg_index WHERE indrelid = 'convex.bounds'::regclass ORDER BY 1::text;

-- i: {"$integer": base64 of 8 little-endian bytes}; 2 = AgAAAAAAAAA=
SELECT count(convex_db_insert('bounds', d::jsonb)) AS inserted FROM (VALUES
  ('{"label": "A", "grp": "g", "n": 2, "s": "b", "i": {"$integer": "AgAAAAAAAAA="}, "j": 2}'),
  ('{"label": "B", "grp": "g", "s": "d", "i": {"$integer": "BAAAAAAAAAA="}}'),
  ('{"label": "C", "grp": "g", "n": 4, "s": "f", "i": {"$integer": "BgAAAAAAAAA="}, "j": "m"}'),
  ('{"label": "D", "grp": "h", "n": 2, "s": "b", "i": {"$integer": "AgAAAAAAAAA="}, "j": null}'),
  ('{"label": "E", "grp": "h", "n": {"$float": "AAAAAAAAAIA="}, "s": "h", "i": {"$integer": "CAAAAAAAAAA="}, "j": {"$integer": "AgAAAAAAAAA="}}'),
  ('{"label": "F", "grp": "g", "n": 0, "s": "j", "i": {"$integer": "CgAAAAAAAAA="}, "j": [2]}'),
  ('{"label": "G", "grp": "g", "s": "l", "i": {"$integer": "DAAAAAAAAAA="}, "j": {"a": 2}}'),
  ('{"label": "H", "grp": "h", "n": 4, "s": "n", "i": {"$integer": "DgAAAAAAAAA="}, "j": true}')
) AS v(d);

-- the labels a query returns, in order ('-' for none)
CREATE FUNCTION labels(index_name text, eq jsonb, range jsonb, order_by text DEFAULT 'asc')
RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(d ->> 'label', ' ' ORDER BY k), '-')
  FROM convex_db_query('bounds', index_name, eq, order_by, range) WITH ORDINALITY AS r(d, k)
$$;

-- whole indexes, both ways: missing first ascending, last descending;
-- -0 before 0; jsonb by type: undefined, null, int64, float64, boolean,
-- string, array, object
SELECT index_name, labels(index_name, '{}', NULL) AS asc, labels(index_name, '{}', NULL, 'desc') AS desc
  FROM (VALUES ('by_n'), ('by_s'), ('by_i'), ('by_j'), ('by_grp_n'), ('by_grp_j')) AS x(index_name);

-- eq, including eq on a missing value
SELECT index_name, eq, labels(index_name, eq::jsonb, NULL) AS result FROM (VALUES
  ('by_n', '{"n": 2}'), ('by_n', '{"n": 0}'), ('by_n', '{"n": {"$float": "AAAAAAAAAIA="}}'),
  ('by_n', '{"n": {"$undefined": null}}'), ('by_n', '{"n": 3}'),
  ('by_j', '{"j": {"$undefined": null}}'), ('by_j', '{"j": null}'), ('by_j', '{"j": 2}'),
  ('by_j', '{"j": {"$integer": "AgAAAAAAAAA="}}'), ('by_j', '{"j": [2]}'), ('by_j', '{"j": {"a": 2}}'),
  ('by_s', '{"s": "b"}'), ('by_s', '{"s": {"$undefined": null}}'),
  ('by_grp_n', '{"grp": "g", "n": {"$undefined": null}}'), ('by_grp_j', '{"grp": "h", "j": null}')
) AS x(index_name, eq);

-- every operator at, just below and just above a stored value
-- optional number (index_key(float8)): stored 2 and 4, missing in B and G
SELECT op, bound, labels('by_n', '{}', jsonb_build_object(op, bound::jsonb)) AS result
  FROM (VALUES ('gt'), ('gte'), ('lt'), ('lte')) AS o(op)
  CROSS JOIN (VALUES ('1.5'), ('2'), ('2.5'), ('{"$float": "AAAAAAAAAIA="}'), ('0'), ('{"$undefined": null}')) AS b(bound)
  ORDER BY op, bound;
-- required string (a plain text column): stored "d"; "c~" sorts between
SELECT op, bound, labels('by_s', '{}', jsonb_build_object(op, bound::jsonb)) AS result
  FROM (VALUES ('gt'), ('gte'), ('lt'), ('lte')) AS o(op)
  CROSS JOIN (VALUES ('"c~"'), ('"d"'), ('"d "'), ('{"$undefined": null}')) AS b(bound)
  ORDER BY op, bound;
-- required int64 (a plain bigint column): stored 6
SELECT op, bound, labels('by_i', '{}', jsonb_build_object(op, bound::jsonb)) AS result
  FROM (VALUES ('gt'), ('gte'), ('lt'), ('lte')) AS o(op)
  CROSS JOIN (VALUES ('{"$integer": "BQAAAAAAAAA="}'), ('{"$integer": "BgAAAAAAAAA="}'),
                     ('{"$integer": "BwAAAAAAAAA="}')) AS b(bound)
  ORDER BY op, bound;
-- v.any() (index_key(jsonb)): at, below and above values of several types
SELECT op, bound, labels('by_j', '{}', jsonb_build_object(op, bound::jsonb)) AS result
  FROM (VALUES ('gt'), ('gte'), ('lt'), ('lte')) AS o(op)
  CROSS JOIN (VALUES ('null'), ('{"$integer": "AQAAAAAAAAA="}'), ('{"$integer": "AgAAAAAAAAA="}'),
                     ('2'), ('2.5'), ('"m"'), ('"l"'), ('"n"'), ('[2]'), ('[]'), ('[2, null]'),
                     ('{"a": 2}'), ('{"a": 1}'), ('{"a": 3}'), ('{"$undefined": null}')) AS b(bound)
  ORDER BY op, bound;
-- ranges after an eq prefix, and both bounds together
SELECT eq, range, labels(index_name, eq::jsonb, range::jsonb) AS asc,
       labels(index_name, eq::jsonb, range::jsonb, 'desc') AS desc FROM (VALUES
  ('by_grp_n', '{"grp": "g"}', '{"lt": 2}'), ('by_grp_n', '{"grp": "g"}', '{"lte": 2}'),
  ('by_grp_n', '{"grp": "g"}', '{"gt": 2}'), ('by_grp_n', '{"grp": "g"}', '{"gte": 2}'),
  ('by_grp_n', '{"grp": "g"}', '{"gt": 0, "lt": 4}'), ('by_grp_n', '{"grp": "g"}', '{"gte": 0, "lte": 4}'),
  ('by_grp_n', '{"grp": "h"}', '{"gt": {"$float": "AAAAAAAAAIA="}, "lt": 4}'),
  ('by_grp_n', '{"grp": "g"}', '{"gte": {"$undefined": null}, "lte": {"$undefined": null}}'),
  ('by_grp_j', '{"grp": "g"}', '{"gt": {"$undefined": null}, "lt": "m"}'),
  ('by_grp_j', '{"grp": "g"}', '{"gte": 2, "lte": "m"}'),
  ('by_grp_j', '{"grp": "h"}', '{"gt": null, "lte": true}')
) AS x(index_name, eq, range);

-- the query plans use the indexes (no sort over the table)
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT _id FROM convex.bounds
  WHERE convex.index_key(j) > convex.index_key('null'::jsonb)
  ORDER BY convex.index_key(j) DESC, _creation_time DESC;
EXPLAIN (COSTS OFF) SELECT _id FROM convex.bounds
  WHERE grp = 'g' AND convex.index_key(n) < convex.index_key(4::float8)
  ORDER BY grp, convex.index_key(n), _creation_time;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- index_key itself: NULL is the lowest key; nesting deeper than Convex
-- allows is refused (54000); a malformed $integer is just an object
SELECT convex.index_key(NULL::jsonb) AS undefined_key, convex.index_key('null'::jsonb) AS null_key,
       convex.index_key(NULL::jsonb) < convex.index_key('null'::jsonb) AS undefined_first;
SELECT convex.index_key('{"$integer": "AA"}'::jsonb) > convex.index_key('[]'::jsonb) AS malformed_is_an_object;
SELECT convex.index_key((repeat('[', 70) || repeat(']', 70))::jsonb);

-- a field that becomes optional moves to an index_key index on redefinition
SELECT convex_define_table('flips', '{"s": {"fieldType": {"type": "string"}, "optional": false}}',
                           '{"by_s": ["s"]}') > 10004 AS defined;
SELECT pg_get_indexdef('convex.flips__by_s'::regclass) LIKE '%index_key%' AS keyed_before;
SELECT convex_define_table('flips', '{"s": {"fieldType": {"type": "string"}, "optional": true}}',
                           '{"by_s": ["s"]}') > 10004 AS redefined;
SELECT pg_get_indexdef('convex.flips__by_s'::regclass) LIKE '%index_key%' AS keyed_after;

DROP FUNCTION labels(text, jsonb, jsonb, text);
