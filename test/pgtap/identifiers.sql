-- test/pgtap/identifiers.sql: hostile table, field and index names.
--
-- Every convexlite function that takes a table or index name (ctx.db's
-- insert/get/patch/replace/delete/query, convex_define_table) is given
-- quoting tricks, schema prefixes, catalog and system names, other case,
-- whitespace, empty, NULL, over-long, non-ASCII and reserved names.  Each is
-- refused with its documented SQLSTATE and a clear message (README "Error
-- codes"), or, for valid Convex identifiers that happen to be SQL keywords
-- or catalog names, accepted and quoted into schema convex.  At the end:
-- nothing was created, written or dropped besides what this file meant to.
--
-- Run with pg_prove as a superuser against a database where convexlite can be
-- (re)installed.  Everything below runs in one transaction that is rolled back.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(530);
SET LOCAL client_min_messages = warning;
-- what an aborted file may have left must not break this one (rolled back: left as found)
DROP SCHEMA IF EXISTS regress_cvx_tap CASCADE;
RESET client_min_messages;

-- SQLSTATE and a LIKE pattern on the message, in one assertion.
\ir lib/throws_state_like.sql

-- A string as a LIKE pattern matching itself.
CREATE FUNCTION regress_cvx_tap.like_literal(s text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $f$ SELECT replace(replace(replace(s, '\', '\\'), '%', '\%'), '_', '\_') $f$;
-- A name as a one-line test description (JSON-escaped, long ones cut).
CREATE FUNCTION regress_cvx_tap.label(s text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $f$ SELECT CASE WHEN s IS NULL THEN 'NULL'
                       WHEN length(s) > 40 THEN format('%s… (%s characters)', left(to_json(s)::text, 12), length(s))
                       ELSE to_json(s)::text END $f$;

------------------------------------------------------------------------
-- Setup: documents to protect, relations in schema convex that convexlite
-- does not manage, and snapshots of everything the attacks could touch.
------------------------------------------------------------------------

SELECT convex_db_insert('users', '{"name": "Alice"}') AS uid \gset
SELECT convex_db_insert('users', '{"name": "Bob"}') AS uid2 \gset
SELECT convex_messages_send('{"roomId": "r-ident", "content": "hello", "userName": "Alice"}') AS msg_id \gset

-- look-alikes: a table shaped like a convexlite table, and a view over users
CREATE TABLE convex.rogue (_id text PRIMARY KEY, _creation_time float8 NOT NULL, x int);
INSERT INTO convex.rogue VALUES ('rogue-row', 0, 1);
CREATE VIEW convex.rogue_view AS SELECT * FROM convex.users;

CREATE TEMP TABLE snap_tables AS
    SELECT name, number, fields, indexes, is_builtin FROM convex._tables;
CREATE TEMP TABLE snap_users AS SELECT * FROM convex.users;
CREATE TEMP TABLE snap_messages AS SELECT * FROM convex.messages;
CREATE TEMP TABLE snap_convex_rels AS
    SELECT relname::text AS relname FROM pg_class WHERE relnamespace = 'convex'::regnamespace;
CREATE TEMP TABLE snap_columns AS
    SELECT c.relname::text AS relname, a.attname::text AS attname, a.atttypid
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     WHERE c.relnamespace = 'convex'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped;
-- every relation outside schema convex, TOAST and temporary schemas
CREATE TEMP VIEW other_rels AS
    SELECT c.oid, c.relname::text AS relname, c.relnamespace, c.relkind
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname <> 'convex' AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%';
CREATE TEMP TABLE snap_other_rels AS SELECT * FROM other_rels;
CREATE TEMP TABLE snap_namespaces AS
    SELECT oid, nspname::text AS nspname FROM pg_namespace
     WHERE nspname NOT LIKE 'pg\_temp\_%' AND nspname NOT LIKE 'pg\_toast\_temp\_%';

-- Names that are not convexlite tables (none of them is defined yet).
CREATE TEMP TABLE hostile_tables (name text);
INSERT INTO hostile_tables VALUES
    -- quoting tricks
    ('x"; DROP TABLE convex.users; --'), ('users"'), ('"users"'), ('x''y'),
    ('users''; DROP TABLE convex.users; --'), ('us\ers'), (E'users\\'), ('users;'),
    -- schema prefixes
    ('convex.users'), ('convex."users"'), ('public.users'), ('pg_catalog.pg_class'),
    ('information_schema.tables'),
    -- system catalogs, and convexlite's own catalog and relations
    ('pg_class'), ('pg_authid'), ('pg_proc'), ('_tables'), ('_functions'), ('convex._tables'),
    ('_table_number_seq'), ('users_pkey'), ('messages_by_room'),
    -- other case
    ('Users'), ('USERS'), ('uSers'),
    -- whitespace
    ('users '), (' users'), ('us ers'), (E'users\t'), (E'\tusers'), (E'users\n'),
    -- empty and long
    (''), (repeat('a', 63)), (repeat('a', 64)), (repeat('a', 1000)), (repeat('a', 100000)),
    -- escapes and non-ASCII
    (E'users\\0'), ('users\u0000'), (E'users\x01'), ('usérs'), ('users😀'), ('ｕｓｅｒｓ'),
    (E'users\u200b'),
    -- leading underscore or digit; SQL keywords that are valid Convex names
    ('_users'), ('1users'), ('__'), ('select'), ('user'), ('table');

------------------------------------------------------------------------
-- 1. ctx.db refuses every name that is not exactly a convexlite table (42P01)
------------------------------------------------------------------------

SELECT regress_cvx_tap.throws_state_like(
           format(q, name, :'uid'), '42P01',
           '"' || regress_cvx_tap.like_literal(left(name, 30)) || '%is not a convexlite table',
           format('%s refuses table name %s', f, regress_cvx_tap.label(name)))
  FROM hostile_tables
 CROSS JOIN (VALUES ('convex_db_insert', 'SELECT convex_db_insert(%L, ''{"name": "x"}'') /* %s */'),
                    ('convex_db_get', 'SELECT convex_db_get(%L, %L)'),
                    ('convex_db_patch', 'SELECT convex_db_patch(%L, %L, ''{"name": "x"}'')'),
                    ('convex_db_replace', 'SELECT convex_db_replace(%L, %L, ''{"name": "x"}'')'),
                    ('convex_db_delete', 'SELECT convex_db_delete(%L, %L)'),
                    ('convex_db_query', 'SELECT * FROM convex_db_query(%L) /* %s */')) AS fs(f, q);

-- SQL NULL as the table name (22004)
SELECT regress_cvx_tap.throws_state_like(q, '22004', 'table_name must not be NULL',
                                         f || ' refuses a NULL table name')
  FROM (VALUES ('convex_db_insert', 'SELECT convex_db_insert(NULL, ''{}'')'),
               ('convex_db_get', format('SELECT convex_db_get(NULL, %L)', :'uid')),
               ('convex_db_patch', format('SELECT convex_db_patch(NULL, %L, ''{}'')', :'uid')),
               ('convex_db_replace', format('SELECT convex_db_replace(NULL, %L, ''{}'')', :'uid')),
               ('convex_db_delete', format('SELECT convex_db_delete(NULL, %L)', :'uid')),
               ('convex_db_query', 'SELECT * FROM convex_db_query(NULL)')) AS t(f, q);

-- _storage is a convexlite table, but a system one: readable, never written (42501)
SELECT lives_ok($$SELECT * FROM convex_db_query('_storage')$$, 'convex_db_query can read the system table _storage');
SELECT regress_cvx_tap.throws_state_like(format(q, :'uid'), '42501',
                                         'system table "\_storage" cannot be written with ctx.db',
                                         f || ' refuses to write the system table _storage')
  FROM (VALUES ('convex_db_insert', 'SELECT convex_db_insert(''_storage'', ''{}'') /* %s */'),
               ('convex_db_patch', 'SELECT convex_db_patch(''_storage'', %L, ''{}'')'),
               ('convex_db_replace', 'SELECT convex_db_replace(''_storage'', %L, ''{}'')'),
               ('convex_db_delete', 'SELECT convex_db_delete(''_storage'', %L)')) AS t(f, q);

-- the attacked names still name real tables; the real names still work
SELECT ok(to_regclass('pg_catalog.pg_class') = 1259 AND to_regclass('pg_catalog.pg_authid') IS NOT NULL
          AND to_regclass('pg_catalog.pg_proc') IS NOT NULL AND to_regclass('information_schema.tables') IS NOT NULL
          AND to_regclass('convex._tables') IS NOT NULL,
          'after the refused ctx.db calls, the catalogs they named are all there');
SELECT is(convex_db_get('users', :'uid')->>'name', 'Alice', 'convex_db_get(''users'', …) still reads the user');

------------------------------------------------------------------------
-- 2. convex_db_query refuses every index the table does not have (42704)
------------------------------------------------------------------------

SELECT regress_cvx_tap.throws_state_like(
           format('SELECT * FROM convex_db_query(''messages'', %L)', name), '42704',
           'Index messages.' || regress_cvx_tap.like_literal(left(name, 30)) || '%not found.',
           format('convex_db_query(''messages'', …) refuses index name %s', regress_cvx_tap.label(name)))
  FROM (VALUES ('by_room; DROP TABLE convex.users; --'), ('by_room"'), ('"by_room"'), ('by_room'''),
               ('by_room '), (' by_room'), (E'by_room\n'), ('BY_ROOM'), ('By_Room'),
               ('messages_by_room'), ('messages.by_room'), ('convex.messages_by_room'),
               ('pg_class'), ('pg_catalog.pg_class'), ('_tables'),
               ('by_creation_time '), ('BY_CREATION_TIME'), ('"by_creation_time"'), ('_creationTime'),
               ('by_session_and_room'), ('email'), ('users_email'), (''), ('_by_room'),
               ('by_röom'), (repeat('b', 64)), (repeat('b', 100000))) AS t(name);
SELECT regress_cvx_tap.throws_state_like(
           'SELECT * FROM convex_db_query(''users'', ''by_room'')', '42704', 'Index users.by\_room not found.',
           'convex_db_query(''users'', ''by_room''): another table''s index is not found');
SELECT regress_cvx_tap.throws_state_like(
           'SELECT * FROM convex_db_query(''messages'', NULL)', '22004', 'index\_name must not be NULL',
           'convex_db_query refuses a NULL index name');

-- eq keys are field names, exactly; order_by is one of two words (22023)
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT * FROM convex_db_query(''messages'', ''by_room'', %L)', eq), '22023',
           'eq must fix a prefix of index by\_room''s fields, in order',
           format('convex_db_query refuses eq %s', eq))
  FROM (VALUES ('{"room_id": "r-ident"}'), ('{"roomId\"; DROP TABLE convex.users; --": "r"}'),
               ('{"RoomId": "r-ident"}'), ('{"roomId ": "r-ident"}')) AS t(eq);
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT * FROM convex_db_query(''messages'', ''by_room'', ''{}'', %L)', o), '22023',
           'order\_by must be ''asc'' or ''desc'', not "%"',
           format('convex_db_query refuses order_by %s', regress_cvx_tap.label(o)))
  FROM (VALUES ('asc; DROP TABLE convex.users'), ('ASC'), ('desc '), ('')) AS t(o);

-- the exact names work
SELECT is((SELECT count(*)::int FROM convex_db_query('messages', 'by_room', '{"roomId": "r-ident"}')), 1,
          'convex_db_query(''messages'', ''by_room'', …) finds the message');
SELECT is((SELECT count(*)::int FROM convex_db_query('messages', 'by_creation_time')), 1,
          'convex_db_query(''messages'', ''by_creation_time'') finds the message');
SELECT is((SELECT count(*)::int FROM convex_db_query('users', 'email')), 2,
          'convex_db_query(''users'', ''email'') reads the users');

------------------------------------------------------------------------
-- 3. Relations in schema convex that convexlite does not manage
------------------------------------------------------------------------

SELECT regress_cvx_tap.throws_state_like(
           format(q, name, :'uid'), '42P01', '"' || name || '" is not a convexlite table',
           format('%s refuses the unmanaged relation convex.%s', f, name))
  FROM (VALUES ('rogue'), ('rogue_view')) AS t(name)
 CROSS JOIN (VALUES ('convex_db_insert', 'SELECT convex_db_insert(%L, ''{"x": 2}'') /* %s */'),
                    ('convex_db_get', 'SELECT convex_db_get(%L, %L)'),
                    ('convex_db_patch', 'SELECT convex_db_patch(%L, %L, ''{"x": 2}'')'),
                    ('convex_db_replace', 'SELECT convex_db_replace(%L, %L, ''{"x": 2}'')'),
                    ('convex_db_delete', 'SELECT convex_db_delete(%L, %L)'),
                    ('convex_db_query', 'SELECT * FROM convex_db_query(%L) /* %s */')) AS fs(f, q);
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_define_table(%L, ''{"x": {"fieldType": {"type": "number"}, "optional": true}}'')', name),
           '42P07', 'schema convex already has a relation named "' || name || '" that convexlite does not manage',
           format('convex_define_table will not take over convex.%s', name))
  FROM (VALUES ('rogue'), ('rogue_view'), ('users_pkey'), ('users_email'), ('messages_by_room')) AS t(name);

SELECT is((SELECT array_agg(_id || ':' || x) FROM convex.rogue), ARRAY['rogue-row:1'],
          'convex.rogue still holds exactly its one row');
SELECT columns_are('convex', 'rogue', ARRAY['_id', '_creation_time', 'x'],
                   'convex.rogue still has exactly its own columns');
SELECT is((SELECT count(*)::int FROM convex._tables WHERE name IN ('rogue', 'rogue_view', 'users_pkey',
                                                                 'users_email', 'messages_by_room')),
          0, 'none of the unmanaged relations was recorded in convex._tables');

------------------------------------------------------------------------
-- 4. convex_define_table: table names
------------------------------------------------------------------------

-- not Convex identifiers (42602)
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_define_table(%L, ''{}'')', name), '42602', 'invalid table name "%": %',
           format('convex_define_table refuses table name %s (not an identifier)', regress_cvx_tap.label(name)))
  FROM (VALUES ('x"; DROP TABLE convex.users; --'), ('users"'), ('"users"'), ('x''y'), ('us\ers'),
               ('users;'), ('convex.users'), ('public.users'), ('pg_catalog.pg_class'),
               ('information_schema.tables'), ('convex._tables'), ('users '), (' users'), ('us ers'),
               (E'users\t'), (E'users\n'), (''), (repeat('a', 65)), (repeat('a', 1000)),
               (repeat('a', 100000)), (E'users\\0'), ('users\u0000'), (E'users\x01'), ('usérs'),
               ('users😀'), ('ｕｓｅｒｓ'), (E'users\u200b'), ('1users'), ('__'), ('_'),
               ('a-b'), ('a%b')) AS t(name);
-- reserved: names starting with "_" (42939)
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_define_table(%L, ''{}'')', name), '42939',
           'table name "' || regress_cvx_tap.like_literal(name) || '" is reserved: %',
           format('convex_define_table refuses table name %s (reserved)', regress_cvx_tap.label(name)))
  FROM (VALUES ('_tables'), ('_functions'), ('_storage'), ('_users'), ('_table_number_seq'),
               ('_scheduled_functions')) AS t(name);
-- too long for the table's own relation names (42622)
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_define_table(%L, ''{}'')', name), '42622',
           'table name "%" is too long (at most 43 characters)',
           format('convex_define_table refuses a %s-character table name (too long)', length(name)))
  FROM (VALUES (repeat('a', 44)), (repeat('a', 63)), (repeat('a', 64))) AS t(name);
