#!/usr/bin/env bash
# test/scripts/sharding.sh: a sharded deployment (docs/sharding.md) — one
# front database with PL/Proxy (sql/front/convexlite_front.sql) and three
# convexlite nodes (convexlite.node_id 1, 2, 3), four throwaway clusters of
# its own on unix sockets: 'shard_f' on port SHARD_PORT (default 54361) and
# 'shard_n1'..'shard_n3' on the three ports after it.
#
# Checks:
#   * convex_front_setup refuses a node whose convexlite.node_id is not its
#     position (55000), then accepts the right order;
#   * the seed app's whole flow through the front: messages.send (with the
#     identity set on the front reaching the node as the message's userId),
#     messages.remove by id alone, presence update/leave, users.updateProfile
#     by the signed-in user, files.generateUploadUrl / upload /
#     files.saveFile / storage get (whole, range, metadata) / files.remove,
#     ctx.db get and a routed query — each document on the node its key
#     names and on no other; every id a valid Convex id of its node;
#   * a registered mutation distributed by an id argument (bank:transfer by
#     fromId): within a node it runs; across two nodes it is refused with
#     0A000 and neither node changed; an undistributed path is refused (42704);
#   * SHARD_CLIENTS (default 16) pgbench clients through the front for
#     SHARD_LOAD_SECONDS (default 4): sends to 30 rooms, presence, transfers
#     within a node; then every acknowledged send is on its room's node
#     exactly once, nothing unattempted, balances per node unchanged, one
#     ledger document per acknowledged transfer, no client error;
#   * node 2 stopped: calls for its rooms fail with 57P03 and run nowhere,
#     calls for rooms of nodes 1 and 3 go on; node 2 restarted: everything
#     it held is there and its rooms work again;
#   * the scheduler runs per node: a job scheduled by a routed mutation runs
#     on that node.
# Destroyed at exit (SHARD_KEEP=1 keeps them).  PASS/FAIL per check.
set -uo pipefail

PORT=${SHARD_PORT:-54361}
DB=postgres
CLIENTS=${SHARD_CLIENTS:-16}
LOAD_SECONDS=${SHARD_LOAD_SECONDS:-4}
KEEP=${SHARD_KEEP:-0}

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/../../scripts/lib.sh"
# shellcheck source=test/scripts/lib/checks.sh
. "$HERE/lib/checks.sh"

CLUSTERS=(shard_f shard_n1 shard_n2 shard_n3)
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	if [ "$KEEP" = 1 ]; then
		echo "# clusters ${CLUSTERS[*]} left running; work files in $WORK"
		return
	fi
	local c
	for c in "${CLUSTERS[@]}"; do
		if [ -f "$(cvx_cluster_dir "$c")/data/convexlite.conf" ]; then
			cvx_cluster_destroy "$c" >/dev/null 2>&1
		fi
	done
	rm -rf "$WORK"
}
trap 'exit 143' TERM
trap 'exit 130' INT

