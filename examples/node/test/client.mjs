// test/client.mjs: drives a running server.mjs over HTTP with the convex npm
// package's ConvexHttpClient, unchanged, as a Convex app's server would;
// one PASS/FAIL line per check (test/scripts/example_node.sh runs it).
//
// Environment: CONVEX_URL (the server), KEYS_DIR (test/keys.mjs's keys,
// the server verifying with DIR/jwks.json), JWT_ISSUER and JWT_AUDIENCE
// (the server's), USER_ID (an Id<"users"> the signed-in checks use).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { ConvexHttpClient } from "convex/browser";
import { anyApi } from "convex/server";
import { ConvexError } from "convex/values";
import { SignJWT, generateKeyPair, importJWK } from "jose";

const api = anyApi;
const { CONVEX_URL, KEYS_DIR, JWT_ISSUER, JWT_AUDIENCE, USER_ID } = process.env;
const room = `room-${randomBytes(4).toString("hex")}`;
const session = `tab-${randomBytes(4).toString("hex")}`;
let failures = 0;

function pass(msg) { console.log(`PASS: ${msg}`); }
function fail(msg) { failures++; console.log(`FAIL: ${msg}`); }
function check(msg, ok, got) { ok ? pass(msg) : fail(`${msg}: got ${got}`); }

// A client that records the HTTP status of its last request (the client's
// own fetch, wrapped: the client itself is unchanged)
function makeClient() {
  const seen = { status: null };
  const client = new ConvexHttpClient(CONVEX_URL, {
    logger: false,
    fetch: async (...a) => {
      const r = await fetch(...a);
      seen.status = r.status;
      return r;
    },
  });
  return { client, seen };
}

// Run fn; the error it throws, or null
async function thrown(fn) {
  try {
    await fn();
    return null;
  } catch (e) {
    return e;
  }
}

