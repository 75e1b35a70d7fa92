-- test/pgtap/ids.sql: Convex document ids (SPEC §2).
--
-- The ids convexlite mints are checked against an independent SQL
-- implementation of Convex's format (varint table number, 14 random bytes,
-- 2-byte day number, fletcher16 footer, lowercase Crockford base32), so a
-- string minted here round-trips with Convex tooling; and every malformed
-- string is refused, by convex_id_table (NULL) and by the v.id() validator of
-- messages.remove (22023).

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(110);
SET LOCAL client_min_messages = warning;
-- what an aborted file may have left must not break this one (rolled back: left as found)
DROP SCHEMA IF EXISTS regress_cvx_tap CASCADE;
RESET client_min_messages;
SET LOCAL client_min_messages = warning;

CREATE SCHEMA regress_cvx_ids;

-- Ids made independently of convexlite: b32_encode / b32_decode,
-- fletcher16, byte and make_id (varint(table) || 14 random bytes || day
-- (2 bytes BE) || footer (LE)).
\ir lib/convex_ids.sql

-- The parts of an id, decoded independently of convexlite.
CREATE TYPE regress_cvx_ids.parts AS (table_number bigint, random bytea, day int, footer_ok boolean);
CREATE FUNCTION regress_cvx_ids.parse_id(s text) RETURNS regress_cvx_ids.parts
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
DECLARE
    b bytea := regress_cvx_tap.b32_decode(s);
    pos int := 0;
    n bigint := 0;
    byte int;
    result regress_cvx_ids.parts;
BEGIN
    LOOP
        byte := get_byte(b, pos);
        n := n | ((byte & 127)::bigint << (7 * pos));
        pos := pos + 1;
        EXIT WHEN byte < 128;
    END LOOP;
    result.table_number := n;
    result.random := substring(b FROM pos + 1 FOR 14);
    result.day := (get_byte(b, pos + 14) << 8) | get_byte(b, pos + 15);
    result.footer_ok := length(b) = pos + 18
        AND regress_cvx_tap.fletcher16(substring(b FROM 1 FOR pos + 16))
            = (get_byte(b, pos + 16) | (get_byte(b, pos + 17) << 8));
    RETURN result;
END;
$f$;

-- SQLSTATE and a LIKE pattern on the message, in one assertion.
\ir lib/throws_state_like.sql

------------------------------------------------------------------------
-- 1. The ids messages.send returns
------------------------------------------------------------------------

CREATE TEMP TABLE sent AS
SELECT g, convex_messages_send(jsonb_build_object('roomId', 'ids', 'content', 'm' || g, 'userName', 'u')) AS id
  FROM generate_series(1, 100) AS g;
CREATE TEMP TABLE sent_parts AS SELECT g, id, (regress_cvx_ids.parse_id(id)).* FROM sent;

SELECT is((SELECT count(*)::int FROM sent WHERE id ~ '^[0-9a-hjkmnp-tv-z]{31,37}$'), 100,
          'every id from messages.send is 31-37 characters of the lowercase Crockford alphabet');
SELECT is((SELECT count(*)::int FROM sent WHERE length(id) = 32), 100,
          'ids of a user table (2-byte table number varint) are 32 characters');
SELECT is((SELECT count(*)::int FROM sent WHERE convex_id_table(id) = 'messages'), 100,
          'convex_id_table(id) = ''messages'' for every id from messages.send');
SELECT is((SELECT count(DISTINCT id)::int FROM sent), 100, '100 ids from messages.send are distinct');
SELECT is((SELECT count(*)::int FROM sent_parts
            WHERE table_number = (SELECT number FROM convex._tables WHERE name = 'messages')), 100,
          'an independent decoder reads the messages table number from every id');
SELECT is((SELECT count(*)::int FROM sent_parts WHERE footer_ok), 100,
          'every id ends with fletcher16(previous bytes) XOR 0, little-endian');
SELECT is((SELECT count(*)::int FROM sent_parts
            WHERE day BETWEEN floor(extract(epoch FROM clock_timestamp()) / 86400)::int - 1
                          AND floor(extract(epoch FROM clock_timestamp()) / 86400)::int), 100,
          'the 2 bytes after the random part are today''s day number since the Unix epoch');
