#!/usr/bin/env bash
# bench/sharding.sh: the cost of the front hop of a sharded deployment
# (docs/sharding.md), and the spread of rooms over the nodes.
#
# Four clusters of its own: a front (PL/Proxy, sql/front/convexlite_front.sql)
# on BENCH_SHARD_PORT (default 54346) and three convexlite nodes on the three
# ports after it, all with synchronous_commit = off (so that the CPU cost of a
# call shows, not the WAL flush).  pgbench -M prepared, one call a
# transaction, BENCH_SHARD_SECONDS (default 5) a run, at 1 and 16 clients
# (BENCH_SHARD_CLIENTS), BENCH_SHARD_ROUNDS rounds (default 2) in rotating
# order; the median of each:
#
#   direct     messages.send / presence.update called on node 1 itself, to
#              100 rooms that live on node 1
#   front      the same calls, same rooms, through the front (one more hop:
#              routing on the front, PL/Proxy's connection to node 1)
#   spread     through the front, to 300 rooms over all three nodes
#
# and, on the front alone, the routing functions' cost per call, and how
# 30,000 room names and the ids of 3,000 inserts spread over the nodes.
# On this machine the four servers share 2 cores, so "spread" shows the hop
# under contention, not the scaling (docs/sharding.md argues that on paper).
#
# Output: sharding.md (a markdown fragment) and sharding.tsv in $BENCH_OUT
# (default bench/out/), also printed.  Usage: bash bench/sharding.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/../scripts/lib.sh"

PORT=${BENCH_SHARD_PORT:-54346}
SECS=${BENCH_SHARD_SECONDS:-5}
ROUNDS=${BENCH_SHARD_ROUNDS:-2}
CLIENTS=${BENCH_SHARD_CLIENTS:-1 16}
OUT_DIR=${BENCH_OUT:-$CVX_ROOT/bench/out}
DB=postgres
PGBENCH=$(cvx_pg_bindir)/pgbench
workdir=$(mktemp -d)
CLUSTERS=(benchs_f benchs_n1 benchs_n2 benchs_n3)
# shellcheck disable=SC2317
cleanup() {
	local c
	for c in "${CLUSTERS[@]}"; do
		[ -f "$(cvx_cluster_dir "$c")/data/convexlite.conf" ] && cvx_cluster_destroy "$c" >/dev/null 2>&1
	done
	rm -rf "$workdir"
}
trap cleanup EXIT
mkdir -p "$OUT_DIR"

on_front() { cvx_cluster_env benchs_f "$PORT"; }
on_node() { cvx_cluster_env "benchs_n$1" $((PORT + $1)); }
qq() { cvx_psql -d "$DB" -qAt -c "$1"; }

cvx_step "Clusters: front benchs_f (port $PORT), nodes benchs_n1..3"
for c in "${CLUSTERS[@]}"; do
	[ -f "$(cvx_cluster_dir "$c")/data/convexlite.conf" ] && cvx_cluster_destroy "$c" >/dev/null 2>&1
done
CVX_EXTRA_CONF="synchronous_commit = off" CVX_PRELOAD='' cvx_cluster_start benchs_f "$PORT" "$DB" >"$workdir/cluster.log" 2>&1 ||
	cvx_die "front did not start: $(tail -n 5 "$workdir/cluster.log")"
for i in 1 2 3; do
	CVX_EXTRA_CONF="convexlite.node_id = $i
synchronous_commit = off" CVX_PRELOAD=pg_cron,convexlite cvx_cluster_start "benchs_n$i" $((PORT + i)) "$DB" \
		>>"$workdir/cluster.log" 2>&1 || cvx_die "node $i did not start: $(tail -n 5 "$workdir/cluster.log")"
	on_node "$i"
	qq "SET client_min_messages = warning; CREATE EXTENSION convexlite" >/dev/null
done
on_front
cvx_psql -d "$DB" -q -f "$CVX_ROOT/sql/front/convexlite_front.sql" >/dev/null
nodes=""
for i in 1 2 3; do
	nodes="$nodes${nodes:+, }'host=$(cvx_cluster_dir "benchs_n$i") port=$((PORT + i)) dbname=$DB'"
done
qq "SELECT convex_front_setup(ARRAY[$nodes])" >/dev/null

# rooms: 100 per node, and the same table on node 1 (the direct runs look
# their room up the same way)
qq "CREATE TABLE bench_rooms (node int, i int, room text, PRIMARY KEY (node, i));
    INSERT INTO bench_rooms
    SELECT node, row_number() OVER (PARTITION BY node ORDER BY g), room
      FROM (SELECT g, 'room' || g AS room, convex_front_node_for_key('room' || g) AS node
              FROM generate_series(1, 2000) AS g) AS r;
    DELETE FROM bench_rooms WHERE i > 100;" >/dev/null
qq "COPY bench_rooms TO STDOUT" >"$workdir/rooms.tsv"
on_node 1
qq "CREATE TABLE bench_rooms (node int, i int, room text, PRIMARY KEY (node, i))" >/dev/null
cvx_psql -d "$DB" -qc "\\copy bench_rooms FROM '$workdir/rooms.tsv'" >/dev/null

