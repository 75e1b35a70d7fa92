#!/usr/bin/env bash
# bench/builder.sh: the query builder's two read targets (issue 17), each
# against the hand-written SQL SELECT of the same rows (the floor) and the
# PL/pgSQL a user would write instead (bench/peers.sql):
#
#   page      a 50-document page of a paginated room: convex_db_paginate of
#             ctx.db.query("messages").withIndex("by_room", q => q.eq("roomId", r))
#             .paginate({numItems: 50, cursor}), following continueCursor
#             through a room of ROOM messages, pages 2 to the last, then from
#             page 2 again (the first page is never timed: every call starts
#             from a cursor).  Floor: the keyset SELECT of those 50 rows as
#             the same documents (jsonb_agg of jsonb_build_object, absent
#             fields stripped) and the next position.  Peer:
#             plain.messages_page(args).
#   filtered  .withIndex("by_room", …).order("desc").filter(q => q.eq(q.field("userName"),
#             "alice")).take(20) in a room where one message in ten is
#             alice's: convex_db_select, aggregated to one jsonb.  Floor:
#             the SELECT with user_name = 'alice' … LIMIT 20 of the same
#             documents.  Peer: plain.messages_by_user(args).
#
# MESSAGES messages (default 1,000,000) in rooms of ROOM (default 2,000),
# loaded directly into convex.messages (ids are 32 hex digits: reads do not
# decode them).  Every variant runs CALLS calls in one statement (a PL/pgSQL
# loop, the same for all three, so its cost cancels), three times in
# rotating order; the medians give microseconds per call.  Targets:
# convexlite <= 1.3x the floor per call, and >= 1.5x faster than the peer.
# All three run as the same superuser, outside a mutation (no read limits:
# inside a mutation every scanned document is counted, see
# docs/query-builder.md).
#
# Output: builder.md (a markdown fragment) and builder.txt (`key value`
# lines) in $BENCH_OUT (default bench/out/), both also printed.  About one
# to two minutes with the defaults (most of it the load).
#
# Environment: BENCH_CLUSTER, BENCH_PORT (default a cluster "benchb" of its
# own on port 54341; its database is recreated), BENCH_DB,
# BENCH_BUILDER_MESSAGES, BENCH_BUILDER_ROOM, BENCH_BUILDER_CALLS (default 2000).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"

BENCH_CLUSTER=${BENCH_CLUSTER:-benchb}
BENCH_PORT=${BENCH_PORT:-54341}
MESSAGES=${BENCH_BUILDER_MESSAGES:-1000000}
ROOM=${BENCH_BUILDER_ROOM:-2000}
N=${BENCH_BUILDER_CALLS:-2000}
case $BENCH_CLUSTER in
demo | test) cvx_die "BENCH_CLUSTER=$BENCH_CLUSTER: use a cluster of its own (its database is recreated)" ;;
bench) CRON_DB=convexlite_bench ;;
*) CRON_DB=convexlite_$BENCH_CLUSTER ;;
esac
DB=${BENCH_DB:-${CRON_DB}_builder}
OUT_DIR=${BENCH_OUT:-$CVX_ROOT/bench/out}
mkdir -p "$OUT_DIR"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

cvx_cluster_start "$BENCH_CLUSTER" "$BENCH_PORT" "$CRON_DB" >/dev/null
cvx_step "Database $DB: convexlite, bench/setup.sql, bench/peers.sql, $MESSAGES messages in rooms of $ROOM"
cvx_psql -d postgres -q -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -c "CREATE DATABASE \"$DB\" TEMPLATE = template0"
cvx_psql -qtA -d "$DB" -f "$HERE/setup.sql" >/dev/null
cvx_psql -q -d "$DB" -f "$HERE/peers.sql"
rooms=$(((MESSAGES + ROOM - 1) / ROOM))
cvx_psql -q -d "$DB" <<SQL
-- message i: room i % rooms; alice's when (i / rooms) % 10 = 0, one in ten of each room
INSERT INTO convex.messages (_id, _creation_time, room_id, content, user_name, session_id)
SELECT md5(i::text), 1.7e12 + i * 0.5, 'room' || (i % $rooms), 'message number ' || i || ' of the benchmark',
       CASE WHEN (i / $rooms) % 10 = 0 THEN 'alice' ELSE 'user' || (i % 37) END, 's' || (i % 1000)
