#!/usr/bin/env bash
# Runs once, when the container initializes an empty data directory: installs pg_cron
# and convexlite in POSTGRES_DB (the cron database, see entrypoint.sh).
set -Eeo pipefail
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" \
	--dbname "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS convexlite;
SQL
