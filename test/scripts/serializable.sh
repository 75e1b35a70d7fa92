#!/usr/bin/env bash
# test/scripts/serializable.sh: concurrent mutations are serialized (seed 001:
# "Mutations are atomic transactions ... Concurrent mutations are serialized"),
# and conflicts are resolved inside convex_mutation.
#
# Workloads (registered PL/pgSQL handlers written as a Convex app would write
# them: no FOR UPDATE, no retries, no isolation settings), each under 16
# pgbench clients with --max-tries=1 (a client never retries) unless said:
#
#   getOrCreate   query by_handle with eq, insert when nothing came back; one
#                 hot handle, then 200 cold ones.  Checker: exactly one
#                 document per handle; at READ COMMITTED 0 errors.  At
#                 REPEATABLE READ and SERIALIZABLE the clients retry
#                 (--max-tries=20, the documented client-side loop): the
#                 outcome is the same and every error a client saw is 40001:
#                 convexlite's, saying the mutation cannot be retried inside
#                 the transaction, or (SERIALIZABLE) PostgreSQL's SSI failure
#                 at commit.
#   untagged      the same on a missing optional field (eq undefined), 20
#                 groups: exactly one untagged document per group.
#   on-call       write skew: goOffCall reads the doctors on call in a shift
#                 (by_shift_on_call, eq on both fields) and takes itself off
#                 only when at least two are on call.  Every doctor of 40
#                 shifts of 3 tries once (each client its own doctors).
#                 Checker: exactly one doctor left on call per shift (what
#                 every serial order gives).
#   room limit    range phantom: post counts a room's notes with gt/lt on the
#                 next index field and inserts only when fewer than 5.
#                 Checker: never more than 5 notes per room, numbered 0..n-1;
#                 also at REPEATABLE READ and SERIALIZABLE (clients retrying).
#   table limit   whole-table phantom: sign counts every document of a table
#                 (by_creation_time, no eq: it locks the table's key)
#                 and inserts only when fewer than 40.  Checker: never more
#                 than 40 documents, numbered 0..n-1, 0 errors.
#   chains        read-only-then-write: step(pair, dir) reads both documents
#                 of a pair, writes one of them from the other, and logs what
#                 it read and wrote.  Checker: the precedence graph of the
#                 logged steps (write-read, write-write and read-write edges
#                 over each document's versions) has no cycle, i.e. the
#                 committed steps equal a serial order.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops database
# convexlite_serializable.  One PASS/FAIL line per check; exit 1 on failure.
# SERIAL_SECONDS (default 4) sets the length of the timed runs.
set -uo pipefail

DB=convexlite_serializable
CLIENTS=16
SECS=${SERIAL_SECONDS:-4}
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

T0=$(date +%s)
if ! psql_admin -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"; then
	fail "setup: could not create database $DB"
	exit 1
fi
if ! psql_db >"$WORK/setup.log" 2>&1 <<'EOF'; then
SET client_min_messages = warning;
CREATE EXTENSION convexlite;

-- profiles:getOrCreate
SELECT convex_define_table('profiles', '{
    "handle": {"fieldType": {"type": "string"}, "optional": false}}',
    '{"by_handle": ["handle"]}');
CREATE FUNCTION get_or_create(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    existing jsonb;
BEGIN
    SELECT d INTO existing FROM convex_db_query('profiles', 'by_handle',
        jsonb_build_object('handle', args->>'handle'), 'asc', NULL, 1) AS d;
    IF existing IS NOT NULL THEN
        RETURN existing->'_id';
    END IF;
    RETURN to_jsonb(convex_db_insert('profiles', jsonb_build_object('handle', args->>'handle')));
END $$;
SELECT convex_define_mutation('profiles:getOrCreate', 'get_or_create(jsonb)',
    '{"type": "object", "value": {"handle": {"fieldType": {"type": "string"}, "optional": false}}}', NULL);

-- tags:claimUntagged: eq on a missing field ({"$undefined": null}), insert
-- an untagged document of the group when there is none
SELECT convex_define_table('tags', '{
    "grp": {"fieldType": {"type": "number"}, "optional": false},
    "tag": {"fieldType": {"type": "string"}, "optional": true}}',
    '{"by_grp_tag": ["grp", "tag"]}');
