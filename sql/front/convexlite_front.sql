-- sql/front/convexlite_front.sql: the front database of a sharded convexlite
-- deployment (docs/sharding.md).
--
-- Run it once, as a superuser, in the front database (which does NOT have
-- the convexlite extension: the front's functions have the same names):
--
--     psql -d front -f sql/front/convexlite_front.sql
--     SELECT convex_front_setup(ARRAY['host=/run/n1 dbname=app', 'host=/run/n2 dbname=app', …]);
--
-- Node n (1-based, its convexlite.node_id) is element n of the array and
-- PL/Proxy partition n-1 of the cluster 'convexlite_nodes'.  Every public
-- function below runs its call on exactly one node, in one transaction
-- there (autocommit on the node: a ROLLBACK on the front does not undo it,
-- as a Convex mutation once acknowledged is not undone).  Routing:
--   * a room (messages, presence):  node_for_key(roomId)
--   * an id (messages.remove, ctx.db.get/patch/…, storage, files):  the
--     node number the id carries (convexlite.node_id at the node that made it)
--   * an upload URL:  the node number its token carries
--   * the signed-in user (users.updateProfile, files.generateUploadUrl):
--     the node of the user's id; a signed-out call goes to any node
--   * a registered mutation:  the argument convex_front_distribute_mutation
--     named for it (a key or an id), like Citus's create_distributed_function
-- Re-running this file replaces the functions and keeps the catalogs.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS plproxy;
CREATE SCHEMA IF NOT EXISTS convex_front;

-- How many nodes: rewritten by convex_front_setup (an IMMUTABLE constant
-- the planner folds, so routing reads no table).
-- (Made here only the first time: running this file again keeps it.)
DO $$
BEGIN
    IF to_regprocedure('convex_front.node_count()') IS NULL THEN
        CREATE FUNCTION convex_front.node_count() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 0';
    END IF;
END
$$;

-- The registered mutations the front can route: path -> (argument, kind).
-- kind 'key': node_for_key(args->>arg); 'id': the node of the id args->>arg;
-- 'user': the signed-in user's node (arg unused).
CREATE TABLE IF NOT EXISTS convex_front.mutations (
    path text PRIMARY KEY,
    arg text,
    kind text NOT NULL CHECK (kind IN ('key', 'id', 'user')),
    CHECK (kind = 'user' OR arg IS NOT NULL)
);
-- The tables whose documents a query or an insert through the front is
-- routed by: table -> the field holding the shard key.  A table not listed
-- is reached by id only (an insert goes to any node).
CREATE TABLE IF NOT EXISTS convex_front.tables (
    table_name text PRIMARY KEY,
    shard_field text NOT NULL
);
INSERT INTO convex_front.mutations (path, arg, kind) VALUES
    ('messages:send', 'roomId', 'key'),
    ('messages:remove', 'messageId', 'id'),
    ('presence:update', 'roomId', 'key'),
    ('presence:leave', 'roomId', 'key'),
    ('users:updateProfile', NULL, 'user'),
    ('files:generateUploadUrl', NULL, 'user'),
    ('files:saveFile', 'storageId', 'id'),
    ('files:remove', 'fileId', 'id')
ON CONFLICT (path) DO NOTHING;
INSERT INTO convex_front.tables (table_name, shard_field) VALUES
    ('messages', 'roomId'),
    ('presence', 'roomId')
ON CONFLICT (table_name) DO NOTHING;

------------------------------------------------------------------------
-- Routing
--
-- The functions on the path of every call have no SET clause (a SET
-- clause costs a configuration save and restore on each call, more than
-- the routing itself); they run as the caller (SECURITY INVOKER), name
-- their own functions with schema convex_front, and use only built-ins,
-- which pg_catalog, searched first, provides.
------------------------------------------------------------------------

-- node_for_key(key): the node of a shard key (a room), 1..N: PostgreSQL's
-- hashtext modulo N.  NULL (a missing key) goes to node 1, whose
-- validator then refuses the call.
CREATE OR REPLACE FUNCTION convex_front.node_for_key(key text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN key IS NULL THEN 1
                ELSE (abs(pg_catalog.hashtext(key)::bigint) % convex_front.node_count())::integer + 1 END
$$;

-- node_for_id(id): the node number an id carries: the first byte after
-- the table number's varint (the first random byte, which a node sets to
-- its convexlite.node_id), read from the first 10 base32 characters (50
-- bits: a varint of up to 5 bytes and the byte after it) without checking
-- the rest, in two expressions and no loop.  Something that
-- is not an id, or an id naming no node of this front, goes to node 1,
-- which refuses it with its own error (22023 for a malformed id, 0A000 for
-- an id of another node).
CREATE OR REPLACE FUNCTION convex_front.node_for_id(id text) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    alphabet constant text := '0123456789abcdefghjkmnpqrstvwxyz';
    v bigint;
    n integer;
BEGIN
    -- (not a regular expression: one with a bounded repetition costs more than the rest)
    IF id IS NULL OR length(id) NOT BETWEEN 31 AND 37 OR translate(left(id, 10), alphabet, '') <> '' THEN
        RETURN 1;
    END IF;
    v := ((strpos(alphabet, substr(id, 1, 1)) - 1)::bigint << 45) |
         ((strpos(alphabet, substr(id, 2, 1)) - 1)::bigint << 40) |
         ((strpos(alphabet, substr(id, 3, 1)) - 1)::bigint << 35) |
         ((strpos(alphabet, substr(id, 4, 1)) - 1)::bigint << 30) |
         ((strpos(alphabet, substr(id, 5, 1)) - 1)::bigint << 25) |
         ((strpos(alphabet, substr(id, 6, 1)) - 1)::bigint << 20) |
         ((strpos(alphabet, substr(id, 7, 1)) - 1)::bigint << 15) |
         ((strpos(alphabet, substr(id, 8, 1)) - 1)::bigint << 10) |
         ((strpos(alphabet, substr(id, 9, 1)) - 1)::bigint << 5) |
         ((strpos(alphabet, substr(id, 10, 1)) - 1)::bigint << 0);
    n := CASE WHEN (v >> 42) & 255 < 128 THEN (v >> 34) & 255
              WHEN (v >> 34) & 255 < 128 THEN (v >> 26) & 255
              WHEN (v >> 26) & 255 < 128 THEN (v >> 18) & 255
              WHEN (v >> 18) & 255 < 128 THEN (v >> 10) & 255
              ELSE (v >> 2) & 255 END;
    RETURN CASE WHEN n BETWEEN 1 AND convex_front.node_count() THEN n ELSE 1 END;
END
$$;

-- node_for_upload_url(url): the node number an upload URL's token carries
-- (its first byte, two hex digits); a malformed URL goes to node 1, which
-- refuses it (22023).
CREATE OR REPLACE FUNCTION convex_front.node_for_upload_url(url text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN n BETWEEN 1 AND convex_front.node_count() THEN n ELSE 1 END
      FROM (SELECT ('x' || substring(url FROM '/api/storage/upload\?token=([0-9a-f]{2})'))::bit(8)::integer AS n) AS t
$$;

-- user_id(): the signed-in user as the nodes will see it
-- (convexlite.user_id, else the sub of request.jwt.claims up to '|'); NULL
-- when signed out or unreadable (the node then decides).
CREATE OR REPLACE FUNCTION convex_front.user_id() RETURNS text
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    uid text := nullif(current_setting('convexlite.user_id', true), '');
    claims text := nullif(current_setting('request.jwt.claims', true), '');
BEGIN
    IF uid IS NOT NULL OR claims IS NULL THEN
        RETURN uid;
    END IF;
    BEGIN
        RETURN nullif(split_part(claims::jsonb ->> 'sub', '|', 1), '');
    EXCEPTION WHEN OTHERS THEN
        RETURN NULL;
    END;
END
$$;

-- node_for_user(): the signed-in user's node; any node when signed out
CREATE OR REPLACE FUNCTION convex_front.node_for_user() RETURNS integer
    LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN u IS NULL THEN 1 + floor(random() * convex_front.node_count())::integer
                ELSE convex_front.node_for_id(u) END
      FROM (SELECT convex_front.user_id() AS u) AS t
$$;

-- route(path, args): the node a mutation call runs on (42704 when the
-- path was not distributed)
CREATE OR REPLACE FUNCTION convex_front.route(path text, args jsonb) RETURNS integer
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    m convex_front.mutations;
BEGIN
    SELECT * INTO m FROM convex_front.mutations AS cm WHERE cm.path = route.path;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'mutation "%" is not distributed: the front does not know which node runs it', path
            USING ERRCODE = '42704',
                  HINT = 'Name the argument it is routed by: SELECT convex_front_distribute_mutation(path, arg, kind).';
    END IF;
    RETURN CASE m.kind
        WHEN 'key' THEN convex_front.node_for_key(args ->> m.arg)
        WHEN 'id' THEN convex_front.node_for_id(args ->> m.arg)
        ELSE convex_front.node_for_user() END;
END
$$;

-- The identity passed to the node: convexlite.user_id and request.jwt.claims
-- as set on the front (the node checks them, exactly as when called directly)
CREATE OR REPLACE FUNCTION convex_front.claims() RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT current_setting('request.jwt.claims', true) $$;
CREATE OR REPLACE FUNCTION convex_front.uid() RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT current_setting('convexlite.user_id', true) $$;

------------------------------------------------------------------------
-- The PL/Proxy functions: one call, one node (partition = node - 1).  On
-- the node, convex_node_enter checks it is the node meant and sets the
-- caller's identity for the transaction, then the call runs.
------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION convex_front.p_call(part integer, user_id text, claims text, path text, args jsonb)
    RETURNS jsonb LANGUAGE plproxy AS $$
    CLUSTER 'convexlite_nodes';
    RUN ON part;
    SELECT convex_mutation(path, args) AS p_call FROM convex_node_enter(part + 1, user_id, claims);
$$;

CREATE OR REPLACE FUNCTION convex_front.p_storage_upload(part integer, user_id text, claims text,
                                                       upload_url text, data bytea, content_type text)
    RETURNS jsonb LANGUAGE plproxy AS $$
    CLUSTER 'convexlite_nodes';
    RUN ON part;
    SELECT convex_storage_upload(upload_url, data, content_type) AS p_storage_upload
      FROM convex_node_enter(part + 1, user_id, claims);
$$;

CREATE OR REPLACE FUNCTION convex_front.p_storage_get(part integer, storage_id text, start_at bigint, len integer)
    RETURNS bytea LANGUAGE plproxy AS $$
    CLUSTER 'convexlite_nodes';
    RUN ON part;
    SELECT CASE WHEN start_at IS NULL THEN convex_storage_get(storage_id)
                ELSE convex_storage_get(storage_id, start_at, len) END AS p_storage_get
      FROM convex_node_enter(part + 1, NULL, NULL);
$$;

CREATE OR REPLACE FUNCTION convex_front.p_storage_get_url(part integer, storage_id text)
    RETURNS text LANGUAGE plproxy AS $$
    CLUSTER 'convexlite_nodes';
    RUN ON part;
    SELECT convex_storage_get_url(storage_id) AS p_storage_get_url FROM convex_node_enter(part + 1, NULL, NULL);
$$;

CREATE OR REPLACE FUNCTION convex_front.p_storage_get_metadata(part integer, storage_id text)
    RETURNS jsonb LANGUAGE plproxy AS $$
    CLUSTER 'convexlite_nodes';
    RUN ON part;
    SELECT convex_storage_get_metadata(storage_id) AS p_storage_get_metadata FROM convex_node_enter(part + 1, NULL, NULL);
$$;

-- ctx.db through the front: op is get, insert, patch, replace or delete
CREATE OR REPLACE FUNCTION convex_front.p_db(part integer, user_id text, claims text, op text,
                                           table_name text, id text, doc jsonb)
    RETURNS jsonb LANGUAGE plproxy AS $$
    CLUSTER 'convexlite_nodes';
    RUN ON part;
    SELECT CASE op WHEN 'get' THEN convex_db_get(table_name, id)
                   WHEN 'insert' THEN to_jsonb(convex_db_insert(table_name, doc))
                   WHEN 'patch' THEN (SELECT 'null'::jsonb FROM convex_db_patch(table_name, id, doc))
                   WHEN 'replace' THEN (SELECT 'null'::jsonb FROM convex_db_replace(table_name, id, doc))
                   WHEN 'delete' THEN (SELECT 'null'::jsonb FROM convex_db_delete(table_name, id)) END AS p_db
      FROM convex_node_enter(part + 1, user_id, claims);
$$;

CREATE OR REPLACE FUNCTION convex_front.p_db_query(part integer, user_id text, claims text, table_name text,
                                                 index_name text, eq jsonb, order_by text, range jsonb,
                                                 max_rows integer)
    RETURNS SETOF jsonb LANGUAGE plproxy AS $$
    CLUSTER 'convexlite_nodes';
    RUN ON part;
    SELECT convex_db_query(table_name, index_name, eq, order_by, range, max_rows) AS p_db_query
      FROM convex_node_enter(part + 1, user_id, claims);
$$;

-- node_id_at(part): convexlite.node_id of the node behind a partition
CREATE OR REPLACE FUNCTION convex_front.p_node_id_at(part integer) RETURNS integer
    LANGUAGE plproxy AS $$
    CLUSTER 'convexlite_nodes';
    RUN ON part;
    SELECT convex_node_id() AS p_node_id_at;
$$;

------------------------------------------------------------------------
-- A node that cannot be reached.  PL/Proxy reports it as XX000; these
-- wrappers raise 57P03 (cannot_connect_now) when the node could not be
-- connected to (the call did not run there) and 40003
-- (statement_completion_unknown) when the connection broke during the call
-- (it may or may not have committed there).  Not class 08: the client's own
-- connection to the front is fine, and drivers read class 08 as their
-- connection failing.  Errors raised by the node keep their SQLSTATE.
------------------------------------------------------------------------

-- unavailable(part, message): raise the node's unavailability
CREATE OR REPLACE FUNCTION convex_front.unavailable(part integer, message text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF message ~ 'PQconnect|could not connect|connect timeout|connection to server .* failed' THEN
        RAISE EXCEPTION 'convexlite node % is unavailable: the call did not run', part + 1
            USING ERRCODE = '57P03',
                  DETAIL = pg_catalog.json_build_object('code', 'NODE_UNAVAILABLE', 'node', part + 1, 'detail', message)::text,
                  HINT = 'Calls for the rooms and ids of the other nodes go on; retry this one when the node is back.';
    END IF;
    RAISE EXCEPTION 'convexlite node % went away during the call: it may or may not have run there', part + 1
        USING ERRCODE = '40003',
              DETAIL = pg_catalog.json_build_object('code', 'NODE_LOST', 'node', part + 1, 'detail', message)::text,
              HINT = 'Check on that node (by id or key) whether it ran before retrying a call that is not idempotent.';
END
$$;

CREATE OR REPLACE FUNCTION convex_front.call(part integer, user_id text, claims text, path text, args jsonb)
    RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN convex_front.p_call(part, user_id, claims, path, args);
EXCEPTION WHEN internal_error THEN
    IF SQLERRM NOT LIKE '%REMOTE ERROR%' THEN PERFORM convex_front.unavailable(part, SQLERRM); END IF;
    RAISE;
END
$$;

CREATE OR REPLACE FUNCTION convex_front.storage_upload(part integer, user_id text, claims text,
                                                       upload_url text, data bytea, content_type text)
    RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN convex_front.p_storage_upload(part, user_id, claims, upload_url, data, content_type);
EXCEPTION WHEN internal_error THEN
    IF SQLERRM NOT LIKE '%REMOTE ERROR%' THEN PERFORM convex_front.unavailable(part, SQLERRM); END IF;
    RAISE;
END
$$;

CREATE OR REPLACE FUNCTION convex_front.storage_get(part integer, storage_id text, start_at bigint, len integer)
    RETURNS bytea LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN convex_front.p_storage_get(part, storage_id, start_at, len);
EXCEPTION WHEN internal_error THEN
    IF SQLERRM NOT LIKE '%REMOTE ERROR%' THEN PERFORM convex_front.unavailable(part, SQLERRM); END IF;
    RAISE;
END
$$;

CREATE OR REPLACE FUNCTION convex_front.storage_get_url(part integer, storage_id text)
    RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN convex_front.p_storage_get_url(part, storage_id);
EXCEPTION WHEN internal_error THEN
    IF SQLERRM NOT LIKE '%REMOTE ERROR%' THEN PERFORM convex_front.unavailable(part, SQLERRM); END IF;
    RAISE;
END
$$;

CREATE OR REPLACE FUNCTION convex_front.storage_get_metadata(part integer, storage_id text)
    RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN convex_front.p_storage_get_metadata(part, storage_id);
EXCEPTION WHEN internal_error THEN
    IF SQLERRM NOT LIKE '%REMOTE ERROR%' THEN PERFORM convex_front.unavailable(part, SQLERRM); END IF;
    RAISE;
END
$$;

CREATE OR REPLACE FUNCTION convex_front.db(part integer, user_id text, claims text, op text,
                                           table_name text, id text, doc jsonb)
    RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN convex_front.p_db(part, user_id, claims, op, table_name, id, doc);
EXCEPTION WHEN internal_error THEN
    IF SQLERRM NOT LIKE '%REMOTE ERROR%' THEN PERFORM convex_front.unavailable(part, SQLERRM); END IF;
    RAISE;
END
$$;

------------------------------------------------------------------------
-- The public functions: the extension's names and signatures
------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION convex_mutation(path text, args jsonb DEFAULT '{}') RETURNS jsonb
    LANGUAGE sql VOLATILE AS $$
    SELECT convex_front.call(convex_front.route(path, args) - 1, convex_front.uid(), convex_front.claims(), path, args)
$$;

CREATE OR REPLACE FUNCTION convex_messages_send(args jsonb) RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT convex_front.call(convex_front.node_for_key(args ->> 'roomId') - 1, convex_front.uid(),
                             convex_front.claims(), 'messages:send', args) #>> '{}'
$$;

CREATE OR REPLACE FUNCTION convex_messages_remove(args jsonb) RETURNS void
    LANGUAGE sql VOLATILE AS $$
    SELECT FROM convex_front.call(convex_front.node_for_id(args ->> 'messageId') - 1, convex_front.uid(),
                                  convex_front.claims(), 'messages:remove', args)
$$;

CREATE OR REPLACE FUNCTION convex_presence_update(args jsonb) RETURNS void
    LANGUAGE sql VOLATILE AS $$
    SELECT FROM convex_front.call(convex_front.node_for_key(args ->> 'roomId') - 1, convex_front.uid(),
                                  convex_front.claims(), 'presence:update', args)
$$;

CREATE OR REPLACE FUNCTION convex_presence_leave(args jsonb) RETURNS void
    LANGUAGE sql VOLATILE AS $$
    SELECT FROM convex_front.call(convex_front.node_for_key(args ->> 'roomId') - 1, convex_front.uid(),
                                  convex_front.claims(), 'presence:leave', args)
$$;

CREATE OR REPLACE FUNCTION convex_users_update_profile(args jsonb) RETURNS void
    LANGUAGE sql VOLATILE AS $$
    SELECT FROM convex_front.call(convex_front.node_for_user() - 1, convex_front.uid(),
                                  convex_front.claims(), 'users:updateProfile', args)
$$;

CREATE OR REPLACE FUNCTION convex_files_generate_upload_url(args jsonb DEFAULT '{}') RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT convex_front.call(convex_front.node_for_user() - 1, convex_front.uid(),
                             convex_front.claims(), 'files:generateUploadUrl', args) #>> '{}'
$$;

CREATE OR REPLACE FUNCTION convex_files_save_file(args jsonb) RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT convex_front.call(convex_front.node_for_id(args ->> 'storageId') - 1, convex_front.uid(),
                             convex_front.claims(), 'files:saveFile', args) #>> '{}'
$$;

CREATE OR REPLACE FUNCTION convex_files_remove(args jsonb) RETURNS void
    LANGUAGE sql VOLATILE AS $$
    SELECT FROM convex_front.call(convex_front.node_for_id(args ->> 'fileId') - 1, convex_front.uid(),
                                  convex_front.claims(), 'files:remove', args)
$$;

CREATE OR REPLACE FUNCTION convex_storage_upload(upload_url text, data bytea, content_type text DEFAULT NULL)
    RETURNS jsonb LANGUAGE sql VOLATILE AS $$
    SELECT convex_front.storage_upload(convex_front.node_for_upload_url(upload_url) - 1, convex_front.uid(),
                                       convex_front.claims(), upload_url, data, content_type)
$$;

CREATE OR REPLACE FUNCTION convex_storage_get(storage_id text) RETURNS bytea
    LANGUAGE sql VOLATILE AS $$
    SELECT convex_front.storage_get(convex_front.node_for_id(storage_id) - 1, storage_id, NULL, NULL)
$$;

CREATE OR REPLACE FUNCTION convex_storage_get(storage_id text, "offset" bigint, length integer) RETURNS bytea
    LANGUAGE sql VOLATILE AS $$
    SELECT convex_front.storage_get(convex_front.node_for_id(storage_id) - 1, storage_id, "offset", length)
$$;

CREATE OR REPLACE FUNCTION convex_storage_get_url(storage_id text) RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT convex_front.storage_get_url(convex_front.node_for_id(storage_id) - 1, storage_id)
$$;

CREATE OR REPLACE FUNCTION convex_storage_get_metadata(storage_id text) RETURNS jsonb
    LANGUAGE sql VOLATILE AS $$
    SELECT convex_front.storage_get_metadata(convex_front.node_for_id(storage_id) - 1, storage_id)
$$;

CREATE OR REPLACE FUNCTION convex_db_get(table_name text, id text) RETURNS jsonb
    LANGUAGE sql VOLATILE AS $$
    SELECT convex_front.db(convex_front.node_for_id(id) - 1, convex_front.uid(), convex_front.claims(),
                           'get', table_name, id, NULL)
$$;

CREATE OR REPLACE FUNCTION convex_db_patch(table_name text, id text, fields jsonb) RETURNS void
    LANGUAGE sql VOLATILE AS $$
    SELECT FROM convex_front.db(convex_front.node_for_id(id) - 1, convex_front.uid(), convex_front.claims(),
                                'patch', table_name, id, fields)
$$;

CREATE OR REPLACE FUNCTION convex_db_replace(table_name text, id text, doc jsonb) RETURNS void
    LANGUAGE sql VOLATILE AS $$
    SELECT FROM convex_front.db(convex_front.node_for_id(id) - 1, convex_front.uid(), convex_front.claims(),
                                'replace', table_name, id, doc)
$$;

CREATE OR REPLACE FUNCTION convex_db_delete(table_name text, id text) RETURNS void
    LANGUAGE sql VOLATILE AS $$
    SELECT FROM convex_front.db(convex_front.node_for_id(id) - 1, convex_front.uid(), convex_front.claims(),
                                'delete', table_name, id, NULL)
$$;

-- convex_db_insert(table, doc): on the node of the document's shard key
-- (convex_front.tables), or on any node for a table without one (the new
-- id then names its node)
CREATE OR REPLACE FUNCTION convex_db_insert(table_name text, doc jsonb) RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT convex_front.db(coalesce((SELECT convex_front.node_for_key(doc ->> t.shard_field)
                                       FROM convex_front.tables AS t WHERE t.table_name = $1),
                                    1 + floor(random() * convex_front.node_count())::integer) - 1,
                           convex_front.uid(), convex_front.claims(), 'insert', table_name, NULL, doc) #>> '{}'
$$;

-- convex_db_query(...): on the node of the shard key named in eq; a query
-- that does not name it would need every node (0A000)
CREATE OR REPLACE FUNCTION convex_db_query(table_name text,
                                           index_name text DEFAULT 'by_creation_time',
                                           eq jsonb DEFAULT '{}',
                                           order_by text DEFAULT 'asc',
                                           range jsonb DEFAULT NULL,
                                           max_rows integer DEFAULT NULL)
    RETURNS SETOF jsonb LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    field text;
    part integer;
BEGIN
    SELECT t.shard_field INTO field FROM convex_front.tables AS t WHERE t.table_name = convex_db_query.table_name;
    IF field IS NULL OR eq IS NULL OR NOT eq ? field THEN
        RAISE EXCEPTION 'a query of table "%" through the front must fix its shard key in eq', table_name
            USING ERRCODE = '0A000',
                  DETAIL = CASE WHEN field IS NULL THEN format('Table "%s" has no shard key on the front.', table_name)
                                ELSE format('Its shard key is "%s"; a query without it would need every node.', field) END;
    END IF;
    part := convex_front.node_for_key(eq ->> field) - 1;
    RETURN QUERY SELECT convex_front.p_db_query(part, convex_front.uid(), convex_front.claims(), table_name,
                                                index_name, eq, order_by, range, max_rows);
EXCEPTION WHEN internal_error THEN
    IF SQLERRM NOT LIKE '%REMOTE ERROR%' THEN PERFORM convex_front.unavailable(part, SQLERRM); END IF;
    RAISE;
END
$$;

REVOKE ALL ON FUNCTION convex_db_get(text, text), convex_db_patch(text, text, jsonb),
    convex_db_replace(text, text, jsonb), convex_db_delete(text, text), convex_db_insert(text, jsonb),
    convex_db_query(text, text, jsonb, text, jsonb, integer), convex_front.db(integer, text, text, text, text, text, jsonb),
    convex_front.p_db_query(integer, text, text, text, text, jsonb, text, jsonb, integer),
    convex_front.p_db(integer, text, text, text, text, text, jsonb) FROM PUBLIC;

------------------------------------------------------------------------
-- Administration
------------------------------------------------------------------------

-- convex_front_distribute_mutation(path, arg, kind): route registered
-- mutation `path` by its argument `arg` ('key': a shard key such as a
-- room, hashed; 'id': the node of the id in it; 'user': the signed-in
-- user's node, arg NULL).  The documents it touches must all be on that
-- node: a node refuses any id of another node (0A000).
CREATE OR REPLACE FUNCTION convex_front_distribute_mutation(path text, arg text, kind text DEFAULT 'key')
    RETURNS void LANGUAGE sql VOLATILE AS $$
    INSERT INTO convex_front.mutations (path, arg, kind) VALUES (path, arg, kind)
    ON CONFLICT (path) DO UPDATE SET arg = EXCLUDED.arg, kind = EXCLUDED.kind
$$;

-- convex_front_distribute_table(table, field): queries and inserts of
-- `table` through the front go to the node of the document's `field`
CREATE OR REPLACE FUNCTION convex_front_distribute_table(table_name text, shard_field text)
    RETURNS void LANGUAGE sql VOLATILE AS $$
    INSERT INTO convex_front.tables (table_name, shard_field) VALUES (table_name, shard_field)
    ON CONFLICT (table_name) DO UPDATE SET shard_field = EXCLUDED.shard_field
$$;

-- convex_front_node_for_key(key) / convex_front_node_for_id(id): which node
-- a room or an id lives on (a client LISTENs on that node)
CREATE OR REPLACE FUNCTION convex_front_node_for_key(key text) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT convex_front.node_for_key(key) $$;
CREATE OR REPLACE FUNCTION convex_front_node_for_id(id text) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT convex_front.node_for_id(id) $$;

-- convex_front_nodes(): node number and connection string of each node
CREATE OR REPLACE FUNCTION convex_front_nodes(OUT node integer, OUT connstr text) RETURNS SETOF record
    LANGUAGE sql STABLE AS $$
    SELECT substr(split_part(o, '=', 1), 2)::integer + 1, substr(o, strpos(o, '=') + 1)
      FROM pg_catalog.pg_foreign_server AS s, unnest(s.srvoptions) AS o
     WHERE s.srvname = 'convexlite_nodes' AND o ~ '^p[0-9]+='
     ORDER BY 1
$$;

-- convex_front_setup(nodes, user_options): (re)define cluster
-- 'convexlite_nodes' with node n at partition n-1, a user mapping for
-- PUBLIC (user_options, e.g. 'user app password …'; none: each front user
-- connects to the nodes as itself), then check that each node's
-- convexlite.node_id is its position (55000 otherwise).  Returns the number
-- of nodes.
CREATE OR REPLACE FUNCTION convex_front_setup(nodes text[], user_options text[] DEFAULT '{}')
    RETURNS integer LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET client_min_messages = warning AS $$
DECLARE
    n integer := coalesce(cardinality(nodes), 0);
    opts text := '';
    i integer;
    got integer;
BEGIN
    IF n < 1 OR n > 255 THEN
        RAISE EXCEPTION 'a sharded deployment has 1 to 255 nodes, not %', n USING ERRCODE = '22023';
    END IF;
    IF cardinality(user_options) % 2 <> 0 THEN
        RAISE EXCEPTION 'user_options is a list of names and values' USING ERRCODE = '22023';
    END IF;
    DROP SERVER IF EXISTS convexlite_nodes CASCADE;
    FOR i IN 1 .. n LOOP
        opts := opts || format(', p%s %L', i - 1, nodes[i]);
    END LOOP;
    EXECUTE format('CREATE SERVER convexlite_nodes FOREIGN DATA WRAPPER plproxy OPTIONS (modular_mapping %L%s)',
                   '1', opts);
    opts := '';
    FOR i IN 1 .. coalesce(cardinality(user_options), 0) / 2 LOOP
        opts := opts || format('%s%I %L', CASE WHEN i > 1 THEN ', ' ELSE '' END,
                               user_options[2 * i - 1], user_options[2 * i]);
    END LOOP;
    EXECUTE 'CREATE USER MAPPING FOR PUBLIC SERVER convexlite_nodes'
            || CASE WHEN opts = '' THEN '' ELSE ' OPTIONS (' || opts || ')' END;
    GRANT USAGE ON FOREIGN SERVER convexlite_nodes TO PUBLIC;
    EXECUTE format('CREATE OR REPLACE FUNCTION convex_front.node_count() RETURNS integer '
                   'LANGUAGE sql IMMUTABLE AS %L', format('SELECT %s', n));
    FOR i IN 1 .. n LOOP
        got := convex_front.p_node_id_at(i - 1);
        IF got IS DISTINCT FROM i THEN
            RAISE EXCEPTION 'node % (%) has convexlite.node_id = %', i, nodes[i], got
                USING ERRCODE = '55000',
                      HINT = format('Set convexlite.node_id = %s in that server''s postgresql.conf and reload it.', i);
        END IF;
    END LOOP;
    RETURN n;
END
$$;
REVOKE ALL ON FUNCTION convex_front_setup(text[], text[]) FROM PUBLIC;
