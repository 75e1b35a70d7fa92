-- test/pgtap/privilege_matrix.sql: who holds which right, for every object of
-- the extension, and what a role without a right gets when it tries.
--
-- README "Security" is the rule; this file writes it down as tables and
-- fails when anyone holds a right the README does not give them, or lacks
-- one it does.  privileges.sql covers the ordinary role's function and
-- table rights one by one and a hostile search_path with look-alike
-- operators; this file adds the whole matrix (every function, relation and
-- setting x every role), the roles a deployment creates, large objects,
-- the registration rules, the identity settings' trust model, and a
-- search_path that puts a look-alike of every pg_catalog function and
-- operator in front of pg_catalog for every entry point.
--
-- The roles (README "Security", "What a deployment does"):
--   su        the role running this file: a superuser, as is the extension's
--             owner (a non-trusted extension is created by a superuser).  It
--             defines tables and registers handlers.
--   owner     regress_cvxm_owner: a non-superuser application owner.  It owns
--             the handler functions (schema regress_cvxm_app), which su
--             registers; it is granted EXECUTE on the ctx.db functions, the
--             ctx.scheduler functions and ctx.storage's generateUploadUrl and
--             delete, and SELECT, INSERT, UPDATE, DELETE on its application
--             table convex.regress_cvxm_notes (which su defined).
--   internal  regress_cvxm_internal: a worker role, granted EXECUTE on
--             convex_internal_mutation(text, jsonb) (every internal mutation)
--             and on the maintenance functions pg_cron runs
--             (convex_presence_cleanup, convex_storage_cleanup,
--             convex_scheduler_cleanup, convex_scheduler_run_due).
--   usr       regress_cvxm_user: an ordinary LOGIN role, granted nothing.
--   public    the PUBLIC pseudo-role.
--
-- Run with pg_prove as a superuser against a database where convexlite can be
-- (re)installed.  Everything below runs in one transaction that is rolled back.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(1090);
SET LOCAL client_min_messages = warning;
-- what an aborted file may have left must not break this one (rolled back: left as found)
DROP SCHEMA IF EXISTS regress_cvx_tap CASCADE;
RESET client_min_messages;

-- Roles are cluster-wide: create them here, inside the rolled-back transaction.
SET LOCAL client_min_messages = warning;
\ir lib/roles.sql
SELECT regress_cvx_tap.ensure_roles('LOGIN', 'regress_cvxm_owner', 'regress_cvxm_internal', 'regress_cvxm_user') \g /dev/null
\ir lib/throws_state_like.sql
RESET client_min_messages;

GRANT USAGE ON SCHEMA regress_cvx_tap TO PUBLIC;

CREATE SCHEMA regress_cvxm;
GRANT USAGE ON SCHEMA regress_cvxm TO PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA regress_cvxm GRANT SELECT ON TABLES TO PUBLIC;

-- The matrix's columns: a key and the role it stands for.
CREATE TABLE regress_cvxm.roles (key text PRIMARY KEY, role name NOT NULL, ord int NOT NULL);
INSERT INTO regress_cvxm.roles VALUES
    ('su', current_user, 1), ('owner', 'regress_cvxm_owner', 2),
    ('internal', 'regress_cvxm_internal', 3), ('usr', 'regress_cvxm_user', 4), ('public', 'public', 5);

------------------------------------------------------------------------
-- Setup: the deployment of README "Security" for the three roles
------------------------------------------------------------------------

SELECT convex_define_table('regress_cvxm_notes', '{"body": {"fieldType": {"type": "string"}, "optional": false}}')
    \g /dev/null
GRANT SELECT, INSERT, UPDATE, DELETE ON convex.regress_cvxm_notes TO regress_cvxm_owner;
GRANT EXECUTE ON FUNCTION
    convex_db_insert(text, jsonb), convex_db_get(text, text), convex_db_patch(text, text, jsonb),
    convex_db_replace(text, text, jsonb), convex_db_delete(text, text),
    convex_db_query(text, text, jsonb, text, jsonb, integer),
    convex_db_select(jsonb), convex_db_first(jsonb), convex_db_unique(jsonb),
    convex_db_paginate(jsonb, jsonb), convex_db_count(jsonb),
    convex_scheduler_run_after(double precision, text, jsonb),
    convex_scheduler_run_at(double precision, text, jsonb), convex_scheduler_cancel(text),
    convex_storage_generate_upload_url(), convex_storage_delete(text)
    TO regress_cvxm_owner;
GRANT EXECUTE ON FUNCTION
    convex_internal_mutation(text, jsonb), convex_presence_cleanup(jsonb),
    convex_storage_cleanup(double precision), convex_scheduler_cleanup(double precision)
    TO regress_cvxm_internal;
GRANT EXECUTE ON PROCEDURE convex_scheduler_run_due(integer) TO regress_cvxm_internal;

