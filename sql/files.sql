--
-- files.generateUploadUrl, the upload, files.saveFile and files.remove, and
-- ctx.storage: the seed's examples as written
--
SELECT convex_db_insert('users', '{"name": "Alice"}') AS alice \gset
-- large objects that existed before this file (the leak check ignores them)
CREATE TEMP TABLE large_objects_before AS SELECT oid FROM pg_largeobject_metadata;
SELECT convex_db_insert('users', '{"name": "Bob"}') AS bob \gset

-- const uploadUrl = await ctx.runMutation(api.files.generateUploadUrl, {});
SELECT convex_files_generate_upload_url('{}') AS upload_url \gset
SELECT regexp_replace(:'upload_url', '[0-9a-f]{36}$', '<token>') AS url_shape;
-- a URL is never handed out twice, and only its token's hash is stored
SELECT convex_files_generate_upload_url() <> :'upload_url' AS fresh_each_time;
SELECT count(*) AS tokens, bool_and(length(token_hash) = 32) AS hashed_only,
       bool_and(NOT used) AS unused
  FROM convex._upload_tokens;
SELECT bool_and(position(encode(token_hash, 'hex') IN :'upload_url') = 0) AS token_not_stored
  FROM convex._upload_tokens;

-- const response = await fetch(uploadUrl, {method: "POST", body: fileData});
-- const { storageId } = await response.json();
SELECT convex_storage_upload(:'upload_url', convert_to('%PDF-1.7 hello', 'UTF8'),
                             'application/pdf') AS response \gset
SELECT :'response'::jsonb ? 'storageId' AS has_storage_id,
       convex_id_table(:'response'::jsonb->>'storageId') AS id_table;
SELECT :'response'::jsonb->>'storageId' AS storage_id \gset
-- the blob and what _storage says of it
SELECT size, sha256 = encode(sha256(convert_to('%PDF-1.7 hello', 'UTF8')), 'base64') AS sha256_base64,
       content_type
  FROM convex._storage WHERE _id = :'storage_id';
SELECT convert_from(convex_storage_get(:'storage_id'), 'UTF8') AS content;
SELECT convert_from(convex_storage_get(:'storage_id', 9, 5), 'UTF8') AS range;
SELECT convex_storage_get_metadata(:'storage_id') - 'storageId' - 'sha256' AS metadata;
SELECT regexp_replace(convex_storage_get_url(:'storage_id'), '[0-9a-z]{31,37}$', '<id>') AS file_url;
SELECT convex_db_get('_storage', :'storage_id') - '_id' - '_creationTime' - 'sha256' AS system_document;
-- the URL was single-use
SELECT regress_try(format($$SELECT convex_storage_upload(%L, '\x00'::bytea)$$, :'upload_url'));

-- const fileId = await ctx.runMutation(api.files.saveFile, {storageId, name:
--   "document.pdf", type: "application/pdf", size: 2048576, sessionId: "session_xyz"});
SELECT convex_files_save_file(jsonb_build_object(
    'storageId', :'storage_id', 'name', 'document.pdf', 'type', 'application/pdf',
    'size', 2048576, 'sessionId', 'session_xyz')) AS f1 \gset
SELECT convex_id_table(:'f1') AS file_id_table;
SELECT convex_db_get('files', :'f1') - '_id' - '_creationTime' - 'storageId' AS file_document;
-- signed in: the file is the user's
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_files_generate_upload_url() AS url2 \gset
SELECT convex_storage_upload(:'url2', '\xcafe'::bytea)->>'storageId' AS storage2 \gset
SELECT convex_files_save_file(jsonb_build_object(
    'storageId', :'storage2', 'name', 'a.bin', 'type', 'application/octet-stream', 'size', 2)) AS f2 \gset
COMMIT;
SELECT user_id = :'alice' AS owned_by_alice, session_id IS NULL AS no_session
  FROM convex.files WHERE _id = :'f2';

