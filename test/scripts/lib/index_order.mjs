// test/scripts/lib/index_order.mjs: the property test of index_order.sh.
//
//   node index_order.mjs SEED DOCS QUERIES   (PGHOST/PGPORT/PGUSER/PGDATABASE
//                                            name a database with convexlite)
//
// Generates DOCS documents with random Convex values of every type (nested
// arrays and objects, unicode strings, NaN/-0/infinities, int64 extremes,
// missing fields) in the index fields of a user table, reads each index back
// through convex_db_query in both directions and compares the order with
// the one convex-js's compareValues gives (ties by _creationTime, i.e.
// insertion order); then, for QUERIES random bounds per index, compares
// what gt/gte/lt/lte (alone, in pairs, and after an eq prefix) return with
// the oracle's filter.  The oracle is the convex npm package's own
// compareValues, from the npm install in the folder CVX_ORACLE_DIR.  Prints
// PASS:/FAIL: lines.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

const oracle = createRequire(`${process.env.CVX_ORACLE_DIR}/`);
const { compareValues, convexToJson } = oracle("convex/values");

const [seedArg, docsArg, queriesArg] = process.argv.slice(2);
let seed = Number(seedArg ?? 1) >>> 0 || 1;
const NDOCS = Number(docsArg ?? 300);
const NQUERIES = Number(queriesArg ?? 40);

let failures = 0;
function pass(msg) {
  console.log(`PASS: ${msg}`);
}
function fail(msg) {
  failures++;
  console.log(`FAIL: ${msg}`);
}

// xorshift32: the same seed gives the same values
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

const FLOATS = [NaN, -0, 0, Infinity, -Infinity, Number.MAX_VALUE, -Number.MAX_VALUE,
  Number.MIN_VALUE, -Number.MIN_VALUE, 1, -1, 0.5, -0.5, 2 ** 53, -(2 ** 53), 1e-300, 3];
const INTS = [-(2n ** 63n), 2n ** 63n - 1n, 0n, 1n, -1n, 2n, -2n, 255n, 256n, -(2n ** 32n)];
// one-, two-, three- and four-byte UTF-8 (the last a surrogate pair in JS)
const CHARS = ["a", "b", "z", "A", " ", "~", "\u007f", "\u00e9", "\u00ff", "\u0100",
  "\u0800", "\uffee", "\uffff", "\u{1f600}", "\u{10000}", "\u{10ffff}"];
const KEYS = ["a", "b", "ab", "B", "x1", "Z", "aa"];

function randFloat() {
  if (rand() < 0.5) return pick(FLOATS);
  const buf = new DataView(new ArrayBuffer(8));
  buf.setUint32(0, int(2 ** 32));
  buf.setUint32(4, int(2 ** 32));
  const f = buf.getFloat64(0);
  return Number.isNaN(f) ? NaN : f;
}
function randInt() {
  if (rand() < 0.5) return pick(INTS);
  return BigInt.asIntN(64, (BigInt(int(2 ** 32)) << 32n) | BigInt(int(2 ** 32)));
}
function randString() {
  let s = "";
  const n = int(4);
  for (let i = 0; i < n; i++) s += pick(CHARS);
  return s;
}
function randBytes() {
  const n = int(4);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = pick([0, 1, 127, 128, 254, 255, int(256)]);
  return b.buffer;
}
function randValue(depth) {
  const kinds = depth > 2 ? 6 : 8;
  switch (int(kinds)) {
    case 0: return null;
    case 1: return randInt();
    case 2: return randFloat();
    case 3: return rand() < 0.5;
    case 4: return randString();
    case 5: return randBytes();
    case 6: return Array.from({ length: int(4) }, () => randValue(depth + 1));
    default: {
      const o = {};
      for (let i = int(4); i > 0; i--) o[pick(KEYS)] = randValue(depth + 1);
      return o;
    }
  }
}

// The fields under test: generator and whether the field is optional
const FIELDS = {
  anyField: { type: { type: "any" }, gen: () => randValue(0), optional: true },
  unionField: {
    type: { type: "union", value: [{ type: "string" }, { type: "number" }, { type: "null" }] },
    gen: () => pick([randString, randFloat, () => null])(), optional: true,
  },
  str: { type: { type: "string" }, gen: randString, optional: true },
  num: { type: { type: "number" }, gen: randFloat, optional: true },
  big: { type: { type: "bigint" }, gen: randInt, optional: true },
  bool: { type: { type: "boolean" }, gen: () => rand() < 0.5, optional: true },
  byt: { type: { type: "bytes" }, gen: randBytes, optional: true },
  numReq: { type: { type: "number" }, gen: randFloat, optional: false },
  strReq: { type: { type: "string" }, gen: randString, optional: false },
  bigReq: { type: { type: "bigint" }, gen: randInt, optional: false },
  bytReq: { type: { type: "bytes" }, gen: randBytes, optional: false },
};
const INDEXES = Object.fromEntries(Object.keys(FIELDS).map((f) => [`by_${f}`, [f]]));
INDEXES.by_str_any = ["str", "anyField"];
INDEXES.by_bool_num = ["bool", "num"];

const lit = (s) => `'${s.replace(/'/g, "''")}'`;
const json = (v) => JSON.stringify(convexToJson(v));
const bound = (v) => (v === undefined ? { $undefined: null } : convexToJson(v));

function psql(sql) {
  return execFileSync("psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"], {
    input: sql, encoding: "utf8", maxBuffer: 256 * 1024 * 1024,
  });
}

// The table and its documents
const fieldsJson = Object.fromEntries(Object.entries(FIELDS).map(
  ([name, f]) => [name, { fieldType: f.type, optional: f.optional }]));
