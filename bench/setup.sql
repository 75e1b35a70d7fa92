-- bench/setup.sql: the convexlite side of the benchmark suite (bench/run.sh).
--
-- Loads the extension and registers what the workloads call besides the
-- seed app's built-in mutations: seed 001's tables and two of its
-- mutations, as sql/mutations.sql writes them:
--   channels:sendMessage   (the dispatch workload: reads the channel with
--                           ctx.db.get, inserts a channel message)
--   accounts:transferFunds (the contention workload: two reads, two patches)
-- Handlers live in schema bench and are owned by the benchmark's superuser.
SET client_min_messages = warning;
CREATE EXTENSION convexlite;
CREATE SCHEMA bench;

SELECT convex_define_table('accounts',
  '{"owner":   {"fieldType": {"type": "string"}, "optional": false},
    "balance": {"fieldType": {"type": "number"}, "optional": false}}') IS NOT NULL AS accounts;
SELECT convex_define_table('channels', '{"name": {"fieldType": {"type": "string"}, "optional": false}}') IS NOT NULL AS channels;
SELECT convex_define_table('channel_messages',
  '{"channelId": {"fieldType": {"type": "id", "tableName": "channels"}, "optional": false},
    "authorId":  {"fieldType": {"type": "id", "tableName": "users"}, "optional": true},
    "content":   {"fieldType": {"type": "string"}, "optional": false}}',
  '{"by_channel": ["channelId"]}') IS NOT NULL AS channel_messages;

-- Seed 001's transferFunds, as the README writes it
CREATE FUNCTION bench.transfer_funds(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  from_doc jsonb := convex_db_get('accounts', args->>'fromId');
  to_doc   jsonb := convex_db_get('accounts', args->>'toId');
  amount   float8 := (args->>'amount')::float8;
BEGIN
  IF from_doc IS NULL OR to_doc IS NULL THEN RAISE EXCEPTION 'Account not found'; END IF;
  IF (from_doc->>'balance')::float8 < amount THEN RAISE EXCEPTION 'Insufficient funds'; END IF;
  PERFORM convex_db_patch('accounts', args->>'fromId',
                          jsonb_build_object('balance', (from_doc->>'balance')::float8 - amount));
  PERFORM convex_db_patch('accounts', args->>'toId',
                          jsonb_build_object('balance', (to_doc->>'balance')::float8 + amount));
  RETURN 'null';
END $$;
REVOKE EXECUTE ON FUNCTION bench.transfer_funds(jsonb) FROM PUBLIC;
SELECT convex_define_mutation('accounts:transferFunds', 'bench.transfer_funds(jsonb)',
  '{"type": "object", "value": {
      "fromId": {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "toId":   {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "amount": {"fieldType": {"type": "number"}, "optional": false}}}',
  '{"type": "null"}');

-- Seed 001's sendMessage (channels), as sql/mutations.sql writes it
CREATE FUNCTION bench.channels_send_message(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    -- Validate channel exists
    IF convex_db_get('channels', args ->> 'channelId') IS NULL THEN
        RAISE EXCEPTION 'Channel not found';
    END IF;
    PERFORM convex_db_insert('channel_messages', jsonb_build_object(
        'channelId', args -> 'channelId',
        'content', args -> 'content'));
    RETURN 'null';
END $$;
REVOKE EXECUTE ON FUNCTION bench.channels_send_message(jsonb) FROM PUBLIC;
SELECT convex_define_mutation('channels:sendMessage', 'bench.channels_send_message(jsonb)',
  '{"type": "object", "value": {
      "channelId": {"fieldType": {"type": "id", "tableName": "channels"}, "optional": false},
      "content":   {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "null"}');
