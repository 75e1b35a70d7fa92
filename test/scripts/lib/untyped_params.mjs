// test/scripts/lib/untyped_params.mjs: the driver test of untyped_params.sh.
//
//   node untyped_params.mjs     (PGHOST/PGPORT/PGUSER/PGDATABASE name a
//                                database with convexlite; NODE_PATH finds pg)
//
// node-postgres sends every bound parameter untyped (type oid 0) through the
// extended protocol (Parse/Bind/Execute), as psycopg 3, asyncpg, pgx and JDBC
// do by default.  For EVERY function and procedure of the extension, read
// from pg_proc (so a new one is covered without changing this file), it
// prepares a call with $1..$n for each number of arguments the function
// accepts (all of them, down to its required ones), binds NULLs, and runs it
// in a transaction that is rolled back.  Whatever the function itself then
// says (22004 for a NULL, say) is fine; a failure to RESOLVE the call is
// not: 42725 (ambiguous), 42P18 (indeterminate parameter type), 42883 (no
// function matches).  Then the issue's own call: convex_storage_upload($1,
// $2, $3) with a Buffer, and convex_set_user($1) with a bound id.
// Prints PASS:/FAIL: lines and "untyped_params: N passed, M failed".
import { createRequire } from "node:module";

const require = createRequire(`${process.env.CVX_NODE_MODULES}/`);
const { Client } = require("pg");

const RESOLUTION_ERRORS = new Set(["42725", "42P18", "42883"]);
let passed = 0;
let failed = 0;
const pass = (m) => { passed++; console.log(`PASS: ${m}`); };
const fail = (m) => { failed++; console.log(`FAIL: ${m}`); };

const client = new Client();
await client.connect();
const { rows: procs } = await client.query(`
  SELECT n.nspname AS schema, p.proname AS name, p.pronargs AS nargs,
         p.pronargdefaults AS ndefaults, p.prokind AS kind,
         p.oid::regprocedure::text AS signature
    FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'convexlite'
   ORDER BY 1, 2, 3`);
if (procs.length < 40) fail(`only ${procs.length} functions found in the extension`);

for (const p of procs) {
  for (let n = p.nargs - p.ndefaults; n <= p.nargs; n++) {
    const params = Array.from({ length: n }, (_, i) => `$${i + 1}`).join(", ");
    const callee = `${client.escapeIdentifier(p.schema)}.${client.escapeIdentifier(p.name)}(${params})`;
    const sql = p.kind === "p" ? `CALL ${callee}` : `SELECT ${callee}`;
    const label = `${p.signature} called as ${p.name}(${params}) with untyped parameters`;
    await client.query("BEGIN");
    try {
      // a prepared statement by name: Parse with no parameter types
      await client.query({ name: `s_${p.name}_${n}_${passed + failed}`, text: sql, values: Array(n).fill(null) });
      pass(`${label}: resolves (ran)`);
    } catch (e) {
      if (RESOLUTION_ERRORS.has(e.code)) fail(`${label}: ${e.code} ${e.message}`);
      else pass(`${label}: resolves (the function itself said ${e.code})`);
    } finally {
      await client.query("ROLLBACK");
    }
  }
}

// The calls from the issue, with real values
try {
  const { rows: [{ url }] } = await client.query("SELECT convex_files_generate_upload_url() AS url");
  const bytes = Buffer.from([0, 1, 2, 255, 254, 10]);
  const { rows: [{ r }] } = await client.query(
    "SELECT convex_storage_upload($1, $2, $3) AS r", [url, bytes, "application/octet-stream"]);
  const { rows: [{ same }] } = await client.query(
    "SELECT convex_storage_get($1) = $2::bytea AS same", [r.storageId, bytes]);
  if (same) pass("convex_storage_upload($1, $2, $3) with a Buffer stores exactly its bytes");
  else fail("convex_storage_upload($1, $2, $3): the stored bytes differ");
} catch (e) {
  fail(`convex_storage_upload($1, $2, $3) with a Buffer: ${e.code} ${e.message}`);
}
try {
  const { rows: [{ id }] } = await client.query(
    "SELECT convex_db_insert($1, $2) AS id", ["users", { name: "Untyped" }]);
  await client.query("BEGIN");
  await client.query("SELECT convex_set_user($1)", [id]);
  const { rows: [{ who }] } = await client.query("SELECT convex_auth_user_id() AS who");
  await client.query("COMMIT");
  const { rows: [{ after }] } = await client.query("SELECT convex_auth_user_id() AS after");
  if (who === id && after === null) pass("convex_set_user($1) signs the user in for the transaction only");
  else fail(`convex_set_user($1): in the transaction ${who}, after it ${after}`);
} catch (e) {
  fail(`convex_set_user($1): ${e.code} ${e.message}`);
}

await client.end();
console.log(`untyped_params: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
