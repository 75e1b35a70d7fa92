#!/usr/bin/env bash
# test/scripts/storage_stream.sh: a 256 MiB file streams through the oid upload
# with the backend's memory bounded, and reads back intact in ranges, whether
# the large object was imported by an earlier transaction or the uploading one.
#
# What it proves (src/storage.c, convex_storage_upload_large_object(url, oid)):
#   - copy: a client imports a 256 MiB file with psql's \lo_import (streamed,
#     as an ordinary role, in autocommit) and uploads the large object by oid in
#     a later transaction: the backend copies it into a new large object a
#     chunk at a time, hashing on the way, so its private memory (RssAnon in
#     /proc/<pid>/status, which leaves out shared buffers) grows by less than
#     STREAM_MAX_GROWTH_KB (default 65536, 64 MiB) over the baseline taken just
#     before the call, sampled every ~20 ms while the upload runs (control: the
#     same probe sees convex_storage_get of the whole blob grow it by >= 128 MiB);
#   - the blob is a new large object, not the client's oid: owned by the owner
#     of schema convex with no other privilege (the client cannot read it,
#     42501), and the client's original is gone (unlinked: 42704);
#   - same transaction: BEGIN; \lo_import; convex_storage_upload_large_object(url,
#     :LASTOID); COMMIT in one transaction: copied just the same (a new blob,
#     the import unlinked), RssAnon growing by less than the same bound;
#   - each time the stored size is 268435456 and the stored sha256 (standard
#     base64) is the file's, as is getMetadata's;
#   - convex_storage_get(id, offset, length) in 8 MiB ranges gives the file's
#     bytes (SHA-256 of each range against the file's, computed with dd and
#     sha256sum), for both blobs; a range running past the end is cut there,
#     and one starting at the end is empty.
# Prints each upload's time and throughput (and the COMMIT's re-hash) and the
# peak memory growth.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser) from the environment; creates and
# drops database convexlite_storage_stream and role regress_convexlite_streamer;
# the 256 MiB file (imported twice) lives in the scratch directory and is
# deleted at the end and at exit.  One
# PASS/FAIL line per check; exit 1 on any failure.
set -uo pipefail

DB=convexlite_storage_stream
ROLE=regress_convexlite_streamer
SIZE=268435456         # 256 MiB
RANGE=8388608          # 8 MiB
MAX_GROWTH_KB=${STREAM_MAX_GROWTH_KB:-65536}

# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# rss_anon PID: the process's RssAnon in kB (empty if it is gone)
rss_anon() {
	local k v _
	while read -r k v _; do
		if [ "$k" = RssAnon: ]; then
			echo "$v"
			return
		fi
	done <"/proc/$1/status" 2>/dev/null
}
# wait_line PATTERN: wait (up to 60 s) for a line matching PATTERN in the session's output
wait_line() {
	local _
	for _ in $(seq 3000); do
		grep -qE "$1" "$WORK/session.out" && return 0
		kill -0 "$SESSION_PID" 2>/dev/null || break
		sleep 0.02
	done
	echo "    (no '$1' from the psql session)"
	sed 's/^/    | /' "$WORK/session.out" | tail -n 20
	return 1
}

T0=$(date +%s)
echo "storage_stream: database $DB, a $((SIZE / 1048576)) MiB file through convex_storage_upload_large_object(url, oid)"

# --- setup ---------------------------------------------------------------------
if ! psql_admin -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" \
	-c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$ROLE') THEN CREATE ROLE $ROLE LOGIN; END IF; END \$\$" ||
	! psql_db -c "SET client_min_messages = warning" -c "CREATE EXTENSION convexlite" >/dev/null; then
	fail "setup: could not create database $DB with convexlite and role $ROLE"
	exit 1