# the pgbench scripts: node-1 rooms, or any room
for w in send heartbeat; do
	case $w in
	send) call="convex_messages_send(jsonb_build_object('roomId', ROOM, 'content', 'bench', 'userName', 'b'))" ;;
	heartbeat) call="convex_presence_update(jsonb_build_object('roomId', ROOM, 'sessionId', 's' || :s, 'data', jsonb_build_object('status', 'here')))" ;;
	esac
	{
		echo '\set i random(1, 100)'
		echo '\set s random(1, 100)'
		echo "SELECT ${call//ROOM/(SELECT room FROM bench_rooms WHERE node = 1 AND i = :i)};"
	} >"$workdir/$w.node1.sql"
	{
		echo '\set i random(1, 100)'
		echo '\set n random(1, 3)'
		echo '\set s random(1, 100)'
		echo "SELECT ${call//ROOM/(SELECT room FROM bench_rooms WHERE node = :n AND i = :i)};"
	} >"$workdir/$w.spread.sql"
done

# run VARIANT WORKLOAD CLIENTS: one pgbench run; prints "tps latency_ms"
run() {
	local variant=$1 w=$2 c=$3 script
	case $variant in
	direct) on_node 1; script=$workdir/$w.node1.sql ;;
	front) on_front; script=$workdir/$w.node1.sql ;;
	spread) on_front; script=$workdir/$w.spread.sql ;;
	esac
	"$PGBENCH" -n -M prepared -c "$c" -j "$((c < 4 ? c : 4))" -T "$SECS" -f "$script" "$DB" >"$workdir/pgbench.log" 2>&1 ||
		{ tail -n 5 "$workdir/pgbench.log" >&2; echo "0 0"; return; }
	echo "$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$workdir/pgbench.log" | head -n 1) $(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$workdir/pgbench.log")"
}
median() { sort -n | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

tsv=$OUT_DIR/sharding.tsv
printf 'workload\tclients\tvariant\ttps\tlatency_ms\n' >"$tsv"
variants=(direct front spread)
for w in send heartbeat; do
	for c in $CLIENTS; do
		: >"$workdir/points"
		for r in $(seq "$ROUNDS"); do
			for k in 0 1 2; do
				v=${variants[$(((k + r) % 3))]}
				cvx_info "$w, $c clients, round $r: $v"
				echo "$v $(run "$v" "$w" "$c")" >>"$workdir/points"
			done
		done
		for v in "${variants[@]}"; do
			tps=$(awk -v v="$v" '$1 == v {print $2}' "$workdir/points" | median)
			lat=$(awk -v v="$v" '$1 == v {print $3}' "$workdir/points" | median)
			printf '%s\t%s\t%s\t%s\t%s\n' "$w" "$c" "$v" "$tps" "$lat" >>"$tsv"
		done
	done
done

# routing on the front alone, and the spread
on_front
# per_call_us SQL: µs per call of 100,000 calls in one statement (timed around psql)
per_call_us() {
	local t0 t1
	t0=$(date +%s%N)
	qq "$1" >/dev/null
	t1=$(date +%s%N)
	echo "$(((t1 - t0) / 100000000)).$(((t1 - t0) / 10000000 % 10))"
}
route_key_us=$(per_call_us "SELECT count(convex_front.node_for_key('room' || g)) FROM generate_series(1, 100000) AS g")
sample_id=$(qq "SELECT convex_messages_send('{\"roomId\": \"room1\", \"content\": \"x\", \"userName\": \"b\"}')")
# (the id varies with g, so that the IMMUTABLE function is not folded into a constant)
route_id_us=$(per_call_us "SELECT count(convex_front.node_for_id('$sample_id' || left(g::text, 0))) FROM generate_series(1, 100000) AS g")
room_spread=$(qq "SELECT string_agg(n || ': ' || c, ', ' ORDER BY n) FROM (SELECT convex_front_node_for_key('room' || g) AS n, count(*) AS c
                    FROM generate_series(1, 30000) AS g GROUP BY 1) AS s")
qq "SELECT count(convex_db_insert('users', jsonb_build_object('name', 'u' || g))) FROM generate_series(1, 3000) AS g" >/dev/null
id_spread=""
for i in 1 2 3; do
	on_node "$i"
	id_spread="$id_spread${id_spread:+, }$i: $(qq "SELECT count(*) FROM convex.users")"
done

md=$OUT_DIR/sharding.md
{
	echo "1 front (PL/Proxy) + 3 convexlite nodes on this machine, synchronous_commit = off, pgbench -M prepared, ${SECS}s a run, median of $ROUNDS rounds. *direct*: the call on node 1 itself; *front*: the same call and rooms through the front; *spread*: through the front to rooms of all three nodes (which share this machine's cores with the front)."
	echo
	echo "| workload | clients | direct tps | front tps | front / direct | direct latency ms | front latency ms | added ms per call | spread tps |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' 'NR > 1 {tps[$1" "$2" "$3] = $4; lat[$1" "$2" "$3] = $5; if (!seen[$1" "$2]++) order[++n] = $1" "$2}
		END {for (i = 1; i <= n; i++) {split(order[i], a, " "); k = order[i];
			printf "| %s | %s | %.0f | %.0f | %.2f | %.3f | %.3f | %.3f | %.0f |\n", a[1], a[2], tps[k" direct"], tps[k" front"],
				(tps[k" direct"] > 0 ? tps[k" front"] / tps[k" direct"] : 0), lat[k" direct"], lat[k" front"],
				lat[k" front"] - lat[k" direct"], tps[k" spread"]}}' "$tsv"
	echo
	echo "Routing on the front: node_for_key ${route_key_us} µs a call, node_for_id ${route_id_us} µs a call."
	echo "Rooms 'room1'..'room30000' by node: ${room_spread}. Users inserted through the front (3,000, no shard key: any node) by node: ${id_spread}."
} >"$md"
cat "$md"
