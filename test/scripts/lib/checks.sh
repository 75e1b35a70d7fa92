# shellcheck shell=bash
# test/scripts/lib/checks.sh: what the script tests share.  Source it after
# setting DB (the database the test creates and drops) and, optionally,
# ROLE (a role to drop at exit).  Provides PSQL_BIN, PGBENCH, WORK (a
# scratch directory), psql_db/psql_admin/q, fresh_db, PASS/FAIL bookkeeping in CHECKS
# and FAILURES (report.sh), wait_for, wait_server, the helpers of scripts that
# run their own cluster, and check_client_errors; cleanup at exit drops DB
# (and ROLE) and WORK.

: "${DB:?set DB before sourcing checks.sh}"
PG_BIN=/usr/lib/postgresql/15/bin
PSQL_BIN=$(command -v psql || echo "$PG_BIN/psql")
# shellcheck disable=SC2034  # used by the scripts that source this
PGBENCH=$(command -v pgbench || echo "$PG_BIN/pgbench")
# shellcheck disable=SC2034
WORK=$(mktemp -d "${TMPDIR:-/tmp}/$(basename "$0" .sh).XXXXXX")
# shellcheck source=test/scripts/lib/report.sh
. "$(dirname "${BASH_SOURCE[0]}")/report.sh"

psql_db() { "$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
psql_admin() { "$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
# q SQL: one value from the test database (as the superuser)
q() { psql_db -At -c "$1"; }

# fresh_db [no-extension]: drop and create $DB, then CREATE EXTENSION
# convexlite in it (not with no-extension); fails when either fails (the
# caller says what)
fresh_db() {
	psql_admin -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" || return 1
	[ "${1:-}" = no-extension ] && return 0
	psql_db -c "SET client_min_messages = warning" -c "CREATE EXTENSION convexlite" >/dev/null
}

# wait_for DESCRIPTION SQL: poll (up to 10 s) until SQL returns t
wait_for() {
	local _
	for _ in $(seq 200); do
		[ "$(q "$2")" = t ] && return 0
		sleep 0.05
	done
	echo "    (timed out waiting for $1)"
	return 1
}

# wait_server [SECONDS]: until the server accepts queries in $DB again
# (default 30 s); fails when it does not
wait_server() {
	local _
	for _ in $(seq $((${1:-30} * 10))); do
		"$PSQL_BIN" -X -q -d "$DB" -tAc "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# --- scripts on a cluster of their own (they source scripts/lib.sh too and
# set NAME and PORT; DB is the worker's database) ---------------------------

# own_cluster_start [PRELOAD]: (re)start cluster NAME (shared_preload_libraries
# PRELOAD, default pg_cron,convexlite; CVX_EXTRA_CONF passes through); its
# output goes to $WORK/cluster.log; a failure to start ends the script
own_cluster_start() {
	local preload=${1:-pg_cron,convexlite}
	if ! CVX_PRELOAD=$preload cvx_cluster_start "$NAME" "$PORT" "$DB" >>"$WORK/cluster.log" 2>&1; then
		fail "cluster '$NAME' did not start (shared_preload_libraries = '$preload')"
		tail -n 20 "$WORK/cluster.log" | sed 's/^/    | /'
		exit 1
	fi
}

# own_cluster_fresh [PRELOAD]: a leftover of an aborted run destroyed, then
# own_cluster_start
own_cluster_fresh() {
	: >"$WORK/cluster.log"
	if [ -f "$(cvx_cluster_dir "$NAME")/data/convexlite.conf" ]; then
		cvx_cluster_destroy "$NAME" >>"$WORK/cluster.log" 2>&1
	fi
	own_cluster_start "$@"
}

# backend_pid TYPE: the pid of the backend of that backend_type (empty if none)
backend_pid() { q "SELECT pid FROM pg_stat_activity WHERE backend_type = '$1'" 2>/dev/null; }

# wait_backend TYPE OLD_PID: until a backend of that type other than OLD_PID
# runs (20 s); prints its pid
wait_backend() {
	local _ pid
	for _ in $(seq 200); do
		pid=$(backend_pid "$1")
		if [ -n "$pid" ] && [ "$pid" != "$2" ]; then
			echo "$pid"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# check_client_errors DESCRIPTION LOG [ALLOWED]: a pgbench log shows no
# server ERROR (other than lines matching the regex ALLOWED); a crash's lost
# connections are FATAL or "server closed the connection", not ERROR
check_client_errors() {
	local errors
	errors=$(grep -oE 'ERROR:  .*' "$2" | grep -vE "${3:-^$}" | sort | uniq -c)
	if [ -z "$errors" ]; then
		pass "$1"
	else
		fail "$1: clients saw SQL errors"
		printf '%s\n' "$errors" | head -n 10 | sed 's/^/    | /'
	fi
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	"$PSQL_BIN" -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
		${ROLE:+-c "DROP ROLE IF EXISTS $ROLE"} >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
