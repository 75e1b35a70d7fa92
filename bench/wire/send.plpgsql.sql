-- messages.send, the PL/pgSQL peer (bench/peers.sql)
\set n random(1, 1000000000)
SELECT plain.messages_send(('{"roomId": "general", "content": "hello ' || :n || '", "userName": "bench", "sessionId": "s1"}')::jsonb);
