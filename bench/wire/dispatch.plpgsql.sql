-- dispatch, the PL/pgSQL peer: plain.dispatch looks the path up in its registry, checks the args and EXECUTEs the same handler
\set c random(1, 100)
\set n random(1, 1000000000)
SELECT plain.dispatch('channels' || ':' || 'sendMessage', ('{"channelId": "' || id || '", "content": "hello ' || :n || '"}')::jsonb)
  FROM bench.channels WHERE i = :c;
