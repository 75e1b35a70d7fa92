-- test/pgtap/search_path.sql: nothing a caller puts on its search_path
-- changes what convexlite's statements mean.
--
-- convexlite writes every name in its SQL with its schema
-- (test/scripts/sql_qualified.sh checks the text) and runs every statement
-- under a pinned search_path of pg_catalog alone (src/plans.c).  Either
-- alone keeps a caller's objects out; this file is what fails when both
-- slip: the pin removed and one name left unqualified.
--
-- The attacker's objects, each counting itself in a sequence (not rolled
-- back by a failing call) and raising a WARNING naming itself:
--   * regress_sp_evil.<r> and pg_temp.<r>: a view with the name and
--     columns of every relation of schema convex (the built-in tables, the
--     catalog tables and an application table); reading one counts, and
--     writing one fails (a view over a join);
--   * regress_sp_evil.<type>: a domain named like each base type convexlite
--     uses (text, jsonb, float8, int4, int8, bool, oid, bytea, numeric,
--     regclass, regprocedure, timestamptz, name) whose CHECK counts;
--   * regress_sp_evil.<op>: a look-alike of every pg_catalog comparison,
--     JSON, containment, pattern, concatenation and arithmetic operator over
--     those types that counts and then gives pg_catalog's answer.
-- Every entry point is then called, as the superuser, twice: under
-- search_path = regress_sp_evil, pg_catalog (pg_temp is searched first for
-- relations and types) and under regress_sp_evil, pg_catalog, pg_temp (the
-- schema's views first).  Each call must succeed and the counter must stay
-- at zero; control statements written without schemas show that every kind
-- of trap is live.
--
-- No pgTAP call while a hostile search_path is in force (pgTAP's own SQL
-- functions would meet the traps): calls go through regress_sp_tools.try,
-- which records the outcome, and the assertions come afterwards.
-- Everything runs in one transaction that is rolled back.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(82);
SET LOCAL client_min_messages = warning;

CREATE SCHEMA regress_sp_tools;
CREATE SCHEMA regress_sp_evil;

-- an application table, a handler and a registered mutation, defined
-- beforehand so that the look-alikes cover their relations too
SELECT convex_define_table('sp_notes', '{"tag": {"fieldType": {"type": "string"}, "optional": false},
                                          "n": {"fieldType": {"type": "number"}, "optional": true}}',
                           '{"by_tag": ["tag"]}') \g /dev/null
CREATE FUNCTION regress_sp_tools.note(args pg_catalog.jsonb) RETURNS pg_catalog.jsonb LANGUAGE plpgsql AS $f$
BEGIN
    RETURN pg_catalog.to_jsonb(convex_db_insert('sp_notes', pg_catalog.jsonb_build_object('tag', 'from a mutation')));
END
$f$;
SELECT convex_define_mutation('sp:note', 'regress_sp_tools.note(jsonb)', '{"type": "any"}') \g /dev/null

------------------------------------------------------------------------
-- The traps
------------------------------------------------------------------------

CREATE SEQUENCE regress_sp_tools.hits;
CREATE FUNCTION regress_sp_tools.hit(what text) RETURNS boolean LANGUAGE plpgsql
    SET search_path = pg_catalog AS $f$
BEGIN
    PERFORM pg_catalog.nextval('regress_sp_tools.hits');
    RAISE WARNING 'look-alike % was used', what;
    RETURN true;
END
$f$;
CREATE FUNCTION regress_sp_tools.hit_count() RETURNS bigint LANGUAGE sql
    AS $f$ SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM regress_sp_tools.hits $f$;

-- views named like every relation of schema convex, in the schema and in pg_temp
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.relname FROM pg_class c
              WHERE c.relnamespace = 'convex'::regnamespace AND c.relkind IN ('r', 'p', 'v')
    LOOP
        EXECUTE format('CREATE VIEW regress_sp_evil.%I AS SELECT r.* FROM (SELECT regress_sp_tools.hit(%L)) g, convex.%I r',
                       r.relname, 'view regress_sp_evil.' || r.relname, r.relname);
        EXECUTE format('CREATE TEMP VIEW %I AS SELECT r.* FROM (SELECT regress_sp_tools.hit(%L)) g, convex.%I r',
                       r.relname, 'view pg_temp.' || r.relname, r.relname);
    END LOOP;
