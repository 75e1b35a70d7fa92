#!/usr/bin/env bash
# test/scripts/upgrade.sh: ALTER EXTENSION convexlite UPDATE from the oldest
# supported version keeps every document, blob, registered mutation and job,
# and ends with exactly the objects a fresh install of the newest has.
#
# Issue 7: "every release after the first ships an upgrade script; a test
# installs the oldest supported version, fills it with data, updates to the
# newest and checks that nothing is lost."
#
# Versions come from the files: the oldest supported is the oldest full
# install script convexlite--<v>.sql; the newest is default_version in
# convexlite.control.  Every release after the first must have a
# convexlite--<from>--<to>.sql chain from the oldest to the newest (checked
# with pg_extension_update_paths).
#
# In database cvx_upgrade: CREATE EXTENSION convexlite VERSION <oldest>;
# fill it through the old version's functions (users, messages, presence, a
# user table with documents and an index, a registered public and internal
# mutation, a bytea and a large-object upload saved as files, an unused
# upload URL, a job scheduled for tomorrow); take a snapshot (every table of
# schema convex as sorted rows, the blobs' bytes, the table numbers);
# ALTER EXTENSION convexlite UPDATE; then check: the version is the newest;
# the snapshot is identical; every function, table, column, index,
# constraint, trigger, comment, privilege and configuration table equals
# those of a fresh CREATE EXTENSION in database cvx_fresh; and the updated
# install works: a message sent, the registered mutation dispatched, the old
# upload URL used, the pending job cancelled, a new table number follows the
# old ones.
#
# Runs in the shared test cluster (databases cvx_upgrade and cvx_fresh,
# dropped at exit).  PASS/FAIL lines; exits 1 on failure.
set -uo pipefail

DB=cvx_upgrade
FRESH=cvx_fresh
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=test/scripts/lib/checks.sh
. "$HERE/lib/checks.sh"

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	"$PSQL_BIN" -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
		-c "DROP DATABASE IF EXISTS $FRESH WITH (FORCE)" >/dev/null 2>&1
	rm -rf "$WORK"
}
psql_fresh() { "$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -d "$FRESH" "$@"; }

NEWEST=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$ROOT/convexlite.control")
OLDEST=$(find "$ROOT" -maxdepth 1 -name 'convexlite--*.sql' ! -name 'convexlite--*--*.sql' -printf '%f\n' |
	sed 's/^convexlite--\(.*\)\.sql$/\1/' | sort -V | head -n 1)
echo "upgrade: from $OLDEST (oldest install script) to $NEWEST (default_version)"
if [ "$OLDEST" = "$NEWEST" ]; then
	pass "only one release ($NEWEST): nothing to update from"
	exit 0
fi

psql_admin -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $FRESH WITH (FORCE)" \
	-c "CREATE DATABASE $DB" -c "CREATE DATABASE $FRESH" >/dev/null

check "an update path from $OLDEST to $NEWEST is installed" t \
	"$(q "SELECT count(*) = 1 FROM pg_extension_update_paths('convexlite')
	       WHERE source = '$OLDEST' AND target = '$NEWEST' AND path IS NOT NULL")"

# --- the oldest version, filled ---------------------------------------------------
if ! psql_db >"$WORK/fill.log" 2>&1 <<EOF; then
SET client_min_messages = warning;
CREATE EXTENSION convexlite VERSION '$OLDEST';
CREATE TABLE upgrade_vars (name text PRIMARY KEY, value text);

INSERT INTO upgrade_vars SELECT 'ada', convex_db_insert('users', '{"name": "Ada", "email": "ada@example.com"}');
SELECT set_config('convexlite.user_id', value, false) FROM upgrade_vars WHERE name = 'ada';
SELECT convex_users_update_profile('{"name": "Ada L.", "image": "https://example.com/a.png"}');
SELECT convex_messages_send(jsonb_build_object('roomId', 'r' || i, 'content', 'hello ' || i,
                                               'userName', 'Ada', 'sessionId', 's1'))
  FROM generate_series(1, 50) AS i;
SELECT convex_presence_update(jsonb_build_object('roomId', 'r' || i, 'sessionId', 's1',
                                                 'data', jsonb_build_object('status', 'here', 'cursor', jsonb_build_object('x', i, 'y', 0.5))))
  FROM generate_series(1, 20) AS i;
SELECT set_config('convexlite.user_id', '', false);

SELECT convex_define_table('notes',
  '{"title": {"fieldType": {"type": "string"}, "optional": false},
    "tags":  {"fieldType": {"type": "array", "value": {"type": "string"}}, "optional": true},
    "n":     {"fieldType": {"type": "number"}, "optional": false}}',
  '{"by_title": ["title"], "by_tags": ["tags"], "by_n": ["n"], "by_title_tags": ["title", "tags"]}') IS NOT NULL;
