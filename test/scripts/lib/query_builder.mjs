// test/scripts/lib/query_builder.mjs: the property test of query_builder_js.sh.
//
//   node query_builder.mjs SEED DOCS QUERIES   (PGHOST/PGPORT/PGUSER/PGDATABASE
//                                              name a database with convexlite)
//
// Real convex-js builder calls (ctx.db.query(...).withIndex(...).filter(...)
// .order(...).collect() / take / first / unique / paginate, ctx.db.system
// .query) from the convex npm package run against convexlite: the package's
// own database reader (setupReader) serializes each query and sends it
// through the Convex.syscall / asyncSyscall hooks, which this file answers
// by passing the query JSON unchanged to convex_db_select and
// convex_db_paginate over psql.  So the JSON convexlite accepts is exactly
// what convex-js sends, and what convex-js does client-side (unique()'s
// error, first()) runs as in a Convex function.
//
// The results are compared with an oracle written from the Convex backend's
// semantics (crates/common/src/query.rs: Expression::eval, lazy filter and
// limit operators) over every document read back once, ordered and compared
// with the convex package's own compareValues.  Random documents (every
// value type, missing fields) and random filter trees (fields, nested
// paths, literals of every type, comparisons, and/or/not, arithmetic) are
// generated from SEED.  Prints PASS:/FAIL: lines.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

const ORACLE = process.env.CVX_ORACLE_DIR;
const oracle = createRequire(`${ORACLE}/`);
const { compareValues, convexToJson, jsonToConvex } = oracle("convex/values");
const { setupReader } = oracle(`${ORACLE}/node_modules/convex/dist/cjs/server/impl/database_impl.js`);

const [seedArg, docsArg, queriesArg] = process.argv.slice(2);
let seed = Number(seedArg ?? 1) >>> 0 || 1;
const NDOCS = Number(docsArg ?? 200);
const NQUERIES = Number(queriesArg ?? 150);

let failures = 0;
const pass = (msg) => console.log(`PASS: ${msg}`);
function fail(msg) {
  failures++;
  console.log(`FAIL: ${msg}`);
}

// xorshift32: the same seed gives the same run
function rand() {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 4294967296;
}
const int = (n) => Math.floor(rand() * n);
const pick = (xs) => xs[int(xs.length)];

// ---- psql --------------------------------------------------------------
function sql(text) {
  return execFileSync("psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", text], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 1 << 28,
  }).trim();
}
const lit = (s) => `$cvxqb$${s}$cvxqb$`;
// run SQL; a server error becomes an Error with the server's message
function sqlOrThrow(text) {
  try {
    return sql(text);
  } catch (e) {
    const m = /ERROR:\s+([^\n]*)/.exec(String(e.stderr ?? e.message));
    throw new Error(m ? m[1] : String(e.message));
  }
}

// ---- the Convex syscalls convex-js's reader makes, answered by convexlite
const streams = new Map();
let nextQueryId = 1;
const sent = []; // every query JSON convex-js sent
globalThis.Convex = {
  syscall(op, jsonArgs) {
    const args = JSON.parse(jsonArgs);
    if (op === "1.0/queryStream") {
      sent.push(args.query);
      const rows = JSON.parse(
        sqlOrThrow(`SELECT coalesce(jsonb_agg(d), '[]') FROM convex_db_select(${lit(JSON.stringify(args.query))}::jsonb) d`),
      );
      const queryId = nextQueryId++;
      streams.set(queryId, rows);
      return JSON.stringify({ queryId });
    }
    if (op === "1.0/queryCleanup") {
      streams.delete(args.queryId);
      return JSON.stringify(true);
    }
    throw new Error(`unexpected syscall ${op}`);
  },
  async asyncSyscall(op, jsonArgs) {
    const args = JSON.parse(jsonArgs);
    if (op === "1.0/queryStreamNext") {
      const rows = streams.get(args.queryId);
      if (rows.length === 0) return JSON.stringify({ value: null, done: true });
      return JSON.stringify({ value: rows.shift(), done: false });
    }
    if (op === "1.0/queryPage") {
      sent.push(args.query);
      const opts = { numItems: args.pageSize, cursor: args.cursor };
      if (args.maximumRowsRead !== null && args.maximumRowsRead !== undefined)
        opts.maximumRowsRead = args.maximumRowsRead;
      return sqlOrThrow(
        `SELECT convex_db_paginate(${lit(JSON.stringify(args.query))}::jsonb, ${lit(JSON.stringify(opts))}::jsonb)`,
      );
    }
    throw new Error(`unexpected async syscall ${op}`);
  },
};
const db = setupReader();

