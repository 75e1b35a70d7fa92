// lib/auth.mjs: the bearer JWT of a request (what ConvexHttpClient's
// setAuth(token) sends), verified with jose before its claims reach
// PostgreSQL as request.jwt.claims.
//
// A token is checked for its signature, expiry (and nbf), issuer and
// audience.  A request with a token that fails any check is refused with
// 401, never served anonymously; a request without an Authorization header
// is anonymous (the seed app's demo mode, with a sessionId).
//
// The key, from the environment (exactly one):
//   JWT_JWKS_FILE        a JWKS (JSON) file: {"keys": [...]}
//   JWT_JWKS_URL         a JWKS URL (an identity provider's .well-known/jwks.json)
//   JWT_PUBLIC_KEY_FILE  a PEM public key (SPKI); JWT_ALGORITHM names its algorithm (default RS256)
//   JWT_SECRET           an HS256 shared secret
// and JWT_ISSUER, JWT_AUDIENCE, both required with a key.
import { readFileSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, importSPKI, jwtVerify, errors as joseErrors } from "jose";

// Algorithms accepted with a JWKS (asymmetric only: a JWKS holds public keys)
const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

// Seconds of clock skew allowed on exp and nbf (Convex allows 5)
const CLOCK_TOLERANCE = 5;

// A verifier of bearer tokens from the environment: {configured, verify(token) → claims}
export async function makeVerifier(env) {
  const sources = ["JWT_JWKS_FILE", "JWT_JWKS_URL", "JWT_PUBLIC_KEY_FILE", "JWT_SECRET"].filter((k) => env[k]);
  if (sources.length === 0) {
    return {
      configured: false,
      async verify() {
        throw new AuthError("No JWT verification key is configured on this server (JWT_JWKS_FILE, JWT_JWKS_URL, JWT_PUBLIC_KEY_FILE or JWT_SECRET)");
      },
    };
  }
  if (sources.length > 1) throw new Error(`set only one of ${sources.join(", ")}`);
  if (!env.JWT_ISSUER || !env.JWT_AUDIENCE) throw new Error("JWT_ISSUER and JWT_AUDIENCE are required with a JWT key");

  let key;
  let algorithms;
  if (env.JWT_JWKS_FILE) {
    key = createLocalJWKSet(JSON.parse(readFileSync(env.JWT_JWKS_FILE, "utf8")));
    algorithms = ASYMMETRIC;
  } else if (env.JWT_JWKS_URL) {
    key = createRemoteJWKSet(new URL(env.JWT_JWKS_URL));
    algorithms = ASYMMETRIC;
  } else if (env.JWT_PUBLIC_KEY_FILE) {
    const alg = env.JWT_ALGORITHM || "RS256";
    key = await importSPKI(readFileSync(env.JWT_PUBLIC_KEY_FILE, "utf8"), alg);
    algorithms = [alg];
  } else {
    key = new TextEncoder().encode(env.JWT_SECRET);
    algorithms = ["HS256"];
  }
  const options = {
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    algorithms,
    clockTolerance: CLOCK_TOLERANCE,
    requiredClaims: ["sub", "exp"],
  };
  return {
    configured: true,
    // the verified claims of a token; AuthError when it does not verify
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, options);
        return payload;
      } catch (e) {
        if (e instanceof joseErrors.JOSEError) throw new AuthError(`Could not verify the token: ${e.message}`);
        throw e;
      }
    },
  };
}

// A token that does not verify: a 401
export class AuthError extends Error {}

// The claims of a request's Authorization header: null when there is none
// (anonymous), else the verified claims; AuthError when the header is
// malformed or the token does not verify
export async function requestClaims(req, verifier) {
  const header = req.headers.authorization;
  if (header === undefined || header === "") return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new AuthError("The Authorization header must be 'Bearer <JWT>' (admin keys are not supported)");
  return verifier.verify(match[1]);
}
