#!/usr/bin/env bash
# test/scripts/schema_race.sh: table definitions against concurrent writers and
# against each other (README "Application tables").
#
# The invariant: at every moment every stored document matches the definition
# in convex._tables, and the columns of convex.<table> are exactly the columns
# of the fields the catalog lists.  Each case forces one interleaving of two
# sessions: T1 does its part in a transaction and holds it open (pg_sleep);
# T2 starts meanwhile, must be seen waiting for a lock, and ends after T1
# commits.  The checker then redefines every table with its own catalog
# definition in a new session (which checks every stored document) and
# compares columns with fields.
#
#   1. T1 makes "title" required; T2 inserts a document without it.
#      T2 must wait, then be refused against the new definition.
#      Meanwhile a write to another table and a read of this one do not wait.
#   2. T1 inserts a document without "title"; T2 makes "title" required.
#      T2 must wait, then see that document and be refused.
#   3. T1 adds field x; T2 adds field y (each from the same old definition).
#      T2 must wait and start from T1's definition: no orphan column x.
#   4. T1 and T2 both define a table that does not exist yet.  T2 must wait
#      and then redefine T1's table; both succeed, no orphan.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops database
# convexlite_schema_race.  One PASS/FAIL line per check; exit 1 on any failure.
set -uo pipefail

DB=convexlite_schema_race
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

if ! fresh_db; then
	fail "setup: could not create database $DB with convexlite"
	exit 1
fi

# fields JSON: each argument is name:o (optional) or name:r (required), all strings
fields() {
	local out="" f
	for f in "$@"; do
		out="$out${out:+, }\"${f%%:*}\": {\"fieldType\": {\"type\": \"string\"}, \"optional\": $([ "${f##*:}" = o ] && echo true || echo false)}"
	done
	echo "{$out}"
}
define_sql() { echo "SELECT convex_define_table('$1', '$2', '{}')"; }

# check_invariant CASE: every table's documents match its catalog definition,
# and its columns are its fields' columns (field names here are their columns)
check_invariant() {
	local name=$1 t out bad
	bad=$(q "SELECT coalesce(string_agg(t.name, ', '), '') FROM convex._tables t
	          WHERE NOT t.is_builtin
	            AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
	                  WHERE a.attrelid = ('convex.' || quote_ident(t.name))::regclass
	                    AND a.attnum > 0 AND NOT a.attisdropped
	                    AND a.attname NOT IN ('_id', '_creation_time'))
	                IS DISTINCT FROM
	                (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(t.fields) k)")
	if [ -z "$bad" ]; then
		pass "$name: every table's columns are its catalog fields"
	else
		fail "$name: tables with a column the catalog does not list (or lacking one): $bad"
		q "SELECT name, fields FROM convex._tables WHERE name IN ('docs', 'fresh')" | sed 's/^/    | /'
		psql_db -c '\d convex.docs' | sed 's/^/    | /'
	fi
	for t in $(q "SELECT name FROM convex._tables WHERE NOT is_builtin ORDER BY name"); do
		if out=$(q "SELECT convex_define_table(name, fields, indexes) FROM convex._tables
		             WHERE name = '$t'" 2>&1); then
			pass "$name: every document of \"$t\" matches its catalog definition"
		else
			fail "$name: a document of \"$t\" violates the catalog's definition: $out"
		fi
	done
}

# interleave CASE T1_SQL T2_SQL: T1_SQL in a transaction held open for 3 s;
# T2_SQL meanwhile, which must wait for a lock.  T2's status goes to T2_RC,
# its output to $WORK/t2.log.
T2_RC=0
interleave() {
	local name=$1 t1_sql=$2 t2_sql=$3 t1_pid t2_pid
	PGAPPNAME=race_t1 psql_db -c "SET client_min_messages = warning" -c "BEGIN" -c "$t1_sql" \
		-c "SELECT pg_sleep(3)" -c "COMMIT" >"$WORK/t1.log" 2>&1 &
	t1_pid=$!
	wait_for "T1 to hold its transaction open" \
		"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'race_t1'
		                   AND query LIKE '%pg_sleep%' AND state = 'active')"
	PGAPPNAME=race_t2 psql_db -c "SET client_min_messages = warning" -c "$t2_sql" >"$WORK/t2.log" 2>&1 &
	t2_pid=$!
	if wait_for "T2 to wait for T1's lock" \
		"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'race_t2'
		                   AND wait_event_type = 'Lock')"; then
		pass "$name: T2 waited for T1"
	else
		fail "$name: T2 did not wait for T1"
	fi
	if [ -n "${DURING:-}" ]; then eval "$DURING"; fi
	if wait "$t1_pid"; then
		pass "$name: T1 committed"
	else
		fail "$name: T1 failed"
		sed 's/^/    | /' "$WORK/t1.log"
	fi
	wait "$t2_pid"
	T2_RC=$?
}