// ---- random values and documents ---------------------------------------
const FLOATS = [0, -0, 1, -1, 0.5, 2.5, 7, 100, -3, NaN, Infinity, -Infinity, 1e300];
const INTS = [0n, 1n, -1n, 7n, 100n, -(2n ** 63n), 2n ** 63n - 1n];
const STRINGS = ["", "a", "b", "ab", "r0", "r1", "x", "\u00e9", "\u{1f600}", "Z"];
function randValue(depth = 0) {
  switch (int(depth > 1 ? 6 : 9)) {
    case 0: return null;
    case 1: return pick(FLOATS);
    case 2: return pick(INTS);
    case 3: return rand() < 0.5;
    case 4: return pick(STRINGS);
    case 5: return new Uint8Array([int(4), int(256)]).buffer;
    case 6: return [randValue(depth + 1)];
    case 7: return { k: randValue(depth + 1) };
    default: return { k: pick(FLOATS), s: pick(STRINGS) };
  }
}
function randDoc(i) {
  const doc = { room: pick(["r0", "r1", "r2"]), n: pick([int(10), int(10), pick(FLOATS)]) };
  if (rand() < 0.6) doc.tag = pick(STRINGS);
  if (rand() < 0.7) doc.v = randValue();
  if (rand() < 0.4) doc.big = pick(INTS);
  return doc;
}

// ---- the oracle: Convex's query semantics over the documents -----------
const cmp = (a, b) => compareValues(a, b);
const isInt = (v) => typeof v === "bigint";
const isFloat = (v) => typeof v === "number";
class EvalError extends Error {}
function fieldPath(doc, path) {
  let v = doc;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || v instanceof ArrayBuffer) return undefined;
    v = v[part];
  }
  return v;
}
function asBoolean(v) {
  if (typeof v !== "boolean") throw new EvalError("not a Boolean");
  return v;
}
function arith(op, l, r) {
  if (isInt(l) && isInt(r)) {
    let x;
    if ((op === "$div" || op === "$mod") && r === 0n) throw new EvalError("by zero");
    if (op === "$add") x = l + r;
    else if (op === "$sub") x = l - r;
    else if (op === "$mul") x = l * r;
    else if (op === "$div") x = l / r;
    else x = l % r;
    if (x < -(2n ** 63n) || x >= 2n ** 63n) throw new EvalError("out of range");
    return x;
  }
  if (isFloat(l) && isFloat(r)) {
    let x;
    if (op === "$add") x = l + r;
    else if (op === "$sub") x = l - r;
    else if (op === "$mul") x = l * r;
    else if (op === "$div") x = l / r;
    else x = l % r;
    // convexlite keeps one NaN, the quiet 0x7ff8… (cvx_sortkey.c); -Inf * 0
    // computes a NaN with the sign bit set on x86
    return Number.isNaN(x) ? NaN : x;
  }
  throw new EvalError("types");
}
function evalExpr(e, doc) {
  const [op] = Object.keys(e);
  const a = e[op];
  switch (op) {
    case "$field": return fieldPath(doc, a);
    case "$literal": return jsonToConvexOrUndefined(a);
    case "$eq": return cmp(evalExpr(a[0], doc), evalExpr(a[1], doc)) === 0;
    case "$neq": return cmp(evalExpr(a[0], doc), evalExpr(a[1], doc)) !== 0;
    case "$lt": return cmp(evalExpr(a[0], doc), evalExpr(a[1], doc)) < 0;
    case "$lte": return cmp(evalExpr(a[0], doc), evalExpr(a[1], doc)) <= 0;
    case "$gt": return cmp(evalExpr(a[0], doc), evalExpr(a[1], doc)) > 0;
    case "$gte": return cmp(evalExpr(a[0], doc), evalExpr(a[1], doc)) >= 0;
    case "$add": case "$sub": case "$mul": case "$div": case "$mod":
      return arith(op, evalExpr(a[0], doc), evalExpr(a[1], doc));
    case "$neg": {
      const x = evalExpr(a, doc);
      if (isInt(x)) {
        if (x === -(2n ** 63n)) throw new EvalError("out of range");
        return -x;
      }
      if (isFloat(x)) return Number.isNaN(x) ? NaN : -x;
      throw new EvalError("types");
    }
    case "$and":
      for (const x of a) if (!asBoolean(evalExpr(x, doc))) return false;
      return true;
    case "$or":
      for (const x of a) if (asBoolean(evalExpr(x, doc))) return true;
      return false;
    case "$not": return !asBoolean(evalExpr(a, doc));
    default: throw new Error(`oracle: unknown ${op}`);
  }
}
function jsonToConvexOrUndefined(j) {
  if (j !== null && typeof j === "object" && !Array.isArray(j) && "$undefined" in j) return undefined;
  return jsonToConvex(j);
}
// the documents a query returns, in order (an EvalError propagates)
function oracleRun(all, query) {
  const src = query.source;
  let keys;
  let docs = all.filter((d) => d._table === (src.tableName ?? src.indexName.split(".")[0]));
  if (src.type === "FullTableScan") keys = ["_creationTime"];
  else {
    const index = src.indexName.split(".")[1];
    keys = index === "by_creation_time" ? ["_creationTime"] : index === "by_id" ? ["_id"]
      : [...INDEXES[index], "_creationTime"];
    for (const r of src.range) {
      const v = jsonToConvexOrUndefined(r.value);
      const test = { Eq: (c) => c === 0, Gt: (c) => c > 0, Gte: (c) => c >= 0, Lt: (c) => c < 0, Lte: (c) => c <= 0 }[r.type];
      docs = docs.filter((d) => test(cmp(fieldPath(d, r.fieldPath), v)));
    }
  }
  if (keys[keys.length - 1] !== "_id") keys = [...keys, "_id"];
  docs.sort((x, y) => {
    for (const k of keys) {
      const c = cmp(fieldPath(x, k), fieldPath(y, k));
      if (c !== 0) return c;
    }
    return 0;
  });
  if (src.order === "desc") docs.reverse();
  const out = [];
  const counts = query.operators.map(() => 0);
  const full = () => query.operators.some((op, i) => "limit" in op && counts[i] >= op.limit);
  for (const d of docs) {
    if (full()) break;
    let passes = true;
    for (let i = 0; i < query.operators.length && passes; i++) {
      const op = query.operators[i];
      if ("limit" in op) counts[i]++;
      else passes = asBoolean(evalExpr(op.filter, d));
    }
    if (passes) out.push(d);
  }
  return out;
}