psql(`SELECT convex_define_table('ordered', ${lit(JSON.stringify(fieldsJson))}, ${lit(JSON.stringify(INDEXES))});`);
const docs = [];
for (let i = 0; i < NDOCS; i++) {
  const doc = {};
  for (const [name, f] of Object.entries(FIELDS)) {
    if (f.optional && rand() < 0.15) continue;
    // repeat earlier values now and then, so ties and eq matches happen
    doc[name] = docs.length > 0 && rand() < 0.2 ? pick(docs).doc[name] ?? f.gen() : f.gen();
    if (doc[name] === undefined && !f.optional) doc[name] = f.gen();
  }
  docs.push({ doc });
}
const inserted = psql(docs.map(({ doc }) =>
  `SELECT convex_db_insert('ordered', ${lit(json(doc))});`).join("\n")).trim().split("\n");
if (inserted.length !== NDOCS) {
  fail(`inserted ${inserted.length} documents, expected ${NDOCS}`);
  process.exit(1);
}
docs.forEach((d, i) => { d.id = inserted[i]; d.seq = i; });

// The oracle: compareValues over the index's fields, then insertion order
function oracleCompare(fields) {
  return (x, y) => {
    for (const f of fields) {
      const c = compareValues(x.doc[f], y.doc[f]);
      if (c !== 0) return c;
    }
    return x.seq - y.seq;
  };
}

// Run many convex_db_query calls in one psql session; each gives its ids
function runQueries(queries) {
  const sql = queries.map((q) =>
    `SELECT coalesce(string_agg(d->>'_id', ',' ORDER BY n), '') FROM convex_db_query('ordered', ${lit(q.index)}, ` +
    `${lit(JSON.stringify(q.eq))}, ${lit(q.order)}, ${q.range ? lit(JSON.stringify(q.range)) : "NULL"}) ` +
    `WITH ORDINALITY AS r(d, n);`).join("\n");
  return psql(sql).split("\n").slice(0, queries.length).map((l) => (l === "" ? [] : l.split(",")));
}

function describe(v) {
  if (v === undefined) return "undefined";
  return JSON.stringify(convexToJson(v)).slice(0, 80);
}

// 1. Whole-index order, both directions
{
  const queries = [];
  for (const [index, fields] of Object.entries(INDEXES))
    for (const order of ["asc", "desc"]) queries.push({ index, fields, order, eq: {} });
  const results = runQueries(queries);
  queries.forEach((q, i) => {
    const want = [...docs].sort(oracleCompare(q.fields));
    if (q.order === "desc") want.reverse();
    const got = results[i];
    const wantIds = want.map((d) => d.id);
    const at = wantIds.findIndex((id, k) => got[k] !== id);
    if (got.length === wantIds.length && at < 0)
      pass(`${q.index} ${q.order}: ${got.length} documents in compareValues order`);
    else {
      const byId = Object.fromEntries(docs.map((d) => [d.id, d]));
      fail(`${q.index} ${q.order}: position ${at}: got ${describe(byId[got[at]]?.doc[q.fields.at(-1)])}, ` +
        `compareValues wants ${describe(want[at]?.doc[q.fields.at(-1)])}`);
    }
  });
}

// 2. Ranges: random bounds (stored values, new values, undefined) for every
// operator, alone and in pairs, after an eq prefix for the two-field indexes
{
  const ops = {
    gt: (c) => c > 0, gte: (c) => c >= 0, lt: (c) => c < 0, lte: (c) => c <= 0,
  };
  const queries = [];
  for (const [index, fields] of Object.entries(INDEXES)) {
    const field = fields.at(-1);
    const f = FIELDS[field];
    for (let n = 0; n < NQUERIES; n++) {
      const eq = {};
      const eqValues = {};
      for (const p of fields.slice(0, -1)) {
        const v = pick(docs).doc[p];
        eqValues[p] = v;
        eq[p] = bound(v);
      }
      const randomBound = () => {
        const r = rand();
        if (r < 0.1 && f.optional) return undefined;
        if (r < 0.6) return pick(docs).doc[field] ?? f.gen();
        return f.gen();
      };
      const range = {};
      const chosen = [];
      const lowerOp = pick(["gt", "gte", null]);
      const upperOp = pick(["lt", "lte", null]);
      if (lowerOp) chosen.push([lowerOp, randomBound()]);
      if (upperOp) chosen.push([upperOp, randomBound()]);
      if (chosen.length === 0) chosen.push([pick(["gt", "gte", "lt", "lte"]), randomBound()]);
      for (const [op, v] of chosen) range[op] = bound(v);
      const want = docs.filter((d) =>
        Object.entries(eqValues).every(([p, v]) => compareValues(d.doc[p], v) === 0) &&
        chosen.every(([op, v]) => ops[op](compareValues(d.doc[field], v))))
        .sort(oracleCompare(fields));
      queries.push({ index, fields, order: pick(["asc", "desc"]), eq, range, chosen, want });
    }
  }
  const results = runQueries(queries);
  const failed = {};
  const counted = {};
  queries.forEach((q, i) => {
    const want = q.order === "desc" ? [...q.want].reverse() : q.want;
    const got = results[i];
    counted[q.index] = (counted[q.index] ?? 0) + 1;
    if (got.length !== want.length || want.some((d, k) => d.id !== got[k])) {
      if (!failed[q.index])
        fail(`${q.index} range ${JSON.stringify(q.eq)} ${JSON.stringify(q.range)} ${q.order}: ` +
          `got ${got.length} documents, the oracle's filter ${want.length} (or another order)`);
      failed[q.index] = true;
    }
  });
  for (const index of Object.keys(INDEXES))
    if (!failed[index]) pass(`${index}: ${counted[index]} random gt/gte/lt/lte ranges equal the oracle's filter`);
}

process.exit(failures > 0 ? 1 : 0);
