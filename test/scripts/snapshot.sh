#!/usr/bin/env bash
# test/scripts/snapshot.sh: convex_import and convex_export with Convex's
# snapshot ZIP (issue 20), round trip and hostile archives.
#
# A snapshot in Convex's format is written by test/scripts/lib/convex_snapshot.py
# (independently of convexlite's C code: ids, the uniform export JSON, the
# layout of npx convex export): the seed app's tables and a table with every
# value type and validator kind, ids across tables and to _storage, unicode
# and 300 kB strings, files (empty to SNAPSHOT_FILE_MB MiB).  Then:
#   * convex_define_schema + convex_import into a fresh database: every
#     table, number, _id, _creationTime and value as in the ZIP (compared
#     by Python, value by value, int64 apart from float64, -0.0, NaN),
#     files byte for byte with their sha256;
#   * the same snapshot in the other forms Convex writes or its import
#     accepts (ZIP64 records, data descriptors as a streamed export has,
#     everything inside one folder) imports the same documents and files;
#     _storage metadata without _creationTime/sha256/size and a file without
#     metadata import as in Convex; a legacy (non-"uniform") table is
#     refused; the entries of convex-backend's own test snapshot
#     (npm-packages/demos/cron-jobs/test.zip: an empty table, schema
#     "never") import;
#   * the seed app's mutations and queries work on the imported data;
#   * convex_export -> convex_import into a second database -> convex_export:
#     both exports have byte-for-byte the same documents and files, and
#     the same as the original snapshot's;
#   * indexes: in require_empty and replace modes the user tables' indexes
#     are built once after loading (new index files), in append mode they
#     take entries row by row; amcheck (heapallindexed) finds every row in
#     every index after each import;
#   * modes: require_empty refuses a non-empty table, replace loads again,
#     append refuses the same ids and adds a second snapshot's documents;
#   * hostile archives each fail with their SQLSTATE and change nothing
#     (rows and large objects counted before and after).
# SNAPSHOT_DOCS (default 300) and SNAPSHOT_FILE_MB (default 1) set the size;
# make stress runs it with 100000 documents and a 64 MiB file.
set -uo pipefail

