#!/usr/bin/env bash
# test/stress/auto_failover.sh: pg_auto_failover (Debian's
# postgresql-15-auto-failover and pg_autoctl) as the failover manager of two
# convexlite nodes: the primary dies under load, the monitor promotes the
# secondary, and nothing acknowledged is lost.
#
# Issue 19, part 1 (docs/replication.md, "With pg_auto_failover").  Under
# tmp/auto_failover/: a monitor (port AF_PORT, default 54361) and two nodes
# (AF_PORT+1, AF_PORT+2) made by `pg_autoctl create monitor` / `create
# postgres`, on localhost TCP (pg_autoctl's nodes reach each other by host
# name), trust authentication, no SSL.  The first node gets convexlite
# preloaded (shared_preload_libraries, convexlite.database_name = app)
# before pg_autoctl first runs it; the second is cloned from it by
# pg_autoctl, settings included.  pg_auto_failover's default for two data
# nodes is synchronous replication (replication quorum): a COMMIT returns
# once the secondary has it.  The monitor's health checks are shortened
# (1 s period, 2 s before a node is unhealthy, 3 s for an unreachable
# primary to demote itself before the secondary is promoted) so the
# failover takes seconds (the defaults: 20 s and 30 s).  The run takes
# about 90 s, so it belongs to make stress (scripts/stress.sh);
# test/scripts/failover.sh is the shorter one in make test.
#
# Then: the workload of test/scripts/lib/workload.sh from AF_CLIENTS
# (default 16) pgbench clients for AF_LOAD_SECONDS (default 5); the first
# node's keeper (pg_autoctl run), its postmaster and every process of it
# are killed with SIGKILL; the monitor promotes the second node.  Checks:
# the second node becomes the primary; the time from the kill to the first
# successful mutation there is reported (under 90 s); convexlite's workers
# start there; every pending job runs once; the invariants hold and every
# acknowledged write is there, nothing unattempted.
# Everything is stopped and removed at exit (AF_KEEP=1 keeps it).
set -uo pipefail

DB=app
PORT=${AF_PORT:-54361}
CLIENTS=${AF_CLIENTS:-16}
LOAD_SECONDS=${AF_LOAD_SECONDS:-5}
NAME=auto_failover # the directory under tmp/, for workload.sh's messages

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/../../scripts/lib.sh"
# shellcheck source=test/scripts/lib/checks.sh
. "$HERE/../scripts/lib/checks.sh"
WL_KEEP=${AF_KEEP:-0}
# shellcheck source=test/scripts/lib/workload.sh
. "$HERE/../scripts/lib/workload.sh"

BIN=$(cvx_pg_bindir)
AUTOCTL=$(command -v pg_autoctl || true)
D=$CVX_ROOT/tmp/auto_failover
MONITOR_URI="postgres://autoctl_node@localhost:$PORT/pg_auto_failover?sslmode=disable"
T0=$(date +%s)

# pg_autoctl keeps its configuration and state under XDG_CONFIG_HOME and
# XDG_DATA_HOME (by data directory path): kept under $D, so that nothing of an
# earlier run is found again
AF_ENV=(env PATH="$BIN:$PATH" XDG_CONFIG_HOME="$D/xdg-config" XDG_DATA_HOME="$D/xdg-data")
# as the server's OS user, with this PostgreSQL's binaries first on PATH
autoctl() { cvx_as_pg "${AF_ENV[@]}" "$AUTOCTL" "$@"; }
# keeper_pid DIR: the pid of `pg_autoctl run` for that data directory
keeper_pid() { pgrep -f "pg_autoctl run --pgdata $1\$" | head -n 1; }
run_keeper() { # DIR: pg_autoctl run in the background
	cvx_as_pg "${AF_ENV[@]}" "$AUTOCTL" run --pgdata "$1" >"$1.run.log" 2>&1 &
}
on_node() { export PGHOST=localhost PGPORT=$(($PORT + $1)) PGUSER=postgres; }

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	[ -n "$PGBENCH_PID" ] && kill "$PGBENCH_PID" 2>/dev/null
	if [ "${WL_KEEP:-0}" = 1 ]; then
		echo "# pg_auto_failover formation left running under $D; work files in $WORK"
		return
	fi
	for dir in "$D/node2" "$D/node1" "$D/monitor"; do
		pid=$(keeper_pid "$dir")
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
	done
	sleep 1
	for dir in "$D/node2" "$D/node1" "$D/monitor"; do
		[ -f "$dir/postmaster.pid" ] && cvx_as_pg "$BIN/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1
	done
	# every pg_autoctl process of this run (keepers and their sub-processes,
	# which outlive a killed keeper), found by the environment it was given
	for proc in /proc/[0-9]*; do
		if { tr '\0' '\n' <"$proc/environ"; } 2>/dev/null | grep -qx "XDG_CONFIG_HOME=$D/xdg-config"; then
			kill -9 "${proc#/proc/}" 2>/dev/null
		fi
	done
	rm -rf "$D" "$WORK"
}