-- built in (0A000)
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_define_table(%L, ''{}'')', name), '0A000',
           'table "' || name || '" is built into convexlite and cannot be redefined',
           format('convex_define_table refuses to redefine the built-in table %s', name))
  FROM (VALUES ('users'), ('messages'), ('presence'), ('files')) AS t(name);
SELECT regress_cvx_tap.throws_state_like(
           'SELECT convex_define_table(NULL, ''{}'')', '22004', 'table\_name must not be NULL',
           'convex_define_table refuses a NULL table name');

------------------------------------------------------------------------
-- 5. convex_define_table: field names (the keys of fields)
------------------------------------------------------------------------

SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_define_table(''fld_target'', %L)', fields), state, pattern,
           'convex_define_table refuses ' || what)
  FROM (VALUES ('{"_x": {"fieldType": {"type": "string"}, "optional": false}}', '42939',
                'field name "\_x" is reserved: %', 'field name "_x" (reserved)'),
               ('{"_id": {"fieldType": {"type": "string"}, "optional": false}}', '42939',
                'field name "\_id" is reserved: %', 'field name "_id" (system field)'),
               ('{"_creationTime": {"fieldType": {"type": "number"}, "optional": false}}', '42939',
                'field name "\_creationTime" is reserved: %', 'field name "_creationTime" (system field)'),
               ('{"fooBar": {"fieldType": {"type": "string"}, "optional": false}, "foo_bar": {"fieldType": {"type": "string"}, "optional": false}}',
                '42701', 'fields "%" and "%" would both be stored in column "foo\_bar"',
                'fields "fooBar" and "foo_bar" (one column)'),
               (format('{"%s": {"fieldType": {"type": "string"}, "optional": false}}', repeat('a', 64)),
                '42622', 'field name "a%" is too long for a column', 'a 64-character field name'),
               ('[]', '22023', 'fields must be a JSON object: %', 'fields given as an array'),
               ('"x\"; DROP TABLE convex.users; --"', '22023', 'fields must be a JSON object: %',
                'fields given as a string'),
               ('{"a\u0000b": {"fieldType": {"type": "string"}, "optional": false}}', '22P05',
                'unsupported Unicode escape sequence', 'a field name with \u0000 (not valid jsonb)')
       ) AS t(fields, state, pattern, what);