fi
FILE=$WORK/blob.bin
t=$(now_ms)
head -c "$SIZE" /dev/urandom >"$FILE"
FILE_SHA=$(openssl dgst -sha256 -binary "$FILE" | base64)
check "setup: a random file of $SIZE bytes ($(($(now_ms) - t)) ms to write and hash)" "$SIZE" "$(stat -c %s "$FILE")"

# --- one psql session of the client, driven through a fifo ------------------------
mkfifo "$WORK/session.in"
PGAPPNAME=storage_stream "$PSQL_BIN" -X -At -v ON_ERROR_STOP=1 -U "$ROLE" -d "$DB" \
	<"$WORK/session.in" >"$WORK/session.out" 2>&1 &
SESSION_PID=$!
exec 3>"$WORK/session.in"
t=$(now_ms)
cat >&3 <<EOF
SELECT 'PID=' || pg_backend_pid();
\\lo_import '$FILE'
\\echo OID=:LASTOID
SELECT convex_files_generate_upload_url() AS url \\gset
\\echo READY
EOF
wait_line '^READY$' || {
	fail "the session did not import the file"
	exit 1
}
IMPORT_MS=$(($(now_ms) - t))
PID=$(sed -nE 's/^PID=([0-9]+)$/\1/p' "$WORK/session.out")
LO=$(sed -nE 's/^OID=([0-9]+)$/\1/p' "$WORK/session.out")
echo "# \\lo_import (autocommit): $IMPORT_MS ms ($(((SIZE / 1048576) * 1000 / (IMPORT_MS > 0 ? IMPORT_MS : 1))) MiB/s), large object $LO, backend $PID"
check "the client imported the file as its own large object" "$ROLE" \
	"$(q "SELECT lomowner::regrole FROM pg_largeobject_metadata WHERE oid = ${LO:-0}")"

# start_poll: baseline now, then sample RssAnon every ~20 ms until stop_poll,
# which sets PEAK_KB and SAMPLES
start_poll() {
	rm -f "$WORK/stop" "$WORK/peak"
	BASE_KB=$(rss_anon "$PID")
	(
		peak=${BASE_KB:-0} n=0
		while [ ! -e "$WORK/stop" ]; do
			v=$(rss_anon "$PID")
			if [ -z "$v" ]; then
				# a read that found nothing: the backend is gone, or try again
				[ -e "/proc/$PID" ] || break
				sleep 0.02
				continue
			fi
			n=$((n + 1))
			[ "$v" -gt "$peak" ] && peak=$v
			sleep 0.02
		done
		echo "$peak $n" >"$WORK/peak"
	) &
	POLLER=$!
}
stop_poll() {
	touch "$WORK/stop"
	wait "$POLLER"
	read -r PEAK_KB SAMPLES <"$WORK/peak"
}
# time_after MARK: the ms of the first statement psql timed after the line MARK
time_after() {
	awk -v m="$1" '$0 == m { f = 1; next } f && /^Time: / { print $2; exit }' "$WORK/session.out"
}
# mib_s MS: the file's MiB per second in MS milliseconds
mib_s() { awk -v ms="${1:-0}" -v s="$SIZE" 'BEGIN { if (ms > 0) printf "%.0f", s / 1048576 / (ms / 1000); else print "?" }'; }
# memory_checks WHAT WORK BASE PEAK SAMPLES: enough samples, growth under the bound
memory_checks() {
	local growth=$(($4 - ${3:-0}))
	if [ "${5:-0}" -ge 3 ]; then
		pass "memory: $5 RssAnon samples during $1"
	else
		fail "memory: only ${5:-0} RssAnon samples during $1 (too fast to measure?)"
	fi
	if [ "$growth" -lt "$MAX_GROWTH_KB" ]; then
		pass "memory: the backend's RssAnon grew by $growth kB (< $MAX_GROWTH_KB kB) while $2 $((SIZE / 1048576)) MiB"
	else
		fail "memory: the backend's RssAnon grew by $growth kB (bound $MAX_GROWTH_KB kB) while $2 $((SIZE / 1048576)) MiB"
	fi
}

