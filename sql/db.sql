--
-- ctx.db over the built-in tables
--
SELECT convex_db_insert('users', '{"name": "Dana", "isAnonymous": false, "emailVerificationTime": 1700000000000.5}') AS dana \gset

-- get: Convex's keys; absent optional fields are absent, not null
SELECT convex_db_get('users', :'dana') - '_id' - '_creationTime' AS document;
SELECT (convex_db_get('users', :'dana') ->> '_id') = :'dana' AS has_id,
       jsonb_typeof(convex_db_get('users', :'dana') -> '_creationTime') AS creation_time_type;

-- patch: shallow merge; null clears an optional field
SELECT convex_db_patch('users', :'dana', '{"email": "dana@example.com", "isAnonymous": null}');
SELECT convex_db_get('users', :'dana') - '_id' - '_creationTime' AS patched;
SELECT regress_try(format($$SELECT convex_db_patch('users', '%s', '{"name": 7}')$$, :'dana'));
SELECT regress_try(format($$SELECT convex_db_patch('users', '%s', '{"nickname": "D"}')$$, :'dana'));
SELECT regress_try(format($$SELECT convex_db_patch('users', '%s', '[1]')$$, :'dana'));

-- replace: the whole document; required fields must be there
SELECT convex_messages_send('{"roomId": "r1", "content": "first", "userName": "Dana"}') AS msg \gset
SELECT convex_db_replace('messages', :'msg', '{"roomId": "r2", "content": "edited", "userName": "Dana"}');
SELECT convex_db_get('messages', :'msg') - '_id' - '_creationTime' AS replaced;
SELECT regress_try(format($$SELECT convex_db_replace('messages', '%s', '{"roomId": "r2"}')$$, :'msg'));
SELECT regress_try(format($$SELECT convex_db_patch('messages', '%s', '{"content": null}')$$, :'msg'));
SELECT convex_db_get('messages', :'msg') ->> 'content' AS unchanged;

-- v.id fields are checked against their table
SELECT regress_try(format($$SELECT convex_db_insert('messages', '{"roomId": "r", "content": "c", "userName": "u", "userId": "%s"}')$$, :'msg'));
SELECT regress_try(format($$SELECT convex_db_insert('files', '{"storageId": "%s", "name": "a.txt", "type": "text/plain", "size": 1}')$$, :'dana'));

-- delete, and Convex's errors for missing documents (P0002)
SELECT convex_db_delete('messages', :'msg');
SELECT convex_db_get('messages', :'msg') IS NULL AS gone;
SELECT regress_try(format($$SELECT convex_db_delete('messages', '%s')$$, :'msg'));
SELECT regress_try(format($$SELECT convex_db_patch('messages', '%s', '{}')$$, :'msg'));
SELECT regress_try(format($$SELECT convex_db_replace('messages', '%s', '{"roomId": "r", "content": "c", "userName": "u"}')$$, :'msg'));

-- ids of the wrong table, malformed ids, NULLs
SELECT regress_try(format($$SELECT convex_db_get('messages', '%s')$$, :'dana'));
SELECT regress_try($$SELECT convex_db_get('messages', 'hello')$$);
SELECT regress_try($$SELECT convex_db_delete('messages', '')$$);
SELECT regress_try($$SELECT convex_db_get('messages', NULL)$$);
SELECT regress_try($$SELECT convex_db_insert('messages', NULL)$$);
SELECT regress_try($$SELECT convex_db_insert(NULL, '{}')$$);

-- only convexlite's tables, named exactly
SELECT t, regress_try(format('SELECT convex_db_insert(%L, %L)', t, '{}'))
  FROM unnest(ARRAY['pg_class', 'pg_catalog.pg_class', 'convex.messages', '"messages"',
                    'MESSAGES', 'messages ', '', 'messages; DROP TABLE convex.users',
                    '_tables', 'public.messages', repeat('x', 100)]) AS t;

