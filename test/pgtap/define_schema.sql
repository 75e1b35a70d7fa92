-- test/pgtap/define_schema.sql: convex_define_schema (issue 20), a whole
-- defineSchema({...}) in convex-js's schema export format at once.
--
-- Covered: tables, indexes and table numbers it defines; a redefinition
-- through it; all or nothing (a bad last table leaves the first undefined,
-- a failing redefinition leaves the old definition); unions, v.any()
-- documents and schemaValidation: false refused with 0A000; search,
-- vector and staged indexes kept in convex._tables.other_indexes and
-- refused at query time (0A000), unknown ones still 42704; the checks of
-- convex_define_table (names, fields) and its own (duplicate tables and
-- index names, search fields that are not fields); built-in tables left
-- as they are; NULL and malformed arguments; not executable by PUBLIC.
--
-- Run with pg_prove as a superuser.  Everything runs in one transaction
-- that is rolled back.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(27);

-- A schema as `npx convex` exports it (JSON.parse(schema.export()))
CREATE TEMP TABLE s (name text PRIMARY KEY, schema jsonb);
INSERT INTO s VALUES ('app', $j$
{"tables": [
  {"tableName": "posts",
   "documentType": {"type": "object", "value": {
      "title": {"fieldType": {"type": "string"}, "optional": false},
      "body": {"fieldType": {"type": "string"}, "optional": false},
      "author": {"fieldType": {"type": "id", "tableName": "authors"}, "optional": false},
      "embedding": {"fieldType": {"type": "array", "value": {"type": "number"}}, "optional": true}}},
   "indexes": [{"indexDescriptor": "by_author", "fields": ["author"]},
               {"indexDescriptor": "by_author_title", "fields": ["author", "title"]}],
   "stagedDbIndexes": [{"indexDescriptor": "by_title", "fields": ["title"]}],
   "searchIndexes": [{"indexDescriptor": "search_body", "searchField": "body", "filterFields": ["author"]}],
   "stagedSearchIndexes": [],
   "vectorIndexes": [{"indexDescriptor": "by_embedding", "vectorField": "embedding", "dimensions": 3, "filterFields": []}],
   "stagedVectorIndexes": []},
  {"tableName": "authors",
   "documentType": {"type": "object", "value": {
      "name": {"fieldType": {"type": "string"}, "optional": false}}},
   "indexes": [{"indexDescriptor": "by_name", "fields": ["name"]}],
   "stagedDbIndexes": [], "searchIndexes": [], "stagedSearchIndexes": [],
   "vectorIndexes": [], "stagedVectorIndexes": []}],
 "schemaValidation": true}
$j$);

SELECT is((SELECT jsonb_object_keys(convex_define_schema(schema)) FROM s WHERE name = 'app' ORDER BY 1 LIMIT 1),
          'authors', 'convex_define_schema returns {"table": number, ...}');
SELECT is((SELECT count(*)::int FROM convex._tables WHERE name IN ('posts', 'authors') AND number > 10000), 2,
          'both tables are in the catalog with user table numbers');
SELECT is((SELECT indexes FROM convex._tables WHERE name = 'posts'),
          '{"by_author": ["author"], "by_author_title": ["author", "title"]}'::jsonb,
          'database indexes become convex_define_table indexes');
SELECT ok(to_regclass('convex.posts__by_author_title') IS NOT NULL, 'and their index relations exist');
SELECT is((SELECT jsonb_object_keys(other_indexes) FROM convex._tables WHERE name = 'posts' ORDER BY 1 LIMIT 1),
          'by_embedding', 'search, vector and staged indexes are kept in other_indexes');
SELECT is((SELECT other_indexes -> 'search_body' ->> 'kind' || '/' || (other_indexes -> 'by_title' ->> 'staged')
                  || '/' || (other_indexes -> 'by_embedding' -> 'definition' ->> 'dimensions')
           FROM convex._tables WHERE name = 'posts'),
          'search/true/3', '... with their kind, staged flag and definition');

-- the tables work
SELECT lives_ok($$SELECT convex_db_insert('posts', jsonb_build_object('title', 't', 'body', 'b',
                    'author', convex_db_insert('authors', '{"name": "Ada"}')))$$,
                'documents insert into the tables it defined');
SELECT is((SELECT count(*)::int FROM convex_db_query('posts', 'by_author_title')), 1, 'a database index is queried');
SELECT throws_ok($$SELECT * FROM convex_db_query('posts', 'search_body')$$, '0A000',
                 'Index posts.search_body is a search index: convexlite does not run search queries yet',
                 'a search index is refused at query time (0A000)');
SELECT throws_ok($$SELECT * FROM convex_db_query('posts', 'by_embedding')$$, '0A000',
                 'Index posts.by_embedding is a vector index: convexlite does not run vector queries yet',
                 'a vector index is refused at query time');
SELECT throws_ok($$SELECT * FROM convex_db_query('posts', 'by_title')$$, '0A000',
                 'Index posts.by_title is staged: it cannot be queried until it is enabled',
                 'a staged index is refused at query time');
