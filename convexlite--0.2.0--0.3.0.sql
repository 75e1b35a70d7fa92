/* convexlite--0.2.0--0.3.0.sql: update convexlite 0.2.0 to 0.3.0 */

\echo Use "ALTER EXTENSION convexlite UPDATE TO '0.3.0'" to load this file. \quit

-- After installing the new convexlite.so, restart the server (convexlite is
-- preloaded) and run ALTER EXTENSION convexlite UPDATE in each database.
-- Each change below says what it does and why.

------------------------------------------------------------------------
-- Index order follows Convex's total order (undefined < null < int64 <
-- float64 < boolean < string < bytes < array < object).
--
-- convex.index_key(value) is an order-preserving bytea key of a field
-- value: memcmp order of keys is compareValues order, and NULL (a missing
-- field) has the lowest key.  A user table's index covers
-- convex.index_key(column) for every field stored as jsonb or double
-- precision and for every optional field (their SQL order is not
-- Convex's: jsonb orders by its own type rank, -0 = 0 in float8, NULLs
-- come last); required text, boolean, bigint and bytea fields stay plain
-- columns.  Not strict: index_key(NULL) is the key of undefined.
CREATE FUNCTION convex.index_key(jsonb) RETURNS bytea
AS 'MODULE_PATHNAME', 'convex_index_key_jsonb'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION convex.index_key(text) RETURNS bytea
AS 'MODULE_PATHNAME', 'convex_index_key_text'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION convex.index_key(double precision) RETURNS bytea
AS 'MODULE_PATHNAME', 'convex_index_key_float8'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION convex.index_key(boolean) RETURNS bytea
AS 'MODULE_PATHNAME', 'convex_index_key_bool'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION convex.index_key(bigint) RETURNS bytea
AS 'MODULE_PATHNAME', 'convex_index_key_int8'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION convex.index_key(bytea) RETURNS bytea
AS 'MODULE_PATHNAME', 'convex_index_key_bytea'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION convex.index_key(jsonb) IS 'Convex''s order as bytes: the key an index stores for a jsonb field';

-- Rebuild the indexes of user tables made by 0.2.0 the same way
-- convex_define_table now builds them (schema.c create_index,
-- tables.c cvx_index_keyed): the columns come from the old index, in the
-- order of the index's fields; a field is keyed unless it is a required
-- string, id, boolean, bigint or bytes field.  Indexes with no keyed field
-- stay as they are.  Then every session reloads its table cache (a no-op
-- ALTER of convex._tables invalidates it), so queries use the new indexes
-- at once (tables.c reads which fields an index keys from the catalog).
DO $update$
DECLARE
    t record;
    idx record;
    relname text;
    cols name[];
    keys text;
    field jsonb;
BEGIN
    FOR t IN SELECT name, fields, indexes FROM convex._tables WHERE NOT is_builtin ORDER BY number LOOP
        FOR idx IN SELECT key, value FROM pg_catalog.jsonb_each(t.indexes) ORDER BY key LOOP
            relname := t.name || '__' || idx.key;
            SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord) INTO cols
            FROM pg_catalog.pg_index i
            CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indexrelid = pg_catalog.format('convex.%I', relname)::pg_catalog.regclass;
            keys := '';
            FOR n IN 1 .. pg_catalog.jsonb_array_length(idx.value) LOOP
                field := t.fields -> (idx.value ->> (n - 1));
                IF (field -> 'fieldType' ->> 'type') IN ('string', 'id', 'boolean', 'bigint', 'bytes')
                   AND NOT coalesce((field ->> 'optional')::boolean, false) THEN
                    keys := keys || pg_catalog.format('%I, ', cols[n]);
                ELSE
                    keys := keys || pg_catalog.format('convex.index_key(%I), ', cols[n]);
                END IF;
            END LOOP;
            IF keys LIKE '%convex.index_key(%' THEN
                EXECUTE pg_catalog.format('DROP INDEX convex.%I', relname);
                EXECUTE pg_catalog.format('CREATE INDEX %I ON convex.%I (%s_creation_time)',
                                          relname, t.name, keys);
            END IF;
        END LOOP;
    END LOOP;
END
$update$;
ALTER TABLE convex._tables ALTER COLUMN notify SET DEFAULT '[]';

