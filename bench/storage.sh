#!/usr/bin/env bash
# bench/storage.sh: upload throughput of convexlite's storage against PostgreSQL's
# own large-object paths, side by side in one run.
#
#   bytea   4 KiB x 2000 and 1 MiB x 200, each batch one statement (psql's \timing):
#             convexlite  convex_storage_upload(convex_files_generate_upload_url(), data)
#                         (getting the single-use URL is part of a real upload, so it is
#                         inside convexlite's number; it is also timed alone)
#             floor       lo_from_bytea(0, data)
#           The data is read from tables filled beforehand (slices of a random file,
#           stored uncompressed), so generating it is not timed; both sides read it alike.
#   oid     1 MiB x 200 and 256 MiB x 1, each batch one psql session, timed end to end
#           by the client (connecting included):
#             convexlite  SELECT convex_files_generate_upload_url() \gset, then
#                         BEGIN; \lo_import FILE; SELECT convex_storage_upload_large_object(url, :LASTOID); COMMIT
#             floor       BEGIN; \lo_import FILE; COMMIT
#           convexlite copies the large object into a blob of its own in 256 KiB
#           chunks, hashing it (SHA-256) on the way, and unlinks the original: one
#           more read and write of the data than the floor.
#
# Uploads run as a plain login role, as an application's would.  Between runs, as
# superuser: convex_storage_cleanup(0), called until it reclaims fewer than its batch of
# 1000, reclaims convexlite's blobs (the count it returns
# is checked), the floor's large objects are unlinked, the upload URLs made since the
# setup are forgotten, the large-object catalogs are vacuumed and a CHECKPOINT is
# taken, so every run starts from the same state: no blobs, and 2000 upload URLs
# handed out and not yet used (see the setup for why).  convexlite and the floor
# alternate (ABBA order); each figure is the median of the runs, with min-max.
# MiB/s is 2^20 bytes a second.  synchronous_commit is the cluster's (printed).
#
# Usage: bash bench/storage.sh [runs]   (default 5 for every size: about 3 minutes)
# Environment: CVX_BENCH_CLUSTER (default bench), CVX_BENCH_PORT (default: the
# cluster's configured port, else its well-known one: 54333 for bench), CVX_BENCH_DB
# (default convexlite_storage: recreated, and dropped at the end), BENCH_OUT (where
# the markdown fragment storage.md goes, for bench/report.sh; default bench/out).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=${1:-5}
case $RUNS in '' | *[!0-9]* | 0) cvx_die "runs must be a positive number, not '$RUNS'" ;; esac
CLUSTER=${CVX_BENCH_CLUSTER:-bench}
PORT=${CVX_BENCH_PORT:-$(cvx_cluster_port "$CLUSTER" || true)}
[ -n "$PORT" ] || PORT=$(cvx_default_port "$CLUSTER") ||
	cvx_die "cluster '$CLUSTER' has no known port: set CVX_BENCH_PORT"
DB=${CVX_BENCH_DB:-convexlite_storage}
UPLOADER=convexlite_storage_bench
OUTSTANDING=2000
MIB=1048576
N=0 # per_call's batch size, set before each use

cvx_cluster_start "$CLUSTER" "$PORT" "$(cvx_default_cron_db "$CLUSTER")"

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
cvx_step "Generating a 256 MiB file of random bytes in $workdir"
head -c $((256 * MIB)) /dev/urandom >"$workdir/256m"
head -c "$MIB" "$workdir/256m" >"$workdir/1m"

cvx_step "Database $DB: the bytea uploads' data, role $UPLOADER"
cvx_psql -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" \
	-c "DROP ROLE IF EXISTS $UPLOADER" -c "CREATE ROLE $UPLOADER LOGIN" -c "CREATE DATABASE $DB"