DB=cvx_snapshot
DB2=cvx_snapshot2
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/scripts/lib/checks.sh
. "$HERE/lib/checks.sh"
DOCS=${SNAPSHOT_DOCS:-300}
FILE_MB=${SNAPSHOT_FILE_MB:-1}
GEN="$HERE/lib/convex_snapshot.py"

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	"$PSQL_BIN" -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DB2 WITH (FORCE)" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
q2() { "$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -At -d "$DB2" -c "$1"; }

# new_db NAME: a fresh database with convexlite and the app's schema
new_db() {
	psql_admin -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" \
		-c "CREATE DATABASE $1" >/dev/null &&
		"$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -d "$1" -c "SET client_min_messages = warning" \
			-c "CREATE EXTENSION convexlite" \
			-c "SELECT convex_define_schema(\$s\$$(cat "$WORK/schema.json")\$s\$::jsonb)" >/dev/null
}
# lo_in DB FILE: the file as a new large object of DB; prints its oid
lo_in() { printf '\\lo_import %s\nSELECT :LASTOID;\n' "$2" | "$PSQL_BIN" -X -q -At -v ON_ERROR_STOP=1 -d "$1"; }
# lo_out DB OID FILE
lo_out() { "$PSQL_BIN" -X -q -d "$1" -c "\\lo_export $2 $3" >/dev/null; }

python3 "$GEN" "$WORK/snap.zip" "$WORK/schema.json" --docs "$DOCS" --file-mb "$FILE_MB" ||
	{ fail "the snapshot generator failed"; exit 1; }
pass "a Convex-format snapshot written ($DOCS documents in notes, a $FILE_MB MiB file, $(stat -c %s "$WORK/snap.zip") bytes)"

# index_files: the index files (relfilenodes) of convex.notes
index_files() { q "SELECT string_agg(c.relname || ':' || c.relfilenode, ' ' ORDER BY c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'convex.notes'::regclass"; }
# indexes_ok DB: every btree index of schema convex holds exactly the table's rows
# (amcheck's bt_index_parent_check with heapallindexed); prints how many were checked
indexes_ok() {
	"$PSQL_BIN" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "SET client_min_messages = warning" \
		-c "CREATE EXTENSION IF NOT EXISTS amcheck" \
		-c "SELECT count(bt_index_parent_check(c.oid, true)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		      JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' AND c.relnamespace = 'convex'::regnamespace" 2>&1
}

# --- import ------------------------------------------------------------------------
new_db "$DB" || { fail "could not create $DB"; exit 1; }
OID=$(lo_in "$DB" "$WORK/snap.zip")
FILES_BEFORE=$(index_files)
if RESULT=$(q "SELECT convex_import($OID)" 2>"$WORK/import.err"); then
	pass "convex_import loads the snapshot"
else
	fail "convex_import failed: $(cat "$WORK/import.err")"
	exit 1
fi
check "it returns what it loaded per table, with the snapshot's numbers" \
	"10001:4 10002:12 10003:1 10004:5 10005:$DOCS files 4" \
	"$(q "SELECT string_agg((v->>'number') || ':' || (v->>'documents'), ' ' ORDER BY (v->>'number')::int)
	          || ' files ' || ('$RESULT'::jsonb #>> '{storage,files}')
	     FROM jsonb_each('$RESULT'::jsonb -> 'tables') AS t(k, v)")"
check "the tables took the snapshot's table numbers (built-in ones moved)" \
	"files=10001 messages=10002 presence=10003 users=10004 notes=10005" \
	"$(q "SELECT string_agg(name || '=' || number, ' ' ORDER BY number) FROM convex._tables WHERE number > 10000")"
FILES_AFTER=$(index_files)
check "require_empty builds the tables' indexes once after loading (every index of notes in a new file)" "t" \
	"$(q "SELECT bool_and(a <> b) FROM unnest(string_to_array('$FILES_BEFORE', ' '), string_to_array('$FILES_AFTER', ' ')) AS x(a, b)")"
N_INDEXES=$(q "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'convex'::regnamespace AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')")
check "after require_empty every index holds every row (amcheck heapallindexed)" "$N_INDEXES" "$(indexes_ok "$DB")"

# every document as convexlite returns it, in wire JSON, sorted: DB's dump
dump_docs() {
	"$PSQL_BIN" -X -q -At -d "$1" <<'EOF'
SELECT t.name || ' ' || d
  FROM convex._tables t
 CROSS JOIN LATERAL convex_db_query(t.name) AS d
 WHERE t.number > 10000
 ORDER BY 1;
EOF
}
dump_docs "$DB" >"$WORK/db1.txt"
# compare with the ZIP, value by value (Python reads both: the ZIP's export
# JSON, int64 as integers; convexlite's wire JSON, int64 as {"$integer"})
if python3 - "$WORK/snap.zip" "$WORK/db1.txt" >"$WORK/compare.txt" 2>&1 <<'EOF'
import base64, json, math, struct, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])

def from_export(v):
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return ("int64", v)
    if isinstance(v, float):
        return ("float64", struct.pack("<d", v).hex())
    if isinstance(v, list):
        return [from_export(x) for x in v]
    if set(v) == {"$float"}:
        return ("float64", base64.b64decode(v["$float"]).hex())
    if set(v) == {"$bytes"}:
        return ("bytes", v["$bytes"])
    return {k: from_export(x) for k, x in v.items()}

def from_wire(v):
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return ("float64", struct.pack("<d", float(v)).hex())
    if isinstance(v, list):
        return [from_wire(x) for x in v]
    if set(v) == {"$integer"}:
        return ("int64", struct.unpack("<q", base64.b64decode(v["$integer"]))[0])
    if set(v) == {"$float"}:
        return ("float64", base64.b64decode(v["$float"]).hex())
    if set(v) == {"$bytes"}:
        return ("bytes", v["$bytes"])
    return {k: from_wire(x) for k, x in v.items()}

