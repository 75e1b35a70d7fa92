#!/usr/bin/env bash
# bench/memory.sh: issue 6's memory target, "a backend that runs 1M mutations (a
# tenth of them failing validation) ends within 1 MB of its size after the first 10k".
#
# One backend (one psql session) runs MUTATIONS calls, each its own top-level
# transaction (psql autocommit), as an application's connection would:
#   i % 10 == 0   a call that fails argument validation (SQLSTATE 22023), four
#                 kinds in turn: messages.send without content, messages.send with
#                 a number for content, presence.update with cursor.x a string,
#                 presence.update with an extra field;
#   else i odd    convex_messages_send (room "general", content "hello <i>"): half
#                 the calls;
#   else          convex_presence_update (100 sessions in one room, the cursor
#                 moving): the other 40%.
# Why psql and not pgbench: a failing call must fail the way a client's does, as an
# ERROR that aborts the top-level transaction (pgbench ends a client at its first
# error; catching it in a PL/pgSQL EXCEPTION block would test subtransaction abort
# instead, and add PL/pgSQL's own memory).  The statements are generated on the fly
# and piped in (simple query protocol); psql keeps going after an error
# (ON_ERROR_STOP off), and with VERBOSITY sqlstate each error is one line, counted
# by SQLSTATE: every failure must be 22023, and exactly a tenth of the calls.
#
# Memory is read by the session itself at checkpoints (1k, BASE = 10k, then every
# tenth of the run, and the end), each checkpoint one more statement in the stream:
#   RssAnon      /proc/self/status of the backend: its private anonymous memory
#                (palloc'd memory lives in malloc'd blocks, so it is here), the
#                measure the verdict is on;
#   contexts     the sum of total_bytes of pg_backend_memory_contexts (PostgreSQL's
#                own accounting of this backend's memory contexts);
#   also VmRSS, RssShmem and Private_Dirty (smaps_rollup), which grow as the backend
#   touches more of shared_buffers (the messages table grows by ~450k rows): shown,
#   not judged.
# Growth = value at the end - value at BASE.  If the contexts grow, the contexts are
# compared by name (and ident) between BASE and the end, largest growth first.
#
# Notifications: every call notifies.  The benchmark runs in the cluster's
# convexlite.database_name (DB below), where convexlite's NOTIFY relay runs when the
# installed build has one, so the writers take the path an application's would.  The
# database is recreated and the cluster restarted at the start (so
# bench/presence.sh, which uses the same database, must not run at the same time).
#
# Two more shapes, each in a session of its own, after the run (issue 0.2.0 review,
# §3: memory must not grow with what a caller chooses):
#   patch shapes   a table of PATCH_FIELDS optional fields; each call (its own
#                  transaction) patches one document with a distinct set of fields,
#                  all 2^PATCH_FIELDS - 1 sets in turn.  RssAnon and the contexts are
#                  read after 64 sets (the kept-plan cache is full from 32) and at
#                  every eighth of the run; growth = end - after 64 (goal: flat,
#                  within TARGET_KB).
#   redefinition   for each count in REDEFINE_ROWS, a table of that many documents
#                  of 2 kB, then a redefinition that checks them all (a field made
#                  required); the redefining backend's VmPeak growth (its peak
#                  memory) against the number of documents (goal: flat).
#
# Output: memory.md (a markdown fragment) and memory.txt (`key value` lines) in
# $BENCH_OUT (default bench/out/, where bench/run.sh collects them), both also
# printed.  Run time: MUTATIONS / rate, 4-7 minutes for 1M on this 2-core machine
# (synchronous_commit on: each successful call is a commit).
#
# Usage: bash bench/memory.sh
# Environment: BENCH_CLUSTER (default benchp), BENCH_PORT (default 54337),
#   BENCH_DB (default: the cluster's cron database, convexlite_<cluster>), BENCH_OUT,
#   BENCH_MUTATIONS (default 1000000), BENCH_BASE (default 10000),
#   BENCH_TARGET_KB (default 1024), BENCH_PATCH_FIELDS (default 12, at most 16),
#   BENCH_REDEFINE_ROWS (default "5000 50000").
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

