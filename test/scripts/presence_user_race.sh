#!/usr/bin/env bash
# test/scripts/presence_user_race.sh: presence by user (no sessionId) under a
# forced interleaving of two transactions.
#
# The seed finds a signed-in user's presence with
#   ctx.db.query("presence").withIndex("by_user_and_room", ...).first()
# i.e. the user's oldest row in the room, whatever its session.  Convex runs
# mutations serializably, so two concurrent mutations must end in a state that
# one of the two serial orders produces (SPEC §6: "mutations are serializable
# in effect"; SPEC §4: "Every write is race-free under concurrency").
#
# Setup for each case: user U has two rows in room r, "a" (older) and "b"
# (newer), both made with a sessionId.  T1 = presence.leave({roomId}) as U
# (deletes "a") and stays open; T2 starts while T1 holds its lock, and
# must wait for it; then T1 commits.
#
#   case 1: T2 = presence.update({roomId, data}) as U, no sessionId.
#           T1;T2 -> T2 patches "b"  -> rows {b (T2's data)}
#           T2;T1 -> T2 patches "a", T1 deletes it -> rows {b}
#           Either way: one row, "b", and no row without a session.
#   case 2: T2 = presence.leave({roomId}) as U.
#           Either order: both rows gone.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops database
# convexlite_user_race.  One PASS/FAIL line per check; exit 1 on any failure.
set -uo pipefail

DB=convexlite_user_race
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"


if ! fresh_db; then
	fail "setup: could not create database $DB with convexlite"
	exit 1
fi
U=$(q "SELECT convex_db_insert('users', '{\"name\": \"U\"}')")

# setup_rows: U's rows "a" (older) and "b" (newer) in room r, nothing else
setup_rows() {
	psql_db -c "TRUNCATE convex.presence" \
		-c "SELECT set_config('convexlite.user_id', '$U', false)" \
		-c "SELECT convex_presence_update('{\"roomId\": \"r\", \"sessionId\": \"a\", \"data\": {\"status\": \"a\"}}')" \
		-c "SELECT convex_presence_update('{\"roomId\": \"r\", \"sessionId\": \"b\", \"data\": {\"status\": \"b\"}}')" \
		>/dev/null
}

# interleave NAME T2_SQL: run T1 (leave as U, then hold the transaction open)
# and T2_SQL as U while T1 holds its locks; T2 must be seen waiting for a lock.
interleave() {
	local name=$1 t2_sql=$2 t1_pid t2_pid ok=1
	PGAPPNAME=race_t1 psql_db -c "BEGIN" \
		-c "SELECT set_config('convexlite.user_id', '$U', true)" \
		-c "SELECT convex_presence_leave('{\"roomId\": \"r\"}')" \
		-c "SELECT pg_sleep(3)" -c "COMMIT" >"$WORK/t1.log" 2>&1 &
	t1_pid=$!
	wait_for "T1 to hold its transaction open" \
		"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'race_t1'
		                   AND query LIKE '%pg_sleep%' AND state = 'active')" || ok=0
	PGAPPNAME=race_t2 psql_db -c "SELECT set_config('convexlite.user_id', '$U', false)" \
		-c "$t2_sql" >"$WORK/t2.log" 2>&1 &
	t2_pid=$!
	wait_for "T2 to wait for T1's lock" \
		"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'race_t2'
		                   AND wait_event_type = 'Lock')" || ok=0
	wait "$t1_pid" || ok=0
	wait "$t2_pid" || ok=0
	if [ "$ok" = 1 ]; then
		pass "$name: T2 waited for T1 and both committed"
	else
		fail "$name: the interleaving did not happen as planned or a transaction failed"
		sed 's/^/    | /' "$WORK/t1.log" "$WORK/t2.log"
	fi
}

T0=$(date +%s)

# --- case 1: leave by user || update by user without session --------------------
setup_rows
interleave "leave || update (by user)" \
	"SELECT convex_presence_update('{\"roomId\": \"r\", \"data\": {\"status\": \"T2\"}}')"
state=$(q "SELECT coalesce(string_agg(coalesce(session_id, '(no session)') || ':' || (data->>'status'), ', '
                                      ORDER BY _creation_time), '(none)')
             FROM convex.presence WHERE user_id = '$U' AND room_id = 'r'")
case $state in
"b:T2" | "b:b")
	pass "leave || update (by user): the result is a serial one ($state)"
	;;
*)
	fail "leave || update (by user): rows are [$state]; serial orders give [b:T2] (T1 first) or [b:b] (T2 first)"
	;;
esac

# --- case 2: leave by user || leave by user -------------------------------------
setup_rows
interleave "leave || leave (by user)" "SELECT convex_presence_leave('{\"roomId\": \"r\"}')"
state=$(q "SELECT coalesce(string_agg(coalesce(session_id, '(no session)') || ':' || (data->>'status'), ', '
                                      ORDER BY _creation_time), '(none)')
             FROM convex.presence WHERE user_id = '$U' AND room_id = 'r'")
if [ "$state" = "(none)" ]; then
	pass "leave || leave (by user): both of the user's rows are gone"
else
	fail "leave || leave (by user): rows left [$state]; in either serial order two leaves remove both rows"
fi

echo "presence_user_race: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "presence_user_race: FAIL"
	exit 1
fi
echo "presence_user_race: PASS"
exit 0