tables = [json.loads(l)["name"] for l in z.read("_tables/documents.jsonl").decode().splitlines()]
want = sorted(t + " " + json.dumps(from_export(json.loads(l)), sort_keys=True)
              for t in tables for l in z.read(t + "/documents.jsonl").decode().splitlines() if l)
got = sorted(line.split(" ", 1)[0] + " " + json.dumps(from_wire(json.loads(line.split(" ", 1)[1])), sort_keys=True)
             for line in open(sys.argv[2], encoding="utf-8").read().splitlines() if line)
print(len(want), "documents in the ZIP,", len(got), "in the database")
missing = sorted(set(want) - set(got))[:3]
extra = sorted(set(got) - set(want))[:3]
for m in missing:
    print("only in the ZIP:", m[:300])
for m in extra:
    print("only in the database:", m[:300])
sys.exit(0 if want == got else 1)
EOF
then
	pass "every document, _id, _creationTime and value is the ZIP's ($(head -n 1 "$WORK/compare.txt"); int64, float64 incl. -0.0/NaN/±Inf, bytes, unicode, 300 kB strings)"
else
	fail "the imported documents differ from the ZIP's"
	sed 's/^/    | /' "$WORK/compare.txt" | head -n 10
fi
FILES_SQL="SELECT string_agg(_id || ':' || size || ':' || md5(lo_get(blob)) || ':' || sha256 || ':' || coalesce(content_type, '-'), ' ' ORDER BY _id) FROM convex._storage"
ZIP_FILES=$(python3 - "$WORK/snap.zip" <<'EOF'
import base64, hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
meta = [json.loads(l) for l in z.read("_storage/documents.jsonl").decode().splitlines()]
names = {n.split("/")[1].split(".")[0]: n for n in z.namelist() if n.startswith("_storage/") and not n.endswith(".jsonl")}
out = []
for m in sorted(meta, key=lambda m: m["_id"]):
    data = z.read(names[m["_id"]])
    out.append("%s:%d:%s:%s:%s" % (m["_id"], len(data), hashlib.md5(data).hexdigest(),
                                   base64.b64encode(hashlib.sha256(data).digest()).decode(), m["contentType"] or "-"))
print(" ".join(out))
EOF
)
check "every file is a large object with the ZIP's bytes, size, sha256 and content type" "$ZIP_FILES" "$(q "$FILES_SQL")"
check "storage ids keep Convex's kg prefix and decode to _storage" "4" \
	"$(q "SELECT count(*) FROM convex._storage WHERE _id LIKE 'kg%' AND convex_id_table(_id) = '_storage'")"

# --- the forms Convex writes or its import accepts --------------------------------------
# each variant of the same snapshot imports (into one database, then replacing) the same documents
new_db "$DB2" || fail "could not create $DB2"
VMODE=require_empty
for variant in zip64 stream folder; do
	python3 "$GEN" "$WORK/v.zip" "$WORK/vschema.json" --docs "$DOCS" --file-mb "$FILE_MB" --variant "$variant" ||
		{ fail "generating the $variant variant failed"; continue; }
	VOID=$(lo_in "$DB2" "$WORK/v.zip")
	if ! q2 "SELECT convex_import($VOID, '$VMODE')" >"$WORK/v.out" 2>&1; then
		fail "the $variant variant does not import: $(head -n 3 "$WORK/v.out")"
		continue
	fi
	dump_docs "$DB2" >"$WORK/v.txt"
	what=$(case $variant in
		zip64) echo "ZIP64 records on every entry (force_zip64)" ;;
		stream) echo "data descriptors, as convex-backend's streamed export writes" ;;
		folder) echo "everything inside one folder, as Convex's import accepts" ;;
		esac)
	if cmp -s "$WORK/db1.txt" "$WORK/v.txt" && [ "$(q2 "$FILES_SQL")" = "$ZIP_FILES" ]; then
		pass "a snapshot with $what imports the same $(wc -l <"$WORK/v.txt") documents and 4 files"
	else
		fail "a snapshot with $what imports different documents or files"
		diff "$WORK/db1.txt" "$WORK/v.txt" | head -n 3 | cut -c1-200 | sed 's/^/    | /'
	fi
	VMODE=replace
