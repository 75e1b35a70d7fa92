#!/usr/bin/env bash
# bench/reads.sh: issue 17's read benchmarks, the seed app's two room queries.
#
#   messages.list   a room of 200 messages among 1,000,000 (5,000 rooms of 200,
#                   each room's messages spread through the table as a chat's
#                   arrive: one of the room, then one of every other room)
#   presence.list   a room of 100 sessions among 100,000 (1,000 rooms of 100),
#                   half of every room stale (lastSeen an hour ago), half fresh
#                   (lastSeen an hour ahead, so that they stay fresh however
#                   long the run takes)
#
# Each is measured over the wire, pgbench -M prepared, one client, one call a
# transaction, BENCH_READ_SECONDS per run, in BENCH_READ_ROUNDS rounds whose
# variant order rotates (median tps reported), for:
#   convexlite     SELECT convex_messages_list('{"roomId": ...}') (the C built-in)
#   convex_query   SELECT convex_query('messages:list', ...) (dispatch, read-only sandbox)
#   floor          the hand-written SELECT of the same rows (every column, by_room
#                  order; presence with the same 30 s condition)
#   sql_json       the hand-written SELECT that builds the same JSON (jsonb_agg of
#                  jsonb_build_object, absent fields left out): what a user
#                  would send to get the documents without convexlite
#   plpgsql        plain.messages_list / plain.presence_list (bench/peers.sql) over
#                  copies of the same rows in plain.messages / plain.presence
# Targets: convexlite <= 1.3x the floor's time per call, >= 1.5x faster than the
# PL/pgSQL peer.  Then each variant BENCH_READ_BATCH times in one statement
# (median of 3): the server's own time per call, without the wire.  The script also checks that convexlite and the peer return the
# same JSON, and that each convexlite call is one index scan of by_room and no
# sequential scan (pg_stat_user_indexes / pg_stat_user_tables over 100 calls).
# It also measures what turning a call's jsonb into the text the client
# receives (jsonb_out) costs: every variant that returns JSON pays it, the
# floor does not.
#
# The 200 messages of the measured room are sent with convex_messages_send and
# the measured room's 100 sessions with convex_presence_update; the rest, and
# the copies, are written with INSERT ... SELECT (same columns, made-up ids).
#
# Output: reads.md (a markdown fragment) and reads.txt (`key value` lines) in
# $BENCH_OUT (default bench/out/), both also printed.  Run time: loading
# about a minute, then 2 workloads x 4 variants x ROUNDS x SECONDS.
#
# Usage: bash bench/reads.sh   (or, through the suite: BENCH_ONLY=reads make bench)
# Environment: BENCH_CLUSTER (default benchr), BENCH_PORT (default 54338),
#   BENCH_DB (default: the cluster's cron database), BENCH_OUT,
#   BENCH_READ_SECONDS (default 5), BENCH_READ_ROUNDS (default 3),
#   BENCH_READ_MESSAGES (default 1000000), BENCH_READ_SESSIONS (default 100000),
#   BENCH_READ_BATCH (calls in the one-statement runs, default 1000).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

BENCH_CLUSTER=${BENCH_CLUSTER:-benchr}
BENCH_PORT=${BENCH_PORT:-54338}
SECS=${BENCH_READ_SECONDS:-5}
ROUNDS=${BENCH_READ_ROUNDS:-3}
MESSAGES=${BENCH_READ_MESSAGES:-1000000}
SESSIONS=${BENCH_READ_SESSIONS:-100000}
ROOM_MESSAGES=200
ROOM_SESSIONS=100
for v in SECS ROUNDS MESSAGES SESSIONS BENCH_PORT; do
	case ${!v} in '' | *[!0-9]* | 0) cvx_die "$v must be a positive integer, not '${!v}'" ;; esac
