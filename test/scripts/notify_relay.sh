#!/usr/bin/env bash
# test/scripts/notify_relay.sh: the NOTIFY relay (src/notify_relay.c), as
# LISTENing psql sessions see it.
#
# src/notify_relay.c: when convexlite is preloaded, the background worker
# "convexlite notify relay" runs in database convexlite.database_name.  A
# writer transaction there keeps its notifications in memory, reserves room
# in a shared ring (convexlite.notify_buffer_size) just before commit, copies
# them there after commit and wakes the relay, which sends them in batches in
# transactions of its own (listeners see the relay's PID).  A transaction
# whose notifications do not fit in the ring's free space, or that commits
# while no relay runs, or in another database, or with
# convexlite.notify_relay = off (superuser-only), sends them itself (the
# writer's PID).  Rolled-back subtransactions' notifications are dropped;
# PREPARE TRANSACTION of a transaction that wrote through convexlite fails as
# with plain NOTIFY.
#
# Its own throwaway cluster 'nrelay' (scripts/lib.sh; port NRELAY_PORT,
# default 54339): convexlite preloaded, convexlite.database_name = postgres,
# convexlite.notify_buffer_size = 64kB (the minimum), max_prepared_transactions
# = 2; convexlite installed in database postgres and in a second database
# 'other'; a non-superuser role nrelay_user.  Destroyed at exit
# (NRELAY_KEEP=1 keeps it).
#
# Listeners: psql sessions (one per database) that LISTEN convex_messages and
# then send a short poll every 50 ms, SELECT 'P <clock_timestamp in ms>'; psql
# prints each notification, with the sender's PID, after the poll during which
# it arrived, so the poll's time stamps its arrival (to within a poll).  Every
# write is convex_messages_send with a distinct roomId naming the check, so
# each notification is attributed to the step that sent it; a step's
# "nothing" is checked after a later sentinel write of the same path arrived.
#
# Checks:
#   1. the relay runs in database postgres (pg_stat_activity), and only there;
#   2. through the relay (sender = the relay's PID), each exactly once, with
#      the _id the write returned: a committed write; not a ROLLBACK'd one,
#      nor one of a transaction aborted by an error; a rolled-back SAVEPOINT
#      drops only its own writes; nested savepoints (inner released, outer
#      rolled back: both dropped; inner rolled back, outer released: only the
#      inner dropped); a PL/pgSQL EXCEPTION block drops its caught writes
#      and keeps those before and after it;
#   3. SET convexlite.notify_relay = off: sent by the writer itself; after
#      RESET through the relay again; an ordinary role cannot SET it (42501)
#      nor set_config it, and its own writes go through the relay;
#   4. in database 'other' (no relay there): sent by the writer itself;
#   5. overflow: 2000 notifications in one transaction (> 64 kB) are all sent
#      by the writer itself, each exactly once; 400 in one transaction
#      (~40 kB, fits) and a single write after it go through the relay;
#   6. concurrency: pgbench, 4 clients, NRELAY_TXNS (default 3000)
#      transactions each, mixing single writes, two-write transactions and
#      rolled-back ones: every committed row's _id arrives exactly once,
#      nothing of the rolled-back ones, nothing else;
#   7. order: 300 sequential one-write transactions arrive in commit order,
#      all through the relay;
#   8. relay restart: pg_terminate_backend(relay) while a session writes every
#      ~20 ms; the postmaster starts a new relay (new PID) 5 s later; writes
#      while none runs are sent by the writer; after, by the new relay; every
#      committed write of the whole window arrives exactly once;
#  8b. the relay terminated while its batch waits for PostgreSQL's NOTIFY lock
#      (held by a transaction whose commit waits for a synchronous standby that
#      does not exist): the committed write of that batch still arrives, once;
#   9. PREPARE TRANSACTION after a convexlite write fails with 0A000 and
#      nothing is delivered (nor is the row there); a prepared transaction
#      without convexlite writes (also one whose write was in a rolled-back
#      savepoint) commits with COMMIT PREPARED, delivering nothing;
#  10. latency: over the 300 writes of check 7, the median delay between a
#      write's commit and its arrival at the listener is under 500 ms, and the
#      last arrives within 2 s of the last commit.
#
# (They run in the order 1-5, 7, 10, 9, 6, 8, 8b: the heavy load and the relay
# restarts last.)  Prints PASS/FAIL per check and a summary; exits 1 on any failure.
# NRELAY_PORT, NRELAY_TXNS and NRELAY_KEEP=1 adjust a run.
set -uo pipefail