CREATE FUNCTION claim_untagged(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    existing jsonb;
BEGIN
    SELECT d INTO existing FROM convex_db_query('tags', 'by_grp_tag',
        jsonb_build_object('grp', (args->>'grp')::int, 'tag', '{"$undefined": null}'::jsonb),
        'asc', NULL, 1) AS d;
    IF existing IS NOT NULL THEN
        RETURN existing->'_id';
    END IF;
    RETURN to_jsonb(convex_db_insert('tags', jsonb_build_object('grp', (args->>'grp')::int)));
END $$;
SELECT convex_define_mutation('tags:claimUntagged', 'claim_untagged(jsonb)',
    '{"type": "object", "value": {"grp": {"fieldType": {"type": "number"}, "optional": false}}}', NULL);

-- doctors:goOffCall (write skew)
SELECT convex_define_table('doctors', '{
    "shift": {"fieldType": {"type": "number"}, "optional": false},
    "name": {"fieldType": {"type": "string"}, "optional": false},
    "onCall": {"fieldType": {"type": "boolean"}, "optional": false}}',
    '{"by_shift_on_call": ["shift", "onCall"]}');
CREATE FUNCTION go_off_call(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    on_call int;
BEGIN
    SELECT count(*) INTO on_call FROM convex_db_query('doctors', 'by_shift_on_call',
        jsonb_build_object('shift', (args->>'shift')::int, 'onCall', true));
    IF on_call < 2 THEN
        RETURN 'false';
    END IF;
    PERFORM convex_db_patch('doctors', args->>'id', '{"onCall": false}');
    RETURN 'true';
END $$;
SELECT convex_define_mutation('doctors:goOffCall', 'go_off_call(jsonb)',
    '{"type": "object", "value": {
        "shift": {"fieldType": {"type": "number"}, "optional": false},
        "id": {"fieldType": {"type": "id", "tableName": "doctors"}, "optional": false}}}', NULL);
EOF
	fail "setup: tables, handlers or mutations failed in $DB"
	sed 's/^/    | /' "$WORK/setup.log"
	exit 1
fi
if ! psql_db >"$WORK/setup2.log" 2>&1 <<'EOF'; then
SET client_min_messages = warning;
-- notes:post (range phantom)
SELECT convex_define_table('notes', '{
    "room": {"fieldType": {"type": "number"}, "optional": false},
    "n": {"fieldType": {"type": "number"}, "optional": false}}',
    '{"by_room_n": ["room", "n"]}');