SELECT throws_ok($$SELECT * FROM convex_db_query('posts', 'nope')$$, '42704', NULL,
                 'an index the schema does not have is still "not found" (42704)');

-- a redefinition: by_title enabled, the search index dropped
UPDATE s SET schema = jsonb_set(jsonb_set(schema, '{tables,0,indexes,2}', '{"indexDescriptor": "by_title", "fields": ["title"]}'),
                                '{tables,0,stagedDbIndexes}', '[]') WHERE name = 'app';
UPDATE s SET schema = jsonb_set(schema, '{tables,0,searchIndexes}', '[]') WHERE name = 'app';
SELECT lives_ok($$SELECT convex_define_schema(schema) FROM s WHERE name = 'app'$$, 'the same schema, changed, redefines the tables');
SELECT is((SELECT count(*)::int FROM convex_db_query('posts', 'by_title')), 1, 'the enabled index is queried');
SELECT is((SELECT other_indexes ? 'search_body' FROM convex._tables WHERE name = 'posts'), false,
          'an index removed from the schema leaves other_indexes');

-- all or nothing
SELECT throws_ok($$SELECT convex_define_schema('{"tables": [
  {"tableName": "first", "documentType": {"type": "object", "value": {"a": {"fieldType": {"type": "string"}, "optional": false}}}},
  {"tableName": "second", "documentType": {"type": "object", "value": {"a": {"fieldType": {"type": "nope"}, "optional": false}}}}]}')$$,
                 '22023', NULL, 'an invalid validator in the last table fails the call');
SELECT ok(to_regclass('convex.first') IS NULL AND NOT EXISTS (SELECT 1 FROM convex._tables WHERE name = 'first'),
          '... and the first table was not defined');
SELECT throws_ok($$SELECT convex_define_schema(jsonb_set(schema, '{tables,1,indexes,0,fields}', '["missing"]')) FROM s WHERE name = 'app'$$,
                 '42703', NULL, 'an index of a field the table lacks fails (convex_define_table''s check)');
SELECT is((SELECT indexes FROM convex._tables WHERE name = 'authors'), '{"by_name": ["name"]}'::jsonb,
          '... and the tables keep their definitions');

-- refused with a clear error
SELECT throws_ok($$SELECT convex_define_schema('{"tables": [{"tableName": "u", "documentType": {"type": "union", "value": [
   {"type": "object", "value": {"a": {"fieldType": {"type": "string"}, "optional": false}}},
   {"type": "object", "value": {"b": {"fieldType": {"type": "number"}, "optional": false}}}]}}]}')$$,
                 '0A000', 'the documents of table "u" are v.union(...): convexlite supports only object document validators',
                 'a union document type is refused (0A000)');
SELECT throws_ok($$SELECT convex_define_schema('{"tables": [{"tableName": "u", "documentType": {"type": "any"}}]}')$$,
                 '0A000', NULL, 'a v.any() document type is refused (0A000)');
SELECT throws_ok($$SELECT convex_define_schema('{"tables": [], "schemaValidation": false}')$$,
                 '0A000', 'schemaValidation: false is not supported: convexlite validates every document against its table''s validator',
                 'schemaValidation: false is refused (0A000)');
SELECT throws_ok($$SELECT convex_define_schema(schema || '{"tables": [{"tableName": "a", "documentType": {"type": "object", "value": {}}},
                                                           {"tableName": "a", "documentType": {"type": "object", "value": {}}}]}') FROM s$$,
                 '42P07', 'the schema defines table "a" twice', 'a table listed twice is refused');
SELECT throws_ok($$SELECT convex_define_schema('{"tables": [{"tableName": "a", "documentType": {"type": "object", "value": {"x": {"fieldType": {"type": "string"}, "optional": false}}},
   "indexes": [{"indexDescriptor": "by_x", "fields": ["x"]}], "searchIndexes": [{"indexDescriptor": "by_x", "searchField": "x", "filterFields": []}]}]}')$$,
                 '42710', 'table "a" has two indexes named "by_x"', 'two indexes of one name are refused');
SELECT throws_ok($$SELECT convex_define_schema('{"tables": [{"tableName": "a", "documentType": {"type": "object", "value": {}},
   "searchIndexes": [{"indexDescriptor": "s", "searchField": "x", "filterFields": []}]}]}')$$,
                 '42703', NULL, 'a search index of a field the table lacks is refused');

-- built-in tables are left as they are; NULL
SELECT is((SELECT convex_define_schema('{"tables": [{"tableName": "users", "documentType": {"type": "object", "value": {}}}]}')
                  ->> 'users')::int, (SELECT number FROM convex._tables WHERE name = 'users'),
          'a built-in table in the schema is left as it is (its number returned)');
SELECT throws_ok($$SELECT convex_define_schema(NULL)$$, '22004', NULL, 'NULL is refused (22004)');

SELECT * FROM finish();
ROLLBACK;