FROM generate_series(1, $MESSAGES) AS i;
VACUUM ANALYZE convex.messages;
-- the query of the benchmark's room, and its cursor after page 1 (every timed call starts from a cursor)
CREATE TABLE bench.builder_room AS
SELECT q, convex_db_paginate(q, '{"numItems": 50, "cursor": null}') ->> 'continueCursor' AS cursor2
FROM (SELECT jsonb_build_object('source', jsonb_build_object('type', 'IndexRange', 'indexName', 'messages.by_room',
        'range', jsonb_build_array(jsonb_build_object('type', 'Eq', 'fieldPath', 'roomId', 'value', 'room7')),
        'order', 'asc'), 'operators', '[]'::jsonb) AS q) x;
SQL

statement() { # TARGET VARIANT: one statement making $N calls
	case $1:$2 in
	page:convexlite) cat <<SQL
DO \$\$ DECLARE q jsonb; c2 text; cur text; p jsonb; BEGIN
  SELECT r.q, r.cursor2 INTO q, c2 FROM bench.builder_room r; cur := c2;
  FOR i IN 1 .. $N LOOP
    p := convex_db_paginate(q, jsonb_build_object('numItems', 50, 'cursor', cur));
    cur := CASE WHEN (p ->> 'isDone')::boolean THEN c2 ELSE p ->> 'continueCursor' END;
  END LOOP; END \$\$;
SQL
		;;
	page:floor) cat <<SQL
DO \$\$ DECLARE ct0 float8; id0 text; ct float8; id text; page jsonb; n int; BEGIN
  SELECT max(_creation_time), max(_id) INTO ct0, id0 FROM (SELECT _creation_time, _id FROM convex.messages
    WHERE room_id = 'room7' ORDER BY _creation_time, _id LIMIT 50) f;
  ct := ct0; id := id0;
  FOR i IN 1 .. $N LOOP
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('_id', m._id, '_creationTime', m._creation_time,
             'roomId', m.room_id, 'userId', m.user_id, 'content', m.content, 'userName', m.user_name,
             'sessionId', m.session_id)) ORDER BY m._creation_time, m._id),
           (array_agg(m._creation_time ORDER BY m._creation_time DESC, m._id DESC))[1],
           (array_agg(m._id ORDER BY m._creation_time DESC, m._id DESC))[1], count(*)
      INTO page, ct, id, n
      FROM (SELECT * FROM convex.messages WHERE room_id = 'room7' AND (_creation_time, _id) > (ct, id)
            ORDER BY _creation_time, _id LIMIT 50) m;
    IF n < 50 THEN ct := ct0; id := id0; END IF;
  END LOOP; END \$\$;
SQL
		;;
	page:plpgsql) cat <<SQL
DO \$\$ DECLARE c2 text; cur text; p jsonb; BEGIN
  c2 := (plain.messages_page('{"roomId": "room7", "paginationOpts": {"numItems": 50, "cursor": null}}') ->> 'continueCursor');
  cur := c2;
  FOR i IN 1 .. $N LOOP
    p := plain.messages_page(jsonb_build_object('roomId', 'room7', 'paginationOpts', jsonb_build_object('numItems', 50, 'cursor', cur)));
    cur := CASE WHEN (p ->> 'isDone')::boolean THEN c2 ELSE p ->> 'continueCursor' END;
  END LOOP; END \$\$;
SQL
		;;
	filtered:convexlite) cat <<SQL
DO \$\$ DECLARE q jsonb := '{"source": {"type": "IndexRange", "indexName": "messages.by_room",
    "range": [{"type": "Eq", "fieldPath": "roomId", "value": "room7"}], "order": "desc"},
    "operators": [{"filter": {"\$eq": [{"\$field": "userName"}, {"\$literal": "alice"}]}}, {"limit": 20}]}';
  v jsonb; BEGIN
  FOR i IN 1 .. $N LOOP
    SELECT jsonb_agg(d) INTO v FROM convex_db_select(q) AS d;
  END LOOP; END \$\$;
SQL
		;;
	filtered:floor) cat <<SQL
DO \$\$ DECLARE v jsonb; BEGIN
  FOR i IN 1 .. $N LOOP
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('_id', m._id, '_creationTime', m._creation_time,
             'roomId', m.room_id, 'userId', m.user_id, 'content', m.content, 'userName', m.user_name,
             'sessionId', m.session_id)) ORDER BY m._creation_time DESC, m._id DESC) INTO v
      FROM (SELECT * FROM convex.messages WHERE room_id = 'room7' AND user_name = 'alice'
            ORDER BY _creation_time DESC, _id DESC LIMIT 20) m;
  END LOOP; END \$\$;