done
python3 "$GEN" "$WORK/v.zip" "$WORK/vschema.json" --docs "$DOCS" --file-mb "$FILE_MB" --variant storage_sparse
VOID=$(lo_in "$DB2" "$WORK/v.zip")
check "_storage metadata without _creationTime, sha256 and size, and a file without metadata, import as in Convex (the file's own size and SHA-256)" \
	"4|$ZIP_FILES" "$(q2 "SELECT convex_import($VOID, 'replace') #>> '{storage,files}'" 2>&1)|$(q2 "$FILES_SQL" 2>&1)"
python3 "$GEN" "$WORK/v.zip" "$WORK/vschema.json" --docs 20 --file-mb 0.01 --variant legacy_schema
VOID=$(lo_in "$DB2" "$WORK/v.zip")
check "a table in Convex's legacy export format (generated_schema not \"uniform\") is refused (0A000), nothing changed" "0A000|$DOCS" \
	"$("$PSQL_BIN" -X -q -At -d "$DB2" -c "\\set VERBOSITY sqlstate" -c "SELECT convex_import($VOID, 'replace')" 2>&1 | grep -oE '[0-9A-Z]{5}$' | head -n 1)|$(q2 "SELECT count(*) FROM convex.notes")"
python3 "$GEN" "$WORK/v.zip" "$WORK/vschema.json" --variant empty_table
new_db "$DB2" || fail "could not create $DB2"
VOID=$(lo_in "$DB2" "$WORK/v.zip")
check "convex-backend's own test snapshot (cron-jobs: messages 10001, empty, schema \"never\", streamed) imports" \
	"10001|0|messages=10001" \
	"$(q2 "SELECT r #>> '{tables,messages,number}' || '|' || (r #>> '{tables,messages,documents}') FROM convex_import($VOID) AS r" 2>&1)|$(q2 "SELECT string_agg(name || '=' || number, ',') FROM convex._tables WHERE number = 10001")"

# --- the seed app works on the imported data ------------------------------------------
USER=$(q "SELECT _id FROM convex.users ORDER BY _creation_time LIMIT 1")
check "an imported user signs in and users:updateProfile patches it" "$USER|Ada L." \
	"$(q "SELECT set_config('convexlite.user_id', '$USER', false); SELECT convex_users_update_profile('{\"name\": \"Ada L.\"}');
	      SELECT convex_auth_user_id() || '|' || name FROM convex.users WHERE _id = '$USER'" | tail -n 1)"
q "SELECT set_config('convexlite.user_id', '$USER', false); SELECT convex_messages_send('{\"roomId\": \"room-0\", \"content\": \"after import\", \"userName\": \"Ada\"}')" >/dev/null
check "messages:send adds to an imported room, with the imported user's id" "5|$USER" \
	"$(q "SELECT count(*) || '|' || max(user_id) FROM convex.messages WHERE room_id = 'room-0'")"
check "a new message's id decodes to messages (the imported number 10002)" "messages" \
	"$(q "SELECT convex_id_table(_id) FROM convex.messages WHERE content = 'after import'")"
check "ctx.storage.getUrl serves an imported file id" "t" \
	"$(q "SELECT convex_storage_get_url(storage_id) LIKE '%/api/storage/kg%' FROM convex.files ORDER BY _creation_time LIMIT 1")"