BENCH_CLUSTER=${BENCH_CLUSTER:-benchp}
BENCH_PORT=${BENCH_PORT:-54337}
MUTATIONS=${BENCH_MUTATIONS:-1000000}
BASE=${BENCH_BASE:-10000}
TARGET_KB=${BENCH_TARGET_KB:-1024}
PATCH_FIELDS=${BENCH_PATCH_FIELDS:-12}
REDEFINE_ROWS=${BENCH_REDEFINE_ROWS:-5000 50000}
[ "${PATCH_FIELDS:-0}" -le 16 ] 2>/dev/null || cvx_die "BENCH_PATCH_FIELDS must be at most 16"
for v in MUTATIONS BASE TARGET_KB BENCH_PORT PATCH_FIELDS; do
	case ${!v} in '' | *[!0-9]* | 0) cvx_die "$v must be a positive integer, not '${!v}'" ;; esac
done
[ "$MUTATIONS" -gt "$BASE" ] || cvx_die "BENCH_MUTATIONS ($MUTATIONS) must exceed BENCH_BASE ($BASE)"
case $BENCH_CLUSTER in
demo | test) cvx_die "BENCH_CLUSTER=$BENCH_CLUSTER: use a cluster of its own (its database is recreated)" ;;
bench) CRON_DB=convexlite_bench ;;
*) CRON_DB=convexlite_$BENCH_CLUSTER ;;
esac
DB=${BENCH_DB:-$CRON_DB}
NAME=memory
OUT_DIR=${BENCH_OUT:-$CVX_ROOT/bench/out}
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
# The cluster and the database

bench_worker_database
cvx_psql -q -d "$DB" -c "SET client_min_messages = warning" -c "CREATE EXTENSION convexlite"

bench_notify_path
kv notify_path "$NOTIFY_KIND"
PGVER=$(q "SHOW server_version")
SYNC=$(q "SHOW synchronous_commit")
cvx_info "PostgreSQL $PGVER; synchronous_commit=$SYNC; notifications: $NOTIFY_PATH"

# ---------------------------------------------------------------------------
# The run

# checkpoints: 1k (warm-up), BASE, every tenth of the run above BASE, the end
checkpoints=$( (
	[ 1000 -lt "$BASE" ] && echo 1000
	echo "$BASE"
	for k in 1 2 3 4 5 6 7 8 9; do
		c=$((MUTATIONS * k / 10))
		[ "$c" -gt "$BASE" ] && echo "$c"
	done
	echo "$MUTATIONS"
) | sort -n -u | tr '\n' ' ')
kv checkpoints "$checkpoints"

cvx_step "One session: $MUTATIONS calls, each its own transaction, every tenth failing validation"
cvx_info "memory checkpoints after: $checkpoints"