END
$$;

-- domains named like the base types
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['text', 'jsonb', 'float8', 'int4', 'int8', 'bool', 'oid', 'bytea', 'numeric',
                             'regclass', 'regprocedure', 'timestamptz', 'name']
    LOOP
        EXECUTE format('CREATE DOMAIN regress_sp_evil.%I AS pg_catalog.%I CHECK (regress_sp_tools.hit(%L))',
                       t, t, 'type regress_sp_evil.' || t);
    END LOOP;
END
$$;

-- operators named like pg_catalog's over those types
DO $$
DECLARE
    r record;
    n int := 0;
BEGIN
    FOR r IN
        SELECT o.oprname, o.oprleft::regtype AS l, o.oprright::regtype AS rt, o.oprresult::regtype AS res,
               p.proname
          FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode
         WHERE o.oprnamespace = 'pg_catalog'::regnamespace AND o.oprkind = 'b'
           AND o.oprname IN ('=', '<>', '<', '<=', '>', '>=', '->', '->>', '#>', '#>>', '@>', '<@', '?', '?|', '?&',
                             '||', '~~', '~~*', '!~~', '~', '+', '-', '*', '/')
           AND o.oprleft IN ('text'::regtype, 'jsonb'::regtype, 'float8'::regtype, 'int4'::regtype, 'int8'::regtype,
                             'bool'::regtype, 'oid'::regtype, 'bytea'::regtype, 'numeric'::regtype,
                             'text[]'::regtype, 'timestamptz'::regtype, 'name'::regtype)
           AND o.oprright IN ('text'::regtype, 'jsonb'::regtype, 'float8'::regtype, 'int4'::regtype, 'int8'::regtype,
                              'bool'::regtype, 'oid'::regtype, 'bytea'::regtype, 'numeric'::regtype,
                              'text[]'::regtype, 'timestamptz'::regtype, 'name'::regtype)
    LOOP
        n := n + 1;
        EXECUTE format('CREATE FUNCTION regress_sp_evil.op_%s(a %s, b %s) RETURNS %s LANGUAGE plpgsql AS %L',
                       n, r.l, r.rt, r.res,
                       format('BEGIN PERFORM regress_sp_tools.hit(%L); RETURN pg_catalog.%I(a, b); END',
                              format('operator regress_sp_evil.%s (%s, %s)', r.oprname, r.l, r.rt), r.proname));
        EXECUTE format('CREATE OPERATOR regress_sp_evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = regress_sp_evil.op_%s)',
                       r.oprname, r.l, r.rt, n);
    END LOOP;
END
$$;
RESET client_min_messages;

SELECT cmp_ok((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'regress_sp_evil'::regnamespace AND relkind = 'v'),
              '>=', 10, 'a look-alike view for each relation of schema convex (tables, catalog, sp_notes)');
SELECT cmp_ok((SELECT count(*)::int FROM pg_operator WHERE oprnamespace = 'regress_sp_evil'::regnamespace),
              '>', 100, '... over a hundred look-alike operators');

