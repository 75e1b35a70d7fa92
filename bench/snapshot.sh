#!/usr/bin/env bash
# bench/snapshot.sh: convex_import throughput against COPY of the same rows into the
# same tables (issue 20; target: at least 0.5 x COPY).
#
#   convexlite  BEGIN; SELECT convex_import(oid); ROLLBACK   (the snapshot ZIP is a large
#               object already: libzip inflates it, every line is parsed, turned from
#               export JSON into wire JSON, checked against the table's validator and
#               inserted with its _id and _creationTime; files copied and hashed)
#   floor       BEGIN; COPY convex.<t> FROM STDIN for every table (_storage rows
#               included, without the blobs); ROLLBACK
#               The COPY input is what the import produced (COPY TO of each table after
#               one import), so both load exactly the same rows and indexes.
# Both timed by the client, one psql session each, run after run in ABBA order; each
# figure is the median of the runs (min-max).  The backend's own CPU time (user +
# system, from /proc/self/stat read by the backend before and after) is measured
# too: on a shared machine it moves far less with the load than the clock does, so
# its ratio is the steadier figure of the two.  documents/s counts every document of
# the snapshot; MiB/s is the uncompressed size of its documents.jsonl entries (2^20
# bytes) per second, the same figure for both.  The snapshot is written by
# test/scripts/lib/convex_snapshot.py (the table with every value type, the seed
# app's tables).
#
# Usage: bash bench/snapshot.sh [runs] [documents]   (default 3 runs of 100000
# documents: a few minutes).  Runnable alone (BENCH_ONLY=snapshot make bench runs it
# in the suite).  Environment: CVX_BENCH_CLUSTER (default bench), CVX_BENCH_PORT,
# CVX_BENCH_DB (default convexlite_snapshot: recreated, dropped at the end), BENCH_OUT
# (where the fragment snapshot.md goes; default bench/out).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=${1:-3}
DOCS=${2:-100000}
case $RUNS in '' | *[!0-9]* | 0) cvx_die "runs must be a positive number, not '$RUNS'" ;; esac
case $DOCS in '' | *[!0-9]* | 0) cvx_die "documents must be a positive number, not '$DOCS'" ;; esac
CLUSTER=${CVX_BENCH_CLUSTER:-bench}
PORT=${CVX_BENCH_PORT:-$(cvx_cluster_port "$CLUSTER" || true)}
[ -n "$PORT" ] || PORT=$(cvx_default_port "$CLUSTER") ||
	cvx_die "cluster '$CLUSTER' has no known port: set CVX_BENCH_PORT"
DB=${CVX_BENCH_DB:-convexlite_snapshot}
MIB=1048576

cvx_cluster_start "$CLUSTER" "$PORT" "$(cvx_default_cron_db "$CLUSTER")"

workdir=$(mktemp -d)
chmod 755 "$workdir"
trap 'rm -rf "$workdir"' EXIT
cvx_step "A Convex snapshot of $DOCS documents in $workdir"
python3 "$CVX_ROOT/test/scripts/lib/convex_snapshot.py" "$workdir/snap.zip" "$workdir/schema.json" \
	--docs "$DOCS" --file-mb 0.25
read -r NDOCS JSONL_BYTES < <(python3 - "$workdir/snap.zip" <<'EOF'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
docs = size = 0
for i in z.infolist():
    if i.filename.endswith("/documents.jsonl") and not i.filename.startswith("_"):
        size += i.file_size
        docs += z.read(i.filename).count(b"\n")
print(docs, size)
EOF
)
cvx_info "$NDOCS documents, $(awk -v b="$JSONL_BYTES" -v m=$MIB 'BEGIN { printf "%.1f", b / m }') MiB of documents.jsonl, ZIP $(stat -c %s "$workdir/snap.zip") bytes"

cvx_psql -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
cvx_psql -q -d "$DB" -c "SET client_min_messages = warning" -c "CREATE EXTENSION convexlite" \
	-c "SELECT convex_define_schema(\$s\$$(cat "$workdir/schema.json")\$s\$::jsonb)" >/dev/null
SNAP=$(printf '\\lo_import %s\nSELECT :LASTOID;\n' "$workdir/snap.zip" | cvx_psql -q -At -d "$DB")
# one import kept, to dump the rows COPY loads, then the tables emptied again
TABLES=$(cvx_psql -q -At -d "$DB" -c "SELECT convex_import($SNAP) IS NOT NULL" \
	-c "SELECT string_agg(name, ' ' ORDER BY number) FROM convex._tables WHERE number > 10000 OR name = '_storage'" | tail -n 1)
copy_script="$workdir/copy.sql"
echo "SELECT pg_read_file('/proc/self/stat');" >"$copy_script"
echo "BEGIN;" >>"$copy_script"
for t in $TABLES; do
	cvx_psql -q -d "$DB" -c "\\copy convex.$t TO '$workdir/$t.copy'"
	printf "\\\\copy convex.%s FROM '%s'\n" "$t" "$workdir/$t.copy" >>"$copy_script"
