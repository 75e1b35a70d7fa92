-- dispatch's floor: the registered handler called directly (no lookup, no validation, no locks on what it reads)
\set c random(1, 100)
\set n random(1, 1000000000)
SELECT bench.channels_send_message(('{"channelId": "' || id || '", "content": "hello ' || :n || '"}')::jsonb)
  FROM bench.channels WHERE i = :c;
