#!/usr/bin/env bash
# test/scripts/backup_restore.sh: a convexlite database survives pg_dump and
# pg_restore (docs/backup.md).
#
# Fills a database through convexlite's functions (users, messages, presence,
# an application table with an index over an optional field, a registered
# mutation, a pending scheduled job, blobs uploaded as bytea and from a large
# object, a file, an upload URL handed out but not used), then dumps it the two
# ways docs/backup.md shows -- `pg_dump -Fc` restored with `pg_restore`, and a
# plain SQL dump restored with `psql` -- each into a new database created from
# template0.  In each restored database:
#   - every table of schema convex has the same rows (convexlite's catalog,
#     the seed's tables, _storage, upload tokens, jobs, the application table);
#   - every blob is a large object again, owned by the same role, with the same
#     bytes (its SHA-256 matches _storage.sha256), and no other large object;
#   - the privileges of the extension's functions and tables are the same;
#   - it works: an index query gives the same documents in the same order, the
#     upload URL handed out before the dump uploads, the registered mutation
#     runs, the pending job runs, and a new table gets the next table number.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops databases
# convexlite_backup, convexlite_backup_fc and convexlite_backup_sql.  One
# PASS/FAIL line per check; exit 1 on any failure.
set -uo pipefail

DB=convexlite_backup
T0=$(date +%s)
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"
PG_DUMP=$(command -v pg_dump || echo "$PG_BIN/pg_dump")
PG_RESTORE=$(command -v pg_restore || echo "$PG_BIN/pg_restore")
RESTORED=(convexlite_backup_fc convexlite_backup_sql)

drop_restored() {
	local d
	for d in "${RESTORED[@]}"; do
		psql_admin -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1
	done
}
drop_restored

if ! fresh_db; then
	fail "setup: could not create database $DB with convexlite"
	exit 1
fi

# --- the data -------------------------------------------------------------------
if ! psql_db >"$WORK/fill.log" 2>&1 <<'EOF'
SELECT convex_db_insert('users', '{"name": "Alice"}') AS alice \gset
BEGIN;
SELECT set_config('convexlite.user_id', :'alice', true);
SELECT convex_users_update_profile('{"name": "Alice Johnson", "image": "https://example.com/a.jpg"}');
SELECT convex_messages_send('{"roomId": "general", "content": "Hello", "userName": "Alice"}');
SELECT convex_presence_update('{"roomId": "general", "data": {"status": "here"}}');
COMMIT;
SELECT convex_messages_send('{"roomId": "general", "content": "Hi", "userName": "Bob", "sessionId": "s1"}');
SELECT convex_presence_update('{"roomId": "canvas", "data": {"cursor": {"x": 1, "y": 2}}, "sessionId": "s1"}');

SELECT convex_define_table('posts',
  '{"title": {"fieldType": {"type": "string"}, "optional": false},
    "tag":   {"fieldType": {"type": "string"}, "optional": true},
    "score": {"fieldType": {"type": "number"}, "optional": false}}',
  '{"by_tag": ["tag"], "by_score": ["score"]}');
SELECT convex_table_notify('posts', ARRAY['tag']);
SELECT convex_db_insert('posts', '{"title": "untagged", "score": 1.5}');
SELECT convex_db_insert('posts', '{"title": "go", "tag": "go", "score": {"$float": "AAAAAAAA8P8="}}');
SELECT convex_db_insert('posts', '{"title": "sql", "tag": "sql", "score": -2}');

CREATE FUNCTION add_post(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  RETURN to_jsonb(convex_db_insert('posts', args));
END $$;
REVOKE EXECUTE ON FUNCTION add_post(jsonb) FROM PUBLIC;
SELECT convex_define_mutation('posts:add', 'add_post(jsonb)',
  '{"type": "object", "value": {
      "title": {"fieldType": {"type": "string"}, "optional": false},
      "score": {"fieldType": {"type": "number"}, "optional": false}}}');
SELECT convex_scheduler_run_after(0, 'posts:add', '{"title": "scheduled", "score": 7}');

SELECT convex_files_generate_upload_url() AS url \gset
SELECT convex_storage_upload(:'url', convert_to(repeat('report ', 1000), 'UTF8'), 'application/pdf')->>'storageId' AS sid \gset
SELECT convex_files_save_file(jsonb_build_object('storageId', :'sid', 'name', 'report.pdf',
       'type', 'application/pdf', 'size', 7000, 'sessionId', 's1'));
SELECT lo_from_bytea(0, decode(repeat('00ff7f80', 300000), 'hex')) AS lo \gset
SELECT convex_files_generate_upload_url() AS url \gset
SELECT convex_storage_upload_large_object(:'url', :lo, 'application/octet-stream');
EOF
then
	fail "setup: filling $DB failed"
	sed 's/^/    | /' "$WORK/fill.log" | tail -n 20
	exit 1
fi
# an upload URL handed out before the dump and used after the restore
URL=$(q "SELECT convex_files_generate_upload_url()")