-- The owner's handlers (it owns them; su registers them).
CREATE SCHEMA regress_cvxm_app AUTHORIZATION regress_cvxm_owner;
SET ROLE regress_cvxm_owner;
CREATE FUNCTION regress_cvxm_app.note(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM convex_db_insert('regress_cvxm_notes', jsonb_build_object('body', coalesce(args ->> 'body', 'note')));
    RETURN to_jsonb(current_user::text);
END $f$;
CREATE FUNCTION regress_cvxm_app.peek(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    RETURN convex_db_get(args ->> 'table', args ->> 'id');
END $f$;
CREATE FUNCTION regress_cvxm_app.internal_note(args jsonb) RETURNS jsonb LANGUAGE sql
    AS $f$ SELECT to_jsonb(current_user::text) $f$;
CREATE FUNCTION regress_cvxm_app.run_internal(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    RETURN convex_mutation('regress_cvxm:internalNote', '{}');
END $f$;
CREATE FUNCTION regress_cvxm_app.definer(args jsonb) RETURNS jsonb LANGUAGE sql SECURITY DEFINER
    AS $f$ SELECT to_jsonb(current_user::text) $f$;
REVOKE EXECUTE ON FUNCTION regress_cvxm_app.note(jsonb), regress_cvxm_app.peek(jsonb),
    regress_cvxm_app.internal_note(jsonb), regress_cvxm_app.run_internal(jsonb),
    regress_cvxm_app.definer(jsonb) FROM PUBLIC;
RESET ROLE;
-- A superuser's SECURITY DEFINER function shaped like a handler.
CREATE FUNCTION regress_cvxm.su_definer(args jsonb) RETURNS jsonb LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $f$ SELECT to_jsonb(current_user::text) $f$;
REVOKE EXECUTE ON FUNCTION regress_cvxm.su_definer(jsonb) FROM PUBLIC;

SELECT convex_define_mutation('regress_cvxm:note', 'regress_cvxm_app.note(jsonb)', '{"type": "any"}') \g /dev/null
SELECT convex_define_mutation('regress_cvxm:peek', 'regress_cvxm_app.peek(jsonb)', '{"type": "any"}') \g /dev/null
SELECT convex_define_mutation('regress_cvxm:internalNote', 'regress_cvxm_app.internal_note(jsonb)',
                              '{"type": "any"}', NULL, true) \g /dev/null
SELECT convex_define_mutation('regress_cvxm:runInternal', 'regress_cvxm_app.run_internal(jsonb)',
                              '{"type": "any"}') \g /dev/null
SELECT convex_define_mutation('regress_cvxm:definer', 'regress_cvxm_app.definer(jsonb)', '{"type": "any"}')
    \g /dev/null

------------------------------------------------------------------------
-- 1. Functions: EXECUTE for every role, SECURITY DEFINER and search_path
--
-- One row per function of the extension.  A new function fails the first
-- assertion until it is given a row here (and a line in README "Security").
-- su: always (superuser).  public: README's "executable by PUBLIC" list.
-- owner/internal: PUBLIC's rights plus their grants above.
-- secdef/path: SECURITY DEFINER, and how search_path is pinned: "per
-- statement" for the C functions (README: each statement is planned and
-- run under the pinned path pg_catalog), or the function's SET clause.
------------------------------------------------------------------------

CREATE TABLE regress_cvxm.expected_functions (
    signature text PRIMARY KEY, su boolean, owner boolean, internal boolean, usr boolean, public boolean,
    secdef boolean, path text);
INSERT INTO regress_cvxm.expected_functions VALUES
--   signature                                              su    owner  intern usr    public secdef path
    -- the seed's mutations (README "The mutations"; presence.cleanup is internal)
    ('convex_users_update_profile(jsonb)',                  true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_messages_send(jsonb)',                         true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_messages_remove(jsonb)',                       true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_presence_update(jsonb)',                       true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_presence_leave(jsonb)',                        true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_presence_cleanup(jsonb)',                      true, false, true,  false, false, true,  'per statement'),
    -- files and storage (README "Files and storage", table "Who may call")
    ('convex_files_generate_upload_url(jsonb)',             true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_files_save_file(jsonb)',                       true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_files_remove(jsonb)',                          true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_storage_upload(text,bytea,text)',              true, true,  true,  true,  true,  true,  'per statement'),
    -- runs as its caller (who must own the large object), copies as the owner
    ('convex_storage_upload_large_object(text,oid,text)',   true, true,  true,  true,  true,  false, NULL),
    ('convex_storage_get(text)',                            true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_storage_get(text,bigint,integer)',             true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_storage_get_url(text)',                        true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_storage_get_metadata(text)',                   true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_storage_generate_upload_url()',                true, true,  false, false, false, true,  'per statement'),
    ('convex_storage_delete(text)',                         true, true,  false, false, false, true,  'per statement'),
    ('convex_storage_cleanup(double precision)',            true, false, true,  false, false, true,  'per statement'),
    -- ctx.db: the caller's rights
    ('convex_db_insert(text,jsonb)',                        true, true,  false, false, false, false, NULL),
    ('convex_db_get(text,text)',                            true, true,  false, false, false, false, NULL),
    ('convex_db_patch(text,text,jsonb)',                    true, true,  false, false, false, false, NULL),
    ('convex_db_replace(text,text,jsonb)',                  true, true,  false, false, false, false, NULL),
    ('convex_db_delete(text,text)',                         true, true,  false, false, false, false, NULL),
    ('convex_db_query(text,text,jsonb,text,jsonb,integer)', true, true,  false, false, false, false, NULL),
    -- the query builder (docs/query-builder.md): like convex_db_query
    ('convex_db_select(jsonb)',                             true, true,  false, false, false, false, NULL),
    ('convex_db_first(jsonb)',                              true, true,  false, false, false, false, NULL),
    ('convex_db_unique(jsonb)',                             true, true,  false, false, false, false, NULL),
    ('convex_db_paginate(jsonb,jsonb)',                     true, true,  false, false, false, false, NULL),
    ('convex_db_count(jsonb)',                              true, true,  false, false, false, false, NULL),
    -- schema.ts and realtime: the caller's rights (must own the table)
    ('convex_define_table(text,jsonb,jsonb)',               true, false, false, false, false, false, NULL),
    ('convex_define_schema(jsonb)',                         true, false, false, false, false, false, NULL),
    ('convex_import(oid,text)',                             true, false, false, false, false, false, NULL),
    ('convex_export(boolean)',                              true, false, false, false, false, false, NULL),
    ('convex_table_notify(text,text[])',                    true, false, false, false, false, false, NULL),
    -- registered mutations: registration writes convex._functions as the caller
    ('convex_define_mutation(text,regprocedure,jsonb,jsonb,boolean)',
                                                            true, false, false, false, false, false, NULL),
    ('convex_drop_mutation(text)',                          true, false, false, false, false, false, NULL),
    -- the dispatcher: not SECURITY DEFINER; switches to the schema owner
    -- (built-ins) or the handler's owner (registered) for the call only
    ('convex_mutation(text,jsonb)',                         true, true,  true,  true,  true,  false, NULL),
    ('convex_internal_mutation(text,jsonb)',                true, false, true,  false, false, false, NULL),
    -- the seed's queries (docs/queries.md): everyone, read-only
    ('convex_users_current()',                              true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_users_get(jsonb)',                             true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_messages_list(jsonb)',                         true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_presence_list(jsonb)',                         true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_files_get_url(jsonb)',                         true, true,  true,  true,  true,  true,  'per statement'),
    ('convex_files_list(jsonb)',                            true, true,  true,  true,  true,  true,  'per statement'),
    -- registered queries, as registered mutations
    ('convex_define_query(text,regprocedure,jsonb,jsonb,boolean)',
                                                            true, false, false, false, false, false, NULL),
    ('convex_drop_query(text)',                             true, false, false, false, false, false, NULL),
    ('convex_query(text,jsonb)',                            true, true,  true,  true,  true,  false, NULL),
    ('convex_internal_query(text,jsonb)',                   true, false, false, false, false, false, NULL),
    -- ctx.scheduler (the job row is written as the schema owner, inside)
    ('convex_scheduler_run_after(double precision,text,jsonb)',
                                                            true, true,  false, false, false, false, NULL),
    ('convex_scheduler_run_at(double precision,text,jsonb)', true, true, false, false, false, false, NULL),
    ('convex_scheduler_cancel(text)',                       true, true,  false, false, false, false, NULL),
    ('convex_scheduler_run_due(integer)',                   true, false, true,  false, false, false, NULL),
    ('convex_scheduler_cleanup(double precision)',          true, false, true,  false, false, true,  'per statement'),
    -- helpers
    ('convex_id_table(text)',                               true, true,  true,  true,  true,  false, NULL),
    ('convex_auth_user_id()',                               true, true,  true,  true,  true,  false, NULL),
    -- identity and errors (docs/identity-and-errors.md): anyone, the caller's rights
    ('convex_auth_identity()',                              true, true,  true,  true,  true,  false, NULL),
    ('convex_set_user(text)',                               true, true,  true,  true,  true,  false, NULL),
    ('convex_error(jsonb)',                                 true, true,  true,  true,  true,  false, NULL),
    ('convex_grant_role(text,text)',                        true, false, false, false, false, false, 'pg_catalog, pg_temp'),
    -- index keys: pure, evaluated by index expressions as whoever writes
    ('convex.index_key(jsonb)',                             true, true,  true,  true,  true,  false, NULL),
    ('convex.index_key(text)',                              true, true,  true,  true,  true,  false, NULL),
    ('convex.index_key(double precision)',                  true, true,  true,  true,  true,  false, NULL),
    ('convex.index_key(boolean)',                           true, true,  true,  true,  true,  false, NULL),
    ('convex.index_key(bigint)',                            true, true,  true,  true,  true,  false, NULL),
    ('convex.index_key(bytea)',                             true, true,  true,  true,  true,  false, NULL),
    -- what the builder's filters evaluate: pure, or raising Convex's EvalError
    ('convex.filter_value(text)',                           true, true,  true,  true,  true,  false, NULL),
    ('convex.filter_value(double precision)',               true, true,  true,  true,  true,  false, NULL),
    ('convex.filter_value(boolean)',                        true, true,  true,  true,  true,  false, NULL),
    ('convex.filter_value(bigint)',                         true, true,  true,  true,  true,  false, NULL),
    ('convex.filter_value(bytea)',                          true, true,  true,  true,  true,  false, NULL),
    ('convex.filter_arith(integer,jsonb,jsonb)',            true, true,  true,  true,  true,  false, NULL),
    ('convex.filter_neg(jsonb)',                            true, true,  true,  true,  true,  false, NULL),
    ('convex.filter_boolean(jsonb)',                        true, true,  true,  true,  true,  false, NULL),
    -- attempts of mutation calls (README "Concurrency")
    ('convex_conflict_stats()',                             true, true,  true,  true,  true,  false, NULL),
    ('convex_conflict_stats_reset()',                       true, false, false, false, false, false, NULL),
    -- sharding (docs/sharding.md): pure helpers, and the front's entry point
    -- on a node (runs as its caller: it sets nothing SET LOCAL could not)
    ('convex_id_node(text)',                                true, true,  true,  true,  true,  false, NULL),
    ('convex_node_id()',                                    true, true,  true,  true,  true,  false, NULL),
    ('convex_node_enter(integer,text,text)',                true, true,  true,  true,  true,  false, 'pg_catalog, pg_temp'),
    -- ids renumbered to Convex's system table numbers (update to 0.3.0): pure
    ('convex._id_renumber(text,integer,integer)',           true, true,  true,  true,  true,  false, NULL),
    ('convex._id_renumber(jsonb,integer,integer)',          true, true,  true,  true,  true,  false, NULL),
    -- pg_cron set-up (PL/pgSQL, runs as its caller, pins its own path)
    ('convex_schedule_jobs()',                              true, false, false, false, false, false, 'pg_catalog, pg_temp');

CREATE VIEW regress_cvxm.ext_functions AS
SELECT p.oid, p.oid::regprocedure::text AS signature, p.prosecdef, l.lanname,
       (SELECT substr(c, length('search_path=') + 1) FROM unnest(p.proconfig) AS c
         WHERE c LIKE 'search\_path=%') AS set_path
  FROM pg_depend d
  JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
  JOIN pg_language l ON l.oid = p.prolang
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'convexlite');

SELECT ok((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), 'the role running this file (su) is a superuser');
SELECT is(ARRAY(SELECT DISTINCT classid::regclass::text FROM pg_depend
                 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
                   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'convexlite') ORDER BY 1),
          ARRAY['pg_class', 'pg_namespace', 'pg_proc'],
          'the extension''s objects are functions, relations and its schema only');
SELECT set_eq('SELECT signature FROM regress_cvxm.ext_functions',
              'SELECT signature FROM regress_cvxm.expected_functions',
              'every function of the extension has a row in the expected matrix, and no other');

SELECT is(has_function_privilege(r.role, f.oid, 'EXECUTE'),
          CASE r.key WHEN 'su' THEN e.su WHEN 'owner' THEN e.owner WHEN 'internal' THEN e.internal
                     WHEN 'usr' THEN e.usr ELSE e.public END,
          format('%s: %s %s EXECUTE', e.signature, r.key,
                 CASE WHEN CASE r.key WHEN 'su' THEN e.su WHEN 'owner' THEN e.owner WHEN 'internal' THEN e.internal
                                      WHEN 'usr' THEN e.usr ELSE e.public END
                      THEN 'has' ELSE 'lacks' END))
  FROM regress_cvxm.expected_functions e
  JOIN regress_cvxm.ext_functions f USING (signature)
 CROSS JOIN regress_cvxm.roles r
 ORDER BY e.signature, r.ord;

SELECT is(format('%s, search_path %s', CASE WHEN f.prosecdef THEN 'SECURITY DEFINER' ELSE 'SECURITY INVOKER' END,
                 coalesce(f.set_path, CASE WHEN f.prosecdef AND f.lanname = 'c' THEN 'per statement' END, 'the caller''s')),
          format('%s, search_path %s', CASE WHEN e.secdef THEN 'SECURITY DEFINER' ELSE 'SECURITY INVOKER' END,
                 coalesce(e.path, 'the caller''s')),
          format('%s: runs as README says', e.signature))
  FROM regress_cvxm.expected_functions e
  JOIN regress_cvxm.ext_functions f USING (signature)
 ORDER BY e.signature;

SELECT is(ARRAY(SELECT signature FROM regress_cvxm.ext_functions
                 WHERE prosecdef AND lanname <> 'c' AND set_path IS DISTINCT FROM 'pg_catalog, pg_temp' ORDER BY 1),
          ARRAY[]::text[],
          'a SECURITY DEFINER function not written in C sets search_path = pg_catalog, pg_temp');

------------------------------------------------------------------------
-- 2. Relations of schema convex: table and sequence privileges per role
--
-- Table privileges in the order SELECT, INSERT, UPDATE, DELETE, TRUNCATE,
-- REFERENCES, TRIGGER (SELECT, INSERT, UPDATE and REFERENCES count a grant
-- on any column); sequences USAGE, SELECT, UPDATE.  PUBLIC reads the two
-- catalogs (convex._tables: names and validators; convex._functions:
-- paths, handlers, validators); nothing else of schema convex.
------------------------------------------------------------------------

CREATE FUNCTION regress_cvxm.rel_privs(role name, rel oid) RETURNS text LANGUAGE sql STABLE AS $f$
    SELECT coalesce(string_agg(p, ',' ORDER BY n), '')
      FROM (SELECT p, n FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'])
                             WITH ORDINALITY AS t(p, n)
             WHERE (SELECT relkind FROM pg_class WHERE oid = rel) <> 'S'
               AND CASE WHEN p IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                        THEN has_any_column_privilege(role, rel, p) ELSE has_table_privilege(role, rel, p) END
            UNION ALL
            SELECT p, n FROM unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) WITH ORDINALITY AS t(p, n)
             WHERE (SELECT relkind FROM pg_class WHERE oid = rel) = 'S'
               AND has_sequence_privilege(role, rel, p)) AS granted
$f$;

\set all_table 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER'
CREATE TABLE regress_cvxm.expected_relations (
    relname text PRIMARY KEY, member boolean, su text, owner text, internal text, usr text, public text);
INSERT INTO regress_cvxm.expected_relations VALUES
--   relation                  extension member  su            owner     internal  usr       public
    ('_tables',                true,  :'all_table', 'SELECT', 'SELECT', 'SELECT', 'SELECT'),
    ('_functions',             true,  :'all_table', 'SELECT', 'SELECT', 'SELECT', 'SELECT'),
    ('_table_number_seq',      true,  'USAGE,SELECT,UPDATE', '', '', '', ''),
    ('_storage',               true,  :'all_table', '', '', '', ''),
    ('_upload_tokens',         true,  :'all_table', '', '', '', ''),
    ('_scheduled_functions',   true,  :'all_table', '', '', '', ''),
    ('users',                  true,  :'all_table', '', '', '', ''),
    ('messages',               true,  :'all_table', '', '', '', ''),
    ('presence',               true,  :'all_table', '', '', '', ''),
    ('files',                  true,  :'all_table', '', '', '', ''),
    -- an application table: defined by su, its DML granted to the owner
    ('regress_cvxm_notes',     false, :'all_table', 'SELECT,INSERT,UPDATE,DELETE', '', '', '');

SELECT set_eq($$SELECT relname::text FROM pg_class WHERE relnamespace = 'convex'::regnamespace
                 AND relkind IN ('r', 'p', 'v', 'm', 'f', 'S')$$,
              'SELECT relname FROM regress_cvxm.expected_relations',
              'every table and sequence of schema convex has a row in the expected matrix, and no other');
SELECT set_eq($$SELECT c.relname::text FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
                 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
                   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'convexlite')$$,
              'SELECT relname FROM regress_cvxm.expected_relations WHERE member',
              'the extension''s relations are the expected ones');

