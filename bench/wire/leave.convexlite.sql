-- presence.leave through convexlite: each transaction leaves the next of the sessions bench.refill_leave put in room lobby
SELECT convex_presence_leave(('{"roomId": "lobby", "sessionId": "L' || nextval('bench.leave_seq') || '"}')::jsonb);