on_front() { cvx_cluster_env shard_f "$PORT"; }
on_node() { cvx_cluster_env "shard_n$1" $((PORT + $1)); }
node_conn() { echo "host=$(cvx_cluster_dir "shard_n$1") port=$((PORT + $1)) dbname=$DB"; }
# qn N SQL: one value from node N; qf SQL: from the front
qn() { on_node "$1" && q "$2"; }
qf() { on_front && q "$1"; }
# sqlstate_of SQL: the SQLSTATE the statement fails with on the front ("ok" if none)
sqlstate_of() {
	local state
	on_front
	state=$(psql_db -At -v VERBOSITY=verbose -c "$1" 2>&1 >/dev/null |
		sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p' | head -n 1)
	echo "${state:-ok}"
}
# on_which_nodes SQL: the nodes where SQL returns t, e.g. "2"
on_which_nodes() {
	local i out=''
	for i in 1 2 3; do
		[ "$(qn "$i" "$1")" = t ] && out="$out$i"
	done
	echo "${out:-none}"
}
start_cluster() { # NAME PORT [node_id]
	local conf='' preload=pg_cron,convexlite
	if [ -n "${3:-}" ]; then conf="convexlite.node_id = $3"; else preload=''; fi
	if ! CVX_EXTRA_CONF=$conf CVX_PRELOAD=$preload cvx_cluster_start "$1" "$2" "$DB" >>"$WORK/cluster.log" 2>&1; then
		fail "setup: cluster $1 did not start"
		tail -n 20 "$WORK/cluster.log" | sed 's/^/    | /'
		exit 1
	fi
}

T0=$(date +%s)
echo "sharding: front 'shard_f' (port $PORT) and nodes shard_n1..3 (ports $((PORT + 1))..$((PORT + 3))), $CLIENTS clients, ${LOAD_SECONDS}s load"
for c in "${CLUSTERS[@]}"; do
	[ -f "$(cvx_cluster_dir "$c")/data/convexlite.conf" ] && cvx_cluster_destroy "$c" >/dev/null 2>&1
done
start_cluster shard_f "$PORT"
for i in 1 2 3; do start_cluster "shard_n$i" $((PORT + i)) "$i"; done

# --- the nodes: convexlite and the app's own tables and mutations -------------------
for i in 1 2 3; do
	on_node "$i"
	if ! psql_db >"$WORK/node$i-setup.log" 2>&1 <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
SELECT convex_define_table('accounts',
  '{"branch":  {"fieldType": {"type": "string"}, "optional": false},
    "n":       {"fieldType": {"type": "number"}, "optional": false},
    "balance": {"fieldType": {"type": "number"}, "optional": false}}',
  '{"by_branch": ["branch", "n"]}') IS NOT NULL;
SELECT convex_define_table('ledger',
  '{"key":    {"fieldType": {"type": "string"}, "optional": false},
    "amount": {"fieldType": {"type": "number"}, "optional": false}}',
  '{"by_key": ["key"]}') IS NOT NULL;
SELECT convex_define_table('job_docs', '{"key": {"fieldType": {"type": "string"}, "optional": false}}',
  '{"by_key": ["key"]}') IS NOT NULL;