------------------------------------------------------------------------
-- pg_cron job commands call convexlite's functions with typed arguments
------------------------------------------------------------------------
-- 0.2.0's commands called the cleanups without arguments (relying on their
-- defaults).  A role with CREATE on the extension's schema could then add a
-- look-alike without parameters and make every call ambiguous ("function
-- ... is not unique"), stopping the cleanups.  With every argument given
-- and typed, only convexlite's own function matches exactly.
CREATE OR REPLACE FUNCTION convex_schedule_jobs()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ext_schema name;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database %', current_database()
            USING ERRCODE = 'undefined_object',
                  HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database, run CREATE EXTENSION pg_cron, then SELECT convex_schedule_jobs().';
    END IF;
    SELECT n.nspname INTO ext_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'convexlite';
    PERFORM cron.schedule('convexlite-presence-cleanup', '* * * * *',
                          format('SELECT %I.convex_presence_cleanup(''{}''::pg_catalog.jsonb)', ext_schema));
    PERFORM cron.schedule('convexlite-storage-cleanup', '*/5 * * * *',
                          format('SELECT %I.convex_storage_cleanup(86400000::pg_catalog.float8)', ext_schema));
    PERFORM cron.schedule('convexlite-scheduler-cleanup', '* * * * *',
                          format('SELECT %I.convex_scheduler_cleanup(604800000::pg_catalog.float8)', ext_schema));
    -- the background worker runs jobs as they fall due; this is the
    -- fallback for servers without it (and harmless beside it)
    PERFORM cron.schedule('convexlite-scheduler-run-due', '* * * * *',
                          format('CALL %I.convex_scheduler_run_due(1000::pg_catalog.int4)', ext_schema));
END;
$$;
REVOKE ALL ON FUNCTION convex_schedule_jobs() FROM PUBLIC;

-- Jobs scheduled by 0.2.0 get the new commands (cron.schedule replaces a
-- job of the same name).
DO $$
BEGIN
    -- (nested: the inner query is planned only where cron.job exists)
    IF pg_catalog.to_regclass('cron.job') IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM cron.job WHERE jobname LIKE 'convexlite-%') THEN
            PERFORM convex_schedule_jobs();
        END IF;
    END IF;
END;
$$;

