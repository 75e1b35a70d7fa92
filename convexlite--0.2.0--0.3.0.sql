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
-- and typed, only convexlite's own function matches exactly.  Its refusal
-- without pg_cron carries the JSON DETAIL every convexlite error has
-- (errors.c does it for the C code; this is the one error raised in
-- PL/pgSQL).
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
                  DETAIL = '{"code": "PG_CRON_NOT_INSTALLED"}',
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

-- ---------------------------------------------------------------------------
-- Identity and errors as Convex has them (issue 17 part 4, issue 18 items
-- 1-4 and 8; docs/identity-and-errors.md, docs/drivers.md).
-- ---------------------------------------------------------------------------

-- ctx.auth.getUserIdentity(): Convex's UserIdentity of the signed-in user
-- (from convexlite.user_id or request.jwt.claims), NULL when signed out.
-- Not SECURITY DEFINER: it reads only the caller's own settings.
CREATE FUNCTION convex_auth_identity() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'convex_auth_identity'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION convex_auth_identity() IS
    'ctx.auth.getUserIdentity(): Convex''s UserIdentity of the signed-in user, or NULL';

-- The one way to say who the user is from a driver: transaction-local, so
-- it takes a bound parameter and is safe behind a transaction-mode pooler.
CREATE FUNCTION convex_set_user(user_id text) RETURNS void
    AS 'MODULE_PATHNAME', 'convex_set_user'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_set_user(text) IS
    'Sign a user in (an Id<"users">) for the rest of the current transaction; NULL or '''' signs out';

-- throw new ConvexError(data) from a handler: the same SQLSTATE, message and
-- JSON DETAIL as the built-ins' UNAUTHORIZED.  Anyone may raise one.
CREATE FUNCTION convex_error(data jsonb) RETURNS void
    AS 'MODULE_PATHNAME', 'convex_error'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_error(jsonb) IS
    'throw new ConvexError(data): SQLSTATE 42501 for code UNAUTHORIZED, else P0001; DETAIL is the data as JSON';



-- Without pg_cron nothing runs convexlite's cleanups: say so with a WARNING
-- (CREATE EXTENSION and ALTER EXTENSION swallow the NOTICE of the 0.1.0
-- script), naming the jobs and how to run them.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RAISE WARNING 'convexlite: pg_cron is not installed in database %, so these jobs are not scheduled: presence.cleanup (every minute), scheduler retention and due jobs (every minute), storage cleanup (every 5 minutes)', pg_catalog.current_database()
            USING HINT = 'Install pg_cron in this database (shared_preload_libraries, cron.database_name, CREATE EXTENSION pg_cron) and run SELECT convex_schedule_jobs(); or run SELECT convex_presence_cleanup(''{}''); SELECT convex_scheduler_cleanup(604800000); CALL convex_scheduler_run_due(1000); every minute and SELECT convex_storage_cleanup(86400000); every 5 minutes from another scheduler.';
    END IF;
END;
$$;

-- Every public function callable with untyped bound parameters (what
-- node-postgres, psycopg 3, asyncpg, pgx and JDBC send by default): no two
-- functions of one name may both match the same number of unknown-typed
-- arguments.  convex_storage_upload(text, bytea, text) and
-- convex_storage_upload(text, oid, text) did (42725 "function ... is not
-- unique"), so the large-object upload gets a name of its own and
-- convex_storage_upload is the bytea upload only.  A caller of the oid form
-- renames the call: convex_storage_upload(url, lo) becomes
-- convex_storage_upload_large_object(url, lo).
DROP FUNCTION convex_storage_upload(text, oid, text);
CREATE FUNCTION convex_storage_upload_large_object(upload_url text, large_object oid,
                                                   content_type text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_storage_upload_large_object'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_storage_upload_large_object(text, oid, text) IS
    'upload a large object the caller owns (copied into a blob, then unlinked) -> {"storageId": …}';

-- Roles in one place (docs/identity-and-errors.md, "Roles"): grant a role
-- exactly what one of the three roles of a deployment needs, and list it.
--   'app'            the application server's login role: EXECUTE on every
--                    function the extension opens to PUBLIC (so PUBLIC can
--                    then be revoked), schema convex's helpers aside
--   'handler_owner'  the owner of registered handlers: the app's functions,
--                    ctx.db (convex_db_*), ctx.scheduler (run_after, run_at,
--                    cancel), ctx.storage's generateUploadUrl and delete;
--                    table privileges on the application tables its handlers
--                    use are granted one by one (never convexlite's own)
--   'operator'       maintenance and internal mutations: convex_internal_mutation,
--                    the cleanups, convex_scheduler_run_due, the conflict counters
-- The app's set is read from pg_init_privs, so functions added later that
-- the extension opens to PUBLIC are in it.  SECURITY INVOKER: the caller
-- needs the grant option (the extension's owner, a superuser).
CREATE FUNCTION convex_grant_role(role_name text, kind text)
RETURNS SETOF regprocedure
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn regprocedure;
BEGIN
    IF role_name IS NULL OR kind IS NULL THEN
        RAISE EXCEPTION 'role_name and kind must not be NULL'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = '{"code": "NULL_ARGUMENT"}';
    END IF;
    IF kind NOT IN ('app', 'handler_owner', 'operator') THEN
        RAISE EXCEPTION 'kind must be ''app'', ''handler_owner'' or ''operator'', not %', quote_literal(kind)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = '{"code": "INVALID_ARGUMENT"}';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
        RAISE EXCEPTION 'role % does not exist', quote_ident(role_name)
            USING ERRCODE = 'undefined_object', DETAIL = '{"code": "NOT_FOUND"}';
    END IF;
    FOR fn IN
        SELECT p.oid::regprocedure
          FROM pg_proc p
          JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
          JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'convexlite'
          JOIN pg_namespace n ON n.oid = p.pronamespace
          LEFT JOIN pg_init_privs i ON i.classoid = 'pg_proc'::regclass AND i.objoid = p.oid AND i.objsubid = 0
         WHERE n.nspname <> 'convex'
           AND p.proname <> 'convex_grant_role'
           AND CASE kind
               WHEN 'operator' THEN
                   p.proname IN ('convex_internal_mutation', 'convex_presence_cleanup', 'convex_storage_cleanup',
                                 'convex_scheduler_cleanup', 'convex_scheduler_run_due',
                                 'convex_conflict_stats', 'convex_conflict_stats_reset')
               ELSE
                   -- opened to PUBLIC by the extension
                   (i.initprivs IS NULL OR EXISTS (SELECT 1 FROM aclexplode(i.initprivs) a
                                                   WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))
                   OR (kind = 'handler_owner' AND
                       (p.proname LIKE 'convex\_db\_%'
                        OR p.proname IN ('convex_scheduler_run_after', 'convex_scheduler_run_at',
                                         'convex_scheduler_cancel', 'convex_storage_generate_upload_url',
                                         'convex_storage_delete')))
               END
         ORDER BY p.proname, p.oid
    LOOP
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', fn, role_name);
        RETURN NEXT fn;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION convex_grant_role(text, text) FROM PUBLIC;
COMMENT ON FUNCTION convex_grant_role(text, text) IS
    'grant a role what the app''s login role, a handler owner or the operator needs (kind app, handler_owner, operator); returns the functions';
-- Reads (issue 17 parts 1 and 2, docs/queries.md): the seed app's queries
-- as C built-ins, registered queries, and convex_query / ctx.runQuery.
-- ---------------------------------------------------------------------------

-- The seed's presence.list reads index by_room and files.list index
-- by_session (convex/schema.ts); 0.2.0 had neither.  Neither column ever
-- changes, so heartbeats stay HOT updates.  Listed in the catalog too, so
-- that a read of them inside a mutation takes its conflict lock and every
-- write the matching key lock (conflicts.c).
CREATE INDEX presence_by_room ON convex.presence (room_id, _creation_time);
CREATE INDEX files_by_session ON convex.files (session_id, _creation_time)
    WHERE session_id IS NOT NULL;
UPDATE convex._tables SET indexes = indexes || '{"by_room": ["roomId"]}'
 WHERE name = 'presence' AND is_builtin;
UPDATE convex._tables SET indexes = indexes || '{"by_session": ["sessionId"]}'
 WHERE name = 'files' AND is_builtin;

-- A registered function is a mutation or a query; existing ones are
-- mutations.
ALTER TABLE convex._functions
    ADD COLUMN kind text NOT NULL DEFAULT 'mutation'
    CONSTRAINT _functions_kind CHECK (kind IN ('mutation', 'query'));
COMMENT ON TABLE convex._functions IS 'convexlite mutations and queries registered with convex_define_mutation and convex_define_query';

-- The seed app's queries.  Like the seed's mutations they run with the
-- extension owner's rights (SECURITY DEFINER) and read only through their
-- kept statements, so ordinary roles can read what the app shows without
-- any right on the tables.
CREATE FUNCTION convex_users_current()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_users_current'
LANGUAGE C STABLE SECURITY DEFINER;
COMMENT ON FUNCTION convex_users_current() IS 'users.current: the signed-in user''s document, or null';

CREATE FUNCTION convex_users_get(args jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_users_get'
LANGUAGE C STABLE SECURITY DEFINER;
COMMENT ON FUNCTION convex_users_get(jsonb) IS 'users.get: {userId} -> {_id, name?, image?} or null';

CREATE FUNCTION convex_messages_list(args jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_messages_list'
LANGUAGE C STABLE SECURITY DEFINER;
COMMENT ON FUNCTION convex_messages_list(jsonb) IS 'messages.list: {roomId} -> the room''s messages, oldest first';

CREATE FUNCTION convex_presence_list(args jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_presence_list'
LANGUAGE C STABLE SECURITY DEFINER;
COMMENT ON FUNCTION convex_presence_list(jsonb) IS 'presence.list: {roomId} -> the room''s presence seen within 30 s';

CREATE FUNCTION convex_files_get_url(args jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_files_get_url'
LANGUAGE C STABLE SECURITY DEFINER;
COMMENT ON FUNCTION convex_files_get_url(jsonb) IS 'files.getUrl: {storageId} -> the file''s URL or null';

CREATE FUNCTION convex_files_list(args jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_files_list'
LANGUAGE C STABLE SECURITY DEFINER;
COMMENT ON FUNCTION convex_files_list(jsonb) IS 'files.list: {sessionId?} -> the signed-in user''s (else the session''s) files, each with its url';

-- Registered queries: query() / internalQuery().  The handler is a STABLE
-- f(args jsonb) RETURNS jsonb that runs as its owner, read-only.
CREATE FUNCTION convex_define_query(path text, handler regprocedure, args jsonb,
                                    returns jsonb DEFAULT NULL, internal boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_define_query'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_define_query(text, regprocedure, jsonb, jsonb, boolean) IS 'query() / internalQuery(): register a STABLE handler f(args jsonb) RETURNS jsonb under a Convex path';
REVOKE ALL ON FUNCTION convex_define_query(text, regprocedure, jsonb, jsonb, boolean) FROM PUBLIC;

CREATE FUNCTION convex_drop_query(path text)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_drop_query'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_drop_query(text) IS 'forget a registered query';
REVOKE ALL ON FUNCTION convex_drop_query(text) FROM PUBLIC;

-- Run a query by path (ctx.runQuery inside a handler): the seed's
-- (messages:list, ...) and registered ones; internal ones only from
-- inside a mutation or query, or for roles with EXECUTE on
-- convex_internal_query (or convex_internal_mutation).
CREATE FUNCTION convex_query(path text, args jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_query'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_query(text, jsonb) IS 'run a query by Convex path, e.g. messages:list; also ctx.runQuery';

CREATE FUNCTION convex_internal_query(path text, args jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_internal_query'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_internal_query(text, jsonb) IS 'run any query, internal ones included (for roles granted EXECUTE)';
REVOKE ALL ON FUNCTION convex_internal_query(text, jsonb) FROM PUBLIC;
-- The query builder (issue 17 part 3, query_builder.c, query_filter.c):
-- ctx.db.query(…) in the JSON form convex-js sends ({"source": …,
-- "operators": […]}).  Like convex_db_query, closed to PUBLIC: the owner,
-- registered handlers and roles granted EXECUTE call them.
-- docs/query-builder.md documents them.
-- ---------------------------------------------------------------------------
CREATE FUNCTION convex_db_select(query jsonb) RETURNS SETOF jsonb
    AS 'MODULE_PATHNAME', 'convex_db_select'
    LANGUAGE C VOLATILE;
CREATE FUNCTION convex_db_first(query jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'convex_db_first'
    LANGUAGE C VOLATILE;
CREATE FUNCTION convex_db_unique(query jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'convex_db_unique'
    LANGUAGE C VOLATILE;
CREATE FUNCTION convex_db_paginate(query jsonb, pagination_opts jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'convex_db_paginate'
    LANGUAGE C VOLATILE;
CREATE FUNCTION convex_db_count(query jsonb) RETURNS bigint
    AS 'MODULE_PATHNAME', 'convex_db_count'
    LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION convex_db_select(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION convex_db_first(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION convex_db_unique(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION convex_db_paginate(jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION convex_db_count(jsonb) FROM PUBLIC;
COMMENT ON FUNCTION convex_db_select(jsonb) IS 'ctx.db.query(…).collect() / .take(n) from convex-js''s serialized query';
COMMENT ON FUNCTION convex_db_first(jsonb) IS 'ctx.db.query(…).first()';
COMMENT ON FUNCTION convex_db_unique(jsonb) IS 'ctx.db.query(…).unique()';
COMMENT ON FUNCTION convex_db_paginate(jsonb, jsonb) IS 'ctx.db.query(…).paginate({numItems, cursor, maximumRowsRead})';
COMMENT ON FUNCTION convex_db_count(jsonb) IS 'How many documents ctx.db.query(…) returns';

-- What the translated filters call: a typed column as Convex JSON, the
-- backend's arithmetic and "as a Boolean" (EvalError otherwise).  The
-- three that can raise are VOLATILE: never folded while planning, and
-- evaluated only on rows the statement returns (after its sort), one row
-- fetched at a time, so an EvalError comes only from a row Convex reaches.
CREATE FUNCTION convex.filter_value(text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'convex_filter_value_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION convex.filter_value(double precision) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'convex_filter_value_float8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION convex.filter_value(boolean) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'convex_filter_value_bool' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION convex.filter_value(bigint) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'convex_filter_value_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION convex.filter_value(bytea) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'convex_filter_value_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION convex.filter_arith(integer, jsonb, jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'convex_filter_arith' LANGUAGE C VOLATILE PARALLEL SAFE;
CREATE FUNCTION convex.filter_neg(jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'convex_filter_neg' LANGUAGE C VOLATILE PARALLEL SAFE;
CREATE FUNCTION convex.filter_boolean(jsonb) RETURNS boolean
    AS 'MODULE_PATHNAME', 'convex_filter_boolean' LANGUAGE C VOLATILE PARALLEL SAFE;
-- Sharding with PL/Proxy (ids.c, docs/sharding.md): a node's number
-- (convexlite.node_id) is written into every id and upload token it makes;
-- a front database routes calls by it.  These are the node side: where an
-- id was minted, this node's number, and the entry point of a call the
-- front sends (the caller's identity, set transaction-locally).
-- ---------------------------------------------------------------------------
CREATE FUNCTION convex_id_node(id text) RETURNS integer
    AS 'MODULE_PATHNAME', 'convex_id_node'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION convex_id_node(text) IS
    'The node an id was minted on (its first random byte), or NULL if it is not a valid id';

CREATE FUNCTION convex_node_id() RETURNS integer
    AS 'MODULE_PATHNAME', 'convex_node_id'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION convex_node_id() IS
    'This server''s convexlite.node_id (0: not a node of a sharded deployment)';

-- convex_node_enter(node, user_id, claims): the first thing a call from the
-- front does on a node.  Refuses a node that is not the one the front meant
-- (55000: the front's partitions and the nodes' convexlite.node_id
-- disagree), then sets convexlite.user_id and request.jwt.claims for the rest
-- of the transaction, as SET LOCAL would (NULL: not signed in).  Returns the
-- node number.  SECURITY INVOKER: it grants nothing a SET LOCAL does not.
CREATE FUNCTION convex_node_enter(node integer, user_id text, claims text) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    here integer := @extschema@.convex_node_id();
BEGIN
    IF node IS DISTINCT FROM here THEN
        RAISE EXCEPTION 'the front sent a call for node % to node %', node, here
            USING ERRCODE = '55000',
                  HINT = 'The front''s partition p<n-1> must be the node whose convexlite.node_id is n.';
    END IF;
    PERFORM set_config('convexlite.user_id', coalesce(user_id, ''), true);
    PERFORM set_config('request.jwt.claims', coalesce(claims, ''), true);
    RETURN here;
END
$$;
COMMENT ON FUNCTION convex_node_enter(integer, text, text) IS
    'Sharding: check this is node `node`, then set the caller''s identity for the transaction';
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