SELECT is(regress_cvxm.rel_privs(r.role, c.oid),
          CASE r.key WHEN 'su' THEN e.su WHEN 'owner' THEN e.owner WHEN 'internal' THEN e.internal
                     WHEN 'usr' THEN e.usr ELSE e.public END,
          format('convex.%s: %s''s privileges', e.relname, r.key))
  FROM regress_cvxm.expected_relations e
  JOIN pg_class c ON c.relname = e.relname AND c.relnamespace = 'convex'::regnamespace
 CROSS JOIN regress_cvxm.roles r
 ORDER BY e.relname, r.ord;

SELECT is(concat_ws(',', CASE WHEN has_schema_privilege(r.role, 'convex', 'USAGE') THEN 'USAGE' END,
                         CASE WHEN has_schema_privilege(r.role, 'convex', 'CREATE') THEN 'CREATE' END),
          CASE WHEN r.key = 'su' THEN 'USAGE,CREATE' ELSE 'USAGE' END,
          format('schema convex: %s may %s', r.key, CASE WHEN r.key = 'su' THEN 'use it and create in it'
                                                         ELSE 'use it, not create in it' END))
  FROM regress_cvxm.roles r ORDER BY r.ord;

------------------------------------------------------------------------
-- 3. Settings: only convexlite.user_id is settable by everyone
------------------------------------------------------------------------

CREATE TABLE regress_cvxm.expected_settings (name text PRIMARY KEY, context text);
INSERT INTO regress_cvxm.expected_settings VALUES
    ('convexlite.user_id', 'user'),
    ('convexlite.max_documents_read', 'superuser'), ('convexlite.max_documents_written', 'superuser'),
    ('convexlite.max_bytes_read', 'superuser'), ('convexlite.max_bytes_written', 'superuser'),
    ('convexlite.max_args_size', 'superuser'), ('convexlite.max_return_size', 'superuser'),
    ('convexlite.max_document_size', 'superuser'), ('convexlite.max_functions_scheduled', 'superuser'),
    ('convexlite.mutation_timeout', 'superuser'),
    ('convexlite.mutation_retries', 'superuser'), ('convexlite.conflict_lock_timeout', 'superuser'),
    ('convexlite.upload_url_ttl', 'superuser'), ('convexlite.url', 'superuser'),
    ('convexlite.notify', 'superuser'), ('convexlite.notify_relay', 'superuser'),
    ('convexlite.database_name', 'postmaster'), ('convexlite.notify_buffer_size', 'postmaster'),
    ('convexlite.node_id', 'sighup'), ('convexlite.import_max_size', 'superuser');

