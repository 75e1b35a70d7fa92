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
# and stop and remove the cluster (its server log is kept as tmp/test-logs/postgres.log).
#
# The summary has one line per suite (or script): its status, its test files
# (a pg_regress test, a pgTAP file, a script, the unit-test program) passed and
# failed, and its assertions (a pg_regress test's expected output, a pgTAP test,
# a PASS/FAIL line of a script, a unit check) passed and failed.  The last line
# of output is machine-readable:
#   N test files passed, N failed; N assertions passed, N failed
# and the exit status is 1 if anything failed.  What the run leaves under tmp/:
# tmp/test-logs/ (the logs) and caches (tmp/oracle/, the npm package
# index_order.sh compares with); a cluster a script started and left behind is
# removed after the script.  `make clean-tmp` (scripts/clean.sh) removes the rest.
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

TESTS_PASSED=0
TESTS_FAILED=0
ASSERTS_PASSED=0
ASSERTS_FAILED=0
SUMMARY=()
CLUSTER_UP=0

# record SUITE STATUS FILES_PASSED FILES_FAILED ASSERTIONS_PASSED ASSERTIONS_FAILED SECONDS [NOTE]
# (a step that is no test, like the build, records 0 0 0 0, or 0 1 0 0 when it failed)
record() {
	local suite=$1 status=$2 tp=$3 tf=$4 ap=$5 af=$6 secs=$7 note=${8:-}
	TESTS_PASSED=$((TESTS_PASSED + tp))
	TESTS_FAILED=$((TESTS_FAILED + tf))
	ASSERTS_PASSED=$((ASSERTS_PASSED + ap))
	ASSERTS_FAILED=$((ASSERTS_FAILED + af))
	SUMMARY+=("$(printf '%-34s %-7s %4s/%-4s %6s/%-5s %5ss  %s' "$suite" "$status" "$tp" "$tf" "$ap" "$af" "$secs" "$note")")
}

# script_assertions LOG: "PASSED FAILED", the PASS:/FAIL: lines (and TAP ok /
# not ok lines) a test script printed
script_assertions() {
	local p f
	p=$(grep -cE '^(PASS: |ok [0-9])' "$1")
	f=$(grep -cE '^(FAIL: |not ok [0-9])' "$1")
	echo "$p $f"
}