echo "auto_failover: monitor and two nodes on localhost ports $PORT-$((PORT + 2)), $CLIENTS clients, ${LOAD_SECONDS}s load"
if [ -z "$AUTOCTL" ] || [ ! -f "$("$PG_CONFIG" --pkglibdir)/pgautofailover.so" ]; then
	fail "setup: pg_auto_failover is not installed (Debian: pg-auto-failover-cli and postgresql-15-auto-failover; scripts/test.sh installs them)"
	exit 1
fi
rm -rf "$D"
mkdir -p "$D"
cvx_is_root && chown "$CVX_PG_OS_USER": "$D"

# --- the formation ---
if ! autoctl create monitor --pgctl "$BIN/pg_ctl" --pgdata "$D/monitor" --pgport "$PORT" \
	--hostname localhost --auth trust --no-ssl >"$D/monitor.create.log" 2>&1; then
	fail "setup: pg_autoctl create monitor failed"
	tail -n 20 "$D/monitor.create.log" | sed 's/^/    | /'
	exit 1
fi
run_keeper "$D/monitor"
on_node 0
DB=pg_auto_failover wait_server 30 || { fail "setup: the monitor does not start"; exit 1; }
# health checks in seconds, not tens of seconds
DB=pg_auto_failover psql_db -c "ALTER SYSTEM SET pgautofailover.health_check_period = 1000" \
	-c "ALTER SYSTEM SET pgautofailover.health_check_timeout = 1000" \
	-c "ALTER SYSTEM SET pgautofailover.health_check_max_retries = 1" \
	-c "ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500" \
	-c "ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 2000" \
	-c "ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 3000" \
	-c "SELECT pg_reload_conf()" >/dev/null

create_node() { # N
	autoctl create postgres --pgctl "$BIN/pg_ctl" --pgdata "$D/node$1" --pgport $((PORT + $1)) \
		--hostname localhost --auth trust --no-ssl --monitor "$MONITOR_URI" --dbname "$DB" \
		>"$D/node$1.create.log" 2>&1 || {
		fail "setup: pg_autoctl create postgres (node $1) failed"
		tail -n 20 "$D/node$1.create.log" | sed 's/^/    | /'
		exit 1
	}
}
create_node 1
printf "\n# convexlite (test/scripts/auto_failover.sh)\nshared_preload_libraries = 'pg_cron,convexlite'\nconvexlite.database_name = '%s'\ncron.database_name = '%s'\n" "$DB" "$DB" |
	cvx_as_pg tee -a "$D/node1/postgresql.conf" >/dev/null
run_keeper "$D/node1"
on_node 1
wait_server 30 || { fail "setup: node 1 does not start"; exit 1; }
if ! wl_setup; then
	fail "setup: the workload's tables and mutations could not be made"
	sed 's/^/    | /' "$WORK/wl-setup.log"
	exit 1
fi
wl_write_scripts "$WORK"
read -r -a MIX <<<"$(wl_pgbench_files "$WORK")"
create_node 2
run_keeper "$D/node2"

