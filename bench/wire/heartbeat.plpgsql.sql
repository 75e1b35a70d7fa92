-- presence.update heartbeat storm, the PL/pgSQL peer
\set s random(1, 100)
\set x random(0, 1920)
\set y random(0, 1080)
SELECT plain.presence_update(('{"roomId": "room", "data": {"cursor": {"x": ' || :x || ', "y": ' || :y || '}}, "sessionId": "s' || :s || '"}')::jsonb);