# fingerprint DB: one line per table of schema convex (its rows, sorted), per
# blob (its bytes' SHA-256 and owner), the large objects that are no blob, and
# the privileges of the extension's functions and of schema convex's tables
fingerprint() {
	local t
	for t in $("$PSQL_BIN" -X -q -At -v ON_ERROR_STOP=1 -d "$1" \
		-c "SELECT relname FROM pg_catalog.pg_class WHERE relnamespace = 'convex'::regnamespace AND relkind = 'r' ORDER BY 1"); do
		"$PSQL_BIN" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c \
			"SELECT format('table %s: %s rows, %s', '$t', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))) FROM convex.\"$t\" t" || return 1
	done
	"$PSQL_BIN" -X -q -At -v ON_ERROR_STOP=1 -d "$1" <<'EOF'
SELECT format('blob %s sha256 %s bytes %s owner %s', s._id,
              encode(sha256(lo_get(s.blob)), 'base64') = s.sha256, length(lo_get(s.blob)), r.rolname)
FROM convex._storage s
JOIN pg_largeobject_metadata m ON m.oid = s.blob
JOIN pg_roles r ON r.oid = m.lomowner
ORDER BY s._id;
SELECT format('large objects %s, not blobs %s', count(*),
              count(*) FILTER (WHERE oid NOT IN (SELECT blob FROM convex._storage)))
FROM pg_largeobject_metadata;
SELECT format('function %s public %s', p.oid::regprocedure, has_function_privilege('public', p.oid, 'EXECUTE'))
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'convexlite'
ORDER BY 1;
SELECT format('relation %s acl %s', c.oid::regclass, coalesce(c.relacl, acldefault('r', c.relowner)))
FROM pg_class c WHERE c.relnamespace = 'convex'::regnamespace AND c.relkind IN ('r', 'S')
ORDER BY 1;
SELECT format('handler add_post public %s', has_function_privilege('public', 'add_post(jsonb)', 'EXECUTE'));
EOF
}

if ! fingerprint "$DB" >"$WORK/before.txt" 2>"$WORK/before.err"; then
	fail "setup: fingerprint of $DB failed"
	sed 's/^/    | /' "$WORK/before.err" | tail -n 10
	exit 1
fi
check "the source database has its two blobs" 2 "$(grep -c '^blob .* sha256 t ' "$WORK/before.txt")"

# --- dump ------------------------------------------------------------------------
if "$PG_DUMP" -Fc -d "$DB" -f "$WORK/app.dump" 2>"$WORK/dump.err"; then
	pass "pg_dump -Fc of a convexlite database"
else
	fail "pg_dump -Fc of a convexlite database"
	sed 's/^/    | /' "$WORK/dump.err" | tail -n 10
fi
if "$PG_DUMP" -d "$DB" -f "$WORK/app.sql" 2>"$WORK/dump-sql.err"; then
	pass "pg_dump (plain SQL) of a convexlite database"
else
	fail "pg_dump (plain SQL) of a convexlite database"
	sed 's/^/    | /' "$WORK/dump-sql.err" | tail -n 10
fi
# the source database goes away: nothing below can read it by mistake
psql_admin -c "SET client_min_messages = warning" -c "DROP DATABASE $DB WITH (FORCE)" >/dev/null

# --- restore, twice ---------------------------------------------------------------
for target in "${RESTORED[@]}"; do
	how=pg_restore
	[ "$target" = convexlite_backup_sql ] && how="psql -f (plain dump)"
	psql_admin -c "CREATE DATABASE $target TEMPLATE template0" >/dev/null
	if [ "$how" = pg_restore ]; then
		"$PG_RESTORE" --exit-on-error -d "$target" "$WORK/app.dump" >"$WORK/$target.log" 2>&1
	else
		"$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -d "$target" -f "$WORK/app.sql" >"$WORK/$target.log" 2>&1
	fi
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$how into a new database: no error"
	else
		fail "$how into a new database: exit $rc"
		sed 's/^/    | /' "$WORK/$target.log" | tail -n 10
		continue
	fi

	fingerprint "$target" >"$WORK/$target.txt" 2>&1
	if diff "$WORK/before.txt" "$WORK/$target.txt" >"$WORK/$target.diff"; then
		pass "$how: every convex table, blob, large object and privilege as before ($(wc -l <"$WORK/before.txt") lines)"
	else
		fail "$how: the restored database differs"
		sed 's/^/    | /' "$WORK/$target.diff" | head -n 20
	fi

	qr() { "$PSQL_BIN" -X -q -At -v ON_ERROR_STOP=1 -d "$target" -c "$1" 2>&1; }
	check "$how: an index query over an optional field, in Convex's order" \
		"untagged,go,sql" \
		"$(qr "SELECT string_agg(d->>'title', ',') FROM convex_db_query('posts', 'by_tag') AS d")"
	check "$how: an index over a number field with -Infinity" \
		"go,sql,untagged" \
		"$(qr "SELECT string_agg(d->>'title', ',') FROM convex_db_query('posts', 'by_score') AS d")"
	check "$how: the upload URL handed out before the dump uploads" \
		"t" \
		"$(qr "SELECT convex_storage_upload('$URL', '\\x01'::bytea) ? 'storageId'")"
	check "$how: the registered mutation runs" \
		"t" \
		"$(qr "SELECT convex_mutation('posts:add', '{\"title\": \"after\", \"score\": 3}') IS NOT NULL")"
	qr "CALL convex_scheduler_run_due()" >/dev/null
	check "$how: the pending job runs" \
		"success|1" \
		"$(qr "SELECT (SELECT state->>'kind' FROM convex._scheduled_functions),
		              (SELECT count(*) FROM convex.posts WHERE title = 'scheduled')")"
	check "$how: a new table gets the next table number" \
		"10006" \
		"$(qr "SELECT convex_define_table('later', '{\"x\": {\"fieldType\": {\"type\": \"string\"}, \"optional\": false}}')")"
done

drop_restored
echo "backup_restore: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "backup_restore: FAIL"
	exit 1
fi
echo "backup_restore: PASS"