check "an imported file reads back" "10" \
	"$(q "SELECT length(convex_storage_get(_id)) FROM convex._storage WHERE size = 10")"
check "an index of the imported table is queried (notes.by_author)" "$(q "SELECT count(*) FROM convex.notes WHERE author = '$USER'")" \
	"$(q "SELECT count(*) FROM convex_db_query('notes', 'by_author', jsonb_build_object('author', '$USER'))")"
check "the schema's search index is refused at query time" "0A000" \
	"$(psql_db -At -c "\\set VERBOSITY sqlstate" -c "SELECT convex_db_query('notes', 'search_title')" 2>&1 | grep -o '0A000' | head -n 1)"
check "a new table takes a number after the imported ones" "t" \
	"$(q "SELECT convex_define_table('later', '{}') > 10005")"
q "SELECT convex_db_delete('messages', _id) FROM convex.messages WHERE content = 'after import'" >/dev/null
q "SELECT convex_users_update_profile('{\"name\": \"Ada\"}') FROM (SELECT set_config('convexlite.user_id', '$USER', false)) s" >/dev/null
q "DROP TABLE convex.later; DELETE FROM convex._tables WHERE name = 'later'" >/dev/null
# a pending job, to be exported and imported with its id
JOB=$(q "SELECT convex_scheduler_run_after(86400000, 'messages:send', '{\"roomId\": \"r\", \"content\": \"later\", \"userName\": \"x\"}')")

# --- export, re-import, export ---------------------------------------------------------
EXP1=$(q "SELECT convex_export()")
lo_out "$DB" "$EXP1" "$WORK/export1.zip"
new_db "$DB2" || { fail "could not create $DB2"; exit 1; }
OID2=$(lo_in "$DB2" "$WORK/export1.zip")
if q2 "SELECT convex_import($OID2)" >"$WORK/import2.out" 2>&1; then
	pass "convexlite's export imports into a fresh database"
else
	fail "re-importing the export failed: $(cat "$WORK/import2.out")"
fi
dump_docs "$DB2" >"$WORK/db2.txt"
if cmp -s "$WORK/db1.txt" "$WORK/db2.txt"; then
	pass "after export and re-import every document is the same ($(wc -l <"$WORK/db1.txt") documents)"
else
	fail "the re-imported documents differ"
	diff "$WORK/db1.txt" "$WORK/db2.txt" | head -n 5 | cut -c1-300 | sed 's/^/    | /'
fi
check "... and every file" "$(q "$FILES_SQL")" "$(q2 "$FILES_SQL")"
check "the pending job kept its id, path and arguments" "$JOB|messages:send|later" \
	"$(q2 "SELECT _id || '|' || name || '|' || (args->0->>'content') FROM convex._scheduled_functions WHERE state->>'kind' = 'pending'")"
EXP2=$(q2 "SELECT convex_export()")
lo_out "$DB2" "$EXP2" "$WORK/export2.zip"
if python3 - "$WORK/export1.zip" "$WORK/export2.zip" "$WORK/snap.zip" >"$WORK/exports.txt" 2>&1 <<'EOF'
import sys, zipfile
a, b, orig = (zipfile.ZipFile(p) for p in sys.argv[1:])
ea = {n: a.read(n) for n in a.namelist() if n != "README.md"}
eb = {n: b.read(n) for n in b.namelist() if n != "README.md"}
bad = [n for n in sorted(set(ea) | set(eb)) if ea.get(n) != eb.get(n)]
print(len(ea), "entries compared;", "differ:", bad[:5])
# the original's files are in the export byte for byte
names = {n.split("/")[1].split(".")[0]: orig.read(n) for n in orig.namelist()
         if n.startswith("_storage/") and not n.endswith(".jsonl")}
bad_files = [i for i, data in names.items() if ea.get("_storage/" + i) != data]
print(len(names), "files of the original;", "differ:", bad_files[:3])
sys.exit(1 if bad or bad_files else 0)
EOF
then
	pass "the two exports are byte for byte the same, entry by entry, and hold the original's files ($(head -n 1 "$WORK/exports.txt"))"