-- ---------------------------------------------------------------------------
-- Serializable mutations (conflicts.c): convex_mutation runs a conflicting
-- mutation again by itself, up to convexlite.mutation_retries times.  These
-- report how many attempts calls took (the README's "Concurrency" section).
-- ---------------------------------------------------------------------------
CREATE FUNCTION convex_conflict_stats() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'convex_conflict_stats'
    LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION convex_conflict_stats() IS
    'Top-level mutation calls by the number of attempts they took, and those that failed with 40001';

CREATE FUNCTION convex_conflict_stats_reset() RETURNS void
    AS 'MODULE_PATHNAME', 'convex_conflict_stats_reset'
    LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION convex_conflict_stats_reset() FROM PUBLIC;
COMMENT ON FUNCTION convex_conflict_stats_reset() IS
    'Set the counters of convex_conflict_stats() to zero';

------------------------------------------------------------------------
-- Snapshots (issue 20): system tables take Convex's table numbers
------------------------------------------------------------------------
-- Convex numbers _storage 540 and _scheduled_functions 539 (512 reserved
-- legacy numbers + its DefaultTableNumber 28 and 27), so its file ids begin
-- with "kg" and ids move between Convex and convexlite unchanged.  0.2.0
-- used 1 and 2.  The update gives every stored id of those tables the new
-- number, keeping its random part and day (the footer is recomputed):
-- the _id columns of _storage and _scheduled_functions, text columns of
-- id fields that name them, and every string that is such an id anywhere
-- in a jsonb column (scheduled args, v.any() and nested fields).  An id of
-- number 1 or 2 held outside schema convex (in an application's own
-- tables or clients) is not found: convex._id_renumber(id, 1, 540) gives
-- its new form.
CREATE FUNCTION convex._id_renumber(id text, from_number integer, to_number integer) RETURNS text
AS 'MODULE_PATHNAME', 'convex_id_renumber_text'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION convex._id_renumber(text, integer, integer) IS
    'the id with to_number as its table number if it is an id of from_number, else the id unchanged';
CREATE FUNCTION convex._id_renumber(value jsonb, from_number integer, to_number integer) RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_id_renumber_jsonb'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION convex._id_renumber(jsonb, integer, integer) IS
    'every string in value that is an id of from_number, renumbered to to_number';

DO $renumber$
DECLARE
    t record;
    f record;
    col text;
    moves constant integer[][] := ARRAY[[1, 540], [2, 539]];
    sys constant text[] := ARRAY['_storage', '_scheduled_functions'];
BEGIN
    IF (SELECT number FROM convex._tables WHERE name = '_storage') = 540 THEN
        RETURN;
    END IF;
    UPDATE convex._tables SET number = 540 WHERE name = '_storage';
    UPDATE convex._tables SET number = 539 WHERE name = '_scheduled_functions';
    FOR m IN 1 .. 2 LOOP
        EXECUTE pg_catalog.format('UPDATE convex.%I SET _id = convex._id_renumber(_id, %s, %s)',
                                  sys[m], moves[m][1], moves[m][2]);
    END LOOP;
    FOR t IN SELECT name, fields FROM convex._tables ORDER BY number LOOP
        FOR f IN SELECT key, value FROM pg_catalog.jsonb_each(t.fields) LOOP
            col := pg_catalog.lower(pg_catalog.regexp_replace(f.key, '(?<!^)([A-Z])', '_\1', 'g'));
            IF f.value -> 'fieldType' ->> 'type' = 'id' THEN
                FOR m IN 1 .. 2 LOOP
                    IF f.value -> 'fieldType' ->> 'tableName' = sys[m] THEN
                        EXECUTE pg_catalog.format('UPDATE convex.%I SET %I = convex._id_renumber(%I, %s, %s) WHERE %I IS NOT NULL',
                                                  t.name, col, col, moves[m][1], moves[m][2], col);
                    END IF;
                END LOOP;
            END IF;
        END LOOP;
    END LOOP;
    -- every jsonb column of schema convex: nested ids, any()
    FOR t IN SELECT c.relname, a.attname
               FROM pg_catalog.pg_attribute a
               JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
              WHERE c.relnamespace = 'convex'::regnamespace AND c.relkind = 'r'
                AND a.atttypid = 'jsonb'::regtype AND a.attnum > 0 AND NOT a.attisdropped
                AND c.relname <> '_tables' LOOP
        FOR m IN 1 .. 2 LOOP
            EXECUTE pg_catalog.format('UPDATE convex.%I SET %I = convex._id_renumber(%I, %s, %s) WHERE %I IS DISTINCT FROM convex._id_renumber(%I, %s, %s)',
                                      t.relname, t.attname, t.attname, moves[m][1], moves[m][2],
                                      t.attname, t.attname, moves[m][1], moves[m][2]);
        END LOOP;
    END LOOP;
END
$renumber$;
-- every session reloads its table cache (the numbers changed)
ALTER TABLE convex._tables ALTER COLUMN notify SET DEFAULT '[]';

------------------------------------------------------------------------
-- convex_define_schema (issue 20): a whole defineSchema({...}) at once
------------------------------------------------------------------------
-- Takes convex-js's schema export ({"tables": [{"tableName",
-- "documentType", "indexes", "searchIndexes", "vectorIndexes", staged
-- ones}], "schemaValidation": true}) and runs convex_define_table for
-- every table, all or nothing (define_schema.c).  Search, vector and
-- staged indexes are kept in other_indexes ({"name": {"kind", "staged",
-- "definition"}}); a query naming one is refused with 0A000.
ALTER TABLE convex._tables ADD COLUMN other_indexes jsonb NOT NULL DEFAULT '{}';
COMMENT ON COLUMN convex._tables.other_indexes IS
    'search, vector and staged indexes of the schema (kept, not queryable): {"name": {"kind", "staged", "definition"}}';

CREATE FUNCTION convex_define_schema(schema jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_define_schema'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_define_schema(jsonb) IS
    'defineSchema: define or redefine every table of a Convex schema export, all or nothing; returns {"table": number}';
REVOKE ALL ON FUNCTION convex_define_schema(jsonb) FROM PUBLIC;

------------------------------------------------------------------------
-- convex_import (issue 20): load a Convex snapshot ZIP (npx convex
-- export) from a large object, every _id and _creationTime kept
------------------------------------------------------------------------
-- snapshot_import.c; the ZIP is read with libzip through the large object
-- (snapshot_zip.c).  Modes as Convex's import: require_empty (the
-- default), replace, append.  For the application's owner.
CREATE FUNCTION convex_import(snapshot oid, mode text DEFAULT 'require_empty') RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_import'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_import(oid, text) IS
    'npx convex import: load a snapshot ZIP held in a large object, ids kept; returns what it loaded per table';
REVOKE ALL ON FUNCTION convex_import(oid, text) FROM PUBLIC;

------------------------------------------------------------------------
-- convex_export (issue 20): the database as a Convex snapshot ZIP in a
-- new large object (snapshot_export.c), the layout npx convex import reads
------------------------------------------------------------------------
CREATE FUNCTION convex_export(include_files boolean DEFAULT true) RETURNS oid
AS 'MODULE_PATHNAME', 'convex_export'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_export(boolean) IS
    'npx convex export: every table (and file) as a snapshot ZIP in a new large object of the caller''s; returns its oid';
REVOKE ALL ON FUNCTION convex_export(boolean) FROM PUBLIC;