SELECT regress_cvx_tap.throws_state_like(
           'SELECT convex_define_table(''fld_target'', NULL)', '22004', 'fields must not be NULL',
           'convex_define_table refuses NULL fields');
SELECT ok(to_regclass('convex.fld_target') IS NULL
          AND NOT EXISTS (SELECT 1 FROM convex._tables WHERE name = 'fld_target'),
          'no refused field list created a table or a catalog row');

------------------------------------------------------------------------
-- 6. convex_define_table: index names and index field lists
------------------------------------------------------------------------

-- index names that are not identifiers (42602)
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_define_table(''idx_target'', %L, %L)',
                  '{"x": {"fieldType": {"type": "string"}, "optional": false}}',
                  jsonb_build_object(name, jsonb_build_array('x'))),
           '42602', 'invalid index name "%": %',
           format('convex_define_table refuses index name %s (not an identifier)', regress_cvx_tap.label(name)))
  FROM (VALUES ('by_x; DROP TABLE convex.users; --'), ('by_"x"'), ('"by_x"'), ('by_x'''), ('by x'),
               ('by_x '), (E'by_x\n'), ('convex.by_x'), ('idx_target.by_x'), (''), ('by_ẋ'), ('by_x😀'),
               ('1by_x'), ('__'), (repeat('b', 65)), (repeat('b', 100000))) AS t(name);
