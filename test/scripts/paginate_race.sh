#!/usr/bin/env bash
# test/scripts/paginate_race.sh: convex_db_paginate under concurrent inserts
# and deletes.
#
# Room "r" of table race_msgs holds STABLE documents that are never changed
# and CHURN documents that come and go.  The index is by_room_n (room, n)
# with n random, so new documents land anywhere in the room's order, before
# and after a reader's position, and deleted ones disappear from anywhere.
# While WRITERS sessions insert and delete churn documents (each write its
# own transaction), READERS sessions page through the room again and again,
# ascending and descending, PAGE documents a page, each page its own
# statement (so each sees the writes committed since the last), recording
# every document of every page.  The checker then requires, for every pass
# of every reader:
#   - no document appears twice (nothing repeated),
#   - every stable document appears (nothing that existed throughout skipped),
#   - the documents come in index order ((n, _creationTime, _id) ascending or
#     descending), and the pass ended with isDone.
# Inside a mutation (convex_mutation) the same holds: one reader pages
# through a registered mutation that returns each page.  Last, at
# REPEATABLE READ, a page read inside a mutation after a commit into its
# range (since the transaction's snapshot) fails with 40001, and one after
# a commit elsewhere does not.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops database
# convexlite_paginate_race.  PASS/FAIL lines; exit 1 on any failure.
set -uo pipefail

DB=convexlite_paginate_race
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

STABLE=${PAGINATE_RACE_STABLE:-300}
CHURN=${PAGINATE_RACE_CHURN:-150}
WRITERS=${PAGINATE_RACE_WRITERS:-3}
READERS=${PAGINATE_RACE_READERS:-3}
ROUNDS=${PAGINATE_RACE_ROUNDS:-150}
PAGE=${PAGINATE_RACE_PAGE:-7}

if ! fresh_db; then
	fail "setup: could not create database $DB with convexlite"
	exit 1
fi

psql_db >/dev/null <<SQL || { fail "setup failed"; exit 1; }
SET client_min_messages = warning;
SELECT convex_define_table('race_msgs',
  '{"room": {"fieldType": {"type": "string"}, "optional": false},
    "n": {"fieldType": {"type": "number"}, "optional": false},
    "kind": {"fieldType": {"type": "string"}, "optional": false}}',
  '{"by_room_n": ["room", "n"]}');
-- n from 100 values: many ties, so _creationTime and _id order them too
SELECT count(convex_db_insert('race_msgs', jsonb_build_object('room', 'r', 'n', floor(random() * 100), 'kind', 'stable')))
  FROM generate_series(1, $STABLE);
SELECT count(convex_db_insert('race_msgs', jsonb_build_object('room', 'r', 'n', floor(random() * 100), 'kind', 'churn')))
  FROM generate_series(1, $CHURN);
SELECT count(convex_db_insert('race_msgs', jsonb_build_object('room', 'other', 'n', floor(random() * 100), 'kind', 'stable')))
  FROM generate_series(1, 50);
CREATE UNLOGGED TABLE seen (reader int, pass int, dir text, pos int, id text, n float8, ct float8, done boolean);
CREATE UNLOGGED TABLE writers_done (w int);

-- one writer: ROUNDS times, insert a churn document and delete another, each committed
CREATE PROCEDURE writer(w int, rounds int) LANGUAGE plpgsql AS \$\$
DECLARE victim text;
BEGIN
  FOR i IN 1 .. rounds LOOP
    PERFORM convex_db_insert('race_msgs', jsonb_build_object('room', 'r', 'n', floor(random() * 100), 'kind', 'churn'));
    COMMIT;
    SELECT _id INTO victim FROM convex.race_msgs WHERE kind = 'churn' ORDER BY random() LIMIT 1;
    BEGIN
      PERFORM convex_db_delete('race_msgs', victim);
    EXCEPTION WHEN no_data_found THEN NULL;  -- another writer deleted it first
    END;
    COMMIT;
    PERFORM pg_sleep(0.002);
  END LOOP;
  INSERT INTO writers_done VALUES (w);
  COMMIT;
END \$\$;

-- the room's query in one direction
CREATE FUNCTION room_query(dir text) RETURNS jsonb LANGUAGE sql AS \$\$
  SELECT jsonb_build_object('source', jsonb_build_object('type', 'IndexRange', 'indexName', 'race_msgs.by_room_n',
    'range', '[{"type": "Eq", "fieldPath": "room", "value": "r"}]'::jsonb, 'order', dir), 'operators', '[]'::jsonb)
\$\$;

-- a page through a mutation (the page is the mutation's return value)
CREATE FUNCTION page_handler(args jsonb) RETURNS jsonb LANGUAGE sql AS \$\$
  SELECT convex_db_paginate(room_query(args->>'dir'), jsonb_build_object('numItems', (args->>'size')::int, 'cursor', args->'cursor'))
\$\$;
SELECT convex_define_mutation('race:page', 'page_handler(jsonb)',
  '{"type": "object", "value": {"dir": {"fieldType": {"type": "string"}, "optional": false},
    "size": {"fieldType": {"type": "number"}, "optional": false},
    "cursor": {"fieldType": {"type": "union", "value": [{"type": "string"}, {"type": "null"}]}, "optional": false}}}',
  '{"type": "any"}');