SQL
		;;
	filtered:plpgsql) cat <<SQL
DO \$\$ DECLARE v jsonb; BEGIN
  FOR i IN 1 .. $N LOOP
    v := plain.messages_by_user('{"roomId": "room7", "userName": "alice", "n": 20}');
  END LOOP; END \$\$;
SQL
		;;
	esac
}

# the three variants return the same documents (checked once, not timed)
same=$(cvx_psql -d "$DB" -Atq <<'SQL'
SELECT (SELECT jsonb_agg(d) FROM convex_db_select('{"source": {"type": "IndexRange", "indexName": "messages.by_room",
          "range": [{"type": "Eq", "fieldPath": "roomId", "value": "room7"}], "order": "desc"},
          "operators": [{"filter": {"$eq": [{"$field": "userName"}, {"$literal": "alice"}]}}, {"limit": 20}]}') d)
     = plain.messages_by_user('{"roomId": "room7", "userName": "alice", "n": 20}')
   AND (SELECT convex_db_paginate(q, jsonb_build_object('numItems', 50, 'cursor', cursor2)) -> 'page' FROM bench.builder_room)
     = (SELECT plain.messages_page(jsonb_build_object('roomId', 'room7', 'paginationOpts', jsonb_build_object('numItems', 50,
          'cursor', plain.messages_page('{"roomId": "room7", "paginationOpts": {"numItems": 50, "cursor": null}}') ->> 'continueCursor'))) -> 'page');
SQL
)
[ "$same" = t ] || cvx_die "convexlite and the PL/pgSQL peer return different documents"

txt=$OUT_DIR/builder.txt
md=$OUT_DIR/builder.md
: >"$txt"
declare -A us
for target in page filtered; do
	variants=(convexlite floor plpgsql)
	declare -A runs=()
	for r in 1 2 3; do
		for k in 0 1 2; do
			v=${variants[$(((k + r) % 3))]}
			ms=$(printf '\\timing on\n%s\n' "$(statement "$target" "$v")" | cvx_psql -q -d "$DB" |
				sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1)
			runs[$v]+="$ms "
		done
	done
	for v in "${variants[@]}"; do
		med=$(tr ' ' '\n' <<<"${runs[$v]}" | sed '/^$/d' | sort -n | sed -n 2p)
		us[$target:$v]=$(per_call "$med")
		echo "builder_${target}_${v}_us ${us[$target:$v]}" >>"$txt"
		cvx_info "$target $v: runs ${runs[$v]}ms, median $(per_call "$med") us/call"
	done
	unset runs
done

verdict() { # RATIO OP LIMIT
	awk -v r="$1" -v l="$3" -v op="$2" 'BEGIN { ok = (op == "le") ? (r <= l) : (r >= l); print ok ? "met" : "missed" }'
}
{
	printf 'Reads of the query builder (`bench/builder.sh`): %s messages in rooms of %s, %s calls a statement, median of three runs in rotating order, microseconds per call. Floor: the hand-written SQL `SELECT` of the same rows as the same documents. PL/pgSQL: `bench/peers.sql` (`plain.messages_page`, `plain.messages_by_user`).\n\n' "$MESSAGES" "$ROOM" "$N"
	printf '| read | convexlite | floor | PL/pgSQL | convexlite / floor (target <= 1.3) | PL/pgSQL / convexlite (target >= 1.5) |\n|---|---:|---:|---:|---:|---:|\n'
	for target in page filtered; do
		c=${us[$target:convexlite]} f=${us[$target:floor]} p=${us[$target:plpgsql]}
		rf=$(ratio "$c" "$f") rp=$(ratio "$p" "$c")
		echo "builder_${target}_ratio_floor $rf" >>"$txt"
		echo "builder_${target}_ratio_peer $rp" >>"$txt"
		case $target in
		page) name='a 50-document page of a paginated room (pages 2 to 40, by cursor)' ;;
		filtered) name='filtered: `.filter(userName = "alice").take(20)` in a room' ;;
		esac
		printf '| %s | %s | %s | %s | %s (%s) | %s (%s) |\n' "$name" "$c" "$f" "$p" "$rf" "$(verdict "$rf" le 1.3)" "$rp" "$(verdict "$rp" ge 1.5)"
	done
} >"$md"
cat "$md"
cat "$txt"