-- reserved index names (42939)
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_define_table(''idx_target'', %L, %L)',
                  '{"x": {"fieldType": {"type": "string"}, "optional": false}}',
                  jsonb_build_object(name, jsonb_build_array('x'))),
           '42939', 'index name "' || regress_cvx_tap.like_literal(name) || '" is reserved%',
           format('convex_define_table refuses index name %s (reserved)', regress_cvx_tap.label(name)))
  FROM (VALUES ('by_id'), ('by_creation_time'), ('_by_x'), ('_x')) AS t(name);
-- the table's and the index's names together too long for one relation name (42622)
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_define_table(''idx_target'', %L, %L)',
                  '{"x": {"fieldType": {"type": "string"}, "optional": false}}',
                  jsonb_build_object(repeat('b', 52), jsonb_build_array('x'))),
           '42622', 'table name and index name "b%" are too long together (at most 61 characters)',
           'convex_define_table refuses an index name too long together with the table''s');
-- index fields that are not top-level fields of the table, spelled exactly (42703)
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_define_table(''idx_target'', %L, %L)',
                  '{"x": {"fieldType": {"type": "string"}, "optional": false}, "otherField": {"fieldType": {"type": "number"}, "optional": true}}',
                  jsonb_build_object('by_x', jsonb_build_array(field))),
           '42703', 'index "by\_x" lists "%", which is not a field of table "idx\_target"',
           format('convex_define_table refuses index field %s', regress_cvx_tap.label(field)))
  FROM (VALUES ('x"; DROP TABLE convex.users; --'), ('"x"'), ('X'), ('x '), (''), ('_id'),
               ('_creationTime'), ('other_field'), ('convex.users.name'), ('name'),
               (repeat('x', 100000))) AS t(field);
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_define_table(''idx_target'', %L, %L)',
                  '{"x": {"fieldType": {"type": "string"}, "optional": false}}', '{"by_x": ["x", "x"]}'),
           '42701', 'index "by\_x" lists field "x" twice', 'convex_define_table refuses an index field listed twice');
