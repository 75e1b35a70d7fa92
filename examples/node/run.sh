#!/usr/bin/env bash
# examples/node/run.sh: install the example's npm packages and start
# server.mjs (Convex's HTTP API over convexlite) in the foreground.
#
#   bash examples/node/run.sh      after `bash scripts/demo.sh`: serves the demo
#                                  cluster's database convexlite_demo on
#                                  http://127.0.0.1:3210 as role
#                                  convexlite_node_app, which it creates and
#                                  grants convex_grant_role(..., 'app')
#   PGHOST=… PGUSER=… PGDATABASE=… bash examples/node/run.sh
#                                  serves your own database as the role you
#                                  give (granted 'app' already; its
#                                  convexlite.url set to the server's URL)
#
# PORT, HOST, PUBLIC_URL, the JWT_* settings and the rest of server.mjs's
# environment pass through.  Packages go to examples/node/node_modules
# (git-ignored), with `npm ci` from package-lock.json; run as root on a
# machine without node, it installs Debian's nodejs and npm first.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROLE=convexlite_node_app

die() {
	echo "run.sh: $*" >&2
	exit 1
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	# as root on Debian, install them (as scripts/demo.sh installs its own)
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "run.sh: installing nodejs and npm from Debian" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm </dev/null >&2 ||
			{ DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm </dev/null >&2; } ||
			die "apt-get install nodejs npm failed"
	else
		die "node and npm are needed (Debian: sudo apt-get install -y nodejs npm)"
	fi
fi
stamp=$HERE/node_modules/.convexlite-lock.sha256
want=$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	echo "run.sh: npm ci in $HERE" >&2
	(cd "$HERE" && npm ci --no-audit --no-fund --ignore-scripts >&2) || die "npm ci failed (is the npm registry reachable?)"
	echo "$want" >"$stamp"
fi

if [ -z "${PGHOST:-}" ] && [ -z "${PGDATABASE:-}" ]; then
	# the demo cluster of scripts/demo.sh: set up the app's role there
	# shellcheck source=scripts/lib.sh
	. "$HERE/../../scripts/lib.sh"
	cvx_cluster_env demo
	cvx_cluster_running demo || die "the demo cluster is not running: bash scripts/demo.sh first (or set PGHOST, PGUSER, PGDATABASE)"
	export PGDATABASE=convexlite_demo
	url=${PUBLIC_URL:-http://${HOST:-127.0.0.1}:${PORT:-3210}}
	cvx_psql -q -d "$PGDATABASE" >/dev/null <<-SQL || die "could not set up role $ROLE in $PGDATABASE"
		SET client_min_messages = warning;
		SELECT format('CREATE ROLE %I LOGIN', '$ROLE') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') \gexec
		SELECT count(*) FROM convex_grant_role('$ROLE', 'app');
		ALTER DATABASE convexlite_demo SET convexlite.url = '$url';
	SQL
	export PGUSER=$ROLE
	echo "run.sh: database $PGDATABASE of the demo cluster, as role $PGUSER (granted 'app'), convexlite.url = $url" >&2
fi

cd "$HERE"
exec node server.mjs