NAME=nrelay
PORT=${NRELAY_PORT:-54339}
DB=postgres
OTHER=other
USER_ROLE=nrelay_user
CLIENTS=4
TXNS=${NRELAY_TXNS:-3000}

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/../../scripts/lib.sh"
# shellcheck source=test/scripts/lib/checks.sh
. "$HERE/lib/checks.sh"

T0=$(date +%s)
BG_PIDS=()

# The cluster goes with the script (checks.sh's trap calls cleanup by name).
# shellcheck disable=SC2317
cleanup() {
	local p
	touch "$WORK/stop.main" "$WORK/stop.other" "$WORK/stop.c8" 2>/dev/null
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	if [ "${NRELAY_KEEP:-0}" = 1 ]; then
		echo "# NRELAY_KEEP=1: cluster '$NAME' left running ($CVX_LOGFILE)"
	elif [ -f "$(cvx_cluster_dir "$NAME")/data/convexlite.conf" ]; then
		cvx_cluster_destroy "$NAME" >/dev/null 2>&1
	fi
	rm -rf "$WORK"
}
# an interrupted or timed-out run still destroys its cluster
trap 'exit 143' TERM
trap 'exit 130' INT

# psql on a database of the cluster: psql_on DB ARGS...
psql_on() { "$PSQL_BIN" -X -q -d "$@"; }
# qo DB SQL: one value
qo() { psql_on "$1" -At -v ON_ERROR_STOP=1 -c "$2"; }