-- malformed index lists (22023)
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_define_table(''idx_target'', %L, %L)',
                  '{"x": {"fieldType": {"type": "string"}, "optional": false}}', indexes),
           '22023', pattern, format('convex_define_table refuses indexes %s', indexes))
  FROM (VALUES ('[]', 'indexes must be a JSON object %'),
               ('"by_x; DROP TABLE convex.users"', 'indexes must be a JSON object %'),
               ('{"by_x": []}', 'index "by\_x" must list its fields as a non-empty JSON array%'),
               ('{"by_x": "x"}', 'index "by\_x" must list its fields as a non-empty JSON array%'),
               ('{"by_x": null}', 'index "by\_x" must list its fields as a non-empty JSON array%'),
               ('{"by_x": [1]}', 'index "by\_x" must list field names as strings'),
               ('{"by_x": [["x"]]}', 'index "by\_x" must list field names as strings'),
               ('{"by_x": [{"x": 1}]}', 'index "by\_x" must list field names as strings')) AS t(indexes, pattern);
SELECT regress_cvx_tap.throws_state_like(
           'SELECT convex_define_table(''idx_target'', ''{}'', NULL)', '22004', 'indexes must not be NULL',
           'convex_define_table refuses NULL indexes');
SELECT ok(to_regclass('convex.idx_target') IS NULL
          AND NOT EXISTS (SELECT 1 FROM convex._tables WHERE name = 'idx_target'),
          'no refused index list created a table or a catalog row');

