#!/usr/bin/env bash
# test/scripts/example_node.sh: the Node.js example application
# (examples/node/server.mjs, issue 18 item 5) driven over HTTP by the convex
# npm package's ConvexHttpClient.
#
# Installs examples/node's pinned packages (pg, jose, and convex as a dev
# dependency) with `npm ci` into examples/node/node_modules (git-ignored)
# when they are missing or the lock file changed; creates a login role
# granted convex_grant_role(role, 'app') (no superuser), sets the database's
# convexlite.url to the server's address, makes an RS256 key pair
# (examples/node/test/keys.mjs), starts the server on a free port with that
# JWKS, issuer and audience, and runs examples/node/test/client.mjs: send,
# list, remove, presence heartbeat and list, a ConvexError with its data, a
# validation error, upload through the upload URL and download through the
# file URL (bytes equal), an SSE event after a send, a valid JWT signing a
# user in (profile update, users.current, its claims as
# ctx.auth.getUserIdentity() in a registered query), and bad JWTs (bad signature,
# expired, wrong issuer, wrong audience, ...) each a 401 with nothing
# written.  Then checks that the server logged no internal error and stops
# on SIGTERM.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops database
# convexlite_example_node and role convexlite_example_node_app.  PASS/FAIL
# lines; exit 1 on any failure.
set -uo pipefail

DB=convexlite_example_node
ROLE=convexlite_example_node_app
T0=$(date +%s)
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
APP=$ROOT/examples/node
ISSUER=https://auth.example.test
AUDIENCE=convexlite-example-node
SERVER_PID=

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	fail "node and npm are needed (Debian: apt-get install nodejs npm)"
	exit 1
fi
# npm ci when node_modules is missing or older than the lock file
stamp=$APP/node_modules/.convexlite-lock.sha256
want=$(sha256sum "$APP/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	if ! (cd "$APP" && npm ci --no-audit --no-fund --ignore-scripts) >"$WORK/npm.log" 2>&1; then
		fail "npm ci in examples/node failed (is the npm registry reachable?)"
		sed 's/^/    | /' "$WORK/npm.log" | tail -n 10
		exit 1
	fi
	echo "$want" >"$stamp"
fi

# stop_server: SIGTERM the server (it closes its pool and streams), then
# wait; true when it exited by itself within 10 s
stop_server() {
	local _
	[ -n "$SERVER_PID" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null
	for _ in $(seq 100); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			SERVER_PID=
			return 0
		fi
		sleep 0.1
	done
	kill -KILL "$SERVER_PID" 2>/dev/null
	SERVER_PID=
	return 1
}
trap 'stop_server; cleanup' EXIT

if ! fresh_db 2>/dev/null; then
	fail "could not create database $DB with convexlite"
	exit 1
fi
PORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
URL=http://127.0.0.1:$PORT
psql_admin -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS $ROLE" -c "CREATE ROLE $ROLE LOGIN" \
	-c "ALTER DATABASE $DB SET convexlite.url = '$URL'" >/dev/null || { fail "setup: role"; exit 1; }
psql_db -c "SELECT count(*) FROM convex_grant_role('$ROLE', 'app')" >/dev/null || { fail "setup: convex_grant_role"; exit 1; }
USER_ID=$(q "SELECT convex_db_insert('users', '{\"name\": \"Ada\", \"email\": \"ada@example.com\"}')")
# two registered functions of the test's: a ConvexError with the data passed,
# and ctx.auth.getUserIdentity()
psql_db >/dev/null <<'SQL' || { fail "setup: registered functions"; exit 1; }
CREATE FUNCTION example_fail(args jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT convex_error(args -> 'data')::text::jsonb $$;
SELECT convex_define_mutation('example:fail', 'example_fail(jsonb)',
    '{"type": "object", "value": {"data": {"fieldType": {"type": "any"}, "optional": false}}}');
CREATE FUNCTION example_whoami(args jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$ SELECT coalesce(convex_auth_identity(), 'null') $$;
SELECT convex_define_query('example:whoami', 'example_whoami(jsonb)', '{"type": "object", "value": {}}');
CREATE FUNCTION example_noisy(args jsonb) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RAISE NOTICE 'reading room %', args ->> 'roomId';
    RETURN convex_query('messages:list', args);
END $$;
SELECT convex_define_query('example:noisy', 'example_noisy(jsonb)',
    '{"type": "object", "value": {"roomId": {"fieldType": {"type": "string"}, "optional": false}}}');
SQL
node "$APP/test/keys.mjs" "$WORK" || { fail "setup: keys"; exit 1; }

# the server, as the app role
: >"$WORK/server.log"
(cd "$APP" && exec env PGUSER="$ROLE" PGDATABASE="$DB" PORT="$PORT" HOST=127.0.0.1 \
	JWT_JWKS_FILE="$WORK/jwks.json" JWT_ISSUER="$ISSUER" JWT_AUDIENCE="$AUDIENCE" \
	node server.mjs) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
	grep -q 'listening on' "$WORK/server.log" && break
	kill -0 "$SERVER_PID" 2>/dev/null || break
	sleep 0.1
done
if grep -q 'listening on' "$WORK/server.log"; then
	pass "the server starts, connected as $ROLE"
	check "$ROLE is no superuser" f "$(q "SELECT rolsuper FROM pg_roles WHERE rolname = '$ROLE'")"
else
	fail "the server did not start"
	sed 's/^/    | /' "$WORK/server.log" | tail -n 20
	exit 1
fi

(cd "$APP" && CONVEX_URL=$URL KEYS_DIR=$WORK JWT_ISSUER=$ISSUER JWT_AUDIENCE=$AUDIENCE USER_ID=$USER_ID \
	timeout 60 node test/client.mjs) >"$WORK/client.log" 2>&1
rc=$?
grep -E '^(PASS|FAIL): ' "$WORK/client.log"
CHECKS=$((CHECKS + $(grep -cE '^(PASS|FAIL): ' "$WORK/client.log")))
FAILURES=$((FAILURES + $(grep -c '^FAIL: ' "$WORK/client.log")))
if [ "$rc" -ne 0 ] && ! grep -q '^FAIL: ' "$WORK/client.log"; then
	fail "the client stopped (exit $rc)"
	sed 's/^/    | /' "$WORK/client.log" | tail -n 20
fi

if grep -qE 'InternalServerError|could not|warning' "$WORK/server.log"; then
	fail "the server logged errors or warnings"
	sed 's/^/    | /' "$WORK/server.log" | tail -n 20
else
	pass "the server logged no internal error or warning"
fi
if stop_server; then
	pass "the server stops on SIGTERM"
else
	fail "the server did not stop on SIGTERM within 10 s"
fi
if wait_for "the server's connections to end" \
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = '$ROLE'"; then
	pass "the server closed its pool and its listening connection"
else
	fail "connections of $ROLE are left open"
fi

echo "example_node: $((CHECKS - FAILURES))/$CHECKS checks passed in $(($(date +%s) - T0)) s"
[ "$FAILURES" -eq 0 ]