# --- 1. the copy: the large object is from an earlier transaction ----------------
start_poll
cat >&3 <<'EOF'
\echo COPY_UPLOAD
\timing on
SELECT convex_storage_upload_large_object(:'url', :LASTOID, 'application/octet-stream') ->> 'storageId' AS sid \gset
\timing off
\echo SID=:sid
\echo DONE
EOF
wait_line '^DONE$'
stop_poll
UP_BASE_KB=$BASE_KB UP_PEAK_KB=$PEAK_KB UP_SAMPLES=$SAMPLES
# control: reading the whole blob as one bytea must show up in the same probe
start_poll
cat >&3 <<'EOF'
SELECT 'LEN=' || length(convex_storage_get(:'sid'));
\echo DONE2
EOF
wait_line '^DONE2$'
stop_poll
CONTROL_BASE_KB=$BASE_KB CONTROL_PEAK_KB=$PEAK_KB CONTROL_SAMPLES=$SAMPLES

# --- 2. imported and uploaded in one transaction -----------------------------------
t=$(now_ms)
cat >&3 <<EOF
BEGIN;
\\lo_import '$FILE'
\\echo OID2=:LASTOID
SELECT 'OWNER2=' || lomowner::regrole FROM pg_largeobject_metadata WHERE oid = :LASTOID;
SELECT convex_files_generate_upload_url() AS url2 \\gset
\\echo READY2
EOF
wait_line '^READY2$'
IMPORT2_MS=$(($(now_ms) - t))
LO2=$(sed -nE 's/^OID2=([0-9]+)$/\1/p' "$WORK/session.out")
echo "# \\lo_import (in the uploading transaction): $IMPORT2_MS ms ($(((SIZE / 1048576) * 1000 / (IMPORT2_MS > 0 ? IMPORT2_MS : 1))) MiB/s), large object $LO2"
start_poll
cat >&3 <<'EOF'
\echo INPLACE_UPLOAD
\timing on
SELECT convex_storage_upload_large_object(:'url2', :LASTOID, 'application/octet-stream') ->> 'storageId' AS sid2 \gset
\timing off
\echo SID2=:sid2
\echo DONE3
EOF
wait_line '^DONE3$'
stop_poll
IP_BASE_KB=$BASE_KB IP_PEAK_KB=$PEAK_KB IP_SAMPLES=$SAMPLES
# the COMMIT hashes the large object again before it commits
start_poll
cat >&3 <<'EOF'
\echo INPLACE_COMMIT
\timing on
COMMIT;
\timing off
\echo DONE4
EOF
wait_line '^DONE4$'
stop_poll
CM_BASE_KB=$BASE_KB CM_PEAK_KB=$PEAK_KB CM_SAMPLES=$SAMPLES
exec 3>&-
wait "$SESSION_PID"
SESSION_RC=$?

SID=$(sed -nE 's/^SID=(.+)$/\1/p' "$WORK/session.out")
SID2=$(sed -nE 's/^SID2=(.+)$/\1/p' "$WORK/session.out")
check "the session uploaded by oid twice (earlier import, same transaction), committed and ended cleanly" "0 t t COMMIT" \
	"$SESSION_RC $([ -n "$SID" ] && echo t || echo f) $([ -n "$SID2" ] && echo t || echo f) $(awk '$0 == "INPLACE_COMMIT" { f = 1; next }
		$0 == "DONE4" { f = 0 } f && ($0 == "COMMIT" || $0 == "ROLLBACK" || /ERROR/) { print }' "$WORK/session.out")"
if [ -z "$SID" ] || [ -z "$SID2" ]; then
	sed 's/^/    | /' "$WORK/session.out" | tail -n 10
