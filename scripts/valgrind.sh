#!/usr/bin/env bash
# scripts/valgrind.sh: the pg_regress suite with the server under valgrind memcheck.
#
#   bash scripts/valgrind.sh          (also: make valgrind)
#
# It builds nothing: it runs the convexlite.so that `make install` put in PostgreSQL's
# pkglibdir (and says so if there is none).  Steps:
#   1. a fresh throwaway cluster 'valgrind' (tmp/valgrind/, port VALGRIND_PORT, default
#      54343), set up like make test's cluster 'test' by scripts/lib.sh: pg_cron and
#      convexlite preloaded, cron.database_name = convexlite.database_name =
#      contrib_regression, which is created with pg_regress's settings.  On top of that:
#      jit = off (LLVM's JIT is not worth running under valgrind) and log_connections =
#      on (the server log then names each backend's test, application_name
#      pg_regress/<test>, which the summary uses).  This set-up runs without valgrind;
#   2. the postmaster restarted UNDER valgrind (pg_ctl -p a wrapper that execs
#        valgrind --tool=memcheck --trace-children=yes --leak-check=no
#          --track-origins=yes --read-var-info=no --num-callers=40 --error-limit=no
#          --fullpath-after= --show-error-list=yes
#          --suppressions=test/valgrind/postgresql.supp
#          --log-file=tmp/valgrind-logs/%p.log  postgres -D ...
#      as the server's OS user): every process the postmaster forks (backends,
#      background workers: pg_cron's launcher, convexlite's scheduler, autovacuum...)
#      runs under memcheck and logs to its own <pid>.log.  The start is slow (up to
#      VALGRIND_START_TIMEOUT s);
#   3. pg_regress on the REGRESS tests of the Makefile (or VALGRIND_TESTS), as
#      `make installcheck EXTRA_REGRESS_OPTS=--use-existing` would, but with its output
#      in tmp/valgrind-logs/regress/ (results/, regression.diffs), so that the tree's
#      results/ is left alone.  Under valgrind everything runs 20-50 times slower: tests
#      that measure time (mutation time limits, waits for the scheduler) may differ.
#      The pg_regress result is recorded and shown, but it is not the verdict;
#   4. the cluster stopped (fast shutdown: every process exits, so that valgrind
#      writes its error list and suppression counts) and removed;
#   5. every tmp/valgrind-logs/<pid>.log parsed: the errors (distinct contexts, and
#      occurrences from valgrind's exit list), those outside convexlite by kind, the
#      suppressions used, and the errors IN CONVEXLITE: those whose stack (the "at/by"
#      frames of the error itself) has a frame in convexlite.so or in one of
#      convexlite's source files (src/*.[ch], src/core/*.[ch]).  Errors whose only
#      convexlite frames are in the allocation/origin stacks are listed apart as worth
#      a look: without a USE_VALGRIND build of PostgreSQL, palloc recycles memory
#      within blocks that malloc gave to whoever came first, so those stacks do not say
#      whose memory it is.
#
# The exit status is 0 only if there is no error in convexlite's code (and the server
# ran: it is 1 as well when it did not start, or when no log was written).  PostgreSQL
# (Debian's, built without USE_VALGRIND) has errors of its own under memcheck, all false
# positives (uninitialised padding bytes in WAL records and files, etc.):
# test/valgrind/postgresql.supp suppresses them, each with its reason.  No suppression
# names a convexlite frame.
#
# Logs (kept): tmp/valgrind-logs/<pid>.log, postgres.log (the server log), regress.log
# and regress/ (pg_regress), summary.txt (the summary printed at the end).
#
# Environment:
#   VALGRIND_PORT            port of the cluster (default 54343)
#   VALGRIND_TESTS           tests to run (default: REGRESS of the Makefile); 'setup'
#                            is put first when it is missing (it creates the extension)
#   VALGRIND_KEEP=1          leave the cluster running (still under valgrind) afterwards,
#                            for a look with psql; the logs of the processes still
#                            running are parsed without their exit lists.  The next run
#                            stops it (scripts/cluster.sh cannot: see vg_server_running)
#   VALGRIND_START_TIMEOUT   seconds to wait for the server to start (default 600)
#   VALGRIND_REGRESS_TIMEOUT seconds for the whole pg_regress run (default 5400)
#   VALGRIND_SUPP            suppression file (default test/valgrind/postgresql.supp); an
#                            empty file shows every error, with its origin, in the logs
#   VALGRIND_SHOW            how many convexlite error stacks to print in full (default 20)
#   VALGRIND_EXTRA_OPTS      more valgrind options (whitespace-separated)
set -uo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CVX_ROOT" || exit 1