-- one reader: passes through the room until the writers are done (at least
-- two), alternating directions; each page a statement of its own, committed
CREATE PROCEDURE reader(r int, page int, via_mutation boolean) LANGUAGE plpgsql AS \$\$
DECLARE cur jsonb; p jsonb; pass int := 0; pos int; dir text; writers int;
BEGIN
  LOOP
    pass := pass + 1;
    dir := CASE WHEN pass % 2 = 1 THEN 'asc' ELSE 'desc' END;
    cur := 'null'; pos := 0;
    LOOP
      IF via_mutation THEN
        p := convex_mutation('race:page', jsonb_build_object('dir', dir, 'size', page, 'cursor', cur));
      ELSE
        p := convex_db_paginate(room_query(dir), jsonb_build_object('numItems', page, 'cursor', cur));
      END IF;
      INSERT INTO seen SELECT r, pass, dir, pos + o, d->>'_id', (d->>'n')::float8, (d->>'_creationTime')::float8, (p->>'isDone')::boolean
        FROM jsonb_array_elements(p->'page') WITH ORDINALITY AS e(d, o);
      pos := pos + jsonb_array_length(p->'page');
      COMMIT;
      EXIT WHEN (p->>'isDone')::boolean OR pos > 100000;
      cur := p->'continueCursor';
      PERFORM pg_sleep(0.003);
    END LOOP;
    INSERT INTO seen VALUES (r, pass, dir, -1, NULL, NULL, NULL, (p->>'isDone')::boolean);
    COMMIT;
    SELECT count(*) INTO writers FROM writers_done;
    EXIT WHEN pass >= 2 AND writers >= $WRITERS;
    EXIT WHEN pass >= 200;
  END LOOP;
END \$\$;
SQL

pids=()
for w in $(seq "$WRITERS"); do
	psql_db -c "CALL writer($w, $ROUNDS)" >"$WORK/writer$w.log" 2>&1 &
	pids+=($!)
done
for r in $(seq "$READERS"); do
	via=false
	[ "$r" -eq "$READERS" ] && via=true
	psql_db -c "CALL reader($r, $PAGE, $via)" >"$WORK/reader$r.log" 2>&1 &
	pids+=($!)
done
ok=1
for p in "${pids[@]}"; do
	wait "$p" || ok=0
done
if [ $ok -eq 1 ]; then
	pass "$WRITERS writers and $READERS readers (the last through convex_mutation) ran to the end"
else
	fail "a session failed"
	tail -n 5 "$WORK"/*.log | sed 's/^/    | /'
fi

passes=$(q "SELECT count(DISTINCT (reader, pass)) FROM seen")
churned=$(q "SELECT count(*) FROM convex.race_msgs WHERE kind = 'churn'")
echo "    $passes passes read while the writers inserted and deleted ($churned churn documents left)"
check "passes recorded (at least two per reader)" t "$(q "SELECT count(DISTINCT (reader, pass)) >= 2 * $READERS FROM seen")"
check "no document repeated within a pass" 0 \
	"$(q "SELECT count(*) FROM (SELECT reader, pass, id FROM seen WHERE pos >= 0 GROUP BY 1, 2, 3 HAVING count(*) > 1) x")"
check "no stable document skipped by any pass" 0 \
	"$(q "SELECT count(*) FROM (SELECT DISTINCT reader, pass FROM seen) p CROSS JOIN convex.race_msgs m
	      WHERE m.kind = 'stable' AND m.room = 'r'
	        AND NOT EXISTS (SELECT 1 FROM seen s WHERE s.reader = p.reader AND s.pass = p.pass AND s.id = m._id)")"
check "no document of another room" 0 \
	"$(q "SELECT count(*) FROM seen s JOIN convex.race_msgs m ON m._id = s.id WHERE m.room <> 'r'")"
check "every pass in index order (n, _creationTime, _id)" 0 \
	"$(q "SELECT count(*) FROM (SELECT dir, (n, ct, id COLLATE \"C\") AS k, lag((n, ct, id COLLATE \"C\")) OVER (PARTITION BY reader, pass ORDER BY pos) AS prev
	      FROM seen WHERE pos >= 0) x
	      WHERE prev IS NOT NULL AND CASE WHEN dir = 'asc' THEN k <= prev ELSE k >= prev END")"
check "every pass ended with isDone" 0 "$(q "SELECT count(*) FROM seen WHERE pos = -1 AND NOT done")"

# REPEATABLE READ: a page read in a mutation after another transaction
# committed into its range since this transaction's snapshot cannot be made
# serializable here: 40001.  A commit outside the range changes nothing.
rr_case() { # NAME ROOM_OF_THE_INSERT EXPECT(40001|ok)
	local name=$1 room=$2 expect=$3 got
	PGAPPNAME=rr_reader psql_db -v ON_ERROR_STOP=0 -c "BEGIN ISOLATION LEVEL REPEATABLE READ" \
		-c "SELECT count(*) FROM convex.race_msgs" -c "SELECT pg_sleep(1)" \
		-c "SELECT convex_mutation('race:page', '{\"dir\": \"asc\", \"size\": 1000, \"cursor\": null}') IS NOT NULL AS read" \
		-c "COMMIT" >"$WORK/rr_$name.log" 2>&1 &
	local pid=$!
	wait_for "the reader's snapshot" "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'rr_reader' AND query LIKE '%pg_sleep%')" >/dev/null
	q "SELECT convex_db_insert('race_msgs', '{\"room\": \"$room\", \"n\": 5, \"kind\": \"late\"}')" >/dev/null
	wait "$pid"
	if grep -q "changed after this transaction's snapshot\|cannot be retried inside this REPEATABLE READ" "$WORK/rr_$name.log"; then
		got=40001
	elif grep -q "^ t$\|^t$" "$WORK/rr_$name.log" && ! grep -q ERROR "$WORK/rr_$name.log"; then
		got=ok
	else
		got="other: $(grep ERROR "$WORK/rr_$name.log" | head -1)"
	fi
	check "REPEATABLE READ, a commit $name after the snapshot" "$expect" "$got"
}
rr_case "into the page's range" r 40001
rr_case "outside the range" other ok
[ "$FAILURES" -eq 0 ]