SELECT is((SELECT count(*)::int FROM sent_parts
            WHERE regress_cvx_tap.make_id(table_number, random, day) = id), 100,
          'an independent encoder rebuilds every id from its parts, character for character');

------------------------------------------------------------------------
-- 2. Ids of each table decode to that table
------------------------------------------------------------------------

SELECT convex_db_insert('users', '{}') AS users_id \gset
SELECT convex_db_insert('presence', '{"roomId": "r", "data": {}, "lastSeen": 0}') AS presence_id \gset
SELECT convex_db_insert('files', jsonb_build_object(
           'storageId', regress_cvx_tap.make_id(540, '\x0102030405060708090a0b0c0d0e'::bytea, 20000),
           'name', 'a.txt', 'type', 'text/plain', 'size', 3)) AS files_id \gset

SELECT is(convex_id_table(:'users_id'), 'users', 'an id from convex_db_insert(''users'', ...) decodes to users');
SELECT is(convex_id_table(:'presence_id'), 'presence', 'an id from convex_db_insert(''presence'', ...) decodes to presence');
SELECT is(convex_id_table(:'files_id'), 'files', 'an id from convex_db_insert(''files'', ...) decodes to files');
SELECT is((regress_cvx_ids.parse_id(:'users_id')).table_number,
          (SELECT number FROM convex._tables WHERE name = 'users')::bigint,
          'a users id carries the users table number');
SELECT is((regress_cvx_ids.parse_id(:'presence_id')).table_number,
          (SELECT number FROM convex._tables WHERE name = 'presence')::bigint,
          'a presence id carries the presence table number');
SELECT is((regress_cvx_ids.parse_id(:'files_id')).table_number,
          (SELECT number FROM convex._tables WHERE name = 'files')::bigint,
          'a files id carries the files table number');

-- Ids made by the independent encoder (as Convex would make them).
SELECT is(convex_id_table(regress_cvx_tap.make_id(540, '\xffeeddccbbaa99887766554433'::bytea || '\x22'::bytea, 19000)),
          '_storage', 'an id with table number 540 (Convex''s) decodes to _storage');
SELECT is(left(regress_cvx_tap.make_id(540, '\xffeeddccbbaa99887766554433'::bytea || '\x22'::bytea, 19000), 2),
          'kg', '... and begins with kg, as Convex''s storage ids do');
SELECT is(convex_id_table(regress_cvx_tap.make_id(539, '\xffeeddccbbaa99887766554433'::bytea || '\x22'::bytea, 19000)),
          '_scheduled_functions', 'an id with table number 539 (Convex''s) decodes to _scheduled_functions');
-- convex._id_renumber against an id pair made by the independent Python
-- encoder of test/scripts/lib/convex_snapshot.py (same random part and day)
SELECT is(convex._id_renumber('04h93p6drc8427kyr9sqh9k19rg2p50', 1, 540), 'kg2254ersq1h0g8yfv176y56c5721jhz',
          'convex._id_renumber gives a 0.2.0 file id (table 1) its Convex form (540), as an independent encoder does');
SELECT is(convex._id_renumber('{"a": [{"b": "04h93p6drc8427kyr9sqh9k19rg2p50"}, "04h93p6drc8427kyr9sqh9k19rg2p5x"]}'::jsonb, 1, 540),
          '{"a": [{"b": "kg2254ersq1h0g8yfv176y56c5721jhz"}, "04h93p6drc8427kyr9sqh9k19rg2p5x"]}'::jsonb,
          '... at any depth of a jsonb, leaving strings that are not ids of table 1 alone');
SELECT is(convex_id_table(regress_cvx_tap.make_id(1, '\xffeeddccbbaa99887766554433'::bytea || '\x22'::bytea, 19000)),
          NULL, 'table number 1 (0.2.0''s _storage) is no table: 31 characters, 3 padding bits, decodes to NULL');