NAME=valgrind
PORT=${VALGRIND_PORT:-54343}
DB=contrib_regression
KEEP=${VALGRIND_KEEP:-0}
START_TIMEOUT=${VALGRIND_START_TIMEOUT:-600}
REGRESS_TIMEOUT=${VALGRIND_REGRESS_TIMEOUT:-5400}
SUPP=${VALGRIND_SUPP:-$CVX_ROOT/test/valgrind/postgresql.supp}
SHOW=${VALGRIND_SHOW:-20}
T0=$(date +%s)

# --- checks --------------------------------------------------------------------
cvx_step "Checking valgrind and the installed extension"
command -v valgrind >/dev/null 2>&1 ||
	cvx_die "valgrind not found: install it (apt-get install valgrind, or scripts/install-deps.sh)"
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir) || cvx_die "$PG_CONFIG --pkglibdir failed"
BINDIR=$(cvx_pg_bindir)
[ -f "$PKGLIBDIR/convexlite.so" ] ||
	cvx_die "$PKGLIBDIR/convexlite.so not found: this runs the installed extension; run make && make install first"
case ",$CVX_PRELOAD," in
*,pg_cron,*)
	[ -f "$PKGLIBDIR/pg_cron.so" ] ||
		cvx_die "$PKGLIBDIR/pg_cron.so not found: install postgresql-$CVX_PG_MAJOR-cron (scripts/install-deps.sh)"
	;;
esac
[ -f "$SUPP" ] || cvx_die "suppression file $SUPP not found"
PG_REGRESS=$(dirname "$("$PG_CONFIG" --pgxs)")/../../src/test/regress/pg_regress
[ -x "$PG_REGRESS" ] || cvx_die "pg_regress not found at $PG_REGRESS (postgresql-server-dev-$CVX_PG_MAJOR)"
if [ -f convexlite.so ] && [ convexlite.so -nt "$PKGLIBDIR/convexlite.so" ]; then
	cvx_warn "the tree's convexlite.so is newer than the installed one: make install to check it"
fi
cvx_info "$(valgrind --version), $PKGLIBDIR/convexlite.so ($(date -r "$PKGLIBDIR/convexlite.so" '+%F %T'))"

if [ -n "${VALGRIND_TESTS:-}" ]; then
	read -r -a TESTS <<<"$VALGRIND_TESTS"
	case " ${TESTS[*]} " in *" setup "*) ;; *) TESTS=(setup "${TESTS[@]}") ;; esac
else
	read -r -a TESTS <<<"$(sed -n 's/^REGRESS[[:space:]]*=[[:space:]]*//p' Makefile | head -n 1)"
fi
[ ${#TESTS[@]} -gt 0 ] || cvx_die "no tests: REGRESS not found in the Makefile"
for t in "${TESTS[@]}"; do
	[ -f "sql/$t.sql" ] || cvx_die "no sql/$t.sql (VALGRIND_TESTS names tests of sql/)"
done

# --- a fresh cluster, set up without valgrind ------------------------------------
cvx_step "Fresh cluster '$NAME' (set up without valgrind)"
cvx_ensure_pg_os_user
cvx_cluster_env "$NAME" "$PORT"
# Is the cluster's postmaster alive?  Like cvx_cluster_running, but a postmaster under
# valgrind is called memcheck-amd64-, not postgres, in /proc.
vg_server_running() {
	local pid
	pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null) || return 1
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	case $(cat "/proc/$pid/comm" 2>/dev/null) in postgres | memcheck-*) ;; *) return 1 ;; esac
	! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}
vg_stop() {
	cvx_as_pg "$BINDIR/pg_ctl" -D "$PGDATA" -m fast -w -t "$START_TIMEOUT" stop >/dev/null && return 0
	vg_server_running || return 0
	cvx_warn "fast shutdown failed: stopping with -m immediate"
	cvx_as_pg "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w -t "$START_TIMEOUT" stop >/dev/null
}
if vg_server_running; then
	cvx_info "the server of the last run is still up (VALGRIND_KEEP=1?): stopping it"
	vg_stop || cvx_die "could not stop the server of $PGDATA"