CREATE FUNCTION sh_transfer(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    from_doc jsonb := convex_db_get('accounts', args->>'fromId');
    to_doc jsonb := convex_db_get('accounts', args->>'toId');
    amount float8 := (args->>'amount')::float8;
BEGIN
    PERFORM convex_db_patch('accounts', args->>'fromId',
                            jsonb_build_object('balance', (from_doc->>'balance')::float8 - amount));
    PERFORM convex_db_insert('ledger', jsonb_build_object('key', args->>'key', 'amount', amount));
    PERFORM convex_db_patch('accounts', args->>'toId',
                            jsonb_build_object('balance', (to_doc->>'balance')::float8 + amount));
    RETURN '"done"';
END $$;
SELECT convex_define_mutation('bank:transfer', 'sh_transfer(jsonb)',
  '{"type": "object", "value": {
      "key":    {"fieldType": {"type": "string"}, "optional": false},
      "fromId": {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "toId":   {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "amount": {"fieldType": {"type": "number"}, "optional": false}}}',
  '{"type": "string"}');
CREATE FUNCTION sh_job(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convex_db_insert('job_docs', jsonb_build_object('key', args->>'key'));
    RETURN 'null';
END $$;
SELECT convex_define_mutation('jobs:effect', 'sh_job(jsonb)',
  '{"type": "object", "value": {"key": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "null"}', internal => true);
CREATE FUNCTION sh_later(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convex_scheduler_run_after(0, 'jobs:effect', jsonb_build_object('key', args->>'key'));
    RETURN 'null';
END $$;
SELECT convex_define_mutation('jobs:later', 'sh_later(jsonb)',
  '{"type": "object", "value": {"key": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "null"}');
EOF
	then
		fail "setup: node $i"
		sed 's/^/    | /' "$WORK/node$i-setup.log"
		exit 1
	fi
done

# --- the front -------------------------------------------------------------------
on_front
if ! psql_db -f "$CVX_ROOT/sql/front/convexlite_front.sql" >"$WORK/front.log" 2>&1; then
	fail "setup: sql/front/convexlite_front.sql"
	sed 's/^/    | /' "$WORK/front.log"
	exit 1
fi
check "setup: nodes in the wrong order are refused (55000)" 55000 \
	"$(sqlstate_of "SELECT convex_front_setup(ARRAY['$(node_conn 2)', '$(node_conn 1)', '$(node_conn 3)'])")"
check "setup: the three nodes in order" 3 \
	"$(qf "SELECT convex_front_setup(ARRAY['$(node_conn 1)', '$(node_conn 2)', '$(node_conn 3)'])")"
# the front's decoder against ids and tokens made independently of convexlite
# (test/pgtap/lib/convex_ids.sql): table numbers of 1 to 5 varint bytes, node
# bytes 1..3 routed there, 0 and 9 (no node of this front) to node 1
if psql_db -q -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS regress_cvx_tap CASCADE" \
	-c "CREATE SCHEMA regress_cvx_tap" -f "$CVX_ROOT/test/pgtap/lib/convex_ids.sql" >"$WORK/ids.log" 2>&1; then
	check "front: node_for_id reads the node byte of ids of every table-number width" 0 \
		"$(q "SELECT count(*) FROM (VALUES (1), (2), (127), (128), (10001), (16383), (16384), (2097151), (2097152), (268435455), (268435456), (4294967295)) AS t(tn),
		            (VALUES (0, 1), (1, 1), (2, 2), (3, 3), (9, 1), (255, 1)) AS b(node, want)
		       WHERE convex_front.node_for_id(regress_cvx_tap.make_id(tn, regress_cvx_tap.byte(node)
		                 || substring(decode(md5(tn::text || node), 'hex') FROM 1 FOR 13), 20000)) <> want")"
	check "front: node_for_upload_url reads the node byte of a token" "2|3|1" \
		"$(q "SELECT string_agg(convex_front.node_for_upload_url('http://h/api/storage/upload?token='
		         || regress_cvx_tap.token_for(regress_cvx_tap.byte(b) || decode(repeat('5a', 15), 'hex')))::text, '|' ORDER BY o)
		       FROM unnest(ARRAY[2, 3, 200]) WITH ORDINALITY AS u(b, o)")"
else
	fail "setup: test/pgtap/lib/convex_ids.sql on the front"
	sed 's/^/    | /' "$WORK/ids.log"
fi
psql_db -q -f "$CVX_ROOT/sql/front/convexlite_front.sql" >>"$WORK/front.log" 2>&1
check "setup: running the front's file again keeps the nodes" 3 "$(q "SELECT convex_front.node_count()")"
q "SELECT convex_front_distribute_mutation('bank:transfer', 'fromId', 'id')" >/dev/null
q "SELECT convex_front_distribute_mutation('jobs:later', 'key', 'key')" >/dev/null
q "SELECT convex_front_distribute_table('accounts', 'branch')" >/dev/null

# rooms: three named ones, one per node
declare -A ROOM
for r in $(seq 1 200); do
	n=$(qf "SELECT convex_front_node_for_key('room$r')")
	[ -z "${ROOM[$n]:-}" ] && ROOM[$n]="room$r"
	[ -n "${ROOM[1]:-}" ] && [ -n "${ROOM[2]:-}" ] && [ -n "${ROOM[3]:-}" ] && break
done
echo "    rooms: node 1 ${ROOM[1]}, node 2 ${ROOM[2]}, node 3 ${ROOM[3]}"

# --- the seed app's flow through the front -------------------------------------------
UID1=$(qf "SELECT convex_db_insert('users', '{\"name\": \"Alice\"}')")
UNODE=$(qf "SELECT convex_front_node_for_id('$UID1')")
check "users: the new user lives on the node its id names" "$UNODE" \
	"$(on_which_nodes "SELECT count(*) = 1 FROM convex.users WHERE _id = '$UID1'")"
check "ids: the user's id is a valid Convex id of table users on its node" users "$(qn "$UNODE" "SELECT convex_id_table('$UID1')")"
check "ids: convex_id_node on the node agrees with the front" "$UNODE" "$(qn "$UNODE" "SELECT convex_id_node('$UID1')")"
on_front
MID=$(psql_db -At -c "SET convexlite.user_id = '$UID1'" \
	-c "SELECT convex_messages_send('{\"roomId\": \"${ROOM[2]}\", \"content\": \"hello\", \"userName\": \"Alice\"}')")
check "messages.send: on the room's node only" 2 \
	"$(on_which_nodes "SELECT count(*) = 1 FROM convex.messages WHERE _id = '$MID'")"
check "messages.send: the identity set on the front is the message's userId" "$UID1" \
	"$(qn 2 "SELECT user_id FROM convex.messages WHERE _id = '$MID'")"
check "messages.send: its id names node 2" 2 "$(qf "SELECT convex_front_node_for_id('$MID')")"
on_front
MID2=$(psql_db -At -c "SET request.jwt.claims = '{\"sub\": \"$UID1|session1\"}'" \
	-c "SELECT convex_messages_send('{\"roomId\": \"${ROOM[3]}\", \"content\": \"jwt\", \"userName\": \"Alice\"}')")
check "messages.send: request.jwt.claims set on the front reaches the node" "$UID1" \
	"$(qn 3 "SELECT user_id FROM convex.messages WHERE _id = '$MID2'")"
check "messages.remove by another user's session: nothing (as the seed)" ok \
	"$(sqlstate_of "SELECT convex_messages_remove('{\"messageId\": \"$MID\", \"sessionId\": \"x\"}')")"
check "messages.remove by another user's session: still there" 2 \
	"$(on_which_nodes "SELECT count(*) = 1 FROM convex.messages WHERE _id = '$MID'")"
on_front
psql_db -c "SET convexlite.user_id = '$UID1'" -c "SELECT convex_messages_remove('{\"messageId\": \"$MID\"}')" >/dev/null
check "messages.remove by id alone (its owner): gone" none \
	"$(on_which_nodes "SELECT count(*) = 1 FROM convex.messages WHERE _id = '$MID'")"
qf "SELECT convex_presence_update('{\"roomId\": \"${ROOM[1]}\", \"sessionId\": \"s1\", \"data\": {\"status\": \"here\"}}')" >/dev/null
check "presence.update: on the room's node" 1 \
	"$(on_which_nodes "SELECT count(*) = 1 FROM convex.presence WHERE session_id = 's1'")"
check "query through the front: the messages of a room (by_room)" jwt \
	"$(qf "SELECT string_agg(d->>'content', ',') FROM convex_db_query('messages', 'by_room', '{\"roomId\": \"${ROOM[3]}\"}') AS d")"
qf "SELECT convex_presence_leave('{\"roomId\": \"${ROOM[1]}\", \"sessionId\": \"s1\"}')" >/dev/null
check "presence.leave: gone" none "$(on_which_nodes "SELECT count(*) = 1 FROM convex.presence WHERE session_id = 's1'")"
on_front
psql_db -c "SET convexlite.user_id = '$UID1'" -c "SELECT convex_users_update_profile('{\"name\": \"Alice B\"}')" >/dev/null
check "users.updateProfile: on the user's node" "Alice B" "$(qn "$UNODE" "SELECT name FROM convex.users WHERE _id = '$UID1'")"
check "users.updateProfile signed out: UNAUTHORIZED (42501) from the node" 42501 \
	"$(sqlstate_of "SELECT convex_users_update_profile('{\"name\": \"x\"}')")"
check "ctx.db.get by id through the front" "Alice B" "$(qf "SELECT convex_db_get('users', '$UID1')->>'name'")"
on_front
URL=$(psql_db -At -c "SET convexlite.user_id = '$UID1'" -c "SELECT convex_files_generate_upload_url()")
SID=$(qf "SELECT convex_storage_upload('$URL', convert_to(repeat('sharded bytes ', 3000), 'UTF8'), 'text/plain') ->> 'storageId'")
check "files: the upload went to the user's node" "$UNODE" "$(qf "SELECT convex_front_node_for_id('$SID')")"
FID=$(qf "SELECT convex_files_save_file(jsonb_build_object('storageId', '$SID', 'name', 'a.txt', 'type', 'text/plain', 'size', 42000))")
check "files.saveFile: the file row beside its blob" "$UNODE" \
	"$(on_which_nodes "SELECT count(*) = 1 FROM convex.files WHERE _id = '$FID'")"
check "storage get through the front: the same bytes" t \
	"$(qf "SELECT convex_storage_get('$SID') = convert_to(repeat('sharded bytes ', 3000), 'UTF8')")"
check "storage get range and metadata through the front" "sharded|42000" \
	"$(qf "SELECT convert_from(convex_storage_get('$SID', 0, 7), 'UTF8') || '|' || (convex_storage_get_metadata('$SID')->>'size')")"
qf "SELECT convex_files_remove(jsonb_build_object('fileId', '$FID'))" >/dev/null
check "files.remove: file and blob gone" none \
	"$(on_which_nodes "SELECT count(*) > 0 FROM convex._storage WHERE _id = '$SID'")"

# --- registered mutations: routed by an id; two nodes refused ------------------------
on_front
psql_db -q -c "SELECT count(convex_db_insert('accounts', jsonb_build_object('branch', b, 'n', i, 'balance', 1000000)))
                 FROM unnest(ARRAY['${ROOM[1]}', '${ROOM[2]}', '${ROOM[3]}']) AS b, generate_series(1, 5) AS i" >/dev/null
for i in 1 2 3; do
	check "accounts of branch ${ROOM[$i]}: on node $i" 5 "$(qn "$i" "SELECT count(*) FROM convex.accounts WHERE branch = '${ROOM[$i]}'")"
done
A1=$(qn 1 "SELECT _id FROM convex.accounts WHERE n = 1")
B1=$(qn 1 "SELECT _id FROM convex.accounts WHERE n = 2")
A2=$(qn 2 "SELECT _id FROM convex.accounts WHERE n = 1")
check "bank:transfer within node 1" '"done"' \
	"$(qf "SELECT convex_mutation('bank:transfer', '{\"key\": \"t1\", \"fromId\": \"$A1\", \"toId\": \"$B1\", \"amount\": 5}')")"
check "bank:transfer from node 1 to node 2: refused with 0A000" 0A000 \
	"$(sqlstate_of "SELECT convex_mutation('bank:transfer', '{\"key\": \"t2\", \"fromId\": \"$A1\", \"toId\": \"$A2\", \"amount\": 7}')")"
check "bank:transfer across nodes: nothing done on node 1 (no ledger, balance as before)" "0|999995" \
	"$(qn 1 "SELECT (SELECT count(*) FROM convex.ledger WHERE key = 't2') || '|' || (SELECT balance FROM convex.accounts WHERE _id = '$A1')")"
check "bank:transfer across nodes: nothing done on node 2" "0|1000000" \
	"$(qn 2 "SELECT (SELECT count(*) FROM convex.ledger WHERE key = 't2') || '|' || (SELECT balance FROM convex.accounts WHERE _id = '$A2')")"
check "a path the front was not told about: 42704" 42704 "$(sqlstate_of "SELECT convex_mutation('bank:nope', '{}')")"
check "a query without its shard key: 0A000" 0A000 "$(sqlstate_of "SELECT count(*) FROM convex_db_query('users')")"

# --- scheduler per node -----------------------------------------------------------------
qf "SELECT convex_mutation('jobs:later', '{\"key\": \"${ROOM[3]}\"}')" >/dev/null
on_node 3
wait_for "the job ran on node 3" "SELECT count(*) = 1 FROM convex.job_docs WHERE key = '${ROOM[3]}'" || true
check "scheduler: the job ran on the node of its mutation, and only there" 3 \
	"$(on_which_nodes "SELECT count(*) = 1 FROM convex.job_docs WHERE key = '${ROOM[3]}'")"

# --- 16 clients through the front --------------------------------------------------------
for i in 1 2 3; do
	qn "$i" "SELECT string_agg(_id, ' ' ORDER BY n) FROM convex.accounts" >"$WORK/acc$i"
done
# the account ids, for the clients to pick from (a table of the test's own on the front)
qf "CREATE TABLE sh_accounts (node int, n int, id text, PRIMARY KEY (node, n))" >/dev/null
for i in 1 2 3; do
	qf "INSERT INTO sh_accounts SELECT $i, o, id FROM unnest(string_to_array('$(cat "$WORK/acc$i")', ' ')) WITH ORDINALITY AS u(id, o)" >/dev/null
done
{
	echo '\set k random(1, 999999999999999)'
	echo '\set r random(1, 30)'
	echo "\\shell echo :k :r >> $WORK/att_send"
	echo "SELECT convex_messages_send(jsonb_build_object('roomId', 'room:r', 'content', 'S:k', 'userName', 'w'));"
	echo "\\shell echo :k :r >> $WORK/ack_send"
} >"$WORK/send.sql"
{
	echo '\set k random(1, 999999999999999)'
	echo '\set r random(1, 30)'
	echo "SELECT convex_presence_update(jsonb_build_object('roomId', 'room:r', 'sessionId', 'p:k', 'data', jsonb_build_object('status', 'here')));"
} >"$WORK/presence.sql"
{
	echo '\set k random(1, 999999999999999)'
	echo '\set node random(1, 3)'
	echo '\set a random(1, 5)'
	echo '\set b (:a % 5) + 1'
	echo "\\shell echo :k >> $WORK/att_transfer"
	echo "SELECT (SELECT id FROM sh_accounts WHERE node = :node AND n = :a) AS f, (SELECT id FROM sh_accounts WHERE node = :node AND n = :b) AS t \\gset"
	echo "SELECT convex_mutation('bank:transfer', jsonb_build_object('key', 'T:k', 'fromId', ':f', 'toId', ':t', 'amount', 3));"
	echo "\\shell echo :k >> $WORK/ack_transfer"
} >"$WORK/transfer.sql"
touch "$WORK/att_send" "$WORK/ack_send" "$WORK/att_transfer" "$WORK/ack_transfer"
on_front
"$PGBENCH" -n -c "$CLIENTS" -j 4 -T "$LOAD_SECONDS" -f "$WORK/send.sql@5" -f "$WORK/presence.sql@3" \
	-f "$WORK/transfer.sql@2" -d "$DB" >"$WORK/pgbench.log" 2>&1
check_client_errors "load: no client saw an error" "$WORK/pgbench.log"
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench.log" | head -n 1)
echo "    load: ${tps:-?} calls/s through the front, $(wc -l <"$WORK/ack_send") sends, $(wc -l <"$WORK/ack_transfer") transfers acknowledged"
# every acknowledged send: on its room's node, exactly once; nothing unattempted
for i in 1 2 3; do
	qn "$i" "SELECT substr(content, 2) || ' ' || substr(room_id, 5) FROM convex.messages WHERE content LIKE 'S%'" | sort >"$WORK/sent$i"
done
sort -u "$WORK/ack_send" >"$WORK/acks"
sort "$WORK/sent1" "$WORK/sent2" "$WORK/sent3" >"$WORK/all_sent"
check "load: every acknowledged send is on a node" 0 "$(comm -23 "$WORK/acks" "$WORK/all_sent" | wc -l)"
check "load: no send twice, on one node or two" 0 "$(uniq -d "$WORK/all_sent" | wc -l)"
check "load: no message that no client attempted" 0 "$(comm -13 <(sort -u "$WORK/att_send") <(sort -u "$WORK/all_sent") | wc -l)"
misplaced=0
for i in 1 2 3; do
	rooms=$(cut -d' ' -f2 "$WORK/sent$i" | sort -u | sed 's/^/room/' | paste -sd, -)
	[ -z "$rooms" ] && continue
	wrong=$(qf "SELECT count(*) FROM unnest(string_to_array('$rooms', ',')) AS r WHERE convex_front_node_for_key(r) <> $i")
	misplaced=$((misplaced + wrong))
done
check "load: every message is on the node of its room" 0 "$misplaced"
for i in 1 2 3; do
	check "load: node $i's balances still add up to 5,000,000" 5000000 \
		"$(qn "$i" "SELECT sum(balance)::bigint FROM convex.accounts")"
done
ledger=$(($(qn 1 "SELECT count(*) FROM convex.ledger") + $(qn 2 "SELECT count(*) FROM convex.ledger") + $(qn 3 "SELECT count(*) FROM convex.ledger")))
check "load: one ledger document per acknowledged transfer (plus t1)" $(($(sort -u "$WORK/ack_transfer" | wc -l) + 1)) "$ledger"

# --- a node stops, and comes back ---------------------------------------------------------
before=$(qn 2 "SELECT (SELECT count(*) FROM convex.messages) || '|' || (SELECT count(*) FROM convex.presence) || '|' || (SELECT count(*) FROM convex.ledger)")
cvx_cluster_stop shard_n2 >>"$WORK/cluster.log" 2>&1
check "node 2 down: a send to its room fails with 57P03" 57P03 \
	"$(sqlstate_of "SELECT convex_messages_send('{\"roomId\": \"${ROOM[2]}\", \"content\": \"while down\", \"userName\": \"A\"}')")"
check "node 2 down: a get of one of its ids fails with 57P03" 57P03 \
	"$(sqlstate_of "SELECT convex_db_get('accounts', '$A2')")"
check "node 2 down: a send to node 1's room goes on" ok \
	"$(sqlstate_of "SELECT convex_messages_send('{\"roomId\": \"${ROOM[1]}\", \"content\": \"while 2 is down\", \"userName\": \"A\"}')")"
check "node 2 down: a transfer on node 3 goes on" '"done"' \
	"$(qf "SELECT convex_mutation('bank:transfer', jsonb_build_object('key', 'down3', 'fromId', '$(cut -d' ' -f1 "$WORK/acc3")', 'toId', '$(cut -d' ' -f2 "$WORK/acc3")', 'amount', 1))")"
start_cluster shard_n2 $((PORT + 2)) 2
check "node 2 back: nothing lost (messages|presence|ledger)" "$before" \
	"$(qn 2 "SELECT (SELECT count(*) FROM convex.messages) || '|' || (SELECT count(*) FROM convex.presence) || '|' || (SELECT count(*) FROM convex.ledger)")"
check "node 2 back: the send refused while it was down did not run" 0 \
	"$(qn 2 "SELECT count(*) FROM convex.messages WHERE content = 'while down'")"
check "node 2 back: its rooms work through the front again" ok \
	"$(sqlstate_of "SELECT convex_messages_send('{\"roomId\": \"${ROOM[2]}\", \"content\": \"back\", \"userName\": \"A\"}')")"

echo "# $CHECKS checks, $FAILURES failed, $(($(date +%s) - T0)) s"
[ "$FAILURES" = 0 ]
