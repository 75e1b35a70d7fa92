"""Realtime: convexlite's NOTIFY channels fanned out to Server-Sent-Events clients.

One psycopg 3 connection (autocommit, outside SQLAlchemy's pool: it is held
for as long as the server runs) LISTENs on the channels and reads
conn.notifies(); each payload goes to the queue of every subscriber that
follows its room.  Payloads are convexlite's ({"op", "table", "_id",
"roomId"}, docs/realtime.md): they carry no document, so a client reads the
room again through the API, with its own identity.  When the listening
connection is lost, the relay connects again and tells every subscriber to
read again ("resync"), since notifications sent meanwhile are lost.
"""

import json
import logging
import queue
import threading
import time

import psycopg
from psycopg import sql

log = logging.getLogger("convexlite.example")

CHANNELS = ("convex_messages", "convex_presence", "convex_files", "convex_users")

# events a slow client may have waiting before it is dropped (it reconnects
# and reads again)
QUEUE_SIZE = 1000


class Subscriber:
    """One SSE client: the room it follows (None: every event) and its queue."""

    def __init__(self, room):
        self.room = room
        self.events = queue.Queue(QUEUE_SIZE)
        self.overflowed = False

    def wants(self, change):
        """Whether a change (a decoded payload) is for this subscriber."""
        if self.room is None:
            return True
        # a roomId too long for a payload is left out and "truncated" is set
        return change.get("roomId") == self.room or change.get("truncated") is True


class Relay:
    """The LISTEN connection and its subscribers."""

    def __init__(self, conninfo="", **connect_kwargs):
        self.conninfo = conninfo
        self.connect_kwargs = connect_kwargs
        self.subscribers = set()
        self.lock = threading.Lock()
        self.ready = threading.Event()

    def start(self, timeout=10):
        """Start listening in a daemon thread; wait until the LISTENs are in place."""
        threading.Thread(target=self._run, name="notify-relay", daemon=True).start()
        if not self.ready.wait(timeout):
            raise RuntimeError("the realtime relay could not LISTEN within %s s" % timeout)

    def subscribe(self, room):
        """A new subscriber for room (None: all)."""
        sub = Subscriber(room)
        with self.lock:
            self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub):
        """Forget a subscriber (its client went away)."""
        with self.lock:
            self.subscribers.discard(sub)

    def _publish(self, event, data, change=None):
        """Queue (event, data) for every subscriber that wants it."""
        with self.lock:
            subs = list(self.subscribers)
        for sub in subs:
            if change is not None and not sub.wants(change):
                continue
            try:
                sub.events.put_nowait((event, data))
            except queue.Full:
                sub.overflowed = True

    def _run(self):
        """Listen forever, connecting again after a lost connection."""
        first = True
        while True:
            try:
                with psycopg.connect(self.conninfo, autocommit=True,
                                     **dict(self.connect_kwargs,
                                            application_name="convexlite-example-python-listen")) as conn:
                    for channel in CHANNELS:
                        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    if not first:
                        self._publish("resync", "{}")
                    first = False
                    self.ready.set()
                    for notify in conn.notifies():
                        try:
                            change = json.loads(notify.payload)
                        except ValueError:
                            continue
                        table = change.get("table") or notify.channel[len("convex_"):]
                        self._publish(table, notify.payload, change)
            except psycopg.Error as e:
                log.warning("realtime relay: %s; connecting again in 1 s", e)
                time.sleep(1)