fi
UPLOAD_MS=$(time_after COPY_UPLOAD)
UPLOAD2_MS=$(time_after INPLACE_UPLOAD)
COMMIT_MS=$(time_after INPLACE_COMMIT)
echo "# copy upload: ${UPLOAD_MS:-?} ms, $(mib_s "$UPLOAD_MS") MiB/s (read, hashed, written to a new large object, original unlinked); backend RssAnon baseline $UP_BASE_KB kB, peak $UP_PEAK_KB kB, growth $((UP_PEAK_KB - ${UP_BASE_KB:-0})) kB ($UP_SAMPLES samples)"
echo "# same-transaction upload: ${UPLOAD2_MS:-?} ms, $(mib_s "$UPLOAD2_MS") MiB/s (copied the same way); RssAnon baseline $IP_BASE_KB kB, peak $IP_PEAK_KB kB, growth $((IP_PEAK_KB - ${IP_BASE_KB:-0})) kB ($IP_SAMPLES samples); its COMMIT: ${COMMIT_MS:-?} ms"
echo "# control, convex_storage_get of the whole blob: RssAnon baseline $CONTROL_BASE_KB kB, peak $CONTROL_PEAK_KB kB, growth $((CONTROL_PEAK_KB - ${CONTROL_BASE_KB:-0})) kB ($CONTROL_SAMPLES samples)"
memory_checks "the copying upload" "copying" "$UP_BASE_KB" "$UP_PEAK_KB" "$UP_SAMPLES"
memory_checks "the same-transaction upload" "copying" "$IP_BASE_KB" "$IP_PEAK_KB" "$IP_SAMPLES"
CONTROL_KB=$((CONTROL_PEAK_KB - ${CONTROL_BASE_KB:-0}))
check "memory control: the probe sees a whole-blob read (growth >= 128 MiB, whole blob returned)" "t $SIZE" \
	"$([ "$CONTROL_KB" -ge $((SIZE / 2048)) ] && echo t || echo "f ($CONTROL_KB kB)") $(sed -nE 's/^LEN=([0-9]+)$/\1/p' "$WORK/session.out")"

