"""The seed chat app's API over HTTP, on convexlite, with psycopg 3 and SQLAlchemy.

    python3 server.py [--host 127.0.0.1] [--port 8000] [--public-url URL]

Connects with libpq's PG* environment (or DATABASE_URL) as the app's login
role (convex_grant_role(role, 'app')), never as a superuser.  Every request
is one transaction: its user (convex_set_user), then convexlite's functions
with bound parameters.  See README.md for the endpoints.
"""

import argparse
import json
import logging
import os
import queue
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import db
import realtime
from errors import HttpError, to_http

log = logging.getLogger("convexlite.example")

# largest upload accepted in one request (bytes); a real deployment with
# larger files streams them into a large object instead (README.md)
MAX_UPLOAD = int(os.environ.get("MAX_UPLOAD_BYTES", str(64 * 1024 * 1024)))
MAX_JSON = 1024 * 1024
# bytes of a blob read per call while a download streams
DOWNLOAD_CHUNK = 1024 * 1024
# seconds between SSE keepalive comments
KEEPALIVE = 15


class App:
    """What the handlers share: the engine, the realtime relay, the public base URL."""

    def __init__(self, engine, relay, public_url):
        self.engine = engine
        self.relay = relay
        self.public_url = public_url.rstrip("/")

    def public(self, url, base):
        """A URL convexlite made (on convexlite.url, base) on this server's address instead."""
        if isinstance(url, str) and url.startswith(base):
            return self.public_url + url[len(base):]
        return url


def route(method, pattern):
    """Mark a handler method as serving METHOD on a path matching pattern."""

    def mark(fn):
        fn.route = (method, re.compile("^" + pattern + "$"))
        return fn

    return mark


