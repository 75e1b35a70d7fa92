#!/usr/bin/env python3
"""test/scripts/lib/convex_snapshot.py: write a snapshot ZIP in Convex's format.

The layout and encodings are those of convex-backend's export
(crates/exports): README.md; _tables/documents.jsonl with {"name", "id"}
per user table; <table>/documents.jsonl, a document a line in the
"uniform" export JSON (ValueFormat::ConvexExportJSON: an int64 is a JSON
integer, a float64 a number with a '.', or {"$float": base64} when not
finite; bytes {"$bytes": base64}); <table>/generated_schema.jsonl holding
"uniform"; _storage/documents.jsonl with {"_id", "_creationTime",
"sha256", "size", "contentType", "internalId"}; _storage/<id>.<ext> per
file.  Ids are Convex's: varint(table number) + 14 random bytes + 2-byte
day + fletcher16 footer, Crockford base32.  Written independently of
convexlite's C code, from the format alone.

  convex_snapshot.py OUT.zip SCHEMA.json [--docs N] [--file-mb M] [--seed S]
                     [--hostile KIND] [--variant KIND]

Writes the snapshot to OUT.zip and the app's schema (convex-js's schema
export, for convex_define_schema) to SCHEMA.json.  --hostile KIND writes a
broken variant instead: bomb, traversal, absolute, duplicate_id,
wrong_table, invalid_document, malformed_json, truncated, bad_sha256, missing_file,
undefined_table, not_zip.  --variant KIND writes the same snapshot in
another form that Convex writes or its import accepts:
  zip64     every entry with ZIP64 records (force_zip64)
  stream    written to a stream that cannot seek, so every entry has a data
            descriptor after its data, as convex-backend's async_zip writes
  folder    every entry inside one folder (snapshot/...), as when a
            snapshot is unzipped and zipped again
  storage_sparse  one _storage line without _creationTime, sha256 and size,
            and one file without a line (both optional in Convex's import)
  legacy_schema   notes/generated_schema.jsonl in Convex's legacy form (an
            inferred shape instead of "uniform")
  empty_table     the entries of convex-backend's own test snapshot
            (npm-packages/demos/cron-jobs/test.zip): a messages table, number
            10001, no documents, generated schema "never", streamed
"""
import base64
import hashlib
import io
import json
import math
import random
import struct
import sys
import zipfile

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# Convex's numbers: _storage 540 (512 + FileStorage 28); user tables from 10001
TABLES = {"files": 10001, "messages": 10002, "presence": 10003, "users": 10004, "notes": 10005}
STORAGE = 540


def fletcher16(data):
    a = b = 0
    for x in data:
        a = (a + x) % 256
        b = (b + a) % 256
    return (b << 8) | a