SELECT is(convex_id_table(regress_cvx_tap.make_id((SELECT number FROM convex._tables WHERE name = 'presence'),
                                                  '\x00000000000000000000000000ff'::bytea, 0)),
          'presence', 'an id made by an independent encoder decodes to its table');
SELECT is(convex_id_table(regress_cvx_tap.make_id(9999, '\x0102030405060708090a0b0c0d0e'::bytea, 20000)),
          NULL, 'a well-formed id of a table number convexlite does not have: convex_id_table is NULL');
SELECT is(convex_db_get('messages', regress_cvx_tap.make_id((SELECT number FROM convex._tables WHERE name = 'messages'),
                                                            '\x0102030405060708090a0b0c0d0e'::bytea, 20000)),
          NULL, 'convex_db_get of a valid messages id with no document is NULL');

------------------------------------------------------------------------
-- 3. An id of another table passed where v.id("messages") is expected
------------------------------------------------------------------------

SELECT regress_cvx_tap.throws_state_like(
    format($q$SELECT convex_messages_remove(jsonb_build_object('messageId', %L))$q$, :'users_id'),
    '22023',
    format('ArgumentValidationError: Found ID "%s" from table `users`, which does not match the table name in validator `v.id("messages")`.%%',
           :'users_id'),
    'messages.remove with a users id: 22023 and Convex''s "Found ID ... from table `users`" message');
SELECT regress_cvx_tap.throws_state_like(
    format($q$SELECT convex_messages_remove(jsonb_build_object('messageId', %L))$q$, :'files_id'),
    '22023',
    format('ArgumentValidationError: Found ID "%s" from table `files`, which does not match the table name in validator `v.id("messages")`.%%',
           :'files_id'),
    'messages.remove with a files id: 22023 and Convex''s "Found ID ... from table `files`" message');

------------------------------------------------------------------------
-- 4. Malformed ids
------------------------------------------------------------------------

-- A fixed, valid messages id (deterministic, so these checks never flake).
SELECT regress_cvx_tap.make_id((SELECT number FROM convex._tables WHERE name = 'messages'),
                               '\x0123456789abcdeffedcba987654'::bytea, 20000) AS good \gset
SELECT is(convex_id_table(:'good'), 'messages', 'the fixed test id is a valid messages id');

SELECT left(:'good', 31) || CASE WHEN right(:'good', 1) = 'z' THEN 'y' ELSE
       substr('0123456789abcdefghjkmnpqrstvwxyz', strpos('0123456789abcdefghjkmnpqrstvwxyz', right(:'good', 1)) + 1, 1) END
       AS bad_last \gset
SELECT is(convex_id_table(:'bad_last'), NULL, 'a valid id with its last character changed (bad checksum) is not an id');
SELECT regress_cvx_tap.throws_state_like(
    format($q$SELECT convex_messages_remove(jsonb_build_object('messageId', %L))$q$, :'bad_last'),
    '22023', 'ArgumentValidationError: Value does not match validator.%',
    'messages.remove with a bad checksum: 22023 "Value does not match validator."');
SELECT is((SELECT count(*)::int
             FROM generate_series(1, 32) AS pos,
                  LATERAL (SELECT substr(:'good', pos, 1) AS c) AS ch,
                  LATERAL (SELECT overlay(:'good' PLACING
                             substr('0123456789abcdefghjkmnpqrstvwxyz',
                                    strpos('0123456789abcdefghjkmnpqrstvwxyz', ch.c) % 32 + 1, 1)
                             FROM pos FOR 1) AS v) AS variant
            WHERE convex_id_table(variant.v) IS NOT NULL), 0,
          'no single-character change of a valid id, at any of its 32 positions, decodes');
SELECT throws_ok(format('SELECT convex_db_get(%L, %L)', 'messages', :'bad_last'), '22023', NULL,
                 'convex_db_get with a bad-checksum id: 22023');

-- Every length that no id has, and the legal lengths that are wrong here.
CREATE TEMP TABLE bad_lengths AS
SELECT n, CASE WHEN n <= 32 THEN left(:'good', n) ELSE :'good' || repeat('0', n - 32) END AS s
  FROM (SELECT generate_series(0, 30) AS n UNION ALL SELECT generate_series(38, 40)) AS lengths;

