#!/usr/bin/env bash
# scripts/cluster.sh: the throwaway PostgreSQL 15 clusters of the scripts (tmp/NAME/).
#
#   scripts/cluster.sh start NAME [PORT]   start (or reuse) cluster NAME
#   scripts/cluster.sh stop NAME           stop it (its data stays)
#   scripts/cluster.sh restart NAME        restart it (loads a newly installed convexlite.so)
#   scripts/cluster.sh status NAME         running or not, and how to connect
#   scripts/cluster.sh psql NAME [ARGS]    psql into it (default database: its cron database)
#   scripts/cluster.sh env NAME            print export lines: eval "$(scripts/cluster.sh env bench)"
#   scripts/cluster.sh destroy NAME        stop it and remove its files
#
# Known names: demo (port 54331, cron database convexlite_demo), test (54332,
# contrib_regression), bench (54333, convexlite_bench).  Other names need PORT.
# The server preloads pg_cron and convexlite; make install first.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1 name=$2
shift 2
case $name in
*[!A-Za-z0-9_-]* | '') cvx_die "bad cluster name '$name' (letters, digits, _ and - only)" ;;
esac

port_of() {
	local port=${1:-}
	[ -n "$port" ] || port=$(cvx_cluster_port "$name")
	[ -n "$port" ] || port=$(cvx_default_port "$name") ||
		cvx_die "cluster '$name' has no known port: scripts/cluster.sh start $name PORT"
	printf '%s' "$port"
}

case $cmd in
start)
	cvx_cluster_start "$name" "$(port_of "${1:-}")" "$(cvx_default_cron_db "$name")"
	cvx_info "connect: psql -h $PGHOST -p $PGPORT -U postgres $(cvx_default_cron_db "$name")"
	;;
stop)
	cvx_cluster_env "$name" "$(port_of)"
	cvx_cluster_stop "$name"
	;;
restart)
	cvx_cluster_env "$name" "$(port_of)"
	cvx_cluster_running "$name" || cvx_die "cluster '$name' is not running"
	cvx_cluster_restart "$name"
	;;
status)
	cvx_cluster_env "$name" "$(port_of)"
	if cvx_cluster_running "$name"; then
		echo "cluster '$name' is running: $CVX_CLUSTER_DIR"
		echo "connect: psql -h $PGHOST -p $PGPORT -U postgres $(cvx_default_cron_db "$name")"
		echo "log:     $CVX_LOGFILE"
	else
		echo "cluster '$name' is not running ($CVX_CLUSTER_DIR)"
		exit 3
	fi
	;;
psql)
	cvx_cluster_env "$name" "$(port_of)"
	cvx_cluster_running "$name" || cvx_die "cluster '$name' is not running: scripts/cluster.sh start $name"
	PGDATABASE=${PGDATABASE:-$(cvx_default_cron_db "$name")}
	export PGDATABASE
	exec "$CVX_PG_BINDIR/psql" "$@"
	;;
env)
	cvx_cluster_env "$name" "$(port_of)"
	printf 'export PGHOST=%q PGPORT=%q PGUSER=%q PGDATABASE=%q\n' \
		"$PGHOST" "$PGPORT" "$PGUSER" "$(cvx_default_cron_db "$name")"
	;;
destroy)
	cvx_cluster_env "$name" "$(port_of)"
	cvx_cluster_destroy "$name"
	;;
*) usage ;;
esac