SELECT set_eq($$SELECT name FROM pg_settings WHERE name LIKE 'convexlite.%'$$,
              'SELECT name FROM regress_cvxm.expected_settings',
              'every convexlite setting has a row in the expected list, and no other');
SELECT is(s.context, e.context, format('%s is a %s setting', e.name, e.context))
  FROM regress_cvxm.expected_settings e JOIN pg_settings s USING (name)
 ORDER BY e.name;
-- PostgreSQL 15's GRANT SET ON PARAMETER: nobody was given a superuser setting
SELECT is(ARRAY(SELECT e.name FROM regress_cvxm.expected_settings e
                 WHERE e.context = 'superuser' AND has_parameter_privilege(r.role, e.name, 'SET') ORDER BY 1),
          ARRAY[]::text[], format('%s may SET no superuser-only convexlite setting', r.key))
  FROM regress_cvxm.roles r WHERE r.key <> 'su' ORDER BY r.ord;

SET ROLE regress_cvxm_user;
SELECT throws_ok(format('SELECT set_config(%L, %L, true)', e.name, s.setting), '42501', NULL,
                 format('an ordinary role cannot set %s', e.name))
  FROM regress_cvxm.expected_settings e JOIN pg_settings s USING (name)
 WHERE e.context = 'superuser' ORDER BY e.name;
SELECT throws_ok(format('SELECT set_config(%L, %L, true)', e.name, s.setting), '55P02', NULL,
                 format('nobody can set %s in a session', e.name))
  FROM regress_cvxm.expected_settings e JOIN pg_settings s USING (name)
 WHERE e.context = 'postmaster' ORDER BY e.name;
SELECT throws_ok('SET convexlite.max_documents_written = 1000000', '42501', NULL,
                 'an ordinary role cannot raise its own write budget with SET');
SELECT throws_ok('ALTER ROLE regress_cvxm_user SET convexlite.notify = off', '42501', NULL,
                 'an ordinary role cannot turn notifications off for itself with ALTER ROLE … SET');
RESET ROLE;

------------------------------------------------------------------------
-- 4. Identity: whoever can set convexlite.user_id (or request.jwt.claims)
--    is that user; a malformed one is refused (42501 INVALID_IDENTITY)
------------------------------------------------------------------------

SELECT convex_db_insert('users', '{"name": "Alice"}') AS alice \gset
SELECT convex_db_insert('users', '{"name": "Bob"}') AS bob \gset

SET ROLE regress_cvxm_user;
SELECT set_config('convexlite.user_id', :'bob', true) \g /dev/null
SELECT is(convex_auth_user_id(), :'bob',
          'trust model: any role may set convexlite.user_id to any user''s id, and is then that user');
SELECT lives_ok($$SELECT convex_users_update_profile('{"name": "Bob (set by someone else)"}')$$,
                'trust model: … and may update that user''s profile');
SELECT set_config('convexlite.user_id', 'not-an-id', true) \g /dev/null
SELECT throws_ok('SELECT convex_auth_user_id()', '42501', NULL,
                 'a malformed convexlite.user_id is refused (42501 INVALID_IDENTITY), never anonymous');
SELECT throws_ok($$SELECT convex_messages_send('{"roomId": "r", "content": "c", "userName": "u"}')$$, '42501', NULL,
                 'a mutation under a malformed convexlite.user_id is refused (42501 INVALID_IDENTITY)');
SELECT set_config('convexlite.user_id', :'alice', true) \g /dev/null
SELECT set_config('request.jwt.claims', json_build_object('sub', :'bob' || '|session-1')::text, true) \g /dev/null
SELECT is(convex_auth_user_id(), :'alice', 'convexlite.user_id wins over request.jwt.claims');
SELECT set_config('convexlite.user_id', '', true) \g /dev/null
SELECT is(convex_auth_user_id(), :'bob',
          'trust model: any role may set request.jwt.claims too; its sub (up to |) is the user');
SELECT set_config('request.jwt.claims', '{"sub": "mallory|x"}', true) \g /dev/null
SELECT throws_ok('SELECT convex_auth_user_id()', '42501', NULL,
                 'a sub claim that is not an Id<"users"> is refused (42501 INVALID_IDENTITY)');
SELECT set_config('request.jwt.claims', '{"role": "web_anon"}', true) \g /dev/null
SELECT is(convex_auth_user_id(), NULL, 'claims without sub: not signed in');
SELECT set_config('request.jwt.claims', '', true) \g /dev/null
RESET ROLE;
SELECT is((SELECT name FROM convex.users WHERE _id = :'bob'), 'Bob (set by someone else)',
          'trust model: the profile of the user named by the setting was changed');

------------------------------------------------------------------------
-- 5. Large objects: blobs belong to the schema owner, nobody else may
--    open, read, write or unlink them
------------------------------------------------------------------------

SELECT convex_storage_upload(convex_files_generate_upload_url(), 'secret blob'::bytea, 'text/plain') ->> 'storageId'
    AS sid \gset
SELECT blob AS blob FROM convex._storage WHERE _id = :'sid' \gset

SELECT is(current_setting('lo_compat_privileges'), 'off',
          'lo_compat_privileges is off (it would open every large object to everyone)');
SELECT is(ARRAY(SELECT s._id FROM convex._storage s JOIN pg_largeobject_metadata m ON m.oid = s.blob
                 WHERE m.lomowner <> (SELECT nspowner FROM pg_namespace WHERE nspname = 'convex')
                    OR m.lomacl IS NOT NULL),
          ARRAY[]::text[], 'every blob is owned by the owner of schema convex, with no grants');

SET ROLE regress_cvxm_user;
SELECT throws_ok(format(q, :'blob'), '42501', NULL, 'an ordinary role cannot ' || what)
  FROM (VALUES ('SELECT lo_get(%s)', 'lo_get a blob'),
               ('SELECT lo_get(%s, 0, 4)', 'lo_get part of a blob'),
               ('SELECT lo_open(%s, 262144)', 'open a blob for reading (INV_READ)'),
               ('SELECT lo_open(%s, 131072)', 'open a blob for writing (INV_WRITE)'),
               ('SELECT lo_put(%s, 0, ''\x00'')', 'lo_put into a blob'),
               ('SELECT lo_unlink(%s)', 'lo_unlink a blob')) AS t(q, what);
SELECT throws_ok(format('SELECT convex_storage_upload_large_object(convex_files_generate_upload_url(), %s::oid)', :'blob'),
                 '42501', NULL, 'an ordinary role cannot take over a blob by passing its oid to the upload');
RESET ROLE;
SET ROLE regress_cvxm_owner;
SELECT throws_ok(format('SELECT lo_get(%s)', :'blob'), '42501', NULL, 'the owner cannot lo_get a blob either');
RESET ROLE;
SET ROLE regress_cvxm_internal;
SELECT throws_ok(format('SELECT lo_get(%s)', :'blob'), '42501', NULL, 'the internal role cannot lo_get a blob either');
RESET ROLE;
SELECT is(convex_storage_get(:'sid'), 'secret blob'::bytea, 'the blob is intact after the refused attempts');

------------------------------------------------------------------------
-- 6. Direct access to convexlite's tables by the owner and internal roles
--    (privileges.sql covers the ordinary role), and to convex._functions
--    by every role: 42501
------------------------------------------------------------------------

-- Each check names the role it runs as (current_user).
CREATE FUNCTION regress_cvxm.write_checks(tables text[]) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
    t text;
    op record;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        FOR op IN SELECT * FROM (VALUES (1, 'SELECT', 'SELECT * FROM convex.%I'),
                                        (2, 'INSERT INTO', 'INSERT INTO convex.%I DEFAULT VALUES'),
                                        (3, 'UPDATE', 'UPDATE convex.%I SET %I = %2$I'),
                                        (4, 'DELETE FROM', 'DELETE FROM convex.%I'),
                                        (5, 'TRUNCATE', 'TRUNCATE convex.%I')) AS o(n, name, q)
                   ORDER BY n LOOP
            -- PUBLIC reads the two catalogs
            CONTINUE WHEN op.name = 'SELECT' AND t IN ('_tables', '_functions');
            RETURN NEXT throws_ok(format(op.q, t, (SELECT a.attname FROM pg_attribute a
                                                    WHERE a.attrelid = format('convex.%I', t)::regclass
                                                      AND a.attnum = 1)),
                                  '42501', NULL, format('%s cannot %s convex.%s', current_user, op.name, t));
        END LOOP;
    END LOOP;
