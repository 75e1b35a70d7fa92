#!/usr/bin/env bash
# test/scripts/storage_invariant.sh: blobs and their large objects never leak,
# never dangle and are never reclaimed while referenced, under concurrency.
#
# What it proves (src/storage.c, src/files.c):
#   - every large object owned by the owner of schema convex is the blob of
#     exactly one convex._storage row, and every _storage.blob exists: no leak
#     either way after uploads, removes, deletes, rollbacks and cleanups;
#   - a client's large object whose upload was rolled back (explicit ROLLBACK,
#     an error that aborts the transaction, or a subtransaction) is still the
#     client's, unchanged (and no copy of it is left); one uploaded by the
#     transaction that created it, or by an earlier one, is copied into a new
#     large object of the schema owner's and the client's original is
#     unlinked, so the blob is tracked by storage id, not by the client's oid;
#   - convex_storage_cleanup never reclaims a blob referenced by a committed
#     files row, nor one referenced by a row being written by a transaction
#     that has not committed yet (it waits, or fails with 55P03);
#   - each blob's sha256 and size match its bytes and what the client sent;
#   - committed work adds up: uploads - removes - deletes - reclaimed blobs =
#     _storage rows, one used upload URL per committed upload, and nothing a
#     rolled-back transaction did is left.
#
# Part 1, randomized (seed printed; STORAGE_SEED overrides; STORAGE_SECONDS,
# default 8, sets the length).  Database convexlite_storage_inv, created and
# dropped here; the clients run as the ordinary role regress_convexlite_storer.
#   - pgbench, 4 clients, --random-seed=SEED, one of these per transaction:
#     upload (bytea, 0..64 KiB) + saveFile; upload without save; upload by oid
#     (lo_from_bytea, sometimes with a grant to PUBLIC first, then
#     convex_storage_upload_large_object(url, oid) in the same transaction: copied), saved
#     or not; remove a random saved file; convex_storage_delete
#     a random unreferenced blob; saveFile for an earlier unreferenced upload
#     ("save later", as a Convex client does after its upload POST);
#     lo_from_bytea a client large object to upload later; upload such a large
#     object (copied, the original unlinked); BEGIN + some of these + ROLLBACK,
#     then the same upload URL again (must work: the rollback left it unused)
#     and once more (must fail: used); a subtransaction doing some of these
#     then raising (checked undone at once).  Every operation records what it
#     committed in tables written in the same transaction (tracked, client_los,
#     ops).
#   - a psql loop as the same role: transactions doing some of these, then a
#     division by zero (the whole transaction aborts).
#   - a psql loop as the superuser: convex_storage_cleanup(0) every ~50 ms;
#     55P03 (could not lock) and 40P01 are allowed and counted.
#   A deadlock (40P01) anywhere is retryable: pgbench retries it, the loops
#   count it.  Any other error fails the run.
# Part 2, deterministic, with two sessions (pg_sleep):
#   1. A: BEGIN; saveFile(X); sleep 4 s; COMMIT -- B: cleanup(0) fails with
#      55P03 after its ~2 s of tries (or waits); X survives.
#   2. A holds saveFile(X) 0.6 s: B's cleanup waits, then runs: X survives, an
#      unreferenced blob is reclaimed.
#   3. references from a user table (v.id("_storage") column, v.any() value
#      and object key) keep blobs, also while uncommitted; the grace period
#      keeps a fresh unreferenced blob.
#   4. two sessions uploading one (earlier) large object by oid: the second
#      waits for the first, then finds the original unlinked (42704); the first
#      stored a copy (new oid); after a rolled-back first, the second succeeds
#      (a copy, the original gone); another role's large object is refused
#      (42501), even with SELECT and UPDATE granted; a stored blob cannot be
#      stored again: by the client (42501, not its owner), by the superuser
#      (55000).
#   5. a descriptor the client opened for writing before the oid upload must
#      not let it change the blob afterwards:
#      a. same session, large object created by the uploading transaction,
#         written after the upload: the COMMIT fails with 55000 ("written after
#         it was uploaded") and nothing of the transaction remains; the same
#         after a released savepoint around the upload; after a rolled-back
#         one, the commit works and the large object stays the client's;
#      b. same session, large object from an earlier transaction: the late
#         write fails (the unlink closed the descriptor) or misses the blob;
#         the commit works and the blob holds the original bytes;
#      c. another session writes after the uploader committed: the blob is
#         unaffected (whatever becomes of the writer, reported).
#
# Uses PGHOST/PGPORT/PGUSER (a superuser) from the environment.  Prints one
# PASS/FAIL line per check and a summary; exits 1 on any failure.
set -uo pipefail

DB=convexlite_storage_inv
ROLE=regress_convexlite_storer
SEED=${STORAGE_SEED:-20261121}
DURATION=${STORAGE_SECONDS:-8}
CLIENTS=4
SUPERUSER=${PGUSER:-postgres}

# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