done
[ "$MESSAGES" -ge $((2 * ROOM_MESSAGES)) ] || cvx_die "BENCH_READ_MESSAGES must be at least $((2 * ROOM_MESSAGES))"
[ "$SESSIONS" -ge $((2 * ROOM_SESSIONS)) ] || cvx_die "BENCH_READ_SESSIONS must be at least $((2 * ROOM_SESSIONS))"
case $BENCH_CLUSTER in
demo | test) cvx_die "BENCH_CLUSTER=$BENCH_CLUSTER: use a cluster of its own (its database is recreated)" ;;
bench) CRON_DB=convexlite_bench ;;
*) CRON_DB=convexlite_$BENCH_CLUSTER ;;
esac
DB=${BENCH_DB:-$CRON_DB}
OUT_DIR=${BENCH_OUT:-$CVX_ROOT/bench/out}
PGBENCH=$(cvx_pg_bindir)/pgbench
T_START=$(date +%s)

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
mkdir -p "$OUT_DIR"
md=$workdir/out.md
txt=$workdir/out.txt
: >"$md"
: >"$txt"
kv() { printf '%s %s\n' "$1" "$2" >>"$txt"; }
q() { cvx_psql -d "$DB" -Atq -c "$1"; }

# ---------------------------------------------------------------------------
# The cluster, the database, the peers

bench_worker_database
cvx_psql -q -d "$DB" -f "$HERE/setup.sql" >/dev/null
cvx_psql -q -d "$DB" -f "$HERE/peers.sql" >/dev/null

# ---------------------------------------------------------------------------
# The rooms

ROOMS=$((MESSAGES / ROOM_MESSAGES))
cvx_step "messages: $ROOMS rooms of $ROOM_MESSAGES ($MESSAGES messages), room 'measured' sent through convexlite"
cvx_psql -q -d "$DB" -v rooms="$ROOMS" -v per_room="$ROOM_MESSAGES" <<'SQL'
SET client_min_messages = warning;
SET convexlite.notify = off;
SET bench.rooms = :rooms;
SET bench.per_room = :per_room;
-- round i: one message of the measured room (convex_messages_send), then
-- message i of every other room
DO $$
DECLARE
    rooms int := current_setting('bench.rooms')::int;
    per_room int := current_setting('bench.per_room')::int;
BEGIN
    FOR i IN 1 .. per_room LOOP
        PERFORM convex_messages_send(jsonb_build_object(
            'roomId', 'measured', 'content', 'message ' || i || ' of the measured room, about as long as a chat line',
            'userName', 'user ' || (i % 7), 'sessionId', 'session-' || (i % 13)));
        INSERT INTO convex.messages (_id, _creation_time, room_id, user_id, content, user_name, session_id)
        SELECT 'm' || md5(i || '/' || r), 1.7e12 + i * rooms + r, 'room-' || r, NULL,
               'message ' || i || ' of room ' || r || ', about as long as a chat line',
               'user ' || (r % 7), 'session-' || (r % 13)
          FROM generate_series(1, rooms - 1) r;
    END LOOP;
END $$;
INSERT INTO plain.messages SELECT * FROM convex.messages;
VACUUM ANALYZE convex.messages, plain.messages;
SQL

SROOMS=$((SESSIONS / ROOM_SESSIONS))
cvx_step "presence: $SROOMS rooms of $ROOM_SESSIONS sessions, half stale ($SESSIONS sessions), room 'measured' through convexlite"
cvx_psql -q -d "$DB" -v rooms="$SROOMS" -v per_room="$ROOM_SESSIONS" <<'SQL'
SET client_min_messages = warning;
SET convexlite.notify = off;
SET bench.rooms = :rooms;
SET bench.per_room = :per_room;
DO $$
DECLARE
    rooms int := current_setting('bench.rooms')::int;
    per_room int := current_setting('bench.per_room')::int;
    now double precision := floor(date_part('epoch', clock_timestamp()) * 1000);
