-- messages.send through convexlite, one call a transaction; the args are JSON text parsed on each call, as a client's would be
\set n random(1, 1000000000)
SELECT convex_messages_send(('{"roomId": "general", "content": "hello ' || :n || '", "userName": "bench", "sessionId": "s1"}')::jsonb);