------------------------------------------------------------------------
-- 7. Valid Convex names are accepted and quoted: SQL keywords, other
--    case, catalog names, the longest name.  Each is its own table in
--    schema convex, reachable only under its exact name.
------------------------------------------------------------------------

SELECT convex_define_table('select',
           '{"from": {"fieldType": {"type": "string"}, "optional": false},
             "where": {"fieldType": {"type": "number"}, "optional": true}}',
           '{"order": ["from"]}') AS select_number \gset
SELECT convex_define_table('user', '{"group": {"fieldType": {"type": "string"}, "optional": false}}',
                           '{"limit": ["group"]}') AS user_number \gset
SELECT convex_define_table('table', '{"column": {"fieldType": {"type": "boolean"}, "optional": false}}',
                           '{"index": ["column"]}') AS table_number \gset
SELECT convex_define_table('Users', '{"name": {"fieldType": {"type": "string"}, "optional": false}}') AS cap_users_number \gset
SELECT convex_define_table('pg_class', '{"relname": {"fieldType": {"type": "string"}, "optional": false}}') AS pg_class_number \gset
SELECT convex_define_table(repeat('a', 43), '{}') AS long_number \gset

SELECT is((SELECT array_agg(name::text ORDER BY number) FROM convex._tables
            WHERE number IN (:select_number, :user_number, :table_number, :cap_users_number,
                             :pg_class_number, :long_number)),
          ARRAY['select', 'user', 'table', 'Users', 'pg_class', repeat('a', 43)],
          'the six tables are recorded in convex._tables under their exact names, with new numbers');
SELECT ok(:select_number > 10004 AND :cap_users_number <> 10001,
          'the new tables get application table numbers ("Users" is not "users")');
SELECT has_table('convex', 'select', 'convex."select" exists');
SELECT has_table('convex', 'user', 'convex."user" exists');
SELECT has_table('convex', 'table', 'convex."table" exists');
SELECT has_table('convex', 'Users', 'convex."Users" exists, next to convex.users');
SELECT has_table('convex', 'pg_class', 'convex.pg_class exists, in schema convex');
SELECT has_table('convex', repeat('a', 43), 'a table with a 43-character name exists');
SELECT columns_are('convex', 'select', ARRAY['_id', '_creation_time', 'from', 'where'],
                   'convex."select" has columns "from" and "where"');
SELECT columns_are('convex', 'user', ARRAY['_id', '_creation_time', 'group'], 'convex."user" has column "group"');
SELECT columns_are('convex', 'table', ARRAY['_id', '_creation_time', 'column'], 'convex."table" has column "column"');
SELECT has_index('convex', 'select', 'select__order', ARRAY['"from"', '_creation_time'],
                 'index "order" of "select" is convex.select__order on ("from", _creation_time)');
SELECT has_index('convex', 'user', 'user__limit', ARRAY['"group"', '_creation_time'],
                 'index "limit" of "user" is convex.user__limit on ("group", _creation_time)');
SELECT has_index('convex', 'table', 'table__index', ARRAY['"column"', '_creation_time'],
                 'index "index" of "table" is convex.table__index on ("column", _creation_time)');
SELECT is('pg_catalog.pg_class'::regclass::oid, 1259::oid, 'pg_catalog.pg_class is still the catalog');

-- round trips through ctx.db
SELECT convex_db_insert('select', '{"from": "a", "where": 1}') AS select_id \gset
SELECT convex_db_insert('user', '{"group": "g"}') AS user_id \gset
SELECT convex_db_insert('table', '{"column": true}') AS table_id \gset
SELECT convex_db_insert('Users', '{"name": "Capital"}') AS cap_id \gset
SELECT convex_db_insert('pg_class', '{"relname": "not a catalog row"}') AS pg_class_id \gset
SELECT convex_db_insert(repeat('a', 43), '{}') AS long_id \gset