END
$f$;

SET ROLE regress_cvxm_owner;
SELECT * FROM regress_cvxm.write_checks(ARRAY['messages', 'users', '_tables', '_functions', '_storage',
                                              '_upload_tokens', '_scheduled_functions']);
RESET ROLE;
SET ROLE regress_cvxm_internal;
SELECT * FROM regress_cvxm.write_checks(ARRAY['messages', 'presence', '_tables', '_functions', '_storage',
                                              '_scheduled_functions', 'regress_cvxm_notes']);
RESET ROLE;
SET ROLE regress_cvxm_user;
SELECT * FROM regress_cvxm.write_checks(ARRAY['_functions', 'regress_cvxm_notes']);
RESET ROLE;

SET ROLE regress_cvxm_owner;
SELECT throws_ok('DROP TABLE convex.messages', '42501', NULL, 'the owner cannot drop convex.messages');
SELECT throws_ok('ALTER TABLE convex.regress_cvxm_notes ADD COLUMN x int', '42501', NULL,
                 'the owner cannot alter the application table (it has DML only)');
CREATE FUNCTION regress_cvxm_app.t() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
SELECT throws_ok('CREATE TRIGGER t BEFORE INSERT ON convex.messages FOR EACH ROW EXECUTE FUNCTION regress_cvxm_app.t()',
                 '42501', NULL, 'the owner cannot put a trigger on convex.messages');
SELECT throws_ok('CREATE TABLE convex.regress_cvxm_rogue (x int)', '42501', NULL,
                 'the owner cannot create a table in schema convex');
RESET ROLE;
CREATE SCHEMA regress_cvxm_usr AUTHORIZATION regress_cvxm_user;
SET ROLE regress_cvxm_user;
SELECT throws_ok('CREATE TABLE regress_cvxm_usr.fk (x text REFERENCES convex.users (_id))', '42501', NULL,
                 'an ordinary role cannot reference convex.users from its own table');
CREATE TEMP VIEW regress_cvxm_v AS SELECT * FROM convex.users;
SELECT throws_ok('SELECT * FROM regress_cvxm_v', '42501', NULL,
                 'an ordinary role cannot read convex.users through a view of its own');
RESET ROLE;

------------------------------------------------------------------------
-- 7. Registered mutations: runs as the handler's owner; internal paths;
--    who may register
------------------------------------------------------------------------

SET ROLE regress_cvxm_user;
SELECT is(convex_mutation('regress_cvxm:note', '{"body": "from usr"}'), to_jsonb('regress_cvxm_owner'::text),
          'a registered handler called by an ordinary role runs as its owner');
SELECT is(session_user::text || ' ' || current_user::text, session_user::text || ' regress_cvxm_user',
          '… and the caller is itself again afterwards');
SELECT is(convex_mutation('regress_cvxm:definer'), to_jsonb('regress_cvxm_owner'::text),
          'a SECURITY DEFINER handler runs as its owner, who registered nothing');
SELECT throws_ok($$SELECT convex_mutation('regress_cvxm:internalNote')$$, '42883',
                 'Could not find public function for ''regress_cvxm:internalNote''.',
                 'an internal path is invisible to an ordinary role (42883, as a missing path)');
SELECT throws_ok($$SELECT convex_internal_mutation('regress_cvxm:internalNote', '{}')$$, '42501', NULL,
                 'an ordinary role cannot call convex_internal_mutation (42501)');
SELECT throws_ok($$SELECT convex_mutation('presence:cleanup')$$, '42883', NULL,
                 'the built-in internal presence:cleanup is invisible to an ordinary role (42883)');
SELECT is(convex_mutation('regress_cvxm:runInternal'), to_jsonb('regress_cvxm_owner'::text),
          'a public handler may run an internal mutation (ctx.runMutation), as that handler''s owner');
SELECT throws_ok($$SELECT convex_define_mutation('regress_cvxm:mine', 'regress_cvxm_app.note(jsonb)', '{"type": "any"}')$$,
                 '42501', NULL, 'an ordinary role cannot register a handler (42501)');
SELECT throws_ok($$SELECT convex_drop_mutation('regress_cvxm:note')$$, '42501', NULL,
                 'an ordinary role cannot drop a registered mutation (42501)');
RESET ROLE;

SET ROLE regress_cvxm_internal;
SELECT is(convex_internal_mutation('regress_cvxm:internalNote', '{}'), to_jsonb('regress_cvxm_owner'::text),
          'the internal role runs an internal mutation through convex_internal_mutation');
SELECT is(convex_mutation('regress_cvxm:internalNote'), to_jsonb('regress_cvxm_owner'::text),
          'the internal role runs it through convex_mutation too');
SELECT is(convex_mutation('presence:cleanup'), '0'::jsonb, 'the internal role runs presence:cleanup');
SELECT throws_ok($$SELECT convex_scheduler_run_after(0, 'regress_cvxm:internalNote', '{}')$$, '42501', NULL,
                 'the internal role cannot schedule (no EXECUTE on ctx.scheduler)');
RESET ROLE;

SET ROLE regress_cvxm_owner;
SELECT throws_ok($$SELECT convex_mutation('regress_cvxm:internalNote')$$, '42883', NULL,
                 'the owner of an internal handler cannot call it from the top level (not internal)');
SELECT throws_ok($$SELECT convex_scheduler_run_after(0, 'regress_cvxm:internalNote', '{}')$$, '42883', NULL,
                 'the owner cannot schedule an internal mutation from the top level (42883)');
SELECT throws_ok($$SELECT convex_scheduler_run_at(0, 'presence:cleanup', '{}')$$, '42883', NULL,
                 'the owner cannot schedule the internal presence:cleanup from the top level (42883)');
SELECT throws_ok($$SELECT convex_define_mutation('regress_cvxm:mine', 'regress_cvxm_app.note(jsonb)', '{"type": "any"}')$$,
                 '42501', NULL, 'the owner cannot register a handler itself (not granted)');
SELECT throws_ok(format('SELECT convex_db_get(%L, %L)', 'messages', convex_messages_send(
                     '{"roomId": "r-matrix", "content": "c", "userName": "u"}')),
                 '42501', NULL, 'ctx.db as the owner reaches only the tables it was granted (messages: 42501)');
RESET ROLE;

-- Registering needs EXECUTE on convex_define_mutation and ownership of the
-- handler; even with EXECUTE, a non-superuser cannot register a function
-- another role owns.
GRANT EXECUTE ON FUNCTION convex_define_mutation(text, regprocedure, jsonb, jsonb, boolean) TO regress_cvxm_owner;
SET ROLE regress_cvxm_owner;
SELECT regress_cvx_tap.throws_state_like(
           $$SELECT convex_define_mutation('regress_cvxm:steal', 'regress_cvxm.su_definer(jsonb)', '{"type": "any"}')$$,
           '42501', 'must be owner of function %',
           'the owner cannot register a superuser''s SECURITY DEFINER function (42501)');
SELECT regress_cvx_tap.throws_state_like(
           $$SELECT convex_define_mutation('regress_cvxm:steal', 'pg_catalog.jsonb_strip_nulls(jsonb)', '{"type": "any"}')$$,
           '42501', 'must be owner of function %',
           'the owner cannot register a built-in function (owned by the bootstrap superuser)');
SELECT regress_cvx_tap.throws_state_like(
           $$SELECT convex_define_mutation('regress_cvxm:mine', 'regress_cvxm_app.note(jsonb)', '{"type": "any"}')$$,
           '42501', 'permission denied for table _functions',
           'registering writes convex._functions with the caller''s rights: EXECUTE alone is not enough');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION convex_define_mutation(text, regprocedure, jsonb, jsonb, boolean) FROM regress_cvxm_owner;
SELECT is((SELECT count(*)::int FROM convex._functions WHERE path IN ('regress_cvxm:steal', 'regress_cvxm:mine')), 0,
          'nothing was registered by the refused calls');