# psql_role: psql in the test database as the ordinary role
psql_role() { "$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -U "$ROLE" -d "$DB" "$@"; }
qr() { psql_role -At -c "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# sqlstate_of USER SQL...: run the statements in one session; print "ok" if
# all succeeded, else the SQLSTATE of the first error
sqlstate_of() {
	local user=$1 out args=() s
	shift
	for s in "$@"; do args+=(-c "$s"); done
	if out=$("$PSQL_BIN" -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -U "$user" -d "$DB" \
		"${args[@]}" 2>&1); then
		echo ok
	else
		sed -nE 's/.*ERROR:  ([0-9A-Z]{5}).*/\1/p' <<<"$out" | head -n 1
	fi
}

T0=$(date +%s)
echo "storage_invariant: database $DB, seed $SEED (STORAGE_SEED), ${DURATION}s of $CLIENTS pgbench clients + 2 psql loops"

# --- setup ---------------------------------------------------------------------
if ! psql_admin -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" \
	-c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$ROLE') THEN CREATE ROLE $ROLE LOGIN; END IF; END \$\$"; then
	fail "setup: could not create database $DB and role $ROLE"
	exit 1
fi
if ! psql_db >"$WORK/setup.log" 2>&1 <<EOF; then
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
-- ctx.storage.delete is internal: the clients may call it here
GRANT EXECUTE ON FUNCTION convex_storage_delete(text) TO $ROLE;

-- What committed: every live blob the clients know of (gone: seen reclaimed by
-- cleanup), the client's own large objects not uploaded yet, an operation log,
-- and anything an operation found wrong.
CREATE TABLE tracked (
    storage_id text PRIMARY KEY,
    blob oid,                        -- for uploads by oid: _storage.blob right after the upload
    client_lo oid,                   -- for uploads by oid: the client's large object
    in_place bool,                   -- for uploads by oid: taken over in place (else copied)
    file_id text UNIQUE,             -- its files row, if saved
    session text,
    pick int NOT NULL,               -- random key to choose it by
    size int NOT NULL,
    sha text NOT NULL,               -- base64 SHA-256 of what the client sent
    via text NOT NULL,
    gone bool NOT NULL DEFAULT false
);
CREATE INDEX ON tracked (pick) WHERE file_id IS NOT NULL;
CREATE INDEX ON tracked (pick) WHERE file_id IS NULL AND NOT gone;
CREATE TABLE client_los (lo oid PRIMARY KEY, pick int NOT NULL, size int NOT NULL, sha text NOT NULL);
CREATE INDEX ON client_los (pick);
CREATE TABLE ops (kind text NOT NULL, n int NOT NULL DEFAULT 1, client int);
CREATE TABLE violations (what text NOT NULL, detail text);
GRANT ALL ON tracked, client_los, ops, violations TO $ROLE;

-- seed-determined pseudo-random bytes
CREATE FUNCTION blob_bytes(seed bigint, size int) RETURNS bytea
LANGUAGE sql IMMUTABLE AS \$\$
    SELECT substring(string_agg(sha256(int8send(seed) || int4send(g)), ''::bytea ORDER BY g) FROM 1 FOR size)
      FROM generate_series(0, size / 32) AS g
\$\$;

CREATE FUNCTION violation(what text, detail text) RETURNS void
LANGUAGE sql AS \$\$ INSERT INTO violations VALUES (what, detail) \$\$;

CREATE FUNCTION schema_owner() RETURNS oid
LANGUAGE sql STABLE AS \$\$ SELECT nspowner FROM pg_namespace WHERE nspname = 'convex' \$\$;

-- the large object is the schema owner's, and nobody else holds a privilege
CREATE FUNCTION taken_over(lo oid) RETURNS bool
LANGUAGE sql STABLE AS \$\$
    SELECT m.lomowner = schema_owner()
           AND NOT EXISTS (SELECT 1 FROM aclexplode(m.lomacl) a WHERE a.grantee <> m.lomowner)
      FROM pg_largeobject_metadata m WHERE m.oid = lo
\$\$;

-- upload (bytea), optionally saveFile; url: a given upload URL or a new one
CREATE FUNCTION op_upload(seed bigint, size int, client int, save bool, pick int, url text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
    data bytea := blob_bytes(seed, size);
    sid text;
    fid text;
BEGIN
    sid := convex_storage_upload(coalesce(url, convex_files_generate_upload_url()), data,
                                 'application/x-test') ->> 'storageId';
    IF save THEN
        fid := convex_files_save_file(jsonb_build_object('storageId', sid, 'name', 'f' || seed,
                   'type', 'application/x-test', 'size', size, 'sessionId', 'c' || client));
        INSERT INTO ops (kind, client) VALUES ('save', client);
    END IF;
    INSERT INTO tracked VALUES (sid, NULL, NULL, NULL, fid, 'c' || client, pick, size, encode(sha256(data), 'base64'), 'bytea');
    INSERT INTO ops (kind, client) VALUES ('upload', client);
    RETURN sid;
END \$\$;

-- the blob of a _storage row (the clients may not read convex._storage)
CREATE FUNCTION stored_blob(sid text) RETURNS oid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS \$\$
    SELECT blob FROM convex._storage WHERE _id = sid
\$\$;

-- was the large object created by the current transaction?  (Its metadata
-- row's xmin is this transaction's top-level xid: the test never creates
-- one in a subtransaction to upload it, nor changes an older one's
-- metadata before uploading it.)
CREATE FUNCTION created_here(lo oid) RETURNS bool
LANGUAGE sql VOLATILE AS \$\$
    SELECT m.xmin::text = (pg_current_xact_id()::text::bigint % 4294967296)::text
      FROM pg_largeobject_metadata m WHERE m.oid = lo
\$\$;

-- upload a large object by oid and check what became of it: copied, whether
-- this transaction created it or an earlier one did (the blob is a new oid,
-- the schema owner's alone; the client's original is gone, 42704, and the
-- client cannot read the copy either).  strict is kept for the callers.
CREATE FUNCTION upload_lo(lo oid, client int, save bool, pick int, size int, sha text, strict bool DEFAULT true)
RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
    fresh bool := created_here(lo);
    sid text;
    fid text;
    b oid;
    in_place bool;
BEGIN
    sid := convex_storage_upload_large_object(convex_files_generate_upload_url(), lo, 'application/x-test') ->> 'storageId';
    b := stored_blob(sid);
    in_place := b IS NOT DISTINCT FROM lo;
    IF in_place THEN
        PERFORM violation('an oid upload took the large object over in place instead of copying it',
                          lo::text || CASE WHEN fresh THEN ' (created by the uploading transaction)' ELSE '' END);
    ELSIF b IS NULL THEN
        PERFORM violation('an oid upload stored no blob', lo::text);
    ELSIF NOT in_place AND EXISTS (SELECT 1 FROM pg_largeobject_metadata WHERE oid = lo) THEN
        PERFORM violation('the client''s original is still there after a copying upload', lo::text);
    END IF;
    IF NOT coalesce(taken_over(b), false) THEN
        PERFORM violation('oid upload: the blob is not the schema owner''s alone',
                          lo::text || ' -> ' || coalesce(b::text, 'none'));
    END IF;
    BEGIN
        PERFORM lo_get(lo, 0, 1);
        PERFORM violation('client can still read the large object it uploaded', lo::text);
    EXCEPTION
        WHEN insufficient_privilege THEN
            IF NOT in_place THEN
                PERFORM violation('the client''s copied original still exists (42501, not 42704)', lo::text);
            END IF;
        WHEN undefined_object THEN
            IF in_place THEN
                PERFORM violation('a large object taken over in place is gone (42704)', lo::text);
            END IF;
    END;
    IF NOT in_place AND b IS NOT NULL THEN
        BEGIN
            PERFORM lo_get(b, 0, 1);
            PERFORM violation('client can read the copy stored as its blob', b::text);
        EXCEPTION WHEN insufficient_privilege THEN NULL;
        END;
    END IF;
    IF save THEN
        fid := convex_files_save_file(jsonb_build_object('storageId', sid, 'name', 'lo' || lo,
                   'type', 'application/x-test', 'size', size, 'sessionId', 'c' || client));
        INSERT INTO ops (kind, client) VALUES ('save', client);
    END IF;
    INSERT INTO tracked VALUES (sid, b, lo, in_place, fid, 'c' || client, pick, size, sha, 'oid');
    INSERT INTO ops (kind, client) VALUES ('upload', client);
    RETURN sid;
END \$\$;

-- lo_from_bytea then upload by oid (half the time with a grant to PUBLIC first)
CREATE FUNCTION op_upload_oid(seed bigint, size int, client int, save bool, pick int)
RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
    data bytea := blob_bytes(seed, size);
    lo oid := lo_from_bytea(0, data);
BEGIN
    IF seed % 2 = 0 THEN
        EXECUTE format('GRANT SELECT, UPDATE ON LARGE OBJECT %s TO PUBLIC', lo);
    END IF;
    RETURN upload_lo(lo, client, save, pick, size, encode(sha256(data), 'base64'), seed % 2 <> 0);
END \$\$;

-- the client's own large object, to upload later
CREATE FUNCTION op_lo_prepare(seed bigint, size int, pick int) RETURNS oid
LANGUAGE plpgsql AS \$\$
DECLARE
    data bytea := blob_bytes(seed, size);
    lo oid := lo_from_bytea(0, data);
BEGIN
    INSERT INTO client_los VALUES (lo, pick, size, encode(sha256(data), 'base64'));
    INSERT INTO ops (kind) VALUES ('lo_prepare');
    RETURN lo;
END \$\$;

-- upload one of the client's prepared large objects
CREATE FUNCTION op_lo_upload(p int, client int, save bool) RETURNS text
LANGUAGE plpgsql AS \$\$
DECLARE
    r client_los;
    sid text;
BEGIN
    SELECT * INTO r FROM client_los WHERE pick >= p ORDER BY pick LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        SELECT * INTO r FROM client_los ORDER BY pick LIMIT 1 FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN RETURN NULL; END IF;
    END IF;
    sid := upload_lo(r.lo, client, save, r.pick, r.size, r.sha);
    DELETE FROM client_los WHERE lo = r.lo;
    INSERT INTO ops (kind, client) VALUES ('lo_upload', client);
    RETURN sid;
END \$\$;

-- files.remove of a random saved file
CREATE FUNCTION op_remove(p int) RETURNS text
LANGUAGE plpgsql AS \$\$
DECLARE
    r tracked;
BEGIN
    SELECT * INTO r FROM tracked WHERE file_id IS NOT NULL AND pick >= p ORDER BY pick LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        SELECT * INTO r FROM tracked WHERE file_id IS NOT NULL ORDER BY pick LIMIT 1 FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN RETURN NULL; END IF;
    END IF;
    IF convex_storage_get_metadata(r.storage_id) IS NULL THEN
        PERFORM violation('a referenced blob is gone', r.storage_id);
    END IF;
    PERFORM convex_files_remove(jsonb_build_object('fileId', r.file_id, 'sessionId', r.session));
    IF convex_storage_get_metadata(r.storage_id) IS NOT NULL THEN
        PERFORM violation('files.remove left the blob', r.storage_id);
    END IF;
    DELETE FROM tracked WHERE storage_id = r.storage_id;
    INSERT INTO ops (kind) VALUES ('remove');
    RETURN r.file_id;
END \$\$;

-- convex_storage_delete of a random unreferenced blob; cleanup may have
-- reclaimed it already (P0002)
CREATE FUNCTION op_delete(p int) RETURNS text
LANGUAGE plpgsql AS \$\$
DECLARE
    r tracked;
BEGIN
    SELECT * INTO r FROM tracked WHERE file_id IS NULL AND NOT gone AND pick >= p ORDER BY pick LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        SELECT * INTO r FROM tracked WHERE file_id IS NULL AND NOT gone ORDER BY pick LIMIT 1 FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN RETURN NULL; END IF;
    END IF;
    BEGIN
        PERFORM convex_storage_delete(r.storage_id);
        DELETE FROM tracked WHERE storage_id = r.storage_id;
        INSERT INTO ops (kind) VALUES ('delete');
    EXCEPTION WHEN no_data_found THEN
        UPDATE tracked SET gone = true WHERE storage_id = r.storage_id;
        INSERT INTO ops (kind) VALUES ('delete_gone');
    END;
    RETURN r.storage_id;
END \$\$;

-- saveFile for an earlier unreferenced upload.  Cleanup may reclaim the blob
-- just before (saveFile then waited for cleanup's lock on files): once the
-- files row is written, cleanup cannot run until this transaction ends, so a
-- blob still there now is safe; a gone one is a lost race, undone.
CREATE FUNCTION op_save_late(p int, client int) RETURNS text
LANGUAGE plpgsql AS \$\$
DECLARE
    r tracked;
    fid text;
BEGIN
    SELECT * INTO r FROM tracked WHERE file_id IS NULL AND NOT gone AND pick >= p ORDER BY pick LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        SELECT * INTO r FROM tracked WHERE file_id IS NULL AND NOT gone ORDER BY pick LIMIT 1 FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN RETURN NULL; END IF;
    END IF;
    BEGIN
        fid := convex_files_save_file(jsonb_build_object('storageId', r.storage_id, 'name', 'late',
                   'type', 'application/x-test', 'size', r.size, 'sessionId', 'c' || client));
        IF convex_storage_get_metadata(r.storage_id) IS NULL THEN
            RAISE EXCEPTION 'lost the race with cleanup' USING ERRCODE = 'P0100';
        END IF;
        UPDATE tracked SET file_id = fid, session = 'c' || client WHERE storage_id = r.storage_id;
        INSERT INTO ops (kind, client) VALUES ('save_late', client);
    EXCEPTION WHEN SQLSTATE 'P0100' THEN
        UPDATE tracked SET gone = true WHERE storage_id = r.storage_id;
        INSERT INTO ops (kind, client) VALUES ('save_late_lost', client);
    END;
    RETURN fid;
END \$\$;

-- a used upload URL must be refused (55000 UPLOAD_URL_USED)
CREATE FUNCTION op_url_spent(url text) RETURNS void
LANGUAGE plpgsql AS \$\$
BEGIN
    PERFORM convex_storage_upload(url, '\x00'::bytea);
    PERFORM violation('a used upload URL worked again', url);
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    INSERT INTO ops (kind) VALUES ('url_spent');
END \$\$;

-- writes in a subtransaction that then fails: all of it must be undone
CREATE FUNCTION op_sub_error(seed bigint, size int, client int, p int) RETURNS void
LANGUAGE plpgsql AS \$\$
DECLARE
    f tracked;
    l client_los;
    sid text;
BEGIN
    SELECT * INTO f FROM tracked WHERE file_id IS NOT NULL AND pick >= p ORDER BY pick LIMIT 1 FOR UPDATE SKIP LOCKED;
    SELECT * INTO l FROM client_los WHERE pick >= p ORDER BY pick LIMIT 1 FOR UPDATE SKIP LOCKED;
    BEGIN
        sid := op_upload(seed, size, client, true, p);
        IF f.file_id IS NOT NULL THEN
            PERFORM convex_files_remove(jsonb_build_object('fileId', f.file_id, 'sessionId', f.session));
        END IF;
        IF l.lo IS NOT NULL THEN
            PERFORM convex_storage_upload_large_object(convex_files_generate_upload_url(), l.lo);
        END IF;
        RAISE EXCEPTION 'forced' USING ERRCODE = 'P0101';
    EXCEPTION WHEN SQLSTATE 'P0101' THEN NULL;
    END;
    IF convex_storage_get_metadata(sid) IS NOT NULL THEN
        PERFORM violation('a rolled-back subtransaction''s upload is still there', sid);
    END IF;
    IF f.file_id IS NOT NULL AND convex_storage_get_metadata(f.storage_id) IS NULL THEN
        PERFORM violation('a rolled-back subtransaction''s remove deleted the blob', f.storage_id);
    END IF;
    IF l.lo IS NOT NULL AND ((SELECT lomowner FROM pg_largeobject_metadata WHERE oid = l.lo) IS DISTINCT FROM current_user::regrole
            OR encode(sha256(lo_get(l.lo)), 'base64') IS DISTINCT FROM l.sha) THEN
        PERFORM violation('a rolled-back subtransaction''s oid upload kept the large object', l.lo::text);
    END IF;
    INSERT INTO ops (kind, client) VALUES ('suberr', client);
END \$\$;

-- cleanup, logging what it reclaimed in its own transaction (superuser)
CREATE FUNCTION log_cleanup() RETURNS int
LANGUAGE plpgsql AS \$\$
DECLARE
    n int := convex_storage_cleanup(0);
BEGIN
    INSERT INTO ops (kind, n) VALUES ('cleanup', n);
    RETURN n;
END \$\$;
EOF
	fail "setup: CREATE EXTENSION or the test functions failed in $DB"
	sed 's/^/    | /' "$WORK/setup.log"
	exit 1
fi
OWNER=$(q "SELECT schema_owner()::regrole")
check "setup: the schema owner is not the client role" t "$([ "$OWNER" != "$ROLE" ] && echo t || echo f)"
# a few of each, so that the first picks find something
if ! psql_role -c "SELECT op_upload(g, g * 100, 0, g % 2 = 0, g * 9000) FROM generate_series(1, 20) g" \
	-c "SELECT op_lo_prepare(100 + g, g * 1000, g * 90000) FROM generate_series(1, 6) g" >/dev/null; then
	fail "setup: initial uploads as $ROLE failed"
	exit 1
fi
check "setup: 20 blobs, 10 files, 6 client large objects" "20 10 6" \
	"$(q "SELECT (SELECT count(*) FROM convex._storage) || ' ' || (SELECT count(*) FROM convex.files)
	         || ' ' || (SELECT count(*) FROM pg_largeobject_metadata WHERE lomowner = '$ROLE'::regrole)")"

# --- part 1: randomized concurrent load ----------------------------------------
P=$WORK/pgbench
mkdir -p "$P"
VARS='\set seed random(1, 1000000000)
\set size random(0, 65536)
\set pick random(0, 999999)'
printf '%s\nSELECT op_upload(:seed, :size, :client_id, true, :pick);\n' "$VARS" >"$P/upload_save.sql"
printf '%s\nSELECT op_upload(:seed, :size, :client_id, false, :pick);\n' "$VARS" >"$P/upload_only.sql"
printf '%s\nSELECT op_upload_oid(:seed, :size, :client_id, :pick %% 2 = 0, :pick);\n' "$VARS" >"$P/upload_oid.sql"
printf '%s\nSELECT op_remove(:pick);\n' "$VARS" >"$P/remove.sql"
printf '%s\nSELECT op_delete(:pick);\n' "$VARS" >"$P/delete.sql"
printf '%s\nSELECT op_save_late(:pick, :client_id);\n' "$VARS" >"$P/save_late.sql"
printf '%s\nSELECT op_lo_prepare(:seed, :size, :pick);\n' "$VARS" >"$P/lo_prepare.sql"
printf '%s\nSELECT op_lo_upload(:pick, :client_id, :seed %% 2 = 0);\n' "$VARS" >"$P/lo_upload.sql"
printf '%s\nSELECT op_sub_error(:seed, :size, :client_id, :pick);\n' "$VARS" >"$P/sub_error.sql"
cat >"$P/rollback.sql" <<EOF
$VARS
\\set pick2 random(0, 999999)
SELECT convex_files_generate_upload_url() AS url \\gset
BEGIN;
SELECT op_upload(:seed, :size, :client_id, true, :pick, :url);
SELECT op_remove(:pick2);
SELECT op_lo_upload(:pick, :client_id, true);
SELECT op_delete(:pick2);
SELECT op_upload_oid(:seed + 1, :size, :client_id, true, :pick);
ROLLBACK;
SELECT op_upload(:seed, :size, :client_id, false, :pick, :url);
SELECT op_url_spent(:url);
EOF

# the superuser's cleanup loop: convex_storage_cleanup(0) every ~50 ms
cleanup_loop() {
	local end=$1 i=0
	while [ "$(now_ms)" -lt "$end" ]; do
		i=$((i + 1))
		"$PSQL_BIN" -X -q -At -d "$DB" -v VERBOSITY=verbose -c "SELECT log_cleanup()" >/dev/null 2>>"$WORK/cleanup.err"
		sleep 0.05
	done
	echo "$i" >"$WORK/cleanup.runs"
}
# the role's loop of transactions that end in an error (whole transaction aborts)
error_loop() {
	local end=$1 blocks=0 sql s
	RANDOM=$SEED
	while [ "$(now_ms)" -lt "$end" ]; do
		sql=''
		for _ in 1 2 3; do
			s=$((RANDOM * 32768 + RANDOM))
			sql+="BEGIN;
SELECT op_upload($s, $((s % 65537)), 100, true, $((s % 1000000)));
SELECT op_lo_prepare($s + 1, $((s % 4096)), $((s % 1000000)));
SELECT op_lo_upload($((s % 999983)), 100, true);
SELECT op_remove($((s % 999979)));
SELECT op_save_late($((s % 999961)), 100);
SELECT op_delete($((s % 999953)));
SELECT 1 / 0;
COMMIT;
"
			blocks=$((blocks + 1))
		done
		"$PSQL_BIN" -X -q -At -U "$ROLE" -d "$DB" -v VERBOSITY=verbose <<<"$sql" >/dev/null 2>>"$WORK/errloop.err"
		sleep 0.02
	done
	echo "$blocks" >"$WORK/errloop.blocks"
}

: >"$WORK/cleanup.err"
: >"$WORK/errloop.err"
END_MS=$(($(now_ms) + DURATION * 1000))
cleanup_loop "$END_MS" &
CLEANUP_PID=$!
error_loop "$END_MS" &
ERRLOOP_PID=$!
"$PGBENCH" -n -M prepared -U "$ROLE" -c "$CLIENTS" -j 2 -T "$DURATION" --random-seed="$SEED" \
	--max-tries=10 --failures-detailed --verbose-errors \
	-f "$P/upload_save.sql@6" -f "$P/upload_only.sql@4" -f "$P/upload_oid.sql@3" \
	-f "$P/remove.sql@4" -f "$P/delete.sql@2" -f "$P/save_late.sql@3" \
	-f "$P/lo_prepare.sql@2" -f "$P/lo_upload.sql@2" -f "$P/rollback.sql@2" -f "$P/sub_error.sql@2" \
	"$DB" >"$WORK/pgbench.log" 2>&1
PGBENCH_RC=$?
wait "$CLEANUP_PID" "$ERRLOOP_PID"

# pgbench: exit 0, no client aborted, only deadlocks among the errors
count_line() {
	local n
	n=$(sed -nE "s/^$2: ([0-9]+).*/\\1/p" "$1" | head -n 1)
	echo "${n:-0}"
}
PROCESSED=$(count_line "$WORK/pgbench.log" "number of transactions actually processed")
FAILED=$(count_line "$WORK/pgbench.log" "number of failed transactions")
RETRIES=$(count_line "$WORK/pgbench.log" "total number of retries")
ABORTED=$(grep -cE 'client [0-9]+ (script [0-9]+ )?aborted' "$WORK/pgbench.log")
grep -oE 'ERROR:  .*' "$WORK/pgbench.log" >"$WORK/pgbench.errors"
PB_DEADLOCKS=$(grep -c '^ERROR:  deadlock detected' "$WORK/pgbench.errors")
PB_BAD=$(grep -vc '^ERROR:  deadlock detected' "$WORK/pgbench.errors")
if [ "$PGBENCH_RC" -eq 0 ] && [ "$ABORTED" -eq 0 ] && [ "$PROCESSED" -gt 0 ] && [ "$FAILED" -eq 0 ]; then
	pass "load: pgbench exit 0, no client aborted, $PROCESSED transactions, none failed ($RETRIES retries)"
else
	fail "load: pgbench exit $PGBENCH_RC, $ABORTED clients aborted, $PROCESSED transactions, $FAILED failed"
	grep -iE 'abort|error|fatal' "$WORK/pgbench.log" | head -n 10 | sed 's/^/    | /'
fi
check "load: pgbench clients saw no error but deadlocks ($PB_DEADLOCKS deadlocks)" 0 "$PB_BAD"

# cleanup loop: only 55P03 and 40P01
CLEANUP_RUNS=$(cat "$WORK/cleanup.runs")
CLEANUP_OK=$(q "SELECT count(*) FROM ops WHERE kind = 'cleanup'")
RECLAIMED=$(q "SELECT coalesce(sum(n), 0) FROM ops WHERE kind = 'cleanup'")
grep -oE '^ERROR:  [0-9A-Z]{5}: .*' "$WORK/cleanup.err" >"$WORK/cleanup.errors"
CL_55P03=$(grep -c '^ERROR:  55P03' "$WORK/cleanup.errors")
CL_40P01=$(grep -c '^ERROR:  40P01' "$WORK/cleanup.errors")
CL_BAD=$(grep -vcE '^ERROR:  (55P03|40P01)' "$WORK/cleanup.errors")
check "cleanup loop: errors only 55P03 or 40P01 ($CL_55P03 x 55P03, $CL_40P01 x 40P01)" 0 "$CL_BAD"
[ "$CL_BAD" -eq 0 ] || sort "$WORK/cleanup.errors" | uniq -c | sort -rn | head -n 5 | sed 's/^/    | /'
check "cleanup loop: every run committed or failed with 55P03/40P01 ($CLEANUP_RUNS runs)" "$CLEANUP_RUNS" \
	$((CLEANUP_OK + CL_55P03 + CL_40P01))
if [ "$CLEANUP_OK" -gt 0 ] && [ "$RECLAIMED" -gt 0 ]; then
	pass "cleanup loop: $CLEANUP_OK cleanups committed under load, $RECLAIMED blobs reclaimed"
else
	fail "cleanup loop: want cleanups that commit and reclaim: $CLEANUP_OK committed, $RECLAIMED reclaimed"
fi

# error loop: each block ends in 22012 (or a deadlock, then 25P02 until its end)
ERR_BLOCKS=$(cat "$WORK/errloop.blocks")
grep -oE '^ERROR:  [0-9A-Z]{5}: .*' "$WORK/errloop.err" >"$WORK/errloop.errors"
EL_22012=$(grep -c '^ERROR:  22012' "$WORK/errloop.errors")
EL_40P01=$(grep -c '^ERROR:  40P01' "$WORK/errloop.errors")
EL_BAD=$(grep -vcE '^ERROR:  (22012|40P01|25P02)' "$WORK/errloop.errors")
check "error loop: errors only 22012 (forced), 40P01, 25P02 ($EL_22012 x 22012, $EL_40P01 x 40P01)" 0 "$EL_BAD"
[ "$EL_BAD" -eq 0 ] || sort "$WORK/errloop.errors" | uniq -c | sort -rn | head -n 5 | sed 's/^/    | /'
check "error loop: each of the $ERR_BLOCKS transactions aborted once" "$ERR_BLOCKS" $((EL_22012 + EL_40P01))
check "error loop: nothing an aborted transaction did committed" 0 "$(q "SELECT count(*) FROM ops WHERE client = 100")"

# --- part 1 checks ---------------------------------------------------------------
check "no operation found anything wrong (violations)" "" \
	"$(q "SELECT string_agg(what || ': ' || coalesce(detail, ''), '; ') FROM (SELECT * FROM violations LIMIT 5) v")"
check "no leaked blob: every schema owner's large object is one _storage row's blob" 0 \
	"$(q "SELECT count(*) FROM pg_largeobject_metadata m
	       WHERE m.lomowner = schema_owner() AND NOT EXISTS (SELECT 1 FROM convex._storage s WHERE s.blob = m.oid)")"
check "no dangling blob: every _storage.blob exists, taken over" 0 \
	"$(q "SELECT count(*) FROM convex._storage s WHERE NOT coalesce(taken_over(s.blob), false)")"
check "client large objects: exactly the ones not uploaded (client_los), still the client's" 0 \
	"$(q "SELECT count(*) FROM (SELECT oid FROM pg_largeobject_metadata WHERE lomowner = '$ROLE'::regrole) m
	        FULL JOIN client_los c ON c.lo = m.oid WHERE m.oid IS NULL OR c.lo IS NULL")"
check "client large objects: their bytes unchanged" 0 \
	"$(q "SELECT count(*) FROM client_los WHERE encode(sha256(lo_get(lo)), 'base64') <> sha")"
check "no large object of anyone else" 0 \
	"$(q "SELECT count(*) FROM pg_largeobject_metadata WHERE lomowner NOT IN (schema_owner(), '$ROLE'::regrole)")"
check "no unknown blob: every _storage row was committed by a client" 0 \
	"$(q "SELECT count(*) FROM convex._storage s WHERE NOT EXISTS (SELECT 1 FROM tracked t WHERE t.storage_id = s._id)")"
check "cleanup never reclaimed a referenced blob: every saved file's blob is there" 0 \
	"$(q "SELECT count(*) FROM tracked t WHERE t.file_id IS NOT NULL
	       AND NOT EXISTS (SELECT 1 FROM convex._storage s WHERE s._id = t.storage_id)")"
check "files rows: exactly the saved, not removed files, with their blob" 0 \
	"$(q "SELECT count(*) FROM (SELECT * FROM tracked WHERE file_id IS NOT NULL) t
	        FULL JOIN convex.files f ON f._id = t.file_id
	       WHERE t.file_id IS NULL OR f._id IS NULL OR f.storage_id <> t.storage_id OR f.size <> t.size")"
check "every files row's blob exists" 0 \
	"$(q "SELECT count(*) FROM convex.files f WHERE NOT EXISTS (SELECT 1 FROM convex._storage s WHERE s._id = f.storage_id)")"
check "uploads by oid: in place, the blob is the client's oid; copied, a new oid" 0 \
	"$(q "SELECT count(*) FROM tracked t WHERE t.via = 'oid'
	       AND (t.blob IS NULL OR t.client_lo IS NULL OR t.in_place IS NULL OR (t.blob = t.client_lo) <> t.in_place)")"
check "uploads by oid: each live one's _storage.blob is still the blob it got at upload" 0 \
	"$(q "SELECT count(*) FROM tracked t JOIN convex._storage s ON s._id = t.storage_id
	       WHERE t.via = 'oid' AND s.blob IS DISTINCT FROM t.blob")"
check "uploads by oid, copied: the client's original is gone" 0 \
	"$(q "SELECT count(*) FROM tracked t JOIN pg_largeobject_metadata m ON m.oid = t.client_lo
	       WHERE t.via = 'oid' AND NOT t.in_place")"
check "blobs seen reclaimed (gone) are gone" 0 \
	"$(q "SELECT count(*) FROM tracked t JOIN convex._storage s ON s._id = t.storage_id WHERE t.gone")"
MISSING=$(q "SELECT count(*) FROM tracked t WHERE NOT EXISTS (SELECT 1 FROM convex._storage s WHERE s._id = t.storage_id)")
check "the blobs missing from _storage are the ones cleanup reported reclaiming" "$RECLAIMED" "$MISSING"
check "each blob: stored sha256 and size match its bytes and what the client sent" 0 \
	"$(q "SELECT count(*) FROM convex._storage s JOIN tracked t ON t.storage_id = s._id
	       CROSS JOIN LATERAL (SELECT convex_storage_get(s._id) AS b) g
	       WHERE s.sha256 <> encode(sha256(g.b), 'base64') OR s.size <> length(g.b)
	          OR s.sha256 <> t.sha OR s.size <> t.size
	          OR convex_storage_get_metadata(s._id) <> jsonb_build_object('storageId', s._id,
	                 'sha256', t.sha, 'size', t.size, 'contentType', 'application/x-test')")"
read -r UPLOADS SAVES SAVE_LATE REMOVES DELETES < <(q "SELECT count(*) FILTER (WHERE kind = 'upload'),
	count(*) FILTER (WHERE kind = 'save'), count(*) FILTER (WHERE kind = 'save_late'),
	count(*) FILTER (WHERE kind = 'remove'), count(*) FILTER (WHERE kind = 'delete') FROM ops" | tr '|' ' ')
check "counts: uploads $UPLOADS - removes $REMOVES - deletes $DELETES - reclaimed $RECLAIMED = _storage rows" \
	$((UPLOADS - REMOVES - DELETES - RECLAIMED)) "$(q "SELECT count(*) FROM convex._storage")"
check "counts: saves $SAVES + saves later $SAVE_LATE - removes $REMOVES = files rows" \
	$((SAVES + SAVE_LATE - REMOVES)) "$(q "SELECT count(*) FROM convex.files")"
check "counts: client large objects prepared - uploaded = left" \
	"$(q "SELECT count(*) FILTER (WHERE kind = 'lo_prepare') - count(*) FILTER (WHERE kind = 'lo_upload') FROM ops")" \
	"$(q "SELECT count(*) FROM client_los")"
check "upload URLs: one used URL per committed upload" "$UPLOADS" \
	"$(q "SELECT count(*) FROM convex._upload_tokens WHERE used")"
UNUSED=$(q "SELECT count(*) FROM convex._upload_tokens WHERE NOT used")
if [ "$UNUSED" -le "$RETRIES" ]; then
	pass "upload URLs: $UNUSED committed but unused (at most one per pgbench retry: $RETRIES)"
else
	fail "upload URLs: $UNUSED committed but unused, with $RETRIES pgbench retries"
fi
N_ROLLBACK=$(q "SELECT count(*) FROM ops WHERE kind = 'url_spent'")
N_SUB=$(q "SELECT count(*) FROM ops WHERE kind = 'suberr'")
N_LOST=$(q "SELECT count(*) FROM ops WHERE kind = 'save_late_lost'")
N_DGONE=$(q "SELECT count(*) FROM ops WHERE kind = 'delete_gone'")
N_OID=$(q "SELECT count(*) FROM tracked WHERE via = 'oid'")
read -r N_INPLACE N_COPY < <(q "SELECT count(*) FILTER (WHERE in_place), count(*) FILTER (WHERE NOT in_place)
	FROM tracked WHERE via = 'oid'" | tr '|' ' ')
if [ "$N_ROLLBACK" -gt 0 ] && [ "$N_SUB" -gt 0 ] && [ "$SAVE_LATE" -gt 0 ] && [ "$REMOVES" -gt 0 ] && [ "$DELETES" -gt 0 ] &&
	[ "$N_INPLACE" -eq 0 ] && [ "$N_COPY" -gt 0 ]; then
	pass "every kind of operation ran: $N_ROLLBACK rollbacks with URL reuse, $N_SUB failed subtransactions, $SAVE_LATE saves later, live oid uploads $N_INPLACE in place + $N_COPY copied"
else
	fail "some operation never ran: $N_ROLLBACK rollbacks, $N_SUB subtransactions, $SAVE_LATE saves later, $REMOVES removes, $DELETES deletes, $N_INPLACE oid uploads in place, $N_COPY copied"
fi
SUMMARY="committed: $UPLOADS uploads ($N_OID live by oid: $N_INPLACE in place, $N_COPY copied), $SAVES saved at upload + $SAVE_LATE later ($N_LOST lost to cleanup), $REMOVES removes, $DELETES deletes ($N_DGONE already reclaimed); $CLEANUP_OK of $CLEANUP_RUNS cleanups committed ($CL_55P03 x 55P03, $CL_40P01 x 40P01), $RECLAIMED blobs reclaimed; $ERR_BLOCKS aborted transactions; pgbench $PROCESSED transactions, $PB_DEADLOCKS deadlocks, $RETRIES retries; now $(q "SELECT count(*) FROM convex._storage") blobs, $(q "SELECT count(*) FROM convex.files") files, $(q "SELECT count(*) FROM client_los") client large objects"
echo "# $SUMMARY"

# the client's leftovers are the script's to clean: then only blobs remain
psql_role -c "SELECT count(lo_unlink(lo)) FROM client_los" -c "TRUNCATE client_los" >/dev/null
check "after unlinking the client's large objects, only blobs remain" \
	"$(q "SELECT count(*) FROM convex._storage")" "$(q "SELECT count(*) FROM pg_largeobject_metadata")"

# --- part 2: deterministic two-session cases -------------------------------------
# sweep what part 1 left unreferenced, so the counts below are exact
q "SELECT convex_storage_cleanup(0)" >/dev/null
BASE=$(q "SELECT count(*) FROM convex._storage")
upload_as_role() { qr "SELECT convex_storage_upload(convex_files_generate_upload_url(), blob_bytes($1, 1000)) ->> 'storageId'"; }
exists() { q "SELECT count(*) FROM convex._storage WHERE _id = '$1'"; }
A_PID=
# session_a SECONDS SQL: as the role, BEGIN; SQL; pg_sleep(SECONDS); COMMIT in
# the background; returns once A sleeps
session_a() {
	PGAPPNAME=storage_a "$PSQL_BIN" -X -q -At -v ON_ERROR_STOP=1 -U "$ROLE" -d "$DB" \
		-c "BEGIN" -c "$2" -c "SELECT pg_sleep($1)" -c "${3:-COMMIT}" >"$WORK/a.log" 2>&1 &
	A_PID=$!
	wait_for "session A to sleep in its transaction" \
		"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'storage_a'
		                   AND query LIKE '%pg_sleep%' AND state = 'active')"
}
save_json() { echo "jsonb_build_object('storageId', '$1', 'name', 'x', 'type', 't', 'size', 1000, 'sessionId', 'a')"; }

# 1. A holds saveFile(X) uncommitted for 4 s; cleanup(0) cannot lock files
X=$(upload_as_role 1)
session_a 4 "SELECT convex_files_save_file($(save_json "$X"))"
t=$(now_ms)
R1=$(sqlstate_of "$SUPERUSER" "SELECT convex_storage_cleanup(0)")
t=$(($(now_ms) - t))
wait "$A_PID"
A_RC=$?
if [ "$R1" = 55P03 ] || [ "$R1" = ok ]; then
	pass "uncommitted saveFile: cleanup(0) $([ "$R1" = ok ] && echo "waited, then ran" || echo "failed with 55P03") after $t ms"
else
	fail "uncommitted saveFile: cleanup(0) failed with $R1 after $t ms"
fi
check "uncommitted saveFile: A committed" 0 "$A_RC"
check "uncommitted saveFile: X survived cleanup, its files row committed" "1 1" \
	"$(exists "$X") $(q "SELECT count(*) FROM convex.files WHERE storage_id = '$X'")"

# 2. A holds saveFile(X2) 0.6 s: cleanup waits for it, then reclaims Y but not X2
X2=$(upload_as_role 3)
Y=$(upload_as_role 2)
session_a 0.6 "SELECT convex_files_save_file($(save_json "$X2"))"
t=$(now_ms)
R2=$(q "SELECT convex_storage_cleanup(0)" 2>&1)
t=$(($(now_ms) - t))
wait "$A_PID"
check "short uncommitted saveFile: cleanup(0) waited, then reclaimed only Y" "1 t" "$R2 $([ "$t" -ge 300 ] && echo t || echo "f ($t ms)")"
check "short uncommitted saveFile: X2 survived, Y reclaimed" "1 0" "$(exists "$X2") $(exists "$Y")"

# 3. a user table: a v.id("_storage") column and a v.any() field
q "SELECT convex_define_table('attachments', '{
     \"blob\": {\"fieldType\": {\"type\": \"id\", \"tableName\": \"_storage\"}, \"optional\": false},
     \"meta\": {\"fieldType\": {\"type\": \"any\"}, \"optional\": true}}')" >/dev/null
P1=$(upload_as_role 4)  # attachments.blob
Q1=$(upload_as_role 5)  # deep in a v.any() value
R1B=$(upload_as_role 6) # an object key in a v.any() value
T1=$(upload_as_role 7)  # unreferenced
U1=$(upload_as_role 8)  # referenced by an uncommitted insert
q "SELECT convex_db_insert('attachments', jsonb_build_object('blob', '$P1',
     'meta', jsonb_build_object('list', jsonb_build_array(1, jsonb_build_object('k', '$Q1')),
                                'byId', jsonb_build_object('$R1B', true))))" >/dev/null
check "user table: a fresh unreferenced blob is kept for the grace period" "0 1" \
	"$(q "SELECT convex_storage_cleanup(3600000)") $(exists "$T1")"
PGAPPNAME=storage_a "$PSQL_BIN" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "BEGIN" \
	-c "SELECT convex_db_insert('attachments', jsonb_build_object('blob', '$U1'))" \
	-c "SELECT pg_sleep(0.6)" -c "COMMIT" >"$WORK/a3.log" 2>&1 &
A_PID=$!
wait_for "session A to sleep in its transaction" \
	"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'storage_a'
	                   AND query LIKE '%pg_sleep%' AND state = 'active')"
R3=$(q "SELECT convex_storage_cleanup(0)" 2>&1)
wait "$A_PID"
check "user table: cleanup(0) reclaimed only the unreferenced blob" "1 0" "$R3 $(exists "$T1")"
check "user table: blobs referenced by an id column, a v.any() value, a key, an uncommitted insert survive" "1 1 1 1" \
	"$(exists "$P1") $(exists "$Q1") $(exists "$R1B") $(exists "$U1")"

# 4. one client large object (from an earlier transaction, so copied) uploaded
#    by oid from two sessions
# result_of USER SQL...: like sqlstate_of, but print the output if all succeeded
result_of() {
	local user=$1 out args=() s
	shift
	for s in "$@"; do args+=(-c "$s"); done
	if out=$("$PSQL_BIN" -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -U "$user" -d "$DB" \
		"${args[@]}" 2>&1); then
		echo "$out"
	else
		sed -nE 's/.*ERROR:  ([0-9A-Z]{5}).*/\1/p' <<<"$out" | head -n 1
	fi
}
# lo_count OID: 1 if the large object exists, else 0
lo_count() { q "SELECT count(*) FROM pg_largeobject_metadata WHERE oid = ${1:-0}"; }
# copied SID ORIGINAL SEED SIZE: "<rows> <new oid> <schema owner's alone> <bytes>"
# for the _storage row SID of a copying upload of ORIGINAL, which held
# blob_bytes(SEED, SIZE): "1 true true true" when the row holds a copy of them
copied() {
	q "SELECT count(*) || ' ' || coalesce(bool_and(s.blob <> ${2:-0}), false)
	          || ' ' || coalesce(bool_and(coalesce(taken_over(s.blob), false)), false)
	          || ' ' || coalesce(bool_and(s.size = $4 AND s.sha256 = encode(sha256(blob_bytes($3, $4)), 'base64')
	                                      AND s.sha256 = encode(sha256(convex_storage_get(s._id)), 'base64')), false)
	     FROM convex._storage s WHERE s._id = '${1:-none}'"
}
upload_sql() { echo "SELECT 'SID=' || (convex_storage_upload_large_object(${2:-convex_files_generate_upload_url()}, $1::oid) ->> 'storageId')"; }

L=$(qr "SELECT lo_from_bytea(0, blob_bytes(9, 5000))")
URL2=$(qr "SELECT convex_files_generate_upload_url()")
session_a 1 "$(upload_sql "$L")"
t=$(now_ms)
R4=$(sqlstate_of "$ROLE" "SELECT convex_storage_upload_large_object('$URL2', $L::oid)")
t=$(($(now_ms) - t))
wait "$A_PID"
A_RC=$?
SID4=$(sed -nE 's/^SID=(.+)$/\1/p' "$WORK/a.log")
check "same oid twice: the second upload waited for the first, then found the original unlinked (42704)" "42704 t" \
	"$R4 $([ "$t" -ge 500 ] && echo t || echo "f ($t ms)")"
check "same oid twice: the first committed one _storage row: a new oid, the schema owner's alone, the original's bytes" \
	"0 1 true true true" "$A_RC $(copied "$SID4" "$L" 9 5000)"
check "same oid twice: the client's original is gone" 0 "$(lo_count "$L")"
check "same oid twice: the refused upload's URL is still usable" ok \
	"$(sqlstate_of "$ROLE" "SELECT convex_storage_upload('$URL2', '\\x01'::bytea)")"
L2=$(qr "SELECT lo_from_bytea(0, blob_bytes(10, 5000))")
session_a 1 "$(upload_sql "$L2")" ROLLBACK
t=$(now_ms)
R5=$(result_of "$ROLE" "$(upload_sql "$L2")")
t=$(($(now_ms) - t))
wait "$A_PID"
SID5=${R5#SID=}
check "same oid after a rolled-back upload: the second upload waited, then succeeded" "t t" \
	"$([ "$R5" != "$SID5" ] && echo t || echo "f ($R5)") $([ "$t" -ge 500 ] && echo t || echo "f ($t ms)")"
check "same oid after a rolled-back upload: one copy of the original's bytes, the schema owner's alone; the original gone" \
	"1 true true true 0" "$(copied "$SID5" "$L2" 10 5000) $(lo_count "$L2")"
LS=$(q "SELECT lo_from_bytea(0, blob_bytes(16, 100))")
q "GRANT SELECT, UPDATE ON LARGE OBJECT $LS TO PUBLIC" >/dev/null
check "another role's large object, even with SELECT and UPDATE granted to PUBLIC: refused (42501), left as it was" \
	"42501 1" "$(sqlstate_of "$ROLE" "$(upload_sql "$LS")") $(q "SELECT count(*) FROM pg_largeobject_metadata
	            WHERE oid = $LS AND lomowner = '$SUPERUSER'::regrole AND lo_get(oid) = blob_bytes(16, 100)")"
q "SELECT lo_unlink($LS)" >/dev/null
B4=$(q "SELECT blob FROM convex._storage WHERE _id = '${SID4:-none}'")
check "a stored blob cannot be stored again: by the client (42501, not its owner), by the superuser (55000); it stays as it was" \
	"42501 55000 1 true true true" \
	"$(sqlstate_of "$ROLE" "$(upload_sql "${B4:-0}")") $(sqlstate_of "$SUPERUSER" "$(upload_sql "${B4:-0}")") $(copied "$SID4" "$L" 9 5000)"

# 5. a write descriptor opened before the upload must not let the client
#    change the blob afterwards: the stored sha256/size keep matching its bytes.
# blob_matches SID: "match" if the blob's bytes match its sha256/size (or it
# was never stored), else what they are
blob_matches() {
	q "SELECT coalesce((SELECT CASE WHEN s.sha256 = encode(sha256(b), 'base64') AND s.size = length(b) THEN 'match'
	                           ELSE format('stored %s bytes %s, now %s bytes %s', s.size, s.sha256, length(b), encode(sha256(b), 'base64')) END
	                      FROM convex._storage s, convex_storage_get(s._id) AS b WHERE s._id = '$1'), 'match')"
}
# fd_session LOG SEED BEFORE AFTER: as the role, in one transaction: create a
# large object of blob_bytes(SEED, 3000), open it for writing, BEFORE, upload
# it, AFTER, write 24 bytes at offset 0 through the descriptor, COMMIT; the log
# gets LO=, SID=, W= (or the error) and COMMIT=<SQLSTATE of the COMMIT>
fd_session() {
	psql_role -v VERBOSITY=verbose -At -v seed="$2" >"$WORK/$1" 2>&1 <<EOF
\\set ON_ERROR_STOP 0
BEGIN;
SELECT lo_from_bytea(0, blob_bytes(:seed, 3000)) AS lo \\gset
\\echo LO=:lo
SELECT lo_open(:lo, 393216) AS fd \\gset
$3
SELECT 'SID=' || (convex_storage_upload_large_object(convex_files_generate_upload_url(), :lo) ->> 'storageId');
$4
SELECT 'W=' || lowrite(:fd, 'written after the upload');
COMMIT;
\\echo COMMIT=:SQLSTATE
EOF
}
log_value() { sed -nE "s/^$1=(.*)\$/\\1/p" "$WORK/$2" | head -n 1; }
#  a. same session, the large object created by the uploading transaction:
#     copied like any other, and the unlink closes the descriptor, so the late
#     write fails and takes the transaction down with it
fd_session fd1.log 11 "" ""
LO5A=$(log_value LO fd1.log)
SID5A=$(log_value SID fd1.log)
check "write after the upload, same session, created in the transaction: uploaded, then the late write fails (descriptor closed)" \
	"t 1" "$([ -n "$SID5A" ] && echo t || echo f) $(grep -c 'invalid large-object descriptor' "$WORK/fd1.log")"
check "write after the upload, same session, created in the transaction: the aborted transaction leaves nothing (no _storage row, no large object)" \
	"0 0" "$(exists "${SID5A:-none}") $(lo_count "$LO5A")"
#     the upload in a subtransaction that is released: the same
fd_session fd1b.log 14 "SAVEPOINT s;" "RELEASE SAVEPOINT s;"
LO5B=$(log_value LO fd1b.log)
check "write after an upload in a released savepoint: the late write fails, nothing remains" \
	"t 1 0 0" "$([ -n "$(log_value SID fd1b.log)" ] && echo t || echo f) $(grep -c 'invalid large-object descriptor' "$WORK/fd1b.log") $(exists "$(log_value SID fd1b.log)") $(lo_count "$LO5B")"
#     the upload in a subtransaction rolled back: the descriptor stays closed
fd_session fd1c.log 15 "SAVEPOINT s;" "ROLLBACK TO SAVEPOINT s;"
LO5C=$(log_value LO fd1c.log)
check "write after an upload in a rolled-back savepoint: the descriptor stays closed, the write fails, nothing remains" \
	"1 0 0" "$(grep -c 'invalid large-object descriptor' "$WORK/fd1c.log") $(exists "$(log_value SID fd1c.log)") $(lo_count "$LO5C")"
#  b. same session, a large object from an earlier transaction (copied, then
#     unlinked, which closes the descriptor): the late write fails or misses
#     the blob; the commit works
L5B=$(qr "SELECT lo_from_bytea(0, blob_bytes(13, 3000))")
psql_role -v VERBOSITY=verbose -At -v lo="$L5B" >"$WORK/fd3.log" 2>&1 <<'EOF'
\set ON_ERROR_STOP 0
\set ON_ERROR_ROLLBACK on
BEGIN;
SELECT lo_open(:lo, 393216) AS fd \gset
SELECT 'SID=' || (convex_storage_upload_large_object(convex_files_generate_upload_url(), :lo) ->> 'storageId');
SELECT 'W=' || lowrite(:fd, 'written after the upload');
COMMIT;
\echo COMMIT=:SQLSTATE
EOF
SID5B=$(log_value SID fd3.log)
W5B=$(log_value W fd3.log)
[ -n "$W5B" ] || W5B=$(sed -nE 's/^ERROR:  [0-9A-Z]{5}: (.*)$/\1/p' "$WORK/fd3.log" | head -n 1)
case $W5B in
"invalid large-object descriptor"* | [0-9]*) pass "write after the upload, same session, earlier large object: the late write failed or missed the blob ($W5B)" ;;
*) fail "write after the upload, same session, earlier large object: the late write gave '$W5B'" ;;
esac
check "write after the upload, same session, earlier large object: COMMIT works; a copy of the original's bytes; the original gone" \
	"00000 1 true true true 0" "$(log_value COMMIT fd3.log) $(copied "$SID5B" "$L5B" 13 3000) $(lo_count "$L5B")"