SELECT is(ARRAY[convex_id_table(:'select_id'), convex_id_table(:'user_id'), convex_id_table(:'table_id'),
                convex_id_table(:'cap_id'), convex_id_table(:'pg_class_id'), convex_id_table(:'long_id')],
          ARRAY['select', 'user', 'table', 'Users', 'pg_class', repeat('a', 43)],
          'convex_db_insert returns an id of each table');
SELECT is(convex_db_get('select', :'select_id') - '_creationTime',
          jsonb_build_object('_id', :'select_id', 'from', 'a', 'where', 1), 'convex_db_get reads "select" back');
SELECT is(convex_db_get('user', :'user_id')->>'group', 'g', 'convex_db_get reads "user" back');
SELECT is(convex_db_get('table', :'table_id')->'column', 'true'::jsonb, 'convex_db_get reads "table" back');
SELECT is(convex_db_get('Users', :'cap_id')->>'name', 'Capital', 'convex_db_get reads "Users" back');
SELECT is(convex_db_get('pg_class', :'pg_class_id')->>'relname', 'not a catalog row',
          'convex_db_get reads convex.pg_class back');
SELECT is(convex_db_get(repeat('a', 43), :'long_id')->>'_id', :'long_id',
          'convex_db_get reads the 43-character table back');
SELECT lives_ok(format('SELECT convex_db_patch(''select'', %L, ''{"where": null, "from": "b"}'')', :'select_id'),
                'convex_db_patch works on "select"');
SELECT lives_ok(format('SELECT convex_db_replace(''user'', %L, ''{"group": "h"}'')', :'user_id'),
                'convex_db_replace works on "user"');
SELECT is((SELECT array_agg(d->>'from') FROM convex_db_query('select', 'order', '{"from": "b"}') AS d), ARRAY['b'],
          'convex_db_query(''select'', ''order'', …) finds the patched document');
SELECT is((SELECT array_agg(d->>'group') FROM convex_db_query('user', 'limit', '{"group": "h"}') AS d), ARRAY['h'],
          'convex_db_query(''user'', ''limit'', …) finds the replaced document');
SELECT is((SELECT count(*)::int FROM convex_db_query('table', 'index', '{"column": true}')), 1,
          'convex_db_query(''table'', ''index'', …) finds the document');
SELECT is((SELECT count(*)::int FROM convex."select" WHERE "from" = 'b' AND "where" IS NULL), 1,
          'the row is in convex."select" as written');
SELECT lives_ok(format('SELECT convex_db_delete(''table'', %L)', :'table_id'), 'convex_db_delete works on "table"');
SELECT is((SELECT count(*)::int FROM convex."table"), 0, 'convex."table" is empty again');

-- names are exact: case, quoting and prefixes still miss
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_db_get(%L, %L)', name, :'select_id'), '42P01', '%is not a convexlite table',
           format('after definition, convex_db_get still refuses %s', regress_cvx_tap.label(name)))
  FROM (VALUES ('SELECT'), ('Select'), ('"select"'), ('convex.select'), ('convex."select"'), ('select '),
               ('USERS'), ('uSers'), ('"Users"'), ('pg_catalog.pg_class'), ('convex.pg_class'),
               ('PG_CLASS')) AS t(name);
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_db_get(''users'', %L)', :'cap_id'), '22023',
           'Invalid argument `id` for `db.get`: ID "%" is from table "Users", not "users"',
           'an id of "Users" is not an id of "users"');
SELECT regress_cvx_tap.throws_state_like(
           format('SELECT convex_db_get(''Users'', %L)', :'uid'), '22023',
           'Invalid argument `id` for `db.get`: ID "%" is from table "users", not "Users"',
           'an id of "users" is not an id of "Users"');
SELECT regress_cvx_tap.throws_state_like(
           'SELECT * FROM convex_db_query(''select'', ''ORDER'')', '42704', 'Index select.ORDER not found.',
           'index names are exact too: ''ORDER'' is not ''order''');
SELECT is((SELECT count(*)::int FROM convex_db_query('Users')), 1, 'convex_db_query(''Users'') sees only its own row');
SELECT is((SELECT count(*)::int FROM convex.users), (SELECT count(*)::int FROM snap_users),
          'writing "Users" did not touch convex.users');

-- redefinition of a keyword-named table: ADD COLUMN, DROP INDEX and CREATE INDEX are quoted too
SELECT is(convex_define_table('select',
              '{"from": {"fieldType": {"type": "string"}, "optional": false},
                "where": {"fieldType": {"type": "number"}, "optional": true},
                "having": {"fieldType": {"type": "number"}, "optional": true}}',
              '{"group": ["where", "from"]}'),
          :select_number, 'redefining "select" keeps its number');
