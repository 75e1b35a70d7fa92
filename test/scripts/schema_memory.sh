#!/usr/bin/env bash
# test/scripts/schema_memory.sh: backend memory stays flat in what a caller
# chooses (README "Application tables").
#
#   1. Patches of distinct sets of fields: a table of 12 optional fields has
#      4,096 sets; one backend patches 4,095 of them.  The kept UPDATE
#      statements are a bounded LRU, so the backend's memory
#      (pg_backend_memory_contexts) after 4,095 sets is within 4 MB of its
#      memory after 256 sets (with one kept plan per set it grew by about
#      25 kB per set, 95 MB here); every row has exactly its set's fields
#      (most sets take the statement for every set), and a patch clears.
#   2. A redefinition checks every stored document: the peak memory of the
#      backend that redefines (VmPeak in /proc/<pid>/status, read by the
#      backend itself) grows by about as much over 10,000 documents of 2 kB
#      as over 2,000 (within 8 MB; keeping each row's copies until the end
#      cost about 29 kB per document).
#   3. A query returning every document of those tables (convex_db_query
#      without max_rows): peak memory within 8 MB between 2,000 and 10,000
#      documents (fetching the whole result into SPI and building every
#      document before returning grew with the rows).
#
# Uses PGHOST/PGPORT/PGUSER (a superuser, on the server's host); creates and
# drops database convexlite_schema_memory.  One PASS/FAIL line per check.
set -uo pipefail

DB=convexlite_schema_memory
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

if ! fresh_db; then
	fail "setup: could not create database $DB with convexlite"
	exit 1
fi
T0=$(date +%s)
MB=$((1024 * 1024))

