// lib/errors.mjs: a PostgreSQL error of a convexlite call, as Convex's HTTP
// API reports it.
//
// Convex answers a function that failed (a ConvexError, an argument
// validation error, a missing function...) with HTTP 200 and
//   {"status": "error", "errorMessage": "...", "errorData": <ConvexError data>}
// and a request that could not run (bad body, bad token, overload) with an
// HTTP error status and {"code": "...", "message": "..."}.  convexlite's
// errors carry a JSON DETAIL with a stable `code` (docs/identity-and-errors.md,
// "The codes"); that is what decides which of the two a failure becomes.

// HTTP statuses of convexlite's codes, as docs/identity-and-errors.md maps
// them (the way PostgREST maps SQLSTATEs).  Used for the requests that are
// not function calls (uploads, downloads) and for the infrastructure
// failures below.
export const HTTP_STATUS = {
  ARGUMENT_VALIDATION_FAILED: 400,
  RETURNS_VALIDATION_FAILED: 500,
  SCHEMA_VALIDATION_FAILED: 400,
  VALIDATION_FAILED: 400,
  INVALID_ARGUMENT: 400,
  NULL_ARGUMENT: 400,
  UNAUTHORIZED: 401,
  INVALID_IDENTITY: 401,
  FORBIDDEN: 403,
  CONVEX_ERROR: 400,
  DOCUMENT_NOT_FOUND: 404,
  NOT_FOUND: 404,
  TABLE_NOT_FOUND: 404,
  FUNCTION_NOT_FOUND: 404,
  WRONG_FUNCTION_KIND: 400,
  LIMIT_EXCEEDED: 400,
  CONFLICT: 409,
  UPLOAD_URL_INVALID: 400,
  UPLOAD_URL_USED: 409,
  UPLOAD_URL_EXPIRED: 410,
  WRONG_STATE: 409,
  LOCK_NOT_AVAILABLE: 503,
  INVALID_TRANSACTION_STATE: 500,
  READ_ONLY: 405,
  NOT_SUPPORTED: 400,
  CANCELED: 504,
  NODE_UNAVAILABLE: 503,
  NODE_LOST: 503,
  OUT_OF_MEMORY: 503,
  DATA_CORRUPTED: 500,
  INTERNAL_ERROR: 500,
};

// Codes that say the call could not run (rather than that the function
// failed): Convex reports these as HTTP errors, not as {"status": "error"}.
const NOT_A_FUNCTION_FAILURE = new Set([
  "CONFLICT", "LOCK_NOT_AVAILABLE", "INVALID_TRANSACTION_STATE", "READ_ONLY",
  "CANCELED", "NODE_UNAVAILABLE", "NODE_LOST", "OUT_OF_MEMORY",
  "DATA_CORRUPTED", "INTERNAL_ERROR",
]);

// The JSON DETAIL of a PostgreSQL error as an object with a string `code`,
// or null (PostgreSQL's own errors have none: a missing privilege, a
// dropped connection, a statement timeout)
export function convexDetail(err) {
  if (!err || typeof err.detail !== "string") return null;
  try {
    const detail = JSON.parse(err.detail);
    if (detail && typeof detail === "object" && !Array.isArray(detail) && typeof detail.code === "string") {
      return detail;
    }
  } catch {
    // not JSON: not convexlite's
  }
  return null;
}

// Is this a ConvexError (convex_error(data), or a built-in's UNAUTHORIZED)?
// Its SQLSTATE is P0001, or 42501 with code UNAUTHORIZED; other 42501s
// (FORBIDDEN, INVALID_IDENTITY) are convexlite refusing the caller.
function isConvexError(err, detail) {
  return err.code === "P0001" || (err.code === "42501" && detail.code === "UNAUTHORIZED");
}

// The data of a ConvexError: its DETAIL, unless convex_error wrapped data
// that was not an object with a code as {"code": "CONVEX_ERROR", "data": …}
function convexErrorData(detail) {
  const keys = Object.keys(detail);
  if (detail.code === "CONVEX_ERROR" && keys.length === 2 && keys.includes("data")) {
    return detail.data;
  }
  return detail;
}

// An HTTP error reply: {status, body: {code, message}}
export function httpError(status, code, message) {
  return { status, body: { code, message } };
}

// What the client gets when PostgreSQL's own error (no JSON DETAIL) ends a
// request: Convex's internal-error reply; the real error goes to the log
export function internalError(err, requestId, log) {
  log(`[${requestId}] ${err && err.code ? err.code + " " : ""}${err && err.message ? err.message : err}`);
  return httpError(500, "InternalServerError", "Your request couldn't be completed. Try again later.");
}

// A failed function call (POST /api/query, /api/mutation) as Convex's HTTP
// API answers it: {status: 200, body: {status: "error", errorMessage,
// errorData?}} for a failure of the function, or an HTTP error
export function functionFailure(err, requestId, log) {
  const detail = convexDetail(err);
  if (detail === null) return internalError(err, requestId, log);
  if (NOT_A_FUNCTION_FAILURE.has(detail.code)) {
    return httpError(HTTP_STATUS[detail.code], detail.code, err.message);
  }
  const prefix = `[Request ID: ${requestId}] Server Error\n`;
  if (isConvexError(err, detail)) {
    return {
      status: 200,
      body: {
        status: "error",
        errorMessage: `${prefix}Uncaught ConvexError: ${err.message}`,
        errorData: convexErrorData(detail),
      },
    };
  }
  return { status: 200, body: { status: "error", errorMessage: prefix + err.message } };
}

// A failed upload or download: an HTTP error with the code's status
export function requestFailure(err, requestId, log) {
  const detail = convexDetail(err);
  if (detail === null) return internalError(err, requestId, log);
  return httpError(HTTP_STATUS[detail.code] ?? 500, detail.code, err.message);
}
