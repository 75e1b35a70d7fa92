/* convexlite--0.1.0.sql: Convex's mutation model inside PostgreSQL */

\echo Use "CREATE EXTENSION convexlite" to load this file. \quit

CREATE SCHEMA convex;
COMMENT ON SCHEMA convex IS 'convexlite documents: change them only through convexlite functions';
GRANT USAGE ON SCHEMA convex TO PUBLIC;

-- The catalog: every convexlite table, its stable Convex table number and
-- its document validator (the "value" of a ValidatorJSON object validator).
-- Columns are the fields' names in snake_case.
CREATE TABLE convex._tables (
    name text PRIMARY KEY,
    number integer NOT NULL UNIQUE CHECK (number > 0),
    fields jsonb NOT NULL,
    indexes jsonb NOT NULL DEFAULT '{}',
    is_builtin boolean NOT NULL DEFAULT false,
    -- the fields a realtime notification carries besides _id
    notify jsonb NOT NULL DEFAULT '[]'
);
COMMENT ON TABLE convex._tables IS 'convexlite tables and their Convex table numbers';

-- Application tables defined later get numbers from 10001 upwards, after
-- the seed app's four.
CREATE SEQUENCE convex._table_number_seq START 10005 MINVALUE 10001;

-- Seed app: users (Convex Auth's users table)
CREATE TABLE convex.users (
    _id text COLLATE "C" PRIMARY KEY,
    _creation_time double precision NOT NULL,
    name text,
    email text,
    image text,
    email_verification_time double precision,
    phone text,
    phone_verification_time double precision,
    is_anonymous boolean
);
CREATE INDEX users_email ON convex.users (email, _creation_time);
CREATE INDEX users_phone ON convex.users (phone, _creation_time);

-- Seed app: chat messages
CREATE TABLE convex.messages (
    _id text COLLATE "C" PRIMARY KEY,
    _creation_time double precision NOT NULL,
    room_id text COLLATE "C" NOT NULL,
    user_id text COLLATE "C",
    content text NOT NULL,
    user_name text NOT NULL,
    session_id text
);
CREATE INDEX messages_by_room ON convex.messages (room_id, _creation_time);

-- Seed app: presence.  A heartbeat changes only data and last_seen, and no
-- index covers either, so every heartbeat is a HOT update into the free
-- space that the fillfactor leaves on the page; the seed's by_last_seen
-- index is deliberately absent (cleanup scans this small table instead).
-- The two unique indexes make "one row per session and room" (and per user
-- and room when there is no session, an empty sessionId counting as none,
-- as in the seed) a guarantee that concurrent first heartbeats cannot
-- break.  Ids and lookup keys compare bytewise (COLLATE "C"): equality is
-- all they need, and the database's collation would only add strcoll().
CREATE TABLE convex.presence (
    _id text COLLATE "C" PRIMARY KEY,
    _creation_time double precision NOT NULL,
    room_id text COLLATE "C" NOT NULL,
    user_id text COLLATE "C",
    session_id text COLLATE "C",
    data jsonb NOT NULL,
    last_seen double precision NOT NULL
) WITH (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.05);
CREATE UNIQUE INDEX presence_by_session_and_room
    ON convex.presence (session_id, room_id) WHERE session_id <> '';
CREATE UNIQUE INDEX presence_by_user_without_session
    ON convex.presence (user_id, room_id)
    WHERE (session_id IS NULL OR session_id = '') AND user_id IS NOT NULL;
CREATE INDEX presence_by_user_and_room
    ON convex.presence (user_id, room_id, _creation_time) WHERE user_id IS NOT NULL;

-- Seed app: uploaded files' metadata
CREATE TABLE convex.files (
    _id text COLLATE "C" PRIMARY KEY,
    _creation_time double precision NOT NULL,
    storage_id text COLLATE "C" NOT NULL,
    user_id text COLLATE "C",
    session_id text,
    name text NOT NULL,
    type text NOT NULL,
    size double precision NOT NULL
);
CREATE INDEX files_by_storage_id ON convex.files (storage_id);
CREATE INDEX files_by_user ON convex.files (user_id, _creation_time) WHERE user_id IS NOT NULL;

-- ctx.storage: one row per stored blob (a large object)
CREATE TABLE convex._storage (
    _id text COLLATE "C" PRIMARY KEY,
    _creation_time double precision NOT NULL,
    sha256 text NOT NULL,
    size double precision NOT NULL,
    content_type text,
    blob oid NOT NULL UNIQUE
);
CREATE INDEX _storage_by_creation_time ON convex._storage (_creation_time);
COMMENT ON TABLE convex._storage IS 'ctx.storage: one row per blob; blob is its large object, owned by this schema''s owner';

-- Upload URLs handed out and not yet expired: only the SHA-256 of each
-- token is kept, so reading this table does not let anyone upload.
CREATE TABLE convex._upload_tokens (
    token_hash bytea PRIMARY KEY,
    expires_at double precision NOT NULL,
    used boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE convex._upload_tokens IS 'single-use upload URLs (SHA-256 of the token, expiry in ms since the epoch)';

-- ctx.scheduler: one row per scheduled function, with Convex's fields
-- (args is an array holding the one args object, as in Convex).  Jobs are
-- claimed in scheduled_time order through the partial index of pending ones.
CREATE TABLE convex._scheduled_functions (
    _id text COLLATE "C" PRIMARY KEY,
    _creation_time double precision NOT NULL,
    name text NOT NULL,
    args jsonb NOT NULL,
    scheduled_time double precision NOT NULL,
    completed_time double precision,
    state jsonb NOT NULL
);
CREATE INDEX _scheduled_functions_due ON convex._scheduled_functions (scheduled_time)
    WHERE (state ->> 'kind') = 'pending';
CREATE INDEX _scheduled_functions_by_completed_time ON convex._scheduled_functions (completed_time)
    WHERE completed_time IS NOT NULL;
CREATE INDEX _scheduled_functions_by_creation_time ON convex._scheduled_functions (_creation_time);
COMMENT ON TABLE convex._scheduled_functions IS 'ctx.scheduler: scheduled mutations and their states (pending, success, failed, canceled)';

INSERT INTO convex._tables (name, number, fields, indexes, is_builtin) VALUES
('_storage', 1, '{
    "sha256": {"fieldType": {"type": "string"}, "optional": false},
    "size": {"fieldType": {"type": "number"}, "optional": false},
    "contentType": {"fieldType": {"type": "string"}, "optional": true}
  }', '{}', true),
('_scheduled_functions', 2, '{
    "name": {"fieldType": {"type": "string"}, "optional": false},
    "args": {"fieldType": {"type": "array", "value": {"type": "any"}}, "optional": false},
    "scheduledTime": {"fieldType": {"type": "number"}, "optional": false},
    "completedTime": {"fieldType": {"type": "number"}, "optional": true},
    "state": {"fieldType": {"type": "union", "value": [
        {"type": "object", "value": {"kind": {"fieldType": {"type": "literal", "value": "pending"}, "optional": false}}},
        {"type": "object", "value": {"kind": {"fieldType": {"type": "literal", "value": "inProgress"}, "optional": false}}},
        {"type": "object", "value": {"kind": {"fieldType": {"type": "literal", "value": "success"}, "optional": false}}},
        {"type": "object", "value": {"kind": {"fieldType": {"type": "literal", "value": "failed"}, "optional": false},
                                     "error": {"fieldType": {"type": "string"}, "optional": false}}},
        {"type": "object", "value": {"kind": {"fieldType": {"type": "literal", "value": "canceled"}, "optional": false}}}
    ]}, "optional": false}
  }', '{}', true),
('users', 10001, '{
    "name": {"fieldType": {"type": "string"}, "optional": true},
    "email": {"fieldType": {"type": "string"}, "optional": true},
    "image": {"fieldType": {"type": "string"}, "optional": true},
    "emailVerificationTime": {"fieldType": {"type": "number"}, "optional": true},
    "phone": {"fieldType": {"type": "string"}, "optional": true},
    "phoneVerificationTime": {"fieldType": {"type": "number"}, "optional": true},
    "isAnonymous": {"fieldType": {"type": "boolean"}, "optional": true}
  }', '{"email": ["email"], "phone": ["phone"]}', true),
('messages', 10002, '{
    "roomId": {"fieldType": {"type": "string"}, "optional": false},
    "userId": {"fieldType": {"type": "id", "tableName": "users"}, "optional": true},
    "content": {"fieldType": {"type": "string"}, "optional": false},
    "userName": {"fieldType": {"type": "string"}, "optional": false},
    "sessionId": {"fieldType": {"type": "string"}, "optional": true}
  }', '{"by_room": ["roomId"]}', true),
('presence', 10003, '{
    "roomId": {"fieldType": {"type": "string"}, "optional": false},
    "userId": {"fieldType": {"type": "id", "tableName": "users"}, "optional": true},
    "sessionId": {"fieldType": {"type": "string"}, "optional": true},
    "data": {"fieldType": {"type": "object", "value": {
        "cursor": {"fieldType": {"type": "object", "value": {
            "x": {"fieldType": {"type": "number"}, "optional": false},
            "y": {"fieldType": {"type": "number"}, "optional": false}}}, "optional": true},
        "position": {"fieldType": {"type": "object", "value": {
            "x": {"fieldType": {"type": "number"}, "optional": false},
            "y": {"fieldType": {"type": "number"}, "optional": false}}}, "optional": true},
        "status": {"fieldType": {"type": "string"}, "optional": true},
        "userName": {"fieldType": {"type": "string"}, "optional": true},
        "userImage": {"fieldType": {"type": "string"}, "optional": true},
        "color": {"fieldType": {"type": "string"}, "optional": true},
        "name": {"fieldType": {"type": "string"}, "optional": true}}}, "optional": false},
    "lastSeen": {"fieldType": {"type": "number"}, "optional": false}
  }', '{"by_session_and_room": ["sessionId", "roomId"], "by_user_and_room": ["userId", "roomId"]}', true),
('files', 10004, '{
    "storageId": {"fieldType": {"type": "id", "tableName": "_storage"}, "optional": false},
    "userId": {"fieldType": {"type": "id", "tableName": "users"}, "optional": true},
    "sessionId": {"fieldType": {"type": "string"}, "optional": true},
    "name": {"fieldType": {"type": "string"}, "optional": false},
    "type": {"fieldType": {"type": "string"}, "optional": false},
    "size": {"fieldType": {"type": "number"}, "optional": false}
  }', '{"by_storage_id": ["storageId"], "by_user": ["userId"]}', true);

-- Realtime: a room's clients follow its messages and presence by roomId
UPDATE convex._tables SET notify = '["roomId"]' WHERE name IN ('messages', 'presence');

-- Registered mutations (convex_define_mutation): the api.* / internal.*
-- analogue.  handler is f(args jsonb) RETURNS jsonb and runs as its owner;
-- args and returns are ValidatorJSON (returns NULL: v.any()).
CREATE TABLE convex._functions (
    path text COLLATE "C" PRIMARY KEY,
    handler regprocedure NOT NULL,
    args jsonb NOT NULL,
    returns jsonb,
    internal boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE convex._functions IS 'convexlite mutations registered with convex_define_mutation';

-- pg_dump keeps the documents (the extension's own rows are recreated by
-- CREATE EXTENSION).
SELECT pg_catalog.pg_extension_config_dump('convex._tables', 'WHERE NOT is_builtin');
SELECT pg_catalog.pg_extension_config_dump('convex._table_number_seq', '');
SELECT pg_catalog.pg_extension_config_dump('convex._functions', '');
SELECT pg_catalog.pg_extension_config_dump('convex.users', '');
SELECT pg_catalog.pg_extension_config_dump('convex.messages', '');
SELECT pg_catalog.pg_extension_config_dump('convex.presence', '');
SELECT pg_catalog.pg_extension_config_dump('convex.files', '');
SELECT pg_catalog.pg_extension_config_dump('convex._storage', '');
SELECT pg_catalog.pg_extension_config_dump('convex._upload_tokens', '');
SELECT pg_catalog.pg_extension_config_dump('convex._scheduled_functions', '');

-- Nobody but the owner touches the tables directly.
REVOKE ALL ON ALL TABLES IN SCHEMA convex FROM PUBLIC;
REVOKE ALL ON SEQUENCE convex._table_number_seq FROM PUBLIC;
-- table names, mutation paths and validators are schema, not data: anyone
-- may read them (reading an internal mutation's path does not let anyone
-- run it)
GRANT SELECT ON convex._tables TO PUBLIC;
GRANT SELECT ON convex._functions TO PUBLIC;

------------------------------------------------------------------------
-- The seed app's public mutations.  They run with the extension owner's
-- rights (SECURITY DEFINER); the C code plans every statement once, with
-- schema-qualified names, and plans and runs it under a pinned search_path
-- of pg_catalog alone, so the caller's search_path cannot reach them.
------------------------------------------------------------------------

CREATE FUNCTION convex_users_update_profile(args jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_users_update_profile'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_users_update_profile(jsonb) IS 'users.updateProfile: {name?: string, image?: string}';

CREATE FUNCTION convex_messages_send(args jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'convex_messages_send'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_messages_send(jsonb) IS 'messages.send: {roomId, content, userName, sessionId?} -> Id<"messages">';

CREATE FUNCTION convex_messages_remove(args jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_messages_remove'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_messages_remove(jsonb) IS 'messages.remove: {messageId, sessionId?}';

CREATE FUNCTION convex_presence_update(args jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_presence_update'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_presence_update(jsonb) IS 'presence.update: {roomId, data, sessionId?}';

CREATE FUNCTION convex_presence_leave(args jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_presence_leave'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_presence_leave(jsonb) IS 'presence.leave: {roomId, sessionId?}';

-- presence.cleanup is internal: only the owner, pg_cron jobs and roles
-- granted EXECUTE may run it.
CREATE FUNCTION convex_presence_cleanup(args jsonb DEFAULT '{}')
RETURNS integer
AS 'MODULE_PATHNAME', 'convex_presence_cleanup'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_presence_cleanup(jsonb) IS 'presence.cleanup (internal): delete presence not seen for 30 s';

REVOKE ALL ON FUNCTION convex_presence_cleanup(jsonb) FROM PUBLIC;

CREATE FUNCTION convex_files_generate_upload_url(args jsonb DEFAULT '{}')
RETURNS text
AS 'MODULE_PATHNAME', 'convex_files_generate_upload_url'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_files_generate_upload_url(jsonb) IS 'files.generateUploadUrl: {} -> a single-use upload URL';

CREATE FUNCTION convex_files_save_file(args jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'convex_files_save_file'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_files_save_file(jsonb) IS 'files.saveFile: {storageId, name, type, size, sessionId?} -> Id<"files">';

CREATE FUNCTION convex_files_remove(args jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_files_remove'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_files_remove(jsonb) IS 'files.remove: {fileId, sessionId?}; deletes the file''s blob too';

------------------------------------------------------------------------
-- ctx.storage.  Blobs are large objects owned by the owner of schema
-- convex.  Uploading is Convex's upload POST: the single-use URL is the
-- authorization, so anyone may call it.  Reading by storage id is open
-- like a Convex file URL; deleting and cleanup are internal.
------------------------------------------------------------------------

CREATE FUNCTION convex_storage_upload(upload_url text, data bytea, content_type text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_storage_upload'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_storage_upload(text, bytea, text) IS 'upload a blob with an upload URL -> {"storageId": …}';

-- The streaming upload: the caller's own large object (lo_import,
-- lo_write) is copied in chunks into a blob, and the original unlinked.
-- SECURITY INVOKER, so the caller's ownership of it can be checked; the
-- copy runs as the owner of schema convex.
CREATE FUNCTION convex_storage_upload(upload_url text, data oid, content_type text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_storage_upload_large_object'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_storage_upload(text, oid, text) IS 'upload a large object the caller owns (copied into a blob, then unlinked) -> {"storageId": …}';

CREATE FUNCTION convex_storage_get(storage_id text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'convex_storage_get'
LANGUAGE C STABLE SECURITY DEFINER;
COMMENT ON FUNCTION convex_storage_get(text) IS 'ctx.storage.get: the blob''s bytes, NULL if it does not exist';

CREATE FUNCTION convex_storage_get(storage_id text, "offset" bigint, length integer)
RETURNS bytea
AS 'MODULE_PATHNAME', 'convex_storage_get_range'
LANGUAGE C STABLE SECURITY DEFINER;
COMMENT ON FUNCTION convex_storage_get(text, bigint, integer) IS 'length bytes of a blob from offset (for blobs larger than a bytea)';

CREATE FUNCTION convex_storage_get_url(storage_id text)
RETURNS text
AS 'MODULE_PATHNAME', 'convex_storage_get_url'
LANGUAGE C STABLE SECURITY DEFINER;
COMMENT ON FUNCTION convex_storage_get_url(text) IS 'ctx.storage.getUrl: <convexlite.url>/api/storage/<id>, NULL if it does not exist';

CREATE FUNCTION convex_storage_get_metadata(storage_id text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_storage_get_metadata'
LANGUAGE C STABLE SECURITY DEFINER;
COMMENT ON FUNCTION convex_storage_get_metadata(text) IS 'ctx.storage.getMetadata: {storageId, sha256, size, contentType}, NULL if it does not exist';

CREATE FUNCTION convex_storage_generate_upload_url()
RETURNS text
AS 'MODULE_PATHNAME', 'convex_storage_generate_upload_url'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_storage_generate_upload_url() IS 'ctx.storage.generateUploadUrl (for mutation handlers)';
REVOKE ALL ON FUNCTION convex_storage_generate_upload_url() FROM PUBLIC;

CREATE FUNCTION convex_storage_delete(storage_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_storage_delete'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_storage_delete(text) IS 'ctx.storage.delete: delete a blob (internal)';
REVOKE ALL ON FUNCTION convex_storage_delete(text) FROM PUBLIC;

-- Reclaim blobs never referenced, older than the grace period (default
-- one day), and forget expired upload URLs.  Internal; pg_cron runs it.
CREATE FUNCTION convex_storage_cleanup(older_than_ms double precision DEFAULT 86400000)
RETURNS integer
AS 'MODULE_PATHNAME', 'convex_storage_cleanup'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_storage_cleanup(double precision) IS 'reclaim unreferenced blobs older than older_than_ms and expired upload URLs (internal)';
REVOKE ALL ON FUNCTION convex_storage_cleanup(double precision) FROM PUBLIC;

------------------------------------------------------------------------
-- ctx.db.  These run with the caller's rights (SECURITY INVOKER): they are
-- for mutation handlers owned by privileged roles, and ordinary roles,
-- which cannot write convexlite's tables, cannot use them to do so.
------------------------------------------------------------------------

CREATE FUNCTION convex_db_insert(table_name text, doc jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'convex_db_insert'
LANGUAGE C VOLATILE;

CREATE FUNCTION convex_db_get(table_name text, id text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_db_get'
LANGUAGE C VOLATILE;

CREATE FUNCTION convex_db_patch(table_name text, id text, fields jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_db_patch'
LANGUAGE C VOLATILE;

CREATE FUNCTION convex_db_replace(table_name text, id text, doc jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_db_replace'
LANGUAGE C VOLATILE;

CREATE FUNCTION convex_db_delete(table_name text, id text)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_db_delete'
LANGUAGE C VOLATILE;

-- ctx.db.query(table).withIndex(index, q => q.eq(…)…[.gt/.gte][.lt/.lte])
-- .order(order_by).take(max_rows): documents in index order
CREATE FUNCTION convex_db_query(table_name text,
                                index_name text DEFAULT 'by_creation_time',
                                eq jsonb DEFAULT '{}',
                                order_by text DEFAULT 'asc',
                                range jsonb DEFAULT NULL,
                                max_rows integer DEFAULT NULL)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'convex_db_query'
LANGUAGE C VOLATILE;

REVOKE ALL ON FUNCTION convex_db_query(text, text, jsonb, text, jsonb, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION convex_db_insert(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION convex_db_get(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION convex_db_patch(text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION convex_db_replace(text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION convex_db_delete(text, text) FROM PUBLIC;

------------------------------------------------------------------------
-- Schema: application tables (the schema.ts analogue).  For the
-- application's owner: the tables it creates belong to the caller, with no
-- rights for PUBLIC, like the built-in ones.
------------------------------------------------------------------------

CREATE FUNCTION convex_define_table(table_name text, fields jsonb, indexes jsonb DEFAULT '{}')
RETURNS integer
AS 'MODULE_PATHNAME', 'convex_define_table'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_define_table(text, jsonb, jsonb) IS 'defineTable: create or redefine a table in schema convex; returns its table number';
REVOKE ALL ON FUNCTION convex_define_table(text, jsonb, jsonb) FROM PUBLIC;

-- Realtime: the fields (strings, ids, numbers, booleans; at most 4) that
-- the notifications of a table's writes carry besides _id, for clients to
-- filter by.  Every role can LISTEN: name no field that is private.
CREATE FUNCTION convex_table_notify(table_name text, fields text[])
RETURNS void
AS 'MODULE_PATHNAME', 'convex_table_notify'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_table_notify(text, text[]) IS 'choose the fields a user table''s NOTIFY payloads carry besides _id';
REVOKE ALL ON FUNCTION convex_table_notify(text, text[]) FROM PUBLIC;

------------------------------------------------------------------------
-- Mutations: registering them, and running any mutation by path.
------------------------------------------------------------------------

-- Register (or redefine) a mutation; the caller must own the handler.
CREATE FUNCTION convex_define_mutation(path text, handler regprocedure, args jsonb,
                                       returns jsonb DEFAULT NULL, internal boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_define_mutation'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_define_mutation(text, regprocedure, jsonb, jsonb, boolean) IS 'mutation() / internalMutation(): register a handler f(args jsonb) RETURNS jsonb under a Convex path';
REVOKE ALL ON FUNCTION convex_define_mutation(text, regprocedure, jsonb, jsonb, boolean) FROM PUBLIC;

CREATE FUNCTION convex_drop_mutation(path text)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_drop_mutation'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_drop_mutation(text) IS 'forget a registered mutation';
REVOKE ALL ON FUNCTION convex_drop_mutation(text) FROM PUBLIC;

-- Run a mutation by path (ctx.runMutation inside a handler).  Public
-- mutations are for everyone; internal ones only from inside another
-- mutation or for roles with EXECUTE on convex_internal_mutation.
CREATE FUNCTION convex_mutation(path text, args jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_mutation'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_mutation(text, jsonb) IS 'run a mutation by Convex path, e.g. messages:send; also ctx.runMutation';

-- The same for internal callers: EXECUTE on it is the right to run
-- internal mutations (GRANT it to a worker role, never to PUBLIC).
CREATE FUNCTION convex_internal_mutation(path text, args jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'convex_internal_mutation'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_internal_mutation(text, jsonb) IS 'run any mutation, internal ones included (for roles granted EXECUTE)';
REVOKE ALL ON FUNCTION convex_internal_mutation(text, jsonb) FROM PUBLIC;

------------------------------------------------------------------------
-- ctx.scheduler.  Like ctx.db, for mutation handlers (not granted to
-- PUBLIC); the job row is written with the extension owner's rights, and
-- an internal mutation can be scheduled only from inside a mutation or by
-- a role with the internal right.
------------------------------------------------------------------------

CREATE FUNCTION convex_scheduler_run_after(delay_ms double precision, path text, args jsonb DEFAULT '{}')
RETURNS text
AS 'MODULE_PATHNAME', 'convex_scheduler_run_after'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_scheduler_run_after(double precision, text, jsonb) IS 'ctx.scheduler.runAfter: run a mutation delay_ms after this transaction commits; returns its Id<"_scheduled_functions">';

CREATE FUNCTION convex_scheduler_run_at(timestamp_ms double precision, path text, args jsonb DEFAULT '{}')
RETURNS text
AS 'MODULE_PATHNAME', 'convex_scheduler_run_at'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_scheduler_run_at(double precision, text, jsonb) IS 'ctx.scheduler.runAt: run a mutation at timestamp_ms (ms since the epoch), or at once if that has passed';

CREATE FUNCTION convex_scheduler_cancel(id text)
RETURNS void
AS 'MODULE_PATHNAME', 'convex_scheduler_cancel'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION convex_scheduler_cancel(text) IS 'ctx.scheduler.cancel: a pending job never runs; a finished one is left as it is';

REVOKE ALL ON FUNCTION convex_scheduler_run_after(double precision, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION convex_scheduler_run_at(double precision, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION convex_scheduler_cancel(text) FROM PUBLIC;

-- Run due jobs without the background worker (CALL it from pg_cron):
-- one transaction per job when CALLed outside a transaction block.
CREATE PROCEDURE convex_scheduler_run_due(max_jobs integer DEFAULT 1000)
AS 'MODULE_PATHNAME', 'convex_scheduler_run_due'
LANGUAGE C;
COMMENT ON PROCEDURE convex_scheduler_run_due(integer) IS 'run up to max_jobs due scheduled functions, committing after each (internal)';
REVOKE ALL ON PROCEDURE convex_scheduler_run_due(integer) FROM PUBLIC;

-- Retention: forget jobs finished more than older_than_ms ago (default 7
-- days, as Convex), at most 10,000 a call.  Internal; pg_cron runs it.
CREATE FUNCTION convex_scheduler_cleanup(older_than_ms double precision DEFAULT 604800000)
RETURNS integer
AS 'MODULE_PATHNAME', 'convex_scheduler_cleanup'
LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION convex_scheduler_cleanup(double precision) IS 'delete scheduled-function records finished more than older_than_ms ago (internal)';
REVOKE ALL ON FUNCTION convex_scheduler_cleanup(double precision) FROM PUBLIC;

------------------------------------------------------------------------
-- Ids and identity
------------------------------------------------------------------------

-- The table an id belongs to (NULL for a string that is not a valid id of
-- any convexlite table); strict, like Convex's decoding.
CREATE FUNCTION convex_id_table(id text)
RETURNS text
AS 'MODULE_PATHNAME', 'convex_id_table'
LANGUAGE C STABLE STRICT;

-- getAuthUserId(ctx): convexlite.user_id, else request.jwt.claims' sub
CREATE FUNCTION convex_auth_user_id()
RETURNS text
AS 'MODULE_PATHNAME', 'convex_auth_user_id'
LANGUAGE C STABLE;

------------------------------------------------------------------------
-- The presence.cleanup cron job
------------------------------------------------------------------------

-- Schedule convexlite's jobs in pg_cron (idempotent).  CREATE EXTENSION
-- calls it when pg_cron is installed in this database; call it yourself
-- after installing pg_cron later.
CREATE FUNCTION convex_schedule_jobs()
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
                          format('SELECT %I.convex_presence_cleanup()', ext_schema));
    PERFORM cron.schedule('convexlite-storage-cleanup', '*/5 * * * *',
                          format('SELECT %I.convex_storage_cleanup()', ext_schema));
    PERFORM cron.schedule('convexlite-scheduler-cleanup', '* * * * *',
                          format('SELECT %I.convex_scheduler_cleanup()', ext_schema));
    -- the background worker runs jobs as they fall due; this is the
    -- fallback for servers without it (and harmless beside it)
    PERFORM cron.schedule('convexlite-scheduler-run-due', '* * * * *',
                          format('CALL %I.convex_scheduler_run_due()', ext_schema));
END;
$$;
REVOKE ALL ON FUNCTION convex_schedule_jobs() FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        PERFORM convex_schedule_jobs();
        RAISE NOTICE 'convexlite: scheduled presence.cleanup, scheduler retention and due jobs every minute, and storage cleanup every 5 minutes in pg_cron (jobs "convexlite-presence-cleanup", "convexlite-scheduler-cleanup", "convexlite-scheduler-run-due", "convexlite-storage-cleanup")';
    ELSE
        RAISE NOTICE 'convexlite: pg_cron is not installed in this database, so presence.cleanup, storage and scheduler cleanup are not scheduled'
            USING HINT = 'Install pg_cron here and run SELECT convex_schedule_jobs(); or call SELECT convex_presence_cleanup(); and SELECT convex_scheduler_cleanup(); every minute and SELECT convex_storage_cleanup(); every 5 minutes from another scheduler.';
    END IF;
END;
$$;