// A signed token: claims over the defaults, signed with key (the server's
// by default)
const privateJwk = JSON.parse(readFileSync(join(KEYS_DIR, "private.jwk"), "utf8"));
const serverKey = await importJWK(privateJwk, "RS256");
async function token(claims = {}, { key = serverKey, exp = "10m" } = {}) {
  return new SignJWT({ sub: `${USER_ID}|session1`, name: "Ada", team: "blue", ...claims })
    .setProtectedHeader({ alg: "RS256", kid: privateJwk.kid })
    .setIssuer(claims.iss ?? JWT_ISSUER)
    .setAudience(claims.aud ?? JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(key);
}

// An event stream of GET /events: next(ms) is the next event {event, data}
// (null after ms), close() ends it; resolves once the stream is open
async function openEvents(query) {
  const controller = new AbortController();
  const res = await fetch(`${CONVEX_URL}/events?${query}`, { signal: controller.signal });
  if (res.status !== 200) throw new Error(`GET /events: ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const events = [];
  const waiters = [];
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let i;
        while ((i = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const ev = { event: "message", data: null, comment: null };
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) ev.comment = line.slice(1).trim();
            else if (line.startsWith("event: ")) ev.event = line.slice(7);
            else if (line.startsWith("data: ")) ev.data = JSON.parse(line.slice(6));
          }
          (waiters.shift() ?? ((e) => events.push(e)))(ev);
        }
      }
    } catch {
      // aborted
    }
  })();
  const next = (ms) => events.length ? Promise.resolve(events.shift()) : new Promise((resolve) => {
    const w = (e) => { clearTimeout(t); resolve(e); };
    const t = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); resolve(null); }, ms);
    waiters.push(w);
  });
  const opened = await next(5000);
  if (!opened || !opened.comment?.startsWith("listening")) throw new Error("the event stream did not open");
  return { next, close: () => controller.abort() };
}

const { client: anon, seen: anonSeen } = makeClient();

// --- messages: send, list, remove -------------------------------------------
const events = await openEvents(`room=${encodeURIComponent(room)}&tables=messages`);
// a message of another room first: the stream must skip it
await anon.mutation(api.messages.send, { roomId: `${room}-other`, content: "elsewhere", userName: "Bo", sessionId: session });
const id = await anon.mutation(api.messages.send, { roomId: room, content: "Hello from ConvexHttpClient", userName: "Bo", sessionId: session });
check("messages:send returns an Id<\"messages\">", typeof id === "string" && id.length >= 31, JSON.stringify(id));

const ev = await events.next(5000);
check("SSE: the send arrives on /events?room= as an insert of that message (the other room's is filtered out)",
  ev && ev.event === "messages" && ev.data.op === "insert" && ev.data._id === id && ev.data.roomId === room, JSON.stringify(ev));

let list = await anon.query(api.messages.list, { roomId: room });
check("messages:list returns the message", list.length === 1 && list[0]._id === id && list[0].content === "Hello from ConvexHttpClient" &&
  typeof list[0]._creationTime === "number", JSON.stringify(list));

await anon.mutation(api.messages.remove, { messageId: id, sessionId: session });
list = await anon.query(api.messages.list, { roomId: room });
check("messages:remove (demo mode, by sessionId) deletes it", list.length === 0, JSON.stringify(list));
const evRemoved = await events.next(5000);
check("SSE: the remove arrives as a delete", evRemoved && evRemoved.data.op === "delete" && evRemoved.data._id === id, JSON.stringify(evRemoved));
events.close();

// --- the wire format, without the client ---------------------------------------
let r = await fetch(`${CONVEX_URL}/api/query`, { method: "POST", headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ path: "messages.js:list", args: { roomId: room } }) });
let body = await r.json();
check("raw POST /api/query: args as an object, path with .js, no format: {status: success, value}",
  r.status === 200 && body.status === "success" && Array.isArray(body.value) && body.value.length === 0, `${r.status} ${JSON.stringify(body)}`);
r = await fetch(`${CONVEX_URL}/api/mutation`, { method: "POST", body: "{not json" });
body = await r.json();
check("a body that is not JSON is 400 {code, message}", r.status === 400 && body.code === "BadJsonBody", `${r.status} ${JSON.stringify(body)}`);

// a handler's RAISE NOTICE comes back in logLines, which the client hands
// to its logger
const logged = [];
const noisy = new ConvexHttpClient(CONVEX_URL, {
  logger: { log: (...a) => logged.push(a.join(" ")), warn: () => {}, error: () => {}, logVerbose: () => {} },
});
const quiet = await noisy.query(api.example.noisy, { roomId: room });
check("a handler's RAISE NOTICE reaches the client's logger (logLines)",
  Array.isArray(quiet) && logged.some((l) => l.includes(`reading room ${room}`)), JSON.stringify(logged));

// --- presence: heartbeat and list -------------------------------------------
await anon.mutation(api.presence.update, { roomId: room, sessionId: session, data: { status: "typing", cursor: { x: 3, y: 4 } } });
await anon.mutation(api.presence.update, { roomId: room, sessionId: session, data: { status: "idle", cursor: { x: 5, y: 6 } } });
const present = await anon.query(api.presence.list, { roomId: room });
check("presence:update twice (heartbeat) then presence:list: one entry with the latest data",
  present.length === 1 && present[0].sessionId === session && present[0].data.status === "idle" && present[0].data.cursor.x === 5,
  JSON.stringify(present));

// --- errors -------------------------------------------------------------------
let e = await thrown(() => anon.mutation(api.users.updateProfile, { name: "Nobody" }));
check("ConvexError: users:updateProfile signed out throws a ConvexError with its data (code UNAUTHORIZED)",
  e instanceof ConvexError && e.data?.code === "UNAUTHORIZED" && e.data?.message === "You must be logged in to update your profile" &&
  anonSeen.status === 200, `${e?.constructor?.name} ${JSON.stringify(e?.data)} ${e?.message} (HTTP ${anonSeen.status})`);

// example:fail, registered by the test: convex_error(args.data)
const objectData = { code: "NOT_ENOUGH_CREDITS", message: "Top up first", credits: 3, needed: [5, { exact: true }] };
e = await thrown(() => anon.mutation(api.example.fail, { data: objectData }));
check("ConvexError: a handler's convex_error(object) comes back as a ConvexError with that data",
  e instanceof ConvexError && isDeepStrictEqual(e.data, objectData) && e.message.includes("Top up first"),
  `${e?.constructor?.name} ${JSON.stringify(e?.data)}`);
e = await thrown(() => anon.mutation(api.example.fail, { data: "Not enough credits" }));
check("ConvexError: convex_error(string) comes back with that string as data",
  e instanceof ConvexError && e.data === "Not enough credits", `${e?.constructor?.name} ${JSON.stringify(e?.data)}`);
e = await thrown(() => anon.mutation(api.example.fail, { data: [1, "two", null] }));
check("ConvexError: convex_error(array) comes back with that array as data",
  e instanceof ConvexError && isDeepStrictEqual(e.data, [1, "two", null]), `${e?.constructor?.name} ${JSON.stringify(e?.data)}`);

e = await thrown(() => anon.mutation(api.messages.send, { roomId: room, content: 42, userName: "Bo" }));
check("validation error: a plain Error (not a ConvexError) with Convex's ArgumentValidationError message",
  e instanceof Error && !(e instanceof ConvexError) && /ArgumentValidationError: Value does not match validator\.\nPath: \.content/.test(e.message),
  `${e?.constructor?.name}: ${e?.message}`);

e = await thrown(() => anon.query(api.messages.nope, {}));
check("a missing function: Convex's 'Could not find public function'",
  e instanceof Error && !(e instanceof ConvexError) && e.message.includes("Could not find public function for 'messages:nope'"), e?.message);

e = await thrown(() => anon.query(api.messages.send, { roomId: room, content: "x", userName: "Bo" }));
check("a mutation called as a query is refused", e instanceof Error && e.message.includes("as Query, but it is defined as Mutation"), e?.message);

// --- files: upload URL, upload, file URL ---------------------------------------
const uploadUrl = await anon.mutation(api.files.generateUploadUrl, {});
check("files:generateUploadUrl returns an upload URL on this server", typeof uploadUrl === "string" && uploadUrl.startsWith(`${CONVEX_URL}/api/storage/upload?token=`), uploadUrl);
const bytes = randomBytes(300 * 1024 + 7);
bytes[0] = 0x89; bytes[1] = 0x00; bytes[2] = 0xff;     // not UTF-8, a NUL
r = await fetch(uploadUrl, { method: "POST", headers: { "Content-Type": "image/png" }, body: bytes });
const uploaded = await r.json();
check("the upload POST replies {storageId}", r.status === 200 && typeof uploaded.storageId === "string", `${r.status} ${JSON.stringify(uploaded)}`);
const storageId = uploaded.storageId;

r = await fetch(uploadUrl, { method: "POST", headers: { "Content-Type": "image/png" }, body: bytes });
const reused = await r.json();
check("the upload URL is single-use: again is 409 UPLOAD_URL_USED", r.status === 409 && reused.code === "UPLOAD_URL_USED", `${r.status} ${JSON.stringify(reused)}`);

const fileId = await anon.mutation(api.files.saveFile, { storageId, name: "pixel.png", type: "image/png", size: bytes.length, sessionId: session });
const fileUrl = await anon.query(api.files.getUrl, { storageId });
check("files:getUrl returns the file URL on this server", fileUrl === `${CONVEX_URL}/api/storage/${storageId}`, fileUrl);
const files = await anon.query(api.files.list, { sessionId: session });
check("files:list (demo mode) lists the saved file with its url", files.length === 1 && files[0]._id === fileId && files[0].url === fileUrl, JSON.stringify(files));

r = await fetch(fileUrl);
const got = Buffer.from(await r.arrayBuffer());
check("GET of the file URL returns the same bytes with their Content-Type",
  r.status === 200 && r.headers.get("content-type") === "image/png" && got.equals(bytes) &&
  r.headers.get("content-length") === String(bytes.length),
  `${r.status} ${r.headers.get("content-type")} ${got.length} bytes, equal: ${got.equals(bytes)}`);

r = await fetch(fileUrl, { headers: { Range: "bytes=1000-1999" } });
const part = Buffer.from(await r.arrayBuffer());
check("a Range request returns 206 and that slice", r.status === 206 && part.equals(bytes.subarray(1000, 2000)), `${r.status} ${part.length} bytes`);

await anon.mutation(api.files.remove, { fileId, sessionId: session });
r = await fetch(fileUrl);
check("files:remove deletes the blob: its file URL is then 404", r.status === 404 && (await r.json()).code === "FileNotFound", r.status);
r = await fetch(`${CONVEX_URL}/api/storage/not-a-storage-id`);
check("a file URL that is no storage id is 400", r.status === 400 && (await r.json()).code === "InvalidStoragePath", r.status);

// --- identity: a valid JWT signs the user in ------------------------------------
const { client: ada, seen: adaSeen } = makeClient();
ada.setAuth(await token());
let me = await ada.query(api.users.current, {});
check("a valid JWT (sub = Id<\"users\">|session) signs the user in: users:current is that user", me && me._id === USER_ID, JSON.stringify(me));
await ada.mutation(api.users.updateProfile, { name: "Ada Lovelace" });
me = await ada.query(api.users.current, {});
check("users:updateProfile as the signed-in user, then users:current shows it", me && me.name === "Ada Lovelace" && adaSeen.status === 200, JSON.stringify(me));
const myMessage = await ada.mutation(api.messages.send, { roomId: room, content: "signed", userName: "Ada" });
list = await anon.query(api.messages.list, { roomId: room });
check("a message sent with the JWT has the user's userId", list.some((m) => m._id === myMessage && m.userId === USER_ID), JSON.stringify(list));
const identity = await ada.query(api.example.whoami, {});
check("the JWT's claims reach the handler as ctx.auth.getUserIdentity()",
  identity && identity.subject === `${USER_ID}|session1` && identity.issuer === JWT_ISSUER &&
  identity.tokenIdentifier === `${JWT_ISSUER}|${USER_ID}|session1` && identity.name === "Ada" && identity.team === "blue",
  JSON.stringify(identity));
check("without a token, ctx.auth.getUserIdentity() is null", (await anon.query(api.example.whoami, {})) === null, "not null");
me = await anon.query(api.users.current, {});
check("without a token, users:current is null (anonymous)", me === null, JSON.stringify(me));

// --- bad tokens: 401, never anonymous -------------------------------------------
const { privateKey: otherKey } = await generateKeyPair("RS256");
const expired = await token({}, { exp: Math.floor(Date.now() / 1000) - 3600 });
const bad = {
  "bad signature (another key, same kid)": await token({}, { key: otherKey }),
  "expired an hour ago": expired,
  "wrong issuer": await token({ iss: "https://evil.example.com" }),
  "wrong audience": await token({ aud: "another-app" }),
  "not a JWT": "not-a-jwt",
  "a tampered payload": (() => {
    const [h, p, s] = expired.split(".");
    const claims = JSON.parse(Buffer.from(p, "base64url"));
    claims.exp = Math.floor(Date.now() / 1000) + 3600;
    return `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`;
  })(),
};
for (const [what, tok] of Object.entries(bad)) {
  const { client, seen } = makeClient();
  client.setAuth(tok);
  const marker = `must not be sent: ${what}`;
  e = await thrown(() => client.mutation(api.messages.send, { roomId: room, content: marker, userName: "Mallory" }));
  const q = await thrown(() => client.query(api.users.current, {}));
  list = await anon.query(api.messages.list, { roomId: room });
  check(`JWT ${what}: 401 for mutation and query, nothing written`,
    e instanceof Error && seen.status === 401 && q instanceof Error && /InvalidAuthHeader/.test(e.message) &&
    !list.some((m) => m.content === marker),
    `${seen.status} ${e?.message}`);
}

console.log(`${failures === 0 ? "all checks passed" : `${failures} check(s) failed`}`);
process.exit(failures === 0 ? 0 : 1);
