#!/usr/bin/env bash
# test/scripts/example_python.sh: the Python example application
# (examples/python/, psycopg 3 and SQLAlchemy from Debian 12) driven over HTTP.
#
# Makes database convexlite_example_py and a login role granted with
# convex_grant_role(role, 'app') (PUBLIC's EXECUTE on convexlite's functions
# revoked, so the server has exactly the app's grants), starts the server on a
# free port as that role with examples/python/run.sh, and drives it with
# urllib (the Python client below): send, list, remove (by another user and
# by another session: 403, the message stays), presence heartbeat, list and
# leave, profile update and /api/me, upload through the upload URL, saveFile,
# download through the file URL (bytes and content type equal), a reused
# upload URL, a validation error (400 and its JSON code), unauthorized calls
# (401 with the ConvexError's data), realtime events over SSE after a send
# and a remove, that the server's code-to-status table is the one
# docs/identity-and-errors.md gives, and that PostgreSQL's own 42501 (a
# revoked grant, no JSON DETAIL) is a 500, not convexlite's UNAUTHORIZED.  One PASS/FAIL line per check; exit 1 on
# any failure.  Uses PGHOST/PGPORT/PGUSER (a superuser) from scripts/test.sh.
set -uo pipefail

DB=convexlite_example_py
ROLE=cvx_example_py_app
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# the example's modules are imported from the tree: leave no __pycache__ there
export PYTHONDONTWRITEBYTECODE=1
T0=$(date +%s)

SERVER_PID=
# shellcheck disable=SC2317  # invoked by the EXIT trap
# stop_server: end the server this script started (by its pid)
stop_server() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		SERVER_PID=
	fi
}
# shellcheck disable=SC2317  # invoked by the EXIT trap
on_exit() {
	stop_server
	cleanup
}
trap on_exit EXIT

# finish: the summary line and the exit status
finish() {
	echo "example_python: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
	if [ "$FAILURES" -ne 0 ]; then
		echo "example_python: FAIL"
		exit 1
	fi
	echo "example_python: PASS"
	exit 0
}

PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
if ! "$PYTHON" -c 'import psycopg, sqlalchemy' 2>"$WORK/import.log"; then
	fail "python3-psycopg and python3-sqlalchemy are installed (CVX_DEPS_TEST in scripts/lib.sh)"
	sed 's/^/    | /' "$WORK/import.log"
	finish
fi

if ! fresh_db 2>"$WORK/fresh_db.log"; then
	fail "setup: could not create database $DB with convexlite"
	sed 's/^/    | /' "$WORK/fresh_db.log"
	finish
fi
if ! psql_db >"$WORK/setup.log" 2>&1 <<-SQL; then
	SET client_min_messages = warning;
	DROP ROLE IF EXISTS $ROLE;
	CREATE ROLE $ROLE LOGIN;
	SELECT count(*) FROM convex_grant_role('$ROLE', 'app');
	DO \$\$
	DECLARE
	    f regprocedure;
	BEGIN
	    FOR f IN SELECT p.oid FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
	              JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'convexlite' LOOP
	        EXECUTE format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', f);
	    END LOOP;
	END \$\$;
SQL
	fail "setup: the app role $ROLE"
	sed 's/^/    | /' "$WORK/setup.log"
	finish
fi
ALICE=$(q "SELECT convex_db_insert('users', '{\"name\": \"Alice\"}')")
BOB=$(q "SELECT convex_db_insert('users', '{\"name\": \"Bob\"}')")

# --- the server, as the app role, on a free port ---------------------------------
PGUSER=$ROLE PGDATABASE=$DB PGAPPNAME=example_python_test PYTHON=$PYTHON \
	"$ROOT/examples/python/run.sh" --port 0 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
BASE=
for _ in $(seq 300); do
	BASE=$(grep -oE 'listening on http://[0-9.]+:[0-9]+' "$WORK/server.log" | sed 's/^listening on //')
	[ -n "$BASE" ] && break
	kill -0 "$SERVER_PID" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$BASE" ]; then
	fail "the server starts as $ROLE (examples/python/run.sh)"
	sed 's/^/    | /' "$WORK/server.log"
	finish
fi
pass "the server starts as $ROLE and listens on $BASE"
check "its database sessions are the app role's, not a superuser's" "$ROLE:false" \
	"$(q "SELECT string_agg(DISTINCT a.usename || ':' || r.rolsuper, ',')
	      FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename
	      WHERE a.datname = '$DB' AND a.application_name IN ('example_python_test', 'convexlite-example-python-listen')")"

# --- the client, over HTTP ---------------------------------------------------------
"$PYTHON" - "$BASE" "$ALICE" "$BOB" "$ROOT/docs/identity-and-errors.md" "$ROOT/examples/python" \
	>"$WORK/client.log" 2>&1 <<'PY'
