#!/usr/bin/env bash
# Entrypoint of the convexlite image: the official postgres entrypoint, with the server
# arguments convexlite needs put first (arguments given later, e.g. in a compose
# `command:`, still override them):
#   shared_preload_libraries = pg_cron,convexlite   (the scheduler's background worker)
#   cron.database_name = $POSTGRES_DB               (where pg_cron runs the cleanups)
#   convexlite.database_name = $POSTGRES_DB         (where the scheduler's worker runs jobs)
# The temporary server that runs /docker-entrypoint-initdb.d gets the same arguments.
set -Eeo pipefail

if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi
if [ "${1:-}" = postgres ]; then
	shift
	cron_db=${POSTGRES_DB:-${POSTGRES_USER:-postgres}}
	set -- postgres \
		-c shared_preload_libraries=pg_cron,convexlite \
		-c "cron.database_name=$cron_db" \
		-c "convexlite.database_name=$cron_db" \
		"$@"
fi
exec docker-entrypoint.sh "$@"
