-- presence.leave, the PL/pgSQL peer
SELECT plain.presence_leave(('{"roomId": "lobby", "sessionId": "L' || nextval('bench.leave_seq') || '"}')::jsonb);