cvx_psql -q -d "$DB" -v file="$workdir/256m" -v uploader="$UPLOADER" -v outstanding="$OUTSTANDING" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
CREATE SCHEMA bench;
-- slices of the random file; EXTERNAL: stored out of line, never compressed
CREATE TABLE bench.data_4k (i int, data bytea);
CREATE TABLE bench.data_1m (i int, data bytea);
ALTER TABLE bench.data_4k ALTER data SET STORAGE EXTERNAL;
ALTER TABLE bench.data_1m ALTER data SET STORAGE EXTERNAL;
\lo_import :file
\set source :LASTOID
INSERT INTO bench.data_4k SELECT i, lo_get(:source, (i - 1) * 4096, 4096) FROM generate_series(1, 2000) AS i;
INSERT INTO bench.data_1m SELECT i, lo_get(:source, (i - 1) * 1048576, 1048576) FROM generate_series(1, 200) AS i;
SELECT lo_unlink(:source) \g /dev/null
-- Upload URLs handed out and not yet used, as a live deployment has.  (With an empty,
-- vacuumed convex._upload_tokens, the token lookup of convex_storage_upload is planned
-- as a sequential scan, so in a batch each upload costs more than the one before.)
SELECT count(convex_files_generate_upload_url()) FROM generate_series(1, :outstanding) \g /dev/null
CREATE TABLE bench.outstanding AS SELECT max(expires_at) AS until FROM convex._upload_tokens;
GRANT USAGE ON SCHEMA bench TO :"uploader";
GRANT SELECT ON ALL TABLES IN SCHEMA bench TO :"uploader";
VACUUM ANALYZE;
SQL

# oid_script FILE COUNT convexlite|floor: COUNT uploads of FILE, as a psql script
oid_script() {
	local file=$1 count=$2 side=$3 i
	for ((i = 0; i < count; i++)); do
		if [ "$side" = convexlite ]; then
			printf 'SELECT convex_files_generate_upload_url() AS url \\gset\n'
			printf "BEGIN;\n\\\\lo_import '%s'\nSELECT convex_storage_upload_large_object(:'url', :LASTOID);\nCOMMIT;\n" "$file"
		else
			printf "BEGIN;\n\\\\lo_import '%s'\nCOMMIT;\n" "$file"
		fi
	done
}
for side in convexlite floor; do
	oid_script "$workdir/1m" 200 "$side" >"$workdir/oid_1m_$side.sql"
	oid_script "$workdir/256m" 1 "$side" >"$workdir/oid_256m_$side.sql"
done

# server_ms STATEMENT: milliseconds of one run as the uploader (psql's \timing, as median_ms)
server_ms() {
	printf '\\timing on\n%s\n' "$1" | PGUSER=$UPLOADER cvx_psql -q -d "$DB" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}
# client_ms SCRIPT: milliseconds of one psql session running SCRIPT as the uploader,
# by the client's clock
client_ms() {
	local t0 t1
	t0=$(date +%s%N)
	PGUSER=$UPLOADER cvx_psql -q -d "$DB" -f "$1" >/dev/null
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'
}
# reset CONVEXLITE FLOOR: as superuser, reclaim every blob, checking that CONVEXLITE were
# convexlite's and FLOOR the floor's, and go back to the state after the setup
reset() {
	local got
	got=$(cvx_psql -qtA -d "$DB" <<SQL
-- cleanup reclaims at most 1000 blobs a call: call it until it reclaims fewer
CREATE TEMP TABLE reclaimed (n int);
DO \$\$
DECLARE
    n int;
BEGIN
    LOOP
        n := convex_storage_cleanup(0);
        INSERT INTO reclaimed VALUES (n);
        EXIT WHEN n < 1000;
    END LOOP;
END
\$\$;
SELECT (SELECT sum(n) FROM reclaimed) || ' ' ||
       (SELECT count(lo_unlink(oid)) FROM pg_largeobject_metadata WHERE lomowner = '$UPLOADER'::regrole);
DELETE FROM convex._upload_tokens WHERE used OR expires_at > (SELECT until FROM bench.outstanding);
VACUUM pg_largeobject, pg_largeobject_metadata, convex._storage, convex._upload_tokens;
SELECT 'left: ' || (SELECT count(*) FROM pg_largeobject_metadata) || ' ' ||
       (SELECT count(*) FROM convex._storage) || ' ' || (SELECT count(*) FROM convex._upload_tokens);
CHECKPOINT;
SQL
	)
	[ "$got" = "$1 $2"$'\n'"left: 0 0 $OUTSTANDING" ] ||
		cvx_die "expected $1 blobs of convexlite's and $2 of the floor's, then none and $OUTSTANDING upload URLs; got: $got"
}
# mibps BYTES MS: MiB per second
mibps() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.1f", b / 1048576 / (ms / 1000) }'; }
# stats VALUES...: median min max (the median of an even count is the mean of the middle two)
stats() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR] }'
}
# check_256m: the blob just uploaded has the 256 MiB file's size and SHA-256
check_256m() {
	local size hex
	size=$(stat -c %s "$workdir/256m")
	hex=$(sha256sum "$workdir/256m" | cut -d' ' -f1)
	[ "$(cvx_psql -qtA -d "$DB" -c "SELECT size = $size AND sha256 = encode(decode('$hex', 'hex'), 'base64') FROM convex._storage")" = t ] ||
		cvx_die "the 256 MiB blob's size or SHA-256 is not the file's"
}

