// server.mjs: the seed app's functions over Convex's own HTTP API, served
// from PostgreSQL with convexlite, so that the convex npm package's
// ConvexHttpClient calls them unchanged.
//
//   POST /api/query, /api/mutation       run a function (lib/functions.mjs)
//   POST /api/storage/upload?token=…     the upload URL (lib/storage.mjs)
//   GET  /api/storage/<storageId>        the file URL (lib/storage.mjs)
//   GET  /events?room=…                  realtime, Server-Sent Events (lib/events.mjs)
//
// Environment: PG* (node-postgres: PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE) for a login role granted convex_grant_role(role, 'app');
// PORT (3210) and HOST (127.0.0.1); PUBLIC_URL (http://HOST:PORT), which
// must equal the database's convexlite.url; PG_POOL_MAX (10);
// MAX_UPLOAD_BYTES (64 MiB); the JWT settings of lib/auth.mjs.
import http from "node:http";
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import pg from "pg";

import { AuthError, makeVerifier, requestClaims } from "./lib/auth.mjs";
import { httpError } from "./lib/errors.mjs";
import { EventHub } from "./lib/events.mjs";
import { runFunction } from "./lib/functions.mjs";
import { download, upload } from "./lib/storage.mjs";

// Largest body of a function call (Convex's limit for its public API)
const MAX_CALL_BYTES = 8 * 1024 * 1024;

const log = (msg) => console.error(`${new Date().toISOString()} ${msg}`);

// Settings from the environment
function readConfig(env) {
  const port = Number(env.PORT ?? 3210);
  const host = env.HOST ?? "127.0.0.1";
  return {
    port,
    host,
    publicUrl: (env.PUBLIC_URL ?? `http://${host}:${port}`).replace(/\/+$/, ""),
    poolMax: Number(env.PG_POOL_MAX ?? 10),
    maxUploadBytes: Number(env.MAX_UPLOAD_BYTES ?? 64 * 1024 * 1024),
  };
}

// Send a reply: {status, body} as JSON; a function's success comes as
// {rawValue, logLines}, its value a JSON text spliced in as it is; rawBody
// is a JSON text sent as it is
function reply(res, { status, body, rawValue, logLines, rawBody }) {
  let text;
  if (rawBody !== undefined) {
    text = rawBody;
  } else if (rawValue !== undefined) {
    text = `{"status":"success","value":${rawValue ?? "null"}` +
      (logLines && logLines.length ? `,"logLines":${JSON.stringify(logLines)}` : "") + "}";
  } else {
    text = JSON.stringify(body);
  }
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(text);
}

// A request's JSON body (up to MAX_CALL_BYTES): the value, or an error reply
async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_CALL_BYTES) return { error: httpError(413, "PayloadTooLarge", `The request body is larger than ${MAX_CALL_BYTES} bytes`) };
    chunks.push(chunk);
  }
  try {
    return { value: JSON.parse(Buffer.concat(chunks, size).toString("utf8")) };
  } catch (e) {
    return { error: httpError(400, "BadJsonBody", `The request body is not JSON: ${e.message}`) };
  }
}