def make_id(rng, table_number, day=20000):
    out = bytearray()
    n = table_number
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            break
    out += bytes(rng.getrandbits(8) for _ in range(14))
    out += struct.pack(">H", day)
    out += struct.pack("<H", fletcher16(out))
    bits = int.from_bytes(out, "big")
    nbits = len(out) * 8
    pad = (5 - nbits % 5) % 5
    bits <<= pad
    nbits += pad
    return "".join(ALPHABET[(bits >> (nbits - 5 * (i + 1))) & 31] for i in range(nbits // 5))


def b64(data):
    return base64.b64encode(data).decode()


def special_float(x):
    return {"$float": b64(struct.pack("<d", x))}


def export_json(value):
    """One document line in the uniform export JSON (Python's json writes
    floats with a '.' or an exponent and ints without, as serde_json)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def field(t, optional=False):
    return {"fieldType": t, "optional": optional}


def schema():
    s = lambda: {"type": "string"}  # noqa: E731
    num = {"type": "number"}
    notes = {
        "title": field(s()),
        "count": field({"type": "bigint"}),
        "score": field(num),
        "flag": field({"type": "boolean"}),
        "blob": field({"type": "bytes"}),
        "nothing": field({"type": "null"}),
        "tags": field({"type": "array", "value": s()}),
        "meta": field({"type": "object", "value": {"a": field(num), "b": field(s(), True)}}),
        "author": field({"type": "id", "tableName": "users"}),
        "attachment": field({"type": "id", "tableName": "_storage"}, True),
        "choice": field({"type": "union", "value": [s(), num]}),
        "lit": field({"type": "literal", "value": "x"}),
        "rec": field({"type": "record", "keys": s(), "values": field({"type": "bigint"})}),
        "extra": field({"type": "any"}, True),
        "big": field(s(), True),
    }
    return {
        "tables": [
            {"tableName": "notes", "documentType": {"type": "object", "value": notes},
             "indexes": [{"indexDescriptor": "by_author", "fields": ["author"]},
                         {"indexDescriptor": "by_count", "fields": ["count"]}],
             "stagedDbIndexes": [],
             "searchIndexes": [{"indexDescriptor": "search_title", "searchField": "title", "filterFields": []}],
             "stagedSearchIndexes": [], "vectorIndexes": [], "stagedVectorIndexes": []},
        ],
        "schemaValidation": True,
    }


def build(docs, file_mb, seed):
    """The snapshot's entries as a list of (name, bytes)."""
    rng = random.Random(seed)
    t0 = 1700000000000.0
    clock = [t0]

    def created():
        clock[0] += rng.choice([0.5, 1.25, 3.0, 17.125])
        return clock[0]

    entries = [("README.md", b"# Welcome to your Convex snapshot export!\n")]
    # files: small ones of every kind and one of file_mb MiB
    storage_rows, files = [], []
    contents = [b"", b"hello \xf0\x9f\x8c\x8d", bytes(range(256)) * 40,
                bytes(rng.getrandbits(8) for _ in range(int(file_mb * 1024 * 1024)))]
    for i, data in enumerate(contents):
        sid = make_id(rng, STORAGE)
        ctype = ["text/plain", "text/plain; charset=utf-8", "application/octet-stream", None][i]
        storage_rows.append({"_id": sid, "_creationTime": created(),
                             "sha256": b64(hashlib.sha256(data).digest()), "size": len(data),
                             "contentType": ctype, "internalId": "internal-%d" % i})
        ext = {"text/plain": ".txt", "application/octet-stream": ".bin"}.get((ctype or "").split(";")[0], "")
        files.append(("_storage/%s%s" % (sid, ext), data))
    storage_ids = [r["_id"] for r in storage_rows]

    users = []
    for i in range(5):
        u = {"_id": make_id(rng, TABLES["users"]), "_creationTime": created(),
             "name": ["Ada", "Grace", "Zoë", "李雷", "O'Brien \"q\""][i]}
        if i % 2 == 0:
            u["email"] = "u%d@example.com" % i
        if i == 1:
            u["isAnonymous"] = False
            u["emailVerificationTime"] = 1700000000123.5
        users.append(u)
    user_ids = [u["_id"] for u in users]
    messages = [{"_id": make_id(rng, TABLES["messages"]), "_creationTime": created(),
                 "roomId": "room-%d" % (i % 3), "content": "message %d ✓ \\ \n tab\t" % i,
                 "userName": "Ada", "userId": user_ids[0], "sessionId": "s%d" % i}
                for i in range(12)]
    presence = [{"_id": make_id(rng, TABLES["presence"]), "_creationTime": created(),
                 "roomId": "room-0", "sessionId": "s1", "lastSeen": 1700000000000.0,
                 "data": {"cursor": {"x": 1.5, "y": -2.0}, "status": "here"}}]
    files_rows = [{"_id": make_id(rng, TABLES["files"]), "_creationTime": created(),
                   "storageId": sid, "name": "f%d" % i, "type": "text/plain", "size": 1.0 * i,
                   "userId": user_ids[1]}
                  for i, sid in enumerate(storage_ids)]
    notes = []
    for i in range(docs):
        n = {"_id": make_id(rng, TABLES["notes"]), "_creationTime": created(),
             "title": "note %d — ünïcödé 🚀" % i if i % 7 == 0 else "note %d" % i,
             "count": [0, 1, -1, 2 ** 63 - 1, -(2 ** 63), 42][i % 6] if i < 6 else i,
             "score": [0.5, -0.0, 1e300, 5e-324, 3.0, float("nan"), float("inf"), float("-inf")][i % 8],
             "flag": i % 2 == 0,
             "blob": b64(bytes([i % 256, 0, 255]) * (i % 4)),
             "nothing": None,
             "tags": ["t%d" % (i % 5), "ü"][: i % 3],
             "meta": {"a": i * 0.25} if i % 2 else {"a": -1.5, "b": "bee"},
             "author": user_ids[i % len(user_ids)],
             "choice": "c" if i % 2 else 7.5,
             "lit": "x",
             "rec": {"k%d" % j: j - 1 for j in range(i % 4)}}
        if i % 5 == 0:
            n["attachment"] = storage_ids[i % len(storage_ids)]
        if i % 3 == 0:
            n["extra"] = {"nested": [[1, 2.5, {"deep": [True, None, "s"]}], {"$bytes": b64(b"\x00\x01")}],
                          "int": 123456789012345678, "neg0": -0.0, "empty": {}, "arr": []}
        if i in (1, 2):
            n["big"] = ("large ✓ " * 40000)[: 300000]
        notes.append(n)

    tables = {"users": users, "messages": messages, "presence": presence, "files": files_rows,
              "notes": notes}
    entries.append(("_tables/documents.jsonl",
                    "".join(export_json({"name": name, "id": TABLES[name]}) + "\n"
                            for name in sorted(TABLES, key=TABLES.get)).encode()))
    for name, rows in tables.items():
        lines = []
        for row in rows:
            row = dict(row)
            for k, v in list(row.items()):
                if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
                    row[k] = special_float(v)
                elif k == "blob":
                    row[k] = {"$bytes": v}
            lines.append(export_json(row) + "\n")
        entries.append(("%s/documents.jsonl" % name, "".join(lines).encode()))
        entries.append(("%s/generated_schema.jsonl" % name, b'"uniform"\n'))
    entries.append(("_storage/documents.jsonl",
                    "".join(export_json(r) + "\n" for r in storage_rows).encode()))
    entries += files
    return entries


def write_zip(path, entries, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, compress_type=compression)


class Unseekable(io.RawIOBase):
    """A write-only file that cannot seek or tell (zipfile then writes data descriptors)."""

    def __init__(self, f):
        self.f = f

    def writable(self):
        return True

    def write(self, b):
        return self.f.write(b)


def variant(kind, path, entries):
    if kind == "zip64":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in entries:
                info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with z.open(info, "w", force_zip64=True) as f:
                    f.write(data)
        return
    if kind in ("stream", "empty_table"):
        if kind == "empty_table":
            entries = [("README.md", b"# Welcome to your Convex snapshot export!\n"),
                       ("_tables/documents.jsonl", b'{"name":"messages","id":10001}\n'),
                       ("messages/generated_schema.jsonl", b'"never"\n'),
                       ("messages/documents.jsonl", b"")]
        with open(path, "wb") as raw, zipfile.ZipFile(Unseekable(raw), "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in entries:
                info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with z.open(info, "w") as f:
                    f.write(data)
        return
    if kind == "folder":
        entries = [("snapshot/" + n, d) for n, d in entries]
    elif kind == "storage_sparse":
        by = dict(entries)
        lines = [json.loads(l) for l in by["_storage/documents.jsonl"].decode().splitlines()]
        for key in ("_creationTime", "sha256", "size"):
            del lines[0][key]
        by["_storage/documents.jsonl"] = "".join(export_json(r) + "\n" for r in lines[:-1]).encode()
        entries = [(n, by[n]) for n, _ in entries]
    elif kind == "legacy_schema":
        entries = [(n, b'"{_creationTime: normalfloat64, _id: string, title: string}"\n'
                    if n == "notes/generated_schema.jsonl" else d) for n, d in entries]
    else:
        sys.exit("unknown variant " + kind)
    write_zip(path, entries)


def hostile(kind, path, entries):
    names = [n for n, _ in entries]
    by = dict(entries)
    if kind == "not_zip":
        open(path, "wb").write(b"this is not a zip archive at all\n" * 10)
        return
    if kind == "truncated":
        buf = io.BytesIO()
        write_zip(buf, entries)
        data = buf.getvalue()
        open(path, "wb").write(data[: len(data) * 2 // 3])
        return
    if kind == "bomb":
        # 128 MiB of zeros in ~130 KiB (deflate's ~1000:1), far beyond a
        # small convexlite.import_max_size
        entries = entries + [("padding/zeros.bin", b"\0" * (128 * 1024 * 1024))]
    elif kind == "traversal":
        entries = entries + [("../../etc/passwd", b"x")]
    elif kind == "absolute":
        entries = entries + [("/notes/documents.jsonl", by["notes/documents.jsonl"])]
    elif kind == "duplicate_id":
        lines = by["notes/documents.jsonl"].split(b"\n")
        by["notes/documents.jsonl"] = b"\n".join(lines[:3] + [lines[1]] + lines[3:])
    elif kind == "wrong_table":
        # a users document in the notes folder
        lines = by["notes/documents.jsonl"].split(b"\n")
        by["notes/documents.jsonl"] = b"\n".join([by["users/documents.jsonl"].split(b"\n")[0]] + lines)
    elif kind == "invalid_document":
        lines = by["notes/documents.jsonl"].split(b"\n")
        doc = json.loads(lines[1])
        doc["title"] = 5
        by["notes/documents.jsonl"] = b"\n".join(lines[:1] + [export_json(doc).encode()] + lines[2:])
    elif kind == "malformed_json":
        lines = by["notes/documents.jsonl"].split(b"\n")
        by["notes/documents.jsonl"] = b"\n".join(lines[:2] + [b'{"_id": "x", "title": '] + lines[2:])
    elif kind == "bad_sha256":
        name = [n for n in names if n.startswith("_storage/") and n.endswith(".bin")][0]
        data = bytearray(by[name])
        data[0] ^= 1
        by[name] = bytes(data)
    elif kind == "missing_file":
        name = [n for n in names if n.startswith("_storage/") and n.endswith(".txt")][0]
        by.pop(name)
    elif kind == "undefined_table":
        by["_tables/documents.jsonl"] += b'{"name":"ghosts","id":10077}\n'
        by["ghosts/documents.jsonl"] = b""
    else:
        sys.exit("unknown hostile kind " + kind)
    if kind not in ("bomb", "traversal", "absolute"):
        entries = [(n, by[n]) for n in names if n in by] + [(n, d) for n, d in by.items() if n not in names]
    write_zip(path, entries)


def main():
    args = sys.argv[1:]
    opts = {"--docs": "200", "--file-mb": "1", "--seed": "20", "--hostile": None, "--variant": None}
    pos = []
    while args:
        a = args.pop(0)
        if a in opts:
            opts[a] = args.pop(0)
        else:
            pos.append(a)
    out, schema_path = pos
    entries = build(int(opts["--docs"]), float(opts["--file-mb"]), int(opts["--seed"]))
    with open(schema_path, "w") as f:
        json.dump(schema(), f)
    if opts["--hostile"]:
        hostile(opts["--hostile"], out, entries)
    elif opts["--variant"]:
        variant(opts["--variant"], out, entries)
    else:
        write_zip(out, entries)


if __name__ == "__main__":
    main()