formation_state() { DB=pg_auto_failover on_node 0 && DB=pg_auto_failover q \
	"SELECT string_agg(nodename || '=' || reportedstate, ' ' ORDER BY nodeid) FROM pgautofailover.node"; }
ok=
for _ in $(seq 120); do
	[ "$(formation_state)" = "node_1=primary node_2=secondary" ] && ok=1 && break
	sleep 0.5
done
if [ -n "$ok" ]; then
	pass "setup: node 1 is the primary, node 2 its secondary (pg_autoctl)"
else
	fail "setup: the formation did not reach primary/secondary in 60 s: $(formation_state)"
	exit 1
fi
on_node 1
check "setup: replication is synchronous" t \
	"$(q "SELECT coalesce(bool_or(sync_state IN ('sync', 'quorum')), false) FROM pg_stat_replication")"
check "setup: node 2 is a hot standby with no convexlite worker" "true 0" \
	"$(on_node 2; q "SELECT pg_is_in_recovery() || ' ' || (SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'convexlite%')")"
wl_invariants "setup"

# --- the primary dies under load ---
on_node 1
NODE1_PM=$(head -n 1 "$D/node1/postmaster.pid")
"$PGBENCH" -n -M simple -c "$CLIENTS" -j 2 -T 120 "${MIX[@]}" "$DB" >"$WORK/pgbench.log" 2>&1 &
PGBENCH_PID=$!
sleep "$LOAD_SECONDS"
if ! kill -0 "$PGBENCH_PID" 2>/dev/null; then
	fail "load: pgbench ended before the failover"
	tail -n 20 "$WORK/pgbench.log" | sed 's/^/    | /'
	exit 1
fi
KILLED_AT=$(date +%s%3N)
keeper=$(keeper_pid "$D/node1")
children=$(pgrep -P "$NODE1_PM" | tr '\n' ' ')
# shellcheck disable=SC2086
kill -9 $keeper $(pgrep -P "${keeper:-1}" -x pg_autoctl | tr '\n' ' ') "$NODE1_PM" $children 2>/dev/null
wait "$PGBENCH_PID" 2>/dev/null
PGBENCH_PID=
check_client_errors "load: clients saw no SQL error, only the lost connections" "$WORK/pgbench.log"

on_node 2
FIRST_OK=
for _ in $(seq 900); do
	if q "SELECT convex_messages_send('{\"roomId\": \"af\", \"content\": \"first\", \"userName\": \"af\"}')" >/dev/null 2>&1; then
		FIRST_OK=$(date +%s%3N)
		break
	fi
	sleep 0.1
done
if [ -n "$FIRST_OK" ]; then
	pass "failover: pg_auto_failover promoted node 2; a mutation succeeded there $((FIRST_OK - KILLED_AT)) ms after node 1 was killed"
	echo "# failover time with pg_auto_failover (kill -9 of node 1 to the first mutation on node 2): $((FIRST_OK - KILLED_AT)) ms"
else
	fail "failover: node 2 accepted no mutation within 90 s: $(formation_state)"
	tail -n 20 "$D/node2.run.log" | sed 's/^/    | /'
	exit 1
fi
on_node 2
wait_for "node 2: the scheduler and the NOTIFY relay run" \
	"SELECT count(DISTINCT backend_type) = 2 FROM pg_stat_activity
	  WHERE backend_type IN ('convexlite scheduler', 'convexlite notify relay')" &&
	pass "node 2: convexlite's scheduler and NOTIFY relay started after the promotion"
if wl_drain_jobs; then
	pass "node 2: every pending job ran (none pending or in progress)"
else
	fail "node 2: jobs still pending or in progress 60 s after the promotion"
fi
wl_invariants "node 2"
wl_check_acks "$WORK" "$CLIENTS" "node 2"
echo "# $CHECKS checks, $FAILURES failed, $(($(date +%s) - T0)) s"
[ "$FAILURES" = 0 ]
