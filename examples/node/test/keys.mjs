// test/keys.mjs DIR: an RS256 key pair for the tests (and for trying the
// server by hand): DIR/jwks.json (the public key, JWT_JWKS_FILE) and
// DIR/private.jwk (what test/client.mjs signs tokens with).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair } from "jose";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node test/keys.mjs DIR");
  process.exit(2);
}
const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
const kid = "convexlite-example";
writeFileSync(join(dir, "jwks.json"), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }] }));
writeFileSync(join(dir, "private.jwk"), JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: "RS256" }), { mode: 0o600 });