-- schema violations leave nothing written (23514)
SELECT count(*) AS users_before FROM convex.users;
SELECT regress_try($$SELECT convex_db_insert('users', '{"name": "E", "isAnonymous": "yes"}')$$);
SELECT regress_try($$SELECT convex_db_insert('users', '{"_id": "x"}')$$);
SELECT regress_try($$SELECT convex_db_insert('users', '[]')$$);
SELECT count(*) AS users_after FROM convex.users;

-- a rolled-back caller keeps nothing
BEGIN;
SELECT convex_db_insert('users', '{"name": "Temp"}') IS NOT NULL AS inserted;
ROLLBACK;
SELECT count(*) AS users_after_rollback FROM convex.users;

-- _creationTime strictly increases within a transaction
BEGIN;
CREATE TEMP TABLE new_ids AS
SELECT i, convex_db_insert('users', json_build_object('name', 'u' || i)::jsonb) AS id
  FROM generate_series(1, 50) AS i;
SELECT bool_and(t2 > t1) AS strictly_increasing
  FROM (SELECT (convex_db_get('users', id) ->> '_creationTime')::float8 AS t2,
               lag((convex_db_get('users', id) ->> '_creationTime')::float8) OVER (ORDER BY i) AS t1
          FROM new_ids) s
 WHERE t1 IS NOT NULL;
ROLLBACK;
DELETE FROM convex.users;

-- float64 fields hold NaN, +-Infinity and -0 in Convex's {"$float"} form,
-- and give them back the same way
SELECT convex_db_insert('users', '{"name": "F", "emailVerificationTime": {"$float": "AAAAAAAA+H8="}, "phoneVerificationTime": {"$float": "AAAAAAAAAIA="}}') AS f \gset
SELECT email_verification_time, phone_verification_time::text AS minus_zero
  FROM convex.users WHERE _id = :'f';
SELECT convex_db_get('users', :'f') - '_id' - '_creationTime' AS special_floats;
-- a patch of another field keeps them
SELECT convex_db_patch('users', :'f', '{"name": "G"}');
SELECT convex_db_get('users', :'f') - '_id' - '_creationTime' AS after_patch;
SELECT convex_db_patch('users', :'f', '{"emailVerificationTime": {"$float": "AAAAAAAA8P8="}}');
SELECT email_verification_time FROM convex.users WHERE _id = :'f';
SELECT regress_try(format($$SELECT convex_db_patch('users', '%s', '{"emailVerificationTime": {"$float": "AAAAAAAA8D8="}}')$$, :'f'));
SELECT regress_try(format($$SELECT convex_db_patch('users', '%s', '{"emailVerificationTime": {"$integer": "AQAAAAAAAAA="}}')$$, :'f'));

-- replace and patch take back a document read with get: its system fields
-- must be its own, and are not stored as fields
SELECT convex_db_replace('users', :'f', convex_db_get('users', :'f') || '{"name": "H"}');
SELECT convex_db_get('users', :'f') ->> 'name' AS replaced_name;
SELECT convex_db_patch('users', :'f', jsonb_build_object('_id', :'f', 'name', 'I'));
SELECT convex_db_get('users', :'f') ->> 'name' AS patched_name;
SELECT regress_try(format($$SELECT convex_db_replace('users', '%s', '{"_creationTime": 1, "name": "J"}')$$, :'f'));
SELECT convex_db_insert('users', '{}') AS other \gset
SELECT regress_try(format($$SELECT convex_db_patch('users', '%s', '{"_id": "%s"}')$$, :'f', :'other'));
SELECT regress_try(format($$SELECT convex_db_replace('users', '%s', '{"_id": 5}')$$, :'f'));
SELECT convex_db_get('users', :'f') ->> 'name' AS still_i;

-- system tables are read-only to ctx.db
SELECT regress_try($$SELECT convex_db_insert('_storage', '{"sha256": "x", "size": 1}')$$);
DELETE FROM convex.users;