// ---- random filters, written with convex-js's filter builder ------------
const FIELDS = ["room", "n", "tag", "v", "big", "v.k", "v.s", "nope", "_creationTime"];
function randLiteral() {
  switch (int(4)) {
    case 0: return pick(STRINGS);
    case 1: return pick(FLOATS);
    case 2: return rand() < 0.3 ? undefined : pick(INTS);
    default: return randValue();
  }
}
function randOperand(q, depth) {
  const r = int(depth > 1 ? 2 : 4);
  if (r === 0) return q.field(pick(FIELDS));
  if (r === 1) return randLiteral();
  if (r === 2) return q[pick(["add", "sub", "mul", "mod", "div"])](q.field(pick(["n", "big", "v"])), pick([1, 2, 0.5, 3n, 1n, 0]));
  return q.neg(q.field(pick(["n", "big"])));
}
function randFilter(q, depth = 0) {
  const r = int(depth > 1 ? 6 : 9);
  if (r < 6) return q[pick(["eq", "neq", "lt", "lte", "gt", "gte"])](randOperand(q, depth), randOperand(q, depth));
  if (r === 6) return q.and(randFilter(q, depth + 1), randFilter(q, depth + 1));
  if (r === 7) return q.or(randFilter(q, depth + 1), randFilter(q, depth + 1));
  return q.not(randFilter(q, depth + 1));
}

// ---- the table ----------------------------------------------------------
const INDEXES = { by_room: ["room"], by_room_n: ["room", "n"], by_v: ["v"], by_tag: ["tag"] };
sql(`SELECT convex_define_table('qbjs', '{
  "room": {"fieldType": {"type": "string"}, "optional": false},
  "n": {"fieldType": {"type": "number"}, "optional": false},
  "tag": {"fieldType": {"type": "string"}, "optional": true},
  "v": {"fieldType": {"type": "any"}, "optional": true},
  "big": {"fieldType": {"type": "bigint"}, "optional": true}}', ${lit(JSON.stringify(INDEXES))})`);