BEGIN
    FOR i IN 1 .. per_room LOOP
        PERFORM convex_presence_update(jsonb_build_object(
            'roomId', 'measured', 'sessionId', 'session-' || i,
            'data', jsonb_build_object('cursor', jsonb_build_object('x', i, 'y', i * 2),
                                       'userName', 'user ' || i, 'color', '#33aa' || lpad(i::text, 2, '0'))));
        INSERT INTO convex.presence (_id, _creation_time, room_id, user_id, session_id, data, last_seen)
        SELECT 'p' || md5(i || '/' || r), 1.7e12 + i * rooms + r, 'room-' || r, NULL, 'session-' || i,
               jsonb_build_object('cursor', jsonb_build_object('x', i, 'y', r), 'userName', 'user ' || i,
                                  'color', '#33aa' || lpad(i::text, 2, '0')),
               CASE WHEN i % 2 = 0 THEN now + 3600000 ELSE now - 3600000 END
          FROM generate_series(1, rooms - 1) r;
    END LOOP;
    -- the measured room: even sessions fresh for the next hour, odd ones an hour stale
    UPDATE convex.presence SET last_seen = CASE WHEN split_part(session_id, '-', 2)::int % 2 = 0
                                                THEN now + 3600000 ELSE now - 3600000 END
     WHERE room_id = 'measured';
END $$;
INSERT INTO plain.presence SELECT * FROM convex.presence;
VACUUM ANALYZE convex.presence, plain.presence;
SQL
kv messages "$(q "SELECT count(*) FROM convex.messages")"
kv room_messages "$(q "SELECT count(*) FROM convex.messages WHERE room_id = 'measured'")"
kv sessions "$(q "SELECT count(*) FROM convex.presence")"
kv room_sessions "$(q "SELECT count(*) FROM convex.presence WHERE room_id = 'measured'")"
kv room_fresh "$(q "SELECT jsonb_array_length(convex_presence_list('{\"roomId\": \"measured\"}'))")"

# ---------------------------------------------------------------------------
# Same answers, one index scan

same_messages=$(q "SELECT convex_messages_list('{\"roomId\": \"measured\"}') = plain.messages_list('{\"roomId\": \"measured\"}')")
same_presence=$(q "SELECT convex_presence_list('{\"roomId\": \"measured\"}') = plain.presence_list('{\"roomId\": \"measured\"}')")
kv same_messages "$same_messages"
kv same_presence "$same_presence"
# scans_of TABLE INDEX CALLS FUNCTION: "index scans, sequential scans" of TABLE over CALLS calls
scans_of() {
	local table=$1 index=$2 calls=$3 fn=$4 before after
	local stat="SELECT (SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = '$index') || ' ' ||
	                   (SELECT seq_scan FROM pg_stat_user_tables WHERE relid = 'convex.$table'::regclass)"
	before=$(q "SELECT pg_stat_clear_snapshot(); $stat" | tail -n 1)
	q "SELECT count($fn('{\"roomId\": \"measured\"}')) FROM generate_series(1, $calls)" >/dev/null
	sleep 1
	after=$(q "SELECT pg_stat_clear_snapshot(); $stat" | tail -n 1)
	awk -v b="$before" -v a="$after" 'BEGIN { split(b, x, " "); split(a, y, " "); printf "%d %d", y[1] - x[1], y[2] - x[2] }'
}
read -r m_idx m_seq <<<"$(scans_of messages messages_by_room 100 convex_messages_list)"
read -r p_idx p_seq <<<"$(scans_of presence presence_by_room 100 convex_presence_list)"
kv messages_index_scans_per_100 "$m_idx"
kv messages_seq_scans_per_100 "$m_seq"
kv presence_index_scans_per_100 "$p_idx"
kv presence_seq_scans_per_100 "$p_seq"
cvx_info "same JSON as the peer: messages $same_messages, presence $same_presence"
cvx_info "100 calls: messages.list $m_idx index scans of by_room, $m_seq sequential; presence.list $p_idx and $p_seq"

# ---------------------------------------------------------------------------
# Over the wire

cat >"$workdir/messages.convexlite.sql" <<'SQL'
SELECT convex_messages_list('{"roomId": "measured"}');
SQL
# (pgbench reads ":name" as a variable: the paths' colons are written \072)
cat >"$workdir/messages.convex_query.sql" <<'SQL'
SELECT convex_query(E'messages\072list', '{"roomId": "measured"}');
SQL
cat >"$workdir/messages.floor.sql" <<'SQL'
SELECT _id, _creation_time, room_id, user_id, content, user_name, session_id
  FROM convex.messages WHERE room_id = 'measured' ORDER BY _creation_time;