# The statements, generated as psql reads them.  A checkpoint prints "ck I KEY VALUE"
# and "ctx I <name> <ident> TOTAL" lines; everything else the session prints is
# dropped.  (With -A -t a call prints its result: an id or an empty line.)
generate() {
	awk -v n="$MUTATIONS" -v cks="$checkpoints" 'BEGIN {
		q = sprintf("%c", 39)
		split(cks, list, " ")
		for (k in list) ck[list[k]] = 1
		print "\\set VERBOSITY sqlstate"
		print "SELECT " q "pid " q " || pg_backend_pid();"
		for (i = 1; i <= n; i++) {
			s = "s" (i % 100)
			if (i % 10 == 0) {
				kind = (i / 10) % 4
				if (kind == 0)
					printf "SELECT convex_messages_send(%s{\"roomId\": \"general\", \"userName\": \"bench\"}%s);\n", q, q
				else if (kind == 1)
					printf "SELECT convex_messages_send(%s{\"roomId\": \"general\", \"content\": %d, \"userName\": \"bench\", \"sessionId\": \"%s\"}%s);\n", q, i, s, q
				else if (kind == 2)
					printf "SELECT convex_presence_update(%s{\"roomId\": \"room\", \"data\": {\"cursor\": {\"x\": \"left\", \"y\": 2}}, \"sessionId\": \"%s\"}%s);\n", q, s, q
				else
					printf "SELECT convex_presence_update(%s{\"roomId\": \"room\", \"data\": {}, \"sessionId\": \"%s\", \"extra\": true}%s);\n", q, s, q
			} else if (i % 2 == 1)
				printf "SELECT convex_messages_send(%s{\"roomId\": \"general\", \"content\": \"hello %d\", \"userName\": \"bench\", \"sessionId\": \"%s\"}%s);\n", q, i, s, q
			else
				printf "SELECT convex_presence_update(%s{\"roomId\": \"room\", \"data\": {\"cursor\": {\"x\": %d, \"y\": 2}}, \"sessionId\": \"%s\"}%s);\n", q, i % 1000, s, q
			if (i in ck) {
				printf "SELECT %sck %d %s || k || %s %s || v FROM (\n", q, i, q, q, q
				print "  SELECT 1 AS o, " q "epoch_ms" q " AS k, (extract(epoch FROM clock_timestamp()) * 1000)::bigint::text AS v"
				print "  UNION ALL SELECT 2, " q "rss_anon_kb" q ", (regexp_match(pg_read_file(" q "/proc/self/status" q "), " q "RssAnon:\\s+(\\d+)" q "))[1]"
				print "  UNION ALL SELECT 3, " q "vm_rss_kb" q ", (regexp_match(pg_read_file(" q "/proc/self/status" q "), " q "VmRSS:\\s+(\\d+)" q "))[1]"
				print "  UNION ALL SELECT 4, " q "rss_shmem_kb" q ", (regexp_match(pg_read_file(" q "/proc/self/status" q "), " q "RssShmem:\\s+(\\d+)" q "))[1]"
				print "  UNION ALL SELECT 5, " q "private_dirty_kb" q ", (regexp_match(pg_read_file(" q "/proc/self/smaps_rollup" q "), " q "Private_Dirty:\\s+(\\d+)" q "))[1]"
				print "  UNION ALL SELECT 6, " q "contexts_total_bytes" q ", sum(total_bytes)::text FROM pg_backend_memory_contexts"
				print "  UNION ALL SELECT 7, " q "contexts_used_bytes" q ", sum(used_bytes)::text FROM pg_backend_memory_contexts"
				print "  UNION ALL SELECT 8, " q "contexts_count" q ", count(*)::text FROM pg_backend_memory_contexts"
				print ") x ORDER BY o;"
				printf "SELECT %sctx %d%s || chr(9) || name || chr(9) || coalesce(left(regexp_replace(ident, %s\\s+%s, %s %s, %sg%s), 60), %s%s) || chr(9) || total_bytes FROM pg_backend_memory_contexts;\n", q, i, q, q, q, q, q, q, q, q, q
			}
		}
	}'
}

