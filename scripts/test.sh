#!/usr/bin/env bash
# scripts/test.sh: build, install and run every test suite of convexlite.
#
#   bash scripts/test.sh         (also: make test; CI runs it through .ci/run)
#
# Steps: install missing Debian packages (as root), make && make install, start a fresh
# throwaway cluster 'test' (port 54332, pg_cron and convexlite preloaded, cron database
# contrib_regression), then run, keeping going past failures:
#   unit      make unittest                     (core C tests, no server)
#   regress   make installcheck                 (pg_regress: sql/*.sql vs expected/*.out)
#   pgtap     scripts/pgtap.sh test/pgtap/*.sql (pg_prove file by file against
#             contrib_regression; tests that did not run and leaks fail)
#   scripts   each executable test/scripts/*.sh (concurrency, crash, memory tests)
# and stop the cluster.  The last line of output is "N passed, N failed", counting
# individual tests where the suite reports them; the exit status is 1 if anything failed.
#
# Each test/scripts/*.sh runs from the repository root with PGHOST, PGPORT, PGUSER,
# PGDATABASE=contrib_regression, PATH starting with PostgreSQL 15's bin directory, and
# CVX_ROOT, CVX_CLUSTER=test, PGDATA, CVX_LOGFILE, CVX_PG_BINDIR, CVX_PG_OS_USER; it may
# source scripts/lib.sh and call e.g. `cvx_cluster_restart test`.  If a script leaves
# the server down, it is started again before the next suite.
#
# Environment: KEEP_CLUSTER=1 leaves the cluster running afterwards;
# CVX_SCRIPT_TIMEOUT (default 300) and CVX_SUITE_TIMEOUT (default 600) in seconds;
# CVX_TEST_SCRIPTS, when set, names the test/scripts to run (basenames without .sh,
# space-separated; set and empty runs none): test/mutation/run.sh uses it.
set -uo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CVX_ROOT" || exit 1

NAME="test"
PORT=54332
DB=contrib_regression
KEEP_CLUSTER=${KEEP_CLUSTER:-0}
SCRIPT_TIMEOUT=${CVX_SCRIPT_TIMEOUT:-300}
SUITE_TIMEOUT=${CVX_SUITE_TIMEOUT:-600}
LOGDIR=$CVX_ROOT/tmp/test-logs
T0=$(date +%s)

TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()
CLUSTER_UP=0

# record SUITE STATUS PASSED FAILED SECONDS [NOTE]
record() {
	local suite=$1 status=$2 passed=$3 failed=$4 secs=$5 note=${6:-}
	TOTAL_PASSED=$((TOTAL_PASSED + passed))
	TOTAL_FAILED=$((TOTAL_FAILED + failed))
	SUMMARY+=("$(printf '%-34s %-7s %5s passed %5s failed %5ss  %s' "$suite" "$status" "$passed" "$failed" "$secs" "$note")")
}

# run_logged LOGFILE CMD...: run CMD, showing its output and keeping a copy; returns
# CMD's status.  It runs in the background and is waited for, so that an interrupt
# reaches on_signal at once (timeout(1) puts its command in a process group of its own,
# out of reach of the terminal's Ctrl-C).
CHILD=
run_logged() {
	local log=$1 rc
	shift
	("$@" 2>&1 | tee "$log"; exit "${PIPESTATUS[0]}") &
	CHILD=$!
	wait "$CHILD"
	rc=$?
	CHILD=
	return "$rc"
}

# ensure_cluster: start the cluster again if a suite left it down.
ensure_cluster() {
	[ "$CLUSTER_UP" = 1 ] || return 1
	cvx_cluster_running "$NAME" && return 0
	cvx_warn "cluster '$NAME' is down after the last suite: starting it again"
	cvx_cluster_start "$NAME" "$PORT" "$DB"
}

finish() {
	local status=PASSED
	if [ "$CLUSTER_UP" = 1 ]; then
		if [ "$KEEP_CLUSTER" = 1 ]; then
			ensure_cluster >/dev/null
			cvx_step "Leaving cluster '$NAME' running (KEEP_CLUSTER=1)"
			cvx_info "connect: psql -h $PGHOST -p $PGPORT -U postgres $DB"
			cvx_info "stop:    scripts/cluster.sh stop $NAME"
		else
			cvx_cluster_stop "$NAME"
		fi
		# A backend that crashed is worth seeing even when the suites passed.
		if [ -f "$CVX_LOGFILE" ] && grep -qE 'terminated by signal|was terminated by exception' "$CVX_LOGFILE"; then
			cvx_warn "the server log records crashed backends (some tests may do this on purpose):"
			grep -E 'terminated by signal|was terminated by exception' "$CVX_LOGFILE" | tail -n 10 >&2
		fi
	fi
	[ "$TOTAL_FAILED" -eq 0 ] || status=FAILED
	if [ "$status" = FAILED ] && [ "$CLUSTER_UP" = 1 ] && [ -f "$CVX_LOGFILE" ]; then
		cvx_step "The end of the server log ($CVX_LOGFILE)"
		tail -n 40 "$CVX_LOGFILE"
	fi
	cvx_step "Summary ($(($(date +%s) - T0)) s; logs in tmp/test-logs/)"
	printf '%s\n' "${SUMMARY[@]}"
	echo
	echo "convexlite tests: $status"
	echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
	[ "$TOTAL_FAILED" -eq 0 ]
	exit $?
}

