#!/usr/bin/env bash
# examples/python/run.sh: start the Python example server (server.py).
#
#   PGHOST=... PGPORT=... PGDATABASE=app PGUSER=chat_app examples/python/run.sh [--port 8000] [--host H] [--public-url URL]
#       against the database libpq's PG* environment names (or DATABASE_URL,
#       postgresql+psycopg://user:password@host/db), connected as the app's
#       login role (made with convex_grant_role(role, 'app'));
#   examples/python/run.sh --demo [--port 8000]
#       after `bash scripts/demo.sh`: in the demo cluster's database
#       convexlite_demo, makes the login role chat_app (granted 'app') and the
#       users Alice and Bob if they are missing (as the superuser), prints
#       their ids and a few curl commands, then starts the server as chat_app.
#
# Needs Debian 12's python3-psycopg and python3-sqlalchemy (run as root, it
# installs them when they are missing).  Ctrl-C stops it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Debian's python3 sees Debian's python3-* packages (a python3 from pyenv or
# a virtualenv earlier on PATH may not)
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
	if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
PACKAGES=(python3-psycopg python3-sqlalchemy)
if ! "$PYTHON" -c 'import psycopg, sqlalchemy' 2>/dev/null; then
	# as root on Debian, install them (as scripts/demo.sh installs its own)
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing ${PACKAGES[*]}" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" </dev/null >&2 ||
			{ DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" </dev/null >&2; }
	fi
	if ! "$PYTHON" -c 'import psycopg, sqlalchemy' 2>/dev/null; then
		echo "error: $PYTHON cannot import psycopg (3) and sqlalchemy; on Debian 12:" >&2
		echo "    sudo apt-get install -y ${PACKAGES[*]}" >&2
		exit 1
	fi
fi

if [ "${1:-}" = --demo ]; then
	shift
	ROOT=$(cd "$HERE/../.." && pwd)
	# shellcheck source=scripts/lib.sh
	. "$ROOT/scripts/lib.sh"
	env_lines=$(bash "$ROOT/scripts/cluster.sh" env demo) ||
		cvx_die "no demo cluster: run bash scripts/demo.sh first"
	eval "$env_lines"
	export PGDATABASE=convexlite_demo
	PSQL=$(cvx_pg_bindir)/psql
	su_psql() { PGUSER=postgres "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
	su_psql -c "SELECT 1" >/dev/null ||
		cvx_die "the demo cluster is not running: bash scripts/demo.sh (or scripts/cluster.sh start demo)"
	su_psql <<-'SQL' >/dev/null
		DO $$ BEGIN
		    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chat_app') THEN
		        CREATE ROLE chat_app LOGIN;
		    END IF;
		END $$;
		SELECT count(*) FROM convex_grant_role('chat_app', 'app');
	SQL
	user_id() {
		su_psql -v name="$1" <<-'SQL'
			SELECT coalesce((SELECT _id FROM convex.users WHERE name = :'name' ORDER BY _creation_time LIMIT 1),
			                convex_db_insert('users', jsonb_build_object('name', :'name')));
		SQL
	}
	ALICE=$(user_id Alice)
	BOB=$(user_id Bob)
	PORT_SHOWN=8000
	for ((i = 1; i <= $#; i++)); do
		if [ "${!i}" = --port ]; then j=$((i + 1)) && PORT_SHOWN=${!j}; fi
	done
	cat <<-EOF
		Demo users (the X-User-Id header signs a request in; demo only):
		    Alice  $ALICE
		    Bob    $BOB
		Try:
		    curl -s -X POST localhost:$PORT_SHOWN/api/messages -H 'X-User-Id: $ALICE' -H 'Content-Type: application/json' \\
		         -d '{"roomId": "general", "content": "Hello!", "userName": "Alice"}'
		    curl -s localhost:$PORT_SHOWN/api/rooms/general/messages
		    curl -sN 'localhost:$PORT_SHOWN/events?room=general'       # in another terminal: live events
	EOF
	export PGUSER=chat_app
fi

export PGAPPNAME=${PGAPPNAME:-convexlite-example-python}
cd "$HERE"
exec "$PYTHON" server.py "$@"