class Handler(BaseHTTPRequestHandler):
    """One HTTP request: routing, identity, the transaction and the reply."""

    protocol_version = "HTTP/1.1"
    server_version = "convexlite-example-python"
    app = None  # set by main()

    # --- plumbing ---------------------------------------------------------

    def user_id(self):
        """The signed-in user's Id<"users">, or None.

        DEMO ONLY: the client names its user in the X-User-Id header.  A real
        server authenticates the request here (its session cookie, or a
        verified JWT) and returns the user id it found; a header a client can
        set is no proof of anything.
        """
        value = self.headers.get("X-User-Id")
        return value or None

    def session_id(self):
        """The demo-mode session (the seed's sessionId), from X-Session-Id, or None."""
        return self.headers.get("X-Session-Id") or None

    def with_session(self, args):
        """args with the request's sessionId, unless they name one."""
        sid = self.session_id()
        if sid is not None and "sessionId" not in args:
            args = dict(args, sessionId=sid)
        return args

    def read_body(self, limit):
        """The request's body as bytes (at most limit)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise HttpError(411, "LENGTH_REQUIRED", "send a Content-Length")
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            raise HttpError(413, "PAYLOAD_TOO_LARGE", "the body is larger than %d bytes" % limit)
        return self.rfile.read(length) if length else b""

    def json_body(self):
        """The request's JSON body as a dict ({} when empty)."""
        raw = self.read_body(MAX_JSON)
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise HttpError(400, "INVALID_JSON", "the body is not JSON") from None
        if not isinstance(body, dict):
            raise HttpError(400, "INVALID_JSON", "the body is not a JSON object")
        return body

    def tx(self, work):
        """work(convex) in one transaction as the request's user."""
        return db.in_transaction(self.app.engine, self.user_id(), work)

    def reply(self, status, body=None, content_type="application/json", headers=()):
        """Send a whole reply: JSON (body is a value) or bytes."""
        if body is None:
            payload = b""
        elif isinstance(body, (bytes, bytearray)):
            payload = bytes(body)
        else:
            payload = json.dumps(body).encode()
        self.send_response(status)
        if payload or status != 204:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def dispatch(self):
        """Find the handler of the request's method and path, run it, reply errors as JSON."""
        parts = urlsplit(self.path)
        self.query = parse_qs(parts.query)
        allowed = False
        for fn in HANDLERS:
            method, pattern = fn.route
            m = pattern.match(parts.path)
            if not m:
                continue
            allowed = True
            if method != self.command:
                continue
            self.started = False
            try:
                fn(self, *[unquote(g) for g in m.groups()])
            except (BrokenPipeError, ConnectionResetError):  # the client went away
                self.close_connection = True
            except Exception as e:  # noqa: BLE001  (every error becomes a JSON reply)
                self.close_connection = True  # the body may be unread
                if self.started:  # too late for an error reply: cut the reply short
                    log.error("%s %s failed after its headers: %s", self.command, self.path, e)
                    return
                err = to_http(e)
                self.reply(err.status, err.body)
            return
        self.close_connection = True  # the body, if any, is unread
        if allowed:
            self.reply(405, {"code": "METHOD_NOT_ALLOWED", "message": "method not allowed"})
        else:
            self.reply(404, {"code": "NOT_FOUND", "message": "no such endpoint"})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = dispatch

    def log_message(self, format, *args):  # noqa: A002  (BaseHTTPRequestHandler's name)
        """Access log lines through logging."""
        log.info("%s %s", self.address_string(), format % args)

    def arg(self, name):
        """A query-string parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    # --- health -----------------------------------------------------------

    @route("GET", "/healthz")
    def healthz(self):
        """200 when the database answers."""
        self.tx(lambda cx: cx.scalar("SELECT 1"))
        self.reply(200, {"ok": True})

    # --- messages ---------------------------------------------------------

    @route("POST", "/api/messages")
    def send_message(self):
        """messages.send; body {roomId, content, userName, sessionId?}; 201 {"_id"}."""
        args = self.with_session(self.json_body())
        message_id = self.tx(lambda cx: cx.mutation("messages:send", args))
        self.reply(201, {"_id": message_id})

    @route("GET", "/api/rooms/([^/]+)/messages")
    def list_messages(self, room):
        """messages.list: the room's messages, oldest first."""
        self.reply(200, self.tx(lambda cx: cx.query("messages:list", {"roomId": room})))

    @route("DELETE", "/api/rooms/([^/]+)/messages/([^/]+)")
    def remove_message(self, room, message_id):
        """messages.remove; 204, 404 when the room has no such message, 403 when it was not removed.

        messages.remove does nothing, silently, when the caller may not
        remove the message (as in the seed); the server reads the room again
        in the same transaction to tell the client.
        """

        def work(cx):
            def present():
                return any(m["_id"] == message_id for m in cx.query("messages:list", {"roomId": room}))

            if not present():
                raise HttpError(404, "NOT_FOUND", "no such message in this room")
            cx.mutation("messages:remove", self.with_session({"messageId": message_id}))
            if present():
                raise HttpError(403, "FORBIDDEN", "you may not remove this message")

        self.tx(work)
        self.reply(204)

    # --- presence ---------------------------------------------------------

    @route("POST", "/api/presence")
    def heartbeat(self):
        """presence.update, the heartbeat; body {roomId, data, sessionId?}; 204."""
        args = self.with_session(self.json_body())
        self.tx(lambda cx: cx.mutation("presence:update", args))
        self.reply(204)

    @route("DELETE", "/api/presence")
    def leave(self):
        """presence.leave; ?roomId= (or a body {roomId, sessionId?}); 204."""
        args = self.json_body()
        if self.arg("roomId") is not None:
            args.setdefault("roomId", self.arg("roomId"))
        args = self.with_session(args)
        self.tx(lambda cx: cx.mutation("presence:leave", args))
        self.reply(204)

    @route("GET", "/api/rooms/([^/]+)/presence")
    def list_presence(self, room):
        """presence.list: the room's entries seen in the last 30 s."""
        self.reply(200, self.tx(lambda cx: cx.query("presence:list", {"roomId": room})))

    # --- the user ---------------------------------------------------------

    @route("GET", "/api/me")
    def me(self):
        """users.current: the signed-in user's document, or null."""
        self.reply(200, self.tx(lambda cx: cx.query("users:current", {})))

    @route("PATCH", "/api/me")
    def update_me(self):
        """users.updateProfile; body {name?, image?}; the user's document afterwards."""
        args = self.json_body()

        def work(cx):
            cx.mutation("users:updateProfile", args)
            return cx.query("users:current", {})

        self.reply(200, self.tx(work))

    # --- files ------------------------------------------------------------

    @route("POST", "/api/upload-url")
    def upload_url(self):
        """files.generateUploadUrl; {"uploadUrl"} on this server (single use, valid 1 hour)."""

        def work(cx):
            url = cx.mutation("files:generateUploadUrl", {})
            return self.app.public(url, cx.scalar("SELECT current_setting('convexlite.url')"))

        self.reply(200, {"uploadUrl": self.tx(work)})

    @route("POST", "/api/storage/upload")
    def upload(self):
        """The upload POST (Convex's): body = the bytes, Content-Type; {"storageId"}."""
        data = self.read_body(MAX_UPLOAD)
        content_type = self.headers.get("Content-Type") or None
        url = self.app.public_url + self.path  # only the token is checked
        result = self.tx(lambda cx: cx.scalar(
            "SELECT convex_storage_upload(:url, :data, :content_type)",
            url=url, data=data, content_type=content_type))
        self.reply(200, result)

    @route("POST", "/api/files")
    def save_file(self):
        """files.saveFile; body {storageId, name, type, size, sessionId?}; 201 {"_id"}."""
        args = self.with_session(self.json_body())
        file_id = self.tx(lambda cx: cx.mutation("files:saveFile", args))
        self.reply(201, {"_id": file_id})

    @route("GET", "/api/files")
    def list_files(self):
        """files.list: the user's files (or the session's), each with its download url."""
        args = self.with_session({})

        def work(cx):
            files = cx.query("files:list", args)
            base = cx.scalar("SELECT current_setting('convexlite.url')")
            return [dict(f, url=self.app.public(f.get("url"), base)) for f in files]

        self.reply(200, self.tx(work))

    @route("GET", "/api/storage/([^/]+)")
    def download(self, storage_id):
        """A file URL: the blob's bytes with its content type (streamed in 1 MiB reads)."""

        def work(cx):
            meta = cx.scalar("SELECT convex_storage_get_metadata(:id)", id=storage_id)
            if meta is None:
                raise HttpError(404, "NOT_FOUND", "no such file")
            size = int(meta["size"])
            self.send_response(200)
            self.send_header("Content-Type", meta.get("contentType") or "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.send_header("Cache-Control", "private, max-age=2592000, immutable")
            self.end_headers()
            self.started = True
            offset = 0
            while offset < size:
                chunk = cx.scalar("SELECT convex_storage_get(:id, :offset, :length)",
                                  id=storage_id, offset=offset, length=DOWNLOAD_CHUNK)
                if not chunk:
                    raise RuntimeError("blob %s was deleted during its download" % storage_id)
                self.wfile.write(chunk)
                offset += len(chunk)

        self.tx(work)

    # --- realtime ---------------------------------------------------------

    @route("GET", "/events")
    def events(self):
        """Server-Sent Events: convexlite's notifications (?room= follows one room)."""
        sub = self.app.relay.subscribe(self.arg("room"))
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.started = True
            self.close_connection = True
            self.wfile.write(b"retry: 2000\n: connected\n\n")
            self.wfile.flush()
            while not sub.overflowed:
                try:
                    event, data = sub.events.get(timeout=KEEPALIVE)
                    message = "event: %s\ndata: %s\n\n" % (event, data)
                except queue.Empty:
                    message = ": keepalive\n\n"
                self.wfile.write(message.encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.app.relay.unsubscribe(sub)


HANDLERS = [fn for fn in vars(Handler).values() if hasattr(fn, "route")]


class Server(ThreadingHTTPServer):
    """A thread per connection; a listen backlog for bursts of connections (socketserver's is 5)."""

    daemon_threads = True
    request_queue_size = 128


def main(argv=None):
    """Parse the options, connect, listen, serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")),
                        help="0 picks a free port")
    parser.add_argument("--public-url", default=os.environ.get("PUBLIC_URL"),
                        help="the base URL clients reach this server at (default http://HOST:PORT)")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)

    engine = db.make_engine()
    with engine.connect() as conn:  # fail now, not at the first request
        who = conn.exec_driver_sql("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").one()
    if who.rolsuper:
        log.warning("connected as superuser %s: an application server should use a role "
                    "granted with convex_grant_role(role, 'app')", who.current_user)
    # the listener connects where the engine does (DATABASE_URL or PG*), unless told otherwise
    _, connect_kwargs = engine.dialect.create_connect_args(engine.url)
    relay = realtime.Relay(os.environ.get("LISTEN_CONNINFO", ""), **connect_kwargs)
    relay.start()

    httpd = Server((opts.host, opts.port), Handler)
    host, port = httpd.server_address[:2]
    Handler.app = App(engine, relay, opts.public_url or "http://%s:%d" % (host, port))
    print("listening on http://%s:%d as database role %s" % (host, port, who.current_user), flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        engine.dispose()


if __name__ == "__main__":
    main()