fi
rm -rf "$CVX_CLUSTER_DIR"
[ "$PGHOST" = "$CVX_CLUSTER_DIR" ] || rm -rf "$PGHOST"
CVX_EXTRA_CONF="${CVX_EXTRA_CONF:-}
# scripts/valgrind.sh
jit = off
log_connections = on"
export CVX_EXTRA_CONF
if ! cvx_cluster_start "$NAME" "$PORT" "$DB" || ! cvx_regress_db_settings "$DB"; then
	cvx_die "could not set up cluster '$NAME' (see $CVX_LOGFILE)"
fi
cvx_cluster_stop "$NAME" || cvx_die "could not stop cluster '$NAME'"

# The logs live next to the cluster: tmp/valgrind-logs/ (or beside the fallback
# directory when the server's OS user cannot reach the tree, see lib.sh).
LOGDIR=$(dirname "$CVX_CLUSTER_DIR")/valgrind-logs
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR/regress"
cp "$SUPP" "$LOGDIR/postgresql.supp"
WRAPPER=$CVX_CLUSTER_DIR/postgres-under-valgrind
# shellcheck disable=SC2206  # VALGRIND_EXTRA_OPTS is split on purpose
VG_OPTS=(--tool=memcheck --trace-children=yes --leak-check=no --track-origins=yes
	--read-var-info=no --num-callers=40 --error-limit=no --fullpath-after=
	--show-error-list=yes "--suppressions=$LOGDIR/postgresql.supp"
	"--log-file=$LOGDIR/%p.log" ${VALGRIND_EXTRA_OPTS:-})
{
	echo '#!/bin/sh'
	echo '# Written by scripts/valgrind.sh: pg_ctl -p runs this instead of postgres.'
	printf 'exec valgrind'
	printf " '%s'" "${VG_OPTS[@]}"
	printf " '%s' \"\$@\"\n" "$BINDIR/postgres"
} >"$WRAPPER"
chmod 755 "$WRAPPER"
if cvx_is_root; then
	chown -R "$CVX_PG_OS_USER": "$LOGDIR"
	chmod 755 "$LOGDIR"
fi
cvx_pg_can_reach "$LOGDIR" || cvx_die "$CVX_PG_OS_USER cannot write to $LOGDIR"

SERVER_UP=0
CHILD=
stop_server() {
	[ "$SERVER_UP" = 1 ] || return 0
	cvx_step "Stopping the server (valgrind writes its lists as each process exits)"
	local t
	t=$(date +%s)
	vg_stop
	SERVER_UP=0
	cvx_info "stopped in $(($(date +%s) - t)) s"
}

# shellcheck disable=SC2317  # invoked by the trap
on_signal() {
	trap - INT TERM
	cvx_err "interrupted"
	# Stopping the server ends pg_regress's sessions: it then fails fast.
	[ "$KEEP" = 1 ] || stop_server
	[ -n "$CHILD" ] && kill "$CHILD" 2>/dev/null
	exit 130
}
trap on_signal INT TERM

# --- the server under valgrind ----------------------------------------------------
cvx_step "Starting the server under valgrind memcheck (slow; up to ${START_TIMEOUT}s)"
cvx_info "valgrind ${VG_OPTS[*]} $BINDIR/postgres -D $PGDATA"
cvx_wait_old_server "$PGDATA"
t=$(date +%s)
if ! cvx_as_pg "$BINDIR/pg_ctl" -D "$PGDATA" -l "$CVX_LOGFILE" -p "$WRAPPER" -w -t "$START_TIMEOUT" start >/dev/null; then
	cvx_err "the server did not start under valgrind; the end of $CVX_LOGFILE:"
	tail -n 30 "$CVX_LOGFILE" >&2
	SERVER_UP=1
	stop_server
	exit 1
fi
SERVER_UP=1
cvx_info "started in $(($(date +%s) - t)) s"
for i in $(seq "$START_TIMEOUT"); do
	[ "$(cvx_psql -d "$DB" -tAc 'SELECT 1' 2>/dev/null)" = 1 ] && break
	[ "$i" = "$START_TIMEOUT" ] && cvx_warn "no connection to $DB yet after ${START_TIMEOUT}s"
	sleep 1
done

