-- test/pgtap/limits.sql: the per-call limits of a mutation (SPEC §8, §9).
--
-- Each limit is shown at the last allowed and the first refused value, with
-- SQLSTATE 54000, Convex's wording, and that nothing the refused call wrote
-- remains (its earlier writes included).  pgTAP's throws_* run the statement
-- in a subtransaction, so the tables are checked right after each refusal.
--
-- The limits are settings (PGC_SUSET); this file runs as a superuser and
-- lowers them with SET LOCAL to small numbers to stay fast.  A budget belongs
-- to the outermost convex_mutation call and is shared by nested calls
-- (ctx.runMutation); ctx.db calls made outside convex_mutation are not
-- counted, except for the document size and value rules, which hold for
-- every write.
--
-- convexlite.max_functions_scheduled counts the jobs one outermost call
-- schedules (ctx.scheduler.runAfter / runAt); the jobs scheduled here are
-- never committed, so the scheduler's worker never sees them.  That a job
-- the scheduler runs gets a budget of its own is in test/pgtap/scheduler.sql.
--
-- Not tested here:
--   * time spent waiting for a row lock does not count toward
--     convexlite.mutation_timeout, and a query refused by the read limit does
--     not fetch (and so does not wait for) rows beyond the budget: both need
--     two sessions, see test/scripts/timeout_lock_wait.sh.
--
-- Run with pg_prove as a superuser against a database where convexlite can be
-- (re)installed.  Everything below runs in one transaction that is rolled back.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(135);
SET LOCAL client_min_messages = warning;
-- what an aborted file may have left must not break this one (rolled back: left as found)
DROP SCHEMA IF EXISTS regress_cvx_tap CASCADE;
RESET client_min_messages;

SET LOCAL client_min_messages = warning;
CREATE SCHEMA regress_cvx_tap;
\ir lib/roles.sql
SELECT regress_cvx_tap.ensure_roles('', 'regress_convexlite_limits') \g /dev/null

------------------------------------------------------------------------
-- Tables and handlers
------------------------------------------------------------------------

-- lim_docs: the documents the read tests read (five of equal size, never
-- written by a test); lim_w: what the write tests write; lim_marks: a
-- handler's marker, written first, to show that a refused call's earlier
-- writes are gone; lim_any: v.any() values for the value rules.
SELECT convex_define_table('lim_docs', '{"s": {"fieldType": {"type": "string"}, "optional": false}}') \g /dev/null
SELECT convex_define_table('lim_w', '{"s": {"fieldType": {"type": "string"}, "optional": false}}') \g /dev/null
SELECT convex_define_table('lim_marks', '{"tag": {"fieldType": {"type": "string"}, "optional": false}}') \g /dev/null
SELECT convex_define_table('lim_any', '{"v": {"fieldType": {"type": "any"}, "optional": true}}') \g /dev/null

-- Is there a marker with this tag?
CREATE FUNCTION regress_cvx_tap.marked(tag text) RETURNS boolean LANGUAGE sql
    AS $f$ SELECT EXISTS (SELECT 1 FROM convex.lim_marks m WHERE m.tag = marked.tag) $f$;

-- Write args.mark (if any) as a marker
CREATE FUNCTION regress_cvx_tap.mark(args jsonb) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    IF args ? 'mark' THEN
        PERFORM convex_db_insert('lim_marks', jsonb_build_object('tag', args->>'mark'));
    END IF;
END
$f$;