done
echo "ROLLBACK;" >>"$copy_script"
echo "SELECT pg_read_file('/proc/self/stat');" >>"$copy_script"
cvx_psql -q -d "$DB" -c "SELECT lo_unlink(blob) FROM convex._storage" >/dev/null
for t in $TABLES; do cvx_psql -q -d "$DB" -c "DELETE FROM convex.$t"; done
cvx_psql -q -d "$DB" -c "VACUUM ANALYZE" -c "CHECKPOINT"
printf "SELECT pg_read_file('/proc/self/stat');\nBEGIN;\nSELECT convex_import(%s) IS NOT NULL;\nROLLBACK;\nSELECT pg_read_file('/proc/self/stat');\n" \
	"$SNAP" >"$workdir/import.sql"

# timed SCRIPT: one psql session running SCRIPT; prints "wall_ms cpu_ms": the client's
# clock, and the backend's user + system CPU time between the script's first and last
# reads of /proc/self/stat (fields 14 and 15, in clock ticks)
timed() {
	local t0 t1
	t0=$(date +%s%N)
	cvx_psql -q -At -d "$DB" -v ON_ERROR_STOP=1 -f "$1" >"$workdir/timed.out"
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" '
		/^[0-9]+ \(/ { sub(/^.*\) /, ""); split($0, f, " "); cpu[++n] = f[12] + f[13] }
		END { printf "%.3f %.0f\n", (b - a) / 1e6, (cpu[n] - cpu[1]) * 1000 / hz }' "$workdir/timed.out"
}
IMPORT_MS=()
COPY_MS=()
IMPORT_CPU=()
COPY_CPU=()
for ((r = 1; r <= RUNS; r++)); do
	for which in $( ((r % 2)) && echo "import copy" || echo "copy import"); do
		if [ "$which" = import ]; then
			read -r ms cpu < <(timed "$workdir/import.sql")
			IMPORT_MS+=("$ms")
			IMPORT_CPU+=("$cpu")
		else
			read -r ms cpu < <(timed "$copy_script")
			COPY_MS+=("$ms")
			COPY_CPU+=("$cpu")
		fi
	done
	cvx_info "run $r: convex_import ${IMPORT_MS[-1]} ms (backend CPU ${IMPORT_CPU[-1]} ms), COPY ${COPY_MS[-1]} ms (backend CPU ${COPY_CPU[-1]} ms)"
done
# med LIST: median (min-max) of a list of ms
stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%s %s %s", m, v[1], v[NR] }'; }
read -r imp_med imp_min imp_max <<<"$(stats "${IMPORT_MS[@]}")"
read -r copy_med copy_min copy_max <<<"$(stats "${COPY_MS[@]}")"
read -r imp_cpu _ _ <<<"$(stats "${IMPORT_CPU[@]}")"
read -r copy_cpu _ _ <<<"$(stats "${COPY_CPU[@]}")"
CPU_RATIO=$(awk -v a="$imp_cpu" -v b="$copy_cpu" 'BEGIN { printf "%.2f", b / a }')
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", n * 1000 / ms }'; }
mibs() { awk -v b="$JSONL_BYTES" -v ms="$1" -v m=$MIB 'BEGIN { printf "%.1f", b / m * 1000 / ms }'; }
RATIO=$(awk -v a="$imp_med" -v b="$copy_med" 'BEGIN { printf "%.2f", b / a }')
ROW_IMPORT="convex_import|$(rate "$NDOCS" "$imp_med") ($(rate "$NDOCS" "$imp_max")–$(rate "$NDOCS" "$imp_min"))|$(mibs "$imp_med")|$imp_med|$imp_cpu"
ROW_COPY="COPY (same rows)|$(rate "$NDOCS" "$copy_med") ($(rate "$NDOCS" "$copy_max")–$(rate "$NDOCS" "$copy_min"))|$(mibs "$copy_med")|$copy_med|$copy_cpu"
cvx_step "Snapshot import: $NDOCS documents, $RUNS runs (median)"
printf '  %-18s %-26s %10s %12s %16s\n' "" "documents/s" "MiB/s" "ms" "backend CPU ms"
for row in "$ROW_IMPORT" "$ROW_COPY"; do
	IFS='|' read -r -a c <<<"$row"
	printf '  %-18s %-26s %10s %12s %16s\n' "${c[@]}"
done
cvx_info "convex_import / COPY throughput: $RATIO by the clock, $CPU_RATIO by the backend's CPU time (target >= 0.50)"

fragment_dir=${BENCH_OUT:-$CVX_ROOT/bench/out}
mkdir -p "$fragment_dir"
{
	printf 'Snapshot import of %s documents (%s MiB of documents.jsonl), median (range) of %s runs, one client; ' \
		"$NDOCS" "$(awk -v b="$JSONL_BYTES" -v m=$MIB 'BEGIN { printf "%.1f", b / m }')" "$RUNS"
	printf 'ratio = convex_import / COPY of the same rows into the same tables (target ≥ 0.50): **%s** by the clock, **%s** by the backend'"'"'s CPU time (median ms of each).\n\n' "$RATIO" "$CPU_RATIO"
	printf '| Load | documents/s | MiB/s | ms | backend CPU ms |\n|---|---|---|---|---|\n'
	for row in "$ROW_IMPORT" "$ROW_COPY"; do
		IFS='|' read -r -a c <<<"$row"
		printf '| %s | %s | %s | %s | %s |\n' "${c[@]}"
	done
} >"$fragment_dir/snapshot.md"

cvx_psql -q -d postgres -c "DROP DATABASE $DB"