t0=$(date +%s.%N)
generate |
	PGAPPNAME=bench_memory "$(cvx_pg_bindir)/psql" -X -q -A -t -v ON_ERROR_STOP=0 -d "$DB" \
		2> >(awk '/ERROR:/ { if ($NF == "22023") v++; else { o++; if (o <= 5) print > "/dev/stderr" } }
		          END { print v + 0, o + 0 }' >"$workdir/errors") |
	awk -v ck="$workdir/ck" -v ctx="$workdir/ctx" '/^pid / { print > ck } /^ck / { print > ck }
		/^ck .* rss_anon_kb / { printf "    after %d calls: RssAnon %s kB\n", $2, $4; fflush() }
		/^ctx / { print > ctx }' || true
t1=$(date +%s.%N)
# (the error counter is a process substitution: wait until it has written)
for _ in $(seq 100); do [ -s "$workdir/errors" ] && break; sleep 0.1; done
read -r failed other <"$workdir/errors"
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
rate=$(awk -v n="$MUTATIONS" -v s="$elapsed" 'BEGIN { printf "%.0f", n / s }')
pid=$(sed -n 's/^pid //p' "$workdir/ck")
cvx_info "backend $pid: $MUTATIONS calls in ${elapsed}s ($rate/s); $failed failed validation (22023), $other other errors"
[ "$other" -eq 0 ] || cvx_warn "$other calls failed with another error than 22023"
[ "$failed" -eq $((MUTATIONS / 10)) ] || cvx_warn "expected $((MUTATIONS / 10)) validation failures, got $failed"
sends=$(q "SELECT count(*) FROM convex.messages")
n_invalid=$((MUTATIONS / 10))
n_send=$(((MUTATIONS + 1) / 2))
n_presence=$((MUTATIONS - n_send - n_invalid))
[ "$sends" -eq "$n_send" ] || cvx_warn "expected $n_send messages, found $sends"
kv mutations "$MUTATIONS"
kv seconds "$elapsed"
kv calls_per_second "$rate"
kv backend_pid "$pid"
kv failed_validation "$failed"
kv failed_other "$other"
kv messages_rows "$sends"

# value KEY CHECKPOINT
value() { awk -v k="$1" -v c="$2" '$1 == "ck" && $2 == c && $3 == k { print $4 }' "$workdir/ck"; }
last=$MUTATIONS
for key in rss_anon_kb vm_rss_kb rss_shmem_kb private_dirty_kb contexts_total_bytes contexts_used_bytes contexts_count; do
	for c in $checkpoints; do
		kv "${key}_at_$c" "$(value "$key" "$c")"
	done
done
anon_base=$(value rss_anon_kb "$BASE")
anon_end=$(value rss_anon_kb "$last")
ctx_base=$(value contexts_total_bytes "$BASE")
ctx_end=$(value contexts_total_bytes "$last")
if [ -z "$anon_base" ] || [ -z "$anon_end" ] || [ -z "$ctx_base" ] || [ -z "$ctx_end" ]; then
	cvx_die "missing checkpoint values (did the session end early?)"
fi
anon_growth=$((anon_end - anon_base))
ctx_growth_kb=$(awk -v a="$ctx_end" -v b="$ctx_base" 'BEGIN { printf "%.1f", (a - b) / 1024 }')
dirty_growth=$(($(value private_dirty_kb "$last") - $(value private_dirty_kb "$BASE")))
anon_ok=$( [ "$anon_growth" -le "$TARGET_KB" ] && echo met || echo missed)
ctx_ok=$(awk -v g="$ctx_growth_kb" -v t="$TARGET_KB" 'BEGIN { print (g <= t) ? "met" : "missed" }')
kv rss_anon_growth_kb "$anon_growth"
kv contexts_growth_kb "$ctx_growth_kb"
kv private_dirty_growth_kb "$dirty_growth"
kv target_kb "$TARGET_KB"
kv rss_anon_target "$anon_ok"
kv contexts_target "$ctx_ok"

# The contexts that grew most between BASE and the end, by name and ident
growth_by_context=$(awk -F '\t' -v b="$BASE" -v e="$last" '
	{ split($1, h, " "); key = $2 (($3 != "") ? " [" $3 "]" : "")
	  if (h[2] == b) { base[key] += $4; nb[key]++ } else if (h[2] == e) { end[key] += $4; ne[key]++ }
	  seen[key] = 1 }
	END { for (k in seen) { d = end[k] - base[k]; if (d != 0) printf "%d\t%s\t%d\t%d\t%d\t%d\n", d, k, base[k], end[k], nb[k], ne[k] } }' \
	"$workdir/ctx" | sort -t "$(printf '\t')" -k1,1nr | head -8)

# ---------------------------------------------------------------------------
# Patch shapes: one session patches every set of PATCH_FIELDS optional fields

nsets=$(((1 << PATCH_FIELDS) - 1))
cvx_step "Patch shapes: one session patches $nsets distinct sets of $PATCH_FIELDS fields, one call each"
q "SELECT convex_define_table('wide', (SELECT jsonb_object_agg('f' || i,
     '{\"fieldType\": {\"type\": \"number\"}, \"optional\": true}'::jsonb) FROM generate_series(0, $PATCH_FIELDS - 1) i), '{}')" >/dev/null