check "write after the upload, same session, earlier large object: the blob matches its sha256/size" match \
	"$(blob_matches "${SID5B:-none}")"
#  c. another session of the client holds a write descriptor on an earlier
#     large object and writes after the uploader committed
L5=$(qr "SELECT lo_from_bytea(0, blob_bytes(12, 3000))")
PGAPPNAME=storage_a "$PSQL_BIN" -X -q -At -v VERBOSITY=verbose -U "$ROLE" -d "$DB" -c "BEGIN" \
	-c "SELECT lo_open($L5, 393216)" -c "SELECT pg_sleep(1)" -c "SELECT 'W=' || lowrite(0, 'overwritten after the upload')" \
	-c "COMMIT" >"$WORK/fd2.log" 2>&1 &
A_PID=$!
wait_for "session A to sleep in its transaction" \
	"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'storage_a'
	                   AND query LIKE '%pg_sleep%' AND state = 'active')"
SID6=$(qr "SELECT convex_storage_upload_large_object(convex_files_generate_upload_url(), $L5::oid) ->> 'storageId'")
wait "$A_PID"
check "write after the upload, other session: the blob is a copy of the original's bytes, matching its sha256/size; the original gone" \
	"1 true true true match 0" "$(copied "$SID6" "$L5" 12 3000) $(blob_matches "${SID6:-none}") $(lo_count "$L5")"