const inserts = [];
for (let i = 0; i < NDOCS; i++) inserts.push(JSON.stringify(convexToJson(randDoc(i))));
sql(`SELECT count(convex_db_insert('qbjs', d)) FROM jsonb_array_elements(${lit(JSON.stringify(inserts.map((s) => JSON.parse(s))))}::jsonb) d`);
const all = JSON.parse(sql(`SELECT jsonb_agg(d) FROM convex_db_select('{"source": {"type": "FullTableScan", "tableName": "qbjs", "order": null}, "operators": []}') d`))
  .map((j) => ({ ...jsonToConvex(j), _table: "qbjs" }));
if (all.length === NDOCS) pass(`${NDOCS} random documents stored and read back by a full table scan`);
else fail(`expected ${NDOCS} documents, read ${all.length}`);

const ids = (docs) => docs.map((d) => d._id).join(",");
// compare a builder call with the oracle: the same documents in the same order, or both an EvalError
async function compare(name, build, queryOf) {
  let got;
  let gotError = null;
  const before = sent.length;
  try {
    got = await build();
  } catch (e) {
    gotError = e.message;
  }
  const query = queryOf ?? sent[before];
  let want;
  let wantError = null;
  try {
    want = oracleRun(all, query);
  } catch (e) {
    if (!(e instanceof EvalError)) throw e;
    wantError = e.message;
  }
  if (wantError !== null || gotError !== null) {
    if (wantError !== null && gotError !== null && /EvalError/.test(gotError)) return true;
    fail(`${name}: ${JSON.stringify(query)}: convexlite ${gotError ?? "returned"}, oracle ${wantError ?? "returned"}`);
    return false;
  }
  if (ids(got) !== ids(want)) {
    fail(`${name}: ${JSON.stringify(query)}: convexlite ${got.length} documents, oracle ${want.length}: order or content differs`);
    return false;
  }
  return true;
}

// ---- fixed builder calls ------------------------------------------------
const fixed = [
  ["withIndex eq, collect", () => db.query("qbjs").withIndex("by_room", (q) => q.eq("room", "r1")).collect()],
  ["withIndex eq+range desc", () => db.query("qbjs").withIndex("by_room_n", (q) => q.eq("room", "r0").gt("n", 2).lte("n", 7)).order("desc").collect()],
  ["withIndex any field, gte", () => db.query("qbjs").withIndex("by_v", (q) => q.gte("v", "a")).collect()],
  ["withIndex eq undefined", () => db.query("qbjs").withIndex("by_tag", (q) => q.eq("tag", undefined)).collect()],
  ["by_creation_time take", () => db.query("qbjs").withIndex("by_creation_time").order("desc").take(7)],
  ["fullTableScan filter", () => db.query("qbjs").fullTableScan().filter((q) => q.eq(q.field("room"), "r2")).collect()],
  ["filter then take", () => db.query("qbjs").filter((q) => q.gt(q.field("n"), 3)).take(5)],
  ["nested field", () => db.query("qbjs").filter((q) => q.lt(q.field("v.k"), 1)).collect()],
  ["two filters", () => db.query("qbjs").withIndex("by_room", (q) => q.eq("room", "r0")).filter((q) => q.neq(q.field("tag"), undefined)).filter((q) => q.or(q.eq(q.field("tag"), "a"), q.gte(q.field("n"), 5))).collect()],
];
let ok = 0;
for (const [name, build] of fixed) if (await compare(name, build)) ok++;
if (ok === fixed.length) pass(`${fixed.length} fixed builder calls (withIndex eq/range/undefined, by_creation_time, fullTableScan, filter, take, nested fields) match the oracle`);