SQL
cat >"$workdir/messages.sql_json.sql" <<'SQL'
SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
         '_id', _id, '_creationTime', _creation_time, 'roomId', room_id, 'userId', user_id,
         'content', content, 'userName', user_name, 'sessionId', session_id)) ORDER BY _creation_time), '[]')
  FROM convex.messages WHERE room_id = 'measured';
SQL
cat >"$workdir/messages.plpgsql.sql" <<'SQL'
SELECT plain.messages_list('{"roomId": "measured"}');
SQL
cat >"$workdir/presence.convexlite.sql" <<'SQL'
SELECT convex_presence_list('{"roomId": "measured"}');
SQL
cat >"$workdir/presence.convex_query.sql" <<'SQL'
SELECT convex_query(E'presence\072list', '{"roomId": "measured"}');
SQL
cat >"$workdir/presence.floor.sql" <<'SQL'
SELECT _id, _creation_time, room_id, user_id, session_id, data, last_seen
  FROM convex.presence
 WHERE room_id = 'measured' AND floor(date_part('epoch', clock_timestamp()) * 1000) - last_seen < 30000
 ORDER BY _creation_time;
SQL
cat >"$workdir/presence.sql_json.sql" <<'SQL'
SELECT coalesce(jsonb_agg(jsonb_build_object(
         '_id', _id, '_creationTime', _creation_time, 'roomId', room_id, 'data', data, 'lastSeen', last_seen)
         || jsonb_strip_nulls(jsonb_build_object('userId', user_id, 'sessionId', session_id)) ORDER BY _creation_time), '[]')
  FROM convex.presence
 WHERE room_id = 'measured' AND floor(date_part('epoch', clock_timestamp()) * 1000) - last_seen < 30000;
SQL
cat >"$workdir/presence.plpgsql.sql" <<'SQL'
SELECT plain.presence_list('{"roomId": "measured"}');
SQL

same_messages_sql=$(q "SELECT convex_messages_list('{\"roomId\": \"measured\"}') = ($(sed 's/;$//' "$workdir/messages.sql_json.sql"))")
same_presence_sql=$(q "SELECT convex_presence_list('{\"roomId\": \"measured\"}') = ($(sed 's/;$//' "$workdir/presence.sql_json.sql"))")
[ "$same_messages_sql" = t ] && [ "$same_presence_sql" = t ] ||
	cvx_die "the hand-written SQL does not build convexlite's JSON (messages $same_messages_sql, presence $same_presence_sql)"

