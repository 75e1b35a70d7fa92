--
-- convex_define_table: application tables from ValidatorJSON
--
SELECT convex_define_table('accounts',
  '{"owner": {"fieldType": {"type": "string"}, "optional": false},
    "balance": {"fieldType": {"type": "number"}, "optional": false}}',
  '{"by_owner": ["owner"]}') AS accounts_number;
SELECT convex_define_table('channels', '{"name": {"fieldType": {"type": "string"}, "optional": false}}') AS channels_number;

-- Every validator kind, stored and read back as Convex JSON
SELECT convex_define_table('kinds', '{
  "s": {"fieldType": {"type": "string"}, "optional": false},
  "n": {"fieldType": {"type": "number"}, "optional": false},
  "i": {"fieldType": {"type": "bigint"}, "optional": false},
  "b": {"fieldType": {"type": "boolean"}, "optional": false},
  "z": {"fieldType": {"type": "null"}, "optional": false},
  "y": {"fieldType": {"type": "bytes"}, "optional": false},
  "a": {"fieldType": {"type": "any"}, "optional": false},
  "ch": {"fieldType": {"type": "id", "tableName": "channels"}, "optional": false},
  "lit": {"fieldType": {"type": "literal", "value": "open"}, "optional": false},
  "arr": {"fieldType": {"type": "array", "value": {"type": "number"}}, "optional": false},
  "u": {"fieldType": {"type": "union", "value": [{"type": "string"}, {"type": "null"}]}, "optional": false},
  "rec": {"fieldType": {"type": "record", "keys": {"type": "string"}, "values": {"fieldType": {"type": "boolean"}, "optional": false}}, "optional": false},
  "obj": {"fieldType": {"type": "object", "value": {"x": {"fieldType": {"type": "number"}, "optional": false}, "note": {"fieldType": {"type": "string"}, "optional": true}}}, "optional": false},
  "opt": {"fieldType": {"type": "string"}, "optional": true}}') AS kinds_number;
SELECT column_name, data_type, collation_name FROM information_schema.columns
 WHERE table_schema = 'convex' AND table_name = 'kinds' ORDER BY ordinal_position;
SELECT convex_db_insert('channels', '{"name": "general"}') AS ch \gset
SELECT jsonb_build_object('s', 'text', 'n', 1.5, 'i', jsonb_build_object('$integer', 'AQAAAAAAAAA='),
                          'b', true, 'z', null, 'y', jsonb_build_object('$bytes', 'aGk='),
                          'a', jsonb_build_object('anything', jsonb_build_array(1, 'two')),
                          'ch', :'ch', 'lit', 'open', 'arr', jsonb_build_array(1, 2.5),
                          'u', null, 'rec', jsonb_build_object('k1', true, 'k2', false),
                          'obj', jsonb_build_object('x', 3)) AS doc \gset
SELECT convex_db_insert('kinds', :'doc') AS k \gset
SELECT (convex_db_get('kinds', :'k') - '_id' - '_creationTime') = :'doc'::jsonb AS round_trip;
SELECT s, n, i, b, z, y, a, lit, arr, u, rec, obj, opt IS NULL AS opt_absent FROM convex.kinds;

-- One wrong value per kind: Convex's message, nothing written
SELECT f, regress_try(format('SELECT convex_db_insert(%L, %L)', 'kinds', (:'doc'::jsonb || jsonb_build_object(f, v))::text))
  FROM (VALUES ('s', '1'::jsonb), ('n', '"1"'), ('i', '1'), ('b', '0'), ('z', 'false'),
               ('y', '"aGk="'), ('ch', '"nope"'), ('lit', '"closed"'), ('arr', '[1, "2"]'),
               ('u', '5'), ('rec', '{"k": 1}'), ('obj', '{"x": 1, "y": 2}')) AS t(f, v);
SELECT count(*) AS kinds_rows FROM convex.kinds;