CREATE FUNCTION post_note(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    notes int;
BEGIN
    SELECT count(*) INTO notes FROM convex_db_query('notes', 'by_room_n',
        jsonb_build_object('room', (args->>'room')::int), 'asc',
        '{"gt": -1, "lt": 1000000}');
    IF notes >= 5 THEN
        RETURN 'false';
    END IF;
    PERFORM convex_db_insert('notes', jsonb_build_object('room', (args->>'room')::int, 'n', notes));
    RETURN 'true';
END $$;
SELECT convex_define_mutation('notes:post', 'post_note(jsonb)',
    '{"type": "object", "value": {"room": {"fieldType": {"type": "number"}, "optional": false}}}', NULL);

-- guestbook:sign (whole-table phantom: a read without eq)
SELECT convex_define_table('guestbook', '{"n": {"fieldType": {"type": "number"}, "optional": false}}');
CREATE FUNCTION sign_guestbook(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    entries int;
BEGIN
    SELECT count(*) INTO entries FROM convex_db_query('guestbook');
    IF entries >= 40 THEN
        RETURN 'false';
    END IF;
    PERFORM convex_db_insert('guestbook', jsonb_build_object('n', entries));
    RETURN 'true';
END $$;
SELECT convex_define_mutation('guestbook:sign', 'sign_guestbook(jsonb)', '{"type": "object", "value": {}}', NULL);

-- cells:step (read-only-then-write chains): each document keeps the id of
-- the step that wrote it; steps log what they read and wrote
SELECT convex_define_table('cells', '{
    "pair": {"fieldType": {"type": "number"}, "optional": false},
    "side": {"fieldType": {"type": "number"}, "optional": false},
    "v": {"fieldType": {"type": "number"}, "optional": false},
    "writer": {"fieldType": {"type": "number"}, "optional": false}}',
    '{"by_pair": ["pair", "side"]}');
CREATE TABLE step_log (step bigint PRIMARY KEY, pair int, src int, dst int,
                       read_src bigint, read_dst bigint);
CREATE SEQUENCE step_seq;
CREATE FUNCTION cell_step(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    src jsonb;
    dst jsonb;
    me bigint := nextval('step_seq');
BEGIN
    SELECT d INTO src FROM convex_db_query('cells', 'by_pair',
        jsonb_build_object('pair', (args->>'pair')::int, 'side', (args->>'src')::int)) AS d;
    SELECT d INTO dst FROM convex_db_query('cells', 'by_pair',
        jsonb_build_object('pair', (args->>'pair')::int, 'side', 1 - (args->>'src')::int)) AS d;
    PERFORM convex_db_patch('cells', dst->>'_id',
        jsonb_build_object('v', (src->>'v')::int + 1, 'writer', me));
    INSERT INTO step_log VALUES (me, (args->>'pair')::int, (args->>'src')::int,
        1 - (args->>'src')::int, (src->>'writer')::bigint, (dst->>'writer')::bigint);
    RETURN 'null';
END $$;
SELECT convex_define_mutation('cells:step', 'cell_step(jsonb)',
    '{"type": "object", "value": {
        "pair": {"fieldType": {"type": "number"}, "optional": false},
        "src": {"fieldType": {"type": "number"}, "optional": false}}}', NULL);
SELECT count(convex_db_insert('cells', jsonb_build_object('pair', p, 'side', s, 'v', 0, 'writer', 0)))
  FROM generate_series(1, 20) p, generate_series(0, 1) s;

-- The chains' checker: is the precedence graph of the logged steps acyclic?
-- Step 0 is the initial state.  For each document (pair, side), the steps
-- that wrote it must form one chain (each read the previous writer as dst);
-- edges: writer -> reader (wr), previous writer -> next writer (ww), reader
-- of a version -> the writer of the next version (rw).
CREATE FUNCTION chains_violations() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    lost int;
    left_over int;
BEGIN
    -- a lost update: two steps wrote over the same version of a document
    SELECT count(*) INTO lost FROM (
        SELECT pair, dst, read_dst FROM step_log GROUP BY 1, 2, 3 HAVING count(*) > 1) x;
    IF lost > 0 THEN
        RETURN lost || ' lost update(s)';
    END IF;
    CREATE TEMP TABLE edge (a bigint, b bigint) ON COMMIT DROP;
    -- version order of each document: writer w's successor is the step that read w as dst
    INSERT INTO edge SELECT read_dst, step FROM step_log;                       -- ww
    INSERT INTO edge SELECT read_src, step FROM step_log WHERE read_src <> 0;   -- wr
    INSERT INTO edge                                                            -- rw
        SELECT r.step, w.step FROM step_log r JOIN step_log w
          ON w.pair = r.pair AND w.dst = r.src AND w.read_dst = r.read_src;
    DELETE FROM edge WHERE a = b OR a = 0;
    -- Kahn: remove nodes without incoming edges until none is left
    CREATE TEMP TABLE node ON COMMIT DROP AS SELECT step FROM step_log;
    LOOP
        DELETE FROM node n WHERE NOT EXISTS (SELECT 1 FROM edge e WHERE e.b = n.step);
        EXIT WHEN NOT FOUND;
        DELETE FROM edge e WHERE NOT EXISTS (SELECT 1 FROM node n WHERE n.step = e.a);
    END LOOP;
    SELECT count(*) INTO left_over FROM node;
    IF left_over > 0 THEN
        RETURN left_over || ' step(s) on a cycle';
    END IF;
    RETURN 'serializable';
END $$;
EOF
	fail "setup: tables, handlers or mutations failed in $DB"
	sed 's/^/    | /' "$WORK/setup.log" "$WORK/setup2.log"
	exit 1
fi

# count_line LOG PATTERN: the first number after "PATTERN:" in pgbench's report (0 if absent)
count_line() {
	local n
	n=$(sed -nE "s/^$2: ([0-9]+).*/\\1/p" "$1" | head -n 1)
	echo "${n:-0}"
}

# bench NAME ISOLATION MAX_TRIES SCRIPT [pgbench options...]: one pgbench run;
# sets PROCESSED, FAILED, ERRORS (every error line a client saw), ABORTED
bench() {
	local name=$1 iso=$2 tries=$3 script=$4 log
	shift 4
	log=$WORK/$name.log
	PGOPTIONS="${PGOPTIONS:-} -c default_transaction_isolation=${iso// /\\ }" \
		"$PGBENCH" -n -c "$CLIENTS" -j 4 --max-tries="$tries" --verbose-errors \
		--failures-detailed "$@" -f "$script" "$DB" >"$log" 2>&1
	PROCESSED=$(count_line "$log" "number of transactions actually processed")
	FAILED=$(count_line "$log" "number of failed transactions")
	ABORTED=$(grep -cE 'client [0-9]+ (script [0-9]+ )?aborted' "$log")
	grep -oE 'ERROR:  .*' "$log" >"$WORK/$name.errors"
	ERRORS=$(wc -l <"$WORK/$name.errors")
}

# --- getOrCreate ------------------------------------------------------------
cat >"$WORK/hot.sql" <<'EOF'
SELECT convex_mutation('profiles' || ':getOrCreate', '{"handle": "hot"}');
EOF
cat >"$WORK/cold.sql" <<'EOF'
\set h random(1, 200)
SELECT convex_mutation('profiles' || ':getOrCreate', jsonb_build_object('handle', 'cold ' || :h));
EOF
for level in "read committed" "repeatable read" serializable; do
	tag=${level// /_}
	q "TRUNCATE convex.profiles" >/dev/null
	tries=1
	[ "$level" = "read committed" ] || tries=20
	bench "hot_$tag" "$level" "$tries" "$WORK/hot.sql" -t 30
	bench_hot_failed=$FAILED bench_hot_errors=$ERRORS bench_hot_aborted=$ABORTED
	# our 40001 for a stale snapshot, or (SERIALIZABLE) PostgreSQL's own SSI
	# failure, raised when the transaction commits, after convex_mutation returned
	ok_errors='mutation profiles:getOrCreate conflicted with a concurrent transaction and cannot be retried inside this (REPEATABLE READ|SERIALIZABLE) transaction|could not serialize access due to read/write dependencies among transactions'
	bad_hot=$(grep -vE "$ok_errors" "$WORK/hot_$tag.errors" | head -n 3)
	bench "cold_$tag" "$level" "$tries" "$WORK/cold.sql" -T "$SECS"
	bad_cold=$(grep -vE "$ok_errors" "$WORK/cold_$tag.errors" | head -n 3)
	check "getOrCreate, ${level^^}: one document for the hot handle" 1 \
		"$(q "SELECT count(*) FROM convex.profiles WHERE handle = 'hot'")"
	check "getOrCreate, ${level^^}: one document per cold handle" "0 duplicated handles" \
		"$(q "SELECT count(*) || ' duplicated handles' FROM (SELECT handle FROM convex.profiles GROUP BY handle HAVING count(*) > 1) d")"
	if [ "$level" = "read committed" ]; then
		check "getOrCreate, READ COMMITTED: errors clients saw (hot, cold)" "0 0" "$bench_hot_errors $ERRORS"
	elif [ "$level" = "repeatable read" ]; then
		check "getOrCreate, ${level^^}: failed transactions after the client's retries (hot, cold)" "0 0" \
			"$bench_hot_failed $FAILED"
	else
		# SERIALIZABLE: PostgreSQL's SSI adds 40001s of its own at commit (its
		# predicate locks cover index pages, shared by neighbouring handles),
		# which a client may keep meeting past its retries: reported, and
		# checked to be only 40001 below
		echo "# getOrCreate, SERIALIZABLE: $bench_hot_failed + $FAILED transactions still failed after $tries client tries (SSI)"
		check "getOrCreate, ${level^^}: every error is a documented 40001 ($bench_hot_errors + $ERRORS retried)" "" "$bad_hot$bad_cold"
	fi
	check "getOrCreate, ${level^^}: no client aborted" "0 0" "$bench_hot_aborted $ABORTED"
done

# --- get-or-create on a missing field ----------------------------------------
q "SELECT count(convex_db_insert('tags', jsonb_build_object('grp', g, 'tag', 'x'))) FROM generate_series(1, 20) g" >/dev/null
cat >"$WORK/untagged.sql" <<'EOF'
\set g random(1, 20)
SELECT convex_mutation('tags' || ':claimUntagged', jsonb_build_object('grp', :g));
EOF
bench untagged "read committed" 1 "$WORK/untagged.sql" -t 20
check "eq on a missing field: one untagged document per group (beside the tagged one)" "20 groups with 1" \
	"$(q "SELECT count(*) || ' groups with ' || string_agg(DISTINCT c::text, ',') FROM (SELECT grp, count(*) FILTER (WHERE tag IS NULL) AS c FROM convex.tags GROUP BY grp) g")"
check "eq on a missing field: errors clients saw" 0 "$ERRORS"

# --- on-call write skew -----------------------------------------------------
# 10 shifts of 3 doctors, calls for random doctors; then each doctor once more,
# one after the other.  Serially a shift never drops below one doctor on call,
# and after the sweep exactly one is left.
q "SELECT count(convex_db_insert('doctors', jsonb_build_object('shift', s, 'name', 'd' || s || '.' || k, 'onCall', true)))
     FROM generate_series(1, 10) s, generate_series(1, 3) k" >/dev/null
q "CREATE TABLE doctor_list AS SELECT row_number() OVER (ORDER BY random()) AS k, _id AS id, shift FROM convex.doctors" >/dev/null
cat >"$WORK/oncall.sql" <<'EOF'
\set k random(1, 30)
SELECT convex_mutation('doctors' || ':goOffCall', jsonb_build_object('shift', d.shift, 'id', d.id))
  FROM doctor_list d WHERE d.k = :k;
EOF
bench oncall "read committed" 1 "$WORK/oncall.sql" -t 20
check "on-call: no shift was left without a doctor on call" 0 \
	"$(q "SELECT count(*) FROM (SELECT shift FROM convex.doctors GROUP BY shift HAVING count(*) FILTER (WHERE on_call) = 0) s")"
check "on-call: errors clients saw" 0 "$ERRORS"
q "SELECT count(convex_mutation('doctors:goOffCall', jsonb_build_object('shift', shift, 'id', id))) FROM doctor_list" >/dev/null
check "on-call: after every doctor tried once more, one doctor on call per shift" "10 shifts with 1" \
	"$(q "SELECT count(*) || ' shifts with ' || string_agg(DISTINCT c::text, ',') FROM (SELECT shift, count(*) FILTER (WHERE on_call) AS c FROM convex.doctors GROUP BY shift) s")"

# --- table limit (a whole-table phantom) -------------------------------------
cat >"$WORK/sign.sql" <<'EOF'
SELECT convex_mutation('guestbook' || ':sign', '{}');
EOF
bench guestbook "read committed" 1 "$WORK/sign.sql" -t 10
check "table limit: the table has 40 documents, numbered 0..39 (each sign counted all before it)" "40 40 39" \
	"$(q "SELECT count(*) || ' ' || count(DISTINCT n) || ' ' || max(n) FROM convex.guestbook")"
check "table limit: errors clients saw" 0 "$ERRORS"

# --- room limit (range phantoms) --------------------------------------------
cat >"$WORK/post.sql" <<'EOF'
\set r random(1, 30)
SELECT convex_mutation('notes' || ':post', jsonb_build_object('room', :r));
EOF
bench notes "read committed" 1 "$WORK/post.sql" -t 30
check "room limit: no room has more than 5 notes" 0 \
	"$(q "SELECT count(*) FROM (SELECT room FROM convex.notes GROUP BY room HAVING count(*) > 5) r")"
check "room limit: the notes of each room are numbered 0..n-1 (each post counted all before it)" 0 \
	"$(q "SELECT count(*) FROM (SELECT room FROM convex.notes GROUP BY room HAVING count(DISTINCT n) <> count(*) OR max(n) <> count(*) - 1) r")"
check "room limit: errors clients saw" 0 "$ERRORS"
# the same at REPEATABLE READ and SERIALIZABLE, in rooms of their own, the
# clients retrying the documented 40001
base=100
for level in "repeatable read" serializable; do
	sed "s/random(1, 30)/random($((base + 1)), $((base + 30)))/" "$WORK/post.sql" >"$WORK/post_$base.sql"
	bench "notes_$base" "$level" 20 "$WORK/post_$base.sql" -t 30
	check "room limit, ${level^^}: no room has more than 5 notes, numbered 0..n-1" "0 0" \
		"$(q "SELECT count(*) FILTER (WHERE c > 5) || ' ' || count(*) FILTER (WHERE d <> c OR m <> c - 1)
		       FROM (SELECT room, count(*) c, count(DISTINCT n) d, max(n) m FROM convex.notes
		              WHERE room BETWEEN $((base + 1)) AND $((base + 30)) GROUP BY room) r")"
	check "room limit, ${level^^}: failed transactions after the client's retries, clients aborted" "0 0" "$FAILED $ABORTED"
	check "room limit, ${level^^}: every error is a documented 40001" "" \
		"$(grep -vE 'mutation notes:post conflicted with a concurrent transaction and cannot be retried inside this (REPEATABLE READ|SERIALIZABLE) transaction|could not serialize access due to' "$WORK/notes_$base.errors" | head -n 3)"
	base=$((base + 100))
done

# --- read-only-then-write chains --------------------------------------------
cat >"$WORK/step.sql" <<'EOF'
\set p random(1, 20)
\set s random(0, 1)
SELECT convex_mutation('cells' || ':step', jsonb_build_object('pair', :p, 'src', :s));
EOF
bench chains "read committed" 1 "$WORK/step.sql" -T "$SECS"
check "chains: the committed steps form a serial order" serializable "$(q "SELECT chains_violations()")"
check "chains: every committed call logged one step" "$PROCESSED" "$(q "SELECT count(*) FROM step_log")"
check "chains: errors clients saw" 0 "$ERRORS"

echo "# attempts: $(q "SELECT convex_conflict_stats()" 2>/dev/null || echo 'n/a')"
echo "serializable: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "serializable: FAIL"
	exit 1
fi
echo "serializable: PASS"
exit 0