# --- pg_regress -------------------------------------------------------------------
cvx_step "pg_regress under valgrind: ${TESTS[*]} (timeout ${REGRESS_TIMEOUT}s)"
t=$(date +%s)
# In the background and waited for, so that an interrupt reaches on_signal at once.
(
	timeout "$REGRESS_TIMEOUT" "$PG_REGRESS" --inputdir=. --outputdir="$LOGDIR/regress" \
		--bindir="$BINDIR" --host="$PGHOST" --port="$PGPORT" --user=postgres \
		--use-existing --dbname="$DB" "${TESTS[@]}" 2>&1 | tee "$LOGDIR/regress.log"
	exit "${PIPESTATUS[0]}"
) &
CHILD=$!
wait "$CHILD"
rc=$?
CHILD=
REGRESS_SECS=$(($(date +%s) - t))
if [ "$rc" -eq 124 ]; then
	REGRESS_RESULT="TIMEOUT after ${REGRESS_TIMEOUT}s"
elif m=$(grep -oE 'All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests (failed|passed)[^.]*' "$LOGDIR/regress.log" | tail -n 1) && [ -n "$m" ]; then
	REGRESS_RESULT=$m
else
	REGRESS_RESULT="exit status $rc"
fi
REGRESS_FAILED=$(awk '/\.\.\. FAILED/ { for (i = 2; i <= NF; i++) if ($i == "...") print $(i - 1) }' \
	"$LOGDIR/regress.log" | tr '\n' ' ')

# --- stop -------------------------------------------------------------------------
if [ "$KEEP" = 1 ]; then
	cvx_step "Leaving cluster '$NAME' running under valgrind (VALGRIND_KEEP=1)"
	cvx_info "connect: psql -h $PGHOST -p $PGPORT -U postgres $DB"
	cvx_info "stop:    the next bash scripts/valgrind.sh, or"
	cvx_info "         $( cvx_is_root && printf 'runuser -u %s -- ' "$CVX_PG_OS_USER")$BINDIR/pg_ctl -D $PGDATA -m fast stop"
	cvx_info "(scripts/cluster.sh does not see a server under valgrind: its process is not called postgres)"
	cp "$CVX_LOGFILE" "$LOGDIR/postgres.log" 2>/dev/null
else
	stop_server
	cp "$CVX_LOGFILE" "$LOGDIR/postgres.log" 2>/dev/null
	cvx_cluster_destroy "$NAME" >/dev/null
fi
trap - INT TERM