SELECT is(convex_id_table(s), NULL, format('a string of length %s is not an id (convex_id_table NULL)', n))
  FROM bad_lengths ORDER BY n;
SELECT throws_ok(format($q$SELECT convex_messages_remove(jsonb_build_object('messageId', %L))$q$, s),
                 '22023', NULL, format('messages.remove with an id of length %s: 22023', n))
  FROM bad_lengths ORDER BY n;
SELECT is((SELECT count(*)::int FROM generate_series(31, 37) AS n
            WHERE n <> 32
              AND convex_id_table(CASE WHEN n < 32 THEN left(:'good', n) ELSE :'good' || repeat('0', n - 32) END)
                  IS NOT NULL), 0,
          'the messages id truncated to 31 or padded to 33-37 characters is not an id');

-- Case and characters outside the alphabet.
SELECT is(convex_id_table(upper(:'good')), NULL,
          'the uppercase form of a valid id is not an id (' || upper(:'good') || ')');
SELECT throws_ok(format($q$SELECT convex_messages_remove(jsonb_build_object('messageId', %L))$q$, upper(:'good')),
                 '22023', NULL, 'messages.remove with an uppercased id: 22023');
SELECT is((SELECT count(*)::int FROM sent WHERE upper(id) <> id AND convex_id_table(upper(id)) IS NOT NULL), 0,
          'no uppercased id from messages.send decodes');
SELECT is(convex_id_table(overlay(:'good' PLACING c FROM 10 FOR 1)), NULL,
          format('an id with the excluded letter %L in it is not an id', c))
  FROM unnest(ARRAY['i', 'l', 'o', 'u']) AS c;

------------------------------------------------------------------------
-- 5. _creationTime
------------------------------------------------------------------------

SELECT is((SELECT count(*)::int
             FROM (SELECT g, (convex_db_get('messages', id)->>'_creationTime')::float8 AS t,
                          lag((convex_db_get('messages', id)->>'_creationTime')::float8) OVER (ORDER BY g) AS prev
                     FROM sent) AS x
            WHERE prev IS NOT NULL AND t <= prev), 0,
          '_creationTime strictly increases over 100 messages.send calls in one statement');

CREATE TEMP TABLE inserted (n serial, tbl text, id text);
INSERT INTO inserted (tbl, id) VALUES ('messages', convex_messages_send('{"roomId": "t", "content": "1", "userName": "u"}'));
INSERT INTO inserted (tbl, id) VALUES ('users', convex_db_insert('users', '{"name": "x"}'));
INSERT INTO inserted (tbl, id) VALUES ('messages', convex_messages_send('{"roomId": "t", "content": "2", "userName": "u"}'));
INSERT INTO inserted (tbl, id) VALUES ('messages', convex_db_insert('messages', '{"roomId": "t", "content": "3", "userName": "u"}'));
INSERT INTO inserted (tbl, id) VALUES ('users', convex_db_insert('users', '{}'));
INSERT INTO inserted (tbl, id) VALUES ('messages', convex_messages_send('{"roomId": "t", "content": "4", "userName": "u"}'));

SELECT is((SELECT count(*)::int
             FROM (SELECT n, t, lag(t) OVER (ORDER BY n) AS prev
                     FROM (SELECT n, (convex_db_get(tbl, id)->>'_creationTime')::float8 AS t FROM inserted) AS y) AS x
            WHERE prev IS NOT NULL AND t <= prev), 0,
          '_creationTime strictly increases over inserts into several tables in one transaction');
SELECT is((SELECT jsonb_typeof(convex_db_get('messages', id)->'_creationTime') FROM sent WHERE g = 1), 'number',
          '_creationTime is a JSON number');
SELECT ok((SELECT abs((convex_db_get('messages', id)->>'_creationTime')::float8
                      - extract(epoch FROM clock_timestamp())::float8 * 1000) < 60000
             FROM inserted WHERE n = 6),
          '_creationTime is milliseconds since the Unix epoch (within a minute of now)');

SELECT * FROM finish();
ROLLBACK;
