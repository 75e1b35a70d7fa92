--
-- convex_db_query: withIndex + eq prefix, range, order, take
--
SELECT convex_define_table('channels', '{"name": {"fieldType": {"type": "string"}, "optional": false}}') > 10004 AS defined;
SELECT convex_define_table('posts',
  '{"channelId": {"fieldType": {"type": "id", "tableName": "channels"}, "optional": false},
    "n": {"fieldType": {"type": "number"}, "optional": false},
    "tag": {"fieldType": {"type": "string"}, "optional": true}}',
  '{"by_channel": ["channelId"], "by_channel_n": ["channelId", "n"], "by_tag": ["tag"]}') > 10004 AS defined;
SELECT convex_db_insert('channels', '{"name": "a"}') AS a \gset
SELECT convex_db_insert('channels', '{"name": "b"}') AS b \gset
SELECT count(convex_db_insert('posts', json_build_object('channelId', CASE WHEN i % 2 = 0 THEN :'a' ELSE :'b' END,
                                                        'n', 11 - i, 'tag', CASE WHEN i <= 3 THEN 'z' ELSE 'y' END)::jsonb))
  FROM generate_series(1, 10) AS i;

-- by_creation_time (the default): insertion order, either way, with take
SELECT string_agg(d ->> 'n', ',') AS all_posts FROM convex_db_query('posts') d;
SELECT string_agg(d ->> 'n', ',') AS newest_three FROM convex_db_query('posts', order_by => 'desc', max_rows => 3) d;
SELECT count(*) AS first_none FROM convex_db_query('posts', max_rows => 0);
-- eq on an index: index order is the index's fields, then _creationTime
SELECT string_agg(d ->> 'n', ',') AS channel_a FROM convex_db_query('posts', 'by_channel', json_build_object('channelId', :'a')::jsonb) d;
SELECT string_agg(d ->> 'n', ',') AS channel_a_by_n FROM convex_db_query('posts', 'by_channel_n', json_build_object('channelId', :'a')::jsonb) d;
SELECT string_agg(d ->> 'n', ',') AS channel_b_range
  FROM convex_db_query('posts', 'by_channel_n', json_build_object('channelId', :'b')::jsonb, 'desc', '{"gt": 2, "lte": 8}') d;
SELECT d - '_id' - '_creationTime' - 'channelId' AS exact
  FROM convex_db_query('posts', 'by_channel_n', json_build_object('channelId', :'a', 'n', 5)::jsonb) d;
SELECT string_agg(d ->> 'n', ',') AS by_tag_z FROM convex_db_query('posts', 'by_tag', '{"tag": "z"}') d;
SELECT string_agg(d ->> 'n', ',') AS range_on_whole_index FROM convex_db_query('posts', 'by_tag', '{}', 'asc', '{"gte": "z"}') d;
-- a range on _creationTime once every field is fixed
SELECT (SELECT (d ->> '_creationTime')::float8 FROM convex_db_query('posts', max_rows => 1) d) AS t0 \gset
SELECT count(*) AS after_first FROM convex_db_query('posts', 'by_creation_time', '{}', 'asc', json_build_object('gt', :t0)::jsonb);
-- the built-in tables' indexes too
SELECT convex_messages_send('{"roomId": "lobby", "content": "hi", "userName": "u"}') IS NOT NULL AS sent;
SELECT d ->> 'content' AS lobby FROM convex_db_query('messages', 'by_room', '{"roomId": "lobby"}') d;

-- bad queries: clear errors
SELECT regress_try($$SELECT convex_db_query('posts', 'by_channel_n', '{"n": 1}')$$);
SELECT regress_try($$SELECT convex_db_query('posts', 'nope')$$);
SELECT regress_try($$SELECT convex_db_query('posts', 'by_channel', '{"channelId": 5}')$$);
SELECT regress_try(format($$SELECT convex_db_query('posts', 'by_channel', '{"channelId": "%s"}')$$, :'a') ) = 'ok' AS channel_id_ok;
SELECT convex_db_insert('users', '{}') AS u \gset
SELECT regress_try(format($$SELECT convex_db_query('posts', 'by_channel', '{"channelId": "%s"}')$$, :'u'));
SELECT regress_try($$SELECT convex_db_query('posts', 'by_channel', '{}', 'sideways')$$);
SELECT regress_try($$SELECT convex_db_query('posts', 'by_channel', '{}', 'asc', '{"gt": 1, "gte": 2}')$$);
SELECT regress_try($$SELECT convex_db_query('posts', 'by_channel', '{}', 'asc', '{"eq": 1}')$$);
SELECT regress_try($$SELECT convex_db_query('posts', 'by_channel', '[]')$$);
SELECT regress_try($$SELECT convex_db_query('posts', max_rows => -1)$$);
SELECT regress_try($$SELECT convex_db_query('posts', NULL)$$);
SELECT regress_try($$SELECT convex_db_query('pg_proc')$$);
DELETE FROM convex.messages;
DELETE FROM convex.users;
