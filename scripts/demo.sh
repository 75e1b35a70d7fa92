#!/usr/bin/env bash
# scripts/demo.sh: see convexlite work, from nothing to every mutation.
#
#   bash scripts/demo.sh          (also: make demo)
#
# Installs missing Debian packages (as root), builds and installs the extension, starts
# the throwaway cluster 'demo' (port 54331, pg_cron and convexlite preloaded), recreates
# the database convexlite_demo with CREATE EXTENSION pg_cron and convexlite, and runs
# scripts/demo.sql with every statement echoed.  The cluster is left running.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CVX_ROOT"

NAME=demo
PORT=54331
DB=convexlite_demo
DEMO_SQL=scripts/demo.sql

[ -f "$DEMO_SQL" ] || cvx_die "$DEMO_SQL is missing: the demo has nothing to run"

cvx_install_deps all
cvx_build_install || cvx_die "build or install failed"
cvx_cluster_start "$NAME" "$PORT" "$DB"
# Recreating the database restarts the cluster, which also loads the convexlite.so
# just installed.
cvx_recreate_db "$NAME" "$DB"

cvx_step "CREATE EXTENSION pg_cron; CREATE EXTENSION convexlite;"
cvx_psql -d "$DB" -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION convexlite"

cvx_step "Running $DEMO_SQL"
cvx_psql -d "$DB" --echo-all -P pager=off -f "$DEMO_SQL"

cvx_step "Demo done: cluster '$NAME' is still running"
cvx_info "connect: psql -h $PGHOST -p $PGPORT -U postgres $DB"
cvx_info "     or: scripts/cluster.sh psql $NAME"
cvx_info "stop:    scripts/cluster.sh stop $NAME"