W6=$(log_value W fd2.log)
[ -n "$W6" ] || W6=$(sed -nE 's/^ERROR:  (.*)$/\1/p' "$WORK/fd2.log" | head -n 1)
echo "# other session's late write: ${W6:-?}; pg_largeobject pages left under the unlinked oid $L5: $(q "SELECT count(*) FROM pg_largeobject WHERE loid = $L5")"
check "part 2: no leak either way" "0 0" \
	"$(q "SELECT count(*) FROM pg_largeobject_metadata m WHERE NOT EXISTS (SELECT 1 FROM convex._storage s WHERE s.blob = m.oid)") $(q "SELECT count(*) FROM convex._storage s WHERE NOT EXISTS (SELECT 1 FROM pg_largeobject_metadata m WHERE m.oid = s.blob)")"
check "part 2: blobs = before + X, X2, P1, Q1, R1B, U1, the copies of L and L2, one upload, and the copies of cases 5b and 5c" \
	$((BASE + 11)) "$(q "SELECT count(*) FROM convex._storage")"

# --- summary -------------------------------------------------------------------
echo "storage_invariant: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s (seed $SEED)"
if [ "$FAILURES" -ne 0 ]; then
	echo "storage_invariant: FAIL"
	exit 1
fi
echo "storage_invariant: PASS"
exit 0