-- Redefining: an optional field and a new index are compatible
SELECT convex_db_insert('accounts', '{"owner": "ada", "balance": 100}') AS acct \gset
SELECT convex_define_table('accounts',
  '{"owner": {"fieldType": {"type": "string"}, "optional": false},
    "balance": {"fieldType": {"type": "number"}, "optional": false},
    "frozen": {"fieldType": {"type": "boolean"}, "optional": true}}',
  '{"by_balance": ["balance"]}') AS same_number;
SELECT indexname FROM pg_indexes WHERE schemaname = 'convex' AND tablename = 'accounts' ORDER BY indexname;
SELECT convex_db_patch('accounts', :'acct', '{"frozen": true}');
SELECT convex_db_get('accounts', :'acct') - '_id' - '_creationTime' AS patched;
-- ... a required field that stored documents lack is not
SELECT regress_try($$SELECT convex_define_table('accounts', '{"owner": {"fieldType": {"type": "string"}, "optional": false}, "balance": {"fieldType": {"type": "number"}, "optional": false}, "frozen": {"fieldType": {"type": "boolean"}, "optional": true}, "kind": {"fieldType": {"type": "string"}, "optional": false}}')$$);
-- ... nor a new storage type, nor dropping a field documents still set
SELECT regress_try($$SELECT convex_define_table('accounts', '{"owner": {"fieldType": {"type": "string"}, "optional": false}, "balance": {"fieldType": {"type": "string"}, "optional": false}, "frozen": {"fieldType": {"type": "boolean"}, "optional": true}}')$$);
SELECT regress_try($$SELECT convex_define_table('accounts', '{"balance": {"fieldType": {"type": "number"}, "optional": false}}')$$);
-- a field no document sets can go
SELECT convex_db_patch('accounts', :'acct', '{"frozen": null}');
SELECT convex_define_table('accounts',
  '{"owner": {"fieldType": {"type": "string"}, "optional": false},
    "balance": {"fieldType": {"type": "number"}, "optional": false}}',
  '{"by_balance": ["balance"]}') AS same_number_again;
SELECT column_name FROM information_schema.columns
 WHERE table_schema = 'convex' AND table_name = 'accounts' ORDER BY ordinal_position;
-- the cache follows: the dropped field is now an extra field
SELECT regress_try(format($$SELECT convex_db_patch('accounts', '%s', '{"frozen": true}')$$, :'acct'));

-- Names: Convex identifiers only, nothing reserved, nothing already there
-- (a valid name such as pg_class is just a table inside schema convex)
SELECT t, regress_try(format('SELECT convex_define_table(%L, %L)', t, '{}'))
  FROM unnest(ARRAY['pg_class', 'users', '_secret', 'convex.x', 'a b', '1abc', '', 'Robert"); DROP TABLE convex.users; --',
                    repeat('x', 64)]) AS t;
SELECT regress_try($$SELECT convex_define_table('rogue_ok', '{"_hidden": {"fieldType": {"type": "string"}, "optional": true}}')$$);
SELECT regress_try($$SELECT convex_define_table('clash', '{"roomId": {"fieldType": {"type": "string"}, "optional": true}, "room_id": {"fieldType": {"type": "string"}, "optional": true}}')$$);
SELECT regress_try($$SELECT convex_define_table('bad', '{"x": {"fieldType": {"type": "strang"}, "optional": false}}')$$);
SELECT regress_try($$SELECT convex_define_table('bad', '[]')$$);
SELECT regress_try($$SELECT convex_define_table('bad', NULL)$$);
SELECT i, regress_try(format('SELECT convex_define_table(%L, %L, %L)', 'idx',
         '{"a": {"fieldType": {"type": "string"}, "optional": false}}', i))
  FROM unnest(ARRAY['{"by_a": ["b"]}', '{"by_a": ["a.b"]}', '{"by_a": ["a", "a"]}', '{"by_a": []}',
                    '{"by_a": "a"}', '{"by_id": ["a"]}', '{"_x": ["a"]}', '{"x y": ["a"]}', '[]']) AS i;
CREATE TABLE convex.rogue (x int);
SELECT regress_try($$SELECT convex_define_table('rogue', '{}')$$);
DROP TABLE convex.rogue;
SELECT name FROM convex._tables WHERE NOT is_builtin ORDER BY number;
DELETE FROM convex.users;