ROWS=()
# measure LABEL KIND COUNT BYTES-EACH CONVEXLITE FLOOR: RUNS runs of each side, ABBA.
# KIND sql: CONVEXLITE and FLOOR are statements; KIND psql: psql scripts.
measure() {
	local label=$1 kind=$2 count=$3 each=$4 cvx=$5 floor=$6
	local bytes=$((count * each)) run side order ms cvx_ms=() floor_ms=() ratios=()
	local cm cmin cmax fm fmin fmax rmin rmax per=-
	cvx_step "$label: $count uploads per run, $RUNS runs"
	reset 0 0
	for ((run = 1; run <= RUNS; run++)); do
		order="convexlite floor"
		((run % 2 == 0)) && order="floor convexlite"
		for side in $order; do
			if [ "$side" = convexlite ]; then
				if [ "$kind" = sql ]; then ms=$(server_ms "$cvx"); else ms=$(client_ms "$cvx"); fi
				[ -n "$ms" ] || cvx_die "$label: no timing for convexlite"
				if [ "$each" -eq $((256 * MIB)) ] && [ "$run" = 1 ]; then check_256m; fi
				reset "$count" 0
				cvx_ms+=("$ms")
			else
				if [ "$kind" = sql ]; then ms=$(server_ms "$floor"); else ms=$(client_ms "$floor"); fi
				[ -n "$ms" ] || cvx_die "$label: no timing for the floor"
				reset 0 "$count"
				floor_ms+=("$ms")
			fi
		done
		ratios+=("$(ratio "${floor_ms[-1]}" "${cvx_ms[-1]}")")
		cvx_info "run $run: convexlite $(printf '%.0f' "${cvx_ms[-1]}") ms ($(mibps "$bytes" "${cvx_ms[-1]}") MiB/s)," \
			"floor $(printf '%.0f' "${floor_ms[-1]}") ms ($(mibps "$bytes" "${floor_ms[-1]}") MiB/s), ratio ${ratios[-1]}"
	done
	read -r cm cmin cmax <<<"$(stats "${cvx_ms[@]}")"
	read -r fm fmin fmax <<<"$(stats "${floor_ms[@]}")"
	read -r _ rmin rmax <<<"$(stats "${ratios[@]}")"
	if [ "$each" -lt "$MIB" ]; then
		N=$count
		per="$(per_call "$cm") / $(per_call "$fm")"
	fi
	ROWS+=("$label|$(mibps "$bytes" "$cm") ($(mibps "$bytes" "$cmax")-$(mibps "$bytes" "$cmin"))|$(mibps "$bytes" "$fm") ($(mibps "$bytes" "$fmax")-$(mibps "$bytes" "$fmin"))|$(ratio "$fm" "$cm")|$rmin-$rmax|$per")
}

