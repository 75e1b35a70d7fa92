// lib/functions.mjs: POST /api/query and POST /api/mutation, Convex's HTTP
// API for running a function, on convex_query(path, args) and
// convex_mutation(path, args).
//
// ConvexHttpClient sends {"path": "messages:send", "format":
// "convex_encoded_json", "args": [{...}]} (convex-js
// src/browser/http_client.ts) and reads {"status": "success", "value",
// "logLines"} or {"status": "error", "errorMessage", "errorData",
// "logLines"}.  Each call takes one pooled connection and runs in one
// transaction: the verified JWT claims first (set_config('request.jwt.claims',
// ..., true): they end with the transaction), then the function, with bound
// parameters.
import { functionFailure, httpError } from "./errors.mjs";

// The SQL of each kind of call.  ::text keeps the value exactly as
// PostgreSQL wrote it (no JSON round trip through JavaScript numbers).
const CALL_SQL = {
  query: "SELECT convex_query($1, $2)::text AS value",
  mutation: "SELECT convex_mutation($1, $2)::text AS value",
};
// A query runs in a read-only transaction: it cannot write, whatever it calls
const BEGIN_SQL = { query: "BEGIN READ ONLY", mutation: "BEGIN" };

// Convex's function path: "messages:send"; "messages.js:send" is the same
// function and "messages" its default export ("messages:default")
export function canonicalPath(path) {
  if (typeof path !== "string" || path === "") return null;
  let [module, name, ...rest] = path.split(":");
  if (rest.length > 0 || module === "") return null;
  module = module.replace(/\.js$/, "");
  return `${module}:${name === undefined || name === "" ? "default" : name}`;
}

// The arguments object of a request body: args is [{...}] (what
// ConvexHttpClient sends) or {...}
function callArgs(args) {
  if (args === undefined) return {};
  if (Array.isArray(args)) {
    if (args.length !== 1) return null;
    args = args[0];
  }
  if (args === null || typeof args !== "object" || Array.isArray(args)) return null;
  return args;
}

// Run one call of kind "query" or "mutation" for a parsed request body;
// returns {status: 200, rawValue, logLines} (the value as JSON text) on
// success, else {status, body}
export async function runFunction(pool, kind, body, claims, requestId, log) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return httpError(400, "BadJsonBody", "The request body must be a JSON object: {\"path\", \"args\", \"format\"}");
  }
  const path = canonicalPath(body.path);
  if (path === null) {
    return httpError(400, "BadConvexFunctionIdentifier", `Invalid function path: ${JSON.stringify(body.path)}`);
  }
  const args = callArgs(body.args);
  if (args === null) {
    return httpError(400, "InvalidArgs", "args must be an object, or an array of one object");
  }
  if (body.format !== undefined && body.format !== "convex_encoded_json" && body.format !== "json") {
    return httpError(400, "InvalidFormat", `Unsupported format: ${JSON.stringify(body.format)}`);
  }

  const client = await pool.connect();
  const logLines = [];
  const onNotice = (n) => logLines.push(`[${n.severity}] ${n.message}`);
  client.on("notice", onNotice);
  let inTransaction = false;
  let broken = false;
  try {
    await client.query(BEGIN_SQL[kind]);
    inTransaction = true;
    if (claims !== null) {
      await client.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
    }
    const { rows } = await client.query(CALL_SQL[kind], [path, JSON.stringify(args)]);
    await client.query("COMMIT");
    inTransaction = false;
    // the value is raw JSON text, spliced into the reply as it is
    return { status: 200, rawValue: rows[0].value, logLines };
  } catch (err) {
    // an error without a SQLSTATE is the connection's: do not reuse it
    broken = !err || typeof err.code !== "string" || err.code.startsWith("08");
    if (inTransaction && !broken) {
      await client.query("ROLLBACK").catch(() => { broken = true; });
    }
    const failure = functionFailure(err, requestId, log);
    if (failure.status === 200 && logLines.length) failure.body.logLines = logLines;
    return failure;
  } finally {
    client.off("notice", onNotice);
    client.release(broken);
  }
}