VARIANTS=(convexlite convex_query floor sql_json plpgsql)
printf 'workload\tvariant\tround\ttps\tlatency_ms\n' >"$workdir/runs.tsv"
for w in messages presence; do
	cvx_step "Over the wire: $w.list, pgbench -M prepared, 1 client, ${SECS}s a run, $ROUNDS rounds"
	for ((r = 0; r < ROUNDS; r++)); do
		n=${#VARIANTS[@]}
		for ((k = 0; k < n; k++)); do
			v=${VARIANTS[$(((k + r) % n))]}
			log=$workdir/$w.$v.$r.log
			"$PGBENCH" -n -M prepared -c 1 -j 1 -T "$SECS" -f "$workdir/$w.$v.sql" "$DB" >"$log" 2>&1 ||
				cvx_die "pgbench $w $v failed: $(tail -n 3 "$log")"
			tps=$(awk '/^tps = / { print $3 }' "$log")
			lat=$(awk '/^latency average = / { print $4 }' "$log")
			printf '%s\t%s\t%s\t%s\t%s\n' "$w" "$v" "$r" "$tps" "$lat" >>"$workdir/runs.tsv"
			printf '    %-9s %-13s round %s  %9.1f tps  %7.3f ms\n' "$w" "$v" "$r" "$tps" "$lat"
		done
	done
done

# ---------------------------------------------------------------------------
# In one statement: BATCH calls, the server's time per call without the wire
# (no output conversion: the floor only reads its rows)

BATCH=${BENCH_READ_BATCH:-1000}
N=$BATCH
batch_statement() { # WORKLOAD VARIANT
	local room='{"roomId": "measured"}'
	case $1:$2 in
	messages:convexlite) echo "SELECT count(convex_messages_list('$room')) FROM generate_series(1, $N)" ;;
	messages:convex_query) echo "SELECT count(convex_query('messages:list', '$room')) FROM generate_series(1, $N)" ;;
	messages:plpgsql) echo "SELECT count(plain.messages_list('$room')) FROM generate_series(1, $N)" ;;
	messages:sql_json) echo "SELECT count(x) FROM generate_series(1, $N) g, LATERAL ($(sed "s/WHERE /WHERE g > 0 AND /; s/;\$//" "$workdir/messages.sql_json.sql")) s(x)" ;;
	messages:floor) echo "SELECT count(*) FROM generate_series(1, $N) g, LATERAL (SELECT _id, _creation_time, room_id, user_id,
		content, user_name, session_id FROM convex.messages WHERE room_id = 'measured' AND g > 0 ORDER BY _creation_time) x" ;;
	presence:convexlite) echo "SELECT count(convex_presence_list('$room')) FROM generate_series(1, $N)" ;;
	presence:convex_query) echo "SELECT count(convex_query('presence:list', '$room')) FROM generate_series(1, $N)" ;;
	presence:plpgsql) echo "SELECT count(plain.presence_list('$room')) FROM generate_series(1, $N)" ;;
	presence:sql_json) echo "SELECT count(x) FROM generate_series(1, $N) g, LATERAL ($(sed "s/WHERE /WHERE g > 0 AND /; s/;\$//" "$workdir/presence.sql_json.sql")) s(x)" ;;
	presence:floor) echo "SELECT count(*) FROM generate_series(1, $N) g, LATERAL (SELECT _id, _creation_time, room_id, user_id,
		session_id, data, last_seen FROM convex.presence WHERE room_id = 'measured' AND g > 0
		AND floor(date_part('epoch', clock_timestamp()) * 1000) - last_seen < 30000 ORDER BY _creation_time) x" ;;
	esac
}
printf 'workload\tvariant\tms\n' >"$workdir/batch.tsv"
for w in messages presence; do
	cvx_step "In one statement: $w.list, $BATCH calls, median of 3"
	for v in "${VARIANTS[@]}"; do
		ms=$(PGOPTIONS='-c convexlite.mutation_timeout=0' median_ms "$(batch_statement "$w" "$v");")
		printf '%s\t%s\t%s\n' "$w" "$v" "$ms" >>"$workdir/batch.tsv"
		printf '    %-9s %-13s %9.1f ms  %8.2f us/call\n' "$w" "$v" "$ms" "$(per_call "$ms")"
		kv "${w}_${v}_batch_us" "$(per_call "$ms")"
	done
	# the same calls with their results turned into text, as a client receives them
	ms=$(PGOPTIONS='-c convexlite.mutation_timeout=0' median_ms "SELECT count(convex_${w}_list('{\"roomId\": \"measured\"}')::text) FROM generate_series(1, $N);")
	base=$(awk -F'\t' -v w="$w" '$1 == w && $2 == "convexlite" { print $3 }' "$workdir/batch.tsv")
	out_us=$(awk -v a="$ms" -v b="$base" -v n="$N" 'BEGIN { printf "%.2f", (a - b) * 1000 / n }')
	bytes=$(q "SELECT length(convex_${w}_list('{\"roomId\": \"measured\"}')::text)")
	kv "${w}_jsonb_out_us" "$out_us"
	kv "${w}_json_bytes" "$bytes"
	printf '    %-9s jsonb_out of the %s bytes of JSON: %8.2f us/call\n' "$w" "$bytes" "$out_us"
done

