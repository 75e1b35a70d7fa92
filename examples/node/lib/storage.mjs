// lib/storage.mjs: Convex's file storage endpoints on convexlite's blobs.
//
//   POST /api/storage/upload?token=…   the upload URL files:generateUploadUrl
//                                      hands out: body = the bytes, Content-Type
//                                      = the file's type; replies {"storageId"}
//   GET  /api/storage/<storageId>      the file URL (files:getUrl,
//                                      convex_storage_get_url): the bytes with
//                                      their Content-Type, Content-Length and
//                                      Digest; one Range (bytes=a-b) is served
//                                      as 206
//
// convexlite writes both URLs with its convexlite.url setting as the base,
// so that setting must be this server's public URL (server.mjs warns when
// it is not).
import { httpError, internalError, requestFailure } from "./errors.mjs";

// Bytes read from PostgreSQL per statement while serving a file
const CHUNK = 1024 * 1024;
// Convex's file responses may be cached for a long time: a blob never changes
const CACHE_CONTROL = "private, max-age=2592000";

// Read a request body up to limit bytes: a Buffer, or null when it is larger
async function readBody(req, limit) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

// POST /api/storage/upload?token=…: store the body as a blob with
// convex_storage_upload(upload_url, bytes, content_type) (one statement, its
// own transaction) and reply {"storageId": …} as Convex's upload endpoint does
export async function upload(pool, req, url, maxBytes, requestId, log) {
  const body = await readBody(req, maxBytes);
  if (body === null) {
    return httpError(413, "PayloadTooLarge", `The upload is larger than this server accepts (${maxBytes} bytes, MAX_UPLOAD_BYTES)`);
  }
  const contentType = req.headers["content-type"] || null;
  try {
    const { rows } = await pool.query("SELECT convex_storage_upload($1, $2, $3)::text AS result",
      [url.href, body, contentType]);
    return { status: 200, rawBody: rows[0].result };
  } catch (err) {
    return requestFailure(err, requestId, log);
  }
}

// The one range of a Range header within size: {start, end} (inclusive),
// null when there is no Range header, "unsatisfiable" otherwise
function parseRange(header, size) {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return "unsatisfiable";
  let start;
  let end;
  if (m[1] === "") {                 // the last N bytes
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return "unsatisfiable";
  return { start, end };
}

// Wait until res can take more, or has closed (false)
function drained(res) {
  return new Promise((resolve) => {
    const done = (ok) => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}

// GET (or HEAD) /api/storage/<storageId>: the blob's bytes, read in 1 MiB
// pieces with convex_storage_get(id, offset, length) inside one
// REPEATABLE READ transaction (every piece from the same snapshot), written
// to res as they come.  Returns null once it has answered itself, else the
// {status, body} of an error.
export async function download(pool, req, res, storageId, requestId, log) {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    let meta;
    try {
      const { rows } = await client.query("SELECT convex_storage_get_metadata($1) AS meta", [storageId]);
      meta = rows[0].meta;
    } catch (err) {
      if (err.code === "22023") {
        return httpError(400, "InvalidStoragePath", `Invalid storage path: "${storageId}". Use files:getUrl (ctx.storage.getUrl) for a file's URL.`);
      }
      throw err;
    }
    if (meta === null) return httpError(404, "FileNotFound", `File not found: ${storageId}`);

    const size = Number(meta.size);
    const range = parseRange(req.headers.range, size);
    if (range === "unsatisfiable") {
      res.writeHead(416, { "Content-Range": `bytes */${size}` });
      res.end();
      return null;
    }
    const start = range ? range.start : 0;
    const end = range ? range.end : size - 1;
    const headers = {
      "Content-Length": String(end - start + 1),
      "Cache-Control": CACHE_CONTROL,
      "Accept-Ranges": "bytes",
    };
    if (meta.contentType) headers["Content-Type"] = meta.contentType;
    if (range) headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
    else headers.Digest = `sha-256=${meta.sha256}`;
    res.writeHead(range ? 206 : 200, headers);

    for (let offset = start; req.method !== "HEAD" && offset <= end; offset += CHUNK) {
      const length = Math.min(CHUNK, end - offset + 1);
      const { rows } = await client.query("SELECT convex_storage_get($1, $2, $3) AS bytes", [storageId, offset, length]);
      const bytes = rows[0].bytes;
      if (bytes === null || bytes.length !== length) {
        throw new Error(`blob ${storageId} changed while it was read`);
      }
      if (!res.write(bytes) && !(await drained(res))) break;   // the client went away
    }
    res.end();
    return null;
  } catch (err) {
    broken = typeof err.code !== "string" || err.code.startsWith("08");
    if (res.headersSent) {
      log(`[${requestId}] download of ${storageId} broken off: ${err.message}`);
      res.destroy();
      return null;
    }
    return err.code ? requestFailure(err, requestId, log) : internalError(err, requestId, log);
  } finally {
    await client.query("ROLLBACK").catch(() => { broken = true; });
    client.release(broken);
  }
}