-- The built-in public mutations are reachable through convex_mutation
-- whatever the rights on their own functions; EXECUTE on
-- convex_presence_cleanup opens that function only.
REVOKE EXECUTE ON FUNCTION convex_messages_send(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION convex_presence_cleanup(jsonb) TO regress_cvxm_user;
SET ROLE regress_cvxm_user;
SELECT throws_ok($$SELECT convex_messages_send('{"roomId": "r", "content": "c", "userName": "u"}')$$, '42501', NULL,
                 'with EXECUTE on convex_messages_send revoked from PUBLIC, an ordinary role cannot call it');
SELECT is(convex_id_table(convex_mutation('messages:send', '{"roomId": "r", "content": "c", "userName": "u"}') #>> '{}'),
          'messages', '… but convex_mutation(''messages:send'') still runs it (revoke convex_mutation too)');
SELECT throws_ok($$SELECT convex_mutation('presence:cleanup')$$, '42883', NULL,
                 'EXECUTE on convex_presence_cleanup does not open presence:cleanup through convex_mutation');
RESET ROLE;
GRANT EXECUTE ON FUNCTION convex_messages_send(jsonb) TO PUBLIC;
REVOKE EXECUTE ON FUNCTION convex_presence_cleanup(jsonb) FROM regress_cvxm_user;

-- su calls a registered handler: it still runs as the handler's owner (no
-- borrowing of the caller's rights either)
SELECT is(convex_mutation('regress_cvxm:note', '{"body": "from su"}'), to_jsonb('regress_cvxm_owner'::text),
          'a handler called by a superuser runs as its (non-superuser) owner');

------------------------------------------------------------------------
-- 8. ctx.db identifiers as the owner (a role with ctx.db rights but no
--    rights on other tables): no name reaches another table (42P01)
------------------------------------------------------------------------

CREATE TABLE public.t (_id text PRIMARY KEY, _creation_time float8, body text);
INSERT INTO public.t VALUES ('public-row', 0, 'untouched');
GRANT ALL ON public.t TO regress_cvxm_owner;
SELECT convex_db_insert('regress_cvxm_notes', '{"body": "target"}') AS note_id \gset
SELECT convex_messages_send('{"roomId": "r-matrix", "content": "c", "userName": "u"}') AS msg_id \gset

SET ROLE regress_cvxm_owner;
SELECT throws_ok(format(fs.q, n.name, :'note_id'), '42P01', NULL,
                 format('the owner''s %s(%s) is refused', fs.f, quote_literal(n.name)))
  FROM (VALUES ('pg_authid'), ('pg_catalog.pg_class'), ('convex._tables'), ('_functions'),
               ('"messages; DROP TABLE x"'), ('public.t'), ('t'), ('"regress_cvxm_notes"'),
               ('convex.regress_cvxm_notes'), ('regress_cvxm_notes__by_creation_time')) AS n(name)
 CROSS JOIN (VALUES ('convex_db_insert', 'SELECT convex_db_insert(%L, ''{"body": "x"}'') /* %s */'),
                    ('convex_db_get', 'SELECT convex_db_get(%L, %L)'),
                    ('convex_db_patch', 'SELECT convex_db_patch(%L, %L, ''{"body": "x"}'')'),
                    ('convex_db_replace', 'SELECT convex_db_replace(%L, %L, ''{"body": "x"}'')'),
                    ('convex_db_delete', 'SELECT convex_db_delete(%L, %L)'),
                    ('convex_db_query', 'SELECT convex_db_query(%L) /* %s */')) AS fs(f, q);
SELECT is(convex_db_get('regress_cvxm_notes', :'note_id') ->> 'body', 'target',
          'the owner reaches its own table by its exact name');
RESET ROLE;

-- through a public handler (the owner's rights), with the table name chosen
-- by an ordinary caller
SET ROLE regress_cvxm_user;
SELECT throws_ok(format('SELECT convex_mutation(%L, %L)', 'regress_cvxm:peek',
                        json_build_object('table', n.name, 'id', :'note_id')), '42P01', NULL,
                 format('an ordinary caller cannot steer a handler''s ctx.db to %s', quote_literal(n.name)))
  FROM (VALUES ('pg_authid'), ('convex._functions'), ('"messages; DROP TABLE x"'), ('public.t'),
               ('regress_cvxm_notes '), ('REGRESS_CVXM_NOTES')) AS n(name);
SELECT throws_ok(format('SELECT convex_mutation(%L, %L)', 'regress_cvxm:peek',
                        json_build_object('table', 'messages', 'id', :'msg_id')), '42501', NULL,
                 'a handler''s ctx.db has its owner''s rights only (messages: 42501)');
SELECT is(convex_mutation('regress_cvxm:peek', json_build_object('table', 'regress_cvxm_notes', 'id', :'note_id')::jsonb)
              ->> 'body', 'target', 'the handler reads the table it is meant to');
RESET ROLE;
SELECT is((SELECT body FROM public.t WHERE _id = 'public-row') || ' ' || (to_regclass('convex.messages') IS NOT NULL)::text,
          'untouched true', 'public.t and convex.messages are untouched');

------------------------------------------------------------------------
-- 9. A look-alike of every pg_catalog function and operator in front of
--    pg_catalog: no entry point of convexlite reaches one
--
-- As if a deployment had left CREATE on schema public: the ordinary role
-- creates, in public, a function with the name, arguments and result of
-- every pg_catalog function (plain types), and an operator over each of
-- them with the pg_catalog operator's name and types.  Each look-alike
-- counts itself in a sequence (not rolled back by a failing call) and
-- warns.  Every entry point is then called, by the role that may call it,
-- under search_path = public, pg_catalog; the counter must stay at zero.
-- (privileges.sql and storage.sql check the same for "=" and "<" against
-- the data itself; this covers every name.)
------------------------------------------------------------------------

CREATE SEQUENCE regress_cvxm.trap_hits;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE regress_cvxm.trap_hits TO PUBLIC;
CREATE TABLE regress_cvxm.steps (n serial PRIMARY KEY, step text, state text, message text, result text);
GRANT ALL ON regress_cvxm.steps, regress_cvxm.steps_n_seq TO PUBLIC;
-- Run one statement and record its outcome (a failure is recorded, not raised).
CREATE FUNCTION regress_cvxm.try(step text, q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    r text;
BEGIN
    EXECUTE q INTO r;
    INSERT INTO regress_cvxm.steps (step, result) VALUES (step, r);
    RETURN r;
EXCEPTION WHEN OTHERS THEN
    INSERT INTO regress_cvxm.steps (step, state, message) VALUES (step, SQLSTATE, SQLERRM);
    RETURN NULL;
END
$f$;
CREATE FUNCTION regress_cvxm.trap_count() RETURNS bigint LANGUAGE sql
    AS $f$ SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM regress_cvxm.trap_hits $f$;

GRANT CREATE ON SCHEMA public TO regress_cvxm_user;
SET ROLE regress_cvxm_user;
SET LOCAL check_function_bodies = off;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.proname, pg_get_function_arguments(p.oid) AS args, pg_get_function_result(p.oid) AS result,
               p.proretset OR p.prorettype = 'void'::regtype OR p.proargmodes IS NOT NULL AS bare_return
          FROM pg_proc p
         WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind = 'f'
           AND NOT EXISTS (SELECT 1 FROM pg_type t
                            WHERE t.oid = ANY (p.proargtypes::oid[] || coalesce(p.proallargtypes, '{}'))
                              AND t.typtype = 'p')
           AND (p.prorettype = 'void'::regtype
                OR (p.prorettype = 'record'::regtype AND p.proargmodes IS NOT NULL)
                OR (SELECT typtype FROM pg_type WHERE oid = p.prorettype) <> 'p')
    LOOP
        EXECUTE format(
            'CREATE FUNCTION public.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L', r.proname, r.args, r.result,
            format('BEGIN PERFORM pg_catalog.nextval(%L::pg_catalog.regclass); '
                   'RAISE WARNING %L; RETURN%s; END',
                   'regress_cvxm.trap_hits',
                   replace('look-alike public.' || r.proname || '(' || r.args || ') was called', '%', '%%'),
                   CASE WHEN r.bare_return THEN '' ELSE ' NULL' END));
    END LOOP;
    FOR r IN
        SELECT o.oprname, o.oprleft, o.oprright, p.proname
          FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode
         WHERE o.oprnamespace = 'pg_catalog'::regnamespace AND o.oprkind IN ('b', 'l')
           AND EXISTS (SELECT 1 FROM pg_proc q
                        WHERE q.pronamespace = 'public'::regnamespace AND q.proname = p.proname
                          AND q.proargtypes = p.proargtypes AND q.prorettype = p.prorettype)
    LOOP
        EXECUTE format('CREATE OPERATOR public.%s (%s RIGHTARG = %s, FUNCTION = public.%I)', r.oprname,
                       CASE WHEN r.oprleft <> 0 THEN format('LEFTARG = %s,', r.oprleft::regtype) ELSE '' END,
                       r.oprright::regtype, r.proname);
    END LOOP;
END
$$;
RESET check_function_bodies;
RESET ROLE;
SELECT cmp_ok((SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'public'::regnamespace
                  AND proowner = 'regress_cvxm_user'::regrole), '>', 1000,
              'the ordinary role put over a thousand look-alike functions in public');
SELECT cmp_ok((SELECT count(*)::int FROM pg_operator WHERE oprnamespace = 'public'::regnamespace
                  AND oprowner = 'regress_cvxm_user'::regrole), '>', 300,
              '… and hundreds of look-alike operators');

-- values the calls need, computed beforehand
SELECT lo_from_bytea(0, 'user large object') AS user_lo \gset
ALTER LARGE OBJECT :user_lo OWNER TO regress_cvxm_user;
SELECT set_config('convexlite.user_id', :'alice', true) \g /dev/null

-- The ordinary role: every function PUBLIC may execute.
SET ROLE regress_cvxm_user;
SET search_path = public, pg_catalog;
SELECT regress_cvxm.try('usr: messages.send',
    $$SELECT convex_messages_send('{"roomId": "trap", "content": "c", "userName": "u", "sessionId": "trap-tab"}')$$)
    AS trap_msg \gset
SELECT regress_cvxm.try('usr: messages.remove',
    pg_catalog.format('SELECT convex_messages_remove(%L)', pg_catalog.json_build_object('messageId', :'trap_msg')))
    \g /dev/null
SELECT regress_cvxm.try('usr: presence.update',
    $$SELECT convex_presence_update('{"roomId": "trap", "sessionId": "trap-tab", "data": {"status": "x"}}')$$) \g /dev/null
SELECT regress_cvxm.try('usr: presence.update (heartbeat)',
    $$SELECT convex_presence_update('{"roomId": "trap", "sessionId": "trap-tab", "data": {"status": "y"}}')$$) \g /dev/null
SELECT regress_cvxm.try('usr: presence.leave',
    $$SELECT convex_presence_leave('{"roomId": "trap", "sessionId": "trap-tab"}')$$) \g /dev/null
SELECT regress_cvxm.try('usr: users.updateProfile',
    $$SELECT convex_users_update_profile('{"name": "Alice T."}')$$) \g /dev/null
SELECT regress_cvxm.try('usr: files.generateUploadUrl', 'SELECT convex_files_generate_upload_url()') AS trap_url \gset
SELECT regress_cvxm.try('usr: storage upload (bytea)',
    pg_catalog.format('SELECT convex_storage_upload(%L, %L::bytea, %L) OPERATOR(pg_catalog.->>) %L', :'trap_url',
                      'trap bytes', 'text/plain', 'storageId')) AS trap_sid \gset
SELECT regress_cvxm.try('usr: storage get',
    pg_catalog.format('SELECT convex_storage_get(%L)', :'trap_sid')) \g /dev/null
SELECT regress_cvxm.try('usr: storage get (range)',
    pg_catalog.format('SELECT convex_storage_get(%L, 1, 3)', :'trap_sid')) \g /dev/null
SELECT regress_cvxm.try('usr: storage getUrl',
    pg_catalog.format('SELECT convex_storage_get_url(%L)', :'trap_sid')) \g /dev/null
SELECT regress_cvxm.try('usr: storage getMetadata',
    pg_catalog.format('SELECT convex_storage_get_metadata(%L)', :'trap_sid')) \g /dev/null
SELECT regress_cvxm.try('usr: files.saveFile',
    pg_catalog.format('SELECT convex_files_save_file(%L)',
        pg_catalog.json_build_object('storageId', :'trap_sid', 'name', 'n', 'type', 't', 'size', 10,
                                     'sessionId', 'trap-tab'))) AS trap_file \gset
SELECT regress_cvxm.try('usr: files.remove',
    pg_catalog.format('SELECT convex_files_remove(%L)',
        pg_catalog.json_build_object('fileId', :'trap_file', 'sessionId', 'trap-tab'))) \g /dev/null
SELECT regress_cvxm.try('usr: storage upload (large object)',
    pg_catalog.format('SELECT convex_storage_upload_large_object(convex_files_generate_upload_url(), %s::oid)', :'user_lo'))
    \g /dev/null
SELECT regress_cvxm.try('usr: convex_mutation (built-in)',
    $$SELECT convex_mutation('messages:send', '{"roomId": "trap", "content": "c2", "userName": "u"}')$$) \g /dev/null
SELECT regress_cvxm.try('usr: convex_mutation (registered handler)',
    $$SELECT convex_mutation('regress_cvxm:note', '{"body": "trap"}')$$) \g /dev/null
SELECT regress_cvxm.try('usr: convex_mutation (handler running an internal one)',
    $$SELECT convex_mutation('regress_cvxm:runInternal')$$) \g /dev/null
SELECT regress_cvxm.try('usr: convex_auth_user_id', 'SELECT convex_auth_user_id()') \g /dev/null
SELECT regress_cvxm.try('usr: convex_id_table',
    pg_catalog.format('SELECT convex_id_table(%L)', :'trap_msg')) \g /dev/null
RESET search_path;
RESET ROLE;

-- The owner: ctx.db, ctx.scheduler, ctx.storage.
SET ROLE regress_cvxm_owner;
SET search_path = public, pg_catalog;
SELECT regress_cvxm.try('owner: ctx.db insert',
    $$SELECT convex_db_insert('regress_cvxm_notes', '{"body": "trap"}')$$) AS trap_note \gset
SELECT regress_cvxm.try('owner: ctx.db get',
    pg_catalog.format('SELECT convex_db_get(%L, %L)', 'regress_cvxm_notes', :'trap_note')) \g /dev/null
SELECT regress_cvxm.try('owner: ctx.db patch',
    pg_catalog.format('SELECT convex_db_patch(%L, %L, %L)', 'regress_cvxm_notes', :'trap_note', '{"body": "p"}')) \g /dev/null
SELECT regress_cvxm.try('owner: ctx.db replace',
    pg_catalog.format('SELECT convex_db_replace(%L, %L, %L)', 'regress_cvxm_notes', :'trap_note', '{"body": "r"}')) \g /dev/null
SELECT regress_cvxm.try('owner: ctx.db query',
    $$SELECT count(*) FROM convex_db_query('regress_cvxm_notes', 'by_creation_time', '{}', 'desc', '{"gt": 0}', 5)$$)
    \g /dev/null
SELECT regress_cvxm.try('owner: ctx.db delete',
    pg_catalog.format('SELECT convex_db_delete(%L, %L)', 'regress_cvxm_notes', :'trap_note')) \g /dev/null
SELECT regress_cvxm.try('owner: ctx.scheduler.runAfter',
    $$SELECT convex_scheduler_run_after(86400000, 'regress_cvxm:note', '{"body": "later"}')$$) AS trap_job \gset
SELECT regress_cvxm.try('owner: ctx.scheduler.runAt',
    $$SELECT convex_scheduler_run_at(1e13, 'messages:send', '{"roomId": "trap", "content": "c", "userName": "u"}')$$)
    \g /dev/null
SELECT regress_cvxm.try('owner: ctx.scheduler.cancel',
    pg_catalog.format('SELECT convex_scheduler_cancel(%L)', :'trap_job')) \g /dev/null
SELECT regress_cvxm.try('owner: ctx.storage.generateUploadUrl', 'SELECT convex_storage_generate_upload_url()')
    AS owner_url \gset
SELECT regress_cvxm.try('owner: ctx.storage.delete',
    pg_catalog.format('SELECT convex_storage_delete(convex_storage_upload(%L, %L::bytea) OPERATOR(pg_catalog.->>) %L)',
                      :'owner_url', 'doomed', 'storageId')) \g /dev/null
RESET search_path;
RESET ROLE;

-- The internal role: internal mutations and maintenance.
SET ROLE regress_cvxm_internal;
SET search_path = public, pg_catalog;
SELECT regress_cvxm.try('internal: convex_internal_mutation',
    $$SELECT convex_internal_mutation('regress_cvxm:internalNote', '{}')$$) \g /dev/null
SELECT regress_cvxm.try('internal: convex_mutation (internal path)',
    $$SELECT convex_mutation('presence:cleanup')$$) \g /dev/null
SELECT regress_cvxm.try('internal: presence cleanup', 'SELECT convex_presence_cleanup()') \g /dev/null
SELECT regress_cvxm.try('internal: storage cleanup', 'SELECT convex_storage_cleanup(0)') \g /dev/null
SELECT regress_cvxm.try('internal: scheduler cleanup', 'SELECT convex_scheduler_cleanup(0)') \g /dev/null
RESET search_path;
RESET ROLE;

-- The superuser itself (a look-alike reached here would run as superuser).
SET search_path = public, pg_catalog;
SELECT regress_cvxm.try('su: define_table',
    $$SELECT convex_define_table('regress_cvxm_trapped', '{"n": {"fieldType": {"type": "number"}, "optional": false}}',
                                 '{"by_n": ["n"]}')$$) \g /dev/null
SELECT regress_cvxm.try('su: table_notify',
    $$SELECT convex_table_notify('regress_cvxm_trapped', ARRAY['n'])$$) \g /dev/null
SELECT regress_cvxm.try('su: ctx.db insert (new table)',
    $$SELECT convex_db_insert('regress_cvxm_trapped', '{"n": 1}')$$) \g /dev/null
SELECT regress_cvxm.try('su: define_mutation',
    $$SELECT convex_define_mutation('regress_cvxm:trapped', 'regress_cvxm_app.note(jsonb)',
        '{"type": "object", "value": {"body": {"fieldType": {"type": "string"}, "optional": true}}}',
        '{"type": "string"}')$$) \g /dev/null
SELECT regress_cvxm.try('su: convex_mutation (validated args and result)',
    $$SELECT convex_mutation('regress_cvxm:trapped', '{"body": "v"}')$$) \g /dev/null
SELECT regress_cvxm.try('su: drop_mutation', $$SELECT convex_drop_mutation('regress_cvxm:trapped')$$) \g /dev/null
RESET search_path;

SELECT regress_cvxm.trap_count() AS hits_after_calls \gset

SELECT is(coalesce(s.state || ': ' || s.message, 'ok'), 'ok',
          format('look-alikes in public: %s works', s.step))
  FROM regress_cvxm.steps s ORDER BY s.n;
SELECT is(:hits_after_calls::bigint, 0::bigint,
          'look-alikes in public: no convexlite entry point called one (see the WARNINGs if not)');

-- The look-alikes are live: an unqualified call under that path reaches one.
SET LOCAL client_min_messages = error;
SET ROLE regress_cvxm_user;
SET search_path = public, pg_catalog;
SELECT regress_cvxm.try('control: lower()', 'SELECT lower(''X'')') \g /dev/null
RESET search_path;
RESET ROLE;
RESET client_min_messages;
SELECT cmp_ok(regress_cvxm.trap_count(), '>', :hits_after_calls::bigint,
              'look-alikes in public: the control call (an unqualified lower()) was caught');

------------------------------------------------------------------------
-- Roles in one place: convex_grant_role(role, kind) gives the app's login
-- role, a handler owner and the operator exactly the rights the matrix
-- gives usr (with PUBLIC's default), owner and internal above; and once
-- PUBLIC's EXECUTE is revoked from every function of the extension, each
-- keeps exactly its own set (docs/identity-and-errors.md, "Roles").
------------------------------------------------------------------------
SET LOCAL client_min_messages = warning;
SELECT regress_cvx_tap.ensure_roles('LOGIN', 'regress_cvxm_app_h', 'regress_cvxm_owner_h', 'regress_cvxm_operator_h') \g /dev/null
RESET client_min_messages;
SELECT count(*) FROM convex_grant_role('regress_cvxm_app_h', 'app') \g /dev/null
SELECT count(*) FROM convex_grant_role('regress_cvxm_owner_h', 'handler_owner') \g /dev/null
SELECT count(*) FROM convex_grant_role('regress_cvxm_operator_h', 'operator') \g /dev/null
GRANT SELECT, INSERT, UPDATE, DELETE ON convex.regress_cvxm_notes TO regress_cvxm_owner_h;

SELECT is(has_function_privilege(h.role, f.oid, 'EXECUTE'),
          CASE h.col WHEN 'usr' THEN e.usr WHEN 'owner' THEN e.owner ELSE e.internal END,
          format('convex_grant_role %s: %s as the matrix''s %s', h.kind, e.signature, h.col))
  FROM regress_cvxm.expected_functions e
  JOIN regress_cvxm.ext_functions f USING (signature)
 CROSS JOIN (VALUES ('regress_cvxm_app_h', 'app', 'usr'), ('regress_cvxm_owner_h', 'handler_owner', 'owner'),
                    ('regress_cvxm_operator_h', 'operator', 'internal')) AS h(role, kind, col)
 WHERE e.signature <> 'convex_grant_role(text,text)'
   AND NOT (h.kind = 'operator' AND e.signature = 'convex_conflict_stats_reset()')
 ORDER BY h.kind, e.signature;
SELECT ok(has_function_privilege('regress_cvxm_operator_h', 'convex_conflict_stats_reset()', 'EXECUTE'),
          'convex_grant_role operator: also resets the conflict counters (only su may, in the matrix above)');
SELECT ok(NOT has_function_privilege('public', 'convex_grant_role(text,text)', 'EXECUTE'),
          'convex_grant_role is not open to PUBLIC');
SELECT throws_ok($$SELECT convex_grant_role('regress_cvxm_app_h', 'admin')$$, '22023', NULL,
                 'convex_grant_role: an unknown kind is refused');

-- PUBLIC locked out: each role keeps exactly its own set
DO $$
DECLARE
    f record;
BEGIN
    FOR f IN SELECT oid::regprocedure AS fn FROM regress_cvxm.ext_functions LOOP
        EXECUTE format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', f.fn);
    END LOOP;
END $$;
SELECT set_eq($$SELECT signature FROM regress_cvxm.ext_functions f WHERE has_function_privilege('regress_cvxm_app_h', f.oid, 'EXECUTE')$$,
              $$SELECT signature FROM regress_cvxm.expected_functions WHERE public AND signature NOT LIKE 'convex.%'$$,
              'without PUBLIC: the app role executes exactly the public entry points');
SELECT set_eq($$SELECT signature FROM regress_cvxm.ext_functions f WHERE has_function_privilege('regress_cvxm_owner_h', f.oid, 'EXECUTE')$$,
              $$SELECT signature FROM regress_cvxm.expected_functions WHERE owner AND signature NOT LIKE 'convex.%'$$,
              'without PUBLIC: the handler owner executes the public entry points, ctx.db, ctx.scheduler and ctx.storage');
SELECT set_eq($$SELECT signature FROM regress_cvxm.ext_functions f WHERE has_function_privilege('regress_cvxm_operator_h', f.oid, 'EXECUTE')$$,
              $$SELECT signature FROM regress_cvxm.expected_functions WHERE internal AND NOT public
                UNION SELECT 'convex_conflict_stats()' UNION SELECT 'convex_conflict_stats_reset()'$$,
              'without PUBLIC: the operator executes the internal mutations, the maintenance functions and the conflict counters');
SET LOCAL ROLE regress_cvxm_app_h;
SELECT lives_ok($$SELECT convex_messages_send('{"roomId": "roles", "userName": "app", "content": "hi"}')$$,
                'without PUBLIC: the app role sends a message');
SELECT throws_ok($$SELECT convex_db_insert('regress_cvxm_notes', '{"body": "x"}')$$, '42501', NULL,
                 'without PUBLIC: the app role has no ctx.db');
RESET ROLE;
SET LOCAL ROLE regress_cvxm_user;
SELECT throws_ok($$SELECT convex_messages_send('{"roomId": "roles", "userName": "usr", "content": "hi"}')$$, '42501', NULL,
                 'without PUBLIC: a role not granted with convex_grant_role cannot send');
RESET ROLE;
SET LOCAL ROLE regress_cvxm_owner_h;
SELECT lives_ok($$SELECT convex_db_insert('regress_cvxm_notes', '{"body": "x"}')$$,
                'without PUBLIC: the handler owner writes its table through ctx.db');
RESET ROLE;
SET LOCAL ROLE regress_cvxm_operator_h;
SELECT lives_ok($$SELECT convex_presence_cleanup('{}')$$, 'without PUBLIC: the operator runs presence.cleanup');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_cvxm_owner;
DROP ROLE IF EXISTS regress_cvxm_internal;
DROP ROLE IF EXISTS regress_cvxm_user;
RESET client_min_messages;