# median tps of a workload's variant, and the time per call it means
median_tps() { awk -F'\t' -v w="$1" -v v="$2" '$1 == w && $2 == v { print $4 }' "$workdir/runs.tsv" | sort -g |
	awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
us_per_call() { awk -v t="$1" 'BEGIN { printf "%.1f", 1e6 / t }'; }

{
	printf 'PostgreSQL %s, %s core(s); one client, pgbench -M prepared, %s s a run, median of %s rounds (variant order rotating).\n\n' \
		"$(q "SHOW server_version")" "$(nproc)" "$SECS" "$ROUNDS"
	printf -- '- messages: %s in all, %s in the measured room, sent through convexlite, spread through the table\n' \
		"$(sed -n 's/^messages //p' "$txt")" "$(sed -n 's/^room_messages //p' "$txt")"
	printf -- '- presence: %s sessions in all, %s in the measured room (%s of them fresh), half of every room stale\n' \
		"$(sed -n 's/^sessions //p' "$txt")" "$(sed -n 's/^room_sessions //p' "$txt")" "$(sed -n 's/^room_fresh //p' "$txt")"
	printf -- '- convexlite returns the same JSON as the PL/pgSQL peer: messages %s, presence %s\n' "$same_messages" "$same_presence"
	printf -- '- 100 calls of convex_messages_list: %s index scans of messages_by_room, %s sequential scans; of convex_presence_list: %s index scans of presence_by_room, %s sequential scans\n\n' \
		"$m_idx" "$m_seq" "$p_idx" "$p_seq"
	printf '| query | variant | tps | us/call | x floor | peer / this |\n|---|---|---:|---:|---:|---:|\n'
} >"$md"
for w in messages presence; do
	floor_tps=$(median_tps "$w" floor)
	peer_tps=$(median_tps "$w" plpgsql)
	for v in "${VARIANTS[@]}"; do
		tps=$(median_tps "$w" "$v")
		printf '| %s.list | %s | %.0f | %s | %s | %s |\n' "$w" "$v" "$tps" "$(us_per_call "$tps")" \
			"$(ratio "$floor_tps" "$tps")" "$(ratio "$tps" "$peer_tps")" >>"$md"
		kv "${w}_${v}_tps" "$tps"
		kv "${w}_${v}_us" "$(us_per_call "$tps")"
	done
	cvx_tps=$(median_tps "$w" convexlite)
	x_floor=$(ratio "$floor_tps" "$cvx_tps")
	x_peer=$(ratio "$cvx_tps" "$peer_tps")
	x_sql_json=$(ratio "$(median_tps "$w" sql_json)" "$cvx_tps")
	kv "${w}_x_sql_json" "$x_sql_json"
	kv "${w}_x_floor" "$x_floor"
	kv "${w}_faster_than_peer" "$x_peer"
	verdict=$(awk -v f="$x_floor" -v p="$x_peer" 'BEGIN { print (f <= 1.3 && p >= 1.5) ? "met" : "NOT met" }')
	kv "${w}_targets" "$verdict"
	printf -- '- %s.list: convexlite takes %sx the floor'"'"'s time per call (target <= 1.3) and is %sx faster than the PL/pgSQL peer (target >= 1.5): targets %s. It takes %sx the time of the hand-written SQL that builds the same JSON; turning its %s bytes of JSON into text (jsonb_out, paid by every variant but the floor) takes %s us of the call.\n' \
		"$w" "$x_floor" "$x_peer" "$verdict" "$x_sql_json" "$(sed -n "s/^${w}_json_bytes //p" "$txt")" "$(sed -n "s/^${w}_jsonb_out_us //p" "$txt")" >>"$workdir/verdicts.md"
done
printf '\n' >>"$md"
cat "$workdir/verdicts.md" >>"$md"
{
	printf '\nIn one statement (%s calls, median of 3; the server'"'"'s time per call, no output conversion; the floor reads its rows and builds no JSON):\n\n' "$BATCH"
	printf '| query | variant | us/call | peer / this |\n|---|---|---:|---:|\n'
	for w in messages presence; do
		peer_ms=$(awk -F'\t' -v w="$w" '$1 == w && $2 == "plpgsql" { print $3 }' "$workdir/batch.tsv")
		for v in "${VARIANTS[@]}"; do
			ms=$(awk -F'\t' -v w="$w" -v v="$v" '$1 == w && $2 == v { print $3 }' "$workdir/batch.tsv")
			printf '| %s.list | %s | %s | %s |\n' "$w" "$v" "$(per_call "$ms")" "$(ratio "$peer_ms" "$ms")"
		done
	done
} >>"$md"
kv duration_s "$(($(date +%s) - T_START))"

cp "$md" "$OUT_DIR/reads.md"
cp "$txt" "$OUT_DIR/reads.txt"
cp "$workdir/runs.tsv" "$OUT_DIR/reads.tsv"
cvx_step "Reads"
cat "$md"
