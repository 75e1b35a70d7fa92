-- bench/fixtures.sql: the data the workloads run on (bench/run.sh loads it
-- after bench/setup.sql and bench/peers.sql; psql variable batch = calls per
-- batch).  Everything is built here, before any timing: ids, args tables for
-- the batches (so building JSON is never timed), and the refill functions
-- that put back rows the deleting workloads use up.
SET client_min_messages = warning;
-- convexlite announces the fixtures' writes too: nobody listens
SET convexlite.notify = off;

-- Users: one per id on both sides (convex.users has Convex ids, plain.users
-- the peers' ids); the wire's users.updateProfile picks among the first 10,000.
CREATE TABLE bench.users (i integer PRIMARY KEY, cvx text NOT NULL, plain text NOT NULL);
INSERT INTO bench.users
SELECT i, convex_db_insert('users', jsonb_build_object('name', 'user ' || i)), plain.new_id(10001)
  FROM generate_series(1, greatest(:batch, 10000)) AS i;
INSERT INTO plain.users (_id, _creation_time, name)
SELECT plain, plain.creation_time(), 'user ' || i FROM bench.users;

-- Channels (dispatch): 100, convexlite's (the handler is the same on every side)
CREATE TABLE bench.channels (i integer PRIMARY KEY, id text NOT NULL);
INSERT INTO bench.channels SELECT i, convex_db_insert('channels', jsonb_build_object('name', 'channel ' || i))
  FROM generate_series(1, 100) AS i;

-- Accounts (transferFunds): 10,000 on each side with a balance that never runs
-- out.  The wire's transfers use the first 100 (contention); the batch's all
-- of them (one transaction updating 100 rows 2,000 times each would measure
-- walking its own HOT chains, not transfers).
CREATE TABLE bench.accounts (i integer PRIMARY KEY, cvx text NOT NULL, plain text NOT NULL);
INSERT INTO bench.accounts
SELECT i, convex_db_insert('accounts', jsonb_build_object('owner', 'owner ' || i, 'balance', 1e12)), plain.new_id(10010)
  FROM generate_series(1, 10000) AS i;
INSERT INTO plain.accounts (_id, _creation_time, owner, balance)
SELECT plain, plain.creation_time(), 'owner ' || i, 1e12 FROM bench.accounts;

-- Presence: the heartbeat storm's 100 sessions in one room, on both sides
-- (the batch's sessions are put in by bench.refill_sessions)
INSERT INTO convex.presence (_id, _creation_time, room_id, session_id, data, last_seen)
SELECT plain.new_id(10003), plain.creation_time(), 'room', 's' || s, '{}', plain.date_now() FROM generate_series(1, 100) AS s;
INSERT INTO plain.presence SELECT * FROM convex.presence;

------------------------------------------------------------------------
-- Batch args (one row per call)
------------------------------------------------------------------------
CREATE TABLE bench.b_send AS
SELECT i, jsonb_build_object('roomId', 'general', 'content', 'hello ' || i, 'userName', 'bench', 'sessionId', 's1') AS args,
       'general'::text AS room_id, 'hello ' || i AS content, 'bench'::text AS user_name, 's1'::text AS session_id
  FROM generate_series(1, :batch) AS i;

CREATE TABLE bench.b_heartbeat AS
SELECT i, jsonb_build_object('roomId', 'batch', 'sessionId', 'b' || i,
                             'data', jsonb_build_object('cursor', jsonb_build_object('x', i % 1000, 'y', i % 700))) AS args,
       'b' || i AS session_id, jsonb_build_object('cursor', jsonb_build_object('x', i % 1000, 'y', i % 700)) AS data
  FROM generate_series(1, :batch) AS i;

CREATE TABLE bench.b_leave AS
SELECT i, jsonb_build_object('roomId', 'lobby', 'sessionId', 'L' || i) AS args, 'L' || i AS session_id
  FROM generate_series(1, :batch) AS i;

CREATE TABLE bench.b_profile AS
SELECT i, cvx AS cvx_uid, plain AS plain_uid,
       jsonb_build_object('name', 'Name ' || i, 'image', 'https://example.com/' || i || '.jpg') AS args,
       'Name ' || i AS name, 'https://example.com/' || i || '.jpg' AS image
  FROM bench.users WHERE i <= :batch;

CREATE TABLE bench.b_dispatch AS
SELECT g.i, jsonb_build_object('channelId', c.id, 'content', 'hello ' || g.i) AS args
  FROM generate_series(1, :batch) AS g (i) JOIN bench.channels c ON c.i = 1 + (g.i::bigint * 7919) % 100;

CREATE TABLE bench.b_transfer AS
SELECT g.i, jsonb_build_object('fromId', f.cvx, 'toId', t.cvx, 'amount', 1 + g.i % 100) AS cvx_args,
       jsonb_build_object('fromId', f.plain, 'toId', t.plain, 'amount', 1 + g.i % 100) AS plain_args,
       f.plain AS plain_from, t.plain AS plain_to, (1 + g.i % 100)::double precision AS amount
  FROM generate_series(1, :batch) AS g (i)
  JOIN bench.accounts f ON f.i = 1 + (g.i::bigint * 7919) % 10000
  JOIN bench.accounts t ON t.i = 1 + (g.i::bigint * 104729 + 1) % 10000
 ORDER BY g.i;

------------------------------------------------------------------------
-- Rows the deleting workloads use up, put back before each run
------------------------------------------------------------------------
-- messages.remove: n messages of user 1, sent in session 's1' (the remover is
-- not signed in and passes sessionId 's1': every clause of the ownership rule
-- is evaluated), their ids in the order the wire's sequence hands them out
CREATE TABLE bench.remove_cvx (i integer PRIMARY KEY, id text NOT NULL, args jsonb NOT NULL);
CREATE TABLE bench.remove_plain (i integer PRIMARY KEY, id text NOT NULL, args jsonb NOT NULL);
CREATE SEQUENCE bench.remove_seq;
CREATE FUNCTION bench.refill_remove(side text, n integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    owner text;
BEGIN
    PERFORM set_config('convexlite.notify', 'off', true);
    IF side = 'convexlite' THEN
        TRUNCATE convex.messages, bench.remove_cvx;
        SELECT cvx INTO owner FROM bench.users WHERE i = 1;
        PERFORM set_config('convexlite.user_id', owner, true);
        INSERT INTO bench.remove_cvx
        SELECT i, id, jsonb_build_object('messageId', id, 'sessionId', 's1')
          FROM (SELECT i, convex_messages_send(jsonb_build_object('roomId', 'general', 'content', 'doomed ' || i,
                                                                  'userName', 'bench', 'sessionId', 's1')) AS id
                  FROM generate_series(1, n) AS i) AS sent;
        PERFORM set_config('convexlite.user_id', '', true);
    ELSE
        TRUNCATE plain.messages, bench.remove_plain;
        SELECT plain INTO owner FROM bench.users WHERE i = 1;
        INSERT INTO bench.remove_plain SELECT i, plain.new_id(10002), '{}' FROM generate_series(1, n) AS i;
        UPDATE bench.remove_plain SET args = jsonb_build_object('messageId', id, 'sessionId', 's1');
        INSERT INTO plain.messages (_id, _creation_time, room_id, user_id, content, user_name, session_id)
        SELECT id, plain.creation_time(), 'general', owner, 'doomed ' || i, 'bench', 's1' FROM bench.remove_plain ORDER BY i;
    END IF;
    PERFORM setval('bench.remove_seq', 1, false);
END $$;

-- presence.leave: n sessions 'L<i>' in room 'lobby'
CREATE SEQUENCE bench.leave_seq;
CREATE FUNCTION bench.refill_leave(side text, n integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF side = 'convexlite' THEN
        DELETE FROM convex.presence WHERE room_id = 'lobby';
        INSERT INTO convex.presence (_id, _creation_time, room_id, session_id, data, last_seen)
        SELECT plain.new_id(10003), plain.creation_time(), 'lobby', 'L' || i, '{}', plain.date_now()
          FROM generate_series(1, n) AS i;
    ELSE
        DELETE FROM plain.presence WHERE room_id = 'lobby';
        INSERT INTO plain.presence (_id, _creation_time, room_id, session_id, data, last_seen)
        SELECT plain.new_id(10003), plain.creation_time(), 'lobby', 'L' || i, '{}', plain.date_now()
          FROM generate_series(1, n) AS i;
    END IF;
    PERFORM setval('bench.leave_seq', 1, false);
END $$;

-- presence.update batch: n sessions 'b<i>' in room 'batch', on both sides
CREATE FUNCTION bench.refill_sessions(n integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM convex.presence WHERE room_id = 'batch';
    DELETE FROM plain.presence WHERE room_id = 'batch';
    INSERT INTO convex.presence (_id, _creation_time, room_id, session_id, data, last_seen)
    SELECT plain.new_id(10003), plain.creation_time(), 'batch', 'b' || i, '{}', plain.date_now()
      FROM generate_series(1, n) AS i;
    INSERT INTO plain.presence SELECT * FROM convex.presence WHERE room_id = 'batch';
END $$;

-- presence.cleanup: only the heartbeat storm's 100 live sessions (seen now)
-- and n rows last seen a minute ago
CREATE FUNCTION bench.refill_stale(side text, n integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF side = 'convexlite' THEN
        DELETE FROM convex.presence WHERE room_id <> 'room';
        UPDATE convex.presence SET last_seen = plain.date_now();
        INSERT INTO convex.presence (_id, _creation_time, room_id, session_id, data, last_seen)
        SELECT plain.new_id(10003), plain.creation_time(), 'stale', 'x' || i, '{"status": "away"}', plain.date_now() - 60000
          FROM generate_series(1, n) AS i;
    ELSE
        DELETE FROM plain.presence WHERE room_id <> 'room';
        UPDATE plain.presence SET last_seen = plain.date_now();
        INSERT INTO plain.presence (_id, _creation_time, room_id, session_id, data, last_seen)
        SELECT plain.new_id(10003), plain.creation_time(), 'stale', 'x' || i, '{"status": "away"}', plain.date_now() - 60000
          FROM generate_series(1, n) AS i;
    END IF;
END $$;

VACUUM ANALYZE;