# clusters_now: the throwaway clusters that exist (tmp/NAME/data, or the /tmp
# fallback directory of this tree)
clusters_now() {
	local d
	for d in "$CVX_ROOT"/tmp/*/data "$(dirname "$(cvx_cluster_dir_fallback x)")"/*/data; do
		if [ -d "$d" ]; then basename "$(dirname "$d")"; fi
	done | sort -u
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
			# the data directory (WAL of the large uploads included) is throwaway;
			# the server log is kept with the other logs
			[ -f "$CVX_LOGFILE" ] && cp "$CVX_LOGFILE" "$LOGDIR/postgres.log"
			cvx_cluster_destroy "$NAME" >/dev/null
			CVX_LOGFILE=$LOGDIR/postgres.log
		fi
		# A backend that crashed is worth seeing even when the suites passed.
		if [ -f "$CVX_LOGFILE" ] && grep -qE 'terminated by signal|was terminated by exception' "$CVX_LOGFILE"; then
			cvx_warn "the server log records crashed backends (some tests may do this on purpose):"
			grep -E 'terminated by signal|was terminated by exception' "$CVX_LOGFILE" | tail -n 10 >&2
		fi
	fi
	[ "$TESTS_FAILED" -eq 0 ] && [ "$ASSERTS_FAILED" -eq 0 ] || status=FAILED
	if [ "$status" = FAILED ] && [ "$CLUSTER_UP" = 1 ] && [ -f "$CVX_LOGFILE" ]; then
		cvx_step "The end of the server log ($CVX_LOGFILE)"
		tail -n 40 "$CVX_LOGFILE"
	fi
	cvx_step "Summary ($(($(date +%s) - T0)) s; logs in tmp/test-logs/)"
	printf '%-34s %-7s %9s %12s %6s\n' "suite" "status" "files p/f" "asserts p/f" "time"
	printf '%s\n' "${SUMMARY[@]}"
	echo
	echo "convexlite tests: $status"
	echo "$TESTS_PASSED test files passed, $TESTS_FAILED failed; $ASSERTS_PASSED assertions passed, $ASSERTS_FAILED failed"
	[ "$status" = PASSED ]
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
	record deps FAILED 0 1 0 0 $(($(date +%s) - t)) "missing Debian packages"
	finish
fi

# --- build and install ---------------------------------------------------------
t=$(date +%s)
BUILD_OK=1
if run_logged "$LOGDIR/build.log" cvx_build_install; then
	record build ok 0 0 0 0 $(($(date +%s) - t))
else
	BUILD_OK=0
	record build FAILED 0 1 0 0 $(($(date +%s) - t)) "see tmp/test-logs/build.log"
fi

# --- unit tests ----------------------------------------------------------------
cvx_step "Suite unit: make unittest"
t=$(date +%s)
if ! compgen -G "test/unit/*.c" >/dev/null; then
	cvx_info "no test/unit/*.c yet: skipped"
	record unit skipped 0 0 0 0 0 "no test/unit/*.c"
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
	if [ "$st" = ok ]; then tp=1 tf=0; else tp=0 tf=1; fi
	record unit "$st" "$tp" "$tf" "$p" "$f" $(($(date +%s) - t)) "the unit-test program's checks"
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
		record cluster ok 0 0 0 0 $(($(date +%s) - t))
	else
		record cluster FAILED 0 1 0 0 $(($(date +%s) - t)) "see $CVX_LOGFILE"
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
	record regress skipped 0 0 0 0 0 "no sql/*.sql"
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
	# each pg_regress test is one file and one assertion (its expected output)
	record regress "$st" "$p" "$f" "$p" "$f" $(($(date +%s) - t))
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
	record pgtap skipped 0 0 0 0 0 "no test/pgtap/*.sql"
else
	run_logged "$LOGDIR/pgtap.log" timeout "$SUITE_TIMEOUT" bash scripts/pgtap.sh test/pgtap/*.sql
	rc=$?
	log=$LOGDIR/pgtap.log
	line=$(grep -E '^pgtap-summary: ' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		val() { sed -nE "s/.* $1=([0-9]+).*/\1/p" <<<"$line"; }
		p=$(val passed) f=$(val failed) planned=$(val planned) ran=$(val ran) notrun=$(val notrun)
		leaked=$(val leaked) nfiles=$(val files) ffiles=$(val failed_files)
	else
		p=0 f=1 planned=0 ran=0 notrun=0 leaked=0 nfiles=0 ffiles=1
	fi
	ffiles=${ffiles:-0}
	[ "$rc" -ne 0 ] && [ "$ffiles" -eq 0 ] && [ "$leaked" -eq 0 ] && ffiles=1
	note="planned $planned, ran $ran"
	if [ "$notrun" -gt 0 ]; then
		note="$note: $notrun did not run ($(sed -nE 's/^pgtap-notrun: ([^ ]+) .*/\1/p' "$log" | paste -sd' ' -))"
	fi
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && [ "$leaked" -eq 0 ] && f=1
	if [ "$f" -eq 0 ]; then st=ok; else st=FAILED; fi
	[ "$rc" -eq 124 ] && st=TIMEOUT
	record pgtap "$st" $((nfiles - ffiles < 0 ? 0 : nfiles - ffiles)) "$ffiles" "$p" "$f" $(($(date +%s) - t)) "$note"
	# one check per file: it left the database as it found it
	if [ "$leaked" -gt 0 ]; then
		record "pgtap self-contained" FAILED 0 0 $((nfiles - leaked)) "$leaked" 0 \
			"leaked: $(sed -nE 's/^pgtap-leaked: (.*)/\1/p' "$log" | paste -sd' ' -)"
	else
		record "pgtap self-contained" ok 0 0 "$nfiles" 0 0 "each file left the catalog as it found it (one assertion a file)"
	fi
fi

# --- test scripts --------------------------------------------------------------
cvx_step "Suite scripts: test/scripts/*.sh"
if ! compgen -G "test/scripts/*.sh" >/dev/null; then
	cvx_info "no test/scripts/*.sh yet: skipped"
	record scripts skipped 0 0 0 0 0 "no test/scripts/*.sh"
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
		before=$(clusters_now)
		run_logged "$LOGDIR/script-$base.log" timeout "$SCRIPT_TIMEOUT" "$script" </dev/null
		rc=$?
		read -r ap af < <(script_assertions "$LOGDIR/script-$base.log")
		if [ "$rc" -eq 0 ]; then
			record "script $base" ok 1 0 "$ap" "$af" $(($(date +%s) - t))
		elif [ "$rc" -eq 124 ]; then
			record "script $base" TIMEOUT 0 1 "$ap" "$af" $(($(date +%s) - t)) "killed after ${SCRIPT_TIMEOUT}s"
		else
			record "script $base" FAILED 0 1 "$ap" "$af" $(($(date +%s) - t)) "exit $rc; tmp/test-logs/script-$base.log"
		fi
		# a cluster of its own the script left behind (killed by the timeout, say)
		comm -13 <(printf '%s\n' "$before") <(clusters_now) | while read -r leftover; do
			[ -n "$leftover" ] && [ "$leftover" != "$NAME" ] || continue
			cvx_warn "script $base left cluster '$leftover' behind: removing it"
			(cvx_cluster_destroy "$leftover") >/dev/null 2>&1
		done
	done
fi

finish