# --- listeners -------------------------------------------------------------------
# start_listener NAME DATABASE: a psql session in DATABASE that LISTENs on
# convex_messages, then polls every 50 ms until $WORK/stop.NAME exists.  Its
# output is $WORK/NAME.out; returns once the LISTEN is in place.
start_listener() {
	local name=$1 db=$2 _
	(
		echo "LISTEN convex_messages;"
		echo "SELECT 'READY';"
		while [ ! -e "$WORK/stop.$name" ]; do
			echo "SELECT 'P ' || (extract(epoch FROM clock_timestamp()) * 1000)::bigint;"
			sleep 0.05
		done
	) | PGAPPNAME=nrelay_listener_$name "$PSQL_BIN" -X -q -At -d "$db" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	BG_PIDS+=("$!")
	for _ in $(seq 200); do
		grep -qx READY "$WORK/$name.out" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# notes NAME: the notifications NAME received so far, one a line:
# arrival_ms TAB sender_pid TAB _id TAB roomId TAB payload
notes() {
	LC_ALL=C awk '
		/^P [0-9]+$/ { ts = $2; next }
		/^Asynchronous notification "/ {
			pid = $0; sub(/.* received from server process with PID /, "", pid); sub(/\.$/, "", pid)
			pl = $0
			sub(/^Asynchronous notification "[^"]*" with payload "/, "", pl)
			sub(/" received from server process with PID [0-9]+\.$/, "", pl)
			id = pl; if (!sub(/.*"_id":"/, "", id)) id = "?"; sub(/".*/, "", id)
			room = pl; if (!sub(/.*"roomId":"/, "", room)) room = "?"; sub(/".*/, "", room)
			print (ts == "" ? 0 : ts) "\t" pid "\t" id "\t" room "\t" pl
		}' "$WORK/$1.out"
}

# arrived NAME ROOM_REGEX: how many notifications with a matching roomId NAME has received
arrived() { notes "$1" | awk -F'\t' -v r="$2" '$4 ~ r { n++ } END { print n + 0 }'; }

# wait_arrived NAME ROOM_REGEX COUNT [SECONDS]: until at least COUNT arrived (default 10 s);
# then 0.3 s more, for whatever would arrive late or twice
wait_arrived() {
	local name=$1 re=$2 count=$3 secs=${4:-10} _
	for _ in $(seq $((secs * 20))); do
		if [ "$(arrived "$name" "$re")" -ge "$count" ]; then
			sleep 0.3
			return 0
		fi
		sleep 0.05
	done
	echo "    (timed out after ${secs} s waiting for $count notifications matching $re at $name;" \
		"got $(arrived "$name" "$re"))"
	return 1
}

# rooms_from NAME ROOM_REGEX: "roomId sender" of the matching notifications, sorted
rooms_from() { notes "$1" | awk -F'\t' -v r="$2" '$4 ~ r { print $4 " " $2 }' | LC_ALL=C sort; }

# check_set DESCRIPTION EXPECTED_FILE ACTUAL_FILE: two sorted lists are equal
check_set() {
	local name=$1 expected=$2 have=$3 n
	n=$(grep -c . "$have")
	if cmp -s "$expected" "$have"; then
		pass "$name ($n)"
	else
		fail "$name: they differ (- expected, + received; $(grep -c . "$expected") expected, $n received)"
		diff "$expected" "$have" | grep -E '^[<>]' | head -n 8 | sed -e 's/^</    - /' -e 's/^>/    + /' | cut -c1-200
	fi
}

# ids_check DESCRIPTION NAME ROOM_REGEX SQL_LIKE [DB]: the _ids NAME received for
# matching roomIds are exactly those of the committed rows (each exactly once)
ids_check() {
	local name=$1 listener=$2 re=$3 like=$4 db=${5:-$DB} dups
	notes "$listener" | awk -F'\t' -v r="$re" '$4 ~ r { print $3 }' | LC_ALL=C sort >"$WORK/ids.got"
	qo "$db" "SELECT _id FROM convex.messages WHERE room_id LIKE '$like'" | LC_ALL=C sort >"$WORK/ids.want"
	dups=$(uniq -d "$WORK/ids.got" | grep -c .)
	if [ "$dups" -ne 0 ]; then
		fail "$name: $dups _ids arrived more than once"
		uniq -d "$WORK/ids.got" | head -n 3 | sed 's/^/    | /'
		return
	fi
	check_set "$name" "$WORK/ids.want" "$WORK/ids.got"
}

# --- cluster and setup -------------------------------------------------------
echo "notify_relay: own cluster '$NAME' on port $PORT (database $DB, ring 64kB)"
CVX_EXTRA_CONF=$'convexlite.notify_buffer_size = 64kB\nmax_prepared_transactions = 2' own_cluster_fresh convexlite
echo "# cluster: $CVX_CLUSTER_DIR (log $CVX_LOGFILE)"

SETUP_SQL="SET client_min_messages = warning;
CREATE EXTENSION convexlite;
CREATE FUNCTION send(room text) RETURNS text LANGUAGE sql AS
  \$\$ SELECT convex_messages_send(jsonb_build_object('roomId', room, 'content', 'x', 'userName', 'u')) \$\$;
CREATE TABLE plain_2pc (x int);"
if ! { psql_on "$DB" -v ON_ERROR_STOP=1 -c "CREATE DATABASE $OTHER" -c "CREATE ROLE $USER_ROLE LOGIN" &&
	psql_on "$DB" -v ON_ERROR_STOP=1 <<<"$SETUP_SQL" && psql_on "$OTHER" -v ON_ERROR_STOP=1 <<<"$SETUP_SQL"; } \
	>"$WORK/setup.log" 2>&1; then
	fail "setup: CREATE DATABASE, ROLE or EXTENSION failed"
	sed 's/^/    | /' "$WORK/setup.log"
	exit 1
fi
check "setup: convexlite.notify_buffer_size" 64kB "$(q "SHOW convexlite.notify_buffer_size")"

# --- 1. the relay runs ---------------------------------------------------------------
if RELAY=$(wait_backend "convexlite notify relay" none); then
	pass "1: the relay runs (pid $RELAY)"
else
	fail "1: no 'convexlite notify relay' backend in pg_stat_activity"
	exit 1
fi
check "1: one relay, in database $DB" "1 $DB" \
	"$(q "SELECT count(*) || ' ' || string_agg(datname, ',') FROM pg_stat_activity WHERE backend_type = 'convexlite notify relay'")"

if ! start_listener main "$DB" || ! start_listener other "$OTHER"; then
	fail "setup: the listeners did not start"
	cat "$WORK"/*.err | head -n 5 | sed 's/^/    | /'
	exit 1
fi

# --- 2. through the relay: commit, rollback, savepoints, exception blocks -------------
cat >"$WORK/c2.sql" <<'EOF'
SELECT 'PID ' || pg_backend_pid();
SELECT 'ID ' || send('c2-commit');
BEGIN;
SELECT send('c2-rollback');
ROLLBACK;
BEGIN;
SELECT send('c2-error');
SELECT 1 / 0;
COMMIT;
BEGIN;
SELECT send('c2-sp-keep1');
SAVEPOINT a;
SELECT send('c2-sp-drop');
ROLLBACK TO a;
SELECT send('c2-sp-keep2');
COMMIT;
BEGIN;
SELECT send('c2-n1-keep');
SAVEPOINT o;
SELECT send('c2-n1-drop1');
SAVEPOINT i;
SELECT send('c2-n1-drop2');
RELEASE i;
ROLLBACK TO o;
COMMIT;
BEGIN;
SAVEPOINT o;
SELECT send('c2-n2-keep1');
SAVEPOINT i;
SELECT send('c2-n2-drop');
ROLLBACK TO i;
SELECT send('c2-n2-keep2');
RELEASE o;
COMMIT;
DO $$
BEGIN
    PERFORM send('c2-exc-before');
    BEGIN
        PERFORM send('c2-exc-drop');
        PERFORM 1 / 0;
    EXCEPTION WHEN division_by_zero THEN
        NULL;
    END;
    PERFORM send('c2-exc-after');
END
$$;
SELECT send('c2-end');
EOF
psql_on "$DB" -At -f "$WORK/c2.sql" >"$WORK/c2.out" 2>"$WORK/c2.err"
check "2: the writer's only error is the planned division by zero" 1 \
	"$(grep -c ERROR "$WORK/c2.err")$(grep ERROR "$WORK/c2.err" | grep -v 'division by zero')"
C2_ID=$(sed -n 's/^ID //p' "$WORK/c2.out")
wait_arrived main '^c2-end$' 1
for r in c2-commit c2-exc-after c2-exc-before c2-end c2-n1-keep c2-n2-keep1 c2-n2-keep2 c2-sp-keep1 c2-sp-keep2; do
	echo "$r $RELAY"
done | LC_ALL=C sort >"$WORK/c2.want"
rooms_from main '^c2-' >"$WORK/c2.got"
check_set "2: committed writes arrive once each from the relay; none of the ROLLBACK, the aborted transaction, the rolled-back savepoints and the caught exception block" \
	"$WORK/c2.want" "$WORK/c2.got"
check "2: the committed write's payload, with the _id it returned" \
	"{\"op\":\"insert\",\"table\":\"messages\",\"_id\":\"$C2_ID\",\"roomId\":\"c2-commit\"}" \
	"$(notes main | awk -F'\t' '$4 == "c2-commit" { print $5 }')"
ids_check "2: the _ids delivered are those of the committed rows" main '^c2-' 'c2-%'

# --- 3. convexlite.notify_relay = off --------------------------------------------------
psql_on "$DB" -At -v ON_ERROR_STOP=1 >"$WORK/c3.out" 2>"$WORK/c3.err" <<'EOF'
SELECT 'PID ' || pg_backend_pid();
SET convexlite.notify_relay = off;
SELECT send('c3-off');
BEGIN;
SELECT send('c3-off-tx1');
SAVEPOINT a;
SELECT send('c3-off-drop');
ROLLBACK TO a;
SELECT send('c3-off-tx2');
COMMIT;
RESET convexlite.notify_relay;
SELECT send('c3-on');
EOF
W3=$(sed -n 's/^PID //p' "$WORK/c3.out")
wait_arrived main '^c3-on$' 1
printf '%s\n' "c3-off $W3" "c3-off-tx1 $W3" "c3-off-tx2 $W3" "c3-on $RELAY" | LC_ALL=C sort >"$WORK/c3.want"
rooms_from main '^c3-' >"$WORK/c3.got"
check_set "3: with notify_relay off the writer (pid ${W3:-?}) sends its own, savepoint rollback still dropped; after RESET the relay" \
	"$WORK/c3.want" "$WORK/c3.got"
out=$(psql_on "$DB" -U "$USER_ROLE" -At -c '\set VERBOSITY verbose' -c "SET convexlite.notify_relay = off" 2>&1)
check "3: an ordinary role cannot SET convexlite.notify_relay (SQLSTATE)" 42501 \
	"$(grep -oE 'ERROR: +[0-9A-Z]{5}' <<<"$out" | awk '{print $2}')"
out=$(psql_on "$DB" -U "$USER_ROLE" -At -c '\set VERBOSITY verbose' -c "SELECT set_config('convexlite.notify_relay', 'off', false)" 2>&1)
check "3: nor set_config it (SQLSTATE)" 42501 "$(grep -oE 'ERROR: +[0-9A-Z]{5}' <<<"$out" | awk '{print $2}')"
out=$(psql_on "$DB" -U "$USER_ROLE" -At -v ON_ERROR_STOP=1 -c "SELECT send('c3-user')" 2>&1)
wait_arrived main '^c3-user$' 1
check "3: an ordinary role's write goes through the relay" "c3-user $RELAY" "$(rooms_from main '^c3-user$' | tr '\n' ';' | sed 's/;$//')$(grep ERROR <<<"$out")"

# --- 4. another database ----------------------------------------------------------------
psql_on "$OTHER" -At -v ON_ERROR_STOP=1 >"$WORK/c4.out" 2>"$WORK/c4.err" <<'EOF'
SELECT 'PID ' || pg_backend_pid();
SELECT send('c4-other');
BEGIN;
SELECT send('c4-other-rollback');
ROLLBACK;
SELECT send('c4-end');
EOF
W4=$(sed -n 's/^PID //p' "$WORK/c4.out")
wait_arrived other '^c4-end$' 1
printf '%s\n' "c4-end $W4" "c4-other $W4" >"$WORK/c4.want"
rooms_from other '^c4-' >"$WORK/c4.got"
check_set "4: in database $OTHER the writer (pid ${W4:-?}) sends its own notifications" "$WORK/c4.want" "$WORK/c4.got"
check "4: nothing of database $OTHER reaches the listener in $DB" 0 "$(arrived main '^c4-')"

# --- 5. overflow ---------------------------------------------------------------------------
psql_on "$DB" -At -v ON_ERROR_STOP=1 >"$WORK/c5.out" 2>"$WORK/c5.err" <<'EOF'
SELECT 'PID ' || pg_backend_pid();
SELECT count(send('c5-big-' || g)) FROM generate_series(1, 2000) AS g;
SELECT count(send('c5-mid-' || g)) FROM generate_series(1, 400) AS g;
SELECT send('c5-after');
EOF
W5=$(sed -n 's/^PID //p' "$WORK/c5.out")
wait_arrived main '^c5-' 2401 15
check "5: 2000 writes in one transaction (> 64 kB): all sent by the writer (pid ${W5:-?}) itself" "2000 $W5" \
	"$(notes main | awk -F'\t' '$4 ~ /^c5-big-/ { n++; p[$2]++ } END { s = n + 0; for (k in p) s = s " " k; print s }')"
check "5: 400 writes in one transaction (fits in the ring) and the write after: through the relay" "401 $RELAY" \
	"$(notes main | awk -F'\t' '$4 ~ /^c5-(mid-|after$)/ { n++; p[$2]++ } END { s = n + 0; for (k in p) s = s " " k; print s }')"
ids_check "5: each of the 2401 arrives exactly once, with its row's _id" main '^c5-' 'c5-%'

# --- 7 and 10. order and latency --------------------------------------------------------------
for i in $(seq 300); do
	echo "SELECT 'C c7-$i ' || (extract(epoch FROM clock_timestamp()) * 1000)::bigint FROM send('c7-$i');"
done >"$WORK/c7.sql"
psql_on "$DB" -At -v ON_ERROR_STOP=1 -f "$WORK/c7.sql" >"$WORK/c7.out" 2>"$WORK/c7.err"
check "7: the 300 sequential transactions committed" 300 "$(grep -c '^C c7-' "$WORK/c7.out")"
wait_arrived main '^c7-' 300 10
notes main | awk -F'\t' '$4 ~ /^c7-/ { print $4 " " $2 }' >"$WORK/c7.got"
for i in $(seq 300); do echo "c7-$i $RELAY"; done >"$WORK/c7.want"
check_set "7: 300 one-write transactions of one session arrive once each, in commit order, from the relay" \
	"$WORK/c7.want" "$WORK/c7.got"
# commit and arrival times (ms) by roomId
LAT=$(LC_ALL=C join <(awk '{ print $2, $3 }' "$WORK/c7.out" | LC_ALL=C sort) \
	<(notes main | awk -F'\t' '$4 ~ /^c7-/ && !seen[$4]++ { print $4, $1 }' | LC_ALL=C sort) |
	awk '{ d = $3 - $2; print d; if ($2 > lc) lc = $2; if ($3 > la) la = $3 }
	     END { print "LAST", la - lc }' )
LAST=$(awk '$1 == "LAST" { print $2 }' <<<"$LAT")
MEDIAN=$(grep -v LAST <<<"$LAT" | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "none" }')
N_LAT=$(grep -vc LAST <<<"$LAT")
if [ "$N_LAT" = 300 ] && [ "$MEDIAN" -lt 500 ] 2>/dev/null; then
	pass "10: median commit-to-arrival delay of the 300 writes ${MEDIAN} ms < 500 ms (at 50 ms polling)"
else
	fail "10: median commit-to-arrival delay ${MEDIAN} ms over $N_LAT writes, want < 500 ms over 300"
fi
if [ -n "$LAST" ] && [ "$LAST" -le 2000 ] 2>/dev/null; then
	pass "10: the last of them arrived ${LAST} ms after the last commit (<= 2000 ms)"
else
	fail "10: the last of them arrived ${LAST:-never} ms after the last commit, want <= 2000 ms"
fi

# --- 9. PREPARE TRANSACTION ------------------------------------------------------------------
psql_on "$DB" -At >"$WORK/c9.out" 2>"$WORK/c9.err" <<'EOF'
\set VERBOSITY verbose
BEGIN;
SELECT send('c9-prepared');
PREPARE TRANSACTION 'nrelay_c9a';
SELECT 'AFTER1 ' || count(*) FROM pg_prepared_xacts;
BEGIN;
INSERT INTO plain_2pc VALUES (1);
SAVEPOINT s;
SELECT send('c9-savepoint');
ROLLBACK TO s;
PREPARE TRANSACTION 'nrelay_c9b';
COMMIT PREPARED 'nrelay_c9b';
BEGIN;
INSERT INTO plain_2pc VALUES (2);
PREPARE TRANSACTION 'nrelay_c9c';
COMMIT PREPARED 'nrelay_c9c';
SELECT send('c9-end');
EOF
check "9: PREPARE TRANSACTION after a convexlite write fails (SQLSTATE; the only error)" "1 0A000" \
	"$(grep -c ERROR "$WORK/c9.err") $(grep -oE 'ERROR: +[0-9A-Z]{5}' "$WORK/c9.err" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')"
check "9: ... and leaves no prepared transaction, nor its row" "AFTER1 0; rows 0" \
	"$(grep '^AFTER1' "$WORK/c9.out"); rows $(q "SELECT count(*) FROM convex.messages WHERE room_id = 'c9-prepared'")"
check "9: prepared transactions without convexlite notifications commit with COMMIT PREPARED" "1,2 0" \
	"$(q "SELECT string_agg(x::text, ',' ORDER BY x) FROM plain_2pc") $(q "SELECT count(*) FROM pg_prepared_xacts")"
wait_arrived main '^c9-end$' 1
check "9: nothing delivered of them (only the sentinel after them)" "c9-end $RELAY" \
	"$(rooms_from main '^c9-' | tr '\n' ';' | sed 's/;$//')"

# --- 6. concurrency: pgbench -----------------------------------------------------------------
cat >"$WORK/c6_one.sql" <<'EOF'
\set n random(1, 2000000000)
SELECT send('c6-' || :client_id || '-' || :n);
EOF
cat >"$WORK/c6_two.sql" <<'EOF'
\set n random(1, 2000000000)
BEGIN;
SELECT send('c6-' || :client_id || '-' || :n || 'a');
SELECT send('c6-' || :client_id || '-' || :n || 'b');
COMMIT;
EOF
cat >"$WORK/c6_rollback.sql" <<'EOF'
\set n random(1, 2000000000)
BEGIN;
SELECT send('c6rb-' || :client_id || '-' || :n);
ROLLBACK;
EOF
T6=$(date +%s.%N)
"$PGBENCH" -n -c "$CLIENTS" -j 2 -t "$TXNS" -f "$WORK/c6_one.sql@6" -f "$WORK/c6_two.sql@2" \
	-f "$WORK/c6_rollback.sql@1" "$DB" >"$WORK/c6.out" 2>&1
rc=$?
T6=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $T6 }")
check "6: pgbench ($CLIENTS clients x $TXNS transactions) finished without error" "0 $((CLIENTS * TXNS))/$((CLIENTS * TXNS)) 0" \
	"$rc $(sed -nE 's/^number of transactions actually processed: ([0-9/]+).*/\1/p' "$WORK/c6.out") $(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$WORK/c6.out")"
[ "$rc" -ne 0 ] && tail -n 5 "$WORK/c6.out" | sed 's/^/    | /'
ROWS6=$(q "SELECT count(*) FROM convex.messages WHERE room_id LIKE 'c6-%'")
wait_arrived main '^c6-' "$ROWS6" 20
ids_check "6: every committed row's _id arrives exactly once (none missing, none extra)" main '^c6-' 'c6-%'
check "6: nothing of the rolled-back transactions (rows, notifications)" "0 0" \
	"$(q "SELECT count(*) FROM convex.messages WHERE room_id LIKE 'c6rb-%'") $(arrived main '^c6rb-')"
VIA6=$(notes main | awk -F'\t' -v r="$RELAY" '$4 ~ /^c6-/ { if ($2 == r) v++; else d++ } END { print v + 0, d + 0 }')
read -r VIA6_RELAY VIA6_DIRECT <<<"$VIA6"
# the ring (64 kB, ~600 such transactions) rarely fills: most go through the relay
if [ "$VIA6_RELAY" -gt $((ROWS6 / 2)) ]; then
	pass "6: most went through the relay ($VIA6_RELAY via the relay, $VIA6_DIRECT sent directly; $ROWS6 rows in ${T6} s)"
else
	fail "6: only $VIA6_RELAY of $ROWS6 went through the relay ($VIA6_DIRECT sent directly)"
fi

# --- 8. relay restart ----------------------------------------------------------------------
# a session writes every ~20 ms until $WORK/stop.c8 exists
(
	echo "SELECT 'PID ' || pg_backend_pid();"
	i=0
	while [ ! -e "$WORK/stop.c8" ]; do
		i=$((i + 1))
		echo "SELECT 'W $i ' || send('c8-$i');"
		sleep 0.02
	done
) | "$PSQL_BIN" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" >"$WORK/c8.out" 2>"$WORK/c8.err" &
C8=$!
BG_PIDS+=("$C8")
sleep 1
OLD=$RELAY
LINE=$(wc -l <"$CVX_LOGFILE")
T_KILL=$(date +%s%3N)
check "8: pg_terminate_backend(relay)" t "$(q "SELECT pg_terminate_backend($OLD)")"
DOWN=no
for _ in $(seq 100); do
	[ -z "$(backend_pid "convexlite notify relay")" ] && DOWN=yes && break
	sleep 0.05
done
if NEW=$(wait_backend "convexlite notify relay" "$OLD"); then
	T_BACK=$(date +%s%3N)
	pass "8: a new relay runs $(((T_BACK - T_KILL) / 100))00 ms after the kill (pid $OLD -> $NEW; seen down: $DOWN)"
	RELAY=$NEW
else
	fail "8: no new relay within 20 s of the kill"
fi
sleep 1
touch "$WORK/stop.c8"
wait "$C8"
check "8: the writer's session saw no error" "" "$(cat "$WORK/c8.err")"
W8=$(sed -n 's/^PID //p' "$WORK/c8.out")
N8=$(grep -c '^W ' "$WORK/c8.out")
psql_on "$DB" -At -v ON_ERROR_STOP=1 -c "SELECT send('c8-final')" >/dev/null
ROWS8=$(q "SELECT count(*) FROM convex.messages WHERE room_id LIKE 'c8-%'")
wait_arrived main '^c8-' "$ROWS8" 15
ids_check "8: all $N8 writes of the loop (and one after it) arrive exactly once across the restart" main '^c8-' 'c8-%'
BY8=$(notes main | awk -F'\t' -v o="$OLD" -v n="$RELAY" -v w="$W8" '$4 ~ /^c8-[0-9]/ {
		if ($2 == o) a++; else if ($2 == w) b++; else if ($2 == n) c++; else x++ }
	END { print a + 0, b + 0, c + 0, x + 0 }')
read -r BY_OLD BY_WRITER BY_NEW BY_OTHER <<<"$BY8"
echo "# 8: the loop's $N8 writes: $BY_OLD via the old relay, $BY_WRITER by the writer, $BY_NEW via the new relay, $BY_OTHER other"
if [ "$BY_OLD" -gt 0 ] && [ "$BY_WRITER" -gt 0 ] && [ "$BY_NEW" -gt 0 ] && [ "$BY_OTHER" = 0 ]; then
	pass "8: before the kill via the old relay, while none ran by the writer itself, after via the new relay"
else
	fail "8: want writes via the old relay, by the writer (pid $W8) and via the new relay, nothing else; got $BY_OLD / $BY_WRITER / $BY_NEW / $BY_OTHER"
fi
# the writer sent its own only while no relay ran: its writes are a contiguous run
check "8: the writer sent its own in one contiguous run (while no relay ran)" 1 \
	"$(notes main | awk -F'\t' -v w="$W8" '$4 ~ /^c8-[0-9]/ { print substr($4, 4), ($2 == w) }' | sort -n |
		awk '$2 == 1 && prev != 1 { runs++ } { prev = $2 } END { print runs + 0 }')"
check "8: a write after the restart goes through the new relay" "c8-final $RELAY" \
	"$(rooms_from main '^c8-final$' | tr '\n' ';' | sed 's/;$//')"
check "8: the server log shows the relay started again, once" 1 \
	"$(tail -n +"$((LINE + 1))" "$CVX_LOGFILE" | grep -c 'convexlite notify relay started')"

# --- 8b. relay terminated while its batch waits for PostgreSQL's NOTIFY lock -------------------
# Any transaction that sends a plain NOTIFY (a writer falling back, another
# database, an application) holds the cluster-wide NOTIFY lock from just
# before its commit record until its commit is done.  Here one holds it for
# as long as the script likes: its commit waits for a synchronous standby
# that does not exist (synchronous_standby_names = 'ghost'; the relay and the
# other sessions use synchronous_commit off/local or write nothing, so only it
# waits).  A convexlite write commits meanwhile; the relay takes it from the
# ring and waits for the lock; the relay is terminated then; the blocker is
# let go.  The committed write must still arrive (through the next relay).
q "ALTER SYSTEM SET synchronous_standby_names = 'ghost'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 0.2
PGAPPNAME=nrelay_blocker psql_on "$DB" -At -c "SET synchronous_commit = on" -c "BEGIN" \
	-c "INSERT INTO plain_2pc VALUES (3)" -c "NOTIFY nrelay_blocker" -c "COMMIT" >"$WORK/c8b.blocker" 2>&1 &
BLOCKER=$!
BG_PIDS+=("$BLOCKER")
wait_for "the blocker to hold the NOTIFY lock in its commit" \
	"SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'nrelay_blocker' AND wait_event = 'SyncRep')"
OLD=$RELAY
# (in the background: were it to send its notification itself, it would wait for the blocker too)
psql_on "$DB" -At -v ON_ERROR_STOP=1 -c "SET synchronous_commit = local" -c "SELECT send('c8b-in-batch')" \
	>"$WORK/c8b.out" 2>&1 &
W8B=$!
BG_PIDS+=("$W8B")
WAITING=
for _ in $(seq 100); do
	sleep 0.05
	WAITING=$(q "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $OLD AND wait_event_type = 'Lock')")
	[ "$WAITING" = t ] && break
done
check "8b: the writer committed and the relay (pid $OLD) waits for the NOTIFY lock with its batch" "done t" \
	"$(kill -0 "$W8B" 2>/dev/null && echo "still in its commit" || echo "done") $WAITING"
q "SELECT pg_terminate_backend($OLD)" >/dev/null
for _ in $(seq 100); do
	[ -z "$(backend_pid "convexlite notify relay")" ] && break
	sleep 0.05
done
q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'nrelay_blocker'" >/dev/null
q "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait "$BLOCKER" "$W8B"
if NEW=$(wait_backend "convexlite notify relay" "$OLD"); then
	RELAY=$NEW
	psql_on "$DB" -At -v ON_ERROR_STOP=1 -c "SELECT send('c8b-end')" >/dev/null
	wait_arrived main '^c8b-end$' 1
else
	fail "8b: no new relay within 20 s of the kill"
fi
check "8b: the committed write (row there) arrives once, though the relay holding it was terminated" "1 1" \
	"$(q "SELECT count(*) FROM convex.messages WHERE room_id = 'c8b-in-batch'") $(arrived main '^c8b-in-batch$')"

# --- summary ------------------------------------------------------------------------------
touch "$WORK/stop.main" "$WORK/stop.other"
check "the listeners saw no error" "" "$(cat "$WORK/main.err" "$WORK/other.err")"
check "no backend crashed (server log)" 0 "$(grep -cE 'terminated by signal|was terminated by exception|PANIC' "$CVX_LOGFILE")"
echo "# notifications received: $(notes main | wc -l) in $DB, $(notes other | wc -l) in $OTHER;" \
	"relay starts logged: $(grep -c 'convexlite notify relay started' "$CVX_LOGFILE")"
echo "notify_relay: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "# the server log's notable lines:"
	grep -E 'terminated by signal|relay|PANIC|ERROR|WARNING' "$CVX_LOGFILE" | tail -n 20 | sed 's/^/    | /'
	echo "notify_relay: FAIL"
	exit 1
fi
echo "notify_relay: PASS"
exit 0
