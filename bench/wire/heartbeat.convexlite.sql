-- presence.update heartbeat storm through convexlite: 100 sessions in one room, a random one each transaction
\set s random(1, 100)
\set x random(0, 1920)
\set y random(0, 1080)
SELECT convex_presence_update(('{"roomId": "room", "data": {"cursor": {"x": ' || :x || ', "y": ' || :y || '}}, "sessionId": "s' || :s || '"}')::jsonb);