cvx_step "Settings"
cvx_psql -qtA -d "$DB" -c "SELECT 'PostgreSQL ' || current_setting('server_version') ||
	', synchronous_commit = ' || current_setting('synchronous_commit') || ', fsync = ' || current_setting('fsync') ||
	', shared_buffers = ' || current_setting('shared_buffers') || ', max_wal_size = ' || current_setting('max_wal_size') ||
	'; database ' || pg_size_pretty(pg_database_size(current_database())) || ' before the runs'" | sed 's/^/    /'

measure "4 KiB bytea" sql 2000 4096 \
	"SELECT count(convex_storage_upload(convex_files_generate_upload_url(), data)) FROM bench.data_4k;" \
	"SELECT count(lo_from_bytea(0, data)) FROM bench.data_4k;"

cvx_step "Getting an upload URL alone: 2000 in one statement, $RUNS runs"
url_ms=()
for ((run = 1; run <= RUNS; run++)); do
	url_ms+=("$(server_ms "SELECT count(convex_files_generate_upload_url()) FROM generate_series(1, 2000);")")
	reset 0 0
done
read -r url_median url_min url_max <<<"$(stats "${url_ms[@]}")"
N=2000
url_us="$(per_call "$url_median") us ($(per_call "$url_min")-$(per_call "$url_max"))"
cvx_info "convex_files_generate_upload_url(): $url_us per URL"

measure "1 MiB bytea" sql 200 "$MIB" \
	"SELECT count(convex_storage_upload(convex_files_generate_upload_url(), data)) FROM bench.data_1m;" \
	"SELECT count(lo_from_bytea(0, data)) FROM bench.data_1m;"
measure "1 MiB oid" psql 200 "$MIB" "$workdir/oid_1m_convexlite.sql" "$workdir/oid_1m_floor.sql"
measure "256 MiB oid" psql 1 $((256 * MIB)) "$workdir/oid_256m_convexlite.sql" "$workdir/oid_256m_floor.sql"

size_after=$(cvx_psql -qtA -d "$DB" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
cvx_step "Upload throughput in MiB/s, median (min-max) of $RUNS runs; ratio = convexlite / PostgreSQL (target >= 0.80)"
format='%-12s %-22s %-22s %-6s %-11s %s\n'
# shellcheck disable=SC2059
printf "$format" size/path convexlite PostgreSQL ratio "run ratios" "us/upload, convexlite / PostgreSQL"
for row in "${ROWS[@]}"; do
	IFS='|' read -r -a cells <<<"$row"
	# shellcheck disable=SC2059
	printf "$format" "${cells[@]}"
done
cvx_info "PostgreSQL: lo_from_bytea(0, data) for bytea, client-side \\lo_import alone for oid."
cvx_info "convexlite's figures include getting the upload URL: $url_us of each upload."
cvx_info "'run ratios': the lowest and highest ratio of a run's pair.  Database size after the runs: $size_after"

# The same table as a markdown fragment for bench/RESULTS.md (bench/report.sh)
fragment_dir=${BENCH_OUT:-$CVX_ROOT/bench/out}
mkdir -p "$fragment_dir"
{
	printf 'Upload throughput in MiB/s, median (min–max) of %s runs, one client, synchronous_commit as the cluster has it; ' "$RUNS"
	printf 'ratio = convexlite / PostgreSQL (target ≥ 0.80); run ratios: the lowest and highest ratio of a run'"'"'s pair.\n\n'
	printf '| Upload | convexlite | PostgreSQL | ratio | run ratios | µs/upload, convexlite / PostgreSQL |\n|---|---|---|---|---|---|\n'
	for row in "${ROWS[@]}"; do
		IFS='|' read -r -a cells <<<"$row"
		printf '| %s | %s | %s | %s | %s | %s |\n' "${cells[@]}"
	done
	# shellcheck disable=SC2016  # markdown code spans
	printf '\nPostgreSQL: `lo_from_bytea(0, data)` for bytea, a client-side `\\lo_import` alone for oid. '
	printf 'convexlite'"'"'s figures include getting the upload URL: %s of each upload. ' "$url_us"
	printf 'Database size after the runs: %s.\n' "$size_after"
} >"$fragment_dir/storage.md"

cvx_psql -q -d postgres -c "DROP DATABASE $DB" -c "DROP ROLE $UPLOADER"
