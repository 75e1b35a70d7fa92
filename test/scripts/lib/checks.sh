# shellcheck shell=bash
# test/scripts/lib/checks.sh: what the script tests share.  Source it after
# setting DB (the database the test creates and drops) and, optionally,
# ROLE (a role to drop at exit).  Provides PSQL_BIN, PGBENCH, WORK (a
# scratch directory), psql_db/psql_admin/q, and PASS/FAIL bookkeeping in
# CHECKS and FAILURES, wait_for; cleanup at exit drops DB (and ROLE) and WORK.

: "${DB:?set DB before sourcing checks.sh}"
PG_BIN=/usr/lib/postgresql/15/bin
PSQL_BIN=$(command -v psql || echo "$PG_BIN/psql")
# shellcheck disable=SC2034  # used by the scripts that source this
PGBENCH=$(command -v pgbench || echo "$PG_BIN/pgbench")
# shellcheck disable=SC2034
WORK=$(mktemp -d "${TMPDIR:-/tmp}/$(basename "$0" .sh).XXXXXX")
FAILURES=0
CHECKS=0

psql_db() { "$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
psql_admin() { "$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
# q SQL: one value from the test database (as the superuser)
q() { psql_db -At -c "$1"; }

pass() {
	CHECKS=$((CHECKS + 1))
	echo "PASS: $*"
}
fail() {
	CHECKS=$((CHECKS + 1))
	FAILURES=$((FAILURES + 1))
	echo "FAIL: $*"
}
# check DESCRIPTION EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then
		pass "$1 ($3)"
	else
		fail "$1: expected $2, got $3"
	fi
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

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	"$PSQL_BIN" -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
		${ROLE:+-c "DROP ROLE IF EXISTS $ROLE"} >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
