-- test/pgtap/validators.sql: every Convex validator kind as the field
-- validator of an application table (SPEC §2, §6, §9).
--
-- Each kind gets its own small table from convex_define_table, so messages
-- stay short enough to compare whole.  A value Convex accepts is written with
-- convex_db_insert (or patch / replace) and must read back from
-- convex_db_get exactly as written, in Convex's JSON form ($integer, $float,
-- $bytes).  A value Convex rejects must fail with SQLSTATE 23514 (a document
-- that does not match its table's schema, README "Error codes") and Convex's
-- message: `Failed to insert or update a document in table "t" because it
-- does not match the schema: ` followed by the ValidationError text of
-- crates/common/src/schemas/validator.rs — and the table must be unchanged.
-- A value that is not a Convex value at all (a '$' field name: 22023) or
-- breaks a document limit (54000) fails with `Invalid document for table
-- "t": ` and Convex's text.
--
-- Run with pg_prove as a superuser against a database where convexlite can be
-- (re)installed.  Everything below runs in one transaction that is rolled back.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(350);
SET LOCAL client_min_messages = warning;
-- what an aborted file may have left must not break this one (rolled back: left as found)
DROP SCHEMA IF EXISTS regress_cvx_tap CASCADE;
RESET client_min_messages;
SET LOCAL client_min_messages = warning;

-- SQLSTATE and a LIKE pattern on the message, in one assertion.
\ir lib/throws_state_like.sql

-- The row count and a hash of every row of convex.<tbl>, to show that a
-- refused write wrote nothing.
CREATE FUNCTION regress_cvx_tap.snapshot(tbl text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    result text;
BEGIN
    EXECUTE format($q$SELECT count(*) || ' rows, content md5 '
                             || md5(coalesce(string_agg(t::text, E'\n' ORDER BY t._id), ''))
                        FROM convex.%I t$q$, tbl)
        INTO result;
    RETURN result;
END;
$f$;

-- Two assertions: query fails with SQLSTATE state and exactly the message
-- full_message, and convex.<tbl> is unchanged.
CREATE FUNCTION regress_cvx_tap.refused_as(tbl text, query text, state text, full_message text, descr text)
RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    before text := regress_cvx_tap.snapshot(tbl);
    result text;
BEGIN
    result := regress_cvx_tap.throws_state_like(query, state, full_message, descr);
    RETURN result || E'\n' || is(regress_cvx_tap.snapshot(tbl), before, descr || ': nothing written');
END;
$f$;

-- The same for a document that does not match the schema of table tbl:
-- 23514 and Convex's message, whose ValidationError text is message.
CREATE FUNCTION regress_cvx_tap.refused(tbl text, query text, message text, descr text)
RETURNS text LANGUAGE sql AS $f$
    SELECT regress_cvx_tap.refused_as(tbl, query, '23514',
        'Failed to insert or update a document in table "' || tbl
        || '" because it does not match the schema: ' || message, descr);
$f$;

-- convex_db_insert(tbl, doc) is refused (two assertions, as above).
CREATE FUNCTION regress_cvx_tap.insert_refused(tbl text, doc jsonb, message text, descr text)
RETURNS text LANGUAGE sql AS $f$
    SELECT regress_cvx_tap.refused(tbl, format('SELECT convex_db_insert(%L, %L)', tbl, doc), message, descr);
$f$;

-- A written document that is not a Convex value (malformed $float /
-- $integer / $bytes, '$' field names): 22023 "Invalid document for table",
-- raised before the schema is checked, as Convex decodes values first.
CREATE FUNCTION regress_cvx_tap.malformed(tbl text, query text, reason text, descr text)
RETURNS text LANGUAGE sql AS $f$
    SELECT regress_cvx_tap.refused_as(tbl, query, '22023',
        'Invalid document for table "' || tbl || '": ' || reason, descr);
$f$;

CREATE FUNCTION regress_cvx_tap.insert_malformed(tbl text, doc jsonb, reason text, descr text)
RETURNS text LANGUAGE sql AS $f$
    SELECT regress_cvx_tap.malformed(tbl, format('SELECT convex_db_insert(%L, %L)', tbl, doc), reason, descr);
$f$;

-- convex_db_insert(tbl, doc) is accepted and convex_db_get gives back the
-- document (without _id and _creationTime) equal to want, by default doc.
CREATE FUNCTION regress_cvx_tap.accepted(tbl text, doc jsonb, descr text, want jsonb DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    got jsonb;
BEGIN
    got := convex_db_get(tbl, convex_db_insert(tbl, doc)) - '_id' - '_creationTime';
    RETURN is(got, coalesce(want, doc), descr);
EXCEPTION WHEN OTHERS THEN
    RETURN ok(false, descr) || E'\n' || diag('      caught: ' || SQLSTATE || ': ' || SQLERRM);
END;
$f$;

-- The document tbl/id (without system fields) after a write that must succeed.
CREATE FUNCTION regress_cvx_tap.written(tbl text, id text, query text, want jsonb, descr text)
RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE query;
    RETURN is(convex_db_get(tbl, id) - '_id' - '_creationTime', want, descr);
EXCEPTION WHEN OTHERS THEN
    RETURN ok(false, descr) || E'\n' || diag('      caught: ' || SQLSTATE || ': ' || SQLERRM);
END;
$f$;

-- The field column of the one row of convex.<tbl> whose _id is id, as text.
CREATE FUNCTION regress_cvx_tap.stored(tbl text, col text, id text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    result text;
BEGIN
    EXECUTE format('SELECT %I::text FROM convex.%I WHERE _id = $1', col, tbl) INTO result USING id;
    RETURN result;
END;
$f$;

------------------------------------------------------------------------
-- 0. One table per validator kind
------------------------------------------------------------------------

SELECT convex_define_table('vt_target', '{"name": {"fieldType": {"type": "string"}, "optional": true}}') IS NOT NULL AS ok \gset
SELECT convex_define_table('vt_other', '{"name": {"fieldType": {"type": "string"}, "optional": true}}') IS NOT NULL AS ok \gset
SELECT lives_ok($$
    SELECT convex_define_table('v_string', '{"s": {"fieldType": {"type": "string"}, "optional": false}}');
    SELECT convex_define_table('v_number', '{"n": {"fieldType": {"type": "number"}, "optional": false}}');
    SELECT convex_define_table('v_bigint', '{"i": {"fieldType": {"type": "bigint"}, "optional": false}}');
    SELECT convex_define_table('v_boolean', '{"b": {"fieldType": {"type": "boolean"}, "optional": false}}');
    SELECT convex_define_table('v_null', '{"z": {"fieldType": {"type": "null"}, "optional": false}}');
    SELECT convex_define_table('v_bytes', '{"y": {"fieldType": {"type": "bytes"}, "optional": false}}');
    SELECT convex_define_table('v_any', '{"a": {"fieldType": {"type": "any"}, "optional": false}}');
    SELECT convex_define_table('v_id', '{
        "ref": {"fieldType": {"type": "id", "tableName": "vt_target"}, "optional": false},
        "file": {"fieldType": {"type": "id", "tableName": "_storage"}, "optional": true}}');
    SELECT convex_define_table('v_literal', '{
        "ls": {"fieldType": {"type": "literal", "value": "open"}, "optional": true},
        "le": {"fieldType": {"type": "literal", "value": ""}, "optional": true},
        "ln": {"fieldType": {"type": "literal", "value": 42}, "optional": true},
        "lf": {"fieldType": {"type": "literal", "value": 1.5}, "optional": true},
        "lt": {"fieldType": {"type": "literal", "value": true}, "optional": true},
        "lno": {"fieldType": {"type": "literal", "value": false}, "optional": true},
        "li": {"fieldType": {"type": "literal", "value": {"$integer": "KgAAAAAAAAA="}}, "optional": true}}');
    SELECT convex_define_table('v_array', '{
        "arr": {"fieldType": {"type": "array", "value": {"type": "string"}}, "optional": true},
        "grid": {"fieldType": {"type": "array", "value": {"type": "array", "value": {"type": "number"}}}, "optional": true},
        "objs": {"fieldType": {"type": "array", "value": {"type": "object", "value": {"k": {"fieldType": {"type": "number"}, "optional": false}}}}, "optional": true}}');
    SELECT convex_define_table('v_object', '{
        "o": {"fieldType": {"type": "object", "value": {
                 "x": {"fieldType": {"type": "number"}, "optional": false},
                 "inner": {"fieldType": {"type": "object", "value": {
                     "deep": {"fieldType": {"type": "boolean"}, "optional": false},
                     "tag": {"fieldType": {"type": "string"}, "optional": true}}}, "optional": true}}},
              "optional": false},
        "e": {"fieldType": {"type": "object", "value": {}}, "optional": true}}');
    SELECT convex_define_table('v_union', '{
        "u": {"fieldType": {"type": "union", "value": [{"type": "string"}, {"type": "number"},
                 {"type": "object", "value": {"kind": {"fieldType": {"type": "literal", "value": "a"}, "optional": false}}}]},
              "optional": true},
        "one": {"fieldType": {"type": "union", "value": [{"type": "boolean"}]}, "optional": true},
        "nul": {"fieldType": {"type": "union", "value": [{"type": "string"}, {"type": "null"}]}, "optional": true}}');
    SELECT convex_define_table('v_record', '{
        "rs": {"fieldType": {"type": "record", "keys": {"type": "string"},
                             "values": {"fieldType": {"type": "number"}, "optional": false}}, "optional": true},
        "ri": {"fieldType": {"type": "record", "keys": {"type": "id", "tableName": "vt_target"},
                             "values": {"fieldType": {"type": "string"}, "optional": false}}, "optional": true}}');
    SELECT convex_define_table('v_optional', '{
        "req": {"fieldType": {"type": "string"}, "optional": false},
        "opt": {"fieldType": {"type": "number"}, "optional": true},
        "note": {"fieldType": {"type": "string"}, "optional": true}}');
$$, 'convex_define_table creates one table per validator kind');

------------------------------------------------------------------------
-- 1. v.string()
------------------------------------------------------------------------

SELECT regress_cvx_tap.accepted('v_string', '{"s": ""}', 'v.string(): the empty string');
SELECT regress_cvx_tap.accepted('v_string', '{"s": "hello"}', 'v.string(): an ASCII string');
SELECT regress_cvx_tap.accepted('v_string', '{"s": "héllo wörld — 日本語 😀 𝄞"}',
                                'v.string(): non-ASCII text (2-, 3- and 4-byte UTF-8)');
SELECT regress_cvx_tap.accepted('v_string', jsonb_build_object('s', E'quote " backslash \\ newline \n tab \t'),
                                'v.string(): quotes, backslashes and control characters');
SELECT regress_cvx_tap.accepted('v_string', jsonb_build_object('s', repeat('long ✓ ', 20000)),
                                'v.string(): a 180,000-byte string');
SELECT regress_cvx_tap.accepted('v_string', '{"s": "42"}', 'v.string(): a string that looks like a number');

SELECT regress_cvx_tap.insert_refused('v_string', '{"s": 42}',
    E'Value does not match validator.\nPath: .s\nValue: 42.0\nValidator: v.string()',
    'v.string() refuses a number');
SELECT regress_cvx_tap.insert_refused('v_string', '{"s": null}',
    E'Value does not match validator.\nPath: .s\nValue: null\nValidator: v.string()',
    'v.string() refuses null');
SELECT regress_cvx_tap.insert_refused('v_string', '{"s": true}',
    E'Value does not match validator.\nPath: .s\nValue: true\nValidator: v.string()',
    'v.string() refuses a boolean');
SELECT regress_cvx_tap.insert_refused('v_string', '{"s": ["a"]}',
    E'Value does not match validator.\nPath: .s\nValue: ["a"]\nValidator: v.string()',
    'v.string() refuses an array');
SELECT regress_cvx_tap.insert_refused('v_string', '{"s": {"x": [1, 2.5, "a"], "a": {}}}',
    E'Value does not match validator.\nPath: .s\nValue: {a: {}, x: [1.0, 2.5, "a"]}\nValidator: v.string()',
    'v.string() refuses an object (shown with keys in order)');
SELECT regress_cvx_tap.insert_refused('v_string', '{"s": {"$bytes": "aGk="}}',
    E'Value does not match validator.\nPath: .s\nValue: b"aGk="\nValidator: v.string()',
    'v.string() refuses bytes');
SELECT regress_cvx_tap.insert_refused('v_string', '{}',
    E'Object is missing the required field `s`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n\nObject: {}\nValidator: v.object({s: v.string()})',
    'v.string(): a missing required field');

------------------------------------------------------------------------
-- 2. v.number() (v.float64()): JSON numbers, and {"$float": base64 of the
--    8 little-endian bytes} for -0, NaN and the infinities
------------------------------------------------------------------------

SELECT regress_cvx_tap.accepted('v_number', '{"n": 0}', 'v.float64(): 0');
SELECT regress_cvx_tap.accepted('v_number', '{"n": -17}', 'v.float64(): a negative integer');
SELECT regress_cvx_tap.accepted('v_number', '{"n": 3.25}', 'v.float64(): a fraction');
SELECT regress_cvx_tap.accepted('v_number', '{"n": 0.1}', 'v.float64(): 0.1 keeps its shortest digits');
SELECT regress_cvx_tap.accepted('v_number', '{"n": 1.5e-7}', 'v.float64(): a small number');
SELECT regress_cvx_tap.accepted('v_number', '{"n": 9007199254740992}', 'v.float64(): 2^53');
SELECT regress_cvx_tap.accepted('v_number', '{"n": 1e308}', 'v.float64(): 1e308');
SELECT regress_cvx_tap.accepted('v_number', '{"n": -1.7976931348623157e308}', 'v.float64(): the most negative float64');
SELECT regress_cvx_tap.accepted('v_number', '{"n": 5e-324}', 'v.float64(): the smallest subnormal');

SELECT convex_db_insert('v_number', '{"n": {"$float": "AAAAAAAAAIA="}}') AS n_negzero \gset
SELECT convex_db_insert('v_number', '{"n": {"$float": "AAAAAAAA+H8="}}') AS n_nan \gset
SELECT convex_db_insert('v_number', '{"n": {"$float": "AAAAAAAA8H8="}}') AS n_inf \gset
SELECT convex_db_insert('v_number', '{"n": {"$float": "AAAAAAAA8P8="}}') AS n_neginf \gset
SELECT is(convex_db_get('v_number', :'n_negzero') -> 'n', '{"$float": "AAAAAAAAAIA="}',
          'v.float64(): -0 as {"$float": …} reads back as {"$float": "AAAAAAAAAIA="}');
SELECT is(regress_cvx_tap.stored('v_number', 'n', :'n_negzero'), '-0', '... and is stored as the float8 -0');
SELECT is(convex_db_get('v_number', :'n_nan') -> 'n', '{"$float": "AAAAAAAA+H8="}',
          'v.float64(): NaN as {"$float": …} reads back as written');
SELECT is(regress_cvx_tap.stored('v_number', 'n', :'n_nan'), 'NaN', '... and is stored as the float8 NaN');
SELECT is(convex_db_get('v_number', :'n_inf') -> 'n', '{"$float": "AAAAAAAA8H8="}',
          'v.float64(): +Infinity as {"$float": …} reads back as written');
SELECT is(regress_cvx_tap.stored('v_number', 'n', :'n_inf'), 'Infinity', '... and is stored as the float8 Infinity');
SELECT is(convex_db_get('v_number', :'n_neginf') -> 'n', '{"$float": "AAAAAAAA8P8="}',
          'v.float64(): -Infinity as {"$float": …} reads back as written');
SELECT is(regress_cvx_tap.stored('v_number', 'n', :'n_neginf'), '-Infinity', '... and is stored as the float8 -Infinity');
SELECT regress_cvx_tap.accepted('v_number', '{"n": {"$float": "AAAAAAAAAAA="}}',
                                'v.float64(): +0 as {"$float": …} (Convex accepts it) reads back as the number 0',
                                '{"n": 0}');

SELECT regress_cvx_tap.insert_refused('v_number', '{"n": "1"}',
    E'Value does not match validator.\nPath: .n\nValue: "1"\nValidator: v.float64()',
    'v.float64() refuses a numeric string');
SELECT regress_cvx_tap.insert_refused('v_number', '{"n": {"$integer": "AQAAAAAAAAA="}}',
    E'Value does not match validator.\nPath: .n\nValue: 1\nValidator: v.float64()',
    'v.float64() refuses an int64');
SELECT regress_cvx_tap.insert_refused('v_number', '{"n": null}',
    E'Value does not match validator.\nPath: .n\nValue: null\nValidator: v.float64()',
    'v.float64() refuses null');
SELECT regress_cvx_tap.insert_refused('v_number', '{"n": false}',
    E'Value does not match validator.\nPath: .n\nValue: false\nValidator: v.float64()',
    'v.float64() refuses a boolean');
SELECT regress_cvx_tap.insert_refused('v_number', '{"n": [1]}',
    E'Value does not match validator.\nPath: .n\nValue: [1.0]\nValidator: v.float64()',
    'v.float64() refuses an array');
SELECT regress_cvx_tap.insert_malformed('v_number', '{"n": {"$float": "AAAAAAAA8D8="}}',
    '{"$float": …} must be eight bytes of base64 holding NaN, an infinity or -0; other float64 values are JSON numbers',
    'v.float64() refuses 1.0 written as {"$float": …} (finite non-zero floats must be JSON numbers)');
SELECT regress_cvx_tap.insert_malformed('v_number', '{"n": {"$float": "AAAA"}}',
    '{"$float": …} must be eight bytes of base64 holding NaN, an infinity or -0; other float64 values are JSON numbers',
    'v.float64() refuses a {"$float": …} of 3 bytes');
SELECT regress_cvx_tap.insert_malformed('v_number', '{"n": {"$float": "AAAAAAAA+H8=", "x": 1}}',
    'Field name $float starts with ''$'', which is reserved.',
    'v.float64() refuses {"$float": …} with another key');

------------------------------------------------------------------------
-- 3. v.bigint() (v.int64()): {"$integer": base64 of 8 little-endian bytes}
------------------------------------------------------------------------

SELECT regress_cvx_tap.accepted('v_bigint', '{"i": {"$integer": "AAAAAAAAAAA="}}', 'v.int64(): 0');
SELECT regress_cvx_tap.accepted('v_bigint', '{"i": {"$integer": "KgAAAAAAAAA="}}', 'v.int64(): 42');
SELECT convex_db_insert('v_bigint', '{"i": {"$integer": "/////////38="}}') AS i_max \gset
SELECT convex_db_insert('v_bigint', '{"i": {"$integer": "AAAAAAAAAIA="}}') AS i_min \gset
SELECT convex_db_insert('v_bigint', '{"i": {"$integer": "//////////8="}}') AS i_minus1 \gset
SELECT is(convex_db_get('v_bigint', :'i_max') -> 'i', '{"$integer": "/////////38="}', 'v.int64(): the largest int64 reads back as written');
SELECT is(regress_cvx_tap.stored('v_bigint', 'i', :'i_max'), '9223372036854775807', '... and is stored as 9223372036854775807');
SELECT is(convex_db_get('v_bigint', :'i_min') -> 'i', '{"$integer": "AAAAAAAAAIA="}', 'v.int64(): the smallest int64 reads back as written');
SELECT is(regress_cvx_tap.stored('v_bigint', 'i', :'i_min'), '-9223372036854775808', '... and is stored as -9223372036854775808');
SELECT is(convex_db_get('v_bigint', :'i_minus1') -> 'i', '{"$integer": "//////////8="}', 'v.int64(): -1 reads back as written');
SELECT is(regress_cvx_tap.stored('v_bigint', 'i', :'i_minus1'), '-1', '... and is stored as -1');

SELECT regress_cvx_tap.insert_refused('v_bigint', '{"i": 1}',
    E'Value does not match validator.\nPath: .i\nValue: 1.0\nValidator: v.int64()',
    'v.int64() refuses a JSON number');
SELECT regress_cvx_tap.insert_refused('v_bigint', '{"i": "1"}',
    E'Value does not match validator.\nPath: .i\nValue: "1"\nValidator: v.int64()',
    'v.int64() refuses a string');
SELECT regress_cvx_tap.insert_malformed('v_bigint', '{"i": {"$integer": "AQAAAAAAAA=="}}',
    'Int64 must be exactly eight bytes, in base64',
    'v.int64() refuses 7 bytes');
SELECT regress_cvx_tap.insert_malformed('v_bigint', '{"i": {"$integer": "AQAAAAAAAAAA"}}',
    'Int64 must be exactly eight bytes, in base64',
    'v.int64() refuses 9 bytes');
SELECT regress_cvx_tap.insert_malformed('v_bigint', '{"i": {"$integer": "AQ=="}}',
    'Int64 must be exactly eight bytes, in base64',
    'v.int64() refuses 1 byte');
SELECT regress_cvx_tap.insert_malformed('v_bigint', '{"i": {"$integer": "AQAAAAAA!AA="}}',
    'Int64 must be exactly eight bytes, in base64',
    'v.int64() refuses a character outside base64');
SELECT regress_cvx_tap.insert_malformed('v_bigint', '{"i": {"$integer": 1}}',
    'Field name $integer starts with ''$'', which is reserved.',
    'v.int64() refuses {"$integer": <number>}');
SELECT regress_cvx_tap.insert_refused('v_bigint', '{"i": {"$float": "AAAAAAAA+H8="}}',
    E'Value does not match validator.\nPath: .i\nValue: NaN\nValidator: v.int64()',
    'v.int64() refuses a float64');

------------------------------------------------------------------------
-- 4. v.boolean() and v.null()
------------------------------------------------------------------------

SELECT regress_cvx_tap.accepted('v_boolean', '{"b": true}', 'v.boolean(): true');
SELECT regress_cvx_tap.accepted('v_boolean', '{"b": false}', 'v.boolean(): false');
SELECT regress_cvx_tap.insert_refused('v_boolean', '{"b": "true"}',
    E'Value does not match validator.\nPath: .b\nValue: "true"\nValidator: v.boolean()',
    'v.boolean() refuses the string "true"');
SELECT regress_cvx_tap.insert_refused('v_boolean', '{"b": 0}',
    E'Value does not match validator.\nPath: .b\nValue: 0.0\nValidator: v.boolean()',
    'v.boolean() refuses 0');
SELECT regress_cvx_tap.insert_refused('v_boolean', '{"b": null}',
    E'Value does not match validator.\nPath: .b\nValue: null\nValidator: v.boolean()',
    'v.boolean() refuses null');

SELECT regress_cvx_tap.accepted('v_null', '{"z": null}', 'v.null(): null (stored, not absent)');
SELECT regress_cvx_tap.insert_refused('v_null', '{"z": false}',
    E'Value does not match validator.\nPath: .z\nValue: false\nValidator: v.null()',
    'v.null() refuses false');
SELECT regress_cvx_tap.insert_refused('v_null', '{"z": 0}',
    E'Value does not match validator.\nPath: .z\nValue: 0.0\nValidator: v.null()',
    'v.null() refuses 0');
SELECT regress_cvx_tap.insert_refused('v_null', '{"z": ""}',
    E'Value does not match validator.\nPath: .z\nValue: ""\nValidator: v.null()',
    'v.null() refuses the empty string');
SELECT regress_cvx_tap.insert_refused('v_null', '{"z": "null"}',
    E'Value does not match validator.\nPath: .z\nValue: "null"\nValidator: v.null()',
    'v.null() refuses the string "null"');
SELECT regress_cvx_tap.insert_refused('v_null', '{"z": {}}',
    E'Value does not match validator.\nPath: .z\nValue: {}\nValidator: v.null()',
    'v.null() refuses {}');
SELECT regress_cvx_tap.insert_refused('v_null', '{"z": []}',
    E'Value does not match validator.\nPath: .z\nValue: []\nValidator: v.null()',
    'v.null() refuses []');
SELECT regress_cvx_tap.insert_refused('v_null', '{}',
    E'Object is missing the required field `z`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n\nObject: {}\nValidator: v.object({z: v.null()})',
    'v.null(): an absent field is not null');

------------------------------------------------------------------------
-- 5. v.bytes(): {"$bytes": base64}
------------------------------------------------------------------------

SELECT regress_cvx_tap.accepted('v_bytes', '{"y": {"$bytes": ""}}', 'v.bytes(): no bytes');
SELECT regress_cvx_tap.accepted('v_bytes', '{"y": {"$bytes": "aGk="}}', 'v.bytes(): "hi"');
SELECT convex_db_insert('v_bytes', '{"y": {"$bytes": "AAEC/w=="}}') AS y_bin \gset
SELECT is(convex_db_get('v_bytes', :'y_bin') -> 'y', '{"$bytes": "AAEC/w=="}', 'v.bytes(): 00 01 02 ff reads back as written');
SELECT is(regress_cvx_tap.stored('v_bytes', 'y', :'y_bin'), '\x000102ff', '... and is stored as the bytea 00 01 02 ff');
SELECT regress_cvx_tap.accepted('v_bytes',
    jsonb_build_object('y', jsonb_build_object('$bytes',
        translate(encode(decode(repeat('00ff7f80', 3000), 'hex'), 'base64'), E'\n', ''))),
    'v.bytes(): 12,000 bytes');

SELECT regress_cvx_tap.insert_refused('v_bytes', '{"y": "aGk="}',
    E'Value does not match validator.\nPath: .y\nValue: "aGk="\nValidator: v.bytes()',
    'v.bytes() refuses a plain base64 string');
SELECT regress_cvx_tap.insert_malformed('v_bytes', '{"y": {"$bytes": "!!!!"}}',
    '$bytes must be a base64 string',
    'v.bytes() refuses characters outside base64');
SELECT regress_cvx_tap.insert_malformed('v_bytes', '{"y": {"$bytes": "aGk=a"}}',
    '$bytes must be a base64 string',
    'v.bytes() refuses base64 with data after the padding');
SELECT regress_cvx_tap.insert_malformed('v_bytes', '{"y": {"$bytes": "aGk=="}}',
    '$bytes must be a base64 string',
    'v.bytes() refuses base64 with too much padding');
SELECT regress_cvx_tap.insert_malformed('v_bytes', '{"y": {"$bytes": 5}}',
    'Field name $bytes starts with ''$'', which is reserved.',
    'v.bytes() refuses {"$bytes": <number>}');
SELECT regress_cvx_tap.insert_refused('v_bytes', '{"y": [104, 105]}',
    E'Value does not match validator.\nPath: .y\nValue: [104.0, 105.0]\nValidator: v.bytes()',
    'v.bytes() refuses an array of byte values');

------------------------------------------------------------------------
-- 6. v.any(): any Convex value, nested, special encodings included
------------------------------------------------------------------------

SELECT regress_cvx_tap.accepted('v_any', '{"a": null}', 'v.any(): null');
SELECT regress_cvx_tap.accepted('v_any', '{"a": true}', 'v.any(): a boolean');
SELECT regress_cvx_tap.accepted('v_any', '{"a": -2.5}', 'v.any(): a number');
SELECT regress_cvx_tap.accepted('v_any', '{"a": "text"}', 'v.any(): a string');
SELECT regress_cvx_tap.accepted('v_any', '{"a": []}', 'v.any(): an empty array');
SELECT regress_cvx_tap.accepted('v_any', '{"a": {}}', 'v.any(): an empty object');
SELECT regress_cvx_tap.accepted('v_any', '{"a": {"x": {"y": [1, {"z": [null, true, "s", []]}]}, "w": {}}}',
                                'v.any(): nested objects and arrays');
SELECT regress_cvx_tap.accepted('v_any', '{"a": [1, "two", null, [3], {"four": 4}]}', 'v.any(): a mixed array');
SELECT regress_cvx_tap.accepted('v_any', '{"a": {"$integer": "AQAAAAAAAAA="}}', 'v.any(): an int64');
SELECT regress_cvx_tap.accepted('v_any', '{"a": {"$float": "AAAAAAAA+H8="}}', 'v.any(): NaN');
SELECT regress_cvx_tap.accepted('v_any', '{"a": {"$bytes": "aGk="}}', 'v.any(): bytes');
SELECT regress_cvx_tap.accepted('v_any', '{"a": {"k": [{"$integer": "//////////8="}, {"$float": "AAAAAAAAAIA="}, {"$bytes": ""}]}}',
                                'v.any(): int64, -0 and bytes nested inside objects and arrays');
SELECT regress_cvx_tap.accepted('v_any', '{"a": {"a b": 1, "c-d.e": 2, "_id": 3, "~!@#": 4}}',
                                'v.any(): field names with spaces and punctuation (non-control ASCII, not starting with $)');
-- A v.any() value must still be a Convex value (crates/value, sync_types
-- identifier.rs, common/document.rs): no '$' in field names, and the
-- document limits (nesting 16, 8192 elements, 1024 fields, 1024-byte names).
SELECT regress_cvx_tap.refused_as('v_any', $$SELECT convex_db_insert('v_any', '{"a": {"$foo": 1}}')$$, '22023',
    'Invalid document for table "v_any": Field name $foo starts with ''$'', which is reserved.',
    'v.any() refuses a field name starting with $, in Convex''s words');
SELECT regress_cvx_tap.refused_as('v_any', $$SELECT convex_db_insert('v_any', '{"a": [{"x": {"$y": 1}}]}')$$, '22023',
    'Invalid document for table "v_any": Field name $y starts with ''$'', which is reserved.',
    'v.any() refuses a $ field name deep inside arrays and objects');
SELECT regress_cvx_tap.accepted('v_any', jsonb_build_object('a', (repeat('[', 15) || repeat(']', 15))::jsonb),
                                'v.any(): a document nested 16 levels deep (the limit)');
SELECT regress_cvx_tap.refused_as('v_any',
    format('SELECT convex_db_insert(%L, %L)', 'v_any', jsonb_build_object('a', (repeat('[', 16) || repeat(']', 16))::jsonb)), '54000',
    'Invalid document for table "v_any": Document is too nested (nested 17 levels deep > maximum nesting 16)',
    'v.any(): a document nested 17 levels deep is refused, in Convex''s words');
SELECT regress_cvx_tap.accepted('v_any', jsonb_build_object('a', (SELECT jsonb_agg(0) FROM generate_series(1, 8192))),
                                'v.any(): an array of 8,192 elements (the limit)');
SELECT regress_cvx_tap.refused_as('v_any',
    format('SELECT convex_db_insert(%L, %L)', 'v_any', jsonb_build_object('a', (SELECT jsonb_agg(0) FROM generate_series(1, 8193)))), '54000',
    'Invalid document for table "v_any": Array length is too long (8193 > maximum length 8192)',
    'v.any(): an array of 8,193 elements is refused, in Convex''s words');
SELECT regress_cvx_tap.accepted('v_any', jsonb_build_object('a', (SELECT jsonb_object_agg('f' || g, 0) FROM generate_series(1, 1024) g)),
                                'v.any(): an object of 1,024 fields (the limit)');
SELECT regress_cvx_tap.refused_as('v_any',
    format('SELECT convex_db_insert(%L, %L)', 'v_any', jsonb_build_object('a', (SELECT jsonb_object_agg('f' || g, 0) FROM generate_series(1, 1025) g))), '54000',
    'Invalid document for table "v_any": Object has too many fields (1025 > maximum number 1024)',
    'v.any(): an object of 1,025 fields is refused, in Convex''s words');
SELECT regress_cvx_tap.accepted('v_any', jsonb_build_object('a', jsonb_build_object(repeat('k', 1024), 1)),
                                'v.any(): a field name of 1,024 bytes (the limit)');
SELECT regress_cvx_tap.refused_as('v_any',
    format('SELECT convex_db_insert(%L, %L)', 'v_any', jsonb_build_object('a', jsonb_build_object(repeat('k', 1025), 1))), '54000',
    'Invalid document for table "v_any": Field name is too long (1025 > maximum 1024)',
    'v.any(): a field name of 1,025 bytes is refused, in Convex''s words');
SELECT convex_db_insert('v_any', '{"a": 1}') AS any_id \gset
SELECT regress_cvx_tap.refused_as('v_any', format('SELECT convex_db_patch(%L, %L, %L)', 'v_any', :'any_id', '{"a": {"$x": 1}}'), '22023',
    'Invalid document for table "v_any": Field name $x starts with ''$'', which is reserved.',
    'patch: v.any() refuses a $ field name');
SELECT regress_cvx_tap.refused_as('v_any', format('SELECT convex_db_replace(%L, %L, %L)', 'v_any', :'any_id', '{"a": {"$x": 1}}'), '22023',
    'Invalid document for table "v_any": Field name $x starts with ''$'', which is reserved.',
    'replace: v.any() refuses a $ field name');
SELECT regress_cvx_tap.insert_refused('v_any', '{}',
    E'Object is missing the required field `a`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n\nObject: {}\nValidator: v.object({a: v.any()})',
    'v.any(): the field is still required');

------------------------------------------------------------------------
-- 7. v.id("t"): an id of table t (existence is not checked)
------------------------------------------------------------------------

SELECT convex_db_insert('vt_target', '{"name": "target"}') AS target_id \gset
SELECT convex_db_insert('vt_target', '{"name": "gone"}') AS gone_id \gset
SELECT convex_db_delete('vt_target', :'gone_id');
SELECT convex_db_insert('vt_other', '{"name": "other"}') AS other_id \gset
-- Ids made by test/pgtap/ids.sql's independent encoder: table 540 (_storage,
-- Convex's number) and table 9999 (no such table).
SELECT 'kg2020g30g2gc1r81450p30d1s720xzt' AS storage_id, 'hx7020g30g2gc1r81450p30d1s721d7t' AS unknown_table_id \gset
SELECT is(convex_id_table(:'storage_id'), '_storage', 'the hand-made system id decodes to _storage');
SELECT is(convex_id_table(:'unknown_table_id'), NULL, 'the hand-made id of table 9999 decodes to no table');

SELECT regress_cvx_tap.accepted('v_id', jsonb_build_object('ref', :'target_id'), 'v.id("vt_target"): an id of vt_target');
SELECT regress_cvx_tap.accepted('v_id', jsonb_build_object('ref', :'gone_id'),
                                'v.id("vt_target"): an id of a deleted vt_target document (existence is not checked)');
SELECT regress_cvx_tap.accepted('v_id', jsonb_build_object('ref', :'target_id', 'file', :'storage_id'),
                                'v.id("_storage"): an id of the _storage system table');

SELECT regress_cvx_tap.insert_refused('v_id', jsonb_build_object('ref', :'other_id'),
    format('Found ID "%s" from table `vt_other`, which does not match the table name in validator `v.id("vt_target")`.Path: .ref', :'other_id'),
    'v.id("vt_target") refuses an id of another table, in Convex''s words');
SELECT regress_cvx_tap.insert_refused('v_id', jsonb_build_object('ref', :'target_id', 'file', :'target_id'),
    format('Found ID "%s" from table `vt_target`, which does not match the table name in validator `v.id("_storage")`.Path: .file', :'target_id'),
    'v.id("_storage") refuses an id of a user table');
SELECT regress_cvx_tap.insert_refused('v_id', jsonb_build_object('ref', :'storage_id'),
    format('Found ID "%s" from a system table, which does not match the table name in validator `v.id("vt_target")`.Path: .ref', :'storage_id'),
    'v.id("vt_target") refuses an id of a system table, in Convex''s words');
SELECT regress_cvx_tap.insert_refused('v_id', jsonb_build_object('ref', :'unknown_table_id'),
    format(E'Value does not match validator.\nPath: .ref\nValue: "%s"\nValidator: v.id("vt_target")', :'unknown_table_id'),
    'v.id("vt_target") refuses a well-formed id of a table that does not exist');
SELECT regress_cvx_tap.insert_refused('v_id', '{"ref": "nope"}',
    E'Value does not match validator.\nPath: .ref\nValue: "nope"\nValidator: v.id("vt_target")',
    'v.id() refuses a string that is not an id');
SELECT regress_cvx_tap.insert_refused('v_id', '{"ref": ""}',
    E'Value does not match validator.\nPath: .ref\nValue: ""\nValidator: v.id("vt_target")',
    'v.id() refuses the empty string');
SELECT regress_cvx_tap.insert_refused('v_id', jsonb_build_object('ref', left(:'target_id', -1)),
    format(E'Value does not match validator.\nPath: .ref\nValue: "%s"\nValidator: v.id("vt_target")', left(:'target_id', -1)),
    'v.id() refuses an id missing its last character');
SELECT left(:'target_id', -1) || CASE WHEN right(:'target_id', 1) = '0' THEN '1' ELSE '0' END AS bad_footer_id \gset
SELECT regress_cvx_tap.insert_refused('v_id', jsonb_build_object('ref', :'bad_footer_id'),
    format(E'Value does not match validator.\nPath: .ref\nValue: "%s"\nValidator: v.id("vt_target")', :'bad_footer_id'),
    'v.id() refuses an id whose checksum footer is wrong');
SELECT regress_cvx_tap.insert_refused('v_id', jsonb_build_object('ref', :'target_id' || 'x'),
    format(E'Value does not match validator.\nPath: .ref\nValue: "%s"\nValidator: v.id("vt_target")', :'target_id' || 'x'),
    'v.id() refuses an id with a character too many');
SELECT regress_cvx_tap.insert_refused('v_id', '{"ref": 10005}',
    E'Value does not match validator.\nPath: .ref\nValue: 10005.0\nValidator: v.id("vt_target")',
    'v.id() refuses a number');

------------------------------------------------------------------------
-- 8. v.literal(): string, number, boolean and bigint literals
------------------------------------------------------------------------

SELECT regress_cvx_tap.accepted('v_literal', '{"ls": "open"}', 'v.literal("open"): "open"');
SELECT regress_cvx_tap.accepted('v_literal', '{"le": ""}', 'v.literal(""): the empty string');
SELECT regress_cvx_tap.accepted('v_literal', '{"ln": 42}', 'v.literal(42): 42');
SELECT regress_cvx_tap.accepted('v_literal', '{"ln": 42.0}', 'v.literal(42): 42.0 (the same float64)');
SELECT regress_cvx_tap.accepted('v_literal', '{"lf": 1.5}', 'v.literal(1.5): 1.5');
SELECT regress_cvx_tap.accepted('v_literal', '{"lt": true}', 'v.literal(true): true');
SELECT regress_cvx_tap.accepted('v_literal', '{"lno": false}', 'v.literal(false): false');
SELECT regress_cvx_tap.accepted('v_literal', '{"li": {"$integer": "KgAAAAAAAAA="}}', 'v.literal(42n): the int64 42');

SELECT regress_cvx_tap.insert_refused('v_literal', '{"ls": "Open"}',
    '`"Open"` does not match literal validator `v.literal("open")`.Path: .ls',
    'v.literal("open") refuses "Open" (case matters)');
SELECT regress_cvx_tap.insert_refused('v_literal', '{"ls": 1}',
    '`1.0` does not match literal validator `v.literal("open")`.Path: .ls',
    'v.literal("open") refuses a number');
SELECT regress_cvx_tap.insert_refused('v_literal', '{"ls": null}',
    '`null` does not match literal validator `v.literal("open")`.Path: .ls',
    'v.literal("open") refuses null');
SELECT regress_cvx_tap.insert_refused('v_literal', '{"le": " "}',
    '`" "` does not match literal validator `v.literal("")`.Path: .le',
    'v.literal("") refuses a space');
SELECT regress_cvx_tap.insert_refused('v_literal', '{"ln": 43}',
    '`43.0` does not match literal validator `v.literal(42.0)`.Path: .ln',
    'v.literal(42) refuses 43');
SELECT regress_cvx_tap.insert_refused('v_literal', '{"ln": "42"}',
    '`"42"` does not match literal validator `v.literal(42.0)`.Path: .ln',
    'v.literal(42) refuses the string "42"');
SELECT regress_cvx_tap.insert_refused('v_literal', '{"ln": {"$integer": "KgAAAAAAAAA="}}',
    '`42` does not match literal validator `v.literal(42.0)`.Path: .ln',
    'v.literal(42) refuses the int64 42');
SELECT regress_cvx_tap.insert_refused('v_literal', '{"lf": 1.25}',
    '`1.25` does not match literal validator `v.literal(1.5)`.Path: .lf',
    'v.literal(1.5) refuses 1.25');
SELECT regress_cvx_tap.insert_refused('v_literal', '{"lt": false}',
    '`false` does not match literal validator `v.literal(true)`.Path: .lt',
    'v.literal(true) refuses false');
SELECT regress_cvx_tap.insert_refused('v_literal', '{"lt": "true"}',
    '`"true"` does not match literal validator `v.literal(true)`.Path: .lt',
    'v.literal(true) refuses the string "true"');
SELECT regress_cvx_tap.insert_refused('v_literal', '{"lno": 0}',
    '`0.0` does not match literal validator `v.literal(false)`.Path: .lno',
    'v.literal(false) refuses 0');
SELECT regress_cvx_tap.insert_refused('v_literal', '{"li": {"$integer": "KwAAAAAAAAA="}}',
    '`43` does not match literal validator `v.literal(<bigint>)`.Path: .li',
    'v.literal(42n) refuses the int64 43');
SELECT regress_cvx_tap.insert_refused('v_literal', '{"li": 42}',
    '`42.0` does not match literal validator `v.literal(<bigint>)`.Path: .li',
    'v.literal(42n) refuses the float64 42');

------------------------------------------------------------------------
-- 9. v.array(): elements checked in order, the path names the index
------------------------------------------------------------------------

SELECT regress_cvx_tap.accepted('v_array', '{"arr": []}', 'v.array(v.string()): the empty array');
SELECT regress_cvx_tap.accepted('v_array', '{"arr": ["a", "", "b"]}', 'v.array(v.string()): strings');
SELECT regress_cvx_tap.accepted('v_array', jsonb_build_object('arr', (SELECT jsonb_agg('e' || g) FROM generate_series(1, 1000) g)),
                                'v.array(v.string()): 1,000 elements');
SELECT regress_cvx_tap.accepted('v_array', '{"grid": [[], [1, 2], [3.5]]}', 'v.array(v.array(v.float64())): nested arrays');
SELECT regress_cvx_tap.accepted('v_array', '{"grid": []}', 'v.array(v.array(v.float64())): the empty array');
SELECT regress_cvx_tap.accepted('v_array', '{"objs": [{"k": 1}, {"k": 2}]}', 'v.array(v.object(…)): objects');
SELECT regress_cvx_tap.accepted('v_array', '{}', 'v.optional(v.array(…)): absent');

SELECT regress_cvx_tap.insert_refused('v_array', '{"arr": ["a", 1, "c"]}',
    E'Value does not match validator.\nPath: .arr[1]\nValue: 1.0\nValidator: v.string()',
    'v.array(v.string()) refuses a wrong element; the path names its index');
SELECT regress_cvx_tap.insert_refused('v_array', '{"arr": [1, 2]}',
    E'Value does not match validator.\nPath: .arr[0]\nValue: 1.0\nValidator: v.string()',
    'v.array(): the first wrong element is reported');
SELECT regress_cvx_tap.insert_refused('v_array', '{"arr": "a"}',
    E'Value does not match validator.\nPath: .arr\nValue: "a"\nValidator: v.array(v.string())',
    'v.array() refuses a string');
SELECT regress_cvx_tap.insert_refused('v_array', '{"arr": {"0": "a"}}',
    E'Value does not match validator.\nPath: .arr\nValue: {0: "a"}\nValidator: v.array(v.string())',
    'v.array() refuses an object with index-like keys');
SELECT regress_cvx_tap.insert_refused('v_array', '{"arr": null}',
    E'Value does not match validator.\nPath: .arr\nValue: null\nValidator: v.array(v.string())',
    'v.optional(v.array()) refuses null');
SELECT regress_cvx_tap.insert_refused('v_array', '{"grid": [[1], [2, "x"]]}',
    E'Value does not match validator.\nPath: .grid[1][1]\nValue: "x"\nValidator: v.float64()',
    'v.array(v.array()): the path names both indexes');
SELECT regress_cvx_tap.insert_refused('v_array', '{"grid": [1]}',
    E'Value does not match validator.\nPath: .grid[0]\nValue: 1.0\nValidator: v.array(v.float64())',
    'v.array(v.array()) refuses a number as the inner array');
SELECT regress_cvx_tap.insert_refused('v_array', '{"objs": [{"k": 1}, {}]}',
    E'Object is missing the required field `k`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\nPath: .objs[1]\nObject: {}\nValidator: v.object({k: v.float64()})',
    'v.array(v.object()): a missing field of an element');
SELECT regress_cvx_tap.insert_refused('v_array', '{"objs": [{"k": 1, "j": 2}]}',
    E'Object contains extra field `j` that is not in the validator.\nPath: .objs[0]\nObject: {j: 2.0, k: 1.0}\nValidator: v.object({k: v.float64()})',
    'v.array(v.object()): an extra field of an element');

------------------------------------------------------------------------
-- 10. v.object(): nested, optional fields, missing and extra fields
------------------------------------------------------------------------

SELECT regress_cvx_tap.accepted('v_object', '{"o": {"x": 1}}', 'v.object(): the optional nested object absent');
SELECT regress_cvx_tap.accepted('v_object', '{"o": {"x": 1, "inner": {"deep": true}}}', 'v.object(): a nested object, its optional field absent');
SELECT regress_cvx_tap.accepted('v_object', '{"o": {"x": -0.5, "inner": {"deep": false, "tag": "t"}}}', 'v.object(): every optional field present');
SELECT regress_cvx_tap.accepted('v_object', '{"o": {"x": 1}, "e": {}}', 'v.object({}): the empty object');

SELECT 'v.object({inner: v.optional(v.object({deep: v.boolean(), tag: v.optional(v.string())})), x: v.float64()})' AS o_validator \gset
SELECT regress_cvx_tap.insert_refused('v_object', '{"o": {}}',
    format(E'Object is missing the required field `x`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\nPath: .o\nObject: {}\nValidator: %s', :'o_validator'),
    'v.object(): a missing required field');
SELECT regress_cvx_tap.insert_refused('v_object', '{"o": {"zz": 1}}',
    format(E'Object is missing the required field `x`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\nPath: .o\nObject: {zz: 1.0}\nValidator: %s', :'o_validator'),
    'v.object(): a missing field is reported before an extra one');
SELECT regress_cvx_tap.insert_refused('v_object', '{"o": {"x": 1, "inner": {}}}',
    E'Object is missing the required field `deep`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\nPath: .o.inner\nObject: {}\nValidator: v.object({deep: v.boolean(), tag: v.optional(v.string())})',
    'v.object(): a missing field of a nested object');
SELECT regress_cvx_tap.insert_refused('v_object', '{"o": {"x": 1, "zz": 2}}',
    format(E'Object contains extra field `zz` that is not in the validator.\nPath: .o\nObject: {x: 1.0, zz: 2.0}\nValidator: %s', :'o_validator'),
    'v.object(): an extra field');
SELECT regress_cvx_tap.insert_refused('v_object', '{"o": {"x": 1, "b": 1, "a": 2}}',
    format(E'Object contains extra field `a` that is not in the validator.\nPath: .o\nObject: {a: 2.0, b: 1.0, x: 1.0}\nValidator: %s', :'o_validator'),
    'v.object(): of several extra fields, the first in key order is reported');
SELECT regress_cvx_tap.insert_refused('v_object', '{"o": {"x": 1, "inner": {"deep": true, "extra": 0}}}',
    E'Object contains extra field `extra` that is not in the validator.\nPath: .o.inner\nObject: {deep: true, extra: 0.0}\nValidator: v.object({deep: v.boolean(), tag: v.optional(v.string())})',
    'v.object(): an extra field of a nested object');
SELECT regress_cvx_tap.insert_refused('v_object', '{"o": {"x": 1}, "e": {"a": 1}}',
    E'Object contains extra field `a` that is not in the validator.\nPath: .e\nObject: {a: 1.0}\nValidator: v.object({})',
    'v.object({}) refuses any field');
SELECT regress_cvx_tap.insert_refused('v_object', '{"o": {"x": 1, "inner": {"deep": 1}}}',
    E'Value does not match validator.\nPath: .o.inner.deep\nValue: 1.0\nValidator: v.boolean()',
    'v.object(): a wrong value deep inside; the path names every level');
SELECT regress_cvx_tap.insert_refused('v_object', '{"o": {"x": 1, "inner": {"deep": true, "tag": null}}}',
    E'Value does not match validator.\nPath: .o.inner.tag\nValue: null\nValidator: v.string()',
    'v.object(): null is not an absent optional field');
SELECT regress_cvx_tap.insert_refused('v_object', '{"o": [1]}',
    format(E'Value does not match validator.\nPath: .o\nValue: [1.0]\nValidator: %s', :'o_validator'),
    'v.object() refuses an array');
SELECT regress_cvx_tap.insert_refused('v_object', '{"o": "x"}',
    format(E'Value does not match validator.\nPath: .o\nValue: "x"\nValidator: %s', :'o_validator'),
    'v.object() refuses a string');
SELECT regress_cvx_tap.insert_refused('v_object', '{"e": {}}',
    format(E'Object is missing the required field `o`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n\nObject: {e: {}}\nValidator: v.object({e: v.optional(v.object({})), o: %s})', :'o_validator'),
    'the document itself: a missing top-level field (no Path line)');
SELECT regress_cvx_tap.insert_refused('v_object', '{"o": {"x": 1}, "other": true}',
    format(E'Object contains extra field `other` that is not in the validator.\n\nObject: {o: {x: 1.0}, other: true}\nValidator: v.object({e: v.optional(v.object({})), o: %s})', :'o_validator'),
    'the document itself: an extra top-level field (no Path line)');

------------------------------------------------------------------------
-- 11. v.union(): any member matches; none matching shows the whole union
------------------------------------------------------------------------

SELECT regress_cvx_tap.accepted('v_union', '{"u": "s"}', 'v.union(): the first member');
SELECT regress_cvx_tap.accepted('v_union', '{"u": 3}', 'v.union(): the second member');
SELECT regress_cvx_tap.accepted('v_union', '{"u": {"kind": "a"}}', 'v.union(): the third member, an object');
SELECT regress_cvx_tap.accepted('v_union', '{"one": true}', 'v.union() of one member');
SELECT regress_cvx_tap.accepted('v_union', '{"nul": null}', 'v.union(v.string(), v.null()): null');
SELECT regress_cvx_tap.accepted('v_union', '{"nul": "x"}', 'v.union(v.string(), v.null()): a string');

SELECT regress_cvx_tap.insert_refused('v_union', '{"u": true}',
    E'Value does not match validator.\nPath: .u\nValue: true\nValidator: v.union(v.string(), v.float64(), v.object({kind: v.literal("a")}))',
    'v.union() refuses a value no member accepts');
SELECT regress_cvx_tap.insert_refused('v_union', '{"u": {"kind": "b"}}',
    E'Value does not match validator.\nPath: .u\nValue: {kind: "b"}\nValidator: v.union(v.string(), v.float64(), v.object({kind: v.literal("a")}))',
    'v.union(): a near miss of the object member shows the union, not the member''s error');
SELECT regress_cvx_tap.insert_refused('v_union', '{"u": null}',
    E'Value does not match validator.\nPath: .u\nValue: null\nValidator: v.union(v.string(), v.float64(), v.object({kind: v.literal("a")}))',
    'v.union() without v.null() refuses null');
SELECT regress_cvx_tap.insert_refused('v_union', '{"one": 1}',
    E'Value does not match validator.\nPath: .one\nValue: 1.0\nValidator: v.boolean()',
    'v.union() of one member reports as that member');
SELECT regress_cvx_tap.insert_refused('v_union', '{"nul": 1}',
    E'Value does not match validator.\nPath: .nul\nValue: 1.0\nValidator: v.union(v.string(), v.null())',
    'v.union(v.string(), v.null()) refuses a number');

------------------------------------------------------------------------
-- 12. v.record(): keys and values checked; .keys() / .values() in the path
------------------------------------------------------------------------

SELECT regress_cvx_tap.accepted('v_record', '{"rs": {}}', 'v.record(v.string(), …): the empty record');
SELECT regress_cvx_tap.accepted('v_record', '{"rs": {"a": 1, "b c": 2.5, "Z-9": -1, "_x": 0}}',
                                'v.record(v.string(), v.float64()): string keys that are not identifiers');
SELECT regress_cvx_tap.accepted('v_record', jsonb_build_object('ri', jsonb_build_object(:'target_id', 'v')),
                                'v.record(v.id("vt_target"), …): an id as the key');

SELECT regress_cvx_tap.insert_refused('v_record', '{"rs": {"a": 1, "b": "two"}}',
    E'Value does not match validator.\nPath: .rs.values()\nValue: "two"\nValidator: v.float64()',
    'v.record() refuses a wrong value');
SELECT regress_cvx_tap.insert_refused('v_record', '{"rs": {"b": "x", "a": "y"}}',
    E'Value does not match validator.\nPath: .rs.values()\nValue: "y"\nValidator: v.float64()',
    'v.record(): the first wrong entry in key order is reported');
SELECT regress_cvx_tap.insert_refused('v_record', '{"rs": [1]}',
    E'Value does not match validator.\nPath: .rs\nValue: [1.0]\nValidator: v.record(v.string(), v.float64())',
    'v.record() refuses an array');
SELECT regress_cvx_tap.insert_refused('v_record', '{"rs": "x"}',
    E'Value does not match validator.\nPath: .rs\nValue: "x"\nValidator: v.record(v.string(), v.float64())',
    'v.record() refuses a string');
SELECT regress_cvx_tap.insert_refused('v_record', '{"ri": {"nope": "v"}}',
    E'Value does not match validator.\nPath: .ri.keys()\nValue: "nope"\nValidator: v.id("vt_target")',
    'v.record(v.id(), …) refuses a key that is not an id');
SELECT regress_cvx_tap.insert_refused('v_record', jsonb_build_object('ri', jsonb_build_object(:'other_id', 'v')),
    format('Found ID "%s" from table `vt_other`, which does not match the table name in validator `v.id("vt_target")`.Path: .ri.keys()', :'other_id'),
    'v.record(v.id("vt_target"), …) refuses a key that is an id of another table');
SELECT regress_cvx_tap.insert_refused('v_record', jsonb_build_object('ri', jsonb_build_object(:'target_id', 1)),
    E'Value does not match validator.\nPath: .ri.values()\nValue: 1.0\nValidator: v.string()',
    'v.record(v.id(), v.string()) refuses a wrong value');

------------------------------------------------------------------------
-- 13. Optional top-level fields; patch (null clears an optional field)
--     and replace
------------------------------------------------------------------------

SELECT 'v.object({note: v.optional(v.string()), opt: v.optional(v.float64()), req: v.string()})' AS opt_validator \gset

SELECT regress_cvx_tap.accepted('v_optional', '{"req": "a"}', 'optional fields absent: absent from the document read back');
SELECT regress_cvx_tap.accepted('v_optional', '{"req": "a", "opt": 1, "note": ""}', 'optional fields present');
SELECT regress_cvx_tap.insert_refused('v_optional', '{"req": "a", "opt": null}',
    E'Value does not match validator.\nPath: .opt\nValue: null\nValidator: v.float64()',
    'insert: null is not an absent optional field');
SELECT regress_cvx_tap.insert_refused('v_optional', '{"opt": 1}',
    format(E'Object is missing the required field `req`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n\nObject: {opt: 1.0}\nValidator: %s', :'opt_validator'),
    'insert: a missing required field');

SELECT convex_db_insert('v_optional', '{"req": "a", "opt": 1, "note": "n"}') AS doc_id \gset
SELECT regress_cvx_tap.written('v_optional', :'doc_id', format('SELECT convex_db_patch(%L, %L, %L)', 'v_optional', :'doc_id', '{"opt": 2}'),
    '{"req": "a", "opt": 2, "note": "n"}', 'patch: one optional field changed, the others kept');
SELECT regress_cvx_tap.written('v_optional', :'doc_id', format('SELECT convex_db_patch(%L, %L, %L)', 'v_optional', :'doc_id', '{"opt": null}'),
    '{"req": "a", "note": "n"}', 'patch: null clears an optional field');
SELECT is(regress_cvx_tap.stored('v_optional', 'opt', :'doc_id'), NULL, '... and its column is SQL NULL');
SELECT regress_cvx_tap.written('v_optional', :'doc_id', format('SELECT convex_db_patch(%L, %L, %L)', 'v_optional', :'doc_id', '{"note": null, "opt": 5}'),
    '{"req": "a", "opt": 5}', 'patch: clear one optional field and set another');
SELECT regress_cvx_tap.written('v_optional', :'doc_id', format('SELECT convex_db_patch(%L, %L, %L)', 'v_optional', :'doc_id', '{"note": null}'),
    '{"req": "a", "opt": 5}', 'patch: clearing an absent optional field changes nothing');
SELECT regress_cvx_tap.written('v_optional', :'doc_id', format('SELECT convex_db_patch(%L, %L, %L)', 'v_optional', :'doc_id', '{}'),
    '{"req": "a", "opt": 5}', 'patch: {} changes nothing');

SELECT regress_cvx_tap.refused('v_optional', format('SELECT convex_db_patch(%L, %L, %L)', 'v_optional', :'doc_id', '{"req": null}'),
    E'Value does not match validator.\nPath: .req\nValue: null\nValidator: v.string()',
    'patch: null on a required field sets it to null, which its validator refuses');
SELECT regress_cvx_tap.refused('v_optional', format('SELECT convex_db_patch(%L, %L, %L)', 'v_optional', :'doc_id', '{"req": 1}'),
    E'Value does not match validator.\nPath: .req\nValue: 1.0\nValidator: v.string()',
    'patch: a wrong value for a required field');
SELECT regress_cvx_tap.refused('v_optional', format('SELECT convex_db_patch(%L, %L, %L)', 'v_optional', :'doc_id', '{"opt": "x", "note": "ok"}'),
    E'Value does not match validator.\nPath: .opt\nValue: "x"\nValidator: v.float64()',
    'patch: a wrong value for an optional field (the valid part is not written either)');
SELECT regress_cvx_tap.refused('v_optional', format('SELECT convex_db_patch(%L, %L, %L)', 'v_optional', :'doc_id', '{"extra": 1}'),
    format(E'Object contains extra field `extra` that is not in the validator.\n\nObject: {extra: 1.0, opt: 5.0, req: "a"}\nValidator: %s', :'opt_validator'),
    'patch: a field the table does not have');

SELECT regress_cvx_tap.written('v_optional', :'doc_id', format('SELECT convex_db_replace(%L, %L, %L)', 'v_optional', :'doc_id', '{"req": "b"}'),
    '{"req": "b"}', 'replace: fields not in the new document are gone');
SELECT regress_cvx_tap.written('v_optional', :'doc_id', format('SELECT convex_db_replace(%L, %L, %L)', 'v_optional', :'doc_id', '{"req": "c", "opt": 7, "note": "m"}'),
    '{"req": "c", "opt": 7, "note": "m"}', 'replace: every field given');
SELECT regress_cvx_tap.refused('v_optional', format('SELECT convex_db_replace(%L, %L, %L)', 'v_optional', :'doc_id', '{"opt": 1}'),
    format(E'Object is missing the required field `req`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n\nObject: {opt: 1.0}\nValidator: %s', :'opt_validator'),
    'replace: a missing required field');
SELECT regress_cvx_tap.refused('v_optional', format('SELECT convex_db_replace(%L, %L, %L)', 'v_optional', :'doc_id', '{"req": "c", "opt": null}'),
    E'Value does not match validator.\nPath: .opt\nValue: null\nValidator: v.float64()',
    'replace: null is a value, not an absent optional field');
SELECT regress_cvx_tap.refused('v_optional', format('SELECT convex_db_replace(%L, %L, %L)', 'v_optional', :'doc_id', '{"req": "c", "bad": true}'),
    format(E'Object contains extra field `bad` that is not in the validator.\n\nObject: {bad: true, req: "c"}\nValidator: %s', :'opt_validator'),
    'replace: an extra field');
SELECT is(convex_db_get('v_optional', :'doc_id') - '_id' - '_creationTime', '{"req": "c", "opt": 7, "note": "m"}',
          'after the refused writes the document is still the last one written');

-- A required field whose validator accepts null is set to null by a patch,
-- not cleared; an optional one is cleared.
SELECT convex_define_table('v_nullable',
  '{"z": {"fieldType": {"type": "union", "value": [{"type": "string"}, {"type": "null"}]}, "optional": false},
    "o": {"fieldType": {"type": "union", "value": [{"type": "string"}, {"type": "null"}]}, "optional": true}}') IS NOT NULL AS defined \gset
SELECT convex_db_insert('v_nullable', '{"z": "a", "o": "b"}') AS nz_id \gset
SELECT regress_cvx_tap.written('v_nullable', :'nz_id', format('SELECT convex_db_patch(%L, %L, %L)', 'v_nullable', :'nz_id', '{"z": null, "o": null}'),
    '{"z": null}', 'patch: null sets a required nullable field to null and clears an optional one');

------------------------------------------------------------------------
-- 14. Patch and replace check every kind, not only insert
------------------------------------------------------------------------

SELECT convex_db_insert('v_number', '{"n": 1}') AS pn_id \gset
SELECT regress_cvx_tap.written('v_number', :'pn_id', format('SELECT convex_db_patch(%L, %L, %L)', 'v_number', :'pn_id', '{"n": {"$float": "AAAAAAAA8P8="}}'),
    '{"n": {"$float": "AAAAAAAA8P8="}}', 'patch v.float64() to -Infinity');
SELECT regress_cvx_tap.refused('v_number', format('SELECT convex_db_patch(%L, %L, %L)', 'v_number', :'pn_id', '{"n": "1"}'),
    E'Value does not match validator.\nPath: .n\nValue: "1"\nValidator: v.float64()',
    'patch v.float64() to a string');
SELECT convex_db_insert('v_bigint', '{"i": {"$integer": "AQAAAAAAAAA="}}') AS pi_id \gset
SELECT regress_cvx_tap.written('v_bigint', :'pi_id', format('SELECT convex_db_replace(%L, %L, %L)', 'v_bigint', :'pi_id', '{"i": {"$integer": "/////////38="}}'),
    '{"i": {"$integer": "/////////38="}}', 'replace v.int64() with the largest int64');
SELECT regress_cvx_tap.malformed('v_bigint', format('SELECT convex_db_patch(%L, %L, %L)', 'v_bigint', :'pi_id', '{"i": {"$integer": "AQAAAAAAAA=="}}'),
    'Int64 must be exactly eight bytes, in base64',
    'patch v.int64() to 7 bytes');
SELECT convex_db_insert('v_bytes', '{"y": {"$bytes": "aGk="}}') AS py_id \gset
SELECT regress_cvx_tap.malformed('v_bytes', format('SELECT convex_db_replace(%L, %L, %L)', 'v_bytes', :'py_id', '{"y": {"$bytes": "!!!!"}}'),
    '$bytes must be a base64 string',
    'replace v.bytes() with invalid base64');
SELECT convex_db_insert('v_id', jsonb_build_object('ref', :'target_id')) AS pid_id \gset
SELECT regress_cvx_tap.refused('v_id', format('SELECT convex_db_patch(%L, %L, %L)', 'v_id', :'pid_id', jsonb_build_object('ref', :'other_id')),
    format('Found ID "%s" from table `vt_other`, which does not match the table name in validator `v.id("vt_target")`.Path: .ref', :'other_id'),
    'patch v.id("vt_target") to an id of another table');
SELECT regress_cvx_tap.written('v_id', :'pid_id', format('SELECT convex_db_patch(%L, %L, %L)', 'v_id', :'pid_id', jsonb_build_object('file', :'storage_id')),
    jsonb_build_object('ref', :'target_id', 'file', :'storage_id'), 'patch an optional v.id("_storage") in');
SELECT convex_db_insert('v_literal', '{"ls": "open"}') AS pl_id \gset
SELECT regress_cvx_tap.refused('v_literal', format('SELECT convex_db_patch(%L, %L, %L)', 'v_literal', :'pl_id', '{"ls": "closed"}'),
    '`"closed"` does not match literal validator `v.literal("open")`.Path: .ls',
    'patch v.literal("open") to another string');
SELECT convex_db_insert('v_object', '{"o": {"x": 1, "inner": {"deep": true}}}') AS po_id \gset
SELECT regress_cvx_tap.refused('v_object', format('SELECT convex_db_patch(%L, %L, %L)', 'v_object', :'po_id', '{"o": {"inner": {"deep": true}}}'),
    format(E'Object is missing the required field `x`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\nPath: .o\nObject: {inner: {deep: true}}\nValidator: %s', :'o_validator'),
    'patch is shallow: a nested object is replaced whole and checked whole');
SELECT regress_cvx_tap.written('v_object', :'po_id', format('SELECT convex_db_patch(%L, %L, %L)', 'v_object', :'po_id', '{"o": {"x": 2}}'),
    '{"o": {"x": 2}}', 'patch replaces a nested object whole (its optional field is gone)');
SELECT convex_db_insert('v_union', '{"nul": "x"}') AS pu_id \gset
SELECT regress_cvx_tap.refused('v_union', format('SELECT convex_db_replace(%L, %L, %L)', 'v_union', :'pu_id', '{"u": false}'),
    E'Value does not match validator.\nPath: .u\nValue: false\nValidator: v.union(v.string(), v.float64(), v.object({kind: v.literal("a")}))',
    'replace v.union() with a value no member accepts');
SELECT regress_cvx_tap.written('v_union', :'pu_id', format('SELECT convex_db_replace(%L, %L, %L)', 'v_union', :'pu_id', '{"nul": null}'),
    '{"nul": null}', 'replace: null stored in a v.optional(v.union(v.string(), v.null()))');

SELECT * FROM finish();
ROLLBACK;