-- Run one statement, recording its outcome (a failure is recorded, not raised).
-- Types are qualified and no operator is used: this runs under the hostile paths.
-- With refused_with, the statement must fail with that SQLSTATE (a refusal
-- path, e.g. a used upload URL, runs statements of its own).
CREATE TABLE regress_sp_tools.steps (n serial PRIMARY KEY, step text, state text, message text, result text);
CREATE FUNCTION regress_sp_tools.try(label pg_catalog.text, what pg_catalog.text, q pg_catalog.text,
                                     refused_with pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text LANGUAGE plpgsql AS $f$
DECLARE
    r pg_catalog.text;
    step pg_catalog.text := pg_catalog.concat(label, ': ', what);
BEGIN
    EXECUTE q INTO r;
    IF refused_with IS NOT NULL THEN
        INSERT INTO regress_sp_tools.steps (step, state, message)
        VALUES (step, 'none', pg_catalog.concat('succeeded, expected SQLSTATE ', refused_with));
        RETURN NULL;
    END IF;
    INSERT INTO regress_sp_tools.steps (step, result) VALUES (step, r);
    RETURN r;
EXCEPTION WHEN OTHERS THEN
    IF SQLSTATE OPERATOR(pg_catalog.=) refused_with THEN
        INSERT INTO regress_sp_tools.steps (step, result) VALUES (step, SQLSTATE);
    ELSE
        INSERT INTO regress_sp_tools.steps (step, state, message) VALUES (step, SQLSTATE, SQLERRM);
    END IF;
    RETURN NULL;
END
$f$;

SELECT convex_db_insert('users', '{"name": "Sp"}') AS sp_user \gset

------------------------------------------------------------------------
-- The calls, under each hostile path
------------------------------------------------------------------------

\set sp_path 'regress_sp_evil, pg_catalog, public'
\set sp_label 'temp first'
\ir lib/search_path_calls.sql
\set sp_path 'regress_sp_evil, pg_catalog, pg_temp, public'
\set sp_label 'schema first'
\ir lib/search_path_calls.sql

SELECT regress_sp_tools.hit_count() AS hits_after_calls \gset

SELECT is(coalesce(s.state || ': ' || s.message, 'ok'), 'ok', format('hostile search_path: %s works', s.step))
  FROM regress_sp_tools.steps s ORDER BY s.n;
SELECT is(:hits_after_calls::bigint, 0::bigint,
          'hostile search_path: no convexlite entry point used a look-alike (see the WARNINGs if not)');

-- what the calls did is in schema convex
SELECT is((SELECT count(*)::int FROM convex.messages WHERE room_id = 'sp'), 2,
          'the messages sent (one kept per path) are in convex.messages');
SELECT is((SELECT count(*)::int FROM convex.sp_notes WHERE tag = 'from a mutation'), 2,
          'the registered mutation wrote to convex.sp_notes');
SELECT is((SELECT name FROM convex.users WHERE _id = :'sp_user'), 'Sp schema first',
          'users.updateProfile updated convex.users');

-- The traps are live: each kind is reached by a statement without schemas.
SET LOCAL client_min_messages = error;
SET search_path = regress_sp_evil, pg_catalog;
SELECT regress_sp_tools.try('control', 'a relation', 'SELECT count(*)::pg_catalog.text FROM messages') \g /dev/null
RESET search_path;
SELECT regress_sp_tools.hit_count() AS hits_relation \gset
SET search_path = regress_sp_evil, pg_catalog;
SELECT regress_sp_tools.try('control', 'a type', 'SELECT ''x''::text') \g /dev/null
RESET search_path;
SELECT regress_sp_tools.hit_count() AS hits_type \gset
SET search_path = regress_sp_evil, pg_catalog;
SELECT regress_sp_tools.try('control', 'an operator', 'SELECT (pg_catalog.now() > pg_catalog.now())::pg_catalog.text') \g /dev/null
RESET search_path;
SELECT regress_sp_tools.hit_count() AS hits_operator \gset
SET search_path = regress_sp_evil, pg_catalog, pg_temp;
SELECT regress_sp_tools.try('control', 'a relation (schema first)', 'SELECT count(*)::pg_catalog.text FROM _tables') \g /dev/null
RESET search_path;
SELECT regress_sp_tools.hit_count() AS hits_schema_relation \gset
RESET client_min_messages;

SELECT cmp_ok(:hits_relation::bigint, '>', :hits_after_calls::bigint,
              'control: an unqualified relation reaches the look-alike view');
SELECT cmp_ok(:hits_type::bigint, '>', :hits_relation::bigint,
              'control: an unqualified type reaches the look-alike domain');
SELECT cmp_ok(:hits_operator::bigint, '>', :hits_type::bigint,
              'control: an unqualified operator reaches the look-alike operator');
SELECT cmp_ok(:hits_schema_relation::bigint, '>', :hits_operator::bigint,
              'control: with pg_temp last, the schema''s view is reached');

SELECT * FROM finish();
ROLLBACK;