else
	fail "the exports differ"
	sed 's/^/    | /' "$WORK/exports.txt"
fi
check "the export is in Convex's layout and export JSON (int64 plain, float64 with a '.')" "t" \
	"$(python3 - "$WORK/export1.zip" <<'EOF'
import json, zipfile, sys
z = zipfile.ZipFile(sys.argv[1])
n = set(z.namelist())
ok = {"README.md", "_tables/documents.jsonl", "notes/documents.jsonl", "notes/generated_schema.jsonl",
      "_storage/documents.jsonl"} <= n and z.read("notes/generated_schema.jsonl") == b'"uniform"\n'
line = [json.loads(l) for l in z.read("notes/documents.jsonl").decode().splitlines()][0]
ok = ok and isinstance(line["count"], int) and isinstance(line["_creationTime"], float)
print("t" if ok else "f")
EOF
)"

# --- modes -------------------------------------------------------------------------------
SQLSTATE_OF() { psql_db -At -c "\\set VERBOSITY sqlstate" -c "$1" 2>&1 | grep -oE '^ERROR: +[0-9A-Z]{5}' | grep -oE '[0-9A-Z]{5}$'; }
check "require_empty refuses tables that have documents (55000)" 55000 "$(SQLSTATE_OF "SELECT convex_import($OID)")"
check "replace deletes and loads again" "$DOCS|4" \
	"$(q "SELECT convex_import($OID, 'replace') #>> '{tables,notes,documents}' || '|' || (SELECT count(*) FROM convex._storage)")"
check "... leaving no blob of the old files behind" 4 \
	"$(q "SELECT count(*) FROM pg_largeobject_metadata WHERE oid IN (SELECT blob FROM convex._storage)")"
check "after replace every index holds every row, the deleted ones' ids no conflict (amcheck)" "$N_INDEXES" "$(indexes_ok "$DB")"
check "append refuses ids that are already there (23505)" 23505 "$(SQLSTATE_OF "SELECT convex_import($OID, 'append')")"
# a second snapshot (other ids) without presence, whose (sessionId, roomId) is unique in convexlite
python3 "$GEN" "$WORK/snap21a.zip" "$WORK/schema21.json" --docs 50 --file-mb 0.01 --seed 21 >/dev/null
python3 - "$WORK/snap21a.zip" "$WORK/snap21.zip" <<'EOF'
import sys, zipfile
src, dst = zipfile.ZipFile(sys.argv[1]), zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED)
for i in src.infolist():
    data = src.read(i)
    if i.filename.startswith("presence/"):
        continue
    if i.filename == "_tables/documents.jsonl":
        data = b"".join(l + b"\n" for l in data.splitlines() if b'"presence"' not in l)
    dst.writestr(i, data)
dst.close()
EOF
OID21=$(lo_in "$DB" "$WORK/snap21.zip")
FILES_BEFORE=$(index_files)
check "append adds a second snapshot's documents (same table numbers, new ids)" "$((DOCS + 50))|8" \
	"$(q "SELECT convex_import($OID21, 'append') IS NOT NULL; SELECT count(*) || '|' || (SELECT count(*) FROM convex._storage) FROM convex.notes" | tail -n 1)"
check "append inserts index entries row by row (the index files stay)" "$FILES_BEFORE" "$(index_files)"
check "after append every index holds every row (amcheck)" "$N_INDEXES" "$(indexes_ok "$DB")"
check "an unknown mode is refused (22023)" 22023 "$(SQLSTATE_OF "SELECT convex_import($OID, 'merge')")"

