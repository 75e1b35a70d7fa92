-- convex_mutation dispatch of seed 001's channels:sendMessage (bench/setup.sql) to a random one of 100 channels.
-- (The path is spelled with || because pgbench would read :sendMessage as a variable.)
\set c random(1, 100)
\set n random(1, 1000000000)
SELECT convex_mutation('channels' || ':' || 'sendMessage', ('{"channelId": "' || id || '", "content": "hello ' || :n || '"}')::jsonb)
  FROM bench.channels WHERE i = :c;