q "CREATE TABLE bench_wide_ids (i int PRIMARY KEY, id text)" >/dev/null
q "INSERT INTO bench_wide_ids SELECT i, convex_db_insert('wide', '{}') FROM generate_series(1, $nsets) i" >/dev/null
patch_cks=$( (echo 64; for k in 1 2 3 4 5 6 7 8; do echo $((nsets * k / 8)); done) | awk '$1 >= 64' | sort -n -u | tr '\n' ' ')
awk -v n="$nsets" -v f="$PATCH_FIELDS" -v cks="$patch_cks" 'BEGIN {
	q = sprintf("%c", 39)
	split(cks, list, " "); for (k in list) ck[list[k]] = 1
	for (i = 1; i <= n; i++) {
		p = ""
		for (b = 0; b < f; b++) if (int(i / 2 ^ b) % 2 == 1) p = p (p == "" ? "" : ", ") sprintf("\"f%d\": %d", b, i)
		printf "SELECT convex_db_patch(%swide%s, (SELECT id FROM bench_wide_ids WHERE i = %d), %s{%s}%s);\n", q, q, i, q, p, q
		if (i in ck)
			printf "SELECT %spk %d %s || (regexp_match(pg_read_file(%s/proc/self/status%s), %sRssAnon:\\s+(\\d+)%s))[1] || %s %s || (SELECT sum(total_bytes) FROM pg_backend_memory_contexts);\n", q, i, q, q, q, q, q, q, q
	}
}' | "$(cvx_pg_bindir)/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" | grep '^pk ' >"$workdir/pk"
pk_first=$(head -1 "$workdir/pk")
pk_last=$(tail -1 "$workdir/pk")
patch_anon_growth=$(($(echo "$pk_last" | cut -d' ' -f3) - $(echo "$pk_first" | cut -d' ' -f3)))
patch_ctx_growth_kb=$((($(echo "$pk_last" | cut -d' ' -f4) - $(echo "$pk_first" | cut -d' ' -f4)) / 1024))
patched=$(q "SELECT count(*) FROM convex.wide WHERE num_nonnulls($(seq -s, -f 'f%g' 0 $((PATCH_FIELDS - 1)))) > 0")
[ "$patched" -eq "$nsets" ] || cvx_warn "expected $nsets patched documents, found $patched"
patch_ok=$( [ "$patch_anon_growth" -le "$TARGET_KB" ] && [ "$patch_ctx_growth_kb" -le "$TARGET_KB" ] && echo met || echo missed)
cvx_info "RssAnon growth from 64 sets to $nsets: $patch_anon_growth kB; contexts: $patch_ctx_growth_kb kB ($patch_ok)"
kv patch_fields "$PATCH_FIELDS"
kv patch_sets "$nsets"
kv patch_rss_anon_growth_kb "$patch_anon_growth"
kv patch_contexts_growth_kb "$patch_ctx_growth_kb"
kv patch_target "$patch_ok"

# ---------------------------------------------------------------------------
# Redefinition over REDEFINE_ROWS documents of 2 kB: the peak memory of its backend