// Headers that let a browser page of another origin call the API, as
// Convex's deployments do
function cors(req, res) {
  res.setHeader("Access-Control-Allow-Origin", req.headers.origin ?? "*");
  res.setHeader("Vary", "Origin");
  res.setHeader("Access-Control-Allow-Headers", "Authorization, Content-Type, Convex-Client, Digest, Range");
  res.setHeader("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
}

// Route one request; returns the reply, or null when it answered itself
async function route(ctx, req, res, requestId) {
  const url = new URL(req.url, ctx.config.publicUrl);
  const path = url.pathname;

  if (req.method === "OPTIONS") return { status: 204, rawBody: "" };

  if (req.method === "POST" && (path === "/api/query" || path === "/api/mutation")) {
    let claims;
    try {
      claims = await requestClaims(req, ctx.verifier);
    } catch (e) {
      if (e instanceof AuthError) return httpError(401, "InvalidAuthHeader", e.message);
      throw e;
    }
    const { value, error } = await readJson(req);
    if (error) return error;
    return runFunction(ctx.pool, path === "/api/query" ? "query" : "mutation", value, claims, requestId, log);
  }
  if (req.method === "POST" && path === "/api/storage/upload") {
    return upload(ctx.pool, req, url, ctx.config.maxUploadBytes, requestId, log);
  }
  const file = /^\/api\/storage\/([^/]+)$/.exec(path);
  if ((req.method === "GET" || req.method === "HEAD") && file) {
    let storageId;
    try {
      storageId = decodeURIComponent(file[1]);
    } catch {
      return httpError(400, "InvalidStoragePath", `Invalid storage path: "${file[1]}"`);
    }
    return download(ctx.pool, req, res, storageId, requestId, log);
  }
  if (req.method === "GET" && path === "/events") {
    return ctx.events.subscribe(req, res, url);
  }
  return httpError(404, "NotFound", `${req.method} ${path} is not served here (convexlite has queries and mutations: POST /api/query, /api/mutation)`);
}

// Compare the database's convexlite.url with PUBLIC_URL: the upload and
// file URLs convexlite hands out must point here.  Also warn about a
// superuser connection (use a role granted 'app').
async function checkDatabase(pool, publicUrl) {
  const { rows: [row] } = await pool.query(
    `SELECT current_database() AS db, current_setting('convexlite.url', true) AS url, rolsuper,
            EXISTS (SELECT FROM pg_extension WHERE extname = 'convexlite') AS installed
       FROM pg_roles WHERE rolname = current_user`);
  if (!row.installed) {
    throw new Error(`convexlite is not installed in database ${row.db} (CREATE EXTENSION convexlite)`);
  }
  if ((row.url ?? "").replace(/\/+$/, "") !== publicUrl) {
    log(`warning: convexlite.url is ${row.url} but this server is ${publicUrl}: upload and file URLs will not reach it ` +
      `(as a superuser: ALTER DATABASE ${row.db} SET convexlite.url = '${publicUrl}', then restart this server)`);
  }
  if (row.rolsuper) log("warning: connected as a superuser; connect as a login role granted convex_grant_role(role, 'app')");
}

// Start the server; resolves to {server, close()} once it listens
export async function start(env = process.env) {
  const config = readConfig(env);
  const verifier = await makeVerifier(env);
  const pool = new pg.Pool({ max: config.poolMax });
  pool.on("error", (err) => log(`pool: idle connection error: ${err.message}`));
  await checkDatabase(pool, config.publicUrl);
  const events = new EventHub({}, log);
  await events.start();
  const ctx = { config, verifier, pool, events };

  const server = http.createServer((req, res) => {
    const requestId = randomBytes(8).toString("hex");
    cors(req, res);
    route(ctx, req, res, requestId).then(
      (result) => { if (result) reply(res, result); },
      (err) => {
        log(`[${requestId}] ${req.method} ${req.url}: ${err.stack ?? err}`);
        if (!res.headersSent) reply(res, httpError(500, "InternalServerError", "Your request couldn't be completed. Try again later."));
        else res.destroy();
      });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, resolve);
  });
  const address = server.address();
  log(`convexlite example server listening on http://${address.address}:${address.port}` +
    ` (database ${env.PGDATABASE ?? "(PGDATABASE not set: the user's)"}, JWT ${verifier.configured ? "verified" : "not configured: tokens are refused"})`);

  return {
    server,
    async close() {
      await events.close();
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeIdleConnections?.();
      await closed;
      await pool.end();
    },
  };
}

// Run as a program: start, and stop cleanly on SIGINT/SIGTERM
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  start().then((app) => {
    const stop = () => app.close().then(() => process.exit(0));
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  }, (err) => {
    log(`could not start: ${err.message}`);
    process.exit(1);
  });
}