# --- flat memory: the backend's private memory does not grow with the snapshot ---------------
# peak_anon DB OID: the highest RssAnon (kB) of the backend running convex_import(OID),
# sampled every 20 ms from /proc (private memory only: shared buffers are not in it)
peak_anon() {
	local pidfile="$WORK/pid.$2" peak=0 pid v
	"$PSQL_BIN" -X -q -At -d "$1" -c "SELECT pg_backend_pid()" -c "SELECT pg_sleep(0.5)" \
		-c "SELECT convex_import($2, 'replace') IS NOT NULL" >"$pidfile" 2>&1 &
	local client=$! _
	for _ in $(seq 200); do
		[ -s "$pidfile" ] && break
		sleep 0.02
	done
	pid=$(head -n 1 "$pidfile")
	while kill -0 "$client" 2>/dev/null; do
		v=$(sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
		sleep 0.02
	done
	wait "$client"
	echo "$peak"
}
python3 "$GEN" "$WORK/m1.zip" "$WORK/m.json" --docs 2000 --file-mb 8 >/dev/null
python3 "$GEN" "$WORK/m2.zip" "$WORK/m.json" --docs 20000 --file-mb 8 >/dev/null
M1=$(lo_in "$DB" "$WORK/m1.zip")
M2=$(lo_in "$DB" "$WORK/m2.zip")
peak_anon "$DB" "$M1" >/dev/null # warm the caches
small=$(peak_anon "$DB" "$M1")
large=$(peak_anon "$DB" "$M2")
if [ "$small" = 0 ] || [ "$large" = 0 ]; then
	echo "SKIP: flat memory: the server's /proc entries are not readable by $(id -un)"
elif [ $((large - small)) -lt 8192 ]; then
	pass "memory stays flat: peak private memory $small kB importing 2000 documents, $large kB importing 20000 (and an 8 MiB file each)"
else
	fail "memory grows with the snapshot: peak private memory $small kB for 2000 documents, $large kB for 20000"
fi

# --- hostile archives ----------------------------------------------------------------------
new_db "$DB2" || exit 1
STATE_SQL="SELECT (SELECT count(*) FROM pg_largeobject_metadata) || '/' || (SELECT sum((xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM convex.%I', name), false, true, '')))[1]::text::int) FROM convex._tables) || '/' || (SELECT string_agg(name || number, ',' ORDER BY name) FROM convex._tables)"
for kind in bomb:54000 traversal:22023 absolute:22023 duplicate_id:23505 wrong_table:22023 invalid_document:23514 \
	malformed_json:22P02 truncated:XX001 bad_sha256:XX001 missing_file:XX001 undefined_table:42P01 not_zip:XX001; do
	name=${kind%%:*}
	want=${kind##*:}
	python3 "$GEN" "$WORK/h.zip" "$WORK/hschema.json" --docs 20 --file-mb 0.01 --hostile "$name" ||
		{ fail "generating the $name archive failed"; continue; }
	HOID=$(lo_in "$DB2" "$WORK/h.zip")
	before=$(q2 "$STATE_SQL")
	got=$("$PSQL_BIN" -X -q -At -d "$DB2" -c "\\set VERBOSITY sqlstate" -c "SET convexlite.import_max_size = '64MB'" \
		-c "SELECT convex_import($HOID)" 2>&1 | grep -oE '^ERROR: +[0-9A-Z]{5}' | grep -oE '[0-9A-Z]{5}$')
	msg=$("$PSQL_BIN" -X -q -At -d "$DB2" -c "SET convexlite.import_max_size = '64MB'" -c "SELECT convex_import($HOID)" 2>&1 | grep '^ERROR' | head -n 1 | cut -c1-160)
	after=$(q2 "$STATE_SQL")
	if [ "$got" = "$want" ] && [ "$before" = "$after" ]; then
		pass "hostile archive $name: $want, nothing changed ($msg)"
	else
		fail "hostile archive $name: expected $want and no change, got '$got' ($msg); before $before after $after"
	fi
	q2 "SELECT lo_unlink($HOID)" >/dev/null
done

echo "# $CHECKS checks, $FAILURES failed"
[ "$FAILURES" = 0 ]