cvx_step "Redefinition: peak memory of the redefining backend over $REDEFINE_ROWS documents of 2 kB"
redefine_lines=
redefine_peaks=
for rows in $REDEFINE_ROWS; do
	q "SELECT convex_define_table('big$rows', '{\"body\": {\"fieldType\": {\"type\": \"string\"}, \"optional\": true}}', '{}')" >/dev/null
	q "SELECT count(convex_db_insert('big$rows', jsonb_build_object('body', i || repeat('x', 2000)))) FROM generate_series(1, $rows) i" >/dev/null
	peak="SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmPeak:\s+(\d+)'))[1]"
	t_redefine=$(date +%s.%N)
	read -r before _ after <<<"$(cvx_psql -d "$DB" -Atq -c "$peak" \
		-c "SELECT convex_define_table('big$rows', '{\"body\": {\"fieldType\": {\"type\": \"string\"}, \"optional\": false}}', '{}')" \
		-c "$peak" | tr '\n' ' ')"
	secs=$(awk -v a="$t_redefine" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	cvx_info "$rows documents: VmPeak +$((after - before)) kB, ${secs}s"
	kv "redefine_vmpeak_growth_kb_at_$rows" $((after - before))
	redefine_lines="$redefine_lines| $rows | $((after - before)) kB | $secs s |"$'\n'
	redefine_peaks="$redefine_peaks $((after - before))"
done
redefine_spread=$(echo "$redefine_peaks" | awk '{ lo = $1; hi = $1; for (i = 2; i <= NF; i++) { if ($i < lo) lo = $i; if ($i > hi) hi = $i }; print hi - lo }')
redefine_ok=$( [ "$redefine_spread" -le "$TARGET_KB" ] && echo met || echo missed)
kv redefine_vmpeak_spread_kb "$redefine_spread"
kv redefine_target "$redefine_ok"

# ---------------------------------------------------------------------------
# The fragment

# shellcheck disable=SC2016 # backquotes are markdown
{
	printf 'PostgreSQL %s, synchronous_commit=%s. One psql session (backend %s) ran %d calls, each its own transaction: ' \
		"$PGVER" "$SYNC" "$pid" "$MUTATIONS"
	printf 'every odd call `convex_messages_send` (%d), the other even calls `convex_presence_update` (%d), every tenth call failing validation (%d expected; %d failed with 22023, %d with another error), ' \
		"$n_send" "$n_presence" "$n_invalid" "$failed" "$other"
	printf 'in %s s (%s calls/s). Notifications: %s. Run %s, %d s in all.\n\n' "$elapsed" "$rate" "$NOTIFY_PATH" "$(date -u +%Y-%m-%dT%H:%MZ)" $(($(date +%s) - T_START))
	printf '| Measure | after %d calls | after %d | growth | Goal | |\n|---|---|---|---|---|---|\n' "$BASE" "$last"
	printf '| RssAnon (private memory) | %s kB | %s kB | %+d kB | ≤ %d kB | %s |\n' "$anon_base" "$anon_end" "$anon_growth" "$TARGET_KB" "$anon_ok"
	printf '| memory contexts, sum of total_bytes | %s kB | %s kB | %+.1f kB | ≤ %d kB | %s |\n\n' \
		"$(awk -v b="$ctx_base" 'BEGIN { printf "%.1f", b / 1024 }')" "$(awk -v b="$ctx_end" 'BEGIN { printf "%.1f", b / 1024 }')" \
		"$ctx_growth_kb" "$TARGET_KB" "$ctx_ok"
	printf 'At each checkpoint (kB; Private_Dirty and RssShmem include the shared buffers this backend has touched, so they grow with the data and are not judged):\n\n'
	printf '| calls | RssAnon | contexts | VmRSS | RssShmem | Private_Dirty |\n|---|---|---|---|---|---|\n'
	for c in $checkpoints; do
		printf '| %d | %s | %s | %s | %s | %s |\n' "$c" "$(value rss_anon_kb "$c")" \
			"$(awk -v b="$(value contexts_total_bytes "$c")" 'BEGIN { printf "%.1f", b / 1024 }')" \
			"$(value vm_rss_kb "$c")" "$(value rss_shmem_kb "$c")" "$(value private_dirty_kb "$c")"
	done
	printf '\n'
	if [ -n "$growth_by_context" ]; then
		printf 'Memory contexts whose total changed between %d calls and the end (bytes; largest growth first):\n\n' "$BASE"
		printf '| context [ident] | after %d | at the end | change |\n|---|---|---|---|\n' "$BASE"
		printf '%s\n' "$growth_by_context" | awk -F '\t' '{ gsub(/\|/, "\\|", $2); printf "| %s | %d (%d) | %d (%d) | %+d |\n", $2, $3, $5, $4, $6, $1 }'
		printf '\n(The count of contexts of that name is in parentheses.)\n'
	else
		printf 'No memory context changed size between %d calls and the end.\n' "$BASE"
	fi
	printf '\n**Patch shapes.** One session patched %d documents, each with a different set of the %d optional fields of a table (all %d sets), each call its own transaction. ' \
		"$nsets" "$PATCH_FIELDS" "$nsets"
	printf 'From 64 sets to %d: RssAnon %+d kB, memory contexts %+d kB (goal: flat, ≤ %d kB): %s.\n\n' \
		"$nsets" "$patch_anon_growth" "$patch_ctx_growth_kb" "$TARGET_KB" "$patch_ok"
	printf '| sets patched | RssAnon kB | contexts kB |\n|---|---|---|\n'
	awk '{ printf "| %d | %s | %.0f |\n", $2, $3, $4 / 1024 }' "$workdir/pk"
	printf '\n**Redefinition.** A table of N documents of 2 kB redefined with a field made required (every document checked); the redefining backend'"'"'s VmPeak growth (goal: flat in N; spread %d kB, %s):\n\n' \
		"$redefine_spread" "$redefine_ok"
	printf '| documents | VmPeak growth | time |\n|---|---|---|\n%s' "$redefine_lines"
} >"$md"
[ -n "$growth_by_context" ] && kv contexts_grown "$(printf '%s\n' "$growth_by_context" | awk -F '\t' '{ printf "%s%s=%+d", (NR > 1 ? "; " : ""), $2, $1 }')"

cp "$md" "$OUT_DIR/$NAME.md"
cp "$txt" "$OUT_DIR/$NAME.txt"
cvx_step "$OUT_DIR/$NAME.md"
cat "$md"
cvx_step "$OUT_DIR/$NAME.txt"
cat "$txt"