SELECT convex_db_insert('notes', jsonb_build_object('title', 'note ' || i, 'tags', jsonb_build_array('a', i::text),
                                                    'n', i))
  FROM generate_series(1, 27) AS i;
-- notes without tags: an older version indexed them last
SELECT convex_db_insert('notes', jsonb_build_object('title', 'a note ' || i, 'n', -i))
  FROM generate_series(1, 3) AS i;

CREATE FUNCTION upgrade_add_note(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS \$\$
BEGIN
    RETURN to_jsonb(convex_db_insert('notes', jsonb_build_object('title', args->>'title',
        'n', 7)));
END \$\$;
SELECT convex_define_mutation('notes:add', 'upgrade_add_note(jsonb)',
  '{"type": "object", "value": {"title": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "id", "tableName": "notes"}');
SELECT convex_define_mutation('notes:addInternal', 'upgrade_add_note(jsonb)',
  '{"type": "object", "value": {"title": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "id", "tableName": "notes"}', internal => true);

INSERT INTO upgrade_vars
SELECT 'sid1', convex_storage_upload(convex_files_generate_upload_url(), convert_to(repeat('bytes ', 1000), 'UTF8'), 'text/plain') ->> 'storageId';
INSERT INTO upgrade_vars
SELECT 'sid2', convex_storage_upload(convex_files_generate_upload_url(), lo_from_bytea(0, convert_to(repeat('large ', 50000), 'UTF8'))) ->> 'storageId';
SELECT convex_files_save_file(jsonb_build_object('storageId', value, 'name', name || '.txt', 'type', 'text/plain', 'size', 6000))
  FROM upgrade_vars WHERE name LIKE 'sid%';
INSERT INTO upgrade_vars SELECT 'url', convex_files_generate_upload_url();
-- file ids kept by the application: an id field and ids nested in any()
SELECT convex_define_table('attachments',
  '{"file": {"fieldType": {"type": "id", "tableName": "_storage"}, "optional": false},
    "extra": {"fieldType": {"type": "any"}, "optional": true}}') IS NOT NULL;
SELECT convex_db_insert('attachments', jsonb_build_object('file', value,
         'extra', jsonb_build_object('copies', jsonb_build_array(value, 'not an id'))))
  FROM upgrade_vars WHERE name LIKE 'sid%';
INSERT INTO upgrade_vars
SELECT 'job', convex_scheduler_run_after(86400000, 'notes:addInternal', '{"title": "tomorrow"}');
-- the ids of system tables before the update, to map them to the new ones
-- (0.3.0 renumbers _storage 1 -> 540 and _scheduled_functions 2 -> 539)
CREATE TABLE upgrade_old_ids AS
  SELECT _id AS old_id, blob::text AS k FROM convex._storage
  UNION ALL SELECT _id, _creation_time::text FROM convex._scheduled_functions;
CREATE TABLE upgrade_idmap (new_id text, old_id text);
CREATE FUNCTION upgrade_unmap(s text) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM upgrade_idmap LOOP s := replace(s, r.new_id, r.old_id); END LOOP;
    RETURN s;
END \$\$;
EOF
	fail "filling version $OLDEST failed"
	sed 's/^/    | /' "$WORK/fill.log" | tail -n 30
	exit 1
fi
pass "version $OLDEST installed and filled through its functions"

# snapshot DB: every table of schema convex, sorted, and the blobs' bytes.
# What 0.3.0 adds to the catalogs on purpose is left out of both sides and
# checked on its own after the update: the kind column of convex._functions
# and the built-in tables' new indexes presence.by_room and files.by_session.
snapshot() {
	"$PSQL_BIN" -X -q -At -d "$1" <<'EOF'
SELECT format('%s: %s rows, %s', c.relname,
              (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM convex.%I', c.relname), false, true, '')))[1],
              (xpath('/row/h/text()', query_to_xml(format(
                  'SELECT md5(coalesce(string_agg(x, E''\n'' ORDER BY x), '''')) AS h FROM (SELECT public.upgrade_unmap(%s) AS x FROM convex.%I t) s',
                  row_text, c.relname), false, true, '')))[1])
  -- 0.3.0's own catalog changes, checked on their own: the kind of a
  -- function, the built-ins' new indexes, other_indexes, and the system
  -- tables' numbers
  FROM (SELECT c.*, CASE c.relname
                    WHEN '_functions' THEN '(to_jsonb(t) - ''kind'')::text'
                    WHEN '_tables' THEN '((CASE WHEN t.is_builtin THEN to_jsonb(t) || jsonb_build_object(''indexes'', t.indexes - ''by_room'' - ''by_session'') ELSE to_jsonb(t) END) - ''other_indexes'' || jsonb_build_object(''number'', CASE WHEN t.name LIKE ''\_%'' THEN 0 ELSE t.number END))::text'
                    ELSE 't::text' END AS row_text
          FROM pg_class c) c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'convex' AND c.relkind = 'r'
 ORDER BY c.relname;
SELECT 'blob ' || public.upgrade_unmap(_id) || ' ' || md5(lo_get(blob)) FROM convex._storage ORDER BY 1;
SELECT 'next table number ' || last_value FROM convex._table_number_seq;
EOF
}
# catalog DB: the extension's objects, as text that does not depend on oids
catalog() {
	"$PSQL_BIN" -X -q -At -d "$1" <<'EOF'
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'convexlite'),
members AS (SELECT d.classid, d.objid FROM pg_depend d, ext
             WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
SELECT 'function ' || p.oid::regprocedure || ' returns ' || pg_get_function_result(p.oid)
       || ' lang ' || l.lanname || ' vol ' || p.provolatile::text || ' strict ' || p.proisstrict
       || ' par ' || p.proparallel::text || ' secdef ' || p.prosecdef || ' config ' || coalesce(p.proconfig::text, '-')
       || ' acl ' || coalesce(p.proacl::text, '-') || ' defaults ' || coalesce(pg_get_expr(p.proargdefaults, 0), '-')
       || ' body ' || md5(coalesce(p.probin, '') || p.prosrc)
       || ' comment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
  JOIN pg_language l ON l.oid = p.prolang
UNION ALL
SELECT 'relation ' || c.oid::regclass || ' kind ' || c.relkind::text || ' acl ' || coalesce(c.relacl::text, '-')
       || ' options ' || coalesce(c.reloptions::text, '-') || ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '-')
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
UNION ALL
SELECT 'column ' || a.attrelid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || ' notnull ' || a.attnotnull || ' collation ' || coalesce(co.collname, '-')
       || ' default ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '-') || ' acl ' || coalesce(a.attacl::text, '-')
  FROM members m JOIN pg_attribute a ON m.classid = 'pg_class'::regclass AND a.attrelid = m.objid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
 WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid)
  FROM members m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid
UNION ALL
SELECT 'constraint ' || con.conrelid::regclass || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid)
  FROM members m JOIN pg_constraint con ON m.classid = 'pg_class'::regclass AND con.conrelid = m.objid
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid)
  FROM members m JOIN pg_trigger t ON m.classid = 'pg_class'::regclass AND t.tgrelid = m.objid
 WHERE NOT t.tgisinternal
UNION ALL
SELECT 'schema ' || n.nspname || ' acl ' || coalesce(n.nspacl::text, '-')
  FROM members m JOIN pg_namespace n ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid
UNION ALL
SELECT 'type ' || t.oid::regtype
  FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
UNION ALL
SELECT 'config ' || c::regclass || ' ' || coalesce(cond, '')
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(c, cond) WHERE e.extname = 'convexlite'
UNION ALL
SELECT 'member of another kind ' || m.classid::regclass || ' ' || pg_describe_object(m.classid, m.objid, 0)
  FROM members m
 WHERE m.classid NOT IN ('pg_proc'::regclass, 'pg_class'::regclass, 'pg_namespace'::regclass, 'pg_type'::regclass)
UNION ALL
SELECT 'builtin table ' || name || ' ' || number || ' ' || fields::text || ' ' || coalesce(indexes::text, '-')
  FROM convex._tables WHERE is_builtin
ORDER BY 1;
EOF
}

snapshot "$DB" >"$WORK/before.txt"
before_objects=$(catalog "$DB" | wc -l)

# --- the update ------------------------------------------------------------------
if psql_db -c "ALTER EXTENSION convexlite UPDATE" >"$WORK/update.log" 2>&1; then
	pass "ALTER EXTENSION convexlite UPDATE from $OLDEST"
else
	fail "ALTER EXTENSION convexlite UPDATE from $OLDEST failed"
	sed 's/^/    | /' "$WORK/update.log"
	exit 1
fi
check "the installed version is the newest" "$NEWEST" "$(q "SELECT extversion FROM pg_extension WHERE extname = 'convexlite'")"

# map each system-table id to its id after the update (by blob and creation time)
q "INSERT INTO upgrade_idmap
   SELECT s._id, o.old_id FROM convex._storage s JOIN upgrade_old_ids o ON o.k = s.blob::text
   UNION ALL SELECT j._id, o.old_id FROM convex._scheduled_functions j JOIN upgrade_old_ids o ON o.k = j._creation_time::text" >/dev/null
check "system tables have Convex's table numbers: _storage 540, _scheduled_functions 539" "540|539" \
	"$(q "SELECT (SELECT number FROM convex._tables WHERE name = '_storage') || '|' || (SELECT number FROM convex._tables WHERE name = '_scheduled_functions')")"
check "every stored file id was renumbered: begins with kg, decodes to _storage" "2|2" \
	"$(q "SELECT count(*) FILTER (WHERE _id LIKE 'kg%') || '|' || count(*) FILTER (WHERE convex_id_table(_id) = '_storage') FROM convex._storage")"
check "... keeping the rest: each old id maps to one new id" "3|3" \
	"$(q "SELECT count(*) || '|' || count(DISTINCT old_id) FROM upgrade_idmap WHERE new_id <> old_id")"
check "file ids in files.storage_id, an id field and nested in any() follow" "2|2|2" \
	"$(q "SELECT (SELECT count(*) FROM convex.files f JOIN convex._storage s ON s._id = f.storage_id) || '|' ||
	             (SELECT count(*) FROM convex.attachments a JOIN convex._storage s ON s._id = a.file) || '|' ||
	             (SELECT count(*) FROM convex.attachments a WHERE a.extra->'copies'->>0 = a.file AND a.extra->'copies'->>1 = 'not an id')")"
check "the pending job's id decodes to _scheduled_functions" _scheduled_functions \
	"$(q "SELECT convex_id_table(_id) FROM convex._scheduled_functions")"
q "UPDATE upgrade_vars v SET value = m.new_id FROM upgrade_idmap m WHERE m.old_id = v.value" >/dev/null

snapshot "$DB" >"$WORK/after.txt"
if diff -u "$WORK/before.txt" "$WORK/after.txt" >"$WORK/data.diff"; then
	pass "every table of schema convex and every blob is unchanged by the update ($(grep -c 'rows' "$WORK/before.txt") tables, $(grep -c '^blob' "$WORK/before.txt") blobs)"
else
	fail "the update changed stored data"
	sed 's/^/    | /' "$WORK/data.diff" | head -n 30
fi

check "registered functions are mutations after the update (kind)" "mutation" \
	"$(q "SELECT string_agg(DISTINCT kind, ',') FROM convex._functions")"
check "the built-in tables gained the seed's presence.by_room and files.by_session" \
	'{"by_room": ["roomId"]}|{"by_session": ["sessionId"]}' \
	"$(q "SELECT (SELECT jsonb_build_object('by_room', indexes -> 'by_room') FROM convex._tables WHERE name = 'presence')::text
	          || '|' || (SELECT jsonb_build_object('by_session', indexes -> 'by_session') FROM convex._tables WHERE name = 'files')::text")"

psql_fresh -c "SET client_min_messages = warning" -c "CREATE EXTENSION convexlite" >/dev/null
catalog "$DB" >"$WORK/upgraded-catalog.txt"
catalog "$FRESH" >"$WORK/fresh-catalog.txt"
if [ "$(grep -c '^function ' "$WORK/fresh-catalog.txt")" -lt 30 ]; then
	fail "the catalog listing of a fresh install is too short: $(wc -l <"$WORK/fresh-catalog.txt") lines"
elif diff -u "$WORK/fresh-catalog.txt" "$WORK/upgraded-catalog.txt" >"$WORK/catalog.diff"; then
	pass "the updated install has exactly a fresh $NEWEST install's objects ($(wc -l <"$WORK/fresh-catalog.txt") lines: functions, relations, columns, indexes, constraints, privileges, comments; $before_objects before the update)"
else
	fail "the updated install differs from a fresh $NEWEST install (- fresh, + updated)"
	grep '^[-+][^-+]' "$WORK/catalog.diff" | head -n 30 | sed 's/^/    | /'
fi

# --- user-table indexes follow Convex's order after the update -------------------------
# (0.3.0: the update rebuilds them as convex_define_table now builds them)
NOTES_FIELDS='{"title": {"fieldType": {"type": "string"}, "optional": false},
    "tags":  {"fieldType": {"type": "array", "value": {"type": "string"}}, "optional": true},
    "n":     {"fieldType": {"type": "number"}, "optional": false}}'
NOTES_INDEXES='{"by_title": ["title"], "by_tags": ["tags"], "by_n": ["n"], "by_title_tags": ["title", "tags"]}'
psql_fresh -c "SELECT convex_define_table('notes', '$NOTES_FIELDS', '$NOTES_INDEXES')" >/dev/null
INDEXDEFS="SELECT string_agg(pg_get_indexdef(indexrelid), E'\\n' ORDER BY indexrelid::regclass::text)
             FROM pg_index WHERE indrelid = 'convex.notes'::regclass"
fresh_defs=$(psql_fresh -At -c "$INDEXDEFS")
check "the updated user table's indexes are those convex_define_table makes now" "$fresh_defs" "$(q "$INDEXDEFS")"
check "... keyed where SQL's order is not Convex's (tags, n)" 3 \
	"$(q "SELECT count(*) FROM pg_index WHERE indrelid = 'convex.notes'::regclass AND pg_get_indexdef(indexrelid) LIKE '%index_key%'")"
check "notes without tags come first in by_tags" "a note 1,a note 2,a note 3,note 1" \
	"$(q "SELECT string_agg(d->>'title', ',') FROM convex_db_query('notes', 'by_tags', '{}', 'asc', max_rows => 4) AS d")"
check "eq on a missing tags selects them; lt includes them" "3|4" \
	"$(q "SELECT (SELECT count(*) FROM convex_db_query('notes', 'by_tags', '{\"tags\": {\"\$undefined\": null}}'))
	             || '|' || (SELECT count(*) FROM convex_db_query('notes', 'by_tags', '{}', 'asc', '{\"lt\": [\"a\", \"10\"]}'))")"

# --- it still works ----------------------------------------------------------------
q "SELECT convex_messages_send('{\"roomId\": \"r1\", \"content\": \"after\", \"userName\": \"Ada\"}')" >/dev/null
check "a message can be sent after the update" 51 "$(q "SELECT count(*) FROM convex.messages")"
q "SELECT convex_mutation('notes:add', '{\"title\": \"after\"}')" >/dev/null
check "the registered mutation dispatches after the update" 31 "$(q "SELECT count(*) FROM convex.notes")"
q "SELECT convex_storage_upload(value, '\\x00ff'::bytea) FROM upgrade_vars WHERE name = 'url'" >/dev/null
check "an upload URL handed out before the update uploads after it" 3 "$(q "SELECT count(*) FROM convex._storage")"
check "... and the new file id is a Convex _storage id (kg...)" 3 "$(q "SELECT count(*) FROM convex._storage WHERE _id LIKE 'kg%'")"
check "a renumbered file reads back through ctx.storage" 6000 \
	"$(q "SELECT length(convex_storage_get(value)) FROM upgrade_vars WHERE name = 'sid1'")"
JOB_STATE="SELECT state->>'kind' FROM convex._scheduled_functions WHERE _id = (SELECT value FROM upgrade_vars WHERE name = 'job')"
check "the job scheduled before the update is still pending" pending "$(q "$JOB_STATE")"
q "SELECT convex_scheduler_cancel(value) FROM upgrade_vars WHERE name = 'job'" >/dev/null
check "... and can be cancelled" canceled "$(q "$JOB_STATE")"
q "SELECT convex_define_table('later', '{\"x\": {\"fieldType\": {\"type\": \"string\"}, \"optional\": false}}')" >/dev/null
check "a table defined after the update takes the next table number" t \
	"$(q "SELECT (SELECT number FROM convex._tables WHERE name = 'later') > (SELECT number FROM convex._tables WHERE name = 'notes')")"
check "the profile, presence and documents read back" "Ada L.|20|note 9" \
	"$(q "SELECT (SELECT name FROM convex.users) || '|' || (SELECT count(*) FROM convex.presence) || '|' ||
	             (SELECT d->>'title' FROM convex_db_query('notes', 'by_title', '{}', 'desc', max_rows => 1) AS d)")"

echo "# $CHECKS checks, $FAILURES failed"
[ "$FAILURES" = 0 ]