// first, unique: convex-js's own client side over convex_db_select
{
  const q = () => db.query("qbjs").withIndex("by_room", (q) => q.eq("room", "r1"));
  const first = await q().first();
  const want = oracleRun(all, sent[sent.length - 1])[0] ?? null;
  if ((first?._id ?? null) === (want?._id ?? null)) pass("first() is the oracle's first document");
  else fail(`first(): ${first?._id} vs ${want?._id}`);
  try {
    await q().unique();
    fail("unique() over a room of several documents did not throw");
  } catch (e) {
    if (/unique\(\) query returned more than one result from table qbjs/.test(e.message)) pass(`unique() with two matches: convex-js's error (${e.message.split("\n")[0]})`);
    else fail(`unique(): unexpected error ${e.message}`);
  }
  const one = all[int(all.length)];
  const u = await db.query("qbjs").withIndex("by_id", (q) => q.eq("_id", one._id)).unique();
  if (u?._id === one._id) pass("unique() of withIndex(\"by_id\") finds the document");
  else fail("unique() of by_id");
  // convexlite's own unique gives the same error text
  try {
    sqlOrThrow(`SELECT convex_db_unique(${lit(JSON.stringify(sent[sent.length - 2]))}::jsonb)`);
    fail("convex_db_unique over several documents did not fail");
  } catch (e) {
    if (/^unique\(\) query returned more than one result from table qbjs:/.test(e.message)) pass("convex_db_unique raises the same text as convex-js");
    else fail(`convex_db_unique: ${e.message}`);
  }
}

// paginate: convex-js's paginate over convex_db_paginate, page by page
{
  const want = oracleRun(all, { source: { type: "IndexRange", indexName: "qbjs.by_room_n", range: [{ type: "Eq", fieldPath: "room", value: "r1" }], order: "desc" }, operators: [] });
  const got = [];
  let cursor = null;
  let pages = 0;
  for (;;) {
    const p = await db.query("qbjs").withIndex("by_room_n", (q) => q.eq("room", "r1")).order("desc").paginate({ numItems: 4, cursor });
    got.push(...p.page);
    pages++;
    if (p.isDone || pages > 1000) break;
    cursor = p.continueCursor;
  }
  if (ids(got) === ids(want)) pass(`paginate({numItems: 4}) through a room: ${pages} pages = the oracle's order`);
  else fail("paginate through a room differs from the oracle");
  const f = await db.query("qbjs").filter((q) => q.eq(q.field("room"), "r2")).paginate({ numItems: 1000, cursor: null, maximumRowsRead: 10 });
  const wantCapped = oracleRun(all, { source: { type: "FullTableScan", tableName: "qbjs", order: null }, operators: [{ limit: 10 }, { filter: { $eq: [{ $field: "room" }, { $literal: "r2" }] } }] });
  if (ids(f.page) === ids(wantCapped) && f.isDone === false) pass("paginate with maximumRowsRead: 10 stops after 10 scanned documents");
  else fail("paginate with maximumRowsRead");
}

// ctx.db.system.query
{
  const got = await db.system.query("_scheduled_functions").order("desc").take(3);
  const n = Number(sql("SELECT least(count(*), 3) FROM convex._scheduled_functions"));
  if (got.length === n) pass("ctx.db.system.query(\"_scheduled_functions\") runs");
  else fail("system query");
}

// ---- random filters over random sources ---------------------------------
let agreed = 0;
let errors = 0;
for (let i = 0; i < NQUERIES; i++) {
  const src = pick([
    () => db.query("qbjs"),
    () => db.query("qbjs").withIndex("by_room", (q) => q.eq("room", pick(["r0", "r1", "r2"]))),
    () => db.query("qbjs").withIndex("by_v").order(pick(["asc", "desc"])),
    () => db.query("qbjs").withIndex("by_tag", (q) => q.gt("tag", pick(STRINGS))),
  ]);
  let query = src().filter((q) => randFilter(q));
  if (rand() < 0.3) query = query.filter((q) => randFilter(q));
  const before = sent.length;
  const ok1 = await compare(`random query ${i}`, () => (rand() < 0.5 ? query.collect() : query.take(1 + int(5))));
  if (ok1) agreed++;
  // did it raise an EvalError on both sides?
  try { oracleRun(all, sent[before]); } catch { errors++; }
}
if (agreed === NQUERIES) pass(`${NQUERIES} random filter queries match the oracle (${errors} of them an EvalError on both sides)`);

// every query JSON convex-js sent has the shape convexlite documents
const shapes = new Set(sent.map((q) => `${q.source.type}:${Object.keys(q.source).sort().join("+")}`));
pass(`convex-js sent ${sent.length} queries, source shapes ${[...shapes].join(", ")}`);
process.exit(failures === 0 ? 0 : 1);