# --- what was stored ---------------------------------------------------------------
# alone OID: the large object is the schema owner's, with no other privilege
alone() {
	q "SELECT m.lomowner = n.nspowner AND NOT EXISTS (SELECT 1 FROM aclexplode(m.lomacl) a WHERE a.grantee <> m.lomowner)
	     FROM pg_largeobject_metadata m, pg_namespace n WHERE m.oid = ${1:-0} AND n.nspname = 'convex'"
}
# client_reads OID: the SQLSTATE of the client's lo_get of the large object
client_reads() {
	"$PSQL_BIN" -X -At -v VERBOSITY=sqlstate -U "$ROLE" -d "$DB" -c "SELECT length(lo_get(${1:-0}, 0, 1))" 2>&1 |
		sed -nE 's/.*ERROR:  ([0-9A-Z]{5}).*/\1/p'
}
for s in "earlier import:$SID" "same transaction:$SID2"; do
	how=${s%%:*} sid=${s#*:}
	check "stored ($how): size" "$SIZE" "$(q "SELECT size FROM convex._storage WHERE _id = '$sid'")"
	check "stored ($how): sha256 is the file's" "$FILE_SHA" "$(q "SELECT sha256 FROM convex._storage WHERE _id = '$sid'")"
	check "stored ($how): getMetadata" \
		"{\"size\": $SIZE, \"sha256\": \"$FILE_SHA\", \"storageId\": \"$sid\", \"contentType\": \"application/octet-stream\"}" \
		"$(q "SELECT convex_storage_get_metadata('$sid')")"
done
BLOB=$(q "SELECT blob FROM convex._storage WHERE _id = '$SID'")
BLOB2=$(q "SELECT blob FROM convex._storage WHERE _id = '$SID2'")
echo "# earlier import: the client's large object $LO, the blob $BLOB; same transaction: the client's large object $LO2, the blob $BLOB2"
check "copied: the blob is a new large object, not the client's oid" t \
	"$([ -n "$BLOB" ] && [ "$BLOB" != "$LO" ] && echo t || echo "f ($BLOB)")"
check "copied: the blob is the schema owner's, with no other privilege" t "$(alone "$BLOB")"
check "copied: the client's original is gone" 0 "$(q "SELECT count(*) FROM pg_largeobject_metadata WHERE oid = ${LO:-0}")"
check "copied: the client cannot read the blob (42501), and its original is gone (42704)" "42501 42704" \
	"$(client_reads "$BLOB") $(client_reads "$LO")"
check "same transaction: the import was the client's, in the uploading transaction" "$ROLE" \
	"$(sed -nE 's/^OWNER2=(.+)$/\1/p' "$WORK/session.out")"
check "same transaction: copied too, into a new large object; the import is gone" "t 0" \
	"$([ -n "$BLOB2" ] && [ "$BLOB2" != "$LO2" ] && echo t || echo "f ($BLOB2)") $(q "SELECT count(*) FROM pg_largeobject_metadata WHERE oid = ${LO2:-0}")"
check "same transaction: the blob is the schema owner's, with no other privilege" t "$(alone "$BLOB2")"
check "same transaction: the client cannot read the blob (42501), and its import is gone (42704)" "42501 42704" \
	"$(client_reads "$BLOB2") $(client_reads "$LO2")"
check "the only large objects are the two blobs" 2 "$(q "SELECT count(*) FROM pg_largeobject_metadata")"

# --- reading them back in ranges ---------------------------------------------------
N=$((SIZE / RANGE))
t=$(now_ms)
for ((i = 0; i < N; i++)); do
	dd if="$FILE" bs="$RANGE" skip="$i" count=1 status=none | sha256sum | cut -d' ' -f1
done >"$WORK/file.ranges"
FILE_MS=$(($(now_ms) - t))
for s in "earlier import:$SID" "same transaction:$SID2"; do
	how=${s%%:*} sid=${s#*:}
	t=$(now_ms)
	q "SELECT encode(sha256(convex_storage_get('$sid', g::bigint * $RANGE, $RANGE)), 'hex')
	     FROM generate_series(0, $((N - 1))) AS g ORDER BY g" >"$WORK/db.ranges"
	READ_MS=$(($(now_ms) - t))
	echo "# ranges ($how): $N x $((RANGE / 1048576)) MiB read and hashed in SQL in $READ_MS ms ($((SIZE * 1000 / 1048576 / (READ_MS > 0 ? READ_MS : 1))) MiB/s); the file's in $FILE_MS ms"
	check "read back ($how): $N ranges of $((RANGE / 1048576)) MiB, each the file's bytes" "$N 0" \
		"$(wc -l <"$WORK/db.ranges") $(diff "$WORK/file.ranges" "$WORK/db.ranges" | grep -c '^>')"
	check "read back ($how): a range past the end is cut there (last 1000 bytes)" \
		"1000 $(tail -c 1000 "$FILE" | sha256sum | cut -d' ' -f1)" \
		"$(q "SELECT length(b) || ' ' || encode(sha256(b), 'hex')
		       FROM convex_storage_get('$sid', $((SIZE - 1000)), $RANGE) AS b")"
	check "read back ($how): a range at an odd offset across a chunk boundary" \
		"$(tail -c +$((RANGE - 12344)) "$FILE" | head -c 100000 | sha256sum | cut -d' ' -f1)" \
		"$(q "SELECT encode(sha256(convex_storage_get('$sid', $((RANGE - 12345)), 100000)), 'hex')")"
	check "read back ($how): a range starting at the end is empty" 0 \
		"$(q "SELECT length(convex_storage_get('$sid', $SIZE, 10))")"
done

rm -f "$FILE"
# --- summary -------------------------------------------------------------------
echo "storage_stream: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "storage_stream: FAIL"
	exit 1
fi
echo "storage_stream: PASS"
exit 0