"""Drive the example server over HTTP with urllib; print PASS:/FAIL: lines."""
import json
import os
import queue
import re
import sys
import threading
import urllib.error
import urllib.request

base, alice, bob, docs, example_dir = sys.argv[1:6]
room = "py-room-%d" % os.getpid()
failures = 0


def report(ok, what, got=None):
    """One PASS/FAIL line."""
    global failures
    if ok:
        print("PASS: " + what, flush=True)
    else:
        failures += 1
        print("FAIL: %s (got %r)" % (what, got), flush=True)


def call(method, path, body=None, user=None, session=None, raw=None, content_type=None, url=None):
    """One request: (status, headers, bytes)."""
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if raw is not None:
        data = raw
        headers["Content-Type"] = content_type
    if user:
        headers["X-User-Id"] = user
    if session:
        headers["X-Session-Id"] = session
    req = urllib.request.Request(url or base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def jcall(*args, **kwargs):
    """call(), the body decoded as JSON: (status, value)."""
    status, _, raw = call(*args, **kwargs)
    try:
        return status, (json.loads(raw) if raw else None)
    except ValueError:
        return status, raw


def expect_error(what, result, status, code):
    """An error reply with this status and JSON code."""
    got_status, body = result
    ok = got_status == status and isinstance(body, dict) and body.get("code") == code
    report(ok, "%s: %d %s" % (what, status, code), result)
    return body if ok else None


def ids(path, user=None):
    """The _ids a list endpoint returns."""
    return [m["_id"] for m in jcall("GET", path, user=user)[1]]


status, health = jcall("GET", "/healthz")
report(status == 200 and health == {"ok": True}, "GET /healthz: 200 {\"ok\": true}", (status, health))

# --- realtime: an SSE client follows the room before anything is sent -----------
events = queue.Queue()


def listen():
    """Read the SSE stream; queue (event, data) pairs, and "connected" once subscribed."""
    try:
        with urllib.request.urlopen(base + "/events?room=" + room, timeout=30) as r:
            event = None
            for line in r:
                line = line.decode().rstrip("\n")
                if line == ": connected":
                    events.put(("connected", None))
                elif line.startswith("event: "):
                    event = line[len("event: "):]
                elif line.startswith("data: "):
                    events.put((event, json.loads(line[len("data: "):])))
    except Exception as e:  # noqa: BLE001
        events.put(("error", repr(e)))


threading.Thread(target=listen, daemon=True).start()
try:
    first = events.get(timeout=10)
except queue.Empty:
    first = None
report(first == ("connected", None), "GET /events?room=...: the SSE stream opens", first)

# --- messages --------------------------------------------------------------------
status, sent = jcall("POST", "/api/messages", {"roomId": room, "content": "Hello from Python", "userName": "Alice"},
                     user=alice)
report(status == 201 and isinstance(sent, dict) and isinstance(sent.get("_id"), str),
       "POST /api/messages as Alice: 201 with the message's _id", (status, sent))
mid = sent.get("_id") if isinstance(sent, dict) else None



def next_event(table, message_id, timeout=10):
    """The next SSE event of that table about that document, or what came instead (None: nothing)."""
    got = None
    try:
        while True:
            got = events.get(timeout=timeout)
            if got[0] == table and isinstance(got[1], dict) and got[1].get("_id") == message_id:
                return got
    except queue.Empty:
        return got


got = next_event("messages", mid)
report(got == ("messages", {"op": "insert", "table": "messages", "_id": mid, "roomId": room}),
       "SSE: the send's notification arrives (event messages, op insert, its _id and roomId)", got)

status, listed = jcall("GET", "/api/rooms/%s/messages" % room)
mine = [m for m in listed or [] if m.get("_id") == mid]
report(status == 200 and len(mine) == 1 and mine[0].get("content") == "Hello from Python"
       and mine[0].get("userId") == alice,
       "GET /api/rooms/<room>/messages: the message, with Alice's userId", (status, listed))

expect_error("DELETE by Bob of Alice's message", jcall("DELETE", "/api/rooms/%s/messages/%s" % (room, mid), user=bob),
             403, "FORBIDDEN")
report(mid in ids("/api/rooms/%s/messages" % room), "the message is still there after Bob's attempt")
expect_error("DELETE signed out of Alice's message",
             jcall("DELETE", "/api/rooms/%s/messages/%s" % (room, mid)), 403, "FORBIDDEN")
status, body = jcall("DELETE", "/api/rooms/%s/messages/%s" % (room, mid), user=alice)
report(status == 204, "DELETE by Alice of her message: 204", (status, body))
report(mid not in ids("/api/rooms/%s/messages" % room), "the message is gone from the room's list")
got = next_event("messages", mid)
report(got == ("messages", {"op": "delete", "table": "messages", "_id": mid, "roomId": room}),
       "SSE: the remove's notification arrives (op delete), and none came for the refused removes", got)
expect_error("DELETE of a message no longer there", jcall("DELETE", "/api/rooms/%s/messages/%s" % (room, mid),
                                                          user=alice), 404, "NOT_FOUND")

# demo mode (X-Session-Id): Alice's message sent from session s1 may be removed
# by s1 signed out (the seed's rule), not by another session
status, sent = jcall("POST", "/api/messages", {"roomId": room, "content": "from tab s1", "userName": "Alice"},
                     user=alice, session="s1")
sid_mid = sent.get("_id") if isinstance(sent, dict) else None
expect_error("DELETE signed out from another session (X-Session-Id s2)",
             jcall("DELETE", "/api/rooms/%s/messages/%s" % (room, sid_mid), session="s2"), 403, "FORBIDDEN")
status, _ = jcall("DELETE", "/api/rooms/%s/messages/%s" % (room, sid_mid), session="s1")
report(status == 204 and sid_mid not in ids("/api/rooms/%s/messages" % room),
       "DELETE signed out from the message's own session (X-Session-Id s1): 204, gone", status)

# --- validation and authorization errors ----------------------------------------
body = expect_error("POST /api/messages with content 42", jcall(
    "POST", "/api/messages", {"roomId": room, "content": 42, "userName": "Alice"}, user=alice),
    400, "ARGUMENT_VALIDATION_FAILED")
report(body is not None and body["data"].get("path") == ".content" and body["data"].get("kind") == "no_match",
       "the validation error's JSON DETAIL is passed on (path .content, kind no_match)", body)
expect_error("POST /api/messages without content", jcall(
    "POST", "/api/messages", {"roomId": room, "userName": "Alice"}, user=alice), 400, "ARGUMENT_VALIDATION_FAILED")
body = expect_error("PATCH /api/me signed out", jcall("PATCH", "/api/me", {"name": "Nobody"}), 401, "UNAUTHORIZED")
report(body is not None and body["data"] == {"code": "UNAUTHORIZED",
                                              "message": "You must be logged in to update your profile"},
       "the ConvexError's data is passed through as it is", body)
expect_error("PATCH /api/me with an X-User-Id that is no user id",
             jcall("PATCH", "/api/me", {"name": "x"}, user="not-an-id"), 401, "INVALID_IDENTITY")
expect_error("GET /api/storage/<malformed id>", jcall("GET", "/api/storage/kg2notanid"), 400, "INVALID_ARGUMENT")

# --- profile -----------------------------------------------------------------------
status, me = jcall("PATCH", "/api/me", {"name": "Alice Liddell", "image": "https://example.com/a.png"}, user=alice)
report(status == 200 and isinstance(me, dict) and me.get("name") == "Alice Liddell" and me.get("_id") == alice,
       "PATCH /api/me as Alice: 200 with her updated document", (status, me))
status, me = jcall("GET", "/api/me", user=alice)
report(status == 200 and isinstance(me, dict) and me.get("name") == "Alice Liddell"
       and me.get("image") == "https://example.com/a.png", "GET /api/me as Alice: the new name and image", (status, me))
status, me = jcall("GET", "/api/me")
report(status == 200 and me is None, "GET /api/me signed out: null (the user did not stay on a pooled connection)",
       (status, me))

# --- presence ----------------------------------------------------------------------
status, _ = jcall("POST", "/api/presence", {"roomId": room, "data": {"status": "typing", "cursor": {"x": 1, "y": 2}}},
                  user=alice)
status2, _ = jcall("POST", "/api/presence", {"roomId": room, "data": {"status": "idle", "cursor": {"x": 3, "y": 4}}},
                   user=alice)
report(status == 204 and status2 == 204, "POST /api/presence (two heartbeats as Alice): 204", (status, status2))
status, present = jcall("GET", "/api/rooms/%s/presence" % room)
report(status == 200 and len(present or []) == 1 and present[0].get("userId") == alice
       and present[0].get("data") == {"status": "idle", "cursor": {"x": 3, "y": 4}},
       "GET /api/rooms/<room>/presence: Alice once, with the last heartbeat's data", (status, present))
status, _ = jcall("DELETE", "/api/presence?roomId=" + room, user=alice)
status2, present = jcall("GET", "/api/rooms/%s/presence" % room)
report(status == 204 and present == [], "DELETE /api/presence: 204, the room is empty", (status, present))

# --- files: upload URL, upload, saveFile, list, download ---------------------------
status, up = jcall("POST", "/api/upload-url", user=alice)
upload_url = up.get("uploadUrl") if isinstance(up, dict) else None
report(status == 200 and isinstance(upload_url, str) and upload_url.startswith(base + "/api/storage/upload?token="),
       "POST /api/upload-url: a URL on this server", (status, up))
data = os.urandom(1536 * 1024) + bytes(range(256))  # more than one 1 MiB read when downloaded
status, stored = jcall("POST", None, raw=data, content_type="application/x-python-test", url=upload_url)
storage_id = stored.get("storageId") if isinstance(stored, dict) else None
report(status == 200 and isinstance(storage_id, str) and list(stored) == ["storageId"],
       "POST <upload URL> with the bytes: 200 {\"storageId\"}", (status, stored))
expect_error("POST <upload URL> a second time", jcall("POST", None, raw=b"again", content_type="text/plain",
                                                     url=upload_url), 409, "UPLOAD_URL_USED")
status, saved = jcall("POST", "/api/files", {"storageId": storage_id, "name": "blob.bin",
                                             "type": "application/x-python-test", "size": len(data)}, user=alice)
report(status == 201 and isinstance(saved, dict) and isinstance(saved.get("_id"), str),
       "POST /api/files (saveFile) as Alice: 201 with the file's _id", (status, saved))
status, files = jcall("GET", "/api/files", user=alice)
file_url = None
for f in files or []:
    if f.get("storageId") == storage_id:
        file_url = f.get("url")
report(status == 200 and file_url == base + "/api/storage/" + storage_id,
       "GET /api/files as Alice: the file, with its URL on this server", (status, files))
status, headers, body = call("GET", None, url=file_url or base + "/api/storage/" + str(storage_id))
report(status == 200 and body == data, "GET <file URL>: the same %d bytes" % len(data), (status, len(body)))
report(headers.get("Content-Type") == "application/x-python-test", "GET <file URL>: the content type uploaded",
       headers.get("Content-Type"))
status, files = jcall("GET", "/api/files", user=bob)
report(status == 200 and files == [], "GET /api/files as Bob: none of Alice's files", (status, files))

# --- the server's error table is the documentation's ------------------------------
sys.path.insert(0, example_dir)
from errors import CODE_STATUS  # noqa: E402

documented = {}
in_table = False
with open(docs, encoding="utf-8") as f:
    for line in f:
        if line.startswith("### The codes"):
            in_table = True
        elif in_table and line.startswith("#"):
            break
        elif in_table and line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            for code in re.findall(r"`([A-Z][A-Z_]*)`", cells[0]):
                documented[code] = int(cells[2])
report(len(documented) > 30 and documented == CODE_STATUS,
       "examples/python/errors.py maps the %d codes of docs/identity-and-errors.md to the same statuses"
       % len(documented), sorted(set(documented.items()) ^ set(CODE_STATUS.items())))
sys.exit(1 if failures else 0)
PY
cat "$WORK/client.log"

# PostgreSQL's own 42501 (a missing grant: no JSON DETAIL) is the server's
# fault, not the client's: 500, and not convexlite's UNAUTHORIZED (401)
if q "REVOKE EXECUTE ON FUNCTION convex_query(text, jsonb) FROM $ROLE" >/dev/null; then
	check "GET /api/me after REVOKE EXECUTE ON convex_query: PostgreSQL's permission denied is 500 INTERNAL, no server text" \
		'500 {"code": "INTERNAL", "message": "internal error"}' \
		"$("$PYTHON" - "$BASE" <<-'PY'
			import sys, urllib.error, urllib.request
			try:
			    r = urllib.request.urlopen(sys.argv[1] + "/api/me", timeout=20)
			    print(r.status, r.read().decode())
			except urllib.error.HTTPError as e:
			    print(e.code, e.read().decode())
		PY
		)"
else
	fail "REVOKE EXECUTE ON FUNCTION convex_query(text, jsonb) FROM $ROLE"
fi
CHECKS=$((CHECKS + $(grep -cE '^(PASS|FAIL): ' "$WORK/client.log")))
FAILURES=$((FAILURES + $(grep -cE '^FAIL: ' "$WORK/client.log")))
if ! grep -qE '^(PASS|FAIL): .*errors.py maps' "$WORK/client.log"; then
	fail "the client ran to its end (its last check is missing)"
fi
if grep -qE '^FAIL: ' "$WORK/client.log" || ! grep -qE '^(PASS|FAIL): .*errors.py maps' "$WORK/client.log"; then
	echo "    server log:"
	tail -n 30 "$WORK/server.log" | sed 's/^/    | /'
fi
finish
