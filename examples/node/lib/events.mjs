// lib/events.mjs: realtime as Server-Sent Events.
//
//   GET /events?room=<roomId>&tables=messages,presence
//
// One connection of the server LISTENs on convexlite's channels
// (convex_<table>, docs/realtime.md) and forwards each payload to the
// subscribers that want it, as
//   event: <table>
//   data: {"op":"insert","table":"messages","_id":"…","roomId":"general"}
// A subscriber gets the tables it names (default messages and presence);
// with room= only the changes of that room (and those whose roomId was too
// long to send, "truncated": true).  Payloads carry ids, never documents:
// the page reads what changed through /api/query (messages:list, ...).
import pg from "pg";

// The channels a subscriber may ask for: the seed app's tables
export const TABLES = ["messages", "presence", "files", "users"];
// A comment line every 15 s keeps proxies from closing an idle stream
const KEEPALIVE_MS = 15000;
// A subscriber that has this much unsent is too slow: its stream is ended
// (an EventSource reconnects, and reads the current state again)
const MAX_BACKLOG = 1024 * 1024;
// Wait before listening again after the listening connection broke
const RECONNECT_MS = 1000;

// The relay of notifications to subscribers
export class EventHub {
  constructor(pgConfig, log) {
    this.pgConfig = pgConfig;
    this.log = log;
    this.subscribers = new Set();
    this.client = null;
    this.closed = false;
  }

  // Connect and LISTEN on every table's channel; reconnects by itself
  async start() {
    const client = new pg.Client(this.pgConfig);
    client.on("notification", (n) => this.dispatch(n.channel, n.payload));
    client.on("error", (err) => this.lost(client, err));
    client.on("end", () => this.lost(client, new Error("connection ended")));
    await client.connect();
    for (const table of TABLES) {
      await client.query(`LISTEN ${pg.escapeIdentifier("convex_" + table)}`);
    }
    this.client = client;
  }

  // The listening connection is gone: listen again (notifications sent in
  // between are lost, as PostgreSQL keeps none for a session that left)
  lost(client, err) {
    if (this.client !== client || this.closed) return;
    this.client = null;
    this.log(`events: listening connection lost (${err.message}); reconnecting`);
    client.end().catch(() => {});
    const retry = () => {
      if (this.closed) return;
      this.start().catch((e) => {
        this.log(`events: reconnect failed (${e.message})`);
        setTimeout(retry, RECONNECT_MS);
      });
    };
    setTimeout(retry, RECONNECT_MS);
  }

  // Forward one notification to the subscribers that want it
  dispatch(channel, payload) {
    const table = channel.replace(/^convex_/, "");
    let change;
    try {
      change = JSON.parse(payload);
    } catch {
      return;
    }
    for (const s of this.subscribers) {
      if (!s.tables.has(table)) continue;
      if (s.room !== null && change.roomId !== s.room && change.truncated !== true) continue;
      if (s.res.writableLength > MAX_BACKLOG) {
        this.subscribers.delete(s);
        s.res.end();
        continue;
      }
      s.res.write(`event: ${table}\ndata: ${payload}\n\n`);
    }
  }

  // GET /events: keep the response open as an event stream
  subscribe(req, res, url) {
    const room = url.searchParams.get("room");
    const asked = (url.searchParams.get("tables") || "messages,presence").split(",").filter(Boolean);
    const unknown = asked.filter((t) => !TABLES.includes(t));
    if (unknown.length > 0 || asked.length === 0) {
      return { status: 400, body: { code: "InvalidTables", message: `tables must be among ${TABLES.join(", ")}` } };
    }
    res.writeHead(200, {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      Connection: "keep-alive",
    });
    // the first line tells the client the stream is open (and listening)
    res.write(`: listening to ${asked.join(", ")}${room !== null ? ` in room ${room}` : ""}\n\n`);
    const subscriber = { res, room, tables: new Set(asked) };
    this.subscribers.add(subscriber);
    const keepalive = setInterval(() => res.write(": keepalive\n\n"), KEEPALIVE_MS);
    req.on("close", () => {
      clearInterval(keepalive);
      this.subscribers.delete(subscriber);
    });
    return null;
  }

  // Stop listening and end every stream
  async close() {
    this.closed = true;
    for (const s of this.subscribers) s.res.end();
    this.subscribers.clear();
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => {});
  }
}