# --- the valgrind logs ------------------------------------------------------------
cvx_step "Reading the valgrind logs ($LOGDIR)"
shopt -s nullglob
LOGS=("$LOGDIR"/[0-9]*.log)
shopt -u nullglob
if [ ${#LOGS[@]} -eq 0 ]; then
	cvx_die "no valgrind log in $LOGDIR: did the server run under valgrind?"
fi
# convexlite's source files, by name: a frame "(…/src/NAME:LINE)" is convexlite's.
CVX_SOURCES=$(cd src && find . -maxdepth 2 -name '*.[ch]' | sed 's|^\./||' | tr '\n' ' ')

# pid -> test, from the server log's "connection authorized" lines.
APPS=$(sed -nE 's/^.* \[([0-9]+)\] .*connection authorized: .*application_name=([^ ]+).*/\1 \2/p' \
	"$LOGDIR/postgres.log" 2>/dev/null | tr '\n' ' ')

SUMMARY=$LOGDIR/summary.txt
awk -v sources="$CVX_SOURCES" -v apps="$APPS" -v show="$SHOW" -v nlogs="${#LOGS[@]}" \
	-v regress="$REGRESS_RESULT" -v regress_failed="$REGRESS_FAILED" -v regress_secs="$REGRESS_SECS" \
	-v logdir="$LOGDIR" -f /dev/fd/3 "${LOGS[@]}" 3<<'AWK' >"$SUMMARY"
# Valgrind log lines are "==PID== text" (errors) or "--PID-- text" (notes).  An error is
# a header line followed by "   at 0x…" and "   by 0x…" frames, maybe auxiliary stacks
# (" Address … alloc'd", " Uninitialised value was created by …"), up to a blank line.
# At exit (--show-error-list=yes) valgrind lists every error context again, each after
# "N errors in context K of M:", and the suppressions used: "used_suppression: N name".
function is_cvx_frame(line,    p, path, n, parts, base) {
	if (line ~ /convexlite\.so/) return 1
	if (!match(line, /\([^()]*:[0-9]+\)$/)) return 0
	path = substr(line, RSTART + 1, RLENGTH - 2)
	sub(/:[0-9]+$/, "", path)
	n = split(path, parts, "/")
	if (n >= 2 && parts[n - 1] == "src" && (parts[n] in src)) return 1
	if (n >= 3 && parts[n - 2] == "src" && parts[n - 1] == "core" && (("core/" parts[n]) in src)) return 1
	return 0
}
function frame_key(line) {
	sub(/^ *(at|by) 0x[0-9A-Fa-f]+: /, "", line)
	return line
}
function flush_block(    key, i) {
	if (!inblock) return
	inblock = 0
	if (top == "") top = anytop
	if (inexit) {
		nexitb++
		eb_head[nexitb] = head; eb_text[nexitb] = text; eb_key[nexitb] = stackkey
		eb_cvx[nexitb] = cvx; eb_aux[nexitb] = auxcvx; eb_n[nexitb] = pending_count; eb_top[nexitb] = top
	} else {
		nliveb++
		lb_head[nliveb] = head; lb_text[nliveb] = text; lb_key[nliveb] = stackkey
		lb_cvx[nliveb] = cvx; lb_aux[nliveb] = auxcvx; lb_n[nliveb] = 1; lb_top[nliveb] = top
	}
}
function add_error(h, t, k, c, a, n, tp,    kk, i, kind) {
	contexts++; occurrences += n
	if (c) {
		cvx_contexts++; cvx_occ += n
		kk = h "\n" k
		if (!(kk in cvx_seen)) { ncvx++; cvx_seen[kk] = ncvx; cvx_text[ncvx] = t; cvx_pids[ncvx] = "" }
		i = cvx_seen[kk]; cvx_count[i] += n
		cvx_pids[i] = cvx_pids[i] " " pid
		return
	}
	kind = h " -- at " tp
	if (!(kind in out_ctx)) { nkinds++; kinds[nkinds] = kind }
	out_ctx[kind]++; out_occ[kind] += n; out_contexts++; out_occ_total += n
	if (a) {
		kk = h "\n" k
		if (!(kk in aux_seen)) { naux++; aux_seen[kk] = naux; aux_text[naux] = t; aux_pids[naux] = "" }
		i = aux_seen[kk]; aux_count[i] += n; aux_pids[i] = aux_pids[i] " " pid
	}
}
function end_file(    i) {
	if (curfile == "") return
	flush_block()
	nproc++
	if (nexitb > 0 || summary_seen) {
		for (i = 1; i <= nexitb; i++) add_error(eb_head[i], eb_text[i], eb_key[i], eb_cvx[i], eb_aux[i], eb_n[i], eb_top[i])
	} else {
		unfinished++
		for (i = 1; i <= nliveb; i++) add_error(lb_head[i], lb_text[i], lb_key[i], lb_cvx[i], lb_aux[i], lb_n[i], lb_top[i])
	}
	if (nexitb + nliveb > 0) procs_with_errors++
	nexitb = 0; nliveb = 0; inexit = 0; summary_seen = 0; inblock = 0; prev = ""
}
BEGIN {
	n = split(sources, tmp, " ")
	for (i = 1; i <= n; i++) src[tmp[i]] = 1
	n = split(apps, tmp, " ")
	for (i = 1; i + 1 <= n; i += 2) app[tmp[i]] = tmp[i + 1]
}
FNR == 1 { end_file(); curfile = FILENAME; pid = FILENAME; sub(/^.*\//, "", pid); sub(/\.log$/, "", pid) }
{
	line = $0
	if (line !~ /^(==|--)[0-9]+(==|--)/) next
	note = (line ~ /^--/)
	sub(/^(==|--)[0-9]+(==|--) ?/, "", line)
	if (line == "") { flush_block(); prev = ""; next }
	if (note) {
		if (match(line, /^used_suppression: +[0-9]+ /)) {
			split(line, f, " ")
			supp_total += f[2]
			if (!(f[3] in supp_n)) { nsupp++; supps[nsupp] = f[3] }
			supp_n[f[3]] += f[2]
		}
		next
	}
	if (line ~ /^ERROR SUMMARY: /) { summary_seen = 1; next }
	if (line ~ /^[0-9]+ errors in context [0-9]+ of [0-9]+:$/) {
		flush_block(); inexit = 1; split(line, f, " "); pending_count = f[1] + 0; prev = ""; next
	}
	if (line ~ /^ +(at|by) 0x/) {
		if (!inblock) {
			if (prev == "" || prev ~ /^Warning:/ || prev ~ /^ /) { prev = line; next }
			inblock = 1; head = prev; text = prev; stackkey = ""; cvx = 0; auxcvx = 0; inaux = 0; top = ""; anytop = ""
			if (!inexit) pending_count = 1
		}
		text = text "\n" line
		if (inaux) { if (is_cvx_frame(line)) auxcvx = 1 }
		else {
			if (is_cvx_frame(line)) cvx = 1
			stackkey = stackkey "\n" frame_key(line)
			# the kind's frame: the first named frame in PostgreSQL (its libraries,
			# pg_cron, convexlite) rather than in libc or valgrind's preload
			fk = frame_key(line)
			if (top == "" && fk !~ /^\?\?\? / && line ~ /\/lib\/postgresql\//) { top = fk; sub(/ \(.*$/, "", top) }
			if (anytop == "" && fk !~ /^\?\?\? / && line !~ /vgpreload/) { anytop = fk; sub(/ \(.*$/, "", anytop) }
		}
		next
	}
	if (inblock) { inaux = 1; text = text "\n" line; next }
	prev = line
}
END {
	end_file()
	printf "valgrind memcheck on the pg_regress suite (logs: %s)\n\n", logdir
	printf "pg_regress: %s (%d s)%s\n", regress, regress_secs, (regress_failed != "" ? "; differing: " regress_failed : "")
	printf "processes: %d valgrind logs, %d with errors", nproc, procs_with_errors + 0
	if (unfinished) printf ", %d without an exit list (still running, or killed)", unfinished
	printf "\n"
	printf "errors: %d (%d contexts); outside convexlite %d (%d contexts); IN CONVEXLITE %d (%d contexts)\n",
		occurrences, contexts, out_occ_total, out_contexts, cvx_occ, cvx_contexts
	printf "suppressed (known false positives, test/valgrind/postgresql.supp): %d\n", supp_total
	printf "\nErrors outside convexlite, by kind and first frame (occurrences / contexts):\n"
	if (nkinds == 0) printf "  none\n"
	for (i = 1; i <= nkinds; i++) printf "  %6d / %-4d %s\n", out_occ[kinds[i]], out_ctx[kinds[i]], kinds[i]
	printf "\nSuppressions used (test/valgrind/postgresql.supp; occurrences summed over processes):\n"
	if (nsupp == 0) printf "  none\n"
	for (i = 1; i <= nsupp; i++) printf "  %6d  %s\n", supp_n[supps[i]], supps[i]
	if (naux > 0) {
		printf "\nErrors outside convexlite with convexlite frames in an allocation/origin stack only\n"
		printf "(worth a look, not counted against convexlite: see the header of scripts/valgrind.sh): %d\n", naux
		for (i = 1; i <= naux && i <= show; i++) {
			printf "\n--- %d occurrence(s), process(es)%s\n%s\n", aux_count[i], pidlist(aux_pids[i]), aux_text[i]
		}
	}
	printf "\nErrors in convexlite: %d distinct stack(s)\n", ncvx
	for (i = 1; i <= ncvx && i <= show; i++) {
		printf "\n--- error %d: %d occurrence(s), process(es)%s\n%s\n", i, cvx_count[i], pidlist(cvx_pids[i]), cvx_text[i]
	}
	if (ncvx > show) printf "\n(%d more: see the logs)\n", ncvx - show
	exit(ncvx > 0 ? 3 : 0)
}
function pidlist(s,    n, p, i, out, seen) {
	n = split(s, p, " ")
	out = ""
	for (i = 1; i <= n; i++) {
		if (p[i] in seen) continue
		seen[p[i]] = 1
		out = out " " p[i] ".log" ((p[i] in app) ? " (" app[p[i]] ")" : "")
	}
	return out
}
AWK
AWK_RC=$?
cat "$SUMMARY"
echo
cvx_info "wall time $(($(date +%s) - T0)) s; summary in $SUMMARY"
if [ "$AWK_RC" -eq 0 ]; then
	cvx_ok "valgrind: no error in convexlite's code"
	exit 0
elif [ "$AWK_RC" -eq 3 ]; then
	cvx_err "valgrind: errors in convexlite's code (above; full logs in $LOGDIR)"
	exit 1
else
	cvx_err "could not parse the valgrind logs (awk exit $AWK_RC)"
	exit 1
fi