-- saveFile's arguments are checked; nothing is written on refusal
SELECT count(*) AS files_before FROM convex.files;
SELECT regress_try($$SELECT convex_files_save_file('{"storageId": "nope", "name": "a", "type": "t", "size": 1}')$$);
SELECT regress_try(format($$SELECT convex_files_save_file('{"storageId": %s, "name": "a", "type": "t", "size": 1}')$$,
                          to_jsonb(:'f1'::text)));
SELECT regress_try(format($$SELECT convex_files_save_file('{"storageId": %s, "name": "a", "type": "t"}')$$,
                          to_jsonb(:'storage_id'::text)));
SELECT regress_try(format($$SELECT convex_files_save_file('{"storageId": %s, "name": "a", "type": "t", "size": "1"}')$$,
                          to_jsonb(:'storage_id'::text)));
SELECT regress_try(format($$SELECT convex_files_save_file('{"storageId": %s, "name": "a", "type": "t", "size": 1, "userId": "x"}')$$,
                          to_jsonb(:'storage_id'::text)));
SELECT regress_try($$SELECT convex_files_save_file(NULL)$$);
SELECT regress_try($$SELECT convex_files_generate_upload_url('{"x": 1}')$$);
SELECT count(*) AS files_after FROM convex.files;

-- await ctx.runMutation(api.files.remove, {fileId, sessionId: "session_xyz"});
-- Bob may not remove Alice's file: silently nothing
BEGIN;
SET LOCAL convexlite.user_id = :'bob';
SELECT convex_files_remove(jsonb_build_object('fileId', :'f2'));
COMMIT;
SELECT count(*) AS alices_file_kept FROM convex.files WHERE _id = :'f2';
SELECT count(*) AS alices_blob_kept FROM convex._storage WHERE _id = :'storage2';
-- f1 belongs to no user: anyone may remove it (the seed's "orphaned" rule);
-- the files row, the _storage row and the large object go together
SELECT blob AS blob1 FROM convex._storage WHERE _id = :'storage_id' \gset
SELECT convex_files_remove(jsonb_build_object('fileId', :'f1', 'sessionId', 'session_xyz'));
SELECT (SELECT count(*) FROM convex.files WHERE _id = :'f1') AS file_rows,
       (SELECT count(*) FROM convex._storage WHERE _id = :'storage_id') AS storage_rows,
       (SELECT count(*) FROM pg_largeobject_metadata WHERE oid = :blob1) AS large_objects;
SELECT convex_storage_get(:'storage_id') IS NULL AS blob_gone,
       convex_storage_get_url(:'storage_id') IS NULL AS url_gone,
       convex_storage_get_metadata(:'storage_id') IS NULL AS metadata_gone;
-- idempotent: removing again is silently nothing
SELECT convex_files_remove(jsonb_build_object('fileId', :'f1'));
-- Alice removes her own file
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_files_remove(jsonb_build_object('fileId', :'f2'));
COMMIT;
SELECT count(*) AS removed_by_owner FROM convex.files WHERE _id = :'f2';

-- A removal that is rolled back leaves file, row and blob as they were
SELECT convex_storage_upload(convex_files_generate_upload_url(), '\x0102'::bytea)->>'storageId' AS s3 \gset
SELECT convex_files_save_file(jsonb_build_object('storageId', :'s3', 'name', 'b', 'type', 't', 'size', 2)) AS f3 \gset
BEGIN;
SELECT convex_files_remove(jsonb_build_object('fileId', :'f3'));
ROLLBACK;
SELECT count(*) AS file_back FROM convex.files WHERE _id = :'f3';
SELECT convex_storage_get(:'s3') AS blob_back;

-- Through convex_mutation, by path
SELECT convex_mutation('files:generateUploadUrl', '{}') #>> '{}' AS url4 \gset
SELECT convex_storage_upload(:'url4', '\xff'::bytea)->>'storageId' AS s4 \gset
SELECT convex_id_table(convex_mutation('files:saveFile', jsonb_build_object(
    'storageId', :'s4', 'name', 'c', 'type', 't', 'size', 1)) #>> '{}') AS saved_through_dispatcher;
SELECT convex_mutation('files:remove', jsonb_build_object('fileId', _id)) AS removed
  FROM convex.files WHERE storage_id = :'s4';

-- ctx.storage.delete of a blob that is gone: Convex's error
SELECT regress_try(format('SELECT convex_storage_delete(%L)', :'storage_id'));
-- a file whose blob was deleted cannot be removed (ctx.storage.delete
-- throws, as in Convex); nothing is deleted
SELECT convex_storage_delete(:'s3');
SELECT regress_try(format($$SELECT convex_files_remove('{"fileId": "%s"}')$$, :'f3'));
SELECT count(*) AS file_still_there FROM convex.files WHERE _id = :'f3';

-- Unreferenced blobs are reclaimed after the grace period; referenced ones never
SELECT convex_storage_upload(convex_files_generate_upload_url(), '\x00'::bytea)->>'storageId' AS orphan \gset
SELECT convex_storage_cleanup() AS reclaimed_within_grace;
SELECT convex_storage_cleanup(0) AS reclaimed;
SELECT count(*) AS orphan_left FROM convex._storage WHERE _id = :'orphan';
SELECT (SELECT count(*) FROM pg_largeobject_metadata m
         WHERE m.lomowner = (SELECT nspowner FROM pg_namespace WHERE nspname = 'convex')
           AND m.oid NOT IN (SELECT oid FROM large_objects_before)
           AND NOT EXISTS (SELECT 1 FROM convex._storage s WHERE s.blob = m.oid)) AS leaked_large_objects,
       (SELECT count(*) FROM convex._storage s
         WHERE NOT EXISTS (SELECT 1 FROM pg_largeobject_metadata m WHERE m.oid = s.blob)) AS rows_without_blob;

-- The large-object upload copies the caller's large object into a new
-- blob and unlinks the original, even within the statement that created it
SELECT lo_from_bytea(0, 'older') AS old_lo \gset
SELECT convex_storage_upload_large_object(convex_files_generate_upload_url(), :old_lo)->>'storageId' AS lo_s1 \gset
SELECT blob <> :old_lo AS copied, convert_from(convex_storage_get(:'lo_s1'), 'UTF8') AS content,
       (SELECT lomowner = (SELECT nspowner FROM pg_namespace WHERE nspname = 'convex')
          FROM pg_largeobject_metadata WHERE oid = s.blob) AS owned_by_convex,
       NOT EXISTS (SELECT 1 FROM pg_largeobject_metadata WHERE oid = :old_lo) AS original_gone
  FROM convex._storage s WHERE _id = :'lo_s1';
SELECT convex_storage_upload_large_object(convex_files_generate_upload_url(),
                             lo_from_bytea(0, 'same statement'))->>'storageId' AS lo_s2 \gset
SELECT convert_from(convex_storage_get(:'lo_s2'), 'UTF8') AS content;
-- a descriptor opened on the original before the upload is closed by it:
-- a late write fails, and the transaction with it
BEGIN;
SELECT lo_from_bytea(0, 'original') AS lo4 \gset
SELECT lo_open(:lo4, x'60000'::int) AS fd4 \gset
SELECT convex_storage_upload_large_object(convex_files_generate_upload_url(), :lo4)->>'storageId' AS lo_s4 \gset
SELECT lowrite(:fd4, 'REWRITE');
ROLLBACK;
SELECT (SELECT count(*) FROM convex._storage WHERE _id = :'lo_s4') AS storage_rows,
       (SELECT count(*) FROM pg_largeobject_metadata WHERE oid = :lo4) AS large_objects;

-- leave the users table as it was for the files that follow
SELECT convex_db_delete('users', :'alice'), convex_db_delete('users', :'bob');