# shellcheck disable=SC2317  # invoked by the trap
on_signal() {
	local s
	trap - INT TERM
	cvx_err "interrupted"
	if [ -n "$CHILD" ]; then
		# The running suite's processes: timeout passes the signal on to its command.
		grep -l "^PPid:[[:space:]]*$CHILD\$" /proc/[0-9]*/status 2>/dev/null | while read -r s; do
			s=${s#/proc/}
			kill -TERM "${s%/status}" 2>/dev/null
		done
		wait "$CHILD" 2>/dev/null
	fi
	[ "$CLUSTER_UP" = 1 ] && [ "$KEEP_CLUSTER" != 1 ] && cvx_cluster_stop "$NAME"
	exit 130
}
trap on_signal INT TERM

mkdir -p "$LOGDIR"

# --- dependencies --------------------------------------------------------------
t=$(date +%s)
if ! (cvx_install_deps all); then
	record deps FAILED 0 1 $(($(date +%s) - t)) "missing Debian packages"
	finish
fi

# --- build and install ---------------------------------------------------------
t=$(date +%s)
BUILD_OK=1
if run_logged "$LOGDIR/build.log" cvx_build_install; then
	record build ok 0 0 $(($(date +%s) - t))
else
	BUILD_OK=0
	record build FAILED 0 1 $(($(date +%s) - t)) "see tmp/test-logs/build.log"
fi

# --- unit tests ----------------------------------------------------------------
cvx_step "Suite unit: make unittest"
t=$(date +%s)
if ! compgen -G "test/unit/*.c" >/dev/null; then
	cvx_info "no test/unit/*.c yet: skipped"
	record unit skipped 0 0 0 "no test/unit/*.c"
else
	run_logged "$LOGDIR/unit.log" timeout "$SUITE_TIMEOUT" make --no-print-directory unittest PG_CONFIG="$PG_CONFIG"
	rc=$?
	line=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed' "$LOGDIR/unit.log" | tail -n 1)
	if [ -n "$line" ]; then
		p=$(sed -E 's/^unit: ([0-9]+) passed.*/\1/' <<<"$line")
		f=$(sed -E 's/^unit: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	elif [ "$rc" -eq 0 ]; then
		p=1 f=0
	else
		p=0 f=1
	fi
	if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]; then st=ok; else st=FAILED; fi
	[ "$rc" -eq 124 ] && st=TIMEOUT
	record unit "$st" "$p" "$f" $(($(date +%s) - t))
fi

# --- cluster -------------------------------------------------------------------
if [ "$BUILD_OK" = 1 ]; then
	t=$(date +%s)
	cvx_step "Fresh cluster '$NAME'"
	cvx_cluster_destroy "$NAME" >/dev/null
	if cvx_cluster_start "$NAME" "$PORT" "$DB" && cvx_regress_db_settings "$DB"; then
		CLUSTER_UP=1
		export PGDATABASE=$DB
		export PATH="$CVX_PG_BINDIR:$PATH"
		record cluster ok 0 0 $(($(date +%s) - t))
	else
		record cluster FAILED 0 1 $(($(date +%s) - t)) "see $CVX_LOGFILE"
	fi
fi
if [ "$CLUSTER_UP" != 1 ]; then
	cvx_warn "no cluster (the build or the server start failed): skipping the suites that need one"
	finish
fi

# --- pg_regress ----------------------------------------------------------------
cvx_step "Suite regress: make installcheck"
t=$(date +%s)
if ! compgen -G "sql/*.sql" >/dev/null; then
	cvx_info "no sql/*.sql yet: skipped"
	record regress skipped 0 0 0 "no sql/*.sql"
else
	rm -f regression.diffs regression.out
	# --use-existing: pg_regress cannot drop contrib_regression while pg_cron's launcher
	# is connected to it; the cluster is fresh and the database has pg_regress's settings.
	run_logged "$LOGDIR/regress.log" timeout "$SUITE_TIMEOUT" \
		make --no-print-directory installcheck PG_CONFIG="$PG_CONFIG" EXTRA_REGRESS_OPTS=--use-existing
	rc=$?
	log=$LOGDIR/regress.log
	if m=$(grep -oE 'All [0-9]+ tests passed' "$log" | tail -n 1) && [ -n "$m" ]; then
		p=$(grep -oE '[0-9]+' <<<"$m") f=0
	elif m=$(grep -oE '[0-9]+ of [0-9]+ tests failed' "$log" | tail -n 1) && [ -n "$m" ]; then
		f=$(awk '{print $1}' <<<"$m")
		p=$(($(awk '{print $3}' <<<"$m") - f))
	elif m=$(grep -oE '[0-9]+ of [0-9]+ tests passed' "$log" | tail -n 1) && [ -n "$m" ]; then
		p=$(awk '{print $1}' <<<"$m") f=0
	elif [ "$rc" -eq 0 ]; then
		p=1 f=0
	else
		p=0 f=1
	fi
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	if [ "$rc" -eq 0 ]; then st=ok; else st=FAILED; fi
	[ "$rc" -eq 124 ] && st=TIMEOUT
	if [ -s regression.diffs ]; then
		cvx_step "regression.diffs (first 300 of $(wc -l <regression.diffs) lines)"
		head -n 300 regression.diffs
	fi
	record regress "$st" "$p" "$f" $(($(date +%s) - t))
fi

# --- pgTAP ---------------------------------------------------------------------
# scripts/pgtap.sh runs the files one at a time, each from a fresh convexlite,
# counts the tests a file planned but did not reach (it aborted) as failed, and
# compares a snapshot of the catalog before and after each file (a file that
# leaves a schema, role, table, row, mutation, job or large object behind fails).
ensure_cluster >/dev/null
cvx_step "Suite pgtap: scripts/pgtap.sh test/pgtap/*.sql"
t=$(date +%s)
if ! compgen -G "test/pgtap/*.sql" >/dev/null; then
	cvx_info "no test/pgtap/*.sql yet: skipped"
	record pgtap skipped 0 0 0 "no test/pgtap/*.sql"
else
	run_logged "$LOGDIR/pgtap.log" timeout "$SUITE_TIMEOUT" bash scripts/pgtap.sh test/pgtap/*.sql
	rc=$?
	log=$LOGDIR/pgtap.log
	line=$(grep -E '^pgtap-summary: ' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		val() { sed -nE "s/.* $1=([0-9]+).*/\1/p" <<<"$line"; }
		p=$(val passed) f=$(val failed) planned=$(val planned) ran=$(val ran) notrun=$(val notrun)
		leaked=$(val leaked) nfiles=$(val files)
	else
		p=0 f=1 planned=0 ran=0 notrun=0 leaked=0 nfiles=0
	fi
	note="planned $planned, ran $ran"
	if [ "$notrun" -gt 0 ]; then
		note="$note: $notrun did not run ($(sed -nE 's/^pgtap-notrun: ([^ ]+) .*/\1/p' "$log" | paste -sd' ' -))"
	fi
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && [ "$leaked" -eq 0 ] && f=1
	if [ "$f" -eq 0 ]; then st=ok; else st=FAILED; fi
	[ "$rc" -eq 124 ] && st=TIMEOUT
	record pgtap "$st" "$p" "$f" $(($(date +%s) - t)) "$note"
	# one check per file: it left the database as it found it
	if [ "$leaked" -gt 0 ]; then
		record "pgtap self-contained" FAILED $((nfiles - leaked)) "$leaked" 0 \
			"leaked: $(sed -nE 's/^pgtap-leaked: (.*)/\1/p' "$log" | paste -sd' ' -)"
	else
		record "pgtap self-contained" ok "$nfiles" 0 0 "each file left the catalog as it found it"
	fi
fi

# --- test scripts --------------------------------------------------------------
cvx_step "Suite scripts: test/scripts/*.sh"
if ! compgen -G "test/scripts/*.sh" >/dev/null; then
	cvx_info "no test/scripts/*.sh yet: skipped"
	record scripts skipped 0 0 0 "no test/scripts/*.sh"
else
	for script in test/scripts/*.sh; do
		if [ ! -x "$script" ]; then
			cvx_warn "$script is not executable: skipped (chmod +x it to run it)"
			continue
		fi
		base=$(basename "$script" .sh)
		if [ -n "${CVX_TEST_SCRIPTS+set}" ] && [[ " $CVX_TEST_SCRIPTS " != *" $base "* ]]; then
			continue
		fi
		ensure_cluster >/dev/null
		cvx_step "Script $script (timeout ${SCRIPT_TIMEOUT}s)"
		t=$(date +%s)
		run_logged "$LOGDIR/script-$base.log" timeout "$SCRIPT_TIMEOUT" "$script" </dev/null
		rc=$?
		if [ "$rc" -eq 0 ]; then
			record "script $base" ok 1 0 $(($(date +%s) - t))
		elif [ "$rc" -eq 124 ]; then
			record "script $base" TIMEOUT 0 1 $(($(date +%s) - t)) "killed after ${SCRIPT_TIMEOUT}s"
		else
			record "script $base" FAILED 0 1 $(($(date +%s) - t)) "exit $rc; tmp/test-logs/script-$base.log"
		fi
	done
fi

finish