# --- 1: patches of 4,095 distinct field sets ---------------------------------
FIELDS=$(q "SELECT jsonb_object_agg(chr(97 + i), '{\"fieldType\": {\"type\": \"number\"}, \"optional\": true}'::jsonb)
            FROM generate_series(0, 11) i")
psql_db -c "SELECT convex_define_table('wide', '$FIELDS', '{}')" \
	-c "DO \$\$ BEGIN FOR i IN 1..4095 LOOP PERFORM convex_db_insert('wide', '{}'); END LOOP; END \$\$" >/dev/null
# patch_sets FROM TO: patch row i with the set of fields whose bits are in i
patch_sets() {
	echo "DO \$\$ DECLARE ids text[] := (SELECT array_agg(_id ORDER BY _id) FROM convex.wide); p jsonb;
	      BEGIN FOR i IN $1..$2 LOOP
	        p := (SELECT jsonb_object_agg(chr(97 + b), i) FROM generate_series(0, 11) b
	               WHERE i & (1 << b) <> 0);
	        PERFORM convex_db_patch('wide', ids[i], p);
	      END LOOP; END \$\$"
}
MEM="SELECT sum(total_bytes) FROM pg_backend_memory_contexts"
if out=$(psql_db -At -c "$(patch_sets 1 256)" -c "$MEM" -c "$(patch_sets 257 4095)" -c "$MEM" 2>&1); then
	read -r after_256 after_4095 <<<"$(echo "$out" | tr '\n' ' ')"
	growth=$((after_4095 - after_256))
	echo "    backend memory after 256 sets: $((after_256 / 1024)) kB; after 4,095: $((after_4095 / 1024)) kB"
	if [ "$growth" -lt $((4 * MB)) ]; then
		pass "patching 3,839 more distinct field sets grew the backend by $((growth / 1024)) kB (< 4 MB)"
	else
		fail "patching 3,839 more distinct field sets grew the backend by $((growth / 1024)) kB (limit 4 MB)"
	fi
	# row i (in _id order) has exactly the fields of i's bits, each set to i
	check "every patch set exactly its fields" 4095 \
		"$(q "SELECT count(*) FROM (SELECT row_number() OVER (ORDER BY _id) AS i, to_jsonb(w) AS j FROM convex.wide w) x
		      WHERE (SELECT bool_and(CASE WHEN i & (1 << b) <> 0 THEN j -> chr(97 + b) = to_jsonb(i)
		                                  ELSE j -> chr(97 + b) = 'null' END) FROM generate_series(0, 11) b)")"
	# clearing optional fields, whichever statement the set gets
	last=$(q "SELECT _id FROM convex.wide ORDER BY _id DESC LIMIT 1")
	psql_db -c "SELECT convex_db_patch('wide', '$last', '{\"a\": null, \"c\": null, \"l\": null, \"b\": 7}')" >/dev/null
	check "a patch clears and sets fields" '{"b": 7, "d": 4095, "e": 4095, "f": 4095, "g": 4095, "h": 4095, "i": 4095, "j": 4095, "k": 4095}' \
		"$(q "SELECT convex_db_get('wide', '$last') - '_id' - '_creationTime'")"
else
	fail "patching distinct field sets failed: $out"
fi

# --- 2: peak memory of a redefinition over 2,000 and 10,000 documents --------
PEAK="SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                           'VmPeak:\s+(\d+) kB'))[1]"
OPTIONAL='{"body": {"fieldType": {"type": "string"}, "optional": true}}'
REQUIRED='{"body": {"fieldType": {"type": "string"}, "optional": false}}'
# redefine_peak ROWS: VmPeak growth (kB) of a backend redefining a table of ROWS documents
redefine_peak() {
	local out
	psql_db -c "SELECT convex_define_table('big$1', '$OPTIONAL', '{}')" \
		-c "DO \$\$ BEGIN FOR i IN 1..$1 LOOP
		      PERFORM convex_db_insert('big$1', jsonb_build_object('body', i || repeat('x', 2000)));
		    END LOOP; END \$\$" >/dev/null || return 1
	out=$(psql_db -At -c "$PEAK" -c "SELECT convex_define_table('big$1', '$REQUIRED', '{}')" -c "$PEAK") ||
		return 1
	read -r before _ after <<<"$(echo "$out" | tr '\n' ' ')"
	echo $((after - before))
}
if small=$(redefine_peak 2000) && large=$(redefine_peak 10000); then
	echo "    peak memory growth of the redefinition: $small kB at 2,000 documents, $large kB at 10,000"
	if [ "$large" -lt $((small + 8192)) ]; then
		pass "redefinition peak memory is flat in the number of documents ($small kB / $large kB)"
	else
		fail "redefinition peak memory grows with the number of documents: $small kB at 2,000, $large kB at 10,000"
	fi
else
	fail "redefining over 2,000 / 10,000 documents failed"
fi

# --- 3: peak memory of a query over 2,000 and 10,000 documents --------------
# query_peak ROWS: VmPeak growth (kB) of a backend reading all of big<ROWS>
query_peak() {
	local out before after n
	out=$(psql_db -At -c "$PEAK" \
		-c "SELECT count(*) FROM convex_db_query('big$1', 'by_creation_time', '{}', 'asc')" -c "$PEAK") ||
		return 1
	read -r before n after <<<"$(echo "$out" | tr '\n' ' ')"
	[ "$n" = "$1" ] || return 1
	echo $((after - before))
}
if small=$(query_peak 2000) && large=$(query_peak 10000); then
	echo "    peak memory growth of the query: $small kB at 2,000 documents, $large kB at 10,000"
	if [ "$large" -lt $((small + 8192)) ]; then
		pass "query peak memory is flat in the number of documents ($small kB / $large kB)"
	else
		fail "query peak memory grows with the number of documents: $small kB at 2,000, $large kB at 10,000"
	fi
else
	fail "querying 2,000 / 10,000 documents failed"
fi

echo "schema_memory: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "schema_memory: FAIL"
	exit 1
fi
echo "schema_memory: PASS"
exit 0
