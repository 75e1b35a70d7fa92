#!/usr/bin/env bash
# scripts/demo.sh: see convexlite work, from nothing to every mutation.
#
#   bash scripts/demo.sh          (also: make demo)
#
# Installs missing Debian packages (as root), builds and installs the extension, starts
# the throwaway cluster 'demo' (port 54331, pg_cron and convexlite preloaded), recreates
# the database convexlite_demo with CREATE EXTENSION pg_cron and convexlite, and runs
# scripts/demo.sql with every statement echoed (psql --echo-queries).  The cluster is left running.
#
# What it prints: one line per setup step (their output goes to tmp/demo.log,
# whose tail is shown if a step fails), then each statement of demo.sql followed
# by its result or its error (with SQLSTATE, e.g. "ERROR:  42501: You must be
# logged in ..."), in order, all on stdout.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CVX_ROOT"

# CVX_DEMO_CLUSTER and CVX_DEMO_PORT name another cluster (test/scripts/demo_output.sh)
NAME=${CVX_DEMO_CLUSTER:-demo}
PORT=${CVX_DEMO_PORT:-54331}
DB=convexlite_demo
DEMO_SQL=scripts/demo.sql

[ -f "$DEMO_SQL" ] || cvx_die "$DEMO_SQL is missing: the demo has nothing to run"

# Everything before the first statement (dependencies, build, cluster) goes to
# tmp/demo.log; a failure there shows the log's tail and stops.
LOG=$CVX_ROOT/tmp/demo.log
mkdir -p "$CVX_ROOT/tmp"
: >"$LOG"
PHASE=
# shellcheck disable=SC2317  # invoked by the trap
on_exit() {
	local rc=$?
	if [ -n "$PHASE" ]; then
		echo "demo: $PHASE failed (exit $rc); the end of tmp/demo.log:"
		tail -n 40 "$LOG" | sed 's/^/    | /'
	fi
}
trap on_exit EXIT
# phase DESCRIPTION: say what is being done, without its output
phase() {
	PHASE=$1
	printf '%s ... ' "$1"
}
done_phase() {
	echo "done"
	PHASE=
}

T0=$(date +%s)
echo "convexlite demo (setup output goes to tmp/demo.log)"
phase "checking Debian packages (installing what is missing)"
(cvx_install_deps all) >>"$LOG" 2>&1 </dev/null
done_phase
phase "building and installing convexlite"
(cvx_build_install) >>"$LOG" 2>&1
done_phase
phase "starting the throwaway cluster '$NAME'"
cvx_cluster_start "$NAME" "$PORT" "$DB" >>"$LOG" 2>&1
# Recreating the database restarts the cluster, which also loads the convexlite.so
# just installed.
cvx_recreate_db "$NAME" "$DB" >>"$LOG" 2>&1
done_phase
phase "creating database $DB with pg_cron and convexlite"
cvx_psql -q -d "$DB" -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION convexlite" >>"$LOG" 2>&1
done_phase
echo "setup took $(($(date +%s) - T0)) s"
echo

# The statements, their results and their errors, in order, on stdout: psql
# echoes each statement it sends, and errors carry their SQLSTATE
# (VERBOSITY verbose) without the C source location.
echo "Running $DEMO_SQL"
set +e
cvx_psql -d "$DB" --echo-queries -P pager=off -v VERBOSITY=verbose -v SHOW_CONTEXT=never -f "$DEMO_SQL" 2>&1 |
	grep -v '^LOCATION:  '
rc=${PIPESTATUS[0]}
set -e
echo
if [ "$rc" -ne 0 ]; then
	echo "demo: $DEMO_SQL stopped with an unexpected error (psql exit $rc)"
	exit "$rc"
fi
echo "Demo done: cluster '$NAME' is still running"
echo "    connect: psql -h $PGHOST -p $PGPORT -U postgres $DB"
echo "         or: scripts/cluster.sh psql $NAME"
echo "    stop:    scripts/cluster.sh stop $NAME"