-- lim:insert {s, n = 1}: insert n documents {s} into lim_w; returns n
CREATE FUNCTION regress_cvx_tap.h_insert(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
    n int := coalesce((args->>'n')::int, 1);
BEGIN
    FOR i IN 1 .. n LOOP
        PERFORM convex_db_insert('lim_w', jsonb_build_object('s', args->>'s'));
    END LOOP;
    RETURN to_jsonb(n);
END
$f$;

-- lim:get {ids, mark?}: mark, then ctx.db.get each id of lim_docs; returns how many exist
CREATE FUNCTION regress_cvx_tap.h_get(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
    found int := 0;
    id text;
BEGIN
    PERFORM regress_cvx_tap.mark(args);
    FOR id IN SELECT jsonb_array_elements_text(coalesce(args->'ids', '[]')) LOOP
        IF convex_db_get('lim_docs', id) IS NOT NULL THEN
            found := found + 1;
        END IF;
    END LOOP;
    RETURN to_jsonb(found);
END
$f$;

-- lim:query {take?, mark?}: mark, then query lim_docs (.take(take)); returns the count
CREATE FUNCTION regress_cvx_tap.h_query(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM regress_cvx_tap.mark(args);
    RETURN to_jsonb((SELECT count(*) FROM convex_db_query('lim_docs', max_rows => (args->>'take')::int)));
END
$f$;

-- lim:patch {ids, s, mark?}: mark, then patch each id of lim_w with {s}; returns the count
CREATE FUNCTION regress_cvx_tap.h_patch(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
    n int := 0;
    id text;
BEGIN
    PERFORM regress_cvx_tap.mark(args);
    FOR id IN SELECT jsonb_array_elements_text(args->'ids') LOOP
        PERFORM convex_db_patch('lim_w', id, jsonb_build_object('s', args->>'s'));
        n := n + 1;
    END LOOP;
    RETURN to_jsonb(n);
END
$f$;

-- lim:mixed {id, s}: one write of each kind on lim_w: patch id, replace id,
-- insert a document, delete it (4 writes)
CREATE FUNCTION regress_cvx_tap.h_mixed(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
    tmp text;
BEGIN
    PERFORM convex_db_patch('lim_w', args->>'id', jsonb_build_object('s', (args->>'s') || ' patched'));
    PERFORM convex_db_replace('lim_w', args->>'id', jsonb_build_object('s', (args->>'s') || ' replaced'));
    tmp := convex_db_insert('lim_w', jsonb_build_object('s', (args->>'s') || ' inserted'));
    PERFORM convex_db_delete('lim_w', tmp);
    RETURN NULL;
END
$f$;

-- lim:nest {ids?, n?, s?, mark?, inner?: {path, args, pad?}}: mark, get each
-- id of lim_docs, insert n documents {s} into lim_w, then
-- ctx.runMutation(inner.path, inner.args), with {"value": <pad bytes>} added
-- to inner.args when pad is given
CREATE FUNCTION regress_cvx_tap.h_nest(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
    id text;
    inner_args jsonb := coalesce(args->'inner'->'args', '{}');
BEGIN
    PERFORM regress_cvx_tap.mark(args);
    FOR id IN SELECT jsonb_array_elements_text(coalesce(args->'ids', '[]')) LOOP
        PERFORM convex_db_get('lim_docs', id);
    END LOOP;
    FOR i IN 1 .. coalesce((args->>'n')::int, 0) LOOP
        PERFORM convex_db_insert('lim_w', jsonb_build_object('s', args->>'s'));
    END LOOP;
    IF args->'inner' ? 'pad' THEN
        inner_args := inner_args || jsonb_build_object('value', repeat('a', (args->'inner'->>'pad')::int));
    END IF;
    IF args ? 'inner' THEN
        RETURN convex_mutation(args->'inner'->>'path', inner_args);
    END IF;
    RETURN NULL;
END
$f$;

-- lim:echo {value?, mark?}: mark, then return value (null when absent)
CREATE FUNCTION regress_cvx_tap.h_echo(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM regress_cvx_tap.mark(args);
    RETURN args->'value';
END
$f$;

-- Values for the value rules: levels nested arrays ([[…]]), an object of
-- fields fields, an array of elements numbers
CREATE FUNCTION regress_cvx_tap.nested_arrays(levels int) RETURNS jsonb LANGUAGE sql
    AS $f$ SELECT (repeat('[', levels) || repeat(']', levels))::jsonb $f$;
CREATE FUNCTION regress_cvx_tap.object_of(fields int) RETURNS jsonb LANGUAGE sql
    AS $f$ SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, fields) AS g $f$;
CREATE FUNCTION regress_cvx_tap.array_of(elements int) RETURNS jsonb LANGUAGE sql
    AS $f$ SELECT jsonb_agg(g) FROM generate_series(1, elements) AS g $f$;

-- lim:anyInsert {nest | fields | elements, mark?}: mark, then insert {v} into
-- lim_any, v being nested_arrays(nest), object_of(fields) or
-- array_of(elements) (built here: as arguments they would meet the
-- arguments' rules first)
CREATE FUNCTION regress_cvx_tap.h_any_insert(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM regress_cvx_tap.mark(args);
    RETURN to_jsonb(convex_db_insert('lim_any', jsonb_build_object('v',
        CASE WHEN args ? 'nest' THEN regress_cvx_tap.nested_arrays((args->>'nest')::int)
             WHEN args ? 'fields' THEN regress_cvx_tap.object_of((args->>'fields')::int)
             ELSE regress_cvx_tap.array_of((args->>'elements')::int) END)));
END
$f$;

-- lim:sleep {sec, mark?}: mark, then pg_sleep(sec)
CREATE FUNCTION regress_cvx_tap.h_sleep(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM regress_cvx_tap.mark(args);
    PERFORM pg_sleep((args->>'sec')::float8);
    RETURN '"slept"';
END
$f$;

-- lim:busy {ms, mark?}: mark, then spin on the CPU for ms milliseconds
CREATE FUNCTION regress_cvx_tap.h_busy(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
    t0 timestamptz := clock_timestamp();
    spins bigint := 0;
BEGIN
    PERFORM regress_cvx_tap.mark(args);
    WHILE clock_timestamp() < t0 + make_interval(secs => (args->>'ms')::float8 / 1000) LOOP
        spins := spins + 1;
    END LOOP;
    RETURN to_jsonb(spins);
END
$f$;

-- lim:sleepCatching {sec, mark?}: pg_sleep(sec), catching the cancellation
-- the time limit causes, then mark and return normally
CREATE FUNCTION regress_cvx_tap.h_sleep_catching(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    BEGIN
        PERFORM pg_sleep((args->>'sec')::float8);
    EXCEPTION WHEN query_canceled THEN
        NULL;
    END;
    PERFORM regress_cvx_tap.mark(args);
    RETURN '"caught"';
END
$f$;

-- lim:deep {level, s}: insert {s} into lim_w, then call lim:deep one level
-- deeper, down to level 0
CREATE FUNCTION regress_cvx_tap.h_deep(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM convex_db_insert('lim_w', jsonb_build_object('s', args->>'s'));
    IF (args->>'level')::int > 0 THEN
        RETURN convex_mutation('lim:deep', jsonb_build_object('level', (args->>'level')::int - 1, 's', args->>'s'));
    END IF;
    RETURN '"bottom"';
END
$f$;

-- lim:schedule {n, tag, mark?, inner?}: mark, then schedule n jobs
-- (lim:echo {value: tag}, due in an hour), then, when inner is given,
-- ctx.runMutation(lim:schedule, {n: inner, tag}); returns how many this
-- call and its nested one scheduled
CREATE FUNCTION regress_cvx_tap.h_schedule(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
    n int := (args->>'n')::int;
BEGIN
    PERFORM regress_cvx_tap.mark(args);
    FOR i IN 1 .. n LOOP
        PERFORM convex_scheduler_run_after(3600000, 'lim:echo', jsonb_build_object('value', args->'tag'));
    END LOOP;
    IF args ? 'inner' THEN
        n := n + convex_mutation('lim:schedule', jsonb_build_object('n', args->'inner', 'tag', args->'tag'))::int;
    END IF;
    RETURN to_jsonb(n);
END
$f$;

SELECT convex_define_mutation(path, handler, '{"type": "any"}')
  FROM (VALUES ('lim:schedule', 'regress_cvx_tap.h_schedule(jsonb)'::regprocedure),
               ('lim:insert', 'regress_cvx_tap.h_insert(jsonb)'),
               ('lim:get', 'regress_cvx_tap.h_get(jsonb)'),
               ('lim:query', 'regress_cvx_tap.h_query(jsonb)'),
               ('lim:patch', 'regress_cvx_tap.h_patch(jsonb)'),
               ('lim:mixed', 'regress_cvx_tap.h_mixed(jsonb)'),
               ('lim:nest', 'regress_cvx_tap.h_nest(jsonb)'),
               ('lim:echo', 'regress_cvx_tap.h_echo(jsonb)'),
               ('lim:anyInsert', 'regress_cvx_tap.h_any_insert(jsonb)'),
               ('lim:sleep', 'regress_cvx_tap.h_sleep(jsonb)'),
               ('lim:busy', 'regress_cvx_tap.h_busy(jsonb)'),
               ('lim:sleepCatching', 'regress_cvx_tap.h_sleep_catching(jsonb)'),
               ('lim:deep', 'regress_cvx_tap.h_deep(jsonb)')) AS m(path, handler)
\g /dev/null

-- SQL that runs a mutation: SELECT convex_mutation(path, args)
CREATE FUNCTION regress_cvx_tap.call(path text, args jsonb) RETURNS text LANGUAGE sql
    AS $f$ SELECT format('SELECT convex_mutation(%L, %L::jsonb)', path, args) $f$;

-- The smallest value of a limit setting in (lo, hi] under which query
-- succeeds (query must fail at lo and pass at hi), found by bisection; each
-- try is undone, and an error other than 54000 is raised.  For byte counts
-- whose exact value is PostgreSQL's business (a row's stored size).
CREATE FUNCTION regress_cvx_tap.smallest_passing(setting text, query text, lo int, hi int)
RETURNS int LANGUAGE plpgsql AS $f$
DECLARE
    mid int;
    passed boolean;
BEGIN
    -- invariant: lo fails, hi passes
    WHILE hi - lo > 1 LOOP
        mid := lo + (hi - lo) / 2;
        passed := false;
        BEGIN
            PERFORM set_config(setting, mid::text, true);
            EXECUTE query;
            passed := true;
            RAISE EXCEPTION 'undo this try';
        EXCEPTION WHEN OTHERS THEN
            IF NOT passed AND SQLSTATE <> '54000' THEN
                RAISE;
            END IF;
        END;
        IF passed THEN
            hi := mid;
        ELSE
            lo := mid;
        END IF;
    END LOOP;
    RETURN hi;
END
$f$;

-- The five documents the read tests read (written outside any mutation
-- under limits of one: not counted), and the id of a deleted document.
SET LOCAL convexlite.max_documents_written = 1;
SET LOCAL convexlite.max_bytes_written = 1;
SELECT (array_agg(id ORDER BY g))[1] AS r1, (array_agg(id ORDER BY g))[2] AS r2,
       (array_agg(id ORDER BY g))[3] AS r3, (array_agg(id ORDER BY g))[4] AS r4,
       (array_agg(id ORDER BY g))[5] AS r5
  FROM (SELECT g, convex_db_insert('lim_docs', jsonb_build_object('s', 'r' || g || repeat('y', 200))) AS id
          FROM generate_series(1, 5) AS g) AS s \gset
SELECT convex_db_insert('lim_docs', '{"s": "deleted"}') AS gone \gset
SELECT convex_db_delete('lim_docs', :'gone') \g /dev/null
RESET convexlite.max_documents_written;
RESET convexlite.max_bytes_written;

\set help 'Consider using smaller limits in your queries, paginating your queries, or using indexed queries with a selective index range expressions.'

------------------------------------------------------------------------
-- 1. The settings: Convex's defaults, superuser-only
------------------------------------------------------------------------

CREATE TEMP VIEW limit_settings AS
SELECT * FROM pg_settings
 WHERE name IN ('convexlite.max_documents_read', 'convexlite.max_documents_written',
                'convexlite.max_bytes_read', 'convexlite.max_bytes_written',
                'convexlite.max_args_size', 'convexlite.max_return_size',
                'convexlite.max_document_size', 'convexlite.mutation_timeout',
                'convexlite.max_functions_scheduled');

SELECT is(ARRAY(SELECT name || '=' || boot_val || coalesce(unit, '') FROM limit_settings ORDER BY name),
          ARRAY['convexlite.max_args_size=8388608B', 'convexlite.max_bytes_read=8388608B',
                'convexlite.max_bytes_written=8388608B', 'convexlite.max_document_size=1048576B',
                'convexlite.max_documents_read=16384', 'convexlite.max_documents_written=8192',
                'convexlite.max_functions_scheduled=1000', 'convexlite.max_return_size=8388608B',
                'convexlite.mutation_timeout=1000ms'],
          'the limit settings and their defaults are seed 001''s (SPEC §8)');
SELECT is(ARRAY(SELECT DISTINCT context FROM limit_settings),
          ARRAY['superuser'], 'every limit setting is superuser-only (PGC_SUSET)');

SET LOCAL ROLE regress_convexlite_limits;
SELECT throws_ok(format('SET convexlite.%s = %s', name, value), '42501',
                 format('permission denied to set parameter "convexlite.%s"', name),
                 format('an ordinary role cannot SET convexlite.%s', name))
  FROM (VALUES ('max_documents_read', '100000'), ('max_documents_written', '100000'),
               ('max_bytes_read', '100000000'), ('max_bytes_written', '100000000'),
               ('max_args_size', '100000000'), ('max_return_size', '100000000'),
               ('max_document_size', '100000000'), ('mutation_timeout', '0'),
               ('max_functions_scheduled', '100000')) AS s(name, value);
SELECT throws_ok($$SELECT set_config('convexlite.max_documents_written', '100000', true)$$, '42501', NULL,
                 'an ordinary role cannot raise a limit with set_config either');
RESET ROLE;

------------------------------------------------------------------------
-- 2. Documents written: convexlite.max_documents_written
------------------------------------------------------------------------

SET LOCAL convexlite.max_documents_written = 3;

SELECT is(convex_mutation('lim:insert', '{"n": 3, "s": "w3"}'), '3'::jsonb,
          'documents written: 3 inserts pass at a limit of 3');
SELECT is((SELECT count(*)::int FROM convex.lim_w WHERE s = 'w3'), 3,
          'documents written: the 3 documents are there');
SELECT throws_ok(regress_cvx_tap.call('lim:insert', '{"n": 4, "s": "w4"}'), '54000',
                 'Too many writes in a single function execution (limit: 3)',
                 'documents written: the 4th insert fails the call (54000, Convex''s wording)');
SELECT is((SELECT count(*)::int FROM convex.lim_w WHERE s = 'w4'), 0,
          'documents written: none of the refused call''s documents remain, the first 3 included');

-- Every kind of write counts: patch, replace, insert, delete.
SELECT convex_db_insert('lim_w', '{"s": "mixed"}') AS mixed_id \gset
SET LOCAL convexlite.max_documents_written = 4;
SELECT is(convex_mutation('lim:mixed', jsonb_build_object('id', :'mixed_id', 's', 'm4')), 'null'::jsonb,
          'documents written: patch + replace + insert + delete pass at a limit of 4');
SELECT is((SELECT s FROM convex.lim_w WHERE _id = :'mixed_id'), 'm4 replaced',
          'documents written: ... and were written');
SET LOCAL convexlite.max_documents_written = 3;
SELECT throws_ok(regress_cvx_tap.call('lim:mixed', jsonb_build_object('id', :'mixed_id', 's', 'm3')), '54000',
                 'Too many writes in a single function execution (limit: 3)',
                 'documents written: at a limit of 3 the delete (4th write) fails the call');
SELECT is((SELECT s FROM convex.lim_w WHERE _id = :'mixed_id') || ' / ' ||
          (SELECT count(*) FROM convex.lim_w WHERE s LIKE 'm3%'),
          'm4 replaced / 0', 'documents written: the refused call''s patch, replace and insert are undone');

-- Nested calls (ctx.runMutation) spend the outermost call's budget.
SELECT is(convex_mutation('lim:nest', '{"n": 2, "s": "nest-ok", "inner": {"path": "lim:insert", "args": {"n": 1, "s": "nest-ok"}}}'),
          '1'::jsonb, 'documents written: 2 in a call + 1 in its nested call pass at a limit of 3');
SELECT is((SELECT count(*)::int FROM convex.lim_w WHERE s = 'nest-ok'), 3,
          'documents written: ... and all 3 are there');
SELECT throws_ok(regress_cvx_tap.call('lim:nest', '{"n": 2, "s": "nest-no", "inner": {"path": "lim:insert", "args": {"n": 2, "s": "nest-no"}}}'),
                 '54000', 'Too many writes in a single function execution (limit: 3)',
                 'documents written: 2 in a call + 2 in its nested call fail at a limit of 3 (one shared budget)');
SELECT is((SELECT count(*)::int FROM convex.lim_w WHERE s = 'nest-no'), 0,
          'documents written: neither the outer nor the nested call''s documents remain');

-- Each outermost call has its own budget.
SELECT is(convex_mutation('lim:insert', '{"n": 3, "s": "twice"}')::int
          + convex_mutation('lim:insert', '{"n": 3, "s": "twice"}')::int, 6,
          'documents written: two top-level calls in one statement each get a budget of 3');

-- Outside convex_mutation, ctx.db writes are not counted.
SET LOCAL convexlite.max_documents_written = 1;
SELECT is((SELECT count(convex_db_insert('lim_w', '{"s": "outside"}'))::int FROM generate_series(1, 5)), 5,
          'documents written: 5 convex_db_insert outside a mutation pass at a limit of 1 (not counted)');
SELECT is((SELECT count(convex_db_delete('lim_w', _id))::int
             FROM (SELECT _id FROM convex.lim_w WHERE s = 'outside') AS o), 5,
          'documents written: 5 convex_db_delete outside a mutation pass at a limit of 1');
RESET convexlite.max_documents_written;

------------------------------------------------------------------------
-- 3. Documents read: convexlite.max_documents_read
------------------------------------------------------------------------

SET LOCAL convexlite.max_documents_read = 3;

SELECT is(convex_mutation('lim:get', jsonb_build_object('ids', jsonb_build_array(:'r1', :'r2', :'r3'), 'mark', 'get3')),
          '3'::jsonb, 'documents read: 3 gets pass at a limit of 3');
SELECT ok(regress_cvx_tap.marked('get3'), 'documents read: ... and the call''s write is there');
SELECT throws_ok(regress_cvx_tap.call('lim:get', jsonb_build_object('ids', jsonb_build_array(:'r1', :'r2', :'r3', :'r4'), 'mark', 'get4')),
                 '54000', 'Too many documents read in a single function execution (limit: 3). ' || :'help',
                 'documents read: the 4th get fails the call (54000, Convex''s wording)');
SELECT ok(NOT regress_cvx_tap.marked('get4'), 'documents read: the refused call''s earlier write is gone');
SELECT is(convex_mutation('lim:get', jsonb_build_object('ids', jsonb_build_array(:'r1', :'gone', :'r2', :'r3'))),
          '3'::jsonb, 'documents read: a get of a missing document reads nothing (3 found + 1 missing pass at 3)');

-- Queries count the documents they return.
SELECT is(convex_mutation('lim:query', '{"take": 3, "mark": "q-take3"}'), '3'::jsonb,
          'documents read: a query taking 3 of 5 documents passes at a limit of 3');
SELECT throws_ok(regress_cvx_tap.call('lim:query', '{"take": 4, "mark": "q-take4"}'), '54000',
                 'Too many documents read in a single function execution (limit: 3). ' || :'help',
                 'documents read: a query taking 4 fails at a limit of 3');
SELECT throws_ok(regress_cvx_tap.call('lim:query', '{"mark": "q-all"}'), '54000',
                 'Too many documents read in a single function execution (limit: 3). ' || :'help',
                 'documents read: a query without take over 5 documents fails at a limit of 3');
SELECT ok(NOT regress_cvx_tap.marked('q-take4') AND NOT regress_cvx_tap.marked('q-all'),
          'documents read: the refused queries'' calls wrote nothing');
SET LOCAL convexlite.max_documents_read = 5;
SELECT is(convex_mutation('lim:query', '{"mark": "q-all5"}'), '5'::jsonb,
          'documents read: a query over all 5 documents passes at a limit of 5');
SET LOCAL convexlite.max_documents_read = 4;
SELECT throws_ok(regress_cvx_tap.call('lim:query', '{"mark": "q-all4"}'), '54000',
                 'Too many documents read in a single function execution (limit: 4). ' || :'help',
                 'documents read: ... and fails at a limit of 4');

-- A patch reads the stored document: that read counts.
SELECT convex_db_insert('lim_w', '{"s": "p"}') AS p1, convex_db_insert('lim_w', '{"s": "p"}') AS p2,
       convex_db_insert('lim_w', '{"s": "p"}') AS p3 \gset
SET LOCAL convexlite.max_documents_read = 2;
SELECT is(convex_mutation('lim:patch', jsonb_build_object('ids', jsonb_build_array(:'p1', :'p2'), 's', 'patched2')),
          '2'::jsonb, 'documents read: 2 patches (each reading its document) pass at a limit of 2');
SELECT throws_ok(regress_cvx_tap.call('lim:patch', jsonb_build_object('ids', jsonb_build_array(:'p1', :'p2', :'p3'), 's', 'patched3')),
                 '54000', 'Too many documents read in a single function execution (limit: 2). ' || :'help',
                 'documents read: the 3rd patch''s read fails the call at a limit of 2');
SELECT is((SELECT string_agg(s, ',' ORDER BY s) FROM convex.lim_w WHERE _id IN (:'p1', :'p2', :'p3')),
          'p,patched2,patched2', 'documents read: the refused call''s first 2 patches are undone');

-- Nested calls share the budget.
SET LOCAL convexlite.max_documents_read = 3;
SELECT is(convex_mutation('lim:nest', jsonb_build_object('ids', jsonb_build_array(:'r1', :'r2'),
                          'inner', jsonb_build_object('path', 'lim:get', 'args', jsonb_build_object('ids', jsonb_build_array(:'r3'))))),
          '1'::jsonb, 'documents read: 2 gets in a call + 1 in its nested call pass at a limit of 3');
SELECT throws_ok(regress_cvx_tap.call('lim:nest', jsonb_build_object('ids', jsonb_build_array(:'r1', :'r2'), 'mark', 'nest-read',
                          'inner', jsonb_build_object('path', 'lim:get', 'args', jsonb_build_object('ids', jsonb_build_array(:'r3', :'r4'))))),
                 '54000', 'Too many documents read in a single function execution (limit: 3). ' || :'help',
                 'documents read: 2 gets in a call + 2 in its nested call fail at a limit of 3');
SELECT ok(NOT regress_cvx_tap.marked('nest-read'), 'documents read: ... and the outer call''s write is gone');

-- Outside convex_mutation, reads are not counted.
SET LOCAL convexlite.max_documents_read = 1;
SELECT is((SELECT count(convex_db_get('lim_docs', id))::int FROM unnest(ARRAY[:'r1', :'r2', :'r3', :'r4', :'r5']) AS id),
          5, 'documents read: 5 convex_db_get outside a mutation pass at a limit of 1 (not counted)');
SELECT is((SELECT count(*)::int FROM convex_db_query('lim_docs')), 5,
          'documents read: a query of 5 documents outside a mutation passes at a limit of 1');
RESET convexlite.max_documents_read;

------------------------------------------------------------------------
-- 4. Bytes read: convexlite.max_bytes_read (the raw size of a document's values)
------------------------------------------------------------------------

-- The five documents are stored as rows of one size; find it as the smallest
-- limit under which a call reading one of them passes.
SELECT regress_cvx_tap.smallest_passing('convexlite.max_bytes_read',
           regress_cvx_tap.call('lim:get', jsonb_build_object('ids', jsonb_build_array(:'r1'))), 0, 100000)
       AS row_bytes \gset
SELECT is(:row_bytes, octet_length(:'r1') + 8 + octet_length('r1' || repeat('y', 200)),
          'bytes read: a document counts the raw size of its stored values (_id, _creationTime, fields), as a write does');

SELECT set_config('convexlite.max_bytes_read', (3 * :row_bytes)::text, true) \g /dev/null
SELECT is(convex_mutation('lim:get', jsonb_build_object('ids', jsonb_build_array(:'r1', :'r2', :'r3'), 'mark', 'bytes-get3')),
          '3'::jsonb, 'bytes read: 3 gets pass at a limit of 3 rows'' bytes');
SELECT ok(regress_cvx_tap.marked('bytes-get3'), 'bytes read: ... and the call''s write is there');
SELECT set_config('convexlite.max_bytes_read', (3 * :row_bytes - 1)::text, true) \g /dev/null
SELECT throws_ok(regress_cvx_tap.call('lim:get', jsonb_build_object('ids', jsonb_build_array(:'r1', :'r2', :'r3'), 'mark', 'bytes-get3b')),
                 '54000', format('Too many bytes read in a single function execution (limit: %s bytes). ', 3 * :row_bytes - 1) || :'help',
                 'bytes read: 3 gets fail at one byte less (54000, Convex''s wording)');
SELECT ok(NOT regress_cvx_tap.marked('bytes-get3b'), 'bytes read: the refused call''s earlier write is gone');

SELECT set_config('convexlite.max_bytes_read', (5 * :row_bytes)::text, true) \g /dev/null
SELECT is(convex_mutation('lim:query', '{}'), '5'::jsonb, 'bytes read: a query of 5 documents passes at 5 rows'' bytes');
SELECT is(convex_mutation('lim:nest', jsonb_build_object('ids', jsonb_build_array(:'r1', :'r2'),
                          'inner', jsonb_build_object('path', 'lim:query', 'args', '{"take": 3}'::jsonb))),
          '3'::jsonb, 'bytes read: 2 gets + a nested query of 3 pass at 5 rows'' bytes');
SELECT set_config('convexlite.max_bytes_read', (5 * :row_bytes - 1)::text, true) \g /dev/null
SELECT throws_ok(regress_cvx_tap.call('lim:query', '{"mark": "bytes-q"}'), '54000',
                 format('Too many bytes read in a single function execution (limit: %s bytes). ', 5 * :row_bytes - 1) || :'help',
                 'bytes read: the query of 5 fails at one byte less');
SELECT throws_ok(regress_cvx_tap.call('lim:nest', jsonb_build_object('ids', jsonb_build_array(:'r1', :'r2'), 'mark', 'bytes-nest',
                          'inner', jsonb_build_object('path', 'lim:query', 'args', '{"take": 3}'::jsonb))),
                 '54000', format('Too many bytes read in a single function execution (limit: %s bytes). ', 5 * :row_bytes - 1) || :'help',
                 'bytes read: 2 gets + a nested query of 3 fail at one byte less (one shared budget)');
SELECT ok(NOT regress_cvx_tap.marked('bytes-q') AND NOT regress_cvx_tap.marked('bytes-nest'),
          'bytes read: the refused calls wrote nothing');

SET LOCAL convexlite.max_bytes_read = 1;
SELECT is((SELECT count(convex_db_get('lim_docs', id))::int FROM unnest(ARRAY[:'r1', :'r2', :'r3', :'r4', :'r5']) AS id),
          5, 'bytes read: convex_db_get outside a mutation passes at a limit of 1 byte (not counted)');
RESET convexlite.max_bytes_read;

------------------------------------------------------------------------
-- 5. Bytes written and document size: the stored size of the values
--    written (_id, _creationTime and the fields)
------------------------------------------------------------------------

-- One document's size, as the smallest limit under which inserting it passes.
SELECT regress_cvx_tap.smallest_passing('convexlite.max_bytes_written',
           regress_cvx_tap.call('lim:insert', jsonb_build_object('s', repeat('w', 100))), 0, 100000)
       AS doc_bytes \gset
SELECT convex_db_insert('lim_w', jsonb_build_object('s', repeat('w', 100))) AS w_id \gset
SELECT is(:doc_bytes, octet_length(:'w_id') + 8 + 100,
          'bytes written: a document counts the size of its _id, its _creationTime (8) and its field values');

SELECT set_config('convexlite.max_bytes_written', (3 * :doc_bytes)::text, true) \g /dev/null
SELECT is(convex_mutation('lim:insert', jsonb_build_object('n', 3, 's', repeat('b', 100))), '3'::jsonb,
          'bytes written: 3 inserts pass at a limit of 3 documents'' bytes');
SELECT set_config('convexlite.max_bytes_written', (3 * :doc_bytes - 1)::text, true) \g /dev/null
SELECT throws_ok(regress_cvx_tap.call('lim:insert', jsonb_build_object('n', 3, 's', repeat('c', 100))), '54000',
                 format('Too many bytes written in a single function execution (limit: %s bytes)', 3 * :doc_bytes - 1),
                 'bytes written: 3 inserts fail at one byte less (54000, Convex''s wording)');
SELECT is((SELECT count(*)::int FROM convex.lim_w WHERE s = repeat('c', 100)), 0,
          'bytes written: none of the refused call''s documents remain');
SELECT throws_ok(regress_cvx_tap.call('lim:nest', jsonb_build_object('n', 1, 's', repeat('d', 100),
                          'inner', jsonb_build_object('path', 'lim:insert', 'args', jsonb_build_object('n', 2, 's', repeat('d', 100))))),
                 '54000', format('Too many bytes written in a single function execution (limit: %s bytes)', 3 * :doc_bytes - 1),
                 'bytes written: 1 insert + 2 in a nested call fail at one byte less (one shared budget)');
SELECT is((SELECT count(*)::int FROM convex.lim_w WHERE s = repeat('d', 100)), 0,
          'bytes written: neither the outer nor the nested call''s documents remain');
SET LOCAL convexlite.max_bytes_written = 1;
SELECT ok(convex_db_insert('lim_w', jsonb_build_object('s', repeat('e', 100))) IS NOT NULL,
          'bytes written: convex_db_insert outside a mutation passes at a limit of 1 byte (not counted)');
RESET convexlite.max_bytes_written;

-- Document size: a limit equal to the document's size is allowed, one byte less is refused.
SELECT set_config('convexlite.max_document_size', :doc_bytes::text, true) \g /dev/null
SELECT is(convex_mutation('lim:insert', jsonb_build_object('s', repeat('f', 100))), '1'::jsonb,
          'document size: a document of exactly the limit is written by a mutation');
SELECT ok(convex_db_insert('lim_w', jsonb_build_object('s', repeat('g', 100))) IS NOT NULL,
          'document size: ... and by convex_db_insert outside a mutation');
SELECT set_config('convexlite.max_document_size', (:doc_bytes - 1)::text, true) \g /dev/null
SELECT throws_ok(regress_cvx_tap.call('lim:nest', jsonb_build_object('mark', 'docsize', 'n', 1, 's', repeat('h', 100))),
                 '54000', format('Value is too large (%s B > maximum size %s B)', :doc_bytes, :doc_bytes - 1),
                 'document size: one byte over the limit fails the mutation (54000, Convex''s wording)');
SELECT ok(NOT regress_cvx_tap.marked('docsize'), 'document size: the refused call''s earlier write is gone');
SELECT throws_ok(format('SELECT convex_db_insert(%L, %L)', 'lim_w', jsonb_build_object('s', repeat('i', 100))),
                 '54000', format('Value is too large (%s B > maximum size %s B)', :doc_bytes, :doc_bytes - 1),
                 'document size: the limit holds outside a mutation too');
SELECT throws_ok(format('SELECT convex_db_patch(%L, %L, %L)', 'lim_w', :'w_id', jsonb_build_object('s', repeat('j', 101))),
                 '54000', format('Value is too large (%s B > maximum size %s B)', :doc_bytes + 1, :doc_bytes - 1),
                 'document size: a patch that makes a document too large is refused');
SELECT is((SELECT s FROM convex.lim_w WHERE _id = :'w_id'), repeat('w', 100),
          'document size: ... and the document is unchanged');
SELECT is((SELECT count(*)::int FROM convex.lim_w WHERE s IN (repeat('h', 100), repeat('i', 100))), 0,
          'document size: no refused document was stored');
-- Convex's human sizes: a document of 1.5 KiB against a limit of 1 KiB
SET LOCAL convexlite.max_document_size = '1kB';
SELECT throws_ok(format('SELECT convex_db_insert(%L, %L)', 'lim_w',
                        jsonb_build_object('s', repeat('k', 1536 - (:doc_bytes - 100)))),
                 '54000', 'Value is too large (1.5 KiB > maximum size 1 KiB)',
                 'document size: sizes are printed as Convex does (1.5 KiB > maximum size 1 KiB)');
RESET convexlite.max_document_size;

------------------------------------------------------------------------
-- 6. Arguments and return value: convexlite.max_args_size and
--    convexlite.max_return_size (the jsonb size of the value)
------------------------------------------------------------------------

-- {"value": "<pad>", "mark": "..."} of exactly 700 and 1536 bytes as jsonb
SELECT pg_column_size('{"value": "", "mark": "arg1"}'::jsonb) - 4 AS args_base \gset
SELECT jsonb_build_object('value', repeat('a', 700 - :args_base), 'mark', 'arg1') AS args700,
       jsonb_build_object('value', repeat('a', 1536 - :args_base), 'mark', 'arg1') AS args1536 \gset
SELECT is(ARRAY[pg_column_size(:'args700'::jsonb) - 4, pg_column_size(:'args1536'::jsonb) - 4], ARRAY[700, 1536],
          'args size: the test''s arguments are 700 and 1536 bytes of jsonb');

SET LOCAL convexlite.max_args_size = 700;
SELECT is(convex_mutation('lim:echo', :'args700'), :'args700'::jsonb->'value',
          'args size: arguments of exactly the limit (700 B) are accepted');
SELECT ok(regress_cvx_tap.marked('arg1'), 'args size: ... and the handler ran');
SET LOCAL convexlite.max_args_size = 699;
SELECT throws_ok(regress_cvx_tap.call('lim:echo', jsonb_set(:'args700'::jsonb, '{mark}', '"arg2"')), '54000',
                 'Arguments for lim:echo are too large (actual: 700 B, limit: 699 B)',
                 'args size: one byte over the limit is refused (54000, Convex''s wording)');
SELECT ok(NOT regress_cvx_tap.marked('arg2'), 'args size: the handler did not run');
SET LOCAL convexlite.max_args_size = '1kB';
SELECT throws_ok(regress_cvx_tap.call('lim:echo', :'args1536'), '54000',
                 'Arguments for lim:echo are too large (actual: 1.5 KiB, limit: 1 KiB)',
                 'args size: sizes are printed as Convex does (actual: 1.5 KiB, limit: 1 KiB)');
SELECT throws_ok(regress_cvx_tap.call('lim:nest', jsonb_build_object('mark', 'args-nested',
                          'inner', jsonb_build_object('path', 'lim:echo',
                                                      'pad', 1536 - (pg_column_size('{"value": ""}'::jsonb) - 4)))),
                 '54000',
                 'Arguments for lim:echo are too large (actual: 1.5 KiB, limit: 1 KiB)',
                 'args size: a nested call''s arguments are checked too, and fail the whole call');
SELECT ok(NOT regress_cvx_tap.marked('args-nested'), 'args size: ... whose earlier write is gone');
RESET convexlite.max_args_size;

-- The return value: lim:echo returns {"v": "<pad>"} of exactly 700 / 1536 bytes.
SELECT pg_column_size('{"v": ""}'::jsonb) - 4 AS ret_base \gset
SELECT jsonb_build_object('v', repeat('r', 700 - :ret_base)) AS ret700,
       jsonb_build_object('v', repeat('r', 1536 - :ret_base)) AS ret1536 \gset
SET LOCAL convexlite.max_return_size = 700;
SELECT is(convex_mutation('lim:echo', jsonb_build_object('value', :'ret700'::jsonb, 'mark', 'ret700')), :'ret700'::jsonb,
          'return size: a value of exactly the limit (700 B) is returned');
SET LOCAL convexlite.max_return_size = 699;
SELECT throws_ok(regress_cvx_tap.call('lim:echo', jsonb_build_object('value', :'ret700'::jsonb, 'mark', 'ret699')), '54000',
                 'Function lim:echo return value is too large (actual: 700 B, limit: 699 B)',
                 'return size: one byte over the limit fails the call (54000, Convex''s wording)');
SELECT ok(regress_cvx_tap.marked('ret700') AND NOT regress_cvx_tap.marked('ret699'),
          'return size: the refused call''s write is gone');
SET LOCAL convexlite.max_return_size = '1kB';
SELECT throws_ok(regress_cvx_tap.call('lim:echo', jsonb_build_object('value', :'ret1536'::jsonb)), '54000',
                 'Function lim:echo return value is too large (actual: 1.5 KiB, limit: 1 KiB)',
                 'return size: sizes are printed as Convex does (actual: 1.5 KiB, limit: 1 KiB)');
RESET convexlite.max_return_size;

------------------------------------------------------------------------
-- 7. Value rules: stored documents nest at most 16 levels (the document
--    itself is level 1), arguments 64; 1024 fields per object, 8192
--    array elements, field names of 1024 bytes
------------------------------------------------------------------------

-- Documents, through a mutation (its earlier write must go with it) and directly.
SELECT ok(convex_mutation('lim:anyInsert', '{"mark": "nest16", "nest": 15}') IS NOT NULL
          AND regress_cvx_tap.marked('nest16'),
          'document nesting: a document nested 16 levels deep is stored');
SELECT throws_ok(regress_cvx_tap.call('lim:anyInsert', '{"mark": "nest17", "nest": 16}'), '54000',
                 'Invalid document for table "lim_any": Document is too nested (nested 17 levels deep > maximum nesting 16)',
                 'document nesting: 17 levels fail the mutation (54000, Convex''s wording)');
SELECT ok(NOT regress_cvx_tap.marked('nest17'), 'document nesting: the refused call''s earlier write is gone');
SELECT throws_ok(format('SELECT convex_db_insert(%L, %L)', 'lim_any', jsonb_build_object('v', regress_cvx_tap.nested_arrays(16))),
                 '54000', 'Invalid document for table "lim_any": Document is too nested (nested 17 levels deep > maximum nesting 16)',
                 'document nesting: the rule holds outside a mutation too');

SELECT ok(convex_db_insert('lim_any', jsonb_build_object('v', regress_cvx_tap.object_of(1024))) IS NOT NULL,
          'document fields: an object of 1024 fields is stored');
SELECT throws_ok(regress_cvx_tap.call('lim:anyInsert', '{"mark": "fields1025", "fields": 1025}'), '54000',
                 'Invalid document for table "lim_any": Object has too many fields (1025 > maximum number 1024)',
                 'document fields: 1025 fields are refused');
SELECT ok(convex_db_insert('lim_any', jsonb_build_object('v', regress_cvx_tap.array_of(8192))) IS NOT NULL,
          'document arrays: an array of 8192 elements is stored');
SELECT throws_ok(regress_cvx_tap.call('lim:anyInsert', '{"mark": "array8193", "elements": 8193}'), '54000',
                 'Invalid document for table "lim_any": Array length is too long (8193 > maximum length 8192)',
                 'document arrays: 8193 elements are refused');
SELECT ok(convex_db_insert('lim_any', jsonb_build_object('v', jsonb_build_object(repeat('n', 1024), 1))) IS NOT NULL,
          'document field names: a field name of 1024 bytes is stored');
SELECT throws_ok(format('SELECT convex_db_insert(%L, %L)', 'lim_any', jsonb_build_object('v', jsonb_build_object(repeat('n', 1025), 1))),
                 '54000', 'Invalid document for table "lim_any": Field name is too long (1025 > maximum 1024)',
                 'document field names: 1025 bytes are refused');
SELECT ok(NOT regress_cvx_tap.marked('fields1025') AND NOT regress_cvx_tap.marked('array8193')
          AND (SELECT count(*) FROM convex.lim_any) = 4,
          'value rules: only the 4 allowed documents were stored');

-- Arguments: nesting 64 (the arguments object is level 1).
SELECT ok(convex_mutation('lim:echo', jsonb_build_object('mark', 'args-nest64', 'v', regress_cvx_tap.nested_arrays(63))) IS NOT NULL,
          'args nesting: arguments nested 64 levels deep are accepted');
SELECT throws_ok(regress_cvx_tap.call('lim:echo', jsonb_build_object('mark', 'args-nest65', 'v', regress_cvx_tap.nested_arrays(64))),
                 '54000', 'Invalid arguments for lim:echo: Value is too nested (nested 65 levels deep > maximum nesting 64)',
                 'args nesting: 65 levels are refused (54000, Convex''s wording)');
SELECT ok(convex_mutation('lim:echo', jsonb_build_object('v', regress_cvx_tap.array_of(8192))) IS NOT NULL,
          'args arrays: an array of 8192 elements is accepted');
SELECT throws_ok(regress_cvx_tap.call('lim:echo', jsonb_build_object('mark', 'args-array', 'v', regress_cvx_tap.array_of(8193))),
                 '54000', 'Invalid arguments for lim:echo: Array length is too long (8193 > maximum length 8192)',
                 'args arrays: 8193 elements are refused');
SELECT ok(convex_mutation('lim:echo', regress_cvx_tap.object_of(1024)) IS NOT NULL,
          'args fields: arguments of 1024 fields are accepted');
SELECT throws_ok(regress_cvx_tap.call('lim:echo', regress_cvx_tap.object_of(1025)), '54000',
                 'Invalid arguments for lim:echo: Object has too many fields (1025 > maximum number 1024)',
                 'args fields: 1025 fields are refused');
SELECT ok(regress_cvx_tap.marked('args-nest64') AND NOT regress_cvx_tap.marked('args-nest65')
          AND NOT regress_cvx_tap.marked('args-array'),
          'args value rules: the refused calls'' handlers did not run');

------------------------------------------------------------------------
-- 8. Execution time: convexlite.mutation_timeout
------------------------------------------------------------------------

SET LOCAL convexlite.mutation_timeout = '200ms';
SELECT is(convex_mutation('lim:sleep', '{"sec": 0.01, "mark": "fast"}'), '"slept"'::jsonb,
          'timeout: a 10 ms handler passes at 200ms');
SELECT ok(regress_cvx_tap.marked('fast'), 'timeout: ... and its write is there');
SELECT throws_ok(regress_cvx_tap.call('lim:sleep', '{"sec": 5, "mark": "slow"}'), '54000',
                 'Function execution timed out (maximum duration: 200ms)',
                 'timeout: a handler sleeping past 200ms fails (54000, Convex''s wording)');
SELECT ok(NOT regress_cvx_tap.marked('slow'), 'timeout: the timed-out call''s earlier write is gone');
SELECT lives_ok('SELECT pg_sleep(0.3)',
                'timeout: after the timeout, a 300 ms statement is not cancelled (the timer is disarmed)');
SELECT throws_ok(regress_cvx_tap.call('lim:busy', '{"ms": 5000, "mark": "busy"}'), '54000',
                 'Function execution timed out (maximum duration: 200ms)',
                 'timeout: a handler busy on the CPU past 200ms fails too');
SELECT ok(NOT regress_cvx_tap.marked('busy'), 'timeout: ... and its write is gone');
SELECT throws_ok(regress_cvx_tap.call('lim:nest', '{"mark": "nest-slow", "inner": {"path": "lim:sleep", "args": {"sec": 5}}}'),
                 '54000', 'Function execution timed out (maximum duration: 200ms)',
                 'timeout: a nested call running past the budget fails the outermost call with the timeout');
SELECT ok(NOT regress_cvx_tap.marked('nest-slow'), 'timeout: ... and the outer call''s write is gone');
SELECT throws_ok(regress_cvx_tap.call('lim:sleepCatching', '{"sec": 5, "mark": "caught"}'), '54000',
                 'Function execution timed out (maximum duration: 200ms)',
                 'timeout: a handler that catches the cancellation still fails with the timeout');
SELECT ok(NOT regress_cvx_tap.marked('caught'), 'timeout: ... and what it wrote after catching it is gone');
SELECT lives_ok($$SELECT convex_mutation('lim:sleep', '{"sec": 0.01}'), pg_sleep(0.3)$$,
                'timeout: a statement that goes on after a fast call is not cancelled by its timer');
SET LOCAL convexlite.mutation_timeout = 0;
SELECT is(convex_mutation('lim:sleep', '{"sec": 0.3, "mark": "untimed"}'), '"slept"'::jsonb,
          'timeout: 0 disables the limit (a 300 ms handler passes)');
RESET convexlite.mutation_timeout;

------------------------------------------------------------------------
-- 9. Call depth: Convex's MAX_REACTOR_CALL_DEPTH, 8 nested calls below the
--    top-level one (a stack of 9 functions); the next one fails
------------------------------------------------------------------------

SELECT is(convex_mutation('lim:deep', '{"level": 8, "s": "deep8"}'), '"bottom"'::jsonb,
          'call depth: a call with 8 nested calls below it passes');
SELECT is((SELECT count(*)::int FROM convex.lim_w WHERE s = 'deep8'), 9,
          'call depth: ... and each of the 9 calls wrote its document');
SELECT throws_ok(regress_cvx_tap.call('lim:deep', '{"level": 9, "s": "deep9"}'), '54000',
                 'Cross component call depth limit exceeded. Do you have an infinite loop in your app?',
                 'call depth: a 9th nested call fails the whole call (54000, Convex''s wording)');
SELECT is((SELECT count(*)::int FROM convex.lim_w WHERE s = 'deep9'), 0,
          'call depth: none of the refused call''s 9 documents remain');

------------------------------------------------------------------------
-- 10. Functions scheduled: convexlite.max_functions_scheduled
------------------------------------------------------------------------

-- How many jobs carry this tag
CREATE FUNCTION regress_cvx_tap.jobs(tag text) RETURNS int LANGUAGE sql
    AS $f$ SELECT count(*)::int FROM convex._scheduled_functions f WHERE f.args -> 0 ->> 'value' = jobs.tag $f$;

SET LOCAL convexlite.max_functions_scheduled = 3;
SELECT is(convex_mutation('lim:schedule', '{"n": 3, "tag": "s3", "mark": "sched3"}'), '3'::jsonb,
          'functions scheduled: 3 jobs pass at a limit of 3');
SELECT ok(regress_cvx_tap.jobs('s3') = 3 AND regress_cvx_tap.marked('sched3'),
          'functions scheduled: ... the 3 jobs and the call''s write are there');
SELECT throws_ok(regress_cvx_tap.call('lim:schedule', '{"n": 4, "tag": "s4", "mark": "sched4"}'), '54000',
                 'Too many functions scheduled by this mutation (limit: 3)',
                 'functions scheduled: the 4th job fails the call (54000, Convex''s wording)');
SELECT ok(regress_cvx_tap.jobs('s4') = 0 AND NOT regress_cvx_tap.marked('sched4'),
          'functions scheduled: none of the refused call''s jobs remain (the first 3 included), nor its write');

-- Nested calls (ctx.runMutation) spend the outermost call's budget.
SELECT is(convex_mutation('lim:schedule', '{"n": 2, "inner": 1, "tag": "nest-s3"}'), '3'::jsonb,
          'functions scheduled: 2 in a call + 1 in its nested call pass at a limit of 3');
SELECT throws_ok(regress_cvx_tap.call('lim:schedule', '{"n": 2, "inner": 2, "tag": "nest-s4", "mark": "nest-sched4"}'), '54000',
                 'Too many functions scheduled by this mutation (limit: 3)',
                 'functions scheduled: 2 in a call + 2 in its nested call fail at a limit of 3 (one shared budget)');
SELECT ok(regress_cvx_tap.jobs('nest-s4') = 0 AND NOT regress_cvx_tap.marked('nest-sched4'),
          'functions scheduled: neither the outer nor the nested call''s jobs remain');
-- ... also when the outermost call is convex_internal_mutation
SELECT throws_ok($$SELECT convex_internal_mutation('lim:schedule', '{"n": 4, "tag": "internal-s4"}')$$, '54000',
                 'Too many functions scheduled by this mutation (limit: 3)',
                 'functions scheduled: convex_internal_mutation calls are held to the limit too');

-- Each outermost call has its own budget.
SELECT is(convex_mutation('lim:schedule', '{"n": 3, "tag": "twice"}')::int
          + convex_mutation('lim:schedule', '{"n": 3, "tag": "twice"}')::int, 6,
          'functions scheduled: two top-level calls in one statement each get a budget of 3');

-- Outside convex_mutation, scheduling is not counted; at the smallest limit
-- (1) a call schedules one job.
SET LOCAL convexlite.max_functions_scheduled = 1;
SELECT is((SELECT count(convex_scheduler_run_after(3600000, 'lim:echo', '{"value": "outside"}'))::int
             FROM generate_series(1, 5)), 5,
          'functions scheduled: 5 convex_scheduler_run_after outside a mutation pass at a limit of 1 (not counted)');
SELECT is(convex_mutation('lim:schedule', '{"n": 1, "tag": "s1"}'), '1'::jsonb,
          'functions scheduled: 1 job passes at a limit of 1');
SELECT throws_ok(regress_cvx_tap.call('lim:schedule', '{"n": 2, "tag": "s2"}'), '54000',
                 'Too many functions scheduled by this mutation (limit: 1)',
                 'functions scheduled: a 2nd job fails at a limit of 1');
SELECT throws_ok($$SET LOCAL convexlite.max_functions_scheduled = 0$$, '22023',
                 '0 is outside the valid range for parameter "convexlite.max_functions_scheduled" (1 .. 2147483647)',
                 'functions scheduled: the limit is at least 1');
RESET convexlite.max_functions_scheduled;

-- A scheduled job's arguments are held to convexlite.max_args_size.
SET LOCAL convexlite.max_args_size = 100;
SELECT ok(convex_scheduler_run_after(3600000, 'lim:echo', jsonb_build_object('value', repeat('a', 80))) IS NOT NULL,
          'args size: a job''s arguments under max_args_size are accepted');
SELECT throws_ok(format('SELECT convex_scheduler_run_after(3600000, %L, %L)', 'lim:echo',
                        jsonb_build_object('value', repeat('a', 100))), '54000',
                 'Arguments for lim:echo are too large (actual: 117 B, limit: 100 B)',
                 'args size: a job''s arguments over max_args_size are refused when it is scheduled (54000)');
RESET convexlite.max_args_size;

SELECT * FROM finish();
ROLLBACK;

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_convexlite_limits;
RESET client_min_messages;