SELECT columns_are('convex', 'select', ARRAY['_id', '_creation_time', 'from', 'where', 'having'],
                   'redefining "select" added column "having"');
SELECT hasnt_index('convex', 'select', 'select__order', 'redefining "select" dropped index "order"');
SELECT has_index('convex', 'select', 'select__group', ARRAY['convex.index_key("where")', '"from"', '_creation_time'],
                 'redefining "select" created index "group" on (index_key("where"), "from", _creation_time)');
SELECT is((SELECT count(*)::int FROM convex_db_query('select', 'group')), 1,
          'convex_db_query(''select'', ''group'') reads through the new index');

------------------------------------------------------------------------
-- 8. Nothing else was created, written or dropped
------------------------------------------------------------------------

SELECT set_eq('SELECT * FROM convex.users', 'SELECT * FROM snap_users',
              'convex.users holds exactly the rows it held before the attacks');
SELECT set_eq('SELECT * FROM convex.messages', 'SELECT * FROM snap_messages',
              'convex.messages holds exactly the rows it held before the attacks');
SELECT is((SELECT count(*)::int FROM convex.presence) + (SELECT count(*)::int FROM convex.files)
              + (SELECT count(*)::int FROM convex._storage), 0,
          'convex.presence, convex.files and convex._storage are still empty');
SELECT set_eq('SELECT name, number, fields, indexes, is_builtin FROM convex._tables WHERE name IN (SELECT name FROM snap_tables)',
              'SELECT * FROM snap_tables',
              'the rows of convex._tables that were there are unchanged');
SELECT set_eq('SELECT name FROM convex._tables WHERE name NOT IN (SELECT name FROM snap_tables)',
              format('VALUES (''select''), (''user''), (''table''), (''Users''), (''pg_class''), (%L)', repeat('a', 43)),
              'convex._tables gained exactly the six tables defined on purpose');
SELECT set_eq('SELECT relname::text FROM pg_class WHERE relnamespace = ''convex''::regnamespace
               EXCEPT SELECT relname FROM snap_convex_rels',
              format($$VALUES ('select'), ('select_pkey'), ('select__by_creation_time'), ('select__group'),
                              ('user'), ('user_pkey'), ('user__by_creation_time'), ('user__limit'),
                              ('table'), ('table_pkey'), ('table__by_creation_time'), ('table__index'),
                              ('Users'), ('Users_pkey'), ('Users__by_creation_time'),
                              ('pg_class'), ('pg_class_pkey'), ('pg_class__by_creation_time'),
                              (%1$L), (%1$L || '_pkey'), (%1$L || '__by_creation_time')$$, repeat('a', 43)),
              'schema convex gained exactly the relations of the six tables defined on purpose');
SELECT is_empty('SELECT relname FROM snap_convex_rels
                 EXCEPT SELECT relname::text FROM pg_class WHERE relnamespace = ''convex''::regnamespace',
                'no relation of schema convex was dropped');
SELECT is_empty('SELECT relname, attname, atttypid FROM snap_columns
                 EXCEPT SELECT c.relname::text, a.attname::text, a.atttypid
                          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                         WHERE c.relnamespace = ''convex''::regnamespace AND a.attnum > 0 AND NOT a.attisdropped',
                'no column of a relation of schema convex was dropped or changed');
SELECT is_empty('SELECT c.relname::text, a.attname::text
                   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                  WHERE c.relnamespace = ''convex''::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
                    AND c.relname IN (SELECT relname FROM snap_convex_rels)
                 EXCEPT SELECT relname, attname FROM snap_columns',
                'no column was added to a relation of schema convex that was there before');
SELECT set_eq('SELECT * FROM other_rels', 'SELECT * FROM snap_other_rels',
              'pg_class outside schema convex is untouched: no relation created or dropped elsewhere');
SELECT set_eq('SELECT oid, nspname::text FROM pg_namespace
                WHERE nspname NOT LIKE ''pg\_temp\_%'' AND nspname NOT LIKE ''pg\_toast\_temp\_%''',
              'SELECT * FROM snap_namespaces', 'no schema was created or dropped');
SELECT ok(to_regclass('public.users') IS NULL AND to_regclass('public.select') IS NULL
          AND to_regclass('public."Users"') IS NULL AND to_regclass('public.rogue') IS NULL,
          'nothing was created in schema public');

SELECT * FROM finish();
ROLLBACK;