# not_blocked DESCRIPTION SQL: SQL completes while T1 holds its locks
not_blocked() {
	if out=$(psql_db -At -c "SET lock_timeout = '1s'" -c "$2" 2>&1); then
		pass "$1 does not wait for the redefinition"
	else
		fail "$1 waited for the redefinition: $out"
	fi
}

T0=$(date +%s)

# --- case 1: a redefinition makes title required || insert without title ------
psql_db -c "$(define_sql docs "$(fields title:o)")" \
	-c "$(define_sql other "$(fields title:o)")" \
	-c "SELECT convex_db_insert('docs', '{\"title\": \"a\"}')" >/dev/null
DURING='not_blocked "case 1: an insert into another table" "SELECT convex_db_insert('"'other'"', '"'{}'"')"
	not_blocked "case 1: a read of the table" "SELECT count(*) FROM convex.docs"'
interleave "case 1 (required || insert)" "$(define_sql docs "$(fields title:r)")" \
	"SELECT convex_db_insert('docs', '{}')"
DURING=
if [ "$T2_RC" -ne 0 ] && grep -q 'title' "$WORK/t2.log"; then
	pass "case 1: the insert without title was refused against the new definition"
else
	fail "case 1: the insert without title was not refused (status $T2_RC)"
	sed 's/^/    | /' "$WORK/t2.log"
fi
check_invariant "case 1"

# --- case 2: insert without title || a redefinition makes title required ------
psql_db -c "TRUNCATE convex.docs" -c "$(define_sql docs "$(fields title:o)")" >/dev/null
interleave "case 2 (insert || required)" "SELECT convex_db_insert('docs', '{}')" \
	"$(define_sql docs "$(fields title:r)")"
if [ "$T2_RC" -ne 0 ] && grep -q 'title' "$WORK/t2.log"; then
	pass "case 2: the redefinition saw the new document and was refused"
else
	fail "case 2: the redefinition was not refused (status $T2_RC)"
	sed 's/^/    | /' "$WORK/t2.log"
fi
check_invariant "case 2"

# --- case 3: two redefinitions of one table ----------------------------------
psql_db -c "TRUNCATE convex.docs" -c "$(define_sql docs "$(fields title:o)")" >/dev/null
interleave "case 3 (add x || add y)" "$(define_sql docs "$(fields title:o x:o)")" \
	"$(define_sql docs "$(fields title:o y:o)")"
check "case 3: the second redefinition succeeded" 0 "$T2_RC"
check "case 3: the catalog has the last definition" '["title", "y"]' \
	"$(q "SELECT jsonb_agg(k ORDER BY k) FROM jsonb_object_keys((SELECT fields FROM convex._tables WHERE name = 'docs')) k")"
check_invariant "case 3"

# --- case 4: two first definitions of one name -------------------------------
interleave "case 4 (define || define, new table)" "$(define_sql fresh "$(fields a:o)")" \
	"$(define_sql fresh "$(fields b:o)")"
if [ "$T2_RC" -eq 0 ]; then
	pass "case 4: the second definition redefined the first one's table"
else
	fail "case 4: the second definition failed (status $T2_RC)"
	sed 's/^/    | /' "$WORK/t2.log"
fi
check_invariant "case 4"

echo "schema_race: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "schema_race: FAIL"
	exit 1
fi
echo "schema_race: PASS"
exit 0
